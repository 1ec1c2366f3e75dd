use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{spawn_app_with, TestApp};

pub(crate) async fn army(app: &TestApp, token: &str, points: i64) -> reqwest::Response {
    app.post_auth("/v1/armies", token, &json!({"name": "ADEPTUS CUSTODES", "faction_id": "fac_custodes",
        "detachment": "LIONS OF THE EMPEROR", "points_value": 2000,
        "army_list": {"units": [{"name": "Trajann Valoris", "points": points, "keywords": ["CHARACTER"]}]}}))
        .await
}

pub(crate) async fn next_json(
    ws: &mut (impl StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin),
    kind: &str,
) -> Value {
    loop {
        let m = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next())
            .await
            .expect("message in time")
            .unwrap()
            .unwrap();
        if let Message::Text(t) = m {
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["type"] == kind {
                return v;
            }
        }
    }
}

#[tokio::test]
async fn armies_factions_and_a_whole_battle_over_http_and_websocket() {
    let app = spawn_app_with(|c| c.timer_update = std::time::Duration::from_millis(100)).await;
    let (u1, t1, _) = app.register_v1("alpha").await;
    let (u2, t2, _) = app.register_v1("bravo").await;
    let (_, t3, _) = app.register_v1("charlie").await;

    let f: Value = app
        .get_auth("/v1/factions", &t1)
        .await
        .json()
        .await
        .unwrap();
    assert!(f["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["id"] == "fac_custodes"));

    // Armies: validation and ownership.
    assert_eq!(
        army(&app, &t1, 2500).await.status(),
        422,
        "units over points_value"
    );
    let bad = app
        .post_auth(
            "/v1/armies",
            &t1,
            &json!({"name": "X", "faction_id": "fac_nope", "points_value": 100}),
        )
        .await;
    assert_eq!(bad.status(), 422);
    let a1: Value = army(&app, &t1, 160).await.json().await.unwrap();
    let a2: Value = army(&app, &t2, 160).await.json().await.unwrap();
    let a1_id = a1["army"]["id"].as_str().unwrap().to_string();
    let a2_id = a2["army"]["id"].as_str().unwrap().to_string();
    let r = app
        .http
        .put(app.url(&format!("/v1/armies/{a1_id}")))
        .bearer_auth(&t2)
        .json(&json!({"name": "Stolen", "faction_id": "fac_orks", "points_value": 1000}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let list: Value = app
        .get_auth(
            &format!("/v1/armies?owner_id={}", u1["id"].as_str().unwrap()),
            &t1,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["data"].as_array().unwrap().len(), 1);

    // A battle: army must belong to its player.
    let players = |a: &str, b: &str| json!([{"user_id": u1["id"], "army_id": a, "position": "left"}, {"user_id": u2["id"], "army_id": b, "position": "right"}]);
    let r = app
        .post_auth(
            "/v1/battles",
            &t1,
            &json!({"players": players(&a2_id, &a1_id)}),
        )
        .await;
    assert_eq!(r.status(), 422);
    let r = app
        .post_auth(
            "/v1/battles",
            &t1,
            &json!({"battle_type": "matched_play", "mission": {"name": "Sweep and Clear"},
        "players": players(&a1_id, &a2_id), "max_rounds": 2, "turn_time_limit": 1800}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let b: Value = r.json().await.unwrap();
    let id = b["battle"]["id"].as_str().unwrap().to_string();
    assert_eq!(b["battle"]["status"], "setup");

    // Army in use cannot be deleted.
    let r = app
        .http
        .delete(app.url(&format!("/v1/armies/{a1_id}")))
        .bearer_auth(&t1)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);

    // A table display follows the battle.
    let (mut ws, _) = tokio_tungstenite::connect_async(format!(
        "ws://{}/v1/ws/battles/{id}?token={t3}",
        app.addr
    ))
    .await
    .unwrap();
    next_json(&mut ws, "connected").await;

    let patch = |token: &str, body: Value| {
        let req = app
            .http
            .patch(app.url(&format!("/v1/battles/{id}")))
            .bearer_auth(token.to_string())
            .json(&body);
        async move { req.send().await.unwrap() }
    };
    assert_eq!(
        patch(&t1, json!({"action": "end_turn"})).await.status(),
        409,
        "not started"
    );
    assert_eq!(
        patch(&t3, json!({"action": "start"})).await.status(),
        403,
        "spectators cannot change it"
    );
    assert_eq!(patch(&t1, json!({"action": "warp"})).await.status(), 422);
    let r = patch(&t1, json!({"action": "start"})).await;
    assert_eq!(r.status(), 200);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["battle"]["current_turn"]["phase"], "command");
    assert!(
        b["battle"]["current_turn"]["time_remaining"]
            .as_i64()
            .unwrap()
            <= 1800
    );
    next_json(&mut ws, "battle_started").await;
    let t = next_json(&mut ws, "timer_update").await;
    assert_eq!(t["current_turn"]["player_id"], u1["id"]);

    let r = patch(&t1, json!({"action": "update_scores", "player_id": u1["id"], "scores": {"victory_points": 5, "secondary": 2}})).await;
    assert_eq!(r.status(), 200);
    let s = next_json(&mut ws, "score_update").await;
    assert_eq!(s["scores"]["primary"], 3);
    assert_eq!(
        patch(
            &t1,
            json!({"action": "use_stratagem", "name": "Rapid Fire", "cp_cost": 3})
        )
        .await
        .status(),
        422
    );
    assert_eq!(
        patch(
            &t1,
            json!({"action": "use_stratagem", "name": "Rapid Fire", "cp_cost": 1})
        )
        .await
        .status(),
        200
    );
    assert_eq!(
        patch(&t1, json!({"action": "next_phase"})).await.status(),
        200
    );
    assert_eq!(patch(&t1, json!({"action": "pause"})).await.status(), 200);
    assert_eq!(patch(&t1, json!({"action": "pause"})).await.status(), 409);
    assert_eq!(patch(&t1, json!({"action": "resume"})).await.status(), 200);
    assert_eq!(
        patch(&t2, json!({"action": "end_turn"})).await.status(),
        200
    );
    let r = app
        .post_auth(&format!("/v1/battles/{id}/advance-round"), &t1, &json!({}))
        .await;
    assert_eq!(r.status(), 200);
    next_json(&mut ws, "round_advance").await;
    let r = app
        .post_auth(&format!("/v1/battles/{id}/advance-round"), &t1, &json!({}))
        .await;
    assert_eq!(r.status(), 409, "bounded by max_rounds");

    let r = app
        .post_auth(
            &format!("/v1/battles/{id}/complete"),
            &t2,
            &json!({"final_scores": {u2["id"].as_str().unwrap(): {"victory_points": 9}}}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["battle"]["status"], "completed");
    assert_eq!(b["battle"]["winner_id"], u2["id"]);
    assert!(b["battle"]["completed_at"].is_string());
    next_json(&mut ws, "battle_completed").await;
    assert_eq!(patch(&t1, json!({"action": "start"})).await.status(), 409);

    // Read back from storage and list with a cursor.
    let g: Value = app
        .get_auth(&format!("/v1/battles/{id}"), &t3)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        g["battle"]["players"][0]["stratagems_used"],
        json!(["Rapid Fire"])
    );
    let l: Value = app
        .get_auth(
            &format!(
                "/v1/battles?player_id={}&status=completed&limit=1",
                u1["id"].as_str().unwrap()
            ),
            &t1,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(l["data"].as_array().unwrap().len(), 1);
    assert_eq!(l["pagination"]["has_more"], false);
    let r = app
        .get_auth(&format!("/v1/battles/{}", uuid::Uuid::new_v4()), &t1)
        .await;
    assert_eq!(r.status(), 404);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "BATTLE_NOT_FOUND");

    // The timeline: every change, who made it, before and after.
    let ev: Value = app
        .get_auth(&format!("/v1/battles/{id}/events"), &t1)
        .await
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = ev["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    // Creation is audited too (issue 11 point 17), then every change.
    assert_eq!(actions.first(), Some(&"battle.create"));
    assert_eq!(actions.get(1), Some(&"battle.Start"));
    assert_eq!(actions.last(), Some(&"battle.Complete"));
    // Each change stores what changed (issue 11 point 12).
    assert_eq!(ev["data"][1]["details"]["status"]["from"], "setup", "{ev}");
    assert_eq!(ev["data"][1]["details"]["status"]["to"], "in_progress");

    // The army is free again.
    let r = app
        .http
        .delete(app.url(&format!("/v1/armies/{a1_id}")))
        .bearer_auth(&t1)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
}

#[tokio::test]
async fn battle_in_progress_survives_restart_with_clock_paused_for_downtime() {
    let mut app = spawn_app_with(|c| c.timer_update = std::time::Duration::from_millis(50)).await;
    let (u1, t1, _) = app.register_v1("delta").await;
    let (u2, t2, _) = app.register_v1("echo").await;
    let a1: Value = army(&app, &t1, 100).await.json().await.unwrap();
    let a2: Value = army(&app, &t2, 100).await.json().await.unwrap();
    let r = app.post_auth("/v1/battles", &t1, &json!({"turn_time_limit": 600, "players": [
        {"user_id": u1["id"], "army_id": a1["army"]["id"]}, {"user_id": u2["id"], "army_id": a2["army"]["id"]}]})).await;
    let id = r.json::<Value>().await.unwrap()["battle"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .http
        .patch(app.url(&format!("/v1/battles/{id}")))
        .bearer_auth(&t1)
        .json(&json!({"action": "start"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = app
        .http
        .patch(app.url(&format!("/v1/battles/{id}")))
        .bearer_auth(&t1)
        .json(&json!({"action": "update_scores", "player_id": u1["id"], "scores": {"primary": 4}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // 3 s of downtime must not be charged to the turn.
    app.restart(std::time::Duration::from_secs(3)).await;

    let b: Value = app
        .get_auth(&format!("/v1/battles/{id}"), &t1)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(b["battle"]["status"], "in_progress");
    assert_eq!(b["battle"]["players"][0]["scores"]["victory_points"], 4);
    let left = b["battle"]["current_turn"]["time_remaining"]
        .as_i64()
        .unwrap();
    assert!(left >= 598, "time_remaining {left}: downtime was charged");
}
