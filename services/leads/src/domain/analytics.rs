//! Sales analytics (LE12), the arithmetic without the I/O: calendar months, funnels with
//! conversion and median dwell, leaderboards and the weighted forecast.
//!
//! Dwell times are counted in whole hours ([`DWELL_BUCKET`]): a funnel's median dwell is exact
//! over dwells rounded down to the hour, which lets the funnel read small per-hour counts
//! (kept in the same transaction as every stage change) instead of every stage change.

use std::collections::BTreeMap;

use rapport_runtime::clock::{HOUR, Micros, to_datetime};

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

    /// The first month that starts at or after `t`.
    pub fn starting_at_or_after(t: Micros) -> Month {
        let m = Month::of(t);
        if m.start() == t { m } else { m.next() }
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (y, m) = self.year_month();
        write!(f, "{y:04}-{m:02}")
    }
}

/// How a window of opportunity creation times is answered: whole months from the counts kept
/// per month, corrected at either end by counting the stage changes of a partial month, added
/// when the window starts (or ends) inside a month, or subtracted when it is shorter to count
/// the part of a month the window leaves out (a month in UTC+8 is a UTC month minus eight
/// hours at one end plus eight at the other).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowSplit {
    /// Whole months `[first, end)`, if any.
    pub months: Option<(Month, Month)>,
    /// Time ranges `[from, to)` to count on top of the months.
    pub add: Vec<(Micros, Micros)>,
    /// Time ranges `[from, to)` the months cover but the window does not.
    pub subtract: Vec<(Micros, Micros)>,
}

/// Months far outside any real time, for open ends.
const NO_START: Month = Month(i64::MIN / 2);
const NO_END: Month = Month(i64::MAX / 2);

/// Splits `[start, end)` (either open) into whole months and the corrections at its ends,
/// choosing at each end whichever partial month is shorter to count.
pub fn split_window(start: Option<Micros>, end: Option<Micros>) -> WindowSplit {
    let mut out = WindowSplit {
        months: None,
        add: Vec::new(),
        subtract: Vec::new(),
    };
    if let (Some(s), Some(e)) = (start, end)
        && s >= e
    {
        return out;
    }
    let (first, start_edge) = match start {
        None => (NO_START, None),
        Some(s) => {
            let m = Month::of(s);
            let (into, rest) = (s - m.start(), m.next().start() - s);
            if into == 0 {
                (m, None)
            } else if rest <= into {
                (m.next(), Some((true, (s, m.next().start()))))
            } else {
                (m, Some((false, (m.start(), s))))
            }
        }
    };
    let (last, end_edge) = match end {
        None => (NO_END, None),
        Some(e) => {
            let m = Month::of(e);
            let (into, rest) = (e - m.start(), m.next().start() - e);
            if into == 0 {
                (m, None)
            } else if into <= rest {
                (m, Some((true, (m.start(), e))))
            } else {
                (m.next(), Some((false, (e, m.next().start()))))
            }
        }
    };
    if first >= last {
        // Within about a month: count the window itself.
        if let (Some(s), Some(e)) = (start, end) {
            out.add.push((s, e));
        }
        return out;
    }
    out.months = Some((first, last));
    for (adds, range) in [start_edge, end_edge].into_iter().flatten() {
        if adds {
            out.add.push(range);
        } else {
            out.subtract.push(range);
        }
    }
    out
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

    #[test]
    fn windows_split_into_whole_months_and_corrections() {
        let may = Month::parse("2024-05").unwrap();
        let jul = Month::parse("2024-07").unwrap();
        let split = |s, e| split_window(s, e);
        // Aligned: only whole months.
        let w = split(Some(may.start()), Some(jul.start()));
        assert_eq!(w.months, Some((may, jul)));
        assert!(w.add.is_empty() && w.subtract.is_empty());
        // A day into May to two days into July: May less its first day, plus July's two.
        let (s, e) = (may.start() + DAY, jul.start() + 2 * DAY);
        let w = split(Some(s), Some(e));
        assert_eq!(w.months, Some((may, jul)));
        assert_eq!(w.add, [(jul.start(), e)]);
        assert_eq!(w.subtract, [(may.start(), s)]);
        // From late May: add its end rather than subtract most of it.
        let s = may.start() + 25 * DAY;
        let w = split(Some(s), Some(jul.start()));
        assert_eq!(w.months, Some((may.next(), jul)));
        assert_eq!(w.add, [(s, may.next().start())]);
        // May in UTC+8: all of May, plus eight hours of April, less eight hours of May.
        let (s, e) = (may.start() - 8 * HOUR, may.next().start() - 8 * HOUR);
        let w = split(Some(s), Some(e));
        assert_eq!(w.months, Some((may, may.next())));
        assert_eq!(w.add, [(s, may.start())]);
        assert_eq!(w.subtract, [(e, may.next().start())]);
        // Inside one month: the window itself.
        let s = may.start() + DAY;
        let w = split(Some(s), Some(s + DAY));
        assert_eq!(
            (w.months, w.add, w.subtract.len()),
            (None, vec![(s, s + DAY)], 0)
        );
        // Open ends.
        let w = split(None, Some(jul.start() + 2 * DAY));
        assert_eq!(w.months.map(|m| m.1), Some(jul));
        assert_eq!(w.add, [(jul.start(), jul.start() + 2 * DAY)]);
        let w = split(Some(may.start() + 5 * DAY), None);
        assert_eq!(w.months.map(|m| m.0), Some(may));
        assert_eq!(w.subtract, [(may.start(), may.start() + 5 * DAY)]);
        assert_eq!(split(None, None).months.map(|m| m.0 < may), Some(true));
        // Empty.
        let w = split(Some(jul.start()), Some(may.start()));
        assert_eq!((w.months, w.add.len(), w.subtract.len()), (None, 0, 0));
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
