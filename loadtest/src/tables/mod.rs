//! Scenario `tables`: tabletop battles in progress, each followed by WebSocket watchers, while
//! players PATCH scores at a steady rate.
//!
//! Setup: register users (enough that no user holds more than `--watchers-per-user` sockets,
//! under the server's per-user limit), one army each, `--battles` battles started with a long
//! turn so no turn ends during the run, `--watchers` `/v1/ws` sockets per battle.
//!
//! Measured over `--duration` seconds after a warm-up:
//! - PATCH `update_scores` latency, open loop at `--patch-rate` per second across all battles
//!   (a slow server does not slow the sender down, so its latency is not hidden);
//! - `timer_update` delivery: the server re-anchors a battle's ticks to its clock, so each
//!   tick's `time_remaining` is exactly one less than the previous one. A watcher missed ticks
//!   when the step is larger (`missed`), and saw a tick twice or out of order when it is 0 or
//!   negative (`repeated`). `lagged` counts the server's "you skipped N messages" notices.
//!   `lateness` is arrival minus (the start PATCH's send time + n periods): an upper bound on
//!   delivery latency that also contains the start's own commit time; `jitter` is arrival
//!   minus the battle's earliest observed phase: a lower bound;
//! - `score_update` delivery: PATCH sent → each watcher received the new score.

use std::{
    path::PathBuf,
    sync::{
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use futures_util::{stream, StreamExt};
use serde::Serialize;
use serde_json::{json, Value};

use crate::common::{write_json, Account, Error, Server, Summary};

mod watch;
use watch::{analyse_ticks, watch, TimerResult, WatchLog};

/// Arguments of `loadtest tables`.
#[derive(Debug, Clone, clap::Args, Serialize)]
pub struct Args {
    /// Battles in progress (at least 1).
    #[arg(long, default_value_t = 1000, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub battles: usize,
    /// WebSocket watchers per battle.
    #[arg(long, default_value_t = 4)]
    pub watchers: usize,
    /// Measured seconds (after the warm-up).
    #[arg(long, default_value_t = 60)]
    pub duration: u64,
    /// Seconds between all watchers being connected and the measurement.
    #[arg(long, default_value_t = 3)]
    pub warmup: u64,
    /// Server base URL; give it several times to spread the watchers and PATCHes over several
    /// nodes (watcher i and PATCH i use URL i mod n; setup goes to the first).
    #[arg(long = "url", default_value = "http://127.0.0.1:8080")]
    pub urls: Vec<String>,
    /// Where the JSON result goes.
    #[arg(long, default_value = "result.json")]
    pub out: PathBuf,
    /// PATCHes per second, spread round-robin over the battles.
    #[arg(long, default_value_t = 200.0)]
    pub patch_rate: f64,
    /// The server's `WARROOM_TIMER_UPDATE_MS`.
    #[arg(long, default_value_t = 1000)]
    pub timer_ms: u64,
    /// Sockets per user (the server allows 10 by default).
    #[arg(long, default_value_t = 8)]
    pub watchers_per_user: usize,
    /// Parallel requests during setup.
    #[arg(long, default_value_t = 32)]
    pub setup_concurrency: usize,
}

/// One battle as the load test drives it.
pub(crate) struct Battle {
    pub(crate) id: String,
    /// The player who PATCHes.
    pub(crate) player: Account,
    /// When the start PATCH was sent, µs since the epoch.
    pub(crate) started_us: u64,
    /// The latest PATCH: (primary score sent, send time µs). Watchers match on the score.
    pub(crate) last_patch: Mutex<(i64, u64)>,
    pub(crate) seq: AtomicU64,
}

/// Shared clock and counters.
pub(crate) struct Run {
    pub(crate) epoch: Instant,
    pub(crate) recording: AtomicBool,
    pub(crate) stop: AtomicBool,
    pub(crate) timer_msgs: AtomicU64,
    pub(crate) open_sockets: AtomicUsize,
}

impl Run {
    pub(crate) fn us(&self) -> u64 {
        self.epoch.elapsed().as_micros() as u64
    }
}

#[derive(Debug, Serialize)]
struct PatchResult {
    sent: u64,
    ok: u64,
    errors: u64,
    achieved_rate: f64,
    latency: Summary,
}

#[derive(Debug, Serialize)]
struct Report {
    scenario: &'static str,
    args: Args,
    setup_s: f64,
    users: usize,
    patch: PatchResult,
    timer_update: TimerResult,
    score_update_delivery: Summary,
    bar: Bar,
}

#[derive(Debug, Serialize)]
struct Bar {
    patch_p99_under_20ms: bool,
    every_watcher_got_every_tick: bool,
}

/// Runs the scenario; `Ok(true)` when the bar is met.
pub async fn run(args: Args) -> Result<bool, Error> {
    let servers: Vec<Server> = args
        .urls
        .iter()
        .map(|u| Server::new(u, 256))
        .collect::<Result<_, _>>()?;
    let server = servers[0].clone();
    let run = Arc::new(Run {
        epoch: Instant::now(),
        recording: AtomicBool::new(false),
        stop: AtomicBool::new(false),
        timer_msgs: AtomicU64::new(0),
        open_sockets: AtomicUsize::new(0),
    });
    let conc = args.setup_concurrency.max(1);

    // Users: each battle has two distinct players; watchers spread so that no user exceeds
    // its socket allowance.
    let sockets = args.battles * args.watchers;
    let mut n_users = sockets.div_ceil(args.watchers_per_user.max(1)).max(2);
    n_users += n_users % 2;
    let prefix = format!("lt{}u", run_tag());
    println!("setup: registering {n_users} users…");
    let users = server.register(&prefix, n_users, conc).await?;
    println!("setup: one army each…");
    let armies: Vec<String> = collect(
        stream::iter(users.iter()).map(|u| {
            let server = server.clone();
            async move { create_army(&server, u).await }
        }),
        conc,
    )
    .await?;

    println!("setup: creating and starting {} battles…", args.battles);
    let battles: Vec<Arc<Battle>> = collect(
        stream::iter(0..args.battles).map(|i| {
            let (a, b) = ((2 * i) % n_users, (2 * i + 1) % n_users);
            let (server, run) = (server.clone(), run.clone());
            let (pa, pb) = (users[a].clone(), users[b].clone());
            let (aa, ab) = (armies[a].clone(), armies[b].clone());
            async move {
                let id = create_battle(&server, (&pa, &aa), (&pb, &ab)).await?;
                let started_us = run.us();
                patch(&server, &id, &pa.token, &json!({"action": "start"})).await?;
                Ok(Arc::new(Battle {
                    id,
                    player: pa,
                    started_us,
                    last_patch: Mutex::new((-1, 0)),
                    seq: AtomicU64::new(0),
                }))
            }
        }),
        conc,
    )
    .await?;

    println!("setup: opening {sockets} watchers…");
    let mut handles = Vec::with_capacity(sockets);
    let connects: Vec<_> = (0..args.battles)
        .flat_map(|b| (0..args.watchers).map(move |w| (b, w)))
        .collect();
    let sockets_opened: Vec<_> = collect(
        stream::iter(connects).map(|(b, w)| {
            let i = b * args.watchers + w;
            let token = users[i % n_users].token.clone();
            let node = &servers[i % servers.len()];
            let url = node.ws_url(&format!("/v1/ws/battles/{}?token={token}", battles[b].id));
            async move {
                let (ws, _) = tokio_tungstenite::connect_async(url).await?;
                Ok((b, ws))
            }
        }),
        64,
    )
    .await?;
    for (b, ws) in sockets_opened {
        run.open_sockets.fetch_add(1, Ordering::Relaxed);
        handles.push((b, tokio::spawn(watch(ws, battles[b].clone(), run.clone()))));
    }
    let setup_s = run.epoch.elapsed().as_secs_f64();
    println!("setup done in {setup_s:.1} s; warm-up {} s", args.warmup);
    tokio::time::sleep(Duration::from_secs(args.warmup)).await;

    // Measurement: PATCHes open loop at a steady pace while the watchers record.
    run.recording.store(true, Ordering::SeqCst);
    let t0 = run.us();
    let patches = Arc::new(Patches::default());
    let period = Duration::from_secs_f64(1.0 / args.patch_rate.max(0.001));
    let mut pace = tokio::time::interval(period);
    pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let end = Instant::now() + Duration::from_secs(args.duration);
    let mut next_report = Instant::now() + Duration::from_secs(5);
    let mut rr = 0usize;
    while Instant::now() < end {
        pace.tick().await;
        let b = battles[rr % battles.len()].clone();
        let node = servers[rr % servers.len()].clone();
        rr += 1;
        tokio::spawn(patches.clone().fire(node, b, run.clone()));
        if Instant::now() >= next_report {
            next_report += Duration::from_secs(5);
            let p = Summary::of_us(patches.latencies.lock().unwrap().clone());
            println!(
                "t={:>4.0}s patches sent {} ok {} err {} p50 {:.1} ms p99 {:.1} ms | timer msgs {} | sockets {}",
                (run.us() - t0) as f64 / 1e6,
                patches.sent.load(Ordering::Relaxed),
                patches.ok.load(Ordering::Relaxed),
                patches.errors.load(Ordering::Relaxed),
                p.p50_ms,
                p.p99_ms,
                run.timer_msgs.load(Ordering::Relaxed),
                run.open_sockets.load(Ordering::Relaxed),
            );
        }
    }
    let t1 = run.us();
    // Let the last PATCHes and ticks land, then stop recording.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    run.recording.store(false, Ordering::SeqCst);
    run.stop.store(true, Ordering::SeqCst);

    let mut logs: Vec<(usize, WatchLog)> = Vec::new();
    for (b, h) in handles {
        logs.push((b, h.await?));
    }
    let timer = analyse_ticks(&logs, &battles, args.timer_ms, t0, t1);
    let score = Summary::of_us(
        logs.iter()
            .flat_map(|(_, l)| l.score_us.iter().copied())
            .collect(),
    );
    let ok = patches.ok.load(Ordering::Relaxed);
    let patch = PatchResult {
        sent: patches.sent.load(Ordering::Relaxed),
        ok,
        errors: patches.errors.load(Ordering::Relaxed),
        achieved_rate: ok as f64 / ((t1 - t0) as f64 / 1e6),
        latency: Summary::of_us(patches.latencies.lock().unwrap().clone()),
    };
    let bar = Bar {
        patch_p99_under_20ms: patch.errors == 0 && patch.latency.p99_ms < 20.0,
        every_watcher_got_every_tick: timer.missed == 0
            && timer.lagged == 0
            && timer.dropped_watchers == 0
            && timer.watchers_with_missing_ticks == 0
            && timer.watchers == sockets,
    };
    let report = Report {
        scenario: "tables",
        args: args.clone(),
        setup_s,
        users: n_users,
        patch,
        timer_update: timer,
        score_update_delivery: score,
        bar,
    };
    write_json(&args.out, &report)?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(report.bar.patch_p99_under_20ms && report.bar.every_watcher_got_every_tick)
}

/// A tag that keeps usernames unique across runs against the same database.
fn run_tag() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() % 100_000_000)
        .unwrap_or(0)
}

/// Runs `futs` with bounded concurrency, in order; the first error wins.
async fn collect<T>(
    futs: impl futures_util::Stream<Item = impl std::future::Future<Output = Result<T, Error>>>,
    concurrency: usize,
) -> Result<Vec<T>, Error> {
    let all: Vec<Result<T, Error>> = futs.buffered(concurrency).collect().await;
    all.into_iter().collect()
}

/// Creates a v1 army for `user` (one unit, 2,000 points); its id.
pub(crate) async fn create_army(server: &Server, user: &Account) -> Result<String, Error> {
    let b = server
        .post(
            "/v1/armies",
            Some(&user.token),
            &json!({"name": "Load Host",
                "faction_id": "fac_custodes", "points_value": 2000,
                "army_list": {"units": [{"name": "Trajann Valoris", "points": 160}]}}),
        )
        .await?;
    Ok(b["army"]["id"].as_str().ok_or("no army id")?.to_string())
}

/// Creates a v1 tracker battle of two (player, army id) pairs, created by the first, with
/// 4-hour turns (no turn ends during a run); its id. Start it with [`patch`]
/// `{"action": "start"}`.
pub(crate) async fn create_battle(
    server: &Server,
    (a, army_a): (&Account, &str),
    (b, army_b): (&Account, &str),
) -> Result<String, Error> {
    let body = json!({"turn_time_limit": 14_400, "max_rounds": 5, "players": [
        {"user_id": a.id, "army_id": army_a}, {"user_id": b.id, "army_id": army_b}]});
    let created = server.post("/v1/battles", Some(&a.token), &body).await?;
    Ok(created["battle"]["id"]
        .as_str()
        .ok_or("no battle id")?
        .to_string())
}

/// `PATCH /v1/battles/{id}` with `body`; an error naming the status unless 2xx.
pub(crate) async fn patch(
    server: &Server,
    id: &str,
    token: &str,
    body: &Value,
) -> Result<(), Error> {
    let res = server
        .http
        .patch(format!("{}/v1/battles/{id}", server.base))
        .bearer_auth(token)
        .json(body)
        .send()
        .await?;
    let status = res.status();
    // Read the body: the connection goes back to the pool only once it is drained.
    let text = res.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(format!("PATCH {id}: {status} {text}").into());
    }
    Ok(())
}

/// PATCH counters and latencies.
#[derive(Default)]
struct Patches {
    sent: AtomicU64,
    ok: AtomicU64,
    errors: AtomicU64,
    /// µs.
    latencies: Mutex<Vec<u64>>,
}

impl Patches {
    /// One `update_scores` with the battle's next score, timed; watchers match on the score.
    async fn fire(self: Arc<Self>, server: Server, b: Arc<Battle>, run: Arc<Run>) {
        let seq = (b.seq.fetch_add(1, Ordering::Relaxed) % 1000 + 1) as i64;
        self.sent.fetch_add(1, Ordering::Relaxed);
        let body = json!({"action": "update_scores", "player_id": b.player.id,
            "scores": {"primary": seq}});
        let at = run.us();
        *b.last_patch.lock().unwrap() = (seq, at);
        match patch(&server, &b.id, &b.player.token, &body).await {
            Ok(()) => {
                self.latencies.lock().unwrap().push(run.us() - at);
                self.ok.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                if self.errors.fetch_add(1, Ordering::Relaxed) < 5 {
                    eprintln!("PATCH failed: {e}");
                }
            }
        }
    }
}
