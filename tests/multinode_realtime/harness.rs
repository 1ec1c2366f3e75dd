//! Two real `warroom` servers in this process (each on its own thread, runtime and actix
//! System), sharing one fresh Postgres database and one Redis under a prefix of their own.
//! `None` (after a note on stderr) when Postgres or Redis cannot be reached.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::FutureExt;
use reqwest::Client;
use rust_socketio::{asynchronous::ClientBuilder, Payload, TransportType};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use warroom::{
    cluster::ClusterSettings,
    config::{Config, DatabaseTarget},
    server::Background,
};

const REDIS: &str = "redis://127.0.0.1:6379";

/// One node.
pub struct Node {
    pub addr: SocketAddr,
    pub base: String,
    server: Option<Background>,
}

/// Two nodes of one cluster.
pub struct Pair {
    pub a: Node,
    pub b: Node,
    pub http: Client,
    pub config: Config,
    admin_url: String,
    db_name: String,
    prefix: String,
    _dir: tempfile::TempDir,
}

fn admin_url() -> String {
    std::env::var("WARROOM_TEST_POSTGRES")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1/test".into())
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

async fn redis_up() -> bool {
    let Ok(client) = redis::Client::open(REDIS) else {
        return false;
    };
    let ping = async {
        let mut c = client.get_multiplexed_async_connection().await.ok()?;
        redis::cmd("PING").query_async::<String>(&mut c).await.ok()
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(2), ping).await,
        Ok(Some(_))
    )
}

/// Starts two nodes; `tweak` adjusts the configuration both share.
pub async fn pair(tweak: impl FnOnce(&mut Config)) -> Option<Pair> {
    if !redis_up().await {
        eprintln!("skipped: no Redis at {REDIS}");
        return None;
    }
    let admin = admin_url();
    let db_name = format!("wr_{}", uuid::Uuid::new_v4().simple());
    if let Err(e) = admin_exec(&admin, &format!("CREATE DATABASE {db_name}")).await {
        eprintln!("skipped: no Postgres at {admin}: {e}");
        return None;
    }
    let (base, _) = admin.rsplit_once('/').expect("postgres url has a database");
    let dir = tempfile::tempdir().expect("tempdir");
    let prefix = format!("wrtest{}", uuid::Uuid::new_v4().simple());
    let mut config = Config::for_tests(
        dir.path().to_path_buf(),
        DatabaseTarget::Postgres(format!("{base}/{db_name}")),
    );
    // One address runs every client here; the per-user caps stay on.
    config.rate_limits.enabled = false;
    tweak(&mut config);
    let node = |id: &str| {
        let mut c = config.clone();
        c.redis_url = Some(REDIS.into());
        c.cluster = Some(ClusterSettings {
            url: REDIS.into(),
            prefix: prefix.clone(),
            node_id: id.into(),
            lease_ttl: Duration::from_secs(5),
        });
        c
    };
    // One after the other: the first migrates the fresh database.
    let a = start(node("node-a")).await;
    let b = start(node("node-b")).await;
    Some(Pair {
        a,
        b,
        http: Client::new(),
        config,
        admin_url: admin,
        db_name,
        prefix,
        _dir: dir,
    })
}

async fn start(c: Config) -> Node {
    let server = tokio::task::spawn_blocking(move || Background::start(c))
        .await
        .unwrap()
        .expect("node starts");
    Node {
        addr: server.addr,
        base: format!("http://{}", server.addr),
        server: Some(server),
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        for n in [&mut self.a, &mut self.b] {
            if let Some(s) = n.server.take() {
                let _ = s.stop();
            }
        }
        let (admin, name, prefix) = (
            self.admin_url.clone(),
            self.db_name.clone(),
            self.prefix.clone(),
        );
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                let _ = admin_exec(&admin, &sql).await;
                // Leases and slots expire by themselves; drop them now anyway.
                if let Ok(client) = redis::Client::open(REDIS) {
                    if let Ok(mut c) = client.get_multiplexed_async_connection().await {
                        let keys: Vec<String> = redis::cmd("KEYS")
                            .arg(format!("{prefix}:*"))
                            .query_async(&mut c)
                            .await
                            .unwrap_or_default();
                        if !keys.is_empty() {
                            let _: Result<i64, _> =
                                redis::cmd("DEL").arg(keys).query_async(&mut c).await;
                        }
                    }
                }
            })
        })
        .join();
    }
}

impl Pair {
    /// Registers a v1 player (through node A); returns (user id, access token).
    pub async fn player(&self, name: &str) -> (String, String) {
        let r = self
            .http
            .post(format!("{}/v1/auth/register", self.a.base))
            .json(
                &json!({"username": name, "email": format!("{name}@example.com"),
                "password": "Secret-pass1", "display_name": name}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "register {name}");
        let b: Value = r.json().await.unwrap();
        (
            b["user"]["id"].as_str().unwrap().into(),
            b["access_token"].as_str().unwrap().into(),
        )
    }

    /// A registered admin's token (promoted in the database, then signed in again).
    pub async fn admin(&self, name: &str) -> String {
        self.player(name).await;
        let db = warroom::store::Db::connect(&self.config.database)
            .await
            .unwrap();
        assert!(db.set_role(name, warroom::auth::Role::Admin).await.unwrap());
        db.pool.close().await;
        let r: Value = self
            .http
            .post(format!("{}/v1/auth/login", self.a.base))
            .json(&json!({"username": name, "password": "Secret-pass1"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        r["access_token"].as_str().unwrap().into()
    }

    /// A tracker battle (in setup) between two new players: (battle id, player 1's id and
    /// token).
    pub async fn tracker_battle(&self, a: &str, b: &str) -> (String, String, String) {
        let (u1, t1) = self.player(a).await;
        let (u2, t2) = self.player(b).await;
        let mut armies = Vec::new();
        for t in [&t1, &t2] {
            let v: Value = self
                .http
                .post(format!("{}/v1/armies", self.a.base))
                .bearer_auth(t)
                .json(&json!({"name": "ADEPTUS CUSTODES", "faction_id": "fac_custodes",
                    "detachment": "LIONS OF THE EMPEROR", "points_value": 2000,
                    "army_list": {"units": [{"name": "Trajann Valoris", "points": 100, "keywords": ["CHARACTER"]}]}}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            armies.push(v["army"]["id"].clone());
        }
        let r = self
            .http
            .post(format!("{}/v1/battles", self.a.base))
            .bearer_auth(&t1)
            .json(&json!({"turn_time_limit": 600, "players": [
                {"user_id": &u1, "army_id": armies[0]}, {"user_id": u2, "army_id": armies[1]}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let b: Value = r.json().await.unwrap();
        (b["battle"]["id"].as_str().unwrap().into(), u1, t1)
    }
}

/// A rust_socketio client of `node` forwarding `events` as (name, payload).
pub async fn sio_client(
    node: &Node,
    token: &str,
    events: &[&'static str],
) -> (
    rust_socketio::asynchronous::Client,
    mpsc::UnboundedReceiver<(String, Value)>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut b = ClientBuilder::new(format!("{}/v2/ws/?token={token}", node.base))
        .transport_type(TransportType::Websocket);
    for ev in events {
        let (tx, name) = (tx.clone(), ev.to_string());
        b = b.on(*ev, move |payload, _| {
            let (tx, name) = (tx.clone(), name.clone());
            async move {
                let v = match payload {
                    Payload::Text(mut v) => v.pop().unwrap_or(Value::Null),
                    _ => Value::Null,
                };
                // The library's own transport hiccups are string `error`s; skip them.
                if !(name == "error" && v.is_string()) {
                    let _ = tx.send((name, v));
                }
            }
            .boxed()
        });
    }
    (b.connect().await.expect("socket.io connect"), rx)
}

/// The next `event` on `rx` (panics after 10 s).
pub async fn next(rx: &mut mpsc::UnboundedReceiver<(String, Value)>, event: &str) -> Value {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let (name, v) = rx.recv().await.expect("client open");
            if name == event {
                return v;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {event} within 10 s"))
}

/// Pings until the first pong: the server has then completed the socket's CONNECT.
pub async fn ping_until_pong(
    client: &rust_socketio::asynchronous::Client,
    rx: &mut mpsc::UnboundedReceiver<(String, Value)>,
) {
    for _ in 0..100 {
        if client.emit("ping", json!({})).await.is_ok() {
            if let Ok(Some((name, _))) =
                tokio::time::timeout(Duration::from_millis(200), rx.recv()).await
            {
                if name == "pong" {
                    return;
                }
            }
        } else {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    panic!("no pong");
}

/// A raw engine.io polling session on `node` with a Socket.IO `CONNECT` carrying `token`:
/// `(answer packet, session url)`; the answer starts `40` (connected) or `44` (refused).
pub async fn raw_socket(http: &Client, node: &Node, token: &str) -> (String, String) {
    let open = http
        .get(format!("{}/v2/ws/?EIO=4&transport=polling", node.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(open.starts_with('0'), "{open}");
    let sid = serde_json::from_str::<Value>(&open[1..]).unwrap()["sid"]
        .as_str()
        .unwrap()
        .to_string();
    let url = format!("{}/v2/ws/?EIO=4&transport=polling&sid={sid}", node.base);
    let r = http
        .post(&url)
        .body(format!("40{}", json!({ "token": token })))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    loop {
        let text = http.get(&url).send().await.unwrap().text().await.unwrap();
        if let Some(p) = text.split('\u{1e}').find(|p| p.starts_with('4')) {
            return (p.to_string(), url);
        }
    }
}

/// Long-polls a raw session until the server ends it; false if it is still up after 10 s.
pub async fn session_ended(http: &Client, url: &str) -> bool {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let r = http.get(url).send().await.unwrap();
            let status = r.status().as_u16();
            let text = r.text().await.unwrap();
            if status != 200
                || text
                    .split('\u{1e}')
                    .any(|p| p == "1" || p.starts_with("41"))
            {
                return;
            }
        }
    })
    .await
    .is_ok()
}

impl Pair {
    /// Registers a v2 player (through node A), who owns a starter robot: (user id, access
    /// token, user_robot_id).
    pub async fn pilot(&self, name: &str) -> (String, String, String) {
        let r = self
            .http
            .post(format!("{}/v2/auth/register", self.a.base))
            .json(&json!({"username": name, "email": format!("{name}@example.com"), "password": "Secret-pass1"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "register {name}");
        let b: Value = r.json().await.unwrap();
        let token = b["access_token"].as_str().unwrap().to_string();
        let mine: Value = self
            .http
            .get(format!("{}/v2/users/me/robots", self.a.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (
            b["user"]["id"].as_str().unwrap().into(),
            token,
            mine["data"][0]["user_robot_id"].as_str().unwrap().into(),
        )
    }
}
