//! Opportunities (LE2): possible deals moving through a pipeline's stages, and the rules of a
//! move. Every move is kept as a stage change, with how long the opportunity stayed in the
//! stage it left; closing stages (WON, LOST) end the opportunity.

use rapport_kit::names;
use rapport_runtime::clock::Micros;
use uuid::Uuid;

use super::pipeline::{Stage, StageKind};

/// The collection of opportunities.
pub const OPPORTUNITIES: &str = "opportunities";
/// Longest lost reason, in characters.
pub const MAX_LOST_REASON: usize = 500;

/// Whether an opportunity is still open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Being worked.
    Open,
    /// Won.
    Won,
    /// Lost.
    Lost,
}

impl State {
    /// Every state, as filters name them.
    pub const NAMES: &'static [&'static str] = &["OPEN", "WON", "LOST"];

    /// The stored (and filterable) name.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Open => "OPEN",
            State::Won => "WON",
            State::Lost => "LOST",
        }
    }

    /// The state stored as `s`.
    pub fn parse(s: &str) -> Option<State> {
        [State::Open, State::Won, State::Lost]
            .into_iter()
            .find(|x| x.as_str() == s)
    }

    /// The state an opportunity is in after entering a stage of `kind`.
    pub fn after(kind: StageKind) -> State {
        match kind {
            StageKind::Open => State::Open,
            StageKind::Won => State::Won,
            StageKind::Lost => State::Lost,
        }
    }
}

/// An amount of money in minor units of an ISO 4217 currency (an opportunity's amount, a
/// lead's budget), as every service keeps one.
pub use rapport_kit::validate::{Money, is_currency};

/// An opportunity as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opportunity {
    pub id: Uuid,
    pub display_name: String,
    /// The lead it came from.
    pub lead_id: Option<Uuid>,
    /// The customer it is for.
    pub customer_id: Option<Uuid>,
    pub pipeline_id: String,
    /// The current stage's id.
    pub stage: String,
    pub state: State,
    pub amount: Option<Money>,
    pub expected_close: Option<time::Date>,
    pub owner_id: String,
    /// The owner's team when it was created (manager visibility, analytics by team).
    pub team_id: String,
    /// The lead's source (`FORM`, …), empty without a lead.
    pub source: String,
    pub stage_enter_time: Micros,
    pub close_time: Option<Micros>,
    pub lost_reason: String,
    /// 0, 1 (owner alerted) or 2 (escalated) for the current stage visit (LE8).
    pub dwell_alert: i64,
    pub create_time: Micros,
    pub update_time: Micros,
    pub version: i64,
}

impl Opportunity {
    /// `opportunities/{id}`.
    pub fn resource_name(&self) -> String {
        opportunity_name(self.id)
    }

    /// The current etag.
    pub fn etag(&self) -> String {
        names::etag(self.resource_name(), self.version)
    }

    /// The opportunity after moving to `to` at `now` by `actor`, and the stage change that
    /// records the move.
    pub fn move_to(
        &self,
        to: &Stage,
        lost_reason: &str,
        actor: &str,
        now: Micros,
    ) -> Result<(Opportunity, StageChange), MoveError> {
        if self.state != State::Open {
            return Err(MoveError::Closed(self.state));
        }
        if to.id == self.stage {
            return Err(MoveError::SameStage);
        }
        let state = State::after(to.kind);
        let change = StageChange {
            id: Uuid::now_v7(),
            opportunity_id: self.id,
            pipeline_id: self.pipeline_id.clone(),
            from_stage: self.stage.clone(),
            to_stage: to.id.clone(),
            // A clock set back must not make a negative dwell.
            dwell: (now - self.stage_enter_time).max(0),
            actor: actor.to_owned(),
            owner_id: self.owner_id.clone(),
            team_id: self.team_id.clone(),
            source: self.source.clone(),
            opportunity_create_time: self.create_time,
            create_time: now,
        };
        let moved = Opportunity {
            stage: to.id.clone(),
            state,
            stage_enter_time: now,
            close_time: (state != State::Open).then_some(now),
            lost_reason: if state == State::Lost {
                lost_reason.to_owned()
            } else {
                String::new()
            },
            dwell_alert: 0,
            update_time: now,
            version: self.version + 1,
            ..self.clone()
        };
        Ok((moved, change))
    }

    /// The stage change that records entering the first stage on creation.
    pub fn first_change(&self, actor: &str) -> StageChange {
        StageChange {
            id: Uuid::now_v7(),
            opportunity_id: self.id,
            pipeline_id: self.pipeline_id.clone(),
            from_stage: String::new(),
            to_stage: self.stage.clone(),
            dwell: 0,
            actor: actor.to_owned(),
            owner_id: self.owner_id.clone(),
            team_id: self.team_id.clone(),
            source: self.source.clone(),
            opportunity_create_time: self.create_time,
            create_time: self.create_time,
        }
    }
}

/// Why a move is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoveError {
    /// The opportunity was already won or lost.
    Closed(State),
    /// It is in that stage already.
    SameStage,
}

/// `opportunities/{id}`.
pub fn opportunity_name(id: Uuid) -> String {
    names::format_id(OPPORTUNITIES, id)
}

/// One move between stages. The grouping columns are the opportunity's at the time, for
/// analytics by source, team and rep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageChange {
    pub id: Uuid,
    pub opportunity_id: Uuid,
    pub pipeline_id: String,
    /// Empty for the entry into the first stage.
    pub from_stage: String,
    pub to_stage: String,
    /// How long the opportunity stayed in `from_stage`.
    pub dwell: Micros,
    pub actor: String,
    pub owner_id: String,
    pub team_id: String,
    pub source: String,
    pub opportunity_create_time: Micros,
    pub create_time: Micros,
}

impl StageChange {
    /// `opportunities/{opportunity}/stageChanges/{id}`.
    pub fn resource_name(&self) -> String {
        format!(
            "{}/stageChanges/{}",
            opportunity_name(self.opportunity_id),
            self.id.hyphenated()
        )
    }
}

#[cfg(test)]
mod tests {
    use rapport_runtime::clock::DAY;

    use super::*;
    use crate::domain::pipeline::example;

    fn opportunity(now: Micros) -> Opportunity {
        Opportunity {
            id: Uuid::now_v7(),
            display_name: "Flat 12B".into(),
            lead_id: None,
            customer_id: None,
            pipeline_id: "real-estate".into(),
            stage: "online_viewing".into(),
            state: State::Open,
            amount: None,
            expected_close: None,
            owner_id: "rep-1".into(),
            team_id: "north".into(),
            source: "FORM".into(),
            stage_enter_time: now,
            close_time: None,
            lost_reason: String::new(),
            dwell_alert: 1,
            create_time: now,
            update_time: now,
            version: 1,
        }
    }

    #[test]
    fn a_move_records_the_dwell_and_resets_the_alert() {
        let p = example();
        let o = opportunity(10 * DAY);
        let (moved, change) = o
            .move_to(p.stage("first_visit").unwrap(), "", "rep-1", 13 * DAY)
            .unwrap();
        assert_eq!(moved.stage, "first_visit");
        assert_eq!(moved.state, State::Open);
        assert_eq!(moved.stage_enter_time, 13 * DAY);
        assert_eq!(moved.dwell_alert, 0);
        assert_eq!(moved.version, 2);
        assert_eq!(moved.close_time, None);
        assert_eq!(change.from_stage, "online_viewing");
        assert_eq!(change.dwell, 3 * DAY);
        assert_eq!(change.opportunity_create_time, 10 * DAY);
        assert_eq!(
            (change.owner_id.as_str(), change.source.as_str()),
            ("rep-1", "FORM")
        );
    }

    #[test]
    fn closing_stages_close_and_closed_ones_do_not_move() {
        let p = example();
        let o = opportunity(0);
        let (won, _) = o.move_to(p.stage("deal").unwrap(), "", "a", DAY).unwrap();
        assert_eq!((won.state, won.close_time), (State::Won, Some(DAY)));
        assert_eq!(
            won.move_to(p.stage("revisit").unwrap(), "", "a", 2 * DAY),
            Err(MoveError::Closed(State::Won))
        );
        let (lost, _) = o
            .move_to(p.stage("lost").unwrap(), "too far", "a", DAY)
            .unwrap();
        assert_eq!(
            (lost.state, lost.lost_reason.as_str()),
            (State::Lost, "too far")
        );
        assert_eq!(
            o.move_to(p.stage("online_viewing").unwrap(), "", "a", DAY),
            Err(MoveError::SameStage)
        );
    }

    #[test]
    fn a_clock_set_back_gives_zero_dwell() {
        let p = example();
        let o = opportunity(5 * DAY);
        let (_, change) = o
            .move_to(p.stage("first_visit").unwrap(), "", "a", DAY)
            .unwrap();
        assert_eq!(change.dwell, 0);
    }

    #[test]
    fn names_and_states() {
        let o = opportunity(0);
        assert!(o.resource_name().starts_with("opportunities/"));
        let c = o.first_change("a");
        assert_eq!(c.from_stage, "");
        assert!(c.resource_name().contains("/stageChanges/"));
        for s in State::NAMES {
            assert_eq!(State::parse(s).map(State::as_str), Some(*s));
        }
        assert!(is_currency("CNY"));
        assert!(!is_currency("cny"));
        assert!(!is_currency("CN"));
    }
}
