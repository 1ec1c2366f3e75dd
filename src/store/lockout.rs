//! Failed-login lockout: a per-account counter kept in the users table, so it holds across
//! restarts and for every node sharing the database.

use sqlx::Row;
use uuid::Uuid;

use super::{Db, StoreError};

/// How many failures within which window lock an account, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Failures that lock the account.
    pub max_failures: i64,
    /// Failures older than this (ms) no longer count.
    pub(crate) window_ms: i64,
    /// How long the lock lasts (ms).
    pub(crate) lock_ms: i64,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            max_failures: 5,
            window_ms: 15 * 60_000,
            lock_ms: 15 * 60_000,
        }
    }
}

impl Db {
    /// When the account is locked at `now`, the unix ms its lock ends.
    #[tracing::instrument(skip(self))]
    pub(crate) async fn locked_until(
        &self,
        user: Uuid,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query("SELECT locked_until FROM users WHERE id = $1")
            .bind(user.to_string())
            .fetch_optional(&self.pool)
            .await?;
        let until: Option<i64> = match row {
            Some(r) => r.try_get("locked_until")?,
            None => None,
        };
        Ok(until.filter(|u| *u > now))
    }

    /// Counts one failed login. Returns the lock's end when this failure locked the account.
    ///
    /// One conditional UPDATE per step, so concurrent failures on several nodes cannot lose a
    /// count: the window restarts when the first failure is too old.
    #[tracing::instrument(skip(self))]
    pub(crate) async fn record_login_failure(
        &self,
        user: Uuid,
        now: i64,
        p: LockoutPolicy,
    ) -> Result<Option<i64>, StoreError> {
        let id = user.to_string();
        let row = sqlx::query(
            "UPDATE users SET \
               failed_logins = CASE WHEN failed_since IS NULL OR failed_since < $2 \
                                    THEN 1 ELSE failed_logins + 1 END, \
               failed_since = CASE WHEN failed_since IS NULL OR failed_since < $2 \
                                   THEN $3 ELSE failed_since END \
             WHERE id = $1 RETURNING failed_logins",
        )
        .bind(&id)
        .bind(now - p.window_ms)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let failures: i64 = row.try_get("failed_logins")?;
        if failures < p.max_failures {
            return Ok(None);
        }
        let until = now + p.lock_ms;
        sqlx::query(
            "UPDATE users SET locked_until = $2, failed_logins = 0, failed_since = NULL \
             WHERE id = $1",
        )
        .bind(&id)
        .bind(until)
        .execute(&self.pool)
        .await?;
        Ok(Some(until))
    }

    /// A successful login clears the counter.
    #[tracing::instrument(skip(self))]
    pub(crate) async fn clear_login_failures(&self, user: Uuid) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE users SET failed_logins = 0, failed_since = NULL, locked_until = NULL \
             WHERE id = $1 AND (failed_logins <> 0 OR locked_until IS NOT NULL)",
        )
        .bind(user.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
