//! Signing secrets. A secret is random bytes, one per endpoint, shown to the partner once as
//! `whsec_` followed by their base64; the signature is an HMAC-SHA256 keyed with the bytes.

use std::fmt;

use base64::{
    Engine,
    alphabet::STANDARD,
    engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig},
};
use rand::RngCore;
use rapport_runtime::validation::Violations;

/// What every secret starts with.
pub const PREFIX: &str = "whsec_";
/// Fewest bytes of a secret (192 bits), as the specification requires.
pub const MIN_BYTES: usize = 24;
/// Most bytes of a secret (512 bits), as the specification allows.
pub const MAX_BYTES: usize = 64;
/// Bytes of a secret [`Secret::generate`] makes.
pub const GENERATED_BYTES: usize = 32;

/// Standard base64, padded or not (receivers' libraries accept both, so secrets pasted back
/// either way are read).
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A signing secret. Its `Debug` never shows the bytes; [`Secret::expose`] gives the `whsec_`
/// form to store and to show the partner.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

/// Why a text is not a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretError {
    /// It does not start with `whsec_`.
    MissingPrefix,
    /// What follows `whsec_` is not base64.
    NotBase64,
    /// It holds fewer than [`MIN_BYTES`] bytes (how many it holds).
    TooShort(usize),
    /// It holds more than [`MAX_BYTES`] bytes (how many it holds).
    TooLong(usize),
}

impl fmt::Display for SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingPrefix => write!(f, "must start with {PREFIX}"),
            Self::NotBase64 => write!(f, "must be {PREFIX} followed by base64"),
            Self::TooShort(n) => write!(f, "must hold at least {MIN_BYTES} bytes, got {n}"),
            Self::TooLong(n) => write!(f, "must hold at most {MAX_BYTES} bytes, got {n}"),
        }
    }
}

impl std::error::Error for SecretError {}

impl Secret {
    /// A new secret of [`GENERATED_BYTES`] bytes from the operating system's generator.
    pub fn generate() -> Self {
        let mut bytes = vec![0; GENERATED_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// Reads a secret in its `whsec_` form.
    pub fn parse(raw: &str) -> Result<Self, SecretError> {
        let encoded = raw.strip_prefix(PREFIX).ok_or(SecretError::MissingPrefix)?;
        let bytes = BASE64.decode(encoded).map_err(|_| SecretError::NotBase64)?;
        Self::from_bytes(bytes)
    }

    /// A secret of the given bytes, [`MIN_BYTES`] to [`MAX_BYTES`] of them.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, SecretError> {
        match bytes.len() {
            n if n < MIN_BYTES => Err(SecretError::TooShort(n)),
            n if n > MAX_BYTES => Err(SecretError::TooLong(n)),
            _ => Ok(Self(bytes)),
        }
    }

    /// The `whsec_` form: what is stored and what the partner is shown.
    pub fn expose(&self) -> String {
        format!("{PREFIX}{}", BASE64.encode(&self.0))
    }

    /// The HMAC key.
    pub(crate) fn key(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({PREFIX}…, {} bytes)", self.0.len())
    }
}

impl std::str::FromStr for Secret {
    type Err = SecretError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A secret a request gives in `field`, reported there when it is not one.
pub fn field(v: &mut Violations, field: &str, raw: &str) -> Option<Secret> {
    Secret::parse(raw.trim())
        .map_err(|e| v.add(field, e.to_string()))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_round_trip_and_differ() {
        let a = Secret::generate();
        let b = Secret::generate();
        assert_ne!(a, b);
        assert_eq!(a.key().len(), GENERATED_BYTES);
        assert!(a.expose().starts_with("whsec_"));
        assert_eq!(Secret::parse(&a.expose()), Ok(a));
    }

    #[test]
    fn the_specifications_example_secret_parses_padded_or_not() {
        let s = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(s.key().len(), 24);
        let unpadded = Secret::from_bytes(vec![7; 25]).unwrap().expose();
        assert!(unpadded.ends_with('='));
        let trimmed = unpadded.trim_end_matches('=');
        assert_eq!(Secret::parse(trimmed).unwrap().key(), [7; 25]);
    }

    #[test]
    fn bad_secrets_are_refused_with_the_reason() {
        let too_short = format!("whsec_{}", BASE64.encode([1; 23]));
        let too_long = format!("whsec_{}", BASE64.encode([1; 65]));
        let cases = [
            ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "must start with whsec_"),
            ("whsec_not base64!", "must be whsec_ followed by base64"),
            ("whsec_", "must hold at least 24 bytes, got 0"),
            (too_short.as_str(), "must hold at least 24 bytes, got 23"),
            (too_long.as_str(), "must hold at most 64 bytes, got 65"),
        ];
        for (raw, want) in cases {
            assert_eq!(Secret::parse(raw).unwrap_err().to_string(), want, "{raw}");
        }
        assert!(Secret::parse(&format!("whsec_{}", BASE64.encode([1; 64]))).is_ok());
    }

    #[test]
    fn a_bad_secret_is_reported_under_its_field() {
        let mut v = Violations::new();
        assert_eq!(field(&mut v, "secret", "whsec_abc"), None);
        assert_eq!(
            v.items()[0].to_string(),
            "secret: must hold at least 24 bytes, got 2"
        );
    }

    #[test]
    fn debug_never_shows_the_bytes() {
        let s = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(format!("{s:?}"), "Secret(whsec_…, 24 bytes)");
    }
}
