//! Queues and agents: parsing what a caller sends and building answers.

use std::collections::BTreeMap;

use rapport_kit::{mask::Rules, names, validate};
use rapport_proto::tickets as pb;
use rapport_runtime::{clock::to_timestamp, validation::Violations};
use uuid::Uuid;

use super::enums;
use crate::domain::queue::{Agent, AgentStatus, DEFAULT_CAPACITY, Queue, Strategy};

/// What UpdateQueue accepts.
pub const QUEUE_MASK: Rules = Rules {
    updatable: &[
        "display_name",
        "strategy",
        "members",
        "team_id",
        "skills_by_type",
    ],
    immutable: &["name"],
    output_only: &["create_time", "update_time", "etag"],
    ..Rules::new("Queue")
};

/// What UpdateAgent accepts.
pub const AGENT_MASK: Rules = Rules {
    updatable: &[
        "display_name",
        "team_id",
        "supervisor_id",
        "status",
        "skills",
        "capacity",
    ],
    immutable: &["name"],
    output_only: &["open_tickets", "last_assign_time", "update_time", "etag"],
    ..Rules::new("Agent")
};

/// Most members of a queue.
const MAX_MEMBERS: usize = 500;
/// Most skills of an agent.
const MAX_SKILLS: usize = 50;

fn skills(v: &mut Violations, field: &str, raw: &[String], max: usize) -> Vec<String> {
    let given = validate::capped(v, field, raw, max);
    let mut out: Vec<String> = Vec::new();
    for (i, s) in given.iter().enumerate() {
        let s = s.trim();
        if s.is_empty() || s.chars().count() > 64 {
            v.add(format!("{field}[{i}]"), "must be 1..64 characters");
        } else if !out.iter().any(|x| x.eq_ignore_ascii_case(s)) {
            out.push(s.to_owned());
        }
    }
    out
}

/// Applies the fields `fields` names from `q` to `into`.
pub fn apply_queue(q: &pb::Queue, fields: &[&str], into: &mut Queue, v: &mut Violations) {
    for field in fields {
        match *field {
            "display_name" => {
                into.display_name =
                    validate::required_text(v, "queue.display_name", &q.display_name, 200)
            }
            "strategy" => {
                into.strategy = validate::optional_enum(
                    v,
                    "queue.strategy",
                    q.strategy,
                    enums::strategy,
                    "RoutingStrategy",
                )
                .unwrap_or(Strategy::RoundRobin)
            }
            "members" => {
                let ids = validate::ids(v, "queue.members", &q.members, MAX_MEMBERS);
                let mut members: Vec<String> = Vec::new();
                for id in ids {
                    if !members.contains(&id) {
                        members.push(id);
                    }
                }
                into.members = members;
            }
            "team_id" => into.team_id = validate::text(v, "queue.team_id", &q.team_id, 128),
            "skills_by_type" => {
                let mut map = BTreeMap::new();
                for (ty, list) in &q.skills_by_type {
                    let field = format!("queue.skills_by_type.{ty}");
                    map.insert(ty.clone(), skills(v, &field, &list.skills, MAX_SKILLS));
                }
                into.skills_by_type = map;
            }
            _ => {}
        }
    }
}

/// A new queue from CreateQueue.
pub fn parse_queue(q: Option<&pb::Queue>, v: &mut Violations) -> Queue {
    let mut out = Queue {
        id: Uuid::nil(),
        display_name: String::new(),
        strategy: Strategy::RoundRobin,
        members: Vec::new(),
        team_id: String::new(),
        skills_by_type: BTreeMap::new(),
        create_time: 0,
        update_time: 0,
        version: 1,
    };
    match q {
        None => v.add("queue", "is required"),
        Some(q) => apply_queue(q, QUEUE_MASK.updatable, &mut out, v),
    }
    out
}

/// The queue as the API answers it.
pub fn queue_to_proto(q: &Queue) -> pb::Queue {
    pb::Queue {
        name: q.name(),
        display_name: q.display_name.clone(),
        strategy: enums::strategy_to_proto(q.strategy),
        members: q.members.clone(),
        team_id: q.team_id.clone(),
        skills_by_type: q
            .skills_by_type
            .iter()
            .map(|(k, s)| (k.clone(), pb::SkillList { skills: s.clone() }))
            .collect(),
        create_time: Some(to_timestamp(q.create_time)),
        update_time: Some(to_timestamp(q.update_time)),
        etag: names::etag(q.id.as_bytes(), q.version),
    }
}

/// Applies the fields `fields` names from `a` to `into`.
pub fn apply_agent(a: &pb::Agent, fields: &[&str], into: &mut Agent, v: &mut Violations) {
    for field in fields {
        match *field {
            "display_name" => {
                into.display_name =
                    validate::required_text(v, "agent.display_name", &a.display_name, 200)
            }
            "team_id" => into.team_id = validate::text(v, "agent.team_id", &a.team_id, 128),
            "supervisor_id" => {
                into.supervisor_id = validate::text(v, "agent.supervisor_id", &a.supervisor_id, 128)
            }
            "status" => {
                into.status = validate::optional_enum(
                    v,
                    "agent.status",
                    a.status,
                    enums::agent_status,
                    "AgentStatus",
                )
                .unwrap_or(AgentStatus::Available)
            }
            "skills" => into.skills = skills(v, "agent.skills", &a.skills, MAX_SKILLS),
            "capacity" => {
                into.capacity = if a.capacity == 0 {
                    DEFAULT_CAPACITY
                } else if !(1..=1000).contains(&a.capacity) {
                    v.add(
                        "agent.capacity",
                        format!("must be 1..1000, got {}", a.capacity),
                    );
                    DEFAULT_CAPACITY
                } else {
                    i64::from(a.capacity)
                }
            }
            _ => {}
        }
    }
}

/// A new agent from CreateAgent.
pub fn parse_agent(id: &str, a: Option<&pb::Agent>, v: &mut Violations) -> Agent {
    let id = validate::id(v, "agent_id", id.trim());
    if id.is_empty() {
        v.add("agent_id", "is required");
    }
    let mut out = Agent {
        id,
        display_name: String::new(),
        team_id: String::new(),
        supervisor_id: String::new(),
        status: AgentStatus::Available,
        skills: Vec::new(),
        capacity: DEFAULT_CAPACITY,
        open_tickets: 0,
        last_assign_time: 0,
        assigned_total: 0,
        update_time: 0,
        version: 1,
    };
    match a {
        None => v.add("agent", "is required"),
        Some(a) => apply_agent(a, AGENT_MASK.updatable, &mut out, v),
    }
    out
}

/// The agent as the API answers it.
pub fn agent_to_proto(a: &Agent) -> pb::Agent {
    pb::Agent {
        name: a.name(),
        display_name: a.display_name.clone(),
        team_id: a.team_id.clone(),
        supervisor_id: a.supervisor_id.clone(),
        status: enums::agent_status_to_proto(a.status),
        skills: a.skills.clone(),
        capacity: i32::try_from(a.capacity).unwrap_or(i32::MAX),
        open_tickets: i32::try_from(a.open_tickets).unwrap_or(i32::MAX),
        last_assign_time: (a.last_assign_time > 0).then(|| to_timestamp(a.last_assign_time)),
        update_time: Some(to_timestamp(a.update_time)),
        etag: names::etag(a.id.as_bytes(), a.version),
    }
}
