//! Battle turnover through the Persister's group commit: battles created (row + both wager
//! escrows, one unit) and settled (battle row, payout and fee, ratings, xp, one unit) per
//! second, on SQLite and (with `WARROOM_BENCH_POSTGRES`, a fresh database) Postgres.
//! Run: `cargo bench --bench turnover`. Issue 14's bar: ≥ 500/s SQLite, ≥ 1000/s Postgres.
//!
//! Each of `CALLERS` concurrent tasks plays its own pair of users back to back, as the
//! matchmaker and the battle actors do: create, then settle (the ticks in between write
//! nothing). The actors' own time (countdown, ticks) is left out: this is the storage cap.
//!
//! `WARROOM_BENCH_POOR=n` makes the first player of n callers unable to cover the wager: their
//! creations are refused, so most batches hold refusals (the cost of isolating them; those
//! callers' refused attempts are counted apart, not as battles).

use std::time::{Duration, Instant};

use actix::Actor;
use serde_json::json;
use uuid::Uuid;
use warroom::actors::persister::{Persist, PersistError, Persister};
use warroom::config::DatabaseTarget;
use warroom::sim::battle::{BattleInputs, Fighter, Winner, DEFAULT_MAX_TICKS};
use warroom::sim::catalog::Biome;
use warroom::store::robot_battles::{create_ops, Finished, NewRobotBattle, SideRecord};
use warroom::store::Db;

const CALLERS: usize = 256;
const SECS: u64 = 5;
const WAGER: i64 = 10;

async fn users(db: &Db, n: usize) -> Vec<Uuid> {
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        let id = Uuid::new_v4();
        let name = format!("b{}", id.simple());
        sqlx::query(
            "INSERT INTO users (id, username, username_lower, email, email_lower, password_hash, \
             gmo_balance, created_at, updated_at) VALUES ($1, $2, $2, $3, $3, 'x', $4, 0, 0)",
        )
        .bind(id.to_string())
        .bind(&name)
        .bind(format!("{name}@bench"))
        .bind(1_000_000_000i64)
        .execute(&db.pool)
        .await
        .expect("user");
        ids.push(id);
    }
    ids
}

fn battle(p1: Uuid, p2: Uuid, seed: u64) -> NewRobotBattle {
    let robot = warroom::sim::catalog::robot("volt-striker-mk1").expect("catalog robot");
    let fighter = || Fighter::new(robot, warroom::sim::ai::default_tree());
    let side = |user| SideRecord {
        user,
        algorithm: None,
        snapshot: json!({ "id": user, "username": "bench" }),
    };
    NewRobotBattle {
        id: Uuid::new_v4(),
        mode: "RANKED".into(),
        season: 1,
        p1: side(p1),
        p2: side(p2),
        inputs: BattleInputs {
            seed,
            biome: Biome::ALL[0],
            max_ticks: DEFAULT_MAX_TICKS,
            p1: fighter(),
            p2: fighter(),
        },
        wager: WAGER,
    }
}

async fn bench(name: &str, target: DatabaseTarget) {
    let db = Db::connect(&target).await.expect("connect");
    db.migrate().await.expect("migrate");
    let p = Persister::new(db.clone(), Duration::from_millis(2), 2000).start();
    let ids = users(&db, 2 * CALLERS).await;
    let poor: usize = std::env::var("WARROOM_BENCH_POOR")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    for a in ids.iter().step_by(2).take(poor) {
        sqlx::query("UPDATE users SET gmo_balance = $1 WHERE id = $2")
            .bind(WAGER - 1)
            .bind(a.to_string())
            .execute(&db.pool)
            .await
            .expect("poor user");
    }
    let t0 = Instant::now();
    let stop = t0 + Duration::from_secs(SECS);
    let mut tasks = Vec::new();
    for c in 0..CALLERS {
        let (p, db, a, b) = (p.clone(), db.clone(), ids[2 * c], ids[2 * c + 1]);
        tasks.push(actix_rt::spawn(async move {
            let (mut n, mut refused) = (0u64, 0u64);
            while Instant::now() < stop {
                let new = battle(a, b, n + 1);
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as i64);
                match p.send(Persist(create_ops(&new, now))).await.unwrap() {
                    Ok(()) => {}
                    Err(PersistError::Refused(_)) if c < poor => {
                        refused += 1;
                        continue;
                    }
                    Err(e) => panic!("created: {e}"),
                }
                let f = Finished {
                    id: new.id,
                    mode: new.mode.clone(),
                    season: new.season,
                    users: (a, b),
                    algorithms: (None, None),
                    wager: WAGER,
                    // Alternate winners so neither balance drifts.
                    result: if n % 2 == 0 { Winner::P1 } else { Winner::P2 },
                    total_ticks: 30,
                    log_hash: "bench".into(),
                };
                let (ops, _) = db.settlement(&f).await.expect("ratings");
                p.send(Persist(ops)).await.unwrap().expect("settled");
                n += 1;
            }
            (n, refused)
        }));
    }
    let (mut total, mut refused) = (0, 0);
    for t in tasks {
        let (n, r) = t.await.unwrap();
        total += n;
        refused += r;
    }
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "{name}: {:.0} battles created+settled/s ({total} battles, {CALLERS} concurrent, {secs:.2} s{})",
        total as f64 / secs,
        if poor > 0 {
            format!("; {refused} creations refused, {poor} poor callers")
        } else {
            String::new()
        }
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
