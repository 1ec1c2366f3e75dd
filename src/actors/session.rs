//! A `Session` actor per connected user: presence across that user's sockets, the grace
//! period before a disconnected player leaves the matchmaking queue, and kicking (bans).

use std::sync::Arc;

use actix::prelude::*;
use uuid::Uuid;

use super::game::Game;
use crate::metrics::METRICS;

/// The actor.
pub struct Session {
    user: Uuid,
    game: Arc<Game>,
    sockets: usize,
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
                sockets: 0,
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

/// A socket of this user connected.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Connected;

impl Handler<Connected> for Session {
    type Result = ();

    fn handle(&mut self, _: Connected, ctx: &mut Context<Self>) {
        self.sockets += 1;
        if let Some(h) = self.grace.take() {
            ctx.cancel_future(h);
        }
    }
}

/// A socket of this user went away.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Disconnected;

impl Handler<Disconnected> for Session {
    type Result = ();

    #[tracing::instrument(skip_all, fields(user = %self.user))]
    fn handle(&mut self, _: Disconnected, ctx: &mut Context<Self>) {
        self.sockets = self.sockets.saturating_sub(1);
        if self.sockets > 0 {
            return;
        }
        self.grace = Some(ctx.run_later(self.game.queue_grace, |s, ctx| {
            let (game, user) = (s.game.clone(), s.user);
            ctx.spawn(
                async move { crate::realtime::robot_events::leave_queue(&game, user).await }
                    .into_actor(s)
                    .map(|_, _, ctx| ctx.stop()),
            );
        }));
    }
}

/// Throw the user out (ban): leave the queue and disconnect every socket.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Kick;

impl Handler<Kick> for Session {
    type Result = ();

    #[tracing::instrument(skip_all, fields(user = %self.user))]
    fn handle(&mut self, _: Kick, ctx: &mut Context<Self>) {
        let (game, user) = (self.game.clone(), self.user);
        ctx.spawn(
            async move {
                crate::realtime::robot_events::leave_queue(&game, user).await;
                let _ = game.sio.io().to(format!("user:{user}")).disconnect().await;
            }
            .into_actor(self)
            .map(|_, _, ctx| ctx.stop()),
        );
    }
}
