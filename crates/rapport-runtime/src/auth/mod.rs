//! Who is calling: roles, JWT claims, the authenticated [`Principal`], the authentication layer that
//! puts it on every request, and the standalone signing secret kept in the data directory.
//!
//! The tenant always comes from the verified token, never from a request body.

mod keys;
mod layer;
mod secret;

pub use keys::JwtKeys;
use layer::AUTHORIZATION;
pub use layer::{Auth, Authenticated};
pub use secret::load_or_create_secret;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use tonic::Request;
use tonic::metadata::{Ascii, MetadataValue};

use crate::error::{Error, Result};

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
    /// The service itself at work in `tenant` (a sweep, say), named `actor` in its events: a
    /// service account that sees the whole tenant.
    pub fn system(tenant: &str, actor: &str) -> Self {
        Self {
            tenant_id: tenant.to_owned(),
            subject: actor.to_owned(),
            roles: vec![Role::ServiceAccount],
            team_id: None,
        }
    }

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

// Hand-written so key material can never end up in a log line.
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
    use super::keys::{LEEWAY_SECS, MAX_ID_LEN, unix_now};
    use super::secret::{SECRET_FILE, SECRET_LEN};
    use super::*;
    use crate::access::Revocations;
    use std::sync::Arc;
    use std::time::Duration;
    use tonic::Code;
    use tonic::{Status, metadata::MetadataMap};

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

    #[tokio::test]
    async fn an_api_key_is_not_taken_for_a_jwt() {
        // Without a copy of the keys, a key's secret is refused as a key, not read as a JWT.
        let auth = Auth::new(Arc::new(keys()), Revocations::none());
        let secret = crate::api_keys::secret::NewSecret::generate(uuid::Uuid::now_v7());
        let mut metadata = MetadataMap::new();
        metadata.insert(AUTHORIZATION, bearer(&secret.text));
        let refused = auth
            .authenticate_call(&metadata, "/rapport.partners.v1.PartnerService/GetPartner")
            .await;
        assert!(unauthenticated_message(refused).contains("API key"));
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
