//! Registration rules, TOURNAMENT_FULL, permissions, status transitions, listing, audit.

use serde_json::{json, Value};
use uuid::Uuid;

use super::*;

#[tokio::test]
async fn registration_rules_and_tournament_full() {
    let app = spawn_app().await;
    let (_, org) = organizer(&app, "orgg").await;
    let id = create(
        &app,
        &org,
        "swiss",
        2,
        json!({"points_limit": 1500, "allowed_factions": ["fac_custodes"]}),
    )
    .await;
    let a = player(&app, "rega").await;
    let b = player(&app, "regb").await;
    let c = player(&app, "regc").await;
    let reg = |p: &P, army: &str| {
        let url = format!("/v1/tournaments/{id}/register");
        let (t, body) = (p.token.clone(), json!({"army_id": army}));
        let app = &app;
        async move { app.post_auth(&url, &t, &body).await }
    };
    // Over the points limit, someone else's army, a faction not allowed.
    assert_eq!(reg(&a, &a.army).await.status(), 422);
    let small = army(&app, &a.token, "fac_custodes", 1500).await;
    assert_eq!(reg(&b, &small).await.status(), 422);
    let orks = army(&app, &b.token, "fac_orks", 1000).await;
    assert_eq!(reg(&b, &orks).await.status(), 422);
    assert_eq!(reg(&a, &small).await.status(), 201);
    // An army entered in a tournament that is not over cannot be deleted.
    let r = app
        .http
        .delete(app.url(&format!("/v1/armies/{small}")))
        .bearer_auth(&a.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let r = reg(&a, &small).await;
    assert_eq!(r.status(), 409, "second registration");
    let b_army = army(&app, &b.token, "fac_custodes", 1000).await;
    let c_army = army(&app, &c.token, "fac_custodes", 1000).await;
    assert_eq!(reg(&b, &b_army).await.status(), 201);
    let r = reg(&c, &c_army).await;
    assert_eq!(r.status(), 409);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "TOURNAMENT_FULL"
    );
    // Withdrawal before the start frees the place.
    let r = app
        .http
        .delete(app.url(&format!("/v1/tournaments/{id}/register")))
        .bearer_auth(&b.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(reg(&c, &c_army).await.status(), 201);
    assert_eq!(tournament(&app, &org, &id).await["current_participants"], 2);
    assert_eq!(
        patch(&app, &org, &id, json!({"status": "active"}))
            .await
            .status(),
        200
    );
    let r = app
        .http
        .delete(app.url(&format!("/v1/tournaments/{id}/register")))
        .bearer_auth(&c.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409, "no withdrawal after the start");
    // Registration and organizer changes are audited.
    let db = warroom::store::Db::connect(&app.config.database)
        .await
        .unwrap();
    let n: i64 = sqlx::Row::get(
        &sqlx::query(
            "SELECT COUNT(*) AS n FROM audit_log WHERE target = $1 AND action LIKE 'tournament.%'",
        )
        .bind(&id)
        .fetch_one(&db.pool)
        .await
        .unwrap(),
        "n",
    );
    assert!(n >= 6, "create, 3 registrations, withdrawal, update: {n}");
}

#[tokio::test]
async fn permissions_transitions_listing_and_organizer_battle_rights() {
    let app = spawn_app().await;
    let (_, org) = organizer(&app, "orgh").await;
    let (_, other_org) = organizer(&app, "orgi").await;
    let (_, admin) = promote(&app, "boss", warroom::auth::Role::Admin).await;
    let p = player(&app, "plainp").await;
    let r = app
        .post_auth(
            "/v1/tournaments",
            &p.token,
            &json!({"name": "X", "format": "swiss", "max_participants": 8}),
        )
        .await;
    assert_eq!(r.status(), 403, "players cannot create");
    let r = app
        .post_auth(
            "/v1/tournaments",
            &org,
            &json!({"name": "X", "format": "round_robin", "max_participants": 8}),
        )
        .await;
    assert_eq!(r.status(), 422);
    let r = app
        .post_auth(
            "/v1/tournaments",
            &org,
            &json!({"name": "Draft", "format": "swiss", "max_participants": 8}),
        )
        .await;
    let id = r.json::<Value>().await.unwrap()["tournament"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        patch(&app, &p.token, &id, json!({"name": "Mine"}))
            .await
            .status(),
        403
    );
    assert_eq!(
        patch(&app, &other_org, &id, json!({"name": "Mine"}))
            .await
            .status(),
        403
    );
    assert_eq!(generate(&app, &other_org, &id).await.status(), 403);
    let r = patch(&app, &org, &id, json!({"status": "active"})).await;
    assert_eq!(r.status(), 409, "draft cannot jump to active");
    assert_eq!(
        patch(
            &app,
            &admin,
            &id,
            json!({"status": "registration", "name": "Renamed"})
        )
        .await
        .status(),
        200
    );
    assert_eq!(
        patch(&app, &org, &id, json!({"status": "completed"}))
            .await
            .status(),
        409
    );
    assert_eq!(
        patch(&app, &org, &id, json!({"status": "cancelled"}))
            .await
            .status(),
        200
    );
    assert_eq!(
        patch(&app, &org, &id, json!({"status": "registration"}))
            .await
            .status(),
        409,
        "cancelled is final"
    );

    // Listing: filters and cursor pagination.
    for i in 0..3 {
        create(&app, &org, "single_elimination", 8, json!({"n": i})).await;
    }
    let page: Value = app
        .get_auth(
            "/v1/tournaments?format=single_elimination&limit=2",
            &p.token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["data"].as_array().unwrap().len(), 2);
    assert_eq!(page["pagination"]["has_more"], true);
    let cur = page["pagination"]["next_cursor"].as_str().unwrap();
    let page2: Value = app
        .get_auth(
            &format!("/v1/tournaments?format=single_elimination&limit=2&cursor={cur}"),
            &p.token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page2["data"].as_array().unwrap().len(), 1);
    assert_eq!(page2["pagination"]["has_more"], false);
    let c: Value = app
        .get_auth("/v1/tournaments?status=cancelled", &p.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(c["data"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.get_auth("/v1/tournaments?status=nope", &p.token)
            .await
            .status(),
        422
    );
    assert_eq!(
        app.get_auth(&format!("/v1/tournaments/{}", Uuid::new_v4()), &p.token)
            .await
            .status(),
        404
    );

    // The organizer may manage the tournament's battles; an outsider may not.
    let (tid, ps) = field(&app, &org, "swiss", 2, json!({})).await;
    let round: Value = generate(&app, &org, &tid).await.json().await.unwrap();
    let battle = round["round"]["pairings"][0]["battle_id"]
        .as_str()
        .unwrap()
        .to_string();
    let upd = json!({"action": "update_scores", "player_id": ps[0].id, "scores": {"primary": 5}});
    let url = app.url(&format!("/v1/battles/{battle}"));
    let r = app
        .http
        .patch(&url)
        .bearer_auth(&other_org)
        .json(&upd)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = app
        .http
        .patch(&url)
        .bearer_auth(&org)
        .json(&upd)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
