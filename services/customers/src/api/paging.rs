//! Paging of a customer's sub-collections (timeline, ownership history): newest first, keyset
//! cursors of [time, id].

use rapport_runtime::{
    Error, Result,
    auth::Principal,
    query::{self, CursorValue},
    validation::Violations,
};
use uuid::Uuid;

/// A parsed page request.
pub(super) struct Page {
    pub limit: u32,
    pub after: Vec<CursorValue>,
    fingerprint: String,
}

impl Page {
    /// Reads page size and token; the token must come from the same parent and tenant.
    pub fn parse(p: &Principal, parent: &str, page_size: i32, page_token: &str) -> Result<Page> {
        let mut v = Violations::new();
        let limit = query::page_size(page_size)
            .map_err(|e| v.add(&e.field, e.description))
            .unwrap_or(0);
        let fingerprint = query::fingerprint(&[&p.tenant_id, parent]);
        let after = if page_token.is_empty() {
            Vec::new()
        } else {
            match query::decode_token(page_token, &fingerprint) {
                Ok(c) if matches!(&c[..], [CursorValue::Int(_), CursorValue::Text(id)] if Uuid::parse_str(id).is_ok()) => {
                    c
                }
                Ok(_) => {
                    v.add("page_token", "does not belong to this query");
                    Vec::new()
                }
                Err(e) => {
                    v.add(&e.field, e.description);
                    Vec::new()
                }
            }
        };
        v.finish(Page {
            limit,
            after,
            fingerprint,
        })
        .map_err(Error::from)
    }
}

/// Both results, or every violation of both.
pub(super) fn both<A, B>(a: Result<A>, b: Result<B>) -> Result<(A, B)> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (Err(Error::InvalidArgument(mut x)), Err(Error::InvalidArgument(y))) => {
            x.extend(y);
            Err(Error::InvalidArgument(x))
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    }
}

/// Cuts `rows` (fetched with one extra) to the page and returns the next page's token.
pub(super) fn next_token<T>(
    page: &Page,
    rows: &mut Vec<T>,
    key: impl Fn(&T) -> (i64, Uuid),
) -> String {
    if rows.len() <= page.limit as usize {
        return String::new();
    }
    rows.truncate(page.limit as usize);
    rows.last()
        .map(|r| {
            let (time, id) = key(r);
            query::encode_token(
                &page.fingerprint,
                &[CursorValue::Int(time), CursorValue::Text(id.to_string())],
            )
        })
        .unwrap_or_default()
}
