//! A List request parsed in one go: filter, order, page size and token, every bad field
//! reported together. Services describe their fields once and get SQL fragments back.

use rapport_runtime::{
    dialect::Dialect,
    validation::{FieldViolation, Violations},
};

use super::{
    CursorValue, FieldSpec, OrderBy, Page, SqlFilter, compile, decode_cursor, fingerprint,
    page_size, parse_order_by,
};

/// What a collection allows: its filter fields, sortable fields and default order.
#[derive(Debug, Clone, Copy)]
pub struct ListSpec {
    /// Fields the filter may name.
    pub filter_fields: &'static [FieldSpec],
    /// Fields `order_by` may name.
    pub order_fields: &'static [&'static str],
    /// The order when `order_by` is empty.
    pub default_order: OrderBy,
    /// Order fields whose cursor value is text (the others are integers).
    pub text_order_fields: &'static [&'static str],
}

/// The raw list fields of a request.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListParams<'a> {
    /// AIP-160 filter.
    pub filter: &'a str,
    /// AIP-132 order_by.
    pub order_by: &'a str,
    /// Requested page size.
    pub page_size: i32,
    /// Token of the previous page.
    pub page_token: &'a str,
}

/// The list fields of a List request message (`filter`, `order_by`, `page_size`,
/// `page_token`, as AIP-132 names them): `list_params!(msg)`.
#[macro_export]
macro_rules! list_params {
    ($msg:expr) => {
        $crate::query::ListParams {
            filter: &$msg.filter,
            order_by: &$msg.order_by,
            page_size: $msg.page_size,
            page_token: &$msg.page_token,
        }
    };
}

/// A parsed List request.
#[derive(Debug, Clone)]
pub struct ListQuery {
    /// The filter as SQL, placeholders numbered from the `first_placeholder` given to `parse`.
    pub filter: Option<SqlFilter>,
    /// The order.
    pub order: OrderBy,
    /// Where the previous page ended ([sort value, id]); empty on the first page.
    pub after: Vec<CursorValue>,
    /// Rows of the page.
    pub limit: u32,
    fingerprint: String,
}

impl ListQuery {
    /// Parses `params` against `spec`. `scope` names what else shapes the result (tenant,
    /// caller's visibility, parent, flags), so a token cannot be replayed with another.
    pub fn parse(
        spec: &ListSpec,
        params: ListParams<'_>,
        dialect: Dialect,
        first_placeholder: usize,
        scope: &[&str],
    ) -> Result<ListQuery, Vec<FieldViolation>> {
        let mut v = Violations::new();
        let limit = page_size(params.page_size)
            .map_err(|e| v.add(&e.field, e.description))
            .unwrap_or(0);
        let order = parse_order_by(params.order_by, spec.order_fields, spec.default_order)
            .map_err(|e| v.add(&e.field, e.description))
            .unwrap_or(spec.default_order);
        let filter = compile(
            params.filter,
            spec.filter_fields,
            dialect,
            first_placeholder,
        )
        .map_err(|errors| {
            for e in errors {
                v.add(&e.field, e.description);
            }
        })
        .ok()
        .flatten();
        let order_key = order.canonical();
        let mut parts = vec![params.filter.trim(), order_key.as_str()];
        parts.extend_from_slice(scope);
        let fingerprint = fingerprint(&parts);
        let text_key = spec.text_order_fields.contains(&order.field);
        let after = decode_cursor(params.page_token, &fingerprint, |c| match c {
            [CursorValue::Text(_), CursorValue::Text(_)] => text_key,
            [CursorValue::Int(_), CursorValue::Text(_)] => !text_key,
            [CursorValue::Null, CursorValue::Text(_)] => true,
            _ => false,
        })
        .map_err(|e| v.add(&e.field, e.description))
        .unwrap_or_default();
        v.finish(ListQuery {
            filter,
            order,
            after,
            limit,
            fingerprint,
        })
    }

    /// Rows to fetch: one more than the page, to know whether another follows.
    pub fn fetch(&self) -> u32 {
        self.limit + 1
    }

    /// Cuts `rows` to the page and returns the next page's token; `key` gives a row's
    /// [sort value, id] cursor.
    pub fn next_token<T>(&self, rows: &mut Vec<T>, key: impl Fn(&T) -> Vec<CursorValue>) -> String {
        Page::resume(self.limit, &self.fingerprint).next_token(rows, key)
    }
}
