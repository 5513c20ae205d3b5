//! Lead settings: proto <-> domain.

use rapport_kit::{
    duplicates::{Disclosure, DuplicatePolicy},
    names,
};
use rapport_proto::{leads as pb, types};
use rapport_runtime::{
    clock::{Micros, to_timestamp},
    validation::Violations,
};

use super::lead::{intent_from_proto, intent_to_proto, source_from_proto, source_to_proto};
use crate::domain::settings::{
    AssignmentRule, Condition, FollowUpRule, ReclaimAction, SETTINGS_NAME, Settings, Strategy,
    Target,
};

/// A strategy from the proto; None for UNSPECIFIED.
pub fn strategy_from_proto(s: i32) -> Option<Strategy> {
    match pb::AssignmentStrategy::try_from(s).ok()? {
        pb::AssignmentStrategy::RoundRobin => Some(Strategy::RoundRobin),
        pb::AssignmentStrategy::Weighted => Some(Strategy::Weighted),
        pb::AssignmentStrategy::LeastLoaded => Some(Strategy::LeastLoaded),
        pb::AssignmentStrategy::RuleBased => Some(Strategy::RuleBased),
        pb::AssignmentStrategy::SkillsMatch => Some(Strategy::SkillsMatch),
        pb::AssignmentStrategy::Unspecified => None,
    }
}

fn strategy_to_proto(s: Strategy) -> pb::AssignmentStrategy {
    match s {
        Strategy::RoundRobin => pb::AssignmentStrategy::RoundRobin,
        Strategy::Weighted => pb::AssignmentStrategy::Weighted,
        Strategy::LeastLoaded => pb::AssignmentStrategy::LeastLoaded,
        Strategy::RuleBased => pb::AssignmentStrategy::RuleBased,
        Strategy::SkillsMatch => pb::AssignmentStrategy::SkillsMatch,
    }
}

/// Microseconds of a proto duration; None when negative or out of range.
pub fn duration_micros(d: &prost_types::Duration) -> Option<Micros> {
    (d.seconds >= 0 && d.nanos >= 0)
        .then(|| {
            d.seconds
                .checked_mul(1_000_000)?
                .checked_add(i64::from(d.nanos / 1000))
        })
        .flatten()
}

/// A proto duration of `micros`.
pub fn duration(micros: Micros) -> prost_types::Duration {
    prost_types::Duration {
        seconds: micros / 1_000_000,
        nanos: ((micros % 1_000_000) * 1000) as i32,
    }
}

/// Reads the fields `fields` of `s` into `into`, reporting bad ones.
pub fn apply(s: &pb::LeadSettings, fields: &[&str], into: &mut Settings, v: &mut Violations) {
    for f in fields {
        match *f {
            "default_strategy" => match strategy_from_proto(s.default_strategy) {
                Some(x) => into.default_strategy = x,
                None => v.add("settings.default_strategy", "is required"),
            },
            "assignment_rules" => {
                into.assignment_rules = s
                    .assignment_rules
                    .iter()
                    .enumerate()
                    .filter_map(|(i, r)| {
                        parse_assignment_rule(r, &format!("settings.assignment_rules[{i}]"), v)
                    })
                    .collect();
            }
            "follow_up_rules" => {
                into.follow_up_rules = s
                    .follow_up_rules
                    .iter()
                    .enumerate()
                    .filter_map(|(i, r)| {
                        parse_follow_up_rule(r, &format!("settings.follow_up_rules[{i}]"), v)
                    })
                    .collect();
            }
            "claim_cooldown" => match s.claim_cooldown.as_ref().map(duration_micros) {
                Some(Some(m)) => into.claim_cooldown = m,
                Some(None) => v.add("settings.claim_cooldown", "must not be negative"),
                None => into.claim_cooldown = Settings::default().claim_cooldown,
            },
            "low_intent_below" => into.low_intent_below = i64::from(s.low_intent_below),
            "duplicate_policy" => match pb::LeadDuplicatePolicy::try_from(s.duplicate_policy) {
                Ok(pb::LeadDuplicatePolicy::Unspecified | pb::LeadDuplicatePolicy::Flag) => {
                    into.duplicate_policy = DuplicatePolicy::Flag
                }
                Ok(pb::LeadDuplicatePolicy::Reject) => {
                    into.duplicate_policy = DuplicatePolicy::Reject
                }
                Err(_) => v.add(
                    "settings.duplicate_policy",
                    format!("{} is not a LeadDuplicatePolicy", s.duplicate_policy),
                ),
            },
            "duplicate_disclosure" => {
                match types::DuplicateDisclosure::try_from(s.duplicate_disclosure) {
                    Ok(
                        types::DuplicateDisclosure::Unspecified
                        | types::DuplicateDisclosure::Masked,
                    ) => into.duplicate_disclosure = Disclosure::Masked,
                    Ok(types::DuplicateDisclosure::Hidden) => {
                        into.duplicate_disclosure = Disclosure::Hidden
                    }
                    Err(_) => v.add(
                        "settings.duplicate_disclosure",
                        format!("{} is not a DuplicateDisclosure", s.duplicate_disclosure),
                    ),
                }
            }
            "high_intent_from" => into.high_intent_from = i64::from(s.high_intent_from),
            _ => {}
        }
    }
}

fn parse_assignment_rule(
    r: &pb::AssignmentRule,
    at: &str,
    v: &mut Violations,
) -> Option<AssignmentRule> {
    let mut ok = true;
    let mut bad = |field: &str, what: &str| {
        v.add(format!("{at}.{field}"), what);
        ok = false;
    };
    let name = r.display_name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        bad("display_name", "must be 1..200 characters");
    }
    let target = if let Some(t) = r.target.strip_prefix("teams/").filter(|t| names::is_key(t)) {
        Some(Target::Team(t.to_owned()))
    } else if let Ok(rep) = names::parse_subject("reps", &r.target) {
        Some(Target::Rep(rep.to_owned()))
    } else {
        bad("target", "must be \"teams/{team}\" or \"reps/{rep}\"");
        None
    };
    let strategy = match strategy_from_proto(r.strategy) {
        None => Strategy::RoundRobin,
        Some(Strategy::RuleBased) => {
            bad("strategy", "must not be RULE_BASED");
            Strategy::RoundRobin
        }
        Some(s) => s,
    };
    if !(0..=100).contains(&r.min_score) {
        bad("min_score", "must be 0..100");
    }
    let mut sources = Vec::new();
    for s in &r.sources {
        match pb::LeadSource::try_from(*s) {
            Ok(pb::LeadSource::Unspecified) | Err(_) => bad("sources", "must be known sources"),
            Ok(x) => sources.push(source_from_proto(x)),
        }
    }
    let clean = |xs: &[String]| {
        xs.iter()
            .map(|x| x.trim().to_owned())
            .filter(|x| !x.is_empty())
            .collect()
    };
    if !ok {
        return None;
    }
    Some(AssignmentRule {
        display_name: name.to_owned(),
        regions: clean(&r.regions),
        product_lines: r
            .product_lines
            .iter()
            .map(|x| x.trim().to_lowercase())
            .filter(|x| !x.is_empty())
            .collect(),
        sources,
        languages: clean(&r.languages),
        min_score: i64::from(r.min_score),
        target: target?,
        strategy,
    })
}

fn parse_follow_up_rule(
    r: &pb::FollowUpRule,
    at: &str,
    v: &mut Violations,
) -> Option<FollowUpRule> {
    let mut ok = true;
    let mut bad = |field: &str, what: &str| {
        v.add(format!("{at}.{field}"), what);
        ok = false;
    };
    let name = r.display_name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        bad("display_name", "must be 1..200 characters");
    }
    let condition = match pb::FollowUpCondition::try_from(r.condition) {
        Ok(pb::FollowUpCondition::NoFollowUp) => Some(Condition::NoFollowUp),
        Ok(pb::FollowUpCondition::NoStageAdvance) => Some(Condition::NoStageAdvance),
        Ok(pb::FollowUpCondition::NoDeal) => Some(Condition::NoDeal),
        _ => {
            bad(
                "condition",
                "is required: NO_FOLLOW_UP, NO_STAGE_ADVANCE or NO_DEAL",
            );
            None
        }
    };
    let action = match pb::ReclaimAction::try_from(r.action) {
        Ok(pb::ReclaimAction::ReturnToPool) => Some(ReclaimAction::ReturnToPool),
        Ok(pb::ReclaimAction::Reassign) => Some(ReclaimAction::Reassign),
        _ => {
            bad("action", "is required: RETURN_TO_POOL or REASSIGN");
            None
        }
    };
    let after = match r.after.as_ref().map(duration_micros) {
        Some(Some(m)) => m,
        _ => {
            bad("after", "is required and must not be negative");
            0
        }
    };
    let warn_before = match r.warn_before.as_ref().map(duration_micros) {
        None => 0,
        Some(Some(m)) => m,
        Some(None) => {
            bad("warn_before", "must not be negative");
            0
        }
    };
    if !ok {
        return None;
    }
    let rule = FollowUpRule {
        display_name: name.to_owned(),
        condition: condition?,
        after,
        warn_before,
        grade: intent_from_proto(r.grade),
        action: action?,
    };
    // Checked here, under the rule's index in the request: rules that fail to parse are
    // dropped, so Settings::problems would name later rules by the wrong index.
    let problems = rule.problems();
    for (field, what) in &problems {
        v.add(format!("{at}.{field}"), *what);
    }
    problems.is_empty().then_some(rule)
}

/// The settings as the API shows them.
pub fn settings_to_proto(s: &Settings) -> pb::LeadSettings {
    pb::LeadSettings {
        name: SETTINGS_NAME.into(),
        default_strategy: strategy_to_proto(s.default_strategy).into(),
        assignment_rules: s
            .assignment_rules
            .iter()
            .map(|r| pb::AssignmentRule {
                display_name: r.display_name.clone(),
                regions: r.regions.clone(),
                product_lines: r.product_lines.clone(),
                sources: r
                    .sources
                    .iter()
                    .map(|x| source_to_proto(*x).into())
                    .collect(),
                languages: r.languages.clone(),
                min_score: r.min_score as i32,
                target: r.target.resource_name(),
                strategy: strategy_to_proto(r.strategy).into(),
            })
            .collect(),
        follow_up_rules: s
            .follow_up_rules
            .iter()
            .map(|r| pb::FollowUpRule {
                display_name: r.display_name.clone(),
                condition: match r.condition {
                    Condition::NoFollowUp => pb::FollowUpCondition::NoFollowUp,
                    Condition::NoStageAdvance => pb::FollowUpCondition::NoStageAdvance,
                    Condition::NoDeal => pb::FollowUpCondition::NoDeal,
                }
                .into(),
                after: Some(duration(r.after)),
                warn_before: (r.warn_before > 0).then(|| duration(r.warn_before)),
                grade: r
                    .grade
                    .map(|g| intent_to_proto(g).into())
                    .unwrap_or_default(),
                action: match r.action {
                    ReclaimAction::ReturnToPool => pb::ReclaimAction::ReturnToPool,
                    ReclaimAction::Reassign => pb::ReclaimAction::Reassign,
                }
                .into(),
            })
            .collect(),
        claim_cooldown: Some(duration(s.claim_cooldown)),
        low_intent_below: s.low_intent_below as i32,
        high_intent_from: s.high_intent_from as i32,
        duplicate_policy: match s.duplicate_policy {
            DuplicatePolicy::Flag => pb::LeadDuplicatePolicy::Flag,
            DuplicatePolicy::Reject => pb::LeadDuplicatePolicy::Reject,
        }
        .into(),
        duplicate_disclosure: match s.duplicate_disclosure {
            Disclosure::Masked => types::DuplicateDisclosure::Masked,
            Disclosure::Hidden => types::DuplicateDisclosure::Hidden,
        }
        .into(),
        update_time: (s.version > 0).then(|| to_timestamp(s.update_time)),
        etag: s.etag(),
    }
}
