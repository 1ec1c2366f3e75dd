//! One RESP3 pub/sub connection per node, shared by everything that listens to channels
//! (forwarded requests, raw `/v1/ws` fan-out). It reconnects and resubscribes by itself.

use std::sync::Arc;

use dashmap::DashMap;
use redis::aio::ConnectionManager;
use tokio::sync::mpsc;

use super::ClusterError;

/// Where a channel's messages go.
pub type Sink = mpsc::UnboundedSender<Vec<u8>>;

/// The node's subscriptions.
pub struct PubSub {
    conn: tokio::sync::Mutex<ConnectionManager>,
    sinks: Arc<DashMap<String, Sink>>,
}

/// `url` with RESP3 asked for (pushes need it).
pub(crate) fn resp3(url: &str) -> String {
    if url.contains("protocol=") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&protocol=resp3")
    } else {
        format!("{url}?protocol=resp3")
    }
}

impl PubSub {
    /// Opens the connection.
    pub async fn connect(url: &str) -> Result<Arc<PubSub>, ClusterError> {
        let client = redis::Client::open(resp3(url).as_str())?;
        let (tx, mut rx) = mpsc::unbounded_channel::<redis::PushInfo>();
        let config = super::manager_config()
            .set_push_sender(tx)
            .set_automatic_resubscription();
        let conn = client.get_connection_manager_with_config(config).await?;
        let sinks: Arc<DashMap<String, Sink>> = Arc::new(DashMap::new());
        let routes = sinks.clone();
        tokio::spawn(async move {
            while let Some(push) = rx.recv().await {
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
                if let Some(sink) = routes.get(&chan) {
                    let _ = sink.send(payload);
                }
            }
        });
        Ok(Arc::new(PubSub {
            conn: tokio::sync::Mutex::new(conn),
            sinks,
        }))
    }

    /// Delivers `channel`'s messages to `sink` (replacing an earlier sink of that channel).
    pub async fn subscribe(&self, channel: &str, sink: Sink) -> Result<(), ClusterError> {
        let fresh = self.sinks.insert(channel.to_string(), sink).is_none();
        if fresh {
            self.conn.lock().await.subscribe(channel).await?;
        }
        Ok(())
    }

    /// Stops listening to `channel`.
    pub async fn unsubscribe(&self, channel: &str) -> Result<(), ClusterError> {
        if self.sinks.remove(channel).is_some() {
            self.conn.lock().await.unsubscribe(channel).await?;
        }
        Ok(())
    }
}
