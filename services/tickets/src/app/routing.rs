//! Routing (TK2) on the kit's assignment engine: a queue's strategy orders its members, and
//! the engine's conditional take gives the ticket to the first available member with room,
//! so no agent goes over its capacity and no ticket is taken twice however many creators race.
//! Every decision's reason is recorded with the ticket.

use rapport_kit::assign::{
    Among, Counters, Member, Only, Order, Refusal, Status, Strategy as By, Taken, Words, rank,
};
use rapport_runtime::{Error, Result, write::Write};

use crate::{
    domain::{
        queue::{Agent, AgentStatus, Queue, Strategy},
        ticket::Ticket,
    },
    store::agents,
};

/// The agents table as the engine counts on it.
pub const COUNTERS: Counters = Counters {
    table: "agents",
    open: "open_tickets",
    capacity: "capacity",
    status: "status",
    available: "status = 'AVAILABLE'",
};

/// How reasons name agents and tickets.
const WORDS: Words = Words {
    member: "agent",
    members: "agents",
    item: "ticket",
    available: "available",
};

/// Members of the queue `$v`.
const MEMBERS_OF: &str =
    "SELECT m.agent_id FROM queue_members m WHERE m.tenant_id = $1 AND m.queue_id = $v";

fn member(a: &Agent) -> Member {
    Member {
        id: a.id.clone(),
        team: a.team_id.clone(),
        status: match a.status {
            AgentStatus::Available => Status::Available,
            AgentStatus::Absent => Status::Absent,
            AgentStatus::Inactive => Status::Inactive,
        },
        skills: a.skills.clone(),
        capacity: a.capacity,
        open: a.open_tickets,
        weight: 1,
        last_assign_time: a.last_assign_time,
        assigned_total: a.assigned_total,
        attrs: (),
    }
}

/// Gives `t` to `taken`.
fn hand_to(t: &mut Ticket, taken: &Taken, queue: &Queue, reason: String) -> String {
    t.assignee = taken.id.clone();
    t.team_id = if taken.team.is_empty() {
        queue.team_id.clone()
    } else {
        taken.team.clone()
    };
    t.routing_reason = reason.clone();
    reason
}

/// Leaves `t` waiting in `queue` for an agent with room.
fn wait(t: &mut Ticket, queue: &Queue, reason: String) -> String {
    t.assignee.clear();
    t.team_id = queue.team_id.clone();
    t.routing_reason = reason.clone();
    reason
}

/// Routes `t` (holding no agent's place) in `queue`: its strategy picks the agent, or the
/// ticket waits for room. `why` says how it came to the queue. Returns the recorded reason.
pub async fn route(
    w: &mut Write,
    tenant: &str,
    t: &mut Ticket,
    queue: &Queue,
    why: &str,
) -> Result<String> {
    let dialect = w.dialect();
    let now = w.now();
    let queue_id = queue.id.to_string();
    let head = format!("{why}: queues/{} ({})", queue.id, queue.display_name);
    let taken = match queue.strategy {
        Strategy::RoundRobin | Strategy::LeastBusy => {
            let by = if queue.strategy == Strategy::RoundRobin {
                By::RoundRobin
            } else {
                By::LeastLoaded
            };
            let only = [Only::In {
                column: "id",
                select: MEMBERS_OF,
                value: &queue_id,
            }];
            let order = COUNTERS.sql_order(by);
            COUNTERS
                .take_in_order(w.tx(), dialect, tenant, &order, &only, now)
                .await?
                .map(|taken| {
                    let reason = taken.reason(by, &WORDS);
                    (taken, reason)
                })
        }
        Strategy::Skills => {
            let loads = agents::of_queue(w.tx(), tenant, &queue_id).await?;
            // Ranked before the take, so nothing borrowed by the ranking lives across it.
            let plan = {
                let members: Vec<Member> = loads.iter().map(member).collect();
                let needed = queue.needed_skills(t);
                let score = |m: &Member| {
                    loads
                        .iter()
                        .find(|a| a.id == m.id)
                        .map_or(0, |a| a.skill_score(&needed))
                };
                let detail = format!(
                    "the agent with most of the skills needed ({})",
                    if needed.is_empty() {
                        "none named".to_owned()
                    } else {
                        needed.join(", ")
                    }
                );
                let order = Order::Score {
                    label: "skills",
                    detail: &detail,
                    score: &score,
                };
                rank(&members, &Among::default(), &order, &WORDS)
            };
            COUNTERS
                .take_first_of(w.tx(), dialect, tenant, &plan.candidates, now)
                .await?
                .map(|taken| {
                    let reason = plan.reason(&taken.id);
                    (taken, reason)
                })
        }
    };
    Ok(match taken {
        Some((taken, reason)) => hand_to(t, &taken, queue, format!("{head}; {reason}")),
        None => wait(
            t,
            queue,
            format!(
                "{head}; no available member has room, so it waits in the queue and goes to \
                 the first agent with room"
            ),
        ),
    })
}

/// Gives `t` to `agent`, a member of `queue`, within its capacity; INVALID_ARGUMENT naming
/// `agent` when it cannot take it.
pub async fn give_to(
    w: &mut Write,
    tenant: &str,
    t: &mut Ticket,
    queue: &Queue,
    agent: &str,
    why: &str,
) -> Result<String> {
    if !queue.members.iter().any(|m| m == agent) {
        return Err(Error::invalid(
            "agent",
            format!("agents/{agent} is not a member of {}", queue.name()),
        ));
    }
    let now = w.now();
    match COUNTERS
        .take_named(w.tx(), tenant, agent, None, now)
        .await?
    {
        Ok(taken) => {
            let reason = format!(
                "{why}: given to agents/{agent} in queues/{} ({}), who now holds {} of its {} \
                 places",
                queue.id, queue.display_name, taken.open, taken.capacity
            );
            Ok(hand_to(t, &taken, queue, reason))
        }
        Err(refusal) => Err(Error::invalid(
            "agent",
            match refusal {
                Refusal::Unknown => format!("agents/{agent} is not a registered agent"),
                Refusal::Unavailable(status) => format!("agents/{agent} is {status}"),
                Refusal::Full { capacity } => {
                    format!("agents/{agent} already holds its {capacity} tickets")
                }
                Refusal::DailyLimit { .. } => format!("agents/{agent} cannot take more today"),
            },
        )),
    }
}

/// Frees the place `agent` held for a ticket (resolved, closed, merged, moved away).
pub async fn release(w: &mut Write, tenant: &str, agent: &str) -> Result<()> {
    if agent.is_empty() {
        return Ok(());
    }
    COUNTERS.give_back(w.tx(), tenant, agent, 1).await
}

/// Routes up to `limit` of the tenant's tickets that wait for an agent with room, oldest
/// first; a queue found without room is not tried again in the same round. How many found an
/// agent.
pub async fn route_waiting(
    app: &super::App,
    w: &mut Write,
    tenant: &str,
    limit: u32,
    actor: &str,
) -> Result<usize> {
    let waiting =
        crate::store::tickets::lock_waiting(w.tx(), app.db().dialect(), tenant, limit).await?;
    let mut full: Vec<String> = Vec::new();
    let mut routed = 0;
    for current in waiting {
        if full.contains(&current.queue_id) {
            continue;
        }
        let queue = match uuid::Uuid::parse_str(&current.queue_id) {
            Ok(id) => crate::store::queues::get(w.tx(), tenant, id, None).await?,
            Err(_) => None,
        };
        let Some(queue) = queue else { continue };
        let mut next = current.clone();
        let detail = route(w, tenant, &mut next, &queue, "an agent had room").await?;
        if next.assignee.is_empty() {
            full.push(current.queue_id.clone());
            continue;
        }
        let e = super::events::entry(w, &next, "routed", actor, detail);
        super::tickets::save(w, tenant, &current, next, "routed", vec![e]).await?;
        routed += 1;
    }
    Ok(routed)
}
