//! A ban (or unban) takes effect on every node at once.
//!
//! The node that changed the account applies it here ([`BanSync::apply`]): its in-memory ban
//! list and standing cache, the user's raw `/v1/ws` sessions, queue ticket and session, and
//! every Socket.IO socket of theirs on every node (the adapter disconnects the room
//! `user:{id}` cluster-wide). In multi-node mode it also publishes the change on
//! `{prefix}:standing`; every other node applies the same local effects, so its own ban list
//! (which is checked before the database) agrees, and its raw sessions close too.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::actors::game::Game;
use crate::actors::rooms::Rooms;
use crate::auth::{standing::Standing, BanList};
use crate::cluster::Cluster;
use crate::metrics::METRICS;
use crate::realtime::table_ws::TableHub;

#[derive(Serialize, Deserialize)]
struct Change {
    user: Uuid,
    banned: bool,
    origin: String,
}

/// Applies ban changes here and on the other nodes.
pub struct BanSync {
    bans: Arc<BanList>,
    standing: Arc<Standing>,
    hub: Arc<TableHub>,
    game: Arc<Game>,
    rooms: Arc<dyn Rooms>,
    cluster: Option<Arc<Cluster>>,
}

impl BanSync {
    /// Starts listening to the other nodes' changes (multi-node mode).
    pub async fn start(
        bans: Arc<BanList>,
        standing: Arc<Standing>,
        hub: Arc<TableHub>,
        game: Arc<Game>,
        rooms: Arc<dyn Rooms>,
        cluster: Option<Arc<Cluster>>,
    ) -> Result<Arc<BanSync>, crate::cluster::ClusterError> {
        let sync = Arc::new(BanSync {
            bans,
            standing,
            hub,
            game,
            rooms,
            cluster,
        });
        if let Some(c) = &sync.cluster {
            let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
            c.pubsub.subscribe(&c.key("standing"), tx).await?;
            let me = Arc::downgrade(&sync);
            tokio::spawn(async move {
                while let Some(msg) = rx.recv().await {
                    let Some(sync) = me.upgrade() else { return };
                    match serde_json::from_slice::<Change>(&msg) {
                        Ok(ch) if Some(ch.origin.as_str()) != sync.node() => {
                            sync.local(ch.user, ch.banned).await;
                        }
                        Ok(_) => {}
                        Err(e) => {
                            METRICS.adapter_errors.inc();
                            tracing::warn!(error = %e, "bad standing message");
                        }
                    }
                }
            });
        }
        Ok(sync)
    }

    fn node(&self) -> Option<&str> {
        self.cluster.as_deref().map(Cluster::node_id)
    }

    /// A ban change already written to the database: takes effect everywhere now.
    pub async fn apply(&self, user: Uuid, banned: bool) {
        if let Some(c) = &self.cluster {
            let change = Change {
                user,
                banned,
                origin: c.node_id().to_string(),
            };
            let body = serde_json::to_vec(&change).unwrap_or_default();
            let mut conn = c.conn();
            let r: Result<i64, _> = redis::cmd("PUBLISH")
                .arg(c.key("standing"))
                .arg(body)
                .query_async(&mut conn)
                .await;
            if let Err(e) = r {
                // The other nodes still read the database within their cache TTL.
                METRICS.adapter_errors.inc();
                tracing::warn!(error = %e, "publishing a ban change failed");
            }
        }
        self.local(user, banned).await;
        if banned {
            // Sockets without a session (guests never have one) and those on other nodes.
            self.rooms.disconnect(format!("user:{user}")).await;
        }
    }

    /// This node's part of a ban change.
    async fn local(&self, user: Uuid, banned: bool) {
        self.bans.set(user, banned);
        self.standing.forget(user);
        if banned {
            // Raw /v1/ws table sessions close at once too.
            self.hub.kick(user);
            // The user leaves this node's queue; their session disconnects their sockets.
            self.game.kick(user).await;
        }
    }
}
