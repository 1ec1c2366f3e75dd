//! `loadtest compare`: the side-by-side run of issue 14. WarRoom's `loadtest battles` and the
//! bare socketioxide reference of `../shared/bench-ref/` (beside the repository), one after
//! the other on this machine, each server pinned to cpu0 and its load to cpu1, then the ratio
//! of server CPU per delivered event. It shells out to `side_by_side.py` there, which does the
//! pinning and the CPU sampling, and adds the build, the load average and the summary.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::common::{write_json, Error};
use crate::report::{self, Progress, Table};

/// Arguments of `compare`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Battles (WarRoom) and rooms (reference).
    #[arg(long, default_value_t = 100)]
    battles: usize,
    /// Spectators per battle (each room has 2 + this many sockets).
    #[arg(long, default_value_t = 8)]
    spectators: usize,
    /// Seconds of load on each server.
    #[arg(long, default_value_t = 40)]
    secs: u64,
    /// The repository (default: the git work tree around the current directory, else the
    /// one this binary was built from).
    #[arg(long)]
    project: Option<PathBuf>,
    /// The reference folder (default: `PROJECT/../shared/bench-ref`).
    #[arg(long)]
    bench_ref: Option<PathBuf>,
    /// Measure the release binaries as they are (by default they are rebuilt first, since
    /// side_by_side.py only builds them when missing and would measure a stale server).
    #[arg(long)]
    no_build: bool,
    /// The bar: WarRoom's CPU per event at most this many times the reference's.
    #[arg(long, default_value_t = 1.5)]
    bar: f64,
    /// Where to write the JSON result (default: `PROJECT/target/compare-result.json`).
    #[arg(long)]
    out: Option<PathBuf>,
}

fn has_loadtest(dir: &Path) -> bool {
    dir.join("loadtest/Cargo.toml").is_file()
}

/// The repository to measure: `--project`, else the git work tree around the current
/// directory if it holds `loadtest/`, else the one this binary was built from.
fn project(explicit: Option<PathBuf>) -> Result<PathBuf, Error> {
    if let Some(p) = explicit {
        return Ok(p.canonicalize()?);
    }
    let top = Command::new("git")
        .args(["rev-parse", "--show-toplevel"])
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if let Some(t) = top.filter(|t| has_loadtest(t)) {
        return Ok(t);
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    if has_loadtest(&built) {
        return Ok(built.canonicalize()?);
    }
    Err("cannot find the repository: pass --project".into())
}

/// Parses `name {json}` lines of side_by_side.py.
fn parse_line(line: &str, name: &str) -> Option<Value> {
    serde_json::from_str(line.strip_prefix(name)?.trim()).ok()
}

fn f(v: &Value, k: &str, digits: usize) -> String {
    v[k].as_f64()
        .map_or("—".into(), |x| format!("{x:.digits$}"))
}

/// Runs the comparison; true when the ratio is within the bar.
pub async fn run(a: Args) -> Result<bool, Error> {
    let project = project(a.project)?;
    let bench_ref = a
        .bench_ref
        .unwrap_or_else(|| project.join("../shared/bench-ref"));
    let bench_ref = bench_ref.canonicalize().unwrap_or(bench_ref);
    let script = bench_ref.join("side_by_side.py");
    if !script.is_file() {
        return Err(format!("{} not found (pass --bench-ref)", script.display()).into());
    }
    let load_before = report::loadavg();
    if !a.no_build {
        let pb = Progress::spinner("cargo build --release --workspace --bins".into());
        let st = Command::new("cargo")
            .args(["build", "--release", "--workspace", "--bins", "--quiet"])
            .current_dir(&project)
            .status()?;
        pb.finish();
        if !st.success() {
            return Err("release build failed".into());
        }
    }
    let cmd = format!(
        "python3 {} {} {} {} {}",
        script.display(),
        project.display(),
        a.battles,
        a.spectators,
        a.secs
    );
    let pb = Progress::spinner(format!(
        "WarRoom: {} battles × {} sockets, {} s (then the bare reference)…",
        a.battles,
        2 + a.spectators,
        a.secs
    ));
    pb.line(&format!("load average {load_before}; running: {cmd}"));
    let mut child = Command::new("python3")
        .arg(&script)
        .arg(&project)
        .arg(a.battles.to_string())
        .arg(a.spectators.to_string())
        .arg(a.secs.to_string())
        .stdout(Stdio::piped())
        .spawn()?;
    let (mut warroom, mut bare, mut printed_ratio) = (Value::Null, Value::Null, None);
    for line in BufReader::new(child.stdout.take().ok_or("no stdout")?).lines() {
        let line = line?;
        pb.line(&line);
        if let Some(v) = parse_line(&line, "warroom") {
            warroom = v;
            pb.message("bare socketioxide reference…".into());
        } else if let Some(v) = parse_line(&line, "bare-socketioxide") {
            bare = v;
        } else if let Some(r) = line
            .rsplit_once('=')
            .and_then(|(_, r)| r.trim().parse::<f64>().ok())
        {
            printed_ratio = Some(r);
        }
    }
    let status = child.wait()?;
    pb.finish();
    let load_after = report::loadavg();
    let ratio = match (
        warroom["cpu_us_per_event"].as_f64(),
        bare["cpu_us_per_event"].as_f64(),
    ) {
        (Some(w), Some(b)) if b > 0.0 => Some(w / b),
        _ => printed_ratio,
    };
    let pass = ratio.is_some_and(|r| r <= a.bar);
    let out = a
        .out
        .unwrap_or_else(|| project.join("target/compare-result.json"));
    write_json(
        &out,
        &json!({
            "scenario": "compare", "command": cmd, "battles": a.battles, "spectators": a.spectators,
            "secs": a.secs, "warroom": warroom, "bare_socketioxide": bare, "ratio": ratio,
            "bar": a.bar, "pass": pass, "load_average_before": load_before,
            "load_average_after": load_after,
        }),
    )?;
    let mut t = Table::new(format!(
        "compare · {} battles × {} sockets at 10 Hz · {} s each",
        a.battles,
        2 + a.spectators,
        a.secs
    ));
    for (name, v) in [("WarRoom", &warroom), ("bare socketioxide", &bare)] {
        t.row(
            name,
            if v.is_null() {
                "no result".to_string()
            } else if let Some(e) = v["error"].as_str() {
                format!("error: {e}")
            } else {
                format!(
                    "{} events/s · {} µs CPU/event · {}% cpu · {} MB RSS",
                    f(v, "events_per_s", 0),
                    f(v, "cpu_us_per_event", 1),
                    f(v, "server_cpu_pct", 0),
                    f(v, "rss_mb", 0)
                )
            },
        );
    }
    if !warroom["missing"].is_null() {
        t.row(
            "WarRoom missing / dup / errors / p99",
            format!(
                "{} / {} / {} / {} ms",
                warroom["missing"], warroom["duplicated"], warroom["errors"], warroom["p99_ms"]
            ),
        );
    }
    t.row(
        "ratio (CPU per event)",
        ratio.map_or("—".into(), |r| {
            format!(
                "{r:.2}× (bar ≤ {}×: {})",
                a.bar,
                if pass { "PASS" } else { "FAIL" }
            )
        }),
    )
    .row(
        "load average before / after",
        format!("{load_before} / {load_after}"),
    )
    .row("command", cmd)
    .row("result", out.display().to_string());
    println!("{t}");
    if !status.success() {
        return Err(format!("side_by_side.py exited with {status}").into());
    }
    Ok(pass)
}
