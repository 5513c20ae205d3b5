//! The service's state, shared by every call: its context, the creates' batcher, the tenant's
//! settings and customers through the cache, and the start of a write.

use std::{sync::Arc, time::Duration};

use rapport_proto::customers as pb;
use rapport_runtime::{
    Error, Result,
    auth::Principal,
    cache,
    clock::Micros,
    context::ServiceContext,
    storage::{Db, Tx},
    write::Write,
};
use uuid::Uuid;

use super::{
    creates::{self, Creates},
    events::EVENTS,
    visibility::{can_see, may_see},
};
use crate::{
    convert::customer::{ProfileContext, customer_to_proto},
    domain::{names, profile::Customer, settings::Settings},
    store,
};

const CUSTOMER_TTL: Duration = Duration::from_secs(300);

/// The service's state, shared by every call.
#[derive(Clone)]
pub struct App {
    pub(super) ctx: ServiceContext,
    /// Where creates gather to be written together.
    pub(super) creates: Arc<Creates>,
}

impl App {
    /// The service over `ctx`.
    pub fn new(ctx: ServiceContext) -> Self {
        Self {
            creates: Arc::new(creates::batcher(ctx.clone())),
            ctx,
        }
    }

    /// Now, by the service's clock.
    pub fn now(&self) -> Micros {
        self.ctx.clock.now()
    }

    /// The service's database.
    pub fn db(&self) -> &Db {
        &self.ctx.db
    }

    /// The tenant's settings, through the cache (every create and import reads them).
    pub async fn settings(&self, tenant: &str) -> Result<Settings> {
        rapport_kit::settings::cached(&self.ctx, EVENTS, tenant).await
    }

    /// Today in UTC, for date rules.
    pub fn today(&self) -> time::Date {
        rapport_runtime::clock::to_datetime(self.now()).date()
    }

    /// What parsing a profile needs from the tenant's settings.
    pub fn profile_context<'a>(&self, settings: &'a Settings) -> ProfileContext<'a> {
        ProfileContext {
            default_region: &settings.default_region,
            custom_fields: &settings.custom_fields,
            today: self.today(),
        }
    }

    /// A customer the caller may see, as GetCustomer answers it: from the cache when there
    /// (the encoded proto, so a hit costs one decode), else from the database, filling the
    /// cache. NOT_FOUND when it does not exist or the caller may not see it (also for another
    /// tenant's id).
    pub async fn get_visible(&self, p: &Principal, id: Uuid) -> Result<pb::Customer> {
        let key = customer_key(&p.tenant_id, id);
        let load = async { Ok(customer_to_proto(&self.load(&p.tenant_id, id).await?)) };
        let customer: pb::Customer =
            rapport_kit::cached::message(&self.ctx.cache, &key, CUSTOMER_TTL, load).await?;
        if !may_see(
            p,
            &customer.owner_id,
            &customer.team_id,
            &customer.shared_team_ids,
        ) {
            return Err(Error::not_found(names::customer_name(id)));
        }
        Ok(customer)
    }

    /// A customer the caller may see, read from the database (for use cases that need the
    /// domain record); NOT_FOUND otherwise.
    pub async fn load_visible(&self, p: &Principal, id: Uuid) -> Result<Customer> {
        let customer = self.load(&p.tenant_id, id).await?;
        if !can_see(p, &customer) {
            return Err(Error::not_found(names::customer_name(id)));
        }
        Ok(customer)
    }

    async fn load(&self, tenant: &str, id: Uuid) -> Result<Customer> {
        let mut conn = self.db().pool().acquire().await?;
        store::get_customer(&mut conn, tenant, id)
            .await?
            .ok_or_else(|| Error::not_found(names::customer_name(id)))
    }

    /// A customer the caller may see, locked in `tx`; NOT_FOUND otherwise.
    pub async fn lock_visible(&self, tx: &mut Tx, p: &Principal, id: Uuid) -> Result<Customer> {
        store::lock_customer(tx, self.db().dialect(), &p.tenant_id, id)
            .await?
            .filter(|c| can_see(p, c))
            .ok_or_else(|| Error::not_found(names::customer_name(id)))
    }

    /// Starts a write that takes no request id.
    pub async fn write(&self, p: &Principal) -> Result<Write> {
        self.ctx.write(p, EVENTS).await
    }

    /// As [`App::write`], holding transaction-scoped locks on `locks` from the start.
    pub async fn write_locking(&self, p: &Principal, locks: Vec<String>) -> Result<Write> {
        self.ctx.write_locking(p, EVENTS, locks).await
    }
}

/// The cache key of a customer.
fn customer_key(tenant: &str, id: Uuid) -> String {
    cache::key(EVENTS.stream, tenant, "customer", &id.to_string())
}

/// Drops the cached copies of `ids` once `w` commits.
pub fn invalidate(w: &mut Write, tenant: &str, ids: &[Uuid]) {
    for id in ids {
        w.invalidate(customer_key(tenant, *id));
    }
}

/// Stores `next` over version `read` of the customer; ABORTED when another write changed it
/// since.
pub async fn save(tx: &mut Tx, tenant: &str, next: &Customer, read: i64) -> Result<()> {
    if !store::update_customer(tx, tenant, next, read).await? {
        return Err(Error::stale_etag(&next.resource_name()));
    }
    Ok(())
}

/// ABORTED unless `given` is empty or `c`'s current etag.
pub fn check_etag(given: &str, c: &Customer) -> Result<()> {
    rapport_kit::names::check_etag(given, &c.etag(), &c.resource_name())
}

/// FAILED_PRECONDITION when `c` is soft-deleted.
pub fn require_live(c: &Customer) -> Result<()> {
    if c.is_deleted() {
        return Err(Error::precondition(
            "CUSTOMER_DELETED",
            format!("{} is deleted; undelete it first", c.resource_name()),
        ));
    }
    Ok(())
}

/// Starts a write with an idempotency key, or answers a repeated request with its first answer.
macro_rules! begin {
    ($app:expr, $p:expr, $idem:expr) => {
        rapport_runtime::begin_write!($app.ctx, $p, $idem, $crate::app::events::EVENTS)
    };
}
pub(crate) use begin;
