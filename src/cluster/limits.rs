//! Cluster-wide rate limits: one GCRA state per key in Redis, shared by every node, so
//! spreading requests over nodes does not multiply a limit.
//!
//! The algorithm is the one `governor` runs in-process (GCRA with a burst of the whole quota):
//! a key stores its *theoretical arrival time* (TAT, µs on the Redis clock). A request at `now`
//! passes when `max(TAT, now) + T - tau <= now`, with `T = period / limit` and
//! `tau = T * limit`, and then moves TAT on by `T`. One Lua script does the read, the test and
//! the write atomically, on the Redis server's clock (`TIME`), so nodes whose clocks disagree
//! still share one count. A key expires when its quota is full again.

use std::time::Duration;

use redis::{aio::ConnectionManager, Script};

use super::{Cluster, ClusterError};

/// GCRA over one key. KEYS[1]: the key; ARGV[1]: T (µs); ARGV[2]: tau (µs).
/// Returns `{allowed, remaining, retry_after_us, reset_after_us}`.
const GCRA: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local T = tonumber(ARGV[1])
local tau = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + T
local allow_at = new_tat - tau
if now < allow_at then
  return {0, 0, allow_at - now, tat - now}
end
local ttl_ms = math.floor((new_tat - now) / 1000) + 1
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', ttl_ms)
return {1, math.floor((now + tau - new_tat) / T), 0, new_tat - now}
"#;

/// A quota: `limit` requests per `period`, all of which may come at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Requests per period (at least 1).
    pub limit: u32,
    /// The period.
    pub period: Duration,
}

/// The answer for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// The request may pass.
    pub allowed: bool,
    /// Requests left in the quota after this one.
    pub remaining: u32,
    /// When refused: how long until one request can pass.
    pub retry_after: Duration,
    /// How long until the whole quota is available again.
    pub reset_after: Duration,
}

/// Rate limits counted in Redis under `{prefix}:rl:{name}:{key}`.
#[derive(Clone)]
pub struct SharedLimiter {
    conn: ConnectionManager,
    base: String,
    script: Script,
}

impl SharedLimiter {
    /// Limits on this cluster's Redis.
    pub fn new(cluster: &Cluster) -> Self {
        Self {
            conn: cluster.conn(),
            base: cluster.key("rl"),
            script: Script::new(GCRA),
        }
    }

    /// Counts one request for `key` against quota `name` (`v1`, `v2`, `auth`, `battle`).
    /// The script is sent by hash (`EVALSHA`), and loaded on first use by each Redis server.
    #[tracing::instrument(skip(self, quota), level = "debug")]
    pub async fn check(
        &self,
        name: &str,
        key: &str,
        quota: Quota,
    ) -> Result<Verdict, ClusterError> {
        let limit = u64::from(quota.limit.max(1));
        let t = (quota.period.as_micros() as u64 / limit).max(1);
        let mut conn = self.conn.clone();
        let (allowed, remaining, retry_us, reset_us): (i64, i64, i64, i64) = self
            .script
            .key(format!("{}:{name}:{key}", self.base))
            .arg(t)
            .arg(t * limit)
            .invoke_async(&mut conn)
            .await?;
        let us = |v: i64| Duration::from_micros(v.max(0) as u64);
        Ok(Verdict {
            allowed: allowed == 1,
            remaining: remaining.clamp(0, i64::from(quota.limit)) as u32,
            retry_after: us(retry_us),
            reset_after: us(reset_us),
        })
    }
}
