//! The reclaim sweep's SQL (LE7): which leads break a follow-up rule, set-based, and taking
//! a batch of them back to the public pool in a few statements.

use rapport_runtime::{Result, clock::Micros, storage::Statement};
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use super::leads::row_to_lead;
use crate::domain::{
    lead::Lead,
    settings::{Condition, FollowUpRule},
};

/// When a rule's clock started for a row: the rule-specific start, as SQL.
fn start_sql(c: Condition) -> &'static str {
    match c {
        Condition::NoFollowUp => {
            "(CASE WHEN last_follow_up_time IS NOT NULL AND last_follow_up_time > assign_time \
             THEN last_follow_up_time ELSE assign_time END)"
        }
        Condition::NoStageAdvance => {
            "(CASE WHEN state_change_time > assign_time THEN state_change_time ELSE assign_time END)"
        }
        Condition::NoDeal => "assign_time",
    }
}

/// The rows `rule` watches (domain::reclaim::applies, as SQL). Binds: $1 tenant, $2 cutoff
/// (a start at or before it is due), $3 the grade when the rule has one.
fn watched_sql(rule: &FollowUpRule) -> String {
    let states = match rule.condition {
        Condition::NoFollowUp | Condition::NoStageAdvance => "('NEW', 'CONTACTING', 'QUALIFIED')",
        Condition::NoDeal => "('NEW', 'CONTACTING', 'QUALIFIED', 'CONVERTED')",
    };
    format!(
        "tenant_id = $1 AND owner_id <> '' AND locked = 0 AND won = 0 AND delete_time IS NULL \
         AND assign_time IS NOT NULL AND assign_time <= $2 AND state IN {states}{} AND {} <= $2",
        if rule.grade.is_some() {
            " AND intent = $3"
        } else {
            ""
        },
        start_sql(rule.condition)
    )
}

/// `sql` (over [`watched_sql`]) with the rule's values bound: tenant, cutoff and the grade.
fn watched(sql: String, tenant: &str, cutoff: Micros, rule: &FollowUpRule) -> Statement {
    let s = Statement::new(sql).bind(tenant).bind(cutoff);
    match rule.grade {
        Some(g) => s.bind(g.as_str()),
        None => s,
    }
}

/// The first placeholder after those [`watched`] binds.
fn next_placeholder(rule: &FollowUpRule) -> usize {
    if rule.grade.is_some() { 4 } else { 3 }
}

/// Up to `limit` leads due under `rule` at `cutoff` (start <= cutoff), longest assigned
/// first (in the order of the index on assignment times, so nothing is sorted), read without
/// locking: [`take_back`] re-checks the rule as it moves them.
pub async fn due_leads(
    conn: &mut AnyConnection,
    tenant: &str,
    rule: &FollowUpRule,
    cutoff: Micros,
    limit: usize,
) -> Result<Vec<Lead>> {
    let sql = format!(
        "SELECT {} FROM leads WHERE {} ORDER BY assign_time LIMIT {limit}",
        super::leads::COLUMNS,
        watched_sql(rule)
    );
    let rows = watched(sql, tenant, cutoff, rule).fetch_all(conn).await?;
    rows.iter().map(row_to_lead).collect()
}

/// Puts those of `ids` still due under `rule` at `cutoff` back into their public pools, in one
/// statement; the ids it moved. The rule is checked again by the UPDATE itself, so a lead
/// followed up (or taken by another sweeper) since it was read stays where it is: on
/// PostgreSQL a concurrent sweeper's rows are waited for and then no longer match.
pub async fn take_back(
    conn: &mut AnyConnection,
    tenant: &str,
    rule: &FollowUpRule,
    cutoff: Micros,
    ids: &[Uuid],
    now: Micros,
) -> Result<Vec<Uuid>> {
    let next = next_placeholder(rule);
    let sql = format!(
        "UPDATE leads SET owner_id = '', team_id = '', assign_time = NULL, update_time = ${next}, \
         version = version + 1 WHERE {} AND id IN ({}) RETURNING id",
        watched_sql(rule),
        super::placeholders(next + 1, ids.len()),
    );
    let s = watched(sql, tenant, cutoff, rule).bind(now);
    let rows = ids
        .iter()
        .fold(s, |s, id| s.bind(id.to_string()))
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| super::uuid(&r.try_get::<String, _>("id")?))
        .collect()
}

/// Leads under `rule` whose warning time has come (start <= warn_cutoff) and who were not
/// warned for this clock start yet.
pub async fn to_warn(
    conn: &mut AnyConnection,
    tenant: &str,
    rule: &FollowUpRule,
    rule_key: &str,
    warn_cutoff: Micros,
) -> Result<Vec<Lead>> {
    let sql = format!(
        "SELECT {} FROM leads WHERE {} AND NOT EXISTS (SELECT 1 FROM alerts a WHERE \
         a.tenant_id = leads.tenant_id AND a.dedupe_key <> '' AND a.dedupe_key = {}) \
         ORDER BY id LIMIT 1000",
        super::leads::COLUMNS,
        watched_sql(rule),
        warning_key_sql(rule, rule_key)
    );
    let rows = watched(sql, tenant, warn_cutoff, rule)
        .fetch_all(conn)
        .await?;
    rows.iter().map(row_to_lead).collect()
}

/// The dedupe key of a reclaim warning, as SQL over a lead row; must equal [`warning_key`].
fn warning_key_sql(rule: &FollowUpRule, rule_key: &str) -> String {
    format!(
        "'reclaim-warning:' || leads.id || ':{rule_key}:' || CAST({} AS TEXT)",
        start_sql(rule.condition)
            .replace("last_follow_up_time", "leads.last_follow_up_time")
            .replace("assign_time", "leads.assign_time")
            .replace("state_change_time", "leads.state_change_time")
    )
}

/// The dedupe key of the warning for `lead` whose rule clock started at `start`.
pub fn warning_key(lead: Uuid, rule_key: &str, start: Micros) -> String {
    format!("reclaim-warning:{lead}:{rule_key}:{start}")
}
