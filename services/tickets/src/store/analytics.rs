//! The aggregates of ticket reports (TK7), each one grouped query over the tickets created in
//! the range (the `(tenant_id, create_time)` index); the report runs them concurrently.

use rapport_runtime::{
    Result,
    storage::{BindValue, bind_all},
};
use sqlx::{AnyConnection, Row};

/// The tickets a report covers: the tenant, [start, end), and a team when given.
#[derive(Debug, Clone)]
pub struct Scope {
    pub tenant: String,
    pub start: i64,
    pub end: i64,
    pub team: Option<String>,
}

impl Scope {
    /// The WHERE clause over `tickets` and its values after the tenant.
    fn clause(&self) -> (String, Vec<BindValue>) {
        let mut sql = "WHERE tenant_id = $1 AND create_time >= $2 AND create_time < $3".to_owned();
        let mut binds = vec![BindValue::Int(self.start), BindValue::Int(self.end)];
        if let Some(team) = &self.team {
            sql.push_str(" AND team_id = $4");
            binds.push(BindValue::Text(team.clone()));
        }
        (sql, binds)
    }

    /// The placeholder after the clause's.
    fn next(&self) -> usize {
        if self.team.is_some() { 5 } else { 4 }
    }
}

/// Counts by type and channel, with the SLA outcomes and reopen counts of each group.
#[derive(Debug, Clone, Default)]
pub struct Group {
    pub ticket_type: String,
    pub channel: String,
    pub count: i64,
    /// Per target (first response, next response, resolution): (met in time, breached).
    pub sla: [(i64, i64); 3],
    pub resolved: i64,
    pub reopened: i64,
}

pub(crate) async fn groups(conn: &mut AnyConnection, s: &Scope) -> Result<Vec<Group>> {
    let (clause, binds) = s.clause();
    let outcome = |c: &str| {
        format!(
            "SUM(CASE WHEN {c} = 1 THEN 1 ELSE 0 END) AS {c}_met, \
             SUM(CASE WHEN {c} = 2 THEN 1 ELSE 0 END) AS {c}_breached"
        )
    };
    let sql = format!(
        "SELECT ticket_type, channel, COUNT(*) AS n, {}, {}, {}, \
         SUM(CASE WHEN resolve_time IS NOT NULL THEN 1 ELSE 0 END) AS resolved, \
         SUM(CASE WHEN resolve_time IS NOT NULL AND reopen_count > 0 THEN 1 ELSE 0 END) \
         AS reopened FROM tickets {clause} GROUP BY ticket_type, channel",
        outcome("sla_first_response"),
        outcome("sla_next_response"),
        outcome("sla_resolution"),
    );
    let rows = bind_all(sqlx::query(&sql).bind(&s.tenant), &binds)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| {
            let pair = |c: &str| -> Result<(i64, i64)> {
                Ok((
                    r.try_get::<i64, _>(format!("{c}_met").as_str())?,
                    r.try_get::<i64, _>(format!("{c}_breached").as_str())?,
                ))
            };
            Ok(Group {
                ticket_type: r.try_get("ticket_type")?,
                channel: r.try_get("channel")?,
                count: r.try_get("n")?,
                sla: [
                    pair("sla_first_response")?,
                    pair("sla_next_response")?,
                    pair("sla_resolution")?,
                ],
                resolved: r.try_get("resolved")?,
                reopened: r.try_get("reopened")?,
            })
        })
        .collect()
}

/// Tickets per bucket of `width` microseconds of creation time: (bucket, count).
pub(crate) async fn by_bucket(
    conn: &mut AnyConnection,
    s: &Scope,
    width: i64,
) -> Result<Vec<(i64, i64)>> {
    let (clause, binds) = s.clause();
    let sql = format!(
        "SELECT create_time / {width} AS b, COUNT(*) AS n FROM tickets {clause} \
         GROUP BY create_time / {width}"
    );
    let rows = bind_all(sqlx::query(&sql).bind(&s.tenant), &binds)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("b")?, r.try_get("n")?)))
        .collect()
}

/// A histogram of `column` (business seconds) by minute, lowest first.
pub(crate) async fn minutes(
    conn: &mut AnyConnection,
    s: &Scope,
    column: &'static str,
) -> Result<Vec<(i64, i64)>> {
    let (clause, binds) = s.clause();
    let sql = format!(
        "SELECT {column} / 60 AS b, COUNT(*) AS n FROM tickets {clause} \
         AND {column} IS NOT NULL GROUP BY {column} / 60 ORDER BY 1"
    );
    let rows = bind_all(sqlx::query(&sql).bind(&s.tenant), &binds)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("b")?, r.try_get("n")?)))
        .collect()
}

/// The `rank`-th (0-based) value of `column` within the minute `minute`.
pub(crate) async fn value_in_minute(
    conn: &mut AnyConnection,
    s: &Scope,
    column: &'static str,
    (minute, rank): (i64, i64),
) -> Result<i64> {
    let (clause, mut binds) = s.clause();
    let n = s.next();
    let sql = format!(
        "SELECT {column} AS v FROM tickets {clause} AND {column} >= ${n} AND {column} < ${} \
         ORDER BY {column} LIMIT 1 OFFSET {rank}",
        n + 1
    );
    binds.push(BindValue::Int(minute * 60));
    binds.push(BindValue::Int(minute * 60 + 60));
    let v: Option<i64> = bind_all(sqlx::query_scalar(&sql).bind(&s.tenant), &binds)
        .fetch_optional(conn)
        .await?;
    Ok(v.unwrap_or(minute * 60))
}

/// The most frequent categories of tickets of `types`, at most 10.
pub(crate) async fn top_categories(
    conn: &mut AnyConnection,
    s: &Scope,
    types: &[String],
) -> Result<Vec<(String, i64)>> {
    if types.is_empty() {
        return Ok(Vec::new());
    }
    let (clause, mut binds) = s.clause();
    let first = s.next();
    let list: Vec<String> = (0..types.len())
        .map(|i| format!("${}", first + i))
        .collect();
    binds.extend(types.iter().map(|t| BindValue::Text(t.clone())));
    let sql = format!(
        "SELECT category, COUNT(*) AS n FROM tickets {clause} AND category <> '' \
         AND ticket_type IN ({}) GROUP BY category ORDER BY n DESC, category LIMIT 10",
        list.join(", ")
    );
    let rows = bind_all(sqlx::query(&sql).bind(&s.tenant), &binds)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("category")?, r.try_get("n")?)))
        .collect()
}

/// Satisfaction answers by (resolving agent, team): answers and the sum of scores.
pub(crate) async fn satisfaction(
    conn: &mut AnyConnection,
    s: &Scope,
) -> Result<Vec<(String, String, i64, i64)>> {
    let (clause, binds) = s.clause();
    let sql = format!(
        "SELECT resolved_by, team_id, COUNT(*) AS n, SUM(satisfaction) AS total FROM tickets \
         {clause} AND satisfaction IS NOT NULL GROUP BY resolved_by, team_id"
    );
    let rows = bind_all(sqlx::query(&sql).bind(&s.tenant), &binds)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("resolved_by")?,
                r.try_get("team_id")?,
                r.try_get("n")?,
                r.try_get("total")?,
            ))
        })
        .collect()
}
