//! Timeline activities and ownership transfers (both live in activity.proto): proto <-> domain.

use rapport_proto::customers as pb;
use rapport_runtime::clock::{Micros, from_timestamp, to_timestamp};
use rapport_runtime::validation::{FieldViolation, Violations};
use serde_json::Map;

use super::json::{json_to_struct, struct_to_json};
use uuid::Uuid;

use crate::domain::activity::{self, Activity, ActivityKind, NewActivity};
use crate::domain::names;
use crate::domain::transfer::{self, OwnershipTransfer, TransferRequest};

/// The domain kind of a proto enum value; `None` for UNSPECIFIED and unknown values.
pub fn activity_kind_from_proto(value: i32) -> Option<ActivityKind> {
    use pb::ActivityKind as P;
    Some(match P::try_from(value).ok()? {
        P::Unspecified => return None,
        P::Note => ActivityKind::Note,
        P::Call => ActivityKind::Call,
        P::HomeVisit => ActivityKind::HomeVisit,
        P::StoreVisit => ActivityKind::StoreVisit,
        P::Message => ActivityKind::Message,
        P::Email => ActivityKind::Email,
        P::Meeting => ActivityKind::Meeting,
        P::DesignProposal => ActivityKind::DesignProposal,
    })
}

/// The proto enum of a domain kind.
pub fn activity_kind_to_proto(kind: ActivityKind) -> pb::ActivityKind {
    use pb::ActivityKind as P;
    match kind {
        ActivityKind::Note => P::Note,
        ActivityKind::Call => P::Call,
        ActivityKind::HomeVisit => P::HomeVisit,
        ActivityKind::StoreVisit => P::StoreVisit,
        ActivityKind::Message => P::Message,
        ActivityKind::Email => P::Email,
        ActivityKind::Meeting => P::Meeting,
        ActivityKind::DesignProposal => P::DesignProposal,
    }
}

/// The proto of a stored activity.
pub fn activity_to_proto(a: &Activity) -> pb::Activity {
    pb::Activity {
        name: names::activity_name(a.customer_id, a.id),
        kind: activity_kind_to_proto(a.kind).into(),
        author: a.author.clone(),
        occur_time: Some(to_timestamp(a.occur_time)),
        content: a.content.clone(),
        details: (!a.details.is_empty()).then(|| json_to_struct(&a.details)),
        next_follow_up_time: a.next_follow_up_time.map(to_timestamp),
        create_time: Some(to_timestamp(a.create_time)),
    }
}

/// Parses a CreateActivity request into the customer and the activity; `now` is the default
/// occur time and the reference for "not more than a day ahead". Output-only fields are
/// ignored.
pub fn parse_create_activity(
    req: &pb::CreateActivityRequest,
    now: Micros,
) -> Result<(Uuid, NewActivity), Vec<FieldViolation>> {
    let mut v = Violations::new();
    let customer_id = customer(&mut v, "parent", &req.parent);
    let Some(a) = &req.activity else {
        v.add("activity", "is required");
        return Err(v.into_vec());
    };
    let kind = activity_kind_from_proto(a.kind);
    if kind.is_none() {
        v.add(
            "activity.kind",
            "is required: an ActivityKind other than UNSPECIFIED",
        );
    }
    let occur_time = timestamp(&mut v, "activity.occur_time", a.occur_time.as_ref());
    if let Some(t) = occur_time
        && let Err(e) = activity::check_occur_time(t, now)
    {
        v.add("activity.occur_time", e);
    }
    if let Err(e) = activity::check_content(&a.content) {
        v.add("activity.content", e);
    }
    let details = match &a.details {
        None => Map::new(),
        Some(s) => {
            let before = v.items().len();
            let details = v.nested("activity.details", |v| struct_to_json(s, v));
            if v.items().len() == before
                && let Err(e) = activity::check_details(&details)
            {
                v.add("activity.details", e);
            }
            details
        }
    };
    let next_follow_up_time = timestamp(
        &mut v,
        "activity.next_follow_up_time",
        a.next_follow_up_time.as_ref(),
    );
    if let Some(next) = next_follow_up_time
        && let Err(e) = activity::check_next_follow_up_time(next, occur_time.unwrap_or(now))
    {
        v.add("activity.next_follow_up_time", e);
    }
    match (customer_id, kind) {
        (Some(customer_id), Some(kind)) => v.finish((
            customer_id,
            NewActivity {
                kind,
                occur_time,
                content: a.content.clone(),
                details,
                next_follow_up_time,
            },
        )),
        _ => Err(v.into_vec()),
    }
}

/// Parses the parent of a ListActivities request (paging is read by the shared list code).
pub fn parse_list_activities(req: &pb::ListActivitiesRequest) -> Result<Uuid, Vec<FieldViolation>> {
    parent(&req.parent)
}

/// The proto of a recorded transfer.
pub fn ownership_transfer_to_proto(t: &OwnershipTransfer) -> pb::OwnershipTransfer {
    pb::OwnershipTransfer {
        name: names::ownership_transfer_name(t.customer_id, t.id),
        from_owner_id: t.from_owner_id.clone(),
        to_owner_id: t.to_owner_id.clone(),
        from_team_id: t.from_team_id.clone(),
        to_team_id: t.to_team_id.clone(),
        from_store_id: t.from_store_id.clone(),
        to_store_id: t.to_store_id.clone(),
        reason: t.reason.clone(),
        actor: t.actor.clone(),
        create_time: Some(to_timestamp(t.create_time)),
    }
}

/// Parses a TransferCustomerOwnership request. The etag and request id are left in the
/// request for the handler; empty team and store ids mean "unchanged".
pub fn parse_transfer_ownership(
    req: &pb::TransferCustomerOwnershipRequest,
) -> Result<TransferRequest, Vec<FieldViolation>> {
    let mut v = Violations::new();
    let customer_id = customer(&mut v, "name", &req.name);
    if let Err(e) = transfer::check_new_owner_id(&req.new_owner_id) {
        v.add("new_owner_id", e);
    }
    let optional_id = |v: &mut Violations, field: &str, id: &str| {
        if let Err(e) = transfer::check_id(id) {
            v.add(field, e);
        }
        (!id.is_empty()).then(|| id.to_owned())
    };
    let new_team_id = optional_id(&mut v, "new_team_id", &req.new_team_id);
    let new_store_id = optional_id(&mut v, "new_store_id", &req.new_store_id);
    let reason = req.reason.trim();
    if let Err(e) = transfer::check_reason(reason) {
        v.add("reason", e);
    }
    match customer_id {
        Some(customer_id) => v.finish(TransferRequest {
            customer_id,
            new_owner_id: req.new_owner_id.clone(),
            new_team_id,
            new_store_id,
            reason: reason.to_owned(),
        }),
        None => Err(v.into_vec()),
    }
}

/// Parses the parent of a ListOwnershipTransfers request (paging is read by the shared list
/// code).
pub fn parse_list_ownership_transfers(
    req: &pb::ListOwnershipTransfersRequest,
) -> Result<Uuid, Vec<FieldViolation>> {
    parent(&req.parent)
}

fn timestamp(
    v: &mut Violations,
    field: &str,
    ts: Option<&prost_types::Timestamp>,
) -> Option<Micros> {
    let ts = ts?;
    let t = from_timestamp(ts);
    if t.is_none() {
        v.add(field, "is not a valid timestamp");
    }
    t
}

fn customer(v: &mut Violations, field: &str, name: &str) -> Option<Uuid> {
    names::parse_customer_name(name)
        .map_err(|e| v.add(field, e))
        .ok()
}

fn parent(name: &str) -> Result<Uuid, Vec<FieldViolation>> {
    names::parse_customer_name(name).map_err(|e| {
        vec![FieldViolation {
            field: "parent".into(),
            description: e,
        }]
    })
}

#[cfg(test)]
mod tests {
    use prost_types::value::Kind;
    use serde_json::Value;

    use super::*;
    use prost_types::Timestamp;
    use rapport_runtime::clock::{DAY, HOUR, SECOND};
    use serde_json::json;

    const NOW: Micros = 1_704_067_200 * SECOND;
    const A: &str = "0190a5b2-7c3e-7d4f-8a1b-2c3d4e5f6a7b";

    fn fields(v: &[FieldViolation]) -> Vec<&str> {
        v.iter().map(|f| f.field.as_str()).collect()
    }

    fn details() -> Map<String, Value> {
        json!({"competitor_products": ["X sofa"], "visits": 3, "budget": 1.5, "vip": true, "x": null})
            .as_object()
            .unwrap()
            .clone()
    }

    fn create(activity: pb::Activity) -> pb::CreateActivityRequest {
        pb::CreateActivityRequest {
            parent: format!("customers/{A}"),
            activity: Some(activity),
            request_id: String::new(),
        }
    }

    fn call() -> pb::Activity {
        pb::Activity {
            kind: pb::ActivityKind::Call.into(),
            content: "asked about delivery".into(),
            ..Default::default()
        }
    }

    #[test]
    fn enums_map_both_ways() {
        for k in ActivityKind::ALL {
            assert_eq!(
                activity_kind_from_proto(activity_kind_to_proto(k).into()),
                Some(k)
            );
        }
        assert_eq!(activity_kind_from_proto(0), None);
        assert_eq!(activity_kind_from_proto(9), None);
    }

    #[test]
    fn struct_and_json_round_trip() {
        let d = details();
        let s = json_to_struct(&d);
        let mut v = Violations::new();
        let back = struct_to_json(&s, &mut v);
        assert!(v.is_empty());
        assert_eq!(back, d);
        // Whole doubles come back as integers.
        assert_eq!(serde_json::to_string(&back["visits"]).unwrap(), "3");
    }

    #[test]
    fn non_finite_numbers_are_refused() {
        let mut s = prost_types::Struct::default();
        s.fields.insert(
            "n".into(),
            prost_types::Value {
                kind: Some(Kind::NumberValue(f64::NAN)),
            },
        );
        let mut v = Violations::new();
        struct_to_json(&s, &mut v);
        assert!(!v.is_empty());
        let req = create(pb::Activity {
            details: Some(s),
            ..call()
        });
        assert_eq!(
            fields(&parse_create_activity(&req, NOW).unwrap_err()),
            ["activity.details.n"]
        );
    }

    #[test]
    fn create_parses_and_defaults_occur_time() {
        let req = create(pb::Activity {
            name: "ignored".into(),
            author: "ignored".into(),
            create_time: Some(Timestamp {
                seconds: -1,
                nanos: -1,
            }),
            details: Some(json_to_struct(&details())),
            next_follow_up_time: Some(to_timestamp(NOW + DAY)),
            ..call()
        });
        let (customer, new) = parse_create_activity(&req, NOW).unwrap();
        assert_eq!(customer.to_string(), A);
        assert_eq!(new.kind, ActivityKind::Call);
        assert_eq!(new.occur_time, None);
        assert_eq!(new.details, details());
        assert_eq!(new.next_follow_up_time, Some(NOW + DAY));
    }

    #[test]
    fn create_reports_every_bad_field() {
        let mut big = Map::new();
        big.insert(
            "k".into(),
            Value::String("a".repeat(activity::MAX_DETAILS_BYTES)),
        );
        let req = pb::CreateActivityRequest {
            parent: "customers/".into(),
            activity: Some(pb::Activity {
                kind: 0,
                occur_time: Some(to_timestamp(NOW + 2 * DAY)),
                content: " ".into(),
                details: Some(json_to_struct(&big)),
                next_follow_up_time: Some(Timestamp {
                    seconds: 0,
                    nanos: 2_000_000_000,
                }),
                ..Default::default()
            }),
            request_id: String::new(),
        };
        let err = parse_create_activity(&req, NOW).unwrap_err();
        assert_eq!(
            fields(&err),
            [
                "parent",
                "activity.kind",
                "activity.occur_time",
                "activity.content",
                "activity.details",
                "activity.next_follow_up_time"
            ]
        );
    }

    #[test]
    fn follow_up_is_compared_with_the_given_or_default_occur_time() {
        let req = create(pb::Activity {
            occur_time: Some(to_timestamp(NOW - DAY)),
            next_follow_up_time: Some(to_timestamp(NOW - DAY)),
            ..call()
        });
        assert_eq!(
            fields(&parse_create_activity(&req, NOW).unwrap_err()),
            ["activity.next_follow_up_time"]
        );
        let req = create(pb::Activity {
            next_follow_up_time: Some(to_timestamp(NOW - HOUR)),
            ..call()
        });
        assert_eq!(
            fields(&parse_create_activity(&req, NOW).unwrap_err()),
            ["activity.next_follow_up_time"]
        );
    }

    #[test]
    fn create_requires_the_activity() {
        let req = pb::CreateActivityRequest {
            parent: format!("customers/{A}"),
            activity: None,
            request_id: String::new(),
        };
        assert_eq!(
            fields(&parse_create_activity(&req, NOW).unwrap_err()),
            ["activity"]
        );
    }

    #[test]
    fn activities_become_protos() {
        let id = Uuid::max();
        let a = Activity {
            id,
            customer_id: A.parse().unwrap(),
            kind: ActivityKind::HomeVisit,
            author: "rep-1".into(),
            occur_time: NOW,
            content: "measured the living room".into(),
            details: Map::new(),
            next_follow_up_time: None,
            create_time: NOW + SECOND,
        };
        let p = activity_to_proto(&a);
        assert_eq!(p.name, format!("customers/{A}/activities/{id}"));
        assert_eq!(p.kind, i32::from(pb::ActivityKind::HomeVisit));
        assert_eq!(p.details, None);
        assert_eq!(p.occur_time, Some(to_timestamp(NOW)));
        assert_eq!(p.create_time, Some(to_timestamp(NOW + SECOND)));
        assert_eq!(p.next_follow_up_time, None);
    }

    #[test]
    fn list_parents_are_parsed() {
        let req = pb::ListActivitiesRequest {
            parent: format!("customers/{A}"),
            ..Default::default()
        };
        assert_eq!(parse_list_activities(&req).unwrap().to_string(), A);
        let req = pb::ListOwnershipTransfersRequest {
            parent: "customers/1".into(),
            ..Default::default()
        };
        assert_eq!(
            fields(&parse_list_ownership_transfers(&req).unwrap_err()),
            ["parent"]
        );
    }

    #[test]
    fn transfer_parses_with_optional_team_and_store() {
        let req = pb::TransferCustomerOwnershipRequest {
            name: format!("customers/{A}"),
            new_owner_id: "rep-2".into(),
            reason: " rep left ".into(),
            ..Default::default()
        };
        let t = parse_transfer_ownership(&req).unwrap();
        assert_eq!(t.customer_id.to_string(), A);
        assert_eq!(t.new_owner_id, "rep-2");
        assert_eq!((t.new_team_id, t.new_store_id), (None, None));
        assert_eq!(t.reason, "rep left");

        let req = pb::TransferCustomerOwnershipRequest {
            new_team_id: "team-b".into(),
            new_store_id: "store-9".into(),
            ..req
        };
        let t = parse_transfer_ownership(&req).unwrap();
        assert_eq!(t.new_team_id.as_deref(), Some("team-b"));
        assert_eq!(t.new_store_id.as_deref(), Some("store-9"));
    }

    #[test]
    fn transfer_reports_every_bad_field() {
        let req = pb::TransferCustomerOwnershipRequest {
            name: "customers".into(),
            new_owner_id: String::new(),
            new_team_id: "t".repeat(129),
            new_store_id: "s".repeat(129),
            reason: "r".repeat(501),
            ..Default::default()
        };
        assert_eq!(
            fields(&parse_transfer_ownership(&req).unwrap_err()),
            [
                "name",
                "new_owner_id",
                "new_team_id",
                "new_store_id",
                "reason"
            ]
        );
    }

    #[test]
    fn transfers_become_protos() {
        let id = Uuid::max();
        let t = OwnershipTransfer {
            id,
            customer_id: A.parse().unwrap(),
            from_owner_id: "rep-1".into(),
            to_owner_id: "rep-2".into(),
            from_team_id: "a".into(),
            to_team_id: "b".into(),
            from_store_id: "s1".into(),
            to_store_id: "s2".into(),
            reason: "r".into(),
            actor: "mgr".into(),
            create_time: NOW,
        };
        let p = ownership_transfer_to_proto(&t);
        assert_eq!(p.name, format!("customers/{A}/ownershipTransfers/{id}"));
        assert_eq!(
            (p.from_owner_id.as_str(), p.to_owner_id.as_str()),
            ("rep-1", "rep-2")
        );
        assert_eq!((p.from_team_id.as_str(), p.to_team_id.as_str()), ("a", "b"));
        assert_eq!(
            (p.from_store_id.as_str(), p.to_store_id.as_str()),
            ("s1", "s2")
        );
        assert_eq!((p.reason.as_str(), p.actor.as_str()), ("r", "mgr"));
        assert_eq!(p.create_time, Some(to_timestamp(NOW)));
    }
}
