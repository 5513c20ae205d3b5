//! A dealer's story end to end, as its own system lives it: it registers a deal over HTTP/JSON
//! with its API key, a manager approves, the leads service makes the attributed lead, a rep
//! sells through the dealer, commission accrues, a returned sofa takes part of it back, the
//! month's statement is right, and the dealer's receiver got a signed webhook for every step.
//! On every backend, on a clock the test drives (the statement is last month's).

use http::StatusCode;
use rapport_kit::webhooks::{Secret, verify};
use rapport_proto::{leads as lpb, orders as opb, partners as pb};
use rapport_runtime::clock::DAY;
use rapport_testkit::{
    Backend, TestServer, http::JsonClient, receiver::Receiver, standard_webhooks, wait::eventually,
};
use serde_json::json;

use super::{orders_common as oc, partners_common as pc, services};

/// An API key of `dealer` for what its system calls; the secret.
async fn dealer_key(s: &TestServer, dealer: &str) -> String {
    let made = pc::manager(s)
        .keys
        .create_api_key(pb::CreateApiKeyRequest {
            parent: dealer.into(),
            api_key: Some(pb::ApiKey {
                display_name: "Dealer ERP".into(),
                scopes: [
                    "rapport.partners.v1.PartnerService/GetPartner",
                    "rapport.partners.v1.RegistrationService/*",
                    "rapport.partners.v1.CommissionService/*",
                    "rapport.partners.v1.WebhookService/*",
                ]
                .map(String::from)
                .to_vec(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    made.secret
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dealer_registers_over_http_sells_is_paid_its_commission_and_hears_every_step() {
    let start = rapport_testkit::values::unix_now() as i64 * 1_000_000;
    for backend in Backend::all() {
        eprintln!("-- on {backend:?}");
        let clock = rapport_runtime::clock::ManualClock::at(start);
        let s = TestServer::builder()
            .clock(clock.clone())
            .http()
            .webhook_allow_networks("127.0.0.0/8")
            .start(backend, &services())
            .await;
        let http_addr = s.http_addr.expect("the gateway");
        oc::furniture(&s).await;
        let dealer = pc::gold_dealer(&s).await;
        let key = dealer_key(&s, &dealer).await;
        let mut erp = JsonClient::connect(http_addr, Some(&key)).await.unwrap();

        // The dealer's system subscribes its receiver to everything about it.
        let receiver = Receiver::start().await;
        let hook = erp
            .send(
                http::Method::POST,
                &format!("/v1/{dealer}/webhookEndpoints"),
                &json!({"url": receiver.url("/rapport"), "eventTypes": ["*"]}),
                &[],
            )
            .await
            .unwrap();
        assert_eq!(hook.status, StatusCode::OK, "{:?}", hook.body);
        let secret = hook.body["secret"].as_str().unwrap().to_owned();

        // It registers a deal over HTTP/JSON with its key.
        let sofas = pc::category(&s, "Sofas").await;
        let reg = erp
            .send(
                http::Method::POST,
                "/v1/registrations",
                &json!({
                    "contactName": "Zhao Lei",
                    "phone": "138 0013 8000",
                    "categories": [sofas],
                    "notes": "Furnishing a 3-room flat",
                }),
                &[("idempotency-key", "erp-reg-1")],
            )
            .await
            .unwrap();
        assert_eq!(reg.status, StatusCode::OK, "{:?}", reg.body);
        assert_eq!(reg.body["partner"], dealer.as_str());
        assert_eq!(reg.body["state"], "REGISTRATION_STATE_SUBMITTED");
        let reg_name = reg.body["name"].as_str().unwrap().to_owned();
        // Another partner's business is not there for the key.
        let other = erp
            .get("/v1/partners/0193f4a0-0000-7000-8000-000000000001")
            .await
            .unwrap();
        assert_eq!(other.status, StatusCode::NOT_FOUND, "{:?}", other.body);

        // A manager approves; the leads service makes the dealer's lead.
        let mut m = pc::manager(&s);
        let approved = pc::approve(&mut m, &reg_name, false).await.unwrap();
        let mut a = pc::admin(&s);
        eventually("the attributed lead is made", async || {
            a.leads
                .get_lead(lpb::GetLeadRequest {
                    name: approved.lead.clone(),
                })
                .await
                .is_ok_and(|l| l.into_inner().attribution.unwrap_or_default().partner_id == dealer)
        })
        .await;

        // A rep sells two sofas and a table through the dealer; one sofa comes back.
        let wang = oc::customer(&s, "Zhao Lei", "+8613800138000", "rep-1", "north").await;
        let mut r1 = oc::rep(&s, "rep-1", "north");
        let mut o = oc::order(
            &wang,
            vec![oc::line("SOFA-3S", 2, 0), oc::line("TABLE-6", 1, 0)],
        );
        o.partner = dealer.clone();
        let o = oc::create_order(&mut r1, o, "").await.unwrap();
        let o = r1
            .orders
            .confirm_order(opb::ConfirmOrderRequest {
                name: o.name.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        oc::deliver(&mut r1, &o, start / 1_000_000).await;
        let sofa = o.lines.iter().find(|l| l.sku == "SOFA-3S").unwrap();
        r1.returns
            .request_return(opb::RequestReturnRequest {
                parent: o.name.clone(),
                r#return: Some(opb::Return {
                    kind: opb::ReturnKind::Return.into(),
                    lines: vec![opb::DeliveryLine {
                        line_id: sofa.id.clone(),
                        quantity: 1,
                    }],
                    reason: "Scratched".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap();
        // Commission: 8% of two sofas and 5% of the table, less the returned sofa's 8%.
        eventually(
            "the dealer's ledger holds the sale and the return",
            async || {
                let lines = erp
                    .get(&format!("/v1/{dealer}/commissionLines"))
                    .await
                    .unwrap();
                lines.body["lines"].as_array().is_some_and(|l| l.len() == 3)
            },
        )
        .await;
        r1.deliveries
            .record_follow_up(opb::RecordFollowUpRequest {
                order: o.name.clone(),
                satisfaction: 5,
                ..Default::default()
            })
            .await
            .unwrap();
        // Wait for the completion to reach the ledger before time moves on.
        eventually(
            "the lines are payable once the order completed",
            async || {
                let lines = erp
                    .get(&format!("/v1/{dealer}/commissionLines"))
                    .await
                    .unwrap();
                lines.body["lines"]
                    .as_array()
                    .is_some_and(|l| l.iter().all(|x| x.get("payableTime").is_some()))
            },
        )
        .await;
        // Everything so far reaches the receiver before time moves on, so these deliveries carry
        // real times, which the independent check below takes (it knows no other clock).
        let wanted = [
            "rapport.partners.v1.registration.submitted",
            "rapport.partners.v1.registration.approved",
            "rapport.leads.v1.lead.created",
            "rapport.orders.v1.order.confirmed",
            "rapport.partners.v1.commission.line_added",
            "rapport.orders.v1.order.return_changed",
        ];
        let delivered = |got: &[rapport_testkit::receiver::Received], wanted: &[&str]| {
            let types: Vec<String> = got
                .iter()
                .map(|r| r.json()["type"].as_str().unwrap_or_default().to_owned())
                .collect();
            wanted.iter().all(|w| types.iter().any(|t| t == w))
        };
        eventually("the month's steps were delivered", async || {
            delivered(&receiver.got(), &wanted)
        })
        .await;
        let first = receiver.got()[0].clone();

        // Two months on, the month's statement is there, and right.
        clock.advance(62 * DAY);
        let mut statement = serde_json::Value::Null;
        eventually("the statement is generated", async || {
            let listed = erp.get(&format!("/v1/{dealer}/statements")).await.unwrap();
            statement = listed.body["statements"][0].clone();
            !statement.is_null()
        })
        .await;
        // 143,984 + 22,500 − 71,992, and the rebate: 100 bps of 1,349,900.
        assert_eq!(
            statement["totals"],
            json!([{"currencyCode": "CNY", "minorUnits": "107991"}]),
            "{statement}"
        );
        assert_eq!(statement["lineCount"], 4);

        // Every step reached the dealer's receiver, signed.
        let mut got = Vec::new();
        eventually("the statement was delivered", async || {
            got = receiver.got();
            delivered(&got, &["rapport.partners.v1.statement.created"])
        })
        .await;
        let secrets = [Secret::parse(&secret).unwrap()];
        let mut ids = std::collections::BTreeSet::new();
        for r in &got {
            let ts: i64 = r.header("webhook-timestamp").parse().unwrap();
            verify(
                &secrets,
                &r.header("webhook-id"),
                &r.header("webhook-timestamp"),
                &r.header("webhook-signature"),
                &r.body,
                ts * 1_000_000,
            )
            .unwrap_or_else(|e| panic!("{e}: {:?}", r.json()["type"]));
            ids.insert(r.header("webhook-id"));
            let data = r.json()["data"].to_string();
            assert!(
                data.contains(&dealer) || data.contains(&dealer.replace("partners/", "")),
                "a delivery about another partner: {data}"
            );
        }
        assert_eq!(ids.len(), got.len(), "one webhook-id per event");
        // The independent implementation agrees, on a delivery made before time moved on.
        let other = Secret::generate().expose();
        standard_webhooks::python_verifies(
            &standard_webhooks::Signed {
                body: &first.body,
                id: &first.header("webhook-id"),
                timestamp: &first.header("webhook-timestamp"),
                signature: &first.header("webhook-signature"),
            },
            std::slice::from_ref(&secret),
            &other,
        );
        s.stop().await;
    }
}
