//! Server bootstrap: one gRPC port serving the given services (and, beside it, the HTTP/JSON
//! gateway to them, calling the same service stack) with health (readiness follows
//! each service's database and cache; `liveness` only says the process runs), reflection v1 and
//! v1alpha, deadlines, a global concurrency limit with load shedding, message size limits,
//! connection ageing, telemetry, Prometheus metrics, outbox relays, event handlers and jobs;
//! graceful shutdown: NOT_SERVING → drain → stop accepting → finish in-flight (for up to the
//! request timeout) → close.

use std::{net::SocketAddr, time::Duration};

use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tonic::service::Routes;
use tonic_health::ServingStatus;

use crate::{
    Error, Result,
    cache::Cache,
    clock::SharedClock,
    context::ServiceBundle,
    conventions::ConventionsLayer,
    events::{Bus, Consumers, Relay, RelayHandle, run_handler},
    gateway::{self, Gateway, GatewayOptions},
    shed::ShedLayer,
    storage::Db,
    telemetry::{GrpcTelemetryLayer, Metrics},
};

/// The health service name that reports liveness: serving for as long as the process runs.
pub const LIVENESS: &str = "liveness";

/// The health service name that reports the event bus and this process's consumers: serving
/// while the bus answers and every consumer reads. Not part of readiness (see `start_on`).
pub const EVENTS: &str = "events";

/// How often readiness is checked.
const READINESS_EVERY: Duration = Duration::from_secs(2);

/// How the server protects itself.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Deadline of a request that brings none.
    pub request_timeout: Duration,
    /// Requests at once before shedding.
    pub max_concurrent_requests: usize,
    /// Connection age before a graceful GOAWAY.
    pub max_connection_age: Duration,
    /// Time between NOT_SERVING and closing the port on shutdown.
    pub drain: Duration,
    /// Where to serve /metrics, if anywhere.
    pub metrics_listen: Option<SocketAddr>,
    /// Where to serve the HTTP/JSON gateway, if anywhere.
    pub http_listen: Option<SocketAddr>,
    /// Largest message accepted, bytes; the gateway refuses larger bodies.
    pub max_message_bytes: usize,
    /// This replica's name in event consumer groups.
    pub replica: String,
}

/// A service as run by the server: the bundle and the backing stores whose health it reports.
pub struct Served {
    /// The built service.
    pub bundle: ServiceBundle,
    /// Its database (for readiness and its outbox relay).
    pub db: Db,
    /// Its cache: the readiness loop redoes the invalidations Redis missed.
    pub cache: Cache,
    /// The relay of its outbox.
    pub relay: Relay,
}

/// A running server.
pub struct Running {
    /// The bound gRPC address.
    pub addr: SocketAddr,
    /// The bound metrics address, if metrics are served.
    pub metrics_addr: Option<SocketAddr>,
    /// The bound HTTP/JSON gateway address, if it is served.
    pub http_addr: Option<SocketAddr>,
    stop: Option<oneshot::Sender<()>>,
    done: JoinHandle<Result<()>>,
}

impl Running {
    /// Shuts down gracefully and waits until everything is closed.
    pub async fn shutdown(mut self) -> Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.wait().await
    }

    /// Waits until the server stops (after `shutdown`, or on a serving error).
    pub async fn wait(&mut self) -> Result<()> {
        (&mut self.done).await.map_err(Error::internal)?
    }

    /// A sender that triggers graceful shutdown, for signal handlers.
    pub fn take_stop(&mut self) -> Option<oneshot::Sender<()>> {
        self.stop.take()
    }
}

/// Binds `listen` and serves `services` until shut down.
pub async fn start(
    listen: SocketAddr,
    options: ServerOptions,
    services: Vec<Served>,
    bus: Bus,
    clock: SharedClock,
    metrics: Metrics,
) -> Result<Running> {
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| Error::internal(format!("cannot listen on {listen}: {e}")))?;
    start_on(listener, options, services, bus, clock, metrics).await
}

/// As `start`, on a listener already bound (tests bind port 0 first).
pub async fn start_on(
    listener: TcpListener,
    options: ServerOptions,
    services: Vec<Served>,
    bus: Bus,
    _clock: SharedClock,
    metrics: Metrics,
) -> Result<Running> {
    let addr = listener.local_addr().map_err(Error::internal)?;
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_service_status(LIVENESS, ServingStatus::Serving)
        .await;

    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(rapport_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        // The google.rpc error details every error carries, so clients can decode them.
        .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(Error::internal)?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(rapport_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        // The google.rpc error details every error carries, so clients can decode them.
        .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .map_err(Error::internal)?;

    let consumers = Consumers::new(&metrics);
    let mut routes = Routes::new(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha);
    let mut background: Vec<JoinHandle<()>> = Vec::new();
    let mut unstarted_relays: Vec<Relay> = Vec::new();
    let mut readiness = Vec::new();
    for served in services {
        let Served {
            bundle,
            db,
            cache,
            relay,
        } = served;
        routes = (bundle.routes)(routes);
        unstarted_relays.push(relay);
        for handler in bundle.handlers {
            // Join the group before any relay publishes: the in-process bus keeps nothing for
            // a group that does not exist yet.
            if let Err(e) = bus
                .subscribe(handler.stream(), handler.group(), &options.replica)
                .await
            {
                tracing::warn!(error = %e, group = handler.group(), "cannot join the group yet");
            }
            let state = consumers.state(handler.group());
            background.push(run_handler(
                bus.clone(),
                handler,
                options.replica.clone(),
                state,
            ));
        }
        for job in bundle.jobs {
            background.push(tokio::spawn(job));
        }
        readiness.push((bundle.grpc_services, db, cache));
    }
    let relays: Vec<RelayHandle> = unstarted_relays.into_iter().map(Relay::spawn).collect();

    let ready_health = health.clone();
    let ready_bus = bus.clone();
    let all_names: Vec<&'static str> = readiness.iter().flat_map(|r| r.0.iter().copied()).collect();
    // tonic-health starts "" at SERVING; nothing is ready until the first check says so.
    for name in all_names.iter().copied().chain(["", EVENTS]) {
        health
            .set_service_status(name, ServingStatus::NotServing)
            .await;
    }
    let (ready_stop_tx, mut ready_stop) = oneshot::channel::<()>();
    let ready_task = tokio::spawn(async move {
        loop {
            // Readiness follows what requests need: the database. The cache only speeds reads
            // up and the outbox holds events while the bus is away, so a Redis outage keeps
            // every replica serving (taking them all out of their Services at once would turn a
            // short outage into a full one). The bus and the consumers report under `events`.
            let mut all_ok = true;
            for (names, db, cache) in &readiness {
                let ok = db.healthy().await;
                cache.redo_missed_invalidations().await;
                all_ok &= ok;
                let status = if ok {
                    ServingStatus::Serving
                } else {
                    ServingStatus::NotServing
                };
                for name in names {
                    ready_health.set_service_status(*name, status).await;
                }
            }
            let overall = if all_ok {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            ready_health.set_service_status("", overall).await;
            let events = if ready_bus.healthy().await && consumers.all_up() {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            ready_health.set_service_status(EVENTS, events).await;
            tokio::select! {
                _ = &mut ready_stop => break,
                _ = tokio::time::sleep(READINESS_EVERY) => {}
            }
        }
    });

    let (metrics_stop_tx, metrics_stop) = oneshot::channel::<()>();
    let metrics_addr = match options.metrics_listen {
        Some(maddr) => {
            let (bound, task) =
                crate::telemetry::serve_metrics(maddr, metrics.clone(), async move {
                    let _ = metrics_stop.await;
                })
                .await
                .map_err(|e| Error::internal(format!("cannot serve metrics on {maddr}: {e}")))?;
            background.push(task);
            Some(bound)
        }
        None => None,
    };

    let service = tower::ServiceBuilder::new()
        .layer(GrpcTelemetryLayer::new(metrics.clone()))
        .layer(ConventionsLayer)
        .layer(ShedLayer::new(options.max_concurrent_requests))
        .service(routes);

    // The gateway calls the very stack the gRPC port serves, so both ports behave alike.
    let (http_stop_tx, http_stop) = oneshot::channel::<()>();
    let (http_addr, http_task) = match options.http_listen {
        Some(haddr) => {
            let gateway = Gateway::new(
                &all_names,
                gateway::boxed(service.clone()),
                GatewayOptions {
                    max_body_bytes: options.max_message_bytes,
                    request_timeout: options.request_timeout,
                },
            )?;
            let listener = TcpListener::bind(haddr)
                .await
                .map_err(|e| Error::internal(format!("cannot serve HTTP on {haddr}: {e}")))?;
            let (bound, task) = gateway::serve(gateway, listener, async move {
                let _ = http_stop.await;
            })
            .map_err(Error::internal)?;
            (Some(bound), Some(task))
        }
        None => (None, None),
    };

    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let (serve_stop_tx, serve_stop_rx) = oneshot::channel::<()>();
    let server = tonic::transport::Server::builder()
        .timeout(options.request_timeout)
        .max_connection_age(options.max_connection_age)
        .max_connection_age_grace(Duration::from_secs(30))
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .tcp_nodelay(true);
    // The builder's tcp_nodelay does not reach connections accepted from our own listener: set it
    // here, or every small unary reply waits on a delayed ACK (~40 ms).
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let serving = tokio::spawn(async move {
        server
            .serve_with_incoming_shutdown(service, incoming, async {
                let _ = serve_stop_rx.await;
            })
            .await
    });

    let drain = options.drain;
    let grace = options.request_timeout;
    let mut health = health;
    let done = tokio::spawn(async move {
        let mut serving = serving;
        tokio::select! {
            _ = stop_rx => {}
            res = &mut serving => {
                return match res {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(Error::internal(format!("gRPC server failed: {e}"))),
                    Err(e) => Err(Error::internal(e)),
                };
            }
        }
        // Readiness first, so balancers stop sending; then stop accepting and drain.
        let _ = ready_stop_tx.send(());
        let _ = ready_task.await;
        health
            .set_service_status("", ServingStatus::NotServing)
            .await;
        health
            .set_service_status(EVENTS, ServingStatus::NotServing)
            .await;
        for name in &all_names {
            health
                .set_service_status(*name, ServingStatus::NotServing)
                .await;
        }
        tokio::time::sleep(drain).await;
        // Health watch streams never end by themselves and would hold their connections open:
        // dropping the statuses ends them.
        for name in all_names.iter().copied().chain(["", LIVENESS, EVENTS]) {
            health.clear_service_status(name).await;
        }
        let _ = serve_stop_tx.send(());
        let _ = http_stop_tx.send(());
        // Requests in flight get as long as a request may take; streams still open then are cut.
        let served = match tokio::time::timeout(grace, &mut serving).await {
            Ok(joined) => joined.map_err(Error::internal)?,
            Err(_) => {
                tracing::warn!("requests still in flight after {grace:?}; closing anyway");
                serving.abort();
                Ok(())
            }
        };
        if let Some(mut task) = http_task
            && tokio::time::timeout(grace, &mut task).await.is_err()
        {
            tracing::warn!("HTTP requests still in flight after {grace:?}; closing anyway");
            task.abort();
        }
        for relay in relays {
            relay.stop().await;
        }
        let _ = metrics_stop_tx.send(());
        for task in background {
            task.abort();
        }
        served.map_err(|e| Error::internal(format!("gRPC server failed: {e}")))
    });

    Ok(Running {
        addr,
        metrics_addr,
        http_addr,
        stop: Some(stop_tx),
        done,
    })
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
