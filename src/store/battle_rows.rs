//! Reading robot battles back: the stored row, history filters and unfinished battles.

use serde_json::{json, Value};
use sqlx::{any::AnyRow, Row};
use uuid::Uuid;

use super::{rfc3339, Db, StoreError};

impl Db {
    /// One battle row.
    #[tracing::instrument(skip(self))]
    pub async fn robot_battle(&self, id: Uuid) -> Result<Option<BattleRow>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLS} FROM robot_battles WHERE id = $1"
        )))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(BattleRow::from_row).transpose()?)
    }

    /// Ids of the battles not finished yet (the multi-node takeover sweep).
    #[tracing::instrument(skip(self))]
    pub(crate) async fn unfinished_robot_battle_ids(
        &self,
        created_before: i64,
    ) -> Result<Vec<Uuid>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT id FROM robot_battles WHERE status IN ('COUNTDOWN', 'IN_PROGRESS') \
             AND created_at < $1 ORDER BY created_at",
        )
        .bind(created_before)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(id,)| Uuid::parse_str(&id).ok())
            .collect())
    }

    /// The live battle `user` plays in, if any (multi-node: it may run on another node).
    #[tracing::instrument(skip(self))]
    pub(crate) async fn live_robot_battle_of(
        &self,
        user: Uuid,
    ) -> Result<Option<Uuid>, StoreError> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT id FROM robot_battles WHERE status IN ('COUNTDOWN', 'IN_PROGRESS') \
             AND (p1_id = $1 OR p2_id = $1) LIMIT 1",
        )
        .bind(user.to_string())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.and_then(|(id,)| Uuid::parse_str(&id).ok()))
    }

    /// One battle if it is not yet finished (resuming it on this node).
    pub(crate) async fn unfinished_robot_battle(
        &self,
        id: Uuid,
    ) -> Result<Option<BattleRow>, StoreError> {
        Ok(self
            .robot_battle(id)
            .await?
            .filter(|b| matches!(b.status.as_str(), "COUNTDOWN" | "IN_PROGRESS")))
    }

    /// Battles not yet finished (restart recovery).
    pub(crate) async fn unfinished_robot_battles(&self) -> Result<Vec<BattleRow>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLS} FROM robot_battles WHERE status IN ('COUNTDOWN', 'IN_PROGRESS') ORDER BY created_at"
        )))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(BattleRow::from_row)
            .collect::<Result<_, _>>()?)
    }

    /// History with filters and offset paging; `(rows, total)`.
    #[tracing::instrument(skip(self))]
    pub(crate) async fn list_robot_battles(
        &self,
        f: &BattleFilter,
        limit: u32,
        offset: u32,
    ) -> Result<(Vec<BattleRow>, i64), StoreError> {
        let filter = "($1 IS NULL OR p1_id = $1 OR p2_id = $1) AND ($2 IS NULL OR mode = $2) \
                      AND ($3 IS NULL OR status = $3) AND ($4 IS NULL OR biome = $4)";
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLS} FROM robot_battles WHERE {filter} ORDER BY created_at DESC, id LIMIT $5 OFFSET $6"
        )))
        .bind(f.user.map(|u| u.to_string()))
        .bind(f.mode.clone())
        .bind(f.status.clone())
        .bind(f.biome.clone())
        .bind(i64::from(limit))
        .bind(i64::from(offset))
        .fetch_all(&self.pool)
        .await?;
        let total: i64 = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) AS n FROM robot_battles WHERE {filter}"
        )))
        .bind(f.user.map(|u| u.to_string()))
        .bind(f.mode.clone())
        .bind(f.status.clone())
        .bind(f.biome.clone())
        .fetch_one(&self.pool)
        .await?
        .try_get("n")?;
        Ok((
            rows.iter()
                .map(BattleRow::from_row)
                .collect::<Result<_, _>>()?,
            total,
        ))
    }
}

/// `GET /battles` filters.
#[derive(Debug, Clone, Default)]
pub struct BattleFilter {
    /// Either player.
    pub user: Option<Uuid>,
    /// RANKED/CASUAL.
    pub mode: Option<String>,
    /// Status.
    pub status: Option<String>,
    /// Biome.
    pub biome: Option<String>,
}

const COLS: &str = "id, mode, status, biome, season, p1_id, p2_id, p1_snapshot, p2_snapshot, \
    p1_algorithm_id, p2_algorithm_id, inputs, engine_version, lcg_seed, gmo_wager, gmo_winner_gain, \
    winner_id, is_draw, total_ticks, current_tick, log_hash, result, created_at, started_at, completed_at";

/// A stored robot battle.
#[derive(Debug, Clone)]
pub struct BattleRow {
    /// Id.
    pub id: Uuid,
    /// Mode.
    pub mode: String,
    /// COUNTDOWN, IN_PROGRESS, COMPLETED or VOIDED.
    pub status: String,
    /// Season.
    pub season: i64,
    /// Players.
    pub p1: Uuid,
    /// Players.
    pub p2: Uuid,
    /// Algorithms.
    pub algorithms: (Option<Uuid>, Option<Uuid>),
    /// Snapshots.
    pub(crate) snapshots: (Value, Value),
    /// Engine inputs JSON.
    pub inputs: String,
    /// Engine version at start.
    pub engine_version: i64,
    /// Wager per player.
    pub wager: i64,
    /// Stored log hash (when finished).
    pub log_hash: Option<String>,
    /// The first tick's instant, unix ms (None before the countdown ended).
    pub(crate) started_at: Option<i64>,
    /// Full row as API JSON.
    pub json: Value,
}

impl BattleRow {
    fn from_row(r: &AnyRow) -> Result<BattleRow, sqlx::Error> {
        let uuid = |s: String| Uuid::parse_str(&s).map_err(|e| sqlx::Error::Decode(Box::new(e)));
        let opt_uuid = |s: Option<String>| s.and_then(|s| Uuid::parse_str(&s).ok());
        let id = uuid(r.try_get("id")?)?;
        let p1 = uuid(r.try_get("p1_id")?)?;
        let p2 = uuid(r.try_get("p2_id")?)?;
        let s1: Value =
            serde_json::from_str(&r.try_get::<String, _>("p1_snapshot")?).unwrap_or(Value::Null);
        let s2: Value =
            serde_json::from_str(&r.try_get::<String, _>("p2_snapshot")?).unwrap_or(Value::Null);
        let result: Option<Value> = r
            .try_get::<Option<String>, _>("result")?
            .and_then(|s| serde_json::from_str(&s).ok());
        let ms = |c: &str| -> Result<Option<String>, sqlx::Error> {
            Ok(r.try_get::<Option<i64>, _>(c)?.map(rfc3339))
        };
        let status: String = r.try_get("status")?;
        let mode: String = r.try_get("mode")?;
        let wager: i64 = r.try_get("gmo_wager")?;
        let json = json!({
            "id": id, "mode": mode, "status": status, "biome": r.try_get::<String, _>("biome")?,
            "season": r.try_get::<i64, _>("season")?,
            "player1": s1, "player2": s2,
            "winner_id": r.try_get::<Option<String>, _>("winner_id")?,
            "is_draw": r.try_get::<i64, _>("is_draw")? != 0,
            "total_ticks": r.try_get::<Option<i64>, _>("total_ticks")?,
            "lcg_seed": r.try_get::<i64, _>("lcg_seed")?,
            "gmo_wagered": wager,
            "gmo_winner_gain": r.try_get::<Option<i64>, _>("gmo_winner_gain")?,
            "engine_version": r.try_get::<i64, _>("engine_version")?,
            "result": result,
            "created_at": rfc3339(r.try_get("created_at")?),
            "started_at": ms("started_at")?, "completed_at": ms("completed_at")?,
        });
        Ok(BattleRow {
            id,
            mode,
            status,
            season: r.try_get("season")?,
            p1,
            p2,
            algorithms: (
                opt_uuid(r.try_get("p1_algorithm_id")?),
                opt_uuid(r.try_get("p2_algorithm_id")?),
            ),
            snapshots: (s1, s2),
            inputs: r.try_get("inputs")?,
            engine_version: r.try_get("engine_version")?,
            wager,
            log_hash: r.try_get("log_hash")?,
            started_at: r.try_get("started_at")?,
            json,
        })
    }
}
