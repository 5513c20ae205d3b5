//! Which members may take an item and in what order a strategy tries them, with the words
//! that explain the pick. Pure: the caller reads the members, and the take in SQL decides.

use std::cmp::Ordering;

use super::Taken;

/// Candidates tried per assignment; beyond this many, members are too far down the order to
/// matter.
pub const MAX_CANDIDATES: usize = 64;

/// Whether a member takes new items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Working; gets items.
    Available,
    /// Away for now; keeps its items, gets no new ones.
    Absent,
    /// Left or disabled; gets no items.
    Inactive,
}

/// A member of a pool as assignment sees it: its counters, and `attrs`, whatever else the
/// caller's score reads (a rep's regions and languages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member<A = ()> {
    /// Its id.
    pub id: String,
    /// Its team's id, or empty.
    pub team: String,
    /// Whether it takes new items.
    pub status: Status,
    /// What it is good at, for a caller's score.
    pub skills: Vec<String>,
    /// Most items it holds at once.
    pub capacity: i64,
    /// Items it holds now.
    pub open: i64,
    /// Its share in weighted assignment.
    pub weight: i64,
    /// When it last got an item: the turn order (who waited longest goes first).
    pub last_assign_time: i64,
    /// Items it ever got, for weighted shares.
    pub assigned_total: i64,
    /// The caller's own attributes.
    pub attrs: A,
}

impl<A> Member<A> {
    /// An available member with room for `capacity` items, none held yet, weight 1, in no
    /// team; set the rest as needed.
    pub fn new(id: impl Into<String>, capacity: i64, attrs: A) -> Member<A> {
        Member {
            id: id.into(),
            team: String::new(),
            status: Status::Available,
            skills: Vec::new(),
            capacity,
            open: 0,
            weight: 1,
            last_assign_time: 0,
            assigned_total: 0,
            attrs,
        }
    }
}

/// The orders that need nothing but the members' counters, so SQL can apply them too
/// ([`super::Counters::sql_order`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// The member who waited longest first.
    RoundRobin,
    /// The lowest share of capacity in use first.
    LeastLoaded,
    /// The member furthest below its weighted share of all items first.
    Weighted,
}

impl Strategy {
    /// How the strategy reads in a reason.
    pub fn label(self) -> &'static str {
        match self {
            Strategy::RoundRobin => "round-robin",
            Strategy::LeastLoaded => "least-loaded",
            Strategy::Weighted => "weighted",
        }
    }

    /// Whom the strategy prefers, in `words`.
    pub fn detail(self, words: &Words) -> String {
        let Words { member, item, .. } = words;
        match self {
            Strategy::RoundRobin => format!("the {member} who waited longest for a {item}"),
            Strategy::LeastLoaded => {
                format!("the {member} with the lowest share of its capacity in use")
            }
            Strategy::Weighted => format!("the {member} furthest below its weighted share"),
        }
    }
}

/// What a service calls its members and items, so the reasons it records read in its terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Words {
    /// One member: "rep".
    pub member: &'static str,
    /// Several, also their collection in resource names: "reps".
    pub members: &'static str,
    /// One item: "lead".
    pub item: &'static str,
    /// What an available member is called: "active".
    pub available: &'static str,
}

/// In what order [`rank`] tries the eligible members.
pub enum Order<'a, A> {
    /// By the counters.
    By(Strategy),
    /// Best `score` first, ties by turn; `label` and `detail` explain it as a strategy's do.
    Score {
        /// "skills match".
        label: &'a str,
        /// "the rep whose skills match best".
        detail: &'a str,
        /// Higher is better.
        score: &'a dyn Fn(&Member<A>) -> i64,
    },
}

/// Which members an assignment chooses among, beyond being available with room. Members left
/// out here are not counted as skipped: they were never in question.
pub struct Among<'a, A> {
    /// Only members of this team.
    pub team: Option<&'a str>,
    /// Never this member (an item's former holder).
    pub exclude: Option<&'a str>,
    /// Only members this keeps.
    pub keep: Option<Keep<'a, A>>,
}

/// A caller's test of a member.
type Keep<'a, A> = &'a dyn Fn(&Member<A>) -> bool;

impl<A> Default for Among<'_, A> {
    fn default() -> Self {
        Among {
            team: None,
            exclude: None,
            keep: None,
        }
    }
}

impl<A> Among<'_, A> {
    fn admits(&self, m: &Member<A>) -> bool {
        self.team.is_none_or(|t| m.team == t)
            && self.exclude.is_none_or(|x| m.id != x)
            && self.keep.is_none_or(|keep| keep(m))
    }
}

/// Members passed over, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Skipped {
    pub absent: usize,
    pub inactive: usize,
    pub full: usize,
}

impl Skipped {
    /// " (skipped 1 absent, 2 full)", or nothing when none was skipped.
    pub fn describe(&self) -> String {
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

/// The available members with room that `among` admits, in the given order, and what was
/// skipped and why.
pub fn eligible<'m, A>(
    members: &'m [Member<A>],
    among: &Among<'_, A>,
) -> (Vec<&'m Member<A>>, Skipped) {
    let mut skipped = Skipped::default();
    let mut out = Vec::new();
    for m in members.iter().filter(|m| among.admits(m)) {
        match m.status {
            Status::Absent => skipped.absent += 1,
            Status::Inactive => skipped.inactive += 1,
            Status::Available if m.open >= m.capacity => skipped.full += 1,
            Status::Available => out.push(m),
        }
    }
    (out, skipped)
}

/// What a ranking proposes: members to try in order, and how to explain the pick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Member ids, best first, at most [`MAX_CANDIDATES`].
    pub candidates: Vec<String>,
    /// The reason's context: the order, how many were eligible and why others were skipped.
    pub context: String,
}

impl Plan {
    /// The recorded reason when `chosen` (one of the candidates) got the item.
    pub fn reason(&self, chosen: &str) -> String {
        let rank = self
            .candidates
            .iter()
            .position(|c| c == chosen)
            .unwrap_or(0);
        if rank == 0 {
            format!("{}; {chosen} came first", self.context)
        } else {
            format!(
                "{}; {chosen} was choice {} (those before it were full or busy)",
                self.context,
                rank + 1
            )
        }
    }
}

/// Ranks the eligible members of `members` (see [`eligible`]) in `order`; ties go to the
/// member waiting longest, then by id.
pub fn rank<A>(
    members: &[Member<A>],
    among: &Among<'_, A>,
    order: &Order<'_, A>,
    words: &Words,
) -> Plan {
    let (mut eligible, skipped) = eligible(members, among);
    let (label, detail) = match order {
        Order::By(strategy) => {
            eligible.sort_by(|a, b| counters_cmp(*strategy, a, b).then_with(|| by_turn(a, b)));
            (strategy.label(), strategy.detail(words))
        }
        Order::Score {
            label,
            detail,
            score,
        } => {
            let mut scored: Vec<(i64, &Member<A>)> =
                eligible.iter().map(|m| (score(m), *m)).collect();
            scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| by_turn(a.1, b.1)));
            eligible = scored.into_iter().map(|(_, m)| m).collect();
            (*label, (*detail).to_owned())
        }
    };
    Plan {
        context: format!(
            "{label}: {detail} among {} eligible {}{}",
            eligible.len(),
            words.members,
            skipped.describe()
        ),
        candidates: eligible
            .into_iter()
            .take(MAX_CANDIDATES)
            .map(|m| m.id.clone())
            .collect(),
    }
}

impl Taken {
    /// The recorded reason of a take ordered in SQL by `strategy`'s
    /// [`super::Counters::sql_order`]: the rule, and the member's load once it took the item.
    /// It names no head counts: counting the members on every assignment cost a fifth of the
    /// assignment's time on a busy table, and the rule already says who was passed over.
    pub fn reason(&self, strategy: Strategy, words: &Words) -> String {
        let Words {
            members, available, ..
        } = words;
        format!(
            "{}: {} among the {available} {members} with room (absent, inactive and full \
             {members} are skipped); {members}/{} came first among those not busy with another \
             assignment and now holds {} of its {} places",
            strategy.label(),
            strategy.detail(words),
            self.id,
            self.open,
            self.capacity
        )
    }
}

/// Who goes first by the counters alone (ties are the caller's).
fn counters_cmp<A>(strategy: Strategy, a: &Member<A>, b: &Member<A>) -> Ordering {
    // Shares compared as cross products, so no division rounds two loads together.
    let share = |x: i64, of: i64, y: i64, of_y: i64| {
        (i128::from(x) * i128::from(of_y.max(1))).cmp(&(i128::from(y) * i128::from(of.max(1))))
    };
    match strategy {
        Strategy::RoundRobin => Ordering::Equal,
        Strategy::LeastLoaded => share(a.open, a.capacity, b.open, b.capacity),
        Strategy::Weighted => share(a.assigned_total, a.weight, b.assigned_total, b.weight),
    }
}

/// The turn order: who waited longest, then by id.
fn by_turn<A>(a: &Member<A>, b: &Member<A>) -> Ordering {
    a.last_assign_time
        .cmp(&b.last_assign_time)
        .then_with(|| a.id.cmp(&b.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    const WORDS: Words = Words {
        member: "rep",
        members: "reps",
        item: "lead",
        available: "active",
    };

    fn member(id: &str, open: i64, cap: i64, last: i64) -> Member {
        Member {
            team: "t".into(),
            open,
            last_assign_time: last,
            ..Member::new(id, cap, ())
        }
    }

    fn by(members: &[Member], strategy: Strategy) -> Plan {
        rank(members, &Among::default(), &Order::By(strategy), &WORDS)
    }

    #[test]
    fn round_robin_prefers_the_longest_waiting_and_skips_full_and_absent() {
        let mut absent = member("c", 0, 10, 0);
        absent.status = Status::Absent;
        let members = [
            member("a", 1, 10, 5),
            member("b", 0, 10, 3),
            absent,
            member("d", 2, 2, 0),
        ];
        let p = by(&members, Strategy::RoundRobin);
        assert_eq!(p.candidates, ["b", "a"]);
        assert_eq!(
            p.context,
            "round-robin: the rep who waited longest for a lead among 2 eligible reps \
             (skipped 1 absent, 1 full)"
        );
        assert!(p.reason("b").ends_with("; b came first"));
        assert!(p.reason("a").contains("choice 2"));
    }

    #[test]
    fn least_loaded_and_weighted_order() {
        let members = [
            member("a", 5, 10, 0),
            member("b", 3, 4, 0),
            member("c", 1, 10, 9),
        ];
        assert_eq!(
            by(&members, Strategy::LeastLoaded).candidates,
            ["c", "a", "b"]
        );
        let mut heavy = member("h", 0, 100, 0);
        heavy.weight = 3;
        heavy.assigned_total = 6;
        let mut light = member("l", 0, 100, 0);
        light.assigned_total = 3;
        let p = by(&[light, heavy], Strategy::Weighted);
        assert_eq!(p.candidates, ["h", "l"], "6/3 < 3/1");
        assert!(
            p.context
                .starts_with("weighted: the rep furthest below its weighted share")
        );
    }

    #[test]
    fn a_score_goes_first_and_ties_go_by_turn() {
        let mut expert = member("x", 0, 10, 99);
        expert.skills = vec!["villa".into()];
        let members = [member("b", 0, 10, 5), member("a", 0, 10, 5), expert];
        let skilled = |m: &Member| i64::from(m.skills.iter().any(|s| s == "villa"));
        let order = Order::Score {
            label: "skills match",
            detail: "the rep whose skills match best",
            score: &skilled,
        };
        let p = rank(&members, &Among::default(), &order, &WORDS);
        assert_eq!(p.candidates, ["x", "a", "b"]);
        assert!(
            p.context
                .starts_with("skills match: the rep whose skills match best among 3")
        );
    }

    #[test]
    fn among_limits_without_counting_as_skipped() {
        let mut other_team = member("o", 10, 10, 0);
        other_team.team = "u".into();
        let mut gone = member("g", 0, 10, 0);
        gone.status = Status::Inactive;
        let members = [
            member("a", 0, 10, 0),
            member("b", 0, 10, 1),
            member("c", 0, 10, 2),
            other_team,
            gone,
        ];
        let not_c = |m: &Member| m.id != "c";
        let among = Among {
            team: Some("t"),
            exclude: Some("a"),
            keep: Some(&not_c),
        };
        let (eligible, skipped) = eligible(&members, &among);
        let ids: Vec<&str> = eligible.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["b"]);
        assert_eq!(skipped.describe(), " (skipped 1 inactive)");
        assert_eq!(Skipped::default().describe(), "");
    }

    #[test]
    fn candidates_stop_at_the_limit() {
        let members: Vec<Member> = (0..100)
            .map(|i| member(&format!("m{i:03}"), 0, 1, i))
            .collect();
        let p = by(&members, Strategy::RoundRobin);
        assert_eq!(p.candidates.len(), MAX_CANDIDATES);
        assert!(p.context.contains("among 100 eligible reps"));
    }

    #[test]
    fn a_take_explains_itself_in_the_callers_words() {
        let taken = Taken {
            id: "ann".into(),
            team: "q".into(),
            open: 3,
            capacity: 5,
        };
        let words = Words {
            member: "agent",
            members: "agents",
            item: "ticket",
            available: "available",
        };
        assert_eq!(
            taken.reason(Strategy::RoundRobin, &words),
            "round-robin: the agent who waited longest for a ticket among the available agents \
             with room (absent, inactive and full agents are skipped); agents/ann came first \
             among those not busy with another assignment and now holds 3 of its 5 places"
        );
    }
}
