//! Partners' API keys.

use rapport_kit::query::{CursorValue, OrderBy, Page, Select};
use rapport_runtime::{
    Error, Result,
    api_keys::{Previous, secret},
    dialect::Dialect,
    storage::{BindValue, Tx, bind_all, one_by_id},
};
use sqlx::{AnyConnection, Row, any::AnyRow};
use uuid::Uuid;

use super::{from_json, to_json, uuid};
use crate::domain::api_key::ApiKey;

const TABLE: &str = "partner_api_keys";

const SELECT: &str = "SELECT k.id, k.partner_id, k.display_name, k.scopes, k.prefix, \
     k.secret_hash, k.secret_time, k.previous_hash, k.previous_time, k.previous_until, \
     k.expire_time, k.revoke_time, k.last_use_time, k.create_time, k.update_time, k.version \
     FROM partner_api_keys k";

fn hash(text: &str) -> Result<secret::SecretHash> {
    secret::from_hex(text).ok_or_else(|| Error::internal(format!("bad secret hash in {TABLE}")))
}

/// A time column where 0 means none.
fn optional(row: &AnyRow, column: &str) -> Result<Option<i64>> {
    let t: i64 = row.try_get(column)?;
    Ok((t > 0).then_some(t))
}

fn row_to_key(row: &AnyRow) -> Result<ApiKey> {
    let previous_hash: String = row.try_get("previous_hash")?;
    let previous = if previous_hash.is_empty() {
        None
    } else {
        Some(Previous {
            hash: hash(&previous_hash)?,
            time: row.try_get("previous_time")?,
            until: row.try_get("previous_until")?,
        })
    };
    Ok(ApiKey {
        id: uuid(&row.try_get::<String, _>("id")?)?,
        partner_id: uuid(&row.try_get::<String, _>("partner_id")?)?,
        display_name: row.try_get("display_name")?,
        scopes: from_json(TABLE, &row.try_get::<String, _>("scopes")?)?,
        prefix: row.try_get("prefix")?,
        secret: hash(&row.try_get::<String, _>("secret_hash")?)?,
        secret_time: row.try_get("secret_time")?,
        previous,
        expire_time: row.try_get("expire_time")?,
        revoke_time: optional(row, "revoke_time")?,
        last_use_time: optional(row, "last_use_time")?,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
        version: row.try_get("version")?,
    })
}

/// Inserts a new key.
pub(crate) async fn insert(tx: &mut Tx, tenant: &str, k: &ApiKey) -> Result<()> {
    let (previous_hash, previous_time, previous_until) = Previous::columns(k.previous.as_ref());
    sqlx::query(
        "INSERT INTO partner_api_keys (tenant_id, id, partner_id, display_name, scopes, prefix, \
         secret_hash, secret_time, previous_hash, previous_time, previous_until, expire_time, \
         revoke_time, last_use_time, create_time, update_time, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
    )
    .bind(tenant)
    .bind(k.id.to_string())
    .bind(k.partner_id.to_string())
    .bind(&k.display_name)
    .bind(to_json(&k.scopes)?)
    .bind(&k.prefix)
    .bind(secret::to_hex(&k.secret))
    .bind(k.secret_time)
    .bind(previous_hash)
    .bind(previous_time)
    .bind(previous_until)
    .bind(k.expire_time)
    .bind(k.revoke_time.unwrap_or(0))
    .bind(k.last_use_time.unwrap_or(0))
    .bind(k.create_time)
    .bind(k.update_time)
    .bind(k.version)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Rewrites the secrets and revocation of a key whose stored version is `expected`; `false`
/// when it moved on. Its last use is left as it is: that is recorded apart.
pub(crate) async fn update(tx: &mut Tx, tenant: &str, k: &ApiKey, expected: i64) -> Result<bool> {
    let (previous_hash, previous_time, previous_until) = Previous::columns(k.previous.as_ref());
    let done = sqlx::query(
        "UPDATE partner_api_keys SET prefix = $3, secret_hash = $4, secret_time = $5, \
         previous_hash = $6, previous_time = $7, previous_until = $8, revoke_time = $9, \
         update_time = $10, version = $11 \
         WHERE tenant_id = $1 AND id = $2 AND version = $12",
    )
    .bind(tenant)
    .bind(k.id.to_string())
    .bind(&k.prefix)
    .bind(secret::to_hex(&k.secret))
    .bind(k.secret_time)
    .bind(previous_hash)
    .bind(previous_time)
    .bind(previous_until)
    .bind(k.revoke_time.unwrap_or(0))
    .bind(k.update_time)
    .bind(k.version)
    .bind(expected)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records that key `id` was used at `at`, unless a later use is recorded: uses reported by
/// several processes may arrive in any order.
pub(crate) async fn used(tx: &mut Tx, tenant: &str, id: Uuid, at: i64) -> Result<()> {
    sqlx::query(
        "UPDATE partner_api_keys SET last_use_time = $3 \
         WHERE tenant_id = $1 AND id = $2 AND last_use_time < $3",
    )
    .bind(tenant)
    .bind(id.to_string())
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A key by id, locked when `lock` names the dialect.
pub(crate) async fn get(
    conn: &mut AnyConnection,
    tenant: &str,
    id: Uuid,
    lock: Option<Dialect>,
) -> Result<Option<ApiKey>> {
    one_by_id(conn, SELECT, "k.id", tenant, id, lock, row_to_key).await
}

const NEWEST: OrderBy = OrderBy::desc("create_time");

/// A page of `partner`'s keys, newest first.
pub(crate) async fn list(
    conn: &mut AnyConnection,
    tenant: &str,
    partner: Uuid,
    page: &Page,
) -> Result<Vec<ApiKey>> {
    let mut s = Select::new(format!("{SELECT} WHERE k.tenant_id = $1"), 1);
    let n = s.bind(BindValue::Text(partner.to_string()));
    s.and(&format!("k.partner_id = ${n}"));
    let (sql, binds) = s.fixed(page, &NEWEST, "k.create_time", "k.id")?;
    let rows = bind_all(sqlx::query(&sql).bind(tenant), &binds)
        .fetch_all(conn)
        .await?;
    rows.iter().map(row_to_key).collect()
}

/// `partner`'s keys not revoked, locked, in id order.
pub(crate) async fn live_of(tx: &mut Tx, tenant: &str, partner: Uuid) -> Result<Vec<ApiKey>> {
    let sql = format!(
        "{SELECT} WHERE k.tenant_id = $1 AND k.partner_id = $2 AND k.revoke_time = 0 \
         ORDER BY k.id{}",
        tx.dialect().for_update()
    );
    let rows = sqlx::query(&sql)
        .bind(tenant)
        .bind(partner.to_string())
        .fetch_all(&mut **tx)
        .await?;
    rows.iter().map(row_to_key).collect()
}

/// The cursor after `k`.
pub(crate) fn cursor_of(k: &ApiKey) -> Vec<CursorValue> {
    vec![
        CursorValue::Int(k.create_time),
        CursorValue::Text(k.id.to_string()),
    ]
}
