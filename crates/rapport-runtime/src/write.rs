//! One way to make a change: a write transaction that carries the request's idempotency key,
//! the events of the change (outbox) and the cache entries it makes stale. Committing stores
//! the response under the key, appends the events, commits, then drops the stale entries and
//! wakes the outbox relay, in that order, so a retry, an event and a cache read never see
//! half of a change.

use prost::{Message, Name};

use crate::{
    Error, Result,
    auth::Principal,
    clock::Micros,
    context::ServiceContext,
    events::{Event, NewEvent, SYSTEM, mark_processed, outbox},
    storage::{Idempotency, Statement, Tx, execute_all},
};

/// Deferred bind values that make a write run its deferred statements before the commit, so
/// a write of thousands of rows does not hold them all.
const FLUSH_BINDS: usize = 20_000;

/// Where a service's events go: its stream. An event's type and its payload's type come from
/// the payload message (`prost::Name`): `activity.added` with an `ActivityAdded` of
/// `rapport.customers.v1` is `rapport.customers.v1.activity.added`.
#[derive(Debug, Clone, Copy)]
pub struct EventSource {
    /// The stream, named after the service, e.g. `customers`.
    pub stream: &'static str,
}

/// The start of a write: either the stored answer of an earlier attempt with the same request
/// id, or a fresh transaction.
pub enum Begun<T> {
    /// The request ran before; this is what it answered.
    Replayed(T),
    /// A fresh write.
    Fresh(Box<Write>),
}

/// Whom a change is made for, as its events record it: the caller, and the trace of the
/// request it came in.
#[derive(Debug, Clone)]
pub struct Origin {
    actor: String,
    traceparent: Option<String>,
}

impl Origin {
    /// Caller `p`, in the current span's trace.
    pub fn of(p: &Principal) -> Self {
        Self {
            actor: p.subject.clone(),
            traceparent: crate::telemetry::current_traceparent(),
        }
    }
}

/// An event waiting for its transaction to commit.
struct Pending {
    /// Its stream: the write's own, or another the runtime owns (see [`Write::emit_at_once`]).
    stream: &'static str,
    /// Published straight after the commit as well as through the outbox.
    at_once: bool,
    origin: Origin,
    event_type: String,
    payload_type: String,
    subject: String,
    payload: Vec<u8>,
}

/// A change in progress.
pub struct Write {
    ctx: ServiceContext,
    tx: Tx,
    tenant: String,
    /// Whom the write is for, as its events record it unless they name another origin.
    origin: Origin,
    idempotency: Option<Idempotency>,
    source: EventSource,
    events: Vec<Pending>,
    stale: Vec<String>,
    deferred: Vec<Statement>,
    /// Revocations this write makes, dropped from the process's cache after the commit.
    revoked: Vec<(String, String)>,
    /// API keys this write changes, dropped from the process's cache after the commit.
    changed_keys: Vec<uuid::Uuid>,
}

impl ServiceContext {
    /// Starts a write on behalf of `p`. With a request id, requests with the same id take turns
    /// from here to their commit, and a repeated one gets the first answer back.
    pub async fn begin_write<T: Message + Default>(
        &self,
        p: &Principal,
        idempotency: Option<Idempotency>,
        source: EventSource,
    ) -> Result<Begun<T>> {
        self.begin_write_locking(p, idempotency, source, Vec::new())
            .await
    }

    /// As [`ServiceContext::begin_write`], also holding transaction-scoped locks on `locks`
    /// (see [`crate::storage::lock_keys`]) from the start: on PostgreSQL the transaction, its
    /// locks and the request id's lock take one round trip.
    pub async fn begin_write_locking<T: Message + Default>(
        &self,
        p: &Principal,
        idempotency: Option<Idempotency>,
        source: EventSource,
        mut locks: Vec<String>,
    ) -> Result<Begun<T>> {
        locks.extend(idempotency.as_ref().map(Idempotency::lock_key));
        let mut tx = self.db.begin_locked(locks).await?;
        if let Some(k) = &idempotency
            && let Some(done) = k.replay(&mut tx).await?
        {
            tx.rollback().await?;
            return Ok(Begun::Replayed(done));
        }
        Ok(Begun::Fresh(Box::new(Write::start(
            self.clone(),
            tx,
            p,
            idempotency,
            source,
        ))))
    }
}

impl ServiceContext {
    /// Starts the write of handler `consumer` applying `event`, in the event's tenant, made
    /// for the system: `None` when the handler applied the event before. Its effects, its own
    /// events and the record that the event was applied commit together, so an event redelivered
    /// after a crash is applied once.
    pub async fn consume(
        &self,
        consumer: &str,
        event: &Event,
        source: EventSource,
    ) -> Result<Option<Write>> {
        let mut tx = self.db.begin().await?;
        if !mark_processed(&mut tx, consumer, &event.id, self.clock.now()).await? {
            tx.rollback().await?;
            return Ok(None);
        }
        let system = Principal::system(&event.tenant, SYSTEM);
        Ok(Some(Write::start(self.clone(), tx, &system, None, source)))
    }

    /// Starts a write that takes no request id.
    pub async fn write(&self, p: &Principal, source: EventSource) -> Result<Write> {
        self.write_locking(p, source, Vec::new()).await
    }

    /// As [`ServiceContext::write`], holding transaction-scoped locks on `locks` from the start.
    pub async fn write_locking(
        &self,
        p: &Principal,
        source: EventSource,
        locks: Vec<String>,
    ) -> Result<Write> {
        match self
            .begin_write_locking::<()>(p, None, source, locks)
            .await?
        {
            Begun::Fresh(w) => Ok(*w),
            Begun::Replayed(()) => {
                Err(Error::internal("a write without a request id was replayed"))
            }
        }
    }
}

/// Starts a write with an idempotency key inside a handler returning `Result<T>`: a repeated
/// request returns its first answer from the handler right here; otherwise evaluates to the
/// fresh [`Write`]. `begin_write!(ctx, principal, idempotency, source)`, or with a last
/// argument, the locks to hold from the start (see [`ServiceContext::begin_write_locking`]).
#[macro_export]
macro_rules! begin_write {
    ($ctx:expr, $p:expr, $idem:expr, $source:expr) => {
        $crate::begin_write!($ctx, $p, $idem, $source, Vec::new())
    };
    ($ctx:expr, $p:expr, $idem:expr, $source:expr, $locks:expr) => {
        match $ctx
            .begin_write_locking(&$p, $idem, $source, $locks)
            .await?
        {
            $crate::write::Begun::Replayed(done) => return Ok(done),
            $crate::write::Begun::Fresh(w) => *w,
        }
    };
}

impl Write {
    /// A write in `tx` on behalf of `p`, with nothing recorded yet.
    fn start(
        ctx: ServiceContext,
        tx: Tx,
        p: &Principal,
        idempotency: Option<Idempotency>,
        source: EventSource,
    ) -> Self {
        Write {
            ctx,
            tx,
            tenant: p.tenant_id.clone(),
            origin: Origin::of(p),
            idempotency,
            source,
            events: Vec::new(),
            stale: Vec::new(),
            deferred: Vec::new(),
            revoked: Vec::new(),
            changed_keys: Vec::new(),
        }
    }

    /// The transaction, for the store's queries.
    pub fn tx(&mut self) -> &mut Tx {
        &mut self.tx
    }

    /// Now, by the service's clock.
    pub fn now(&self) -> Micros {
        self.ctx.clock.now()
    }

    /// The SQL dialect of the write's database, for statements that differ by backend.
    pub fn dialect(&self) -> crate::dialect::Dialect {
        self.ctx.db.dialect()
    }

    /// The tenant the write is confined to.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// Records event `<package>.<kind>` (e.g. `customer.created`) about `subject`, whose payload
    /// is `payload`, a message of `<package>`. It is published only if the write commits.
    pub fn emit<M: Message + Name>(&mut self, kind: &str, subject: String, payload: &M) {
        let origin = self.origin.clone();
        self.emit_as(origin, kind, subject, payload);
    }

    /// As [`Write::emit`], for a change made for `origin`: a write that carries the changes of
    /// several requests (see [`crate::batch`]) names each one's caller and trace.
    pub fn emit_as<M: Message + Name>(
        &mut self,
        origin: Origin,
        kind: &str,
        subject: String,
        payload: &M,
    ) {
        let source = self.source;
        self.push_event(source, origin, kind, subject, payload);
    }

    /// As [`Write::emit`], on the stream of `source` instead of the write's own, and published
    /// to the bus straight after the commit as well, instead of only when the outbox relay gets
    /// to it: for the events the runtime defines for every service to see at once (a revoked
    /// token, on the `access` stream). The outbox copy still travels, so a failed publish loses
    /// nothing, and consumers apply each event once whichever copy comes first.
    pub fn emit_at_once<M: Message + Name>(
        &mut self,
        source: EventSource,
        kind: &str,
        subject: String,
        payload: &M,
    ) {
        let origin = self.origin.clone();
        self.push_event(source, origin, kind, subject, payload);
        if let Some(pushed) = self.events.last_mut() {
            pushed.at_once = true;
        }
    }

    fn push_event<M: Message + Name>(
        &mut self,
        source: EventSource,
        origin: Origin,
        kind: &str,
        subject: String,
        payload: &M,
    ) {
        self.events.push(Pending {
            stream: source.stream,
            at_once: false,
            origin,
            event_type: format!("{}.{kind}", M::PACKAGE),
            payload_type: M::full_name(),
            subject,
            payload: payload.encode_to_vec(),
        });
    }

    /// Records that this write revokes `subject`'s tokens in its tenant, so this process stops
    /// trusting them the moment it commits (see [`crate::access`]).
    pub(crate) fn revoked(&mut self, subject: &str) {
        self.revoked.push((self.tenant.clone(), subject.to_owned()));
    }

    /// Records that this write changes API key `id`, so this process stops trusting its kept
    /// copy the moment it commits (see [`crate::api_keys`]).
    pub(crate) fn api_key_changed(&mut self, id: uuid::Uuid) {
        self.changed_keys.push(id);
    }

    /// Runs `stmt` later in this write, at the latest with the commit: on PostgreSQL the
    /// deferred statements and the events travel in one round trip. For statements whose result
    /// the write does not need and does not read back (rewriting a row it holds, appending
    /// history); no two deferred statements may touch the same row, and nothing run directly
    /// afterwards may touch a row a deferred statement touches. It pays on the request path,
    /// where round trips dominate; bulk inserts of hundreds of rows ran slower merged.
    pub async fn defer(&mut self, stmt: Statement) -> Result<()> {
        self.deferred.push(stmt);
        if self.deferred.iter().map(Statement::binds).sum::<usize>() >= FLUSH_BINDS {
            let stmts = std::mem::take(&mut self.deferred);
            execute_all(&mut self.tx, self.ctx.db.dialect(), &stmts).await?;
        }
        Ok(())
    }

    /// Stores `response` as the answer to `key`, a request this write carries besides the one
    /// it began with (see [`crate::batch`]). The write must hold `key`'s lock
    /// ([`Idempotency::lock_key`]) from its start and have found no earlier answer, so nobody
    /// else can record the key meanwhile: the record is deferred and rides with the commit.
    pub async fn answer<T: Message>(&mut self, key: &Idempotency, response: &T) -> Result<()> {
        let now = self.now();
        self.defer(key.record_statement(response, now)).await
    }

    /// Abandons the change: nothing of it is kept, no event is published.
    pub async fn rollback(self) -> Result<()> {
        self.tx.rollback().await
    }

    /// Marks a cache entry stale: it is dropped once the write commits.
    pub fn invalidate(&mut self, key: String) {
        self.stale.push(key);
    }

    /// Commits the change and answers `response`, stored under the write's request id. The
    /// write holds that id's lock from its start and found no earlier answer, so the record
    /// rides with the commit's other statements.
    pub async fn commit<T: Message + Default>(mut self, response: T) -> Result<T> {
        let now = self.now();
        if let Some(k) = &self.idempotency {
            let record = k.record_statement(&response, now);
            self.deferred.push(record);
        }
        let events: Vec<NewEvent<'_>> = self
            .events
            .iter()
            .map(|e| NewEvent {
                stream: e.stream,
                event_type: &e.event_type,
                subject: e.subject.clone(),
                tenant: &self.tenant,
                actor: &e.origin.actor,
                payload_type: &e.payload_type,
                payload: e.payload.clone(),
                traceparent: e.origin.traceparent.clone(),
            })
            .collect();
        let any_events = !events.is_empty();
        let at_once: Vec<bool> = self.events.iter().map(|e| e.at_once).collect();
        let (_, outbox, copies) = outbox::statements_copying(events, now, |i| at_once[i]);
        let mut stmts = std::mem::take(&mut self.deferred);
        stmts.extend(outbox);
        execute_all(&mut self.tx, self.ctx.db.dialect(), &stmts).await?;
        self.tx.commit().await?;
        for (tenant, subject) in &self.revoked {
            self.ctx.auth.revocations().forget(tenant, subject).await;
        }
        for id in &self.changed_keys {
            self.ctx.auth.api_keys().forget(*id).await;
        }
        if !self.stale.is_empty() {
            self.ctx.cache.delete_many(&self.stale).await;
        }
        for (stream, event) in &copies {
            if let Err(e) = self.ctx.bus.publish(stream, &[event.as_slice()]).await {
                // The outbox copy is delivered when the bus is back.
                tracing::warn!(error = %e, stream, "publishing at once failed; the relay will");
            }
        }
        if any_events {
            self.ctx.outbox_waker.notify_one();
        }
        Ok(response)
    }
}
