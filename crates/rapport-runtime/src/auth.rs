//! Who is calling: roles, JWT claims, the authenticated [`Principal`], the authentication layer that
//! puts it on every request, and the standalone signing secret kept in the data directory.
//!
//! The tenant always comes from the verified token, never from a request body.

use std::fmt;
use std::io::{self, Write};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use tonic::metadata::{Ascii, MetadataMap, MetadataValue};
use tonic::server::NamedService;
use tonic::{Request, Status};

use crate::access::Revocations;
use crate::error::{Error, Result};

/// The metadata key carrying the credential.
const AUTHORIZATION: &str = "authorization";

/// Clock skew tolerated between the issuer and the verifier.
const LEEWAY_SECS: u64 = 30;

/// Longest tenant, subject or team id a token may carry; ids are stored in indexed columns.
const MAX_ID_LEN: usize = 128;

/// Name of the standalone HS256 secret file inside the data directory.
const SECRET_FILE: &str = "jwt-secret";

/// Length of a generated HS256 secret; 256 bits matches the HMAC-SHA256 block security.
const SECRET_LEN: usize = 32;

/// What a caller may do. Each method lists the roles it accepts; no role implies another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Tenant administrator.
    Admin,
    /// Sales manager: sees and manages the pipeline of their team.
    Manager,
    /// Sales representative.
    Rep,
    /// Customer service agent.
    ServiceAgent,
    /// Marketing: campaigns and segments.
    Marketer,
    /// External partner, usually through an API key.
    Partner,
    /// Another service or an integration acting on its own behalf.
    ServiceAccount,
}

impl Role {
    /// Every role, in declaration order.
    pub const ALL: [Role; 7] = [
        Role::Admin,
        Role::Manager,
        Role::Rep,
        Role::ServiceAgent,
        Role::Marketer,
        Role::Partner,
        Role::ServiceAccount,
    ];

    /// The name used in tokens, flags and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Rep => "rep",
            Role::ServiceAgent => "service_agent",
            Role::Marketer => "marketer",
            Role::Partner => "partner",
            Role::ServiceAccount => "service_account",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of [`Role::ALL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseRoleError(pub String);

impl fmt::Display for ParseRoleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown role {:?}; expected one of: {}",
            self.0,
            role_list(&Role::ALL)
        )
    }
}

impl std::error::Error for ParseRoleError {}

impl FromStr for Role {
    type Err = ParseRoleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| ParseRoleError(s.to_owned()))
    }
}

fn role_list(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The claims of a Rapport access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The caller (user or service account id). Defaulted so a missing claim gets our own
    /// message rather than a JSON error.
    #[serde(default)]
    pub sub: String,
    /// The tenant the caller acts in.
    #[serde(default)]
    pub tenant: String,
    /// Role names; see [`Role`].
    #[serde(default)]
    pub roles: Vec<String>,
    /// The caller's sales team, used for row visibility.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// Issue time, seconds since the Unix epoch.
    #[serde(default)]
    pub iat: u64,
    /// Not valid before, seconds since the Unix epoch: a token is refused until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// Issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The tenant every read and write of this request is confined to.
    pub tenant_id: String,
    /// The caller's id.
    pub subject: String,
    /// The caller's roles.
    pub roles: Vec<Role>,
    /// The caller's sales team, if any.
    pub team_id: Option<String>,
}

impl Principal {
    /// Whether the caller has `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether the caller has at least one of `roles`.
    pub fn has_any(&self, roles: &[Role]) -> bool {
        roles.iter().any(|r| self.has_role(*r))
    }

    /// PERMISSION_DENIED unless the caller has at least one of `roles`.
    pub fn require_any(&self, roles: &[Role]) -> Result<()> {
        if self.has_any(roles) {
            Ok(())
        } else {
            Err(Error::PermissionDenied(format!(
                "this call needs one of the roles: {}",
                role_list(roles)
            )))
        }
    }

    /// Whether the caller administers their tenant.
    pub fn is_admin(&self) -> bool {
        self.has_role(Role::Admin)
    }
}

/// Keys to issue and verify access tokens.
#[derive(Clone)]
pub struct JwtKeys {
    /// `None` for verify-only keys (public keys of an external issuer).
    encoding: Option<EncodingKey>,
    decoding: DecodingKey,
    algorithm: Algorithm,
    validation: Validation,
    issuer: Option<String>,
}

// Hand-written so key material can never end up in a log line.
impl fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtKeys")
            .field("algorithm", &self.algorithm)
            .field("can_issue", &self.encoding.is_some())
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl JwtKeys {
    /// Keys that issue and verify HS256 tokens with a shared `secret` (at least 32 bytes should
    /// be used; see [`load_or_create_secret`]).
    pub fn hs256(secret: &[u8]) -> Self {
        Self::new(
            Some(EncodingKey::from_secret(secret)),
            DecodingKey::from_secret(secret),
            Algorithm::HS256,
        )
    }

    /// Verify-only keys from a PEM public key: RSA keys verify RS256, EC (P-256) keys ES256.
    pub fn verifier_from_pem(pem: &[u8]) -> Result<Self> {
        if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
            return Ok(Self::new(None, key, Algorithm::RS256));
        }
        match DecodingKey::from_ec_pem(pem) {
            Ok(key) => Ok(Self::new(None, key, Algorithm::ES256)),
            Err(e) => Err(Error::invalid(
                "jwt_public_key",
                format!("is neither an RSA nor an EC public key in PEM form ({e})"),
            )),
        }
    }

    fn new(encoding: Option<EncodingKey>, decoding: DecodingKey, algorithm: Algorithm) -> Self {
        let mut validation = Validation::new(algorithm);
        validation.leeway = LEEWAY_SECS;
        // Off by default in jsonwebtoken: a token that is not valid yet must not be accepted.
        validation.validate_nbf = true;
        // `sub` is checked by `verify` so a missing one gets the same message as an empty one.
        validation.set_required_spec_claims(&["exp"]);
        Self {
            encoding,
            decoding,
            algorithm,
            validation,
            issuer: None,
        }
    }

    /// Issued tokens carry `iss = issuer`, and only tokens from `issuer` verify.
    #[must_use]
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        let issuer = issuer.into();
        self.validation.set_issuer(&[issuer.as_str()]);
        // Otherwise a token without any `iss` would slip past the issuer check.
        self.validation
            .required_spec_claims
            .insert("iss".to_owned());
        self.issuer = Some(issuer);
        self
    }

    /// Whether these keys can issue tokens (not only verify them).
    pub fn can_issue(&self) -> bool {
        self.encoding.is_some()
    }

    /// A signed token for `subject` in `tenant`, valid for `ttl`.
    pub fn issue(
        &self,
        tenant: &str,
        subject: &str,
        roles: &[Role],
        team: Option<&str>,
        ttl: Duration,
    ) -> Result<String> {
        for (field, value) in [
            ("tenant", Some(tenant)),
            ("subject", Some(subject)),
            ("team", team),
        ] {
            if let Some(value) = value
                && let Err(problem) = check_id(value)
            {
                return Err(Error::invalid(field, problem));
            }
        }
        let now = unix_now();
        let claims = Claims {
            sub: subject.to_owned(),
            tenant: tenant.to_owned(),
            roles: roles.iter().map(|r| r.as_str().to_owned()).collect(),
            team: team.map(str::to_owned),
            exp: now.saturating_add(ttl.as_secs()),
            iat: now,
            nbf: None,
            iss: self.issuer.clone(),
        };
        self.sign(&claims)
    }

    /// Signs `claims` as they are; for tools and tests that need unusual tokens.
    pub fn sign(&self, claims: &Claims) -> Result<String> {
        let key = self.encoding.as_ref().ok_or_else(|| {
            Error::precondition(
                "CANNOT_ISSUE_TOKENS",
                "these keys only verify tokens; issuing needs the signing secret",
            )
        })?;
        jsonwebtoken::encode(&Header::new(self.algorithm), claims, key).map_err(Error::internal)
    }

    /// The caller a token stands for; UNAUTHENTICATED if it is not a valid, current token.
    pub fn verify(&self, token: &str) -> Result<Principal> {
        self.verify_issued(token).map(|(p, _)| p)
    }

    /// As [`JwtKeys::verify`], with the token's issue time (seconds since the epoch; 0 when it
    /// names none), which the revocation list is checked against.
    pub fn verify_issued(&self, token: &str) -> Result<(Principal, u64)> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| Error::Unauthenticated(describe(e.kind())))?;
        let issued = data.claims.iat;
        Ok((principal_from_claims(data.claims)?, issued))
    }
}

fn principal_from_claims(claims: Claims) -> Result<Principal> {
    let unauthenticated = Error::Unauthenticated;
    if claims.tenant.is_empty() {
        return Err(unauthenticated("the token has no tenant claim".into()));
    }
    if claims.sub.is_empty() {
        return Err(unauthenticated("the token has no sub claim".into()));
    }
    for (claim, value) in [
        ("tenant", Some(&claims.tenant)),
        ("sub", Some(&claims.sub)),
        ("team", claims.team.as_ref()),
    ] {
        if let Some(value) = value
            && let Err(problem) = check_id(value)
        {
            return Err(unauthenticated(format!(
                "the token's {claim} claim {problem}"
            )));
        }
    }
    let roles = claims
        .roles
        .iter()
        .map(|name| {
            name.parse::<Role>()
                .map_err(|e| unauthenticated(format!("the token has an {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Principal {
        tenant_id: claims.tenant,
        subject: claims.sub,
        roles,
        team_id: claims.team,
    })
}

fn check_id(value: &str) -> std::result::Result<(), String> {
    if value.is_empty() {
        Err("must not be empty".into())
    } else if value.chars().count() > MAX_ID_LEN {
        Err(format!("must be at most {MAX_ID_LEN} characters"))
    } else {
        Ok(())
    }
}

fn describe(kind: &ErrorKind) -> String {
    match kind {
        ErrorKind::ExpiredSignature => "the token has expired".into(),
        ErrorKind::ImmatureSignature => "the token is not valid yet".into(),
        ErrorKind::InvalidSignature => "the token's signature is invalid".into(),
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => {
            "the token is signed with an algorithm this server does not accept".into()
        }
        ErrorKind::InvalidIssuer => {
            "the token comes from an issuer this server does not trust".into()
        }
        ErrorKind::InvalidAudience => "the token is meant for another audience".into(),
        ErrorKind::MissingRequiredClaim(claim) => format!("the token has no {claim} claim"),
        ErrorKind::InvalidToken
        | ErrorKind::Base64(_)
        | ErrorKind::Json(_)
        | ErrorKind::Utf8(_) => "the token is malformed".into(),
        _ => "the token is invalid".into(),
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The standalone HS256 secret at `<data_dir>/jwt-secret`, created on first use (32 random
/// bytes, stored base64, mode 0600). Returns the secret and whether it was just created.
pub fn load_or_create_secret(data_dir: &Path) -> io::Result<(Vec<u8>, bool)> {
    let path = data_dir.join(SECRET_FILE);
    match read_secret(&path) {
        Ok(secret) => return Ok((secret, false)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    std::fs::create_dir_all(data_dir)?;

    let secret: [u8; SECRET_LEN] = rand::random();
    // Written in full to a private temp file first so nobody ever reads a partial secret.
    let tmp = data_dir.join(format!(
        ".{SECRET_FILE}.{}.{:016x}",
        std::process::id(),
        rand::random::<u64>()
    ));
    let written = write_private(&tmp, format!("{}\n", BASE64.encode(secret)).as_bytes());
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    // A hard link is a rename that refuses to replace: if another process started at the same
    // moment and won, both end up using its secret instead of each trusting its own.
    let linked = std::fs::hard_link(&tmp, &path);
    let outcome = match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        // Some filesystems have no hard links; a plain rename is still atomic there.
        Err(_) => std::fs::rename(&tmp, &path).map(|()| true),
    };
    let _ = std::fs::remove_file(&tmp);
    if outcome? {
        sync_dir(data_dir);
        Ok((secret.to_vec(), true))
    } else {
        Ok((read_secret(&path)?, false))
    }
}

fn read_secret(path: &Path) -> io::Result<Vec<u8>> {
    let text = std::fs::read_to_string(path)?;
    warn_if_readable_by_others(path);
    let secret = BASE64.decode(text.trim()).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {e}", path.display()),
        )
    })?;
    if secret.len() < SECRET_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{}: the secret must be at least {SECRET_LEN} bytes",
                path.display()
            ),
        ));
    }
    Ok(secret)
}

fn write_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Makes the new directory entry durable; best effort, since the secret itself is already
/// synced and a lost entry only means a new secret on the next start.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(path = %path.display(), "the JWT secret is readable by other users; chmod 600 it");
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Authentication of every request to a service: verifies `authorization: Bearer <jwt>`,
/// refuses a token the revocation list revoked (see [`crate::access`]), and puts the caller's
/// [`Principal`] into the request extensions, where [`principal`] finds it. Health and
/// reflection are not wrapped, so they need no token.
#[derive(Debug, Clone)]
pub struct Auth {
    keys: Arc<JwtKeys>,
    revocations: Revocations,
}

impl Auth {
    /// Authentication with `keys`, checking `revocations`.
    pub fn new(keys: Arc<JwtKeys>, revocations: Revocations) -> Self {
        Self { keys, revocations }
    }

    /// The revocation list tokens are checked against (see [`crate::access`]).
    pub fn revocations(&self) -> &Revocations {
        &self.revocations
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
        let token = bearer_token(metadata)?;
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
            let caller = auth.authenticate(&metadata).await;
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

/// The authenticated caller of `request` if it holds one of `roles`: UNAUTHENTICATED without
/// a credential, PERMISSION_DENIED with the wrong roles. Every handler starts with it.
pub fn authorize<T>(request: &Request<T>, roles: &[Role]) -> Result<Principal> {
    let p = principal(request)?;
    p.require_any(roles)?;
    Ok(p)
}

/// The authenticated caller of `request` (unary or streaming); UNAUTHENTICATED if the request
/// did not pass through [`Auth`].
pub fn principal<T>(request: &Request<T>) -> Result<Principal> {
    request
        .extensions()
        .get::<Principal>()
        .cloned()
        .ok_or_else(|| Error::Unauthenticated("the request carries no authenticated caller".into()))
}

/// The `authorization` metadata value for `token`.
///
/// # Panics
///
/// If `token` contains characters not allowed in a header value (a JWT never does).
pub fn bearer(token: &str) -> MetadataValue<Ascii> {
    format!("Bearer {token}")
        .parse()
        .expect("a bearer token must consist of visible ASCII characters")
}

/// Copies the caller's `authorization` metadata from `from` onto the outbound request `to`, so a
/// call to another service acts on behalf of the same caller.
pub fn forward_authorization<T, U>(from: &Request<T>, to: &mut Request<U>) {
    if let Some(value) = from.metadata().get(AUTHORIZATION) {
        to.metadata_mut().insert(AUTHORIZATION, value.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::Code;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn keys() -> JwtKeys {
        JwtKeys::hs256(SECRET)
    }

    fn claims(roles: &[&str], exp: u64) -> Claims {
        Claims {
            sub: "u1".into(),
            tenant: "t1".into(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            team: None,
            exp,
            iat: unix_now(),
            nbf: None,
            iss: None,
        }
    }

    fn unauthenticated_message(r: Result<Principal>) -> String {
        match r {
            Err(Error::Unauthenticated(m)) => m,
            other => panic!("expected UNAUTHENTICATED, got {other:?}"),
        }
    }

    #[test]
    fn role_names_round_trip() {
        for role in Role::ALL {
            assert_eq!(role.to_string().parse::<Role>(), Ok(role));
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn issue_and_verify_round_trip() {
        let keys = keys();
        let token = keys
            .issue(
                "t1",
                "u1",
                &[Role::Manager, Role::Rep],
                Some("team-a"),
                Duration::from_secs(60),
            )
            .expect("issue");
        let p = keys.verify(&token).expect("verify");
        assert_eq!(p.tenant_id, "t1");
        assert_eq!(p.subject, "u1");
        assert_eq!(p.roles, [Role::Manager, Role::Rep]);
        assert_eq!(p.team_id.as_deref(), Some("team-a"));
        assert!(p.has_any(&[Role::Admin, Role::Rep]));
        assert!(!p.is_admin());
        assert!(p.require_any(&[Role::Manager]).is_ok());
        let denied = p
            .require_any(&[Role::Admin, Role::Marketer])
            .expect_err("denied");
        assert_eq!(denied.code(), Code::PermissionDenied);
        assert!(denied.to_string().contains("admin, marketer"), "{denied}");
    }

    #[test]
    fn issue_rejects_bad_ids() {
        let keys = keys();
        assert!(
            keys.issue("", "u1", &[], None, Duration::from_secs(60))
                .is_err()
        );
        let long = "x".repeat(MAX_ID_LEN + 1);
        assert!(
            keys.issue("t1", &long, &[], None, Duration::from_secs(60))
                .is_err()
        );
    }

    #[test]
    fn expired_token_is_rejected() {
        let keys = keys();
        let token = keys
            .sign(&claims(&["rep"], unix_now() - 2 * LEEWAY_SECS))
            .expect("sign");
        assert!(unauthenticated_message(keys.verify(&token)).contains("expired"));
    }

    #[test]
    fn expiry_within_leeway_is_accepted() {
        let keys = keys();
        let token = keys.sign(&claims(&["rep"], unix_now() - 5)).expect("sign");
        assert!(keys.verify(&token).is_ok());
    }

    #[test]
    fn a_token_not_valid_yet_is_rejected() {
        let keys = keys();
        let mut later = claims(&["rep"], unix_now() + 7200);
        later.nbf = Some(unix_now() + 3600);
        let token = keys.sign(&later).expect("sign");
        assert!(unauthenticated_message(keys.verify(&token)).contains("not valid yet"));
        // Within the clock skew it is fine.
        later.nbf = Some(unix_now() + 5);
        assert!(keys.verify(&keys.sign(&later).expect("sign")).is_ok());
    }

    #[test]
    fn wrong_secret_is_rejected() {
        let token = JwtKeys::hs256(b"another secret of thirty-two by")
            .issue("t1", "u1", &[Role::Rep], None, Duration::from_secs(60))
            .expect("issue");
        assert!(unauthenticated_message(keys().verify(&token)).contains("signature"));
    }

    #[test]
    fn unknown_role_is_rejected() {
        let keys = keys();
        let token = keys
            .sign(&claims(&["rep", "root"], unix_now() + 60))
            .expect("sign");
        assert!(unauthenticated_message(keys.verify(&token)).contains("root"));
    }

    #[test]
    fn missing_tenant_is_rejected() {
        let keys = keys();
        let mut c = claims(&["rep"], unix_now() + 60);
        c.tenant.clear();
        let token = keys.sign(&c).expect("sign");
        assert!(unauthenticated_message(keys.verify(&token)).contains("tenant"));
    }

    #[test]
    fn issuer_is_enforced() {
        let ours = keys().with_issuer("rapport");
        let token = keys()
            .issue("t1", "u1", &[], None, Duration::from_secs(60))
            .expect("issue");
        assert!(unauthenticated_message(ours.verify(&token)).contains("iss"));
        let token = ours
            .issue("t1", "u1", &[], None, Duration::from_secs(60))
            .expect("issue");
        assert!(ours.verify(&token).is_ok());
    }

    #[test]
    fn garbage_pem_is_rejected() {
        assert!(JwtKeys::verifier_from_pem(b"not a key").is_err());
    }

    #[tokio::test]
    async fn a_valid_token_authenticates_its_caller() {
        let keys = Arc::new(keys());
        let token = keys
            .issue("t1", "u1", &[Role::Admin], None, Duration::from_secs(60))
            .expect("issue");
        let mut metadata = MetadataMap::new();
        metadata.insert(AUTHORIZATION, bearer(&token));
        let auth = Auth::new(keys, Revocations::none());
        let p = auth.authenticate(&metadata).await.expect("accepted");
        assert!(p.is_admin());
        assert_eq!(p.tenant_id, "t1");
    }

    #[tokio::test]
    async fn missing_garbled_and_bad_tokens_are_refused() {
        let auth = Auth::new(Arc::new(keys()), Revocations::none());
        let missing = auth.authenticate(&MetadataMap::new()).await;
        assert_eq!(missing.expect_err("missing").code(), Code::Unauthenticated);

        for value in ["Basic dTpw", "Bearer", "Bearer   ", "Bearer not.a.jwt"] {
            let mut metadata = MetadataMap::new();
            metadata.insert(AUTHORIZATION, value.parse().expect("ascii"));
            let status = Status::from(auth.authenticate(&metadata).await.expect_err(value));
            assert_eq!(status.code(), Code::Unauthenticated, "{value}");
            assert!(!status.details().is_empty(), "error details attached");
        }
    }

    #[test]
    fn principal_is_absent_without_authentication() {
        let err = principal(&Request::new(())).expect_err("absent");
        assert_eq!(err.code(), Code::Unauthenticated);
    }

    #[test]
    fn authorization_is_forwarded() {
        let mut inbound = Request::new(());
        inbound.metadata_mut().insert(AUTHORIZATION, bearer("abc"));
        let mut outbound = Request::new(());
        forward_authorization(&inbound, &mut outbound);
        assert_eq!(outbound.metadata().get(AUTHORIZATION), Some(&bearer("abc")));
    }

    #[test]
    fn secret_is_created_once_and_then_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data_dir = dir.path().join("data");
        let (first, created) = load_or_create_secret(&data_dir).expect("create");
        assert!(created);
        assert_eq!(first.len(), SECRET_LEN);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(data_dir.join(SECRET_FILE))
                .expect("stat")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (second, created) = load_or_create_secret(&data_dir).expect("load");
        assert!(!created);
        assert_eq!(first, second);
        // No temp files are left behind.
        let entries = std::fs::read_dir(&data_dir).expect("read_dir").count();
        assert_eq!(entries, 1);
    }
}
