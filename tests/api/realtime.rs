use std::time::Duration;

use futures_util::FutureExt;
use rust_socketio::{asynchronous::ClientBuilder, Payload, TransportType};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::helpers::spawn_app;

/// Connects a Socket.IO v4 client and collects named events into a channel.
pub async fn sio_client(
    base: &str,
    query_token: Option<&str>,
    auth_token: Option<&str>,
    transport: TransportType,
    events: &[&'static str],
) -> (
    rust_socketio::asynchronous::Client,
    mpsc::UnboundedReceiver<(String, Value)>,
) {
    let url = match query_token {
        Some(t) => format!("{base}/v2/ws/?token={t}"),
        None => format!("{base}/v2/ws/"),
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let mut b = ClientBuilder::new(url).transport_type(transport);
    if let Some(t) = auth_token {
        b = b.auth(json!({ "token": t }));
    }
    for ev in events {
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
                // rust_socketio reports its own transport hiccups as an `error` event with a
                // string payload; server `error` events are objects `{code, message}`.
                if name == "error" && v.is_string() {
                    return;
                }
                let _ = tx.send((name, v));
            }
            .boxed()
        });
    }
    (b.connect().await.expect("socket.io connect"), rx)
}

/// rust_socketio returns from `connect` before the server's CONNECT ack, and a server drops
/// events that precede it, so keep pinging until the first pong.
pub async fn ping_until_pong(
    client: &rust_socketio::asynchronous::Client,
    rx: &mut mpsc::UnboundedReceiver<(String, Value)>,
) {
    for _ in 0..50 {
        // An emit can fail while the client swaps transports (polling → websocket); retry.
        if client.emit("ping", json!({})).await.is_err() {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        if let Ok(Some((name, _v))) =
            tokio::time::timeout(Duration::from_millis(200), rx.recv()).await
        {
            assert_eq!(name, "pong", "{:?}", _v);
            return;
        }
    }
    panic!("no pong");
}

#[tokio::test]
async fn socketio_websocket_with_query_token() {
    let app = spawn_app().await;
    let (_, token) = app.register_v2("sockws").await;
    let (client, mut rx) = sio_client(
        &app.base,
        Some(&token),
        None,
        TransportType::Websocket,
        &["pong"],
    )
    .await;
    ping_until_pong(&client, &mut rx).await;
    client.disconnect().await.unwrap();
}

#[tokio::test]
async fn socketio_polling_with_auth_token() {
    let app = spawn_app().await;
    let (_, token) = app.register_v2("sockpoll").await;
    let (client, mut rx) = sio_client(
        &app.base,
        None,
        Some(&token),
        TransportType::Polling,
        &["pong"],
    )
    .await;
    ping_until_pong(&client, &mut rx).await;
    client.disconnect().await.unwrap();
}

#[tokio::test]
async fn socketio_polling_upgrades_to_websocket() {
    let app = spawn_app().await;
    let (_, token) = app.register_v2("sockup").await;
    let (client, mut rx) = sio_client(
        &app.base,
        Some(&token),
        None,
        TransportType::WebsocketUpgrade,
        &["pong"],
    )
    .await;
    ping_until_pong(&client, &mut rx).await;
    client.disconnect().await.unwrap();
}

/// Speaks engine.io polling by hand to see the exact `connect_error` packet.
async fn raw_connect(app: &crate::helpers::TestApp, query: &str, auth: Value) -> String {
    let open = app
        .http
        .get(app.url(&format!("/v2/ws/?EIO=4&transport=polling{query}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(open.starts_with('0'), "{open}");
    let sid = serde_json::from_str::<Value>(&open[1..]).unwrap()["sid"]
        .as_str()
        .unwrap()
        .to_string();
    let url = app.url(&format!("/v2/ws/?EIO=4&transport=polling&sid={sid}{query}"));
    let r = app
        .http
        .post(&url)
        .body(format!("40{auth}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Skip engine.io pings ("2") that may share the payload (packets are split by 0x1e).
    loop {
        let text = app
            .http
            .get(&url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if let Some(p) = text.split('\u{1e}').find(|p| p.starts_with('4')) {
            return p.to_string();
        }
    }
}

#[tokio::test]
async fn socketio_refuses_bad_tokens_with_connect_error() {
    let app = spawn_app().await;
    let (_, token) = app.register_v2("sockbad").await;
    let reply = raw_connect(&app, "&token=garbage", json!({})).await;
    assert!(reply.starts_with("44"), "{reply}");
    assert!(reply.contains("UNAUTHORIZED"), "{reply}");
    let reply = raw_connect(&app, "", json!({})).await;
    assert!(
        reply.starts_with("44") && reply.contains("UNAUTHORIZED"),
        "{reply}"
    );
    // Control: a good token in auth connects (`40` with a sid).
    let reply = raw_connect(&app, "", json!({"token": token})).await;
    assert!(reply.starts_with("40"), "{reply}");
}

#[tokio::test]
async fn v1_battle_websocket_refuses_unknown_battles_and_bad_tokens() {
    use tokio_tungstenite::tungstenite::Error;
    let app = spawn_app().await;
    let (_, token, _) = app.register_v1("viewer").await;
    let ws = format!("ws://{}", app.addr);
    let id = uuid::Uuid::new_v4();
    match tokio_tungstenite::connect_async(format!("{ws}/v1/ws/battles/{id}?token={token}")).await {
        Err(Error::Http(r)) => assert_eq!(r.status(), 404),
        other => panic!("expected 404, got {other:?}"),
    }
    match tokio_tungstenite::connect_async(format!("{ws}/v1/ws/battles/{id}")).await {
        Err(Error::Http(r)) => assert_eq!(r.status(), 401),
        other => panic!("expected 401, got {other:?}"),
    }
    match tokio_tungstenite::connect_async(format!("{ws}/v1/ws/battles/{id}?token=abc")).await {
        Err(Error::Http(r)) => assert_eq!(r.status(), 401),
        other => panic!("expected 401, got {other:?}"),
    }
    match tokio_tungstenite::connect_async(format!("{ws}/nowhere")).await {
        Err(Error::Http(r)) => assert_eq!(r.status(), 404),
        other => panic!("expected 404, got {other:?}"),
    }
}
