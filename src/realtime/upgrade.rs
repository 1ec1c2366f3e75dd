//! actix-http's upgrade hook: every `Upgrade:` request lands here, bypassing the App.
//! Auth, limits and routing for upgrades therefore live here too.

use actix_codec::Framed;
use actix_http::{body::BodySize, h1, ws, HttpMessage, Request, Response, StatusCode};
use futures_util::SinkExt;
use serde_json::json;
use tokio::net::TcpStream;
use uuid::Uuid;

use crate::auth::{standing::StandingError, TokenError};
use crate::realtime::{
    admission::ClientIp,
    prefixed::PrefixedIo,
    sio::{is_handshake, SioEntry, SIO_PATH},
    table_ws::TableHub,
};

/// Why an upgrade failed after the handshake began (logged by actix).
#[derive(Debug, thiserror::Error)]
pub enum UpgradeError {
    /// Socket write failed.
    #[error("io: {0}")]
    Io(String),
}

/// What the upgrade hook reads: the Socket.IO entry, token keys, account standing, the store
/// (does a battle exist) and the raw WebSocket hub. The composition root builds it.
#[derive(Clone)]
pub struct UpgradeDeps {
    /// Socket.IO entry: admission and upgraded streams.
    pub sio: std::sync::Arc<dyn SioEntry>,
    /// JWT keys.
    pub keys: crate::auth::JwtKeys,
    /// Current role and ban state of accounts.
    pub standing: std::sync::Arc<crate::auth::standing::Standing>,
    /// Database.
    pub db: crate::store::Db,
    /// Raw /v1 WebSocket fan-out.
    pub(crate) hub: std::sync::Arc<TableHub>,
}

/// Routes one upgrade request.
pub async fn handle(
    state: UpgradeDeps,
    req: Request,
    framed: Framed<TcpStream, h1::Codec>,
) -> Result<(), UpgradeError> {
    let path = req.path().to_string();
    let rid = RequestId::of(&req);
    if path == SIO_PATH || path.starts_with("/v2/ws/") {
        return socketio(state, req, framed, &rid).await;
    }
    if let Some(rest) = path.strip_prefix("/v1/ws/battles/") {
        return table(state, req, framed, rest.trim_end_matches('/'), &rid).await;
    }
    reply(
        framed,
        &rid,
        StatusCode::NOT_FOUND,
        v1_error(&rid, "NOT_FOUND", "no websocket here"),
    )
    .await
}

/// The request id of an upgrade: a sane incoming `X-Request-Id`, else a new one (the same
/// rule as the HTTP middleware), sent back on every refusal.
struct RequestId(String);

impl RequestId {
    fn of(req: &Request) -> Self {
        let incoming = req
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()));
        Self(match incoming {
            Some(v) => v.to_string(),
            None => format!("req_{}", Uuid::new_v4().simple()),
        })
    }
}

async fn reply(
    mut framed: Framed<TcpStream, h1::Codec>,
    rid: &RequestId,
    status: StatusCode,
    body: serde_json::Value,
) -> Result<(), UpgradeError> {
    let body = bytes::Bytes::from(body.to_string());
    let mut res = Response::build(status)
        .content_type("application/json")
        .insert_header(("connection", "close"))
        .insert_header(("x-request-id", rid.0.as_str()))
        .finish()
        .drop_body();
    res.head_mut()
        .set_connection_type(actix_http::ConnectionType::Close);
    let io = |e: std::io::Error| UpgradeError::Io(e.to_string());
    framed
        .send((res, BodySize::Sized(body.len() as u64)).into())
        .await
        .map_err(io)?;
    framed
        .send(h1::Message::Chunk(Some(body)))
        .await
        .map_err(io)?;
    framed.send(h1::Message::Chunk(None)).await.map_err(io)?;
    Ok(())
}

fn v1_error(rid: &RequestId, code: &str, message: &str) -> serde_json::Value {
    json!({ "error": { "code": code, "message": message, "details": {} },
            "timestamp": crate::store::rfc3339(crate::store::now_ms()), "request_id": rid.0 })
}

async fn socketio(
    state: UpgradeDeps,
    req: Request,
    mut framed: Framed<TcpStream, h1::Codec>,
    rid: &RequestId,
) -> Result<(), UpgradeError> {
    let ip = framed.io_ref().peer_addr().ok().map(|a| a.ip());
    if is_handshake(req.uri().query()) && !state.sio.admission().handshake(ip) {
        return reply(
            framed,
            rid,
            StatusCode::TOO_MANY_REQUESTS,
            json!({"error": "RATE_LIMITED", "message": "too many Socket.IO handshakes from this address"}),
        )
        .await;
    }
    let res = match ws::handshake(req.head()) {
        Ok(mut b) => b.finish().drop_body(),
        Err(e) => {
            return reply(
                framed,
                rid,
                StatusCode::BAD_REQUEST,
                json!({"error": "VALIDATION_ERROR", "message": e.to_string()}),
            )
            .await
        }
    };
    framed
        .send((res, BodySize::None).into())
        .await
        .map_err(|e| UpgradeError::Io(e.to_string()))?;
    let parts = framed.into_parts();
    let mut b = http::Request::builder()
        .method("GET")
        .uri(req.uri().to_string());
    for (k, v) in req.headers() {
        b = b.header(k.as_str(), v.as_bytes());
    }
    if let Ok(mut hreq) = b.body(()) {
        if let Some(ip) = ip {
            hreq.extensions_mut().insert(ClientIp(ip));
        }
        state
            .sio
            .upgraded(PrefixedIo::new(parts.read_buf, parts.io), hreq);
    }
    Ok(())
}

fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query.split('&').find_map(|kv| {
        kv.split_once('=')
            .filter(|(k, _)| *k == name)
            .map(|(_, v)| v)
    })
}

async fn table(
    state: UpgradeDeps,
    req: Request,
    mut framed: Framed<TcpStream, h1::Codec>,
    id: &str,
    rid: &RequestId,
) -> Result<(), UpgradeError> {
    let token = req
        .uri()
        .query()
        .and_then(|q| query_param(q, "token"))
        .map(str::to_string)
        .or_else(|| crate::auth::bearer(req.headers()).map(str::to_string));
    let (user, exp) = match token.as_deref().map(|t| state.keys.verify_until(t)) {
        Some(Ok(u)) => u,
        Some(Err(e)) => {
            return reply(
                framed,
                rid,
                StatusCode::UNAUTHORIZED,
                v1_error(rid, "UNAUTHORIZED", &e.to_string()),
            )
            .await
        }
        None => {
            return reply(
                framed,
                rid,
                StatusCode::UNAUTHORIZED,
                v1_error(rid, "UNAUTHORIZED", "missing token"),
            )
            .await
        }
    };
    let refused = match state.standing.check(user).await {
        Ok(_) => None,
        Err(StandingError::Banned) => Some((
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "account is banned".to_string(),
        )),
        Err(StandingError::Unknown) => Some((
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            TokenError::Invalid.to_string(),
        )),
        Err(StandingError::Store(e)) => {
            tracing::error!(error = %e, "account standing lookup failed");
            Some((
                StatusCode::SERVICE_UNAVAILABLE,
                "SERVICE_UNAVAILABLE",
                "database unavailable".to_string(),
            ))
        }
    };
    if let Some((status, code, message)) = refused {
        return reply(framed, rid, status, v1_error(rid, code, &message)).await;
    }
    let Ok(battle) = Uuid::parse_str(id) else {
        return reply(
            framed,
            rid,
            StatusCode::NOT_FOUND,
            v1_error(rid, "BATTLE_NOT_FOUND", "battle not found"),
        )
        .await;
    };
    match crate::store::tracker::battle_exists(&state.db, battle).await {
        Ok(true) => {}
        Ok(false) => {
            return reply(
                framed,
                rid,
                StatusCode::NOT_FOUND,
                v1_error(rid, "BATTLE_NOT_FOUND", "battle not found"),
            )
            .await
        }
        Err(e) => {
            tracing::error!(error = %e, "battle lookup failed");
            return reply(
                framed,
                rid,
                StatusCode::SERVICE_UNAVAILABLE,
                v1_error(rid, "SERVICE_UNAVAILABLE", "database unavailable"),
            )
            .await;
        }
    }
    let Some(slot) = state.hub.acquire(user.id).await else {
        return reply(
            framed,
            rid,
            StatusCode::TOO_MANY_REQUESTS,
            v1_error(
                rid,
                "RATE_LIMITED",
                "too many WebSocket connections for this user",
            ),
        )
        .await;
    };
    let res = match ws::handshake(req.head()) {
        Ok(mut b) => b.finish().drop_body(),
        Err(e) => {
            return reply(
                framed,
                rid,
                StatusCode::BAD_REQUEST,
                v1_error(rid, "VALIDATION_ERROR", &e.to_string()),
            )
            .await
        }
    };
    framed
        .send((res, BodySize::None).into())
        .await
        .map_err(|e| UpgradeError::Io(e.to_string()))?;
    let framed = framed.replace_codec(ws::Codec::new());
    // Own task: the connection outlives this hook, and shutdown reaches it through the hub.
    let expires = crate::realtime::table_ws::deadline_of(exp);
    actix_rt::spawn(
        state
            .hub
            .clone()
            .run_session(battle, user.id, slot, expires, framed),
    );
    Ok(())
}

impl From<UpgradeError> for Response<actix_http::body::BoxBody> {
    fn from(e: UpgradeError) -> Self {
        Response::build(StatusCode::INTERNAL_SERVER_ERROR)
            .body(e.to_string())
            .map_into_boxed_body()
    }
}
