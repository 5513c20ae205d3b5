//! Pages of a customer's sub-collections (timeline, ownership history): newest first, keyset
//! cursors of [time, id].

use rapport_kit::query::{CursorValue, Page};
use rapport_runtime::{Result, auth::Principal};
use sqlx::AnyConnection;
use uuid::Uuid;

use super::state::App;

/// The cursor of a sub-collection's row: [time, id].
pub fn fits(cursor: &[CursorValue]) -> bool {
    matches!(cursor, [CursorValue::Int(_), CursorValue::Text(id)] if Uuid::parse_str(id).is_ok())
}

/// One page of a sub-collection of customer `customer_id`, which the caller must be able to
/// see: fetches one row more than the page to know whether another follows, and returns the
/// rows with the next page's token. `key` gives a row's (time, id).
pub async fn page_of<T>(
    app: &App,
    p: &Principal,
    customer_id: Uuid,
    page: Page,
    fetch: impl AsyncFnOnce(&mut AnyConnection, &str, Uuid, &[CursorValue], u32) -> Result<Vec<T>>,
    key: impl Fn(&T) -> (i64, Uuid),
) -> Result<(Vec<T>, String)> {
    app.load_visible(p, customer_id).await?;
    let mut conn = app.db().pool().acquire().await?;
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
