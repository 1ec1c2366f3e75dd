//! Issue 11: one client cannot hurt another (CORS, quotas, sign-in limits, audit growth).

use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, TestApp};
use crate::tracker::army;

/// Two players with armies and a battle in `setup`; returns (battle id, [t1, t2], [u1, u2]).
pub(crate) async fn battle_of_two(
    app: &TestApp,
    a: &str,
    b: &str,
) -> (String, [String; 2], [Value; 2]) {
    let (u1, t1, _) = app.register_v1(a).await;
    let (u2, t2, _) = app.register_v1(b).await;
    let a1: Value = army(app, &t1, 160).await.json().await.unwrap();
    let a2: Value = army(app, &t2, 160).await.json().await.unwrap();
    let r = app
        .post_auth(
            "/v1/battles",
            &t1,
            &json!({"players": [
                {"user_id": u1["id"], "army_id": a1["army"]["id"], "position": "left"},
                {"user_id": u2["id"], "army_id": a2["army"]["id"], "position": "right"}]}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let b: Value = r.json().await.unwrap();
    (
        b["battle"]["id"].as_str().unwrap().to_string(),
        [t1, t2],
        [u1, u2],
    )
}

pub(crate) async fn patch(app: &TestApp, id: &str, token: &str, body: Value) -> reqwest::Response {
    app.http
        .patch(app.url(&format!("/v1/battles/{id}")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn cors_preflight_answers_and_credentials_only_for_named_origins() {
    let app = spawn_app_with(|c| c.cors_origins = "https://app.example,*".into()).await;
    let pre = |origin: &'static str, path: &'static str| {
        app.http
            .request(reqwest::Method::OPTIONS, app.url(path))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "content-type, authorization",
            )
            .send()
    };
    let named = pre("https://app.example", "/v2/auth/login").await.unwrap();
    assert!(named.status().is_success(), "{}", named.status());
    let h = named.headers();
    assert_eq!(h["access-control-allow-origin"], "https://app.example");
    assert_eq!(h["access-control-allow-credentials"], "true");
    assert!(h["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));

    // Admitted through `*`: may call, but never with cookies.
    let other = pre("https://elsewhere.example", "/v1/auth/login")
        .await
        .unwrap();
    assert!(other.status().is_success());
    assert!(other.headers().get("access-control-allow-origin").is_some());
    assert!(other
        .headers()
        .get("access-control-allow-credentials")
        .is_none());

    // A plain request carries the headers too, and `X-Request-Id` is readable by scripts.
    let r = app
        .http
        .get(app.url("/v1/factions"))
        .header("Origin", "https://app.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    let exposed = r.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(exposed.contains("x-request-id"), "{exposed}");

    // Without `*`, an unlisted origin gets no CORS headers.
    let strict = spawn_app_with(|c| c.cors_origins = "https://app.example".into()).await;
    let r = strict
        .http
        .get(strict.url("/v1/factions"))
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn battle_quota_counts_only_callers_who_may_change_the_battle() {
    let app = spawn_app_with(|c| c.rate_limits.v1_battle_updates_per_min = 3).await;
    let (id, [t1, _t2], _) = battle_of_two(&app, "quota1", "quota2").await;
    let (_, stranger, _) = app.register_v1("stranger").await;
    for _ in 0..6 {
        let r = patch(&app, &id, &stranger, json!({"action": "start"})).await;
        assert_eq!(r.status(), 403);
    }
    // The players' quota is intact.
    let r = patch(&app, &id, &t1, json!({"action": "start"})).await;
    assert_eq!(r.status(), 200);
    for _ in 0..2 {
        let r = patch(&app, &id, &t1, json!({"action": "next_phase"})).await;
        assert_eq!(r.status(), 200);
    }
    // And it still holds for them.
    let r = patch(&app, &id, &t1, json!({"action": "next_phase"})).await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_some());
}

#[tokio::test]
async fn sign_in_endpoints_of_both_apis_share_one_per_ip_limit_whatever_the_headers() {
    let app = spawn_app_with(|c| c.rate_limits.v2_auth_per_min = 3).await;
    let (_, token, _) = app.register_v1("limited").await; // 1
    let wrong = json!({"username": "nobody", "password": "Wrong-pass1"});
    let wrong_v2 = json!({"email": "nobody@example.com", "password": "Wrong-pass1"});
    assert_eq!(app.post("/v2/auth/login", &wrong_v2).await.status(), 401); // 2
    assert_eq!(app.post("/v2/auth/login", &wrong_v2).await.status(), 401); // 3
    assert_eq!(app.post("/v2/auth/login", &wrong_v2).await.status(), 429);
    // Blocked on /v2 means blocked on /v1, with or without a bearer token.
    let via_v1 = app.post("/v1/auth/login", &wrong).await;
    assert_eq!(via_v1.status(), 429);
    let with_bearer = app.post_auth("/v1/auth/login", &token, &wrong).await;
    assert_eq!(with_bearer.status(), 429);
    // Other v1 calls of the signed-in user are not affected.
    assert_eq!(app.get_auth("/v1/auth/profile", &token).await.status(), 200);
}

#[tokio::test]
async fn failed_logins_lock_the_account_and_the_lock_is_audited() {
    let app = spawn_app_with(|c| {
        c.rate_limits.enabled = false;
        c.login_lockout.max_failures = 3;
    })
    .await;
    app.register_v1("lockme").await;
    let wrong = json!({"username": "lockme", "password": "Wrong-pass1"});
    let right = json!({"username": "lockme", "password": "Secret-pass1"});
    assert_eq!(app.post("/v1/auth/login", &wrong).await.status(), 401);
    assert_eq!(
        app.post(
            "/v2/auth/login",
            &json!({"email": "lockme@example.com", "password": "Wrong-pass1"})
        )
        .await
        .status(),
        401
    );
    let third = app.post("/v1/auth/login", &wrong).await;
    assert_eq!(third.status(), 429);
    let retry: u64 = third.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0);
    // Locked: even the right password is refused, on both APIs.
    assert_eq!(app.post("/v1/auth/login", &right).await.status(), 429);
    let v2 = app
        .post(
            "/v2/auth/login",
            &json!({"email": "lockme@example.com", "password": "Secret-pass1"}),
        )
        .await;
    assert_eq!(v2.status(), 429);
    let b: Value = v2.json().await.unwrap();
    assert_eq!(b["error"], "ACCOUNT_LOCKED", "{b}");
    let db = warroom::store::Db::connect(&app.config.database)
        .await
        .unwrap();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'auth.lockout'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
    // Another account is not affected.
    app.register_v1("neighbour").await;
    let r = app
        .post(
            "/v1/auth/login",
            &json!({"username": "neighbour", "password": "Secret-pass1"}),
        )
        .await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn audit_rows_hold_what_changed_not_the_whole_battle() {
    let app = spawn_app_with(|c| c.rate_limits.enabled = false).await;
    let (id, [t1, _], _) = battle_of_two(&app, "auditor1", "auditor2").await;
    assert_eq!(
        patch(&app, &id, &t1, json!({"action": "start"}))
            .await
            .status(),
        200
    );
    for i in 0..61 {
        let r = patch(
            &app,
            &id,
            &t1,
            json!({"action": "use_stratagem", "name": format!("Free stratagem number {i}"), "cp_cost": 0}),
        )
        .await;
        assert_eq!(r.status(), 200);
    }
    let db = warroom::store::Db::connect(&app.config.database)
        .await
        .unwrap();
    let rows: Vec<String> =
        sqlx::query_scalar("SELECT details FROM audit_log WHERE action = 'battle.UseStratagem'")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(rows.len(), 61);
    let min = rows.iter().map(String::len).min().unwrap();
    let max = rows.iter().map(String::len).max().unwrap();
    // The row for the 61st use is about as big as the first one (before: 518 KB in all).
    // Every row is about the size of one change, however long the battle's history (before:
    // each row held the whole battle twice, 518 KB for these 61).
    assert!(max < 512, "smallest {min} bytes, largest {max} bytes");
    assert!(rows.iter().any(|r| r.contains("Free stratagem number 60")));
}

async fn audit_count(app: &TestApp, action: &str) -> i64 {
    let db = warroom::store::Db::connect(&app.config.database)
        .await
        .unwrap();
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = $1")
        .bind(action)
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn audit_covers_battle_creation_refresh_reuse_and_bad_tokens() {
    let app = spawn_app_with(|c| c.rate_limits.enabled = false).await;
    battle_of_two(&app, "creator1", "creator2").await;
    assert_eq!(audit_count(&app, "battle.create").await, 1);

    let (_, _, r0) = app.register_v1("reuser").await;
    let r = app
        .post("/v1/auth/refresh", &json!({"refresh_token": r0}))
        .await;
    assert_eq!(r.status(), 200);
    let r = app
        .post("/v1/auth/refresh", &json!({"refresh_token": r0}))
        .await;
    assert_eq!(r.status(), 401);
    assert_eq!(audit_count(&app, "auth.refresh_reused").await, 1);

    for path in ["/v1/auth/profile", "/v2/users/me"] {
        let r = app.get_auth(path, "not.a.token").await;
        assert_eq!(r.status(), 401);
    }
    // No token at all is an anonymous caller, not a bad token.
    assert_eq!(
        app.http
            .get(app.url("/v2/users/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(audit_count(&app, "auth.bad_token").await, 2);
}

#[tokio::test]
async fn validate_with_a_malformed_body_is_400_and_huge_amounts_do_not_wrap() {
    let app = spawn_app_with(|c| c.rate_limits.enabled = false).await;
    let (_, token) = app.register_v2("validator").await;
    let tree = json!({"version": 2, "rules": [{"priority": 1, "condition": {"type": "ALWAYS"},
        "action": {"type": "ATTACK", "target": "ENEMY"}}]});
    let r = app
        .post_auth(
            "/v2/algorithms",
            &token,
            &json!({"name": "Plain", "rule_tree": tree}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let url = app.url(&format!("/v2/algorithms/{id}/validate"));
    let bad = app
        .http
        .post(&url)
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"rule_tree\": [1, 2")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert_eq!(
        bad.json::<Value>().await.unwrap()["error"],
        "VALIDATION_ERROR"
    );
    // No body still re-checks the stored tree.
    let none = app
        .http
        .post(&url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 200);
    assert_eq!(none.json::<Value>().await.unwrap()["is_valid"], true);

    let r = app
        .post_auth(
            "/v2/economy/withdraw",
            &token,
            &json!({"gmo_amount": i64::MAX}),
        )
        .await;
    assert_eq!(r.status(), 400);
    let b: Value = r.json().await.unwrap();
    assert!(b["message"].as_str().unwrap().contains("100"), "{b}");
}

async fn total_battles(app: &TestApp, token: &str) -> i64 {
    let p: Value = app
        .get_auth("/v1/auth/profile", token)
        .await
        .json()
        .await
        .unwrap();
    p["user"]["total_battles"].as_i64().unwrap()
}

#[tokio::test]
async fn a_casual_result_counts_for_a_player_only_once_they_confirm_it() {
    let app = spawn_app_with(|c| c.rate_limits.enabled = false).await;
    // The attacker names the victim (and the victim's army) in a battle of their own making.
    let (id, [attacker, victim], [ua, uv]) = battle_of_two(&app, "attacker", "victim").await;
    let url = format!("/v1/battles/{id}/complete");
    let win = json!({"winner_id": ua["id"]});
    // Straight from setup: refused, there is no result of a battle never played.
    let r = app.post_auth(&url, &attacker, &win).await;
    assert_eq!(r.status(), 409);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "INVALID_BATTLE_STATE"
    );
    // One device may still run the whole battle: start, complete.
    assert_eq!(
        patch(&app, &id, &attacker, json!({"action": "start"}))
            .await
            .status(),
        200
    );
    let r = app.post_auth(&url, &attacker, &win).await;
    assert_eq!(r.status(), 200);
    let b: Value = r.json::<Value>().await.unwrap()["battle"].clone();
    assert_eq!(b["status"], "completed");
    assert_eq!(b["result_confirmed"], false);
    assert_eq!(b["confirmed_by"], json!([ua["id"]]));
    assert_eq!(b["awaiting_confirmation"], json!([uv["id"]]));
    // It counts for the one who entered it, not for the victim.
    assert_eq!(total_battles(&app, &attacker).await, 1);
    assert_eq!(total_battles(&app, &victim).await, 0);
    // Nobody else can confirm for the victim.
    let (_, stranger, _) = app.register_v1("bystander").await;
    let r = patch(&app, &id, &stranger, json!({"action": "confirm_result"})).await;
    assert_eq!(r.status(), 403);
    // The victim agrees: now it counts for both, and the battle says so.
    let r = patch(&app, &id, &victim, json!({"action": "confirm_result"})).await;
    assert_eq!(r.status(), 200);
    let b: Value = r.json::<Value>().await.unwrap()["battle"].clone();
    assert_eq!(b["result_confirmed"], true);
    assert_eq!(b["awaiting_confirmation"], json!([]));
    assert_eq!(total_battles(&app, &victim).await, 1);
    // A casual result is not disputed, it is left unconfirmed.
    let r = patch(&app, &id, &victim, json!({"action": "dispute_result"})).await;
    assert_eq!(r.status(), 409);

    // Either player may cancel a casual battle in setup.
    let (id2, [_, other], _) = battle_of_two(&app, "starter2", "canceller2").await;
    let r = patch(&app, &id2, &other, json!({"action": "cancel"})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap()["battle"]["status"],
        "cancelled"
    );
}
