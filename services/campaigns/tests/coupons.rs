//! Coupons (CA7) through gRPC on every backend: issuing them with unambiguous unique codes,
//! redeeming one exactly once however many orders try at the same moment, releasing it, the
//! expiry sweep, and orders that redeem a coupon through the orders service: linked to the
//! campaign, given back when the order is not written or is cancelled, and nothing written
//! while the campaigns service is cut off.

use rapport_campaigns::Campaigns;
use rapport_customers::Customers;
use rapport_orders::Orders;
use rapport_proto::{campaigns as pb, orders as opb};
use rapport_runtime::{clock::HOUR, context::ServiceEntry};
use rapport_testkit::{
    Backend, TestServer, each_backend, each_backend_at,
    proxy::Proxy,
    wait::{eventually, past_unavailable},
};
use tonic::Code;

use crate::{
    common::*,
    orders_common::{self, create_order_redeeming as redeeming},
};

const ALPHABET: &str = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

fn issue_request(parent: &str) -> pb::IssueCouponsRequest {
    pb::IssueCouponsRequest {
        parent: parent.into(),
        count: 3,
        percent_off_basis_points: 1_500,
        min_order_amount: money("CNY", 10_000),
        expire_time: in_secs(7 * DAY_SECS),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn coupons_are_issued_with_unique_unambiguous_codes() {
    each_backend(&services(), async |s| {
        let c = approved(s, "Spring sale").await;
        let mut mk = marketer(s);
        let strategy = format!("strategies/{}", uuid::Uuid::now_v7());
        let once = pb::IssueCouponsRequest {
            strategy: strategy.clone(),
            request_id: "issue-1".into(),
            ..issue_request(&c.name)
        };
        // Retried at once: one issue, answered twice.
        let issued = retried!(mk.coupons, issue_coupons, once).coupons;
        assert_eq!(issued.len(), 3);
        let mut codes: Vec<&str> = issued.iter().map(|c| c.code.as_str()).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), 3);
        for coupon in &issued {
            assert_eq!(coupon.code.len(), 10);
            assert!(
                coupon.code.chars().all(|ch| ALPHABET.contains(ch)),
                "{coupon:?}"
            );
            assert_eq!(coupon.name, format!("coupons/{}", coupon.code));
            assert_eq!(coupon.campaign, c.name);
            assert_eq!(coupon.strategy, strategy);
            assert_eq!(coupon.state, pb::CouponState::Issued as i32);
            assert_eq!(coupon.percent_off_basis_points, 1_500);
            assert_eq!(coupon.issued_by, "mk-1");
            assert!(coupon.customer.is_empty() && coupon.order.is_empty());
        }
        assert_eq!(
            reason(&assert_code(
                mk.coupons
                    .issue_coupons(pb::IssueCouponsRequest {
                        count: 4,
                        request_id: "issue-1".into(),
                        ..issue_request(&c.name)
                    })
                    .await,
                Code::InvalidArgument
            )),
            "REQUEST_ID_REUSED"
        );

        // Bound to customers: one each, in the order named, a repeat once.
        let wang = customer(s, "Wang Fang", "+8613800000001").await;
        let li = customer(s, "Li Lei", "+8613800000002").await;
        let bound = mk
            .coupons
            .issue_coupons(pb::IssueCouponsRequest {
                count: 0,
                customers: vec![li.clone(), wang.clone(), li.clone()],
                amount_off: money("CNY", 5_000),
                percent_off_basis_points: 0,
                ..issue_request(&c.name)
            })
            .await
            .unwrap()
            .into_inner()
            .coupons;
        let owners: Vec<&str> = bound.iter().map(|c| c.customer.as_str()).collect();
        assert_eq!(owners, [li.as_str(), wang.as_str()]);
        assert_eq!(bound[0].amount_off, money("CNY", 5_000));
        let unknown = format!("customers/{}", uuid::Uuid::now_v7());
        let bad = assert_code(
            mk.coupons
                .issue_coupons(pb::IssueCouponsRequest {
                    count: 0,
                    customers: vec![wang.clone(), unknown],
                    ..issue_request(&c.name)
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&bad), ["customers[1]"]);

        // Read back by name in any case, listed by campaign and state a page at a time.
        let by_name = coupon(s, &format!("coupons/{}", issued[0].code.to_lowercase())).await;
        assert_eq!(by_name, issued[0]);
        let list = |campaign: &str, state: pb::CouponState, page_size: i32, token: &str| {
            pb::ListCouponsRequest {
                campaign: campaign.into(),
                state: state.into(),
                page_size,
                page_token: token.into(),
            }
        };
        let mut a = admin(s);
        let page = a
            .coupons
            .list_coupons(list(&c.name, pb::CouponState::Issued, 3, ""))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(page.coupons.len(), 3);
        let rest = a
            .coupons
            .list_coupons(list(
                &c.name,
                pb::CouponState::Issued,
                3,
                &page.next_page_token,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(rest.coupons.len(), 2);
        assert!(rest.next_page_token.is_empty());
        let other = approved(s, "Other").await;
        issue(s, &other.name, 1, 100, 0).await;
        let mine = a
            .coupons
            .list_coupons(list(&other.name, pb::CouponState::Unspecified, 0, ""))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(mine.coupons.len(), 1);
        let all = a
            .coupons
            .list_coupons(pb::ListCouponsRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(all.coupons.len(), 6);
        let none = a
            .coupons
            .list_coupons(list("", pb::CouponState::Redeemed, 0, ""))
            .await
            .unwrap()
            .into_inner();
        assert!(none.coupons.is_empty());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn issuing_names_every_bad_field_and_checks_campaign_role_and_tenant() {
    each_backend(&services(), async |s| {
        let c = approved(s, "Spring sale").await;
        let mut mk = marketer(s);
        let bad = assert_code(
            mk.coupons
                .issue_coupons(pb::IssueCouponsRequest {
                    parent: "campaign/1".into(),
                    strategy: "plans/1".into(),
                    count: 3,
                    customers: vec!["customers/nope".into()],
                    amount_off: money("CNY", 0),
                    percent_off_basis_points: 20_000,
                    min_order_amount: money("USD", 100),
                    expire_time: in_secs(-60),
                    request_id: "r".repeat(129),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&bad),
            [
                "amount_off.minor_units",
                "count",
                "customers[0]",
                "expire_time",
                "min_order_amount.currency_code",
                "parent",
                "percent_off_basis_points",
                "request_id",
                "strategy",
            ]
        );
        let empty = assert_code(
            mk.coupons
                .issue_coupons(pb::IssueCouponsRequest {
                    parent: c.name.clone(),
                    ..Default::default()
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&empty),
            ["amount_off", "count", "expire_time"]
        );
        assert_eq!(
            bad_fields(&assert_code(
                mk.coupons
                    .issue_coupons(pb::IssueCouponsRequest {
                        count: 10_001,
                        ..issue_request(&c.name)
                    })
                    .await,
                Code::InvalidArgument
            )),
            ["count"]
        );

        // The campaign must be the caller's tenant's, and neither completed nor cancelled.
        let missing = format!("campaigns/{}", uuid::Uuid::now_v7());
        assert_code(
            mk.coupons.issue_coupons(issue_request(&missing)).await,
            Code::NotFound,
        );
        assert_code(
            stranger(s)
                .coupons
                .issue_coupons(issue_request(&c.name))
                .await,
            Code::NotFound,
        );
        let draft = create(&mut mk, plan("Draft"), "").await.unwrap();
        mk.coupons
            .issue_coupons(issue_request(&draft.name))
            .await
            .unwrap();
        cancel(&mut mk, &draft.name, "dropped").await.unwrap();
        let over = assert_code(
            mk.coupons.issue_coupons(issue_request(&draft.name)).await,
            Code::FailedPrecondition,
        );
        assert!(over.message().contains("CANCELLED"), "{over:?}");
        let done = approved(s, "Done").await;
        start(&mut mk, &done.name).await.unwrap();
        mk.campaigns
            .complete_campaign(pb::CompleteCampaignRequest {
                name: done.name.clone(),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_code(
            mk.coupons.issue_coupons(issue_request(&done.name)).await,
            Code::FailedPrecondition,
        );

        // Reps neither issue nor read coupons; another tenant reads none.
        let code = issue(s, &c.name, 1, 1_000, 0).await.remove(0);
        let mut r = rep(s);
        assert_code(
            r.coupons.issue_coupons(issue_request(&c.name)).await,
            Code::PermissionDenied,
        );
        assert_code(
            r.coupons
                .get_coupon(pb::GetCouponRequest {
                    name: code.name.clone(),
                })
                .await,
            Code::PermissionDenied,
        );
        assert_code(
            r.coupons
                .list_coupons(pb::ListCouponsRequest::default())
                .await,
            Code::PermissionDenied,
        );
        let theirs = assert_code(
            stranger(s)
                .coupons
                .get_coupon(pb::GetCouponRequest {
                    name: code.name.clone(),
                })
                .await,
            Code::NotFound,
        );
        assert!(theirs.message().contains(&code.name));
        assert!(
            stranger(s)
                .coupons
                .list_coupons(pb::ListCouponsRequest::default())
                .await
                .unwrap()
                .into_inner()
                .coupons
                .is_empty()
        );
        let bad_names = assert_code(
            mk.coupons
                .get_coupon(pb::GetCouponRequest {
                    name: "coupons/O0I1".into(),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&bad_names), ["name"]);
        let bad_list = assert_code(
            mk.coupons
                .list_coupons(pb::ListCouponsRequest {
                    campaign: "campaigns/x".into(),
                    state: 9,
                    page_size: -2,
                    page_token: String::new(),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&bad_list),
            ["campaign", "page_size", "state"]
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_coupon_is_redeemed_once_and_again_only_for_its_order() {
    each_backend(&services(), async |s| {
        let c = approved(s, "Spring sale").await;
        let wang = customer(s, "Wang Fang", "+8613800000001").await;
        let li = customer(s, "Li Lei", "+8613800000002").await;
        let coupon = issue(s, &c.name, 1, 5_000, 20_000).await.remove(0);
        let mut r = rep(s);
        let order = some_order();

        let bad = assert_code(
            r.coupons
                .redeem_coupon(pb::RedeemCouponRequest {
                    code: "O0O0".into(),
                    order: "order/1".into(),
                    customer: String::new(),
                    order_amount: None,
                    request_id: String::new(),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&bad),
            ["code", "customer", "order", "order_amount"]
        );
        let under = assert_code(
            redeem(&mut r, &coupon.code, &order, &wang, 19_999).await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&under), "COUPON_MINIMUM_NOT_MET");
        let usd = assert_code(
            r.coupons
                .redeem_coupon(pb::RedeemCouponRequest {
                    code: coupon.code.clone(),
                    order: order.clone(),
                    customer: wang.clone(),
                    order_amount: money("USD", 50_000),
                    request_id: String::new(),
                })
                .await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&usd), "COUPON_CURRENCY");
        assert_code(
            redeem(&mut marketer(s), &coupon.code, &order, &wang, 30_000).await,
            Code::PermissionDenied,
        );

        // Typed in lower case, as people do.
        let redeemed = redeem(&mut r, &coupon.code.to_lowercase(), &order, &wang, 30_000)
            .await
            .unwrap();
        assert_eq!(redeemed.state, pb::CouponState::Redeemed as i32);
        assert_eq!(redeemed.campaign, c.name, "the answer names the campaign");
        assert_eq!(redeemed.order, order);
        assert_eq!(redeemed.order_customer, wang);
        assert_eq!(redeemed.discount, money("CNY", 5_000));
        assert!(redeemed.redeem_time.is_some());
        // The same order again: the same redemption.
        let again = redeem(&mut r, &coupon.code, &order, &wang, 30_000)
            .await
            .unwrap();
        assert_eq!(again, redeemed);
        // Another order: refused, and never told which order holds it.
        let taken = assert_code(
            redeem(&mut manager(s), &coupon.code, &some_order(), &li, 30_000).await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&taken), "COUPON_ALREADY_REDEEMED");
        assert!(!taken.message().contains(&order), "{taken:?}");

        // Unknown, and another tenant's, read alike.
        let mut them = stranger(s);
        let unknown = assert_code(
            redeem(&mut r, "ABCDEFGHJK", &some_order(), &wang, 30_000).await,
            Code::NotFound,
        );
        let foreign = assert_code(
            redeem(&mut them, &coupon.code, &some_order(), &wang, 30_000).await,
            Code::NotFound,
        );
        assert_eq!(
            unknown.message().replace("ABCDEFGHJK", "X"),
            foreign.message().replace(&coupon.code, "X")
        );

        // Released by the order it was redeemed for only; releasing twice changes nothing.
        let release =
            |code: &str, order: &str, request_id: &str| pb::ReleaseCouponRedemptionRequest {
                code: code.into(),
                order: order.into(),
                request_id: request_id.into(),
            };
        let not_yours = assert_code(
            r.coupons
                .release_coupon_redemption(release(&coupon.code, &some_order(), ""))
                .await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&not_yours), "COUPON_NOT_REDEEMED_FOR_ORDER");
        assert!(!not_yours.message().contains(&order));
        assert_code(
            them.coupons
                .release_coupon_redemption(release(&coupon.code, &order, ""))
                .await,
            Code::NotFound,
        );
        assert_eq!(
            sorted_bad_fields(&assert_code(
                r.coupons
                    .release_coupon_redemption(release("", "orders/x", ""))
                    .await,
                Code::InvalidArgument
            )),
            ["code", "order"]
        );
        let once = release(&coupon.code, &order, "release-1");
        let released = retried!(r.coupons, release_coupon_redemption, once);
        assert_eq!(released.state, pb::CouponState::Issued as i32);
        assert!(released.order.is_empty() && released.redeem_time.is_none());
        let twice = r
            .coupons
            .release_coupon_redemption(release(&coupon.code, &order, ""))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(twice.state, pb::CouponState::Issued as i32);

        // A retried request id runs as the same redemption: answered alike while it stands,
        // redeemed anew once released.
        let with_id = |order: &str, amount: i64, request_id: &str| pb::RedeemCouponRequest {
            code: coupon.code.clone(),
            order: order.into(),
            customer: wang.clone(),
            order_amount: money("CNY", amount),
            request_id: request_id.into(),
        };
        let second = some_order();
        let first = retried!(
            r.coupons,
            redeem_coupon,
            with_id(&second, 40_000, "redeem-1")
        );
        assert_eq!(first.order, second);
        assert_eq!(
            reason(&assert_code(
                r.coupons
                    .redeem_coupon(with_id(&second, 40_001, "redeem-1"))
                    .await,
                Code::InvalidArgument
            )),
            "REQUEST_ID_REUSED"
        );
        r.coupons
            .release_coupon_redemption(release(&coupon.code, &second, ""))
            .await
            .unwrap();
        let anew = r
            .coupons
            .redeem_coupon(with_id(&second, 40_000, "redeem-1"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(anew.state, pb::CouponState::Redeemed as i32);
        assert_eq!(
            coupon_state(s, &coupon.name).await,
            pb::CouponState::Redeemed
        );

        // A bound coupon is its customer's.
        let bound = marketer(s)
            .coupons
            .issue_coupons(pb::IssueCouponsRequest {
                count: 0,
                customers: vec![li.clone()],
                ..issue_request(&c.name)
            })
            .await
            .unwrap()
            .into_inner()
            .coupons
            .remove(0);
        let not_theirs = assert_code(
            redeem(&mut r, &bound.code, &some_order(), &wang, 30_000).await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&not_theirs), "COUPON_NOT_FOR_CUSTOMER");
        let kept = redeem(&mut r, &bound.code, &some_order(), &li, 30_000)
            .await
            .unwrap();
        assert_eq!(kept.discount, money("CNY", 4_500), "15% of 300.00");

        // A cancelled campaign's coupons are void.
        let spare = issue(s, &c.name, 1, 100, 0).await.remove(0);
        cancel(&mut marketer(s), &c.name, "called off")
            .await
            .unwrap();
        assert_eq!(
            reason(&assert_code(
                redeem(&mut r, &spare.code, &some_order(), &wang, 30_000).await,
                Code::FailedPrecondition
            )),
            "CAMPAIGN_CANCELLED"
        );
    })
    .await;
}

/// The state of coupon `name`.
async fn coupon_state(s: &TestServer, name: &str) -> pb::CouponState {
    pb::CouponState::try_from(coupon(s, name).await.state).expect("a state")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn of_sixty_four_orders_redeeming_one_code_at_once_exactly_one_wins() {
    each_backend(&services(), async |s| {
        let c = approved(s, "Flash sale").await;
        let wang = customer(s, "Wang Fang", "+8613800000001").await;
        let coupon = issue(s, &c.name, 1, 5_000, 0).await.remove(0);
        let orders: Vec<String> = (0..64).map(|_| some_order()).collect();
        let calls = orders.iter().enumerate().map(|(i, order)| {
            let mut r = rep(s);
            let (code, wang) = (coupon.code.clone(), wang.clone());
            let request_id = format!("race-{i}");
            async move {
                r.coupons
                    .redeem_coupon(pb::RedeemCouponRequest {
                        code,
                        order: order.clone(),
                        customer: wang,
                        order_amount: money("CNY", 10_000),
                        request_id,
                    })
                    .await
                    .map(|r| r.into_inner())
            }
        });
        let answers = futures::future::join_all(calls).await;
        let winners: Vec<&pb::Coupon> = answers.iter().filter_map(|a| a.as_ref().ok()).collect();
        assert_eq!(winners.len(), 1, "{answers:?}");
        let won = &winners[0].order;
        for lost in answers.iter().filter_map(|a| a.as_ref().err()) {
            assert_eq!(lost.code(), Code::FailedPrecondition, "{lost:?}");
            assert_eq!(reason(lost), "COUPON_ALREADY_REDEEMED");
            assert!(!lost.message().contains(won.as_str()), "{lost:?}");
        }
        let stored = coupon_state(s, &coupon.name).await;
        assert_eq!(stored, pb::CouponState::Redeemed);
        assert_eq!(&self::coupon(s, &coupon.name).await.order, won);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_sweep_expires_coupons_past_their_time() {
    const T0: i64 = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z
    each_backend_at(&services(), T0, async |s, clock| {
        let mut mk = marketer(s);
        let c = create(
            &mut mk,
            pb::Campaign {
                start_time: Some(prost_types::Timestamp {
                    seconds: T0 / 1_000_000 + DAY_SECS,
                    nanos: 0,
                }),
                end_time: Some(prost_types::Timestamp {
                    seconds: T0 / 1_000_000 + 8 * DAY_SECS,
                    nanos: 0,
                }),
                ..plan("New year")
            },
            "",
        )
        .await
        .unwrap();
        let at = |hours: i64| {
            Some(prost_types::Timestamp {
                seconds: (T0 + hours * HOUR) / 1_000_000,
                nanos: 0,
            })
        };
        let issued = |expire_time| pb::IssueCouponsRequest {
            parent: c.name.clone(),
            count: 2,
            amount_off: money("CNY", 1_000),
            expire_time,
            ..Default::default()
        };
        let soon = mk
            .coupons
            .issue_coupons(issued(at(1)))
            .await
            .unwrap()
            .into_inner()
            .coupons;
        let later = mk
            .coupons
            .issue_coupons(issued(at(48)))
            .await
            .unwrap()
            .into_inner()
            .coupons;
        let wang = customer(s, "Wang Fang", "+8613800000001").await;
        let mut r = rep(s);
        let kept = some_order();
        redeem(&mut r, &soon[1].code, &kept, &wang, 10_000)
            .await
            .unwrap();

        clock.advance(2 * HOUR);
        eventually("the sweep expires the coupon past its time", async || {
            coupon_state(s, &soon[0].name).await == pb::CouponState::Expired
        })
        .await;
        let expired = assert_code(
            redeem(&mut r, &soon[0].code, &some_order(), &wang, 10_000).await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&expired), "COUPON_EXPIRED");
        // A redeemed coupon is not expired, and one not yet due stays issued.
        assert_eq!(
            coupon_state(s, &soon[1].name).await,
            pb::CouponState::Redeemed
        );
        assert_eq!(
            redeem(&mut r, &soon[1].code, &kept, &wang, 10_000)
                .await
                .unwrap()
                .order,
            kept
        );
        assert_eq!(
            coupon_state(s, &later[0].name).await,
            pb::CouponState::Issued
        );
        let listed = admin(s)
            .coupons
            .list_coupons(pb::ListCouponsRequest {
                state: pb::CouponState::Expired.into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .coupons;
        assert_eq!(listed.len(), 1);
        // Released after its time, a coupon is taken by the sweep next.
        r.coupons
            .release_coupon_redemption(pb::ReleaseCouponRedemptionRequest {
                code: soon[1].code.clone(),
                order: kept,
                request_id: String::new(),
            })
            .await
            .unwrap();
        eventually("a coupon released after its time expires", async || {
            coupon_state(s, &soon[1].name).await == pb::CouponState::Expired
        })
        .await;
    })
    .await;
}

/// A CNY order of one lamp (300.00) for `customer`.
fn lamp_order(customer: &str) -> opb::Order {
    orders_common::order(customer, vec![orders_common::line("LAMP", 1, 0)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_order_redeems_a_coupon_and_is_linked_to_its_campaign() {
    each_backend(&services(), async |s| {
        orders_common::furniture(s).await;
        let c = approved(s, "Lamp week").await;
        let wang = customer(s, "Wang Fang", "+8613800000001").await;
        let coupon = issue(s, &c.name, 1, 3_000, 10_000).await.remove(0);
        let mut shop = orders_common::rep(s, "rep-1", "north");

        let no_id = assert_code(
            redeeming(&mut shop, lamp_order(&wang), &coupon.code, "").await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&no_id), ["request_id"]);
        let unknown = assert_code(
            redeeming(&mut shop, lamp_order(&wang), "ABCDEFGHJK", "order-0").await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&unknown), ["coupon_code"]);

        // Typed in lower case, as people do.
        let typed = coupon.code.to_lowercase();
        let o = redeeming(&mut shop, lamp_order(&wang), &typed, "order-1")
            .await
            .unwrap();
        assert_eq!(
            o.campaign, c.name,
            "the order is linked to the coupon's campaign"
        );
        assert_eq!(o.coupon_code, coupon.code);
        let held = self::coupon(s, &coupon.name).await;
        assert_eq!(held.state, pb::CouponState::Redeemed as i32);
        assert_eq!(held.order, o.name);
        assert_eq!(held.order_customer, wang);
        assert_eq!(held.order_amount, money("CNY", 30_000));
        // The retry replays: the same order, the coupon redeemed once.
        let again = redeeming(&mut shop, lamp_order(&wang), &typed, "order-1")
            .await
            .unwrap();
        assert_eq!(again, o);
        assert_eq!(self::coupon(s, &coupon.name).await, held);
        // Another order with the same code is refused with the campaigns service's reason.
        let taken = assert_code(
            redeeming(&mut shop, lamp_order(&wang), &coupon.code, "order-2").await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&taken), "COUPON_ALREADY_REDEEMED");
        assert!(!taken.message().contains(&o.name), "{taken:?}");
        let under = issue(s, &c.name, 1, 100, 50_000).await.remove(0);
        assert_eq!(
            reason(&assert_code(
                redeeming(&mut shop, lamp_order(&wang), &under.code, "order-3").await,
                Code::FailedPrecondition
            )),
            "COUPON_MINIMUM_NOT_MET"
        );
        let listed = orders_common::list_orders(&mut shop).await;
        assert_eq!(listed.len(), 1, "refused orders are not written");

        // Cancelled before delivery: the coupon is given back, and the order's retry does not
        // take it again.
        orders_common::cancel_order(&mut shop, &o.name, "changed their mind")
            .await
            .unwrap();
        eventually("the cancelled order's coupon is released", async || {
            self::coupon(s, &coupon.name).await.state == pb::CouponState::Issued as i32
        })
        .await;
        let replayed = redeeming(&mut shop, lamp_order(&wang), &typed, "order-1")
            .await
            .unwrap();
        assert_eq!(replayed.name, o.name);
        assert_eq!(
            self::coupon(s, &coupon.name).await.state,
            pb::CouponState::Issued as i32
        );
        let next = redeeming(&mut shop, lamp_order(&wang), &coupon.code, "order-4")
            .await
            .unwrap();
        assert_eq!(self::coupon(s, &coupon.name).await.order, next.name);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_order_that_is_not_written_gives_its_coupon_back() {
    each_backend(&services(), async |s| {
        orders_common::furniture(s).await;
        let c = approved(s, "Lamp week").await;
        let other = approved(s, "Sofa week").await;
        let wang = customer(s, "Wang Fang", "+8613800000001").await;
        let coupon = issue(s, &c.name, 1, 3_000, 0).await.remove(0);
        let mut shop = orders_common::rep(s, "rep-1", "north");
        // The order names another campaign than the coupon's: known only once the coupon is
        // redeemed, so the write refuses after the redemption, and gives the coupon back.
        let wrong = assert_code(
            redeeming(
                &mut shop,
                opb::Order {
                    campaign: other.name.clone(),
                    ..lamp_order(&wang)
                },
                &coupon.code,
                "order-1",
            )
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&wrong), ["order.campaign"]);
        let back = self::coupon(s, &coupon.name).await;
        assert_eq!(back.state, pb::CouponState::Issued as i32);
        assert!(back.order.is_empty());
        assert!(orders_common::list_orders(&mut shop).await.is_empty());
        // Corrected, the same request id goes through and redeems it.
        let o = redeeming(
            &mut shop,
            opb::Order {
                campaign: c.name.clone(),
                ..lamp_order(&wang)
            },
            &coupon.code,
            "order-1b",
        )
        .await
        .unwrap();
        assert_eq!(self::coupon(s, &coupon.name).await.order, o.name);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cut_campaigns_service_makes_orders_wait_not_half_written() {
    for backend in Backend::all() {
        eprintln!("-- on {backend:?}");
        let marketing = TestServer::start(backend, &[ServiceEntry::of::<Campaigns>()]).await;
        let proxy = Proxy::start(marketing.addr).await;
        let store = TestServer::builder()
            .peer("campaigns", &format!("http://{}", proxy.addr))
            .start(
                backend,
                &[
                    ServiceEntry::of::<Customers>(),
                    ServiceEntry::of::<Orders>(),
                ],
            )
            .await;
        orders_common::furniture(&store).await;
        let wang =
            orders_common::customer(&store, "Wang Fang", "+8613800000001", "rep-1", "north").await;
        let c = approved(&marketing, "Lamp week").await;
        let coupon = issue(&marketing, &c.name, 1, 3_000, 0).await.remove(0);
        let mut shop = orders_common::rep(&store, "rep-1", "north");

        proxy.cut();
        let cut = assert_code(
            redeeming(&mut shop, lamp_order(&wang), &coupon.code, "order-1").await,
            Code::Unavailable,
        );
        assert!(cut.message().contains("retry"), "{}", cut.message());
        assert!(
            orders_common::list_orders(&mut shop).await.is_empty(),
            "no order"
        );
        assert_eq!(
            coupon_state(&marketing, &coupon.name).await,
            pb::CouponState::Issued,
            "no redemption"
        );

        proxy.restore();
        let lamp = || lamp_order(&wang);
        let made =
            past_unavailable(async || redeeming(&mut shop, lamp(), &coupon.code, "order-1").await)
                .await
                .expect("the order once the campaigns service is back");
        assert_eq!(made.campaign, c.name);
        assert_eq!(
            self::coupon(&marketing, &coupon.name).await.order,
            made.name
        );
        store.stop().await;
        marketing.stop().await;
    }
}
