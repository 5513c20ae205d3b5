//! Coupons' use cases (CA7): issue them for a campaign, read them, redeem one for an order,
//! release a redemption, and expire them when their time has passed.

use std::collections::HashSet;

use rapport_kit::query::Page;
use rapport_proto::campaigns as pb;
use rapport_runtime::{
    Error, Result,
    auth::Principal,
    storage::Idempotency,
    write::{Begun, Write},
};

use super::{
    App,
    campaigns::{self, lock},
    events::EVENTS,
};
use crate::{
    convert::coupon::{Issue, coupon_to_proto},
    domain::{
        campaign::{Campaign, State as CampaignState},
        coupon::{COUPONS, Coupon, Order, Refusal, State, new_code},
    },
    store::{campaigns as campaign_store, coupons as store},
};

/// Rounds of new codes an issue draws for codes the tenant has already before it gives up:
/// with 50 random bits a code, one collision is already rare.
const CODE_ROUNDS: usize = 8;
/// Coupons the expiry sweep takes per transaction.
pub const EXPIRE_BATCH: u32 = 200;
/// Tenants the expiry sweep looks up per round.
const TENANTS_PER_ROUND: u32 = 100;
/// The actor of the expiry sweep's events.
const SWEEP: &str = "rapport-campaigns/coupon-expiry";

/// NOT_FOUND for `code`: an unknown code and another tenant's read alike.
fn not_found(code: &str) -> Error {
    Error::not_found(format!("{COUPONS}/{code}"))
}

/// A refusal of a coupon as the caller's answer. None names another order or customer.
fn refused(r: Refusal) -> Error {
    let reason = match r {
        Refusal::AlreadyRedeemed => "COUPON_ALREADY_REDEEMED",
        Refusal::Expired => "COUPON_EXPIRED",
        Refusal::OtherCustomer => "COUPON_NOT_FOR_CUSTOMER",
        Refusal::UnderMinimum { .. } => "COUPON_MINIMUM_NOT_MET",
        Refusal::Currency(_) => "COUPON_CURRENCY",
        Refusal::NotRedeemedFor(_) => "COUPON_NOT_REDEEMED_FOR_ORDER",
        Refusal::Void => "CAMPAIGN_CANCELLED",
    };
    Error::precondition(reason, r.to_string())
}

/// Emits `coupon.<kind>` for `c`; its answer.
fn emit(w: &mut Write, kind: &str, c: &Coupon) -> pb::Coupon {
    let out = coupon_to_proto(c);
    w.emit(
        &format!("coupon.{kind}"),
        c.name(),
        &pb::CouponChanged {
            coupon: Some(out.clone()),
        },
    );
    out
}

/// FAILED_PRECONDITION unless `c` still issues coupons: not completed or cancelled.
fn check_issuing(c: &Campaign) -> Result<()> {
    if c.state.is_final() {
        return Err(Error::precondition(
            "CAMPAIGN_STATE",
            format!(
                "{} is {} and issues no more coupons",
                c.name(),
                c.state.upper()
            ),
        ));
    }
    Ok(())
}

/// Checks, before any customer is looked up, that campaign `id` exists and issues coupons.
pub async fn check_campaign(app: &App, p: &Principal, id: uuid::Uuid) -> Result<()> {
    check_issuing(&campaigns::get(app, p, id).await?)
}

/// `n` new codes, none twice.
fn fresh_codes(n: usize) -> Vec<String> {
    let mut rng = rand::rng();
    let mut seen = HashSet::with_capacity(n);
    while seen.len() < n {
        seen.insert(new_code(&mut rng));
    }
    seen.into_iter().collect()
}

/// Issues the coupons `issue` asks for; bound ones in the order their customers were named.
pub async fn issue(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    mut issue: Issue,
) -> Result<pb::IssueCouponsResponse> {
    let mut w = rapport_runtime::begin_write!(app.ctx, p, idem, EVENTS);
    check_issuing(&lock(&mut w, app, issue.campaign_id).await?)?;
    issue.terms.issued_by = p.subject.clone();
    let now = w.now();
    let mut wanted: Vec<Option<uuid::Uuid>> = if issue.customers.is_empty() {
        vec![None; issue.count]
    } else {
        issue.customers.iter().copied().map(Some).collect()
    };
    let mut issued: Vec<Coupon> = Vec::with_capacity(wanted.len());
    // A code the tenant has already is skipped by the insert, and drawn again.
    for _ in 0..CODE_ROUNDS {
        if wanted.is_empty() {
            break;
        }
        let rows: Vec<(String, Option<uuid::Uuid>)> = fresh_codes(wanted.len())
            .into_iter()
            .zip(wanted.iter().copied())
            .collect();
        let inserted: HashSet<String> = store::insert_issued(
            w.tx(),
            &p.tenant_id,
            issue.campaign_id,
            &issue.terms,
            &rows,
            now,
        )
        .await?
        .into_iter()
        .collect();
        wanted.clear();
        for (code, customer_id) in rows {
            if inserted.contains(&code) {
                issued.push(Coupon {
                    code,
                    campaign_id: issue.campaign_id,
                    customer_id,
                    terms: issue.terms.clone(),
                    state: State::Issued,
                    redemption: None,
                    create_time: now,
                    update_time: now,
                });
            } else {
                wanted.push(customer_id);
            }
        }
    }
    if !wanted.is_empty() {
        return Err(Error::internal(format!(
            "{} coupon codes collided {CODE_ROUNDS} times",
            wanted.len()
        )));
    }
    if !issue.customers.is_empty() {
        let position = |c: &Coupon| {
            issue
                .customers
                .iter()
                .position(|x| Some(*x) == c.customer_id)
        };
        issued.sort_by_key(position);
    }
    let coupons = issued.iter().map(|c| emit(&mut w, "issued", c)).collect();
    w.commit(pb::IssueCouponsResponse { coupons }).await
}

/// The coupon `code` of the caller's tenant.
pub async fn get(app: &App, p: &Principal, code: &str) -> Result<Coupon> {
    let mut conn = app.db().pool().acquire().await?;
    store::get(&mut conn, &p.tenant_id, code, None)
        .await?
        .ok_or_else(|| not_found(code))
}

/// A page of the tenant's coupons, in the order they were issued.
pub async fn list(
    app: &App,
    p: &Principal,
    filter: &store::Filter,
    page: &Page,
) -> Result<(Vec<Coupon>, String)> {
    let mut conn = app.db().pool().acquire().await?;
    let mut rows = store::list(&mut conn, &p.tenant_id, filter, page).await?;
    let next = page.next_token(&mut rows, store::cursor_of);
    Ok((rows, next))
}

/// The coupon `code` locked in `w`.
async fn lock_coupon(w: &mut Write, code: &str) -> Result<Coupon> {
    let tenant = w.tenant().to_owned();
    let dialect = w.dialect();
    store::get(w.tx(), &tenant, code, Some(dialect))
        .await?
        .ok_or_else(|| not_found(code))
}

/// Redeems coupon `code` for `order`. Concurrent redemptions of one code take turns on its
/// row, so exactly one wins; the same order again is answered with its redemption.
pub async fn redeem(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    code: &str,
    order: &Order,
) -> Result<pb::Coupon> {
    // A redemption is keyed by its code and order already, so a repeated request id runs again
    // rather than answering from the record: while the coupon stays redeemed for that order
    // the answer is the same, and a redemption released since (its order was never written)
    // is redeemed anew instead of being reported as standing.
    let mut w = match app.ctx.begin_write::<pb::Coupon>(&p, idem, EVENTS).await? {
        Begun::Fresh(w) => *w,
        Begun::Replayed(_) => app.write(&p).await?,
    };
    let mut coupon = lock_coupon(&mut w, code).await?;
    let campaign = campaign_store::CAMPAIGN
        .get(w.tx(), &p.tenant_id, coupon.campaign_id, None)
        .await?;
    let void = campaign.is_none_or(|c| c.state == CampaignState::Cancelled);
    let was = coupon.state;
    if !coupon.redeem(order, void, w.now()).map_err(refused)? {
        return w.commit(coupon_to_proto(&coupon)).await;
    }
    if !store::update(w.tx(), &p.tenant_id, &coupon, was).await? {
        return Err(Error::internal("a locked coupon changed under its lock"));
    }
    let out = emit(&mut w, "redeemed", &coupon);
    w.commit(out).await
}

/// Undoes the redemption of coupon `code` for `order` in `w`, emitting `coupon.released`
/// when there was one; the coupon.
pub(crate) async fn release_in(w: &mut Write, code: &str, order: &str) -> Result<Coupon> {
    let mut coupon = lock_coupon(w, code).await?;
    let was = coupon.state;
    if coupon.release(order, w.now()).map_err(refused)? {
        let tenant = w.tenant().to_owned();
        store::update(w.tx(), &tenant, &coupon, was).await?;
        emit(w, "released", &coupon);
    }
    Ok(coupon)
}

/// Undoes the redemption of coupon `code` for `order`.
pub async fn release(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    code: &str,
    order: &str,
) -> Result<pb::Coupon> {
    let mut w = rapport_runtime::begin_write!(app.ctx, p, idem, EVENTS);
    let coupon = release_in(&mut w, code, order).await?;
    w.commit(coupon_to_proto(&coupon)).await
}

/// Tenants with coupons past their time, by the service clock.
pub async fn expiring_tenants(app: &App) -> Result<Vec<String>> {
    let mut conn = app.db().pool().acquire().await?;
    store::tenants_expiring(&mut conn, app.now(), TENANTS_PER_ROUND).await
}

/// Expires up to [`EXPIRE_BATCH`] of `tenant`'s coupons past their time, skipping those
/// another replica holds; how many it took (a full batch: more may be due).
pub async fn expire_batch(app: &App, tenant: &str) -> Result<usize> {
    let mut w = app.write(&Principal::system(tenant, SWEEP)).await?;
    let now = w.now();
    let due = store::lock_expiring(w.tx(), tenant, now, EXPIRE_BATCH).await?;
    for current in &due {
        let mut next = current.clone();
        // Conditional on the state: a coupon redeemed meanwhile stays redeemed.
        if next.expire(now) && store::update(w.tx(), tenant, &next, current.state).await? {
            emit(&mut w, "expired", &next);
        }
    }
    w.commit(()).await?;
    Ok(due.len())
}
