//! What every handler shares: the caller and its roles, visibility, the tenant's settings, the
//! read-through cache, events, idempotency and the end of a write.

use std::{sync::Arc, time::Duration};

use rapport_kit::duplicates::{Disclosed, Disclosure, disclose as disclose_holder};
use rapport_runtime::{
    Error, Result,
    auth::{Principal, Role},
    cache,
    clock::Micros,
    context::ServiceContext,
    storage::{Db, Tx},
    write::{EventSource, Write},
};
use uuid::Uuid;

pub use rapport_runtime::auth::authorize;

use prost::Message;
use rapport_proto::customers as pb;

use super::{
    convert::customer::{ProfileContext, customer_to_proto},
    create::{self, Creates},
};
use crate::{
    domain::{duplicates::DuplicateHit, names, profile::Customer, settings::Settings, visibility},
    store::{self, RepScope},
};

/// Where this service's events come from.
pub const EVENTS: EventSource = EventSource {
    stream: "customers",
};
const CUSTOMER_TTL: Duration = Duration::from_secs(300);

/// Roles that may read customers.
pub const READERS: &[Role] = &[
    Role::Admin,
    Role::Manager,
    Role::Rep,
    Role::ServiceAgent,
    Role::Marketer,
    Role::ServiceAccount,
];
/// Roles that may create and edit customers they can see, and record activities.
pub const WRITERS: &[Role] = &[
    Role::Admin,
    Role::Manager,
    Role::Rep,
    Role::ServiceAgent,
    Role::ServiceAccount,
];
/// Roles that may delete, merge, bulk-edit, import, export and hand customers over.
pub const MANAGERS: &[Role] = &[Role::Admin, Role::Manager, Role::ServiceAccount];
/// Roles that may change the tenant's settings.
pub const ADMINS: &[Role] = &[Role::Admin];

/// The service's state, shared by every call.
#[derive(Clone)]
pub struct CustomersApi {
    pub(crate) ctx: ServiceContext,
    /// Where creates gather to be written together.
    pub(crate) creates: Arc<Creates>,
}

/// The rows a caller is limited to: `None` for callers who see the whole tenant.
pub fn scope(p: &Principal) -> Option<RepScope> {
    let roles: Vec<&str> = p.roles.iter().map(|r| r.as_str()).collect();
    (!visibility::sees_all(&roles)).then(|| RepScope {
        subject: p.subject.clone(),
        team: p.team_id.clone(),
    })
}

/// Whether the caller may see `c`.
pub fn can_see(p: &Principal, c: &Customer) -> bool {
    may_see(
        p,
        &c.profile.owner_id,
        &c.profile.team_id,
        &c.profile.shared_team_ids,
    )
}

/// What the caller learns of each of `hits`, in order (see `rapport_kit::duplicates`): a
/// holder it may see in full, any other as the tenant's settings allow.
pub async fn disclose(
    conn: &mut sqlx::AnyConnection,
    p: &Principal,
    disclosure: Disclosure,
    hits: &[DuplicateHit],
) -> Result<Vec<Disclosed>> {
    let sees = |h: &DuplicateHit| may_see(p, &h.holder.owner_id, &h.holder.team_id, &[]);
    // Sharing matters only for a rep with a team, and only for holders it sees no other way.
    let unseen: Vec<Uuid> = hits
        .iter()
        .filter(|h| !sees(h))
        .map(|h| h.customer_id)
        .collect();
    let team = p.team_id.clone().unwrap_or_default();
    let shared = store::shared_with(conn, &p.tenant_id, &unseen, &team).await?;
    Ok(hits
        .iter()
        .map(|h| {
            let visible = sees(h) || shared.contains(&h.customer_id);
            disclose_holder(&h.holder, visible, disclosure)
        })
        .collect())
}

/// Whether the caller may see a customer with this owner, team and sharing.
fn may_see(p: &Principal, owner_id: &str, team_id: &str, shared_team_ids: &[String]) -> bool {
    match scope(p) {
        None => true,
        Some(s) => visibility::rep_can_see(
            &s.subject,
            s.team.as_deref(),
            owner_id,
            team_id,
            shared_team_ids,
        ),
    }
}

/// The id in a `customers/{id}` name given in `field`.
pub fn customer_id(field: &str, name: &str) -> Result<Uuid> {
    names::parse_customer_name(name).map_err(|e| Error::invalid(field, e))
}

/// ABORTED unless `given` is empty or `c`'s current etag.
pub fn check_etag(given: &str, c: &Customer) -> Result<()> {
    if !given.is_empty() && given != c.etag() {
        return Err(Error::stale_etag(&c.resource_name()));
    }
    Ok(())
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

impl CustomersApi {
    /// The service over `ctx`.
    pub fn new(ctx: ServiceContext) -> Self {
        Self {
            creates: Arc::new(create::batcher(ctx.clone())),
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
        let load = async {
            let mut conn = self.db().pool().acquire().await?;
            store::get_settings(&mut conn, tenant).await
        };
        self.ctx
            .cache
            .read_through_near(
                &cache::settings_key(EVENTS.stream, tenant),
                cache::SETTINGS_TTL,
                load,
            )
            .await
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

    /// The cache key of a customer.
    pub fn cache_key(tenant: &str, id: Uuid) -> String {
        cache::key(EVENTS.stream, tenant, "customer", &id.to_string())
    }

    /// A customer the caller may see, as GetCustomer answers it: from the cache when there
    /// (the encoded proto, so a hit costs one decode), else from the database, filling the
    /// cache. NOT_FOUND when it does not exist or the caller may not see it (also for another
    /// tenant's id).
    pub async fn get_visible(&self, p: &Principal, id: Uuid) -> Result<pb::Customer> {
        let key = Self::cache_key(&p.tenant_id, id);
        let cached = match self.ctx.cache.get(&key).await {
            Some(bytes) => pb::Customer::decode(bytes.as_slice()).ok(),
            None => None,
        };
        let customer = match cached {
            Some(c) => c,
            None => {
                let c = customer_to_proto(&self.load(&p.tenant_id, id).await?);
                self.ctx
                    .cache
                    .set(&key, &c.encode_to_vec(), CUSTOMER_TTL)
                    .await;
                c
            }
        };
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

    /// A customer the caller may see, read from the database (for handlers that need the
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
}

impl CustomersApi {
    /// Starts a write that takes no request id.
    pub async fn write(&self, p: &Principal) -> Result<Write> {
        self.ctx.write(p, EVENTS).await
    }

    /// As [`CustomersApi::write`], holding transaction-scoped locks on `locks` from the start.
    pub async fn write_locking(&self, p: &Principal, locks: Vec<String>) -> Result<Write> {
        self.ctx.write_locking(p, EVENTS, locks).await
    }
}

/// Drops the cached copies of `ids` once `w` commits.
pub fn invalidate(w: &mut Write, tenant: &str, ids: &[Uuid]) {
    for id in ids {
        w.invalidate(CustomersApi::cache_key(tenant, *id));
    }
}

/// Starts a write with an idempotency key, or answers a repeated request with its first answer;
/// with `locks`, the write holds them from its start.
macro_rules! begin {
    ($api:expr, $p:expr, $idem:expr $(, $locks:expr)?) => {
        rapport_runtime::begin_write!($api.ctx, $p, $idem, $crate::api::support::EVENTS $(, $locks)?)
    };
}
pub(crate) use begin;
