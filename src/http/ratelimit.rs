//! Rate limits, keyed by user, IP or battle, as DESIGN.md sets them.
//!
//! One node counts in-process with `governor` (GCRA). In multi-node mode every count lives in
//! Redis ([`crate::cluster::limits`], the same GCRA), so spreading requests over nodes does not
//! multiply a limit. When Redis fails, a check falls back to this node's own limiter (the
//! service stays up; a limit then counts per node until Redis answers again), Redis is left
//! alone for [`BREAKER`], and each such check counts in `ratelimit_fallback_total`.

use std::{
    num::NonZeroU32,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use actix_web::{
    body::{EitherBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::header::{HeaderName, HeaderValue},
    middleware::Next,
    web, Error, ResponseError,
};
use governor::{
    clock::{Clock, DefaultClock},
    middleware::StateInformationMiddleware,
    state::keyed::DefaultKeyedStateStore,
    Quota, RateLimiter,
};

use crate::cluster::limits::{Quota as SharedQuota, SharedLimiter};
use crate::config::RateLimits;
use crate::http::{
    errors::{V1Error, V2Error},
    AppState,
};
use crate::metrics::METRICS;

type Keyed =
    RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>;

/// How long a node counts locally after Redis failed, before it asks Redis again.
pub const BREAKER: Duration = Duration::from_secs(1);
/// Longest a check waits for Redis before it counts locally.
const REDIS_WAIT: Duration = Duration::from_millis(250);

/// One keyed limiter with the numbers needed for `X-RateLimit-*` headers.
pub struct Limiter {
    inner: Keyed,
    name: &'static str,
    limit: u32,
    period: Duration,
}

/// Result of one check.
pub struct Decision {
    /// Allowed?
    pub allowed: bool,
    /// Quota size.
    pub limit: u32,
    /// Requests left now.
    pub remaining: u32,
    /// Seconds until the quota is full again (or until a retry can pass, when denied).
    pub(crate) reset_after: u64,
}

impl Limiter {
    fn new(name: &'static str, limit: u32, period: Duration) -> Self {
        let n = NonZeroU32::new(limit.max(1)).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(period / n.get())
            .unwrap_or_else(|| Quota::per_second(n))
            .allow_burst(n);
        Self {
            inner: RateLimiter::keyed(quota).with_middleware(),
            name,
            limit: n.get(),
            period,
        }
    }

    /// Counts one request for `key` on this node only.
    pub fn check(&self, key: &str) -> Decision {
        let per = self.period.as_secs_f64() / self.limit as f64;
        match self.inner.check_key(&key.to_string()) {
            Ok(snap) => {
                let remaining = snap.remaining_burst_capacity();
                Decision {
                    allowed: true,
                    limit: self.limit,
                    remaining,
                    reset_after: ((self.limit - remaining) as f64 * per).ceil() as u64,
                }
            }
            Err(not_until) => Decision {
                allowed: false,
                limit: self.limit,
                remaining: 0,
                reset_after: not_until
                    .wait_time_from(DefaultClock::default().now())
                    .as_secs()
                    .max(1),
            },
        }
    }

    /// Drops idle keys so memory stays bounded.
    pub(crate) fn sweep(&self) {
        self.inner.retain_recent();
        self.inner.shrink_to_fit();
    }
}

/// The Redis side of the limits, with its breaker.
struct Shared {
    redis: SharedLimiter,
    /// Start of the process, the origin of `down_until_ms`.
    epoch: Instant,
    /// Until when (ms after `epoch`) checks stay local.
    down_until_ms: AtomicU64,
}

impl Shared {
    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Counts in Redis; `None` when Redis is out (then the caller counts locally).
    async fn check(&self, l: &Limiter, key: &str) -> Option<Decision> {
        if self.now_ms() < self.down_until_ms.load(Ordering::Relaxed) {
            return None;
        }
        let quota = SharedQuota {
            limit: l.limit,
            period: l.period,
        };
        match tokio::time::timeout(REDIS_WAIT, self.redis.check(l.name, key, quota)).await {
            Ok(Ok(v)) => Some(Decision {
                allowed: v.allowed,
                limit: l.limit,
                remaining: v.remaining,
                reset_after: if v.allowed {
                    v.reset_after.as_secs_f64().ceil() as u64
                } else {
                    (v.retry_after.as_secs_f64().ceil() as u64).max(1)
                },
            }),
            other => {
                let error = match other {
                    Ok(Err(e)) => e.to_string(),
                    _ => "timed out".into(),
                };
                let until = self.now_ms() + BREAKER.as_millis() as u64;
                if self.down_until_ms.swap(until, Ordering::Relaxed) < self.now_ms() {
                    tracing::warn!(%error, "rate limits: Redis failed; counting on this node");
                }
                None
            }
        }
    }
}

/// Every limiter of the server.
pub struct Limiters {
    /// Master switch.
    pub enabled: bool,
    /// v1 general, per user or IP per hour.
    pub v1: Limiter,
    /// v1 battle updates per battle per minute.
    pub(crate) v1_battle: Limiter,
    /// v2 general, per IP per minute.
    pub v2: Limiter,
    /// Sign-in endpoints of both APIs (`/v1/auth/{login,register,refresh}`, `/v2/auth/*`),
    /// per IP per minute, one quota shared by both.
    pub auth: Limiter,
    /// Multi-node mode: the counts in Redis.
    shared: Option<Shared>,
}

impl Limiters {
    /// Limiters from configuration; with a cluster they count in its Redis.
    pub fn new(c: &RateLimits, cluster: Option<&crate::cluster::Cluster>) -> Arc<Self> {
        Arc::new(Self {
            enabled: c.enabled,
            v1: Limiter::new("v1", c.v1_per_hour, Duration::from_secs(3600)),
            v1_battle: Limiter::new(
                "battle",
                c.v1_battle_updates_per_min,
                Duration::from_secs(60),
            ),
            v2: Limiter::new("v2", c.v2_per_min, Duration::from_secs(60)),
            auth: Limiter::new("auth", c.v2_auth_per_min, Duration::from_secs(60)),
            shared: cluster.map(|c| Shared {
                redis: SharedLimiter::new(c),
                epoch: Instant::now(),
                down_until_ms: AtomicU64::new(0),
            }),
        })
    }

    /// Counts one request for `key` against `l`: across the cluster in multi-node mode (this
    /// node's limiter while Redis is out), else on this node.
    pub async fn check(&self, l: &Limiter, key: &str) -> Decision {
        if let Some(s) = &self.shared {
            if let Some(d) = s.check(l, key).await {
                return d;
            }
            METRICS.ratelimit_fallback.inc();
        }
        l.check(key)
    }

    /// Counts one change of a tracker battle: `Err(retry_after_s)` when its quota is spent.
    pub(crate) async fn battle_update(&self, battle: uuid::Uuid) -> Result<(), u64> {
        if !self.enabled {
            return Ok(());
        }
        let d = self.check(&self.v1_battle, &battle.to_string()).await;
        if d.allowed {
            Ok(())
        } else {
            Err(d.reset_after)
        }
    }

    /// Sweeps all limiters.
    pub(crate) fn sweep(&self) {
        self.v1.sweep();
        self.v1_battle.sweep();
        self.v2.sweep();
        self.auth.sweep();
    }
}

/// Endpoints that take credentials: one per-IP quota for both APIs.
fn is_auth_path(path: &str) -> bool {
    path.starts_with("/v2/auth/")
        || ["/v1/auth/login", "/v1/auth/register", "/v1/auth/refresh"]
            .iter()
            .any(|p| path.trim_end_matches('/') == *p)
}

fn client_ip(req: &ServiceRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// /v1: per-user (or per-IP) hourly quota, with `X-RateLimit-*` headers on every response.
pub async fn v1(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    };
    // Sign-in endpoints are counted per IP whatever the headers, so a bearer token cannot move
    // password guessing into a bucket of its own.
    let auth = is_auth_path(req.path());
    let key = if auth {
        None
    } else {
        crate::http::extract::bearer(req.headers())
            .and_then(|t| state.keys.verify(t).ok())
            .map(|u| format!("u:{}", u.id))
    }
    .unwrap_or_else(|| format!("ip:{}", client_ip(&req)));
    if auth && state.limits.enabled {
        let d = state
            .limits
            .check(&state.limits.auth, &client_ip(&req))
            .await;
        if !d.allowed {
            let (r, _) = req.into_parts();
            let resp = V1Error::RateLimited {
                retry_after: d.reset_after,
            }
            .error_response();
            return Ok(ServiceResponse::new(r, resp).map_into_right_body());
        }
    }
    let d = if state.limits.enabled {
        state.limits.check(&state.limits.v1, &key).await
    } else {
        Decision {
            allowed: true,
            limit: state.limits.v1.limit,
            remaining: state.limits.v1.limit,
            reset_after: 0,
        }
    };
    let reset = (chrono::Utc::now().timestamp() as u64 + d.reset_after).to_string();
    let headers = [
        ("x-ratelimit-limit", d.limit.to_string()),
        ("x-ratelimit-remaining", d.remaining.to_string()),
        ("x-ratelimit-reset", reset),
    ];
    let mut res = if d.allowed {
        next.call(req).await?.map_into_left_body()
    } else {
        let (r, _) = req.into_parts();
        let resp = V1Error::RateLimited {
            retry_after: d.reset_after,
        }
        .error_response();
        ServiceResponse::new(r, resp).map_into_right_body()
    };
    for (k, v) in headers {
        if let Ok(v) = HeaderValue::from_str(&v) {
            res.headers_mut().insert(HeaderName::from_static(k), v);
        }
    }
    Ok(res)
}

/// /v2: per-IP quota per minute, tighter on `/v2/auth/*`.
pub async fn v2(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    };
    if state.limits.enabled {
        let ip = client_ip(&req);
        let limiter = if is_auth_path(req.path()) {
            &state.limits.auth
        } else {
            &state.limits.v2
        };
        let d = state.limits.check(limiter, &ip).await;
        if !d.allowed {
            let (r, _) = req.into_parts();
            let resp = V2Error::RateLimited {
                retry_after: d.reset_after,
            }
            .error_response();
            return Ok(ServiceResponse::new(r, resp).map_into_right_body());
        }
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}
