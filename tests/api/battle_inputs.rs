//! What a queue join reads (`Game::ticket`, one statement): the roster, the named or active
//! algorithm, the balance, and that the battle plays what was read. Also a whole battle on
//! the one-thread runtime with ticks on the start grid (`WARROOM_RUNTIME=current`).

use std::time::Duration;

use serde_json::{json, Value};
use warroom::config::RuntimeFlavor;

use crate::battles::{match_and_ready, numbers, player, ticks_until_end};
use crate::helpers::{spawn_app_with, TestApp};

const TREE: &str = r#"{"version": 2, "rules": [{"priority": 1, "condition": {"type": "ALWAYS"},
    "action": {"type": "ATTACK", "target": "ENEMY"}}]}"#;

async fn algorithm(app: &TestApp, token: &str, name: &str) -> String {
    let tree: Value = serde_json::from_str(TREE).unwrap();
    let r = app
        .post_auth(
            "/v2/algorithms",
            token,
            &json!({"name": name, "rule_tree": tree}),
        )
        .await;
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn times_used(app: &TestApp, token: &str, id: &str) -> i64 {
    let v: Value = app
        .get_auth(&format!("/v2/algorithms/{id}"), token)
        .await
        .json()
        .await
        .unwrap();
    v["times_used"].as_i64().unwrap()
}

#[tokio::test]
async fn a_queue_join_checks_roster_algorithm_and_balance_and_the_battle_plays_the_active_one() {
    let app = spawn_app_with(|c| {
        c.tick = Duration::from_millis(50);
        c.countdown = Duration::from_secs(60);
    })
    .await;
    let (_, a_tok, a_robot, a, mut a_rx) = player(&app, "reader").await;
    let (_, b_tok, b_robot, b, mut b_rx) = player(&app, "other").await;
    let mine = algorithm(&app, &a_tok, "Mine").await;
    let r = app
        .post_auth(
            &format!("/v2/algorithms/{mine}/activate"),
            &a_tok,
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let theirs = algorithm(&app, &b_tok, "Theirs").await;

    let queue = |body: Value| {
        let (app, tok) = (&app, a_tok.clone());
        async move { app.post_auth("/v2/battles/queue", &tok, &body).await }
    };
    // Someone else's algorithm, someone else's robot, no robot at all, too big a wager.
    for (body, status, code) in [
        (
            json!({"mode": "CASUAL", "robot_id": a_robot, "algorithm_id": theirs}),
            404,
            "NOT_FOUND",
        ),
        (
            json!({"mode": "CASUAL", "robot_id": b_robot}),
            404,
            "NOT_FOUND",
        ),
        (
            json!({"mode": "CASUAL", "robot_id": uuid::Uuid::new_v4()}),
            404,
            "NOT_FOUND",
        ),
        (
            json!({"mode": "RANKED", "robot_id": a_robot, "gmo_wager": 1_000_000}),
            400,
            "INSUFFICIENT_GMO",
        ),
    ] {
        let r = queue(body.clone()).await;
        assert_eq!(r.status(), status, "{body}");
        assert_eq!(r.json::<Value>().await.unwrap()["error"], code, "{body}");
    }

    // Nothing named: A plays the active algorithm, B (none active) the built-in default.
    let battle = match_and_ready(
        (&a, &mut a_rx, &a_robot),
        (&b, &mut b_rx, &b_robot),
        json!({"mode": "CASUAL"}),
    )
    .await;
    let (_, end) = ticks_until_end(&mut a_rx).await;
    assert_eq!(end["battle_id"], battle.as_str());
    // The settlement commits right after the end event: wait for it to show.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while times_used(&app, &a_tok, &mine).await == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "active algorithm not counted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(times_used(&app, &a_tok, &mine).await, 1);
    assert_eq!(times_used(&app, &b_tok, &theirs).await, 0);
}

#[tokio::test]
async fn a_battle_plays_through_on_the_one_thread_runtime_with_starts_on_the_grid() {
    let app = spawn_app_with(|c| {
        c.runtime = RuntimeFlavor::CurrentThread;
        c.tick_grid = Some(Duration::from_millis(40));
        c.tick = Duration::from_millis(40);
        c.countdown = Duration::from_secs(60);
    })
    .await;
    let (_, _, a_robot, a, mut a_rx) = player(&app, "onethread").await;
    let (_, _, b_robot, b, mut b_rx) = player(&app, "samethread").await;
    match_and_ready(
        (&a, &mut a_rx, &a_robot),
        (&b, &mut b_rx, &b_robot),
        json!({"mode": "RANKED"}),
    )
    .await;
    let (a_ticks, a_end) = ticks_until_end(&mut a_rx).await;
    let (b_ticks, _) = ticks_until_end(&mut b_rx).await;
    let n = a_end["total_ticks"].as_u64().unwrap();
    assert_eq!(numbers(&a_ticks), (1..=n).collect::<Vec<_>>());
    assert_eq!(numbers(&b_ticks), (1..=n).collect::<Vec<_>>());
    // Tick k is due at start + k·tick with the start on a multiple of the grid: the stamps
    // (taken when the tick is played, a few ms late at most) sit just after multiples of 40.
    let late: Vec<i64> = a_ticks
        .iter()
        .map(|t| t["ts"].as_i64().unwrap().rem_euclid(40))
        .collect();
    let on_grid = late.iter().filter(|l| **l < 20).count();
    assert!(
        on_grid * 10 >= late.len() * 9,
        "tick stamps mod 40 ms: {late:?}"
    );
}
