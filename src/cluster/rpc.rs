//! Requests forwarded to the node that owns the work (a battle's `battle:join`, a tracker
//! PATCH): JSON over the owner's channel `{prefix}:node:{id}`, answered on the caller's.
//!
//! At most once: a request whose owner died gets no answer and times out; the caller then
//! looks the owner up again (a new owner has taken over by then) or reports 503.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use dashmap::DashMap;
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::pubsub::PubSub;
use super::ClusterError;
use crate::metrics::METRICS;
use redis::aio::ConnectionManager;

/// What a node does with a request forwarded to it: `(kind, body) → answer`.
pub type Handler =
    Arc<dyn Fn(String, Value) -> BoxFuture<'static, Result<Value, String>> + Send + Sync>;

#[derive(Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
enum Envelope {
    Req {
        id: u64,
        from: String,
        kind: String,
        body: Value,
    },
    Res {
        id: u64,
        ok: Option<Value>,
        err: Option<String>,
    },
}

/// This node's side of forwarding.
pub struct Rpc {
    conn: ConnectionManager,
    prefix: String,
    node: String,
    pending: DashMap<u64, oneshot::Sender<Result<Value, String>>>,
    next: AtomicU64,
    handler: OnceLock<Handler>,
}

impl Rpc {
    /// Listens on this node's channel.
    pub(super) async fn start(
        conn: ConnectionManager,
        prefix: &str,
        node: &str,
        pubsub: &PubSub,
    ) -> Result<Arc<Rpc>, ClusterError> {
        let rpc = Arc::new(Rpc {
            conn,
            prefix: prefix.to_string(),
            node: node.to_string(),
            pending: DashMap::new(),
            next: AtomicU64::new(1),
            handler: OnceLock::new(),
        });
        let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
        pubsub.subscribe(&rpc.channel(node), tx).await?;
        let me = Arc::downgrade(&rpc);
        tokio::spawn(async move {
            while let Some(msg) = rx.recv().await {
                let Some(rpc) = me.upgrade() else { return };
                match serde_json::from_slice::<Envelope>(&msg) {
                    Ok(Envelope::Res { id, ok, err }) => {
                        if let Some((_, tx)) = rpc.pending.remove(&id) {
                            let _ = tx.send(match (ok, err) {
                                (_, Some(e)) => Err(e),
                                (ok, None) => Ok(ok.unwrap_or(Value::Null)),
                            });
                        }
                    }
                    Ok(Envelope::Req {
                        id,
                        from,
                        kind,
                        body,
                    }) => {
                        let Some(h) = rpc.handler.get().cloned() else {
                            continue;
                        };
                        tokio::spawn(async move {
                            let r = h(kind, body).await;
                            let (ok, err) = match r {
                                Ok(v) => (Some(v), None),
                                Err(e) => (None, Some(e)),
                            };
                            let env = Envelope::Res { id, ok, err };
                            let _ = rpc.publish(&rpc.channel(&from), &env).await;
                        });
                    }
                    Err(e) => tracing::warn!(error = %e, "bad cluster message"),
                }
            }
        });
        Ok(rpc)
    }

    /// Installs what this node does with forwarded requests (once, at start-up).
    pub fn set_handler(&self, h: Handler) {
        let _ = self.handler.set(h);
    }

    fn channel(&self, node: &str) -> String {
        format!("{}:node:{node}", self.prefix)
    }

    async fn publish(&self, channel: &str, env: &Envelope) -> Result<i64, ClusterError> {
        let bytes = serde_json::to_vec(env)?;
        let mut c = self.conn.clone();
        let n: i64 = redis::cmd("PUBLISH")
            .arg(channel)
            .arg(bytes)
            .query_async(&mut c)
            .await?;
        Ok(n)
    }

    /// Sends `kind/body` to `node` and waits for its answer.
    #[tracing::instrument(skip(self, body))]
    pub async fn call(
        &self,
        node: &str,
        kind: &str,
        body: Value,
        timeout: Duration,
    ) -> Result<Value, ClusterError> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending.insert(id, tx);
        let env = Envelope::Req {
            id,
            from: self.node.clone(),
            kind: kind.to_string(),
            body,
        };
        METRICS.forwarded.with_label_values(&[kind]).inc();
        match self.publish(&self.channel(node), &env).await {
            Ok(0) => {
                self.pending.remove(&id);
                return Err(ClusterError::Timeout(node.to_string()));
            }
            Ok(_) => {}
            Err(e) => {
                self.pending.remove(&id);
                return Err(e);
            }
        }
        let r = tokio::time::timeout(timeout, rx).await;
        self.pending.remove(&id);
        match r {
            Ok(Ok(Ok(v))) => Ok(v),
            Ok(Ok(Err(e))) => Err(ClusterError::Remote(e)),
            _ => Err(ClusterError::Timeout(node.to_string())),
        }
    }
}
