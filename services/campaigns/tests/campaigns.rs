//! Campaigns (CA1) through gRPC on every backend: the approval lifecycle and the transitions
//! it refuses, edits of the plan, costs and overruns, invitations with their answers and
//! attendance, bad input named field by field, roles, stale etags, retried request ids, and
//! another tenant, who sees nothing.

use rapport_proto::campaigns as pb;
use rapport_testkit::each_backend;
use tonic::Code;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_campaign_is_planned_approved_run_and_completed() {
    each_backend(&services(), async |s| {
        let mut mk = marketer(s);
        let mut mm = manager(s);
        let c = create(&mut mk, plan("Spring Festival"), "").await.unwrap();
        assert_eq!(c.state, pb::CampaignState::Draft as i32);
        assert_eq!((c.creator.as_str(), c.owner_id.as_str()), ("mk-1", "mk-1"));
        assert_eq!(c.cost.as_ref().map(|m| m.minor_units), Some(0));
        assert_eq!(c.results.as_ref().map(|r| r.invited), Some(0));
        assert!(!c.etag.is_empty());

        // Out of turn: nothing is approved, started or completed before it is submitted.
        let early = assert_code(approve(&mut mm, &c.name).await, Code::FailedPrecondition);
        assert_eq!(reason(&early), "CAMPAIGN_STATE");
        assert!(early.message().contains("DRAFT"), "{early:?}");
        assert_code(start(&mut mk, &c.name).await, Code::FailedPrecondition);

        let pending = submit(&mut mk, &c.name).await.unwrap();
        assert_eq!(pending.state, pb::CampaignState::PendingApproval as i32);
        // The plan waits for the decision; what is not the plan still changes.
        let locked = assert_code(
            mk.campaigns
                .update_campaign(update_request(
                    pb::Campaign {
                        name: c.name.clone(),
                        budget: money("CNY", 5),
                        ..Default::default()
                    },
                    &["budget"],
                    "",
                ))
                .await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&locked), "CAMPAIGN_STATE");
        let renamed = mk
            .campaigns
            .update_campaign(update_request(
                pb::Campaign {
                    name: c.name.clone(),
                    display_name: "Spring Festival 2026".into(),
                    ..Default::default()
                },
                &["display_name"],
                "",
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(renamed.display_name, "Spring Festival 2026");
        assert_code(start(&mut mk, &c.name).await, Code::FailedPrecondition);

        // Rejected with a reason, edited and submitted again.
        let no_reason = assert_code(
            mm.campaigns
                .reject_campaign(pb::RejectCampaignRequest {
                    name: c.name.clone(),
                    reason: " ".into(),
                    ..Default::default()
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&no_reason), ["reason"]);
        let rejected = mm
            .campaigns
            .reject_campaign(pb::RejectCampaignRequest {
                name: c.name.clone(),
                reason: "the budget is too high".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(rejected.state, pb::CampaignState::Rejected as i32);
        assert_eq!(rejected.state_reason, "the budget is too high");
        let edited = mk
            .campaigns
            .update_campaign(update_request(
                pb::Campaign {
                    name: c.name.clone(),
                    budget: money("CNY", 600_000),
                    etag: rejected.etag.clone(),
                    ..Default::default()
                },
                &["budget"],
                "",
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(edited.budget.as_ref().map(|m| m.minor_units), Some(600_000));
        assert_eq!(edited.state, pb::CampaignState::Rejected as i32);
        let resubmitted = submit(&mut mk, &c.name).await.unwrap();
        assert!(resubmitted.state_reason.is_empty());

        let decided = approve(&mut mm, &c.name).await.unwrap();
        assert_eq!(decided.state, pb::CampaignState::Approved as i32);
        assert_eq!(decided.approved_by, "mm-1");
        assert!(decided.approve_time.is_some());
        assert_code(submit(&mut mk, &c.name).await, Code::FailedPrecondition);
        let running = start(&mut mk, &c.name).await.unwrap();
        assert_eq!(running.state, pb::CampaignState::Running as i32);
        let completed = mk
            .campaigns
            .complete_campaign(pb::CompleteCampaignRequest {
                name: c.name.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(completed.state, pb::CampaignState::Completed as i32);
        // Over: no cancellation, no edit.
        let late = assert_code(
            cancel(&mut mk, &c.name, "too late").await,
            Code::FailedPrecondition,
        );
        assert!(late.message().contains("COMPLETED"), "{late:?}");
        assert_code(
            mk.campaigns
                .update_campaign(update_request(
                    pb::Campaign {
                        name: c.name.clone(),
                        description: "x".into(),
                        ..Default::default()
                    },
                    &["description"],
                    "",
                ))
                .await,
            Code::FailedPrecondition,
        );

        // Cancelled from any state before completion, with a reason.
        let other = create(&mut mk, plan("Anniversary"), "").await.unwrap();
        assert_eq!(
            bad_fields(&assert_code(
                cancel(&mut mk, &other.name, "").await,
                Code::InvalidArgument
            )),
            ["reason"]
        );
        let cancelled = cancel(&mut mk, &other.name, "the venue fell through")
            .await
            .unwrap();
        assert_eq!(cancelled.state, pb::CampaignState::Cancelled as i32);
        assert_eq!(cancelled.state_reason, "the venue fell through");
        assert_code(submit(&mut mk, &other.name).await, Code::FailedPrecondition);
        let running = approved(s, "Show room").await;
        start(&mut mk, &running.name).await.unwrap();
        cancel(&mut mk, &running.name, "rain").await.unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn approval_is_someone_elses_and_each_role_does_its_part() {
    each_backend(&services(), async |s| {
        let mut mm = manager(s);
        let own = create(&mut mm, plan("Store opening"), "").await.unwrap();
        submit(&mut mm, &own.name).await.unwrap();
        let mine = assert_code(approve(&mut mm, &own.name).await, Code::PermissionDenied);
        assert!(mine.message().contains("another manager"), "{mine:?}");
        assert_code(
            mm.campaigns
                .reject_campaign(pb::RejectCampaignRequest {
                    name: own.name.clone(),
                    reason: "no".into(),
                    ..Default::default()
                })
                .await,
            Code::PermissionDenied,
        );
        let decided = approve(&mut other_manager(s), &own.name).await.unwrap();
        assert_eq!(decided.approved_by, "mm-2");

        // An admin may approve its own.
        let mut a = admin(s);
        let admins = create(&mut a, plan("Member club night"), "").await.unwrap();
        submit(&mut a, &admins.name).await.unwrap();
        approve(&mut a, &admins.name).await.unwrap();

        // Marketers plan but do not approve; reps read and nothing more.
        let mut mk = marketer(s);
        let theirs = create(&mut mk, plan("EDM"), "").await.unwrap();
        submit(&mut mk, &theirs.name).await.unwrap();
        assert_code(approve(&mut mk, &theirs.name).await, Code::PermissionDenied);
        let mut r = rep(s);
        assert_code(
            create(&mut r, plan("Mine"), "").await,
            Code::PermissionDenied,
        );
        assert_code(submit(&mut r, &theirs.name).await, Code::PermissionDenied);
        assert_code(approve(&mut r, &theirs.name).await, Code::PermissionDenied);
        assert_code(
            r.campaigns
                .record_campaign_cost(cost(&decided.name, 100, "CNY", ""))
                .await,
            Code::PermissionDenied,
        );
        assert_eq!(get(&mut r, &theirs.name).await.unwrap().name, theirs.name);
        let listed = r
            .campaigns
            .list_campaigns(pb::ListCampaignsRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(listed.campaigns.len(), 3);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_input_is_named_field_by_field() {
    each_backend(&services(), async |s| {
        let mut mk = marketer(s);
        let bad = assert_code(
            create(
                &mut mk,
                pb::Campaign {
                    display_name: " ".into(),
                    r#type: 42,
                    owner_id: "mk 1".into(),
                    store: "Stores/Main".into(),
                    start_time: None,
                    end_time: Some(prost_types::Timestamp {
                        seconds: 400_000_000_000,
                        nanos: 0,
                    }),
                    budget: money("cny", -5),
                    description: "a\u{0}b".into(),
                    ..Default::default()
                },
                &"x".repeat(200),
            )
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&bad),
            [
                "campaign.budget.currency_code",
                "campaign.budget.minor_units",
                "campaign.description",
                "campaign.display_name",
                "campaign.end_time",
                "campaign.owner_id",
                "campaign.start_time",
                "campaign.store",
                "campaign.type",
                "request_id",
            ]
        );
        let backwards = assert_code(
            create(
                &mut mk,
                pb::Campaign {
                    end_time: in_secs(0),
                    ..plan("Backwards")
                },
                "",
            )
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&backwards), ["campaign.end_time"]);
        assert_eq!(
            bad_fields(&assert_code(
                create(
                    &mut mk,
                    pb::Campaign {
                        budget: None,
                        r#type: 0,
                        ..plan("No budget")
                    },
                    ""
                )
                .await,
                Code::InvalidArgument
            )),
            ["campaign.type", "campaign.budget"]
        );
        assert_eq!(
            bad_fields(&assert_code(
                mk.campaigns
                    .create_campaign(pb::CreateCampaignRequest::default())
                    .await,
                Code::InvalidArgument
            )),
            ["campaign"]
        );

        let c = create(&mut mk, plan("Good"), "").await.unwrap();
        let mask_bad = assert_code(
            mk.campaigns
                .update_campaign(update_request(
                    pb::Campaign {
                        name: c.name.clone(),
                        owner_id: String::new(),
                        ..Default::default()
                    },
                    &["state", "cost", "creator", "nickname", "owner_id"],
                    "",
                ))
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&mask_bad),
            [
                "campaign.owner_id",
                "update_mask",
                "update_mask",
                "update_mask",
                "update_mask"
            ]
        );
        assert!(
            mask_bad.message().contains("SubmitCampaign"),
            "{mask_bad:?}"
        );
        // The plan's end is judged against its start as stored.
        let earlier = assert_code(
            mk.campaigns
                .update_campaign(update_request(
                    pb::Campaign {
                        name: c.name.clone(),
                        end_time: in_secs(60),
                        ..Default::default()
                    },
                    &["end_time"],
                    "",
                ))
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&earlier), ["campaign.end_time"]);
        let steps = assert_code(
            mk.campaigns
                .cancel_campaign(pb::CancelCampaignRequest {
                    name: "campaigns/nope".into(),
                    reason: "r".repeat(501),
                    etag: String::new(),
                    request_id: "y".repeat(129),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(sorted_bad_fields(&steps), ["name", "reason", "request_id"]);
        let listing = assert_code(
            mk.campaigns
                .list_campaigns(pb::ListCampaignsRequest {
                    state: 99,
                    r#type: -1,
                    owner_id: "a b".into(),
                    page_size: -1,
                    page_token: "garbage".into(),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&listing),
            ["owner_id", "page_size", "page_token", "state", "type"]
        );
        assert_eq!(
            bad_fields(&assert_code(
                get(&mut mk, "campaign/1").await,
                Code::InvalidArgument
            )),
            ["name"]
        );
        let costs = assert_code(
            mk.campaigns
                .record_campaign_cost(pb::RecordCampaignCostRequest {
                    parent: "campaigns/x".into(),
                    cost: Some(pb::CampaignCost {
                        amount: money("CNY", 0),
                        category: String::new(),
                        note: "n".repeat(501),
                        ..Default::default()
                    }),
                    request_id: String::new(),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&costs),
            [
                "cost.amount.minor_units",
                "cost.category",
                "cost.note",
                "parent"
            ]
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn another_tenants_campaigns_read_as_not_found() {
    each_backend(&services(), async |s| {
        let c = approved(s, "Ours").await;
        let mut them = stranger(s);
        let missing = assert_code(get(&mut them, &c.name).await, Code::NotFound);
        assert!(missing.message().contains(&c.name));
        let listed = them
            .campaigns
            .list_campaigns(pb::ListCampaignsRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert!(listed.campaigns.is_empty());
        assert_code(
            them.campaigns
                .update_campaign(update_request(
                    pb::Campaign {
                        name: c.name.clone(),
                        description: "theirs now".into(),
                        ..Default::default()
                    },
                    &["description"],
                    "",
                ))
                .await,
            Code::NotFound,
        );
        assert_code(start(&mut them, &c.name).await, Code::NotFound);
        assert_code(cancel(&mut them, &c.name, "mine").await, Code::NotFound);
        assert_code(approve(&mut them, &c.name).await, Code::NotFound);
        assert_code(
            them.campaigns
                .record_campaign_cost(cost(&c.name, 100, "CNY", ""))
                .await,
            Code::NotFound,
        );
        assert_code(
            them.campaigns
                .list_campaign_members(pb::ListCampaignMembersRequest {
                    parent: c.name.clone(),
                    ..Default::default()
                })
                .await,
            Code::NotFound,
        );
        let member = format!("{}/members/{}", c.name, uuid::Uuid::now_v7());
        assert_code(
            them.campaigns
                .record_campaign_attendance(pb::RecordCampaignAttendanceRequest {
                    name: member,
                    request_id: String::new(),
                })
                .await,
            Code::NotFound,
        );
        // Nothing of theirs touched ours.
        let after = get(&mut admin(s), &c.name).await.unwrap();
        assert_eq!(after.etag, c.etag);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stale_etags_are_refused_and_request_ids_replay() {
    each_backend(&services(), async |s| {
        let mut mk = marketer(s);
        let c = create(&mut mk, plan("Retried"), "create-1").await.unwrap();
        let again = create(&mut mk, plan("Retried"), "create-1").await.unwrap();
        assert_eq!(again, c, "the retry gets the first answer");
        let reused = assert_code(
            create(&mut mk, plan("Another"), "create-1").await,
            Code::InvalidArgument,
        );
        assert_eq!(reason(&reused), "REQUEST_ID_REUSED");
        assert_eq!(bad_fields(&reused), ["request_id"]);
        let listed = mk
            .campaigns
            .list_campaigns(pb::ListCampaignsRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(listed.campaigns.len(), 1);

        let edit = |etag: &str, request_id: &str| {
            update_request(
                pb::Campaign {
                    name: c.name.clone(),
                    description: "With lanterns".into(),
                    etag: etag.into(),
                    ..Default::default()
                },
                &["description"],
                request_id,
            )
        };
        let edited = retried!(mk.campaigns, update_campaign, edit(&c.etag, "edit-1"));
        assert_ne!(edited.etag, c.etag);
        let stale = assert_code(
            mk.campaigns.update_campaign(edit(&c.etag, "")).await,
            Code::Aborted,
        );
        assert!(stale.message().contains(&c.name));
        let stale_step = assert_code(
            mk.campaigns
                .submit_campaign(pb::SubmitCampaignRequest {
                    name: c.name.clone(),
                    etag: c.etag.clone(),
                    request_id: String::new(),
                })
                .await,
            Code::Aborted,
        );
        assert_eq!(reason(&stale_step), "ETAG_MISMATCH");
        let submit_once = pb::SubmitCampaignRequest {
            name: c.name.clone(),
            etag: edited.etag.clone(),
            request_id: "submit-1".into(),
        };
        // The retry waits for the first and replays its answer, though the campaign is no
        // longer a DRAFT by then and the etag is stale.
        let first = retried!(mk.campaigns, submit_campaign, submit_once);
        let mut mm = manager(s);
        let approve_once = pb::ApproveCampaignRequest {
            name: c.name.clone(),
            etag: first.etag.clone(),
            request_id: "approve-1".into(),
        };
        let approved = retried!(mm.campaigns, approve_campaign, approve_once);
        let reused = assert_code(
            mm.campaigns
                .approve_campaign(pb::ApproveCampaignRequest {
                    name: c.name.clone(),
                    etag: String::new(),
                    request_id: "approve-1".into(),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(reason(&reused), "REQUEST_ID_REUSED");
        for step in ["start", "cancel"] {
            let stale = match step {
                "start" => {
                    mk.campaigns
                        .start_campaign(pb::StartCampaignRequest {
                            name: c.name.clone(),
                            etag: first.etag.clone(),
                            request_id: String::new(),
                        })
                        .await
                }
                _ => {
                    mk.campaigns
                        .cancel_campaign(pb::CancelCampaignRequest {
                            name: c.name.clone(),
                            reason: "x".into(),
                            etag: first.etag.clone(),
                            request_id: String::new(),
                        })
                        .await
                }
            };
            assert_code(stale, Code::Aborted);
        }
        let start_once = pb::StartCampaignRequest {
            name: c.name.clone(),
            etag: approved.etag.clone(),
            request_id: "start-1".into(),
        };
        let started = retried!(mk.campaigns, start_campaign, start_once);
        let complete_once = pb::CompleteCampaignRequest {
            name: c.name.clone(),
            etag: started.etag.clone(),
            request_id: "complete-1".into(),
        };
        assert_code(
            mk.campaigns
                .complete_campaign(pb::CompleteCampaignRequest {
                    etag: approved.etag.clone(),
                    ..complete_once.clone()
                })
                .await,
            Code::Aborted,
        );
        let completed = retried!(mk.campaigns, complete_campaign, complete_once);
        assert_eq!(completed.state, pb::CampaignState::Completed as i32);

        // Rejections and cancellations replay too.
        let other = create(&mut mk, plan("Rejected"), "").await.unwrap();
        let pending = submit(&mut mk, &other.name).await.unwrap();
        let reject_once = pb::RejectCampaignRequest {
            name: other.name.clone(),
            reason: "no".into(),
            etag: pending.etag.clone(),
            request_id: "reject-1".into(),
        };
        assert_code(
            mm.campaigns
                .reject_campaign(pb::RejectCampaignRequest {
                    etag: other.etag.clone(),
                    request_id: String::new(),
                    ..reject_once.clone()
                })
                .await,
            Code::Aborted,
        );
        let rejected = retried!(mm.campaigns, reject_campaign, reject_once);
        let cancel_once = pb::CancelCampaignRequest {
            name: other.name.clone(),
            reason: "dropped".into(),
            etag: rejected.etag.clone(),
            request_id: "cancel-1".into(),
        };
        let cancelled = retried!(mk.campaigns, cancel_campaign, cancel_once);
        assert_eq!(cancelled.state, pb::CampaignState::Cancelled as i32);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn costs_are_recorded_once_approved_and_an_overrun_is_flagged() {
    each_backend(&services(), async |s| {
        let mut mk = marketer(s);
        let draft = create(&mut mk, plan("Not yet"), "").await.unwrap();
        let early = assert_code(
            mk.campaigns
                .record_campaign_cost(cost(&draft.name, 100, "CNY", ""))
                .await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&early), "CAMPAIGN_NOT_APPROVED");

        let c = approved(s, "Lantern fair").await;
        let wrong = assert_code(
            mk.campaigns
                .record_campaign_cost(cost(&c.name, 100, "USD", ""))
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&wrong), ["cost.amount.currency_code"]);
        let once = cost(&c.name, 700_000, "CNY", "cost-1");
        let first = retried!(mk.campaigns, record_campaign_cost, once);
        let line = first.cost.clone().unwrap();
        assert!(line.name.starts_with(&format!("{}/costs/", c.name)));
        assert_eq!(
            (line.category.as_str(), line.recorded_by.as_str()),
            ("venue", "mk-1")
        );
        let campaign = first.campaign.clone().unwrap();
        assert_eq!(campaign.cost.as_ref().map(|m| m.minor_units), Some(700_000));
        assert!(!campaign.over_budget);
        assert_eq!(campaign.etag, c.etag, "a cost leaves the plan's etag alone");
        assert_code(
            mk.campaigns
                .record_campaign_cost(cost(&c.name, 1, "CNY", "cost-1"))
                .await,
            Code::InvalidArgument,
        );
        // Over the budget: recorded all the same, and flagged.
        let over = mk
            .campaigns
            .record_campaign_cost(cost(&c.name, 400_000, "CNY", ""))
            .await
            .unwrap()
            .into_inner()
            .campaign
            .unwrap();
        assert_eq!(over.cost.as_ref().map(|m| m.minor_units), Some(1_100_000));
        assert!(over.over_budget);
        // Late invoices are recorded after completion too.
        start(&mut mk, &c.name).await.unwrap();
        mk.campaigns
            .complete_campaign(pb::CompleteCampaignRequest {
                name: c.name.clone(),
                ..Default::default()
            })
            .await
            .unwrap();
        mk.campaigns
            .record_campaign_cost(cost(&c.name, 5_000, "CNY", ""))
            .await
            .unwrap();
        let total = get(&mut mk, &c.name).await.unwrap();
        assert_eq!(total.cost.as_ref().map(|m| m.minor_units), Some(1_105_000));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn customers_are_invited_answer_and_attend() {
    each_backend(&services(), async |s| {
        let wang = customer(s, "Wang Fang", "+8613800000001").await;
        let li = customer(s, "Li Lei", "+8613800000002").await;
        let zhao = customer(s, "Zhao Min", "+8613800000003").await;
        let theirs = {
            let mut them = stranger(s);
            them.customers
                .create_customer(rapport_proto::customers::CreateCustomerRequest {
                    customer: Some(rapport_proto::customers::Customer {
                        kind: rapport_proto::customers::CustomerKind::Person.into(),
                        display_name: "Someone Else".into(),
                        phones: vec![rapport_proto::customers::Phone {
                            number: "+8613800000009".into(),
                            ..Default::default()
                        }],
                        ..Default::default()
                    }),
                    request_id: String::new(),
                })
                .await
                .unwrap()
                .into_inner()
                .name
        };
        let mut mk = marketer(s);
        let invite =
            |parent: &str, customers: &[&str], request_id: &str| pb::InviteCampaignMembersRequest {
                parent: parent.into(),
                customers: customers.iter().map(|c| (*c).to_owned()).collect(),
                request_id: request_id.into(),
            };
        let draft = create(&mut mk, plan("Not yet"), "").await.unwrap();
        let closed = assert_code(
            mk.campaigns
                .invite_campaign_members(invite(&draft.name, &[&wang], ""))
                .await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&closed), "CAMPAIGN_STATE");

        let c = approved(s, "Show room weekend").await;
        let unknown = format!("customers/{}", uuid::Uuid::now_v7());
        let bad = assert_code(
            mk.campaigns
                .invite_campaign_members(invite(
                    &c.name,
                    &[&wang, &unknown, &theirs, "people/1"],
                    "",
                ))
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(sorted_bad_fields(&bad), ["customers[3]"]);
        let bad = assert_code(
            mk.campaigns
                .invite_campaign_members(invite(&c.name, &[&wang, &unknown, &theirs], ""))
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(sorted_bad_fields(&bad), ["customers[1]", "customers[2]"]);
        assert!(
            !bad.message().contains("Someone Else"),
            "another tenant's customer reads as absent: {bad:?}"
        );
        assert_eq!(
            bad_fields(&assert_code(
                mk.campaigns
                    .invite_campaign_members(invite(&c.name, &[], ""))
                    .await,
                Code::InvalidArgument
            )),
            ["customers"]
        );
        assert_code(
            rep(s)
                .campaigns
                .invite_campaign_members(invite(&c.name, &[&wang], ""))
                .await,
            Code::PermissionDenied,
        );

        let once = invite(&c.name, &[&wang, &li, &wang], "invite-1");
        let invited = retried!(mk.campaigns, invite_campaign_members, once);
        assert_eq!(invited.invited, 2);
        assert_eq!(invited.members.len(), 2);
        assert_eq!(invited.members[0].customer, wang);
        assert_eq!(invited.members[0].state, pb::MemberState::Invited as i32);
        assert_eq!(invited.members[0].invited_by, "mk-1");
        assert_eq!(
            reason(&assert_code(
                mk.campaigns
                    .invite_campaign_members(invite(&c.name, &[&zhao], "invite-1"))
                    .await,
                Code::InvalidArgument
            )),
            "REQUEST_ID_REUSED"
        );
        // Invited before: kept as it is, not counted again.
        let more = mk
            .campaigns
            .invite_campaign_members(invite(&c.name, &[&li, &zhao], ""))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(more.invited, 1);

        let member = |customer: &str| {
            format!(
                "{}/members/{}",
                c.name,
                customer.trim_start_matches("customers/")
            )
        };
        let respond = |name: String, response: pb::MemberResponse, request_id: &str| {
            pb::RecordCampaignResponseRequest {
                name,
                response: response.into(),
                request_id: request_id.into(),
            }
        };
        let bad = assert_code(
            mk.campaigns
                .record_campaign_response(pb::RecordCampaignResponseRequest {
                    name: "campaigns/x/members/y".into(),
                    response: 0,
                    request_id: String::new(),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(sorted_bad_fields(&bad), ["name", "response"]);
        let stranger_member = format!("{}/members/{}", c.name, uuid::Uuid::now_v7());
        assert_code(
            mk.campaigns
                .record_campaign_response(respond(
                    stranger_member,
                    pb::MemberResponse::Accepted,
                    "",
                ))
                .await,
            Code::NotFound,
        );
        let once = respond(member(&wang), pb::MemberResponse::Accepted, "r-1");
        let accepted = retried!(mk.campaigns, record_campaign_response, once);
        assert_eq!(accepted.state, pb::MemberState::Accepted as i32);
        assert!(accepted.respond_time.is_some());
        mk.campaigns
            .record_campaign_response(respond(member(&li), pb::MemberResponse::Accepted, ""))
            .await
            .unwrap();
        // A later answer replaces the earlier.
        let declined = mk
            .campaigns
            .record_campaign_response(respond(member(&li), pb::MemberResponse::Declined, ""))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(declined.state, pb::MemberState::Declined as i32);
        let attend = |name: String, request_id: &str| pb::RecordCampaignAttendanceRequest {
            name,
            request_id: request_id.into(),
        };
        let came = retried!(
            mk.campaigns,
            record_campaign_attendance,
            attend(member(&wang), "a-1")
        );
        assert!(came.attended && came.attend_time.is_some());
        assert_eq!(came.state, pb::MemberState::Attended as i32);
        mk.campaigns
            .record_campaign_attendance(attend(member(&wang), ""))
            .await
            .unwrap();

        let results = get(&mut rep(s), &c.name).await.unwrap().results.unwrap();
        assert_eq!(
            (
                results.invited,
                results.responded,
                results.accepted,
                results.attended
            ),
            (3, 2, 1, 1)
        );

        // Listed in the order invited, by state, a page at a time.
        let mut r = rep(s);
        let list = |state: pb::MemberState, page_size: i32, page_token: &str| {
            pb::ListCampaignMembersRequest {
                parent: c.name.clone(),
                state: state.into(),
                page_size,
                page_token: page_token.into(),
            }
        };
        let first = r
            .campaigns
            .list_campaign_members(list(pb::MemberState::Unspecified, 2, ""))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(first.members.len(), 2);
        assert!(!first.next_page_token.is_empty());
        let rest = r
            .campaigns
            .list_campaign_members(list(
                pb::MemberState::Unspecified,
                2,
                &first.next_page_token,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(rest.members.len(), 1);
        assert!(rest.next_page_token.is_empty());
        let mut everyone: Vec<String> = first
            .members
            .iter()
            .chain(&rest.members)
            .map(|m| m.customer.clone())
            .collect();
        everyone.sort();
        let mut expected = vec![wang.clone(), li.clone(), zhao.clone()];
        expected.sort();
        assert_eq!(everyone, expected);
        for (state, who) in [
            (pb::MemberState::Attended, &wang),
            (pb::MemberState::Declined, &li),
            (pb::MemberState::Invited, &zhao),
        ] {
            let page = r
                .campaigns
                .list_campaign_members(list(state, 0, ""))
                .await
                .unwrap()
                .into_inner();
            let names: Vec<&str> = page.members.iter().map(|m| m.customer.as_str()).collect();
            assert_eq!(names, [who.as_str()], "{state:?}");
        }
        assert_code(
            r.campaigns
                .list_campaign_members(list(pb::MemberState::Invited, 2, &first.next_page_token))
                .await,
            Code::InvalidArgument,
        );

        // Once over, nobody answers any more.
        cancel(&mut mk, &c.name, "storm").await.unwrap();
        assert_code(
            mk.campaigns
                .record_campaign_attendance(attend(member(&zhao), ""))
                .await,
            Code::FailedPrecondition,
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lists_filter_by_state_type_and_owner_a_page_at_a_time() {
    each_backend(&services(), async |s| {
        let mut mk = marketer(s);
        let mut mm = manager(s);
        let a = create(&mut mk, plan("A"), "").await.unwrap();
        let b = create(
            &mut mk,
            pb::Campaign {
                r#type: pb::CampaignType::Lottery.into(),
                owner_id: "mm-1".into(),
                ..plan("B")
            },
            "",
        )
        .await
        .unwrap();
        let c = create(&mut mm, plan("C"), "").await.unwrap();
        submit(&mut mm, &c.name).await.unwrap();
        let list = |req: pb::ListCampaignsRequest| {
            let mut client = mk.campaigns.clone();
            async move {
                client
                    .list_campaigns(req)
                    .await
                    .unwrap()
                    .into_inner()
                    .campaigns
                    .into_iter()
                    .map(|c| c.name)
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(
            list(pb::ListCampaignsRequest::default()).await,
            [c.name.as_str(), b.name.as_str(), a.name.as_str()],
            "newest first"
        );
        assert_eq!(
            list(pb::ListCampaignsRequest {
                state: pb::CampaignState::PendingApproval.into(),
                ..Default::default()
            })
            .await,
            [c.name.as_str()]
        );
        assert_eq!(
            list(pb::ListCampaignsRequest {
                r#type: pb::CampaignType::Lottery.into(),
                ..Default::default()
            })
            .await,
            [b.name.as_str()]
        );
        assert_eq!(
            list(pb::ListCampaignsRequest {
                owner_id: "mm-1".into(),
                ..Default::default()
            })
            .await,
            [c.name.as_str(), b.name.as_str()]
        );
        let first = mk
            .campaigns
            .list_campaigns(pb::ListCampaignsRequest {
                page_size: 2,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(first.campaigns.len(), 2);
        let rest = mk
            .campaigns
            .list_campaigns(pb::ListCampaignsRequest {
                page_size: 2,
                page_token: first.next_page_token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            rest.campaigns.iter().map(|c| &c.name).collect::<Vec<_>>(),
            [&a.name]
        );
        assert!(rest.next_page_token.is_empty());
        // A token belongs to its query.
        assert_code(
            mk.campaigns
                .list_campaigns(pb::ListCampaignsRequest {
                    page_size: 2,
                    page_token: first.next_page_token,
                    owner_id: "mm-1".into(),
                    ..Default::default()
                })
                .await,
            Code::InvalidArgument,
        );
    })
    .await;
}
