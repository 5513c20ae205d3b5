//! Every method against the callers it refuses, on every backend: a role it does not take
//! (PERMISSION_DENIED), another tenant (NOT_FOUND, as if nothing were there), and a request id
//! reused for another request (INVALID_ARGUMENT, REQUEST_ID_REUSED).

use rapport_proto::campaigns as pb;
use rapport_runtime::auth::Role;
use rapport_testkit::{TestServer, each_backend};
use tonic::{Code, Status};

use crate::common::*;

/// What every test here works on: an approved campaign, the name of a customer's membership of
/// it, and a coupon of it redeemed for an order.
async fn scene(s: &TestServer) -> (pb::Campaign, String, pb::Coupon) {
    let campaign = approved(s, "Lantern fair").await;
    let wang = customer(s, "Wang Fang", "+8613800000001").await;
    marketer(s)
        .campaigns
        .invite_campaign_members(pb::InviteCampaignMembersRequest {
            parent: campaign.name.clone(),
            customers: vec![wang.clone()],
            request_id: String::new(),
        })
        .await
        .expect("invite");
    let member = format!(
        "{}/members/{}",
        campaign.name,
        wang.trim_start_matches("customers/")
    );
    let issued = issue(s, &campaign.name, 1, 1_000, 0).await.remove(0);
    let coupon = redeem(&mut rep(s), &issued.code, &some_order(), &wang, 5_000)
        .await
        .expect("redeem");
    (campaign, member, coupon)
}

fn respond(name: &str, request_id: &str) -> pb::RecordCampaignResponseRequest {
    pb::RecordCampaignResponseRequest {
        name: name.into(),
        response: pb::MemberResponse::Accepted.into(),
        request_id: request_id.into(),
    }
}

fn attend(name: &str, request_id: &str) -> pb::RecordCampaignAttendanceRequest {
    pb::RecordCampaignAttendanceRequest {
        name: name.into(),
        request_id: request_id.into(),
    }
}

fn release(c: &pb::Coupon, request_id: &str) -> pb::ReleaseCouponRedemptionRequest {
    pb::ReleaseCouponRedemptionRequest {
        code: c.code.clone(),
        order: c.order.clone(),
        request_id: request_id.into(),
    }
}

fn edit(c: &pb::Campaign, description: &str, request_id: &str) -> pb::UpdateCampaignRequest {
    update_request(
        pb::Campaign {
            name: c.name.clone(),
            description: description.into(),
            ..Default::default()
        },
        &["description"],
        request_id,
    )
}

fn reject(c: &pb::Campaign) -> pb::RejectCampaignRequest {
    pb::RejectCampaignRequest {
        name: c.name.clone(),
        reason: "no".into(),
        ..Default::default()
    }
}

fn complete(c: &pb::Campaign) -> pb::CompleteCampaignRequest {
    pb::CompleteCampaignRequest {
        name: c.name.clone(),
        ..Default::default()
    }
}

fn invite(c: &pb::Campaign, customer: &str) -> pb::InviteCampaignMembersRequest {
    pb::InviteCampaignMembersRequest {
        parent: c.name.clone(),
        customers: vec![customer.to_owned()],
        request_id: String::new(),
    }
}

fn refused<T: std::fmt::Debug>(answer: Result<tonic::Response<T>, Status>, code: Code) {
    assert_code(answer, code);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_method_refuses_the_roles_it_does_not_take() {
    each_backend(&services(), async |s| {
        let (c, member, coupon) = scene(s).await;
        let denied = Code::PermissionDenied;
        // A partner's credential reads no campaigns; reps read coupons only by redeeming.
        let mut partner = clients_with(s, s.auth("t1", "partners/p-1", &[Role::Partner]));
        let get = pb::GetCampaignRequest {
            name: c.name.clone(),
        };
        refused(partner.campaigns.get_campaign(get).await, denied);
        let list = pb::ListCampaignsRequest::default();
        refused(partner.campaigns.list_campaigns(list).await, denied);
        let members = pb::ListCampaignMembersRequest {
            parent: c.name.clone(),
            ..Default::default()
        };
        refused(
            partner.campaigns.list_campaign_members(members).await,
            denied,
        );
        // Reps and service agents neither plan, run, decide nor record.
        let mut agent = clients_with(s, s.auth("t1", "sa-1", &[Role::ServiceAgent]));
        for who in [&mut rep(s), &mut agent] {
            let x = &mut who.campaigns;
            refused(x.update_campaign(edit(&c, "mine", "")).await, denied);
            refused(x.reject_campaign(reject(&c)).await, denied);
            refused(x.complete_campaign(complete(&c)).await, denied);
            assert_code(start(who, &c.name).await, denied);
            assert_code(cancel(who, &c.name, "mine").await, denied);
            let x = &mut who.campaigns;
            let invite = invite(&c, &coupon.order_customer);
            refused(x.invite_campaign_members(invite).await, denied);
            refused(
                x.record_campaign_response(respond(&member, "")).await,
                denied,
            );
            refused(
                x.record_campaign_attendance(attend(&member, "")).await,
                denied,
            );
        }
        // Service agents and marketers create no orders: they neither redeem nor release.
        let order = some_order();
        let customer = coupon.order_customer.clone();
        assert_code(
            redeem(&mut agent, &coupon.code, &order, &customer, 5_000).await,
            denied,
        );
        let mut mk = marketer(s);
        refused(
            mk.coupons
                .release_coupon_redemption(release(&coupon, ""))
                .await,
            denied,
        );
        // Nothing of it changed anything.
        assert_eq!(get_campaign(s, &c.name).await.etag, c.etag);
    })
    .await;
}

async fn get_campaign(s: &TestServer, name: &str) -> pb::Campaign {
    get(&mut admin(s), name).await.expect("get")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn another_tenant_finds_nothing_to_change() {
    each_backend(&services(), async |s| {
        let (c, member, coupon) = scene(s).await;
        let mut them = stranger(s);
        let missing = Code::NotFound;
        assert_code(submit(&mut them, &c.name).await, missing);
        let x = &mut them.campaigns;
        refused(x.reject_campaign(reject(&c)).await, missing);
        refused(x.complete_campaign(complete(&c)).await, missing);
        let invite = invite(&c, &coupon.order_customer);
        // Their customer list is theirs: ours reads as absent there, but the campaign is
        // looked for first.
        refused(x.invite_campaign_members(invite).await, missing);
        refused(
            x.record_campaign_response(respond(&member, "")).await,
            missing,
        );
        let y = &mut them.coupons;
        refused(
            y.release_coupon_redemption(release(&coupon, "")).await,
            missing,
        );
        let list = y
            .list_coupons(pb::ListCouponsRequest {
                campaign: c.name.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(list.coupons.is_empty());
        let ours = get_campaign(s, &c.name).await;
        assert_eq!(ours.etag, c.etag);
        assert_eq!(ours.results.map(|r| r.responded), Some(0));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_request_id_reused_for_another_request_is_refused() {
    each_backend(&services(), async |s| {
        let (c, member, coupon) = scene(s).await;
        let reused = |answer: Status| assert_eq!(reason(&answer), "REQUEST_ID_REUSED");
        let mut mk = marketer(s);
        let x = &mut mk.campaigns;
        x.update_campaign(edit(&c, "one", "u-1")).await.unwrap();
        reused(assert_code(
            x.update_campaign(edit(&c, "two", "u-1")).await,
            Code::InvalidArgument,
        ));
        x.record_campaign_response(respond(&member, "r-1"))
            .await
            .unwrap();
        let declined = pb::RecordCampaignResponseRequest {
            response: pb::MemberResponse::Declined.into(),
            ..respond(&member, "r-1")
        };
        reused(assert_code(
            x.record_campaign_response(declined).await,
            Code::InvalidArgument,
        ));
        x.record_campaign_attendance(attend(&member, "a-1"))
            .await
            .unwrap();
        let other = format!("{}/members/{}", c.name, uuid::Uuid::now_v7());
        reused(assert_code(
            x.record_campaign_attendance(attend(&other, "a-1")).await,
            Code::InvalidArgument,
        ));
        let start_once = |etag: &str| pb::StartCampaignRequest {
            name: c.name.clone(),
            etag: etag.into(),
            request_id: "s-1".into(),
        };
        x.start_campaign(start_once("")).await.unwrap();
        reused(assert_code(
            x.start_campaign(start_once(&c.etag)).await,
            Code::InvalidArgument,
        ));
        let cancel_once = |reason: &str| pb::CancelCampaignRequest {
            name: c.name.clone(),
            reason: reason.into(),
            etag: String::new(),
            request_id: "c-1".into(),
        };
        x.cancel_campaign(cancel_once("rain")).await.unwrap();
        reused(assert_code(
            x.cancel_campaign(cancel_once("snow")).await,
            Code::InvalidArgument,
        ));
        let mut r = rep(s);
        r.coupons
            .release_coupon_redemption(release(&coupon, "l-1"))
            .await
            .unwrap();
        let elsewhere = pb::ReleaseCouponRedemptionRequest {
            order: some_order(),
            ..release(&coupon, "l-1")
        };
        reused(assert_code(
            r.coupons.release_coupon_redemption(elsewhere).await,
            Code::InvalidArgument,
        ));
    })
    .await;
}
