//! Stores, teams and reps. Rep writes touch only the profile columns: the counters
//! (open_leads, claim_day, claims_today, last_assign_time, assigned_total) belong to
//! assignment, which updates them concurrently.

use rapport_kit::{
    names,
    query::{FieldSpec, SqlFilter},
};
use rapport_runtime::{
    Error, Result, dialect::Dialect, storage::BindValue, storage::Tx, storage::bind_all,
};
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row, any::AnyRow};

use crate::domain::org::{AttrKind, Rep, RepStatus, Store, Team};

const STORE_COLUMNS: &str = "id, display_name, region, create_time, update_time, version";
const TEAM_COLUMNS: &str =
    "id, display_name, store_id, manager_id, create_time, update_time, version";
/// The columns [`row_to_rep`] reads.
pub(crate) const REP_COLUMNS: &str = "r.id, r.display_name, r.team_id, r.store_id, r.attrs, \
     r.capacity, r.daily_claim_limit, r.weight, r.status, r.open_leads, r.create_time, \
     r.update_time, r.version";

/// Fields ListReps can filter on (documented on ListRepsRequest).
pub(crate) const REP_FILTER_FIELDS: &[FieldSpec] = &[
    FieldSpec::exists("team", "r.team_id = {}", Some(team_key)),
    FieldSpec::exists("store", "r.store_id = {}", Some(store_key)),
    FieldSpec::enumeration("status", "r.status", &["ACTIVE", "ABSENT", "INACTIVE"]),
    FieldSpec::search("display_name", "r.search_name"),
    FieldSpec::exists(
        "skills",
        "EXISTS (SELECT 1 FROM rep_attrs a WHERE a.tenant_id = r.tenant_id AND a.rep_id = r.id AND a.kind = 'skill' AND a.value = {})",
        Some(skill_value),
    ),
    FieldSpec::exists(
        "regions",
        "EXISTS (SELECT 1 FROM rep_attrs a WHERE a.tenant_id = r.tenant_id AND a.rep_id = r.id AND a.kind = 'region' AND a.value = {})",
        Some(region_value),
    ),
    FieldSpec::exists(
        "languages",
        "EXISTS (SELECT 1 FROM rep_attrs a WHERE a.tenant_id = r.tenant_id AND a.rep_id = r.id AND a.kind = 'language' AND a.value = {})",
        Some(language_value),
    ),
    FieldSpec::exists(
        "product_lines",
        "EXISTS (SELECT 1 FROM rep_attrs a WHERE a.tenant_id = r.tenant_id AND a.rep_id = r.id AND a.kind = 'product_line' AND a.value = {})",
        Some(product_line_value),
    ),
];

/// `teams/{key}` or a bare key (empty: reps without a team) as the stored key.
fn team_key(v: &str) -> std::result::Result<String, String> {
    ref_key("teams", v)
}

fn store_key(v: &str) -> std::result::Result<String, String> {
    ref_key("stores", v)
}

fn ref_key(collection: &str, v: &str) -> std::result::Result<String, String> {
    let key = v.strip_prefix(collection).and_then(|r| r.strip_prefix('/'));
    let key = key.unwrap_or(v);
    if key.is_empty() || names::is_key(key) {
        Ok(key.to_owned())
    } else {
        Err(format!("must be \"{collection}/{{key}}\""))
    }
}

fn skill_value(v: &str) -> std::result::Result<String, String> {
    Ok(AttrKind::Skill.normalize(v))
}

fn region_value(v: &str) -> std::result::Result<String, String> {
    Ok(AttrKind::Region.normalize(v))
}

fn language_value(v: &str) -> std::result::Result<String, String> {
    Ok(AttrKind::Language.normalize(v))
}

fn product_line_value(v: &str) -> std::result::Result<String, String> {
    Ok(AttrKind::ProductLine.normalize(v))
}

fn row_to_store(row: &AnyRow) -> Result<Store> {
    Ok(Store {
        id: row.try_get("id")?,
        display_name: row.try_get("display_name")?,
        region: row.try_get("region")?,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
        version: row.try_get("version")?,
    })
}

fn row_to_team(row: &AnyRow) -> Result<Team> {
    Ok(Team {
        id: row.try_get("id")?,
        display_name: row.try_get("display_name")?,
        store_id: row.try_get("store_id")?,
        manager_id: row.try_get("manager_id")?,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
        version: row.try_get("version")?,
    })
}

/// `reps.attrs`: the attribute lists as one JSON document.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct RepAttrs {
    /// Lower case.
    pub skills: Vec<String>,
    /// As given, trimmed.
    pub regions: Vec<String>,
    /// As given, trimmed.
    pub languages: Vec<String>,
    /// Lower case.
    pub product_lines: Vec<String>,
}

/// A rep from a row selected with [`REP_COLUMNS`].
pub(crate) fn row_to_rep(row: &AnyRow) -> Result<Rep> {
    let attrs: String = row.try_get("attrs")?;
    let attrs: RepAttrs = serde_json::from_str(&attrs).map_err(Error::internal)?;
    let status: String = row.try_get("status")?;
    Ok(Rep {
        id: row.try_get("id")?,
        display_name: row.try_get("display_name")?,
        team_id: row.try_get("team_id")?,
        store_id: row.try_get("store_id")?,
        skills: attrs.skills,
        regions: attrs.regions,
        languages: attrs.languages,
        product_lines: attrs.product_lines,
        capacity: row.try_get("capacity")?,
        daily_claim_limit: row.try_get("daily_claim_limit")?,
        weight: row.try_get("weight")?,
        status: RepStatus::parse(&status)
            .ok_or_else(|| Error::internal(format!("bad rep status {status:?}")))?,
        open_leads: row.try_get("open_leads")?,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
        version: row.try_get("version")?,
    })
}

fn attrs_json(r: &Rep) -> Result<String> {
    let attrs = RepAttrs {
        skills: r.skills.clone(),
        regions: r.regions.clone(),
        languages: r.languages.clone(),
        product_lines: r.product_lines.clone(),
    };
    serde_json::to_string(&attrs).map_err(Error::internal)
}

/// Inserts a store; `false` when its id is taken.
pub(crate) async fn insert_store(tx: &mut Tx, tenant: &str, s: &Store) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO stores (tenant_id, id, display_name, region, create_time, update_time, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
    )
    .bind(tenant)
    .bind(s.id.as_str())
    .bind(s.display_name.as_str())
    .bind(s.region.as_str())
    .bind(s.create_time)
    .bind(s.update_time)
    .bind(s.version)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A store by key, locked for the rest of the transaction when `lock` is the dialect's suffix.
async fn select_store(
    conn: &mut AnyConnection,
    tenant: &str,
    id: &str,
    lock: &str,
) -> Result<Option<Store>> {
    let sql = format!("SELECT {STORE_COLUMNS} FROM stores WHERE tenant_id = $1 AND id = $2{lock}");
    let row = sqlx::query(&sql)
        .bind(tenant)
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(row_to_store).transpose()
}

/// A store by key.
pub(crate) async fn get_store(
    conn: &mut AnyConnection,
    tenant: &str,
    id: &str,
) -> Result<Option<Store>> {
    select_store(conn, tenant, id, "").await
}

/// A store by key, locked for the rest of the transaction.
pub(crate) async fn lock_store(
    tx: &mut Tx,
    dialect: Dialect,
    tenant: &str,
    id: &str,
) -> Result<Option<Store>> {
    select_store(tx, tenant, id, dialect.for_update()).await
}

/// Rewrites a store whose stored version is `expected_version`; `false` when it moved on.
pub(crate) async fn update_store(
    tx: &mut Tx,
    tenant: &str,
    s: &Store,
    expected_version: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE stores SET display_name = $3, region = $4, update_time = $5, version = $6 \
         WHERE tenant_id = $1 AND id = $2 AND version = $7",
    )
    .bind(tenant)
    .bind(s.id.as_str())
    .bind(s.display_name.as_str())
    .bind(s.region.as_str())
    .bind(s.update_time)
    .bind(s.version)
    .bind(expected_version)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Up to `limit` stores after the key `after` (empty: from the start), by key.
pub(crate) async fn list_stores(
    conn: &mut AnyConnection,
    tenant: &str,
    after: &str,
    limit: u32,
) -> Result<Vec<Store>> {
    let sql = format!(
        "SELECT {STORE_COLUMNS} FROM stores WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT {limit}"
    );
    let rows = sqlx::query(&sql)
        .bind(tenant)
        .bind(after)
        .fetch_all(conn)
        .await?;
    rows.iter().map(row_to_store).collect()
}

/// Inserts a team; `false` when its id is taken.
pub(crate) async fn insert_team(tx: &mut Tx, tenant: &str, t: &Team) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO teams (tenant_id, id, display_name, store_id, manager_id, create_time, update_time, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
    )
    .bind(tenant)
    .bind(t.id.as_str())
    .bind(t.display_name.as_str())
    .bind(t.store_id.as_str())
    .bind(t.manager_id.as_str())
    .bind(t.create_time)
    .bind(t.update_time)
    .bind(t.version)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

async fn select_team(
    conn: &mut AnyConnection,
    tenant: &str,
    id: &str,
    lock: &str,
) -> Result<Option<Team>> {
    let sql = format!("SELECT {TEAM_COLUMNS} FROM teams WHERE tenant_id = $1 AND id = $2{lock}");
    let row = sqlx::query(&sql)
        .bind(tenant)
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(row_to_team).transpose()
}

/// A team by key (dwell escalation reads its manager).
pub(crate) async fn get_team(
    conn: &mut AnyConnection,
    tenant: &str,
    id: &str,
) -> Result<Option<Team>> {
    select_team(conn, tenant, id, "").await
}

/// A team by key, locked for the rest of the transaction.
pub(crate) async fn lock_team(
    tx: &mut Tx,
    dialect: Dialect,
    tenant: &str,
    id: &str,
) -> Result<Option<Team>> {
    select_team(tx, tenant, id, dialect.for_update()).await
}

/// Rewrites a team whose stored version is `expected_version`; `false` when it moved on.
pub(crate) async fn update_team(
    tx: &mut Tx,
    tenant: &str,
    t: &Team,
    expected_version: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE teams SET display_name = $3, store_id = $4, manager_id = $5, update_time = $6, \
         version = $7 WHERE tenant_id = $1 AND id = $2 AND version = $8",
    )
    .bind(tenant)
    .bind(t.id.as_str())
    .bind(t.display_name.as_str())
    .bind(t.store_id.as_str())
    .bind(t.manager_id.as_str())
    .bind(t.update_time)
    .bind(t.version)
    .bind(expected_version)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Up to `limit` teams after the key `after`, by key; only those of `store` when it is set.
pub(crate) async fn list_teams(
    conn: &mut AnyConnection,
    tenant: &str,
    store: Option<&str>,
    after: &str,
    limit: u32,
) -> Result<Vec<Team>> {
    let by_store = if store.is_some() {
        " AND store_id = $3"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {TEAM_COLUMNS} FROM teams WHERE tenant_id = $1 AND id > $2{by_store} \
         ORDER BY id LIMIT {limit}"
    );
    let mut q = sqlx::query(&sql).bind(tenant).bind(after);
    if let Some(store) = store {
        q = q.bind(store);
    }
    let rows = q.fetch_all(conn).await?;
    rows.iter().map(row_to_team).collect()
}

/// Inserts a rep with its attribute rows; `false` when its id is taken.
pub(crate) async fn insert_rep(tx: &mut Tx, tenant: &str, r: &Rep) -> Result<bool> {
    let attrs = attrs_json(r)?;
    let done = sqlx::query(
        "INSERT INTO reps (tenant_id, id, display_name, search_name, team_id, store_id, attrs, \
         capacity, daily_claim_limit, weight, status, create_time, update_time, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT DO NOTHING",
    )
    .bind(tenant)
    .bind(r.id.as_str())
    .bind(r.display_name.as_str())
    .bind(r.display_name.to_lowercase())
    .bind(r.team_id.as_str())
    .bind(r.store_id.as_str())
    .bind(attrs)
    .bind(r.capacity)
    .bind(r.daily_claim_limit)
    .bind(r.weight)
    .bind(r.status.as_str())
    .bind(r.create_time)
    .bind(r.update_time)
    .bind(r.version)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    insert_attrs(tx, tenant, r).await?;
    Ok(true)
}

async fn insert_attrs(tx: &mut Tx, tenant: &str, r: &Rep) -> Result<()> {
    let rows: Vec<(&str, &str)> = AttrKind::ALL
        .iter()
        .flat_map(|k| r.attr(*k).iter().map(|v| (k.as_str(), v.as_str())))
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    // At most 4 lists of 50 values: one statement, well under both backends' bind limits.
    let values: Vec<String> = (0..rows.len())
        .map(|i| format!("($1, $2, ${}, ${})", 2 * i + 3, 2 * i + 4))
        .collect();
    let sql = format!(
        "INSERT INTO rep_attrs (tenant_id, rep_id, kind, value) VALUES {} ON CONFLICT DO NOTHING",
        values.join(", ")
    );
    let q = sqlx::query(&sql).bind(tenant).bind(r.id.as_str());
    let q = rows
        .iter()
        .fold(q, |q, (kind, value)| q.bind(*kind).bind(*value));
    q.execute(&mut **tx).await?;
    Ok(())
}

async fn select_rep(
    conn: &mut AnyConnection,
    tenant: &str,
    id: &str,
    lock: &str,
) -> Result<Option<Rep>> {
    let sql =
        format!("SELECT {REP_COLUMNS} FROM reps r WHERE r.tenant_id = $1 AND r.id = $2{lock}");
    let row = sqlx::query(&sql)
        .bind(tenant)
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(row_to_rep).transpose()
}

/// A rep by subject.
pub(crate) async fn get_rep(
    conn: &mut AnyConnection,
    tenant: &str,
    id: &str,
) -> Result<Option<Rep>> {
    select_rep(conn, tenant, id, "").await
}

/// A rep by subject, locked for the rest of the transaction.
pub(crate) async fn lock_rep(
    tx: &mut Tx,
    dialect: Dialect,
    tenant: &str,
    id: &str,
) -> Result<Option<Rep>> {
    select_rep(tx, tenant, id, dialect.for_update()).await
}

/// Rewrites a rep's profile (never its counters) and attribute rows, if its stored version is
/// `expected_version`; `false` when it moved on.
pub(crate) async fn update_rep(
    tx: &mut Tx,
    tenant: &str,
    r: &Rep,
    expected_version: i64,
) -> Result<bool> {
    let attrs = attrs_json(r)?;
    let done = sqlx::query(
        "UPDATE reps SET display_name = $3, search_name = $4, team_id = $5, store_id = $6, \
         attrs = $7, capacity = $8, daily_claim_limit = $9, weight = $10, status = $11, \
         update_time = $12, version = $13 WHERE tenant_id = $1 AND id = $2 AND version = $14",
    )
    .bind(tenant)
    .bind(r.id.as_str())
    .bind(r.display_name.as_str())
    .bind(r.display_name.to_lowercase())
    .bind(r.team_id.as_str())
    .bind(r.store_id.as_str())
    .bind(attrs)
    .bind(r.capacity)
    .bind(r.daily_claim_limit)
    .bind(r.weight)
    .bind(r.status.as_str())
    .bind(r.update_time)
    .bind(r.version)
    .bind(expected_version)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query("DELETE FROM rep_attrs WHERE tenant_id = $1 AND rep_id = $2")
        .bind(tenant)
        .bind(r.id.as_str())
        .execute(&mut **tx)
        .await?;
    insert_attrs(tx, tenant, r).await?;
    Ok(true)
}

/// Up to `limit` reps matching `filter` (placeholders from `$3`) after the subject `after`, by
/// subject.
pub(crate) async fn list_reps(
    conn: &mut AnyConnection,
    tenant: &str,
    filter: Option<&SqlFilter>,
    after: &str,
    limit: u32,
) -> Result<Vec<Rep>> {
    let where_filter = filter
        .map(|f| format!(" AND ({})", f.sql))
        .unwrap_or_default();
    let sql = format!(
        "SELECT {REP_COLUMNS} FROM reps r WHERE r.tenant_id = $1 AND r.id > $2{where_filter} \
         ORDER BY r.id LIMIT {limit}"
    );
    let binds: &[BindValue] = filter.map(|f| f.binds.as_slice()).unwrap_or_default();
    let q = bind_all(sqlx::query(&sql).bind(tenant).bind(after), binds);
    let rows = q.fetch_all(conn).await?;
    rows.iter().map(row_to_rep).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_in_filters_take_names_or_keys() {
        assert_eq!(team_key("teams/north"), Ok("north".into()));
        assert_eq!(team_key("north"), Ok("north".into()));
        assert_eq!(team_key(""), Ok(String::new()));
        assert!(team_key("teams/North").is_err());
        assert!(store_key("teams/north").is_err());
        assert_eq!(skill_value(" Villa "), Ok("villa".into()));
        assert_eq!(region_value(" 深圳 "), Ok("深圳".into()));
    }
}
