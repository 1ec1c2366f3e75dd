//! The web pages in a real browser (headless Chromium over WebDriver), and the read-only
//! guest token they use. Every test starts its own server on port 0. Without Chromium the
//! browser tests print a skip message and pass; the guest tests need no browser.

#[path = "../api/helpers.rs"]
mod helpers;

mod browser;
mod guest;
mod table;
mod tournament;
mod watch;

use std::time::Duration;

use serde_json::{json, Value};

use helpers::TestApp;

/// Copies a screenshot to `docs/screenshots/` when `WARROOM_UPDATE_SCREENSHOTS=1`, so the
/// README's pictures can be refreshed by running the tests.
pub async fn keep_screenshot(b: &browser::Browser, name: &str) {
    let path = b.screenshot(name).await;
    if std::env::var("WARROOM_UPDATE_SCREENSHOTS").as_deref() == Ok("1") {
        let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
        std::fs::create_dir_all(&docs).unwrap();
        std::fs::copy(&path, docs.join(format!("{name}.png"))).unwrap();
    }
}

/// A v1 user with the given role (set in the database, then signed in again so the token
/// carries it): (user id, access token).
pub async fn user_with_role(
    app: &TestApp,
    name: &str,
    role: warroom::auth::Role,
) -> (String, String) {
    let (user, _, _) = app.register_v1(name).await;
    let db = warroom::store::Db::connect(&app.config.database)
        .await
        .unwrap();
    assert!(db.set_role(name, role).await.unwrap());
    db.pool.close().await;
    let r: Value = app
        .post(
            "/v1/auth/login",
            &json!({"username": name, "password": "Secret-pass1"}),
        )
        .await
        .json()
        .await
        .unwrap();
    (
        user["id"].as_str().unwrap().into(),
        r["access_token"].as_str().unwrap().into(),
    )
}

/// A 2000-point army for the token's user; returns its id.
pub async fn army(app: &TestApp, token: &str) -> String {
    let r = app
        .post_auth(
            "/v1/armies",
            token,
            &json!({"name": "Shield Host", "faction_id": "fac_custodes", "points_value": 2000,
                "army_list": {"units": [{"name": "Shield-Captain", "points": 120}]}}),
        )
        .await;
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["army"]["id"]
        .as_str()
        .unwrap()
        .into()
}

/// Two v2 players queue RANKED over REST and are matched; returns the battle id and both
/// players' (user id, username).
pub async fn robot_battle(app: &TestApp, a: &str, b: &str) -> (String, [(String, String); 2]) {
    let mut who = Vec::new();
    for name in [a, b] {
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
        let r = app
            .post_auth(
                "/v2/battles/queue",
                &token,
                &json!({"mode": "RANKED", "robot_id": robot}),
            )
            .await;
        assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
        who.push((
            user["id"].as_str().unwrap().to_string(),
            name.to_string(),
            token,
        ));
    }
    let token = who[0].2.clone();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let id = loop {
        let live: Value = app
            .get_auth("/v2/battles/live", &token)
            .await
            .json()
            .await
            .unwrap();
        let mine = live["data"].as_array().and_then(|d| {
            d.iter()
                .find(|b| b["player1"]["username"] == a || b["player2"]["username"] == a)
        });
        if let Some(b) = mine {
            break b["id"].as_str().unwrap().to_string();
        }
        assert!(tokio::time::Instant::now() < deadline, "no match");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let players = [
        (who[0].0.clone(), who[0].1.clone()),
        (who[1].0.clone(), who[1].1.clone()),
    ];
    (id, players)
}

/// The live tick of a robot battle, from `GET /v2/battles/live` (None once it ended).
pub async fn live_tick(app: &TestApp, token: &str, id: &str) -> Option<u64> {
    let live: Value = app
        .get_auth("/v2/battles/live", token)
        .await
        .json()
        .await
        .unwrap();
    live["data"]
        .as_array()?
        .iter()
        .find(|b| b["id"] == id)
        .and_then(|b| b["tick"].as_u64())
}

/// A fresh guest token.
pub async fn guest_token(app: &TestApp) -> String {
    let r = app
        .http
        .post(app.url("/v2/auth/guest"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .into()
}
