//! The webhook sender against a real HTTP receiver on 127.0.0.1 (allowed by the sender's
//! allow-list, as an operator would allow an internal receiver), and the signatures it makes
//! checked by the Python `standardwebhooks` package when `RAPPORT_TEST_WEBHOOK_PYTHON` names an
//! interpreter that has it.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use rapport_kit::webhooks::{
    Attempt, Delivery, Outcome, Policy, Secret, Sender, message_id, resolve,
    send::{BODY_LIMIT, USER_AGENT},
    verify,
};
use rapport_runtime::clock::{Clock, SECOND, SystemClock};
use rapport_testkit::standard_webhooks::{self, Signed};

/// A request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

type Log = Arc<Mutex<Vec<Received>>>;

/// Answers by path: `/ok` 200, `/gone` 410, `/fail` 500 with a long body, `/hang` never,
/// `/redirect` 307 to `/ok`; logs every request.
async fn receive(State(log): State<Log>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    log.lock().unwrap().push(Received {
        path: uri.path().to_owned(),
        headers,
        body,
    });
    match uri.path() {
        "/ok" => (StatusCode::OK, "thanks").into_response(),
        "/gone" => StatusCode::GONE.into_response(),
        "/fail" => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "x".repeat(3 * BODY_LIMIT),
        )
            .into_response(),
        "/hang" => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            StatusCode::OK.into_response()
        }
        "/redirect" => {
            (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, "/ok")]).into_response()
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A receiver on a free loopback port.
async fn receiver() -> (SocketAddr, Log) {
    let log = Log::default();
    let app = Router::new().fallback(receive).with_state(log.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, log)
}

fn loopback_sender() -> Sender {
    Sender::new("127.0.0.0/8, ::1/128".parse().unwrap())
}

const BODY: &[u8] =
    br#"{"type":"customer.created","timestamp":"2026-01-01T00:00:00Z","data":{"id":"c1"}}"#;

async fn send(sender: &Sender, url: &str, secrets: &[Secret]) -> Attempt {
    let msg_id = message_id("sub_1", "evt_1");
    let delivery = Delivery {
        url,
        msg_id: &msg_id,
        body: BODY,
        secrets,
    };
    sender.send(&delivery, SystemClock.now()).await
}

/// Starts a receiver and makes one attempt with `sender` and a fresh secret at `url`, in which
/// `{addr}` stands for the receiver's address.
async fn attempt_at(sender: &Sender, url: &str) -> (Attempt, Log) {
    let (addr, log) = receiver().await;
    let url = url.replace("{addr}", &addr.to_string());
    (send(sender, &url, &[Secret::generate()]).await, log)
}

fn header<'a>(r: &'a Received, name: &str) -> &'a str {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_delivery_is_signed_with_every_secret_and_verifies() {
    let (addr, log) = receiver().await;
    let (current, old) = (Secret::generate(), Secret::generate());
    let secrets = [current.clone(), old.clone()];
    let before = SystemClock.now();
    let a = send(
        &loopback_sender(),
        &format!("http://{addr}/ok?x=1"),
        &secrets,
    )
    .await;
    assert_eq!(a.status, Some(200), "{a:?}");
    assert_eq!(a.body, "thanks");
    assert_eq!(a.error, None);
    assert_eq!(a.outcome(), Outcome::Delivered);
    assert!(a.latency < Duration::from_secs(5));

    let got = log.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!(r.path, "/ok");
    assert_eq!(&r.body[..], BODY);
    assert_eq!(header(r, "content-type"), "application/json");
    assert_eq!(header(r, "user-agent"), USER_AGENT);
    assert_eq!(header(r, "host"), addr.to_string());
    assert_eq!(header(r, "webhook-id"), message_id("sub_1", "evt_1"));
    let ts: i64 = header(r, "webhook-timestamp").parse().unwrap();
    assert!((before / SECOND..=SystemClock.now() / SECOND).contains(&ts));
    let signature = header(r, "webhook-signature");
    assert_eq!(signature.split(' ').count(), 2, "{signature}");
    for secret in [&current, &old] {
        let ok = verify(
            std::slice::from_ref(secret),
            header(r, "webhook-id"),
            header(r, "webhook-timestamp"),
            signature,
            &r.body,
            SystemClock.now(),
        );
        assert_eq!(ok, Ok(()));
    }
    python_verifies(r, &secrets);
}

/// Verifies the received request with the Python `standardwebhooks` package, with each secret
/// alone, and checks that it refuses a changed body and another secret.
fn python_verifies(r: &Received, secrets: &[Secret]) {
    let signed = Signed {
        body: &r.body,
        id: header(r, "webhook-id"),
        timestamp: header(r, "webhook-timestamp"),
        signature: header(r, "webhook-signature"),
    };
    let secrets: Vec<String> = secrets.iter().map(Secret::expose).collect();
    standard_webhooks::python_verifies(&signed, &secrets, &Secret::generate().expose());
}

#[tokio::test]
async fn gone_disables_the_endpoint() {
    let (a, _) = attempt_at(&loopback_sender(), "http://{addr}/gone").await;
    assert_eq!((a.status, a.error.as_deref()), (Some(410), None));
    assert_eq!(a.outcome(), Outcome::Gone);
}

#[tokio::test]
async fn a_server_error_is_retried_and_its_body_kept_short() {
    let (a, _) = attempt_at(&loopback_sender(), "http://{addr}/fail").await;
    assert_eq!(a.status, Some(500));
    assert_eq!(a.outcome(), Outcome::Failed);
    assert_eq!(a.body, "x".repeat(BODY_LIMIT));
}

#[tokio::test]
async fn a_receiver_that_hangs_times_out() {
    let sender = loopback_sender().with_timeout(Duration::from_secs(1));
    let (a, log) = attempt_at(&sender, "http://{addr}/hang").await;
    assert_eq!(a.status, None);
    assert_eq!(
        a.error.as_deref(),
        Some("timed out after 1s waiting for the answer")
    );
    assert!(a.latency >= Duration::from_secs(1) && a.latency < Duration::from_secs(5));
    assert_eq!(a.outcome(), Outcome::Failed);
    assert_eq!(log.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_closed_port_is_a_refused_connection() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let a = send(
        &loopback_sender(),
        &format!("http://{addr}/ok"),
        &[Secret::generate()],
    )
    .await;
    assert_eq!(a.status, None);
    let error = a.error.unwrap();
    assert!(
        error.starts_with(&format!("connecting to {addr}: ")),
        "{error}"
    );
    assert!(error.to_lowercase().contains("refused"), "{error}");
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let (a, log) = attempt_at(&loopback_sender(), "http://{addr}/redirect").await;
    assert_eq!(a.status, Some(307));
    assert_eq!(a.outcome(), Outcome::Failed);
    let paths: Vec<String> = log.lock().unwrap().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, ["/redirect"]);
}

#[tokio::test]
async fn internal_targets_are_refused_before_connecting() {
    let (addr, log) = receiver().await;
    let sender = Sender::new(Policy::default());
    let secrets = [Secret::generate()];
    let a = send(&sender, &format!("http://{addr}/ok"), &secrets).await;
    assert_eq!(a.status, None);
    assert_eq!(
        a.error.as_deref(),
        Some("url: 127.0.0.1 is a loopback address")
    );
    let a = send(
        &sender,
        &format!("http://localhost:{}/ok", addr.port()),
        &secrets,
    )
    .await;
    let error = a.error.unwrap();
    assert!(error.starts_with("url: localhost resolves to "), "{error}");
    assert!(error.ends_with(", a loopback address"), "{error}");
    assert!(log.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_name_that_resolves_to_loopback_passes_only_when_allowed() {
    let target = Policy::default()
        .parse_url("endpoint.url", "http://localhost:8080/in")
        .unwrap();
    let refused = resolve(&Policy::default(), "endpoint.url", &target)
        .await
        .unwrap_err();
    assert_eq!(refused.field, "endpoint.url");
    assert!(refused.description.starts_with("localhost resolves to "));
    let allowing: Policy = "127.0.0.0/8 ::1".parse().unwrap();
    let addrs = resolve(&allowing, "endpoint.url", &target).await.unwrap();
    assert!(!addrs.is_empty());
    for addr in addrs {
        assert!(addr.ip().is_loopback() && addr.port() == 8080, "{addr}");
    }
}

#[tokio::test]
async fn https_to_a_plain_http_receiver_fails_in_tls() {
    let (a, _) = attempt_at(&loopback_sender(), "https://{addr}/ok").await;
    assert_eq!(a.status, None);
    let error = a.error.unwrap();
    assert!(
        error.starts_with("TLS handshake with 127.0.0.1: "),
        "{error}"
    );
}

#[tokio::test]
async fn nothing_is_sent_without_a_secret() {
    let (addr, log) = receiver().await;
    let a = send(&loopback_sender(), &format!("http://{addr}/ok"), &[]).await;
    assert_eq!(a.error.as_deref(), Some("no signing secret"));
    assert!(log.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_host_name_is_sent_to_an_address_it_resolved_to_under_its_own_name() {
    let (addr, log) = receiver().await;
    let url = format!("http://localhost:{}/ok", addr.port());
    let a = send(&loopback_sender(), &url, &[Secret::generate()]).await;
    assert_eq!(a.status, Some(200), "{a:?}");
    let got = log.lock().unwrap().clone();
    assert_eq!(
        header(&got[0], "host"),
        format!("localhost:{}", addr.port())
    );
}
