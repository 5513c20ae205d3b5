//! The bus between services: in-process for standalone, Redis Streams with consumer groups for
//! distributed. Publishing returns once the bus holds the events durably enough for its mode:
//! Redis has them (XADD), or, in-process, every subscribed group has applied them — the
//! in-process bus keeps nothing, so the relay must not mark a row before its consumers are done.

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
use tokio::sync::{mpsc, oneshot};

use crate::{Error, Result};

/// Streams keep about this many events; consumers are expected to keep up well within it.
const STREAM_MAXLEN: usize = 1_000_000;
/// A pending event not acknowledged for this long is taken over by another group member.
const RECLAIM_IDLE_MS: usize = 30_000;
/// Longest a blocking read waits before it checks for reclaimable events again.
const BLOCK_MS: usize = 1_000;

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
        let client =
            redis::Client::open(url).map_err(|e| Error::internal(format!("bad redis url: {e}")))?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Duration::from_secs(2))
            .set_response_timeout(Duration::from_secs(5));
        let conn = ConnectionManager::new_with_config(client.clone(), config)
            .await
            .map_err(|e| Error::Unavailable(format!("cannot reach Redis: {e}")))?;
        Ok(Bus(Inner::Redis(RedisBus {
            client,
            conn,
            prefix: prefix.to_owned(),
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
                let _: i64 = conn.xack(&key, &group, &[&id]).await.map_err(redis_down)?;
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
}

impl MemoryBus {
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
        let mut pending = Vec::with_capacity(payloads.len() * senders.len());
        for payload in payloads {
            let payload: Arc<[u8]> = Arc::from(*payload);
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
            applied.await.map_err(|_| {
                Error::Unavailable("an event consumer stopped before applying".into())
            })?;
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
}

fn redis_down(e: redis::RedisError) -> Error {
    Error::Unavailable(format!("Redis: {e}"))
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
        // From the stream's start: a group created after events were published still sees them.
        let created: redis::RedisResult<()> = conn.xgroup_create_mkstream(&key, group, "0").await;
        if let Err(e) = created
            && e.code() != Some("BUSYGROUP")
        {
            return Err(redis_down(e));
        }
        // Blocking reads get their own connection so they never hold up other commands.
        let reader = self
            .client
            .get_multiplexed_async_connection()
            .await
            .map_err(redis_down)?;
        Ok(Subscription(SubInner::Redis(Box::new(RedisSubscription {
            reader,
            acker: self.conn.clone(),
            key,
            group: group.to_owned(),
            member: member.to_owned(),
            buffer: VecDeque::new(),
            own_pending_drained: false,
            reclaim_cursor: "0-0".to_owned(),
        }))))
    }
}

struct RedisSubscription {
    reader: MultiplexedConnection,
    acker: ConnectionManager,
    key: String,
    group: String,
    member: String,
    buffer: VecDeque<StreamId>,
    own_pending_drained: bool,
    reclaim_cursor: String,
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
            self.fill().await?;
        }
    }

    async fn fill(&mut self) -> Result<()> {
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
        let claimed: StreamAutoClaimReply = self
            .reader
            .xautoclaim_options(
                &self.key,
                &self.group,
                &self.member,
                RECLAIM_IDLE_MS,
                &self.reclaim_cursor,
                opts,
            )
            .await
            .map_err(redis_down)?;
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
        let reply: Option<StreamReadReply> = self
            .reader
            .xread_options(&[&self.key], &[from], &opts)
            .await
            .map_err(redis_down)?;
        Ok(reply
            .map(|r| r.keys.into_iter().flat_map(|k| k.ids).collect())
            .unwrap_or_default())
    }
}
