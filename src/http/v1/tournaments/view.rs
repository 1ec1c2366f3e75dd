//! Shared pieces of the tournament handlers: input parsing, the API views, loading, audit.

use serde_json::{json, Value};
use uuid::Uuid;

use super::not_found;
use crate::actors::table::TableCommand;
use crate::auth::{AuthUser, Role};
use crate::domain::tournament::{current_standings, Entry, Rules};
use crate::domain::tracker::Action;
use crate::http::{errors::V1Error, AppState};
use crate::store::{audit::audit_op, rfc3339, tournaments::Tournament};

/// Money in the API is a decimal amount; stored as minor units (cents).
pub(super) fn cents(field: &'static str, v: Option<f64>) -> Result<Option<i64>, V1Error> {
    Ok(crate::domain::tournament::cents(field, v)?)
}

pub(super) fn date(field: &'static str, v: Option<&str>) -> Result<Option<i64>, V1Error> {
    Ok(crate::domain::tournament::date(field, v)?)
}

pub(super) fn rules(v: Option<Value>) -> Result<Rules, V1Error> {
    Ok(crate::domain::tournament::rules(v)?)
}

pub(super) fn base_view(t: &Tournament) -> Value {
    json!({
        "id": t.id, "name": t.name, "organizer_id": t.organizer_id, "status": t.status.as_str(),
        "format": t.format.as_str(), "max_participants": t.max_participants,
        "current_participants": t.current_participants,
        "entry_fee": t.entry_fee as f64 / 100.0, "prize_pool": t.prize_pool_cents() as f64 / 100.0,
        "start_date": t.start_date.map(rfc3339), "end_date": t.end_date.map(rfc3339),
        "rules": t.rules, "winner_id": t.winner_id,
        "created_at": rfc3339(t.created_at), "updated_at": rfc3339(t.updated_at),
    })
}

pub(super) async fn full_view(state: &AppState, t: &Tournament) -> Result<Value, V1Error> {
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

pub(super) async fn audit(state: &AppState, me: &AuthUser, action: &str, id: Uuid, details: Value) {
    let op = audit_op(Some(me.id), action, Some(&id.to_string()), None, &details);
    crate::http::audit::record(state, op).await;
}

pub(super) async fn load(state: &AppState, id: Uuid) -> Result<Tournament, V1Error> {
    state.db.tournament(id).await?.ok_or_else(not_found)
}

pub(super) async fn entries(state: &AppState, id: Uuid) -> Result<Vec<Entry>, V1Error> {
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
pub(super) async fn winner_so_far(
    state: &AppState,
    t: &Tournament,
) -> Result<Option<Uuid>, V1Error> {
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
pub(super) async fn cancel_battles(state: &AppState, t: &Tournament) -> Result<(), V1Error> {
    let user = AuthUser {
        id: t.organizer_id,
        role: Role::Organizer,
    };
    for p in state.db.pairings(t.id).await? {
        let Some(b) = p.battle_id else { continue };
        if p.past.result != crate::domain::tournament::GameResult::Pending {
            continue;
        }
        let cmd = TableCommand::Act(Action::Cancel);
        let _ = state.tables.apply(b, user, Some(t.organizer_id), cmd).await;
    }
    Ok(())
}
