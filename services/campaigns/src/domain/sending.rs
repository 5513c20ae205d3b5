//! What the send worker decides without I/O: each message's id, the retry schedule, what a
//! channel's answer makes of a recipient.

use rapport_runtime::clock::Micros;

/// How many times a message is tried before it is given up.
pub const MAX_ATTEMPTS: i32 = 5;

/// The message id of `customer`'s message of run `run`: the same on every attempt, so the SMS
/// gateway and the mail server can tell a resend after a crash from a new message.
pub fn message_id(run: &str, customer: &str) -> String {
    format!("{run}.{customer}")
}

/// When the attempt after `attempts` failed ones is due, from `now`: 30 s, 2 min, 10 min, 1 h.
pub fn retry_at(attempts: i32, now: Micros) -> Micros {
    const SECOND: Micros = 1_000_000;
    let wait = match attempts {
        ..=1 => 30 * SECOND,
        2 => 120 * SECOND,
        3 => 600 * SECOND,
        _ => 3_600 * SECOND,
    };
    now.saturating_add(wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_and_ids_are_stable() {
        assert_eq!(retry_at(1, 0), 30_000_000);
        assert!(retry_at(2, 0) < retry_at(3, 0) && retry_at(3, 0) < retry_at(4, 0));
        assert_eq!(message_id("r", "c"), message_id("r", "c"));
    }
}
