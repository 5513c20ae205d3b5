//! The workflow (TK5, TK6) through gRPC on every backend: states and what they refuse, public
//! and internal comments, reopening within the window, merging duplicates, the survey answered
//! once, and tickets following a merge of their customers.

use crate::common::*;
use rapport_proto::{customers as cpb, tickets as pb};
use rapport_runtime::clock::{HOUR, Micros};
use rapport_testkit::{each_backend, each_backend_at, wait::eventually};
use tonic::Code;

/// 2026-09-28 02:00 UTC, a Monday.
const MON: Micros = 1_790_560_800_000_000;

async fn setup(s: &rapport_testkit::TestServer) -> String {
    register_agent(s, "ag-1", "care", 10, &[]).await;
    create_queue(
        s,
        "Complaints",
        "care",
        pb::RoutingStrategy::RoundRobin,
        &["ag-1"],
    )
    .await
}

#[tokio::test]
async fn states_reopen_within_the_window_and_the_survey_is_answered_once() {
    each_backend_at(&services(), MON, async |s, clock| {
        let queue = setup(s).await;
        let wang = customer(s, "Wang Fang", "+8613800138000", "rep-1", "north").await;
        let mut a1 = agent(s, "ag-1", "care");
        let t = create(&mut a1, complaint(&wang, &queue), "").await.unwrap();
        let st = assert_code(
            set_state(&mut a1, &t.name, pb::TicketState::Reopened, "").await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&st), "TICKET_STATE");
        let st = assert_code(
            set_state(&mut a1, &t.name, pb::TicketState::New, "").await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&st), ["state"]);
        comment(
            &mut a1,
            &t.name,
            "Checked the stock: a new one ships Friday",
            false,
            false,
        )
        .await
        .unwrap();
        let still_new = get(&mut a1, &t.name).await.unwrap();
        assert!(
            still_new.first_response_time.is_none(),
            "an internal note answers nobody"
        );
        let st = assert_code(
            a1.tickets
                .add_comment(pb::AddCommentRequest {
                    parent: t.name.clone(),
                    comment: Some(pb::Comment {
                        body: String::new(),
                        attachment_urls: vec!["ftp://x".into()],
                        from_customer: true,
                        ..Default::default()
                    }),
                    request_id: String::new(),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&st),
            [
                "comment.attachment_urls[0]",
                "comment.body",
                "comment.public"
            ]
        );
        comment(&mut a1, &t.name, "A new sofa ships Friday", true, false)
            .await
            .unwrap();
        let resolved = set_state(&mut a1, &t.name, pb::TicketState::Resolved, "replaced")
            .await
            .unwrap();
        assert!(resolved.resolve_time.is_some());
        let agent_now = a1
            .queues
            .get_agent(pb::GetAgentRequest {
                name: "agents/ag-1".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            agent_now.open_tickets, 0,
            "resolving frees the agent's place"
        );

        // The survey: its token is announced once; answered once; an unknown token is not found.
        eventually("the survey is announced", async || {
            survey_tokens(&t.name).len() == 1
        })
        .await;
        let token = survey_tokens(&t.name).remove(0);
        let mut portal = service_account(s);
        let submit = |token: &str, score| pb::SubmitSurveyRequest {
            token: token.into(),
            score,
            comment: "Quick and kind".into(),
        };
        let st = assert_code(
            portal.tickets.submit_survey(submit(&token, 9)).await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&st), ["score"]);
        assert_code(
            a1.tickets.submit_survey(submit(&token, 5)).await,
            Code::PermissionDenied,
        );
        assert_code(
            stranger(s).tickets.submit_survey(submit(&token, 5)).await,
            Code::PermissionDenied,
        );
        let answered = portal
            .tickets
            .submit_survey(submit(&token, 5))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(answered.ticket, t.name);
        let st = assert_code(
            portal.tickets.submit_survey(submit(&token, 1)).await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&st), "SURVEY_ANSWERED");
        assert_code(
            portal.tickets.submit_survey(submit("nope", 1)).await,
            Code::NotFound,
        );
        let with_answer = get(&mut a1, &t.name).await.unwrap();
        assert_eq!(with_answer.satisfaction.unwrap().score, 5);

        // Reopened within the window: back to its agent; after the window, refused.
        let reopened = set_state(
            &mut a1,
            &t.name,
            pb::TicketState::Reopened,
            "still scratched",
        )
        .await
        .unwrap();
        assert_eq!(reopened.reopen_count, 1);
        assert_eq!(reopened.assignee, "ag-1");
        set_state(&mut a1, &t.name, pb::TicketState::Resolved, "")
            .await
            .unwrap();
        set_state(&mut a1, &t.name, pb::TicketState::Closed, "")
            .await
            .unwrap();
        clock.advance(8 * 24 * HOUR);
        let st = assert_code(
            set_state(&mut a1, &t.name, pb::TicketState::Reopened, "").await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&st), "REOPEN_WINDOW_PASSED");
        // A survey whose token expired (7 days) is refused as such.
        eventually("the second survey is announced", async || {
            survey_tokens(&t.name).len() == 2
        })
        .await;
        let late = survey_tokens(&t.name).remove(1);
        let st = assert_code(
            portal.tickets.submit_survey(submit(&late, 4)).await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&st), "SURVEY_EXPIRED");
    })
    .await;
}

#[tokio::test]
async fn duplicates_merge_into_a_survivor_with_their_comments() {
    each_backend(&services(), async |s| {
        let queue = setup(s).await;
        let wang = customer(s, "Wang Fang", "+8613800138000", "rep-1", "north").await;
        let li = customer(s, "Li Lei", "+8613900139000", "rep-1", "north").await;
        let mut a1 = agent(s, "ag-1", "care");
        let keep = create(&mut a1, complaint(&wang, &queue), "").await.unwrap();
        let mut dup_ticket = complaint(&wang, &queue);
        dup_ticket.tags = vec!["sofa".into()];
        let dup = create(&mut a1, dup_ticket, "").await.unwrap();
        let other = create(&mut a1, complaint(&li, &queue), "").await.unwrap();
        comment(
            &mut a1,
            &dup.name,
            "Called twice about the same sofa",
            true,
            true,
        )
        .await
        .unwrap();
        let st = assert_code(
            a1.tickets
                .merge_tickets(pb::MergeTicketsRequest {
                    name: keep.name.clone(),
                    merged: vec![other.name.clone()],
                    request_id: String::new(),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&st), ["merged"]);
        let st = assert_code(
            a1.tickets
                .merge_tickets(pb::MergeTicketsRequest {
                    name: keep.name.clone(),
                    merged: vec![keep.name.clone(), "tickets/x".into()],
                    request_id: String::new(),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(sorted_bad_fields(&st), ["merged[0]", "merged[1]"]);
        let survivor = a1
            .tickets
            .merge_tickets(pb::MergeTicketsRequest {
                name: keep.name.clone(),
                merged: vec![dup.name.clone()],
                request_id: "merge-1".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(survivor.tags, ["sofa"]);
        let gone = get(&mut a1, &dup.name).await.unwrap();
        assert_eq!(gone.state, pb::TicketState::Closed as i32);
        assert_eq!(gone.merged_into, keep.name);
        let comments = a1
            .tickets
            .list_comments(pb::ListCommentsRequest {
                parent: keep.name.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .comments;
        assert_eq!(comments.len(), 1);
        assert_eq!(comments[0].moved_from, dup.name);
        // A retry answers the same; a merged ticket takes no more comments and stays closed.
        let again = a1
            .tickets
            .merge_tickets(pb::MergeTicketsRequest {
                name: keep.name.clone(),
                merged: vec![dup.name.clone()],
                request_id: "merge-1".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(again.etag, survivor.etag);
        assert_eq!(
            reason(&assert_code(
                comment(&mut a1, &dup.name, "more", true, false).await,
                Code::FailedPrecondition,
            )),
            "TICKET_MERGED"
        );
        assert_eq!(
            reason(&assert_code(
                set_state(&mut a1, &dup.name, pb::TicketState::Reopened, "").await,
                Code::FailedPrecondition,
            )),
            "TICKET_MERGED"
        );
        // Another tenant cannot merge into it, nor learn it exists.
        assert_code(
            stranger(s)
                .tickets
                .merge_tickets(pb::MergeTicketsRequest {
                    name: keep.name.clone(),
                    merged: vec![other.name.clone()],
                    request_id: String::new(),
                })
                .await,
            Code::NotFound,
        );
    })
    .await;
}

#[tokio::test]
async fn tickets_follow_their_customer_into_a_merge() {
    each_backend(&services(), async |s| {
        let queue = setup(s).await;
        let wang = customer(s, "Wang Fang", "+8613800138000", "rep-1", "north").await;
        let again = customer(s, "Wang Fang (2)", "+8613800138001", "rep-1", "north").await;
        let mut a1 = agent(s, "ag-1", "care");
        let t = create(&mut a1, complaint(&again, &queue), "")
            .await
            .unwrap();
        admin(s)
            .customers
            .merge_customers(cpb::MergeCustomersRequest {
                survivor: wang.clone(),
                merged: vec![again.clone()],
                ..Default::default()
            })
            .await
            .expect("merge customers");
        eventually("the ticket moves to the survivor", async || {
            get(&mut a1, &t.name).await.unwrap().customer == wang
        })
        .await;
        let events = history(&mut a1, &t.name).await;
        assert!(events.iter().any(|e| e.kind == "customer_changed"));
    })
    .await;
}
