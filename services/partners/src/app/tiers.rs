//! Tiers' use cases (PA2): define them, and evaluate partners against them, on demand and in
//! the daily sweep, recording every change and why.

use rapport_kit::{names, query::Page};
use rapport_proto::partners as pb;
use rapport_runtime::{Error, Result, auth::Principal, storage::Idempotency, write::Write};
use uuid::Uuid;

use super::{App, EVENTS, Viewer, partners, viewer};
use crate::{
    convert::{
        partner::partner_to_proto,
        tier::{change_to_proto, tier_to_proto},
    },
    domain::{
        partner::{PARTNERS, Partner, State},
        settings::Settings,
        tier::{self, Stats, TIERS, Tier},
    },
    store::{
        attributions, partners as partner_store, registrations,
        tiers::{self as store, Change},
    },
};

fn not_found(id: Uuid) -> Error {
    Error::not_found(names::format_id(TIERS, id))
}

/// ALREADY_EXISTS when another tier holds `t`'s rank.
async fn check_rank(w: &mut Write, t: &Tier) -> Result<()> {
    let tenant = w.tenant().to_owned();
    if let Some(holder) = store::rank_holder(w.tx(), &tenant, t.rank, t.id).await? {
        return Err(Error::AlreadyExists {
            reason: "TIER_RANK_TAKEN",
            message: format!("rank {} is taken by {TIERS}/{holder}", t.rank),
            existing: names::format_id(TIERS, holder),
            metadata: Vec::new(),
        });
    }
    Ok(())
}

/// Emits `tier.<kind>` for `t`; its answer.
fn emit(w: &mut Write, kind: &str, t: &Tier) -> pb::Tier {
    let out = tier_to_proto(t);
    w.emit(
        &format!("tier.{kind}"),
        t.name(),
        &pb::TierChanged {
            tier: Some(out.clone()),
        },
    );
    out
}

/// Creates a tier.
pub async fn create(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    mut t: Tier,
) -> Result<pb::Tier> {
    let mut w = rapport_runtime::begin_write!(app.ctx, p, idem, EVENTS);
    let now = w.now();
    t.id = Uuid::now_v7();
    t.create_time = now;
    t.update_time = now;
    t.version = 1;
    check_rank(&mut w, &t).await?;
    store::insert(w.tx(), &p.tenant_id, &t).await?;
    let out = emit(&mut w, "created", &t);
    w.commit(out).await
}

/// The tier id a partner caller holds, if it is one.
async fn own_tier(app: &App, p: &Principal) -> Result<Option<String>> {
    match viewer(p) {
        Viewer::Staff => Ok(None),
        Viewer::Partner(id) => Ok(Some(
            partners::get(app, p, id)
                .await
                .map(|x| x.tier_id)
                .unwrap_or_default(),
        )),
        Viewer::Nobody => Ok(Some(String::new())),
    }
}

/// A tier the caller sees: staff every tier, a partner only its own.
pub async fn get(app: &App, p: &Principal, id: Uuid) -> Result<Tier> {
    if let Some(own) = own_tier(app, p).await?
        && own != id.to_string()
    {
        return Err(not_found(id));
    }
    let mut conn = app.db().pool().acquire().await?;
    store::get(&mut conn, &p.tenant_id, id, None)
        .await?
        .ok_or_else(|| not_found(id))
}

/// A page of the tiers the caller sees, highest rank first.
pub async fn list(app: &App, p: &Principal, page: &Page) -> Result<(Vec<Tier>, String)> {
    let mut rows = {
        let mut conn = app.db().pool().acquire().await?;
        store::list(&mut conn, &p.tenant_id, page).await?
    };
    if let Some(own) = own_tier(app, p).await? {
        rows.retain(|t| t.id.to_string() == own);
    }
    let next = page.next_token(&mut rows, store::cursor_of);
    Ok((rows, next))
}

/// Changes a tier: `apply` sets the fields the caller named.
pub async fn update(
    app: &App,
    p: &Principal,
    id: Uuid,
    etag: &str,
    apply: impl FnOnce(&mut Tier),
) -> Result<pb::Tier> {
    let mut w = app.write(p).await?;
    let current = store::get(w.tx(), &p.tenant_id, id, Some(app.db().dialect()))
        .await?
        .ok_or_else(|| not_found(id))?;
    names::check_etag(
        etag,
        &names::etag(id.as_bytes(), current.version),
        &current.name(),
    )?;
    let mut next = current.clone();
    apply(&mut next);
    if next == current {
        return Ok(tier_to_proto(&current));
    }
    check_rank(&mut w, &next).await?;
    next.version = current.version + 1;
    next.update_time = w.now();
    if !store::update(w.tx(), &p.tenant_id, &next, current.version).await? {
        return Err(Error::stale_etag(&next.name()));
    }
    let out = emit(&mut w, "updated", &next);
    w.commit(out).await
}

/// A partner's numbers over the window ending now.
async fn stats(w: &mut Write, partner: Uuid, settings: &Settings) -> Result<Stats> {
    let tenant = w.tenant().to_owned();
    let since = w.now().saturating_sub(settings.window_micros());
    let sales = attributions::sales_since(w.tx(), &tenant, partner, since).await?;
    let (decided, approved, converted) =
        registrations::decided_since(w.tx(), &tenant, partner, since).await?;
    Ok(Stats {
        sales,
        decided,
        approved,
        converted,
    })
}

/// Evaluates partner `id` in `w` against `tiers`, as `actor`: when its tier changes, records
/// the change and emits `partner.tier_changed`. The partner after, and whether it changed.
async fn evaluate_in(
    w: &mut Write,
    app: &App,
    id: Uuid,
    tiers: &[Tier],
    settings: &Settings,
    actor: &str,
) -> Result<(Partner, bool)> {
    let tenant = w.tenant().to_owned();
    let current = partner_store::get(w.tx(), &tenant, id, Some(app.db().dialect()))
        .await?
        .ok_or_else(|| Error::not_found(names::format_id(PARTNERS, id)))?;
    let stats = stats(w, id, settings).await?;
    let (earned, reason) = tier::evaluate(tiers, &stats);
    let to = earned.map(|t| t.id.to_string()).unwrap_or_default();
    if to == current.tier_id {
        return Ok((current, false));
    }
    let now = w.now();
    let mut next = current.clone();
    next.tier_id = to.clone();
    next.version = current.version + 1;
    next.update_time = now;
    if !partner_store::update(w.tx(), &tenant, &next, current.version).await? {
        return Err(Error::stale_etag(&next.name()));
    }
    let change = Change {
        id: Uuid::now_v7(),
        partner_id: id,
        from_tier: current.tier_id.clone(),
        to_tier: to,
        reason,
        actor: actor.to_owned(),
        create_time: now,
    };
    store::insert_change(w.tx(), &tenant, &change).await?;
    w.emit(
        "partner.tier_changed",
        next.name(),
        &pb::PartnerTierChanged {
            partner: next.name(),
            change: Some(change_to_proto(&change)),
        },
    );
    Ok((next, true))
}

/// Evaluates one partner now, for a caller.
pub async fn evaluate(app: &App, p: &Principal, id: Uuid) -> Result<pb::Partner> {
    let settings = app.settings(&p.tenant_id).await?;
    let mut w = app.write(p).await?;
    let tiers = store::all(w.tx(), &p.tenant_id).await?;
    let (after, _) = evaluate_in(&mut w, app, id, &tiers, &settings, &p.subject).await?;
    if after.state == State::Terminated {
        return Err(Error::precondition(
            "PARTNER_STATE",
            "a terminated partner is not evaluated",
        ));
    }
    w.commit(partner_to_proto(&after)).await
}

/// How many partners one transaction of the sweep evaluates.
const PER_BATCH: i64 = 50;

/// How long a replica holds a tenant's evaluation before another may take it over: a replica
/// that stops midway delays the evaluation this long, never a day.
const LEASE: i64 = 10 * 60 * 1_000_000;

/// Moves `tenant`'s next evaluation to `next` if it is due at `now`; whether this call did.
async fn claim(app: &App, system: &Principal, tenant: &str, next: i64) -> Result<bool> {
    let mut w = app.write(system).await?;
    let now = w.now();
    let claimed = store::claim_evaluation(w.tx(), tenant, now, next.max(now)).await?;
    w.commit(()).await?;
    Ok(claimed)
}

/// Evaluates every active partner of `tenant` if its evaluation is due and no other replica
/// holds it, then schedules the next one `every` later; how many partners' tiers changed.
pub async fn evaluate_tenant(app: &App, tenant: &str, every: i64) -> Result<usize> {
    let system = Principal::system(tenant, "system");
    if !claim(app, &system, tenant, app.now() + LEASE).await? {
        return Ok(0);
    }
    let settings = app.settings(tenant).await?;
    let mut changed = 0;
    let mut after = String::new();
    loop {
        let mut w = app.write(&system).await?;
        let ids = partner_store::active_after(w.tx(), tenant, &after, PER_BATCH).await?;
        let tiers = store::all(w.tx(), tenant).await?;
        for id in &ids {
            changed += usize::from(
                evaluate_in(&mut w, app, *id, &tiers, &settings, "system")
                    .await?
                    .1,
            );
        }
        w.commit(()).await?;
        match ids.last() {
            Some(last) if ids.len() as i64 == PER_BATCH => after = last.to_string(),
            _ => break,
        }
    }
    let mut w = app.write(&system).await?;
    let now = w.now();
    store::schedule_evaluation(w.tx(), tenant, now + every).await?;
    w.commit(()).await?;
    Ok(changed)
}

/// A page of partner `id`'s tier changes, when the caller sees it.
pub async fn changes(
    app: &App,
    p: &Principal,
    id: Uuid,
    page: &Page,
) -> Result<(Vec<Change>, String)> {
    partners::get(app, p, id).await?;
    let mut conn = app.db().pool().acquire().await?;
    let mut rows = store::changes(&mut conn, &p.tenant_id, id, page).await?;
    let next = page.next_token(&mut rows, store::change_cursor);
    Ok((rows, next))
}

/// Tenants whose evaluation is due now.
pub async fn tenants(app: &App) -> Result<Vec<String>> {
    let mut conn = app.db().pool().acquire().await?;
    store::tenants_due(&mut conn, app.now()).await
}
