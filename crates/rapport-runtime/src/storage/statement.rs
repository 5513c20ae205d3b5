//! Statements built now and run later. A write defers the statements whose results it does
//! not need (rewriting a row it holds, appending history, the outbox) so that on PostgreSQL
//! they reach the database in one round trip: each becomes a data-modifying CTE of one
//! statement. On SQLite, where a round trip is a function call, they run one by one.

use sqlx::AnyConnection;

use crate::{
    Result,
    dialect::Dialect,
    query::{BindValue, bind_all},
};

/// Bind values per merged statement: PostgreSQL takes at most 65,535.
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

/// Runs `stmts` in order. On PostgreSQL they travel merged, as few statements as the bind
/// limit allows, and all of one merge see the same snapshot: no statement may depend on
/// another's effect or touch a row another touches.
pub async fn execute_all(
    conn: &mut AnyConnection,
    dialect: Dialect,
    stmts: &[Statement],
) -> Result<()> {
    if dialect == Dialect::Sqlite {
        for s in stmts {
            s.execute(conn).await?;
        }
        return Ok(());
    }
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
            merge(group).execute(conn).await?;
        }
        start = end;
    }
    Ok(())
}

/// One PostgreSQL statement doing what `stmts` do: every statement but the last becomes a CTE
/// (PostgreSQL runs data-modifying CTEs to completion whether or not they are read), with its
/// placeholders renumbered after those before it.
fn merge(stmts: &[Statement]) -> Statement {
    let mut sql = String::from("WITH ");
    let mut binds = Vec::with_capacity(stmts.iter().map(Statement::binds).sum());
    let last = stmts.len() - 1;
    for (i, s) in stmts.iter().enumerate() {
        let renumbered = renumber(&s.sql, binds.len());
        if i < last {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("d{i} AS ({renumbered})"));
        } else {
            sql.push(' ');
            sql.push_str(&renumbered);
        }
        binds.extend(s.binds.iter().cloned());
    }
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
    fn all_but_the_last_become_ctes() {
        let a = Statement::new("UPDATE t SET a = $1 WHERE id = $2")
            .bind(1_i64)
            .bind("x");
        let b = Statement::new("INSERT INTO h (id) VALUES ($1)").bind("y");
        let c = Statement::new("INSERT INTO o (id) VALUES ($1)").bind("z");
        let m = merge(&[a, b, c]);
        assert_eq!(
            m.sql,
            "WITH d0 AS (UPDATE t SET a = $1 WHERE id = $2), d1 AS (INSERT INTO h (id) VALUES ($3)) \
             INSERT INTO o (id) VALUES ($4)"
        );
        assert_eq!(m.binds.len(), 4);
    }
}
