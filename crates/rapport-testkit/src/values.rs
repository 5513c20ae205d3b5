//! Values the tests of every service build and read again and again: update masks, money,
//! durations, dates, timestamps, sorted lists of names.

use std::time::{SystemTime, UNIX_EPOCH};

use rapport_proto::types as pt;

/// An update mask naming `paths`.
pub fn mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    })
}

/// `minor_units` of `currency`.
pub fn money(currency: &str, minor_units: i64) -> Option<pt::Money> {
    Some(pt::Money {
        currency_code: currency.into(),
        minor_units,
    })
}

/// A duration of `seconds`.
pub fn secs(seconds: i64) -> Option<prost_types::Duration> {
    Some(prost_types::Duration { seconds, nanos: 0 })
}

/// A calendar date.
pub fn date(year: i32, month: i32, day: i32) -> Option<pt::Date> {
    Some(pt::Date { year, month, day })
}

/// A timestamp the answer must have set, in microseconds since the epoch.
pub fn micros(ts: &Option<prost_types::Timestamp>) -> i64 {
    let ts = ts.as_ref().expect("timestamp set");
    ts.seconds * 1_000_000 + i64::from(ts.nanos) / 1_000
}

/// Seconds since the epoch, now: token claims are stamped in these.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// `items` as strings in order, to compare lists whose order does not matter.
pub fn sorted<T: ToString>(items: impl IntoIterator<Item = T>) -> Vec<String> {
    let mut out: Vec<String> = items.into_iter().map(|i| i.to_string()).collect();
    out.sort();
    out
}
