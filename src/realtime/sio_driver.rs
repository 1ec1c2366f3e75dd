//! The Socket.IO Redis adapter's pub/sub driver, over a connection that reconnects.
//!
//! socketioxide-redis's own driver holds one multiplexed connection: once Redis restarts it
//! stays broken, and this node's rooms stop spanning the others until a restart. This one
//! sits on a `ConnectionManager` with RESP3 pushes and automatic resubscription: after a
//! Redis blip it reconnects and resubscribes by itself (events published meanwhile are lost;
//! tick numbers let clients recover them with `since_tick`).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use redis::aio::ConnectionManager;
use socketioxide_redis::drivers::{ChanItem, Driver, MessageStream};
use tokio::sync::mpsc;

use crate::metrics::METRICS;

type Handlers = Arc<RwLock<HashMap<String, mpsc::Sender<ChanItem>>>>;

/// A [`Driver`] over a self-healing connection.
#[derive(Clone)]
pub(crate) struct ManagedDriver {
    conn: ConnectionManager,
    handlers: Handlers,
}

impl ManagedDriver {
    /// Connects to `url` (RESP3 is asked for here).
    pub(crate) async fn connect(url: &str) -> Result<ManagedDriver, redis::RedisError> {
        let client = redis::Client::open(crate::cluster::pubsub::resp3(url).as_str())?;
        let (tx, mut pushes) = mpsc::unbounded_channel::<redis::PushInfo>();
        let config = crate::cluster::manager_config()
            .set_push_sender(tx)
            .set_automatic_resubscription();
        let conn = client.get_connection_manager_with_config(config).await?;
        let handlers: Handlers = Arc::default();
        let routes = handlers.clone();
        // One task, so messages reach the adapter in the order Redis delivered them.
        tokio::spawn(async move {
            while let Some(push) = pushes.recv().await {
                if push.kind != redis::PushKind::Message {
                    continue;
                }
                let mut it = push.data.into_iter();
                let (Some(chan), Some(payload)) = (it.next(), it.next()) else {
                    continue;
                };
                let (Ok(chan), Ok(payload)) = (
                    redis::from_redis_value::<String>(chan),
                    redis::from_redis_value::<Vec<u8>>(payload),
                ) else {
                    continue;
                };
                let tx = routes.read().ok().and_then(|h| h.get(&chan).cloned());
                if let Some(tx) = tx {
                    if tx.try_send((chan, payload)).is_err() {
                        METRICS.adapter_errors.inc();
                        tracing::warn!("socket.io adapter stream full: message dropped");
                    }
                }
            }
        });
        Ok(ManagedDriver { conn, handlers })
    }
}

impl Driver for ManagedDriver {
    type Error = redis::RedisError;

    async fn publish(&self, chan: String, val: Vec<u8>) -> Result<(), Self::Error> {
        let mut conn = self.conn.clone();
        redis::cmd("PUBLISH")
            .arg(chan)
            .arg(val)
            .query_async::<i64>(&mut conn)
            .await?;
        Ok(())
    }

    async fn subscribe(
        &self,
        chan: String,
        size: usize,
    ) -> Result<MessageStream<ChanItem>, Self::Error> {
        let (tx, rx) = mpsc::channel(size);
        if let Ok(mut h) = self.handlers.write() {
            h.insert(chan.clone(), tx);
        }
        self.conn.clone().subscribe(&chan).await?;
        Ok(MessageStream::new(rx))
    }

    async fn unsubscribe(&self, chan: String) -> Result<(), Self::Error> {
        if let Ok(mut h) = self.handlers.write() {
            h.remove(&chan);
        }
        self.conn.clone().unsubscribe(&chan).await
    }

    async fn num_serv(&self, chan: &str) -> Result<u16, Self::Error> {
        let mut conn = self.conn.clone();
        let (_, count): (String, u16) = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(chan)
            .query_async(&mut conn)
            .await?;
        Ok(count)
    }
}
