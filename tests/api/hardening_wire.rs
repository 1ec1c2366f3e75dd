//! Issue 11 (hardening), points 4, 5 and 11 on the wire: a 413 that arrives at a raw client,
//! the OpenAPI description against the routes, 405 for undeclared methods, and metrics
//! labels from fixed sets. Real server, real clients.

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{spawn_app, TestApp};

/// Writes a request head and its whole body before reading, as a naive client does, and
/// returns what it could read (an error if the connection was reset first).
async fn raw_post(app: &TestApp, path: &str, token: &str, len: usize) -> std::io::Result<String> {
    // A modest send buffer, as on any real network path: the body cannot all be in flight
    // at once, so the client is still writing when the server answers.
    let sock = tokio::net::TcpSocket::new_v4()?;
    sock.set_send_buffer_size(32 * 1024)?;
    let mut s = sock.connect(app.addr).await?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n",
        app.addr
    );
    s.write_all(head.as_bytes()).await?;
    let chunk = vec![b' '; 64 * 1024];
    let mut left = len;
    while left > 0 {
        let n = left.min(chunk.len());
        s.write_all(&chunk[..n]).await?;
        left -= n;
    }
    s.flush().await?;
    // Read the response head and its Content-Length body.
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(std::time::Duration::from_secs(10), s.read(&mut tmp))
            .await
            .map_err(|_| std::io::Error::other("timed out"))??;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&tmp[..n]);
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let len = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                break;
            }
        }
    }
    Ok(String::from_utf8_lossy(&buf).to_string())
}

#[tokio::test]
async fn hardening_oversized_post_without_expect_gets_its_413() {
    let app = spawn_app().await;
    let (_, token, _) = app.register_v1("bigposter").await;
    for (i, path) in [
        "/v2/auth/register",
        "/v1/auth/login",
        "/v1/armies",
        "/v2/algorithms",
    ]
    .iter()
    .enumerate()
    {
        let res = raw_post(&app, path, &token, 2 * 1024 * 1024).await;
        let text = res.unwrap_or_else(|e| panic!("{path}: connection failed before the 413: {e}"));
        assert!(text.starts_with("HTTP/1.1 413"), "{path} ({i}): {text}");
        assert!(text.contains("PAYLOAD_TOO_LARGE"), "{path}: {text}");
    }
    // The server is still serving.
    assert_eq!(
        app.http
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn hardening_metrics_labels_come_from_fixed_sets() {
    let app = spawn_app().await;
    let marker = uuid::Uuid::new_v4().simple().to_string();
    for i in 0..5 {
        let m = reqwest::Method::from_bytes(format!("RANDOM{marker}{i}").as_bytes()).unwrap();
        let _ = app
            .http
            .request(m, app.url("/v1/battles"))
            .send()
            .await
            .unwrap();
        let _ = app
            .http
            .get(app.url(&format!("/nothing/{marker}/{i}")))
            .send()
            .await
            .unwrap();
        let _ = app
            .http
            .get(app.url(&format!("/v1/nothing-{marker}-{i}")))
            .send()
            .await
            .unwrap();
    }
    let text = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !text.contains(&marker),
        "a client-chosen name became a label"
    );
    let methods: std::collections::BTreeSet<&str> = text
        .lines()
        .filter(|l| l.starts_with("warroom_http_requests_total{"))
        .filter_map(|l| l.split("method=\"").nth(1)?.split('"').next())
        .collect();
    assert!(methods.contains("OTHER"), "{methods:?}");
    let known = [
        "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "CONNECT", "TRACE", "OTHER",
    ];
    assert!(methods.iter().all(|m| known.contains(m)), "{methods:?}");
    assert!(text.contains("route=\"unmatched\""));
}

#[tokio::test]
async fn hardening_openapi_declares_every_route_and_its_path_parameters() {
    let app = spawn_app().await;
    let doc: Value = app
        .http
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/v1/armies",
        "/v1/armies/{id}",
        "/v1/battles",
        "/v1/battles/{id}",
        "/v1/battles/{id}/complete",
        "/v1/factions",
    ] {
        assert!(paths.contains_key(p), "{p} missing");
    }
    for (path, item) in paths {
        let names: Vec<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        for (method, op) in item.as_object().unwrap() {
            let declared: Vec<&str> = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "path")
                        .filter_map(|p| p["name"].as_str())
                        .collect()
                })
                .unwrap_or_default();
            for n in &names {
                assert!(declared.contains(n), "{method} {path} does not declare {n}");
            }
            let responses = op["responses"].as_object().unwrap();
            if path.starts_with("/v1/") && !op["security"].as_array().unwrap().is_empty() {
                let e = &responses["401"]["content"]["application/json"]["schema"]["$ref"];
                assert_eq!(e, "#/components/schemas/V1ErrorBody", "{method} {path}");
            }
            if op.get("requestBody").is_some() && path.starts_with("/v2/") {
                for s in ["400", "413", "415"] {
                    assert!(responses.contains_key(s), "{method} {path} lacks {s}");
                }
            }
        }
    }
    let profile = &doc["paths"]["/v1/auth/profile"]["get"]["responses"]["200"]["content"]
        ["application/json"]["schema"]["$ref"];
    assert_eq!(
        profile, "#/components/schemas/ProfileResp",
        "nested {{user}}"
    );
}

#[tokio::test]
async fn hardening_undeclared_method_is_405_with_allow() {
    let app = spawn_app().await;
    let (_, t) = app.register_v2("Methodical1").await;
    for (m, p, allow) in [
        ("PUT", "/v1/armies", "GET, POST"),
        ("TRACE", "/healthz", "GET"),
        ("PATCH", "/v2/robots", "GET"),
        ("GET", "/v2/battles/queue", "POST"),
        ("GET", "/v2/pilots/mint", "POST"),
    ] {
        let method = reqwest::Method::from_bytes(m.as_bytes()).unwrap();
        let r = app
            .http
            .request(method, app.url(p))
            .bearer_auth(&t)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405, "{m} {p}");
        let got = r.headers()["allow"].to_str().unwrap().to_string();
        assert!(got.contains(allow), "{m} {p}: Allow {got}");
    }
    // An unknown path is still 404.
    let r = app
        .http
        .get(app.url("/v2/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

/// Issue 11 point 5 (schemathesis): an integer written `1000.0` is an integer, as JSON
/// Schema says; a body that is an array is refused, not read as a struct; the guest sign-in
/// is public; free-form bodies are documented exactly.
#[tokio::test]
async fn hardening_request_bodies_match_their_schemas() {
    let app = spawn_app().await;
    let (_, v1) = {
        let (u, t, _) = app.register_v1("schema_one").await;
        (u, t)
    };
    let r = app
        .post_auth(
            "/v1/armies",
            &v1,
            &serde_json::json!({"name": "Iron", "faction_id": "fac_custodes", "points_value": 1000.0}),
        )
        .await;
    assert_eq!(r.status(), 201, "{:?}", r.text().await);

    let (_, v2) = app.register_v2("schema_two").await;
    let r = app
        .http
        .patch(app.url("/v2/users/me"))
        .bearer_auth(&v2)
        .json(&serde_json::json!([null, null]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    let doc: Value = app
        .http
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        doc["paths"]["/v2/auth/guest"]["post"]["security"],
        serde_json::json!([])
    );
    let action = &doc["paths"]["/v1/battles/{id}"]["patch"]["requestBody"]["content"]
        ["application/json"]["schema"];
    assert!(
        action["oneOf"].as_array().is_some_and(|v| v.len() == 10),
        "{action}"
    );
    assert!(doc["components"]["schemas"]["V1LoginReq"]["anyOf"].is_array());
}
