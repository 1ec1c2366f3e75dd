//! Persister throughput and commit-wait latency, on SQLite and (with `WARROOM_BENCH_POSTGRES`)
//! Postgres. Run: `cargo bench --bench persister`.
//!
//! 1. Throughput: 1024 concurrent callers, each awaiting one-row writes back to back, for 3 s.
//! 2. Latency: a steady 5,000 writes/s offered for 4 s; p50/p99 of enqueue → COMMIT ack.

use std::time::{Duration, Instant};

use actix::Actor;
use warroom::actors::persister::{Persist, Persister, SqlValue, WriteOp};
use warroom::config::DatabaseTarget;
use warroom::store::Db;

const COLS: &[&str] = &["id", "at", "actor_id", "action", "target", "ip", "details"];

fn row(i: u64) -> WriteOp {
    WriteOp::Insert {
        table: "audit_log",
        columns: COLS,
        values: vec![
            SqlValue::Text(uuid::Uuid::new_v4().to_string()),
            SqlValue::I64(i as i64),
            SqlValue::Null,
            "bench.write".into(),
            SqlValue::Text(format!("t{i}")),
            SqlValue::Null,
            "{}".into(),
        ],
    }
}

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i].as_secs_f64() * 1000.0
}

async fn bench(name: &str, target: DatabaseTarget) {
    let db = Db::connect(&target).await.expect("connect");
    db.migrate().await.expect("migrate");
    let p = Persister::new(db.clone(), Duration::from_millis(2), 2000).start();

    // Throughput.
    let t0 = Instant::now();
    let stop = t0 + Duration::from_secs(3);
    let mut tasks = Vec::new();
    for c in 0..1024u64 {
        let p = p.clone();
        tasks.push(actix_rt::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < stop {
                p.send(Persist(vec![row(c * 1_000_000 + n)]))
                    .await
                    .unwrap()
                    .unwrap();
                n += 1;
            }
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "{name}: throughput {:.0} rows/s ({total} rows, 1024 callers, {secs:.2} s)",
        total as f64 / secs
    );

    // Latency at a steady offered load.
    let rate = 5_000u64;
    let mut waits = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    let t0 = Instant::now();
    let mut i = 0u64;
    while t0.elapsed() < Duration::from_secs(4) {
        tick.tick().await;
        let due = (t0.elapsed().as_secs_f64() * rate as f64) as u64;
        while i < due {
            let p = p.clone();
            let sent = Instant::now();
            waits.push(actix_rt::spawn(async move {
                p.send(Persist(vec![row(10_000_000_000 + i)]))
                    .await
                    .unwrap()
                    .unwrap();
                sent.elapsed()
            }));
            i += 1;
        }
    }
    let mut lat = Vec::new();
    for w in waits {
        lat.push(w.await.unwrap());
    }
    println!(
        "{name}: at {rate} writes/s offered: commit wait p50 {:.2} ms, p99 {:.2} ms ({} writes)",
        pct(&mut lat, 0.50),
        pct(&mut lat, 0.99),
        lat.len()
    );
}

fn main() {
    warroom::server::block_on_system(async {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("bench.db").display()
        );
        bench("sqlite", DatabaseTarget::Sqlite(url)).await;
        if let Ok(url) = std::env::var("WARROOM_BENCH_POSTGRES") {
            bench("postgres", DatabaseTarget::Postgres(url)).await;
        }
    });
}
