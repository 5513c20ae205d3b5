//! Pipelines the tenants stored, with the built-in example standing in for a tenant that never
//! changed it, and the locks that keep stage removal and moves apart.

use rapport_runtime::{Error, Result, dialect::Dialect, storage::Tx};
use sqlx::{AnyConnection, Row, any::AnyRow};

use crate::domain::pipeline::{self, EXAMPLE_ID, Pipeline, Stage};

const COLUMNS: &str = "id, display_name, stages, create_time, update_time, version";

fn row_to_pipeline(row: &AnyRow) -> Result<Pipeline> {
    let stages: String = row.try_get("stages")?;
    let stages: Vec<Stage> = serde_json::from_str(&stages).map_err(Error::internal)?;
    Ok(Pipeline {
        id: row.try_get("id")?,
        display_name: row.try_get("display_name")?,
        stages,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
        version: row.try_get("version")?,
    })
}

/// The tenant's pipeline `id`: its stored row, else the built-in example for its id.
pub(crate) async fn get(
    conn: &mut AnyConnection,
    tenant: &str,
    id: &str,
) -> Result<Option<Pipeline>> {
    match get_stored(conn, tenant, id).await? {
        Some(p) => Ok(Some(p)),
        None => Ok((id == EXAMPLE_ID).then(pipeline::example)),
    }
}

/// The tenant's stored pipeline `id`, if it stored one.
pub(crate) async fn get_stored(
    conn: &mut AnyConnection,
    tenant: &str,
    id: &str,
) -> Result<Option<Pipeline>> {
    let sql = format!("SELECT {COLUMNS} FROM pipelines WHERE tenant_id = $1 AND id = $2");
    let row = sqlx::query(&sql)
        .bind(tenant)
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(row_to_pipeline).transpose()
}

/// Every pipeline the tenant stored, by id (forecasts weigh by any of them).
pub(crate) async fn all_stored(conn: &mut AnyConnection, tenant: &str) -> Result<Vec<Pipeline>> {
    let sql = format!("SELECT {COLUMNS} FROM pipelines WHERE tenant_id = $1 ORDER BY id");
    let rows = sqlx::query(&sql).bind(tenant).fetch_all(conn).await?;
    rows.iter().map(row_to_pipeline).collect()
}

/// Up to `limit` stored pipelines with ids after `after`, by id.
pub(crate) async fn list_stored(
    conn: &mut AnyConnection,
    tenant: &str,
    after: &str,
    limit: u32,
) -> Result<Vec<Pipeline>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM pipelines WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT {limit}"
    );
    let rows = sqlx::query(&sql)
        .bind(tenant)
        .bind(after)
        .fetch_all(conn)
        .await?;
    rows.iter().map(row_to_pipeline).collect()
}

/// Stores a new pipeline; `false` when the tenant already stored one with its id.
pub(crate) async fn insert(tx: &mut Tx, tenant: &str, p: &Pipeline) -> Result<bool> {
    let stages = serde_json::to_string(&p.stages).map_err(Error::internal)?;
    let done = sqlx::query(
        "INSERT INTO pipelines (tenant_id, id, display_name, stages, create_time, update_time, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, id) DO NOTHING",
    )
    .bind(tenant)
    .bind(p.id.as_str())
    .bind(p.display_name.as_str())
    .bind(stages)
    .bind(p.create_time)
    .bind(p.update_time)
    .bind(p.version)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Rewrites a stored pipeline whose version is `expected_version`; `false` when it moved on.
pub(crate) async fn update(
    tx: &mut Tx,
    tenant: &str,
    p: &Pipeline,
    expected_version: i64,
) -> Result<bool> {
    let stages = serde_json::to_string(&p.stages).map_err(Error::internal)?;
    let done = sqlx::query(
        "UPDATE pipelines SET display_name = $3, stages = $4, update_time = $5, version = $6 \
         WHERE tenant_id = $1 AND id = $2 AND version = $7",
    )
    .bind(tenant)
    .bind(p.id.as_str())
    .bind(p.display_name.as_str())
    .bind(stages)
    .bind(p.update_time)
    .bind(p.version)
    .bind(expected_version)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Takes the pipeline's lock for the rest of the transaction: shared by writers that put
/// opportunities into its stages (create, move), exclusive for a change of its stages, so a
/// stage is never removed while an opportunity is being moved into it. SQLite needs none: its
/// writers already take turns.
pub(crate) async fn lock(tx: &mut Tx, tenant: &str, id: &str, exclusive: bool) -> Result<()> {
    if tx.dialect() != Dialect::Postgres {
        return Ok(());
    }
    // Same hash as the runtime's key locks, in a namespace of its own.
    let sql = if exclusive {
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"
    } else {
        "SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 0))"
    };
    sqlx::query(sql)
        .bind(format!("leads/{tenant}/pipelines/{id}"))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Which of `stages` of pipeline `id` open opportunities are in.
pub(crate) async fn stages_in_use(
    tx: &mut Tx,
    tenant: &str,
    id: &str,
    stages: &[String],
) -> Result<Vec<String>> {
    if stages.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT DISTINCT stage FROM opportunities WHERE tenant_id = $1 AND pipeline_id = $2 \
         AND state = 'OPEN' AND stage IN ({}) ORDER BY stage",
        super::placeholders(3, stages.len())
    );
    let q = stages.iter().fold(
        sqlx::query_scalar::<_, String>(&sql).bind(tenant).bind(id),
        |q, s| q.bind(s.as_str()),
    );
    Ok(q.fetch_all(&mut **tx).await?)
}
