//! Rounds and pairings of tournaments. A pairing's result is read from its battle.

use sqlx::Row;
use uuid::Uuid;

use super::uuid;
use crate::domain::pairing::MatchId;
use crate::domain::tournament::{GameResult, PastPairing};
use crate::domain::tracker::{Status, TrackerBattle};
use crate::store::{Db, StoreError};

/// A stored round.
#[derive(Debug, Clone)]
pub struct RoundRow {
    /// Number.
    pub round: u32,
    /// Floats and byes in words.
    pub explanation: String,
    /// Clocks started (unix ms).
    pub started_at: Option<i64>,
    /// Round clock ends (unix ms).
    pub ends_at: Option<i64>,
    /// All battles finished (unix ms).
    pub completed_at: Option<i64>,
}

/// A stored pairing with its battle's result.
#[derive(Debug, Clone)]
pub struct PairingRow {
    /// Battle (`None` for a bye).
    pub battle_id: Option<Uuid>,
    /// The engine's view.
    pub past: PastPairing,
    /// A player disputes the result and the organizer has not resolved it yet.
    pub disputed: bool,
}

/// Filters for listing.
/// Result of a game from its battle row's state.
fn result_of(status: Option<&str>, state: Option<&str>, p1: Uuid) -> GameResult {
    match status.and_then(Status::parse) {
        Some(Status::Completed) => {
            let b: Option<TrackerBattle> = state.and_then(|s| serde_json::from_str(s).ok());
            let Some(b) = b else {
                return GameResult::Pending;
            };
            let vp = |i: usize| u32::try_from(b.players[i].scores.victory_points).unwrap_or(0);
            let (vp1, vp2) = if b.players[0].user_id == p1 {
                (vp(0), vp(1))
            } else {
                (vp(1), vp(0))
            };
            GameResult::Completed {
                winner: b.winner_id,
                vp1,
                vp2,
            }
        }
        Some(Status::Cancelled) => GameResult::Cancelled,
        _ => GameResult::Pending,
    }
}

impl Db {
    /// Rounds, oldest first.
    pub async fn rounds(&self, tournament: Uuid) -> Result<Vec<RoundRow>, StoreError> {
        let rows = sqlx::query("SELECT round_number, explanation, started_at, ends_at, completed_at FROM tournament_rounds WHERE tournament_id = $1 ORDER BY round_number")
            .bind(tournament.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(RoundRow {
                    round: r.try_get::<i64, _>("round_number")? as u32,
                    explanation: r.try_get("explanation")?,
                    started_at: r.try_get("started_at")?,
                    ends_at: r.try_get("ends_at")?,
                    completed_at: r.try_get("completed_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Pairings with their battles' results, by round and table (byes last in a round).
    pub async fn pairings(&self, tournament: Uuid) -> Result<Vec<PairingRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.round_number, p.table_number, p.battle_id, p.player1_id, p.player2_id, \
             p.bracket_match, b.status, b.state FROM tournament_pairings p \
             LEFT JOIN tracker_battles b ON b.id = p.battle_id WHERE p.tournament_id = $1 \
             ORDER BY p.round_number, CASE WHEN p.table_number IS NULL THEN 1 ELSE 0 END, p.table_number",
        )
        .bind(tournament.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let p1 = uuid(&r.try_get::<String, _>("player1_id")?)?;
                let p2 = r.try_get::<Option<String>, _>("player2_id")?;
                let bracket = r.try_get::<Option<String>, _>("bracket_match")?;
                let status = r.try_get::<Option<String>, _>("status")?;
                let state = r.try_get::<Option<String>, _>("state")?;
                Ok(PairingRow {
                    battle_id: r
                        .try_get::<Option<String>, _>("battle_id")?
                        .map(|s| uuid(&s))
                        .transpose()?,
                    past: PastPairing {
                        round: r.try_get::<i64, _>("round_number")? as u32,
                        table: r
                            .try_get::<Option<i64>, _>("table_number")?
                            .map(|t| t as u32),
                        p1,
                        p2: p2.map(|s| uuid(&s)).transpose()?,
                        bracket: bracket.and_then(|b| serde_json::from_str::<MatchId>(&b).ok()),
                        result: result_of(status.as_deref(), state.as_deref(), p1),
                    },
                    disputed: state
                        .as_deref()
                        .and_then(|s| serde_json::from_str::<TrackerBattle>(s).ok())
                        .is_some_and(|b| b.consent.dispute.is_some()),
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Creates a round atomically: the round row (its primary key refuses a concurrent twin),
    /// its battles and pairings. `byes` are players sitting out.
    #[tracing::instrument(skip_all, fields(tournament = %tournament, round))]
    pub(crate) async fn create_round(
        &self,
        tournament: Uuid,
        round: u32,
        explanation: &str,
        games: &[(TrackerBattle, u32, Option<MatchId>)],
        byes: &[Uuid],
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO tournament_rounds (tournament_id, round_number, explanation, created_at) VALUES ($1, $2, $3, $4)")
            .bind(tournament.to_string()).bind(i64::from(round)).bind(explanation).bind(now)
            .execute(&mut *tx).await.map_err(StoreError::from_sqlx)?;
        for (b, table, bracket) in games {
            sqlx::query("INSERT INTO tracker_battles (id, tournament_id, status, player1_id, player2_id, state, version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8)")
                .bind(b.id.to_string()).bind(tournament.to_string()).bind(b.status.as_str())
                .bind(b.players[0].user_id.to_string()).bind(b.players[1].user_id.to_string())
                .bind(serde_json::to_string(b).unwrap_or_default()).bind(b.created_at).bind(b.updated_at)
                .execute(&mut *tx).await.map_err(StoreError::from_sqlx)?;
            sqlx::query("INSERT INTO tournament_pairings (id, tournament_id, round_number, table_number, battle_id, player1_id, player2_id, bracket_match, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                .bind(Uuid::new_v4().to_string()).bind(tournament.to_string()).bind(i64::from(round))
                .bind(i64::from(*table)).bind(b.id.to_string())
                .bind(b.players[0].user_id.to_string()).bind(b.players[1].user_id.to_string())
                .bind(bracket.map(|m| serde_json::to_string(&m).unwrap_or_default())).bind(now)
                .execute(&mut *tx).await.map_err(StoreError::from_sqlx)?;
        }
        for u in byes {
            sqlx::query("INSERT INTO tournament_pairings (id, tournament_id, round_number, player1_id, created_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(Uuid::new_v4().to_string()).bind(tournament.to_string()).bind(i64::from(round))
                .bind(u.to_string()).bind(now)
                .execute(&mut *tx).await.map_err(StoreError::from_sqlx)?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records when a round's clocks started and when its clock ends.
    pub async fn round_started(
        &self,
        tournament: Uuid,
        round: u32,
        at: i64,
        ends: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE tournament_rounds SET started_at = $1, ends_at = $2 WHERE tournament_id = $3 AND round_number = $4")
            .bind(at).bind(ends).bind(tournament.to_string()).bind(i64::from(round))
            .execute(&self.pool).await?;
        Ok(())
    }

    /// Marks a round finished once (true the first time).
    pub(crate) async fn round_completed(
        &self,
        tournament: Uuid,
        round: u32,
        at: i64,
    ) -> Result<bool, StoreError> {
        let r = sqlx::query("UPDATE tournament_rounds SET completed_at = $1 WHERE tournament_id = $2 AND round_number = $3 AND completed_at IS NULL")
            .bind(at).bind(tournament.to_string()).bind(i64::from(round))
            .execute(&self.pool).await?;
        Ok(r.rows_affected() == 1)
    }
}
