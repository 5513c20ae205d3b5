//! `request_id` idempotency: the response of a creating or custom method is stored with its
//! request id in the same transaction as the change, so a retry gets the first answer back and
//! changes nothing.

use prost::Message;
use sqlx::AnyConnection;

use super::Tx;
use crate::{Error, Result, clock::Micros};

/// The idempotency key of one request: tenant, method and the client's request id.
#[derive(Debug, Clone)]
pub struct Idempotency {
    tenant: String,
    method: &'static str,
    request_id: String,
}

impl Idempotency {
    /// The key for a request, or `None` when the client sent no request id. A request id longer
    /// than 128 characters is a violation on `request_id`.
    pub fn new(tenant: &str, method: &'static str, request_id: &str) -> Result<Option<Self>> {
        let request_id = request_id.trim();
        if request_id.is_empty() {
            return Ok(None);
        }
        if request_id.chars().count() > 128 {
            return Err(Error::invalid(
                "request_id",
                "must be at most 128 characters",
            ));
        }
        Ok(Some(Self {
            tenant: tenant.to_owned(),
            method,
            request_id: request_id.to_owned(),
        }))
    }

    /// The response stored for this key, if the request ran before.
    pub async fn replay<T: Message + Default>(
        &self,
        conn: &mut AnyConnection,
    ) -> Result<Option<T>> {
        let row: Option<(Vec<u8>,)> = sqlx::query_as(
            "SELECT response FROM idempotency_keys \
             WHERE tenant_id = $1 AND method = $2 AND request_id = $3",
        )
        .bind(&self.tenant)
        .bind(self.method)
        .bind(&self.request_id)
        .fetch_optional(conn)
        .await?;
        row.map(|(bytes,)| T::decode(bytes.as_slice()).map_err(Error::internal))
            .transpose()
    }

    /// The lock a write with this key holds from its start (see [`crate::storage::lock_keys`]):
    /// requests with the same id take turns from there to their commit, so a retry sent while
    /// the first attempt still runs waits for it and replays its answer, instead of finding its
    /// work half done (a merged customer already deleted, an owner already changed) and failing.
    pub fn lock_key(&self) -> String {
        format!(
            "idempotency/{}/{}/{}",
            self.tenant, self.method, self.request_id
        )
    }

    /// Stores the response in the transaction of the change. Returns `false` when a concurrent
    /// request with the same key committed first: the caller must roll back and replay.
    pub async fn record<T: Message>(&self, tx: &mut Tx, response: &T, now: Micros) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO idempotency_keys (tenant_id, method, request_id, response, create_time) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(&self.tenant)
        .bind(self.method)
        .bind(&self.request_id)
        .bind(response.encode_to_vec())
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
