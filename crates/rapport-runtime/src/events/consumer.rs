//! Consuming events exactly once in effect: a handler records the event id in its own database
//! in the transaction of the effect (`apply_once`), and the runner acknowledges only after the
//! handler succeeded, retrying with back-off otherwise.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use futures::future::BoxFuture;
use prost::Message;
use rapport_proto::event::Event;
use tokio::task::JoinHandle;

use super::Bus;
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge},
};

use crate::{
    Result,
    clock::Micros,
    storage::{Db, Tx},
    telemetry::Metrics,
};

/// Something that reacts to the events of one stream.
#[tonic::async_trait]
pub trait EventHandler: Send + Sync + 'static {
    /// The consumer group, unique per handler, e.g. `leads.customer-activity`.
    fn group(&self) -> &str;
    /// The stream it reads, i.e. the producing service, e.g. `customers`.
    fn stream(&self) -> &str;
    /// Applies one event. Must be idempotent by event id (use `apply_once`); an error means
    /// "try again later".
    async fn handle(&self, event: &Event) -> Result<()>;
}

/// Runs `effect` and records `event_id` as applied by `consumer`, in one transaction. Returns
/// `false` (and runs nothing) when the event was applied before.
///
/// The effect returns a boxed future, as with sqlx's `Connection::transaction`:
/// `apply_once(db, c, id, now, |tx| Box::pin(async move { …; Ok(()) }))`. (An async closure
/// would make the caller's future fail the `Send` check handlers need.)
pub async fn apply_once<F>(
    db: &Db,
    consumer: &str,
    event_id: &str,
    now: Micros,
    effect: F,
) -> Result<bool>
where
    F: for<'t> FnOnce(&'t mut Tx) -> BoxFuture<'t, Result<()>> + Send,
{
    let mut tx = db.begin().await?;
    if !mark_processed(&mut tx, consumer, event_id, now).await? {
        tx.rollback().await?;
        return Ok(false);
    }
    effect(&mut tx).await?;
    tx.commit().await?;
    Ok(true)
}

/// Records in `tx` that `consumer` applied `event_id`: `false` when it had before.
pub(crate) async fn mark_processed(
    tx: &mut Tx,
    consumer: &str,
    event_id: &str,
    now: Micros,
) -> Result<bool> {
    Ok(sqlx::query(
        "INSERT INTO processed_events (consumer, event_id, process_time) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING",
    )
    .bind(consumer)
    .bind(event_id)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1)
}

/// Whether one consumer of this process reads and applies its stream: for the `events` health
/// status and the `rapport_event_consumer_up` gauge.
#[derive(Debug)]
pub struct ConsumerState {
    up: AtomicBool,
    gauge: Gauge,
    errors: Counter,
}

impl ConsumerState {
    /// It read (or applied) an event, or found none to read.
    pub(crate) fn reading(&self) {
        if !self.up.swap(true, Ordering::AcqRel) {
            self.gauge.set(1);
        }
    }

    /// A read (or an effect) failed; it keeps retrying.
    pub(crate) fn failing(&self) {
        self.errors.inc();
        if self.up.swap(false, Ordering::AcqRel) {
            self.gauge.set(0);
        }
    }

    /// Whether its last read or effect succeeded.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Acquire)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct GroupLabels {
    group: String,
}

/// The consumers of a process, as the metrics and the `events` health status see them.
#[derive(Debug, Clone)]
pub struct Consumers {
    states: Arc<Mutex<Vec<Arc<ConsumerState>>>>,
    up: Family<GroupLabels, Gauge>,
    errors: Family<GroupLabels, Counter>,
}

impl Consumers {
    /// Consumers reporting to `metrics`: `rapport_event_consumer_up{group}` (1 while the
    /// group's member here reads) and `rapport_event_consumer_errors_total{group}`.
    pub fn new(metrics: &Metrics) -> Self {
        Self {
            states: Arc::default(),
            up: metrics.register(
                "rapport_event_consumer_up",
                "1 while this process's member of the consumer group reads and applies its stream",
                Family::default(),
            ),
            errors: metrics.register(
                "rapport_event_consumer_errors",
                "Failed reads of a stream and failed effects of events, retried",
                Family::default(),
            ),
        }
    }

    /// The state of this process's member of `group`.
    pub fn state(&self, group: &str) -> Arc<ConsumerState> {
        let labels = GroupLabels {
            group: group.to_owned(),
        };
        let state = Arc::new(ConsumerState {
            up: AtomicBool::new(true),
            gauge: self.up.get_or_create(&labels).clone(),
            errors: self.errors.get_or_create(&labels).clone(),
        });
        state.gauge.set(1);
        self.states
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(state.clone());
        state
    }

    /// Whether every consumer reads.
    pub fn all_up(&self) -> bool {
        self.states
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .all(|s| s.is_up())
    }
}

/// Feeds `handler` from the bus until the task is aborted. `member` names this replica; `state`
/// reports whether it reads. A broken connection is replaced and a lost group recreated on the
/// next read (see `bus.rs`); reads are retried every second meanwhile.
pub fn run_handler(
    bus: Bus,
    handler: Arc<dyn EventHandler>,
    member: String,
    state: Arc<ConsumerState>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        let mut subscription = loop {
            match bus
                .subscribe(handler.stream(), handler.group(), &member)
                .await
            {
                Ok(s) => break s,
                Err(e) => {
                    state.failing();
                    tracing::warn!(error = %e, group = handler.group(), "cannot subscribe; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
            }
        };
        subscription.report_to(state.clone());
        state.reading();
        loop {
            let delivery = match subscription.next().await {
                Ok(Some(d)) => d,
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(error = %e, group = handler.group(), "event read failed; reconnecting");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            let event = match Event::decode(delivery.payload.as_slice()) {
                Ok(ev) => ev,
                Err(e) => {
                    tracing::error!(error = %e, group = handler.group(), "undecodable event dropped");
                    let _ = delivery.ack().await;
                    continue;
                }
            };
            let mut backoff = Duration::from_millis(50);
            loop {
                let span = crate::telemetry::span_from_traceparent("event", &event.traceparent);
                let result = {
                    use tracing::Instrument;
                    handler.handle(&event).instrument(span).await
                };
                match result {
                    Ok(()) => {
                        state.reading();
                        break;
                    }
                    Err(e) => {
                        state.failing();
                        tracing::warn!(error = %e, group = handler.group(), event = %event.id, "event handler failed; retrying");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(10));
                    }
                }
            }
            if let Err(e) = delivery.ack().await {
                // Unacknowledged events come back; the inbox makes that harmless.
                tracing::warn!(error = %e, "event ack failed");
            }
        }
    })
}
