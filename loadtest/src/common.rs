//! Plumbing shared by scenarios: the HTTP client, v1 accounts, latency summaries, results.

use std::{path::Path, time::Duration};

use futures_util::{stream, StreamExt};
use serde::Serialize;
use serde_json::{json, Value};

use crate::report::Progress;

/// Any error, as text: a load test reports and stops, it does not recover.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// A v1 account the scenario acts as.
#[derive(Debug, Clone)]
pub struct Account {
    /// User id.
    pub id: String,
    /// Access token (v1 tokens last an hour).
    pub token: String,
}

/// The server under test.
#[derive(Clone)]
pub struct Server {
    /// `http://host:port`, no trailing slash.
    pub base: String,
    /// Pooled HTTP/1.1 client.
    pub http: reqwest::Client,
}

impl Server {
    /// A client for `base` keeping up to `pool` idle connections.
    pub fn new(base: &str, pool: usize) -> Result<Self, Error> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(pool)
            .timeout(Duration::from_secs(30))
            .build()?;
        Ok(Self {
            base: base.trim_end_matches('/').to_string(),
            http,
        })
    }

    /// The `ws://` URL of a path.
    pub fn ws_url(&self, path: &str) -> String {
        format!("{}{path}", self.base.replacen("http", "ws", 1))
    }

    /// POSTs JSON with a token; the body on a 2xx, an error naming the status otherwise.
    pub async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> Result<Value, Error> {
        let mut req = self.http.post(format!("{}{path}", self.base)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await?;
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            return Err(format!("POST {path}: {status} {body}").into());
        }
        Ok(body)
    }

    /// Registers `n` v1 users named `{prefix}{i}`, `concurrency` at a time (argon2 is slow by
    /// design, so this is the longest part of the setup).
    pub async fn register(
        &self,
        prefix: &str,
        n: usize,
        concurrency: usize,
    ) -> Result<Vec<Account>, Error> {
        register_on(std::slice::from_ref(self), prefix, n, concurrency, None).await
    }
}

/// Registers `n` v1 users named `{prefix}{i}`, user i on `servers[i % len]` (nodes share one
/// database), `concurrency` at a time, advancing `progress` by one per account.
pub async fn register_on(
    servers: &[Server],
    prefix: &str,
    n: usize,
    concurrency: usize,
    progress: Option<&Progress>,
) -> Result<Vec<Account>, Error> {
    let results: Vec<Result<Account, Error>> = stream::iter(0..n)
        .map(|i| async move {
            let name = format!("{prefix}{i}");
            let b = servers[i % servers.len()]
                .post(
                    "/v1/auth/register",
                    None,
                    &json!({"username": name, "email": format!("{name}@load.test"),
                        "password": "Load-test-pass1", "display_name": name}),
                )
                .await?;
            if let Some(p) = progress {
                p.inc();
            }
            Ok(Account {
                id: b["user"]["id"].as_str().ok_or("no user id")?.to_string(),
                token: b["access_token"].as_str().ok_or("no token")?.to_string(),
            })
        })
        .buffered(concurrency)
        .collect()
        .await;
    results.into_iter().collect()
}

/// A latency summary in milliseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Samples.
    pub count: usize,
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// Largest.
    pub max_ms: f64,
}

impl Summary {
    /// Summarises samples given in microseconds.
    pub fn of_us(mut samples: Vec<u64>) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        samples.sort_unstable();
        let at = |p: f64| {
            let i = ((p * samples.len() as f64).ceil() as usize).clamp(1, samples.len()) - 1;
            samples[i] as f64 / 1000.0
        };
        Self {
            count: samples.len(),
            p50_ms: at(0.50),
            p90_ms: at(0.90),
            p99_ms: at(0.99),
            p999_ms: at(0.999),
            max_ms: at(1.0),
        }
    }
}

/// Writes the result as pretty JSON.
pub fn write_json(path: &Path, v: &impl Serialize) -> Result<(), Error> {
    std::fs::write(path, serde_json::to_string_pretty(v)?)?;
    Ok(())
}
