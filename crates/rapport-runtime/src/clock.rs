//! Time as the services see it: an injectable clock (so sweeps and rules can be tested without
//! waiting) and conversions between stored microseconds and protobuf timestamps. Times are UTC
//! microseconds since the Unix epoch everywhere in storage.

use std::sync::{
    Arc,
    atomic::{AtomicI64, Ordering},
};

/// Microseconds since the Unix epoch, UTC.
pub type Micros = i64;

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    /// Now, in microseconds since the epoch.
    fn now(&self) -> Micros;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Micros {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
    }
}

/// The system clock shifted by a fixed offset: end-to-end tests and demos run the real binary
/// "days later" to see follow-up rules and reminders fire.
#[derive(Debug, Clone, Copy, Default)]
pub struct ShiftedClock(pub Micros);

impl Clock for ShiftedClock {
    fn now(&self) -> Micros {
        SystemClock.now().saturating_add(self.0)
    }
}

/// A clock that only moves when told to; for tests.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// A clock stopped at `now`.
    pub fn at(now: Micros) -> Self {
        Self(Arc::new(AtomicI64::new(now)))
    }
    /// Moves the clock forward by `micros`.
    pub fn advance(&self, micros: Micros) {
        self.0.fetch_add(micros, Ordering::SeqCst);
    }
    /// Sets the clock.
    pub fn set(&self, now: Micros) {
        self.0.store(now, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Micros {
        self.0.load(Ordering::SeqCst)
    }
}

/// The shared handle services keep.
pub type SharedClock = Arc<dyn Clock>;

/// One second, one minute, one hour and one day in microseconds.
pub const SECOND: Micros = 1_000_000;
/// One minute in microseconds.
pub const MINUTE: Micros = 60 * SECOND;
/// One hour in microseconds.
pub const HOUR: Micros = 60 * MINUTE;
/// One day in microseconds.
pub const DAY: Micros = 24 * HOUR;

/// The earliest time a protobuf timestamp holds: 0001-01-01T00:00:00Z.
pub const MIN_TIME: Micros = -62_135_596_800 * SECOND;
/// The latest time a protobuf timestamp holds: 9999-12-31T23:59:59.999999Z.
pub const MAX_TIME: Micros = 253_402_300_800 * SECOND - 1;

/// A protobuf timestamp for stored microseconds, within the range a timestamp holds (years
/// 1..9999): a computed time past it (a deadline from a far-future input) is answered as the
/// last valid instant rather than as a timestamp clients refuse to parse. Requests that would
/// produce one are refused where they are read.
pub fn to_timestamp(micros: Micros) -> prost_types::Timestamp {
    let micros = micros.clamp(MIN_TIME, MAX_TIME);
    prost_types::Timestamp {
        seconds: micros.div_euclid(SECOND),
        nanos: (micros.rem_euclid(SECOND) * 1000) as i32,
    }
}

/// Stored microseconds for a protobuf timestamp; `None` when it is out of range
/// (years 1..9999) or its nanos are not normalized.
pub fn from_timestamp(ts: &prost_types::Timestamp) -> Option<Micros> {
    const MIN_SECONDS: i64 = -62_135_596_800; // 0001-01-01T00:00:00Z
    const MAX_SECONDS: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    if !(MIN_SECONDS..=MAX_SECONDS).contains(&ts.seconds) || !(0..1_000_000_000).contains(&ts.nanos)
    {
        return None;
    }
    Some(ts.seconds * SECOND + i64::from(ts.nanos) / 1000)
}

/// Stored microseconds as RFC 3339 (`2026-12-14T02:03:01.110658Z`), as messages print times.
pub fn rfc3339(micros: Micros) -> String {
    to_datetime(micros)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| micros.to_string())
}

/// The UTC date-time of stored microseconds.
pub fn to_datetime(micros: Micros) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_including_before_the_epoch() {
        for micros in [0, 1, -1, 1_700_000_000_123_456, -86_400_000_001] {
            assert_eq!(from_timestamp(&to_timestamp(micros)), Some(micros));
        }
    }

    #[test]
    fn answers_never_leave_the_timestamp_range() {
        let ts = to_timestamp(MAX_TIME + 7 * DAY);
        assert_eq!(from_timestamp(&ts), Some(MAX_TIME));
        assert_eq!(from_timestamp(&to_timestamp(i64::MIN)), Some(MIN_TIME));
    }

    #[test]
    fn out_of_range_timestamps_are_refused() {
        let ts = prost_types::Timestamp {
            seconds: i64::MAX,
            nanos: 0,
        };
        assert_eq!(from_timestamp(&ts), None);
        let ts = prost_types::Timestamp {
            seconds: 0,
            nanos: -1,
        };
        assert_eq!(from_timestamp(&ts), None);
    }

    #[test]
    fn times_print_as_rfc3339() {
        assert_eq!(
            rfc3339(1_796_617_381_110_658),
            "2026-12-07T04:23:01.110658Z"
        );
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::at(10);
        c.advance(DAY);
        assert_eq!(c.now(), 10 + DAY);
    }
}
