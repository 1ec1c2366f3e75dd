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
use super::battle_shapes as shapes;
use super::ledger::{self, Account, Currency, SystemAccount, Transfer, TransferKind};
use super::{now_ms, Db, StoreError};
use crate::domain::settlement::{
    payout, rate, Rating, Winner, XP_DRAW, XP_LOSS, XP_PER_LEVEL, XP_WIN,
};
use crate::sim::battle::BattleInputs;

/// One side of a battle at creation.
#[derive(Debug, Clone)]
pub struct SideRecord {
    /// Player.
    pub user: Uuid,
    /// The algorithm played (None: built-in default).
    pub algorithm: Option<Uuid>,
    /// `{id, username, robot, pilot}` as shown in `GET /battles/:id`.
    pub snapshot: Value,
}

/// A battle about to start.
#[derive(Debug, Clone)]
pub struct NewRobotBattle {
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
    WriteOp::Row {
        shape: &shapes::STARTED_ROW,
        values: vec![SqlValue::Text(id.to_string()), SqlValue::I64(at)],
    }
}

/// The writes that store a new battle and escrow both wagers: one Persister unit, so many
/// battles share a COMMIT and each is all-or-nothing. A player who cannot cover the wager
/// refuses the unit; [`poor_player`] says who.
pub fn create_ops(b: &NewRobotBattle, now: i64) -> Vec<WriteOp> {
    let mut ops = vec![WriteOp::Row {
        shape: &shapes::BATTLE_ROW,
        values: vec![
            SqlValue::Text(b.id.to_string()),
            b.mode.as_str().into(),
            b.inputs.biome.as_str().into(),
            SqlValue::I64(b.season),
            SqlValue::Text(b.p1.user.to_string()),
            SqlValue::Text(b.p2.user.to_string()),
            SqlValue::Text(b.p1.snapshot.to_string()),
            SqlValue::Text(b.p2.snapshot.to_string()),
            b.p1.algorithm.map(|u| u.to_string()).into(),
            b.p2.algorithm.map(|u| u.to_string()).into(),
            SqlValue::Text(serde_json::to_string(&b.inputs).unwrap_or_default()),
            SqlValue::I64(i64::from(crate::sim::ENGINE_VERSION)),
            SqlValue::I64(b.inputs.seed as i64),
            SqlValue::I64(b.wager),
            SqlValue::I64(now),
        ],
    }];
    if b.wager > 0 {
        for side in [&b.p1, &b.p2] {
            ops.extend(ledger::transfer_ops(&escrow(side.user, b.wager, b.id), now));
        }
    }
    ops
}

/// The player of `b` named by a refusal of its [`create_ops`] unit (could not cover the wager).
pub(crate) fn poor_player(b: &NewRobotBattle, refusal: &str) -> Option<Uuid> {
    [b.p1.user, b.p2.user]
        .into_iter()
        .find(|u| refusal == Account::User(*u).name())
}

/// A finished battle, as the actor hands it over for settlement.
#[derive(Debug, Clone)]
pub struct Finished {
    /// Battle id.
    pub id: Uuid,
    /// RANKED or CASUAL.
    pub mode: String,
    /// Season.
    pub season: i64,
    /// Players.
    pub users: (Uuid, Uuid),
    /// Algorithms played (None: built-in default).
    pub algorithms: (Option<Uuid>, Option<Uuid>),
    /// Each player's stake.
    pub wager: i64,
    /// Who won.
    pub result: Winner,
    /// Ticks played.
    pub total_ticks: u32,
    /// Hash of the tick log.
    pub log_hash: String,
}

/// Refusal of a settlement unit whose battle was already settled (or voided).
pub(crate) const ALREADY_SETTLED: &str = "battle already settled";

impl Db {
    /// Builds the settlement of a finished battle as one Persister unit: battle row (guarded on
    /// its status, so a battle is settled exactly once), payout, ratings, xp and algorithm
    /// stats. Only the two ratings are read here; a player is in one battle at a time, so
    /// nothing else writes them before this unit commits.
    #[tracing::instrument(skip(self, f), fields(battle = %f.id))]
    pub async fn settlement(&self, f: &Finished) -> Result<(Vec<WriteOp>, Settled), StoreError> {
        let now = now_ms();
        let (id, (p1, p2), result) = (f.id, f.users, f.result);
        let pay = payout(f.wager, result);
        let winner = match result {
            Winner::P1 => Some(p1),
            Winner::P2 => Some(p2),
            Winner::Draw => None,
        };
        let (r1, r2) = self.ratings_of((p1, p2), f.season, &f.mode).await?;
        // Ratings: RANKED moves them; CASUAL only counts the record.
        let (n1, n2) = if f.mode == "RANKED" {
            rate(r1, r2, result)
        } else {
            (r1, r2)
        };
        let settled = Settled {
            p1: (pay.p1_delta(f.wager), n1.rating - r1.rating),
            p2: (pay.p2_delta(f.wager), n2.rating - r2.rating),
            ratings: (n1.rating, n2.rating),
        };
        let result_json = json!({
            "p1": {"gmo_delta": settled.p1.0, "rating_delta": settled.p1.1, "rating": n1.rating},
            "p2": {"gmo_delta": settled.p2.0, "rating_delta": settled.p2.1, "rating": n2.rating},
        });
        let mut ops = vec![WriteOp::Row {
            shape: &shapes::SETTLE_ROW,
            values: vec![
                SqlValue::Text(id.to_string()),
                winner.map(|w| w.to_string()).into(),
                SqlValue::I64(i64::from(result == Winner::Draw)),
                SqlValue::I64(i64::from(f.total_ticks)),
                f.log_hash.as_str().into(),
                winner.map_or(SqlValue::NullI64, |_| {
                    SqlValue::I64(pay.to_p1.max(pay.to_p2))
                }),
                SqlValue::I64(now),
                SqlValue::Text(result_json.to_string()),
            ],
        }];
        let kind = if result == Winner::Draw {
            TransferKind::Refund
        } else {
            TransferKind::Payout
        };
        let mut transfers = Vec::new();
        for (user, amount) in [(p1, pay.to_p1), (p2, pay.to_p2)] {
            if amount > 0 {
                transfers.push(from_escrow(kind, Account::User(user), amount, id));
            }
        }
        if pay.fee > 0 {
            let fees = Account::System(SystemAccount::Fees);
            transfers.push(from_escrow(TransferKind::Fee, fees, pay.fee, id));
        }
        for t in &transfers {
            ops.extend(ledger::transfer_ops(t, now));
        }
        let (o1, o2) = match result {
            Winner::P1 => ((1, 0, 0), (0, 1, 0)),
            Winner::P2 => ((0, 1, 0), (1, 0, 0)),
            Winner::Draw => ((0, 0, 1), (0, 0, 1)),
        };
        for (user, r, o) in [(p1, n1, o1), (p2, n2, o2)] {
            ops.push(rating_op(user, f.season, &f.mode, r, o, now));
            let xp = match o {
                (1, _, _) => XP_WIN,
                (_, 1, _) => XP_LOSS,
                _ => XP_DRAW,
            };
            ops.push(WriteOp::Row {
                shape: &shapes::XP_ROW,
                values: vec![
                    SqlValue::Text(user.to_string()),
                    SqlValue::I64(xp),
                    SqlValue::I64(XP_PER_LEVEL),
                    SqlValue::I64(now),
                ],
            });
        }
        for (alg, won) in [(f.algorithms.0, o1.0), (f.algorithms.1, o2.0)] {
            if let Some(a) = alg {
                ops.push(WriteOp::Row {
                    shape: &shapes::ALGORITHM_ROW,
                    values: vec![SqlValue::Text(a.to_string()), SqlValue::I64(won)],
                });
            }
        }
        Ok((ops, settled))
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

impl Db {
    /// Both players' full ratings in a season and mode (the default when unrated), in one
    /// round trip (settlement reads them for every battle).
    async fn ratings_of(
        &self,
        (a, b): (Uuid, Uuid),
        season: i64,
        mode: &str,
    ) -> Result<(Rating, Rating), StoreError> {
        let rows = sqlx::query(
            "SELECT user_id, rating, deviation, volatility FROM ratings \
             WHERE user_id IN ($1, $2) AND season = $3 AND mode = $4",
        )
        .bind(a.to_string())
        .bind(b.to_string())
        .bind(season)
        .bind(mode)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        let (mut ra, mut rb) = (Rating::default(), Rating::default());
        let (a, b) = (a.to_string(), b.to_string());
        for r in &rows {
            let user: String = r.try_get("user_id").map_err(StoreError::from_sqlx)?;
            let rating = Rating {
                rating: r.try_get("rating").map_err(StoreError::from_sqlx)?,
                deviation: r.try_get("deviation").map_err(StoreError::from_sqlx)?,
                volatility: r.try_get("volatility").map_err(StoreError::from_sqlx)?,
            };
            if user == a {
                ra = rating;
            }
            if user == b {
                rb = rating;
            }
        }
        Ok((ra, rb))
    }
}

/// Upserts a rating with one more win, loss or draw.
fn rating_op(
    user: Uuid,
    season: i64,
    mode: &str,
    r: Rating,
    (w, l, d): (i64, i64, i64),
    now: i64,
) -> WriteOp {
    WriteOp::Row {
        shape: &shapes::RATING_ROW,
        values: vec![
            SqlValue::Text(user.to_string()),
            SqlValue::I64(season),
            mode.into(),
            SqlValue::F64(r.rating),
            SqlValue::F64(r.deviation),
            SqlValue::F64(r.volatility),
            SqlValue::I64(w),
            SqlValue::I64(l),
            SqlValue::I64(d),
            SqlValue::I64(now),
        ],
    }
}
