//! actix-http's upgrade hook: every `Upgrade:` request lands here, bypassing the App.
//! Auth, limits and routing for upgrades therefore live here too.

use actix_codec::Framed;
use actix_http::{body::BodySize, h1, ws, HttpMessage, Request, Response, StatusCode};
use futures_util::SinkExt;
use serde_json::json;
use tokio::net::TcpStream;
use uuid::Uuid;

use crate::http::AppState;
use crate::realtime::{prefixed::PrefixedIo, sio::SIO_PATH};

/// Why an upgrade failed after the handshake began (logged by actix).
#[derive(Debug, thiserror::Error)]
pub enum UpgradeError {
    /// Socket write failed.
    #[error("io: {0}")]
    Io(String),
}

/// Routes one upgrade request.
pub async fn handle(
    state: AppState,
    req: Request,
    framed: Framed<TcpStream, h1::Codec>,
) -> Result<(), UpgradeError> {
    let path = req.path().to_string();
    if path == SIO_PATH || path.starts_with("/v2/ws/") {
        return socketio(state, req, framed).await;
    }
    if let Some(rest) = path.strip_prefix("/v1/ws/battles/") {
        return table(state, req, framed, rest.trim_end_matches('/')).await;
    }
    reply(
        framed,
        StatusCode::NOT_FOUND,
        json!({"error": {"code": "NOT_FOUND", "message": "no websocket here", "details": {}}}),
    )
    .await
}

async fn reply(
    mut framed: Framed<TcpStream, h1::Codec>,
    status: StatusCode,
    body: serde_json::Value,
) -> Result<(), UpgradeError> {
    let body = bytes::Bytes::from(body.to_string());
    let mut res = Response::build(status)
        .content_type("application/json")
        .insert_header(("connection", "close"))
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

fn v1_error(code: &str, message: &str) -> serde_json::Value {
    json!({ "error": { "code": code, "message": message, "details": {} },
            "timestamp": crate::store::rfc3339(crate::store::now_ms()), "request_id": format!("req_{}", Uuid::new_v4().simple()) })
}

async fn socketio(
    state: AppState,
    req: Request,
    mut framed: Framed<TcpStream, h1::Codec>,
) -> Result<(), UpgradeError> {
    let res = match ws::handshake(req.head()) {
        Ok(mut b) => b.finish().drop_body(),
        Err(e) => {
            return reply(
                framed,
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
    if let Ok(hreq) = b.body(()) {
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
    state: AppState,
    req: Request,
    mut framed: Framed<TcpStream, h1::Codec>,
    id: &str,
) -> Result<(), UpgradeError> {
    let token = req
        .uri()
        .query()
        .and_then(|q| query_param(q, "token"))
        .map(str::to_string)
        .or_else(|| crate::http::extract::bearer(req.headers()).map(str::to_string));
    let user = match token.as_deref().map(|t| state.keys.verify(t)) {
        Some(Ok(u)) => u,
        Some(Err(e)) => {
            return reply(
                framed,
                StatusCode::UNAUTHORIZED,
                v1_error("UNAUTHORIZED", &e.to_string()),
            )
            .await
        }
        None => {
            return reply(
                framed,
                StatusCode::UNAUTHORIZED,
                v1_error("UNAUTHORIZED", "missing token"),
            )
            .await
        }
    };
    if state.bans.contains(&user.id) {
        return reply(
            framed,
            StatusCode::FORBIDDEN,
            v1_error("FORBIDDEN", "account is banned"),
        )
        .await;
    }
    let Ok(battle) = Uuid::parse_str(id) else {
        return reply(
            framed,
            StatusCode::NOT_FOUND,
            v1_error("BATTLE_NOT_FOUND", "battle not found"),
        )
        .await;
    };
    match crate::store::tracker::battle_exists(&state.db, battle).await {
        Ok(true) => {}
        Ok(false) => {
            return reply(
                framed,
                StatusCode::NOT_FOUND,
                v1_error("BATTLE_NOT_FOUND", "battle not found"),
            )
            .await
        }
        Err(e) => {
            tracing::error!(error = %e, "battle lookup failed");
            return reply(
                framed,
                StatusCode::SERVICE_UNAVAILABLE,
                v1_error("SERVICE_UNAVAILABLE", "database unavailable"),
            )
            .await;
        }
    }
    let Some(slot) = state.hub.acquire(user.id) else {
        return reply(
            framed,
            StatusCode::TOO_MANY_REQUESTS,
            v1_error(
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
                StatusCode::BAD_REQUEST,
                v1_error("VALIDATION_ERROR", &e.to_string()),
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
    actix_rt::spawn(state.hub.clone().run_session(battle, user.id, slot, framed));
    Ok(())
}

impl From<UpgradeError> for Response<actix_http::body::BoxBody> {
    fn from(e: UpgradeError) -> Self {
        Response::build(StatusCode::INTERNAL_SERVER_ERROR)
            .body(e.to_string())
            .map_into_boxed_body()
    }
}
