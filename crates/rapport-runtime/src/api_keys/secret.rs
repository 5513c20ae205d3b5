//! The secret of an API key: `rpk_<key id>_<random>`, the key id in its simple (hex) form and
//! 32 random bytes in unpadded base64url. Only its SHA-256 hash is kept. A salt, a pepper or a
//! slow hash guard low-entropy secrets (passwords) against guessing from a stolen hash; 256
//! random bits cannot be guessed, so a plain SHA-256 is as strong and costs a request nothing.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// What every API key secret starts with, and how authentication tells it from a JWT (which
/// starts with `eyJ`).
pub const PREFIX: &str = "rpk_";

/// Random bytes in a secret.
const RANDOM_BYTES: usize = 32;
/// Characters of the random part shown in a key's prefix.
const SHOWN_RANDOM_CHARS: usize = 4;

/// The SHA-256 hash of a secret.
pub type SecretHash = [u8; 32];

/// A secret just made: the text handed to the caller once, and the hash kept.
pub struct NewSecret {
    /// The whole secret.
    pub text: String,
    /// Its hash.
    pub hash: SecretHash,
}

// Hand-written so a secret never reaches a log line.
impl std::fmt::Debug for NewSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewSecret(..)")
    }
}

impl NewSecret {
    /// A new random secret of key `key_id`.
    pub fn generate(key_id: Uuid) -> Self {
        let mut random = [0u8; RANDOM_BYTES];
        rand::rng().fill_bytes(&mut random);
        let text = format!(
            "{PREFIX}{}_{}",
            key_id.simple(),
            URL_SAFE_NO_PAD.encode(random)
        );
        let hash = hash(&text);
        Self { text, hash }
    }

    /// What may be shown of it later: the prefix, the key id and a few random characters.
    pub fn shown(&self) -> String {
        let head = PREFIX.len() + 32 + 1 + SHOWN_RANDOM_CHARS;
        self.text.chars().take(head).collect()
    }
}

/// The key id a secret names, if `text` has the shape of one.
pub fn key_id(text: &str) -> Option<Uuid> {
    let rest = text.strip_prefix(PREFIX)?;
    let (id, random) = rest.split_once('_')?;
    let decoded = URL_SAFE_NO_PAD.decode(random).ok()?;
    if id.len() != 32 || decoded.len() != RANDOM_BYTES {
        return None;
    }
    Uuid::try_parse(id).ok()
}

/// The hash of secret `text`.
pub fn hash(text: &str) -> SecretHash {
    Sha256::digest(text.as_bytes()).into()
}

/// Whether two hashes are equal, in time independent of where they differ.
pub fn same(a: &SecretHash, b: &SecretHash) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A hash as stored: lower-case hex.
pub fn to_hex(hash: &SecretHash) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// A stored hash read back; `None` unless it is 64 hex digits.
pub fn from_hex(text: &str) -> Option<SecretHash> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// A hash from event bytes; `None` unless it is 32 bytes.
pub fn from_bytes(bytes: &[u8]) -> Option<SecretHash> {
    bytes.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_names_its_key_and_hashes_to_what_is_kept() {
        let id = Uuid::now_v7();
        let s = NewSecret::generate(id);
        assert!(s.text.starts_with(PREFIX));
        assert_eq!(key_id(&s.text), Some(id));
        assert!(same(&hash(&s.text), &s.hash));
        assert_eq!(from_hex(&to_hex(&s.hash)), Some(s.hash));
        assert!(s.text.starts_with(&s.shown()));
        assert_eq!(s.shown().len(), 4 + 32 + 1 + 4);
        assert_eq!(format!("{s:?}"), "NewSecret(..)");
        // Two secrets of one key differ.
        assert_ne!(NewSecret::generate(id).text, s.text);
    }

    #[test]
    fn only_the_shape_of_a_secret_names_a_key() {
        let id = Uuid::now_v7();
        let good = NewSecret::generate(id).text;
        assert!(key_id(&good).is_some());
        for bad in [
            "",
            "rpk_",
            "eyJhbGciOi.x.y",
            &good[..good.len() - 1],
            &format!("{good}A"),
            &good.replacen("rpk_", "rpx_", 1),
            &format!("rpk_{}_{}", id.hyphenated(), &good[37..]),
            &good.replace(&id.simple().to_string(), "zz"),
        ] {
            assert_eq!(key_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn hashes_compare_whole() {
        let a = hash("a");
        let mut b = a;
        assert!(same(&a, &b));
        b[31] ^= 1;
        assert!(!same(&a, &b));
        assert_eq!(from_hex("zz"), None);
        assert_eq!(from_hex(&"g".repeat(64)), None);
        assert_eq!(from_bytes(&[1, 2]), None);
    }
}
