//! Multi-node mode: two real servers (each on its own runtime) on one fresh Postgres database
//! and one Redis, with a unique key prefix per test. Limits are shared, caches never serve a
//! value older than a write made on the other node. Skipped (with a message) when Postgres or
//! Redis is not reachable: `WARROOM_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1/test`) and `WARROOM_TEST_REDIS` (default
//! `redis://127.0.0.1:6379`).

use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use warroom::{
    cluster::ClusterSettings,
    config::{Config, DatabaseTarget},
    server::Background,
};

fn pg_admin() -> String {
    std::env::var("WARROOM_TEST_POSTGRES")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1/test".into())
}

fn redis_url() -> String {
    std::env::var("WARROOM_TEST_REDIS")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "redis://127.0.0.1:6379".into())
}

async fn admin_exec(url: &str, sql: &str) -> Result<(), String> {
    use sqlx::{Connection, Executor};
    sqlx::any::install_default_drivers();
    let mut conn = tokio::time::timeout(Duration::from_secs(3), sqlx::AnyConnection::connect(url))
        .await
        .map_err(|_| "timeout".to_string())?
        .map_err(|e| e.to_string())?;
    conn.execute(sqlx::AssertSqlSafe(sql.to_string()))
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

async fn redis_conn() -> Result<redis::aio::MultiplexedConnection, String> {
    let c = redis::Client::open(redis_url()).map_err(|e| e.to_string())?;
    let mut conn =
        tokio::time::timeout(Duration::from_secs(3), c.get_multiplexed_async_connection())
            .await
            .map_err(|_| "timeout".to_string())?
            .map_err(|e| e.to_string())?;
    let _: String = redis::cmd("PING")
        .query_async(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    Ok(conn)
}

/// Two nodes of one cluster, and what to clean up.
struct Pair {
    a: String,
    b: String,
    prefix: String,
    http: Client,
    nodes: Vec<Background>,
    db: String,
    _dirs: Vec<tempfile::TempDir>,
}

impl Pair {
    /// Starts two nodes, or `None` (after saying why) when Postgres or Redis is missing.
    async fn start(tweak: impl Fn(&mut Config)) -> Option<Pair> {
        Self::start_on(redis_url(), 2, tweak).await
    }

    /// `nodes` nodes (1 or 2) on the Redis at `redis`.
    async fn start_on(redis: String, count: usize, tweak: impl Fn(&mut Config)) -> Option<Pair> {
        let admin = pg_admin();
        if let Err(e) = admin_exec(&admin, "SELECT 1").await {
            eprintln!("skipped: Postgres at {admin} unreachable ({e})");
            return None;
        }
        if let Err(e) = redis_conn().await {
            eprintln!("skipped: Redis at {} unreachable ({e})", redis_url());
            return None;
        }
        let db = format!("wr_{}", uuid::Uuid::new_v4().simple());
        admin_exec(&admin, &format!("CREATE DATABASE {db}"))
            .await
            .expect("create database");
        let (base, _) = admin.rsplit_once('/').expect("postgres url has a database");
        let url = format!("{base}/{db}");
        let prefix = format!("wrtest-{}", uuid::Uuid::new_v4().simple());
        let (mut nodes, mut dirs, mut addrs) = (vec![], vec![], vec![]);
        for n in ["a", "b"].into_iter().take(count) {
            let dir = tempfile::tempdir().unwrap();
            let mut c = Config::for_tests(
                dir.path().to_path_buf(),
                DatabaseTarget::Postgres(url.clone()),
            );
            c.redis_url = Some(redis.clone());
            c.cluster = Some(ClusterSettings {
                url: redis.clone(),
                prefix: prefix.clone(),
                node_id: format!("node-{n}"),
                lease_ttl: Duration::from_secs(5),
            });
            tweak(&mut c);
            let node = tokio::task::spawn_blocking(move || Background::start(c))
                .await
                .unwrap()
                .expect("node starts");
            addrs.push(format!("http://{}", node.addr));
            nodes.push(node);
            dirs.push(dir);
        }
        if addrs.len() == 1 {
            addrs.push(addrs[0].clone());
        }
        Some(Pair {
            b: addrs.pop().unwrap(),
            a: addrs.pop().unwrap(),
            prefix,
            http: Client::new(),
            nodes,
            db,
            _dirs: dirs,
        })
    }

    async fn sql(&self, sql: &str) {
        let (base, _) = pg_admin()
            .rsplit_once('/')
            .map(|(b, d)| (b.to_string(), d.to_string()))
            .unwrap();
        admin_exec(&format!("{base}/{}", self.db), sql)
            .await
            .expect("sql");
    }

    async fn register_v1(&self, base: &str, name: &str) -> (String, String) {
        let r = self
            .http
            .post(format!("{base}/v1/auth/register"))
            .json(&json!({"username": name, "email": format!("{name}@example.com"), "password": "Secret-pass1"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let b: Value = r.json().await.unwrap();
        (
            b["user"]["id"].as_str().unwrap().to_string(),
            b["access_token"].as_str().unwrap().to_string(),
        )
    }

    async fn get(&self, base: &str, path: &str, token: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .get(format!("{base}{path}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    /// `m base+path` with a JSON body; the reply body (asserted 2xx).
    async fn send(
        &self,
        m: reqwest::Method,
        base: &str,
        path: &str,
        token: &str,
        body: Value,
    ) -> Value {
        let r = self
            .http
            .request(m, format!("{base}{path}"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        r.json().await.unwrap_or(Value::Null)
    }

    /// Creates an army named `name` on `base`; its id.
    async fn army(&self, base: &str, token: &str, name: &str) -> String {
        let made = self
            .send(
                reqwest::Method::POST,
                base,
                "/v1/armies",
                token,
                army_body(name),
            )
            .await;
        made["army"]["id"].as_str().unwrap().to_string()
    }

    async fn keys(&self, pattern: &str) -> Vec<String> {
        let mut c = redis_conn().await.unwrap();
        redis::cmd("KEYS")
            .arg(format!("{}:{pattern}", self.prefix))
            .query_async(&mut c)
            .await
            .unwrap()
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        for n in self.nodes.drain(..) {
            let _ = n.stop();
        }
        let (db, prefix) = (self.db.clone(), self.prefix.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let sql = format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)");
                let _ = admin_exec(&pg_admin(), &sql).await;
                if let Ok(mut c) = redis_conn().await {
                    let keys: Vec<String> = redis::cmd("KEYS")
                        .arg(format!("{prefix}:*"))
                        .query_async(&mut c)
                        .await
                        .unwrap_or_default();
                    if !keys.is_empty() {
                        let _: Result<(), _> =
                            redis::cmd("DEL").arg(keys).query_async(&mut c).await;
                    }
                }
            })
        })
        .join();
    }
}

/// A valid 2,000-point army list named `name`.
fn army_body(name: &str) -> Value {
    json!({"name": name, "faction_id": "fac_custodes", "points_value": 2000,
        "army_list": {"units": [{"name": "Captain", "points": 100}]}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_ip_and_sign_in_limits_are_shared_by_the_nodes() {
    let Some(p) = Pair::start(|c| {
        c.rate_limits.enabled = true;
        c.rate_limits.v2_per_min = 6;
        c.rate_limits.v2_auth_per_min = 4;
    })
    .await
    else {
        return;
    };
    for i in 0..6 {
        let base = if i % 2 == 0 { &p.a } else { &p.b };
        let r = p
            .http
            .get(format!("{base}/v2/robots"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "request {i}");
    }
    for base in [&p.a, &p.b] {
        let r = p
            .http
            .get(format!("{base}/v2/robots"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 429);
        assert!(r.headers().contains_key("retry-after"));
        let b: Value = r.json().await.unwrap();
        assert_eq!(b["error"], "RATE_LIMITED", "{b}");
    }
    let login = json!({"username": "nobody", "password": "Wrong-pass1"});
    for i in 0..4 {
        let base = if i % 2 == 0 { &p.a } else { &p.b };
        let r = p
            .http
            .post(format!("{base}/v2/auth/login"))
            .json(&login)
            .send()
            .await
            .unwrap();
        assert_ne!(r.status(), 429, "sign-in {i}");
    }
    for base in [&p.a, &p.b] {
        let r = p
            .http
            .post(format!("{base}/v1/auth/login"))
            .json(&login)
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            429,
            "the sign-in quota is one for both APIs and both nodes"
        );
    }
    assert!(!p.keys("rl:v2:*").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_hourly_quota_per_user_is_shared_by_the_nodes() {
    let Some(p) = Pair::start(|c| {
        c.rate_limits.enabled = true;
        c.rate_limits.v1_per_hour = 6;
    })
    .await
    else {
        return;
    };
    let (_, token) = p.register_v1(&p.a, "quota_user").await;
    let mut remaining = vec![];
    for i in 0..6 {
        let base = if i % 2 == 0 { &p.a } else { &p.b };
        let r = p
            .http
            .get(format!("{base}/v1/auth/profile"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "request {i}");
        assert_eq!(r.headers()["x-ratelimit-limit"], "6");
        remaining.push(
            r.headers()["x-ratelimit-remaining"]
                .to_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(remaining, ["5", "4", "3", "2", "1", "0"]);
    for base in [&p.a, &p.b] {
        let r = p
            .http
            .get(format!("{base}/v1/auth/profile"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()["x-ratelimit-remaining"], "0");
        let b: Value = r.json().await.unwrap();
        assert_eq!(b["error"]["code"], "RATE_LIMITED", "{b}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caches_never_hide_a_write_made_on_the_other_node() {
    let Some(p) = Pair::start(|c| {
        c.rate_limits.enabled = false;
        c.auth_cache = Duration::ZERO;
    })
    .await
    else {
        return;
    };
    let (uid, token) = p.register_v1(&p.a, "cache_user").await;

    // Army list: read on A (cached in Redis), replace on B, read on A.
    let army_id = p.army(&p.a, &token, "First").await;
    let (s, v) = p.get(&p.a, &format!("/v1/armies/{army_id}"), &token).await;
    assert_eq!(
        (s, v["army"]["name"].as_str()),
        (StatusCode::OK, Some("First"))
    );
    assert_eq!(
        p.keys(&format!("cache:v1:army:{army_id}")).await.len(),
        1,
        "served from Redis"
    );
    let renamed = army_body("Second");
    p.send(
        reqwest::Method::PUT,
        &p.b,
        &format!("/v1/armies/{army_id}"),
        &token,
        renamed,
    )
    .await;
    let (_, v) = p.get(&p.a, &format!("/v1/armies/{army_id}"), &token).await;
    assert_eq!(v["army"]["name"], "Second");

    // Profile: read on A, change on B (v2), read on A.
    let (_, v) = p.get(&p.a, "/v1/auth/profile", &token).await;
    assert_ne!(v["user"]["profile_image_url"], "/avatars/new.png");
    assert_eq!(p.keys(&format!("cache:v1:user:{uid}")).await.len(), 1);
    p.send(
        reqwest::Method::PATCH,
        &p.b,
        "/v2/users/me",
        &token,
        json!({"avatar_url": "/avatars/new.png"}),
    )
    .await;
    let (_, v) = p.get(&p.a, "/v1/auth/profile", &token).await;
    assert_eq!(v["user"]["profile_image_url"], "/avatars/new.png");

    // Tournament: read on A, register on B, read on A.
    p.sql(&format!(
        "UPDATE users SET role = 'organizer' WHERE id = '{uid}'"
    ))
    .await;
    let t = p
        .send(
            reqwest::Method::POST,
            &p.a,
            "/v1/tournaments",
            &token,
            json!({"name": "Cup", "format": "swiss", "max_participants": 8}),
        )
        .await;
    let tid = t["tournament"]["id"].as_str().unwrap().to_string();
    let (s, v) = p.get(&p.a, &format!("/v1/tournaments/{tid}"), &token).await;
    assert_eq!(
        (s, v["tournament"]["current_participants"].as_i64()),
        (StatusCode::OK, Some(0))
    );
    assert_eq!(p.keys(&format!("cache:v1:tournament:{tid}")).await.len(), 1);
    let (s, _) = p.get(&p.a, &format!("/v1/tournaments/{tid}"), &token).await;
    assert_eq!(s, StatusCode::OK, "a hit");
    p.send(
        reqwest::Method::POST,
        &p.b,
        &format!("/v1/tournaments/{tid}/register"),
        &token,
        json!({"army_id": army_id}),
    )
    .await;
    let (_, v) = p.get(&p.a, &format!("/v1/tournaments/{tid}"), &token).await;
    assert_eq!(v["tournament"]["current_participants"], 1);
    assert_eq!(v["tournament"]["participants"][0]["user_id"], uid.as_str());
}

#[test]
fn redis_url_with_sqlite_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_warroom"))
        .arg("serve")
        .current_dir(dir.path())
        .env("WARROOM_DATA_DIR", dir.path())
        .env("WARROOM_BIND", "127.0.0.1:0")
        .env("REDIS_URL", "redis://127.0.0.1:6379")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(!out.status.success(), "must not start");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("REDIS_URL needs DATABASE_URL=postgres://"),
        "stderr: {err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_battle_update_quota_is_counted_in_redis() {
    let Some(p) = Pair::start(|c| {
        c.rate_limits.enabled = true;
        c.rate_limits.v1_battle_updates_per_min = 3;
    })
    .await
    else {
        return;
    };
    let (u1, t1) = p.register_v1(&p.a, "quota_p1").await;
    let (u2, t2) = p.register_v1(&p.b, "quota_p2").await;
    let a1 = p.army(&p.a, &t1, "List").await;
    let a2 = p.army(&p.a, &t2, "List").await;
    let b = p
        .send(
            reqwest::Method::POST,
            &p.a,
            "/v1/battles",
            &t1,
            json!({"players": [{"user_id": u1, "army_id": a1},
                {"user_id": u2, "army_id": a2}], "turn_time_limit": 1800}),
        )
        .await;
    let id = b["battle"]["id"].as_str().unwrap().to_string();
    let mut statuses = vec![];
    for body in [
        json!({"action": "start"}),
        json!({"action": "next_phase"}),
        json!({"action": "next_phase"}),
        json!({"action": "next_phase"}),
    ] {
        let r = p
            .http
            .patch(format!("{}/v1/battles/{id}", p.a))
            .bearer_auth(&t1)
            .json(&body)
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 429]);
    assert_eq!(
        p.keys(&format!("rl:battle:{id}")).await.len(),
        1,
        "counted in Redis"
    );
}

/// A private `redis-server` on a free port (so the test can kill it).
struct OwnRedis(std::process::Child, u16);

impl OwnRedis {
    fn start() -> Option<OwnRedis> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .ok()?;
        for _ in 0..50 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(OwnRedis(child, port));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_a_node_stays_up_with_node_local_limits_and_uncached_reads() {
    let Some(mut redis) = OwnRedis::start() else {
        eprintln!("skipped: no redis-server binary");
        return;
    };
    let url = format!("redis://127.0.0.1:{}", redis.1);
    let Some(p) = Pair::start_on(url, 1, |c| {
        c.rate_limits.enabled = true;
        c.rate_limits.v2_per_min = 4;
        c.rate_limits.v1_per_hour = 1000;
    })
    .await
    else {
        return;
    };
    let (_, token) = p.register_v1(&p.a, "outage_user").await;
    let army_id = p.army(&p.a, &token, "Kept").await;
    let (s, _) = p.get(&p.a, &format!("/v1/armies/{army_id}"), &token).await;
    assert_eq!(s, StatusCode::OK);
    for _ in 0..2 {
        let r = p
            .http
            .get(format!("{}/v2/robots", p.a))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let _ = redis.0.kill();
    let _ = redis.0.wait();
    // Redis is gone: reads come from Postgres, the limits count on this node (from zero).
    let (s, v) = p.get(&p.a, &format!("/v1/armies/{army_id}"), &token).await;
    assert_eq!(
        (s, v["army"]["name"].as_str()),
        (StatusCode::OK, Some("Kept"))
    );
    let mut statuses = vec![];
    for _ in 0..5 {
        let r = p
            .http
            .get(format!("{}/v2/robots", p.a))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 200, 429], "node-local limit");
    let metrics = p
        .http
        .get(format!("{}/metrics", p.a))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let fallback = metrics
        .lines()
        .find(|l| l.starts_with("warroom_ratelimit_fallback_total "))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse::<f64>().ok())
        .unwrap_or(0.0);
    assert!(fallback >= 5.0, "fallback counted: {fallback}");
}
