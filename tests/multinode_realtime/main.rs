//! Multi-node mode (issue 13), realtime part: two real nodes sharing Postgres and Redis, with
//! real clients. Socket.IO rooms, bans and caps span the nodes, and so does the raw `/v1/ws`
//! feed. Skipped (with a note) when Postgres or Redis is not running.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::{protocol::frame::coding::CloseCode, Error, Message};

mod harness;

use harness::{next, pair, ping_until_pong, raw_socket, session_ended, sio_client, Node, Pair};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A `/v1/ws` watcher of `battle` on `node`, past its `connected` hello.
async fn watch(node: &Node, battle: &str, token: &str) -> Result<Ws, Error> {
    let url = format!("ws://{}/v1/ws/battles/{battle}?token={token}", node.addr);
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
    next_json(&mut ws, "connected").await;
    Ok(ws)
}

/// The next text message of type `kind` (panics after 10 s).
async fn next_json(ws: &mut Ws, kind: &str) -> Value {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(&t).unwrap();
                    if v["type"] == kind {
                        return v;
                    }
                }
                Some(Ok(_)) => {}
                other => panic!("websocket ended waiting for {kind}: {other:?}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {kind} within 10 s"))
}

/// The close frame the server ends `ws` with (panics if it stays open 10 s).
async fn close_frame(ws: &mut Ws) -> (CloseCode, String) {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
            Ok(Some(Ok(Message::Close(Some(f))))) => return (f.code, f.reason.to_string()),
            Ok(Some(Ok(Message::Close(None)))) | Ok(None) | Ok(Some(Err(_))) => {
                panic!("closed without a reason")
            }
            Ok(Some(Ok(_))) => continue,
            Err(_) => panic!("the websocket is still open"),
        }
    }
}

async fn start(pair: &Pair, battle: &str, token: &str) {
    let r = pair
        .http
        .patch(format!("{}/v1/battles/{battle}", pair.a.base))
        .bearer_auth(token)
        .json(&json!({"action": "start"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multinode_room_emit_and_v1_ws_reach_the_other_node() {
    let Some(pair) = pair(|_| {}).await else {
        return;
    };
    let (battle, _, t1) = pair.tracker_battle("roomA", "roomB").await;
    // A Socket.IO table display and a raw /v1/ws watcher, both on node B.
    let (client, mut rx) = sio_client(&pair.b, &t1, &["pong", "battle_started", "error"]).await;
    ping_until_pong(&client, &mut rx).await;
    client
        .emit("table:join", json!({ "battle_id": battle }))
        .await
        .unwrap();
    ping_until_pong(&client, &mut rx).await;
    let mut ws = watch(&pair.b, &battle, &t1).await.unwrap();
    // Node A applies the PATCH and publishes; node B's clients hear it.
    start(&pair, &battle, &t1).await;
    let e = next(&mut rx, "battle_started").await;
    assert_eq!(e["battle_id"], battle.as_str(), "{e}");
    let w = next_json(&mut ws, "battle_started").await;
    assert_eq!(w["battle_id"], battle.as_str(), "{w}");
    let _ = client.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multinode_ban_on_one_node_disconnects_everywhere() {
    let Some(pair) = pair(|_| {}).await else {
        return;
    };
    let (battle, id, t1) = pair.tracker_battle("banA", "banB").await;
    let boss = pair.admin("warden").await;
    let (reply, on_b) = raw_socket(&pair.http, &pair.b, &t1).await;
    assert!(reply.starts_with("40"), "{reply}");
    let mut ws = watch(&pair.b, &battle, &t1).await.unwrap();
    let r = pair
        .http
        .patch(format!("{}/v2/admin/users/{id}/ban", pair.a.base))
        .bearer_auth(&boss)
        .json(&json!({"banned": true, "reason": "flooding"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        session_ended(&pair.http, &on_b).await,
        "the socket on node B is dropped"
    );
    assert_eq!(
        close_frame(&mut ws).await,
        (CloseCode::Policy, "account banned".into())
    );
    // Node B refuses the user at once too (its ban list heard the change).
    let (reply, _) = raw_socket(&pair.http, &pair.b, &t1).await;
    assert!(reply.contains("USER_BANNED"), "{reply}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multinode_socketio_per_user_cap_counts_both_nodes() {
    let Some(pair) = pair(|c| c.rate_limits.sio_per_user = 2).await else {
        return;
    };
    let (_, t) = pair.player("capped").await;
    let (first, on_a) = raw_socket(&pair.http, &pair.a, &t).await;
    let (second, _) = raw_socket(&pair.http, &pair.b, &t).await;
    assert!(
        first.starts_with("40") && second.starts_with("40"),
        "{first} {second}"
    );
    for node in [&pair.a, &pair.b] {
        let (third, _) = raw_socket(&pair.http, node, &t).await;
        assert!(
            third.starts_with("44") && third.contains("RATE_LIMITED"),
            "{third}"
        );
    }
    // Closing the socket on A frees its slot for a socket on B.
    let _ = pair.http.post(&on_a).body("1").send().await.unwrap();
    let mut again = String::new();
    for _ in 0..100 {
        again = raw_socket(&pair.http, &pair.b, &t).await.0;
        if again.starts_with("40") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(again.starts_with("40"), "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multinode_v1_ws_per_user_limit_counts_both_nodes() {
    let Some(pair) = pair(|c| c.rate_limits.v1_ws_per_user = 2).await else {
        return;
    };
    let (battle, _, t1) = pair.tracker_battle("wsA", "wsB").await;
    let mut on_a = watch(&pair.a, &battle, &t1).await.unwrap();
    let _on_b = watch(&pair.b, &battle, &t1).await.unwrap();
    for node in [&pair.a, &pair.b] {
        match watch(node, &battle, &t1).await {
            Err(Error::Http(r)) => assert_eq!(r.status(), 429),
            other => panic!("expected 429, got {:?}", other.map(|_| ())),
        }
    }
    // A closed session gives its slot back, across nodes.
    on_a.close(None).await.unwrap();
    let mut reopened = None;
    for _ in 0..100 {
        if let Ok(ws) = watch(&pair.b, &battle, &t1).await {
            reopened = Some(ws);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        reopened.is_some(),
        "a freed slot is usable on the other node"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multinode_robot_battle_reaches_a_player_on_the_other_node() {
    let Some(pair) = pair(|c| {
        c.tick = Duration::from_millis(50);
        c.countdown = Duration::from_millis(300);
    })
    .await
    else {
        return;
    };
    let events = &[
        "pong",
        "queue:matched",
        "battle:starting",
        "battle:tick",
        "error",
    ];
    let (_, t1, r1) = pair.pilot("remoteP1").await;
    let (_, t2, r2) = pair.pilot("localP2").await;
    // Player 1's socket is on node B; both queue (and so battle) on node A.
    let (c1, mut rx1) = sio_client(&pair.b, &t1, events).await;
    ping_until_pong(&c1, &mut rx1).await;
    let (c2, mut rx2) = sio_client(&pair.a, &t2, events).await;
    ping_until_pong(&c2, &mut rx2).await;
    for (t, r) in [(&t1, &r1), (&t2, &r2)] {
        let res = pair
            .http
            .post(format!("{}/v2/battles/queue", pair.a.base))
            .bearer_auth(t)
            .json(&json!({"mode": "CASUAL", "robot_id": r}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 202);
    }
    // `user:{id}` reaches node B; node A's join of that room into `battle:{id}` does too,
    // so the battle's room events (countdown, ticks) arrive there.
    let m1 = next(&mut rx1, "queue:matched").await;
    let m2 = next(&mut rx2, "queue:matched").await;
    assert_eq!(m1["battle_id"], m2["battle_id"]);
    let tick = next(&mut rx1, "battle:tick").await;
    assert_eq!(tick["battle_id"], m1["battle_id"], "{tick}");
    // A spectator joining mid-battle (on the battle's node, through the Redis adapter's
    // ordered lane): its catch-up batch and the live ticks after it have every tick once.
    let watch_events = &[
        "pong",
        "battle:tick_batch",
        "battle:tick",
        "battle:ended",
        "error",
    ];
    let (_, ts, _) = pair.pilot("spectator").await;
    let (c3, mut rx3) = sio_client(&pair.a, &ts, watch_events).await;
    ping_until_pong(&c3, &mut rx3).await;
    c3.emit("spectate:join", json!({ "battle_id": m1["battle_id"] }))
        .await
        .unwrap();
    let batch = next(&mut rx3, "battle:tick_batch").await;
    let mut seen: Vec<u64> = batch["ticks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tick"].as_u64().unwrap())
        .collect();
    let total = loop {
        let (name, v) = tokio::time::timeout(Duration::from_secs(30), rx3.recv())
            .await
            .expect("battle goes on")
            .expect("client open");
        match name.as_str() {
            "battle:tick" => seen.push(v["tick"].as_u64().unwrap()),
            "battle:ended" => break v["total_ticks"].as_u64().unwrap(),
            "error" => panic!("{v}"),
            _ => {}
        }
    };
    assert_eq!(seen, (1..=total).collect::<Vec<_>>(), "no gap, no repeat");
    for c in [c1, c2, c3] {
        let _ = c.disconnect().await;
    }
}

async fn queue_status(pair: &Pair, token: &str) -> String {
    let v: Value = pair
        .http
        .get(format!("{}/v2/battles/queue/status", pair.a.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["status"].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multinode_a_socket_on_another_node_keeps_the_user_queued() {
    let Some(pair) = pair(|c| c.queue_grace = Duration::from_millis(300)).await else {
        return;
    };
    let events = &["pong", "queue:joined", "error"];
    let (_, tp, rp) = pair.pilot("stayer").await;
    let (_, tq, rq) = pair.pilot("leaver").await;
    // P has a socket on each node, Q only on A; each queues from A (different modes, so
    // they are not matched with each other).
    let (pa, mut pa_rx) = sio_client(&pair.a, &tp, events).await;
    ping_until_pong(&pa, &mut pa_rx).await;
    let (pb, mut pb_rx) = sio_client(&pair.b, &tp, events).await;
    ping_until_pong(&pb, &mut pb_rx).await;
    let (qa, mut qa_rx) = sio_client(&pair.a, &tq, events).await;
    ping_until_pong(&qa, &mut qa_rx).await;
    for (c, rx, mode, robot) in [
        (&pa, &mut pa_rx, "RANKED", &rp),
        (&qa, &mut qa_rx, "CASUAL", &rq),
    ] {
        c.emit("queue:join", json!({"mode": mode, "robot_id": robot}))
            .await
            .unwrap();
        next(rx, "queue:joined").await;
    }
    // Both lose their last socket on A; P's grace starts first.
    pa.disconnect().await.unwrap();
    qa.disconnect().await.unwrap();
    let mut left = false;
    // Bounded wait (a loaded box can take seconds to run a 300 ms grace and its checks).
    for _ in 0..600 {
        if queue_status(&pair, &tq).await == "IDLE" {
            left = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(
        left,
        "a user with no socket anywhere leaves the queue after the grace"
    );
    // P's grace ran out before Q's, but P is online on node B.
    for _ in 0..8 {
        assert_eq!(queue_status(&pair, &tp).await, "WAITING");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let _ = pb.disconnect().await;
}
