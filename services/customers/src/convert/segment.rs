//! Segments (CU13): proto <-> domain, and a segment's members as a campaign receives them.

use rapport_kit::{
    mask::Rules,
    validate::{date_to_proto, multiline_text, required_text},
};
use rapport_proto::customers as pb;
use rapport_runtime::{
    clock::{Micros, to_timestamp},
    validation::{FieldViolation, Violations},
};

use super::{
    consent::{channel_from_proto, decision_to_proto, parse_outgoing},
    customer::important_date_to_proto,
    value::{grade_to_proto, group_to_proto},
};
use crate::domain::{
    consent::Decision,
    names,
    profile::Customer,
    segment::{MAX_DESCRIPTION, MAX_DISPLAY_NAME, MemberStream, Segment, SegmentFields, Source},
};

/// What UpdateSegment accepts.
pub const SEGMENT_MASK: Rules = Rules {
    updatable: &["display_name", "description", "filter"],
    immutable: &["name"],
    output_only: &[
        "create_time",
        "update_time",
        "creator",
        "etag",
        "delete_time",
    ],
    ..Rules::new("Segment")
};

/// Reports the problems of a customers' filter: `(field, filter, violations)`. The use cases
/// give it, as they know the fields customers filter on.
pub type CheckFilter<'a> = &'a dyn Fn(&str, &str, &mut Violations);

/// Copies the fields `fields` names from `given` onto `into`, reporting each bad one as
/// `segment.<field>`.
pub fn apply_segment(
    given: &pb::Segment,
    fields: &[&str],
    into: &mut SegmentFields,
    v: &mut Violations,
    check_filter: CheckFilter<'_>,
) {
    for field in fields {
        match *field {
            "display_name" => {
                into.display_name = required_text(
                    v,
                    "segment.display_name",
                    &given.display_name,
                    MAX_DISPLAY_NAME,
                );
            }
            "description" => {
                into.description = multiline_text(
                    v,
                    "segment.description",
                    &given.description,
                    MAX_DESCRIPTION,
                );
            }
            "filter" => {
                into.filter = given.filter.trim().to_owned();
                if into.filter.is_empty() {
                    v.add(
                        "segment.filter",
                        "is required: a ListCustomers filter such as value.group = A",
                    );
                } else {
                    check_filter("segment.filter", &into.filter, v);
                }
            }
            _ => {}
        }
    }
}

/// The fields of a new segment from CreateSegment.
pub fn parse_segment(
    given: Option<&pb::Segment>,
    v: &mut Violations,
    check_filter: CheckFilter<'_>,
) -> SegmentFields {
    let mut out = SegmentFields::default();
    match given {
        None => v.add("segment", "is required"),
        Some(given) => apply_segment(given, SEGMENT_MASK.updatable, &mut out, v, check_filter),
    }
    out
}

/// The proto of a stored segment.
pub fn segment_to_proto(s: &Segment) -> pb::Segment {
    pb::Segment {
        name: s.resource_name(),
        display_name: s.fields.display_name.clone(),
        description: s.fields.description.clone(),
        filter: s.fields.filter.clone(),
        create_time: Some(to_timestamp(s.create_time)),
        update_time: Some(to_timestamp(s.update_time)),
        creator: s.creator.clone(),
        etag: s.etag(),
        delete_time: s.delete_time.map(to_timestamp),
    }
}

/// Whose members a request asks for: exactly one of a segment's `name` and a `filter`.
pub fn parse_source(
    name: &str,
    filter: &str,
    v: &mut Violations,
    check_filter: CheckFilter<'_>,
) -> Option<Source> {
    match (name.is_empty(), filter.trim().is_empty()) {
        (true, true) => {
            v.add("name", "give a segment's name or a filter");
            None
        }
        (false, false) => {
            v.add("filter", "give a segment's name or a filter, not both");
            None
        }
        (false, true) => names::parse_segment_name(name)
            .map_err(|e| v.add("name", e))
            .ok()
            .map(Source::Segment),
        (true, false) => {
            let before = v.items().len();
            check_filter("filter", filter, v);
            (v.items().len() == before).then(|| Source::Filter(filter.to_owned()))
        }
    }
}

/// Reads a StreamSegmentMembers request; `now` is the default send time.
pub fn parse_member_stream(
    req: &pb::StreamSegmentMembersRequest,
    now: Micros,
    check_filter: CheckFilter<'_>,
) -> Result<MemberStream, Vec<FieldViolation>> {
    let mut v = Violations::new();
    let source = parse_source(&req.name, &req.filter, &mut v, check_filter);
    let start_after = (!req.start_after.is_empty())
        .then(|| {
            names::parse_customer_name(&req.start_after)
                .map_err(|e| v.add("start_after", e))
                .ok()
        })
        .flatten();
    let message = match (req.channel, channel_from_proto(req.channel)) {
        (0, _) => {
            if req.send_time.is_some() {
                v.add("send_time", "needs a channel to check");
            }
            if req.transactional {
                v.add("transactional", "needs a channel to check");
            }
            None
        }
        (n, None) => {
            v.add(
                "channel",
                format!("has no value {n}; use SMS, EMAIL, PHONE or IM"),
            );
            None
        }
        (_, channel) => parse_outgoing(
            &mut v,
            channel,
            req.send_time.as_ref(),
            req.transactional,
            now,
        ),
    };
    match source {
        Some(source) => v.finish(MemberStream {
            source,
            start_after,
            message,
        }),
        None => Err(v.into_vec()),
    }
}

/// A member of a segment as a campaign receives it; with `decision` when the request named a
/// channel.
pub fn member_to_proto(c: &Customer, decision: Option<&Decision>) -> pb::SegmentMember {
    let p = &c.profile;
    let permission = decision.map(decision_to_proto).unwrap_or_default();
    pb::SegmentMember {
        customer: c.resource_name(),
        display_name: p.display_name.clone(),
        phone: p
            .phones
            .first()
            .map(|ph| ph.number.as_str().to_owned())
            .unwrap_or_default(),
        email: p
            .emails
            .first()
            .map(|e| e.address.as_str().to_owned())
            .unwrap_or_default(),
        owner_id: p.owner_id.clone(),
        team_id: p.team_id.clone(),
        store_id: p.store_id.clone(),
        value_grade: c
            .value
            .as_ref()
            .map_or(pb::ValueGrade::Unspecified, |v| grade_to_proto(v.grade))
            .into(),
        value_group: c
            .value
            .as_ref()
            .map_or(pb::ValueGroup::Unspecified, |v| group_to_proto(v.group))
            .into(),
        birth_date: p.demographics.birth_date.map(date_to_proto),
        important_dates: p
            .important_dates
            .iter()
            .map(important_date_to_proto)
            .collect(),
        allowed: permission.allowed,
        reason: permission.reason,
        next_allowed_time: permission.next_allowed_time,
    }
}

#[cfg(test)]
mod tests {
    use rapport_runtime::clock::SECOND;

    use super::*;
    use crate::domain::consent::{Channel, Outgoing};

    const NOW: Micros = 1_704_067_200 * SECOND;
    const ID: &str = "0190a5b2-7c3e-7d4f-8a1b-2c3d4e5f6a7b";

    fn fields(v: &[FieldViolation]) -> Vec<&str> {
        v.iter().map(|f| f.field.as_str()).collect()
    }

    /// Refuses the filter "bad", as the use cases' check would a filter that does not parse.
    fn check(field: &str, filter: &str, v: &mut Violations) {
        if filter == "bad" {
            v.add(field, "does not parse");
        }
    }

    #[test]
    fn every_bad_segment_field_is_named() {
        let given = pb::Segment {
            display_name: " ".into(),
            description: "x\u{0}".into(),
            filter: "  ".into(),
            ..Default::default()
        };
        let mut v = Violations::new();
        parse_segment(Some(&given), &mut v, &check);
        assert_eq!(
            fields(v.items()),
            [
                "segment.display_name",
                "segment.description",
                "segment.filter"
            ]
        );
        let mut v = Violations::new();
        parse_segment(None, &mut v, &check);
        assert_eq!(fields(v.items()), ["segment"]);
        let bad = pb::Segment {
            display_name: "A".into(),
            filter: " bad ".into(),
            ..Default::default()
        };
        let mut v = Violations::new();
        parse_segment(Some(&bad), &mut v, &check);
        assert_eq!(fields(v.items()), ["segment.filter"]);
    }

    #[test]
    fn only_named_fields_are_copied() {
        let mut into = SegmentFields {
            display_name: "Old".into(),
            description: "kept".into(),
            filter: "tags:vip".into(),
        };
        let given = pb::Segment {
            display_name: " New ".into(),
            filter: "tags:new".into(),
            ..Default::default()
        };
        let mut v = Violations::new();
        apply_segment(&given, &["display_name"], &mut into, &mut v, &check);
        assert!(v.is_empty());
        assert_eq!(
            (
                into.display_name.as_str(),
                into.description.as_str(),
                into.filter.as_str()
            ),
            ("New", "kept", "tags:vip")
        );
    }

    #[test]
    fn a_count_or_stream_names_a_segment_or_a_filter() {
        let mut v = Violations::new();
        let mut source = |name: &str, filter: &str| parse_source(name, filter, &mut v, &check);
        assert_eq!(
            source(&format!("segments/{ID}"), ""),
            Some(Source::Segment(ID.parse().unwrap()))
        );
        assert_eq!(
            source("", "tags:vip"),
            Some(Source::Filter("tags:vip".into()))
        );
        assert_eq!(source("", " "), None);
        assert_eq!(source("segments/x", "tags:vip"), None);
        assert_eq!(source(&format!("customers/{ID}"), ""), None);
        assert_eq!(source("", "bad"), None);
        assert_eq!(fields(v.items()), ["name", "filter", "name", "filter"]);
    }

    #[test]
    fn a_stream_reads_its_cursor_and_the_message_to_check() {
        let req = pb::StreamSegmentMembersRequest {
            name: format!("segments/{ID}"),
            start_after: format!("customers/{ID}"),
            channel: pb::Channel::Email.into(),
            transactional: true,
            ..Default::default()
        };
        let got = parse_member_stream(&req, NOW, &check).unwrap();
        assert_eq!(got.start_after, Some(ID.parse().unwrap()));
        assert_eq!(
            got.message,
            Some(Outgoing {
                channel: Channel::Email,
                at: NOW,
                transactional: true
            })
        );
        let plain = pb::StreamSegmentMembersRequest {
            filter: "tags:vip".into(),
            ..Default::default()
        };
        let got = parse_member_stream(&plain, NOW, &check).unwrap();
        assert_eq!((got.start_after, got.message), (None, None));

        let bad = pb::StreamSegmentMembersRequest {
            name: "segments/nope".into(),
            start_after: "segments/x".into(),
            send_time: Some(to_timestamp(NOW)),
            transactional: true,
            ..Default::default()
        };
        let err = parse_member_stream(&bad, NOW, &check).unwrap_err();
        assert_eq!(
            fields(&err),
            ["name", "start_after", "send_time", "transactional"]
        );
        let bad = pb::StreamSegmentMembersRequest {
            filter: "tags:vip".into(),
            channel: 99,
            ..Default::default()
        };
        assert_eq!(
            fields(&parse_member_stream(&bad, NOW, &check).unwrap_err()),
            ["channel"]
        );
    }
}
