//! `Idempotency-Key` rows: reservation with a lease, the stored response, and the mark a money
//! move writes inside its own transaction.
//!
//! A key is reserved (status 0) before its handler runs, holding a lease; a reservation whose
//! lease ran out (its request died with its process) may be taken over by a retry. A move that
//! commits money writes its response into the key row in the same transaction
//! ([`mark_applied`]), so after a crash between COMMIT and the reply the retry gets that response
//! instead of a second withdrawal or a key locked for a day.

use std::future::Future;

use serde_json::Value;
use sqlx::{Any, Row, Transaction};
use uuid::Uuid;

use super::{Db, StoreError};

/// The key of the request being served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IdemKey {
    /// Caller.
    pub user: Uuid,
    /// The header's value.
    pub key: String,
}

tokio::task_local! {
    static CURRENT: IdemKey;
}

/// Runs `f` (a handler) with `key` as the request's idempotency key.
pub(crate) async fn scope<F: Future>(key: IdemKey, f: F) -> F::Output {
    CURRENT.scope(key, f).await
}

/// Inside a money move's transaction: records `status` and `body` as the response of the
/// request's idempotency key, if it has one.
pub(crate) async fn mark_applied(
    tx: &mut Transaction<'static, Any>,
    status: u16,
    body: &Value,
) -> Result<(), StoreError> {
    let Ok(k) = CURRENT.try_with(Clone::clone) else {
        return Ok(());
    };
    sqlx::query(
        "UPDATE idempotency_keys SET status = $1, body = $2 WHERE user_id = $3 AND idem_key = $4",
    )
    .bind(i64::from(status))
    .bind(body.to_string())
    .bind(k.user.to_string())
    .bind(&k.key)
    .execute(&mut **tx)
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(())
}

/// A stored key.
#[derive(Debug, Clone)]
pub(crate) struct IdemRow {
    /// Method of the first request.
    pub method: String,
    /// Path of the first request.
    pub path: String,
    /// 0 while in progress, else the response status.
    pub status: i64,
    /// Response body (JSON text).
    pub body: String,
}

/// Outcome of [`Db::idem_reserve`].
#[derive(Debug)]
pub(crate) enum Reserved {
    /// This request holds the key now.
    Fresh,
    /// Someone has it: in progress under a live lease, or done.
    Existing(IdemRow),
}

impl Db {
    /// Reserves `key` for a request, or takes over a reservation whose lease expired.
    #[tracing::instrument(skip(self))]
    pub(crate) async fn idem_reserve(
        &self,
        k: &IdemKey,
        method: &str,
        path: &str,
        now: i64,
        lease_ms: i64,
    ) -> Result<Reserved, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys \
             (user_id, idem_key, method, path, status, body, created_at, lease_until) \
             VALUES ($1, $2, $3, $4, 0, '', $5, $6)",
        )
        .bind(k.user.to_string())
        .bind(&k.key)
        .bind(method)
        .bind(path)
        .bind(now)
        .bind(now + lease_ms)
        .execute(&self.pool)
        .await
        .map_err(StoreError::from_sqlx);
        match inserted {
            Ok(_) => return Ok(Reserved::Fresh),
            Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
        let took = sqlx::query(
            "UPDATE idempotency_keys SET lease_until = $1, method = $2, path = $3 \
             WHERE user_id = $4 AND idem_key = $5 AND status = 0 AND lease_until < $6",
        )
        .bind(now + lease_ms)
        .bind(method)
        .bind(path)
        .bind(k.user.to_string())
        .bind(&k.key)
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if took == 1 {
            return Ok(Reserved::Fresh);
        }
        let row = sqlx::query(
            "SELECT method, path, status, body FROM idempotency_keys \
             WHERE user_id = $1 AND idem_key = $2",
        )
        .bind(k.user.to_string())
        .bind(&k.key)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            // Released between our INSERT and SELECT: the client may simply retry.
            None => Ok(Reserved::Existing(IdemRow {
                method: method.into(),
                path: path.into(),
                status: 0,
                body: String::new(),
            })),
            Some(r) => Ok(Reserved::Existing(IdemRow {
                method: r.try_get("method")?,
                path: r.try_get("path")?,
                status: r.try_get("status")?,
                body: r.try_get("body")?,
            })),
        }
    }

    /// Stores the final response of a key.
    #[tracing::instrument(skip(self, body))]
    pub(crate) async fn idem_store(
        &self,
        k: &IdemKey,
        status: u16,
        body: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE idempotency_keys SET status = $1, body = $2 WHERE user_id = $3 AND idem_key = $4",
        )
        .bind(i64::from(status))
        .bind(body)
        .bind(k.user.to_string())
        .bind(&k.key)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Releases a reservation whose request failed, unless its effect already committed.
    #[tracing::instrument(skip(self))]
    pub(crate) async fn idem_release(&self, k: &IdemKey) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE user_id = $1 AND idem_key = $2 AND status = 0",
        )
        .bind(k.user.to_string())
        .bind(&k.key)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Ends every in-progress reservation: called at start-up of a single node, whose earlier
    /// process (the only one that could hold them) is gone.
    #[tracing::instrument(skip(self))]
    pub(crate) async fn idem_release_all_in_progress(&self) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM idempotency_keys WHERE status = 0")
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    /// Forgets stored responses created before `cutoff` (unix ms).
    #[tracing::instrument(skip(self))]
    pub(crate) async fn idem_forget_before(&self, cutoff: i64) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
                .bind(cutoff)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}
