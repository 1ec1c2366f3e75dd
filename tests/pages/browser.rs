//! A headless Chromium driven over WebDriver: `/usr/bin/chromedriver` started on a free port
//! for one test, with the browser's console and network logs switched on. Without Chromium
//! or its driver [`Browser::start`] prints a skip message and returns `None`.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{wd::WebDriverCompatibleCommand, Client, ClientBuilder, Locator};
use serde_json::{json, Value};

const CHROMIUM: &str = "/usr/bin/chromium";
const DRIVER: &str = "/usr/bin/chromedriver";
/// How long a condition may take before a test fails (a robot battle lasts up to 100 ticks).
pub const WAIT: Duration = Duration::from_secs(40);

/// One browser session and the driver process behind it.
pub struct Browser {
    pub c: Client,
    driver: Child,
    origin: String,
    _profile: tempfile::TempDir,
}

/// chromedriver's log endpoint (`POST /session/{id}/se/log`), which fantoccini has no call for.
#[derive(Debug)]
struct GetLog(&'static str);

impl WebDriverCompatibleCommand for GetLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }
    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({ "type": self.0 }).to_string()),
        )
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Browser {
    /// Starts chromedriver and a headless Chromium for pages under `origin`
    /// (`http://127.0.0.1:port`), or `None` (after a skip message) without them.
    pub async fn start(origin: &str) -> Option<Browser> {
        if !Path::new(CHROMIUM).exists() || !Path::new(DRIVER).exists() {
            eprintln!(
                "SKIP browser test: {CHROMIUM} or {DRIVER} is missing \
                 (apt-get install chromium chromium-driver)"
            );
            return None;
        }
        let port = free_port();
        // Its own process group, so that a failed test can end the browser with the driver.
        let driver = Command::new(DRIVER)
            .process_group(0)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().expect("profile dir");
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--window-size=1600,1000", "--no-first-run", "--no-default-browser-check",
                    "--disable-extensions", "--disable-background-networking", "--disable-sync",
                    "--disable-component-update", "--disable-default-apps", "--mute-audio",
                    format!("--user-data-dir={}", profile.path().display())],
            },
            "goog:loggingPrefs": { "browser": "ALL", "performance": "ALL" },
        });
        let caps = caps.as_object().cloned().unwrap_or_default();
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + WAIT;
        let c = loop {
            let mut b =
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
            match b.capabilities(caps.clone()).connect(&url).await {
                Ok(c) => break c,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("no WebDriver session: {e}"),
            }
        };
        Some(Browser {
            c,
            driver,
            origin: origin.trim_end_matches('/').to_string(),
            _profile: profile,
        })
    }

    /// Opens `path` on the server.
    pub async fn open(&self, path: &str) {
        self.c
            .goto(&format!("{}{path}", self.origin))
            .await
            .expect("page opens");
    }

    /// Text of the first `[data-role=role]` element, if there is one.
    pub async fn role_text(&self, role: &str) -> Option<String> {
        let v = self
            .js(
                "const e = document.querySelector(`[data-role=\"${arguments[0]}\"]`); return e ? e.textContent.trim() : null;",
                vec![json!(role)],
            )
            .await;
        v.as_str().map(str::to_string)
    }

    /// The number shown by `[data-role=role]` (None while it is not a number).
    pub async fn role_num(&self, role: &str) -> Option<i64> {
        self.role_text(role).await.and_then(|t| t.parse().ok())
    }

    /// Runs a script in the page and returns its value.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.c.execute(script, args).await.expect("script runs")
    }

    /// Number of elements matching a CSS selector.
    pub async fn count(&self, css: &str) -> usize {
        self.c
            .find_all(Locator::Css(css))
            .await
            .map(|v| v.len())
            .unwrap_or(0)
    }

    /// Polls `probe` until it returns `Some`, failing with `what` after [`WAIT`].
    pub async fn until<T, F, Fut>(&self, what: &str, mut probe: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(v) = probe().await {
                return v;
            }
            if Instant::now() > deadline {
                let _ = self.screenshot(&format!("failed-{}", slug(what))).await;
                panic!("timed out waiting for: {what}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until `[data-role=role]` shows a number that satisfies `ok`; returns it.
    pub async fn until_num(&self, role: &str, ok: impl Fn(i64) -> bool) -> i64 {
        self.until(&format!("{role} condition"), || async {
            self.role_num(role).await.filter(|n| ok(*n))
        })
        .await
    }

    async fn log(&self, kind: &'static str) -> Vec<Value> {
        match self.c.issue_cmd(GetLog(kind)).await {
            Ok(Value::Array(v)) => v,
            Ok(other) => panic!("unexpected {kind} log: {other}"),
            Err(e) => panic!("no {kind} log: {e}"),
        }
    }

    /// Fails on any console error (a failed request is one too), and on any request or
    /// socket to an origin other than the server's.
    pub async fn assert_clean(&self) {
        self.assert_clean_but(None).await
    }

    /// [`Self::assert_clean`], but the page's own document may be a 404 (`missing`: its path):
    /// an unknown id is answered 404 on purpose, and Chromium logs that status too.
    pub async fn assert_clean_but(&self, missing: Option<&str>) {
        let own_404 = missing.map(|p| {
            format!(
                "{}{p} - Failed to load resource: the server responded with a status of 404",
                self.origin
            )
        });
        let errors: Vec<String> = self
            .log("browser")
            .await
            .into_iter()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].as_str().unwrap_or_default().to_string())
            .filter(|m| own_404.as_ref().is_none_or(|o| !m.starts_with(o.as_str())))
            .collect();
        assert!(errors.is_empty(), "console errors: {errors:#?}");
        let ws_origin = self.origin.replacen("http://", "ws://", 1);
        let mut foreign = Vec::new();
        for e in self.log("performance").await {
            let Ok(m) = serde_json::from_str::<Value>(e["message"].as_str().unwrap_or("{}")) else {
                continue;
            };
            let p = &m["message"]["params"];
            let url = match m["message"]["method"].as_str() {
                Some("Network.requestWillBeSent") => p["request"]["url"].as_str(),
                Some("Network.webSocketCreated") => p["url"].as_str(),
                _ => None,
            };
            // Network requests only (the browser's own chrome:// start page is not the site's).
            if let Some(u) = url.filter(|u| u.starts_with("http") || u.starts_with("ws")) {
                let same = u.starts_with(&format!("{}/", self.origin))
                    || u.starts_with(&format!("{ws_origin}/"));
                if !same {
                    foreign.push(u.to_string());
                }
            }
        }
        assert!(
            foreign.is_empty(),
            "requests to another origin: {foreign:#?}"
        );
    }

    /// Saves a PNG of the page as `target/screenshots/{name}.png`.
    pub async fn screenshot(&self, name: &str) -> std::path::PathBuf {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        // Let bar transitions finish, so the picture shows the numbers' state.
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline
            && self
                .js("return document.getAnimations().length;", vec![])
                .await
                != json!(0)
        {
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        let png = self.c.screenshot().await.expect("screenshot");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("screenshot written");
        path
    }

    /// Ends the session (the browser quits); the driver goes on drop.
    pub async fn close(self) {
        let _ = self.c.clone().close().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A failed test does not reach `close`: end the driver's whole process group (the
        // browser too), by the group id of the driver this test started.
        if let Ok(pid) = i32::try_from(self.driver.id()) {
            // SAFETY: kill(2) on our own child's process group; no memory is touched.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
        }
        let _ = self.driver.wait();
    }
}

fn slug(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(40)
        .collect()
}
