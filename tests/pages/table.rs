//! `/table/{id}`: a viewer watches the clock count down and sees another client's score
//! within a second, without any control; a signed-in player gets controls that work.

use std::time::{Duration, Instant};

use fantoccini::Locator;
use serde_json::{json, Value};

use crate::browser::Browser;
use crate::helpers::spawn_app;
use crate::{army, keep_screenshot};

fn seconds(clock: &str) -> Option<i64> {
    clock
        .split(':')
        .try_fold(0i64, |acc, p| p.parse::<i64>().ok().map(|n| acc * 60 + n))
}

#[tokio::test]
async fn table_display_counts_down_follows_scores_and_gives_controls_only_to_players() {
    let app = spawn_app().await;
    let (u1, t1, _) = app.register_v1("tableleft").await;
    let (u2, t2, _) = app.register_v1("tableright").await;
    let (a1, a2) = (army(&app, &t1).await, army(&app, &t2).await);
    let r = app
        .post_auth(
            "/v1/battles",
            &t1,
            &json!({"turn_time_limit": 120, "mission": {"name": "Take and Hold"},
            "players": [{"user_id": u1["id"], "army_id": a1, "position": "left"},
                        {"user_id": u2["id"], "army_id": a2, "position": "right"}]}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["battle"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let patch = |token: String, body: Value| {
        let (app, id) = (&app, id.clone());
        async move {
            app.http
                .patch(app.url(&format!("/v1/battles/{id}")))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(
        patch(t1.clone(), json!({"action": "start"})).await.status(),
        200
    );

    let Some(b) = Browser::start(&app.base).await else {
        return;
    };
    // A viewer (guest): the turn timer counts down.
    b.open(&format!("/table/{id}")).await;
    let first = b
        .until("timer shows", || async {
            b.role_text("timer")
                .await
                .as_deref()
                .and_then(seconds)
                .filter(|s| *s > 0 && *s <= 120)
        })
        .await;
    b.until("timer counts down", || async {
        b.role_text("timer")
            .await
            .as_deref()
            .and_then(seconds)
            .filter(|s| *s < first)
    })
    .await;
    assert_eq!(b.role_num("round").await, Some(1));
    assert_eq!(b.role_text("phase").await.as_deref(), Some("command"));
    assert_eq!(
        b.count("[data-action]").await,
        0,
        "a viewer has no controls"
    );
    assert_eq!(
        b.count("#ctl-main button, #ctl-left button, #ctl-right button")
            .await,
        0
    );

    // Another client's update_scores shows within a second.
    let sent = Instant::now();
    let r = patch(t2.clone(), json!({"action": "update_scores", "player_id": u2["id"], "scores": {"primary": 7, "secondary": 2}})).await;
    assert_eq!(r.status(), 200);
    b.until_num("vp-right", |v| v == 9).await;
    let took = sent.elapsed();
    assert!(took < Duration::from_secs(1), "score shown after {took:?}");
    assert_eq!(b.role_num("vp-left").await, Some(0));
    keep_screenshot(&b, "table").await;
    b.assert_clean().await;

    // The left player signs in through the form and gets working controls.
    b.c.find(Locator::Id("signin-btn"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.c.find(Locator::Css("input[name=username]"))
        .await
        .unwrap()
        .send_keys("tableleft")
        .await
        .unwrap();
    b.c.find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys("Secret-pass1")
        .await
        .unwrap();
    b.c.find(Locator::Css("#signin button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.until("signed in with controls", || async {
        (b.count("#signout-btn").await == 1 && b.count("[data-action=\"primary+left\"]").await == 1)
            .then_some(())
    })
    .await;
    let cp = b.role_num("cp-left").await.unwrap();
    b.c.find(Locator::Css("[data-action=\"primary+left\"]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.until_num("vp-left", |v| v == 1).await;
    b.c.find(Locator::Css("[data-action=\"cp+left\"]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.until_num("cp-left", |v| v == cp + 1).await;
    b.c.find(Locator::Css("[data-action=\"next_phase\"]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.until("phase moves on", || async {
        b.role_text("phase").await.filter(|p| p == "movement")
    })
    .await;
    let api: Value = app
        .get_auth(&format!("/v1/battles/{id}"), &t2)
        .await
        .json()
        .await
        .unwrap();
    let left = &api["battle"]["players"][0];
    assert_eq!(left["scores"]["primary"], 1);
    assert_eq!(left["command_points"].as_i64(), Some(cp + 1));
    assert_eq!(api["battle"]["current_turn"]["phase"], "movement");
    keep_screenshot(&b, "table-player").await;
    // On a phone the same page stacks into one column.
    b.c.set_window_size(412, 915).await.unwrap();
    b.c.execute("window.scrollTo(0, 0); return null;", vec![])
        .await
        .unwrap();
    let cols = b
        .js("return getComputedStyle(document.querySelector('.sides')).gridTemplateColumns.split(' ').length;", vec![])
        .await;
    assert_eq!(cols, json!(1), "one column on a phone");
    keep_screenshot(&b, "table-phone").await;
    b.assert_clean().await;
    b.close().await;
}
