//! Assignment (LE6) of leads to reps, on the kit's engine (`rapport_kit::assign`): the
//! tenant's rules, how well a rep matches a lead, and the tenant's strategies as the kit's
//! orders. The store then takes the first candidate that still has room, atomically, so the
//! order here is a preference and the capacity check in SQL is the guarantee.

use rapport_kit::assign::{self as kit, Among, Member, Order, Plan};

use super::{
    lead::Lead,
    org::RepStatus,
    settings::{AssignmentRule, Settings, Strategy, Target},
};

/// Reps and leads in the words of recorded reasons.
pub const WORDS: kit::Words = kit::Words {
    member: "rep",
    members: "reps",
    item: "lead",
    available: "active",
};

/// A rep as assignment sees it: its counters and skills, and where and what it sells.
pub type RepLoad = Member<Reach>;

/// Where and what a rep sells, which the skills match weighs beside its skills.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reach {
    pub regions: Vec<String>,
    pub languages: Vec<String>,
    pub product_lines: Vec<String>,
}

impl From<RepStatus> for kit::Status {
    fn from(status: RepStatus) -> kit::Status {
        match status {
            RepStatus::Active => kit::Status::Available,
            RepStatus::Absent => kit::Status::Absent,
            RepStatus::Inactive => kit::Status::Inactive,
        }
    }
}

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

/// The kit's order for a strategy that needs nothing but the reps' counters, so the store can
/// pick the rep in SQL; None for those that match the lead against reps' attributes or the
/// tenant's rules.
pub fn counters_only(strategy: Strategy) -> Option<kit::Strategy> {
    match strategy {
        Strategy::RoundRobin => Some(kit::Strategy::RoundRobin),
        Strategy::LeastLoaded => Some(kit::Strategy::LeastLoaded),
        Strategy::Weighted => Some(kit::Strategy::Weighted),
        Strategy::RuleBased | Strategy::SkillsMatch => None,
    }
}

/// Plans the assignment of `lead` as `pick` says (the strategy asked for, or the tenant's
/// default); rule-based assignment tries the tenant's rules first. Returns how the rep is
/// chosen and the reps to try.
pub fn plan(lead: &Lead, settings: &Settings, pick: Pick<'_>, reps: &[RepLoad]) -> (Kind, Plan) {
    let strategy = pick.strategy.unwrap_or(settings.default_strategy);
    if strategy == Strategy::RuleBased {
        if let Some(rule) = settings
            .assignment_rules
            .iter()
            .find(|r| rule_matches(r, lead))
        {
            return (Kind::Rule, plan_rule(lead, rule, pick, reps));
        }
        let fallback = not_rule_based(settings.default_strategy);
        let mut p = plan_strategy(lead, fallback, among(pick), reps);
        p.context = format!("no rule matched; {}", p.context);
        return (Kind::Strategy(fallback), p);
    }
    (
        Kind::Strategy(strategy),
        plan_strategy(lead, strategy, among(pick), reps),
    )
}

fn among<'a>(pick: Pick<'a>) -> Among<'a, Reach> {
    Among {
        team: pick.team,
        exclude: pick.exclude,
        keep: None,
    }
}

/// What rule-based assignment falls back to.
fn not_rule_based(strategy: Strategy) -> Strategy {
    match strategy {
        Strategy::RuleBased => Strategy::RoundRobin,
        s => s,
    }
}

fn plan_rule(lead: &Lead, rule: &AssignmentRule, pick: Pick<'_>, reps: &[RepLoad]) -> Plan {
    match &rule.target {
        Target::Rep(rep) => {
            let only_rep = |r: &RepLoad| &r.id == rep;
            let among = Among {
                keep: Some(&only_rep),
                ..among(pick)
            };
            let (eligible, skipped) = kit::eligible(reps, &among);
            Plan {
                candidates: eligible.iter().map(|r| r.id.clone()).collect(),
                context: format!(
                    "rule \"{}\" sends the lead to reps/{rep}{}",
                    rule.display_name,
                    skipped.describe()
                ),
            }
        }
        Target::Team(t) => {
            let in_team = |r: &RepLoad| &r.team == t;
            let among = Among {
                keep: Some(&in_team),
                ..among(pick)
            };
            let mut p = plan_strategy(lead, not_rule_based(rule.strategy), among, reps);
            p.context = format!(
                "rule \"{}\" sends the lead to teams/{t}; {}",
                rule.display_name, p.context
            );
            p
        }
    }
}

/// `strategy` is not rule-based.
fn plan_strategy(
    lead: &Lead,
    strategy: Strategy,
    among: Among<'_, Reach>,
    reps: &[RepLoad],
) -> Plan {
    let score = |r: &RepLoad| match_score(r, lead);
    let order = match counters_only(strategy) {
        Some(s) => Order::By(s),
        None => Order::Score {
            label: "skills match",
            detail: "the rep whose regions, languages, product lines and skills match best",
            score: &score,
        },
    };
    kit::rank(reps, &among, &order, &WORDS)
}

/// How well a rep fits a lead's needs: one point per matching region, language, product line
/// and skill.
pub fn match_score(rep: &RepLoad, lead: &Lead) -> i64 {
    let i = &lead.input;
    let has =
        |list: &[String], v: &str| !v.is_empty() && list.iter().any(|x| x.eq_ignore_ascii_case(v));
    let mut score = 0;
    score += i64::from(has(&rep.attrs.regions, &i.region));
    score += i64::from(has(&rep.attrs.languages, &i.language));
    for p in &i.needs.product_lines {
        score += i64::from(has(&rep.attrs.product_lines, p));
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

#[cfg(test)]
mod tests {
    use rapport_kit::assign::Status;

    use super::*;
    use crate::domain::lead::{Source, tests_support::sample};

    fn rep(id: &str, open: i64, cap: i64, last: i64) -> RepLoad {
        Member {
            team: "t".into(),
            open,
            last_assign_time: last,
            ..Member::new(id, cap, Reach::default())
        }
    }

    #[test]
    fn a_pick_limits_the_reps_and_reasons_read_in_the_words_of_leads() {
        let mut south = rep("s", 0, 4, 0);
        south.team = "south".into();
        let mut gone = rep("g", 0, 4, 0);
        gone.status = Status::Inactive;
        let reps = [rep("x", 3, 4, 1), rep("y", 1, 4, 2), south, gone];
        let pick = Pick {
            strategy: Some(Strategy::LeastLoaded),
            team: Some("t"),
            exclude: Some("y"),
        };
        let (kind, p) = plan(&sample(), &Settings::default(), pick, &reps);
        assert_eq!(kind, Kind::Strategy(Strategy::LeastLoaded));
        assert_eq!(
            p.candidates,
            ["x"],
            "another team's rep and the excluded one are left out"
        );
        assert_eq!(
            p.context,
            "least-loaded: the rep with the lowest share of its capacity in use among 1 eligible \
             reps (skipped 1 inactive)"
        );
    }

    #[test]
    fn skills_match_and_rules() {
        let mut lead = sample();
        lead.input.region = "上海".into();
        lead.input.needs.product_lines = vec!["villa".into()];
        lead.input.source = Source::WalkIn;
        let mut expert = rep("x", 0, 10, 99);
        expert.attrs.regions = vec!["上海".into()];
        expert.skills = vec!["villa".into()];
        assert_eq!(match_score(&expert, &lead), 2);
        let skills = Pick {
            strategy: Some(Strategy::SkillsMatch),
            ..Pick::default()
        };
        let (kind, p) = plan(
            &lead,
            &Settings::default(),
            skills,
            &[rep("a", 0, 10, 0), expert.clone()],
        );
        assert_eq!(kind, Kind::Strategy(Strategy::SkillsMatch));
        assert_eq!(p.candidates[0], "x");
        assert!(p.context.starts_with(
            "skills match: the rep whose regions, languages, product lines and skills match best"
        ));

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
        east.team = "east".into();
        let rules = Pick {
            strategy: Some(Strategy::RuleBased),
            ..Pick::default()
        };
        let (kind, p) = plan(&lead, &settings, rules, &[rep("a", 0, 10, 0), east]);
        assert_eq!(kind, Kind::Rule);
        assert_eq!(p.candidates, ["e"]);
        assert!(p.context.contains("walk-ins to east"));
        lead.input.source = Source::Form;
        let (kind, p) = plan(&lead, &settings, rules, &[rep("a", 0, 10, 0)]);
        assert_eq!(kind, Kind::Strategy(Strategy::RoundRobin));
        assert!(p.context.starts_with("no rule matched"));
    }

    #[test]
    fn a_rule_naming_a_rep_says_why_it_could_not_take_the_lead() {
        let mut settings = Settings::default();
        settings.assignment_rules.push(AssignmentRule {
            display_name: "all to ann".into(),
            regions: vec![],
            product_lines: vec![],
            sources: vec![],
            languages: vec![],
            min_score: 0,
            target: Target::Rep("ann".into()),
            strategy: Strategy::RoundRobin,
        });
        let rules = Pick {
            strategy: Some(Strategy::RuleBased),
            ..Pick::default()
        };
        let (kind, p) = plan(
            &sample(),
            &settings,
            rules,
            &[rep("ann", 3, 3, 0), rep("bob", 0, 3, 0)],
        );
        assert_eq!(kind, Kind::Rule);
        assert!(p.candidates.is_empty());
        assert_eq!(
            p.context,
            "rule \"all to ann\" sends the lead to reps/ann (skipped 1 full)"
        );
    }
}
