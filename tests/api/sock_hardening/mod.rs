//! Hardening of the realtime surfaces and of authority (issue 11, points 8, 9, 13, 14, the
//! upgrade part of 17, and the `kill -9` robot battle crash test), with real clients.

use std::future::Future;
use std::time::Duration;

use serde_json::{json, Value};
use warroom::config::DatabaseTarget;

use crate::helpers::TestApp;

mod authority;
mod crash;
mod floods;
mod joins;
mod sockets;

/// Opens an engine.io polling session by hand; returns the URL that names its `sid`.
pub async fn eio_open(app: &TestApp) -> reqwest::Result<(u16, String)> {
    let r = app
        .http
        .get(app.url("/v2/ws/?EIO=4&transport=polling"))
        .send()
        .await?;
    let status = r.status().as_u16();
    let open = r.text().await?;
    if status != 200 {
        return Ok((status, open));
    }
    assert!(open.starts_with('0'), "{open}");
    let sid = serde_json::from_str::<Value>(&open[1..]).unwrap()["sid"]
        .as_str()
        .unwrap()
        .to_string();
    Ok((
        status,
        app.url(&format!("/v2/ws/?EIO=4&transport=polling&sid={sid}")),
    ))
}

/// Sends the Socket.IO `CONNECT` with `token` on a polling session and returns the server's
/// answer packet (`40…` connected, `44…` connect_error).
pub async fn sio_connect(app: &TestApp, url: &str, token: &str) -> String {
    let r = app
        .http
        .post(url)
        .body(format!("40{}", json!({ "token": token })))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    loop {
        let text = app
            .http
            .get(url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        // Skip engine.io pings ("2") that may share the payload (packets split by 0x1e).
        if let Some(p) = text.split('\u{1e}').find(|p| p.starts_with('4')) {
            return p.to_string();
        }
    }
}

/// A raw polling Socket.IO connection with `token`: `(answer packet, session url)`.
pub async fn raw_socket(app: &TestApp, token: &str) -> (String, String) {
    let (status, url) = eio_open(app).await.unwrap();
    assert_eq!(status, 200, "{url}");
    (sio_connect(app, &url, token).await, url)
}

/// Closes a raw polling session (engine.io close packet).
pub async fn eio_close(app: &TestApp, url: &str) {
    let _ = app.http.post(url).body("1").send().await.unwrap();
}

/// Runs the `warroom` binary against the test server's database (another process, as an
/// operator would).
pub fn warroom_cli(app: &TestApp, args: &[&str]) -> std::process::Output {
    let url = match &app.config.database {
        DatabaseTarget::Sqlite(u) | DatabaseTarget::Postgres(u) => u.clone(),
    };
    std::process::Command::new(env!("CARGO_BIN_EXE_warroom"))
        .current_dir(&app.config.data_dir)
        .args(args)
        .env("WARROOM_DATA_DIR", &app.config.data_dir)
        .env("DATABASE_URL", url)
        .env("WARROOM_LOG", "warn")
        .env_remove("REDIS_URL")
        .output()
        .expect("warroom runs")
}

/// Re-checks `probe` until it returns `Some`, for at most `limit` (each probe is a real
/// round trip, so this waits on the server rather than on a clock).
pub async fn eventually<T, F, Fut>(limit: Duration, mut probe: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = probe().await {
            return Some(v);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A tracker battle (in setup) between two new v1 players: `(battle id, [(user, token); 2])`.
pub async fn tracker_battle(app: &TestApp, a: &str, b: &str) -> (String, [(Value, String); 2]) {
    let (u1, t1, _) = app.register_v1(a).await;
    let (u2, t2, _) = app.register_v1(b).await;
    let a1: Value = crate::tracker::army(app, &t1, 100)
        .await
        .json()
        .await
        .unwrap();
    let a2: Value = crate::tracker::army(app, &t2, 100)
        .await
        .json()
        .await
        .unwrap();
    let r = app
        .post_auth(
            "/v1/battles",
            &t1,
            &json!({"turn_time_limit": 600, "players": [
                {"user_id": u1["id"], "army_id": a1["army"]["id"]},
                {"user_id": u2["id"], "army_id": a2["army"]["id"]}]}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let b: Value = r.json().await.unwrap();
    let id = b["battle"]["id"].as_str().unwrap().to_string();
    (id, [(u1, t1), (u2, t2)])
}

/// Registers `name` on v2, makes it an admin with the CLI and signs in again.
pub async fn admin(app: &TestApp, name: &str) -> String {
    app.register_v2(name).await;
    let out = warroom_cli(app, &["user", "promote", name, "admin"]);
    assert!(out.status.success(), "{out:?}");
    let r = app
        .post(
            "/v2/auth/login",
            &json!({"email": format!("{name}@example.com"), "password": "Secret-pass1"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Long-polls a raw Socket.IO session until the server ends it (a disconnect or close
/// packet, or an unknown sid); false if it is still up after 10 s.
pub async fn session_ended(app: &TestApp, url: &str) -> bool {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let r = app.http.get(url).send().await.unwrap();
            let status = r.status().as_u16();
            let text = r.text().await.unwrap();
            if status != 200
                || text
                    .split('\u{1e}')
                    .any(|p| p == "1" || p.starts_with("41"))
            {
                return;
            }
        }
    })
    .await
    .is_ok()
}
