//! Pilots (mint, metadata, battle bonus) and /v2/admin (users, bans, seed, refresh, metrics,
//! audit), with the ledger invariant checked after money moves.

use std::time::Duration;

use serde_json::{json, Value};
use sqlx::Row;
use uuid::Uuid;
use warroom::auth::Role;

use crate::economy::{
    assert_ledger_ok, db, econ_app, gmo, link, new_key, next_event, socket, wait_status,
};
use crate::helpers::TestApp;

/// Registers `name`, promotes it to admin and signs in again for an admin token.
async fn admin(app: &TestApp, name: &str) -> String {
    app.register_v2(name).await;
    assert!(db(app).await.set_role(name, Role::Admin).await.unwrap());
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

#[tokio::test]
async fn pilot_mint_metadata_and_battle_bonus() {
    let app = econ_app().await;
    let db = db(&app).await;
    let (user, token) = app.register_v2("aviator").await;
    let uid = Uuid::parse_str(user["id"].as_str().unwrap()).unwrap();
    let body = json!({"name": "ACE-7", "sprite_key": "pilot_ace_7"});
    let r = app.post_auth("/v2/pilots/mint", &token, &body).await;
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "WALLET_NOT_LINKED"
    );
    link(&app, &token, &new_key()).await;
    let r = app.post_auth("/v2/pilots/mint", &token, &body).await;
    assert_eq!(r.status(), 202);
    let m: Value = r.json().await.unwrap();
    assert_eq!(m["status"], "PENDING");
    assert!(m["tx_hash"].as_str().unwrap().starts_with("0x"));
    // 500 GMO + 25 gas by default.
    assert_eq!(gmo(&app, &token).await, 475);
    let pid = m["pilot_id"].as_str().unwrap().to_string();
    wait_status(&app, &token, m["log_id"].as_str().unwrap(), "CONFIRMED").await;

    let p: Value = app
        .http
        .get(app.url(&format!("/v2/pilots/{pid}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(p["status"], "MINTED");
    // The public view names no account beside the token (which names the wallet on chain).
    assert!(
        p.get("owner_id").is_none() && p.get("tx_hash").is_none(),
        "{p}"
    );
    assert!(
        p["token_id"].is_number() || p["token_id"].is_string(),
        "{p}"
    );
    assert_eq!(p["metadata"]["name"], "ACE-7");
    assert_eq!(p["metadata"]["attributes"].as_array().unwrap().len(), 4);
    assert!(p["metadata"]["image"]
        .as_str()
        .unwrap()
        .contains("pilot_ace_7"));
    let mine: Value = app
        .get_auth("/v2/users/me/pilots", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["total"], 1);
    assert_eq!(mine["data"][0]["id"], pid.as_str());
    assert!(
        mine["data"][0]["tx_hash"].is_string(),
        "the owner sees the mint tx"
    );

    // The bonus the battle code reads, only for the owner.
    let stats = db
        .pilot_stats(uid, Uuid::parse_str(&pid).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(json!(stats), p["bonus"]);
    assert!(db
        .pilot_stats(Uuid::new_v4(), Uuid::parse_str(&pid).unwrap())
        .await
        .unwrap()
        .is_none());

    // Not enough GMO for a second pilot; bad input.
    let r = app.post_auth("/v2/pilots/mint", &token, &body).await;
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "INSUFFICIENT_GMO"
    );
    let r = app
        .post_auth(
            "/v2/pilots/mint",
            &token,
            &json!({"name": "", "sprite_key": "x"}),
        )
        .await;
    assert_eq!(r.status(), 400);
    let r = app
        .http
        .get(app.url(&format!("/v2/pilots/{}", Uuid::new_v4())))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_ledger_ok(&db).await;
}

#[tokio::test]
async fn ban_takes_effect_at_once() {
    let app = econ_app().await;
    let admin_token = admin(&app, "warden").await;
    let (user, token) = app.register_v2("rogue").await;
    let uid = user["id"].as_str().unwrap().to_string();
    let (client, mut rx) = socket(&app, &token, &["close"]).await;
    // Queued for a battle.
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
            &json!({"mode": "CASUAL", "robot_id": robot}),
        )
        .await;
    assert_eq!(r.status(), 202);

    let r = app
        .http
        .patch(app.url(&format!("/v2/admin/users/{uid}/ban")))
        .bearer_auth(&admin_token)
        .json(&json!({"banned": true, "reason": "cheating"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // REST: 403 USER_BANNED with the still-valid token.
    let r = app.get_auth("/v2/economy/balance", &token).await;
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "USER_BANNED");
    // Live socket: disconnected by the server.
    next_event(&mut rx, "close").await;
    let _ = client.disconnect().await;
    // Login is refused too.
    let r = app
        .post(
            "/v2/auth/login",
            &json!({"email": "rogue@example.com", "password": "Secret-pass1"}),
        )
        .await;
    assert_eq!(r.status(), 403);

    // Unban.
    let r = app
        .http
        .patch(app.url(&format!("/v2/admin/users/{uid}/ban")))
        .bearer_auth(&admin_token)
        .json(&json!({"banned": false, "reason": "appeal"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        app.get_auth("/v2/economy/balance", &token).await.status(),
        200
    );
    // The ban dropped the queue ticket.
    let q: Value = app
        .get_auth("/v2/battles/queue/status", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(q["status"], "IDLE", "{q}");

    // Unknown user, non-admin caller.
    let r = app
        .http
        .patch(app.url(&format!("/v2/admin/users/{}/ban", Uuid::new_v4())))
        .bearer_auth(&admin_token)
        .json(&json!({"banned": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = app
        .http
        .patch(app.url(&format!("/v2/admin/users/{uid}/ban")))
        .bearer_auth(&token)
        .json(&json!({"banned": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn admin_users_seed_refresh_metrics_and_audit() {
    let app = econ_app().await;
    let admin_token = admin(&app, "overseer").await;
    for n in ["pilot_one", "pilot_two", "gunner"] {
        app.register_v2(n).await;
    }
    let page: Value = app
        .get_auth("/v2/admin/users?q=PILOT_&limit=1", &admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 2, "{page}");
    assert_eq!(page["has_more"], true);
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    assert!(page["data"][0]["email"].as_str().is_some());
    let all: Value = app
        .get_auth("/v2/admin/users", &admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["total"], 4);

    for _ in 0..2 {
        let r = app
            .post_auth("/v2/admin/robots/seed", &admin_token, &json!({}))
            .await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.json::<Value>().await.unwrap()["seeded"], 36);
    }
    let r = app
        .post_auth("/v2/admin/leaderboard/refresh", &admin_token, &json!({}))
        .await;
    assert_eq!(r.status(), 202);

    let m: Value = app
        .get_auth("/v2/admin/metrics", &admin_token)
        .await
        .json()
        .await
        .unwrap();
    for k in [
        "connections",
        "live_battles",
        "queue_sizes",
        "persister_lag",
        "tick_lateness",
    ] {
        assert!(m.get(k).is_some(), "{k} in {m}");
    }
    assert_eq!(m["ledger"]["users"], 4);
    assert_eq!(m["ledger"]["user_gmo_total"], 4000);

    // A player is refused everywhere under /admin.
    let (_, player) = app.register_v2("nosy").await;
    for path in ["/v2/admin/users", "/v2/admin/metrics"] {
        assert_eq!(app.get_auth(path, &player).await.status(), 403);
    }
    assert_eq!(
        app.post_auth("/v2/admin/robots/seed", &player, &json!({}))
            .await
            .status(),
        403
    );

    // Every admin action is in the audit log.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let rows = sqlx::query("SELECT action FROM audit_log WHERE action LIKE 'admin.%'")
        .fetch_all(&db(&app).await.pool)
        .await
        .unwrap();
    let actions: Vec<String> = rows.iter().map(|r| r.get("action")).collect();
    for a in [
        "admin.users.list",
        "admin.robots.seed",
        "admin.leaderboard.refresh",
        "admin.metrics.read",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
}
