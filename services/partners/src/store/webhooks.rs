//! Webhook endpoints and deliveries.

use rapport_kit::query::{CursorValue, OrderBy, Page, Select};
use rapport_runtime::{
    Result,
    dialect::Dialect,
    storage::{BindValue, Tx, bind_all, one_by_id},
};
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row, any::AnyRow};
use uuid::Uuid;

use super::{from_json, stored, to_json, uuid};
use crate::domain::webhook::{
    AttemptLog, Delivery, DeliveryState, Endpoint, EndpointState, Filter,
};

/// What an endpoint's doc column holds.
#[derive(Serialize, Deserialize)]
struct Doc {
    description: String,
    event_types: Vec<String>,
    filters: Vec<Filter>,
}

const ENDPOINT_COLUMNS: &str = "e.id, e.partner_id, e.url, e.doc, e.state, e.disabled_reason, \
     e.secret, e.previous_secret, e.previous_secret_expire_time, e.create_time, \
     e.update_time, e.version";

fn select_endpoints() -> String {
    format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints e")
}

fn row_to_endpoint(row: &AnyRow) -> Result<Endpoint> {
    let doc: Doc = from_json("webhook_endpoints", &row.try_get::<String, _>("doc")?)?;
    Ok(Endpoint {
        id: uuid(&row.try_get::<String, _>("id")?)?,
        partner_id: uuid(&row.try_get::<String, _>("partner_id")?)?,
        url: row.try_get("url")?,
        description: doc.description,
        event_types: doc.event_types,
        filters: doc.filters,
        state: stored(
            "webhook_endpoints",
            &row.try_get::<String, _>("state")?,
            EndpointState::parse,
        )?,
        disabled_reason: row.try_get("disabled_reason")?,
        secret: row.try_get("secret")?,
        previous_secret: row.try_get("previous_secret")?,
        previous_secret_expire_time: row.try_get("previous_secret_expire_time")?,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
        version: row.try_get("version")?,
    })
}

fn doc(e: &Endpoint) -> Result<String> {
    to_json(&Doc {
        description: e.description.clone(),
        event_types: e.event_types.clone(),
        filters: e.filters.clone(),
    })
}

/// Inserts an endpoint.
pub(crate) async fn insert_endpoint(tx: &mut Tx, tenant: &str, e: &Endpoint) -> Result<()> {
    sqlx::query(
        "INSERT INTO webhook_endpoints (tenant_id, id, partner_id, url, doc, state, \
         disabled_reason, secret, previous_secret, previous_secret_expire_time, create_time, \
         update_time, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(tenant)
    .bind(e.id.to_string())
    .bind(e.partner_id.to_string())
    .bind(e.url.as_str())
    .bind(doc(e)?)
    .bind(e.state.as_str())
    .bind(e.disabled_reason.as_str())
    .bind(e.secret.as_str())
    .bind(e.previous_secret.as_str())
    .bind(e.previous_secret_expire_time)
    .bind(e.create_time)
    .bind(e.update_time)
    .bind(e.version)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Rewrites an endpoint whose stored version is `expected`; `false` when it moved on.
pub(crate) async fn update_endpoint(
    tx: &mut Tx,
    tenant: &str,
    e: &Endpoint,
    expected: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE webhook_endpoints SET url = $3, doc = $4, state = $5, disabled_reason = $6, \
         secret = $7, previous_secret = $8, previous_secret_expire_time = $9, \
         update_time = $10, version = $11 WHERE tenant_id = $1 AND id = $2 AND version = $12",
    )
    .bind(tenant)
    .bind(e.id.to_string())
    .bind(e.url.as_str())
    .bind(doc(e)?)
    .bind(e.state.as_str())
    .bind(e.disabled_reason.as_str())
    .bind(e.secret.as_str())
    .bind(e.previous_secret.as_str())
    .bind(e.previous_secret_expire_time)
    .bind(e.update_time)
    .bind(e.version)
    .bind(expected)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// An endpoint by id, locked when `lock` names the dialect.
pub(crate) async fn get_endpoint(
    conn: &mut AnyConnection,
    tenant: &str,
    id: Uuid,
    lock: Option<Dialect>,
) -> Result<Option<Endpoint>> {
    one_by_id(
        conn,
        &select_endpoints(),
        "e.id",
        tenant,
        id,
        lock,
        row_to_endpoint,
    )
    .await
}

const OLDEST: OrderBy = OrderBy::asc("create_time");
const NEWEST: OrderBy = OrderBy::desc("create_time");

/// The rows of tenant `$1` whose `alias.column` is `value`, to narrow further.
fn scoped(base: String, alias: &str, column: &str, value: Uuid) -> Select {
    let mut s = Select::new(format!("{base} WHERE {alias}.tenant_id = $1"), 1);
    let n = s.bind(BindValue::Text(value.to_string()));
    s.and(&format!("{alias}.{column} = ${n}"));
    s
}

/// The page of `s` in `order` of creation (rows aliased `alias`), decoded.
async fn page_of<T>(
    conn: &mut AnyConnection,
    tenant: &str,
    s: Select,
    (order, alias): (&OrderBy, &str),
    page: &Page,
    decode: fn(&AnyRow) -> Result<T>,
) -> Result<Vec<T>> {
    let sort = format!("{alias}.create_time");
    let (sql, binds) = s.fixed(page, order, &sort, &format!("{alias}.id"))?;
    let rows = bind_all(sqlx::query(&sql).bind(tenant), &binds)
        .fetch_all(conn)
        .await?;
    rows.iter().map(decode).collect()
}

/// The cursor after a row made at `create_time` with `id`.
fn cursor(create_time: i64, id: Uuid) -> Vec<CursorValue> {
    vec![
        CursorValue::Int(create_time),
        CursorValue::Text(id.to_string()),
    ]
}

/// A page of a partner's endpoints, oldest first.
pub(crate) async fn list_endpoints(
    conn: &mut AnyConnection,
    tenant: &str,
    partner: Uuid,
    page: &Page,
) -> Result<Vec<Endpoint>> {
    let s = scoped(select_endpoints(), "e", "partner_id", partner);
    page_of(conn, tenant, s, (&OLDEST, "e"), page, row_to_endpoint).await
}

/// The cursor after `e`.
pub(crate) fn endpoint_cursor(e: &Endpoint) -> Vec<CursorValue> {
    cursor(e.create_time, e.id)
}

/// A partner's enabled endpoints (a partner has a handful).
pub(crate) async fn enabled_endpoints(
    conn: &mut AnyConnection,
    tenant: &str,
    partner: Uuid,
) -> Result<Vec<Endpoint>> {
    let rows = sqlx::query(&format!(
        "{} WHERE e.tenant_id = $1 AND e.partner_id = $2 AND e.state = $3",
        select_endpoints()
    ))
    .bind(tenant)
    .bind(partner.to_string())
    .bind(EndpointState::Enabled.as_str())
    .fetch_all(conn)
    .await?;
    rows.iter().map(row_to_endpoint).collect()
}

/// Deletes an endpoint and its deliveries.
pub(crate) async fn delete_endpoint(tx: &mut Tx, tenant: &str, id: Uuid) -> Result<()> {
    for table in ["webhook_deliveries", "webhook_endpoints"] {
        let column = if table == "webhook_endpoints" {
            "id"
        } else {
            "endpoint_id"
        };
        sqlx::query(&format!(
            "DELETE FROM {table} WHERE tenant_id = $1 AND {column} = $2"
        ))
        .bind(tenant)
        .bind(id.to_string())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

const LIVE: &str = "state IN ('pending', 'retrying')";

/// Stops the live deliveries of an endpoint (it was disabled): none is due until
/// [`unpark`].
pub(crate) async fn park(tx: &mut Tx, tenant: &str, endpoint: Uuid) -> Result<()> {
    sqlx::query(&format!(
        "UPDATE webhook_deliveries SET next_attempt_time = NULL, version = version + 1 \
         WHERE tenant_id = $1 AND endpoint_id = $2 AND {LIVE}"
    ))
    .bind(tenant)
    .bind(endpoint.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Makes the live deliveries of an endpoint due at `now` (it was enabled again).
pub(crate) async fn unpark(tx: &mut Tx, tenant: &str, endpoint: Uuid, now: i64) -> Result<()> {
    sqlx::query(&format!(
        "UPDATE webhook_deliveries SET next_attempt_time = $3, version = version + 1 \
         WHERE tenant_id = $1 AND endpoint_id = $2 AND {LIVE} AND next_attempt_time IS NULL"
    ))
    .bind(tenant)
    .bind(endpoint.to_string())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

const DELIVERY_COLUMNS: &str = "d.id, d.partner_id, d.endpoint_id, d.event_id, d.event_type, \
     d.msg_id, d.body, d.state, d.tries, d.next_attempt_time, d.attempts, d.create_time, \
     d.update_time, d.version";

fn select_deliveries() -> String {
    format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d")
}

fn row_to_delivery(row: &AnyRow) -> Result<Delivery> {
    let attempts: Vec<AttemptLog> =
        from_json("webhook_deliveries", &row.try_get::<String, _>("attempts")?)?;
    Ok(Delivery {
        id: uuid(&row.try_get::<String, _>("id")?)?,
        partner_id: uuid(&row.try_get::<String, _>("partner_id")?)?,
        endpoint_id: uuid(&row.try_get::<String, _>("endpoint_id")?)?,
        event_id: row.try_get("event_id")?,
        event_type: row.try_get("event_type")?,
        msg_id: row.try_get("msg_id")?,
        body: row.try_get("body")?,
        state: stored(
            "webhook_deliveries",
            &row.try_get::<String, _>("state")?,
            DeliveryState::parse,
        )?,
        tries: u32::try_from(row.try_get::<i64, _>("tries")?).unwrap_or_default(),
        next_attempt_time: row.try_get("next_attempt_time")?,
        attempts,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
        version: row.try_get("version")?,
    })
}

/// Inserts a delivery unless the event was already given to the endpoint; whether it did.
pub(crate) async fn insert_delivery(tx: &mut Tx, tenant: &str, d: &Delivery) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO webhook_deliveries (tenant_id, id, partner_id, endpoint_id, event_id, \
         event_type, msg_id, body, state, tries, next_attempt_time, attempts, create_time, \
         update_time, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
         $14, $15) ON CONFLICT (tenant_id, endpoint_id, event_id) DO NOTHING",
    )
    .bind(tenant)
    .bind(d.id.to_string())
    .bind(d.partner_id.to_string())
    .bind(d.endpoint_id.to_string())
    .bind(d.event_id.as_str())
    .bind(d.event_type.as_str())
    .bind(d.msg_id.as_str())
    .bind(d.body.as_str())
    .bind(d.state.as_str())
    .bind(i64::from(d.tries))
    .bind(d.next_attempt_time)
    .bind(to_json(&d.attempts)?)
    .bind(d.create_time)
    .bind(d.update_time)
    .bind(d.version)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Rewrites a delivery whose stored version is `expected`; `false` when it moved on (a replay
/// or another record came first).
pub(crate) async fn update_delivery(
    tx: &mut Tx,
    tenant: &str,
    d: &Delivery,
    expected: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE webhook_deliveries SET state = $3, tries = $4, next_attempt_time = $5, \
         attempts = $6, update_time = $7, version = $8 \
         WHERE tenant_id = $1 AND id = $2 AND version = $9",
    )
    .bind(tenant)
    .bind(d.id.to_string())
    .bind(d.state.as_str())
    .bind(i64::from(d.tries))
    .bind(d.next_attempt_time)
    .bind(to_json(&d.attempts)?)
    .bind(d.update_time)
    .bind(d.version)
    .bind(expected)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A delivery by id, locked when `lock` names the dialect.
pub(crate) async fn get_delivery(
    conn: &mut AnyConnection,
    tenant: &str,
    id: Uuid,
    lock: Option<Dialect>,
) -> Result<Option<Delivery>> {
    one_by_id(
        conn,
        &select_deliveries(),
        "d.id",
        tenant,
        id,
        lock,
        row_to_delivery,
    )
    .await
}

/// A page of an endpoint's deliveries, newest first, in `state` when given.
pub(crate) async fn list_deliveries(
    conn: &mut AnyConnection,
    tenant: &str,
    endpoint: Uuid,
    state: Option<DeliveryState>,
    page: &Page,
) -> Result<Vec<Delivery>> {
    let mut s = scoped(select_deliveries(), "d", "endpoint_id", endpoint);
    if let Some(state) = state {
        let n = s.bind(BindValue::Text(state.as_str().into()));
        s.and(&format!("d.state = ${n}"));
    }
    page_of(conn, tenant, s, (&NEWEST, "d"), page, row_to_delivery).await
}

/// The cursor after `d`.
pub(crate) fn delivery_cursor(d: &Delivery) -> Vec<CursorValue> {
    cursor(d.create_time, d.id)
}

/// Starts a new round for every delivery of `endpoint` made since `since` that is not
/// waiting for an attempt already: due at `due` (`None` while the endpoint is disabled); how
/// many.
pub(crate) async fn replay_since(
    tx: &mut Tx,
    tenant: &str,
    endpoint: Uuid,
    since: i64,
    due: Option<i64>,
    now: i64,
) -> Result<u64> {
    let done = sqlx::query(&format!(
        "UPDATE webhook_deliveries SET state = 'pending', tries = 0, next_attempt_time = $4, \
         update_time = $5, version = version + 1 WHERE tenant_id = $1 AND endpoint_id = $2 \
         AND create_time >= $3 AND NOT ({LIVE})"
    ))
    .bind(tenant)
    .bind(endpoint.to_string())
    .bind(since)
    .bind(due)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}

/// Tenants with a delivery due at `now` (at most 100 a round).
pub(crate) async fn due_tenants(conn: &mut AnyConnection, now: i64) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT tenant_id FROM webhook_deliveries WHERE next_attempt_time <= $1 \
         LIMIT 100",
    )
    .bind(now)
    .fetch_all(conn)
    .await?)
}

/// A delivery claimed for one attempt, with the endpoint it goes to.
#[derive(Debug, Clone)]
pub(crate) struct Claimed {
    /// The delivery, at the version the claim gave it.
    pub delivery: Delivery,
    /// Its endpoint as it was when claimed.
    pub endpoint: Endpoint,
}

/// Claims up to `limit` of `tenant`'s deliveries due at `now` whose endpoint is enabled, in
/// `tx`: locks them, skipping rows another sweep holds, and moves each one's due time to
/// `lease_until` (only if its version is still the one read), so one sweep attempts each,
/// and one that stops midway leaves it due again when the lease ends.
pub(crate) async fn claim(
    tx: &mut Tx,
    dialect: Dialect,
    tenant: &str,
    now: i64,
    lease_until: i64,
    limit: u32,
) -> Result<Vec<Claimed>> {
    let lock = match dialect {
        Dialect::Postgres => " FOR UPDATE OF d SKIP LOCKED",
        Dialect::Sqlite => "",
    };
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d \
         JOIN webhook_endpoints e ON e.tenant_id = d.tenant_id AND e.id = d.endpoint_id \
         WHERE d.tenant_id = $1 AND d.next_attempt_time <= $2 AND e.state = 'enabled' \
         ORDER BY d.next_attempt_time LIMIT {limit}{lock}"
    );
    let rows = sqlx::query(&sql)
        .bind(tenant)
        .bind(now)
        .fetch_all(&mut **tx)
        .await?;
    let mut out: Vec<Claimed> = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut delivery = row_to_delivery(row)?;
        let known = out
            .iter()
            .find(|c| c.endpoint.id == delivery.endpoint_id)
            .map(|c| c.endpoint.clone());
        let endpoint = match known {
            Some(e) => e,
            None => match get_endpoint(tx, tenant, delivery.endpoint_id, None).await? {
                Some(e) => e,
                None => continue,
            },
        };
        let taken = sqlx::query(
            "UPDATE webhook_deliveries SET next_attempt_time = $3, version = version + 1 \
             WHERE tenant_id = $1 AND id = $2 AND version = $4",
        )
        .bind(tenant)
        .bind(delivery.id.to_string())
        .bind(lease_until)
        .bind(delivery.version)
        .execute(&mut **tx)
        .await?;
        if taken.rows_affected() == 1 {
            delivery.version += 1;
            delivery.next_attempt_time = Some(lease_until);
            out.push(Claimed { delivery, endpoint });
        }
    }
    Ok(out)
}
