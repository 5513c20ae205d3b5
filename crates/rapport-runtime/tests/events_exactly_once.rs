//! Outbox → relay → bus → idempotent consumer, exactly once in effect: a relay that crashes
//! between publishing and marking republishes its batch, and the consumer's inbox
//! (`apply_once`) drops what it applied before. On SQLite with the in-process bus, and on
//! PostgreSQL with Redis Streams when both are configured.

mod common;

use std::{
    collections::{BTreeSet, HashMap},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use common::*;
use rapport_runtime::{
    Error, Result,
    clock::{SharedClock, SystemClock},
    events::{
        Bus, Consumers, Event, EventHandler, GroupSettings, NewEvent, Relay, RelayHandle, append,
        append_many, apply_once, run_handler,
    },
    storage::{Db, Migration, Migrations, Tx},
    telemetry::Metrics,
};
use rapport_testkit::proxy::Proxy;
use tokio::sync::{Semaphore, oneshot};

const STREAM: &str = "producer";
const GROUP: &str = "consumer.counter";
const WAIT: Duration = Duration::from_secs(60);

/// The consumer's effect table. No unique key on purpose: a second application of an event
/// would show up as a second row instead of failing.
const COUNTER: Migrations = both(&[Migration {
    version: 100,
    description: "applied events",
    sql: "CREATE TABLE applied (event_id TEXT NOT NULL, member TEXT NOT NULL)",
}]);

/// Counts what the bus hands it and applies each event once into `applied`.
struct Counter {
    db: Db,
    member: String,
    clock: SharedClock,
    /// Deliveries per event id, whatever became of them.
    deliveries: Arc<Mutex<HashMap<String, usize>>>,
    /// When set, the handler stops before applying the delivery with this number (counted
    /// from 1 across members), tells `reached` and waits for a permit.
    gate: Option<Gate>,
}

struct Gate {
    at: usize,
    reached: Mutex<Option<oneshot::Sender<()>>>,
    open: Arc<Semaphore>,
}

#[tonic::async_trait]
impl EventHandler for Counter {
    fn group(&self) -> &'static str {
        GROUP
    }

    fn stream(&self) -> &'static str {
        STREAM
    }

    async fn handle(&self, event: &Event) -> Result<()> {
        let delivery = {
            let mut seen = self.deliveries.lock().expect("deliveries");
            *seen.entry(event.id.clone()).or_default() += 1;
            seen.values().sum::<usize>()
        };
        if let Some(gate) = self.gate.as_ref().filter(|g| g.at == delivery) {
            if let Some(reached) = gate.reached.lock().expect("gate").take() {
                let _ = reached.send(());
            }
            let _permit = gate.open.acquire().await.map_err(Error::internal)?;
        }
        let (id, member) = (event.id.clone(), self.member.clone());
        apply_once(
            &self.db,
            GROUP,
            &event.id,
            self.clock.now(),
            move |tx: &mut Tx| {
                Box::pin(async move {
                    sqlx::query("INSERT INTO applied (event_id, member) VALUES ($1, $2)")
                        .bind(id)
                        .bind(member)
                        .execute(&mut **tx)
                        .await?;
                    Ok(())
                })
            },
        )
        .await?;
        Ok(())
    }
}

/// A producer and a consumer database, the bus between them, and the handlers running.
struct Setup {
    producer: Db,
    consumer: Db,
    bus: Bus,
    clock: SharedClock,
    deliveries: Arc<Mutex<HashMap<String, usize>>>,
    handlers: Vec<tokio::task::JoinHandle<()>>,
    // Kept for their Drop, which removes the stores.
    _db: TestDb,
    _redis: Option<RedisPrefix>,
}

impl Setup {
    async fn new(backend: Backend, test: &str) -> Setup {
        let db = TestDb::new(backend).await;
        let producer = db.migrated("producer", &NO_MIGRATIONS).await;
        let consumer = db.migrated("consumer", &COUNTER).await;
        let redis = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => redis_url(test).map(RedisPrefix::new),
        };
        let bus = match &redis {
            Some(r) => r.bus().await,
            None => Bus::memory(),
        };
        Setup {
            producer,
            consumer,
            bus,
            clock: Arc::new(SystemClock),
            deliveries: Arc::default(),
            handlers: Vec::new(),
            _db: db,
            _redis: redis,
        }
    }

    fn on_redis(&self) -> bool {
        self._redis.is_some()
    }

    /// Starts a group member. It joins the group before returning, so nothing the relay
    /// publishes afterwards passes it by (the in-process bus keeps nothing for unknown groups).
    async fn member(&mut self, member: &str, gate: Option<Gate>) {
        drop(
            self.bus
                .subscribe(STREAM, GROUP, member)
                .await
                .expect("join the group"),
        );
        let handler = Counter {
            db: self.consumer.clone(),
            member: member.to_owned(),
            clock: self.clock.clone(),
            deliveries: self.deliveries.clone(),
            gate,
        };
        let state = Consumers::new(&Metrics::new()).state(GROUP);
        self.handlers.push(run_handler(
            self.bus.clone(),
            Arc::new(handler),
            member.into(),
            state,
        ));
    }

    fn relay(&self) -> Relay {
        Relay::new(self.producer.clone(), self.bus.clone())
    }

    /// Appends `n` events in transactions of up to `per_tx`; returns their ids.
    async fn append(&self, n: usize, per_tx: usize) -> Vec<String> {
        let mut ids = Vec::with_capacity(n);
        let mut left = n;
        while left > 0 {
            let take = left.min(per_tx);
            let mut tx = self.producer.begin().await.expect("begin");
            if take == 1 {
                ids.push(
                    append(&mut tx, event(ids.len()), self.clock.now())
                        .await
                        .expect("append"),
                );
            } else {
                let events = (ids.len()..ids.len() + take).map(event).collect();
                ids.extend(
                    append_many(&mut tx, events, self.clock.now())
                        .await
                        .expect("append"),
                );
            }
            tx.commit().await.expect("commit");
            left -= take;
        }
        ids
    }

    async fn unpublished(&self) -> i64 {
        // A row holds `events` events (0: one, written before batching).
        sqlx::query_scalar(
            "SELECT CAST(coalesce(sum(CASE WHEN events = 0 THEN 1 ELSE events END), 0) AS BIGINT) \
             FROM outbox",
        )
        .fetch_one(self.producer.pool())
        .await
        .expect("count unpublished")
    }

    async fn applied(&self) -> Vec<(String, i64)> {
        sqlx::query_as("SELECT event_id, COUNT(*) FROM applied GROUP BY event_id ORDER BY event_id")
            .fetch_all(self.consumer.pool())
            .await
            .expect("read applied")
    }

    async fn processed(&self) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM processed_events WHERE consumer = $1")
            .bind(GROUP)
            .fetch_one(self.consumer.pool())
            .await
            .expect("count processed")
    }

    fn delivered(&self) -> usize {
        self.deliveries.lock().expect("deliveries").values().sum()
    }

    /// Waits until every event in `ids` is applied and the outbox is all marked.
    async fn wait_applied(&self, ids: &[String]) {
        let want = ids.len();
        eventually("every event applied", WAIT, || async {
            (self.applied().await.len() == want && self.unpublished().await == 0).then_some(())
        })
        .await;
    }

    /// Asserts each of `ids` was applied exactly once, and nothing else was.
    async fn assert_exactly_once(&self, ids: &[String]) {
        let applied = self.applied().await;
        let twice: Vec<_> = applied.iter().filter(|(_, n)| *n != 1).collect();
        assert!(twice.is_empty(), "applied more than once: {twice:?}");
        let got: BTreeSet<&str> = applied.iter().map(|(id, _)| id.as_str()).collect();
        let want: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
        assert_eq!(got, want, "applied events differ from appended ones");
        assert_eq!(self.processed().await, ids.len() as i64);
    }

    fn stop(self) {
        for h in &self.handlers {
            h.abort();
        }
    }
}

fn event(i: usize) -> NewEvent<'static> {
    NewEvent {
        stream: STREAM,
        event_type: "rapport.test.v1.thing.happened",
        subject: format!("things/{i}"),
        tenant: "t1",
        actor: "tester",
        payload_type: "google.protobuf.Empty",
        payload: Vec::new(),
        traceparent: None,
    }
}

fn crash() -> Result<()> {
    Err(Error::unavailable("crashed between publish and mark"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_republished_after_a_crash_is_applied_once() {
    for backend in backends("a_batch_republished_after_a_crash_is_applied_once") {
        let mut s = Setup::new(backend, "a_batch_republished_after_a_crash_is_applied_once").await;
        s.member("m1", None).await;
        let ids = s.append(120, 25).await;

        // The whole outbox fits one batch: it reaches the bus, then the relay "crashes".
        let relay = s.relay();
        let first = relay.publish_batch_with(crash).await;
        assert!(first.is_err(), "the failing batch must report its failure");
        assert_eq!(
            s.unpublished().await,
            ids.len() as i64,
            "a batch that crashed before marking stays unmarked"
        );

        // A restarted relay publishes the same rows again, and marks them this time.
        let running = s.relay().spawn();
        s.wait_applied(&ids).await;
        // Every event went over the bus twice (the Redis consumer may still be reading the
        // second copies; the in-process bus has handed them over by the time rows are marked).
        eventually("the second copies delivered", WAIT, || async {
            (s.delivered() == 2 * ids.len()).then_some(())
        })
        .await;
        let twice = s
            .deliveries
            .lock()
            .expect("deliveries")
            .values()
            .all(|n| *n == 2);
        assert!(twice, "each event was delivered once per publish");
        s.assert_exactly_once(&ids).await;
        running.stop().await;
        s.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_batch_marks_what_it_published() {
    for backend in backends("publish_batch_marks_what_it_published") {
        let mut s = Setup::new(backend, "publish_batch_marks_what_it_published").await;
        s.member("m1", None).await;
        let relay = s.relay();
        assert_eq!(relay.publish_batch().await.expect("empty outbox"), 0);
        let ids = s.append(3, 1).await;
        assert_eq!(relay.publish_batch().await.expect("publish"), 3);
        assert_eq!(s.unpublished().await, 0);
        assert_eq!(relay.publish_batch().await.expect("nothing left"), 0);
        eventually("three events applied", WAIT, || async {
            (s.applied().await.len() == 3).then_some(())
        })
        .await;
        s.assert_exactly_once(&ids).await;
        assert_eq!(s.delivered(), 3, "no crash, no redelivery");

        // A write of many events packs them into a few rows; each still arrives on its own.
        let mut ids = ids;
        ids.extend(s.append(600, 600).await);
        assert_eq!(s.unpublished().await, 600);
        assert_eq!(
            relay.publish_batch().await.expect("publish rows"),
            3,
            "256 events per row"
        );
        eventually("603 events applied", WAIT, || async {
            (s.applied().await.len() == 603).then_some(())
        })
        .await;
        s.assert_exactly_once(&ids).await;
        s.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_killed_mid_stream_and_restarted_applies_everything_once() {
    let test = "a_relay_killed_mid_stream_and_restarted_applies_everything_once";
    for backend in backends(test) {
        let mut s = Setup::new(backend, test).await;
        // The consumer stops in the middle of the first batch, so the in-process bus is still
        // waiting for it when the relay dies (on Redis the relay is past the batch by then;
        // killing it there must lose nothing either).
        let (reached_tx, reached) = oneshot::channel();
        let open = Arc::new(Semaphore::new(0));
        let gate = Gate {
            at: 40,
            reached: Mutex::new(Some(reached_tx)),
            open: open.clone(),
        };
        s.member("m1", Some(gate)).await;
        let mut ids = s.append(100, 10).await;

        let relay: RelayHandle = s.relay().spawn();
        tokio::time::timeout(WAIT, reached)
            .await
            .expect("the consumer reaches the middle of the stream")
            .expect("gate");
        relay.kill();
        if !s.on_redis() {
            assert_eq!(
                s.unpublished().await,
                ids.len() as i64,
                "the killed relay marked nothing"
            );
        }
        open.add_permits(1);

        // More events while no relay runs; a new relay picks up all that is left.
        ids.extend(s.append(30, 7).await);
        let relay = s.relay().spawn();
        s.wait_applied(&ids).await;
        s.assert_exactly_once(&ids).await;
        relay.stop().await;
        s.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_members_of_a_group_share_the_stream() {
    for backend in backends("two_members_of_a_group_share_the_stream") {
        let mut s = Setup::new(backend, "two_members_of_a_group_share_the_stream").await;
        s.member("m1", None).await;
        s.member("m2", None).await;
        let ids = s.append(200, 20).await;
        let relay = s.relay().spawn();
        s.wait_applied(&ids).await;
        s.assert_exactly_once(&ids).await;
        // Without a crash, the group hands each event to one member only.
        eventually("every delivery counted", WAIT, || async {
            (s.delivered() == ids.len()).then_some(())
        })
        .await;
        let once = s
            .deliveries
            .lock()
            .expect("deliveries")
            .values()
            .all(|n| *n == 1);
        assert!(once, "an event reached more than one member of the group");
        relay.stop().await;
        s.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_restarting_gets_its_unacknowledged_events_first() {
    let test = "a_member_restarting_gets_its_unacknowledged_events_first";
    let Some(url) = redis_url(test) else { return };
    let redis = RedisPrefix::new(url);
    let bus = redis.bus().await;
    let first = bus.subscribe("orders", "billing", "a").await.expect("join");
    let other = bus.subscribe("orders", "billing", "b").await.expect("join");
    bus.publish("orders", &[b"one", b"two"])
        .await
        .expect("publish");

    // Member a reads and dies before acknowledging anything.
    let mut first = first;
    let held = first.next().await.expect("read").expect("an event");
    assert_eq!(held.payload, b"one");
    drop(held);
    drop(first);

    // Back under the same name, a is handed what it held before, in order; acknowledged, an
    // event is not handed out again.
    let mut again = bus
        .subscribe("orders", "billing", "a")
        .await
        .expect("rejoin");
    let mut replayed = Vec::new();
    for _ in 0..2 {
        let d = again.next().await.expect("read").expect("an event");
        replayed.push(d.payload.clone());
        d.ack().await.expect("ack");
    }
    assert_eq!(replayed, [b"one".to_vec(), b"two".to_vec()]);
    let pending: redis::Value = {
        let client = redis::Client::open(redis.url.as_str()).expect("client");
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .expect("connect");
        redis::cmd("XPENDING")
            .arg(format!("{}events:orders", redis.prefix))
            .arg("billing")
            .query_async(&mut conn)
            .await
            .expect("XPENDING")
    };
    let redis::Value::Array(summary) = pending else {
        panic!("unexpected XPENDING reply {pending:?}")
    };
    assert_eq!(
        summary.first(),
        Some(&redis::Value::Int(0)),
        "nothing left pending"
    );
    drop(other);

    // A new group created after the events still sees them from the stream's start.
    let mut late = bus.subscribe("orders", "audit", "x").await.expect("join");
    let mut seen = Vec::new();
    for _ in 0..2 {
        let d = late.next().await.expect("read").expect("an event");
        seen.push(d.payload.clone());
        d.ack().await.expect("ack");
    }
    assert_eq!(seen, [b"one".to_vec(), b"two".to_vec()]);
}

/// Redis goes away under a reading member (its connections reset, as when Redis restarts) and
/// comes back: the member reads again on a new connection within moments, without being
/// recreated, and events published meanwhile reach it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_reads_again_after_redis_comes_back() {
    let test = "a_member_reads_again_after_redis_comes_back";
    let Some(url) = redis_url(test) else { return };
    let redis = RedisPrefix::new(url.clone());
    let (proxy, via_proxy) = Proxy::for_url(&url).await;
    let bus = Bus::redis(&via_proxy, &redis.prefix)
        .await
        .expect("connect the bus");
    let mut member = bus.subscribe("orders", "billing", "a").await.expect("join");
    bus.publish("orders", &[b"before"]).await.expect("publish");
    let d = member.next().await.expect("read").expect("an event");
    assert_eq!(d.payload, b"before");
    d.ack().await.expect("ack");

    proxy.cut();
    let read_during_outage = tokio::time::timeout(Duration::from_secs(3), member.next()).await;
    assert!(
        matches!(read_during_outage, Ok(Err(_)) | Err(_)),
        "no event while Redis is away: {:?}",
        read_during_outage.map(|r| r.map(|d| d.map(|d| d.payload)))
    );
    proxy.restore();
    // Published straight to Redis, around the proxy: the member sees it through its new
    // connection.
    let direct = Bus::redis(&url, &redis.prefix).await.expect("connect");
    direct
        .publish("orders", &[b"after"])
        .await
        .expect("publish");
    let started = Instant::now();
    let got = loop {
        match tokio::time::timeout(WAIT, member.next()).await {
            Ok(Ok(Some(d))) => break d,
            Ok(Err(_)) => {
                assert!(
                    started.elapsed() < Duration::from_secs(10),
                    "reads keep failing"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => panic!("no event after Redis came back: {:?}", other.is_ok()),
        }
    };
    assert_eq!(got.payload, b"after");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "back within a few seconds, took {:?}",
        started.elapsed()
    );
    got.ack().await.expect("ack");
}

/// Redis restarts without its data (no persistence): the stream and its consumer groups are
/// gone. The member recreates its group and reads what is published afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_recreates_a_group_redis_lost() {
    let test = "a_member_recreates_a_group_redis_lost";
    let Some(url) = redis_url(test) else { return };
    let redis = RedisPrefix::new(url.clone());
    let bus = redis.bus().await;
    let mut member = bus.subscribe("orders", "billing", "a").await.expect("join");
    let client = redis::Client::open(url.as_str()).expect("client");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let _: i64 = redis::cmd("DEL")
        .arg(format!("{}events:orders", redis.prefix))
        .query_async(&mut conn)
        .await
        .expect("DEL");
    let started = Instant::now();
    loop {
        bus.publish("orders", &[b"again"]).await.expect("publish");
        match tokio::time::timeout(Duration::from_secs(3), member.next()).await {
            Ok(Ok(Some(d))) => {
                assert_eq!(d.payload, b"again");
                d.ack().await.expect("ack");
                break;
            }
            _ => assert!(
                started.elapsed() < Duration::from_secs(15),
                "the group never came back"
            ),
        }
    }
}

/// Replicas are named after their pods: a member that stopped reading long ago and holds no
/// pending events is removed from the group by the living.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_members_are_removed_from_their_group() {
    let test = "dead_members_are_removed_from_their_group";
    let Some(url) = redis_url(test) else { return };
    let redis = RedisPrefix::new(url.clone());
    let quick = GroupSettings {
        reclaim_idle: Duration::from_millis(200),
        prune_every: Duration::from_millis(200),
        dead_after: Duration::from_millis(500),
    };
    let bus = Bus::redis_with(&url, &redis.prefix, quick)
        .await
        .expect("connect");
    bus.publish("orders", &[b"one"]).await.expect("publish");
    // A pod that read an event and died before acknowledging it.
    let mut dead = bus
        .subscribe("orders", "billing", "pod-1")
        .await
        .expect("join");
    let held = dead.next().await.expect("read").expect("an event");
    drop(held);
    drop(dead);
    // Its successor takes the event over, then removes it once it is idle and holds nothing.
    let mut alive = bus
        .subscribe("orders", "billing", "pod-2")
        .await
        .expect("join");
    let taken = alive
        .next()
        .await
        .expect("read")
        .expect("the dead pod's event");
    assert_eq!(taken.payload, b"one");
    taken.ack().await.expect("ack");
    let key = format!("{}events:orders", redis.prefix);
    let client = redis::Client::open(url.as_str()).expect("client");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let started = Instant::now();
    loop {
        // Reading drives the pruning; nothing is published, so each read waits a second.
        let _ = tokio::time::timeout(Duration::from_millis(1_500), alive.next()).await;
        let members: redis::streams::StreamInfoConsumersReply = redis::cmd("XINFO")
            .arg("CONSUMERS")
            .arg(&key)
            .arg("billing")
            .query_async(&mut conn)
            .await
            .expect("XINFO CONSUMERS");
        let names: Vec<String> = members.consumers.into_iter().map(|c| c.name).collect();
        if names == ["pod-2"] {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the dead member stays: {names:?}"
        );
    }
}

#[tokio::test]
async fn the_in_process_bus_waits_until_every_group_applied() {
    let bus = Bus::memory();
    let mut a = bus.subscribe("s", "g1", "m").await.expect("join");
    let mut b = bus.subscribe("s", "g2", "m").await.expect("join");
    let publishing = tokio::spawn({
        let bus = bus.clone();
        async move { bus.publish("s", &[b"e"]).await }
    });
    let from_a = a.next().await.expect("read").expect("an event");
    let from_b = b.next().await.expect("read").expect("an event");
    assert_eq!(
        (from_a.payload.as_slice(), from_b.payload.as_slice()),
        (&b"e"[..], &b"e"[..])
    );
    from_a.ack().await.expect("ack");
    assert!(
        !publishing.is_finished(),
        "publish cannot return before the second group applied"
    );
    from_b.ack().await.expect("ack");
    tokio::time::timeout(WAIT, publishing)
        .await
        .expect("publish returns once both groups acknowledged")
        .expect("join")
        .expect("publish");

    // A member that drops an event without acknowledging makes the publish fail, so the relay
    // leaves the row unmarked and publishes it again.
    let publishing = tokio::spawn({
        let bus = bus.clone();
        async move { bus.publish("s", &[b"f"]).await }
    });
    drop(a.next().await.expect("read").expect("an event"));
    b.next()
        .await
        .expect("read")
        .expect("an event")
        .ack()
        .await
        .expect("ack");
    let result = publishing.await.expect("join");
    assert!(result.is_err(), "an unapplied event is a failed publish");
}

/// What a tail reads within a few seconds, as text; `Missed` reads as "?".
async fn tailed(tail: &mut rapport_runtime::events::Tail, n: usize) -> Vec<String> {
    use rapport_runtime::events::Tailed;
    let mut out = Vec::new();
    while out.len() < n {
        match tokio::time::timeout(WAIT, tail.next()).await {
            Ok(Ok(Some(Tailed::Event(e)))) => out.push(String::from_utf8(e).expect("text")),
            Ok(Ok(Some(Tailed::Missed))) => out.push("?".into()),
            other => panic!("the tail stopped: {:?}", other.map(|r| r.is_ok())),
        }
    }
    out
}

/// Every tail of a stream sees every event published after it began, besides the groups (each
/// of which hands an event to one member); what came before is not its own.
#[tokio::test]
async fn every_tail_sees_what_is_published_after_it_began() {
    let bus = Bus::memory();
    bus.publish("s", &[b"before"]).await.expect("publish");
    let mut one = bus.tail("s").await.expect("tail");
    let mut two = bus.tail("s").await.expect("tail");
    bus.publish("s", &[b"a", b"b"]).await.expect("publish");
    bus.publish("other", &[b"x"]).await.expect("publish");
    assert_eq!(tailed(&mut one, 2).await, ["a", "b"]);
    assert_eq!(tailed(&mut two, 2).await, ["a", "b"]);
    // A tail that falls far behind is told it missed events, then reads on.
    let many: Vec<Vec<u8>> = (0..5000).map(|i| i.to_string().into_bytes()).collect();
    let many: Vec<&[u8]> = many.iter().map(Vec::as_slice).collect();
    bus.publish("s", &many).await.expect("publish");
    assert_eq!(tailed(&mut one, 1).await, ["?"]);
}

/// On Redis, tails on two buses (two replicas) both see every event, whichever published it,
/// and a consumer group still gets each once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tails_on_redis_see_every_replicas_events() {
    let test = "tails_on_redis_see_every_replicas_events";
    let Some(url) = redis_url(test) else { return };
    let redis = RedisPrefix::new(url);
    let first = redis.bus().await;
    let second = redis.bus().await;
    first.publish("s", &[b"before"]).await.expect("publish");
    let mut one = first.tail("s").await.expect("tail");
    let mut two = second.tail("s").await.expect("tail");
    first.publish("s", &[b"a"]).await.expect("publish");
    second.publish("s", &[b"b"]).await.expect("publish");
    assert_eq!(tailed(&mut one, 2).await, ["a", "b"]);
    assert_eq!(tailed(&mut two, 2).await, ["a", "b"]);
}
