//! End to end: a real RANKED battle (queue, match, ready, ticks, settlement), then the
//! leaderboard ranks both players and the stats count the battle. Nothing here writes SQL.

use std::time::Duration;

use rust_socketio::asynchronous::Client;
use serde_json::json;

use super::support::*;
use crate::battles::{next, player_with, Rx};
use crate::helpers::{spawn_app_with, TestApp};

const EVENTS: &[&str] = &[
    "pong",
    "queue:matched",
    "battle:starting",
    "battle:ended",
    "leaderboard:updated",
];

async fn player(app: &TestApp, name: &str) -> (String, String, String, Client, Rx) {
    player_with(app, name, EVENTS).await
}

#[tokio::test]
async fn leaderboard_ranks_players_after_a_real_ranked_battle() {
    let app = spawn_app_with(|c| {
        c.rate_limits.enabled = false;
        c.tick = Duration::from_millis(15);
        c.countdown = Duration::from_secs(60);
    })
    .await;
    let (a_id, a_tok, a_robot, a, mut a_rx) = player(&app, "rankA").await;
    let (b_id, _, b_robot, b, mut b_rx) = player(&app, "rankB").await;
    a.emit("leaderboard:join", json!({})).await.unwrap();
    for (c, robot) in [(&a, &a_robot), (&b, &b_robot)] {
        c.emit("queue:join", json!({"mode": "RANKED", "robot_id": robot}))
            .await
            .unwrap();
    }
    let battle = next(&mut a_rx, "queue:matched").await["battle_id"]
        .as_str()
        .unwrap()
        .to_string();
    next(&mut b_rx, "queue:matched").await;
    for c in [&a, &b] {
        c.emit("battle:ready", json!({"battle_id": battle}))
            .await
            .unwrap();
    }
    let end = next(&mut a_rx, "battle:ended").await;

    // The room hears of both players (settlement → ratings row → the actor's sync).
    let mut seen = std::collections::HashSet::new();
    while seen.len() < 2 {
        let d = next(&mut a_rx, "leaderboard:updated").await;
        for r in d["entries"].as_array().unwrap() {
            seen.insert(r["user_id"].as_str().unwrap().to_string());
        }
    }
    let (s, board) = get_json(&app, "/v2/leaderboard", &a_tok).await;
    assert_eq!((s, board["total"].as_i64()), (200, Some(2)), "{board}");
    let first = board["data"][0]["user_id"].as_str().unwrap();
    match end["winner_id"].as_str() {
        Some(w) => {
            assert_eq!(first, w, "the winner ranks first");
            let loser = if w == a_id { &b_id } else { &a_id };
            assert_eq!(board["data"][1]["user_id"], loser.as_str());
            assert_eq!(
                (
                    board["data"][0]["wins"].as_i64(),
                    board["data"][1]["losses"].as_i64()
                ),
                (Some(1), Some(1))
            );
        }
        None => assert_eq!(board["data"][0]["rating"], board["data"][1]["rating"]),
    }

    let (_, me) = get_json(&app, "/v2/leaderboard/me", &a_tok).await;
    let rank = me["rank"].as_u64().unwrap();
    assert_eq!(me["data"][rank as usize - 1]["user_id"], a_id.as_str());
    let (_, st) = get_json(&app, "/v2/users/me/stats", &a_tok).await;
    assert_eq!(st["battles_total"], 1, "{st}");
    assert!(
        st["favorite_element"].is_string() && st["favorite_biome"].is_string(),
        "{st}"
    );
    let row = &me["data"][rank as usize - 1];
    assert_eq!(st["rating"], row["rating"]);
    let (_, profile) = get_json(&app, &format!("/v2/users/{a_id}"), &a_tok).await;
    assert_eq!(
        (profile["rank"].as_u64(), &profile["rating"]),
        (Some(rank), &row["rating"])
    );
    // The element filter knows the robot each played.
    let el = st["favorite_element"].as_str().unwrap();
    let (_, filtered) = get_json(&app, &format!("/v2/leaderboard?element={el}"), &a_tok).await;
    assert!(
        names(&filtered).contains(&"rankA".to_string()),
        "{filtered}"
    );
}
