//! Saved segments (CU13): one row each, the filter kept as its text.

use rapport_kit::query::{CursorValue, FieldSpec, ListQuery, OrderBy, Select};
use rapport_runtime::{
    Result,
    dialect::Dialect,
    storage::{Tx, bind_all, one_by_id},
};
use sqlx::{AnyConnection, Row, any::AnyRow};
use uuid::Uuid;

use super::uuid;
use crate::domain::segment::{Segment, SegmentFields};

const COLUMNS: &str = "s.id, s.display_name, s.description, s.filter, s.creator, \
     s.create_time, s.update_time, s.delete_time, s.version";

/// Fields ListSegments can filter on.
pub const SEGMENT_FILTER_FIELDS: &[FieldSpec] = &[
    FieldSpec::search("display_name", "s.search_text"),
    FieldSpec::text("creator", "s.creator"),
    FieldSpec::timestamp("create_time", "s.create_time"),
    FieldSpec::timestamp("update_time", "s.update_time"),
];

fn row_to_segment(row: &AnyRow) -> Result<Segment> {
    Ok(Segment {
        id: uuid(&row.try_get::<String, _>("id")?)?,
        fields: SegmentFields {
            display_name: row.try_get("display_name")?,
            description: row.try_get("description")?,
            filter: row.try_get("filter")?,
        },
        creator: row.try_get("creator")?,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
        delete_time: row.try_get("delete_time")?,
        version: row.try_get("version")?,
    })
}

/// Stores a new segment.
pub async fn insert_segment(tx: &mut Tx, tenant: &str, s: &Segment) -> Result<()> {
    sqlx::query(
        "INSERT INTO customer_segments (tenant_id, id, display_name, search_text, description, \
         filter, creator, create_time, update_time, delete_time, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(tenant)
    .bind(s.id.to_string())
    .bind(s.fields.display_name.as_str())
    .bind(s.fields.display_name.to_lowercase())
    .bind(s.fields.description.as_str())
    .bind(s.fields.filter.as_str())
    .bind(s.creator.as_str())
    .bind(s.create_time)
    .bind(s.update_time)
    .bind(s.delete_time)
    .bind(s.version)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Rewrites a segment whose stored version is `expected`; `false` when it moved on.
pub async fn update_segment(tx: &mut Tx, tenant: &str, s: &Segment, expected: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE customer_segments SET display_name = $3, search_text = $4, description = $5, \
         filter = $6, update_time = $7, delete_time = $8, version = $9 \
         WHERE tenant_id = $1 AND id = $2 AND version = $10",
    )
    .bind(tenant)
    .bind(s.id.to_string())
    .bind(s.fields.display_name.as_str())
    .bind(s.fields.display_name.to_lowercase())
    .bind(s.fields.description.as_str())
    .bind(s.fields.filter.as_str())
    .bind(s.update_time)
    .bind(s.delete_time)
    .bind(s.version)
    .bind(expected)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A segment by id, deleted or not; with `lock`, locked for the rest of the transaction.
pub async fn get_segment(
    conn: &mut AnyConnection,
    tenant: &str,
    id: Uuid,
    lock: Option<Dialect>,
) -> Result<Option<Segment>> {
    let select = format!("SELECT {COLUMNS} FROM customer_segments s");
    one_by_id(conn, &select, "s.id", tenant, id, lock, row_to_segment).await
}

/// The column a ListSegments order field sorts on.
fn sort_column(field: &str) -> &'static str {
    match field {
        "display_name" => "s.display_name",
        "update_time" => "s.update_time",
        _ => "s.create_time",
    }
}

/// The cursor after `s` in `order`.
pub fn segment_cursor(s: &Segment, order: &OrderBy) -> Vec<CursorValue> {
    let key = match order.field {
        "display_name" => CursorValue::Text(s.fields.display_name.clone()),
        "update_time" => CursorValue::Int(s.update_time),
        _ => CursorValue::Int(s.create_time),
    };
    vec![key, CursorValue::Text(s.id.to_string())]
}

/// The page of segments `q` asks for (its filter's placeholders numbered from 2); deleted ones
/// only with `show_deleted`.
pub async fn list_segments(
    conn: &mut AnyConnection,
    tenant: &str,
    q: &ListQuery,
    show_deleted: bool,
) -> Result<Vec<Segment>> {
    let mut s = Select::filtered(
        format!("SELECT {COLUMNS} FROM customer_segments s WHERE s.tenant_id = $1"),
        1,
        q.filter.as_ref(),
    );
    if !show_deleted {
        s.and("s.delete_time IS NULL");
    }
    let (sql, binds) = s.list(q, sort_column(q.order.field), "s.id")?;
    let rows = bind_all(sqlx::query(&sql).bind(tenant), &binds)
        .fetch_all(conn)
        .await?;
    rows.iter().map(row_to_segment).collect()
}
