//! RFM scores, 1..5 each, by the tenant's thresholds: recency of the last order, frequency of
//! orders, monetary value spent.

use rapport_runtime::clock::{DAY, Micros};

/// The three scores of a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scores {
    pub recency: i32,
    pub frequency: i32,
    pub monetary: i32,
}

/// 5 when the last order, at `last`, is at most `days[0]` days old at `now`, 4 within
/// `days[1]`, 3 within `days[2]`, 2 within `days[3]`, else 1.
pub fn recency_score(last: Micros, now: Micros, days: &[i32; 4]) -> i32 {
    let age = now.saturating_sub(last);
    let beyond = days
        .iter()
        .filter(|d| age > i64::from(**d).saturating_mul(DAY))
        .count();
    5 - beyond as i32
}

/// 1 plus how many of `thresholds` `value` reaches: frequency (order count) and monetary
/// (total spent) scores alike.
pub fn reached_score(value: i64, thresholds: &[i64; 4]) -> i32 {
    1 + thresholds.iter().filter(|t| value >= **t).count() as i32
}

/// The first moment after `now` at which the recency score of a last order at `last`, or
/// whether it is older than any of `more_days`, changes; `None` when nothing changes any more.
pub fn next_change(
    last: Micros,
    now: Micros,
    days: &[i32; 4],
    more_days: &[i32],
) -> Option<Micros> {
    days.iter()
        .chain(more_days)
        .map(|d| {
            last.saturating_add(i64::from(*d).saturating_mul(DAY))
                .saturating_add(1)
        })
        .filter(|t| *t > now)
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAYS: [i32; 4] = [30, 90, 180, 365];

    #[test]
    fn recency_falls_as_the_last_order_ages() {
        let last = 1_000 * DAY;
        let at = |days: i64| recency_score(last, last + days, &DAYS);
        assert_eq!(at(0), 5);
        assert_eq!(at(30 * DAY), 5);
        assert_eq!(at(30 * DAY + 1), 4);
        assert_eq!(at(90 * DAY), 4);
        assert_eq!(at(180 * DAY), 3);
        assert_eq!(at(365 * DAY), 2);
        assert_eq!(at(365 * DAY + 1), 1);
        assert_eq!(at(5_000 * DAY), 1);
        // An order confirmed after "now" (clocks apart) is as recent as can be.
        assert_eq!(at(-DAY), 5);
    }

    #[test]
    fn frequency_and_monetary_count_the_thresholds_reached() {
        let t = [2, 3, 4, 6];
        assert_eq!(reached_score(1, &t), 1);
        assert_eq!(reached_score(2, &t), 2);
        assert_eq!(reached_score(5, &t), 4);
        assert_eq!(reached_score(6, &t), 5);
        assert_eq!(reached_score(-5, &t), 1);
    }

    #[test]
    fn the_next_change_is_the_next_threshold_passed() {
        let last = 1_000 * DAY;
        assert_eq!(
            next_change(last, last, &DAYS, &[400]),
            Some(last + 30 * DAY + 1)
        );
        assert_eq!(
            next_change(last, last + 30 * DAY + 1, &DAYS, &[400]),
            Some(last + 90 * DAY + 1)
        );
        assert_eq!(
            next_change(last, last + 365 * DAY + 1, &DAYS, &[400]),
            Some(last + 400 * DAY + 1)
        );
        assert_eq!(next_change(last, last + 400 * DAY + 1, &DAYS, &[400]), None);
        // What changes at the same moment is judged once.
        assert_eq!(
            next_change(last, last + 100 * DAY, &DAYS, &[180]),
            Some(last + 180 * DAY + 1)
        );
    }
}
