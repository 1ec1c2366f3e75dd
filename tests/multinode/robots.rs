//! Robot battles across nodes: players queued on different nodes are matched with each other,
//! the battle runs on one owner node, and `kill -9` of that owner loses nothing: another node
//! takes it over, a client reconnecting there with `since_tick` gets exactly the ticks it
//! missed, and the battle settles once.

use std::time::Duration;

use futures_util::FutureExt;
use rust_socketio::asynchronous::{Client, ClientBuilder};
use rust_socketio::{Payload, TransportType};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::harness::{get, lease_holder, register_v2, TestCluster, REDIS};

type Rx = mpsc::UnboundedReceiver<(String, Value)>;

const EVENTS: &[&str] = &[
    "pong",
    "error",
    "queue:joined",
    "queue:matched",
    "battle:starting",
    "battle:tick",
    "battle:tick_batch",
    "battle:ended",
];

async fn connect(base: &str, token: &str) -> (Client, Rx) {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut b = ClientBuilder::new(format!("{base}/v2/ws/?token={token}"))
        .transport_type(TransportType::Websocket);
    for ev in EVENTS {
        let tx = tx.clone();
        let name = ev.to_string();
        b = b.on(*ev, move |payload, _| {
            let tx = tx.clone();
            let name = name.clone();
            async move {
                let v = match payload {
                    Payload::Text(mut v) => v.pop().unwrap_or(Value::Null),
                    _ => Value::Null,
                };
                if name == "error" && v.is_string() {
                    return; // the client's own transport hiccups
                }
                let _ = tx.send((name, v));
            }
            .boxed()
        });
    }
    let c = b.connect().await.expect("socket.io connect");
    let mut rx = rx;
    // Connected and served: the first pong.
    for _ in 0..50 {
        if c.emit("ping", json!({})).await.is_ok() {
            if let Ok(Some((n, _))) =
                tokio::time::timeout(Duration::from_millis(300), rx.recv()).await
            {
                if n == "pong" {
                    return (c, rx);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no pong from {base}");
}

async fn next(rx: &mut Rx, name: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some((n, v))) if n == name => return v,
            Ok(Some(_)) => continue,
            _ => panic!("no {name} event"),
        }
    }
}

async fn first_robot(http: &reqwest::Client, base: &str, token: &str) -> String {
    let (_, mine) = get(http, base, "/v2/users/me/robots", token).await;
    mine["data"][0]["user_robot_id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// One queued player: user id, token, Socket.IO client and its events.
type Queued = (String, String, Client, Rx);

/// Registers `names[i]` on `bases[i]`, connects each there and queues both (CASUAL), the
/// first before the second; waits until the cluster's matcher pairs them with each other.
/// The battle id, and the two players.
async fn matched_pair(
    http: &reqwest::Client,
    bases: [&str; 2],
    names: [&str; 2],
) -> (String, Queued, Queued) {
    let mut players = Vec::new();
    for (base, name) in bases.into_iter().zip(names) {
        let (user, token) = register_v2(http, base, name).await;
        let robot = first_robot(http, base, &token).await;
        let (client, mut rx) = connect(base, &token).await;
        client
            .emit("queue:join", json!({"mode": "CASUAL", "robot_id": robot}))
            .await
            .unwrap();
        if players.is_empty() {
            let joined = next(&mut rx, "queue:joined").await;
            assert_eq!(joined["mode"], "CASUAL");
        }
        players.push((user, token, client, rx));
    }
    let (mut p2, mut p1) = (players.pop().unwrap(), players.pop().unwrap());
    let m1 = next(&mut p1.3, "queue:matched").await;
    let m2 = next(&mut p2.3, "queue:matched").await;
    assert_eq!(m2["battle_id"], m1["battle_id"], "matched with each other");
    (m1["battle_id"].as_str().unwrap().to_string(), p1, p2)
}

/// Tick numbers of ticks and batches until `battle:ended`.
async fn ticks_until_end(rx: &mut Rx, into: &mut Vec<u64>) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some((n, v))) if n == "battle:tick" => into.push(v["tick"].as_u64().unwrap()),
            Ok(Some((n, v))) if n == "battle:tick_batch" => into.extend(
                v["ticks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t["tick"].as_u64().unwrap()),
            ),
            Ok(Some((n, v))) if n == "battle:ended" => return v,
            Ok(Some((n, v))) if n == "error" => panic!("error event: {v}"),
            Ok(Some(_)) => continue,
            _ => panic!("battle did not end; ticks so far {into:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn players_on_two_nodes_meet_and_their_battle_survives_kill9_of_its_owner() {
    let Some(mut cluster) = TestCluster::new("robot failover").await else {
        return;
    };
    cluster.env.push(("WARROOM_TICK_MS".into(), "400".into()));
    let a = cluster.node("a");
    let b = cluster.node("b");
    let http = reqwest::Client::new();
    // Each queues on its own node; the one matcher of the cluster pairs them.
    let (id, (u1, t1, c1, mut rx1), (_, t2, c2, mut rx2)) =
        matched_pair(&http, [&a.base, &b.base], ["mnr1", "mnr2"]).await;
    // The queue answers the same on both nodes.
    for (base, t) in [(&a.base, &t1), (&b.base, &t2)] {
        let (_, st) = get(&http, base, "/v2/battles/queue/status", t).await;
        assert_eq!(st["status"], "MATCHED", "{st}");
        assert_eq!(st["battle_id"], id.as_str());
    }
    for c in [&c1, &c2] {
        c.emit("battle:ready", json!({"battle_id": id}))
            .await
            .unwrap();
    }
    // A few live ticks reach the players on both nodes.
    let mut seen1 = Vec::new();
    let mut seen2 = Vec::new();
    while seen2.len() < 3 {
        let v = next(&mut rx2, "battle:tick").await;
        seen2.push(v["tick"].as_u64().unwrap());
    }
    while let Ok((n, v)) = rx1.try_recv() {
        if n == "battle:tick" {
            seen1.push(v["tick"].as_u64().unwrap());
        }
    }
    let owner = lease_holder(&cluster.prefix, "battle", &id)
        .await
        .expect("battle has an owner");
    let (dead, alive, dead_client, alive_client, mut alive_rx, mut alive_seen, dead_token) =
        if owner == "a" {
            (a, b, c1, c2, rx2, seen2, t1.clone())
        } else {
            (b, a, c2, c1, rx1, seen1, t2.clone())
        };
    let last_before = *alive_seen.last().unwrap_or(&0);
    dead.kill9();
    let killed_at = std::time::Instant::now();
    drop(dead_client);
    // The player whose node died reconnects to the survivor and asks for what it missed.
    let (c3, mut rx3) = connect(&alive.base, &dead_token).await;
    c3.emit("battle:join", json!({"battle_id": id, "since_tick": 0}))
        .await
        .unwrap();
    let mut got3: Vec<u64> = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left.min(Duration::from_millis(500)), rx3.recv()).await {
            Ok(Some((n, v))) if n == "battle:tick_batch" => {
                got3.extend(
                    v["ticks"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|t| t["tick"].as_u64().unwrap()),
                );
                break;
            }
            Ok(Some((n, _))) if n == "error" => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                c3.emit("battle:join", json!({"battle_id": id, "since_tick": 0}))
                    .await
                    .unwrap();
            }
            Ok(Some(_)) => {}
            Ok(None) => panic!("client gone"),
            Err(_) => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "no takeover within 15 s"
                );
                c3.emit("battle:join", json!({"battle_id": id, "since_tick": 0}))
                    .await
                    .unwrap();
            }
        }
    }
    let took = killed_at.elapsed();
    assert_eq!(
        lease_holder(&cluster.prefix, "battle", &id)
            .await
            .as_deref(),
        Some(alive.name.as_str())
    );
    // The player that stayed on the survivor has a gap in its ticks; `since_tick` fills it.
    alive_client
        .emit(
            "battle:join",
            json!({"battle_id": id, "since_tick": last_before}),
        )
        .await
        .unwrap();
    let end3 = ticks_until_end(&mut rx3, &mut got3).await;
    // Exactly every tick, once, in order: the batch, then live ticks.
    let total = end3["total_ticks"].as_u64().unwrap();
    assert_eq!(
        got3,
        (1..=total).collect::<Vec<_>>(),
        "reconnected player's ticks"
    );
    let end2 = ticks_until_end(&mut alive_rx, &mut alive_seen).await;
    alive_seen.sort_unstable();
    alive_seen.dedup();
    assert_eq!(
        alive_seen,
        (1..=total).collect::<Vec<_>>(),
        "surviving player's ticks"
    );
    assert_eq!(end2["winner_id"], end3["winner_id"]);
    // Settled exactly once: one completed battle, one result per player.
    let (_, row) = get(&http, &alive.base, &format!("/v2/battles/{id}"), &t1).await;
    assert_eq!(row["status"], "COMPLETED", "{row}");
    let (_, hist) = get(
        &http,
        &alive.base,
        &format!("/v2/battles?user_id={u1}"),
        &t1,
    )
    .await;
    let completed = hist["data"]
        .as_array()
        .map(|d| d.iter().filter(|b| b["status"] == "COMPLETED").count())
        .unwrap_or(0);
    assert_eq!(completed, 1, "{hist}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_warroom"))
        .args(["ledger", "check"])
        .env("DATABASE_URL", &cluster.db_url)
        .env_remove("REDIS_URL")
        .env("WARROOM_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("robot battle takeover after kill -9: {took:?} (ticks 1..={total})");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_of_the_owner_hands_the_battle_over_with_a_short_gap() {
    let Some(mut cluster) = TestCluster::new("robot handover").await else {
        return;
    };
    cluster.env.push(("WARROOM_TICK_MS".into(), "400".into()));
    cluster
        .env
        .push(("WARROOM_SHUTDOWN_TIMEOUT_MS".into(), "2000".into()));
    let a = cluster.node("a");
    let b = cluster.node("b");
    let http = reqwest::Client::new();
    let (id, (_, _, c1, rx1), (_, _, c2, rx2)) =
        matched_pair(&http, [&a.base, &b.base], ["mnh1", "mnh2"]).await;
    for c in [&c1, &c2] {
        c.emit("battle:ready", json!({"battle_id": id}))
            .await
            .unwrap();
    }
    let owner = lease_holder(&cluster.prefix, "battle", &id)
        .await
        .expect("owner");
    let (leaving, staying, client, mut rx) = if owner == "a" {
        (a, b, c2, rx2)
    } else {
        (b, a, c1, rx1)
    };
    // The player on the staying node watches live ticks, stamping their arrival.
    let mut arrivals: Vec<(u64, std::time::Instant)> = Vec::new();
    while arrivals.len() < 3 {
        let v = next(&mut rx, "battle:tick").await;
        arrivals.push((v["tick"].as_u64().unwrap(), std::time::Instant::now()));
    }
    let term = std::thread::spawn(move || leaving.sigterm());
    let mut ended = None;
    let mut asked = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while ended.is_none() {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some((n, v))) if n == "battle:tick" => {
                let t = v["tick"].as_u64().unwrap();
                let last = arrivals.last().unwrap().0;
                arrivals.push((t, std::time::Instant::now()));
                // A gap in tick numbers: ask for what was missed, once.
                if t > last + 1 && !asked {
                    asked = true;
                    client
                        .emit("battle:join", json!({"battle_id": id, "since_tick": last}))
                        .await
                        .unwrap();
                }
            }
            Ok(Some((n, v))) if n == "battle:tick_batch" => {
                for t in v["ticks"].as_array().unwrap() {
                    arrivals.push((t["tick"].as_u64().unwrap(), std::time::Instant::now()));
                }
            }
            Ok(Some((n, v))) if n == "battle:ended" => ended = Some(v),
            Ok(Some(_)) => {}
            _ => panic!("battle did not end after the hand-over"),
        }
    }
    term.join().unwrap();
    assert_eq!(
        lease_holder(&cluster.prefix, "battle", &id).await,
        None,
        "finished and released"
    );
    let end = ended.unwrap();
    let total = end["total_ticks"].as_u64().unwrap();
    let mut numbers: Vec<u64> = arrivals.iter().map(|(t, _)| *t).collect();
    numbers.sort_unstable();
    numbers.dedup();
    assert_eq!(
        numbers,
        (arrivals[0].0..=total).collect::<Vec<_>>(),
        "every tick, once"
    );
    // The longest wait between two ticks arriving: one tick interval plus the hand-over.
    let gap = arrivals
        .windows(2)
        .map(|w| w[1].1.saturating_duration_since(w[0].1))
        .max()
        .unwrap();
    assert!(gap < Duration::from_secs(5), "gap {gap:?}");
    eprintln!(
        "SIGTERM hand-over: longest gap between ticks {gap:?} (tick 400 ms); survivor {}",
        staying.name
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_blip_fences_the_owner_and_the_battle_runs_on_once() {
    let Some(mut cluster) = TestCluster::new("redis blip").await else {
        return;
    };
    cluster.env.push(("WARROOM_TICK_MS".into(), "400".into()));
    let proxy = crate::harness::RedisProxy::start().await;
    // Node a reaches Redis through the proxy and starts first: it runs the matchers.
    let a = cluster.node_with("a", &[("REDIS_URL", proxy.url.as_str())]);
    let http = reqwest::Client::new();
    let matcher = crate::harness::eventually(Duration::from_secs(10), || async {
        let client = redis::Client::open(REDIS).unwrap();
        let mut c = client.get_multiplexed_async_connection().await.ok()?;
        let v: Option<String> = redis::cmd("GET")
            .arg(format!("{}:lease:matcher:CASUAL", cluster.prefix))
            .query_async(&mut c)
            .await
            .ok()?;
        v
    })
    .await;
    assert!(matcher.unwrap().starts_with("a:"));
    let b = cluster.node("b");
    // Both players are on node b; their battle runs on a (the matcher's node).
    let (id, (_, t1, c1, mut rx1), (_, _, c2, _rx2)) =
        matched_pair(&http, [&b.base, &b.base], ["mnb1", "mnb2"]).await;
    assert_eq!(
        lease_holder(&cluster.prefix, "battle", &id)
            .await
            .as_deref(),
        Some("a")
    );
    for c in [&c1, &c2] {
        c.emit("battle:ready", json!({"battle_id": id}))
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    while seen.len() < 3 {
        seen.push(
            next(&mut rx1, "battle:tick").await["tick"]
                .as_u64()
                .unwrap(),
        );
    }
    let last_before = *seen.last().unwrap();
    // The blip: node a loses Redis for longer than a lease lives.
    proxy.cut();
    let ready = crate::harness::eventually(Duration::from_secs(10), || async {
        let r = reqwest::get(format!("{}/readyz", a.base)).await.ok()?;
        let s = r.status().as_u16();
        let v: Value = r.json().await.ok()?;
        (s == 503).then_some(v)
    })
    .await
    .expect("a's /readyz reports Redis down");
    assert_eq!(ready["redis"], "unreachable");
    // Node b takes the battle over once a's lease has expired.
    let took = crate::harness::eventually(Duration::from_secs(15), || async {
        (lease_holder(&cluster.prefix, "battle", &id)
            .await
            .as_deref()
            == Some("b"))
        .then_some(())
    })
    .await;
    assert!(took.is_some(), "b took the battle over");
    // a gave the battle up on its own (fencing): it runs no battle and lost its lease.
    assert_eq!(
        crate::harness::metric(&http, &a.base, "warroom_live_battles").await,
        0.0
    );
    assert!(crate::harness::metric(&http, &a.base, "warroom_leases_lost_total").await >= 1.0);
    c1.emit(
        "battle:join",
        json!({"battle_id": id, "since_tick": last_before}),
    )
    .await
    .unwrap();
    proxy.heal();
    // a reconnects by itself and is ready again, without taking the battle back.
    let healed = crate::harness::eventually(Duration::from_secs(15), || async {
        let r = reqwest::get(format!("{}/readyz", a.base)).await.ok()?;
        (r.status() == 200).then_some(())
    })
    .await;
    assert!(healed.is_some(), "node a reconnected to Redis");
    let end = ticks_until_end(&mut rx1, &mut seen).await;
    let total = end["total_ticks"].as_u64().unwrap();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(
        seen,
        (1..=total).collect::<Vec<_>>(),
        "every tick after the blip"
    );
    assert_eq!(
        crate::harness::metric(&http, &a.base, "warroom_live_battles").await,
        0.0
    );
    let (_, row) = get(&http, &b.base, &format!("/v2/battles/{id}"), &t1).await;
    assert_eq!(row["status"], "COMPLETED");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_warroom"))
        .args(["ledger", "check"])
        .env("DATABASE_URL", &cluster.db_url)
        .env_remove("REDIS_URL")
        .env("WARROOM_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    drop((a, b));
}
