//! Storage: one database per service, PostgreSQL or SQLite behind one `sqlx::Any` pool, so the
//! same SQL runs on both. Each service brings its migrations for both backends; the runtime adds
//! its own tables (outbox, inbox, idempotency keys) in front of them.

mod analyze;
mod bind;
mod by_id;
mod idempotency;
mod json;
mod migrate;
mod statement;
mod wal;

use std::{path::Path, str::FromStr, sync::Arc, time::Duration};

use sqlx::{
    Any, AnyPool, Executor,
    any::{AnyConnectOptions, AnyPoolOptions},
};

pub use bind::{BindValue, Bindable, bind_all};
pub use by_id::{ById, all_with, id_column, one_by_id};
pub use idempotency::Idempotency;
pub use json::{from_json, stored, to_json};
pub use migrate::{Migration, Migrations};
pub use statement::{Statement, execute_all};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{Error, Result, dialect::Dialect};

/// A write transaction on a service's database. It derefs to the connection, so queries run
/// on `&mut *tx`. On SQLite it also holds the database's writer permit: writers of this process
/// queue for their turn instead of sleeping in SQLite's busy handler, which made tail latency
/// climb steeply with a few concurrent writers.
pub struct Tx {
    inner: sqlx::Transaction<'static, Any>,
    dialect: Dialect,
    writer: Option<(OwnedSemaphorePermit, Arc<wal::Checkpointer>)>,
}

impl std::ops::Deref for Tx {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.inner
    }
}

impl Tx {
    /// The SQL dialect of the transaction's database.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Commits the transaction.
    pub async fn commit(self) -> Result<()> {
        self.inner.commit().await?;
        if let Some((_, checkpointer)) = &self.writer {
            checkpointer.committed();
        }
        Ok(())
    }

    /// Rolls the transaction back.
    pub async fn rollback(self) -> Result<()> {
        Ok(self.inner.rollback().await?)
    }
}

/// A service's database: the pool, its dialect and the schema it lives in.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    dialect: Dialect,
    service: String,
    /// SQLite's: whose turn it is to write, and the log's checkpointer.
    writer: Option<(Arc<Semaphore>, Arc<wal::Checkpointer>)>,
    /// PostgreSQL's: keeps the planner's statistics fresh as tables grow (`analyze.rs`).
    analyzer: Option<Arc<analyze::Analyzer>>,
}

/// How to size and wait on a pool.
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    /// Most connections open at once.
    pub max_connections: u32,
    /// How long a request may wait for a free connection before UNAVAILABLE.
    pub acquire_timeout: Duration,
    /// SQLite only: pages the write-ahead log may hold before the next writer starts it over
    /// (see `storage/wal.rs`).
    pub sqlite_log_pages: i64,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
            sqlite_log_pages: wal::DEFAULT_LOG_PAGES,
        }
    }
}

impl Db {
    /// Connects to `url` for `service`. On PostgreSQL the service gets its own schema (named
    /// after it, created if missing) so services can share one database or have one each; on
    /// SQLite the file is created if missing and put in WAL mode.
    pub async fn connect(url: &str, service: &str, settings: PoolSettings) -> Result<Db> {
        sqlx::any::install_default_drivers();
        if !service.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return Err(Error::internal(format!("bad service name {service:?}")));
        }
        let options = AnyConnectOptions::from_str(url)
            .map_err(|e| Error::internal(format!("bad database url: {e}")))?;
        let dialect = if url.starts_with("postgres") {
            Dialect::Postgres
        } else if url.starts_with("sqlite") {
            Dialect::Sqlite
        } else {
            return Err(Error::internal(
                "database url must start with postgres:// or sqlite:",
            ));
        };
        if dialect == Dialect::Postgres {
            create_schema(&options, service).await?;
        }
        let schema = service.to_owned();
        let pool = AnyPoolOptions::new()
            .max_connections(match dialect {
                Dialect::Postgres => settings.max_connections,
                // One writer at a time anyway; a few readers run beside it in WAL mode.
                Dialect::Sqlite => settings.max_connections.min(8),
            })
            .acquire_timeout(settings.acquire_timeout)
            // No ping before each use: it cost every transaction a round trip. A connection
            // that broke while idle fails its next statement and the pool drops it.
            .test_before_acquire(false)
            .after_connect(move |conn, _| {
                let schema = schema.clone();
                Box::pin(async move {
                    let setup = match dialect {
                        Dialect::Postgres => format!("SET search_path TO {schema}"),
                        Dialect::Sqlite => {
                            format!(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; {} \
                                 PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
                                wal::NO_AUTO_CHECKPOINT
                            )
                        }
                    };
                    conn.execute(setup.as_str()).await?;
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| {
                Error::unavailable_from(format!("cannot open the {service} database"), e)
            })?;
        let writer = dialect.writers_take_turns().then(|| {
            let turn = Arc::new(Semaphore::new(1));
            let checkpointer = Arc::new(wal::Checkpointer::new(
                pool.clone(),
                settings.sqlite_log_pages,
            ));
            (turn, checkpointer)
        });
        Ok(Db {
            pool,
            dialect,
            service: service.to_owned(),
            writer,
            analyzer: (dialect == Dialect::Postgres).then(Arc::default),
        })
    }

    /// Opens (creating if needed) `<data_dir>/<service>.db`, the standalone default.
    pub async fn open_sqlite_file(
        data_dir: &Path,
        service: &str,
        settings: PoolSettings,
    ) -> Result<Db> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| Error::internal(format!("cannot create {}: {e}", data_dir.display())))?;
        let file = data_dir.join(format!("{service}.db"));
        Db::connect(
            &format!("sqlite://{}?mode=rwc", file.display()),
            service,
            settings,
        )
        .await
    }

    /// The pool, for reads and for writes that need no transaction.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The SQL dialect of this database.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The service this database belongs to.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// Starts a write transaction. Do not start a second one while holding one: on SQLite the
    /// second would wait for the first forever.
    pub async fn begin(&self) -> Result<Tx> {
        self.begin_with(self.dialect.begin_write().into()).await
    }

    /// As [`Db::begin`], holding transaction-scoped locks on `keys` from the start, as
    /// [`lock_keys`] takes them; on PostgreSQL they travel with BEGIN in one round trip.
    pub async fn begin_locked(&self, mut keys: Vec<String>) -> Result<Tx> {
        keys.sort();
        keys.dedup();
        if (1..=LOCKS_PER_STATEMENT).contains(&keys.len())
            && let Some(statement) = self.dialect.begin_locking(&keys)
        {
            return self.begin_with(statement.into()).await;
        }
        let mut tx = self.begin().await?;
        lock_keys(&mut tx, &mut keys).await?;
        Ok(tx)
    }

    async fn begin_with(&self, statement: std::borrow::Cow<'static, str>) -> Result<Tx> {
        let (writer, statement) = match &self.writer {
            Some((turn, checkpointer)) => {
                let permit = turn
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(|_| Error::unavailable("the database is closing"))?;
                let statement = checkpointer.begin(statement);
                (Some((permit, checkpointer.clone())), statement)
            }
            None => (None, statement),
        };
        // BEGIN runs in a task of its own, so a caller that gives up while it is in flight (a
        // cancelled request, a deadline) cannot leave a connection that ran it: the task
        // finishes, and its transaction, no longer wanted, is rolled back as it is dropped.
        // Cancelled in place, the connection went back to the pool inside a transaction the
        // pool did not know of, and the next request's writes joined it.
        let pool = self.pool.clone();
        let inner = tokio::spawn(async move { pool.begin_with(statement).await })
            .await
            .map_err(|e| Error::internal(format!("beginning a transaction failed: {e}")))??;
        Ok(Tx {
            inner,
            dialect: self.dialect,
            writer,
        })
    }

    /// Applies the runtime's and the service's migrations that have not run yet, then (on
    /// PostgreSQL) analyzes the service's tables, so that no plan is made on a table never
    /// analyzed (`analyze.rs`).
    pub async fn migrate(&self, migrations: &Migrations) -> Result<()> {
        migrate::run(self, migrations).await?;
        if self.dialect == Dialect::Postgres {
            analyze::analyze_schema(&self.pool, &self.service).await;
        }
        Ok(())
    }

    /// Notes that `rows` rows were written to `table`: on PostgreSQL the table is analyzed
    /// each time the rows this process wrote to it double, so plans follow its growth.
    pub fn wrote(&self, table: &'static str, rows: u64) {
        if let Some(a) = &self.analyzer {
            a.wrote(&self.pool, table, rows);
        }
    }

    /// Whether the database answers; drives readiness.
    pub async fn healthy(&self) -> bool {
        tokio::time::timeout(
            Duration::from_secs(2),
            sqlx::query("SELECT 1").execute(&self.pool),
        )
        .await
        .is_ok_and(|r| r.is_ok())
    }

    /// Closes the pool, waiting for connections in use to come back.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

async fn create_schema(options: &AnyConnectOptions, schema: &str) -> Result<()> {
    use sqlx::ConnectOptions;
    let mut conn = options
        .connect()
        .await
        .map_err(|e| Error::unavailable_from("cannot reach PostgreSQL", e))?;
    conn.execute(format!("CREATE SCHEMA IF NOT EXISTS {schema}").as_str())
        .await?;
    Ok(())
}

/// Whether an error is a unique-constraint violation (a lost race on an insert).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => matches!(db.kind(), sqlx::error::ErrorKind::UniqueViolation),
        _ => false,
    }
}

/// Booleans are stored as INTEGER 0/1 so the same SQL and bindings work on both backends.
pub fn bool_int(b: bool) -> i64 {
    i64::from(b)
}

/// Locks taken by one statement: a chunk of keys well under the bind limits.
const LOCKS_PER_STATEMENT: usize = 1000;

/// Takes transaction-scoped locks on `keys`, in sorted order so two writers never wait on
/// each other in opposite orders. A no-op on SQLite, whose writers already take turns.
pub async fn lock_keys(tx: &mut Tx, keys: &mut Vec<String>) -> Result<()> {
    let dialect = tx.dialect();
    keys.sort();
    keys.dedup();
    for chunk in keys.chunks(LOCKS_PER_STATEMENT) {
        let Some(sql) = dialect.advisory_xact_locks(chunk.len()) else {
            return Ok(());
        };
        let q = chunk
            .iter()
            .fold(sqlx::query(&sql), |q, k| q.bind(k.as_str()));
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Lock slots per namespace in [`key_slots`].
pub const LOCK_SLOTS: u64 = 256;

/// The lock keys of `keys` in `namespace`, hashed into at most [`LOCK_SLOTS`] slots.
/// PostgreSQL's lock table is shared and small, so a transaction touching thousands of keys (an
/// import batch) must not take a lock per key; the price is that unrelated keys sometimes share
/// a slot and wait on each other.
pub fn key_slots<'k>(namespace: &str, keys: impl IntoIterator<Item = &'k str>) -> Vec<String> {
    use sha2::{Digest, Sha256};
    let slots: std::collections::BTreeSet<u64> = keys
        .into_iter()
        .map(|k| {
            let digest = Sha256::digest(k.as_bytes());
            let mut head = [0u8; 8];
            head.copy_from_slice(&digest[..8]);
            u64::from_be_bytes(head) % LOCK_SLOTS
        })
        .collect();
    slots.iter().map(|s| format!("{namespace}/{s}")).collect()
}
