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

/// A client's copy of the top 100, kept from `leaderboard:updated` deltas only.
#[derive(Default)]
struct Top(Vec<Value>);

impl Top {
    fn apply(&mut self, d: &Value) {
        for row in d["entries"].as_array().unwrap() {
            let at = row["rank"].as_u64().unwrap() as usize - 1;
            assert!(at <= self.0.len(), "a delta left a gap: {d}");
            if at == self.0.len() {
                self.0.push(row.clone());
            } else {
                self.0[at] = row.clone();
            }
        }
        self.0.truncate(d["total"].as_u64().unwrap() as usize);
    }

    fn names(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|r| r["username"].as_str().unwrap().to_string())
            .collect()
    }

    /// Applies deltas until the copy lists `want` (deltas may come from a refresh or from the
    /// actor's sync of the ratings table, whichever sees a change first).
    async fn until(&mut self, rx: &mut Events, want: &[&str]) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, rx.recv()).await {
                Ok(Some((n, d))) if n == "leaderboard:updated" => {
                    assert_eq!(
                        (d["season"].as_i64(), d["mode"].as_str()),
                        (Some(1), Some("RANKED"))
                    );
                    self.apply(&d);
                    if self.names() == want {
                        return d;
                    }
                }
                Ok(Some(_)) => continue,
                _ => panic!("top never became {want:?}, got {:?}", self.names()),
            }
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
    let (client, mut rx) = socket(&app, &token).await;
    assert_eq!(
        emit_acked(&client, "leaderboard:join").await["joined"],
        true
    );
    let mut top = Top::default();

    // New ratings rows, then a rebuild: the room learns the new top.
    rate(&db, &a, 1, "RANKED", 1600.0, 2, 0).await;
    rate(&db, &b, 1, "RANKED", 1500.0, 0, 2).await;
    refresh(&app, &admin).await;
    top.until(&mut rx, &["alice", "bob"]).await;

    // A rename of a top-100 player is a one-row delta.
    let (s, _) = patch(&app, &token, json!({"username": "alice_v2"})).await;
    assert_eq!(s, 200);
    let d = top.until(&mut rx, &["alice_v2", "bob"]).await;
    assert_eq!(
        d["entries"],
        json!([{"rank": 1, "user_id": a, "username": "alice_v2", "avatar_url": "/avatars/default.png",
            "level": 1, "rating": 1600, "wins": 2, "losses": 0, "win_rate": 100.0}])
    );

    // Bob overtakes alice in the database (as settlement writes it); no refresh: the actor's
    // sync of the ratings table picks it up within a second or so.
    let now = chrono::Utc::now().timestamp_millis();
    exec(
        &db,
        "UPDATE ratings SET rating = 1700, wins = 1, updated_at = $1 WHERE user_id = $2",
        &[json!(now), json!(b)],
    )
    .await;
    top.until(&mut rx, &["bob", "alice_v2"]).await;
    assert_eq!(top.0[0]["wins"], 1);
    let (_, board) = get_json(&app, "/v2/leaderboard", &token).await;
    assert_eq!(names(&board), vec!["bob", "alice_v2"]);

    // After leaving, nothing more arrives.
    assert_eq!(
        emit_acked(&client, "leaderboard:leave").await["joined"],
        false
    );
    exec(
        &db,
        "UPDATE ratings SET rating = 1400, updated_at = $1 WHERE user_id = $2",
        &[json!(now + 1), json!(b)],
    )
    .await;
    refresh(&app, &admin).await;
    let quiet = tokio::time::timeout(Duration::from_millis(1500), async {
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
    let (_, board) = get_json(&app, "/v2/leaderboard", &token).await;
    assert_eq!(names(&board), vec!["alice_v2", "bob"]);
    client.disconnect().await.unwrap();
}
