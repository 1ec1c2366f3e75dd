//! `POST /v2/auth/guest`: a read-only token that may read and spectate, and is refused by
//! every route and event that changes something.

use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use rust_socketio::{asynchronous::ClientBuilder, Payload, TransportType};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::guest_token;
use crate::helpers::{spawn_app, spawn_app_with};

/// Auth routes that take no bearer token at all (a guest token there means nothing).
const OPEN: &[&str] = &[
    "/v1/auth/register",
    "/v1/auth/login",
    "/v1/auth/refresh",
    "/v1/auth/logout",
    "/v2/auth/register",
    "/v2/auth/login",
    "/v2/auth/refresh",
    "/v2/auth/logout",
    "/v2/auth/guest",
];

#[tokio::test]
async fn guest_token_reads_but_every_mutating_route_refuses_it() {
    let app = spawn_app().await;
    let r = app
        .http
        .post(app.url("/v2/auth/guest"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["role"], "guest");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    let guest = body["access_token"].as_str().unwrap().to_string();

    // Reads work.
    for path in [
        "/v2/battles/live",
        "/v2/leaderboard",
        "/v1/tournaments",
        "/v1/factions",
        "/v2/robots",
    ] {
        let r = app.get_auth(path, &guest).await;
        assert_eq!(r.status(), 200, "GET {path}");
    }
    // A GET that writes does not.
    let r = app.get_auth("/v2/auth/wallet/nonce", &guest).await;
    assert_eq!(r.status(), 403);

    // Every non-GET route in the OpenAPI document refuses the guest token with 403.
    let doc: Value = app
        .http
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        doc["paths"]["/v2/auth/guest"]["post"].is_object(),
        "documented"
    );
    // Routes the document does not describe (yet) are listed by hand.
    let mut routes: Vec<(String, String)> = [
        ("post", "/v1/armies"),
        ("put", "/v1/armies/{id}"),
        ("delete", "/v1/armies/{id}"),
        ("post", "/v1/battles"),
        ("patch", "/v1/battles/{id}"),
        ("post", "/v1/battles/{id}/advance-round"),
        ("post", "/v1/battles/{id}/complete"),
    ]
    .iter()
    .map(|(m, p)| (m.to_string(), p.to_string()))
    .collect();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["post", "put", "patch", "delete"] {
            if item.get(method).is_some() && !OPEN.contains(&path.as_str()) {
                routes.push((method.to_string(), path.clone()));
            }
        }
    }
    for (method, path) in &routes {
        let concrete = fill_params(path);
        let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let r = app
            .http
            .request(m, app.url(&concrete))
            .bearer_auth(&guest)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        let status = r.status();
        let b: Value = r.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 403, "{method} {concrete}: {b}");
        let code = b["error"]["code"]
            .as_str()
            .or(b["error"].as_str())
            .unwrap_or_default();
        assert_eq!(code, "FORBIDDEN", "{method} {concrete}: {b}");
    }
    assert!(
        routes.len() >= 29,
        "only {} mutating routes checked",
        routes.len()
    );
}

fn fill_params(path: &str) -> String {
    let id = uuid::Uuid::new_v4().to_string();
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .map_or(rest.len(), |e| start + e + 1);
        out.push_str(&id);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn guest_socket_spectates_but_cannot_queue_ready_or_emote() {
    let app = spawn_app().await;
    let guest = guest_token(&app).await;
    let (tx, mut rx) = mpsc::unbounded_channel::<(String, Value)>();
    let mut b = ClientBuilder::new(format!("{}/v2/ws/?token={guest}", app.base))
        .transport_type(TransportType::Websocket);
    for ev in ["pong", "error", "queue:joined"] {
        let tx = tx.clone();
        b = b.on(ev, move |payload, _| {
            let tx = tx.clone();
            async move {
                if let Payload::Text(mut v) = payload {
                    let v = v.pop().unwrap_or(Value::Null);
                    if !v.is_string() {
                        let _ = tx.send((ev.to_string(), v));
                    }
                }
            }
            .boxed()
        });
    }
    let client = b.connect().await.expect("guest connects");
    // The CONNECT ack may trail `connect()`: ping until the first pong.
    let mut ok = false;
    for _ in 0..50 {
        if client.emit("ping", json!({})).await.is_ok() {
            if let Ok(Some((n, _))) =
                tokio::time::timeout(Duration::from_millis(200), rx.recv()).await
            {
                assert_eq!(n, "pong");
                ok = true;
                break;
            }
        }
    }
    assert!(ok, "no pong");
    let battle = uuid::Uuid::new_v4().to_string();
    let attempts = [
        ("queue:join", json!({"mode": "CASUAL"})),
        ("queue:leave", json!({})),
        ("battle:ready", json!({"battle_id": battle})),
        (
            "battle:emote",
            json!({"battle_id": battle, "emote_id": "gg"}),
        ),
    ];
    for (ev, payload) in attempts {
        client.emit(ev, payload).await.unwrap();
        let (n, v) = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap_or_else(|_| panic!("no answer to {ev}"))
            .unwrap();
        assert_eq!(
            (n.as_str(), v["code"].as_str()),
            ("error", Some("FORBIDDEN")),
            "{ev}: {v}"
        );
    }
    // Spectating is allowed: an unknown battle is just not found.
    client
        .emit("spectate:join", json!({"battle_id": battle}))
        .await
        .unwrap();
    let (n, v) = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (n.as_str(), v["code"].as_str()),
        ("error", Some("NOT_FOUND")),
        "{v}"
    );
    client.disconnect().await.unwrap();
}

#[tokio::test]
async fn guest_opens_the_read_only_table_socket() {
    let app = spawn_app().await;
    let (u1, t1, _) = app.register_v1("gtab1").await;
    let (u2, t2, _) = app.register_v1("gtab2").await;
    let (a1, a2) = (crate::army(&app, &t1).await, crate::army(&app, &t2).await);
    let r = app
        .post_auth(
            "/v1/battles",
            &t1,
            &json!({"players": [
        {"user_id": u1["id"], "army_id": a1}, {"user_id": u2["id"], "army_id": a2}]}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["battle"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let guest = guest_token(&app).await;
    let url = format!("ws://{}/v1/ws/battles/{id}?token={guest}", app.addr);
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("guest may watch");
    let first = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let v: Value = serde_json::from_str(first.to_text().unwrap()).unwrap();
    assert_eq!(v["type"], "connected");
    // ...and may not change the battle.
    let r = app
        .http
        .patch(app.url(&format!("/v1/battles/{id}")))
        .bearer_auth(&guest)
        .json(&json!({"action": "start"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let _ = t2;
}

#[tokio::test]
async fn guest_tokens_are_rate_limited_per_ip() {
    // The shared sign-in quota at its production size (tests default to a larger one).
    let app = spawn_app_with(|c| c.rate_limits.v2_auth_per_min = 10).await;
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let r = app
            .http
            .post(app.url("/v2/auth/guest"))
            .send()
            .await
            .unwrap();
        if r.status() == 429 {
            assert!(r.headers().contains_key("retry-after"));
        }
        statuses.push(r.status().as_u16());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
}
