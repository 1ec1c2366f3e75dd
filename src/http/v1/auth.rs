//! /v1/auth: the tracker spec's shapes; refresh token in the body, access token for an hour.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{
    accounts::{self, AccountError, Registration},
    jwt::V1_TTL_S,
};
use crate::cluster::cache::CacheKind;
use crate::http::{
    cached,
    errors::V1Error,
    extract::{authenticate, OptionalJson, V1Auth},
    AppState,
};
use crate::store::{rfc3339, users::UserRecord};

/// Registration body.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = V1RegisterReq)]
pub struct RegisterReq {
    username: String,
    email: String,
    password: String,
    #[serde(default)]
    display_name: Option<String>,
}

/// Login body: `username` or `email`, and `password`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = V1LoginReq)]
pub struct LoginReq {
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    email: Option<String>,
    password: String,
}

/// Refresh body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshReq {
    refresh_token: String,
}

/// Logout body (optional): the refresh token of the session to end.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LogoutReq {
    #[serde(default)]
    refresh_token: Option<String>,
}

/// The v1 user model.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct V1User {
    id: String,
    username: String,
    email: String,
    display_name: Option<String>,
    role: String,
    profile_image_url: Option<String>,
    tournament_wins: i64,
    total_battles: i64,
    created_at: String,
    updated_at: String,
}

impl V1User {
    /// The model of `u`, who completed `total_battles` tracker battles.
    fn new(u: &UserRecord, total_battles: i64) -> Self {
        Self {
            id: u.id.to_string(),
            username: u.username.clone(),
            email: u.email.clone(),
            display_name: u.display_name.clone(),
            role: u.role.as_str().into(),
            profile_image_url: u.avatar_url.clone(),
            tournament_wins: u.tournament_wins,
            total_battles,
            created_at: rfc3339(u.created_at),
            updated_at: rfc3339(u.updated_at),
        }
    }
}

/// `GET /auth/profile`: the user model, nested as `{user}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileResp {
    user: V1User,
}

/// Token response (login, register, refresh).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TokenResp {
    access_token: String,
    refresh_token: String,
    token_type: &'static str,
    expires_in: i64,
    user: V1User,
}

impl From<AccountError> for V1Error {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Invalid { field, message } => V1Error::field(field, message),
            AccountError::Taken(what) => V1Error::Conflict {
                code: "CONFLICT",
                message: format!("{what} is already registered"),
            },
            AccountError::Banned => V1Error::Forbidden("account is banned".into()),
            AccountError::Store(s) => s.into(),
            AccountError::Locked { retry_after } => V1Error::AccountLocked { retry_after },
            other => V1Error::Unauthorized(other.to_string()),
        }
    }
}

/// The v1 model of `user`, with its battle count.
async fn v1_user(state: &AppState, user: &UserRecord) -> Result<V1User, V1Error> {
    let battles = crate::store::tracker::completed_battles_of(&state.db, user.id).await?;
    Ok(V1User::new(user, battles))
}

async fn tokens(
    state: &AppState,
    user: &UserRecord,
    refresh: String,
) -> Result<TokenResp, V1Error> {
    Ok(TokenResp {
        access_token: accounts::access_token(state, user, V1_TTL_S),
        refresh_token: refresh,
        token_type: "Bearer",
        expires_in: V1_TTL_S,
        user: v1_user(state, user).await?,
    })
}

/// Register.
#[utoipa::path(post, path = "/v1/auth/register", request_body = RegisterReq,
    responses((status = 201, body = TokenResp), (status = 409), (status = 422)))]
pub async fn register(
    state: web::Data<AppState>,
    body: crate::http::extract::Json<RegisterReq>,
) -> Result<HttpResponse, V1Error> {
    let r = Registration::parse(
        &body.username,
        &body.email,
        &body.password,
        body.display_name.as_deref(),
    )?;
    let (user, refresh) = accounts::register(&state, r).await?;
    Ok(HttpResponse::Created().json(tokens(&state, &user, refresh).await?))
}

/// Login by username or email.
#[utoipa::path(post, path = "/v1/auth/login", request_body = LoginReq,
    responses((status = 200, body = TokenResp), (status = 401)))]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: crate::http::extract::Json<LoginReq>,
) -> Result<HttpResponse, V1Error> {
    let login = body
        .username
        .as_deref()
        .or(body.email.as_deref())
        .ok_or_else(|| V1Error::field("username", "username or email is required"))?;
    let ip = req.peer_addr().map(|a| a.ip().to_string());
    let (user, refresh) = accounts::login(&state, login, &body.password, ip).await?;
    Ok(HttpResponse::Ok().json(tokens(&state, &user, refresh).await?))
}

/// Rotate the refresh token.
#[utoipa::path(post, path = "/v1/auth/refresh", request_body = RefreshReq,
    responses((status = 200, body = TokenResp), (status = 401)))]
pub async fn refresh(
    state: web::Data<AppState>,
    body: crate::http::extract::Json<RefreshReq>,
) -> Result<HttpResponse, V1Error> {
    let (user, refresh) = accounts::refresh(&state, &body.refresh_token).await?;
    Ok(HttpResponse::Ok().json(tokens(&state, &user, refresh).await?))
}

/// Logout: with a refresh token in the body, revokes that session (its token family); with
/// only the bearer token, revokes every refresh token of the caller.
#[utoipa::path(post, path = "/v1/auth/logout", request_body = Option<LogoutReq>, responses((status = 204)))]
pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: OptionalJson<Option<LogoutReq>>,
) -> Result<HttpResponse, V1Error> {
    match body.0.flatten().and_then(|b| b.refresh_token) {
        Some(token) => state.db.revoke_refresh(&token).await?,
        None => {
            state
                .db
                .revoke_user_refresh(authenticate(&req).await?.id)
                .await?
        }
    }
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's profile.
#[utoipa::path(get, path = "/v1/auth/profile", responses((status = 200, body = ProfileResp), (status = 401)),
    security(("bearer" = [])))]
pub async fn profile(
    state: web::Data<AppState>,
    V1Auth(me): V1Auth,
) -> Result<HttpResponse, V1Error> {
    let user = cached::read(&state, CacheKind::UserProfile, me.id, async {
        let user = accounts::me(&state, me.id).await?;
        Ok::<_, V1Error>(serde_json::to_value(v1_user(&state, &user).await?).unwrap_or_default())
    })
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "user": user })))
}

/// Routes under /v1/auth.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/register", web::post().to(register))
        .route("/auth/login", web::post().to(login))
        .route("/auth/refresh", web::post().to(refresh))
        .route("/auth/logout", web::post().to(logout))
        .route("/auth/profile", web::get().to(profile));
}
