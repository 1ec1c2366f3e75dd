//! Tournaments over real HTTP: swiss, single and double elimination played to the end through
//! the battle endpoints, registration rules, permissions, and the round clock's announcements.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{spawn_app, TestApp};

mod access;
mod brackets;
mod clock;

/// A registered player: id, token, army.
struct P {
    id: String,
    token: String,
    army: String,
}

async fn promote(app: &TestApp, name: &str, role: warroom::auth::Role) -> (String, String) {
    let (user, _, _) = app.register_v1(name).await;
    let db = warroom::store::Db::connect(&app.config.database)
        .await
        .unwrap();
    assert!(db.set_role(name, role).await.unwrap());
    db.pool.close().await;
    // The role is in the token: sign in again.
    let r: Value = app
        .post(
            "/v1/auth/login",
            &json!({"username": name, "password": "Secret-pass1"}),
        )
        .await
        .json()
        .await
        .unwrap();
    (
        user["id"].as_str().unwrap().into(),
        r["access_token"].as_str().unwrap().into(),
    )
}

async fn organizer(app: &TestApp, name: &str) -> (String, String) {
    promote(app, name, warroom::auth::Role::Organizer).await
}

async fn army(app: &TestApp, token: &str, faction: &str, points: i64) -> String {
    let r = app
        .post_auth(
            "/v1/armies",
            token,
            &json!({"name": "List", "faction_id": faction, "points_value": points,
                "army_list": {"units": [{"name": "Captain", "points": 100}]}}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    v["army"]["id"].as_str().unwrap().into()
}

async fn player(app: &TestApp, name: &str) -> P {
    let (u, token, _) = app.register_v1(name).await;
    let army = army(app, &token, "fac_custodes", 2000).await;
    P {
        id: u["id"].as_str().unwrap().into(),
        token,
        army,
    }
}

async fn create(app: &TestApp, token: &str, format: &str, max: u32, rules: Value) -> String {
    let r = app
        .post_auth(
            "/v1/tournaments",
            token,
            &json!({"name": "Winter 40K Championship", "format": format, "max_participants": max,
                "entry_fee": 25.00, "start_date": "2030-02-01T09:00:00Z", "status": "registration",
                "rules": rules}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["tournament"]["entry_fee"], 25.0);
    v["tournament"]["id"].as_str().unwrap().into()
}

async fn patch(app: &TestApp, token: &str, id: &str, body: Value) -> reqwest::Response {
    app.http
        .patch(app.url(&format!("/v1/tournaments/{id}")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Creates a tournament of `n` fresh players and registers them all.
async fn field(app: &TestApp, org: &str, format: &str, n: usize, rules: Value) -> (String, Vec<P>) {
    let id = create(app, org, format, 64, rules).await;
    let mut ps = Vec::new();
    for i in 0..n {
        let p = player(app, &format!("{}{n}p{i}", &format[..4])).await;
        let r = app
            .post_auth(
                &format!("/v1/tournaments/{id}/register"),
                &p.token,
                &json!({"army_id": p.army}),
            )
            .await;
        assert_eq!(r.status(), 201);
        ps.push(p);
    }
    // No activation step: the spec's flow is create → register → generate-pairings.
    (id, ps)
}

async fn generate(app: &TestApp, token: &str, id: &str) -> reqwest::Response {
    app.post_auth(
        &format!("/v1/tournaments/{id}/generate-pairings"),
        token,
        &json!({}),
    )
    .await
}

fn seed_of(ps: &[P], id: &Value) -> usize {
    ps.iter()
        .position(|p| p.id == id.as_str().unwrap())
        .unwrap()
}

/// Completes a battle through the battle endpoint (as the organizer): `winner` gets 60 VP.
async fn complete(app: &TestApp, token: &str, pairing: &Value, winner: &Value) {
    let (a, b) = (&pairing["player1_id"], &pairing["player2_id"]);
    let loser = if winner == a { b } else { a };
    let body = json!({"winner_id": winner, "final_scores": {
        winner.as_str().unwrap(): {"victory_points": 60}, loser.as_str().unwrap(): {"victory_points": 40}}});
    let url = format!(
        "/v1/battles/{}/complete",
        pairing["battle_id"].as_str().unwrap()
    );
    let r = app.post_auth(&url, token, &body).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

async fn ws(
    app: &TestApp,
    token: &str,
    battle: &str,
) -> impl StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin {
    let url = format!("ws://{}/v1/ws/battles/{battle}?token={token}", app.addr);
    tokio_tungstenite::connect_async(url).await.unwrap().0
}

async fn next_of(
    ws: &mut (impl StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin),
    kind: &str,
) -> Value {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("event in time")
            .unwrap()
            .unwrap();
        if let Message::Text(t) = m {
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["type"] == kind {
                return v;
            }
        }
    }
}

/// Plays rounds until the tournament completes; `pick` chooses each winner. Returns the rounds.
async fn play_out(
    app: &TestApp,
    org: &str,
    id: &str,
    ps: &[P],
    pick: impl Fn(&Value) -> Value,
) -> Vec<Value> {
    let mut rounds: Vec<Value> = Vec::new();
    let mut last_table = None;
    loop {
        let r = generate(app, org, id).await;
        if r.status() == 409 && !rounds.is_empty() {
            // The last result completed the tournament before this request was handled.
            break;
        }
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        let round: Value = r.json::<Value>().await.unwrap()["round"].clone();
        let pairings = round["pairings"].as_array().unwrap().clone();
        let tables: BTreeSet<u64> = pairings
            .iter()
            .map(|p| p["table_number"].as_u64().unwrap())
            .collect();
        assert_eq!(tables.len(), pairings.len(), "distinct tables");
        // The round's clocks started together.
        for p in &pairings {
            let url = format!("/v1/battles/{}", p["battle_id"].as_str().unwrap());
            let b: Value = app.get_auth(&url, org).await.json().await.unwrap();
            assert_eq!(b["battle"]["status"], "in_progress");
            assert_eq!(b["battle"]["tournament_id"], id);
        }
        let r = generate(app, org, id).await;
        assert_eq!(r.status(), 409);
        let code = r.json::<Value>().await.unwrap()["error"]["code"].clone();
        assert_eq!(code, "INVALID_BATTLE_STATE");
        let (last, rest) = pairings.split_last().unwrap();
        for p in rest {
            complete(app, org, p, &pick(p)).await;
        }
        // Watch the last table: it hears the tournament end if this was the last round.
        let mut sock = ws(app, &ps[0].token, last["battle_id"].as_str().unwrap()).await;
        next_of(&mut sock, "connected").await;
        complete(app, org, last, &pick(last)).await;
        last_table = Some(sock);
        rounds.push(round);
        assert!(rounds.len() < 20, "never finishes");
    }
    let ev = next_of(last_table.as_mut().unwrap(), "tournament_completed").await;
    assert_eq!(ev["tournament_id"], id);
    let t = tournament(app, org, id).await;
    assert_eq!(t["status"], "completed");
    assert_eq!(t["winner_id"], ev["winner_id"]);
    let r = generate(app, org, id).await;
    assert_eq!(r.status(), 409, "no round after the end");
    rounds
}

async fn wins(app: &TestApp, token: &str) -> i64 {
    let v: Value = app
        .get_auth("/v1/auth/profile", token)
        .await
        .json()
        .await
        .unwrap();
    v["user"]["tournament_wins"].as_i64().unwrap()
}

async fn tournament(app: &TestApp, token: &str, id: &str) -> Value {
    app.get_auth(&format!("/v1/tournaments/{id}"), token)
        .await
        .json::<Value>()
        .await
        .unwrap()["tournament"]
        .clone()
}

#[tokio::test]
async fn swiss_8_players_over_3_rounds() {
    let app = spawn_app().await;
    let (_, org) = organizer(&app, "orga").await;
    let (id, ps) = field(
        &app,
        &org,
        "swiss",
        8,
        json!({"points_limit": 2000, "time_limit": 3600, "rounds": 3}),
    )
    .await;
    // Player 1 (better seed) wins, except at table 2 where player 2 does.
    let rounds = play_out(&app, &org, &id, &ps, |p| {
        if p["table_number"] == 2 {
            p["player2_id"].clone()
        } else {
            p["player1_id"].clone()
        }
    })
    .await;
    assert_eq!(rounds.len(), 3);
    let mut met = BTreeSet::new();
    for r in &rounds {
        let mut seen = BTreeSet::new();
        for p in r["pairings"].as_array().unwrap() {
            let (a, b) = (
                seed_of(&ps, &p["player1_id"]),
                seed_of(&ps, &p["player2_id"]),
            );
            assert!(seen.insert(a) && seen.insert(b), "once per round");
            assert!(met.insert((a.min(b), a.max(b))), "no rematch");
        }
        assert_eq!(seen.len(), 8);
    }
    let t = tournament(&app, &org, &id).await;
    assert_eq!(t["status"], "completed");
    assert_eq!(t["rounds"].as_array().unwrap().len(), 3);
    let s: Value = app
        .get_auth(&format!("/v1/tournaments/{id}/standings"), &org)
        .await
        .json()
        .await
        .unwrap();
    let rows = s["data"].as_array().unwrap();
    assert_eq!(rows.len(), 8);
    for w in rows.windows(2) {
        let key = |r: &Value| {
            (
                r["match_points"].as_i64().unwrap(),
                r["vp_for"].as_i64().unwrap(),
            )
        };
        assert!(key(&w[0]) >= key(&w[1]), "tie-break order");
    }
    assert_eq!(rows[0]["match_points"], 9);
    assert_eq!(rows[0]["user_id"], t["winner_id"]);
    let winner = &ps[seed_of(&ps, &t["winner_id"])];
    assert_eq!(wins(&app, &winner.token).await, 1);
}

#[tokio::test]
async fn swiss_7_players_with_byes() {
    let app = spawn_app().await;
    let (_, org) = organizer(&app, "orgb").await;
    let (id, ps) = field(&app, &org, "swiss", 7, json!({"rounds": 3})).await;
    let rounds = play_out(&app, &org, &id, &ps, |p| p["player1_id"].clone()).await;
    assert_eq!(rounds.len(), 3);
    let byes: Vec<usize> = rounds.iter().map(|r| seed_of(&ps, &r["bye"])).collect();
    assert_eq!(
        byes.iter().collect::<BTreeSet<_>>().len(),
        3,
        "at most one bye each"
    );
    for r in &rounds {
        assert_eq!(r["pairings"].as_array().unwrap().len(), 3);
        assert!(r["explanation"].as_str().unwrap().contains("Bye"));
    }
    let s: Value = app
        .get_auth(&format!("/v1/tournaments/{id}/standings"), &org)
        .await
        .json()
        .await
        .unwrap();
    let with_bye: Vec<&Value> = s["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["byes"] == 1)
        .collect();
    assert_eq!(with_bye.len(), 3);
    assert!(
        with_bye.iter().all(|r| r["wins"].as_i64().unwrap() >= 1),
        "a bye scores as a win"
    );
}

#[tokio::test]
async fn spec_flow_create_register_generate_without_any_other_call() {
    let app = spawn_app().await;
    let (_, org) = organizer(&app, "orgspec").await;
    // The spec's create body: no status, no prize pool, no rounds.
    let r = app
        .post_auth(
            "/v1/tournaments",
            &org,
            &json!({"name": "Winter 40K Championship", "format": "swiss", "max_participants": 32,
                "entry_fee": 25.00, "start_date": "2030-02-01T09:00:00Z",
                "rules": {"points_limit": 2000, "time_limit": 1800}}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let t: Value = r.json::<Value>().await.unwrap()["tournament"].clone();
    assert_eq!(t["status"], "registration");
    let id = t["id"].as_str().unwrap().to_string();
    let mut ps = Vec::new();
    for i in 0..4 {
        let p = player(&app, &format!("specp{i}")).await;
        let r = app
            .post_auth(
                &format!("/v1/tournaments/{id}/register"),
                &p.token,
                &json!({"army_id": p.army}),
            )
            .await;
        assert_eq!(r.status(), 201);
        ps.push(p);
    }
    // The prize pool follows the entries (25.00 × 4) since nobody set one.
    let t = tournament(&app, &org, &id).await;
    assert_eq!(t["prize_pool"], 100.0);
    // The first generate-pairings closes registration and starts round 1.
    let r = generate(&app, &org, &id).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let t = tournament(&app, &org, &id).await;
    assert_eq!(t["status"], "active");
    let late = player(&app, "speclate").await;
    let r = app
        .post_auth(
            &format!("/v1/tournaments/{id}/register"),
            &late.token,
            &json!({"army_id": late.army}),
        )
        .await;
    assert_eq!(r.status(), 409, "registration closed");
    // Without rules.rounds the organizer pairs rounds until no rematch-free pairing is left:
    // four players have three (a round robin); the fourth is refused and says why.
    for round in 1..=3 {
        let t = tournament(&app, &org, &id).await;
        let pairings = t["rounds"][round - 1]["pairings"]
            .as_array()
            .unwrap()
            .clone();
        for p in &pairings {
            complete(&app, &org, p, &p["player1_id"]).await;
        }
        let r = generate(&app, &org, &id).await;
        if round < 3 {
            assert_eq!(
                r.status(),
                201,
                "round {}: {}",
                round + 1,
                r.text().await.unwrap()
            );
        } else {
            assert_eq!(r.status(), 409);
            let b: Value = r.json().await.unwrap();
            let msg = b["error"]["message"].as_str().unwrap();
            assert!(msg.contains("no rematch-free pairing"), "{msg}");
        }
    }
    // Still active until the organizer completes it.
    assert_eq!(tournament(&app, &org, &id).await["status"], "active");
    let r = patch(&app, &org, &id, json!({"status": "completed"})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(tournament(&app, &org, &id).await["status"], "completed");
    // A draft stays a draft until registration opens.
    let r = app
        .post_auth(
            "/v1/tournaments",
            &org,
            &json!({"name": "Later", "format": "swiss", "max_participants": 8, "status": "draft"}),
        )
        .await;
    assert_eq!(
        r.json::<Value>().await.unwrap()["tournament"]["status"],
        "draft"
    );
}

#[tokio::test]
async fn a_tournament_result_counts_at_once_and_the_opponent_may_dispute_it_until_the_next_round() {
    let app = spawn_app().await;
    let (_, org) = organizer(&app, "orgdisp").await;
    let (id, ps) = field(&app, &org, "swiss", 4, json!({"rounds": 2})).await;
    let r = generate(&app, &org, &id).await;
    assert_eq!(r.status(), 201);
    let round: Value = r.json::<Value>().await.unwrap()["round"].clone();
    let pairings = round["pairings"].as_array().unwrap().clone();
    let token_of = |uid: &Value| {
        ps.iter()
            .find(|p| json!(p.id) == *uid)
            .unwrap()
            .token
            .clone()
    };
    let (a, b) = (&pairings[0], &pairings[1]);
    // Player 1 of table 1 enters a win for themselves: it counts at once.
    let p1_token = token_of(&a["player1_id"]);
    complete(&app, &p1_token, a, &a["player1_id"]).await;
    let st: Value = app
        .get_auth(&format!("/v1/tournaments/{id}/standings"), &org)
        .await
        .json()
        .await
        .unwrap();
    let row = |st: &Value, u: &Value| {
        st["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["user_id"] == *u)
            .unwrap()
            .clone()
    };
    assert_eq!(row(&st, &a["player1_id"])["wins"], 1);
    let battle = a["battle_id"].as_str().unwrap().to_string();
    let url = app.url(&format!("/v1/battles/{battle}"));
    let send = |token: String, body: Value| {
        let http = app.http.clone();
        let url = url.clone();
        async move {
            http.patch(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    // The one who entered it cannot dispute it; the opponent can.
    let r = send(
        p1_token.clone(),
        json!({"action": "dispute_result", "reason": "mine"}),
    )
    .await;
    assert_eq!(r.status(), 409);
    let p2_token = token_of(&a["player2_id"]);
    let r = send(
        p2_token.clone(),
        json!({"action": "dispute_result", "reason": "we drew on VP"}),
    )
    .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["battle"]["dispute"]["reason"], "we drew on VP");
    let st: Value = app
        .get_auth(&format!("/v1/tournaments/{id}/standings"), &org)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(st["disputed_battles"], json!([battle]));
    assert_eq!(row(&st, &a["player2_id"])["disputed"], true);
    // Only the organizer resolves it.
    let resolve = json!({"action": "resolve_dispute", "winner_id": a["player2_id"]});
    assert_eq!(send(p2_token.clone(), resolve.clone()).await.status(), 403);
    let r = send(org.clone(), resolve).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let st: Value = app
        .get_auth(&format!("/v1/tournaments/{id}/standings"), &org)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(row(&st, &a["player2_id"])["wins"], 1);
    assert_eq!(row(&st, &a["player1_id"])["wins"], 0);
    assert_eq!(st["disputed_battles"], json!([]));
    // Once the next round is paired, the round's results stand.
    complete(&app, &org, b, &b["player1_id"]).await;
    assert_eq!(generate(&app, &org, &id).await.status(), 201);
    let other = b["battle_id"].as_str().unwrap();
    let r = app
        .http
        .patch(app.url(&format!("/v1/battles/{other}")))
        .bearer_auth(token_of(&b["player2_id"]))
        .json(&json!({"action": "dispute_result"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let msg = r.json::<Value>().await.unwrap()["error"]["message"].clone();
    assert!(msg.as_str().unwrap().contains("next round"), "{msg}");
}
