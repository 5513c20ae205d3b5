//! Business-hours calendars for service-level deadlines.
//!
//! SLA clocks only run while the support team works, so a deadline is found by
//! adding *working* time to an instant rather than wall-clock time. A calendar
//! describes that working time in the tenant's local terms (weekly hours,
//! holidays, make-up working days) and this module maps it onto UTC instants.
//!
//! Local days are mapped through the calendar's time zone, and working time is
//! always real elapsed time: an interval that spans a spring-forward gap is
//! shorter by the skipped hour and one that spans a fall-back overlap is longer
//! by the repeated hour. A local time is mapped to the earliest instant at which
//! the wall clock reads that time or later, which means:
//! - an ambiguous local time maps to its first occurrence;
//! - a local time skipped by a gap maps to the instant the gap ends.
//!
//! Hence an interval lying entirely inside a gap contributes nothing, and one
//! lying entirely inside a repeated hour is open during its first pass only.

use std::collections::BTreeSet;

use chrono::{
    DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone,
};
use chrono_tz::Tz;

/// An instant as microseconds since the Unix epoch (UTC), or a duration in microseconds.
pub type Micros = i64;

const MINUTES_PER_DAY: u16 = 24 * 60;

/// How far ahead (or back) a deadline is searched for before concluding there is none.
/// Ten years covers any realistic SLA budget and keeps a calendar whose working time
/// has run out (only past make-up days) from scanning indefinitely.
const HORIZON_DAYS: usize = 10 * 366;

/// Longest run of nonexistent local time tolerated when resolving a gap; whole skipped
/// days (a zone moving across the date line) are the largest seen in practice.
const MAX_GAP_HOURS: i64 = 48;

/// Bounds within which instants are mapped to local dates; they keep every date
/// computation (including the ten-year horizon) clear of chrono's limits.
const MIN_INSTANT: Micros = -6_000_000_000_000_000_000;
const MAX_INSTANT: Micros = 6_000_000_000_000_000_000;

/// A working interval of a day, in minutes after local midnight: [start, end).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Interval {
    pub start: u16,
    pub end: u16,
}

/// When a tenant's support team works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    time_zone: Tz,
    /// Monday = 0 … Sunday = 6; each sorted, non-overlapping, non-touching.
    week: [Vec<Interval>; 7],
    /// Closed all day, whatever the weekday.
    holidays: BTreeSet<NaiveDate>,
    /// Make-up working days (e.g. a weekend worked in exchange for a public holiday).
    extra_days: BTreeSet<NaiveDate>,
    /// Intervals worked on an extra day.
    extra_day: Vec<Interval>,
}

impl Calendar {
    /// Builds a calendar, reporting every problem at once as (field path, what is wrong)
    /// so that a configuration form can flag all faulty fields in one round trip.
    ///
    /// Intervals may be given in any order. Touching intervals (one ending where the next
    /// starts) are merged; overlapping ones are refused. Extra days work `extra_day`, or
    /// Monday's intervals when `extra_day` is empty, whatever their weekday.
    pub fn new(
        time_zone: &str,
        week: [Vec<Interval>; 7],
        holidays: Vec<NaiveDate>,
        extra_days: Vec<NaiveDate>,
        extra_day: Vec<Interval>,
    ) -> Result<Calendar, Vec<(String, String)>> {
        let mut problems = Vec::new();

        let parsed_zone = time_zone.parse::<Tz>();
        if parsed_zone.is_err() {
            problems.push((
                "time_zone".to_owned(),
                format!("unknown time zone {time_zone:?}"),
            ));
        }

        let normalized_week: [Vec<Interval>; 7] = std::array::from_fn(|day| {
            normalize_intervals(&format!("week[{day}]"), &week[day], &mut problems)
        });
        let normalized_extra_day = normalize_intervals("extra_day", &extra_day, &mut problems);

        let holidays: BTreeSet<NaiveDate> = holidays.into_iter().collect();
        for (index, date) in extra_days.iter().enumerate() {
            if holidays.contains(date) {
                problems.push((
                    format!("extra_days[{index}]"),
                    format!("{date} is also a holiday"),
                ));
            }
        }

        let no_weekly_time = week.iter().all(Vec::is_empty);
        if no_weekly_time && (extra_days.is_empty() || extra_day.is_empty()) {
            problems.push((
                "week".to_owned(),
                "no working time: no weekday has an interval and no extra day is worked".to_owned(),
            ));
        }

        match parsed_zone {
            Ok(time_zone) if problems.is_empty() => {
                let extra_day = if extra_day.is_empty() {
                    normalized_week[0].clone()
                } else {
                    normalized_extra_day
                };
                Ok(Calendar {
                    time_zone,
                    week: normalized_week,
                    holidays,
                    extra_days: extra_days.into_iter().collect(),
                    extra_day,
                })
            }
            _ => Err(problems),
        }
    }

    /// Round the clock in UTC: the calendar of a tenant that defines none, so that SLA
    /// budgets then count plain elapsed time.
    pub fn always() -> Calendar {
        let whole_day = Interval {
            start: 0,
            end: MINUTES_PER_DAY,
        };
        Calendar {
            time_zone: Tz::UTC,
            week: std::array::from_fn(|_| vec![whole_day]),
            holidays: BTreeSet::new(),
            extra_days: BTreeSet::new(),
            extra_day: vec![whole_day],
        }
    }

    /// Whether `t` lies in working time.
    pub fn is_open(&self, t: Micros) -> bool {
        // A fall-back across midnight can show the previous date while the next
        // day's first interval has already begun, hence two days.
        self.local_date(t).is_some_and(|date| {
            self.spans_from(date, 2)
                .take_while(|&(start, _)| start <= t)
                .any(|(_, end)| t < end)
        })
    }

    /// `t` itself when open, else the start of the next working interval; `None` when
    /// no working time begins within the search horizon.
    pub fn next_open(&self, t: Micros) -> Option<Micros> {
        self.spans_from(self.local_date(t)?, HORIZON_DAYS)
            .find(|&(_, end)| end > t)
            .map(|(start, _)| start.max(t))
    }

    /// The instant at which `working` of working time has elapsed counting from `start`.
    ///
    /// A positive budget always ends inside or at the end of a working interval, never
    /// in closed time, so a breach is reported as soon as the team could have acted.
    /// `None` for a negative budget or when the deadline lies beyond the search horizon.
    pub fn add(&self, start: Micros, working: Micros) -> Option<Micros> {
        if working <= 0 {
            return (working == 0).then_some(start);
        }
        let mut remaining = working;
        for (span_start, span_end) in self.spans_from(self.local_date(start)?, HORIZON_DAYS) {
            if span_end <= start {
                continue;
            }
            let from = span_start.max(start);
            let available = span_end - from;
            if remaining <= available {
                return Some(from + remaining);
            }
            remaining -= available;
        }
        None
    }

    /// The latest instant `s <= end` with `working_between(s, end) == working`: when the
    /// budget is used up exactly at the start of a working interval, that start is the
    /// answer rather than the end of the previous one, so the result is a moment the
    /// team was at work. `None` for a negative budget or beyond the search horizon.
    pub fn subtract(&self, end: Micros, working: Micros) -> Option<Micros> {
        if working <= 0 {
            return (working == 0).then_some(end);
        }
        let mut remaining = working;
        // A fall-back across midnight can show the previous date while the next
        // day's intervals have already begun, hence starting one day later.
        let last = self.local_date(end)?.succ_opt()?;
        for (span_start, span_end) in self.spans_back_from(last, HORIZON_DAYS + 1) {
            if span_start >= end {
                continue;
            }
            let to = span_end.min(end);
            let available = to - span_start;
            if remaining <= available {
                return Some(to - remaining);
            }
            remaining -= available;
        }
        None
    }

    /// Working time in [a, b); 0 when `b <= a`.
    pub fn working_between(&self, a: Micros, b: Micros) -> Micros {
        let (a, b) = (a.max(MIN_INSTANT), b.min(MAX_INSTANT));
        if b <= a {
            return 0;
        }
        let (Some(first), Some(last)) = (self.local_date(a), self.local_date(b)) else {
            return 0;
        };
        // Days up to the day after `b`'s date can hold spans starting before `b`.
        let days = usize::try_from((last - first).num_days()).unwrap_or(0) + 2;
        self.spans_from(first, days)
            .take_while(|&(start, _)| start < b)
            .map(|(start, end)| (end.min(b) - start.max(a)).max(0))
            .sum()
    }

    /// The local date at instant `t`.
    fn local_date(&self, t: Micros) -> Option<NaiveDate> {
        if !(MIN_INSTANT..=MAX_INSTANT).contains(&t) {
            return None;
        }
        let utc = DateTime::from_timestamp_micros(t)?;
        Some(utc.with_timezone(&self.time_zone).date_naive())
    }

    /// The intervals worked on a local date.
    fn intervals_on(&self, date: NaiveDate) -> &[Interval] {
        if self.holidays.contains(&date) {
            &[]
        } else if self.extra_days.contains(&date) {
            &self.extra_day
        } else {
            &self.week[date.weekday().num_days_from_monday() as usize]
        }
    }

    /// A day's working intervals as UTC spans [start, end), in order. Spans of
    /// successive days follow each other too, because local times map monotonically.
    fn spans(&self, date: NaiveDate) -> impl DoubleEndedIterator<Item = (Micros, Micros)> + '_ {
        self.intervals_on(date).iter().filter_map(move |interval| {
            let start = self.instant_at(date, interval.start)?;
            let end = self.instant_at(date, interval.end)?;
            (start < end).then_some((start, end))
        })
    }

    /// Spans of `days` successive days starting with `first`, earliest first.
    fn spans_from(
        &self,
        first: NaiveDate,
        days: usize,
    ) -> impl Iterator<Item = (Micros, Micros)> + '_ {
        std::iter::successors(Some(first), NaiveDate::succ_opt)
            .take(days)
            .flat_map(move |date| self.spans(date))
    }

    /// Spans of `days` days going back from `last`, latest first.
    fn spans_back_from(
        &self,
        last: NaiveDate,
        days: usize,
    ) -> impl Iterator<Item = (Micros, Micros)> + '_ {
        std::iter::successors(Some(last), NaiveDate::pred_opt)
            .take(days)
            .flat_map(move |date| self.spans(date).rev())
    }

    /// The instant of `minute` minutes after local midnight of `date` (1440 being the
    /// next midnight).
    fn instant_at(&self, date: NaiveDate, minute: u16) -> Option<Micros> {
        let local = date
            .and_time(NaiveTime::MIN)
            .checked_add_signed(TimeDelta::minutes(i64::from(minute)))?;
        match self.time_zone.from_local_datetime(&local) {
            LocalResult::Single(t) => Some(t.timestamp_micros()),
            LocalResult::Ambiguous(first, second) => {
                Some(first.timestamp_micros().min(second.timestamp_micros()))
            }
            LocalResult::None => self.end_of_gap(local),
        }
    }

    /// The instant a daylight-saving (or other) gap containing the nonexistent `local`
    /// ends, i.e. when the wall clock first reads a time after `local`.
    fn end_of_gap(&self, local: NaiveDateTime) -> Option<Micros> {
        let mapped_after = |seconds: i64| {
            local
                .checked_add_signed(TimeDelta::seconds(seconds))
                .map(|candidate| self.time_zone.from_local_datetime(&candidate))
                .filter(|mapped| !matches!(mapped, LocalResult::None))
        };
        // Find an existing local time by whole hours, then bisect down to the second:
        // offsets and transitions are whole seconds, so that is exact.
        let mut missing = 0;
        let mut found = None;
        for seconds in (1..=MAX_GAP_HOURS).map(|hours| hours * 3600) {
            if mapped_after(seconds).is_some() {
                found = Some(seconds);
                break;
            }
            missing = seconds;
        }
        let mut present = found?;
        while present - missing > 1 {
            let middle = missing + (present - missing) / 2;
            if mapped_after(middle).is_some() {
                present = middle;
            } else {
                missing = middle;
            }
        }
        match mapped_after(present)? {
            LocalResult::Single(t) => Some(t.timestamp_micros()),
            LocalResult::Ambiguous(first, second) => {
                Some(first.timestamp_micros().min(second.timestamp_micros()))
            }
            LocalResult::None => None,
        }
    }
}

/// Validates one day's intervals, reporting problems under `field[index]` (the index as
/// given), and returns the valid ones sorted with touching neighbours merged.
fn normalize_intervals(
    field: &str,
    given: &[Interval],
    problems: &mut Vec<(String, String)>,
) -> Vec<Interval> {
    let mut valid: Vec<(usize, Interval)> = Vec::with_capacity(given.len());
    for (index, &interval) in given.iter().enumerate() {
        if interval.start >= interval.end {
            problems.push((
                format!("{field}[{index}]"),
                format!(
                    "start {} is not before end {}",
                    clock(interval.start),
                    clock(interval.end)
                ),
            ));
        } else if interval.end > MINUTES_PER_DAY {
            problems.push((
                format!("{field}[{index}]"),
                format!("end {} is after 24:00", clock(interval.end)),
            ));
        } else {
            valid.push((index, interval));
        }
    }
    valid.sort_by_key(|&(index, interval)| (interval, index));

    let mut merged: Vec<Interval> = Vec::with_capacity(valid.len());
    // The given index of the interval ending the current stretch, which an overlapping
    // successor necessarily overlaps: named in the message.
    let mut furthest = 0;
    for (index, interval) in valid {
        match merged.last_mut() {
            Some(last) if interval.start < last.end => {
                problems.push((
                    format!("{field}[{index}]"),
                    format!(
                        "{}–{} overlaps {field}[{furthest}]",
                        clock(interval.start),
                        clock(interval.end)
                    ),
                ));
            }
            Some(last) if interval.start == last.end => {
                last.end = interval.end;
                furthest = index;
            }
            _ => {
                merged.push(interval);
                furthest = index;
            }
        }
    }
    merged
}

/// Minutes after midnight as HH:MM, for messages.
fn clock(minute: u16) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

#[cfg(test)]
mod tests {
    use std::sync::LazyLock;

    use proptest::prelude::*;

    use super::*;

    const SECOND: Micros = 1_000_000;
    const MINUTE: Micros = 60 * SECOND;
    const HOUR: Micros = 60 * MINUTE;
    const DAY: Micros = 24 * HOUR;

    fn minutes(clock: &str) -> u16 {
        let (hours, minutes) = clock.split_once(':').unwrap();
        hours.parse::<u16>().unwrap() * 60 + minutes.parse::<u16>().unwrap()
    }

    fn iv(start: &str, end: &str) -> Interval {
        Interval {
            start: minutes(start),
            end: minutes(end),
        }
    }

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    /// An unambiguous local time in `zone`, as an instant.
    fn at(zone: &str, local: &str) -> Micros {
        let zone: Tz = zone.parse().unwrap();
        let local = NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M").unwrap();
        zone.from_local_datetime(&local)
            .single()
            .unwrap()
            .timestamp_micros()
    }

    fn utc(text: &str) -> Micros {
        at("UTC", text)
    }

    fn sh(local: &str) -> Micros {
        at("Asia/Shanghai", local)
    }

    fn weekdays(intervals: &[Interval]) -> [Vec<Interval>; 7] {
        std::array::from_fn(|day| {
            if day < 5 {
                intervals.to_vec()
            } else {
                Vec::new()
            }
        })
    }

    /// Mon–Fri 09:00–12:00 and 13:30–18:00; National Day 2026 (Oct 1–8) closed, worked
    /// off on Sunday Sep 20 and Saturday Oct 10, which work Monday's hours.
    fn shanghai() -> Calendar {
        Calendar::new(
            "Asia/Shanghai",
            weekdays(&[iv("13:30", "18:00"), iv("09:00", "12:00")]),
            (1..=8)
                .map(|day| NaiveDate::from_ymd_opt(2026, 10, day).unwrap())
                .collect(),
            vec![date("2026-09-20"), date("2026-10-10")],
            Vec::new(),
        )
        .unwrap()
    }

    /// Weekdays plus Sunday intervals around the 02:00–03:00 transitions (second Sunday
    /// of March, first of November), one of them wholly inside the spring gap.
    fn new_york() -> Calendar {
        let mut week = weekdays(&[iv("09:00", "17:00")]);
        week[5] = vec![iv("01:00", "04:00")];
        week[6] = vec![
            iv("00:30", "02:30"),
            iv("02:45", "03:15"),
            iv("08:00", "12:00"),
        ];
        Calendar::new(
            "America/New_York",
            week,
            vec![date("2025-03-09"), date("2026-11-26")],
            vec![date("2027-03-14"), date("2027-11-06")],
            vec![iv("00:00", "02:10"), iv("02:50", "06:00")],
        )
        .unwrap()
    }

    /// Every day 01:30–02:30 and 02:40–02:50 (Europe switches at 02:00/03:00 local on
    /// the last Sundays of March and October); weekday evenings run to midnight and
    /// touch Saturday's early hours. A spring Sunday is a holiday, an autumn one fully
    /// worked (25 hours).
    fn berlin() -> Calendar {
        let night = [iv("01:30", "02:30"), iv("02:40", "02:50")];
        let mut week: [Vec<Interval>; 7] = std::array::from_fn(|_| night.to_vec());
        for day in &mut week[..5] {
            day.extend([iv("08:00", "16:00"), iv("16:30", "24:00")]);
        }
        week[5].push(iv("00:00", "01:30"));
        Calendar::new(
            "Europe/Berlin",
            week,
            vec![date("2026-03-29"), date("2027-12-24")],
            vec![date("2026-10-25")],
            vec![iv("00:00", "24:00")],
        )
        .unwrap()
    }

    /// Round the clock in local time; Chile switches at local midnight, so some days
    /// start at 01:00 and some Saturdays last 25 hours.
    fn santiago() -> Calendar {
        Calendar::new(
            "America/Santiago",
            std::array::from_fn(|_| vec![iv("00:00", "24:00")]),
            Vec::new(),
            Vec::new(),
            Vec::new(),
        )
        .unwrap()
    }

    /// A half-hour daylight-saving shift at 02:00 local.
    fn lord_howe() -> Calendar {
        let mut week = weekdays(&[iv("09:00", "17:00")]);
        week[6] = vec![iv("01:00", "03:00")];
        Calendar::new(
            "Australia/Lord_Howe",
            week,
            Vec::new(),
            Vec::new(),
            Vec::new(),
        )
        .unwrap()
    }

    /// Thirty minutes a week, and none on the spring-forward Sunday: budgets of days
    /// run past the search horizon.
    fn sparse() -> Calendar {
        let mut week: [Vec<Interval>; 7] = Default::default();
        week[6] = vec![iv("02:15", "02:45")];
        Calendar::new("America/New_York", week, Vec::new(), Vec::new(), Vec::new()).unwrap()
    }

    static CALENDARS: LazyLock<Vec<Calendar>> = LazyLock::new(|| {
        vec![
            shanghai(),
            new_york(),
            berlin(),
            santiago(),
            lord_howe(),
            sparse(),
            Calendar::always(),
        ]
    });

    // --- Validation ---

    #[test]
    fn reports_every_problem_with_its_field() {
        let mut week: [Vec<Interval>; 7] = Default::default();
        week[2] = vec![
            iv("13:00", "17:00"),
            iv("12:00", "12:00"),
            iv("09:00", "13:30"),
        ];
        week[4] = vec![Interval {
            start: 600,
            end: 1500,
        }];
        let problems = Calendar::new(
            "Mars/Olympus_Mons",
            week,
            vec![date("2026-10-01")],
            vec![date("2026-09-20"), date("2026-10-01")],
            vec![iv("10:00", "09:00")],
        )
        .unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|(field, _)| field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "time_zone",
                "week[2][1]",
                "week[2][0]",
                "week[4][0]",
                "extra_day[0]",
                "extra_days[1]"
            ]
        );
        assert!(
            problems[2].1.contains("overlaps week[2][2]"),
            "{problems:?}"
        );
    }

    #[test]
    fn refuses_a_calendar_without_working_time() {
        let empty: [Vec<Interval>; 7] = Default::default();
        let problems = Calendar::new(
            "UTC",
            empty.clone(),
            Vec::new(),
            vec![date("2026-01-03")],
            Vec::new(),
        )
        .unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].0, "week");

        let extra_only = Calendar::new(
            "UTC",
            empty,
            Vec::new(),
            vec![date("2020-01-04")],
            vec![iv("09:00", "17:00")],
        )
        .unwrap();
        // Its only working day is long past: nothing lies ahead.
        assert_eq!(extra_only.next_open(utc("2026-01-01 00:00")), None);
        assert_eq!(extra_only.add(utc("2026-01-01 00:00"), HOUR), None);
        assert_eq!(
            extra_only.add(utc("2020-01-01 00:00"), HOUR),
            Some(utc("2020-01-04 10:00"))
        );
    }

    #[test]
    fn sorts_intervals_and_merges_touching_ones() {
        let mut week: [Vec<Interval>; 7] = Default::default();
        week[0] = vec![
            iv("13:00", "17:00"),
            iv("09:00", "12:00"),
            iv("12:00", "13:00"),
        ];
        let calendar = Calendar::new("UTC", week, Vec::new(), Vec::new(), Vec::new()).unwrap();
        assert_eq!(calendar.week[0], [iv("09:00", "17:00")]);
        // An empty `extra_day` means extra days work Monday's hours.
        assert_eq!(calendar.extra_day, [iv("09:00", "17:00")]);
    }

    // --- Shanghai: lunch breaks, weekends, National Day ---

    #[test]
    fn deadline_skips_the_lunch_break() {
        let calendar = shanghai();
        assert_eq!(
            calendar.add(sh("2026-09-14 10:00"), 3 * HOUR),
            Some(sh("2026-09-14 14:30"))
        );
        // Budget used up exactly at noon: the deadline is noon, not 13:30.
        assert_eq!(
            calendar.add(sh("2026-09-14 10:00"), 2 * HOUR),
            Some(sh("2026-09-14 12:00"))
        );
        // Opened during lunch: the clock starts at 13:30.
        assert_eq!(
            calendar.add(sh("2026-09-14 12:40"), 30 * MINUTE),
            Some(sh("2026-09-14 14:00"))
        );
    }

    #[test]
    fn deadline_skips_the_weekend() {
        let calendar = shanghai();
        // Friday 17:00 + 2h: one hour on Friday, one on Monday.
        assert_eq!(
            calendar.add(sh("2026-09-11 17:00"), 2 * HOUR),
            Some(sh("2026-09-14 10:00"))
        );
        // Opened on Saturday, at the first minute of Monday's work.
        assert_eq!(
            calendar.add(sh("2026-09-12 15:00"), MINUTE),
            Some(sh("2026-09-14 09:01"))
        );
    }

    #[test]
    fn make_up_sunday_is_worked() {
        let calendar = shanghai();
        // Friday Sep 18 17:00 + 2h: Saturday is off, Sunday Sep 20 is a make-up day.
        assert_eq!(
            calendar.add(sh("2026-09-18 17:00"), 2 * HOUR),
            Some(sh("2026-09-20 10:00"))
        );
        assert!(calendar.is_open(sh("2026-09-20 14:00")));
        assert!(!calendar.is_open(sh("2026-09-20 12:30")));
        assert_eq!(
            calendar.next_open(sh("2026-09-19 11:00")),
            Some(sh("2026-09-20 09:00"))
        );
    }

    #[test]
    fn deadline_skips_national_day() {
        let calendar = shanghai();
        // Wed Sep 30 17:00: one hour that day, Thu Oct 1 – Thu Oct 8 closed (weekdays
        // included), Fri Oct 9 a full 7.5h day, then Saturday Oct 10 a make-up day.
        assert_eq!(
            calendar.add(sh("2026-09-30 17:00"), 2 * HOUR),
            Some(sh("2026-10-09 10:00"))
        );
        assert_eq!(
            calendar.add(sh("2026-09-30 17:00"), 9 * HOUR + 30 * MINUTE),
            Some(sh("2026-10-10 10:00"))
        );
        assert!(!calendar.is_open(sh("2026-10-05 10:00")));
        assert_eq!(
            calendar.next_open(sh("2026-10-01 10:00")),
            Some(sh("2026-10-09 09:00"))
        );
        assert_eq!(
            calendar.working_between(sh("2026-09-30 00:00"), sh("2026-10-12 00:00")),
            3 * (7 * HOUR + 30 * MINUTE)
        );
    }

    #[test]
    fn subtract_lands_inside_working_time() {
        let calendar = shanghai();
        // Monday 09:30 minus 30 minutes is Monday 09:00, not Friday 18:00.
        assert_eq!(
            calendar.subtract(sh("2026-09-14 09:30"), 30 * MINUTE),
            Some(sh("2026-09-14 09:00"))
        );
        assert_eq!(
            calendar.subtract(sh("2026-09-14 09:30"), 31 * MINUTE),
            Some(sh("2026-09-11 17:59"))
        );
        assert_eq!(
            calendar.subtract(sh("2026-10-09 10:00"), 2 * HOUR),
            Some(sh("2026-09-30 17:00"))
        );
        assert_eq!(
            calendar.subtract(sh("2026-10-03 10:00"), 0),
            Some(sh("2026-10-03 10:00"))
        );
    }

    #[test]
    fn paused_span_extends_the_deadline_by_its_working_time() {
        let calendar = shanghai();
        let opened = sh("2026-09-10 09:00");
        let budget = 16 * HOUR;
        let deadline = calendar.add(opened, budget).unwrap();
        assert_eq!(deadline, sh("2026-09-14 10:00"));

        // Waiting on the customer from Friday 11:00 to Monday 10:00: 1h + 4.5h + 1h.
        let paused = calendar.working_between(sh("2026-09-11 11:00"), sh("2026-09-14 10:00"));
        assert_eq!(paused, 6 * HOUR + 30 * MINUTE);
        assert_eq!(calendar.add(deadline, paused), Some(sh("2026-09-14 18:00")));
        // A pause entirely within closed time costs nothing.
        assert_eq!(
            calendar.working_between(sh("2026-09-12 08:00"), sh("2026-09-14 09:00")),
            0
        );
        assert_eq!(calendar.working_between(deadline, opened), 0);
    }

    #[test]
    fn open_boundaries_are_half_open() {
        let calendar = shanghai();
        assert!(calendar.is_open(sh("2026-09-14 09:00")));
        assert!(calendar.is_open(sh("2026-09-14 12:00") - 1));
        assert!(!calendar.is_open(sh("2026-09-14 12:00")));
        assert!(!calendar.is_open(sh("2026-09-14 09:00") - 1));
        assert_eq!(
            calendar.next_open(sh("2026-09-14 10:00")),
            Some(sh("2026-09-14 10:00"))
        );
        assert_eq!(
            calendar.next_open(sh("2026-09-14 12:00")),
            Some(sh("2026-09-14 13:30"))
        );
        // A zero budget is due at once, even in closed time.
        assert_eq!(
            calendar.add(sh("2026-09-13 03:00"), 0),
            Some(sh("2026-09-13 03:00"))
        );
        assert_eq!(calendar.add(sh("2026-09-13 03:00"), -1), None);
    }

    // --- Daylight saving ---

    #[test]
    fn spring_forward_shortens_and_fall_back_lengthens_intervals() {
        let calendar = new_york();
        // Sunday 2026-03-08: 02:00–03:00 EST→EDT is skipped. 00:30–02:30 ends at the
        // gap's end (03:00 EDT = 07:00 UTC), 02:45–03:15 starts there too.
        let day = |first: &str, last: &str| calendar.working_between(utc(first), utc(last));
        assert_eq!(
            day("2026-03-08 05:00", "2026-03-09 05:00"),
            HOUR + 30 * MINUTE + 15 * MINUTE + 4 * HOUR
        );
        assert!(calendar.is_open(utc("2026-03-08 07:10")));
        assert!(!calendar.is_open(utc("2026-03-08 07:15")));
        // Sunday 2026-11-01: 01:00–02:00 is lived twice; 00:30–02:30 lasts 3 hours,
        // 02:45–03:15 keeps its 30 minutes.
        assert_eq!(
            day("2026-11-01 04:00", "2026-11-02 05:00"),
            3 * HOUR + 30 * MINUTE + 4 * HOUR
        );
        // Saturday 01:00–04:00 is an ordinary 3 hours.
        assert_eq!(day("2026-11-07 05:00", "2026-11-08 05:00"), 3 * HOUR);
    }

    #[test]
    fn local_times_in_gaps_and_overlaps() {
        let calendar = new_york();
        // Make-up Sunday 2027-03-14 works 00:00–02:10 and 02:50–06:00; both 02:10 and
        // 02:50 are skipped and map to 03:00 EDT (07:00 UTC), so the day is one
        // stretch of 5 real hours.
        assert_eq!(
            calendar.working_between(utc("2027-03-14 04:00"), utc("2027-03-15 04:00")),
            5 * HOUR
        );
        assert_eq!(
            calendar.add(utc("2027-03-14 05:00"), 3 * HOUR),
            Some(utc("2027-03-14 08:00"))
        );
        // Make-up Saturday 2027-11-06 has no transition: 2h10 + 3h10.
        assert_eq!(
            calendar.working_between(utc("2027-11-06 04:00"), utc("2027-11-07 04:00")),
            5 * HOUR + 20 * MINUTE
        );

        // A 30-minute interval wholly inside the spring gap does not exist that day.
        let sparse = sparse();
        assert_eq!(
            sparse.next_open(utc("2026-03-08 00:00")),
            Some(at("America/New_York", "2026-03-15 02:15"))
        );
        // In autumn 02:15 EDT is unambiguous, but Berlin's 02:40–02:50 falls in the
        // repeated hour: open during its first pass (CEST) only.
        let berlin = berlin();
        assert!(berlin.is_open(utc("2026-10-24 00:45")));
        assert!(berlin.is_open(utc("2026-10-25 00:45")));
        assert!(
            berlin.is_open(utc("2026-10-25 01:45")),
            "make-up day runs round the clock"
        );
        assert!(!berlin.is_open(utc("2025-10-26 01:45")));
        assert!(berlin.is_open(utc("2025-10-26 00:45")));
        // 2026-10-25 is worked round the clock and lasts 25 hours.
        assert_eq!(
            berlin.working_between(utc("2026-10-24 22:00"), utc("2026-10-25 23:00")),
            25 * HOUR
        );
    }

    #[test]
    fn local_times_map_to_the_earliest_instant_reading_them() {
        let instant = |calendar: &Calendar, day: &str, clock: &str| {
            calendar.instant_at(date(day), minutes(clock))
        };
        let new_york = new_york();
        // Skipped: the end of the gap, 03:00 EDT.
        assert_eq!(
            instant(&new_york, "2026-03-08", "02:30"),
            Some(utc("2026-03-08 07:00"))
        );
        // Repeated: the first pass, in EDT.
        assert_eq!(
            instant(&new_york, "2026-11-01", "01:30"),
            Some(utc("2026-11-01 05:30"))
        );
        // Skipped local midnight: the day begins at 01:00 -03.
        assert_eq!(
            instant(&santiago(), "2026-09-06", "00:00"),
            Some(utc("2026-09-06 04:00"))
        );
        // A half-hour gap, 02:00–02:30.
        assert_eq!(
            instant(&lord_howe(), "2026-10-04", "02:15"),
            Some(utc("2026-10-03 15:30"))
        );
        // Berlin's 01:30–02:30 on an ordinary spring Sunday is cut to 30 minutes by
        // the gap; 02:40–02:50 vanishes.
        let berlin = berlin();
        assert_eq!(
            berlin.working_between(utc("2027-03-27 23:00"), utc("2027-03-28 22:00")),
            30 * MINUTE
        );
        assert_eq!(
            berlin.add(utc("2027-03-28 00:00"), 30 * MINUTE),
            Some(utc("2027-03-28 01:00"))
        );
    }

    #[test]
    fn midnight_transitions() {
        let calendar = santiago();
        // Sunday 2026-09-06 starts at 01:00 local (04:00 UTC): a 23-hour day.
        assert_eq!(
            calendar.working_between(utc("2026-09-06 00:00"), utc("2026-09-07 00:00")),
            DAY
        );
        assert!(calendar.is_open(utc("2026-09-06 03:59")));
        assert!(calendar.is_open(utc("2026-09-06 04:00")));
        // Saturday 2026-04-04 lasts 25 hours; the round-the-clock calendar stays open.
        assert_eq!(
            calendar.working_between(utc("2026-04-04 03:00"), utc("2026-04-05 04:00")),
            25 * HOUR
        );
        assert!(calendar.is_open(utc("2026-04-05 03:30")));
        assert_eq!(
            calendar.add(utc("2026-04-04 03:00"), 25 * HOUR),
            Some(utc("2026-04-05 04:00"))
        );
    }

    #[test]
    fn always_counts_elapsed_time() {
        let calendar = Calendar::always();
        let start = utc("2026-02-27 13:17");
        assert_eq!(calendar.add(start, 3 * DAY + 7), Some(start + 3 * DAY + 7));
        assert_eq!(calendar.subtract(start, 40 * DAY), Some(start - 40 * DAY));
        assert_eq!(
            calendar.working_between(start, start + 9 * DAY + 1),
            9 * DAY + 1
        );
        assert!(calendar.is_open(start));
    }

    #[test]
    fn unrepresentable_instants_are_handled() {
        let calendar = shanghai();
        assert!(!calendar.is_open(i64::MAX));
        assert_eq!(calendar.next_open(i64::MIN), None);
        assert_eq!(calendar.add(i64::MAX, HOUR), None);
        assert_eq!(calendar.subtract(i64::MIN, HOUR), None);
        assert_eq!(calendar.working_between(i64::MAX - 1, i64::MAX), 0);
    }

    // --- Properties ---

    /// 2024-01-01 to 2031-01-01 UTC.
    const FROM: Micros = 1_704_067_200_000_000;
    const UNTIL: Micros = 1_924_992_000_000_000;

    /// UTC midnights of local days with a clock change in the zones above.
    const TRANSITION_DAYS: [&str; 10] = [
        "2026-03-08 00:00", // New York, spring
        "2026-11-01 00:00", // New York, autumn
        "2026-03-29 00:00", // Berlin, spring (a holiday there)
        "2026-10-25 00:00", // Berlin, autumn (a make-up day there)
        "2027-03-28 00:00", // Berlin, spring
        "2027-10-31 00:00", // Berlin, autumn
        "2026-04-04 00:00", // Santiago, autumn
        "2026-09-06 00:00", // Santiago, spring
        "2026-04-04 12:00", // Lord Howe, autumn
        "2026-10-03 12:00", // Lord Howe, spring
    ];

    /// Instants anywhere, ones on whole minutes and quarter hours that land on
    /// interval boundaries, and quarter hours within two days of a clock change.
    fn instant() -> impl Strategy<Value = Micros> {
        let near_transition = (0..TRANSITION_DAYS.len(), -2 * 96..3 * 96_i64)
            .prop_map(|(day, quarter)| utc(TRANSITION_DAYS[day]) + quarter * 15 * MINUTE);
        prop_oneof![
            FROM..UNTIL,
            (FROM..UNTIL).prop_map(|t| t - t.rem_euclid(MINUTE)),
            (FROM..UNTIL).prop_map(|t| t - t.rem_euclid(15 * MINUTE)),
            near_transition,
        ]
    }

    /// Up to three weeks, plus whole minutes and tiny amounts.
    fn working() -> impl Strategy<Value = Micros> {
        prop_oneof![
            0..=21 * DAY,
            (0..=21 * 24 * 60_i64).prop_map(|minutes| minutes * MINUTE),
            0..=1_000_i64,
        ]
    }

    fn calendar() -> impl Strategy<Value = &'static Calendar> {
        (0..CALENDARS.len()).prop_map(|index| &CALENDARS[index])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn add_consumes_exactly_the_budget(calendar in calendar(), start in instant(), working in working()) {
            if let Some(deadline) = calendar.add(start, working) {
                prop_assert!(deadline >= start);
                prop_assert_eq!(calendar.working_between(start, deadline), working);
                if working > 0 {
                    // Never strictly inside closed time: the last microsecond was worked.
                    prop_assert!(calendar.is_open(deadline - 1));
                }
            } else {
                prop_assert!(working > 0);
                prop_assert!(calendar.working_between(start, start + 10 * 365 * DAY) < working);
            }
        }

        #[test]
        fn subtract_undoes_add(calendar in calendar(), start in instant(), working in working()) {
            prop_assume!(working > 0);
            if let Some(deadline) = calendar.add(start, working) {
                let open = calendar.next_open(start).unwrap();
                prop_assert_eq!(calendar.subtract(deadline, working), Some(open));
                if calendar.is_open(start) {
                    prop_assert_eq!(open, start);
                }
            }
        }

        #[test]
        fn subtract_is_the_latest_start(calendar in calendar(), end in instant(), working in working()) {
            if let Some(start) = calendar.subtract(end, working) {
                prop_assert!(start <= end);
                prop_assert_eq!(calendar.working_between(start, end), working);
                if working > 0 {
                    prop_assert!(calendar.is_open(start));
                    prop_assert_eq!(calendar.working_between(start + 1, end), working - 1);
                }
            }
        }

        #[test]
        fn add_is_monotonic(calendar in calendar(), start in instant(), a in working(), b in working()) {
            let (low, high) = (a.min(b), a.max(b));
            if let (Some(first), Some(second)) = (calendar.add(start, low), calendar.add(start, high)) {
                prop_assert!(first <= second);
            }
        }

        #[test]
        fn working_between_is_additive(calendar in calendar(), a in instant(), b in instant(), c in instant()) {
            let mut points = [a, b, c];
            points.sort_unstable();
            let [a, b, c] = points;
            prop_assert_eq!(
                calendar.working_between(a, b) + calendar.working_between(b, c),
                calendar.working_between(a, c)
            );
            prop_assert!(calendar.working_between(a, c) <= c - a);
        }

        #[test]
        fn next_open_is_the_first_working_instant(calendar in calendar(), t in instant()) {
            if let Some(open) = calendar.next_open(t) {
                prop_assert!(open >= t);
                prop_assert!(calendar.is_open(open));
                prop_assert_eq!(calendar.working_between(t, open), 0);
                if open > t {
                    prop_assert!(!calendar.is_open(open - 1));
                    prop_assert!(!calendar.is_open(t));
                }
            }
        }

        /// Outside repeated hours, being open is exactly the local clock reading a
        /// working time of the local date.
        #[test]
        fn is_open_follows_the_local_clock(calendar in calendar(), t in instant()) {
            let local = DateTime::from_timestamp_micros(t)
                .unwrap()
                .with_timezone(&calendar.time_zone)
                .naive_local();
            if let LocalResult::Ambiguous(first, second) =
                calendar.time_zone.from_local_datetime(&local)
            {
                let earliest = first.timestamp_micros().min(second.timestamp_micros());
                prop_assume!(earliest == t);
            }
            let since_midnight = (local - local.date().and_time(NaiveTime::MIN))
                .num_microseconds()
                .unwrap();
            let expected = calendar.intervals_on(local.date()).iter().any(|interval| {
                i64::from(interval.start) * MINUTE <= since_midnight
                    && since_midnight < i64::from(interval.end) * MINUTE
            });
            prop_assert_eq!(calendar.is_open(t), expected);
        }
    }
}
