//! Return requests through gRPC on every backend: a return request ticket about a delivered
//! order, once approved, is a return in the orders service (one, however often and by whom the
//! approval is retried), and the ticket follows the return's state from the orders service's
//! events; a ticket about another customer's order, or lines the order does not have, is
//! refused.

use crate::common::*;
use crate::orders_common as o;
use rapport_proto::{orders as opb, tickets as pb};
use rapport_runtime::clock::{DAY, to_timestamp};
use rapport_testkit::{TestServer, each_backend, values::unix_now, wait::eventually};
use tonic::Code;

/// A confirmed order of a sofa and two lamps, delivered in full; the order.
async fn delivered_order(s: &TestServer) -> opb::Order {
    let order = o::confirmed_order(s, 0).await;
    let mut r1 = o::rep(s, "rep-1", "north");
    let start = unix_now() as i64 * 1_000_000 + DAY;
    let d = r1
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
                window_end: Some(to_timestamp(start + 7_200_000_000)),
                address: "12 Garden Road, Hangzhou".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("schedule")
        .into_inner();
    r1.deliveries
        .complete_delivery(opb::CompleteDeliveryRequest {
            name: d.name,
            proof: Some(opb::DeliveryProof {
                signed_by: "Wang Fang".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("deliver");
    o::get_order(&mut r1, &order.name).await.expect("order")
}

#[tokio::test]
async fn an_approved_return_request_becomes_one_order_return_and_follows_it() {
    each_backend(&services(), async |s| {
        register_agent(s, "ag-1", "care", 10, &[]).await;
        let queue = create_queue(
            s,
            "Returns",
            "care",
            pb::RoutingStrategy::RoundRobin,
            &["ag-1"],
        )
        .await;
        let order = delivered_order(s).await;
        let lamp = order.lines.iter().find(|l| l.sku == "LAMP").unwrap();
        let mut a1 = agent(s, "ag-1", "care");
        let mut request = complaint(&order.customer, &queue);
        request.r#type = "return_request".into();
        request.subject = "Return one lamp".into();
        request.order = order.name.clone();
        request.order_lines = vec![lamp.id.clone(), "no-such-line".into()];
        request.return_lines = vec![pb::ReturnLine {
            line_id: lamp.id.clone(),
            quantity: 1,
        }];
        let st = assert_code(
            create(&mut a1, request.clone(), "").await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&st), ["ticket.order_lines[1]"]);
        request.order_lines = vec![lamp.id.clone()];
        let t = create(&mut a1, request.clone(), "").await.unwrap();
        assert_eq!(t.order, order.name);

        // Agents may not approve; a supervisor does, and a retry by another one gets the same
        // return.
        assert_code(
            a1.tickets
                .approve_return_request(pb::ApproveReturnRequestRequest {
                    name: t.name.clone(),
                    ..Default::default()
                })
                .await,
            Code::PermissionDenied,
        );
        let approved = supervisor(s, "care-lead", "care")
            .tickets
            .approve_return_request(pb::ApproveReturnRequestRequest {
                name: t.name.clone(),
                reason: "Lamp shade cracked".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(
            approved
                .r#return
                .starts_with(&format!("{}/returns/", order.name))
        );
        assert_eq!(approved.return_state, "REQUESTED");
        let again = admin(s)
            .tickets
            .approve_return_request(pb::ApproveReturnRequestRequest {
                name: t.name.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(again.r#return, approved.r#return);
        let mut a = admin(s);
        let returns = a
            .returns
            .list_returns(opb::ListReturnsRequest {
                parent: order.name.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .returns;
        assert_eq!(returns.len(), 1, "one return, however often approved");
        assert_eq!(returns[0].ticket, t.name);
        assert_eq!(returns[0].reason, "Lamp shade cracked");

        // The orders service approves it: the ticket follows.
        a.returns
            .approve_return(opb::ApproveReturnRequest {
                name: approved.r#return.clone(),
                ..Default::default()
            })
            .await
            .unwrap();
        eventually("the ticket follows the return", async || {
            get(&mut a1, &t.name).await.unwrap().return_state == "APPROVED"
        })
        .await;

        // Not a return request; another customer's order.
        let plain = create(&mut a1, complaint(&order.customer, &queue), "")
            .await
            .unwrap();
        let st = assert_code(
            a.tickets
                .approve_return_request(pb::ApproveReturnRequestRequest {
                    name: plain.name.clone(),
                    ..Default::default()
                })
                .await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&st), "NOT_A_RETURN_REQUEST");
        let li = customer(s, "Li Lei", "+8613900139000", "rep-1", "north").await;
        let mut theirs = request.clone();
        theirs.customer = li;
        let st = assert_code(create(&mut a1, theirs, "").await, Code::InvalidArgument);
        assert_eq!(bad_fields(&st), ["ticket.order"]);
    })
    .await;
}
