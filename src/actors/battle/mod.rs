//! `BattleActor`: one live robot battle. It owns the engine, the countdown and the tick
//! timer, keeps the ticks sent so far (for late joiners and reconnects), and settles the
//! result in one transaction before announcing it.
//!
//! Ticks are scheduled against the battle's start instant (tick n is due at
//! `start + n * tick`), never "one interval after the last one", so delays do not add up.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;
use serde_json::{json, Value};
use socketioxide::socket::Sid;
use uuid::Uuid;

use super::game::Game;
use crate::actors::persister::Persist;
use crate::metrics::METRICS;
use crate::sim::battle::{Battle, TickEvent, Winner};
use crate::store::now_ms;
use crate::store::robot_battles::{self, NewRobotBattle, Settled};

const MAILBOX: usize = 1024;

/// Everything needed to (re)start a battle actor.
pub(crate) struct BattleSetup {
    /// Battle id.
    pub id: Uuid,
    /// Stored record.
    pub record: NewRobotBattle,
    /// Some(tick) when resuming a battle that had started.
    pub(crate) resume_at: Option<u32>,
}

impl BattleSetup {
    /// A setup.
    pub fn new(id: Uuid, record: NewRobotBattle, resume_at: Option<u32>) -> BattleSetup {
        BattleSetup {
            id,
            record,
            resume_at,
        }
    }
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
    ticks: Vec<Value>,
    phase: Phase,
    ready: [bool; 2],
    start: Option<Instant>,
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
            countdown: None,
            countdown_ends: None,
            sent_from: HashMap::new(),
        };
        if let Some(at) = setup.resume_at {
            // Rebuild the ticks already sent so catch-up still works after a restart.
            let now = now_ms();
            while actor.engine.tick() < at {
                match actor.engine.step() {
                    Some(t) => {
                        let p = actor.payload(&t, now);
                        actor.ticks.push(p);
                    }
                    None => break,
                }
            }
            actor.phase = Phase::Running;
        }
        BattleActor::create(move |ctx| {
            ctx.set_mailbox_capacity(MAILBOX);
            actor
        })
    }

    fn payload(&self, t: &TickEvent, ts: i64) -> Value {
        let mut v = serde_json::to_value(t).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut v {
            // The spec's live names (p1_state/p2_state) beside the replay names (p1/p2).
            if let Some(p1) = m.get("p1").cloned() {
                m.insert("p1_state".into(), p1);
            }
            if let Some(p2) = m.get("p2").cloned() {
                m.insert("p2_state".into(), p2);
            }
            m.insert("battle_id".into(), self.id.to_string().into());
            m.insert("ts".into(), ts.into());
        }
        v
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
        let db = self.game.db.clone();
        let id = self.id;
        ctx.spawn(
            async move {
                let _ = db.mark_robot_battle_started(id, now_ms()).await;
            }
            .into_actor(self),
        );
        self.start = Some(Instant::now());
        self.schedule(ctx);
    }

    fn schedule(&mut self, ctx: &mut Context<Self>) {
        let start = *self.start.get_or_insert_with(Instant::now);
        let next = self.engine.tick() + 1;
        let due = start + self.game.tick * next;
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
        let payload = self.payload(&t, now_ms());
        self.ticks.push(payload.clone());
        self.game
            .sio
            .to_room(self.room.clone(), Vec::new(), "battle:tick", payload);
        // Checkpoint every tick (restart resumes from the last one); the persister
        // group-commits them, so this is one row per tick in shared batches.
        {
            let op = robot_battles::checkpoint_op(self.id, t.tick);
            let _ = self.game.persister.try_send(Persist(vec![op]));
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
        let (id, mode, season, wager) = (
            self.id,
            self.record.mode.clone(),
            self.record.season,
            self.record.wager,
        );
        let algorithms = (self.record.p1.algorithm, self.record.p2.algorithm);
        let players = self.players();
        let hash = self.engine.log_hash();
        let total = outcome.total_ticks;
        let room = self.room.clone();
        ctx.wait(
            async move {
                // Settlement is money: retry a failed transaction a few times before giving up
                // (the battle then stays IN_PROGRESS and is replayed on the next start).
                let mut settled = None;
                for attempt in 0..3u32 {
                    let gate = game.writes.acquire().await;
                    let r = game
                        .db
                        .settle_robot_battle(
                            id, &mode, season, players, algorithms, wager, result, total, &hash,
                        )
                        .await;
                    drop(gate);
                    match r {
                        Ok(s) => {
                            settled = Some(s);
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
                announce(&game, id, room, players, result, total, settled).await;
            }
            .into_actor(self)
            .map(|_, _, ctx| ctx.stop()),
        );
    }
}

async fn announce(
    game: &Game,
    id: Uuid,
    room: String,
    players: (Uuid, Uuid),
    result: Winner,
    total: u32,
    settled: Option<Settled>,
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
    for u in [players.0, players.1] {
        game.push_balance(u).await;
    }
}

impl Actor for BattleActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        METRICS.actors.with_label_values(&["battle"]).inc();
        if self.phase == Phase::Running {
            // Resumed after a restart: carry on from here.
            self.schedule(ctx);
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
mod messages;
pub(crate) use call::{BattleCall, BattleCallError};
pub use messages::{Emote, JoinRoom, LeaveRoom, LiveSummary, Ready};
