//! Multi-node: each live robot battle runs on exactly one node, the holder of the Redis
//! lease `battle/{id}`. The node that creates a battle claims it; when an owner dies its
//! leases expire and a sweep on every other node claims the orphans and resumes them from
//! Postgres (the battle is a pure function of its stored inputs and start instant). A node
//! whose lease was lost stops the battle at once (fencing): it never ticks on two nodes.
//!
//! On a single node (no Redis) every battle is this node's and nothing here runs.

use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use uuid::Uuid;

use super::Game;
use crate::cluster::{Cluster, LeaseGuard};
use crate::metrics::METRICS;

/// The lease kind of live robot battles.
const KIND: &str = "battle";

/// This node's claims on live battles.
#[derive(Default)]
pub(crate) struct Owner {
    cluster: Option<Arc<Cluster>>,
    guards: DashMap<Uuid, LeaseGuard>,
    /// Battles that finished here lately (id → when): a call forwarded by a node that still
    /// saw our lease is answered "not found" (the battle is over), not "retry".
    finished: DashMap<Uuid, std::time::Instant>,
}

/// How long a finished battle is remembered for forwarded calls; a forward takes at most
/// its 5 s timeout, so this is plenty.
const FINISHED_MEMORY: Duration = Duration::from_secs(60);

impl Owner {
    /// Claims for `cluster` (`None`: single node).
    pub(crate) fn new(cluster: Option<Arc<Cluster>>) -> Owner {
        Owner {
            cluster,
            guards: DashMap::new(),
            finished: DashMap::new(),
        }
    }

    /// The cluster link, in multi-node mode.
    pub(crate) fn cluster(&self) -> Option<&Arc<Cluster>> {
        self.cluster.as_ref()
    }
}

impl Game {
    /// The cluster link, in multi-node mode.
    pub(crate) fn owner_cluster(&self) -> Option<&Arc<Cluster>> {
        self.owner.cluster()
    }

    /// Claims battle `id` for this node: true when it is this node's to run (always on a
    /// single node).
    #[tracing::instrument(skip(self))]
    pub(crate) async fn claim(self: &Arc<Self>, id: Uuid) -> bool {
        let Some(c) = self.owner.cluster() else {
            return true;
        };
        match c.leases.try_acquire(KIND, &id.to_string()).await {
            Ok(Some(guard)) => {
                let lost = guard.lost();
                self.owner.guards.insert(id, guard);
                let game = Arc::downgrade(self);
                tokio::spawn(async move {
                    lost.await;
                    if let Some(game) = game.upgrade() {
                        game.fence(id);
                    }
                });
                true
            }
            Ok(None) => false,
            Err(e) => {
                tracing::warn!(battle = %id, error = %e, "could not claim a battle");
                false
            }
        }
    }

    /// The lease on `id` ended without the battle finishing here (Redis unreachable for too
    /// long, or another node took it): stop running it now.
    fn fence(&self, id: Uuid) {
        if self.owner.guards.remove(&id).is_none() {
            return; // released normally: the battle finished here
        }
        if let Some((_, addr)) = self.battles.remove(&id) {
            tracing::warn!(battle = %id, "battle lease lost: stopped on this node");
            addr.do_send(crate::actors::battle::Fenced);
        }
        self.in_battle.retain(|_, b| *b != id);
        METRICS.live_battles.set(self.battles.len() as i64);
    }

    /// Lets the lease on `id` go (the battle finished here, or its resume failed).
    pub(crate) fn release(&self, id: Uuid) {
        self.owner.guards.remove(&id);
    }

    /// Battle `id` finished on this node: its lease goes, and it is remembered for a while.
    pub(crate) fn release_finished(&self, id: Uuid) {
        if self.owner.cluster.is_none() {
            return;
        }
        let now = std::time::Instant::now();
        if self.owner.finished.len() >= 4096 {
            self.owner
                .finished
                .retain(|_, at| now.duration_since(*at) < FINISHED_MEMORY);
        }
        self.owner.finished.insert(id, now);
        self.release(id);
    }

    /// True when battle `id` finished on this node within the last minute.
    pub(crate) fn finished_here(&self, id: Uuid) -> bool {
        self.owner
            .finished
            .get(&id)
            .is_some_and(|at| at.elapsed() < FINISHED_MEMORY)
    }

    /// The node that runs battle `id` now, if any node does.
    pub(crate) async fn owner_of(&self, id: Uuid) -> Option<String> {
        let c = self.owner.cluster()?;
        c.leases.owner(KIND, &id.to_string()).await.ok().flatten()
    }

    /// Takes over battle `id` if nobody runs it: claims it and resumes it from the store.
    /// True when this node runs it afterwards.
    pub(crate) async fn take_over(self: &Arc<Self>, id: Uuid) -> bool {
        // Actors start on the game's arbiter (callers run on plain tokio tasks).
        let (tx, rx) = tokio::sync::oneshot::channel();
        let game = self.clone();
        self.arbiter.spawn(async move {
            let _ = tx.send(game.take_over_here(id).await);
        });
        rx.await.unwrap_or(false)
    }

    async fn take_over_here(self: &Arc<Self>, id: Uuid) -> bool {
        if self.battles.contains_key(&id) {
            return true;
        }
        let row = match self.db.robot_battle(id).await {
            Ok(Some(r)) if r.status == "COUNTDOWN" || r.status == "IN_PROGRESS" => r,
            _ => return false,
        };
        if !self.claim(id).await {
            return false;
        }
        match self.resume_rows(vec![row]).await {
            Ok(n) if n > 0 => {
                METRICS.lease_takeovers.with_label_values(&[KIND]).inc();
                tracing::info!(battle = %id, "took over a battle");
                true
            }
            _ => {
                self.release(id);
                false
            }
        }
    }

    /// Every `period`, claims the unfinished battles no live node holds (their owner died or
    /// left) and resumes them here.
    pub(crate) fn spawn_takeovers(self: &Arc<Self>, period: Duration) {
        let Some(c) = self.owner.cluster().cloned() else {
            return;
        };
        let game = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut t = tokio::time::interval(period);
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                c.next_sweep(&mut t).await;
                let Some(game) = game.upgrade() else { return };
                // A battle younger than a lease is still being claimed by the node that
                // created it (it stores the battle first, then claims it): not an orphan.
                let before = crate::store::now_ms() - c.leases.ttl().as_millis() as i64;
                let Ok(ids) = game.db.unfinished_robot_battle_ids(before).await else {
                    continue;
                };
                for id in ids {
                    if game.battles.contains_key(&id) || game.owner_of(id).await.is_some() {
                        continue;
                    }
                    game.take_over(id).await;
                }
            }
        });
    }
}
