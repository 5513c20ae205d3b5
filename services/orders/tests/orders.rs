//! OrderService (OR2) through gRPC on every backend: orders for customers the caller sees,
//! lines that keep the price they were sold at, discounts a manager approves, payments,
//! revisions, who sees what, retries and concurrent edits.

use crate::common::*;
use rapport_proto::orders as pb;
use rapport_runtime::auth::Role;
use rapport_testkit::each_backend;
use tonic::Code;

async fn update(
    c: &mut Clients,
    o: pb::Order,
    paths: &[&str],
    request_id: &str,
) -> Result<pb::Order, tonic::Status> {
    c.orders
        .update_order(pb::UpdateOrderRequest {
            order: Some(o),
            update_mask: mask(paths),
            request_id: request_id.into(),
        })
        .await
        .map(|r| r.into_inner())
}

async fn confirm(c: &mut Clients, name: &str, etag: &str) -> Result<pb::Order, tonic::Status> {
    c.orders
        .confirm_order(pb::ConfirmOrderRequest {
            name: name.into(),
            etag: etag.into(),
            request_id: String::new(),
        })
        .await
        .map(|r| r.into_inner())
}

fn deposit(amount: i64) -> pb::Payment {
    pb::Payment {
        kind: pb::PaymentKind::Deposit.into(),
        method: pb::PaymentMethod::WechatPay.into(),
        amount: money("CNY", amount),
        reference: "WX-0001".into(),
        ..Default::default()
    }
}

async fn pay(
    c: &mut Clients,
    order: &str,
    payment: pb::Payment,
    request_id: &str,
) -> Result<pb::Order, tonic::Status> {
    c.orders
        .add_payment(pb::AddPaymentRequest {
            order: order.into(),
            payment: Some(payment),
            etag: String::new(),
            request_id: request_id.into(),
        })
        .await
        .map(|r| r.into_inner())
}

async fn revisions(c: &mut Clients, order: &str) -> Vec<pb::OrderRevision> {
    c.orders
        .list_order_revisions(pb::ListOrderRevisionsRequest {
            parent: order.into(),
            ..Default::default()
        })
        .await
        .expect("list revisions")
        .into_inner()
        .revisions
}

async fn list(
    c: &mut Clients,
    filter: &str,
    order_by: &str,
) -> Result<Vec<pb::Order>, tonic::Status> {
    c.orders
        .list_orders(pb::ListOrdersRequest {
            filter: filter.into(),
            order_by: order_by.into(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner().orders)
}

#[tokio::test]
async fn a_rep_orders_for_its_customer_and_lines_keep_the_price_they_were_sold_at() {
    each_backend(&services(), async |s| {
        furniture(s).await;
        let wang = customer(s, "Wang Fang", "+8613800000001", "rep-1", "north").await;
        let mut r1 = rep(s, "rep-1", "north");
        let created = create_order(
            &mut r1,
            order(&wang, vec![line("SOFA-3S", 1, 99_900), line("LAMP", 2, 0)]),
            "",
        )
        .await
        .expect("create order");
        assert!(created.name.starts_with("orders/"));
        assert_eq!(created.owner_id, "rep-1");
        assert_eq!(created.team_id, "north");
        assert_eq!(created.state(), pb::OrderState::Draft);
        assert_eq!(created.revision, 1);
        assert_eq!(created.lines[0].product_name, "Sofa");
        assert_eq!(units(&created.lines[0].unit_price), 899_900);
        assert_eq!(units(&created.lines[0].unit_cost), 500_000);
        assert_eq!(units(&created.lines[0].amount), 800_000);
        assert_eq!(units(&created.subtotal), 959_900);
        assert_eq!(units(&created.discount_total), 99_900);
        assert_eq!(units(&created.total), 860_000);
        assert_eq!(units(&created.balance_due), 860_000);
        // 99,900 of 959,900 is about 10.4%: above the default 10%.
        assert_eq!(created.discount_approval(), pb::DiscountApproval::Pending);

        // The catalog's price changes; the line keeps what it was sold at, a new line takes
        // the new price.
        let mut a = admin(s);
        let lamp = a
            .catalog
            .list_products(pb::ListProductsRequest {
                filter: "sku = \"LAMP\"".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .products
            .remove(0);
        a.catalog
            .update_product(pb::UpdateProductRequest {
                product: Some(pb::Product {
                    name: lamp.name,
                    variants: vec![variant("LAMP", 35_000, 10_000)],
                    ..Default::default()
                }),
                update_mask: mask(&["variants"]),
            })
            .await
            .unwrap();
        let mut kept = created.lines.clone();
        kept[0].discount = None;
        kept.push(line("LAMP", 1, 0));
        let changed = update(
            &mut r1,
            pb::Order {
                name: created.name.clone(),
                lines: kept,
                etag: created.etag.clone(),
                ..Default::default()
            },
            &["lines"],
            "",
        )
        .await
        .expect("update lines");
        assert_eq!(changed.lines.len(), 3);
        assert_eq!(changed.lines[1].id, created.lines[1].id);
        assert_eq!(units(&changed.lines[1].unit_price), 30_000);
        assert_eq!(units(&changed.lines[2].unit_price), 35_000);
        assert_eq!(
            changed.discount_approval(),
            pb::DiscountApproval::NotRequired
        );
        assert_eq!(changed.revision, 2);

        let confirmed = confirm(&mut r1, &changed.name, &changed.etag)
            .await
            .expect("confirm");
        assert_eq!(confirmed.state(), pb::OrderState::Confirmed);
        assert!(confirmed.confirm_time.is_some());
        let paid = pay(&mut r1, &confirmed.name, deposit(300_000), "")
            .await
            .expect("pay");
        assert_eq!(units(&paid.paid), 300_000);
        assert_eq!(units(&paid.balance_due), units(&paid.total) - 300_000);
        assert_eq!(paid.payments[0].recorded_by, "rep-1");
        assert_eq!(paid.payments[0].kind(), pb::PaymentKind::Deposit);

        // Every change is a revision, newest first, naming what changed.
        let history = revisions(&mut r1, &paid.name).await;
        let kinds: Vec<pb::RevisionKind> = history.iter().map(|r| r.kind()).collect();
        assert_eq!(
            kinds,
            [
                pb::RevisionKind::PaymentAdded,
                pb::RevisionKind::Confirmed,
                pb::RevisionKind::Updated,
                pb::RevisionKind::Created
            ]
        );
        assert_eq!(history[0].name, format!("{}/revisions/4", paid.name));
        assert_eq!(history[0].actor, "rep-1");
        assert_eq!(history[0].order.as_ref().unwrap().revision, 4);
        let fields: Vec<&str> = history[2]
            .changes
            .iter()
            .map(|c| c.field.as_str())
            .collect();
        assert!(fields.contains(&format!("lines[{}].discount", created.lines[0].id).as_str()));
        assert!(fields.contains(&"discount_approval"));
        assert!(
            history[1]
                .changes
                .iter()
                .any(|c| c.field == "state" && c.before == "DRAFT" && c.after == "CONFIRMED")
        );
    })
    .await;
}

#[tokio::test]
async fn the_customer_must_exist_and_be_visible_to_the_caller() {
    each_backend(&services(), async |s| {
        furniture(s).await;
        let south = customer(s, "Li Lei", "+8613800000002", "rep-3", "south").await;
        let mut r1 = rep(s, "rep-1", "north");
        let hidden = create_order(&mut r1, order(&south, vec![line("LAMP", 1, 0)]), "").await;
        let st = assert_code(hidden, Code::InvalidArgument);
        assert_eq!(bad_fields(&st), ["order.customer"]);
        assert!(!st.message().contains("Li Lei"), "{}", st.message());
        let missing = create_order(
            &mut r1,
            order(
                "customers/0190a0a0-0000-7000-8000-000000000000",
                vec![line("LAMP", 1, 0)],
            ),
            "",
        )
        .await;
        let st2 = assert_code(missing, Code::InvalidArgument);
        // Not there and not visible read alike.
        assert_eq!(
            st.message().replace(&south, "?"),
            st2.message()
                .replace("customers/0190a0a0-0000-7000-8000-000000000000", "?")
        );
        // Another tenant's admin cannot order for t1's customer either.
        let mut x = stranger(s);
        let other = create_order(&mut x, order(&south, vec![]), "").await;
        assert_eq!(
            bad_fields(&assert_code(other, Code::InvalidArgument)),
            ["order.customer"]
        );
        // The customer's own rep may.
        let mut r3 = rep(s, "rep-3", "south");
        create_order(&mut r3, order(&south, vec![line("LAMP", 1, 0)]), "")
            .await
            .expect("own customer");
    })
    .await;
}

#[tokio::test]
async fn a_bad_order_names_every_bad_field() {
    each_backend(&services(), async |s| {
        furniture(s).await;
        let wang = customer(s, "Wang Fang", "+8613800000001", "rep-1", "north").await;
        let mut r1 = rep(s, "rep-1", "north");
        let bad = create_order(
            &mut r1,
            pb::Order {
                customer: "customer/1".into(),
                currency_code: "yuan".into(),
                store: "shops/1".into(),
                lines: vec![pb::LineItem {
                    sku: String::new(),
                    quantity: 0,
                    discount: money("USD", 1),
                    ..Default::default()
                }],
                ..Default::default()
            },
            &"x".repeat(300),
        )
        .await;
        let st = assert_code(bad, Code::InvalidArgument);
        assert_eq!(
            sorted_bad_fields(&st),
            [
                "order.currency_code",
                "order.customer",
                "order.lines[0].quantity",
                "order.lines[0].sku",
                "order.store",
                "request_id"
            ]
        );
        // SKUs the catalog cannot sell, and discounts above what they discount.
        let mut a = admin(s);
        let any = category(&mut a, "Other", "").await;
        let mut old = product("Old chair", &any, vec![variant("CHAIR", 10_000, 1)]);
        old.status = pb::ProductStatus::Discontinued.into();
        create_product(&mut a, old).await;
        let mut unsellable = order(
            &wang,
            vec![line("NOPE", 1, 0), line("CHAIR", 1, 0), line("LAMP", 1, 0)],
        );
        unsellable.currency_code = "USD".into();
        let st = assert_code(
            create_order(&mut r1, unsellable, "").await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&st),
            [
                "order.lines[0].sku",
                "order.lines[1].sku",
                "order.lines[2].sku"
            ]
        );
        let mut too_much = order(&wang, vec![line("LAMP", 1, 30_001)]);
        too_much.order_discount = money("CNY", 1);
        let st = assert_code(
            create_order(&mut r1, too_much, "").await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&st),
            ["order.lines[0].discount", "order.order_discount"]
        );
        let missing = r1
            .orders
            .create_order(pb::CreateOrderRequest {
                order: None,
                request_id: String::new(),
                coupon_code: String::new(),
            })
            .await;
        assert_eq!(
            bad_fields(&assert_code(missing, Code::InvalidArgument)),
            ["order"]
        );

        // Updates: only what the mask allows, an unknown line is named.
        let created = create_order(&mut r1, order(&wang, vec![line("LAMP", 1, 0)]), "")
            .await
            .unwrap();
        let st = assert_code(
            update(
                &mut r1,
                pb::Order {
                    name: created.name.clone(),
                    ..Default::default()
                },
                &["customer", "state", "total", "colour"],
                "",
            )
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&st).len(), 4);
        let mut ghost = line("LAMP", 1, 0);
        ghost.id = "ghost".into();
        let st = assert_code(
            update(
                &mut r1,
                pb::Order {
                    name: created.name.clone(),
                    lines: vec![ghost],
                    ..Default::default()
                },
                &["lines"],
                "",
            )
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&st), ["order.lines[0].id"]);
        // Nothing was half-written.
        let still = get_order(&mut r1, &created.name).await.unwrap();
        assert_eq!(still, created);
        assert_eq!(revisions(&mut r1, &created.name).await.len(), 1);

        // Payments: more than the balance, in the future or in another currency.
        let st = assert_code(
            pay(&mut r1, &created.name, deposit(30_001), "").await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&st), ["payment.amount"]);
        let mut odd = deposit(100);
        odd.amount = money("USD", 100);
        odd.method = 0;
        odd.pay_time = Some(prost_types::Timestamp {
            seconds: 4_000_000_000,
            nanos: 0,
        });
        let st = assert_code(
            pay(&mut r1, &created.name, odd, "").await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&st),
            [
                "payment.amount.currency_code",
                "payment.method",
                "payment.pay_time"
            ]
        );
        let st = assert_code(
            cancel_order(&mut r1, &created.name, " ").await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&st), ["reason"]);
        let st = assert_code(
            list(&mut r1, "colour = 1 AND state = SHIPPED", "name").await,
            Code::InvalidArgument,
        );
        assert_eq!(sorted_bad_fields(&st), ["filter", "filter", "order_by"]);
    })
    .await;
}

#[tokio::test]
async fn a_discount_above_the_threshold_waits_for_a_manager_of_the_team() {
    each_backend(&services(), async |s| {
        furniture(s).await;
        let wang = customer(s, "Wang Fang", "+8613800000001", "rep-1", "north").await;
        let mut r1 = rep(s, "rep-1", "north");
        // 20% off the table.
        let o = create_order(&mut r1, order(&wang, vec![line("TABLE-6", 1, 90_000)]), "")
            .await
            .unwrap();
        assert_eq!(o.discount_approval(), pb::DiscountApproval::Pending);
        let st = assert_code(
            confirm(&mut r1, &o.name, "").await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&st), "DISCOUNT_APPROVAL_PENDING");
        let approve = async |c: &mut Clients, name: &str| {
            c.orders
                .approve_order_discount(pb::ApproveOrderDiscountRequest {
                    name: name.into(),
                    ..Default::default()
                })
                .await
                .map(|r| r.into_inner())
        };
        assert_code(approve(&mut r1, &o.name).await, Code::PermissionDenied);
        let mut south = manager(s, "mgr-2", "south");
        assert_code(approve(&mut south, &o.name).await, Code::NotFound);
        let mut north = manager(s, "mgr-1", "north");
        let approved = approve(&mut north, &o.name).await.expect("approve");
        assert_eq!(approved.discount_approval(), pb::DiscountApproval::Approved);
        assert_eq!(approved.discount_approved_by, "mgr-1");
        let st = assert_code(approve(&mut north, &o.name).await, Code::FailedPrecondition);
        assert_eq!(reason(&st), "NO_DISCOUNT_TO_APPROVE");
        confirm(&mut r1, &o.name, &approved.etag)
            .await
            .expect("confirm");

        // The threshold is the tenant's: at 25%, 20% off needs nobody.
        let mut a = admin(s);
        let settings = a
            .orders
            .get_order_settings(pb::GetOrderSettingsRequest {
                name: "orderSettings".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(settings.discount_approval_percent, 10);
        let update_settings = async |c: &mut Clients, percent: i32, etag: &str| {
            c.orders
                .update_order_settings(pb::UpdateOrderSettingsRequest {
                    settings: Some(pb::OrderSettings {
                        name: "orderSettings".into(),
                        discount_approval_percent: percent,
                        etag: etag.into(),
                        ..Default::default()
                    }),
                    update_mask: mask(&["discount_approval_percent"]),
                })
                .await
                .map(|r| r.into_inner())
        };
        assert_code(
            update_settings(&mut r1, 25, "").await,
            Code::PermissionDenied,
        );
        let st = assert_code(
            update_settings(&mut a, 101, "").await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&st), ["settings.discount_approval_percent"]);
        let saved = update_settings(&mut a, 25, &settings.etag)
            .await
            .expect("settings");
        assert_eq!(saved.discount_approval_percent, 25);
        assert_code(
            update_settings(&mut a, 30, &settings.etag).await,
            Code::Aborted,
        );
        let o2 = create_order(&mut r1, order(&wang, vec![line("TABLE-6", 1, 90_000)]), "")
            .await
            .unwrap();
        assert_eq!(o2.discount_approval(), pb::DiscountApproval::NotRequired);
        // Another tenant keeps its own default.
        let theirs = stranger(s)
            .orders
            .get_order_settings(pb::GetOrderSettingsRequest {
                name: "orderSettings".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(theirs.discount_approval_percent, 10);
    })
    .await;
}

#[tokio::test]
async fn states_refuse_what_they_do_not_allow_and_etags_refuse_stale_writes() {
    each_backend(&services(), async |s| {
        furniture(s).await;
        let wang = customer(s, "Wang Fang", "+8613800000001", "rep-1", "north").await;
        let mut r1 = rep(s, "rep-1", "north");
        let empty = create_order(&mut r1, order(&wang, vec![]), "")
            .await
            .unwrap();
        let st = assert_code(
            confirm(&mut r1, &empty.name, "").await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&st), "ORDER_EMPTY");

        let o = create_order(&mut r1, order(&wang, vec![line("LAMP", 2, 0)]), "")
            .await
            .unwrap();
        let paid = pay(&mut r1, &o.name, deposit(10_000), "").await.unwrap();
        // The old etag is stale after the payment.
        assert_code(confirm(&mut r1, &o.name, &o.etag).await, Code::Aborted);
        // A total below what was paid is refused.
        let st = assert_code(
            update(
                &mut r1,
                pb::Order {
                    name: o.name.clone(),
                    order_discount: money("CNY", 55_000),
                    ..Default::default()
                },
                &["order_discount"],
                "",
            )
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&st), ["order"]);
        let cancelled = r1
            .orders
            .cancel_order(pb::CancelOrderRequest {
                name: o.name.clone(),
                reason: "The customer moved abroad".into(),
                etag: paid.etag.clone(),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(cancelled.state(), pb::OrderState::Cancelled);
        assert_eq!(cancelled.cancel_reason, "The customer moved abroad");
        for refused in [
            confirm(&mut r1, &o.name, "").await,
            pay(&mut r1, &o.name, deposit(1), "").await,
            update(
                &mut r1,
                pb::Order {
                    name: o.name.clone(),
                    notes: "late".into(),
                    ..Default::default()
                },
                &["notes"],
                "",
            )
            .await,
        ] {
            assert_eq!(
                reason(&assert_code(refused, Code::FailedPrecondition)),
                "ORDER_STATE"
            );
        }
        assert_eq!(revisions(&mut r1, &o.name).await.len(), 3);
    })
    .await;
}

#[tokio::test]
async fn reps_see_their_team_s_orders_and_nobody_sees_another_tenant_s() {
    each_backend(&services(), async |s| {
        furniture(s).await;
        let wang = customer(s, "Wang Fang", "+8613800000001", "rep-1", "north").await;
        let mut r1 = rep(s, "rep-1", "north");
        let o = create_order(&mut r1, order(&wang, vec![line("LAMP", 1, 0)]), "")
            .await
            .unwrap();
        let mut r2 = rep(s, "rep-2", "north");
        assert_eq!(get_order(&mut r2, &o.name).await.unwrap().name, o.name);
        assert_eq!(list(&mut r2, "", "").await.unwrap().len(), 1);
        let mut agent = as_user(s, "agent-1", &[Role::ServiceAgent]);
        assert_eq!(get_order(&mut agent, &o.name).await.unwrap().name, o.name);

        let mut r3 = rep(s, "rep-3", "south");
        let mut m2 = manager(s, "mgr-2", "south");
        let mut x = stranger(s);
        for c in [&mut r3, &mut m2, &mut x] {
            assert_code(get_order(c, &o.name).await, Code::NotFound);
            assert!(list(c, "", "").await.unwrap().is_empty());
            assert_code(confirm(c, &o.name, "").await, Code::NotFound);
            assert_code(pay(c, &o.name, deposit(1), "").await, Code::NotFound);
            let listed = c
                .orders
                .list_order_revisions(pb::ListOrderRevisionsRequest {
                    parent: o.name.clone(),
                    ..Default::default()
                })
                .await;
            assert_code(listed, Code::NotFound);
        }
        // A stranger's error never tells whether the order exists.
        let ghost = "orders/0190a0a0-0000-7000-8000-000000000000";
        let a = assert_code(get_order(&mut x, &o.name).await, Code::NotFound);
        let b = assert_code(get_order(&mut x, ghost).await, Code::NotFound);
        assert_eq!(
            a.message().replace(&o.name, "?"),
            b.message().replace(ghost, "?")
        );

        // A rep creates orders it owns, in its own team.
        let mut for_other = order(&wang, vec![]);
        for_other.owner_id = "rep-2".into();
        assert_code(
            create_order(&mut r1, for_other, "").await,
            Code::PermissionDenied,
        );
        let mut other_team = order(&wang, vec![]);
        other_team.team_id = "south".into();
        assert_code(
            create_order(&mut r1, other_team, "").await,
            Code::PermissionDenied,
        );
        // A manager creates for a rep of its team; partners have no access to orders yet.
        let mut m1 = manager(s, "mgr-1", "north");
        let mut for_rep = order(&wang, vec![]);
        for_rep.owner_id = "rep-2".into();
        let made = create_order(&mut m1, for_rep, "").await.unwrap();
        assert_eq!(
            (made.owner_id.as_str(), made.team_id.as_str()),
            ("rep-2", "north")
        );
        let mut partner = as_user(s, "partner-1", &[Role::Partner]);
        assert_code(
            get_order(&mut partner, &o.name).await,
            Code::PermissionDenied,
        );
        assert_code(
            get_order(&mut anonymous(s, None), &o.name).await,
            Code::Unauthenticated,
        );

        // Lists filter and sort.
        confirm(&mut r1, &o.name, "").await.unwrap();
        let confirmed = list(&mut m1, "state = CONFIRMED", "").await.unwrap();
        assert_eq!(confirmed.len(), 1);
        let by_customer = list(&mut m1, &format!("customer = \"{wang}\""), "total desc")
            .await
            .unwrap();
        assert_eq!(by_customer.len(), 2);
        assert!(units(&by_customer[0].total) >= units(&by_customer[1].total));
        assert_eq!(list(&mut m1, "total > 100000", "").await.unwrap().len(), 0);
    })
    .await;
}

#[tokio::test]
async fn retried_request_ids_answer_once_and_only_to_their_caller() {
    each_backend(&services(), async |s| {
        furniture(s).await;
        let wang = customer(s, "Wang Fang", "+8613800000001", "rep-1", "north").await;
        let mut r1 = rep(s, "rep-1", "north");
        let first = create_order(&mut r1, order(&wang, vec![line("LAMP", 1, 0)]), "order-1")
            .await
            .unwrap();
        let again = create_order(&mut r1, order(&wang, vec![line("LAMP", 1, 0)]), "order-1")
            .await
            .unwrap();
        assert_eq!(again, first);
        // The same id with another request is refused, not answered with the first order.
        let st = assert_code(
            create_order(&mut r1, order(&wang, vec![line("LAMP", 2, 0)]), "order-1").await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&st), ["request_id"]);
        // Another user's request id is theirs alone.
        let mut r2 = rep(s, "rep-2", "north");
        let theirs = create_order(&mut r2, order(&wang, vec![line("LAMP", 1, 0)]), "order-1")
            .await
            .unwrap();
        assert_ne!(theirs.name, first.name);
        assert_eq!(theirs.owner_id, "rep-2");

        let paid = pay(&mut r1, &first.name, deposit(10_000), "pay-1")
            .await
            .unwrap();
        let paid_again = pay(&mut r1, &first.name, deposit(10_000), "pay-1")
            .await
            .unwrap();
        assert_eq!(paid_again, paid);
        let now = get_order(&mut r1, &first.name).await.unwrap();
        assert_eq!(now.payments.len(), 1);
        assert_eq!(revisions(&mut r1, &first.name).await.len(), 2);
    })
    .await;
}

#[tokio::test]
async fn of_two_concurrent_edits_one_wins_and_no_line_is_lost() {
    each_backend(&services(), async |s| {
        furniture(s).await;
        let wang = customer(s, "Wang Fang", "+8613800000001", "rep-1", "north").await;
        let mut r1 = rep(s, "rep-1", "north");
        let o = create_order(&mut r1, order(&wang, vec![line("LAMP", 1, 0)]), "")
            .await
            .unwrap();
        let edit = |sku: &'static str| {
            let mut c = rep(s, "rep-1", "north");
            let mut lines = o.lines.clone();
            lines.push(line(sku, 1, 0));
            let patch = pb::Order {
                name: o.name.clone(),
                lines,
                etag: o.etag.clone(),
                ..Default::default()
            };
            async move { update(&mut c, patch, &["lines"], "").await }
        };
        let (a, b) = tokio::join!(edit("SOFA-3S"), edit("TABLE-6"));
        let (won, lost) = match (a, b) {
            (Ok(won), Err(lost)) | (Err(lost), Ok(won)) => (won, lost),
            other => panic!("exactly one edit must win: {other:?}"),
        };
        assert_eq!(lost.code(), Code::Aborted, "{lost:?}");
        let now = get_order(&mut r1, &o.name).await.unwrap();
        assert_eq!(now, won);
        assert_eq!(now.lines.len(), 2);
        assert_eq!(now.lines[0].id, o.lines[0].id);
        assert_eq!(revisions(&mut r1, &o.name).await.len(), 2);
    })
    .await;
}
