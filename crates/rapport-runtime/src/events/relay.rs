//! The relay: publishes committed outbox rows to the bus, then deletes them (the outbox is a
//! queue; deleting costs PostgreSQL less than rewriting each row with a mark). A crash between
//! the two republishes the batch on restart; consumers deduplicate by event id.
//! Several replicas may relay the same outbox: on PostgreSQL each claims rows with
//! `FOR UPDATE SKIP LOCKED`, so a row is in one relay's hands at a time.

use std::{sync::Arc, time::Duration};

use tokio::{sync::Notify, task::JoinHandle};

use super::{Bus, outbox::unpack};
use crate::{Error, Result, storage::Db};

/// Outbox rows published per transaction (each holds up to a few hundred events).
const BATCH: i64 = 256;
/// How long the relay waits after a commit woke it before it publishes: bounds the events'
/// added latency.
const GATHER: Duration = Duration::from_millis(10);
/// How often the relay looks for rows when nobody told it about new ones.
const POLL: Duration = Duration::from_millis(500);

/// Publishes one service's outbox.
#[derive(Debug, Clone)]
pub struct Relay {
    db: Db,
    bus: Bus,
    wake: Arc<Notify>,
}

/// A running relay; dropping it does not stop it, `stop` does.
#[derive(Debug)]
pub struct RelayHandle {
    task: JoinHandle<()>,
    stop: Arc<Notify>,
}

impl RelayHandle {
    /// Stops the relay after its current batch.
    pub async fn stop(self) {
        self.stop.notify_one();
        let _ = self.task.await;
    }

    /// Stops the relay at once, wherever it is, as a crash would.
    pub fn kill(self) {
        self.task.abort();
    }
}

impl Relay {
    /// A relay for the outbox in `db`.
    pub fn new(db: Db, bus: Bus) -> Self {
        Self {
            db,
            bus,
            wake: Arc::new(Notify::new()),
        }
    }

    /// A handle that wakes this relay; services keep it to call after their commits.
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Publishes one batch and marks it. Returns how many rows were published.
    pub async fn publish_batch(&self) -> Result<usize> {
        self.publish_batch_with(|| Ok(())).await
    }

    /// As `publish_batch`, running `between` after publishing and before marking; an error
    /// from it abandons the batch unmarked, as a crash at that point would.
    pub async fn publish_batch_with(&self, between: impl FnOnce() -> Result<()>) -> Result<usize> {
        // On PostgreSQL the batch's rows stay locked from the read to the delete, so replicas
        // never publish a row at the same time. SQLite has one relay per database and a single
        // writer, which the relay must not hold while it publishes: the in-process bus returns
        // only once every consumer applied the events, and a consumer of this very service (the
        // revocation list) needs the writer to apply them.
        let locked = !self.db.dialect().writers_take_turns();
        let mut tx = if locked {
            Some(self.db.begin().await?)
        } else {
            None
        };
        let sql = format!(
            "SELECT seq, stream, payload, events FROM outbox ORDER BY seq LIMIT {BATCH}{}",
            self.db.dialect().for_update_skip_locked()
        );
        let query = sqlx::query_as(&sql);
        let rows: Vec<(i64, String, Vec<u8>, i64)> = match &mut tx {
            Some(tx) => query.fetch_all(&mut **tx).await?,
            None => query.fetch_all(self.db.pool()).await?,
        };
        if rows.is_empty() {
            if let Some(tx) = tx {
                tx.rollback().await?;
            }
            return Ok(0);
        }
        let mut start = 0;
        while start < rows.len() {
            // Publish runs of the same stream together, in order.
            let stream = rows[start].1.clone();
            let end = rows[start..]
                .iter()
                .position(|r| r.1 != stream)
                .map_or(rows.len(), |n| start + n);
            let mut payloads: Vec<&[u8]> = Vec::new();
            for r in &rows[start..end] {
                payloads.extend(unpack(&r.2, r.3)?);
            }
            self.bus.publish(&stream, &payloads).await?;
            start = end;
        }
        between()?;
        let first = rows[0].0;
        let last = rows[rows.len() - 1].0;
        let seqs: Vec<[i64; 1]> = rows.iter().map(|r| [r.0]).collect();
        let seqs = serde_json::to_string(&seqs).map_err(Error::internal)?;
        // The seqs travel as one JSON parameter, so the statement's text never changes: listed
        // inline, each batch prepared and planned a statement of its own.
        let done = format!(
            "DELETE FROM outbox WHERE seq BETWEEN $1 AND $2 \
             AND seq IN (SELECT CAST(q.seq AS BIGINT) FROM {} q)",
            self.db.dialect().json_rows("$3", &["seq"])
        );
        let mut tx = match tx {
            Some(tx) => tx,
            None => self.db.begin().await?,
        };
        sqlx::query(&done)
            .bind(first)
            .bind(last)
            .bind(seqs)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(rows.len())
    }

    /// Runs the relay in the background until stopped.
    pub fn spawn(self) -> RelayHandle {
        let stop = Arc::new(Notify::new());
        let stopped = stop.clone();
        let task = tokio::spawn(async move {
            loop {
                match self.publish_batch().await {
                    Ok(n) if n as i64 == BATCH => continue,
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, service = self.db.service(), "outbox relay failed; retrying")
                    }
                }
                tokio::select! {
                    _ = stopped.notified() => break,
                    _ = self.wake.notified() => {
                        // Let the commits of a busy moment gather: one batch of many rows costs
                        // the database far less than a batch per commit.
                        tokio::time::sleep(GATHER).await;
                    }
                    _ = tokio::time::sleep(POLL) => {}
                }
            }
        });
        RelayHandle { task, stop }
    }
}
