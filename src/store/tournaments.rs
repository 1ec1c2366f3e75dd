//! Tournaments in SQL: the event row, participants, rounds, and pairings that link tracker
//! battles to a round and table. Results are read from the battles themselves, so a result is
//! never stored twice.

use sqlx::{any::AnyRow, Row};
use uuid::Uuid;

use super::{Db, StoreError};
use crate::domain::pairing::MatchId;
use crate::domain::tournament::{Format, GameResult, PastPairing, Rules, TournamentStatus};
use crate::domain::tracker::{Status, TrackerBattle};

/// A stored tournament.
#[derive(Debug, Clone)]
pub struct Tournament {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Organizer.
    pub organizer_id: Uuid,
    /// Status.
    pub status: TournamentStatus,
    /// Format.
    pub format: Format,
    /// Capacity.
    pub max_participants: i64,
    /// Registered players.
    pub current_participants: i64,
    /// Minor units (cents).
    pub entry_fee: i64,
    /// Minor units (cents).
    pub prize_pool: i64,
    /// Unix ms.
    pub start_date: Option<i64>,
    /// Unix ms.
    pub end_date: Option<i64>,
    /// Rules.
    pub rules: Rules,
    /// Winner once completed.
    pub winner_id: Option<Uuid>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

const COLS: &str =
    "id, name, organizer_id, status, format, max_participants, current_participants, \
    entry_fee, prize_pool, start_date, end_date, rules, winner_id, created_at, updated_at";

fn uuid(s: &str) -> Result<Uuid, sqlx::Error> {
    Uuid::parse_str(s).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

fn decode_err(m: &str) -> sqlx::Error {
    sqlx::Error::Decode(m.to_string().into())
}

fn from_row(r: &AnyRow) -> Result<Tournament, sqlx::Error> {
    let status: String = r.try_get("status")?;
    let format: String = r.try_get("format")?;
    let rules: String = r.try_get("rules")?;
    Ok(Tournament {
        id: uuid(&r.try_get::<String, _>("id")?)?,
        name: r.try_get("name")?,
        organizer_id: uuid(&r.try_get::<String, _>("organizer_id")?)?,
        status: TournamentStatus::parse(&status).ok_or_else(|| decode_err("status"))?,
        format: Format::parse(&format).ok_or_else(|| decode_err("format"))?,
        max_participants: r.try_get("max_participants")?,
        current_participants: r.try_get("current_participants")?,
        entry_fee: r.try_get("entry_fee")?,
        prize_pool: r.try_get("prize_pool")?,
        start_date: r.try_get("start_date")?,
        end_date: r.try_get("end_date")?,
        rules: serde_json::from_str(&rules).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        winner_id: r
            .try_get::<Option<String>, _>("winner_id")?
            .map(|s| uuid(&s))
            .transpose()?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

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
}

/// Filters for listing.
#[derive(Debug, Default, Clone)]
pub struct TournamentFilter {
    /// Status.
    pub status: Option<String>,
    /// Format.
    pub format: Option<String>,
    /// Organizer.
    pub organizer_id: Option<Uuid>,
    /// Only those that start at or after (unix ms).
    pub starts_after: Option<i64>,
}

/// Why a registration was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisterOutcome {
    /// Registered.
    Registered,
    /// At `max_participants`, or not open for registration.
    FullOrClosed,
    /// Already registered.
    Duplicate,
}

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
    /// Inserts a tournament.
    #[tracing::instrument(skip_all, fields(tournament = %t.id))]
    pub async fn insert_tournament(&self, t: &Tournament) -> Result<(), StoreError> {
        let sql = format!("INSERT INTO tournaments ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(t.id.to_string())
            .bind(&t.name)
            .bind(t.organizer_id.to_string())
            .bind(t.status.as_str())
            .bind(t.format.as_str())
            .bind(t.max_participants)
            .bind(t.current_participants)
            .bind(t.entry_fee)
            .bind(t.prize_pool)
            .bind(t.start_date)
            .bind(t.end_date)
            .bind(serde_json::to_string(&t.rules).unwrap_or_default())
            .bind(t.winner_id.map(|w| w.to_string()))
            .bind(t.created_at)
            .bind(t.updated_at)
            .execute(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok(())
    }

    /// One tournament.
    #[tracing::instrument(skip(self))]
    pub async fn tournament(&self, id: Uuid) -> Result<Option<Tournament>, StoreError> {
        let sql = format!("SELECT {COLS} FROM tournaments WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(from_row).transpose()?)
    }

    /// Tournaments newest first after a `(created_at, id)` cursor.
    #[tracing::instrument(skip(self))]
    pub async fn tournaments(
        &self,
        f: &TournamentFilter,
        after: Option<(i64, String)>,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<Tournament>, StoreError> {
        let sql = format!(
            "SELECT {COLS} FROM tournaments WHERE ($1 IS NULL OR status = $1) \
             AND ($2 IS NULL OR format = $2) AND ($3 IS NULL OR organizer_id = $3) \
             AND ($4 IS NULL OR start_date >= $4) \
             AND ($5 IS NULL OR created_at < $5 OR (created_at = $5 AND id < $6)) \
             ORDER BY created_at DESC, id DESC LIMIT $7 OFFSET $8"
        );
        let (k, id) = after.map_or((None, None), |(k, id)| (Some(k), Some(id)));
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(f.status.clone())
            .bind(f.format.clone())
            .bind(f.organizer_id.map(|o| o.to_string()))
            .bind(f.starts_after)
            .bind(k)
            .bind(id)
            .bind(limit as i64)
            .bind(offset as i64)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
    }

    /// Saves an organizer's edit, provided the status is still `expected` (else false).
    #[tracing::instrument(skip_all, fields(tournament = %t.id))]
    pub async fn update_tournament(
        &self,
        t: &Tournament,
        expected: TournamentStatus,
    ) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "UPDATE tournaments SET name = $1, status = $2, max_participants = $3, entry_fee = $4, \
             prize_pool = $5, start_date = $6, end_date = $7, rules = $8, updated_at = $9 \
             WHERE id = $10 AND status = $11 AND current_participants <= $3",
        )
        .bind(&t.name)
        .bind(t.status.as_str())
        .bind(t.max_participants)
        .bind(t.entry_fee)
        .bind(t.prize_pool)
        .bind(t.start_date)
        .bind(t.end_date)
        .bind(serde_json::to_string(&t.rules).unwrap_or_default())
        .bind(t.updated_at)
        .bind(t.id.to_string())
        .bind(expected.as_str())
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Registers a player: the capacity check and the insert happen in one transaction, the
    /// counter update taking the row lock so concurrent registrations cannot overfill.
    #[tracing::instrument(skip(self))]
    pub async fn register_participant(
        &self,
        tournament: Uuid,
        user: Uuid,
        army: Uuid,
        now: i64,
    ) -> Result<RegisterOutcome, StoreError> {
        let mut tx = self.pool.begin().await?;
        let taken = sqlx::query(
            "SELECT 1 AS one FROM tournament_participants WHERE tournament_id = $1 AND user_id = $2",
        )
        .bind(tournament.to_string())
        .bind(user.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        if taken.is_some() {
            return Ok(RegisterOutcome::Duplicate);
        }
        let r = sqlx::query(
            "UPDATE tournaments SET current_participants = current_participants + 1, updated_at = $1 \
             WHERE id = $2 AND status = 'registration' AND current_participants < max_participants",
        )
        .bind(now)
        .bind(tournament.to_string())
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() != 1 {
            return Ok(RegisterOutcome::FullOrClosed);
        }
        let ins = sqlx::query("INSERT INTO tournament_participants (tournament_id, user_id, army_id, registered_at) VALUES ($1, $2, $3, $4)")
            .bind(tournament.to_string())
            .bind(user.to_string())
            .bind(army.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await;
        match ins.map_err(StoreError::from_sqlx) {
            Ok(_) => {}
            Err(StoreError::Conflict(_)) => return Ok(RegisterOutcome::Duplicate),
            Err(e) => return Err(e),
        }
        tx.commit().await?;
        Ok(RegisterOutcome::Registered)
    }

    /// Withdraws a player while registration is open. Returns false when not registered/open.
    #[tracing::instrument(skip(self))]
    pub async fn withdraw_participant(
        &self,
        tournament: Uuid,
        user: Uuid,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let d = sqlx::query("DELETE FROM tournament_participants WHERE tournament_id = $1 AND user_id = $2 \
             AND EXISTS (SELECT 1 FROM tournaments WHERE id = $1 AND status IN ('draft', 'registration'))")
            .bind(tournament.to_string())
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
        if d.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query("UPDATE tournaments SET current_participants = current_participants - 1, updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(tournament.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Participants in registration order: (user, army, registered_at).
    pub async fn participants(
        &self,
        tournament: Uuid,
    ) -> Result<Vec<(Uuid, Uuid, i64)>, StoreError> {
        let rows = sqlx::query("SELECT user_id, army_id, registered_at FROM tournament_participants WHERE tournament_id = $1 ORDER BY registered_at, user_id")
            .bind(tournament.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    uuid(&r.try_get::<String, _>("user_id")?)?,
                    uuid(&r.try_get::<String, _>("army_id")?)?,
                    r.try_get("registered_at")?,
                ))
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

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
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Creates a round atomically: the round row (its primary key refuses a concurrent twin),
    /// its battles and pairings. `byes` are players sitting out.
    #[tracing::instrument(skip_all, fields(tournament = %tournament, round))]
    pub async fn create_round(
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
    pub async fn round_completed(
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

    /// Completes an active tournament and counts the win, in one transaction. False when it
    /// was not active (already completed by someone else).
    #[tracing::instrument(skip(self))]
    pub async fn complete_tournament(
        &self,
        id: Uuid,
        winner: Option<Uuid>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query("UPDATE tournaments SET status = 'completed', winner_id = $1, updated_at = $2 WHERE id = $3 AND status = 'active'")
            .bind(winner.map(|w| w.to_string())).bind(now).bind(id.to_string())
            .execute(&mut *tx).await?;
        if r.rows_affected() != 1 {
            return Ok(false);
        }
        if let Some(w) = winner {
            sqlx::query("UPDATE users SET tournament_wins = tournament_wins + 1, updated_at = $1 WHERE id = $2")
                .bind(now).bind(w.to_string())
                .execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// The organizer of the tournament a battle belongs to, if any.
    pub async fn battle_organizer(&self, battle: Uuid) -> Result<Option<Uuid>, StoreError> {
        let row = sqlx::query("SELECT t.organizer_id FROM tracker_battles b JOIN tournaments t ON t.id = b.tournament_id WHERE b.id = $1")
            .bind(battle.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row
            .and_then(|r| r.try_get::<String, _>("organizer_id").ok())
            .and_then(|s| Uuid::parse_str(&s).ok()))
    }

    /// Active tournaments (their round clocks are restored at start-up).
    pub async fn active_tournament_ids(&self) -> Result<Vec<Uuid>, StoreError> {
        let rows = sqlx::query("SELECT id FROM tournaments WHERE status = 'active'")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| r.try_get::<String, _>("id").ok())
            .filter_map(|s| Uuid::parse_str(&s).ok())
            .collect())
    }
}
