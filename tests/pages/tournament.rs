//! `/tournaments/{id}`: the round clock counts down, the pairings are the API's, standings
//! list every player, and a result shows up live.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::browser::Browser;
use crate::helpers::spawn_app;
use crate::{army, keep_screenshot, user_with_role};

fn seconds(clock: &str) -> Option<i64> {
    clock
        .split(':')
        .try_fold(0i64, |acc, p| p.parse::<i64>().ok().map(|n| acc * 60 + n))
}

#[tokio::test]
async fn tournament_page_shows_clock_pairings_and_standings_live() {
    let app = spawn_app().await;
    let (_, org) = user_with_role(&app, "pageorganizer", warroom::auth::Role::Organizer).await;
    let r = app
        .post_auth(
            "/v1/tournaments",
            &org,
            &json!({"name": "Winter 40K Championship", "format": "swiss",
            "max_participants": 8, "status": "registration",
            "rules": {"points_limit": 2000, "time_limit": 5400, "allowed_factions": ["all"]}}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["tournament"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut names = Vec::new();
    for i in 0..4 {
        let name = format!("tourplayer{i}");
        let (_, token, _) = app.register_v1(&name).await;
        let a = army(&app, &token).await;
        let r = app
            .post_auth(
                &format!("/v1/tournaments/{id}/register"),
                &token,
                &json!({"army_id": a}),
            )
            .await;
        assert_eq!(r.status(), 201);
        names.push(name);
    }
    let r = app
        .http
        .patch(app.url(&format!("/v1/tournaments/{id}")))
        .bearer_auth(&org)
        .json(&json!({"status": "active"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = app
        .post_auth(
            &format!("/v1/tournaments/{id}/generate-pairings"),
            &org,
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let round: Value = r.json::<Value>().await.unwrap()["round"].clone();
    let pairings = round["pairings"].as_array().unwrap().clone();

    let Some(b) = Browser::start(&app.base).await else {
        return;
    };
    b.open(&format!("/tournaments/{id}")).await;
    // The round clock: 1:30:00 at most, and counting down.
    let first = b
        .until("round clock shows", || async {
            b.role_text("round-clock")
                .await
                .as_deref()
                .and_then(seconds)
                .filter(|s| *s > 0 && *s <= 5400)
        })
        .await;
    let shown = b.role_text("round-clock").await.unwrap();
    assert!(
        shown.starts_with("1:29:") || shown == "1:30:00",
        "h:mm:ss: {shown}"
    );
    b.until("round clock counts down", || async {
        b.role_text("round-clock")
            .await
            .as_deref()
            .and_then(seconds)
            .filter(|s| *s < first)
    })
    .await;

    // Pairings: one per table, the API's tables and battles, with the players' names.
    assert_eq!(b.count("[data-role=pairing]").await, pairings.len());
    let page: Value = b
        .js(
            "return [...document.querySelectorAll('[data-role=pairing]')].map(li => [Number(li.dataset.table), li.dataset.battle, li.textContent]);",
            vec![],
        )
        .await;
    let page = page.as_array().unwrap().clone();
    let api: BTreeSet<(i64, String)> = pairings
        .iter()
        .map(|p| {
            (
                p["table_number"].as_i64().unwrap(),
                p["battle_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let seen: BTreeSet<(i64, String)> = page
        .iter()
        .map(|p| (p[0].as_i64().unwrap(), p[1].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(seen, api);
    let text: String = page.iter().map(|p| p[2].as_str().unwrap()).collect();
    b.until("player names", || async {
        let t = b
            .js(
                "return document.getElementById('pairings').textContent;",
                vec![],
            )
            .await;
        let t = t.as_str().unwrap_or_default().to_string();
        names.iter().all(|n| t.contains(n.as_str())).then_some(())
    })
    .await;
    let _ = text;
    assert_eq!(b.count("[data-role=standing]").await, 4);

    // A result arrives live: the organizer completes table 1's battle.
    let p = pairings.iter().find(|p| p["table_number"] == 1).unwrap();
    let winner = p["player1_id"].as_str().unwrap();
    let loser = p["player2_id"].as_str().unwrap();
    let r = app
        .post_auth(
            &format!("/v1/battles/{}/complete", p["battle_id"].as_str().unwrap()),
            &org,
            &json!({"winner_id": winner, "final_scores": {winner: {"victory_points": 60}, loser: {"victory_points": 40}}}),
        )
        .await;
    assert_eq!(r.status(), 200);
    b.until("result on table 1", || async {
        let t = b
            .js("return document.querySelector('[data-role=pairing][data-table=\"1\"]').textContent;", vec![])
            .await;
        t.as_str().is_some_and(|t| t.contains("won")).then_some(())
    })
    .await;
    // Standings follow: the winner leads with 3 match points.
    let standings: Value = app
        .get_auth(&format!("/v1/tournaments/{id}/standings"), &org)
        .await
        .json()
        .await
        .unwrap();
    let top = standings["data"][0]["user_id"]
        .as_str()
        .unwrap()
        .to_string();
    b.until("standings updated", || async {
        let v = b
            .js("const r = document.querySelector('[data-role=standing]'); return r && r.dataset.user;", vec![])
            .await;
        (v.as_str() == Some(top.as_str())).then_some(())
    })
    .await;
    keep_screenshot(&b, "tournament").await;
    // TV mode: full screen with the bar dimmed, from the button (F does the same).
    b.c.find(fantoccini::Locator::Id("tv-btn"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.until("TV mode", || async {
        (b.js("return document.body.classList.contains('tv');", vec![])
            .await
            == json!(true))
        .then_some(())
    })
    .await;
    b.screenshot("tournament-tv").await;
    b.assert_clean().await;
    b.close().await;
}

#[tokio::test]
async fn unknown_tournament_and_table_pages_are_404_with_a_message() {
    let app = spawn_app().await;
    for path in ["/tournaments/", "/table/"] {
        let r = app
            .http
            .get(app.url(&format!("{path}{}", uuid::Uuid::new_v4())))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        let html = r.text().await.unwrap();
        assert!(html.contains("data-page-state=\"missing\""));
    }
    // Assets: types and cache headers; an unknown one is a 404.
    let r = app
        .http
        .get(app.url("/assets/app.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    assert!(r.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age"));
    let tag = r.headers()["etag"].to_str().unwrap().to_string();
    let r = app
        .http
        .get(app.url("/assets/app.css"))
        .header("if-none-match", tag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    let r = app
        .http
        .get(app.url("/assets/vendor/socket.io.esm.min.js"))
        .send()
        .await
        .unwrap();
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    let r = app.http.get(app.url("/")).send().await.unwrap();
    assert!(r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'self'"));
    assert_eq!(
        app.http
            .get(app.url("/assets/nope.js"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}
