//! Leads (LE1): what a lead is, the rules of its states and of its score (LE10).

use rapport_kit::names;
use rapport_runtime::clock::Micros;

pub use super::opportunity::Money;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The collection of leads.
pub const LEADS: &str = "leads";

/// Where a lead came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    Form,
    Import,
    Partner,
    Campaign,
    Manual,
    WalkIn,
    Referral,
}

impl Source {
    /// Every source, for parsing.
    pub const ALL: [Source; 7] = [
        Source::Form,
        Source::Import,
        Source::Partner,
        Source::Campaign,
        Source::Manual,
        Source::WalkIn,
        Source::Referral,
    ];

    /// The stored (and filterable) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Form => "FORM",
            Source::Import => "IMPORT",
            Source::Partner => "PARTNER",
            Source::Campaign => "CAMPAIGN",
            Source::Manual => "MANUAL",
            Source::WalkIn => "WALK_IN",
            Source::Referral => "REFERRAL",
        }
    }

    /// The source stored as `s`.
    pub fn parse(s: &str) -> Option<Source> {
        Source::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// The state of a lead: NEW → CONTACTING → QUALIFIED / UNQUALIFIED → CONVERTED.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    New,
    Contacting,
    Qualified,
    Unqualified,
    Converted,
}

impl State {
    /// Every state, for parsing.
    pub const ALL: [State; 5] = [
        State::New,
        State::Contacting,
        State::Qualified,
        State::Unqualified,
        State::Converted,
    ];

    /// The stored (and filterable) name.
    pub fn as_str(self) -> &'static str {
        match self {
            State::New => "NEW",
            State::Contacting => "CONTACTING",
            State::Qualified => "QUALIFIED",
            State::Unqualified => "UNQUALIFIED",
            State::Converted => "CONVERTED",
        }
    }

    /// The state stored as `s`.
    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether UpdateLead may move a lead from `self` to `to`: forward through the working
    /// states, never back to NEW, never into or out of CONVERTED (ConvertLead does that).
    pub fn may_become(self, to: State) -> Result<(), String> {
        match (self, to) {
            (a, b) if a == b => Ok(()),
            (State::Converted, _) => Err("a converted lead's state no longer changes".into()),
            (_, State::Converted) => Err("use ConvertLead to convert a lead".into()),
            (_, State::New) => Err("a lead never goes back to NEW".into()),
            _ => Ok(()),
        }
    }
}

/// How likely a lead is to buy, from its score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Intent {
    Low,
    Medium,
    High,
}

impl Intent {
    /// The stored (and filterable) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Intent::Low => "LOW",
            Intent::Medium => "MEDIUM",
            Intent::High => "HIGH",
        }
    }

    /// The grade stored as `s`.
    pub fn parse(s: &str) -> Option<Intent> {
        [Intent::Low, Intent::Medium, Intent::High]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// What a lead wants, stored as one JSON document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Needs {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub product_lines: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Money>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub timeline: String,
}

/// Who brought a lead in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attribution {
    pub campaign_id: String,
    pub partner_id: String,
    pub channel: String,
    pub referrer: String,
}

/// The fields a caller gives (create and update).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadInput {
    pub display_name: String,
    pub phone: String,
    pub email: String,
    pub source: Source,
    pub attribution: Attribution,
    pub needs: Needs,
    pub region: String,
    pub language: String,
    pub pool: String,
}

/// A lead as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lead {
    pub id: Uuid,
    pub input: LeadInput,
    pub state: State,
    pub unqualified_reason: String,
    /// The rep whose private pool holds it; empty in a public pool.
    pub owner_id: String,
    /// The owner's team.
    pub team_id: String,
    pub locked: bool,
    pub behavior_points: i64,
    pub follow_up_count: i64,
    pub score: i64,
    pub intent: Intent,
    pub recall: bool,
    pub call_flag: bool,
    pub assign_time: Option<Micros>,
    pub last_follow_up_time: Option<Micros>,
    pub state_change_time: Micros,
    pub customer_id: String,
    pub opportunity_id: String,
    pub won: bool,
    pub create_time: Micros,
    pub update_time: Micros,
    pub delete_time: Option<Micros>,
    pub version: i64,
    /// Open leads that held its phone or email when it was created or they changed, oldest
    /// first (the FLAG duplicate policy).
    pub possible_duplicates: Vec<Uuid>,
}

impl Lead {
    /// A new lead `id` of `input`, created at `now`: NEW, in a public pool, unscored (rescore
    /// it with the tenant's grades).
    pub fn new(id: Uuid, input: LeadInput, now: Micros) -> Self {
        Lead {
            id,
            input,
            state: State::New,
            unqualified_reason: String::new(),
            owner_id: String::new(),
            team_id: String::new(),
            locked: false,
            behavior_points: 0,
            follow_up_count: 0,
            score: 0,
            intent: Intent::Low,
            recall: false,
            call_flag: false,
            assign_time: None,
            last_follow_up_time: None,
            state_change_time: now,
            customer_id: String::new(),
            opportunity_id: String::new(),
            won: false,
            create_time: now,
            update_time: now,
            delete_time: None,
            version: 1,
            possible_duplicates: Vec::new(),
        }
    }

    /// `leads/{id}`.
    pub fn resource_name(&self) -> String {
        lead_name(self.id)
    }

    /// The current etag.
    pub fn etag(&self) -> String {
        names::etag(self.resource_name(), self.version)
    }

    /// Whether the lead sits in a public pool.
    pub fn in_public_pool(&self) -> bool {
        self.owner_id.is_empty()
    }

    /// Whether it counts against its owner's capacity: owned, not won, not deleted.
    pub fn counts_against_capacity(&self) -> bool {
        !self.owner_id.is_empty() && !self.won && self.delete_time.is_none()
    }

    /// Recomputes score, intent and the recall / call flags after a change (LE10).
    pub fn rescore(&mut self, grades: &Grades) {
        self.score = score(self);
        self.intent = grades.grade(self.score);
        let open = !matches!(self.state, State::Converted | State::Unqualified);
        self.recall = open && self.intent == Intent::Low;
        self.call_flag = open && self.intent == Intent::High;
    }

    /// Marks a change: a new version at `now`.
    pub fn touch(&mut self, now: Micros) {
        self.update_time = now;
        self.version += 1;
    }
}

/// `leads/{id}`.
pub fn lead_name(id: Uuid) -> String {
    names::format_id(LEADS, id)
}

/// The tenant's intent thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grades {
    /// Scores below this are LOW.
    pub low_below: i64,
    /// Scores from this are HIGH.
    pub high_from: i64,
}

impl Grades {
    /// The grade of `score`.
    pub fn grade(&self, score: i64) -> Intent {
        if score < self.low_below {
            Intent::Low
        } else if score >= self.high_from {
            Intent::High
        } else {
            Intent::Medium
        }
    }
}

/// Points a behaviour event adds to a lead's score (LE10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behavior {
    PageView,
    Download,
    Inquiry,
    Visit,
    MessageOpen,
    Unsubscribe,
}

impl Behavior {
    /// The points it adds (or takes away).
    pub fn points(self) -> i64 {
        match self {
            Behavior::PageView => 2,
            Behavior::Download => 5,
            Behavior::Inquiry => 10,
            Behavior::Visit => 15,
            Behavior::MessageOpen => 1,
            Behavior::Unsubscribe => -20,
        }
    }
}

/// Behaviour points count up to this many, so a burst of page views cannot buy a HIGH grade.
const MAX_BEHAVIOR_POINTS: i64 = 50;
/// Each follow-up adds this, up to `MAX_FOLLOW_UP_POINTS`.
const FOLLOW_UP_POINTS: i64 = 5;
const MAX_FOLLOW_UP_POINTS: i64 = 20;

/// The score, 0..100: profile completeness (up to 30), follow-ups (up to 20) and behaviour
/// (up to 50).
pub fn score(lead: &Lead) -> i64 {
    let i = &lead.input;
    let completeness = [
        !i.phone.is_empty(),
        !i.email.is_empty(),
        !i.region.is_empty(),
        !i.needs.product_lines.is_empty(),
        i.needs.budget.is_some(),
        !i.needs.timeline.is_empty() || !i.needs.description.is_empty(),
    ]
    .iter()
    .filter(|b| **b)
    .count() as i64
        * 5;
    let follow_ups = (lead.follow_up_count * FOLLOW_UP_POINTS).min(MAX_FOLLOW_UP_POINTS);
    let behavior = lead
        .behavior_points
        .clamp(-MAX_BEHAVIOR_POINTS, MAX_BEHAVIOR_POINTS);
    (completeness + follow_ups + behavior).clamp(0, 100)
}

/// Lower-case text names are searched in: the display name and its lower-case form.
pub fn search_text(display_name: &str) -> String {
    display_name.to_lowercase()
}

/// A lead for tests of the rules that read one.
#[cfg(test)]
pub mod tests_support {
    use super::*;

    /// A new lead in the public pool.
    pub fn sample() -> Lead {
        Lead {
            id: Uuid::now_v7(),
            input: LeadInput {
                display_name: "张伟".into(),
                phone: "+8613812345678".into(),
                email: String::new(),
                source: Source::Form,
                attribution: Attribution::default(),
                needs: Needs::default(),
                region: String::new(),
                language: String::new(),
                pool: String::new(),
            },
            state: State::New,
            unqualified_reason: String::new(),
            owner_id: String::new(),
            team_id: String::new(),
            locked: false,
            behavior_points: 0,
            follow_up_count: 0,
            score: 0,
            intent: Intent::Low,
            recall: false,
            call_flag: false,
            assign_time: None,
            last_follow_up_time: None,
            state_change_time: 0,
            customer_id: String::new(),
            opportunity_id: String::new(),
            won: false,
            create_time: 0,
            update_time: 0,
            delete_time: None,
            version: 1,
            possible_duplicates: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::sample;
    use super::*;

    const GRADES: Grades = Grades {
        low_below: 30,
        high_from: 70,
    };

    #[test]
    fn states_move_forward_only() {
        assert!(State::New.may_become(State::Contacting).is_ok());
        assert!(State::Qualified.may_become(State::Unqualified).is_ok());
        assert!(State::Contacting.may_become(State::New).is_err());
        assert!(State::Qualified.may_become(State::Converted).is_err());
        assert!(State::Converted.may_become(State::Qualified).is_err());
    }

    #[test]
    fn score_grows_with_profile_follow_ups_and_behaviour() {
        let mut lead = sample();
        lead.rescore(&GRADES);
        assert_eq!(lead.score, 5);
        assert_eq!(lead.intent, Intent::Low);
        assert!(lead.recall && !lead.call_flag);
        lead.follow_up_count = 10;
        lead.behavior_points = 45;
        lead.rescore(&GRADES);
        assert_eq!(lead.score, 70);
        assert_eq!(lead.intent, Intent::High);
        assert!(lead.call_flag && !lead.recall);
        lead.behavior_points = 500;
        lead.input.email = "a@b.cn".into();
        lead.rescore(&GRADES);
        assert_eq!(lead.score, 80, "behaviour is capped");
        lead.behavior_points = -100;
        lead.follow_up_count = 0;
        lead.rescore(&GRADES);
        assert_eq!(lead.score, 0, "never negative");
    }

    #[test]
    fn closed_leads_raise_no_flags() {
        let mut lead = sample();
        lead.state = State::Converted;
        lead.rescore(&GRADES);
        assert!(!lead.recall && !lead.call_flag);
    }
}
