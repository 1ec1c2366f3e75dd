//! Point 14 (sockets outlive bans and expiry) and the upgrade part of point 17 (WebSocket
//! upgrade refusals carry `X-Request-Id`).

use std::time::Duration;

use futures_util::StreamExt;
use rust_socketio::TransportType;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::{
    client::IntoClientRequest, protocol::frame::coding::CloseCode, Error, Message,
};
use warroom::auth::{AuthUser, JwtKeys, Role};

use super::{admin, raw_socket, session_ended, tracker_battle};
use crate::helpers::{spawn_app, spawn_app_with, TestApp};
use crate::realtime::{ping_until_pong, sio_client};
use crate::tracker::next_json;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

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

async fn watch(app: &TestApp, battle: &str, token: &str) -> Ws {
    let url = format!("ws://{}/v1/ws/battles/{battle}?token={token}", app.addr);
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    next_json(&mut ws, "connected").await;
    ws
}

/// A token for `user` that expires in `ttl_s` seconds, signed with the test server's key.
fn short_token(app: &TestApp, user: &Value, ttl_s: i64) -> String {
    let keys = JwtKeys::new(app.config.jwt_secret.as_ref().unwrap().as_bytes());
    let id = uuid::Uuid::parse_str(user["id"].as_str().unwrap()).unwrap();
    let now = chrono::Utc::now().timestamp();
    keys.issue(
        AuthUser {
            id,
            role: Role::Player,
        },
        now,
        ttl_s,
    )
}

#[tokio::test]
async fn hardening_ban_closes_v1_ws_and_socketio_at_once() {
    let app = spawn_app().await;
    let (battle, [(u1, t1), _]) = tracker_battle(&app, "banA", "banB").await;
    let boss = admin(&app, "warden").await;
    let mut ws = watch(&app, &battle, &t1).await;
    let (reply, sio) = raw_socket(&app, &t1).await;
    assert!(reply.starts_with("40"), "{reply}");

    let r = app
        .http
        .patch(app.url(&format!(
            "/v2/admin/users/{}/ban",
            u1["id"].as_str().unwrap()
        )))
        .bearer_auth(&boss)
        .json(&json!({"banned": true, "reason": "flooding"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        close_frame(&mut ws).await,
        (CloseCode::Policy, "account banned".into())
    );
    assert!(session_ended(&app, &sio).await, "socket.io socket dropped");
    let url = format!("ws://{}/v1/ws/battles/{battle}?token={t1}", app.addr);
    match tokio_tungstenite::connect_async(url).await {
        Err(Error::Http(r)) => assert_eq!(r.status(), 403),
        other => panic!("expected 403, got {other:?}"),
    }
}

#[tokio::test]
async fn hardening_expired_token_ends_sockets_and_cannot_queue() {
    let app = spawn_app().await;
    let (battle, _) = tracker_battle(&app, "expA", "expB").await;
    let (user, long) = app.register_v2("mayfly").await;
    let robots: Value = app
        .get_auth("/v2/users/me/robots", &long)
        .await
        .json()
        .await
        .unwrap();
    let robot = robots["data"][0]["user_robot_id"].as_str().unwrap();

    // /v1/ws: closed at expiry.
    let mut ws = watch(&app, &battle, &short_token(&app, &user, 3)).await;
    // Socket.IO (client library): told, then disconnected at expiry.
    let short = short_token(&app, &user, 3);
    let (client, mut rx) = sio_client(
        &app.base,
        Some(&short),
        None,
        TransportType::Polling,
        &["pong", "error"],
    )
    .await;
    ping_until_pong(&client, &mut rx).await;
    // Socket.IO (raw): once expired, its queue:join does not queue.
    let (reply, url) = raw_socket(&app, &short).await;
    assert!(reply.starts_with("40"), "{reply}");

    assert_eq!(
        close_frame(&mut ws).await,
        (CloseCode::Policy, "token expired".into())
    );
    let e = crate::battles::next(&mut rx, "error").await;
    assert_eq!(e["code"], "UNAUTHORIZED", "{e}");
    let join = json!(["queue:join", {"mode": "CASUAL", "robot_id": robot}]);
    let _ = app.http.post(&url).body(format!("42{join}")).send().await;
    assert!(session_ended(&app, &url).await, "expired socket dropped");
    let st: Value = app
        .get_auth("/v2/battles/queue/status", &long)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(st["status"], "IDLE", "an expired socket cannot queue");
}

#[tokio::test]
async fn hardening_ws_upgrade_errors_carry_request_id() {
    let app = spawn_app_with(|c| c.rate_limits.v1_ws_per_user = 0).await;
    let (battle, [(_, token), _]) = tracker_battle(&app, "ridA", "ridB").await;
    let ws = format!("ws://{}", app.addr);
    let cases = [
        (
            format!("{ws}/v1/ws/battles/{}?token={token}", uuid::Uuid::new_v4()),
            404,
        ),
        (format!("{ws}/v1/ws/battles/{battle}"), 401),
        (format!("{ws}/v1/ws/battles/{battle}?token=abc"), 401),
        (format!("{ws}/v1/ws/battles/not-a-uuid?token={token}"), 404),
        (format!("{ws}/v1/ws/battles/{battle}?token={token}"), 429),
        (format!("{ws}/nowhere"), 404),
    ];
    for (url, status) in cases {
        match tokio_tungstenite::connect_async(&url).await {
            Err(Error::Http(r)) => {
                assert_eq!(r.status(), status, "{url}");
                assert!(r.headers().contains_key("x-request-id"), "{url}");
            }
            other => panic!("{url}: expected {status}, got {other:?}"),
        }
    }
    // The v1 error body repeats the header's id.
    let r = app
        .http
        .get(app.url(&format!("/v1/ws/battles/{battle}?token=abc")))
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let rid = r.headers()["x-request-id"].to_str().unwrap().to_string();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["request_id"], rid.as_str());
    // A caller's own id is kept.
    let mut req = format!("{ws}/v1/ws/battles/{battle}")
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("x-request-id", "trace-me-123".parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Err(Error::Http(r)) => {
            assert_eq!(r.status(), 401);
            assert_eq!(r.headers()["x-request-id"], "trace-me-123");
        }
        other => panic!("expected 401, got {other:?}"),
    }
}
