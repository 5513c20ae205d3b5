//! CouponService: issuing, reading, redeeming and releasing coupons.

use rapport_kit::{Reply, peer, reply, validate};
use rapport_proto::campaigns::{self as pb, coupon_service_server::CouponService};
use rapport_runtime::{Error, Result, error::both, storage::Idempotency, validation::Violations};
use tonic::Request;

use super::support::{CAMPAIGNERS, COUPON_READERS, REDEEMERS, authorize, page};
use crate::{
    app::{App, coupons},
    convert::coupon::{
        code, code_of_name, coupon_state, coupon_to_proto, order_name, parse_issue, parse_order,
    },
    domain::{campaign::CAMPAIGNS, coupon::COUPONS},
    store::coupons::Filter,
};

#[tonic::async_trait]
impl CouponService for App {
    async fn issue_coupons(
        &self,
        req: Request<pb::IssueCouponsRequest>,
    ) -> Reply<pb::IssueCouponsResponse> {
        reply(issue(self, req).await)
    }

    async fn get_coupon(&self, req: Request<pb::GetCouponRequest>) -> Reply<pb::Coupon> {
        reply(get(self, req).await)
    }

    async fn list_coupons(
        &self,
        req: Request<pb::ListCouponsRequest>,
    ) -> Reply<pb::ListCouponsResponse> {
        reply(list(self, req).await)
    }

    async fn redeem_coupon(&self, req: Request<pb::RedeemCouponRequest>) -> Reply<pb::Coupon> {
        reply(redeem(self, req).await)
    }

    async fn release_coupon_redemption(
        &self,
        req: Request<pb::ReleaseCouponRedemptionRequest>,
    ) -> Reply<pb::Coupon> {
        reply(release(self, req).await)
    }
}

async fn issue(
    app: &App,
    req: Request<pb::IssueCouponsRequest>,
) -> Result<pb::IssueCouponsResponse> {
    let p = authorize(&req, CAMPAIGNERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let issue = parse_issue(msg, app.now(), &mut v);
    let (idem, issue) = both(
        Idempotency::new(&p, "IssueCoupons", &msg.request_id, msg),
        v.finish(issue).map_err(Error::from),
    )?;
    // The campaign first, so no customer is looked up for a campaign that issues nothing.
    coupons::check_campaign(app, &p, issue.campaign_id).await?;
    peer::live_customers(&app.ctx.peers, &req, &issue.customers, "customers").await?;
    coupons::issue(app, p, idem, issue).await
}

async fn get(app: &App, req: Request<pb::GetCouponRequest>) -> Result<pb::Coupon> {
    let p = authorize(&req, COUPON_READERS)?;
    let mut v = Violations::new();
    let code = code_of_name(&mut v, "name", &req.get_ref().name);
    v.finish(())?;
    Ok(coupon_to_proto(&coupons::get(app, &p, &code).await?))
}

async fn list(app: &App, req: Request<pb::ListCouponsRequest>) -> Result<pb::ListCouponsResponse> {
    let p = authorize(&req, COUPON_READERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let campaign_id = validate::optional_id_in(CAMPAIGNS, &msg.campaign, "campaign", &mut v);
    let state = validate::optional_enum(&mut v, "state", msg.state, coupon_state, "CouponState");
    let state_key = msg.state.to_string();
    let (filter, page) = both(
        v.finish(Filter { campaign_id, state }).map_err(Error::from),
        page(
            &p,
            &[COUPONS, msg.campaign.trim(), &state_key],
            msg.page_size,
            &msg.page_token,
        ),
    )?;
    let (rows, next_page_token) = coupons::list(app, &p, &filter, &page).await?;
    Ok(pb::ListCouponsResponse {
        coupons: rows.iter().map(coupon_to_proto).collect(),
        next_page_token,
    })
}

async fn redeem(app: &App, req: Request<pb::RedeemCouponRequest>) -> Result<pb::Coupon> {
    let p = authorize(&req, REDEEMERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let code = code(&mut v, "code", &msg.code);
    let order = parse_order(msg, &mut v);
    let (idem, order) = both(
        Idempotency::new(&p, "RedeemCoupon", &msg.request_id, msg),
        v.finish(order).map_err(Error::from),
    )?;
    coupons::redeem(app, p, idem, &code, &order).await
}

async fn release(
    app: &App,
    req: Request<pb::ReleaseCouponRedemptionRequest>,
) -> Result<pb::Coupon> {
    let p = authorize(&req, REDEEMERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let code = code(&mut v, "code", &msg.code);
    let order = order_name(&mut v, "order", &msg.order);
    let (idem, order) = both(
        Idempotency::new(&p, "ReleaseCouponRedemption", &msg.request_id, msg),
        v.finish(order).map_err(Error::from),
    )?;
    coupons::release(app, p, idem, &code, &order).await
}
