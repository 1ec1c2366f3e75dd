//! The Socket.IO Redis adapter's pub/sub driver, over a connection that reconnects.
//!
//! socketioxide-redis's own driver holds one multiplexed connection: once Redis restarts it
//! stays broken, and this node's rooms stop spanning the others until a restart. This one
//! sits on a `ConnectionManager` with RESP3 pushes and automatic resubscription: after a
//! Redis blip it reconnects and resubscribes by itself (events published meanwhile are lost;
//! tick numbers let clients recover them with `since_tick`).
//!
//! `publish` only queues: one writer task sends the queue to Redis in order, pipelined. So an
//! adapter op (PUBLISH, then act on this node's sockets) completes on its first poll, and
//! ops reach both this node's sockets and Redis in the order they were made, without an
//! ordering task of our own. Awaiting each PUBLISH's reply instead let a later op overtake
//! an earlier one (tokio's cooperative budget and the pipeline's bounded queue both
//! reorder waiting futures): a join then ran after the tick it should have caught.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use redis::aio::ConnectionManager;
use socketioxide_redis::drivers::{ChanItem, Driver, MessageStream};
use tokio::sync::mpsc;

use crate::metrics::METRICS;

type Handlers = Arc<RwLock<HashMap<String, mpsc::Sender<ChanItem>>>>;

/// Most PUBLISHes the writer sends in one pipeline.
const BATCH: usize = 256;

/// A [`Driver`] over a self-healing connection.
#[derive(Clone)]
pub(crate) struct ManagedDriver {
    conn: ConnectionManager,
    handlers: Handlers,
    out: mpsc::UnboundedSender<(String, Vec<u8>)>,
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
        let (out, queue) = mpsc::unbounded_channel();
        tokio::spawn(write(conn.clone(), queue));
        Ok(ManagedDriver {
            conn,
            handlers,
            out,
        })
    }
}

/// Sends queued PUBLISHes in order, as many per round trip as are waiting. A batch Redis
/// refused or did not answer is lost (counted); pub/sub gives no more during a blip, and
/// clients recover ticks with `since_tick`.
async fn write(mut conn: ConnectionManager, mut queue: mpsc::UnboundedReceiver<(String, Vec<u8>)>) {
    let mut batch = Vec::with_capacity(BATCH);
    while queue.recv_many(&mut batch, BATCH).await > 0 {
        let mut pipe = redis::pipe();
        for (chan, payload) in batch.drain(..) {
            pipe.cmd("PUBLISH").arg(chan).arg(payload).ignore();
        }
        if let Err(e) = pipe.query_async::<()>(&mut conn).await {
            METRICS.adapter_errors.inc();
            tracing::warn!(error = %e, "socket.io adapter publish failed");
        }
    }
}

impl Driver for ManagedDriver {
    type Error = redis::RedisError;

    /// Queues the message for the writer: done on the first poll (see the module docs).
    async fn publish(&self, chan: String, val: Vec<u8>) -> Result<(), Self::Error> {
        self.out.send((chan, val)).map_err(|_| {
            redis::RedisError::from((redis::ErrorKind::Io, "socket.io publisher stopped"))
        })
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

#[cfg(test)]
mod tests {
    use futures_util::{FutureExt, StreamExt};

    use super::*;

    /// Needs Redis on 127.0.0.1:6379 (`REDIS_URL` to override); skipped without it.
    #[tokio::test]
    async fn publishes_complete_at_once_and_arrive_in_order() {
        let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let Ok(Ok(driver)) = tokio::time::timeout(
            std::time::Duration::from_secs(3),
            ManagedDriver::connect(&url),
        )
        .await
        else {
            eprintln!("skipped: no Redis at {url}");
            return;
        };
        let chan = format!("warroom-test-order-{}", uuid::Uuid::new_v4());
        let mut sub = driver
            .subscribe(chan.clone(), 1 << 14)
            .await
            .expect("subscribe");
        let n = 5000u32;
        for i in 0..n {
            let sent = driver
                .publish(chan.clone(), i.to_be_bytes().to_vec())
                .now_or_never();
            assert!(
                matches!(sent, Some(Ok(()))),
                "publish {i} did not complete at once"
            );
        }
        for want in 0..n {
            let next = tokio::time::timeout(std::time::Duration::from_secs(10), sub.next());
            let (_, payload) = next.await.expect("message in time").expect("stream open");
            assert_eq!(payload, want.to_be_bytes().to_vec(), "message out of order");
        }
    }
}
