//! Tracker battles in SQL.

use uuid::Uuid;

use super::{Db, StoreError};

/// Does this tracker battle exist?
#[tracing::instrument(skip(db))]
pub async fn battle_exists(db: &Db, id: Uuid) -> Result<bool, StoreError> {
    let row = sqlx::query("SELECT 1 AS one FROM tracker_battles WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.is_some())
}
