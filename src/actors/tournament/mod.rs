//! Tournament actor: one per tournament with live rounds. It generates rounds (serialised, so
//! two requests cannot create the same round), starts every table's clock together, runs the
//! round clock from `rules.time_limit`, announces the end of the round to every table (battle
//! WebSocket and Socket.IO `table:{battle}`) and to the Socket.IO room `tournament:{id}`,
//! records results as battles finish, and completes the tournament after the last round.

use std::{
    sync::{Arc, Weak},
    time::Duration,
};

use actix::prelude::*;
use dashmap::{DashMap, DashSet};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::actors::persister::Persister;
use crate::actors::rooms::{Rooms, TableFeed};
use crate::actors::table::TableRegistry;
use crate::auth::AuthUser;
use crate::domain::tracker::TrackerBattle;
use crate::store::{now_ms, rfc3339, Db, StoreError};

mod clock;
mod round;

pub use clock::ClockLeases;

use round::{announce, audit, changed, generate, record, start_tables};

/// What a tournament actor needs from the process.
#[derive(Clone)]
pub struct TournamentDeps {
    /// Database.
    pub db: Db,
    /// Writer (audit rows).
    pub persister: Addr<Persister>,
    /// Per-battle fan-out.
    pub(crate) hub: Arc<dyn TableFeed>,
    /// Socket.IO rooms.
    pub sio: Arc<dyn Rooms>,
    /// Live battles.
    pub tables: Arc<TableRegistry>,
    /// Which round clocks run on this node (multi-node).
    pub clocks: Arc<ClockLeases>,
    /// Multi-node mode: the caches to invalidate after this actor's writes commit.
    pub cache: Option<Arc<crate::cluster::cache::Cache>>,
}

/// Why a tournament command failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TournamentError {
    /// No such tournament.
    #[error("tournament not found")]
    NotFound,
    /// Caller is not its organizer or an admin.
    #[error("only the tournament's organizer or an admin may do this")]
    Forbidden,
    /// Not possible in the tournament's status (409 `INVALID_TOURNAMENT_STATE`).
    #[error("{0}")]
    InvalidState(String),
    /// A battle of the current round is unfinished (409 `INVALID_BATTLE_STATE`).
    #[error("{0}")]
    RoundUnfinished(String),
    /// A concurrent change won (409 `CONFLICT`).
    #[error("{0}")]
    Conflict(String),
    /// The pairing engine refused (422).
    #[error("{0}")]
    Pairing(String),
    /// Storage.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Generate the next round and start its clocks.
#[derive(Message)]
#[rtype(result = "Result<Value, TournamentError>")]
pub(crate) struct GenerateRound {
    /// Caller.
    pub user: AuthUser,
}

/// A battle of this tournament reached `completed` or `cancelled`.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct BattleFinished;

/// Re-arm the round clock after a restart.
#[derive(Message)]
#[rtype(result = "()")]
struct Rearm;

/// The live tournament.
pub struct TournamentActor {
    id: Uuid,
    deps: TournamentDeps,
    /// Round whose clock is running, to ignore stale timers.
    clock: Option<(u32, SpawnHandle)>,
    registry: Arc<DashMap<Uuid, Addr<TournamentActor>>>,
    /// Tournaments with a `BattleFinished` queued (see [`TournamentRegistry::finished_hook`]).
    pending: Arc<DashSet<Uuid>>,
}

impl Actor for TournamentActor {
    type Context = Context<Self>;
    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(64);
        // Without a running round clock the actor holds nothing worth keeping in memory.
        ctx.run_interval(Duration::from_secs(600), |act, ctx| {
            if act.clock.is_none() && !act.pending.contains(&act.id) {
                ctx.stop();
            }
        });
    }
    fn stopped(&mut self, _: &mut Self::Context) {
        self.registry.remove(&self.id);
        // A notification that died with this actor must not block the next one.
        self.pending.remove(&self.id);
    }
}

impl TournamentActor {
    /// Announces the end of `round` after `after`, unless a later round replaced the clock.
    fn arm_clock(
        &mut self,
        ctx: &mut Context<Self>,
        round: u32,
        battles: Vec<Uuid>,
        after: Duration,
    ) {
        if let Some((_, h)) = self.clock.take() {
            ctx.cancel_future(h);
        }
        let h = ctx.run_later(after, move |act, ctx| {
            let deps = act.deps.clone();
            let id = act.id;
            act.clock = None;
            ctx.spawn(
                async move {
                    if !deps.clocks.first_to_announce(id, round).await {
                        return;
                    }
                    let now = now_ms();
                    let ev = json!({"type": "round_time_up", "tournament_id": id, "round": round,
                        "timestamp": rfc3339(now)});
                    announce(&deps, id, &battles, ev).await;
                    audit(
                        &deps,
                        None,
                        "tournament.round_time_up",
                        id,
                        json!({"round": round}),
                    )
                    .await;
                }
                .into_actor(act),
            );
        });
        self.clock = Some((round, h));
    }
}

impl Handler<GenerateRound> for TournamentActor {
    type Result = AtomicResponse<Self, Result<Value, TournamentError>>;
    fn handle(&mut self, msg: GenerateRound, _: &mut Self::Context) -> Self::Result {
        let deps = self.deps.clone();
        let id = self.id;
        AtomicResponse::new(Box::pin(
            async move {
                let generated = generate(&deps, id, msg.user).await;
                if generated.is_err() {
                    // A failure may follow a partial write (the status, a round row).
                    changed(&deps, id, None).await;
                }
                let (mut view, battles, secs, organizer) = generated?;
                start_tables(&deps, &battles, organizer).await;
                let started = now_ms();
                let ends = started + i64::from(secs) * 1000;
                let round = view["round_number"].as_u64().unwrap_or(0) as u32;
                let r = deps.db.round_started(id, round, started, ends).await;
                changed(&deps, id, None).await;
                r?;
                view["started_at"] = json!(rfc3339(started));
                view["ends_at"] = json!(rfc3339(ends));
                let ev = json!({"type": "round_started", "tournament_id": id, "round": round,
                    "ends_at": rfc3339(ends), "timestamp": rfc3339(started)});
                announce(&deps, id, &battles, ev).await;
                let mine = deps.clocks.claim(id).await;
                Ok::<_, TournamentError>((view, battles, secs, mine))
            }
            .into_actor(self)
            .map(move |r, act, ctx| {
                let (view, battles, secs, mine) = r?;
                let round = view["round_number"].as_u64().unwrap_or(0) as u32;
                if mine {
                    act.arm_clock(ctx, round, battles, Duration::from_secs(u64::from(secs)));
                } else if let Some((_, h)) = act.clock.take() {
                    // Another node runs this tournament's clock (it re-arms from `ends_at`).
                    ctx.cancel_future(h);
                }
                Ok(view)
            }),
        ))
    }
}

impl Handler<BattleFinished> for TournamentActor {
    type Result = AtomicResponse<Self, ()>;
    fn handle(&mut self, _: BattleFinished, _: &mut Self::Context) -> Self::Result {
        let deps = self.deps.clone();
        let id = self.id;
        // Cleared before reading: a battle finishing from here on queues another pass.
        self.pending.remove(&id);
        AtomicResponse::new(Box::pin(
            async move { record(&deps, id).await }
                .into_actor(self)
                .map(|r, act, ctx| match r {
                    Ok(true) => {
                        if let Some((_, h)) = act.clock.take() {
                            ctx.cancel_future(h);
                        }
                    }
                    Ok(false) => {}
                    Err(e) => {
                        tracing::error!(tournament = %act.id, error = %e, "result not recorded")
                    }
                }),
        ))
    }
}

impl Handler<Rearm> for TournamentActor {
    type Result = AtomicResponse<Self, ()>;
    fn handle(&mut self, _: Rearm, _: &mut Self::Context) -> Self::Result {
        if self.clock.is_some() {
            return AtomicResponse::new(Box::pin(fut::ready(())));
        }
        let db = self.deps.db.clone();
        let clocks = self.deps.clocks.clone();
        let id = self.id;
        AtomicResponse::new(Box::pin(
            async move {
                let round = db.rounds(id).await.ok()?.into_iter().next_back()?;
                if round.completed_at.is_some() {
                    clocks.release(id);
                    return None;
                }
                if !clocks.claim(id).await {
                    return None;
                }
                let ends = round.ends_at?;
                let battles = db.pairings(id).await.ok()?;
                let battles: Vec<Uuid> = battles
                    .iter()
                    .filter(|p| p.past.round == round.round)
                    .filter_map(|p| p.battle_id)
                    .collect();
                Some((round.round, battles, ends))
            }
            .into_actor(self)
            .map(|r, act, ctx| {
                if let Some((round, battles, ends)) = r {
                    let left = u64::try_from(ends - now_ms()).unwrap_or(0);
                    act.arm_clock(ctx, round, battles, Duration::from_millis(left));
                }
            }),
        ))
    }
}

/// Maps tournament ids to live actors, starting them on demand.
pub struct TournamentRegistry {
    map: Arc<DashMap<Uuid, Addr<TournamentActor>>>,
    pending: Arc<DashSet<Uuid>>,
    arbiter: ArbiterHandle,
    deps: TournamentDeps,
}

impl TournamentRegistry {
    /// A registry whose actors run on `arbiter`.
    pub fn new(deps: TournamentDeps, arbiter: ArbiterHandle) -> Arc<Self> {
        Arc::new(Self {
            map: Arc::new(DashMap::new()),
            pending: Arc::new(DashSet::new()),
            arbiter,
            deps,
        })
    }

    /// The tournament's actor (started if needed; it loads what it needs per message).
    pub fn get(&self, id: Uuid) -> Addr<TournamentActor> {
        if let Some(a) = self.map.get(&id) {
            if a.connected() {
                return a.clone();
            }
        }
        let spawn = || {
            let deps = self.deps.clone();
            let registry = self.map.clone();
            let pending = self.pending.clone();
            TournamentActor::start_in_arbiter(&self.arbiter, move |_| TournamentActor {
                id,
                deps,
                clock: None,
                registry,
                pending,
            })
        };
        let mut e = self.map.entry(id).or_insert_with(spawn);
        if !e.connected() {
            *e = spawn();
        }
        e.clone()
    }

    /// The hook the tables call when a tournament battle ends (holds the registry weakly).
    /// Notifications coalesce: one queued `BattleFinished` per tournament reads every result
    /// committed so far, so a round of 500 tables finishing at once cannot fill the mailbox.
    pub(crate) fn finished_hook(self: &Arc<Self>) -> Box<dyn Fn(&TrackerBattle) + Send + Sync> {
        let weak: Weak<Self> = Arc::downgrade(self);
        Box::new(move |b: &TrackerBattle| {
            let (Some(reg), Some(t)) = (weak.upgrade(), b.tournament_id) else {
                return;
            };
            if reg.pending.insert(t) && reg.get(t).try_send(BattleFinished).is_err() {
                reg.pending.remove(&t);
                // generate-pairings re-reads results, so nothing is lost for good.
                tracing::warn!(tournament = %t, "tournament mailbox full; result read later");
            }
        })
    }

    /// Multi-node: every `period`, re-arms the round clocks whose node is gone.
    pub(crate) fn spawn_takeovers(self: &Arc<Self>, period: Duration) {
        let Some(c) = self.deps.clocks.cluster().cloned() else {
            return;
        };
        let me = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut t = tokio::time::interval(period);
            loop {
                c.next_sweep(&mut t).await;
                let Some(me) = me.upgrade() else { return };
                if let Err(e) = me.restore().await {
                    tracing::warn!(error = %e, "tournament clock sweep failed");
                }
            }
        });
    }

    /// Re-arms round clocks of active tournaments after a restart (in multi-node mode, those
    /// whose clock lease this node gets).
    pub(crate) async fn restore(&self) -> Result<usize, StoreError> {
        let ids = self.deps.db.active_tournament_ids().await?;
        for id in &ids {
            self.get(*id).do_send(Rearm);
        }
        Ok(ids.len())
    }
}
