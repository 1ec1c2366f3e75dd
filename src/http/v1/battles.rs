//! /v1/battles: create, read, list, PATCH actions, advance-round, complete.
//! Changes go to the battle's TableActor, which persists before replying.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::actors::persister::Persist;
use crate::actors::table::{Apply, Snapshot, TableCommand, TableError};
use crate::auth::Role;
use crate::domain::tracker::{
    Action, Complete, ConsentAction, NewBattle, Status, TrackerBattle, TrackerError,
};
use crate::http::{
    errors::V1Error,
    extract::V1Auth,
    pagination::{v1_page, Cursor, V1PageQuery},
    AppState,
};
use crate::store::{audit::audit_op, now_ms, rfc3339, tracker};

#[derive(Debug, Deserialize)]
struct PlayerReq {
    user_id: Uuid,
    army_id: Uuid,
    #[serde(default)]
    position: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct CreateReq {
    #[serde(default)]
    tournament_id: Option<Uuid>,
    #[serde(default)]
    battle_type: Option<String>,
    #[serde(default)]
    mission: Option<Value>,
    players: Vec<PlayerReq>,
    #[serde(default)]
    max_rounds: Option<u32>,
    #[serde(default)]
    turn_time_limit: Option<u32>,
    /// `"10th"` (default) or `"full"`: which phase list the battle uses.
    #[serde(default)]
    phases: Option<String>,
    #[serde(default)]
    auto_end_turn_on_timeout: Option<bool>,
    /// Clock mode (extension): absent or `{"mode":"turn"}` is the spec's per-turn limit;
    /// `{"mode":"chess","bank_s":N}` gives each player an N-second bank for the whole battle.
    #[serde(default)]
    clock: Option<ClockReq>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockReq {
    mode: String,
    #[serde(default)]
    bank_s: Option<u32>,
}

/// Validates the `clock` object: `None` for turn mode, the bank in seconds for chess mode.
fn chess_bank(clock: Option<&ClockReq>) -> Result<Option<u32>, V1Error> {
    match clock {
        None => Ok(None),
        Some(c) if c.mode == "turn" && c.bank_s.is_none() => Ok(None),
        Some(c) if c.mode == "turn" => Err(V1Error::field("clock", "bank_s is for chess mode")),
        Some(c) if c.mode == "chess" => match c.bank_s {
            Some(b) if (1..=86_400).contains(&b) => Ok(Some(b)),
            _ => Err(V1Error::field(
                "clock",
                "chess mode needs bank_s between 1 and 86400 seconds",
            )),
        },
        Some(_) => Err(V1Error::field(
            "clock",
            "mode must be \"turn\" or \"chess\"",
        )),
    }
}

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
    let b = body.into_inner();
    if b.players.len() != 2 {
        return Err(V1Error::field("players", "exactly two players"));
    }
    if b.players[0].user_id == b.players[1].user_id {
        return Err(V1Error::field("players", "two different players"));
    }
    let in_battle = b.players.iter().any(|p| p.user_id == me.id);
    if !in_battle && me.role < Role::Organizer {
        return Err(V1Error::Forbidden(
            "only a player of the battle, an organizer or an admin may create it".into(),
        ));
    }
    let battle_type = b.battle_type.unwrap_or_else(|| "matched_play".into());
    if !["matched_play", "crusade", "narrative"].contains(&battle_type.as_str()) {
        return Err(V1Error::field(
            "battle_type",
            "matched_play, crusade or narrative",
        ));
    }
    let max_rounds = b.max_rounds.unwrap_or(5);
    if !(1..=10).contains(&max_rounds) {
        return Err(V1Error::field("max_rounds", "between 1 and 10"));
    }
    let turn_time_limit = b.turn_time_limit.unwrap_or(1800);
    if !(10..=14_400).contains(&turn_time_limit) {
        return Err(V1Error::field(
            "turn_time_limit",
            "between 10 and 14400 seconds",
        ));
    }
    let tenth = match b.phases.as_deref() {
        None | Some("10th") => true,
        Some("full") => false,
        Some(_) => return Err(V1Error::field("phases", "\"10th\" or \"full\"")),
    };
    let bank = chess_bank(b.clock.as_ref())?;
    let mut players = Vec::new();
    for (i, p) in b.players.iter().enumerate() {
        if state.db.user_by_id(p.user_id).await?.is_none() {
            return Err(V1Error::field(
                "players",
                format!("player {i}: unknown user"),
            ));
        }
        let army = state
            .db
            .army(p.army_id)
            .await?
            .ok_or_else(|| V1Error::field("players", format!("player {i}: unknown army")))?;
        if army.owner_id != p.user_id {
            return Err(V1Error::field(
                "players",
                format!("player {i}: army does not belong to this player"),
            ));
        }
        let pos = p.position.clone().unwrap_or_else(|| {
            if i == 0 {
                "left".into()
            } else {
                "right".into()
            }
        });
        if pos != "left" && pos != "right" {
            return Err(V1Error::field(
                "players",
                format!("player {i}: position must be left or right"),
            ));
        }
        players.push((p.user_id, p.army_id, pos));
    }
    let mut mission = b.mission.unwrap_or_else(|| json!({}));
    if !mission.is_object() || mission.to_string().len() > 8192 {
        return Err(V1Error::field("mission", "an object of at most 8 KiB"));
    }
    if let Some(m) = mission.as_object_mut() {
        crate::domain::factions::fill_objectives(m);
    }
    if let Some(t) = b.tournament_id {
        if state.db.tournament(t).await?.is_none() {
            return Err(V1Error::field("tournament_id", "unknown tournament"));
        }
    }
    let [p1, p2]: [(Uuid, Uuid, String); 2] = players
        .try_into()
        .map_err(|_| V1Error::field("players", "exactly two players"))?;
    let mut battle = TrackerBattle::new(
        Uuid::new_v4(),
        NewBattle {
            tournament_id: b.tournament_id,
            battle_type,
            mission,
            players: [p1, p2],
            max_rounds,
            turn_time_limit,
            tenth_edition: tenth,
            auto_end_turn_on_timeout: b.auto_end_turn_on_timeout.unwrap_or(false),
        },
        now_ms(),
    );
    if let Some(bank_s) = bank {
        battle = battle.with_chess_clock(bank_s);
    }
    tracker::insert_battle(&state.db, &battle).await?;
    let op = audit_op(
        Some(me.id),
        "battle.create",
        Some(&battle.id.to_string()),
        None,
        &json!({ "players": battle.players.iter().map(|p| p.user_id).collect::<Vec<_>>(),
                 "tournament_id": battle.tournament_id }),
    );
    match state.persister.send(Persist(vec![op])).await {
        Ok(Ok(())) => {}
        other => tracing::warn!(?other, "audit write failed"),
    }
    Ok(HttpResponse::Created().json(render(&battle)))
}

/// One battle with its live state.
#[utoipa::path(get, path = "/v1/battles/{id}", responses((status = 200, description = "`{battle}`")))]
pub(crate) async fn get(
    state: web::Data<AppState>,
    _me: V1Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, V1Error> {
    let addr = state
        .tables
        .get(*id)
        .await?
        .ok_or_else(|| battle_not_found(*id))?;
    let b = addr
        .send(Snapshot)
        .await
        .map_err(|_| V1Error::Unavailable("battle actor unavailable".into()))?;
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
    let addr = state
        .tables
        .get(id)
        .await?
        .ok_or_else(|| battle_not_found(id))?;
    // The organizer of the battle's tournament may manage it (issue 5's permission point).
    let organizer = state.db.battle_organizer(id).await?;
    let b = addr
        .send(Apply {
            user: me,
            organizer,
            cmd,
        })
        .await
        .map_err(|_| V1Error::Unavailable("battle actor unavailable".into()))??;
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
