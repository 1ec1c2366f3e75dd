//! /v2/admin (admin role): users, bans, catalogue seed, leaderboard refresh, metrics. Every
//! action is written to the audit log.

use actix_web::{web, HttpRequest, HttpResponse};
use prometheus::core::Collector;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::http::{
    errors::V2Error,
    extract::V2Admin,
    pagination::{v2_page, V2PageQuery},
    AppState,
};
use crate::metrics::METRICS;
use crate::store::audit::audit_op;

/// Writes one audit row through the Persister. Best effort: a failed audit write is logged,
/// it does not undo the action that already happened.
pub async fn audit(
    state: &AppState,
    req: &HttpRequest,
    actor: Uuid,
    action: &str,
    target: &str,
    details: Value,
) {
    let ip = req.peer_addr().map(|a| a.ip().to_string());
    let op = audit_op(Some(actor), action, Some(target), ip.as_deref(), &details);
    crate::http::audit::record(state, op).await;
}

/// `GET /admin/users` query.
#[derive(Debug, Deserialize)]
pub struct UsersQuery {
    q: Option<String>,
    search: Option<String>,
    limit: Option<u32>,
    offset: Option<u32>,
}

/// `GET /admin/users?q=&limit=&offset=`: search by username or email.
#[utoipa::path(get, path = "/v2/admin/users", responses((status = 200), (status = 403)))]
pub async fn users(
    state: web::Data<AppState>,
    req: HttpRequest,
    V2Admin(admin): V2Admin,
    q: web::Query<UsersQuery>,
) -> Result<HttpResponse, V2Error> {
    let page = V2PageQuery {
        limit: q.limit,
        offset: q.offset,
    }
    .parse()?;
    let term = q.q.as_deref().or(q.search.as_deref());
    let (rows, total) = state
        .db
        .admin_users(term, i64::from(page.limit), i64::from(page.offset))
        .await?;
    audit(
        &state,
        &req,
        admin.id,
        "admin.users.list",
        "users",
        json!({"q": term}),
    )
    .await;
    Ok(HttpResponse::Ok().json(v2_page(rows, total, page)))
}

/// `PATCH /admin/users/{id}/ban` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BanReq {
    banned: bool,
    reason: Option<String>,
}

/// `PATCH /admin/users/{id}/ban`: takes effect at once — REST and handshakes refuse the user,
/// the user leaves any matchmaking queue and their live sockets are disconnected.
#[utoipa::path(patch, path = "/v2/admin/users/{id}/ban", request_body = BanReq, responses((status = 200), (status = 403), (status = 404)))]
pub async fn ban(
    state: web::Data<AppState>,
    req: HttpRequest,
    V2Admin(admin): V2Admin,
    id: web::Path<Uuid>,
    body: crate::http::extract::Json<BanReq>,
) -> Result<HttpResponse, V2Error> {
    let id = *id;
    if id == admin.id && body.banned {
        return Err(V2Error::Validation("admins cannot ban themselves".into()));
    }
    let reason = body.reason.as_deref().map(str::trim).unwrap_or("");
    if reason.chars().count() > 500 {
        return Err(V2Error::Validation("reason: at most 500 characters".into()));
    }
    let changed = state.db.set_banned(id, body.banned).await;
    crate::http::cached::invalidate(&state, crate::cluster::cache::CacheKind::UserProfile, &[id])
        .await;
    if !changed? {
        return Err(V2Error::NotFound("user".into()));
    }
    // Every node: ban list, standing cache, raw sessions, queue, and every socket.
    state.ban_sync.apply(id, body.banned).await;
    let action = if body.banned {
        "admin.user.ban"
    } else {
        "admin.user.unban"
    };
    audit(
        &state,
        &req,
        admin.id,
        action,
        &id.to_string(),
        json!({"reason": reason}),
    )
    .await;
    Ok(HttpResponse::Ok().json(json!({
        "id": id.to_string(),
        "banned": body.banned,
        "reason": reason,
    })))
}

/// `POST /admin/robots/seed`: upserts the catalogue (idempotent).
#[utoipa::path(post, path = "/v2/admin/robots/seed", responses((status = 200), (status = 403)))]
pub async fn seed_robots(
    state: web::Data<AppState>,
    req: HttpRequest,
    V2Admin(admin): V2Admin,
) -> Result<HttpResponse, V2Error> {
    let n = state.db.seed_robots().await?;
    audit(
        &state,
        &req,
        admin.id,
        "admin.robots.seed",
        "robots",
        json!({"robots": n}),
    )
    .await;
    Ok(HttpResponse::Ok().json(json!({ "seeded": n })))
}

/// Label value → gauge value for a labelled gauge family.
fn gauge_map(c: &dyn Collector) -> Value {
    let mut m = Map::new();
    for fam in c.collect() {
        for metric in fam.get_metric() {
            let label = metric
                .get_label()
                .iter()
                .map(|l| l.value().to_string())
                .collect::<Vec<_>>()
                .join(",");
            m.insert(label, json!(metric.get_gauge().get_value() as i64));
        }
    }
    Value::Object(m)
}

/// `GET /admin/metrics`: live figures from the Prometheus gauges plus ledger totals.
#[utoipa::path(get, path = "/v2/admin/metrics", responses((status = 200), (status = 403)))]
pub async fn metrics(
    state: web::Data<AppState>,
    req: HttpRequest,
    V2Admin(admin): V2Admin,
) -> Result<HttpResponse, V2Error> {
    let ledger = state.db.ledger_totals().await?;
    let lateness = &METRICS.tick_lateness;
    let n = lateness.get_sample_count();
    let mean_ms = if n == 0 {
        0.0
    } else {
        lateness.get_sample_sum() / n as f64 * 1000.0
    };
    audit(
        &state,
        &req,
        admin.id,
        "admin.metrics.read",
        "metrics",
        json!({}),
    )
    .await;
    Ok(HttpResponse::Ok().json(json!({
        "connections": gauge_map(&METRICS.connections),
        "live_battles": METRICS.live_battles.get(),
        "queue_sizes": gauge_map(&METRICS.queue_size),
        "persister_lag": METRICS.persist_pending.get(),
        "tick_lateness": { "samples": n, "mean_ms": mean_ms },
        "ledger": ledger,
    })))
}

/// Routes under /v2/admin.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/users", web::get().to(users))
        .route("/admin/users/{id}/ban", web::patch().to(ban))
        .route("/admin/robots/seed", web::post().to(seed_robots))
        .route("/admin/metrics", web::get().to(metrics));
}
