//! Deal registrations' use cases (PA3): register, read, find conflicts, decide, and the
//! registration's life after: converted with its lead, or lapsed at expiry.

use rapport_kit::{names, query::Page};
use rapport_proto::partners as pb;
use rapport_runtime::{
    Error, Result,
    auth::Principal,
    storage::{Idempotency, key_slots},
    write::Write,
};
use uuid::Uuid;

use super::{App, EVENTS, Viewer, viewer};
use crate::{
    convert::registration::registration_to_proto,
    domain::{
        partner::PARTNERS,
        registration::{Conflict, REGISTRATIONS, Refusal, Registration, State},
    },
    store::{partners, registrations as store},
};

fn not_found(id: Uuid) -> Error {
    Error::not_found(names::format_id(REGISTRATIONS, id))
}

fn refused(r: Refusal) -> Error {
    match r {
        Refusal::Decided(_) => Error::precondition("REGISTRATION_DECIDED", r.to_string()),
        Refusal::Conflicts(_) => Error::precondition("REGISTRATION_CONFLICTS", r.to_string()),
    }
}

/// Emits `registration.<kind>` for `r`; its answer.
fn emit(w: &mut Write, kind: &str, r: &Registration) -> pb::Registration {
    let out = registration_to_proto(r);
    w.emit(
        &format!("registration.{kind}"),
        r.name(),
        &pb::RegistrationChanged {
            registration: Some(out.clone()),
        },
    );
    out
}

/// The partner a caller registers for: a partner itself; staff the one they name.
pub fn registrant(p: &Principal, named: Option<Uuid>) -> Result<Uuid> {
    let unseen = |name: String| {
        Error::invalid(
            "registration.partner",
            format!("{name} does not exist or you may not see it"),
        )
    };
    match (viewer(p), named) {
        (Viewer::Staff, Some(id)) => Ok(id),
        (Viewer::Staff, None) => Err(Error::invalid(
            "registration.partner",
            "is required: the partner you register for",
        )),
        (Viewer::Partner(own), None) => Ok(own),
        (Viewer::Partner(own), Some(id)) if id == own => Ok(own),
        (_, Some(id)) => Err(unseen(names::format_id(PARTNERS, id))),
        (Viewer::Nobody, None) => Err(Error::PermissionDenied(
            "this credential is bound to no partner".into(),
        )),
    }
}

/// Registers a deal for `partner`; conflicts with other registrations are found at once.
pub async fn create(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    partner: Uuid,
    mut r: Registration,
) -> Result<pb::Registration> {
    let settings = app.settings(&p.tenant_id).await?;
    let keys = r.match_keys();
    // Two registrations of one prospect at once see each other.
    let locks = key_slots(
        &format!("registration-keys/{}", p.tenant_id),
        keys.iter().map(String::as_str),
    );
    let mut w = rapport_runtime::begin_write!(app.ctx, p, idem, EVENTS, locks);
    let holder = partners::get(w.tx(), &p.tenant_id, partner, None)
        .await?
        .ok_or_else(|| {
            Error::invalid(
                "registration.partner",
                format!(
                    "{} does not exist or you may not see it",
                    names::format_id(PARTNERS, partner)
                ),
            )
        })?;
    if !holder.registers() {
        return Err(Error::precondition(
            "PARTNER_NOT_ACTIVE",
            format!(
                "{} is {}; only an ACTIVE partner registers deals",
                holder.name(),
                holder.state.as_str().to_uppercase()
            ),
        ));
    }
    let now = w.now();
    r.id = Uuid::now_v7();
    r.partner_id = partner;
    r.state = State::Submitted;
    r.approve_by = now.saturating_add(settings.approval_micros());
    r.create_time = now;
    r.update_time = now;
    r.version = 1;
    let others = store::sharing(w.tx(), &p.tenant_id, &keys).await?;
    r.conflicts = others.iter().filter_map(|o| r.conflict_with(o)).collect();
    store::insert(w.tx(), &p.tenant_id, &r).await?;
    let out = emit(&mut w, "submitted", &r);
    w.commit(out).await
}

/// A registration the caller sees; a partner sees only its own.
pub async fn get(app: &App, p: &Principal, id: Uuid) -> Result<Registration> {
    let mut conn = app.db().pool().acquire().await?;
    let r = store::get(&mut conn, &p.tenant_id, id, None)
        .await?
        .ok_or_else(|| not_found(id))?;
    if !viewer(p).sees(r.partner_id) {
        return Err(not_found(id));
    }
    Ok(r)
}

/// A page of the registrations the caller sees, newest first.
pub async fn list(
    app: &App,
    p: &Principal,
    mut filter: store::Filter,
    page: &Page,
) -> Result<(Vec<Registration>, String)> {
    match viewer(p) {
        Viewer::Staff => {}
        Viewer::Partner(own) if filter.partner.is_none_or(|x| x == own) => {
            filter.partner = Some(own)
        }
        // Another partner's, or no partner at all: nothing.
        _ => return Ok((Vec::new(), String::new())),
    }
    let mut conn = app.db().pool().acquire().await?;
    let mut rows = store::list(&mut conn, &p.tenant_id, &filter, page).await?;
    let next = page.next_token(&mut rows, store::cursor_of);
    Ok((rows, next))
}

/// Loads registration `id` for a decision in `w`, checking `etag` when given.
async fn load(w: &mut Write, app: &App, id: Uuid, etag: &str) -> Result<Registration> {
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

/// Saves `next` over `current` in `w` and emits `registration.<kind>`; commits.
async fn save(
    mut w: Write,
    kind: &str,
    current: &Registration,
    mut next: Registration,
) -> Result<pb::Registration> {
    next.version = current.version + 1;
    next.update_time = w.now();
    let tenant = w.tenant().to_owned();
    if !store::update(w.tx(), &tenant, &next, current.version).await? {
        return Err(Error::stale_etag(&next.name()));
    }
    let out = emit(&mut w, kind, &next);
    w.commit(out).await
}

/// Records the conflicts found now: those with other registrations, found again, and
/// `outside` (the leads and customers the caller's check found).
pub async fn record_conflicts(
    app: &App,
    p: &Principal,
    id: Uuid,
    outside: Vec<Conflict>,
) -> Result<pb::Registration> {
    let mut w = app.write(p).await?;
    let current = load(&mut w, app, id, "").await?;
    let others = store::sharing(w.tx(), &p.tenant_id, &current.match_keys()).await?;
    let mut next = current.clone();
    next.conflicts = others
        .iter()
        .filter_map(|o| current.conflict_with(o))
        .chain(outside)
        .collect();
    if next.conflicts == current.conflicts {
        return w.commit(registration_to_proto(&current)).await;
    }
    save(w, "conflicts_checked", &current, next).await
}

/// Approves registration `id`: it holds for the settings' registration days, and its lead,
/// named now, is made by the leads service from the `registration.approved` event.
pub async fn approve(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    id: Uuid,
    etag: &str,
    override_conflicts: bool,
) -> Result<pb::Registration> {
    let settings = app.settings(&p.tenant_id).await?;
    let mut w = rapport_runtime::begin_write!(app.ctx, p, idem, EVENTS);
    let current = load(&mut w, app, id, etag).await?;
    let mut next = current.clone();
    let now = w.now();
    next.approve(
        &p.subject,
        override_conflicts,
        Uuid::now_v7(),
        settings.registration_micros(),
        now,
    )
    .map_err(refused)?;
    save(w, "approved", &current, next).await
}

/// Rejects registration `id` with `reason`.
pub async fn reject(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    id: Uuid,
    etag: &str,
    reason: &str,
) -> Result<pb::Registration> {
    let mut w = rapport_runtime::begin_write!(app.ctx, p, idem, EVENTS);
    let current = load(&mut w, app, id, etag).await?;
    let mut next = current.clone();
    next.reject(&p.subject, reason, w.now()).map_err(refused)?;
    save(w, "rejected", &current, next).await
}

/// The registration whose lead `lead` was converted: CONVERTED, in `w`, if it was approved.
pub async fn lead_converted(w: &mut Write, lead: Uuid) -> Result<()> {
    let tenant = w.tenant().to_owned();
    let Some(current) = store::by_lead(w.tx(), &tenant, lead).await? else {
        return Ok(());
    };
    if current.state != State::Approved {
        return Ok(());
    }
    let mut next = current.clone();
    next.state = State::Converted;
    next.version = current.version + 1;
    next.update_time = w.now();
    if !store::update(w.tx(), &tenant, &next, current.version).await? {
        return Err(Error::stale_etag(&next.name()));
    }
    emit(w, "converted", &next);
    Ok(())
}

/// How many expired registrations one transaction of the lapse sweep takes.
pub const LAPSE_BATCH: usize = 100;

/// Lapses up to [`LAPSE_BATCH`] of `tenant`'s approved registrations expired now, skipping
/// those another replica holds; how many it took (a full batch: more may be due).
pub async fn lapse_batch(app: &App, tenant: &str) -> Result<usize> {
    let system = Principal::system(tenant, "system");
    let mut w = app.write(&system).await?;
    let now = w.now();
    let rows = store::lock_expired(w.tx(), tenant, now).await?;
    for current in &rows {
        if !current.lapses_at(now) {
            continue;
        }
        let mut next = current.clone();
        next.state = State::Lapsed;
        next.version = current.version + 1;
        next.update_time = now;
        // Conditional on the version: a registration converted meanwhile stays converted.
        if store::update(w.tx(), tenant, &next, current.version).await? {
            emit(&mut w, "lapsed", &next);
        }
    }
    w.commit(()).await?;
    Ok(rows.len())
}

/// Tenants with expired approved registrations now.
pub async fn expiring_tenants(app: &App) -> Result<Vec<String>> {
    let mut conn = app.db().pool().acquire().await?;
    store::tenants_expiring(&mut conn, app.now()).await
}
