//! Players' rule-tree algorithms. A `PUT` writes a new row (version + 1, `parent_id` = the
//! previous row) so battles keep pointing at the exact tree they played.

use serde_json::{json, Value};
use sqlx::{any::AnyRow, Row};
use uuid::Uuid;

use super::{now_ms, rfc3339, Db, StoreError};

/// A stored algorithm.
#[derive(Debug, Clone)]
pub(crate) struct AlgorithmRecord {
    /// Id.
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// The rule tree as submitted (spec JSON).
    pub rule_tree: Value,
    /// Version, from 1.
    pub version: i64,
    /// Previous version.
    pub parent_id: Option<Uuid>,
    /// DRAFT, ACTIVE or ARCHIVED.
    pub status: String,
    /// Passed validation.
    pub is_valid: bool,
    /// Validation messages.
    pub validation_errors: Vec<String>,
    /// Battles played.
    pub(crate) times_used: i64,
    /// Battles won.
    pub wins: i64,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

impl AlgorithmRecord {
    /// API shape.
    pub fn to_json(&self) -> Value {
        let win_rate = if self.times_used > 0 {
            (self.wins as f64 * 1000.0 / self.times_used as f64).round() / 10.0
        } else {
            0.0
        };
        json!({
            "id": self.id, "user_id": self.user_id, "name": self.name,
            "description": self.description, "rule_tree": self.rule_tree,
            "version": self.version, "parent_id": self.parent_id, "status": self.status,
            "is_valid": self.is_valid, "validation_errors": self.validation_errors,
            "times_used": self.times_used, "wins": self.wins, "win_rate": win_rate,
            "created_at": rfc3339(self.created_at), "updated_at": rfc3339(self.updated_at),
        })
    }
}

const COLS: &str = "id, user_id, name, description, rule_tree, version, parent_id, status, \
                    is_valid, validation_errors, times_used, wins, created_at, updated_at";

fn from_row(r: &AnyRow) -> Result<AlgorithmRecord, sqlx::Error> {
    let uuid = |s: String| Uuid::parse_str(&s).map_err(|e| sqlx::Error::Decode(Box::new(e)));
    let tree: String = r.try_get("rule_tree")?;
    let errors: String = r.try_get("validation_errors")?;
    Ok(AlgorithmRecord {
        id: uuid(r.try_get("id")?)?,
        user_id: uuid(r.try_get("user_id")?)?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        rule_tree: serde_json::from_str(&tree).unwrap_or(Value::Null),
        version: r.try_get("version")?,
        parent_id: r
            .try_get::<Option<String>, _>("parent_id")?
            .and_then(|s| Uuid::parse_str(&s).ok()),
        status: r.try_get("status")?,
        is_valid: r.try_get::<i64, _>("is_valid")? != 0,
        validation_errors: serde_json::from_str(&errors).unwrap_or_default(),
        times_used: r.try_get("times_used")?,
        wins: r.try_get("wins")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// Fields of a new algorithm version.
#[derive(Debug, Clone)]
pub(crate) struct NewAlgorithm {
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Rule tree JSON.
    pub rule_tree: Value,
    /// Canonical hash when valid.
    pub(crate) tree_hash: Option<String>,
    /// Validation errors (empty when valid).
    pub errors: Vec<String>,
}

/// Sort orders of the list endpoint.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AlgorithmSort {
    /// Newest first.
    CreatedAt,
    /// Best win rate first.
    WinRate,
    /// Most used first.
    TimesUsed,
}

impl Db {
    /// Inserts an algorithm (a new one, or a new version of `parent`).
    #[tracing::instrument(skip(self, a))]
    pub(crate) async fn insert_algorithm(
        &self,
        user: Uuid,
        a: &NewAlgorithm,
        parent: Option<&AlgorithmRecord>,
    ) -> Result<AlgorithmRecord, StoreError> {
        let id = Uuid::new_v4();
        let now = now_ms();
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO algorithms (id, user_id, name, description, rule_tree, tree_hash, version, \
             parent_id, status, is_valid, validation_errors, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
        )
        .bind(id.to_string())
        .bind(user.to_string())
        .bind(a.name.clone())
        .bind(a.description.clone())
        .bind(a.rule_tree.to_string())
        .bind(a.tree_hash.clone())
        .bind(parent.map_or(1, |p| p.version + 1))
        .bind(parent.map(|p| p.id.to_string()))
        // A new version of the active algorithm stays active (if it is valid).
        .bind(match parent {
            Some(p) if p.status == "ACTIVE" && a.errors.is_empty() => "ACTIVE",
            _ => "DRAFT",
        })
        .bind(i64::from(a.errors.is_empty()))
        .bind(serde_json::to_string(&a.errors).unwrap_or_else(|_| "[]".into()))
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_sqlx)?;
        if let Some(p) = parent {
            // The old version is superseded: archive it so only the newest is in play.
            sqlx::query("UPDATE algorithms SET status = 'ARCHIVED', updated_at = $1 WHERE id = $2")
                .bind(now)
                .bind(p.id.to_string())
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from_sqlx)?;
        }
        tx.commit().await.map_err(StoreError::from_sqlx)?;
        self.algorithm(id).await?.ok_or(StoreError::NotFound)
    }

    /// One algorithm by id.
    #[tracing::instrument(skip(self))]
    pub(crate) async fn algorithm(&self, id: Uuid) -> Result<Option<AlgorithmRecord>, StoreError> {
        let sql = format!("SELECT {COLS} FROM algorithms WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(from_row).transpose()?)
    }

    /// The user's algorithms, optionally by status.
    #[tracing::instrument(skip(self))]
    pub(crate) async fn list_algorithms(
        &self,
        user: Uuid,
        status: Option<&str>,
        sort: AlgorithmSort,
        limit: u32,
        offset: u32,
    ) -> Result<(Vec<AlgorithmRecord>, i64), StoreError> {
        let order = match sort {
            AlgorithmSort::CreatedAt => "created_at DESC, id",
            AlgorithmSort::WinRate => {
                "(CASE WHEN times_used > 0 THEN wins * 1.0 / times_used ELSE 0 END) DESC, created_at DESC, id"
            }
            AlgorithmSort::TimesUsed => "times_used DESC, created_at DESC, id",
        };
        let sql = format!(
            "SELECT {COLS} FROM algorithms WHERE user_id = $1 AND ($2 IS NULL OR status = $2) \
             ORDER BY {order} LIMIT $3 OFFSET $4"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user.to_string())
            .bind(status)
            .bind(i64::from(limit))
            .bind(i64::from(offset))
            .fetch_all(&self.pool)
            .await?;
        let total: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM algorithms WHERE user_id = $1 AND ($2 IS NULL OR status = $2)",
        )
        .bind(user.to_string())
        .bind(status)
        .fetch_one(&self.pool)
        .await?
        .try_get("n")?;
        let rows = rows.iter().map(from_row).collect::<Result<_, _>>()?;
        Ok((rows, total))
    }

    /// Sets an algorithm's status; `ACTIVE` demotes the user's other active one to DRAFT.
    #[tracing::instrument(skip(self))]
    pub(crate) async fn set_algorithm_status(
        &self,
        user: Uuid,
        id: Uuid,
        status: &str,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let mut tx = self.begin().await?;
        if status == "ACTIVE" {
            sqlx::query(
                "UPDATE algorithms SET status = 'DRAFT', updated_at = $1 \
                 WHERE user_id = $2 AND status = 'ACTIVE' AND id <> $3",
            )
            .bind(now)
            .bind(user.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from_sqlx)?;
        }
        sqlx::query(
            "UPDATE algorithms SET status = $1, updated_at = $2 WHERE id = $3 AND user_id = $4",
        )
        .bind(status)
        .bind(now)
        .bind(id.to_string())
        .bind(user.to_string())
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_sqlx)?;
        tx.commit().await.map_err(StoreError::from_sqlx)
    }
}
