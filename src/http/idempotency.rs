//! `Idempotency-Key` for POSTs: the first response for a (user, key) is stored and replayed.
//!
//! The key is reserved before the handler runs (status 0, under a lease), so a concurrent
//! duplicate gets 409 instead of running twice; a reservation that outlives its request (the
//! process died) expires with its lease. Money moves write their response into the key inside
//! their own transaction (`store::idempotency::mark_applied`), so a crash after COMMIT cannot
//! leave the key locked or the move unanswered. A handler error releases the key so the client
//! may retry. Keys are per user; the same key on another endpoint is 409
//! `IDEMPOTENCY_KEY_REUSED`.

use actix_web::{
    body::{BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::{Method, StatusCode},
    middleware::Next,
    web, HttpResponse, ResponseError,
};
use serde_json::Value;

use super::{errors::V2Error, extract::bearer, AppState};
use crate::store::idempotency::{self, IdemKey, IdemRow, Reserved};
use crate::store::now_ms;

/// The header name.
pub(crate) const HEADER: &str = "Idempotency-Key";

/// Middleware for the /v2 scope: a signed-in POST with `Idempotency-Key` runs at most once
/// per (user, key); later calls get the stored response (`Idempotent-Replayed: true`).
/// Only successes are stored: an error releases the key so the client may retry.
pub(crate) async fn middleware(
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
    let k = IdemKey { user, key };
    let lease = state.config.idempotency_lease.as_millis() as i64;
    match state
        .db
        .idem_reserve(&k, &method, &path, now_ms(), lease)
        .await
    {
        Ok(Reserved::Fresh) => {}
        Ok(Reserved::Existing(row)) => {
            let resp = replay(row, &method, &path).unwrap_or_else(|e| e.error_response());
            return Ok(req.into_response(resp));
        }
        Err(e) => return Ok(req.into_response(V2Error::from(e).error_response())),
    }
    let res = match idempotency::scope(k.clone(), next.call(req)).await {
        Ok(r) => r,
        Err(e) => {
            release(&state, &k).await;
            return Err(e);
        }
    };
    let status = res.status();
    if !status.is_success() {
        release(&state, &k).await;
        return Ok(res.map_into_boxed_body());
    }
    let (req, res) = res.into_parts();
    let headers = res.headers().clone();
    let Ok(bytes) = actix_web::body::to_bytes(res.into_body()).await else {
        release(&state, &k).await;
        return Ok(ServiceResponse::new(
            req,
            V2Error::Internal("response body unreadable".into()).error_response(),
        ));
    };
    let body = String::from_utf8_lossy(&bytes);
    if let Err(e) = state.db.idem_store(&k, status.as_u16(), &body).await {
        tracing::warn!(error = %e, "idempotency: storing the response failed");
    }
    let mut out = HttpResponse::build(status);
    for (k, v) in headers.iter() {
        out.append_header((k.clone(), v.clone()));
    }
    Ok(ServiceResponse::new(req, out.body(bytes)))
}

async fn release(state: &AppState, k: &IdemKey) {
    if let Err(e) = state.db.idem_release(k).await {
        tracing::warn!(error = %e, "idempotency: releasing the key failed");
    }
}

fn replay(row: IdemRow, method: &str, path: &str) -> Result<HttpResponse, V2Error> {
    if row.method != method || row.path != path {
        return Err(V2Error::Conflict {
            code: "IDEMPOTENCY_KEY_REUSED",
            message: "this Idempotency-Key was used for another request".into(),
        });
    }
    if row.status == 0 {
        return Err(V2Error::Conflict {
            code: "IDEMPOTENCY_IN_PROGRESS",
            message: "a request with this Idempotency-Key is in progress".into(),
        });
    }
    let body: Value = serde_json::from_str(&row.body).unwrap_or(Value::Null);
    let status = StatusCode::from_u16(row.status as u16).unwrap_or(StatusCode::OK);
    Ok(HttpResponse::build(status)
        .insert_header(("Idempotent-Replayed", "true"))
        .json(body))
}
