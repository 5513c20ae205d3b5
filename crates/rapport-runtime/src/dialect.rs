//! The few places where PostgreSQL and SQLite SQL must differ. Everything else is written once
//! in the subset both speak (`$1` placeholders, RETURNING, ON CONFLICT, CTEs, window functions).

/// The SQL dialect of a database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// PostgreSQL.
    Postgres,
    /// SQLite.
    Sqlite,
}

impl Dialect {
    /// The text at `key` of a JSON object stored as TEXT in `column`. `key` must be a plain
    /// identifier (`[a-z0-9_]+`); callers validate it, as it is spliced into SQL.
    pub fn json_text(self, column: &str, key: &str) -> String {
        debug_assert!(key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
        match self {
            Dialect::Postgres => format!("(({column})::jsonb ->> '{key}')"),
            // json_extract yields typed SQL values; render them as PostgreSQL's ->> would.
            Dialect::Sqlite => format!(
                "(CASE json_type({column}, '$.{key}') WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' \
                 ELSE CAST(json_extract({column}, '$.{key}') AS TEXT) END)"
            ),
        }
    }

    /// The number at `key` of a JSON object stored as TEXT in `column`, for numeric comparison.
    pub fn json_number(self, column: &str, key: &str) -> String {
        debug_assert!(key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
        match self {
            // Only numbers are cast, so one odd value cannot fail the whole query.
            Dialect::Postgres => format!(
                "(CASE WHEN jsonb_typeof(({column})::jsonb -> '{key}') = 'number' \
                 THEN (({column})::jsonb ->> '{key}')::double precision END)"
            ),
            // As on PostgreSQL, only numbers: a text that looks like one is still text.
            Dialect::Sqlite => format!(
                "(CASE WHEN json_type({column}, '$.{key}') IN ('integer', 'real') \
                 THEN CAST(json_extract({column}, '$.{key}') AS REAL) END)"
            ),
        }
    }

    /// Suffix that locks selected rows for the rest of the transaction, skipping rows another
    /// transaction holds. SQLite has one writer at a time, so it needs none.
    pub fn for_update_skip_locked(self) -> &'static str {
        match self {
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
            Dialect::Sqlite => "",
        }
    }

    /// Suffix that locks selected rows for the rest of the transaction.
    pub fn for_update(self) -> &'static str {
        match self {
            Dialect::Postgres => " FOR UPDATE",
            Dialect::Sqlite => "",
        }
    }

    /// As [`Dialect::for_update`], locking only the rows of the table named (or aliased)
    /// `table`: a select that outer-joins other rows to it cannot lock those, and need not.
    pub fn for_update_of(self, table: &str) -> String {
        match self {
            Dialect::Postgres => format!(" FOR UPDATE OF {table}"),
            Dialect::Sqlite => String::new(),
        }
    }

    /// A statement taking transaction-scoped locks on the text keys `$1..$n`, in byte order (as
    /// Rust sorts them, so chunks of a longer sorted list lock in one global order), so
    /// writers checking the same keys (e.g. phone numbers for duplicates) take turns without
    /// deadlocking. SQLite needs none: its write transactions already run one at a time.
    pub fn advisory_xact_locks(self, n: usize) -> Option<String> {
        match self {
            Dialect::Postgres => Some(advisory_locks_over((1..=n).map(|i| format!("${i}")))),
            Dialect::Sqlite => None,
        }
    }

    /// A simple query that opens a write transaction already holding the locks of
    /// [`Dialect::advisory_xact_locks`] on `keys`, which travel as literals so that the
    /// transaction and its locks take one round trip. The locks come first, in the implicit
    /// transaction that BEGIN then turns into the write's: a lock that fails (deadlock, timeout)
    /// rolls back all of it and leaves no transaction open on the connection. `None` on SQLite
    /// or when a key cannot be written as a literal.
    pub fn begin_locking(self, keys: &[String]) -> Option<String> {
        match self {
            Dialect::Postgres => {
                let literals = keys
                    .iter()
                    .map(|k| pg_literal(k))
                    .collect::<Option<Vec<_>>>()?;
                Some(format!(
                    "{}; {}",
                    advisory_locks_over(literals.into_iter()),
                    self.begin_write()
                ))
            }
            Dialect::Sqlite => None,
        }
    }

    /// A join that probes `table` once per row of what precedes it, keeping the rows matching
    /// `on` and naming them `alias`; `on` and `columns` qualify `table`'s columns with `alias`. For lookups
    /// of many keys by index, which neither planner reliably chooses: SQLite, keeping no
    /// statistics, scanned the table instead unless CROSS JOIN fixes the order; PostgreSQL
    /// hashed the whole table while its statistics described a smaller one, so there the probe
    /// is a LATERAL subquery that OFFSET 0 keeps from being merged back into a plain join.
    pub fn probe_join(self, table: &str, columns: &str, alias: &str, on: &str) -> String {
        match self {
            Dialect::Postgres => format!(
                "CROSS JOIN LATERAL (SELECT {columns} FROM {table} {alias} WHERE {on} OFFSET 0) {alias}"
            ),
            Dialect::Sqlite => format!("CROSS JOIN {table} {alias} ON {on}"),
        }
    }

    /// The rows of `param`, a JSON array of arrays, as a subquery whose column `columns[i]` is
    /// each inner array's element `i` as text. One parameter carries any number of rows: the
    /// statement stays small to plan, where a VALUES list of a thousand rows took longer to
    /// parse and plan than to run.
    pub fn json_rows(self, param: &str, columns: &[&str]) -> String {
        let (elements, element) = match self {
            Dialect::Postgres => (format!("json_array_elements({param}::json) e"), "e"),
            Dialect::Sqlite => (format!("json_each({param})"), "value"),
        };
        let selected: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{element} ->> {i} AS {c}"))
            .collect();
        format!("(SELECT {} FROM {elements})", selected.join(", "))
    }

    /// Whether write transactions run one at a time (SQLite's single writer), so a write never
    /// sees another commit while it runs and its locks are no-ops.
    pub fn writers_take_turns(self) -> bool {
        self == Dialect::Sqlite
    }

    /// The statement that opens a write transaction. SQLite must take its write lock up front
    /// (`BEGIN IMMEDIATE`) or two readers upgrading at once deadlock with SQLITE_BUSY.
    pub fn begin_write(self) -> &'static str {
        match self {
            Dialect::Postgres => "BEGIN",
            Dialect::Sqlite => "BEGIN IMMEDIATE",
        }
    }
}

/// PostgreSQL's advisory transaction locks on the text `values`, taken in byte order.
fn advisory_locks_over(values: impl Iterator<Item = String>) -> String {
    let rows: Vec<String> = values.map(|v| format!("({v})")).collect();
    format!(
        "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM \
         (SELECT k FROM (VALUES {}) AS v(k) ORDER BY k COLLATE \"C\") AS sorted",
        rows.join(", ")
    )
}

/// `value` as a PostgreSQL escape-string literal, whatever `standard_conforming_strings` says;
/// `None` for a NUL, which no PostgreSQL text can hold.
fn pg_literal(value: &str) -> Option<String> {
    if value.contains('\0') {
        return None;
    }
    Some(format!(
        "E'{}'",
        value.replace('\\', "\\\\").replace('\'', "''")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_access_differs_by_dialect() {
        assert!(
            Dialect::Sqlite
                .json_text("c.custom", "size")
                .contains("json_extract(c.custom, '$.size')")
        );
        assert_eq!(
            Dialect::Postgres.json_text("c.custom", "size"),
            "((c.custom)::jsonb ->> 'size')"
        );
    }

    #[test]
    fn json_rows_read_each_inner_array_by_position() {
        assert_eq!(
            Dialect::Postgres.json_rows("$2", &["kind", "value"]),
            "(SELECT e ->> 0 AS kind, e ->> 1 AS value FROM json_array_elements($2::json) e)"
        );
        assert_eq!(
            Dialect::Sqlite.json_rows("$2", &["kind", "value"]),
            "(SELECT value ->> 0 AS kind, value ->> 1 AS value FROM json_each($2))"
        );
    }

    #[test]
    fn probe_joins_are_lateral_on_postgres_and_ordered_joins_on_sqlite() {
        let on = "k.tenant_id = $1 AND k.value = q.column1";
        assert_eq!(
            Dialect::Postgres.probe_join("contacts", "k.id, k.value", "k", on),
            "CROSS JOIN LATERAL (SELECT k.id, k.value FROM contacts k \
             WHERE k.tenant_id = $1 AND k.value = q.column1 OFFSET 0) k"
        );
        assert_eq!(
            Dialect::Sqlite.probe_join("contacts", "k.id, k.value", "k", on),
            "CROSS JOIN contacts k ON k.tenant_id = $1 AND k.value = q.column1"
        );
    }
}
