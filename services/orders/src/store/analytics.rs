//! SQL of order analytics (OR6): the facts kept beside every change of an order, and the
//! reports' aggregates over them.
//!
//! Reports never read `orders`: a month of one tenant and currency is a range of the index
//! `(tenant_id, currency_code, confirm_time)` of `order_facts` (one row per counted order) or
//! `order_line_facts` (one per line), and customers' first and second orders are in
//! `customer_facts`, so the repurchase rate to date counts index entries instead of grouping
//! every order the tenant ever had.

use std::collections::BTreeSet;

use rapport_runtime::{
    Result,
    clock::Micros,
    storage::{BindValue, Tx, bind_all, lock_keys},
};
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use super::{uuid, value_rows};
use crate::domain::{
    analytics::{Bands, Facts, LineFact, OrderFact},
    order::Order,
};

/// Keeps the facts of `o` as it is now, in the transaction that writes it: its rows when it
/// counts, none when it does not, and its customer's first orders when they may have moved.
/// A draft never counted, so it costs nothing; a counted order's other changes (payments,
/// deliveries) cost a read of its facts, which stay as they are.
pub(crate) async fn upsert_facts(tx: &mut Tx, tenant: &str, o: &Order) -> Result<()> {
    if o.confirm_time.is_none() {
        return Ok(());
    }
    let next = Facts::of(o);
    let stored = stored_facts(tx, tenant, o.id).await?;
    if next == stored {
        return Ok(());
    }
    let id = o.id.to_string();
    for table in ["order_facts", "order_line_facts"] {
        sqlx::query(&format!(
            "DELETE FROM {table} WHERE tenant_id = $1 AND order_id = $2"
        ))
        .bind(tenant)
        .bind(id.as_str())
        .execute(&mut **tx)
        .await?;
    }
    if let Some(f) = &next {
        insert_facts(tx, tenant, &id, f).await?;
    }
    // A customer's first orders move only when an order starts or stops counting, or moves.
    let key = |f: &Option<Facts>| {
        f.as_ref().map(|f| {
            let o = &f.order;
            (
                o.currency.clone(),
                o.customer_id,
                o.team_id.clone(),
                o.confirm_time,
            )
        })
    };
    let (before, after) = (key(&stored), key(&next));
    if before != after {
        let customers: BTreeSet<(String, Uuid, String)> = [before, after]
            .into_iter()
            .flatten()
            .map(|(currency, customer, team, _)| (currency, customer, team))
            .collect();
        refresh_customers(tx, tenant, &customers).await?;
    }
    Ok(())
}

/// The facts stored for an order.
async fn stored_facts(tx: &mut Tx, tenant: &str, order: Uuid) -> Result<Option<Facts>> {
    let id = order.to_string();
    let Some(r) = sqlx::query(
        "SELECT currency_code, confirm_time, customer_id, owner_id, team_id, region, \
         from_opportunity, net_total, cost FROM order_facts WHERE tenant_id = $1 AND order_id = $2",
    )
    .bind(tenant)
    .bind(id.as_str())
    .fetch_optional(&mut **tx)
    .await?
    else {
        return Ok(None);
    };
    let from_opportunity: i64 = r.try_get(6)?;
    let order = OrderFact {
        currency: r.try_get(0)?,
        confirm_time: r.try_get(1)?,
        customer_id: uuid(&r.try_get::<String, _>(2)?)?,
        owner_id: r.try_get(3)?,
        team_id: r.try_get(4)?,
        region: r.try_get(5)?,
        from_opportunity: from_opportunity != 0,
        net_total: r.try_get(7)?,
        cost: r.try_get(8)?,
    };
    let rows = sqlx::query(
        "SELECT line_id, product_id, category_id, quantity, net_amount, cost FROM \
         order_line_facts WHERE tenant_id = $1 AND order_id = $2 ORDER BY line_id",
    )
    .bind(tenant)
    .bind(id.as_str())
    .fetch_all(&mut **tx)
    .await?;
    let mut lines = Vec::with_capacity(rows.len());
    for r in &rows {
        lines.push(LineFact {
            line_id: r.try_get(0)?,
            product_id: uuid(&r.try_get::<String, _>(1)?)?,
            category_id: uuid(&r.try_get::<String, _>(2)?)?,
            quantity: r.try_get(3)?,
            net_amount: r.try_get(4)?,
            cost: r.try_get(5)?,
        });
    }
    // Stored in line id order by the same comparison as Facts::of sorts with.
    lines.sort_by(|a, b| a.line_id.cmp(&b.line_id));
    Ok(Some(Facts { order, lines }))
}

async fn insert_facts(tx: &mut Tx, tenant: &str, id: &str, f: &Facts) -> Result<()> {
    let o = &f.order;
    sqlx::query(
        "INSERT INTO order_facts (tenant_id, order_id, currency_code, confirm_time, customer_id, \
         owner_id, team_id, region, from_opportunity, net_total, cost) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(tenant)
    .bind(id)
    .bind(o.currency.as_str())
    .bind(o.confirm_time)
    .bind(o.customer_id.to_string())
    .bind(o.owner_id.as_str())
    .bind(o.team_id.as_str())
    .bind(o.region.as_str())
    .bind(i64::from(o.from_opportunity))
    .bind(o.net_total)
    .bind(o.cost)
    .execute(&mut **tx)
    .await?;
    if f.lines.is_empty() {
        return Ok(());
    }
    let mut binds = Vec::with_capacity(f.lines.len() * 10);
    for l in &f.lines {
        binds.extend([
            BindValue::Text(id.to_owned()),
            BindValue::Text(l.line_id.clone()),
            BindValue::Text(o.currency.clone()),
            BindValue::Int(o.confirm_time),
            BindValue::Text(o.team_id.clone()),
            BindValue::Text(l.product_id.to_string()),
            BindValue::Text(l.category_id.to_string()),
            BindValue::Int(l.quantity),
            BindValue::Int(l.net_amount),
            BindValue::Int(l.cost),
        ]);
    }
    let sql = format!(
        "INSERT INTO order_line_facts (tenant_id, order_id, line_id, currency_code, confirm_time, \
         team_id, product_id, category_id, quantity, net_amount, cost) VALUES {}",
        value_rows(2, f.lines.len(), 10)
    );
    bind_all(sqlx::query(&sql).bind(tenant), &binds)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Where a customer's first orders are counted: over the whole tenant, or over one team's.
const TENANT_SCOPE: &str = "tenant";
const TEAM_SCOPE: &str = "team";

/// Recomputes the first and second confirmation times of `customers` (currency, customer,
/// team), over the tenant and over the team, from the order facts. Runs under a lock on each
/// customer, so two transactions changing orders of one customer never keep a view that
/// missed the other's order: whoever locks second reads what the first committed.
async fn refresh_customers(
    tx: &mut Tx,
    tenant: &str,
    customers: &BTreeSet<(String, Uuid, String)>,
) -> Result<()> {
    let mut keys: Vec<String> = customers
        .iter()
        .map(|(currency, customer, _)| {
            format!("orders/{tenant}/customer-facts/{currency}/{customer}")
        })
        .collect();
    lock_keys(tx, &mut keys).await?;
    for (currency, customer, team) in customers {
        let customer = customer.to_string();
        for (scope, team) in [(TENANT_SCOPE, ""), (TEAM_SCOPE, team.as_str())] {
            let filter = if scope == TEAM_SCOPE {
                " AND team_id = $4"
            } else {
                ""
            };
            let sql = format!(
                "SELECT confirm_time FROM order_facts WHERE tenant_id = $1 AND currency_code = $2 \
                 AND customer_id = $3{filter} ORDER BY confirm_time LIMIT 2"
            );
            let mut q = sqlx::query_scalar::<_, i64>(&sql)
                .bind(tenant)
                .bind(currency.as_str())
                .bind(customer.as_str());
            if scope == TEAM_SCOPE {
                q = q.bind(team);
            }
            let firsts = q.fetch_all(&mut **tx).await?;
            sqlx::query(
                "DELETE FROM customer_facts WHERE tenant_id = $1 AND currency_code = $2 \
                 AND scope = $3 AND team_id = $4 AND customer_id = $5",
            )
            .bind(tenant)
            .bind(currency.as_str())
            .bind(scope)
            .bind(team)
            .bind(customer.as_str())
            .execute(&mut **tx)
            .await?;
            if let Some(&first) = firsts.first() {
                sqlx::query(
                    "INSERT INTO customer_facts (tenant_id, currency_code, scope, team_id, \
                     customer_id, first_time, second_time) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(tenant)
                .bind(currency.as_str())
                .bind(scope)
                .bind(team)
                .bind(customer.as_str())
                .bind(first)
                .bind(firsts.get(1).copied())
                .execute(&mut **tx)
                .await?;
            }
        }
    }
    Ok(())
}

/// What a report reads: one tenant's orders in one currency confirmed in `[from, to)`, those
/// from `split` on being the month's and those before it the month before's; a manager's
/// team's only when `team` is set.
#[derive(Debug, Clone)]
pub(crate) struct Slice {
    pub tenant: String,
    pub currency: String,
    pub team: Option<String>,
    pub from: Micros,
    pub split: Micros,
    pub to: Micros,
}

/// What order sums are grouped by.
#[derive(Debug, Clone, Copy)]
pub(crate) enum OrderKey<'a> {
    /// The price band of the net total, by its lower bound as text; empty below the first.
    Band(&'a Bands),
    Region,
    Owner,
    Team,
    Customer,
    /// "1" for orders that close an opportunity, "0" for the others.
    Opportunity,
}

/// What line sums are grouped by.
#[derive(Debug, Clone, Copy)]
pub(crate) enum LineKey {
    Product,
    Category,
}

/// Sums of one group in the month (`current`) or the month before: orders (units for lines),
/// net amount and cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sums {
    pub key: String,
    pub current: bool,
    pub count: i64,
    pub amount: i64,
    pub cost: i64,
}

/// A statement and its values, numbered as they are added.
struct Statement {
    sql: String,
    binds: Vec<BindValue>,
}

impl Statement {
    /// `$n` for `value`, the next parameter.
    fn param(&mut self, value: BindValue) -> String {
        self.binds.push(value);
        format!("${}", self.binds.len())
    }

    /// The statement over `table` limited to `s`: the tenant, the currency, the window and the
    /// team; `select` is what it selects, `group` what it groups by (if anything). The
    /// parameters `select` takes are numbered after the window's.
    fn over(
        table: &str,
        s: &Slice,
        select: impl FnOnce(&mut Statement) -> String,
        group: &str,
    ) -> Statement {
        let mut st = Statement {
            sql: String::new(),
            binds: vec![
                BindValue::Text(s.tenant.clone()),
                BindValue::Text(s.currency.clone()),
                BindValue::Int(s.from),
                BindValue::Int(s.to),
            ],
        };
        let columns = select(&mut st);
        let mut sql = format!(
            "SELECT {columns} FROM {table} WHERE tenant_id = $1 AND currency_code = $2 \
             AND confirm_time >= $3 AND confirm_time < $4"
        );
        if let Some(team) = &s.team {
            let p = st.param(BindValue::Text(team.clone()));
            sql.push_str(&format!(" AND team_id = {p}"));
        }
        if !group.is_empty() {
            sql.push_str(&format!(" GROUP BY {group}"));
        }
        st.sql = sql;
        st
    }

    async fn fetch(&self, conn: &mut AnyConnection) -> Result<Vec<sqlx::any::AnyRow>> {
        Ok(bind_all(sqlx::query(&self.sql), &self.binds)
            .fetch_all(conn)
            .await?)
    }
}

/// Sums of `table` grouped by `key` (an expression) and by month, with `count` and `amount`
/// the expressions summed as the count and the amount.
async fn sums(
    conn: &mut AnyConnection,
    table: &str,
    s: &Slice,
    key: impl FnOnce(&mut Statement) -> String,
    (count, amount): (&str, &str),
) -> Result<Vec<Sums>> {
    let split = s.split;
    let st = Statement::over(
        table,
        s,
        |st| {
            let key = key(st);
            let split = st.param(BindValue::Int(split));
            format!(
                "{key}, CAST(CASE WHEN confirm_time >= {split} THEN 1 ELSE 0 END AS BIGINT), \
                 CAST({count} AS BIGINT), CAST(SUM({amount}) AS BIGINT), CAST(SUM(cost) AS BIGINT)"
            )
        },
        "1, 2",
    );
    let rows = st.fetch(conn).await?;
    rows.iter()
        .map(|r| {
            let current: i64 = r.try_get(1)?;
            Ok(Sums {
                key: r.try_get(0)?,
                current: current != 0,
                count: r.try_get(2)?,
                amount: r.try_get(3)?,
                cost: r.try_get(4)?,
            })
        })
        .collect()
}

/// Order sums of `s` grouped by `key`: orders, net totals and costs.
pub(crate) async fn order_sums(
    conn: &mut AnyConnection,
    s: &Slice,
    key: OrderKey<'_>,
) -> Result<Vec<Sums>> {
    let key = |st: &mut Statement| match key {
        OrderKey::Band(bands) => {
            // Highest bound first: the first a total reaches is its band.
            let arms: Vec<String> = bands
                .bounds()
                .iter()
                .rev()
                .map(|b| {
                    let p = st.param(BindValue::Int(*b));
                    format!("WHEN net_total >= {p} THEN '{b}'")
                })
                .collect();
            format!("CASE {} ELSE '' END", arms.join(" "))
        }
        OrderKey::Region => "region".to_owned(),
        OrderKey::Owner => "owner_id".to_owned(),
        OrderKey::Team => "team_id".to_owned(),
        OrderKey::Customer => "customer_id".to_owned(),
        OrderKey::Opportunity => "CASE WHEN from_opportunity = 1 THEN '1' ELSE '0' END".to_owned(),
    };
    sums(conn, "order_facts", s, key, ("COUNT(*)", "net_total")).await
}

/// Line sums of `s` grouped by `key`: units, net amounts and costs.
pub(crate) async fn line_sums(
    conn: &mut AnyConnection,
    s: &Slice,
    key: LineKey,
) -> Result<Vec<Sums>> {
    let column = match key {
        LineKey::Product => "product_id",
        LineKey::Category => "category_id",
    };
    sums(
        conn,
        "order_line_facts",
        s,
        |_| column.to_owned(),
        ("SUM(quantity)", "net_amount"),
    )
    .await
}

/// Customers with an order in `[s.split, s.to)`, and those with two or more.
pub(crate) async fn month_customers(conn: &mut AnyConnection, s: &Slice) -> Result<(i64, i64)> {
    let month = Slice {
        from: s.split,
        ..s.clone()
    };
    let inner = Statement::over(
        "order_facts",
        &month,
        |_| "customer_id, COUNT(*) AS n".to_owned(),
        "customer_id",
    );
    let sql = format!(
        "SELECT CAST(COUNT(*) AS BIGINT), \
         CAST(COALESCE(SUM(CASE WHEN n >= 2 THEN 1 ELSE 0 END), 0) AS BIGINT) FROM ({}) c",
        inner.sql
    );
    let row = bind_all(sqlx::query(&sql), &inner.binds)
        .fetch_one(conn)
        .await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

/// From the customers' first orders: those whose first order is in `[s.split, s.to)`, those
/// with one before `s.to`, and those with two before `s.to`.
pub(crate) async fn first_orders(conn: &mut AnyConnection, s: &Slice) -> Result<(i64, i64, i64)> {
    let (scope, team) = match &s.team {
        Some(team) => (TEAM_SCOPE, team.as_str()),
        None => (TENANT_SCOPE, ""),
    };
    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(CASE WHEN first_time >= $5 THEN 1 ELSE 0 END), 0) AS BIGINT), \
         CAST(COUNT(*) AS BIGINT), \
         CAST(COALESCE(SUM(CASE WHEN second_time < $6 THEN 1 ELSE 0 END), 0) AS BIGINT) \
         FROM customer_facts WHERE tenant_id = $1 AND currency_code = $2 AND scope = $3 \
         AND team_id = $4 AND first_time < $6",
    )
    .bind(s.tenant.as_str())
    .bind(s.currency.as_str())
    .bind(scope)
    .bind(team)
    .bind(s.split)
    .bind(s.to)
    .fetch_one(conn)
    .await?;
    Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?))
}
