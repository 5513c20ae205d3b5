//! SLA clocks and escalation (TK3, TK4) through gRPC on every backend, on a Shanghai business
//! calendar with National Day holidays and make-up working days: deadlines that skip closed
//! time, clocks paused while the ticket waits for the customer, at-risk and breached with
//! each escalation firing once with two sweeping replicas and after a restart.

use std::time::Duration;

use crate::common::*;
use rapport_proto::tickets as pb;
use rapport_runtime::clock::{HOUR, MINUTE, Micros};
use rapport_testkit::{Backend, TestServer, values::micros, wait::eventually};

/// Friday 2026-09-25 10:00 in Shanghai (02:00 UTC).
const FRI_10: Micros = 1_790_301_600_000_000;
/// One day.
const DAY: Micros = 24 * HOUR;

async fn setup(s: &TestServer) -> String {
    register_agent(s, "ag-1", "care", 10, &[]).await;
    complaint_sla(s).await;
    create_queue(
        s,
        "Complaints",
        "care",
        pb::RoutingStrategy::RoundRobin,
        &["ag-1"],
    )
    .await
}

fn kinds(events: &[pb::TicketEvent], kind: &str) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.kind == kind)
        .map(|e| format!("{} | {}", e.rule, e.detail))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deadlines_follow_the_calendar_and_each_escalation_fires_once() {
    for backend in Backend::all() {
        eprintln!("-- on {backend:?}");
        let clock = rapport_runtime::clock::ManualClock::at(FRI_10);
        let mut s = TestServer::builder()
            .clock(clock.clone())
            .start(backend, &services())
            .await;
        let queue = setup(&s).await;
        let wang = customer(&s, "Wang Fang", "+8613800138000", "rep-1", "north").await;
        let mut a1 = agent(&s, "ag-1", "care");
        let t = create(&mut a1, complaint(&wang, &queue), "").await.unwrap();
        // First response by Friday 11:00; resolution after 8 working hours: 6.5 on Friday,
        // none on Saturday, 1.5 on the make-up Sunday: Sunday 10:30 (02:30 UTC); at risk after
        // 6 hours, Friday 17:30.
        let first = target(&t, pb::SlaTargetKind::FirstResponse);
        assert_eq!(micros(&first.due_time), FRI_10 + HOUR);
        let res = target(&t, pb::SlaTargetKind::Resolution);
        assert_eq!(micros(&res.due_time), FRI_10 + 2 * DAY + 30 * MINUTE);
        assert_eq!(micros(&res.warn_time), FRI_10 + 7 * HOUR + 30 * MINUTE);

        // Two replicas sweep; the first response breaches (no rule on it), then resolution
        // turns at risk: the notice fires once.
        let replica = s.start_replica().await;
        clock.set(FRI_10 + 7 * HOUR + 31 * MINUTE);
        eventually("resolution is at risk", async || {
            let now = get(&mut a1, &t.name).await.unwrap();
            target(&now, pb::SlaTargetKind::Resolution).state == pb::SlaState::AtRisk as i32
        })
        .await;
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let now = get(&mut a1, &t.name).await.unwrap();
        assert!(target(&now, pb::SlaTargetKind::FirstResponse).breached);
        assert_eq!(now.escalation_level, 1);
        let events = history(&mut a1, &t.name).await;
        assert_eq!(
            kinds(&events, "escalated"),
            ["Warn the agent | notified ag-1"]
        );
        assert_eq!(
            kinds(&events, "sla_at_risk").len(),
            2,
            "first response, resolution"
        );
        assert_eq!(kinds(&events, "sla_breached").len(), 1, "first response");
        replica.shutdown().await.unwrap();

        // The breach falls due while no server runs: it fires once after the restart.
        s.halt().await;
        clock.set(FRI_10 + 2 * DAY + 31 * MINUTE);
        s.restart().await;
        let mut a1 = agent(&s, "ag-1", "care");
        eventually("resolution is breached and escalated", async || {
            get(&mut a1, &t.name).await.unwrap().state == pb::TicketState::Escalated as i32
        })
        .await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let now = get(&mut a1, &t.name).await.unwrap();
        assert_eq!(now.priority, pb::Priority::High as i32);
        assert_eq!(now.escalation_level, 2);
        let res = target(&now, pb::SlaTargetKind::Resolution);
        assert!(res.breached);
        assert_eq!(res.state, pb::SlaState::Breached as i32);
        let events = history(&mut a1, &t.name).await;
        assert_eq!(
            kinds(&events, "escalated"),
            [
                "Warn the agent | notified ag-1",
                "To the supervisor | priority NORMAL → HIGH",
                "To the supervisor | escalated to the supervisor care-lead",
            ]
        );
        // Resolved late: met, and the breach stays on record.
        let done = set_state(&mut a1, &t.name, pb::TicketState::Resolved, "replaced")
            .await
            .unwrap();
        let res = target(&done, pb::SlaTargetKind::Resolution);
        assert_eq!(res.state, pb::SlaState::Met as i32);
        assert!(res.breached);
        s.stop().await;
    }
}

#[tokio::test]
async fn waiting_for_the_customer_pauses_the_clocks_over_the_weekend_and_the_holiday() {
    rapport_testkit::each_backend_at(&services(), FRI_10, async |s, clock| {
        let queue = setup(s).await;
        let wang = customer(s, "Wang Fang", "+8613800138000", "rep-1", "north").await;
        let mut a1 = agent(s, "ag-1", "care");
        let t = create(&mut a1, complaint(&wang, &queue), "").await.unwrap();
        clock.advance(30 * MINUTE);
        comment(
            &mut a1,
            &t.name,
            "We are sorry; may we see a photo?",
            true,
            false,
        )
        .await
        .unwrap();
        let answered = get(&mut a1, &t.name).await.unwrap();
        assert_eq!(answered.state, pb::TicketState::Open as i32);
        let first = target(&answered, pb::SlaTargetKind::FirstResponse);
        assert_eq!(first.state, pb::SlaState::Met as i32);
        assert_eq!(first.used_seconds, 30 * 60);
        clock.advance(30 * MINUTE);
        let waiting = set_state(&mut a1, &t.name, pb::TicketState::PendingCustomer, "photo")
            .await
            .unwrap();
        let res = target(&waiting, pb::SlaTargetKind::Resolution);
        assert!(res.paused && res.due_time.is_none());
        assert_eq!(res.used_seconds, 3600);
        // The customer answers the next Wednesday at 17:00: one working hour left that day,
        // October 1–7 closed, then six hours on Thursday October 8: due 16:30 (08:30 UTC),
        // not counting the make-up Sunday the ticket spent waiting.
        clock.set(FRI_10 + 5 * DAY + 7 * HOUR);
        comment(&mut a1, &t.name, "Here is the photo", true, true)
            .await
            .unwrap();
        let back = get(&mut a1, &t.name).await.unwrap();
        assert_eq!(back.state, pb::TicketState::Open as i32);
        let res = target(&back, pb::SlaTargetKind::Resolution);
        let oct8_1630 = FRI_10 + 13 * DAY + 6 * HOUR + 30 * MINUTE;
        assert_eq!(micros(&res.due_time), oct8_1630);
        assert!(!res.paused);
        // The customer wrote: the next response is due within 2 working hours.
        let next = target(&back, pb::SlaTargetKind::NextResponse);
        assert_eq!(micros(&next.due_time), FRI_10 + 13 * DAY);
    })
    .await;
}
