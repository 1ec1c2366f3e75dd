//! /v2 robots, rosters, purchases, upgrades and algorithms over real HTTP.

use serde_json::{json, Value};

use crate::helpers::spawn_app;

fn spec_tree() -> Value {
    json!({"version": 2, "rules": [
        {"priority": 1, "condition": {"type": "AND", "children": [
            {"type": "COMPARE", "left": "self.hp_pct", "op": "<", "right": 30},
            {"type": "COMPARE", "left": "self.energy", "op": ">=", "right": 5}]},
         "action": {"type": "SKILL", "skillId": "heal_burst", "target": "SELF"}},
        {"priority": 2, "condition": {"type": "COMPARE", "left": "self.energy", "op": ">=", "right": 3},
         "action": {"type": "SKILL", "skillId": "overcharge_strike", "target": "ENEMY"}},
        {"priority": 99, "condition": {"type": "ALWAYS"}, "action": {"type": "ATTACK", "target": "ENEMY"}}]})
}

#[tokio::test]
async fn catalogue_filters_and_starters() {
    let app = spawn_app().await;
    let (_, token) = app.register_v2("catalog1").await;
    let all: Value = app
        .get_auth("/v2/robots", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["total"], 36);
    let volt = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["slug"] == "volt-striker-mk1")
        .unwrap();
    assert_eq!(volt["base_hp"], 80);
    assert_eq!(volt["biome_bonus"]["CITY"], 15);
    assert_eq!(volt["strong_vs"], json!(["CRYO", "IRON"]));
    let v: Value = app
        .get_auth("/v2/robots?element=VOLT&tier=T1&sort_by=gmo_cost", &token)
        .await
        .json()
        .await
        .unwrap();
    assert!(v["total"].as_u64().unwrap() >= 1);
    assert!(v["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["element"] == "VOLT" && r["tier"] == "T1"));
    let r = app.get_auth("/v2/robots?element=PLASMA", &token).await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "VALIDATION_ERROR"
    );
    let r = app.get_auth("/v2/robots?sort_by=name", &token).await;
    assert_eq!(r.status(), 400);
    let one = app
        .get_auth(
            &format!("/v2/robots/{}", volt["id"].as_str().unwrap()),
            &token,
        )
        .await;
    assert_eq!(one.status(), 200);
    assert_eq!(
        app.get_auth("/v2/robots/00000000-0000-0000-0000-000000000000", &token)
            .await
            .status(),
        404
    );
    // A new user owns every starter robot.
    let mine: Value = app
        .get_auth("/v2/users/me/robots", &token)
        .await
        .json()
        .await
        .unwrap();
    let starters = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["is_starter"] == true)
        .count();
    assert_eq!(mine["total"].as_u64().unwrap() as usize, starters);
    assert!(mine["data"][0]["user_robot_id"].is_string());
}

#[tokio::test]
async fn purchase_and_upgrade_move_money_once() {
    let app = spawn_app().await;
    let (_, token) = app.register_v2("shopper1").await;
    let all: Value = app
        .get_auth("/v2/robots?sort_by=gmo_cost", &token)
        .await
        .json()
        .await
        .unwrap();
    let robots = all["data"].as_array().unwrap();
    let cheap = robots
        .iter()
        .rev()
        .find(|r| r["is_starter"] == false && r["gmo_cost"].as_i64().unwrap() <= 1000)
        .expect("an affordable robot");
    let dear = robots
        .iter()
        .find(|r| r["gmo_cost"].as_i64().unwrap() > 1000)
        .expect("an expensive robot");
    let cost = cheap["gmo_cost"].as_i64().unwrap();
    let r = app
        .post_auth(
            &format!(
                "/v2/users/me/robots/{}/purchase",
                cheap["id"].as_str().unwrap()
            ),
            &token,
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["gmo_balance_after"], 1000 - cost);
    let r = app
        .post_auth(
            &format!(
                "/v2/users/me/robots/{}/purchase",
                cheap["id"].as_str().unwrap()
            ),
            &token,
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "ALREADY_OWNED");
    let r = app
        .post_auth(
            &format!(
                "/v2/users/me/robots/{}/purchase",
                dear["id"].as_str().unwrap()
            ),
            &token,
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "INSUFFICIENT_GMO"
    );
    // Upgrades: nickname + one level of attack, paid at 20% of the robot's price.
    let mine: Value = app
        .get_auth("/v2/users/me/robots", &token)
        .await
        .json()
        .await
        .unwrap();
    let starter = &mine["data"][0];
    let url = format!(
        "{}/v2/users/me/robots/{}",
        app.base,
        starter["user_robot_id"].as_str().unwrap()
    );
    let r = app
        .http
        .patch(&url)
        .bearer_auth(&token)
        .json(&json!({"nickname": "Zap Master", "upgrade_attack": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let up: Value = r.json().await.unwrap();
    assert_eq!(up["nickname"], "Zap Master");
    assert_eq!(up["upgrade_attack"], 1);
    let price = starter["gmo_cost"].as_i64().unwrap() * 20 / 100;
    assert_eq!(up["gmo_balance_after"], 1000 - cost - price);
    let r = app
        .http
        .patch(&url)
        .bearer_auth(&token)
        .json(&json!({"upgrade_attack": 9}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn algorithms_lifecycle() {
    let app = spawn_app().await;
    let (_, token) = app.register_v2("coder1").await;
    let (_, other) = app.register_v2("coder2").await;
    let r = app
        .post_auth(
            "/v2/algorithms",
            &token,
            &json!({"name": "Aggressive Striker v3", "description": "x", "rule_tree": spec_tree()}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let a: Value = r.json().await.unwrap();
    assert_eq!(a["is_valid"], true);
    assert_eq!(a["version"], 1);
    let id = a["id"].as_str().unwrap().to_string();
    // Invalid trees are stored, flagged.
    let bad = json!({"version": 2, "rules": [{"priority": 1, "condition": {"type": "ALWAYS"}, "action": {"type": "SKILL", "skillId": "nuke", "target": "ENEMY"}}]});
    let r = app
        .post_auth(
            "/v2/algorithms",
            &token,
            &json!({"name": "broken", "rule_tree": bad}),
        )
        .await;
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["is_valid"], false);
    assert_eq!(b["validation_errors"][0], "Rule 1: unknown skill 'nuke'");
    let r = app
        .post_auth(
            &format!("/v2/algorithms/{}/activate", b["id"].as_str().unwrap()),
            &token,
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "ALGORITHM_INVALID"
    );
    // Validate without saving.
    let r = app
        .post_auth(
            &format!("/v2/algorithms/{id}/validate"),
            &token,
            &json!({"rule_tree": bad}),
        )
        .await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v,
        json!({"is_valid": false, "errors": ["Rule 1: unknown skill 'nuke'"], "warnings": []})
    );
    // Others cannot see it.
    assert_eq!(
        app.get_auth(&format!("/v2/algorithms/{id}"), &other)
            .await
            .status(),
        404
    );
    // PUT makes a new version with parent_id.
    let r = app
        .http
        .put(app.url(&format!("/v2/algorithms/{id}")))
        .bearer_auth(&token)
        .json(&json!({"name": "Aggressive Striker v4", "rule_tree": spec_tree()}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v2: Value = r.json().await.unwrap();
    assert_eq!(v2["version"], 2);
    assert_eq!(v2["parent_id"], id.as_str());
    let id2 = v2["id"].as_str().unwrap();
    let r = app
        .post_auth(
            &format!("/v2/algorithms/{id2}/activate"),
            &token,
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "ACTIVE");
    let list: Value = app
        .get_auth("/v2/users/me/algorithms?status=ACTIVE", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 1);
    assert_eq!(list["has_more"], false);
    assert_eq!(
        app.get_auth("/v2/users/me/algorithms?status=NOPE", &token)
            .await
            .status(),
        400
    );
    // Simulate against the built-in AI: a full, deterministic log.
    let q = format!(
        "/v2/algorithms/{id2}/simulate?robot_id=volt-striker-mk1&biome=CITY&ai_difficulty=HARD"
    );
    let s1: Value = app.get_auth(&q, &token).await.json().await.unwrap();
    let s2: Value = app.get_auth(&q, &token).await.json().await.unwrap();
    assert_eq!(s1["log_hash"], s2["log_hash"]);
    assert_eq!(
        s1["ticks"].as_array().unwrap().len() as u64,
        s1["total_ticks"].as_u64().unwrap()
    );
    assert_eq!(
        app.get_auth(
            &format!("/v2/algorithms/{id2}/simulate?ai_difficulty=GODLIKE"),
            &token
        )
        .await
        .status(),
        400
    );
    // DELETE archives.
    let r = app
        .http
        .delete(app.url(&format!("/v2/algorithms/{id2}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let g: Value = app
        .get_auth(&format!("/v2/algorithms/{id2}"), &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(g["status"], "ARCHIVED");
}
