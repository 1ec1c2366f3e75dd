//! Request ids: every response carries `X-Request-Id`, and error bodies repeat it.
//!
//! The id lives in a task-local for the duration of the request, so error types can read it
//! when they render without threading the request through every call.

use std::time::Instant;

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::header::{HeaderName, HeaderValue},
    middleware::Next,
    Error,
};

use crate::metrics::METRICS;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The current request's id, or an empty string outside a request.
pub(crate) fn current_request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

fn new_id() -> String {
    format!("req_{}", uuid::Uuid::new_v4().simple())
}

/// Middleware: assigns the id (or keeps a sane incoming one), logs, records metrics.
pub(crate) async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(new_id);
    // Labels come from fixed sets only: the method's from `method_label`, the route's from
    // the App's route patterns (or one constant for every unmatched path).
    let method = crate::metrics::method_label(req.method());
    let started = Instant::now();
    let span =
        tracing::info_span!("http", request_id = %id, method = %req.method(), path = %req.path());
    let res = REQUEST_ID
        .scope(id.clone(), async move {
            let _enter = span.enter();
            next.call(req).await
        })
        .await;
    let mut res = res?;
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| crate::metrics::UNMATCHED_ROUTE.into());
    let status = res.status().as_u16();
    METRICS
        .http_requests
        .with_label_values(&[method, route.as_str(), &status.to_string()])
        .inc();
    METRICS
        .http_latency
        .with_label_values(&[route.as_str()])
        .observe(started.elapsed().as_secs_f64());
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut()
            .insert(HeaderName::from_static("x-request-id"), v);
    }
    tracing::debug!(request_id = %id, status, route = %route, "done");
    Ok(res)
}
