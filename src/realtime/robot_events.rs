//! Socket.IO events of the robot game (spec "WebSocket Events"). Each handler parses its
//! payload once; a bad payload gets an `error {code, message}` and the socket stays up.

use std::num::NonZeroU32;
use std::sync::{Arc, OnceLock};

use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde_json::{json, Value};
use socketioxide::extract::{SocketRef, State, TryData};
use uuid::Uuid;

use super::sio::{socket_user, SioAuth, TokenExpiry};
use crate::actors::battle::{Emote, JoinRoom, Ready};
use crate::actors::game::{enqueue, leave_queue, Game, GameError, QueueRequest};
use crate::actors::session::{Connected as SessionConnected, Disconnected, Session};
use crate::auth::AuthUser;
use crate::auth::GUEST_MESSAGE;

fn err(s: &SocketRef, code: &str, message: impl Into<String>) {
    let _ = s.emit("error", &json!({ "code": code, "message": message.into() }));
}

/// The socket's user when it may act: its token has not expired (see `sio::acting_user`) and
/// it is not a read-only guest (which gets `error {code: FORBIDDEN}`).
fn acting_user(s: &SocketRef) -> Option<AuthUser> {
    let user = super::sio::acting_user(s)?;
    if user.is_guest() {
        err(s, "FORBIDDEN", GUEST_MESSAGE);
        return None;
    }
    Some(user)
}

fn emote_limiter() -> &'static DefaultKeyedRateLimiter<Uuid> {
    static L: OnceLock<DefaultKeyedRateLimiter<Uuid>> = OnceLock::new();
    L.get_or_init(|| {
        let burst = NonZeroU32::new(3).unwrap_or(NonZeroU32::MIN);
        RateLimiter::keyed(Quota::per_second(NonZeroU32::MIN).allow_burst(burst))
    })
}

/// `battle:join`/`spectate:join` of one socket: a burst of 3, then one every 2 s.
#[derive(Clone)]
struct JoinLimiter(Arc<DefaultDirectRateLimiter>);

impl JoinLimiter {
    fn new() -> Self {
        let burst = NonZeroU32::new(3).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(std::time::Duration::from_secs(2))
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst);
        Self(Arc::new(RateLimiter::direct(quota)))
    }
}

fn game(ctx: &SioAuth) -> Option<Arc<Game>> {
    ctx.game.get().cloned()
}

/// Parses `{battle_id}` (and optional `since_tick`) payloads of `battle:*` and `spectate:*`.
pub fn battle_ref(
    d: &Result<Value, impl std::fmt::Display>,
) -> Result<(Uuid, Option<u32>), String> {
    let v = d
        .as_ref()
        .map_err(|e| format!("payload must be a JSON object: {e}"))?;
    let id = super::sio::uuid_in(v, "battle_id").ok_or("battle_id (uuid string) is required")?;
    let since = match v.get("since_tick") {
        None | Some(Value::Null) => None,
        Some(n) => Some(
            n.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or("since_tick must be a whole number ≥ 0")?,
        ),
    };
    Ok((id, since))
}

async fn join_battle(s: SocketRef, d: Result<Value, impl std::fmt::Display>, ctx: SioAuth) {
    // Watching is open to guests; an expired token still ends here.
    if super::sio::acting_user(&s).is_none() {
        return;
    }
    let (id, since) = match battle_ref(&d) {
        Ok(x) => x,
        Err(m) => return err(&s, "VALIDATION_ERROR", m),
    };
    if let Some(JoinLimiter(l)) = s.extensions.get::<JoinLimiter>() {
        if l.check().is_err() {
            return err(
                &s,
                "RATE_LIMITED",
                "too many joins on this socket; wait a moment",
            );
        }
    }
    let Some(game) = game(&ctx) else { return };
    match game.live_battle(id) {
        Some(addr) => {
            if addr
                .send(JoinRoom {
                    socket: s.clone(),
                    since_tick: since,
                })
                .await
                .is_err()
            {
                err(&s, "NOT_FOUND", "battle has ended");
            }
        }
        None => err(
            &s,
            "NOT_FOUND",
            "no live battle with that id (see GET /v2/battles/:id/replay)",
        ),
    }
}

/// Registers the game's handlers on a freshly connected socket.
pub fn register(s: &SocketRef) {
    s.extensions.insert(JoinLimiter::new());
    s.on(
        "battle:join",
        |s: SocketRef, TryData(d): TryData<Value>, State(ctx): State<SioAuth>| async move {
            join_battle(s, d, ctx).await
        },
    );
    s.on(
        "spectate:join",
        |s: SocketRef, TryData(d): TryData<Value>, State(ctx): State<SioAuth>| async move {
            join_battle(s, d, ctx).await
        },
    );
    for ev in ["battle:leave", "spectate:leave"] {
        s.on(ev, |s: SocketRef, TryData(d): TryData<Value>| async move {
            match battle_ref(&d) {
                Ok((id, _)) => s.leave(format!("battle:{id}")),
                Err(m) => err(&s, "VALIDATION_ERROR", m),
            }
        });
    }
    s.on(
        "battle:ready",
        |s: SocketRef, TryData(d): TryData<Value>, State(ctx): State<SioAuth>| async move {
            let Some(user) = acting_user(&s) else { return };
            let (id, _) = match battle_ref(&d) {
                Ok(x) => x,
                Err(m) => return err(&s, "VALIDATION_ERROR", m),
            };
            let Some(addr) = game(&ctx).and_then(|g| g.live_battle(id)) else {
                return err(&s, "NOT_FOUND", "no live battle with that id");
            };
            match addr.send(Ready(user.id)).await {
                Ok(Ok(())) => {}
                Ok(Err(m)) => err(&s, "FORBIDDEN", m),
                Err(_) => err(&s, "NOT_FOUND", "battle has ended"),
            }
        },
    );
    s.on(
        "battle:emote",
        |s: SocketRef, TryData(d): TryData<Value>, State(ctx): State<SioAuth>| async move {
            let Some(user) = acting_user(&s) else { return };
            let (id, _) = match battle_ref(&d) {
                Ok(x) => x,
                Err(m) => return err(&s, "VALIDATION_ERROR", m),
            };
            let emote = d
                .as_ref()
                .ok()
                .and_then(|v| v.get("emote_id"))
                .and_then(Value::as_str)
                .map(str::to_string);
            let Some(emote) = emote.filter(|e| {
                !e.is_empty()
                    && e.len() <= 32
                    && e.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            }) else {
                return err(
                    &s,
                    "VALIDATION_ERROR",
                    "emote_id must be 1-32 characters [A-Za-z0-9_-]",
                );
            };
            if emote_limiter().check_key(&user.id).is_err() {
                return err(&s, "RATE_LIMITED", "too many emotes; wait a second");
            }
            let Some(addr) = game(&ctx).and_then(|g| g.live_battle(id)) else {
                return err(&s, "NOT_FOUND", "no live battle with that id");
            };
            match addr
                .send(Emote {
                    user: user.id,
                    emote_id: emote,
                })
                .await
            {
                Ok(Ok(())) => {}
                Ok(Err(m)) => err(&s, "FORBIDDEN", m),
                Err(_) => err(&s, "NOT_FOUND", "battle has ended"),
            }
        },
    );
    s.on("queue:join", |s: SocketRef, TryData(d): TryData<Value>, State(ctx): State<SioAuth>| async move {
        let Some(user) = acting_user(&s) else { return };
        let Some(game) = game(&ctx) else { return };
        let req = match d.map_err(|e| GameError::Validation(e.to_string())).and_then(|v| QueueRequest::parse(&v)) {
            Ok(r) => r,
            Err(e) => return err(&s, e.code(), e.to_string()),
        };
        match enqueue(&game, user.id, &req).await {
            Ok((queue_id, wait)) => {
                let _ = s.emit("queue:joined", &json!({ "queue_id": queue_id, "estimated_wait_s": wait, "mode": req.mode.as_str() }));
            }
            Err(e) => err(&s, e.code(), e.to_string()),
        }
    });
    s.on(
        "queue:leave",
        |s: SocketRef, State(ctx): State<SioAuth>| async move {
            let Some(user) = acting_user(&s) else { return };
            if let Some(game) = game(&ctx) {
                leave_queue(&game, user.id).await;
            }
        },
    );
}

/// Called when a socket connects: its user's session counts it and disconnects it when its
/// token expires.
pub fn connected(s: &SocketRef, ctx: &SioAuth) {
    // A guest has no account and nothing to queue: no session for it.
    let user = socket_user(s).filter(|u| !u.is_guest());
    if let (Some(user), Some(game)) = (user, game(ctx)) {
        let expires_at_ms = s.extensions.get::<TokenExpiry>().map_or(i64::MAX, |e| e.0);
        let msg = SessionConnected {
            sid: s.id,
            expires_at_ms,
        };
        let _ = Session::of(&game, user.id).try_send(msg);
    }
}

/// Called when a socket goes: the session starts the queue grace period when it was the
/// user's last socket.
pub async fn disconnected(s: SocketRef, ctx: SioAuth) {
    let (Some(user), Some(game)) = (socket_user(&s), game(&ctx)) else {
        return;
    };
    if let Some(session) = game.session_of(user.id) {
        let _ = session.send(Disconnected { sid: s.id }).await;
    }
}
