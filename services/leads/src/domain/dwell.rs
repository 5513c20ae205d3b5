//! Dwell-time alerts (LE8): an opportunity that stays in an open stage longer than the stage's
//! normal dwell alerts its owner; after the escalation dwell its manager hears too. Each level
//! fires once per visit of a stage: the opportunity's `dwell_alert` records the level reached,
//! and a move to another stage starts again at 0.

use rapport_runtime::clock::Micros;
use uuid::Uuid;

use super::pipeline::Stage;

/// A level of alert for one stage visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// The owner is told (`dwell_alert` = 1).
    Owner = 1,
    /// The owner's manager is told (`dwell_alert` = 2).
    Manager = 2,
}

impl Level {
    /// Both levels, in the order they fire.
    pub const ALL: [Level; 2] = [Level::Owner, Level::Manager];

    /// The `dwell_alert` value once this level fired.
    pub fn stored(self) -> i64 {
        self as i64
    }

    /// How long in the stage makes this level due, if it ever is.
    pub fn after(self, stage: &Stage) -> Option<Micros> {
        match self {
            Level::Owner => stage.alert_after(),
            Level::Manager => stage.escalation_after(),
        }
    }

    /// Opportunities that entered `stage` before this time are due for this level at `now`
    /// (strictly longer than the dwell: "exceeds" it). `None` when the stage never alerts.
    pub fn cutoff(self, stage: &Stage, now: Micros) -> Option<Micros> {
        self.after(stage).map(|d| now.saturating_sub(d))
    }
}

/// The levels an opportunity that entered `stage` at `entered`, having reached `stored` so far,
/// still has to fire at `now`, in order.
pub fn due(stage: &Stage, entered: Micros, stored: i64, now: Micros) -> Vec<Level> {
    Level::ALL
        .into_iter()
        .filter(|l| l.stored() > stored)
        .filter(|l| l.cutoff(stage, now).is_some_and(|c| entered < c))
        .collect()
}

/// The key that makes raising one level for one stage visit idempotent.
pub fn dedupe_key(opportunity: Uuid, stage_enter_time: Micros, level: Level) -> String {
    format!(
        "dwell:{}:{stage_enter_time}:{}",
        opportunity.hyphenated(),
        level.stored()
    )
}

#[cfg(test)]
mod tests {
    use rapport_runtime::clock::{DAY, HOUR};

    use super::*;
    use crate::domain::pipeline::{StageKind, example};

    #[test]
    fn owner_after_normal_then_manager_after_twice() {
        let p = example();
        let s = p.stage("online_viewing").unwrap(); // 3 days
        let t0 = 100 * DAY;
        assert!(
            due(s, t0, 0, t0 + 3 * DAY).is_empty(),
            "exactly normal is not over it"
        );
        assert_eq!(due(s, t0, 0, t0 + 3 * DAY + HOUR), [Level::Owner]);
        assert_eq!(due(s, t0, 1, t0 + 3 * DAY + HOUR), []);
        assert_eq!(due(s, t0, 1, t0 + 6 * DAY + HOUR), [Level::Manager]);
        // A sweep that missed both (the job was down) fires both, owner first.
        assert_eq!(due(s, t0, 0, t0 + 30 * DAY), [Level::Owner, Level::Manager]);
        assert_eq!(due(s, t0, 2, t0 + 30 * DAY), []);
    }

    #[test]
    fn explicit_escalation_and_silent_stages() {
        let mut s = example().stage("first_visit").unwrap().clone(); // 7 days
        s.escalation_dwell = 10 * DAY;
        assert_eq!(due(&s, 0, 1, 9 * DAY), []);
        assert_eq!(due(&s, 0, 1, 10 * DAY + 1), [Level::Manager]);
        s.normal_dwell = 0;
        assert_eq!(due(&s, 0, 0, 1000 * DAY), []);
        let won = example().stage("deal").unwrap().clone();
        assert_eq!(won.kind, StageKind::Won);
        assert_eq!(due(&won, 0, 0, 1000 * DAY), []);
    }

    #[test]
    fn cutoffs_and_keys() {
        let s = example().stage("online_viewing").unwrap().clone();
        assert_eq!(Level::Owner.cutoff(&s, 10 * DAY), Some(7 * DAY));
        assert_eq!(Level::Manager.cutoff(&s, 10 * DAY), Some(4 * DAY));
        let id = Uuid::nil();
        assert_eq!(
            dedupe_key(id, 42, Level::Manager),
            "dwell:00000000-0000-0000-0000-000000000000:42:2"
        );
    }
}
