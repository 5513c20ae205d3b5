//! Partners' use cases (PA1): create, read, list and change them, their lifecycle and
//! onboarding, what they brought, and the tenant's settings.

use rapport_kit::{names, query::Page, settings};
use rapport_proto::partners as pb;
use rapport_runtime::{
    Error, Result, auth::Principal, storage::Idempotency, validation::Violations, write::Write,
};
use uuid::Uuid;

use super::{App, EVENTS, Viewer, viewer};
use crate::{
    convert::{partner::partner_to_proto, settings::settings_to_proto},
    domain::{
        partner::{PARTNERS, Partner, Refusal, State},
        settings::{SETTINGS_NAME, Settings},
    },
    store::{
        attributions::{self, Attribution, Kind},
        partners as store,
    },
};

fn not_found(id: Uuid) -> Error {
    Error::not_found(names::format_id(PARTNERS, id))
}

/// A refusal of the lifecycle as the caller's answer.
fn refused(r: Refusal) -> Error {
    match r {
        Refusal::ReasonRequired(_) => Error::invalid("reason", r.to_string()),
        Refusal::NoSuchStep(_) => Error::invalid("key", r.to_string()),
        Refusal::NotFrom(..) => Error::precondition("PARTNER_STATE", r.to_string()),
        Refusal::StepsLeft(_) => Error::precondition("ONBOARDING_NOT_DONE", r.to_string()),
        Refusal::NotOnboarding(_) => Error::precondition("NOT_ONBOARDING", r.to_string()),
    }
}

/// Emits `partner.<kind>` for `p`; its answer.
fn emit(w: &mut Write, kind: &str, p: &Partner) -> pb::Partner {
    let out = partner_to_proto(p);
    w.emit(
        &format!("partner.{kind}"),
        p.name(),
        &pb::PartnerChanged {
            partner: Some(out.clone()),
        },
    );
    out
}

/// Creates a partner, as a prospect.
pub async fn create(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    mut partner: Partner,
) -> Result<pb::Partner> {
    let mut w = rapport_runtime::begin_write!(app.ctx, p, idem, EVENTS);
    let now = w.now();
    partner.id = Uuid::now_v7();
    partner.state = State::Prospect;
    partner.create_time = now;
    partner.update_time = now;
    partner.state_change_time = now;
    partner.version = 1;
    store::insert(w.tx(), &p.tenant_id, &partner).await?;
    let out = emit(&mut w, "created", &partner);
    w.commit(out).await
}

/// A partner the caller sees; another's reads as NOT_FOUND.
pub async fn get(app: &App, p: &Principal, id: Uuid) -> Result<Partner> {
    if !viewer(p).sees(id) {
        return Err(not_found(id));
    }
    let mut conn = app.db().pool().acquire().await?;
    store::get(&mut conn, &p.tenant_id, id, None)
        .await?
        .ok_or_else(|| not_found(id))
}

/// A page of the partners the caller sees.
pub async fn list(
    app: &App,
    p: &Principal,
    filter: &store::Filter,
    page: &Page,
) -> Result<(Vec<Partner>, String)> {
    let mut rows = match viewer(p) {
        Viewer::Staff => {
            let mut conn = app.db().pool().acquire().await?;
            store::list(&mut conn, &p.tenant_id, filter, page).await?
        }
        // A partner's list is itself, when it matches; one row, no further page.
        Viewer::Partner(id) => {
            let own = get(app, p, id).await.ok();
            own.filter(|x| {
                filter.state.is_none_or(|s| s == x.state)
                    && filter.kind.is_none_or(|k| k == x.kind)
                    && filter.tier_id.as_ref().is_none_or(|t| *t == x.tier_id)
                    && page.after.is_empty()
            })
            .into_iter()
            .collect()
        }
        Viewer::Nobody => Vec::new(),
    };
    let next = page.next_token(&mut rows, store::cursor_of);
    Ok((rows, next))
}

/// Loads partner `id` for a change in `w`, checking `etag` when given.
async fn load(w: &mut Write, app: &App, id: Uuid, etag: &str) -> Result<Partner> {
    let tenant = w.tenant().to_owned();
    let current = store::get(w.tx(), &tenant, id, Some(app.db().dialect()))
        .await?
        .ok_or_else(|| not_found(id))?;
    names::check_etag(
        etag,
        &names::etag(id.as_bytes(), current.version),
        &current.name(),
    )?;
    Ok(current)
}

/// Saves `next` over `current` in `w` and emits `partner.<kind>`; commits.
async fn save(
    mut w: Write,
    kind: &str,
    current: &Partner,
    mut next: Partner,
) -> Result<pb::Partner> {
    if next == *current {
        return w.commit(partner_to_proto(current)).await;
    }
    next.version = current.version + 1;
    next.update_time = w.now();
    let tenant = w.tenant().to_owned();
    if !store::update(w.tx(), &tenant, &next, current.version).await? {
        return Err(Error::stale_etag(&next.name()));
    }
    let out = emit(&mut w, kind, &next);
    w.commit(out).await
}

/// Changes a partner's own fields: `apply` sets those the caller named.
pub async fn update(
    app: &App,
    p: &Principal,
    id: Uuid,
    etag: &str,
    apply: impl FnOnce(&mut Partner),
) -> Result<pb::Partner> {
    let mut w = app.write(p).await?;
    let current = load(&mut w, app, id, etag).await?;
    let mut next = current.clone();
    apply(&mut next);
    save(w, "updated", &current, next).await
}

/// Moves a partner to `to`.
pub async fn change_state(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    id: Uuid,
    etag: &str,
    to: State,
    reason: &str,
) -> Result<pb::Partner> {
    let settings = app.settings(&p.tenant_id).await?;
    let mut w = rapport_runtime::begin_write!(app.ctx, p, idem, EVENTS);
    let current = load(&mut w, app, id, etag).await?;
    let mut next = current.clone();
    next.change_state(to, reason, &settings.onboarding_checklist, w.now())
        .map_err(refused)?;
    if to == State::Terminated {
        super::api_keys::revoke_all(&mut w, id).await?;
    }
    save(w, "state_changed", &current, next).await
}

/// Ticks off onboarding step `key` of partner `id`.
pub async fn complete_item(
    app: &App,
    p: &Principal,
    id: Uuid,
    etag: &str,
    key: &str,
) -> Result<pb::Partner> {
    let mut w = app.write(p).await?;
    let current = load(&mut w, app, id, etag).await?;
    let mut next = current.clone();
    next.complete(key, &p.subject, w.now()).map_err(refused)?;
    save(w, "updated", &current, next).await
}

/// A page of what partner `id` brought, when the caller sees it.
pub async fn attributions(
    app: &App,
    p: &Principal,
    id: Uuid,
    kind: Option<Kind>,
    page: &Page,
) -> Result<(Vec<Attribution>, String)> {
    get(app, p, id).await?;
    let mut conn = app.db().pool().acquire().await?;
    let mut rows = attributions::list(&mut conn, &p.tenant_id, id, kind, page).await?;
    let next = page.next_token(&mut rows, attributions::cursor_of);
    Ok((rows, next))
}

/// The tenant's settings as their resource.
pub async fn get_settings(app: &App, p: &Principal) -> Result<pb::PartnerSettings> {
    Ok(settings_to_proto(&app.settings(&p.tenant_id).await?))
}

/// Changes the tenant's settings: `apply` reads the caller's fields.
pub async fn update_settings(
    app: &App,
    p: &Principal,
    etag: &str,
    apply: impl FnOnce(&mut Settings, &mut Violations),
) -> Result<pb::PartnerSettings> {
    settings::update(app, p, (SETTINGS_NAME, etag), apply, settings_to_proto).await
}
