//! Verifying and issuing tokens: the keys, the claims they carry and the principal they name.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};

use super::{Claims, Principal, Role};
use crate::error::{Error, Result};

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

pub(super) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Clock skew tolerated between the issuer and the verifier.
pub(super) const LEEWAY_SECS: u64 = 30;

/// Longest tenant, subject or team id a token may carry; ids are stored in indexed columns.
pub(super) const MAX_ID_LEN: usize = 128;
