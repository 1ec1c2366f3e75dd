//! `kill -9` during a live robot battle with wagers: the real `warroom` binary as a child
//! process, two players with GMO wagers matched and ticking, SIGKILL mid-battle, a restart on
//! the same data directory. The battle resumes and settles exactly once: balances add up, a
//! second crash after the end changes nothing, and `warroom ledger check` passes.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rust_socketio::TransportType;
use serde_json::{json, Value};

use super::eventually;
use crate::battles::{match_and_ready, next, EVENTS};
use crate::realtime::{ping_until_pong, sio_client};

const SECRET: &str = "crash-test-secret-crash-test-secret-0123";
const WAGER: i64 = 100;

/// One `warroom serve` child process.
struct Node {
    child: Child,
    base: String,
}

impl Node {
    /// Starts the binary on `dir` (and `database`, when Postgres) and waits until it listens.
    fn start(dir: &Path, database: Option<&str>) -> Node {
        let mut c = Command::new(env!("CARGO_BIN_EXE_warroom"));
        c.current_dir(dir)
            .env("WARROOM_DATA_DIR", dir)
            .env("WARROOM_BIND", "127.0.0.1:0")
            .env("WARROOM_LOG_FORMAT", "json")
            .env("WARROOM_LOG", "info")
            .env("WARROOM_JWT_SECRET", SECRET)
            // Slow enough ticks that the battle outlives the crash and the restart.
            .env("WARROOM_TICK_MS", "150")
            .env("WARROOM_COUNTDOWN_MS", "60000")
            // The test polls; the limits have their own tests.
            .env("WARROOM_RATE_LIMITS", "off")
            .env_remove("REDIS_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        match database {
            Some(url) => c.env("DATABASE_URL", url),
            None => c.env_remove("DATABASE_URL"),
        };
        let mut child = c.spawn().expect("warroom starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads the address, then keeps draining so the server never blocks on its log.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("warroom listening") {
                    let v: Value = serde_json::from_str(&line).unwrap();
                    let _ = tx.send(v["fields"]["addr"].as_str().unwrap().to_string());
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("server printed its address");
        Node {
            child,
            base: format!("http://{addr}"),
        }
    }

    /// SIGKILL: no shutdown path runs.
    fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM and a clean exit.
    fn stop(mut self) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        assert!(self.child.wait().unwrap().success());
    }
}

/// A fresh Postgres database when the suite runs on Postgres: (admin url, database url).
async fn postgres() -> Option<(String, String, String)> {
    use sqlx::{Connection, Executor};
    let admin = std::env::var("WARROOM_TEST_POSTGRES")
        .ok()
        .filter(|s| !s.is_empty())?;
    sqlx::any::install_default_drivers();
    let name = format!("wr_crash_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::AnyConnection::connect(&admin).await.unwrap();
    conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .unwrap();
    let (base, _) = admin.rsplit_once('/').unwrap();
    let url = format!("{base}/{name}");
    Some((admin, name, url))
}

async fn register(http: &reqwest::Client, base: &str, name: &str) -> (String, String) {
    let r = http
        .post(format!("{base}/v2/auth/register"))
        .json(&json!({"username": name, "email": format!("{name}@example.com"), "password": "Secret-pass1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let b: Value = r.json().await.unwrap();
    (
        b["user"]["id"].as_str().unwrap().to_string(),
        b["access_token"].as_str().unwrap().to_string(),
    )
}

async fn get(http: &reqwest::Client, base: &str, path: &str, token: &str) -> Value {
    let r = http
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.json().await.unwrap()
}

async fn gmo(http: &reqwest::Client, base: &str, token: &str) -> i64 {
    get(http, base, "/v2/economy/balance", token).await["gmo_balance"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn hardening_kill9_mid_robot_battle_with_wagers_settles_once() {
    let dir = tempfile::tempdir().unwrap();
    let pg = postgres().await;
    let db_url = pg.as_ref().map(|p| p.2.clone());
    let http = reqwest::Client::new();
    let node = Node::start(dir.path(), db_url.as_deref());
    let base = node.base.clone();

    let (a_id, a_tok) = register(&http, &base, "crashA").await;
    let (b_id, b_tok) = register(&http, &base, "crashB").await;
    let robot = |v: Value| v["data"][0]["user_robot_id"].as_str().unwrap().to_string();
    let a_robot = robot(get(&http, &base, "/v2/users/me/robots", &a_tok).await);
    let b_robot = robot(get(&http, &base, "/v2/users/me/robots", &b_tok).await);
    let start = gmo(&http, &base, &a_tok).await;
    assert_eq!(gmo(&http, &base, &b_tok).await, start);
    let connect = |tok: String, base: String| async move {
        let (c, mut rx) = sio_client(&base, Some(&tok), None, TransportType::Polling, EVENTS).await;
        ping_until_pong(&c, &mut rx).await;
        (c, rx)
    };
    let (a, mut a_rx) = connect(a_tok.clone(), base.clone()).await;
    let (b, mut b_rx) = connect(b_tok.clone(), base.clone()).await;
    let battle = match_and_ready(
        (&a, &mut a_rx, &a_robot),
        (&b, &mut b_rx, &b_robot),
        json!({"mode": "RANKED", "gmo_wager": WAGER}),
    )
    .await;
    for _ in 0..3 {
        next(&mut a_rx, "battle:tick").await;
    }
    // Both wagers are in escrow while the battle runs.
    assert_eq!(gmo(&http, &base, &a_tok).await, start - WAGER);
    assert_eq!(gmo(&http, &base, &b_tok).await, start - WAGER);
    let _ = (a.disconnect().await, b.disconnect().await);
    node.kill9();

    // Same data directory, same signing key: the battle resumes and ends by itself.
    let node = Node::start(dir.path(), db_url.as_deref());
    let base = node.base.clone();
    let path = format!("/v2/battles/{battle}");
    let done = eventually(Duration::from_secs(60), || async {
        let v = get(&http, &base, &path, &a_tok).await;
        (v["status"] == "COMPLETED").then_some(v)
    })
    .await
    .expect("the resumed battle completes");
    let (ga, gb) = (
        gmo(&http, &base, &a_tok).await,
        gmo(&http, &base, &b_tok).await,
    );
    let pot = 2 * WAGER;
    let prize = pot - pot * 5 / 100;
    let expected = match done["winner_id"].as_str() {
        Some(w) if w == a_id => (start - WAGER + prize, start - WAGER),
        Some(w) if w == b_id => (start - WAGER, start - WAGER + prize),
        _ => (start, start),
    };
    assert_eq!((ga, gb), expected, "settled once: {done}");

    // A second crash after the end settles nothing again.
    node.kill9();
    let node = Node::start(dir.path(), db_url.as_deref());
    let base = node.base.clone();
    assert_eq!(
        get(&http, &base, &path, &a_tok).await["status"],
        "COMPLETED"
    );
    assert_eq!(
        (
            gmo(&http, &base, &a_tok).await,
            gmo(&http, &base, &b_tok).await
        ),
        expected
    );
    node.stop();

    // The escrow of this battle was released exactly once.
    let target = match &db_url {
        Some(u) => warroom::config::DatabaseTarget::Postgres(u.clone()),
        None => warroom::config::DatabaseTarget::Sqlite(format!(
            "sqlite://{}",
            dir.path().join("warroom.db").display()
        )),
    };
    let db = warroom::store::Db::connect(&target).await.unwrap();
    let sum = |side: &'static str| {
        let (db, battle) = (db.clone(), battle.clone());
        async move {
            let sql = format!(
                "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS s FROM ledger_transfers \
                 WHERE reference = $1 AND {side} = 'system:escrow'"
            );
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(battle)
                .fetch_one(&db.pool)
                .await
                .unwrap();
            sqlx::Row::try_get::<i64, _>(&row, "s").unwrap()
        }
    };
    assert_eq!(
        sum("credit_account").await,
        pot,
        "both wagers escrowed once"
    );
    assert_eq!(sum("debit_account").await, pot, "escrow paid out once");
    db.pool.close().await;

    // The operator's proof: every account's transfers sum to its balance.
    let mut check = Command::new(env!("CARGO_BIN_EXE_warroom"));
    check
        .current_dir(dir.path())
        .args(["ledger", "check"])
        .env("WARROOM_DATA_DIR", dir.path())
        .env("WARROOM_LOG", "warn");
    match &db_url {
        Some(u) => check.env("DATABASE_URL", u),
        None => check.env_remove("DATABASE_URL"),
    };
    let out = check.output().unwrap();
    assert!(
        out.status.success(),
        "ledger check: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    if let Some((admin, name, _)) = pg {
        use sqlx::{Connection, Executor};
        let mut conn = sqlx::AnyConnection::connect(&admin).await.unwrap();
        let _ = conn
            .execute(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .await;
    }
}
