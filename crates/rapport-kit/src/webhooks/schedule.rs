//! When to try a delivery again, and what an attempt's answer means.
//!
//! Eight attempts over about a day and a quarter: immediately, then 5 seconds, 5 minutes,
//! 30 minutes, 2 hours, 5 hours, 10 hours and 10 hours after each failure (the schedule of
//! Svix, which the Standard Webhooks specification's example starts with). A message that
//! fails all eight is a dead letter: kept for the partner to see and re-send, never retried.
//!
//! Answers: any 2xx is delivered; 410 Gone means the receiver wants no more, so the endpoint
//! is disabled; anything else is a failure to retry: 429 and 5xx, timeouts, refused or broken
//! connections, 3xx (redirects are not followed: the partner should update the URL), and the
//! other 4xx too, as the specification asks (a 400 or 404 is often a receiver being deployed
//! or misconfigured for a while, and the schedule ends anyway).

use rapport_runtime::clock::{HOUR, MINUTE, Micros, SECOND};
use sha2::{Digest, Sha256};

/// The delay before each attempt, after the failure of the one before (the first attempt is
/// made at once).
pub const DELAYS: [Micros; 8] = [
    0,
    5 * SECOND,
    5 * MINUTE,
    30 * MINUTE,
    2 * HOUR,
    5 * HOUR,
    10 * HOUR,
    10 * HOUR,
];

/// How many attempts a message gets.
pub const ATTEMPTS: u32 = DELAYS.len() as u32;

/// The jitter added to a delay is at most its 1/`JITTER_DIVISOR`.
pub const JITTER_DIVISOR: i64 = 10;

/// When to make the next attempt of a message after `attempts_made` attempts failed, the last
/// at `now`: `now` itself for the first (0 made), `None` once all [`ATTEMPTS`] were made (a
/// dead letter).
pub fn next_attempt(attempts_made: u32, now: Micros) -> Option<Micros> {
    DELAYS
        .get(attempts_made as usize)
        .map(|delay| now.saturating_add(*delay))
}

/// Like [`next_attempt`], with up to a tenth of the delay added so that messages that failed
/// together (an endpoint down for a while) do not all come back at once. The jitter is derived
/// from `msg_id` and the attempt, so it is the same every time it is computed.
pub fn next_attempt_jittered(attempts_made: u32, now: Micros, msg_id: &str) -> Option<Micros> {
    let at = next_attempt(attempts_made, now)?;
    let span = DELAYS[attempts_made as usize] / JITTER_DIVISOR;
    if span == 0 {
        return Some(at);
    }
    let digest = Sha256::new()
        .chain_update(msg_id)
        .chain_update(attempts_made.to_be_bytes())
        .finalize();
    let mut first = [0; 8];
    first.copy_from_slice(&digest[..8]);
    let jitter = u64::from_be_bytes(first) % (span as u64 + 1);
    Some(at.saturating_add(jitter as i64))
}

/// What one attempt's answer means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx: the message is delivered.
    Delivered,
    /// 410 Gone: the receiver wants no more; disable the endpoint.
    Gone,
    /// Anything else: try again on the schedule.
    Failed,
}

impl Outcome {
    /// The outcome of an answer with `status`, or of no answer (`None`: a timeout, a refused
    /// or broken connection, a refused target).
    pub fn of(status: Option<u16>) -> Self {
        match status {
            Some(200..=299) => Self::Delivered,
            Some(410) => Self::Gone,
            _ => Self::Failed,
        }
    }

    /// What to do after the `attempts_made`-th attempt (counting this one), made at `now`,
    /// came out so.
    pub fn then(self, attempts_made: u32, now: Micros, msg_id: &str) -> Step {
        match self {
            Self::Delivered => Step::Delivered,
            Self::Gone => Step::DisableEndpoint,
            Self::Failed => match next_attempt_jittered(attempts_made, now, msg_id) {
                Some(at) => Step::RetryAt(at),
                None => Step::DeadLetter,
            },
        }
    }
}

/// What to do with a message after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Done: it was delivered.
    Delivered,
    /// Disable the endpoint; the message is not retried.
    DisableEndpoint,
    /// Try again at this time.
    RetryAt(Micros),
    /// Every attempt failed: keep it as a dead letter.
    DeadLetter,
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Micros = 1_700_000_000 * SECOND;

    #[test]
    fn the_schedule_spans_eight_attempts_then_gives_up() {
        let at: Vec<Option<Micros>> = (0..=8).map(|n| next_attempt(n, NOW)).collect();
        let after = |d: Micros| Some(NOW + d);
        assert_eq!(
            at,
            [
                after(0),
                after(5 * SECOND),
                after(5 * MINUTE),
                after(30 * MINUTE),
                after(2 * HOUR),
                after(5 * HOUR),
                after(10 * HOUR),
                after(10 * HOUR),
                None,
            ]
        );
        let total: Micros = DELAYS.iter().sum();
        assert_eq!(total, 27 * HOUR + 35 * MINUTE + 5 * SECOND);
    }

    #[test]
    fn jitter_is_small_deterministic_and_spreads_messages() {
        for n in 0..ATTEMPTS {
            let plain = next_attempt(n, NOW).unwrap();
            let j = next_attempt_jittered(n, NOW, "msg_a").unwrap();
            assert_eq!(j, next_attempt_jittered(n, NOW, "msg_a").unwrap());
            assert!(j >= plain && j <= plain + DELAYS[n as usize] / 10, "{n}");
        }
        assert_eq!(next_attempt_jittered(0, NOW, "msg_a"), Some(NOW));
        assert_eq!(next_attempt_jittered(ATTEMPTS, NOW, "msg_a"), None);
        let spread: std::collections::HashSet<Micros> = (0..20)
            .map(|i| next_attempt_jittered(4, NOW, &format!("msg_{i}")).unwrap())
            .collect();
        assert!(spread.len() > 10, "{spread:?}");
    }

    #[test]
    fn answers_are_classified() {
        for s in [200, 201, 204, 299] {
            assert_eq!(Outcome::of(Some(s)), Outcome::Delivered, "{s}");
        }
        assert_eq!(Outcome::of(Some(410)), Outcome::Gone);
        for s in [301, 302, 307, 400, 401, 404, 409, 429, 500, 502, 503, 504] {
            assert_eq!(Outcome::of(Some(s)), Outcome::Failed, "{s}");
        }
        assert_eq!(Outcome::of(None), Outcome::Failed);
    }

    #[test]
    fn a_failure_is_retried_until_the_last_attempt() {
        assert_eq!(Outcome::Delivered.then(3, NOW, "m"), Step::Delivered);
        assert_eq!(Outcome::Gone.then(1, NOW, "m"), Step::DisableEndpoint);
        match Outcome::Failed.then(1, NOW, "m") {
            Step::RetryAt(at) => {
                assert!((NOW + 5 * SECOND..=NOW + 5 * SECOND + SECOND / 2).contains(&at))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            Outcome::Failed.then(7, NOW, "m"),
            Step::RetryAt(_)
        ));
        assert_eq!(Outcome::Failed.then(8, NOW, "m"), Step::DeadLetter);
    }
}
