//! Authentication, roles and row visibility across the whole service, on every backend.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::common::*;
use rapport_proto::customers as pb;
use rapport_runtime::auth::{Claims, JwtKeys, Role};
use rapport_testkit::{Bearer, TestServer, each_backend};
use tonic::{Code, Status};

/// Every RPC of the service, by the name of its client method.
const ALL_RPCS: [&str; 21] = [
    "get_customer_settings",
    "get_customer",
    "list_customers",
    "find_duplicates",
    "check_contact_permission",
    "list_activities",
    "create_activity",
    "list_relationships",
    "create_relationship",
    "delete_relationship",
    "list_ownership_transfers",
    "create_customer",
    "update_customer",
    "export_customers",
    "import_customers",
    "batch_update_customers",
    "transfer_customer_ownership",
    "merge_customers",
    "delete_customer",
    "undelete_customer",
    "update_customer_settings",
];

/// RPCs that need the admin, manager or service account role.
const MANAGER_RPCS: [&str; 8] = [
    "export_customers",
    "import_customers",
    "batch_update_customers",
    "transfer_customer_ownership",
    "merge_customers",
    "delete_customer",
    "undelete_customer",
    "update_customer_settings",
];

/// RPCs that change customers, relationships or the timeline.
const WRITE_RPCS: [&str; 5] = [
    "create_activity",
    "create_relationship",
    "delete_relationship",
    "create_customer",
    "update_customer",
];

fn claims(roles: &[&str], exp: u64) -> Claims {
    Claims {
        sub: "admin-1".into(),
        tenant: "t1".into(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        team: None,
        exp,
        iat: unix_now().saturating_sub(7200),
        nbf: None,
        iss: None,
    }
}

fn with_token(s: &TestServer, token: &str) -> Client {
    client_with(s, Bearer::new(token))
}

fn a_person(name: &str, phone: &str, owner: &str, team: &str, shared: &[&str]) -> pb::Customer {
    let mut p = person(name, phone);
    p.owner_id = owner.into();
    p.team_id = team.into();
    p.shared_team_ids = shared.iter().map(|t| (*t).to_owned()).collect();
    p
}

/// What one sweep over every RPC acts on: customers of rep-1 in team north.
struct Targets {
    /// Read, updated, linked, transferred; survives the merge.
    a: pb::Customer,
    /// The other end of relationships.
    b: pb::Customer,
    /// Merged into `a`.
    merged: pb::Customer,
    /// Deleted and undeleted.
    doomed: pb::Customer,
    /// A relationship between `a` and `b`, deleted by the sweep.
    relationship: String,
    /// Makes phones of this sweep unique.
    seed: u32,
}

async fn targets(s: &TestServer, seed: u32) -> Targets {
    let mut c = admin(s);
    let phone = |n: u32| format!("1380{seed:03}{n:04}");
    let a = create(&mut c, a_person("张伟", &phone(1), "rep-1", "north", &[])).await;
    let b = create(&mut c, a_person("李娜", &phone(2), "rep-1", "north", &[])).await;
    let merged = create(
        &mut c,
        a_person("张伟(旧)", &phone(3), "rep-1", "north", &[]),
    )
    .await;
    let doomed = create(&mut c, a_person("王芳", &phone(4), "rep-1", "north", &[])).await;
    let relationship = c
        .create_relationship(pb::CreateRelationshipRequest {
            parent: a.name.clone(),
            relationship: Some(pb::Relationship {
                related_customer: b.name.clone(),
                r#type: pb::RelationshipType::HouseholdMember.into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("link a and b")
        .into_inner()
        .name;
    Targets {
        a,
        b,
        merged,
        doomed,
        relationship,
        seed,
    }
}

fn ok<T>(r: Result<tonic::Response<T>, Status>) -> Result<(), Status> {
    r.map(|_| ())
}

/// Calls every RPC once as `c`, with requests that succeed for an admin, in an order in which
/// they all can. Streams are read to the end, so an error sent on them counts.
async fn call_every_rpc(c: &mut Client, t: &Targets) -> Vec<(&'static str, Result<(), Status>)> {
    let mut out = Vec::new();
    let phone = |n: u32| format!("1390{:03}{n:04}", t.seed);
    out.push((
        "get_customer_settings",
        ok(c.get_customer_settings(pb::GetCustomerSettingsRequest {
            name: "settings".into(),
        })
        .await),
    ));
    out.push((
        "get_customer",
        ok(c.get_customer(pb::GetCustomerRequest {
            name: t.a.name.clone(),
        })
        .await),
    ));
    out.push((
        "list_customers",
        ok(c.list_customers(pb::ListCustomersRequest::default()).await),
    ));
    out.push((
        "find_duplicates",
        ok(c.find_duplicates(pb::FindDuplicatesRequest {
            name: t.a.name.clone(),
            contacts: None,
        })
        .await),
    ));
    out.push((
        "check_contact_permission",
        ok(
            c.check_contact_permission(pb::CheckContactPermissionRequest {
                name: t.a.name.clone(),
                channel: pb::Channel::Sms.into(),
                send_time: None,
                transactional: true,
            })
            .await,
        ),
    ));
    out.push((
        "list_activities",
        ok(c.list_activities(pb::ListActivitiesRequest {
            parent: t.a.name.clone(),
            ..Default::default()
        })
        .await),
    ));
    out.push((
        "create_activity",
        ok(c.create_activity(pb::CreateActivityRequest {
            parent: t.a.name.clone(),
            activity: Some(pb::Activity {
                kind: pb::ActivityKind::Note.into(),
                content: "called about the sofa".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await),
    ));
    out.push((
        "list_relationships",
        ok(c.list_relationships(pb::ListRelationshipsRequest {
            parent: t.a.name.clone(),
            r#type: 0,
        })
        .await),
    ));
    out.push((
        "create_relationship",
        ok(c.create_relationship(pb::CreateRelationshipRequest {
            parent: t.a.name.clone(),
            relationship: Some(pb::Relationship {
                related_customer: t.b.name.clone(),
                r#type: pb::RelationshipType::Spouse.into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await),
    ));
    out.push((
        "delete_relationship",
        ok(c.delete_relationship(pb::DeleteRelationshipRequest {
            name: t.relationship.clone(),
        })
        .await),
    ));
    out.push((
        "list_ownership_transfers",
        ok(
            c.list_ownership_transfers(pb::ListOwnershipTransfersRequest {
                parent: t.a.name.clone(),
                ..Default::default()
            })
            .await,
        ),
    ));
    out.push((
        "create_customer",
        ok(c.create_customer(pb::CreateCustomerRequest {
            customer: Some(a_person("新客户", &phone(1), "", "", &[])),
            request_id: String::new(),
        })
        .await),
    ));
    let mut patch = t.a.clone();
    patch.etag = String::new();
    patch.grade = "A".into();
    out.push((
        "update_customer",
        ok(c.update_customer(pb::UpdateCustomerRequest {
            customer: Some(patch),
            update_mask: mask(&["grade"]),
        })
        .await),
    ));
    let export = match c
        .export_customers(pb::ExportCustomersRequest::default())
        .await
    {
        Err(status) => Err(status),
        Ok(r) => {
            let mut stream = r.into_inner();
            loop {
                match stream.message().await {
                    Ok(Some(_)) => {}
                    Ok(None) => break Ok(()),
                    Err(status) => break Err(status),
                }
            }
        }
    };
    out.push(("export_customers", export));
    let rows = vec![pb::ImportCustomersRequest {
        customers: vec![a_person("导入", &phone(2), "rep-1", "north", &[])],
    }];
    let import = match c.import_customers(tokio_stream::iter(rows)).await {
        Err(status) => Err(status),
        Ok(r) => {
            let mut stream = r.into_inner();
            loop {
                match stream.message().await {
                    Ok(Some(_)) => {}
                    Ok(None) => break Ok(()),
                    Err(status) => break Err(status),
                }
            }
        }
    };
    out.push(("import_customers", import));
    out.push((
        "batch_update_customers",
        ok(c.batch_update_customers(pb::BatchUpdateCustomersRequest {
            names: vec![t.a.name.clone()],
            change: Some(pb::CustomerChange {
                add_tags: vec!["batch".into()],
                ..Default::default()
            }),
            ..Default::default()
        })
        .await),
    ));
    out.push((
        "transfer_customer_ownership",
        ok(
            c.transfer_customer_ownership(pb::TransferCustomerOwnershipRequest {
                name: t.b.name.clone(),
                new_owner_id: "rep-2".into(),
                reason: "rebalancing".into(),
                ..Default::default()
            })
            .await,
        ),
    ));
    out.push((
        "merge_customers",
        ok(c.merge_customers(pb::MergeCustomersRequest {
            survivor: t.a.name.clone(),
            merged: vec![t.merged.name.clone()],
            request_id: String::new(),
        })
        .await),
    ));
    out.push((
        "delete_customer",
        ok(c.delete_customer(pb::DeleteCustomerRequest {
            name: t.doomed.name.clone(),
            etag: String::new(),
        })
        .await),
    ));
    out.push((
        "undelete_customer",
        ok(c.undelete_customer(pb::UndeleteCustomerRequest {
            name: t.doomed.name.clone(),
        })
        .await),
    ));
    out.push((
        "update_customer_settings",
        ok(
            c.update_customer_settings(pb::UpdateCustomerSettingsRequest {
                settings: Some(pb::CustomerSettings {
                    default_region: "CN".into(),
                    ..Default::default()
                }),
                update_mask: mask(&["default_region"]),
            })
            .await,
        ),
    ));
    assert_eq!(
        out.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        ALL_RPCS,
        "the sweep calls every RPC"
    );
    out
}

/// Asserts every RPC failed with `code`.
fn assert_all(results: &[(&str, Result<(), Status>)], code: Code, who: &str) {
    for (rpc, result) in results {
        match result {
            Ok(()) => panic!("{who}: {rpc} succeeded, expected {code:?}"),
            Err(status) => {
                assert_eq!(status.code(), code, "{who}: {rpc}: {status:?}");
                let expected_reason = match code {
                    Code::Unauthenticated => "UNAUTHENTICATED",
                    Code::PermissionDenied => "PERMISSION_DENIED",
                    _ => unreachable!(),
                };
                assert_eq!(reason(status), expected_reason, "{who}: {rpc}");
            }
        }
    }
}

#[tokio::test]
async fn every_rpc_refuses_a_missing_or_bad_credential() {
    each_backend(&services(), async |s| {
        let t = targets(s, 1).await;
        let hour_ago = unix_now() - 3600;
        let in_an_hour = unix_now() + 3600;

        // A current token signed by the server's keys is accepted: only what differs below fails.
        let valid = s.sign(&claims(&["admin"], in_an_hour));
        with_token(s, &valid)
            .get_customer_settings(pb::GetCustomerSettingsRequest {
                name: "settings".into(),
            })
            .await
            .expect("a token signed with the server's keys is accepted");

        let other_secret = JwtKeys::hs256(b"other")
            .issue(
                "t1",
                "admin-1",
                &[Role::Admin],
                None,
                Duration::from_secs(3600),
            )
            .expect("issue");
        let expired = s.sign(&claims(&["admin"], hour_ago));
        let unknown_role = s.sign(&claims(&["root"], in_an_hour));
        let no_tenant = s.sign(&Claims {
            tenant: String::new(),
            ..claims(&["admin"], in_an_hour)
        });
        let no_subject = s.sign(&Claims {
            sub: String::new(),
            ..claims(&["admin"], in_an_hour)
        });
        let not_yet = s.sign(&Claims {
            nbf: Some(in_an_hour),
            ..claims(&["admin"], in_an_hour + 3600)
        });
        let mut tampered = valid.clone();
        // Flip one character of the signature.
        let last = tampered.pop().expect("non-empty token");
        tampered.push(if last == 'A' { 'B' } else { 'A' });

        let cases: Vec<(&str, Client)> = vec![
            ("no credential", anonymous(s, None)),
            ("scheme only", anonymous(s, Some("Bearer"))),
            ("basic auth", anonymous(s, Some("Basic YWRtaW46YWRtaW4="))),
            ("not a jwt", anonymous(s, Some("Bearer not-a-jwt"))),
            ("token without scheme", anonymous(s, Some(&valid))),
            ("another secret", with_token(s, &other_secret)),
            ("expired", with_token(s, &expired)),
            ("not valid yet", with_token(s, &not_yet)),
            ("unknown role", with_token(s, &unknown_role)),
            ("no tenant", with_token(s, &no_tenant)),
            ("no subject", with_token(s, &no_subject)),
            ("tampered signature", with_token(s, &tampered)),
        ];
        for (what, mut c) in cases {
            let results = call_every_rpc(&mut c, &t).await;
            assert_all(&results, Code::Unauthenticated, what);
        }

        // The refusal says why.
        let status = assert_code(
            with_token(s, &expired)
                .get_customer(pb::GetCustomerRequest {
                    name: t.a.name.clone(),
                })
                .await,
            Code::Unauthenticated,
        );
        assert!(status.message().contains("expired"), "{status:?}");
        let status = assert_code(
            with_token(s, &other_secret)
                .get_customer(pb::GetCustomerRequest {
                    name: t.a.name.clone(),
                })
                .await,
            Code::Unauthenticated,
        );
        assert!(status.message().contains("signature"), "{status:?}");

        // Nothing was changed by any of them.
        let mut c = admin(s);
        assert_eq!(fetch_customer(&mut c, &t.a.name).await, t.a);
        assert_eq!(fetch_customer(&mut c, &t.doomed.name).await, t.doomed);
        assert_eq!(list_all_customers(&mut c, "").await.len(), 4);
    })
    .await;
}

#[tokio::test]
async fn each_role_may_call_exactly_its_rpcs() {
    each_backend(&services(), async |s| {
        let roles: Vec<(&str, Client, Vec<&str>)> = vec![
            ("admin", admin(s), vec![]),
            ("manager", manager(s), vec!["update_customer_settings"]),
            (
                "service account",
                client(s, "t1", "svc-1", &[Role::ServiceAccount]),
                vec!["update_customer_settings"],
            ),
            ("rep", rep(s, "rep-1", "north"), MANAGER_RPCS.to_vec()),
            (
                "service agent",
                client(s, "t1", "agent-1", &[Role::ServiceAgent]),
                MANAGER_RPCS.to_vec(),
            ),
            (
                "marketer",
                client(s, "t1", "mk-1", &[Role::Marketer]),
                MANAGER_RPCS.iter().chain(&WRITE_RPCS).copied().collect(),
            ),
            (
                "partner",
                client(s, "t1", "partner-1", &[Role::Partner]),
                ALL_RPCS.to_vec(),
            ),
            ("no role", client(s, "t1", "nobody", &[]), ALL_RPCS.to_vec()),
        ];
        for (seed, (who, mut c, denied)) in roles.into_iter().enumerate() {
            let t = targets(s, seed as u32 + 1).await;
            let results = call_every_rpc(&mut c, &t).await;
            for (rpc, result) in &results {
                if denied.contains(rpc) {
                    let status = result
                        .as_ref()
                        .expect_err(&format!("{who} may not call {rpc}"));
                    assert_eq!(
                        status.code(),
                        Code::PermissionDenied,
                        "{who}: {rpc}: {status:?}"
                    );
                    assert_eq!(reason(status), "PERMISSION_DENIED");
                } else if let Err(status) = result {
                    panic!("{who} may call {rpc}, got {status:?}");
                }
            }
            // What was denied left no trace.
            let mut a = admin(s);
            let doomed = fetch_customer(&mut a, &t.doomed.name).await;
            let merged = fetch_customer(&mut a, &t.merged.name).await;
            let b = fetch_customer(&mut a, &t.b.name).await;
            if denied.contains(&"delete_customer") {
                assert_eq!(doomed, t.doomed, "{who}");
            }
            if denied.contains(&"merge_customers") {
                assert_eq!(merged, t.merged, "{who}");
            } else {
                assert_eq!(merged.merged_into, t.a.name, "{who}");
            }
            if denied.contains(&"transfer_customer_ownership") {
                assert_eq!(b.owner_id, "rep-1", "{who}");
            } else {
                assert_eq!(b.owner_id, "rep-2", "{who}");
            }
            let tagged = list_all_customers(&mut a, "tags:batch").await;
            let batch_tagged_a = tagged.iter().any(|c| c.name == t.a.name);
            assert_eq!(
                batch_tagged_a,
                !denied.contains(&"batch_update_customers"),
                "{who}"
            );
            let a_now = fetch_customer(&mut a, &t.a.name).await;
            assert_eq!(
                a_now.grade == "A",
                !denied.contains(&"update_customer"),
                "{who}"
            );
        }
        // Only the admin's settings change went through.
        let settings = admin(s)
            .get_customer_settings(pb::GetCustomerSettingsRequest {
                name: "settings".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(settings.update_time.is_some());
    })
    .await;
}

fn names_of(customers: &[pb::Customer]) -> BTreeSet<String> {
    customers.iter().map(|c| c.name.clone()).collect()
}

#[tokio::test]
async fn a_rep_sees_its_own_its_teams_and_shared_customers_only() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let own = create(&mut c, a_person("自己的", "13800000001", "rep-a", "", &[])).await;
        let team = create(
            &mut c,
            a_person("团队的", "13800000002", "rep-b", "north", &[]),
        )
        .await;
        let shared = create(
            &mut c,
            a_person(
                "共享的",
                "13800000003",
                "rep-c",
                "south",
                &["east", "north"],
            ),
        )
        .await;
        let other = create(
            &mut c,
            a_person("别人的", "13800000004", "rep-c", "south", &[]),
        )
        .await;
        let elsewhere = create(
            &mut c,
            a_person("别处的", "13800000005", "rep-d", "east", &["west"]),
        )
        .await;
        let unowned = create(&mut c, a_person("无主的", "13800000006", "", "", &[])).await;

        let mut ra = rep(s, "rep-a", "north");
        let visible = BTreeSet::from([own.name.clone(), team.name.clone(), shared.name.clone()]);
        for name in &visible {
            fetch_customer(&mut ra, name).await;
        }
        for hidden in [&other, &elsewhere, &unowned] {
            let status = assert_code(
                ra.get_customer(pb::GetCustomerRequest {
                    name: hidden.name.clone(),
                })
                .await,
                Code::NotFound,
            );
            assert_eq!(reason(&status), "NOT_FOUND");
            let mut patch = hidden.clone();
            patch.grade = "A".into();
            assert_code(
                ra.update_customer(pb::UpdateCustomerRequest {
                    customer: Some(patch),
                    update_mask: mask(&["grade"]),
                })
                .await,
                Code::NotFound,
            );
            assert_code(
                ra.check_contact_permission(pb::CheckContactPermissionRequest {
                    name: hidden.name.clone(),
                    channel: pb::Channel::Sms.into(),
                    send_time: None,
                    transactional: true,
                })
                .await,
                Code::NotFound,
            );
            assert_code(
                ra.list_activities(pb::ListActivitiesRequest {
                    parent: hidden.name.clone(),
                    ..Default::default()
                })
                .await,
                Code::NotFound,
            );
        }
        assert_eq!(fetch_customer(&mut c, &other.name).await, other);

        assert_eq!(names_of(&list_all_customers(&mut ra, "").await), visible);
        // Page by page, the scope holds.
        let (paged, pages) = list_pages(
            &mut ra,
            pb::ListCustomersRequest {
                page_size: 1,
                ..Default::default()
            },
        )
        .await;
        assert_eq!(names_of(&paged), visible);
        assert_eq!(pages, 3);
        // Filters narrow the scope, never widen it.
        assert_eq!(
            names_of(&list_all_customers(&mut ra, "owner_id = rep-c").await),
            BTreeSet::from([shared.name.clone()])
        );
        assert!(
            list_all_customers(&mut ra, "team_id = east")
                .await
                .is_empty()
        );
        let (with_deleted, _) = list_pages(
            &mut ra,
            pb::ListCustomersRequest {
                show_deleted: true,
                ..Default::default()
            },
        )
        .await;
        assert_eq!(names_of(&with_deleted), visible);
        // A shared customer may be edited by the team it is shared with.
        let mut patch = shared.clone();
        patch.grade = "B".into();
        ra.update_customer(pb::UpdateCustomerRequest {
            customer: Some(patch),
            update_mask: mask(&["grade"]),
        })
        .await
        .expect("update a shared customer");

        // A page token of one rep is not another's.
        let first = ra
            .list_customers(pb::ListCustomersRequest {
                page_size: 1,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let status = assert_code(
            rep(s, "rep-b", "north")
                .list_customers(pb::ListCustomersRequest {
                    page_size: 1,
                    page_token: first.next_page_token,
                    ..Default::default()
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["page_token"]);

        // A rep of the south team sees that team's and what is shared with it.
        let mut rs = rep(s, "rep-s", "south");
        assert_eq!(
            names_of(&list_all_customers(&mut rs, "").await),
            BTreeSet::from([shared.name.clone(), other.name.clone()])
        );
        // A rep without a team sees only what it owns.
        let mut loner = client(s, "t1", "rep-a", &[Role::Rep]);
        assert_eq!(
            names_of(&list_all_customers(&mut loner, "").await),
            BTreeSet::from([own.name.clone()])
        );
        assert_code(
            loner
                .get_customer(pb::GetCustomerRequest {
                    name: team.name.clone(),
                })
                .await,
            Code::NotFound,
        );

        // Handing a customer over makes it visible to its new owner.
        c.transfer_customer_ownership(pb::TransferCustomerOwnershipRequest {
            name: other.name.clone(),
            new_owner_id: "rep-a".into(),
            reason: "rep-c left".into(),
            ..Default::default()
        })
        .await
        .expect("transfer");
        fetch_customer(&mut ra, &other.name).await;

        // Managers and admins see the whole tenant.
        let everyone = names_of(&[own, team, shared, other, elsewhere, unowned]);
        for mut all_seeing in [manager(s), admin(s)] {
            assert_eq!(
                names_of(&list_all_customers(&mut all_seeing, "").await),
                everyone
            );
            for name in &everyone {
                fetch_customer(&mut all_seeing, name).await;
            }
        }
    })
    .await;
}

#[tokio::test]
async fn tenants_never_see_each_other() {
    each_backend(&services(), async |s| {
        let mut one = admin(s);
        let mut two = stranger(s);
        let mine = create(
            &mut one,
            a_person("张伟", "13800000001", "rep-1", "north", &[]),
        )
        .await;
        let also_mine = create(&mut one, person("李娜", "13800000002")).await;
        // The same phone in another tenant is no duplicate there.
        let theirs = create(
            &mut two,
            a_person("张伟", "13800000001", "rep-1", "north", &[]),
        )
        .await;

        assert_eq!(
            names_of(&list_all_customers(&mut one, "").await),
            BTreeSet::from([mine.name.clone(), also_mine.name.clone()])
        );
        assert_eq!(
            names_of(&list_all_customers(&mut two, "").await),
            BTreeSet::from([theirs.name.clone()])
        );
        assert_eq!(
            names_of(&list_all_customers(&mut one, "phone = \"+8613800000001\"").await),
            BTreeSet::from([mine.name.clone()])
        );
        // Their manager and their rep of the same team and subject see none of ours.
        let mut their_manager = client(s, "t2", "manager-1", &[Role::Manager]);
        assert_eq!(
            names_of(&list_all_customers(&mut their_manager, "").await),
            BTreeSet::from([theirs.name.clone()])
        );
        let mut their_rep = client_with(s, s.auth_in_team("t2", "rep-1", &[Role::Rep], "north"));
        assert_eq!(
            names_of(&list_all_customers(&mut their_rep, "").await),
            BTreeSet::from([theirs.name.clone()])
        );
        for name in [&mine.name, &also_mine.name] {
            assert_code(
                two.get_customer(pb::GetCustomerRequest { name: name.clone() })
                    .await,
                Code::NotFound,
            );
            assert_code(
                their_rep
                    .get_customer(pb::GetCustomerRequest { name: name.clone() })
                    .await,
                Code::NotFound,
            );
        }
        // Export streams only the caller's tenant.
        let mut exported = BTreeSet::new();
        let mut stream = one
            .export_customers(pb::ExportCustomersRequest::default())
            .await
            .expect("export")
            .into_inner();
        while let Some(batch) = stream.message().await.expect("export batch") {
            exported.extend(names_of(&batch.customers));
        }
        assert_eq!(
            exported,
            BTreeSet::from([mine.name.clone(), also_mine.name.clone()])
        );
        // A batch update by filter touches only the caller's tenant.
        let changed = two
            .batch_update_customers(pb::BatchUpdateCustomersRequest {
                filter: "phone = \"+8613800000001\"".into(),
                change: Some(pb::CustomerChange {
                    grade: "Z".into(),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
            .expect("batch update")
            .into_inner();
        assert_eq!(changed.names, [theirs.name.as_str()]);
        assert_eq!(fetch_customer(&mut one, &mine.name).await.grade, "");
    })
    .await;
}
