//! Queues and routing (TK2) through gRPC on every backend: round-robin, least-busy and skills
//! routing with the reason of every decision, absent agents skipped, capacity never exceeded
//! under 64 concurrent creators, tickets waiting for room routed when room frees, and routing
//! by hand.

use std::collections::HashMap;

use crate::common::*;
use rapport_proto::tickets as pb;
use rapport_testkit::{each_backend, wait::eventually};
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_concurrent_creators_never_exceed_any_agents_capacity() {
    each_backend(&services(), async |s| {
        for (id, cap) in [("ag-1", 7), ("ag-2", 11), ("ag-3", 5)] {
            register_agent(s, id, "care", cap, &[]).await;
        }
        let queue = create_queue(
            s,
            "Hotline",
            "care",
            pb::RoutingStrategy::LeastBusy,
            &["ag-1", "ag-2", "ag-3"],
        )
        .await;
        let wang = customer(s, "Wang Fang", "+8613800138000", "rep-1", "north").await;
        let creators = (0..64).map(|i| {
            let mut c = admin(s);
            let t = complaint(&wang, &queue);
            async move { create(&mut c, t, &format!("burst-{i}")).await.unwrap() }
        });
        let made = futures::future::join_all(creators).await;
        let mut held: HashMap<String, i32> = HashMap::new();
        for t in &made {
            if !t.assignee.is_empty() {
                *held.entry(t.assignee.clone()).or_default() += 1;
            }
        }
        assert_eq!(held.get("ag-1"), Some(&7));
        assert_eq!(held.get("ag-2"), Some(&11));
        assert_eq!(held.get("ag-3"), Some(&5));
        let waiting = made.iter().filter(|t| t.assignee.is_empty()).count();
        assert_eq!(waiting, 64 - 23, "the rest wait for room");
        let mut a = admin(s);
        for (id, cap) in [("ag-1", 7), ("ag-2", 11), ("ag-3", 5)] {
            let agent = a
                .queues
                .get_agent(pb::GetAgentRequest {
                    name: format!("agents/{id}"),
                })
                .await
                .unwrap()
                .into_inner();
            assert_eq!(agent.open_tickets, cap, "{id}");
        }
        // Resolving one ticket frees a place: the oldest waiting ticket takes it.
        let held_by_1 = made.iter().find(|t| t.assignee == "ag-1").unwrap();
        set_state(&mut a, &held_by_1.name, pb::TicketState::Resolved, "fixed")
            .await
            .unwrap();
        eventually(
            "a waiting ticket is routed to the freed place",
            async || {
                let mut a = admin(s);
                let listed = a
                    .tickets
                    .list_tickets(pb::ListTicketsRequest {
                        filter: "assignee = \"ag-1\"".into(),
                        page_size: 100,
                        ..Default::default()
                    })
                    .await
                    .unwrap()
                    .into_inner();
                listed
                    .tickets
                    .iter()
                    .filter(|t| t.state != pb::TicketState::Resolved as i32)
                    .count()
                    == 7
            },
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn strategies_skip_absent_agents_and_say_why() {
    each_backend(&services(), async |s| {
        register_agent(s, "ag-1", "care", 10, &["sofa"]).await;
        register_agent(s, "ag-2", "care", 10, &["mattress", "delivery damage"]).await;
        register_agent(s, "ag-3", "care", 10, &["mattress"]).await;
        let skills = create_queue(
            s,
            "Experts",
            "care",
            pb::RoutingStrategy::Skills,
            &["ag-1", "ag-2", "ag-3"],
        )
        .await;
        let mut a = admin(s);
        a.queues
            .update_queue(pb::UpdateQueueRequest {
                queue: Some(pb::Queue {
                    name: skills.clone(),
                    skills_by_type: [(
                        "product_complaint".to_owned(),
                        pb::SkillList {
                            skills: vec!["mattress".into()],
                        },
                    )]
                    .into_iter()
                    .collect(),
                    ..Default::default()
                }),
                update_mask: mask(&["skills_by_type"]),
                etag: String::new(),
            })
            .await
            .unwrap();
        let wang = customer(s, "Wang Fang", "+8613800138000", "rep-1", "north").await;
        let mut t = complaint(&wang, &skills);
        t.tags = vec!["delivery damage".into()];
        let made = create(&mut a, t.clone(), "").await.unwrap();
        assert_eq!(made.assignee, "ag-2", "{}", made.routing_reason);
        assert!(
            made.routing_reason.contains("mattress, delivery damage"),
            "{}",
            made.routing_reason
        );
        // ag-2 goes absent: skipped, and the reason counts it.
        let ag2 = a
            .queues
            .get_agent(pb::GetAgentRequest {
                name: "agents/ag-2".into(),
            })
            .await
            .unwrap()
            .into_inner();
        a.queues
            .update_agent(pb::UpdateAgentRequest {
                agent: Some(pb::Agent {
                    name: ag2.name.clone(),
                    status: pb::AgentStatus::Absent.into(),
                    ..Default::default()
                }),
                update_mask: mask(&["status"]),
                etag: ag2.etag.clone(),
            })
            .await
            .unwrap();
        let next = create(&mut a, t, "").await.unwrap();
        assert_eq!(next.assignee, "ag-3", "{}", next.routing_reason);
        assert!(
            next.routing_reason.contains("skipped 1 absent"),
            "{}",
            next.routing_reason
        );
        // A stale etag on the agent is refused; bad capacity and unknown members too.
        assert_code(
            a.queues
                .update_agent(pb::UpdateAgentRequest {
                    agent: Some(pb::Agent {
                        name: ag2.name.clone(),
                        capacity: 3,
                        ..Default::default()
                    }),
                    update_mask: mask(&["capacity"]),
                    etag: ag2.etag.clone(),
                })
                .await,
            Code::Aborted,
        );
        let st = assert_code(
            a.queues
                .create_queue(pb::CreateQueueRequest {
                    queue: Some(pb::Queue {
                        display_name: String::new(),
                        members: vec!["ghost".into()],
                        strategy: 99,
                        ..Default::default()
                    }),
                    request_id: String::new(),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&st),
            ["queue.display_name", "queue.strategy"]
        );
        let st = assert_code(
            a.queues
                .create_queue(pb::CreateQueueRequest {
                    queue: Some(pb::Queue {
                        display_name: "Ghosts".into(),
                        members: vec!["ghost".into()],
                        ..Default::default()
                    }),
                    request_id: String::new(),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&st), ["queue.members[0]"]);
        let st = assert_code(
            a.queues
                .create_agent(pb::CreateAgentRequest {
                    agent_id: String::new(),
                    agent: Some(pb::Agent {
                        capacity: 5000,
                        ..Default::default()
                    }),
                    request_id: String::new(),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&st),
            ["agent.capacity", "agent.display_name", "agent_id"]
        );
        assert_code(
            a.queues
                .create_agent(pb::CreateAgentRequest {
                    agent_id: "ag-1".into(),
                    agent: Some(pb::Agent {
                        display_name: "Again".into(),
                        ..Default::default()
                    }),
                    request_id: String::new(),
                })
                .await,
            Code::AlreadyExists,
        );
        // Another tenant sees none of it; agents may not change queues.
        assert_code(
            stranger(s)
                .queues
                .get_queue(pb::GetQueueRequest {
                    name: skills.clone(),
                })
                .await,
            Code::NotFound,
        );
        assert_code(
            agent(s, "ag-1", "care")
                .queues
                .create_queue(pb::CreateQueueRequest::default())
                .await,
            Code::PermissionDenied,
        );
    })
    .await;
}

#[tokio::test]
async fn a_supervisor_routes_by_hand_within_capacity() {
    each_backend(&services(), async |s| {
        register_agent(s, "ag-1", "care", 1, &[]).await;
        register_agent(s, "ag-2", "care", 1, &[]).await;
        let queue = create_queue(
            s,
            "Complaints",
            "care",
            pb::RoutingStrategy::RoundRobin,
            &["ag-1", "ag-2"],
        )
        .await;
        let wang = customer(s, "Wang Fang", "+8613800138000", "rep-1", "north").await;
        let mut lead = supervisor(s, "care-lead", "care");
        let t1 = create(&mut lead, complaint(&wang, &queue), "")
            .await
            .unwrap();
        let t2 = create(&mut lead, complaint(&wang, &queue), "")
            .await
            .unwrap();
        let t3 = create(&mut lead, complaint(&wang, &queue), "")
            .await
            .unwrap();
        assert!(t3.assignee.is_empty(), "both agents are full");
        let full = if t1.assignee == "ag-1" { &t2 } else { &t1 };
        let st = assert_code(
            lead.tickets
                .assign_ticket(pb::AssignTicketRequest {
                    name: t3.name.clone(),
                    agent: full.assignee.clone(),
                    ..Default::default()
                })
                .await,
            Code::InvalidArgument,
        );
        assert!(
            st.message().contains("already holds its 1 tickets"),
            "{}",
            st.message()
        );
        // Moving t1 to its own queue again frees its agent's place and takes it back.
        let moved = lead
            .tickets
            .assign_ticket(pb::AssignTicketRequest {
                name: t1.name.clone(),
                agent: t1.assignee.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(moved.assignee, t1.assignee);
        assert!(moved.routing_reason.contains("routed again by care-lead"));
        assert_code(
            agent(s, "ag-1", "care")
                .tickets
                .assign_ticket(pb::AssignTicketRequest {
                    name: t1.name.clone(),
                    ..Default::default()
                })
                .await,
            Code::PermissionDenied,
        );
        let events = history(&mut lead, &t3.name).await;
        assert_eq!(events[0].kind, "created");
        assert_eq!(events[1].kind, "waiting_for_room");
    })
    .await;
}
