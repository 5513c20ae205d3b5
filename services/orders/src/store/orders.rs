//! Orders, their lines (for reports) and their revisions.

use rapport_kit::{
    names,
    query::{CursorValue, FieldSpec, ListQuery, OrderBy, Select},
    sweep::{Claim, claim},
    visibility::Scope,
};
use rapport_runtime::{
    Error, Result,
    dialect::Dialect,
    storage::{BindValue, Tx, all_with, bind_all, one_by_id},
};
use sqlx::{AnyConnection, Row, any::AnyRow};
use uuid::Uuid;

use super::{from_json, to_json, value_rows};
use crate::domain::{
    order::{Line, Order},
    revision::{FieldChange, Kind, Revision},
};

/// What ListOrders filters on.
pub(crate) const ORDER_FILTERS: &[FieldSpec] = &[
    FieldSpec::exists("customer", "o.customer_id = {}", Some(customer_filter)),
    FieldSpec::text("owner_id", "o.owner_id"),
    FieldSpec::text("team_id", "o.team_id"),
    FieldSpec::text("store", "o.store"),
    FieldSpec::text("region", "o.region"),
    FieldSpec::text("partner", "o.partner"),
    FieldSpec::text("campaign", "o.campaign"),
    FieldSpec::text("opportunity", "o.opportunity"),
    FieldSpec::enumeration(
        "state",
        "o.state",
        &[
            "DRAFT",
            "CONFIRMED",
            "DELIVERY_SCHEDULED",
            "DELIVERED",
            "COMPLETED",
            "CANCELLED",
        ],
    ),
    FieldSpec::text("currency_code", "o.currency_code"),
    FieldSpec::int("total", "o.total"),
    FieldSpec::timestamp("create_time", "o.create_time"),
    FieldSpec::timestamp("update_time", "o.update_time"),
    FieldSpec::timestamp("confirm_time", "o.confirm_time"),
];

fn customer_filter(v: &str) -> std::result::Result<String, String> {
    names::parse_id("customers", v).map(|id| id.to_string())
}

const SELECT: &str = "SELECT o.doc FROM orders o";

fn row_to_order(row: &AnyRow) -> Result<Order> {
    from_json("orders", &row.try_get::<String, _>("doc")?)
}

/// Binds an order's columns as `$2..$21` after the tenant.
fn order_binds(o: &Order) -> Result<Vec<BindValue>> {
    Ok(vec![
        BindValue::Text(o.id.to_string()),
        BindValue::Text(o.customer_id.to_string()),
        BindValue::Text(o.owner_id.clone()),
        BindValue::Text(o.team_id.clone()),
        BindValue::Text(o.refs.store.clone()),
        BindValue::Text(o.refs.region.clone()),
        BindValue::Text(o.refs.partner.clone()),
        BindValue::Text(o.refs.campaign.clone()),
        BindValue::Text(o.refs.opportunity.clone()),
        BindValue::Text(o.currency.clone()),
        BindValue::Text(o.state.as_str().to_owned()),
        BindValue::Int(o.totals().total),
        BindValue::Text(to_json(o)?),
        BindValue::Int(o.revision),
        BindValue::OptInt(o.confirm_time),
        BindValue::OptInt(o.cancel_time),
        BindValue::OptInt(o.follow_up.as_ref().map(|f| f.due_time)),
        BindValue::Int(o.create_time),
        BindValue::Int(o.update_time),
        BindValue::Int(o.version),
    ])
}

/// Inserts a new order with its lines.
pub(crate) async fn insert_order(tx: &mut Tx, tenant: &str, o: &Order) -> Result<()> {
    let binds = order_binds(o)?;
    bind_all(
        sqlx::query(
            "INSERT INTO orders (tenant_id, id, customer_id, owner_id, team_id, store, region, \
             partner, campaign, opportunity, currency_code, state, total, doc, revision, \
             confirm_time, cancel_time, follow_up_due, create_time, update_time, version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
             $18, $19, $20, $21)",
        )
        .bind(tenant),
        &binds,
    )
    .execute(&mut **tx)
    .await?;
    insert_lines(tx, tenant, o.id, &o.lines).await?;
    super::analytics::upsert_facts(tx, tenant, o).await
}

/// Rewrites an order whose stored version is `expected` (its lines too when `lines_changed`);
/// `false` when it moved on.
pub(crate) async fn update_order(
    tx: &mut Tx,
    tenant: &str,
    o: &Order,
    expected: i64,
    lines_changed: bool,
) -> Result<bool> {
    let mut binds = order_binds(o)?;
    binds.push(BindValue::Int(expected));
    let done = bind_all(
        sqlx::query(
            "UPDATE orders SET customer_id = $3, owner_id = $4, team_id = $5, store = $6, \
             region = $7, partner = $8, campaign = $9, opportunity = $10, currency_code = $11, \
             state = $12, total = $13, doc = $14, revision = $15, confirm_time = $16, \
             cancel_time = $17, follow_up_due = $18, create_time = $19, update_time = $20, \
             version = $21 WHERE tenant_id = $1 AND id = $2 AND version = $22",
        )
        .bind(tenant),
        &binds,
    )
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    if lines_changed {
        sqlx::query("DELETE FROM order_lines WHERE tenant_id = $1 AND order_id = $2")
            .bind(tenant)
            .bind(o.id.to_string())
            .execute(&mut **tx)
            .await?;
        insert_lines(tx, tenant, o.id, &o.lines).await?;
    }
    super::analytics::upsert_facts(tx, tenant, o).await?;
    Ok(true)
}

/// Whether `customer` has a confirmed order (confirmed, in delivery, delivered or completed)
/// other than `except`.
pub(crate) async fn customer_has_confirmed(
    conn: &mut AnyConnection,
    tenant: &str,
    customer: Uuid,
    except: Uuid,
) -> Result<bool> {
    let found: Option<i32> = sqlx::query_scalar(
        "SELECT 1 FROM orders WHERE tenant_id = $1 AND customer_id = $2 AND id <> $3 \
         AND state IN ('CONFIRMED', 'DELIVERY_SCHEDULED', 'DELIVERED', 'COMPLETED') LIMIT 1",
    )
    .bind(tenant)
    .bind(customer.to_string())
    .bind(except.to_string())
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some())
}

/// The orders of `customers`, locked for the rest of the transaction.
pub(crate) async fn lock_of_customers(
    tx: &mut Tx,
    dialect: Dialect,
    tenant: &str,
    customers: &[Uuid],
) -> Result<Vec<Order>> {
    let columns = ("o.customer_id", "o.id");
    all_with(
        tx,
        SELECT,
        columns,
        tenant,
        customers,
        Some(dialect),
        row_to_order,
    )
    .await
}

/// Rewrites an order's document as it is, leaving its version (and etag) alone: for what the
/// service records beside a caller's changes.
pub(crate) async fn set_doc(tx: &mut Tx, tenant: &str, o: &Order) -> Result<()> {
    sqlx::query("UPDATE orders SET doc = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(o.id.to_string())
        .bind(to_json(o)?)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn insert_lines(tx: &mut Tx, tenant: &str, order: Uuid, lines: &[Line]) -> Result<()> {
    if lines.is_empty() {
        return Ok(());
    }
    let mut binds = Vec::with_capacity(lines.len() * 10);
    for l in lines {
        binds.extend([
            BindValue::Text(order.to_string()),
            BindValue::Text(l.id.clone()),
            BindValue::Text(l.sku.clone()),
            BindValue::Text(l.product_id.to_string()),
            BindValue::Text(l.category_id.to_string()),
            BindValue::Int(l.quantity),
            BindValue::Int(l.unit_price),
            BindValue::Int(l.unit_cost),
            BindValue::Int(l.discount),
            BindValue::Int(l.amount()),
        ]);
    }
    let sql = format!(
        "INSERT INTO order_lines (tenant_id, order_id, line_id, sku, product_id, category_id, \
         quantity, unit_price, unit_cost, discount, amount) VALUES {}",
        value_rows(2, lines.len(), 10)
    );
    bind_all(sqlx::query(&sql).bind(tenant), &binds)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// An order by id, locked for the rest of the transaction when `lock` names the dialect.
pub(crate) async fn get_order(
    conn: &mut AnyConnection,
    tenant: &str,
    id: Uuid,
    lock: Option<Dialect>,
) -> Result<Option<Order>> {
    one_by_id(conn, SELECT, "o.id", tenant, id, lock, row_to_order).await
}

fn sort_column(field: &str) -> &'static str {
    match field {
        "update_time" => "o.update_time",
        "confirm_time" => "o.confirm_time",
        "total" => "o.total",
        _ => "o.create_time",
    }
}

/// The cursor after `o` in `order`.
pub(crate) fn cursor_of(o: &Order, order: &OrderBy) -> Vec<CursorValue> {
    let key = match order.field {
        "update_time" => o.update_time,
        "confirm_time" => o.confirm_time.unwrap_or(0),
        "total" => o.totals().total,
        _ => o.create_time,
    };
    vec![CursorValue::Int(key), CursorValue::Text(o.id.to_string())]
}

/// A page of the orders `scope` sees.
pub(crate) async fn list_orders(
    conn: &mut AnyConnection,
    tenant: &str,
    q: &ListQuery,
    scope: &Scope,
) -> Result<Vec<Order>> {
    let mut s = Select::filtered(
        format!("{SELECT} WHERE o.tenant_id = $1"),
        1,
        q.filter.as_ref(),
    );
    s.and_visible(scope, "o.owner_id", "o.team_id");
    if q.order.field == "confirm_time" {
        // Drafts have no confirmation time: they are left out of a list in that order.
        s.and("o.confirm_time IS NOT NULL");
    }
    let (sql, binds) = s.list(q, sort_column(q.order.field), "o.id")?;
    let rows = bind_all(sqlx::query(&sql).bind(tenant), &binds)
        .fetch_all(conn)
        .await?;
    rows.iter().map(row_to_order).collect()
}

/// Inserts a revision; revisions are never changed.
pub(crate) async fn insert_revision(tx: &mut Tx, tenant: &str, r: &Revision) -> Result<()> {
    sqlx::query(
        "INSERT INTO order_revisions (tenant_id, order_id, revision, kind, actor, create_time, \
         changes, snapshot) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(tenant)
    .bind(r.order.id.to_string())
    .bind(r.revision)
    .bind(r.kind.as_str())
    .bind(r.actor.as_str())
    .bind(r.create_time)
    .bind(to_json(&r.changes)?)
    .bind(to_json(&r.order)?)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn row_to_revision(row: &AnyRow) -> Result<Revision> {
    let kind: String = row.try_get("kind")?;
    let changes: Vec<FieldChange> =
        from_json("order_revisions", &row.try_get::<String, _>("changes")?)?;
    Ok(Revision {
        revision: row.try_get("revision")?,
        kind: Kind::parse(&kind)
            .ok_or_else(|| Error::internal(format!("bad revision kind {kind:?}")))?,
        actor: row.try_get("actor")?,
        create_time: row.try_get("create_time")?,
        changes,
        order: from_json("order_revisions", &row.try_get::<String, _>("snapshot")?)?,
    })
}

/// Revisions of an order, newest first, below revision `before` when given.
pub(crate) async fn list_revisions(
    conn: &mut AnyConnection,
    tenant: &str,
    order: Uuid,
    before: Option<i64>,
    limit: u32,
) -> Result<Vec<Revision>> {
    let sql = format!(
        "SELECT revision, kind, actor, create_time, changes, snapshot FROM order_revisions \
         WHERE tenant_id = $1 AND order_id = $2{} ORDER BY revision DESC LIMIT {limit}",
        if before.is_some() {
            " AND revision < $3"
        } else {
            ""
        }
    );
    let mut q = sqlx::query(&sql).bind(tenant).bind(order.to_string());
    if let Some(b) = before {
        q = q.bind(b);
    }
    let rows = q.fetch_all(conn).await?;
    rows.iter().map(row_to_revision).collect()
}

/// Tenants with follow-up visits due at `now` not yet announced (at most `limit`).
pub(crate) async fn tenants_with_due_follow_ups(
    conn: &mut AnyConnection,
    now: i64,
    limit: u32,
) -> Result<Vec<String>> {
    let sql = format!(
        "SELECT DISTINCT tenant_id FROM orders WHERE follow_up_reminded = 0 \
         AND follow_up_due <= $1 AND state = 'DELIVERED' ORDER BY tenant_id LIMIT {limit}"
    );
    Ok(sqlx::query_scalar(&sql).bind(now).fetch_all(conn).await?)
}

/// Claims up to `limit` of the tenant's due follow-up visits in `tx` (marks them announced),
/// so each is announced once however many sweeps run.
pub(crate) async fn claim_due_follow_ups(
    tx: &mut Tx,
    dialect: Dialect,
    tenant: &str,
    now: i64,
    limit: u32,
) -> Result<Vec<Order>> {
    let select = format!(
        "{SELECT} WHERE o.tenant_id = $1 AND o.follow_up_reminded = 0 AND o.follow_up_due <= $2 \
         AND o.state = 'DELIVERED' ORDER BY o.follow_up_due, o.id LIMIT {limit}"
    );
    let due = Claim {
        table: "orders",
        flag: "follow_up_reminded",
        select: &select,
    };
    claim(tx, dialect, tenant, now, &due, |row| {
        let o = row_to_order(row)?;
        Ok((o.id.to_string(), o))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::order::State;

    #[test]
    fn the_state_filter_knows_every_state() {
        let Some(spec) = ORDER_FILTERS.iter().find(|f| f.name == "state") else {
            panic!("no state filter");
        };
        let rapport_kit::query::FieldKind::Enum { values, .. } = spec.kind else {
            panic!("state is an enum");
        };
        for v in values {
            assert!(State::parse(v).is_some(), "{v}");
        }
    }
}
