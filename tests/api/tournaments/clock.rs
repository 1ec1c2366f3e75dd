//! The round clock: every table and the Socket.IO room `tournament:{id}` hear the round start
//! and its end.

use futures_util::FutureExt;
use rust_socketio::{asynchronous::ClientBuilder, Payload, TransportType};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::*;

/// A Socket.IO client in the room `tournament:{id}`, collecting the tournament's events.
async fn tournament_room(
    app: &TestApp,
    token: &str,
    id: &str,
) -> (
    rust_socketio::asynchronous::Client,
    mpsc::UnboundedReceiver<(String, Value)>,
) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut b = ClientBuilder::new(format!("{}/v2/ws/?token={token}", app.base))
        .transport_type(TransportType::Websocket);
    for ev in ["pong", "round_started", "round_time_up"] {
        let tx = tx.clone();
        b = b.on(ev, move |payload, _| {
            let tx = tx.clone();
            async move {
                let v = match payload {
                    Payload::Text(mut v) => v.pop().unwrap_or(Value::Null),
                    _ => Value::Null,
                };
                let _ = tx.send((ev.to_string(), v));
            }
            .boxed()
        });
    }
    let client = b.connect().await.expect("socket.io connect");
    // `connect` returns before the server's CONNECT ack: ping until the first pong, then join
    // and ping once more so the join is handled before the round starts.
    let mut ponged = false;
    for _ in 0..50 {
        client.emit("ping", json!({})).await.unwrap();
        if let Ok(Some((name, _))) =
            tokio::time::timeout(Duration::from_millis(200), rx.recv()).await
        {
            assert_eq!(name, "pong");
            ponged = true;
            break;
        }
    }
    assert!(ponged, "no pong");
    client
        .emit("tournament:join", json!({"tournament_id": id}))
        .await
        .unwrap();
    client.emit("ping", json!({})).await.unwrap();
    while rx.recv().await.map(|(n, _)| n) != Some("pong".into()) {}
    (client, rx)
}

async fn next_named(rx: &mut mpsc::UnboundedReceiver<(String, Value)>, name: &str) -> Value {
    loop {
        let (n, v) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("event in time")
            .expect("channel open");
        if n == name {
            return v;
        }
    }
}

#[tokio::test]
async fn round_clock_announces_the_end_to_tables_and_the_tournament_room() {
    let app = spawn_app().await;
    let (_, org) = organizer(&app, "orgj").await;
    let (id, ps) = field(&app, &org, "swiss", 4, json!({"time_limit": 2})).await;
    let (client, mut room) = tournament_room(&app, &ps[1].token, &id).await;
    let round: Value = generate(&app, &org, &id).await.json().await.unwrap();
    let pairings = round["round"]["pairings"].as_array().unwrap().clone();
    assert!(round["round"]["ends_at"].is_string());
    let mut socks = Vec::new();
    for p in &pairings {
        let mut s = ws(&app, &ps[0].token, p["battle_id"].as_str().unwrap()).await;
        next_of(&mut s, "connected").await;
        socks.push(s);
    }
    for s in &mut socks {
        let ev = next_of(s, "round_time_up").await;
        assert_eq!(ev["tournament_id"], json!(id));
        assert_eq!(ev["round"], 1);
    }
    let started = next_named(&mut room, "round_started").await;
    assert_eq!(started["round"], 1);
    let up = next_named(&mut room, "round_time_up").await;
    assert_eq!(up["tournament_id"], json!(id));
    let t = tournament(&app, &org, &id).await;
    assert!(t["rounds"][0]["started_at"].is_string());
    client.disconnect().await.unwrap();
}

#[tokio::test]
async fn round_clock_survives_a_restart() {
    let mut app = spawn_app().await;
    let (_, org) = organizer(&app, "orgk").await;
    let (id, ps) = field(
        &app,
        &org,
        "swiss",
        2,
        json!({"time_limit": 3, "rounds": 1}),
    )
    .await;
    let round: Value = generate(&app, &org, &id).await.json().await.unwrap();
    let battle = round["round"]["pairings"][0]["battle_id"]
        .as_str()
        .unwrap()
        .to_string();
    app.restart(Duration::ZERO).await;
    let mut s = ws(&app, &ps[0].token, &battle).await;
    next_of(&mut s, "connected").await;
    let ev = next_of(&mut s, "round_time_up").await;
    assert_eq!(ev["tournament_id"], json!(id));
    // Results still close the tournament after the restart.
    complete(&app, &org, &round["round"]["pairings"][0], &json!(ps[0].id)).await;
    let ev = next_of(&mut s, "tournament_completed").await;
    assert_eq!(ev["winner_id"], json!(ps[0].id));
}
