//! Stores for the runtime's integration tests: a fresh SQLite directory or PostgreSQL database
//! per test, and a Redis key prefix, taken from `RAPPORT_TEST_POSTGRES_URL` and
//! `RAPPORT_TEST_REDIS_URL`. Tests that need a server which is not configured say so and return.

#![allow(dead_code)]

use std::{
    future::Future,
    time::{Duration, Instant},
};

use rapport_runtime::{
    events::Bus,
    storage::{Db, Migration, Migrations, PoolSettings},
};
use rapport_testkit::scratch::{ScratchDatabase, clear_redis_prefix_blocking};

/// PostgreSQL server tests may create databases on.
pub const POSTGRES_ENV: &str = "RAPPORT_TEST_POSTGRES_URL";
/// Redis server tests may use.
pub const REDIS_ENV: &str = "RAPPORT_TEST_REDIS_URL";

/// No service migrations: only the runtime's own tables.
pub const NO_MIGRATIONS: Migrations = Migrations {
    postgres: &[],
    sqlite: &[],
};

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The PostgreSQL URL, or `None` after saying that `test` is skipped there.
pub fn postgres_url(test: &str) -> Option<String> {
    let url = env(POSTGRES_ENV);
    if url.is_none() {
        eprintln!("skipped: {test} on PostgreSQL ({POSTGRES_ENV} is not set)");
    }
    url
}

/// The Redis URL, or `None` after saying that `test` is skipped there.
pub fn redis_url(test: &str) -> Option<String> {
    let url = env(REDIS_ENV);
    if url.is_none() {
        eprintln!("skipped: {test} on Redis ({REDIS_ENV} is not set)");
    }
    url
}

/// Where a test keeps its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite files with the in-process bus.
    Sqlite,
    /// PostgreSQL, with Redis Streams for the bus when Redis is configured.
    Postgres,
}

/// SQLite always; PostgreSQL when configured (otherwise `test` says it skipped it).
pub fn backends(test: &str) -> Vec<Backend> {
    let mut all = vec![Backend::Sqlite];
    if postgres_url(test).is_some() {
        all.push(Backend::Postgres);
    }
    all
}

pub use rapport_testkit::scratch::tag;

/// One test's database: a temporary directory of SQLite files, or a PostgreSQL database of its
/// own (dropped with it). Each service connected to it gets its own file or schema.
pub struct TestDb {
    /// The backend.
    pub backend: Backend,
    dir: tempfile::TempDir,
    /// The URL of the test's own PostgreSQL database.
    pub url: Option<String>,
    // Held for its Drop, which removes the database.
    _database: Option<ScratchDatabase>,
}

impl TestDb {
    /// A fresh database on `backend`.
    pub async fn new(backend: Backend) -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        if backend == Backend::Sqlite {
            return TestDb {
                backend,
                dir,
                url: None,
                _database: None,
            };
        }
        let admin = env(POSTGRES_ENV).expect("PostgreSQL backend without its URL");
        let database = ScratchDatabase::create(&admin, "rt")
            .await
            .expect("a test database");
        TestDb {
            backend,
            dir,
            url: Some(database.url.clone()),
            _database: Some(database),
        }
    }

    /// Connects `service` (its own SQLite file, or its own schema).
    pub async fn connect(&self, service: &str) -> Db {
        let settings = PoolSettings::default();
        match &self.url {
            Some(url) => Db::connect(url, service, settings).await,
            None => Db::open_sqlite_file(self.dir.path(), service, settings).await,
        }
        .expect("connect to the test database")
    }

    /// Connects `service` and applies the runtime's migrations and `migrations`.
    pub async fn migrated(&self, service: &str, migrations: &Migrations) -> Db {
        let db = self.connect(service).await;
        db.migrate(migrations).await.expect("migrate");
        db
    }
}

/// A Redis key prefix of its own; its keys are deleted when it is dropped.
pub struct RedisPrefix {
    /// The Redis URL.
    pub url: String,
    /// The prefix, ending in `:`.
    pub prefix: String,
}

impl RedisPrefix {
    /// A fresh prefix on the Redis at `url`.
    pub fn new(url: String) -> Self {
        Self {
            url,
            prefix: format!("rapport-test:{}:", tag()),
        }
    }

    /// A bus on this prefix.
    pub async fn bus(&self) -> Bus {
        Bus::redis(&self.url, &self.prefix)
            .await
            .expect("connect the Redis bus")
    }
}

impl Drop for RedisPrefix {
    fn drop(&mut self) {
        clear_redis_prefix_blocking(&self.url, &self.prefix);
    }
}

/// A service migration (version 100) with the same SQL on both backends.
pub const fn both(sql: &'static [Migration]) -> Migrations {
    Migrations {
        postgres: sql,
        sqlite: sql,
    }
}

/// Polls `check` until it returns `Some`, failing the test with `what` after `limit`.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
