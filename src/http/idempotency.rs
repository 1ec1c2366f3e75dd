//! `Idempotency-Key` for POSTs: the first response for a (user, key) is stored and replayed.
//!
//! The key is reserved before the handler runs (status 0), so a concurrent duplicate gets
//! 409 instead of running twice. A handler error releases the key so the client may retry.
//! Keys are per user; the same key on another endpoint is 409 `IDEMPOTENCY_KEY_REUSED`.

use actix_web::{
    body::{BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::{Method, StatusCode},
    middleware::Next,
    web, HttpResponse, ResponseError,
};
use serde_json::Value;
use sqlx::Row;
use uuid::Uuid;

use super::{errors::V2Error, extract::bearer, AppState};
use crate::store::{now_ms, StoreError};

/// The header name.
pub const HEADER: &str = "Idempotency-Key";

/// Middleware for the /v2 scope: a signed-in POST with `Idempotency-Key` runs at most once
/// per (user, key); later calls get the stored response (`Idempotent-Replayed: true`).
/// Only successes are stored: an error releases the key so the client may retry.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let header = req.headers().get(HEADER).cloned();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let (Some(header), Some(state), true) = (header, state, req.method() == Method::POST) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    // Unauthenticated or banned callers are the handler's to refuse.
    let user = match bearer(req.headers()).map(|t| state.keys.verify(t)) {
        Some(Ok(u)) if !state.bans.contains(&u.id) => u.id,
        _ => {
            return next
                .call(req)
                .await
                .map(ServiceResponse::map_into_boxed_body)
        }
    };
    let Some(key) = header
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= 255)
        .map(str::to_string)
    else {
        let e = V2Error::Validation("Idempotency-Key must be 1 to 255 visible characters".into());
        return Ok(req.into_response(e.error_response()));
    };
    let method = req.method().as_str().to_string();
    let path = req.path().to_string();
    match reserve(&state, user, &key, &method, &path).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            let resp = replay(&state, user, &key, &method, &path)
                .await
                .unwrap_or_else(|e| e.error_response());
            return Ok(req.into_response(resp));
        }
        Err(e) => return Ok(req.into_response(V2Error::from(e).error_response())),
    }
    let res = match next.call(req).await {
        Ok(r) => r,
        Err(e) => {
            release(&state, user, &key).await;
            return Err(e);
        }
    };
    let status = res.status();
    if !status.is_success() {
        release(&state, user, &key).await;
        return Ok(res.map_into_boxed_body());
    }
    let (req, res) = res.into_parts();
    let headers = res.headers().clone();
    let Ok(bytes) = actix_web::body::to_bytes(res.into_body()).await else {
        release(&state, user, &key).await;
        return Ok(ServiceResponse::new(
            req,
            V2Error::Internal("response body unreadable".into()).error_response(),
        ));
    };
    let stored = sqlx::query(
        "UPDATE idempotency_keys SET status = $1, body = $2 WHERE user_id = $3 AND idem_key = $4",
    )
    .bind(i64::from(status.as_u16()))
    .bind(String::from_utf8_lossy(&bytes).to_string())
    .bind(user.to_string())
    .bind(&key)
    .execute(&state.db.pool)
    .await;
    if let Err(e) = stored {
        tracing::warn!(error = %e, "idempotency: storing the response failed");
    }
    let mut out = HttpResponse::build(status);
    for (k, v) in headers.iter() {
        out.append_header((k.clone(), v.clone()));
    }
    Ok(ServiceResponse::new(req, out.body(bytes)))
}

async fn reserve(
    state: &AppState,
    user: Uuid,
    key: &str,
    method: &str,
    path: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO idempotency_keys (user_id, idem_key, method, path, status, body, created_at) \
         VALUES ($1, $2, $3, $4, 0, '', $5)",
    )
    .bind(user.to_string())
    .bind(key)
    .bind(method)
    .bind(path)
    .bind(now_ms())
    .execute(&state.db.pool)
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(())
}

async fn release(state: &AppState, user: Uuid, key: &str) {
    let _ = sqlx::query("DELETE FROM idempotency_keys WHERE user_id = $1 AND idem_key = $2")
        .bind(user.to_string())
        .bind(key)
        .execute(&state.db.pool)
        .await;
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
