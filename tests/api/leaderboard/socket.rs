//! The `leaderboard` Socket.IO room: join/leave with acks, top-100 deltas.

use std::time::Duration;

use futures_util::FutureExt;
use rust_socketio::{asynchronous::ClientBuilder, Payload, TransportType};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::support::*;
use crate::helpers::TestApp;

type Events = mpsc::UnboundedReceiver<(String, Value)>;

async fn socket(app: &TestApp, token: &str) -> (rust_socketio::asynchronous::Client, Events) {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut b = ClientBuilder::new(format!("{}/v2/ws/?token={token}", app.base))
        .transport_type(TransportType::Websocket);
    for ev in ["pong", "leaderboard:updated"] {
        let tx = tx.clone();
        b = b.on(ev, move |payload, _| {
            let tx = tx.clone();
            async move {
                if let Payload::Text(mut v) = payload {
                    let _ = tx.send((ev.to_string(), v.pop().unwrap_or(Value::Null)));
                }
            }
            .boxed()
        });
    }
    let client = b.connect().await.expect("socket.io connect");
    // rust_socketio emits before the CONNECT ack; the server drops those, so ping until pong.
    let mut rx = rx;
    for _ in 0..50 {
        client.emit("ping", json!({})).await.unwrap();
        if let Ok(Some((name, _))) =
            tokio::time::timeout(Duration::from_millis(200), rx.recv()).await
        {
            assert_eq!(name, "pong");
            return (client, rx);
        }
    }
    panic!("no pong");
}

/// Emits `event` with an ack and waits for the ack.
async fn emit_acked(client: &rust_socketio::asynchronous::Client, event: &str) -> Value {
    let (tx, mut rx) = mpsc::unbounded_channel();
    client
        .emit_with_ack(
            event,
            json!({}),
            Duration::from_secs(5),
            move |p: Payload, _| {
                let tx = tx.clone();
                async move {
                    // rust_socketio hands ack arguments over as one JSON array.
                    if let Payload::Text(mut v) = p {
                        let v = match v.pop() {
                            Some(Value::Array(mut args)) => args.pop(),
                            other => other,
                        };
                        let _ = tx.send(v.unwrap_or(Value::Null));
                    }
                }
                .boxed()
            },
        )
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("ack")
        .unwrap()
}

async fn next_update(rx: &mut Events) -> Value {
    loop {
        let (name, v) = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("leaderboard:updated")
            .unwrap();
        if name == "leaderboard:updated" {
            return v;
        }
    }
}

#[tokio::test]
async fn leaderboard_socket_room_gets_top_100_deltas() {
    let app = app().await;
    let db = pool(&app).await;
    let (alice, token) = app.register_v2("alice").await;
    let a = alice["id"].as_str().unwrap().to_string();
    let admin = admin_token(&app, &db, "boss").await;
    let b = insert_user(&db, "bob").await;
    rate(&db, &a, 1, "RANKED", 1600.0, 2, 0).await;
    rate(&db, &b, 1, "RANKED", 1500.0, 0, 2).await;

    let (client, mut rx) = socket(&app, &token).await;
    assert_eq!(
        emit_acked(&client, "leaderboard:join").await["joined"],
        true
    );
    // A rebuild that changes the top 100 pushes the changed rows.
    refresh(&app, &admin).await;
    let d = next_update(&mut rx).await;
    assert_eq!(
        (
            d["season"].as_i64(),
            d["mode"].as_str(),
            d["total"].as_i64()
        ),
        (Some(1), Some("RANKED"), Some(2))
    );
    assert_eq!(
        (
            names(&json!({"data": d["entries"]})),
            ranks(&json!({"data": d["entries"]}))
        ),
        (vec!["alice".to_string(), "bob".into()], vec![1, 2])
    );

    // A rename of a top-100 player is a one-row delta.
    let (s, _) = patch(&app, &token, json!({"username": "alice_v2"})).await;
    assert_eq!(s, 200);
    let d = next_update(&mut rx).await;
    assert_eq!(
        d["entries"],
        json!([{"rank": 1, "user_id": a, "username": "alice_v2", "avatar_url": "/avatars/default.png",
        "level": 1, "rating": 1600, "wins": 2, "losses": 0, "win_rate": 100.0}])
    );
    // Bob overtakes alice (written to SQL, then rebuilt): both rows change.
    exec(
        &db,
        "UPDATE ratings SET rating = 1700 WHERE user_id = $1",
        &[json!(b)],
    )
    .await;
    refresh(&app, &admin).await;
    let d = next_update(&mut rx).await;
    assert_eq!(ranks(&json!({"data": d["entries"]})), vec![1, 2]);
    assert_eq!(d["entries"][0]["username"], "bob");

    // After leaving, nothing more arrives.
    assert_eq!(
        emit_acked(&client, "leaderboard:leave").await["joined"],
        false
    );
    exec(
        &db,
        "UPDATE ratings SET rating = 1400 WHERE user_id = $1",
        &[json!(b)],
    )
    .await;
    refresh(&app, &admin).await;
    let quiet = tokio::time::timeout(Duration::from_millis(500), async {
        loop {
            if let Some((n, _)) = rx.recv().await {
                if n == "leaderboard:updated" {
                    return;
                }
            }
        }
    })
    .await;
    assert!(quiet.is_err(), "no delta after leaving");
    client.disconnect().await.unwrap();
}
