//! `rapport-bench orders`: the orders service on PostgreSQL + Redis beside raw baselines in the
//! same run: CreateOrder with five lines (the customer checked in the customers service, the
//! lines priced from the catalog) against the raw inserts of the same rows, how soon a
//! confirmed order shows in its customer's value under that load, GetOrder against the raw
//! select of the same row, and the idle memory of `rapport serve` with every service.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use rapport_customers::Customers;
use rapport_orders::Orders;
use rapport_proto::{
    customers::{self as cpb, customer_service_client::CustomerServiceClient},
    orders::{
        self as pb, catalog_service_client::CatalogServiceClient,
        order_service_client::OrderServiceClient,
    },
    types,
};
use rapport_runtime::{
    context::{Service, ServiceEntry},
    storage::{Db, PoolSettings},
};
use tonic::{codegen::InterceptedService, transport::Channel};

use crate::{
    Result,
    load::{self, Op, Outcome},
    memory,
    pool::{IdPool, ReadByName},
    stores::{self, Bearer, BenchServer, ScratchDatabase, TENANT},
};

/// Arguments of `rapport-bench orders`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Seconds each load is measured [default: 10; 2 with --quick].
    #[arg(long)]
    pub duration_secs: Option<u64>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Customers the orders are spread over.
    #[arg(long, default_value_t = 200)]
    pub customers: usize,
    /// A short smoke run.
    #[arg(long)]
    pub quick: bool,
    /// Where the run's databases and Redis keys go.
    #[command(flatten)]
    pub stores: stores::StoreArgs,
}

type OrderClient = OrderServiceClient<InterceptedService<Channel, Bearer>>;

/// Connections per database pool, service and raw alike (as the leads benchmark, for two
/// cores).
const DB_CONNECTIONS: u32 = 8;
/// The SKUs of an order's five lines.
const SKUS: [&str; 5] = ["SOFA", "TABLE", "CHAIR", "LAMP", "RUG"];
const PRICE: i64 = 100_000;

fn progress(what: &str) {
    eprintln!("rapport-bench: {what}");
}

/// Runs the benchmark and prints its report.
pub async fn run(args: Args) -> Result<()> {
    let admin = args.stores.postgres().ok_or(
        "rapport-bench orders needs PostgreSQL (--postgres-url or RAPPORT_BENCH_POSTGRES_URL)",
    )?;
    let redis = args
        .stores
        .redis()
        .ok_or("rapport-bench orders needs Redis (--redis-url or RAPPORT_BENCH_REDIS_URL)")?;
    stores::redis_reachable(&redis).await?;
    let tag = uuid::Uuid::now_v7().simple().to_string();
    let prefix = format!("rapport-bench:{}:", &tag[tag.len() - 12..]);
    let service_db = ScratchDatabase::create(&admin, "bench_orders").await?;
    let raw_db = ScratchDatabase::create(&admin, "bench_orders_raw").await?;
    let outcome = measure(&args, &service_db.url, &raw_db.url, &redis, &prefix).await;
    service_db.drop_now().await;
    raw_db.drop_now().await;
    if let Err(e) = stores::clear_redis_prefix(&redis, &prefix).await {
        eprintln!("warning: could not delete Redis keys {prefix}*: {e}");
    }
    println!("{}", outcome?);
    Ok(())
}

async fn measure(
    args: &Args,
    service_url: &str,
    raw_url: &str,
    redis: &str,
    prefix: &str,
) -> Result<String> {
    let window = Duration::from_secs(
        args.duration_secs
            .unwrap_or(if args.quick { 2 } else { 10 })
            .max(1),
    );
    let warmup = (window / 5).clamp(Duration::from_millis(500), Duration::from_secs(2));
    let server = BenchServer::start_services(
        tempfile::tempdir()?,
        Some(service_url.to_owned()),
        Some((redis.to_owned(), prefix.to_owned())),
        &[
            ServiceEntry::of::<Customers>(),
            ServiceEntry::of::<Orders>(),
        ],
        DB_CONNECTIONS,
    )
    .await?;
    let raw = open(raw_url).await?;
    let mut out = format!(
        "{DB_CONNECTIONS} database connections per pool, service and raw alike; {} workers.\n\n\
         | Scenario | Throughput | p50 ms | p99 ms | vs raw | Target |\n|---|---:|---:|---:|---|---|\n",
        args.concurrency
    );

    progress("seeding the catalog and the customers");
    let channel = server.channel().await?;
    let customers = seed(&server, channel.clone(), args.customers).await?;

    let customers_pool = IdPool::new(customers);
    progress("CreateOrder with five lines through the service");
    let created = Arc::new(Mutex::new(Vec::new()));
    let mut ops = Vec::new();
    for i in 0..args.concurrency {
        let ch = if i % 4 == 0 {
            server.channel().await?
        } else {
            channel.clone()
        };
        ops.push(CreateOrder {
            client: OrderServiceClient::with_interceptor(ch, server.admin()?),
            customers: customers_pool.worker(i as u64),
            created: created.clone(),
        });
    }
    let probes = seed_customers(&server, channel.clone(), 200, "probe").await?;
    let (create, lags) = tokio::join!(
        load::run(ops, warmup, window, async {}),
        metrics_lag(&server, channel.clone(), probes, warmup + window)
    );
    let lags = lags?;
    progress("raw: the same inserts");
    let raw_ids = Arc::new(Mutex::new(Vec::new()));
    let raw_ops = (0..args.concurrency)
        .map(|i| RawInsert {
            db: raw.clone(),
            customers: customers_pool.worker(i as u64),
            ids: raw_ids.clone(),
        })
        .collect();
    let insert = load::run(raw_ops, warmup, window, async {}).await;
    out.push_str(&row(
        "CreateOrder, 5 lines (customer checked over gRPC, lines priced from the catalog)",
        &create,
        Some(&insert),
        "≥ 50% of raw, p99 < 20 ms",
    ));
    out.push_str(&row(
        "raw: INSERT order, 5 lines, revision (one transaction)",
        &insert,
        None,
        "",
    ));
    let mut sorted: Vec<u32> = lags.clone();
    sorted.sort_unstable();
    out.push_str(&format!(
        "| order.confirmed → the customer's value shows it, under the CreateOrder load ({} orders) | – | {:.0} | {:.0} | – | p99 < 1000 ms |\n",
        sorted.len(),
        load::quantile_ms(&sorted, 0.5),
        load::quantile_ms(&sorted, 0.99)
    ));

    progress("GetOrder through the service");
    let names: Vec<String> = created.lock().map_err(|_| "poisoned")?.clone();
    let ids: Vec<String> = raw_ids.lock().map_err(|_| "poisoned")?.clone();
    if names.is_empty() || ids.is_empty() {
        return Err("no orders were created to read".into());
    }
    let (names_pool, ids_pool) = (IdPool::new(names), IdPool::new(ids));
    let mut ops = Vec::new();
    for i in 0..args.concurrency {
        let ch = if i % 4 == 0 {
            server.channel().await?
        } else {
            channel.clone()
        };
        let client = OrderServiceClient::with_interceptor(ch, server.admin()?);
        ops.push(ReadByName::new(names_pool.worker(i as u64), move |name| {
            let mut c = client.clone();
            async move {
                let got = c.get_order(pb::GetOrderRequest { name }).await?;
                Ok(got.into_inner().name)
            }
        }));
    }
    let get = load::run(ops, warmup, window, async {}).await;
    progress("raw: the same select");
    let raw_ops = (0..args.concurrency)
        .map(|i| RawSelect {
            db: raw.clone(),
            ids: ids_pool.worker(i as u64),
        })
        .collect();
    let select = load::run(raw_ops, warmup, window, async {}).await;
    out.push_str(&row("GetOrder", &get, Some(&select), "≥ 70% of raw"));
    out.push_str(&row("raw: SELECT the order's row", &select, None, ""));
    let _ = server.stop(Duration::from_secs(30)).await;

    progress("idle memory of rapport serve");
    match memory::idle_serve().await {
        Ok(idle) => out.push_str(&format!(
            "\nIdle `rapport serve` (every service, standalone): {:.1} MB resident \
             (peak {:.1} MB), SERVING after {:.2} s; target < 60 MB.\n",
            idle.rss_bytes as f64 / 1e6,
            idle.peak_bytes as f64 / 1e6,
            idle.startup.as_secs_f64()
        )),
        Err(memory::Skip::NoBinary(path)) => out.push_str(&format!(
            "\nIdle memory skipped: no `rapport` binary at {} (build it with `cargo build \
             --release -p rapport`).\n",
            path.display()
        )),
        Err(memory::Skip::Failed(e)) => out.push_str(&format!("\nIdle memory failed: {e}\n")),
    }
    Ok(out)
}

fn row(name: &str, o: &Outcome, baseline: Option<&Outcome>, target: &str) -> String {
    let ratio = baseline
        .map(|b| {
            format!(
                "{:.0}% of raw ({:.0}/s)",
                100.0 * o.throughput() / b.throughput().max(1e-9),
                b.throughput()
            )
        })
        .unwrap_or_else(|| "–".into());
    let errors = if o.errors > 0 {
        format!(
            " {} errors (first: {})",
            o.errors,
            o.first_error.clone().unwrap_or_default()
        )
    } else {
        String::new()
    };
    format!(
        "| {name} | {:.0}/s | {:.2} | {:.2} | {ratio} | {target}{errors} |\n",
        o.throughput(),
        o.quantile_ms(0.5),
        o.quantile_ms(0.99)
    )
}

/// Opens `url` as the orders service does, with its migrations applied.
async fn open(url: &str) -> Result<Db> {
    let settings = PoolSettings {
        max_connections: DB_CONNECTIONS,
        ..PoolSettings::default()
    };
    let db = Db::connect(url, Orders::NAME, settings).await?;
    db.migrate(&<Orders as Service>::migrations()).await?;
    Ok(db)
}

fn cny(minor_units: i64) -> types::Money {
    types::Money {
        currency_code: "CNY".into(),
        minor_units,
    }
}

/// How long after ConfirmOrder answers the customer's value counts the order, for orders of
/// fresh customers confirmed one after another for `run`, in microseconds.
async fn metrics_lag(
    server: &BenchServer,
    channel: Channel,
    customers: Vec<String>,
    run: Duration,
) -> Result<Vec<u32>> {
    let mut orders = OrderServiceClient::with_interceptor(channel.clone(), server.admin()?);
    let mut people = CustomerServiceClient::with_interceptor(channel, server.admin()?);
    let end = std::time::Instant::now() + run;
    let mut lags = Vec::new();
    for customer in customers {
        if std::time::Instant::now() >= end {
            break;
        }
        let made = orders
            .create_order(pb::CreateOrderRequest {
                order: Some(pb::Order {
                    customer: customer.clone(),
                    currency_code: "CNY".into(),
                    lines: vec![pb::LineItem {
                        sku: SKUS[0].into(),
                        quantity: 1,
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
                request_id: String::new(),
                coupon_code: String::new(),
            })
            .await?
            .into_inner();
        orders
            .confirm_order(pb::ConfirmOrderRequest {
                name: made.name,
                ..Default::default()
            })
            .await?;
        let confirmed = std::time::Instant::now();
        loop {
            let c = people
                .get_customer(cpb::GetCustomerRequest {
                    name: customer.clone(),
                })
                .await?
                .into_inner();
            if c.value.is_some_and(|v| v.order_count > 0) {
                break;
            }
            if confirmed.elapsed() > Duration::from_secs(30) {
                return Err(format!("{customer}'s value never counted its order").into());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        lags.push(confirmed.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
    }
    Ok(lags)
}

/// `n` customers named after `label`; their names.
async fn seed_customers(
    server: &BenchServer,
    channel: Channel,
    n: usize,
    label: &str,
) -> Result<Vec<String>> {
    let mut customers = CustomerServiceClient::with_interceptor(channel, server.admin()?);
    let mut names = Vec::with_capacity(n);
    let offset = if label == "probe" { 50_000_000 } else { 0 };
    for i in 0..n {
        let c = customers
            .create_customer(cpb::CreateCustomerRequest {
                customer: Some(cpb::Customer {
                    kind: cpb::CustomerKind::Person.into(),
                    display_name: format!("{label} {i}"),
                    phones: vec![cpb::Phone {
                        number: format!("+86139{:08}", offset + i),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await?
            .into_inner();
        names.push(c.name);
    }
    Ok(names)
}

/// The five products through the catalog, and `n` customers; the customers' ids.
async fn seed(server: &BenchServer, channel: Channel, n: usize) -> Result<Vec<String>> {
    let mut catalog = CatalogServiceClient::with_interceptor(channel.clone(), server.admin()?);
    let category = catalog
        .create_category(pb::CreateCategoryRequest {
            category: Some(pb::Category {
                display_name: "Living room".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await?
        .into_inner()
        .name;
    for sku in SKUS {
        catalog
            .create_product(pb::CreateProductRequest {
                product: Some(pb::Product {
                    display_name: sku.to_lowercase(),
                    category: category.clone(),
                    variants: vec![pb::Variant {
                        sku: sku.into(),
                        list_prices: vec![cny(PRICE)],
                        costs: vec![cny(PRICE / 2)],
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await?;
    }
    seed_customers(server, channel, n, "customer").await
}

/// One worker creating orders of five lines for customers drawn from a pool.
struct CreateOrder {
    client: OrderClient,
    customers: IdPool,
    created: Arc<Mutex<Vec<String>>>,
}

impl CreateOrder {
    async fn create(&mut self) -> std::result::Result<(), String> {
        let order = pb::Order {
            customer: self.customers.next_id().to_owned(),
            currency_code: "CNY".into(),
            lines: SKUS
                .iter()
                .map(|sku| pb::LineItem {
                    sku: (*sku).into(),
                    quantity: 1,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        let made = self
            .client
            .create_order(pb::CreateOrderRequest {
                order: Some(order),
                request_id: uuid::Uuid::now_v7().simple().to_string(),
                coupon_code: String::new(),
            })
            .await
            .map_err(|s| format!("{:?}: {}", s.code(), s.message()))?
            .into_inner();
        self.created
            .lock()
            .map_err(|_| "poisoned".to_owned())?
            .push(made.name);
        Ok(())
    }
}

impl Op for CreateOrder {
    fn call(&mut self) -> impl Future<Output = std::result::Result<(), String>> + Send {
        self.create()
    }
}

/// The document the service stores for an order of the five lines: the same size of JSON in
/// the same column, built here so the baseline depends only on the schema.
fn order_doc(id: &str, customer: &str, now: i64) -> String {
    let lines: Vec<serde_json::Value> = SKUS
        .iter()
        .enumerate()
        .map(|(i, sku)| {
            serde_json::json!({
                "id": format!("{i:032}"), "sku": sku, "quantity": 1, "discount": 0,
                "product_id": id, "product_name": sku, "category_id": id,
                "unit_price": PRICE, "unit_cost": PRICE / 2, "scheduled": 0, "delivered": 0,
                "returned": 0, "area_milli": null
            })
        })
        .collect();
    serde_json::json!({
        "id": id, "customer_id": customer, "owner_id": "bench-admin", "team_id": "",
        "refs": {"store": "", "region": "", "partner": "", "campaign": "", "opportunity": ""},
        "currency": "CNY", "lines": lines, "order_discount": 0, "payments": [],
        "state": "Draft", "cancel_reason": "", "approval": "NotRequired", "approved_by": "",
        "approved_discount": 0, "notes": "", "revision": 1, "confirm_time": null,
        "cancel_time": null, "create_time": now, "update_time": now, "version": 1,
        "deliver_time": null, "follow_up": null, "refunded": 0, "charges": []
    })
    .to_string()
}

/// One worker of the raw baseline: per order, one transaction with the order's row, its five
/// lines in one statement and its first revision, the rows CreateOrder writes.
struct RawInsert {
    db: Db,
    customers: IdPool,
    ids: Arc<Mutex<Vec<String>>>,
}

impl RawInsert {
    async fn insert(&mut self) -> std::result::Result<(), String> {
        let id = uuid::Uuid::now_v7().to_string();
        let customer = self
            .customers
            .next_id()
            .trim_start_matches("customers/")
            .to_owned();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as i64)
            .unwrap_or_default();
        let doc = order_doc(&id, &customer, now);
        let e = |e: sqlx::Error| e.to_string();
        let mut tx = self.db.begin().await.map_err(|e| e.to_string())?;
        sqlx::query(
            "INSERT INTO orders (tenant_id, id, customer_id, owner_id, team_id, store, region, \
             partner, campaign, opportunity, currency_code, state, total, doc, revision, \
             confirm_time, cancel_time, follow_up_due, create_time, update_time, version) \
             VALUES ($1, $2, $3, $4, '', '', '', '', '', '', 'CNY', 'DRAFT', $5, $6, 1, NULL, \
             NULL, NULL, $7, $7, 1)",
        )
        .bind(TENANT)
        .bind(id.as_str())
        .bind(customer.as_str())
        .bind("bench-admin")
        .bind(PRICE * SKUS.len() as i64)
        .bind(doc.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(e)?;
        let rows: Vec<String> = (0..SKUS.len())
            .map(|i| {
                let b = 3 + i * 9;
                let cells: Vec<String> = (b..b + 9).map(|n| format!("${n}")).collect();
                format!("($1, $2, {})", cells.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO order_lines (tenant_id, order_id, line_id, sku, product_id, category_id, \
             quantity, unit_price, unit_cost, discount, amount) VALUES {}",
            rows.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(TENANT).bind(id.as_str());
        for (i, sku) in SKUS.iter().enumerate() {
            q = q
                .bind(format!("{i:032}"))
                .bind(*sku)
                .bind(id.as_str())
                .bind(id.as_str())
                .bind(1_i64)
                .bind(PRICE)
                .bind(PRICE / 2)
                .bind(0_i64)
                .bind(PRICE);
        }
        q.execute(&mut *tx).await.map_err(e)?;
        sqlx::query(
            "INSERT INTO order_revisions (tenant_id, order_id, revision, kind, actor, \
             create_time, changes, snapshot) VALUES ($1, $2, 1, 'created', $3, $4, '[]', $5)",
        )
        .bind(TENANT)
        .bind(id.as_str())
        .bind("bench-admin")
        .bind(now)
        .bind(doc.as_str())
        .execute(&mut *tx)
        .await
        .map_err(e)?;
        tx.commit().await.map_err(|e| e.to_string())?;
        self.ids.lock().map_err(|_| "poisoned".to_owned())?.push(id);
        Ok(())
    }
}

impl Op for RawInsert {
    fn call(&mut self) -> impl Future<Output = std::result::Result<(), String>> + Send {
        self.insert()
    }
}

/// One worker of the raw select baseline: the store's SELECT of an order's document by id.
struct RawSelect {
    db: Db,
    ids: IdPool,
}

impl RawSelect {
    async fn select(&mut self) -> std::result::Result<(), String> {
        let id = self.ids.next_id().to_owned();
        let doc: Option<String> =
            sqlx::query_scalar("SELECT o.doc FROM orders o WHERE o.tenant_id = $1 AND o.id = $2")
                .bind(TENANT)
                .bind(id.as_str())
                .fetch_optional(self.db.pool())
                .await
                .map_err(|e| e.to_string())?;
        let doc = doc.ok_or_else(|| format!("{id} not found"))?;
        serde_json::from_str::<serde_json::Value>(&doc).map_err(|e| e.to_string())?;
        Ok(())
    }
}

impl Op for RawSelect {
    fn call(&mut self) -> impl Future<Output = std::result::Result<(), String>> + Send {
        self.select()
    }
}
