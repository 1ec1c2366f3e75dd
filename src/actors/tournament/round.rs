//! The work behind the Tournament actor's messages: generating a round, starting its tables,
//! recording results, and announcing to tables and the tournament room.

use serde_json::{json, Value};
use uuid::Uuid;

use super::{TournamentDeps, TournamentError};
use crate::actors::persister::Persist;
use crate::actors::table::TableCommand;
use crate::auth::{AuthUser, Role};
use crate::domain::tournament::{plan_next, Entry, Plan, PlanError, TournamentStatus};
use crate::domain::tracker::{Action, NewBattle, TrackerBattle};
use crate::store::{audit::audit_op, now_ms, rfc3339, StoreError};

/// Emits `event` to the tournament room and, per battle, to each table's subscribers.
pub(super) async fn announce(deps: &TournamentDeps, id: Uuid, battles: &[Uuid], event: Value) {
    for b in battles {
        let mut e = event.clone();
        e["battle_id"] = json!(b);
        deps.hub.publish(*b, &e).await;
    }
    let name = event["type"]
        .as_str()
        .unwrap_or("tournament_event")
        .to_string();
    deps.sio
        .emit_now(format!("tournament:{id}"), name, event)
        .await;
}

pub(super) async fn audit(
    deps: &TournamentDeps,
    actor: Option<Uuid>,
    action: &str,
    id: Uuid,
    d: Value,
) {
    let op = audit_op(actor, action, Some(&id.to_string()), None, &d);
    if let Err(e) = deps.persister.send(Persist(vec![op])).await {
        tracing::warn!(error = %e, "tournament audit not queued");
    }
}

/// The first `generate-pairings` of a tournament in `registration` closes registration and
/// starts it (the spec's flow has no other step for this).
async fn start(
    deps: &TournamentDeps,
    t: &mut crate::store::tournaments::Tournament,
    by: Uuid,
) -> Result<(), TournamentError> {
    if t.current_participants < 2 {
        return Err(TournamentError::InvalidState(format!(
            "at least 2 participants are needed to start ({} registered)",
            t.current_participants
        )));
    }
    let mut next = t.clone();
    next.status = TournamentStatus::Active;
    next.updated_at = now_ms();
    if !deps.db.update_tournament(&next, t.status).await? {
        return Err(TournamentError::Conflict(
            "the tournament changed concurrently; retry".into(),
        ));
    }
    audit(
        deps,
        Some(by),
        "tournament.start",
        t.id,
        json!({"participants": t.current_participants}),
    )
    .await;
    *t = next;
    Ok(())
}

/// Creates the next round; returns its API view, battle ids and clock length (seconds).
pub(super) async fn generate(
    deps: &TournamentDeps,
    id: Uuid,
    user: AuthUser,
) -> Result<(Value, Vec<Uuid>, u32, Uuid), TournamentError> {
    let db = &deps.db;
    let mut t = db.tournament(id).await?.ok_or(TournamentError::NotFound)?;
    if !user.is_owner_or_admin(t.organizer_id) {
        return Err(TournamentError::Forbidden);
    }
    if t.status == TournamentStatus::Registration {
        start(deps, &mut t, user.id).await?;
    }
    if t.status != TournamentStatus::Active {
        return Err(TournamentError::InvalidState(format!(
            "pairings are generated while the tournament is active (it is {})",
            t.status.as_str()
        )));
    }
    let parts = db.participants(id).await?;
    let entries: Vec<Entry> = parts
        .iter()
        .enumerate()
        .map(|(i, p)| Entry {
            user: p.0,
            seed: i as u32 + 1,
        })
        .collect();
    let past: Vec<_> = db.pairings(id).await?.into_iter().map(|p| p.past).collect();
    let seed: u64 = rand::random();
    let plan = match plan_next(t.format, &t.rules, &entries, &past, seed) {
        Ok(p) => p,
        Err(PlanError::RoundUnfinished(r)) => {
            return Err(TournamentError::RoundUnfinished(format!(
                "round {r} has unfinished battles"
            )))
        }
        Err(e @ PlanError::NoRematchFree(_)) => {
            return Err(TournamentError::InvalidState(e.to_string()))
        }
        Err(PlanError::Pairing(e)) => return Err(TournamentError::Pairing(e.to_string())),
    };
    let Plan::Round {
        round,
        games,
        bye,
        explanation,
    } = plan
    else {
        // Normally the last result already completed it; make sure (a missed hook).
        record(deps, id).await?;
        return Err(TournamentError::InvalidState(
            "no rounds left: the tournament is decided".into(),
        ));
    };
    let now = now_ms();
    let army = |u: Uuid| {
        parts
            .iter()
            .find(|p| p.0 == u)
            .map(|p| p.1)
            .unwrap_or_default()
    };
    let battles: Vec<_> = games
        .iter()
        .map(|g| {
            let b = TrackerBattle::new(
                Uuid::new_v4(),
                NewBattle {
                    tournament_id: Some(id),
                    battle_type: "matched_play".into(),
                    mission: json!({}),
                    players: [
                        (g.p1, army(g.p1), "left".into()),
                        (g.p2, army(g.p2), "right".into()),
                    ],
                    max_rounds: t.rules.battle_rounds.unwrap_or(5),
                    turn_time_limit: t.rules.turn_time_limit.unwrap_or(1800),
                    tenth_edition: true,
                    auto_end_turn_on_timeout: false,
                },
                now,
            );
            (b, g.table, g.bracket)
        })
        .collect();
    let byes: Vec<Uuid> = bye.into_iter().collect();
    match db
        .create_round(id, round, &explanation, &battles, &byes, now)
        .await
    {
        Err(StoreError::Conflict(_)) => {
            return Err(TournamentError::Conflict(format!(
                "round {round} was generated concurrently"
            )))
        }
        r => r?,
    }
    let pairings: Vec<Value> = battles
        .iter()
        .map(|(b, table, bracket)| {
            json!({ "battle_id": b.id, "player1_id": b.players[0].user_id,
                "player2_id": b.players[1].user_id, "table_number": table, "bracket_match": bracket })
        })
        .collect();
    let view = json!({ "round_number": round, "pairings": pairings, "bye": bye, "explanation": explanation });
    audit(
        deps,
        Some(user.id),
        "tournament.pairings_generated",
        id,
        view.clone(),
    )
    .await;
    let ids = battles.iter().map(|b| b.0.id).collect();
    Ok((view, ids, t.rules.time_limit, t.organizer_id))
}

/// Starts every table's clock together (concurrently, as the organizer).
pub(super) async fn start_tables(deps: &TournamentDeps, battles: &[Uuid], organizer: Uuid) {
    let user = AuthUser {
        id: organizer,
        role: Role::Organizer,
    };
    let starts = battles.iter().map(|&b| {
        let tables = deps.tables.clone();
        async move {
            let cmd = TableCommand::Act(Action::Start);
            let err = match tables.apply(b, user, Some(organizer), cmd).await {
                Ok(_) => return,
                Err(e) => e.to_string(),
            };
            tracing::warn!(battle = %b, error = %err, "tournament table not started");
        }
    });
    futures_util::future::join_all(starts).await;
}

/// Records a finished battle: closes the round when its last battle ends, and completes the
/// tournament (counting the winner's `tournament_wins`) when no round is left.
pub(super) async fn record(deps: &TournamentDeps, id: Uuid) -> Result<bool, TournamentError> {
    let db = &deps.db;
    let Some(t) = db.tournament(id).await? else {
        return Ok(false);
    };
    if t.status != TournamentStatus::Active {
        return Ok(false);
    }
    let rows = db.pairings(id).await?;
    let Some(round) = rows.iter().map(|p| p.past.round).max() else {
        return Ok(false);
    };
    let entries: Vec<Entry> = db
        .participants(id)
        .await?
        .iter()
        .enumerate()
        .map(|(i, p)| Entry {
            user: p.0,
            seed: i as u32 + 1,
        })
        .collect();
    let past: Vec<_> = rows.iter().map(|p| p.past).collect();
    let finished = match plan_next(t.format, &t.rules, &entries, &past, 0) {
        Err(PlanError::RoundUnfinished(_)) => return Ok(false),
        // The round is over; the organizer decides what comes next.
        Err(PlanError::NoRematchFree(_)) => None,
        Err(PlanError::Pairing(e)) => return Err(TournamentError::Pairing(e.to_string())),
        Ok(Plan::Finished { winner }) => Some(winner),
        Ok(Plan::Round { .. }) => None,
    };
    let now = now_ms();
    let battles: Vec<Uuid> = rows
        .iter()
        .filter(|p| p.past.round == round)
        .filter_map(|p| p.battle_id)
        .collect();
    if db.round_completed(id, round, now).await? {
        changed(deps, id, None).await;
        let ev = json!({"type": "round_completed", "tournament_id": id, "round": round,
            "timestamp": rfc3339(now)});
        announce(deps, id, &[], ev).await;
        audit(
            deps,
            None,
            "tournament.round_completed",
            id,
            json!({"round": round}),
        )
        .await;
    }
    if let Some(winner) = finished {
        if db.complete_tournament(id, winner, now).await? {
            changed(deps, id, winner).await;
            let ev = json!({"type": "tournament_completed", "tournament_id": id,
                "winner_id": winner, "timestamp": rfc3339(now)});
            announce(deps, id, &battles, ev).await;
            audit(
                deps,
                None,
                "tournament.completed",
                id,
                json!({"winner_id": winner}),
            )
            .await;
            return Ok(true);
        }
    }
    Ok(false)
}

/// After a write committed: drops the cached tournament (and the profile of a winner whose
/// `tournament_wins` changed) on every node, before anyone is told.
pub(super) async fn changed(deps: &TournamentDeps, id: Uuid, winner: Option<Uuid>) {
    use crate::cluster::cache::CacheKind;
    if let Some(c) = &deps.cache {
        c.invalidate(CacheKind::Tournament, &id.to_string()).await;
        if let Some(w) = winner {
            c.invalidate(CacheKind::UserProfile, &w.to_string()).await;
        }
    }
}
