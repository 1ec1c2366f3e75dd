//! Access tokens: HS256 JWTs with `iss`, `aud`, `exp` and `sub` required and the algorithm pinned.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{AuthUser, Role};

/// Issuer and audience of every token.
pub(crate) const ISSUER: &str = "warroom";
/// Audience.
pub(crate) const AUDIENCE: &str = "warroom-api";
/// v1 access tokens last an hour.
pub(crate) const V1_TTL_S: i64 = 3600;
/// v2 access tokens last 15 minutes.
pub(crate) const V2_TTL_S: i64 = 900;
/// Guest (read-only spectator) tokens last 15 minutes too; pages ask for a new one in time.
pub(crate) const GUEST_TTL_S: i64 = 900;

/// JWT claims.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Expiry (unix s).
    pub exp: i64,
    /// Issued at (unix s).
    pub iat: i64,
    /// Role.
    pub role: Role,
    /// Token id.
    pub jti: String,
}

/// Why a token was refused.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// No token given.
    #[error("missing token")]
    Missing,
    /// Past `exp`.
    #[error("token expired")]
    Expired,
    /// Anything else: bad signature, algorithm, audience, issuer, shape.
    #[error("invalid token")]
    Invalid,
}

/// Signing and verification keys.
#[derive(Clone)]
pub struct JwtKeys {
    enc: EncodingKey,
    dec: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtKeys(***)")
    }
}

impl JwtKeys {
    /// Keys from an HMAC secret.
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 0;
        Self {
            enc: EncodingKey::from_secret(secret),
            dec: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// Issues an access token valid for `ttl_s` seconds from `now_s`.
    pub fn issue(&self, user: AuthUser, now_s: i64, ttl_s: i64) -> String {
        let claims = Claims {
            sub: user.id.to_string(),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            exp: now_s + ttl_s,
            iat: now_s,
            role: user.role,
            jti: Uuid::new_v4().simple().to_string(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.enc).unwrap_or_default()
    }

    /// Verifies a token and returns its user.
    pub(crate) fn verify(&self, token: &str) -> Result<AuthUser, TokenError> {
        self.verify_until(token).map(|(user, _)| user)
    }

    /// Verifies a token and returns its user and its expiry (`exp`, unix seconds), for
    /// connections that must end when their token does.
    pub(crate) fn verify_until(&self, token: &str) -> Result<(AuthUser, i64), TokenError> {
        let data =
            decode::<Claims>(token, &self.dec, &self.validation).map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })?;
        let id = Uuid::parse_str(&data.claims.sub).map_err(|_| TokenError::Invalid)?;
        let user = AuthUser {
            id,
            role: data.claims.role,
        };
        Ok((user, data.claims.exp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn keys() -> JwtKeys {
        JwtKeys::new(b"0123456789abcdef0123456789abcdef")
    }
    fn user() -> AuthUser {
        AuthUser {
            id: Uuid::new_v4(),
            role: Role::Player,
        }
    }
    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    #[test]
    fn roundtrip() {
        let u = user();
        let t = keys().issue(u, now(), 60);
        assert_eq!(keys().verify(&t), Ok(u));
    }

    #[test]
    fn expired_is_refused() {
        let t = keys().issue(user(), now() - 120, 60);
        assert_eq!(keys().verify(&t), Err(TokenError::Expired));
    }

    #[test]
    fn alg_none_is_refused() {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = b64.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let claims = serde_json::json!({"sub": Uuid::new_v4().to_string(), "iss": ISSUER, "aud": AUDIENCE,
            "exp": now() + 60, "iat": now(), "role": "admin", "jti": "x"});
        let body = b64.encode(claims.to_string());
        assert_eq!(
            keys().verify(&format!("{header}.{body}.")),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn wrong_key_or_tamper_is_refused() {
        let t = JwtKeys::new(b"another-secret-another-secret-xx").issue(user(), now(), 60);
        assert_eq!(keys().verify(&t), Err(TokenError::Invalid));
        let good = keys().issue(user(), now(), 60);
        let mut parts: Vec<&str> = good.split('.').collect();
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut claims: serde_json::Value =
            serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
        claims["role"] = "admin".into();
        let forged = b64.encode(claims.to_string());
        parts[1] = &forged;
        assert_eq!(keys().verify(&parts.join(".")), Err(TokenError::Invalid));
    }
}
