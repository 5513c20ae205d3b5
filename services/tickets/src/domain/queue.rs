//! Queues and agents (TK2): what routing reads. The pick itself (who among the members, within
//! capacity) is the kit's assignment engine, the same one leads' assignment runs on.

use std::collections::BTreeMap;

use rapport_kit::names;
use rapport_runtime::clock::Micros;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ticket::Ticket;

/// The collection of queues in names.
pub const QUEUES: &str = "queues";
/// The collection of agents in names.
pub const AGENTS: &str = "agents";
/// An agent's capacity when none is given.
pub const DEFAULT_CAPACITY: i64 = 20;

/// How a queue picks an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Strategy {
    RoundRobin,
    LeastBusy,
    Skills,
}

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RoundRobin => "ROUND_ROBIN",
            Self::LeastBusy => "LEAST_BUSY",
            Self::Skills => "SKILLS",
        }
    }
}

/// A queue of tickets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Queue {
    pub id: Uuid,
    pub display_name: String,
    pub strategy: Strategy,
    pub members: Vec<String>,
    pub team_id: String,
    pub skills_by_type: BTreeMap<String, Vec<String>>,
    pub create_time: Micros,
    pub update_time: Micros,
    pub version: i64,
}

impl Queue {
    pub fn name(&self) -> String {
        names::format_id(QUEUES, self.id)
    }

    /// The skills `t` needs in this queue: its type's, and its tags.
    pub fn needed_skills(&self, t: &Ticket) -> Vec<String> {
        let mut out: Vec<String> = self
            .skills_by_type
            .get(&t.ticket_type)
            .cloned()
            .unwrap_or_default();
        out.extend(t.tags.iter().cloned());
        out
    }
}

/// Whether an agent takes new tickets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AgentStatus {
    Available,
    Absent,
    Inactive,
}

impl AgentStatus {
    pub const ALL: [AgentStatus; 3] = [Self::Available, Self::Absent, Self::Inactive];

    /// As stored; routing takes only AVAILABLE agents.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Available => "AVAILABLE",
            Self::Absent => "ABSENT",
            Self::Inactive => "INACTIVE",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A service agent as routing sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    pub id: String,
    pub display_name: String,
    pub team_id: String,
    pub supervisor_id: String,
    pub status: AgentStatus,
    pub skills: Vec<String>,
    pub capacity: i64,
    pub open_tickets: i64,
    pub last_assign_time: Micros,
    pub assigned_total: i64,
    pub update_time: Micros,
    pub version: i64,
}

impl Agent {
    pub fn name(&self) -> String {
        format!("{AGENTS}/{}", self.id)
    }

    /// How many of `needed` the agent has.
    pub fn skill_score(&self, needed: &[String]) -> i64 {
        needed
            .iter()
            .filter(|n| self.skills.iter().any(|s| s.eq_ignore_ascii_case(n)))
            .count() as i64
    }
}
