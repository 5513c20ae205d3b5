//! Saved dynamic segments (CU13) through SegmentService, on every backend: their life, the
//! checks on every field, tenants, roles and etags; their members counted and streamed, which
//! must be exactly the live customers the caller sees that ListCustomers lists for the same
//! filter, with permission fields that agree with CheckContactPermission.

use std::collections::BTreeSet;

use rapport_proto::customers as pb;
use rapport_runtime::{auth::Role, clock::DAY};
use rapport_testkit::{TestServer, each_backend};
use tonic::{Code, Status};
use tonic_types::StatusExt;

use crate::common::*;

/// `marketer-1` of tenant `t1`.
fn marketer(s: &TestServer) -> Segments {
    segments_with(s, s.auth("t1", "marketer-1", &[Role::Marketer]))
}

fn segment(display_name: &str, filter: &str) -> pb::Segment {
    pb::Segment {
        display_name: display_name.into(),
        filter: filter.into(),
        ..Default::default()
    }
}

fn create_req(segment: pb::Segment, request_id: &str) -> pb::CreateSegmentRequest {
    pb::CreateSegmentRequest {
        segment: Some(segment),
        request_id: request_id.into(),
    }
}

/// Creates a segment as `c` and returns it.
async fn create_segment(c: &mut Segments, display_name: &str, filter: &str) -> pb::Segment {
    c.create_segment(create_req(segment(display_name, filter), ""))
        .await
        .unwrap_or_else(|e| panic!("create {display_name}: {e:?}"))
        .into_inner()
}

fn get_req(name: &str) -> pb::GetSegmentRequest {
    pb::GetSegmentRequest { name: name.into() }
}

fn delete_req(name: &str, etag: &str) -> pb::DeleteSegmentRequest {
    pb::DeleteSegmentRequest {
        name: name.into(),
        etag: etag.into(),
    }
}

fn update_req(segment: pb::Segment, paths: &[&str]) -> pb::UpdateSegmentRequest {
    pb::UpdateSegmentRequest {
        segment: Some(segment),
        update_mask: mask(paths),
    }
}

fn count_req(name: &str, filter: &str) -> pb::CountSegmentMembersRequest {
    pb::CountSegmentMembersRequest {
        name: name.into(),
        filter: filter.into(),
    }
}

fn of_segment(name: &str) -> pb::StreamSegmentMembersRequest {
    pb::StreamSegmentMembersRequest {
        name: name.into(),
        ..Default::default()
    }
}

fn of_filter(filter: &str) -> pb::StreamSegmentMembersRequest {
    pb::StreamSegmentMembersRequest {
        filter: filter.into(),
        ..Default::default()
    }
}

/// The display names of a ListSegments call's segments, every page of `page_size`.
async fn listed_segments(
    c: &mut Segments,
    mut req: pb::ListSegmentsRequest,
) -> (Vec<String>, usize) {
    let mut out = Vec::new();
    let mut pages = 0;
    loop {
        let page = c
            .list_segments(req.clone())
            .await
            .unwrap_or_else(|e| panic!("list {req:?}: {e:?}"))
            .into_inner();
        pages += 1;
        out.extend(page.segments.into_iter().map(|s| s.display_name));
        if page.next_page_token.is_empty() {
            return (out, pages);
        }
        req.page_token = page.next_page_token;
    }
}

/// Every batch of a member stream.
async fn batches(
    c: &mut Segments,
    req: pb::StreamSegmentMembersRequest,
) -> Result<Vec<pb::SegmentMembersBatch>, Status> {
    let mut stream = c.stream_segment_members(req).await?.into_inner();
    let mut out = Vec::new();
    while let Some(batch) = stream.message().await? {
        out.push(batch);
    }
    Ok(out)
}

/// Every member of a member stream, in the stream's order.
async fn members(c: &mut Segments, req: pb::StreamSegmentMembersRequest) -> Vec<pb::SegmentMember> {
    let all = batches(c, req.clone())
        .await
        .unwrap_or_else(|e| panic!("stream {req:?}: {e:?}"));
    all.into_iter().flat_map(|b| b.members).collect()
}

/// The count of members `name` or `filter` has, as `c` sees them.
async fn count(c: &mut Segments, name: &str, filter: &str) -> Result<i64, Status> {
    c.count_segment_members(count_req(name, filter))
        .await
        .map(|r| r.into_inner().count)
}

/// What each violation of an INVALID_ARGUMENT says, as "field: description".
fn violations(status: &Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    status
        .get_error_details()
        .bad_request()
        .map(|b| {
            b.field_violations
                .iter()
                .map(|v| format!("{}: {}", v.field, v.description))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn segments_are_created_read_listed_changed_and_deleted() {
    each_backend(&services(), async |s| {
        let mut m = marketer(s);
        let sms = create_segment(
            &mut m,
            "Group A on SMS",
            " value.group = A AND consent.sms = OPTED_IN ",
        )
        .await;
        assert!(sms.name.starts_with("segments/"), "{}", sms.name);
        assert_eq!(sms.filter, "value.group = A AND consent.sms = OPTED_IN");
        assert_eq!(sms.creator, "marketer-1");
        assert!(sms.create_time.is_some());
        assert_eq!(sms.update_time, sms.create_time);
        assert!(!sms.etag.is_empty());
        assert_eq!(sms.delete_time, None);

        // Read back by the marketer, and by a rep, who may read segments.
        let got = m.get_segment(get_req(&sms.name)).await.expect("get");
        assert_eq!(got.into_inner(), sms);
        let mut rep = segments_with(s, s.rep("rep-1", "team-a"));
        let got = rep.get_segment(get_req(&sms.name)).await.expect("rep get");
        assert_eq!(got.into_inner(), sms);

        let mut active = segment(
            "Active without an order",
            "last_activity_time >= 2024-01-01T00:00:00Z AND value.order_count = 0",
        );
        active.description = "Line one\nline two".into();
        let active = m
            .create_segment(create_req(active, ""))
            .await
            .expect("create")
            .into_inner();
        assert_eq!(active.description, "Line one\nline two");

        // Newest first by default; by name; filtered; a page at a time.
        let list = |filter: &str, order_by: &str, page_size: i32| pb::ListSegmentsRequest {
            filter: filter.into(),
            order_by: order_by.into(),
            page_size,
            ..Default::default()
        };
        let both = ["Active without an order", "Group A on SMS"];
        assert_eq!(listed_segments(&mut m, list("", "", 0)).await.0, both);
        assert_eq!(
            listed_segments(&mut m, list("", "display_name desc", 0))
                .await
                .0,
            ["Group A on SMS", "Active without an order"]
        );
        assert_eq!(
            listed_segments(&mut m, list("display_name:\"on sms\"", "", 0))
                .await
                .0,
            ["Group A on SMS"]
        );
        assert_eq!(
            listed_segments(&mut rep, list("creator = marketer-1", "create_time", 1)).await,
            (vec![both[1].to_owned(), both[0].to_owned()], 2)
        );

        // A change of the masked fields only, with the etag read.
        let changed = m
            .update_segment(update_req(
                pb::Segment {
                    name: sms.name.clone(),
                    etag: sms.etag.clone(),
                    display_name: "Group A, SMS".into(),
                    description: "not in the mask".into(),
                    filter: "value.group = a AND consent.sms = opted_in".into(),
                    ..Default::default()
                },
                &["display_name", "filter"],
            ))
            .await
            .expect("update")
            .into_inner();
        assert_eq!(changed.display_name, "Group A, SMS");
        assert_eq!(changed.filter, "value.group = a AND consent.sms = opted_in");
        assert_eq!(changed.description, "");
        assert_eq!(
            (&changed.creator, changed.create_time),
            (&sms.creator, sms.create_time)
        );
        assert_ne!(changed.etag, sms.etag);
        assert!(micros(&changed.update_time) > micros(&sms.update_time));
        let all = m
            .update_segment(update_req(
                pb::Segment {
                    name: sms.name.clone(),
                    description: "all three".into(),
                    ..segment("Every field", "consent.sms = opted_in")
                },
                &["*"],
            ))
            .await
            .expect("update all")
            .into_inner();
        assert_eq!(
            (
                all.display_name.as_str(),
                all.description.as_str(),
                all.filter.as_str()
            ),
            ("Every field", "all three", "consent.sms = opted_in")
        );

        // Deleted, it is kept for reference but leaves the list and can no longer be used.
        let deleted = m
            .delete_segment(delete_req(&sms.name, &all.etag))
            .await
            .expect("delete")
            .into_inner();
        assert!(deleted.delete_time.is_some());
        assert_ne!(deleted.etag, all.etag);
        let got = m
            .get_segment(get_req(&sms.name))
            .await
            .expect("get deleted");
        assert_eq!(got.into_inner(), deleted);
        assert_eq!(
            listed_segments(&mut m, list("", "", 0)).await.0,
            ["Active without an order"]
        );
        let with_deleted = pb::ListSegmentsRequest {
            show_deleted: true,
            ..list("", "display_name", 0)
        };
        assert_eq!(
            listed_segments(&mut m, with_deleted).await.0,
            ["Active without an order", "Every field"]
        );
        let gone = [
            m.update_segment(update_req(
                pb::Segment {
                    name: sms.name.clone(),
                    ..segment("Again", "tags:vip")
                },
                &["display_name"],
            ))
            .await
            .map(drop),
            m.delete_segment(delete_req(&sms.name, "")).await.map(drop),
            m.count_segment_members(count_req(&sms.name, ""))
                .await
                .map(drop),
            batches(&mut m, of_segment(&sms.name)).await.map(drop),
        ];
        for result in gone {
            let st = assert_code(result, Code::FailedPrecondition);
            assert_eq!(reason(&st), "SEGMENT_DELETED");
        }
    })
    .await;
}

#[tokio::test]
async fn every_bad_field_is_named_in_one_answer() {
    each_backend(&services(), async |s| {
        let mut m = marketer(s);

        let st = assert_code(
            m.create_segment(pb::CreateSegmentRequest::default()).await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&st), ["segment"]);
        let bad = pb::Segment {
            display_name: "x".repeat(201),
            description: "bell\u{7}".into(),
            filter: "nope = 1 AND value.group = Z AND consent.sms = maybe".into(),
            ..Default::default()
        };
        let st = assert_code(
            m.create_segment(create_req(bad, &"r".repeat(200))).await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&st),
            [
                "request_id",
                "segment.description",
                "segment.display_name",
                "segment.filter",
                "segment.filter",
                "segment.filter",
            ]
        );
        let said = violations(&st).join("\n");
        for problem in [
            "field \"nope\" is not filterable",
            "field \"value.group\" has no value \"Z\"",
            "field \"consent.sms\" has no value \"maybe\"; its values are: opted_in, opted_out, \
             unknown",
        ] {
            assert!(said.contains(problem), "{problem} in {said}");
        }
        for filter in [
            "",
            "  ",
            "(consent.sms = opted_in",
            "last_activity_time >= yesterday",
        ] {
            let st = assert_code(
                m.create_segment(create_req(segment("S", filter), "")).await,
                Code::InvalidArgument,
            );
            assert_eq!(bad_fields(&st), ["segment.filter"], "{filter:?}");
        }

        for name in [
            "",
            "segments/nope",
            "customers/0190a5b2-7c3e-7d4f-8a1b-2c3d4e5f6a7b",
        ] {
            let st = assert_code(m.get_segment(get_req(name)).await, Code::InvalidArgument);
            assert_eq!(bad_fields(&st), ["name"], "{name:?}");
            let st = assert_code(
                m.delete_segment(delete_req(name, "")).await,
                Code::InvalidArgument,
            );
            assert_eq!(bad_fields(&st), ["name"], "{name:?}");
        }

        let st = assert_code(
            m.list_segments(pb::ListSegmentsRequest {
                page_size: -1,
                filter: "filter = x".into(),
                order_by: "filter".into(),
                ..Default::default()
            })
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(sorted_bad_fields(&st), ["filter", "order_by", "page_size"]);

        let st = assert_code(
            m.update_segment(pb::UpdateSegmentRequest::default()).await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&st), ["segment"]);
        let st = assert_code(
            m.update_segment(update_req(
                pb::Segment {
                    name: "segments/bad".into(),
                    ..segment(" ", "consent.fax = opted_in")
                },
                &["display_name", "filter", "creator", "colour"],
            ))
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&st),
            [
                "segment.display_name",
                "segment.filter",
                "segment.name",
                "update_mask",
                "update_mask",
            ]
        );
        let st = assert_code(
            m.update_segment(update_req(segment("S", "tags:vip"), &[]))
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(sorted_bad_fields(&st), ["segment.name", "update_mask"]);

        for (name, filter, field) in [
            ("", "", "name"),
            ("segments/x", "tags:vip", "filter"),
            ("segments/x", "", "name"),
            ("", "tags >", "filter"),
            ("", "consent.do_not_disturb = maybe", "filter"),
        ] {
            let st = assert_code(count(&mut m, name, filter).await, Code::InvalidArgument);
            assert_eq!(bad_fields(&st), [field], "{name:?} {filter:?}");
        }

        let st = assert_code(
            batches(
                &mut m,
                pb::StreamSegmentMembersRequest {
                    name: String::new(),
                    filter: "nope = 1".into(),
                    start_after: "segments/0190a5b2-7c3e-7d4f-8a1b-2c3d4e5f6a7b".into(),
                    channel: 42,
                    send_time: Some(prost_types::Timestamp {
                        seconds: 0,
                        nanos: -1,
                    }),
                    transactional: true,
                },
            )
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(sorted_bad_fields(&st), ["channel", "filter", "start_after"]);
        let st = assert_code(
            batches(
                &mut m,
                pb::StreamSegmentMembersRequest {
                    send_time: Some(prost_types::Timestamp {
                        seconds: 253_402_300_799,
                        nanos: 0,
                    }),
                    channel: pb::Channel::Sms.into(),
                    ..of_filter("tags:vip")
                },
            )
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&st), ["send_time"]);
        let st = assert_code(
            batches(
                &mut m,
                pb::StreamSegmentMembersRequest {
                    transactional: true,
                    ..of_filter("tags:vip")
                },
            )
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&st), ["transactional"]);
    })
    .await;
}

#[tokio::test]
async fn another_tenants_segments_read_as_not_found() {
    each_backend(&services(), async |s| {
        let mut m = marketer(s);
        let mut people = admin(s);
        create(&mut people, person("张伟", "13812345678")).await;
        let ours = create_segment(&mut m, "Everyone", "kind = person").await;
        let mut other = segments_with(s, s.stranger());

        let missing = [
            other.get_segment(get_req(&ours.name)).await.map(drop),
            other
                .update_segment(update_req(
                    pb::Segment {
                        name: ours.name.clone(),
                        ..segment("Mine now", "tags:vip")
                    },
                    &["display_name"],
                ))
                .await
                .map(drop),
            other
                .delete_segment(delete_req(&ours.name, ""))
                .await
                .map(drop),
            count(&mut other, &ours.name, "").await.map(drop),
            batches(&mut other, of_segment(&ours.name)).await.map(drop),
        ];
        for result in missing {
            let st = assert_code(result, Code::NotFound);
            assert!(st.message().contains(&ours.name), "{st:?}");
        }
        let (theirs, _) = listed_segments(&mut other, pb::ListSegmentsRequest::default()).await;
        assert!(theirs.is_empty());
        // Their own filter counts their own customers: none.
        assert_eq!(
            count(&mut other, "", "kind = person").await.expect("count"),
            0
        );
        assert!(
            members(&mut other, of_filter("kind = person"))
                .await
                .is_empty()
        );
        // Ours is untouched.
        let got = m.get_segment(get_req(&ours.name)).await.expect("get");
        assert_eq!(got.into_inner(), ours);
        assert_eq!(count(&mut m, &ours.name, "").await.expect("count"), 1);
    })
    .await;
}

#[tokio::test]
async fn roles_decide_who_uses_segments_and_who_only_reads_them() {
    each_backend(&services(), async |s| {
        let mut m = marketer(s);
        create(&mut admin(s), person("张伟", "13812345678")).await;
        let seg = create_segment(&mut m, "Everyone", "kind = person").await;

        // Those who use segments do everything.
        for (subject, role) in [
            ("admin-1", Role::Admin),
            ("manager-1", Role::Manager),
            ("marketer-2", Role::Marketer),
            ("integration", Role::ServiceAccount),
        ] {
            let mut c = segments_with(s, s.auth("t1", subject, &[role]));
            let mine = create_segment(&mut c, subject, "kind = person").await;
            let changed = c
                .update_segment(update_req(
                    pb::Segment {
                        name: mine.name.clone(),
                        etag: mine.etag.clone(),
                        ..segment("changed", "kind = person")
                    },
                    &["display_name"],
                ))
                .await
                .expect("update")
                .into_inner();
            c.get_segment(get_req(&seg.name)).await.expect("get");
            assert_eq!(count(&mut c, &seg.name, "").await.expect("count"), 1);
            assert_eq!(members(&mut c, of_segment(&seg.name)).await.len(), 1);
            c.delete_segment(delete_req(&mine.name, &changed.etag))
                .await
                .expect("delete");
        }

        // A rep reads segments and counts what it sees, but neither changes nor streams them.
        let mut rep = segments_with(s, s.rep("rep-1", "team-a"));
        rep.get_segment(get_req(&seg.name)).await.expect("get");
        rep.list_segments(pb::ListSegmentsRequest::default())
            .await
            .expect("list");
        assert_eq!(count(&mut rep, &seg.name, "").await.expect("count"), 0);
        let denied = async |c: &mut Segments| {
            vec![
                c.create_segment(create_req(segment("S", "tags:vip"), ""))
                    .await
                    .map(drop),
                c.update_segment(update_req(
                    pb::Segment {
                        name: seg.name.clone(),
                        ..segment("S", "tags:vip")
                    },
                    &["display_name"],
                ))
                .await
                .map(drop),
                c.delete_segment(delete_req(&seg.name, "")).await.map(drop),
                batches(c, of_segment(&seg.name)).await.map(drop),
            ]
        };
        for result in denied(&mut rep).await {
            assert_code(result, Code::PermissionDenied);
        }
        // Service agents and partners have no business with segments at all.
        for role in [Role::ServiceAgent, Role::Partner] {
            let mut c = segments_with(s, s.auth("t1", "someone", &[role]));
            let mut results = denied(&mut c).await;
            results.push(c.get_segment(get_req(&seg.name)).await.map(drop));
            results.push(
                c.list_segments(pb::ListSegmentsRequest::default())
                    .await
                    .map(drop),
            );
            results.push(count(&mut c, &seg.name, "").await.map(drop));
            for result in results {
                assert_code(result, Code::PermissionDenied);
            }
        }
        let mut nobody = segments_with(s, rapport_testkit::Bearer::none());
        assert_code(
            nobody.get_segment(get_req(&seg.name)).await,
            Code::Unauthenticated,
        );
        // Nothing of the refused calls changed the segment.
        let got = m.get_segment(get_req(&seg.name)).await.expect("get");
        assert_eq!(got.into_inner(), seg);
    })
    .await;
}

#[tokio::test]
async fn a_stale_etag_is_aborted_and_a_retried_create_replays() {
    each_backend(&services(), async |s| {
        let mut m = marketer(s);
        let first = create_segment(&mut m, "First", "tags:vip").await;
        let changed = m
            .update_segment(update_req(
                pb::Segment {
                    name: first.name.clone(),
                    etag: first.etag.clone(),
                    ..segment("Changed", "tags:vip")
                },
                &["display_name"],
            ))
            .await
            .expect("update")
            .into_inner();
        let stale = [
            m.update_segment(update_req(
                pb::Segment {
                    name: first.name.clone(),
                    etag: first.etag.clone(),
                    ..segment("Lost", "tags:vip")
                },
                &["display_name"],
            ))
            .await
            .map(drop),
            m.delete_segment(delete_req(&first.name, &first.etag))
                .await
                .map(drop),
        ];
        for result in stale {
            assert_code(result, Code::Aborted);
        }
        let got = m.get_segment(get_req(&first.name)).await.expect("get");
        assert_eq!(got.into_inner(), changed);

        // The same request id and request: the first answer, one segment.
        let req = create_req(segment("Once", "tags:new"), "campaign-42");
        let calls = (0..3).map(|_| {
            let (mut c, req) = (m.clone(), req.clone());
            async move { c.create_segment(req).await.map(|r| r.into_inner()) }
        });
        let answers = answered_alike(calls).await;
        let again = m.create_segment(req.clone()).await.expect("retry");
        assert_eq!(again.into_inner(), answers[0]);
        let (names, _) = listed_segments(
            &mut m,
            pb::ListSegmentsRequest {
                filter: "display_name = once".into(),
                ..Default::default()
            },
        )
        .await;
        assert_eq!(names, ["Once"]);
        // The same id with another request is refused; another caller's id is its own.
        let other = create_req(segment("Twice", "tags:new"), "campaign-42");
        let st = assert_code(m.create_segment(other.clone()).await, Code::InvalidArgument);
        assert_eq!(reason(&st), "REQUEST_ID_REUSED");
        let mut manager = segments_with(s, s.manager("manager-1", "team-a"));
        let theirs = manager.create_segment(other).await.expect("their own");
        assert_ne!(theirs.into_inner().name, answers[0].name);
    })
    .await;
}

/// The names of `members`, as a set.
fn names_of(members: &[pb::SegmentMember]) -> BTreeSet<String> {
    members.iter().map(|m| m.customer.clone()).collect()
}

/// A person with tag `seg`, consent `consent` and, unless empty, `phone`.
fn tagged(name: &str, phone: &str, consent: Option<pb::Consent>) -> pb::Customer {
    let mut c = person(name, phone);
    if phone.is_empty() {
        c.phones.clear();
    }
    c.tags = vec!["seg".into()];
    c.consent = consent;
    c
}

fn consent(decisions: &[(pb::Channel, pb::ConsentStatus)], do_not_disturb: bool) -> pb::Consent {
    pb::Consent {
        channels: decisions
            .iter()
            .map(|(channel, status)| pb::ChannelConsent {
                channel: (*channel).into(),
                status: (*status).into(),
                source: "store_form".into(),
            })
            .collect(),
        do_not_disturb,
        quiet_hours: None,
    }
}

/// Records an activity on `customer` that happened `days_ago`.
async fn activity(c: &mut Client, customer: &str, days_ago: i64) {
    let at = unix_now() as i64 - days_ago * DAY / 1_000_000;
    c.create_activity(pb::CreateActivityRequest {
        parent: customer.into(),
        activity: Some(pb::Activity {
            kind: pb::ActivityKind::Call.into(),
            content: "called".into(),
            occur_time: Some(prost_types::Timestamp {
                seconds: at,
                nanos: 0,
            }),
            ..Default::default()
        }),
        request_id: String::new(),
    })
    .await
    .expect("record an activity");
}

/// RFC 3339 of `days_ago` days before now.
fn days_ago(days: i64) -> String {
    let at = unix_now() as i64 - days * DAY / 1_000_000;
    time::OffsetDateTime::from_unix_timestamp(at)
        .expect("a time")
        .format(&time::format_description::well_known::Rfc3339)
        .expect("formats")
}

/// Asserts that `filter` keeps exactly `want` (customer names) for `people` and `segments`
/// (the same caller): ListCustomers lists them, CountSegmentMembers counts them and
/// StreamSegmentMembers streams them, for the filter and for a segment saved with it.
async fn keeps(people: &mut Client, segments: &mut Segments, filter: &str, want: &[&str]) {
    let want: BTreeSet<String> = want.iter().map(|n| (*n).to_owned()).collect();
    let listed: BTreeSet<String> = list_all_customers(people, filter)
        .await
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(listed, want, "ListCustomers {filter}");
    let streamed = members(segments, of_filter(filter)).await;
    assert_eq!(names_of(&streamed), want, "stream {filter}");
    assert_eq!(streamed.len(), want.len(), "each once: {filter}");
    let counted = count(segments, "", filter).await.expect("count");
    assert_eq!(counted, want.len() as i64, "count {filter}");
}

#[tokio::test]
async fn members_are_the_live_customers_the_filter_matches_including_consent_and_activity() {
    each_backend(&services(), async |s| {
        use pb::{Channel::*, ConsentStatus::*};
        let mut people = admin(s);
        let mut m = marketer(s);
        let a = create(
            &mut people,
            pb::Customer {
                owner_id: "rep-1".into(),
                team_id: "team-a".into(),
                ..tagged("A", "13800000001", Some(consent(&[(Sms, OptedIn)], false)))
            },
        )
        .await
        .name;
        let b = create(
            &mut people,
            tagged(
                "B",
                "13800000002",
                Some(consent(&[(Sms, OptedOut), (Email, OptedOut)], true)),
            ),
        )
        .await
        .name;
        let c = create(
            &mut people,
            pb::Customer {
                owner_id: "rep-2".into(),
                team_id: "team-b".into(),
                ..tagged("C", "13800000003", None)
            },
        )
        .await
        .name;
        let d = create(
            &mut people,
            tagged("D", "13800000004", Some(consent(&[(Sms, OptedIn)], false))),
        )
        .await;
        let e = create(
            &mut people,
            tagged(
                "E",
                "13800000005",
                Some(consent(&[(Phone, OptedOut)], false)),
            ),
        )
        .await
        .name;
        activity(&mut people, &a, 10).await;
        activity(&mut people, &a, 2).await;
        activity(&mut people, &b, 40).await;
        activity(&mut people, &d.name, 1).await;
        activity(&mut people, &e, 5).await;
        let recent = days_ago(30);

        keeps(&mut people, &mut m, "tags:seg", &[&a, &b, &c, &d.name, &e]).await;
        keeps(
            &mut people,
            &mut m,
            &format!("last_activity_time >= \"{recent}\""),
            &[&a, &d.name, &e],
        )
        .await;

        // Deleted and merged-away customers are never members.
        people
            .delete_customer(pb::DeleteCustomerRequest {
                name: d.name.clone(),
                etag: d.etag.clone(),
            })
            .await
            .expect("delete");
        people
            .merge_customers(pb::MergeCustomersRequest {
                survivor: c.clone(),
                merged: vec![e.clone()],
                request_id: String::new(),
            })
            .await
            .expect("merge");

        for (filter, want) in [
            ("tags:seg", vec![&a, &b, &c]),
            ("tags:seg AND consent.sms = OPTED_IN", vec![&a]),
            ("tags:seg AND consent.sms = unknown", vec![&c]),
            ("tags:seg AND consent.sms != opted_in", vec![&b, &c]),
            ("tags:seg AND consent.email = opted_out", vec![&b]),
            ("tags:seg AND consent.email = Unknown", vec![&a, &c]),
            // C took E's opt-out of calls in the merge.
            ("tags:seg AND consent.phone = opted_out", vec![&c]),
            ("tags:seg AND consent.im = unknown", vec![&a, &b, &c]),
            ("tags:seg AND consent.do_not_disturb = true", vec![&b]),
            ("tags:seg AND consent.do_not_disturb != true", vec![&a, &c]),
            (
                "tags:seg AND NOT consent.do_not_disturb = true",
                vec![&a, &c],
            ),
        ] {
            let want: Vec<&str> = want.iter().map(|n| n.as_str()).collect();
            keeps(&mut people, &mut m, filter, &want).await;
        }
        // C took E's activity of five days ago in the merge; B's is older; a customer without
        // any activity never matches a comparison on it.
        keeps(
            &mut people,
            &mut m,
            &format!("last_activity_time >= \"{recent}\""),
            &[&a, &c],
        )
        .await;
        keeps(
            &mut people,
            &mut m,
            &format!("last_activity_time < \"{recent}\""),
            &[&b],
        )
        .await;
        let fresh = create(&mut people, tagged("F", "13800000006", None))
            .await
            .name;
        keeps(
            &mut people,
            &mut m,
            &format!("tags:seg AND last_activity_time != \"{recent}\""),
            &[&a, &b, &c],
        )
        .await;
        // The time is the newest activity's, not the latest recorded one's.
        activity(&mut people, &a, 60).await;
        keeps(
            &mut people,
            &mut m,
            &format!("last_activity_time >= \"{}\"", days_ago(3)),
            &[&a],
        )
        .await;

        // A saved segment has the same members, and changing a customer's consent moves it.
        let sms = create_segment(&mut m, "SMS", "tags:seg AND consent.sms = opted_in").await;
        assert_eq!(
            names_of(&members(&mut m, of_segment(&sms.name)).await),
            BTreeSet::from([a.clone()])
        );
        let f = fetch_customer(&mut people, &fresh).await;
        people
            .update_customer(pb::UpdateCustomerRequest {
                customer: Some(pb::Customer {
                    consent: Some(consent(&[(Sms, OptedIn)], false)),
                    ..f
                }),
                update_mask: mask(&["consent"]),
            })
            .await
            .expect("opt in");
        assert_eq!(
            names_of(&members(&mut m, of_segment(&sms.name)).await),
            BTreeSet::from([a.clone(), fresh.clone()])
        );
        assert_eq!(count(&mut m, &sms.name, "").await.expect("count"), 2);

        // A rep counts only what it sees: its own customer A, not C of another team.
        let mut rep_people = rep(s, "rep-1", "team-a");
        let mut rep_segments = segments_with(s, s.rep("rep-1", "team-a"));
        assert_eq!(
            count(&mut rep_segments, "", "tags:seg")
                .await
                .expect("count"),
            1
        );
        assert_eq!(
            count(&mut rep_segments, &sms.name, "")
                .await
                .expect("count"),
            1
        );
        let seen: Vec<String> = list_all_customers(&mut rep_people, "tags:seg")
            .await
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(seen, std::slice::from_ref(&a));
    })
    .await;
}

#[tokio::test]
async fn a_member_carries_what_a_sender_needs() {
    each_backend(&services(), async |s| {
        let mut people = admin(s);
        let mut m = marketer(s);
        let full = create(
            &mut people,
            pb::Customer {
                phones: vec![
                    pb::Phone {
                        number: "138 1234 5678".into(),
                        ..Default::default()
                    },
                    pb::Phone {
                        number: "13900001111".into(),
                        ..Default::default()
                    },
                ],
                emails: vec![
                    pb::Email {
                        address: "Wei@Example.COM".into(),
                        label: "work".into(),
                    },
                    pb::Email {
                        address: "home@example.com".into(),
                        label: String::new(),
                    },
                ],
                owner_id: "rep-1".into(),
                team_id: "team-a".into(),
                store_id: "store-sz".into(),
                demographics: Some(pb::Demographics {
                    birth_date: date(1988, 5, 20),
                    ..Default::default()
                }),
                important_dates: vec![
                    pb::ImportantDate {
                        kind: pb::ImportantDateKind::Anniversary.into(),
                        label: String::new(),
                        date: date(0, 10, 1),
                    },
                    pb::ImportantDate {
                        kind: pb::ImportantDateKind::Custom.into(),
                        label: "first visit".into(),
                        date: date(2023, 3, 8),
                    },
                ],
                tags: vec!["care".into()],
                ..person("张伟", "")
            },
        )
        .await;
        let bare = create(
            &mut people,
            pb::Customer {
                phones: Vec::new(),
                emails: vec![pb::Email {
                    address: "li@example.com".into(),
                    label: String::new(),
                }],
                tags: vec!["care".into()],
                ..person("Li Na", "")
            },
        )
        .await;
        let got = members(&mut m, of_filter("tags:care")).await;
        assert_eq!(got.len(), 2);
        let member = |name: &str| got.iter().find(|m| m.customer == name).expect("member");
        assert_eq!(
            member(&full.name),
            &pb::SegmentMember {
                customer: full.name.clone(),
                display_name: "张伟".into(),
                phone: "+8613812345678".into(),
                email: "Wei@example.com".into(),
                owner_id: "rep-1".into(),
                team_id: "team-a".into(),
                store_id: "store-sz".into(),
                value_grade: pb::ValueGrade::Unspecified.into(),
                value_group: pb::ValueGroup::Unspecified.into(),
                birth_date: date(1988, 5, 20),
                important_dates: full.important_dates.clone(),
                allowed: false,
                reason: String::new(),
                next_allowed_time: None,
            }
        );
        assert_eq!(member(&bare.name).phone, "");
        assert_eq!(member(&bare.name).email, "li@example.com");
        assert_eq!(member(&bare.name).birth_date, None);
    })
    .await;
}

#[tokio::test]
async fn permission_fields_agree_with_check_contact_permission() {
    each_backend(&services(), async |s| {
        use pb::{Channel::*, ConsentStatus::*};
        let mut people = admin(s);
        let mut m = marketer(s);
        // Quiet from 22:00 to 08:00 in China (UTC+8).
        let quiet = pb::QuietHours {
            start_minute: 22 * 60,
            end_minute: 8 * 60,
            utc_offset_minutes: 480,
        };
        let profiles = [
            tagged(
                "Quiet",
                "13800000011",
                Some(pb::Consent {
                    quiet_hours: Some(quiet),
                    ..consent(&[(Sms, OptedIn), (Email, OptedIn)], false)
                }),
            ),
            tagged(
                "Out",
                "13800000012",
                Some(consent(&[(Sms, OptedOut)], false)),
            ),
            tagged(
                "Calm",
                "13800000013",
                Some(consent(&[(Sms, OptedIn)], true)),
            ),
            tagged("Unasked", "13800000014", None),
            tagged("Phoneless", "", Some(consent(&[(Sms, OptedIn)], false))),
            tagged(
                "Open",
                "13800000016",
                Some(consent(&[(Sms, OptedIn)], false)),
            ),
        ];
        let mut named = Vec::new();
        for p in profiles {
            let p = pb::Customer {
                emails: vec![pb::Email {
                    address: format!("{}@example.com", p.display_name.to_lowercase()),
                    label: String::new(),
                }],
                ..p
            };
            named.push(create(&mut people, p).await.name);
        }
        // 2030-01-15 23:00 in China, 15:00 UTC: inside the quiet hours.
        let night = prost_types::Timestamp {
            seconds: 1_894_719_600,
            nanos: 0,
        };
        let mut reasons = BTreeSet::new();
        for channel in [Sms, Email, Phone] {
            for transactional in [false, true] {
                let got = members(
                    &mut m,
                    pb::StreamSegmentMembersRequest {
                        channel: channel.into(),
                        send_time: Some(night),
                        transactional,
                        ..of_filter("tags:seg")
                    },
                )
                .await;
                assert_eq!(names_of(&got), named.iter().cloned().collect());
                for member in &got {
                    let checked = people
                        .check_contact_permission(pb::CheckContactPermissionRequest {
                            name: member.customer.clone(),
                            channel: channel.into(),
                            send_time: Some(night),
                            transactional,
                        })
                        .await
                        .expect("check")
                        .into_inner();
                    assert_eq!(
                        (member.allowed, &member.reason, &member.next_allowed_time),
                        (checked.allowed, &checked.reason, &checked.next_allowed_time),
                        "{} {channel:?} transactional {transactional}",
                        member.display_name
                    );
                    reasons.insert(checked.reason);
                }
            }
        }
        // Every rule had its say.
        assert_eq!(
            reasons,
            [
                "",
                "DO_NOT_DISTURB",
                "NO_ADDRESS",
                "NO_CONSENT",
                "OPTED_OUT",
                "QUIET_HOURS"
            ]
            .into_iter()
            .map(String::from)
            .collect()
        );
        // Quiet hours end at 08:00 in China, midnight UTC.
        let quiet_member = members(
            &mut m,
            pb::StreamSegmentMembersRequest {
                channel: Sms.into(),
                send_time: Some(night),
                ..of_filter("display_name = quiet")
            },
        )
        .await;
        assert_eq!(quiet_member[0].reason, "QUIET_HOURS");
        assert_eq!(
            quiet_member[0].next_allowed_time,
            Some(prost_types::Timestamp {
                seconds: 1_894_752_000,
                nanos: 0
            })
        );
        // Without a send time the stream checks for the moment it started.
        let now = members(
            &mut m,
            pb::StreamSegmentMembersRequest {
                channel: Sms.into(),
                ..of_filter("display_name = open")
            },
        )
        .await;
        assert!(now[0].allowed, "{:?}", now[0]);
    })
    .await;
}

/// Imports `n` people with tag `bulk`, as the admin.
async fn import_people(c: &mut Client, n: usize) {
    let rows: Vec<pb::Customer> = (0..n)
        .map(|i| pb::Customer {
            tags: vec!["bulk".into()],
            ..person(&format!("P{i:05}"), &format!("139{i:08}"))
        })
        .collect();
    let messages: Vec<pb::ImportCustomersRequest> = rows
        .chunks(1000)
        .map(|chunk| pb::ImportCustomersRequest {
            customers: chunk.to_vec(),
        })
        .collect();
    let mut answers = c
        .import_customers(futures::stream::iter(messages))
        .await
        .expect("import")
        .into_inner();
    let mut created = 0;
    while let Some(answer) = answers.message().await.expect("an answer") {
        created += answer
            .results
            .iter()
            .filter(|r| r.status() == pb::ImportRowStatus::Created)
            .count();
    }
    assert_eq!(created, n);
}

#[tokio::test]
async fn a_stream_is_in_id_order_in_batches_and_resumes_after_its_cursor() {
    each_backend(&services(), async |s| {
        let mut people = admin(s);
        let mut m = marketer(s);
        import_people(&mut people, 2345).await;
        let everyone = create_segment(&mut m, "Bulk", "tags:bulk").await;

        let all = batches(&mut m, of_segment(&everyone.name))
            .await
            .expect("stream");
        let sizes: Vec<usize> = all.iter().map(|b| b.members.len()).collect();
        assert_eq!(sizes, [1000, 1000, 345]);
        for b in &all {
            let last = b.members.last().expect("a member");
            assert_eq!(
                b.next_cursor, last.customer,
                "the cursor is the last member"
            );
        }
        let streamed: Vec<String> = all
            .iter()
            .flat_map(|b| b.members.iter().map(|m| m.customer.clone()))
            .collect();
        let mut ordered = streamed.clone();
        ordered.sort();
        ordered.dedup();
        assert_eq!(streamed, ordered, "strictly in id order, each once");
        assert_eq!(
            count(&mut m, &everyone.name, "").await.expect("count"),
            2345
        );

        // Resuming after a batch's cursor gives exactly the rest.
        let rest = members(
            &mut m,
            pb::StreamSegmentMembersRequest {
                start_after: all[0].next_cursor.clone(),
                ..of_segment(&everyone.name)
            },
        )
        .await;
        let rest: Vec<String> = rest.into_iter().map(|m| m.customer).collect();
        assert_eq!(rest, streamed[1000..]);
        // After any member, and after one deleted since: the rest, no gap, no repeat.
        let gone = fetch_customer(&mut people, &streamed[1500]).await;
        people
            .delete_customer(pb::DeleteCustomerRequest {
                name: gone.name.clone(),
                etag: String::new(),
            })
            .await
            .expect("delete");
        let rest = members(
            &mut m,
            pb::StreamSegmentMembersRequest {
                start_after: gone.name.clone(),
                ..of_filter("tags:bulk")
            },
        )
        .await;
        let rest: Vec<String> = rest.into_iter().map(|m| m.customer).collect();
        assert_eq!(rest, streamed[1501..]);
        let before: Vec<String> = members(&mut m, of_segment(&everyone.name))
            .await
            .into_iter()
            .map(|m| m.customer)
            .collect();
        assert_eq!(before.len(), 2344);
        assert!(!before.contains(&gone.name));
        // After the last member there is nothing more.
        let last = all.last().expect("a batch").next_cursor.clone();
        let none = batches(
            &mut m,
            pb::StreamSegmentMembersRequest {
                start_after: last,
                ..of_segment(&everyone.name)
            },
        )
        .await
        .expect("stream");
        assert!(none.is_empty(), "{none:?}");
    })
    .await;
}

#[tokio::test]
async fn the_campaign_scenarios_read_as_filters_over_value_consent_and_activity() {
    each_backend(&crate::value::services(), async |s| {
        use pb::{Channel::*, ConsentStatus::*};
        let mut shop = crate::value::shop(s).await;
        let mut m = marketer(s);
        let opted_in = Some(consent(&[(Sms, OptedIn)], false));
        let opted_out = Some(consent(&[(Sms, OptedOut)], false));
        let mut customer = async |name: &str, phone: &str, consent: &Option<pb::Consent>| {
            create(&mut shop.customers, tagged(name, phone, consent.clone()))
                .await
                .name
        };
        // Three orders of high value each: group A.
        let big_in = customer("Big in", "13800000021", &opted_in).await;
        let big_out = customer("Big out", "13800000022", &opted_out).await;
        // One small order: group E.
        let small_in = customer("Small in", "13800000023", &opted_in).await;
        // No order, but lately in touch; and one long ago.
        let idle_in = customer("Idle in", "13800000024", &opted_in).await;
        let idle_long = customer("Idle long", "13800000025", &None).await;
        for big in [&big_in, &big_out] {
            for _ in 0..3 {
                crate::value::placed(&mut shop, big, &[("SOFA", 1)]).await;
            }
            crate::value::with_orders(&mut shop, big, 3).await;
        }
        crate::value::placed(&mut shop, &small_in, &[("LAMP", 1)]).await;
        crate::value::with_orders(&mut shop, &small_in, 1).await;
        activity(&mut shop.customers, &idle_in, 3).await;
        activity(&mut shop.customers, &big_in, 3).await;
        activity(&mut shop.customers, &idle_long, 45).await;

        let group_a_sms = create_segment(
            &mut m,
            "Group A on SMS",
            "value.group = A AND consent.sms = OPTED_IN",
        )
        .await;
        let active = create_segment(
            &mut m,
            "Active without an order",
            &format!(
                "last_activity_time >= \"{}\" AND value.order_count = 0",
                days_ago(30)
            ),
        )
        .await;
        for (segment, want) in [(&group_a_sms, &big_in), (&active, &idle_in)] {
            let got = members(&mut m, of_segment(&segment.name)).await;
            assert_eq!(
                names_of(&got),
                BTreeSet::from([want.clone()]),
                "{}",
                segment.display_name
            );
            assert_eq!(count(&mut m, &segment.name, "").await.expect("count"), 1);
            keeps(&mut shop.customers, &mut m, &segment.filter, &[want]).await;
        }
        let member = &members(&mut m, of_segment(&group_a_sms.name)).await[0];
        assert_eq!(member.value_group(), pb::ValueGroup::A);
        assert_ne!(member.value_grade(), pb::ValueGrade::Unspecified);
        let idle = &members(&mut m, of_segment(&active.name)).await[0];
        assert_eq!(
            (idle.value_grade(), idle.value_group()),
            (pb::ValueGrade::Unspecified, pb::ValueGroup::Unspecified)
        );
    })
    .await;
}
