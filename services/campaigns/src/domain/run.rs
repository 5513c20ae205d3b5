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

/// One member of a run's audience, as the customers service judged it for the channel.
#[derive(Debug, Clone, Copy)]
pub struct Member<'a> {
    pub customer: Uuid,
    /// Whether a message may go at the run's time.
    pub allowed: bool,
    /// Why not, when not allowed (OPTED_OUT, NO_CONSENT, DO_NOT_DISTURB, QUIET_HOURS,
    /// NO_ADDRESS).
    pub reason: &'a str,
    /// For QUIET_HOURS: when it may go.
    pub next_allowed: Option<Micros>,
}

/// Where a member of strategy `strategy`'s run at `now` goes: skipped when it may not be
/// reached at all (so it is in neither group: the hold-out is drawn from those the strategy
/// could reach), held out, or queued (deferred past quiet hours); with the reason and the due
/// time.
pub fn place(
    strategy: Uuid,
    control_bps: i32,
    m: &Member,
    now: Micros,
) -> (Delivery, String, Micros) {
    let quiet = m.reason == "QUIET_HOURS";
    if !m.allowed && !quiet {
        let reason = if m.reason.is_empty() {
            "NOT_ALLOWED"
        } else {
            m.reason
        };
        return (Delivery::Skipped, reason.to_owned(), now);
    }
    if super::control::held_out(strategy, m.customer, control_bps) {
        return (Delivery::Control, String::new(), now);
    }
    let due = if m.allowed {
        now
    } else {
        m.next_allowed.unwrap_or(now).max(now)
    };
    (Delivery::Queued, String::new(), due)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_skipped_held_out_deferred_or_queued() {
        let s = Uuid::now_v7();
        let member = |allowed, reason, next_allowed| Member {
            customer: Uuid::now_v7(),
            allowed,
            reason,
            next_allowed,
        };
        let (d, r, _) = place(s, 5_000, &member(false, "OPTED_OUT", None), 10);
        assert_eq!((d, r.as_str()), (Delivery::Skipped, "OPTED_OUT"));
        let (d, r, due) = place(s, 0, &member(false, "QUIET_HOURS", Some(99)), 10);
        assert_eq!((d, r.as_str(), due), (Delivery::Queued, "", 99));
        let (d, _, due) = place(s, 0, &member(true, "", None), 10);
        assert_eq!((d, due), (Delivery::Queued, 10));
        // Everyone reachable is held out at 50%... about half of them.
        let held = (0..1000)
            .filter(|_| place(s, 5_000, &member(true, "", None), 10).0 == Delivery::Control)
            .count();
        assert!((400..600).contains(&held), "{held}");
    }

    #[test]
    fn a_tally_sums_states_and_reasons() {
        let rows = vec![
            ("sent".to_owned(), String::new(), 3),
            ("queued".to_owned(), String::new(), 2),
            ("sending".to_owned(), String::new(), 1),
            ("skipped".to_owned(), "CAPPED".to_owned(), 4),
            ("skipped".to_owned(), "OPTED_OUT".to_owned(), 1),
            ("control".to_owned(), String::new(), 7),
        ];
        let t = Tally::of(&rows);
        assert_eq!(t.sent, 3);
        assert_eq!(t.pending, 3);
        assert_eq!(
            t.skipped,
            [("CAPPED".to_owned(), 4), ("OPTED_OUT".to_owned(), 1)]
        );
    }
}
