//! The robot game's live side: registries of battle actors, queued and battling users, and
//! the two matchmakers. HTTP handlers and Socket.IO handlers both come through here.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use actix::Addr;
use dashmap::DashMap;
use rand::Rng;
use serde_json::{json, Value};
use uuid::Uuid;

use super::battle::{BattleActor, BattleSetup};
use super::matchmaker::{Matchmaker, Ticket};
use crate::actors::persister::{Persist, PersistError, Persister};
use crate::actors::rooms::Rooms;
use crate::metrics::METRICS;
use crate::sim::ai;
use crate::sim::battle::{BattleInputs, Fighter, DEFAULT_MAX_TICKS};
use crate::sim::catalog::Biome;
use crate::sim::rules;
use crate::store::robot_battles::{self, BattleRow, NewRobotBattle, SideRecord};
use crate::store::{Db, StoreError};

mod live;
mod matcher;
mod owner;
mod queue;
mod request;
pub(crate) use matcher::QueueView;
pub use queue::{enqueue, leave_queue};
pub use request::{GameError, Mode, QueueRequest};

/// Shared handle to the live game. Its registries are the actors' own; transports ask through
/// the methods below.
pub struct Game {
    /// Storage.
    pub(in crate::actors) db: Db,
    /// Socket.IO rooms.
    pub(in crate::actors) sio: Arc<dyn Rooms>,
    /// The Persister: battle creation, start instants and settlements group-commit there.
    pub(in crate::actors) persister: Addr<Persister>,
    /// Tick interval.
    pub(in crate::actors) tick: Duration,
    /// Countdown before the first tick.
    pub(in crate::actors) countdown: Duration,
    /// Battles start on multiples of this (unix ms); zero: at once.
    pub(in crate::actors) tick_grid: Duration,
    /// Current season.
    pub(in crate::actors) season: i64,
    /// Offline time before a queued player leaves the queue.
    pub(in crate::actors) queue_grace: Duration,
    /// Live battles. (`http/v2/battles.rs` still reads it; use [`Game::live_battle`].)
    pub(in crate::actors) battles: DashMap<Uuid, Addr<BattleActor>>,
    /// user → live battle. (`http/v2/battles.rs` still reads it; use [`Game::battle_of`].)
    pub(in crate::actors) in_battle: DashMap<Uuid, Uuid>,
    /// user → mode they queue in. (`http/v2/battles.rs` still reads it; use
    /// [`Game::queued_mode`].)
    pub(in crate::actors) queued: DashMap<Uuid, Mode>,
    /// Connected users' session actors.
    pub(in crate::actors) sessions: DashMap<Uuid, Addr<super::session::Session>>,
    /// Where actors started from non-actix threads (Socket.IO handlers) run.
    pub(in crate::actors) arbiter: actix::ArbiterHandle,
    matchmakers: OnceLock<(Addr<Matchmaker>, Addr<Matchmaker>)>,
    /// Multi-node: this node's claims on live battles.
    pub(in crate::actors) owner: owner::Owner,
    /// Multi-node: which modes' matchers this node runs, and the ticket store.
    matchers: matcher::Matchers,
}

/// The game's timing and season, taken from the configuration by the composition root.
#[derive(Debug, Clone, Copy)]
pub struct GameSettings {
    /// Robot battle tick interval (`WARROOM_TICK_MS`).
    pub tick: std::time::Duration,
    /// From match found to first tick (`WARROOM_COUNTDOWN_MS`).
    pub countdown: std::time::Duration,
    /// The live season.
    pub season: i64,
    /// How long a queue entry outlives its last socket.
    pub queue_grace: std::time::Duration,
    /// Start instants are aligned to this (`WARROOM_TICK_GRID_MS`).
    pub tick_grid: std::time::Duration,
}

/// Late-bound access for the Socket.IO handlers (built before the game exists).
pub(crate) type GameCell = Arc<OnceLock<Arc<Game>>>;

impl Game {
    /// Creates the game and starts both matchmakers on the current arbiter.
    pub fn start(
        db: Db,
        sio: Arc<dyn Rooms>,
        persister: Addr<Persister>,
        config: GameSettings,
        cluster: Option<Arc<crate::cluster::Cluster>>,
    ) -> Arc<Game> {
        let game = Arc::new(Game {
            db,
            sio,
            persister,
            tick: config.tick,
            countdown: config.countdown,
            season: config.season,
            queue_grace: config.queue_grace,
            tick_grid: config.tick_grid,
            battles: DashMap::new(),
            in_battle: DashMap::new(),
            queued: DashMap::new(),
            sessions: DashMap::new(),
            arbiter: actix::Arbiter::current(),
            matchmakers: OnceLock::new(),
            matchers: matcher::Matchers::new(cluster.as_ref()),
            owner: owner::Owner::new(cluster),
        });
        let ranked = Matchmaker::launch(Mode::Ranked, game.clone());
        let casual = Matchmaker::launch(Mode::Casual, game.clone());
        let _ = game.matchmakers.set((ranked, casual));
        game
    }

    /// The live battle actor of `battle`, if it is running here.
    pub(crate) fn live_battle(&self, battle: Uuid) -> Option<Addr<BattleActor>> {
        self.battles.get(&battle).map(|a| a.clone())
    }

    /// Every live battle here, by battle id (a stable order for paging).
    pub fn live_battles(&self) -> Vec<(Uuid, Addr<BattleActor>)> {
        let mut all: Vec<_> = self
            .battles
            .iter()
            .map(|e| (*e.key(), e.value().clone()))
            .collect();
        all.sort_by_key(|(id, _)| *id);
        all
    }

    /// The session actor of a connected user.
    pub(crate) fn session_of(&self, user: Uuid) -> Option<Addr<super::session::Session>> {
        self.sessions.get(&user).map(|a| a.clone())
    }

    /// The live battle `user` plays in.
    pub fn battle_of(&self, user: Uuid) -> Option<Uuid> {
        self.in_battle.get(&user).map(|b| *b)
    }

    /// The mode `user` queues in.
    pub(crate) fn queued_mode(&self, user: Uuid) -> Option<Mode> {
        self.queued.get(&user).map(|m| *m)
    }

    /// The matchmaker of a mode.
    pub(crate) fn matchmaker(&self, mode: Mode) -> Option<&Addr<Matchmaker>> {
        self.matchmakers.get().map(|(r, c)| match mode {
            Mode::Ranked => r,
            Mode::Casual => c,
        })
    }

    /// Checks a queue request against the user's roster, algorithms and balance, and builds
    /// the ticket.
    #[tracing::instrument(skip(self, req))]
    pub async fn ticket(&self, user: Uuid, req: &QueueRequest) -> Result<Ticket, GameError> {
        if self.in_battle.contains_key(&user) {
            return Err(GameError::BattleInProgress);
        }
        // Several nodes: the battle may run on another one.
        if self.owner.cluster().is_some() && self.db.live_robot_battle_of(user).await?.is_some() {
            return Err(GameError::BattleInProgress);
        }
        if self.queued.contains_key(&user) {
            return Err(GameError::AlreadyInQueue);
        }
        let inputs = self
            .db
            .queue_inputs(
                user,
                req.robot_id,
                req.algorithm_id,
                self.season,
                req.mode.as_str(),
            )
            .await?;
        let me = inputs.player.ok_or(GameError::NotFound("user"))?;
        let owned = inputs
            .robot
            .ok_or(GameError::NotFound("robot in your roster"))?;
        let (tree, algorithm) = match (req.algorithm_id, inputs.algorithm) {
            (Some(_), a) => {
                let a = a
                    .filter(|a| a.user_id == user)
                    .ok_or(GameError::NotFound("algorithm"))?;
                let v = rules::validate(&a.rule_tree, None);
                let tree = v
                    .tree
                    .ok_or_else(|| GameError::AlgorithmInvalid(v.errors.join("; ")))?;
                (tree, Some(a.id))
            }
            // The active one; an active tree that no longer validates plays the default.
            (None, Some(a)) => match rules::validate(&a.rule_tree, None).tree {
                Some(t) => (t, Some(a.id)),
                None => (ai::default_tree(), None),
            },
            (None, None) => (ai::default_tree(), None),
        };
        if me.gmo_balance < req.gmo_wager {
            return Err(GameError::InsufficientGmo);
        }
        let rating = inputs.rating;
        let mut fighter = Fighter::new(owned.robot, tree);
        fighter.upgrades = owned.upgrades;
        // A pilot is optional; a named one must be the caller's (and minted or pending).
        let mut pilot = Value::Null;
        if let Some(pid) = req.pilot_id {
            let stats = self
                .db
                .pilot_stats(user, pid)
                .await?
                .ok_or(GameError::NotFound("pilot"))?;
            fighter.pilot = Some(stats);
            if let Some(p) = self.db.pilot(pid).await? {
                pilot = json!({ "id": p.id, "name": p.name, "sprite_key": p.sprite_key, "stats": p.stats });
            }
        }
        let snapshot = json!({
            "id": user, "username": me.username, "avatar_url": me.avatar_url, "level": me.level,
            "rating": rating.round() as i64,
            "robot": owned.to_json(), "pilot": pilot,
        });
        Ok(Ticket::new(
            user,
            req.mode,
            rating,
            req.gmo_wager,
            fighter,
            algorithm,
            snapshot,
        ))
    }

    /// Pairs two tickets into a battle: stores it with both wagers escrowed, then starts its
    /// actor. A ticket whose owner could no longer cover the wager is dropped; the other
    /// goes back to the queue.
    #[tracing::instrument(skip_all)]
    pub(crate) async fn start_match(self: Arc<Self>, a: Ticket, b: Ticket) {
        let id = Uuid::new_v4();
        let (seed, biome) = {
            let mut rng = rand::rng();
            (
                rng.random_range(1..=i32::MAX as u64),
                Biome::ALL[rng.random_range(0..Biome::ALL.len())],
            )
        };
        let wager = a.wager.min(b.wager);
        let new = NewRobotBattle {
            id,
            mode: a.mode.as_str().into(),
            season: self.season,
            p1: SideRecord {
                user: a.user,
                algorithm: a.algorithm,
                snapshot: a.snapshot.clone(),
            },
            p2: SideRecord {
                user: b.user,
                algorithm: b.algorithm,
                snapshot: b.snapshot.clone(),
            },
            inputs: BattleInputs {
                seed,
                biome,
                max_ticks: DEFAULT_MAX_TICKS,
                p1: a.fighter.clone(),
                p2: b.fighter.clone(),
            },
            wager,
        };
        // One unit in the Persister's next group commit: the battle row and both escrows
        // together, or nothing (a thousand matches at once share a handful of COMMITs).
        let ops = robot_battles::create_ops(&new, crate::store::now_ms());
        let created = match self.persister.send(Persist(ops)).await {
            Ok(r) => r,
            Err(_) => Err(PersistError::Closed),
        };
        let poor = match &created {
            Err(PersistError::Refused(r)) => robot_battles::poor_player(&new, r),
            _ => None,
        };
        match (created, poor) {
            (Ok(()), _) => {}
            (Err(_), Some(poor)) => {
                let (gone, stays) = if poor == a.user { (a, b) } else { (b, a) };
                self.queued.remove(&gone.user);
                self.sio.to_user(gone.user,
                    "error",
                    json!({"code": "INSUFFICIENT_GMO", "message": "you left the queue: not enough GMO for the wager"}),
                );
                if let Some(mm) = self.matchmaker(stays.mode) {
                    let _ = mm.try_send(super::matchmaker::Requeue(stays));
                }
                return;
            }
            (Err(e), None) => {
                // Nobody paid anything (the unit rolled back): both go back in line.
                tracing::error!(error = %e, "could not store a new battle; tickets re-queued");
                if let Some(mm) = self.matchmaker(a.mode) {
                    for t in [a, b] {
                        let _ = mm.try_send(super::matchmaker::Requeue(t));
                    }
                }
                return;
            }
        }
        for t in [&a, &b] {
            self.queued.remove(&t.user);
            self.in_battle.insert(t.user, id);
        }
        let start_ms = self.countdown.as_millis() as i64;
        // Players' sockets follow their battle without having to ask.
        for t in [&a, &b] {
            self.sio
                .join_now(format!("user:{}", t.user), format!("battle:{id}"))
                .await;
        }
        // Multi-node: the creating node runs the battle (a fresh id, so the claim succeeds
        // unless Redis is down; then the takeover sweep of some node starts it).
        let mine = self.claim(id).await;
        // Register the actor before anyone hears of the battle, so an immediate
        // `battle:ready` finds it. Its `started` (and `battle:starting`) runs on a later poll,
        // after the `queue:matched` below: nothing awaits in between.
        if mine {
            self.launch(BattleSetup::new(id, new, None));
        } else {
            // Another node runs it (it tracks its players); nothing of it stays here.
            for t in [&a, &b] {
                self.in_battle.remove_if(&t.user, |_, b| *b == id);
            }
        }
        for (me, them) in [(&a, &b), (&b, &a)] {
            self.sio.to_user(me.user,
                "queue:matched",
                json!({
                    "battle_id": id, "opponent": them.snapshot, "biome": biome, "estimated_start_ms": start_ms,
                }),
            );
        }
        if wager > 0 {
            for u in [a.user, b.user] {
                self.push_balance(u).await;
            }
        }
    }

    /// Starts (or resumes) a battle actor and registers it.
    pub(crate) fn launch(self: &Arc<Self>, setup: BattleSetup) {
        let id = setup.id;
        let addr = BattleActor::launch(self.clone(), setup);
        self.battles.insert(id, addr);
        METRICS.live_battles.set(self.battles.len() as i64);
    }

    /// Bans take effect at once for the live game: the user leaves any queue and every socket
    /// of theirs is disconnected.
    pub(crate) async fn kick(self: &Arc<Self>, user: Uuid) {
        match self.sessions.get(&user).map(|s| s.clone()) {
            Some(s) => {
                let _ = s.send(super::session::Kick).await;
            }
            None => {
                leave_queue(self, user).await;
            }
        }
    }

    /// Unregisters a finished battle.
    pub fn finished(&self, id: Uuid, players: (Uuid, Uuid)) {
        self.battles.remove(&id);
        self.release_finished(id);
        for p in [players.0, players.1] {
            self.in_battle.remove_if(&p, |_, b| *b == id);
        }
        METRICS.live_battles.set(self.battles.len() as i64);
    }

    /// Emits `balance:updated` to a user (the one place that builds this event's payload;
    /// REST handlers and the economy worker call it too).
    pub(crate) async fn push_balance(&self, user: Uuid) {
        let Ok((gmo, eldr)) = self.db.balances(user).await else {
            return;
        };
        self.sio.to_user(
            user,
            "balance:updated",
            crate::economy::balance_event(gmo, eldr),
        );
    }

    /// Resumes unfinished battles after a restart; voids those from another engine version.
    pub async fn resume(self: &Arc<Self>) -> Result<usize, StoreError> {
        let rows = self.db.unfinished_robot_battles().await?;
        self.resume_rows(rows).await
    }

    /// Resumes these unfinished battles here (restart, or a multi-node takeover); voids those
    /// from another engine version.
    pub(crate) async fn resume_rows(
        self: &Arc<Self>,
        rows: Vec<crate::store::battle_rows::BattleRow>,
    ) -> Result<usize, StoreError> {
        let mut resumed = 0;
        for row in rows {
            resumed += usize::from(self.resume_battle(row).await?);
        }
        Ok(resumed)
    }

    /// Loads one unfinished battle by id and resumes it here (a node taking over a battle
    /// whose owner died). False when it is finished, unknown, voided or already live here.
    pub async fn resume_one(self: &Arc<Self>, id: Uuid) -> Result<bool, StoreError> {
        match self.db.unfinished_robot_battle(id).await? {
            Some(row) => self.resume_battle(row).await,
            None => Ok(false),
        }
    }

    /// Launches one stored unfinished battle, fast-forwarded by wall clock from its
    /// `started_at` (a battle still in its countdown starts its countdown again). A battle from
    /// another engine version cannot be re-simulated: it is voided and both wagers refunded.
    /// True when launched.
    pub(crate) async fn resume_battle(
        self: &Arc<Self>,
        row: BattleRow,
    ) -> Result<bool, StoreError> {
        if self.battles.contains_key(&row.id) {
            return Ok(false);
        }
        let inputs: Option<BattleInputs> = serde_json::from_str(&row.inputs).ok();
        let inputs = match inputs {
            Some(i) if row.engine_version == i64::from(crate::sim::ENGINE_VERSION) => i,
            _ => {
                tracing::warn!(battle = %row.id, "engine version changed: battle voided, wagers refunded");
                self.db
                    .void_robot_battle(row.id, (row.p1, row.p2), row.wager)
                    .await?;
                return Ok(false);
            }
        };
        for p in [row.p1, row.p2] {
            self.in_battle.insert(p, row.id);
        }
        let new = NewRobotBattle {
            id: row.id,
            mode: row.mode,
            season: row.season,
            p1: SideRecord {
                user: row.p1,
                algorithm: row.algorithms.0,
                snapshot: row.snapshots.0,
            },
            p2: SideRecord {
                user: row.p2,
                algorithm: row.algorithms.1,
                snapshot: row.snapshots.1,
            },
            inputs,
            wager: row.wager,
        };
        // A battle marked IN_PROGRESS always has its start; without one it counts down anew.
        let started = row.started_at.filter(|_| row.status == "IN_PROGRESS");
        self.launch(BattleSetup::new(row.id, new, started));
        Ok(true)
    }
}
