//! Statements built now and run later. A write defers the statements whose results it does
//! not need (rewriting a row it holds, appending history, the outbox) so that on PostgreSQL
//! they reach the database in one round trip: each becomes a data-modifying CTE of one
//! statement. On SQLite they travel as one script: sqlx runs SQLite on a worker thread, so each
//! statement sent alone costs two thread wake-ups while the writer lock is held.

use sqlx::AnyConnection;

use crate::{
    Result,
    dialect::Dialect,
    storage::{BindValue, bind_all},
};

/// Bind values per merged statement: PostgreSQL takes at most 65,535, SQLite 32,766.
const MAX_BINDS: usize = 30_000;

/// SQL with its bind values (`$1`, `$2`, … in order).
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    sql: String,
    binds: Vec<BindValue>,
}

impl Statement {
    /// A statement with no values bound yet.
    pub fn new(sql: impl Into<String>) -> Self {
        Self {
            sql: sql.into(),
            binds: Vec::new(),
        }
    }

    /// Binds the next placeholder.
    pub fn bind(mut self, value: impl Into<BindValue>) -> Self {
        self.binds.push(value.into());
        self
    }

    /// How many values are bound.
    pub fn binds(&self) -> usize {
        self.binds.len()
    }

    /// Runs the statement now; the rows it returns.
    pub async fn fetch_all(&self, conn: &mut AnyConnection) -> Result<Vec<sqlx::any::AnyRow>> {
        Ok(bind_all(sqlx::query(&self.sql), &self.binds)
            .fetch_all(conn)
            .await?)
    }

    /// Runs the statement now; the rows it changed.
    pub async fn execute(&self, conn: &mut AnyConnection) -> Result<u64> {
        Ok(bind_all(sqlx::query(&self.sql), &self.binds)
            .execute(conn)
            .await?
            .rows_affected())
    }
}

/// Runs `stmts` in order, merged into as few round trips as the bind limit allows. On
/// PostgreSQL all of one merge see the same snapshot: no statement may depend on another's
/// effect or touch a row another touches.
pub async fn execute_all(
    conn: &mut AnyConnection,
    dialect: Dialect,
    stmts: &[Statement],
) -> Result<()> {
    let mut start = 0;
    while start < stmts.len() {
        let mut end = start + 1;
        let mut binds = stmts[start].binds();
        while end < stmts.len() && binds + stmts[end].binds() <= MAX_BINDS {
            binds += stmts[end].binds();
            end += 1;
        }
        let group = &stmts[start..end];
        if let [one] = group {
            one.execute(conn).await?;
        } else {
            merge(group, dialect).execute(conn).await?;
        }
        start = end;
    }
    Ok(())
}

/// One round trip doing what `stmts` do, each statement's placeholders renumbered after those
/// before it. On PostgreSQL every statement but the last becomes a CTE (PostgreSQL runs
/// data-modifying CTEs to completion whether or not they are read); on SQLite they form a
/// script, whose `$n` placeholders sqlx binds by name in every statement.
fn merge(stmts: &[Statement], dialect: Dialect) -> Statement {
    let mut binds = Vec::with_capacity(stmts.iter().map(Statement::binds).sum());
    let mut parts = Vec::with_capacity(stmts.len());
    for s in stmts {
        parts.push(renumber(&s.sql, binds.len()));
        binds.extend(s.binds.iter().cloned());
    }
    let sql = match (dialect, parts.split_last()) {
        (Dialect::Postgres, Some((last, ctes))) if !ctes.is_empty() => {
            let ctes: Vec<String> = ctes
                .iter()
                .enumerate()
                .map(|(i, part)| format!("d{i} AS ({part})"))
                .collect();
            format!("WITH {} {last}", ctes.join(", "))
        }
        _ => parts.join(";\n"),
    };
    Statement { sql, binds }
}

/// `sql` with each placeholder `$n` outside string literals turned into `$(n + offset)`.
fn renumber(sql: &str, offset: usize) -> String {
    if offset == 0 {
        return sql.to_owned();
    }
    let mut out = String::with_capacity(sql.len() + 16);
    let mut chars = sql.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        if c == '\'' {
            quoted = !quoted;
        }
        if c != '$' || quoted || !chars.peek().is_some_and(char::is_ascii_digit) {
            out.push(c);
            continue;
        }
        let mut n = 0usize;
        while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
            n = n * 10 + d as usize;
            chars.next();
        }
        out.push_str(&format!("${}", n + offset));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_move_after_those_before_and_literals_stay() {
        assert_eq!(
            renumber("UPDATE t SET a = $1, b = '$2' WHERE id = $12", 3),
            "UPDATE t SET a = $4, b = '$2' WHERE id = $15"
        );
        assert_eq!(renumber("SELECT $1", 0), "SELECT $1");
    }

    #[test]
    fn merges_are_ctes_on_postgres_and_scripts_on_sqlite() {
        let a = Statement::new("UPDATE t SET a = $1 WHERE id = $2")
            .bind(1_i64)
            .bind("x");
        let b = Statement::new("INSERT INTO h (id) VALUES ($1)").bind("y");
        let c = Statement::new("INSERT INTO o (id) VALUES ($1)").bind("z");
        let m = merge(&[a.clone(), b.clone(), c.clone()], Dialect::Postgres);
        assert_eq!(
            m.sql,
            "WITH d0 AS (UPDATE t SET a = $1 WHERE id = $2), d1 AS (INSERT INTO h (id) VALUES ($3)) \
             INSERT INTO o (id) VALUES ($4)"
        );
        assert_eq!(m.binds.len(), 4);
        let m = merge(&[a, b, c], Dialect::Sqlite);
        assert_eq!(
            m.sql,
            "UPDATE t SET a = $1 WHERE id = $2;\nINSERT INTO h (id) VALUES ($3);\nINSERT INTO o (id) VALUES ($4)"
        );
        assert_eq!(m.binds.len(), 4);
    }
}
