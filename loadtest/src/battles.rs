//! `loadtest battles`: N concurrent robot battles over Socket.IO, S spectators each.
//!
//! 2N players queue (CASUAL, no wager), get matched, say ready and play; when a battle ends
//! they queue again until `--duration` is over. A coordinator hands every new battle to S
//! free spectators, who join late and so exercise the catch-up batch. From the `ts` in each
//! live `battle:tick` it measures delivery latency, and from every (socket, battle) pair it
//! counts ticks missing or duplicated against `total_ticks` of `battle:ended`.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{stream, StreamExt};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::common::{write_json, Error, Server, Summary};
use crate::sio;

/// Arguments of the scenario.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Server base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Concurrent battles (2 players each).
    #[arg(long, default_value_t = 500)]
    battles: usize,
    /// Spectators per battle.
    #[arg(long, default_value_t = 2)]
    spectators: usize,
    /// Seconds of play (battles in flight then finish).
    #[arg(long, default_value_t = 60)]
    duration: u64,
    /// Server process id, to report its memory.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Unique prefix for the accounts of this run.
    #[arg(long, default_value = "lb")]
    prefix: String,
    /// Where to write the JSON result.
    #[arg(long, default_value = "battles-result.json")]
    out: PathBuf,
    /// Spectators join this long after the match, so they need the catch-up batch.
    #[arg(long, default_value_t = 1500)]
    spectator_delay_ms: u64,
    /// Delivery p99 bar in ms.
    #[arg(long, default_value_t = 50.0)]
    p99_bar_ms: f64,
}

#[derive(Default)]
struct Stats {
    latencies_us: Vec<u64>,
    live_ticks: u64,
    batch_ticks: u64,
    missing: u64,
    duplicated: u64,
    battles_seen: u64,
    errors: u64,
    error_samples: Vec<String>,
}

type Shared = Arc<Mutex<Stats>>;

/// Ticks one socket has of one battle.
#[derive(Default)]
struct Seen {
    battle: Option<String>,
    ticks: Vec<bool>,
}

impl Seen {
    fn start(&mut self, battle: &str) {
        self.battle = Some(battle.to_string());
        self.ticks.clear();
    }

    fn record(&mut self, stats: &Shared, t: &Value, recv_ms: i64, live: bool) {
        let Some(n) = t["tick"].as_u64() else { return };
        let i = n as usize;
        if self.ticks.len() <= i {
            self.ticks.resize(i + 1, false);
        }
        let mut s = stats.lock().expect("stats");
        if self.ticks[i] {
            s.duplicated += 1;
        }
        self.ticks[i] = true;
        if live {
            s.live_ticks += 1;
            if let Some(ts) = t["ts"].as_i64() {
                s.latencies_us.push(((recv_ms - ts).max(0) as u64) * 1000);
            }
        } else {
            s.batch_ticks += 1;
        }
    }

    fn end(&mut self, stats: &Shared, ended: &Value) {
        let total = ended["total_ticks"].as_u64().unwrap_or(0) as usize;
        let have = (1..=total)
            .filter(|i| self.ticks.get(*i).copied().unwrap_or(false))
            .count();
        let mut s = stats.lock().expect("stats");
        s.missing += (total - have) as u64;
        s.battles_seen += 1;
        self.battle = None;
    }
}

fn error(stats: &Shared, what: String) {
    let mut s = stats.lock().expect("stats");
    s.errors += 1;
    if s.error_samples.len() < 10 {
        s.error_samples.push(what);
    }
}

async fn player(
    ws: String,
    token: String,
    robot: String,
    until: Instant,
    stats: Shared,
    started: mpsc::UnboundedSender<String>,
) {
    let (tx, mut rx) = match sio::connect(&ws, &token).await {
        Ok(c) => c,
        Err(e) => return error(&stats, format!("player connect: {e}")),
    };
    let join = json!({"mode": "CASUAL", "robot_id": robot});
    tx.emit("queue:join", &join);
    let mut seen = Seen::default();
    while let Some((ev, data, at)) = rx.recv().await {
        match ev.as_str() {
            "queue:matched" => {
                let id = data["battle_id"].as_str().unwrap_or_default().to_string();
                seen.start(&id);
                tx.emit("battle:ready", &json!({"battle_id": id}));
                let _ = started.send(id);
            }
            "battle:tick" => seen.record(&stats, &data, at, true),
            "battle:tick_batch" => {
                for t in data["ticks"].as_array().into_iter().flatten() {
                    seen.record(&stats, t, at, false);
                }
            }
            "battle:ended" => {
                seen.end(&stats, &data);
                if Instant::now() >= until {
                    return;
                }
                tx.emit("queue:join", &join);
            }
            "error" => error(&stats, format!("player error event: {data}")),
            _ => {}
        }
    }
    error(&stats, "player socket closed".into());
}

async fn spectator(
    ws: String,
    token: String,
    me: usize,
    mut assigned: mpsc::UnboundedReceiver<String>,
    free: mpsc::UnboundedSender<usize>,
    stats: Shared,
) {
    let (tx, mut rx) = match sio::connect(&ws, &token).await {
        Ok(c) => c,
        Err(e) => return error(&stats, format!("spectator connect: {e}")),
    };
    let _ = free.send(me);
    let mut seen = Seen::default();
    loop {
        tokio::select! {
            id = assigned.recv() => {
                let Some(id) = id else { return };
                seen.start(&id);
                tx.emit("spectate:join", &json!({"battle_id": id}));
            }
            ev = rx.recv() => {
                let Some((ev, data, at)) = ev else { return error(&stats, "spectator socket closed".into()) };
                match ev.as_str() {
                    "battle:tick" if seen.battle.is_some() => seen.record(&stats, &data, at, true),
                    "battle:tick_batch" => {
                        for t in data["ticks"].as_array().into_iter().flatten() {
                            seen.record(&stats, t, at, false);
                        }
                    }
                    "battle:ended" if seen.battle.is_some() => {
                        seen.end(&stats, &data);
                        tx.emit("spectate:leave", &json!({"battle_id": data["battle_id"]}));
                        let _ = free.send(me);
                    }
                    // A battle that ended before the spectator's join landed.
                    "error" if data["code"] == "NOT_FOUND" => {
                        seen.battle = None;
                        let _ = free.send(me);
                    }
                    "error" => error(&stats, format!("spectator error event: {data}")),
                    _ => {}
                }
            }
        }
    }
}

fn rss_kb(pid: u32) -> Value {
    let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return Value::Null;
    };
    let get = |k: &str| {
        s.lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    json!({ "rss_kb": get("VmRSS:"), "peak_rss_kb": get("VmHWM:") })
}

/// Runs the scenario; true when the bar is met.
pub async fn run(a: Args) -> Result<bool, Error> {
    let server = Server::new(&a.url, 256)?;
    let ws = server.ws_url("");
    let (n_players, n_spect) = (2 * a.battles, a.battles * a.spectators);
    eprintln!("registering {n_players} players and {n_spect} spectators…");
    let players = server
        .register(&format!("{}p", a.prefix), n_players, 16)
        .await?;
    let spects = server
        .register(&format!("{}s", a.prefix), n_spect, 16)
        .await?;
    let robots: Vec<Result<String, Error>> = stream::iter(players.iter())
        .map(|p| {
            let server = server.clone();
            async move {
                let v: Value = server
                    .http
                    .get(format!("{}/v2/users/me/robots", server.base))
                    .bearer_auth(&p.token)
                    .send()
                    .await?
                    .json()
                    .await?;
                Ok(v["data"][0]["user_robot_id"]
                    .as_str()
                    .ok_or("no robot")?
                    .to_string())
            }
        })
        .buffered(32)
        .collect()
        .await;
    let stats: Shared = Arc::default();
    let (free_tx, mut free_rx) = mpsc::unbounded_channel();
    let mut inboxes = Vec::with_capacity(n_spect);
    eprintln!("connecting spectators…");
    for (i, s) in spects.iter().enumerate() {
        let (tx, rx) = mpsc::unbounded_channel();
        inboxes.push(tx);
        tokio::spawn(spectator(
            ws.clone(),
            s.token.clone(),
            i,
            rx,
            free_tx.clone(),
            stats.clone(),
        ));
    }
    let (started_tx, mut started_rx) = mpsc::unbounded_channel::<String>();
    let spectators = a.spectators;
    let delay = Duration::from_millis(a.spectator_delay_ms);
    tokio::spawn(async move {
        let mut known = HashSet::new();
        while let Some(id) = started_rx.recv().await {
            if !known.insert(id.clone()) {
                continue;
            }
            let mut chosen = Vec::new();
            while chosen.len() < spectators {
                match free_rx.try_recv() {
                    Ok(i) => chosen.push(inboxes[i].clone()),
                    Err(_) => break,
                }
            }
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                for inbox in chosen {
                    let _ = inbox.send(id.clone());
                }
            });
        }
    });
    let t0 = Instant::now();
    let until = t0 + Duration::from_secs(a.duration);
    eprintln!("connecting players and playing for {} s…", a.duration);
    let mut handles = Vec::with_capacity(n_players);
    for (p, r) in players.iter().zip(robots) {
        handles.push(tokio::spawn(player(
            ws.clone(),
            p.token.clone(),
            r?,
            until,
            stats.clone(),
            started_tx.clone(),
        )));
    }
    let progress = {
        let stats = stats.clone();
        tokio::spawn(async move {
            let mut last = 0;
            loop {
                tokio::time::sleep(Duration::from_secs(5)).await;
                let s = stats.lock().expect("stats");
                let p99 = Summary::of_us(
                    s.latencies_us[s.latencies_us.len().saturating_sub(20_000)..].to_vec(),
                )
                .p99_ms;
                eprintln!(
                    "t={:>4}s live ticks/s={:>7.0} recent p99={:>6.1} ms battles done={} missing={} dup={} errors={}",
                    t0.elapsed().as_secs(), (s.live_ticks - last) as f64 / 5.0, p99,
                    s.battles_seen, s.missing, s.duplicated, s.errors
                );
                last = s.live_ticks;
            }
        })
    };
    let grace = until + Duration::from_secs(40);
    for h in handles {
        let left = grace.saturating_duration_since(Instant::now());
        let _ = tokio::time::timeout(left, h).await;
    }
    let elapsed = t0.elapsed().as_secs_f64();
    progress.abort();
    // Let spectators see the last endings.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let s = std::mem::take(&mut *stats.lock().expect("stats"));
    let latency = Summary::of_us(s.latencies_us);
    let pass =
        s.missing == 0 && s.duplicated == 0 && s.errors == 0 && latency.p99_ms < a.p99_bar_ms;
    let result = json!({
        "scenario": "battles", "battles": a.battles, "players": n_players, "spectators": n_spect,
        "duration_s": a.duration, "elapsed_s": elapsed,
        "live_ticks_delivered": s.live_ticks, "batch_ticks_delivered": s.batch_ticks,
        "live_ticks_per_s": s.live_ticks as f64 / elapsed,
        "delivery_latency": latency, "missing": s.missing, "duplicated": s.duplicated,
        "socket_battles_checked": s.battles_seen, "errors": s.errors, "error_samples": s.error_samples,
        "server_memory": a.server_pid.map(rss_kb), "p99_bar_ms": a.p99_bar_ms, "pass": pass,
    });
    write_json(&a.out, &result)?;
    println!("{}", serde_json::to_string_pretty(&result)?);
    Ok(pass)
}
