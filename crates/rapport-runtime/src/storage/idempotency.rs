//! `request_id` idempotency: the response of a creating or custom method is stored with its
//! request id in the same transaction as the change, so a retry gets the first answer back and
//! changes nothing.
//!
//! A request id belongs to the caller who sent it: the key is (tenant, caller, method, request
//! id), so another user who sends the same id runs a request of their own and never receives
//! somebody else's answer. The stored row also keeps a fingerprint of the request; the same id
//! sent by the same caller with a different request is refused (INVALID_ARGUMENT,
//! `REQUEST_ID_REUSED`) rather than answered with the first request's response.

use prost::Message;
use sha2::{Digest, Sha256};
use sqlx::AnyConnection;

use super::{Statement, Tx};
use crate::{
    Error, Result, auth::Principal, clock::Micros, storage::BindValue, validation::FieldViolation,
};

/// Longest request id accepted, in characters.
pub const MAX_REQUEST_ID_CHARS: usize = 128;

/// The idempotency key of one request: tenant, caller, method and the client's request id, with
/// a fingerprint of the request it came with.
#[derive(Debug, Clone)]
pub struct Idempotency {
    tenant: String,
    subject: String,
    method: &'static str,
    request_id: String,
    fingerprint: Vec<u8>,
}

impl Idempotency {
    /// The key of `request`, sent by `p` to `method`, or `None` when it carries no request id. A
    /// request id longer than [`MAX_REQUEST_ID_CHARS`] is a violation on `request_id`.
    ///
    /// The fingerprint is a hash of the request as decoded: prost encodes a message canonically
    /// (fields in tag order, maps sorted), so two clients that serialize one request differently
    /// still send the same request.
    pub fn new<M: Message>(
        p: &Principal,
        method: &'static str,
        request_id: &str,
        request: &M,
    ) -> Result<Option<Self>> {
        let request_id = request_id.trim();
        if request_id.is_empty() {
            return Ok(None);
        }
        if request_id.chars().count() > MAX_REQUEST_ID_CHARS {
            return Err(Error::invalid(
                "request_id",
                format!("must be at most {MAX_REQUEST_ID_CHARS} characters"),
            ));
        }
        Ok(Some(Self {
            tenant: p.tenant_id.clone(),
            subject: p.subject.clone(),
            method,
            request_id: request_id.to_owned(),
            fingerprint: fingerprint(method, request),
        }))
    }

    /// The request id as the client sent it (trimmed).
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// The response stored for this key, if the request ran before; INVALID_ARGUMENT
    /// (`REQUEST_ID_REUSED`) if the caller used the id before for a different request.
    pub async fn replay<T: Message + Default>(
        &self,
        conn: &mut AnyConnection,
    ) -> Result<Option<T>> {
        let row: Option<(Vec<u8>, Vec<u8>)> = sqlx::query_as(
            "SELECT fingerprint, response FROM request_ids \
             WHERE tenant_id = $1 AND subject = $2 AND method = $3 AND request_id = $4",
        )
        .bind(&self.tenant)
        .bind(&self.subject)
        .bind(self.method)
        .bind(&self.request_id)
        .fetch_optional(conn)
        .await?;
        row.map(|(fingerprint, bytes)| self.answer_from(&fingerprint, &bytes))
            .transpose()
    }

    /// The stored answers of `keys`, in their order, read in one statement; each is checked as
    /// [`Idempotency::replay`] checks one. Keys of one tenant only.
    pub async fn replay_all<T: Message + Default>(
        keys: &[&Idempotency],
        tx: &mut Tx,
    ) -> Result<Vec<Option<Result<T>>>> {
        let Some(first) = keys.first() else {
            return Ok(Vec::new());
        };
        let dialect = tx.dialect();
        let wanted: Vec<[&str; 3]> = keys
            .iter()
            .map(|k| [k.subject.as_str(), k.method, k.request_id.as_str()])
            .collect();
        let json = serde_json::to_string(&wanted).map_err(Error::internal)?;
        // Each key probes the primary key: left to their planners, both backends scanned every
        // request id of the tenant, which grows with every request.
        const COLUMNS: &str = "r.subject, r.method, r.request_id, r.fingerprint, r.response";
        let probe = dialect.probe_join(
            "request_ids",
            COLUMNS,
            "r",
            "r.tenant_id = $1 AND r.subject = q.subject AND r.method = q.method \
             AND r.request_id = q.request_id",
        );
        let sql = format!(
            "SELECT {COLUMNS} FROM {} q {probe}",
            dialect.json_rows("$2", &["subject", "method", "request_id"]),
        );
        let rows: Vec<StoredAnswer> = sqlx::query_as(&sql)
            .bind(&first.tenant)
            .bind(json)
            .fetch_all(&mut **tx)
            .await?;
        Ok(keys
            .iter()
            .map(|k| {
                rows.iter()
                    .find(|r| r.0 == k.subject && r.1 == k.method && r.2 == k.request_id)
                    .map(|r| k.answer_from(&r.3, &r.4))
            })
            .collect())
    }

    fn answer_from<T: Message + Default>(&self, fingerprint: &[u8], response: &[u8]) -> Result<T> {
        if fingerprint != self.fingerprint.as_slice() {
            return Err(reused());
        }
        T::decode(response).map_err(Error::internal)
    }

    /// The lock a write with this key holds from its start (see [`crate::storage::lock_keys`]):
    /// requests with the same id take turns from there to their commit, so a retry sent while
    /// the first attempt still runs waits for it and replays its answer, instead of finding its
    /// work half done (a merged customer already deleted, an owner already changed) and failing.
    pub fn lock_key(&self) -> String {
        // The subject's length keeps subject `a/b` with method `c` apart from `a` with `b/c`.
        format!(
            "idempotency/{}/{}:{}/{}/{}",
            self.tenant,
            self.subject.len(),
            self.subject,
            self.method,
            self.request_id
        )
    }

    /// An id for what this request makes, the same on every retry of it (a version 8 UUID from
    /// the key's hash): a write that tells a peer what it is about to make before making it
    /// (the order a coupon is redeemed for) names it alike on every attempt, so the peer can
    /// recognise a retry by it.
    pub fn derived_id(&self) -> uuid::Uuid {
        let digest = Sha256::digest(self.lock_key().as_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        uuid::Builder::from_custom_bytes(bytes).into_uuid()
    }

    /// The insert storing `response` as this key's answer, to run with the change (see
    /// [`crate::write::Write::defer`]), for a write that holds this key's lock from its start and
    /// found no earlier answer: nobody else can record the key meanwhile, so a conflict is a bug
    /// and fails the write.
    pub fn record_statement<T: Message>(&self, response: &T, now: Micros) -> Statement {
        Statement::new(
            "INSERT INTO request_ids \
             (tenant_id, subject, method, request_id, fingerprint, response, create_time) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(self.tenant.as_str())
        .bind(self.subject.as_str())
        .bind(self.method)
        .bind(self.request_id.as_str())
        .bind(BindValue::Bytes(self.fingerprint.clone()))
        .bind(BindValue::Bytes(response.encode_to_vec()))
        .bind(now)
    }
}

/// A stored answer as read back: subject, method, request id, fingerprint, response.
type StoredAnswer = (String, String, String, Vec<u8>, Vec<u8>);

/// The fingerprint of `request` sent to `method`.
pub fn fingerprint<M: Message>(method: &str, request: &M) -> Vec<u8> {
    let mut hash = Sha256::new();
    hash.update(method.as_bytes());
    hash.update([0]);
    hash.update(request.encode_to_vec());
    hash.finalize().to_vec()
}

/// The error of a request id sent again with a different request.
fn reused() -> Error {
    Error::BadRequest {
        reason: "REQUEST_ID_REUSED",
        violations: vec![FieldViolation {
            field: "request_id".into(),
            description: "was already used for a different request; send a new request id for a \
                          new request, or the same request to get its first answer"
                .into(),
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_derived_id_is_the_same_for_the_same_key_only() {
        let p = Principal::system("t1", "rep-1");
        let key = |method, id: &str| {
            Idempotency::new(&p, method, id, &"request".to_owned())
                .unwrap()
                .unwrap()
        };
        let id = key("CreateOrder", "r-1").derived_id();
        assert_eq!(id, key("CreateOrder", "r-1").derived_id());
        assert_eq!(id.get_version_num(), 8);
        assert_ne!(id, key("CreateOrder", "r-2").derived_id());
        assert_ne!(id, key("UpdateOrder", "r-1").derived_id());
    }
}
