//! `kill -9` of the real binary, then a restart on the same data: nothing answered is lost,
//! nothing is applied twice, and every `Idempotency-Key` ends in a consistent state.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};
use warroom::chain::eip191;

/// A running `warroom serve` child.
struct Node {
    child: Child,
    base: String,
}

impl Node {
    fn start(dir: &std::path::Path) -> Node {
        Node::start_with(dir, &[])
    }

    fn start_with(dir: &std::path::Path, env: &[(&str, &str)]) -> Node {
        let mut child = Command::new(env!("CARGO_BIN_EXE_warroom"))
            .envs(env.iter().copied())
            .current_dir(dir)
            .env("WARROOM_DATA_DIR", dir)
            .env("WARROOM_BIND", "127.0.0.1:0")
            .env("WARROOM_LOG_FORMAT", "json")
            .env("WARROOM_RATE_LIMITS", "off")
            .env("CHAIN_CONFIRM_MS", "100")
            .env("CHAIN_POLL_MS", "50")
            .env_remove("DATABASE_URL")
            .env_remove("REDIS_URL")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let addr = loop {
            let line = lines.next().expect("server printed its address").unwrap();
            if line.contains("warroom listening") {
                let v: Value = serde_json::from_str(&line).unwrap();
                break v["fields"]["addr"].as_str().unwrap().to_string();
            }
        };
        // Keep draining the log so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});
        Node {
            child,
            base: format!("http://{addr}"),
        }
    }

    fn kill9(mut self) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-9", &pid])
            .status()
            .unwrap()
            .success());
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ledger_check(dir: &std::path::Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_warroom"))
        .current_dir(dir)
        .args(["ledger", "check"])
        .env("WARROOM_DATA_DIR", dir)
        .env("WARROOM_LOG", "warn")
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// `GET base+path` with a bearer token, as JSON.
async fn get_json(http: &reqwest::Client, base: &str, path: &str, token: &str) -> Value {
    http.get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn withdraw(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    key: &str,
) -> Option<(u16, Value)> {
    let r = http
        .post(format!("{base}/v2/economy/withdraw"))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&json!({"gmo_amount": 10}))
        .send()
        .await
        .ok()?;
    let s = r.status().as_u16();
    Some((s, r.json().await.ok()?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_during_a_burst_of_idempotent_withdrawals_loses_and_repeats_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path());
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/v2/auth/register", node.base))
        .json(
            &json!({"username": "saver", "email": "saver@example.com", "password": "Secret-pass1"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let token = r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    // Link a wallet through the nonce flow.
    let key = loop {
        if let Ok(k) = k256::ecdsa::SigningKey::from_slice(&rand::random::<[u8; 32]>()) {
            break k;
        }
    };
    let n = get_json(&http, &node.base, "/v2/auth/wallet/nonce", &token).await;
    let message = n["message"].as_str().unwrap().to_string();
    let address = eip191::address_hex(&eip191::address_of(key.verifying_key()));
    let r = http
        .post(format!("{}/v2/auth/wallet/connect", node.base))
        .bearer_auth(&token)
        .json(&json!({"wallet_address": address, "message": message,
                      "signature": eip191::sign(&key, message.as_bytes())}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // The burst: 60 withdrawals, each with its own key; kill -9 once a third are answered.
    const N: usize = 60;
    let keys: Vec<String> = (0..N).map(|i| format!("burst-{i}")).collect();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for k in &keys {
        let (http, base, token, k, tx) = (
            http.clone(),
            node.base.clone(),
            token.clone(),
            k.clone(),
            tx.clone(),
        );
        tokio::spawn(async move {
            let r = withdraw(&http, &base, &token, &k).await;
            let _ = tx.send((k, r));
        });
    }
    drop(tx);
    let mut answered = std::collections::HashMap::new();
    while answered.len() < N / 3 {
        let (k, r) = rx.recv().await.expect("answers");
        if let Some((s, b)) = r {
            assert_eq!(s, 202, "{b}");
            answered.insert(k, b["log_id"].as_str().unwrap().to_string());
        }
    }
    node.kill9();
    while let Some((k, r)) = rx.recv().await {
        if let Some((202, b)) = r {
            answered.insert(k, b["log_id"].as_str().unwrap().to_string());
        }
    }
    assert!(
        answered.len() < N,
        "the kill came after the burst: nothing to test"
    );

    // Restart on the same data. Every key, retried, resolves: the answered ones to the same
    // withdrawal, the others to exactly one (replayed if it had committed, new if not).
    let node = Node::start(dir.path());
    let mut log_ids = std::collections::HashSet::new();
    for k in &keys {
        let (s, b) = withdraw(&http, &node.base, &token, k)
            .await
            .expect("answer after restart");
        assert_eq!(s, 202, "key {k}: {b}");
        let id = b["log_id"].as_str().unwrap().to_string();
        if let Some(first) = answered.get(k) {
            assert_eq!(
                &id, first,
                "key {k} answered before the crash replays the same withdrawal"
            );
        }
        assert!(log_ids.insert(id), "two keys share a withdrawal");
        // Asked again, the same key gives the same withdrawal.
        let (_, again) = withdraw(&http, &node.base, &token, k).await.unwrap();
        assert_eq!(again["log_id"], b["log_id"]);
    }
    let path = "/v2/economy/transactions?type=WITHDRAW&limit=100";
    let txs = get_json(&http, &node.base, path, &token).await;
    assert_eq!(txs["total"], N, "one withdrawal per key: {txs}");
    assert_eq!(txs["data"].as_array().unwrap().len(), N);
    drop(node);
    let (ok, out) = ledger_check(dir.path());
    assert!(ok, "{out}");
}

async fn register_v1(http: &reqwest::Client, base: &str, name: &str) -> (String, String) {
    let r = http
        .post(format!("{base}/v1/auth/register"))
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

async fn army(http: &reqwest::Client, base: &str, token: &str) -> String {
    let r = http
        .post(format!("{base}/v1/armies"))
        .bearer_auth(token)
        .json(
            &json!({"name": "List", "faction_id": "fac_custodes", "points_value": 2000,
            "army_list": {"units": [{"name": "Captain", "points": 100}]}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["army"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_during_a_tracker_battle_keeps_every_acknowledged_change_and_the_clock() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path());
    let http = reqwest::Client::new();
    let (u1, t1) = register_v1(&http, &node.base, "table1").await;
    let (u2, t2) = register_v1(&http, &node.base, "table2").await;
    let (a1, a2) = (
        army(&http, &node.base, &t1).await,
        army(&http, &node.base, &t2).await,
    );
    let r = http
        .post(format!("{}/v1/battles", node.base))
        .bearer_auth(&t1)
        .json(
            &json!({"players": [{"user_id": u1, "army_id": a1}, {"user_id": u2, "army_id": a2}],
            "turn_time_limit": 1800}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["battle"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let patch = |base: String, token: String, body: Value| {
        let http = http.clone();
        let id = id.clone();
        async move {
            http.patch(format!("{base}/v1/battles/{id}"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    for body in [
        json!({"action": "start"}),
        json!({"action": "update_scores", "player_id": u1, "scores": {"primary": 7, "secondary": 3}}),
        json!({"action": "next_phase"}),
        json!({"action": "use_stratagem", "name": "Rapid Ingress", "cp_cost": 1}),
    ] {
        let r = patch(node.base.clone(), t1.clone(), body).await;
        assert_eq!(r.status(), 200);
    }
    let before = get_json(&http, &node.base, &format!("/v1/battles/{id}"), &t2).await;
    node.kill9();
    // The table stays down a while: that time is nobody's turn.
    std::thread::sleep(std::time::Duration::from_secs(3));
    let node = Node::start(dir.path());
    let after = get_json(&http, &node.base, &format!("/v1/battles/{id}"), &t2).await;
    let (b, a) = (&before["battle"], &after["battle"]);
    assert_eq!(a["status"], "in_progress");
    // Every acknowledged change survived the crash.
    assert_eq!(a["players"], b["players"]);
    assert_eq!(a["players"][0]["scores"]["victory_points"], 10);
    assert_eq!(a["players"][0]["stratagems_used"], json!(["Rapid Ingress"]));
    assert_eq!(a["current_turn"]["phase"], b["current_turn"]["phase"]);
    // The 3 s of downtime were not charged to the player whose turn it is.
    let (tb, ta) = (
        b["current_turn"]["time_remaining"].as_i64().unwrap(),
        a["current_turn"]["time_remaining"].as_i64().unwrap(),
    );
    assert!(ta <= tb && tb - ta <= 1, "before {tb} s, after {ta} s");
    // And the battle takes changes again, from either player.
    let r = patch(
        node.base.clone(),
        t2.clone(),
        json!({"action": "update_scores", "player_id": u2, "scores": {"primary": 4}}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let r = patch(node.base.clone(), t1.clone(), json!({"action": "end_turn"})).await;
    assert_eq!(r.status(), 200);
    drop(node);
}

async fn register_v2(http: &reqwest::Client, base: &str, name: &str) -> (String, String) {
    let r = http
        .post(format!("{base}/v2/auth/register"))
        .json(&json!({"username": name, "email": format!("{name}@example.com"), "password": "Secret-pass1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let token = r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let mine = get_json(http, base, "/v2/users/me/robots", &token).await;
    let robot = mine["data"][0]["user_robot_id"]
        .as_str()
        .unwrap()
        .to_string();
    (token, robot)
}

/// The live summary of `battle` on this node, if it is running here.
async fn live_summary(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    battle: &str,
) -> Option<Value> {
    let live = get_json(http, base, "/v2/battles/live?limit=100", token).await;
    live["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == battle)
        .cloned()
}

fn unix_ms(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .timestamp_millis()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_during_a_robot_battle_resumes_it_at_its_wall_clock_tick() {
    // Nothing is written per tick: the restart finds the battle where the wall clock says it
    // is (its start instant and inputs are all that is stored), not where the crash left it.
    const TICK_MS: i64 = 300;
    let env = [("WARROOM_TICK_MS", "300"), ("WARROOM_COUNTDOWN_MS", "100")];
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start_with(dir.path(), &env);
    let http = reqwest::Client::new();
    let (a_tok, a_robot) = register_v2(&http, &node.base, "crashA").await;
    let (b_tok, b_robot) = register_v2(&http, &node.base, "crashB").await;
    for (tok, robot) in [(&a_tok, &a_robot), (&b_tok, &b_robot)] {
        let r = http
            .post(format!("{}/v2/battles/queue", node.base))
            .bearer_auth(tok)
            .json(&json!({"mode": "CASUAL", "robot_id": robot, "gmo_wager": 50}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
    }
    // Matched, counted down, a few ticks in.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let (battle, tick_before) = loop {
        assert!(std::time::Instant::now() < deadline, "no battle got going");
        let st = get_json(&http, &node.base, "/v2/battles/queue/status", &a_tok).await;
        if let Some(id) = st["battle_id"].as_str() {
            if let Some(b) = live_summary(&http, &node.base, &a_tok, id).await {
                let tick = b["tick"].as_u64().unwrap();
                if tick >= 2 {
                    break (id.to_string(), tick);
                }
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let row = get_json(&http, &node.base, &format!("/v2/battles/{battle}"), &a_tok).await;
    assert_eq!(row["status"], "IN_PROGRESS", "{row}");
    let started = unix_ms(
        row["started_at"]
            .as_str()
            .expect("the start instant is stored"),
    );
    node.kill9();
    // Down for several ticks.
    std::thread::sleep(std::time::Duration::from_millis(6 * TICK_MS as u64));
    let node = Node::start_with(dir.path(), &env);
    // `started_at` reads back in whole seconds: the real start is up to 1 s later.
    let due = |at: i64| (at - started) / TICK_MS;
    let lo = due(now_ms() - 1000);
    let after = live_summary(&http, &node.base, &a_tok, &battle).await;
    let hi = due(now_ms());
    let rec = get_json(&http, &node.base, &format!("/v2/battles/{battle}"), &a_tok).await;
    match after {
        Some(b) => {
            // Resumed by wall clock: the downtime's ticks were played at once.
            let tick = b["tick"].as_i64().unwrap();
            assert!(
                tick >= lo.min(99) - 1 && tick <= hi + 1,
                "tick {tick}, due between {lo} and {hi} (was {tick_before} at the kill)"
            );
            assert!(
                tick as u64 > tick_before + 3,
                "the downtime's ticks are played"
            );
        }
        None => {
            // Its end passed while the server was down: settled at once on restart.
            assert_eq!(rec["status"], "COMPLETED", "{rec}");
            assert!(rec["total_ticks"].as_i64().unwrap() <= hi);
        }
    }
    // Either way the battle ends, settles once, and its replay verifies against the hash.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let rec = get_json(&http, &node.base, &format!("/v2/battles/{battle}"), &a_tok).await;
        if rec["status"] == "COMPLETED" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "battle never ended: {rec}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let r = http
        .get(format!("{}/v2/battles/{battle}/replay", node.base))
        .bearer_auth(&a_tok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    drop(node);
    let (ok, out) = ledger_check(dir.path());
    assert!(ok, "{out}");
}
