//! OrderAnalyticsService (OR6) through gRPC on every backend: confirmed orders over two months,
//! three reps in two teams, three regions and two categories, with the exact figures of every
//! report; months in a time zone; what a manager, a marketer, a rep and another tenant see;
//! requests with bad fields.

use crate::common::*;
use rapport_proto::{
    customers as cpb,
    orders::{self as pb, order_analytics_service_client::OrderAnalyticsServiceClient},
};
use rapport_runtime::{
    auth::Role,
    clock::{DAY, HOUR, ManualClock, Micros},
};
use rapport_testkit::{Bearer, TestServer, each_backend_at};
use tonic::{Code, codegen::InterceptedService, transport::Channel};

type Analytics = OrderAnalyticsServiceClient<InterceptedService<Channel, Bearer>>;

fn analytics(s: &TestServer, bearer: Bearer) -> Analytics {
    OrderAnalyticsServiceClient::with_interceptor(s.channel.clone(), bearer)
}

/// 2024-05-01T00:00:00Z.
const MAY: Micros = 1_714_521_600_000_000;
/// 2024-04-10T10:00:00Z.
const APRIL_10: Micros = MAY - 21 * DAY + 10 * HOUR;
/// 2024-04-30T18:00:00Z: still April in UTC, already 1 May 02:00 in Shanghai.
const APRIL_30_LATE: Micros = MAY - 6 * HOUR;
/// 2024-05-10T12:00:00Z.
const MAY_10: Micros = MAY + 9 * DAY + 12 * HOUR;
/// Price bands: under 1,000.00, under 5,000.00, and above.
const BANDS: [i64; 3] = [0, 100_000, 500_000];

fn close(got: f64, want: f64) -> bool {
    (got - want).abs() < 1e-9
}

macro_rules! assert_close {
    ($got:expr, $want:expr) => {
        assert!(
            close($got, $want),
            "{} = {} , want {}",
            stringify!($got),
            $got,
            $want
        )
    };
}

/// The products of the furniture catalog, by SKU: their names.
struct Catalog {
    sofa: String,
    table: String,
    lamp: String,
    living: String,
    dining: String,
}

/// The customers of the scenario, by name.
struct People {
    wang: String,
    li: String,
    zhao: String,
    zhou: String,
}

/// An order for `customer` sold by `owner` of `team` in `region`, created by the admin.
fn sale(
    customer: &str,
    owner: &str,
    team: &str,
    region: &str,
    lines: Vec<pb::LineItem>,
) -> pb::Order {
    pb::Order {
        owner_id: owner.into(),
        team_id: team.into(),
        region: region.into(),
        ..order(customer, lines)
    }
}

/// Creates `o` as `c` and confirms it at `at`.
async fn confirmed(c: &mut Clients, clock: &ManualClock, o: pb::Order, at: Micros) -> pb::Order {
    let created = create_order(c, o, "").await.expect("create order");
    clock.set(at);
    c.orders
        .confirm_order(pb::ConfirmOrderRequest {
            name: created.name,
            etag: String::new(),
            request_id: String::new(),
        })
        .await
        .expect("confirm order")
        .into_inner()
}

/// The scenario, as the admin of tenant `t1`:
///
/// | order | month | customer | rep / team | region | lines | net total | cost |
/// |---|---|---|---|---|---|---:|---:|
/// | 1 | April (10th) | wang | rep-1 / north | Zhejiang | table | 450,000 | 200,000 |
/// | 2 | April (30th 18:00Z) | zhou | rep-3 / south | Jiangsu | lamp | 30,000 | 10,000 |
/// | 3 | May | wang | rep-1 / north | Zhejiang | sofa, 2 lamps, 59,900 off, from an opportunity | 900,000 | 520,000 |
/// | 4 | May | li | rep-2 / north | Zhejiang | table | 450,000 | 200,000 |
/// | 5 | May | li | rep-2 / north | Shanghai | 2 lamps, from an opportunity | 60,000 | 20,000 |
/// | 6 | May | zhao | rep-3 / south | Jiangsu | table, lamp | 480,000 | 210,000 |
///
/// Besides: a draft in May, an order confirmed in May and cancelled, and another tenant's
/// order in May; none of them counts. Returns the order of May 5 (li's lamps).
async fn scenario(s: &TestServer, clock: &ManualClock) -> (Catalog, People, pb::Order) {
    furniture(s).await;
    let mut a = admin(s);
    let probe = create_order(
        &mut a,
        order(
            &customer(s, "Chen Jing", "+8613800000005", "rep-1", "north").await,
            vec![
                line("SOFA-3S", 1, 0),
                line("TABLE-6", 1, 0),
                line("LAMP", 1, 0),
            ],
        ),
        "",
    )
    .await
    .expect("create draft");
    let catalog = Catalog {
        sofa: probe.lines[0].product.clone(),
        table: probe.lines[1].product.clone(),
        lamp: probe.lines[2].product.clone(),
        living: probe.lines[0].category.clone(),
        dining: probe.lines[1].category.clone(),
    };
    let people = People {
        wang: customer(s, "Wang Fang", "+8613800000001", "rep-1", "north").await,
        li: customer(s, "Li Na", "+8613800000002", "rep-2", "north").await,
        zhao: customer(s, "Zhao Lei", "+8613800000003", "rep-3", "south").await,
        zhou: customer(s, "Zhou Min", "+8613800000004", "rep-3", "south").await,
    };
    let p = &people;
    let opportunity = "opportunities/0190f0c8-0000-7000-8000-000000000001";
    confirmed(
        &mut a,
        clock,
        sale(
            &p.wang,
            "rep-1",
            "north",
            "Zhejiang",
            vec![line("TABLE-6", 1, 0)],
        ),
        APRIL_10,
    )
    .await;
    confirmed(
        &mut a,
        clock,
        sale(
            &p.zhou,
            "rep-3",
            "south",
            "Jiangsu",
            vec![line("LAMP", 1, 0)],
        ),
        APRIL_30_LATE,
    )
    .await;
    let third = pb::Order {
        order_discount: money("CNY", 59_900),
        opportunity: opportunity.into(),
        ..sale(
            &p.wang,
            "rep-1",
            "north",
            "Zhejiang",
            vec![line("SOFA-3S", 1, 0), line("LAMP", 2, 0)],
        )
    };
    let third = confirmed(&mut a, clock, third, MAY_10).await;
    assert_eq!(units(&third.net_total), 900_000);
    confirmed(
        &mut a,
        clock,
        sale(
            &p.li,
            "rep-2",
            "north",
            "Zhejiang",
            vec![line("TABLE-6", 1, 0)],
        ),
        MAY_10 + HOUR,
    )
    .await;
    let fifth = pb::Order {
        opportunity: opportunity.into(),
        ..sale(
            &p.li,
            "rep-2",
            "north",
            "Shanghai",
            vec![line("LAMP", 2, 0)],
        )
    };
    let fifth = confirmed(&mut a, clock, fifth, MAY_10 + 2 * HOUR).await;
    confirmed(
        &mut a,
        clock,
        sale(
            &p.zhao,
            "rep-3",
            "south",
            "Jiangsu",
            vec![line("TABLE-6", 1, 0), line("LAMP", 1, 0)],
        ),
        MAY_10 + 3 * HOUR,
    )
    .await;
    // Confirmed, then cancelled: it no longer counts, for its customer either.
    let chen = customer(s, "Chen Gang", "+8613800000006", "rep-1", "north").await;
    let gone = confirmed(
        &mut a,
        clock,
        sale(
            &chen,
            "rep-1",
            "north",
            "Zhejiang",
            vec![line("SOFA-3S", 1, 0)],
        ),
        MAY_10 + 4 * HOUR,
    )
    .await;
    a.orders
        .cancel_order(pb::CancelOrderRequest {
            name: gone.name,
            reason: "changed their mind".into(),
            etag: String::new(),
            request_id: String::new(),
        })
        .await
        .expect("cancel");
    // Another tenant's order in May.
    let mut other = stranger(s);
    let room = category(&mut other, "Bedroom", "").await;
    create_product(
        &mut other,
        product("Bed", &room, vec![variant("BED", 2_000_000, 900_000)]),
    )
    .await;
    let sleeper = other
        .customers
        .create_customer(cpb::CreateCustomerRequest {
            customer: Some(cpb::Customer {
                kind: cpb::CustomerKind::Person.into(),
                display_name: "Sun Li".into(),
                phones: vec![cpb::Phone {
                    number: "+8613800000009".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("create customer")
        .into_inner()
        .name;
    confirmed(
        &mut other,
        clock,
        sale(
            &sleeper,
            "rep-9",
            "east",
            "Zhejiang",
            vec![line("BED", 1, 0)],
        ),
        MAY_10,
    )
    .await;
    (catalog, people, fifth)
}

fn market_request(month: &str, time_zone: &str) -> pb::GetMarketReportRequest {
    pb::GetMarketReportRequest {
        month: month.into(),
        time_zone: time_zone.into(),
        currency_code: String::new(),
        price_bands: BANDS.to_vec(),
    }
}

fn deal_request(month: &str) -> pb::GetDealReportRequest {
    pb::GetDealReportRequest {
        month: month.into(),
        price_bands: BANDS.to_vec(),
        ..Default::default()
    }
}

fn sales_request(group_by: pb::SalesGroupBy, limit: i32) -> pb::GetSalesPerformanceRequest {
    pb::GetSalesPerformanceRequest {
        month: "2024-05".into(),
        group_by: group_by.into(),
        limit,
        ..Default::default()
    }
}

fn profit_request() -> pb::GetProfitabilityRequest {
    pb::GetProfitabilityRequest {
        month: "2024-05".into(),
        ..Default::default()
    }
}

async fn market(c: &mut Analytics, r: pb::GetMarketReportRequest) -> pb::GetMarketReportResponse {
    c.get_market_report(r).await.expect("market").into_inner()
}

async fn deals(c: &mut Analytics, r: pb::GetDealReportRequest) -> pb::GetDealReportResponse {
    c.get_deal_report(r).await.expect("deals").into_inner()
}

async fn sales(
    c: &mut Analytics,
    r: pb::GetSalesPerformanceRequest,
) -> pb::GetSalesPerformanceResponse {
    c.get_sales_performance(r)
        .await
        .expect("sales")
        .into_inner()
}

async fn profits(
    c: &mut Analytics,
    r: pb::GetProfitabilityRequest,
) -> pb::GetProfitabilityResponse {
    c.get_profitability(r)
        .await
        .expect("profitability")
        .into_inner()
}

/// (count, amount) of figures.
fn tally(f: &Option<pb::Figures>) -> (i64, i64) {
    let f = f.as_ref().expect("figures");
    (f.count, units(&f.amount))
}

fn share<'a>(list: &'a [pb::MarketShare], key: &str) -> &'a pb::MarketShare {
    list.iter()
        .find(|s| s.key == key)
        .unwrap_or_else(|| panic!("no share {key} in {list:?}"))
}

fn keys_of<T>(list: &[T], key: impl Fn(&T) -> &str) -> Vec<String> {
    list.iter().map(|x| key(x).to_owned()).collect()
}

/// Amount and count shares of a part, and their shifts, against the expected (count, amount)
/// of the part and the whole in May and April.
fn assert_share(s: &pb::MarketShare, may: (i64, i64), april: (i64, i64), wholes: [(i64, i64); 2]) {
    assert_eq!(tally(&s.current), may, "{}", s.key);
    assert_eq!(tally(&s.previous), april, "{}", s.key);
    let frac = |a: i64, b: i64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let [now, before] = wholes;
    let current = s.current.as_ref().unwrap();
    assert_close!(current.amount_share, frac(may.1, now.1));
    assert_close!(current.count_share, frac(may.0, now.0));
    assert_close!(
        s.amount_share_shift,
        (frac(may.1, now.1) - frac(april.1, before.1)) * 100.0
    );
    assert_close!(
        s.count_share_shift,
        (frac(may.0, now.0) - frac(april.0, before.0)) * 100.0
    );
}

#[tokio::test]
async fn reports_count_confirmed_orders_by_month_net_and_in_one_currency() {
    each_backend_at(&services(), MAY - 30 * DAY, async |s, clock| {
        let (catalog, people, fifth) = scenario(s, clock).await;
        let mut a = analytics(s, s.admin());
        let wholes = [(4, 1_890_000), (2, 480_000)];

        // Market.
        let m = market(&mut a, market_request("2024-05", "")).await;
        assert_eq!(
            (m.month.as_str(), m.previous_month.as_str()),
            ("2024-05", "2024-04")
        );
        assert_eq!(tally(&m.total), wholes[0]);
        assert_eq!(tally(&m.previous_total), wholes[1]);
        assert_eq!(units(&m.total.as_ref().unwrap().average), 472_500);
        assert_eq!(
            keys_of(&m.price_bands, |s| &s.key),
            ["0", "100000", "500000"]
        );
        assert_share(&m.price_bands[0], (1, 60_000), (1, 30_000), wholes);
        assert_share(&m.price_bands[1], (2, 930_000), (1, 450_000), wholes);
        assert_share(&m.price_bands[2], (1, 900_000), (0, 0), wholes);
        let band = m.price_bands[1].band.as_ref().unwrap();
        assert_eq!((units(&band.min), units(&band.max)), (100_000, 500_000));
        assert!(m.price_bands[2].band.as_ref().unwrap().max.is_none());
        assert_eq!(
            units(&m.price_bands[1].current.as_ref().unwrap().average),
            465_000
        );
        assert_eq!(
            keys_of(&m.regions, |s| &s.key),
            ["Zhejiang", "Jiangsu", "Shanghai"]
        );
        assert_share(
            share(&m.regions, "Zhejiang"),
            (2, 1_350_000),
            (1, 450_000),
            wholes,
        );
        assert_share(
            share(&m.regions, "Jiangsu"),
            (1, 480_000),
            (1, 30_000),
            wholes,
        );
        assert_share(share(&m.regions, "Shanghai"), (1, 60_000), (0, 0), wholes);
        // Categories count units: 3 + 2 + 1 living-room pieces and 2 tables in May.
        let units_whole = [(8, 1_890_000), (2, 480_000)];
        assert_eq!(
            keys_of(&m.categories, |s| &s.key),
            [catalog.living.clone(), catalog.dining.clone()]
        );
        assert_share(
            share(&m.categories, &catalog.living),
            (6, 990_000),
            (1, 30_000),
            units_whole,
        );
        assert_share(
            share(&m.categories, &catalog.dining),
            (2, 900_000),
            (1, 450_000),
            units_whole,
        );

        // Months in a time zone: order 2, late on 30 April in UTC, is May's in Shanghai.
        let shanghai = market(&mut a, market_request("2024-05", "Asia/Shanghai")).await;
        assert_eq!(tally(&shanghai.total), (5, 1_920_000));
        assert_eq!(tally(&shanghai.previous_total), (1, 450_000));
        let april = market(&mut a, market_request("2024-04", "")).await;
        assert_eq!(tally(&april.total), (2, 480_000));
        assert_eq!(tally(&april.previous_total), (0, 0));
        assert_eq!(
            april.price_bands[0].amount_share_shift,
            100.0 * 30_000.0 / 480_000.0
        );
        // Another currency has no orders.
        let usd = market(
            &mut a,
            pb::GetMarketReportRequest {
                currency_code: "USD".into(),
                ..market_request("2024-05", "")
            },
        )
        .await;
        assert_eq!(tally(&usd.total), (0, 0));
        assert!(usd.regions.is_empty());
        assert_eq!(
            usd.total
                .as_ref()
                .unwrap()
                .amount
                .as_ref()
                .unwrap()
                .currency_code,
            "USD"
        );

        // Deals.
        let d = deals(&mut a, deal_request("2024-05")).await;
        assert_eq!(tally(&d.total), wholes[0]);
        assert_eq!(
            (
                d.customers,
                d.new_customers,
                d.returning_customers,
                d.repeat_customers
            ),
            (3, 2, 1, 1),
            "wang, li, zhao; li and zhao new; li twice"
        );
        assert_close!(d.repurchase_rate, 1.0 / 3.0);
        assert_eq!(
            (d.customers_to_date, d.repeat_customers_to_date),
            (4, 2),
            "wang and li of wang, li, zhao, zhou"
        );
        assert_close!(d.repurchase_rate_to_date, 0.5);
        assert_eq!(d.opportunity_orders, 2);
        assert_close!(d.lead_conversion, 0.5);
        let slices = |list: &[pb::DealSlice]| -> Vec<(String, i64, i64, i64)> {
            list.iter()
                .map(|s| {
                    let f = s.figures.as_ref().unwrap();
                    (s.key.clone(), f.count, units(&f.amount), units(&f.average))
                })
                .collect()
        };
        assert_eq!(
            slices(&d.price_bands),
            [
                ("0".into(), 1, 60_000, 60_000),
                ("100000".into(), 2, 930_000, 465_000),
                ("500000".into(), 1, 900_000, 900_000)
            ]
        );
        assert_eq!(
            slices(&d.regions),
            [
                ("Zhejiang".into(), 2, 1_350_000, 675_000),
                ("Jiangsu".into(), 1, 480_000, 480_000),
                ("Shanghai".into(), 1, 60_000, 60_000)
            ]
        );
        assert_close!(d.regions[0].figures.as_ref().unwrap().count_share, 0.5);
        assert!(d.price_bands[0].band.is_some() && d.regions[0].band.is_none());
        let first_days = deals(&mut a, deal_request("2024-04")).await;
        assert_eq!(
            (
                first_days.customers,
                first_days.new_customers,
                first_days.customers_to_date
            ),
            (2, 2, 2)
        );
        assert_eq!(first_days.repeat_customers_to_date, 0);

        // Sales performance.
        type Row = (String, i64, i64, i64, i64, i64);
        let rows = |list: &[pb::SalesEntry]| -> Vec<Row> {
            list.iter()
                .map(|e| {
                    (
                        e.key.clone(),
                        e.order_count,
                        units(&e.amount),
                        units(&e.average_amount),
                        units(&e.previous_amount),
                        units(&e.amount_change),
                    )
                })
                .collect()
        };
        let reps = sales(&mut a, sales_request(pb::SalesGroupBy::Unspecified, 0)).await;
        let rep1: Row = ("reps/rep-1".into(), 1, 900_000, 900_000, 450_000, 450_000);
        let rep2: Row = ("reps/rep-2".into(), 2, 510_000, 255_000, 0, 510_000);
        let rep3: Row = ("reps/rep-3".into(), 1, 480_000, 480_000, 30_000, 450_000);
        assert_eq!(rows(&reps.best), [rep1.clone(), rep2.clone(), rep3.clone()]);
        assert_eq!(
            rows(&reps.worst),
            [rep3.clone(), rep2.clone(), rep1.clone()]
        );
        assert_eq!(
            rows(&reps.rising),
            [rep2.clone(), rep1.clone(), rep3.clone()]
        );
        assert_eq!(reps.best[1].previous_order_count, 0);
        let top = sales(&mut a, sales_request(pb::SalesGroupBy::Rep, 1)).await;
        assert_eq!(rows(&top.best), [rep1]);
        assert_eq!(rows(&top.worst), [rep3]);
        let teams = sales(&mut a, sales_request(pb::SalesGroupBy::Team, 0)).await;
        assert_eq!(
            rows(&teams.best),
            [
                (
                    "teams/north".into(),
                    3,
                    1_410_000,
                    470_000,
                    450_000,
                    960_000
                ),
                ("teams/south".into(), 1, 480_000, 480_000, 30_000, 450_000)
            ]
        );
        assert_eq!(
            keys_of(&teams.rising, |e| &e.key),
            ["teams/north", "teams/south"]
        );

        // Profitability. Order 3's 900,000 is split over its lines by their amounts,
        // 899,900 : 60,000, rounded down but for the last line: 843,744 and 56,256.
        let p = profits(&mut a, profit_request()).await;
        let total = p.total.as_ref().unwrap();
        assert_eq!(
            (
                units(&total.amount),
                units(&total.cost),
                units(&total.margin),
                total.count
            ),
            (1_890_000, 950_000, 940_000, 4)
        );
        assert_close!(total.margin_rate, 940_000.0 / 1_890_000.0);
        type M = (String, i64, i64, i64, i64);
        let margins = |list: &[pb::Margin]| -> Vec<M> {
            list.iter()
                .map(|m| {
                    (
                        m.key.clone(),
                        m.count,
                        units(&m.amount),
                        units(&m.cost),
                        units(&m.margin),
                    )
                })
                .collect()
        };
        let products = p.products.as_ref().unwrap();
        let table: M = (catalog.table.clone(), 2, 900_000, 400_000, 500_000);
        let sofa: M = (catalog.sofa.clone(), 1, 843_744, 500_000, 343_744);
        let lamp: M = (catalog.lamp.clone(), 5, 146_256, 50_000, 96_256);
        assert_eq!(
            margins(&products.top),
            [table.clone(), sofa.clone(), lamp.clone()]
        );
        assert_eq!(margins(&products.bottom), [lamp, sofa, table]);
        assert_close!(products.top[0].margin_rate, 500_000.0 / 900_000.0);
        let categories = p.categories.as_ref().unwrap();
        assert_eq!(
            margins(&categories.top),
            [
                (catalog.dining.clone(), 2, 900_000, 400_000, 500_000),
                (catalog.living.clone(), 6, 990_000, 550_000, 440_000)
            ]
        );
        let customers = p.customers.as_ref().unwrap();
        assert_eq!(
            margins(&customers.top),
            [
                (people.wang.clone(), 1, 900_000, 520_000, 380_000),
                (people.li.clone(), 2, 510_000, 220_000, 290_000),
                (people.zhao.clone(), 1, 480_000, 210_000, 270_000)
            ]
        );
        let short = profits(
            &mut a,
            pb::GetProfitabilityRequest {
                limit: 1,
                ..profit_request()
            },
        )
        .await;
        let short = short.customers.unwrap();
        assert_eq!(
            (
                keys_of(&short.top, |m| &m.key),
                keys_of(&short.bottom, |m| &m.key)
            ),
            (vec![people.wang.clone()], vec![people.zhao.clone()])
        );
        assert!(!people.zhou.is_empty());

        // A change of a confirmed order moves its figures: li's lamps become three.
        admin(s)
            .orders
            .update_order(pb::UpdateOrderRequest {
                order: Some(pb::Order {
                    name: fifth.name.clone(),
                    lines: vec![pb::LineItem {
                        id: fifth.lines[0].id.clone(),
                        sku: "LAMP".into(),
                        quantity: 3,
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
                update_mask: mask(&["lines"]),
                request_id: String::new(),
            })
            .await
            .expect("update order");
        let reps = sales(&mut a, sales_request(pb::SalesGroupBy::Rep, 0)).await;
        assert_eq!(rows(&reps.best)[1].2, 540_000);
        let p = profits(&mut a, profit_request()).await;
        assert_eq!(units(&p.total.unwrap().cost), 960_000);

        // A marketer reads the tenant's figures; the other tenant sees its own order only.
        let mut marketer = analytics(s, s.auth("t1", "mkt-1", &[Role::Marketer]));
        let m = market(&mut marketer, market_request("2024-05", "")).await;
        assert_eq!(tally(&m.total), (4, 1_920_000));
        let mut other = analytics(s, s.stranger());
        let m = market(&mut other, market_request("2024-05", "")).await;
        assert_eq!(tally(&m.total), (1, 2_000_000));
        assert_eq!(keys_of(&m.regions, |s| &s.key), ["Zhejiang"]);
        let d = deals(&mut other, deal_request("2024-05")).await;
        assert_eq!((d.customers, d.customers_to_date), (1, 1));
    })
    .await;
}

#[tokio::test]
async fn a_manager_sees_its_team_and_a_rep_nothing() {
    each_backend_at(&services(), MAY - 30 * DAY, async |s, clock| {
        let (_, people, _) = scenario(s, clock).await;
        let mut north = analytics(s, s.manager("mgr-n", "north"));
        let m = market(&mut north, market_request("2024-05", "")).await;
        assert_eq!(tally(&m.total), (3, 1_410_000));
        assert_eq!(tally(&m.previous_total), (1, 450_000));
        assert_eq!(keys_of(&m.regions, |s| &s.key), ["Zhejiang", "Shanghai"]);
        let d = deals(&mut north, deal_request("2024-05")).await;
        // wang ordered from north in April: returning; li is new.
        assert_eq!(
            (
                d.customers,
                d.new_customers,
                d.returning_customers,
                d.repeat_customers
            ),
            (2, 1, 1, 1)
        );
        assert_eq!((d.customers_to_date, d.repeat_customers_to_date), (2, 2));
        assert_eq!(d.opportunity_orders, 2);
        let reps = sales(&mut north, sales_request(pb::SalesGroupBy::Rep, 0)).await;
        assert_eq!(
            keys_of(&reps.best, |e| &e.key),
            ["reps/rep-1", "reps/rep-2"]
        );
        let teams = sales(&mut north, sales_request(pb::SalesGroupBy::Team, 0)).await;
        assert_eq!(keys_of(&teams.best, |e| &e.key), ["teams/north"]);
        let p = profits(&mut north, profit_request()).await;
        assert_eq!(units(&p.total.unwrap().amount), 1_410_000);
        assert_eq!(
            keys_of(&p.customers.unwrap().top, |m| &m.key),
            [people.wang.clone(), people.li.clone()]
        );

        let mut south = analytics(s, s.manager("mgr-s", "south"));
        let d = deals(&mut south, deal_request("2024-05")).await;
        assert_eq!(
            (
                d.customers,
                d.new_customers,
                d.customers_to_date,
                d.opportunity_orders
            ),
            (1, 1, 2, 0),
            "zhao new in May; zhou from April"
        );

        // Reps, and managers without a team, are refused.
        let mut rep = analytics(s, s.rep("rep-1", "north"));
        assert_code(
            rep.get_market_report(market_request("2024-05", "")).await,
            Code::PermissionDenied,
        );
        assert_code(
            rep.get_deal_report(deal_request("2024-05")).await,
            Code::PermissionDenied,
        );
        assert_code(
            rep.get_sales_performance(sales_request(pb::SalesGroupBy::Rep, 0))
                .await,
            Code::PermissionDenied,
        );
        assert_code(
            rep.get_profitability(profit_request()).await,
            Code::PermissionDenied,
        );
        let mut teamless = analytics(s, s.auth("t1", "mgr-x", &[Role::Manager]));
        assert_code(
            teamless.get_profitability(profit_request()).await,
            Code::PermissionDenied,
        );
        let mut anonymous = analytics(s, Bearer::anonymous(None));
        assert_code(
            anonymous.get_profitability(profit_request()).await,
            Code::Unauthenticated,
        );
    })
    .await;
}

#[tokio::test]
async fn bad_requests_name_every_bad_field() {
    each_backend_at(&services(), MAY, async |s, _| {
        let mut a = analytics(s, s.admin());
        let status = assert_code(
            a.get_market_report(pb::GetMarketReportRequest {
                month: "2024-13".into(),
                time_zone: "Mars/Olympus".into(),
                currency_code: "yuan".into(),
                price_bands: vec![-1, 500, 500, 100],
            })
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&status),
            [
                "currency_code",
                "month",
                "price_bands[0]",
                "price_bands[2]",
                "price_bands[3]",
                "time_zone"
            ]
        );
        let status = assert_code(
            a.get_deal_report(pb::GetDealReportRequest::default()).await,
            Code::InvalidArgument,
        );
        assert_eq!(sorted_bad_fields(&status), ["month", "price_bands"]);
        let status = assert_code(
            a.get_sales_performance(pb::GetSalesPerformanceRequest {
                month: "May 2024".into(),
                time_zone: "+08:00".into(),
                currency_code: "CN".into(),
                group_by: 9,
                limit: 101,
            })
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&status),
            ["currency_code", "group_by", "limit", "month", "time_zone"]
        );
        let status = assert_code(
            a.get_profitability(pb::GetProfitabilityRequest {
                month: "2024-05".into(),
                limit: -1,
                ..Default::default()
            })
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(sorted_bad_fields(&status), ["limit"]);
        // Too many bands.
        let status = assert_code(
            a.get_market_report(pb::GetMarketReportRequest {
                month: "2024-05".into(),
                price_bands: (0..21).map(|i| i * 1000).collect(),
                ..Default::default()
            })
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(sorted_bad_fields(&status), ["price_bands"]);
        // A refused caller learns nothing of its request's problems.
        let mut rep = analytics(s, s.rep("rep-1", "north"));
        assert_code(
            rep.get_market_report(pb::GetMarketReportRequest::default())
                .await,
            Code::PermissionDenied,
        );
    })
    .await;
}
