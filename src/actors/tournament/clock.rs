//! Multi-node: a tournament's round clock runs on one node, the holder of the lease
//! `tclock/{id}`; the others do not arm it. When the holder dies, the next sweep on another
//! node claims the lease and re-arms the clock from the stored `ends_at`. The end of a round
//! is announced once: the firing clock first takes `{prefix}:round_up:{id}:{round}` with
//! `SET NX`, so even a clock that fires during a hand-over cannot announce it twice.

use std::sync::Arc;

use dashmap::DashMap;
use uuid::Uuid;

use crate::cluster::{Cluster, LeaseGuard};

const KIND: &str = "tclock";

/// This node's claims on round clocks (`None` cluster: single node, every clock is here).
#[derive(Default)]
pub struct ClockLeases {
    cluster: Option<Arc<Cluster>>,
    guards: DashMap<Uuid, LeaseGuard>,
}

impl ClockLeases {
    /// Claims for `cluster`.
    pub fn new(cluster: Option<Arc<Cluster>>) -> Arc<ClockLeases> {
        Arc::new(ClockLeases {
            cluster,
            guards: DashMap::new(),
        })
    }

    /// The cluster link, in multi-node mode.
    pub(crate) fn cluster(&self) -> Option<&Arc<Cluster>> {
        self.cluster.as_ref()
    }

    /// True when tournament `id`'s clock is this node's to run.
    pub(crate) async fn claim(&self, id: Uuid) -> bool {
        let Some(c) = &self.cluster else {
            return true;
        };
        if let Some(g) = self.guards.get(&id) {
            if g.is_held() {
                return true;
            }
        }
        self.guards.remove(&id);
        match c.leases.try_acquire(KIND, &id.to_string()).await {
            Ok(Some(g)) => {
                self.guards.insert(id, g);
                true
            }
            _ => false,
        }
    }

    /// True for the one clock in the cluster that announces the end of `round`.
    pub(crate) async fn first_to_announce(&self, id: Uuid, round: u32) -> bool {
        let Some(c) = &self.cluster else {
            return true;
        };
        let mut conn = c.conn();
        let r: Result<Option<String>, _> = redis::cmd("SET")
            .arg(c.key(&format!("round_up:{id}:{round}")))
            .arg(c.node_id())
            .arg("NX")
            .arg("PX")
            .arg(7 * 24 * 3600 * 1000u64)
            .query_async(&mut conn)
            .await;
        // Redis down: announcing twice beats never announcing.
        r.map(|v| v.is_some()).unwrap_or(true)
    }

    /// The tournament is over: its clock lease goes.
    pub(crate) fn release(&self, id: Uuid) {
        self.guards.remove(&id);
    }
}
