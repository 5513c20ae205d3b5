//! Paging of a customer's sub-collections (timeline, ownership history): newest first, keyset
//! cursors of [time, id].

use rapport_kit::query::{CursorValue, Page};
use rapport_runtime::{Error, Result, error::both};
use sqlx::AnyConnection;
use uuid::Uuid;

use super::support::{CustomersApi, READERS, authorize};

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
    let fits = |c: &[CursorValue]| matches!(c, [CursorValue::Int(_), CursorValue::Text(id)] if Uuid::parse_str(id).is_ok());
    // A token of one collection, parent or tenant is refused by another.
    let page = Page::parse(
        &[&p.tenant_id, M::COLLECTION, parent.1],
        page_size,
        page_token,
        fits,
    )
    .map_err(Error::from);
    let (customer_id, page) = both(parent.0.map_err(Error::from), page)?;
    api.load_visible(&p, customer_id).await?;
    let mut conn = api.db().pool().acquire().await?;
    let mut rows = fetch(
        &mut conn,
        &p.tenant_id,
        customer_id,
        &page.after,
        page.fetch(),
    )
    .await?;
    let next = page.next_token(&mut rows, |r| {
        let (time, id) = key(r);
        vec![CursorValue::Int(time), CursorValue::Text(id.to_string())]
    });
    Ok((rows, next))
}
