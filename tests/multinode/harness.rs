//! Several real `warroom serve` processes on port 0 that form one cluster: one fresh Postgres
//! database and one Redis key prefix per test. Tests skip (with a line on stderr) when
//! Postgres or Redis is not reachable.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// Postgres server the tests create their databases on.
pub const PG_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/test";
/// Redis the nodes coordinate through.
pub const REDIS: &str = "redis://127.0.0.1:6379/0";
/// Shared signing key of the nodes.
pub const SECRET: &str = "multinode-secret-multinode-secret-0123";

/// One cluster under test.
pub struct TestCluster {
    /// `postgres://…/wr_…` of this test.
    pub db_url: String,
    db_name: String,
    /// Key prefix of this test.
    pub prefix: String,
    /// Extra environment for every node.
    pub env: Vec<(String, String)>,
    dir: tempfile::TempDir,
}

/// A running node.
pub struct Node {
    child: Child,
    /// `http://127.0.0.1:port`.
    pub base: String,
    /// Its `WARROOM_NODE_ID`.
    pub name: String,
}

impl Node {
    /// `kill -9`: no shutdown, no flush, its leases simply expire.
    pub fn kill9(mut self) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-9", &pid])
            .status()
            .unwrap()
            .success());
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits for the process to exit.
    pub fn sigterm(mut self) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn reachable(addr: &str) -> bool {
    std::net::TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(1)).is_ok()
}

impl TestCluster {
    /// A fresh database and prefix; `None` (test skipped) without Postgres and Redis.
    pub async fn new(test: &str) -> Option<TestCluster> {
        if !reachable("127.0.0.1:5432") || !reachable("127.0.0.1:6379") {
            eprintln!("skipping {test}: needs Postgres on 5432 and Redis on 6379");
            return None;
        }
        let tag = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
        let db_name = format!("wr_mn_{tag}");
        let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(PG_ADMIN)
            .await
            .expect("postgres admin connection");
        sqlx::Executor::execute(
            &mut admin,
            sqlx::AssertSqlSafe(format!("CREATE DATABASE {db_name}")),
        )
        .await
        .expect("create database");
        Some(TestCluster {
            db_url: format!("postgres://postgres@127.0.0.1:5432/{db_name}"),
            db_name,
            prefix: format!("wrtest-{tag}"),
            env: Vec::new(),
            dir: tempfile::tempdir().unwrap(),
        })
    }

    /// Starts node `name` and waits until it listens.
    pub fn node(&self, name: &str) -> Node {
        self.node_with(name, &[])
    }

    /// [`TestCluster::node`] with extra environment for this node alone.
    pub fn node_with(&self, name: &str, extra: &[(&str, &str)]) -> Node {
        let dir = self.dir.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_warroom"));
        cmd.current_dir(&dir)
            .env("WARROOM_DATA_DIR", &dir)
            .env("WARROOM_BIND", "127.0.0.1:0")
            .env("WARROOM_LOG_FORMAT", "json")
            .env("WARROOM_LOG", "info")
            .env("WARROOM_RATE_LIMITS", "off")
            .env("WARROOM_JWT_SECRET", SECRET)
            .env("DATABASE_URL", &self.db_url)
            .env("REDIS_URL", REDIS)
            .env("WARROOM_REDIS_PREFIX", &self.prefix)
            .env("WARROOM_NODE_ID", name)
            .env("WARROOM_LEASE_MS", "2000")
            .env("WARROOM_TICK_MS", "100")
            .env("WARROOM_COUNTDOWN_MS", "300")
            .env("WARROOM_WORKERS", "1")
            .stdout(Stdio::piped());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let addr = loop {
            let line = lines
                .next()
                .unwrap_or_else(|| panic!("node {name} exited before listening"))
                .unwrap();
            if line.contains("warroom listening") {
                let v: Value = serde_json::from_str(&line).unwrap();
                break v["fields"]["addr"].as_str().unwrap().to_string();
            }
        };
        let quiet = std::env::var("MULTINODE_LOGS").is_err();
        let tag = name.to_string();
        std::thread::spawn(move || {
            for l in lines.map_while(Result::ok) {
                if !quiet {
                    eprintln!("[{tag}] {l}");
                }
            }
        });
        Node {
            child,
            base: format!("http://{addr}"),
            name: name.to_string(),
        }
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        let name = self.db_name.clone();
        // Nodes are gone by now (they are dropped first); drop the database on a thread of
        // its own so this works inside or outside a runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                if let Ok(mut c) = <sqlx::PgConnection as sqlx::Connection>::connect(PG_ADMIN).await
                {
                    let _ = sqlx::Executor::execute(
                        &mut c,
                        sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")),
                    )
                    .await;
                }
            });
        })
        .join();
    }
}

/// Retries `f` until it returns `Some`, for at most `limit`.
pub async fn eventually<T, F, Fut>(limit: Duration, mut f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f().await {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Registers a v1 user: `(id, token)`.
pub async fn register_v1(http: &reqwest::Client, base: &str, name: &str) -> (String, String) {
    let r = http
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

/// Registers a v2 user: `(id, token)`.
pub async fn register_v2(http: &reqwest::Client, base: &str, name: &str) -> (String, String) {
    let r = http
        .post(format!("{base}/v2/auth/register"))
        .json(&json!({"username": name, "email": format!("{name}@example.com"), "password": "Secret-pass1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    let b: Value = r.json().await.unwrap();
    let id = b["user"]["id"]
        .as_str()
        .or_else(|| b["id"].as_str())
        .unwrap()
        .to_string();
    let token = b["access_token"]
        .as_str()
        .or_else(|| b["token"].as_str())
        .unwrap()
        .to_string();
    (id, token)
}

/// `GET base+path` with a bearer token: `(status, body)`.
pub async fn get(http: &reqwest::Client, base: &str, path: &str, token: &str) -> (u16, Value) {
    let r = http
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// A TCP proxy in front of Redis that can cut a node off (a network blip).
pub struct RedisProxy {
    /// `redis://127.0.0.1:port/0` through the proxy.
    pub url: String,
    cut: std::sync::Arc<std::sync::atomic::AtomicBool>,
    generation: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl RedisProxy {
    /// Listens on a free port and forwards to the real Redis.
    pub async fn start() -> RedisProxy {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let generation = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (c, g) = (cut.clone(), generation.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                if c.load(Ordering::SeqCst) {
                    drop(inbound); // refused while cut
                    continue;
                }
                let (c, g) = (c.clone(), g.clone());
                tokio::spawn(async move {
                    let born = g.load(Ordering::SeqCst);
                    let Ok(mut outbound) = tokio::net::TcpStream::connect("127.0.0.1:6379").await
                    else {
                        return;
                    };
                    let pipe = tokio::io::copy_bidirectional(&mut inbound, &mut outbound);
                    tokio::pin!(pipe);
                    loop {
                        tokio::select! {
                            _ = &mut pipe => return,
                            _ = tokio::time::sleep(Duration::from_millis(50)) => {
                                if c.load(Ordering::SeqCst) || g.load(Ordering::SeqCst) != born {
                                    return; // dropped: both ends see the connection die
                                }
                            }
                        }
                    }
                });
            }
        });
        RedisProxy {
            url: format!("redis://127.0.0.1:{port}/0"),
            cut,
            generation,
        }
    }

    /// Cuts every connection and refuses new ones until [`RedisProxy::heal`].
    pub fn cut(&self) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.cut.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Lets connections through again.
    pub fn heal(&self) {
        self.cut.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

/// One metric's value from a node's `/metrics` (summed over its label sets).
pub async fn metric(http: &reqwest::Client, base: &str, name: &str) -> f64 {
    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.split([' ', '{']).next() == Some(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The node holding lease `kind/id` of the cluster with key prefix `prefix`.
pub async fn lease_holder(prefix: &str, kind: &str, id: &str) -> Option<String> {
    let client = redis::Client::open(REDIS).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let v: Option<String> = redis::cmd("GET")
        .arg(format!("{prefix}:lease:{kind}:{id}"))
        .query_async(&mut c)
        .await
        .unwrap();
    v.and_then(|v| v.rsplit_once(':').map(|(n, _)| n.to_string()))
}

/// Creates an army for `token`: its id.
pub async fn army(http: &reqwest::Client, base: &str, token: &str) -> String {
    let r = http
        .post(format!("{base}/v1/armies"))
        .bearer_auth(token)
        .json(
            &json!({"name": "List", "faction_id": "fac_custodes", "points_value": 2000,
            "army_list": {"units": [{"name": "Captain", "points": 100}]}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["army"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}
