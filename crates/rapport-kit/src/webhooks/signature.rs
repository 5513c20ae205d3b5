//! Message ids and signatures. A delivery carries three headers: `webhook-id` (the same on
//! every attempt of one event to one subscription, so the receiver can drop repeats),
//! `webhook-timestamp` (seconds since the epoch, of the attempt) and `webhook-signature`: for
//! each secret, `v1,` and the base64 of HMAC-SHA256 over `{id}.{timestamp}.{body}`, separated by
//! spaces, so during a rotation the old and the new secret both verify.

use std::fmt;

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use rapport_runtime::clock::{Micros, SECOND};
use sha2::{Digest, Sha256};

use super::secret::Secret;

/// The header with the message id.
pub const ID_HEADER: &str = "webhook-id";
/// The header with the attempt's timestamp, in seconds since the epoch.
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// The header with the signatures.
pub const SIGNATURE_HEADER: &str = "webhook-signature";
/// How far a message's timestamp may be from the verifier's clock, either way.
pub const TOLERANCE: Micros = 5 * 60 * SECOND;

/// The version tag of an HMAC-SHA256 signature.
const VERSION: &str = "v1";

/// The message id of `event_id` delivered to `subscription_id`: `msg_` and 32 hex digits of a
/// SHA-256 over both. Derived, never stored or generated, so every attempt and every manual
/// re-send of the event to that subscription carries the same id, and two subscriptions
/// receiving one event get different ids. Contains no `.`, which the signed text uses as a
/// separator.
pub fn message_id(subscription_id: &str, event_id: &str) -> String {
    let mut h = Sha256::new();
    // Length-prefixed, so ("ab", "c") and ("a", "bc") differ.
    h.update((subscription_id.len() as u64).to_be_bytes());
    h.update(subscription_id);
    h.update(event_id);
    let digest = h.finalize();
    let mut id = String::with_capacity(36);
    id.push_str("msg_");
    for b in &digest[..16] {
        id.push_str(&format!("{b:02x}"));
    }
    id
}

/// The `webhook-signature` value for a message: `v1,<base64>` for each of `secrets`, in order,
/// separated by spaces. `timestamp` is in seconds, as the `webhook-timestamp` header says it.
pub fn sign(msg_id: &str, timestamp: i64, body: &[u8], secrets: &[Secret]) -> String {
    secrets
        .iter()
        .map(|s| {
            let mac = mac(s, msg_id, timestamp, body).finalize().into_bytes();
            format!("{VERSION},{}", STANDARD.encode(mac))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The HMAC of a message under one secret, not yet finalized.
fn mac(secret: &Secret, msg_id: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.key())
        .expect("HMAC accepts keys of any length");
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The three headers of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Headers {
    /// `webhook-id`.
    pub id: String,
    /// `webhook-timestamp`, seconds since the epoch.
    pub timestamp: i64,
    /// `webhook-signature`.
    pub signature: String,
}

impl Headers {
    /// The headers of an attempt made at `now` of message `msg_id` with `body`.
    pub fn new(msg_id: &str, now: Micros, body: &[u8], secrets: &[Secret]) -> Self {
        let timestamp = now.div_euclid(SECOND);
        Self {
            id: msg_id.to_owned(),
            timestamp,
            signature: sign(msg_id, timestamp, body, secrets),
        }
    }
}

/// Why a message did not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    /// A header is missing or empty (its name).
    MissingHeader(&'static str),
    /// `webhook-timestamp` is not a whole number of seconds.
    BadTimestamp,
    /// The timestamp is more than [`TOLERANCE`] in the past.
    TooOld,
    /// The timestamp is more than [`TOLERANCE`] in the future.
    TooNew,
    /// No `v1` signature matches any of the secrets.
    NoMatch,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingHeader(h) => write!(f, "{h} is missing"),
            Self::BadTimestamp => write!(f, "{TIMESTAMP_HEADER} is not a number of seconds"),
            Self::TooOld => write!(f, "{TIMESTAMP_HEADER} is more than 5 minutes old"),
            Self::TooNew => write!(f, "{TIMESTAMP_HEADER} is more than 5 minutes ahead"),
            Self::NoMatch => write!(f, "no signature matches"),
        }
    }
}

impl std::error::Error for VerifyError {}

/// Verifies a received message at `now`: the timestamp within [`TOLERANCE`], and some `v1`
/// signature of `signatures` made by some secret of `secrets`. Signatures of other versions
/// and ones that are not base64 are passed over; each comparison takes the same time however
/// much of it matches.
pub fn verify(
    secrets: &[Secret],
    msg_id: &str,
    timestamp: &str,
    signatures: &str,
    body: &[u8],
    now: Micros,
) -> Result<(), VerifyError> {
    for (name, value) in [
        (ID_HEADER, msg_id),
        (TIMESTAMP_HEADER, timestamp),
        (SIGNATURE_HEADER, signatures),
    ] {
        if value.trim().is_empty() {
            return Err(VerifyError::MissingHeader(name));
        }
    }
    let seconds: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| VerifyError::BadTimestamp)?;
    let at = seconds
        .checked_mul(SECOND)
        .ok_or(VerifyError::BadTimestamp)?;
    if at < now.saturating_sub(TOLERANCE) {
        return Err(VerifyError::TooOld);
    }
    if at > now.saturating_add(TOLERANCE) {
        return Err(VerifyError::TooNew);
    }
    let candidates = signatures
        .split(' ')
        .filter_map(|s| s.split_once(','))
        .filter(|(version, _)| *version == VERSION)
        .filter_map(|(_, sig)| STANDARD.decode(sig).ok());
    for candidate in candidates {
        for secret in secrets {
            // `verify_slice` compares in constant time.
            if mac(secret, msg_id, seconds, body)
                .verify_slice(&candidate)
                .is_ok()
            {
                return Ok(());
            }
        }
    }
    Err(VerifyError::NoMatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example of the specification's reference libraries.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const MSG_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: i64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    const NOW: Micros = TIMESTAMP * SECOND;

    fn secret() -> Secret {
        Secret::parse(SECRET).unwrap()
    }

    fn check(secrets: &[Secret], timestamp: &str, signature: &str, body: &[u8], now: Micros) {
        assert_eq!(
            verify(secrets, MSG_ID, timestamp, signature, body, now),
            Ok(())
        );
    }

    fn refused(signature: &str, body: &[u8], secrets: &[Secret], now: Micros) -> VerifyError {
        verify(
            secrets,
            MSG_ID,
            &TIMESTAMP.to_string(),
            signature,
            body,
            now,
        )
        .unwrap_err()
    }

    #[test]
    fn the_specifications_example_signs_as_published() {
        assert_eq!(sign(MSG_ID, TIMESTAMP, BODY, &[secret()]), SIGNATURE);
        check(&[secret()], "1614265330", SIGNATURE, BODY, NOW);
    }

    #[test]
    fn headers_carry_the_attempts_time_in_whole_seconds() {
        let h = Headers::new(MSG_ID, NOW + 999_999, BODY, &[secret()]);
        assert_eq!(h.timestamp, TIMESTAMP);
        assert_eq!(h.signature, SIGNATURE);
        assert_eq!(h.id, MSG_ID);
    }

    #[test]
    fn a_rotation_signs_with_each_secret_and_either_verifies() {
        let new = Secret::generate();
        let header = sign(MSG_ID, TIMESTAMP, BODY, &[new.clone(), secret()]);
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[1], SIGNATURE);
        assert_ne!(parts[0], SIGNATURE);
        assert!(parts[0].starts_with("v1,"));
        check(&[secret()], "1614265330", &header, BODY, NOW);
        check(&[new], "1614265330", &header, BODY, NOW);
    }

    #[test]
    fn tampering_is_refused() {
        let s = [secret()];
        let other_body = br#"{"test": 2432232315}"#;
        assert_eq!(
            refused(SIGNATURE, other_body, &s, NOW),
            VerifyError::NoMatch
        );
        let other_sig = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=";
        assert_eq!(refused(other_sig, BODY, &s, NOW), VerifyError::NoMatch);
        // The signature covers the id and the timestamp too.
        let err = verify(&s, "msg_other", "1614265330", SIGNATURE, BODY, NOW);
        assert_eq!(err, Err(VerifyError::NoMatch));
        let err = verify(&s, MSG_ID, "1614265331", SIGNATURE, BODY, NOW);
        assert_eq!(err, Err(VerifyError::NoMatch));
        // Another version's tag on the right bytes does not count.
        let v2 = SIGNATURE.replacen("v1,", "v2,", 1);
        assert_eq!(refused(&v2, BODY, &s, NOW), VerifyError::NoMatch);
    }

    #[test]
    fn a_wrong_secret_is_refused() {
        let wrong = [Secret::generate()];
        assert_eq!(refused(SIGNATURE, BODY, &wrong, NOW), VerifyError::NoMatch);
    }

    #[test]
    fn timestamps_outside_five_minutes_are_refused() {
        let s = [secret()];
        check(&s, "1614265330", SIGNATURE, BODY, NOW + TOLERANCE);
        check(&s, "1614265330", SIGNATURE, BODY, NOW - TOLERANCE);
        let late = NOW + TOLERANCE + 1;
        assert_eq!(refused(SIGNATURE, BODY, &s, late), VerifyError::TooOld);
        let early = NOW - TOLERANCE - 1;
        assert_eq!(refused(SIGNATURE, BODY, &s, early), VerifyError::TooNew);
        for bad in ["soon", "1614265330.5", "99999999999999999"] {
            let err = verify(&s, MSG_ID, bad, SIGNATURE, BODY, NOW);
            assert_eq!(err, Err(VerifyError::BadTimestamp), "{bad}");
        }
    }

    #[test]
    fn the_matching_signature_may_be_anywhere_in_the_list() {
        let list = format!(
            "v1a,AAAA v1,notbase64! v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= {SIGNATURE}"
        );
        check(&[secret()], "1614265330", &list, BODY, NOW);
    }

    #[test]
    fn missing_headers_are_named() {
        let s = [secret()];
        let err = verify(&s, "", "1614265330", SIGNATURE, BODY, NOW).unwrap_err();
        assert_eq!(err.to_string(), "webhook-id is missing");
        let err = verify(&s, MSG_ID, "1614265330", " ", BODY, NOW).unwrap_err();
        assert_eq!(err, VerifyError::MissingHeader(SIGNATURE_HEADER));
    }

    #[test]
    fn message_ids_are_stable_per_subscription_and_event() {
        let id = message_id("sub_1", "evt_1");
        assert_eq!(id, message_id("sub_1", "evt_1"));
        assert_eq!(id.len(), 36);
        assert!(id.starts_with("msg_"));
        assert!(id[4..].bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(id, message_id("sub_2", "evt_1"));
        assert_ne!(id, message_id("sub_1", "evt_2"));
        assert_ne!(message_id("ab", "c"), message_id("a", "bc"));
    }
}
