//! Fresh stores for one run (a PostgreSQL database per use, a Redis key prefix, SQLite files in
//! a temporary directory) and servers started on them in-process, on 127.0.0.1.

use std::{sync::Arc, time::Duration};

use rapport_customers::Customers;
use rapport_proto::customers::customer_service_client::CustomerServiceClient;
use rapport_runtime::{
    auth::{JwtKeys, Role},
    clock::SystemClock,
    config::{Listen, ServerArgs},
    context::{Service, ServiceEntry},
    server::Running,
    storage::{Db, PoolSettings},
    suite,
};
use tonic::{
    Request, Status,
    codegen::InterceptedService,
    metadata::{Ascii, MetadataValue},
    service::Interceptor,
    transport::{Channel, Endpoint},
};

use crate::Result;

/// Database connections per service, as `rapport serve` defaults to; raw baselines get the
/// same pool size.
pub const DB_CONNECTIONS: u32 = 16;
/// The tenant every request of the benchmark works in.
pub const TENANT: &str = "bench";

pub use rapport_testkit::scratch::{ScratchDatabase, clear_redis_prefix, drop_database};

/// The URL a flag (or its `RAPPORT_BENCH_*` variable) gives, else the one the test suites'
/// variable `fallback` gives (`RAPPORT_TEST_POSTGRES_URL`, `RAPPORT_TEST_REDIS_URL`); none when
/// both are empty.
pub fn url_or(flag: Option<&str>, fallback: &str) -> Option<String> {
    let given = |v: &str| !v.trim().is_empty();
    flag.filter(|v| given(v))
        .map(str::to_owned)
        .or_else(|| std::env::var(fallback).ok().filter(|v| given(v)))
}

/// Where a run creates its databases and keeps its Redis keys: the flags of every scenario
/// that uses them.
#[derive(Debug, clap::Args)]
pub struct StoreArgs {
    /// PostgreSQL server to create the run's databases on (dropped at the end); falls back to
    /// RAPPORT_TEST_POSTGRES_URL.
    #[arg(long, env = "RAPPORT_BENCH_POSTGRES_URL", hide_env_values = true)]
    pub postgres_url: Option<String>,
    /// Redis for the servers' cache and bus (keys under a prefix of the run's own, deleted at
    /// the end); falls back to RAPPORT_TEST_REDIS_URL.
    #[arg(long, env = "RAPPORT_BENCH_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
}

impl StoreArgs {
    /// The PostgreSQL server's URL, if any is given.
    pub fn postgres(&self) -> Option<String> {
        url_or(self.postgres_url.as_deref(), "RAPPORT_TEST_POSTGRES_URL")
    }

    /// Redis's URL, if any is given.
    pub fn redis(&self) -> Option<String> {
        url_or(self.redis_url.as_deref(), "RAPPORT_TEST_REDIS_URL")
    }
}

/// A Redis key prefix of one run's own, so its keys can be deleted at the end.
pub fn run_prefix() -> String {
    let tag = uuid::Uuid::now_v7().simple().to_string();
    format!("rapport-bench:{}:", &tag[tag.len() - 12..])
}

/// Opens `url` as service `S` does (its schema, a pool of `connections`) and applies its
/// migrations: the database a raw baseline runs on, or the bench's own view of a service's.
pub async fn open_migrated<S: Service>(url: &str, connections: u32) -> Result<Db> {
    let settings = PoolSettings {
        max_connections: connections,
        ..PoolSettings::default()
    };
    let db = Db::connect(url, S::NAME, settings).await?;
    db.migrate(&S::migrations()).await?;
    Ok(db)
}

/// Whether Redis at `url` answers.
pub async fn redis_reachable(url: &str) -> Result<()> {
    let client = redis::Client::open(url)?;
    let mut conn = tokio::time::timeout(
        Duration::from_secs(3),
        client.get_multiplexed_async_connection(),
    )
    .await
    .map_err(|_| "timed out")??;
    let _: String = redis::cmd("PING").query_async(&mut conn).await?;
    Ok(())
}

/// The customers service running in-process behind a real gRPC port.
pub struct BenchServer {
    /// The gRPC address.
    pub addr: std::net::SocketAddr,
    /// The HTTP/JSON gateway's address.
    pub http_addr: Option<std::net::SocketAddr>,
    keys: Arc<JwtKeys>,
    running: Option<Running>,
    dir: tempfile::TempDir,
}

/// A customers client sending a bearer token.
pub type Client = CustomerServiceClient<InterceptedService<Channel, Bearer>>;

impl BenchServer {
    /// Starts the customers service: standalone (SQLite files in `dir`, in-process cache and
    /// bus) when `database_url` is `None`, else on PostgreSQL with Redis when `redis` (URL,
    /// key prefix) is given. Settings are `rapport serve`'s defaults.
    pub async fn start(
        dir: tempfile::TempDir,
        database_url: Option<String>,
        redis: Option<(String, String)>,
    ) -> Result<BenchServer> {
        let services = [ServiceEntry::of::<Customers>()];
        Self::start_services(dir, database_url, redis, &services, DB_CONNECTIONS).await
    }

    /// As [`BenchServer::start`], serving `services` with pools of `db_connections`.
    pub async fn start_services(
        dir: tempfile::TempDir,
        database_url: Option<String>,
        redis: Option<(String, String)>,
        services: &[ServiceEntry],
        db_connections: u32,
    ) -> Result<BenchServer> {
        Self::start_allowing(dir, database_url, redis, services, db_connections, "").await
    }

    /// As [`BenchServer::start_services`], letting webhooks go to the internal networks
    /// `webhook_allow_networks` (`--webhook-allow-networks`), e.g. receivers on loopback.
    pub async fn start_allowing(
        dir: tempfile::TempDir,
        database_url: Option<String>,
        redis: Option<(String, String)>,
        services: &[ServiceEntry],
        db_connections: u32,
        webhook_allow_networks: &str,
    ) -> Result<BenchServer> {
        let (redis_url, redis_prefix) = match redis {
            Some((url, prefix)) => (Some(url), prefix),
            None => (None, "rapport:".to_owned()),
        };
        let args = ServerArgs {
            listen: "127.0.0.1:0".parse()?,
            metrics_listen: Listen(None),
            // The HTTP/JSON gateway too, on a port of its own (the gateway scenario calls it).
            http_listen: Listen(Some("127.0.0.1:0".parse()?)),
            data_dir: dir.path().to_path_buf(),
            database_url,
            redis_url,
            redis_prefix,
            jwt_secret: None,
            jwt_public_key_file: None,
            peers: Vec::new(),
            request_timeout_secs: 30,
            max_concurrent_requests: 1024,
            max_message_bytes: 4 * 1024 * 1024,
            max_connection_age_secs: 300,
            shutdown_drain_secs: 0,
            db_max_connections: db_connections,
            cache_entries: 100_000,
            migrate_on_start: true,
            replica: "bench".into(),
            webhook_allow_networks: webhook_allow_networks.to_owned(),
            channels: Default::default(),
        };
        let secret = uuid::Uuid::new_v4().simple().to_string();
        let keys = Arc::new(JwtKeys::hs256(secret.as_bytes()));
        let listener = tokio::net::TcpListener::bind(args.listen).await?;
        let running = suite::launch(
            &args,
            services,
            keys.clone(),
            Arc::new(SystemClock),
            listener,
        )
        .await?;
        Ok(BenchServer {
            addr: running.addr,
            http_addr: running.http_addr,
            keys,
            running: Some(running),
            dir,
        })
    }

    /// Its data directory (the SQLite files of a standalone server).
    pub fn data_dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// A new HTTP/2 connection to the server.
    pub async fn channel(&self) -> Result<Channel> {
        Ok(Endpoint::from_shared(format!("http://{}", self.addr))?
            .tcp_nodelay(true)
            .connect()
            .await?)
    }

    /// Credentials of an admin of the benchmark tenant.
    pub fn admin(&self) -> Result<Bearer> {
        self.admin_of(TENANT)
    }

    /// Credentials of an admin of `tenant`.
    pub fn admin_of(&self, tenant: &str) -> Result<Bearer> {
        self.user_of(tenant, "bench-admin", &[Role::Admin], None)
    }

    /// Credentials of `subject` of `tenant` with `roles`, in `team` if given.
    pub fn user_of(
        &self,
        tenant: &str,
        subject: &str,
        roles: &[Role],
        team: Option<&str>,
    ) -> Result<Bearer> {
        Bearer::new(&self.token_of(tenant, subject, roles, team)?)
    }

    /// A token of `subject` of `tenant` with `roles`, in `team` if given, valid for a day.
    pub fn token_of(
        &self,
        tenant: &str,
        subject: &str,
        roles: &[Role],
        team: Option<&str>,
    ) -> Result<String> {
        Ok(self
            .keys
            .issue(tenant, subject, roles, team, Duration::from_secs(24 * 3600))?)
    }

    /// A client on `channel` acting as an admin of the benchmark tenant.
    pub fn client(&self, channel: Channel) -> Result<Client> {
        Ok(
            CustomerServiceClient::with_interceptor(channel, self.admin()?)
                .max_decoding_message_size(64 << 20)
                .max_encoding_message_size(64 << 20),
        )
    }

    /// Stops the server gracefully, giving up on waiting after `patience` (the outbox relay
    /// finishes publishing its backlog before it stops).
    pub async fn stop(self, patience: Duration) -> bool {
        self.stop_keeping_dir(patience).await.0
    }

    /// As [`BenchServer::stop`], handing back its data directory (its SQLite files) for the
    /// bench to open afterwards.
    pub async fn stop_keeping_dir(mut self, patience: Duration) -> (bool, tempfile::TempDir) {
        let stopped = match self.running.take() {
            Some(running) => tokio::time::timeout(patience, running.shutdown())
                .await
                .is_ok(),
            None => true,
        };
        (stopped, self.dir)
    }
}

/// Adds `authorization: Bearer …` to every request.
#[derive(Clone)]
pub struct Bearer(MetadataValue<Ascii>);

impl Bearer {
    fn new(token: &str) -> Result<Self> {
        Ok(Bearer(format!("Bearer {token}").parse()?))
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, mut req: Request<()>) -> std::result::Result<Request<()>, Status> {
        req.metadata_mut().insert("authorization", self.0.clone());
        Ok(req)
    }
}
