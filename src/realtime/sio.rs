//! Socket.IO v4 at engine.io path `/v2/ws`, served by socketioxide.
//!
//! socketioxide is a tower/hyper service and cannot mount inside actix-web, so: polling
//! requests are handed over by [`polling`] (actix request → `http` request → the tower
//! service), and websocket upgrades arrive already switched from the upgrade hook through
//! [`SioEntry::upgraded`].

use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use engineioxide::service::NotFoundService;
use futures_util::future::BoxFuture;
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};
use socketioxide::{
    extract::{SocketRef, State, TryData},
    handler::ConnectHandler,
    service::SocketIoService,
    socket::Sid,
    SocketIo,
};
use tokio::net::TcpStream;
use tower::ServiceExt;

use crate::actors::rooms::Rooms;
use crate::auth::{
    standing::{Standing, StandingError},
    AuthUser, JwtKeys, TokenError,
};
use crate::metrics::METRICS;
use crate::realtime::admission::{Admission, Admitted, ClientIp, Refusal};
use crate::realtime::prefixed::PrefixedIo;

/// The engine.io path.
pub(crate) const SIO_PATH: &str = "/v2/ws";

/// The Socket.IO server as the rest of the process sees it.
pub trait SioEntry: Rooms {
    /// Serves one polling request.
    fn polling(&self, req: http::Request<Full<Bytes>>)
        -> BoxFuture<'static, http::Response<Bytes>>;
    /// Takes over a websocket whose 101 was already written.
    fn upgraded(&self, io: PrefixedIo<TcpStream>, req: http::Request<()>);
    /// The socketioxide handle (transports only; actors emit through [`Rooms`]).
    fn io(&self) -> &SocketIo;
    /// Disconnects every socket (shutdown).
    fn close(&self) -> BoxFuture<'static, ()>;
    /// Admission control: socket caps and the handshake rate.
    fn admission(&self) -> &Admission;
}

impl Rooms for LocalSio {
    fn to_room(&self, room: String, except: Vec<String>, event: &'static str, data: Value) {
        super::emit::to_room(&self.io, room, except, event, data);
    }

    fn to_room_raw(
        &self,
        room: String,
        event: &'static str,
        data: Box<serde_json::value::RawValue>,
    ) {
        super::emit::to_room(&self.io, room, Vec::new(), event, data);
    }

    fn join_room(&self, from: String, to: String) {
        super::emit::join_room(&self.io, from, to);
    }

    fn leave_room(&self, from: String, to: String) {
        super::emit::leave_room(&self.io, from, to);
    }

    fn join_now(&self, from: String, to: String) -> BoxFuture<'static, ()> {
        let io = self.io.clone();
        Box::pin(async move {
            let _ = io.to(from).join(to).await;
        })
    }

    fn emit_now(&self, room: String, event: String, data: Value) -> BoxFuture<'static, ()> {
        let io = self.io.clone();
        Box::pin(async move {
            // `of("/")` rather than `to()`: once shutdown closed the namespace, `to()` would
            // panic in an actor still running; a gone namespace just has nobody to tell.
            if let Some(root) = io.of("/") {
                if let Err(e) = root.to(room).emit(event, &data).await {
                    tracing::debug!(error = %e, "room emit failed");
                }
            }
        })
    }

    fn disconnect(&self, room: String) -> BoxFuture<'static, ()> {
        let io = self.io.clone();
        Box::pin(async move {
            let _ = io.to(room).disconnect().await;
        })
    }

    fn close_socket(&self, sid: Sid, event: &'static str, data: Value) -> bool {
        let Some(socket) = self.io.of("/").and_then(|root| root.get_socket(sid)) else {
            return false;
        };
        let _ = socket.emit(event, &data);
        let _ = socket.disconnect();
        true
    }
}

/// Single-node Socket.IO (in-process rooms).
pub(crate) struct LocalSio {
    svc: SocketIoService<NotFoundService>,
    io: SocketIo,
    admission: Arc<Admission>,
}

impl SioEntry for LocalSio {
    fn polling(
        &self,
        req: http::Request<Full<Bytes>>,
    ) -> BoxFuture<'static, http::Response<Bytes>> {
        let svc = self.svc.clone();
        Box::pin(async move {
            match svc.oneshot(req).await {
                Ok(res) => {
                    let (parts, body) = res.into_parts();
                    let bytes = body
                        .collect()
                        .await
                        .map(|c| c.to_bytes())
                        .unwrap_or_default();
                    http::Response::from_parts(parts, bytes)
                }
                Err(_) => {
                    let mut r = http::Response::new(Bytes::from_static(b"bad request"));
                    *r.status_mut() = http::StatusCode::BAD_REQUEST;
                    r
                }
            }
        })
    }

    fn upgraded(&self, io: PrefixedIo<TcpStream>, req: http::Request<()>) {
        use hyper::service::Service as _;
        let fut = self.svc.call((io, req));
        if let Err(e) = futures_util::FutureExt::now_or_never(fut).unwrap_or(Ok(())) {
            tracing::debug!(error = %e, "socket.io websocket refused");
        }
    }

    fn io(&self) -> &SocketIo {
        &self.io
    }

    fn close(&self) -> BoxFuture<'static, ()> {
        let io = self.io.clone();
        // Disconnect every client but keep the "/" namespace: actors still ticking during
        // shutdown emit through `io.to(..)`, which panics once the namespace is gone.
        Box::pin(async move {
            if let Some(root) = io.of("/") {
                let _ = root.disconnect().await;
            }
        })
    }

    fn admission(&self) -> &Admission {
        &self.admission
    }
}

/// What the handshake middleware needs.
#[derive(Clone)]
pub struct SioAuth {
    /// JWT keys.
    pub keys: JwtKeys,
    /// Current role and ban state of accounts.
    pub standing: Arc<Standing>,
    /// The robot game, set once it is built.
    pub game: crate::actors::game::GameCell,
    /// Socket caps.
    pub(crate) admission: Arc<Admission>,
}

/// Refusal sent as `connect_error`; the message starts with the error code.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HandshakeError {
    /// No, bad or expired token.
    #[error("UNAUTHORIZED: {0}")]
    Unauthorized(TokenError),
    /// Banned user.
    #[error("USER_BANNED: account is banned")]
    Banned,
    /// Over a socket cap.
    #[error("RATE_LIMITED: {0}")]
    Refused(Refusal),
    /// The account's standing could not be read.
    #[error("SERVICE_UNAVAILABLE: try again")]
    Unavailable,
}

/// When the socket's token expires (unix ms): the socket may not act after it, and its
/// user's session disconnects it then.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TokenExpiry(pub(crate) i64);

fn query_token(s: &SocketRef) -> Option<String> {
    let q = s.req_parts().uri.query()?;
    q.split('&')
        .find_map(|kv| kv.strip_prefix("token="))
        .map(|t| t.to_string())
}

/// Handshake middleware: token from `?token=` or `auth.token`; refuses bad tokens and bans.
async fn authenticate(
    s: SocketRef,
    TryData(auth): TryData<Value>,
    State(ctx): State<SioAuth>,
) -> Result<(), HandshakeError> {
    let token = query_token(&s)
        .or_else(|| {
            auth.ok()
                .and_then(|a| a.get("token").and_then(Value::as_str).map(str::to_string))
        })
        .ok_or(HandshakeError::Unauthorized(TokenError::Missing))?;
    let (user, exp) = ctx
        .keys
        .verify_until(&token)
        .map_err(HandshakeError::Unauthorized)?;
    let user = ctx.standing.check(user).await.map_err(|e| match e {
        StandingError::Unknown => HandshakeError::Unauthorized(TokenError::Invalid),
        StandingError::Banned => HandshakeError::Banned,
        StandingError::Store(_) => HandshakeError::Unavailable,
    })?;
    let ip = s.req_parts().extensions.get::<ClientIp>().map(|c| c.0);
    let admitted = ctx
        .admission
        .admit(user.id, ip)
        .map_err(HandshakeError::Refused)?;
    s.extensions.insert(admitted);
    s.extensions.insert(TokenExpiry(exp.saturating_mul(1000)));
    s.extensions.insert(user);
    Ok(())
}

/// The signed-in user of a socket (set by the handshake).
pub(crate) fn socket_user(s: &SocketRef) -> Option<AuthUser> {
    s.extensions.get::<AuthUser>()
}

/// The socket's user while their token is valid. Past its expiry the socket gets an `error`
/// and is disconnected (its session also does so on a timer), and nothing is done for it.
pub(crate) fn acting_user(s: &SocketRef) -> Option<AuthUser> {
    let user = socket_user(s)?;
    match s.extensions.get::<TokenExpiry>() {
        Some(TokenExpiry(exp)) if exp <= crate::store::now_ms() => {
            let _ = s.emit(
                "error",
                &json!({"code": "UNAUTHORIZED", "message": "token expired; reconnect with a fresh token"}),
            );
            let _ = s.clone().disconnect();
            None
        }
        _ => Some(user),
    }
}

async fn on_connect(s: SocketRef, State(ctx): State<SioAuth>) {
    let Some(user) = socket_user(&s) else { return };
    METRICS.connections.with_label_values(&["socketio"]).inc();
    s.join(format!("user:{}", user.id));
    s.on("ping", |s: SocketRef| async move {
        let _ = s.emit("pong", &json!({}));
    });
    // Table displays may follow a tracker battle over Socket.IO too (room `table:{id}`).
    s.on("table:join", |s: SocketRef, TryData(d): TryData<Value>| async move {
        match uuid_field(d, "battle_id") {
            Some(id) => s.join(format!("table:{id}")),
            None => {
                let _ = s.emit("error", &json!({"code": "VALIDATION_ERROR", "message": "table:join needs {battle_id: uuid}"}));
            }
        }
    });
    s.on(
        "table:leave",
        |s: SocketRef, TryData(d): TryData<Value>| async move {
            if let Some(id) = uuid_field(d, "battle_id") {
                s.leave(format!("table:{id}"));
            }
        },
    );
    crate::realtime::robot_events::register(&s);
    crate::realtime::leaderboard_events::register(&s);
    crate::realtime::robot_events::connected(&s, &ctx);
    // Tournament screens follow round clocks and results (room `tournament:{id}`).
    s.on(
        "tournament:join",
        |s: SocketRef, TryData(d): TryData<Value>| async move {
            match uuid_field(d, "tournament_id") {
                Some(id) => s.join(format!("tournament:{id}")),
                None => {
                    let _ = s.emit("error", &json!({"code": "VALIDATION_ERROR", "message": "tournament:join needs {tournament_id: uuid}"}));
                }
            }
        },
    );
    s.on(
        "tournament:leave",
        |s: SocketRef, TryData(d): TryData<Value>| async move {
            if let Some(id) = uuid_field(d, "tournament_id") {
                s.leave(format!("tournament:{id}"));
            }
        },
    );
    s.on_disconnect(|s: SocketRef, State(ctx): State<SioAuth>| async move {
        METRICS.connections.with_label_values(&["socketio"]).dec();
        // Frees the user's and address's connection slots.
        s.extensions.remove::<Admitted>();
        crate::realtime::robot_events::disconnected(s, ctx).await;
    });
}

/// The uuid string at `field` of a Socket.IO payload (the one parser of payload ids).
pub(crate) fn uuid_in(v: &Value, field: &str) -> Option<uuid::Uuid> {
    v.get(field)?
        .as_str()
        .and_then(|s| uuid::Uuid::parse_str(s).ok())
}

fn uuid_field<E>(d: Result<Value, E>, field: &str) -> Option<uuid::Uuid> {
    uuid_in(&d.ok()?, field)
}

/// Engine.io timing of the Socket.IO server.
#[derive(Debug, Clone, Copy)]
pub struct SioTiming {
    /// Ping interval and ping timeout.
    pub ping: (std::time::Duration, std::time::Duration),
    /// A session that has not completed a Socket.IO `CONNECT` within this is closed.
    pub(crate) connect_timeout: std::time::Duration,
}

/// Builds the Socket.IO server.
pub fn build(auth: SioAuth, timing: SioTiming) -> Arc<dyn SioEntry> {
    let admission = auth.admission.clone();
    let (svc, io) = SocketIo::builder()
        .req_path(SIO_PATH)
        .ping_interval(timing.ping.0)
        .ping_timeout(timing.ping.1)
        .connect_timeout(timing.connect_timeout)
        .with_state(auth)
        .build_svc();
    io.ns("/", on_connect.with(authenticate));
    Arc::new(LocalSio { svc, io, admission })
}

/// True for an engine.io request that opens a new session (it names no `sid`).
pub(crate) fn is_handshake(query: Option<&str>) -> bool {
    !query
        .unwrap_or("")
        .split('&')
        .any(|kv| kv.split('=').next() == Some("sid"))
}

/// actix handler for `/v2/ws` polling: converts and forwards to socketioxide.
pub async fn polling(sio: &dyn SioEntry, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let mut b = http::Request::builder()
        .method(req.method().as_str())
        .uri(req.uri().to_string());
    for (k, v) in req.headers() {
        b = b.header(k.as_str(), v.as_bytes());
    }
    let ip = req.peer_addr().map(|a| a.ip());
    if req.method() == actix_web::http::Method::GET
        && is_handshake(req.uri().query())
        && !sio.admission().handshake(ip)
    {
        return HttpResponse::TooManyRequests()
            .insert_header(("retry-after", "60"))
            .json(json!({"error": "RATE_LIMITED", "message": "too many Socket.IO handshakes from this address"}));
    }
    let Ok(mut hreq) = b.body(Full::new(body)) else {
        return HttpResponse::BadRequest().finish();
    };
    if let Some(ip) = ip {
        hreq.extensions_mut().insert(ClientIp(ip));
    }
    let res = sio.polling(hreq).await;
    let status = actix_web::http::StatusCode::from_u16(res.status().as_u16())
        .unwrap_or(actix_web::http::StatusCode::BAD_GATEWAY);
    let mut out = HttpResponse::build(status);
    for (k, v) in res.headers() {
        out.append_header((k.as_str(), v.as_bytes()));
    }
    out.body(res.into_body())
}
