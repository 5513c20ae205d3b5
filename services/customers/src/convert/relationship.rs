//! Relationships: proto <-> domain.

use rapport_proto::customers as pb;
use rapport_runtime::clock::to_timestamp;
use rapport_runtime::validation::{FieldViolation, Violations};
use uuid::Uuid;

use crate::domain::names;
use crate::domain::relationship::{self, NewRelationship, RelationshipType, RelationshipView};

/// The domain type of a proto enum value; `None` for UNSPECIFIED and unknown values.
pub fn relationship_type_from_proto(value: i32) -> Option<RelationshipType> {
    use pb::RelationshipType as P;
    Some(match P::try_from(value).ok()? {
        P::Unspecified => return None,
        P::Parent => RelationshipType::Parent,
        P::Child => RelationshipType::Child,
        P::Spouse => RelationshipType::Spouse,
        P::HouseholdMember => RelationshipType::HouseholdMember,
        P::Referrer => RelationshipType::Referrer,
        P::Referred => RelationshipType::Referred,
        P::Employer => RelationshipType::Employer,
        P::Employee => RelationshipType::Employee,
        P::DecisionMaker => RelationshipType::DecisionMaker,
        P::Influencer => RelationshipType::Influencer,
    })
}

/// The proto enum of a domain type.
pub fn relationship_type_to_proto(kind: RelationshipType) -> pb::RelationshipType {
    use pb::RelationshipType as P;
    match kind {
        RelationshipType::Parent => P::Parent,
        RelationshipType::Child => P::Child,
        RelationshipType::Spouse => P::Spouse,
        RelationshipType::HouseholdMember => P::HouseholdMember,
        RelationshipType::Referrer => P::Referrer,
        RelationshipType::Referred => P::Referred,
        RelationshipType::Employer => P::Employer,
        RelationshipType::Employee => P::Employee,
        RelationshipType::DecisionMaker => P::DecisionMaker,
        RelationshipType::Influencer => P::Influencer,
    }
}

/// The proto of a link read from one side.
pub fn relationship_to_proto(view: &RelationshipView) -> pb::Relationship {
    pb::Relationship {
        name: names::relationship_name(view.customer_id, view.id),
        customer: names::customer_name(view.customer_id),
        related_customer: names::customer_name(view.related_id),
        r#type: relationship_type_to_proto(view.kind).into(),
        note: view.note.clone(),
        create_time: Some(to_timestamp(view.create_time)),
    }
}

/// Parses a CreateRelationship request; output-only fields of the relationship are ignored.
pub fn parse_create_relationship(
    req: &pb::CreateRelationshipRequest,
) -> Result<NewRelationship, Vec<FieldViolation>> {
    let mut v = Violations::new();
    let customer_id = customer(&mut v, "parent", &req.parent);
    let Some(rel) = &req.relationship else {
        v.add("relationship", "is required");
        return Err(v.into_vec());
    };
    let related_id = customer(
        &mut v,
        "relationship.related_customer",
        &rel.related_customer,
    );
    if let (Some(a), Some(b)) = (customer_id, related_id)
        && let Err(e) = relationship::check_ends(a, b)
    {
        v.add("relationship.related_customer", e);
    }
    let kind = relationship_type_from_proto(rel.r#type);
    if kind.is_none() {
        v.add(
            "relationship.type",
            "is required: a RelationshipType other than UNSPECIFIED",
        );
    }
    if let Err(e) = relationship::check_note(&rel.note) {
        v.add("relationship.note", e);
    }
    match (customer_id, related_id, kind) {
        (Some(customer_id), Some(related_id), Some(kind)) => v.finish(NewRelationship {
            customer_id,
            related_id,
            kind,
            note: rel.note.clone(),
        }),
        _ => Err(v.into_vec()),
    }
}

/// Parses a ListRelationships request: the customer, and the type to keep (`None` = all).
pub fn parse_list_relationships(
    req: &pb::ListRelationshipsRequest,
) -> Result<(Uuid, Option<RelationshipType>), Vec<FieldViolation>> {
    let mut v = Violations::new();
    let customer_id = customer(&mut v, "parent", &req.parent);
    let kind = match req.r#type {
        0 => None,
        t => {
            let kind = relationship_type_from_proto(t);
            if kind.is_none() {
                v.add("type", format!("{t} is not a RelationshipType"));
            }
            kind
        }
    };
    match customer_id {
        Some(id) => v.finish((id, kind)),
        None => Err(v.into_vec()),
    }
}

/// Parses a DeleteRelationship request: (customer, relationship).
pub fn parse_delete_relationship(
    req: &pb::DeleteRelationshipRequest,
) -> Result<(Uuid, Uuid), Vec<FieldViolation>> {
    names::parse_relationship_name(&req.name).map_err(|e| {
        vec![FieldViolation {
            field: "name".into(),
            description: e,
        }]
    })
}

fn customer(v: &mut Violations, field: &str, name: &str) -> Option<Uuid> {
    names::parse_customer_name(name)
        .map_err(|e| v.add(field, e))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost_types::Timestamp;

    const A: &str = "0190a5b2-7c3e-7d4f-8a1b-2c3d4e5f6a7b";
    const B: &str = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";

    fn fields(v: &[FieldViolation]) -> Vec<&str> {
        v.iter().map(|f| f.field.as_str()).collect()
    }

    fn request(
        parent: &str,
        related: &str,
        kind: i32,
        note: &str,
    ) -> pb::CreateRelationshipRequest {
        pb::CreateRelationshipRequest {
            parent: parent.into(),
            relationship: Some(pb::Relationship {
                related_customer: related.into(),
                r#type: kind,
                note: note.into(),
                ..Default::default()
            }),
            request_id: String::new(),
        }
    }

    #[test]
    fn enums_map_both_ways() {
        for t in RelationshipType::ALL {
            assert_eq!(
                relationship_type_from_proto(relationship_type_to_proto(t).into()),
                Some(t)
            );
        }
        assert_eq!(relationship_type_from_proto(0), None);
        assert_eq!(relationship_type_from_proto(11), None);
    }

    #[test]
    fn create_parses_and_ignores_output_only_fields() {
        let mut req = request(
            &format!("customers/{A}"),
            &format!("customers/{B}"),
            pb::RelationshipType::Child.into(),
            "eldest",
        );
        let rel = req.relationship.as_mut().unwrap();
        rel.name = "garbage".into();
        rel.customer = "garbage".into();
        rel.create_time = Some(Timestamp {
            seconds: -1,
            nanos: -1,
        });
        let new = parse_create_relationship(&req).unwrap();
        assert_eq!(new.customer_id.to_string(), A);
        assert_eq!(new.related_id.to_string(), B);
        assert_eq!(new.kind, RelationshipType::Child);
        assert_eq!(new.note, "eldest");
    }

    #[test]
    fn create_reports_every_bad_field() {
        let req = request("customers/x", "people/y", 0, &"n".repeat(501));
        let err = parse_create_relationship(&req).unwrap_err();
        assert_eq!(
            fields(&err),
            [
                "parent",
                "relationship.related_customer",
                "relationship.type",
                "relationship.note"
            ]
        );
    }

    #[test]
    fn create_refuses_a_link_to_self_and_a_missing_relationship() {
        let me = format!("customers/{A}");
        let req = request(&me, &me, pb::RelationshipType::Spouse.into(), "");
        let err = parse_create_relationship(&req).unwrap_err();
        assert_eq!(fields(&err), ["relationship.related_customer"]);

        let req = pb::CreateRelationshipRequest {
            parent: String::new(),
            relationship: None,
            request_id: String::new(),
        };
        let err = parse_create_relationship(&req).unwrap_err();
        assert_eq!(fields(&err), ["parent", "relationship"]);
    }

    #[test]
    fn views_become_protos_named_from_the_side_read() {
        let a: Uuid = A.parse().unwrap();
        let b: Uuid = B.parse().unwrap();
        let id = Uuid::max();
        let view = RelationshipView {
            id,
            customer_id: b,
            related_id: a,
            kind: RelationshipType::Parent,
            note: "n".into(),
            create_time: 1_000_000,
        };
        let p = relationship_to_proto(&view);
        assert_eq!(p.name, format!("customers/{B}/relationships/{id}"));
        assert_eq!(p.customer, format!("customers/{B}"));
        assert_eq!(p.related_customer, format!("customers/{A}"));
        assert_eq!(p.r#type, i32::from(pb::RelationshipType::Parent));
        assert_eq!(
            p.create_time,
            Some(Timestamp {
                seconds: 1,
                nanos: 0
            })
        );
    }

    #[test]
    fn list_parses_parent_and_optional_type() {
        let req = pb::ListRelationshipsRequest {
            parent: format!("customers/{A}"),
            r#type: 0,
        };
        assert_eq!(parse_list_relationships(&req).unwrap().1, None);
        let req = pb::ListRelationshipsRequest {
            r#type: pb::RelationshipType::Employer.into(),
            ..req
        };
        assert_eq!(
            parse_list_relationships(&req).unwrap().1,
            Some(RelationshipType::Employer)
        );
        let bad = pb::ListRelationshipsRequest {
            parent: String::new(),
            r#type: 42,
        };
        assert_eq!(
            fields(&parse_list_relationships(&bad).unwrap_err()),
            ["parent", "type"]
        );
    }

    #[test]
    fn delete_parses_the_name() {
        let req = pb::DeleteRelationshipRequest {
            name: format!("customers/{A}/relationships/{B}"),
        };
        let (c, r) = parse_delete_relationship(&req).unwrap();
        assert_eq!((c.to_string(), r.to_string()), (A.to_owned(), B.to_owned()));
        let bad = pb::DeleteRelationshipRequest {
            name: format!("customers/{A}"),
        };
        assert_eq!(
            fields(&parse_delete_relationship(&bad).unwrap_err()),
            ["name"]
        );
    }
}
