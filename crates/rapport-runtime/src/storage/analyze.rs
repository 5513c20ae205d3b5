//! Fresh planner statistics where the service knows its tables just changed (PostgreSQL).
//!
//! PostgreSQL plans a prepared statement once for any parameters (a generic plan) after a few
//! executions, and keeps the plan until the table's statistics change. On a fresh database (just
//! migrated, or just filled by an import) a statement planned while the table was empty keeps
//! scanning it whole as it grows: CreateCustomer's duplicate lookup ran an order of magnitude
//! slower until autovacuum got round to analyzing the table, which under load took minutes. So
//! the service analyzes its tables itself: every table of its schema right after migrating,
//! and a table each time the rows this process wrote to it double (from a few hundred on).
//! Analyzing samples at most a few tens of thousands of rows, so it costs milliseconds, and a
//! doubling schedule makes it rare once the table is large. SQLite keeps no statistics that
//! plans depend on this way (its plans are made per statement and the probes of
//! `Dialect::probe_join` fix the join order), so there is nothing to do there.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use sqlx::AnyPool;

/// Rows written to a table by this process before it is analyzed the first time.
const FIRST_ANALYZE_AFTER: u64 = 500;

#[derive(Debug, Default)]
struct Growth {
    written: u64,
    next: u64,
    running: bool,
}

/// Counts the rows a process writes per table and analyzes a table when they double.
#[derive(Debug, Default)]
pub(crate) struct Analyzer {
    tables: Mutex<HashMap<&'static str, Growth>>,
}

impl Analyzer {
    /// Counts `rows` written to `table`; analyzes it in the background when the count reached
    /// its next doubling.
    pub(crate) fn wrote(self: &Arc<Self>, pool: &AnyPool, table: &'static str, rows: u64) {
        if !self.note(table, rows) {
            return;
        }
        let (this, pool) = (self.clone(), pool.clone());
        tokio::spawn(async move {
            analyze(&pool, table).await;
            this.done(table);
        });
    }

    /// Counts `rows` written to `table`; whether it is due to be analyzed (and now taken).
    fn note(&self, table: &'static str, rows: u64) -> bool {
        let mut tables = self.tables.lock().unwrap_or_else(|e| e.into_inner());
        let g = tables.entry(table).or_insert_with(|| Growth {
            next: FIRST_ANALYZE_AFTER,
            ..Growth::default()
        });
        g.written = g.written.saturating_add(rows);
        let due = g.written >= g.next && !g.running;
        if due {
            g.running = true;
            g.next = g.written.saturating_mul(2);
        }
        due
    }

    /// `table` was analyzed.
    fn done(&self, table: &str) {
        let mut tables = self.tables.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(g) = tables.get_mut(table) {
            g.running = false;
        }
    }
}

/// Analyzes `table` (a name the service wrote itself, never a caller's).
pub(crate) async fn analyze(pool: &AnyPool, table: &str) {
    if let Err(e) = sqlx::raw_sql(&format!("ANALYZE {table}"))
        .execute(pool)
        .await
    {
        tracing::warn!(error = %e, table, "analyzing a table failed; autovacuum will");
    }
}

/// Analyzes every table of `schema`, as a migration leaves them.
pub(crate) async fn analyze_schema(pool: &AnyPool, schema: &str) {
    let tables: Result<Vec<(String,)>, _> =
        sqlx::query_as("SELECT tablename::text FROM pg_tables WHERE schemaname = $1")
            .bind(schema)
            .fetch_all(pool)
            .await;
    match tables {
        Ok(tables) => {
            for (table,) in tables {
                analyze(pool, &table).await;
            }
        }
        Err(e) => tracing::warn!(error = %e, schema, "listing tables to analyze failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_is_analyzed_when_its_writes_double() {
        let a = Analyzer::default();
        let mut due = Vec::new();
        for i in 1..=40 {
            if a.note("t", 100) {
                due.push(i * 100);
                a.done("t");
            }
        }
        assert_eq!(due, [500, 1000, 2000, 4000]);
        // While one analysis runs, no second starts.
        let b = Analyzer::default();
        assert!(b.note("t", 600));
        assert!(!b.note("t", 10_000));
    }
}
