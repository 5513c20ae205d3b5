//! DeliveryService (OR3) through gRPC on every backend: a furniture order delivered in two
//! shipments and followed up, reminders that fire once with two replicas and after a restart,
//! and what deliveries refuse.

use std::time::Duration;

use crate::common::*;
use rapport_proto::orders as pb;
use rapport_runtime::{
    auth::Role,
    clock::{DAY, HOUR, MINUTE, Micros, to_timestamp},
};
use rapport_testkit::{Backend, TestServer, each_backend_at, wait::eventually};
use tonic::Code;

/// 2024-05-01T12:00:00Z.
const T0: Micros = 1_714_564_800_000_000;

fn ts(micros: Micros) -> Option<prost_types::Timestamp> {
    Some(to_timestamp(micros))
}

fn part(line: &pb::LineItem, quantity: i32) -> pb::DeliveryLine {
    pb::DeliveryLine {
        line_id: line.id.clone(),
        quantity,
    }
}

fn appointment(lines: Vec<pb::DeliveryLine>, start: Micros) -> pb::Delivery {
    pb::Delivery {
        lines,
        window_start: ts(start),
        window_end: ts(start + 2 * HOUR),
        address: "12 Garden Road, Hangzhou".into(),
        crew: "Crew 3".into(),
        installation: true,
        ..Default::default()
    }
}

async fn schedule(
    c: &mut Clients,
    order: &str,
    d: pb::Delivery,
    request_id: &str,
) -> Result<pb::Delivery, tonic::Status> {
    c.deliveries
        .schedule_delivery(pb::ScheduleDeliveryRequest {
            parent: order.into(),
            delivery: Some(d),
            request_id: request_id.into(),
        })
        .await
        .map(|r| r.into_inner())
}

async fn complete(c: &mut Clients, name: &str, etag: &str) -> Result<pb::Delivery, tonic::Status> {
    c.deliveries
        .complete_delivery(pb::CompleteDeliveryRequest {
            name: name.into(),
            proof: Some(pb::DeliveryProof {
                signed_by: "Wang Fang".into(),
                notes: "Sofa in the living room, lamp by the window".into(),
                photo_urls: vec!["https://photos.example.com/d/1.jpg".into()],
                ..Default::default()
            }),
            installed: true,
            etag: etag.into(),
            request_id: String::new(),
        })
        .await
        .map(|r| r.into_inner())
}

async fn get_delivery(c: &mut Clients, name: &str) -> Result<pb::Delivery, tonic::Status> {
    c.deliveries
        .get_delivery(pb::GetDeliveryRequest { name: name.into() })
        .await
        .map(|r| r.into_inner())
}

#[tokio::test]
async fn a_furniture_order_is_delivered_in_two_shipments_and_followed_up() {
    each_backend_at(&services(), T0, async |s, clock| {
        let o = confirmed_order(s, 0).await;
        let (sofa, lamps) = (&o.lines[0], &o.lines[1]);
        let mut r1 = rep(s, "rep-1", "north");
        let first = schedule(
            &mut r1,
            &o.name,
            appointment(vec![part(sofa, 1), part(lamps, 1)], T0 + 2 * DAY),
            "",
        )
        .await
        .expect("schedule");
        assert!(first.name.starts_with(&format!("{}/deliveries/", o.name)));
        assert_eq!(first.state(), pb::DeliveryState::Scheduled);
        // The reminder is due the tenant's 24 hours before the window.
        assert_eq!(first.remind_time, ts(T0 + DAY));
        let booked = get_order(&mut r1, &o.name).await.unwrap();
        assert_eq!(booked.state(), pb::OrderState::DeliveryScheduled);
        assert_eq!(booked.lines[1].scheduled_quantity, 1);

        // Two more lamps than are left are refused; the order stays as it was.
        let st = assert_code(
            schedule(
                &mut r1,
                &o.name,
                appointment(vec![part(lamps, 2)], T0 + 3 * DAY),
                "",
            )
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&st), ["delivery.lines[0].quantity"]);

        let moved = r1
            .deliveries
            .reschedule_delivery(pb::RescheduleDeliveryRequest {
                name: first.name.clone(),
                window_start: ts(T0 + 3 * DAY),
                window_end: ts(T0 + 3 * DAY + 3 * HOUR),
                reason: "The customer is away on Friday".into(),
                etag: first.etag.clone(),
                request_id: String::new(),
            })
            .await
            .expect("reschedule")
            .into_inner();
        assert_eq!(moved.reschedule_count, 1);
        assert_eq!(moved.reschedule_reason, "The customer is away on Friday");
        assert_eq!(moved.remind_time, ts(T0 + 2 * DAY));
        assert_code(
            complete(&mut r1, &first.name, &first.etag).await,
            Code::Aborted,
        );

        clock.advance(3 * DAY + HOUR);
        let done = complete(&mut r1, &moved.name, &moved.etag)
            .await
            .expect("deliver");
        assert_eq!(done.state(), pb::DeliveryState::Delivered);
        assert!(done.installed);
        assert_eq!(done.proof.as_ref().unwrap().signed_by, "Wang Fang");
        let partly = get_order(&mut r1, &o.name).await.unwrap();
        assert_eq!(partly.state(), pb::OrderState::DeliveryScheduled);
        assert_eq!(partly.lines[0].delivered_quantity, 1);
        assert!(partly.follow_up.is_none());
        let st = assert_code(
            complete(&mut r1, &moved.name, "").await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&st), "DELIVERY_STATE");

        let second = schedule(
            &mut r1,
            &o.name,
            appointment(vec![part(lamps, 1)], T0 + 4 * DAY),
            "",
        )
        .await
        .expect("schedule the last lamp");
        clock.advance(DAY);
        complete(&mut r1, &second.name, "").await.expect("deliver");
        let delivered = get_order(&mut r1, &o.name).await.unwrap();
        assert_eq!(delivered.state(), pb::OrderState::Delivered);
        let delivered_at = T0 + 4 * DAY + HOUR;
        assert_eq!(delivered.deliver_time, ts(delivered_at));
        let follow_up = delivered.follow_up.clone().unwrap();
        assert_eq!(follow_up.due_time, ts(delivered_at + 7 * DAY));

        // The balance is paid on delivery; the follow-up visit completes the order.
        let paid = r1
            .orders
            .add_payment(pb::AddPaymentRequest {
                order: o.name.clone(),
                payment: Some(pb::Payment {
                    method: pb::PaymentMethod::Card.into(),
                    amount: delivered.balance_due.clone(),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
            .expect("pay the balance")
            .into_inner();
        assert_eq!(units(&paid.balance_due), 0);
        let visit = |satisfaction: i32| pb::RecordFollowUpRequest {
            order: o.name.clone(),
            satisfaction,
            notes: "Very happy with the sofa; asked about a matching armchair".into(),
            ..Default::default()
        };
        let st = assert_code(
            r1.deliveries.record_follow_up(visit(6)).await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&st), ["satisfaction"]);
        let completed = r1
            .deliveries
            .record_follow_up(visit(5))
            .await
            .expect("follow up")
            .into_inner();
        assert_eq!(completed.state(), pb::OrderState::Completed);
        assert_eq!(completed.follow_up.as_ref().unwrap().satisfaction, 5);
        assert_eq!(completed.follow_up.as_ref().unwrap().recorded_by, "rep-1");

        let listed = r1
            .deliveries
            .list_deliveries(pb::ListDeliveriesRequest {
                parent: o.name.clone(),
                page_size: 1,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(listed.deliveries[0].name, first.name);
        assert!(!listed.next_page_token.is_empty());
        let history = r1
            .orders
            .list_order_revisions(pb::ListOrderRevisionsRequest {
                parent: o.name.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .revisions;
        assert_eq!(history[0].kind(), pb::RevisionKind::FollowedUp);
        assert!(history.iter().any(|r| {
            r.kind() == pb::RevisionKind::DeliveryChanged
                && r.changes
                    .iter()
                    .any(|c| c.field == "state" && c.after == "DELIVERED")
        }));
    })
    .await;
}

#[tokio::test]
async fn deliveries_refuse_bad_input_strangers_and_what_their_state_does_not_allow() {
    each_backend_at(&services(), T0, async |s, _clock| {
        let o = confirmed_order(s, 0).await;
        let sofa = &o.lines[0];
        let mut r1 = rep(s, "rep-1", "north");
        let st = assert_code(
            schedule(
                &mut r1,
                &o.name,
                pb::Delivery {
                    lines: vec![pb::DeliveryLine {
                        line_id: String::new(),
                        quantity: 0,
                    }],
                    window_start: ts(T0 + DAY),
                    window_end: ts(T0 + DAY - HOUR),
                    address: " ".into(),
                    ..Default::default()
                },
                &"r".repeat(300),
            )
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&st),
            [
                "delivery.address",
                "delivery.lines[0].line_id",
                "delivery.lines[0].quantity",
                "delivery.window_end",
                "request_id"
            ]
        );
        // A draft is not delivered.
        let mut draft = o.clone();
        draft.name = create_order(&mut r1, order(&o.customer, vec![line("LAMP", 1, 0)]), "")
            .await
            .unwrap()
            .name;
        let st = assert_code(
            schedule(
                &mut r1,
                &draft.name,
                appointment(vec![part(sofa, 1)], T0 + DAY),
                "",
            )
            .await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&st), "ORDER_STATE");

        let request = appointment(vec![part(sofa, 1)], T0 + DAY);
        let d = schedule(&mut r1, &o.name, request.clone(), "book-1")
            .await
            .unwrap();
        let again = schedule(&mut r1, &o.name, request, "book-1").await.unwrap();
        assert_eq!(again, d, "a retried request id books once");
        // Content is frozen once a delivery is booked; payments are not.
        let st = assert_code(
            r1.orders
                .update_order(pb::UpdateOrderRequest {
                    order: Some(pb::Order {
                        name: o.name.clone(),
                        notes: "late".into(),
                        ..Default::default()
                    }),
                    update_mask: mask(&["notes"]),
                    request_id: String::new(),
                })
                .await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&st), "ORDER_STATE");

        for mut c in [
            rep(s, "rep-3", "south"),
            stranger(s),
            manager(s, "mgr-2", "south"),
        ] {
            assert_code(get_delivery(&mut c, &d.name).await, Code::NotFound);
            assert_code(complete(&mut c, &d.name, "").await, Code::NotFound);
            assert_code(
                schedule(
                    &mut c,
                    &o.name,
                    appointment(vec![part(sofa, 1)], T0 + DAY),
                    "",
                )
                .await,
                Code::NotFound,
            );
        }
        let mut partner = as_user(s, "partner-1", &[Role::Partner]);
        assert_code(
            get_delivery(&mut partner, &d.name).await,
            Code::PermissionDenied,
        );
        let st = assert_code(
            get_delivery(&mut r1, "orders/x/deliveries/y").await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&st), ["name"]);

        // Calling it off frees the sofa again, and the order is confirmed again.
        let cancel = |name: &str, reason: &str| pb::CancelDeliveryRequest {
            name: name.into(),
            reason: reason.into(),
            ..Default::default()
        };
        let st = assert_code(
            r1.deliveries.cancel_delivery(cancel(&d.name, "")).await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&st), ["reason"]);
        let cancelled = r1
            .deliveries
            .cancel_delivery(cancel(&d.name, "The lorry broke down"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(cancelled.state(), pb::DeliveryState::Cancelled);
        let back = get_order(&mut r1, &o.name).await.unwrap();
        assert_eq!(back.state(), pb::OrderState::Confirmed);
        assert_eq!(back.lines[0].scheduled_quantity, 0);
        let st = assert_code(
            r1.deliveries
                .cancel_delivery(cancel(&d.name, "again"))
                .await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&st), "DELIVERY_STATE");
        let st = assert_code(
            r1.deliveries
                .record_follow_up(pb::RecordFollowUpRequest {
                    order: o.name.clone(),
                    satisfaction: 4,
                    ..Default::default()
                })
                .await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&st), "ORDER_STATE");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reminders_fire_once_with_two_replicas_and_none_is_missed_after_a_restart() {
    for backend in Backend::all() {
        eprintln!("-- on {backend:?}");
        let clock = rapport_runtime::clock::ManualClock::at(T0);
        let mut s = TestServer::builder()
            .clock(clock.clone())
            .start(backend, &services())
            .await;
        let o = confirmed_order(&s, 0).await;
        let mut r1 = rep(&s, "rep-1", "north");
        let mut booked = Vec::new();
        for (i, l) in o.lines.iter().enumerate() {
            let start = T0 + DAY + i as i64 * HOUR;
            booked.push(
                schedule(&mut r1, &o.name, appointment(vec![part(l, 1)], start), "")
                    .await
                    .unwrap(),
            );
        }
        let replica = s.start_replica().await;
        clock.advance(2 * HOUR);
        let mut r1 = rep(&s, "rep-1", "north");
        eventually("every reminder fires", async || {
            for d in &booked {
                if get_delivery(&mut r1, &d.name).await.unwrap().reminders_sent == 0 {
                    return false;
                }
            }
            true
        })
        .await;
        // Let both sweepers run a few more times: nothing fires twice.
        tokio::time::sleep(Duration::from_millis(2500)).await;
        for d in &booked {
            let now = get_delivery(&mut r1, &d.name).await.unwrap();
            assert_eq!(now.reminders_sent, 1, "{}", d.name);
            assert_eq!(now.etag, d.etag, "a reminder is not the caller's change");
        }
        replica.shutdown().await.unwrap();

        // A reminder falling due while no server runs fires once it is back.
        let lamp = &o.lines[1];
        let late = schedule(
            &mut r1,
            &o.name,
            appointment(vec![part(lamp, 1)], T0 + 3 * DAY),
            "",
        )
        .await
        .unwrap();
        s.halt().await;
        clock.advance(2 * DAY);
        s.restart().await;
        let mut r1 = rep(&s, "rep-1", "north");
        eventually("the late reminder fires after the restart", async || {
            get_delivery(&mut r1, &late.name)
                .await
                .unwrap()
                .reminders_sent
                == 1
        })
        .await;
        s.stop().await;
    }
}

#[tokio::test]
async fn a_due_follow_up_is_announced_once() {
    each_backend_at(&services(), T0, async |s, clock| {
        let o = confirmed_order(s, 0).await;
        let mut r1 = rep(s, "rep-1", "north");
        let lines: Vec<pb::DeliveryLine> = o.lines.iter().map(|l| part(l, l.quantity)).collect();
        let d = schedule(&mut r1, &o.name, appointment(lines, T0 + DAY), "")
            .await
            .unwrap();
        clock.advance(DAY);
        complete(&mut r1, &d.name, "").await.unwrap();
        let before = get_order(&mut r1, &o.name).await.unwrap();
        assert!(before.follow_up.as_ref().unwrap().announce_time.is_none());
        clock.advance(7 * DAY + MINUTE);
        eventually("the follow-up is announced", async || {
            let now = get_order(&mut r1, &o.name).await.unwrap();
            now.follow_up.unwrap().announce_time.is_some()
        })
        .await;
        let now = get_order(&mut r1, &o.name).await.unwrap();
        assert_eq!(now.etag, before.etag);
        assert_eq!(
            now.follow_up.unwrap().announce_time,
            ts(T0 + 8 * DAY + MINUTE)
        );
    })
    .await;
}
