//! `/v2/leaderboard`: ranks, neighbours, filters, validation, seasons.

use std::time::Duration;

use serde_json::json;

use super::support::*;
use crate::helpers::spawn_app_with;

#[tokio::test]
async fn leaderboard_ranks_neighbours_filters_and_validation() {
    let app = app().await;
    let db = pool(&app).await;
    let (alice, token) = app.register_v2("alice").await;
    let a = alice["id"].as_str().unwrap().to_string();
    let admin = admin_token(&app, &db, "boss").await;
    // 14 others from 2000 down by 10; alice at 1935 is 8th. Two share 1900: id breaks the tie.
    let mut ids = Vec::new();
    for i in 0..14 {
        let id = insert_user(&db, &format!("p{i:02}")).await;
        let r = if i == 13 {
            1900.0
        } else {
            2000.0 - 10.0 * i as f64
        };
        rate(&db, &id, 1, "RANKED", r, i, 1).await;
        ids.push(id);
    }
    rate(&db, &a, 1, "RANKED", 1935.0, 3, 1).await;
    rate(&db, &ids[0], 1, "CASUAL", 1200.0, 1, 0).await;
    for id in &ids[..3] {
        battle(
            &db,
            "COMPLETED",
            "CITY",
            (id, "VOLT"),
            (&a, "PYRO"),
            1,
            (1, -1),
        )
        .await;
    }
    let r = app
        .post_auth("/v2/admin/leaderboard/refresh", &token, &json!({}))
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(refresh(&app, &admin).await["entries"], 16);

    let (s, top) = get_json(&app, "/v2/leaderboard?limit=5", &token).await;
    assert_eq!(s, 200, "{top}");
    assert_eq!(
        (top["season"].as_i64(), top["total"].as_i64()),
        (Some(1), Some(15))
    );
    assert!(top["updated_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(names(&top), vec!["p00", "p01", "p02", "p03", "p04"]);
    assert_eq!(
        (
            top["limit"].as_u64(),
            top["offset"].as_u64(),
            top["has_more"].as_bool()
        ),
        (Some(5), Some(0), Some(true))
    );
    assert_eq!(ranks(&top), vec![1, 2, 3, 4, 5]);
    let row = &top["data"][0];
    assert_eq!(
        (
            row["rating"].as_i64(),
            row["wins"].as_i64(),
            row["level"].as_i64(),
            row["win_rate"].as_f64()
        ),
        (Some(2000), Some(0), Some(3), Some(0.0))
    );
    assert_eq!(top["data"][1]["win_rate"].as_f64(), Some(50.0));
    let (_, next) = get_json(&app, "/v2/leaderboard?limit=5&offset=5", &token).await;
    assert_eq!(names(&next), vec!["p05", "p06", "alice", "p07", "p08"]);
    let (_, tail) = get_json(&app, "/v2/leaderboard?offset=10", &token).await;
    assert_eq!(tail["has_more"], false);
    let (x, y) = if ids[10] < ids[13] {
        ("p10", "p13")
    } else {
        ("p13", "p10")
    };
    assert_eq!(names(&tail), vec!["p09", x, y, "p11", "p12"]);

    let (_, me) = get_json(&app, "/v2/leaderboard/me", &token).await;
    assert_eq!(
        (me["rank"].as_u64(), me["total"].as_u64()),
        (Some(8), Some(15)),
        "{me}"
    );
    assert_eq!(ranks(&me), (3..=13).collect::<Vec<_>>());
    assert_eq!(me["data"][5]["username"], "alice");
    let (_, unranked) = get_json(&app, "/v2/leaderboard/me", &admin).await;
    assert!(
        unranked["rank"].is_null() && unranked["data"].as_array().unwrap().is_empty(),
        "{unranked}"
    );

    let (_, volt) = get_json(&app, "/v2/leaderboard?element=volt", &token).await;
    assert_eq!(
        (names(&volt), ranks(&volt), volt["total"].as_i64()),
        (
            vec!["p00".to_string(), "p01".into(), "p02".into()],
            vec![1, 2, 3],
            Some(3)
        )
    );
    let (_, casual) = get_json(&app, "/v2/leaderboard?mode=CASUAL", &token).await;
    assert_eq!(
        (names(&casual), casual["total"].as_i64()),
        (vec!["p00".to_string()], Some(1))
    );

    for bad in [
        "mode=BLITZ",
        "limit=0",
        "limit=x",
        "element=PLASMA",
        "season=0",
        "season=2",
        "offset=-1",
    ] {
        let (s, e) = get_json(&app, &format!("/v2/leaderboard?{bad}"), &token).await;
        assert_eq!(
            (s, e["error"].as_str()),
            (400, Some("VALIDATION_ERROR")),
            "{bad} → {e}"
        );
    }
    let (s, e) = get_json(&app, "/v2/leaderboard/me?mode=nope", &token).await;
    assert_eq!((s, e["error"].as_str()), (400, Some("VALIDATION_ERROR")));
    // The public profile carries the live rank.
    let (_, p) = get_json(&app, &format!("/v2/users/{a}"), &token).await;
    assert_eq!(
        (p["rank"].as_u64(), p["rating"].as_i64()),
        (Some(8), Some(1935))
    );
}

#[tokio::test]
async fn leaderboard_seasons_are_isolated_and_past_ones_queryable() {
    let mut app = spawn_app_with(|c| {
        c.rate_limits.enabled = false;
        c.season = 2;
    })
    .await;
    let db = pool(&app).await;
    let (alice, token) = app.register_v2("alice").await;
    let a = alice["id"].as_str().unwrap().to_string();
    let b = insert_user(&db, "bob").await;
    let c = insert_user(&db, "carol").await;
    rate(&db, &a, 1, "RANKED", 2100.0, 9, 1).await;
    rate(&db, &b, 1, "RANKED", 1800.0, 5, 5).await;
    rate(&db, &c, 1, "RANKED", 1700.0, 1, 9).await;
    rate(&db, &b, 2, "RANKED", 1550.0, 1, 0).await;
    battle(
        &db,
        "COMPLETED",
        "CITY",
        (&c, "CRYO"),
        (&b, "IRON"),
        2,
        (-5, 5),
    )
    .await;
    // Rebuilt from the database at start.
    app.restart(Duration::from_millis(10)).await;

    let (_, live) = get_json(&app, "/v2/leaderboard", &token).await;
    assert_eq!(
        (
            live["season"].as_i64(),
            names(&live),
            live["total"].as_i64()
        ),
        (Some(2), vec!["bob".to_string()], Some(1))
    );
    let (_, me) = get_json(&app, "/v2/leaderboard/me", &token).await;
    assert!(me["rank"].is_null(), "a new season starts unranked: {me}");
    let (_, p) = get_json(&app, &format!("/v2/users/{a}"), &token).await;
    assert_eq!(p["rating"], 1500, "a new season starts from fresh ratings");

    let (s, past) = get_json(&app, "/v2/leaderboard?season=1&limit=2", &token).await;
    assert_eq!(s, 200, "{past}");
    assert_eq!(
        (past["season"].as_i64(), past["total"].as_i64()),
        (Some(1), Some(3))
    );
    assert_eq!(
        (names(&past), ranks(&past)),
        (vec!["alice".to_string(), "bob".into()], vec![1, 2])
    );
    assert_eq!(past["data"][0]["win_rate"].as_f64(), Some(90.0));
    assert!(past["updated_at"]
        .as_str()
        .unwrap()
        .starts_with("2026-01-01"));
    let (_, page2) = get_json(&app, "/v2/leaderboard?season=1&limit=2&offset=2", &token).await;
    assert_eq!(
        (past["has_more"].as_bool(), page2["has_more"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(
        (names(&page2), ranks(&page2)),
        (vec!["carol".to_string()], vec![3])
    );
    let (_, iron) = get_json(&app, "/v2/leaderboard?season=1&element=IRON", &token).await;
    assert_eq!(
        (names(&iron), iron["total"].as_i64()),
        (vec!["bob".to_string()], Some(1))
    );
    let (_, me1) = get_json(&app, "/v2/leaderboard/me?season=1", &token).await;
    assert_eq!(
        (me1["rank"].as_u64(), names(&me1)),
        (
            Some(1),
            vec!["alice".to_string(), "bob".into(), "carol".into()]
        )
    );
    let (s, _) = get_json(&app, "/v2/leaderboard?season=3", &token).await;
    assert_eq!(s, 400);
}
