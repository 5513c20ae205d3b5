//! Webhook deliveries (PA6): events become deliveries, and due deliveries are sent.
//!
//! Exactly once in effect means at-least-once with one webhook-id: an event is applied once
//! (`ctx.consume`, in the transaction that inserts its deliveries, one per endpoint that wants
//! it, unique per event and endpoint), and every attempt and replay of a delivery carries the
//! same id, derived from the endpoint and the event, so a receiver drops repeats. An attempt
//! is claimed in one short transaction that moves the row's due time on by a lease, sent with
//! no transaction open, and recorded in another; a replica that stops midway leaves the row
//! due again when the lease ends, and the receiver may then see that id twice.

use futures::{StreamExt, TryStreamExt};
use rapport_kit::webhooks::{self, Outcome, Step, message_id};
use rapport_runtime::{
    Result,
    clock::{MINUTE, Micros, rfc3339},
    events::Event,
};
use uuid::Uuid;

use super::{App, EVENTS, webhooks::Webhooks};
use crate::{
    convert::webhook_event,
    domain::webhook::{AttemptLog, Delivery, DeliveryState, EndpointState},
    store::webhooks::{self as store, Claimed},
};

/// How long a claimed attempt holds its delivery: well beyond an attempt's deadline (15 s),
/// so an attempt in flight is never claimed twice.
pub const LEASE: Micros = 2 * MINUTE;
/// Deliveries claimed at once.
pub const BATCH: usize = 20;
/// Attempts in flight at once, per batch.
pub const PARALLEL: usize = 8;

/// Turns `event` into a delivery for each endpoint of the partner it is about that wants it,
/// applying it once under consumer group `group`. An event about no partner, or whose
/// partner has no enabled endpoint, is left alone.
pub async fn fan_out(app: &App, group: &str, event: &Event) -> Result<()> {
    let Some(partner) = webhook_event::partner_of(event)? else {
        return Ok(());
    };
    let tenant = event.tenant.as_str();
    let endpoints = {
        let mut conn = app.db().pool().acquire().await?;
        store::enabled_endpoints(&mut conn, tenant, partner).await?
    };
    if endpoints.is_empty() {
        return Ok(());
    }
    let data = webhook_event::data(event)?;
    let Some(mut w) = app.ctx.consume(group, event, EVENTS).await? else {
        return Ok(());
    };
    let now = w.now();
    // Read again in the transaction: an endpoint disabled meanwhile gets nothing.
    let endpoints = store::enabled_endpoints(w.tx(), tenant, partner).await?;
    let mut body = None;
    for e in endpoints.iter().filter(|e| e.wants(&event.r#type, &data)) {
        let body: &String = body.get_or_insert_with(|| webhook_event::body(event, data.clone()));
        let d = Delivery {
            id: Uuid::now_v7(),
            partner_id: partner,
            endpoint_id: e.id,
            event_id: event.id.clone(),
            event_type: event.r#type.clone(),
            msg_id: message_id(&e.id.to_string(), &event.id),
            body: body.clone(),
            state: DeliveryState::Pending,
            tries: 0,
            next_attempt_time: Some(now),
            attempts: Vec::new(),
            create_time: now,
            update_time: now,
            version: 1,
        };
        store::insert_delivery(w.tx(), tenant, &d).await?;
    }
    w.commit(()).await
}

/// Tenants with a delivery due now.
pub async fn due_tenants(app: &App) -> Result<Vec<String>> {
    let mut conn = app.db().pool().acquire().await?;
    store::due_tenants(&mut conn, app.now()).await
}

/// Claims up to [`BATCH`] of `tenant`'s due deliveries and makes one attempt of each; how
/// many were claimed.
pub async fn deliver_batch(hooks: &Webhooks, tenant: &str) -> Result<usize> {
    let now = hooks.now();
    let claimed = {
        let mut tx = hooks.db().begin().await?;
        let dialect = hooks.db().dialect();
        let claimed = store::claim(
            &mut tx,
            dialect,
            tenant,
            now,
            now.saturating_add(LEASE),
            BATCH as u32,
        )
        .await?;
        tx.commit().await?;
        claimed
    };
    let n = claimed.len();
    futures::stream::iter(claimed)
        .map(|c| attempt(hooks, tenant, c))
        .buffer_unordered(PARALLEL)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(n)
}

/// Makes one attempt of a claimed delivery and records it: the schedule decides what comes
/// next, and a 410 disables the endpoint.
async fn attempt(hooks: &Webhooks, tenant: &str, c: Claimed) -> Result<()> {
    let Claimed {
        delivery: mut d,
        endpoint,
    } = c;
    let now = hooks.now();
    let secrets = endpoint.signing_secrets(now);
    let sent = hooks
        .sender()
        .send(
            &webhooks::Delivery {
                url: &endpoint.url,
                msg_id: &d.msg_id,
                body: d.body.as_bytes(),
                secrets: &secrets,
            },
            now,
        )
        .await;
    let done = hooks.now();
    let number = d.tries + 1;
    let outcome: Outcome = sent.outcome();
    let step = outcome.then(number, done, &d.msg_id);
    let expected = d.version;
    d.record(
        AttemptLog {
            time: now,
            attempt: number,
            status: sent.status.unwrap_or_default(),
            latency: i64::try_from(sent.latency.as_micros()).unwrap_or(i64::MAX),
            error: sent.error.unwrap_or_default(),
            body: sent.body,
        },
        step,
    );
    d.version += 1;
    let mut tx = hooks.db().begin().await?;
    // The endpoint is locked before the delivery, in the order replays and updates lock them.
    let gone = match step {
        Step::DisableEndpoint => {
            store::get_endpoint(&mut tx, tenant, endpoint.id, Some(hooks.db().dialect())).await?
        }
        _ => None,
    };
    if !store::update_delivery(&mut tx, tenant, &d, expected).await? {
        // Replayed (or the endpoint disabled) while in flight: the newer state stands.
        tx.rollback().await?;
        return Ok(());
    }
    if let Some(mut e) = gone.filter(|e| e.state == EndpointState::Enabled) {
        let before = e.version;
        e.state = EndpointState::Disabled;
        e.disabled_reason = format!("the receiver answered 410 Gone at {}", rfc3339(done));
        e.update_time = done;
        e.version += 1;
        store::update_endpoint(&mut tx, tenant, &e, before).await?;
        store::park(&mut tx, tenant, e.id).await?;
        tracing::info!(endpoint = %e.name(), "webhook endpoint disabled: 410 Gone");
    }
    tx.commit().await?;
    Ok(())
}
