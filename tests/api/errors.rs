use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn malformed_bodies_are_4xx_with_each_surface_shape() {
    let app = spawn_app().await;
    // Malformed JSON.
    let r = app
        .http
        .post(app.url("/v1/auth/login"))
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.headers().contains_key("x-request-id"));
    let id = r.headers()["x-request-id"].to_str().unwrap().to_string();
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["error"]["code"], "VALIDATION_ERROR");
    assert_eq!(b["request_id"], id.as_str());
    assert!(b["timestamp"].is_string());

    let r = app
        .http
        .post(app.url("/v2/auth/login"))
        .header("content-type", "application/json")
        .body("[1,2")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["error"], "VALIDATION_ERROR");

    // Wrong content type.
    let r = app
        .http
        .post(app.url("/v2/auth/login"))
        .header("content-type", "text/plain")
        .body("hi")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let r = app
        .http
        .post(app.url("/v1/auth/login"))
        .header("content-type", "text/plain")
        .body("hi")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);

    // Missing field.
    let r = app
        .post("/v2/auth/login", &json!({"email": "x@example.com"}))
        .await;
    assert_eq!(r.status(), 400);

    // Oversized body.
    let big = "x".repeat(app.config.body_limit + 10);
    let r = app
        .post(
            "/v2/auth/register",
            &json!({"username": big, "email": "a@b.co", "password": "Secret-pass1"}),
        )
        .await;
    assert_eq!(r.status(), 413);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["error"], "PAYLOAD_TOO_LARGE");

    // Unknown routes.
    let r = app
        .http
        .get(app.url("/v2/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["error"], "NOT_FOUND");
    let r = app
        .http
        .get(app.url("/v1/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["error"]["code"], "NOT_FOUND");
}

#[tokio::test]
async fn incoming_request_id_is_echoed() {
    let app = spawn_app().await;
    let r = app
        .http
        .get(app.url("/healthz"))
        .header("x-request-id", "trace-123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "trace-123");
}

#[tokio::test]
async fn v2_auth_is_rate_limited_with_retry_after() {
    let app = spawn_app_with(|c| c.rate_limits.v2_auth_per_min = 10).await;
    let body = json!({"email": "nobody@example.com", "password": "Wrong-pass1"});
    for i in 0..10 {
        let r = app.post("/v2/auth/login", &body).await;
        assert_eq!(r.status(), 401, "attempt {i}");
    }
    let r = app.post("/v2/auth/login", &body).await;
    assert_eq!(r.status(), 429);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["error"], "RATE_LIMITED");
}

#[tokio::test]
async fn v1_carries_rate_limit_headers_and_limits() {
    let app = spawn_app_with(|c| c.rate_limits.v1_per_hour = 3).await;
    let (_, token, _) = app.register_v1("limited").await;
    let r = app.get_auth("/v1/auth/profile", &token).await;
    assert_eq!(r.headers()["x-ratelimit-limit"], "3");
    let remaining: u32 = r.headers()["x-ratelimit-remaining"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(remaining, 2);
    assert!(r.headers().contains_key("x-ratelimit-reset"));
    app.get_auth("/v1/auth/profile", &token).await;
    app.get_auth("/v1/auth/profile", &token).await;
    let r = app.get_auth("/v1/auth/profile", &token).await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["error"]["code"], "RATE_LIMITED");
}

#[tokio::test]
async fn rate_limits_can_be_switched_off() {
    let app = spawn_app_with(|c| c.rate_limits.enabled = false).await;
    let body = json!({"email": "nobody@example.com", "password": "Wrong-pass1"});
    for _ in 0..15 {
        assert_eq!(app.post("/v2/auth/login", &body).await.status(), 401);
    }
}
