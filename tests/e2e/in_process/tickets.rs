//! The tickets service with its peers, in one process on every backend, as a store chain's
//! after-sales desk uses it: a complaint raised in a store is routed by the tenant's rule,
//! answered, waits for the customer over a weekend and the National Day holiday with its SLA
//! clock paused, is escalated to the supervisor when resolution breaches, is resolved, and its
//! survey is answered; the report counts it. Then a return request about a delivered order
//! becomes one return in the orders service, which the ticket follows.

use rapport_proto::{orders as opb, tickets as pb};
use rapport_runtime::clock::{HOUR, MINUTE, Micros, to_timestamp};
use rapport_testkit::{each_backend_at, values::micros, wait::eventually};

use super::orders_common as o;
use super::tickets_common::{self as t, *};

/// Friday 2026-09-25 10:00 in Shanghai (02:00 UTC).
const FRI_10: Micros = 1_790_301_600_000_000;
const DAY: Micros = 24 * HOUR;

/// The services of the story: every service, and the survey inbox a care channel would be.
fn story() -> Vec<rapport_runtime::context::ServiceEntry> {
    let mut all = super::services();
    all.push(rapport_runtime::context::ServiceEntry::of::<SurveyInbox>());
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_store_complaint_from_creation_to_the_answered_survey_and_a_return_request() {
    each_backend_at(&story(), FRI_10, async |s, clock| {
        register_agent(s, "ag-1", "care", 10, &[]).await;
        register_agent(s, "ag-2", "care", 10, &[]).await;
        let queue = create_queue(
            s,
            "Store complaints",
            "care",
            pb::RoutingStrategy::LeastBusy,
            &["ag-1", "ag-2"],
        )
        .await;
        complaint_sla(s).await;
        set_settings(
            s,
            pb::TicketSettings {
                routing_rules: vec![pb::RoutingRule {
                    display_name: "Complaints from stores".into(),
                    conditions: Some(pb::TicketConditions {
                        channels: vec![pb::Channel::Store.into()],
                        ..Default::default()
                    }),
                    queue: queue.clone(),
                }],
                ..Default::default()
            },
            &["routing_rules"],
        )
        .await;
        let wang = t::customer(s, "Wang Fang", "+8613800138000", "rep-1", "north").await;

        // Raised at the West Lake store, routed by the tenant's rule.
        let mut front_desk = agent(s, "ag-2", "care");
        let mut raised = complaint(&wang, "");
        raised.store = "West Lake".into();
        let ticket = create(&mut front_desk, raised, "store-1").await.unwrap();
        assert!(
            ticket
                .routing_reason
                .starts_with("routing rule \"Complaints from stores\" matched"),
            "{}",
            ticket.routing_reason
        );
        let mut owner = agent(s, &ticket.assignee.clone(), "care");

        // First response after 30 minutes; then the customer is asked for a photo.
        clock.advance(30 * MINUTE);
        comment(
            &mut owner,
            &ticket.name,
            "Sorry! Could you send a photo?",
            true,
            false,
        )
        .await
        .unwrap();
        clock.advance(30 * MINUTE);
        set_state(
            &mut owner,
            &ticket.name,
            pb::TicketState::PendingCustomer,
            "photo",
        )
        .await
        .unwrap();

        // The photo comes on Wednesday 17:00, after a weekend (with a make-up Sunday) spent
        // waiting: seven working hours are left: one on Wednesday, none over October 1–7, six
        // on Thursday October 8: due 16:30.
        clock.set(FRI_10 + 5 * DAY + 7 * HOUR);
        comment(&mut owner, &ticket.name, "Photo attached", true, true)
            .await
            .unwrap();
        let back = get(&mut owner, &ticket.name).await.unwrap();
        let res = target(&back, pb::SlaTargetKind::Resolution);
        assert_eq!(
            micros(&res.due_time),
            FRI_10 + 13 * DAY + 6 * HOUR + 30 * MINUTE
        );

        // The agent answers on October 8 at 09:30, but the replacement is late: resolution
        // breaches at 16:30 and the ticket goes to the supervisor.
        clock.set(FRI_10 + 13 * DAY - 30 * MINUTE);
        comment(
            &mut owner,
            &ticket.name,
            "A new sofa is on its way",
            true,
            false,
        )
        .await
        .unwrap();
        clock.set(FRI_10 + 13 * DAY + 6 * HOUR + 31 * MINUTE);
        eventually("the breach escalates the ticket", async || {
            get(&mut owner, &ticket.name).await.unwrap().state == pb::TicketState::Escalated as i32
        })
        .await;
        let escalated = get(&mut owner, &ticket.name).await.unwrap();
        assert_eq!(escalated.escalation_level, 2);
        assert_eq!(escalated.priority, pb::Priority::High as i32);
        let next = target(&escalated, pb::SlaTargetKind::NextResponse);
        assert_eq!(next.state, pb::SlaState::Met as i32);
        assert!(!next.breached);

        // Resolved; the survey goes out and is answered once.
        clock.advance(HOUR);
        set_state(
            &mut owner,
            &ticket.name,
            pb::TicketState::Resolved,
            "sofa replaced",
        )
        .await
        .unwrap();
        eventually("the survey is announced", async || {
            !survey_tokens(&ticket.name).is_empty()
        })
        .await;
        let token = survey_tokens(&ticket.name).remove(0);
        service_account(s)
            .tickets
            .submit_survey(pb::SubmitSurveyRequest {
                token,
                score: 4,
                comment: "Slow, but they made it right".into(),
            })
            .await
            .unwrap();

        // The supervisor's report of the period.
        let report = supervisor(s, "care-lead", "care")
            .analytics
            .get_ticket_report(pb::GetTicketReportRequest {
                start_date: rapport_testkit::values::date(2026, 9, 25),
                end_date: rapport_testkit::values::date(2026, 10, 8),
                time_zone: "Asia/Shanghai".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(report.total, 1);
        assert_eq!(report.volume_by_channel[0].key, "STORE");
        let compliance = |kind: pb::SlaTargetKind| {
            report
                .sla_compliance
                .iter()
                .find(|c| c.target == kind as i32)
                .map(|c| (c.met, c.total))
        };
        assert_eq!(compliance(pb::SlaTargetKind::FirstResponse), Some((1, 1)));
        assert_eq!(compliance(pb::SlaTargetKind::Resolution), Some((0, 1)));
        let first = report.first_response.unwrap();
        assert_eq!((first.count, first.p50_seconds), (1, 30 * 60));
        assert_eq!(report.top_complaint_categories[0].key, "delivery damage");
        assert_eq!(report.satisfaction_by_agent[0].key, ticket.assignee);
        assert_eq!(report.satisfaction_by_agent[0].average_score, 4.0);

        // A return request about a delivered order becomes one return in the orders service.
        let order = o::confirmed_order(s, 0).await;
        let mut r1 = o::rep(s, "rep-1", "north");
        let start = clock_now(clock) + DAY;
        let delivery = r1
            .deliveries
            .schedule_delivery(opb::ScheduleDeliveryRequest {
                parent: order.name.clone(),
                delivery: Some(opb::Delivery {
                    lines: order
                        .lines
                        .iter()
                        .map(|l| opb::DeliveryLine {
                            line_id: l.id.clone(),
                            quantity: l.quantity,
                        })
                        .collect(),
                    window_start: Some(to_timestamp(start)),
                    window_end: Some(to_timestamp(start + 2 * HOUR)),
                    address: "12 Garden Road, Hangzhou".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        r1.deliveries
            .complete_delivery(opb::CompleteDeliveryRequest {
                name: delivery.name,
                proof: Some(opb::DeliveryProof {
                    signed_by: "Wang Fang".into(),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
            .unwrap();
        let lamp = order.lines.iter().find(|l| l.sku == "LAMP").unwrap();
        let mut request = complaint(&order.customer, &queue);
        request.r#type = "return_request".into();
        request.subject = "Return a lamp".into();
        request.order = order.name.clone();
        request.return_lines = vec![pb::ReturnLine {
            line_id: lamp.id.clone(),
            quantity: 1,
        }];
        let asked = create(&mut front_desk, request, "").await.unwrap();
        let mut lead = supervisor(s, "care-lead", "care");
        let approved = lead
            .tickets
            .approve_return_request(pb::ApproveReturnRequestRequest {
                name: asked.name.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let made = o::admin(s)
            .returns
            .get_return(opb::GetReturnRequest {
                name: approved.r#return.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(made.ticket, asked.name);
        assert_eq!(made.lines[0].quantity, 1);
        o::admin(s)
            .returns
            .reject_return(opb::RejectReturnRequest {
                name: made.name.clone(),
                reason: "Outside the return policy".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        eventually("the ticket follows the rejection", async || {
            get(&mut lead, &asked.name).await.unwrap().return_state == "REJECTED"
        })
        .await;
    })
    .await;
}

fn clock_now(clock: &rapport_runtime::clock::ManualClock) -> Micros {
    use rapport_runtime::clock::Clock;
    clock.now()
}
