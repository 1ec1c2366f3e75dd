//! `loadtest battles`: N concurrent robot battles over Socket.IO, S spectators each.
//!
//! 2N players queue (CASUAL, no wager), get matched, say ready and play; when a battle ends
//! they queue again until `--duration` is over. A coordinator hands every new battle to S
//! free spectators, who join late and so exercise the catch-up batch. From the `ts` in each
//! live `battle:tick` it measures delivery latency, and from every (socket, battle) pair it
//! counts ticks missing or duplicated against `total_ticks` of `battle:ended`.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{stream, StreamExt};
use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::common::{register_on, write_json, Error, Server, Summary};
use crate::report::{self, Progress, Samples, Table};
use crate::rest::RestLoad;
use crate::sio::{self, Incoming, Payload, Tick};

/// Arguments of the scenario.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Server base URL; give it several times to spread the clients over several nodes
    /// (client i, player or spectator, uses URL i mod n; accounts are registered the same way).
    #[arg(long = "url", default_value = "http://127.0.0.1:8080")]
    urls: Vec<String>,
    /// Concurrent battles (2 players each).
    #[arg(long, default_value_t = 500)]
    battles: usize,
    /// Spectators per battle.
    #[arg(long, default_value_t = 2)]
    spectators: usize,
    /// Seconds of play (battles in flight then finish).
    #[arg(long, default_value_t = 60)]
    duration: u64,
    /// Server process id, to report its CPU and memory; give it once per node of a cluster
    /// (CPU is summed). Without it no server CPU is reported.
    #[arg(long = "server-pid")]
    server_pids: Vec<u32>,
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
    /// REST requests per second during play (issue 14, bar 6), round-robin over
    /// `GET /v2/battles/live`, `GET /v2/leaderboard` and `GET /v1/battles/{id}` and over the
    /// URLs; 0 = none.
    #[arg(long, default_value_t = 0)]
    rest_rps: u32,
    /// REST bar: overall p99 at most this many ms (and no reply other than 2xx); part of the
    /// run's pass/fail only with `--rest-rps`.
    #[arg(long, default_value_t = 15.0)]
    rest_p99_bar_ms: f64,
    /// Start the REST load with the players instead of once every battle has started (bar 6
    /// is REST "while the battles tick"; this measures the start burst too).
    #[arg(long)]
    rest_from_start: bool,
}

/// Frame sizes of one event type.
#[derive(Debug, Clone, Copy, Default, Serialize)]
struct Size {
    count: u64,
    total_bytes: u64,
    min_bytes: u32,
    max_bytes: u32,
}

impl Size {
    fn add(&mut self, b: u32) {
        if self.count == 0 || b < self.min_bytes {
            self.min_bytes = b;
        }
        self.max_bytes = self.max_bytes.max(b);
        self.count += 1;
        self.total_bytes += u64::from(b);
    }
}

#[derive(Default)]
struct Stats {
    /// Play started at this instant; samples are stamped relative to it.
    t0_unix_ms: i64,
    latencies: Samples,
    sizes: BTreeMap<String, Size>,
    tick_size: Size,
    batch_size: Size,
    live_ticks: u64,
    batch_ticks: u64,
    missing: u64,
    duplicated: u64,
    battles_seen: u64,
    errors: u64,
    error_samples: Vec<String>,
    /// Who missed which ticks of which battle (the first few), to tell a late join from a
    /// lost broadcast or an ownership change.
    missing_samples: Vec<String>,
}

type Shared = Arc<Mutex<Stats>>;

/// Ticks one socket has of one battle.
#[derive(Default)]
struct Seen {
    /// "player 3 via node 1", for the missing samples.
    who: String,
    battle: Option<String>,
    ticks: Vec<bool>,
    /// What arrived, in order, for the missing samples: `b3-14` a batch, `l15` a live tick.
    trail: Vec<String>,
}

impl Seen {
    fn start(&mut self, battle: &str) {
        self.battle = Some(battle.to_string());
        self.ticks.clear();
        self.trail.clear();
    }

    fn mark(&mut self, s: &mut Stats, t: &Tick) {
        let i = t.tick as usize;
        if self.ticks.len() <= i {
            self.ticks.resize(i + 1, false);
        }
        if self.ticks[i] {
            s.duplicated += 1;
        }
        self.ticks[i] = true;
    }

    /// A live tick: counted, checked, and its delivery latency sampled.
    fn live(&mut self, stats: &Shared, t: &Tick, recv_ms: i64, bytes: u32) {
        let mut s = stats.lock().expect("stats");
        if self.trail.len() < 8 {
            self.trail.push(format!("l{}", t.tick));
        }
        self.mark(&mut s, t);
        s.live_ticks += 1;
        s.tick_size.add(bytes);
        if let Some(ts) = t.ts {
            let at = (recv_ms - s.t0_unix_ms).max(0) as u32;
            s.latencies
                .push((at, ((recv_ms - ts).max(0) as u32) * 1000));
        }
    }

    /// A catch-up batch: counted and checked.
    fn batch(&mut self, stats: &Shared, ticks: &[Tick], bytes: u32) {
        let mut s = stats.lock().expect("stats");
        if self.trail.len() < 8 {
            let (a, b) = (
                ticks.first().map_or(0, |t| t.tick),
                ticks.last().map_or(0, |t| t.tick),
            );
            self.trail.push(format!("b{a}-{b}"));
        }
        s.batch_size.add(bytes);
        for t in ticks {
            self.mark(&mut s, t);
            s.batch_ticks += 1;
        }
    }

    fn end(&mut self, stats: &Shared, ended: &Value) {
        let total = ended["total_ticks"].as_u64().unwrap_or(0) as usize;
        let have = (1..=total)
            .filter(|i| self.ticks.get(*i).copied().unwrap_or(false))
            .count();
        let mut s = stats.lock().expect("stats");
        if have < total && s.missing_samples.len() < 20 {
            let gaps = missing_ranges(&self.ticks, total);
            s.missing_samples.push(format!(
                "{} battle {} of {total} ticks missed {gaps}; got {}",
                self.who,
                self.battle.as_deref().unwrap_or("?"),
                self.trail.join(" ")
            ));
        }
        s.missing += (total - have) as u64;
        s.battles_seen += 1;
        self.battle = None;
    }
}

/// `3-7,12` for the ticks in 1..=total not marked.
fn missing_ranges(ticks: &[bool], total: usize) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 1;
    while i <= total {
        if ticks.get(i).copied().unwrap_or(false) {
            i += 1;
            continue;
        }
        let from = i;
        while i <= total && !ticks.get(i).copied().unwrap_or(false) {
            i += 1;
        }
        out.push(if i - 1 == from {
            from.to_string()
        } else {
            format!("{from}-{}", i - 1)
        });
    }
    out.join(",")
}

/// Counts the frame size of a rare event.
fn sized(stats: &Shared, name: &str, bytes: u32) {
    stats
        .lock()
        .expect("stats")
        .sizes
        .entry(name.to_string())
        .or_default()
        .add(bytes);
}

fn error(stats: &Shared, what: String) {
    let mut s = stats.lock().expect("stats");
    s.errors += 1;
    if s.error_samples.len() < 10 {
        s.error_samples.push(what);
    }
}

async fn player(
    who: String,
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
    let mut seen = Seen {
        who,
        ..Seen::default()
    };
    while let Some(Incoming {
        payload,
        at_ms,
        bytes,
    }) = rx.recv().await
    {
        let (ev, data) = match payload {
            Payload::Tick(t) => {
                seen.live(&stats, &t, at_ms, bytes);
                continue;
            }
            Payload::Batch(ticks) => {
                seen.batch(&stats, &ticks, bytes);
                continue;
            }
            Payload::Event(ev, data) => (ev, data),
        };
        sized(&stats, &ev, bytes);
        match ev.as_str() {
            "queue:matched" => {
                let id = data["battle_id"].as_str().unwrap_or_default().to_string();
                seen.start(&id);
                tx.emit("battle:ready", &json!({"battle_id": id}));
                let _ = started.send(id);
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
    who: String,
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
    let mut seen = Seen {
        who,
        ..Seen::default()
    };
    loop {
        tokio::select! {
            id = assigned.recv() => {
                let Some(id) = id else { return };
                seen.start(&id);
                tx.emit("spectate:join", &json!({"battle_id": id}));
            }
            ev = rx.recv() => {
                let Some(Incoming { payload, at_ms, bytes }) = ev else {
                    return error(&stats, "spectator socket closed".into());
                };
                let (ev, data) = match payload {
                    Payload::Tick(t) => {
                        if seen.battle.is_some() {
                            seen.live(&stats, &t, at_ms, bytes);
                        }
                        continue;
                    }
                    Payload::Batch(ticks) => {
                        seen.batch(&stats, &ticks, bytes);
                        continue;
                    }
                    Payload::Event(ev, data) => (ev, data),
                };
                sized(&stats, &ev, bytes);
                match ev.as_str() {
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
    let get = |k: &str| report::status_kb(Some(pid), k);
    if get("VmRSS").is_none() {
        return Value::Null;
    }
    json!({ "rss_kb": get("VmRSS"), "peak_rss_kb": get("VmHWM") })
}

/// CPU seconds used so far by all the server processes; `None` without any (never this
/// process's own, which would pass for the server's).
fn servers_cpu_s(pids: &[u32]) -> Option<f64> {
    if pids.is_empty() {
        return None;
    }
    pids.iter().map(|p| report::cpu_s(Some(*p))).sum()
}

/// Figures at one instant of play, for the CPU windows.
#[derive(Debug, Clone, Copy)]
struct Mark {
    t_s: f64,
    live_ticks: u64,
    server_cpu_s: Option<f64>,
    self_cpu_s: Option<f64>,
}

/// CPU per delivered live tick over the steady part of play.
#[derive(Debug, Clone, Serialize)]
struct CpuWindow {
    from_s: f64,
    to_s: f64,
    live_ticks_per_s: f64,
    server_cpu_us_per_event: Option<f64>,
    server_cpu_pct: Option<f64>,
    loadtest_cpu_us_per_event: Option<f64>,
    loadtest_cpu_pct: Option<f64>,
}

/// From the mark 5 s into play (setup and the first countdowns are over) to the last mark
/// before the end of `--duration` (battles in flight then wind down).
fn cpu_window(marks: &[Mark], duration: f64) -> Option<CpuWindow> {
    let steady: Vec<&Mark> = marks
        .iter()
        .filter(|m| m.t_s >= 5.0_f64.min(duration / 2.0) && m.t_s <= duration + 0.5)
        .collect();
    let (a, b) = (steady.first()?, steady.last()?);
    let secs = b.t_s - a.t_s;
    let ev = (b.live_ticks - a.live_ticks) as f64;
    if secs <= 0.0 || ev <= 0.0 {
        return None;
    }
    let per = |x: Option<f64>, y: Option<f64>| Some((x?, y?));
    let server = per(b.server_cpu_s, a.server_cpu_s).map(|(x, y)| x - y);
    let me = per(b.self_cpu_s, a.self_cpu_s).map(|(x, y)| x - y);
    Some(CpuWindow {
        from_s: a.t_s,
        to_s: b.t_s,
        live_ticks_per_s: ev / secs,
        server_cpu_us_per_event: server.map(|c| 1e6 * c / ev),
        server_cpu_pct: server.map(|c| 100.0 * c / secs),
        loadtest_cpu_us_per_event: me.map(|c| 1e6 * c / ev),
        loadtest_cpu_pct: me.map(|c| 100.0 * c / secs),
    })
}

fn us(v: Option<f64>) -> String {
    v.map_or("—".into(), |v| format!("{v:.1} µs"))
}

/// Runs the scenario; true when the bar is met.
pub async fn run(a: Args) -> Result<bool, Error> {
    let servers: Vec<Server> = a
        .urls
        .iter()
        .map(|u| Server::new(u, 256))
        .collect::<Result<_, _>>()?;
    let ws: Vec<String> = servers.iter().map(|s| s.ws_url("")).collect();
    let ws_of = |i: usize| ws[i % ws.len()].clone();
    let (n_players, n_spect) = (2 * a.battles, a.battles * a.spectators);
    let pb = Progress::bar((n_players + n_spect) as u64, "accounts");
    pb.line(&format!(
        "registering {n_players} players and {n_spect} spectators on {} node(s)…",
        servers.len()
    ));
    let players = register_on(
        &servers,
        &format!("{}p", a.prefix),
        n_players,
        16,
        Some(&pb),
    )
    .await?;
    let spects = register_on(&servers, &format!("{}s", a.prefix), n_spect, 16, Some(&pb)).await?;
    let robots: Vec<Result<String, Error>> = stream::iter(players.iter().enumerate())
        .map(|(i, p)| {
            let server = servers[i % servers.len()].clone();
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
    let rest_targets = if a.rest_rps > 0 {
        pb.line("creating v1 tracker battles for the REST load…");
        Some(crate::rest::prepare(&servers, &format!("{}t", a.prefix)).await?)
    } else {
        None
    };
    let stats: Shared = Arc::default();
    let (free_tx, mut free_rx) = mpsc::unbounded_channel();
    let mut inboxes = Vec::with_capacity(n_spect);
    pb.line("connecting spectators…");
    for (i, s) in spects.iter().enumerate() {
        let (tx, rx) = mpsc::unbounded_channel();
        inboxes.push(tx);
        tokio::spawn(spectator(
            format!("spectator {i} via node {}", i % ws.len()),
            ws_of(i),
            s.token.clone(),
            i,
            rx,
            free_tx.clone(),
            stats.clone(),
        ));
    }
    let (started_tx, mut started_rx) = mpsc::unbounded_channel::<String>();
    // Opened once as many battles have started as the scenario plays at a time.
    let all_started = Arc::new(tokio::sync::Notify::new());
    let (gate, n_battles) = (all_started.clone(), a.battles);
    let spectators = a.spectators;
    let delay = Duration::from_millis(a.spectator_delay_ms);
    tokio::spawn(async move {
        let mut known = HashSet::new();
        while let Some(id) = started_rx.recv().await {
            if !known.insert(id.clone()) {
                continue;
            }
            if known.len() == n_battles {
                gate.notify_one();
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
    stats.lock().expect("stats").t0_unix_ms = sio::chrono_ms();
    let until = t0 + Duration::from_secs(a.duration);
    pb.line(&format!(
        "connecting players and playing for {} s{}…",
        a.duration,
        if a.rest_rps > 0 {
            format!(", {} REST requests/s", a.rest_rps)
        } else {
            String::new()
        }
    ));
    let from_start = a.rest_from_start;
    let rest = rest_targets.map(|t| {
        let gate = async move {
            if !from_start {
                // At most 30 s: a scenario whose battles never all start still gets its load.
                let _ = tokio::time::timeout(Duration::from_secs(30), all_started.notified()).await;
            }
        };
        Arc::new(RestLoad::start(t, servers.clone(), a.rest_rps, until, gate))
    });
    pb.reset(a.duration, "s of play ·", String::new());
    let mut handles = Vec::with_capacity(n_players);
    for (i, (p, r)) in players.iter().zip(robots).enumerate() {
        handles.push(tokio::spawn(player(
            format!("player {i} via node {}", i % ws.len()),
            ws_of(i),
            p.token.clone(),
            r?,
            until,
            stats.clone(),
            started_tx.clone(),
        )));
    }
    let marks: Arc<Mutex<Vec<Mark>>> = Arc::default();
    let pb = Arc::new(pb);
    let progress = {
        let (stats, marks, pb, server_pid, rest) = (
            stats.clone(),
            marks.clone(),
            pb.clone(),
            a.server_pids.clone(),
            rest.clone(),
        );
        let duration = a.duration;
        tokio::spawn(async move {
            let (mut last, mut last5, mut n) = (0, 0, 0u64);
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.tick().await;
            loop {
                tick.tick().await;
                n += 1;
                let mark = {
                    let s = stats.lock().expect("stats");
                    Mark {
                        t_s: t0.elapsed().as_secs_f64(),
                        live_ticks: s.live_ticks,
                        server_cpu_s: servers_cpu_s(&server_pid),
                        self_cpu_s: report::cpu_s(None),
                    }
                };
                let (prev, snapshot) = {
                    let mut m = marks.lock().expect("marks");
                    m.push(mark);
                    (m.get(m.len().saturating_sub(2)).copied(), m.len())
                };
                let cpu = |f: fn(&Mark) -> Option<f64>| {
                    let p = prev.filter(|_| snapshot > 1)?;
                    Some(100.0 * (f(&mark)? - f(&p)?) / (mark.t_s - p.t_s))
                };
                let s = stats.lock().expect("stats");
                let recent_from = (mark.t_s as u32).saturating_sub(5) * 1000;
                let recent: Vec<u64> = s.latencies[s.latencies.len().saturating_sub(20_000)..]
                    .iter()
                    .filter(|x| x.0 >= recent_from)
                    .map(|x| u64::from(x.1))
                    .collect();
                let p99 = Summary::of_us(recent).p99_ms;
                let server = cpu(|m| m.server_cpu_s)
                    .map_or(String::new(), |c| format!(" server cpu {c:.0}%"));
                let me = cpu(|m| m.self_cpu_s)
                    .map_or(String::new(), |c| format!(" loadtest cpu {c:.0}%"));
                let rest_now = rest.as_ref().map_or(String::new(), |r| r.brief(1));
                pb.set(
                    n.min(duration),
                    format!(
                        "{}{} ticks/s p99 {p99:.0} ms · battles {} · missing {} dup {} err {}{server}{me}{rest_now}",
                        if n > duration { "finishing · " } else { "" },
                        report::si((s.live_ticks - last) as f64),
                        s.battles_seen, s.missing, s.duplicated, s.errors
                    ),
                );
                last = s.live_ticks;
                if n % 5 == 0 {
                    // The plain line is also what side_by_side.py reads (`live ticks/s=`).
                    pb.line(&format!(
                        "t={:>4}s live ticks/s={:>7.0} recent p99={:>6.1} ms battles done={} missing={} dup={} errors={}{}",
                        t0.elapsed().as_secs(), (s.live_ticks - last5) as f64 / 5.0, p99,
                        s.battles_seen, s.missing, s.duplicated, s.errors,
                        rest.as_ref().map_or(String::new(), |r| r.brief(5))
                    ));
                    last5 = s.live_ticks;
                }
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
    pb.finish();
    let rest = match rest {
        Some(r) => Some(r.finish(a.rest_p99_bar_ms).await),
        None => None,
    };
    // Let spectators see the last endings.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut s = std::mem::take(&mut *stats.lock().expect("stats"));
    let samples = std::mem::take(&mut s.latencies);
    let latency = Summary::of_us(samples.iter().map(|x| u64::from(x.1)).collect());
    let window = cpu_window(&marks.lock().expect("marks"), a.duration as f64);
    let delivery_pass =
        s.missing == 0 && s.duplicated == 0 && s.errors == 0 && latency.p99_ms < a.p99_bar_ms;
    let pass = delivery_pass && rest.as_ref().is_none_or(|r| r.0.pass);
    let mut sizes = s.sizes.clone();
    sizes.insert("battle:tick".into(), s.tick_size);
    sizes.insert("battle:tick_batch".into(), s.batch_size);
    let mut plots = match report::write_plots(&a.out, "battles", &samples) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("plots not written: {e}");
            Vec::new()
        }
    };
    if let Some((_, rest_samples)) = &rest {
        match report::write_plots_as(
            &a.out,
            "rest-latency",
            "REST under tick load: request latency",
            rest_samples,
        ) {
            Ok(p) => plots.extend(p),
            Err(e) => eprintln!("REST plots not written: {e}"),
        }
    }
    let result = json!({
        "scenario": "battles", "urls": a.urls, "battles": a.battles, "players": n_players, "spectators": n_spect,
        "duration_s": a.duration, "elapsed_s": elapsed,
        "live_ticks_delivered": s.live_ticks, "batch_ticks_delivered": s.batch_ticks,
        "live_ticks_per_s": s.live_ticks as f64 / elapsed,
        "delivery_latency": latency, "missing": s.missing, "duplicated": s.duplicated,
        "socket_battles_checked": s.battles_seen, "errors": s.errors, "error_samples": s.error_samples,
        "missing_samples": s.missing_samples,
        "server_memory": a.server_pids.first().copied().map(rss_kb),
        "server_memory_each": a.server_pids.iter().map(|p| rss_kb(*p)).collect::<Vec<_>>(), "p99_bar_ms": a.p99_bar_ms, "pass": pass,
        "cpu_steady": window, "frame_bytes": sizes, "load_average": report::loadavg(),
        "latency_per_second": report::timeline(&samples), "plots": plots,
        "delivery_pass": delivery_pass, "rest": rest.as_ref().map(|r| &r.0),
        "rest_latency_per_second": rest.as_ref().map(|r| report::timeline(&r.1)),
    });
    write_json(&a.out, &result)?;

    let mut t = Table::new(format!(
        "loadtest battles · {} battles × {} sockets · {} s · {}",
        a.battles,
        2 + a.spectators,
        a.duration,
        if pass { "PASS" } else { "FAIL" }
    ));
    t.row("node(s)", a.urls.join(", "))
        .row("elapsed", format!("{elapsed:.1} s"))
        .row(
            "live ticks delivered",
            format!(
                "{} ({}/s over the run)",
                s.live_ticks,
                report::si(s.live_ticks as f64 / elapsed)
            ),
        )
        .row("catch-up ticks (batches)", s.batch_ticks.to_string())
        .row(
            "delivery p50 / p90 / p99 / p99.9 / max",
            format!(
                "{} / {} / {} / {} / {} ms (bar p99 < {} ms)",
                latency.p50_ms,
                latency.p90_ms,
                latency.p99_ms,
                latency.p999_ms,
                latency.max_ms,
                a.p99_bar_ms
            ),
        )
        .row(
            "missing / duplicated / errors",
            format!("{} / {} / {}", s.missing, s.duplicated, s.errors),
        )
        .row("(socket, battle) pairs checked", s.battles_seen.to_string());
    if let Some((r, _)) = &rest {
        t.row(
            "REST",
            format!(
                "{:.0} replies/s of {} asked over {:.0} s from t={:.1} s · {} (bar p99 ≤ {} ms, all sent and 2xx)",
                r.achieved_rps,
                r.target_rps,
                r.window_s,
                r.began_after_s,
                if r.pass { "PASS" } else { "FAIL" },
                r.p99_bar_ms
            ),
        );
        for e in r.endpoints.iter().chain(std::iter::once(&r.overall)) {
            t.row(
                format!("  {} p50/p90/p99/max", e.endpoint),
                format!(
                    "{:.2} / {:.2} / {:.2} / {:.1} ms · {} sent, {} skipped, {} non-2xx, {} errors",
                    e.latency.p50_ms,
                    e.latency.p90_ms,
                    e.latency.p99_ms,
                    e.latency.max_ms,
                    e.sent,
                    e.skipped,
                    e.non_2xx,
                    e.errors
                ),
            );
        }
    }
    if let Some(w) = &window {
        t.row(
            format!("steady window {:.0}–{:.0} s", w.from_s, w.to_s),
            format!("{} live ticks/s", report::si(w.live_ticks_per_s)),
        )
        .row(
            "server CPU per event",
            format!(
                "{} ({:.0}% cpu)",
                us(w.server_cpu_us_per_event),
                w.server_cpu_pct.unwrap_or(0.0)
            ),
        )
        .row(
            "loadtest CPU per event",
            format!(
                "{} ({:.0}% cpu)",
                us(w.loadtest_cpu_us_per_event),
                w.loadtest_cpu_pct.unwrap_or(0.0)
            ),
        );
    }
    for &pid in &a.server_pids {
        let m = rss_kb(pid);
        t.row(
            "server RSS / peak",
            format!(
                "{:.0} / {:.0} MB",
                m["rss_kb"].as_f64().unwrap_or(0.0) / 1024.0,
                m["peak_rss_kb"].as_f64().unwrap_or(0.0) / 1024.0
            ),
        );
    }
    for (name, z) in &sizes {
        if z.count > 0 {
            t.row(
                format!("frame {name}"),
                format!(
                    "avg {:.0} B (min {}, max {}) × {}",
                    z.total_bytes as f64 / z.count as f64,
                    z.min_bytes,
                    z.max_bytes,
                    z.count
                ),
            );
        }
    }
    t.row("load average", report::loadavg())
        .row("result", a.out.display().to_string());
    for p in &plots {
        t.row("plot", p.display().to_string());
    }
    println!("{t}");
    let rest_failures = rest.as_ref().map_or(&[][..], |r| &r.0.failure_samples[..]);
    for e in s
        .error_samples
        .iter()
        .chain(&s.missing_samples)
        .chain(rest_failures)
    {
        println!("  {e}");
    }
    Ok(pass)
}
