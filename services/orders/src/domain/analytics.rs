//! Order analytics (OR6), the arithmetic without the I/O: months in a time zone, what of an
//! order counts (its facts), price bands, shares and their month-over-month shifts, rankings
//! and margins.
//!
//! An order counts from its confirmation while it is confirmed or further along
//! ([`counts`]), in the month its confirmation time falls in. Amounts are net of refunds; a
//! line's net amount is its part of the order's net total, in proportion to the line's amount
//! ([`allocate`]), so order discounts and refunds reach categories and products too, and the
//! lines of an order always add up to its net total.

use std::cmp::Ordering;

use chrono::{LocalResult, NaiveDate, TimeDelta, TimeZone};
use chrono_tz::Tz;
use rapport_runtime::clock::Micros;
use uuid::Uuid;

use super::order::{Order, State};

/// Price bands a request may give, at most.
pub const MAX_BANDS: usize = 20;

/// A calendar month, counted as year × 12 + month − 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month(i64);

impl Month {
    /// The month written `"YYYY-MM"` (years 1..9999).
    pub fn parse(text: &str) -> Result<Month, String> {
        let bad = || format!("{text:?} is not a month written YYYY-MM, e.g. \"2024-05\"");
        let (year, month) = text.split_once('-').ok_or_else(bad)?;
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(year, 4) || !digits(month, 2) {
            return Err(bad());
        }
        let year: i64 = year.parse().map_err(|_| bad())?;
        let month: i64 = month.parse().map_err(|_| bad())?;
        if year == 0 || !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok(Month(year * 12 + month - 1))
    }

    /// The month before.
    pub fn previous(self) -> Month {
        Month(self.0 - 1)
    }

    /// The month after.
    pub fn next(self) -> Month {
        Month(self.0 + 1)
    }

    /// The year and the month (1..=12).
    fn year_and_month(self) -> (i32, u32) {
        let year = i32::try_from(self.0.div_euclid(12)).unwrap_or(i32::MAX);
        (year, self.0.rem_euclid(12) as u32 + 1)
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (year, month) = self.year_and_month();
        write!(f, "{year:04}-{month:02}")
    }
}

/// An IANA time zone months are counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone(Tz);

impl Zone {
    /// Coordinated Universal Time, the default.
    pub const UTC: Zone = Zone(Tz::UTC);

    /// The zone named `name` ("Asia/Shanghai"); UTC when empty.
    pub fn parse(name: &str) -> Result<Zone, String> {
        if name.is_empty() {
            return Ok(Zone::UTC);
        }
        name.parse::<Tz>().map(Zone).map_err(|_| {
            format!("{name:?} is not an IANA time zone name, e.g. \"Asia/Shanghai\" or \"UTC\"")
        })
    }

    /// The zone's name.
    pub fn name(self) -> &'static str {
        self.0.name()
    }

    /// The first instant of `month` here: midnight of its first day, or, where the clocks
    /// skipped that midnight, the first local time after it (the end of the gap).
    pub fn month_start(self, month: Month) -> Micros {
        let (year, m) = month.year_and_month();
        let Some(midnight) =
            NaiveDate::from_ymd_opt(year, m, 1).and_then(|d| d.and_hms_opt(0, 0, 0))
        else {
            return Micros::MIN;
        };
        // Gaps are whole quarters of an hour, and never a whole day at the start of a month.
        let mut local = midnight;
        for _ in 0..=96 {
            match self.0.from_local_datetime(&local) {
                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => {
                    return t.timestamp_micros();
                }
                LocalResult::None => match local.checked_add_signed(TimeDelta::minutes(15)) {
                    Some(later) => local = later,
                    None => break,
                },
            }
        }
        midnight.and_utc().timestamp_micros()
    }
}

/// The instants a report reads: the month before from `previous`, the month from `start`
/// until `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub previous: Micros,
    pub start: Micros,
    pub end: Micros,
}

impl Window {
    /// The window of `month` in `zone`.
    pub fn of(month: Month, zone: Zone) -> Window {
        Window {
            previous: zone.month_start(month.previous()),
            start: zone.month_start(month),
            end: zone.month_start(month.next()),
        }
    }
}

/// Price bands by their lower bounds, ascending: band `i` is `[bounds[i], bounds[i + 1])`, the
/// last has no upper bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bands(Vec<i64>);

impl Bands {
    /// The bands of `bounds`; otherwise every problem, by index (`None` for the whole list).
    pub fn parse(bounds: &[i64]) -> Result<Bands, Vec<(Option<usize>, String)>> {
        let mut problems = Vec::new();
        if bounds.is_empty() {
            problems.push((
                None,
                "is required: the bands' lower bounds in minor units, ascending, e.g. \
                 [0, 500000, 1000000]"
                    .to_owned(),
            ));
        }
        if bounds.len() > MAX_BANDS {
            problems.push((
                None,
                format!("has {} bands; at most {MAX_BANDS}", bounds.len()),
            ));
        }
        for (i, &bound) in bounds.iter().enumerate() {
            if bound < 0 {
                problems.push((Some(i), format!("{bound} is negative")));
            } else if i > 0 && bound <= bounds[i - 1] {
                problems.push((
                    Some(i),
                    format!(
                        "{bound} is not above the bound before it, {}: bounds go in ascending order",
                        bounds[i - 1]
                    ),
                ));
            }
        }
        if problems.is_empty() {
            Ok(Bands(bounds.to_vec()))
        } else {
            Err(problems)
        }
    }

    /// The lower bounds.
    pub fn bounds(&self) -> &[i64] {
        &self.0
    }

    /// The band whose lower bound is `bound`: its lower bound and, but for the last, its upper.
    pub fn band(&self, bound: i64) -> Option<(i64, Option<i64>)> {
        let i = self.0.iter().position(|b| *b == bound)?;
        Some((bound, self.0.get(i + 1).copied()))
    }

    /// The band `amount` falls in, by its lower bound; `None` below the first.
    pub fn band_of(&self, amount: i64) -> Option<i64> {
        self.0.iter().rev().find(|b| amount >= **b).copied()
    }
}

/// Whether an order in `state` counts: confirmed, and not cancelled.
pub fn counts(state: State) -> bool {
    match state {
        State::Confirmed | State::DeliveryScheduled | State::Delivered | State::Completed => true,
        State::Draft | State::Cancelled => false,
    }
}

/// What analytics keep of a counted order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderFact {
    pub currency: String,
    pub confirm_time: Micros,
    pub customer_id: Uuid,
    pub owner_id: String,
    pub team_id: String,
    pub region: String,
    /// Whether the order closes a lead's opportunity.
    pub from_opportunity: bool,
    /// The order's total less refunds.
    pub net_total: i64,
    /// Unit cost × quantity over its lines.
    pub cost: i64,
}

/// What analytics keep of a line of a counted order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineFact {
    pub line_id: String,
    pub product_id: Uuid,
    pub category_id: Uuid,
    pub quantity: i64,
    /// The line's part of the order's net total.
    pub net_amount: i64,
    /// Unit cost × quantity.
    pub cost: i64,
}

/// The facts of a counted order: the order's and its lines', by line id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub order: OrderFact,
    pub lines: Vec<LineFact>,
}

impl Facts {
    /// The facts of `o`; `None` while it does not count.
    pub fn of(o: &Order) -> Option<Facts> {
        let confirm_time = o.confirm_time.filter(|_| counts(o.state))?;
        let net_total = o.totals().net_total;
        let weights: Vec<i64> = o.lines.iter().map(|l| l.amount()).collect();
        let mut lines: Vec<LineFact> = o
            .lines
            .iter()
            .zip(allocate(net_total, &weights))
            .map(|(l, net_amount)| LineFact {
                line_id: l.id.clone(),
                product_id: l.product_id,
                category_id: l.category_id,
                quantity: l.quantity,
                net_amount,
                cost: l.unit_cost.saturating_mul(l.quantity),
            })
            .collect();
        let cost = lines.iter().map(|l| l.cost).fold(0, i64::saturating_add);
        lines.sort_by(|a, b| a.line_id.cmp(&b.line_id));
        Some(Facts {
            order: OrderFact {
                currency: o.currency.clone(),
                confirm_time,
                customer_id: o.customer_id,
                owner_id: o.owner_id.clone(),
                team_id: o.team_id.clone(),
                region: o.refs.region.clone(),
                from_opportunity: !o.refs.opportunity.is_empty(),
                net_total,
                cost,
            },
            lines,
        })
    }
}

/// `total` split over `weights` in proportion, each part rounded down and the last taking
/// what rounding left, so the parts always add up to `total`. Without any weight the last
/// part takes it all.
pub fn allocate(total: i64, weights: &[i64]) -> Vec<i64> {
    let Some(last) = weights.len().checked_sub(1) else {
        return Vec::new();
    };
    let sum: i128 = weights.iter().map(|w| i128::from(*w)).sum();
    let mut parts: Vec<i64> = weights
        .iter()
        .map(|w| {
            if sum <= 0 {
                0
            } else {
                let part = (i128::from(total) * i128::from(*w)).div_euclid(sum);
                i64::try_from(part).unwrap_or(0)
            }
        })
        .collect();
    let others: i64 = parts[..last].iter().sum();
    parts[last] = total - others;
    parts
}

/// Orders (or units) and their net amount.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub count: i64,
    pub amount: i64,
}

impl Tally {
    /// Adds `other`.
    pub fn add(&mut self, other: Tally) {
        self.count = self.count.saturating_add(other.count);
        self.amount = self.amount.saturating_add(other.amount);
    }
}

/// A part's tallies in the month and the month before.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Both {
    pub current: Tally,
    pub previous: Tally,
}

impl Both {
    /// Adds `t` to the month (`current`) or the month before.
    pub fn add(&mut self, current: bool, t: Tally) {
        if current {
            self.current.add(t);
        } else {
            self.previous.add(t);
        }
    }
}

/// `part / whole`; 0 when the whole is not positive.
pub fn ratio(part: i64, whole: i64) -> f64 {
    if whole <= 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// `amount / count` rounded half away from zero; 0 without a count.
pub fn average(amount: i64, count: i64) -> i64 {
    if count <= 0 {
        return 0;
    }
    let (a, c) = (i128::from(amount), i128::from(count));
    let rounded = (2 * a.abs() + c) / (2 * c);
    i64::try_from(if amount < 0 { -rounded } else { rounded }).unwrap_or(0)
}

/// The figures of a part against its month's whole.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figures {
    pub count: i64,
    pub amount: i64,
    pub average: i64,
    /// 0..1.
    pub amount_share: f64,
    /// 0..1.
    pub count_share: f64,
}

impl Figures {
    /// `part`'s figures in a month whose orders are `whole`.
    pub fn of(part: Tally, whole: Tally) -> Figures {
        Figures {
            count: part.count,
            amount: part.amount,
            average: average(part.amount, part.count),
            amount_share: ratio(part.amount, whole.amount),
            count_share: ratio(part.count, whole.count),
        }
    }
}

/// A part of the market in a month against the month before.
#[derive(Debug, Clone, PartialEq)]
pub struct Share {
    pub key: String,
    pub current: Figures,
    pub previous: Figures,
    /// Shift of the amount share, in percentage points.
    pub amount_shift: f64,
    /// Shift of the count share, in percentage points.
    pub count_shift: f64,
}

/// The shares of `parts` in `whole` in both months, with their shifts in percentage points, in
/// the order given.
pub fn shares(parts: Vec<(String, Both)>, whole: Both) -> Vec<Share> {
    parts
        .into_iter()
        .map(|(key, part)| {
            let current = Figures::of(part.current, whole.current);
            let previous = Figures::of(part.previous, whole.previous);
            Share {
                key,
                amount_shift: (current.amount_share - previous.amount_share) * 100.0,
                count_shift: (current.count_share - previous.count_share) * 100.0,
                current,
                previous,
            }
        })
        .collect()
}

/// The first `limit` of `items` in `order`.
fn first<T>(mut items: Vec<T>, order: impl FnMut(&T, &T) -> Ordering, limit: usize) -> Vec<T> {
    items.sort_by(order);
    items.truncate(limit);
    items
}

/// Sorts shares largest amount share first, then by key.
pub fn largest_first(shares: &mut [Share]) {
    shares.sort_by(|a, b| {
        b.current
            .amount_share
            .total_cmp(&a.current.amount_share)
            .then_with(|| a.key.cmp(&b.key))
    });
}

/// What sales performance ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SalesGroup {
    Rep,
    Team,
}

impl SalesGroup {
    /// The collection its keys are named in: "reps/{rep}", "teams/{team}".
    pub fn collection(self) -> &'static str {
        match self {
            SalesGroup::Rep => "reps",
            SalesGroup::Team => "teams",
        }
    }
}

/// A rep's or team's orders in the month and the month before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    pub key: String,
    pub sales: Both,
}

impl Standing {
    /// The amount's rise against the month before.
    pub fn rise(&self) -> i64 {
        self.sales
            .current
            .amount
            .saturating_sub(self.sales.previous.amount)
    }
}

/// The three lists of sales performance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Board {
    pub best: Vec<Standing>,
    pub worst: Vec<Standing>,
    pub rising: Vec<Standing>,
}

/// Ranks `standings` (everyone with orders in either month): best by amount then orders, among
/// those with orders in the month; worst by the same, lowest first, among everyone; rising by
/// the rise in amount, among those who rose. Ties go by key.
pub fn rank(standings: Vec<Standing>, limit: usize) -> Board {
    let result = |s: &Standing| (s.sales.current.amount, s.sales.current.count);
    let selling: Vec<Standing> = standings
        .iter()
        .filter(|s| s.sales.current.count > 0)
        .cloned()
        .collect();
    let rose: Vec<Standing> = standings.iter().filter(|s| s.rise() > 0).cloned().collect();
    Board {
        best: first(
            selling,
            |a, b| result(b).cmp(&result(a)).then_with(|| a.key.cmp(&b.key)),
            limit,
        ),
        rising: first(
            rose,
            |a, b| b.rise().cmp(&a.rise()).then_with(|| a.key.cmp(&b.key)),
            limit,
        ),
        worst: first(
            standings,
            |a, b| result(a).cmp(&result(b)).then_with(|| a.key.cmp(&b.key)),
            limit,
        ),
    }
}

/// Net amount and cost of a product, category, customer or month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Margin {
    pub key: String,
    /// Orders, or units for products and categories.
    pub count: i64,
    pub amount: i64,
    pub cost: i64,
}

impl Margin {
    /// Net amount − cost.
    pub fn margin(&self) -> i64 {
        self.amount.saturating_sub(self.cost)
    }

    /// Margin / net amount; 0 without an amount.
    pub fn rate(&self) -> f64 {
        ratio(self.margin(), self.amount)
    }
}

/// The highest and lowest margins of a grouping.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MarginRanking {
    pub top: Vec<Margin>,
    pub bottom: Vec<Margin>,
}

/// The `limit` highest and `limit` lowest of `margins`; ties by key.
pub fn rank_margins(margins: Vec<Margin>, limit: usize) -> MarginRanking {
    MarginRanking {
        top: first(
            margins.clone(),
            |a, b| b.margin().cmp(&a.margin()).then_with(|| a.key.cmp(&b.key)),
            limit,
        ),
        bottom: first(
            margins,
            |a, b| a.margin().cmp(&b.margin()).then_with(|| a.key.cmp(&b.key)),
            limit,
        ),
    }
}

/// Customers as a deal report counts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Customers {
    /// With an order in the month.
    pub in_month: i64,
    /// With two orders or more in the month.
    pub repeat_in_month: i64,
    /// Whose first order was in the month.
    pub new: i64,
    /// With an order before the month's end.
    pub to_date: i64,
    /// With two orders or more before the month's end.
    pub repeat_to_date: i64,
}

impl Customers {
    /// Those of the month who had ordered before it.
    pub fn returning(&self) -> i64 {
        (self.in_month - self.new).max(0)
    }
}

/// What every report is over: a month in a time zone, and a currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub month: Month,
    pub zone: Zone,
    pub currency: String,
}

impl Period {
    /// The instants the report reads.
    pub fn window(&self) -> Window {
        Window::of(self.month, self.zone)
    }
}

/// The market of a month: its orders, and shares by band (in band order), region and category
/// (largest first).
#[derive(Debug, Clone, PartialEq)]
pub struct MarketReport {
    pub total: Both,
    pub bands: Vec<Share>,
    pub regions: Vec<Share>,
    pub categories: Vec<Share>,
}

/// The deals of a month.
#[derive(Debug, Clone, PartialEq)]
pub struct DealReport {
    pub total: Tally,
    pub customers: Customers,
    /// Orders that close an opportunity.
    pub opportunity_orders: i64,
    /// Figures by band, in band order.
    pub bands: Vec<(String, Figures)>,
    /// Figures by region, largest amount first.
    pub regions: Vec<(String, Figures)>,
}

/// The margins of a month: the whole month's, and the rankings by product, category and
/// customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfitReport {
    pub total: Margin,
    pub products: MarginRanking,
    pub categories: MarginRanking,
    pub customers: MarginRanking,
}

#[cfg(test)]
mod tests {
    use rapport_runtime::clock::HOUR;

    use super::*;
    use crate::domain::order::{Line, Refs};

    #[test]
    fn months_parse_print_and_step() {
        let may = Month::parse("2024-05").unwrap();
        assert_eq!(may.to_string(), "2024-05");
        assert_eq!(may.previous().to_string(), "2024-04");
        assert_eq!(
            Month::parse("2024-01").unwrap().previous().to_string(),
            "2023-12"
        );
        assert_eq!(
            Month::parse("2023-12").unwrap().next().to_string(),
            "2024-01"
        );
        for bad in [
            "2024-5",
            "2024-13",
            "2024-00",
            "0000-01",
            "2024/05",
            "",
            "２０２４-05",
            "+024-05",
            "2024-05-01",
            "-2024-05",
        ] {
            assert!(Month::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn months_start_at_local_midnight() {
        let may = Month::parse("2024-05").unwrap();
        // 2024-05-01T00:00:00Z.
        let utc = 1_714_521_600_000_000;
        assert_eq!(Zone::UTC.month_start(may), utc);
        let shanghai = Zone::parse("Asia/Shanghai").unwrap();
        assert_eq!(shanghai.month_start(may), utc - 8 * HOUR);
        assert_eq!(shanghai.name(), "Asia/Shanghai");
        // New York is on summer time (UTC−4) on 1 May, on winter time (UTC−5) on 1 January.
        let new_york = Zone::parse("America/New_York").unwrap();
        assert_eq!(new_york.month_start(may), utc + 4 * HOUR);
        let january = Month::parse("2024-01").unwrap();
        assert_eq!(
            new_york.month_start(january),
            1_704_067_200_000_000 + 5 * HOUR
        );
        // Asunción moved its clocks from midnight to 01:00 on 1 October 2017: that day had no
        // midnight, and the month starts at 01:00 local time (UTC−3), 04:00Z.
        let asuncion = Zone::parse("America/Asuncion").unwrap();
        let october = Month::parse("2017-10").unwrap();
        assert_eq!(
            asuncion.month_start(october),
            1_506_816_000_000_000 + 4 * HOUR
        );
        assert_eq!(Zone::parse("").unwrap(), Zone::UTC);
        for bad in ["Mars/Olympus", "asia/shanghai", "+08:00", " UTC"] {
            assert!(Zone::parse(bad).is_err(), "{bad}");
        }
        let w = Window::of(may, shanghai);
        assert_eq!(w.start, utc - 8 * HOUR);
        assert_eq!(w.previous, utc - 30 * 24 * HOUR - 8 * HOUR);
        assert_eq!(w.end, utc + 31 * 24 * HOUR - 8 * HOUR);
    }

    #[test]
    fn bands_are_ascending_and_not_negative() {
        let b = Bands::parse(&[0, 500_000, 1_000_000]).unwrap();
        assert_eq!(b.band_of(0), Some(0));
        assert_eq!(b.band_of(499_999), Some(0));
        assert_eq!(b.band_of(500_000), Some(500_000));
        assert_eq!(b.band_of(9_999_999), Some(1_000_000));
        assert_eq!(b.band(500_000), Some((500_000, Some(1_000_000))));
        assert_eq!(b.band(1_000_000), Some((1_000_000, None)));
        assert_eq!(b.band(7), None);
        assert_eq!(Bands::parse(&[100]).unwrap().band_of(99), None);
        let problems = Bands::parse(&[-1, 5, 5, 3]).unwrap_err();
        let at: Vec<Option<usize>> = problems.iter().map(|(i, _)| *i).collect();
        assert_eq!(at, [Some(0), Some(2), Some(3)]);
        assert_eq!(Bands::parse(&[]).unwrap_err()[0].0, None);
        let many: Vec<i64> = (0..21).collect();
        assert_eq!(Bands::parse(&many).unwrap_err()[0].0, None);
    }

    #[test]
    fn allocation_adds_up_and_rounds_down_but_the_last() {
        assert_eq!(allocate(100, &[1, 1, 1]), [33, 33, 34]);
        assert_eq!(allocate(90, &[60, 30]), [60, 30]);
        assert_eq!(allocate(0, &[60, 30]), [0, 0]);
        assert_eq!(allocate(10, &[0, 0]), [0, 10]);
        assert_eq!(allocate(5, &[]), Vec::<i64>::new());
        assert_eq!(
            allocate(i64::MAX, &[i64::MAX, i64::MAX])
                .iter()
                .sum::<i64>(),
            i64::MAX
        );
    }

    fn line(id: &str, quantity: i64, unit_price: i64, unit_cost: i64, discount: i64) -> Line {
        Line {
            id: id.into(),
            sku: id.to_uppercase(),
            quantity,
            discount,
            product_id: Uuid::from_u128(1),
            product_name: id.into(),
            category_id: Uuid::from_u128(2),
            unit_price,
            unit_cost,
            scheduled: 0,
            delivered: 0,
            returned: 0,
            area_milli: None,
        }
    }

    #[test]
    fn facts_count_confirmed_orders_net_of_refunds() {
        let mut o = Order::draft(
            Uuid::from_u128(9),
            "rep-1".into(),
            "north".into(),
            "CNY".into(),
            0,
        );
        o.lines = vec![line("b", 1, 600, 200, 0), line("a", 2, 150, 50, 0)];
        o.order_discount = 100;
        o.refs = Refs {
            region: "Zhejiang".into(),
            opportunity: "opportunities/x".into(),
            ..Refs::default()
        };
        assert_eq!(Facts::of(&o), None, "a draft does not count");
        o.state = State::Confirmed;
        o.confirm_time = Some(42);
        o.refunded = 200;
        let f = Facts::of(&o).unwrap();
        // Total 900 − 100 = 800, less 200 refunded: 600, split 600 : 300 → 400 and 200.
        assert_eq!(f.order.net_total, 600);
        assert_eq!(f.order.cost, 300);
        assert!(f.order.from_opportunity);
        assert_eq!(f.order.confirm_time, 42);
        let lines: Vec<(&str, i64, i64)> = f
            .lines
            .iter()
            .map(|l| (l.line_id.as_str(), l.net_amount, l.cost))
            .collect();
        // Sorted by line id; "a" is the last line of the order and takes the remainder.
        assert_eq!(lines, [("a", 200, 100), ("b", 400, 200)]);
        o.state = State::Delivered;
        assert!(Facts::of(&o).is_some());
        o.state = State::Cancelled;
        assert_eq!(Facts::of(&o), None);
    }

    #[test]
    fn figures_shares_and_shifts() {
        assert_eq!(average(10, 4), 3);
        assert_eq!(average(10, 3), 3);
        assert_eq!(average(-10, 4), -3);
        assert_eq!(average(5, 0), 0);
        assert_eq!(ratio(1, 0), 0.0);
        let whole = Both {
            current: Tally {
                count: 4,
                amount: 1000,
            },
            previous: Tally {
                count: 2,
                amount: 400,
            },
        };
        let part = Both {
            current: Tally {
                count: 1,
                amount: 300,
            },
            previous: Tally {
                count: 1,
                amount: 100,
            },
        };
        let s = &shares(vec![("x".into(), part)], whole)[0];
        assert_eq!(s.current.amount_share, 0.3);
        assert_eq!(s.previous.amount_share, 0.25);
        assert!((s.amount_shift - 5.0).abs() < 1e-9);
        assert!((s.count_shift + 25.0).abs() < 1e-9);
        assert_eq!(s.current.average, 300);
        let mut list = shares(
            vec![
                ("b".into(), part),
                ("a".into(), part),
                ("c".into(), Both::default()),
            ],
            whole,
        );
        largest_first(&mut list);
        let keys: Vec<&str> = list.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(keys, ["a", "b", "c"]);
    }

    fn standing(key: &str, count: i64, amount: i64, previous: i64) -> Standing {
        Standing {
            key: key.into(),
            sales: Both {
                current: Tally { count, amount },
                previous: Tally {
                    count: i64::from(previous > 0),
                    amount: previous,
                },
            },
        }
    }

    #[test]
    fn boards_rank_best_worst_and_rising() {
        let board = rank(
            vec![
                standing("reps/a", 2, 500, 100),
                standing("reps/b", 1, 900, 1000),
                standing("reps/c", 0, 0, 300),
                standing("reps/e", 1, 500, 0),
            ],
            10,
        );
        let keys = |v: &[Standing]| v.iter().map(|s| s.key.clone()).collect::<Vec<_>>();
        assert_eq!(keys(&board.best), ["reps/b", "reps/a", "reps/e"]);
        assert_eq!(keys(&board.worst), ["reps/c", "reps/e", "reps/a", "reps/b"]);
        assert_eq!(keys(&board.rising), ["reps/e", "reps/a"]);
        let short = rank(vec![standing("x", 1, 1, 0), standing("y", 1, 2, 0)], 1);
        assert_eq!(keys(&short.best), ["y"]);
        assert_eq!(keys(&short.worst), ["x"]);
    }

    #[test]
    fn margins_rank_both_ways() {
        let m = |key: &str, amount: i64, cost: i64| Margin {
            key: key.into(),
            count: 1,
            amount,
            cost,
        };
        assert_eq!(m("x", 1000, 700).rate(), 0.3);
        assert_eq!(m("x", 0, 700).rate(), 0.0);
        assert_eq!(m("x", 100, 300).rate(), -2.0);
        let r = rank_margins(vec![m("a", 100, 50), m("b", 100, 90), m("c", 100, 10)], 2);
        let keys = |v: &[Margin]| v.iter().map(|m| m.key.clone()).collect::<Vec<_>>();
        assert_eq!(keys(&r.top), ["c", "a"]);
        assert_eq!(keys(&r.bottom), ["b", "a"]);
        let c = Customers {
            in_month: 3,
            new: 1,
            ..Customers::default()
        };
        assert_eq!(c.returning(), 2);
    }
}
