//! `/v2/users`: profile, patch, public profile, stats.

use serde_json::json;
use uuid::Uuid;

use super::support::*;

#[tokio::test]
async fn leaderboard_users_me_and_patch() {
    let app = app().await;
    let (_, alice) = app.register_v2("alice").await;
    app.register_v2("bob").await;
    let (s, me) = get_json(&app, "/v2/users/me", &alice).await;
    assert_eq!(s, 200);
    for k in [
        "id",
        "username",
        "email",
        "wallet_address",
        "gmo_balance",
        "eldr_balance",
        "xp",
        "level",
        "avatar_url",
        "created_at",
    ] {
        assert!(me.get(k).is_some(), "missing {k}: {me}");
    }
    assert_eq!(me["email"], "alice@example.com");
    assert_eq!(me["gmo_balance"], 1000);
    assert_eq!(me["eldr_balance"], "0.0");
    assert!(me["created_at"].as_str().unwrap().ends_with('Z'));

    let (s, up) = patch(
        &app,
        &alice,
        json!({"username": "alice_2", "avatar_url": "/avatars/robot.png"}),
    )
    .await;
    assert_eq!(s, 200, "{up}");
    assert_eq!(
        (up["username"].as_str(), up["avatar_url"].as_str()),
        (Some("alice_2"), Some("/avatars/robot.png"))
    );
    assert_eq!(
        get_json(&app, "/v2/users/me", &alice).await.1["username"],
        "alice_2"
    );

    let (s, e) = patch(&app, &alice, json!({"username": "BOB"})).await;
    assert_eq!((s, e["error"].as_str()), (409, Some("CONFLICT")), "{e}");
    for bad in [
        json!({"username": "a"}),
        json!({"avatar_url": "javascript:x"}),
        json!({"email": "x@y.z"}),
        json!({"username": 5}),
    ] {
        let (s, e) = patch(&app, &alice, bad.clone()).await;
        assert_eq!(
            (s, e["error"].as_str()),
            (400, Some("VALIDATION_ERROR")),
            "{bad} → {e}"
        );
    }
    let r = app.http.get(app.url("/v2/users/me")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let doc: serde_json::Value = app
        .http
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for p in [
        "/v2/users/me",
        "/v2/users/me/stats",
        "/v2/users/{id}",
        "/v2/leaderboard",
        "/v2/leaderboard/me",
        "/v2/admin/leaderboard/refresh",
    ] {
        assert!(doc["paths"][p].is_object(), "openapi lacks {p}");
    }
}

#[tokio::test]
async fn leaderboard_public_profile_hides_email_and_wallet() {
    let app = app().await;
    let (_, alice) = app.register_v2("alice").await;
    let (bob, _) = app.register_v2("bob").await;
    let (s, p) = get_json(
        &app,
        &format!("/v2/users/{}", bob["id"].as_str().unwrap()),
        &alice,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(p["username"], "bob");
    assert!(
        p.get("email").is_none() && p.get("wallet_address").is_none(),
        "{p}"
    );
    assert!(p.get("gmo_balance").is_none(), "{p}");
    assert_eq!(
        (
            p["rating"].as_i64(),
            p["wins"].as_i64(),
            p["rank"].is_null()
        ),
        (Some(1500), Some(0), true)
    );
    // Public: no token needed.
    let r = app
        .http
        .get(app.url(&format!("/v2/users/{}", bob["id"].as_str().unwrap())))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    for id in [Uuid::new_v4().to_string(), "garbage".into()] {
        let (s, e) = get_json(&app, &format!("/v2/users/{id}"), &alice).await;
        assert_eq!((s, e["error"].as_str()), (404, Some("NOT_FOUND")));
    }
}

#[tokio::test]
async fn leaderboard_stats_have_every_field() {
    let app = app().await;
    let db = pool(&app).await;
    let (alice, token) = app.register_v2("alice").await;
    let a = alice["id"].as_str().unwrap();
    let b = insert_user(&db, "bob").await;
    let (s, empty) = get_json(&app, "/v2/users/me/stats", &token).await;
    assert_eq!(s, 200);
    assert_eq!(empty["battles_total"], 0);
    assert_eq!(
        (empty["win_rate"].as_f64(), empty["rating"].as_i64()),
        (Some(0.0), Some(1500))
    );
    assert!(empty["favorite_element"].is_null());

    battle(
        &db,
        "COMPLETED",
        "CITY",
        (a, "VOLT"),
        (&b, "PYRO"),
        1,
        (90, -100),
    )
    .await;
    battle(
        &db,
        "COMPLETED",
        "CITY",
        (&b, "BIO"),
        (a, "PYRO"),
        1,
        (45, -50),
    )
    .await;
    battle(
        &db,
        "COMPLETED",
        "DESERT",
        (a, "VOLT"),
        (&b, "BIO"),
        0,
        (0, 0),
    )
    .await;
    battle(
        &db,
        "IN_PROGRESS",
        "ARCTIC",
        (a, "NANO"),
        (&b, "NANO"),
        0,
        (0, 0),
    )
    .await;
    rate(&db, a, 1, "RANKED", 1523.6, 1, 1).await;
    exec(
        &db,
        "UPDATE ratings SET peak_rating = 1540.2 WHERE user_id = $1",
        &[json!(a)],
    )
    .await;
    exec(
        &db,
        "INSERT INTO ledger_transfers (id, kind, currency, amount, debit_account, credit_account, created_at) \
         VALUES ($1, 'PAYOUT', 'ELDR', 1500000000, 'system:issuance', $2, 1), ($3, 'DEPOSIT', 'ELDR', 7000000000, 'system:bridge', $2, 1)",
        &[json!(Uuid::new_v4().to_string()), json!(format!("user:{a}")), json!(Uuid::new_v4().to_string())],
    )
    .await;

    let (_, st) = get_json(&app, "/v2/users/me/stats", &token).await;
    let want = json!({
        "battles_total": 3, "battles_won": 1, "battles_lost": 1, "battles_drawn": 1,
        "win_rate": 33.3, "rating": 1524, "peak_rating": 1540, "gmo_earned_total": 90,
        "eldr_earned_total": "1.5", "favorite_element": "VOLT", "favorite_biome": "CITY"
    });
    assert_eq!(st, want);
    let (_, p) = get_json(&app, &format!("/v2/users/{a}"), &token).await;
    assert_eq!(
        (
            p["wins"].as_i64(),
            p["losses"].as_i64(),
            p["draws"].as_i64(),
            p["rating"].as_i64()
        ),
        (Some(1), Some(1), Some(1), Some(1524))
    );
}
