//! Watches: a replica pushes to its own clients what happens to something they follow (a
//! user's inbox), whichever replica made it happen. A watch is driven by the service's own
//! event stream, not by an in-process channel: the write that makes the change and the event
//! commit together, and every replica tails the stream ([`Bus::tail`]).
//!
//! A process tails the stream once, from its first watcher on, and stops a while after its
//! last one left. Each event is routed by a key the service reads from the envelope (its
//! tenant, and e.g. the user its subject names), so a thousand watchers cost one decoding of
//! each event, not a thousand. The stream only tells that something happened: a watcher told
//! that it missed events (the tail fell behind, or its own queue filled up) looks up what it
//! missed where the effects are stored.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, Weak,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use prost::Message;
use rapport_runtime::{
    Result,
    events::{Bus, Event, Tail, Tailed},
};
use tokio::sync::{Notify, mpsc};

/// Events a watcher may have waiting before it is told it missed some instead.
const QUEUE: usize = 256;
/// How long a process keeps tailing with nobody watching, so a client that reconnects at once
/// does not restart it.
const IDLE: Duration = Duration::from_secs(30);

/// Reads the key an event is routed by, within its tenant; `None` for events nobody watches.
pub type Route = fn(&Event) -> Option<String>;

/// The watches of one stream in this process; cheap to clone.
#[derive(Clone)]
pub struct Hub(Arc<Inner>);

struct Inner {
    bus: Bus,
    stream: &'static str,
    route: Route,
    /// Whether a task tails the stream; watchers register under it, so none registers while
    /// the task decides to stop.
    tailing: tokio::sync::Mutex<bool>,
    watchers: Mutex<HashMap<(String, String), Vec<Slot>>>,
    next_id: AtomicU64,
}

/// A watcher as the hub reaches it.
struct Slot {
    id: u64,
    events: mpsc::Sender<Arc<Event>>,
    missed: Arc<AtomicBool>,
    wake: Arc<Notify>,
}

impl Hub {
    /// The watches of `stream` on `bus`, each event routed by `route`.
    pub fn new(bus: Bus, stream: &'static str, route: Route) -> Self {
        Hub(Arc::new(Inner {
            bus,
            stream,
            route,
            tailing: tokio::sync::Mutex::new(false),
            watchers: Mutex::default(),
            next_id: AtomicU64::new(0),
        }))
    }

    /// Starts watching `key` of `tenant`: every event routed to it that is published from
    /// now on reaches the watcher. Look up the current state only after this returns, so
    /// nothing falls between the two.
    pub async fn watch(&self, tenant: &str, key: &str) -> Result<Watcher> {
        let mut tailing = self.0.tailing.lock().await;
        if !*tailing {
            let tail = self.0.bus.tail(self.0.stream).await?;
            tokio::spawn(follow(Arc::downgrade(&self.0), tail));
            *tailing = true;
        }
        let (tx, rx) = mpsc::channel(QUEUE);
        let missed = Arc::new(AtomicBool::new(false));
        let wake = Arc::new(Notify::new());
        let id = self.0.next_id.fetch_add(1, Ordering::Relaxed);
        let key = (tenant.to_owned(), key.to_owned());
        self.0
            .watchers()
            .entry(key.clone())
            .or_default()
            .push(Slot {
                id,
                events: tx,
                missed: missed.clone(),
                wake: wake.clone(),
            });
        drop(tailing);
        Ok(Watcher {
            events: rx,
            missed,
            wake,
            key,
            id,
            hub: Arc::downgrade(&self.0),
        })
    }
}

impl Inner {
    fn watchers(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Vec<Slot>>> {
        self.watchers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hands `event` to the watchers of its key.
    fn route(&self, payload: &[u8]) {
        let Ok(event) = Event::decode(payload) else {
            return;
        };
        let Some(key) = (self.route)(&event) else {
            return;
        };
        let watchers = self.watchers();
        let Some(slots) = watchers.get(&(event.tenant.clone(), key)) else {
            return;
        };
        let event = Arc::new(event);
        for slot in slots {
            if let Err(mpsc::error::TrySendError::Full(_)) = slot.events.try_send(event.clone()) {
                // A slow client is not waited for: it looks up what it missed instead.
                slot.missed.store(true, Ordering::Release);
                slot.wake.notify_one();
            }
        }
    }

    /// Tells every watcher that it missed events.
    fn all_missed(&self) {
        for slot in self.watchers().values().flatten() {
            slot.missed.store(true, Ordering::Release);
            slot.wake.notify_one();
        }
    }
}

/// Tails the stream for `hub` until the hub is gone, the bus is, or nobody watched for a while.
async fn follow(hub: Weak<Inner>, mut tail: Tail) {
    let mut idle_since: Option<Instant> = None;
    let mut check = tokio::time::interval(Duration::from_secs(1));
    loop {
        // Both are safe to cancel: the tail reads on from where it stopped.
        let read = tokio::select! {
            read = tail.next() => read,
            _ = check.tick() => {
                let Some(hub) = hub.upgrade() else { return };
                let mut tailing = hub.tailing.lock().await;
                if !hub.watchers().is_empty() {
                    idle_since = None;
                } else if idle_since.get_or_insert_with(Instant::now).elapsed() >= IDLE {
                    *tailing = false;
                    return;
                }
                continue;
            }
        };
        let Some(hub) = hub.upgrade() else { return };
        match read {
            Ok(Some(Tailed::Event(payload))) => hub.route(&payload),
            Ok(Some(Tailed::Missed)) => hub.all_missed(),
            Ok(None) => {
                *hub.tailing.lock().await = false;
                return;
            }
            Err(e) => {
                // The tail resumes where it stopped once the bus answers again.
                tracing::warn!(error = %e, stream = hub.stream, "cannot read the stream for watches; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// What a watcher learns next.
#[derive(Debug)]
pub enum Seen {
    /// An event routed to its key.
    Event(Arc<Event>),
    /// Events went by unseen: look up what changed since what was last seen.
    Missed,
}

/// One client's watch of a key; dropping it ends the watch.
pub struct Watcher {
    events: mpsc::Receiver<Arc<Event>>,
    missed: Arc<AtomicBool>,
    wake: Arc<Notify>,
    key: (String, String),
    id: u64,
    hub: Weak<Inner>,
}

impl Watcher {
    /// The next event of its key, or word that some were missed; waits until there is one.
    /// `None` once the service is gone.
    pub async fn next(&mut self) -> Option<Seen> {
        loop {
            if self.missed.swap(false, Ordering::AcqRel) {
                return Some(Seen::Missed);
            }
            tokio::select! {
                biased;
                _ = self.wake.notified() => {}
                event = self.events.recv() => return event.map(Seen::Event),
            }
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        if let Some(hub) = self.hub.upgrade() {
            let mut watchers = hub.watchers();
            if let Some(slots) = watchers.get_mut(&self.key) {
                slots.retain(|s| s.id != self.id);
                if slots.is_empty() {
                    watchers.remove(&self.key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(tenant: &str, subject: &str) -> Vec<u8> {
        Event {
            id: uuid::Uuid::now_v7().to_string(),
            tenant: tenant.into(),
            subject: subject.into(),
            ..Default::default()
        }
        .encode_to_vec()
    }

    fn by_subject(e: &Event) -> Option<String> {
        Some(e.subject.clone()).filter(|s| !s.is_empty())
    }

    async fn next_subject(w: &mut Watcher) -> String {
        match tokio::time::timeout(Duration::from_secs(10), w.next()).await {
            Ok(Some(Seen::Event(e))) => e.subject.clone(),
            Ok(Some(Seen::Missed)) => "?".into(),
            other => panic!("no event: {:?}", other.is_ok()),
        }
    }

    #[tokio::test]
    async fn each_watcher_gets_the_events_of_its_key_and_tenant() {
        let bus = Bus::memory();
        let hub = Hub::new(bus.clone(), "s", by_subject);
        let mut a = hub.watch("t1", "a").await.expect("watch");
        let mut a2 = hub.watch("t1", "a").await.expect("watch");
        let mut b = hub.watch("t1", "b").await.expect("watch");
        let published = [
            event("t2", "a"),
            event("t1", "b"),
            event("t1", ""),
            event("t1", "a"),
        ];
        let published: Vec<&[u8]> = published.iter().map(Vec::as_slice).collect();
        bus.publish("s", &published).await.expect("publish");
        assert_eq!(next_subject(&mut a).await, "a");
        assert_eq!(next_subject(&mut a2).await, "a");
        assert_eq!(next_subject(&mut b).await, "b");
        // Another tenant's "a" reached nobody.
        assert!(
            tokio::time::timeout(Duration::from_millis(100), a.next())
                .await
                .is_err()
        );
        drop(a2);
        assert_eq!(
            hub.0
                .watchers()
                .get(&("t1".into(), "a".into()))
                .map(Vec::len),
            Some(1)
        );
    }

    #[tokio::test]
    async fn a_watcher_that_falls_behind_is_told_it_missed_events() {
        let bus = Bus::memory();
        let hub = Hub::new(bus.clone(), "s", by_subject);
        let mut w = hub.watch("t1", "a").await.expect("watch");
        let many: Vec<Vec<u8>> = (0..QUEUE + 10).map(|_| event("t1", "a")).collect();
        let many: Vec<&[u8]> = many.iter().map(Vec::as_slice).collect();
        bus.publish("s", &many).await.expect("publish");
        // Give the hub the time to route them all.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(next_subject(&mut w).await, "?");
        // What was queued still comes, and nothing is missed twice.
        assert_eq!(next_subject(&mut w).await, "a");
    }
}
