//! The tenant's lead settings document.

use rapport_runtime::{Error, Result, clock::Micros};
use sqlx::{AnyConnection, Row};

use crate::domain::settings::Settings;

/// The tenant's settings; defaults when it never changed them.
pub async fn get_settings(conn: &mut AnyConnection, tenant: &str) -> Result<Settings> {
    let row =
        sqlx::query("SELECT doc, update_time, version FROM lead_settings WHERE tenant_id = $1")
            .bind(tenant)
            .fetch_optional(conn)
            .await?;
    match row {
        None => Ok(Settings::default()),
        Some(r) => {
            let mut s: Settings = serde_json::from_str(&r.try_get::<String, _>("doc")?)
                .map_err(|e| Error::internal(format!("bad lead settings in database: {e}")))?;
            s.update_time = r.try_get("update_time")?;
            s.version = r.try_get("version")?;
            Ok(s)
        }
    }
}

/// Stores the settings as version `s.version`, if the stored one is still `s.version - 1`;
/// false when someone else changed them first.
pub async fn put_settings(
    conn: &mut AnyConnection,
    tenant: &str,
    s: &Settings,
    now: Micros,
) -> Result<bool> {
    let doc = serde_json::to_string(s).map_err(Error::internal)?;
    let done = sqlx::query(
        "INSERT INTO lead_settings (tenant_id, doc, update_time, version) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (tenant_id) DO UPDATE SET doc = excluded.doc, \
         update_time = excluded.update_time, version = excluded.version \
         WHERE lead_settings.version = excluded.version - 1",
    )
    .bind(tenant)
    .bind(doc)
    .bind(now)
    .bind(s.version)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Every tenant with follow-up rules, and its settings (for the reclaim sweep).
pub async fn tenants_with_rules(conn: &mut AnyConnection) -> Result<Vec<(String, Settings)>> {
    let rows = sqlx::query("SELECT tenant_id, doc, version FROM lead_settings ORDER BY tenant_id")
        .fetch_all(conn)
        .await?;
    let mut out = Vec::new();
    for r in rows {
        let Ok(mut s) = serde_json::from_str::<Settings>(&r.try_get::<String, _>("doc")?) else {
            continue;
        };
        s.version = r.try_get("version")?;
        if !s.follow_up_rules.is_empty() {
            out.push((r.try_get("tenant_id")?, s));
        }
    }
    Ok(out)
}
