//! `/` and `/watch/{id}` with a real robot battle: the home page lists it, a late joiner sees
//! the ticks so far at once, ticks and HP move live, a dropped socket resumes without a gap,
//! the winner appears, and the finished battle replays.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{json, Value};

use crate::browser::Browser;
use crate::helpers::spawn_app_with;
use crate::{keep_screenshot, live_tick, robot_battle};

/// Tick numbers in the page's log, oldest first.
async fn log_ticks(b: &Browser) -> Vec<i64> {
    let v = b
        .js(
            "return [...document.querySelectorAll('#log li')].map(li => Number(li.dataset.tick));",
            vec![],
        )
        .await;
    let mut t: Vec<i64> = serde_json::from_value(v).unwrap_or_default();
    t.reverse();
    t
}

#[tokio::test]
async fn home_lists_a_live_battle_and_watch_follows_it_live_then_replays_it() {
    let app = spawn_app_with(|c| {
        c.tick = Duration::from_millis(300);
        c.countdown = Duration::from_millis(1000);
    })
    .await;
    let Some(b) = Browser::start(&app.base).await else {
        return;
    };
    let (id, players) = robot_battle(&app, "ZephyrPage", "BlitzPage").await;
    let viewer = crate::guest_token(&app).await;

    // Home: the battle shows up as a link to its watch page.
    b.open("/").await;
    let sel = format!("a[data-role=\"live-battle\"][data-battle=\"{id}\"]");
    b.until("live battle on the home page", || async {
        (b.count(&sel).await == 1).then_some(())
    })
    .await;
    b.screenshot("home-live").await;
    b.assert_clean().await;

    // Join late: wait until the battle has played a few ticks, then follow the link.
    b.until("battle past tick 4", || async {
        live_tick(&app, &viewer, &id).await.filter(|t| *t >= 4)
    })
    .await;
    b.js(
        "document.querySelector(arguments[0]).click(); return null;",
        vec![json!(sel)],
    )
    .await;
    let first = b.until_num("tick", |t| t >= 4).await;
    let log = log_ticks(&b).await;
    let last = *log.last().expect("log lines");
    assert!(last >= first, "{log:?} vs tick {first}");
    assert_eq!(
        log.len() as i64,
        last.min(12),
        "late join shows earlier ticks at once: {log:?}"
    );
    assert!(log.windows(2).all(|w| w[1] == w[0] + 1), "no gap: {log:?}");
    assert_eq!(
        b.role_text("winner").await.as_deref(),
        Some(""),
        "no winner yet"
    );

    // Live: the tick rises and HP changes.
    let hp0 = (b.role_num("p1-hp").await, b.role_num("p2-hp").await);
    b.until_num("tick", |t| t >= first + 3).await;
    b.until("HP changes", || async {
        let hp = (b.role_num("p1-hp").await, b.role_num("p2-hp").await);
        (hp != hp0).then_some(())
    })
    .await;
    keep_screenshot(&b, "watch").await;

    // A dropped connection: the page reconnects with since_tick and shows no gap.
    let before = b.role_num("tick").await.unwrap();
    b.js(
        "window.warroomSocket.io.engine.close(); return null;",
        vec![],
    )
    .await;
    let winner_or_later = b
        .until("ticks again after the reconnect", || async {
            let t = b.role_num("tick").await?;
            let w = b.role_text("winner").await.unwrap_or_default();
            (t > before + 2 || !w.is_empty()).then_some(t)
        })
        .await;
    let log = log_ticks(&b).await;
    assert!(
        log.windows(2).all(|w| w[1] == w[0] + 1),
        "no gap after reconnect: {log:?}"
    );
    assert!(winner_or_later > before);

    // The end: the winner's name (or Draw) appears, as the API says.
    let shown = b
        .until("winner", || async {
            b.role_text("winner").await.filter(|w| !w.is_empty())
        })
        .await;
    let battle: Value = app
        .get_auth(&format!("/v2/battles/{id}"), &viewer)
        .await
        .json()
        .await
        .unwrap();
    let expected = match battle["winner_id"].as_str() {
        Some(w) if w == players[0].0 => players[0].1.clone(),
        Some(w) if w == players[1].0 => players[1].1.clone(),
        _ => "Draw".to_string(),
    };
    assert_eq!(shown, expected);
    assert_eq!(b.role_text("status").await.as_deref(), Some("Ended"));
    b.screenshot("watch-ended").await;
    b.assert_clean().await;

    // Replay: opening the finished battle plays it from the start.
    b.open(&format!("/watch/{id}")).await;
    b.until("replay status", || async {
        (b.role_text("status").await.as_deref() == Some("Replay")).then_some(())
    })
    .await;
    let start = b.until_num("tick", |t| t >= 1).await;
    b.until_num("tick", |t| t >= start + 3).await;
    let seen: BTreeSet<i64> = log_ticks(&b).await.into_iter().collect();
    assert!(seen.contains(&1), "replay starts at tick 1: {seen:?}");
    assert_eq!(b.role_text("winner").await.unwrap_or_default(), expected);
    // Pause and scrub to the end with the keyboard-usable controls.
    b.js("document.getElementById('play').click(); const s = document.getElementById('scrub'); s.value = s.max; s.dispatchEvent(new Event('input')); return null;", vec![])
        .await;
    let total = battle["total_ticks"].as_i64().unwrap();
    b.until_num("tick", |t| t == total).await;
    keep_screenshot(&b, "replay").await;
    b.assert_clean().await;

    // Home again, fuller: the two ranked players lead the board, another battle is live and
    // a tournament takes registrations.
    let (second, _) = robot_battle(&app, "NovaPage", "QuartzPage").await;
    let (_, org) =
        crate::user_with_role(&app, "homeorganizer", warroom::auth::Role::Organizer).await;
    let r = app
        .post_auth(
            "/v1/tournaments",
            &org,
            &json!({"name": "Spring Grand Tournament", "format": "swiss",
            "max_participants": 16, "status": "registration", "rules": {"points_limit": 2000}}),
        )
        .await;
    assert_eq!(r.status(), 201);
    b.open("/").await;
    let sel = format!("a[data-role=\"live-battle\"][data-battle=\"{second}\"]");
    b.until("home: live battle, leaders, tournament", || async {
        (b.count(&sel).await == 1
            && b.count("[data-role=leader]").await >= 2
            && b.count("[data-role=tournament]").await == 1)
            .then_some(())
    })
    .await;
    keep_screenshot(&b, "home").await;
    // Without a reload: the second battle ends, leaves the live list, and its players join
    // the board (through the `leaderboard` room).
    b.until("board and live list follow the end", || async {
        (b.count(&sel).await == 0 && b.count("[data-role=leader]").await == 4).then_some(())
    })
    .await;
    b.assert_clean().await;
    b.close().await;
}

#[tokio::test]
async fn watch_an_unknown_battle_says_so() {
    let app = spawn_app_with(|_| {}).await;
    let Some(b) = Browser::start(&app.base).await else {
        return;
    };
    let path = format!("/watch/{}", uuid::Uuid::new_v4());
    b.open(&path).await;
    b.until("not-found notice", || async {
        let shown = b
            .js("return !document.getElementById('missing').hidden && document.getElementById('arena').hidden;", vec![])
            .await;
        (shown == json!(true)).then_some(())
    })
    .await;
    let r = app
        .http
        .get(app.url(&format!("/watch/{}", uuid::Uuid::new_v4())))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    b.screenshot("watch-unknown").await;
    // Nothing but the page's own 404: it asks the API for nothing it knows is missing.
    b.assert_clean_but(Some(&path)).await;
    b.close().await;
}
