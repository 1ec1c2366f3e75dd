//! Robot battles over Socket.IO v4 with real clients: queue, match, ready, ticks, end,
//! replay, spectators, reconnects, wagers and errors.

use std::time::Duration;

use rust_socketio::{asynchronous::Client, TransportType};
use serde_json::{json, Value};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::helpers::{spawn_app_with, TestApp};
use crate::realtime::{ping_until_pong, sio_client};

pub const EVENTS: &[&str] = &[
    "pong",
    "error",
    "queue:joined",
    "queue:matched",
    "queue:updated",
    "battle:starting",
    "battle:tick",
    "battle:tick_batch",
    "battle:ended",
    "balance:updated",
    "battle:emote_received",
    "queue:size",
];

pub type Rx = UnboundedReceiver<(String, Value)>;

async fn fast_app() -> TestApp {
    spawn_app_with(|c| {
        c.tick = Duration::from_millis(50);
        // Long countdown: battles start only because both players say ready.
        c.countdown = Duration::from_secs(60);
    })
    .await
}

pub async fn player(app: &TestApp, name: &str) -> (String, String, String, Client, Rx) {
    player_with(app, name, EVENTS).await
}

/// Registers `name`, finds its first robot, connects a Socket.IO client listening to
/// `events` and waits for its first pong: `(user id, token, user_robot_id, client, events)`.
pub async fn player_with(
    app: &TestApp,
    name: &str,
    events: &[&'static str],
) -> (String, String, String, Client, Rx) {
    let (user, token) = app.register_v2(name).await;
    let mine: Value = app
        .get_auth("/v2/users/me/robots", &token)
        .await
        .json()
        .await
        .unwrap();
    let robot = mine["data"][0]["user_robot_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (client, mut rx) = sio_client(
        &app.base,
        Some(&token),
        None,
        TransportType::Websocket,
        events,
    )
    .await;
    ping_until_pong(&client, &mut rx).await;
    (
        user["id"].as_str().unwrap().to_string(),
        token,
        robot,
        client,
        rx,
    )
}

/// Waits for the next event called `name`, skipping others.
pub async fn next(rx: &mut Rx, name: &str) -> Value {
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

/// Both players queue with `join` (each with its own `robot_id`), get matched and say
/// ready; returns the battle id.
pub async fn match_and_ready(
    (a, a_rx, a_robot): (&Client, &mut Rx, &str),
    (b, b_rx, b_robot): (&Client, &mut Rx, &str),
    join: Value,
) -> String {
    for (c, robot) in [(a, a_robot), (b, b_robot)] {
        let mut req = join.clone();
        req["robot_id"] = robot.into();
        c.emit("queue:join", req).await.unwrap();
    }
    let battle = next(a_rx, "queue:matched").await["battle_id"]
        .as_str()
        .unwrap()
        .to_string();
    next(b_rx, "queue:matched").await;
    for c in [a, b] {
        c.emit("battle:ready", json!({"battle_id": battle}))
            .await
            .unwrap();
    }
    battle
}

/// Collects tick numbers (from ticks and batches) until `battle:ended`; returns them and
/// the end event.
pub async fn ticks_until_end(rx: &mut Rx) -> (Vec<Value>, Value) {
    let mut ticks = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some((n, v))) if n == "battle:tick" => ticks.push(v),
            Ok(Some((n, v))) if n == "battle:tick_batch" => {
                ticks.extend(v["ticks"].as_array().unwrap().iter().cloned())
            }
            Ok(Some((n, v))) if n == "battle:ended" => return (ticks, v),
            Ok(Some(_)) => continue,
            _ => panic!("battle did not end"),
        }
    }
}

pub fn numbers(ticks: &[Value]) -> Vec<u64> {
    ticks.iter().map(|t| t["tick"].as_u64().unwrap()).collect()
}

#[tokio::test]
async fn ranked_battle_end_to_end_with_wager_replay_and_spectator() {
    let app = fast_app().await;
    let (a_id, a_tok, a_robot, a, mut a_rx) = player(&app, "pilotA").await;
    let (b_id, b_tok, b_robot, b, mut b_rx) = player(&app, "pilotB").await;
    let (_, _, _, spec, mut s_rx) = player(&app, "watcher").await;

    // A queues over REST, B over Socket.IO.
    let r = app
        .post_auth(
            "/v2/battles/queue",
            &a_tok,
            &json!({"mode": "RANKED", "robot_id": a_robot, "gmo_wager": 100}),
        )
        .await;
    assert_eq!(r.status(), 202);
    let body: Value = r.json().await.unwrap();
    assert!(body["queue_id"].is_string() && body["estimated_wait_s"].is_u64());
    let r = app
        .post_auth(
            "/v2/battles/queue",
            &a_tok,
            &json!({"mode": "CASUAL", "robot_id": a_robot}),
        )
        .await;
    assert_eq!(r.status(), 409);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "ALREADY_IN_QUEUE"
    );
    let st: Value = app
        .get_auth("/v2/battles/queue/status", &a_tok)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(st["status"], "WAITING");
    assert_eq!(st["position"], 1);
    assert!(st["rating_range"].as_u64().unwrap() >= 100);
    b.emit(
        "queue:join",
        json!({"mode": "RANKED", "robot_id": b_robot, "gmo_wager": 100}),
    )
    .await
    .unwrap();

    let ma = next(&mut a_rx, "queue:matched").await;
    let mb = next(&mut b_rx, "queue:matched").await;
    let battle = ma["battle_id"].as_str().unwrap().to_string();
    assert_eq!(mb["battle_id"], battle.as_str());
    assert_eq!(ma["opponent"]["username"], "pilotB");
    let r = app
        .post_auth(
            "/v2/battles/queue",
            &a_tok,
            &json!({"mode": "RANKED", "robot_id": a_robot}),
        )
        .await;
    assert_eq!(r.status(), 409);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "BATTLE_IN_PROGRESS"
    );
    let starting = next(&mut a_rx, "battle:starting").await;
    assert_eq!(starting["battle_id"], battle.as_str());

    // A stranger cannot ready it; both players can, and that starts it before the countdown.
    spec.emit("battle:ready", json!({"battle_id": battle}))
        .await
        .unwrap();
    assert_eq!(next(&mut s_rx, "error").await["code"], "FORBIDDEN");
    a.emit("battle:ready", json!({"battle_id": battle}))
        .await
        .unwrap();
    b.emit("battle:ready", json!({"battle_id": battle}))
        .await
        .unwrap();

    // The spectator joins once a few ticks have gone by: catch-up batch, then live ticks.
    let first = next(&mut a_rx, "battle:tick").await;
    assert_eq!(first["tick"], 1);
    assert_eq!(first["battle_id"], battle.as_str());
    assert!(
        first["ts"].is_i64() && first["lcg_state"].is_string() && first["p1_state"]["hp"].is_u64()
    );
    spec.emit("spectate:join", json!({"battle_id": battle}))
        .await
        .unwrap();

    let (mut a_ticks, a_end) = ticks_until_end(&mut a_rx).await;
    a_ticks.insert(0, first);
    let (_, b_end) = ticks_until_end(&mut b_rx).await;
    let (s_ticks, s_end) = ticks_until_end(&mut s_rx).await;
    let n = a_ticks.len() as u64;
    assert_eq!(
        numbers(&a_ticks),
        (1..=n).collect::<Vec<_>>(),
        "players get every tick once, in order"
    );
    assert_eq!(
        numbers(&s_ticks),
        (1..=n).collect::<Vec<_>>(),
        "spectator: batch + live, no gap, no duplicate"
    );
    assert_eq!(a_end["total_ticks"], n);
    assert_eq!(s_end["total_ticks"], n);

    // Wager: winner +90 net on 100, loser −100; a draw refunds.
    let (da, db) = (
        a_end["gmo_delta"].as_i64().unwrap(),
        b_end["gmo_delta"].as_i64().unwrap(),
    );
    match a_end["winner_id"].as_str() {
        Some(w) if w == a_id => assert_eq!((da, db), (90, -100)),
        Some(w) if w == b_id => assert_eq!((da, db), (-100, 90)),
        _ => assert_eq!((da, db), (0, 0)),
    }
    if a_end["is_draw"] == false {
        assert!(
            a_end["rating_delta"].as_f64().unwrap() != 0.0,
            "ranked moves ratings"
        );
        assert!(
            a_end["rating_delta"].as_f64().unwrap() * b_end["rating_delta"].as_f64().unwrap() < 0.0
        );
    }

    // Stored record and replay equal to what was played live.
    let rec: Value = app
        .get_auth(&format!("/v2/battles/{battle}"), &a_tok)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rec["status"], "COMPLETED");
    assert_eq!(rec["total_ticks"], n);
    assert_eq!(rec["gmo_wagered"], 100);
    assert_eq!(rec["player1"]["username"], "pilotA");
    let rep: Value = app
        .get_auth(&format!("/v2/battles/{battle}/replay"), &b_tok)
        .await
        .json()
        .await
        .unwrap();
    let replay = rep["ticks"].as_array().unwrap();
    assert_eq!(replay.len() as u64, n);
    for (live, re) in a_ticks.iter().zip(replay) {
        assert_eq!(live["tick"], re["tick"]);
        // Live ticks carry the spec's names once; the replay keeps its own p1/p2 shape.
        assert_eq!(live["p1_state"], re["p1"]);
        assert_eq!(live["p2_state"], re["p2"]);
        assert!(
            live.get("p1").is_none() && live.get("p2").is_none(),
            "{live}"
        );
        assert_eq!(live["lcg_state"], re["lcg_state"]);
        assert_eq!(live["biome_event"], re["biome_event"]);
    }
    assert_eq!(rep["lcg_seed"], rec["lcg_seed"]);

    // History lists it for both players; the battle no longer blocks queueing.
    let h: Value = app
        .get_auth(&format!("/v2/battles?user_id={b_id}&mode=RANKED"), &a_tok)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(h["total"], 1);
    assert_eq!(
        app.get_auth("/v2/battles?mode=SOLO", &a_tok).await.status(),
        400
    );
    let r = app
        .post_auth(
            "/v2/battles/queue",
            &a_tok,
            &json!({"mode": "CASUAL", "robot_id": a_robot}),
        )
        .await;
    assert_eq!(r.status(), 202);
    let r = app
        .http
        .delete(app.url("/v2/battles/queue"))
        .bearer_auth(&a_tok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
}

#[tokio::test]
async fn reconnect_with_since_tick_misses_and_repeats_nothing() {
    // Slower ticks: the battle must outlast B's reconnect even on a loaded machine.
    let app = spawn_app_with(|c| {
        c.tick = Duration::from_millis(100);
        c.countdown = Duration::from_secs(60);
    })
    .await;
    let (_, _, a_robot, a, mut a_rx) = player(&app, "recoA").await;
    let (_, tok, b_robot, b, mut b_rx) = player(&app, "recoB").await;
    let battle = match_and_ready(
        (&a, &mut a_rx, &a_robot),
        (&b, &mut b_rx, &b_robot),
        json!({"mode": "CASUAL"}),
    )
    .await;

    // B sees a few ticks, drops, and comes back on a new connection with since_tick.
    let mut seen = Vec::new();
    while seen.len() < 3 {
        seen.push(next(&mut b_rx, "battle:tick").await);
    }
    b.disconnect().await.unwrap();
    let last = seen.last().unwrap()["tick"].as_u64().unwrap();
    let (b2, mut b2_rx) =
        sio_client(&app.base, Some(&tok), None, TransportType::Polling, EVENTS).await;
    ping_until_pong(&b2, &mut b2_rx).await;
    b2.emit(
        "battle:join",
        json!({"battle_id": battle, "since_tick": last}),
    )
    .await
    .unwrap();
    let (rest, end) = ticks_until_end(&mut b2_rx).await;
    seen.extend(rest);
    let n = end["total_ticks"].as_u64().unwrap();
    assert_eq!(numbers(&seen), (1..=n).collect::<Vec<_>>());
    let _ = a;
}

#[tokio::test]
async fn bad_payloads_get_error_events_and_the_socket_stays_up() {
    let app = fast_app().await;
    let (_, _, robot, a, mut rx) = player(&app, "sloppy").await;
    a.emit("battle:join", json!({})).await.unwrap();
    assert_eq!(next(&mut rx, "error").await["code"], "VALIDATION_ERROR");
    a.emit("battle:join", json!({"battle_id": "not-a-uuid"}))
        .await
        .unwrap();
    assert_eq!(next(&mut rx, "error").await["code"], "VALIDATION_ERROR");
    a.emit(
        "spectate:join",
        json!({"battle_id": "00000000-0000-0000-0000-000000000000"}),
    )
    .await
    .unwrap();
    assert_eq!(next(&mut rx, "error").await["code"], "NOT_FOUND");
    a.emit(
        "queue:join",
        json!({"mode": "DEATHMATCH", "robot_id": robot}),
    )
    .await
    .unwrap();
    assert_eq!(next(&mut rx, "error").await["code"], "VALIDATION_ERROR");
    a.emit(
        "queue:join",
        json!({"mode": "RANKED", "robot_id": robot, "gmo_wager": 5000}),
    )
    .await
    .unwrap();
    assert_eq!(next(&mut rx, "error").await["code"], "INSUFFICIENT_GMO");
    a.emit("queue:join", "just a string").await.unwrap();
    assert_eq!(next(&mut rx, "error").await["code"], "VALIDATION_ERROR");
    a.emit(
        "battle:emote",
        json!({"battle_id": "00000000-0000-0000-0000-000000000000", "emote_id": "<script>"}),
    )
    .await
    .unwrap();
    assert_eq!(next(&mut rx, "error").await["code"], "VALIDATION_ERROR");
    // Still connected.
    ping_until_pong(&a, &mut rx).await;
}

#[tokio::test]
async fn a_battle_in_progress_resumes_after_a_restart() {
    const TICK_MS: u64 = 300;
    let mut app = spawn_app_with(|c| {
        // Slow enough that the battle outlives the restart and the reconnect on a busy box.
        c.tick = Duration::from_millis(TICK_MS);
        c.countdown = Duration::from_secs(60);
    })
    .await;
    let (_, a_tok, a_robot, a, mut a_rx) = player(&app, "restartA").await;
    let (_, _, b_robot, b, mut b_rx) = player(&app, "restartB").await;
    let battle = match_and_ready(
        (&a, &mut a_rx, &a_robot),
        (&b, &mut b_rx, &b_robot),
        json!({"mode": "RANKED", "gmo_wager": 50}),
    )
    .await;
    let mut seen = Vec::new();
    while seen.len() < 3 {
        seen.push(next(&mut a_rx, "battle:tick").await);
    }
    // Down for several ticks: nothing is stored per tick, the battle goes on by wall clock.
    app.restart(Duration::from_millis(3 * TICK_MS)).await;

    // The same signing key survives the restart, so the old token still works.
    let tok = a_tok.clone();
    let (a2, mut a2_rx) = sio_client(
        &app.base,
        Some(&tok),
        None,
        TransportType::Websocket,
        EVENTS,
    )
    .await;
    ping_until_pong(&a2, &mut a2_rx).await;
    let last = seen.last().unwrap()["tick"].as_u64().unwrap();
    a2.emit(
        "battle:join",
        json!({"battle_id": battle, "since_tick": last}),
    )
    .await
    .unwrap();
    let (rest, end) = ticks_until_end(&mut a2_rx).await;
    // Ticks replayed after the last checkpoint may repeat; none may be missing.
    let mut all = numbers(&seen);
    all.extend(numbers(&rest));
    all.dedup();
    let n = end["total_ticks"].as_u64().unwrap();
    assert_eq!(all, (1..=n).collect::<Vec<_>>());
    // Every tick after the restart is stamped when the wall clock says it was due (those
    // played at once on resume, at their due instants), not shifted by the downtime.
    let first = seen[0]["ts"].as_i64().unwrap();
    for t in &rest {
        let k = t["tick"].as_i64().unwrap();
        let expected = first + (k - 1) * TICK_MS as i64;
        let off = t["ts"].as_i64().unwrap() - expected;
        assert!(
            off.abs() <= 2 * TICK_MS as i64,
            "tick {k} is {off} ms off its due instant"
        );
    }
    // The resumed battle is the same battle: its replay verifies against the stored hash.
    let rep = app
        .get_auth(&format!("/v2/battles/{battle}/replay"), &tok)
        .await;
    assert_eq!(rep.status(), 200);
    let _ = (a_tok, a, b);
}

#[tokio::test]
async fn a_queued_player_who_disconnects_leaves_the_queue_after_the_grace_period() {
    let app = spawn_app_with(|c| {
        c.queue_grace = Duration::from_millis(300);
        // A short heartbeat, so a vanished transport is noticed quickly.
        c.sio_ping = (Duration::from_millis(300), Duration::from_millis(300));
    })
    .await;
    let (_, tok) = app.register_v2("flaky").await;
    let mine: Value = app
        .get_auth("/v2/users/me/robots", &tok)
        .await
        .json()
        .await
        .unwrap();
    let robot = mine["data"][0]["user_robot_id"]
        .as_str()
        .unwrap()
        .to_string();
    // Polling: rust_socketio's websocket transport sometimes abandons its first connection
    // and reconnects, leaving the server a second, still-answering socket for this user.
    let (a, mut rx) = sio_client(&app.base, Some(&tok), None, TransportType::Polling, EVENTS).await;
    ping_until_pong(&a, &mut rx).await;
    a.emit("queue:join", json!({"mode": "CASUAL", "robot_id": robot}))
        .await
        .unwrap();
    // The queued socket is in the pool channel `queue:CASUAL` (the size goes out first).
    let size = next(&mut rx, "queue:size").await;
    assert_eq!(
        (size["mode"].as_str(), size["waiting"].as_u64()),
        (Some("CASUAL"), Some(1))
    );
    assert_eq!(next(&mut rx, "queue:updated").await["position"], 1);
    let st: Value = app
        .get_auth("/v2/battles/queue/status", &tok)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(st["status"], "WAITING");
    a.disconnect().await.unwrap();
    // Poll the public status until the session actor's grace timer has fired.
    let mut status = Value::Null;
    for _ in 0..100 {
        status = app
            .get_auth("/v2/battles/queue/status", &tok)
            .await
            .json::<Value>()
            .await
            .unwrap()["status"]
            .clone();
        if status == "IDLE" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, "IDLE");
}

#[tokio::test]
async fn a_spectator_joining_during_the_countdown_is_told_how_long_is_left() {
    let app = fast_app().await;
    let (_, _, a_robot, a, mut a_rx) = player(&app, "countA").await;
    let (_, _, b_robot, b, _b_rx) = player(&app, "countB").await;
    let (_, _, _, spec, mut s_rx) = player(&app, "countWatcher").await;
    for (c, robot) in [(&a, &a_robot), (&b, &b_robot)] {
        c.emit("queue:join", json!({"mode": "CASUAL", "robot_id": robot}))
            .await
            .unwrap();
    }
    let battle = next(&mut a_rx, "queue:matched").await["battle_id"].clone();
    next(&mut a_rx, "battle:starting").await;
    spec.emit("spectate:join", json!({"battle_id": battle}))
        .await
        .unwrap();
    let batch = next(&mut s_rx, "battle:tick_batch").await;
    assert_eq!(batch["phase"], "COUNTDOWN");
    assert_eq!(batch["ticks"], json!([]));
    let left = batch["countdown_ms"]
        .as_u64()
        .expect("countdown_ms during the countdown");
    assert!(left > 0 && left <= 60_000, "{left}");
}
