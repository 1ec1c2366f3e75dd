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
    ttl: Duration,
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
        Self::start_with_ttl(cluster, kind, max, SLOT_TTL)
    }

    fn start_with_ttl(cluster: &Cluster, kind: &str, max: u32, ttl: Duration) -> SharedSlots {
        let inner = Arc::new(Inner {
            conn: cluster.conn(),
            base: cluster.key(&format!("slots:{kind}")),
            node: cluster.node_id().to_string(),
            max,
            ttl,
            next: AtomicU64::new(0),
            held: DashMap::new(),
        });
        let weak = Arc::downgrade(&inner);
        tokio::spawn(async move {
            let mut t = tokio::time::interval(ttl / 3);
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
            .arg(inner.ttl.as_millis() as u64)
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
                call.arg(self.ttl.as_millis() as u64).arg(members);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::ClusterSettings;

    async fn cluster(node: &str, prefix: &str) -> Option<Arc<Cluster>> {
        let settings = ClusterSettings {
            url: "redis://127.0.0.1:6379".into(),
            prefix: prefix.into(),
            node_id: node.into(),
            lease_ttl: Duration::from_secs(5),
        };
        match tokio::time::timeout(Duration::from_secs(3), Cluster::connect(settings)).await {
            Ok(Ok(c)) => Some(c),
            _ => {
                eprintln!("skipped: no Redis at 127.0.0.1:6379");
                None
            }
        }
    }

    #[tokio::test]
    async fn slots_are_shared_renewed_and_a_dead_nodes_expire() {
        let prefix = format!("wrslots{}", Uuid::new_v4().simple());
        let (Some(a), Some(b)) = (cluster("a", &prefix).await, cluster("b", &prefix).await) else {
            return;
        };
        let ttl = Duration::from_millis(300);
        let on_a = SharedSlots::start_with_ttl(&a, "t", 2, ttl);
        let on_b = SharedSlots::start_with_ttl(&b, "t", 2, ttl);
        let user = Uuid::new_v4();
        let s1 = on_a.acquire(user).await.unwrap().expect("first");
        let s2 = on_b
            .acquire(user)
            .await
            .unwrap()
            .expect("second, other node");
        assert!(
            on_a.acquire(user).await.unwrap().is_none(),
            "cap spans nodes"
        );
        // Live slots are renewed well past their ttl.
        tokio::time::sleep(ttl * 3).await;
        assert!(on_b.acquire(user).await.unwrap().is_none(), "still held");
        // Released at once on drop.
        drop(s1);
        let mut freed = None;
        for _ in 0..40 {
            freed = on_b.acquire(user).await.unwrap();
            if freed.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(freed.is_some(), "a released slot is free");
        // A node that died left a member nobody renews: it counts until its deadline only.
        drop((s2, freed));
        let key = format!("{prefix}:slots:t:{user}");
        let mut conn = a.conn();
        let (secs, micros): (i64, i64) = redis::cmd("TIME").query_async(&mut conn).await.unwrap();
        let deadline = secs * 1000 + micros / 1000 + 300;
        let _: i64 = redis::cmd("ZADD")
            .arg(&key)
            .arg(deadline)
            .arg("dead:0")
            .query_async(&mut conn)
            .await
            .unwrap();
        let live = on_a
            .acquire(user)
            .await
            .unwrap()
            .expect("one beside the dead one");
        assert!(
            on_a.acquire(user).await.unwrap().is_none(),
            "dead member counts"
        );
        tokio::time::sleep(Duration::from_millis(400)).await;
        let after = on_b.acquire(user).await.unwrap();
        assert!(after.is_some(), "the dead node's member expired");
        drop((live, after));
        let _: i64 = redis::cmd("DEL")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
}
