//! Users, stats and the leaderboard: real HTTP and a real Socket.IO client. Battles and ratings
//! are written with SQL (the battle actor that fills them lives elsewhere), then the server is
//! asked to rebuild (admin refresh, or a restart: the index is rebuilt at start).

use std::time::Duration;

use futures_util::FutureExt;
use rust_socketio::{asynchronous::ClientBuilder, Payload, TransportType};
use serde_json::{json, Value};
use sqlx::AnyPool;
use tokio::sync::mpsc;
use uuid::Uuid;
use warroom::config::DatabaseTarget;

use crate::helpers::{spawn_app_with, TestApp};

async fn app() -> TestApp {
    // Many registrations and requests per test: the limits have their own tests.
    spawn_app_with(|c| c.rate_limits.enabled = false).await
}

async fn pool(app: &TestApp) -> AnyPool {
    sqlx::any::install_default_drivers();
    let url = match &app.config.database {
        DatabaseTarget::Sqlite(u) | DatabaseTarget::Postgres(u) => u.clone(),
    };
    AnyPool::connect(&url).await.expect("test db connection")
}

async fn exec(db: &AnyPool, sql: &str, binds: &[Value]) {
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()));
    for b in binds {
        q = match b {
            Value::String(s) => q.bind(s.clone()),
            Value::Number(n) if n.is_i64() => q.bind(n.as_i64().unwrap()),
            Value::Number(n) => q.bind(n.as_f64().unwrap()),
            Value::Null => q.bind(None::<String>),
            other => q.bind(other.to_string()),
        };
    }
    q.execute(db).await.expect(sql);
}

/// A user without the HTTP round trip (no password: cannot log in).
async fn insert_user(db: &AnyPool, name: &str) -> String {
    let id = Uuid::new_v4().to_string();
    exec(
        db,
        "INSERT INTO users (id, username, username_lower, email, email_lower, password_hash, \
         avatar_url, level, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'x', $6, 3, 1, 1)",
        &[
            json!(id),
            json!(name),
            json!(name.to_lowercase()),
            json!(format!("{name}@example.com")),
            json!(format!("{name}@example.com")),
            json!(format!("/avatars/{name}.png")),
        ],
    )
    .await;
    id
}

async fn rate(db: &AnyPool, user: &str, season: i64, mode: &str, rating: f64, w: i64, l: i64) {
    exec(
        db,
        "INSERT INTO ratings (user_id, season, mode, rating, deviation, volatility, peak_rating, \
         wins, losses, draws, updated_at) VALUES ($1, $2, $3, $4, 200.0, 0.06, $5, $6, $7, 0, 1767225600000)",
        &[json!(user), json!(season), json!(mode), json!(rating), json!(rating + 10.0), json!(w), json!(l)],
    )
    .await;
}

/// A completed battle; `winner` 0 = draw, 1 = p1, 2 = p2.
#[allow(clippy::too_many_arguments)]
async fn battle(
    db: &AnyPool,
    status: &str,
    biome: &str,
    p1: (&str, &str),
    p2: (&str, &str),
    winner: u8,
    gmo: (i64, i64),
) {
    let snap = |el: &str| json!({"robot": {"slug": "x", "element": el}}).to_string();
    let winner_id = match winner {
        1 => json!(p1.0),
        2 => json!(p2.0),
        _ => Value::Null,
    };
    let result = json!({"p1": {"gmo_delta": gmo.0, "rating_delta": 0}, "p2": {"gmo_delta": gmo.1, "rating_delta": 0}});
    exec(
        db,
        "INSERT INTO robot_battles (id, mode, status, biome, season, p1_id, p2_id, p1_snapshot, \
         p2_snapshot, inputs, engine_version, lcg_seed, winner_id, is_draw, result, created_at) \
         VALUES ($1, 'RANKED', $2, $3, 1, $4, $5, $6, $7, '{}', 1, 7, $8, $9, $10, 1)",
        &[
            json!(Uuid::new_v4().to_string()),
            json!(status),
            json!(biome),
            json!(p1.0),
            json!(p2.0),
            json!(snap(p1.1)),
            json!(snap(p2.1)),
            winner_id,
            json!(i64::from(winner == 0)),
            json!(result.to_string()),
        ],
    )
    .await;
}

/// Promotes a registered user to admin and logs in again (the role travels in the token).
async fn admin_token(app: &TestApp, db: &AnyPool, name: &str) -> String {
    app.register_v2(name).await;
    exec(
        db,
        "UPDATE users SET role = 'admin' WHERE username_lower = $1",
        &[json!(name.to_lowercase())],
    )
    .await;
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

async fn refresh(app: &TestApp, admin: &str) -> Value {
    let r = app
        .post_auth("/v2/admin/leaderboard/refresh", admin, &json!({}))
        .await;
    assert_eq!(r.status(), 202);
    r.json().await.unwrap()
}

async fn get_json(app: &TestApp, path: &str, token: &str) -> (u16, Value) {
    let r = app.get_auth(path, token).await;
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn patch(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    let r = app
        .http
        .patch(app.url("/v2/users/me"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

fn names(v: &Value) -> Vec<String> {
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["username"].as_str().unwrap().to_string())
        .collect()
}

fn ranks(v: &Value) -> Vec<u64> {
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rank"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn leaderboard_users_me_and_patch() {
    let app = app().await;
    let (_, alice) = app.register_v2("alice").await;
    app.register_v2("bob").await;
    let (s, me) = get_json(&app, "/v2/users/me", &alice).await;
    assert_eq!(s, 200);
    for k in [
        "id",
        "username",
        "email",
        "wallet_address",
        "gmo_balance",
        "eldr_balance",
        "xp",
        "level",
        "avatar_url",
        "created_at",
    ] {
        assert!(me.get(k).is_some(), "missing {k}: {me}");
    }
    assert_eq!(me["email"], "alice@example.com");
    assert_eq!(me["gmo_balance"], 1000);
    assert_eq!(me["eldr_balance"], "0.0");
    assert!(me["created_at"].as_str().unwrap().ends_with('Z'));

    let (s, up) = patch(
        &app,
        &alice,
        json!({"username": "alice_2", "avatar_url": "/avatars/robot.png"}),
    )
    .await;
    assert_eq!(s, 200, "{up}");
    assert_eq!(
        (up["username"].as_str(), up["avatar_url"].as_str()),
        (Some("alice_2"), Some("/avatars/robot.png"))
    );
    assert_eq!(
        get_json(&app, "/v2/users/me", &alice).await.1["username"],
        "alice_2"
    );

    let (s, e) = patch(&app, &alice, json!({"username": "BOB"})).await;
    assert_eq!((s, e["error"].as_str()), (409, Some("CONFLICT")), "{e}");
    for bad in [
        json!({"username": "a"}),
        json!({"avatar_url": "javascript:x"}),
        json!({"email": "x@y.z"}),
        json!({"username": 5}),
    ] {
        let (s, e) = patch(&app, &alice, bad.clone()).await;
        assert_eq!(
            (s, e["error"].as_str()),
            (400, Some("VALIDATION_ERROR")),
            "{bad} → {e}"
        );
    }
    let r = app.http.get(app.url("/v2/users/me")).send().await.unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn leaderboard_public_profile_hides_email_and_wallet() {
    let app = app().await;
    let (_, alice) = app.register_v2("alice").await;
    let (bob, _) = app.register_v2("bob").await;
    let (s, p) = get_json(
        &app,
        &format!("/v2/users/{}", bob["id"].as_str().unwrap()),
        &alice,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(p["username"], "bob");
    assert!(
        p.get("email").is_none() && p.get("wallet_address").is_none(),
        "{p}"
    );
    assert!(p.get("gmo_balance").is_none(), "{p}");
    assert_eq!(
        (
            p["rating"].as_i64(),
            p["wins"].as_i64(),
            p["rank"].is_null()
        ),
        (Some(1500), Some(0), true)
    );
    // Public: no token needed.
    let r = app
        .http
        .get(app.url(&format!("/v2/users/{}", bob["id"].as_str().unwrap())))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    for id in [Uuid::new_v4().to_string(), "garbage".into()] {
        let (s, e) = get_json(&app, &format!("/v2/users/{id}"), &alice).await;
        assert_eq!((s, e["error"].as_str()), (404, Some("NOT_FOUND")));
    }
}

#[tokio::test]
async fn leaderboard_stats_have_every_field() {
    let app = app().await;
    let db = pool(&app).await;
    let (alice, token) = app.register_v2("alice").await;
    let a = alice["id"].as_str().unwrap();
    let b = insert_user(&db, "bob").await;
    let (s, empty) = get_json(&app, "/v2/users/me/stats", &token).await;
    assert_eq!(s, 200);
    assert_eq!(empty["battles_total"], 0);
    assert_eq!(
        (empty["win_rate"].as_f64(), empty["rating"].as_i64()),
        (Some(0.0), Some(1500))
    );
    assert!(empty["favorite_element"].is_null());

    battle(
        &db,
        "COMPLETED",
        "CITY",
        (a, "VOLT"),
        (&b, "PYRO"),
        1,
        (90, -100),
    )
    .await;
    battle(
        &db,
        "COMPLETED",
        "CITY",
        (&b, "BIO"),
        (a, "PYRO"),
        1,
        (45, -50),
    )
    .await;
    battle(
        &db,
        "COMPLETED",
        "DESERT",
        (a, "VOLT"),
        (&b, "BIO"),
        0,
        (0, 0),
    )
    .await;
    battle(
        &db,
        "IN_PROGRESS",
        "ARCTIC",
        (a, "NANO"),
        (&b, "NANO"),
        0,
        (0, 0),
    )
    .await;
    rate(&db, a, 1, "RANKED", 1523.6, 1, 1).await;
    exec(
        &db,
        "UPDATE ratings SET peak_rating = 1540.2 WHERE user_id = $1",
        &[json!(a)],
    )
    .await;
    exec(
        &db,
        "INSERT INTO ledger_transfers (id, kind, currency, amount, debit_account, credit_account, created_at) \
         VALUES ($1, 'PAYOUT', 'ELDR', 1500000000, 'system:issuance', $2, 1), ($3, 'DEPOSIT', 'ELDR', 7000000000, 'system:bridge', $2, 1)",
        &[json!(Uuid::new_v4().to_string()), json!(format!("user:{a}")), json!(Uuid::new_v4().to_string())],
    )
    .await;

    let (_, st) = get_json(&app, "/v2/users/me/stats", &token).await;
    let want = json!({
        "battles_total": 3, "battles_won": 1, "battles_lost": 1, "battles_drawn": 1,
        "win_rate": 33.3, "rating": 1524, "peak_rating": 1540, "gmo_earned_total": 90,
        "eldr_earned_total": "1.5", "favorite_element": "VOLT", "favorite_biome": "CITY"
    });
    assert_eq!(st, want);
    let (_, p) = get_json(&app, &format!("/v2/users/{a}"), &token).await;
    assert_eq!(
        (
            p["wins"].as_i64(),
            p["losses"].as_i64(),
            p["draws"].as_i64(),
            p["rating"].as_i64()
        ),
        (Some(1), Some(1), Some(1), Some(1524))
    );
}

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
        "limit=500",
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

type Events = mpsc::UnboundedReceiver<(String, Value)>;

async fn socket(app: &TestApp, token: &str) -> (rust_socketio::asynchronous::Client, Events) {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut b = ClientBuilder::new(format!("{}/v2/ws/?token={token}", app.base))
        .transport_type(TransportType::Websocket);
    for ev in ["pong", "leaderboard:updated"] {
        let tx = tx.clone();
        b = b.on(ev, move |payload, _| {
            let tx = tx.clone();
            async move {
                if let Payload::Text(mut v) = payload {
                    let _ = tx.send((ev.to_string(), v.pop().unwrap_or(Value::Null)));
                }
            }
            .boxed()
        });
    }
    let client = b.connect().await.expect("socket.io connect");
    // rust_socketio emits before the CONNECT ack; the server drops those, so ping until pong.
    let mut rx = rx;
    for _ in 0..50 {
        client.emit("ping", json!({})).await.unwrap();
        if let Ok(Some((name, _))) =
            tokio::time::timeout(Duration::from_millis(200), rx.recv()).await
        {
            assert_eq!(name, "pong");
            return (client, rx);
        }
    }
    panic!("no pong");
}

/// Emits `event` with an ack and waits for the ack.
async fn emit_acked(client: &rust_socketio::asynchronous::Client, event: &str) -> Value {
    let (tx, mut rx) = mpsc::unbounded_channel();
    client
        .emit_with_ack(
            event,
            json!({}),
            Duration::from_secs(5),
            move |p: Payload, _| {
                let tx = tx.clone();
                async move {
                    // rust_socketio hands ack arguments over as one JSON array.
                    if let Payload::Text(mut v) = p {
                        let v = match v.pop() {
                            Some(Value::Array(mut args)) => args.pop(),
                            other => other,
                        };
                        let _ = tx.send(v.unwrap_or(Value::Null));
                    }
                }
                .boxed()
            },
        )
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("ack")
        .unwrap()
}

async fn next_update(rx: &mut Events) -> Value {
    loop {
        let (name, v) = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("leaderboard:updated")
            .unwrap();
        if name == "leaderboard:updated" {
            return v;
        }
    }
}

#[tokio::test]
async fn leaderboard_socket_room_gets_top_100_deltas() {
    let app = app().await;
    let db = pool(&app).await;
    let (alice, token) = app.register_v2("alice").await;
    let a = alice["id"].as_str().unwrap().to_string();
    let admin = admin_token(&app, &db, "boss").await;
    let b = insert_user(&db, "bob").await;
    rate(&db, &a, 1, "RANKED", 1600.0, 2, 0).await;
    rate(&db, &b, 1, "RANKED", 1500.0, 0, 2).await;

    let (client, mut rx) = socket(&app, &token).await;
    assert_eq!(
        emit_acked(&client, "leaderboard:join").await["joined"],
        true
    );
    // A rebuild that changes the top 100 pushes the changed rows.
    refresh(&app, &admin).await;
    let d = next_update(&mut rx).await;
    assert_eq!(
        (d["season"].as_i64(), d["mode"].as_str()),
        (Some(1), Some("RANKED"))
    );
    assert_eq!(
        (
            names(&json!({"data": d["entries"]})),
            ranks(&json!({"data": d["entries"]}))
        ),
        (vec!["alice".to_string(), "bob".into()], vec![1, 2])
    );

    // A rename of a top-100 player is a one-row delta.
    let (s, _) = patch(&app, &token, json!({"username": "alice_v2"})).await;
    assert_eq!(s, 200);
    let d = next_update(&mut rx).await;
    assert_eq!(
        d["entries"],
        json!([{"rank": 1, "user_id": a, "username": "alice_v2", "avatar_url": "/avatars/default.png",
        "level": 1, "rating": 1600, "wins": 2, "losses": 0, "win_rate": 100.0}])
    );
    // Bob overtakes alice (written to SQL, then rebuilt): both rows change.
    exec(
        &db,
        "UPDATE ratings SET rating = 1700 WHERE user_id = $1",
        &[json!(b)],
    )
    .await;
    refresh(&app, &admin).await;
    let d = next_update(&mut rx).await;
    assert_eq!(ranks(&json!({"data": d["entries"]})), vec![1, 2]);
    assert_eq!(d["entries"][0]["username"], "bob");

    // After leaving, nothing more arrives.
    assert_eq!(
        emit_acked(&client, "leaderboard:leave").await["joined"],
        false
    );
    exec(
        &db,
        "UPDATE ratings SET rating = 1400 WHERE user_id = $1",
        &[json!(b)],
    )
    .await;
    refresh(&app, &admin).await;
    let quiet = tokio::time::timeout(Duration::from_millis(500), async {
        loop {
            if let Some((n, _)) = rx.recv().await {
                if n == "leaderboard:updated" {
                    return;
                }
            }
        }
    })
    .await;
    assert!(quiet.is_err(), "no delta after leaving");
    client.disconnect().await.unwrap();
}
