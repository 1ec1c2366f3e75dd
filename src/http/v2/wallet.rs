//! /v2/auth/wallet: link a wallet by an EIP-191 `personal_sign` signature.
//!
//! The signed message is `ROBOWAR_CONNECT_<unix seconds>_<nonce>` with a nonce that
//! `GET /auth/wallet/nonce` issued to the signed-in account, accepted once, within 5 minutes of
//! its timestamp and of the nonce's issue. The spec's bare `ROBOWAR_CONNECT_<unix seconds>` is
//! refused: it names no account, so another user could replay it.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::chain::eip191::{self, SigError};
use crate::http::{errors::V2Error, extract::V2Auth, AppState};
use crate::store::wallet::{LinkError, WALLET_MESSAGE_TTL_MS};
use crate::store::{now_ms, rfc3339};

/// Prefix of every accepted message.
pub(crate) const PREFIX: &str = "ROBOWAR_CONNECT_";

/// `POST /auth/wallet/connect` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ConnectReq {
    wallet_address: String,
    signature: String,
    message: String,
}

/// Splits a message into (timestamp seconds, optional nonce).
pub(crate) fn parse_message(message: &str) -> Option<(i64, Option<&str>)> {
    let rest = message.strip_prefix(PREFIX)?;
    let (ts, nonce) = match rest.split_once('_') {
        Some((t, n)) => (t, Some(n)),
        None => (rest, None),
    };
    if ts.is_empty() || ts.len() > 12 || !ts.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if let Some(n) = nonce {
        if n.len() != 32 || !n.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
    }
    Some((ts.parse().ok()?, nonce))
}

fn bad(code: &'static str, message: impl Into<String>) -> V2Error {
    V2Error::BadRequest {
        code,
        message: message.into(),
    }
}

impl From<LinkError> for V2Error {
    fn from(e: LinkError) -> Self {
        match e {
            LinkError::BadNonce => bad("INVALID_MESSAGE", e.to_string()),
            LinkError::Replayed => bad("MESSAGE_REPLAYED", e.to_string()),
            LinkError::UserHasWallet => V2Error::Conflict {
                code: "WALLET_ALREADY_LINKED",
                message: e.to_string(),
            },
            LinkError::WalletTaken => V2Error::Conflict {
                code: "WALLET_IN_USE",
                message: e.to_string(),
            },
            LinkError::Store(s) => s.into(),
        }
    }
}

/// `GET /auth/wallet/nonce`: a nonce and the exact message to sign.
#[utoipa::path(get, path = "/v2/auth/wallet/nonce", responses((status = 200), (status = 401)))]
pub async fn nonce(
    state: web::Data<AppState>,
    V2Auth(user): V2Auth,
) -> Result<HttpResponse, V2Error> {
    let (nonce, issued) = state.db.issue_wallet_nonce(user.id).await?;
    Ok(HttpResponse::Ok().json(json!({
        "nonce": nonce,
        "message": format!("{PREFIX}{}_{nonce}", issued / 1000),
        "expires_at": rfc3339(issued + WALLET_MESSAGE_TTL_MS),
    })))
}

/// `POST /auth/wallet/connect`.
#[utoipa::path(post, path = "/v2/auth/wallet/connect", request_body = ConnectReq, responses((status = 200), (status = 400), (status = 401), (status = 409)))]
pub async fn connect(
    state: web::Data<AppState>,
    req: HttpRequest,
    V2Auth(user): V2Auth,
    body: crate::http::extract::Json<ConnectReq>,
) -> Result<HttpResponse, V2Error> {
    let claimed = eip191::parse_address(body.wallet_address.trim())
        .map_err(|e| V2Error::Validation(e.to_string()))?;
    let (ts, nonce) = parse_message(&body.message).ok_or_else(|| {
        bad(
            "INVALID_MESSAGE",
            format!("message must be {PREFIX}<unix seconds>_<nonce>"),
        )
    })?;
    // The bare spec form names no account, so a signature made for one account could be replayed
    // by another within its 5 minutes (and claim the victim's deposits). Only a nonce issued to
    // the signed-in account binds the signature to it.
    let Some(nonce) = nonce else {
        return Err(bad(
            "INVALID_MESSAGE",
            format!(
                "sign the message from GET /v2/auth/wallet/nonce ({PREFIX}<unix seconds>_<nonce>): \
                 it binds the link to your account"
            ),
        ));
    };
    if (now_ms() / 1000 - ts).abs() * 1000 > WALLET_MESSAGE_TTL_MS {
        return Err(bad(
            "INVALID_MESSAGE",
            "message timestamp is not within 5 minutes",
        ));
    }
    let signer =
        eip191::recover(body.message.as_bytes(), body.signature.trim()).map_err(|e| match e {
            SigError::Unrecoverable => bad("INVALID_SIGNATURE", e.to_string()),
            other => V2Error::Validation(other.to_string()),
        })?;
    if signer != claimed {
        return Err(bad(
            "INVALID_SIGNATURE",
            "signature was not made by wallet_address",
        ));
    }
    let address = eip191::address_hex(&claimed);
    state
        .db
        .link_wallet(user.id, &address, &body.message, Some(nonce))
        .await?;
    crate::http::cached::invalidate(
        &state,
        crate::cluster::cache::CacheKind::UserProfile,
        &[user.id],
    )
    .await;
    super::admin::audit(
        &state,
        &req,
        user.id,
        "wallet.link",
        &user.id.to_string(),
        json!({"wallet_address": address}),
    )
    .await;
    Ok(HttpResponse::Ok().json(json!({
        "wallet_address": eip191::checksum(&claimed),
        "linked": true,
    })))
}

/// Routes under /v2/auth/wallet.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/wallet/nonce", web::get().to(nonce))
        .route("/auth/wallet/connect", web::post().to(connect));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_forms() {
        assert_eq!(
            parse_message("ROBOWAR_CONNECT_1708123456"),
            Some((1708123456, None))
        );
        let n = "0123456789abcdef0123456789abcdef";
        assert_eq!(
            parse_message(&format!("ROBOWAR_CONNECT_1708123456_{n}")),
            Some((1708123456, Some(n)))
        );
        for bad in [
            "ROBOWAR_CONNECT_",
            "ROBOWAR_CONNECT_12a",
            "HELLO_1708123456",
            "ROBOWAR_CONNECT_1708123456_short",
        ] {
            assert_eq!(parse_message(bad), None, "{bad}");
        }
    }
}
