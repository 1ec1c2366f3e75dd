//! /v2/leaderboard: the live season from the `Leaderboard` actor, past seasons from SQL, and
//! the admin refresh.

use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use crate::actors::leaderboard::{Around, AroundReply, Mode, Page, PageReply, Refresh};
use crate::http::{
    errors::V2Error,
    extract::{V2Admin, V2Auth},
    pagination::V2PageQuery,
    AppState,
};
use crate::sim::catalog::Element;
use crate::store::rfc3339;

/// Neighbours either side on `/leaderboard/me` (the spec: ±5).
pub(crate) const RADIUS: usize = 5;
/// Reads wait this long on the actor; a refresh (a full reload) longer.
const READ_WAIT: Duration = Duration::from_secs(2);
const REFRESH_WAIT: Duration = Duration::from_secs(60);

/// `GET /leaderboard` query (and `mode`/`season` of `/leaderboard/me`).
#[derive(Debug, Deserialize, Default)]
pub struct BoardQuery {
    mode: Option<String>,
    season: Option<i64>,
    element: Option<String>,
    limit: Option<u32>,
    offset: Option<u32>,
}

/// A validated board request.
struct Board {
    mode: Mode,
    season: i64,
    element: Option<Element>,
}

impl BoardQuery {
    fn parse(&self, current: i64) -> Result<Board, V2Error> {
        let mode = match self.mode.as_deref() {
            None => Mode::Ranked,
            Some(m) => Mode::parse(m).ok_or_else(|| {
                V2Error::Validation(format!("mode must be RANKED or CASUAL, not '{m}'"))
            })?,
        };
        let season = self.season.unwrap_or(current);
        if !(1..=current).contains(&season) {
            return Err(V2Error::Validation(format!(
                "season must be between 1 and {current} (the current season)"
            )));
        }
        let element = self
            .element
            .as_deref()
            .map(|e| e.to_ascii_uppercase().parse::<Element>())
            .transpose()
            .map_err(|e| V2Error::Validation(e.to_string()))?;
        Ok(Board {
            mode,
            season,
            element,
        })
    }
}

fn unavailable<E>(_: E) -> V2Error {
    V2Error::Unavailable("leaderboard busy, retry shortly".into())
}

/// The global leaderboard (`rank` is the position in the list asked for: with `element`,
/// within that element's players).
#[utoipa::path(get, path = "/v2/leaderboard", responses((status = 200), (status = 400)))]
#[tracing::instrument(skip(state))]
pub async fn list(
    state: web::Data<AppState>,
    q: web::Query<BoardQuery>,
) -> Result<HttpResponse, V2Error> {
    let b = q.parse(state.config.season)?;
    let page = V2PageQuery {
        limit: q.limit,
        offset: q.offset,
    }
    .parse()?;
    let element = b.element.map(|e| e.as_str().to_string());
    if b.season == state.config.season {
        let msg = Page {
            season: b.season,
            mode: b.mode,
            element,
            limit: page.limit as usize,
            offset: page.offset as usize,
        };
        let reply: Option<PageReply> = tokio::time::timeout(READ_WAIT, state.leaderboard.send(msg))
            .await
            .map_err(unavailable)?
            .map_err(unavailable)?;
        let reply = reply.ok_or_else(|| V2Error::Internal("live season not loaded".into()))?;
        return Ok(HttpResponse::Ok().json(reply));
    }
    let past = state
        .db
        .past_page(
            b.season,
            b.mode.as_str(),
            element.as_deref(),
            i64::from(page.limit),
            i64::from(page.offset),
        )
        .await?;
    let has_more = i64::from(page.offset) + (past.rows.len() as i64) < past.total;
    Ok(HttpResponse::Ok().json(json!({
        "season": b.season,
        "updated_at": past.updated_at.map(rfc3339),
        "data": past.rows,
        "total": past.total,
        "limit": page.limit,
        "offset": page.offset,
        "has_more": has_more,
    })))
}

/// The caller's rank and ±5 neighbours. An unranked caller (no game this season in this mode)
/// gets 200 with `rank: null` and empty `data`, not a 404: it is a state, not a missing page.
#[utoipa::path(get, path = "/v2/leaderboard/me", responses((status = 200), (status = 400), (status = 401)))]
#[tracing::instrument(skip(state, q), fields(user = %me.id))]
pub async fn me(
    state: web::Data<AppState>,
    V2Auth(me): V2Auth,
    q: web::Query<BoardQuery>,
) -> Result<HttpResponse, V2Error> {
    let b = q.parse(state.config.season)?;
    if b.season == state.config.season {
        let msg = Around {
            season: b.season,
            mode: b.mode,
            user_id: me.id,
            radius: RADIUS,
        };
        let reply: Option<AroundReply> =
            tokio::time::timeout(READ_WAIT, state.leaderboard.send(msg))
                .await
                .map_err(unavailable)?
                .map_err(unavailable)?;
        let reply = reply.ok_or_else(|| V2Error::Internal("live season not loaded".into()))?;
        return Ok(HttpResponse::Ok().json(reply));
    }
    let mode = b.mode.as_str();
    let rank = state.db.past_rank(b.season, mode, me.id).await?;
    let from = rank.map_or(0, |r| (r - RADIUS as i64).max(0));
    let n = rank.map_or(0, |r| r + RADIUS as i64 + 1 - from);
    let past = state.db.past_page(b.season, mode, None, n, from).await?;
    let data = if rank.is_some() {
        past.rows
    } else {
        Vec::new()
    };
    Ok(HttpResponse::Ok().json(json!({
        "season": b.season,
        "mode": b.mode,
        "updated_at": past.updated_at.map(rfc3339),
        "rank": rank.map(|r| r + 1),
        "total": past.total,
        "data": data,
    })))
}

/// Rebuilds the live boards from the database. Answers once the rebuild is in place (202:
/// deltas to the `leaderboard` room follow asynchronously).
#[utoipa::path(post, path = "/v2/admin/leaderboard/refresh", responses((status = 202), (status = 403)))]
#[tracing::instrument(skip_all, fields(admin = %admin.id))]
pub async fn refresh(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    V2Admin(admin): V2Admin,
) -> Result<HttpResponse, V2Error> {
    // Every admin action is audited (issue 7).
    crate::http::v2::admin::audit(
        &state,
        &req,
        admin.id,
        "admin.leaderboard.refresh",
        "leaderboard",
        json!({}),
    )
    .await;
    let n = tokio::time::timeout(REFRESH_WAIT, state.leaderboard.send(Refresh))
        .await
        .map_err(unavailable)?
        .map_err(unavailable)?
        .map_err(V2Error::Internal)?;
    Ok(HttpResponse::Accepted().json(json!({
        "refreshed": true,
        "season": state.config.season,
        "entries": n,
    })))
}

/// Routes (relative to /v2).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/leaderboard", web::get().to(list))
        .route("/leaderboard/me", web::get().to(me))
        .route("/admin/leaderboard/refresh", web::post().to(refresh));
}
