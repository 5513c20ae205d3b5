//! Backends and per-test stores.

use std::sync::{Arc, Once};

use prost::Message;
use rapport_runtime::{
    access::Revocations,
    auth::{Auth, JwtKeys},
    cache::Cache,
    clock::{ManualClock, SharedClock},
    config::ChannelArgs,
    context::{Service, ServiceContext},
    events::{Bus, Event, unpack},
    peers::Peers,
    storage::{Db, PoolSettings},
};

use crate::scratch::{ScratchDatabase, clear_redis_prefix_blocking, tag};

/// Environment variable naming a PostgreSQL server tests may create databases on.
pub const POSTGRES_ENV: &str = "RAPPORT_TEST_POSTGRES_URL";
/// Environment variable naming a Redis server tests may use.
pub const REDIS_ENV: &str = "RAPPORT_TEST_REDIS_URL";

/// Where a test's services keep their data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite files, in-process cache and bus (standalone).
    Sqlite,
    /// PostgreSQL, with Redis for cache and bus when configured (distributed).
    Postgres,
}

impl Backend {
    /// Every backend this run can use. Says once, plainly, what is skipped and why.
    pub fn all() -> Vec<Backend> {
        static SKIP: Once = Once::new();
        let pg = std::env::var(POSTGRES_ENV).is_ok_and(|v| !v.is_empty());
        let redis = std::env::var(REDIS_ENV).is_ok_and(|v| !v.is_empty());
        SKIP.call_once(|| {
            if !pg {
                eprintln!("note: {POSTGRES_ENV} is not set; PostgreSQL runs of the service tests are skipped");
            }
            if pg && !redis {
                eprintln!("note: {REDIS_ENV} is not set; PostgreSQL runs use the in-process cache and bus");
            }
        });
        if pg {
            vec![Backend::Sqlite, Backend::Postgres]
        } else {
            vec![Backend::Sqlite]
        }
    }
}

/// One test's stores: a fresh SQLite directory or PostgreSQL database, and a Redis prefix.
/// Dropping it removes them.
#[derive(Debug)]
pub struct TestStores {
    /// The backend.
    pub backend: Backend,
    /// The data directory (SQLite files and the JWT secret).
    pub dir: tempfile::TempDir,
    /// The PostgreSQL URL of the test's own database, when on PostgreSQL.
    pub database_url: Option<String>,
    /// The Redis URL, when on PostgreSQL with Redis.
    pub redis_url: Option<String>,
    /// The test's Redis key prefix.
    pub redis_prefix: String,
    // Held for its Drop, which removes the database.
    _database: Option<ScratchDatabase>,
}

impl TestStores {
    /// Fresh stores on `backend`.
    pub async fn new(backend: Backend) -> TestStores {
        let dir = tempfile::tempdir().expect("temp dir");
        let redis_prefix = format!("rapport-test:{}:", tag());
        if backend == Backend::Sqlite {
            return TestStores {
                backend,
                dir,
                database_url: None,
                redis_url: None,
                redis_prefix,
                _database: None,
            };
        }
        let admin = std::env::var(POSTGRES_ENV).expect("PostgreSQL backend without its URL");
        let database = ScratchDatabase::create(&admin, "t")
            .await
            .expect("a test database");
        TestStores {
            backend,
            dir,
            database_url: Some(database.url.clone()),
            redis_url: std::env::var(REDIS_ENV).ok().filter(|v| !v.is_empty()),
            redis_prefix,
            _database: Some(database),
        }
    }
}

impl TestStores {
    /// What service `S` runs on over these stores, migrated, with an in-process cache and bus
    /// and `clock`: for tests that drive a service's handlers or jobs directly, without a
    /// server or the outbox relay.
    pub async fn context<S: Service>(&self, clock: &ManualClock) -> ServiceContext {
        let db = match &self.database_url {
            Some(url) => Db::connect(url, S::NAME, PoolSettings::default()).await,
            None => Db::open_sqlite_file(self.dir.path(), S::NAME, PoolSettings::default()).await,
        }
        .expect("open the database");
        db.migrate(&S::migrations()).await.expect("migrate");
        context_over(db, Arc::new(clock.clone()))
    }
}

/// A service's context over `db` (opened and migrated by the caller) with an in-process cache
/// and bus, no peers and `clock`: what [`TestStores::context`] gives, for any database, e.g.
/// a benchmark that runs a service's job on data it loaded itself. Events written go to the
/// outbox of `db`; no relay publishes them.
pub fn context_over(db: Db, clock: SharedClock) -> ServiceContext {
    ServiceContext {
        db: db.clone(),
        cache: Cache::memory(100),
        bus: Bus::memory(),
        clock,
        auth: Auth::new(
            Arc::new(JwtKeys::hs256(b"rapport-test-context-secret")),
            Revocations::new(db),
        ),
        peers: Peers::new(&[], None).expect("peers"),
        max_message_bytes: 1 << 20,
        outbox_waker: Arc::default(),
        webhook_allow_networks: String::new(),
        channels: ChannelArgs::default(),
    }
}

/// The events waiting in `db`'s outbox, oldest first: what a write emitted, for tests that run
/// no relay.
pub async fn outbox_events(db: &Db) -> Vec<Event> {
    let rows: Vec<(Vec<u8>, i64)> =
        sqlx::query_as("SELECT payload, events FROM outbox ORDER BY seq")
            .fetch_all(db.pool())
            .await
            .expect("read the outbox");
    let mut out = Vec::new();
    for (payload, events) in rows {
        for e in unpack(&payload, events).expect("an outbox row") {
            out.push(Event::decode(e).expect("an event"));
        }
    }
    out
}

impl Drop for TestStores {
    fn drop(&mut self) {
        // The database goes with `self.database`; the Redis keys are removed here.
        if let Some(url) = &self.redis_url {
            clear_redis_prefix_blocking(url, &self.redis_prefix);
        }
    }
}
