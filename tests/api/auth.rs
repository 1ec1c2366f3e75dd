use base64::Engine;
use serde_json::{json, Value};

use crate::helpers::spawn_app;

#[tokio::test]
async fn v1_register_login_profile() {
    let app = spawn_app().await;
    let (user, access, refresh) = app.register_v1("captain").await;
    assert_eq!(user["role"], "player");
    assert_eq!(user["display_name"], "Captain captain");
    assert!(!refresh.is_empty());

    let r = app
        .post(
            "/v1/auth/login",
            &json!({"username": "CAPTAIN", "password": "Secret-pass1"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["token_type"], "Bearer");
    assert_eq!(b["expires_in"], 3600);

    let r = app.get_auth("/v1/auth/profile", &access).await;
    assert_eq!(r.status(), 200);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["user"]["username"], "captain");
    assert_eq!(b["user"]["email"], "captain@example.com");
}

#[tokio::test]
async fn accounts_are_shared_between_apis() {
    let app = spawn_app().await;
    app.register_v1("shared").await;
    let r = app
        .post(
            "/v2/auth/login",
            &json!({"email": "shared@example.com", "password": "Secret-pass1"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["expires_in"], 900);
    assert_eq!(b["user"]["gmo_balance"], 1000);
    // A v2 token works on v1.
    let r = app
        .get_auth("/v1/auth/profile", b["access_token"].as_str().unwrap())
        .await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn registration_validates_and_rejects_duplicates() {
    let app = spawn_app().await;
    let weak = app
        .post(
            "/v2/auth/register",
            &json!({"username": "weakling", "email": "w@example.com", "password": "password"}),
        )
        .await;
    assert_eq!(weak.status(), 400);
    let b: Value = weak.json().await.unwrap();
    assert_eq!(b["error"], "VALIDATION_ERROR");
    let weak = app
        .post(
            "/v1/auth/register",
            &json!({"username": "weakling", "email": "w@example.com", "password": "password"}),
        )
        .await;
    assert_eq!(weak.status(), 422);
    let b: Value = weak.json().await.unwrap();
    assert_eq!(b["error"]["code"], "VALIDATION_ERROR");
    assert_eq!(b["error"]["details"]["field"], "password");

    app.register_v2("dupe").await;
    let again = app
        .post(
            "/v2/auth/register",
            &json!({"username": "Dupe", "email": "other@example.com", "password": "Secret-pass1"}),
        )
        .await;
    assert_eq!(again.status(), 409);
    let again = app
        .post(
            "/v1/auth/register",
            &json!({"username": "other", "email": "DUPE@example.com", "password": "Secret-pass1"}),
        )
        .await;
    assert_eq!(again.status(), 409);
}

#[tokio::test]
async fn bad_password_is_401_and_audited() {
    let app = spawn_app().await;
    app.register_v2("victim").await;
    let r = app
        .post(
            "/v2/auth/login",
            &json!({"email": "victim@example.com", "password": "Wrong-pass1"}),
        )
        .await;
    assert_eq!(r.status(), 401);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["error"], "UNAUTHORIZED");
    let r = app
        .post(
            "/v2/auth/login",
            &json!({"email": "nobody@example.com", "password": "Wrong-pass1"}),
        )
        .await;
    assert_eq!(r.status(), 401);
    // The failed logins were committed to the audit log before the 401 went out.
    let db = warroom::store::Db::connect(&app.config.database)
        .await
        .unwrap();
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'auth.login_failed'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(n, 2);
}

#[tokio::test]
async fn v1_refresh_rotates_and_detects_reuse() {
    let app = spawn_app().await;
    let (_, _, r0) = app.register_v1("rotor").await;
    let r = app
        .post("/v1/auth/refresh", &json!({"refresh_token": r0}))
        .await;
    assert_eq!(r.status(), 200);
    let b: Value = r.json().await.unwrap();
    let r1 = b["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(r1, r0);
    assert!(b["access_token"].is_string());

    // Reusing the spent token is refused and revokes the family: r1 dies too.
    let r = app
        .post("/v1/auth/refresh", &json!({"refresh_token": r0}))
        .await;
    assert_eq!(r.status(), 401);
    let r = app
        .post("/v1/auth/refresh", &json!({"refresh_token": r1}))
        .await;
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn v1_logout_revokes_refresh() {
    let app = spawn_app().await;
    let (_, _, r0) = app.register_v1("leaver").await;
    let r = app
        .post("/v1/auth/logout", &json!({"refresh_token": r0}))
        .await;
    assert_eq!(r.status(), 204);
    let r = app
        .post("/v1/auth/refresh", &json!({"refresh_token": r0}))
        .await;
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn v2_refresh_uses_httponly_cookie() {
    let app = spawn_app().await;
    let r = app
        .post("/v2/auth/register", &json!({"username": "cookie", "email": "cookie@example.com", "password": "Secret-pass1"}))
        .await;
    let set_cookie = r
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(set_cookie.contains("HttpOnly"));
    assert!(set_cookie.contains("SameSite=Strict"));
    let old = set_cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("refresh_token=")
        .to_string();

    // The client's cookie jar sends it.
    let r = app
        .http
        .post(app.url("/v2/auth/refresh"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["expires_in"], 900);

    // Replaying the old cookie is reuse: refused, and the family (current cookie) is revoked.
    let bare = reqwest::Client::new();
    let r = bare
        .post(app.url("/v2/auth/refresh"))
        .header("cookie", format!("refresh_token={old}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = app
        .http
        .post(app.url("/v2/auth/refresh"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // Without a cookie: 401.
    let r = bare.post(app.url("/v2/auth/refresh")).send().await.unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn v2_logout_clears_cookie() {
    let app = spawn_app().await;
    app.register_v2("bye").await;
    let r = app
        .http
        .post(app.url("/v2/auth/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = app
        .http
        .post(app.url("/v2/auth/refresh"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

fn b64(v: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

#[tokio::test]
async fn jwt_attacks_are_refused() {
    let app = spawn_app().await;
    let (user, access, refresh) = app.register_v1("target").await;
    let now = chrono::Utc::now().timestamp();
    let claims = |exp: i64, aud: &str| json!({"sub": user["id"], "iss": "warroom", "aud": aud, "exp": exp, "iat": now, "role": "admin", "jti": "x"});

    // alg=none
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims(now + 600, "warroom-api"))
    );
    // tampered payload (role escalated), original signature
    let parts: Vec<&str> = access.split('.').collect();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64(&claims(now + 600, "warroom-api")),
        parts[2]
    );
    // correctly signed but wrong audience / expired (signed with the test secret)
    let key =
        jsonwebtoken::EncodingKey::from_secret(app.config.jwt_secret.as_ref().unwrap().as_bytes());
    let sign = |c: &Value| jsonwebtoken::encode(&jsonwebtoken::Header::default(), c, &key).unwrap();
    let wrong_aud = sign(&claims(now + 600, "someone-else"));
    let expired = sign(&claims(now - 10, "warroom-api"));
    let no_sub =
        sign(&json!({"iss": "warroom", "aud": "warroom-api", "exp": now + 600, "role": "admin"}));

    for (name, token) in [
        ("none", none),
        ("tampered", tampered),
        ("aud", wrong_aud),
        ("expired", expired),
        ("no_sub", no_sub),
        ("refresh-as-access", refresh.clone()),
    ] {
        let r = app.get_auth("/v1/auth/profile", &token).await;
        assert_eq!(r.status(), 401, "{name}");
        let b: Value = r.json().await.unwrap();
        assert_eq!(b["error"]["code"], "UNAUTHORIZED", "{name}");
    }
    // Sanity: the same signer with good claims is accepted, so the refusals above are real.
    let good = sign(&claims(now + 600, "warroom-api"));
    assert_eq!(app.get_auth("/v1/auth/profile", &good).await.status(), 200);
    // No token at all.
    let r = app
        .http
        .get(app.url("/v1/auth/profile"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}
