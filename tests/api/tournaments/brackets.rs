//! Single elimination (8 and 6 players, byes to the top seeds) and double elimination with a
//! grand-final reset, played to the end through the battle endpoints.

use serde_json::{json, Value};

use super::*;

async fn single(app: &TestApp, org: &str, n: usize) {
    let (id, ps) = field(
        app,
        org,
        "single_elimination",
        n,
        json!({"points_limit": 2000}),
    )
    .await;
    // The better seed always wins.
    let rounds = play_out(app, org, &id, &ps, |p| {
        let (a, b) = (
            seed_of(&ps, &p["player1_id"]),
            seed_of(&ps, &p["player2_id"]),
        );
        if a < b {
            p["player1_id"].clone()
        } else {
            p["player2_id"].clone()
        }
    })
    .await;
    let games: Vec<usize> = rounds
        .iter()
        .map(|r| r["pairings"].as_array().unwrap().len())
        .collect();
    assert_eq!(games.iter().sum::<usize>(), n - 1);
    let t = tournament(app, org, &id).await;
    assert_eq!(t["winner_id"], json!(ps[0].id));
    if n == 6 {
        // Seeds 1 and 2 have first-round byes: round 1 is 3v6 and 4v5.
        assert_eq!(games, vec![2, 2, 1]);
        let first: BTreeSet<usize> = rounds[0]["pairings"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| {
                [
                    seed_of(&ps, &p["player1_id"]),
                    seed_of(&ps, &p["player2_id"]),
                ]
            })
            .collect();
        assert_eq!(first, BTreeSet::from([2, 3, 4, 5]));
    } else {
        assert_eq!(games, vec![4, 2, 1]);
    }
    assert_eq!(wins(app, &ps[0].token).await, 1);
}

#[tokio::test]
async fn single_elimination_with_8_and_6_players() {
    let app = spawn_app().await;
    let (_, org) = organizer(&app, "orgc").await;
    single(&app, &org, 8).await;
    single(&app, &org, 6).await;
}

#[tokio::test]
async fn double_elimination_with_8_players_and_a_reset() {
    let app = spawn_app().await;
    let (_, org) = organizer(&app, "orgf").await;
    let (id, ps) = field(
        &app,
        &org,
        "double_elimination",
        8,
        json!({"bracket_reset": true}),
    )
    .await;
    // Better seed wins, except the grand final, which the losers-bracket side (player 2) takes.
    let rounds = play_out(&app, &org, &id, &ps, |p| {
        if p["bracket_match"]["kind"] == "GrandFinal" {
            return p["player2_id"].clone();
        }
        let (a, b) = (
            seed_of(&ps, &p["player1_id"]),
            seed_of(&ps, &p["player2_id"]),
        );
        if a < b {
            p["player1_id"].clone()
        } else {
            p["player2_id"].clone()
        }
    })
    .await;
    let all: Vec<&Value> = rounds
        .iter()
        .flat_map(|r| r["pairings"].as_array().unwrap())
        .collect();
    // 7 winners-bracket, 6 losers-bracket, grand final and its reset.
    assert_eq!(all.len(), 15);
    let kinds: BTreeMap<String, usize> = all.iter().fold(BTreeMap::new(), |mut m, p| {
        *m.entry(p["bracket_match"]["kind"].as_str().unwrap().to_string())
            .or_default() += 1;
        m
    });
    assert_eq!(kinds["Winners"], 7);
    assert_eq!(kinds["Losers"], 6);
    assert_eq!(kinds["Reset"], 1);
    let t = tournament(&app, &org, &id).await;
    assert_eq!(t["status"], "completed");
    assert_eq!(t["winner_id"], json!(ps[0].id), "seed 1 wins the reset");
}
