//! Issue 11 (hardening), points 3, 4 and 11: the shapes a spec client relies on, a 413 that
//! arrives at a raw client, and metrics labels from fixed sets. Real server, real clients.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};
use crate::tracker::army;

async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = app.http.request(m, app.url(path)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn battle_between(
    app: &TestApp,
    t1: &str,
    u1: &Value,
    u2: &Value,
    a1: &str,
    a2: &str,
    extra: Value,
) -> (u16, Value) {
    let mut body = json!({"battle_type": "matched_play", "players": [
        {"user_id": u1["id"], "army_id": a1, "position": "left"},
        {"user_id": u2["id"], "army_id": a2, "position": "right"}]});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    send(app, "POST", "/v1/battles", t1, Some(body)).await
}

async fn army_id(app: &TestApp, token: &str) -> String {
    let v: Value = army(app, token, 160).await.json().await.unwrap();
    v["army"]["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn hardening_army_put_accepts_read_only_fields() {
    let app = spawn_app().await;
    let (_, t1, _) = app.register_v1("putter").await;
    let id = army_id(&app, &t1).await;
    let (s, got) = send(&app, "GET", &format!("/v1/armies/{id}"), &t1, None).await;
    assert_eq!(s, 200);
    let mut body = got["army"].clone();
    assert!(body["created_at"].is_string() && body["owner_id"].is_string());
    body["name"] = json!("RENAMED");
    let (s, put) = send(&app, "PUT", &format!("/v1/armies/{id}"), &t1, Some(body)).await;
    assert_eq!(s, 200, "{put}");
    assert_eq!(put["army"]["name"], "RENAMED");
    assert_eq!(put["army"]["id"], got["army"]["id"]);
    assert_eq!(put["army"]["owner_id"], got["army"]["owner_id"]);
    assert_eq!(put["army"]["created_at"], got["army"]["created_at"]);
    // Read-only fields are ignored, not applied: another id or owner changes nothing.
    let mut body = put["army"].clone();
    body["id"] = json!(uuid::Uuid::new_v4());
    body["owner_id"] = json!(uuid::Uuid::new_v4());
    let (s, again) = send(&app, "PUT", &format!("/v1/armies/{id}"), &t1, Some(body)).await;
    assert_eq!(s, 200);
    assert_eq!(again["army"]["id"], got["army"]["id"]);
    assert_eq!(again["army"]["owner_id"], got["army"]["owner_id"]);
    // A field that is neither writable nor read-only is still refused.
    let mut body = again["army"].clone();
    body["colour"] = json!("gold");
    let (s, _) = send(&app, "PUT", &format!("/v1/armies/{id}"), &t1, Some(body)).await;
    assert_eq!(s, 422);
}

#[tokio::test]
async fn hardening_user_total_battles_counts_completed_battles() {
    let app = spawn_app().await;
    let (u1, t1, _) = app.register_v1("counter1").await;
    let (u2, t2, _) = app.register_v1("counter2").await;
    assert_eq!(u1["total_battles"], 0);
    let (a1, a2) = (army_id(&app, &t1).await, army_id(&app, &t2).await);
    let (s, b) = battle_between(&app, &t1, &u1, &u2, &a1, &a2, json!({})).await;
    assert_eq!(s, 201, "{b}");
    let id = b["battle"]["id"].as_str().unwrap().to_string();
    let (s, _) = send(
        &app,
        "PATCH",
        &format!("/v1/battles/{id}"),
        &t1,
        Some(json!({"action": "start"})),
    )
    .await;
    assert_eq!(s, 200);
    let profile = |t: String| {
        let app = &app;
        async move {
            send(app, "GET", "/v1/auth/profile", &t, None).await.1["user"]["total_battles"].clone()
        }
    };
    assert_eq!(
        profile(t1.clone()).await,
        0,
        "a battle in progress is not yet counted"
    );
    let (s, c) = send(
        &app,
        "POST",
        &format!("/v1/battles/{id}/complete"),
        &t1,
        Some(json!({"winner_id": u1["id"]})),
    )
    .await;
    assert_eq!(s, 200, "{c}");
    // It counts for the player who entered it; the other's record waits for their consent.
    assert_eq!(profile(t1.clone()).await, 1);
    assert_eq!(profile(t2.clone()).await, 0);
    let (s, c) = send(
        &app,
        "PATCH",
        &format!("/v1/battles/{id}"),
        &t2,
        Some(json!({"action": "confirm_result"})),
    )
    .await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(profile(t2.clone()).await, 1);
    let (s, login) = send(
        &app,
        "POST",
        "/v1/auth/login",
        "",
        Some(json!({"username": "counter1", "password": "Secret-pass1"})),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(login["user"]["total_battles"], 1);
    assert_eq!(login["user"]["tournament_wins"], 0);
}

#[tokio::test]
async fn hardening_known_mission_fills_objectives_and_unknown_tournament_is_refused() {
    let app = spawn_app().await;
    let (u1, t1, _) = app.register_v1("mission1").await;
    let (u2, t2, _) = app.register_v1("mission2").await;
    let (a1, a2) = (army_id(&app, &t1).await, army_id(&app, &t2).await);
    // The spec's own example mission.
    let (s, b) = battle_between(
        &app,
        &t1,
        &u1,
        &u2,
        &a1,
        &a2,
        json!({"mission": {"name": "Sweep and Clear", "deployment": "Dawn of War"}}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let m = &b["battle"]["mission"];
    assert_eq!(m["name"], "Sweep and Clear");
    assert_eq!(m["deployment"], "Dawn of War");
    assert_eq!(m["primary_objectives"], json!(["Control Objectives"]));
    assert_eq!(
        m["secondary_objectives"],
        json!(["Bring It Down", "Assassinate"])
    );
    // A 10th-edition mission by id or name, and what the client gave wins.
    let (s, b) = battle_between(&app, &t1, &u1, &u2, &a1, &a2,
        json!({"mission": {"name": "take and hold", "secondary_objectives": ["Behind Enemy Lines"]}})).await;
    assert_eq!(s, 201);
    let m = &b["battle"]["mission"];
    assert!(
        m["primary_objectives"]
            .as_array()
            .is_some_and(|a| !a.is_empty()),
        "{m}"
    );
    assert_eq!(m["secondary_objectives"], json!(["Behind Enemy Lines"]));
    // A mission the server does not know stays as given.
    let (s, b) = battle_between(
        &app,
        &t1,
        &u1,
        &u2,
        &a1,
        &a2,
        json!({"mission": {"name": "Homebrew"}}),
    )
    .await;
    assert_eq!(s, 201);
    assert_eq!(b["battle"]["mission"], json!({"name": "Homebrew"}));

    let (s, e) = battle_between(
        &app,
        &t1,
        &u1,
        &u2,
        &a1,
        &a2,
        json!({"tournament_id": uuid::Uuid::new_v4()}),
    )
    .await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(e["error"]["code"], "VALIDATION_ERROR");
    assert_eq!(e["error"]["details"]["field"], "tournament_id");
}

#[tokio::test]
async fn hardening_non_uuid_ids_are_404_with_the_resource_code() {
    let app = spawn_app().await;
    let (_, t1, _) = app.register_v1("ids1").await;
    let (_, admin) = promote_admin(&app, "idsadmin").await;
    let body = Some(json!({}));
    let v1 = [
        ("GET", "/v1/battles/btl_invalid", "BATTLE_NOT_FOUND"),
        ("PATCH", "/v1/battles/btl_invalid", "BATTLE_NOT_FOUND"),
        ("GET", "/v1/battles/btl_invalid/events", "BATTLE_NOT_FOUND"),
        (
            "POST",
            "/v1/battles/btl_invalid/advance-round",
            "BATTLE_NOT_FOUND",
        ),
        (
            "POST",
            "/v1/battles/btl_invalid/complete",
            "BATTLE_NOT_FOUND",
        ),
        ("GET", "/v1/armies/army_xyz789", "ARMY_NOT_FOUND"),
        ("PUT", "/v1/armies/army_xyz789", "ARMY_NOT_FOUND"),
        ("DELETE", "/v1/armies/army_xyz789", "ARMY_NOT_FOUND"),
        ("GET", "/v1/tournaments/trn_ghi789", "TOURNAMENT_NOT_FOUND"),
        (
            "PATCH",
            "/v1/tournaments/trn_ghi789",
            "TOURNAMENT_NOT_FOUND",
        ),
        (
            "POST",
            "/v1/tournaments/trn_ghi789/register",
            "TOURNAMENT_NOT_FOUND",
        ),
        (
            "DELETE",
            "/v1/tournaments/trn_ghi789/register",
            "TOURNAMENT_NOT_FOUND",
        ),
        (
            "POST",
            "/v1/tournaments/trn_ghi789/generate-pairings",
            "TOURNAMENT_NOT_FOUND",
        ),
        (
            "GET",
            "/v1/tournaments/trn_ghi789/standings",
            "TOURNAMENT_NOT_FOUND",
        ),
    ];
    for (m, p, code) in v1 {
        let (s, e) = send(&app, m, p, &t1, body.clone()).await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (404, Some(code)),
            "{m} {p}: {e}"
        );
        // A well-formed id that names nothing gives the same answer.
        let p = p
            .replace("btl_invalid", &uuid::Uuid::new_v4().to_string())
            .replace("army_xyz789", &uuid::Uuid::new_v4().to_string())
            .replace("trn_ghi789", &uuid::Uuid::new_v4().to_string());
        let valid = match (m, code) {
            ("PATCH", "BATTLE_NOT_FOUND") => json!({"action": "start"}),
            ("PUT", _) => json!({"name": "A", "faction_id": "fac_orks", "points_value": 100}),
            ("POST", "TOURNAMENT_NOT_FOUND") => json!({"army_id": uuid::Uuid::new_v4()}),
            _ => json!({}),
        };
        let (s, e) = send(&app, m, &p, &t1, Some(valid)).await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (404, Some(code)),
            "{m} {p}: {e}"
        );
    }
    let v2 = [
        ("GET", "/v2/battles/btl_invalid"),
        ("GET", "/v2/battles/btl_invalid/replay"),
        ("GET", "/v2/robots/btl_invalid"),
        ("POST", "/v2/users/me/robots/btl_invalid/purchase"),
        ("PATCH", "/v2/users/me/robots/btl_invalid"),
        ("GET", "/v2/algorithms/btl_invalid"),
        ("PUT", "/v2/algorithms/btl_invalid"),
        ("DELETE", "/v2/algorithms/btl_invalid"),
        ("POST", "/v2/algorithms/btl_invalid/validate"),
        ("POST", "/v2/algorithms/btl_invalid/activate"),
        ("GET", "/v2/algorithms/btl_invalid/simulate"),
        ("GET", "/v2/users/btl_invalid"),
        ("GET", "/v2/pilots/btl_invalid"),
        ("GET", "/v2/pilots/btl_invalid/metadata"),
        ("PATCH", "/v2/admin/users/btl_invalid/ban"),
    ];
    for (m, p) in v2 {
        let (s, e) = send(&app, m, p, &admin, body.clone()).await;
        assert_eq!(
            (s, e["error"].as_str()),
            (404, Some("NOT_FOUND")),
            "{m} {p}: {e}"
        );
    }
}

async fn promote_admin(app: &TestApp, name: &str) -> (Value, String) {
    let (user, _, _) = app.register_v1(name).await;
    let db = warroom::store::Db::connect(&app.config.database)
        .await
        .unwrap();
    assert!(db.set_role(name, warroom::auth::Role::Admin).await.unwrap());
    db.pool.close().await;
    let (_, r) = send(
        app,
        "POST",
        "/v1/auth/login",
        "",
        Some(json!({"username": name, "password": "Secret-pass1"})),
    )
    .await;
    (user, r["access_token"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn hardening_leave_queue_when_not_queued_is_204() {
    let app = spawn_app().await;
    let (_, t) = app.register_v2("Idle1").await;
    let (s, _) = send(&app, "DELETE", "/v2/battles/queue", &t, None).await;
    assert_eq!(s, 204);
    let (s, _) = send(&app, "DELETE", "/v2/battles/queue", &t, None).await;
    assert_eq!(s, 204, "idempotent");
}

#[tokio::test]
async fn hardening_v2_lists_take_limit_offset_and_clamp() {
    let app = spawn_app().await;
    let (_, t) = app.register_v2("Lister1").await;
    for path in [
        "/v2/robots",
        "/v2/users/me/robots",
        "/v2/users/me/pilots",
        "/v2/battles/live",
        "/v2/users/me/algorithms",
        "/v2/battles",
        "/v2/leaderboard",
        "/v2/economy/transactions",
    ] {
        let (s, all) = send(&app, "GET", &format!("{path}?limit=500"), &t, None).await;
        assert_eq!(s, 200, "{path}: {all}");
        for k in ["total", "limit", "offset", "has_more"] {
            assert!(!all[k].is_null(), "{path} lacks {k}: {all}");
        }
        assert_eq!(all["limit"], 100, "{path}: a limit above 100 is clamped");
        assert_eq!(all["offset"], 0);
        let total = all["total"].as_u64().unwrap();
        assert!(all["data"].as_array().unwrap().len() as u64 <= total.min(100));
        if total >= 2 {
            let (_, p) = send(&app, "GET", &format!("{path}?limit=1&offset=1"), &t, None).await;
            assert_eq!(
                (p["limit"].as_u64(), p["offset"].as_u64()),
                (Some(1), Some(1)),
                "{path}"
            );
            assert_eq!(p["data"].as_array().unwrap().len(), 1);
            assert_eq!(p["data"][0], all["data"][1], "{path}");
            assert_eq!(p["has_more"], total > 2);
        }
        let (s, _) = send(&app, "GET", &format!("{path}?limit=0"), &t, None).await;
        assert_eq!(s, 400, "{path}: limit 0 is invalid");
    }
    let (_, robots) = send(&app, "GET", "/v2/robots", &t, None).await;
    assert_eq!(
        (robots["total"].as_u64(), robots["limit"].as_u64()),
        (Some(36), Some(100)),
        "the whole catalogue by default, as the spec lists it"
    );
    assert_eq!(robots["data"].as_array().unwrap().len(), 36);
    let (_, pilots) = send(&app, "GET", "/v2/users/me/pilots", &t, None).await;
    assert_eq!(pilots["limit"], 20, "other lists default to 20");
}

#[tokio::test]
async fn hardening_v1_logout_with_bearer_only() {
    let app = spawn_app().await;
    let (_, access, refresh) = app.register_v1("leaver").await;
    let r = app
        .http
        .post(app.url("/v1/auth/logout"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    // The session is over: its refresh token no longer works.
    let r = app
        .post("/v1/auth/refresh", &json!({"refresh_token": refresh}))
        .await;
    assert_eq!(r.status(), 401);
    // With neither a token nor a body there is nothing to log out.
    let r = app
        .http
        .post(app.url("/v1/auth/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // The spec's body form still works.
    let (_, _, refresh) = app.register_v1("leaver2").await;
    let r = app
        .post("/v1/auth/logout", &json!({"refresh_token": refresh}))
        .await;
    assert_eq!(r.status(), 204);
    let r = app
        .post("/v1/auth/refresh", &json!({"refresh_token": refresh}))
        .await;
    assert_eq!(r.status(), 401);
}
