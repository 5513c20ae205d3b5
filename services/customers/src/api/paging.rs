//! Paging of a customer's sub-collections (timeline, ownership history): newest first, keyset
//! cursors of [time, id].

use rapport_runtime::{
    Error, Result,
    auth::Principal,
    query::{self, CursorValue},
    validation::Violations,
};
use sqlx::AnyConnection;
use uuid::Uuid;

use super::support::{CustomersApi, READERS, authorize};

/// A parsed page request.
pub(super) struct Page {
    pub limit: u32,
    pub after: Vec<CursorValue>,
    fingerprint: String,
}

impl Page {
    /// Reads page size and token; the token must come from the same collection of the same
    /// parent and tenant (a timeline token is no ownership-history token).
    pub fn parse(
        p: &Principal,
        collection: &str,
        parent: &str,
        page_size: i32,
        page_token: &str,
    ) -> Result<Page> {
        let mut v = Violations::new();
        let limit = query::page_size(page_size)
            .map_err(|e| v.add(&e.field, e.description))
            .unwrap_or(0);
        let fingerprint = query::fingerprint(&[&p.tenant_id, collection, parent]);
        let fits = |c: &[CursorValue]| matches!(c, [CursorValue::Int(_), CursorValue::Text(id)] if Uuid::parse_str(id).is_ok());
        let after = query::decode_cursor(page_token, &fingerprint, fits)
            .map_err(|e| v.add(&e.field, e.description))
            .unwrap_or_default();
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

/// A request listing one of a customer's sub-collections.
pub(super) trait SubCollection {
    /// The collection's name; a page token of one collection is refused by another.
    const COLLECTION: &'static str;
}

impl SubCollection for rapport_proto::customers::ListActivitiesRequest {
    const COLLECTION: &'static str = "activities";
}

impl SubCollection for rapport_proto::customers::ListOwnershipTransfersRequest {
    const COLLECTION: &'static str = "ownershipTransfers";
}

/// Lists one page of a sub-collection of a customer the caller may see: parses the parent and
/// the paging fields together (every bad field in one error), fetches one row more than the
/// page to know whether another follows, and returns the rows with the next page's token.
pub(super) async fn list_page<M: SubCollection, T>(
    api: &CustomersApi,
    req: &tonic::Request<M>,
    parent: (
        Result<Uuid, Vec<rapport_runtime::validation::FieldViolation>>,
        &str,
    ),
    page_size: i32,
    page_token: &str,
    fetch: impl AsyncFnOnce(&mut AnyConnection, &str, Uuid, &[CursorValue], u32) -> Result<Vec<T>>,
    key: impl Fn(&T) -> (i64, Uuid),
) -> Result<(Vec<T>, String)> {
    let p = authorize(req, READERS)?;
    let page = Page::parse(&p, M::COLLECTION, parent.1, page_size, page_token);
    let (customer_id, page) = both(parent.0.map_err(Error::from), page)?;
    api.load_visible(&p, customer_id).await?;
    let mut conn = api.db().pool().acquire().await?;
    let mut rows = fetch(
        &mut conn,
        &p.tenant_id,
        customer_id,
        &page.after,
        page.limit + 1,
    )
    .await?;
    let next = next_token(&page, &mut rows, key);
    Ok((rows, next))
}
