//! Operator endpoints: liveness, readiness, metrics, OpenAPI.

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::http::AppState;
use crate::metrics::METRICS;

/// Alive.
#[utoipa::path(get, path = "/healthz", responses((status = 200)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Ready: the database answers, and Redis too in multi-node mode.
#[utoipa::path(get, path = "/readyz", responses((status = 200), (status = 503)))]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let db = state.db.ping().await;
    let redis = match &state.cluster {
        None => None,
        Some(c) => Some(c.ping().await.is_ok()),
    };
    let word = |ok: bool| if ok { "ok" } else { "unreachable" };
    let mut body = json!({ "database": word(db) });
    if let (Some(ok), Some(c)) = (redis, &state.cluster) {
        body["redis"] = word(ok).into();
        body["node"] = c.node_id().into();
    }
    if db && redis.unwrap_or(true) {
        body["status"] = "ready".into();
        HttpResponse::Ok().json(body)
    } else {
        body["status"] = "not_ready".into();
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", responses((status = 200, content_type = "text/plain")))]
pub async fn metrics() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(METRICS.render())
}

/// The OpenAPI document.
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(crate::http::openapi::document())
}

/// Operator routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics))
        .route("/openapi.json", web::get().to(openapi));
}
