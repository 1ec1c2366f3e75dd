//! /v1/tournaments: create, read (with rounds and pairings), list, PATCH (status transitions),
//! register/withdraw, generate-pairings (through the Tournament actor) and standings.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::actors::tournament::TournamentError;
use crate::cluster::cache::CacheKind;
use crate::domain::tournament::{Format, PatchError, Patched, TournamentPatch, TournamentStatus};
use crate::http::{
    cached,
    errors::V1Error,
    extract::{V1Auth, V1Organizer},
    pagination::{v1_page, Cursor, V1PageQuery},
    AppState,
};
use crate::store::{
    now_ms,
    tournaments::{Tournament, TournamentFilter},
};

mod play;
mod view;

pub use play::*;
use view::{audit, base_view, cancel_battles, cents, date, full_view, load, rules, winner_so_far};

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

impl From<PatchError> for V1Error {
    fn from(e: PatchError) -> Self {
        match e {
            PatchError::Field(f, m) => V1Error::field(f, m),
            PatchError::State(m) => state_conflict(m),
        }
    }
}

impl From<PatchReq> for TournamentPatch {
    fn from(b: PatchReq) -> Self {
        TournamentPatch {
            name: b.name,
            status: b.status,
            max_participants: b.max_participants,
            entry_fee: b.entry_fee,
            prize_pool: b.prize_pool,
            start_date: b.start_date,
            end_date: b.end_date,
            rules: b.rules,
        }
    }
}

pub(super) fn not_found() -> V1Error {
    V1Error::NotFound {
        code: "TOURNAMENT_NOT_FOUND",
        message: "The specified tournament could not be found".into(),
        details: json!({}),
    }
}

pub(super) fn state_conflict(message: String) -> V1Error {
    V1Error::Conflict {
        code: "INVALID_TOURNAMENT_STATE",
        message,
    }
}

/// `POST /tournaments` body.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = TournamentCreateReq)]
pub struct CreateReq {
    name: String,
    format: String,
    max_participants: i64,
    entry_fee: Option<f64>,
    prize_pool: Option<f64>,
    start_date: Option<String>,
    end_date: Option<String>,
    #[schema(value_type = Option<Object>)]
    rules: Option<Value>,
    /// `registration` (default) or `draft`.
    status: Option<String>,
}

/// Create a tournament (organizer or admin).
#[utoipa::path(post, path = "/v1/tournaments", request_body = CreateReq, responses((status = 201), (status = 403), (status = 422)), security(("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    V1Organizer(me): V1Organizer,
    body: crate::http::extract::Json<CreateReq>,
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
    // The spec's flow is create → register → generate-pairings, so a new tournament opens
    // registration unless the organizer asks for a draft.
    let status = match b.status.as_deref() {
        Some("draft") => TournamentStatus::Draft,
        None | Some("registration") => TournamentStatus::Registration,
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
        prize_pool: cents("prize_pool", b.prize_pool)?,
        start_date: start,
        end_date: end,
        rules: rules(b.rules)?,
        winner_id: None,
        created_at: now,
        updated_at: now,
    };
    state.db.insert_tournament(&t).await?;
    cached::invalidate(&state, CacheKind::Tournament, &[t.id]).await;
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
    let view = cached::read(&state, CacheKind::Tournament, *id, async {
        full_view(&state, &load(&state, *id).await?).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "tournament": view })))
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
#[utoipa::path(get, path = "/v1/tournaments", params(
        ("status" = Option<String>, Query, description = "Only tournaments in this status",
            pattern = "^(draft|registration|active|completed|cancelled)$"),
        ("format" = Option<String>, Query, description = "Only tournaments of this format",
            pattern = "^(swiss|single_elimination|double_elimination)$"),
        ("organizer_id" = Option<String>, Query, description = "Only this organizer's tournaments"),
        ("starts_after" = Option<String>, Query, description = "Only tournaments starting after this RFC 3339 date-time"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size (default 20)"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
        ("offset" = Option<i64>, Query, minimum = 0, maximum = 4_294_967_295_i64, description = "Rows to skip (instead of a cursor)")),
    responses((status = 200), (status = 422)), security(("bearer" = [])))]
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
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = TournamentPatchReq)]
pub struct PatchReq {
    name: Option<String>,
    status: Option<String>,
    max_participants: Option<i64>,
    entry_fee: Option<f64>,
    prize_pool: Option<f64>,
    start_date: Option<String>,
    end_date: Option<String>,
    #[schema(value_type = Option<Object>)]
    rules: Option<Value>,
}

/// Organizer edits and status transitions (`draft → registration → active → completed`, or
/// `cancelled`; anything else is 409).
#[utoipa::path(patch, path = "/v1/tournaments/{id}", request_body = PatchReq, responses((status = 200), (status = 403), (status = 409), (status = 422)), security(("bearer" = [])))]
pub async fn patch(
    state: web::Data<AppState>,
    V1Auth(me): V1Auth,
    id: web::Path<Uuid>,
    body: crate::http::extract::Json<PatchReq>,
) -> Result<HttpResponse, V1Error> {
    let old = load(&state, *id).await?;
    if !me.is_owner_or_admin(old.organizer_id) {
        return Err(V1Error::Forbidden(
            "only the tournament's organizer or an admin may change it".into(),
        ));
    }
    let Patched { row: mut t, next } = old.patched(body.into_inner().into())?;
    t.updated_at = now_ms();
    let updated = state.db.update_tournament(&t, old.status).await;
    cached::invalidate(&state, CacheKind::Tournament, &[t.id]).await;
    if !updated? {
        return Err(V1Error::Conflict {
            code: "CONFLICT",
            message: "the tournament changed concurrently; retry".into(),
        });
    }
    if next == TournamentStatus::Completed {
        let winner = winner_so_far(&state, &t).await?;
        let done = state
            .db
            .complete_tournament(t.id, winner, t.updated_at)
            .await;
        cached::invalidate(&state, CacheKind::Tournament, &[t.id]).await;
        cached::invalidate(&state, CacheKind::UserProfile, winner.as_slice()).await;
        done?;
    }
    if next == TournamentStatus::Cancelled {
        let r = cancel_battles(&state, &t).await;
        cached::invalidate(&state, CacheKind::Tournament, &[t.id]).await;
        r?;
    }
    let t = load(&state, *id).await?;
    let view = full_view(&state, &t).await?;
    audit(
        &state,
        &me,
        "tournament.update",
        t.id,
        crate::domain::changes::changes(&base_view(&old), &base_view(&t)),
    )
    .await;
    Ok(HttpResponse::Ok().json(json!({ "tournament": view })))
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
