//! Tracker battles in SQL: the state as JSON plus indexed columns for listing.

use sqlx::Row;
use uuid::Uuid;

use super::batch::{SqlValue, WriteOp};
use super::{Db, StoreError};
use crate::domain::tracker::TrackerBattle;

/// Does this tracker battle exist?
#[tracing::instrument(skip(db))]
pub(crate) async fn battle_exists(db: &Db, id: Uuid) -> Result<bool, StoreError> {
    let row = sqlx::query("SELECT 1 AS one FROM tracker_battles WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.is_some())
}

/// How many completed tracker battles `user` played in (the v1 `total_battles`).
#[tracing::instrument(skip(db))]
pub(crate) async fn completed_battles_of(db: &Db, user: Uuid) -> Result<i64, StoreError> {
    let id = user.to_string();
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM tracker_battles WHERE status = 'completed' \
         AND ((player1_id = $1 AND p1_counts = 1) OR (player2_id = $2 AND p2_counts = 1))",
    )
    .bind(&id)
    .bind(&id)
    .fetch_one(&db.pool)
    .await?;
    Ok(row.try_get::<i64, _>("n")?)
}

fn state_json(b: &TrackerBattle) -> String {
    serde_json::to_string(b).unwrap_or_default()
}

/// Inserts a new battle.
#[tracing::instrument(skip_all, fields(battle = %b.id))]
pub(crate) async fn insert_battle(db: &Db, b: &TrackerBattle) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO tracker_battles (id, tournament_id, status, player1_id, player2_id, state, version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8)")
        .bind(b.id.to_string())
        .bind(b.tournament_id.map(|t| t.to_string()))
        .bind(b.status.as_str())
        .bind(b.players[0].user_id.to_string())
        .bind(b.players[1].user_id.to_string())
        .bind(state_json(b))
        .bind(b.created_at)
        .bind(b.updated_at)
        .execute(&db.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
    Ok(())
}

/// The persister write that saves a battle's state.
pub(crate) fn save_op(b: &TrackerBattle) -> WriteOp {
    WriteOp::Exec {
        sql: "UPDATE tracker_battles SET status = $1, state = $2, updated_at = $3, version = version + 1, \
              p1_counts = $5, p2_counts = $6 WHERE id = $4",
        args: vec![
            b.status.as_str().into(),
            SqlValue::Text(state_json(b)),
            SqlValue::I64(b.updated_at),
            SqlValue::Text(b.id.to_string()),
            SqlValue::I64(i64::from(b.counts_for(0))),
            SqlValue::I64(i64::from(b.counts_for(1))),
        ],
    }
}

/// Whether the tournament of `battle` has paired a round after the battle's own, which ends
/// the window to dispute its result. False for casual battles.
#[tracing::instrument(skip(db))]
pub(crate) async fn next_round_paired(db: &Db, battle: Uuid) -> Result<bool, StoreError> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM tournament_pairings later JOIN tournament_pairings mine \
         ON later.tournament_id = mine.tournament_id AND later.round_number > mine.round_number \
         WHERE mine.battle_id = $1",
    )
    .bind(battle.to_string())
    .fetch_one(&db.pool)
    .await?;
    Ok(row.try_get::<i64, _>("n")? > 0)
}

/// Loads one battle.
#[tracing::instrument(skip(db))]
pub(crate) async fn load_battle(db: &Db, id: Uuid) -> Result<Option<TrackerBattle>, StoreError> {
    let row = sqlx::query("SELECT state FROM tracker_battles WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&db.pool)
        .await?;
    Ok(row
        .and_then(|r| r.try_get::<String, _>("state").ok())
        .and_then(|s| serde_json::from_str(&s).ok()))
}

/// Filters for listing.
#[derive(Debug, Default, Clone)]
pub(crate) struct BattleFilter {
    /// Either player.
    pub player_id: Option<Uuid>,
    /// Status.
    pub status: Option<String>,
    /// Tournament.
    pub tournament_id: Option<Uuid>,
}

/// Lists battles newest first after a `(created_at, id)` cursor.
#[tracing::instrument(skip(db))]
pub(crate) async fn list_battles(
    db: &Db,
    f: &BattleFilter,
    after: Option<(i64, String)>,
    offset: u32,
    limit: u32,
) -> Result<Vec<TrackerBattle>, StoreError> {
    let (k, id) = after.map_or((None, None), |(k, id)| (Some(k), Some(id)));
    let rows = sqlx::query(
        "SELECT state FROM tracker_battles WHERE ($1 IS NULL OR player1_id = $1 OR player2_id = $1) \
         AND ($2 IS NULL OR status = $2) AND ($3 IS NULL OR tournament_id = $3) \
         AND ($4 IS NULL OR created_at < $4 OR (created_at = $4 AND id < $5)) \
         ORDER BY created_at DESC, id DESC LIMIT $6 OFFSET $7",
    )
    .bind(f.player_id.map(|p| p.to_string()))
    .bind(f.status.clone())
    .bind(f.tournament_id.map(|t| t.to_string()))
    .bind(k)
    .bind(id)
    .bind(limit as i64)
    .bind(offset as i64)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .filter_map(|r| r.try_get::<String, _>("state").ok())
        .filter_map(|s| serde_json::from_str(&s).ok())
        .collect())
}

/// Battles in progress (restored into actors at start-up).
pub async fn in_progress(db: &Db) -> Result<Vec<TrackerBattle>, StoreError> {
    let f = BattleFilter {
        status: Some("in_progress".into()),
        ..Default::default()
    };
    list_battles(db, &f, None, 0, 100_000).await
}

/// A battle's timeline from the audit log, oldest first.
pub(crate) async fn battle_events(db: &Db, id: Uuid) -> Result<Vec<serde_json::Value>, StoreError> {
    let rows = sqlx::query(
        "SELECT at, actor_id, action, details FROM audit_log WHERE target = $1 ORDER BY at, id",
    )
    .bind(id.to_string())
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let at: i64 = r.try_get("at").unwrap_or(0);
            let details: String = r.try_get("details").unwrap_or_default();
            serde_json::json!({
                "at": super::rfc3339(at),
                "actor_id": r.try_get::<Option<String>, _>("actor_id").ok().flatten(),
                "action": r.try_get::<String, _>("action").unwrap_or_default(),
                "details": serde_json::from_str::<serde_json::Value>(&details).unwrap_or_default(),
            })
        })
        .collect())
}
