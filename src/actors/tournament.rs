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
use dashmap::DashMap;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::actors::persister::{Persist, Persister};
use crate::actors::table::{Apply, TableCommand, TableRegistry};
use crate::auth::{AuthUser, Role};
use crate::domain::tournament::{plan_next, Entry, Plan, PlanError, TournamentStatus};
use crate::domain::tracker::{Action, NewBattle, TrackerBattle};
use crate::realtime::{sio::SioEntry, table_ws::TableHub};
use crate::store::{audit::audit_op, now_ms, rfc3339, Db, StoreError};

/// What a tournament actor needs from the process.
#[derive(Clone)]
pub struct TournamentDeps {
    /// Database.
    pub db: Db,
    /// Writer (audit rows).
    pub persister: Addr<Persister>,
    /// Per-battle fan-out.
    pub hub: Arc<TableHub>,
    /// Socket.IO rooms.
    pub sio: Arc<dyn SioEntry>,
    /// Live battles.
    pub tables: Arc<TableRegistry>,
}

/// Why a tournament command failed.
#[derive(Debug, thiserror::Error)]
pub enum TournamentError {
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
pub struct GenerateRound {
    /// Caller.
    pub user: AuthUser,
}

/// A battle of this tournament reached `completed` or `cancelled`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct BattleFinished;

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
}

impl Actor for TournamentActor {
    type Context = Context<Self>;
    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(64);
        // Without a running round clock the actor holds nothing worth keeping in memory.
        ctx.run_interval(Duration::from_secs(600), |act, ctx| {
            if act.clock.is_none() {
                ctx.stop();
            }
        });
    }
    fn stopped(&mut self, _: &mut Self::Context) {
        self.registry.remove(&self.id);
    }
}

/// Emits `event` to the tournament room and, per battle, to each table's subscribers.
async fn announce(deps: &TournamentDeps, id: Uuid, battles: &[Uuid], event: Value) {
    for b in battles {
        let mut e = event.clone();
        e["battle_id"] = json!(b);
        deps.hub.publish(*b, &e).await;
    }
    let name = event["type"]
        .as_str()
        .unwrap_or("tournament_event")
        .to_string();
    let _ = deps
        .sio
        .io()
        .to(format!("tournament:{id}"))
        .emit(name, &event)
        .await;
}

async fn audit(deps: &TournamentDeps, actor: Option<Uuid>, action: &str, id: Uuid, d: Value) {
    let op = audit_op(actor, action, Some(&id.to_string()), None, &d);
    if let Err(e) = deps.persister.send(Persist(vec![op])).await {
        tracing::warn!(error = %e, "tournament audit not queued");
    }
}

/// Creates the next round; returns its API view, battle ids and clock length (seconds).
async fn generate(
    deps: &TournamentDeps,
    id: Uuid,
    user: AuthUser,
) -> Result<(Value, Vec<Uuid>, u32, Uuid), TournamentError> {
    let db = &deps.db;
    let t = db.tournament(id).await?.ok_or(TournamentError::NotFound)?;
    if !user.is_owner_or_admin(t.organizer_id) {
        return Err(TournamentError::Forbidden);
    }
    if t.status != TournamentStatus::Active {
        return Err(TournamentError::InvalidState(format!(
            "pairings are generated while the tournament is active (it is {})",
            t.status.as_str()
        )));
    }
    let parts = db.participants(id).await?;
    let entries: Vec<Entry> = parts
        .iter()
        .enumerate()
        .map(|(i, p)| Entry {
            user: p.0,
            seed: i as u32 + 1,
        })
        .collect();
    let past: Vec<_> = db.pairings(id).await?.into_iter().map(|p| p.past).collect();
    let seed: u64 = rand::random();
    let plan = match plan_next(t.format, &t.rules, &entries, &past, seed) {
        Ok(p) => p,
        Err(PlanError::RoundUnfinished(r)) => {
            return Err(TournamentError::RoundUnfinished(format!(
                "round {r} has unfinished battles"
            )))
        }
        Err(PlanError::Pairing(e)) => return Err(TournamentError::Pairing(e.to_string())),
    };
    let Plan::Round {
        round,
        games,
        bye,
        explanation,
    } = plan
    else {
        // Normally the last result already completed it; make sure (a missed hook).
        record(deps, id).await?;
        return Err(TournamentError::InvalidState(
            "no rounds left: the tournament is decided".into(),
        ));
    };
    let now = now_ms();
    let army = |u: Uuid| {
        parts
            .iter()
            .find(|p| p.0 == u)
            .map(|p| p.1)
            .unwrap_or_default()
    };
    let battles: Vec<_> = games
        .iter()
        .map(|g| {
            let b = TrackerBattle::new(
                Uuid::new_v4(),
                NewBattle {
                    tournament_id: Some(id),
                    battle_type: "matched_play".into(),
                    mission: json!({}),
                    players: [
                        (g.p1, army(g.p1), "left".into()),
                        (g.p2, army(g.p2), "right".into()),
                    ],
                    max_rounds: t.rules.battle_rounds.unwrap_or(5),
                    turn_time_limit: t.rules.turn_time_limit.unwrap_or(1800),
                    tenth_edition: true,
                    auto_end_turn_on_timeout: false,
                },
                now,
            );
            (b, g.table, g.bracket)
        })
        .collect();
    let byes: Vec<Uuid> = bye.into_iter().collect();
    match db
        .create_round(id, round, &explanation, &battles, &byes, now)
        .await
    {
        Err(StoreError::Conflict(_)) => {
            return Err(TournamentError::Conflict(format!(
                "round {round} was generated concurrently"
            )))
        }
        r => r?,
    }
    let pairings: Vec<Value> = battles
        .iter()
        .map(|(b, table, bracket)| {
            json!({ "battle_id": b.id, "player1_id": b.players[0].user_id,
                "player2_id": b.players[1].user_id, "table_number": table, "bracket_match": bracket })
        })
        .collect();
    let view = json!({ "round_number": round, "pairings": pairings, "bye": bye, "explanation": explanation });
    audit(
        deps,
        Some(user.id),
        "tournament.pairings_generated",
        id,
        view.clone(),
    )
    .await;
    let ids = battles.iter().map(|b| b.0.id).collect();
    Ok((view, ids, t.rules.time_limit, t.organizer_id))
}

/// Starts every table's clock together (concurrently, as the organizer).
async fn start_tables(deps: &TournamentDeps, battles: &[Uuid], organizer: Uuid) {
    let user = AuthUser {
        id: organizer,
        role: Role::Organizer,
    };
    let starts = battles.iter().map(|&b| {
        let tables = deps.tables.clone();
        async move {
            let Ok(Some(addr)) = tables.get(b).await else {
                return;
            };
            let msg = Apply {
                user,
                organizer: Some(organizer),
                cmd: TableCommand::Act(Action::Start),
            };
            let err = match addr.send(msg).await {
                Ok(Ok(_)) => return,
                Ok(Err(e)) => e.to_string(),
                Err(e) => e.to_string(),
            };
            tracing::warn!(battle = %b, error = %err, "tournament table not started");
        }
    });
    futures_util::future::join_all(starts).await;
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
                let (mut view, battles, secs, organizer) = generate(&deps, id, msg.user).await?;
                start_tables(&deps, &battles, organizer).await;
                let started = now_ms();
                let ends = started + i64::from(secs) * 1000;
                let round = view["round_number"].as_u64().unwrap_or(0) as u32;
                deps.db.round_started(id, round, started, ends).await?;
                view["started_at"] = json!(rfc3339(started));
                view["ends_at"] = json!(rfc3339(ends));
                let ev = json!({"type": "round_started", "tournament_id": id, "round": round,
                    "ends_at": rfc3339(ends), "timestamp": rfc3339(started)});
                announce(&deps, id, &battles, ev).await;
                Ok::<_, TournamentError>((view, battles, secs))
            }
            .into_actor(self)
            .map(move |r, act, ctx| {
                let (view, battles, secs) = r?;
                let round = view["round_number"].as_u64().unwrap_or(0) as u32;
                act.arm_clock(ctx, round, battles, Duration::from_secs(u64::from(secs)));
                Ok(view)
            }),
        ))
    }
}

/// Records a finished battle: closes the round when its last battle ends, and completes the
/// tournament (counting the winner's `tournament_wins`) when no round is left.
async fn record(deps: &TournamentDeps, id: Uuid) -> Result<bool, TournamentError> {
    let db = &deps.db;
    let Some(t) = db.tournament(id).await? else {
        return Ok(false);
    };
    if t.status != TournamentStatus::Active {
        return Ok(false);
    }
    let rows = db.pairings(id).await?;
    let Some(round) = rows.iter().map(|p| p.past.round).max() else {
        return Ok(false);
    };
    let entries: Vec<Entry> = db
        .participants(id)
        .await?
        .iter()
        .enumerate()
        .map(|(i, p)| Entry {
            user: p.0,
            seed: i as u32 + 1,
        })
        .collect();
    let past: Vec<_> = rows.iter().map(|p| p.past).collect();
    let plan = match plan_next(t.format, &t.rules, &entries, &past, 0) {
        Err(PlanError::RoundUnfinished(_)) => return Ok(false),
        Err(PlanError::Pairing(e)) => return Err(TournamentError::Pairing(e.to_string())),
        Ok(p) => p,
    };
    let now = now_ms();
    let battles: Vec<Uuid> = rows
        .iter()
        .filter(|p| p.past.round == round)
        .filter_map(|p| p.battle_id)
        .collect();
    if db.round_completed(id, round, now).await? {
        let ev = json!({"type": "round_completed", "tournament_id": id, "round": round,
            "timestamp": rfc3339(now)});
        announce(deps, id, &[], ev).await;
        audit(
            deps,
            None,
            "tournament.round_completed",
            id,
            json!({"round": round}),
        )
        .await;
    }
    if let Plan::Finished { winner } = plan {
        if db.complete_tournament(id, winner, now).await? {
            let ev = json!({"type": "tournament_completed", "tournament_id": id,
                "winner_id": winner, "timestamp": rfc3339(now)});
            announce(deps, id, &battles, ev).await;
            audit(
                deps,
                None,
                "tournament.completed",
                id,
                json!({"winner_id": winner}),
            )
            .await;
            return Ok(true);
        }
    }
    Ok(false)
}

impl Handler<BattleFinished> for TournamentActor {
    type Result = AtomicResponse<Self, ()>;
    fn handle(&mut self, _: BattleFinished, _: &mut Self::Context) -> Self::Result {
        let deps = self.deps.clone();
        let id = self.id;
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
        let db = self.deps.db.clone();
        let id = self.id;
        AtomicResponse::new(Box::pin(
            async move {
                let round = db.rounds(id).await.ok()?.into_iter().next_back()?;
                if round.completed_at.is_some() {
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
    arbiter: ArbiterHandle,
    deps: TournamentDeps,
}

impl TournamentRegistry {
    /// A registry whose actors run on `arbiter`.
    pub fn new(deps: TournamentDeps, arbiter: ArbiterHandle) -> Arc<Self> {
        Arc::new(Self {
            map: Arc::new(DashMap::new()),
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
            TournamentActor::start_in_arbiter(&self.arbiter, move |_| TournamentActor {
                id,
                deps,
                clock: None,
                registry,
            })
        };
        let mut e = self.map.entry(id).or_insert_with(spawn);
        if !e.connected() {
            *e = spawn();
        }
        e.clone()
    }

    /// The hook the tables call when a tournament battle ends (holds the registry weakly).
    pub fn finished_hook(self: &Arc<Self>) -> Box<dyn Fn(&TrackerBattle) + Send + Sync> {
        let weak: Weak<Self> = Arc::downgrade(self);
        Box::new(move |b: &TrackerBattle| {
            if let (Some(reg), Some(t)) = (weak.upgrade(), b.tournament_id) {
                if reg.get(t).try_send(BattleFinished).is_err() {
                    tracing::warn!(tournament = %t, "tournament mailbox full; result read later");
                }
            }
        })
    }

    /// Re-arms round clocks of active tournaments after a restart.
    pub async fn restore(&self) -> Result<usize, StoreError> {
        let ids = self.deps.db.active_tournament_ids().await?;
        for id in &ids {
            self.get(*id).do_send(Rearm);
        }
        Ok(ids.len())
    }
}
