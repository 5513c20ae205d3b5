//! TransferCustomerOwnership and ListOwnershipTransfers through the gRPC API, on every backend
//! (CU8): hand-over keeps the full history, and who sees a customer follows its owner.

use crate::common::*;
use rapport_proto::customers as pb;
use rapport_runtime::auth::Role;
use rapport_testkit::each_backend;
use tonic::Code;

fn owned_by(name: &str, phone: &str, owner: &str, team: &str) -> pb::Customer {
    pb::Customer {
        owner_id: owner.into(),
        team_id: team.into(),
        store_id: "store-1".into(),
        ..person(name, phone)
    }
}

fn transfer(
    name: &str,
    owner: &str,
    team: &str,
    reason: &str,
) -> pb::TransferCustomerOwnershipRequest {
    pb::TransferCustomerOwnershipRequest {
        name: name.into(),
        new_owner_id: owner.into(),
        new_team_id: team.into(),
        reason: reason.into(),
        ..Default::default()
    }
}

fn history_page(
    customer: &str,
    page_size: i32,
    page_token: &str,
) -> pb::ListOwnershipTransfersRequest {
    pb::ListOwnershipTransfersRequest {
        parent: customer.into(),
        page_size,
        page_token: page_token.into(),
    }
}

async fn history(c: &mut Client, customer: &str) -> Vec<pb::OwnershipTransfer> {
    let r = c
        .list_ownership_transfers(history_page(customer, 100, ""))
        .await
        .expect("list ownership transfers")
        .into_inner();
    assert!(r.next_page_token.is_empty());
    r.transfers
}

/// (from owner, to owner, from team, to team, reason, actor) of each transfer.
fn summary(ts: &[pb::OwnershipTransfer]) -> Vec<[&str; 6]> {
    ts.iter()
        .map(|t| {
            [
                t.from_owner_id.as_str(),
                t.to_owner_id.as_str(),
                t.from_team_id.as_str(),
                t.to_team_id.as_str(),
                t.reason.as_str(),
                t.actor.as_str(),
            ]
        })
        .collect()
}

#[tokio::test]
async fn transfers_are_kept_newest_first_with_who_when_and_why() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let mut manager = client(s, "t1", "manager-1", &[Role::Manager]);
        let customer = create(&mut c, owned_by("陈静", "13600000001", "rep-1", "team-a")).await;
        assert!(history(&mut c, &customer.name).await.is_empty());

        let mut first_request = transfer(
            &customer.name,
            "rep-2",
            "team-b",
            "  rep-1 left the company ",
        );
        first_request.etag = customer.etag.clone();
        first_request.new_store_id = "store-2".into();
        let moved = c
            .transfer_customer_ownership(first_request)
            .await
            .unwrap()
            .into_inner();
        assert_eq!(moved.owner_id, "rep-2");
        assert_eq!(moved.team_id, "team-b");
        assert_eq!(moved.store_id, "store-2");
        assert_ne!(moved.etag, customer.etag);
        assert_eq!(moved.display_name, customer.display_name);
        assert_eq!(fetch_customer(&mut c, &customer.name).await, moved);

        // Same team, new owner; an empty team keeps the current one.
        let again = manager
            .transfer_customer_ownership(transfer(&customer.name, "rep-3", "", "workload"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (again.owner_id.as_str(), again.team_id.as_str()),
            ("rep-3", "team-b")
        );
        assert_eq!(
            again.store_id, "store-2",
            "an empty store keeps the current one"
        );

        let ts = history(&mut c, &customer.name).await;
        assert_eq!(
            summary(&ts),
            [
                [
                    "rep-2",
                    "rep-3",
                    "team-b",
                    "team-b",
                    "workload",
                    "manager-1"
                ],
                [
                    "rep-1",
                    "rep-2",
                    "team-a",
                    "team-b",
                    "rep-1 left the company",
                    "admin-1"
                ],
            ]
        );
        for t in &ts {
            assert!(
                t.name
                    .starts_with(&format!("{}/ownershipTransfers/", customer.name)),
                "{}",
                t.name
            );
            assert!(t.create_time.is_some());
        }

        // Pages of one, newest first.
        let first = c
            .list_ownership_transfers(history_page(&customer.name, 1, ""))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(first.transfers, ts[..1]);
        assert!(!first.next_page_token.is_empty());
        let second = c
            .list_ownership_transfers(history_page(&customer.name, 1, &first.next_page_token))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(second.transfers, ts[1..]);
        assert!(second.next_page_token.is_empty());

        // A token of another customer's history, and a negative size, are refused.
        let other = create(&mut c, owned_by("李娜", "13600000002", "rep-1", "team-a")).await;
        let status = assert_code(
            c.list_ownership_transfers(history_page(&other.name, -1, &first.next_page_token))
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["page_size", "page_token"]);

        // Nor is a token of the same customer's timeline, or the other way round.
        for content in ["first call", "second call"] {
            c.create_activity(pb::CreateActivityRequest {
                parent: customer.name.clone(),
                activity: Some(pb::Activity {
                    kind: pb::ActivityKind::Call.into(),
                    content: content.into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap();
        }
        let timeline_token = c
            .list_activities(pb::ListActivitiesRequest {
                parent: customer.name.clone(),
                page_size: 1,
                page_token: String::new(),
            })
            .await
            .unwrap()
            .into_inner()
            .next_page_token;
        assert!(!timeline_token.is_empty());
        let status = assert_code(
            c.list_ownership_transfers(history_page(&customer.name, 1, &timeline_token))
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["page_token"]);
        let status = assert_code(
            c.list_activities(pb::ListActivitiesRequest {
                parent: customer.name.clone(),
                page_size: 1,
                page_token: first.next_page_token.clone(),
            })
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["page_token"]);
    })
    .await;
}

#[tokio::test]
async fn after_a_transfer_the_old_owner_no_longer_sees_the_customer_and_the_new_one_does() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let customer = create(&mut c, owned_by("王芳", "13600000011", "rep-1", "team-a")).await;
        let mut old_owner = rep(s, "rep-1", "team-a");
        let mut new_owner = rep(s, "rep-2", "team-b");
        let mut old_teammate = rep(s, "rep-4", "team-a");

        assert_eq!(
            fetch_customer(&mut old_owner, &customer.name).await,
            customer
        );
        assert_eq!(
            fetch_customer(&mut old_teammate, &customer.name).await,
            customer
        );
        assert_code(
            new_owner
                .get_customer(pb::GetCustomerRequest {
                    name: customer.name.clone(),
                })
                .await,
            Code::NotFound,
        );
        assert_eq!(history(&mut old_owner, &customer.name).await.len(), 0);

        c.transfer_customer_ownership(transfer(&customer.name, "rep-2", "team-b", "rep-1 left"))
            .await
            .unwrap();

        for (who, caller) in [
            ("old owner", &mut old_owner),
            ("old teammate", &mut old_teammate),
        ] {
            let status = assert_code(
                caller
                    .get_customer(pb::GetCustomerRequest {
                        name: customer.name.clone(),
                    })
                    .await,
                Code::NotFound,
            );
            assert_eq!(reason(&status), "NOT_FOUND", "{who}");
            assert!(list_all_customers(caller, "").await.is_empty(), "{who}");
            assert_code(
                caller
                    .list_ownership_transfers(history_page(&customer.name, 10, ""))
                    .await,
                Code::NotFound,
            );
        }
        let seen = fetch_customer(&mut new_owner, &customer.name).await;
        assert_eq!(seen.owner_id, "rep-2");
        let listed = list_all_customers(&mut new_owner, "").await;
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].name, customer.name);
        // The new owner reads the whole history, and may keep working on the customer.
        let ts = history(&mut new_owner, &customer.name).await;
        assert_eq!(
            summary(&ts),
            [[
                "rep-1",
                "rep-2",
                "team-a",
                "team-b",
                "rep-1 left",
                "admin-1"
            ]]
        );
        new_owner
            .create_activity(pb::CreateActivityRequest {
                parent: customer.name.clone(),
                activity: Some(pb::Activity {
                    kind: pb::ActivityKind::Call.into(),
                    content: "introduced myself".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_transfer_to_the_current_owner_and_team_or_with_a_stale_etag_changes_nothing() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let customer = create(&mut c, owned_by("周杰", "13600000021", "rep-1", "team-a")).await;

        let same_store = pb::TransferCustomerOwnershipRequest {
            new_store_id: "store-1".into(),
            ..transfer(&customer.name, "rep-1", "team-a", "again")
        };
        for request in [
            transfer(&customer.name, "rep-1", "team-a", "again"),
            transfer(&customer.name, "rep-1", "", "again"),
            same_store,
        ] {
            let status = assert_code(
                c.transfer_customer_ownership(request).await,
                Code::FailedPrecondition,
            );
            assert_eq!(reason(&status), "OWNER_UNCHANGED");
        }

        // Someone edits the customer: the etag read before is stale.
        let edited = c
            .update_customer(pb::UpdateCustomerRequest {
                customer: Some(pb::Customer {
                    name: customer.name.clone(),
                    grade: "A".into(),
                    ..Default::default()
                }),
                update_mask: mask(&["grade"]),
            })
            .await
            .unwrap()
            .into_inner();
        let mut stale = transfer(&customer.name, "rep-2", "team-b", "rep-1 left");
        stale.etag = customer.etag.clone();
        let status = assert_code(c.transfer_customer_ownership(stale).await, Code::Aborted);
        assert_eq!(reason(&status), "ETAG_MISMATCH");

        assert_eq!(fetch_customer(&mut c, &customer.name).await, edited);
        assert!(history(&mut c, &customer.name).await.is_empty());

        let mut fresh = transfer(&customer.name, "rep-2", "team-b", "rep-1 left");
        fresh.etag = edited.etag.clone();
        let moved = c
            .transfer_customer_ownership(fresh)
            .await
            .unwrap()
            .into_inner();
        assert_eq!(moved.owner_id, "rep-2");
        assert_eq!(moved.grade, "A");

        // Moving only the store is a hand-over between stores, and is recorded too.
        let store_only = pb::TransferCustomerOwnershipRequest {
            new_store_id: "store-9".into(),
            ..transfer(&customer.name, "rep-2", "", "moved to store 9")
        };
        let moved = c
            .transfer_customer_ownership(store_only)
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (
                moved.owner_id.as_str(),
                moved.team_id.as_str(),
                moved.store_id.as_str()
            ),
            ("rep-2", "team-b", "store-9")
        );
        assert_eq!(
            summary(&history(&mut c, &customer.name).await),
            [
                [
                    "rep-2",
                    "rep-2",
                    "team-b",
                    "team-b",
                    "moved to store 9",
                    "admin-1"
                ],
                [
                    "rep-1",
                    "rep-2",
                    "team-a",
                    "team-b",
                    "rep-1 left",
                    "admin-1"
                ],
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn a_transfer_retried_with_its_request_id_is_recorded_once() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let customer = create(&mut c, owned_by("郑爽", "13600000031", "rep-1", "team-a")).await;
        let request = pb::TransferCustomerOwnershipRequest {
            request_id: "handover-rep-1-0001".into(),
            etag: customer.etag.clone(),
            ..transfer(&customer.name, "rep-2", "team-b", "rep-1 left")
        };
        let first = c
            .transfer_customer_ownership(request.clone())
            .await
            .unwrap()
            .into_inner();
        // The retry carries the etag of before: it is answered, not refused as stale.
        let again = c
            .transfer_customer_ownership(request)
            .await
            .unwrap()
            .into_inner();
        assert_eq!(again, first);
        assert_eq!(fetch_customer(&mut c, &customer.name).await, first);
        assert_eq!(history(&mut c, &customer.name).await.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn transfer_names_every_bad_field_in_one_error() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let customer = create(&mut c, owned_by("吴刚", "13600000041", "rep-1", "team-a")).await;
        let bad = pb::TransferCustomerOwnershipRequest {
            name: "customers".into(),
            new_owner_id: "  ".into(),
            new_team_id: "t".repeat(129),
            new_store_id: "s".repeat(129),
            reason: "r".repeat(501),
            etag: String::new(),
            request_id: String::new(),
        };
        let status = assert_code(
            c.transfer_customer_ownership(bad).await,
            Code::InvalidArgument,
        );
        assert_eq!(
            bad_fields(&status),
            [
                "name",
                "new_owner_id",
                "new_team_id",
                "new_store_id",
                "reason"
            ]
        );
        let status = assert_code(
            c.transfer_customer_ownership(transfer(&customer.name, "", "", ""))
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["new_owner_id"]);
        let status = assert_code(
            c.list_ownership_transfers(history_page("customers/x", 0, ""))
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["parent"]);
        assert_eq!(fetch_customer(&mut c, &customer.name).await, customer);
    })
    .await;
}

#[tokio::test]
async fn transfers_of_another_tenants_or_a_deleted_customer_are_refused() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let mut them = stranger(s);
        let ours = create(&mut c, owned_by("孙丽", "13600000051", "rep-1", "team-a")).await;
        let theirs = create(
            &mut them,
            owned_by("孙丽", "13600000051", "rep-1", "team-a"),
        )
        .await;
        let gone = create(&mut c, owned_by("孙丽 2", "13600000052", "rep-1", "team-a")).await;
        c.delete_customer(pb::DeleteCustomerRequest {
            name: gone.name.clone(),
            etag: String::new(),
        })
        .await
        .unwrap();

        let status = assert_code(
            c.transfer_customer_ownership(transfer(&theirs.name, "rep-2", "team-b", ""))
                .await,
            Code::NotFound,
        );
        assert_eq!(reason(&status), "NOT_FOUND");
        assert_code(
            them.transfer_customer_ownership(transfer(&ours.name, "rep-2", "team-b", ""))
                .await,
            Code::NotFound,
        );
        assert_code(
            them.list_ownership_transfers(history_page(&ours.name, 10, ""))
                .await,
            Code::NotFound,
        );
        let status = assert_code(
            c.transfer_customer_ownership(transfer(&gone.name, "rep-2", "team-b", ""))
                .await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&status), "CUSTOMER_DELETED");

        assert_eq!(fetch_customer(&mut c, &ours.name).await, ours);
        assert_eq!(fetch_customer(&mut them, &theirs.name).await, theirs);
        assert!(history(&mut c, &ours.name).await.is_empty());
        assert!(history(&mut them, &theirs.name).await.is_empty());
    })
    .await;
}

#[tokio::test]
async fn only_managers_hand_customers_over() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let customer = create(&mut c, owned_by("赵敏", "13600000061", "rep-1", "team-a")).await;
        let request = transfer(&customer.name, "rep-2", "team-b", "mine now");

        assert_code(
            anonymous(s, None)
                .transfer_customer_ownership(request.clone())
                .await,
            Code::Unauthenticated,
        );
        assert_code(
            anonymous(s, None)
                .list_ownership_transfers(history_page(&customer.name, 10, ""))
                .await,
            Code::Unauthenticated,
        );
        for mut denied in [
            rep(s, "rep-1", "team-a"),
            rep(s, "rep-2", "team-b"),
            client(s, "t1", "partner-1", &[Role::Partner]),
            client(s, "t1", "marketer-1", &[Role::Marketer]),
            client(s, "t1", "agent-1", &[Role::ServiceAgent]),
        ] {
            let status = assert_code(
                denied.transfer_customer_ownership(request.clone()).await,
                Code::PermissionDenied,
            );
            assert_eq!(reason(&status), "PERMISSION_DENIED");
        }
        assert_code(
            client(s, "t1", "partner-1", &[Role::Partner])
                .list_ownership_transfers(history_page(&customer.name, 10, ""))
                .await,
            Code::PermissionDenied,
        );
        assert_eq!(fetch_customer(&mut c, &customer.name).await, customer);
        assert!(history(&mut c, &customer.name).await.is_empty());
    })
    .await;
}

#[tokio::test]
async fn concurrent_retries_of_one_transfer_are_answered_alike_and_recorded_once() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let customer = create(&mut c, owned_by("洪七公", "13600000071", "rep-1", "team-a")).await;
        let calls = (0..4).map(|_| {
            let mut c = admin(s);
            let request = pb::TransferCustomerOwnershipRequest {
                request_id: "handover-hong".into(),
                ..transfer(&customer.name, "rep-2", "team-b", "rep-1 left")
            };
            async move {
                c.transfer_customer_ownership(request)
                    .await
                    .map(|r| r.into_inner())
            }
        });
        let answers = answered_alike(calls).await;
        assert_eq!(answers[0].owner_id, "rep-2");
        assert_eq!(history(&mut c, &customer.name).await.len(), 1);
    })
    .await;
}
