//! Audit of refused credentials: every 401 to a request that carried a bearer token.
//!
//! A request without a token is an anonymous caller; one with a token that fails is either a
//! client bug or someone trying tokens, which an operator wants to see. The rate limits bound
//! how many rows one client can cause.

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::StatusCode,
    middleware::Next,
    web, Error,
};
use serde_json::json;

use crate::actors::persister::Persist;
use crate::http::{extract::bearer, AppState};
use crate::store::{audit::audit_op, batch::WriteOp};

/// Writes one audit row through the Persister. Best effort: a failed audit write is logged, it
/// does not undo (or fail) the action that already happened. The one audit writer of `http`.
pub(crate) async fn record(state: &AppState, op: WriteOp) {
    match state.persister.send(Persist(vec![op])).await {
        Ok(Ok(())) => {}
        other => tracing::warn!(?other, "audit write failed"),
    }
}

/// Middleware: audits `auth.bad_token` for a 401 answered to a request with a bearer token.
pub(crate) async fn bad_tokens(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let had_token = bearer(req.headers()).is_some();
    let res = next.call(req).await?;
    if had_token && res.status() == StatusCode::UNAUTHORIZED {
        if let Some(state) = res.request().app_data::<web::Data<AppState>>() {
            let ip = res.request().peer_addr().map(|a| a.ip().to_string());
            let path: String = res.request().path().chars().take(200).collect();
            let op = audit_op(
                None,
                "auth.bad_token",
                Some(&path),
                ip.as_deref(),
                &json!({ "method": res.request().method().as_str() }),
            );
            record(state, op).await;
        }
    }
    Ok(res)
}
