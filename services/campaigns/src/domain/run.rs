//! A run of a strategy: its audience read from the customers service page by page, then its
//! messages sent; and what became of each member (a recipient).

use rapport_kit::names;
use rapport_runtime::clock::Micros;
use uuid::Uuid;

use super::strategy::STRATEGIES;

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    Preparing,
    Sending,
    Done,
}

impl RunState {
    /// Every state.
    pub const ALL: [RunState; 3] = [RunState::Preparing, RunState::Sending, RunState::Done];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Preparing => "preparing",
            RunState::Sending => "sending",
            RunState::Done => "done",
        }
    }

    /// The state stored as `s`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub id: Uuid,
    pub strategy_id: Uuid,
    pub state: RunState,
    pub start_time: Micros,
    pub end_time: Option<Micros>,
    /// The last customer of the audience read so far.
    pub cursor: String,
    pub audience: i64,
    pub control: i64,
}

impl Run {
    /// A new run of `strategy` at `now`.
    pub fn start(strategy: Uuid, now: Micros) -> Self {
        Self {
            id: Uuid::now_v7(),
            strategy_id: strategy,
            state: RunState::Preparing,
            start_time: now,
            end_time: None,
            cursor: String::new(),
            audience: 0,
            control: 0,
        }
    }

    /// "strategies/{strategy}/runs/{run}".
    pub fn name(&self) -> String {
        names::format_child_id(STRATEGIES, self.strategy_id, "runs", self.id)
    }
}

/// Where a recipient is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Held out in the control group: never sent.
    Control,
    /// Waiting for its due time.
    Queued,
    /// Handed to the channel; a retry after a crash reuses its message id.
    Sending,
    Sent,
    /// Not sent; the reason says why.
    Skipped,
}

impl Delivery {
    /// Every state.
    pub const ALL: [Delivery; 5] = [
        Delivery::Control,
        Delivery::Queued,
        Delivery::Sending,
        Delivery::Sent,
        Delivery::Skipped,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Control => "control",
            Delivery::Queued => "queued",
            Delivery::Sending => "sending",
            Delivery::Sent => "sent",
            Delivery::Skipped => "skipped",
        }
    }

    /// The state stored as `s`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A run's figures from its recipients' states.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub sent: i64,
    pub pending: i64,
    pub skipped: Vec<(String, i64)>,
}

impl Tally {
    /// The tally of (state, reason, count) rows.
    pub fn of(rows: &[(String, String, i64)]) -> Self {
        let mut t = Tally::default();
        for (state, reason, n) in rows {
            match Delivery::parse(state) {
                Some(Delivery::Sent) => t.sent += n,
                Some(Delivery::Queued | Delivery::Sending) => t.pending += n,
                Some(Delivery::Skipped) => match t.skipped.iter_mut().find(|(r, _)| r == reason) {
                    Some((_, c)) => *c += n,
                    None => t.skipped.push((reason.clone(), *n)),
                },
                Some(Delivery::Control) | None => {}
            }
        }
        t.skipped.sort();
        t
    }
}
