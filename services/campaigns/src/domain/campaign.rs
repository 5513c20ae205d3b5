//! Campaigns (CA1) and their lifecycle: DRAFT → PENDING_APPROVAL → APPROVED or REJECTED (which
//! is edited and submitted again) → RUNNING → COMPLETED, and CANCELLED from any state before
//! COMPLETED. Approving is someone else's decision: a campaign's creator decides it only as an
//! admin. Costs are recorded once a campaign was approved; going over the budget is flagged,
//! never refused, since a cost that was incurred must be on the books.

use rapport_kit::validate::Money;
use rapport_runtime::clock::Micros;
use uuid::Uuid;

/// The collection of campaigns' names.
pub const CAMPAIGNS: &str = "campaigns";
/// The collection of a campaign's costs.
pub const COSTS: &str = "costs";
/// Longest reason of a rejection or a cancellation.
pub const MAX_REASON: usize = 500;

/// What kind of campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    StoreOpening,
    Anniversary,
    HolidayPromotion,
    ProductPromotion,
    Lottery,
    Advertising,
    DirectMail,
    Edm,
    ShowRoom,
    MemberClubEvent,
}

impl Type {
    /// Every type, in the order of the proto enum.
    pub const ALL: [Type; 10] = [
        Type::StoreOpening,
        Type::Anniversary,
        Type::HolidayPromotion,
        Type::ProductPromotion,
        Type::Lottery,
        Type::Advertising,
        Type::DirectMail,
        Type::Edm,
        Type::ShowRoom,
        Type::MemberClubEvent,
    ];

    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Type::StoreOpening => "store_opening",
            Type::Anniversary => "anniversary",
            Type::HolidayPromotion => "holiday_promotion",
            Type::ProductPromotion => "product_promotion",
            Type::Lottery => "lottery",
            Type::Advertising => "advertising",
            Type::DirectMail => "direct_mail",
            Type::Edm => "edm",
            Type::ShowRoom => "show_room",
            Type::MemberClubEvent => "member_club_event",
        }
    }

    /// The type of its stored form.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// Where a campaign is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Draft,
    PendingApproval,
    Approved,
    Rejected,
    Running,
    Completed,
    Cancelled,
}

impl State {
    /// Every state, in the order of the proto enum.
    pub const ALL: [State; 7] = [
        State::Draft,
        State::PendingApproval,
        State::Approved,
        State::Rejected,
        State::Running,
        State::Completed,
        State::Cancelled,
    ];

    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Draft => "draft",
            State::PendingApproval => "pending_approval",
            State::Approved => "approved",
            State::Rejected => "rejected",
            State::Running => "running",
            State::Completed => "completed",
            State::Cancelled => "cancelled",
        }
    }

    /// The state of its stored form.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether nothing but late costs changes any more.
    pub fn is_final(self) -> bool {
        matches!(self, State::Completed | State::Cancelled)
    }

    /// Whether the plan (what is approved) may still change.
    pub fn plan_editable(self) -> bool {
        matches!(self, State::Draft | State::Rejected)
    }

    /// Whether customers are invited and answer: once approved, until it is over.
    pub fn takes_members(self) -> bool {
        matches!(self, State::Approved | State::Running)
    }

    /// As the API spells it, for messages.
    pub fn upper(self) -> String {
        self.as_str().to_uppercase()
    }
}

/// A move of the lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Submit,
    Approve,
    Reject,
    Start,
    Complete,
    Cancel,
}

impl Step {
    /// The state it leads to.
    pub fn to(self) -> State {
        match self {
            Step::Submit => State::PendingApproval,
            Step::Approve => State::Approved,
            Step::Reject => State::Rejected,
            Step::Start => State::Running,
            Step::Complete => State::Completed,
            Step::Cancel => State::Cancelled,
        }
    }

    /// Whether it may be taken from `from`.
    fn leaves(self, from: State) -> bool {
        use State::*;
        match self {
            Step::Submit => matches!(from, Draft | Rejected),
            Step::Approve | Step::Reject => from == PendingApproval,
            Step::Start => from == Approved,
            Step::Complete => from == Running,
            Step::Cancel => !from.is_final(),
        }
    }

    /// Whether it needs a reason.
    pub fn needs_reason(self) -> bool {
        matches!(self, Step::Reject | Step::Cancel)
    }

    /// Whether it decides an approval, which the creator may not do unless an admin.
    pub fn decides(self) -> bool {
        matches!(self, Step::Approve | Step::Reject)
    }

    /// The verb, for messages.
    pub fn verb(self) -> &'static str {
        match self {
            Step::Submit => "submitted",
            Step::Approve => "approved",
            Step::Reject => "rejected",
            Step::Start => "started",
            Step::Complete => "completed",
            Step::Cancel => "cancelled",
        }
    }
}

/// Who takes a step.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub subject: &'a str,
    pub admin: bool,
}

/// What a campaign's invitations brought, or (as a change) what a write adds to it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Results {
    pub invited: i64,
    pub responded: i64,
    pub accepted: i64,
    pub attended: i64,
}

impl Results {
    /// Whether it changes nothing.
    pub fn is_zero(&self) -> bool {
        *self == Results::default()
    }
}

impl std::ops::AddAssign for Results {
    fn add_assign(&mut self, d: Results) {
        self.invited += d.invited;
        self.responded += d.responded;
        self.accepted += d.accepted;
        self.attended += d.attended;
    }
}

/// A campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    pub id: Uuid,
    pub display_name: String,
    pub kind: Type,
    pub description: String,
    pub owner_id: String,
    pub team_id: String,
    /// "stores/{store}", or empty.
    pub store: String,
    pub start_time: Micros,
    pub end_time: Micros,
    pub budget: Money,
    /// The costs recorded, in the budget's currency.
    pub cost: i64,
    pub state: State,
    pub state_reason: String,
    pub state_change_time: Micros,
    pub creator: String,
    pub approved_by: String,
    pub approve_time: Option<Micros>,
    pub results: Results,
    pub create_time: Micros,
    pub update_time: Micros,
    pub version: i64,
}

/// One itemised cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cost {
    pub id: Uuid,
    pub campaign_id: Uuid,
    pub amount: i64,
    pub category: String,
    pub note: String,
    pub recorded_by: String,
    pub create_time: Micros,
}

impl Cost {
    /// "campaigns/{campaign}/costs/{cost}".
    pub fn name(&self) -> String {
        rapport_kit::names::format_child_id(CAMPAIGNS, self.campaign_id, COSTS, self.id)
    }
}

/// Why a campaign refuses a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The step does not leave this state.
    NotFrom(State, Step),
    /// Rejecting and cancelling need a reason.
    ReasonRequired(Step),
    /// The creator deciding its own campaign's approval without being an admin.
    OwnCampaign,
    /// An edit of a completed or cancelled campaign.
    Over(State),
    /// An edit of the plan outside DRAFT and REJECTED.
    PlanLocked(State),
    /// A plan whose end is not after its start.
    EndBeforeStart,
    /// A cost before the campaign was approved.
    NotApproved(State),
    /// A cost in another currency than the budget's.
    Currency(String),
    /// Invitations or answers outside APPROVED and RUNNING.
    NoMembers(State),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::NotFrom(from, step) => write!(
                f,
                "the campaign is {} and cannot be {} from there",
                from.upper(),
                step.verb()
            ),
            Refusal::ReasonRequired(step) => {
                write!(f, "is required: say why the campaign is {}", step.verb())
            }
            Refusal::OwnCampaign => f.write_str(
                "you created this campaign: another manager or an admin decides its approval",
            ),
            Refusal::Over(s) => write!(f, "the campaign is {} and no longer changes", s.upper()),
            Refusal::PlanLocked(s) => write!(
                f,
                "the campaign is {}: its plan changes only while DRAFT or REJECTED; cancel it \
                 and plan a new one",
                s.upper()
            ),
            Refusal::EndBeforeStart => f.write_str("must be after start_time"),
            Refusal::NotApproved(s) => write!(
                f,
                "costs are recorded once a campaign is approved; this one is {}",
                s.upper()
            ),
            Refusal::Currency(c) => write!(f, "must be the budget's currency, {c}"),
            Refusal::NoMembers(s) => write!(
                f,
                "customers are invited and answer while a campaign is APPROVED or RUNNING; \
                 this one is {}",
                s.upper()
            ),
        }
    }
}

impl Campaign {
    /// A draft with nothing planned yet, for a request's fields to fill in.
    pub fn empty() -> Self {
        Campaign {
            id: Uuid::nil(),
            display_name: String::new(),
            kind: Type::HolidayPromotion,
            description: String::new(),
            owner_id: String::new(),
            team_id: String::new(),
            store: String::new(),
            start_time: 0,
            end_time: 0,
            budget: Money {
                currency_code: String::new(),
                minor_units: 0,
            },
            cost: 0,
            state: State::Draft,
            state_reason: String::new(),
            state_change_time: 0,
            creator: String::new(),
            approved_by: String::new(),
            approve_time: None,
            results: Results::default(),
            create_time: 0,
            update_time: 0,
            version: 1,
        }
    }

    /// "campaigns/{id}".
    pub fn name(&self) -> String {
        rapport_kit::names::format_id(CAMPAIGNS, self.id)
    }

    /// Whether the costs recorded are more than the budget.
    pub fn over_budget(&self) -> bool {
        self.cost > self.budget.minor_units
    }

    /// Checks the plan on its own: its end after its start.
    pub fn check_plan(&self) -> Result<(), Refusal> {
        if self.end_time <= self.start_time {
            return Err(Refusal::EndBeforeStart);
        }
        Ok(())
    }

    /// Checks that an edit may be made now, `plan` saying whether it touches the plan.
    pub fn check_edit(&self, plan: bool) -> Result<(), Refusal> {
        if self.state.is_final() {
            return Err(Refusal::Over(self.state));
        }
        if plan && !self.state.plan_editable() {
            return Err(Refusal::PlanLocked(self.state));
        }
        Ok(())
    }

    /// Takes `step` for `by` at `now`, with `reason` when it needs one.
    pub fn take(
        &mut self,
        step: Step,
        by: Actor<'_>,
        reason: &str,
        now: Micros,
    ) -> Result<(), Refusal> {
        if !step.leaves(self.state) {
            return Err(Refusal::NotFrom(self.state, step));
        }
        if step.needs_reason() && reason.trim().is_empty() {
            return Err(Refusal::ReasonRequired(step));
        }
        if step.decides() && by.subject == self.creator && !by.admin {
            return Err(Refusal::OwnCampaign);
        }
        self.state = step.to();
        self.state_reason = if step.needs_reason() {
            reason.trim().to_owned()
        } else {
            String::new()
        };
        if step == Step::Approve {
            self.approved_by = by.subject.to_owned();
            self.approve_time = Some(now);
        }
        self.state_change_time = now;
        Ok(())
    }

    /// Adds `cost` (in `currency`) to the costs recorded.
    pub fn record_cost(&mut self, currency: &str, amount: i64) -> Result<(), Refusal> {
        if self.approve_time.is_none() {
            return Err(Refusal::NotApproved(self.state));
        }
        if currency != self.budget.currency_code {
            return Err(Refusal::Currency(self.budget.currency_code.clone()));
        }
        self.cost += amount;
        Ok(())
    }

    /// Checks that customers may be invited or answer now.
    pub fn check_members(&self) -> Result<(), Refusal> {
        if self.state.takes_members() {
            Ok(())
        } else {
            Err(Refusal::NoMembers(self.state))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn campaign() -> Campaign {
        Campaign {
            display_name: "Spring sale".into(),
            owner_id: "mk-1".into(),
            start_time: 10,
            end_time: 20,
            budget: Money {
                currency_code: "CNY".into(),
                minor_units: 1_000,
            },
            creator: "mk-1".into(),
            ..Campaign::empty()
        }
    }

    const CREATOR: Actor = Actor {
        subject: "mk-1",
        admin: false,
    };
    const MANAGER: Actor = Actor {
        subject: "mm-1",
        admin: false,
    };

    #[test]
    fn the_lifecycle_runs_from_draft_to_completed() {
        let mut c = campaign();
        c.take(Step::Submit, CREATOR, "", 1).unwrap();
        assert_eq!(c.state, State::PendingApproval);
        c.take(Step::Reject, MANAGER, " too costly ", 2).unwrap();
        assert_eq!(
            (c.state, c.state_reason.as_str()),
            (State::Rejected, "too costly")
        );
        c.check_edit(true).unwrap();
        c.take(Step::Submit, CREATOR, "", 3).unwrap();
        assert!(c.state_reason.is_empty());
        assert_eq!(
            c.check_edit(true),
            Err(Refusal::PlanLocked(State::PendingApproval))
        );
        c.check_edit(false).unwrap();
        c.take(Step::Approve, MANAGER, "", 4).unwrap();
        assert_eq!((c.approved_by.as_str(), c.approve_time), ("mm-1", Some(4)));
        c.take(Step::Start, CREATOR, "", 5).unwrap();
        c.take(Step::Complete, CREATOR, "", 6).unwrap();
        assert_eq!((c.state, c.state_change_time), (State::Completed, 6));
        assert_eq!(
            c.take(Step::Cancel, CREATOR, "late", 7),
            Err(Refusal::NotFrom(State::Completed, Step::Cancel))
        );
        assert_eq!(c.check_edit(false), Err(Refusal::Over(State::Completed)));
    }

    #[test]
    fn steps_are_refused_out_of_turn_and_without_a_reason() {
        let mut c = campaign();
        for step in [Step::Approve, Step::Reject, Step::Start, Step::Complete] {
            assert_eq!(
                c.take(step, MANAGER, "why", 1),
                Err(Refusal::NotFrom(State::Draft, step))
            );
        }
        assert_eq!(
            c.take(Step::Cancel, CREATOR, " ", 1),
            Err(Refusal::ReasonRequired(Step::Cancel))
        );
        c.take(Step::Cancel, CREATOR, "no venue", 1).unwrap();
        assert_eq!(c.state, State::Cancelled);
    }

    #[test]
    fn the_creator_decides_its_own_campaign_only_as_an_admin() {
        let mut c = campaign();
        c.take(Step::Submit, CREATOR, "", 1).unwrap();
        assert_eq!(
            c.take(Step::Approve, CREATOR, "", 2),
            Err(Refusal::OwnCampaign)
        );
        assert_eq!(
            c.take(Step::Reject, CREATOR, "x", 2),
            Err(Refusal::OwnCampaign)
        );
        let admin = Actor {
            subject: "mk-1",
            admin: true,
        };
        c.take(Step::Approve, admin, "", 2).unwrap();
        assert_eq!(c.state, State::Approved);
    }

    #[test]
    fn costs_need_an_approval_and_the_budget_currency_and_may_go_over() {
        let mut c = campaign();
        assert_eq!(
            c.record_cost("CNY", 5),
            Err(Refusal::NotApproved(State::Draft))
        );
        c.take(Step::Submit, CREATOR, "", 1).unwrap();
        c.take(Step::Approve, MANAGER, "", 2).unwrap();
        assert_eq!(
            c.record_cost("USD", 5),
            Err(Refusal::Currency("CNY".into()))
        );
        c.record_cost("CNY", 600).unwrap();
        assert!(!c.over_budget());
        c.record_cost("CNY", 600).unwrap();
        assert_eq!(c.cost, 1_200);
        assert!(c.over_budget());
        c.take(Step::Cancel, CREATOR, "rain", 3).unwrap();
        c.record_cost("CNY", 1).unwrap();
    }

    #[test]
    fn members_come_while_approved_or_running_and_plans_end_after_they_start() {
        let mut c = campaign();
        assert_eq!(c.check_members(), Err(Refusal::NoMembers(State::Draft)));
        c.state = State::Running;
        c.check_members().unwrap();
        c.end_time = c.start_time;
        assert_eq!(c.check_plan(), Err(Refusal::EndBeforeStart));
        for t in Type::ALL {
            assert_eq!(Type::parse(t.as_str()), Some(t));
        }
        for s in State::ALL {
            assert_eq!(State::parse(s.as_str()), Some(s));
        }
    }
}
