//! REST load beside `loadtest battles` (issue 14, bar 6): while the robot battles tick, a
//! steady `--rest-rps` requests per second, round-robin over `GET /v2/battles/live`,
//! `GET /v2/leaderboard` and `GET /v1/battles/{id}` (a v1 tracker battle created for the run)
//! and over the `--url`s.
//!
//! The pace is open loop: a `tokio::time::interval` with [`MissedTickBehavior::Burst`] fires
//! the requests and each one is its own task, so a slow reply does not slow the sender and
//! its latency is not hidden. A request's latency is from sending it to having read its whole
//! body; a reply that is not 2xx counts as such (its latency is kept), a transport error or
//! a timeout ([`TIMEOUT`]) as an error (no latency). A server that stops answering would make
//! an open loop pile up requests and connections without bound and so deepen the collapse it
//! measures: at most [`MAX_IN_FLIGHT`] requests are in flight, and a request due beyond that
//! is not sent but counted as `skipped` (which fails the bar as an error does).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::json;
use tokio::time::MissedTickBehavior;

use crate::common::{register_on, Account, Error, Server, Summary};
use crate::report::Samples;
use crate::tables::{create_army, create_battle, patch};

/// The endpoints, in round-robin order.
const ENDPOINTS: [&str; 3] = [
    "GET /v2/battles/live",
    "GET /v2/leaderboard",
    "GET /v1/battles/{id}",
];

/// Requests in flight at most; more are counted as skipped.
const MAX_IN_FLIGHT: u64 = 512;

/// A request without its whole reply by then is an error.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Tracker battles created for `GET /v1/battles/{id}`.
const TRACKER_BATTLES: usize = 3;

/// What the requests need: v1 accounts (their tokens serve both API versions) and the ids of
/// running tracker battles.
pub struct Targets {
    accounts: Vec<Account>,
    battles: Vec<String>,
}

/// Registers two v1 accounts per tracker battle (`{prefix}{i}`, spread over the servers),
/// gives each an army, and creates and starts [`TRACKER_BATTLES`] battles.
pub async fn prepare(servers: &[Server], prefix: &str) -> Result<Targets, Error> {
    let accounts = register_on(servers, prefix, 2 * TRACKER_BATTLES, 8, None).await?;
    let server = &servers[0];
    let mut battles = Vec::with_capacity(TRACKER_BATTLES);
    for pair in accounts.chunks_exact(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let (army_a, army_b) = (create_army(server, a).await?, create_army(server, b).await?);
        let id = create_battle(server, (a, &army_a), (b, &army_b)).await?;
        patch(server, &id, &a.token, &json!({"action": "start"})).await?;
        battles.push(id);
    }
    Ok(Targets { accounts, battles })
}

/// One endpoint's figures.
#[derive(Default)]
struct Endpoint {
    sent: u64,
    /// Due while [`MAX_IN_FLIGHT`] requests were in flight: not sent.
    skipped: u64,
    /// Replies, 2xx or not: (ms since the start of the load, latency µs).
    samples: Samples,
    non_2xx: u64,
    errors: u64,
}

#[derive(Default)]
struct Stats {
    endpoints: [Endpoint; 3],
    /// The first few failures, for the report.
    failure_samples: Vec<String>,
}

/// The REST load in progress.
pub struct RestLoad {
    stats: Arc<Mutex<Stats>>,
    in_flight: Arc<AtomicU64>,
    pacer: Mutex<Option<tokio::task::JoinHandle<()>>>,
    started: Instant,
    /// When the pacer sent its first request (after the gate).
    began: Arc<Mutex<Option<Instant>>>,
    until: Instant,
    rps: u32,
    tracker_battles: Vec<String>,
}

/// One endpoint's result.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointResult {
    /// `GET /v2/leaderboard`, …
    pub endpoint: &'static str,
    /// Requests sent.
    pub sent: u64,
    /// Requests due but not sent ([`MAX_IN_FLIGHT`] were in flight).
    pub skipped: u64,
    /// Replies that were not 2xx.
    pub non_2xx: u64,
    /// Transport errors and timeouts (no reply).
    pub errors: u64,
    /// Latency of every reply.
    pub latency: Summary,
}

/// The `rest` section of the result.
#[derive(Debug, Clone, Serialize)]
pub struct RestResult {
    /// Requests per second asked for.
    pub target_rps: u32,
    /// Replies per second over the load window.
    pub achieved_rps: f64,
    /// Length of the load window, s.
    pub window_s: f64,
    /// Seconds from the start of play to the first request (the gate: every battle started,
    /// unless `--rest-from-start`).
    pub began_after_s: f64,
    /// Every endpoint together.
    pub overall: EndpointResult,
    /// Each endpoint.
    pub endpoints: Vec<EndpointResult>,
    /// The v1 tracker battles read.
    pub tracker_battles: Vec<String>,
    /// The bar: overall p99 ≤ this, zero non-2xx, zero errors, none skipped.
    pub p99_bar_ms: f64,
    /// Whether the bar is met.
    pub pass: bool,
    /// The first few failures.
    pub failure_samples: Vec<String>,
}

impl RestLoad {
    /// Starts `rps` requests per second from when `gate` resolves until `until`, round-robin
    /// over the endpoints and the servers.
    pub fn start(
        targets: Targets,
        servers: Vec<Server>,
        rps: u32,
        until: Instant,
        gate: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Self {
        let stats: Arc<Mutex<Stats>> = Arc::default();
        let in_flight = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let began: Arc<Mutex<Option<Instant>>> = Arc::default();
        let tracker_battles = targets.battles.clone();
        let pacer = {
            let (stats, in_flight, began) = (stats.clone(), in_flight.clone(), began.clone());
            tokio::spawn(async move {
                gate.await;
                *began.lock().expect("began") = Some(Instant::now());
                let targets = Arc::new(targets);
                let mut pace =
                    tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rps.max(1))));
                pace.set_missed_tick_behavior(MissedTickBehavior::Burst);
                let mut k = 0usize;
                loop {
                    pace.tick().await;
                    if Instant::now() >= until {
                        break;
                    }
                    let e = k % ENDPOINTS.len();
                    let round = k / ENDPOINTS.len();
                    let server = servers[round % servers.len()].clone();
                    let token = targets.accounts[round % targets.accounts.len()]
                        .token
                        .clone();
                    let path = match e {
                        0 => "/v2/battles/live".to_string(),
                        1 => "/v2/leaderboard".to_string(),
                        _ => format!(
                            "/v1/battles/{}",
                            targets.battles[round % targets.battles.len()]
                        ),
                    };
                    k += 1;
                    if in_flight.load(Ordering::Relaxed) >= MAX_IN_FLIGHT {
                        stats.lock().expect("rest stats").endpoints[e].skipped += 1;
                        continue;
                    }
                    stats.lock().expect("rest stats").endpoints[e].sent += 1;
                    in_flight.fetch_add(1, Ordering::Relaxed);
                    let (stats, in_flight) = (stats.clone(), in_flight.clone());
                    tokio::spawn(async move {
                        let at = started.elapsed();
                        let outcome = get(&server, &path, &token).await;
                        let latency_us = (started.elapsed() - at).as_micros() as u32;
                        let mut s = stats.lock().expect("rest stats");
                        let failure = match &outcome {
                            Ok(None) => None,
                            Ok(Some(status)) => {
                                s.endpoints[e].non_2xx += 1;
                                Some(format!("{} {path}: {status}", server.base))
                            }
                            Err(err) => {
                                s.endpoints[e].errors += 1;
                                Some(format!("{} {path}: {err}", server.base))
                            }
                        };
                        if outcome.is_ok() {
                            s.endpoints[e]
                                .samples
                                .push((at.as_millis() as u32, latency_us));
                        }
                        if let Some(f) = failure {
                            if s.failure_samples.len() < 10 {
                                s.failure_samples.push(f);
                            }
                        }
                        drop(s);
                        in_flight.fetch_sub(1, Ordering::Relaxed);
                    });
                }
            })
        };
        Self {
            stats,
            in_flight,
            pacer: Mutex::new(Some(pacer)),
            started,
            began,
            until,
            rps,
            tracker_battles,
        }
    }

    /// For the progress line: ` · rest 1000 req/s p99 2.1 ms non-2xx 0 err 0 skipped 0` over the last
    /// `secs` seconds.
    pub fn brief(&self, secs: u32) -> String {
        let now_ms = self.started.elapsed().as_millis() as u32;
        let from = now_ms.saturating_sub(secs * 1000);
        let s = self.stats.lock().expect("rest stats");
        let recent: Vec<u64> = s
            .endpoints
            .iter()
            .flat_map(|e| {
                e.samples[e.samples.len().saturating_sub(20_000)..]
                    .iter()
                    .filter(|x| x.0 >= from)
                    .map(|x| u64::from(x.1))
            })
            .collect();
        let n = recent.len();
        let p99 = Summary::of_us(recent).p99_ms;
        let (non_2xx, errors, skipped) = s.endpoints.iter().fold((0, 0, 0), |(a, b, c), e| {
            (a + e.non_2xx, b + e.errors, c + e.skipped)
        });
        format!(
            " · rest {:.0} req/s p99 {p99:.1} ms non-2xx {non_2xx} err {errors} skipped {skipped}",
            n as f64 / f64::from(secs.max(1))
        )
    }

    /// Waits for the pacer to stop and the requests in flight to finish (up to 10 s more),
    /// then summarises: the result and every sample (for the plots).
    pub async fn finish(&self, p99_bar_ms: f64) -> (RestResult, Samples) {
        let pacer = self.pacer.lock().expect("pacer").take();
        if let Some(p) = pacer {
            let _ = p.await;
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.in_flight.load(Ordering::Relaxed) > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let began = self.began.lock().expect("began").unwrap_or(self.until);
        let window_s = self.until.saturating_duration_since(began).as_secs_f64();
        let s = std::mem::take(&mut *self.stats.lock().expect("rest stats"));
        let mut all: Samples = Vec::new();
        let mut endpoints = Vec::with_capacity(ENDPOINTS.len());
        for (name, e) in ENDPOINTS.iter().zip(&s.endpoints) {
            all.extend_from_slice(&e.samples);
            endpoints.push(EndpointResult {
                endpoint: name,
                sent: e.sent,
                skipped: e.skipped,
                non_2xx: e.non_2xx,
                errors: e.errors,
                latency: Summary::of_us(e.samples.iter().map(|x| u64::from(x.1)).collect()),
            });
        }
        let overall = EndpointResult {
            endpoint: "all",
            sent: endpoints.iter().map(|e| e.sent).sum(),
            skipped: endpoints.iter().map(|e| e.skipped).sum(),
            non_2xx: endpoints.iter().map(|e| e.non_2xx).sum(),
            errors: endpoints.iter().map(|e| e.errors).sum(),
            latency: Summary::of_us(all.iter().map(|x| u64::from(x.1)).collect()),
        };
        let pass = overall.non_2xx == 0
            && overall.errors == 0
            && overall.skipped == 0
            && overall.latency.count > 0
            && overall.latency.p99_ms <= p99_bar_ms;
        let result = RestResult {
            target_rps: self.rps,
            achieved_rps: overall.latency.count as f64 / window_s.max(0.001),
            window_s,
            began_after_s: began.saturating_duration_since(self.started).as_secs_f64(),
            overall,
            endpoints,
            tracker_battles: self.tracker_battles.clone(),
            p99_bar_ms,
            pass,
            failure_samples: s.failure_samples,
        };
        (result, all)
    }
}

/// `GET path` with a bearer token, body read to the end: `None` on a 2xx, the status
/// otherwise.
async fn get(server: &Server, path: &str, token: &str) -> Result<Option<u16>, Error> {
    let res = server
        .http
        .get(format!("{}{path}", server.base))
        .bearer_auth(token)
        .timeout(TIMEOUT)
        .send()
        .await?;
    let status = res.status();
    // Read the body: the connection goes back to the pool only once it is drained.
    res.bytes().await?;
    Ok((!status.is_success()).then_some(status.as_u16()))
}
