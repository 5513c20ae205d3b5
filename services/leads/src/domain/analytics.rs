//! Sales analytics (LE12), the arithmetic without the I/O: calendar months, funnels with
//! conversion and median dwell, leaderboards and the weighted forecast.
//!
//! Dwell times are counted in whole hours ([`DWELL_BUCKET`]): a funnel's median dwell is exact
//! over dwells rounded down to the hour, which lets the funnel read small per-hour counts
//! (kept in the same transaction as every stage change) instead of every stage change.

use std::collections::BTreeMap;

use rapport_runtime::clock::{DAY, HOUR, Micros, to_datetime};

/// The resolution of dwell times in funnels: medians are exact over dwells rounded down to it.
pub const DWELL_BUCKET: Micros = HOUR;

/// The bucket of a dwell: whole [`DWELL_BUCKET`]s, never negative.
pub fn dwell_bucket(dwell: Micros) -> i64 {
    dwell.max(0) / DWELL_BUCKET
}

/// A calendar month in UTC, counted from January 1970 (negative before).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month(pub i64);

impl Month {
    /// The month of `"YYYY-MM"` (years 1..9999).
    pub fn parse(s: &str) -> Result<Month, String> {
        let bad = || format!("{s:?} must be a month written YYYY-MM, e.g. \"2024-05\"");
        let b = s.as_bytes();
        if b.len() != 7 || b[4] != b'-' {
            return Err(bad());
        }
        let digits = |r: std::ops::Range<usize>| -> Option<i64> {
            b[r.clone()]
                .iter()
                .all(u8::is_ascii_digit)
                .then(|| s[r].parse().ok())
                .flatten()
        };
        match (digits(0..4), digits(5..7)) {
            (Some(y), Some(m)) if (1..=9999).contains(&y) && (1..=12).contains(&m) => {
                Ok(Month((y - 1970) * 12 + m - 1))
            }
            _ => Err(bad()),
        }
    }

    /// The month `t` falls in.
    pub fn of(t: Micros) -> Month {
        let d = to_datetime(t);
        Month((i64::from(d.year()) - 1970) * 12 + i64::from(u8::from(d.month())) - 1)
    }

    /// The year and month (1..=12).
    pub fn year_month(self) -> (i64, i64) {
        (1970 + self.0.div_euclid(12), self.0.rem_euclid(12) + 1)
    }

    /// Its first instant.
    pub fn start(self) -> Micros {
        let (y, m) = self.year_month();
        let date = time::Date::from_calendar_date(
            y as i32,
            time::Month::try_from(m as u8).unwrap_or(time::Month::January),
            1,
        )
        .unwrap_or(time::Date::MIN);
        let secs = date.midnight().assume_utc().unix_timestamp();
        secs * 1_000_000
    }

    /// The month after.
    pub fn next(self) -> Month {
        Month(self.0 + 1)
    }

    /// The month before.
    pub fn prev(self) -> Month {
        Month(self.0 - 1)
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (y, m) = self.year_month();
        write!(f, "{y:04}-{m:02}")
    }
}

/// How finely a part of a window is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Grain {
    /// Whole UTC months, from the counts kept per month; `from`/`to` are [`Month`] numbers.
    Month,
    /// Whole UTC days, from the counts kept per day; `from`/`to` are days since 1970-01-01.
    Day,
    /// Straight from the stage changes; `from`/`to` are times.
    Raw,
}

impl Grain {
    /// The stored name of a kept grain.
    pub fn as_str(self) -> &'static str {
        match self {
            Grain::Month => "month",
            Grain::Day => "day",
            Grain::Raw => "raw",
        }
    }
}

/// One part of a window: opportunities created in `[from, to)` at `grain`, added (`sign` 1) or
/// subtracted (-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    pub grain: Grain,
    pub from: i64,
    pub to: i64,
    pub sign: i64,
}

/// Months far outside any real time, for open ends.
const NO_START: i64 = i64::MIN / 2;
const NO_END: i64 = i64::MAX / 2;

/// The day a time falls in, counted from 1970-01-01 (UTC).
pub fn day_of(t: Micros) -> i64 {
    t.div_euclid(DAY)
}

/// Splits the window `[start, end)` (either open) of opportunity creation times into parts
/// whose counts sum to the window's: with P(x) the counts of everything created before x,
/// the window is P(end) − P(start), and P(x) is the months before the month boundary nearest
/// x, plus or minus the whole days between that boundary and the day boundary nearest x, plus
/// or minus the stage changes between that day boundary and x. So any window, a month in
/// UTC+8 or the last 30 days, reads at most a month of day counts and a day of stage changes
/// besides its months. Counts are additive (first entries, histogram buckets), so subtracting
/// is exact.
pub fn split_window(start: Option<Micros>, end: Option<Micros>) -> Vec<Part> {
    if let (Some(s), Some(e)) = (start, end)
        && s >= e
    {
        return Vec::new();
    }
    let mut parts = Vec::new();
    let months_from = start.map_or(NO_START, |s| nearest_month(s).0);
    let months_to = end.map_or(NO_END, |e| nearest_month(e).0);
    if months_from != months_to {
        parts.push(signed(Grain::Month, months_from, months_to, 1));
    }
    for (x, sign) in [(end, 1), (start, -1)] {
        let Some(x) = x else { continue };
        let month = nearest_month(x).start();
        let day = nearest_day(x);
        if day != month {
            parts.push(signed(Grain::Day, day_of(month), day_of(day), sign));
        }
        if x != day {
            parts.push(signed(Grain::Raw, day, x, sign));
        }
    }
    parts
}

/// The part counting from `a` to `b` with `sign`, as an ascending range.
fn signed(grain: Grain, a: i64, b: i64, sign: i64) -> Part {
    if a <= b {
        Part {
            grain,
            from: a,
            to: b,
            sign,
        }
    } else {
        Part {
            grain,
            from: b,
            to: a,
            sign: -sign,
        }
    }
}

/// The month starting at the month boundary nearest `t`.
fn nearest_month(t: Micros) -> Month {
    let m = Month::of(t);
    if t - m.start() <= m.next().start() - t {
        m
    } else {
        m.next()
    }
}

/// The day boundary nearest `t`.
fn nearest_day(t: Micros) -> Micros {
    let floor = day_of(t) * DAY;
    if t - floor <= floor + DAY - t {
        floor
    } else {
        floor + DAY
    }
}

/// The figures of one stage in one group: how many reached it, and how many left it after each
/// whole number of [`DWELL_BUCKET`]s, as (bucket, count) pairs in any order, possibly repeated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StageCounts {
    pub reached: i64,
    pub dwell: Vec<(i64, i64)>,
}

impl StageCounts {
    /// Adds `n` departures after `bucket` whole buckets.
    pub fn add_dwell(&mut self, bucket: i64, n: i64) {
        self.dwell.push((bucket, n));
    }
}

/// The median of the dwells counted in `dwell` ((bucket, count) pairs in any order, parts of a
/// bucket added up, negative parts subtracted; sorted here), in
/// microseconds: the middle value, or the mean of the two middle ones for an even count, as
/// SQL's `percentile_cont(0.5)` would give over the same rounded values. `None` when nobody
/// left the stage.
pub fn median_dwell(dwell: &mut [(i64, i64)]) -> Option<Micros> {
    dwell.sort_unstable();
    // Parts of one bucket (months, subtracted edges) add up; what nets to nothing is skipped.
    let mut merged: Vec<(i64, i64)> = Vec::with_capacity(dwell.len());
    for &(bucket, count) in dwell.iter() {
        match merged.last_mut() {
            Some(last) if last.0 == bucket => last.1 += count,
            _ => merged.push((bucket, count)),
        }
    }
    merged.retain(|(_, count)| *count > 0);
    let n: i64 = merged.iter().map(|(_, c)| c).sum();
    if n <= 0 {
        return None;
    }
    let (lo_rank, hi_rank) = ((n - 1) / 2, n / 2);
    let (mut lo, mut hi) = (None, None);
    let mut seen = 0;
    for &(bucket, count) in &merged {
        let next = seen + count;
        if lo.is_none() && lo_rank < next {
            lo = Some(bucket);
        }
        if hi_rank < next {
            hi = Some(bucket);
            break;
        }
        seen = next;
    }
    let (lo, hi) = (lo?, hi?);
    Some((lo + hi) * DWELL_BUCKET / 2)
}

/// A sparse histogram as stored: `"bucket:count"` pairs in ascending buckets, comma-separated.
pub fn parse_histogram(text: &str) -> Result<Vec<(i64, i64)>, String> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|pair| {
            pair.split_once(':')
                .and_then(|(b, c)| Some((b.parse().ok()?, c.parse().ok()?)))
                .ok_or_else(|| format!("bad histogram entry {pair:?}"))
        })
        .collect()
}

/// `text` (a stored histogram) with one more departure after `bucket`.
pub fn add_to_histogram(text: &str, bucket: i64) -> Result<String, String> {
    let mut pairs = parse_histogram(text)?;
    match pairs.binary_search_by_key(&bucket, |(b, _)| *b) {
        Ok(i) => pairs[i].1 += 1,
        Err(i) => pairs.insert(i, (bucket, 1)),
    }
    Ok(pairs
        .iter()
        .map(|(b, c)| format!("{b}:{c}"))
        .collect::<Vec<_>>()
        .join(","))
}

/// `reached / previous`, 0..1; 0 when nothing reached the previous stage.
pub fn conversion(reached: i64, previous: i64) -> f64 {
    if previous <= 0 {
        0.0
    } else {
        reached as f64 / previous as f64
    }
}

/// One stage of a computed funnel.
#[derive(Debug, Clone, PartialEq)]
pub struct FunnelStage {
    pub stage: String,
    pub reached: i64,
    pub conversion: f64,
    pub median_dwell: Option<Micros>,
}

/// The funnel over `stages` (in pipeline order) from the counts of one group.
pub fn funnel(stages: &[String], mut counts: BTreeMap<String, StageCounts>) -> Vec<FunnelStage> {
    let mut previous = None;
    stages
        .iter()
        .map(|stage| {
            let mut c = counts.remove(stage).unwrap_or_default();
            let out = FunnelStage {
                stage: stage.clone(),
                reached: c.reached,
                conversion: match previous {
                    None => 1.0,
                    Some(p) => conversion(c.reached, p),
                },
                median_dwell: median_dwell(&mut c.dwell),
            };
            previous = Some(c.reached);
            out
        })
        .collect()
}

/// A rep's or team's results in a month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    pub key: String,
    /// Deals won in the month, in any currency.
    pub won_count: i64,
    /// Amount won in the month, in the board's currency.
    pub won_amount: i64,
    /// Amount won in the month before.
    pub previous_amount: i64,
}

/// The three lists of a leaderboard.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Board {
    pub best: Vec<Standing>,
    pub worst: Vec<Standing>,
    pub rising: Vec<Standing>,
}

/// Ranks `standings` (everyone with an open opportunity or a deal won in either month):
/// best by amount won then count, among those who won; worst by the same measure, lowest first,
/// among those with an open opportunity or a deal won this month; rising by the rise in amount
/// against the previous month, among those who rose. Ties go by key, so lists are stable.
pub fn rank(standings: Vec<Standing>, active: &[String], limit: usize) -> Board {
    let by_result = |a: &Standing, b: &Standing| {
        (b.won_amount, b.won_count)
            .cmp(&(a.won_amount, a.won_count))
            .then_with(|| a.key.cmp(&b.key))
    };
    let mut best: Vec<Standing> = standings
        .iter()
        .filter(|s| s.won_count > 0)
        .cloned()
        .collect();
    best.sort_by(by_result);
    best.truncate(limit);
    let mut worst: Vec<Standing> = standings
        .iter()
        .filter(|s| s.won_count > 0 || active.contains(&s.key))
        .cloned()
        .collect();
    worst.sort_by(|a, b| {
        (a.won_amount, a.won_count)
            .cmp(&(b.won_amount, b.won_count))
            .then_with(|| a.key.cmp(&b.key))
    });
    worst.truncate(limit);
    let rise = |s: &Standing| i128::from(s.won_amount) - i128::from(s.previous_amount);
    let mut rising: Vec<Standing> = standings.into_iter().filter(|s| rise(s) > 0).collect();
    rising.sort_by(|a, b| rise(b).cmp(&rise(a)).then_with(|| a.key.cmp(&b.key)));
    rising.truncate(limit);
    Board {
        best,
        worst,
        rising,
    }
}

/// Amount × win probability: `parts` are (amount, percent) pairs; the sum is rounded half up
/// to a whole minor unit once, at the end, so splitting a sum never changes it.
pub fn weighted(parts: &[(i64, i32)]) -> i64 {
    let total: i128 = parts
        .iter()
        .map(|(amount, p)| i128::from(*amount) * i128::from(*p))
        .sum();
    i64::try_from((total + 50).div_euclid(100)).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use rapport_runtime::clock::DAY;

    use super::*;

    fn hist(pairs: &[(i64, i64)]) -> Vec<(i64, i64)> {
        pairs.to_vec()
    }

    #[test]
    fn months_parse_print_and_count() {
        let m = Month::parse("2024-05").unwrap();
        assert_eq!(m.to_string(), "2024-05");
        assert_eq!(m.prev().to_string(), "2024-04");
        assert_eq!(
            Month::parse("2024-01").unwrap().prev().to_string(),
            "2023-12"
        );
        assert_eq!(
            Month::parse("2023-12").unwrap().next().to_string(),
            "2024-01"
        );
        assert_eq!(Month::parse("1969-12").unwrap(), Month(-1));
        assert_eq!(Month(-1).start(), -31 * DAY);
        assert_eq!(Month::of(m.start()), m);
        assert_eq!(Month::of(m.start() - 1), m.prev());
        assert_eq!(Month::of(m.next().start() - 1), m);
        // 2024-05-01T00:00:00Z
        assert_eq!(m.start(), 1_714_521_600_000_000);
        for bad in [
            "2024-5",
            "2024-13",
            "0000-01",
            "2024/05",
            "",
            "２０２４-05",
            "+024-05",
        ] {
            assert!(Month::parse(bad).is_err(), "{bad}");
        }
    }

    /// The creation times a split counts, as signed unit intervals, to compare splits with
    /// the windows they stand for (at minute resolution over a few months).
    fn coverage(parts: &[Part], lo: Micros, hi: Micros) -> Vec<i64> {
        const STEP: Micros = 60_000_000;
        let mut out = vec![0; ((hi - lo) / STEP) as usize];
        for p in parts {
            let (from, to) = match p.grain {
                Grain::Month => {
                    let (first, last) = (Month::of(lo).prev().0, Month::of(hi).next().0);
                    (
                        Month(p.from.clamp(first, last)).start(),
                        Month(p.to.clamp(first, last)).start(),
                    )
                }
                Grain::Day => (p.from * DAY, p.to * DAY),
                Grain::Raw => (p.from, p.to),
            };
            for (i, c) in out.iter_mut().enumerate() {
                let t = lo + i as i64 * STEP;
                if from <= t && t < to {
                    *c += p.sign;
                }
            }
        }
        out
    }

    #[test]
    fn windows_split_into_months_days_and_moments() {
        let may = Month::parse("2024-05").unwrap().start();
        let (lo, hi) = (may - 40 * DAY, may + 80 * DAY);
        let windows = [
            (Some(may), Some(may + 61 * DAY)),
            (Some(may - 8 * HOUR), Some(may + 31 * DAY - 8 * HOUR)),
            (Some(may + 90 * 60_000_000), Some(may + 31 * DAY + 6 * HOUR)),
            (
                Some(may + 3 * DAY + 7 * HOUR),
                Some(may + 9 * DAY + 13 * HOUR),
            ),
            (Some(may + 20 * DAY), None),
            (None, Some(may + 45 * DAY + HOUR)),
            (None, None),
            (
                Some(may - 17 * DAY - 5 * HOUR),
                Some(may + 47 * DAY + 11 * HOUR),
            ),
        ];
        for (s, e) in windows {
            let parts = split_window(s, e);
            let want: Vec<i64> = coverage(
                &[Part {
                    grain: Grain::Raw,
                    from: s.unwrap_or(lo - DAY),
                    to: e.unwrap_or(hi + DAY),
                    sign: 1,
                }],
                lo,
                hi,
            );
            assert_eq!(coverage(&parts, lo, hi), want, "{s:?}..{e:?}: {parts:?}");
            // Never more than a day of stage changes at each end.
            for p in parts.iter().filter(|p| p.grain == Grain::Raw) {
                assert!(p.to - p.from <= DAY / 2, "{p:?}");
            }
        }
        // Aligned months are months alone.
        let may_m = Month::parse("2024-05").unwrap();
        assert_eq!(
            split_window(Some(may), Some(may_m.next().start())),
            [Part {
                grain: Grain::Month,
                from: may_m.0,
                to: may_m.next().0,
                sign: 1
            }]
        );
        // A month in UTC+8: the month, plus 8 hours before it, less its last 8 hours.
        let parts = split_window(Some(may - 8 * HOUR), Some(may_m.next().start() - 8 * HOUR));
        assert_eq!(parts.len(), 3);
        assert!(parts.iter().all(|p| p.grain != Grain::Day));
        assert!(split_window(Some(may), Some(may)).is_empty());
    }

    #[test]
    fn medians_over_hour_buckets() {
        assert_eq!(median_dwell(&mut hist(&[])), None);
        assert_eq!(median_dwell(&mut hist(&[(5, 1)])), Some(5 * HOUR));
        // 1, 2, 9 → 2
        assert_eq!(
            median_dwell(&mut hist(&[(1, 1), (2, 1), (9, 1)])),
            Some(2 * HOUR)
        );
        // 1, 2 → 1.5
        assert_eq!(
            median_dwell(&mut hist(&[(1, 1), (2, 1)])),
            Some(3 * HOUR / 2)
        );
        // 3, 3, 3, 8 → 3
        assert_eq!(median_dwell(&mut hist(&[(3, 3), (8, 1)])), Some(3 * HOUR));
        // Unsorted, and one bucket counted in two parts: 3, 3, 3, 8 → 3.
        assert_eq!(
            median_dwell(&mut hist(&[(8, 1), (3, 2), (3, 1)])),
            Some(3 * HOUR)
        );
        // Subtracted parts: 1, 2, 9 less one 9 → 1.5; a bucket netting to nothing is gone.
        assert_eq!(
            median_dwell(&mut hist(&[(1, 1), (9, 1), (2, 1), (9, -1)])),
            Some(3 * HOUR / 2)
        );
        assert_eq!(median_dwell(&mut hist(&[(4, 2), (4, -2)])), None);
        // 0, 0, 10, 10 → 5
        assert_eq!(median_dwell(&mut hist(&[(0, 2), (10, 2)])), Some(5 * HOUR));
        assert_eq!(dwell_bucket(2 * HOUR - 1), 1);
        assert_eq!(dwell_bucket(-5), 0);
    }

    #[test]
    fn funnels_convert_stage_to_stage() {
        let stages: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let mut counts = BTreeMap::new();
        counts.insert(
            "a".to_owned(),
            StageCounts {
                reached: 4,
                dwell: hist(&[(24, 2)]),
            },
        );
        counts.insert(
            "b".to_owned(),
            StageCounts {
                reached: 2,
                dwell: Vec::new(),
            },
        );
        let f = funnel(&stages, counts);
        assert_eq!(f[0].conversion, 1.0);
        assert_eq!(f[0].median_dwell, Some(DAY));
        assert_eq!((f[1].reached, f[1].conversion), (2, 0.5));
        assert_eq!(
            (f[2].reached, f[2].conversion, f[2].median_dwell),
            (0, 0.0, None)
        );
        assert_eq!(conversion(3, 0), 0.0);
    }

    #[test]
    fn histograms_round_trip_as_text() {
        assert_eq!(parse_histogram(""), Ok(vec![]));
        let one = add_to_histogram("", 24).unwrap();
        assert_eq!(one, "24:1");
        let more = add_to_histogram(&add_to_histogram(&one, 3).unwrap(), 24).unwrap();
        assert_eq!(more, "3:1,24:2");
        assert_eq!(parse_histogram(&more), Ok(vec![(3, 1), (24, 2)]));
        assert!(parse_histogram("3:x").is_err());
        assert!(add_to_histogram("nonsense", 1).is_err());
    }

    fn standing(key: &str, won_count: i64, won_amount: i64, previous_amount: i64) -> Standing {
        Standing {
            key: key.into(),
            won_count,
            won_amount,
            previous_amount,
        }
    }

    #[test]
    fn boards_rank_best_worst_and_rising() {
        let all = vec![
            standing("reps/a", 2, 500, 100),
            standing("reps/b", 1, 900, 1000),
            standing("reps/c", 0, 0, 300),
            standing("reps/d", 0, 0, 0),
            standing("reps/e", 1, 500, 0),
        ];
        let active = vec!["reps/d".to_owned()];
        let board = rank(all, &active, 10);
        let keys = |v: &[Standing]| v.iter().map(|s| s.key.clone()).collect::<Vec<_>>();
        assert_eq!(keys(&board.best), ["reps/b", "reps/a", "reps/e"]);
        // c only won last month and has nothing open: not on the worst list.
        assert_eq!(keys(&board.worst), ["reps/d", "reps/e", "reps/a", "reps/b"]);
        assert_eq!(keys(&board.rising), ["reps/e", "reps/a"]);
        let short = rank(vec![standing("x", 1, 1, 0), standing("y", 1, 2, 0)], &[], 1);
        assert_eq!(keys(&short.best), ["y"]);
    }

    #[test]
    fn weighting_rounds_once() {
        assert_eq!(weighted(&[]), 0);
        assert_eq!(weighted(&[(1000, 25)]), 250);
        // 0.5 + 0.5 = 1, not 0 + 0.
        assert_eq!(weighted(&[(1, 50), (1, 50)]), 1);
        assert_eq!(weighted(&[(3, 50)]), 2);
        assert_eq!(weighted(&[(i64::MAX, 100), (i64::MAX, 100)]), i64::MAX);
    }
}
