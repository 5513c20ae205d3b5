//! SQLite's write-ahead log, checkpointed beside the writers instead of by one of them.
//!
//! Left to SQLite, the commit that took the log past 1,000 pages also copied them into the
//! database file, and every writer queued behind it waited: at 32 concurrent creates that one
//! commit set the p99. So connections do not checkpoint on their own (`wal_autocheckpoint = 0`),
//! and every [`COMMITS_PER_CHECKPOINT`] commits a PASSIVE checkpoint runs on another pooled
//! connection, which SQLite lets run while the next writer writes. It copies all but what the
//! writers added meanwhile, so under steady writes the log is never fully copied, and only a
//! fully copied log is started over by the next commit: it would grow without end. So once it
//! holds [`MAX_LOG_PAGES`], a second checkpoint takes its turn between two writers and copies
//! the rest, short since the first copied nearly all. The last connection to close checkpoints
//! whatever is left.

use std::sync::{
    Arc,
    atomic::{AtomicBool, AtomicU64, Ordering},
};

use sqlx::AnyPool;
use tokio::sync::Semaphore;

/// Commits between two checkpoints: a few megabytes of log.
pub const COMMITS_PER_CHECKPOINT: u64 = 256;

/// Pages the log may hold before a checkpoint makes the writers wait for it to finish.
pub const MAX_LOG_PAGES: i64 = 4096;

/// The pragma each connection runs so that no commit checkpoints.
pub const NO_AUTO_CHECKPOINT: &str = "PRAGMA wal_autocheckpoint = 0;";

/// Counts one database's commits and checkpoints it in the background every so often.
#[derive(Debug)]
pub struct Checkpointer {
    pool: AnyPool,
    /// The writers' turn, taken for the short second step.
    turn: Arc<Semaphore>,
    commits: AtomicU64,
    running: AtomicBool,
}

impl Checkpointer {
    /// A checkpointer of the database `pool` opens, whose writers take turns on `turn`.
    pub fn new(pool: AnyPool, turn: Arc<Semaphore>) -> Self {
        Self {
            pool,
            turn,
            commits: AtomicU64::new(0),
            running: AtomicBool::new(false),
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
            if let Ok(log_pages) = checkpoint(&this.pool).await
                && log_pages >= MAX_LOG_PAGES
                && let Ok(_turn) = this.turn.acquire().await
            {
                let _ = checkpoint(&this.pool).await;
            }
            this.running.store(false, Ordering::Release);
        });
    }
}

/// One PASSIVE checkpoint; the pages in the log. A failure is logged and left to the next one.
async fn checkpoint(pool: &AnyPool) -> Result<i64, sqlx::Error> {
    // Its row: whether it was blocked, the log's pages, the pages copied.
    let done = sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(pool)
        .await
        .map(|(_, log_pages, _)| log_pages);
    if let Err(e) = &done {
        tracing::warn!(error = %e, "WAL checkpoint failed; the next one retries");
    }
    done
}
