//! `BattleActor`: one live robot battle. It owns the engine, the countdown and the tick
//! timer, keeps the ticks sent so far (for late joiners and reconnects), and settles the
//! result in one transaction before announcing it.
//!
//! Ticks are scheduled against the battle's start instant (tick n is due at
//! `start + n * tick`), never "one interval after the last one", so delays do not add up.
//!
//! Nothing is written per tick: a battle is a pure function of its stored inputs and its start
//! instant (`started_at`, written through the Persister when the first tick is scheduled).
//! After a restart the actor re-simulates every tick the wall clock says is due and carries on.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use serde::Serialize;
use serde_json::json;
use serde_json::value::{to_raw_value, RawValue};
use socketioxide::socket::Sid;
use uuid::Uuid;

use super::game::Game;
use crate::actors::persister::{Persist, PersistError};
use crate::metrics::METRICS;
use crate::sim::battle::{Battle, LiveTick, TickEvent, Winner};
use crate::store::now_ms;
use crate::store::robot_battles::{self, Finished, NewRobotBattle, Settled};
use grid::grid_wait;

const MAILBOX: usize = 1024;

/// Everything needed to (re)start a battle actor.
pub(crate) struct BattleSetup {
    /// Battle id.
    pub id: Uuid,
    /// Stored record.
    pub record: NewRobotBattle,
    /// The first tick's wall-clock instant (unix ms) when resuming a battle that had started.
    pub(crate) started_at: Option<i64>,
}

impl BattleSetup {
    /// A setup; `started_at` is `Some` for a battle that had started before a restart.
    pub fn new(id: Uuid, record: NewRobotBattle, started_at: Option<i64>) -> BattleSetup {
        BattleSetup {
            id,
            record,
            started_at,
        }
    }
}

/// A live tick as it goes out: the battle's id, then the tick's own fields.
#[derive(Serialize)]
struct Outgoing<'a> {
    battle_id: &'a str,
    #[serde(flatten)]
    tick: LiveTick<'a>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Countdown,
    Running,
    Ended,
}

impl Phase {
    /// The battle status this phase shows as.
    fn as_str(self) -> &'static str {
        match self {
            Phase::Countdown => "COUNTDOWN",
            Phase::Running => "IN_PROGRESS",
            Phase::Ended => "COMPLETED",
        }
    }
}

/// The actor.
pub struct BattleActor {
    game: Arc<Game>,
    id: Uuid,
    record: NewRobotBattle,
    engine: Battle,
    /// Every tick sent so far, serialised once (the live form without `battle_id`): catch-up
    /// batches are built from these bytes.
    ticks: Vec<Box<RawValue>>,
    phase: Phase,
    ready: [bool; 2],
    /// When tick `origin` was (or would have been) played; tick n is due at
    /// `start + (n - origin) * tick`.
    start: Option<Instant>,
    /// 0 for a battle started here; the tick reached by catching up after a restart.
    origin: u32,
    countdown: Option<SpawnHandle>,
    /// When the countdown ends (a spectator joining during it is told how long is left).
    countdown_ends: Option<std::time::Instant>,
    room: String,
    /// Per joined socket: the index of the first tick it was sent; it has every tick from
    /// there on while it stays in the room (one catch-up per join, never a tick twice).
    sent_from: HashMap<Sid, usize>,
}

impl BattleActor {
    /// Starts the actor (resuming by re-simulation when `resume_at` is set).
    pub(crate) fn launch(game: Arc<Game>, setup: BattleSetup) -> Addr<BattleActor> {
        let engine = match Battle::new(setup.record.inputs.clone()) {
            Ok(b) => b,
            Err(e) => {
                // Inputs were validated before storing; a failure here is a bug worth a log.
                tracing::error!(error = %e, battle = %setup.id, "battle inputs rejected");
                Battle::new(crate::sim::battle::BattleInputs {
                    max_ticks: 1,
                    ..setup.record.inputs.clone()
                })
                .expect("fallback inputs")
            }
        };
        let mut actor = BattleActor {
            room: format!("battle:{}", setup.id),
            game,
            id: setup.id,
            record: setup.record,
            engine,
            ticks: Vec::new(),
            phase: Phase::Countdown,
            ready: [false; 2],
            start: None,
            origin: 0,
            countdown: None,
            countdown_ends: None,
            sent_from: HashMap::new(),
        };
        if let Some(at) = setup.started_at {
            actor.catch_up(at, now_ms());
        }
        BattleActor::create(move |ctx| {
            ctx.set_mailbox_capacity(MAILBOX);
            actor
        })
    }

    /// Resuming after a restart: plays at once every tick due by wall clock since the first
    /// tick at `started_at` (stamped with the instant each was due), so the battle goes on as
    /// if the server had never stopped. A battle whose end passed meanwhile is over here.
    fn catch_up(&mut self, started_at: i64, now: i64) {
        let tick_ms = i64::try_from(self.game.tick.as_millis())
            .unwrap_or(i64::MAX)
            .max(1);
        let elapsed = (now - started_at).max(0);
        let due = u32::try_from(elapsed / tick_ms).unwrap_or(u32::MAX);
        while self.engine.tick() < due {
            let Some(t) = self.engine.step() else { break };
            let ts = started_at + i64::from(t.tick) * tick_ms;
            if let Some((stored, _)) = self.serialise(&t, ts) {
                self.ticks.push(stored);
            }
        }
        // Anchor the schedule at the last tick played: less than one interval ago, so the
        // instant exists even when the downtime was longer than this machine's uptime.
        self.origin = self.engine.tick();
        let since = (elapsed - i64::from(self.origin) * tick_ms).clamp(0, tick_ms);
        let now_i = Instant::now();
        self.start = Some(
            now_i
                .checked_sub(Duration::from_millis(since as u64))
                .unwrap_or(now_i),
        );
        self.phase = Phase::Running;
    }

    /// The battle id as text (the room is `battle:{id}`).
    fn battle_id(&self) -> &str {
        self.room.strip_prefix("battle:").unwrap_or(&self.room)
    }

    /// A tick serialised once for storage (catch-up) and once with `battle_id` for the room.
    fn serialise(&self, t: &TickEvent, ts: i64) -> Option<(Box<RawValue>, Box<RawValue>)> {
        let tick = t.live(ts);
        let sent = Outgoing {
            battle_id: self.battle_id(),
            tick,
        };
        match (to_raw_value(&tick), to_raw_value(&sent)) {
            (Ok(stored), Ok(sent)) => Some((stored, sent)),
            (Err(e), _) | (_, Err(e)) => {
                // Plain structs of numbers and strings: a failure here is a bug worth a log.
                tracing::error!(battle = %self.id, error = %e, "tick not serialisable");
                None
            }
        }
    }

    fn players(&self) -> (Uuid, Uuid) {
        (self.record.p1.user, self.record.p2.user)
    }

    fn begin(&mut self, ctx: &mut Context<Self>) {
        if self.phase != Phase::Countdown {
            return;
        }
        if let Some(h) = self.countdown.take() {
            ctx.cancel_future(h);
        }
        self.phase = Phase::Running;
        // The start instant is the one thing a restart needs besides the stored inputs. It
        // rides the Persister's next group commit, a few ms, well before the first tick is due.
        // On the grid: battles started within one grid step tick at the same instants, so
        // one timer wake-up (and one wake of the socket thread) serves all of them.
        let now = now_ms();
        let wait = grid_wait(now, self.game.tick_grid);
        let (at, start) = (now + wait.as_millis() as i64, Instant::now() + wait);
        let persister = self.game.persister.clone();
        let id = self.id;
        ctx.spawn(
            async move {
                let op = robot_battles::started_op(id, at);
                match persister.send(Persist(vec![op])).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::error!(battle = %id, error = %e, "start not stored"),
                    Err(e) => tracing::error!(battle = %id, error = %e, "start not stored"),
                }
            }
            .into_actor(self),
        );
        self.start = Some(start);
        self.schedule(ctx);
    }

    fn schedule(&mut self, ctx: &mut Context<Self>) {
        let start = *self.start.get_or_insert_with(Instant::now);
        let next = self.engine.tick() + 1;
        let due = start + self.game.tick * (next - self.origin);
        let now = Instant::now();
        ctx.run_later(due.saturating_duration_since(now), move |a, ctx| {
            METRICS
                .tick_lateness
                .observe(Instant::now().saturating_duration_since(due).as_secs_f64());
            a.on_tick(ctx);
        });
    }

    fn on_tick(&mut self, ctx: &mut Context<Self>) {
        if self.phase != Phase::Running {
            return;
        }
        let Some(t) = self.engine.step() else {
            self.finish(ctx);
            return;
        };
        // Serialised once: the same bytes go to every socket in the room.
        if let Some((stored, sent)) = self.serialise(&t, now_ms()) {
            self.ticks.push(stored);
            self.game
                .sio
                .to_room_raw(self.room.clone(), "battle:tick", sent);
        }
        if self.engine.is_over() {
            self.finish(ctx);
        } else {
            self.schedule(ctx);
        }
    }

    fn finish(&mut self, ctx: &mut Context<Self>) {
        if self.phase == Phase::Ended {
            return;
        }
        self.phase = Phase::Ended;
        let Some(outcome) = self.engine.outcome() else {
            return;
        };
        let result = outcome.winner;
        let game = self.game.clone();
        let players = self.players();
        let finished = Finished {
            id: self.id,
            mode: self.record.mode.clone(),
            season: self.record.season,
            users: players,
            algorithms: (self.record.p1.algorithm, self.record.p2.algorithm),
            wager: self.record.wager,
            result,
            total_ticks: outcome.total_ticks,
            log_hash: self.engine.log_hash(),
        };
        let (id, total) = (self.id, outcome.total_ticks);
        let room = self.room.clone();
        ctx.wait(
            async move {
                // Settlement is money: one unit in the Persister's group commit. Retry a failed
                // write a few times before giving up (the battle then stays IN_PROGRESS and is
                // replayed on the next start).
                let mut settled = None;
                for attempt in 0..3u32 {
                    match settle(&game, &finished).await {
                        Ok(s) => {
                            settled = Some(s);
                            break;
                        }
                        Err(SettleError::Refused(r)) => {
                            tracing::warn!(battle = %id, refusal = %r, "settlement refused");
                            break;
                        }
                        Err(e) => {
                            tracing::error!(battle = %id, attempt, error = %e, "settlement failed");
                            tokio::time::sleep(std::time::Duration::from_millis(200 << attempt))
                                .await;
                        }
                    }
                }
                // Free the players before telling them, so a client that re-queues on
                // `battle:ended` is not refused with BATTLE_IN_PROGRESS.
                game.finished(id, players);
                let wagered = finished.wager > 0;
                announce(&game, id, room, players, result, total, settled, wagered).await;
            }
            .into_actor(self)
            .map(|_, _, ctx| ctx.stop()),
        );
    }
}

/// Why a settlement did not commit.
#[derive(Debug, thiserror::Error)]
enum SettleError {
    /// Reading the ratings failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The write failed (retried).
    #[error("{0}")]
    Persist(PersistError),
    /// A guard refused it (already settled): retrying cannot help.
    #[error("refused: {0}")]
    Refused(String),
}

/// Builds the settlement unit and waits for its COMMIT.
async fn settle(game: &Game, f: &Finished) -> Result<Settled, SettleError> {
    let (ops, settled) = game.db.settlement(f).await?;
    match game.persister.send(Persist(ops)).await {
        Ok(Ok(())) => Ok(settled),
        Ok(Err(PersistError::Refused(r))) => Err(SettleError::Refused(r)),
        Ok(Err(e)) => Err(SettleError::Persist(e)),
        Err(_) => Err(SettleError::Persist(PersistError::Closed)),
    }
}

#[allow(clippy::too_many_arguments)] // one call site; the battle's end, as it is
async fn announce(
    game: &Game,
    id: Uuid,
    room: String,
    players: (Uuid, Uuid),
    result: Winner,
    total: u32,
    settled: Option<Settled>,
    wagered: bool,
) {
    let winner = match result {
        Winner::P1 => Some(players.0),
        Winner::P2 => Some(players.1),
        Winner::Draw => None,
    };
    let base = json!({
        "battle_id": id, "winner_id": winner, "is_draw": winner.is_none(), "total_ticks": total,
        "eldr_delta": "0.0",
    });
    let io = &game.sio;
    let (d1, d2) = settled
        .as_ref()
        .map_or(((0, 0.0), (0, 0.0)), |s| (s.p1, s.p2));
    for (user, (gmo, rating)) in [(players.0, d1), (players.1, d2)] {
        let mut v = base.clone();
        v["gmo_delta"] = gmo.into();
        v["rating_delta"] = ((rating * 10.0).round() / 10.0).into();
        io.to_user(user, "battle:ended", v);
    }
    // Spectators: the same event without personal deltas.
    let mut v = base;
    v["gmo_delta"] = 0.into();
    v["rating_delta"] = 0.into();
    io.to_room(
        room,
        vec![format!("user:{}", players.0), format!("user:{}", players.1)],
        "battle:ended",
        v,
    );
    // `balance:updated` only where money moved (a wager came back or was paid, a reward):
    // a casual battle without one changes no balance, and the read is a SQL round trip per
    // player per battle. Unknown (settlement failed): tell them anyway.
    for (u, gmo) in [(players.0, d1.0), (players.1, d2.0)] {
        if wagered || gmo != 0 || settled.is_none() {
            game.push_balance(u).await;
        }
    }
}

impl Actor for BattleActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        METRICS.actors.with_label_values(&["battle"]).inc();
        if self.phase == Phase::Running {
            // Resumed after a restart: carry on from here, or settle a battle that ended
            // while the server was down.
            if self.engine.is_over() {
                self.finish(ctx);
            } else {
                self.schedule(ctx);
            }
            return;
        }
        let countdown = self.game.countdown;
        self.game.sio.to_room(
            self.room.clone(),
            Vec::new(),
            "battle:starting",
            json!({ "battle_id": self.id, "countdown_ms": countdown.as_millis() as u64 }),
        );
        self.countdown_ends = Some(std::time::Instant::now() + countdown);
        self.countdown = Some(ctx.run_later(countdown, |a, ctx| a.begin(ctx)));
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        METRICS.actors.with_label_values(&["battle"]).dec();
    }
}

mod call;
mod fence;
mod grid;
mod messages;
pub(crate) use call::{BattleCall, BattleCallError};
pub use fence::Fenced;
pub use messages::{Emote, JoinRoom, LeaveRoom, LiveSummary, Ready};
