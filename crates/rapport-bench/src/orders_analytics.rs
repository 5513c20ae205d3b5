//! `rapport-bench orders-analytics`: order analytics (OR6) over a million orders on PostgreSQL,
//! each report through the orders service's gRPC server beside the straightforward SQL that
//! computes the same figures from `orders` and `order_lines`, in the same run and on the same
//! data.
//!
//! The orders are generated in the database (INSERT … SELECT over `generate_series`): two years
//! of them (2023 and 2024), confirmed at random times, for a third as many customers, sold by
//! 200 reps in 20 teams in 31 regions, 95% in CNY and 5% in USD, 30% closing an opportunity,
//! each with one to four lines of 500 products in 50 categories, some with line discounts, an
//! order discount or a refund; 5% are drafts and 3% were cancelled. Each order's document is
//! the service's own JSON, and the facts the service keeps beside every order are written as it
//! writes them; a sample of orders is read back through the service's domain to check that they
//! are.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use rapport_orders::{
    Orders,
    domain::{
        analytics::{Both, Facts, Margin, Standing, Tally, rank, rank_margins},
        order::Order,
    },
};
use rapport_proto::orders::{
    self as pb, order_analytics_service_client::OrderAnalyticsServiceClient,
};
use rapport_runtime::{
    auth::Role,
    context::{Service, ServiceEntry},
    storage::{Db, PoolSettings},
};
use sqlx::{Executor, Row};
use tonic::{codegen::InterceptedService, transport::Channel};

use crate::{
    Result,
    load::{quantile_ms, sorted_micros},
    stores::{self, Bearer, BenchServer, ScratchDatabase},
};

/// Arguments of `rapport-bench orders-analytics`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Orders generated [default: 1000000; 50000 with --quick].
    #[arg(long)]
    pub orders: Option<i64>,
    /// Timed calls of each report [default: 15; 5 with --quick], after one warm-up call.
    #[arg(long)]
    pub runs: Option<usize>,
    /// A short smoke run.
    #[arg(long)]
    pub quick: bool,
    /// Where the run's databases and Redis keys go.
    #[command(flatten)]
    pub stores: stores::StoreArgs,
}

type Client = OrderAnalyticsServiceClient<InterceptedService<Channel, Bearer>>;

/// The tenant the orders are generated in.
const TENANT: &str = "bench-orders";
/// Connections per pool, for the service and the baselines alike.
const DB_CONNECTIONS: u32 = 8;
const HOUR: i64 = 3_600_000_000;
const DAY: i64 = 24 * HOUR;
/// 2023-01-01T00:00:00Z: the first confirmation.
const START: i64 = 1_672_531_200_000_000;
/// Two years of confirmations: 2023-01-01 to 2025-01-01.
const SPAN: i64 = 1_735_689_600_000_000 - START;
/// The month reported, June 2024, and its bounds in UTC and in Shanghai (UTC+8).
const MONTH: &str = "2024-06";
const MAY_UTC: i64 = 1_714_521_600_000_000;
const JUNE_UTC: i64 = 1_717_200_000_000_000;
const JULY_UTC: i64 = 1_719_792_000_000_000;
/// The price bands of the market and deal reports.
const BANDS: [i64; 4] = [0, 500_000, 1_000_000, 3_000_000];
/// Entries per ranking.
const LIMIT: usize = 10;
/// Timed runs of each baseline (each reads every order of the tenant).
const BASELINE_RUNS: usize = 3;
/// The target each report is held against.
const TARGET_MS: f64 = 500.0;
/// Orders read back through the domain to check the generated facts.
const SAMPLE: i64 = 2_000;
/// Counted states, as the baselines filter them.
const COUNTED: &str = "state IN ('CONFIRMED', 'DELIVERY_SCHEDULED', 'DELIVERED', 'COMPLETED')";

fn progress(what: &str) {
    eprintln!("rapport-bench: orders-analytics: {what}");
}

/// Runs the benchmark and prints its report.
pub async fn run(args: Args) -> Result<()> {
    let admin = args.stores.postgres().ok_or(
        "rapport-bench orders-analytics needs PostgreSQL (--postgres-url or \
             RAPPORT_BENCH_POSTGRES_URL)",
    )?;
    let redis = args.stores.redis();
    if let Some(url) = &redis {
        stores::redis_reachable(url).await?;
    }
    let tag = uuid::Uuid::now_v7().simple().to_string();
    let prefix = format!("rapport-bench:{}:", &tag[tag.len() - 12..]);
    let db = ScratchDatabase::create(&admin, "bench_orders").await?;
    let outcome = measure(&args, &db.url, redis.as_deref(), &prefix).await;
    db.drop_now().await;
    if let Some(url) = &redis
        && let Err(e) = stores::clear_redis_prefix(url, &prefix).await
    {
        eprintln!("warning: could not delete Redis keys {prefix}*: {e}");
    }
    println!("{}", outcome?);
    Ok(())
}

async fn measure(args: &Args, url: &str, redis: Option<&str>, prefix: &str) -> Result<String> {
    let orders = args
        .orders
        .unwrap_or(if args.quick { 50_000 } else { 1_000_000 });
    let runs = args.runs.unwrap_or(if args.quick { 5 } else { 15 }).max(1);
    let server = BenchServer::start_services(
        tempfile::tempdir()?,
        Some(url.to_owned()),
        redis.map(|r| (r.to_owned(), prefix.to_owned())),
        &[ServiceEntry::of::<Orders>()],
        DB_CONNECTIONS,
    )
    .await?;
    let settings = PoolSettings {
        max_connections: DB_CONNECTIONS,
        ..PoolSettings::default()
    };
    let db = Db::connect(url, Orders::NAME, settings).await?;
    db.migrate(&<Orders as Service>::migrations()).await?;
    progress(&format!("generating {orders} orders"));
    let started = Instant::now();
    let counts = generate(&db, orders).await?;
    progress(&format!(
        "{counts} in {:.0} s",
        started.elapsed().as_secs_f64()
    ));
    let facts_check = check_facts(&db).await?;
    let channel = server.channel().await?;
    let admin =
        OrderAnalyticsServiceClient::with_interceptor(channel.clone(), server.admin_of(TENANT)?);
    let manager = OrderAnalyticsServiceClient::with_interceptor(
        channel,
        server.user_of(TENANT, "bench-manager", &[Role::Manager], Some("team-7"))?,
    );
    let mut out = format!(
        "## rapport-bench orders-analytics\n\n{orders} orders ({counts}) on PostgreSQL, \
         {DB_CONNECTIONS} database connections per pool; month {MONTH}, currency CNY, bands \
         {BANDS:?}, rankings of {LIMIT}. Each report: {runs} timed gRPC calls after one warm-up; \
         the baseline computes the same figures from `orders` and `order_lines` ({BASELINE_RUNS} \
         timed runs). Generated facts against the service's domain: {facts_check}.\n\n\
         | Report | p50 ms | p99 ms | raw p50 ms | raw p99 ms | vs raw | Checks |\n\
         |---|---:|---:|---:|---:|---|---|\n"
    );
    for s in scenarios() {
        progress(s.name);
        let mut client = if s.manager {
            manager.clone()
        } else {
            admin.clone()
        };
        let mut answer = s.call(&mut client).await?;
        let mut service = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t = Instant::now();
            answer = s.call(&mut client).await?;
            service.push(t.elapsed());
        }
        let mut raw = Vec::with_capacity(BASELINE_RUNS);
        let mut expected = Figures::default();
        for _ in 0..BASELINE_RUNS {
            let t = Instant::now();
            expected = s.baseline(&db).await?;
            raw.push(t.elapsed());
        }
        let (service, raw) = (sorted_micros(service), sorted_micros(raw));
        let p99 = quantile_ms(&service, 0.99);
        let checks = format!(
            "{}; {}",
            compare(&answer, &expected),
            if p99 < TARGET_MS {
                "target < 500 ms met"
            } else {
                "target < 500 ms MISSED"
            }
        );
        let (p50, raw_p50) = (quantile_ms(&service, 0.5), quantile_ms(&raw, 0.5));
        out.push_str(&format!(
            "| {} | {p50:.1} | {p99:.1} | {raw_p50:.0} | {:.0} | {:.0}x faster | {checks} |\n",
            s.name,
            quantile_ms(&raw, 0.99),
            raw_p50 / p50.max(1e-9),
        ));
    }
    let _ = server.stop(Duration::from_secs(30)).await;
    Ok(out)
}

/// A report's figures in a form both sides produce: by part and month (true: the month, false:
/// the month before), the count and amount, or for rankings the entries in order.
#[derive(Debug, Default, PartialEq, Eq)]
struct Figures {
    parts: BTreeMap<(String, String, bool), (i64, i64)>,
    lists: BTreeMap<String, Vec<(String, i64)>>,
    numbers: BTreeMap<String, i64>,
}

impl Figures {
    fn part(&mut self, group: &str, key: &str, current: bool, count: i64, amount: i64) {
        // A part without orders in a month is listed by the service and absent from SQL.
        if count != 0 || amount != 0 {
            self.parts
                .insert((group.to_owned(), key.to_owned(), current), (count, amount));
        }
    }
}

/// Whether the service's figures are the baseline's.
fn compare(service: &Figures, baseline: &Figures) -> String {
    let parts = service.parts.len();
    let mut differ = Vec::new();
    for (key, v) in &baseline.parts {
        if service.parts.get(key) != Some(v) {
            differ.push(format!(
                "{key:?}: {:?} vs raw {v:?}",
                service.parts.get(key)
            ));
        }
    }
    differ.extend(
        service
            .parts
            .keys()
            .filter(|k| !baseline.parts.contains_key(k))
            .map(|k| format!("{k:?} only in the service")),
    );
    for (name, list) in &baseline.lists {
        if service.lists.get(name) != Some(list) {
            differ.push(format!(
                "{name}: {:?} vs raw {list:?}",
                service.lists.get(name)
            ));
        }
    }
    for (name, n) in &baseline.numbers {
        if service.numbers.get(name) != Some(n) {
            differ.push(format!(
                "{name}: {:?} vs raw {n}",
                service.numbers.get(name)
            ));
        }
    }
    if differ.is_empty() {
        format!(
            "same figures as the baseline ({parts} parts, {} rankings, {} counts)",
            baseline.lists.len(),
            baseline.numbers.len()
        )
    } else {
        format!(
            "{} figures DIFFER from the baseline, e.g. {}",
            differ.len(),
            differ[0]
        )
    }
}

#[derive(Debug, Clone, Copy)]
enum Report {
    Market,
    Deals,
    SalesByRep,
    SalesByTeam,
    Profitability,
}

struct Scenario {
    name: &'static str,
    report: Report,
    time_zone: &'static str,
    /// As the manager of team-7, whose figures are its team's.
    manager: bool,
}

fn scenarios() -> Vec<Scenario> {
    let s = |name, report, time_zone, manager| Scenario {
        name,
        report,
        time_zone,
        manager,
    };
    vec![
        s(
            "GetMarketReport (bands, regions, categories, vs May)",
            Report::Market,
            "",
            false,
        ),
        s(
            "GetMarketReport, months in Asia/Shanghai",
            Report::Market,
            "Asia/Shanghai",
            false,
        ),
        s(
            "GetDealReport (customers, repurchase to date, structure)",
            Report::Deals,
            "",
            false,
        ),
        s(
            "GetSalesPerformance by rep (200 reps)",
            Report::SalesByRep,
            "",
            false,
        ),
        s(
            "GetSalesPerformance by team",
            Report::SalesByTeam,
            "",
            false,
        ),
        s(
            "GetProfitability (products, categories, customers)",
            Report::Profitability,
            "",
            false,
        ),
        s("GetDealReport as a team's manager", Report::Deals, "", true),
        s(
            "GetProfitability as a team's manager",
            Report::Profitability,
            "",
            true,
        ),
    ]
}

fn amount(m: &Option<rapport_proto::types::Money>) -> i64 {
    m.as_ref().map_or(0, |m| m.minor_units)
}

impl Scenario {
    /// The month, the month before and the month after's start, in the scenario's zone.
    fn bounds(&self) -> (i64, i64, i64) {
        if self.time_zone.is_empty() {
            (MAY_UTC, JUNE_UTC, JULY_UTC)
        } else {
            (MAY_UTC - 8 * HOUR, JUNE_UTC - 8 * HOUR, JULY_UTC - 8 * HOUR)
        }
    }

    async fn call(&self, c: &mut Client) -> Result<Figures> {
        let mut f = Figures::default();
        let figures =
            |f: &Option<pb::Figures>| f.as_ref().map_or((0, 0), |f| (f.count, amount(&f.amount)));
        match self.report {
            Report::Market => {
                let r = c
                    .get_market_report(pb::GetMarketReportRequest {
                        month: MONTH.into(),
                        time_zone: self.time_zone.into(),
                        currency_code: String::new(),
                        price_bands: BANDS.to_vec(),
                    })
                    .await?
                    .into_inner();
                for (group, list) in [
                    ("band", &r.price_bands),
                    ("region", &r.regions),
                    ("category", &r.categories),
                ] {
                    for s in list {
                        for (current, figs) in [(true, &s.current), (false, &s.previous)] {
                            let (n, a) = figures(figs);
                            f.part(group, &s.key, current, n, a);
                        }
                    }
                }
            }
            Report::Deals => {
                let r = c
                    .get_deal_report(pb::GetDealReportRequest {
                        month: MONTH.into(),
                        price_bands: BANDS.to_vec(),
                        ..Default::default()
                    })
                    .await?
                    .into_inner();
                for (group, list) in [("band", &r.price_bands), ("region", &r.regions)] {
                    for s in list {
                        let (n, a) = figures(&s.figures);
                        f.part(group, &s.key, true, n, a);
                    }
                }
                f.numbers = BTreeMap::from([
                    ("customers".to_owned(), r.customers),
                    ("new_customers".to_owned(), r.new_customers),
                    ("repeat_customers".to_owned(), r.repeat_customers),
                    ("customers_to_date".to_owned(), r.customers_to_date),
                    (
                        "repeat_customers_to_date".to_owned(),
                        r.repeat_customers_to_date,
                    ),
                    ("opportunity_orders".to_owned(), r.opportunity_orders),
                ]);
            }
            Report::SalesByRep | Report::SalesByTeam => {
                let group_by = if matches!(self.report, Report::SalesByTeam) {
                    pb::SalesGroupBy::Team
                } else {
                    pb::SalesGroupBy::Rep
                };
                let r = c
                    .get_sales_performance(pb::GetSalesPerformanceRequest {
                        month: MONTH.into(),
                        group_by: group_by.into(),
                        limit: LIMIT as i32,
                        ..Default::default()
                    })
                    .await?
                    .into_inner();
                let list = |v: &[pb::SalesEntry]| {
                    v.iter()
                        .map(|e| (e.key.clone(), amount(&e.amount)))
                        .collect::<Vec<_>>()
                };
                f.lists = BTreeMap::from([
                    ("best".to_owned(), list(&r.best)),
                    ("worst".to_owned(), list(&r.worst)),
                ]);
            }
            Report::Profitability => {
                let r = c
                    .get_profitability(pb::GetProfitabilityRequest {
                        month: MONTH.into(),
                        limit: LIMIT as i32,
                        ..Default::default()
                    })
                    .await?
                    .into_inner();
                let total = r.total.unwrap_or_default();
                f.numbers = BTreeMap::from([
                    ("amount".to_owned(), amount(&total.amount)),
                    ("cost".to_owned(), amount(&total.cost)),
                ]);
                for (name, ranking) in [
                    ("products", &r.products),
                    ("categories", &r.categories),
                    ("customers", &r.customers),
                ] {
                    let ranking = ranking.clone().unwrap_or_default();
                    for (end, list) in [("top", ranking.top), ("bottom", ranking.bottom)] {
                        f.lists.insert(
                            format!("{name} {end}"),
                            list.iter()
                                .map(|m| (m.key.clone(), amount(&m.margin)))
                                .collect(),
                        );
                    }
                }
            }
        }
        Ok(f)
    }

    /// The same figures straight from `orders` and `order_lines`.
    async fn baseline(&self, db: &Db) -> Result<Figures> {
        let (may, june, july) = self.bounds();
        let from = match self.report {
            Report::Market | Report::SalesByRep | Report::SalesByTeam => may,
            Report::Deals | Report::Profitability => june,
        };
        let team = if self.manager {
            " AND team_id = 'team-7'"
        } else {
            ""
        };
        // Counted orders in CNY confirmed in [$3, $5) with their net totals; $4 splits the
        // month from the month before.
        let orders = format!(
            "o AS (SELECT id, customer_id, owner_id, team_id, region, opportunity, confirm_time, \
             total - COALESCE((doc::jsonb ->> 'refunded')::bigint, 0) AS net FROM orders \
             WHERE tenant_id = $1 AND currency_code = $2 AND {COUNTED} \
             AND confirm_time >= $3 AND confirm_time < $5{team})"
        );
        // Their lines, each with its part of its order's net total, the last line taking
        // what rounding left.
        let lines = "l AS (SELECT l.order_id, l.line_id, l.product_id, l.category_id, \
             l.quantity, l.unit_cost * l.quantity AS cost, o.customer_id, o.confirm_time, o.net, \
             floor(o.net::numeric * l.amount / sum(l.amount) OVER (PARTITION BY l.order_id))::bigint \
             AS part, row_number() OVER (PARTITION BY l.order_id ORDER BY l.line_id DESC) AS rn \
             FROM o JOIN order_lines l ON l.tenant_id = $1 AND l.order_id = o.id), \
             n AS (SELECT *, CASE WHEN rn = 1 THEN net - (sum(part) OVER (PARTITION BY order_id) \
             - part) ELSE part END AS line_net FROM l)";
        let month = "(confirm_time >= $4)::int::bigint";
        let by = |key: &str| {
            format!(
                "WITH {orders} SELECT {key}, {month}, count(*)::bigint, sum(net)::bigint \
                 FROM o GROUP BY 1, 2"
            )
        };
        let band = format!(
            "CASE {} ELSE '' END",
            BANDS
                .iter()
                .rev()
                .map(|b| format!("WHEN net >= {b} THEN '{b}'"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        let mut conn = db.pool().acquire().await?;
        let mut q = Baseline {
            conn: &mut conn,
            bounds: [from, june, july],
        };
        let mut f = Figures::default();
        match self.report {
            Report::Market => {
                q.parts(&mut f, "band", &by(&band)).await?;
                q.parts(&mut f, "region", &by("region")).await?;
                let categories = format!(
                    "WITH {orders}, {lines} SELECT 'categories/' || category_id, {month}, \
                     sum(quantity)::bigint, sum(line_net)::bigint FROM n GROUP BY 1, 2"
                );
                q.parts(&mut f, "category", &categories).await?;
            }
            Report::Deals => {
                q.parts(&mut f, "band", &by(&band)).await?;
                q.parts(&mut f, "region", &by("region")).await?;
                let customers = q
                    .numbers(&format!(
                        "WITH {orders} SELECT count(*)::bigint, \
                         (count(*) FILTER (WHERE k >= 2))::bigint, $4::bigint \
                         FROM (SELECT customer_id, count(*) AS k FROM o GROUP BY 1) c"
                    ))
                    .await?;
                // Every customer's first and second orders: every counted order up to the
                // month's end.
                let firsts = q
                    .numbers(&format!(
                        "SELECT (count(*) FILTER (WHERE first >= $4))::bigint, count(*)::bigint, \
                         (count(*) FILTER (WHERE second < $5))::bigint FROM (SELECT customer_id, \
                         min(confirm_time) AS first, \
                         (array_agg(confirm_time ORDER BY confirm_time))[2] AS second \
                         FROM orders WHERE tenant_id = $1 AND currency_code = $2 AND {COUNTED} \
                         AND confirm_time < $5 AND $3::bigint IS NOT NULL{team} \
                         GROUP BY customer_id) c"
                    ))
                    .await?;
                let opportunity = q
                    .numbers(&format!(
                        "WITH {orders} SELECT (count(*) FILTER (WHERE opportunity <> ''))::bigint, \
                         $4::bigint, 0::bigint FROM o"
                    ))
                    .await?;
                f.numbers = BTreeMap::from([
                    ("customers".to_owned(), customers[0]),
                    ("repeat_customers".to_owned(), customers[1]),
                    ("new_customers".to_owned(), firsts[0]),
                    ("customers_to_date".to_owned(), firsts[1]),
                    ("repeat_customers_to_date".to_owned(), firsts[2]),
                    ("opportunity_orders".to_owned(), opportunity[0]),
                ]);
            }
            Report::SalesByRep | Report::SalesByTeam => {
                let key = if matches!(self.report, Report::SalesByTeam) {
                    "'teams/' || team_id"
                } else {
                    "'reps/' || owner_id"
                };
                let mut sums = Figures::default();
                q.parts(&mut sums, "", &by(key)).await?;
                let mut standings: BTreeMap<String, Both> = BTreeMap::new();
                for ((_, key, current), (count, amount)) in sums.parts {
                    standings
                        .entry(key)
                        .or_default()
                        .add(current, Tally { count, amount });
                }
                let board = rank(
                    standings
                        .into_iter()
                        .map(|(key, sales)| Standing { key, sales })
                        .collect(),
                    LIMIT,
                );
                let list = |v: &[Standing]| {
                    v.iter()
                        .map(|s| (s.key.clone(), s.sales.current.amount))
                        .collect::<Vec<_>>()
                };
                f.lists = BTreeMap::from([
                    ("best".to_owned(), list(&board.best)),
                    ("worst".to_owned(), list(&board.worst)),
                ]);
            }
            Report::Profitability => {
                let (mut amount, mut cost) = (0, 0);
                for (name, key, count) in [
                    ("customers", "customer_id", "count(DISTINCT order_id)"),
                    ("products", "product_id", "sum(quantity)"),
                    ("categories", "category_id", "sum(quantity)"),
                ] {
                    let sql = format!(
                        "WITH {orders}, {lines} SELECT '{name}/' || {key}, {count}::bigint, \
                         sum(line_net)::bigint, sum(cost)::bigint, $4::bigint FROM n GROUP BY 1"
                    );
                    let margins: Vec<Margin> = q
                        .rows(&sql)
                        .await?
                        .iter()
                        .map(|r| {
                            Ok(Margin {
                                key: r.try_get(0)?,
                                count: r.try_get(1)?,
                                amount: r.try_get(2)?,
                                cost: r.try_get(3)?,
                            })
                        })
                        .collect::<std::result::Result<_, sqlx::Error>>()?;
                    if name == "customers" {
                        amount = margins.iter().map(|m| m.amount).sum();
                        cost = margins.iter().map(|m| m.cost).sum();
                    }
                    let ranking = rank_margins(margins, LIMIT);
                    for (end, list) in [("top", ranking.top), ("bottom", ranking.bottom)] {
                        f.lists.insert(
                            format!("{name} {end}"),
                            list.iter().map(|m| (m.key.clone(), m.margin())).collect(),
                        );
                    }
                }
                f.numbers =
                    BTreeMap::from([("amount".to_owned(), amount), ("cost".to_owned(), cost)]);
            }
        }
        Ok(f)
    }
}

/// A baseline's statements, bound to the tenant, the currency and the window.
struct Baseline<'c> {
    conn: &'c mut sqlx::AnyConnection,
    /// $3 (from), $4 (the month's start), $5 (its end).
    bounds: [i64; 3],
}

impl Baseline<'_> {
    async fn rows(&mut self, sql: &str) -> Result<Vec<sqlx::any::AnyRow>> {
        let [from, split, to] = self.bounds;
        Ok(sqlx::query(sql)
            .bind(TENANT)
            .bind("CNY")
            .bind(from)
            .bind(split)
            .bind(to)
            .fetch_all(&mut *self.conn)
            .await?)
    }

    /// (key, month or the month before, count, amount) rows as parts of `group`.
    async fn parts(&mut self, f: &mut Figures, group: &str, sql: &str) -> Result<()> {
        for r in self.rows(sql).await? {
            let current: i64 = r.try_get(1)?;
            let key: String = r.try_get(0)?;
            f.part(group, &key, current == 1, r.try_get(2)?, r.try_get(3)?);
        }
        Ok(())
    }

    /// The three numbers of a one-row statement.
    async fn numbers(&mut self, sql: &str) -> Result<[i64; 3]> {
        let rows = self.rows(sql).await?;
        let r = rows.first().ok_or("no row")?;
        Ok([r.try_get(0)?, r.try_get(1)?, r.try_get(2)?])
    }
}

/// Writes the data; returns what was written, in words.
async fn generate(db: &Db, n: i64) -> Result<String> {
    // One connection: the seed and the temporary tables belong to the session.
    let mut conn = db.pool().acquire().await?;
    (&mut *conn).execute("SELECT setseed(0.42)").await?;
    (&mut *conn).execute("SET work_mem = '256MB'").await?;
    let regions = [
        "Beijing",
        "Tianjin",
        "Hebei",
        "Shanxi",
        "Inner Mongolia",
        "Liaoning",
        "Jilin",
        "Heilongjiang",
        "Shanghai",
        "Jiangsu",
        "Zhejiang",
        "Anhui",
        "Fujian",
        "Jiangxi",
        "Shandong",
        "Henan",
        "Hubei",
        "Hunan",
        "Guangdong",
        "Guangxi",
        "Hainan",
        "Chongqing",
        "Sichuan",
        "Guizhou",
        "Yunnan",
        "Tibet",
        "Shaanxi",
        "Gansu",
        "Qinghai",
        "Ningxia",
        "Xinjiang",
    ]
    .map(|r| format!("'{r}'"))
    .join(", ");
    sqlx::query(&format!(
        "CREATE TEMP TABLE bench_o AS SELECT i, md5('order' || i)::uuid::text AS id, \
           md5('customer' || floor(random() * $2)::bigint)::uuid::text AS customer, \
           floor(random() * 200)::int AS rep, $3 + (random() * $4)::bigint AS t, \
           (ARRAY[{regions}])[1 + floor(random() * 31)::int] AS region, \
           CASE WHEN random() < 0.05 THEN 'USD' ELSE 'CNY' END AS currency, \
           CASE WHEN random() < 0.3 THEN 'opportunities/' || md5('opportunity' || i)::uuid::text \
             ELSE '' END AS opportunity, \
           1 + floor(random() * 4)::int AS n_lines, \
           random() AS r_state, random() AS r_refund, random() AS r_discount \
         FROM generate_series(1, $1) i"
    ))
    .bind(n)
    .bind((n / 3).max(1))
    .bind(START)
    .bind(SPAN as f64)
    .execute(&mut *conn)
    .await?;
    // Lines: 500 products, product p in category p % 50 at 100.00 to 30,000.00 with a cost of
    // 40% to 70% of its price; one line in five has 5% off.
    (&mut *conn)
        .execute(
            "CREATE TEMP TABLE bench_lines AS SELECT order_id, k, 'l' || k AS line_id, q, \
               'SKU-' || p AS sku, md5('product' || p)::uuid::text AS product_id, \
               'Product ' || p AS product_name, md5('category' || (p % 50))::uuid::text AS category_id, \
               price AS unit_price, price * (40 + p % 31) / 100 AS unit_cost, \
               CASE WHEN r < 0.2 THEN price * q / 20 ELSE 0 END AS discount \
             FROM (SELECT o.id AS order_id, k, x.p, x.q, x.r, \
                     10000::bigint * (1 + (x.p * 7919) % 300) AS price \
                   FROM bench_o o CROSS JOIN LATERAL generate_series(1, o.n_lines) k \
                   CROSS JOIN LATERAL (SELECT floor(random() * 500)::int + 0 * k AS p, \
                     1 + floor(random() * 3)::int + 0 * k AS q, random() + 0 * k AS r) x) l",
        )
        .await?;
    // Each order: 5% drafts, 3% cancelled, the rest counted; one in ten with 1% off the
    // order, one counted order in fifty refunded a tenth.
    (&mut *conn)
        .execute(
            "CREATE TEMP TABLE bench_x AS SELECT p.*, \
               CASE WHEN state IN ('DRAFT', 'CANCELLED') OR r_refund >= 0.02 THEN 0 \
                 ELSE total / 10 END AS refunded, \
               CASE WHEN state = 'DRAFT' THEN NULL ELSE t END AS confirm, \
               CASE WHEN state = 'CANCELLED' THEN t + 86400000000 ELSE NULL END AS cancel \
             FROM (SELECT o.*, s.lines_amount, s.cost, s.lines, st.state, st.doc_state, \
                     od.order_discount, s.lines_amount - od.order_discount AS total \
                   FROM bench_o o \
                   JOIN (SELECT order_id, sum(unit_price * q - discount)::bigint AS lines_amount, \
                           sum(unit_cost * q)::bigint AS cost, \
                           jsonb_agg(jsonb_build_object('id', line_id, 'sku', sku, 'quantity', q, \
                             'discount', discount, 'product_id', product_id, \
                             'product_name', product_name, 'category_id', category_id, \
                             'unit_price', unit_price, 'unit_cost', unit_cost, 'scheduled', 0, \
                             'delivered', 0, 'returned', 0) ORDER BY k) AS lines \
                         FROM bench_lines GROUP BY order_id) s ON s.order_id = o.id \
                   CROSS JOIN LATERAL (SELECT \
                     CASE WHEN o.r_state < 0.05 THEN 'DRAFT' WHEN o.r_state < 0.08 THEN 'CANCELLED' \
                       WHEN o.r_state < 0.3 THEN 'CONFIRMED' \
                       WHEN o.r_state < 0.4 THEN 'DELIVERY_SCHEDULED' \
                       WHEN o.r_state < 0.6 THEN 'DELIVERED' ELSE 'COMPLETED' END AS state, \
                     CASE WHEN o.r_state < 0.05 THEN 'Draft' WHEN o.r_state < 0.08 THEN 'Cancelled' \
                       WHEN o.r_state < 0.3 THEN 'Confirmed' \
                       WHEN o.r_state < 0.4 THEN 'DeliveryScheduled' \
                       WHEN o.r_state < 0.6 THEN 'Delivered' ELSE 'Completed' END AS doc_state) st \
                   CROSS JOIN LATERAL (SELECT CASE WHEN o.r_discount < 0.1 \
                     THEN s.lines_amount / 100 ELSE 0 END AS order_discount) od) p",
        )
        .await?;
    // The orders, in the order they were confirmed, with the service's own documents.
    sqlx::query(
        "INSERT INTO orders (tenant_id, id, customer_id, owner_id, team_id, store, region, \
           partner, campaign, opportunity, currency_code, state, total, doc, revision, \
           confirm_time, cancel_time, follow_up_due, create_time, update_time, version) \
         SELECT $1, id, customer, 'rep-' || rep, 'team-' || (rep % 20), '', region, '', '', \
           opportunity, currency, state, total, \
           jsonb_build_object('id', id, 'customer_id', customer, 'owner_id', 'rep-' || rep, \
             'team_id', 'team-' || (rep % 20), 'refs', jsonb_build_object('store', '', \
             'region', region, 'partner', '', 'campaign', '', 'opportunity', opportunity), \
             'currency', currency, 'lines', lines, 'order_discount', order_discount, \
             'payments', '[]'::jsonb, 'state', doc_state, 'cancel_reason', \
             CASE WHEN state = 'CANCELLED' THEN 'changed their mind' ELSE '' END, \
             'approval', 'NotRequired', 'approved_by', '', 'approved_discount', 0, 'notes', '', \
             'revision', 2, 'confirm_time', confirm, 'cancel_time', cancel, \
             'create_time', t - $2, 'update_time', t, 'version', 2, 'refunded', refunded)::text, \
           2, confirm, cancel, NULL, t - $2, t, 2 \
         FROM bench_x ORDER BY t",
    )
    .bind(TENANT)
    .bind(DAY)
    .execute(&mut *conn)
    .await?;
    let lines = sqlx::query(
        "INSERT INTO order_lines (tenant_id, order_id, line_id, sku, product_id, category_id, \
           quantity, unit_price, unit_cost, discount, amount) \
         SELECT $1, l.order_id, line_id, sku, product_id, category_id, q, unit_price, unit_cost, \
           discount, unit_price * q - discount FROM bench_lines l JOIN bench_x x ON x.id = l.order_id \
         ORDER BY x.t, l.order_id, k",
    )
    .bind(TENANT)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    // The facts, as the service keeps them beside every change of an order.
    let counted = sqlx::query(&format!(
        "INSERT INTO order_facts (tenant_id, order_id, currency_code, confirm_time, customer_id, \
           owner_id, team_id, region, from_opportunity, net_total, cost) \
         SELECT $1, id, currency, confirm, customer, 'rep-' || rep, 'team-' || (rep % 20), region, \
           CASE WHEN opportunity <> '' THEN 1 ELSE 0 END, total - refunded, cost \
         FROM bench_x WHERE {COUNTED} ORDER BY t"
    ))
    .bind(TENANT)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    sqlx::query(&format!(
        "INSERT INTO order_line_facts (tenant_id, order_id, line_id, currency_code, confirm_time, \
           team_id, product_id, category_id, quantity, net_amount, cost) \
         SELECT $1, order_id, line_id, currency, confirm, team, product_id, category_id, q, \
           CASE WHEN rn = 1 THEN net - (sum(part) OVER (PARTITION BY order_id) - part) ELSE part END, \
           unit_cost * q \
         FROM (SELECT l.*, x.currency, x.confirm, x.t, 'team-' || (x.rep % 20) AS team, \
                 x.total - x.refunded AS net, \
                 floor((x.total - x.refunded)::numeric * (l.unit_price * l.q - l.discount) \
                   / x.lines_amount)::bigint AS part, \
                 row_number() OVER (PARTITION BY l.order_id ORDER BY l.k DESC) AS rn \
               FROM bench_lines l JOIN bench_x x ON x.id = l.order_id WHERE x.{COUNTED}) y \
         ORDER BY t, order_id, line_id"
    ))
    .bind(TENANT)
    .execute(&mut *conn)
    .await?;
    for (scope, team, group) in [
        ("tenant", "''", "currency_code, customer_id"),
        ("team", "team_id", "currency_code, team_id, customer_id"),
    ] {
        sqlx::query(&format!(
            "INSERT INTO customer_facts (tenant_id, currency_code, scope, team_id, customer_id, \
               first_time, second_time) \
             SELECT $1, currency_code, '{scope}', {team}, customer_id, min(confirm_time), \
               (array_agg(confirm_time ORDER BY confirm_time))[2] \
             FROM order_facts WHERE tenant_id = $1 GROUP BY {group}"
        ))
        .bind(TENANT)
        .execute(&mut *conn)
        .await?;
    }
    (&mut *conn)
        .execute("DROP TABLE bench_x; DROP TABLE bench_lines; DROP TABLE bench_o")
        .await?;
    // As autovacuum would have them: analyzed, and visible to index-only scans.
    for table in [
        "orders",
        "order_lines",
        "order_facts",
        "order_line_facts",
        "customer_facts",
    ] {
        (&mut *conn)
            .execute(format!("VACUUM ANALYZE {table}").as_str())
            .await?;
    }
    Ok(format!("{lines} lines, {counted} counted"))
}

/// Reads a sample of orders back through the service's domain (`Facts::of` on the order's own
/// document) and compares the facts it would keep with those generated.
async fn check_facts(db: &Db) -> Result<String> {
    let mut conn = db.pool().acquire().await?;
    let sample = "SELECT id FROM orders WHERE tenant_id = $1 ORDER BY id LIMIT $2";
    let docs = sqlx::query(&format!(
        "SELECT id, doc FROM orders WHERE tenant_id = $1 AND id IN ({sample})"
    ))
    .bind(TENANT)
    .bind(SAMPLE)
    .fetch_all(&mut *conn)
    .await?;
    // Each stored row as text, by order: the order's, then its lines' by line id.
    let mut stored: BTreeMap<String, (Vec<String>, Vec<String>)> = BTreeMap::new();
    let tables = [
        (
            "currency_code || '|' || confirm_time || '|' || customer_id || '|' || owner_id || '|' \
             || team_id || '|' || region || '|' || from_opportunity || '|' || net_total || '|' \
             || cost",
            "order_facts",
        ),
        (
            "line_id || '|' || product_id || '|' || category_id || '|' || quantity || '|' || \
             net_amount || '|' || cost",
            "order_line_facts",
        ),
    ];
    for (i, (row, table)) in tables.into_iter().enumerate() {
        let sql = format!(
            "SELECT order_id, {row} FROM {table} WHERE tenant_id = $1 \
             AND order_id IN ({sample}) ORDER BY 2"
        );
        for r in sqlx::query(&sql)
            .bind(TENANT)
            .bind(SAMPLE)
            .fetch_all(&mut *conn)
            .await?
        {
            let entry = stored.entry(r.try_get(0)?).or_default();
            let rows = if i == 0 { &mut entry.0 } else { &mut entry.1 };
            rows.push(r.try_get(1)?);
        }
    }
    let (mut same, mut differ) = (0, Vec::new());
    for r in &docs {
        let id: String = r.try_get(0)?;
        let order: Order = serde_json::from_str(&r.try_get::<String, _>(1)?)?;
        let want = Facts::of(&order).map(|f| {
            let o = &f.order;
            (
                vec![format!(
                    "{}|{}|{}|{}|{}|{}|{}|{}|{}",
                    o.currency,
                    o.confirm_time,
                    o.customer_id,
                    o.owner_id,
                    o.team_id,
                    o.region,
                    i64::from(o.from_opportunity),
                    o.net_total,
                    o.cost
                )],
                f.lines
                    .iter()
                    .map(|l| {
                        format!(
                            "{}|{}|{}|{}|{}|{}",
                            l.line_id,
                            l.product_id,
                            l.category_id,
                            l.quantity,
                            l.net_amount,
                            l.cost
                        )
                    })
                    .collect::<Vec<_>>(),
            )
        });
        if want == stored.get(&id).cloned() {
            same += 1;
        } else {
            differ.push(id);
        }
    }
    Ok(if differ.is_empty() {
        format!("{same} sampled orders' facts are the domain's")
    } else {
        format!(
            "{} of {} sampled orders' facts DIFFER from the domain's (e.g. orders/{})",
            differ.len(),
            docs.len(),
            differ[0]
        )
    })
}
