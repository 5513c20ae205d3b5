//! SQLite's write-ahead log, checkpointed beside the writers instead of by one of them.
//!
//! Left to SQLite, the commit that took the log past 1,000 pages also copied them into the
//! database file, and every writer queued behind it waited: at 32 concurrent creates that one
//! commit set the p99. So connections do not checkpoint on their own (`wal_autocheckpoint = 0`),
//! and every [`COMMITS_PER_CHECKPOINT`] commits a PASSIVE checkpoint runs on another pooled
//! connection, which SQLite lets run while the next writer writes. It copies all but what the
//! writers added meanwhile, so under steady writes the log is never fully copied, and only a
//! fully copied log is started over by the next commit: it would grow without end. So once it
//! holds [`MAX_LOG_PAGES`], more passes follow, each copying what the writers added during the
//! one before, until little is left; a last one takes its turn between two writers and copies
//! that rest. Taking the turn right after the first pass made the writers wait for everything
//! they had added during it, which set the p99 of a steady stream of creates. The last connection to close checkpoints
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

/// Pages left to copy that are few enough to copy while the writers wait.
const SHORT_REMAINDER: i64 = 128;

/// Background passes over a log that keeps growing before the writers wait regardless.
const MAX_PASSES: usize = 8;

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
            this.checkpoint().await;
            this.running.store(false, Ordering::Release);
        });
    }

    /// A PASSIVE checkpoint; if the log has grown to [`MAX_LOG_PAGES`], more passes copy what
    /// the writers added during the last one, each shorter than the one before, until little
    /// is left: only that rest is copied while the writers wait.
    async fn checkpoint(&self) {
        let mut passes = 0;
        while let Ok(p) = checkpoint(&self.pool).await
            && p.log >= MAX_LOG_PAGES
        {
            passes += 1;
            let left = p.log - p.copied;
            // A fully copied log starts over at the next commit by itself.
            if left == 0 {
                return;
            }
            if left <= SHORT_REMAINDER || passes == MAX_PASSES {
                if let Ok(_turn) = self.turn.acquire().await {
                    let _ = checkpoint(&self.pool).await;
                }
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
