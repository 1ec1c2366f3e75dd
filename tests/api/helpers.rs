#![allow(dead_code)]
//! `spawn_app()`: the real server on port 0 with a fresh database, plus real clients.

use std::net::SocketAddr;

use reqwest::Client;
use serde_json::{json, Value};
use warroom::{
    config::{Config, DatabaseTarget},
    server::Background,
};

/// A running server for one test.
pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub http: Client,
    pub config: Config,
    server: Option<Background>,
    pg: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

/// Starts the server with default test configuration.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the server after `tweak` adjusts the configuration.
pub async fn spawn_app_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let (database, pg) = match std::env::var("WARROOM_TEST_POSTGRES")
        .ok()
        .filter(|s| !s.is_empty())
    {
        Some(admin_url) => {
            let name = format!("wr_test_{}", uuid::Uuid::new_v4().simple());
            admin_exec(&admin_url, &format!("CREATE DATABASE {name}")).await;
            let (base, _) = admin_url
                .rsplit_once('/')
                .expect("postgres url has a database");
            (
                DatabaseTarget::Postgres(format!("{base}/{name}")),
                Some((admin_url, name)),
            )
        }
        None => (
            DatabaseTarget::Sqlite(format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("test.db").display()
            )),
            None,
        ),
    };
    let mut config = Config::for_tests(dir.path().to_path_buf(), database);
    tweak(&mut config);
    let c = config.clone();
    let server = tokio::task::spawn_blocking(move || Background::start(c))
        .await
        .unwrap()
        .expect("server starts");
    let addr = server.addr;
    TestApp {
        addr,
        base: format!("http://{addr}"),
        http: Client::builder().cookie_store(true).build().unwrap(),
        config,
        server: Some(server),
        pg,
        _dir: dir,
    }
}

async fn admin_exec(url: &str, sql: &str) {
    use sqlx::{Connection, Executor};
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url)
        .await
        .expect("postgres admin connection");
    conn.execute(sqlx::AssertSqlSafe(sql.to_string()))
        .await
        .expect("admin sql");
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            let _ = s.stop();
        }
        if let Some((admin, name)) = self.pg.take() {
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(admin_exec(
                    &admin,
                    &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                ));
            })
            .join();
        }
    }
}

impl TestApp {
    /// Stops the server gracefully, stays down for `downtime`, and starts a new one on the
    /// same database.
    pub async fn restart(&mut self, downtime: std::time::Duration) {
        if let Some(s) = self.server.take() {
            tokio::task::spawn_blocking(move || s.stop())
                .await
                .unwrap()
                .unwrap();
        }
        tokio::time::sleep(downtime).await;
        let c = self.config.clone();
        let server = tokio::task::spawn_blocking(move || Background::start(c))
            .await
            .unwrap()
            .expect("server restarts");
        self.addr = server.addr;
        self.base = format!("http://{}", server.addr);
        self.server = Some(server);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_auth(&self, path: &str, token: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn get_auth(&self, path: &str, token: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// Registers through v1; returns (user json, access token, refresh token).
    pub async fn register_v1(&self, name: &str) -> (Value, String, String) {
        let r = self
            .post(
                "/v1/auth/register",
                &json!({"username": name, "email": format!("{name}@example.com"),
                "password": "Secret-pass1", "display_name": format!("Captain {name}")}),
            )
            .await;
        assert_eq!(r.status(), 201, "register {name}");
        let b: Value = r.json().await.unwrap();
        (
            b["user"].clone(),
            b["access_token"].as_str().unwrap().into(),
            b["refresh_token"].as_str().unwrap().into(),
        )
    }

    /// Registers through v2 (a fresh client keeps the cookie separate); returns (user, access token).
    pub async fn register_v2(&self, name: &str) -> (Value, String) {
        let r = self
            .post("/v2/auth/register", &json!({"username": name, "email": format!("{name}@example.com"), "password": "Secret-pass1"}))
            .await;
        assert_eq!(r.status(), 201, "register {name}");
        let b: Value = r.json().await.unwrap();
        (
            b["user"].clone(),
            b["access_token"].as_str().unwrap().into(),
        )
    }
}
