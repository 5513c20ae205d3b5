//! The bus between services: in-process for standalone, Redis Streams with consumer groups for
//! distributed. Publishing returns once the bus holds the events durably enough for its mode:
//! Redis has them (XADD), or, in-process, every subscribed group has applied them — the
//! in-process bus keeps nothing, so the relay must not mark a row before its consumers are done.
//!
//! Besides consumer groups, a stream can be tailed: every replica that tails it sees every event
//! published from then on (a group hands each event to one member), for what each replica
//! pushes to its own clients, such as a server-streaming watch.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};

use redis::{
    AsyncCommands,
    aio::{ConnectionManager, MultiplexedConnection},
    streams::{
        StreamAutoClaimOptions, StreamAutoClaimReply, StreamId, StreamMaxlen, StreamReadOptions,
        StreamReadReply,
    },
};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::{Error, Result};

/// Streams keep about this many events; consumers are expected to keep up well within it.
const STREAM_MAXLEN: usize = 1_000_000;

/// Longest a blocking read waits before it checks for reclaimable events again.
const BLOCK_MS: usize = 1_000;
/// Events an in-process tail may fall behind by before it is told it missed some.
const TAIL_BUFFER: usize = 4096;
/// Events a Redis tail reads at a time.
const TAIL_COUNT: usize = 256;

/// Longest a Redis reply may take: a blocking read's own wait, plus time to answer. A reader
/// whose Redis went silent (a partition that drops packets) gives up and reconnects.
const READ_TIMEOUT: Duration = Duration::from_millis(BLOCK_MS as u64 + 2_000);
/// How a Redis bus treats the members of its consumer groups.
#[derive(Debug, Clone, Copy)]
pub struct GroupSettings {
    /// An event left unacknowledged this long by a member is taken over by another (the first
    /// one died with it).
    pub reclaim_idle: Duration,
    /// How often a member looks for dead members of its group to remove.
    pub prune_every: Duration,
    /// A member that has not read for this long and holds no pending events is dead and
    /// removed: replicas are named after their pods, so every restart leaves one behind.
    pub dead_after: Duration,
}

impl Default for GroupSettings {
    fn default() -> Self {
        Self {
            reclaim_idle: Duration::from_secs(30),
            prune_every: Duration::from_secs(60),
            dead_after: Duration::from_secs(10 * 60),
        }
    }
}

/// A bus handle; cheap to clone.
#[derive(Clone)]
pub struct Bus(Inner);

#[derive(Clone)]
enum Inner {
    Memory(Arc<MemoryBus>),
    Redis(RedisBus),
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Inner::Memory(_) => f.write_str("Bus::Memory"),
            Inner::Redis(r) => write!(f, "Bus::Redis({})", r.prefix),
        }
    }
}

impl Bus {
    /// An in-process bus for standalone mode.
    pub fn memory() -> Bus {
        Bus(Inner::Memory(Arc::default()))
    }

    /// A Redis Streams bus. Keys are `{prefix}events:{stream}`.
    pub async fn redis(url: &str, prefix: &str) -> Result<Bus> {
        Self::redis_with(url, prefix, GroupSettings::default()).await
    }

    /// As [`Bus::redis`], with `groups` deciding when members are taken over and removed.
    pub async fn redis_with(url: &str, prefix: &str, groups: GroupSettings) -> Result<Bus> {
        let client =
            redis::Client::open(url).map_err(|e| Error::internal(format!("bad redis url: {e}")))?;
        // The client library's defaults back off up to a minute between attempts, so a few
        // seconds' outage kept the bus away for up to two minutes after Redis was back. Retry
        // every second instead: a failed attempt costs one connect timeout.
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Duration::from_secs(2))
            .set_response_timeout(Duration::from_secs(5))
            .set_exponent_base(2)
            .set_factor(2)
            .set_max_delay(1_000)
            .set_number_of_retries(6);
        let conn = ConnectionManager::new_with_config(client.clone(), config)
            .await
            .map_err(|e| Error::unavailable_from("cannot reach Redis", e))?;
        Ok(Bus(Inner::Redis(RedisBus {
            client,
            conn,
            prefix: prefix.to_owned(),
            groups,
        })))
    }

    /// Publishes encoded events to `stream`, in order.
    pub async fn publish(&self, stream: &str, payloads: &[&[u8]]) -> Result<()> {
        match &self.0 {
            Inner::Memory(m) => m.publish(stream, payloads).await,
            Inner::Redis(r) => r.publish(stream, payloads).await,
        }
    }

    /// Joins consumer group `group` of `stream`: each event reaches one member of each group.
    /// `member` names this member (stable across restarts of the same replica).
    pub async fn subscribe(&self, stream: &str, group: &str, member: &str) -> Result<Subscription> {
        match &self.0 {
            Inner::Memory(m) => Ok(Subscription(SubInner::Memory(m.subscribe(stream, group)))),
            Inner::Redis(r) => r.subscribe(stream, group, member).await,
        }
    }

    /// Follows `stream` from now on: every event published to it after this returns, whichever
    /// replica published it, without joining a group (nothing is acknowledged, and a tail that
    /// goes away leaves nothing behind). For what a replica pushes to its own clients; effects
    /// that must happen once belong to a consumer group.
    pub async fn tail(&self, stream: &str) -> Result<Tail> {
        match &self.0 {
            Inner::Memory(m) => Ok(Tail(TailInner::Memory(m.tail(stream)))),
            Inner::Redis(r) => r.tail(stream).await,
        }
    }

    /// Whether the bus answers; drives readiness.
    pub async fn healthy(&self) -> bool {
        match &self.0 {
            Inner::Memory(_) => true,
            Inner::Redis(r) => {
                let mut conn = r.conn.clone();
                tokio::time::timeout(
                    Duration::from_secs(2),
                    redis::cmd("PING").query_async::<String>(&mut conn),
                )
                .await
                .is_ok_and(|r| r.is_ok())
            }
        }
    }
}

/// One event handed to a subscriber; `ack` it once its effect is committed.
pub struct Delivery {
    /// The encoded `rapport.event.v1.Event`.
    pub payload: Vec<u8>,
    ack: Ack,
}

enum Ack {
    Memory(oneshot::Sender<()>),
    Redis {
        conn: ConnectionManager,
        key: String,
        group: String,
        id: String,
    },
}

impl Delivery {
    /// Acknowledges the event: it will not be delivered to this group again.
    pub async fn ack(self) -> Result<()> {
        match self.ack {
            Ack::Memory(done) => {
                let _ = done.send(());
                Ok(())
            }
            Ack::Redis {
                mut conn,
                key,
                group,
                id,
            } => {
                // A connection found broken is replaced by the manager as it reports the error:
                // one more try goes out on the new one.
                let first: redis::RedisResult<i64> = conn.xack(&key, &group, &[&id]).await;
                if first.is_err() {
                    let _: i64 = conn.xack(&key, &group, &[&id]).await.map_err(redis_down)?;
                }
                Ok(())
            }
        }
    }
}

/// A group member's view of a stream.
pub struct Subscription(SubInner);

enum SubInner {
    Memory(Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<MemoryMessage>>>),
    Redis(Box<RedisSubscription>),
}

impl Subscription {
    /// Reports whether reads succeed to `state` (the in-process bus never fails to read).
    pub fn report_to(&mut self, state: Arc<super::consumer::ConsumerState>) {
        if let SubInner::Redis(r) = &mut self.0 {
            r.health = Some(state);
        }
    }

    /// The next event for this member; waits until there is one. `None` when the bus is gone.
    pub async fn next(&mut self) -> Result<Option<Delivery>> {
        match &mut self.0 {
            SubInner::Memory(rx) => Ok(rx.lock().await.recv().await.map(|m| Delivery {
                payload: m.payload.to_vec(),
                ack: Ack::Memory(m.done),
            })),
            SubInner::Redis(r) => r.next().await.map(Some),
        }
    }
}

/// What a tail reads next.
#[derive(Debug)]
pub enum Tailed {
    /// An encoded `rapport.event.v1.Event`.
    Event(Vec<u8>),
    /// The tail fell behind and some events went by unseen: whoever follows it must look up
    /// what it may have missed where the events' effects are kept.
    Missed,
}

/// A replica's view of every event of one stream (see [`Bus::tail`]).
pub struct Tail(TailInner);

enum TailInner {
    Memory(broadcast::Receiver<Arc<[u8]>>),
    Redis(Box<RedisTail>),
}

impl Tail {
    /// The next event of the stream; waits until there is one. `None` when the bus is gone.
    /// An error leaves the tail where it was: on Redis the next call reads on from the same
    /// position over a new connection.
    pub async fn next(&mut self) -> Result<Option<Tailed>> {
        match &mut self.0 {
            TailInner::Memory(rx) => match rx.recv().await {
                Ok(payload) => Ok(Some(Tailed::Event(payload.to_vec()))),
                Err(broadcast::error::RecvError::Lagged(_)) => Ok(Some(Tailed::Missed)),
                Err(broadcast::error::RecvError::Closed) => Ok(None),
            },
            TailInner::Redis(r) => r.next().await.map(Some),
        }
    }
}

// ---- in-process ----

struct MemoryMessage {
    payload: Arc<[u8]>,
    done: oneshot::Sender<()>,
}

type GroupQueue = (
    mpsc::UnboundedSender<MemoryMessage>,
    Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<MemoryMessage>>>,
);

#[derive(Default)]
struct MemoryBus {
    // stream -> group -> the group's queue, shared by its members.
    groups: Mutex<HashMap<String, HashMap<String, GroupQueue>>>,
    // stream -> what its tails receive.
    tails: Mutex<HashMap<String, broadcast::Sender<Arc<[u8]>>>>,
}

impl MemoryBus {
    fn tail(&self, stream: &str) -> broadcast::Receiver<Arc<[u8]>> {
        let mut tails = self.tails.lock().unwrap_or_else(|e| e.into_inner());
        tails
            .entry(stream.to_owned())
            .or_insert_with(|| broadcast::channel(TAIL_BUFFER).0)
            .subscribe()
    }

    fn subscribe(
        &self,
        stream: &str,
        group: &str,
    ) -> Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<MemoryMessage>>> {
        let mut groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        let queue = groups
            .entry(stream.to_owned())
            .or_default()
            .entry(group.to_owned())
            .or_insert_with(|| {
                let (tx, rx) = mpsc::unbounded_channel();
                (tx, Arc::new(tokio::sync::Mutex::new(rx)))
            });
        queue.1.clone()
    }

    async fn publish(&self, stream: &str, payloads: &[&[u8]]) -> Result<()> {
        let senders: Vec<mpsc::UnboundedSender<MemoryMessage>> = {
            let groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
            groups
                .get(stream)
                .map(|g| g.values().map(|q| q.0.clone()).collect())
                .unwrap_or_default()
        };
        let tail = {
            let tails = self.tails.lock().unwrap_or_else(|e| e.into_inner());
            tails
                .get(stream)
                .filter(|t| t.receiver_count() > 0)
                .cloned()
        };
        let mut pending = Vec::with_capacity(payloads.len() * senders.len());
        for payload in payloads {
            let payload: Arc<[u8]> = Arc::from(*payload);
            if let Some(tail) = &tail {
                // Nobody tailing is no error: a tail sees what is published while it exists.
                let _ = tail.send(payload.clone());
            }
            for tx in &senders {
                let (done, applied) = oneshot::channel();
                if tx
                    .send(MemoryMessage {
                        payload: payload.clone(),
                        done,
                    })
                    .is_ok()
                {
                    pending.push(applied);
                }
            }
        }
        for applied in pending {
            // A member that goes away without acknowledging leaves the row unmarked: it is
            // published again, and the group's inbox drops what was already applied.
            applied
                .await
                .map_err(|_| Error::unavailable("an event consumer stopped before applying"))?;
        }
        Ok(())
    }
}

// ---- Redis Streams ----

#[derive(Clone)]
struct RedisBus {
    client: redis::Client,
    conn: ConnectionManager,
    prefix: String,
    groups: GroupSettings,
}

fn redis_down(e: redis::RedisError) -> Error {
    Error::unavailable_from(format!("Redis: {e}"), e)
}

impl RedisBus {
    fn key(&self, stream: &str) -> String {
        format!("{}events:{stream}", self.prefix)
    }

    async fn publish(&self, stream: &str, payloads: &[&[u8]]) -> Result<()> {
        let key = self.key(stream);
        let mut pipe = redis::pipe();
        for p in payloads {
            pipe.xadd_maxlen(&key, StreamMaxlen::Approx(STREAM_MAXLEN), "*", &[("e", *p)]);
        }
        let mut conn = self.conn.clone();
        let _: Vec<String> = pipe.query_async(&mut conn).await.map_err(redis_down)?;
        Ok(())
    }

    async fn subscribe(&self, stream: &str, group: &str, member: &str) -> Result<Subscription> {
        let key = self.key(stream);
        let mut conn = self.conn.clone();
        create_group(&mut conn, &key, group).await?;
        Ok(Subscription(SubInner::Redis(Box::new(RedisSubscription {
            client: self.client.clone(),
            reader: None,
            acker: self.conn.clone(),
            key,
            group: group.to_owned(),
            member: member.to_owned(),
            buffer: VecDeque::new(),
            own_pending_drained: false,
            reclaim_cursor: "0-0".to_owned(),
            last_prune: std::time::Instant::now(),
            health: None,
            groups: self.groups,
        }))))
    }
}

impl RedisBus {
    async fn tail(&self, stream: &str) -> Result<Tail> {
        let key = self.key(stream);
        let mut conn = self.conn.clone();
        // From the newest entry on: what was published before the tail began is not its own.
        let newest: redis::streams::StreamRangeReply = conn
            .xrevrange_count(&key, "+", "-", 1)
            .await
            .map_err(redis_down)?;
        let last_id = newest
            .ids
            .into_iter()
            .next()
            .map_or_else(|| "0-0".to_owned(), |e| e.id);
        Ok(Tail(TailInner::Redis(Box::new(RedisTail {
            client: self.client.clone(),
            reader: None,
            key,
            last_id,
            buffer: VecDeque::new(),
        }))))
    }
}

/// A Redis tail: plain reads (no group) after the last entry it returned, so a reconnect
/// resumes where it stopped.
struct RedisTail {
    client: redis::Client,
    reader: Option<MultiplexedConnection>,
    key: String,
    last_id: String,
    buffer: VecDeque<StreamId>,
}

impl RedisTail {
    async fn next(&mut self) -> Result<Tailed> {
        loop {
            if let Some(entry) = self.buffer.pop_front() {
                self.last_id = entry.id.clone();
                if let Some(payload) = entry
                    .map
                    .get("e")
                    .and_then(|v| redis::from_redis_value::<Vec<u8>>(v).ok())
                {
                    return Ok(Tailed::Event(payload));
                }
                continue;
            }
            if let Err(e) = self.fill().await {
                self.reader = None;
                return Err(e);
            }
        }
    }

    async fn fill(&mut self) -> Result<()> {
        if self.reader.is_none() {
            let config = redis::AsyncConnectionConfig::new()
                .set_connection_timeout(Duration::from_secs(2))
                .set_response_timeout(READ_TIMEOUT);
            self.reader = Some(
                self.client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await
                    .map_err(redis_down)?,
            );
        }
        let Some(reader) = self.reader.as_mut() else {
            return Err(Error::internal("no reading connection"));
        };
        let opts = StreamReadOptions::default()
            .block(BLOCK_MS)
            .count(TAIL_COUNT);
        let reply: Option<StreamReadReply> = reader
            .xread_options(&[&self.key], &[&self.last_id], &opts)
            .await
            .map_err(redis_down)?;
        self.buffer
            .extend(reply.into_iter().flat_map(|r| r.keys).flat_map(|k| k.ids));
        Ok(())
    }
}

/// Creates consumer group `group` of stream `key` if it is missing (and the stream with it),
/// reading from the stream's start: a group created after events were published still sees
/// them, and one lost with a Redis that kept nothing on disk comes back.
async fn create_group(conn: &mut ConnectionManager, key: &str, group: &str) -> Result<()> {
    let created: redis::RedisResult<()> = conn.xgroup_create_mkstream(key, group, "0").await;
    match created {
        Err(e) if e.code() != Some("BUSYGROUP") => Err(redis_down(e)),
        _ => Ok(()),
    }
}

struct RedisSubscription {
    client: redis::Client,
    /// Blocking reads get a connection of their own, so they never hold up other commands;
    /// `None` after a failure, until the next read connects anew.
    reader: Option<MultiplexedConnection>,
    acker: ConnectionManager,
    key: String,
    group: String,
    member: String,
    buffer: VecDeque<StreamId>,
    own_pending_drained: bool,
    reclaim_cursor: String,
    last_prune: std::time::Instant,
    health: Option<Arc<super::consumer::ConsumerState>>,
    groups: GroupSettings,
}

impl RedisSubscription {
    async fn next(&mut self) -> Result<Delivery> {
        loop {
            if let Some(entry) = self.buffer.pop_front() {
                let Some(payload) = entry
                    .map
                    .get("e")
                    .and_then(|v| redis::from_redis_value::<Vec<u8>>(v).ok())
                else {
                    // Not ours to read; acknowledge so it is not redelivered forever.
                    let _: redis::RedisResult<i64> =
                        self.acker.xack(&self.key, &self.group, &[&entry.id]).await;
                    continue;
                };
                return Ok(Delivery {
                    payload,
                    ack: Ack::Redis {
                        conn: self.acker.clone(),
                        key: self.key.clone(),
                        group: self.group.clone(),
                        id: entry.id,
                    },
                });
            }
            match self.fill().await {
                Ok(()) => {
                    if let Some(h) = &self.health {
                        h.reading();
                    }
                }
                Err(e) => {
                    // The connection may be broken (Redis restarted, a partition): read on a
                    // new one next time, and recreate the group if Redis lost it.
                    self.reader = None;
                    if let Some(h) = &self.health {
                        h.failing();
                    }
                    return Err(e);
                }
            }
        }
    }

    /// The reading connection, connecting anew after a failure.
    async fn reader(&mut self) -> Result<&mut MultiplexedConnection> {
        if self.reader.is_none() {
            let config = redis::AsyncConnectionConfig::new()
                .set_connection_timeout(Duration::from_secs(2))
                .set_response_timeout(READ_TIMEOUT);
            let conn = self
                .client
                .get_multiplexed_async_connection_with_config(&config)
                .await
                .map_err(redis_down)?;
            self.reader = Some(conn);
        }
        self.reader
            .as_mut()
            .ok_or_else(|| Error::internal("no reading connection"))
    }

    async fn fill(&mut self) -> Result<()> {
        if self.last_prune.elapsed() >= self.groups.prune_every {
            self.last_prune = std::time::Instant::now();
            self.prune_dead_members().await;
        }
        // First what this member was given before a restart and never acknowledged.
        if !self.own_pending_drained {
            let reply = self.read("0", None).await?;
            if reply.is_empty() {
                self.own_pending_drained = true;
            } else {
                self.buffer.extend(reply);
                return Ok(());
            }
        }
        // Then what other members took and left unacknowledged for too long (they died).
        let opts = StreamAutoClaimOptions::default().count(64);
        let (key, group, member, cursor) = (
            self.key.clone(),
            self.group.clone(),
            self.member.clone(),
            self.reclaim_cursor.clone(),
        );
        let idle = millis(self.groups.reclaim_idle);
        let claimed: redis::RedisResult<StreamAutoClaimReply> = self
            .reader()
            .await?
            .xautoclaim_options(&key, &group, &member, idle, &cursor, opts)
            .await;
        let claimed = self.recover(claimed).await?;
        self.reclaim_cursor = claimed.next_stream_id;
        if !claimed.claimed.is_empty() {
            self.buffer.extend(claimed.claimed);
            return Ok(());
        }
        // Then new events.
        let fresh = self.read(">", Some(BLOCK_MS)).await?;
        self.buffer.extend(fresh);
        Ok(())
    }

    async fn read(&mut self, from: &str, block: Option<usize>) -> Result<Vec<StreamId>> {
        let mut opts = StreamReadOptions::default()
            .group(&self.group, &self.member)
            .count(64);
        if let Some(ms) = block {
            opts = opts.block(ms);
        }
        let key = self.key.clone();
        let reply: redis::RedisResult<Option<StreamReadReply>> = self
            .reader()
            .await?
            .xread_options(&[&key], &[from], &opts)
            .await;
        Ok(self
            .recover(reply)
            .await?
            .map(|r| r.keys.into_iter().flat_map(|k| k.ids).collect())
            .unwrap_or_default())
    }

    /// `result`, or its error; a group Redis no longer knows (it restarted without its data, or
    /// the stream was deleted) is recreated, and the member reads its own pending events anew.
    async fn recover<T>(&mut self, result: redis::RedisResult<T>) -> Result<T> {
        match result {
            Ok(v) => Ok(v),
            Err(e) if e.code() == Some("NOGROUP") => {
                tracing::warn!(group = %self.group, stream = %self.key, "the consumer group was lost; recreating it");
                create_group(&mut self.acker, &self.key, &self.group).await?;
                self.own_pending_drained = false;
                self.reclaim_cursor = "0-0".to_owned();
                Err(redis_down(e))
            }
            Err(e) => Err(redis_down(e)),
        }
    }

    /// Removes members of the group that stopped reading long ago and hold nothing: dead
    /// replicas. Best effort; what they left pending was claimed by live members first.
    async fn prune_dead_members(&mut self) {
        let info: redis::RedisResult<redis::streams::StreamInfoConsumersReply> =
            self.acker.xinfo_consumers(&self.key, &self.group).await;
        let Ok(info) = info else {
            return;
        };
        for c in info.consumers {
            if c.name != self.member && c.pending == 0 && c.idle > millis(self.groups.dead_after) {
                let removed: redis::RedisResult<i64> = self
                    .acker
                    .xgroup_delconsumer(&self.key, &self.group, &c.name)
                    .await;
                if removed.is_ok() {
                    tracing::info!(group = %self.group, member = %c.name, "removed a dead member of the consumer group");
                }
            }
        }
    }
}

fn millis(d: Duration) -> usize {
    usize::try_from(d.as_millis()).unwrap_or(usize::MAX)
}
