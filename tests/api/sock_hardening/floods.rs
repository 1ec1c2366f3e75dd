//! Point 8: connection floods. Sockets per user and per address are capped, an engine.io
//! session that never sends the Socket.IO `CONNECT` is dropped, and handshakes per address
//! are rate-limited on both transports.

use std::time::Duration;

use tokio_tungstenite::tungstenite::Error;

use super::{eio_close, eio_open, eventually, raw_socket};
use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn hardening_sio_sockets_capped_per_user() {
    // Default cap (10, as on /v1/ws).
    let app = spawn_app().await;
    let (_, token) = app.register_v2("flooder").await;
    let mut open = Vec::new();
    for i in 0..10 {
        let (reply, url) = raw_socket(&app, &token).await;
        assert!(reply.starts_with("40"), "socket {i}: {reply}");
        open.push(url);
    }
    let (reply, _) = raw_socket(&app, &token).await;
    assert!(
        reply.starts_with("44") && reply.contains("RATE_LIMITED") && reply.contains("user"),
        "the 11th socket gets a clear connect_error: {reply}"
    );
    // Someone else is not affected.
    let (_, other) = app.register_v2("bystander").await;
    assert!(raw_socket(&app, &other).await.0.starts_with("40"));
    // A closed socket gives its slot back.
    eio_close(&app, &open.pop().unwrap()).await;
    let again = eventually(Duration::from_secs(5), || async {
        let (reply, url) = raw_socket(&app, &token).await;
        reply.starts_with("40").then_some(url)
    })
    .await;
    assert!(again.is_some(), "slot freed on disconnect");
}

#[tokio::test]
async fn hardening_sio_handshake_that_never_connects_is_dropped() {
    let app = spawn_app_with(|c| c.sio_connect_timeout = Duration::from_millis(300)).await;
    let (status, url) = eio_open(&app).await.unwrap();
    assert_eq!(status, 200);
    // No CONNECT: long-poll until the server ends the session (a close packet, or the sid
    // is unknown). Without a connect timeout it would live on, answering pings.
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let r = app.http.get(&url).send().await.unwrap();
            let status = r.status().as_u16();
            let text = r.text().await.unwrap();
            if status != 200 || text.split('\u{1e}').any(|p| p == "1") {
                return (status, text);
            }
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "an engine.io session without CONNECT is dropped"
    );
}

#[tokio::test]
async fn hardening_sio_handshakes_and_sockets_bounded_per_ip() {
    let app = spawn_app_with(|c| {
        c.rate_limits.sio_handshakes_per_ip_per_min = 6;
        c.rate_limits.sio_per_ip = 2;
    })
    .await;
    let (_, t1) = app.register_v2("ipone").await;
    let (_, t2) = app.register_v2("iptwo").await;
    assert!(raw_socket(&app, &t1).await.0.starts_with("40"));
    assert!(raw_socket(&app, &t2).await.0.starts_with("40"));
    let (reply, _) = raw_socket(&app, &t2).await;
    assert!(
        reply.starts_with("44") && reply.contains("RATE_LIMITED") && reply.contains("address"),
        "the address holds its share of sockets: {reply}"
    );
    // Three handshakes so far; three more pass, then both transports refuse with 429.
    for _ in 0..3 {
        assert_eq!(eio_open(&app).await.unwrap().0, 200);
    }
    let (status, body) = eio_open(&app).await.unwrap();
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("RATE_LIMITED"), "{body}");
    let ws = format!("ws://{}/v2/ws/?EIO=4&transport=websocket", app.addr);
    match tokio_tungstenite::connect_async(ws).await {
        Err(Error::Http(r)) => {
            assert_eq!(r.status(), 429);
            assert!(r.headers().contains_key("x-request-id"));
        }
        other => panic!("expected 429, got {other:?}"),
    }
}
