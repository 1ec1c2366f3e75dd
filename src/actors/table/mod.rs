//! TableActor: one per live tracker battle. It owns the battle's state and turn clock, emits
//! `timer_update` every period and `turn_timeout` once per late turn, and makes every change
//! durable through the Persister before acknowledging it.

use std::{sync::Arc, time::Duration};

use actix::prelude::*;
use dashmap::DashMap;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::actors::clock::TimeSource;
use crate::actors::persister::Persist;
use crate::actors::rooms::TableHub;
use crate::auth::{AuthUser, Role};
use crate::domain::tracker::{
    Action, Complete, ConsentAction, Status, TrackerBattle, TrackerError, TrackerEvent,
};
use crate::metrics::METRICS;
use crate::store::{audit::audit_op, rfc3339, tracker, Db};

/// What an actor needs from the process.
#[derive(Clone)]
pub struct TableDeps {
    /// Database.
    pub db: Db,
    /// Writer (the Persister; a recipient so a test can stand in for it).
    pub persister: Recipient<Persist>,
    /// Fan-out.
    pub(crate) hub: Arc<TableHub>,
    /// `timer_update` period.
    pub timer: Duration,
    /// Told about each tournament battle that reaches `completed` or `cancelled` (set once
    /// the tournament registry exists; it records results and closes rounds).
    pub finished: FinishedHook,
    /// Where "now" comes from (the wall clock, or tokio's clock in tests).
    pub time: TimeSource,
    /// The per-battle update quota, asked only for callers allowed to change the battle.
    pub(crate) update_gate: UpdateGate,
}

/// Counts one change of a battle against its quota: `Err(retry_after_s)` when it is spent.
///
/// Asked after the permission check so that refused callers cannot use up the players' quota.
/// The check may be async (multi-node mode counts in Redis); it is awaited inside the
/// actor's atomic reply, before the change is written.
#[derive(Clone)]
pub(crate) struct UpdateGate(Arc<dyn Fn(Uuid) -> GateFuture + Send + Sync>);

/// The answer of an [`UpdateGate`].
pub(crate) type GateFuture = futures_util::future::BoxFuture<'static, Result<(), u64>>;

impl UpdateGate {
    /// A gate over a quota check.
    pub fn new(check: impl Fn(Uuid) -> GateFuture + Send + Sync + 'static) -> Self {
        Self(Arc::new(check))
    }
}

impl Default for UpdateGate {
    /// No quota.
    fn default() -> Self {
        Self::new(|_| Box::pin(std::future::ready(Ok(()))))
    }
}

/// See [`TableDeps::finished`].
pub(crate) type FinishedHook = Arc<std::sync::OnceLock<Box<dyn Fn(&TrackerBattle) + Send + Sync>>>;

/// A change requested over HTTP (it travels to the owner node as JSON in multi-node mode).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) enum TableCommand {
    /// PATCH action.
    Act(Action),
    /// POST advance-round.
    AdvanceRound,
    /// POST complete.
    Complete(Complete),
    /// A PATCH about the completed result; `locked`: the battle's tournament has paired the
    /// next round, so its result may no longer be disputed.
    Consent {
        /// What.
        action: ConsentAction,
        /// Past the dispute window.
        locked: bool,
    },
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TableError {
    /// Caller may not change this battle.
    #[error("only the battle's players, its organizer or an admin may change it")]
    Forbidden,
    /// Rules refused it.
    #[error(transparent)]
    Rules(#[from] TrackerError),
    /// Not durable: not applied.
    #[error("could not save: {0}")]
    Persist(String),
    /// Actor gone or overloaded.
    #[error("battle actor unavailable")]
    Unavailable,
    /// The battle's update quota is spent; retry after this many seconds.
    #[error("too many updates for this battle")]
    RateLimited(u64),
    /// No such battle.
    #[error("battle not found")]
    NotFound,
}

/// Apply a command as `user`; replies with the new state after COMMIT.
#[derive(Message)]
#[rtype(result = "Result<TrackerBattle, TableError>")]
pub(crate) struct Apply {
    /// Caller.
    pub user: AuthUser,
    /// Organizer allowed to manage (tournament battles).
    pub organizer: Option<Uuid>,
    /// What.
    pub cmd: TableCommand,
}

/// Current state.
#[derive(Message)]
#[rtype(result = "TrackerBattle")]
pub(crate) struct Snapshot;

/// Save the state now (graceful shutdown); resolves after COMMIT.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Checkpoint;

/// The live battle actor.
pub struct TableActor {
    battle: TrackerBattle,
    deps: TableDeps,
    registry: Arc<Slots>,
    /// The `timer_update` interval, re-anchored whenever the clock starts running.
    ticker: Option<SpawnHandle>,
    ticks_since_checkpoint: u32,
}

/// How often a running battle checkpoints `alive_at` between changes. Each checkpoint rewrites
/// the battle's row, so checkpointing every tick made these writes most of the database's
/// traffic (1,000 battles: ~1,000 row rewrites/s, WAL checkpoints every second, PATCH p99 45 ms).
/// The price: after a crash (not a graceful stop, which checkpoints every battle) up to this
/// much of a running turn is treated as downtime and not charged.
pub(crate) const CHECKPOINT_PERIOD: Duration = Duration::from_secs(10);

fn event_json(id: Uuid, events: &[TrackerEvent]) -> Vec<Value> {
    events.iter().map(|e| e.to_json(id, rfc3339)).collect()
}

impl TableActor {
    fn new(battle: TrackerBattle, deps: TableDeps, registry: Arc<Slots>) -> Self {
        Self {
            battle,
            deps,
            registry,
            ticker: None,
            ticks_since_checkpoint: 0,
        }
    }

    /// Saves the state with `alive_at = now` (what restart recovery counts downtime from).
    fn checkpoint_op(&mut self, now: i64) -> crate::actors::persister::WriteOp {
        self.ticks_since_checkpoint = 0;
        self.battle.alive_at = now;
        tracker::save_op(&self.battle)
    }

    /// (Re)starts the tick grid now. Called when the clock starts running (start, resume, a new
    /// turn), so every tick lands just after a whole second of the turn: `time_remaining`
    /// then steps down by exactly one per tick, whatever the scheduling jitter below a period.
    /// Battles also end up with their ticks spread over the period instead of all at once.
    fn anchor_ticks(&mut self, ctx: &mut Context<Self>) {
        if let Some(h) = self.ticker.take() {
            ctx.cancel_future(h);
        }
        self.ticker = Some(ctx.run_interval(self.deps.timer, |act, ctx| act.tick(ctx)));
    }

    fn publish(&self, ctx: &mut Context<Self>, events: Vec<Value>) {
        let hub = self.deps.hub.clone();
        let id = self.battle.id;
        ctx.spawn(
            async move {
                for e in events {
                    hub.publish(id, &e).await;
                }
            }
            .into_actor(self),
        );
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        if self.battle.status != Status::InProgress {
            return;
        }
        let now = self.deps.time.now_ms();
        let mut events = Vec::new();
        if !self.battle.clock.is_paused() {
            events.push(self.battle.timer_event(now));
        }
        let timeouts = self.battle.check_timeout(now);
        self.ticks_since_checkpoint = self.ticks_since_checkpoint.saturating_add(1);
        let every = (CHECKPOINT_PERIOD.as_millis() / self.deps.timer.as_millis().max(1)).max(1);
        let due =
            u128::from(self.ticks_since_checkpoint) >= every && !self.battle.clock.is_paused();
        if due || !timeouts.is_empty() {
            let mut ops = vec![self.checkpoint_op(now)];
            if !timeouts.is_empty() {
                ops.push(audit_op(
                    None,
                    "battle.turn_timeout",
                    Some(&self.battle.id.to_string()),
                    None,
                    &json!({"round": self.battle.current_round}),
                ));
            }
            let persister = self.deps.persister.clone();
            ctx.spawn(
                async move {
                    if let Err(e) = persister.send(Persist(ops)).await {
                        tracing::warn!(error = %e, "table checkpoint not queued");
                    }
                }
                .into_actor(self),
            );
        }
        events.extend(timeouts);
        let evs = event_json(self.battle.id, &events);
        self.publish(ctx, evs);
    }
}

impl Actor for TableActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(256);
        METRICS.actors.with_label_values(&["table"]).inc();
        self.anchor_ticks(ctx);
        // Idle terminal battles leave memory after a minute.
        ctx.run_interval(Duration::from_secs(60), |act, ctx| {
            if matches!(act.battle.status, Status::Completed | Status::Cancelled) {
                ctx.stop();
            }
        });
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        METRICS.actors.with_label_values(&["table"]).dec();
        self.registry.map.remove(&self.battle.id);
        // Multi-node: the battle leaves this node with its actor, and its lease with it.
        self.registry.leases.remove(&self.battle.id);
    }
}

impl Handler<Snapshot> for TableActor {
    type Result = MessageResult<Snapshot>;
    fn handle(&mut self, _: Snapshot, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.battle.clone())
    }
}

impl Handler<Checkpoint> for TableActor {
    type Result = ResponseFuture<()>;
    fn handle(&mut self, _: Checkpoint, _: &mut Self::Context) -> Self::Result {
        let persister = self.deps.persister.clone();
        let op = (self.battle.status == Status::InProgress)
            .then(|| self.checkpoint_op(self.deps.time.now_ms()));
        Box::pin(async move {
            if let Some(op) = op {
                if let Err(e) = persister.send(Persist(vec![op])).await {
                    tracing::warn!(error = %e, "table checkpoint not queued");
                }
            }
        })
    }
}

impl Handler<Apply> for TableActor {
    type Result = AtomicResponse<Self, Result<TrackerBattle, TableError>>;

    #[tracing::instrument(skip_all, fields(battle = %self.battle.id))]
    fn handle(&mut self, msg: Apply, _ctx: &mut Self::Context) -> Self::Result {
        let allowed = msg.user.role == Role::Admin
            || self.battle.players.iter().any(|p| p.user_id == msg.user.id)
            || msg.organizer == Some(msg.user.id);
        let now = self.deps.time.now_ms();
        let mut next = self.battle.clone();
        if !allowed {
            return AtomicResponse::new(Box::pin(fut::ready(Err(TableError::Forbidden))));
        }
        let gate = (self.deps.update_gate.0)(self.battle.id);
        let result = {
            let name = match &msg.cmd {
                TableCommand::Act(a) => format!("{a:?}")
                    .split([' ', '{', '('])
                    .next()
                    .unwrap_or("action")
                    .to_string(),
                TableCommand::AdvanceRound => "AdvanceRound".into(),
                TableCommand::Complete(_) => "Complete".into(),
                TableCommand::Consent { action, .. } => format!("{action:?}")
                    .split([' ', '{'])
                    .next()
                    .unwrap_or("consent")
                    .to_string(),
            };
            let user = msg.user.id;
            let player = self.battle.players.iter().any(|p| p.user_id == user);
            let manager = msg.user.role == Role::Admin || msg.organizer == Some(user);
            let r: Result<_, TableError> = match msg.cmd {
                TableCommand::Act(a) => next.apply_as(a, Some(user), now).map_err(Into::into),
                TableCommand::AdvanceRound => next.advance_round(now).map_err(Into::into),
                TableCommand::Complete(c) => next
                    .complete(c, now)
                    .inspect(|_| next.result_entered(Some(user)))
                    .map_err(Into::into),
                TableCommand::Consent { action, locked } => match action {
                    ConsentAction::ConfirmResult if player => {
                        next.confirm_result(user, now).map_err(Into::into)
                    }
                    ConsentAction::DisputeResult { reason } if player => next
                        .dispute_result(user, reason, locked, now)
                        .map_err(Into::into),
                    ConsentAction::ResolveDispute {
                        winner_id,
                        final_scores,
                    } if manager => next
                        .resolve_dispute(
                            user,
                            Complete {
                                winner_id,
                                final_scores,
                            },
                            now,
                        )
                        .map_err(Into::into),
                    // Confirming and disputing are the players' own; settling is the organizer's.
                    _ => Err(TableError::Forbidden),
                },
            };
            r.map(|events| (name, events))
        };
        let (name, events) = match result {
            Ok(x) => x,
            Err(e) => {
                // The quota is counted first, as before: a spent quota answers 429.
                let r = async move { gate.await.map_err(TableError::RateLimited).and(Err(e)) };
                return AtomicResponse::new(Box::pin(r.into_actor(self)));
            }
        };
        next.alive_at = now;
        let ops = vec![
            tracker::save_op(&next),
            audit_op(
                Some(msg.user.id),
                &format!("battle.{name}"),
                Some(&next.id.to_string()),
                None,
                &crate::domain::changes::changes(
                    &self.battle.to_api(now, rfc3339),
                    &next.to_api(now, rfc3339),
                ),
            ),
        ];
        let persister = self.deps.persister.clone();
        let hub = self.deps.hub.clone();
        let evs = event_json(next.id, &events);
        let id = next.id;
        AtomicResponse::new(Box::pin(
            async move {
                gate.await.map_err(TableError::RateLimited)?;
                match persister.send(Persist(ops)).await {
                    Ok(Ok(())) => {
                        for e in &evs {
                            hub.publish(id, e).await;
                        }
                        Ok(())
                    }
                    Ok(Err(e)) => Err(TableError::Persist(e.to_string())),
                    Err(_) => Err(TableError::Unavailable),
                }
            }
            .into_actor(self)
            .map(move |r, act, ctx| {
                r?;
                let started = next.clock.running_since.is_some()
                    && next.clock.running_since != act.battle.clock.running_since;
                act.battle = next;
                let done = matches!(act.battle.status, Status::Completed | Status::Cancelled);
                if done && act.battle.tournament_id.is_some() {
                    if let Some(hook) = act.deps.finished.get() {
                        hook(&act.battle);
                    }
                }
                if started {
                    act.anchor_ticks(ctx);
                }
                Ok(act.battle.clone())
            }),
        ))
    }
}

#[cfg(test)]
mod tests;

mod route;
pub use route::TableRegistry;

/// The live actors of this node and, in multi-node mode, the leases that make them its own.
#[derive(Default)]
pub(crate) struct Slots {
    map: DashMap<Uuid, Addr<TableActor>>,
    leases: DashMap<Uuid, crate::cluster::LeaseGuard>,
}
