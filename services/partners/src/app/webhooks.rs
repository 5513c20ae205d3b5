//! Webhook endpoints' use cases (PA6): a partner's endpoints, their secrets, and the log and
//! replay of their deliveries. Staff manage any partner's endpoints; a partner's credential
//! its own, and another partner's read as NOT_FOUND.

use rapport_kit::{
    names,
    query::Page,
    service::commit_redacted,
    webhooks::{Policy, Secret, Sender, Target, resolve},
};
use rapport_proto::partners as pb;
use rapport_runtime::{
    Error, Result,
    auth::Principal,
    clock::{HOUR, Micros, rfc3339},
    storage::Idempotency,
    write::Write,
};
use uuid::Uuid;

use super::{App, EVENTS, partners, viewer};
use crate::{
    convert::webhook::{URL_FIELD, delivery_to_proto, endpoint_to_proto},
    domain::{
        partner::PARTNERS,
        webhook::{DELIVERIES, Delivery, DeliveryState, ENDPOINTS, Endpoint, EndpointState},
    },
    store::webhooks as store,
};

/// How long a rotated-out secret keeps signing when the caller says nothing.
pub const DEFAULT_OVERLAP: Micros = 24 * HOUR;
/// The longest overlap a rotation may ask for.
pub const MAX_OVERLAP: Micros = 7 * 24 * HOUR;

/// The service's state with the webhook sender, whose policy says where webhooks may go.
#[derive(Clone)]
pub struct Webhooks {
    app: App,
    sender: Sender,
}

impl Webhooks {
    /// Webhooks over `app`, sending where the operator's allow-list
    /// (`RAPPORT_WEBHOOK_ALLOW_NETWORKS`) lets them, beyond the public internet. The binary
    /// refuses to start with a list that does not read; anything else that builds a context
    /// with one gets the safe default, no internal network.
    pub fn new(app: App) -> Self {
        let policy = app
            .ctx
            .webhook_allow_networks
            .parse::<Policy>()
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "webhook allow-list refused; allowing no internal network");
                Policy::default()
            });
        Self {
            app,
            sender: Sender::new(policy),
        }
    }

    /// The sender.
    pub fn sender(&self) -> &Sender {
        &self.sender
    }

    /// Where webhooks may go.
    pub fn policy(&self) -> &Policy {
        self.sender.policy()
    }

    /// Checks every address the URL's host stands for against the policy: when an endpoint is
    /// made or its URL changed (and again before every attempt, as DNS may change).
    pub async fn check_target(&self, target: &Target) -> Result<()> {
        resolve(self.policy(), URL_FIELD, target)
            .await
            .map(drop)
            .map_err(|v| Error::InvalidArgument(vec![v]))
    }
}

impl std::ops::Deref for Webhooks {
    type Target = App;

    fn deref(&self) -> &App {
        &self.app
    }
}

fn endpoint_not_found(partner: Uuid, id: Uuid) -> Error {
    Error::not_found(names::format_child_id(PARTNERS, partner, ENDPOINTS, id))
}

fn delivery_not_found(partner: Uuid, id: Uuid) -> Error {
    Error::not_found(names::format_child_id(PARTNERS, partner, DELIVERIES, id))
}

/// An endpoint of `partner` the caller sees, locked in `w`.
async fn locked_endpoint(
    w: &mut Write,
    p: &Principal,
    partner: Uuid,
    id: Uuid,
) -> Result<Endpoint> {
    if !viewer(p).sees(partner) {
        return Err(endpoint_not_found(partner, id));
    }
    let dialect = w.dialect();
    store::get_endpoint(w.tx(), &p.tenant_id, id, Some(dialect))
        .await?
        .filter(|e| e.partner_id == partner)
        .ok_or_else(|| endpoint_not_found(partner, id))
}

/// An endpoint of `partner` the caller sees.
pub async fn get(app: &App, p: &Principal, partner: Uuid, id: Uuid) -> Result<Endpoint> {
    if !viewer(p).sees(partner) {
        return Err(endpoint_not_found(partner, id));
    }
    let mut conn = app.db().pool().acquire().await?;
    store::get_endpoint(&mut conn, &p.tenant_id, id, None)
        .await?
        .filter(|e| e.partner_id == partner)
        .ok_or_else(|| endpoint_not_found(partner, id))
}

/// Creates an endpoint of `partner` with a new secret; the answer shows the secret.
pub async fn create(
    hooks: &Webhooks,
    p: Principal,
    idem: Option<Idempotency>,
    partner: Uuid,
    mut e: Endpoint,
    target: &Target,
) -> Result<pb::WebhookEndpoint> {
    partners::get(hooks, &p, partner).await?;
    hooks.check_target(target).await?;
    let mut w = match hooks.write_with_secret(&p, idem.as_ref()).await? {
        Ok(w) => w,
        Err(done) => return Ok(done),
    };
    let now = w.now();
    let secret = Secret::generate().expose();
    e.id = Uuid::now_v7();
    e.partner_id = partner;
    e.secret = secret.clone();
    e.create_time = now;
    e.update_time = now;
    e.version = 1;
    store::insert_endpoint(w.tx(), &p.tenant_id, &e).await?;
    let redacted = endpoint_to_proto(&e, None);
    commit_redacted(
        w,
        idem.as_ref(),
        endpoint_to_proto(&e, Some(&secret)),
        &redacted,
    )
    .await
}

/// A page of `partner`'s endpoints, oldest first.
pub async fn list(
    app: &App,
    p: &Principal,
    partner: Uuid,
    page: &Page,
) -> Result<(Vec<Endpoint>, String)> {
    partners::get(app, p, partner).await?;
    let mut rows = {
        let mut conn = app.db().pool().acquire().await?;
        store::list_endpoints(&mut conn, &p.tenant_id, partner, page).await?
    };
    let next = page.next_token(&mut rows, store::endpoint_cursor);
    Ok((rows, next))
}

/// Writes `next` over `current` (locked in `w`) with a new version, parking or releasing
/// its deliveries when its state changed.
async fn save(w: &mut Write, current: &Endpoint, mut next: Endpoint) -> Result<Endpoint> {
    let tenant = w.tenant().to_owned();
    let now = w.now();
    next.version = current.version + 1;
    next.update_time = now;
    if !store::update_endpoint(w.tx(), &tenant, &next, current.version).await? {
        return Err(Error::stale_etag(&current.name()));
    }
    match (current.state, next.state) {
        (EndpointState::Enabled, EndpointState::Disabled) => {
            store::park(w.tx(), &tenant, next.id).await?
        }
        (EndpointState::Disabled, EndpointState::Enabled) => {
            store::unpark(w.tx(), &tenant, next.id, now).await?
        }
        _ => {}
    }
    Ok(next)
}

/// Changes an endpoint: `apply` sets the fields the caller named; `target` is the new URL's,
/// when it changes.
pub async fn update(
    hooks: &Webhooks,
    p: Principal,
    idem: Option<Idempotency>,
    (partner, id): (Uuid, Uuid),
    etag: &str,
    target: Option<&Target>,
    apply: impl FnOnce(&mut Endpoint),
) -> Result<pb::WebhookEndpoint> {
    get(hooks, &p, partner, id).await?;
    if let Some(target) = target {
        hooks.check_target(target).await?;
    }
    let mut w = rapport_runtime::begin_write!(hooks.ctx, p, idem, EVENTS);
    let current = locked_endpoint(&mut w, &p, partner, id).await?;
    names::check_etag(etag, &current.etag(), &current.name())?;
    let mut next = current.clone();
    apply(&mut next);
    if next == current {
        return w.commit(endpoint_to_proto(&current, None)).await;
    }
    next.disabled_reason = match next.state {
        EndpointState::Enabled => String::new(),
        EndpointState::Disabled if current.state == EndpointState::Enabled => {
            format!("disabled by {}", p.subject)
        }
        EndpointState::Disabled => current.disabled_reason.clone(),
    };
    let next = save(&mut w, &current, next).await?;
    w.commit(endpoint_to_proto(&next, None)).await
}

/// Deletes an endpoint and its deliveries.
pub async fn delete(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    (partner, id): (Uuid, Uuid),
    etag: &str,
) -> Result<()> {
    let mut w = rapport_runtime::begin_write!(app.ctx, p, idem, EVENTS);
    let current = locked_endpoint(&mut w, &p, partner, id).await?;
    names::check_etag(etag, &current.etag(), &current.name())?;
    store::delete_endpoint(w.tx(), &p.tenant_id, id).await?;
    w.commit(()).await
}

/// Gives an endpoint a new secret; the old one signs beside it for `overlap`. The answer
/// shows the new secret.
pub async fn rotate(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    (partner, id): (Uuid, Uuid),
    etag: &str,
    overlap: Micros,
) -> Result<pb::WebhookEndpoint> {
    let mut w = match app.write_with_secret(&p, idem.as_ref()).await? {
        Ok(w) => w,
        Err(done) => return Ok(done),
    };
    let current = locked_endpoint(&mut w, &p, partner, id).await?;
    names::check_etag(etag, &current.etag(), &current.name())?;
    let secret = Secret::generate();
    let mut next = current.clone();
    next.rotate(&secret, w.now().saturating_add(overlap));
    let next = save(&mut w, &current, next).await?;
    let redacted = endpoint_to_proto(&next, None);
    commit_redacted(
        w,
        idem.as_ref(),
        endpoint_to_proto(&next, Some(&secret.expose())),
        &redacted,
    )
    .await
}

/// A page of an endpoint's deliveries, newest first.
pub async fn deliveries(
    app: &App,
    p: &Principal,
    (partner, id): (Uuid, Uuid),
    state: Option<DeliveryState>,
    page: &Page,
) -> Result<(Vec<Delivery>, String)> {
    get(app, p, partner, id).await?;
    let mut rows = {
        let mut conn = app.db().pool().acquire().await?;
        store::list_deliveries(&mut conn, &p.tenant_id, id, state, page).await?
    };
    let next = page.next_token(&mut rows, store::delivery_cursor);
    Ok((rows, next))
}

/// When a new round of a delivery to `endpoint` is due: now, or not until the endpoint is
/// enabled again.
fn due(endpoint: &Endpoint, now: Micros) -> Option<Micros> {
    (endpoint.state == EndpointState::Enabled).then_some(now)
}

/// Sends one delivery again: a new round of the schedule, with its webhook-id.
pub async fn replay(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    (partner, id): (Uuid, Uuid),
) -> Result<pb::WebhookDelivery> {
    if !viewer(&p).sees(partner) {
        return Err(delivery_not_found(partner, id));
    }
    let mut w = rapport_runtime::begin_write!(app.ctx, p, idem, EVENTS);
    let dialect = w.dialect();
    let find = async |w: &mut Write, lock| {
        store::get_delivery(w.tx(), &p.tenant_id, id, lock)
            .await?
            .filter(|d| d.partner_id == partner)
            .ok_or_else(|| delivery_not_found(partner, id))
    };
    // The endpoint first, then the delivery: the order in which disabling an endpoint and
    // recording a 410 lock them, so neither waits on the other.
    let endpoint_id = find(&mut w, None).await?.endpoint_id;
    let endpoint = locked_endpoint(&mut w, &p, partner, endpoint_id).await?;
    let mut d = find(&mut w, Some(dialect)).await?;
    let expected = d.version;
    let now = w.now();
    d.state = DeliveryState::Pending;
    d.tries = 0;
    d.next_attempt_time = due(&endpoint, now);
    d.update_time = now;
    d.version += 1;
    if !store::update_delivery(w.tx(), &p.tenant_id, &d, expected).await? {
        return Err(Error::internal(format!(
            "{} changed while locked",
            d.name()
        )));
    }
    w.commit(delivery_to_proto(&d)).await
}

/// Sends again every delivery of an endpoint made since `since` that is not waiting for an
/// attempt already; how many.
pub async fn replay_since(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    (partner, id): (Uuid, Uuid),
    since: Micros,
) -> Result<pb::ReplayWebhookDeliveriesResponse> {
    let mut w = rapport_runtime::begin_write!(app.ctx, p, idem, EVENTS);
    let endpoint = locked_endpoint(&mut w, &p, partner, id).await?;
    let now = w.now();
    let n = store::replay_since(w.tx(), &p.tenant_id, id, since, due(&endpoint, now), now).await?;
    tracing::info!(endpoint = %endpoint.name(), since = %rfc3339(since), replayed = n, "webhook deliveries replayed");
    w.commit(pb::ReplayWebhookDeliveriesResponse {
        replayed: i32::try_from(n).unwrap_or(i32::MAX),
    })
    .await
}
