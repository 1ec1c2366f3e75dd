//! /v2/battles: queue, battle records, replays, history and the live feed. Live state is in
//! the actors (`Game`, `Matchmaker`, `BattleActor`); this module only translates.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::actors::game::{enqueue, leave_queue};
use crate::actors::game::{GameError, QueueRequest};
use crate::http::{
    errors::V2Error,
    extract::V2Auth,
    pagination::{v2_page, V2PageQuery},
    AppState,
};
use crate::sim::battle::{run_to_end, BattleInputs};
use crate::store::robot_battles::BattleFilter;

impl From<GameError> for V2Error {
    fn from(e: GameError) -> Self {
        let message = e.to_string();
        match e {
            GameError::Validation(m) => V2Error::Validation(m),
            GameError::AlgorithmInvalid(_) | GameError::InsufficientGmo => V2Error::BadRequest {
                code: e.code(),
                message,
            },
            GameError::NotFound(what) => V2Error::NotFound(what.into()),
            GameError::Forbidden(m) => V2Error::Forbidden(m.into()),
            GameError::AlreadyInQueue | GameError::BattleInProgress => V2Error::Conflict {
                code: e.code(),
                message,
            },
            GameError::Busy => V2Error::Unavailable(message),
            GameError::Store(s) => s.into(),
        }
    }
}

/// Enter matchmaking.
#[utoipa::path(post, path = "/v2/battles/queue", request_body = Object, responses((status = 202), (status = 400),
    (status = 404, description = "`robot_id` (or `algorithm_id`, `pilot_id`) is not one of yours"), (status = 409)))]
pub async fn queue(
    state: web::Data<AppState>,
    V2Auth(me): V2Auth,
    body: crate::http::extract::Json<Value>,
) -> Result<HttpResponse, V2Error> {
    let req = QueueRequest::parse(&body)?;
    let (queue_id, wait) = enqueue(&state.game, me.id, &req).await?;
    Ok(HttpResponse::Accepted().json(json!({ "queue_id": queue_id, "estimated_wait_s": wait })))
}

/// Leave matchmaking. Idempotent: 204 whether or not the caller was queued.
#[utoipa::path(delete, path = "/v2/battles/queue", responses((status = 204)))]
pub async fn leave(
    state: web::Data<AppState>,
    V2Auth(me): V2Auth,
) -> Result<HttpResponse, V2Error> {
    leave_queue(&state.game, me.id).await;
    Ok(HttpResponse::NoContent().finish())
}

/// Queue position.
#[utoipa::path(get, path = "/v2/battles/queue/status", responses((status = 200)))]
pub async fn status(
    state: web::Data<AppState>,
    V2Auth(me): V2Auth,
) -> Result<HttpResponse, V2Error> {
    use crate::actors::game::QueueView;
    let body = match state.game.queue_view(me.id).await? {
        QueueView::Matched(battle) => json!({ "status": "MATCHED", "battle_id": battle }),
        QueueView::Waiting {
            mode,
            position,
            rating_range,
            waited_s,
        } => json!({
            "status": "WAITING", "mode": mode.as_str(), "position": position,
            "rating_range": rating_range, "waited_s": waited_s,
        }),
        QueueView::Idle => json!({ "status": "IDLE" }),
    };
    Ok(HttpResponse::Ok().json(body))
}

fn battle_id(s: &str) -> Result<Uuid, V2Error> {
    Uuid::parse_str(s).map_err(|_| V2Error::NotFound("battle".into()))
}

/// One battle.
#[utoipa::path(get, path = "/v2/battles/{id}", responses((status = 200), (status = 404)))]
pub async fn get(
    state: web::Data<AppState>,
    _me: V2Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, V2Error> {
    let row = state
        .db
        .robot_battle(battle_id(&path)?)
        .await?
        .ok_or_else(|| V2Error::NotFound("battle".into()))?;
    Ok(HttpResponse::Ok().json(row.json))
}

/// The full tick log, re-simulated from the stored inputs and checked against the stored hash.
#[utoipa::path(get, path = "/v2/battles/{id}/replay", responses((status = 200), (status = 404), (status = 409)))]
pub async fn replay(
    state: web::Data<AppState>,
    _me: V2Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, V2Error> {
    let row = state
        .db
        .robot_battle(battle_id(&path)?)
        .await?
        .ok_or_else(|| V2Error::NotFound("battle".into()))?;
    if row.status != "COMPLETED" {
        return Err(V2Error::Conflict {
            code: "BATTLE_IN_PROGRESS",
            message: "the replay is available once the battle ends; join it live instead".into(),
        });
    }
    if row.engine_version != i64::from(crate::sim::ENGINE_VERSION) {
        return Err(V2Error::Conflict {
            code: "CONFLICT",
            message: format!("battle was played on engine version {}", row.engine_version),
        });
    }
    let inputs: BattleInputs =
        serde_json::from_str(&row.inputs).map_err(|e| V2Error::Internal(e.to_string()))?;
    let seed = inputs.seed;
    let log = web::block(move || run_to_end(inputs))
        .await
        .map_err(|e| V2Error::Internal(e.to_string()))?
        .map_err(|e| V2Error::Internal(e.to_string()))?;
    if row.log_hash.as_deref() != Some(log.log_hash.as_str()) {
        tracing::error!(battle = %row.id, "replay hash mismatch");
        return Err(V2Error::Internal(
            "replay does not match the recorded battle".into(),
        ));
    }
    Ok(HttpResponse::Ok().json(json!({
        "battle_id": row.id, "lcg_seed": seed, "engine_version": row.engine_version,
        "log_hash": log.log_hash, "outcome": log.outcome, "ticks": log.ticks,
    })))
}

/// History filters.
#[derive(Debug, Deserialize)]
pub struct HistoryQuery {
    user_id: Option<String>,
    mode: Option<String>,
    status: Option<String>,
    biome: Option<String>,
    limit: Option<u32>,
    offset: Option<u32>,
}

/// Battle history.
#[utoipa::path(get, path = "/v2/battles", responses((status = 200), (status = 400)))]
pub async fn history(
    state: web::Data<AppState>,
    _me: V2Auth,
    q: web::Query<HistoryQuery>,
) -> Result<HttpResponse, V2Error> {
    let page = V2PageQuery {
        limit: q.limit,
        offset: q.offset,
    }
    .parse()?;
    let one_of =
        |v: &Option<String>, allowed: &[&str], name: &str| -> Result<Option<String>, V2Error> {
            match v {
                None => Ok(None),
                Some(s) if allowed.contains(&s.as_str()) => Ok(Some(s.clone())),
                Some(s) => Err(V2Error::Validation(format!(
                    "{name} must be one of {}, not '{s}'",
                    allowed.join(", ")
                ))),
            }
        };
    let biomes: Vec<&str> = crate::sim::catalog::Biome::ALL
        .iter()
        .map(|b| b.as_str())
        .collect();
    let filter = BattleFilter {
        user: q
            .user_id
            .as_deref()
            .map(|s| {
                Uuid::parse_str(s).map_err(|_| V2Error::Validation("user_id must be a uuid".into()))
            })
            .transpose()?,
        mode: one_of(&q.mode, &["RANKED", "CASUAL"], "mode")?,
        status: one_of(
            &q.status,
            &["COUNTDOWN", "IN_PROGRESS", "COMPLETED", "VOIDED"],
            "status",
        )?,
        biome: one_of(&q.biome, &biomes, "biome")?,
    };
    let (rows, total) = state
        .db
        .list_robot_battles(&filter, page.limit, page.offset)
        .await?;
    let data: Vec<Value> = rows.into_iter().map(|r| r.json).collect();
    Ok(HttpResponse::Ok().json(v2_page(data, total, page)))
}

/// Battles in progress (the spectate feed).
#[utoipa::path(get, path = "/v2/battles/live", responses((status = 200)))]
pub async fn live(
    state: web::Data<AppState>,
    _me: V2Auth,
    q: web::Query<V2PageQuery>,
) -> Result<HttpResponse, V2Error> {
    let page = q.parse()?;
    // A stable order (by battle id), so pages do not overlap while battles come and go.
    let (data, total) = state
        .game
        .live_page(page.offset as usize, page.limit as usize)
        .await?;
    Ok(HttpResponse::Ok().json(v2_page(data, total, page)))
}

/// Routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    // One resource for both methods, so another method is 405 (not `GET /battles/{id}`).
    cfg.service(
        web::resource("/battles/queue")
            .route(web::post().to(queue))
            .route(web::delete().to(leave)),
    )
    .route("/battles/queue/status", web::get().to(status))
    .route("/battles/live", web::get().to(live))
    .route("/battles", web::get().to(history))
    .route("/battles/{id}/replay", web::get().to(replay))
    .route("/battles/{id}", web::get().to(get));
}
