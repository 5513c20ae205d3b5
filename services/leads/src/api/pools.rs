//! Public and private pools (LE5) and assignment (LE6): claim, release, lock, assign, hand over.
//! Capacity and daily limits are enforced by conditional updates of the rep's counters in the
//! same transaction as the lead's change, and the lead is locked first, so a lead is never
//! assigned twice and no rep goes over its capacity, whatever the concurrency.

use rapport_kit::{
    names,
    query::{CursorValue, Page},
};
use rapport_proto::leads as pb;
use rapport_runtime::storage::Idempotency;
use rapport_runtime::{Error, Result, clock::Micros, storage::Tx, write::Write};
use tonic::Request;
use uuid::Uuid;

use super::{
    convert::{
        lead::{assignment_to_proto, lead_to_proto},
        lead_settings::strategy_from_proto,
    },
    lead_crud::save_lead,
    support::{
        LeadsApi, MANAGERS, READERS, WORKERS, authorize, begin, check_lead_etag, lead_id,
        require_live, scope,
    },
};
use crate::{
    domain::{
        alert::{AlertKind, NewAlert},
        assign::{self, Kind, Pick, Plan},
        assignment_kind as kind,
        lead::{Lead, State},
        settings::{Settings, Strategy},
        visibility::Scope,
    },
    store::{self, assign::Refusal, leads::AssignmentRow},
};

const DAY: Micros = 86_400_000_000;

/// An owner change about to be recorded.
pub(super) struct Move<'a> {
    pub to: &'a str,
    pub team: &'a str,
    pub kind: &'static str,
    pub reason: String,
}

/// Moves `lead` to `m.to` (empty: its public pool), records the assignment, emits the event
/// and writes the lead. Counters are the caller's business.
pub(super) async fn move_lead(
    w: &mut Write,
    tenant: &str,
    actor: &str,
    lead: &mut Lead,
    m: Move<'_>,
    now: Micros,
) -> Result<AssignmentRow> {
    let row = AssignmentRow {
        id: Uuid::now_v7(),
        lead_id: lead.id,
        rep_id: m.to.to_owned(),
        previous_owner_id: lead.owner_id.clone(),
        kind: m.kind,
        reason: m.reason,
        actor: actor.to_owned(),
        create_time: now,
    };
    lead.owner_id = m.to.to_owned();
    lead.team_id = m.team.to_owned();
    lead.assign_time = (!m.to.is_empty()).then_some(now);
    lead.touch(now);
    // Deferred: on PostgreSQL the lead, its history, the alert and the events reach the
    // database in one round trip at commit.
    w.defer(store::leads::update_lead_statement(tenant, lead))
        .await?;
    for s in store::leads::assignment_statements(tenant, std::slice::from_ref(&row)) {
        w.defer(s).await?;
    }
    let event = if m.kind == kind::RECLAIM {
        "lead.reclaimed"
    } else if m.to.is_empty() {
        "lead.released"
    } else {
        "lead.assigned"
    };
    w.emit(
        event,
        lead.resource_name(),
        &pb::LeadAssigned {
            lead: lead.resource_name(),
            assignment: Some(assignment_to_proto(&row)),
        },
    );
    if !m.to.is_empty() {
        // The dedupe key names the new assignment row, so it is always fresh.
        super::alerts::raise_fresh_alert(
            w,
            tenant,
            &NewAlert {
                recipient_id: m.to.to_owned(),
                team_id: m.team.to_owned(),
                kind: AlertKind::Assigned,
                subject: lead.resource_name(),
                message: format!("{} is yours: {}", lead.input.display_name, row.reason),
                due_time: None,
                dedupe_key: format!("assigned:{}:{}", lead.id, row.id),
            },
        )
        .await?;
    }
    Ok(row)
}

async fn raise(w: &mut Write, tenant: &str, alert: NewAlert) -> Result<()> {
    super::alerts::raise_alert(w, tenant, &alert).await?;
    Ok(())
}

/// Tells the owner a lead turned HIGH intent (LE10).
pub(crate) async fn alert_high_intent(w: &mut Write, tenant: &str, lead: &Lead) -> Result<()> {
    raise(
        w,
        tenant,
        NewAlert {
            recipient_id: lead.owner_id.clone(),
            team_id: lead.team_id.clone(),
            kind: AlertKind::HighIntent,
            subject: lead.resource_name(),
            message: format!(
                "{} shows high intent (score {}): call",
                lead.input.display_name, lead.score
            ),
            due_time: None,
            dedupe_key: format!("high-intent:{}:{}", lead.id, lead.version),
        },
    )
    .await
}

/// Takes one place in `rep`'s private pool (a rep's own new lead, a manager's pick); the rep's
/// team. RESOURCE_EXHAUSTED when full, FAILED_PRECONDITION when not active, NOT_FOUND when
/// there is no such rep.
pub(crate) async fn take_named(
    tx: &mut Tx,
    tenant: &str,
    rep: &str,
    now: Micros,
) -> Result<String> {
    store::assign::take_rep(tx, tenant, rep, None, now)
        .await?
        .map_err(|r| refusal(rep, r))
}

fn refusal(rep: &str, r: Refusal) -> Error {
    match r {
        Refusal::Unknown => Error::precondition(
            "REP_UNKNOWN",
            format!("reps/{rep} is not in the sales organization; create the rep first"),
        ),
        Refusal::NotActive(s) => Error::precondition(
            "REP_NOT_ACTIVE",
            format!("reps/{rep} is {s} and takes no leads"),
        ),
        Refusal::Full { capacity } => Error::ResourceExhausted {
            reason: "REP_AT_CAPACITY",
            message: format!("reps/{rep} holds its capacity of {capacity} open leads"),
        },
        Refusal::DailyLimit { limit } => Error::ResourceExhausted {
            reason: "DAILY_CLAIM_LIMIT",
            message: format!("reps/{rep} has claimed its {limit} leads for today"),
        },
    }
}

/// FAILED_PRECONDITION unless the lead is live, unlocked and in a public pool.
fn require_in_pool(lead: &Lead) -> Result<()> {
    require_live(lead)?;
    if lead.locked {
        return Err(Error::precondition(
            "LEAD_LOCKED",
            format!("{} is locked", lead.resource_name()),
        ));
    }
    if !lead.owner_id.is_empty() {
        return Err(taken(lead, true));
    }
    if lead.won || lead.state == State::Converted {
        return Err(Error::precondition(
            "LEAD_CLOSED",
            format!("{} is converted", lead.resource_name()),
        ));
    }
    Ok(())
}

/// ABORTED (`LEAD_TAKEN`): someone else claimed `lead` first; who, only to a caller who may see
/// the lead.
fn taken(lead: &Lead, say_who: bool) -> Error {
    let message = if say_who {
        format!(
            "{} is already in the private pool of {}",
            lead.resource_name(),
            lead.owner_id
        )
    } else {
        format!("{} was claimed by someone else first", lead.resource_name())
    };
    Error::Aborted {
        reason: "LEAD_TAKEN",
        message,
    }
}

pub(super) async fn claim(api: &LeadsApi, req: Request<pb::ClaimLeadRequest>) -> Result<pb::Lead> {
    let p = authorize(&req, WORKERS)?;
    let msg = req.into_inner();
    let (id, idem) = rapport_runtime::error::both(
        lead_id("name", &msg.name),
        Idempotency::new(&p, "ClaimLead", &msg.request_id, &msg),
    )?;
    let now = api.now();
    let mut w = begin!(api, p, idem);
    // Not through the caller's visibility: a pool lead someone else claimed a moment ago is no
    // longer the caller's to see, and the loser of the race must learn it lost (LEAD_TAKEN),
    // not that the lead vanished. Who won stays hidden from it.
    let mut lead = store::leads::lock_lead(w.tx(), api.db().dialect(), &p.tenant_id, id)
        .await?
        .ok_or_else(|| Error::not_found(crate::domain::lead::lead_name(id)))?;
    if !scope(&p).sees_lead(&lead.owner_id, &lead.team_id) {
        return Err(taken(&lead, false));
    }
    check_lead_etag(&msg.etag, &lead)?;
    require_in_pool(&lead)?;
    if let Some(until) = store::leads::cooldown_until(w.tx(), &p.tenant_id, id, &p.subject).await?
        && until > now
    {
        return Err(Error::precondition(
            "CLAIM_COOLDOWN",
            format!(
                "you lost {} recently; you may claim it again after {}",
                lead.resource_name(),
                rapport_runtime::clock::rfc3339(until)
            ),
        ));
    }
    let team = store::assign::take_rep(w.tx(), &p.tenant_id, &p.subject, Some(now / DAY), now)
        .await?
        .map_err(|r| refusal(&p.subject, r))?;
    let reason = format!("claimed from the {} pool", pool_label(&lead));
    move_lead(
        &mut w,
        &p.tenant_id,
        &p.subject,
        &mut lead,
        Move {
            to: &p.subject,
            team: &team,
            kind: kind::CLAIM,
            reason,
        },
        now,
    )
    .await?;
    w.commit(lead_to_proto(&lead)).await
}

fn pool_label(lead: &Lead) -> String {
    if lead.input.pool.is_empty() {
        "company".into()
    } else {
        lead.input.pool.clone()
    }
}

pub(super) async fn release(
    api: &LeadsApi,
    req: Request<pb::ReleaseLeadRequest>,
) -> Result<pb::Lead> {
    let p = authorize(&req, WORKERS)?;
    let msg = req.into_inner();
    let mut checks = rapport_runtime::validation::Violations::new();
    let id = checks.take("name", lead_id("name", &msg.name));
    if msg.reason.chars().count() > 500 {
        checks.add("reason", "is longer than 500 characters");
    }
    let idem = checks.take(
        "request_id",
        Idempotency::new(&p, "ReleaseLead", &msg.request_id, &msg),
    );
    checks.finish(())?;
    let (Some(id), Some(idem)) = (id, idem) else {
        return Err(Error::internal("release fields missing after validation"));
    };
    let now = api.now();
    let settings = api.settings(&p.tenant_id).await?;
    let mut w = begin!(api, p, idem);
    let mut lead = api.lock_lead(w.tx(), &p, id).await?;
    check_lead_etag(&msg.etag, &lead)?;
    require_live(&lead)?;
    if lead.owner_id.is_empty() {
        return Err(Error::precondition(
            "LEAD_IN_POOL",
            format!("{} is already in a public pool", lead.resource_name()),
        ));
    }
    if lead.locked {
        return Err(Error::precondition(
            "LEAD_LOCKED",
            format!("{} is locked", lead.resource_name()),
        ));
    }
    if lead.owner_id != p.subject && matches!(scope(&p), Scope::Own { .. }) {
        return Err(Error::not_found(lead.resource_name()));
    }
    let owner = lead.owner_id.clone();
    if lead.counts_against_capacity() {
        store::assign::give_back(w.tx(), &p.tenant_id, &owner, 1).await?;
    }
    store::leads::set_cooldowns(
        w.tx(),
        &p.tenant_id,
        &[(lead.id, owner)],
        now + settings.claim_cooldown,
    )
    .await?;
    let reason = if msg.reason.trim().is_empty() {
        "released".to_owned()
    } else {
        format!("released: {}", msg.reason.trim())
    };
    move_lead(
        &mut w,
        &p.tenant_id,
        &p.subject,
        &mut lead,
        Move {
            to: "",
            team: "",
            kind: kind::RELEASE,
            reason,
        },
        now,
    )
    .await?;
    w.commit(lead_to_proto(&lead)).await
}

pub(super) async fn set_lock(
    api: &LeadsApi,
    req: Request<pb::SetLeadLockRequest>,
) -> Result<pb::Lead> {
    let p = authorize(&req, MANAGERS)?;
    let msg = req.into_inner();
    let id = lead_id("name", &msg.name)?;
    let mut w = api.write(&p).await?;
    let mut lead = api.lock_lead(w.tx(), &p, id).await?;
    check_lead_etag(&msg.etag, &lead)?;
    require_live(&lead)?;
    if lead.locked == msg.locked {
        return Ok(lead_to_proto(&lead));
    }
    lead.locked = msg.locked;
    lead.touch(api.now());
    let event = if lead.locked {
        "lead.locked"
    } else {
        "lead.unlocked"
    };
    save_lead(w, &p.tenant_id, &lead, event).await
}

pub(super) async fn assign(
    api: &LeadsApi,
    req: Request<pb::AssignLeadRequest>,
) -> Result<pb::AssignLeadResponse> {
    let p = authorize(&req, MANAGERS)?;
    let msg = req.into_inner();
    let mut v = rapport_runtime::validation::Violations::new();
    let id = v.take("name", lead_id("name", &msg.name));
    let rep = (!msg.rep.is_empty())
        .then(|| {
            names::parse_subject("reps", &msg.rep)
                .map_err(|e| v.add("rep", e))
                .ok()
        })
        .flatten()
        .map(str::to_owned);
    let team = (!msg.team.is_empty())
        .then(|| {
            names::parse_key("teams", &msg.team)
                .map_err(|e| v.add("team", e))
                .ok()
        })
        .flatten()
        .map(str::to_owned);
    if pb::AssignmentStrategy::try_from(msg.strategy).is_err() {
        v.add("strategy", "is not a known strategy");
    }
    if rep.is_some() && (msg.strategy != 0 || team.is_some()) {
        v.add("rep", "name a rep, or a strategy and team, not both");
    }
    let idem = v.take(
        "request_id",
        Idempotency::new(&p, "AssignLead", &msg.request_id, &msg),
    );
    v.finish(())?;
    let (Some(id), Some(idem)) = (id, idem) else {
        return Err(Error::internal("assign fields missing after validation"));
    };
    let now = api.now();
    let settings = api.settings(&p.tenant_id).await?;
    let mut w = begin!(api, p, idem);
    let mut lead = api.lock_lead(w.tx(), &p, id).await?;
    check_lead_etag(&msg.etag, &lead)?;
    require_in_pool(&lead)?;
    let row = match rep {
        Some(rep) => {
            let team = take_named(w.tx(), &p.tenant_id, &rep, now).await?;
            let reason = format!("{} assigned it to reps/{rep} by hand", p.subject);
            move_lead(
                &mut w,
                &p.tenant_id,
                &p.subject,
                &mut lead,
                Move {
                    to: &rep,
                    team: &team,
                    kind: kind::MANUAL,
                    reason,
                },
                now,
            )
            .await?
        }
        None => {
            let strategy = strategy_from_proto(msg.strategy);
            let pick = Pick {
                strategy,
                team: team.as_deref(),
                exclude: None,
            };
            match assign_by_strategy(api, &mut w, &p.subject, &settings, &mut lead, pick, now)
                .await?
            {
                Some(row) => row,
                None => {
                    return Err(Error::ResourceExhausted {
                        reason: "NO_ELIGIBLE_REP",
                        message: "no active rep with room for another lead matches; the lead stays in its pool".into(),
                    });
                }
            }
        }
    };
    let out = pb::AssignLeadResponse {
        lead: Some(lead_to_proto(&lead)),
        assignment: Some(assignment_to_proto(&row)),
    };
    w.commit(out).await
}

/// Gives `lead` (in a pool, locked by `w`) to a rep chosen as `pick` says; None when no
/// eligible rep has room.
pub(crate) async fn assign_by_strategy(
    api: &LeadsApi,
    w: &mut Write,
    actor: &str,
    settings: &Settings,
    lead: &mut Lead,
    pick: Pick<'_>,
    now: Micros,
) -> Result<Option<AssignmentRow>> {
    let tenant = w.tenant().to_owned();
    let chosen = pick.strategy.unwrap_or(settings.default_strategy);
    let dialect = api.db().dialect();
    let (rep, rep_team, kind, reason) = if let Some(order) = assign::sql_order(chosen) {
        // Counter-only strategies pick the rep in SQL, in the statement that takes its place.
        let taken =
            store::assign::take_rep_in_order(w.tx(), dialect, &tenant, pick, order, now).await?;
        let Some(t) = taken else {
            return Ok(None);
        };
        let reason = assign::sql_reason(chosen, &t.rep, t.open_leads, t.capacity);
        (t.rep, t.team, kind_of(Kind::Strategy(chosen)), reason)
    } else {
        let mut reps = store::assign::rep_loads(w.tx(), &tenant).await?;
        reps.retain(|r| Some(r.id.as_str()) != pick.exclude);
        let plan: Plan = assign::plan(lead, settings, pick.strategy, pick.team, &reps);
        let taken =
            store::assign::take_first_rep(w.tx(), dialect, &tenant, &plan.candidates, now).await?;
        let Some((rep, rep_team)) = taken else {
            return Ok(None);
        };
        let reason = plan.reason(&rep);
        (rep, rep_team, kind_of(plan.kind), reason)
    };
    let m = Move {
        to: &rep,
        team: &rep_team,
        kind,
        reason,
    };
    Ok(Some(move_lead(w, &tenant, actor, lead, m, now).await?))
}

/// How an assignment is recorded.
fn kind_of(k: Kind) -> &'static str {
    match k {
        Kind::Rule => kind::RULE,
        Kind::Strategy(Strategy::Weighted) => kind::WEIGHTED,
        Kind::Strategy(Strategy::LeastLoaded) => kind::LEAST_LOADED,
        Kind::Strategy(Strategy::SkillsMatch) => kind::SKILLS_MATCH,
        Kind::Strategy(_) => kind::ROUND_ROBIN,
    }
}

pub(super) async fn list_assignments(
    api: &LeadsApi,
    req: Request<pb::ListAssignmentsRequest>,
) -> Result<pb::ListAssignmentsResponse> {
    let p = authorize(&req, READERS)?;
    let msg = req.get_ref();
    let fits = |c: &[CursorValue]| matches!(c, [CursorValue::Int(_), CursorValue::Text(id)] if Uuid::parse_str(id).is_ok());
    let (id, page) = rapport_runtime::error::both(
        lead_id("parent", &msg.parent),
        Page::parse(
            &[&p.tenant_id, "assignments", &msg.parent],
            msg.page_size,
            &msg.page_token,
            fits,
        )
        .map_err(Error::from),
    )?;
    api.visible_lead(&p, id).await?;
    let mut conn = api.db().pool().acquire().await?;
    let mut rows =
        store::leads::list_assignments(&mut conn, &p.tenant_id, id, &page.after, page.fetch())
            .await?;
    let next_page_token = page.next_token(&mut rows, |a| {
        vec![
            CursorValue::Int(a.create_time),
            CursorValue::Text(a.id.to_string()),
        ]
    });
    Ok(pb::ListAssignmentsResponse {
        assignments: rows.iter().map(assignment_to_proto).collect(),
        next_page_token,
    })
}
