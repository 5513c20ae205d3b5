//! List pagination after AIP-158: page sizes and opaque keyset page tokens.
//!
//! A page token carries the sort key of the last row a page returned, so the next page starts
//! strictly after it (`WHERE (sort, id) > cursor`), never at an OFFSET: pages stay cheap deep
//! into a list and do not skip or repeat rows when rows are inserted meanwhile. The token also
//! carries a fingerprint of the query that minted it, so a token replayed with another filter,
//! order or tenant is refused instead of silently returning the wrong rows.
//!
//! Tokens are not secret and grant nothing: the tenant and filter are applied from the request
//! every time, so a tampered token can at most move the starting point.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use rapport_runtime::validation::FieldViolation;

/// Page size used when the request leaves `page_size` at 0.
pub const DEFAULT_PAGE_SIZE: u32 = 50;

/// Largest page returned; larger requests are capped, as AIP-158 asks, rather than refused.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// Longest token accepted; real tokens are far shorter, and this bounds decoding work.
const MAX_TOKEN_LEN: usize = 2048;

/// The effective page size for a request's `page_size`: 0 means the default, sizes above the
/// maximum are capped, negative sizes are an error.
pub fn page_size(raw: i32) -> Result<u32, FieldViolation> {
    match u32::try_from(raw) {
        Ok(0) => Ok(DEFAULT_PAGE_SIZE),
        Ok(n) => Ok(n.min(MAX_PAGE_SIZE)),
        Err(_) => Err(FieldViolation {
            field: "page_size".to_owned(),
            description: format!("must not be negative (got {raw})"),
        }),
    }
}

/// One component of a keyset cursor: the value of a sort column in the last row of a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CursorValue {
    /// An integer column (times in microseconds, amounts, counters).
    Int(i64),
    /// A text column (ids, names).
    Text(String),
    /// SQL NULL.
    Null,
}

impl From<i64> for CursorValue {
    fn from(value: i64) -> Self {
        CursorValue::Int(value)
    }
}

impl From<String> for CursorValue {
    fn from(value: String) -> Self {
        CursorValue::Text(value)
    }
}

impl From<&str> for CursorValue {
    fn from(value: &str) -> Self {
        CursorValue::Text(value.to_owned())
    }
}

/// What a token holds, before base64. Short keys keep tokens short.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Token {
    /// Fingerprint of the query the token belongs to.
    f: String,
    /// The cursor: sort key of the last row returned.
    k: Vec<CursorValue>,
}

/// A stable fingerprint of the parameters that define a list query (filter, order_by, parent,
/// show_deleted, tenant, ...). Equal inputs give equal fingerprints in every process and
/// version, so tokens survive restarts and work across replicas.
pub fn fingerprint(parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        // Length-prefixed so that ["ab", "c"] and ["a", "bc"] differ.
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    let digest = hash.finalize();
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// The page token that continues the query `fingerprint` after the row whose sort key is `key`.
pub fn encode_token(fingerprint: &str, key: &[CursorValue]) -> String {
    let token = Token {
        f: fingerprint.to_owned(),
        k: key.to_vec(),
    };
    // Serializing plain strings, integers and nulls cannot fail.
    let json = serde_json::to_vec(&token).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// The cursor in `token`, provided the token was minted for the query `fingerprint`.
pub fn decode_token(token: &str, fingerprint: &str) -> Result<Vec<CursorValue>, FieldViolation> {
    let invalid = |description: &str| FieldViolation {
        field: "page_token".to_owned(),
        description: description.to_owned(),
    };
    let garbage = "is not a page token returned by this method; pass the next_page_token of the \
                   previous response unchanged";
    if token.len() > MAX_TOKEN_LEN {
        return Err(invalid(garbage));
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(token.trim())
        .map_err(|_| invalid(garbage))?;
    let token: Token = serde_json::from_slice(&bytes).map_err(|_| invalid(garbage))?;
    if token.f != fingerprint {
        return Err(invalid(
            "belongs to a different query; filter, order_by and the other list parameters must \
             stay the same across pages (start again without a page_token to change them)",
        ));
    }
    Ok(token.k)
}

/// The cursor in `token` for the query `fingerprint`, checked with `fits` (a cursor of the
/// wrong shape was tampered with and must not reach SQL); an empty token starts at the top.
pub fn decode_cursor(
    token: &str,
    fingerprint: &str,
    fits: impl Fn(&[CursorValue]) -> bool,
) -> Result<Vec<CursorValue>, FieldViolation> {
    if token.is_empty() {
        return Ok(Vec::new());
    }
    let cursor = decode_token(token, fingerprint)?;
    if fits(&cursor) {
        Ok(cursor)
    } else {
        Err(FieldViolation {
            field: "page_token".to_owned(),
            description: "does not belong to this query".to_owned(),
        })
    }
}

/// A parsed page request: the size, where to start, and the fingerprint the next token carries.
#[derive(Debug, Clone)]
pub struct Page {
    /// Rows to return.
    pub limit: u32,
    /// The keyset cursor to start after; empty on the first page.
    pub after: Vec<CursorValue>,
    fingerprint: String,
}

impl Page {
    /// Reads `page_size` and `page_token` for the query identified by `query` (tenant, parent,
    /// filter, order, …), reporting both fields' violations at once. `fits` checks the cursor's
    /// shape.
    pub fn parse(
        query: &[&str],
        page_size: i32,
        page_token: &str,
        fits: impl Fn(&[CursorValue]) -> bool,
    ) -> Result<Page, Vec<FieldViolation>> {
        let fingerprint = fingerprint(query);
        let limit = self::page_size(page_size);
        let after = decode_cursor(page_token, &fingerprint, fits);
        match (limit, after) {
            (Ok(limit), Ok(after)) => Ok(Page {
                limit,
                after,
                fingerprint,
            }),
            (limit, after) => Err(limit.err().into_iter().chain(after.err()).collect()),
        }
    }

    /// The page of `limit` rows of the query with `fingerprint`, for minting the next token.
    pub(crate) fn resume(limit: u32, fingerprint: &str) -> Page {
        Page {
            limit,
            after: Vec::new(),
            fingerprint: fingerprint.to_owned(),
        }
    }

    /// Rows to fetch: one more than the page, to know whether another page follows.
    pub fn fetch(&self) -> u32 {
        self.limit + 1
    }

    /// Cuts `rows` (fetched with [`Page::fetch`]) to the page and returns the next page's token
    /// (empty on the last page); `key` gives a row's cursor.
    pub fn next_token<T>(&self, rows: &mut Vec<T>, key: impl Fn(&T) -> Vec<CursorValue>) -> String {
        if rows.len() <= self.limit as usize {
            return String::new();
        }
        rows.truncate(self.limit as usize);
        rows.last()
            .map(|r| encode_token(&self.fingerprint, &key(r)))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_rules() {
        assert_eq!(page_size(0), Ok(DEFAULT_PAGE_SIZE));
        assert_eq!(page_size(1), Ok(1));
        assert_eq!(page_size(1000), Ok(1000));
        assert_eq!(page_size(1001), Ok(MAX_PAGE_SIZE));
        assert_eq!(page_size(i32::MAX), Ok(MAX_PAGE_SIZE));
        let err = page_size(-1).unwrap_err();
        assert_eq!(err.field, "page_size");
        assert!(page_size(i32::MIN).is_err());
    }

    #[test]
    fn token_round_trip() {
        let fp = fingerprint(&["tenant-1", "name:\"伟\"", "create_time desc"]);
        let key = vec![
            CursorValue::Int(1_714_521_600_000_000),
            CursorValue::Text("0190a5b4-7c2e-7d3a-9f00-1234567890ab".into()),
            CursorValue::Null,
            CursorValue::Text("张伟".into()),
        ];
        let token = encode_token(&fp, &key);
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(decode_token(&token, &fp), Ok(key));
    }

    #[test]
    fn token_from_another_query_is_refused() {
        let a = fingerprint(&["tenant-1", "status = ACTIVE", ""]);
        let b = fingerprint(&["tenant-1", "status = INACTIVE", ""]);
        assert_ne!(a, b);
        let token = encode_token(&a, &[CursorValue::Int(1)]);
        let err = decode_token(&token, &b).unwrap_err();
        assert_eq!(err.field, "page_token");
        assert!(err.description.contains("different query"), "{err}");
    }

    #[test]
    fn garbage_tokens_are_refused() {
        let fp = fingerprint(&["x"]);
        for token in [
            "",
            "not a token",
            "!!!",
            &URL_SAFE_NO_PAD.encode(b"{\"f\":1}"),
            &URL_SAFE_NO_PAD.encode(b"[1,2]"),
            &"A".repeat(5000),
        ] {
            let err = decode_token(token, &fp).unwrap_err();
            assert_eq!(err.field, "page_token");
            assert!(err.description.contains("not a page token"), "{err}");
        }
    }

    #[test]
    fn fingerprint_is_stable_and_unambiguous() {
        assert_eq!(fingerprint(&["a", "b"]).len(), 16);
        assert_ne!(fingerprint(&["ab", "c"]), fingerprint(&["a", "bc"]));
        assert_ne!(fingerprint(&["a"]), fingerprint(&["a", ""]));
        // Pinned: a fingerprint must not change between builds, or live tokens break.
        assert_eq!(
            fingerprint(&["tenant-1", "name:\"伟\""]),
            "f728ce44ca3da045"
        );
        assert_eq!(fingerprint(&[]), "e3b0c44298fc1c14");
    }
}
