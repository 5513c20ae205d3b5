//! Rendering parsed filters and keyset cursors into SQL fragments with bind values.
//!
//! A service describes its filterable fields once, in a table of [`FieldSpec`]s that maps API
//! field names to columns and says how values are read. User values only ever travel as bind
//! values; the SQL text is built from the table's `'static` strings, operators and placeholders.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::filter::{Comparison, Expr, Op};
use super::order::OrderBy;
use super::page::CursorValue;
use rapport_runtime::dialect::Dialect;
use rapport_runtime::storage::BindValue;
use rapport_runtime::validation::FieldViolation;

/// Turns a filter value into the value to match, or says why it cannot (e.g. a phone number
/// that does not parse).
pub type Normalize = fn(&str) -> Result<String, String>;

/// How a filterable field is stored and which comparisons it supports.
#[derive(Debug, Clone, Copy)]
pub enum FieldKind {
    /// Text compared as is: `= != < <= > >=`; `:` means `=`.
    Text {
        /// The column (or SQL expression) holding the value.
        column: &'static str,
    },
    /// Lower-cased text for searching: `:` finds the value anywhere in it (case-insensitively,
    /// in any script), `=` matches it whole.
    Search {
        /// The column holding the lower-cased text.
        column: &'static str,
    },
    /// An integer: `= != < <= > >=`.
    Int {
        /// The column holding the value.
        column: &'static str,
    },
    /// A time stored as microseconds since the epoch, written as RFC 3339 in filters
    /// (`2024-05-01T00:00:00Z`, `2024-05-01T08:00:00+08:00`): `= != < <= > >=`.
    Timestamp {
        /// The BIGINT column holding microseconds.
        column: &'static str,
    },
    /// A calendar date stored as `YYYY-MM-DD` text: `= != < <= > >=`.
    Date {
        /// The column holding the date.
        column: &'static str,
    },
    /// A boolean stored as 0/1, written `true` / `false`: `=` and `!=`.
    Bool {
        /// The INTEGER column holding 0 or 1.
        column: &'static str,
    },
    /// One of a fixed set of texts (matched case-insensitively, stored as written in
    /// `values`): `=` and `!=`.
    Enum {
        /// The column holding the value.
        column: &'static str,
        /// The values the column can hold.
        values: &'static [&'static str],
    },
    /// A repeated value kept in a child table: `:` and `=` both mean "one of the values is
    /// this".
    Exists {
        /// SQL that is true when the row has the value, with one `{}` where the placeholder
        /// goes, e.g. `EXISTS (SELECT 1 FROM customer_tags t WHERE t.tenant_id = c.tenant_id
        /// AND t.customer_id = c.id AND t.tag = {})`.
        template: &'static str,
        /// Applied to the value before it is bound; its error is reported to the caller.
        normalize: Option<Normalize>,
    },
    /// Keys of a JSON object stored as TEXT, filtered as `prefix.key`: `= != :` compare text;
    /// `< <= > >=` compare numbers when the value is an unquoted number, text otherwise.
    Json {
        /// The TEXT column holding the JSON object.
        column: &'static str,
        /// The field name before the key, e.g. `custom_fields`.
        prefix: &'static str,
    },
}

/// One filterable field of a service: its name in filters and how it is stored.
#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    /// The field name in filters. For [`FieldKind::Json`] it is only used in messages; the
    /// kind's `prefix` decides what matches.
    pub name: &'static str,
    /// How the field is stored.
    pub kind: FieldKind,
}

impl FieldSpec {
    /// A [`FieldKind::Text`] field.
    pub const fn text(name: &'static str, column: &'static str) -> Self {
        Self {
            name,
            kind: FieldKind::Text { column },
        }
    }

    /// A [`FieldKind::Search`] field.
    pub const fn search(name: &'static str, column: &'static str) -> Self {
        Self {
            name,
            kind: FieldKind::Search { column },
        }
    }

    /// A [`FieldKind::Int`] field.
    pub const fn int(name: &'static str, column: &'static str) -> Self {
        Self {
            name,
            kind: FieldKind::Int { column },
        }
    }

    /// A [`FieldKind::Timestamp`] field.
    pub const fn timestamp(name: &'static str, column: &'static str) -> Self {
        Self {
            name,
            kind: FieldKind::Timestamp { column },
        }
    }

    /// A [`FieldKind::Date`] field.
    pub const fn date(name: &'static str, column: &'static str) -> Self {
        Self {
            name,
            kind: FieldKind::Date { column },
        }
    }

    /// A [`FieldKind::Bool`] field.
    pub const fn boolean(name: &'static str, column: &'static str) -> Self {
        Self {
            name,
            kind: FieldKind::Bool { column },
        }
    }

    /// A [`FieldKind::Enum`] field.
    pub const fn enumeration(
        name: &'static str,
        column: &'static str,
        values: &'static [&'static str],
    ) -> Self {
        Self {
            name,
            kind: FieldKind::Enum { column, values },
        }
    }

    /// A [`FieldKind::Exists`] field.
    pub const fn exists(
        name: &'static str,
        template: &'static str,
        normalize: Option<Normalize>,
    ) -> Self {
        Self {
            name,
            kind: FieldKind::Exists {
                template,
                normalize,
            },
        }
    }

    /// A [`FieldKind::Json`] field matching `prefix.<key>`.
    pub const fn json(prefix: &'static str, column: &'static str) -> Self {
        Self {
            name: prefix,
            kind: FieldKind::Json { column, prefix },
        }
    }
}

/// A SQL fragment and the values for its placeholders, in placeholder order.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlFilter {
    /// The fragment; safe to join to other conditions with `AND`.
    pub sql: String,
    /// The values for `$first_placeholder`, `$first_placeholder + 1`, ...
    pub binds: Vec<BindValue>,
}

/// Renders `expr` as a WHERE fragment over the fields in `fields`, numbering placeholders from
/// `first_placeholder`. Every unknown field, unsupported operator and bad value is reported,
/// each as a violation of `filter` naming the field.
pub fn to_sql(
    expr: &Expr,
    fields: &[FieldSpec],
    dialect: Dialect,
    first_placeholder: usize,
) -> Result<SqlFilter, Vec<FieldViolation>> {
    let mut renderer = Renderer {
        fields,
        dialect,
        next: first_placeholder,
        binds: Vec::new(),
        violations: Vec::new(),
    };
    let sql = renderer.expr(expr);
    if renderer.violations.is_empty() {
        Ok(SqlFilter {
            sql,
            binds: renderer.binds,
        })
    } else {
        Err(renderer.violations)
    }
}

/// Parses `filter` and renders it as [`to_sql`] does: `None` when it is empty (no
/// restriction); every problem reported, each as a violation of `filter`.
pub fn compile(
    filter: &str,
    fields: &[FieldSpec],
    dialect: Dialect,
    first_placeholder: usize,
) -> Result<Option<SqlFilter>, Vec<FieldViolation>> {
    match super::filter::parse(filter) {
        Err(e) => Err(vec![e]),
        Ok(None) => Ok(None),
        Ok(Some(expr)) => to_sql(&expr, fields, dialect, first_placeholder).map(Some),
    }
}

struct Renderer<'a> {
    fields: &'a [FieldSpec],
    dialect: Dialect,
    next: usize,
    binds: Vec<BindValue>,
    violations: Vec<FieldViolation>,
}

impl Renderer<'_> {
    fn expr(&mut self, expr: &Expr) -> String {
        match expr {
            Expr::And(items) => self.join(items, " AND "),
            Expr::Or(items) => self.join(items, " OR "),
            Expr::Not(inner) => format!("NOT ({})", self.expr(inner)),
            Expr::Cmp(cmp) => match self.comparison(cmp) {
                Ok(sql) => sql,
                Err(reason) => {
                    self.violations.push(FieldViolation {
                        field: "filter".to_owned(),
                        description: format!("field \"{}\" {reason}", cmp.field),
                    });
                    // Never run: the violations fail the request.
                    String::from("FALSE")
                }
            },
        }
    }

    fn join(&mut self, items: &[Expr], sep: &str) -> String {
        let parts: Vec<String> = items.iter().map(|e| self.expr(e)).collect();
        format!("({})", parts.join(sep))
    }

    /// The next placeholder, bound to `value`.
    fn bind(&mut self, value: BindValue) -> String {
        let placeholder = format!("${}", self.next);
        self.next += 1;
        self.binds.push(value);
        placeholder
    }

    fn lookup(&self, name: &str) -> Option<(&FieldSpec, Option<String>)> {
        self.fields.iter().find_map(|spec| match spec.kind {
            FieldKind::Json { prefix, .. } => {
                let rest = name.strip_prefix(prefix)?;
                match rest.strip_prefix('.') {
                    Some(key) => Some((spec, Some(key.to_owned()))),
                    None if rest.is_empty() => Some((spec, None)),
                    None => None,
                }
            }
            _ => (spec.name == name).then_some((spec, None)),
        })
    }

    fn known_fields(&self) -> String {
        let names: Vec<String> = self
            .fields
            .iter()
            .map(|spec| match spec.kind {
                FieldKind::Json { prefix, .. } => format!("{prefix}.<key>"),
                _ => spec.name.to_owned(),
            })
            .collect();
        names.join(", ")
    }

    /// The SQL for one comparison, or why it is refused (completing "field "x" ...").
    fn comparison(&mut self, cmp: &Comparison) -> Result<String, String> {
        let Some((spec, key)) = self.lookup(&cmp.field) else {
            return Err(format!(
                "is not filterable; filterable fields are: {}",
                self.known_fields()
            ));
        };
        let value = cmp.value.as_str();
        let op = cmp.op;
        match spec.kind {
            FieldKind::Text { column } => {
                let op = if op == Op::Has { Op::Eq } else { op };
                let p = self.bind(BindValue::Text(value.to_owned()));
                Ok(format!("{column} {} {p}", sql_op(op)))
            }
            FieldKind::Search { column } => {
                let lowered = value.to_lowercase();
                match op {
                    Op::Has => {
                        let p = self.bind(BindValue::Text(escape_like(&lowered)));
                        Ok(format!("{column} LIKE ('%' || {p} || '%') ESCAPE '\\'"))
                    }
                    Op::Eq => {
                        let p = self.bind(BindValue::Text(lowered));
                        Ok(format!("{column} = {p}"))
                    }
                    _ => Err(unsupported(op, "\":\" (contains) and \"=\"")),
                }
            }
            FieldKind::Int { column } => {
                ordered(op)?;
                let n: i64 = value
                    .parse()
                    .map_err(|_| format!("needs an integer, not \"{value}\""))?;
                let p = self.bind(BindValue::Int(n));
                Ok(format!("{column} {} {p}", sql_op(op)))
            }
            FieldKind::Timestamp { column } => {
                ordered(op)?;
                let micros = parse_micros(value).ok_or_else(|| {
                    format!(
                        "needs an RFC 3339 time such as 2024-05-01T00:00:00Z or \
                         2024-05-01T08:00:00+08:00, not \"{value}\""
                    )
                })?;
                let p = self.bind(BindValue::Int(micros));
                Ok(format!("{column} {} {p}", sql_op(op)))
            }
            FieldKind::Date { column } => {
                ordered(op)?;
                if !is_date(value) {
                    return Err(format!(
                        "needs a date such as 2024-05-01 (YYYY-MM-DD), not \"{value}\""
                    ));
                }
                let p = self.bind(BindValue::Text(value.to_owned()));
                Ok(format!("{column} {} {p}", sql_op(op)))
            }
            FieldKind::Bool { column } => {
                equality(op)?;
                let b = if value.eq_ignore_ascii_case("true") {
                    1
                } else if value.eq_ignore_ascii_case("false") {
                    0
                } else {
                    return Err(format!("needs true or false, not \"{value}\""));
                };
                let p = self.bind(BindValue::Int(b));
                Ok(format!("{column} {} {p}", sql_op(op)))
            }
            FieldKind::Enum { column, values } => {
                equality(op)?;
                let Some(canonical) = values.iter().find(|v| v.eq_ignore_ascii_case(value)) else {
                    return Err(format!(
                        "has no value \"{value}\"; its values are: {}",
                        values.join(", ")
                    ));
                };
                let p = self.bind(BindValue::Text((*canonical).to_owned()));
                Ok(format!("{column} {} {p}", sql_op(op)))
            }
            FieldKind::Exists {
                template,
                normalize,
            } => {
                if !matches!(op, Op::Has | Op::Eq) {
                    return Err(unsupported(op, "\":\" and \"=\" (has this value)"));
                }
                let value = match normalize {
                    Some(normalize) => normalize(value)
                        .map_err(|why| format!("cannot match \"{value}\": {why}"))?,
                    None => value.to_owned(),
                };
                debug_assert_eq!(template.matches("{}").count(), 1, "{template}");
                let p = self.bind(BindValue::Text(value));
                Ok(template.replacen("{}", &p, 1))
            }
            FieldKind::Json { column, prefix } => {
                let Some(key) = key else {
                    return Err(format!("needs a key, as in {prefix}.size = 10"));
                };
                if !is_json_key(&key) {
                    return Err(format!(
                        "has an invalid key \"{key}\": keys are lower-case letters, digits and \
                         underscores, start with a letter and have at most 64 characters"
                    ));
                }
                let numeric = matches!(op, Op::Lt | Op::Le | Op::Gt | Op::Ge) && !cmp.quoted;
                match parse_number(value).filter(|_| numeric) {
                    Some(n) => {
                        let target = self.dialect.json_number(column, &key);
                        let p = self.bind(BindValue::Float(n));
                        Ok(format!("{target} {} {p}", sql_op(op)))
                    }
                    None => {
                        let op = if op == Op::Has { Op::Eq } else { op };
                        let target = self.dialect.json_text(column, &key);
                        let p = self.bind(BindValue::Text(value.to_owned()));
                        Ok(format!("{target} {} {p}", sql_op(op)))
                    }
                }
            }
        }
    }
}

fn sql_op(op: Op) -> &'static str {
    match op {
        Op::Eq | Op::Has => "=",
        Op::Ne => "<>",
        Op::Lt => "<",
        Op::Le => "<=",
        Op::Gt => ">",
        Op::Ge => ">=",
    }
}

fn unsupported(op: Op, supported: &str) -> String {
    format!("does not support \"{op}\"; use {supported}")
}

/// Refuses `:` on scalar fields, where "contains" has no meaning.
fn ordered(op: Op) -> Result<(), String> {
    if op == Op::Has {
        Err(unsupported(op, "=, !=, <, <=, > or >="))
    } else {
        Ok(())
    }
}

fn equality(op: Op) -> Result<(), String> {
    if matches!(op, Op::Eq | Op::Ne) {
        Ok(())
    } else {
        Err(unsupported(op, "\"=\" or \"!=\""))
    }
}

/// Escapes LIKE's wildcards so the value matches literally (with `ESCAPE '\'`).
fn escape_like(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn parse_micros(value: &str) -> Option<i64> {
    let t = OffsetDateTime::parse(value, &Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos().div_euclid(1000)).ok()
}

/// `YYYY-MM-DD` naming a real day. The shape is checked first so that only the canonical
/// spelling is accepted, as dates are compared as text.
fn is_date(value: &str) -> bool {
    let b = value.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    shape
        && time::Date::parse(
            value,
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .is_ok()
}

/// `[a-z][a-z0-9_]{0,63}`: keys are spliced into SQL, so nothing else may pass.
fn is_json_key(key: &str) -> bool {
    let b = key.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
}

/// A finite decimal number (`10`, `-5`, `3.14`, `1e3`); not `inf` or `NaN`, which Rust's
/// float parser would accept.
fn parse_number(value: &str) -> Option<f64> {
    let plausible = value.bytes().any(|c| c.is_ascii_digit())
        && value
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E'));
    plausible
        .then(|| value.parse::<f64>().ok())
        .flatten()
        .filter(|n| n.is_finite())
}

/// The condition selecting the rows after `cursor` (`[sort value, id]`, as stored in a page
/// token) in `order`: `(col < $n OR (col = $n AND id < $n+1))` when descending, `>` when
/// ascending. The sort column must be NOT NULL. The caller checks that the cursor's sort value
/// has the column's type (integer or text), as tokens come from clients.
pub fn keyset_after(
    order: &OrderBy,
    sort_column: &str,
    id_column: &str,
    cursor: &[CursorValue],
    first_placeholder: usize,
) -> Result<SqlFilter, FieldViolation> {
    let invalid = || FieldViolation {
        field: "page_token".to_owned(),
        description: "is not a page token returned by this method; pass the next_page_token of \
                      the previous response unchanged"
            .to_owned(),
    };
    let (sort, id) = match cursor {
        [sort, CursorValue::Text(id)] => (sort, id),
        _ => return Err(invalid()),
    };
    let sort = match sort {
        CursorValue::Int(n) => BindValue::Int(*n),
        CursorValue::Text(s) => BindValue::Text(s.clone()),
        CursorValue::Null => return Err(invalid()),
    };
    let cmp = if order.desc { "<" } else { ">" };
    let (a, b) = (first_placeholder, first_placeholder + 1);
    Ok(SqlFilter {
        sql: format!(
            "({sort_column} {cmp} ${a} OR ({sort_column} = ${a} AND {id_column} {cmp} ${b}))"
        ),
        binds: vec![sort, BindValue::Text(id.clone())],
    })
}

/// The ORDER BY list for `order`, ties broken by id in the same direction: `col DESC, id DESC`.
pub fn order_sql(order: &OrderBy, sort_column: &str, id_column: &str) -> String {
    let dir = if order.desc { "DESC" } else { "ASC" };
    format!("{sort_column} {dir}, {id_column} {dir}")
}

#[cfg(test)]
mod tests {
    use sqlx::Row as _;
    use sqlx::any::AnyPoolOptions;

    use super::*;
    use crate::query::filter::parse;
    use crate::query::page::{decode_token, encode_token, fingerprint};
    use rapport_runtime::storage::bind_all;

    const STATUSES: &[&str] = &["ACTIVE", "INACTIVE"];

    fn digits_only(raw: &str) -> Result<String, String> {
        let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
        if digits.len() == 11 {
            Ok(digits)
        } else {
            Err("is not an 11-digit phone number".to_owned())
        }
    }

    const FIELDS: &[FieldSpec] = &[
        FieldSpec::search("name", "c.search_name"),
        FieldSpec::text("owner", "c.owner_id"),
        FieldSpec::int("score", "c.score"),
        FieldSpec::timestamp("create_time", "c.created_at"),
        FieldSpec::date("birthday", "c.birthday"),
        FieldSpec::boolean("vip", "c.vip"),
        FieldSpec::enumeration("status", "c.status", STATUSES),
        FieldSpec::exists(
            "tags",
            "EXISTS (SELECT 1 FROM customer_tags t WHERE t.customer_id = c.id AND t.tag = {})",
            None,
        ),
        FieldSpec::exists(
            "phones",
            "EXISTS (SELECT 1 FROM customer_phones p WHERE p.customer_id = c.id AND p.number = {})",
            Some(digits_only),
        ),
        FieldSpec::json("custom_fields", "c.custom"),
    ];

    const DIALECTS: [Dialect; 2] = [Dialect::Postgres, Dialect::Sqlite];

    fn render(filter: &str, dialect: Dialect, first: usize) -> SqlFilter {
        let expr = parse(filter).unwrap().unwrap();
        to_sql(&expr, FIELDS, dialect, first).unwrap_or_else(|e| panic!("{filter}: {e:?}"))
    }

    fn refused(filter: &str) -> Vec<String> {
        let expr = parse(filter).unwrap().unwrap();
        let errs = to_sql(&expr, FIELDS, Dialect::Sqlite, 1).unwrap_err();
        assert!(errs.iter().all(|e| e.field == "filter"));
        errs.into_iter().map(|e| e.description).collect()
    }

    fn text(s: &str) -> BindValue {
        BindValue::Text(s.to_owned())
    }

    #[test]
    fn compiling_parses_and_renders_in_one_go() {
        assert_eq!(compile("  ", FIELDS, Dialect::Sqlite, 2), Ok(None));
        let got = compile("score > 3", FIELDS, Dialect::Sqlite, 2).unwrap();
        assert_eq!(got.map(|f| f.sql).as_deref(), Some("c.score > $2"));
        let syntax = compile("score >", FIELDS, Dialect::Sqlite, 2).unwrap_err();
        let unknown = compile("nope = 1 AND vip < true", FIELDS, Dialect::Sqlite, 2).unwrap_err();
        assert_eq!((syntax.len(), unknown.len()), (1, 2));
        assert!(syntax.iter().chain(&unknown).all(|e| e.field == "filter"));
    }

    #[test]
    fn scalar_kinds_render_the_same_on_both_dialects() {
        let cases: &[(&str, &str, Vec<BindValue>)] = &[
            ("owner = u1", "c.owner_id = $3", vec![text("u1")]),
            ("owner:u1", "c.owner_id = $3", vec![text("u1")]),
            ("owner != \"u 1\"", "c.owner_id <> $3", vec![text("u 1")]),
            ("owner >= m", "c.owner_id >= $3", vec![text("m")]),
            (
                "name:\"50%_Off\\\\\"",
                "c.search_name LIKE ('%' || $3 || '%') ESCAPE '\\'",
                vec![text("50\\%\\_off\\\\")],
            ),
            (
                "name:\"ZHANG Wei 张伟\"",
                "c.search_name LIKE ('%' || $3 || '%') ESCAPE '\\'",
                vec![text("zhang wei 张伟")],
            ),
            ("name = Ünal", "c.search_name = $3", vec![text("ünal")]),
            ("score > -5", "c.score > $3", vec![BindValue::Int(-5)]),
            ("score = \"7\"", "c.score = $3", vec![BindValue::Int(7)]),
            (
                "create_time >= 2024-05-01T00:00:00Z",
                "c.created_at >= $3",
                vec![BindValue::Int(1_714_521_600_000_000)],
            ),
            (
                "create_time < 2024-05-01T08:00:00.5+08:00",
                "c.created_at < $3",
                vec![BindValue::Int(1_714_521_600_500_000)],
            ),
            (
                "birthday <= 1990-02-28",
                "c.birthday <= $3",
                vec![text("1990-02-28")],
            ),
            ("vip = true", "c.vip = $3", vec![BindValue::Int(1)]),
            ("vip != FALSE", "c.vip <> $3", vec![BindValue::Int(0)]),
            ("status = active", "c.status = $3", vec![text("ACTIVE")]),
            (
                "status != Inactive",
                "c.status <> $3",
                vec![text("INACTIVE")],
            ),
            (
                "tags:vip",
                "EXISTS (SELECT 1 FROM customer_tags t WHERE t.customer_id = c.id AND t.tag = $3)",
                vec![text("vip")],
            ),
            (
                "phones = \"138-1234-5678\"",
                "EXISTS (SELECT 1 FROM customer_phones p WHERE p.customer_id = c.id AND \
                 p.number = $3)",
                vec![text("13812345678")],
            ),
        ];
        for dialect in DIALECTS {
            for (filter, sql, binds) in cases {
                let got = render(filter, dialect, 3);
                assert_eq!(got.sql, *sql, "{filter} on {dialect:?}");
                assert_eq!(got.binds, *binds, "{filter} on {dialect:?}");
            }
        }
    }

    #[test]
    fn json_fields_render_per_dialect() {
        for dialect in DIALECTS {
            let text_of = dialect.json_text("c.custom", "size");
            let number_of = dialect.json_number("c.custom", "size");
            let cases = [
                (
                    "custom_fields.size = 10",
                    format!("{text_of} = $1"),
                    text("10"),
                ),
                ("custom_fields.size:L", format!("{text_of} = $1"), text("L")),
                (
                    "custom_fields.size != L",
                    format!("{text_of} <> $1"),
                    text("L"),
                ),
                (
                    "custom_fields.size > 10",
                    format!("{number_of} > $1"),
                    BindValue::Float(10.0),
                ),
                (
                    "custom_fields.size <= -2.5",
                    format!("{number_of} <= $1"),
                    BindValue::Float(-2.5),
                ),
                // Quoted, or not a number: compared as text.
                (
                    "custom_fields.size > \"10\"",
                    format!("{text_of} > $1"),
                    text("10"),
                ),
                (
                    "custom_fields.size < M",
                    format!("{text_of} < $1"),
                    text("M"),
                ),
                (
                    "custom_fields.size < inf",
                    format!("{text_of} < $1"),
                    text("inf"),
                ),
            ];
            for (filter, sql, bind) in cases {
                let got = render(filter, dialect, 1);
                assert_eq!(got.sql, sql, "{filter} on {dialect:?}");
                assert_eq!(got.binds, [bind], "{filter} on {dialect:?}");
            }
        }
    }

    #[test]
    fn boolean_structure_is_kept() {
        let got = render(
            "NOT vip = true AND (owner = a OR -tags:x) OR score < 3",
            Dialect::Sqlite,
            1,
        );
        assert_eq!(
            got.sql,
            "((NOT (c.vip = $1) AND (c.owner_id = $2 OR NOT (EXISTS (SELECT 1 FROM customer_tags \
             t WHERE t.customer_id = c.id AND t.tag = $3)))) OR c.score < $4)"
        );
        assert_eq!(
            got.binds,
            [BindValue::Int(1), text("a"), text("x"), BindValue::Int(3)]
        );
    }

    #[test]
    fn every_problem_is_reported() {
        let errs = refused(
            "email = x AND vip < true AND score = ten AND create_time > yesterday AND \
             birthday = 1990-02-30 AND status = gone AND phones:12 AND custom_fields.Size = 1 \
             AND custom_fields = 1 AND name < a AND tags > a AND birthday:1990-01-01 AND vip = yes \
             AND birthday = 1990-2-3",
        );
        let want = [
            "field \"email\" is not filterable; filterable fields are: name, owner, score, \
             create_time, birthday, vip, status, tags, phones, custom_fields.<key>",
            "field \"vip\" does not support \"<\"; use \"=\" or \"!=\"",
            "field \"score\" needs an integer, not \"ten\"",
            "field \"create_time\" needs an RFC 3339 time such as 2024-05-01T00:00:00Z or \
             2024-05-01T08:00:00+08:00, not \"yesterday\"",
            "field \"birthday\" needs a date such as 2024-05-01 (YYYY-MM-DD), not \"1990-02-30\"",
            "field \"status\" has no value \"gone\"; its values are: ACTIVE, INACTIVE",
            "field \"phones\" cannot match \"12\": is not an 11-digit phone number",
            "field \"custom_fields.Size\" has an invalid key \"Size\": keys are lower-case \
             letters, digits and underscores, start with a letter and have at most 64 characters",
            "field \"custom_fields\" needs a key, as in custom_fields.size = 10",
            "field \"name\" does not support \"<\"; use \":\" (contains) and \"=\"",
            "field \"tags\" does not support \">\"; use \":\" and \"=\" (has this value)",
            "field \"birthday\" does not support \":\"; use =, !=, <, <=, > or >=",
            "field \"vip\" needs true or false, not \"yes\"",
            "field \"birthday\" needs a date such as 2024-05-01 (YYYY-MM-DD), not \"1990-2-3\"",
        ];
        assert_eq!(errs, want);
    }

    #[test]
    fn json_keys_are_checked() {
        assert!(is_json_key("a"));
        assert!(is_json_key("size_2"));
        assert!(is_json_key(&format!("a{}", "b".repeat(63))));
        assert!(!is_json_key(&format!("a{}", "b".repeat(64))));
        for bad in ["", "2a", "_a", "a-b", "a'b", "A", "a b", "大小"] {
            assert!(!is_json_key(bad), "{bad}");
        }
        let errs = refused("custom_fields.a.b = 1");
        assert!(errs[0].contains("invalid key \"a.b\""), "{errs:?}");
    }

    #[test]
    fn keyset_conditions() {
        let cursor = [CursorValue::Int(42), CursorValue::Text("id-9".into())];
        let got = keyset_after(
            &OrderBy::desc("create_time"),
            "c.created_at",
            "c.id",
            &cursor,
            5,
        )
        .unwrap();
        assert_eq!(
            got.sql,
            "(c.created_at < $5 OR (c.created_at = $5 AND c.id < $6))"
        );
        assert_eq!(got.binds, [BindValue::Int(42), text("id-9")]);

        let cursor = [
            CursorValue::Text("张伟".into()),
            CursorValue::Text("id-9".into()),
        ];
        let got = keyset_after(&OrderBy::asc("name"), "c.name", "c.id", &cursor, 1).unwrap();
        assert_eq!(got.sql, "(c.name > $1 OR (c.name = $1 AND c.id > $2))");
        assert_eq!(got.binds, [text("张伟"), text("id-9")]);

        for bad in [
            vec![],
            vec![CursorValue::Int(1)],
            vec![CursorValue::Null, CursorValue::Text("x".into())],
            vec![CursorValue::Int(1), CursorValue::Int(2)],
            vec![
                CursorValue::Int(1),
                CursorValue::Text("x".into()),
                CursorValue::Int(3),
            ],
        ] {
            let e = keyset_after(&OrderBy::asc("a"), "a", "id", &bad, 1).unwrap_err();
            assert_eq!(e.field, "page_token");
        }

        assert_eq!(
            order_sql(&OrderBy::desc("create_time"), "c.created_at", "c.id"),
            "c.created_at DESC, c.id DESC"
        );
        assert_eq!(
            order_sql(&OrderBy::asc("name"), "c.name", "c.id"),
            "c.name ASC, c.id ASC"
        );
    }

    /// Executes rendered fragments on SQLite through the `Any` driver, as services do.
    #[tokio::test]
    async fn rendered_sql_runs_on_sqlite() {
        sqlx::any::install_default_drivers();
        // One connection: every connection to `sqlite::memory:` is its own database.
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        for ddl in [
            "CREATE TABLE customers (tenant_id TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, \
             search_name TEXT NOT NULL, owner_id TEXT, score BIGINT NOT NULL, \
             created_at BIGINT NOT NULL, birthday TEXT, vip INTEGER NOT NULL, \
             status TEXT NOT NULL, custom TEXT NOT NULL, PRIMARY KEY (tenant_id, id))",
            "CREATE TABLE customer_tags (customer_id TEXT NOT NULL, tag TEXT NOT NULL)",
            "CREATE TABLE customer_phones (customer_id TEXT NOT NULL, number TEXT NOT NULL)",
        ] {
            sqlx::query(ddl).execute(&pool).await.unwrap();
        }
        let names = [
            "张伟",
            "ZHANG Wei",
            "王芳",
            "Li Na",
            "50% Off Ltd",
            "Zhang_San",
            "李伟",
            "Ünal",
            "Chen",
            "Wei Ltd",
        ];
        for (i, name) in names.iter().enumerate() {
            let i = i64::try_from(i).unwrap();
            sqlx::query(
                "INSERT INTO customers (tenant_id, id, name, search_name, owner_id, score, \
                 created_at, birthday, vip, status, custom) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind("t1")
            .bind(format!("id-{i:02}"))
            .bind(*name)
            .bind(name.to_lowercase())
            .bind(if i % 2 == 0 { "u1" } else { "u2" })
            .bind(i * 10)
            // Three rows share each creation time, so the id must break ties.
            .bind(1_700_000_000_000_000 + (i / 3) * 1_000_000)
            .bind(format!("1990-01-{:02}", i + 1))
            .bind(i % 3 == 0)
            .bind(if i < 7 { "ACTIVE" } else { "INACTIVE" })
            .bind(format!(
                r#"{{"size": "{}", "seats": {}}}"#,
                ["S", "M", "L"][(i % 3) as usize],
                i
            ))
            .execute(&pool)
            .await
            .unwrap();
        }
        // Another tenant's row, which every query must leave out.
        sqlx::query(
            "INSERT INTO customers VALUES ('t2', 'id-99', '张伟', '张伟', 'u1', 0, 0, NULL, 0, \
             'ACTIVE', '{}')",
        )
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO customer_tags VALUES ('id-00', 'vip'), ('id-01', 'vip'), ('id-02', 'new')",
        )
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query("INSERT INTO customer_phones VALUES ('id-03', '13812345678')")
            .execute(&pool)
            .await
            .unwrap();

        let find = async |filter: &str| -> Vec<String> {
            let expr = parse(filter).unwrap().unwrap();
            let f = to_sql(&expr, FIELDS, Dialect::Sqlite, 2).unwrap();
            let sql = format!(
                "SELECT c.name FROM customers c WHERE c.tenant_id = $1 AND {} ORDER BY c.id",
                f.sql
            );
            let query = bind_all(sqlx::query_scalar::<_, String>(&sql).bind("t1"), &f.binds);
            query.fetch_all(&pool).await.unwrap()
        };

        assert_eq!(find("name:\"伟\"").await, ["张伟", "李伟"]);
        assert_eq!(find("name:\"zhang\"").await, ["ZHANG Wei", "Zhang_San"]);
        assert_eq!(find("name:WEI").await, ["ZHANG Wei", "Wei Ltd"]);
        // LIKE wildcards in the value match only themselves.
        assert_eq!(find("name:\"%\"").await, ["50% Off Ltd"]);
        assert_eq!(find("name:\"g_s\"").await, ["Zhang_San"]);
        assert_eq!(find("name:\"_\"").await, ["Zhang_San"]);
        assert_eq!(find("name:ünal").await, ["Ünal"]);
        assert_eq!(find("name = \"zhang wei\"").await, ["ZHANG Wei"]);
        assert_eq!(find("tags:vip").await, ["张伟", "ZHANG Wei"]);
        assert_eq!(find("-tags:vip AND score < 40").await, ["王芳", "Li Na"]);
        assert_eq!(find("phones:\"138 1234 5678\"").await, ["Li Na"]);
        assert_eq!(find("vip = true AND status = inactive").await, ["Wei Ltd"]);
        assert_eq!(find("birthday >= 1990-01-09").await, ["Chen", "Wei Ltd"]);
        assert_eq!(
            find("create_time >= 2023-11-14T22:13:21Z AND create_time < 2023-11-15T06:13:22+08:00")
                .await,
            ["Li Na", "50% Off Ltd", "Zhang_San"]
        );
        assert_eq!(
            find("custom_fields.size = L AND owner = u1").await,
            ["王芳", "Chen"]
        );
        assert_eq!(find("custom_fields.seats >= 8").await, ["Chen", "Wei Ltd"]);
        assert_eq!(
            find("(score = 0 OR score = 90) AND NOT owner:u2").await,
            ["张伟"]
        );

        // Keyset pagination, newest first, three rows a page: every row exactly once, in order.
        let order = OrderBy::desc("create_time");
        let fp = fingerprint(&["t1", "", &order.canonical()]);
        let mut seen = Vec::new();
        let mut token = String::new();
        for _page in 0..10 {
            let mut binds = vec![text("t1")];
            let mut sql =
                String::from("SELECT c.id, c.created_at FROM customers c WHERE c.tenant_id = $1");
            if !token.is_empty() {
                let cursor = decode_token(&token, &fp).unwrap();
                let after = keyset_after(&order, "c.created_at", "c.id", &cursor, 2).unwrap();
                sql += &format!(" AND {}", after.sql);
                binds.extend(after.binds);
            }
            sql += &format!(
                " ORDER BY {} LIMIT 3",
                order_sql(&order, "c.created_at", "c.id")
            );
            let rows = bind_all(sqlx::query(&sql), &binds)
                .fetch_all(&pool)
                .await
                .unwrap();
            for row in &rows {
                seen.push((row.get::<i64, _>(1), row.get::<String, _>(0)));
            }
            match rows.last() {
                Some(last) if rows.len() == 3 => {
                    let key = [
                        CursorValue::Int(last.get::<i64, _>(1)),
                        CursorValue::Text(last.get::<String, _>(0)),
                    ];
                    token = encode_token(&fp, &key);
                }
                _ => break,
            }
        }
        let mut want = seen.clone();
        want.sort_by(|a, b| b.cmp(a));
        want.dedup();
        assert_eq!(seen, want);
        assert_eq!(seen.len(), names.len());
    }
}
