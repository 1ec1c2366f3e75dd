//! /v1/tournaments: create, read (with rounds and pairings), list, PATCH (status transitions),
//! register/withdraw, generate-pairings (through the Tournament actor) and standings.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::actors::persister::Persist;
use crate::actors::table::{Apply, TableCommand};
use crate::actors::tournament::{GenerateRound, TournamentError};
use crate::auth::{AuthUser, Role};
use crate::domain::tournament::{current_standings, Entry, Format, Rules, TournamentStatus};
use crate::domain::tracker::Action;
use crate::http::{
    errors::V1Error,
    extract::{V1Auth, V1Organizer},
    pagination::{v1_page, Cursor, V1PageQuery},
    AppState,
};
use crate::store::{
    audit::audit_op,
    now_ms, rfc3339,
    tournaments::{RegisterOutcome, Tournament, TournamentFilter},
};

impl From<TournamentError> for V1Error {
    fn from(e: TournamentError) -> Self {
        match e {
            TournamentError::NotFound => not_found(),
            TournamentError::Forbidden => V1Error::Forbidden(e.to_string()),
            TournamentError::InvalidState(m) => state_conflict(m),
            TournamentError::RoundUnfinished(m) => V1Error::Conflict {
                code: "INVALID_BATTLE_STATE",
                message: m,
            },
            TournamentError::Conflict(m) => V1Error::Conflict {
                code: "CONFLICT",
                message: m,
            },
            TournamentError::Pairing(m) => V1Error::field("participants", m),
            TournamentError::Store(s) => s.into(),
        }
    }
}

fn not_found() -> V1Error {
    V1Error::not_found("tournament")
}

fn state_conflict(message: String) -> V1Error {
    V1Error::Conflict {
        code: "INVALID_TOURNAMENT_STATE",
        message,
    }
}

/// Money in the API is a decimal amount; stored as minor units (cents).
fn cents(field: &str, v: Option<f64>) -> Result<Option<i64>, V1Error> {
    match v {
        None => Ok(None),
        Some(x) if x.is_finite() && (0.0..=10_000_000.0).contains(&x) => {
            Ok(Some((x * 100.0).round() as i64))
        }
        Some(_) => Err(V1Error::field(field, "between 0 and 10000000")),
    }
}

fn date(field: &str, v: Option<&str>) -> Result<Option<i64>, V1Error> {
    v.map(|s| {
        chrono::DateTime::parse_from_rfc3339(s)
            .map(|d| d.timestamp_millis())
            .map_err(|_| V1Error::field(field, "an RFC 3339 date-time"))
    })
    .transpose()
}

fn rules(v: Option<Value>) -> Result<Rules, V1Error> {
    let r: Rules = serde_json::from_value(v.unwrap_or_else(|| json!({})))
        .map_err(|e| V1Error::field("rules", e.to_string()))?;
    r.validate().map_err(|(f, m)| V1Error::field(f, m))?;
    Ok(r)
}

fn base_view(t: &Tournament) -> Value {
    json!({
        "id": t.id, "name": t.name, "organizer_id": t.organizer_id, "status": t.status.as_str(),
        "format": t.format.as_str(), "max_participants": t.max_participants,
        "current_participants": t.current_participants,
        "entry_fee": t.entry_fee as f64 / 100.0, "prize_pool": t.prize_pool as f64 / 100.0,
        "start_date": t.start_date.map(rfc3339), "end_date": t.end_date.map(rfc3339),
        "rules": t.rules, "winner_id": t.winner_id,
        "created_at": rfc3339(t.created_at), "updated_at": rfc3339(t.updated_at),
    })
}

async fn full_view(state: &AppState, t: &Tournament) -> Result<Value, V1Error> {
    let rounds = state.db.rounds(t.id).await?;
    let pairings = state.db.pairings(t.id).await?;
    let rounds: Vec<Value> = rounds
        .iter()
        .map(|r| {
            let mine = pairings.iter().filter(|p| p.past.round == r.round);
            let games: Vec<Value> = mine
                .clone()
                .filter(|p| p.battle_id.is_some())
                .map(|p| {
                    use crate::domain::tournament::GameResult as G;
                    let (status, winner) = match p.past.result {
                        G::Pending => ("pending", None),
                        G::Completed { winner, .. } => ("completed", winner),
                        G::Cancelled => ("cancelled", None),
                    };
                    json!({ "battle_id": p.battle_id, "player1_id": p.past.p1, "player2_id": p.past.p2,
                        "table_number": p.past.table, "bracket_match": p.past.bracket,
                        "result": status, "winner_id": winner })
                })
                .collect();
            let bye = mine.clone().find(|p| p.past.p2.is_none()).map(|p| p.past.p1);
            json!({ "round_number": r.round, "pairings": games, "bye": bye,
                "explanation": r.explanation, "started_at": r.started_at.map(rfc3339),
                "ends_at": r.ends_at.map(rfc3339), "completed_at": r.completed_at.map(rfc3339) })
        })
        .collect();
    let participants: Vec<Value> = state
        .db
        .participants(t.id)
        .await?
        .iter()
        .enumerate()
        .map(|(i, (u, a, at))| json!({"user_id": u, "army_id": a, "seed": i + 1, "registered_at": rfc3339(*at)}))
        .collect();
    let mut v = base_view(t);
    v["rounds"] = json!(rounds);
    v["participants"] = json!(participants);
    Ok(v)
}

async fn audit(state: &AppState, me: &AuthUser, action: &str, id: Uuid, details: Value) {
    let op = audit_op(Some(me.id), action, Some(&id.to_string()), None, &details);
    if let Err(e) = state.persister.send(Persist(vec![op])).await {
        tracing::warn!(error = %e, "tournament audit not queued");
    }
}

async fn load(state: &AppState, id: Uuid) -> Result<Tournament, V1Error> {
    state.db.tournament(id).await?.ok_or_else(not_found)
}

/// `POST /tournaments` body.
#[derive(Debug, Deserialize)]
pub struct CreateReq {
    name: String,
    format: String,
    max_participants: i64,
    entry_fee: Option<f64>,
    prize_pool: Option<f64>,
    start_date: Option<String>,
    end_date: Option<String>,
    rules: Option<Value>,
    /// `draft` (default) or `registration`.
    status: Option<String>,
}

/// Create a tournament (organizer or admin).
#[utoipa::path(post, path = "/v1/tournaments", responses((status = 201), (status = 403), (status = 422)), security(("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    V1Organizer(me): V1Organizer,
    body: web::Json<CreateReq>,
) -> Result<HttpResponse, V1Error> {
    let b = body.into_inner();
    let name = b.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(V1Error::field("name", "1 to 200 characters"));
    }
    let format = Format::parse(&b.format).ok_or_else(|| {
        V1Error::field("format", "swiss, single_elimination or double_elimination")
    })?;
    if !(2..=1024).contains(&b.max_participants) {
        return Err(V1Error::field("max_participants", "between 2 and 1024"));
    }
    let status = match b.status.as_deref() {
        None | Some("draft") => TournamentStatus::Draft,
        Some("registration") => TournamentStatus::Registration,
        Some(_) => return Err(V1Error::field("status", "draft or registration")),
    };
    let (start, end) = (
        date("start_date", b.start_date.as_deref())?,
        date("end_date", b.end_date.as_deref())?,
    );
    if matches!((start, end), (Some(s), Some(e)) if e < s) {
        return Err(V1Error::field("end_date", "not before start_date"));
    }
    let now = now_ms();
    let t = Tournament {
        id: Uuid::new_v4(),
        name,
        organizer_id: me.id,
        status,
        format,
        max_participants: b.max_participants,
        current_participants: 0,
        entry_fee: cents("entry_fee", b.entry_fee)?.unwrap_or(0),
        prize_pool: cents("prize_pool", b.prize_pool)?.unwrap_or(0),
        start_date: start,
        end_date: end,
        rules: rules(b.rules)?,
        winner_id: None,
        created_at: now,
        updated_at: now,
    };
    state.db.insert_tournament(&t).await?;
    let view = full_view(&state, &t).await?;
    audit(&state, &me, "tournament.create", t.id, view.clone()).await;
    Ok(HttpResponse::Created().json(json!({ "tournament": view })))
}

/// A tournament with its rounds, pairings and participants.
#[utoipa::path(get, path = "/v1/tournaments/{id}", responses((status = 200), (status = 404)), security(("bearer" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    _me: V1Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, V1Error> {
    let t = load(&state, *id).await?;
    Ok(HttpResponse::Ok().json(json!({ "tournament": full_view(&state, &t).await? })))
}

/// `GET /tournaments` query.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    format: Option<String>,
    organizer_id: Option<Uuid>,
    starts_after: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
    offset: Option<u32>,
}

/// Tournaments, newest first, filtered and cursor-paginated.
#[utoipa::path(get, path = "/v1/tournaments", responses((status = 200), (status = 422)), security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    _me: V1Auth,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, V1Error> {
    let page = V1PageQuery {
        limit: q.limit,
        cursor: q.cursor.clone(),
        offset: q.offset,
    }
    .parse()?;
    if q.status
        .as_deref()
        .is_some_and(|s| TournamentStatus::parse(s).is_none())
    {
        return Err(V1Error::field(
            "status",
            "draft, registration, active, completed or cancelled",
        ));
    }
    if q.format
        .as_deref()
        .is_some_and(|s| Format::parse(s).is_none())
    {
        return Err(V1Error::field(
            "format",
            "swiss, single_elimination or double_elimination",
        ));
    }
    let f = TournamentFilter {
        status: q.status.clone(),
        format: q.format.clone(),
        organizer_id: q.organizer_id,
        starts_after: date("starts_after", q.starts_after.as_deref())?,
    };
    let rows = state
        .db
        .tournaments(
            &f,
            page.after.map(|c| (c.k, c.id)),
            page.offset,
            page.limit + 1,
        )
        .await?;
    let v = v1_page(
        rows.iter().map(|t| (t.created_at, t.id)).collect(),
        page.limit,
        |r| Cursor {
            k: r.0,
            id: r.1.to_string(),
        },
    );
    let data: Vec<Value> = rows
        .iter()
        .take(page.limit as usize)
        .map(base_view)
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "data": data, "pagination": v["pagination"] })))
}

/// `PATCH /tournaments/{id}` body.
#[derive(Debug, Deserialize)]
pub struct PatchReq {
    name: Option<String>,
    status: Option<String>,
    max_participants: Option<i64>,
    entry_fee: Option<f64>,
    prize_pool: Option<f64>,
    start_date: Option<String>,
    end_date: Option<String>,
    rules: Option<Value>,
}

/// Organizer edits and status transitions (`draft → registration → active → completed`, or
/// `cancelled`; anything else is 409).
#[utoipa::path(patch, path = "/v1/tournaments/{id}", responses((status = 200), (status = 403), (status = 409), (status = 422)), security(("bearer" = [])))]
pub async fn patch(
    state: web::Data<AppState>,
    V1Auth(me): V1Auth,
    id: web::Path<Uuid>,
    body: web::Json<PatchReq>,
) -> Result<HttpResponse, V1Error> {
    let old = load(&state, *id).await?;
    if !me.is_owner_or_admin(old.organizer_id) {
        return Err(V1Error::Forbidden(
            "only the tournament's organizer or an admin may change it".into(),
        ));
    }
    if matches!(
        old.status,
        TournamentStatus::Completed | TournamentStatus::Cancelled
    ) {
        return Err(state_conflict(format!(
            "the tournament is {}",
            old.status.as_str()
        )));
    }
    let b = body.into_inner();
    let mut t = old.clone();
    let next = match b.status.as_deref() {
        None => old.status,
        Some(s) => TournamentStatus::parse(s).ok_or_else(|| {
            V1Error::field(
                "status",
                "draft, registration, active, completed or cancelled",
            )
        })?,
    };
    if next != old.status && !old.status.can_move_to(next) {
        return Err(state_conflict(format!(
            "cannot move from {} to {}",
            old.status.as_str(),
            next.as_str()
        )));
    }
    if let Some(n) = b.name {
        let n = n.trim().to_string();
        if n.is_empty() || n.chars().count() > 200 {
            return Err(V1Error::field("name", "1 to 200 characters"));
        }
        t.name = n;
    }
    let open = matches!(
        old.status,
        TournamentStatus::Draft | TournamentStatus::Registration
    );
    if b.rules.is_some() || b.max_participants.is_some() {
        if !open {
            return Err(state_conflict(
                "rules and capacity are fixed once the tournament is active".into(),
            ));
        }
        if let Some(m) = b.max_participants {
            if !(2..=1024).contains(&m) || m < old.current_participants {
                return Err(V1Error::field(
                    "max_participants",
                    "between 2 and 1024, not below current_participants",
                ));
            }
            t.max_participants = m;
        }
        if b.rules.is_some() {
            t.rules = rules(b.rules)?;
        }
    }
    t.entry_fee = cents("entry_fee", b.entry_fee)?.unwrap_or(t.entry_fee);
    t.prize_pool = cents("prize_pool", b.prize_pool)?.unwrap_or(t.prize_pool);
    t.start_date = date("start_date", b.start_date.as_deref())?.or(t.start_date);
    t.end_date = date("end_date", b.end_date.as_deref())?.or(t.end_date);
    if next == TournamentStatus::Active && old.current_participants < 2 {
        return Err(state_conflict(
            "at least 2 participants are needed to start".into(),
        ));
    }
    // Completion goes through `complete_tournament` (it also counts the win).
    t.status = if next == TournamentStatus::Completed {
        old.status
    } else {
        next
    };
    t.updated_at = now_ms();
    if !state.db.update_tournament(&t, old.status).await? {
        return Err(V1Error::Conflict {
            code: "CONFLICT",
            message: "the tournament changed concurrently; retry".into(),
        });
    }
    if next == TournamentStatus::Completed {
        let winner = winner_so_far(&state, &t).await?;
        state
            .db
            .complete_tournament(t.id, winner, t.updated_at)
            .await?;
    }
    if next == TournamentStatus::Cancelled {
        cancel_battles(&state, &t).await?;
    }
    let t = load(&state, *id).await?;
    let view = full_view(&state, &t).await?;
    audit(
        &state,
        &me,
        "tournament.update",
        t.id,
        json!({"before": base_view(&old), "after": base_view(&t)}),
    )
    .await;
    Ok(HttpResponse::Ok().json(json!({ "tournament": view })))
}

async fn entries(state: &AppState, id: Uuid) -> Result<Vec<Entry>, V1Error> {
    Ok(state
        .db
        .participants(id)
        .await?
        .iter()
        .enumerate()
        .map(|(i, p)| Entry {
            user: p.0,
            seed: i as u32 + 1,
        })
        .collect())
}

/// The leader when an organizer ends the tournament early (none before any result).
async fn winner_so_far(state: &AppState, t: &Tournament) -> Result<Option<Uuid>, V1Error> {
    let past: Vec<_> = state
        .db
        .pairings(t.id)
        .await?
        .into_iter()
        .map(|p| p.past)
        .collect();
    if past.is_empty() {
        return Ok(None);
    }
    let e = entries(state, t.id).await?;
    Ok(current_standings(t.format, &t.rules, &e, &past)
        .first()
        .map(|s| s.0))
}

/// A cancelled tournament cancels its unfinished battles.
async fn cancel_battles(state: &AppState, t: &Tournament) -> Result<(), V1Error> {
    let user = AuthUser {
        id: t.organizer_id,
        role: Role::Organizer,
    };
    for p in state.db.pairings(t.id).await? {
        let Some(b) = p.battle_id else { continue };
        if p.past.result != crate::domain::tournament::GameResult::Pending {
            continue;
        }
        if let Some(addr) = state.tables.get(b).await? {
            let cmd = TableCommand::Act(Action::Cancel);
            let _ = addr
                .send(Apply {
                    user,
                    organizer: Some(t.organizer_id),
                    cmd,
                })
                .await;
        }
    }
    Ok(())
}

/// `POST /tournaments/{id}/register` body.
#[derive(Debug, Deserialize)]
pub struct RegisterReq {
    army_id: Uuid,
}

/// Register with an army: the caller's, within `points_limit`, of an allowed faction.
#[utoipa::path(post, path = "/v1/tournaments/{id}/register", responses((status = 201), (status = 409), (status = 422)), security(("bearer" = [])))]
pub async fn register(
    state: web::Data<AppState>,
    V1Auth(me): V1Auth,
    id: web::Path<Uuid>,
    body: web::Json<RegisterReq>,
) -> Result<HttpResponse, V1Error> {
    let t = load(&state, *id).await?;
    if t.status != TournamentStatus::Registration {
        return Err(state_conflict(format!(
            "registration is not open (the tournament is {})",
            t.status.as_str()
        )));
    }
    let army = state
        .db
        .army(body.army_id)
        .await?
        .ok_or_else(|| V1Error::field("army_id", "unknown army"))?;
    if army.owner_id != me.id {
        return Err(V1Error::field("army_id", "the army must be yours"));
    }
    if army.points_value > i64::from(t.rules.points_limit) {
        return Err(V1Error::field(
            "army_id",
            format!(
                "army is {} points; the limit is {}",
                army.points_value, t.rules.points_limit
            ),
        ));
    }
    if !t.rules.allows_faction(&army.faction_id) {
        return Err(V1Error::field(
            "army_id",
            format!("faction {} is not allowed", army.faction_id),
        ));
    }
    let now = now_ms();
    match state
        .db
        .register_participant(t.id, me.id, army.id, now)
        .await?
    {
        RegisterOutcome::Registered => {}
        RegisterOutcome::Duplicate => {
            return Err(V1Error::Conflict {
                code: "ALREADY_REGISTERED",
                message: "already registered for this tournament".into(),
            })
        }
        RegisterOutcome::FullOrClosed => {
            return Err(V1Error::Conflict {
                code: "TOURNAMENT_FULL",
                message: format!(
                    "the tournament is full ({} participants)",
                    t.max_participants
                ),
            })
        }
    }
    let reg = json!({"tournament_id": t.id, "user_id": me.id, "army_id": army.id, "registered_at": rfc3339(now)});
    audit(&state, &me, "tournament.register", t.id, reg.clone()).await;
    Ok(HttpResponse::Created().json(json!({ "registration": reg })))
}

/// Withdraw before the tournament starts.
#[utoipa::path(delete, path = "/v1/tournaments/{id}/register", responses((status = 204), (status = 404), (status = 409)), security(("bearer" = [])))]
pub async fn withdraw(
    state: web::Data<AppState>,
    V1Auth(me): V1Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, V1Error> {
    let t = load(&state, *id).await?;
    if !matches!(
        t.status,
        TournamentStatus::Draft | TournamentStatus::Registration
    ) {
        return Err(state_conflict(
            "withdrawal closes when the tournament starts".into(),
        ));
    }
    if !state.db.withdraw_participant(t.id, me.id, now_ms()).await? {
        return Err(V1Error::not_found("registration"));
    }
    audit(
        &state,
        &me,
        "tournament.withdraw",
        t.id,
        json!({"user_id": me.id}),
    )
    .await;
    Ok(HttpResponse::NoContent().finish())
}

/// Create the next round (battles with distinct tables) and start its clocks.
#[utoipa::path(post, path = "/v1/tournaments/{id}/generate-pairings", responses((status = 201), (status = 403), (status = 409)), security(("bearer" = [])))]
pub async fn generate_pairings(
    state: web::Data<AppState>,
    V1Auth(me): V1Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, V1Error> {
    load(&state, *id).await?;
    let round = state
        .tournaments
        .get(*id)
        .send(GenerateRound { user: me })
        .await
        .map_err(|_| V1Error::Unavailable("tournament actor unavailable".into()))??;
    Ok(HttpResponse::Created().json(json!({ "round": round })))
}

/// Standings in tie-break order.
#[utoipa::path(get, path = "/v1/tournaments/{id}/standings", responses((status = 200), (status = 404)), security(("bearer" = [])))]
pub async fn standings(
    state: web::Data<AppState>,
    _me: V1Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, V1Error> {
    let t = load(&state, *id).await?;
    let past: Vec<_> = state
        .db
        .pairings(t.id)
        .await?
        .into_iter()
        .map(|p| p.past)
        .collect();
    let e = entries(&state, t.id).await?;
    let rows: Vec<Value> = current_standings(t.format, &t.rules, &e, &past)
        .into_iter()
        .map(|(u, s)| {
            json!({ "rank": s.rank, "user_id": u, "seed": s.seed, "match_points": s.match_points,
                "wins": s.wins, "draws": s.draws, "losses": s.losses, "byes": s.byes,
                "vp_for": s.vp_for, "vp_against": s.vp_against, "vp_diff": s.vp_diff,
                "strength_of_schedule": s.sos })
        })
        .collect();
    let order = t.rules.tiebreakers.clone().unwrap_or_else(|| {
        [
            "match_points",
            "total_vp",
            "vp_diff",
            "strength_of_schedule",
        ]
        .map(String::from)
        .to_vec()
    });
    Ok(
        HttpResponse::Ok().json(json!({ "tournament_id": t.id, "status": t.status.as_str(),
        "winner_id": t.winner_id, "tiebreakers": order, "data": rows })),
    )
}

/// Routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/tournaments", web::post().to(create))
        .route("/tournaments", web::get().to(list))
        .route("/tournaments/{id}", web::get().to(get))
        .route("/tournaments/{id}", web::patch().to(patch))
        .route("/tournaments/{id}/register", web::post().to(register))
        .route("/tournaments/{id}/register", web::delete().to(withdraw))
        .route(
            "/tournaments/{id}/generate-pairings",
            web::post().to(generate_pairings),
        )
        .route("/tournaments/{id}/standings", web::get().to(standings));
}
