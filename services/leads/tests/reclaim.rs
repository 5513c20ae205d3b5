//! Follow-up rules and forced reclaim (LE7) with an injected clock, on every backend: the
//! owner is warned ahead, the lead goes back to the pool after the rule's time, follow-ups
//! restart the clock, locked leads are exempt, two replicas sweeping at once reclaim each lead
//! once, and leads that fall due while the server is down are reclaimed after it restarts.

use std::time::Duration;

use crate::common::*;
use rapport_proto::leads as pb;
use rapport_runtime::clock::ManualClock;
use rapport_testkit::{Backend, TestServer};

const DAY_SECS: i64 = 86_400;
const DAY: i64 = DAY_SECS * 1_000_000;
const T0: i64 = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z

async fn start(backend: Backend) -> (TestServer, ManualClock) {
    let clock = ManualClock::at(T0);
    let s = TestServer::builder()
        .clock(clock.clone())
        .start(backend, &services())
        .await;
    (s, clock)
}

/// Team north, rep alice (room for 100), and the rule: no follow-up for 3 days → back to the
/// pool, with a warning a day ahead.
async fn setup(s: &TestServer) -> Clients {
    let mut a = admin(s);
    a.org
        .create_team(pb::CreateTeamRequest {
            team: Some(pb::Team {
                name: "teams/north".into(),
                display_name: "North".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap();
    a.org
        .create_rep(pb::CreateRepRequest {
            rep: Some(pb::Rep {
                name: "reps/alice".into(),
                display_name: "Alice".into(),
                team: "teams/north".into(),
                capacity: 100,
                ..Default::default()
            }),
        })
        .await
        .unwrap();
    a.leads
        .update_lead_settings(pb::UpdateLeadSettingsRequest {
            settings: Some(pb::LeadSettings {
                follow_up_rules: vec![pb::FollowUpRule {
                    display_name: "call within 3 days".into(),
                    condition: pb::FollowUpCondition::NoFollowUp.into(),
                    after: secs(3 * DAY_SECS),
                    warn_before: secs(DAY_SECS),
                    grade: 0,
                    action: pb::ReclaimAction::ReturnToPool.into(),
                }],
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["follow_up_rules".into()],
            }),
        })
        .await
        .unwrap();
    a
}

/// A lead assigned to alice now.
async fn assigned_lead(a: &mut Clients, i: usize) -> String {
    let l = a
        .leads
        .create_lead(pb::CreateLeadRequest {
            lead: Some(pb::Lead {
                display_name: format!("lead {i}"),
                phone: format!("1370000{i:04}"),
                source: pb::LeadSource::Form.into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    a.leads
        .assign_lead(pb::AssignLeadRequest {
            name: l.name.clone(),
            rep: "reps/alice".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    l.name
}

async fn owner(a: &mut Clients, name: &str) -> String {
    a.leads
        .get_lead(pb::GetLeadRequest { name: name.into() })
        .await
        .unwrap()
        .into_inner()
        .owner_id
}

async fn alerts(c: &mut Clients, kind: pb::AlertKind) -> Vec<pb::Alert> {
    c.tasks
        .list_alerts(pb::ListAlertsRequest {
            kind: kind.into(),
            page_size: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .alerts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warned_then_reclaimed_unless_followed_up_or_locked() {
    for backend in Backend::all() {
        eprintln!("-- on {backend:?}");
        let (s, clock) = start(backend).await;
        let mut a = setup(&s).await;
        let mut alice = rep(&s, "alice", "north");
        let idle = assigned_lead(&mut a, 1).await;
        let busy = assigned_lead(&mut a, 2).await;
        let locked = assigned_lead(&mut a, 3).await;
        a.leads
            .set_lead_lock(pb::SetLeadLockRequest {
                name: locked.clone(),
                locked: true,
                etag: String::new(),
            })
            .await
            .unwrap();

        clock.advance(2 * DAY + 1_000_000);
        alice
            .leads
            .record_follow_up(pb::RecordFollowUpRequest {
                name: busy.clone(),
                ..Default::default()
            })
            .await
            .unwrap();
        eventually("alice is warned about the idle lead", async || {
            alerts(&mut alice, pb::AlertKind::ReclaimWarning)
                .await
                .iter()
                .any(|x| x.subject == idle)
        })
        .await;
        let warnings = alerts(&mut alice, pb::AlertKind::ReclaimWarning).await;
        assert_eq!(warnings.len(), 1, "only the idle lead: {warnings:?}");

        clock.advance(DAY);
        eventually("the idle lead is back in the pool", async || {
            owner(&mut a, &idle).await.is_empty()
        })
        .await;
        assert_eq!(
            owner(&mut a, &busy).await,
            "alice",
            "the follow-up restarted its clock"
        );
        assert_eq!(
            owner(&mut a, &locked).await,
            "alice",
            "locked leads are exempt"
        );
        let history = a
            .leads
            .list_assignments(pb::ListAssignmentsRequest {
                parent: idle.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .assignments;
        assert_eq!(history[0].kind(), pb::AssignmentKind::Reclaim);
        assert_eq!(history[0].previous_owner_id, "alice");
        assert!(history[0].reason.contains("call within 3 days"));
        assert_eq!(alerts(&mut alice, pb::AlertKind::Reclaimed).await.len(), 1);
        let rep = a
            .org
            .get_rep(pb::GetRepRequest {
                name: "reps/alice".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(rep.open_leads, 2, "the reclaimed lead freed its place");
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_reclaim_each_lead_once_and_restarts_miss_nothing() {
    for backend in Backend::all() {
        eprintln!("-- on {backend:?}");
        let (mut s, clock) = start(backend).await;
        let mut a = setup(&s).await;
        let mut names = Vec::new();
        for i in 0..30 {
            names.push(assigned_lead(&mut a, i).await);
        }
        let replica = s.start_replica().await;
        clock.advance(3 * DAY + 1_000_000);
        let mut alice = rep(&s, "alice", "north");
        eventually("every lead is back in the pool", async || {
            for n in &names {
                if !owner(&mut a, n).await.is_empty() {
                    return false;
                }
            }
            true
        })
        .await;
        // Let both sweepers run a few more times: nothing happens twice.
        tokio::time::sleep(Duration::from_millis(2500)).await;
        for n in &names {
            let h = a
                .leads
                .list_assignments(pb::ListAssignmentsRequest {
                    parent: n.clone(),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .assignments;
            let reclaims = h
                .iter()
                .filter(|x| x.kind() == pb::AssignmentKind::Reclaim)
                .count();
            assert_eq!(reclaims, 1, "{n} reclaimed {reclaims} times");
        }
        assert_eq!(
            alerts(&mut alice, pb::AlertKind::Reclaimed).await.len(),
            names.len()
        );
        assert_eq!(
            alerts(&mut alice, pb::AlertKind::ReclaimWarning)
                .await
                .len(),
            names.len()
        );
        replica.shutdown().await.unwrap();

        // Leads falling due while no server runs are reclaimed once it is back.
        let late = assigned_lead(&mut a, 99).await;
        s.restart().await;
        let mut a = admin(&s);
        clock.advance(4 * DAY);
        eventually("the late lead is reclaimed after the restart", async || {
            owner(&mut a, &late).await.is_empty()
        })
        .await;
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reassign_rules_hand_the_lead_to_another_rep() {
    for backend in Backend::all() {
        eprintln!("-- on {backend:?}");
        let (s, clock) = start(backend).await;
        let mut a = setup(&s).await;
        a.org
            .create_rep(pb::CreateRepRequest {
                rep: Some(pb::Rep {
                    name: "reps/bob".into(),
                    display_name: "Bob".into(),
                    team: "teams/north".into(),
                    ..Default::default()
                }),
            })
            .await
            .unwrap();
        a.leads
            .update_lead_settings(pb::UpdateLeadSettingsRequest {
                settings: Some(pb::LeadSettings {
                    follow_up_rules: vec![pb::FollowUpRule {
                        display_name: "no deal in 10 days".into(),
                        condition: pb::FollowUpCondition::NoDeal.into(),
                        after: secs(10 * DAY_SECS),
                        warn_before: None,
                        grade: 0,
                        action: pb::ReclaimAction::Reassign.into(),
                    }],
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["follow_up_rules".into()],
                }),
            })
            .await
            .unwrap();
        let lead = assigned_lead(&mut a, 7).await;
        clock.advance(10 * DAY + 1_000_000);
        eventually("the lead moves to bob", async || {
            owner(&mut a, &lead).await == "bob"
        })
        .await;
        let mut alice = rep(&s, "alice", "north");
        assert_eq!(alerts(&mut alice, pb::AlertKind::Reclaimed).await.len(), 1);
        let mut bob = rep(&s, "bob", "north");
        assert!(
            alerts(&mut bob, pb::AlertKind::Assigned)
                .await
                .iter()
                .any(|x| x.subject == lead)
        );
        s.stop().await;
    }
}
