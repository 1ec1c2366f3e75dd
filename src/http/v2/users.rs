//! /v2/users: the caller's profile and stats, and public profiles.

use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::actors::leaderboard::{Mode, ProfileChanged, RankOf};
use crate::auth::credentials::Username;
use crate::domain::money::format_eldr;
use crate::http::{errors::V2Error, extract::V2Auth, AppState};
use crate::store::{rfc3339, stats::DEFAULT_RATING, users::UserRecord, StoreError};

/// Longest an avatar URL may be.
const AVATAR_MAX: usize = 512;
/// How long a handler waits on the leaderboard actor before giving up on the rank.
const ACTOR_WAIT: Duration = Duration::from_secs(2);

/// `PATCH /users/me` body. Unknown fields are refused so a typo is not silently ignored.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProfilePatch {
    username: Option<String>,
    avatar_url: Option<String>,
}

/// An avatar is a site path (`/avatars/x.png`) or an http(s) URL without spaces whose host
/// is a name (letters, digits, `.` and `-`; no port, user or IP literal).
fn parse_avatar(s: &str) -> Result<String, V2Error> {
    let s = s.trim();
    let url_ok = |rest: &str| {
        let host = rest.split('/').next().unwrap_or_default();
        !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    };
    let ok = s.len() <= AVATAR_MAX
        && s.bytes().all(|b| b.is_ascii_graphic())
        && ((s.starts_with('/') && s.len() > 1)
            || s.strip_prefix("https://").is_some_and(url_ok)
            || s.strip_prefix("http://").is_some_and(url_ok));
    if ok {
        Ok(s.to_string())
    } else {
        Err(V2Error::Validation(format!(
            "avatar_url must be a path starting with '/' or an http(s) URL with a host name, of at most {AVATAR_MAX} characters without spaces"
        )))
    }
}

async fn me_json(state: &AppState, u: &UserRecord) -> Result<Value, V2Error> {
    let eldr = state.db.eldr_balance(u.id).await?;
    Ok(json!({
        "id": u.id,
        "username": u.username,
        "email": u.email,
        "wallet_address": u.wallet_address,
        "gmo_balance": u.gmo_balance,
        "eldr_balance": format_eldr(eldr),
        "xp": u.xp,
        "level": u.level,
        "avatar_url": u.avatar_url,
        "created_at": rfc3339(u.created_at),
    }))
}

async fn load(state: &AppState, id: Uuid) -> Result<UserRecord, V2Error> {
    state
        .db
        .user_by_id(id)
        .await?
        .ok_or_else(|| V2Error::NotFound("user".into()))
}

/// The caller's profile.
#[utoipa::path(get, path = "/v2/users/me", responses((status = 200), (status = 401)))]
#[tracing::instrument(skip_all, fields(user = %me.id))]
pub async fn me(state: web::Data<AppState>, V2Auth(me): V2Auth) -> Result<HttpResponse, V2Error> {
    let u = load(&state, me.id).await?;
    Ok(HttpResponse::Ok().json(me_json(&state, &u).await?))
}

/// Changes the caller's username and/or avatar.
#[utoipa::path(patch, path = "/v2/users/me", request_body = ProfilePatch,
    responses((status = 200), (status = 400), (status = 401), (status = 409)))]
#[tracing::instrument(skip_all, fields(user = %me.id))]
pub(crate) async fn patch_me(
    state: web::Data<AppState>,
    V2Auth(me): V2Auth,
    body: crate::http::extract::Json<ProfilePatch>,
) -> Result<HttpResponse, V2Error> {
    let username = body
        .username
        .as_deref()
        .map(Username::parse)
        .transpose()
        .map_err(|m| V2Error::Validation(format!("username: {m}")))?;
    let avatar = body.avatar_url.as_deref().map(parse_avatar).transpose()?;
    let u = state
        .db
        .update_profile(
            me.id,
            username.as_ref().map(Username::as_str),
            None,
            avatar.as_deref(),
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => V2Error::Conflict {
                code: "CONFLICT",
                message: "username is already taken".into(),
            },
            other => other.into(),
        })?;
    crate::http::cached::invalidate(
        &state,
        crate::cluster::cache::CacheKind::UserProfile,
        &[u.id],
    )
    .await;
    // The board shows names and avatars: keep it in step (fire and forget; it is a cache).
    state.leaderboard.do_send(ProfileChanged {
        user_id: u.id,
        username: u.username.clone(),
        avatar_url: u.avatar_url.clone(),
    });
    Ok(HttpResponse::Ok().json(me_json(&state, &u).await?))
}

/// The caller's statistics.
#[utoipa::path(get, path = "/v2/users/me/stats", responses((status = 200), (status = 401)))]
#[tracing::instrument(skip_all, fields(user = %me.id))]
pub async fn stats(
    state: web::Data<AppState>,
    V2Auth(me): V2Auth,
) -> Result<HttpResponse, V2Error> {
    let s = state.db.user_stats(me.id, state.config.season).await?;
    Ok(HttpResponse::Ok().json(s))
}

/// A public profile: no email, no wallet. The record counts every completed battle; rating
/// and rank are the live season's RANKED ones (`rank: null` before a ranked game).
#[utoipa::path(get, path = "/v2/users/{id}", responses((status = 200), (status = 404)))]
#[tracing::instrument(skip(state))]
pub async fn public(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, V2Error> {
    let id = Uuid::parse_str(&path).map_err(|_| V2Error::NotFound("user".into()))?;
    let u = load(&state, id).await?;
    let season = state.config.season;
    let record = state.db.battle_summary(id).await?;
    let rating = state
        .db
        .rating_record(id, season, Mode::Ranked.as_str())
        .await?;
    let rank = state.leaderboard.send(RankOf {
        season,
        mode: Mode::Ranked,
        user_id: id,
    });
    // The rank is an extra: a busy actor must not fail the profile.
    let rank = tokio::time::timeout(ACTOR_WAIT, rank)
        .await
        .ok()
        .and_then(Result::ok)
        .flatten();
    Ok(HttpResponse::Ok().json(json!({
        "id": u.id,
        "username": u.username,
        "avatar_url": u.avatar_url,
        "level": u.level,
        "rating": rating.as_ref().map_or(DEFAULT_RATING, |r| r.rating).round() as i64,
        "rank": rank,
        "season": season,
        "wins": record.won,
        "losses": record.lost,
        "draws": record.drawn,
        "created_at": rfc3339(u.created_at),
    })))
}

/// Routes (relative to /v2). `/users/me` comes before `/users/{id}` so "me" is not an id.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/users/me", web::get().to(me))
        .route("/users/me", web::patch().to(patch_me))
        .route("/users/me/stats", web::get().to(stats))
        .route("/users/{id}", web::get().to(public));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avatars() {
        assert!(parse_avatar("/avatars/a.png").is_ok());
        assert!(parse_avatar("https://cdn.example.com/a.png").is_ok());
        for bad in [
            "",
            "/",
            "javascript:alert(1)",
            "/a b.png",
            &"/x".repeat(300),
        ] {
            assert!(parse_avatar(bad).is_err(), "{bad}");
        }
    }
}
