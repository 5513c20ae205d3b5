//! The tickets service with its peers cut off, on every backend: customers and orders run as a
//! server of their own behind a TCP proxy, as in a distributed deployment. While they are
//! unreachable, creates under load answer UNAVAILABLE and write nothing (no ticket, no agent's
//! place taken), an approval of a return request leaves the ticket as it was, and retries after
//! they are back do each thing once.

use std::time::Duration;

use crate::common::*;
use crate::orders_common as o;
use rapport_customers::Customers;
use rapport_orders::Orders;
use rapport_proto::{orders as opb, tickets as pb};
use rapport_runtime::context::ServiceEntry;
use rapport_testkit::{Backend, TestServer, proxy::Proxy, values::unix_now};
use rapport_tickets::Tickets;
use tonic::Code;

/// Retries `call` while it answers UNAVAILABLE (the proxy reconnecting), at most 5 s.
async fn once_back<T>(mut call: impl AsyncFnMut() -> Result<T, tonic::Status>) -> T {
    for _ in 0..50 {
        match call().await {
            Ok(v) => return v,
            Err(st) if st.code() == Code::Unavailable => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(st) => panic!("{st:?}"),
        }
    }
    panic!("still unavailable after the peers came back")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cut_peers_make_tickets_wait_never_half_written() {
    for backend in Backend::all() {
        eprintln!("-- on {backend:?}");
        let peers = TestServer::start(
            backend,
            &[
                ServiceEntry::of::<Customers>(),
                ServiceEntry::of::<Orders>(),
            ],
        )
        .await;
        let proxy = Proxy::start(peers.addr).await;
        let desk = TestServer::builder()
            .peer("customers", &format!("http://{}", proxy.addr))
            .peer("orders", &format!("http://{}", proxy.addr))
            .start(backend, &[ServiceEntry::of::<Tickets>()])
            .await;
        register_agent(&desk, "ag-1", "care", 100, &[]).await;
        let queue = create_queue(
            &desk,
            "Returns",
            "care",
            pb::RoutingStrategy::RoundRobin,
            &["ag-1"],
        )
        .await;
        // A delivered order of a sofa and two lamps, in the peers' server.
        let order = o::confirmed_order(&peers, 0).await;
        let mut r1 = o::rep(&peers, "rep-1", "north");
        let start = unix_now() as i64 * 1_000_000 + 86_400_000_000;
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
                    window_start: Some(rapport_runtime::clock::to_timestamp(start)),
                    window_end: Some(rapport_runtime::clock::to_timestamp(start + 3_600_000_000)),
                    address: "12 Garden Road".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap()
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
            .unwrap();
        let lamp = order.lines.iter().find(|l| l.sku == "LAMP").unwrap();
        let mut request = complaint(&order.customer, &queue);
        request.r#type = "return_request".into();
        request.order = order.name.clone();
        request.return_lines = vec![pb::ReturnLine {
            line_id: lamp.id.clone(),
            quantity: 1,
        }];
        let mut a = admin(&desk);
        let asked = create(&mut a, request.clone(), "").await.unwrap();

        // Cut, under load: sixteen creates at once, all refused, nothing taken.
        proxy.cut();
        let creates = (0..16).map(|i| {
            let mut c = admin(&desk);
            let t = complaint(&order.customer, &queue);
            async move { create(&mut c, t, &format!("cut-{i}")).await }
        });
        for outcome in futures::future::join_all(creates).await {
            let st = assert_code(outcome, Code::Unavailable);
            assert!(st.message().contains("retry"), "{}", st.message());
        }
        let approve = pb::ApproveReturnRequestRequest {
            name: asked.name.clone(),
            ..Default::default()
        };
        assert_code(
            a.tickets.approve_return_request(approve.clone()).await,
            Code::Unavailable,
        );
        let unchanged = get(&mut a, &asked.name).await.unwrap();
        assert!(unchanged.r#return.is_empty());
        assert_eq!(unchanged.etag, asked.etag, "the ticket is as it was");
        let listed = a
            .tickets
            .list_tickets(pb::ListTicketsRequest::default())
            .await
            .unwrap()
            .into_inner()
            .tickets;
        assert_eq!(listed.len(), 1, "nothing was half-written");
        let agent = a
            .queues
            .get_agent(pb::GetAgentRequest {
                name: "agents/ag-1".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            agent.open_tickets, 1,
            "no place was taken by a refused create"
        );

        // Back: the retries do each thing once.
        proxy.restore();
        let made =
            once_back(async || create(&mut a, complaint(&order.customer, &queue), "cut-0").await)
                .await;
        let again = create(&mut a, complaint(&order.customer, &queue), "cut-0")
            .await
            .unwrap();
        assert_eq!(again.name, made.name);
        let linked = once_back(async || {
            a.tickets
                .approve_return_request(approve.clone())
                .await
                .map(|r| r.into_inner())
        })
        .await;
        assert!(!linked.r#return.is_empty());
        let returns = o::admin(&peers)
            .returns
            .list_returns(opb::ListReturnsRequest {
                parent: order.name.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .returns;
        assert_eq!(returns.len(), 1);
        desk.stop().await;
        peers.stop().await;
    }
}
