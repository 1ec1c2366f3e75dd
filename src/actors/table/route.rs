//! Where a tracker battle's actor runs. One node: here, loaded on demand. Several nodes: on
//! the holder of the lease `table/{id}`; the other nodes forward commands and reads to it
//! (over `cluster::rpc`), so a PATCH sent to any node is applied once, by the owner, and the
//! clock runs in one place. When an owner dies a sweep on every node claims the orphaned
//! battles in progress and restarts their clocks with the downtime not charged.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use futures_util::future::BoxFuture;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{Apply, Checkpoint, Slots, Snapshot, TableActor, TableCommand, TableDeps, TableError};
use crate::auth::{AuthUser, Role};
use crate::cluster::Cluster;
use crate::domain::tracker::{TrackerBattle, TrackerError};
use crate::metrics::METRICS;
use crate::store::{tracker, StoreError};

const KIND: &str = "table";
/// How long a forwarded command may take on the owner (it commits before answering).
const FORWARD_TIMEOUT: Duration = Duration::from_secs(10);

/// Maps battle ids to live actors, starting them on demand in the System arbiter.
pub struct TableRegistry {
    slots: Arc<Slots>,
    arbiter: ArbiterHandle,
    deps: TableDeps,
    cluster: Option<Arc<Cluster>>,
}

/// Stop: another node owns this battle now.
#[derive(Message)]
#[rtype(result = "()")]
struct Fenced;

impl Handler<Fenced> for TableActor {
    type Result = ();
    fn handle(&mut self, _: Fenced, ctx: &mut Self::Context) {
        ctx.stop();
    }
}

enum Route {
    Here(Addr<TableActor>),
    There(String),
}

impl TableRegistry {
    /// A registry whose actors run on `arbiter`; `cluster` in multi-node mode.
    pub fn new(
        deps: TableDeps,
        arbiter: ArbiterHandle,
        cluster: Option<Arc<Cluster>>,
    ) -> Arc<Self> {
        Arc::new(Self {
            slots: Arc::new(Slots::default()),
            arbiter,
            deps,
            cluster,
        })
    }

    fn start(&self, battle: TrackerBattle) -> Addr<TableActor> {
        let id = battle.id;
        let deps = self.deps.clone();
        let slots = self.slots.clone();
        self.slots
            .map
            .entry(id)
            .or_insert_with(|| {
                TableActor::start_in_arbiter(&self.arbiter, move |_| {
                    TableActor::new(battle, deps, slots)
                })
            })
            .clone()
    }

    fn local(&self, id: Uuid) -> Option<Addr<TableActor>> {
        self.slots
            .map
            .get(&id)
            .map(|a| a.clone())
            .filter(|a| a.connected())
    }

    /// Claims `id` for this node (multi-node); `Ok(false)` when another node holds it.
    async fn claim(&self, id: Uuid) -> Result<bool, TableError> {
        let Some(c) = &self.cluster else {
            return Ok(true);
        };
        if self.slots.leases.contains_key(&id) {
            return Ok(true);
        }
        match c.leases.try_acquire(KIND, &id.to_string()).await {
            Ok(Some(guard)) => {
                let lost = guard.lost();
                self.slots.leases.insert(id, guard);
                let slots = Arc::downgrade(&self.slots);
                tokio::spawn(async move {
                    lost.await;
                    let Some(slots) = slots.upgrade() else { return };
                    // Still registered means it was lost, not released with its actor.
                    if slots.leases.remove(&id).is_some() {
                        if let Some((_, addr)) = slots.map.remove(&id) {
                            tracing::warn!(battle = %id, "table lease lost: stopped here");
                            addr.do_send(Fenced);
                        }
                    }
                });
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(e) => {
                tracing::warn!(battle = %id, error = %e, "could not claim a tracker battle");
                Err(TableError::Unavailable)
            }
        }
    }

    /// Loads `id` here (claiming it first in multi-node mode). A battle in progress taken
    /// over from a node that died resumes with that downtime not charged.
    async fn load_here(&self, id: Uuid) -> Result<Option<Route>, TableError> {
        let Some(mut b) = tracker::load_battle(&self.deps.db, id)
            .await
            .map_err(store)?
        else {
            return Ok(None);
        };
        if !self.claim(id).await? {
            return Ok(self.owner(id).await?.map(Route::There));
        }
        if self.cluster.is_some() {
            let now = self.deps.time.now_ms();
            let since = b.alive_at.max(b.updated_at);
            b.resume_after_restart(since, now);
        }
        Ok(Some(Route::Here(self.start(b))))
    }

    async fn owner(&self, id: Uuid) -> Result<Option<String>, TableError> {
        let Some(c) = &self.cluster else {
            return Ok(None);
        };
        c.leases
            .owner(KIND, &id.to_string())
            .await
            .map_err(|_| TableError::Unavailable)
    }

    async fn route(&self, id: Uuid) -> Result<Option<Route>, TableError> {
        if let Some(a) = self.local(id) {
            if self.cluster.is_none() || self.slots.leases.contains_key(&id) {
                return Ok(Some(Route::Here(a)));
            }
        }
        if let Some(c) = &self.cluster {
            if let Some(node) = self.owner(id).await? {
                if node != c.node_id() {
                    return Ok(Some(Route::There(node)));
                }
            }
        }
        self.load_here(id).await
    }

    /// Applies `cmd` as `user` on the battle's owner; the new state after COMMIT.
    #[tracing::instrument(skip(self, cmd))]
    pub(crate) async fn apply(
        &self,
        id: Uuid,
        user: AuthUser,
        organizer: Option<Uuid>,
        cmd: TableCommand,
    ) -> Result<TrackerBattle, TableError> {
        match self.route(id).await?.ok_or(TableError::NotFound)? {
            Route::Here(addr) => addr
                .send(Apply {
                    user,
                    organizer,
                    cmd,
                })
                .await
                .map_err(|_| TableError::Unavailable)?,
            Route::There(node) => {
                let body = json!({
                    "op": "apply", "id": id, "user": user.id, "role": user.role,
                    "organizer": organizer, "cmd": cmd,
                });
                self.forward(&node, body).await
            }
        }
    }

    /// The battle's current state, from its owner.
    #[tracing::instrument(skip(self))]
    pub(crate) async fn snapshot(&self, id: Uuid) -> Result<TrackerBattle, TableError> {
        match self.route(id).await?.ok_or(TableError::NotFound)? {
            Route::Here(addr) => addr
                .send(Snapshot)
                .await
                .map_err(|_| TableError::Unavailable),
            Route::There(node) => self.forward(&node, json!({"op": "get", "id": id})).await,
        }
    }

    async fn forward(&self, node: &str, body: Value) -> Result<TrackerBattle, TableError> {
        let c = self.cluster.as_ref().ok_or(TableError::Unavailable)?;
        let v = c
            .rpc
            .call(node, "table", body, FORWARD_TIMEOUT)
            .await
            .map_err(|e| match e {
                crate::cluster::ClusterError::Remote(m) => decode_error(&m),
                _ => TableError::Unavailable,
            })?;
        serde_json::from_value(v).map_err(|_| TableError::Unavailable)
    }

    /// Serves a command or read forwarded by another node (never forwards it again: a node
    /// that is not the owner any more answers "unavailable" and the caller retries).
    pub fn serve_forwarded(
        self: &Arc<Self>,
        body: Value,
    ) -> BoxFuture<'static, Result<Value, String>> {
        let me = self.clone();
        Box::pin(async move {
            let id: Uuid = serde_json::from_value(body["id"].clone()).map_err(|e| e.to_string())?;
            let addr = match me.route(id).await.map_err(|e| encode_error(&e))? {
                Some(Route::Here(a)) => a,
                Some(Route::There(_)) => return Err(encode_error(&TableError::Unavailable)),
                None => return Err(encode_error(&TableError::NotFound)),
            };
            let r = match body["op"].as_str() {
                Some("get") => addr
                    .send(Snapshot)
                    .await
                    .map_err(|_| TableError::Unavailable),
                Some("apply") => {
                    let parse = || -> Result<Apply, serde_json::Error> {
                        Ok(Apply {
                            user: AuthUser {
                                id: serde_json::from_value(body["user"].clone())?,
                                role: serde_json::from_value::<Role>(body["role"].clone())?,
                            },
                            organizer: serde_json::from_value(body["organizer"].clone())?,
                            cmd: serde_json::from_value(body["cmd"].clone())?,
                        })
                    };
                    let msg = parse().map_err(|e| e.to_string())?;
                    match addr.send(msg).await {
                        Ok(r) => r,
                        Err(_) => Err(TableError::Unavailable),
                    }
                }
                _ => return Err("unknown table op".into()),
            };
            match r {
                Ok(b) => serde_json::to_value(&b).map_err(|e| e.to_string()),
                Err(e) => Err(encode_error(&e)),
            }
        })
    }

    /// Checkpoints every live battle (graceful shutdown: the time up to now is charged).
    pub(crate) async fn checkpoint_all(&self) {
        let addrs: Vec<_> = self.slots.map.iter().map(|e| e.value().clone()).collect();
        futures_util::future::join_all(addrs.iter().map(|a| a.send(Checkpoint))).await;
    }

    /// Restores battles in progress after a restart, not charging the downtime to any turn.
    /// In multi-node mode only those no live node holds (see [`TableRegistry::spawn_takeovers`]).
    pub(crate) async fn restore(&self) -> Result<usize, StoreError> {
        let now = self.deps.time.now_ms();
        let battles = tracker::in_progress(&self.deps.db).await?;
        let mut n = 0;
        for mut b in battles {
            if self.local(b.id).is_some() {
                continue;
            }
            if self.cluster.is_some() {
                if !matches!(self.owner(b.id).await, Ok(None))
                    || !matches!(self.claim(b.id).await, Ok(true))
                {
                    continue;
                }
                METRICS.lease_takeovers.with_label_values(&[KIND]).inc();
            }
            let since = b.alive_at.max(b.updated_at);
            b.resume_after_restart(since, now);
            self.start(b);
            n += 1;
        }
        Ok(n)
    }

    /// Multi-node: every `period`, claims the battles in progress whose owner is gone and
    /// restarts their clocks here.
    pub(crate) fn spawn_takeovers(self: &Arc<Self>, period: Duration) {
        let Some(c) = self.cluster.clone() else {
            return;
        };
        let me = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut t = tokio::time::interval(period);
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                c.next_sweep(&mut t).await;
                let Some(me) = me.upgrade() else { return };
                match me.restore().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(n, "tracker battles taken over"),
                    Err(e) => tracing::warn!(error = %e, "tracker takeover sweep failed"),
                }
            }
        });
    }
}

fn store(e: StoreError) -> TableError {
    TableError::Persist(e.to_string())
}

/// A [`TableError`] as one line for the wire (`code:details`).
fn encode_error(e: &TableError) -> String {
    let v = match e {
        TableError::Forbidden => json!({"k": "forbidden"}),
        TableError::Rules(TrackerError::InvalidState(m)) => json!({"k": "state", "m": m}),
        TableError::Rules(TrackerError::Validation { field, message }) => {
            json!({"k": "field", "f": field, "m": message})
        }
        TableError::Persist(m) => json!({"k": "persist", "m": m}),
        TableError::Unavailable => json!({"k": "unavailable"}),
        TableError::RateLimited(s) => json!({"k": "limited", "s": s}),
        TableError::NotFound => json!({"k": "not_found"}),
    };
    v.to_string()
}

fn decode_error(s: &str) -> TableError {
    let v: Value = serde_json::from_str(s).unwrap_or(Value::Null);
    let m = v["m"].as_str().unwrap_or_default().to_string();
    match v["k"].as_str() {
        Some("forbidden") => TableError::Forbidden,
        Some("state") => TableError::Rules(TrackerError::InvalidState(m)),
        Some("field") => TableError::Rules(TrackerError::Validation {
            field: field_name(v["f"].as_str().unwrap_or_default()),
            message: m,
        }),
        Some("persist") => TableError::Persist(m),
        Some("limited") => TableError::RateLimited(v["s"].as_u64().unwrap_or(60)),
        Some("not_found") => TableError::NotFound,
        _ => TableError::Unavailable,
    }
}

/// The static name of a validation field sent back by the owner node.
fn field_name(f: &str) -> &'static str {
    const NAMES: &[&str] = &[
        "action",
        "cp_cost",
        "delta",
        "final_scores",
        "name",
        "phase",
        "player_id",
        "scores",
        "winner_id",
        "reason",
    ];
    NAMES.iter().find(|n| **n == f).copied().unwrap_or("action")
}
