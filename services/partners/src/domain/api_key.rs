//! Partners' API keys (PA5): how long a key and a rotation's overlap may last, its state, and
//! what a rotation and a revocation do. A key acts as its partner: role `partner`, subject
//! `partners/{partner}`.

use rapport_runtime::{
    api_keys::{KeyRecord, Previous, secret::SecretHash},
    auth::Role,
    clock::Micros,
};
use uuid::Uuid;

use super::partner::PARTNERS;

/// The collection of keys under a partner.
pub const API_KEYS: &str = "apiKeys";
/// How a key's name is written.
pub const KEY_PATTERN: &str = "partners/{partner}/apiKeys/{api_key}";
/// Most scopes a key has.
pub const MAX_SCOPES: usize = 50;
/// Longest display name.
pub const MAX_DISPLAY_NAME: usize = 100;

const HOUR: Micros = 3_600_000_000;
const DAY: Micros = 24 * HOUR;
/// A key's life when the request gives no expiry.
pub const DEFAULT_LIFETIME: Micros = 365 * DAY;
/// The longest life a key may be given: a key that never expires outlives the system that
/// holds it.
pub const MAX_LIFETIME: Micros = 2 * 365 * DAY;
/// How long the secret before a rotation keeps working when the request does not say.
pub const DEFAULT_OVERLAP: Micros = DAY;
/// The longest overlap: long enough to roll a new secret out, short enough that a leaked
/// secret replaced by a rotation soon stops.
pub const MAX_OVERLAP: Micros = 7 * DAY;

/// Whether a key works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    Active,
    Expired,
    Revoked,
}

/// Why a key cannot be rotated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Revoked,
    Expired,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Refusal::Revoked => "the key is revoked; create a new one",
            Refusal::Expired => "the key expired; create a new one",
        })
    }
}

/// A partner's API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: Uuid,
    pub partner_id: Uuid,
    pub display_name: String,
    pub scopes: Vec<String>,
    /// The first characters of the current secret.
    pub prefix: String,
    pub secret: SecretHash,
    pub secret_time: Micros,
    pub previous: Option<Previous>,
    pub expire_time: Micros,
    pub revoke_time: Option<Micros>,
    pub last_use_time: Option<Micros>,
    pub create_time: Micros,
    pub update_time: Micros,
    pub version: i64,
}

impl ApiKey {
    /// "partners/{partner}/apiKeys/{api_key}".
    pub fn name(&self) -> String {
        rapport_kit::names::format_child_id(PARTNERS, self.partner_id, API_KEYS, self.id)
    }

    /// Whether it works at `now`.
    pub fn state(&self, now: Micros) -> KeyState {
        if self.revoke_time.is_some() {
            KeyState::Revoked
        } else if now >= self.expire_time {
            KeyState::Expired
        } else {
            KeyState::Active
        }
    }

    /// Until when the secret before the last rotation works, if it still does at `now`.
    pub fn previous_until(&self, now: Micros) -> Option<Micros> {
        self.previous
            .as_ref()
            .map(|p| p.until)
            .filter(|until| *until > now)
    }

    /// Gives the key the secret `hash` (shown as `prefix`) at `now`; the current one works on
    /// until `overlap_end`, and the one before it stops.
    pub fn rotate(
        &mut self,
        hash: SecretHash,
        prefix: String,
        now: Micros,
        overlap_end: Micros,
    ) -> Result<(), Refusal> {
        match self.state(now) {
            KeyState::Revoked => return Err(Refusal::Revoked),
            KeyState::Expired => return Err(Refusal::Expired),
            KeyState::Active => {}
        }
        self.previous = (overlap_end > now).then_some(Previous {
            hash: self.secret,
            time: self.secret_time,
            until: overlap_end,
        });
        self.secret = hash;
        self.secret_time = now;
        self.prefix = prefix;
        Ok(())
    }

    /// Revokes the key at `now`; `false` when it was revoked already.
    pub fn revoke(&mut self, now: Micros) -> bool {
        if self.revoke_time.is_some() {
            return false;
        }
        self.revoke_time = Some(now);
        self.previous = None;
        true
    }

    /// The key as every service's authentication needs it, in `tenant`.
    pub fn record(&self, tenant: &str) -> KeyRecord {
        KeyRecord {
            key_id: self.id,
            tenant: tenant.to_owned(),
            subject: rapport_kit::names::format_id(PARTNERS, self.partner_id),
            roles: vec![Role::Partner],
            scopes: self.scopes.clone(),
            secret: self.secret,
            secret_time: self.secret_time,
            previous: self.previous.clone(),
            expire_time: self.expire_time,
            revoke_time: self.revoke_time,
            version: self.version,
        }
    }
}

/// When a key made at `now` expires: `requested`, or [`DEFAULT_LIFETIME`] from now; a time
/// not in the future or past [`MAX_LIFETIME`] is refused.
pub fn expiry(requested: Option<Micros>, now: Micros) -> Result<Micros, String> {
    let Some(at) = requested else {
        return Ok(now.saturating_add(DEFAULT_LIFETIME));
    };
    if at <= now {
        Err("must be in the future".into())
    } else if at > now.saturating_add(MAX_LIFETIME) {
        Err("must be at most two years ahead".into())
    } else {
        Ok(at)
    }
}

/// Until when the secret replaced by a rotation at `now` works: `requested`, or
/// [`DEFAULT_OVERLAP`] from now; a time in the past or past [`MAX_OVERLAP`] is refused. Now
/// itself ends it at once.
pub fn overlap_end(requested: Option<Micros>, now: Micros) -> Result<Micros, String> {
    let Some(at) = requested else {
        return Ok(now.saturating_add(DEFAULT_OVERLAP));
    };
    if at < now {
        Err("must not be in the past".into())
    } else if at > now.saturating_add(MAX_OVERLAP) {
        Err("must be at most seven days ahead".into())
    } else {
        Ok(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rapport_runtime::api_keys::secret::hash;

    const NOW: Micros = 1_700_000_000_000_000;

    fn key() -> ApiKey {
        ApiKey {
            id: Uuid::now_v7(),
            partner_id: Uuid::now_v7(),
            display_name: "ERP".into(),
            scopes: vec!["*".into()],
            prefix: "rpk_x".into(),
            secret: hash("first"),
            secret_time: NOW,
            previous: None,
            expire_time: NOW + 10 * DAY,
            revoke_time: None,
            last_use_time: None,
            create_time: NOW,
            update_time: NOW,
            version: 1,
        }
    }

    #[test]
    fn expiry_defaults_to_a_year_and_stays_within_two() {
        assert_eq!(expiry(None, NOW), Ok(NOW + DEFAULT_LIFETIME));
        assert_eq!(expiry(Some(NOW + DAY), NOW), Ok(NOW + DAY));
        assert_eq!(
            expiry(Some(NOW + MAX_LIFETIME), NOW),
            Ok(NOW + MAX_LIFETIME)
        );
        assert!(expiry(Some(NOW), NOW).is_err());
        assert!(expiry(Some(NOW + MAX_LIFETIME + 1), NOW).is_err());
    }

    #[test]
    fn overlap_defaults_to_a_day_and_stays_within_seven() {
        assert_eq!(overlap_end(None, NOW), Ok(NOW + DAY));
        assert_eq!(overlap_end(Some(NOW), NOW), Ok(NOW));
        assert_eq!(
            overlap_end(Some(NOW + MAX_OVERLAP), NOW),
            Ok(NOW + MAX_OVERLAP)
        );
        assert!(overlap_end(Some(NOW - 1), NOW).is_err());
        assert!(overlap_end(Some(NOW + MAX_OVERLAP + 1), NOW).is_err());
    }

    #[test]
    fn a_rotation_keeps_the_secret_before_until_the_overlap_ends() {
        let mut k = key();
        k.rotate(hash("second"), "rpk_2".into(), NOW + 5, NOW + HOUR)
            .expect("rotated");
        assert_eq!(k.secret, hash("second"));
        assert_eq!(k.secret_time, NOW + 5);
        let previous = k.previous.clone().expect("the first secret works on");
        assert_eq!((previous.hash, previous.time), (hash("first"), NOW));
        assert_eq!(k.previous_until(NOW + 6), Some(NOW + HOUR));
        assert_eq!(k.previous_until(NOW + HOUR), None);
        // A second rotation ends the first secret at once.
        k.rotate(hash("third"), "rpk_3".into(), NOW + 10, NOW + 10)
            .expect("rotated again");
        assert_eq!(k.previous, None);
        assert_eq!(
            k.record("t1").issue_time_of(&hash("second"), NOW + 11),
            None
        );
        assert_eq!(
            k.record("t1").issue_time_of(&hash("third"), NOW + 11),
            Some(NOW + 10)
        );
    }

    #[test]
    fn revoked_and_expired_keys_are_not_rotated() {
        let mut k = key();
        assert_eq!(k.state(NOW), KeyState::Active);
        assert_eq!(k.state(k.expire_time), KeyState::Expired);
        let at = k.expire_time;
        assert_eq!(
            k.rotate(hash("x"), String::new(), at, at),
            Err(Refusal::Expired)
        );
        k.rotate(hash("second"), String::new(), NOW, NOW + HOUR)
            .expect("rotated");
        assert!(k.revoke(NOW + 1));
        assert!(!k.revoke(NOW + 2), "revoked once");
        assert_eq!(k.revoke_time, Some(NOW + 1));
        assert_eq!(k.previous, None, "no secret works after a revocation");
        assert_eq!(k.state(NOW + 2), KeyState::Revoked);
        assert_eq!(
            k.rotate(hash("y"), String::new(), NOW + 3, NOW + 3),
            Err(Refusal::Revoked)
        );
    }

    #[test]
    fn a_key_acts_as_its_partner() {
        let k = key();
        let r = k.record("t1");
        assert_eq!(r.subject, format!("partners/{}", k.partner_id));
        assert_eq!(r.roles, [Role::Partner]);
        assert_eq!(r.tenant, "t1");
        assert_eq!(
            k.name(),
            format!("partners/{}/apiKeys/{}", k.partner_id, k.id)
        );
    }
}
