//! Robot battles: creation with wager escrow, the start instant, settlement, queries.
//!
//! Creation and settlement are money moves, each one SQL transaction. The inputs stored at
//! creation (`inputs`, `engine_version`) are all a replay needs; with `started_at` they are all
//! a restart needs too (the battle re-simulates to the tick the wall clock says), so a live
//! battle writes nothing per tick.

use serde_json::{json, Value};
use sqlx::Row;
use uuid::Uuid;

use super::batch::{SqlValue, WriteOp};
pub use super::battle_rows::{BattleFilter, BattleRow};
use super::ledger::{self, Account, Currency, LedgerError, SystemAccount, Transfer, TransferKind};
use super::{now_ms, Db, StoreError};
use crate::domain::settlement::{
    level_for, payout, rate, Rating, Winner, XP_DRAW, XP_LOSS, XP_WIN,
};
use crate::sim::battle::BattleInputs;

/// One side of a battle at creation.
#[derive(Debug, Clone)]
pub(crate) struct SideRecord {
    /// Player.
    pub user: Uuid,
    /// The algorithm played (None: built-in default).
    pub(crate) algorithm: Option<Uuid>,
    /// `{id, username, robot, pilot}` as shown in `GET /battles/:id`.
    pub(crate) snapshot: Value,
}

/// A battle about to start.
#[derive(Debug, Clone)]
pub(crate) struct NewRobotBattle {
    /// Id.
    pub id: Uuid,
    /// RANKED or CASUAL.
    pub mode: String,
    /// Season.
    pub season: i64,
    /// Both sides.
    pub p1: SideRecord,
    /// Both sides.
    pub p2: SideRecord,
    /// Engine inputs.
    pub inputs: BattleInputs,
    /// Each player's stake.
    pub wager: i64,
}

/// Why a battle could not be created.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CreateError {
    /// This player could not cover the wager.
    #[error("insufficient GMO for the wager")]
    Insufficient(Uuid),
    /// Storage.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn escrow(user: Uuid, amount: i64, battle: Uuid) -> Transfer {
    Transfer {
        kind: TransferKind::WagerEscrow,
        currency: Currency::Gmo,
        amount,
        from: Account::User(user),
        to: Account::System(SystemAccount::Escrow),
        reference: Some(battle.to_string()),
    }
}

fn from_escrow(kind: TransferKind, to: Account, amount: i64, battle: Uuid) -> Transfer {
    Transfer {
        kind,
        currency: Currency::Gmo,
        amount,
        from: Account::System(SystemAccount::Escrow),
        to,
        reference: Some(battle.to_string()),
    }
}

/// The settled result of a battle, as stored and as sent in `battle:ended`.
#[derive(Debug, Clone)]
pub struct Settled {
    /// Per player: (gmo_delta, rating_delta).
    pub p1: (i64, f64),
    /// Per player: (gmo_delta, rating_delta).
    pub p2: (i64, f64),
    /// Ratings after, per player (mode's rating).
    pub ratings: (f64, f64),
}

/// The first tick's instant (unix ms), for the Persister to group-commit: with the stored
/// inputs it fixes every later tick. Guarded on COUNTDOWN so a late commit can never reopen a
/// battle already settled.
pub(crate) fn started_op(id: Uuid, at: i64) -> WriteOp {
    WriteOp::Exec {
        sql: "UPDATE robot_battles SET status = 'IN_PROGRESS', started_at = $1 \
              WHERE id = $2 AND status = 'COUNTDOWN'",
        args: vec![SqlValue::I64(at), SqlValue::Text(id.to_string())],
    }
}

impl Db {
    /// Stores the battle and escrows both wagers, in one transaction.
    #[tracing::instrument(skip(self, b), fields(battle = %b.id))]
    pub(crate) async fn create_robot_battle(&self, b: &NewRobotBattle) -> Result<(), CreateError> {
        let now = now_ms();
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO robot_battles (id, mode, status, biome, season, p1_id, p2_id, p1_snapshot, \
             p2_snapshot, p1_algorithm_id, p2_algorithm_id, inputs, engine_version, lcg_seed, \
             gmo_wager, created_at) VALUES ($1, $2, 'COUNTDOWN', $3, $4, $5, $6, $7, $8, $9, $10, \
             $11, $12, $13, $14, $15)",
        )
        .bind(b.id.to_string())
        .bind(b.mode.clone())
        .bind(b.inputs.biome.as_str())
        .bind(b.season)
        .bind(b.p1.user.to_string())
        .bind(b.p2.user.to_string())
        .bind(b.p1.snapshot.to_string())
        .bind(b.p2.snapshot.to_string())
        .bind(b.p1.algorithm.map(|u| u.to_string()))
        .bind(b.p2.algorithm.map(|u| u.to_string()))
        .bind(serde_json::to_string(&b.inputs).unwrap_or_default())
        .bind(i64::from(crate::sim::ENGINE_VERSION))
        .bind(b.inputs.seed as i64)
        .bind(b.wager)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_sqlx)?;
        if b.wager > 0 {
            for side in [&b.p1, &b.p2] {
                match ledger::post(&mut tx, &[escrow(side.user, b.wager, b.id)]).await {
                    Ok(_) => {}
                    Err(LedgerError::Insufficient(_)) => {
                        return Err(CreateError::Insufficient(side.user))
                    }
                    Err(LedgerError::BadAmount) => {}
                    Err(LedgerError::Store(s)) => return Err(s.into()),
                }
            }
        }
        tx.commit().await.map_err(StoreError::from_sqlx)?;
        Ok(())
    }

    /// Settles a finished battle in one transaction: battle row, payout, ratings, xp,
    /// algorithm stats.
    #[tracing::instrument(skip(self))]
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn settle_robot_battle(
        &self,
        id: Uuid,
        mode: &str,
        season: i64,
        users: (Uuid, Uuid),
        algorithms: (Option<Uuid>, Option<Uuid>),
        wager: i64,
        result: Winner,
        total_ticks: u32,
        log_hash: &str,
    ) -> Result<Settled, StoreError> {
        let now = now_ms();
        let (p1, p2) = users;
        let pay = payout(wager, result);
        let mut tx = self.begin().await?;
        let winner = match result {
            Winner::P1 => Some(p1),
            Winner::P2 => Some(p2),
            Winner::Draw => None,
        };
        // Guarded on the status so a battle is settled exactly once.
        let done = sqlx::query(
            "UPDATE robot_battles SET status = 'COMPLETED', winner_id = $1, is_draw = $2, \
             total_ticks = $3, current_tick = $3, log_hash = $4, gmo_winner_gain = $5, \
             completed_at = $6 WHERE id = $7 AND status IN ('COUNTDOWN', 'IN_PROGRESS')",
        )
        .bind(winner.map(|w| w.to_string()))
        .bind(i64::from(result == Winner::Draw))
        .bind(i64::from(total_ticks))
        .bind(log_hash)
        .bind(winner.map(|_| pay.to_p1.max(pay.to_p2)))
        .bind(now)
        .bind(id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_sqlx)?
        .rows_affected();
        if done != 1 {
            return Err(StoreError::Conflict("battle already settled".into()));
        }
        let mut transfers = Vec::new();
        let refund_kind = if result == Winner::Draw {
            TransferKind::Refund
        } else {
            TransferKind::Payout
        };
        if pay.to_p1 > 0 {
            transfers.push(from_escrow(refund_kind, Account::User(p1), pay.to_p1, id));
        }
        if pay.to_p2 > 0 {
            transfers.push(from_escrow(refund_kind, Account::User(p2), pay.to_p2, id));
        }
        if pay.fee > 0 {
            transfers.push(from_escrow(
                TransferKind::Fee,
                Account::System(SystemAccount::Fees),
                pay.fee,
                id,
            ));
        }
        ledger::post(&mut tx, &transfers).await?;
        // Ratings: RANKED moves them; CASUAL only counts the record.
        let r1 = load_rating(&mut tx, p1, season, mode).await?;
        let r2 = load_rating(&mut tx, p2, season, mode).await?;
        let (n1, n2) = if mode == "RANKED" {
            rate(r1, r2, result)
        } else {
            (r1, r2)
        };
        let (o1, o2) = match result {
            Winner::P1 => ((1, 0, 0), (0, 1, 0)),
            Winner::P2 => ((0, 1, 0), (1, 0, 0)),
            Winner::Draw => ((0, 0, 1), (0, 0, 1)),
        };
        save_rating(&mut tx, p1, season, mode, n1, o1, now).await?;
        save_rating(&mut tx, p2, season, mode, n2, o2, now).await?;
        for (user, (w, l, _)) in [(p1, o1), (p2, o2)] {
            let xp = if w == 1 {
                XP_WIN
            } else if l == 1 {
                XP_LOSS
            } else {
                XP_DRAW
            };
            let row = sqlx::query("SELECT xp FROM users WHERE id = $1")
                .bind(user.to_string())
                .fetch_one(&mut *tx)
                .await
                .map_err(StoreError::from_sqlx)?;
            let total: i64 = row.try_get::<i64, _>("xp").map_err(StoreError::from_sqlx)? + xp;
            sqlx::query("UPDATE users SET xp = $1, level = $2, updated_at = $3 WHERE id = $4")
                .bind(total)
                .bind(level_for(total))
                .bind(now)
                .bind(user.to_string())
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from_sqlx)?;
        }
        for (alg, won) in [(algorithms.0, o1.0), (algorithms.1, o2.0)] {
            if let Some(a) = alg {
                sqlx::query("UPDATE algorithms SET times_used = times_used + 1, wins = wins + $1 WHERE id = $2")
                    .bind(won)
                    .bind(a.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::from_sqlx)?;
            }
        }
        let settled = Settled {
            p1: (pay.p1_delta(wager), n1.rating - r1.rating),
            p2: (pay.p2_delta(wager), n2.rating - r2.rating),
            ratings: (n1.rating, n2.rating),
        };
        let result_json = json!({
            "p1": {"gmo_delta": settled.p1.0, "rating_delta": settled.p1.1, "rating": n1.rating},
            "p2": {"gmo_delta": settled.p2.0, "rating_delta": settled.p2.1, "rating": n2.rating},
        });
        sqlx::query("UPDATE robot_battles SET result = $1 WHERE id = $2")
            .bind(result_json.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from_sqlx)?;
        tx.commit().await.map_err(StoreError::from_sqlx)?;
        Ok(settled)
    }

    /// Voids an unfinished battle and refunds both wagers (engine version changed).
    #[tracing::instrument(skip(self))]
    pub(crate) async fn void_robot_battle(
        &self,
        id: Uuid,
        users: (Uuid, Uuid),
        wager: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE robot_battles SET status = 'VOIDED', completed_at = $1 \
             WHERE id = $2 AND status IN ('COUNTDOWN', 'IN_PROGRESS')",
        )
        .bind(now_ms())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_sqlx)?
        .rows_affected();
        if done == 1 && wager > 0 {
            let refunds = [
                from_escrow(TransferKind::Refund, Account::User(users.0), wager, id),
                from_escrow(TransferKind::Refund, Account::User(users.1), wager, id),
            ];
            ledger::post(&mut tx, &refunds).await?;
        }
        tx.commit().await.map_err(StoreError::from_sqlx)
    }
}

async fn load_rating(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    user: Uuid,
    season: i64,
    mode: &str,
) -> Result<Rating, StoreError> {
    let row = sqlx::query(
        "SELECT rating, deviation, volatility FROM ratings WHERE user_id = $1 AND season = $2 AND mode = $3",
    )
    .bind(user.to_string())
    .bind(season)
    .bind(mode)
    .fetch_optional(&mut **tx)
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(match row {
        Some(r) => Rating {
            rating: r.try_get("rating").map_err(StoreError::from_sqlx)?,
            deviation: r.try_get("deviation").map_err(StoreError::from_sqlx)?,
            volatility: r.try_get("volatility").map_err(StoreError::from_sqlx)?,
        },
        None => Rating::default(),
    })
}

async fn save_rating(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    user: Uuid,
    season: i64,
    mode: &str,
    r: Rating,
    (w, l, d): (i64, i64, i64),
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO ratings (user_id, season, mode, rating, deviation, volatility, peak_rating, \
         wins, losses, draws, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $4, $7, $8, $9, $10) \
         ON CONFLICT (user_id, season, mode) DO UPDATE SET rating = excluded.rating, \
         deviation = excluded.deviation, volatility = excluded.volatility, \
         peak_rating = CASE WHEN excluded.rating > ratings.peak_rating THEN excluded.rating ELSE ratings.peak_rating END, \
         wins = ratings.wins + excluded.wins, losses = ratings.losses + excluded.losses, \
         draws = ratings.draws + excluded.draws, updated_at = excluded.updated_at",
    )
    .bind(user.to_string())
    .bind(season)
    .bind(mode)
    .bind(r.rating)
    .bind(r.deviation)
    .bind(r.volatility)
    .bind(w)
    .bind(l)
    .bind(d)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(())
}

impl Db {
    /// A user's current rating in a season and mode (1500 when unrated).
    pub(crate) async fn current_rating(
        &self,
        user: Uuid,
        season: i64,
        mode: &str,
    ) -> Result<f64, StoreError> {
        let row = sqlx::query(
            "SELECT rating FROM ratings WHERE user_id = $1 AND season = $2 AND mode = $3",
        )
        .bind(user.to_string())
        .bind(season)
        .bind(mode)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            Some(r) => r.try_get("rating")?,
            None => Rating::default().rating,
        })
    }
}
