//! Follow-up rules and forced reclaim (LE7): when a lead in a private pool breaks a rule, and
//! when its owner is warned. The sweep evaluates the same rule in SQL, set-based; this is the
//! rule itself, for one lead.

use rapport_runtime::clock::Micros;

use super::{
    lead::{Lead, State},
    settings::{Condition, FollowUpRule},
};

/// When the rule's clock started for `lead`: the assignment, or the later follow-up (NO_FOLLOW_UP)
/// or state change (NO_STAGE_ADVANCE).
pub fn clock_start(lead: &Lead, condition: Condition) -> Option<Micros> {
    let assigned = lead.assign_time?;
    let later = match condition {
        Condition::NoFollowUp => lead.last_follow_up_time,
        Condition::NoStageAdvance => Some(lead.state_change_time),
        Condition::NoDeal => None,
    };
    Some(later.map_or(assigned, |t| t.max(assigned)))
}

/// The states a rule watches: converted leads have no follow-up or stage rules left, but can
/// still miss their deal; unqualified ones are the owner's to release.
pub fn watches(condition: Condition, state: State) -> bool {
    match condition {
        Condition::NoFollowUp | Condition::NoStageAdvance => {
            matches!(state, State::New | State::Contacting | State::Qualified)
        }
        Condition::NoDeal => state != State::Unqualified,
    }
}

/// Whether `rule` applies to `lead` at all: owned, unlocked, not won, live, in a watched
/// state and of the rule's grade.
pub fn applies(rule: &FollowUpRule, lead: &Lead) -> bool {
    !lead.owner_id.is_empty()
        && !lead.locked
        && !lead.won
        && lead.delete_time.is_none()
        && watches(rule.condition, lead.state)
        && rule.grade.is_none_or(|g| g == lead.intent)
}

/// When `lead` is due for reclaim under `rule`, if the rule applies.
pub fn due_time(rule: &FollowUpRule, lead: &Lead) -> Option<Micros> {
    applies(rule, lead)
        .then(|| clock_start(lead, rule.condition))
        .flatten()
        .map(|start| start + rule.after)
}

/// When the owner is warned, if the rule warns.
pub fn warn_time(rule: &FollowUpRule, lead: &Lead) -> Option<Micros> {
    (rule.warn_before > 0)
        .then(|| due_time(rule, lead))
        .flatten()
        .map(|due| due - rule.warn_before)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{lead::tests_support::sample, settings::ReclaimAction};

    const DAY: Micros = 86_400_000_000;

    fn rule(condition: Condition) -> FollowUpRule {
        FollowUpRule {
            display_name: "r".into(),
            condition,
            after: 3 * DAY,
            warn_before: DAY,
            grade: None,
            action: ReclaimAction::ReturnToPool,
        }
    }

    #[test]
    fn follow_ups_restart_the_clock() {
        let mut lead = sample();
        lead.owner_id = "a".into();
        lead.assign_time = Some(10 * DAY);
        let r = rule(Condition::NoFollowUp);
        assert_eq!(due_time(&r, &lead), Some(13 * DAY));
        assert_eq!(warn_time(&r, &lead), Some(12 * DAY));
        lead.last_follow_up_time = Some(11 * DAY);
        assert_eq!(due_time(&r, &lead), Some(14 * DAY));
        lead.last_follow_up_time = Some(DAY);
        assert_eq!(
            due_time(&r, &lead),
            Some(13 * DAY),
            "follow-ups before assignment do not count"
        );
        assert_eq!(due_time(&rule(Condition::NoDeal), &lead), Some(13 * DAY));
    }

    #[test]
    fn exempt_leads() {
        let mut lead = sample();
        let r = rule(Condition::NoDeal);
        assert_eq!(due_time(&r, &lead), None, "in the public pool");
        lead.owner_id = "a".into();
        lead.assign_time = Some(0);
        lead.locked = true;
        assert_eq!(due_time(&r, &lead), None, "locked");
        lead.locked = false;
        lead.won = true;
        assert_eq!(due_time(&r, &lead), None, "won");
        lead.won = false;
        lead.state = State::Converted;
        assert!(
            due_time(&r, &lead).is_some(),
            "converted leads can still miss their deal"
        );
        assert_eq!(due_time(&rule(Condition::NoFollowUp), &lead), None);
    }
}
