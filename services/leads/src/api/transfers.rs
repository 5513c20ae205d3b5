//! Giving an open opportunity or task to another rep (LE2, LE9, S1): TransferOpportunity and
//! ReassignTask, their histories, and the moves a rep's hand-over makes with them. Every move
//! is recorded (`transfers`) and emitted (`opportunity.transferred`, `task.reassigned`).

use rapport_kit::{
    names,
    query::{CursorValue, Page},
};
use rapport_proto::leads as pb;
use rapport_runtime::{
    Error, Result,
    auth::Principal,
    clock::{Micros, to_timestamp},
    error::both,
    storage::Idempotency,
    validation::Violations,
    write::Write,
};
use tonic::Request;
use uuid::Uuid;

use super::support::optional_key;
use super::support::{MANAGERS, READERS, authorize, begin};
use crate::app::App;
use crate::app::check_etag;
use crate::app::scope;
use crate::convert::{
    pipeline::{opportunity_id, opportunity_to_proto},
    task::task_to_proto,
};
use crate::{
    domain::{
        opportunity::{Opportunity, State},
        org::{self, RepStatus},
        task::Task,
        transfer::{MAX_REASON, Transfer},
        visibility::Scope,
    },
    store,
};

/// Who takes something over: a rep, and the team and store it goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Taker {
    pub rep: String,
    pub team: String,
    pub store: String,
}

/// The rep `rep` as a taker, with `team` (or the rep's own) and `store` (or the rep's own):
/// INVALID_ARGUMENT on `field` unless `rep` is an active rep of the sales organization the
/// caller manages (a manager's is its own team), and `team` a team the caller manages.
pub(crate) async fn taker(
    api: &App,
    p: &Principal,
    rep: &str,
    team: Option<&str>,
    store: Option<&str>,
    field: &str,
) -> Result<Taker> {
    let mut conn = api.db().pool().acquire().await?;
    let found = store::org::get_rep(&mut conn, &p.tenant_id, rep).await?;
    let s = scope(p);
    let Some(found) = found.filter(|r| s.sees_owned(&r.id, &r.team_id)) else {
        // A rep of another team reads as one that does not exist.
        return Err(Error::invalid(
            field,
            format!(
                "{} is not a rep of your sales organization",
                org::rep_name(rep)
            ),
        ));
    };
    if found.status == RepStatus::Inactive {
        return Err(Error::invalid(
            field,
            format!("{} is inactive", org::rep_name(rep)),
        ));
    }
    let team = team.map_or(found.team_id.clone(), str::to_owned);
    check_team(&s, &team)?;
    Ok(Taker {
        rep: found.id,
        team,
        store: store.map_or(found.store_id, str::to_owned),
    })
}

/// INVALID_ARGUMENT on `team` unless work may be given to `team` (none, or one the caller
/// manages).
pub(crate) fn check_team(s: &Scope, team: &str) -> Result<()> {
    if team.is_empty() || s.sees_owned("", team) {
        return Ok(());
    }
    Err(Error::invalid(
        "team",
        format!("teams/{team} is not a team you manage"),
    ))
}

/// Gives the open opportunity `o` (locked in `w`) to `to`, recording why.
pub(crate) async fn move_opportunity(
    w: &mut Write,
    actor: &str,
    mut o: Opportunity,
    to: &Taker,
    reason: &str,
    now: Micros,
) -> Result<Opportunity> {
    let tenant = w.tenant().to_owned();
    let t = Transfer::new(
        o.resource_name(),
        (&o.owner_id, &o.team_id),
        (&to.rep, &to.team),
        reason,
        actor,
        now,
    );
    let expected = o.version;
    o.owner_id = to.rep.clone();
    o.team_id = to.team.clone();
    // The new owner is told when the deal stalls in its current stage, as if it just came in.
    o.dwell_alert = 0;
    o.update_time = now;
    o.version += 1;
    if !store::opportunities::set_owner(w.tx(), &tenant, &o, expected).await? {
        return Err(Error::stale_etag(&o.resource_name()));
    }
    store::transfers::insert(w.tx(), &tenant, &t).await?;
    let event = pb::OpportunityChanged {
        opportunity: Some(opportunity_to_proto(&o)),
        stage_change: None,
        transfer: Some(transfer_to_proto(&t)),
    };
    w.emit("opportunity.transferred", o.resource_name(), &event);
    Ok(o)
}

/// Gives the open task `t` (locked in `w`) to `to`, recording why.
pub(crate) async fn move_task(
    w: &mut Write,
    actor: &str,
    mut task: Task,
    to: &Taker,
    reason: &str,
    now: Micros,
) -> Result<Task> {
    let tenant = w.tenant().to_owned();
    let t = Transfer::new(
        task.name(),
        (&task.assignee_id, &task.team_id),
        (&to.rep, &to.team),
        reason,
        actor,
        now,
    );
    let expected = task.version;
    task.assignee_id = to.rep.clone();
    task.team_id = to.team.clone();
    task.update_time = now;
    task.version += 1;
    if !store::tasks::set_assignee(w.tx(), &tenant, &task, expected).await? {
        return Err(Error::stale_etag(&task.name()));
    }
    store::transfers::insert(w.tx(), &tenant, &t).await?;
    let event = pb::TaskChanged {
        task: Some(task_to_proto(&task)),
        transfer: Some(transfer_to_proto(&t)),
    };
    w.emit("task.reassigned", task.name(), &event);
    Ok(task)
}

/// A transfer as the API shows it.
fn transfer_to_proto(t: &Transfer) -> pb::Transfer {
    pb::Transfer {
        name: t.resource_name(),
        previous_owner_id: t.previous_owner_id.clone(),
        owner_id: t.owner_id.clone(),
        previous_team_id: t.previous_team_id.clone(),
        team_id: t.team_id.clone(),
        reason: t.reason.clone(),
        actor: t.actor.clone(),
        create_time: Some(to_timestamp(t.create_time)),
    }
}

/// The fields every transfer request has, parsed: the new holder's rep, the team, the reason.
struct Move {
    rep: String,
    team: Option<String>,
    reason: String,
}

fn parse_move(rep: &str, rep_field: &str, team: &str, reason: &str, v: &mut Violations) -> Move {
    let rep = match names::parse_subject("reps", rep) {
        Ok(r) => r.to_owned(),
        Err(e) => {
            v.add(rep_field, e);
            String::new()
        }
    };
    let team = optional_key("teams", team, "team", v);
    if reason.chars().count() > MAX_REASON {
        v.add("reason", format!("must be at most {MAX_REASON} characters"));
    }
    Move {
        rep,
        team,
        reason: reason.trim().to_owned(),
    }
}

pub(super) async fn transfer_opportunity(
    api: &App,
    req: Request<pb::TransferOpportunityRequest>,
) -> Result<pb::Opportunity> {
    let p = authorize(&req, MANAGERS)?;
    let msg = req.into_inner();
    let mut v = Violations::new();
    let id = opportunity_id(&msg.name, "name", &mut v);
    let m = parse_move(&msg.new_owner, "new_owner", &msg.team, &msg.reason, &mut v);
    let (idem, id) = both(
        Idempotency::new(&p, "TransferOpportunity", &msg.request_id, &msg),
        v.finish(id).map_err(Error::from),
    )?;
    let id = id.unwrap_or_default();
    let to = taker(api, &p, &m.rep, m.team.as_deref(), None, "new_owner").await?;
    let mut w = begin!(api, p, idem);
    let current = store::opportunities::lock(w.tx(), &p.tenant_id, id)
        .await?
        .filter(|o| scope(&p).sees_owned(&o.owner_id, &o.team_id))
        .ok_or_else(|| Error::not_found(names::format_id("opportunities", id)))?;
    check_etag(&msg.etag, &current.resource_name(), current.version)?;
    if current.state != State::Open {
        return Err(Error::precondition(
            "OPPORTUNITY_CLOSED",
            format!(
                "{} is {}; only open deals change hands",
                current.resource_name(),
                current.state.as_str()
            ),
        ));
    }
    if current.owner_id == to.rep && current.team_id == to.team {
        return Ok(opportunity_to_proto(&current));
    }
    let now = api.now();
    let moved = move_opportunity(&mut w, &p.subject, current, &to, &m.reason, now).await?;
    w.commit(opportunity_to_proto(&moved)).await
}

pub(super) async fn reassign_task(
    api: &App,
    req: Request<pb::ReassignTaskRequest>,
) -> Result<pb::Task> {
    let p = authorize(&req, MANAGERS)?;
    let msg = req.into_inner();
    let mut v = Violations::new();
    let id = names::parse_id("tasks", &msg.name)
        .map_err(|e| v.add("name", e))
        .ok();
    let m = parse_move(
        &msg.new_assignee,
        "new_assignee",
        &msg.team,
        &msg.reason,
        &mut v,
    );
    let (idem, id) = both(
        Idempotency::new(&p, "ReassignTask", &msg.request_id, &msg),
        v.finish(id).map_err(Error::from),
    )?;
    let id = id.unwrap_or_default();
    let to = taker(api, &p, &m.rep, m.team.as_deref(), None, "new_assignee").await?;
    let mut w = begin!(api, p, idem);
    let dialect = api.db().dialect();
    let current = store::tasks::lock_task(w.tx(), dialect, &p.tenant_id, id)
        .await?
        .filter(|t| scope(&p).sees_owned(&t.assignee_id, &t.team_id))
        .ok_or_else(|| Error::not_found(names::format_id("tasks", id)))?;
    check_etag(&msg.etag, &current.name(), current.version)?;
    if current.complete_time.is_some() {
        return Err(Error::precondition(
            "TASK_COMPLETED",
            format!(
                "{} is completed; only open tasks change hands",
                current.name()
            ),
        ));
    }
    if current.assignee_id == to.rep && current.team_id == to.team {
        return Ok(task_to_proto(&current));
    }
    let now = api.now();
    let moved = move_task(&mut w, &p.subject, current, &to, &m.reason, now).await?;
    w.commit(task_to_proto(&moved)).await
}

pub(super) async fn list_opportunity_transfers(
    api: &App,
    req: Request<pb::ListOpportunityTransfersRequest>,
) -> Result<pb::ListOpportunityTransfersResponse> {
    let p = authorize(&req, READERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let id = opportunity_id(&msg.parent, "parent", &mut v);
    let (id, page) = both(
        v.finish(id).map_err(Error::from),
        transfers_page(&p, &msg.parent, msg.page_size, &msg.page_token),
    )?;
    let id = id.unwrap_or_default();
    let mut conn = api.db().pool().acquire().await?;
    store::opportunities::get(&mut conn, &p.tenant_id, id)
        .await?
        .filter(|o| scope(&p).sees_owned(&o.owner_id, &o.team_id))
        .ok_or_else(|| Error::not_found(names::format_id("opportunities", id)))?;
    let (transfers, next_page_token) = list_page(&mut conn, &p, &msg.parent, &page).await?;
    Ok(pb::ListOpportunityTransfersResponse {
        transfers,
        next_page_token,
    })
}

pub(super) async fn list_task_transfers(
    api: &App,
    req: Request<pb::ListTaskTransfersRequest>,
) -> Result<pb::ListTaskTransfersResponse> {
    let p = authorize(&req, READERS)?;
    let msg = req.get_ref();
    let id = names::parse_id("tasks", &msg.parent).map_err(|e| Error::invalid("parent", e));
    let (id, page) = both(
        id,
        transfers_page(&p, &msg.parent, msg.page_size, &msg.page_token),
    )?;
    let mut conn = api.db().pool().acquire().await?;
    store::tasks::get_task(&mut conn, &p.tenant_id, id)
        .await?
        .filter(|t| scope(&p).sees_owned(&t.assignee_id, &t.team_id))
        .ok_or_else(|| Error::not_found(names::format_id("tasks", id)))?;
    let (transfers, next_page_token) = list_page(&mut conn, &p, &msg.parent, &page).await?;
    Ok(pb::ListTaskTransfersResponse {
        transfers,
        next_page_token,
    })
}

fn transfers_page(p: &Principal, parent: &str, size: i32, token: &str) -> Result<Page> {
    let fits =
        |c: &[CursorValue]| matches!(c, [CursorValue::Text(id)] if Uuid::parse_str(id).is_ok());
    Page::parse(
        &[&p.tenant_id, "transfers", parent.trim()],
        size,
        token,
        fits,
    )
    .map_err(Error::from)
}

async fn list_page(
    conn: &mut sqlx::AnyConnection,
    p: &Principal,
    parent: &str,
    page: &Page,
) -> Result<(Vec<pb::Transfer>, String)> {
    let mut rows = store::transfers::list(
        conn,
        &p.tenant_id,
        parent.trim(),
        &page.after,
        i64::from(page.fetch()),
    )
    .await?;
    let next = page.next_token(&mut rows, |t| vec![CursorValue::Text(t.id.to_string())]);
    Ok((rows.iter().map(transfer_to_proto).collect(), next))
}
