//! Extractors: the signed-in user (per surface), required roles, and query/path helpers.

use actix_web::{dev::Payload, http::header::HeaderMap, web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use std::future::ready;

use crate::auth::{standing::StandingError, AuthUser, Role, TokenError};
use crate::http::{
    errors::{V1Error, V2Error},
    AppState,
};

pub use crate::auth::{bearer, GUEST_MESSAGE};

/// Why authentication failed, before it is rendered for a surface.
#[derive(Debug)]
pub(crate) enum AuthFailure {
    /// Missing, expired or invalid token (or its account is gone).
    Token(TokenError),
    /// The account is banned.
    Banned,
    /// The account's standing could not be read.
    Store(crate::store::StoreError),
    /// A read-only guest token on a request that could change something.
    GuestReadOnly,
}

/// `GET` routes that still write, so a guest token may not call them.
const GUEST_DENIED_READS: &[&str] = &["/v2/auth/wallet/nonce"];

/// Guest tokens only read: safe methods, and none of [`GUEST_DENIED_READS`]. Every
/// authenticated REST route passes here, so a new mutating route is refused by default.
fn guest_may(req: &HttpRequest) -> bool {
    use actix_web::http::Method;
    (req.method() == Method::GET || req.method() == Method::HEAD)
        && !GUEST_DENIED_READS.contains(&req.path())
}

/// Verifies the request's bearer token, then reads the account's current standing: the role
/// and ban state of the account now, not the ones the token was issued with.
pub(crate) async fn authenticate(req: &HttpRequest) -> Result<AuthUser, AuthFailure> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or(AuthFailure::Token(TokenError::Invalid))?;
    let token = bearer(req.headers()).ok_or(AuthFailure::Token(TokenError::Missing))?;
    let user = state.keys.verify(token).map_err(AuthFailure::Token)?;
    if user.is_guest() {
        // A guest has no account to read: it may only read.
        return if guest_may(req) {
            Ok(user)
        } else {
            Err(AuthFailure::GuestReadOnly)
        };
    }
    state.standing.check(user).await.map_err(|e| match e {
        StandingError::Unknown => AuthFailure::Token(TokenError::Invalid),
        StandingError::Banned => AuthFailure::Banned,
        StandingError::Store(e) => AuthFailure::Store(e),
    })
}

impl From<AuthFailure> for V1Error {
    fn from(f: AuthFailure) -> Self {
        match f {
            AuthFailure::Token(e) => V1Error::Unauthorized(e.to_string()),
            AuthFailure::Banned => V1Error::Forbidden("account is banned".into()),
            AuthFailure::Store(e) => e.into(),
            AuthFailure::GuestReadOnly => V1Error::Forbidden(GUEST_MESSAGE.into()),
        }
    }
}

impl From<AuthFailure> for V2Error {
    fn from(f: AuthFailure) -> Self {
        match f {
            AuthFailure::Token(e) => V2Error::Unauthorized(e.to_string()),
            AuthFailure::Banned => V2Error::Banned,
            AuthFailure::Store(e) => e.into(),
            AuthFailure::GuestReadOnly => V2Error::Forbidden(GUEST_MESSAGE.into()),
        }
    }
}

/// The signed-in caller on /v1.
#[derive(Debug, Clone, Copy)]
pub struct V1Auth(pub AuthUser);

impl FromRequest for V1Auth {
    type Error = V1Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(&req).await.map(V1Auth).map_err(Into::into) })
    }
}

/// A /v1 caller who is an organizer or admin.
#[derive(Debug, Clone, Copy)]
pub struct V1Organizer(pub AuthUser);

impl FromRequest for V1Organizer {
    type Error = V1Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let u = authenticate(&req).await.map_err(V1Error::from)?;
            if u.role >= Role::Organizer {
                Ok(V1Organizer(u))
            } else {
                Err(V1Error::Forbidden(
                    "organizer or admin role required".into(),
                ))
            }
        })
    }
}

/// The signed-in caller on /v2.
#[derive(Debug, Clone, Copy)]
pub struct V2Auth(pub AuthUser);

impl FromRequest for V2Auth {
    type Error = V2Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(&req).await.map(V2Auth).map_err(Into::into) })
    }
}

/// A /v2 caller with the admin role.
#[derive(Debug, Clone, Copy)]
pub struct V2Admin(pub AuthUser);

impl FromRequest for V2Admin {
    type Error = V2Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let u = authenticate(&req).await.map_err(V2Error::from)?;
            if u.role == Role::Admin {
                Ok(V2Admin(u))
            } else {
                Err(V2Error::Forbidden("admin role required".into()))
            }
        })
    }
}

/// A JSON body that may be absent: `None` when the request has no body at all; otherwise
/// exactly `web::Json` (so a malformed or mistyped body is still refused, never ignored).
#[derive(Debug)]
pub struct OptionalJson<T>(pub Option<T>);

fn has_body(headers: &HeaderMap) -> bool {
    let length = headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    headers.contains_key("transfer-encoding") || length.is_some_and(|n| n > 0)
}

impl<T: DeserializeOwned + 'static> FromRequest for OptionalJson<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;
    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        if !has_body(req.headers()) {
            return Box::pin(ready(Ok(OptionalJson(None))));
        }
        let json = Json::<T>::from_request(req, payload);
        Box::pin(async move { Ok(OptionalJson(Some(json.await?.into_inner()))) })
    }
}

/// A JSON body, as `web::Json` (same limit, content type and per-surface errors), except
/// that a number with a zero fraction (`1.0`) is an integer, as JSON Schema says it is, and
/// that the body may not be an array (serde would read a struct from one).
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    /// The body.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Rewrites every float with a zero fraction that fits an `i64` as that integer.
fn integral_floats(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Number(n) if !n.is_i64() && !n.is_u64() => {
            if let Some(f) = n.as_f64() {
                // Strictly inside the i64 range, so the cast is exact.
                if f.fract() == 0.0 && f.abs() < 9.2e18 {
                    *v = Value::from(f as i64);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(integral_floats),
        Value::Object(o) => o.values_mut().for_each(integral_floats),
        _ => {}
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;
    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let raw = web::Json::<serde_json::Value>::from_request(req, payload);
        let v1 = req.path().starts_with("/v1/");
        Box::pin(async move {
            let mut value = raw.await?.into_inner();
            integral_floats(&mut value);
            // No body is an array, but serde would read a struct from one (`null` stays: it
            // is how an optional body says "none").
            let parsed = if !value.is_array() {
                serde_json::from_value(value)
            } else {
                Err(serde::de::Error::custom(
                    "the body must be a JSON object, not an array",
                ))
            };
            parsed.map(Json).map_err(|e| {
                let e = actix_web::error::JsonPayloadError::Deserialize(e);
                if v1 {
                    crate::http::errors::json_error_v1(e).into()
                } else {
                    crate::http::errors::json_error_v2(e).into()
                }
            })
        })
    }
}
