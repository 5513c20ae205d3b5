//! ReturnService (OR4) through gRPC on every backend: a return refunded and an exchange
//! replaced, quantities never above what was delivered (also under concurrent requests), and
//! what returns refuse.

use crate::common::*;
use rapport_proto::orders as pb;
use rapport_runtime::auth::Role;
use rapport_testkit::{TestServer, each_backend};
use tonic::Code;

/// A delivered order of one sofa (99.00 off) and two lamps for a customer of rep-1 (north).
async fn delivered_order(s: &TestServer) -> pb::Order {
    let o = confirmed_order(s, 9_900).await;
    let mut r1 = rep(s, "rep-1", "north");
    deliver(&mut r1, &o, rapport_testkit::values::unix_now() as i64).await;
    get_order(&mut r1, &o.name).await.unwrap()
}

fn returning(kind: pb::ReturnKind, line: &pb::LineItem, quantity: i32) -> pb::Return {
    pb::Return {
        kind: kind.into(),
        lines: vec![pb::DeliveryLine {
            line_id: line.id.clone(),
            quantity,
        }],
        reason: "The lamp flickers".into(),
        ticket: format!("tickets/{}", uuid::Uuid::now_v7()),
        ..Default::default()
    }
}

async fn request(
    c: &mut Clients,
    order: &str,
    r: pb::Return,
    request_id: &str,
) -> Result<pb::Return, tonic::Status> {
    c.returns
        .request_return(pb::RequestReturnRequest {
            parent: order.into(),
            r#return: Some(r),
            request_id: request_id.into(),
        })
        .await
        .map(|r| r.into_inner())
}

async fn approve(c: &mut Clients, name: &str) -> Result<pb::Return, tonic::Status> {
    c.returns
        .approve_return(pb::ApproveReturnRequest {
            name: name.into(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner())
}

async fn receive(c: &mut Clients, name: &str) -> Result<pb::Return, tonic::Status> {
    c.returns
        .receive_return(pb::ReceiveReturnRequest {
            name: name.into(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner())
}

async fn refund(
    c: &mut Clients,
    name: &str,
    amount: Option<rapport_proto::types::Money>,
) -> Result<pb::Return, tonic::Status> {
    c.returns
        .refund_return(pb::RefundReturnRequest {
            name: name.into(),
            amount,
            method: pb::PaymentMethod::Alipay.into(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner())
}

#[tokio::test]
async fn a_return_is_refunded_and_an_exchange_replaced() {
    each_backend(&services(), async |s| {
        let o = delivered_order(s).await;
        let lamps = &o.lines[1];
        let mut r1 = rep(s, "rep-1", "north");
        let mut m1 = manager(s, "mgr-1", "north");
        let asked = request(
            &mut r1,
            &o.name,
            returning(pb::ReturnKind::Return, lamps, 1),
            "",
        )
        .await
        .expect("request");
        assert!(asked.name.starts_with(&format!("{}/returns/", o.name)));
        assert_eq!(asked.state(), pb::ReturnState::Requested);
        assert_eq!(units(&asked.value), 30_000);
        assert!(asked.ticket.starts_with("tickets/"));
        // A ticket asks once: the same ticket again, whoever asks, answers the same return.
        let mut again = returning(pb::ReturnKind::Return, lamps, 1);
        again.ticket = asked.ticket.clone();
        let same = request(&mut m1, &o.name, again, "")
            .await
            .expect("asked again");
        assert_eq!(same.name, asked.name);
        assert_eq!(
            get_order(&mut r1, &o.name).await.unwrap().lines[1].returned_quantity,
            1
        );

        // Reps ask and receive; managers decide and refund.
        assert_code(approve(&mut r1, &asked.name).await, Code::PermissionDenied);
        let approved = approve(&mut m1, &asked.name).await.expect("approve");
        assert_eq!(approved.decided_by, "mgr-1");
        let st = assert_code(
            refund(&mut m1, &asked.name, None).await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&st), "RETURN_STATE");
        receive(&mut r1, &asked.name).await.expect("receive");
        let st = assert_code(
            refund(&mut m1, &asked.name, money("CNY", 30_001)).await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&st), ["amount"]);
        let refunded = refund(&mut m1, &asked.name, money("CNY", 25_000))
            .await
            .expect("refund");
        assert_eq!(refunded.state(), pb::ReturnState::Refunded);
        assert_eq!(units(&refunded.refund), 25_000);
        let after = get_order(&mut r1, &o.name).await.unwrap();
        assert_eq!(units(&after.refunded), 25_000);
        assert_eq!(units(&after.net_total), units(&after.total) - 25_000);

        // An exchange of the sofa goes back and is replaced; it refunds nothing.
        let sofa = &o.lines[0];
        let swap = request(
            &mut r1,
            &o.name,
            returning(pb::ReturnKind::Exchange, sofa, 1),
            "",
        )
        .await
        .unwrap();
        assert_eq!(units(&swap.value), 890_000);
        approve(&mut m1, &swap.name).await.unwrap();
        receive(&mut r1, &swap.name).await.unwrap();
        let st = assert_code(
            refund(&mut m1, &swap.name, None).await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&st), "RETURN_STATE");
        let replaced = m1
            .returns
            .replace_return(pb::ReplaceReturnRequest {
                name: swap.name.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(replaced.state(), pb::ReturnState::Replaced);
        assert_eq!(
            units(&get_order(&mut r1, &o.name).await.unwrap().refunded),
            25_000
        );

        let listed = r1
            .returns
            .list_returns(pb::ListReturnsRequest {
                parent: o.name.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .returns;
        let names: Vec<&str> = listed.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, [asked.name.as_str(), swap.name.as_str()]);
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
        assert!(history.iter().any(|r| {
            r.kind() == pb::RevisionKind::ReturnChanged
                && r.changes
                    .iter()
                    .any(|c| c.field == "refunded" && c.after == "25000")
        }));
    })
    .await;
}

#[tokio::test]
async fn returns_never_name_more_than_was_delivered_even_at_once() {
    each_backend(&services(), async |s| {
        let o = delivered_order(s).await;
        let lamps = o.lines[1].clone();
        let mut r1 = rep(s, "rep-1", "north");
        let st = assert_code(
            request(
                &mut r1,
                &o.name,
                returning(pb::ReturnKind::Return, &lamps, 3),
                "",
            )
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&st), ["return.lines[0].quantity"]);

        // Five concurrent requests for one lamp each: two lamps were delivered, two succeed.
        let attempts = (0..5).map(|_| {
            let mut c = rep(s, "rep-1", "north");
            let (name, lamps) = (o.name.clone(), lamps.clone());
            async move {
                request(
                    &mut c,
                    &name,
                    returning(pb::ReturnKind::Return, &lamps, 1),
                    "",
                )
                .await
            }
        });
        let results = futures::future::join_all(attempts).await;
        let ok = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(ok, 2, "{results:?}");
        for r in results.iter().filter_map(|r| r.as_ref().err()) {
            assert!(
                matches!(r.code(), Code::InvalidArgument | Code::Aborted),
                "{r:?}"
            );
        }
        assert_eq!(
            get_order(&mut r1, &o.name).await.unwrap().lines[1].returned_quantity,
            2
        );

        // A rejection frees its lamp for another return.
        let first = results.iter().find_map(|r| r.as_ref().ok()).unwrap();
        let mut m1 = manager(s, "mgr-1", "north");
        let rejected = m1
            .returns
            .reject_return(pb::RejectReturnRequest {
                name: first.name.clone(),
                reason: "Damaged by use".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(rejected.state(), pb::ReturnState::Rejected);
        assert_eq!(rejected.reject_reason, "Damaged by use");
        request(
            &mut r1,
            &o.name,
            returning(pb::ReturnKind::Return, &lamps, 1),
            "",
        )
        .await
        .expect("the freed lamp");
    })
    .await;
}

#[tokio::test]
async fn returns_refuse_bad_input_strangers_stale_etags_and_undelivered_orders() {
    each_backend(&services(), async |s| {
        let o = delivered_order(s).await;
        let lamps = &o.lines[1];
        let mut r1 = rep(s, "rep-1", "north");
        let st = assert_code(
            request(
                &mut r1,
                &o.name,
                pb::Return {
                    kind: 0,
                    lines: vec![pb::DeliveryLine {
                        line_id: String::new(),
                        quantity: 0,
                    }],
                    reason: String::new(),
                    ticket: "ticket/1".into(),
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
                "return.kind",
                "return.lines[0].line_id",
                "return.lines[0].quantity",
                "return.reason",
                "return.ticket"
            ]
        );
        // An order not yet delivered has nothing to return.
        let undelivered = create_order(&mut r1, order(&o.customer, vec![line("LAMP", 1, 0)]), "")
            .await
            .unwrap();
        let st = assert_code(
            request(
                &mut r1,
                &undelivered.name,
                returning(pb::ReturnKind::Return, &undelivered.lines[0], 1),
                "",
            )
            .await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&st), "ORDER_STATE");

        let asked = returning(pb::ReturnKind::Return, lamps, 1);
        let first = request(&mut r1, &o.name, asked.clone(), "ret-1")
            .await
            .unwrap();
        let again = request(&mut r1, &o.name, asked, "ret-1").await.unwrap();
        assert_eq!(again, first, "a retried request id asks once");
        assert_eq!(
            get_order(&mut r1, &o.name).await.unwrap().lines[1].returned_quantity,
            1
        );

        let mut m1 = manager(s, "mgr-1", "north");
        let approved = approve(&mut m1, &first.name).await.unwrap();
        let stale = m1
            .returns
            .receive_return(pb::ReceiveReturnRequest {
                name: first.name.clone(),
                etag: first.etag.clone(),
                request_id: String::new(),
            })
            .await;
        assert_code(stale, Code::Aborted);
        assert_ne!(approved.etag, first.etag);

        let mut agent = as_user(s, "agent-1", &[Role::ServiceAgent]);
        let read = agent
            .returns
            .get_return(pb::GetReturnRequest {
                name: first.name.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(read.name, first.name);
        for mut c in [
            rep(s, "rep-3", "south"),
            stranger(s),
            manager(s, "mgr-2", "south"),
        ] {
            let hidden = c
                .returns
                .get_return(pb::GetReturnRequest {
                    name: first.name.clone(),
                })
                .await;
            assert_code(hidden, Code::NotFound);
            assert_code(receive(&mut c, &first.name).await, Code::NotFound);
            assert_code(
                request(
                    &mut c,
                    &o.name,
                    returning(pb::ReturnKind::Return, lamps, 1),
                    "",
                )
                .await,
                Code::NotFound,
            );
        }
        for mut c in [stranger(s), manager(s, "mgr-2", "south")] {
            assert_code(approve(&mut c, &first.name).await, Code::NotFound);
        }
    })
    .await;
}
