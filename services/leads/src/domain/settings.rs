//! The tenant's lead settings: assignment strategy and rules (LE6), follow-up rules (LE7),
//! claim cool-down (LE5) and intent thresholds (LE10). Stored as one JSON document.

use rapport_kit::{
    duplicates::{Disclosure, DuplicatePolicy},
    names,
};
use rapport_runtime::clock::Micros;
use serde::{Deserialize, Serialize};

use super::{
    duplicates::Rules,
    lead::{Grades, Intent, Source},
};

/// The name of the settings singleton.
pub const SETTINGS_NAME: &str = "leadSettings";
/// At most this many assignment rules.
pub const MAX_ASSIGNMENT_RULES: usize = 200;
/// At most this many follow-up rules.
pub const MAX_FOLLOW_UP_RULES: usize = 100;
const HOUR: Micros = 3_600_000_000;
const DAY: Micros = 24 * HOUR;

/// How a rep is picked among eligible ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Strategy {
    RoundRobin,
    Weighted,
    LeastLoaded,
    RuleBased,
    SkillsMatch,
}

/// A rule of rule-based assignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentRule {
    pub display_name: String,
    #[serde(default)]
    pub regions: Vec<String>,
    #[serde(default)]
    pub product_lines: Vec<String>,
    #[serde(default, with = "sources")]
    pub sources: Vec<Source>,
    #[serde(default)]
    pub languages: Vec<String>,
    #[serde(default)]
    pub min_score: i64,
    pub target: Target,
    pub strategy: Strategy,
}

/// Where a rule sends a lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    Team(String),
    Rep(String),
}

impl Target {
    /// `teams/{team}` or `reps/{rep}`.
    pub fn resource_name(&self) -> String {
        match self {
            Target::Team(t) => format!("teams/{t}"),
            Target::Rep(r) => format!("reps/{r}"),
        }
    }
}

/// What a follow-up rule watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Condition {
    NoFollowUp,
    NoStageAdvance,
    NoDeal,
}

/// What happens to a lead that breaks a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReclaimAction {
    ReturnToPool,
    Reassign,
}

/// A follow-up rule (LE7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpRule {
    pub display_name: String,
    pub condition: Condition,
    /// Microseconds.
    pub after: Micros,
    /// Microseconds; 0: no warning.
    pub warn_before: Micros,
    #[serde(default, with = "grade")]
    pub grade: Option<Intent>,
    pub action: ReclaimAction,
}

/// The settings document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    pub default_strategy: Strategy,
    #[serde(default)]
    pub assignment_rules: Vec<AssignmentRule>,
    #[serde(default)]
    pub follow_up_rules: Vec<FollowUpRule>,
    /// Microseconds.
    pub claim_cooldown: Micros,
    pub low_intent_below: i64,
    pub high_intent_from: i64,
    /// What happens to a lead whose phone or email an open lead has: flagged unless the tenant
    /// chose to refuse it, since a lead that comes in twice (two forms, a call after a visit) is
    /// worth keeping, and its owner should know.
    #[serde(default = "flag")]
    pub duplicate_policy: DuplicatePolicy,
    /// What a duplicate check tells of a holder the caller may not see.
    #[serde(default)]
    pub duplicate_disclosure: Disclosure,
    // The store keeps these two in their own columns and overrides the document's copy on
    // read; serialized all the same so the cached settings carry them.
    #[serde(default)]
    pub update_time: Micros,
    #[serde(default)]
    pub version: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            default_strategy: Strategy::RoundRobin,
            assignment_rules: Vec::new(),
            follow_up_rules: Vec::new(),
            claim_cooldown: 7 * DAY,
            low_intent_below: 30,
            high_intent_from: 70,
            duplicate_policy: DuplicatePolicy::Flag,
            duplicate_disclosure: Disclosure::Masked,
            update_time: 0,
            version: 0,
        }
    }
}

fn flag() -> DuplicatePolicy {
    DuplicatePolicy::Flag
}

impl Settings {
    /// The intent thresholds.
    pub fn grades(&self) -> Grades {
        Grades {
            low_below: self.low_intent_below,
            high_from: self.high_intent_from,
        }
    }

    /// The duplicate rules.
    pub fn duplicates(&self) -> Rules {
        Rules {
            policy: self.duplicate_policy,
            disclosure: self.duplicate_disclosure,
        }
    }

    /// The current etag.
    pub fn etag(&self) -> String {
        names::etag(SETTINGS_NAME, self.version)
    }

    /// Every problem of the settings as a whole, as (field, description).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if !(0..=100).contains(&self.low_intent_below) {
            out.push(("settings.low_intent_below".into(), "must be 0..100".into()));
        }
        if !(0..=100).contains(&self.high_intent_from) {
            out.push(("settings.high_intent_from".into(), "must be 0..100".into()));
        } else if self.high_intent_from <= self.low_intent_below {
            out.push((
                "settings.high_intent_from".into(),
                "must be above low_intent_below".into(),
            ));
        }
        if self.claim_cooldown < 0 {
            out.push((
                "settings.claim_cooldown".into(),
                "must not be negative".into(),
            ));
        }
        if self.assignment_rules.len() > MAX_ASSIGNMENT_RULES {
            out.push((
                "settings.assignment_rules".into(),
                format!("at most {MAX_ASSIGNMENT_RULES}"),
            ));
        }
        if self.follow_up_rules.len() > MAX_FOLLOW_UP_RULES {
            out.push((
                "settings.follow_up_rules".into(),
                format!("at most {MAX_FOLLOW_UP_RULES}"),
            ));
        }
        for (i, r) in self.follow_up_rules.iter().enumerate() {
            for (field, what) in r.problems() {
                out.push((
                    format!("settings.follow_up_rules[{i}].{field}"),
                    what.into(),
                ));
            }
        }
        out
    }
}

impl FollowUpRule {
    /// Every problem of the rule on its own, as (field of the rule, description).
    pub fn problems(&self) -> Vec<(&'static str, &'static str)> {
        let mut out = Vec::new();
        if self.after < HOUR {
            out.push(("after", "must be at least one hour"));
        }
        if self.warn_before < 0 || (self.warn_before > 0 && self.warn_before >= self.after) {
            out.push(("warn_before", "must be 0 or less than after"));
        }
        out
    }
}

/// Sources stored by name.
mod sources {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::domain::lead::Source;

    pub fn serialize<S: Serializer>(v: &[Source], s: S) -> Result<S::Ok, S::Error> {
        v.iter()
            .map(|x| x.as_str())
            .collect::<Vec<_>>()
            .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Source>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|x| {
                Source::parse(x).ok_or_else(|| serde::de::Error::custom(format!("source {x}")))
            })
            .collect()
    }
}

/// An optional grade stored by name.
mod grade {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::domain::lead::Intent;

    pub fn serialize<S: Serializer>(v: &Option<Intent>, s: S) -> Result<S::Ok, S::Error> {
        v.map(|g| g.as_str()).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Intent>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|x| {
                Intent::parse(&x).ok_or_else(|| serde::de::Error::custom(format!("grade {x}")))
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_round_trip() {
        let s = Settings::default();
        assert!(s.problems().is_empty());
        let mut s2 = s.clone();
        s2.follow_up_rules.push(FollowUpRule {
            display_name: "3 days".into(),
            condition: Condition::NoFollowUp,
            after: 3 * DAY,
            warn_before: DAY,
            grade: Some(Intent::High),
            action: ReclaimAction::ReturnToPool,
        });
        s2.assignment_rules.push(AssignmentRule {
            display_name: "north".into(),
            regions: vec!["北京".into()],
            product_lines: vec![],
            sources: vec![Source::WalkIn],
            languages: vec![],
            min_score: 0,
            target: Target::Team("north".into()),
            strategy: Strategy::LeastLoaded,
        });
        let json = serde_json::to_string(&s2).unwrap();
        let back: Settings = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s2);
    }

    #[test]
    fn duplicate_leads_are_flagged_unless_the_tenant_refuses_them() {
        assert_eq!(Settings::default().duplicate_policy, DuplicatePolicy::Flag);
        // Settings saved before the policy existed read as FLAG too.
        let mut doc = serde_json::to_value(Settings::default()).unwrap();
        doc.as_object_mut().unwrap().remove("duplicate_policy");
        let old: Settings = serde_json::from_value(doc).unwrap();
        assert_eq!(old.duplicate_policy, DuplicatePolicy::Flag);
    }

    #[test]
    fn bad_thresholds_and_rules_are_named() {
        let mut s = Settings {
            low_intent_below: 80,
            high_intent_from: 70,
            ..Settings::default()
        };
        s.follow_up_rules.push(FollowUpRule {
            display_name: "x".into(),
            condition: Condition::NoDeal,
            after: 10,
            warn_before: 20,
            grade: None,
            action: ReclaimAction::Reassign,
        });
        let fields: Vec<_> = s.problems().into_iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            [
                "settings.high_intent_from",
                "settings.follow_up_rules[0].after",
                "settings.follow_up_rules[0].warn_before"
            ]
        );
    }
}
