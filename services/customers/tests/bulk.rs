//! BatchUpdateCustomers, ImportCustomers and ExportCustomers through the gRPC API, on every
//! backend (CU7).

use crate::common::*;
use prost_types::value::Kind;
use rapport_proto::customers as pb;
use rapport_runtime::auth::Role;
use rapport_testkit::{TestServer, each_backend};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;

fn custom(values: &[(&str, Kind)]) -> prost_types::Struct {
    prost_types::Struct {
        fields: values
            .iter()
            .map(|(k, v)| {
                (
                    (*k).to_owned(),
                    prost_types::Value {
                        kind: Some(v.clone()),
                    },
                )
            })
            .collect(),
    }
}

fn text(s: &str) -> Kind {
    Kind::StringValue(s.into())
}

/// Defines the tenant's custom fields: `budget_band` (ENUM low / high) and `visits` (INTEGER).
async fn define_custom_fields(c: &mut Client) {
    let field =
        |key: &str, kind: pb::CustomFieldType, options: &[&str]| pb::CustomFieldDefinition {
            key: key.into(),
            display_name: key.into(),
            r#type: kind.into(),
            required: false,
            options: options.iter().map(|o| o.to_string()).collect(),
        };
    c.update_customer_settings(pb::UpdateCustomerSettingsRequest {
        settings: Some(pb::CustomerSettings {
            custom_fields: vec![
                field("budget_band", pb::CustomFieldType::Enum, &["low", "high"]),
                field("visits", pb::CustomFieldType::Integer, &[]),
            ],
            ..Default::default()
        }),
        update_mask: mask(&["custom_fields"]),
    })
    .await
    .expect("define custom fields");
}

fn owned(name: &str, phone: &str, owner: &str, team: &str, tags: &[&str]) -> pb::Customer {
    pb::Customer {
        owner_id: owner.into(),
        team_id: team.into(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        ..person(name, phone)
    }
}

fn by_names(names: &[&str], change: pb::CustomerChange) -> pb::BatchUpdateCustomersRequest {
    pb::BatchUpdateCustomersRequest {
        names: names.iter().map(|n| n.to_string()).collect(),
        filter: String::new(),
        change: Some(change),
        request_id: String::new(),
    }
}

fn by_filter(filter: &str, change: pb::CustomerChange) -> pb::BatchUpdateCustomersRequest {
    pb::BatchUpdateCustomersRequest {
        names: Vec::new(),
        filter: filter.into(),
        change: Some(change),
        request_id: String::new(),
    }
}

fn add_tags(tags: &[&str]) -> pb::CustomerChange {
    pb::CustomerChange {
        add_tags: tags.iter().map(|t| t.to_string()).collect(),
        ..Default::default()
    }
}

async fn transfers(c: &mut Client, customer: &str) -> Vec<pb::OwnershipTransfer> {
    c.list_ownership_transfers(pb::ListOwnershipTransfersRequest {
        parent: customer.into(),
        ..Default::default()
    })
    .await
    .expect("list ownership transfers")
    .into_inner()
    .transfers
}

#[tokio::test]
async fn batch_update_by_names_changes_every_named_customer() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        define_custom_fields(&mut c).await;
        let c1 = create(
            &mut c,
            owned("客户一", "13810000001", "rep-1", "team-a", &["old", "keep"]),
        )
        .await;
        let c2 = create(
            &mut c,
            owned("客户二", "13810000002", "rep-1", "team-a", &["old"]),
        )
        .await;
        let c3 = create(&mut c, owned("客户三", "13810000003", "", "", &[])).await;
        let untouched = create(
            &mut c,
            owned("客户四", "13810000004", "rep-1", "team-a", &["old"]),
        )
        .await;

        let change = pb::CustomerChange {
            owner_id: "rep-9".into(),
            team_id: "team-b".into(),
            store_id: "store-3".into(),
            lifecycle_stage: pb::LifecycleStage::Customer.into(),
            grade: "A".into(),
            add_tags: vec!["vip".into(), " big spender ".into()],
            remove_tags: vec!["old".into()],
            custom_fields: Some(custom(&[
                ("budget_band", text("high")),
                ("visits", Kind::NumberValue(3.0)),
            ])),
        };
        // c1 named twice is changed once.
        let done = c
            .batch_update_customers(by_names(&[&c3.name, &c1.name, &c2.name, &c1.name], change))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            done.names,
            [c3.name.clone(), c1.name.clone(), c2.name.clone()]
        );

        for (before, tags) in [
            (&c1, vec!["keep", "vip", "big spender"]),
            (&c2, vec!["vip", "big spender"]),
            (&c3, vec!["vip", "big spender"]),
        ] {
            let got = fetch_customer(&mut c, &before.name).await;
            assert_eq!(got.owner_id, "rep-9");
            assert_eq!(got.team_id, "team-b");
            assert_eq!(got.store_id, "store-3");
            assert_eq!(got.lifecycle_stage(), pb::LifecycleStage::Customer);
            assert_eq!(got.grade, "A");
            assert_eq!(got.tags, tags);
            assert_eq!(
                got.custom_fields,
                Some(custom(&[
                    ("budget_band", text("high")),
                    ("visits", Kind::NumberValue(3.0)),
                ]))
            );
            assert_eq!(got.display_name, before.display_name);
            assert_eq!(got.phones, before.phones);
            assert_ne!(got.etag, before.etag);
        }
        assert_eq!(fetch_customer(&mut c, &untouched.name).await, untouched);

        // Each owner change is in the customer's ownership history.
        let history = transfers(&mut c, &c1.name).await;
        assert_eq!(history.len(), 1);
        let t = &history[0];
        assert_eq!(
            (t.from_owner_id.as_str(), t.to_owner_id.as_str()),
            ("rep-1", "rep-9")
        );
        assert_eq!(
            (t.from_team_id.as_str(), t.to_team_id.as_str()),
            ("team-a", "team-b")
        );
        assert_eq!(t.actor, "admin-1");
        assert!(!t.reason.is_empty());
        let history = transfers(&mut c, &c3.name).await;
        assert_eq!(history.len(), 1);
        assert_eq!(
            (
                history[0].from_owner_id.as_str(),
                history[0].to_owner_id.as_str()
            ),
            ("", "rep-9")
        );
        assert!(transfers(&mut c, &untouched.name).await.is_empty());

        // A change that keeps owner and team records no transfer; a null custom value removes it.
        let change = pb::CustomerChange {
            owner_id: "rep-9".into(),
            custom_fields: Some(custom(&[("visits", Kind::NullValue(0))])),
            ..Default::default()
        };
        c.batch_update_customers(by_names(&[&c1.name], change))
            .await
            .unwrap();
        let got = fetch_customer(&mut c, &c1.name).await;
        assert_eq!(
            got.custom_fields,
            Some(custom(&[("budget_band", text("high"))]))
        );
        assert_eq!(transfers(&mut c, &c1.name).await.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn batch_update_by_filter_changes_only_the_matching_customers() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let north1 = create(
            &mut c,
            owned("北一", "13820000001", "rep-1", "team-a", &["north"]),
        )
        .await;
        let south = create(
            &mut c,
            owned("南一", "13820000002", "rep-1", "team-a", &["south"]),
        )
        .await;
        let north2 = create(
            &mut c,
            owned("北二", "13820000003", "rep-2", "team-a", &["north", "vip"]),
        )
        .await;
        let north_other_owner = create(
            &mut c,
            owned("北三", "13820000004", "rep-3", "team-c", &["north"]),
        )
        .await;
        let gone = create(
            &mut c,
            owned("北四", "13820000005", "rep-1", "team-a", &["north"]),
        )
        .await;
        c.delete_customer(pb::DeleteCustomerRequest {
            name: gone.name.clone(),
            etag: String::new(),
        })
        .await
        .unwrap();

        let change = pb::CustomerChange {
            lifecycle_stage: pb::LifecycleStage::Churned.into(),
            store_id: "store-7".into(),
            add_tags: vec!["winback".into()],
            remove_tags: vec!["vip".into()],
            ..Default::default()
        };
        let done = c
            .batch_update_customers(by_filter("tags:\"north\" AND team_id = \"team-a\"", change))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(done.names, [north1.name.clone(), north2.name.clone()]);
        for (before, tags) in [
            (&north1, vec!["north", "winback"]),
            (&north2, vec!["north", "winback"]),
        ] {
            let got = fetch_customer(&mut c, &before.name).await;
            assert_eq!(got.lifecycle_stage(), pb::LifecycleStage::Churned);
            assert_eq!(got.store_id, "store-7");
            assert_eq!(got.tags, tags);
            assert_eq!(got.owner_id, before.owner_id, "the owner is left alone");
        }
        assert_eq!(fetch_customer(&mut c, &south.name).await, south);
        assert_eq!(
            fetch_customer(&mut c, &north_other_owner.name).await,
            north_other_owner
        );
        let deleted = fetch_customer(&mut c, &gone.name).await;
        assert_eq!(
            deleted.tags,
            ["north"],
            "deleted customers do not match a filter"
        );
        // A store move is a hand-over: it is in the history, with both stores.
        let history = transfers(&mut c, &north1.name).await;
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].from_owner_id, history[0].to_owner_id);
        assert_eq!(history[0].from_store_id, north1.store_id);
        assert_eq!(history[0].to_store_id, "store-7");

        // The filter sees the change just made; a filter matching nothing changes nothing.
        let done = c
            .batch_update_customers(by_filter(
                "lifecycle_stage = \"churned\"",
                add_tags(&["lost"]),
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(done.names, [north1.name.clone(), north2.name.clone()]);
        let done = c
            .batch_update_customers(by_filter("tags:\"nobody\"", add_tags(&["x"])))
            .await
            .unwrap()
            .into_inner();
        assert!(done.names.is_empty());
    })
    .await;
}

#[tokio::test]
async fn batch_update_is_all_or_nothing() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let mut them = stranger(s);
        let a = create(
            &mut c,
            owned("甲", "13830000001", "rep-1", "team-a", &["a"]),
        )
        .await;
        let b = create(
            &mut c,
            owned("乙", "13830000002", "rep-1", "team-a", &["b"]),
        )
        .await;
        let d = create(&mut c, owned("丁", "13830000003", "rep-1", "team-a", &[])).await;
        let deleted = c
            .delete_customer(pb::DeleteCustomerRequest {
                name: d.name.clone(),
                etag: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        let theirs = create(&mut them, person("外人", "13830000009")).await;

        let change = pb::CustomerChange {
            owner_id: "rep-5".into(),
            add_tags: vec!["x".into()],
            ..Default::default()
        };
        let status = assert_code(
            c.batch_update_customers(by_names(&[&a.name, &d.name, &b.name], change.clone()))
                .await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&status), "CUSTOMER_DELETED");
        let status = assert_code(
            c.batch_update_customers(by_names(&[&a.name, &b.name, &theirs.name], change.clone()))
                .await,
            Code::NotFound,
        );
        assert_eq!(reason(&status), "NOT_FOUND");
        assert_code(
            them.batch_update_customers(by_names(&[&theirs.name, &a.name], change.clone()))
                .await,
            Code::NotFound,
        );

        assert_eq!(fetch_customer(&mut c, &a.name).await, a);
        assert_eq!(fetch_customer(&mut c, &b.name).await, b);
        assert_eq!(fetch_customer(&mut c, &d.name).await, deleted);
        assert_eq!(fetch_customer(&mut them, &theirs.name).await, theirs);
        for x in [&a, &b] {
            assert!(transfers(&mut c, &x.name).await.is_empty());
        }
        assert!(list_all_customers(&mut c, "tags:\"x\"").await.is_empty());
    })
    .await;
}

#[tokio::test]
async fn batch_update_names_every_bad_field_in_one_error() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        define_custom_fields(&mut c).await;
        let a = create(
            &mut c,
            owned("甲", "13840000001", "rep-1", "team-a", &["a"]),
        )
        .await;

        let bad = pb::BatchUpdateCustomersRequest {
            names: vec![a.name.clone(), "customers/nope".into()],
            filter: "tags:\"a\"".into(),
            change: Some(pb::CustomerChange {
                owner_id: "o".repeat(129),
                grade: "g".repeat(33),
                add_tags: vec!["  ".into()],
                remove_tags: vec!["t".repeat(65)],
                custom_fields: Some(custom(&[
                    ("budget_band", text("medium")),
                    ("nope", Kind::NumberValue(1.0)),
                ])),
                ..Default::default()
            }),
            request_id: String::new(),
        };
        let status = assert_code(c.batch_update_customers(bad).await, Code::InvalidArgument);
        assert_eq!(
            sorted(bad_fields(&status)),
            sorted(
                [
                    "filter",
                    "names[1]",
                    "change.owner_id",
                    "change.grade",
                    "change.add_tags[0]",
                    "change.remove_tags[0]",
                    "change.custom_fields.budget_band",
                    "change.custom_fields.nope",
                ]
                .map(String::from)
                .to_vec()
            )
        );

        let neither = pb::BatchUpdateCustomersRequest::default();
        let status = assert_code(
            c.batch_update_customers(neither).await,
            Code::InvalidArgument,
        );
        assert_eq!(sorted(bad_fields(&status)), ["change", "names"]);

        let empty_change = by_names(&[&a.name], pb::CustomerChange::default());
        let status = assert_code(
            c.batch_update_customers(empty_change).await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["change"]);

        let bad_filter = by_filter("tags ~~ \"a\"", add_tags(&["b"]));
        let status = assert_code(
            c.batch_update_customers(bad_filter).await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["filter"]);
        let unknown_field = by_filter("shoe_size = \"42\"", add_tags(&["b"]));
        let status = assert_code(
            c.batch_update_customers(unknown_field).await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["filter"]);

        assert_eq!(fetch_customer(&mut c, &a.name).await, a);
    })
    .await;
}

#[tokio::test]
async fn batch_update_retried_with_its_request_id_runs_once() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let a = create(&mut c, owned("甲", "13850000001", "rep-1", "team-a", &[])).await;
        let b = create(&mut c, owned("乙", "13850000002", "rep-1", "team-a", &[])).await;
        let request = pb::BatchUpdateCustomersRequest {
            request_id: "batch-2024-06-01".into(),
            ..by_names(
                &[&a.name, &b.name],
                pb::CustomerChange {
                    owner_id: "rep-3".into(),
                    add_tags: vec!["handed-over".into()],
                    ..Default::default()
                },
            )
        };
        let first = c
            .batch_update_customers(request.clone())
            .await
            .unwrap()
            .into_inner();
        let after_first = fetch_customer(&mut c, &a.name).await;
        let again = c
            .batch_update_customers(request)
            .await
            .unwrap()
            .into_inner();
        assert_eq!(again, first);
        assert_eq!(first.names, [a.name.clone(), b.name.clone()]);
        assert_eq!(fetch_customer(&mut c, &a.name).await, after_first);
        assert_eq!(after_first.owner_id, "rep-3");
        for x in [&a, &b] {
            let history = transfers(&mut c, &x.name).await;
            assert_eq!(history.len(), 1, "one transfer for {}", x.name);
            assert_eq!(history[0].to_owner_id, "rep-3");
        }
    })
    .await;
}

#[tokio::test]
async fn batch_update_is_for_managers_and_needs_a_credential() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let a = create(&mut c, owned("甲", "13860000001", "rep-1", "team-a", &[])).await;
        let request = by_names(&[&a.name], add_tags(&["x"]));
        assert_code(
            anonymous(s, None)
                .batch_update_customers(request.clone())
                .await,
            Code::Unauthenticated,
        );
        assert_code(
            anonymous(s, Some("Bearer not-a-token"))
                .batch_update_customers(request.clone())
                .await,
            Code::Unauthenticated,
        );
        for mut denied in [
            rep(s, "rep-1", "team-a"),
            client(s, "t1", "partner-1", &[Role::Partner]),
            client(s, "t1", "marketer-1", &[Role::Marketer]),
        ] {
            assert_code(
                denied.batch_update_customers(request.clone()).await,
                Code::PermissionDenied,
            );
        }
        assert_eq!(fetch_customer(&mut c, &a.name).await, a);
        let mut manager = client(s, "t1", "manager-1", &[Role::Manager]);
        let done = manager
            .batch_update_customers(request)
            .await
            .unwrap()
            .into_inner();
        assert_eq!(done.names, [a.name.as_str()]);
        assert_eq!(fetch_customer(&mut c, &a.name).await.tags, ["x"]);
    })
    .await;
}

fn with_email(mut c: pb::Customer, address: &str) -> pb::Customer {
    c.emails.push(pb::Email {
        address: address.into(),
        label: String::new(),
    });
    c
}

fn wechat(handle: &str) -> pb::ImHandle {
    pb::ImHandle {
        platform: pb::ImPlatform::Wechat.into(),
        handle: handle.into(),
    }
}

fn batch(rows: Vec<pb::Customer>) -> pb::ImportCustomersRequest {
    pb::ImportCustomersRequest { customers: rows }
}

fn status_of(r: &pb::ImportRowResult) -> pb::ImportRowStatus {
    r.status()
}

/// Streams `messages` one at a time, waiting for each answer before sending the next.
async fn import_in_steps(
    c: &mut Client,
    messages: Vec<pb::ImportCustomersRequest>,
) -> Vec<pb::ImportCustomersResponse> {
    let (tx, rx) = mpsc::channel(1);
    let mut messages = messages.into_iter();
    let first = messages.next().expect("a message");
    tx.send(first).await.expect("send");
    let mut answers = c
        .import_customers(ReceiverStream::new(rx))
        .await
        .expect("start import")
        .into_inner();
    let mut out = vec![answers.message().await.expect("answer").expect("an answer")];
    for m in messages {
        tx.send(m).await.expect("send");
        out.push(answers.message().await.expect("answer").expect("an answer"));
    }
    drop(tx);
    assert!(
        answers.message().await.expect("end").is_none(),
        "one answer per message"
    );
    out
}

#[tokio::test]
async fn import_reports_a_result_per_row_and_keeps_the_valid_rows() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let existing = create(
            &mut c,
            with_email(person("老客户", "13811110000"), "old@example.com"),
        )
        .await;

        let invalid = pb::Customer {
            kind: pb::CustomerKind::Person.into(),
            display_name: String::new(),
            phones: vec![pb::Phone {
                number: "12".into(),
                ..Default::default()
            }],
            emails: vec![pb::Email {
                address: "not-an-email".into(),
                label: String::new(),
            }],
            ..Default::default()
        };
        let no_kind = pb::Customer {
            kind: 0,
            ..with_email(person("无类型", "13822220008"), "@example.com")
        };
        let organization = pb::Customer {
            kind: pb::CustomerKind::Organization.into(),
            ..person("Acme 家具", "13822220003")
        };
        let answers = import_in_steps(
            &mut c,
            vec![
                batch(vec![
                    with_email(person("新客户一", "13822220001"), "one@example.com"),
                    invalid,
                    person("老客户 again", "+86 138 1111 0000"),
                ]),
                batch(vec![
                    person("新客户二", "13822220002"),
                    person("新客户二 copy", "138-2222-0002"),
                    organization,
                ]),
                batch(vec![
                    with_email(person("新客户一 copy", "13822220009"), "ONE@Example.com"),
                    no_kind,
                ]),
            ],
        )
        .await;

        let rows: Vec<Vec<i64>> = answers
            .iter()
            .map(|a| a.results.iter().map(|r| r.row).collect())
            .collect();
        assert_eq!(rows, [vec![0, 1, 2], vec![3, 4, 5], vec![6, 7]]);
        let results: Vec<&pb::ImportRowResult> = answers.iter().flat_map(|a| &a.results).collect();
        let statuses: Vec<pb::ImportRowStatus> = results.iter().map(|r| status_of(r)).collect();
        use pb::ImportRowStatus::{Created, Duplicate, Invalid};
        assert_eq!(
            statuses,
            [
                Created, Invalid, Duplicate, Created, Duplicate, Created, Duplicate, Invalid
            ]
        );
        let violations = |r: &pb::ImportRowResult| -> Vec<String> {
            r.violations.iter().map(|v| v.field.clone()).collect()
        };
        assert_eq!(
            sorted(violations(results[1])),
            ["display_name", "emails[0].address", "phones[0].number"]
        );
        assert!(
            results[1]
                .violations
                .iter()
                .all(|v| !v.description.is_empty())
        );
        assert_eq!(
            sorted(violations(results[7])),
            ["emails[0].address", "kind"]
        );
        assert!(results[1].customer.is_empty());
        for r in [results[0], results[3], results[5]] {
            assert!(r.customer.starts_with("customers/"), "{r:?}");
            assert!(r.violations.is_empty());
        }
        // Duplicates name what they duplicate: a stored customer, or a row imported earlier
        // in the same message or in an earlier one.
        assert_eq!(results[2].customer, existing.name);
        assert_eq!(results[4].customer, results[3].customer);
        assert_eq!(results[6].customer, results[0].customer);

        let one = fetch_customer(&mut c, &results[0].customer).await;
        assert_eq!(one.display_name, "新客户一");
        assert_eq!(one.phones[0].number, "+8613822220001");
        assert_eq!(one.emails[0].address, "one@example.com");
        let two = fetch_customer(&mut c, &results[3].customer).await;
        assert_eq!(two.display_name, "新客户二");
        let org = fetch_customer(&mut c, &results[5].customer).await;
        assert_eq!(org.kind(), pb::CustomerKind::Organization);
        assert_eq!(org.display_name, "Acme 家具");

        let all = list_all_customers(&mut c, "").await;
        let names: Vec<&str> = all.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                existing.name.as_str(),
                results[0].customer.as_str(),
                results[3].customer.as_str(),
                results[5].customer.as_str(),
            ]
        );

        // Imported customers are the tenant's: another tenant neither sees them nor has
        // duplicates of them.
        let mut them = stranger(s);
        assert_code(
            them.get_customer(pb::GetCustomerRequest {
                name: results[0].customer.clone(),
            })
            .await,
            Code::NotFound,
        );
        let theirs = import_in_steps(
            &mut them,
            vec![batch(vec![person("新客户一", "13822220001")])],
        )
        .await;
        assert_eq!(theirs[0].results.len(), 1);
        assert_eq!(status_of(&theirs[0].results[0]), Created);
        assert_ne!(theirs[0].results[0].customer, results[0].customer);
    })
    .await;
}

#[tokio::test]
async fn import_under_the_flag_policy_creates_and_flags_duplicates() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        set_duplicate_policy(&mut c, pb::DuplicatePolicy::Flag).await;
        let mut e1 = person("老客户一", "13811110001");
        e1.im_handles.push(wechat("laokehu1"));
        let e1 = create(&mut c, e1).await;
        let e2 = create(
            &mut c,
            with_email(person("老客户二", "13811110002"), "e2@example.com"),
        )
        .await;

        // Shares its phone and WeChat with e1 and its email with e2; then a plain row; then a
        // copy of that one.
        let mut both = with_email(person("两个都像", "+86 138 1111 0001"), "E2@example.com");
        both.im_handles.push(wechat("LaoKeHu1"));
        let answers = import_in_steps(
            &mut c,
            vec![batch(vec![
                both,
                person("新客户", "13822220001"),
                person("新客户 copy", "138 2222 0001"),
            ])],
        )
        .await;
        let results = &answers[0].results;
        use pb::ImportRowStatus::{Created, CreatedFlagged};
        let statuses: Vec<_> = results.iter().map(status_of).collect();
        assert_eq!(statuses, [CreatedFlagged, Created, CreatedFlagged]);
        assert_eq!(results.iter().map(|r| r.row).collect::<Vec<_>>(), [0, 1, 2]);

        let flagged = fetch_customer(&mut c, &results[0].customer).await;
        assert_eq!(flagged.display_name, "两个都像");
        assert_eq!(
            flagged.possible_duplicates,
            [e1.name.clone(), e2.name.clone()]
        );
        let copy = fetch_customer(&mut c, &results[2].customer).await;
        assert_eq!(copy.display_name, "新客户 copy");
        assert_eq!(copy.possible_duplicates, [results[1].customer.as_str()]);
        assert!(
            fetch_customer(&mut c, &results[1].customer)
                .await
                .possible_duplicates
                .is_empty()
        );
        assert_eq!(list_all_customers(&mut c, "").await.len(), 5);
    })
    .await;
}

#[tokio::test]
async fn import_is_for_managers_and_needs_a_credential() {
    each_backend(&services(), async |s| {
        let rows = || futures::stream::iter(vec![batch(vec![person("新客户", "13822220001")])]);
        assert_code(
            anonymous(s, None).import_customers(rows()).await,
            Code::Unauthenticated,
        );
        for mut denied in [
            rep(s, "rep-1", "team-a"),
            client(s, "t1", "partner-1", &[Role::Partner]),
        ] {
            assert_code(
                denied.import_customers(rows()).await,
                Code::PermissionDenied,
            );
        }
        assert!(list_all_customers(&mut admin(s), "").await.is_empty());
    })
    .await;
}

async fn export(c: &mut Client, filter: &str) -> Result<Vec<pb::Customer>, tonic::Status> {
    let mut stream = c
        .export_customers(pb::ExportCustomersRequest {
            filter: filter.into(),
        })
        .await?
        .into_inner();
    let mut out = Vec::new();
    while let Some(batch) = stream.message().await? {
        assert!(!batch.customers.is_empty(), "no empty batches");
        out.extend(batch.customers);
    }
    Ok(out)
}

#[tokio::test]
async fn export_streams_every_customer_once_in_creation_order() {
    each_backend(&services(), async |s| {
        const N: usize = 1200;
        let mut c = admin(s);
        let first = create(&mut c, person("最早的客户", "13700000000")).await;
        let rows: Vec<pb::Customer> = (0..N)
            .map(|i| pb::Customer {
                tags: vec![if i % 2 == 0 { "even" } else { "odd" }.into()],
                ..person(&format!("导出客户 {i:04}"), &format!("+86139{i:08}"))
            })
            .collect();
        let answers = import_in_steps(&mut c, vec![batch(rows)]).await;
        let imported: Vec<String> = answers[0]
            .results
            .iter()
            .map(|r| r.customer.clone())
            .collect();
        assert_eq!(imported.len(), N);
        assert!(
            answers[0]
                .results
                .iter()
                .all(|r| r.status() == pb::ImportRowStatus::Created)
        );
        let last = create(&mut c, person("最晚的客户", "13700000001")).await;
        // A deleted customer is not exported.
        c.delete_customer(pb::DeleteCustomerRequest {
            name: imported[7].clone(),
            etag: String::new(),
        })
        .await
        .unwrap();

        let all = export(&mut c, "").await.unwrap();
        let names: Vec<&str> = all.iter().map(|c| c.name.as_str()).collect();
        let mut expected: Vec<&str> = vec![first.name.as_str()];
        expected.extend(
            imported
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != 7)
                .map(|(_, n)| n.as_str()),
        );
        expected.push(last.name.as_str());
        assert_eq!(names.len(), N + 1);
        assert_eq!(names, expected);
        assert_eq!(all[1].display_name, "导出客户 0000");
        assert_eq!(all[1].phones[0].number, "+8613900000000");
        assert_eq!(all[N - 1].display_name, format!("导出客户 {:04}", N - 1));

        let evens = export(&mut c, "tags:\"even\"").await.unwrap();
        let names: Vec<&str> = evens.iter().map(|c| c.name.as_str()).collect();
        let expected: Vec<&str> = imported.iter().step_by(2).map(String::as_str).collect();
        assert_eq!(names, expected);

        // Another tenant exports nothing of ours; bad filters and reps are refused.
        assert!(export(&mut stranger(s), "").await.unwrap().is_empty());
        let status = export(&mut c, "tags ~~ \"even\"").await.unwrap_err();
        assert_eq!(bad_fields(&status), ["filter"]);
        let status = export(&mut rep(s, "rep-1", "team-a"), "")
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
        let status = export(&mut anonymous(s, None), "").await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    })
    .await;
}

#[tokio::test]
async fn import_numbers_rows_across_empty_messages_and_skips_only_bad_rows() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        // An invalid row does not claim its phone: the next row with it is created.
        let invalid = with_email(person("坏邮箱", "13833330001"), "bad@");
        let answers = import_in_steps(
            &mut c,
            vec![
                batch(Vec::new()),
                batch(vec![invalid, person("好客户", "+86 138 3333 0001")]),
                batch(Vec::new()),
                batch(vec![person("又一个", "13833330002")]),
            ],
        )
        .await;
        assert_eq!(answers.len(), 4);
        assert!(answers[0].results.is_empty());
        assert!(answers[2].results.is_empty());
        let rows: Vec<(i64, pb::ImportRowStatus)> = answers
            .iter()
            .flat_map(|a| &a.results)
            .map(|r| (r.row, r.status()))
            .collect();
        assert_eq!(
            rows,
            [
                (0, pb::ImportRowStatus::Invalid),
                (1, pb::ImportRowStatus::Created),
                (2, pb::ImportRowStatus::Created),
            ]
        );
        let good = fetch_customer(&mut c, &answers[1].results[1].customer).await;
        assert_eq!(good.display_name, "好客户");
        assert_eq!(good.phones[0].number, "+8613833330001");
        assert_eq!(list_all_customers(&mut c, "").await.len(), 2);
    })
    .await;
}

#[tokio::test]
async fn concurrent_retries_of_one_batch_update_are_answered_alike_and_run_once() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let a = create(&mut c, owned("甲", "13870000001", "rep-1", "team-a", &[])).await;
        let b = create(&mut c, owned("乙", "13870000002", "rep-1", "team-a", &[])).await;
        let calls = (0..4).map(|_| {
            let mut c = admin(s);
            let request = pb::BatchUpdateCustomersRequest {
                request_id: "batch-concurrent".into(),
                ..by_names(
                    &[&a.name, &b.name],
                    pb::CustomerChange {
                        owner_id: "rep-3".into(),
                        ..Default::default()
                    },
                )
            };
            async move {
                c.batch_update_customers(request)
                    .await
                    .map(|r| r.into_inner())
            }
        });
        answered_alike(calls).await;
        for x in [&a, &b] {
            assert_eq!(transfers(&mut c, &x.name).await.len(), 1);
            assert_eq!(fetch_customer(&mut c, &x.name).await.owner_id, "rep-3");
        }
    })
    .await;
}

/// Imports each of `messages` over a stream of its own, all at once, with CreateCustomer calls for
/// `created` beside them; answers each stream's results.
async fn import_concurrently(
    s: &TestServer,
    messages: Vec<Vec<pb::Customer>>,
    created: Vec<pb::Customer>,
) -> Vec<pb::ImportRowResult> {
    let imports = messages.into_iter().map(|rows| {
        let mut c = admin(s);
        async move { import_in_steps(&mut c, vec![batch(rows)]).await }
    });
    let creates = created.into_iter().map(|customer| {
        let mut c = admin(s);
        async move { c.create_customer(create_request(customer)).await }
    });
    let (imported, _) = futures::future::join(
        futures::future::join_all(imports),
        futures::future::join_all(creates),
    )
    .await;
    imported
        .into_iter()
        .flat_map(|answers| answers.into_iter().flat_map(|a| a.results))
        .collect()
}

/// A customer per phone 1395550iiii for i in `range`, named after `tag`.
fn phone_rows(range: std::ops::Range<usize>, tag: &str) -> Vec<pb::Customer> {
    range
        .map(|i| person(&format!("{tag} {i}"), &format!("1395550{i:04}")))
        .collect()
}

#[tokio::test]
async fn concurrent_imports_of_one_contact_create_it_once() {
    each_backend(&services(), async |s| {
        // Six streams import the same 120 phones in different orders while single creates take
        // some of them: every phone ends up with exactly one customer.
        let messages: Vec<Vec<pb::Customer>> = (0..6)
            .map(|k| {
                let mut rows = phone_rows(0..120, &format!("导入{k}"));
                rows.rotate_left(k * 20);
                rows
            })
            .collect();
        let results = import_concurrently(s, messages, phone_rows(100..106, "单建")).await;
        assert_eq!(results.len(), 720);
        let mut c = admin(s);
        let all = list_all_customers(&mut c, "").await;
        assert_eq!(all.len(), 120, "one customer per phone");
        for i in 0..120 {
            let phone = format!("+861395550{i:04}");
            let holders = list_all_customers(&mut c, &format!("phone = \"{phone}\"")).await;
            assert_eq!(holders.len(), 1, "{phone}");
        }
        let by_name: std::collections::HashSet<&str> =
            all.iter().map(|c| c.name.as_str()).collect();
        let created = results
            .iter()
            .filter(|r| status_of(r) == pb::ImportRowStatus::Created)
            .count();
        assert!(created <= 120, "{created} created");
        for r in &results {
            assert!(
                matches!(
                    status_of(r),
                    pb::ImportRowStatus::Created | pb::ImportRowStatus::Duplicate
                ),
                "{r:?}"
            );
            assert!(by_name.contains(r.customer.as_str()), "{r:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn concurrent_imports_under_the_flag_policy_flag_every_pair_of_copies() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        set_duplicate_policy(&mut c, pb::DuplicatePolicy::Flag).await;
        let messages = (0..4)
            .map(|k| phone_rows(0..30, &format!("导入{k}")))
            .collect();
        let results = import_concurrently(s, messages, phone_rows(0..4, "单建")).await;
        assert_eq!(results.len(), 120);
        let all = list_all_customers(&mut c, "").await;
        assert_eq!(all.len(), 124);
        // Of two customers sharing a phone, the later one names the earlier: none missed it.
        for i in 0..30 {
            let phone = format!("+861395550{i:04}");
            let copies = list_all_customers(&mut c, &format!("phone = \"{phone}\"")).await;
            for (k, a) in copies.iter().enumerate() {
                for b in &copies[k + 1..] {
                    let flagged = a.possible_duplicates.contains(&b.name)
                        || b.possible_duplicates.contains(&a.name);
                    assert!(flagged, "{} and {} share {phone}", a.name, b.name);
                }
            }
        }
    })
    .await;
}
