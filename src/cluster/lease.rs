//! Leases: one owner in the cluster for each piece of live work (a robot battle, a tracker
//! battle, a tournament's round clock, a mode's matcher).
//!
//! A lease is the Redis key `{prefix}:lease:{kind}:{id}` holding `{node}:{token}`, set with a
//! TTL and renewed by its holder. The token comes from `INCR {prefix}:fence:{kind}:{id}` on every
//! fresh acquisition, so it grows with each new owner: writes that must not come from a stale
//! owner carry it (fencing token).
//!
//! Fencing on this side: a holder that has not renewed for [`SAFE_FRACTION`] of the TTL (Redis
//! unreachable, or the renewal was refused because another node took over) counts the lease as
//! lost and is told through [`LeaseGuard::lost`]; it must stop the work at once. The key in
//! Redis outlives that local deadline, so two nodes never both believe they hold it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use redis::aio::ConnectionManager;
use tokio::sync::watch;

use super::{ClusterError, ClusterSettings};
use crate::metrics::METRICS;

/// Longest a lease call waits for Redis (the connection manager itself retries forever).
const CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// Share of the TTL after the last successful renewal at which a holder gives the lease up.
pub const SAFE_FRACTION: f64 = 0.7;

const ACQUIRE: &str = r#"
local cur = redis.call('GET', KEYS[1])
if cur == false then
  local token = redis.call('INCR', KEYS[2])
  redis.call('SET', KEYS[1], ARGV[1] .. ':' .. token, 'PX', ARGV[2])
  return token
end
local sep = string.find(cur, ':[^:]*$')
if sep and string.sub(cur, 1, sep - 1) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tonumber(string.sub(cur, sep + 1))
end
return 0
"#;

const RENEW: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"#;

const RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"#;

struct Held {
    value: String,
    renewed: Instant,
    lost: watch::Sender<bool>,
}

/// This node's leases: acquisition, a renewal loop, release.
pub struct Leases {
    conn: ConnectionManager,
    prefix: String,
    node: String,
    ttl: Duration,
    held: DashMap<String, Held>,
    /// Set by [`Leases::release_all`]: a node that is leaving claims nothing more (its
    /// sweeps and matcher loops still run until the process exits).
    leaving: std::sync::atomic::AtomicBool,
    acquire: redis::Script,
    renew: redis::Script,
    release: redis::Script,
}

/// A lease this node holds. Dropping it releases the lease (best effort).
pub struct LeaseGuard {
    leases: Arc<Leases>,
    key: String,
    token: u64,
    lost: watch::Receiver<bool>,
}

impl LeaseGuard {
    /// The fencing token: larger for every new owner of this lease.
    pub fn token(&self) -> u64 {
        self.token
    }

    /// Resolves once the lease is lost (never renewed in time, or taken over).
    pub fn lost(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.lost.clone();
        async move {
            let _ = rx.wait_for(|lost| *lost).await;
        }
    }

    /// True while the lease is still this node's.
    pub fn is_held(&self) -> bool {
        !*self.lost.borrow()
    }
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        let leases = self.leases.clone();
        let key = std::mem::take(&mut self.key);
        if let Some((_, held)) = leases.held.remove(&key) {
            METRICS.leases_held.dec();
            let value = held.value;
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move {
                    let mut c = leases.conn.clone();
                    let _: Result<i64, _> = leases
                        .release
                        .key(&key)
                        .arg(&value)
                        .invoke_async(&mut c)
                        .await;
                });
            }
        }
    }
}

impl Leases {
    pub(super) fn start(conn: ConnectionManager, s: &ClusterSettings) -> Arc<Leases> {
        let leases = Arc::new(Leases {
            conn,
            prefix: s.prefix.clone(),
            node: s.node_id.clone(),
            ttl: s.lease_ttl,
            held: DashMap::new(),
            leaving: std::sync::atomic::AtomicBool::new(false),
            acquire: redis::Script::new(ACQUIRE),
            renew: redis::Script::new(RENEW),
            release: redis::Script::new(RELEASE),
        });
        let weak = Arc::downgrade(&leases);
        let period = s.lease_ttl / 4;
        tokio::spawn(async move {
            let mut t = tokio::time::interval(period);
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                t.tick().await;
                let Some(leases) = weak.upgrade() else { return };
                leases.renew_all().await;
            }
        });
        // The local deadline runs on its own: a renewal stuck on an unreachable Redis (the
        // connection manager keeps retrying) must not keep a lease this node cannot prove.
        let weak = Arc::downgrade(&leases);
        tokio::spawn(async move {
            let mut t = tokio::time::interval(period / 2);
            loop {
                t.tick().await;
                let Some(leases) = weak.upgrade() else { return };
                leases.give_up_overdue();
            }
        });
        leases
    }

    fn lease_key(&self, kind: &str, id: &str) -> String {
        format!("{}:lease:{kind}:{id}", self.prefix)
    }

    /// The lease TTL.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Tries to take the lease on `kind/id`: `Some` when this node holds it now (fresh, or
    /// already its own), `None` when another node does.
    #[tracing::instrument(skip(self))]
    pub async fn try_acquire(
        self: &Arc<Self>,
        kind: &str,
        id: &str,
    ) -> Result<Option<LeaseGuard>, ClusterError> {
        if self.leaving.load(std::sync::atomic::Ordering::Relaxed) {
            return Ok(None);
        }
        let key = self.lease_key(kind, id);
        if self.held.contains_key(&key) {
            // Held by another part of this node: a second guard would release it on drop.
            return Ok(None);
        }
        let fence = format!("{}:fence:{kind}:{id}", self.prefix);
        let mut c = self.conn.clone();
        let mut inv = self.acquire.key(&key);
        inv.key(&fence)
            .arg(&self.node)
            .arg(self.ttl.as_millis() as u64);
        let call = inv.invoke_async::<u64>(&mut c);
        let token = tokio::time::timeout(CALL_TIMEOUT, call)
            .await
            .map_err(|_| ClusterError::Timeout("redis".into()))??;
        if token == 0 {
            return Ok(None);
        }
        let (tx, rx) = watch::channel(false);
        self.held.insert(
            key.clone(),
            Held {
                value: format!("{}:{token}", self.node),
                renewed: Instant::now(),
                lost: tx,
            },
        );
        METRICS.leases_held.inc();
        Ok(Some(LeaseGuard {
            leases: self.clone(),
            key,
            token,
            lost: rx,
        }))
    }

    /// The node that holds `kind/id`, if any.
    pub async fn owner(&self, kind: &str, id: &str) -> Result<Option<String>, ClusterError> {
        let mut c = self.conn.clone();
        let mut cmd = redis::cmd("GET");
        cmd.arg(self.lease_key(kind, id));
        let call = cmd.query_async::<Option<String>>(&mut c);
        let v = tokio::time::timeout(CALL_TIMEOUT, call)
            .await
            .map_err(|_| ClusterError::Timeout("redis".into()))??;
        Ok(v.and_then(|v| v.rsplit_once(':').map(|(node, _)| node.to_string())))
    }

    /// Lets every lease go now and claims none after (graceful shutdown hands the work to
    /// other nodes at once).
    pub async fn release_all(&self) {
        self.leaving
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let keys: Vec<(String, String)> = self
            .held
            .iter()
            .map(|e| (e.key().clone(), e.value().value.clone()))
            .collect();
        for (key, value) in keys {
            if let Some((_, h)) = self.held.remove(&key) {
                let _ = h.lost.send(true);
                METRICS.leases_held.dec();
            }
            let mut c = self.conn.clone();
            let _: Result<i64, _> = self
                .release
                .key(&key)
                .arg(&value)
                .invoke_async(&mut c)
                .await;
        }
    }

    fn give_up(&self, key: &str) {
        if let Some((_, h)) = self.held.remove(key) {
            tracing::warn!(%key, "lease lost: stopping its work");
            METRICS.leases_held.dec();
            METRICS.leases_lost.inc();
            let _ = h.lost.send(true);
        }
    }

    fn give_up_overdue(&self) {
        let safe = self.ttl.mul_f64(SAFE_FRACTION);
        let overdue: Vec<String> = self
            .held
            .iter()
            .filter(|e| e.value().renewed.elapsed() >= safe)
            .map(|e| e.key().clone())
            .collect();
        for key in overdue {
            self.give_up(&key);
        }
    }

    async fn renew_all(&self) {
        let safe = self.ttl.mul_f64(SAFE_FRACTION);
        self.give_up_overdue();
        let keys: Vec<(String, String)> = self
            .held
            .iter()
            .map(|e| (e.key().clone(), e.value().value.clone()))
            .collect();
        // All renewals at once: pipelined on the multiplexed connection, one round trip.
        let renewals = keys.into_iter().map(|(key, value)| async move {
            let mut c = self.conn.clone();
            let mut inv = self.renew.key(&key);
            inv.arg(&value).arg(self.ttl.as_millis() as u64);
            let call = inv.invoke_async::<i64>(&mut c);
            let r = match tokio::time::timeout(self.ttl / 4, call).await {
                Ok(r) => r,
                Err(_) => Err(redis::RedisError::from((
                    redis::ErrorKind::Io,
                    "lease renewal timed out",
                ))),
            };
            (key, r)
        });
        for (key, r) in futures_util::future::join_all(renewals).await {
            let mut gone = false;
            if let Some(mut h) = self.held.get_mut(&key) {
                match r {
                    Ok(1) => h.renewed = Instant::now(),
                    Ok(_) => gone = true,
                    Err(e) => {
                        tracing::warn!(%key, error = %e, "lease renewal failed");
                        gone = h.renewed.elapsed() >= safe;
                    }
                }
            }
            if gone {
                self.give_up(&key);
            }
        }
    }
}
