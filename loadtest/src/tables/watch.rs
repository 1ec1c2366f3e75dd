//! The `tables` watchers: what each socket saw, and whether every tick arrived.

use std::{
    sync::{atomic::Ordering, Arc},
    time::Duration,
};

use futures_util::StreamExt;
use serde::Serialize;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use super::{Battle, Run};
use crate::common::Summary;

/// What one watcher saw.
#[derive(Default)]
pub(crate) struct WatchLog {
    /// (arrival µs since the run's epoch, time_remaining) of every timer_update.
    pub(crate) ticks: Vec<(u64, i64)>,
    /// score_update delivery latencies, µs.
    pub(crate) score_us: Vec<u64>,
    pub(crate) lagged: u64,
    /// The socket ended before the run did.
    pub(crate) dropped: bool,
}

#[derive(Debug, Serialize)]
pub(crate) struct TimerResult {
    pub(crate) watchers: usize,
    pub(crate) ticks_received: u64,
    pub(crate) expected_per_watcher: f64,
    pub(crate) missed: u64,
    pub(crate) repeated: u64,
    pub(crate) lagged: u64,
    pub(crate) dropped_watchers: usize,
    pub(crate) watchers_with_missing_ticks: usize,
    pub(crate) lateness: Summary,
    /// Arrival minus the battle's best observed phase: how much later than its earliest tick
    /// (over all its watchers) each tick arrived. A lower bound on delivery latency; its spread
    /// is the delivery jitter.
    pub(crate) jitter: Summary,
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Reads one socket until the run stops (tungstenite answers the server's pings itself).
pub(crate) async fn watch(mut ws: Ws, battle: Arc<Battle>, run: Arc<Run>) -> WatchLog {
    let mut log = WatchLog::default();
    loop {
        if run.stop.load(Ordering::Relaxed) {
            let _ = ws.close(None).await;
            break;
        }
        let msg = match tokio::time::timeout(Duration::from_millis(500), ws.next()).await {
            Err(_) => continue,
            Ok(Some(Ok(m))) => m,
            Ok(_) => {
                log.dropped = !run.stop.load(Ordering::Relaxed);
                break;
            }
        };
        let Message::Text(text) = msg else { continue };
        let at = run.us();
        let Ok(v) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        if !run.recording.load(Ordering::Relaxed) {
            continue;
        }
        match v["type"].as_str() {
            Some("timer_update") => {
                run.timer_msgs.fetch_add(1, Ordering::Relaxed);
                let left = v["current_turn"]["time_remaining"].as_i64().unwrap_or(-1);
                log.ticks.push((at, left));
            }
            Some("score_update") => {
                let primary = v["scores"]["primary"].as_i64().unwrap_or(-2);
                let (seq, sent) = *battle.last_patch.lock().unwrap();
                if primary == seq {
                    log.score_us.push(at.saturating_sub(sent));
                }
            }
            Some("lagged") => log.lagged += v["missed"].as_u64().unwrap_or(1),
            _ => {}
        }
    }
    run.open_sockets.fetch_sub(1, Ordering::Relaxed);
    log
}

pub(crate) fn analyse_ticks(
    logs: &[(usize, WatchLog)],
    battles: &[Arc<Battle>],
    timer_ms: u64,
    t0: u64,
    t1: u64,
) -> TimerResult {
    let period_us = timer_ms * 1000;
    let expected = (t1 - t0) as f64 / period_us as f64;
    let (mut missed, mut repeated, mut lagged, mut received) = (0u64, 0u64, 0u64, 0u64);
    let (mut dropped, mut short) = (0usize, 0usize);
    let mut lateness = Vec::new();
    let mut per_battle: std::collections::HashMap<usize, Vec<u64>> = Default::default();
    let limit_s = 14_400i64;
    for (b, log) in logs {
        lagged += log.lagged;
        dropped += usize::from(log.dropped);
        // Only ticks inside the measured window count towards completeness.
        let window: Vec<&(u64, i64)> = log
            .ticks
            .iter()
            .filter(|(at, _)| *at >= t0 && *at <= t1)
            .collect();
        received += window.len() as u64;
        if (window.len() as f64) < expected.floor() - 1.0 {
            short += 1;
        }
        for pair in log.ticks.windows(2) {
            let step = pair[0].1 - pair[1].1;
            if step > 1 {
                missed += (step - 1) as u64;
            } else if step < 1 {
                repeated += 1;
            }
        }
        let start = battles[*b].started_us;
        // `time_remaining` counts seconds, so it numbers the ticks only with 1 s periods.
        let ticks = if timer_ms == 1000 {
            &log.ticks[..]
        } else {
            &[]
        };
        for (at, left) in ticks {
            // Tick n of the turn was due n periods after the clock started (1 s periods: n is
            // how many seconds the turn has used).
            let n = (limit_s - left) as u64;
            let due = start + n * period_us;
            lateness.push(at.saturating_sub(due));
            per_battle
                .entry(*b)
                .or_default()
                .push(at.saturating_sub(n * period_us));
        }
    }
    let mut jitter = Vec::new();
    for offsets in per_battle.values() {
        let best = offsets.iter().copied().min().unwrap_or(0);
        jitter.extend(offsets.iter().map(|o| o - best));
    }
    TimerResult {
        watchers: logs.len(),
        ticks_received: received,
        expected_per_watcher: expected,
        missed,
        repeated,
        lagged,
        dropped_watchers: dropped,
        watchers_with_missing_ticks: short,
        lateness: Summary::of_us(lateness),
        jitter: Summary::of_us(jitter),
    }
}
