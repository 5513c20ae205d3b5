//! Typed links between two customers, readable from both sides.
//!
//! A link is stored once, as `(from_id, to_id, kind)` where `kind` is what `to` is to `from`.
//! Read from `from`'s side the kind is as stored; read from `to`'s side it is the inverse (if
//! B is A's CHILD, A is B's PARENT). Rows are canonical: `from_id < to_id`, so "B is CHILD of
//! A" and "A is PARENT of B" become the same row, and a unique index on
//! `(tenant_id, from_id, to_id, kind)` refuses the second one whichever side it came from.

use rapport_runtime::clock::Micros;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What one customer is to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelationshipType {
    Parent,
    Child,
    Spouse,
    HouseholdMember,
    Referrer,
    Referred,
    Employer,
    Employee,
    DecisionMaker,
    Influencer,
}

impl RelationshipType {
    /// Every type, in declaration order.
    pub const ALL: [RelationshipType; 10] = [
        RelationshipType::Parent,
        RelationshipType::Child,
        RelationshipType::Spouse,
        RelationshipType::HouseholdMember,
        RelationshipType::Referrer,
        RelationshipType::Referred,
        RelationshipType::Employer,
        RelationshipType::Employee,
        RelationshipType::DecisionMaker,
        RelationshipType::Influencer,
    ];

    /// The type seen from the other side: if B is A's PARENT, A is B's CHILD.
    pub fn inverse(self) -> RelationshipType {
        use RelationshipType::*;
        match self {
            Parent => Child,
            Child => Parent,
            Spouse => Spouse,
            HouseholdMember => HouseholdMember,
            Referrer => Referred,
            Referred => Referrer,
            Employer => Employee,
            Employee => Employer,
            DecisionMaker => Influencer,
            Influencer => DecisionMaker,
        }
    }

    /// The stable name used in storage and events.
    pub fn as_str(self) -> &'static str {
        use RelationshipType::*;
        match self {
            Parent => "parent",
            Child => "child",
            Spouse => "spouse",
            HouseholdMember => "household_member",
            Referrer => "referrer",
            Referred => "referred",
            Employer => "employer",
            Employee => "employee",
            DecisionMaker => "decision_maker",
            Influencer => "influencer",
        }
    }

    /// The type with a stable name, if any.
    pub fn parse(name: &str) -> Option<RelationshipType> {
        RelationshipType::ALL
            .into_iter()
            .find(|t| t.as_str() == name)
    }
}

/// The longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 500;

/// Checks a relationship's note.
pub fn check_note(note: &str) -> Result<(), String> {
    let n = note.chars().count();
    if n > MAX_NOTE_CHARS {
        return Err(format!(
            "must be at most {MAX_NOTE_CHARS} characters, got {n}"
        ));
    }
    Ok(())
}

/// Checks that a link joins two different customers.
pub fn check_ends(customer_id: Uuid, related_id: Uuid) -> Result<(), String> {
    if customer_id == related_id {
        return Err(
            "must be a different customer than the one the relationship is read from".into(),
        );
    }
    Ok(())
}

/// A link as stored: `to` is `kind` to `from`, with `from_id < to_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relationship {
    pub id: Uuid,
    pub from_id: Uuid,
    pub to_id: Uuid,
    /// What `to` is to `from`.
    pub kind: RelationshipType,
    pub note: String,
    pub create_time: Micros,
}

/// A link read from one of its customers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationshipView {
    pub id: Uuid,
    /// The customer the link is read from.
    pub customer_id: Uuid,
    /// The other customer.
    pub related_id: Uuid,
    /// What `related_id` is to `customer_id`.
    pub kind: RelationshipType,
    pub note: String,
    pub create_time: Micros,
}

/// A validated request to link `related_id` to `customer_id` as `kind` (seen from the
/// customer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRelationship {
    pub customer_id: Uuid,
    pub related_id: Uuid,
    pub kind: RelationshipType,
    pub note: String,
}

/// The key two requests for the same link share, whichever side they were made from; it is
/// exactly a canonical row's `(from_id, to_id, kind)`.
pub type UniquenessKey = (Uuid, Uuid, RelationshipType);

/// The uniqueness key of "`related` is `kind` to `customer`".
pub fn uniqueness_key(customer: Uuid, related: Uuid, kind: RelationshipType) -> UniquenessKey {
    if customer <= related {
        (customer, related, kind)
    } else {
        (related, customer, kind.inverse())
    }
}

impl NewRelationship {
    /// The key under which this link is unique.
    pub fn uniqueness_key(&self) -> UniquenessKey {
        uniqueness_key(self.customer_id, self.related_id, self.kind)
    }

    /// The canonical row to store.
    pub fn into_relationship(self, id: Uuid, create_time: Micros) -> Relationship {
        let (from_id, to_id, kind) = self.uniqueness_key();
        Relationship {
            id,
            from_id,
            to_id,
            kind,
            note: self.note,
            create_time,
        }
    }
}

impl Relationship {
    /// The key under which this link is unique.
    pub fn uniqueness_key(&self) -> UniquenessKey {
        uniqueness_key(self.from_id, self.to_id, self.kind)
    }

    /// Whether `customer` is one of the two ends.
    pub fn involves(&self, customer: Uuid) -> bool {
        self.from_id == customer || self.to_id == customer
    }

    /// The link read from `customer`'s side; `None` if it is not one of the ends.
    pub fn view_from(&self, customer: Uuid) -> Option<RelationshipView> {
        let (related_id, kind) = if customer == self.from_id {
            (self.to_id, self.kind)
        } else if customer == self.to_id {
            (self.from_id, self.kind.inverse())
        } else {
            return None;
        };
        Some(RelationshipView {
            id: self.id,
            customer_id: customer,
            related_id,
            kind,
            note: self.note.clone(),
            create_time: self.create_time,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> (Uuid, Uuid) {
        let a: Uuid = "0190a5b2-7c3e-7d4f-8a1b-2c3d4e5f6a7b".parse().unwrap();
        let b: Uuid = "3f2504e0-4f89-41d3-9a0c-0305e82c3301".parse().unwrap();
        assert!(a < b);
        (a, b)
    }

    fn link(customer: Uuid, related: Uuid, kind: RelationshipType) -> NewRelationship {
        NewRelationship {
            customer_id: customer,
            related_id: related,
            kind,
            note: String::new(),
        }
    }

    #[test]
    fn inverse_is_an_involution_with_the_documented_pairs() {
        use RelationshipType::*;
        for t in RelationshipType::ALL {
            assert_eq!(t.inverse().inverse(), t);
        }
        assert_eq!(Parent.inverse(), Child);
        assert_eq!(Referrer.inverse(), Referred);
        assert_eq!(Employer.inverse(), Employee);
        assert_eq!(DecisionMaker.inverse(), Influencer);
        assert_eq!(Spouse.inverse(), Spouse);
        assert_eq!(HouseholdMember.inverse(), HouseholdMember);
    }

    #[test]
    fn names_are_stable_and_match_serde() {
        let names: Vec<_> = RelationshipType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(
            names,
            [
                "parent",
                "child",
                "spouse",
                "household_member",
                "referrer",
                "referred",
                "employer",
                "employee",
                "decision_maker",
                "influencer"
            ]
        );
        for t in RelationshipType::ALL {
            assert_eq!(RelationshipType::parse(t.as_str()), Some(t));
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
        assert_eq!(RelationshipType::parse("Parent"), None);
    }

    #[test]
    fn note_is_limited_in_characters_not_bytes() {
        assert!(check_note("").is_ok());
        assert!(check_note(&"家".repeat(500)).is_ok());
        assert!(check_note(&"a".repeat(501)).is_err());
    }

    #[test]
    fn a_customer_cannot_be_linked_to_itself() {
        let (a, b) = ids();
        assert!(check_ends(a, a).is_err());
        assert!(check_ends(a, b).is_ok());
    }

    #[test]
    fn the_same_link_from_either_side_has_one_key() {
        let (a, b) = ids();
        // "b is a's CHILD" == "a is b's PARENT".
        let from_a = link(a, b, RelationshipType::Child);
        let from_b = link(b, a, RelationshipType::Parent);
        assert_eq!(from_a.uniqueness_key(), from_b.uniqueness_key());
        // Another type between the same pair is another link.
        let spouse = link(a, b, RelationshipType::Spouse);
        assert_ne!(from_a.uniqueness_key(), spouse.uniqueness_key());
        // The reverse direction of the same type is not the same link.
        let reversed = link(b, a, RelationshipType::Child);
        assert_ne!(from_a.uniqueness_key(), reversed.uniqueness_key());
        // Symmetric types collide from both sides.
        assert_eq!(
            spouse.uniqueness_key(),
            link(b, a, RelationshipType::Spouse).uniqueness_key()
        );
    }

    #[test]
    fn stored_rows_are_canonical() {
        let (a, b) = ids();
        let r1 = link(a, b, RelationshipType::Child).into_relationship(Uuid::nil(), 7);
        let r2 = link(b, a, RelationshipType::Parent).into_relationship(Uuid::nil(), 7);
        assert_eq!(r1, r2);
        assert_eq!(
            (r1.from_id, r1.to_id, r1.kind),
            (a, b, RelationshipType::Child)
        );
        assert_eq!(r1.uniqueness_key(), (a, b, RelationshipType::Child));
    }

    #[test]
    fn views_from_both_sides() {
        let (a, b) = ids();
        let other = Uuid::max();
        // Made from b's side: a is b's EMPLOYER; stored as "b is a's EMPLOYEE".
        let new = NewRelationship {
            note: "since 2020".into(),
            ..link(b, a, RelationshipType::Employer)
        };
        let r = new.into_relationship(Uuid::nil(), 42);
        assert_eq!(r.kind, RelationshipType::Employee);

        let from_b = r.view_from(b).unwrap();
        assert_eq!(
            (from_b.customer_id, from_b.related_id, from_b.kind),
            (b, a, RelationshipType::Employer)
        );
        assert_eq!(from_b.note, "since 2020");
        assert_eq!(from_b.create_time, 42);

        let from_a = r.view_from(a).unwrap();
        assert_eq!(
            (from_a.customer_id, from_a.related_id, from_a.kind),
            (a, b, RelationshipType::Employee)
        );
        assert!(r.involves(a) && r.involves(b) && !r.involves(other));
        assert_eq!(r.view_from(other), None);
    }

    #[test]
    fn rows_round_trip_through_serde() {
        let (a, b) = ids();
        let r = link(a, b, RelationshipType::Influencer).into_relationship(Uuid::nil(), 1);
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.contains("\"influencer\""));
        assert_eq!(serde_json::from_str::<Relationship>(&json).unwrap(), r);
    }
}
