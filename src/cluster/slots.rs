//! Connection caps counted across the cluster (`WARROOM_SIO_PER_USER`, the `/v1/ws` limit).
//!
//! Each user has a sorted set `{prefix}:slots:{kind}:{user}` whose members are the held
//! connections (`{node}:{n}`) and whose scores are the instants (Redis server time, ms) they
//! are forgotten unless renewed. Taking a slot is one script: drop the expired members, count,
//! add. The node renews its members every [`SLOT_TTL`]/3, so a live connection never expires;
//! a connection closed normally is removed at once. When a node dies, nobody renews its
//! members: they stop counting within [`SLOT_TTL`] (and the whole key expires with them), so
//! a dead node leaks no slot for longer than that. Scores use the Redis clock, so the nodes'
//! clocks need not agree.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use redis::aio::ConnectionManager;
use uuid::Uuid;

use super::{Cluster, ClusterError};

/// How long a held slot counts without renewal (a dead node's slots are free after this).
pub const SLOT_TTL: Duration = Duration::from_secs(30);

/// KEYS[1] the user's set; ARGV: max, ttl ms, member. Returns 1 when taken.
const ACQUIRE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
";

/// KEYS[1] the user's set; ARGV: ttl ms, members… Renews members still present (XX: one
/// released meanwhile stays released).
const RENEW: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
";

struct Inner {
    conn: ConnectionManager,
    base: String,
    node: String,
    max: u32,
    next: AtomicU64,
    /// Held here: user key → members.
    held: DashMap<String, Vec<String>>,
}

/// One kind of connection (`sio`, `ws_v1`), capped per user across the cluster.
pub struct SharedSlots(Arc<Inner>);

/// A held cluster slot; released on drop.
pub struct SharedSlot {
    inner: Arc<Inner>,
    key: String,
    member: String,
}

impl SharedSlots {
    /// Slots of `kind`, at most `max` per user, renewed by a task on the current runtime.
    pub fn start(cluster: &Cluster, kind: &str, max: u32) -> SharedSlots {
        let inner = Arc::new(Inner {
            conn: cluster.conn(),
            base: cluster.key(&format!("slots:{kind}")),
            node: cluster.node_id().to_string(),
            max,
            next: AtomicU64::new(0),
            held: DashMap::new(),
        });
        let weak = Arc::downgrade(&inner);
        tokio::spawn(async move {
            let mut t = tokio::time::interval(SLOT_TTL / 3);
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                t.tick().await;
                let Some(inner) = weak.upgrade() else { return };
                inner.renew().await;
            }
        });
        SharedSlots(inner)
    }

    /// Takes a slot for a new connection of `user`: `Ok(None)` at the cap.
    pub async fn acquire(&self, user: Uuid) -> Result<Option<SharedSlot>, ClusterError> {
        let inner = &self.0;
        let key = format!("{}:{user}", inner.base);
        let n = inner.next.fetch_add(1, Ordering::Relaxed);
        let member = format!("{}:{n}", inner.node);
        let mut conn = inner.conn.clone();
        let taken: i64 = redis::Script::new(ACQUIRE)
            .key(&key)
            .arg(inner.max)
            .arg(SLOT_TTL.as_millis() as u64)
            .arg(&member)
            .invoke_async(&mut conn)
            .await?;
        if taken != 1 {
            return Ok(None);
        }
        inner
            .held
            .entry(key.clone())
            .or_default()
            .push(member.clone());
        Ok(Some(SharedSlot {
            inner: inner.clone(),
            key,
            member,
        }))
    }
}

impl Inner {
    async fn renew(&self) {
        let all: Vec<(String, Vec<String>)> = self
            .held
            .iter()
            .map(|e| (e.key().clone(), e.value().clone()))
            .collect();
        let script = redis::Script::new(RENEW);
        for chunk in all.chunks(64) {
            let calls = chunk.iter().map(|(key, members)| {
                let mut conn = self.conn.clone();
                let mut call = script.key(key);
                call.arg(SLOT_TTL.as_millis() as u64).arg(members);
                async move { call.invoke_async::<i64>(&mut conn).await }
            });
            for r in futures_util::future::join_all(calls).await {
                if let Err(e) = r {
                    crate::metrics::METRICS.adapter_errors.inc();
                    tracing::warn!(error = %e, "renewing connection slots failed");
                }
            }
        }
    }
}

impl Drop for SharedSlot {
    fn drop(&mut self) {
        if let Some(mut members) = self.inner.held.get_mut(&self.key) {
            members.retain(|m| *m != self.member);
        }
        self.inner.held.remove_if(&self.key, |_, m| m.is_empty());
        let (mut conn, key, member) = (
            self.inner.conn.clone(),
            std::mem::take(&mut self.key),
            std::mem::take(&mut self.member),
        );
        // No runtime (process exit): the member expires by itself.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let r: Result<i64, _> = redis::cmd("ZREM")
                    .arg(&key)
                    .arg(&member)
                    .query_async(&mut conn)
                    .await;
                if let Err(e) = r {
                    crate::metrics::METRICS.adapter_errors.inc();
                    tracing::warn!(error = %e, "releasing a connection slot failed");
                }
            });
        }
    }
}
