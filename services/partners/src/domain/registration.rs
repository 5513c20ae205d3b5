//! Deal registrations (PA3): what a registration collides on, and its states: SUBMITTED →
//! APPROVED (→ CONVERTED, or LAPSED at expiry) or REJECTED.

use rapport_runtime::clock::Micros;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The collection of registrations' names.
pub const REGISTRATIONS: &str = "registrations";

/// Where a registration is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum State {
    Submitted,
    Approved,
    Rejected,
    Lapsed,
    Converted,
}

impl State {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Submitted => "submitted",
            State::Approved => "approved",
            State::Rejected => "rejected",
            State::Lapsed => "lapsed",
            State::Converted => "converted",
        }
    }

    /// The state of its stored form.
    pub fn parse(s: &str) -> Option<Self> {
        [
            State::Submitted,
            State::Approved,
            State::Rejected,
            State::Lapsed,
            State::Converted,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }

    /// Whether a registration in this state still holds its prospect: others collide with it.
    pub fn holds(self) -> bool {
        matches!(self, State::Submitted | State::Approved | State::Converted)
    }
}

/// Something a registration collides with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    /// "registrations/{id}", "leads/{id}", "customers/{id}"; empty when hidden.
    pub resource: String,
    pub display_name: String,
    pub matched_on: Vec<String>,
    pub categories: Vec<String>,
    /// For another registration, "partners/{id}".
    pub partner: String,
}

/// A registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub id: Uuid,
    pub partner_id: Uuid,
    pub contact_name: String,
    pub organization: String,
    pub phone: String,
    pub email: String,
    pub region: String,
    /// Category ids of the orders service's catalog.
    pub categories: Vec<String>,
    pub notes: String,
    pub state: State,
    pub rejection_reason: String,
    pub conflicts: Vec<Conflict>,
    /// The lead's id once approved.
    pub lead_id: Option<Uuid>,
    pub approve_by: Micros,
    pub expire_time: Option<Micros>,
    pub decided_by: String,
    pub decide_time: Option<Micros>,
    pub create_time: Micros,
    pub update_time: Micros,
    pub version: i64,
}

/// Why a registration cannot be decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Only a SUBMITTED registration is decided.
    Decided(State),
    /// Conflicts the approver did not override.
    Conflicts(usize),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Decided(s) => write!(
                f,
                "the registration is {}; only a SUBMITTED one is decided",
                s.as_str().to_uppercase()
            ),
            Refusal::Conflicts(n) => write!(
                f,
                "the registration has {n} conflict(s); look at them and approve with \
                 override_conflicts to approve anyway"
            ),
        }
    }
}

/// An organization's name as it collides: lower case, without spaces, punctuation and the
/// usual legal suffixes, so "ACME Co., Ltd." and "acme" are one.
pub fn normalize_organization(raw: &str) -> String {
    let mut s: String = raw
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    for suffix in [
        "有限责任公司",
        "股份有限公司",
        "有限公司",
        "公司",
        "coltd",
        "limited",
        "ltd",
        "inc",
        "llc",
        "gmbh",
        "co",
    ] {
        if s.len() > suffix.len()
            && let Some(stripped) = s.strip_suffix(suffix)
        {
            s = stripped.to_owned();
            break;
        }
    }
    s
}

impl Registration {
    /// "registrations/{id}".
    pub fn name(&self) -> String {
        rapport_kit::names::format_id(REGISTRATIONS, self.id)
    }

    /// What the registration collides on: "phone:…", "email:…", "organization:…".
    pub fn match_keys(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.phone.is_empty() {
            out.push(format!("phone:{}", self.phone));
        }
        if !self.email.is_empty() {
            out.push(format!("email:{}", self.email));
        }
        let org = normalize_organization(&self.organization);
        if !org.is_empty() {
            out.push(format!("organization:{org}"));
        }
        out
    }

    /// The conflict `other` (a registration holding its prospect) makes with this one: shared
    /// match keys and an overlapping category. None without both.
    pub fn conflict_with(&self, other: &Registration) -> Option<Conflict> {
        if other.id == self.id || !other.state.holds() {
            return None;
        }
        let theirs = other.match_keys();
        let matched_on: Vec<String> = self
            .match_keys()
            .into_iter()
            .filter(|k| theirs.contains(k))
            .collect();
        let categories = overlap(&self.categories, &other.categories);
        (!matched_on.is_empty() && !categories.is_empty()).then(|| Conflict {
            resource: other.name(),
            display_name: other.contact_name.clone(),
            matched_on,
            categories,
            partner: rapport_kit::names::format_id(super::partner::PARTNERS, other.partner_id),
        })
    }

    /// Approves at `now`: the lead `lead` is made for it, and it holds for `hold`.
    pub fn approve(
        &mut self,
        by: &str,
        override_conflicts: bool,
        lead: Uuid,
        hold: Micros,
        now: Micros,
    ) -> Result<(), Refusal> {
        if self.state != State::Submitted {
            return Err(Refusal::Decided(self.state));
        }
        if !self.conflicts.is_empty() && !override_conflicts {
            return Err(Refusal::Conflicts(self.conflicts.len()));
        }
        self.state = State::Approved;
        self.lead_id = Some(lead);
        self.expire_time = Some(now.saturating_add(hold));
        self.decided_by = by.to_owned();
        self.decide_time = Some(now);
        Ok(())
    }

    /// Rejects at `now` with `reason`.
    pub fn reject(&mut self, by: &str, reason: &str, now: Micros) -> Result<(), Refusal> {
        if self.state != State::Submitted {
            return Err(Refusal::Decided(self.state));
        }
        self.state = State::Rejected;
        self.rejection_reason = reason.to_owned();
        self.decided_by = by.to_owned();
        self.decide_time = Some(now);
        Ok(())
    }

    /// Whether an approved registration has run out at `now`.
    pub fn lapses_at(&self, now: Micros) -> bool {
        self.state == State::Approved && self.expire_time.is_some_and(|t| t <= now)
    }
}

/// The categories in both lists, in `a`'s order.
pub fn overlap(a: &[String], b: &[String]) -> Vec<String> {
    a.iter().filter(|c| b.contains(c)).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(phone: &str, org: &str, cats: &[&str]) -> Registration {
        Registration {
            id: Uuid::now_v7(),
            partner_id: Uuid::now_v7(),
            contact_name: "Li".into(),
            organization: org.into(),
            phone: phone.into(),
            email: String::new(),
            region: String::new(),
            categories: cats.iter().map(|c| (*c).to_owned()).collect(),
            notes: String::new(),
            state: State::Submitted,
            rejection_reason: String::new(),
            conflicts: Vec::new(),
            lead_id: None,
            approve_by: 0,
            expire_time: None,
            decided_by: String::new(),
            decide_time: None,
            create_time: 0,
            update_time: 0,
            version: 1,
        }
    }

    #[test]
    fn organizations_collide_without_case_punctuation_or_legal_suffix() {
        assert_eq!(normalize_organization("ACME Co., Ltd."), "acme");
        assert_eq!(normalize_organization("Acme Ltd"), "acme");
        assert_eq!(normalize_organization("上海 家居 有限公司"), "上海家居");
        assert_eq!(normalize_organization("Co"), "co");
    }

    #[test]
    fn a_conflict_needs_a_shared_key_and_a_shared_category() {
        let a = reg("+8613800000001", "Acme Ltd", &["c1", "c2"]);
        let same_phone_other_category = reg("+8613800000001", "", &["c3"]);
        assert!(a.conflict_with(&same_phone_other_category).is_none());
        let same_org = reg("", "ACME ltd.", &["c2"]);
        let c = a.conflict_with(&same_org).unwrap();
        assert_eq!(c.matched_on, ["organization:acme"]);
        assert_eq!(c.categories, ["c2"]);
        let mut rejected = same_org.clone();
        rejected.state = State::Rejected;
        assert!(a.conflict_with(&rejected).is_none());
        assert!(a.conflict_with(&a).is_none());
    }

    #[test]
    fn decisions_happen_once_and_conflicts_need_an_override() {
        let mut r = reg("+8613800000001", "", &["c1"]);
        r.conflicts.push(Conflict {
            resource: "leads/x".into(),
            display_name: "L*".into(),
            matched_on: vec!["phone:+8613800000001".into()],
            categories: vec![],
            partner: String::new(),
        });
        let lead = Uuid::now_v7();
        assert_eq!(
            r.approve("m", false, lead, 100, 10),
            Err(Refusal::Conflicts(1))
        );
        r.approve("m", true, lead, 100, 10).unwrap();
        assert_eq!(r.expire_time, Some(110));
        assert!(!r.lapses_at(109));
        assert!(r.lapses_at(110));
        assert_eq!(
            r.reject("m", "late", 11),
            Err(Refusal::Decided(State::Approved))
        );
    }
}
