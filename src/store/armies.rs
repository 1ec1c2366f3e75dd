//! Armies (v1).

use serde_json::{json, Value};
use sqlx::{any::AnyRow, Row};
use uuid::Uuid;

use super::{now_ms, rfc3339, Db, StoreError};

/// A stored army.
#[derive(Debug, Clone)]
pub struct Army {
    /// Id.
    pub id: Uuid,
    /// Owner.
    pub owner_id: Uuid,
    /// Name.
    pub name: String,
    /// Faction slug.
    pub faction_id: String,
    /// Detachment.
    pub detachment: Option<String>,
    /// Points limit of the list.
    pub points_value: i64,
    /// `{units: [...]}`.
    pub army_list: Value,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

impl Army {
    /// The spec's Army Model.
    pub(crate) fn to_api(&self) -> Value {
        json!({ "id": self.id, "name": self.name, "faction_id": self.faction_id, "detachment": self.detachment,
            "owner_id": self.owner_id, "points_value": self.points_value, "army_list": self.army_list,
            "created_at": rfc3339(self.created_at), "updated_at": rfc3339(self.updated_at) })
    }
}

fn from_row(r: &AnyRow) -> Result<Army, sqlx::Error> {
    let id: String = r.try_get("id")?;
    let owner: String = r.try_get("owner_id")?;
    let list: String = r.try_get("army_list")?;
    let bad = |e: uuid::Error| sqlx::Error::Decode(Box::new(e));
    Ok(Army {
        id: Uuid::parse_str(&id).map_err(bad)?,
        owner_id: Uuid::parse_str(&owner).map_err(bad)?,
        name: r.try_get("name")?,
        faction_id: r.try_get("faction_id")?,
        detachment: r.try_get("detachment")?,
        points_value: r.try_get("points_value")?,
        army_list: serde_json::from_str(&list).unwrap_or(Value::Null),
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

const COLS: &str =
    "id, owner_id, name, faction_id, detachment, points_value, army_list, created_at, updated_at";

impl Db {
    /// Inserts an army.
    #[tracing::instrument(skip(self, a), fields(army = %a.id))]
    pub(crate) async fn insert_army(&self, a: &Army) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO armies (id, owner_id, name, faction_id, detachment, points_value, army_list, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(a.id.to_string()).bind(a.owner_id.to_string()).bind(&a.name).bind(&a.faction_id).bind(&a.detachment)
            .bind(a.points_value).bind(a.army_list.to_string()).bind(a.created_at).bind(a.updated_at)
            .execute(&self.pool).await.map_err(StoreError::from_sqlx)?;
        Ok(())
    }

    /// Replaces an army's fields.
    #[tracing::instrument(skip(self, a), fields(army = %a.id))]
    pub(crate) async fn update_army(&self, a: &Army) -> Result<(), StoreError> {
        sqlx::query("UPDATE armies SET name = $1, faction_id = $2, detachment = $3, points_value = $4, army_list = $5, updated_at = $6 WHERE id = $7")
            .bind(&a.name).bind(&a.faction_id).bind(&a.detachment).bind(a.points_value).bind(a.army_list.to_string())
            .bind(now_ms()).bind(a.id.to_string())
            .execute(&self.pool).await?;
        Ok(())
    }

    /// One army.
    #[tracing::instrument(skip(self))]
    pub async fn army(&self, id: Uuid) -> Result<Option<Army>, StoreError> {
        let sql = format!("SELECT {COLS} FROM armies WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(from_row).transpose()?)
    }

    /// Armies, optionally of one owner, newest first, after a `(created_at, id)` cursor.
    #[tracing::instrument(skip(self))]
    pub async fn armies(
        &self,
        owner: Option<Uuid>,
        after: Option<(i64, String)>,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<Army>, StoreError> {
        let sql = format!(
            "SELECT {COLS} FROM armies WHERE ($1 IS NULL OR owner_id = $1) \
             AND ($2 IS NULL OR created_at < $2 OR (created_at = $2 AND id < $3)) \
             ORDER BY created_at DESC, id DESC LIMIT $4 OFFSET $5"
        );
        let (k, id) = after.map_or((None, None), |(k, id)| (Some(k), Some(id)));
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(owner.map(|o| o.to_string()))
            .bind(k)
            .bind(id)
            .bind(limit as i64)
            .bind(offset as i64)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
    }

    /// Deletes an army unless an ongoing battle uses it. Returns false when in use.
    #[tracing::instrument(skip(self))]
    pub(crate) async fn delete_army_if_unused(&self, id: Uuid) -> Result<bool, StoreError> {
        let needle = format!("%{id}%");
        // Also in use: entered in a tournament that is not over (its rounds create battles).
        let r = sqlx::query("DELETE FROM armies WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM tracker_battles WHERE status IN ('setup', 'in_progress') AND state LIKE $2) \
             AND NOT EXISTS (SELECT 1 FROM tournament_participants p JOIN tournaments t ON t.id = p.tournament_id \
             WHERE p.army_id = $1 AND t.status IN ('draft', 'registration', 'active'))")
            .bind(id.to_string()).bind(needle)
            .execute(&self.pool).await?;
        Ok(r.rows_affected() == 1)
    }
}
