//! Taking part: register, withdraw, generate-pairings and standings.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use super::state_conflict;
use super::view::{audit, entries, load};
use crate::actors::tournament::GenerateRound;
use crate::cluster::cache::CacheKind;
use crate::domain::tournament::{current_standings, TournamentStatus};
use crate::http::{cached, errors::V1Error, extract::V1Auth, AppState};
use crate::store::{now_ms, rfc3339, tournaments::RegisterOutcome};

/// `POST /tournaments/{id}/register` body.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = TournamentRegisterReq)]
pub struct RegisterReq {
    #[schema(value_type = String, format = "uuid")]
    army_id: Uuid,
}

/// Register with an army: the caller's, within `points_limit`, of an allowed faction.
#[utoipa::path(post, path = "/v1/tournaments/{id}/register", request_body = RegisterReq, responses((status = 201), (status = 409), (status = 422)), security(("bearer" = [])))]
pub async fn register(
    state: web::Data<AppState>,
    V1Auth(me): V1Auth,
    id: web::Path<Uuid>,
    body: crate::http::extract::Json<RegisterReq>,
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
    let outcome = state
        .db
        .register_participant(t.id, me.id, army.id, now)
        .await;
    cached::invalidate(&state, CacheKind::Tournament, &[t.id]).await;
    match outcome? {
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
    let withdrawn = state.db.withdraw_participant(t.id, me.id, now_ms()).await;
    cached::invalidate(&state, CacheKind::Tournament, &[t.id]).await;
    if !withdrawn? {
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
pub(crate) async fn generate_pairings(
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
    let rows = state.db.pairings(t.id).await?;
    // Disputed results count until the organizer resolves them; the standings say which.
    let disputed: Vec<_> = rows.iter().filter(|p| p.disputed).collect();
    let in_dispute = |u: Uuid| {
        disputed
            .iter()
            .any(|p| p.past.p1 == u || p.past.p2 == Some(u))
    };
    let disputed_battles: Vec<Uuid> = disputed.iter().filter_map(|p| p.battle_id).collect();
    let past: Vec<_> = rows.iter().map(|p| p.past).collect();
    let e = entries(&state, t.id).await?;
    let rows: Vec<Value> = current_standings(t.format, &t.rules, &e, &past)
        .into_iter()
        .map(|(u, s)| {
            json!({ "rank": s.rank, "user_id": u, "seed": s.seed, "match_points": s.match_points,
                "wins": s.wins, "draws": s.draws, "losses": s.losses, "byes": s.byes,
                "vp_for": s.vp_for, "vp_against": s.vp_against, "vp_diff": s.vp_diff,
                "strength_of_schedule": s.sos, "disputed": in_dispute(u) })
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
        "winner_id": t.winner_id, "tiebreakers": order, "disputed_battles": disputed_battles,
        "data": rows })),
    )
}
