//! Point 13: the role and ban state of an account apply to tokens already issued, whichever
//! process changed them (the `warroom user promote` CLI writes the database directly).

use std::time::Duration;

use serde_json::{json, Value};

use super::{eventually, warroom_cli};
use crate::helpers::{spawn_app, TestApp};

async fn status(app: &TestApp, path: &str, token: &str) -> u16 {
    app.get_auth(path, token).await.status().as_u16()
}

/// Waits (bounded) until `GET path` with `token` answers `want`.
async fn until_status(app: &TestApp, path: &str, token: &str, want: u16) -> bool {
    eventually(Duration::from_secs(5), || async {
        (status(app, path, token).await == want).then_some(())
    })
    .await
    .is_some()
}

async fn create_tournament(app: &TestApp, token: &str) -> u16 {
    app.post_auth(
        "/v1/tournaments",
        token,
        &json!({"name": "Stale Authority Open", "format": "swiss", "max_participants": 8,
            "entry_fee": 0, "start_date": "2030-02-01T09:00:00Z", "rules": {}}),
    )
    .await
    .status()
    .as_u16()
}

#[tokio::test]
async fn hardening_role_and_ban_changes_apply_to_issued_tokens() {
    let app = spawn_app().await;
    let (user, player_token) = app.register_v2("chief").await;
    assert_eq!(status(&app, "/v2/admin/users", &player_token).await, 403);

    // Promoted by the CLI (another process): the token issued as a player is an admin's now.
    let out = warroom_cli(&app, &["user", "promote", "chief", "admin"]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        until_status(&app, "/v2/admin/users", &player_token, 200).await,
        "promotion applies to an issued token"
    );
    let r = app
        .post(
            "/v2/auth/login",
            &json!({"email": "chief@example.com", "password": "Secret-pass1"}),
        )
        .await;
    let admin_token = r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(create_tournament(&app, &admin_token).await, 201);

    // Demoted: a token that says "admin" no longer is one, on either API.
    let out = warroom_cli(&app, &["user", "promote", "chief", "player"]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        until_status(&app, "/v2/admin/users", &admin_token, 403).await,
        "a demoted admin keeps admin"
    );
    assert_eq!(create_tournament(&app, &admin_token).await, 403);

    // Banned by a write from elsewhere (another node, an operator's SQL): refused at once.
    let db = warroom::store::Db::connect(&app.config.database)
        .await
        .unwrap();
    sqlx::query("UPDATE users SET banned = 1 WHERE id = $1")
        .bind(user["id"].as_str().unwrap())
        .execute(&db.pool)
        .await
        .unwrap();
    assert!(until_status(&app, "/v2/users/me", &admin_token, 403).await);
    let r = app.get_auth("/v1/auth/profile", &admin_token).await;
    assert_eq!(r.status(), 403);
}
