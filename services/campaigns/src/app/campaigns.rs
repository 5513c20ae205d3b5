//! Campaigns' use cases (CA1): create, read, list and change them, take them through their
//! lifecycle, and record their costs.

use rapport_kit::{names, query::Page, versioned};
use rapport_proto::campaigns as pb;
use rapport_runtime::{
    Error, Result,
    auth::{Principal, Role},
    storage::Idempotency,
    write::Write,
};
use uuid::Uuid;

use super::{App, events::EVENTS};
use crate::{
    convert::campaign::{NewCost, campaign_to_proto, cost_to_proto},
    domain::campaign::{Actor, CAMPAIGNS, Campaign, Cost, Refusal, State, Step},
    store::campaigns as store,
};

/// NOT_FOUND for campaign `id` (also another tenant's).
pub(crate) fn not_found(id: Uuid) -> Error {
    Error::not_found(names::format_id(CAMPAIGNS, id))
}

/// A refusal of a campaign as the caller's answer.
pub(crate) fn refused(r: Refusal) -> Error {
    match r {
        Refusal::ReasonRequired(_) => Error::invalid("reason", r.to_string()),
        Refusal::EndBeforeStart => Error::invalid("campaign.end_time", r.to_string()),
        Refusal::Currency(_) => Error::invalid("cost.amount.currency_code", r.to_string()),
        Refusal::OwnCampaign => Error::PermissionDenied(r.to_string()),
        Refusal::NotApproved(_) => Error::precondition("CAMPAIGN_NOT_APPROVED", r.to_string()),
        Refusal::NotFrom(..)
        | Refusal::Over(_)
        | Refusal::PlanLocked(_)
        | Refusal::NoMembers(_) => Error::precondition("CAMPAIGN_STATE", r.to_string()),
    }
}

/// Emits `campaign.<kind>` for `c`, whose answer is `out`.
fn announce(w: &mut Write, kind: &str, c: &Campaign, out: &pb::Campaign) {
    w.emit(
        &format!("campaign.{kind}"),
        c.name(),
        &pb::CampaignChanged {
            campaign: Some(out.clone()),
        },
    );
}

/// Creates a campaign as a DRAFT of `p`'s: owned by `p` and in its team unless it names
/// others.
pub async fn create(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    mut c: Campaign,
) -> Result<pb::Campaign> {
    let mut w = rapport_runtime::begin_write!(app.ctx, p, idem, EVENTS);
    let now = w.now();
    c.id = Uuid::now_v7();
    c.state = State::Draft;
    c.creator = p.subject.clone();
    if c.owner_id.is_empty() {
        c.owner_id = p.subject.clone();
    }
    if c.team_id.is_empty() {
        c.team_id = p.team_id.clone().unwrap_or_default();
    }
    c.create_time = now;
    c.update_time = now;
    c.state_change_time = now;
    c.version = 1;
    store::insert(w.tx(), &p.tenant_id, &c).await?;
    let out = campaign_to_proto(&c);
    announce(&mut w, "created", &c, &out);
    w.commit(out).await
}

/// Campaign `id` of the caller's tenant; another's reads as NOT_FOUND.
pub async fn get(app: &App, p: &Principal, id: Uuid) -> Result<Campaign> {
    let found = store::CAMPAIGN.read(app.db(), &p.tenant_id, id).await?;
    found.ok_or_else(|| not_found(id))
}

/// A page of the tenant's campaigns, newest first.
pub async fn list(
    app: &App,
    p: &Principal,
    filter: &store::Filter,
    page: &Page,
) -> Result<(Vec<Campaign>, String)> {
    let mut conn = app.db().pool().acquire().await?;
    let mut rows = store::list(&mut conn, &p.tenant_id, filter, page).await?;
    let next = page.next_token(&mut rows, store::cursor_of);
    Ok((rows, next))
}

/// Campaign `id` locked in `w`; NOT_FOUND when the tenant has none.
pub(crate) async fn lock(w: &mut Write, app: &App, id: Uuid) -> Result<Campaign> {
    let tenant = w.tenant().to_owned();
    store::CAMPAIGN
        .get(w.tx(), &tenant, id, Some(app.db().dialect()))
        .await?
        .ok_or_else(|| not_found(id))
}

/// Campaign `id` locked in `w`, after refusing a stale `etag`.
async fn load(w: &mut Write, app: &App, id: Uuid, etag: &str) -> Result<Campaign> {
    let current = lock(w, app, id).await?;
    versioned::check_etag(etag, &current)?;
    Ok(current)
}

/// Saves `next` over `current` in `w` and emits `campaign.<kind>`; commits.
async fn save(w: Write, kind: &str, current: &Campaign, next: Campaign) -> Result<pb::Campaign> {
    let announce = |w: &mut Write, c: &Campaign, out: &pb::Campaign| announce(w, kind, c, out);
    versioned::save(w, current, next, campaign_to_proto, announce).await
}

/// Changes a campaign's fields: `apply` sets those the caller named; `plan` says whether they
/// touch the plan, which changes only while a DRAFT or REJECTED.
pub async fn update(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    (id, etag): (Uuid, &str),
    plan: bool,
    apply: impl FnOnce(&mut Campaign),
) -> Result<pb::Campaign> {
    let mut w = rapport_runtime::begin_write!(app.ctx, p, idem, EVENTS);
    let current = load(&mut w, app, id, etag).await?;
    current.check_edit(plan).map_err(refused)?;
    let mut next = current.clone();
    apply(&mut next);
    next.check_plan().map_err(refused)?;
    save(w, "updated", &current, next).await
}

/// Takes `step` on campaign `id` (a `reason` for those that need one).
pub async fn take(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    (id, etag): (Uuid, &str),
    step: Step,
    reason: &str,
) -> Result<pb::Campaign> {
    let by = Actor {
        subject: &p.subject,
        admin: p.has_role(Role::Admin),
    };
    let mut w = rapport_runtime::begin_write!(app.ctx, p, idem, EVENTS);
    let current = load(&mut w, app, id, etag).await?;
    let mut next = current.clone();
    next.take(step, by, reason, w.now()).map_err(refused)?;
    save(w, "state_changed", &current, next).await
}

/// Records a cost of campaign `id`.
pub async fn record_cost(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    id: Uuid,
    new: NewCost,
) -> Result<pb::RecordCampaignCostResponse> {
    let mut w = rapport_runtime::begin_write!(app.ctx, p, idem, EVENTS);
    let mut campaign = lock(&mut w, app, id).await?;
    campaign
        .record_cost(&new.amount.currency_code, new.amount.minor_units)
        .map_err(refused)?;
    let cost = Cost {
        id: Uuid::now_v7(),
        campaign_id: id,
        amount: new.amount.minor_units,
        category: new.category,
        note: new.note,
        recorded_by: p.subject.clone(),
        create_time: w.now(),
    };
    store::add_cost(w.tx(), &p.tenant_id, &cost).await?;
    let out = pb::RecordCampaignCostResponse {
        campaign: Some(campaign_to_proto(&campaign)),
        cost: Some(cost_to_proto(&cost, &campaign.budget.currency_code)),
    };
    w.emit(
        "campaign.cost_recorded",
        campaign.name(),
        &pb::CampaignCostRecorded {
            campaign: out.campaign.clone(),
            cost: out.cost.clone(),
        },
    );
    w.commit(out).await
}
