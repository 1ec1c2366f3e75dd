//! Socket.IO events of the robot game (spec "WebSocket Events"). Each handler parses its
//! payload once; a bad payload gets an `error {code, message}` and the socket stays up.

use std::num::NonZeroU32;
use std::sync::{Arc, OnceLock};

use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde_json::{json, Value};
use socketioxide::adapter::Adapter;
use socketioxide::extract::{SocketRef, State, TryData};
use uuid::Uuid;

use super::sio::{socket_user, SioAuth, TokenExpiry};
use crate::actors::battle::{BattleCall, BattleCallError};
use crate::actors::game::{enqueue, leave_queue, Game, GameError, QueueRequest};
use crate::actors::session::{Connected as SessionConnected, Disconnected, Session};
use crate::auth::AuthUser;
use crate::auth::GUEST_MESSAGE;

fn err<A: Adapter>(s: &SocketRef<A>, code: &str, message: impl Into<String>) {
    let _ = s.emit("error", &json!({ "code": code, "message": message.into() }));
}

/// The socket's user when it may act: its token has not expired (see `sio::acting_user`) and
/// it is not a read-only guest (which gets `error {code: FORBIDDEN}`).
fn acting_user<A: Adapter>(s: &SocketRef<A>) -> Option<AuthUser> {
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

/// Answers a failed battle call with the `error` event; `missing` words a battle that is not
/// live.
fn call_error<A: Adapter>(s: &SocketRef<A>, e: BattleCallError, missing: &str) {
    match e {
        BattleCallError::NotFound => err(s, "NOT_FOUND", missing),
        BattleCallError::Forbidden(m) => err(s, "FORBIDDEN", m),
        BattleCallError::Unavailable => err(s, "SERVICE_UNAVAILABLE", e.to_string()),
    }
}

async fn join_battle<A: Adapter>(
    s: SocketRef<A>,
    d: Result<Value, impl std::fmt::Display>,
    ctx: SioAuth,
) {
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
    let call = BattleCall::Join {
        sid: s.id.to_string(),
        since_tick: since,
    };
    if let Err(e) = game.battle_call(id, call).await {
        call_error(
            &s,
            e,
            "no live battle with that id (see GET /v2/battles/:id/replay)",
        );
    }
}

async fn leave_battle<A: Adapter>(
    s: SocketRef<A>,
    d: Result<Value, impl std::fmt::Display>,
    ctx: SioAuth,
) {
    let id = match battle_ref(&d) {
        Ok((id, _)) => id,
        Err(m) => return err(&s, "VALIDATION_ERROR", m),
    };
    // Out of the room here at once, whatever the battle's state (the socket is ours).
    s.leave(format!("battle:{id}"));
    let Some(game) = game(&ctx) else { return };
    // The battle forgets what it sent this socket; an ended battle has nothing to forget.
    match game
        .battle_call(
            id,
            BattleCall::Leave {
                sid: s.id.to_string(),
            },
        )
        .await
    {
        Ok(()) | Err(BattleCallError::NotFound) => {}
        Err(e) => call_error(&s, e, ""),
    }
}

/// Registers the game's handlers on a freshly connected socket.
pub fn register<A: Adapter>(s: &SocketRef<A>) {
    s.extensions.insert(JoinLimiter::new());
    s.on(
        "battle:join",
        |s: SocketRef<A>, TryData(d): TryData<Value>, State(ctx): State<SioAuth>| async move {
            join_battle(s, d, ctx).await
        },
    );
    s.on(
        "spectate:join",
        |s: SocketRef<A>, TryData(d): TryData<Value>, State(ctx): State<SioAuth>| async move {
            join_battle(s, d, ctx).await
        },
    );
    for ev in ["battle:leave", "spectate:leave"] {
        s.on(
            ev,
            |s: SocketRef<A>, TryData(d): TryData<Value>, State(ctx): State<SioAuth>| async move {
                leave_battle(s, d, ctx).await
            },
        );
    }
    s.on(
        "battle:ready",
        |s: SocketRef<A>, TryData(d): TryData<Value>, State(ctx): State<SioAuth>| async move {
            let Some(user) = acting_user(&s) else { return };
            let (id, _) = match battle_ref(&d) {
                Ok(x) => x,
                Err(m) => return err(&s, "VALIDATION_ERROR", m),
            };
            let Some(game) = game(&ctx) else { return };
            if let Err(e) = game
                .battle_call(id, BattleCall::Ready { user: user.id })
                .await
            {
                call_error(&s, e, "no live battle with that id");
            }
        },
    );
    s.on(
        "battle:emote",
        |s: SocketRef<A>, TryData(d): TryData<Value>, State(ctx): State<SioAuth>| async move {
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
            let Some(game) = game(&ctx) else { return };
            let call = BattleCall::Emote {
                user: user.id,
                emote_id: emote,
            };
            if let Err(e) = game.battle_call(id, call).await {
                call_error(&s, e, "no live battle with that id");
            }
        },
    );
    s.on("queue:join", |s: SocketRef<A>, TryData(d): TryData<Value>, State(ctx): State<SioAuth>| async move {
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
        |s: SocketRef<A>, State(ctx): State<SioAuth>| async move {
            let Some(user) = acting_user(&s) else { return };
            if let Some(game) = game(&ctx) {
                leave_queue(&game, user.id).await;
            }
        },
    );
}

/// Called when a socket connects: its user's session counts it and disconnects it when its
/// token expires.
pub fn connected<A: Adapter>(s: &SocketRef<A>, ctx: &SioAuth) {
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
pub async fn disconnected<A: Adapter>(s: SocketRef<A>, ctx: SioAuth) {
    let (Some(user), Some(game)) = (socket_user(&s), game(&ctx)) else {
        return;
    };
    if let Some(session) = game.session_of(user.id) {
        let _ = session.send(Disconnected { sid: s.id }).await;
    }
}
