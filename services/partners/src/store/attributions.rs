//! What partners brought, as the events of other services told.

use std::collections::BTreeMap;

use rapport_kit::query::{CursorValue, OrderBy, Page, Select};
use rapport_runtime::{
    Result,
    storage::{BindValue, Tx, bind_all},
};
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use super::{stored, uuid};

/// What an attribution is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Lead,
    Customer,
    Order,
}

impl Kind {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Lead => "lead",
            Kind::Customer => "customer",
            Kind::Order => "order",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Kind::Lead, Kind::Customer, Kind::Order]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// One attribution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribution {
    pub partner_id: Uuid,
    /// "leads/{id}", "customers/{id}", "orders/{id}".
    pub resource: String,
    pub kind: Kind,
    pub currency: String,
    pub amount: i64,
    pub converted: bool,
    /// The lead's or order's state as its service names it; empty for customers.
    pub state: String,
    pub create_time: i64,
    pub update_time: i64,
}

/// Records `a`, or updates the amount and conversion of the one recorded for its resource
/// (keeping the partner and time it was first credited with).
pub(crate) async fn upsert(tx: &mut Tx, tenant: &str, a: &Attribution) -> Result<()> {
    sqlx::query(
        "INSERT INTO attributions (tenant_id, partner_id, resource, kind, currency, amount, \
         converted, state, create_time, update_time) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (tenant_id, resource) DO UPDATE SET currency = excluded.currency, \
         amount = excluded.amount, converted = excluded.converted, state = excluded.state, \
         update_time = excluded.update_time",
    )
    .bind(tenant)
    .bind(a.partner_id.to_string())
    .bind(a.resource.as_str())
    .bind(a.kind.as_str())
    .bind(a.currency.as_str())
    .bind(a.amount)
    .bind(i32::from(a.converted))
    .bind(a.state.as_str())
    .bind(a.create_time)
    .bind(a.update_time)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

const NEWEST: OrderBy = OrderBy::desc("create_time");

/// A page of a partner's attributions, newest first, of `kind` when given.
pub(crate) async fn list(
    conn: &mut AnyConnection,
    tenant: &str,
    partner: Uuid,
    kind: Option<Kind>,
    page: &Page,
) -> Result<Vec<Attribution>> {
    let mut s = Select::new(
        "SELECT partner_id, resource, kind, currency, amount, converted, state, create_time, \
         update_time FROM attributions WHERE tenant_id = $1 AND partner_id = $2",
        2,
    );
    if let Some(k) = kind {
        let n = s.bind(BindValue::Text(k.as_str().into()));
        s.and(&format!("kind = ${n}"));
    }
    let (sql, binds) = s.fixed(page, &NEWEST, "create_time", "resource")?;
    let rows = bind_all(
        sqlx::query(&sql).bind(tenant).bind(partner.to_string()),
        &binds,
    )
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Attribution {
                partner_id: uuid(&r.try_get::<String, _>("partner_id")?)?,
                resource: r.try_get("resource")?,
                kind: stored(
                    "attributions",
                    &r.try_get::<String, _>("kind")?,
                    Kind::parse,
                )?,
                currency: r.try_get("currency")?,
                amount: r.try_get("amount")?,
                converted: r.try_get::<i32, _>("converted")? != 0,
                state: r.try_get("state")?,
                create_time: r.try_get("create_time")?,
                update_time: r.try_get("update_time")?,
            })
        })
        .collect()
}

/// The cursor after `a`.
pub(crate) fn cursor_of(a: &Attribution) -> Vec<CursorValue> {
    vec![
        CursorValue::Int(a.create_time),
        CursorValue::Text(a.resource.clone()),
    ]
}

/// A partner's order amounts credited since `since`, by currency.
pub(crate) async fn sales_since(
    conn: &mut AnyConnection,
    tenant: &str,
    partner: Uuid,
    since: i64,
) -> Result<BTreeMap<String, i64>> {
    let rows = sqlx::query(
        "SELECT currency, CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS total FROM attributions \
         WHERE tenant_id = $1 AND partner_id = $2 AND kind = 'order' AND create_time >= $3 \
         GROUP BY currency",
    )
    .bind(tenant)
    .bind(partner.to_string())
    .bind(since)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("currency")?, r.try_get("total")?)))
        .collect()
}
