//! Extractors: the signed-in user (per surface), required roles, and query/path helpers.

use std::future::{ready, Ready};

use actix_web::{dev::Payload, http::header::HeaderMap, web, FromRequest, HttpRequest};

use crate::auth::{AuthUser, Role, TokenError};
use crate::http::{
    errors::{V1Error, V2Error},
    AppState,
};

/// The bearer token of an `Authorization` header, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// The refusal a guest token gets for anything but reading.
pub const GUEST_MESSAGE: &str = "guest tokens are read-only: sign in to do that";

/// Why authentication failed, before it is rendered for a surface.
#[derive(Debug)]
pub enum AuthFailure {
    /// Missing, expired or invalid token.
    Token(TokenError),
    /// The account is banned.
    Banned,
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

/// Verifies the request's bearer token and the ban list.
pub fn authenticate(req: &HttpRequest) -> Result<AuthUser, AuthFailure> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or(AuthFailure::Token(TokenError::Invalid))?;
    let token = bearer(req.headers()).ok_or(AuthFailure::Token(TokenError::Missing))?;
    let user = state.keys.verify(token).map_err(AuthFailure::Token)?;
    if state.bans.contains(&user.id) {
        return Err(AuthFailure::Banned);
    }
    if user.is_guest() && !guest_may(req) {
        return Err(AuthFailure::GuestReadOnly);
    }
    Ok(user)
}

impl From<AuthFailure> for V1Error {
    fn from(f: AuthFailure) -> Self {
        match f {
            AuthFailure::Token(e) => V1Error::Unauthorized(e.to_string()),
            AuthFailure::Banned => V1Error::Forbidden("account is banned".into()),
            AuthFailure::GuestReadOnly => V1Error::Forbidden(GUEST_MESSAGE.into()),
        }
    }
}

impl From<AuthFailure> for V2Error {
    fn from(f: AuthFailure) -> Self {
        match f {
            AuthFailure::Token(e) => V2Error::Unauthorized(e.to_string()),
            AuthFailure::Banned => V2Error::Banned,
            AuthFailure::GuestReadOnly => V2Error::Forbidden(GUEST_MESSAGE.into()),
        }
    }
}

/// The signed-in caller on /v1.
#[derive(Debug, Clone, Copy)]
pub struct V1Auth(pub AuthUser);

impl FromRequest for V1Auth {
    type Error = V1Error;
    type Future = Ready<Result<Self, Self::Error>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req).map(V1Auth).map_err(Into::into))
    }
}

/// A /v1 caller who is an organizer or admin.
#[derive(Debug, Clone, Copy)]
pub struct V1Organizer(pub AuthUser);

impl FromRequest for V1Organizer {
    type Error = V1Error;
    type Future = Ready<Result<Self, Self::Error>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req).map_err(V1Error::from).and_then(|u| {
            if u.role >= Role::Organizer {
                Ok(V1Organizer(u))
            } else {
                Err(V1Error::Forbidden(
                    "organizer or admin role required".into(),
                ))
            }
        }))
    }
}

/// The signed-in caller on /v2.
#[derive(Debug, Clone, Copy)]
pub struct V2Auth(pub AuthUser);

impl FromRequest for V2Auth {
    type Error = V2Error;
    type Future = Ready<Result<Self, Self::Error>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req).map(V2Auth).map_err(Into::into))
    }
}

/// A /v2 caller with the admin role.
#[derive(Debug, Clone, Copy)]
pub struct V2Admin(pub AuthUser);

impl FromRequest for V2Admin {
    type Error = V2Error;
    type Future = Ready<Result<Self, Self::Error>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req).map_err(V2Error::from).and_then(|u| {
            if u.role == Role::Admin {
                Ok(V2Admin(u))
            } else {
                Err(V2Error::Forbidden("admin role required".into()))
            }
        }))
    }
}
