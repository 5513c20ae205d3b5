//! API keys: parsing what a caller sends and building answers, which never carry a secret
//! hash.

use rapport_kit::{names, validate};
use rapport_proto::partners as pb;
use rapport_runtime::{api_keys::scope, clock::Micros, validation::Violations};

use super::time;
use crate::domain::api_key::{ApiKey, KeyState, MAX_DISPLAY_NAME, MAX_SCOPES};

/// What CreateApiKey asks for: the display name, the scopes and the expiry, when given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewKey {
    pub display_name: String,
    pub scopes: Vec<String>,
    pub expire_time: Option<Micros>,
}

/// The key CreateApiKey asks for, every bad field reported under `api_key.`.
pub fn parse_new_key(k: Option<&pb::ApiKey>, v: &mut Violations) -> NewKey {
    let Some(k) = k else {
        v.add("api_key", "is required");
        return NewKey {
            display_name: String::new(),
            scopes: Vec::new(),
            expire_time: None,
        };
    };
    let display_name =
        validate::required_text(v, "api_key.display_name", &k.display_name, MAX_DISPLAY_NAME);
    if k.scopes.is_empty() {
        v.add(
            "api_key.scopes",
            "is required: the methods the key may call, or \"*\"",
        );
    }
    let mut scopes = Vec::new();
    for (i, s) in validate::capped(v, "api_key.scopes", &k.scopes, MAX_SCOPES)
        .iter()
        .enumerate()
    {
        let s = s.trim();
        match scope::check(s) {
            Ok(()) if !scopes.iter().any(|x| x == s) => scopes.push(s.to_owned()),
            Ok(()) => {}
            Err(e) => v.add(format!("api_key.scopes[{i}]"), e),
        }
    }
    let expire_time = validate::optional_time(k.expire_time.as_ref(), "api_key.expire_time", v);
    NewKey {
        display_name,
        scopes,
        expire_time,
    }
}

/// The answer for `k` at `now`.
pub fn api_key_to_proto(k: &ApiKey, now: Micros) -> pb::ApiKey {
    pb::ApiKey {
        name: k.name(),
        display_name: k.display_name.clone(),
        scopes: k.scopes.clone(),
        expire_time: time(Some(k.expire_time)),
        create_time: time(Some(k.create_time)),
        last_use_time: time(k.last_use_time),
        revoke_time: time(k.revoke_time),
        state: match k.state(now) {
            KeyState::Active => pb::ApiKeyState::Active,
            KeyState::Expired => pb::ApiKeyState::Expired,
            KeyState::Revoked => pb::ApiKeyState::Revoked,
        }
        .into(),
        prefix: k.prefix.clone(),
        previous_secret_expire_time: time(k.previous_until(now)),
        etag: names::etag(k.id.as_bytes(), k.version),
        update_time: time(Some(k.update_time)),
    }
}
