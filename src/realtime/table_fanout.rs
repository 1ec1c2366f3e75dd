//! Raw `/v1/ws` fan-out across nodes (multi-node mode), used by `TableHub`.
//!
//! A tracker event published on one node is delivered to that node's sessions and PUBLISHed
//! on `{prefix}:table:{battle}` as `{origin}\n{battle}\n{json}`. A node subscribes to a
//! battle's channel while it has sessions watching that battle, delivers what other nodes
//! publish to them, and skips its own messages (already delivered). Subscribing and
//! unsubscribing run in one task, in order, checking the current count of watchers, so a
//! quick leave-and-rejoin cannot end unsubscribed with a watcher.
//!
//! Pub/sub may drop events while Redis reconnects (as for Socket.IO); a display that sees a
//! gap reloads the battle over REST.

use std::collections::HashSet;
use std::sync::Arc;

use dashmap::DashMap;
use tokio::sync::{broadcast, mpsc, oneshot};
use uuid::Uuid;

use crate::cluster::{
    slots::{SharedSlot, SharedSlots},
    Cluster,
};
use crate::metrics::METRICS;

/// Local raw sessions' channels, by battle (shared with `TableHub`).
pub(crate) type Channels = Arc<DashMap<Uuid, broadcast::Sender<Arc<str>>>>;

type Sync = (Uuid, Option<oneshot::Sender<()>>);

/// This node's side of the cross-node table feed.
pub(crate) struct Fanout {
    cluster: Arc<Cluster>,
    watchers: Arc<DashMap<Uuid, usize>>,
    sync: mpsc::UnboundedSender<Sync>,
    slots: SharedSlots,
}

/// One session watching a battle; the node unsubscribes when the last one drops.
pub(crate) struct Watching {
    battle: Uuid,
    watchers: Arc<DashMap<Uuid, usize>>,
    sync: mpsc::UnboundedSender<Sync>,
}

impl Fanout {
    /// Starts the subscription and delivery tasks; `max_per_user` caps a user's sessions over
    /// every node.
    pub(crate) fn start(cluster: Arc<Cluster>, channels: Channels, max_per_user: u32) -> Fanout {
        let watchers: Arc<DashMap<Uuid, usize>> = Arc::new(DashMap::new());
        let (sync, mut sync_rx) = mpsc::unbounded_channel::<Sync>();
        let (sink, mut remote) = mpsc::unbounded_channel::<Vec<u8>>();
        let (c, counts) = (cluster.clone(), watchers.clone());
        tokio::spawn(async move {
            let mut subscribed = HashSet::new();
            while let Some((battle, done)) = sync_rx.recv().await {
                let want = counts.get(&battle).is_some_and(|n| *n > 0);
                let chan = channel(&c, battle);
                if want && !subscribed.contains(&battle) {
                    match c.pubsub.subscribe(&chan, sink.clone()).await {
                        Ok(()) => {
                            subscribed.insert(battle);
                        }
                        Err(e) => failed(&e),
                    }
                } else if !want && subscribed.remove(&battle) {
                    if let Err(e) = c.pubsub.unsubscribe(&chan).await {
                        failed(&e);
                    }
                }
                if let Some(done) = done {
                    let _ = done.send(());
                }
            }
        });
        let me = cluster.node_id().to_string();
        tokio::spawn(async move {
            while let Some(msg) = remote.recv().await {
                let Some((origin, battle, text)) = parse(&msg) else {
                    METRICS.adapter_errors.inc();
                    continue;
                };
                if origin == me {
                    continue;
                }
                if let Some(tx) = channels.get(&battle) {
                    let _ = tx.send(text.into());
                }
            }
        });
        let slots = SharedSlots::start(&cluster, "ws_v1", max_per_user);
        Fanout {
            cluster,
            watchers,
            sync,
            slots,
        }
    }

    /// Counts a session watching `battle`; resolves once this node hears the battle's
    /// channel (so nothing published after the session's hello is missed).
    pub(crate) async fn watch(&self, battle: Uuid) -> Watching {
        let first = {
            let mut n = self.watchers.entry(battle).or_insert(0);
            *n += 1;
            *n == 1
        };
        if first {
            let (done, subscribed) = oneshot::channel();
            let _ = self.sync.send((battle, Some(done)));
            let _ = subscribed.await;
        }
        Watching {
            battle,
            watchers: self.watchers.clone(),
            sync: self.sync.clone(),
        }
    }

    /// Sends one event (already delivered here) to the other nodes' sessions.
    pub(crate) async fn publish(&self, battle: Uuid, text: &str) {
        let body = format!("{}\n{battle}\n{text}", self.cluster.node_id());
        let mut conn = self.cluster.conn();
        let r: Result<i64, _> = redis::cmd("PUBLISH")
            .arg(channel(&self.cluster, battle))
            .arg(body)
            .query_async(&mut conn)
            .await;
        if let Err(e) = r {
            failed(&e);
        }
    }

    /// A cluster-wide slot for a new session of `user`; `Err(())` at the cap. With Redis
    /// unreachable, `Ok(None)`: admitted on this node's count alone (logged and counted).
    pub(crate) async fn acquire(&self, user: Uuid) -> Result<Option<SharedSlot>, ()> {
        match self.slots.acquire(user).await {
            Ok(Some(s)) => Ok(Some(s)),
            Ok(None) => Err(()),
            Err(e) => {
                failed(&e);
                Ok(None)
            }
        }
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let last = match self.watchers.get_mut(&self.battle) {
            Some(mut n) => {
                *n = n.saturating_sub(1);
                *n == 0
            }
            None => false,
        };
        if last {
            self.watchers.remove_if(&self.battle, |_, n| *n == 0);
            let _ = self.sync.send((self.battle, None));
        }
    }
}

fn channel(c: &Cluster, battle: Uuid) -> String {
    c.key(&format!("table:{battle}"))
}

fn failed(e: &dyn std::fmt::Display) {
    METRICS.adapter_errors.inc();
    tracing::warn!(error = %e, "cross-node table feed failed");
}

fn parse(msg: &[u8]) -> Option<(&str, Uuid, &str)> {
    let text = std::str::from_utf8(msg).ok()?;
    let (origin, rest) = text.split_once('\n')?;
    let (battle, json) = rest.split_once('\n')?;
    Some((origin, Uuid::parse_str(battle).ok()?, json))
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_its_own_format() {
        let id = uuid::Uuid::new_v4();
        let msg = format!("node-a\n{id}\n{{\"type\":\"x\"}}");
        assert_eq!(
            super::parse(msg.as_bytes()),
            Some(("node-a", id, "{\"type\":\"x\"}"))
        );
        assert_eq!(super::parse(b"junk"), None);
    }
}
