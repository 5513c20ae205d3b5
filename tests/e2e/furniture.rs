//! Scenario: a furniture store's order from lead to return, through the standalone binary as a
//! store runs it. The catalog comes from a CSV file through `rapport import products`; a lead
//! with needs gets recommendations, is converted, orders with a deposit, is confirmed (winning
//! the opportunity), gets a delivery appointment and its reminder, is delivered, followed up,
//! and returns one line.

use std::time::Duration;

use rapport_proto::{customers as cpb, leads as lpb, orders as opb, types};

use crate::support::*;

fn cny(minor_units: i64) -> Option<types::Money> {
    Some(types::Money {
        currency_code: "CNY".into(),
        minor_units,
    })
}

fn now_plus(seconds: i64) -> Option<prost_types::Timestamp> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs() as i64;
    Some(prost_types::Timestamp {
        seconds: now + seconds,
        nanos: 0,
    })
}

/// Waits until `done` holds, for up to ten seconds.
async fn until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..100 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting until {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_furniture_order_from_lead_to_return() {
    let data = tempfile::tempdir().expect("temp dir");
    let mut server = Server::start(&[], &[("RAPPORT_DATA_DIR", arg(data.path()))]);
    let admin = server.admin_token().await;
    server.wait_serving().await;

    // The store's catalog, from its spreadsheet; one row is refused and reported.
    let file = data.path().join("catalog.csv");
    let report = data.path().join("report.csv");
    std::fs::write(
        &file,
        "product,category,sku,variant,currency,price,cost,attr.style,attr.room,description\n\
         Nordic sofa,Living room/Sofas,NS-2,two seats,CNY,8999.00,5000.00,nordic,living room,Oak legs and grey linen\n\
         Nordic sofa,Living room/Sofas,NS-3,three seats,CNY,12999.00,7000.00,nordic,living room,Oak legs and grey linen\n\
         Chesterfield,Living room/Sofas,CH-3,,CNY,25000,12000,classic,living room,Leather\n\
         Nordic bed,Bedroom,NB-1,,CNY,4999.00,2500.00,nordic,bedroom,Solid oak\n\
         Broken lamp,Living room,BL-1,,CNY,cheap,1,nordic,living room,\n",
    )
    .expect("write the catalog");
    let out = run_ok(&[
        "import",
        "products",
        arg(&file),
        "--addr",
        &server.url(),
        "--token",
        &admin,
        "--report",
        arg(&report),
    ])
    .await;
    assert!(out.contains("created"), "{out}");
    let written = std::fs::read_to_string(&report).expect("the report");
    assert!(written.contains("6,invalid,BL-1,\"price:"), "{written}");
    // Importing the same file again creates nothing twice.
    run_ok(&[
        "import",
        "products",
        arg(&file),
        "--addr",
        &server.url(),
        "--token",
        &admin,
    ])
    .await;
    let mut o = server.orders(&admin).await;
    let products = o
        .catalog
        .list_products(opb::ListProductsRequest::default())
        .await
        .expect("list products")
        .into_inner()
        .products;
    let names: Vec<&str> = products.iter().map(|p| p.display_name.as_str()).collect();
    assert_eq!(names, ["Chesterfield", "Nordic bed", "Nordic sofa"]);
    assert_eq!(products[2].variants.len(), 2);

    // A lead from the store's form, with needs.
    let mut l = server.leads(&admin).await;
    let lead = l
        .leads
        .create_lead(lpb::CreateLeadRequest {
            lead: Some(lpb::Lead {
                display_name: "Wang Fang".into(),
                phone: "13800000001".into(),
                source: lpb::LeadSource::Form.into(),
                needs: Some(lpb::Needs {
                    product_lines: vec!["sofa".into()],
                    description: "A nordic sofa for the living room".into(),
                    budget: cny(1_000_000),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("create lead")
        .into_inner();
    let recommended = o
        .catalog
        .recommend_products(opb::RecommendProductsRequest {
            lead: lead.name.clone(),
            ..Default::default()
        })
        .await
        .expect("recommend")
        .into_inner()
        .recommendations;
    let best = &recommended[0];
    assert_eq!(best.product.as_ref().unwrap().display_name, "Nordic sofa");
    assert_eq!(best.sku, "NS-2", "the three-seater is over budget");

    // The store's rep takes the lead and converts it.
    l.org
        .create_team(lpb::CreateTeamRequest {
            team: Some(lpb::Team {
                name: "teams/store-1".into(),
                display_name: "Store 1".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("create the team");
    l.org
        .create_rep(lpb::CreateRepRequest {
            rep: Some(lpb::Rep {
                name: "reps/rep-1".into(),
                display_name: "Li Na".into(),
                team: "teams/store-1".into(),
                ..Default::default()
            }),
        })
        .await
        .expect("create the rep");
    l.leads
        .assign_lead(lpb::AssignLeadRequest {
            name: lead.name.clone(),
            rep: "reps/rep-1".into(),
            ..Default::default()
        })
        .await
        .expect("assign");
    let converted = l
        .leads
        .convert_lead(lpb::ConvertLeadRequest {
            name: lead.name.clone(),
            request_id: "convert-wang".into(),
            ..Default::default()
        })
        .await
        .expect("convert")
        .into_inner();
    let customer = converted.customer.clone();
    let opportunity = converted.opportunity.unwrap().name;

    // The order, with a deposit, confirmed.
    let order = o
        .orders
        .create_order(opb::CreateOrderRequest {
            order: Some(opb::Order {
                customer: customer.clone(),
                currency_code: "CNY".into(),
                opportunity: opportunity.clone(),
                region: "Zhejiang/Hangzhou".into(),
                lines: vec![
                    opb::LineItem {
                        sku: best.sku.clone(),
                        quantity: 1,
                        ..Default::default()
                    },
                    opb::LineItem {
                        sku: "NB-1".into(),
                        quantity: 1,
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }),
            request_id: "order-wang".into(),
            coupon_code: String::new(),
        })
        .await
        .expect("create order")
        .into_inner();
    assert_eq!(units(&order.total), 1_399_800);
    o.orders
        .add_payment(opb::AddPaymentRequest {
            order: order.name.clone(),
            payment: Some(opb::Payment {
                kind: opb::PaymentKind::Deposit.into(),
                method: opb::PaymentMethod::WechatPay.into(),
                amount: cny(200_000),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("deposit");
    let confirmed = o
        .orders
        .confirm_order(opb::ConfirmOrderRequest {
            name: order.name.clone(),
            ..Default::default()
        })
        .await
        .expect("confirm")
        .into_inner();
    assert_eq!(units(&confirmed.balance_due), 1_199_800);
    until("the opportunity is won", async || {
        l.pipelines
            .get_opportunity(lpb::GetOpportunityRequest {
                name: opportunity.clone(),
            })
            .await
            .expect("opportunity")
            .into_inner()
            .state()
            == lpb::OpportunityState::Won
    })
    .await;

    // The appointment is tomorrow morning: its reminder is due at once and fires once.
    let delivery = o
        .deliveries
        .schedule_delivery(opb::ScheduleDeliveryRequest {
            parent: order.name.clone(),
            delivery: Some(opb::Delivery {
                lines: confirmed
                    .lines
                    .iter()
                    .map(|l| opb::DeliveryLine {
                        line_id: l.id.clone(),
                        quantity: l.quantity,
                    })
                    .collect(),
                window_start: now_plus(20 * 3600),
                window_end: now_plus(22 * 3600),
                address: "12 Garden Road, Hangzhou".into(),
                installation: true,
                ..Default::default()
            }),
            request_id: "deliver-wang".into(),
        })
        .await
        .expect("schedule")
        .into_inner();
    until("the reminder fires", async || {
        o.deliveries
            .get_delivery(opb::GetDeliveryRequest {
                name: delivery.name.clone(),
            })
            .await
            .expect("delivery")
            .into_inner()
            .reminders_sent
            == 1
    })
    .await;
    o.deliveries
        .complete_delivery(opb::CompleteDeliveryRequest {
            name: delivery.name.clone(),
            proof: Some(opb::DeliveryProof {
                signed_by: "Wang Fang".into(),
                photo_urls: vec!["https://photos.example.com/wang/sofa.jpg".into()],
                ..Default::default()
            }),
            installed: true,
            ..Default::default()
        })
        .await
        .expect("deliver");
    let followed = o
        .deliveries
        .record_follow_up(opb::RecordFollowUpRequest {
            order: order.name.clone(),
            satisfaction: 5,
            notes: "Loves the sofa; the bed's headboard squeaks".into(),
            ..Default::default()
        })
        .await
        .expect("follow up")
        .into_inner();
    assert_eq!(followed.state(), opb::OrderState::Completed);

    // The bed goes back and is refunded.
    let bed = &confirmed.lines[1];
    let ret = o
        .returns
        .request_return(opb::RequestReturnRequest {
            parent: order.name.clone(),
            r#return: Some(opb::Return {
                kind: opb::ReturnKind::Return.into(),
                lines: vec![opb::DeliveryLine {
                    line_id: bed.id.clone(),
                    quantity: 1,
                }],
                reason: "The headboard squeaks".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("request return")
        .into_inner();
    for step in ["approve", "receive", "refund"] {
        let name = ret.name.clone();
        match step {
            "approve" => o
                .returns
                .approve_return(opb::ApproveReturnRequest {
                    name,
                    ..Default::default()
                })
                .await
                .map(drop),
            "receive" => o
                .returns
                .receive_return(opb::ReceiveReturnRequest {
                    name,
                    ..Default::default()
                })
                .await
                .map(drop),
            _ => o
                .returns
                .refund_return(opb::RefundReturnRequest {
                    name,
                    method: opb::PaymentMethod::WechatPay.into(),
                    ..Default::default()
                })
                .await
                .map(drop),
        }
        .unwrap_or_else(|e| panic!("{step}: {e:?}"));
    }
    let after = o
        .orders
        .get_order(opb::GetOrderRequest {
            name: order.name.clone(),
        })
        .await
        .expect("order")
        .into_inner();
    assert_eq!(units(&after.refunded), 499_900);
    assert_eq!(units(&after.net_total), 899_900);

    // The customer the lead became keeps its value current from the order's events: one
    // order, net of the refund, a single high-value order (group C).
    let mut c = server.customers(&admin).await;
    let mut value = cpb::CustomerValue::default();
    until("the customer's value follows the refund", async || {
        let got = c
            .get_customer(cpb::GetCustomerRequest {
                name: customer.clone(),
            })
            .await
            .expect("customer")
            .into_inner();
        value = got.value.unwrap_or_default();
        units(&value.total_spent) == 899_900
    })
    .await;
    assert_eq!(value.order_count, 1);
    assert_eq!(value.group(), cpb::ValueGroup::C);
    assert_eq!(value.grade(), cpb::ValueGrade::Normal);
    assert_eq!(units(&value.profit_contribution), 649_800 - 499_900);
}

fn units(m: &Option<types::Money>) -> i64 {
    m.as_ref().map_or(0, |m| m.minor_units)
}
