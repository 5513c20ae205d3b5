//! The partner report's numbers, grouped in SQL per partner.

use rapport_runtime::Result;
use sqlx::{AnyConnection, Row};

/// Runs `sql`, a GROUP BY of (partner_id, a key) over `tenant` (`$1`) and the period (`$2`,
/// `$3`) selecting `partner_id`, `k` and `n`, and reads its rows.
async fn grouped(
    conn: &mut AnyConnection,
    sql: &str,
    tenant: &str,
    (start, end): (i64, i64),
) -> Result<Vec<(String, String, i64)>> {
    let rows = sqlx::query(sql)
        .bind(tenant)
        .bind(start)
        .bind(end)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("partner_id")?, r.try_get("k")?, r.try_get("n")?)))
        .collect()
}

/// (partner id, currency, total) of the orders credited to partners, created in the period.
pub(crate) async fn sales(
    conn: &mut AnyConnection,
    tenant: &str,
    period: (i64, i64),
) -> Result<Vec<(String, String, i64)>> {
    let sql = "SELECT partner_id, currency AS k, CAST(SUM(amount) AS BIGINT) AS n \
         FROM attributions WHERE tenant_id = $1 AND kind = 'order' AND create_time >= $2 \
         AND create_time < $3 GROUP BY partner_id, currency";
    grouped(conn, sql, tenant, period).await
}

/// (partner id, currency, total) of the commission lines created in the period.
pub(crate) async fn commissions(
    conn: &mut AnyConnection,
    tenant: &str,
    period: (i64, i64),
) -> Result<Vec<(String, String, i64)>> {
    let sql = "SELECT partner_id, currency AS k, CAST(SUM(amount) AS BIGINT) AS n \
         FROM commission_lines WHERE tenant_id = $1 AND create_time >= $2 AND create_time < $3 \
         GROUP BY partner_id, currency";
    grouped(conn, sql, tenant, period).await
}

/// (partner id, state, count) of the registrations submitted in the period.
pub(crate) async fn registrations(
    conn: &mut AnyConnection,
    tenant: &str,
    period: (i64, i64),
) -> Result<Vec<(String, String, i64)>> {
    let sql = "SELECT partner_id, state AS k, COUNT(*) AS n FROM registrations \
         WHERE tenant_id = $1 AND create_time >= $2 AND create_time < $3 \
         GROUP BY partner_id, state";
    grouped(conn, sql, tenant, period).await
}

/// (id, display name, tier id) of the tenant's partners.
pub(crate) async fn partners(
    conn: &mut AnyConnection,
    tenant: &str,
) -> Result<Vec<(String, String, String)>> {
    Ok(
        sqlx::query_as("SELECT id, display_name, tier_id FROM partners WHERE tenant_id = $1")
            .bind(tenant)
            .fetch_all(conn)
            .await?,
    )
}
