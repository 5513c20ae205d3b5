//! The authentication layer: every request of a service passes it, and leaves it with its
//! caller's [`Principal`] in the extensions or as UNAUTHENTICATED.

use std::sync::Arc;

use tonic::Status;
use tonic::metadata::MetadataMap;
use tonic::server::NamedService;

use super::{JwtKeys, Principal};
use crate::access::Revocations;
use crate::api_keys::{ApiKeys, secret};
use crate::error::{Error, Result};

/// Authentication of every request to a service: verifies `authorization: Bearer <jwt>`,
/// refuses a token the revocation list revoked (see [`crate::access`]), and puts the caller's
/// [`Principal`] into the request extensions, where [`principal`] finds it. A bearer that is
/// an API key's secret (`rpk_…`) is checked against the service's copy of the keys instead
/// (see [`crate::api_keys`]). Health and reflection are not wrapped, so they need no token.
#[derive(Debug, Clone)]
pub struct Auth {
    keys: Arc<JwtKeys>,
    revocations: Revocations,
    api_keys: ApiKeys,
}

impl Auth {
    /// Authentication with `keys`, checking `revocations`; no API key is accepted.
    pub fn new(keys: Arc<JwtKeys>, revocations: Revocations) -> Self {
        Self {
            keys,
            revocations,
            api_keys: ApiKeys::none(),
        }
    }

    /// The same, also accepting the API keys of `api_keys`.
    pub fn with_api_keys(mut self, api_keys: ApiKeys) -> Self {
        self.api_keys = api_keys;
        self
    }

    /// The API keys accepted (see [`crate::api_keys`]).
    pub fn api_keys(&self) -> &ApiKeys {
        &self.api_keys
    }

    /// The revocation list tokens are checked against (see [`crate::access`]).
    pub fn revocations(&self) -> &Revocations {
        &self.revocations
    }

    /// A short-lived token of the service itself at work in `tenant` (a sweep calling a peer,
    /// with no caller to act for): a service account named `actor`, valid for five minutes.
    /// UNAVAILABLE when these keys only verify tokens (a deployment that signs with a key pair
    /// it does not give the services): such a sweep cannot call its peers.
    pub fn system_token(&self, tenant: &str, actor: &str) -> Result<String> {
        if !self.keys.can_issue() {
            return Err(crate::Error::unavailable(
                "this service cannot call its peers on its own: its keys only verify tokens",
            ));
        }
        self.keys.issue(
            tenant,
            actor,
            &[super::Role::ServiceAccount],
            None,
            std::time::Duration::from_secs(300),
        )
    }

    /// `service` behind this authentication.
    pub fn wrap<S>(&self, service: S) -> Authenticated<S> {
        Authenticated {
            inner: service,
            auth: self.clone(),
        }
    }

    /// The caller of a request with `metadata`: UNAUTHENTICATED without a valid, unrevoked token.
    pub async fn authenticate(&self, metadata: &MetadataMap) -> Result<Principal> {
        self.authenticate_call(metadata, "").await
    }

    /// The caller of a request with `metadata` to the method of request path `path`
    /// (`/package.Service/Method`), which an API key's scopes must name: UNAUTHENTICATED
    /// without a valid, unrevoked token or key; PERMISSION_DENIED for a key whose scopes do
    /// not name the method.
    pub async fn authenticate_call(&self, metadata: &MetadataMap, path: &str) -> Result<Principal> {
        let token = bearer_token(metadata)?;
        if token.starts_with(secret::PREFIX) {
            return self
                .api_keys
                .authenticate(token, path, &self.revocations)
                .await;
        }
        let (principal, issued) = self.keys.verify_issued(token)?;
        self.revocations
            .check(&principal.tenant_id, &principal.subject, issued)
            .await?;
        Ok(principal)
    }
}

/// A gRPC service behind [`Auth`].
#[derive(Debug, Clone)]
pub struct Authenticated<S> {
    inner: S,
    auth: Auth,
}

impl<S: NamedService> NamedService for Authenticated<S> {
    const NAME: &'static str = S::NAME;
}

fn bearer_token(metadata: &MetadataMap) -> Result<&str> {
    let value = metadata.get(AUTHORIZATION).ok_or_else(|| {
        Error::Unauthenticated(
            "missing authorization metadata; send `authorization: Bearer <token>`".into(),
        )
    })?;
    let garbled =
        || Error::Unauthenticated("the authorization metadata is not `Bearer <token>`".into());
    let value = value.to_str().map_err(|_| garbled())?;
    let (scheme, token) = value.trim().split_once(' ').ok_or_else(garbled)?;
    // The scheme is case-insensitive (RFC 6750 via RFC 7235).
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(garbled());
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(garbled());
    }
    Ok(token)
}

/// The metadata key carrying the credential.
pub(super) const AUTHORIZATION: &str = "authorization";

impl<S, B> tower::Service<http::Request<B>> for Authenticated<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = futures::future::BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        // The ready service answers this request; a fresh clone waits for the next one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let auth = self.auth.clone();
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            let metadata = MetadataMap::from_headers(std::mem::take(&mut parts.headers));
            let caller = auth.authenticate_call(&metadata, parts.uri.path()).await;
            parts.headers = metadata.into_headers();
            match caller {
                Ok(principal) => {
                    parts.extensions.insert(principal);
                    inner.call(http::Request::from_parts(parts, body)).await
                }
                Err(e) => Ok(Status::from(e).into_http()),
            }
        })
    }
}
