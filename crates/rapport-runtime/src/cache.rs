//! The read-through cache: in-process (moka) in standalone mode, Redis in distributed mode.
//!
//! The cache is never the source of truth: every failure is a miss or a no-op, so a cache
//! outage slows reads and never fails them. An invalidation Redis did not take (it was down, or
//! cut off) is not forgotten: the process remembers the key, serves no cached value while it
//! holds such keys, and deletes them first thing once Redis answers again (at the latest with
//! the next readiness check, every few seconds). Only a process that dies meanwhile leaves a
//! stale entry behind, for at most its TTL, which is why callers keep TTLs short.
//!
//! Small values read by nearly every request (a tenant's settings) can also be kept in this
//! process in front of Redis ([`Cache::read_through_near`]) for at most [`NEAR_TTL`]: this
//! process's own invalidations take effect at once, another replica's within [`NEAR_TTL`].

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use moka::Expiry;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, FromRedisValue};
use tokio::sync::OnceCell;

use crate::error::{Error, Result};

/// Time allowed to open a TCP connection to Redis.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(200);
/// Time allowed for one Redis reply.
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(200);
/// Upper bound on a whole cache call (connect + reply), whatever the client does internally.
const CALL_TIMEOUT: Duration = Duration::from_millis(400);
/// How long Redis is skipped after a failure, so a dead Redis costs one timeout per window.
const OPEN_CIRCUIT: Duration = Duration::from_secs(2);
/// At most one warning per this interval; an outage would otherwise log on every request.
const WARN_EVERY: Duration = Duration::from_secs(5);

/// How long a value read through [`Cache::read_through_near`] is kept in this process: the
/// longest another replica's change to it goes unseen here. It saved every write a Redis round
/// trip for its tenant's settings.
pub const NEAR_TTL: Duration = Duration::from_secs(1);

/// Missed invalidations a process remembers at most.
const MAX_PENDING: usize = 100_000;
/// Missed invalidations deleted per command when Redis is back.
const FLUSH_CHUNK: usize = 1_000;

/// Most values kept in this process in front of Redis.
const NEAR_ENTRIES: u64 = 10_000;

/// A cache of byte values with a TTL per entry. Cloning is cheap and shares the cache.
#[derive(Clone)]
pub struct Cache {
    backend: Backend,
    /// In front of Redis, for [`Cache::read_through_near`]; the other backends need none.
    near: Option<moka::future::Cache<String, Entry>>,
    /// Bumped by every invalidation in this process, so a value loaded before one is not
    /// cached after it (see [`Cache::fill`]).
    invalidations: Arc<AtomicU64>,
}

#[derive(Clone)]
enum Backend {
    Memory(moka::future::Cache<String, Entry>),
    Redis(Arc<RedisCache>),
    Disabled,
}

impl fmt::Debug for Cache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The Redis URL may hold a password, so only the kind is shown.
        let kind = match &self.backend {
            Backend::Memory(_) => "memory",
            Backend::Redis(_) => "redis",
            Backend::Disabled => "disabled",
        };
        f.debug_struct("Cache").field("backend", &kind).finish()
    }
}

/// How long a tenant's settings stay cached: short, so a replica whose invalidation was lost
/// (a cache outage) converges quickly.
pub const SETTINGS_TTL: Duration = Duration::from_secs(30);

/// The key of a cached resource: `{service}:{tenant}:{kind}:{id}`.
///
/// `%` and `:` inside the parts are escaped so two different (tenant, id) pairs can never
/// produce the same key, which would leak one tenant's data to another.
pub fn key(service: &str, tenant: &str, kind: &str, id: &str) -> String {
    let mut out = String::with_capacity(service.len() + tenant.len() + kind.len() + id.len() + 3);
    for (i, part) in [service, tenant, kind, id].into_iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        for c in part.chars() {
            match c {
                '%' => out.push_str("%25"),
                ':' => out.push_str("%3A"),
                c => out.push(c),
            }
        }
    }
    out
}

/// The key of a tenant's settings document of `service`.
pub fn settings_key(service: &str, tenant: &str) -> String {
    key(service, tenant, "settings", "settings")
}

impl Cache {
    /// An in-process cache holding at most `max_entries` entries (least valuable evicted first).
    pub fn memory(max_entries: u64) -> Self {
        Self {
            backend: Backend::Memory(in_process(max_entries)),
            near: None,
            invalidations: Arc::default(),
        }
    }

    /// A Redis cache at `url` (`redis://[:password@]host:port[/db]`); every key is prefixed with
    /// `key_prefix` to keep deployments and test runs apart.
    ///
    /// Connects lazily, so a service starts even while Redis is down; only a malformed URL is an
    /// error. When called inside a Tokio runtime, a connection attempt starts in the background
    /// right away so the first request does not pay for it.
    pub fn redis(url: &str, key_prefix: &str) -> Result<Cache> {
        let client = redis::Client::open(url)
            .map_err(|e| Error::invalid("redis_url", format!("is not a valid Redis URL: {e}")))?;
        let redis = Arc::new(RedisCache {
            client,
            prefix: key_prefix.to_owned(),
            connection: OnceCell::new(),
            started: Instant::now(),
            open_until_ms: AtomicU64::new(0),
            last_warn_ms: AtomicU64::new(0),
            suppressed_warnings: AtomicU64::new(0),
            pending: Default::default(),
            has_pending: AtomicBool::new(false),
        });
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let warm = Arc::clone(&redis);
            runtime.spawn(async move {
                warm.query::<()>("connect", &redis::cmd("PING")).await;
            });
        }
        Ok(Self {
            backend: Backend::Redis(redis),
            near: Some(in_process(NEAR_ENTRIES)),
            invalidations: Arc::default(),
        })
    }

    /// A cache that holds nothing: every get misses.
    pub fn disabled() -> Self {
        Self {
            backend: Backend::Disabled,
            near: None,
            invalidations: Arc::default(),
        }
    }

    /// The cached value under `key`, or `None` on a miss or when the cache is unreachable.
    pub async fn get(&self, key: &str) -> Option<Vec<u8>> {
        match &self.backend {
            Backend::Memory(cache) => cache.get(key).await.map(|e| e.value.to_vec()),
            Backend::Redis(redis) => {
                // What Redis holds may be stale until the invalidations it missed are done.
                if !redis.flush_pending().await {
                    return None;
                }
                let cmd = redis::cmd("GET").arg(redis.key(key)).clone();
                redis.query::<Option<Vec<u8>>>("get", &cmd).await.flatten()
            }
            Backend::Disabled => None,
        }
    }

    /// Caches `value` under `key` for `ttl`; a zero `ttl` caches nothing.
    pub async fn set(&self, key: &str, value: &[u8], ttl: Duration) {
        if ttl.is_zero() {
            return;
        }
        match &self.backend {
            Backend::Memory(cache) => {
                cache
                    .insert(
                        key.to_owned(),
                        Entry {
                            value: Arc::from(value),
                            ttl,
                        },
                    )
                    .await;
            }
            Backend::Redis(redis) => {
                // PX takes whole milliseconds; round up so a sub-millisecond TTL still caches.
                let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
                let cmd = redis::cmd("SET")
                    .arg(redis.key(key))
                    .arg(value)
                    .arg("PX")
                    .arg(ms)
                    .clone();
                if redis.query::<()>("set", &cmd).await.is_some() {
                    // Overwritten with a value just read from the database: nothing stale left.
                    redis.forget_pending(key);
                }
            }
            Backend::Disabled => {}
        }
    }

    /// `key`'s value, read through the cache: the cached JSON when there is one, otherwise what
    /// `load` returns, cached for `ttl`. A value that does not decode counts as a miss, so a
    /// changed shape after an upgrade heals itself.
    pub async fn read_through<T, F>(&self, key: &str, ttl: Duration, load: F) -> Result<T>
    where
        T: serde::Serialize + serde::de::DeserializeOwned,
        F: std::future::Future<Output = Result<T>>,
    {
        if let Some(v) = self
            .get(key)
            .await
            .and_then(|b| serde_json::from_slice(&b).ok())
        {
            return Ok(v);
        }
        let token = self.fill_token();
        let v = load.await?;
        if let Ok(bytes) = serde_json::to_vec(&v) {
            self.fill(key, &bytes, ttl, token).await;
        }
        Ok(v)
    }

    /// As [`Cache::read_through`], also keeping the value in this process for at most
    /// [`NEAR_TTL`] when the cache is Redis.
    pub async fn read_through_near<T, F>(&self, key: &str, ttl: Duration, load: F) -> Result<T>
    where
        T: serde::Serialize + serde::de::DeserializeOwned,
        F: std::future::Future<Output = Result<T>>,
    {
        let Some(near) = &self.near else {
            return self.read_through(key, ttl, load).await;
        };
        if let Some(v) = near
            .get(key)
            .await
            .and_then(|e| serde_json::from_slice(&e.value).ok())
        {
            return Ok(v);
        }
        let token = self.fill_token();
        let v = self.read_through(key, ttl, load).await?;
        if self.fill_token() != token {
            return Ok(v);
        }
        if let Ok(bytes) = serde_json::to_vec(&v) {
            let entry = Entry {
                value: Arc::from(bytes),
                ttl: ttl.min(NEAR_TTL),
            };
            near.insert(key.to_owned(), entry).await;
        }
        Ok(v)
    }

    /// What a read that misses takes before it loads from the source of truth, to hand to
    /// [`Cache::fill`] afterwards.
    pub fn fill_token(&self) -> u64 {
        self.invalidations.load(Ordering::Acquire)
    }

    /// Caches `value`, loaded after `token` was taken, unless an invalidation happened in this
    /// process since: the load may then have read what that change replaced, and caching it
    /// after the invalidation would serve it until its TTL. Skipping costs one more miss.
    pub async fn fill(&self, key: &str, value: &[u8], ttl: Duration, token: u64) {
        if self.fill_token() == token {
            self.set(key, value, ttl).await;
        }
    }

    /// Removes `key`.
    pub async fn delete(&self, key: &str) {
        self.invalidations.fetch_add(1, Ordering::AcqRel);
        if let Some(near) = &self.near {
            near.invalidate(key).await;
        }
        match &self.backend {
            Backend::Memory(cache) => cache.invalidate(key).await,
            Backend::Redis(redis) => redis.delete(&[key.to_owned()]).await,
            Backend::Disabled => {}
        }
    }

    /// Removes every key in `keys`, in one round trip for Redis.
    pub async fn delete_many(&self, keys: &[String]) {
        if keys.is_empty() {
            return;
        }
        self.invalidations.fetch_add(1, Ordering::AcqRel);
        if let Some(near) = &self.near {
            for key in keys {
                near.invalidate(key).await;
            }
        }
        match &self.backend {
            Backend::Memory(cache) => {
                for key in keys {
                    cache.invalidate(key).await;
                }
            }
            Backend::Redis(redis) => redis.delete(keys).await,
            Backend::Disabled => {}
        }
    }

    /// Whether the cache answers. Always true for the in-process cache.
    pub async fn healthy(&self) -> bool {
        match &self.backend {
            Backend::Memory(_) | Backend::Disabled => true,
            Backend::Redis(redis) => redis.ping().await,
        }
    }

    /// Deletes what Redis missed deleting while it was away, so stale entries go as soon as it
    /// is back even when no read comes to find them; whether none is left. Reads do it too.
    pub async fn redo_missed_invalidations(&self) -> bool {
        match &self.backend {
            Backend::Memory(_) | Backend::Disabled => true,
            Backend::Redis(redis) => redis.flush_pending().await,
        }
    }
}

/// A cached value and the TTL it was set with.
#[derive(Clone)]
struct Entry {
    value: Arc<[u8]>,
    ttl: Duration,
}

/// moka's per-entry expiry: each entry lives for the TTL given to its own `set`. Chosen over a
/// fixed cache-wide TTL plus a stored deadline because expired entries then stop counting
/// against capacity instead of lingering until evicted.
struct PerEntryTtl;

impl Expiry<String, Entry> for PerEntryTtl {
    fn expire_after_create(&self, _: &String, entry: &Entry, _: Instant) -> Option<Duration> {
        Some(entry.ttl)
    }

    fn expire_after_update(
        &self,
        _: &String,
        entry: &Entry,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(entry.ttl)
    }
}

struct RedisCache {
    client: redis::Client,
    prefix: String,
    /// Established on first use; stays empty after a failed attempt so the next one retries.
    /// Once set, the manager reconnects by itself after Redis comes back.
    connection: OnceCell<ConnectionManager>,
    /// Origin of the millisecond timestamps below.
    started: Instant,
    /// Circuit breaker: Redis is skipped until this time (ms since `started`); 0 = closed.
    open_until_ms: AtomicU64,
    /// Last warning (ms since `started`, plus one so 0 means never).
    last_warn_ms: AtomicU64,
    suppressed_warnings: AtomicU64,
    /// Keys whose invalidation Redis did not take, to delete once it answers again.
    pending: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Whether `pending` holds any key: read by every GET, so the common case takes no lock.
    has_pending: AtomicBool,
}

impl RedisCache {
    /// Deletes `keys`, remembering them when Redis does not take the delete.
    async fn delete(&self, keys: &[String]) {
        let mut cmd = redis::cmd("DEL");
        for key in keys {
            cmd.arg(self.key(key));
        }
        if self.query::<()>("delete", &cmd).await.is_none() {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            for key in keys {
                if pending.len() >= MAX_PENDING {
                    tracing::warn!(
                        "too many invalidations missed while Redis was away; some cached entries \
                         may be served stale until they expire"
                    );
                    break;
                }
                pending.insert(key.clone());
            }
            self.has_pending.store(true, Ordering::Release);
        }
    }

    /// Deletes the keys whose invalidation Redis missed; whether none is left.
    async fn flush_pending(&self) -> bool {
        if !self.has_pending.load(Ordering::Acquire) {
            return true;
        }
        let keys: Vec<String> = {
            let pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            pending.iter().take(FLUSH_CHUNK).cloned().collect()
        };
        if !keys.is_empty() {
            let mut cmd = redis::cmd("DEL");
            for key in &keys {
                cmd.arg(self.key(key));
            }
            if self.query::<()>("delete", &cmd).await.is_none() {
                return false;
            }
        }
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        for key in &keys {
            pending.remove(key);
        }
        let done = pending.is_empty();
        if done {
            self.has_pending.store(false, Ordering::Release);
            tracing::info!("the invalidations Redis missed are done");
        }
        done
    }

    /// Drops `key` from the missed invalidations (it was overwritten with a fresh value).
    fn forget_pending(&self, key: &str) {
        if self.has_pending.load(Ordering::Acquire) {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            pending.remove(key);
            if pending.is_empty() {
                self.has_pending.store(false, Ordering::Release);
            }
        }
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether a call may go to Redis now. When the open window has passed, exactly one caller
    /// gets through to probe (its window is extended meanwhile); the others keep skipping.
    fn allow(&self) -> bool {
        let until = self.open_until_ms.load(Ordering::Acquire);
        if until == 0 {
            return true;
        }
        let now = self.now_ms();
        now >= until
            && self
                .open_until_ms
                .compare_exchange(until, window_end(now), Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
    }

    fn succeeded(&self) {
        // Checked first so the healthy path never writes to the shared cache line.
        if self.open_until_ms.load(Ordering::Acquire) != 0
            && self.open_until_ms.swap(0, Ordering::AcqRel) != 0
        {
            tracing::info!("the cache (Redis) answers again");
        }
    }

    fn failed(&self, op: &'static str, error: &dyn fmt::Display) {
        let now = self.now_ms();
        self.open_until_ms.store(window_end(now), Ordering::Release);
        let last = self.last_warn_ms.load(Ordering::Acquire);
        let due = last == 0 || now.saturating_sub(last - 1) >= millis(WARN_EVERY);
        if due
            && self
                .last_warn_ms
                .compare_exchange(last, now + 1, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            let suppressed = self.suppressed_warnings.swap(0, Ordering::AcqRel);
            tracing::warn!(
                op,
                %error,
                suppressed,
                skip_ms = millis(OPEN_CIRCUIT),
                "the cache (Redis) failed; serving without it"
            );
        } else {
            self.suppressed_warnings.fetch_add(1, Ordering::Relaxed);
        }
    }

    async fn connection(&self) -> redis::RedisResult<ConnectionManager> {
        self.connection
            .get_or_try_init(|| async {
                // Callers queued behind a failed attempt give up at once instead of each
                // paying for another connection timeout.
                if self.open_until_ms.load(Ordering::Acquire) > self.now_ms() {
                    return Err(redis::RedisError::from((
                        redis::ErrorKind::IoError,
                        "Redis is being skipped after a recent failure",
                    )));
                }
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(CONNECT_TIMEOUT)
                    .set_response_timeout(RESPONSE_TIMEOUT)
                    // Retrying is the circuit breaker's job; inside a call it would only
                    // stretch the timeout.
                    .set_number_of_retries(0);
                ConnectionManager::new_with_config(self.client.clone(), config).await
            })
            .await
            .cloned()
    }

    async fn call<T: FromRedisValue>(&self, op: &'static str, cmd: &Cmd) -> Option<T> {
        let result = tokio::time::timeout(CALL_TIMEOUT, async {
            let mut connection = self.connection().await?;
            cmd.query_async::<T>(&mut connection).await
        })
        .await;
        match result {
            Ok(Ok(value)) => {
                self.succeeded();
                Some(value)
            }
            Ok(Err(e)) => {
                self.failed(op, &e);
                None
            }
            Err(_) => {
                self.failed(op, &"timed out");
                None
            }
        }
    }

    /// Runs `cmd` unless the circuit is open; `None` on any failure.
    async fn query<T: FromRedisValue>(&self, op: &'static str, cmd: &Cmd) -> Option<T> {
        if !self.allow() {
            return None;
        }
        self.call(op, cmd).await
    }

    /// PING, ignoring the circuit so readiness reports the current state, not the last error.
    async fn ping(&self) -> bool {
        self.call::<String>("ping", &redis::cmd("PING"))
            .await
            .is_some()
    }
}

fn window_end(now_ms: u64) -> u64 {
    now_ms.saturating_add(millis(OPEN_CIRCUIT)).max(1)
}

/// An in-process cache of at most `max_entries` entries, each with its own TTL.
fn in_process(max_entries: u64) -> moka::future::Cache<String, Entry> {
    moka::future::Cache::builder()
        .max_capacity(max_entries)
        .expire_after(PerEntryTtl)
        .build()
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_load_that_raced_an_invalidation_is_not_cached() {
        let cache = Cache::memory(100);
        let ttl = Duration::from_secs(60);
        // A read misses and loads the old value; meanwhile a write commits and invalidates.
        let token = cache.fill_token();
        cache.delete("k").await;
        cache.fill("k", b"old", ttl, token).await;
        assert_eq!(
            cache.get("k").await,
            None,
            "the old value must not be cached"
        );
        // A read after the invalidation caches what it loaded.
        let token = cache.fill_token();
        cache.fill("k", b"new", ttl, token).await;
        assert_eq!(cache.get("k").await.as_deref(), Some(&b"new"[..]));
    }

    fn redis_url(test: &str) -> Option<String> {
        let url = std::env::var("RAPPORT_TEST_REDIS_URL")
            .ok()
            .filter(|u| !u.is_empty());
        if url.is_none() {
            println!("skipped {test}: RAPPORT_TEST_REDIS_URL is not set");
        }
        url
    }

    fn unique_prefix() -> String {
        format!("rapport-test:{:016x}:", rand::random::<u64>())
    }

    async fn round_trip(cache: &Cache) {
        let ttl = Duration::from_secs(60);
        assert_eq!(cache.get("a").await, None);
        cache.set("a", b"one", ttl).await;
        cache.set("b", b"two", ttl).await;
        cache.set("c", b"three", ttl).await;
        assert_eq!(cache.get("a").await.as_deref(), Some(&b"one"[..]));
        cache.set("a", b"uno", ttl).await;
        assert_eq!(cache.get("a").await.as_deref(), Some(&b"uno"[..]));
        cache.delete("a").await;
        assert_eq!(cache.get("a").await, None);
        cache.delete_many(&["b".to_owned(), "c".to_owned()]).await;
        assert_eq!(cache.get("b").await, None);
        assert_eq!(cache.get("c").await, None);

        cache.set("short", b"x", Duration::from_millis(50)).await;
        assert!(cache.get("short").await.is_some());
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(cache.get("short").await, None);
        assert!(cache.healthy().await);
    }

    #[test]
    fn keys_cannot_collide_across_tenants() {
        assert_eq!(
            key("customers", "t1", "customer", "c1"),
            "customers:t1:customer:c1"
        );
        assert_ne!(
            key("customers", "t1:customer", "customer", "c1"),
            key("customers", "t1", "customer", "customer:c1")
        );
        assert_eq!(key("s", "a%3A", "k", "i"), "s:a%253A:k:i");
    }

    #[tokio::test]
    async fn memory_get_set_delete_expiry() {
        round_trip(&Cache::memory(1_000)).await;
    }

    #[tokio::test]
    async fn memory_entries_have_their_own_ttl() {
        let cache = Cache::memory(100);
        cache.set("long", b"l", Duration::from_secs(60)).await;
        cache.set("short", b"s", Duration::from_millis(30)).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(cache.get("long").await.is_some());
        assert_eq!(cache.get("short").await, None);
        cache.set("zero", b"z", Duration::ZERO).await;
        assert_eq!(cache.get("zero").await, None);
    }

    #[tokio::test]
    async fn disabled_always_misses() {
        let cache = Cache::disabled();
        cache.set("a", b"1", Duration::from_secs(60)).await;
        assert_eq!(cache.get("a").await, None);
        assert!(cache.healthy().await);
    }

    #[tokio::test]
    async fn redis_round_trip() {
        let Some(url) = redis_url("cache::tests::redis_round_trip") else {
            return;
        };
        let cache = Cache::redis(&url, &unique_prefix()).expect("redis cache");
        round_trip(&cache).await;
    }

    #[tokio::test]
    async fn redis_prefixes_isolate() {
        let Some(url) = redis_url("cache::tests::redis_prefixes_isolate") else {
            return;
        };
        let one = Cache::redis(&url, &unique_prefix()).expect("redis cache");
        let two = Cache::redis(&url, &unique_prefix()).expect("redis cache");
        one.set("k", b"1", Duration::from_secs(60)).await;
        assert_eq!(two.get("k").await, None);
        one.delete("k").await;
    }

    #[tokio::test]
    async fn redis_near_values_are_kept_here_until_deleted_here_or_a_near_ttl_passes() {
        let Some(url) = redis_url("cache::tests::redis_near_values_are_kept_here") else {
            return;
        };
        let prefix = unique_prefix();
        let here = Cache::redis(&url, &prefix).expect("redis cache");
        let elsewhere = Cache::redis(&url, &prefix).expect("redis cache");
        let ttl = Duration::from_secs(60);
        let read = |cache: &Cache, loaded: u32| {
            let cache = cache.clone();
            async move {
                cache
                    .read_through_near("settings", ttl, async move { Ok(loaded) })
                    .await
                    .expect("read")
            }
        };
        assert_eq!(read(&here, 1).await, 1, "a miss loads");
        assert_eq!(read(&elsewhere, 2).await, 1, "then Redis answers");
        // Another replica's change is not seen here until the near copy expires...
        elsewhere.delete("settings").await;
        assert_eq!(read(&elsewhere, 3).await, 3);
        assert_eq!(read(&here, 4).await, 1, "the near copy answers");
        tokio::time::sleep(NEAR_TTL + Duration::from_millis(100)).await;
        assert_eq!(
            read(&here, 5).await,
            3,
            "after NEAR_TTL, Redis answers again"
        );
        // ...while this process's own deletes take effect at once.
        here.delete("settings").await;
        assert_eq!(read(&here, 6).await, 6);
        here.delete_many(&["settings".to_owned()]).await;
        assert_eq!(read(&here, 7).await, 7);
        here.delete("settings").await;
    }

    #[tokio::test]
    async fn memory_read_through_near_is_read_through() {
        let cache = Cache::memory(10);
        let ttl = Duration::from_secs(60);
        let v: u32 = cache
            .read_through_near("k", ttl, async { Ok(1) })
            .await
            .expect("read");
        assert_eq!(v, 1);
        cache.delete("k").await;
        let v: u32 = cache
            .read_through_near("k", ttl, async { Ok(2) })
            .await
            .expect("read");
        assert_eq!(v, 2);
    }

    #[test]
    fn malformed_url_is_an_error() {
        assert!(Cache::redis("not a url", "p:").is_err());
    }

    #[tokio::test]
    async fn dead_redis_misses_quickly_and_never_fails() {
        let cache = Cache::redis("redis://127.0.0.1:1/", &unique_prefix()).expect("lazy connect");
        for _ in 0..5 {
            let started = Instant::now();
            assert_eq!(cache.get("k").await, None);
            cache.set("k", b"v", Duration::from_secs(60)).await;
            cache.delete("k").await;
            cache.delete_many(&["k".to_owned()]).await;
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "took {:?}",
                started.elapsed()
            );
        }
        let started = Instant::now();
        assert!(!cache.healthy().await);
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[tokio::test]
    async fn hung_redis_costs_one_timeout_per_window() {
        // Accepts connections and never answers, like a Redis stuck behind a full disk.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let cache = Cache::redis(&format!("redis://{addr}/"), &unique_prefix()).expect("cache");
        let started = Instant::now();
        assert_eq!(cache.get("k").await, None);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "took {:?}",
            started.elapsed()
        );
        let started = Instant::now();
        for _ in 0..100 {
            assert_eq!(cache.get("k").await, None);
            cache.set("k", b"v", Duration::from_secs(60)).await;
        }
        assert!(
            started.elapsed() < Duration::from_millis(100),
            "the open circuit should skip Redis, took {:?}",
            started.elapsed()
        );
    }

    #[test]
    fn open_circuit_skips_redis() {
        // Built outside a runtime so no background connection attempt races the probes below.
        let cache = Cache::redis("redis://127.0.0.1:1/", &unique_prefix()).expect("lazy connect");
        let Backend::Redis(redis) = &cache.backend else {
            unreachable!("a Redis cache");
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            assert!(redis.allow(), "the circuit starts closed");
            assert_eq!(cache.get("k").await, None);
            assert!(!redis.allow(), "a failure opens the circuit");
            // Once the window has passed, one caller probes and the rest keep skipping.
            redis.open_until_ms.store(1, Ordering::Release);
            tokio::time::sleep(Duration::from_millis(5)).await;
            assert!(redis.allow());
            assert!(!redis.allow());
            redis.succeeded();
            assert!(redis.allow());
        });
    }
}
