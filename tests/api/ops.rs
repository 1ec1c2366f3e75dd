use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test]
async fn health_ready_metrics_openapi() {
    let app = spawn_app().await;
    let r = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["database"], "ok");

    app.register_v2("metered").await;
    let text = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("warroom_http_requests_total"), "{text}");
    assert!(text.contains("warroom_http_request_duration_seconds"));
    assert!(text.contains("warroom_persist_pending"));

    let doc: Value = app
        .http
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for p in [
        "/v1/auth/register",
        "/v1/auth/profile",
        "/v2/auth/login",
        "/v2/auth/refresh",
        "/healthz",
    ] {
        assert!(doc["paths"][p].is_object(), "openapi lacks {p}");
    }
}

#[tokio::test]
async fn persister_commits_before_acknowledging() {
    use warroom::actors::persister::{Persist, Persister};
    use warroom::store::audit::audit_op;
    let app = spawn_app().await;
    // A persister of our own over the same database, driven like the server drives it.
    let db = warroom::store::Db::connect(&app.config.database)
        .await
        .unwrap();
    // The persister's runtime gets its own pool: connections opened on a runtime die with it,
    // and the check below must not pick one of those up.
    let target = app.config.database.clone();
    let n = tokio::task::spawn_blocking(move || {
        actix_rt::System::new().block_on(async move {
            use actix::Actor;
            let db2 = warroom::store::Db::connect(&target).await.unwrap();
            let p = Persister::new(db2, std::time::Duration::from_millis(2), 100).start();
            let mut waits = Vec::new();
            for i in 0..250 {
                let op = audit_op(
                    None,
                    "test.write",
                    Some(&format!("t{i}")),
                    None,
                    &serde_json::json!({"i": i}),
                );
                waits.push(p.send(Persist(vec![op])));
            }
            let mut ok = 0;
            for w in waits {
                if matches!(w.await, Ok(Ok(()))) {
                    ok += 1;
                }
            }
            ok
        })
    })
    .await
    .unwrap();
    assert_eq!(n, 250);
    let rows: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'test.write'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(rows, 250);
}

#[tokio::test]
async fn persister_fails_bad_writes_without_failing_neighbours() {
    use warroom::actors::persister::{Persist, Persister, WriteOp};
    use warroom::store::audit::audit_op;
    let app = spawn_app().await;
    let db = warroom::store::Db::connect(&app.config.database)
        .await
        .unwrap();
    let (good, bad) = tokio::task::spawn_blocking(move || {
        actix_rt::System::new().block_on(async move {
            use actix::Actor;
            let p = Persister::new(db, std::time::Duration::from_millis(20), 100).start();
            let g = p.send(Persist(vec![audit_op(
                None,
                "test.good",
                None,
                None,
                &serde_json::json!({}),
            )]));
            let b = p.send(Persist(vec![WriteOp::Exec {
                sql: "INSERT INTO no_such_table VALUES (1)",
                args: vec![],
            }]));
            (g.await.unwrap(), b.await.unwrap())
        })
    })
    .await
    .unwrap();
    assert_eq!(good, Ok(()));
    assert!(bad.is_err());
}
