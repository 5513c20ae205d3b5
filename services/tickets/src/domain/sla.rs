//! A ticket's SLA clocks (TK3). Each target counts working time of its policy's calendar:
//! it runs while the ticket is worked on, stands still while the ticket waits for the customer
//! or a third party, and stops when met. Deadlines are computed when a clock (re)starts, so the
//! sweep only compares times; a breach is kept even if the target is met later.

use rapport_runtime::clock::Micros;
use serde::{Deserialize, Serialize};

use super::calendar::Calendar;

/// A minute, in microseconds.
pub const MINUTE: Micros = 60_000_000;

/// An SLA target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TargetKind {
    FirstResponse,
    NextResponse,
    Resolution,
}

impl TargetKind {
    pub const ALL: [TargetKind; 3] = [Self::FirstResponse, Self::NextResponse, Self::Resolution];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::FirstResponse => "FIRST_RESPONSE",
            Self::NextResponse => "NEXT_RESPONSE",
            Self::Resolution => "RESOLUTION",
        }
    }
}

/// Where a target stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SlaState {
    OnTrack,
    AtRisk,
    Breached,
    Met,
}

impl SlaState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OnTrack => "ON_TRACK",
            Self::AtRisk => "AT_RISK",
            Self::Breached => "BREACHED",
            Self::Met => "MET",
        }
    }
}

/// A target's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Clock {
    /// Not started (the next response before the customer writes again).
    Idle,
    /// Counting since this instant.
    Running { since: Micros },
    /// Standing still; `used` holds what was counted.
    Paused,
    /// Met, or the ticket closed without it.
    Stopped,
}

/// One target and its clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub kind: TargetKind,
    /// Working time allowed.
    pub budget: Micros,
    /// Working time after which it is at risk.
    pub warn_after: Micros,
    /// Working time counted up to the clock's last start or pause.
    pub used: Micros,
    pub clock: Clock,
    /// While running: when it breaches and when it turns at risk (None once past).
    pub due: Option<Micros>,
    pub warn: Option<Micros>,
    pub state: SlaState,
    /// Ever breached: stays true once set.
    pub breached: bool,
    pub met_time: Option<Micros>,
    /// Counts restarts of the next-response target, so each cycle's escalations fire once.
    pub cycle: i32,
}

/// A target that changed state in a sweep: an escalation rule's trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub kind: TargetKind,
    pub to: SlaState,
    pub cycle: i32,
}

/// The targets of a policy, in minutes of working time (0 means none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Targets {
    pub first_response_minutes: i32,
    pub next_response_minutes: i32,
    pub resolution_minutes: i32,
    pub warning_percent: i32,
}

/// A ticket's SLA: the policy it was matched to, its calendar, and its targets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sla {
    pub policy: String,
    /// The calendar's key; around the clock when empty.
    pub calendar: String,
    pub targets: Vec<Target>,
}

impl Target {
    fn new(kind: TargetKind, minutes: i32, warning_percent: i32) -> Self {
        let budget = i64::from(minutes) * MINUTE;
        Self {
            kind,
            budget,
            warn_after: budget * i64::from(warning_percent.clamp(1, 99)) / 100,
            used: 0,
            clock: Clock::Idle,
            due: None,
            warn: None,
            state: SlaState::OnTrack,
            breached: false,
            met_time: None,
            cycle: 0,
        }
    }

    /// Starts the clock at `now`, keeping what was used, and schedules its deadlines.
    fn run(&mut self, cal: &Calendar, now: Micros) {
        self.clock = Clock::Running { since: now };
        self.met_time = None;
        self.state = if self.used >= self.budget {
            SlaState::Breached
        } else if self.used >= self.warn_after {
            SlaState::AtRisk
        } else {
            SlaState::OnTrack
        };
        self.due = (self.used < self.budget)
            .then(|| cal.add(now, self.budget - self.used))
            .flatten();
        self.warn = (self.used < self.warn_after)
            .then(|| cal.add(now, self.warn_after - self.used))
            .flatten();
    }

    /// Counts the working time since the clock started, and stands it still. A deadline that
    /// passed before the sweep saw it is a breach all the same.
    fn halt(&mut self, cal: &Calendar, now: Micros, to: Clock) {
        if let Clock::Running { since } = self.clock {
            self.used += cal.working_between(since, now);
        }
        if self.used > self.budget {
            self.breached = true;
            self.state = SlaState::Breached;
        }
        self.clock = to;
        self.due = None;
        self.warn = None;
    }

    /// Working time used at `now`.
    pub fn used_at(&self, cal: &Calendar, now: Micros) -> Micros {
        match self.clock {
            Clock::Running { since } => self.used + cal.working_between(since, now),
            _ => self.used,
        }
    }
}

impl Sla {
    /// The SLA of a ticket created at `now`: the first response and resolution clocks start;
    /// the next response waits for the customer's next message.
    pub fn start(
        policy: &str,
        calendar_key: &str,
        targets: &Targets,
        cal: &Calendar,
        now: Micros,
    ) -> Self {
        let mut out = Vec::new();
        for (kind, minutes) in [
            (TargetKind::FirstResponse, targets.first_response_minutes),
            (TargetKind::NextResponse, targets.next_response_minutes),
            (TargetKind::Resolution, targets.resolution_minutes),
        ] {
            if minutes <= 0 {
                continue;
            }
            let mut t = Target::new(kind, minutes, targets.warning_percent);
            if kind != TargetKind::NextResponse {
                t.run(cal, now);
            }
            out.push(t);
        }
        Self {
            policy: policy.to_owned(),
            calendar: calendar_key.to_owned(),
            targets: out,
        }
    }

    fn target(&mut self, kind: TargetKind) -> Option<&mut Target> {
        self.targets.iter_mut().find(|t| t.kind == kind)
    }

    /// Stands every running clock still (the ticket waits).
    pub fn pause(&mut self, cal: &Calendar, now: Micros) {
        for t in &mut self.targets {
            if matches!(t.clock, Clock::Running { .. }) {
                t.halt(cal, now, Clock::Paused);
            }
        }
    }

    /// Starts every paused clock again.
    pub fn resume(&mut self, cal: &Calendar, now: Micros) {
        for t in &mut self.targets {
            if t.clock == Clock::Paused {
                t.run(cal, now);
            }
        }
    }

    /// Meets the target `kind` at `now` if its clock is running or paused.
    pub fn meet(&mut self, kind: TargetKind, cal: &Calendar, now: Micros) {
        if let Some(t) = self.target(kind)
            && matches!(t.clock, Clock::Running { .. } | Clock::Paused)
        {
            t.halt(cal, now, Clock::Stopped);
            t.met_time = Some(now);
            t.state = SlaState::Met;
        }
    }

    /// Stops every clock without meeting it (the ticket closed unresolved).
    pub fn stop(&mut self, cal: &Calendar, now: Micros) {
        for t in &mut self.targets {
            if matches!(t.clock, Clock::Running { .. } | Clock::Paused) {
                t.halt(cal, now, Clock::Stopped);
            }
        }
    }

    /// Starts the target `kind` again from where it stopped (a reopened ticket's resolution).
    pub fn reopen(&mut self, kind: TargetKind, cal: &Calendar, now: Micros) {
        if let Some(t) = self.target(kind)
            && t.clock == Clock::Stopped
        {
            t.run(cal, now);
        }
    }

    /// Starts the target `kind` over from zero (the next response after the customer wrote).
    pub fn restart(&mut self, kind: TargetKind, cal: &Calendar, now: Micros) {
        if let Some(t) = self.target(kind) {
            t.used = 0;
            t.cycle += 1;
            t.run(cal, now);
        }
    }

    /// Moves running targets whose warning or deadline passed at `now` to AT_RISK or BREACHED,
    /// and returns each change, AT_RISK before BREACHED.
    pub fn check(&mut self, now: Micros) -> Vec<Transition> {
        let mut out = Vec::new();
        for t in &mut self.targets {
            if !matches!(t.clock, Clock::Running { .. }) {
                continue;
            }
            if t.state == SlaState::OnTrack && t.warn.is_some_and(|w| w <= now) {
                t.state = SlaState::AtRisk;
                t.warn = None;
                out.push(Transition {
                    kind: t.kind,
                    to: SlaState::AtRisk,
                    cycle: t.cycle,
                });
            }
            if t.state != SlaState::Breached && t.due.is_some_and(|d| d <= now) {
                t.state = SlaState::Breached;
                t.breached = true;
                t.due = None;
                t.warn = None;
                out.push(Transition {
                    kind: t.kind,
                    to: SlaState::Breached,
                    cycle: t.cycle,
                });
            }
        }
        out
    }

    /// When [`Sla::check`] next has something to do.
    pub fn next_check(&self) -> Option<Micros> {
        self.targets
            .iter()
            .filter(|t| matches!(t.clock, Clock::Running { .. }))
            .filter_map(|t| match t.state {
                SlaState::OnTrack => t.warn.or(t.due),
                SlaState::AtRisk => t.due,
                SlaState::Breached | SlaState::Met => None,
            })
            .min()
    }

    /// The target `kind`, if the policy has it.
    pub fn get(&self, kind: TargetKind) -> Option<&Target> {
        self.targets.iter().find(|t| t.kind == kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Micros = 60 * MINUTE;

    fn targets() -> Targets {
        Targets {
            first_response_minutes: 60,
            next_response_minutes: 30,
            resolution_minutes: 480,
            warning_percent: 75,
        }
    }

    #[test]
    fn clocks_run_warn_breach_and_keep_the_breach() {
        let cal = Calendar::always();
        let mut sla = Sla::start("p", "", &targets(), &cal, 0);
        let first = sla.get(TargetKind::FirstResponse).unwrap();
        assert_eq!(first.warn, Some(45 * MINUTE));
        assert_eq!(first.due, Some(HOUR));
        assert_eq!(
            sla.get(TargetKind::NextResponse).unwrap().clock,
            Clock::Idle
        );
        assert_eq!(sla.next_check(), Some(45 * MINUTE));
        assert!(sla.check(44 * MINUTE).is_empty());
        let t = sla.check(61 * MINUTE);
        assert_eq!(
            t.iter().map(|t| t.to).collect::<Vec<_>>(),
            [SlaState::AtRisk, SlaState::Breached]
        );
        assert!(sla.check(62 * MINUTE).is_empty(), "each change once");
        sla.meet(TargetKind::FirstResponse, &cal, 2 * HOUR);
        let first = sla.get(TargetKind::FirstResponse).unwrap();
        assert_eq!((first.state, first.breached), (SlaState::Met, true));
        assert_eq!(first.used, 2 * HOUR);
    }

    #[test]
    fn a_deadline_passed_unseen_is_a_breach_when_met() {
        let cal = Calendar::always();
        let mut sla = Sla::start("p", "", &targets(), &cal, 0);
        sla.meet(TargetKind::FirstResponse, &cal, 2 * HOUR);
        let first = sla.get(TargetKind::FirstResponse).unwrap();
        assert_eq!((first.state, first.breached), (SlaState::Met, true));
        sla.meet(TargetKind::Resolution, &cal, 8 * HOUR);
        assert!(
            !sla.get(TargetKind::Resolution).unwrap().breached,
            "met right at the deadline"
        );
    }

    #[test]
    fn a_pause_moves_the_deadline_by_the_time_waited() {
        let cal = Calendar::always();
        let mut sla = Sla::start("p", "", &targets(), &cal, 0);
        sla.pause(&cal, HOUR);
        assert_eq!(sla.next_check(), None);
        sla.resume(&cal, 10 * HOUR);
        let res = sla.get(TargetKind::Resolution).unwrap();
        assert_eq!(res.used, HOUR);
        assert_eq!(res.due, Some(17 * HOUR));
    }

    #[test]
    fn next_response_restarts_per_customer_message() {
        let cal = Calendar::always();
        let mut sla = Sla::start("p", "", &targets(), &cal, 0);
        sla.restart(TargetKind::NextResponse, &cal, HOUR);
        let next = sla.get(TargetKind::NextResponse).unwrap();
        assert_eq!((next.cycle, next.due), (1, Some(HOUR + 30 * MINUTE)));
        sla.meet(TargetKind::NextResponse, &cal, HOUR + MINUTE);
        sla.restart(TargetKind::NextResponse, &cal, 2 * HOUR);
        assert_eq!(sla.get(TargetKind::NextResponse).unwrap().cycle, 2);
    }

    #[test]
    fn reopening_resumes_resolution_where_it_stopped() {
        let cal = Calendar::always();
        let mut sla = Sla::start("p", "", &targets(), &cal, 0);
        sla.meet(TargetKind::Resolution, &cal, 7 * HOUR);
        sla.reopen(TargetKind::Resolution, &cal, 20 * HOUR);
        let res = sla.get(TargetKind::Resolution).unwrap();
        assert_eq!(res.state, SlaState::AtRisk, "7 of 8 hours used");
        assert_eq!(res.due, Some(21 * HOUR));
    }
}
