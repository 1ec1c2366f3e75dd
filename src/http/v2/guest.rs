//! `POST /v2/auth/guest`: a short-lived, read-only spectator token for people without an
//! account (the web pages use it when nobody is signed in).
//!
//! The token is an ordinary access JWT whose role is `guest` and whose `sub` is a fresh
//! random id that no user row has. It is refused, with 403 `FORBIDDEN`, by every REST
//! request other than a read (`crate::http::extract::authenticate`) and by every Socket.IO
//! event that acts (`queue:*`, `battle:ready`, `battle:emote`; see
//! `crate::realtime::robot_events`); organizer and admin checks refuse it by rank. It may
//! read, spectate (`spectate:join`, `battle:join`, `leaderboard:join`, `tournament:join`,
//! `table:join`) and open the read-only `/v1/ws` table socket. Being under `/v2/auth/`, the
//! endpoint has the per-IP auth rate limit.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::{jwt::GUEST_TTL_S, AuthUser, Role};
use crate::http::AppState;

/// A guest token.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct GuestResp {
    /// Bearer token (role `guest`).
    access_token: String,
    /// Always `Bearer`.
    token_type: &'static str,
    /// Seconds until it expires.
    expires_in: i64,
    /// Always `guest`.
    role: &'static str,
}

/// Issues a read-only guest token: it may read and spectate, never queue, pay or change
/// anything. Rate-limited per IP like the rest of `/v2/auth/*`.
#[utoipa::path(post, path = "/v2/auth/guest",
    responses((status = 201, body = GuestResp), (status = 429)))]
pub async fn guest(state: web::Data<AppState>) -> HttpResponse {
    let user = AuthUser {
        id: Uuid::new_v4(),
        role: Role::Guest,
    };
    let token = state
        .keys
        .issue(user, chrono::Utc::now().timestamp(), GUEST_TTL_S);
    HttpResponse::Created().json(GuestResp {
        access_token: token,
        token_type: "Bearer",
        expires_in: GUEST_TTL_S,
        role: Role::Guest.as_str(),
    })
}

/// Route.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/guest", web::post().to(guest));
}
