//! Starting the binary, waiting for it, talking to it and stopping it.

use std::{
    net::SocketAddr,
    path::Path,
    process::{ExitStatus, Output, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use rapport_proto::{
    customers::{self as pb, customer_service_client::CustomerServiceClient},
    leads::{
        lead_service_client::LeadServiceClient, pipeline_service_client::PipelineServiceClient,
        sales_org_service_client::SalesOrgServiceClient, task_service_client::TaskServiceClient,
    },
    orders::{
        catalog_service_client::CatalogServiceClient,
        delivery_service_client::DeliveryServiceClient, order_service_client::OrderServiceClient,
        return_service_client::ReturnServiceClient,
    },
};
use rapport_testkit::scratch::{ScratchDatabase, clear_redis_prefix_blocking, tag};
use tokio::{
    io::{AsyncBufReadExt, AsyncRead, BufReader},
    process::{Child, Command},
    sync::mpsc,
};
use tonic::{service::interceptor::InterceptedService, transport::Channel};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

/// The binary under test.
pub const RAPPORT: &str = env!("CARGO_BIN_EXE_rapport");

/// How long a server may take to start, and a command to finish.
pub const STARTUP: Duration = Duration::from_secs(60);
/// How long a server may take to exit after SIGTERM (its drain is set to zero).
pub const EXIT: Duration = Duration::from_secs(30);

/// A port nobody listens on right now (bound on port 0, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A `rapport` command with a clean environment: no `RAPPORT_*` or OpenTelemetry settings
/// leak in from the shell running the tests.
pub fn rapport() -> Command {
    let mut cmd = Command::new(RAPPORT);
    for (key, _) in std::env::vars_os() {
        let name = key.to_string_lossy();
        if name.starts_with("RAPPORT_") || name.starts_with("OTEL_") {
            cmd.env_remove(&key);
        }
    }
    cmd.kill_on_drop(true);
    cmd
}

/// Runs a `rapport` command to its end.
pub async fn run(args: &[&str]) -> Output {
    let child = rapport().args(args).stdin(Stdio::null()).output();
    tokio::time::timeout(STARTUP, child)
        .await
        .unwrap_or_else(|_| panic!("rapport {args:?} did not finish"))
        .expect("run rapport")
}

/// Runs a `rapport` command and returns its stdout, failing the test unless it exits 0.
pub async fn run_ok(args: &[&str]) -> String {
    let out = run(args).await;
    assert!(
        out.status.success(),
        "rapport {args:?} failed with {}:\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// A running `rapport serve`.
pub struct Server {
    child: Child,
    /// The gRPC address.
    pub addr: SocketAddr,
    /// The Prometheus address.
    pub metrics: SocketAddr,
    /// The HTTP/JSON gateway address.
    pub http: SocketAddr,
    /// Everything it wrote, stdout and stderr, for failure messages.
    output: Arc<Mutex<String>>,
    lines: mpsc::UnboundedReceiver<String>,
}

impl Server {
    /// Starts `rapport serve <args>` on free ports with JSON logs and no drain, with `env`.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Server {
        Server::start_at(loopback(free_port()), args, env)
    }

    /// As `start`, with the gRPC port at `addr` (to restart a server where its peers and
    /// clients expect it). Pass `--metrics-listen off` in `args` where the metrics port does
    /// not matter.
    pub fn start_at(addr: SocketAddr, args: &[&str], env: &[(&str, &str)]) -> Server {
        let metrics: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
        let http = loopback(free_port());
        let mut cmd = rapport();
        cmd.arg("serve")
            .args(args)
            .env("RAPPORT_LISTEN", addr.to_string())
            .env("RAPPORT_METRICS_LISTEN", metrics.to_string())
            .env("RAPPORT_HTTP_LISTEN", http.to_string())
            .env("RAPPORT_LOG_FORMAT", "json")
            .env("RAPPORT_SHUTDOWN_DRAIN_SECS", "0")
            .env("RAPPORT_REPLICA", "e2e")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start rapport serve");
        let output = Arc::new(Mutex::new(String::new()));
        let (send, lines) = mpsc::unbounded_channel();
        collect(
            child.stdout.take().expect("stdout"),
            output.clone(),
            Some(send),
        );
        collect(child.stderr.take().expect("stderr"), output.clone(), None);
        Server {
            child,
            addr,
            metrics,
            http,
            output,
            lines,
        }
    }

    /// What the server wrote so far.
    pub fn output(&self) -> String {
        self.output.lock().expect("output").clone()
    }

    /// The admin token a first standalone start prints.
    pub async fn admin_token(&mut self) -> String {
        let wait = async {
            let mut announced = false;
            while let Some(line) = self.lines.recv().await {
                let line = line.trim();
                if line.starts_with("Admin token for tenant \"default\"") {
                    announced = true;
                } else if announced && !line.is_empty() && !line.starts_with('{') {
                    return Some(line.to_owned());
                }
            }
            None
        };
        match tokio::time::timeout(STARTUP, wait).await {
            Ok(Some(token)) => token,
            _ => panic!("no admin token printed; output:\n{}", self.output()),
        }
    }

    /// Waits until the whole server reports SERVING.
    pub async fn wait_serving(&mut self) {
        let deadline = tokio::time::Instant::now() + STARTUP;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("rapport exited with {status}; output:\n{}", self.output());
            }
            if let Ok(ServingStatus::Serving) = health(self.addr, "").await {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "not serving in time; output:\n{}",
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A channel to the server.
    pub async fn channel(&self) -> Channel {
        tonic::transport::Endpoint::from_shared(self.url())
            .expect("endpoint")
            .connect()
            .await
            .expect("connect")
    }

    /// A customers client sending `token`.
    pub async fn customers(&self, token: &str) -> Customers {
        CustomerServiceClient::with_interceptor(self.channel().await, Bearer::new(token))
    }

    /// Clients of the orders service's gRPC services sending `token`.
    pub async fn orders(&self, token: &str) -> OrderClients {
        OrderClients::new(self.channel().await, token)
    }

    /// Clients of the leads service's gRPC services sending `token`.
    pub async fn leads(&self, token: &str) -> LeadClients {
        LeadClients::new(self.channel().await, token)
    }

    /// Freezes the process with SIGSTOP, as a hung process or a frozen node: it holds whatever
    /// it was handed and does nothing more. Follow with `kill`.
    pub fn freeze(&self) {
        let pid = self.child.id().expect("the server runs");
        let sent = std::process::Command::new("kill")
            .args(["-STOP", &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -STOP {pid} failed");
    }

    /// Kills the process with SIGKILL, as the OOM killer or a node failure would: no drain, no
    /// flush, no goodbye. Returns the exit status once it is gone.
    pub async fn kill(mut self) -> ExitStatus {
        // tokio's `start_kill` sends SIGKILL on Unix.
        self.child.start_kill().expect("send SIGKILL");
        match tokio::time::timeout(EXIT, self.child.wait()).await {
            Ok(status) => status.expect("wait for rapport"),
            Err(_) => panic!(
                "rapport did not die within {EXIT:?} of SIGKILL; output:\n{}",
                self.output()
            ),
        }
    }

    /// Sends SIGTERM and returns the exit status, failing the test if it takes too long.
    pub async fn terminate(mut self) -> ExitStatus {
        let pid = self.child.id().expect("the server runs");
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM {pid} failed");
        match tokio::time::timeout(EXIT, self.child.wait()).await {
            Ok(status) => status.expect("wait for rapport"),
            Err(_) => panic!(
                "rapport did not exit within {EXIT:?} of SIGTERM; output:\n{}",
                self.output()
            ),
        }
    }
}

/// Copies `from` line by line into `output`, and to `lines` when given.
fn collect(
    from: impl AsyncRead + Unpin + Send + 'static,
    output: Arc<Mutex<String>>,
    lines: Option<mpsc::UnboundedSender<String>>,
) {
    tokio::spawn(async move {
        let mut reader = BufReader::new(from).lines();
        while let Ok(Some(line)) = reader.next_line().await {
            {
                let mut out = output.lock().expect("output");
                out.push_str(&line);
                out.push('\n');
            }
            if let Some(lines) = &lines {
                let _ = lines.send(line);
            }
        }
    });
}

/// The health status of `service` at `addr`.
pub async fn health(addr: SocketAddr, service: &str) -> Result<ServingStatus, String> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .map_err(|e| e.to_string())?
        .connect_timeout(Duration::from_secs(2))
        .connect()
        .await
        .map_err(|e| e.to_string())?;
    let reply = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .map_err(|e| e.to_string())?;
    Ok(reply.into_inner().status())
}

// The test kit's interceptor: `Bearer::new(token)` sends `authorization: Bearer <token>`.
pub use rapport_testkit::Bearer;

/// A channel that authenticates every call.
pub type Authed = InterceptedService<Channel, Bearer>;

/// An authenticated customers client.
pub type Customers = CustomerServiceClient<Authed>;

/// Authenticated clients of the leads service: leads and pools, the sales organization,
/// pipelines and opportunities, tasks and alerts.
#[derive(Clone)]
pub struct LeadClients {
    pub leads: LeadServiceClient<Authed>,
    pub org: SalesOrgServiceClient<Authed>,
    pub pipelines: PipelineServiceClient<Authed>,
    pub tasks: TaskServiceClient<Authed>,
}

impl LeadClients {
    /// Clients on `channel` sending `token`.
    pub fn new(channel: Channel, token: &str) -> Self {
        let bearer = Bearer::new(token);
        Self {
            leads: LeadServiceClient::with_interceptor(channel.clone(), bearer.clone()),
            org: SalesOrgServiceClient::with_interceptor(channel.clone(), bearer.clone()),
            pipelines: PipelineServiceClient::with_interceptor(channel.clone(), bearer.clone()),
            tasks: TaskServiceClient::with_interceptor(channel, bearer),
        }
    }
}

/// Authenticated clients of the orders service: the catalog, orders, deliveries, returns.
#[derive(Clone)]
pub struct OrderClients {
    pub catalog: CatalogServiceClient<Authed>,
    pub orders: OrderServiceClient<Authed>,
    pub deliveries: DeliveryServiceClient<Authed>,
    pub returns: ReturnServiceClient<Authed>,
}

impl OrderClients {
    /// Clients on `channel` sending `token`.
    pub fn new(channel: Channel, token: &str) -> Self {
        let bearer = Bearer::new(token);
        Self {
            catalog: CatalogServiceClient::with_interceptor(channel.clone(), bearer.clone()),
            orders: OrderServiceClient::with_interceptor(channel.clone(), bearer.clone()),
            deliveries: DeliveryServiceClient::with_interceptor(channel.clone(), bearer.clone()),
            returns: ReturnServiceClient::with_interceptor(channel, bearer),
        }
    }
}

/// `127.0.0.1:<port>`.
pub fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// A channel to `addr` that connects on first use and again after the server went away, with
/// a short connect timeout: what a client that rides out restarts holds.
pub fn lazy_channel(addr: SocketAddr) -> Channel {
    tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(30))
        .connect_lazy()
}

/// `rapport token issue` for `subject` with `role` in `tenant` (and `team`), signed with the
/// key `key` names: `["--data-dir", dir]` or `["--jwt-secret", secret]`.
pub async fn issue_token(
    key: &[&str],
    tenant: &str,
    subject: &str,
    role: &str,
    team: Option<&str>,
) -> String {
    let mut args = vec![
        "token",
        "issue",
        "--tenant",
        tenant,
        "--subject",
        subject,
        "--role",
        role,
    ];
    if let Some(team) = team {
        args.extend(["--team", team]);
    }
    args.extend_from_slice(key);
    run_ok(&args).await.trim().to_owned()
}

/// Polls `check` every 100 ms until it holds, failing the test with `what` after `limit`.
pub async fn eventually(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if check().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {limit:?} waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A non-empty environment variable.
pub fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// A PostgreSQL database and a Redis key prefix of a test's own, removed when dropped (also
/// when the test fails half-way).
pub struct ScratchStores {
    // Held for its Drop, which removes the database.
    _database: ScratchDatabase,
    /// The database's URL.
    pub url: String,
    /// The Redis URL.
    pub redis_url: String,
    /// The key prefix, `rapport-e2e:<tag>:`.
    pub prefix: String,
}

impl ScratchStores {
    /// A fresh database on the server of `admin` and a fresh prefix on `redis_url`.
    pub async fn create(admin: &str, redis_url: &str, label: &str) -> ScratchStores {
        let database = ScratchDatabase::create(admin, label)
            .await
            .expect("a test database");
        ScratchStores {
            url: database.url.clone(),
            _database: database,
            redis_url: redis_url.to_owned(),
            prefix: format!("rapport-e2e:{}:", tag()),
        }
    }
}

impl Drop for ScratchStores {
    fn drop(&mut self) {
        // The database goes with `self._database`.
        clear_redis_prefix_blocking(&self.redis_url, &self.prefix);
    }
}

/// A person with one phone number.
pub fn person(name: &str, phone: &str) -> pb::Customer {
    pb::Customer {
        kind: pb::CustomerKind::Person.into(),
        display_name: name.into(),
        phones: vec![pb::Phone {
            number: phone.into(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// Creates `customer` and returns it as stored.
pub async fn create(client: &mut Customers, customer: pb::Customer) -> pb::Customer {
    client
        .create_customer(pb::CreateCustomerRequest {
            customer: Some(customer),
            request_id: String::new(),
        })
        .await
        .expect("create a customer")
        .into_inner()
}

/// Display names of every customer `filter` matches (one page is plenty here).
pub async fn names(client: &mut Customers, filter: &str) -> Vec<String> {
    let mut names: Vec<String> = client
        .list_customers(pb::ListCustomersRequest {
            filter: filter.into(),
            page_size: 1000,
            ..Default::default()
        })
        .await
        .expect("list customers")
        .into_inner()
        .customers
        .into_iter()
        .map(|c| c.display_name)
        .collect();
    names.sort();
    names
}

/// `GET <path>` over a plain TCP connection; the whole response, headers included.
pub async fn http_get(addr: SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to the metrics port");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("send the request");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .expect("read the response");
    response
}

/// The path as a `&str` for a command line.
pub fn arg(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}
