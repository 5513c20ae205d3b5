//! The order events of `rapport-bench partners` and the commission accrual they drive: the
//! same generated sales as `order.confirmed` events for the partners service's order consumer,
//! and as the raw SQL their accrual amounts to.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use prost::{Message, Name};
use rapport_proto::{orders as opb, types};
use rapport_runtime::{
    clock::{Clock, Micros, SystemClock, to_timestamp},
    events::{Event, EventHandler, NewEvent, Published, type_url},
    storage::Db,
};
use uuid::Uuid;

use crate::{load::Outcome, stores::TENANT};

/// The event every sale is confirmed with.
pub const CONFIRMED: Published<opb::OrderChanged> = Published::new("order.confirmed");
/// The tier every partner is in: 500 bps by default, more on the first categories.
pub const DEFAULT_BPS: i32 = 500;
/// The tier's rates per category, by category index; the others get [`DEFAULT_BPS`].
pub const CATEGORY_BPS: [i32; 2] = [800, 600];
/// Catalog categories the lines are spread over.
pub const CATEGORIES: usize = 8;

/// One sale: an order of one to three lines, confirmed, sold through partner `partner` (an
/// index into the run's partners).
#[derive(Debug, Clone)]
pub struct Sale {
    pub order_id: Uuid,
    pub partner: usize,
    /// (line id, category index, amount in fen, quantity)
    pub lines: Vec<(String, usize, i64, i32)>,
}

/// The `i`-th sale of a run tagged `run` over `partners` partners: the same for the service
/// and its baseline.
pub fn sale(run: u64, i: usize, partners: usize) -> Sale {
    let n = 1 + i % 3;
    let lines = (0..n)
        .map(|j| {
            let quantity = 1 + ((i + j) % 3) as i32;
            let unit = 50_000 + ((i * 7_919 + j * 104_729) % 200) as i64 * 1_000;
            (
                format!("line-{j}"),
                (i + 3 * j) % CATEGORIES,
                unit * i64::from(quantity),
                quantity,
            )
        })
        .collect();
    Sale {
        order_id: Uuid::from_u64_pair(run, i as u64),
        partner: i % partners.max(1),
        lines,
    }
}

/// The tier's rate for category index `c`.
pub fn rate(c: usize) -> i32 {
    CATEGORY_BPS.get(c).copied().unwrap_or(DEFAULT_BPS)
}

fn cny(minor_units: i64) -> Option<types::Money> {
    Some(types::Money {
        currency_code: "CNY".into(),
        minor_units,
    })
}

/// `sale` as the orders service's `OrderChanged` of a confirmed order naming `partner`, with
/// lines in `categories`.
pub fn order_changed(sale: &Sale, partner: &str, categories: &[String], now: Micros) -> Vec<u8> {
    let total: i64 = sale.lines.iter().map(|l| l.2).sum();
    let at = Some(to_timestamp(now));
    let order = opb::Order {
        name: format!("orders/{}", sale.order_id),
        customer: format!("customers/{}", Uuid::from_u64_pair(7, sale.partner as u64)),
        owner_id: "rep-1".into(),
        partner: partner.to_owned(),
        currency_code: "CNY".into(),
        lines: sale
            .lines
            .iter()
            .map(|(id, c, amount, quantity)| opb::LineItem {
                id: id.clone(),
                sku: format!("SKU-{c}"),
                quantity: *quantity,
                category: categories[*c].clone(),
                unit_price: cny(amount / i64::from(*quantity)),
                amount: cny(*amount),
                ..Default::default()
            })
            .collect(),
        subtotal: cny(total),
        total: cny(total),
        net_total: cny(total),
        state: opb::OrderState::Confirmed.into(),
        revision: 2,
        confirm_time: at,
        create_time: at,
        update_time: at,
        ..Default::default()
    };
    opb::OrderChanged {
        order: Some(order),
        revision: None,
    }
    .encode_to_vec()
}

/// `payload` (an encoded `OrderChanged` about `subject`) as the event the orders service's
/// outbox would append.
pub fn new_event(subject: String, payload: Vec<u8>) -> NewEvent<'static> {
    NewEvent {
        stream: "orders",
        event_type: CONFIRMED_TYPE.get_or_init(|| CONFIRMED.event_type()),
        subject,
        tenant: TENANT,
        actor: "rep-1",
        payload_type: FULL_NAME.get_or_init(opb::OrderChanged::full_name),
        payload,
        traceparent: Some(String::new()),
    }
}

static CONFIRMED_TYPE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
static FULL_NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// `payload` about `subject` as the event a consumer receives from the bus.
fn event(subject: String, payload: Vec<u8>, now: Micros) -> Event {
    Event {
        id: Uuid::now_v7().to_string(),
        source: "rapport.orders".into(),
        r#type: CONFIRMED.event_type(),
        subject,
        time: Some(to_timestamp(now)),
        tenant: TENANT.into(),
        traceparent: String::new(),
        actor: "rep-1".into(),
        data: Some(prost_types::Any {
            type_url: type_url(&opb::OrderChanged::full_name()),
            value: payload,
        }),
    }
}

/// Applies the `i`-th sale of the run.
pub trait Accrue: Clone + Send + Sync + 'static {
    fn apply(&self, i: usize) -> impl Future<Output = Result<(), String>> + Send;
}

/// What both paths share: the run's tag, its partners and categories.
#[derive(Clone)]
pub struct Sales {
    pub run: u64,
    pub partners: Arc<Vec<String>>,
    pub categories: Arc<Vec<String>>,
}

/// The service's path: the partners service's order consumer (`partners.order-events`)
/// applying each event as the consumer runner hands it over.
#[derive(Clone)]
pub struct ThroughService {
    pub sales: Sales,
    pub handler: Arc<dyn EventHandler>,
}

impl Accrue for ThroughService {
    async fn apply(&self, i: usize) -> Result<(), String> {
        let s = &self.sales;
        let sale = sale(s.run, i, s.partners.len());
        let now = SystemClock.now();
        let payload = order_changed(&sale, &s.partners[sale.partner], &s.categories, now);
        let e = event(format!("orders/{}", sale.order_id), payload, now);
        self.handler.handle(&e).await.map_err(|e| e.to_string())
    }
}

/// The raw baseline: per event, in one transaction, the ledger line and the upsert of the
/// accrual row of each order line, with the store's statements.
#[derive(Clone)]
pub struct Raw {
    pub sales: Sales,
    pub db: Db,
}

/// The store's INSERT of a ledger line (`insert_line`).
const INSERT_LINE: &str = "INSERT INTO commission_lines (tenant_id, partner_id, id, kind, \
     currency, amount, basis, rate_bps, order_id, line_id, category, explanation, payable_time, \
     statement_id, create_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
     $14, $15)";
/// The store's upsert of an accrual row (`save_accruals`).
const UPSERT_ACCRUAL: &str = "INSERT INTO commission_accruals (tenant_id, order_id, line_id, \
     partner_id, category, currency, rate_bps, basis, amount) VALUES ($1, $2, $3, $4, $5, $6, \
     $7, $8, $9) ON CONFLICT (tenant_id, order_id, line_id) DO UPDATE SET \
     partner_id = excluded.partner_id, category = excluded.category, \
     currency = excluded.currency, rate_bps = excluded.rate_bps, \
     basis = excluded.basis, amount = excluded.amount";

impl Accrue for Raw {
    async fn apply(&self, i: usize) -> Result<(), String> {
        let s = &self.sales;
        let sale = sale(s.run, i, s.partners.len());
        let partner = s.partners[sale.partner].trim_start_matches("partners/");
        let order = sale.order_id.to_string();
        let now = SystemClock.now();
        let e = |e: rapport_runtime::Error| e.to_string();
        let q = |e: sqlx::Error| e.to_string();
        let mut tx = self.db.begin().await.map_err(e)?;
        for (line, c, basis, _) in &sale.lines {
            let bps = rate(*c);
            let amount = basis * i64::from(bps) / 10_000;
            let category = s.categories[*c].trim_start_matches("categories/");
            sqlx::query(INSERT_LINE)
                .bind(TENANT)
                .bind(partner)
                .bind(Uuid::now_v7().to_string())
                .bind("accrual")
                .bind("CNY")
                .bind(amount)
                .bind(*basis)
                .bind(i64::from(bps))
                .bind(order.as_str())
                .bind(line.as_str())
                .bind(category)
                .bind(format!(
                    "{bps} bps (Gold) of {basis} CNY on orders/{order} line {line}"
                ))
                .bind(0_i64)
                .bind("")
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(q)?;
            sqlx::query(UPSERT_ACCRUAL)
                .bind(TENANT)
                .bind(order.as_str())
                .bind(line.as_str())
                .bind(partner)
                .bind(category)
                .bind("CNY")
                .bind(i64::from(bps))
                .bind(*basis)
                .bind(amount)
                .execute(&mut *tx)
                .await
                .map_err(q)?;
        }
        tx.commit().await.map_err(e)
    }
}

/// Applies sales `0..n` with `workers` at once, worker `k` taking every `workers`-th from `k`
/// in order, as the members of a consumer group share a stream; the time of each apply, and
/// the whole run's as the window.
pub async fn feed<A: Accrue>(path: A, workers: usize, n: usize) -> Outcome {
    let workers = workers.max(1);
    let started = Instant::now();
    let tasks: Vec<_> = (0..workers)
        .map(|k| {
            let path = path.clone();
            tokio::spawn(async move {
                let mut took = Vec::with_capacity(n / workers + 1);
                let mut errors = 0u64;
                let mut first = None;
                for i in (k..n).step_by(workers) {
                    let t = Instant::now();
                    match path.apply(i).await {
                        Ok(()) => took.push(micros(t.elapsed())),
                        Err(e) => {
                            errors += 1;
                            first.get_or_insert(e);
                        }
                    }
                }
                (took, errors, first)
            })
        })
        .collect();
    let mut out = crate::load::gather(tasks, Duration::ZERO).await;
    out.window = started.elapsed();
    out
}

fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

/// Ledger lines and their total on `db`.
pub async fn ledger(db: &Db) -> crate::Result<(i64, i64)> {
    Ok(sqlx::query_as(
        "SELECT count(*), CAST(coalesce(sum(amount), 0) AS BIGINT) FROM commission_lines \
         WHERE tenant_id = $1",
    )
    .bind(TENANT)
    .fetch_one(db.pool())
    .await?)
}
