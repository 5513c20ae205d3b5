//! TicketService (TK1, TK5) through gRPC on every backend: tickets for customers the caller
//! may see, routed and timed on create, who sees and changes what, bad input, retries and
//! stale etags.

use crate::common::*;
use rapport_proto::tickets as pb;
use rapport_runtime::auth::Role;
use rapport_testkit::each_backend;
use tonic::Code;

/// Two agents of team "care" in a round-robin queue "Complaints"; its name.
async fn care_queue(s: &rapport_testkit::TestServer) -> String {
    register_agent(s, "ag-1", "care", 5, &[]).await;
    register_agent(s, "ag-2", "care", 5, &[]).await;
    create_queue(
        s,
        "Complaints",
        "care",
        pb::RoutingStrategy::RoundRobin,
        &["ag-1", "ag-2"],
    )
    .await
}

#[tokio::test]
async fn a_ticket_is_routed_and_timed_on_create_and_every_caller_sees_what_it_may() {
    each_backend(&services(), async |s| {
        let queue = care_queue(s).await;
        set_settings(
            s,
            pb::TicketSettings {
                sla_policies: vec![pb::SlaPolicy {
                    display_name: "Complaints".into(),
                    conditions: Some(pb::TicketConditions {
                        types: vec!["product_complaint".into()],
                        ..Default::default()
                    }),
                    first_response_minutes: 60,
                    resolution_minutes: 480,
                    ..Default::default()
                }],
                ..Default::default()
            },
            &["sla_policies"],
        )
        .await;
        let wang = customer(s, "Wang Fang", "+8613800138000", "rep-1", "north").await;
        let mut a1 = agent(s, "ag-1", "care");
        let t = create(&mut a1, complaint(&wang, &queue), "").await.unwrap();
        assert_eq!(t.state, pb::TicketState::New as i32);
        assert!(!t.assignee.is_empty());
        assert_eq!(t.team_id, "care");
        assert!(
            t.routing_reason.contains("round-robin"),
            "{}",
            t.routing_reason
        );
        assert_eq!(t.sla_policy, "Complaints");
        assert_eq!(t.customer_grade, "A");
        let first = target(&t, pb::SlaTargetKind::FirstResponse);
        assert_eq!(first.target_minutes, 60);
        assert_eq!(first.state, pb::SlaState::OnTrack as i32);
        assert!(first.due_time.is_some());

        // Round robin: the next ticket goes to the other agent.
        let t2 = create(&mut a1, complaint(&wang, &queue), "").await.unwrap();
        assert_ne!(t2.assignee, t.assignee);

        // The agents of the queue, the team's supervisor, the customer's rep and the admin
        // see it; another team's supervisor, a rep of another team, another tenant do not.
        get(&mut agent(s, "ag-2", "care"), &t.name).await.unwrap();
        get(&mut supervisor(s, "care-lead", "care"), &t.name)
            .await
            .unwrap();
        get(&mut rep(s, "rep-1", "north"), &t.name).await.unwrap();
        get(&mut admin(s), &t.name).await.unwrap();
        for mut other in [
            supervisor(s, "south-lead", "south"),
            rep(s, "rep-9", "south"),
            agent(s, "ag-9", "other"),
            stranger(s),
        ] {
            assert_code(get(&mut other, &t.name).await, Code::NotFound);
        }
        // Marketers have no tickets; reps only read.
        assert_code(
            get(&mut as_user(s, "mk", &[Role::Marketer]), &t.name).await,
            Code::PermissionDenied,
        );
        assert_code(
            create(&mut rep(s, "rep-1", "north"), complaint(&wang, &queue), "").await,
            Code::PermissionDenied,
        );
        assert_code(
            set_state(
                &mut rep(s, "rep-1", "north"),
                &t.name,
                pb::TicketState::Resolved,
                "",
            )
            .await,
            Code::PermissionDenied,
        );

        // Lists: the agent sees its queue's, a rep must name the customer.
        let listed = a1
            .tickets
            .list_tickets(pb::ListTicketsRequest {
                filter: "state = NEW".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(listed.tickets.len(), 2);
        let mut r1 = rep(s, "rep-1", "north");
        let st = assert_code(
            r1.tickets
                .list_tickets(pb::ListTicketsRequest::default())
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&st), ["filter"]);
        let mine = r1
            .tickets
            .list_tickets(pb::ListTicketsRequest {
                filter: format!("customer = \"{wang}\""),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(mine.tickets.len(), 2);
        let theirs = rep(s, "rep-9", "south")
            .tickets
            .list_tickets(pb::ListTicketsRequest {
                filter: format!("customer = \"{wang}\""),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(theirs.tickets.is_empty(), "another team's rep sees none");
        let none = stranger(s)
            .tickets
            .list_tickets(pb::ListTicketsRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert!(none.tickets.is_empty());
    })
    .await;
}

#[tokio::test]
async fn bad_input_names_every_bad_field_and_writes_nothing() {
    each_backend(&services(), async |s| {
        let queue = care_queue(s).await;
        let wang = customer(s, "Wang Fang", "+8613800138000", "rep-1", "north").await;
        let mut a = admin(s);
        let st = assert_code(
            create(
                &mut a,
                pb::Ticket {
                    r#type: "nonsense".into(),
                    subject: String::new(),
                    priority: 42,
                    channel: 0,
                    customer: "customers/not-a-uuid".into(),
                    order_lines: vec!["l1".into()],
                    tags: vec![String::new()],
                    queue: "queues/x".into(),
                    ..Default::default()
                },
                "",
            )
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&st),
            [
                "ticket.channel",
                "ticket.customer",
                "ticket.order",
                "ticket.priority",
                "ticket.queue",
                "ticket.subject",
                "ticket.tags[0]",
                "ticket.type",
            ]
        );
        // Another tenant's customer and one that does not exist read alike.
        let theirs = stranger(s)
            .customers
            .create_customer(rapport_proto::customers::CreateCustomerRequest {
                customer: Some(rapport_proto::customers::Customer {
                    kind: rapport_proto::customers::CustomerKind::Person.into(),
                    display_name: "Li Lei".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner()
            .name;
        for c in [
            theirs,
            "customers/0190f5a4-0000-7000-8000-000000000000".to_owned(),
        ] {
            let st = assert_code(
                create(&mut a, complaint(&c, &queue), "").await,
                Code::InvalidArgument,
            );
            assert_eq!(bad_fields(&st), ["ticket.customer"]);
            assert!(
                st.message()
                    .contains("does not exist or you may not see it")
            );
        }
        // A queue that does not exist, and none at all with no routing rule.
        let st = assert_code(
            create(
                &mut a,
                complaint(&wang, "queues/0190f5a4-0000-7000-8000-000000000000"),
                "",
            )
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&st), ["ticket.queue"]);
        let st = assert_code(
            create(&mut a, complaint(&wang, ""), "").await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&st), ["ticket.queue"]);
        let listed = a
            .tickets
            .list_tickets(pb::ListTicketsRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert!(listed.tickets.is_empty(), "nothing was written");
        // Garbage names and filters.
        assert_code(
            get(&mut a, "tickets/../../etc").await,
            Code::InvalidArgument,
        );
        let st = assert_code(
            a.tickets
                .list_tickets(pb::ListTicketsRequest {
                    filter: "nonsense ~ 3".into(),
                    order_by: "colour".into(),
                    ..Default::default()
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(sorted_bad_fields(&st), ["filter", "order_by"]);
        // An oversized subject.
        let mut big = complaint(&wang, &queue);
        big.subject = "x".repeat(201);
        big.description = "y".repeat(10_001);
        let st = assert_code(create(&mut a, big, "").await, Code::InvalidArgument);
        assert_eq!(
            sorted_bad_fields(&st),
            ["ticket.description", "ticket.subject"]
        );
    })
    .await;
}

#[tokio::test]
async fn request_ids_replay_for_their_caller_and_stale_etags_are_refused() {
    each_backend(&services(), async |s| {
        let queue = care_queue(s).await;
        let wang = customer(s, "Wang Fang", "+8613800138000", "rep-1", "north").await;
        let mut a1 = agent(s, "ag-1", "care");
        let first = create(&mut a1, complaint(&wang, &queue), "req-1")
            .await
            .unwrap();
        let again = create(&mut a1, complaint(&wang, &queue), "req-1")
            .await
            .unwrap();
        assert_eq!(again.name, first.name, "a retry answers the first ticket");
        // Another user's request id is theirs alone: it makes its own ticket, and never
        // answers with the first caller's.
        let other = create(
            &mut agent(s, "ag-2", "care"),
            complaint(&wang, &queue),
            "req-1",
        )
        .await
        .unwrap();
        assert_ne!(other.name, first.name);
        let st = assert_code(
            create(&mut stranger(s), complaint(&wang, &queue), "req-1").await,
            Code::InvalidArgument,
        );
        assert!(!st.message().contains(&first.name));

        // Update with the current etag, then the stale one.
        let mut changed = first.clone();
        changed.subject = "Scratched armrest".into();
        changed.priority = pb::Priority::High.into();
        changed.tags = vec!["vip".into()];
        let updated = a1
            .tickets
            .update_ticket(pb::UpdateTicketRequest {
                ticket: Some(changed.clone()),
                update_mask: mask(&["subject", "priority", "tags"]),
                etag: first.etag.clone(),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(updated.subject, "Scratched armrest");
        assert_eq!(updated.priority, pb::Priority::High as i32);
        let st = assert_code(
            a1.tickets
                .update_ticket(pb::UpdateTicketRequest {
                    ticket: Some(changed.clone()),
                    update_mask: mask(&["subject"]),
                    etag: first.etag.clone(),
                    request_id: String::new(),
                })
                .await,
            Code::Aborted,
        );
        assert!(st.message().contains(&first.name));
        let st = assert_code(
            a1.tickets
                .update_ticket(pb::UpdateTicketRequest {
                    ticket: Some(changed),
                    update_mask: mask(&["state", "customer", "colour"]),
                    etag: String::new(),
                    request_id: String::new(),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            bad_fields(&st),
            ["update_mask", "update_mask", "update_mask"]
        );
        let st = assert_code(
            a1.tickets
                .change_ticket_state(pb::ChangeTicketStateRequest {
                    name: first.name.clone(),
                    state: pb::TicketState::Resolved.into(),
                    etag: first.etag.clone(),
                    ..Default::default()
                })
                .await,
            Code::Aborted,
        );
        assert!(st.message().contains(&first.name));
    })
    .await;
}

#[tokio::test]
async fn tenant_types_check_their_typed_fields() {
    each_backend(&services(), async |s| {
        let queue = care_queue(s).await;
        set_settings(
            s,
            pb::TicketSettings {
                ticket_types: vec![pb::TicketType {
                    key: "installation_issue".into(),
                    display_name: "Installation issue".into(),
                    fields: vec![
                        pb::FieldDefinition {
                            key: "visit_date".into(),
                            display_name: "Visit date".into(),
                            r#type: pb::FieldType::Date.into(),
                            required: true,
                            ..Default::default()
                        },
                        pb::FieldDefinition {
                            key: "rooms".into(),
                            display_name: "Rooms".into(),
                            r#type: pb::FieldType::Integer.into(),
                            ..Default::default()
                        },
                    ],
                    complaint: true,
                }],
                ..Default::default()
            },
            &["ticket_types"],
        )
        .await;
        let wang = customer(s, "Wang Fang", "+8613800138000", "rep-1", "north").await;
        let mut a = admin(s);
        let mut t = complaint(&wang, &queue);
        t.r#type = "installation_issue".into();
        t.fields = [
            ("rooms".to_owned(), "three".to_owned()),
            ("colour".to_owned(), "red".to_owned()),
        ]
        .into_iter()
        .collect();
        let st = assert_code(create(&mut a, t.clone(), "").await, Code::InvalidArgument);
        assert_eq!(
            sorted_bad_fields(&st),
            [
                "ticket.fields.colour",
                "ticket.fields.rooms",
                "ticket.fields.visit_date"
            ]
        );
        t.fields = [
            ("rooms".to_owned(), "3".to_owned()),
            ("visit_date".to_owned(), "2026-12-01".to_owned()),
        ]
        .into_iter()
        .collect();
        let made = create(&mut a, t, "").await.unwrap();
        assert_eq!(made.fields["rooms"], "3");
        // A built-in key cannot be a tenant type.
        let st = assert_code(
            a.tickets
                .update_ticket_settings(pb::UpdateTicketSettingsRequest {
                    settings: Some(pb::TicketSettings {
                        ticket_types: vec![pb::TicketType {
                            key: "price_inquiry".into(),
                            display_name: "Mine".into(),
                            ..Default::default()
                        }],
                        reopen_window_days: -1,
                        ..Default::default()
                    }),
                    update_mask: mask(&["ticket_types", "reopen_window_days"]),
                    etag: String::new(),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&st),
            [
                "settings.reopen_window_days",
                "settings.ticket_types[0].key"
            ]
        );
        // Only admins change settings.
        assert_code(
            supervisor(s, "care-lead", "care")
                .tickets
                .update_ticket_settings(pb::UpdateTicketSettingsRequest {
                    settings: Some(pb::TicketSettings::default()),
                    update_mask: mask(&["reopen_window_days"]),
                    etag: String::new(),
                })
                .await,
            Code::PermissionDenied,
        );
    })
    .await;
}

#[tokio::test]
async fn another_tenant_meets_not_found_in_every_rpc_that_names_a_ticket() {
    each_backend(&services(), async |s| {
        let queue = care_queue(s).await;
        let wang = customer(s, "Wang Fang", "+8613800138000", "rep-1", "north").await;
        let mut a = admin(s);
        let t = create(&mut a, complaint(&wang, &queue), "").await.unwrap();
        let dup = create(&mut a, complaint(&wang, &queue), "").await.unwrap();
        let mut x = stranger(s);
        let name = t.name.clone();
        let nf = |r: Result<(), tonic::Status>, what: &str| {
            let st = r.expect_err(what);
            assert_eq!(st.code(), Code::NotFound, "{what}: {st:?}");
        };
        nf(get(&mut x, &name).await.map(drop), "get");
        nf(
            x.tickets
                .update_ticket(pb::UpdateTicketRequest {
                    ticket: Some(pb::Ticket {
                        name: name.clone(),
                        subject: "mine now".into(),
                        ..Default::default()
                    }),
                    update_mask: mask(&["subject"]),
                    ..Default::default()
                })
                .await
                .map(drop),
            "update",
        );
        nf(
            x.tickets
                .assign_ticket(pb::AssignTicketRequest {
                    name: name.clone(),
                    ..Default::default()
                })
                .await
                .map(drop),
            "assign",
        );
        nf(
            set_state(&mut x, &name, pb::TicketState::Resolved, "")
                .await
                .map(drop),
            "state",
        );
        nf(
            comment(&mut x, &name, "hi", true, false).await.map(drop),
            "comment",
        );
        nf(
            x.tickets
                .list_comments(pb::ListCommentsRequest {
                    parent: name.clone(),
                    ..Default::default()
                })
                .await
                .map(drop),
            "comments",
        );
        nf(
            x.tickets
                .list_ticket_events(pb::ListTicketEventsRequest {
                    parent: name.clone(),
                    ..Default::default()
                })
                .await
                .map(drop),
            "events",
        );
        nf(
            x.tickets
                .merge_tickets(pb::MergeTicketsRequest {
                    name: name.clone(),
                    merged: vec![dup.name.clone()],
                    request_id: String::new(),
                })
                .await
                .map(drop),
            "merge",
        );
        nf(
            x.tickets
                .approve_return_request(pb::ApproveReturnRequestRequest {
                    name: name.clone(),
                    ..Default::default()
                })
                .await
                .map(drop),
            "approve",
        );
        nf(
            x.queues
                .get_agent(pb::GetAgentRequest {
                    name: "agents/ag-1".into(),
                })
                .await
                .map(drop),
            "agent",
        );
        // Nothing changed for the owner.
        let now = get(&mut a, &name).await.unwrap();
        assert_eq!(now.etag, t.etag);
        // No credential, a garbled one: UNAUTHENTICATED.
        for bearer in [
            rapport_testkit::Bearer::none(),
            rapport_testkit::Bearer::raw("Bearer nope"),
        ] {
            let mut anon = clients_with(s, bearer);
            assert_code(get(&mut anon, &name).await, Code::Unauthenticated);
        }
    })
    .await;
}
