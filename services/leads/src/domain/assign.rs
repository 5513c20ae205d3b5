//! Assignment (LE6): which reps may get a lead and in what order a strategy tries them. The
//! store then takes the first candidate that still has room, atomically, so the order here is
//! a preference and the capacity check in SQL is the guarantee.

use std::cmp::Ordering;

use super::{
    lead::Lead,
    settings::{AssignmentRule, Settings, Strategy, Target},
};

/// Candidates tried per assignment; beyond this many, reps are too far down the order to matter.
pub const MAX_CANDIDATES: usize = 64;

/// A rep as assignment sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepLoad {
    pub id: String,
    pub team_id: String,
    pub status: RepStatus,
    pub skills: Vec<String>,
    pub regions: Vec<String>,
    pub languages: Vec<String>,
    pub product_lines: Vec<String>,
    pub capacity: i64,
    pub open_leads: i64,
    pub weight: i64,
    pub last_assign_time: i64,
    pub assigned_total: i64,
}

pub use super::org::RepStatus;

/// Which reps an assignment by strategy may pick.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pick<'a> {
    /// The strategy; the tenant's default when None.
    pub strategy: Option<Strategy>,
    /// Only reps of this team.
    pub team: Option<&'a str>,
    /// Never this rep (a reclaimed lead's former owner).
    pub exclude: Option<&'a str>,
}

/// How the rep was chosen, as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Strategy(Strategy),
    Rule,
}

/// What a strategy proposes: reps to try in order, and how to explain the pick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub kind: Kind,
    /// Rep ids, best first.
    pub candidates: Vec<String>,
    /// The reason's context: strategy, rule, how many were eligible and why others were skipped.
    pub context: String,
}

impl Plan {
    /// The recorded reason when `rep` (one of the candidates) got the lead.
    pub fn reason(&self, rep: &str) -> String {
        let rank = self.candidates.iter().position(|c| c == rep).unwrap_or(0);
        if rank == 0 {
            format!("{}; {rep} came first", self.context)
        } else {
            format!(
                "{}; {rep} was choice {} (those before it were full or busy)",
                self.context,
                rank + 1
            )
        }
    }
}

/// Plans the assignment of `lead`: the strategy asked for (or the tenant's default), limited to
/// `team` when given; rule-based assignment tries the tenant's rules first.
pub fn plan(
    lead: &Lead,
    settings: &Settings,
    asked: Option<Strategy>,
    team: Option<&str>,
    reps: &[RepLoad],
) -> Plan {
    let strategy = asked.unwrap_or(settings.default_strategy);
    if strategy == Strategy::RuleBased {
        if let Some(rule) = settings
            .assignment_rules
            .iter()
            .find(|r| rule_matches(r, lead))
        {
            return plan_rule(lead, rule, team, reps);
        }
        let fallback = match settings.default_strategy {
            Strategy::RuleBased => Strategy::RoundRobin,
            s => s,
        };
        let mut p = plan_strategy(lead, fallback, team, reps);
        p.context = format!("no rule matched; {}", p.context);
        return p;
    }
    plan_strategy(lead, strategy, team, reps)
}

fn plan_rule(lead: &Lead, rule: &AssignmentRule, team: Option<&str>, reps: &[RepLoad]) -> Plan {
    match &rule.target {
        Target::Rep(rep) => {
            let (eligible, skipped) = eligible(reps, team, |r| &r.id == rep);
            Plan {
                kind: Kind::Rule,
                candidates: eligible.iter().map(|r| r.id.clone()).collect(),
                context: format!(
                    "rule \"{}\" sends the lead to reps/{rep}{}",
                    rule.display_name,
                    skipped.describe()
                ),
            }
        }
        Target::Team(t) => {
            let strategy = match rule.strategy {
                Strategy::RuleBased => Strategy::RoundRobin,
                s => s,
            };
            let in_team: Vec<RepLoad> = reps.iter().filter(|r| &r.team_id == t).cloned().collect();
            let mut p = plan_strategy(lead, strategy, team, &in_team);
            p.kind = Kind::Rule;
            p.context = format!(
                "rule \"{}\" sends the lead to teams/{t}; {}",
                rule.display_name, p.context
            );
            p
        }
    }
}

fn plan_strategy(lead: &Lead, strategy: Strategy, team: Option<&str>, reps: &[RepLoad]) -> Plan {
    let (mut eligible, skipped) = eligible(reps, team, |_| true);
    let by_turn = |a: &&RepLoad, b: &&RepLoad| {
        a.last_assign_time
            .cmp(&b.last_assign_time)
            .then_with(|| a.id.cmp(&b.id))
    };
    match strategy {
        Strategy::RoundRobin | Strategy::RuleBased => eligible.sort_by(by_turn),
        Strategy::Weighted => {
            // Smooth weighted round-robin: fewest leads per unit of weight first.
            eligible.sort_by(|a, b| {
                (a.assigned_total as i128 * b.weight.max(1) as i128)
                    .cmp(&(b.assigned_total as i128 * a.weight.max(1) as i128))
                    .then_with(|| by_turn(a, b))
            });
        }
        Strategy::LeastLoaded => {
            eligible.sort_by(|a, b| load_cmp(a, b).then_with(|| by_turn(a, b)));
        }
        Strategy::SkillsMatch => {
            let mut scored: Vec<(i64, &RepLoad)> = eligible
                .iter()
                .map(|r| (match_score(r, lead), *r))
                .collect();
            scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| by_turn(&a.1, &b.1)));
            eligible = scored.into_iter().map(|(_, r)| r).collect();
        }
    }
    let detail = detail(strategy);
    let count = eligible.len();
    Plan {
        kind: Kind::Strategy(strategy),
        candidates: eligible
            .into_iter()
            .take(MAX_CANDIDATES)
            .map(|r| r.id.clone())
            .collect(),
        context: context(strategy, detail, count, &skipped),
    }
}

fn context(strategy: Strategy, detail: &str, eligible: usize, skipped: &Skipped) -> String {
    format!(
        "{}: {detail} among {eligible} eligible reps{}",
        strategy.label(),
        skipped.describe()
    )
}

fn detail(strategy: Strategy) -> &'static str {
    match strategy {
        Strategy::RoundRobin | Strategy::RuleBased => "the rep who waited longest for a lead",
        Strategy::Weighted => "the rep furthest below its weighted share",
        Strategy::LeastLoaded => "the rep with the lowest share of its capacity in use",
        Strategy::SkillsMatch => {
            "the rep whose regions, languages, product lines and skills match best"
        }
    }
}

/// The SQL order of preference of strategies that need nothing but the reps' counters, so the
/// store can pick the rep in the statement that takes its place, without reading every rep
/// first. Ties go to the rep waiting longest, then by id. None for strategies that match the
/// lead against reps' attributes or the tenant's rules.
pub fn sql_order(strategy: Strategy) -> Option<&'static str> {
    match strategy {
        Strategy::RoundRobin => Some("last_assign_time, id"),
        Strategy::LeastLoaded => Some("(open_leads * 1000000) / capacity, last_assign_time, id"),
        Strategy::Weighted => Some("(assigned_total * 1000000) / weight, last_assign_time, id"),
        Strategy::RuleBased | Strategy::SkillsMatch => None,
    }
}

/// The reason of an assignment the store ordered in SQL by `strategy`'s [`sql_order`]: the
/// rule, and the chosen rep's load once it took the lead (`open` of `capacity`). It names no
/// head counts: counting the reps on every assignment cost a fifth of the assignment's time on
/// a busy reps table, and the rule already says who was passed over.
pub fn sql_reason(strategy: Strategy, rep: &str, open: i64, capacity: i64) -> String {
    format!(
        "{}: {} among the active reps with room (absent, inactive and full reps are skipped); \
         reps/{rep} came first among those not busy with another assignment and now holds \
         {open} of its {capacity} places",
        strategy.label(),
        detail(strategy)
    )
}

fn load_cmp(a: &RepLoad, b: &RepLoad) -> Ordering {
    (a.open_leads as i128 * b.capacity.max(1) as i128)
        .cmp(&(b.open_leads as i128 * a.capacity.max(1) as i128))
}

/// How well a rep fits a lead's needs: one point per matching region, language, product line
/// and skill.
pub fn match_score(rep: &RepLoad, lead: &Lead) -> i64 {
    let i = &lead.input;
    let has =
        |list: &[String], v: &str| !v.is_empty() && list.iter().any(|x| x.eq_ignore_ascii_case(v));
    let mut score = 0;
    score += i64::from(has(&rep.regions, &i.region));
    score += i64::from(has(&rep.languages, &i.language));
    for p in &i.needs.product_lines {
        score += i64::from(has(&rep.product_lines, p));
        score += i64::from(has(&rep.skills, p));
    }
    score
}

/// Whether a rule's conditions all hold for `lead`.
pub fn rule_matches(rule: &AssignmentRule, lead: &Lead) -> bool {
    let i = &lead.input;
    let any = |list: &[String], v: &str| {
        list.is_empty() || list.iter().any(|x| x.eq_ignore_ascii_case(v))
    };
    any(&rule.regions, &i.region)
        && any(&rule.languages, &i.language)
        && (rule.product_lines.is_empty()
            || i.needs
                .product_lines
                .iter()
                .any(|p| rule.product_lines.iter().any(|x| x.eq_ignore_ascii_case(p))))
        && (rule.sources.is_empty() || rule.sources.contains(&i.source))
        && lead.score >= rule.min_score
}

/// Reps skipped, by reason.
#[derive(Debug, Default)]
struct Skipped {
    absent: usize,
    inactive: usize,
    full: usize,
}

impl Skipped {
    fn describe(&self) -> String {
        let parts: Vec<String> = [
            (self.absent, "absent"),
            (self.inactive, "inactive"),
            (self.full, "full"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
        if parts.is_empty() {
            String::new()
        } else {
            format!(" (skipped {})", parts.join(", "))
        }
    }
}

/// Active reps with room (and in `team`, and passing `keep`), plus what was skipped and why.
fn eligible<'a>(
    reps: &'a [RepLoad],
    team: Option<&str>,
    keep: impl Fn(&RepLoad) -> bool,
) -> (Vec<&'a RepLoad>, Skipped) {
    let mut skipped = Skipped::default();
    let mut out = Vec::new();
    for r in reps
        .iter()
        .filter(|r| team.is_none_or(|t| r.team_id == t) && keep(r))
    {
        match r.status {
            RepStatus::Absent => skipped.absent += 1,
            RepStatus::Inactive => skipped.inactive += 1,
            RepStatus::Active if r.open_leads >= r.capacity => skipped.full += 1,
            RepStatus::Active => out.push(r),
        }
    }
    (out, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::lead::{Source, tests_support::sample};

    fn rep(id: &str, open: i64, cap: i64, last: i64) -> RepLoad {
        RepLoad {
            id: id.into(),
            team_id: "t".into(),
            status: RepStatus::Active,
            skills: vec![],
            regions: vec![],
            languages: vec![],
            product_lines: vec![],
            capacity: cap,
            open_leads: open,
            weight: 1,
            last_assign_time: last,
            assigned_total: 0,
        }
    }

    #[test]
    fn round_robin_prefers_the_longest_waiting_and_skips_full_and_absent() {
        let mut absent = rep("c", 0, 10, 0);
        absent.status = RepStatus::Absent;
        let reps = [
            rep("a", 1, 10, 5),
            rep("b", 0, 10, 3),
            absent,
            rep("d", 2, 2, 0),
        ];
        let p = plan(&sample(), &Settings::default(), None, None, &reps);
        assert_eq!(p.candidates, ["b", "a"]);
        assert!(
            p.context
                .contains("2 eligible reps (skipped 1 absent, 1 full)"),
            "{}",
            p.context
        );
        assert!(p.reason("a").contains("choice 2"));
    }

    #[test]
    fn least_loaded_and_weighted_order() {
        let reps = [rep("a", 5, 10, 0), rep("b", 3, 4, 0), rep("c", 1, 10, 9)];
        let p = plan(
            &sample(),
            &Settings::default(),
            Some(Strategy::LeastLoaded),
            None,
            &reps,
        );
        assert_eq!(p.candidates, ["c", "a", "b"]);
        let mut heavy = rep("h", 0, 100, 0);
        heavy.weight = 3;
        heavy.assigned_total = 6;
        let mut light = rep("l", 0, 100, 0);
        light.assigned_total = 3;
        let p = plan(
            &sample(),
            &Settings::default(),
            Some(Strategy::Weighted),
            None,
            &[light, heavy],
        );
        assert_eq!(p.candidates, ["h", "l"], "6/3 < 3/1");
    }

    #[test]
    fn skills_match_and_rules() {
        let mut lead = sample();
        lead.input.region = "上海".into();
        lead.input.needs.product_lines = vec!["villa".into()];
        lead.input.source = Source::WalkIn;
        let mut expert = rep("x", 0, 10, 99);
        expert.regions = vec!["上海".into()];
        expert.skills = vec!["villa".into()];
        let p = plan(
            &lead,
            &Settings::default(),
            Some(Strategy::SkillsMatch),
            None,
            &[rep("a", 0, 10, 0), expert.clone()],
        );
        assert_eq!(p.candidates[0], "x");

        let mut settings = Settings::default();
        settings.assignment_rules.push(AssignmentRule {
            display_name: "walk-ins to east".into(),
            regions: vec![],
            product_lines: vec![],
            sources: vec![Source::WalkIn],
            languages: vec![],
            min_score: 0,
            target: Target::Team("east".into()),
            strategy: Strategy::RoundRobin,
        });
        let mut east = rep("e", 0, 10, 0);
        east.team_id = "east".into();
        let p = plan(
            &lead,
            &settings,
            Some(Strategy::RuleBased),
            None,
            &[rep("a", 0, 10, 0), east],
        );
        assert_eq!(p.kind, Kind::Rule);
        assert_eq!(p.candidates, ["e"]);
        assert!(p.context.contains("walk-ins to east"));
        lead.input.source = Source::Form;
        let p = plan(
            &lead,
            &settings,
            Some(Strategy::RuleBased),
            None,
            &[rep("a", 0, 10, 0)],
        );
        assert_eq!(p.kind, Kind::Strategy(Strategy::RoundRobin));
        assert!(p.context.starts_with("no rule matched"));
    }
}
