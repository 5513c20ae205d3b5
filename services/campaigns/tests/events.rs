//! What campaigns and coupons announce, on every backend: the service's handlers and its expiry
//! sweep run on a context without a relay, and the outbox holds each change's event, typed by
//! its payload message, about the resource it names.

use prost::Message;
use rapport_campaigns::{App, Campaigns, sweeps};
use rapport_proto::campaigns::{
    self as pb, campaign_service_server::CampaignService, coupon_service_server::CouponService,
};
use rapport_runtime::{
    auth::{Principal, Role},
    clock::{HOUR, ManualClock},
    context::ServiceContext,
};
use rapport_testkit::{Backend, TestStores, outbox_events};
use tonic::Request;

use crate::common::{money, plan};

const T0: i64 = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z

/// `msg` as sent by `subject` of tenant `t1` with `role`, past authentication.
fn from<T>(subject: &str, role: Role, msg: T) -> Request<T> {
    let mut req = Request::new(msg);
    req.extensions_mut().insert(Principal {
        tenant_id: "t1".into(),
        subject: subject.into(),
        roles: vec![role],
        team_id: None,
    });
    req
}

/// `msg` as sent by the marketer.
fn mk<T>(msg: T) -> Request<T> {
    from("mk-1", Role::Marketer, msg)
}

/// Fresh stores of `backend`, a clock at T0, and the service's context over them.
async fn start(backend: Backend) -> (TestStores, ManualClock, ServiceContext) {
    eprintln!("-- on {backend:?}");
    let stores = TestStores::new(backend).await;
    let clock = ManualClock::at(T0);
    let ctx = stores.context::<Campaigns>(&clock).await;
    (stores, clock, ctx)
}

/// A campaign from an hour after T0 for two days, created by the marketer.
async fn new_year(app: &App) -> pb::Campaign {
    let campaign = pb::Campaign {
        start_time: at(T0 + HOUR),
        end_time: at(T0 + 48 * HOUR),
        ..plan("New year")
    };
    let request = pb::CreateCampaignRequest {
        campaign: Some(campaign),
        request_id: String::new(),
    };
    let created = app.create_campaign(mk(request)).await;
    created.expect("create").into_inner()
}

fn at(micros: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp {
        seconds: micros / 1_000_000,
        nanos: 0,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_change_is_announced_with_its_payload() {
    for backend in Backend::all() {
        // The stores live as long as the test: dropped, they are removed.
        let (_stores, clock, ctx) = start(backend).await;
        let app = App::new(ctx.clone());

        let c = new_year(&app).await;
        app.submit_campaign(mk(pb::SubmitCampaignRequest {
            name: c.name.clone(),
            ..Default::default()
        }))
        .await
        .unwrap();
        app.approve_campaign(from(
            "mm-1",
            Role::Manager,
            pb::ApproveCampaignRequest {
                name: c.name.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
        app.record_campaign_cost(mk(pb::RecordCampaignCostRequest {
            parent: c.name.clone(),
            cost: Some(pb::CampaignCost {
                amount: money("CNY", 2_000),
                category: "printing".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        }))
        .await
        .unwrap();
        let coupons = app
            .issue_coupons(mk(pb::IssueCouponsRequest {
                parent: c.name.clone(),
                count: 2,
                amount_off: money("CNY", 500),
                expire_time: at(T0 + HOUR),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner()
            .coupons;
        let order = format!("orders/{}", uuid::Uuid::now_v7());
        let redeem = pb::RedeemCouponRequest {
            code: coupons[0].code.clone(),
            order: order.clone(),
            customer: format!("customers/{}", uuid::Uuid::now_v7()),
            order_amount: money("CNY", 9_000),
            request_id: String::new(),
        };
        app.redeem_coupon(from("rep-1", Role::Rep, redeem))
            .await
            .unwrap();
        app.release_coupon_redemption(from(
            "rep-1",
            Role::Rep,
            pb::ReleaseCouponRedemptionRequest {
                code: coupons[0].code.clone(),
                order,
                request_id: String::new(),
            },
        ))
        .await
        .unwrap();
        clock.advance(2 * HOUR);
        assert_eq!(sweeps::coupons::expire(&app).await.unwrap(), 2);
        assert_eq!(sweeps::coupons::expire(&app).await.unwrap(), 0, "each once");

        let events = outbox_events(&ctx.db).await;
        let kinds: Vec<(&str, &str, &str)> = events
            .iter()
            .map(|e| {
                (
                    e.r#type.trim_start_matches("rapport.campaigns.v1."),
                    e.subject.as_str(),
                    e.actor.as_str(),
                )
            })
            .collect();
        let (first, second) = (coupons[0].name.as_str(), coupons[1].name.as_str());
        let sweep = "rapport-campaigns/coupon-expiry";
        let expired: Vec<&str> = kinds
            .iter()
            .filter(|k| k.0 == "coupon.expired")
            .map(|k| k.1)
            .collect();
        assert_eq!(
            kinds[..8],
            [
                ("campaign.created", c.name.as_str(), "mk-1"),
                ("campaign.state_changed", c.name.as_str(), "mk-1"),
                ("campaign.state_changed", c.name.as_str(), "mm-1"),
                ("campaign.cost_recorded", c.name.as_str(), "mk-1"),
                ("coupon.issued", first, "mk-1"),
                ("coupon.issued", second, "mk-1"),
                ("coupon.redeemed", first, "rep-1"),
                ("coupon.released", first, "rep-1"),
            ]
        );
        assert_eq!(kinds.len(), 10);
        assert!(
            kinds[8..]
                .iter()
                .all(|k| k.0 == "coupon.expired" && k.2 == sweep)
        );
        let mut expired = expired;
        expired.sort();
        let mut both = vec![first, second];
        both.sort();
        assert_eq!(expired, both);

        // Each payload is the resource after the change.
        let payload = |i: usize| events[i].data.as_ref().expect("a payload");
        let approved = pb::CampaignChanged::decode(payload(2).value.as_slice())
            .unwrap()
            .campaign
            .unwrap();
        assert_eq!(approved.state, pb::CampaignState::Approved as i32);
        assert!(
            payload(2)
                .type_url
                .ends_with("rapport.campaigns.v1.CampaignChanged")
        );
        let cost = pb::CampaignCostRecorded::decode(payload(3).value.as_slice()).unwrap();
        assert_eq!(cost.campaign.unwrap().cost, money("CNY", 2_000));
        assert_eq!(cost.cost.unwrap().category, "printing");
        let redeemed = pb::CouponChanged::decode(payload(6).value.as_slice())
            .unwrap()
            .coupon
            .unwrap();
        assert_eq!(redeemed.state, pb::CouponState::Redeemed as i32);
        assert_eq!(redeemed.campaign, c.name);
        let last = pb::CouponChanged::decode(payload(9).value.as_slice())
            .unwrap()
            .coupon
            .unwrap();
        assert_eq!(last.state, pb::CouponState::Expired as i32);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_sweeping_at_once_expire_each_coupon_once() {
    for backend in Backend::all() {
        let (stores, clock, ctx) = start(backend).await;
        let (one, two) = (
            App::new(ctx.clone()),
            App::new(stores.context::<Campaigns>(&clock).await),
        );
        let c = new_year(&one).await;
        let issued = one
            .issue_coupons(mk(pb::IssueCouponsRequest {
                parent: c.name.clone(),
                count: 450,
                percent_off_basis_points: 500,
                expire_time: at(T0 + HOUR),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner()
            .coupons;
        assert_eq!(issued.len(), 450);
        clock.advance(2 * HOUR);
        let (a, b) = tokio::join!(sweeps::coupons::expire(&one), sweeps::coupons::expire(&two));
        assert_eq!(a.unwrap() + b.unwrap(), 450);
        let expired = outbox_events(&ctx.db)
            .await
            .into_iter()
            .filter(|e| e.r#type == "rapport.campaigns.v1.coupon.expired")
            .count();
        assert_eq!(expired, 450, "one event per coupon");
    }
}
