//! The tenant's settings: one JSON document per tenant.

use rapport_runtime::{Error, Result, storage::Tx};
use sqlx::AnyConnection;

use crate::domain::settings::Settings;

/// The tenant's settings; defaults when it never saved any.
pub async fn get_settings(conn: &mut AnyConnection, tenant: &str) -> Result<Settings> {
    let row: Option<(String, i64, i64)> = sqlx::query_as(
        "SELECT document, update_time, version FROM customer_settings WHERE tenant_id = $1",
    )
    .bind(tenant)
    .fetch_optional(conn)
    .await?;
    match row {
        None => Ok(Settings::default()),
        Some((doc, update_time, version)) => {
            let mut s: Settings = serde_json::from_str(&doc).map_err(Error::internal)?;
            s.update_time = update_time;
            s.version = version;
            Ok(s)
        }
    }
}

/// Stores settings whose stored version is `expected_version` (0 when none were stored);
/// `false` when a concurrent change won.
pub async fn put_settings(
    tx: &mut Tx,
    tenant: &str,
    s: &Settings,
    expected_version: i64,
) -> Result<bool> {
    let doc = serde_json::to_string(s).map_err(Error::internal)?;
    let done = if expected_version == 0 {
        sqlx::query(
            "INSERT INTO customer_settings (tenant_id, document, update_time, version) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(tenant)
        .bind(doc)
        .bind(s.update_time)
        .bind(s.version)
        .execute(&mut **tx)
        .await?
    } else {
        sqlx::query(
            "UPDATE customer_settings SET document = $2, update_time = $3, version = $4 \
             WHERE tenant_id = $1 AND version = $5",
        )
        .bind(tenant)
        .bind(doc)
        .bind(s.update_time)
        .bind(s.version)
        .bind(expected_version)
        .execute(&mut **tx)
        .await?
    };
    Ok(done.rows_affected() == 1)
}
