//! List queries: filters, ordering and page tokens, shared by every service's List methods.
//!
//! # Filters
//!
//! `filter` accepts a subset of [AIP-160](https://google.aip.dev/160):
//!
//! ```text
//! filter     = [ expression ]
//! expression = and { "OR" and }
//! and        = unary { [ "AND" ] unary }          (side by side means AND)
//! unary      = "NOT" unary | "-" unary | "(" expression ")" | comparison
//! comparison = field op value
//! field      = name { "." name }                  (name = [A-Za-z_][A-Za-z0-9_]*)
//! op         = "=" | "!=" | "<" | "<=" | ">" | ">=" | ":"
//! value      = "\"" text "\"" | word              (word = letters of any script, digits, _ - . : + @)
//! ```
//!
//! - `AND` binds tighter than `OR`, as in SQL (AIP-160 has it the other way round); use
//!   parentheses when in doubt. `AND`, `OR` and `NOT` are upper case.
//! - Quoted values take the escapes `\"`, `\\`, `\n`, `\t` and `\r`, and are always compared as
//!   text. Bare values cover most needs: `vip`, `张伟`, `13812345678`, `-5`, `3.14`, `true`,
//!   `2024-05-01T00:00:00Z`.
//! - What a field accepts depends on its kind, listed in each service's List documentation:
//!   - text: `=`, `!=`, `<`, `<=`, `>`, `>=`; `:` means `=`;
//!   - searchable text (names and the like): `name:"伟"` finds the value anywhere in the name,
//!     ignoring case in any script; `=` matches the whole name, ignoring case;
//!   - integers: `=`, `!=`, `<`, `<=`, `>`, `>=`;
//!   - times: the same operators, values in RFC 3339 (`2024-05-01T00:00:00Z`,
//!     `2024-05-01T08:00:00+08:00`);
//!   - dates: the same operators, values as `YYYY-MM-DD`;
//!   - booleans: `=` and `!=` with `true` or `false`;
//!   - enums: `=` and `!=` with one of the listed values, in any case;
//!   - repeated values (tags, phone numbers): `tags:vip` (or `tags = vip`) keeps rows having
//!     that value;
//!   - custom fields: `custom_fields.<key>` with `=`, `!=` and `:` comparing text, and `<`,
//!     `<=`, `>`, `>=` comparing numbers when the value is an unquoted number (`"10"` compares
//!     as text).
//! - At most 1000 characters and 50 comparisons, to keep every query bounded.
//!
//! Not supported: bare values without a field (global search), functions, `*` wildcards and
//! traversal into repeated messages.
//!
//! Examples: `status = ACTIVE AND create_time >= 2024-01-01T00:00:00Z`,
//! `name:"伟" OR phones:13812345678`, `tags:vip -tags:churned`, `custom_fields.size > 10`.
//!
//! # Ordering and pages
//!
//! `order_by` names one sortable field, optionally followed by `asc` or `desc`
//! ([`parse_order_by`]); ties are broken by id. `page_size` 0 means 50 and is capped at 1000
//! ([`page_size`]). `page_token` is an opaque keyset cursor tied to the query that produced
//! it: reusing it with a different filter or order is refused ([`decode_token`]).
//!
//! # In a service
//!
//! ```text
//! let q = ListQuery::parse(&SPEC, list_params!(msg), dialect, 2, &[tenant, scope_key])?;
//! let mut s = Select::filtered("SELECT … FROM t WHERE tenant_id = $1", 1, q.filter.as_ref());
//! s.and_visible(&scope, "owner_id", "team_id");
//! let (sql, binds) = s.list(&q, sort_column, "id")?;
//! // SELECT … WHERE tenant_id = $1 [AND filter] [AND visible] [AND keyset] ORDER BY … LIMIT size + 1
//! ```

mod filter;
mod list;
mod order;
mod page;
mod select;
mod sql;

pub use filter::{Comparison, Expr, MAX_COMPARISONS, MAX_FILTER_CHARS, Op, parse};
pub use list::{ListParams, ListQuery, ListSpec};
pub use order::{OrderBy, parse_order_by};
pub use page::{
    CursorValue, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page, decode_cursor, decode_token, encode_token,
    fingerprint, page_size,
};
pub use select::Select;
pub use sql::{
    FieldKind, FieldSpec, Normalize, SqlFilter, compile, keyset_after, order_sql, to_sql,
};
