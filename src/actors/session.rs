//! A `Session` actor per connected user: presence across that user's sockets on this node,
//! the grace period before a disconnected player leaves the matchmaking queue (unless they
//! are still online on another node, see `Rooms::user_online`), kicking (bans), and
//! disconnecting each socket when its token expires.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use serde_json::json;
use socketioxide::socket::Sid;
use uuid::Uuid;

use super::game::Game;
use crate::metrics::METRICS;

/// The actor.
pub(crate) struct Session {
    user: Uuid,
    game: Arc<Game>,
    /// Live sockets, each with the timer that disconnects it when its token expires.
    sockets: HashMap<Sid, SpawnHandle>,
    grace: Option<SpawnHandle>,
}

impl Session {
    fn launch(user: Uuid, game: Arc<Game>) -> Addr<Session> {
        let arbiter = game.arbiter.clone();
        Session::start_in_arbiter(&arbiter, move |ctx| {
            ctx.set_mailbox_capacity(256);
            Session {
                user,
                game,
                sockets: HashMap::new(),
                grace: None,
            }
        })
    }

    /// The user's session, started if needed.
    pub fn of(game: &Arc<Game>, user: Uuid) -> Addr<Session> {
        let mut e = game
            .sessions
            .entry(user)
            .or_insert_with(|| Session::launch(user, game.clone()));
        if !e.connected() {
            *e = Session::launch(user, game.clone());
        }
        e.clone()
    }
}

impl Actor for Session {
    type Context = Context<Self>;

    fn started(&mut self, _: &mut Context<Self>) {
        METRICS.actors.with_label_values(&["session"]).inc();
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        METRICS.actors.with_label_values(&["session"]).dec();
        let me = self.user;
        self.game.sessions.remove(&me);
    }
}

/// Disconnects socket `sid` of this session's user because its token expired.
fn expire(game: &Game, user: Uuid, sid: Sid) {
    let event =
        json!({"code": "UNAUTHORIZED", "message": "token expired; reconnect with a fresh token"});
    if game.sio.close_socket(sid, "error", event) {
        tracing::debug!(%user, %sid, "disconnected a socket whose token expired");
    }
}

/// A socket of this user connected; its token expires at `expires_at_ms` (unix ms).
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Connected {
    /// The socket.
    pub sid: Sid,
    /// Its token's expiry, unix ms.
    pub(crate) expires_at_ms: i64,
}

impl Handler<Connected> for Session {
    type Result = ();

    #[tracing::instrument(skip_all, fields(user = %self.user))]
    fn handle(&mut self, msg: Connected, ctx: &mut Context<Self>) {
        if let Some(h) = self.grace.take() {
            ctx.cancel_future(h);
        }
        let left = msg
            .expires_at_ms
            .saturating_sub(crate::store::now_ms())
            .max(0);
        let sid = msg.sid;
        let timer = ctx.run_later(Duration::from_millis(left as u64), move |s, _| {
            expire(&s.game, s.user, sid)
        });
        if let Some(old) = self.sockets.insert(sid, timer) {
            ctx.cancel_future(old);
        }
    }
}

/// A socket of this user went away.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Disconnected {
    /// The socket.
    pub sid: Sid,
}

impl Handler<Disconnected> for Session {
    type Result = ();

    #[tracing::instrument(skip_all, fields(user = %self.user))]
    fn handle(&mut self, msg: Disconnected, ctx: &mut Context<Self>) {
        if let Some(timer) = self.sockets.remove(&msg.sid) {
            ctx.cancel_future(timer);
        }
        if !self.sockets.is_empty() {
            return;
        }
        self.grace = Some(ctx.run_later(self.game.queue_grace, |s, ctx| {
            let (game, user) = (s.game.clone(), s.user);
            ctx.spawn(
                async move {
                    // A socket of theirs on another node keeps them queued (that node's
                    // session runs its own grace when it goes).
                    if !game.sio.user_online(user).await {
                        crate::actors::game::leave_queue(&game, user).await;
                    }
                }
                .into_actor(s)
                // A socket that connected here meanwhile keeps the session.
                .map(|_, s, ctx| {
                    if s.sockets.is_empty() {
                        ctx.stop();
                    }
                }),
            );
        }));
    }
}

/// Throw the user out (ban): leave the queue and disconnect every socket.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Kick;

impl Handler<Kick> for Session {
    type Result = ();

    #[tracing::instrument(skip_all, fields(user = %self.user))]
    fn handle(&mut self, _: Kick, ctx: &mut Context<Self>) {
        let (game, user) = (self.game.clone(), self.user);
        ctx.spawn(
            async move {
                crate::actors::game::leave_queue(&game, user).await;
                game.sio.disconnect(format!("user:{user}")).await;
            }
            .into_actor(self)
            .map(|_, _, ctx| ctx.stop()),
        );
    }
}
