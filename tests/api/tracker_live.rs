//! Tracker extensions over the wire: chess-clock battles, and the `/v1/ws` heartbeat.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{spawn_app_with, TestApp};
use crate::tracker::{army, next_json};

/// Two registered players with an army each: ((user, token), (user, token), [army ids]).
async fn two_players(
    app: &TestApp,
    a: &str,
    b: &str,
) -> ((Value, String), (Value, String), [String; 2]) {
    let (u1, t1, _) = app.register_v1(a).await;
    let (u2, t2, _) = app.register_v1(b).await;
    let a1: Value = army(app, &t1, 100).await.json().await.unwrap();
    let a2: Value = army(app, &t2, 100).await.json().await.unwrap();
    let ids = [
        a1["army"]["id"].as_str().unwrap().to_string(),
        a2["army"]["id"].as_str().unwrap().to_string(),
    ];
    ((u1, t1), (u2, t2), ids)
}

async fn patch(app: &TestApp, id: &str, token: &str, body: Value) -> reqwest::Response {
    app.http
        .patch(app.url(&format!("/v1/battles/{id}")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn chess_clock_charges_the_active_bank_and_times_out_when_it_is_empty() {
    let app = spawn_app_with(|c| c.timer_update = Duration::from_millis(100)).await;
    let ((u1, t1), (u2, t2), armies) = two_players(&app, "kilo", "lima").await;
    let body = |clock: Value| {
        json!({"turn_time_limit": 600, "clock": clock, "players": [
            {"user_id": u1["id"], "army_id": armies[0]}, {"user_id": u2["id"], "army_id": armies[1]}]})
    };
    for bad in [
        json!({"mode": "chess"}),
        json!({"mode": "blitz", "bank_s": 5}),
        json!({"mode": "chess", "bank_s": 0}),
    ] {
        let r = app.post_auth("/v1/battles", &t1, &body(bad.clone())).await;
        assert_eq!(r.status(), 422, "{bad}");
    }
    let r = app
        .post_auth(
            "/v1/battles",
            &t1,
            &body(json!({"mode": "chess", "bank_s": 3})),
        )
        .await;
    assert_eq!(r.status(), 201);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["battle"]["clock"]["mode"], "chess");
    assert_eq!(b["battle"]["clock"]["bank_s"], 3);
    let id = b["battle"]["id"].as_str().unwrap().to_string();

    let (mut ws, _) = tokio_tungstenite::connect_async(format!(
        "ws://{}/v1/ws/battles/{id}?token={t1}",
        app.addr
    ))
    .await
    .unwrap();
    next_json(&mut ws, "connected").await;
    assert_eq!(
        patch(&app, &id, &t1, json!({"action": "start"}))
            .await
            .status(),
        200
    );
    let t = next_json(&mut ws, "timer_update").await;
    assert!(
        t["banks"][u1["id"].as_str().unwrap()].as_i64().unwrap() <= 3,
        "{t}"
    );

    // Player 1 spends about 0.5 s of a 3 s bank; player 2's bank is untouched.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let r = patch(&app, &id, &t1, json!({"action": "end_turn"})).await;
    assert_eq!(r.status(), 200);
    let b: Value = r.json().await.unwrap();
    let clock = &b["battle"]["clock"];
    let spent = clock["players"][0]["phase_time_ms"]["command"]
        .as_i64()
        .unwrap();
    assert!(spent >= 500, "{clock}");
    // The whole turn was charged to player 1's bank, exactly.
    let bank1 = (3000 - spent + 999) / 1000; // shown rounded up
    assert_eq!(clock["players"][0]["bank_remaining"], bank1, "{clock}");
    // Player 2's turn has just begun (the response is rendered a moment later).
    let bank2 = clock["players"][1]["bank_remaining"].as_i64().unwrap();
    assert_eq!(bank2, 3, "{clock}");
    assert_eq!(b["battle"]["current_turn"]["player_id"], u2["id"]);

    // Player 2's timer_update shows both banks; then the bank runs out.
    loop {
        let t = next_json(&mut ws, "timer_update").await;
        if t["current_turn"]["player_id"] == u2["id"] {
            assert_eq!(t["banks"][u1["id"].as_str().unwrap()], bank1, "{t}");
            break;
        }
    }
    let to = next_json(&mut ws, "turn_timeout").await;
    assert_eq!(to["reason"], "bank_exhausted");
    assert_eq!(to["current_turn"]["player_id"], u2["id"]);
    assert_eq!(to["current_turn"]["time_remaining"], 0);
    let g: Value = app
        .get_auth(&format!("/v1/battles/{id}"), &t2)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(g["battle"]["clock"]["players"][1]["bank_remaining"], 0);
    assert_eq!(g["battle"]["clock"]["players"][0]["bank_remaining"], bank1);
    // The timeout is recorded in the timeline (checkpoints commit just after publishing).
    let mut recorded = false;
    for _ in 0..40 {
        let ev: Value = app
            .get_auth(&format!("/v1/battles/{id}/events"), &t1)
            .await
            .json()
            .await
            .unwrap();
        recorded = ev["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "battle.turn_timeout");
        if recorded {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(recorded, "turn_timeout in the battle's events");
}

/// A battle in setup and a token allowed to watch it.
async fn watched_battle(app: &TestApp) -> (String, String) {
    let ((u1, t1), (u2, _), armies) = two_players(app, "mike", "november").await;
    let r = app
        .post_auth(
            "/v1/battles",
            &t1,
            &json!({"players": [
        {"user_id": u1["id"], "army_id": armies[0]}, {"user_id": u2["id"], "army_id": armies[1]}]}),
        )
        .await;
    let id = r.json::<Value>().await.unwrap()["battle"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    (id, t1)
}

fn heartbeat_app(c: &mut warroom::config::Config) {
    c.ws_ping_interval = Duration::from_millis(100);
    c.ws_pong_timeout = Duration::from_millis(200);
    // One slot per user: a new connection only succeeds once the server dropped the old one.
    c.rate_limits.v1_ws_per_user = 1;
}

#[tokio::test]
async fn tracker_ws_heartbeat_drops_a_peer_that_never_answers_pings() {
    let app = spawn_app_with(heartbeat_app).await;
    let (id, token) = watched_battle(&app).await;
    // A raw TCP client: a valid handshake, then it neither reads nor answers anything.
    let mut tcp = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let req = format!(
        "GET /v1/ws/battles/{id}?token={token} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n",
        app.addr
    );
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut head = [0u8; 12];
    tcp.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 101", "handshake accepted");

    // While it holds its only slot, the same user is refused.
    let url = format!("ws://{}/v1/ws/battles/{id}?token={token}", app.addr);
    assert!(tokio_tungstenite::connect_async(&url).await.is_err());

    // After ping interval + timeout (300 ms) the server closes it: a close frame, then EOF.
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut rest))
        .await
        .expect("the server closes a silent peer")
        .unwrap();
    let text = String::from_utf8_lossy(&rest);
    assert!(
        text.contains("heartbeat timeout"),
        "close reason sent: {text:?}"
    );

    // The slot was released.
    let (mut ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    next_json(&mut ws, "connected").await;
}

#[tokio::test]
async fn tracker_ws_heartbeat_keeps_a_peer_that_answers() {
    let app = spawn_app_with(heartbeat_app).await;
    let (id, token) = watched_battle(&app).await;
    let url = format!("ws://{}/v1/ws/battles/{id}?token={token}", app.addr);
    let (mut ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    next_json(&mut ws, "connected").await;
    // tungstenite answers each ping with a pong as long as it is read; read for 10 timeouts.
    let mut pings = 0;
    let until = tokio::time::Instant::now() + Duration::from_secs(2);
    while let Ok(m) = tokio::time::timeout_at(until, ws.next()).await {
        match m.expect("still open").expect("no error") {
            Message::Ping(_) => pings += 1,
            Message::Close(c) => panic!("closed a live peer: {c:?}"),
            _ => {}
        }
    }
    assert!(
        pings >= 10,
        "the server pings on its interval ({pings} pings)"
    );
    ws.send(Message::Text(r#"{"type":"ping"}"#.into()))
        .await
        .unwrap();
    next_json(&mut ws, "pong").await;
}

#[tokio::test]
async fn tracker_turn_time_before_a_graceful_restart_is_charged_and_downtime_is_not() {
    let mut app = spawn_app_with(|_| {}).await;
    let ((u1, t1), (u2, _), armies) = two_players(&app, "quebec", "romeo").await;
    let r = app
        .post_auth(
            "/v1/battles",
            &t1,
            &json!({"turn_time_limit": 600, "players": [
        {"user_id": u1["id"], "army_id": armies[0]}, {"user_id": u2["id"], "army_id": armies[1]}]}),
        )
        .await;
    let id = r.json::<Value>().await.unwrap()["battle"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        patch(&app, &id, &t1, json!({"action": "start"}))
            .await
            .status(),
        200
    );
    // 1.5 s of play with no change (running clocks checkpoint only every 10 s), then a
    // graceful stop: the stop checkpoints the battle, so those 1.5 s stay charged…
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // …and the 2 s of downtime are not.
    app.restart(Duration::from_secs(2)).await;
    let b: Value = app
        .get_auth(&format!("/v1/battles/{id}"), &t1)
        .await
        .json()
        .await
        .unwrap();
    let left = b["battle"]["current_turn"]["time_remaining"]
        .as_i64()
        .unwrap();
    assert!((597..=599).contains(&left), "time_remaining {left}");
}
