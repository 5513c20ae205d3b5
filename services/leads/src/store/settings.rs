//! The tenant's lead settings: read and written through the kit's settings document; here
//! only what the sweeps read across tenants.

use rapport_kit::settings;
use rapport_runtime::{Result, clock::Micros};
use sqlx::{AnyConnection, Row};

use crate::domain::settings::Settings;

/// Every tenant with follow-up rules, and its settings (for the reclaim sweep).
pub async fn tenants_with_rules(conn: &mut AnyConnection) -> Result<Vec<(String, Settings)>> {
    let rows = sqlx::query("SELECT tenant_id, doc, version FROM lead_settings ORDER BY tenant_id")
        .fetch_all(conn)
        .await?;
    let mut out = Vec::new();
    for r in rows {
        let Ok(mut s) = settings::parse::<Settings>(&r.try_get::<String, _>("doc")?) else {
            continue;
        };
        s.version = r.try_get("version")?;
        if !s.follow_up_rules.is_empty() {
            out.push((r.try_get("tenant_id")?, s));
        }
    }
    Ok(out)
}

/// The lead settings are a settings document of their own table.
impl settings::Document for Settings {
    const TABLE: &'static str = "lead_settings";
    const COLUMN: &'static str = "doc";

    fn version(&self) -> i64 {
        self.version
    }

    fn stamp(&mut self, update_time: Micros, version: i64) {
        self.update_time = update_time;
        self.version = version;
    }

    fn problems(&self) -> Vec<(String, String)> {
        Settings::problems(self)
    }
}
