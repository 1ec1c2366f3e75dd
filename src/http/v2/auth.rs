//! /v2/auth: the robot spec's shapes; refresh token in an httpOnly cookie, access token 15 min.

use actix_web::{
    cookie::{time::Duration as CookieDuration, Cookie, SameSite},
    web, HttpRequest, HttpResponse,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{
    accounts::{self, AccountError, Registration},
    jwt::V2_TTL_S,
};
use crate::http::{errors::V2Error, AppState};
use crate::store::users::UserRecord;

/// Name of the refresh cookie.
pub(crate) const REFRESH_COOKIE: &str = "refresh_token";

/// Registration body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterReq {
    username: String,
    email: String,
    password: String,
}

/// Login body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginReq {
    email: String,
    password: String,
}

/// The short user in auth responses.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct V2AuthUser {
    id: String,
    username: String,
    level: i64,
    gmo_balance: i64,
}

/// Register/login response.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuthResp {
    user: V2AuthUser,
    access_token: String,
    expires_in: i64,
}

/// Refresh response.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RefreshResp {
    access_token: String,
    expires_in: i64,
}

impl From<AccountError> for V2Error {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Invalid { field, message } => {
                V2Error::Validation(format!("{field}: {message}"))
            }
            AccountError::Taken(what) => V2Error::Conflict {
                code: "CONFLICT",
                message: format!("{what} is already registered"),
            },
            AccountError::Banned => V2Error::Banned,
            AccountError::Store(s) => s.into(),
            AccountError::Locked { retry_after } => V2Error::AccountLocked { retry_after },
            other => V2Error::Unauthorized(other.to_string()),
        }
    }
}

fn cookie(req: &HttpRequest, value: String, max_age: CookieDuration) -> Cookie<'static> {
    // Secure when the client reached us over TLS (directly or through a proxy).
    let tls = req.connection_info().scheme() == "https";
    Cookie::build(REFRESH_COOKIE, value)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(tls)
        .path("/v2/auth")
        .max_age(max_age)
        .finish()
}

fn signed_in(
    state: &AppState,
    req: &HttpRequest,
    user: &UserRecord,
    refresh: String,
    created: bool,
) -> HttpResponse {
    let body = AuthResp {
        user: V2AuthUser {
            id: user.id.to_string(),
            username: user.username.clone(),
            level: user.level,
            gmo_balance: user.gmo_balance,
        },
        access_token: accounts::access_token(state, user, V2_TTL_S),
        expires_in: V2_TTL_S,
    };
    let mut b = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    b.cookie(cookie(req, refresh, CookieDuration::days(7)))
        .json(body)
}

/// Register.
#[utoipa::path(post, path = "/v2/auth/register", request_body = RegisterReq,
    responses((status = 201, body = AuthResp), (status = 400), (status = 409)))]
pub async fn register(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: crate::http::extract::Json<RegisterReq>,
) -> Result<HttpResponse, V2Error> {
    let r = Registration::parse(&body.username, &body.email, &body.password, None)?;
    let (user, refresh) = accounts::register(&state, r).await?;
    Ok(signed_in(&state, &req, &user, refresh, true))
}

/// Login by email.
#[utoipa::path(post, path = "/v2/auth/login", request_body = LoginReq,
    responses((status = 200, body = AuthResp), (status = 401), (status = 403)))]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: crate::http::extract::Json<LoginReq>,
) -> Result<HttpResponse, V2Error> {
    let ip = req.peer_addr().map(|a| a.ip().to_string());
    let (user, refresh) = accounts::login(&state, &body.email, &body.password, ip).await?;
    Ok(signed_in(&state, &req, &user, refresh, false))
}

/// Rotate the refresh cookie.
#[utoipa::path(post, path = "/v2/auth/refresh", responses((status = 200, body = RefreshResp), (status = 401)))]
pub async fn refresh(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, V2Error> {
    let token = req
        .cookie(REFRESH_COOKIE)
        .map(|c| c.value().to_string())
        .ok_or_else(|| V2Error::Unauthorized("missing refresh cookie".into()))?;
    let (user, refresh) = accounts::refresh(&state, &token).await?;
    Ok(HttpResponse::Ok()
        .cookie(cookie(&req, refresh, CookieDuration::days(7)))
        .json(RefreshResp {
            access_token: accounts::access_token(&state, &user, V2_TTL_S),
            expires_in: V2_TTL_S,
        }))
}

/// Logout: revoke the cookie's family and clear it.
#[utoipa::path(post, path = "/v2/auth/logout", responses((status = 204)))]
pub async fn logout(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, V2Error> {
    if let Some(c) = req.cookie(REFRESH_COOKIE) {
        state.db.revoke_refresh(c.value()).await?;
    }
    Ok(HttpResponse::NoContent()
        .cookie(cookie(&req, String::new(), CookieDuration::ZERO))
        .finish())
}

/// Routes under /v2/auth.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/register", web::post().to(register))
        .route("/auth/login", web::post().to(login))
        .route("/auth/refresh", web::post().to(refresh))
        .route("/auth/logout", web::post().to(logout));
}
