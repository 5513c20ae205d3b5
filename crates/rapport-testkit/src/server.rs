//! Services running in-process behind a real gRPC port on 127.0.0.1, as a client sees them.

use std::{sync::Arc, time::Duration};

use rapport_runtime::{
    auth::{JwtKeys, Role},
    clock::{ManualClock, Micros, SharedClock, SystemClock},
    config::{ChannelArgs, Listen, ServerArgs},
    context::ServiceEntry,
    server::Running,
    suite,
};
use tonic::{
    Request, Status,
    metadata::{Ascii, MetadataValue},
    service::Interceptor,
    transport::Channel,
};

use crate::backend::{Backend, TestStores};

/// The signing secret of test servers.
const SECRET: &[u8] = b"rapport-test-secret-rapport-test-secret";

/// A running test server.
pub struct TestServer {
    /// The backend it stores on.
    pub backend: Backend,
    /// A channel to it.
    pub channel: Channel,
    /// Its address.
    pub addr: std::net::SocketAddr,
    /// Its HTTP/JSON gateway's address, when the builder asked for one.
    pub http_addr: Option<std::net::SocketAddr>,
    /// Its clock, when the test drives time.
    pub clock: Option<ManualClock>,
    /// Its stores (kept so they outlive the server).
    pub stores: TestStores,
    /// The arguments it was started with (to start it again on the same stores).
    pub args: ServerArgs,
    keys: Arc<JwtKeys>,
    services: Vec<ServiceEntry>,
    running: Option<Running>,
}

/// Options of a test server.
#[derive(Default)]
pub struct TestServerBuilder {
    clock: Option<ManualClock>,
    max_concurrent_requests: Option<usize>,
    peers: Vec<String>,
    webhook_allow_networks: String,
    channels: ChannelArgs,
    http: bool,
}

impl TestServerBuilder {
    /// Drive time by hand.
    pub fn clock(mut self, clock: ManualClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Reach the service `name` at `url` (another test server, or a proxy in front of one)
    /// instead of this server's own address.
    pub fn peer(mut self, name: &str, url: &str) -> Self {
        self.peers.push(format!("{name}={url}"));
        self
    }

    /// Let webhooks go to these internal networks (`RAPPORT_WEBHOOK_ALLOW_NETWORKS`), e.g.
    /// loopback for a test receiver.
    pub fn webhook_allow_networks(mut self, networks: &str) -> Self {
        self.webhook_allow_networks = networks.to_owned();
        self
    }

    /// Send email and SMS as `channels` say (`RAPPORT_SMTP_URL`, …), e.g. to a test SMTP server
    /// ([`crate::smtp::SmtpServer`]) and SMS gateway ([`crate::sms_gateway::SmsGateway`]).
    pub fn channels(mut self, channels: ChannelArgs) -> Self {
        self.channels = channels;
        self
    }

    /// Serve the HTTP/JSON gateway too, on a port of its own (`TestServer::http_addr`).
    pub fn http(mut self) -> Self {
        self.http = true;
        self
    }

    /// Lower the concurrency limit (load-shedding tests).
    pub fn max_concurrent_requests(mut self, n: usize) -> Self {
        self.max_concurrent_requests = Some(n);
        self
    }

    /// Starts `services` on fresh stores of `backend`.
    pub async fn start(self, backend: Backend, services: &[ServiceEntry]) -> TestServer {
        let stores = TestStores::new(backend).await;
        let args = ServerArgs {
            listen: "127.0.0.1:0".parse().expect("addr"),
            metrics_listen: Listen(None),
            http_listen: Listen(self.http.then(|| "127.0.0.1:0".parse().expect("addr"))),
            data_dir: stores.dir.path().to_path_buf(),
            database_url: stores.database_url.clone(),
            redis_url: stores.redis_url.clone(),
            redis_prefix: stores.redis_prefix.clone(),
            jwt_secret: None,
            jwt_public_key_file: None,
            peers: self.peers,
            request_timeout_secs: 30,
            max_concurrent_requests: self.max_concurrent_requests.unwrap_or(1024),
            max_message_bytes: 4 * 1024 * 1024,
            max_connection_age_secs: 300,
            shutdown_drain_secs: 0,
            db_max_connections: 8,
            cache_entries: 10_000,
            migrate_on_start: true,
            replica: "test".into(),
            webhook_allow_networks: self.webhook_allow_networks,
            channels: self.channels,
        };
        let mut server = TestServer {
            backend,
            channel: Channel::from_static("http://127.0.0.1:1").connect_lazy(),
            addr: "127.0.0.1:1".parse().expect("addr"),
            http_addr: None,
            clock: self.clock,
            stores,
            args,
            keys: Arc::new(JwtKeys::hs256(SECRET)),
            services: services.to_vec(),
            running: None,
        };
        server.launch().await;
        server
    }
}

impl TestServer {
    /// Starts `services` on fresh stores of `backend`.
    pub async fn start(backend: Backend, services: &[ServiceEntry]) -> TestServer {
        TestServerBuilder::default().start(backend, services).await
    }

    /// Options for a server.
    pub fn builder() -> TestServerBuilder {
        TestServerBuilder::default()
    }

    async fn launch(&mut self) {
        let clock: SharedClock = match &self.clock {
            Some(c) => Arc::new(c.clone()),
            None => Arc::new(SystemClock),
        };
        let listener = tokio::net::TcpListener::bind(self.args.listen)
            .await
            .expect("bind 127.0.0.1:0");
        let running = suite::launch(
            &self.args,
            &self.services,
            self.keys.clone(),
            clock,
            listener,
        )
        .await
        .unwrap_or_else(|e| panic!("cannot start the test server on {:?}: {e}", self.backend));
        self.addr = running.addr;
        self.http_addr = running.http_addr;
        self.channel = Channel::from_shared(format!("http://{}", running.addr))
            .expect("uri")
            .connect()
            .await
            .expect("connect to the test server");
        self.running = Some(running);
    }

    /// Starts a second replica of the same services on the same stores and clock (another
    /// port), as a second pod would run: its periodic jobs and event consumers run beside this
    /// server's. Stop it with `Running::shutdown`.
    pub async fn start_replica(&self) -> Running {
        let clock: SharedClock = match &self.clock {
            Some(c) => Arc::new(c.clone()),
            None => Arc::new(SystemClock),
        };
        let mut args = self.args.clone();
        args.replica = "test-2".into();
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .expect("bind 127.0.0.1:0");
        suite::launch(&args, &self.services, self.keys.clone(), clock, listener)
            .await
            .unwrap_or_else(|e| panic!("cannot start a replica on {:?}: {e}", self.backend))
    }

    /// Stops the server gracefully and leaves it stopped (its stores stay) until
    /// [`TestServer::restart`], as a deployment with no pod running would be.
    pub async fn halt(&mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await.expect("graceful shutdown");
        }
    }

    /// Stops the server gracefully (unless halted) and starts it again on the same stores.
    pub async fn restart(&mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await.expect("graceful shutdown");
        }
        self.launch().await;
    }

    /// A token for `subject` in `tenant` with `roles` (and optionally a team).
    pub fn token(&self, tenant: &str, subject: &str, roles: &[Role], team: Option<&str>) -> String {
        self.keys
            .issue(tenant, subject, roles, team, Duration::from_secs(3600))
            .expect("issue token")
    }

    /// `claims` signed as they are with the server's secret (expired or odd tokens).
    pub fn sign(&self, claims: &rapport_runtime::auth::Claims) -> String {
        self.keys.sign(claims).expect("sign claims")
    }

    /// An interceptor that authenticates as `subject` in `tenant` with `roles`.
    pub fn auth(&self, tenant: &str, subject: &str, roles: &[Role]) -> Bearer {
        Bearer::new(&self.token(tenant, subject, roles, None))
    }

    /// As `auth`, for a rep of `team`.
    pub fn auth_in_team(&self, tenant: &str, subject: &str, roles: &[Role], team: &str) -> Bearer {
        Bearer::new(&self.token(tenant, subject, roles, Some(team)))
    }

    /// Stops the server gracefully; its stores are removed when dropped.
    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await.expect("graceful shutdown");
        }
    }
}

/// Adds `authorization: Bearer …` to every request (or nothing, for unauthenticated tests).
#[derive(Clone)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl Bearer {
    /// Sends `token`.
    pub fn new(token: &str) -> Self {
        Bearer(Some(
            format!("Bearer {token}").parse().expect("ascii token"),
        ))
    }

    /// Sends no credential at all.
    pub fn none() -> Self {
        Bearer(None)
    }

    /// Sends this exact authorization value (garbled-credential tests).
    pub fn raw(value: &str) -> Self {
        Bearer(Some(value.parse().expect("ascii")))
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        if let Some(v) = &self.0 {
            req.metadata_mut().insert("authorization", v.clone());
        }
        Ok(req)
    }
}

/// Runs `test` against a fresh server of `services` on every backend of this run, naming
/// the backend if it fails.
pub async fn each_backend(services: &[ServiceEntry], test: impl AsyncFn(&TestServer)) {
    for backend in Backend::all() {
        eprintln!("-- on {backend:?}");
        let server = TestServer::start(backend, services).await;
        test(&server).await;
        server.stop().await;
    }
}

/// As [`each_backend`], on servers whose clock the test drives, set to `start` at first.
pub async fn each_backend_at(
    services: &[ServiceEntry],
    start: Micros,
    test: impl AsyncFn(&TestServer, &ManualClock),
) {
    for backend in Backend::all() {
        eprintln!("-- on {backend:?}");
        let clock = ManualClock::at(start);
        let server = TestServer::builder()
            .clock(clock.clone())
            .start(backend, services)
            .await;
        test(&server, &clock).await;
        server.stop().await;
    }
}
