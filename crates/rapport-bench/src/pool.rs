//! Ids to read, drawn the way a CRM is read: most reads go to a hot fifth of the customers
//! (those being worked on this week), the rest anywhere. The pool notes which ids were read,
//! so the report can say how many reads were an id's first (a cache miss, whatever the cache).

use std::sync::{
    Arc,
    atomic::{AtomicBool, AtomicU64, Ordering},
};

use rand::{Rng, SeedableRng, rngs::SmallRng};

/// Most ids a read scenario draws from.
pub const MAX_IDS: usize = 10_000;
/// Share of reads that go to the hot ids.
const HOT_SHARE: f64 = 0.8;
/// Share of the ids that are hot.
const HOT_FRACTION: f64 = 0.2;

struct Shared {
    ids: Vec<String>,
    seen: Vec<AtomicBool>,
    first_reads: AtomicU64,
    reads: AtomicU64,
}

/// A worker's view of a shared pool of ids.
pub struct IdPool {
    shared: Arc<Shared>,
    rng: SmallRng,
}

impl IdPool {
    /// A pool of the last `MAX_IDS` of `ids`, which must not be empty.
    pub fn new(mut ids: Vec<String>) -> IdPool {
        if ids.len() > MAX_IDS {
            ids.drain(..ids.len() - MAX_IDS);
        }
        let seen = ids.iter().map(|_| AtomicBool::new(false)).collect();
        IdPool {
            shared: Arc::new(Shared {
                ids,
                seen,
                first_reads: AtomicU64::new(0),
                reads: AtomicU64::new(0),
            }),
            rng: SmallRng::seed_from_u64(7),
        }
    }

    /// Another worker's view of the same pool.
    pub fn worker(&self, seed: u64) -> IdPool {
        IdPool {
            shared: self.shared.clone(),
            rng: SmallRng::seed_from_u64(seed),
        }
    }

    /// How many ids the pool holds.
    pub fn len(&self) -> usize {
        self.shared.ids.len()
    }

    /// The next id to read.
    pub fn next_id(&mut self) -> &str {
        let n = self.shared.ids.len();
        let hot = ((n as f64 * HOT_FRACTION) as usize).max(1);
        let i = if self.rng.random_bool(HOT_SHARE) {
            self.rng.random_range(0..hot)
        } else {
            self.rng.random_range(0..n)
        };
        self.shared.reads.fetch_add(1, Ordering::Relaxed);
        if !self.shared.seen[i].swap(true, Ordering::Relaxed) {
            self.shared.first_reads.fetch_add(1, Ordering::Relaxed);
        }
        &self.shared.ids[i]
    }

    /// (reads that were an id's first, all reads), warm-up included.
    pub fn first_reads(&self) -> (u64, u64) {
        (
            self.shared.first_reads.load(Ordering::Relaxed),
            self.shared.reads.load(Ordering::Relaxed),
        )
    }
}

/// One worker reading resources by name over gRPC: `get` asks for a name drawn from the pool
/// and answers the name it got back, which must be the one asked for.
pub struct ReadByName<G> {
    get: G,
    pool: IdPool,
}

impl<G, F> ReadByName<G>
where
    G: FnMut(String) -> F + Send + 'static,
    F: Future<Output = Result<String, tonic::Status>> + Send,
{
    /// A worker reading names from `pool` with `get`.
    pub fn new(pool: IdPool, get: G) -> Self {
        Self { get, pool }
    }

    async fn read(&mut self) -> Result<(), String> {
        let name = self.pool.next_id().to_owned();
        let got = (self.get)(name.clone())
            .await
            .map_err(|s| format!("{:?}: {}", s.code(), s.message()))?;
        if got != name {
            return Err(format!("asked for {name}, got {got}"));
        }
        Ok(())
    }
}

impl<G, F> crate::load::Op for ReadByName<G>
where
    G: FnMut(String) -> F + Send + 'static,
    F: Future<Output = Result<String, tonic::Status>> + Send,
{
    fn call(&mut self) -> impl Future<Output = Result<(), String>> + Send {
        self.read()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_favour_the_hot_ids_and_count_first_reads() {
        let ids: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
        let mut pool = IdPool::new(ids).worker(1);
        let mut hot = 0;
        for _ in 0..10_000 {
            if pool.next_id().parse::<usize>().unwrap() < 200 {
                hot += 1;
            }
        }
        assert!((8_000..9_000).contains(&hot), "{hot}");
        let (first, all) = pool.first_reads();
        assert_eq!(all, 10_000);
        // Every hot id, and about 1 - e^-2 of the cold ones (2 reads each on average).
        assert!((850..=950).contains(&first), "{first}");
    }
}
