//! Starting the binary, waiting for it, talking to it and stopping it.

use std::{
    net::SocketAddr,
    path::Path,
    process::{ExitStatus, Output, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use rapport_proto::customers::{self as pb, customer_service_client::CustomerServiceClient};
use tokio::{
    io::{AsyncBufReadExt, AsyncRead, BufReader},
    process::{Child, Command},
    sync::mpsc,
};
use tonic::{
    Request, Status,
    metadata::{Ascii, MetadataValue},
    service::{Interceptor, interceptor::InterceptedService},
    transport::Channel,
};
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
    /// Everything it wrote, stdout and stderr, for failure messages.
    output: Arc<Mutex<String>>,
    lines: mpsc::UnboundedReceiver<String>,
}

impl Server {
    /// Starts `rapport serve <args>` on free ports with JSON logs and no drain, with `env`.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Server {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
        let metrics: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
        let mut cmd = rapport();
        cmd.arg("serve")
            .args(args)
            .env("RAPPORT_LISTEN", addr.to_string())
            .env("RAPPORT_METRICS_LISTEN", metrics.to_string())
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

/// Adds `authorization: Bearer <token>` to every request.
#[derive(Clone)]
pub struct Bearer(MetadataValue<Ascii>);

impl Bearer {
    fn new(token: &str) -> Self {
        Self(format!("Bearer {token}").parse().expect("a header value"))
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        req.metadata_mut().insert("authorization", self.0.clone());
        Ok(req)
    }
}

/// An authenticated customers client.
pub type Customers = CustomerServiceClient<InterceptedService<Channel, Bearer>>;

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
