//! A list's SELECT, assembled one way: the statement's own placeholders first (the tenant is
//! `$1`), then the filter (numbered when it was parsed, right after them), then whatever else
//! narrows the rows (the caller's visibility, a parent, flags), then the page: the keyset after
//! the cursor, the order and the limit. Every value travels as a bind value.

use rapport_runtime::{
    Error, Result,
    storage::{BindValue, bind_all},
};
use sqlx::{AnyConnection, any::AnyRow};

use super::{CursorValue, ListQuery, OrderBy, Page, SqlFilter, keyset_after, order_sql};
use crate::visibility::Scope;

/// A SELECT under construction.
#[derive(Debug, Clone)]
pub struct Select {
    sql: String,
    binds: Vec<BindValue>,
    leading: usize,
}

impl Select {
    /// `base` (a SELECT … WHERE with its first condition) using the placeholders `$1` to
    /// `$leading`, whose values the caller binds first.
    pub fn new(base: impl Into<String>, leading: usize) -> Self {
        Self {
            sql: base.into(),
            binds: Vec::new(),
            leading,
        }
    }

    /// As [`Select::new`], narrowed by a list's filter (parsed with its placeholders
    /// numbered from `leading + 1`).
    pub fn filtered(base: impl Into<String>, leading: usize, filter: Option<&SqlFilter>) -> Self {
        let mut s = Self::new(base, leading);
        if let Some(f) = filter {
            s.sql.push_str(&format!(" AND ({})", f.sql));
            s.binds.extend(f.binds.iter().cloned());
        }
        s
    }

    /// Adds `value` and returns its placeholder's number, for a condition to name.
    pub fn bind(&mut self, value: BindValue) -> usize {
        self.binds.push(value);
        self.leading + self.binds.len()
    }

    /// Narrows the rows by `condition`, which names only placeholders from [`Select::bind`].
    pub fn and(&mut self, condition: &str) -> &mut Self {
        self.sql.push_str(" AND ");
        self.sql.push_str(condition);
        self
    }

    /// Keeps the rows whose `column` is `value`: a list's filter by one of its fields.
    pub fn and_eq(&mut self, column: &str, value: impl Into<BindValue>) -> &mut Self {
        let n = self.bind(value.into());
        self.and(&format!("{column} = ${n}"))
    }

    /// Keeps the rows `scope` sees, over the columns `owner` and `team`.
    pub fn and_visible(&mut self, scope: &Scope, owner: &str, team: &str) -> &mut Self {
        let first = self.leading + self.binds.len() + 1;
        if let Some(condition) = scope.sql(owner, team, first, &mut self.binds) {
            self.and(&condition);
        }
        self
    }

    /// Keeps the rows `scope` sees and those `everyone` matches (rows visible to all, such as
    /// a public pool's).
    pub fn and_visible_or(
        &mut self,
        scope: &Scope,
        owner: &str,
        team: &str,
        everyone: &str,
    ) -> &mut Self {
        let first = self.leading + self.binds.len() + 1;
        if let Some(condition) = scope.sql(owner, team, first, &mut self.binds) {
            self.and(&format!("({everyone} OR {condition})"));
        }
        self
    }

    /// The statement for one page in `order` after `cursor`, sorted on `sort` with ties broken
    /// on `id`, `fetch` rows at most; with the values to bind after the leading ones.
    pub fn page(
        mut self,
        order: &OrderBy,
        cursor: &[CursorValue],
        sort: &str,
        id: &str,
        fetch: u32,
    ) -> Result<(String, Vec<BindValue>)> {
        if !cursor.is_empty() {
            let first = self.leading + self.binds.len() + 1;
            let after = keyset_after(order, sort, id, cursor, first)
                .map_err(|v| Error::InvalidArgument(vec![v]))?;
            self.and(&after.sql);
            self.binds.extend(after.binds);
        }
        self.sql.push_str(&format!(
            " ORDER BY {} LIMIT {fetch}",
            order_sql(order, sort, id)
        ));
        Ok((self.sql, self.binds))
    }

    /// The statement as it stands, with no order or limit: a count or another aggregate over
    /// the rows it keeps.
    pub fn finish(self) -> (String, Vec<BindValue>) {
        (self.sql, self.binds)
    }

    /// The statement for up to `fetch` rows in ascending order of `key`, a unique column,
    /// starting after the value `after` (none: from the first row): a walk over every row,
    /// resumed where it stopped, on one range of an index that leads with `key`'s columns.
    pub fn ascending(
        mut self,
        key: &str,
        after: Option<BindValue>,
        fetch: u32,
    ) -> (String, Vec<BindValue>) {
        if let Some(after) = after {
            let n = self.bind(after);
            self.and(&format!("{key} > ${n}"));
        }
        self.sql
            .push_str(&format!(" ORDER BY {key} ASC LIMIT {fetch}"));
        (self.sql, self.binds)
    }

    /// The statement for the page `q` asks for, sorted on `sort` (the column of `q`'s order).
    pub fn list(self, q: &ListQuery, sort: &str, id: &str) -> Result<(String, Vec<BindValue>)> {
        self.page(&q.order, &q.after, sort, id, q.fetch())
    }

    /// The statement for `page` of a list in the fixed `order`.
    pub fn fixed(
        self,
        page: &Page,
        order: &OrderBy,
        sort: &str,
        id: &str,
    ) -> Result<(String, Vec<BindValue>)> {
        self.page(order, &page.after, sort, id, page.fetch())
    }
}

impl Select {
    /// The rows of `page` of a list in the fixed `order`, sorted on `sort` with ties broken on
    /// `id`, read on `conn` from a statement whose one leading placeholder, `$1`, is `tenant`;
    /// each decoded with `decode`.
    pub async fn fetch_fixed<T>(
        self,
        conn: &mut AnyConnection,
        tenant: &str,
        (page, order): (&Page, &OrderBy),
        (sort, id): (&str, &str),
        decode: impl Fn(&AnyRow) -> Result<T>,
    ) -> Result<Vec<T>> {
        debug_assert_eq!(self.leading, 1, "the tenant is the one leading placeholder");
        let (sql, binds) = self.fixed(page, order, sort, id)?;
        let rows = bind_all(sqlx::query(&sql).bind(tenant), &binds)
            .fetch_all(conn)
            .await?;
        rows.iter().map(decode).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_and_the_page_number_their_placeholders_in_turn() {
        let filter = SqlFilter {
            sql: "state = $2".into(),
            binds: vec![BindValue::Text("OPEN".into())],
        };
        let mut s = Select::filtered("SELECT x FROM t WHERE tenant_id = $1", 1, Some(&filter));
        let n = s.bind(BindValue::Int(5));
        s.and(&format!("size > ${n}"));
        s.and_eq("kind", "sofa");
        s.and_visible(
            &Scope::Own {
                subject: "rep-1".into(),
            },
            "owner_id",
            "team_id",
        );
        let (sql, binds) = s
            .page(
                &OrderBy::desc("create_time"),
                &[CursorValue::Int(9), CursorValue::Text("a".into())],
                "create_time",
                "id",
                51,
            )
            .unwrap();
        assert_eq!(
            sql,
            "SELECT x FROM t WHERE tenant_id = $1 AND (state = $2) AND size > $3 AND \
             kind = $4 AND owner_id = $5 AND (create_time < $6 OR (create_time = $6 AND id < $7)) \
             ORDER BY create_time DESC, id DESC LIMIT 51"
        );
        assert_eq!(binds.len(), 6);
    }

    #[test]
    fn a_walk_in_key_order_resumes_after_its_last_key_and_a_count_takes_the_conditions() {
        let filter = SqlFilter {
            sql: "state = $2".into(),
            binds: vec![BindValue::Text("OPEN".into())],
        };
        let s = Select::filtered("SELECT x FROM t WHERE tenant_id = $1", 1, Some(&filter));
        let (sql, binds) = s
            .clone()
            .ascending("t.id", Some(BindValue::Text("k".into())), 1000);
        assert_eq!(
            sql,
            "SELECT x FROM t WHERE tenant_id = $1 AND (state = $2) AND t.id > $3 \
             ORDER BY t.id ASC LIMIT 1000"
        );
        assert_eq!(binds.len(), 2);
        let (sql, _) = s.clone().ascending("t.id", None, 10);
        assert!(
            sql.ends_with("(state = $2) ORDER BY t.id ASC LIMIT 10"),
            "{sql}"
        );
        let (sql, binds) = s.finish();
        assert_eq!(sql, "SELECT x FROM t WHERE tenant_id = $1 AND (state = $2)");
        assert_eq!(binds.len(), 1);
    }

    #[test]
    fn a_first_page_has_no_keyset_and_a_bad_cursor_is_the_callers_mistake() {
        let s = Select::new("SELECT x FROM t WHERE tenant_id = $1", 1);
        let (sql, binds) = s
            .clone()
            .page(&OrderBy::asc("name"), &[], "name", "id", 11)
            .unwrap();
        assert!(sql.ends_with("WHERE tenant_id = $1 ORDER BY name ASC, id ASC LIMIT 11"));
        assert!(binds.is_empty());
        let bad = s.page(
            &OrderBy::asc("name"),
            &[CursorValue::Null],
            "name",
            "id",
            11,
        );
        assert!(matches!(bad, Err(Error::InvalidArgument(_))));
    }
}
