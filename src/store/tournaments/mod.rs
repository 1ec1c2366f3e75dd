//! Tournaments in SQL: the event row, participants, rounds, and pairings that link tracker
//! battles to a round and table. Results are read from the battles themselves, so a result is
//! never stored twice.

use sqlx::{any::AnyRow, Row};
use uuid::Uuid;

use super::{Db, StoreError};
pub use crate::domain::tournament::Tournament;
use crate::domain::tournament::{Format, TournamentStatus};

mod rounds;

pub use rounds::{PairingRow, RoundRow};

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
        prize_pool: Some(r.try_get::<i64, _>("prize_pool")?).filter(|p| *p >= 0),
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

#[derive(Debug, Default, Clone)]
pub struct TournamentFilter {
    /// Status.
    pub status: Option<String>,
    /// Format.
    pub format: Option<String>,
    /// Organizer.
    pub(crate) organizer_id: Option<Uuid>,
    /// Only those that start at or after (unix ms).
    pub(crate) starts_after: Option<i64>,
}

/// Why a registration was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RegisterOutcome {
    /// Registered.
    Registered,
    /// At `max_participants`, or not open for registration.
    FullOrClosed,
    /// Already registered.
    Duplicate,
}

impl Db {
    /// Inserts a tournament.
    #[tracing::instrument(skip_all, fields(tournament = %t.id))]
    pub(crate) async fn insert_tournament(&self, t: &Tournament) -> Result<(), StoreError> {
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
            .bind(t.prize_pool.unwrap_or(-1))
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
    pub(crate) async fn update_tournament(
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
        .bind(t.prize_pool.unwrap_or(-1))
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
    pub(crate) async fn register_participant(
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
    pub(crate) async fn withdraw_participant(
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
    pub(crate) async fn participants(
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

    /// Completes an active tournament and counts the win, in one transaction. False when it
    /// was not active (already completed by someone else).
    #[tracing::instrument(skip(self))]
    pub(crate) async fn complete_tournament(
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
    pub(crate) async fn battle_organizer(&self, battle: Uuid) -> Result<Option<Uuid>, StoreError> {
        let row = sqlx::query("SELECT t.organizer_id FROM tracker_battles b JOIN tournaments t ON t.id = b.tournament_id WHERE b.id = $1")
            .bind(battle.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row
            .and_then(|r| r.try_get::<String, _>("organizer_id").ok())
            .and_then(|s| Uuid::parse_str(&s).ok()))
    }

    /// Active tournaments (their round clocks are restored at start-up).
    pub(crate) async fn active_tournament_ids(&self) -> Result<Vec<Uuid>, StoreError> {
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
