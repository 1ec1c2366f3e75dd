//! Multi-node mode: the Redis side of a cluster of `warroom serve` processes that share one
//! Postgres database (`REDIS_URL`). Postgres holds the truth; Redis coordinates: who owns what
//! ([`lease`]), requests forwarded to an owner ([`rpc`]), and the keys every node shares.
//!
//! Every key and channel starts with the configured prefix (`WARROOM_REDIS_PREFIX`, default
//! `warroom`), so several clusters (or test runs) can share one Redis server: pub/sub channels
//! are not scoped by Redis database number, keys are.

use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

pub mod cache;
pub mod lease;
pub mod limits;
pub mod pubsub;
pub mod rpc;
pub mod slots;

pub use lease::{LeaseGuard, Leases};

/// Settings of multi-node mode (from `REDIS_URL` and friends).
#[derive(Debug, Clone)]
pub struct ClusterSettings {
    /// `REDIS_URL`.
    pub url: String,
    /// `WARROOM_REDIS_PREFIX`: prefix of every key and channel (default `warroom`).
    pub prefix: String,
    /// `WARROOM_NODE_ID`: this node's name in leases and metrics (default: random).
    pub node_id: String,
    /// `WARROOM_LEASE_MS`: how long a lease lives without renewal (default 5000). A dead
    /// owner's work is taken over within about this long.
    pub lease_ttl: Duration,
}

/// Why Redis could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// Redis refused or is unreachable.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// A forwarded request got no answer in time.
    #[error("node {0} did not answer in time")]
    Timeout(String),
    /// The owner answered with an error.
    #[error("{0}")]
    Remote(String),
    /// A message could not be encoded or decoded.
    #[error("bad cluster message: {0}")]
    Codec(#[from] serde_json::Error),
}

/// This node's connection to the cluster.
pub struct Cluster {
    settings: ClusterSettings,
    client: redis::Client,
    conn: ConnectionManager,
    /// This node's leases and their renewal.
    pub leases: Arc<Leases>,
    /// This node's pub/sub subscriptions.
    pub pubsub: Arc<pubsub::PubSub>,
    /// Requests forwarded between nodes.
    pub rpc: Arc<rpc::Rpc>,
    /// Woken when another node hands its work over (graceful shutdown).
    handovers: Arc<tokio::sync::Notify>,
}

impl Cluster {
    /// Connects to Redis (reconnecting by itself later) and starts the lease keeper.
    pub async fn connect(settings: ClusterSettings) -> Result<Arc<Cluster>, ClusterError> {
        let client = redis::Client::open(settings.url.as_str())?;
        let conn = ConnectionManager::new_with_config(client.clone(), manager_config()).await?;
        let leases = Leases::start(conn.clone(), &settings);
        let pubsub = pubsub::PubSub::connect(&settings.url).await?;
        let rpc =
            rpc::Rpc::start(conn.clone(), &settings.prefix, &settings.node_id, &pubsub).await?;
        let handovers = Arc::new(tokio::sync::Notify::new());
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        pubsub
            .subscribe(&format!("{}:handover", settings.prefix), tx)
            .await?;
        let wake = handovers.clone();
        tokio::spawn(async move {
            while rx.recv().await.is_some() {
                wake.notify_waiters();
            }
        });
        // The Redis round trip, for operators (`warroom_redis_rtt_seconds`).
        let probe = conn.clone();
        tokio::spawn(async move {
            let mut t = tokio::time::interval(Duration::from_secs(5));
            loop {
                t.tick().await;
                let mut c = probe.clone();
                let start = Instant::now();
                if redis::cmd("PING")
                    .query_async::<String>(&mut c)
                    .await
                    .is_ok()
                {
                    crate::metrics::METRICS
                        .redis_rtt
                        .observe(start.elapsed().as_secs_f64());
                }
            }
        });
        crate::metrics::METRICS
            .node_info
            .with_label_values(&[&settings.node_id])
            .set(1);
        Ok(Arc::new(Cluster {
            settings,
            client,
            conn,
            leases,
            pubsub,
            rpc,
            handovers,
        }))
    }

    /// A key or channel name under this cluster's prefix.
    pub fn key(&self, rest: &str) -> String {
        format!("{}:{rest}", self.settings.prefix)
    }

    /// The prefix of every key and channel.
    pub fn prefix(&self) -> &str {
        &self.settings.prefix
    }

    /// This node's id.
    pub fn node_id(&self) -> &str {
        &self.settings.node_id
    }

    /// The settings this node runs with.
    pub fn settings(&self) -> &ClusterSettings {
        &self.settings
    }

    /// A multiplexed connection that reconnects by itself (cheap to clone).
    pub fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// The client, for dedicated connections (pub/sub, the Socket.IO adapter).
    pub fn client(&self) -> &redis::Client {
        &self.client
    }

    /// Resolves when some node announces a hand-over (its leases are free to claim now).
    pub fn handover(&self) -> impl std::future::Future<Output = ()> + '_ {
        self.handovers.notified()
    }

    /// Waits for the next tick of a sweep, or less when a node hands its work over.
    pub async fn next_sweep(&self, t: &mut tokio::time::Interval) {
        tokio::select! {
            _ = t.tick() => {}
            _ = self.handover() => {}
        }
    }

    /// Graceful shutdown: lets every lease go and tells the other nodes to claim the work now
    /// instead of at their next sweep.
    pub async fn hand_over(&self) {
        self.leases.release_all().await;
        let mut c = self.conn();
        let _: Result<i64, _> = redis::cmd("PUBLISH")
            .arg(self.key("handover"))
            .arg(self.node_id())
            .query_async(&mut c)
            .await;
    }

    /// One PING: Redis is reachable; the round trip is recorded in the metrics.
    #[tracing::instrument(skip_all)]
    pub async fn ping(&self) -> Result<Duration, ClusterError> {
        let t = Instant::now();
        let mut c = self.conn();
        let _: String = redis::cmd("PING").query_async(&mut c).await?;
        let rtt = t.elapsed();
        crate::metrics::METRICS.redis_rtt.observe(rtt.as_secs_f64());
        Ok(rtt)
    }
}

/// Connection manager settings: short timeouts so a Redis blip surfaces as errors (which
/// callers handle) instead of hung requests, and endless reconnects with a capped backoff.
pub(crate) fn manager_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(Some(Duration::from_secs(2)))
        .set_number_of_retries(usize::MAX)
        .set_max_delay(Duration::from_millis(500))
}
