//! Admin queries: user search, bans, ledger totals.

use serde_json::{json, Value};
use sqlx::Row;
use uuid::Uuid;

use super::{now_ms, rfc3339, Db, StoreError};

impl Db {
    /// Users whose username or email contains `q` (case-insensitive), newest first.
    /// Returns (page as admin JSON, total).
    pub(crate) async fn admin_users(
        &self,
        q: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Value>, i64), StoreError> {
        let pattern = q.map(str::trim).filter(|s| !s.is_empty()).map(|s| {
            // LIKE wildcards in the query are literal.
            let esc = s
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("%{esc}%")
        });
        let filter = "($1 IS NULL OR username_lower LIKE $1 ESCAPE '\\' \
                      OR email_lower LIKE $1 ESCAPE '\\')";
        let total: i64 = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) AS n FROM users WHERE {filter}"
        )))
        .bind(pattern.as_deref())
        .fetch_one(&self.pool)
        .await?
        .try_get("n")?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT id, username, email, role, banned, gmo_balance, eldr_balance, \
             wallet_address, level, created_at FROM users WHERE {filter} \
             ORDER BY created_at DESC, id LIMIT $2 OFFSET $3"
        )))
        .bind(pattern.as_deref())
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(json!({
                "id": r.try_get::<String, _>("id")?,
                "username": r.try_get::<String, _>("username")?,
                "email": r.try_get::<String, _>("email")?,
                "role": r.try_get::<String, _>("role")?,
                "banned": r.try_get::<i64, _>("banned")? != 0,
                "gmo_balance": r.try_get::<i64, _>("gmo_balance")?,
                "eldr_balance": crate::domain::economy::format_eldr(r.try_get("eldr_balance")?),
                "wallet_address": r.try_get::<Option<String>, _>("wallet_address")?,
                "level": r.try_get::<i64, _>("level")?,
                "created_at": rfc3339(r.try_get("created_at")?),
            }));
        }
        Ok((out, total))
    }

    /// Bans or unbans a user (revoking refresh tokens on ban). False when no such user.
    pub(crate) async fn set_banned(&self, id: Uuid, banned: bool) -> Result<bool, StoreError> {
        let now = now_ms();
        let mut tx = self.begin().await?;
        let n = sqlx::query("UPDATE users SET banned = $1, updated_at = $2 WHERE id = $3")
            .bind(i64::from(banned))
            .bind(now)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if banned && n == 1 {
            sqlx::query(
                "UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(n == 1)
    }

    /// Ledger totals for operators: sums of user balances, system accounts, transfer count.
    pub(crate) async fn ledger_totals(&self) -> Result<Value, StoreError> {
        let r = sqlx::query(
            "SELECT CAST(COALESCE(SUM(gmo_balance), 0) AS BIGINT) AS gmo, \
             CAST(COALESCE(SUM(eldr_balance), 0) AS BIGINT) AS eldr, \
             COUNT(*) AS users FROM users",
        )
        .fetch_one(&self.pool)
        .await?;
        let mut system = serde_json::Map::new();
        for s in
            sqlx::query("SELECT id, currency, balance FROM system_accounts ORDER BY id, currency")
                .fetch_all(&self.pool)
                .await?
        {
            let key = format!(
                "{}:{}",
                s.try_get::<String, _>("id")?,
                s.try_get::<String, _>("currency")?
            );
            system.insert(key, s.try_get::<i64, _>("balance")?.into());
        }
        let transfers: i64 = sqlx::query("SELECT COUNT(*) AS n FROM ledger_transfers")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        Ok(json!({
            "users": r.try_get::<i64, _>("users")?,
            "user_gmo_total": r.try_get::<i64, _>("gmo")?,
            "user_eldr_total_nano": r.try_get::<i64, _>("eldr")?,
            "system_accounts": system,
            "transfers": transfers,
        }))
    }
}
