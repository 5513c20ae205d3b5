//! Server bootstrap as a client sees it: health (readiness and liveness), reflection, load
//! shedding and graceful shutdown.

use std::{
    convert::Infallible,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use rapport_runtime::{
    Result,
    cache::Cache,
    clock::{Clock, SystemClock},
    context::ServiceBundle,
    events::{Bus, Event, EventHandler, NewEvent, Relay, append},
    server::{LIVENESS, Running, Served, ServerOptions, start_on},
    shed::ShedLayer,
    storage::{Db, Migrations, PoolSettings},
    telemetry::Metrics,
};
use tokio::sync::{mpsc, oneshot};
use tonic::{Code, transport::Channel};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use tonic_reflection::pb::{v1, v1alpha};
use tower::{Layer, Service, ServiceExt};

const WAIT: Duration = Duration::from_secs(30);

fn options(drain: Duration) -> ServerOptions {
    ServerOptions {
        request_timeout: Duration::from_secs(30),
        max_concurrent_requests: 64,
        max_connection_age: Duration::from_secs(300),
        drain,
        metrics_listen: Some("127.0.0.1:0".parse().expect("addr")),
        http_listen: None,
        max_message_bytes: 4 * 1024 * 1024,
        replica: "test-replica".into(),
    }
}

/// A server with no services of its own: health, reflection and metrics only.
async fn start(drain: Duration) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    start_on(
        listener,
        options(drain),
        Vec::new(),
        Bus::memory(),
        Arc::new(SystemClock),
        Metrics::new(),
    )
    .await
    .expect("start")
}

async fn channel(addr: SocketAddr) -> Channel {
    tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect()
        .await
        .expect("connect")
}

async fn status(health: &mut HealthClient<Channel>, service: &str) -> ServingStatus {
    health
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .expect("health check")
        .into_inner()
        .status()
}

/// Readiness starts NOT_SERVING and turns SERVING once the first check has run in the
/// background: a test that starts a server waits for that rather than racing it.
async fn ready(health: &mut HealthClient<Channel>) {
    tokio::time::timeout(WAIT, async {
        while status(health, "").await != ServingStatus::Serving {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the server becomes ready");
}

#[tokio::test]
async fn health_reports_serving_and_liveness() {
    let running = start(Duration::ZERO).await;
    let mut health = HealthClient::new(channel(running.addr).await);
    ready(&mut health).await;
    assert_eq!(status(&mut health, LIVENESS).await, ServingStatus::Serving);
    let unknown = health
        .check(HealthCheckRequest {
            service: "rapport.nothing.v1.NothingService".into(),
        })
        .await
        .expect_err("an unknown service");
    assert_eq!(unknown.code(), Code::NotFound);
    running.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn reflection_lists_the_services_in_both_versions() {
    let running = start(Duration::ZERO).await;
    let ch = channel(running.addr).await;

    let request = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut replies = v1::server_reflection_client::ServerReflectionClient::new(ch.clone())
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection v1")
        .into_inner();
    let reply = replies
        .message()
        .await
        .expect("a reply")
        .expect("one message");
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        reply.message_response
    else {
        panic!("expected a service list, got {:?}", reply.message_response);
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for want in [
        "grpc.health.v1.Health",
        "rapport.customers.v1.CustomerService",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "{want} missing from {names:?}"
        );
    }

    // v1alpha, for older tools, answers the same.
    let request = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::FileContainingSymbol(
                "grpc.health.v1.Health".into(),
            ),
        ),
    };
    let mut replies = v1alpha::server_reflection_client::ServerReflectionClient::new(ch)
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection v1alpha")
        .into_inner();
    let reply = replies
        .message()
        .await
        .expect("a reply")
        .expect("one message");
    assert!(
        matches!(
            reply.message_response,
            Some(v1alpha::server_reflection_response::MessageResponse::FileDescriptorResponse(ref f))
                if !f.file_descriptor_proto.is_empty()
        ),
        "expected the health proto's descriptor, got {:?}",
        reply.message_response
    );
    running.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn metrics_are_served_over_http() {
    let running = start(Duration::ZERO).await;
    let mut health = HealthClient::new(channel(running.addr).await);
    status(&mut health, "").await;
    let metrics = running.metrics_addr.expect("metrics are on");
    let body = http_get(metrics, "/metrics").await;
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    assert!(
        body.contains("rapport_grpc_requests_total"),
        "request counter missing: {body}"
    );
    assert!(body.contains("grpc.health.v1.Health"), "{body}");
    running.shutdown().await.expect("shutdown");
}

async fn http_get(addr: SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("write request");
    let mut body = String::new();
    stream.read_to_string(&mut body).await.expect("read reply");
    body
}

/// A plain HTTP service standing in for the gRPC routes.
type Inner = tower::util::BoxCloneService<http::Request<()>, http::Response<String>, Infallible>;

/// A service that answers "done" once released (the first call) or at once (later calls).
fn slow_service() -> (Inner, oneshot::Sender<()>) {
    let (release, released) = oneshot::channel::<()>();
    let released = Arc::new(Mutex::new(Some(released)));
    let service = tower::service_fn(move |_req: http::Request<()>| {
        let wait = released.lock().expect("lock").take();
        async move {
            if let Some(wait) = wait {
                let _ = wait.await;
            }
            Ok::<_, Infallible>(http::Response::new("done".to_owned()))
        }
    });
    (Inner::new(service), release)
}

fn grpc_code(response: &http::Response<String>) -> Option<Code> {
    tonic::Status::from_header_map(response.headers()).map(|s| s.code())
}

#[tokio::test]
async fn requests_over_the_limit_are_shed_with_resource_exhausted() {
    let (inner, release) = slow_service();
    let mut service = ShedLayer::new(1).layer(inner);
    // Clones share the limit, as the server's per-connection clones do.
    let mut other_connection = service.clone();

    let slow = service
        .ready()
        .await
        .expect("ready")
        .call(http::Request::new(()));
    let shed = other_connection
        .ready()
        .await
        .expect("ready")
        .call(http::Request::new(()))
        .await
        .expect("an answer");
    assert_eq!(grpc_code(&shed), Some(Code::ResourceExhausted));
    assert!(shed.body().is_empty(), "the inner service never ran");

    release.send(()).expect("release");
    let done = slow.await.expect("the slow request finishes");
    assert_eq!(done.body(), "done");
    assert_eq!(grpc_code(&done), None);

    // Its permit is back: the next request goes through.
    let next = other_connection
        .ready()
        .await
        .expect("ready")
        .call(http::Request::new(()))
        .await
        .expect("an answer");
    assert_eq!(next.body(), "done");
}

/// Under overload, health checks are still answered: a busy server must not be taken out of
/// its Service, or restarted, for being busy.
#[tokio::test]
async fn health_checks_are_never_shed() {
    let (inner, release) = slow_service();
    let mut service = ShedLayer::new(1).layer(inner);
    let slow = service.call(http::Request::new(()));
    let request = |path: &str| {
        http::Request::builder()
            .uri(path)
            .body(())
            .expect("request")
    };
    for path in [
        "/grpc.health.v1.Health/Check",
        "/grpc.health.v1.Health/Watch",
    ] {
        let answered = service.call(request(path)).await.expect("an answer");
        assert_eq!(grpc_code(&answered), None, "{path}");
        assert_eq!(answered.body(), "done");
    }
    let shed = service
        .call(request("/rapport.customers.v1.CustomerService/GetCustomer"))
        .await
        .expect("an answer");
    assert_eq!(grpc_code(&shed), Some(Code::ResourceExhausted));
    release.send(()).expect("release");
    assert_eq!(slow.await.expect("answer").body(), "done");
}

#[tokio::test]
async fn a_limit_of_zero_still_serves_one_request_at_a_time() {
    let (inner, release) = slow_service();
    let mut service = ShedLayer::new(0).layer(inner);
    let slow = service.call(http::Request::new(()));
    let shed = service
        .call(http::Request::new(()))
        .await
        .expect("an answer");
    assert_eq!(grpc_code(&shed), Some(Code::ResourceExhausted));
    release.send(()).expect("release");
    assert_eq!(slow.await.expect("answer").body(), "done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_reports_not_serving_before_the_port_closes() {
    let running = start(Duration::from_secs(3)).await;
    let addr = running.addr;
    let ch = channel(addr).await;
    let mut health = HealthClient::new(ch.clone());
    ready(&mut health).await;

    // A watcher sees the change as it happens.
    let mut watch = health
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("watch")
        .into_inner();
    let first = watch.message().await.expect("watch").expect("a status");
    assert_eq!(first.status(), ServingStatus::Serving);

    let stopping = tokio::spawn(running.shutdown());
    let flipped = tokio::time::timeout(WAIT, async {
        loop {
            let next = watch.message().await.expect("watch").expect("a status");
            if next.status() != ServingStatus::Serving {
                return next.status();
            }
        }
    })
    .await
    .expect("the status changes");
    assert_eq!(flipped, ServingStatus::NotServing);
    drop(watch);

    // During the drain the port still answers: not ready, but alive.
    assert_eq!(status(&mut health, "").await, ServingStatus::NotServing);
    assert_eq!(status(&mut health, LIVENESS).await, ServingStatus::Serving);
    drop(health);
    drop(ch);

    tokio::time::timeout(WAIT, stopping)
        .await
        .expect("shutdown finishes")
        .expect("join")
        .expect("clean shutdown");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the port is closed after shutdown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_watch_stream_does_not_hold_up_shutdown() {
    let running = start(Duration::ZERO).await;
    let mut health = HealthClient::new(channel(running.addr).await);
    let mut watch = health
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("watch")
        .into_inner();
    watch.message().await.expect("watch").expect("a status");
    tokio::time::timeout(WAIT, running.shutdown())
        .await
        .expect("shutdown finishes while a client still watches")
        .expect("clean shutdown");
    drop(watch);
}

/// Passes the ids of the events it is handed to the test.
struct Forward(mpsc::UnboundedSender<String>);

#[tonic::async_trait]
impl EventHandler for Forward {
    fn group(&self) -> &'static str {
        "watcher.things"
    }

    fn stream(&self) -> &'static str {
        "things"
    }

    async fn handle(&self, event: &Event) -> Result<()> {
        let _ = self.0.send(event.id.clone());
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_committed_before_start_reach_in_process_handlers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Db::open_sqlite_file(dir.path(), "things", PoolSettings::default())
        .await
        .expect("open");
    db.migrate(&Migrations {
        postgres: &[],
        sqlite: &[],
    })
    .await
    .expect("migrate");
    // Left in the outbox by a previous run that stopped before relaying them.
    let mut tx = db.begin().await.expect("begin");
    let mut ids = Vec::new();
    for i in 0..3 {
        let event = NewEvent {
            stream: "things",
            event_type: "rapport.test.v1.thing.made",
            subject: format!("things/{i}"),
            tenant: "t1",
            actor: "tester",
            payload_type: "google.protobuf.Empty",
            payload: Vec::new(),
            traceparent: None,
        };
        ids.push(
            append(&mut tx, event, SystemClock.now())
                .await
                .expect("append"),
        );
    }
    tx.commit().await.expect("commit");

    let bus = Bus::memory();
    let clock = Arc::new(SystemClock);
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    let served = Served {
        bundle: ServiceBundle {
            name: "things",
            grpc_services: Vec::new(),
            routes: Box::new(|routes| routes),
            handlers: vec![Arc::new(Forward(seen_tx))],
            jobs: Vec::new(),
        },
        db: db.clone(),
        cache: Cache::memory(16),
        relay: Relay::new(db.clone(), bus.clone()),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let running = start_on(
        listener,
        options(Duration::ZERO),
        vec![served],
        bus,
        clock,
        Metrics::new(),
    )
    .await
    .expect("start");

    let mut got = Vec::new();
    while got.len() < ids.len() {
        let id = tokio::time::timeout(WAIT, seen.recv())
            .await
            .expect("the handler gets every event committed before the start")
            .expect("handler alive");
        got.push(id);
    }
    got.sort();
    ids.sort();
    assert_eq!(got, ids);
    running.shutdown().await.expect("shutdown");
}
