//! Resource names after AIP-122: `collection/{id}`, and `parents/{parent}/collection/{id}` for
//! a resource under another. Server-assigned ids are UUIDs in the hyphenated form (any version,
//! either case, always printed in lower case: names compare as text, so an id has one
//! spelling); client-chosen keys are short lower-case slugs; subjects (people's ids from tokens)
//! are any text without "/". A parse error is a sentence about the value; the API layer attaches
//! it to the field the value came from.

use rapport_runtime::Error;
use uuid::Uuid;

/// `collection/{id}` of a server-assigned id.
pub fn format_id(collection: &str, id: Uuid) -> String {
    format!("{collection}/{}", id.hyphenated())
}

/// `parents/{parent}/collection/{id}`.
pub fn format_child_id(parents: &str, parent: Uuid, collection: &str, id: Uuid) -> String {
    format!(
        "{parents}/{}/{collection}/{}",
        parent.hyphenated(),
        id.hyphenated()
    )
}

/// The id of `collection/{id}`.
pub fn parse_id(collection: &str, name: &str) -> Result<Uuid, String> {
    let id = tail(collection, name)?;
    uuid(id, &format!("{collection}/{{id}}"))
}

/// The (parent, child) ids of `parents/{parent}/collection/{id}`; `pattern` is how the
/// resource's documentation writes it, for the error.
pub fn parse_child_id(
    parents: &str,
    collection: &str,
    name: &str,
    pattern: &str,
) -> Result<(Uuid, Uuid), String> {
    if name.is_empty() {
        return Err(format!("is required, as \"{pattern}\""));
    }
    match name.split('/').collect::<Vec<_>>().as_slice() {
        [p, parent, c, child] if *p == parents && *c == collection => {
            Ok((uuid(parent, pattern)?, uuid(child, pattern)?))
        }
        _ => Err(format!("\"{name}\" does not match \"{pattern}\"")),
    }
}

/// Accepts only `singleton`, the name of a resource a tenant has one of (e.g. `settings`).
pub fn parse_singleton(singleton: &str, name: &str) -> Result<(), String> {
    match name {
        _ if name == singleton => Ok(()),
        "" => Err("is required".to_owned()),
        _ => Err(format!("must be \"{singleton}\", got \"{name}\"")),
    }
}

fn uuid(id: &str, pattern: &str) -> Result<Uuid, String> {
    if id.len() == 36
        && let Ok(uuid) = Uuid::try_parse(id)
    {
        return Ok(uuid);
    }
    Err(format!(
        "\"{id}\" is not a UUID (in \"{pattern}\", ids are hyphenated UUIDs)"
    ))
}

/// The key of `collection/{key}`, a slug of 1..63 lower-case ASCII letters, digits, `-`, `_`,
/// starting with a letter or digit.
pub fn parse_key<'a>(collection: &str, name: &'a str) -> Result<&'a str, String> {
    let key = tail(collection, name)?;
    if is_key(key) {
        Ok(key)
    } else {
        Err(format!(
            "{name:?}: the id after \"{collection}/\" must be 1..63 lower-case letters, digits, \
             \"-\" or \"_\", starting with a letter or digit"
        ))
    }
}

/// Whether `key` is a valid client-chosen key.
pub fn is_key(key: &str) -> bool {
    (1..=63).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && key
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
}

/// The subject of `collection/{subject}`: 1..128 characters, no `/` or control characters.
pub fn parse_subject<'a>(collection: &str, name: &'a str) -> Result<&'a str, String> {
    let subject = tail(collection, name)?;
    if (1..=128).contains(&subject.chars().count()) && !subject.chars().any(char::is_control) {
        Ok(subject)
    } else {
        Err(format!(
            "{name:?}: the id after \"{collection}/\" must be 1..128 characters without \"/\""
        ))
    }
}

/// The etag of version `version` of the resource `key` names (its name, or its id's bytes):
/// 16 hex digits of a SHA-256, opaque so clients cannot read a version number into it, and
/// changing with every version.
pub fn etag(key: impl AsRef<[u8]>, version: i64) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    hash.update(key.as_ref());
    hash.update(version.to_be_bytes());
    hash.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// ABORTED unless `given` is empty (no check asked) or the resource `name`'s `current` etag.
pub fn check_etag(given: &str, current: &str, name: &str) -> Result<(), Error> {
    if given.is_empty() || given == current {
        Ok(())
    } else {
        Err(Error::stale_etag(name))
    }
}

fn tail<'a>(collection: &str, name: &'a str) -> Result<&'a str, String> {
    match name.split_once('/') {
        Some((c, id)) if c == collection && !id.is_empty() && !id.contains('/') => Ok(id),
        _ if name.is_empty() => Err(format!("is required, as \"{collection}/{{id}}\"")),
        _ => Err(format!("\"{name}\" does not match \"{collection}/{{id}}\"")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        let id = Uuid::now_v7();
        let name = format_id("leads", id);
        assert_eq!(parse_id("leads", &name), Ok(id));
        assert_eq!(
            parse_id("leads", &name.to_uppercase().replacen("LEADS", "leads", 1)),
            Ok(id)
        );
        assert!(parse_id("tasks", &name).is_err());
        assert!(parse_id("leads", "leads/nope").is_err());
        assert!(parse_id("leads", "").unwrap_err().contains("required"));
        assert!(parse_id("leads", &format!("{name}/x")).is_err());
        assert!(parse_id("leads", &format!("leads/{}", id.simple())).is_err());
    }

    #[test]
    fn child_ids_round_trip_and_check_every_part() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let pattern = "customers/{customer}/activities/{activity}";
        let name = format_child_id("customers", a, "activities", b);
        assert_eq!(
            parse_child_id("customers", "activities", &name, pattern),
            Ok((a, b))
        );
        let other = format_child_id("customers", a, "relationships", b);
        assert!(
            parse_child_id("customers", "activities", &other, pattern)
                .unwrap_err()
                .contains(pattern)
        );
        assert!(
            parse_child_id("customers", "activities", "", pattern)
                .unwrap_err()
                .contains("required")
        );
        assert_eq!(parse_singleton("settings", "settings"), Ok(()));
        assert!(parse_singleton("settings", "settings/1").is_err());
    }

    #[test]
    fn keys_and_subjects() {
        assert_eq!(parse_key("teams", "teams/north-1"), Ok("north-1"));
        assert!(parse_key("teams", "teams/North").is_err());
        assert!(parse_key("teams", "teams/-x").is_err());
        assert!(parse_key("teams", &format!("teams/{}", "a".repeat(64))).is_err());
        assert_eq!(parse_subject("reps", "reps/张伟"), Ok("张伟"));
        assert!(parse_subject("reps", "reps/").is_err());
        assert!(parse_subject("reps", "reps/a/b").is_err());
    }
}
