//! Socket.IO v4 at engine.io path `/v2/ws`, served by socketioxide.
//!
//! socketioxide is a tower/hyper service and cannot mount inside actix-web, so: polling
//! requests are handed over by [`polling`] (actix request → `http` request → the tower
//! service), and websocket upgrades arrive already switched from the upgrade hook through
//! [`SioEntry::upgraded`].

use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use futures_util::future::BoxFuture;
use http_body_util::Full;
use serde_json::{json, Value};
use socketioxide::{
    adapter::{Adapter, LocalAdapter},
    extract::{SocketRef, State, TryData},
    handler::ConnectHandler,
    SocketIo, SocketIoBuilder,
};
use socketioxide_redis::{CustomRedisAdapter, RedisAdapterConfig, RedisAdapterCtr};
use tokio::net::TcpStream;

use crate::actors::rooms::Rooms;
use crate::auth::{
    standing::{Standing, StandingError},
    AuthUser, JwtKeys, TokenError,
};
use crate::cluster::Cluster;
use crate::metrics::METRICS;
use crate::realtime::admission::{Admission, Admitted, ClientIp, Refusal};
use crate::realtime::prefixed::PrefixedIo;
use crate::realtime::sio_driver::ManagedDriver;
use crate::realtime::sio_node::SioNode;

/// The engine.io path.
pub(crate) const SIO_PATH: &str = "/v2/ws";

/// The Socket.IO server as the rest of the process sees it.
pub trait SioEntry: Rooms {
    /// Serves one polling request.
    fn polling(&self, req: http::Request<Full<Bytes>>)
        -> BoxFuture<'static, http::Response<Bytes>>;
    /// Takes over a websocket whose 101 was already written.
    fn upgraded(&self, io: PrefixedIo<TcpStream>, req: http::Request<()>);
    /// Disconnects every socket of this node (shutdown).
    fn close(&self) -> BoxFuture<'static, ()>;
    /// Admission control: socket caps and the handshake rate.
    fn admission(&self) -> &Admission;
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

fn query_token<A: Adapter>(s: &SocketRef<A>) -> Option<String> {
    let q = s.req_parts().uri.query()?;
    q.split('&')
        .find_map(|kv| kv.strip_prefix("token="))
        .map(|t| t.to_string())
}

/// Handshake middleware: token from `?token=` or `auth.token`; refuses bad tokens and bans.
async fn authenticate<A: Adapter>(
    s: SocketRef<A>,
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
        .await
        .map_err(HandshakeError::Refused)?;
    s.extensions.insert(admitted);
    s.extensions.insert(TokenExpiry(exp.saturating_mul(1000)));
    s.extensions.insert(user);
    Ok(())
}

/// The signed-in user of a socket (set by the handshake).
pub(crate) fn socket_user<A: Adapter>(s: &SocketRef<A>) -> Option<AuthUser> {
    s.extensions.get::<AuthUser>()
}

/// The socket's user while their token is valid. Past its expiry the socket gets an `error`
/// and is disconnected (its session also does so on a timer), and nothing is done for it.
pub(crate) fn acting_user<A: Adapter>(s: &SocketRef<A>) -> Option<AuthUser> {
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

async fn on_connect<A: Adapter>(s: SocketRef<A>, State(ctx): State<SioAuth>) {
    let Some(user) = socket_user(&s) else { return };
    METRICS.connections.with_label_values(&["socketio"]).inc();
    // `sid:{sid}` lets any node address this socket through the adapter (a battle owned by
    // another node joins it to its room and sends it the catch-up batch).
    s.join([format!("user:{}", user.id), format!("sid:{}", s.id)]);
    s.on("ping", |s: SocketRef<A>| async move {
        let _ = s.emit("pong", &json!({}));
    });
    // Table displays may follow a tracker battle over Socket.IO too (room `table:{id}`).
    s.on("table:join", |s: SocketRef<A>, TryData(d): TryData<Value>| async move {
        match uuid_field(d, "battle_id") {
            Some(id) => s.join(format!("table:{id}")),
            None => {
                let _ = s.emit("error", &json!({"code": "VALIDATION_ERROR", "message": "table:join needs {battle_id: uuid}"}));
            }
        }
    });
    s.on(
        "table:leave",
        |s: SocketRef<A>, TryData(d): TryData<Value>| async move {
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
        |s: SocketRef<A>, TryData(d): TryData<Value>| async move {
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
        |s: SocketRef<A>, TryData(d): TryData<Value>| async move {
            if let Some(id) = uuid_field(d, "tournament_id") {
                s.leave(format!("tournament:{id}"));
            }
        },
    );
    s.on_disconnect(|s: SocketRef<A>, State(ctx): State<SioAuth>| async move {
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

/// Why the Socket.IO server could not start (multi-node mode).
#[derive(Debug, thiserror::Error)]
pub enum SioBuildError {
    /// Redis refused the adapter's connection.
    #[error("socket.io adapter: {0}")]
    Redis(#[from] redis::RedisError),
    /// The adapter could not subscribe to its channels.
    #[error("socket.io adapter: {0}")]
    Init(String),
}

/// Builds the Socket.IO server: over the Redis adapter when `cluster` is set (rooms and
/// emits span the nodes), else over socketioxide's local adapter.
pub async fn build(
    auth: SioAuth,
    timing: SioTiming,
    cluster: Option<Arc<Cluster>>,
) -> Result<Arc<dyn SioEntry>, SioBuildError> {
    match cluster {
        None => Ok(local(auth, timing)),
        Some(c) => clustered(auth, timing, &c).await,
    }
}

fn builder(timing: SioTiming) -> SocketIoBuilder {
    SocketIo::builder()
        .req_path(SIO_PATH)
        .ping_interval(timing.ping.0)
        .ping_timeout(timing.ping.1)
        .connect_timeout(timing.connect_timeout)
}

/// The single-node server (socketioxide's local adapter, emits polled inline).
pub fn local(auth: SioAuth, timing: SioTiming) -> Arc<dyn SioEntry> {
    let admission = auth.admission.clone();
    let (svc, io) = builder(timing).with_state(auth).build_svc();
    io.ns(
        "/",
        on_connect::<LocalAdapter>.with(authenticate::<LocalAdapter>),
    );
    Arc::new(SioNode { svc, io, admission })
}

/// A cluster node's server: the Redis adapter on its own RESP3 connection (reconnecting,
/// `sio_driver`), its channels under
/// the cluster prefix (pub/sub ignores the Redis database number, so clusters sharing one
/// Redis must differ by prefix).
async fn clustered(
    auth: SioAuth,
    timing: SioTiming,
    cluster: &Cluster,
) -> Result<Arc<dyn SioEntry>, SioBuildError> {
    let admission = auth.admission.clone();
    let driver = ManagedDriver::connect(&cluster.settings().url).await?;
    let config = RedisAdapterConfig::new()
        .with_prefix(format!("{}:sio", cluster.prefix()))
        // Bounds fetch_sockets (presence) when a node is slow or just died.
        .with_request_timeout(std::time::Duration::from_secs(2))
        // Every cross-node emit passes this queue; the default 1,024 is ~0.1 s of a busy
        // node's broadcasts, so one scheduling hiccup on a loaded box dropped ticks. Memory
        // is only taken while a backlog exists.
        .with_stream_buffer(1 << 16);
    let ctr = RedisAdapterCtr::new_with_driver(driver, config);
    let (svc, io) = builder(timing)
        .with_adapter::<CustomRedisAdapter<_, ManagedDriver>>(ctr)
        .with_state(auth)
        .build_svc();
    io.ns("/", on_connect.with(authenticate))
        .await
        .map_err(|e| SioBuildError::Init(e.to_string()))?;
    Ok(Arc::new(SioNode { svc, io, admission }))
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
