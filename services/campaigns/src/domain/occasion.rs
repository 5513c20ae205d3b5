//! Care greetings (CA6): whose birthday or anniversary falls on a run's day, in the calendar
//! of a given UTC offset.

use rapport_runtime::clock::Micros;
use serde::{Deserialize, Serialize};

/// Whose date a care strategy greets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Birthday,
    Anniversary,
    CustomerAnniversary,
}

/// A daily greeting: its kind and whose calendar day counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Occasion {
    pub kind: Kind,
    pub utc_offset_minutes: i32,
}

/// A member's dates, as (month, day).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dates {
    pub birthday: Option<(u8, u8)>,
    pub anniversaries: Vec<(u8, u8)>,
    pub customer_anniversaries: Vec<(u8, u8)>,
}

impl Occasion {
    /// The (month, day) of `at` in this occasion's calendar, and whether its year is a leap
    /// year.
    pub fn day_of(&self, at: Micros) -> Option<(u8, u8, bool)> {
        let local = at.checked_add(i64::from(self.utc_offset_minutes) * 60_000_000)?;
        let t = time::OffsetDateTime::from_unix_timestamp(local.div_euclid(1_000_000)).ok()?;
        let d = t.date();
        Some((
            u8::from(d.month()),
            d.day(),
            time::util::is_leap_year(d.year()),
        ))
    }

    /// Whether a member with `dates` is greeted by the run at `at`. 29 February falls on
    /// 28 February in other years, so no one waits four years for a greeting.
    pub fn greets(&self, dates: &Dates, at: Micros) -> bool {
        let Some((month, day, leap)) = self.day_of(at) else {
            return false;
        };
        let hits = |&(m, d): &(u8, u8)| {
            (m, d) == (month, day) || (!leap && (m, d) == (2, 29) && (month, day) == (2, 28))
        };
        match self.kind {
            Kind::Birthday => dates.birthday.as_ref().is_some_and(hits),
            Kind::Anniversary => dates.anniversaries.iter().any(hits),
            Kind::CustomerAnniversary => dates.customer_anniversaries.iter().any(hits),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-03-01T00:30:00Z.
    const MARCH_FIRST_UTC: Micros = 1_772_325_000_000_000;

    #[test]
    fn the_day_is_the_offsets_and_leap_days_are_kept_in_other_years() {
        let china = Occasion {
            kind: Kind::Birthday,
            utc_offset_minutes: 480,
        };
        let hawaii = Occasion {
            utc_offset_minutes: -600,
            ..china
        };
        assert_eq!(china.day_of(MARCH_FIRST_UTC), Some((3, 1, false)));
        assert_eq!(hawaii.day_of(MARCH_FIRST_UTC), Some((2, 28, false)));
        let leapling = Dates {
            birthday: Some((2, 29)),
            ..Dates::default()
        };
        assert!(hawaii.greets(&leapling, MARCH_FIRST_UTC));
        assert!(!china.greets(&leapling, MARCH_FIRST_UTC));
        let march = Dates {
            birthday: Some((3, 1)),
            anniversaries: vec![(2, 28)],
            ..Dates::default()
        };
        assert!(china.greets(&march, MARCH_FIRST_UTC));
        let wedding = Occasion {
            kind: Kind::Anniversary,
            utc_offset_minutes: -600,
        };
        assert!(wedding.greets(&march, MARCH_FIRST_UTC));
        assert!(
            !Occasion {
                kind: Kind::CustomerAnniversary,
                ..wedding
            }
            .greets(&march, MARCH_FIRST_UTC)
        );
    }
}
