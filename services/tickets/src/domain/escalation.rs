//! Which escalation rules fire when SLA targets change state (TK4). A rule fires once per
//! ticket, target and cycle (each restart of the next-response clock is a new cycle), so a
//! sweep that runs again, or a second replica, fires nothing twice.

use super::{settings::EscalationRule, sla::Transition, ticket::Ticket};

/// A rule that fires for a transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Firing<'a> {
    pub rule: &'a EscalationRule,
    pub transition: Transition,
}

/// The key that records that `rule` fired for `tr`.
fn key(rule: &EscalationRule, tr: &Transition) -> String {
    format!(
        "{} / {} / {}",
        rule.display_name,
        tr.kind.as_str(),
        tr.cycle
    )
}

/// The rules that fire on `t` for `transitions`, lowest level first, each recorded in
/// `t.fired` and raising `t.escalation_level` to its level.
pub fn fire<'a>(
    rules: &'a [EscalationRule],
    t: &mut Ticket,
    transitions: &[Transition],
) -> Vec<Firing<'a>> {
    let mut out = Vec::new();
    for tr in transitions {
        for rule in rules {
            let applies = rule.on == tr.to
                && rule.target.is_none_or(|k| k == tr.kind)
                && rule.conditions.matches(t);
            let k = key(rule, tr);
            if applies && !t.fired.contains(&k) {
                t.fired.push(k);
                out.push(Firing {
                    rule,
                    transition: *tr,
                });
            }
        }
    }
    out.sort_by_key(|f| f.rule.level);
    if let Some(top) = out.iter().map(|f| f.rule.level).max() {
        t.escalation_level = t.escalation_level.max(top);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        settings::{Action, Conditions},
        sla::{SlaState, TargetKind},
        ticket::tests_support::sample,
    };

    fn rule(name: &str, on: SlaState, level: i32) -> EscalationRule {
        EscalationRule {
            display_name: name.into(),
            on,
            target: Some(TargetKind::Resolution),
            level,
            actions: vec![Action::RaisePriority],
            conditions: Conditions::default(),
        }
    }

    #[test]
    fn each_rule_fires_once_per_target_and_cycle() {
        let rules = [
            rule("supervisor", SlaState::Breached, 2),
            rule("warn", SlaState::AtRisk, 1),
        ];
        let mut t = sample(0);
        let tr = |to| Transition {
            kind: TargetKind::Resolution,
            to,
            cycle: 0,
        };
        let fired = fire(
            &rules,
            &mut t,
            &[tr(SlaState::AtRisk), tr(SlaState::Breached)],
        );
        let names: Vec<&str> = fired.iter().map(|f| f.rule.display_name.as_str()).collect();
        assert_eq!(names, ["warn", "supervisor"]);
        assert_eq!(t.escalation_level, 2);
        assert!(fire(&rules, &mut t, &[tr(SlaState::Breached)]).is_empty());
        let other = Transition {
            kind: TargetKind::FirstResponse,
            to: SlaState::Breached,
            cycle: 0,
        };
        assert!(fire(&rules, &mut t, &[other]).is_empty(), "another target");
    }
}
