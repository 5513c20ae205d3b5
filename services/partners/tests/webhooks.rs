//! Webhooks (PA6) through gRPC on every backend, delivered to a real HTTP receiver on
//! 127.0.0.1 (loopback allowed by the test server's RAPPORT_WEBHOOK_ALLOW_NETWORKS): signed
//! deliveries verified here and, when RAPPORT_TEST_WEBHOOK_PYTHON names an interpreter with the
//! `standardwebhooks` package, by that independent implementation; retries on the schedule
//! under a manual clock, 410, dead letters, replay, targets refused without the allow-list, a
//! receiver down for a while; and every RPC's refusals.

use std::net::SocketAddr;

use rapport_kit::webhooks::{Secret, verify};
use rapport_proto::partners::{self as pb, webhook_service_client::WebhookServiceClient as Client};
use rapport_runtime::clock::{Clock, HOUR, MINUTE, ManualClock, Micros, SECOND, SystemClock};
use rapport_testkit::{
    Backend, Bearer, TestServer,
    receiver::{Received, Receiver},
    standard_webhooks,
    wait::eventually,
};
use tonic::{Code, codegen::InterceptedService, transport::Channel};

use crate::common::*;

type Hooks = Client<InterceptedService<Channel, Bearer>>;

fn hooks(s: &TestServer, bearer: Bearer) -> Hooks {
    Client::with_interceptor(s.channel.clone(), bearer)
}

fn admin_hooks(s: &TestServer) -> Hooks {
    hooks(s, s.admin())
}

fn partner_hooks(s: &TestServer, partner: &str) -> Hooks {
    hooks(
        s,
        s.auth("t1", partner, &[rapport_runtime::auth::Role::Partner]),
    )
}

/// The code of an answer, OK for a success.
fn code<T>(r: Result<T, tonic::Status>) -> Code {
    r.map_or_else(|e| e.code(), |_| Code::Ok)
}

/// A port nothing listens on.
fn closed_port() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

/// Runs `test` on every backend, on a server whose clock the test drives (set to the real time
/// at first, so signatures' timestamps are fresh) and that lets webhooks go to loopback.
async fn each_backend_hooks(test: impl AsyncFn(&TestServer, &ManualClock)) {
    for backend in Backend::all() {
        eprintln!("-- on {backend:?}");
        let clock = ManualClock::at(SystemClock.now());
        let server = TestServer::builder()
            .clock(clock.clone())
            .webhook_allow_networks("127.0.0.0/8, ::1")
            .start(backend, &services())
            .await;
        test(&server, &clock).await;
        server.stop().await;
    }
}

fn endpoint(url: &str, types: &[&str]) -> pb::WebhookEndpoint {
    pb::WebhookEndpoint {
        url: url.into(),
        event_types: types.iter().map(|t| (*t).to_owned()).collect(),
        ..Default::default()
    }
}

async fn create(
    c: &mut Hooks,
    parent: &str,
    e: pb::WebhookEndpoint,
    request_id: &str,
) -> Result<pb::WebhookEndpoint, tonic::Status> {
    c.create_webhook_endpoint(pb::CreateWebhookEndpointRequest {
        parent: parent.into(),
        webhook_endpoint: Some(e),
        request_id: request_id.into(),
    })
    .await
    .map(|r| r.into_inner())
}

async fn deliveries(c: &mut Hooks, endpoint: &str) -> Vec<pb::WebhookDelivery> {
    c.list_webhook_deliveries(pb::ListWebhookDeliveriesRequest {
        parent: endpoint.into(),
        ..Default::default()
    })
    .await
    .unwrap()
    .into_inner()
    .webhook_deliveries
}

/// Waits until `endpoint`'s only delivery satisfies `done`; it.
async fn delivery_when(
    c: &Hooks,
    endpoint: &str,
    what: &str,
    done: impl Fn(&pb::WebhookDelivery) -> bool,
) -> pb::WebhookDelivery {
    let mut found = None;
    eventually(what, async || {
        let mut c = c.clone();
        let all = deliveries(&mut c, endpoint).await;
        found = all.into_iter().next().filter(|d| done(d));
        found.is_some()
    })
    .await;
    found.unwrap()
}

fn state(d: &pb::WebhookDelivery) -> pb::WebhookDeliveryState {
    pb::WebhookDeliveryState::try_from(d.state).unwrap()
}

async fn rename(s: &TestServer, partner: &str, name: &str) {
    admin(s)
        .partners
        .update_partner(pb::UpdatePartnerRequest {
            partner: Some(pb::Partner {
                name: partner.into(),
                display_name: name.into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["display_name".into()],
            }),
        })
        .await
        .expect("rename the partner");
}

const UPDATED: &str = "rapport.partners.v1.partner.updated";
const APPROVED: &str = "rapport.partners.v1.registration.approved";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_approved_registration_reaches_the_partners_endpoint_signed() {
    each_backend_hooks(async |s, _clock| {
        let sofas = category(s, "Sofas").await;
        let dealer = active_partner(s, "Lanting Furniture").await;
        let rival = active_partner(s, "Rival Homes").await;
        let ours = Receiver::start().await;
        let theirs = Receiver::start().await;
        let mut me = partner_hooks(s, &dealer.name);
        let e = create(
            &mut me,
            &dealer.name,
            endpoint(&ours.url("/in"), &[APPROVED]),
            "",
        )
        .await
        .unwrap();
        assert!(e.secret.starts_with("whsec_"), "{e:?}");
        // Another partner subscribed to everything gets nothing of this partner's.
        create(
            &mut partner_hooks(s, &rival.name),
            &rival.name,
            endpoint(&theirs.url("/in"), &["*"]),
            "",
        )
        .await
        .unwrap();
        // A filter that does not hold keeps an endpoint out.
        let mut filtered = endpoint(&ours.url("/filtered"), &[APPROVED]);
        filtered.filters = vec![pb::WebhookFilter {
            path: "registration.region".into(),
            values: vec!["Beijing".into()],
        }];
        create(&mut me, &dealer.name, filtered, "").await.unwrap();
        // Rotated: the old secret signs beside the new one.
        let rotated = me
            .rotate_webhook_secret(pb::RotateWebhookSecretRequest {
                name: e.name.clone(),
                etag: e.etag.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_ne!(rotated.secret, e.secret);
        assert!(rotated.previous_secret_expire_time.is_some());

        let mut pc = as_partner(s, &dealer.name);
        let r = register(&mut pc, registration("", "138 0013 8000", &[&sofas]), "")
            .await
            .unwrap();
        approve(&mut manager(s), &r.name, true).await.unwrap();

        let got = ours.wait_for(1).await;
        let hit = &got[0];
        let body = hit.json();
        assert_eq!(body["type"], APPROVED);
        assert_eq!(body["data"]["registration"]["name"], r.name.as_str());
        assert_eq!(
            body["data"]["registration"]["partner"],
            dealer.name.as_str()
        );
        assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
        let id = hit.header("webhook-id");
        assert!(id.starts_with("msg_"), "{id}");
        let signature = hit.header("webhook-signature");
        assert_eq!(signature.split(' ').count(), 2, "{signature}");
        let secrets = [
            Secret::parse(&rotated.secret).unwrap(),
            Secret::parse(&e.secret).unwrap(),
        ];
        for secret in &secrets {
            let ok = verify(
                std::slice::from_ref(secret),
                &id,
                &hit.header("webhook-timestamp"),
                &signature,
                &hit.body,
                SystemClock.now(),
            );
            assert_eq!(ok, Ok(()));
        }
        python_verifies(hit, &secrets);

        let d = delivery_when(&me, &e.name, "the delivery is logged", |d| {
            state(d) == pb::WebhookDeliveryState::Delivered
        })
        .await;
        assert_eq!(d.webhook_id, id);
        assert_eq!(d.event_type, APPROVED);
        assert_eq!(d.payload.as_bytes(), &hit.body[..]);
        assert_eq!(d.attempts.len(), 1);
        assert_eq!(d.attempts[0].status_code, 200);
        assert!(d.next_attempt_time.is_none());

        // Give the consumers time to deliver anything else they would.
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        assert_eq!(ours.got().len(), 1, "the filtered endpoint got nothing");
        // The rival may get its own events (its setup), never the dealer's.
        for got in theirs.got() {
            let body = String::from_utf8_lossy(&got.body).into_owned();
            assert!(!body.contains(&dealer.name), "another partner got {body}");
            assert!(!body.contains("registration"), "another partner got {body}");
        }
    })
    .await;
}

/// Verifies `r` with the Python `standardwebhooks` package, with each secret alone.
fn python_verifies(r: &Received, secrets: &[Secret]) {
    let headers = r.webhook_headers();
    let secrets: Vec<String> = secrets.iter().map(Secret::expose).collect();
    standard_webhooks::python_verifies(
        &headers.signed(&r.body),
        &secrets,
        &Secret::generate().expose(),
    );
}

/// The delay of the schedule before attempt `n + 1` after `n` failed, with room for jitter.
fn past(delay: Micros) -> Micros {
    delay + delay / 10 + SECOND
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failures_are_retried_on_the_schedule_with_one_webhook_id_until_dead_and_replayed() {
    each_backend_hooks(async |s, clock| {
        let dealer = create_partner(s, "Lanting Furniture", pb::PartnerKind::Dealer).await;
        let flaky = Receiver::start().await;
        let down = Receiver::start().await;
        flaky.answer(500);
        down.answer(503);
        let mut a = admin_hooks(s);
        let ef = create(
            &mut a,
            &dealer.name,
            endpoint(&flaky.url("/"), &[UPDATED]),
            "",
        )
        .await
        .unwrap();
        let ed = create(
            &mut a,
            &dealer.name,
            endpoint(&down.url("/"), &[UPDATED]),
            "",
        )
        .await
        .unwrap();
        let start = clock.now();
        rename(s, &dealer.name, "Lanting Furniture Ltd").await;

        flaky.wait_for(1).await;
        let d = delivery_when(&a, &ef.name, "the first attempt failed", |d| {
            d.attempt_count == 1
        })
        .await;
        assert_eq!(state(&d), pb::WebhookDeliveryState::FailedRetrying);
        let next = d.next_attempt_time.unwrap().seconds * SECOND;
        assert!(
            (start + 5 * SECOND - SECOND..=start + 6 * SECOND).contains(&next),
            "next attempt {next} vs start {start}"
        );
        // Not before its time.
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        assert_eq!(flaky.got().len(), 1);

        clock.advance(past(5 * SECOND));
        flaky.wait_for(2).await;
        flaky.answer(200);
        clock.advance(past(5 * MINUTE));
        let got = flaky.wait_for(3).await;
        let ids: Vec<String> = got.iter().map(|r| r.header("webhook-id")).collect();
        assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
        let d = delivery_when(&a, &ef.name, "the third attempt delivered", |d| {
            state(d) == pb::WebhookDeliveryState::Delivered
        })
        .await;
        let statuses: Vec<i32> = d.attempts.iter().map(|x| x.status_code).collect();
        assert_eq!(statuses, [500, 500, 200]);
        assert_eq!(d.webhook_id, ids[0]);

        // The other endpoint fails every attempt of the schedule: a dead letter.
        for delay in [30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR] {
            let before = down.got().len();
            clock.advance(past(delay));
            down.wait_for(before + 1).await;
        }
        let dead = delivery_when(&a, &ed.name, "the delivery is dead", |d| {
            state(d) == pb::WebhookDeliveryState::Dead
        })
        .await;
        assert_eq!(dead.attempt_count, 8);
        assert_eq!(dead.attempts.len(), 8);
        assert!(dead.next_attempt_time.is_none());
        clock.advance(past(10 * HOUR));
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        assert_eq!(down.got().len(), 8, "nothing after the last attempt");
        let dead_list = a
            .list_webhook_deliveries(pb::ListWebhookDeliveriesRequest {
                parent: ed.name.clone(),
                state: pb::WebhookDeliveryState::Dead.into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .webhook_deliveries;
        assert_eq!(dead_list.len(), 1);

        // Replayed once the receiver is back: at once, with the same webhook-id.
        down.answer(200);
        let replayed = a
            .replay_webhook_delivery(pb::ReplayWebhookDeliveryRequest {
                name: dead.name.clone(),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(state(&replayed), pb::WebhookDeliveryState::Pending);
        let got = down.wait_for(9).await;
        assert_eq!(got[8].header("webhook-id"), dead.webhook_id);
        delivery_when(&a, &ed.name, "the replay delivered", |d| {
            state(d) == pb::WebhookDeliveryState::Delivered && d.attempt_count == 1
        })
        .await;

        // Everything since a time, again.
        let n = a
            .replay_webhook_deliveries(pb::ReplayWebhookDeliveriesRequest {
                parent: ef.name.clone(),
                since: Some(rapport_runtime::clock::to_timestamp(start - SECOND)),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner()
            .replayed;
        assert_eq!(n, 1);
        let got = flaky.wait_for(4).await;
        assert_eq!(got[3].header("webhook-id"), ids[0]);
        let later = a
            .replay_webhook_deliveries(pb::ReplayWebhookDeliveriesRequest {
                parent: ef.name.clone(),
                since: Some(rapport_runtime::clock::to_timestamp(clock.now())),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner()
            .replayed;
        assert_eq!(later, 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gone_disables_the_endpoint_until_it_is_enabled_again() {
    each_backend_hooks(async |s, clock| {
        let dealer = create_partner(s, "Lanting Furniture", pb::PartnerKind::Dealer).await;
        let r = Receiver::start().await;
        r.answer(410);
        let mut me = partner_hooks(s, &dealer.name);
        let e = create(&mut me, &dealer.name, endpoint(&r.url("/"), &[UPDATED]), "")
            .await
            .unwrap();
        rename(s, &dealer.name, "One").await;
        let d = delivery_when(&me, &e.name, "the 410 is recorded", |d| {
            state(d) == pb::WebhookDeliveryState::Discarded
        })
        .await;
        assert_eq!(d.attempts[0].status_code, 410);
        let disabled = me
            .get_webhook_endpoint(pb::GetWebhookEndpointRequest {
                name: e.name.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(disabled.state, pb::WebhookEndpointState::Disabled as i32);
        assert!(disabled.disabled_reason.contains("410"), "{disabled:?}");
        assert!(disabled.secret.is_empty(), "the secret is shown only once");

        // Disabled, it receives nothing; enabled again, it receives what follows.
        rename(s, &dealer.name, "Two").await;
        clock.advance(HOUR);
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        assert_eq!(r.got().len(), 1);
        r.answer(200);
        me.update_webhook_endpoint(pb::UpdateWebhookEndpointRequest {
            webhook_endpoint: Some(pb::WebhookEndpoint {
                name: e.name.clone(),
                state: pb::WebhookEndpointState::Enabled.into(),
                etag: disabled.etag.clone(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["state".into()],
            }),
            request_id: String::new(),
        })
        .await
        .unwrap();
        rename(s, &dealer.name, "Three").await;
        let got = r.wait_for(2).await;
        assert_eq!(got[1].json()["data"]["partner"]["displayName"], "Three");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_receiver_down_for_a_while_gets_every_event_once_it_is_back() {
    each_backend_hooks(async |s, clock| {
        let dealer = create_partner(s, "Lanting Furniture", pb::PartnerKind::Dealer).await;
        let addr = closed_port();
        let mut a = admin_hooks(s);
        let e = create(
            &mut a,
            &dealer.name,
            endpoint(&format!("http://{addr}/in"), &[UPDATED]),
            "",
        )
        .await
        .unwrap();
        for name in ["One", "Two", "Three"] {
            rename(s, &dealer.name, name).await;
        }
        eventually("three attempts failed", async || {
            let mut a = a.clone();
            let all = deliveries(&mut a, &e.name).await;
            all.len() == 3 && all.iter().all(|d| d.attempt_count == 1)
        })
        .await;
        let all = deliveries(&mut a, &e.name).await;
        assert!(
            all[0].attempts[0].error.contains("connecting to"),
            "{all:?}"
        );

        let r = Receiver::start_on(addr).await;
        clock.advance(past(5 * SECOND));
        r.wait_for(3).await;
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        let got = r.got();
        let mut names: Vec<String> = got
            .iter()
            .map(|x| {
                x.json()["data"]["partner"]["displayName"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        names.sort();
        assert_eq!(names, ["One", "Three", "Two"]);
        let mut ids: Vec<String> = got.iter().map(|x| x.header("webhook-id")).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 3, "each event once");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn internal_targets_are_refused_without_the_allow_list() {
    rapport_testkit::each_backend(&services(), async |s| {
        let dealer = create_partner(s, "Lanting Furniture", pb::PartnerKind::Dealer).await;
        let mut a = admin_hooks(s);
        for (url, why) in [
            ("http://10.0.0.1/in", "10.0.0.1 is a private address"),
            (
                "http://127.0.0.1:8080/in",
                "127.0.0.1 is a loopback address",
            ),
            ("http://localhost:8080/in", "localhost resolves to "),
        ] {
            let status = assert_code(
                create(&mut a, &dealer.name, endpoint(url, &[UPDATED]), "").await,
                Code::InvalidArgument,
            );
            assert_eq!(bad_fields(&status), ["webhook_endpoint.url"], "{url}");
            assert!(
                status.message().contains(why),
                "{url}: {}",
                status.message()
            );
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rpcs_refuse_bad_input_strangers_wrong_roles_other_partners_and_stale_etags() {
    each_backend_hooks(async |s, _clock| {
        let dealer = create_partner(s, "Lanting Furniture", pb::PartnerKind::Dealer).await;
        let rival = create_partner(s, "Rival Homes", pb::PartnerKind::Dealer).await;
        let r = Receiver::start().await;
        let mut me = partner_hooks(s, &dealer.name);

        // Bad input, every field at once.
        let mut bad = endpoint("ftp://x", &["rapport.partners.v1.tier.created", "nope"]);
        bad.filters = vec![pb::WebhookFilter::default()];
        let status = assert_code(
            create(&mut me, "partners/x", bad, "").await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&status),
            [
                "parent",
                "webhook_endpoint.event_types[0]",
                "webhook_endpoint.event_types[1]",
                "webhook_endpoint.filters[0].path",
                "webhook_endpoint.filters[0].values",
                "webhook_endpoint.url",
            ]
        );
        let status = assert_code(
            create(&mut me, &dealer.name, endpoint(&r.url("/"), &[]), "").await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["webhook_endpoint.event_types"]);

        // A retried request id answers the same endpoint, without its secret: no answer kept
        // for retries holds one.
        let e = create(
            &mut me,
            &dealer.name,
            endpoint(&r.url("/"), &[UPDATED]),
            "c-1",
        )
        .await
        .unwrap();
        let again = create(
            &mut me,
            &dealer.name,
            endpoint(&r.url("/"), &[UPDATED]),
            "c-1",
        )
        .await
        .unwrap();
        assert!(!e.secret.is_empty());
        assert!(again.secret.is_empty());
        assert_eq!(
            pb::WebhookEndpoint {
                secret: String::new(),
                ..e.clone()
            },
            again
        );
        let listed = me
            .list_webhook_endpoints(pb::ListWebhookEndpointsRequest {
                parent: dealer.name.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .webhook_endpoints;
        assert_eq!(listed.len(), 1);
        assert!(listed[0].secret.is_empty());

        let status = assert_code(
            me.rotate_webhook_secret(pb::RotateWebhookSecretRequest {
                name: "partners/x/webhookEndpoints/y".into(),
                overlap: Some(prost_types::Duration {
                    seconds: 8 * 24 * 3600,
                    nanos: 0,
                }),
                ..Default::default()
            })
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(sorted_bad_fields(&status), ["name", "overlap"]);
        let status = assert_code(
            me.replay_webhook_deliveries(pb::ReplayWebhookDeliveriesRequest {
                parent: e.name.clone(),
                ..Default::default()
            })
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["since"]);
        let status = assert_code(
            me.update_webhook_endpoint(pb::UpdateWebhookEndpointRequest {
                webhook_endpoint: Some(pb::WebhookEndpoint {
                    name: e.name.clone(),
                    url: "http://10.1.2.3/in".into(),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["url".into(), "secret".into()],
                }),
                request_id: String::new(),
            })
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&status),
            ["update_mask", "webhook_endpoint.url"]
        );

        // A stale etag is refused.
        let renamed = me
            .update_webhook_endpoint(pb::UpdateWebhookEndpointRequest {
                webhook_endpoint: Some(pb::WebhookEndpoint {
                    name: e.name.clone(),
                    description: "orders desk".into(),
                    etag: e.etag.clone(),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["description".into()],
                }),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(renamed.description, "orders desk");
        assert_ne!(renamed.etag, e.etag);
        assert_code(
            me.rotate_webhook_secret(pb::RotateWebhookSecretRequest {
                name: e.name.clone(),
                etag: e.etag.clone(),
                ..Default::default()
            })
            .await,
            Code::Aborted,
        );
        assert_code(
            me.delete_webhook_endpoint(pb::DeleteWebhookEndpointRequest {
                name: e.name.clone(),
                etag: e.etag.clone(),
                request_id: String::new(),
            })
            .await,
            Code::Aborted,
        );

        // Another partner, another tenant: NOT_FOUND, never data. A rep: PERMISSION_DENIED.
        for mut other in [partner_hooks(s, &rival.name), hooks(s, s.stranger())] {
            let e = e.name.clone();
            let delivery = e.replace("webhookEndpoints", "webhookDeliveries");
            let parent = dealer.name.clone();
            let since = Some(prost_types::Timestamp::default());
            let codes = [
                code(
                    other
                        .get_webhook_endpoint(pb::GetWebhookEndpointRequest { name: e.clone() })
                        .await,
                ),
                code(
                    other
                        .list_webhook_endpoints(pb::ListWebhookEndpointsRequest {
                            parent: parent.clone(),
                            ..Default::default()
                        })
                        .await,
                ),
                code(create(&mut other, &parent, endpoint(&r.url("/"), &[UPDATED]), "").await),
                code(
                    other
                        .list_webhook_deliveries(pb::ListWebhookDeliveriesRequest {
                            parent: e.clone(),
                            ..Default::default()
                        })
                        .await,
                ),
                code(
                    other
                        .rotate_webhook_secret(pb::RotateWebhookSecretRequest {
                            name: e.clone(),
                            ..Default::default()
                        })
                        .await,
                ),
                code(
                    other
                        .delete_webhook_endpoint(pb::DeleteWebhookEndpointRequest {
                            name: e.clone(),
                            ..Default::default()
                        })
                        .await,
                ),
                code(
                    other
                        .replay_webhook_deliveries(pb::ReplayWebhookDeliveriesRequest {
                            parent: e.clone(),
                            since,
                            request_id: String::new(),
                        })
                        .await,
                ),
                code(
                    other
                        .replay_webhook_delivery(pb::ReplayWebhookDeliveryRequest {
                            name: delivery,
                            request_id: String::new(),
                        })
                        .await,
                ),
            ];
            assert_eq!(codes, [Code::NotFound; 8]);
        }
        let mut rep = hooks(s, s.rep("rep-1", "north"));
        assert_code(
            rep.list_webhook_endpoints(pb::ListWebhookEndpointsRequest {
                parent: dealer.name.clone(),
                ..Default::default()
            })
            .await,
            Code::PermissionDenied,
        );
        assert_code(
            create(
                &mut rep,
                &dealer.name,
                endpoint(&r.url("/"), &[UPDATED]),
                "",
            )
            .await,
            Code::PermissionDenied,
        );

        // Deleted with its current etag, it is gone.
        me.delete_webhook_endpoint(pb::DeleteWebhookEndpointRequest {
            name: e.name.clone(),
            etag: renamed.etag.clone(),
            request_id: "d-1".into(),
        })
        .await
        .unwrap();
        assert_code(
            me.get_webhook_endpoint(pb::GetWebhookEndpointRequest {
                name: e.name.clone(),
            })
            .await,
            Code::NotFound,
        );
    })
    .await;
}
