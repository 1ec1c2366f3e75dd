//! /v2/economy: rates, deposits, withdrawals, history and balances. Thin: the money moves are
//! in `src/store/economy/`, the arithmetic in `src/domain/economy.rs`.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::economy::{self as math, format_eldr, AmountError};
use crate::http::{
    errors::V2Error,
    extract::V2Auth,
    pagination::{v2_page, V2PageQuery},
    AppState,
};
use crate::store::economy::{EconError, EconTx};
use crate::store::{now_ms, rfc3339};

impl From<EconError> for V2Error {
    fn from(e: EconError) -> Self {
        match e {
            EconError::InsufficientGmo => V2Error::BadRequest {
                code: "INSUFFICIENT_GMO",
                message: e.to_string(),
            },
            EconError::HashClaimed => V2Error::Conflict {
                code: "TX_ALREADY_CLAIMED",
                message: e.to_string(),
            },
            EconError::Store(s) => s.into(),
        }
    }
}

impl From<AmountError> for V2Error {
    fn from(e: AmountError) -> Self {
        V2Error::Validation(e.to_string())
    }
}

/// The caller's linked wallet, or 400 `WALLET_NOT_LINKED`.
pub(crate) async fn require_wallet(state: &AppState, user: Uuid) -> Result<String, V2Error> {
    state
        .db
        .wallet_of(user)
        .await?
        .ok_or_else(|| V2Error::BadRequest {
            code: "WALLET_NOT_LINKED",
            message: "link a wallet first (POST /v2/auth/wallet/connect)".into(),
        })
}

/// `GET /economy/rates`.
#[utoipa::path(get, path = "/v2/economy/rates", responses((status = 200)))]
pub async fn rates(state: web::Data<AppState>) -> HttpResponse {
    let r = &state.economy.config.rates;
    HttpResponse::Ok().json(json!({
        "gmo_per_eldr": r.gmo_per_eldr,
        "min_eldr_deposit": format_eldr(r.min_eldr_deposit),
        "min_eldr_withdraw": format_eldr(r.min_eldr_withdraw),
        "max_eldr_withdraw": format_eldr(r.max_eldr_withdraw),
        "withdraw_fee_pct": math::fee_pct(r),
        "token_address": state.economy.chain.token(),
        "treasury_address": state.economy.chain.treasury(),
        "chain": state.economy.chain.name(),
    }))
}

/// `POST /economy/deposit` body. `eldr_amount` is a decimal string (a JSON number is accepted).
#[derive(Debug, Deserialize, ToSchema)]
pub struct DepositReq {
    tx_hash: String,
    #[schema(value_type = String, example = "1.0")]
    eldr_amount: Value,
}

fn amount_str(v: &Value) -> Result<String, V2Error> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(V2Error::Validation(
            "eldr_amount must be a decimal string".into(),
        )),
    }
}

/// `POST /economy/deposit`: 202 PENDING; the worker verifies the transfer and credits GMO.
#[utoipa::path(post, path = "/v2/economy/deposit", request_body = DepositReq, responses((status = 202), (status = 400), (status = 409)))]
pub async fn deposit(
    state: web::Data<AppState>,
    V2Auth(user): V2Auth,
    body: crate::http::extract::Json<DepositReq>,
) -> Result<HttpResponse, V2Error> {
    let hash = body.tx_hash.trim().to_ascii_lowercase();
    let hex_ok = hash
        .strip_prefix("0x")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    if !hex_ok {
        return Err(V2Error::Validation(
            "tx_hash must be 0x followed by 64 hex digits".into(),
        ));
    }
    let nano = math::parse_eldr(&amount_str(&body.eldr_amount)?)?;
    let gmo = math::quote_deposit(&state.economy.config.rates, nano)?;
    let wallet = require_wallet(&state, user.id).await?;
    let (row, _) = state
        .db
        .create_deposit(user.id, &hash, &wallet, nano, gmo)
        .await?;
    state.economy.kick();
    Ok(HttpResponse::Accepted().json(json!({
        "log_id": row.id.to_string(),
        "status": row.status,
        "tx_hash": row.tx_hash,
        "eldr_amount": format_eldr(row.eldr_amount),
        "gmo_expected": row.gmo_amount,
    })))
}

/// `POST /economy/withdraw` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct WithdrawReq {
    gmo_amount: i64,
}

/// `POST /economy/withdraw`: GMO held at once, ELDR sent by the chain adapter.
#[utoipa::path(post, path = "/v2/economy/withdraw", request_body = WithdrawReq, responses((status = 202), (status = 400)))]
pub async fn withdraw(
    state: web::Data<AppState>,
    V2Auth(user): V2Auth,
    body: crate::http::extract::Json<WithdrawReq>,
) -> Result<HttpResponse, V2Error> {
    let q = math::quote_withdrawal(&state.economy.config.rates, body.gmo_amount)?;
    let wallet = require_wallet(&state, user.id).await?;
    let reply = |row: &EconTx| Some(withdraw_reply(row, &q));
    let row = state
        .db
        .create_withdrawal_replying(user.id, &wallet, &q, &reply)
        .await?;
    // Send at once so the response carries the tx hash; the worker retries if this fails.
    if let Err(e) = state.economy.advance(&row).await {
        tracing::warn!(error = %e, "withdrawal send deferred to the worker");
    }
    let row = state.db.econ_tx(row.id).await?.unwrap_or(row);
    state.economy.balance_updated(user.id).await;
    state.economy.kick();
    Ok(HttpResponse::Accepted().json(withdraw_reply(&row, &q)))
}

/// The 202 body of a withdrawal (also stored as its idempotent reply when it commits).
fn withdraw_reply(row: &EconTx, q: &math::WithdrawQuote) -> Value {
    json!({
        "log_id": row.id.to_string(),
        "status": row.status,
        "tx_hash": row.tx_hash,
        "gmo_amount": q.gmo_amount,
        "eldr_amount": format_eldr(q.eldr_amount),
        "fee_eldr": format_eldr(q.fee_eldr),
        "reason": row.reason,
    })
}

/// `GET /economy/transactions` query.
#[derive(Debug, Deserialize)]
pub struct TxQuery {
    #[serde(rename = "type")]
    kind: Option<String>,
    status: Option<String>,
    limit: Option<u32>,
    offset: Option<u32>,
}

/// `GET /economy/transactions`: newest first, offset pagination.
#[utoipa::path(get, path = "/v2/economy/transactions", responses((status = 200), (status = 400)))]
pub async fn transactions(
    state: web::Data<AppState>,
    V2Auth(user): V2Auth,
    q: web::Query<TxQuery>,
) -> Result<HttpResponse, V2Error> {
    let page = V2PageQuery {
        limit: q.limit,
        offset: q.offset,
    }
    .parse()?;
    let kind = q.kind.as_deref().map(str::to_ascii_uppercase);
    if let Some(k) = &kind {
        if !["DEPOSIT", "WITHDRAW", "MINT"].contains(&k.as_str()) {
            return Err(V2Error::Validation(
                "type must be DEPOSIT, WITHDRAW or MINT".into(),
            ));
        }
    }
    let status = q.status.as_deref().map(str::to_ascii_uppercase);
    if let Some(s) = &status {
        if !["PENDING", "SENT", "CONFIRMED", "FAILED"].contains(&s.as_str()) {
            return Err(V2Error::Validation(
                "status must be PENDING, SENT, CONFIRMED or FAILED".into(),
            ));
        }
    }
    let (rows, total) = state
        .db
        .econ_list(
            user.id,
            kind.as_deref(),
            status.as_deref(),
            i64::from(page.limit),
            i64::from(page.offset),
        )
        .await?;
    let data: Vec<Value> = rows.iter().map(|r| r.to_json()).collect();
    Ok(HttpResponse::Ok().json(v2_page(data, total, page)))
}

/// `GET /economy/balance`: off-chain balances and the linked wallet's on-chain ELDR.
#[utoipa::path(get, path = "/v2/economy/balance", responses((status = 200), (status = 401)))]
pub async fn balance(
    state: web::Data<AppState>,
    V2Auth(user): V2Auth,
) -> Result<HttpResponse, V2Error> {
    let (gmo, eldr) = state.db.balances(user.id).await?;
    let wallet = state.db.wallet_of(user.id).await?;
    let onchain = match &wallet {
        Some(w) => match state.economy.chain.token_balance(w).await {
            Ok(b) => Some(format_eldr(b)),
            Err(e) => {
                tracing::warn!(error = %e, "on-chain balance unavailable");
                None
            }
        },
        None => None,
    };
    Ok(HttpResponse::Ok().json(json!({
        "gmo_balance": gmo,
        "eldr_balance_offchain": format_eldr(eldr),
        "eldr_balance_onchain": onchain,
        "wallet_address": wallet,
        "synced_at": rfc3339(now_ms()),
    })))
}

/// Routes under /v2/economy.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/economy/rates", web::get().to(rates))
        .route("/economy/deposit", web::post().to(deposit))
        .route("/economy/withdraw", web::post().to(withdraw))
        .route("/economy/transactions", web::get().to(transactions))
        .route("/economy/balance", web::get().to(balance));
}
