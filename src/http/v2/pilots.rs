//! /v2 pilots: list, mint (GMO price + gas, ERC-721 through the chain adapter), detail with
//! ERC-721 metadata.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use super::economy::require_wallet;
use crate::http::{
    errors::V2Error,
    extract::V2Auth,
    pagination::{v2_slice, V2PageQuery},
    AppState,
};
use crate::store::pilots::MintRequest;

/// `POST /pilots/mint` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MintReq {
    name: String,
    sprite_key: String,
}

/// `GET /users/me/pilots`.
#[utoipa::path(get, path = "/v2/users/me/pilots", responses((status = 200), (status = 401)))]
pub async fn mine(
    state: web::Data<AppState>,
    V2Auth(user): V2Auth,
    q: web::Query<V2PageQuery>,
) -> Result<HttpResponse, V2Error> {
    let page = q.parse()?;
    let contract = state.economy.chain.pilot_contract().to_string();
    let data: Vec<Value> = state
        .db
        .pilots_of(user.id)
        .await?
        .iter()
        .map(|p| p.to_json(&contract))
        .collect();
    Ok(HttpResponse::Ok().json(v2_slice(data, page)))
}

fn check_fields(m: &MintReq) -> Result<(), V2Error> {
    let name = m.name.trim();
    if name.is_empty() || name.chars().count() > 32 {
        return Err(V2Error::Validation("name: 1 to 32 characters".into()));
    }
    let key_ok = !m.sprite_key.is_empty()
        && m.sprite_key.len() <= 64
        && m.sprite_key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !key_ok {
        return Err(V2Error::Validation(
            "sprite_key: 1 to 64 of a-z, 0-9, _ and -".into(),
        ));
    }
    Ok(())
}

/// `POST /pilots/mint`: 202 with the mint tx hash; the pilot flies once the mint confirms.
#[utoipa::path(post, path = "/v2/pilots/mint", request_body = MintReq, responses((status = 202), (status = 400)))]
pub async fn mint(
    state: web::Data<AppState>,
    V2Auth(user): V2Auth,
    body: crate::http::extract::Json<MintReq>,
) -> Result<HttpResponse, V2Error> {
    check_fields(&body)?;
    let wallet = require_wallet(&state, user.id).await?;
    let cfg = &state.economy.config;
    let (pilot, row) = state
        .db
        .mint_pilot(&MintRequest {
            user: user.id,
            wallet: &wallet,
            name: body.name.trim(),
            sprite_key: &body.sprite_key,
            price: cfg.mint_gmo,
            gas: cfg.mint_gas_gmo,
        })
        .await?;
    if let Err(e) = state.economy.advance(&row).await {
        tracing::warn!(error = %e, "mint deferred to the worker");
    }
    let row = state.db.econ_tx(row.id).await?.unwrap_or(row);
    state.economy.balance_updated(user.id).await;
    state.economy.kick();
    let status = if row.status == "FAILED" {
        "FAILED"
    } else {
        "PENDING"
    };
    Ok(HttpResponse::Accepted().json(json!({
        "pilot_id": pilot.id.to_string(),
        "log_id": row.id.to_string(),
        "tx_hash": row.tx_hash,
        "status": status,
        "gmo_cost": cfg.mint_gmo,
        "gas_fee_gmo": cfg.mint_gas_gmo,
        "bonus": pilot.stats,
    })))
}

/// `GET /pilots/{id}`: public detail with ERC-721 `metadata`.
#[utoipa::path(get, path = "/v2/pilots/{id}", responses((status = 200), (status = 404)))]
pub(crate) async fn detail(
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, V2Error> {
    let p = state
        .db
        .pilot(*id)
        .await?
        .ok_or_else(|| V2Error::NotFound("pilot".into()))?;
    Ok(HttpResponse::Ok().json(p.to_public_json(state.economy.chain.pilot_contract())))
}

/// `GET /pilots/{id}/metadata`: the bare ERC-721 metadata JSON (a `tokenURI` target).
#[utoipa::path(get, path = "/v2/pilots/{id}/metadata", responses((status = 200), (status = 404)))]
pub async fn metadata(
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, V2Error> {
    let p = state
        .db
        .pilot(*id)
        .await?
        .ok_or_else(|| V2Error::NotFound("pilot".into()))?;
    Ok(HttpResponse::Ok().json(p.metadata()))
}

/// Pilot routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/users/me/pilots", web::get().to(mine))
        // A resource of its own, so another method is 405 (not `GET /pilots/{id}`).
        .service(web::resource("/pilots/mint").route(web::post().to(mint)))
        .route("/pilots/{id}", web::get().to(detail))
        .route("/pilots/{id}/metadata", web::get().to(metadata));
}
