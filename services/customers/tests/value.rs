//! Customer value (CU12) from real orders events, on every backend: the orders service runs
//! beside customers, orders are created, confirmed, changed and cancelled through its API, and
//! each customer's figures follow; they filter and sort in ListCustomers, the tenant's rules
//! change grades, and time churns customers.

use rapport_customers::Customers;
use rapport_orders::Orders;
use rapport_proto::{
    customers as pb,
    orders::{
        self as opb, catalog_service_client::CatalogServiceClient,
        order_service_client::OrderServiceClient,
    },
    types as pt,
};
use rapport_runtime::{
    clock::{DAY, ManualClock},
    context::ServiceEntry,
};
use rapport_testkit::{Bearer, TestServer, each_backend, each_backend_at, wait::eventually};
use tonic::{Code, codegen::InterceptedService, transport::Channel};

use crate::common::*;

/// Customers, and the orders service whose events they consume.
pub(crate) fn services() -> Vec<ServiceEntry> {
    vec![
        ServiceEntry::of::<Customers>(),
        ServiceEntry::of::<Orders>(),
    ]
}

type Ch = InterceptedService<Channel, Bearer>;

/// One caller's clients of the catalog, the orders and the customers.
pub(crate) struct Shop {
    catalog: CatalogServiceClient<Ch>,
    orders: OrderServiceClient<Ch>,
    pub(crate) customers: Client,
}

/// The clients of `bearer`, an admin, once its tenant's catalog has the [`furniture`].
async fn shop_with(s: &TestServer, bearer: Bearer) -> Shop {
    let mut shop = Shop {
        catalog: CatalogServiceClient::with_interceptor(s.channel.clone(), bearer.clone()),
        orders: OrderServiceClient::with_interceptor(s.channel.clone(), bearer.clone()),
        customers: client_with(s, bearer),
    };
    furniture(&mut shop).await;
    shop
}

/// The admin of tenant `t1`, with the catalog.
pub(crate) async fn shop(s: &TestServer) -> Shop {
    shop_with(s, s.admin()).await
}

fn cny(minor_units: i64) -> pt::Money {
    money("CNY", minor_units).expect("money")
}

/// The catalog: a sofa (SOFA at 8,999.00 CNY, cost 5,000.00), a dining table (TABLE at
/// 4,500.00, cost 2,000.00) and a lamp (LAMP at 300.00, cost 100.00; also sold in USD at
/// 45.00, cost 15.00).
async fn furniture(shop: &mut Shop) {
    let category = shop
        .catalog
        .create_category(opb::CreateCategoryRequest {
            category: Some(opb::Category {
                display_name: "Furniture".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("create category")
        .into_inner()
        .name;
    let variants = [
        ("SOFA", vec![cny(899_900)], vec![cny(500_000)]),
        ("TABLE", vec![cny(450_000)], vec![cny(200_000)]),
        (
            "LAMP",
            vec![cny(30_000), money("USD", 4_500).expect("money")],
            vec![cny(10_000), money("USD", 1_500).expect("money")],
        ),
    ];
    for (sku, list_prices, costs) in variants {
        shop.catalog
            .create_product(opb::CreateProductRequest {
                product: Some(opb::Product {
                    display_name: sku.into(),
                    category: category.clone(),
                    variants: vec![opb::Variant {
                        sku: sku.into(),
                        list_prices,
                        costs,
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .expect("create product");
    }
}

/// A new customer of the caller's tenant; its name.
async fn customer(shop: &mut Shop, name: &str, phone: &str) -> String {
    create(&mut shop.customers, person(name, phone)).await.name
}

fn lines(items: &[(&str, i32)]) -> Vec<opb::LineItem> {
    items
        .iter()
        .map(|(sku, quantity)| opb::LineItem {
            sku: (*sku).into(),
            quantity: *quantity,
            ..Default::default()
        })
        .collect()
}

/// A draft order of `customer` in `currency` for `items` (SKU, quantity).
async fn draft(
    shop: &mut Shop,
    customer: &str,
    currency: &str,
    items: &[(&str, i32)],
) -> opb::Order {
    shop.orders
        .create_order(opb::CreateOrderRequest {
            order: Some(opb::Order {
                customer: customer.into(),
                currency_code: currency.into(),
                lines: lines(items),
                ..Default::default()
            }),
            request_id: String::new(),
            coupon_code: String::new(),
        })
        .await
        .expect("create order")
        .into_inner()
}

async fn confirm(shop: &mut Shop, order: &str) -> opb::Order {
    shop.orders
        .confirm_order(opb::ConfirmOrderRequest {
            name: order.into(),
            etag: String::new(),
            request_id: String::new(),
        })
        .await
        .expect("confirm order")
        .into_inner()
}

async fn cancel(shop: &mut Shop, order: &str) {
    shop.orders
        .cancel_order(opb::CancelOrderRequest {
            name: order.into(),
            reason: "changed their mind".into(),
            etag: String::new(),
            request_id: String::new(),
        })
        .await
        .expect("cancel order");
}

/// A confirmed CNY order of `customer` for `items`.
pub(crate) async fn placed(shop: &mut Shop, customer: &str, items: &[(&str, i32)]) -> opb::Order {
    let order = draft(shop, customer, "CNY", items).await;
    confirm(shop, &order.name).await
}

/// "Big", a customer with three CNY orders: 22,498.00 spent, 7,499.33 on average, 10,498.00
/// earned (scores: frequency 3, monetary 4); its name once they count.
async fn big_spender(shop: &mut Shop) -> String {
    let big = customer(shop, "Big", "13800000001").await;
    for items in [&[("SOFA", 1)], &[("SOFA", 1)], &[("TABLE", 1)]] {
        placed(shop, &big, items).await;
    }
    with_orders(shop, &big, 3).await;
    big
}

/// The value of customer `name` once `done` holds of it (`None`: it has none).
async fn value_when(
    shop: &mut Shop,
    name: &str,
    what: &str,
    done: impl Fn(Option<&pb::CustomerValue>) -> bool,
) -> Option<pb::CustomerValue> {
    eventually(what, async || {
        done(
            fetch_customer(&mut shop.customers, name)
                .await
                .value
                .as_ref(),
        )
    })
    .await;
    fetch_customer(&mut shop.customers, name).await.value
}

/// The value of `name` once it counts `n` orders.
pub(crate) async fn with_orders(shop: &mut Shop, name: &str, n: i64) -> pb::CustomerValue {
    let what = format!("{name} counts {n} orders");
    value_when(shop, name, &what, |v| v.is_some_and(|v| v.order_count == n))
        .await
        .expect("a value")
}

/// The minor units of an amount.
fn units(m: &Option<pt::Money>) -> i64 {
    m.as_ref().map_or(0, |m| m.minor_units)
}

/// The names of the customers `filter` lists, ordered by `order_by`, a page of `page_size` at
/// a time.
async fn listed(c: &mut Client, filter: &str, order_by: &str, page_size: i32) -> Vec<String> {
    let (found, _) = list_pages(
        c,
        pb::ListCustomersRequest {
            page_size,
            filter: filter.into(),
            order_by: order_by.into(),
            ..Default::default()
        },
    )
    .await;
    found.into_iter().map(|c| c.display_name).collect()
}

#[tokio::test]
async fn confirmed_orders_count_and_each_changes_the_average_and_the_group() {
    each_backend(&services(), async |s| {
        let mut shop = shop(s).await;
        let zhang = customer(&mut shop, "张伟", "13812345678").await;
        let before = fetch_customer(&mut shop.customers, &zhang).await;
        assert_eq!(before.value, None, "no order yet");

        // A draft promises nothing; confirmed, the order counts.
        let sofa = draft(&mut shop, &zhang, "CNY", &[("SOFA", 1)]).await;
        let sofa = confirm(&mut shop, &sofa.name).await;
        let v = with_orders(&mut shop, &zhang, 1).await;
        assert_eq!(units(&v.total_spent), 899_900);
        assert_eq!(
            v.total_spent.as_ref().map(|m| m.currency_code.as_str()),
            Some("CNY")
        );
        assert_eq!(units(&v.average_order_value), 899_900);
        assert_eq!(units(&v.profit_contribution), 399_900);
        assert_eq!(v.last_order_time, sofa.confirm_time);
        assert_eq!(
            (v.recency_score, v.frequency_score, v.monetary_score),
            (5, 1, 3)
        );
        assert_eq!(v.grade(), pb::ValueGrade::Normal);
        assert_eq!(v.group(), pb::ValueGroup::C, "one order, high value");

        // A second, small order halves the average: more than one order, low value.
        placed(&mut shop, &zhang, &[("LAMP", 1)]).await;
        let v = with_orders(&mut shop, &zhang, 2).await;
        assert_eq!(units(&v.total_spent), 929_900);
        assert_eq!(units(&v.average_order_value), 464_950);
        assert_eq!(units(&v.profit_contribution), 419_900);
        assert_eq!((v.frequency_score, v.group()), (2, pb::ValueGroup::D));

        // An order in another currency counts as an order, not as money: now frequent.
        let usd = draft(&mut shop, &zhang, "USD", &[("LAMP", 2)]).await;
        let usd = confirm(&mut shop, &usd.name).await;
        let v = with_orders(&mut shop, &zhang, 3).await;
        assert_eq!(units(&v.total_spent), 929_900);
        assert_eq!(units(&v.average_order_value), 464_950);
        assert_eq!(v.last_order_time, usd.confirm_time);
        assert_eq!(v.group(), pb::ValueGroup::B, "frequent, low value");

        // The figures are not an edit of the customer: its etag and update time stay.
        let after = fetch_customer(&mut shop.customers, &zhang).await;
        assert_eq!(
            (after.etag, after.update_time),
            (before.etag, before.update_time)
        );
    })
    .await;
}

#[tokio::test]
async fn a_cancelled_order_leaves_the_ledger() {
    each_backend(&services(), async |s| {
        let mut shop = shop(s).await;
        let li = customer(&mut shop, "Li Na", "13900001111").await;
        let sofa = placed(&mut shop, &li, &[("SOFA", 1)]).await;
        let table = placed(&mut shop, &li, &[("TABLE", 1)]).await;
        let v = with_orders(&mut shop, &li, 2).await;
        assert_eq!(units(&v.total_spent), 1_349_900);

        cancel(&mut shop, &table.name).await;
        let v = with_orders(&mut shop, &li, 1).await;
        assert_eq!(units(&v.total_spent), 899_900);
        assert_eq!(units(&v.profit_contribution), 399_900);

        cancel(&mut shop, &sofa.name).await;
        value_when(&mut shop, &li, "Li Na has no value left", |v| v.is_none()).await;
    })
    .await;
}

#[tokio::test]
async fn the_ledger_keeps_the_latest_revision_of_each_order_once() {
    each_backend(&services(), async |s| {
        let mut shop = shop(s).await;
        let wang = customer(&mut shop, "王芳", "13700001111").await;
        let marker = customer(&mut shop, "Marker", "13700002222").await;
        let order = placed(&mut shop, &wang, &[("SOFA", 1)]).await;
        with_orders(&mut shop, &wang, 1).await;

        // The confirmed order changes: two sofas now, and a deposit. Each change is a revision
        // and an event; the ledger keeps one entry, from the latest.
        let mut changed = order.clone();
        changed.lines[0].quantity = 2;
        shop.orders
            .update_order(opb::UpdateOrderRequest {
                order: Some(changed),
                update_mask: mask(&["lines"]),
                request_id: String::new(),
            })
            .await
            .expect("update order");
        shop.orders
            .add_payment(opb::AddPaymentRequest {
                order: order.name.clone(),
                payment: Some(opb::Payment {
                    kind: opb::PaymentKind::Deposit.into(),
                    method: opb::PaymentMethod::WechatPay.into(),
                    amount: Some(cny(100_000)),
                    ..Default::default()
                }),
                etag: String::new(),
                request_id: String::new(),
            })
            .await
            .expect("add payment");
        // Events are applied in order: once the marker's order shows, every event of Wang's
        // order before it has been applied.
        placed(&mut shop, &marker, &[("LAMP", 1)]).await;
        with_orders(&mut shop, &marker, 1).await;
        let v = fetch_customer(&mut shop.customers, &wang)
            .await
            .value
            .expect("a value");
        assert_eq!(v.order_count, 1, "one order, however many events");
        assert_eq!(units(&v.total_spent), 1_799_800);
        assert_eq!(units(&v.profit_contribution), 799_800);
    })
    .await;
}

#[tokio::test]
async fn value_metrics_filter_and_sort_in_list_customers() {
    each_backend(&services(), async |s| {
        let mut shop = shop(s).await;
        let big = big_spender(&mut shop).await;
        let small = customer(&mut shop, "Small", "13800000002").await;
        customer(&mut shop, "None", "13800000003").await;
        let first = placed(&mut shop, &small, &[("LAMP", 1)]).await;
        with_orders(&mut shop, &small, 1).await;
        let v = with_orders(&mut shop, &big, 3).await;
        assert_eq!(units(&v.total_spent), 2_249_800);
        assert_eq!(units(&v.average_order_value), 749_933);
        assert_eq!(units(&v.profit_contribution), 1_049_800);
        assert_eq!((v.frequency_score, v.monetary_score), (3, 4));
        assert_eq!(v.grade(), pb::ValueGrade::HighProfit);
        assert_eq!(v.group(), pb::ValueGroup::A);

        let c = &mut shop.customers;
        let by_name = "display_name";
        assert_eq!(listed(c, "value.group = A", by_name, 0).await, ["Big"]);
        assert_eq!(listed(c, "value.group = e", by_name, 0).await, ["Small"]);
        assert_eq!(
            listed(c, "value.grade = HIGH_PROFIT", by_name, 0).await,
            ["Big"]
        );
        assert_eq!(
            listed(c, "value.grade != normal", by_name, 0).await,
            ["Big", "None"]
        );
        assert_eq!(
            listed(c, "value.order_count >= 1", by_name, 0).await,
            ["Big", "Small"]
        );
        assert_eq!(
            listed(c, "value.order_count = 0", by_name, 0).await,
            ["None"]
        );
        assert_eq!(
            listed(c, "value.total_spent > 100000", by_name, 0).await,
            ["Big"]
        );
        assert_eq!(
            listed(
                c,
                "value.monetary_score >= 4 AND value.recency_score = 5",
                by_name,
                0
            )
            .await,
            ["Big"]
        );
        let since = rapport_runtime::clock::rfc3339(micros(&first.confirm_time));
        let filter = format!("value.last_order_time >= {since}");
        assert_eq!(listed(c, &filter, by_name, 0).await, ["Small"]);

        // Sorted by a figure, a page at a time; no figures sort as zero.
        assert_eq!(
            listed(c, "", "value.total_spent desc", 1).await,
            ["Big", "Small", "None"]
        );
        assert_eq!(
            listed(c, "", "value.order_count", 2).await,
            ["None", "Small", "Big"]
        );
        assert_eq!(
            listed(c, "value.order_count > 0", "value.last_order_time desc", 1).await,
            ["Small", "Big"]
        );

        // A grade that does not exist, and the value as a field to update, are refused.
        let bad = c
            .list_customers(pb::ListCustomersRequest {
                filter: "value.grade = GOLD".into(),
                ..Default::default()
            })
            .await;
        assert_eq!(
            bad_fields(&assert_code(bad, Code::InvalidArgument)),
            ["filter"]
        );
        let mut patch = fetch_customer(c, &big).await;
        patch.value = None;
        let refused = c
            .update_customer(pb::UpdateCustomerRequest {
                customer: Some(patch),
                update_mask: mask(&["value"]),
            })
            .await;
        let status = assert_code(refused, Code::InvalidArgument);
        assert_eq!(bad_fields(&status), ["update_mask"]);
        assert!(status.message().contains("output only"), "{status:?}");
    })
    .await;
}

#[tokio::test]
async fn the_tenants_thresholds_change_grades_and_groups() {
    each_backend(&services(), async |s| {
        let mut shop = shop(s).await;
        let settings = shop
            .customers
            .get_customer_settings(pb::GetCustomerSettingsRequest {
                name: "settings".into(),
            })
            .await
            .expect("settings")
            .into_inner();
        let rules = settings.value_rules.expect("the default rules");
        assert_eq!(rules.currency_code, "CNY");
        assert_eq!(rules.recency_days, [30, 90, 180, 365]);
        assert_eq!((rules.vip_min_score, rules.churn_days), (4, 365));

        let big = big_spender(&mut shop).await;
        let v = with_orders(&mut shop, &big, 3).await;
        assert_eq!(
            (v.grade(), v.group()),
            (pb::ValueGrade::HighProfit, pb::ValueGroup::A)
        );

        // Scores of 3 make a VIP; four orders make a customer frequent.
        update_settings(
            &mut shop.customers,
            pb::CustomerSettings {
                value_rules: Some(pb::ValueRules {
                    vip_min_score: 3,
                    frequent_orders: 4,
                    ..Default::default()
                }),
                ..Default::default()
            },
            &["value_rules.vip_min_score", "value_rules.frequent_orders"],
        )
        .await
        .expect("update the rules");
        let v = value_when(&mut shop, &big, "Big is judged by the new rules", |v| {
            v.is_some_and(|v| v.grade() == pb::ValueGrade::Vip)
        })
        .await
        .expect("a value");
        assert_eq!(v.group(), pb::ValueGroup::C);

        // Money in another currency: the CNY orders no longer count as money.
        update_settings(
            &mut shop.customers,
            pb::CustomerSettings {
                value_rules: Some(pb::ValueRules {
                    currency_code: "USD".into(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            &["value_rules.currency_code"],
        )
        .await
        .expect("update the currency");
        let v = value_when(&mut shop, &big, "Big is counted in USD", |v| {
            v.is_some_and(|v| {
                v.total_spent
                    .as_ref()
                    .is_some_and(|m| m.currency_code == "USD")
            })
        })
        .await
        .expect("a value");
        assert_eq!((units(&v.total_spent), v.order_count), (0, 3));
        assert_eq!(v.grade(), pb::ValueGrade::Normal);

        // Every bad threshold is named.
        let bad = update_settings(
            &mut shop.customers,
            pb::CustomerSettings {
                value_rules: Some(pb::ValueRules {
                    currency_code: "usd".into(),
                    recency_days: vec![90, 30, 180, 365],
                    vip_min_score: 6,
                    churn_days: -1,
                    frequent_orders: 1,
                    ..Default::default()
                }),
                ..Default::default()
            },
            &["value_rules"],
        )
        .await;
        assert_eq!(
            bad_fields(&assert_code(bad, Code::InvalidArgument)),
            [
                "settings.value_rules.currency_code",
                "settings.value_rules.recency_days",
                "settings.value_rules.vip_min_score",
                "settings.value_rules.churn_days",
                "settings.value_rules.frequent_orders",
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn time_wears_recency_down_and_churns_customers() {
    const T0: i64 = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z
    each_backend_at(&services(), T0, async |s, clock: &ManualClock| {
        let mut shop = shop(s).await;
        let zhao = customer(&mut shop, "Zhao", "13600001111").await;
        placed(&mut shop, &zhao, &[("SOFA", 1)]).await;
        let v = with_orders(&mut shop, &zhao, 1).await;
        assert_eq!((v.recency_score, v.grade()), (5, pb::ValueGrade::Normal));

        clock.advance(31 * DAY);
        value_when(&mut shop, &zhao, "recency falls to 4 after 30 days", |v| {
            v.is_some_and(|v| v.recency_score == 4)
        })
        .await;
        clock.advance(335 * DAY);
        let v = value_when(&mut shop, &zhao, "Zhao churns after a year", |v| {
            v.is_some_and(|v| v.grade() == pb::ValueGrade::Churned)
        })
        .await
        .expect("a value");
        assert_eq!((v.recency_score, v.order_count), (1, 1));
        assert_eq!(micros(&v.compute_time), T0 + 366 * DAY);

        // A new order brings the customer back.
        placed(&mut shop, &zhao, &[("LAMP", 1)]).await;
        let v = with_orders(&mut shop, &zhao, 2).await;
        assert_eq!((v.recency_score, v.grade()), (5, pb::ValueGrade::Normal));
    })
    .await;
}

#[tokio::test]
async fn tenants_never_touch_each_others_customers() {
    each_backend(&services(), async |s| {
        let mut ours = shop(s).await;
        let mut theirs = shop_with(s, s.stranger()).await;
        let zhang = customer(&mut ours, "张伟", "13812345678").await;
        let theirs_zhang = customer(&mut theirs, "张伟", "13812345678").await;

        // The other tenant cannot order for our customer: the orders service asks customers,
        // which does not know it there.
        let refused = theirs
            .orders
            .create_order(opb::CreateOrderRequest {
                order: Some(opb::Order {
                    customer: zhang.clone(),
                    currency_code: "CNY".into(),
                    lines: lines(&[("SOFA", 1)]),
                    ..Default::default()
                }),
                request_id: String::new(),
                coupon_code: String::new(),
            })
            .await;
        assert_eq!(
            bad_fields(&assert_code(refused, Code::InvalidArgument)),
            ["order.customer"]
        );

        // Its own orders count for its own customer only.
        placed(&mut theirs, &theirs_zhang, &[("SOFA", 2)]).await;
        let v = with_orders(&mut theirs, &theirs_zhang, 1).await;
        assert_eq!(units(&v.total_spent), 1_799_800);
        placed(&mut ours, &zhang, &[("LAMP", 1)]).await;
        let v = with_orders(&mut ours, &zhang, 1).await;
        assert_eq!(units(&v.total_spent), 30_000);
        assert_eq!(
            listed(&mut ours.customers, "value.order_count > 0", "", 0).await,
            ["张伟"]
        );
        assert_eq!(
            listed(&mut ours.customers, "value.total_spent > 30000", "", 0).await,
            Vec::<String>::new()
        );
    })
    .await;
}

#[tokio::test]
async fn a_merge_moves_the_orders_to_the_survivor() {
    each_backend(&services(), async |s| {
        let mut shop = shop(s).await;
        let kept = customer(&mut shop, "Zhou", "13500001111").await;
        let gone = customer(&mut shop, "Zhou Jie", "13500002222").await;
        placed(&mut shop, &kept, &[("SOFA", 1)]).await;
        let lamp = placed(&mut shop, &gone, &[("LAMP", 1)]).await;
        with_orders(&mut shop, &kept, 1).await;
        with_orders(&mut shop, &gone, 1).await;

        let merged = shop
            .customers
            .merge_customers(pb::MergeCustomersRequest {
                survivor: kept.clone(),
                merged: vec![gone.clone()],
                request_id: String::new(),
            })
            .await
            .expect("merge")
            .into_inner();
        // The answer already counts the merged customer's orders.
        let v = merged.value.expect("a value");
        assert_eq!((v.order_count, units(&v.total_spent)), (2, 929_900));
        assert_eq!(fetch_customer(&mut shop.customers, &gone).await.value, None);

        // A later change of the merged customer's order reaches the survivor.
        cancel(&mut shop, &lamp.name).await;
        let v = with_orders(&mut shop, &kept, 1).await;
        assert_eq!(units(&v.total_spent), 899_900);
    })
    .await;
}
