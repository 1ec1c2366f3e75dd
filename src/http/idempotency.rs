//! `Idempotency-Key` for POSTs: the first response for a (user, key) is stored and replayed.
//!
//! The key is reserved before the handler runs (status 0), so a concurrent duplicate gets
//! 409 instead of running twice. A handler error releases the key so the client may retry.

use std::future::Future;

use actix_web::{http::StatusCode, HttpRequest, HttpResponse};
use serde_json::Value;
use sqlx::Row;
use uuid::Uuid;

use super::{errors::V2Error, AppState};
use crate::store::{now_ms, StoreError};

/// The header name.
pub const HEADER: &str = "Idempotency-Key";

/// Runs `f` at most once per (user, `Idempotency-Key`); without the header it just runs.
pub async fn idempotent<F, Fut>(
    state: &AppState,
    req: &HttpRequest,
    user: Uuid,
    f: F,
) -> Result<HttpResponse, V2Error>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(StatusCode, Value), V2Error>>,
{
    let Some(key) = req.headers().get(HEADER) else {
        let (status, body) = f().await?;
        return Ok(HttpResponse::build(status).json(body));
    };
    let key = key
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= 255)
        .ok_or_else(|| {
            V2Error::Validation("Idempotency-Key must be 1 to 255 visible characters".into())
        })?
        .to_string();
    let method = req.method().as_str().to_string();
    let path = req.path().to_string();
    let reserved = sqlx::query(
        "INSERT INTO idempotency_keys (user_id, idem_key, method, path, status, body, created_at) \
         VALUES ($1, $2, $3, $4, 0, '', $5)",
    )
    .bind(user.to_string())
    .bind(&key)
    .bind(&method)
    .bind(&path)
    .bind(now_ms())
    .execute(&state.db.pool)
    .await
    .map_err(StoreError::from_sqlx);
    match reserved {
        Ok(_) => {}
        Err(StoreError::Conflict(_)) => return replay(state, user, &key, &method, &path).await,
        Err(e) => return Err(e.into()),
    }
    match f().await {
        Ok((status, body)) => {
            sqlx::query(
                "UPDATE idempotency_keys SET status = $1, body = $2 WHERE user_id = $3 AND idem_key = $4",
            )
            .bind(i64::from(status.as_u16()))
            .bind(body.to_string())
            .bind(user.to_string())
            .bind(&key)
            .execute(&state.db.pool)
            .await
            .map_err(StoreError::from_sqlx)?;
            Ok(HttpResponse::build(status).json(body))
        }
        Err(e) => {
            let _ =
                sqlx::query("DELETE FROM idempotency_keys WHERE user_id = $1 AND idem_key = $2")
                    .bind(user.to_string())
                    .bind(&key)
                    .execute(&state.db.pool)
                    .await;
            Err(e)
        }
    }
}

async fn replay(
    state: &AppState,
    user: Uuid,
    key: &str,
    method: &str,
    path: &str,
) -> Result<HttpResponse, V2Error> {
    let row = sqlx::query(
        "SELECT method, path, status, body FROM idempotency_keys WHERE user_id = $1 AND idem_key = $2",
    )
    .bind(user.to_string())
    .bind(key)
    .fetch_optional(&state.db.pool)
    .await
    .map_err(StoreError::from_sqlx)?
    .ok_or_else(|| V2Error::Conflict {
        code: "IDEMPOTENCY_IN_PROGRESS",
        message: "a request with this Idempotency-Key is in progress".into(),
    })?;
    let get = |c: &str| row.try_get::<String, _>(c).map_err(StoreError::from_sqlx);
    if get("method")? != method || get("path")? != path {
        return Err(V2Error::Conflict {
            code: "IDEMPOTENCY_KEY_REUSED",
            message: "this Idempotency-Key was used for another request".into(),
        });
    }
    let status: i64 = row.try_get("status").map_err(StoreError::from_sqlx)?;
    if status == 0 {
        return Err(V2Error::Conflict {
            code: "IDEMPOTENCY_IN_PROGRESS",
            message: "a request with this Idempotency-Key is in progress".into(),
        });
    }
    let body: Value = serde_json::from_str(&get("body")?).unwrap_or(Value::Null);
    let status = StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK);
    Ok(HttpResponse::build(status)
        .insert_header(("Idempotent-Replayed", "true"))
        .json(body))
}
