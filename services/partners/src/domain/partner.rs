//! Partners (PA1) and their lifecycle: PROSPECT → ONBOARDING → ACTIVE ⇄ SUSPENDED, and
//! TERMINATED from any state, for good. Activation needs the onboarding checklist done.

use rapport_runtime::clock::Micros;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::settings::Step;

/// The collection of partners' names.
pub const PARTNERS: &str = "partners";

/// What kind of partner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Agent,
    Dealer,
    Reseller,
    Referrer,
}

/// Where a partner is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Prospect,
    Onboarding,
    Active,
    Suspended,
    Terminated,
}

impl State {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Prospect => "prospect",
            State::Onboarding => "onboarding",
            State::Active => "active",
            State::Suspended => "suspended",
            State::Terminated => "terminated",
        }
    }

    /// The state of its stored form.
    pub fn parse(s: &str) -> Option<Self> {
        [
            State::Prospect,
            State::Onboarding,
            State::Active,
            State::Suspended,
            State::Terminated,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

impl Kind {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Agent => "agent",
            Kind::Dealer => "dealer",
            Kind::Reseller => "reseller",
            Kind::Referrer => "referrer",
        }
    }

    /// The kind of its stored form.
    pub fn parse(s: &str) -> Option<Self> {
        [Kind::Agent, Kind::Dealer, Kind::Reseller, Kind::Referrer]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// A person at a partner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub display_name: String,
    pub role: String,
    pub phone: String,
    pub email: String,
    pub primary: bool,
}

/// One step of a partner's onboarding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub key: String,
    pub title: String,
    pub done_time: Option<Micros>,
    pub done_by: String,
}

/// A partner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partner {
    pub id: Uuid,
    pub display_name: String,
    pub kind: Kind,
    pub state: State,
    pub state_reason: String,
    /// The tier's id; empty before the first evaluation that found one.
    pub tier_id: String,
    pub phone: String,
    pub email: String,
    pub region: String,
    pub contacts: Vec<Contact>,
    pub onboarding: Vec<Item>,
    pub manager_id: String,
    pub create_time: Micros,
    pub update_time: Micros,
    pub state_change_time: Micros,
    pub version: i64,
}

/// Why a partner cannot move or tick off a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The state does not lead there.
    NotFrom(State, State),
    /// SUSPENDED and TERMINATED need a reason.
    ReasonRequired(State),
    /// Activation with steps left.
    StepsLeft(Vec<String>),
    /// Steps are ticked off only during onboarding.
    NotOnboarding(State),
    /// No step of that key.
    NoSuchStep(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::NotFrom(from, to) => write!(
                f,
                "a partner cannot move from {} to {}",
                from.as_str().to_uppercase(),
                to.as_str().to_uppercase()
            ),
            Refusal::ReasonRequired(to) => {
                write!(f, "moving to {} needs a reason", to.as_str().to_uppercase())
            }
            Refusal::StepsLeft(keys) => {
                write!(f, "onboarding is not done: {} left", keys.join(", "))
            }
            Refusal::NotOnboarding(s) => write!(
                f,
                "steps are ticked off during ONBOARDING; the partner is {}",
                s.as_str().to_uppercase()
            ),
            Refusal::NoSuchStep(k) => write!(f, "there is no onboarding step {k:?}"),
        }
    }
}

impl Partner {
    /// "partners/{id}".
    pub fn name(&self) -> String {
        rapport_kit::names::format_id(PARTNERS, self.id)
    }

    /// Whether `to` follows from the current state.
    fn leads_to(&self, to: State) -> bool {
        use State::*;
        matches!(
            (self.state, to),
            (Prospect, Onboarding)
                | (Onboarding, Active)
                | (Active, Suspended)
                | (Suspended, Active)
                | (Prospect | Onboarding | Active | Suspended, Terminated)
        )
    }

    /// Moves the partner to `to` at `now`. Onboarding starts with `checklist`'s steps (kept
    /// when it was started before); activation needs every step done.
    pub fn change_state(
        &mut self,
        to: State,
        reason: &str,
        checklist: &[Step],
        now: Micros,
    ) -> Result<(), Refusal> {
        if !self.leads_to(to) {
            return Err(Refusal::NotFrom(self.state, to));
        }
        if matches!(to, State::Suspended | State::Terminated) && reason.trim().is_empty() {
            return Err(Refusal::ReasonRequired(to));
        }
        if to == State::Onboarding && self.onboarding.is_empty() {
            self.onboarding = checklist
                .iter()
                .map(|s| Item {
                    key: s.key.clone(),
                    title: s.title.clone(),
                    done_time: None,
                    done_by: String::new(),
                })
                .collect();
        }
        if to == State::Active && self.state == State::Onboarding {
            let left: Vec<String> = self
                .onboarding
                .iter()
                .filter(|i| i.done_time.is_none())
                .map(|i| i.key.clone())
                .collect();
            if !left.is_empty() {
                return Err(Refusal::StepsLeft(left));
            }
        }
        self.state = to;
        self.state_reason = reason.trim().to_owned();
        self.state_change_time = now;
        Ok(())
    }

    /// Ticks off the step `key`; a step already done stays as it was.
    pub fn complete(&mut self, key: &str, by: &str, now: Micros) -> Result<(), Refusal> {
        if self.state != State::Onboarding {
            return Err(Refusal::NotOnboarding(self.state));
        }
        let item = self
            .onboarding
            .iter_mut()
            .find(|i| i.key == key)
            .ok_or_else(|| Refusal::NoSuchStep(key.to_owned()))?;
        if item.done_time.is_none() {
            item.done_time = Some(now);
            item.done_by = by.to_owned();
        }
        Ok(())
    }

    /// Whether the partner may register deals.
    pub fn registers(&self) -> bool {
        self.state == State::Active
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partner() -> Partner {
        Partner {
            id: Uuid::nil(),
            display_name: "Acme".into(),
            kind: Kind::Dealer,
            state: State::Prospect,
            state_reason: String::new(),
            tier_id: String::new(),
            phone: String::new(),
            email: String::new(),
            region: String::new(),
            contacts: Vec::new(),
            onboarding: Vec::new(),
            manager_id: String::new(),
            create_time: 0,
            update_time: 0,
            state_change_time: 0,
            version: 1,
        }
    }

    fn steps() -> Vec<Step> {
        vec![
            Step {
                key: "contract".into(),
                title: "Contract".into(),
            },
            Step {
                key: "training".into(),
                title: "Training".into(),
            },
        ]
    }

    #[test]
    fn onboarding_copies_the_checklist_and_activation_waits_for_it() {
        let mut p = partner();
        p.change_state(State::Onboarding, "", &steps(), 5).unwrap();
        assert_eq!(p.onboarding.len(), 2);
        assert_eq!(
            p.change_state(State::Active, "", &steps(), 6),
            Err(Refusal::StepsLeft(vec![
                "contract".into(),
                "training".into()
            ]))
        );
        p.complete("contract", "m1", 7).unwrap();
        p.complete("contract", "m2", 8).unwrap();
        assert_eq!(p.onboarding[0].done_by, "m1");
        assert_eq!(
            p.complete("nope", "m1", 8),
            Err(Refusal::NoSuchStep("nope".into()))
        );
        p.complete("training", "m1", 9).unwrap();
        p.change_state(State::Active, "", &steps(), 10).unwrap();
        assert_eq!(p.state, State::Active);
        assert_eq!(p.state_change_time, 10);
        assert!(matches!(
            p.complete("contract", "m1", 11),
            Err(Refusal::NotOnboarding(State::Active))
        ));
    }

    #[test]
    fn suspension_and_termination_need_a_reason_and_termination_is_final() {
        let mut p = partner();
        p.state = State::Active;
        assert_eq!(
            p.change_state(State::Suspended, " ", &[], 1),
            Err(Refusal::ReasonRequired(State::Suspended))
        );
        p.change_state(State::Suspended, "late payments", &[], 1)
            .unwrap();
        assert!(!p.registers());
        p.change_state(State::Active, "", &[], 2).unwrap();
        p.change_state(State::Terminated, "contract ended", &[], 3)
            .unwrap();
        for to in [State::Active, State::Onboarding, State::Prospect] {
            assert_eq!(
                p.change_state(to, "x", &[], 4),
                Err(Refusal::NotFrom(State::Terminated, to))
            );
        }
    }

    #[test]
    fn a_prospect_cannot_skip_onboarding() {
        let mut p = partner();
        assert_eq!(
            p.change_state(State::Active, "", &[], 1),
            Err(Refusal::NotFrom(State::Prospect, State::Active))
        );
    }
}
