//! Resources changed by optimistic writes: each change is made over the version it was read at
//! and bumps it, the etag follows from the version, and a change over a version that moved on
//! is refused (ABORTED) instead of lost. A service's store implements [`Versioned`] for a
//! resource; its use cases load the resource locked, refuse a stale etag with [`check_etag`]
//! and [`save`] the change.

use futures::future::BoxFuture;
use prost::Message;
use rapport_runtime::{Error, Result, clock::Micros, storage::Tx, write::Write};

/// A resource with a version that every change bumps.
pub trait Versioned: Clone + PartialEq + Send + Sync {
    /// Its name, e.g. `campaigns/{id}`.
    fn name(&self) -> String;
    /// What its etag is made of besides the version: its id's bytes.
    fn etag_key(&self) -> Vec<u8>;
    /// The version it was stored at.
    fn version(&self) -> i64;
    /// Stamps a change with its version and time.
    fn stamp(&mut self, version: i64, now: Micros);
    /// Rewrites the stored resource in `tx` if its stored version is still `expected`;
    /// whether it was. (Boxed, so that a handler awaiting [`save`] stays `Send`.)
    fn rewrite<'a>(
        &'a self,
        tx: &'a mut Tx,
        tenant: &'a str,
        expected: i64,
    ) -> BoxFuture<'a, Result<bool>>;
}

/// The resource's etag.
pub fn etag<R: Versioned>(r: &R) -> String {
    crate::names::etag(r.etag_key(), r.version())
}

/// ABORTED unless `given` is empty (no check asked) or `current`'s etag.
pub fn check_etag<R: Versioned>(given: &str, current: &R) -> Result<()> {
    crate::names::check_etag(given, &etag(current), &current.name())
}

/// Saves `next`, a change of `current` read (locked) in `w`, and commits `w` answering
/// `answer` of what is stored: a change that changes nothing writes nothing; otherwise `next`
/// takes the next version and the write's time, is stored over `current`'s version (ABORTED
/// when a concurrent change won), and `announce` emits its event with the answer.
pub async fn save<R: Versioned, T: Message + Default>(
    mut w: Write,
    current: &R,
    mut next: R,
    answer: impl FnOnce(&R) -> T,
    announce: impl FnOnce(&mut Write, &R, &T),
) -> Result<T> {
    if next == *current {
        return w.commit(answer(current)).await;
    }
    next.stamp(current.version() + 1, w.now());
    let tenant = w.tenant().to_owned();
    if !next.rewrite(w.tx(), &tenant, current.version()).await? {
        return Err(Error::stale_etag(&next.name()));
    }
    let out = answer(&next);
    announce(&mut w, &next, &out);
    w.commit(out).await
}
