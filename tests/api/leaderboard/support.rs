//! Shared helpers: a server without rate limits, SQL access to its database, fixtures.

use serde_json::{json, Value};
use sqlx::AnyPool;
use uuid::Uuid;
use warroom::config::DatabaseTarget;

use crate::helpers::{spawn_app_with, TestApp};

pub async fn app() -> TestApp {
    // Many registrations and requests per test: the limits have their own tests.
    spawn_app_with(|c| c.rate_limits.enabled = false).await
}

pub async fn pool(app: &TestApp) -> AnyPool {
    sqlx::any::install_default_drivers();
    let url = match &app.config.database {
        DatabaseTarget::Sqlite(u) | DatabaseTarget::Postgres(u) => u.clone(),
    };
    AnyPool::connect(&url).await.expect("test db connection")
}

pub async fn exec(db: &AnyPool, sql: &str, binds: &[Value]) {
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
pub async fn insert_user(db: &AnyPool, name: &str) -> String {
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

pub async fn rate(db: &AnyPool, user: &str, season: i64, mode: &str, rating: f64, w: i64, l: i64) {
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
pub async fn battle(
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
pub async fn admin_token(app: &TestApp, db: &AnyPool, name: &str) -> String {
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

pub async fn refresh(app: &TestApp, admin: &str) -> Value {
    let r = app
        .post_auth("/v2/admin/leaderboard/refresh", admin, &json!({}))
        .await;
    assert_eq!(r.status(), 202);
    r.json().await.unwrap()
}

pub async fn get_json(app: &TestApp, path: &str, token: &str) -> (u16, Value) {
    let r = app.get_auth(path, token).await;
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

pub async fn patch(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
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

pub fn names(v: &Value) -> Vec<String> {
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["username"].as_str().unwrap().to_string())
        .collect()
}

pub fn ranks(v: &Value) -> Vec<u64> {
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rank"].as_u64().unwrap())
        .collect()
}
