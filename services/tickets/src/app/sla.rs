//! The SLA sweep's use case (TK3, TK4): tickets whose warning or deadline passed move to at
//! risk or breached, and the escalation rules that fire carry out their actions, each recorded
//! with its rule. A ticket is locked while it is handled and its next check moves on in the
//! same write, so with several replicas each change happens, and each rule fires, once.

use rapport_proto::tickets as pb;
use rapport_runtime::{Result, auth::Principal, write::Write};
use uuid::Uuid;

use super::{
    App,
    events::{emit, entry},
    routing,
    tickets::after_step,
};
use crate::{
    convert::ticket::ticket_to_proto,
    domain::{
        escalation,
        settings::{Action, Settings},
        sla::SlaState,
        ticket::{State, Ticket},
    },
    store::{agents, history, queues, tickets as store},
};

/// Handles up to `limit` of the tenant's tickets with SLA work due at `now`; how many.
pub async fn sweep_due(
    app: &App,
    w: &mut Write,
    tenant: &str,
    now: i64,
    limit: u32,
    actor: &str,
) -> Result<usize> {
    let dialect = app.db().dialect();
    let due = store::lock_due_sla(w.tx(), dialect, tenant, now, limit).await?;
    if due.is_empty() {
        return Ok(0);
    }
    let settings = app.settings(tenant).await?;
    let system = Principal::system(tenant, actor);
    let mut all_events = Vec::new();
    for current in &due {
        let mut next = current.clone();
        let events = advance(w, &settings, &system, &mut next, now).await?;
        next.version = current.version + 1;
        next.update_time = now;
        // The row is locked until the commit, so its rewrite rides with it (one round trip on
        // PostgreSQL for the whole batch).
        w.defer(store::update_locked_statement(tenant, &next)?)
            .await?;
        if let Some(last) = events.last() {
            let kind = last.kind.clone();
            emit(w, &kind, &next, last);
        }
        all_events.extend(events);
    }
    for s in history::events_statements(tenant, &all_events) {
        w.defer(s).await?;
    }
    Ok(due.len())
}

/// Moves `t`'s targets on at `now` and fires the escalations; the history entries it made.
async fn advance(
    w: &mut Write,
    settings: &Settings,
    system: &Principal,
    t: &mut Ticket,
    now: i64,
) -> Result<Vec<history::Event>> {
    let Some(sla) = t.sla.as_mut() else {
        return Ok(Vec::new());
    };
    let transitions = sla.check(now);
    let mut events = Vec::new();
    for tr in &transitions {
        let kind = match tr.to {
            SlaState::Breached => "sla_breached",
            _ => "sla_at_risk",
        };
        let detail = format!("{} is {}", tr.kind.as_str(), tr.to.as_str());
        events.push(entry(w, t, kind, &system.subject, detail));
    }
    let fired: Vec<(String, Vec<Action>)> =
        escalation::fire(&settings.escalation_rules, t, &transitions)
            .into_iter()
            .map(|f| (f.rule.display_name.clone(), f.rule.actions.clone()))
            .collect();
    for (rule, actions) in fired {
        for action in actions {
            let detail = act(w, settings, system, t, &action, &rule).await?;
            let mut e = entry(w, t, "escalated", &system.subject, detail);
            e.rule = rule.clone();
            events.push(e);
        }
    }
    Ok(events)
}

/// Carries out one escalation action on `t`; what it did, for the history.
async fn act(
    w: &mut Write,
    settings: &Settings,
    system: &Principal,
    t: &mut Ticket,
    action: &Action,
    rule: &str,
) -> Result<String> {
    let tenant = system.tenant_id.clone();
    Ok(match action {
        Action::RaisePriority => {
            let before = t.priority;
            t.priority = before.raised();
            format!("priority {} → {}", before.as_str(), t.priority.as_str())
        }
        Action::Notify(who) => {
            let recipients = if who.is_empty() {
                vec![t.assignee.clone()]
                    .into_iter()
                    .filter(|a| !a.is_empty())
                    .collect()
            } else {
                who.clone()
            };
            let detail = format!("notified {}", recipients.join(", "));
            w.emit(
                "ticket.escalation_notice",
                t.name(),
                &pb::EscalationNotice {
                    ticket: Some(ticket_to_proto(t)),
                    rule: rule.to_owned(),
                    recipients,
                    detail: detail.clone(),
                },
            );
            detail
        }
        Action::Reassign(queue_id) => {
            let queue = match Uuid::parse_str(queue_id) {
                Ok(id) => queues::get(w.tx(), &tenant, id, None).await?,
                Err(_) => None,
            };
            let Some(queue) = queue else {
                return Ok(format!(
                    "reassign skipped: queues/{queue_id} no longer exists"
                ));
            };
            routing::release(w, &tenant, &t.assignee).await?;
            t.assignee.clear();
            t.queue_id = queue.id.to_string();
            routing::route(
                w,
                &tenant,
                t,
                &queue,
                &format!("escalation rule \"{rule}\""),
            )
            .await?
        }
        Action::EscalateToSupervisor => {
            let supervisor = match agents::get(w.tx(), &tenant, &t.assignee).await? {
                Some(a) if !a.supervisor_id.is_empty() => a.supervisor_id,
                _ => String::new(),
            };
            let before = t.clone();
            if t.state.is_active() && t.state != State::Escalated {
                let cal = settings.calendar(t.sla.as_ref().map_or("", |s| &s.calendar));
                if let Ok(effects) = t.step(State::Escalated, &cal, w.now(), &system.subject, 0) {
                    after_step(w, &tenant, &before, t, effects, settings).await?;
                }
            }
            if supervisor.is_empty() {
                "escalated; the assignee has no supervisor on record".to_owned()
            } else {
                t.escalated_to = supervisor.clone();
                format!("escalated to the supervisor {supervisor}")
            }
        }
    })
}
