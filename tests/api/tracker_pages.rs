//! Cursor pagination of `GET /v1/battles`: no duplicates and no gaps, even while new battles
//! are created between pages.

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};
use crate::tracker::army;

async fn create_battle(app: &TestApp, token: &str, players: &Value) -> String {
    let r = app
        .post_auth("/v1/battles", token, &json!({"players": players}))
        .await;
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["battle"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn tracker_battle_pages_have_no_duplicates_and_no_gaps_under_inserts() {
    let app = spawn_app().await;
    let (u1, t1, _) = app.register_v1("oscar").await;
    let (u2, t2, _) = app.register_v1("papa").await;
    let a1: Value = army(&app, &t1, 100).await.json().await.unwrap();
    let a2: Value = army(&app, &t2, 100).await.json().await.unwrap();
    let players = json!([{"user_id": u1["id"], "army_id": a1["army"]["id"]},
        {"user_id": u2["id"], "army_id": a2["army"]["id"]}]);
    let mut original = HashSet::new();
    for _ in 0..57 {
        original.insert(create_battle(&app, &t1, &players).await);
    }

    let mut seen = Vec::new();
    let mut inserted = HashSet::new();
    let mut cursor: Option<String> = None;
    for page in 0.. {
        assert!(page < 30, "pagination does not terminate");
        let mut path = format!(
            "/v1/battles?player_id={}&limit=5",
            u1["id"].as_str().unwrap()
        );
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let r = app.get_auth(&path, &t2).await;
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        let data = body["data"].as_array().unwrap();
        assert!(data.len() <= 5);
        seen.extend(data.iter().map(|b| b["id"].as_str().unwrap().to_string()));
        // Someone keeps creating battles while the list is being read.
        if page % 2 == 0 {
            inserted.insert(create_battle(&app, &t2, &players).await);
        }
        match body["pagination"]["next_cursor"].as_str() {
            Some(c) => {
                assert_eq!(body["pagination"]["has_more"], true);
                cursor = Some(c.to_string());
            }
            None => {
                assert_eq!(body["pagination"]["has_more"], false);
                break;
            }
        }
    }
    let unique: HashSet<_> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "no battle served twice");
    let missing: Vec<_> = original.difference(&unique).collect();
    assert!(missing.is_empty(), "gaps: {missing:?}");
    // Newest first: battles created after the walk began sort before the cursor, so a walk
    // started earlier never serves them (and never shifts the rest).
    assert!(unique.is_subset(&original), "only the battles that existed");
    assert_eq!(inserted.len(), 6);

    // A fresh walk sees everything, old and new, once.
    let mut all = HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!(
            "/v1/battles?player_id={}&limit=7",
            u2["id"].as_str().unwrap()
        );
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let body: Value = app.get_auth(&path, &t1).await.json().await.unwrap();
        for b in body["data"].as_array().unwrap() {
            assert!(
                all.insert(b["id"].as_str().unwrap().to_string()),
                "duplicate"
            );
        }
        match body["pagination"]["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(all.len(), original.len() + inserted.len());
}
