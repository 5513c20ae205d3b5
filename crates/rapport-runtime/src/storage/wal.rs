//! SQLite's write-ahead log, checkpointed beside the writers instead of by one of them.
//!
//! Left to SQLite, the commit that took the log past 1,000 pages also copied them into the
//! database file, and every writer queued behind it waited: at 32 concurrent creates that one
//! commit set the p99. So connections do not checkpoint on their own (`wal_autocheckpoint = 0`),
//! and every [`COMMITS_PER_CHECKPOINT`] commits a PASSIVE checkpoint runs on another pooled
//! connection, which SQLite lets run while the next writer writes. It copies all but what the
//! writers added meanwhile, and a log is started over only by a writer that began after it was
//! fully copied, so under steady writes the log would grow without end. So once it holds its
//! limit (`PoolSettings::sqlite_log_pages`), more passes follow, each copying what the writers
//! added during the one before, until little is left; then the next writer, whose turn it is
//! anyway, copies that rest on its own connection just before its `BEGIN`, in the same call,
//! and starts the log over as it writes. An earlier design had the checkpointer take the
//! writers' turn for that last pass: with the CPU busy, its task's few wake-ups held every
//! writer for 5–10 ms each time, which set the p99 of a steady stream of creates.

use std::{
    borrow::Cow,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
};

use sqlx::AnyPool;

/// Commits between two background checkpoints.
pub const COMMITS_PER_CHECKPOINT: u64 = 256;

/// Pages the log may hold before the next writer finishes a checkpoint and starts it over, by
/// default: 256 MiB of 4 KiB pages. Starting over costs that writer a short copy and two
/// fsyncs, 5 to 50 ms on the disk the benchmark ran on; at 4,096 pages a steady stream of
/// creates started the log over several times a second and those waits set its p99 (22 ms
/// against 13 ms at this limit, which it reaches about once a second).
pub const DEFAULT_LOG_PAGES: i64 = 65536;

/// Pages left to copy that are few enough for a writer to copy before it begins.
const SHORT_REMAINDER: i64 = 128;

/// Background passes over a log that keeps growing before a writer finishes regardless.
const MAX_PASSES: usize = 8;

/// The pragma each connection runs so that no commit checkpoints.
pub const NO_AUTO_CHECKPOINT: &str = "PRAGMA wal_autocheckpoint = 0;";

/// Counts one database's commits and checkpoints it in the background every so often.
#[derive(Debug)]
pub struct Checkpointer {
    pool: AnyPool,
    max_log_pages: i64,
    commits: AtomicU64,
    running: AtomicBool,
    /// Whether the next writer should finish a checkpoint before it begins.
    finish: AtomicBool,
}

impl Checkpointer {
    /// A checkpointer of the database `pool` opens, whose log may hold `max_log_pages`.
    pub fn new(pool: AnyPool, max_log_pages: i64) -> Self {
        Self {
            pool,
            max_log_pages,
            commits: AtomicU64::new(0),
            running: AtomicBool::new(false),
            finish: AtomicBool::new(false),
        }
    }

    /// What a writer whose turn it is runs to begin: `begin`, preceded by the last pass of a
    /// checkpoint when one is due. One call on the writer's own connection, so the pass costs
    /// the writers no extra wake-up.
    pub fn begin<'a>(&self, begin: Cow<'a, str>) -> Cow<'a, str> {
        if self.finish.swap(false, Ordering::AcqRel) {
            // A PASSIVE checkpoint that finds another running reports it in its row rather
            // than failing, so it never fails the BEGIN after it.
            Cow::Owned(format!("PRAGMA wal_checkpoint(PASSIVE); {begin}"))
        } else {
            begin
        }
    }

    /// Records a commit; every [`COMMITS_PER_CHECKPOINT`]th starts a checkpoint unless one is
    /// still running.
    pub fn committed(self: &Arc<Self>) {
        let n = self.commits.fetch_add(1, Ordering::Relaxed) + 1;
        if !n.is_multiple_of(COMMITS_PER_CHECKPOINT) || self.running.swap(true, Ordering::AcqRel) {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            this.checkpoint().await;
            this.running.store(false, Ordering::Release);
        });
    }

    /// A PASSIVE checkpoint; if the log has grown to its limit, more passes copy what
    /// the writers added during the last one, each shorter than the one before, until little
    /// is left for the next writer to copy (see [`Checkpointer::begin`]).
    async fn checkpoint(&self) {
        let mut passes = 0;
        while let Ok(p) = checkpoint(&self.pool).await
            && p.log >= self.max_log_pages
        {
            passes += 1;
            if p.log - p.copied <= SHORT_REMAINDER || passes == MAX_PASSES {
                self.finish.store(true, Ordering::Release);
                return;
            }
        }
    }
}

/// What a checkpoint found and did.
struct Pass {
    /// Pages in the log.
    log: i64,
    /// Pages of the log copied into the database, by this pass or earlier ones.
    copied: i64,
}

/// One PASSIVE checkpoint. A failure is logged and left to the next one.
async fn checkpoint(pool: &AnyPool) -> Result<Pass, sqlx::Error> {
    // Its row: whether it was blocked, the log's pages, the pages copied.
    let done = sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(pool)
        .await
        .map(|(_, log, copied)| Pass { log, copied });
    if let Err(e) = &done {
        tracing::warn!(error = %e, "WAL checkpoint failed; the next one retries");
    }
    done
}
