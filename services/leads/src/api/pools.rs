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
use rapport_runtime::{Error, Result, clock::Micros};
use tonic::Request;
use uuid::Uuid;

use super::support::{MANAGERS, READERS, WORKERS, authorize, begin, lead_id};
use crate::app::App;
use crate::app::check_lead_etag;
use crate::app::leads::save_lead;
use crate::app::leads::{Move, assign_by_strategy, move_lead, refusal, take_named};
use crate::app::require_live;
use crate::app::scope;
use crate::convert::{
    lead::{assignment_to_proto, lead_to_proto},
    lead_settings::strategy_from_proto,
};
use crate::{
    domain::{
        assign::Pick,
        assignment_kind as kind,
        lead::{Lead, State},
        visibility::{Scope, sees_lead},
    },
    store::{self},
};

const DAY: Micros = 86_400_000_000;

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

pub(super) async fn claim(api: &App, req: Request<pb::ClaimLeadRequest>) -> Result<pb::Lead> {
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
    if !sees_lead(&scope(&p), &lead.owner_id, &lead.team_id) {
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
    let claim = Some((&store::assign::CLAIMS, now / DAY));
    let team = store::assign::REPS
        .take_named(w.tx(), &p.tenant_id, &p.subject, claim, now)
        .await?
        .map_err(|r| refusal(&p.subject, r))?
        .team;
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

pub(super) async fn release(api: &App, req: Request<pb::ReleaseLeadRequest>) -> Result<pb::Lead> {
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
        store::assign::REPS
            .give_back(w.tx(), &p.tenant_id, &owner, 1)
            .await?;
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

pub(super) async fn set_lock(api: &App, req: Request<pb::SetLeadLockRequest>) -> Result<pb::Lead> {
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
    api: &App,
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

pub(super) async fn list_assignments(
    api: &App,
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
