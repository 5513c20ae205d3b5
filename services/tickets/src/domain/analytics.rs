//! Ticket analytics (TK7), the arithmetic without the I/O: the range of a report in a time
//! zone, the period a creation time falls in, and percentiles read off a histogram.

use chrono::{Datelike, LocalResult, NaiveDate, TimeZone};
use chrono_tz::Tz;
use rapport_runtime::clock::Micros;

/// Most days a report covers.
pub const MAX_DAYS: i64 = 366;
/// Width of the buckets creation times are counted in before they are put in periods: a
/// quarter hour, so zones offset by 30 or 45 minutes still land in the right day.
pub const BUCKET: Micros = 15 * 60 * 1_000_000;

/// The length of a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Day,
    Week,
    Month,
}

/// The zone named `name`; UTC when empty.
pub fn zone(name: &str) -> Result<Tz, String> {
    if name.is_empty() {
        return Ok(Tz::UTC);
    }
    name.parse::<Tz>()
        .map_err(|_| format!("{name:?} is not an IANA time zone"))
}

/// The instant local midnight of `day` begins in `tz` (the first instant of the day when a
/// transition skips midnight).
pub fn day_start(tz: Tz, day: NaiveDate) -> Micros {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    let at = match tz.from_local_datetime(&midnight) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t,
        LocalResult::None => {
            let later = midnight + chrono::TimeDelta::hours(1);
            match tz.from_local_datetime(&later) {
                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t,
                LocalResult::None => tz.from_utc_datetime(&midnight),
            }
        }
    };
    at.timestamp_micros()
}

/// The [start, end) instants of the days `first..=last` in `tz`.
pub fn range(tz: Tz, first: NaiveDate, last: NaiveDate) -> (Micros, Micros) {
    let end = last.succ_opt().unwrap_or(last);
    (day_start(tz, first), day_start(tz, end))
}

/// The first day of the period `t` falls in, in `tz`.
pub fn period_of(tz: Tz, t: Micros, period: Period) -> NaiveDate {
    let local = tz
        .timestamp_micros(t)
        .single()
        .map(|d| d.date_naive())
        .unwrap_or_default();
    match period {
        Period::Day => local,
        Period::Week => {
            local - chrono::TimeDelta::days(i64::from(local.weekday().num_days_from_monday()))
        }
        Period::Month => local.with_day(1).unwrap_or(local),
    }
}

/// The value at quantile `q` (0..1) of a histogram of (bucket, count) sorted by bucket: the
/// bucket holding it and its rank inside the bucket (0-based), for the caller to read the
/// exact value; None when empty. Nearest rank: the value below which `q` of the values lie.
pub fn locate(histogram: &[(i64, i64)], q: f64) -> Option<(i64, i64)> {
    let total: i64 = histogram.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return None;
    }
    let rank = ((q * total as f64).ceil() as i64).clamp(1, total) - 1;
    let mut seen = 0;
    for (bucket, n) in histogram {
        if rank < seen + n {
            return Some((*bucket, rank - seen));
        }
        seen += n;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_located_by_nearest_rank() {
        let h = [(0, 5), (1, 3), (4, 2)];
        assert_eq!(locate(&h, 0.5), Some((0, 4)));
        assert_eq!(locate(&h, 0.6), Some((1, 0)));
        assert_eq!(locate(&h, 0.9), Some((4, 0)));
        assert_eq!(locate(&[], 0.5), None);
    }

    #[test]
    fn periods_follow_the_zone() {
        let tz = zone("Asia/Shanghai").unwrap();
        let d = NaiveDate::from_ymd_opt(2026, 10, 7).unwrap();
        let (start, end) = range(tz, d, d);
        assert_eq!(end - start, 86_400_000_000);
        // 16:30 UTC on the 6th is 00:30 on the 7th in Shanghai.
        assert_eq!(period_of(tz, start + 1, Period::Day), d);
        assert_eq!(
            period_of(tz, start, Period::Week),
            NaiveDate::from_ymd_opt(2026, 10, 5).unwrap()
        );
        assert_eq!(
            period_of(tz, start, Period::Month),
            NaiveDate::from_ymd_opt(2026, 10, 1).unwrap()
        );
        assert!(zone("Mars/Base").is_err());
    }
}
