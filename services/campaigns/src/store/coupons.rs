//! Coupons, by tenant and code.

use rapport_kit::{
    query::{CursorValue, OrderBy, Page, Select},
    sweep::lock_due,
};
use rapport_runtime::{
    Result,
    dialect::Dialect,
    storage::{Tx, from_json, id_column, stored, to_json},
};
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row, any::AnyRow};
use uuid::Uuid;

use crate::domain::coupon::{Coupon, Redemption, State, Terms, Value};

/// What the doc column holds: the terms but the expiry (a column), and the redemption.
#[derive(Serialize, Deserialize)]
struct Doc {
    currency: String,
    value: Value,
    min_order: i64,
    strategy: String,
    issued_by: String,
    redemption: Option<Redemption>,
}

fn doc(terms: &Terms, redemption: Option<&Redemption>) -> Result<String> {
    to_json(&Doc {
        currency: terms.currency.clone(),
        value: terms.value,
        min_order: terms.min_order,
        strategy: terms.strategy.clone(),
        issued_by: terms.issued_by.clone(),
        redemption: redemption.cloned(),
    })
}

const SELECT: &str = "SELECT c.code, c.campaign_id, c.customer_id, c.state, c.expire_time, \
     c.doc, c.create_time, c.update_time FROM coupons c";

fn row_to_coupon(row: &AnyRow) -> Result<Coupon> {
    let doc: Doc = from_json("coupons", &row.try_get::<String, _>("doc")?)?;
    let customer: String = row.try_get("customer_id")?;
    Ok(Coupon {
        code: row.try_get("code")?,
        campaign_id: id_column(&row.try_get::<String, _>("campaign_id")?)?,
        customer_id: (!customer.is_empty())
            .then(|| id_column(&customer))
            .transpose()?,
        terms: Terms {
            currency: doc.currency,
            value: doc.value,
            min_order: doc.min_order,
            expire_time: row.try_get("expire_time")?,
            strategy: doc.strategy,
            issued_by: doc.issued_by,
        },
        state: stored("coupons", &row.try_get::<String, _>("state")?, State::parse)?,
        redemption: doc.redemption,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
    })
}

/// Inserts issued coupons of `campaign` on `terms` at `now`, one per (code, bound customer),
/// skipping codes the tenant has already; the codes inserted. One statement whatever the
/// number: the rows travel as one JSON parameter.
pub(crate) async fn insert_issued(
    tx: &mut Tx,
    tenant: &str,
    campaign: Uuid,
    terms: &Terms,
    rows: &[(String, Option<Uuid>)],
    now: i64,
) -> Result<Vec<String>> {
    let json: Vec<[String; 2]> = rows
        .iter()
        .map(|(code, customer)| {
            [
                code.clone(),
                customer.map(|c| c.to_string()).unwrap_or_default(),
            ]
        })
        .collect();
    // `WHERE true` keeps SQLite from reading ON CONFLICT as part of the SELECT's join.
    let sql = format!(
        "INSERT INTO coupons (tenant_id, code, campaign_id, customer_id, state, expire_time, \
         doc, create_time, update_time) \
         SELECT $1, q.code, $3, q.customer_id, $4, $5, $6, $7, $7 FROM {} q WHERE true \
         ON CONFLICT (tenant_id, code) DO NOTHING RETURNING code",
        tx.dialect().json_rows("$2", &["code", "customer_id"])
    );
    let inserted: Vec<String> = sqlx::query_scalar(&sql)
        .bind(tenant)
        .bind(to_json(&json)?)
        .bind(campaign.to_string())
        .bind(State::Issued.as_str())
        .bind(terms.expire_time)
        .bind(doc(terms, None)?)
        .bind(now)
        .fetch_all(&mut **tx)
        .await?;
    Ok(inserted)
}

/// The coupon `code` of `tenant`, locked when `lock` names the dialect.
pub(crate) async fn get(
    conn: &mut AnyConnection,
    tenant: &str,
    code: &str,
    lock: Option<Dialect>,
) -> Result<Option<Coupon>> {
    let sql = format!(
        "{SELECT} WHERE c.tenant_id = $1 AND c.code = $2{}",
        lock.map_or("", Dialect::for_update)
    );
    let row = sqlx::query(&sql)
        .bind(tenant)
        .bind(code)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(row_to_coupon).transpose()
}

/// Rewrites the coupon's state and redemption if its stored state is still `was`; whether it
/// was.
pub(crate) async fn update(tx: &mut Tx, tenant: &str, c: &Coupon, was: State) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE coupons SET state = $3, doc = $4, update_time = $5 \
         WHERE tenant_id = $1 AND code = $2 AND state = $6",
    )
    .bind(tenant)
    .bind(c.code.as_str())
    .bind(c.state.as_str())
    .bind(doc(&c.terms, c.redemption.as_ref())?)
    .bind(c.update_time)
    .bind(was.as_str())
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// In the order they were issued.
const ISSUED: OrderBy = OrderBy::asc("create_time");

/// Which coupons a list keeps.
#[derive(Debug, Default)]
pub(crate) struct Filter {
    pub campaign_id: Option<Uuid>,
    pub state: Option<State>,
}

/// A page of coupons in the order they were issued.
pub(crate) async fn list(
    conn: &mut AnyConnection,
    tenant: &str,
    filter: &Filter,
    page: &Page,
) -> Result<Vec<Coupon>> {
    let mut s = Select::new(format!("{SELECT} WHERE c.tenant_id = $1"), 1);
    if let Some(campaign) = filter.campaign_id {
        s.and_eq("c.campaign_id", campaign.to_string());
    }
    if let Some(state) = filter.state {
        s.and_eq("c.state", state.as_str());
    }
    let order = (page, &ISSUED);
    s.fetch_fixed(
        conn,
        tenant,
        order,
        ("c.create_time", "c.code"),
        row_to_coupon,
    )
    .await
}

/// The cursor after `c`.
pub(crate) fn cursor_of(c: &Coupon) -> Vec<CursorValue> {
    vec![
        CursorValue::Int(c.create_time),
        CursorValue::Text(c.code.clone()),
    ]
}

/// Tenants with issued coupons past their time at `now` (at most `limit`).
pub(crate) async fn tenants_expiring(
    conn: &mut AnyConnection,
    now: i64,
    limit: u32,
) -> Result<Vec<String>> {
    let sql = format!(
        "SELECT DISTINCT tenant_id FROM coupons WHERE state = 'issued' AND expire_time <= $1 \
         ORDER BY tenant_id LIMIT {limit}"
    );
    Ok(sqlx::query_scalar(&sql).bind(now).fetch_all(conn).await?)
}

/// Up to `limit` of `tenant`'s issued coupons past their time at `now`, locked, skipping
/// those another transaction holds (the expiry sweep's batch).
pub(crate) async fn lock_expiring(
    tx: &mut Tx,
    tenant: &str,
    now: i64,
    limit: u32,
) -> Result<Vec<Coupon>> {
    let select = format!(
        "{SELECT} WHERE c.tenant_id = $1 AND c.state = 'issued' AND c.expire_time <= $2 \
         ORDER BY c.expire_time, c.code LIMIT {limit}"
    );
    let dialect = tx.dialect();
    lock_due(tx, dialect, tenant, now, &select, row_to_coupon).await
}
