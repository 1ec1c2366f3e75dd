//! Server configuration: environment variables, optionally seeded by `warroom.toml`.
//!
//! The names are fixed by DESIGN.md; tools and docs rely on them. The environment wins over the
//! file so an operator can override one key without editing it.

use std::{collections::BTreeMap, net::SocketAddr, path::PathBuf, time::Duration};

use crate::chain::devchain::DevChainConfig;
use crate::domain::economy::{parse_eldr, Rates};
use crate::economy::config::EconomyConfig;
pub use crate::store::DatabaseTarget;

/// Rate-limit settings (per DESIGN.md), all configurable.
#[derive(Debug, Clone)]
pub struct RateLimits {
    /// Master switch (`WARROOM_RATE_LIMITS=off` for load tests).
    pub enabled: bool,
    /// v1: requests per hour per user (or per IP when anonymous).
    pub v1_per_hour: u32,
    /// v1: battle updates per minute per battle.
    pub v1_battle_updates_per_min: u32,
    /// v1: concurrent WebSocket connections per user.
    pub v1_ws_per_user: u32,
    /// v2: requests per minute per IP.
    pub v2_per_min: u32,
    /// v2: auth requests per minute per IP.
    pub v2_auth_per_min: u32,
    /// Socket.IO: concurrent sockets per user (`WARROOM_SIO_PER_USER`; on even when rate
    /// limits are off, like `v1_ws_per_user`).
    pub sio_per_user: u32,
    /// Socket.IO: concurrent sockets per client IP (`WARROOM_SIO_PER_IP`).
    pub sio_per_ip: u32,
    /// Socket.IO: new engine.io handshakes per client IP per minute
    /// (`WARROOM_SIO_HANDSHAKES_PER_IP_PER_MIN`).
    pub sio_handshakes_per_ip_per_min: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            enabled: true,
            v1_per_hour: 1000,
            v1_battle_updates_per_min: 60,
            v1_ws_per_user: 10,
            v2_per_min: 100,
            v2_auth_per_min: 10,
            sio_per_user: 10,
            sio_per_ip: 100,
            sio_handshakes_per_ip_per_min: 120,
        }
    }
}

/// The whole server configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The one public address.
    pub bind: String,
    /// SQLite file and generated signing key live here.
    pub data_dir: PathBuf,
    /// Database backend.
    pub database: DatabaseTarget,
    /// `REDIS_URL`: multi-node mode when set.
    pub redis_url: Option<String>,
    /// Multi-node settings (`REDIS_URL`, `WARROOM_REDIS_PREFIX`, `WARROOM_NODE_ID`,
    /// `WARROOM_LEASE_MS`); `None` without `REDIS_URL`.
    pub cluster: Option<crate::cluster::ClusterSettings>,
    /// `WARROOM_CACHE` (default `on`): multi-node mode keeps read-through caches of
    /// tournaments, army lists and user profiles in Redis; `off` reads the database every time.
    pub cache: bool,
    /// HMAC secret for JWTs; generated once into the data dir when unset.
    pub jwt_secret: Option<String>,
    /// Robot battle tick interval.
    pub tick: Duration,
    /// From match found to first tick.
    pub countdown: Duration,
    /// `WARROOM_SEASON`: the current ranked season (older ones stay queryable).
    pub season: i64,
    /// `WARROOM_SIO_PING_MS`: engine.io ping interval; a peer silent for interval + timeout
    /// (`WARROOM_SIO_PING_TIMEOUT_MS`) is dropped.
    pub sio_ping: (Duration, Duration),
    /// `WARROOM_SIO_CONNECT_TIMEOUT_MS`: an engine.io session that has not joined a Socket.IO
    /// namespace (a successful `CONNECT`) within this is closed.
    pub sio_connect_timeout: Duration,
    /// `WARROOM_AUTH_CACHE_MS`: how long an account's role and ban state, read from the
    /// database for tokens already issued, may be reused before it is read again.
    pub auth_cache: Duration,
    /// `WARROOM_QUEUE_GRACE_MS`: how long a queued player may be offline before leaving the queue.
    pub queue_grace: Duration,
    /// Rate limits.
    pub rate_limits: RateLimits,
    /// EVM JSON-RPC endpoint; unset means the embedded dev chain.
    pub chain_rpc_url: Option<String>,
    /// Tracing filter.
    pub log: String,
    /// `pretty` or `json`.
    pub log_format: String,
    /// Largest accepted request body, bytes.
    pub body_limit: usize,
    /// HTTP worker threads (0 = number of cores).
    pub workers: usize,
    /// `WARROOM_RUNTIME` (`auto`, `current` or `multi`): the runtime the actors run on.
    pub runtime: RuntimeFlavor,
    /// `WARROOM_TICK_GRID_MS` (0 = off): robot battles start on multiples of this (unix ms),
    /// so battles tick together and one timer wake-up serves several of them. Unset: see
    /// [`Config::tick_grid`].
    pub tick_grid: Option<Duration>,
    /// Persister: longest a write waits for companions before its batch commits.
    pub persist_max_wait: Duration,
    /// Persister: most rows per batch.
    pub persist_max_rows: usize,
    /// Bound on graceful shutdown.
    pub shutdown_timeout: Duration,
    /// Tracker `timer_update` period.
    pub timer_update: Duration,
    /// Economy: rates, mint price, chain addresses and timing.
    pub economy: EconomyConfig,
    /// `/v1/ws` heartbeat: how often the server pings each peer.
    pub ws_ping_interval: Duration,
    /// `/v1/ws` heartbeat: how long a ping may go unanswered before the peer is dropped.
    pub ws_pong_timeout: Duration,
    /// `WARROOM_CORS_ORIGINS`: comma list of origins allowed to call the APIs from a browser;
    /// `*` admits any origin without credentials, named origins also get credentials.
    pub cors_origins: String,
    /// Failed-login lockout (`WARROOM_LOGIN_MAX_FAILURES` within `WARROOM_LOGIN_LOCKOUT_MS`
    /// lock the account for as long).
    pub login_lockout: crate::store::lockout::LockoutPolicy,
    /// `WARROOM_IDEMPOTENCY_LEASE_MS`: how long an in-progress `Idempotency-Key` is held before
    /// a retry may take it over (its request died).
    pub idempotency_lease: Duration,
}

/// The tokio runtime under the actix System that runs the actors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeFlavor {
    /// One thread when the process may use one CPU, tokio's multi-thread default otherwise.
    Auto,
    /// Actors, timers and spawned tasks on one thread (actix's own default).
    CurrentThread,
    /// A multi-thread runtime with one worker per CPU.
    MultiThread,
}

impl RuntimeFlavor {
    /// Whether this runs on a current-thread runtime here. On one CPU, more runtime threads
    /// can only take turns: every timer they drive for the actor thread is a wake-up and two
    /// context switches, which side by side cost ≈ 1.5 µs per delivered event.
    pub fn is_current_thread(self) -> bool {
        match self {
            RuntimeFlavor::Auto => std::thread::available_parallelism().is_ok_and(|n| n.get() == 1),
            RuntimeFlavor::CurrentThread => true,
            RuntimeFlavor::MultiThread => false,
        }
    }
}

/// Error reading configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A key had a value that does not parse.
    #[error("invalid value for {key}: {value:?} ({reason})")]
    Invalid {
        /// Variable name.
        key: &'static str,
        /// The offending value.
        value: String,
        /// Why.
        reason: String,
    },
    /// `warroom.toml` exists but is not valid.
    #[error("warroom.toml: {0}")]
    File(String),
}

impl Config {
    /// Reads `warroom.toml` (if present in the working directory) and then the environment.
    pub fn load() -> Result<Self, ConfigError> {
        let mut vars: BTreeMap<String, String> = BTreeMap::new();
        if let Ok(text) = std::fs::read_to_string("warroom.toml") {
            let table: toml::Table =
                toml::from_str(&text).map_err(|e| ConfigError::File(e.to_string()))?;
            for (k, v) in table {
                let v = match v {
                    toml::Value::String(s) => s,
                    other => other.to_string(),
                };
                vars.insert(k.to_ascii_uppercase(), v);
            }
        }
        for (k, v) in std::env::vars() {
            vars.insert(k, v);
        }
        Self::from_map(&vars)
    }

    /// Builds a configuration from key/value pairs (the environment's names).
    pub(crate) fn from_map(vars: &BTreeMap<String, String>) -> Result<Self, ConfigError> {
        let get = |k: &str| vars.get(k).filter(|v| !v.is_empty()).cloned();
        let data_dir = PathBuf::from(get("WARROOM_DATA_DIR").unwrap_or_else(|| ".".into()));
        let database = match get("DATABASE_URL") {
            None => DatabaseTarget::Sqlite(format!(
                "sqlite://{}?mode=rwc",
                data_dir.join("warroom.db").display()
            )),
            Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => {
                DatabaseTarget::Postgres(u)
            }
            Some(u) if u.starts_with("sqlite:") => DatabaseTarget::Sqlite(u),
            Some(u) => {
                return Err(ConfigError::Invalid {
                    key: "DATABASE_URL",
                    value: u,
                    reason: "expected postgres://... or sqlite://...".into(),
                })
            }
        };
        let ms = |key: &'static str, default: u64| -> Result<Duration, ConfigError> {
            parse_num(key, get(key), default).map(Duration::from_millis)
        };
        let rl_enabled = switch("WARROOM_RATE_LIMITS", get("WARROOM_RATE_LIMITS"))?;
        let cache = switch("WARROOM_CACHE", get("WARROOM_CACHE"))?;
        let d = RateLimits::default();
        let rate_limits = RateLimits {
            enabled: rl_enabled,
            v1_per_hour: parse_num(
                "WARROOM_V1_RATE_PER_HOUR",
                get("WARROOM_V1_RATE_PER_HOUR"),
                d.v1_per_hour as u64,
            )? as u32,
            v1_battle_updates_per_min: parse_num(
                "WARROOM_V1_BATTLE_UPDATES_PER_MIN",
                get("WARROOM_V1_BATTLE_UPDATES_PER_MIN"),
                d.v1_battle_updates_per_min as u64,
            )? as u32,
            v1_ws_per_user: parse_num(
                "WARROOM_V1_WS_PER_USER",
                get("WARROOM_V1_WS_PER_USER"),
                d.v1_ws_per_user as u64,
            )? as u32,
            v2_per_min: parse_num(
                "WARROOM_V2_RATE_PER_MIN",
                get("WARROOM_V2_RATE_PER_MIN"),
                d.v2_per_min as u64,
            )? as u32,
            v2_auth_per_min: parse_num(
                "WARROOM_V2_AUTH_RATE_PER_MIN",
                get("WARROOM_V2_AUTH_RATE_PER_MIN"),
                d.v2_auth_per_min as u64,
            )? as u32,
            sio_per_user: parse_num(
                "WARROOM_SIO_PER_USER",
                get("WARROOM_SIO_PER_USER"),
                d.sio_per_user as u64,
            )? as u32,
            sio_per_ip: parse_num(
                "WARROOM_SIO_PER_IP",
                get("WARROOM_SIO_PER_IP"),
                d.sio_per_ip as u64,
            )? as u32,
            sio_handshakes_per_ip_per_min: parse_num(
                "WARROOM_SIO_HANDSHAKES_PER_IP_PER_MIN",
                get("WARROOM_SIO_HANDSHAKES_PER_IP_PER_MIN"),
                d.sio_handshakes_per_ip_per_min as u64,
            )? as u32,
        };
        let bind = get("WARROOM_BIND").unwrap_or_else(|| "127.0.0.1:8080".into());
        if bind.parse::<SocketAddr>().is_err() && !bind.contains(':') {
            return Err(ConfigError::Invalid {
                key: "WARROOM_BIND",
                value: bind,
                reason: "expected host:port".into(),
            });
        }
        let jwt_secret = get("WARROOM_JWT_SECRET");
        if let Some(s) = &jwt_secret {
            if s.len() < 32 {
                return Err(ConfigError::Invalid {
                    key: "WARROOM_JWT_SECRET",
                    value: "(hidden)".into(),
                    reason: format!(
                        "{} bytes; an HS256 key needs at least 32 (or leave it unset to generate one)",
                        s.len()
                    ),
                });
            }
        }
        Ok(Self {
            bind,
            data_dir,
            database,
            redis_url: get("REDIS_URL"),
            cache,
            cluster: match get("REDIS_URL") {
                None => None,
                Some(url) => Some(crate::cluster::ClusterSettings {
                    url,
                    prefix: get("WARROOM_REDIS_PREFIX").unwrap_or_else(|| "warroom".into()),
                    node_id: get("WARROOM_NODE_ID")
                        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string()[..12].into()),
                    lease_ttl: ms("WARROOM_LEASE_MS", 5000)?,
                }),
            },
            jwt_secret,
            tick: ms("WARROOM_TICK_MS", 750)?,
            countdown: ms("WARROOM_COUNTDOWN_MS", 3000)?,
            season: match parse_num("WARROOM_SEASON", get("WARROOM_SEASON"), 1)? {
                0 => {
                    return Err(ConfigError::Invalid {
                        key: "WARROOM_SEASON",
                        value: "0".into(),
                        reason: "seasons start at 1".into(),
                    })
                }
                n => n as i64,
            },
            queue_grace: ms("WARROOM_QUEUE_GRACE_MS", 5000)?,
            sio_ping: (
                ms("WARROOM_SIO_PING_MS", 25_000)?,
                ms("WARROOM_SIO_PING_TIMEOUT_MS", 20_000)?,
            ),
            sio_connect_timeout: ms("WARROOM_SIO_CONNECT_TIMEOUT_MS", 5000)?,
            auth_cache: ms("WARROOM_AUTH_CACHE_MS", 1000)?,
            rate_limits,
            chain_rpc_url: get("CHAIN_RPC_URL"),
            log: get("WARROOM_LOG").unwrap_or_else(|| "info".into()),
            log_format: get("WARROOM_LOG_FORMAT").unwrap_or_else(|| "pretty".into()),
            body_limit: parse_num("WARROOM_BODY_LIMIT", get("WARROOM_BODY_LIMIT"), 256 * 1024)?
                as usize,
            workers: parse_num("WARROOM_WORKERS", get("WARROOM_WORKERS"), 0)? as usize,
            runtime: match get("WARROOM_RUNTIME").as_deref() {
                None | Some("auto") => RuntimeFlavor::Auto,
                Some("current") => RuntimeFlavor::CurrentThread,
                Some("multi") => RuntimeFlavor::MultiThread,
                Some(other) => {
                    return Err(ConfigError::Invalid {
                        key: "WARROOM_RUNTIME",
                        value: other.into(),
                        reason: "auto, current or multi".into(),
                    })
                }
            },
            tick_grid: match get("WARROOM_TICK_GRID_MS") {
                None => None,
                Some(_) => Some(ms("WARROOM_TICK_GRID_MS", 0)?),
            },
            persist_max_wait: ms("WARROOM_PERSIST_MAX_WAIT_MS", 2)?,
            persist_max_rows: parse_num(
                "WARROOM_PERSIST_MAX_ROWS",
                get("WARROOM_PERSIST_MAX_ROWS"),
                2000,
            )? as usize,
            shutdown_timeout: ms("WARROOM_SHUTDOWN_TIMEOUT_MS", 10_000)?,
            timer_update: ms("WARROOM_TIMER_UPDATE_MS", 1000)?,
            economy: economy_from_map(vars)?,
            ws_ping_interval: ms("WARROOM_WS_PING_MS", 15_000)?,
            ws_pong_timeout: ms("WARROOM_WS_PONG_TIMEOUT_MS", 10_000)?,
            cors_origins: get("WARROOM_CORS_ORIGINS").unwrap_or_default(),
            idempotency_lease: ms("WARROOM_IDEMPOTENCY_LEASE_MS", 30_000)?,
            login_lockout: {
                let lock_ms = parse_num(
                    "WARROOM_LOGIN_LOCKOUT_MS",
                    get("WARROOM_LOGIN_LOCKOUT_MS"),
                    900_000,
                )? as i64;
                crate::store::lockout::LockoutPolicy {
                    max_failures: parse_num(
                        "WARROOM_LOGIN_MAX_FAILURES",
                        get("WARROOM_LOGIN_MAX_FAILURES"),
                        5,
                    )?
                    .max(1) as i64,
                    window_ms: lock_ms,
                    lock_ms,
                }
            },
        })
    }

    /// The start grid in effect: as set, or else 25 ms on a one-thread runtime (where every
    /// timer wake-up is a context switch on the one CPU, and bunching battles into four
    /// phases per 100 ms tick costs less than it saves) and none on several threads (battles
    /// keep their own phases: bunched ticks there raised REST and delivery p99 under load).
    pub fn tick_grid(&self) -> Duration {
        self.tick_grid
            .unwrap_or(if self.runtime.is_current_thread() {
                Duration::from_millis(25)
            } else {
                Duration::ZERO
            })
    }

    /// A configuration for tests: port 0, a given data dir, rate limits on.
    pub fn for_tests(data_dir: PathBuf, database: DatabaseTarget) -> Self {
        let mut c = Self::from_map(&BTreeMap::new()).expect("defaults parse");
        c.bind = "127.0.0.1:0".into();
        c.data_dir = data_dir;
        c.database = database;
        c.workers = 2;
        c.shutdown_timeout = Duration::from_secs(1);
        c.jwt_secret = Some("test-secret-test-secret-test-secret".into());
        // Tests sign many players up from one address; the tests of the sign-in limit set it.
        c.rate_limits.v2_auth_per_min = 1000;
        c
    }
}

fn invalid(key: &'static str, value: &str, reason: impl ToString) -> ConfigError {
    ConfigError::Invalid {
        key,
        value: value.into(),
        reason: reason.to_string(),
    }
}

/// Reads the economy keys from the merged file + environment map.
fn economy_from_map(vars: &BTreeMap<String, String>) -> Result<EconomyConfig, ConfigError> {
    let get = |k: &str| vars.get(k).filter(|v| !v.is_empty()).cloned();
    let mut c = EconomyConfig::default();
    let int = |key: &'static str, default: i64| -> Result<i64, ConfigError> {
        match get(key) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| invalid(key, &v, "expected a non-negative integer")),
        }
    };
    let eldr = |key: &'static str, default: i64| -> Result<i64, ConfigError> {
        match get(key) {
            None => Ok(default),
            Some(v) => parse_eldr(&v).map_err(|e| invalid(key, &v, e)),
        }
    };
    let addr = |key: &'static str, default: &str| -> Result<String, ConfigError> {
        match get(key) {
            None => Ok(default.to_string()),
            Some(v) => crate::chain::devchain::normalize(&v).map_err(|e| invalid(key, &v, e)),
        }
    };
    let d = c.rates;
    c.rates = Rates {
        gmo_per_eldr: int("WARROOM_GMO_PER_ELDR", d.gmo_per_eldr)?.max(1),
        min_eldr_deposit: eldr("WARROOM_MIN_ELDR_DEPOSIT", d.min_eldr_deposit)?,
        min_eldr_withdraw: eldr("WARROOM_MIN_ELDR_WITHDRAW", d.min_eldr_withdraw)?,
        max_eldr_withdraw: eldr("WARROOM_MAX_ELDR_WITHDRAW", d.max_eldr_withdraw)?,
        withdraw_fee_bps: int("WARROOM_WITHDRAW_FEE_BPS", d.withdraw_fee_bps)?.min(10_000),
    };
    c.mint_gmo = int("WARROOM_PILOT_MINT_GMO", c.mint_gmo)?;
    c.mint_gas_gmo = int("WARROOM_PILOT_GAS_GMO", c.mint_gas_gmo)?;
    c.devchain = DevChainConfig {
        token: addr("CHAIN_TOKEN_ADDRESS", &c.devchain.token)?,
        treasury: addr("CHAIN_TREASURY_ADDRESS", &c.devchain.treasury)?,
        pilots: addr("CHAIN_PILOT_ADDRESS", &c.devchain.pilots)?,
        confirm: Duration::from_millis(int("CHAIN_CONFIRM_MS", 2000)? as u64),
    };
    c.poll = Duration::from_millis(int("CHAIN_POLL_MS", 500)?.max(10) as u64);
    c.deposit_timeout = Duration::from_millis(int("CHAIN_DEPOSIT_TIMEOUT_MS", 600_000)? as u64);
    Ok(c)
}

/// An on/off switch, on by default.
fn switch(key: &'static str, v: Option<String>) -> Result<bool, ConfigError> {
    match v.as_deref() {
        None | Some("on") | Some("true") | Some("1") => Ok(true),
        Some("off") | Some("false") | Some("0") => Ok(false),
        Some(v) => Err(invalid(key, v, "expected on or off")),
    }
}

fn parse_num(key: &'static str, v: Option<String>, default: u64) -> Result<u64, ConfigError> {
    match v {
        None => Ok(default),
        Some(s) => s.trim().parse::<u64>().map_err(|e| ConfigError::Invalid {
            key,
            value: s,
            reason: e.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_design() {
        let c = Config::from_map(&BTreeMap::new()).unwrap();
        assert_eq!(c.bind, "127.0.0.1:8080");
        assert_eq!(c.tick, Duration::from_millis(750));
        assert_eq!(c.countdown, Duration::from_millis(3000));
        assert!(c.rate_limits.enabled);
        assert!(matches!(c.database, DatabaseTarget::Sqlite(ref u) if u.contains("warroom.db")));
        assert_eq!(c.season, 1);
        assert_eq!(c.runtime, RuntimeFlavor::Auto);
        assert_eq!(c.tick_grid, None);
        let one = Config {
            runtime: RuntimeFlavor::CurrentThread,
            ..c.clone()
        };
        assert_eq!(one.tick_grid(), Duration::from_millis(25));
        let many = Config {
            runtime: RuntimeFlavor::MultiThread,
            ..c.clone()
        };
        assert_eq!(many.tick_grid(), Duration::ZERO);
    }

    #[test]
    fn rejects_bad_values() {
        let mut m = BTreeMap::new();
        m.insert("WARROOM_TICK_MS".to_string(), "fast".to_string());
        assert!(Config::from_map(&m).is_err());
        let mut m = BTreeMap::new();
        m.insert("WARROOM_RUNTIME".to_string(), "fibers".to_string());
        assert!(Config::from_map(&m).is_err());
        let mut m = BTreeMap::new();
        m.insert("DATABASE_URL".to_string(), "mysql://x".to_string());
        assert!(Config::from_map(&m).is_err());
        let mut m = BTreeMap::new();
        m.insert("WARROOM_JWT_SECRET".to_string(), "short".to_string());
        let e = Config::from_map(&m).unwrap_err().to_string();
        assert!(e.contains("at least 32") && !e.contains("short"), "{e}");
    }
}
