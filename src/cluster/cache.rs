//! Read-through JSON caches in Redis (multi-node mode), with the tracker spec's lifetimes,
//! invalidated on every write.
//!
//! Keys: `{prefix}:cache:v{VERSION}:{kind}:{id}` holds the JSON, and `…:gen` a generation
//! counter. [`Cache::invalidate`] bumps the generation and deletes the value in one
//! transaction; a reader that missed remembers the generation it saw and [`Cache::put`] stores
//! its value only if the generation is still the same (one Lua script). So a reader that loaded
//! the old row from the database just before a write cannot put it back after the write's
//! invalidation: a write is never hidden by a stale value, on any node.
//!
//! Bump [`VERSION`] when the JSON shape of a cached view changes: a node of the new release
//! then never reads what an old one wrote.
//!
//! When Redis fails, reads go to the database (counted in `cache_requests_total{result=
//! "error"}`), and an invalidation that failed is retried in the background until Redis
//! answers; until then this node reads that kind from the database.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::{aio::ConnectionManager, Script};
use serde::{de::DeserializeOwned, Serialize};

use super::{Cluster, ClusterError};
use crate::metrics::METRICS;

/// Version of the cached shapes (part of every key).
pub const VERSION: u32 = 1;

/// How long the generation counter outlives a value: longer than any read in flight.
const GEN_TTL: Duration = Duration::from_secs(2 * 3600);
/// Longest a cache call waits for Redis (the connection manager itself retries forever).
const REDIS_WAIT: Duration = Duration::from_millis(250);

/// `f`, or a timeout error after [`REDIS_WAIT`].
async fn within<T>(
    f: impl std::future::Future<Output = Result<T, redis::RedisError>>,
) -> Result<T, ClusterError> {
    match tokio::time::timeout(REDIS_WAIT, f).await {
        Ok(r) => Ok(r?),
        Err(_) => Err(ClusterError::Timeout("redis".into())),
    }
}

/// Stores the value only if the generation is unchanged. KEYS: value, gen; ARGV: generation
/// seen, JSON, ttl ms.
const PUT: &str = r#"
local g = redis.call('GET', KEYS[2]) or '0'
if g ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
"#;

/// What is cached, with its lifetime (the tracker spec's "Caching Strategy").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CacheKind {
    /// A tracker battle's state: 30 s.
    BattleState,
    /// A tournament with its rounds, pairings and participants: 5 min.
    Tournament,
    /// An army list: 1 h.
    Army,
    /// A user profile: 15 min.
    UserProfile,
}

impl CacheKind {
    /// The name in keys and metrics.
    pub fn name(self) -> &'static str {
        match self {
            CacheKind::BattleState => "battle",
            CacheKind::Tournament => "tournament",
            CacheKind::Army => "army",
            CacheKind::UserProfile => "user",
        }
    }

    /// How long a value lives without invalidation.
    pub fn ttl(self) -> Duration {
        match self {
            CacheKind::BattleState => Duration::from_secs(30),
            CacheKind::Tournament => Duration::from_secs(5 * 60),
            CacheKind::Army => Duration::from_secs(3600),
            CacheKind::UserProfile => Duration::from_secs(15 * 60),
        }
    }
}

/// A miss: the generation seen, to hand back to [`Cache::put`].
#[derive(Debug, Clone)]
pub struct Ticket(String);

/// The answer of [`Cache::get`].
#[derive(Debug)]
pub enum Lookup<T> {
    /// Cached.
    Hit(T),
    /// Not cached: load it, then `put` with this ticket.
    Miss(Ticket),
}

/// The caches of this cluster.
#[derive(Clone)]
pub struct Cache {
    conn: ConnectionManager,
    base: String,
    put: Script,
    /// Invalidations that failed, retried until Redis answers.
    failed: Arc<Mutex<Vec<(CacheKind, String)>>>,
}

impl Cache {
    /// Caches on this cluster's Redis; starts the retry of failed invalidations.
    pub fn new(cluster: &Cluster) -> Arc<Self> {
        let cache = Arc::new(Self {
            conn: cluster.conn(),
            base: cluster.key(&format!("cache:v{VERSION}")),
            put: Script::new(PUT),
            failed: Default::default(),
        });
        let weak = Arc::downgrade(&cache);
        tokio::spawn(async move {
            let mut t = tokio::time::interval(Duration::from_millis(250));
            loop {
                t.tick().await;
                let Some(c) = weak.upgrade() else { return };
                c.retry_failed().await;
            }
        });
        cache
    }

    /// The key of one value (`…:gen` is its generation).
    pub fn key(&self, kind: CacheKind, id: &str) -> String {
        format!("{}:{}:{id}", self.base, kind.name())
    }

    fn degraded(&self, kind: CacheKind) -> bool {
        self.failed
            .lock()
            .map(|f| f.iter().any(|(k, _)| *k == kind))
            .unwrap_or(true)
    }

    /// Reads a value, or the generation to store a fresh one under.
    #[tracing::instrument(skip(self), level = "debug")]
    pub async fn get<T: DeserializeOwned>(
        &self,
        kind: CacheKind,
        id: &str,
    ) -> Result<Lookup<T>, ClusterError> {
        let key = self.key(kind, id);
        let mut conn = self.conn.clone();
        let mget = redis::cmd("MGET")
            .arg(&key)
            .arg(format!("{key}:gen"))
            .clone();
        let (value, gen): (Option<String>, Option<String>) =
            within(mget.query_async(&mut conn)).await?;
        match value.map(|v| serde_json::from_str(&v)) {
            Some(Ok(v)) => Ok(Lookup::Hit(v)),
            // An undecodable value is a miss; the put replaces it.
            _ => Ok(Lookup::Miss(Ticket(gen.unwrap_or_else(|| "0".into())))),
        }
    }

    /// Stores a value loaded after a miss, unless it was invalidated meanwhile.
    #[tracing::instrument(skip(self, ticket, value), level = "debug")]
    pub async fn put<T: Serialize + ?Sized>(
        &self,
        kind: CacheKind,
        id: &str,
        ticket: Ticket,
        value: &T,
    ) -> Result<bool, ClusterError> {
        let key = self.key(kind, id);
        let json = serde_json::to_string(value)?;
        let mut conn = self.conn.clone();
        let mut call = self.put.key(&key);
        call.key(format!("{key}:gen"))
            .arg(ticket.0)
            .arg(json)
            .arg(kind.ttl().as_millis() as u64);
        let stored: i64 = within(call.invoke_async(&mut conn)).await?;
        Ok(stored == 1)
    }

    /// Drops a value everywhere; a read in flight cannot store the old one afterwards. Call it
    /// after the write commits and before answering the writer. A failure is retried in the
    /// background (and this node stops reading that kind from Redis until it succeeds).
    #[tracing::instrument(skip(self))]
    pub async fn invalidate(&self, kind: CacheKind, id: &str) {
        if let Err(e) = self.try_invalidate(kind, id).await {
            tracing::warn!(error = %e, kind = kind.name(), id, "cache invalidation failed; retrying");
            METRICS
                .cache_requests
                .with_label_values(&[kind.name(), "error"])
                .inc();
            if let Ok(mut f) = self.failed.lock() {
                f.push((kind, id.to_string()));
            }
        }
    }

    async fn try_invalidate(&self, kind: CacheKind, id: &str) -> Result<(), ClusterError> {
        let key = self.key(kind, id);
        let gen = format!("{key}:gen");
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        pipe.atomic()
            .incr(&gen, 1)
            .ignore()
            .pexpire(&gen, GEN_TTL.as_millis() as i64)
            .ignore()
            .del(&key)
            .ignore();
        within(pipe.query_async::<()>(&mut conn)).await
    }

    async fn retry_failed(&self) {
        let pending = match self.failed.lock() {
            Ok(f) if !f.is_empty() => f.clone(),
            _ => return,
        };
        let mut done = 0;
        for (kind, id) in &pending {
            if self.try_invalidate(*kind, id).await.is_err() {
                break;
            }
            done += 1;
        }
        if let Ok(mut f) = self.failed.lock() {
            let n = done.min(f.len());
            f.drain(..n);
        }
    }

    /// Read-through: the cached value, or `load()` stored for the next reader. Redis errors
    /// fall back to `load()`; an error from `load` (such as not found) is not cached.
    pub async fn read_through<T, E, F>(&self, kind: CacheKind, id: &str, load: F) -> Result<T, E>
    where
        T: Serialize + DeserializeOwned,
        F: std::future::Future<Output = Result<T, E>>,
    {
        let count = |r: &str| {
            METRICS
                .cache_requests
                .with_label_values(&[kind.name(), r])
                .inc()
        };
        if self.degraded(kind) {
            count("bypass");
            return load.await;
        }
        let ticket = match self.get::<T>(kind, id).await {
            Ok(Lookup::Hit(v)) => {
                count("hit");
                return Ok(v);
            }
            Ok(Lookup::Miss(t)) => {
                count("miss");
                Some(t)
            }
            Err(e) => {
                tracing::debug!(error = %e, "cache read failed");
                count("error");
                None
            }
        };
        let v = load.await?;
        if let Some(t) = ticket {
            if let Err(e) = self.put(kind, id, t, &v).await {
                tracing::debug!(error = %e, "cache write failed");
            }
        }
        Ok(v)
    }
}
