//! CreateActivity and ListActivities through the gRPC API, on every backend (CU5): the
//! timeline of notes, calls, visits and their follow-ups.

use crate::common::*;
use prost_types::value::Kind;
use rapport_proto::customers as pb;
use rapport_runtime::{
    auth::Role,
    clock::{DAY, HOUR, MINUTE, Micros, to_timestamp},
};
use rapport_testkit::each_backend;
use tonic::Code;

use pb::ActivityKind as K;

const ALL_KINDS: [K; 8] = [
    K::Note,
    K::Call,
    K::HomeVisit,
    K::StoreVisit,
    K::Message,
    K::Email,
    K::Meeting,
    K::DesignProposal,
];

/// Now, by the test's clock (the server runs on the system clock too).
fn now() -> Micros {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970");
    since_epoch.as_micros() as Micros
}

fn value(kind: Kind) -> prost_types::Value {
    prost_types::Value { kind: Some(kind) }
}

/// Details of a home visit: competitor products seen, and more.
fn visit_details() -> prost_types::Struct {
    let seen = prost_types::ListValue {
        values: vec![
            value(Kind::StringValue("X 牌沙发".into())),
            value(Kind::StringValue("Y bed".into())),
        ],
    };
    let room = prost_types::Struct {
        fields: [("color".to_owned(), value(Kind::StringValue("white".into())))].into(),
    };
    prost_types::Struct {
        fields: [
            (
                "competitor_products".to_owned(),
                value(Kind::ListValue(seen)),
            ),
            ("rooms".to_owned(), value(Kind::NumberValue(3.0))),
            ("budget_confirmed".to_owned(), value(Kind::BoolValue(true))),
            ("living_room".to_owned(), value(Kind::StructValue(room))),
        ]
        .into(),
    }
}

fn activity(kind: K, content: &str, occur_time: Option<Micros>) -> pb::Activity {
    pb::Activity {
        kind: kind.into(),
        content: content.into(),
        occur_time: occur_time.map(to_timestamp),
        ..Default::default()
    }
}

fn create_request(customer: &str, a: pb::Activity, request_id: &str) -> pb::CreateActivityRequest {
    pb::CreateActivityRequest {
        parent: customer.into(),
        activity: Some(a),
        request_id: request_id.into(),
    }
}

async fn record(c: &mut Client, customer: &str, a: pb::Activity) -> pb::Activity {
    c.create_activity(create_request(customer, a, ""))
        .await
        .expect("create activity")
        .into_inner()
}

fn page(customer: &str, page_size: i32, page_token: &str) -> pb::ListActivitiesRequest {
    pb::ListActivitiesRequest {
        parent: customer.into(),
        page_size,
        page_token: page_token.into(),
    }
}

/// The whole timeline, newest first, in pages of `page_size`; also the number of pages.
async fn read_all(c: &mut Client, customer: &str, page_size: i32) -> (Vec<pb::Activity>, usize) {
    let mut out = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let p = c
            .list_activities(page(customer, page_size, &token))
            .await
            .expect("list activities")
            .into_inner();
        pages += 1;
        assert!(p.activities.len() <= page_size as usize);
        out.extend(p.activities);
        if p.next_page_token.is_empty() {
            return (out, pages);
        }
        token = p.next_page_token;
    }
}

fn contents(activities: &[pb::Activity]) -> Vec<String> {
    activities.iter().map(|a| a.content.clone()).collect()
}

#[tokio::test]
async fn every_kind_is_recorded_with_author_details_and_follow_up() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let mut customer = person("陈静", "13700000001");
        customer.owner_id = "rep-1".into();
        customer.team_id = "team-a".into();
        let customer = create(&mut c, customer).await;
        let start = now() - DAY;

        let mut made = Vec::new();
        for (i, kind) in ALL_KINDS.into_iter().enumerate() {
            let occur = start + i as Micros * HOUR;
            let input = pb::Activity {
                name: "customers/x/activities/y".into(),
                author: "somebody-else".into(),
                details: Some(visit_details()),
                next_follow_up_time: Some(to_timestamp(occur + 2 * DAY)),
                ..activity(kind, &format!("{kind:?} with the customer"), Some(occur))
            };
            let a = record(&mut c, &customer.name, input).await;
            assert!(
                a.name
                    .starts_with(&format!("{}/activities/", customer.name)),
                "{}",
                a.name
            );
            assert_eq!(a.kind(), kind);
            assert_eq!(a.author, "admin-1", "the author is the caller");
            assert_eq!(a.content, format!("{kind:?} with the customer"));
            assert_eq!(a.occur_time, Some(to_timestamp(occur)));
            assert_eq!(a.next_follow_up_time, Some(to_timestamp(occur + 2 * DAY)));
            assert_eq!(a.details, Some(visit_details()));
            assert!(a.create_time.is_some());
            made.push(a);
        }

        // Without occur_time the activity happened when it was recorded; a rep is its author.
        let before = now();
        let by_rep = record(
            &mut rep(s, "rep-1", "team-a"),
            &customer.name,
            activity(K::Call, "called back", None),
        )
        .await;
        assert_eq!(by_rep.author, "rep-1");
        assert_eq!(by_rep.occur_time, by_rep.create_time);
        assert!(by_rep.details.is_none());
        assert!(by_rep.next_follow_up_time.is_none());
        let occur = by_rep.occur_time.expect("occur_time");
        let occur = occur.seconds * 1_000_000 + i64::from(occur.nanos) / 1000;
        assert!(occur >= before - MINUTE, "{occur} vs {before}");

        // Less than a day ahead is fine (a meeting logged just before it starts).
        let soon = record(
            &mut c,
            &customer.name,
            activity(K::Meeting, "design review", Some(now() + 20 * HOUR)),
        )
        .await;

        let (all, _) = read_all(&mut c, &customer.name, 50).await;
        let mut expected = vec![soon.clone(), by_rep.clone()];
        expected.extend(made.iter().rev().cloned());
        assert_eq!(all, expected);
    })
    .await;
}

#[tokio::test]
async fn list_pages_newest_first_through_tokens() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let customer = create(&mut c, person("李娜", "13700000002")).await;
        let other = create(&mut c, person("王芳", "13700000003")).await;
        let base = now() - 10 * HOUR;
        // Recorded out of order; listed by when they happened.
        for hours_ago in [3, 1, 6, 0, 5, 2, 4] {
            let a = activity(
                K::Note,
                &format!("{hours_ago}h ago"),
                Some(base - hours_ago * HOUR),
            );
            record(&mut c, &customer.name, a).await;
        }
        record(
            &mut c,
            &other.name,
            activity(K::Call, "other customer", None),
        )
        .await;
        let expected: Vec<String> = (0..7).map(|h| format!("{h}h ago")).collect();

        let first = c
            .list_activities(page(&customer.name, 3, ""))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(contents(&first.activities), expected[..3]);
        assert!(!first.next_page_token.is_empty());
        let second = c
            .list_activities(page(&customer.name, 3, &first.next_page_token))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(contents(&second.activities), expected[3..6]);
        let third = c
            .list_activities(page(&customer.name, 3, &second.next_page_token))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(contents(&third.activities), expected[6..]);
        assert!(third.next_page_token.is_empty());

        for (size, pages) in [(1, 7), (2, 4), (7, 1), (1000, 1)] {
            let (all, read) = read_all(&mut c, &customer.name, size).await;
            assert_eq!(contents(&all), expected, "pages of {size}");
            assert_eq!(read, pages, "pages of {size}");
        }
        let (theirs, _) = read_all(&mut c, &other.name, 10).await;
        assert_eq!(contents(&theirs), ["other customer"]);

        // Activities that happened at the same moment are each listed once, across pages.
        let same = now() - 20 * HOUR;
        for i in 0..3 {
            record(
                &mut c,
                &other.name,
                activity(K::Note, &format!("same {i}"), Some(same)),
            )
            .await;
        }
        let (theirs, _) = read_all(&mut c, &other.name, 1).await;
        let mut got = contents(&theirs);
        assert_eq!(got[0], "other customer");
        got.sort();
        assert_eq!(got, ["other customer", "same 0", "same 1", "same 2"]);
    })
    .await;
}

#[tokio::test]
async fn list_refuses_foreign_tokens_bad_sizes_and_unauthorized_callers() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let a = create(&mut c, person("李娜", "13700000004")).await;
        let b = create(&mut c, person("王芳", "13700000005")).await;
        for i in 0..3 {
            record(&mut c, &a.name, activity(K::Note, &format!("a{i}"), None)).await;
            record(&mut c, &b.name, activity(K::Note, &format!("b{i}"), None)).await;
        }
        let token = c
            .list_activities(page(&a.name, 1, ""))
            .await
            .unwrap()
            .into_inner()
            .next_page_token;
        assert!(!token.is_empty());

        let status = assert_code(
            c.list_activities(page(&b.name, 1, &token)).await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["page_token"]);
        let status = assert_code(
            stranger(s).list_activities(page(&a.name, 1, "")).await,
            Code::NotFound,
        );
        assert_eq!(reason(&status), "NOT_FOUND");
        let status = assert_code(
            c.list_activities(page(&a.name, 1, "not-a-token")).await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["page_token"]);
        let status = assert_code(
            c.list_activities(page("customers/", -1, "")).await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["parent", "page_size"]);

        assert_code(
            anonymous(s, None)
                .list_activities(page(&a.name, 1, ""))
                .await,
            Code::Unauthenticated,
        );
        assert_code(
            client(s, "t1", "partner-1", &[Role::Partner])
                .list_activities(page(&a.name, 1, ""))
                .await,
            Code::PermissionDenied,
        );
        // A rep who cannot see the customer cannot read its timeline.
        assert_code(
            rep(s, "rep-9", "team-z")
                .list_activities(page(&a.name, 1, ""))
                .await,
            Code::NotFound,
        );
        // The token still works where it belongs.
        let next = c
            .list_activities(page(&a.name, 1, &token))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(contents(&next.activities), ["a1"]);
    })
    .await;
}

#[tokio::test]
async fn create_names_every_bad_field_in_one_error() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let customer = create(&mut c, person("周杰", "13700000006")).await;
        let at = now();

        let everything_wrong = pb::Activity {
            kind: 0,
            content: "  ".into(),
            occur_time: Some(to_timestamp(at + 2 * DAY)),
            next_follow_up_time: Some(to_timestamp(at + DAY)),
            ..Default::default()
        };
        let status = assert_code(
            c.create_activity(create_request("customers/nope", everything_wrong, ""))
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            bad_fields(&status),
            [
                "parent",
                "activity.kind",
                "activity.occur_time",
                "activity.content",
                "activity.next_follow_up_time"
            ]
        );

        let cases = [
            (
                "follow-up before the activity",
                pb::Activity {
                    next_follow_up_time: Some(to_timestamp(at - 2 * HOUR)),
                    ..activity(K::Call, "called", Some(at - HOUR))
                },
                "activity.next_follow_up_time",
            ),
            (
                "follow-up at the same time",
                pb::Activity {
                    next_follow_up_time: Some(to_timestamp(at - HOUR)),
                    ..activity(K::Call, "called", Some(at - HOUR))
                },
                "activity.next_follow_up_time",
            ),
            (
                "follow-up before the default occur time",
                pb::Activity {
                    next_follow_up_time: Some(to_timestamp(at - HOUR)),
                    ..activity(K::Call, "called", None)
                },
                "activity.next_follow_up_time",
            ),
            (
                "more than a day ahead",
                activity(K::Meeting, "meeting", Some(at + DAY + HOUR)),
                "activity.occur_time",
            ),
            (
                "empty content",
                activity(K::Note, "", None),
                "activity.content",
            ),
            (
                "content too long",
                activity(K::Note, &"字".repeat(10_001), None),
                "activity.content",
            ),
            (
                "no kind",
                activity(K::Unspecified, "x", None),
                "activity.kind",
            ),
        ];
        for (what, a, field) in cases {
            let status = assert_code(
                c.create_activity(create_request(&customer.name, a, ""))
                    .await,
                Code::InvalidArgument,
            );
            assert_eq!(bad_fields(&status), [field], "{what}");
        }
        let status = assert_code(
            c.create_activity(pb::CreateActivityRequest {
                parent: customer.name.clone(),
                activity: None,
                request_id: String::new(),
            })
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["activity"]);
        assert!(read_all(&mut c, &customer.name, 10).await.0.is_empty());
    })
    .await;
}

#[tokio::test]
async fn create_retried_with_its_request_id_records_once() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let customer = create(&mut c, person("郑爽", "13700000007")).await;
        let request = create_request(
            &customer.name,
            pb::Activity {
                details: Some(visit_details()),
                ..activity(K::HomeVisit, "measured the living room", None)
            },
            "visit-2024-06-01-1",
        );
        let first = c
            .create_activity(request.clone())
            .await
            .unwrap()
            .into_inner();
        let again = c.create_activity(request).await.unwrap().into_inner();
        assert_eq!(again, first);
        let (all, _) = read_all(&mut c, &customer.name, 10).await;
        assert_eq!(all, [first]);
    })
    .await;
}

#[tokio::test]
async fn create_on_another_tenants_or_a_deleted_customer_or_by_the_wrong_role_is_refused() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let mut customer = person("吴刚", "13700000008");
        customer.owner_id = "rep-1".into();
        customer.team_id = "team-a".into();
        let customer = create(&mut c, customer).await;
        let gone = create(&mut c, person("吴刚 2", "13700000009")).await;
        c.delete_customer(pb::DeleteCustomerRequest {
            name: gone.name.clone(),
            etag: String::new(),
        })
        .await
        .unwrap();
        let note = || activity(K::Note, "note", None);

        let status = assert_code(
            stranger(s)
                .create_activity(create_request(&customer.name, note(), ""))
                .await,
            Code::NotFound,
        );
        assert_eq!(reason(&status), "NOT_FOUND");
        let status = assert_code(
            c.create_activity(create_request(&gone.name, note(), ""))
                .await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&status), "CUSTOMER_DELETED");
        assert_code(
            anonymous(s, None)
                .create_activity(create_request(&customer.name, note(), ""))
                .await,
            Code::Unauthenticated,
        );
        for mut denied in [
            client(s, "t1", "partner-1", &[Role::Partner]),
            client(s, "t1", "marketer-1", &[Role::Marketer]),
        ] {
            assert_code(
                denied
                    .create_activity(create_request(&customer.name, note(), ""))
                    .await,
                Code::PermissionDenied,
            );
        }
        assert_code(
            rep(s, "rep-9", "team-z")
                .create_activity(create_request(&customer.name, note(), ""))
                .await,
            Code::NotFound,
        );
        assert!(read_all(&mut c, &customer.name, 10).await.0.is_empty());
        assert!(read_all(&mut c, &gone.name, 10).await.0.is_empty());

        // A teammate of the owner may write on it.
        let by_teammate = record(&mut rep(s, "rep-2", "team-a"), &customer.name, note()).await;
        assert_eq!(by_teammate.author, "rep-2");
    })
    .await;
}

#[tokio::test]
async fn concurrent_retries_of_one_activity_record_it_once() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let customer = create(&mut c, person("黄蓉", "13700000010")).await;
        let calls = (0..4).map(|_| {
            let mut c = admin(s);
            let request = create_request(
                &customer.name,
                activity(K::StoreVisit, "came to the store", None),
                "visit-huang-1",
            );
            async move { c.create_activity(request).await.map(|r| r.into_inner()) }
        });
        let answers = answered_alike(calls).await;
        let (all, _) = read_all(&mut c, &customer.name, 10).await;
        assert_eq!(all, answers[..1]);
    })
    .await;
}
