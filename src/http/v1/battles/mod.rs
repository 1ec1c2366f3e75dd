//! /v1/battles: create, read, list, PATCH actions, advance-round, complete.
//! Changes go to the battle's TableActor, which persists before replying.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::actors::table::{TableCommand, TableError};
use crate::cluster::cache::CacheKind;
use crate::domain::tracker::{
    Action, Complete, ConsentAction, Status, TrackerBattle, TrackerError,
};
use crate::http::{
    cached,
    errors::V1Error,
    extract::V1Auth,
    pagination::{v1_page, Cursor, V1PageQuery},
    AppState,
};
use crate::store::{now_ms, rfc3339, tracker};

mod create;
use create::{create_battle, BattleDraft, CreateReq};

impl From<TableError> for V1Error {
    fn from(e: TableError) -> Self {
        match e {
            TableError::Forbidden => V1Error::Forbidden(e.to_string()),
            TableError::Rules(TrackerError::InvalidState(m)) => V1Error::Conflict {
                code: "INVALID_BATTLE_STATE",
                message: m,
            },
            TableError::Rules(TrackerError::Validation { field, message }) => {
                V1Error::field(field, message)
            }
            TableError::Persist(m) => V1Error::Unavailable(format!("battle not saved: {m}")),
            TableError::Unavailable => V1Error::Unavailable(e.to_string()),
            TableError::RateLimited(retry_after) => V1Error::RateLimited { retry_after },
            TableError::NotFound => V1Error::NotFound {
                code: "BATTLE_NOT_FOUND",
                message: "The specified battle could not be found".into(),
                details: json!({}),
            },
        }
    }
}

fn battle_not_found(id: Uuid) -> V1Error {
    V1Error::NotFound {
        code: "BATTLE_NOT_FOUND",
        message: "The specified battle could not be found".into(),
        details: json!({"battle_id": id}),
    }
}

fn render(b: &TrackerBattle) -> Value {
    json!({ "battle": b.to_api(now_ms(), rfc3339) })
}

/// Create a battle between two players' armies (a player of it, an organizer or an admin).
#[utoipa::path(post, path = "/v1/battles", request_body(content = Object,
        description = "`{tournament_id?, battle_type?, mission?, players: [{user_id, army_id, position?}] x2, max_rounds?, turn_time_limit?, phases?, auto_end_turn_on_timeout?, clock?}`"),
    responses((status = 201, description = "`{battle}`: the Battle model")))]
pub(crate) async fn create(
    state: web::Data<AppState>,
    V1Auth(me): V1Auth,
    body: crate::http::extract::Json<CreateReq>,
) -> Result<HttpResponse, V1Error> {
    let draft = BattleDraft::try_from(body.into_inner())?;
    let battle = create_battle(&state, me, draft).await?;
    Ok(HttpResponse::Created().json(render(&battle)))
}

/// One battle with its live state.
#[utoipa::path(get, path = "/v1/battles/{id}", responses((status = 200, description = "`{battle}`")))]
pub(crate) async fn get(
    state: web::Data<AppState>,
    _me: V1Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, V1Error> {
    let b = state.tables.snapshot(*id).await.map_err(|e| match e {
        TableError::NotFound => battle_not_found(*id),
        e => e.into(),
    })?;
    Ok(HttpResponse::Ok().json(render(&b)))
}

#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    player_id: Option<Uuid>,
    status: Option<String>,
    tournament_id: Option<Uuid>,
    // Not `#[serde(flatten)]`: flattening turns every query value into a string.
    limit: Option<u32>,
    cursor: Option<String>,
    offset: Option<u32>,
}

impl ListQuery {
    fn page(&self) -> V1PageQuery {
        V1PageQuery {
            limit: self.limit,
            cursor: self.cursor.clone(),
            offset: self.offset,
        }
    }
}

/// List battles (cursor pagination).
#[utoipa::path(get, path = "/v1/battles", params(
        ("player_id" = Option<String>, Query, description = "Battles of this player"),
        ("status" = Option<String>, Query, description = "setup, in_progress, completed or cancelled", pattern = "^(setup|in_progress|completed|cancelled)$"),
        ("tournament_id" = Option<String>, Query, description = "Battles of this tournament"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size (default 20)"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
        ("offset" = Option<i64>, Query, minimum = 0, maximum = 4_294_967_295_i64, description = "Rows to skip (instead of a cursor)")),
    responses((status = 200, description = "`{data, pagination}`")))]
pub(crate) async fn list(
    state: web::Data<AppState>,
    _me: V1Auth,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, V1Error> {
    let page = q.page().parse()?;
    if let Some(s) = &q.status {
        if Status::parse(s).is_none() {
            return Err(V1Error::field(
                "status",
                "setup, in_progress, completed or cancelled",
            ));
        }
    }
    let f = tracker::BattleFilter {
        player_id: q.player_id,
        status: q.status.clone(),
        tournament_id: q.tournament_id,
    };
    let rows = tracker::list_battles(
        &state.db,
        &f,
        page.after.map(|c| (c.k, c.id)),
        page.offset,
        page.limit + 1,
    )
    .await?;
    let now = now_ms();
    let v = v1_page(rows, page.limit, |b| Cursor {
        k: b.created_at,
        id: b.id.to_string(),
    });
    let data: Vec<Value> = v["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|b| serde_json::from_value::<TrackerBattle>(b).ok())
        .map(|b| b.to_api(now, rfc3339))
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "data": data, "pagination": v["pagination"] })))
}

async fn command(
    state: &AppState,
    me: crate::auth::AuthUser,
    id: Uuid,
    cmd: TableCommand,
) -> Result<HttpResponse, V1Error> {
    // The organizer of the battle's tournament may manage it (issue 5's permission point).
    let organizer = state.db.battle_organizer(id).await?;
    let b = state
        .tables
        .apply(id, me, organizer, cmd)
        .await
        .map_err(|e| match e {
            TableError::NotFound => battle_not_found(id),
            e => e.into(),
        })?;
    // A result shows in the tournament's pairings and the players' battle counts.
    if let Some(t) = b.tournament_id {
        cached::invalidate(state, CacheKind::Tournament, &[t]).await;
    }
    if matches!(b.status, Status::Completed | Status::Cancelled) {
        let players: Vec<Uuid> = b.players.iter().map(|p| p.user_id).collect();
        cached::invalidate(state, CacheKind::UserProfile, &players).await;
    }
    Ok(HttpResponse::Ok().json(render(&b)))
}

/// Apply one action (`start`, `update_scores`, `next_phase`, `end_turn`, `use_stratagem`,
/// `pause`, `resume`, ...).
#[utoipa::path(patch, path = "/v1/battles/{id}", request_body(content = Object,
        description = "`{action, ...}`: the action and its fields"),
    responses((status = 200, description = "`{battle}`"),
        (status = 409, description = "`INVALID_BATTLE_STATE`")))]
pub(crate) async fn patch(
    state: web::Data<AppState>,
    V1Auth(me): V1Auth,
    id: web::Path<Uuid>,
    body: crate::http::extract::Json<Value>,
) -> Result<HttpResponse, V1Error> {
    let body = body.into_inner();
    let consent = body["action"].as_str().is_some_and(ConsentAction::names);
    let cmd = if consent {
        let action: ConsentAction =
            serde_json::from_value(body).map_err(|e| V1Error::field("action", e.to_string()))?;
        let locked = matches!(action, ConsentAction::DisputeResult { .. })
            && tracker::next_round_paired(&state.db, *id).await?;
        TableCommand::Consent { action, locked }
    } else {
        TableCommand::Act(
            serde_json::from_value::<Action>(body)
                .map_err(|e| V1Error::field("action", e.to_string()))?,
        )
    };
    command(&state, me, *id, cmd).await
}

/// Advance to the next battle round.
#[utoipa::path(post, path = "/v1/battles/{id}/advance-round",
    responses((status = 200, description = "`{battle}`"),
        (status = 409, description = "`INVALID_BATTLE_STATE`")))]
pub(crate) async fn advance(
    state: web::Data<AppState>,
    V1Auth(me): V1Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, V1Error> {
    command(&state, me, *id, TableCommand::AdvanceRound).await
}

/// Complete the battle, with an optional winner and final scores.
#[utoipa::path(post, path = "/v1/battles/{id}/complete", request_body(content = Option<Object>,
        description = "`{winner_id?, final_scores?}`"),
    responses((status = 200, description = "`{battle}`"),
        (status = 409, description = "`INVALID_BATTLE_STATE`")))]
pub(crate) async fn complete(
    state: web::Data<AppState>,
    V1Auth(me): V1Auth,
    id: web::Path<Uuid>,
    body: Option<crate::http::extract::Json<Complete>>,
) -> Result<HttpResponse, V1Error> {
    let c = body.map(|b| b.into_inner()).unwrap_or_default();
    command(&state, me, *id, TableCommand::Complete(c)).await
}

/// The battle's event log.
#[utoipa::path(get, path = "/v1/battles/{id}/events", responses((status = 200, description = "`{data}`")))]
pub(crate) async fn events(
    state: web::Data<AppState>,
    _me: V1Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, V1Error> {
    if !tracker::battle_exists(&state.db, *id).await? {
        return Err(battle_not_found(*id));
    }
    Ok(HttpResponse::Ok().json(json!({ "data": tracker::battle_events(&state.db, *id).await? })))
}

/// Routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/battles", web::post().to(create))
        .route("/battles", web::get().to(list))
        .route("/battles/{id}", web::get().to(get))
        .route("/battles/{id}", web::patch().to(patch))
        .route("/battles/{id}/events", web::get().to(events))
        .route("/battles/{id}/advance-round", web::post().to(advance))
        .route("/battles/{id}/complete", web::post().to(complete));
}
