//! `loadtest sockets` (issue 14, bar 5): server memory per connected Socket.IO socket.
//!
//! Each socket is a guest spectator (`POST /v2/auth/guest`: a read-only token whose user is a
//! fresh random id, so no account is registered and the per-user socket cap, 10 by default,
//! never applies; the token lasts 15 minutes, which bounds `--hold`). Tokens are fetched
//! first, then the server's RSS is read, the sockets connect (`--concurrency` at a time, spread
//! over the `--url`s), stay connected and idle (answering pings) for `--hold` seconds, and
//! the RSS is read again: KB per socket = (after − before) / sockets.
//!
//! One process holds every socket, so both this one and the server need `sockets + 100` open
//! files (`ulimit -n`); the scenario checks both limits first and stops with a clear message.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{stream, StreamExt};
use serde_json::{json, Value};

use crate::common::{write_json, Error, Server, Summary};
use crate::report::{self, Progress, Samples, Table};
use crate::sio;

/// Arguments of the scenario.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Server base URL; give it several times to spread the sockets (socket i uses URL i mod n;
    /// `--server-pid` is then the node whose memory is measured).
    #[arg(long = "url", default_value = "http://127.0.0.1:8080")]
    urls: Vec<String>,
    /// Sockets to connect.
    #[arg(long, default_value_t = 10_000)]
    sockets: usize,
    /// Server process id (its VmRSS is measured).
    #[arg(long)]
    server_pid: u32,
    /// Seconds to hold every socket connected before the second reading (the guest tokens
    /// last 15 minutes).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(0..=600))]
    hold: u64,
    /// Bar: at most this many KB of server RSS per socket.
    #[arg(long, default_value_t = 40.0)]
    kb_bar: f64,
    /// Handshakes in flight at a time.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Where to write the JSON result.
    #[arg(long, default_value = "sockets-result.json")]
    out: PathBuf,
}

/// A connected socket, kept open by holding both halves.
struct Held {
    _emitter: sio::Emitter,
    events: tokio::sync::mpsc::UnboundedReceiver<sio::Incoming>,
}

/// A socket or why it did not connect; with its (start ms, handshake µs) sample.
type Connected = Result<(Held, (u32, u32)), String>;

/// The soft limit on open files of `pid` (this process when `None`), from `/proc/…/limits`.
fn open_files_limit(pid: Option<u32>) -> Option<u64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/limits"),
        None => "/proc/self/limits".to_string(),
    };
    let s = std::fs::read_to_string(path).ok()?;
    let line = s.lines().find(|l| l.starts_with("Max open files"))?;
    match line.split_whitespace().nth(3)? {
        "unlimited" => Some(u64::MAX),
        v => v.parse().ok(),
    }
}

/// Fails unless this process and the server may open `sockets + 100` files.
fn check_fd_limits(sockets: usize, server_pid: u32) -> Result<(), Error> {
    let need = sockets as u64 + 100;
    for (who, pid) in [("the load tool", None), ("the server", Some(server_pid))] {
        match open_files_limit(pid) {
            Some(have) if have < need => {
                return Err(format!(
                    "{who} may open {have} files, {need} are needed for {sockets} sockets: \
                     run `ulimit -n 65536` (or at least {need}) in the shell that starts it"
                )
                .into())
            }
            Some(_) => {}
            None if pid.is_some() => {
                return Err(format!(
                    "cannot read /proc/{server_pid}/limits: is {server_pid} the server's pid?"
                )
                .into())
            }
            None => {}
        }
    }
    Ok(())
}

/// VmRSS of `pid` in KB, or an error naming the pid.
fn rss(pid: u32) -> Result<u64, Error> {
    report::status_kb(Some(pid), "VmRSS")
        .ok_or_else(|| format!("cannot read VmRSS of /proc/{pid}/status").into())
}

/// Runs the scenario; true when the bar is met.
pub async fn run(a: Args) -> Result<bool, Error> {
    if a.sockets == 0 {
        return Err("--sockets must be at least 1".into());
    }
    check_fd_limits(a.sockets, a.server_pid)?;
    let servers: Vec<Server> = a
        .urls
        .iter()
        .map(|u| Server::new(u, 64))
        .collect::<Result<_, _>>()?;
    let ws: Vec<String> = servers.iter().map(|s| s.ws_url("")).collect();

    let pb = Progress::bar(a.sockets as u64, "guest tokens");
    pb.line(&format!("fetching {} guest tokens…", a.sockets));
    let tokens: Vec<Result<String, Error>> = stream::iter(0..a.sockets)
        .map(|i| {
            let (server, pb) = (&servers[i % servers.len()], &pb);
            async move {
                let b = server.post("/v2/auth/guest", None, &json!({})).await?;
                pb.inc();
                Ok(b["access_token"]
                    .as_str()
                    .ok_or("guest reply without access_token")?
                    .to_string())
            }
        })
        .buffered(32)
        .collect()
        .await;
    let tokens: Vec<String> = tokens.into_iter().collect::<Result<_, _>>()?;
    // Let the server settle after the token burst before the first reading.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before_kb = rss(a.server_pid)?;
    let self_before_kb = report::status_kb(None, "VmRSS").unwrap_or(0);
    pb.line(&format!(
        "server RSS before: {:.1} MB; connecting {} sockets, {} at a time…",
        before_kb as f64 / 1024.0,
        a.sockets,
        a.concurrency
    ));
    pb.reset(a.sockets as u64, "sockets", String::new());

    let t0 = Instant::now();
    let pb = Arc::new(pb);
    let results: Vec<Connected> = stream::iter(tokens.into_iter().enumerate())
        .map(|(i, token)| {
            let (url, pb) = (ws[i % ws.len()].clone(), pb.clone());
            async move {
                let at = t0.elapsed();
                let r = sio::connect(&url, &token).await;
                let took = (t0.elapsed() - at).as_micros() as u32;
                pb.inc();
                match r {
                    Ok((emitter, events)) => Ok((
                        Held {
                            _emitter: emitter,
                            events,
                        },
                        (at.as_millis() as u32, took),
                    )),
                    Err(e) => Err(format!("socket {i} via {url}: {e}")),
                }
            }
        })
        .buffer_unordered(a.concurrency.max(1))
        .collect()
        .await;
    let connect_s = t0.elapsed().as_secs_f64();
    let mut held = Vec::with_capacity(results.len());
    let mut connect_samples: Samples = Vec::with_capacity(results.len());
    let mut failures = Vec::new();
    for r in results {
        match r {
            Ok((socket, sample)) => {
                held.push(socket);
                connect_samples.push(sample);
            }
            Err(e) => failures.push(e),
        }
    }
    let connected = held.len();
    pb.line(&format!(
        "{connected} of {} sockets connected in {connect_s:.1} s ({} failed); holding {} s…",
        a.sockets,
        failures.len(),
        a.hold
    ));
    pb.reset(a.hold, "s held", String::new());
    for s in 1..=a.hold {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = report::status_kb(Some(a.server_pid), "VmRSS").unwrap_or(0);
        pb.set(
            s,
            format!(
                "server RSS {:.1} MB (+{:.1} KB/socket)",
                now as f64 / 1024.0,
                now.saturating_sub(before_kb) as f64 / connected.max(1) as f64
            ),
        );
    }
    // A socket whose stream ended (the server closed it) has a closed receiver by now.
    let alive = held.iter().filter(|h| !h.events.is_closed()).count();
    let after_kb = rss(a.server_pid)?;
    let peak_kb = report::status_kb(Some(a.server_pid), "VmHWM");
    let self_after_kb = report::status_kb(None, "VmRSS").unwrap_or(0);
    pb.finish();

    let grown_kb = after_kb.saturating_sub(before_kb);
    let kb_per_socket = grown_kb as f64 / connected.max(1) as f64;
    let self_kb_per_socket =
        self_after_kb.saturating_sub(self_before_kb) as f64 / connected.max(1) as f64;
    let pass = connected == a.sockets && alive == a.sockets && kb_per_socket <= a.kb_bar;
    let connect = Summary::of_us(connect_samples.iter().map(|x| u64::from(x.1)).collect());
    let plots = match report::write_plots_as(
        &a.out,
        "connect-latency",
        "sockets: Socket.IO connect latency",
        &connect_samples,
    ) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("plots not written: {e}");
            Vec::new()
        }
    };
    failures.truncate(10);
    let result = json!({
        "scenario": "sockets", "urls": a.urls, "sockets": a.sockets, "connected": connected,
        "alive_after_hold": alive, "hold_s": a.hold, "connect_s": connect_s,
        "connect_latency": connect, "server_rss_before_kb": before_kb,
        "server_rss_after_kb": after_kb, "server_peak_rss_kb": peak_kb,
        "server_kb_per_socket": kb_per_socket, "kb_bar": a.kb_bar,
        "loadtest_rss_before_kb": self_before_kb, "loadtest_rss_after_kb": self_after_kb,
        "loadtest_kb_per_socket": self_kb_per_socket, "pass": pass,
        "failure_samples": failures, "load_average": report::loadavg(), "plots": plots,
    });
    write_json(&a.out, &result)?;

    let mut t = Table::new(format!(
        "loadtest sockets · {} sockets · hold {} s · {}",
        a.sockets,
        a.hold,
        if pass { "PASS" } else { "FAIL" }
    ));
    t.row("node(s)", a.urls.join(", "))
        .row(
            "connected / alive after hold",
            format!("{connected} / {alive} of {}", a.sockets),
        )
        .row(
            "connect time",
            format!(
                "{connect_s:.1} s ({:.0}/s); handshake p50 / p99 / max {:.1} / {:.1} / {:.1} ms",
                connected as f64 / connect_s.max(0.001),
                connect.p50_ms,
                connect.p99_ms,
                connect.max_ms
            ),
        )
        .row(
            "server RSS before / after",
            format!(
                "{:.1} / {:.1} MB (+{:.1} MB; peak {:.1} MB)",
                before_kb as f64 / 1024.0,
                after_kb as f64 / 1024.0,
                grown_kb as f64 / 1024.0,
                peak_kb.unwrap_or(0) as f64 / 1024.0
            ),
        )
        .row(
            "server RSS per socket",
            format!("{kb_per_socket:.1} KB (bar ≤ {} KB)", a.kb_bar),
        )
        .row(
            "loadtest RSS before / after",
            format!(
                "{:.1} / {:.1} MB ({self_kb_per_socket:.1} KB per socket)",
                self_before_kb as f64 / 1024.0,
                self_after_kb as f64 / 1024.0
            ),
        )
        .row("load average", report::loadavg())
        .row("result", a.out.display().to_string());
    for p in &plots {
        t.row("plot", p.display().to_string());
    }
    println!("{t}");
    if let Some(Value::Array(f)) = result.get("failure_samples") {
        for e in f {
            println!("  {}", e.as_str().unwrap_or_default());
        }
    }
    Ok(pass)
}
