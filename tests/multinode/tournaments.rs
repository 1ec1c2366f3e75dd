//! A tournament's round clock runs once in the cluster: `kill -9` of the node that ran it
//! moves it to a survivor, which announces the end of the round exactly once.

use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::{army, eventually, lease_holder, register_v1, TestCluster};

async fn time_ups(db_url: &str, tournament: &str) -> i64 {
    let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(db_url)
        .await
        .unwrap();
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'tournament.round_time_up' AND target = $1",
    )
    .bind(tournament)
    .fetch_one(&mut c)
    .await
    .unwrap();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_round_clock_moves_to_a_survivor_and_ends_the_round_once() {
    let Some(cluster) = TestCluster::new("tournament clock").await else {
        return;
    };
    let a = cluster.node("a");
    let b = cluster.node("b");
    let http = reqwest::Client::new();
    register_v1(&http, &a.base, "mnorg").await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_warroom"))
        .args(["user", "promote", "mnorg", "organizer"])
        .env("DATABASE_URL", &cluster.db_url)
        .env_remove("REDIS_URL")
        .env("WARROOM_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let login: Value = http
        .post(format!("{}/v1/auth/login", a.base))
        .json(&json!({"username": "mnorg", "password": "Secret-pass1"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let org = login["access_token"].as_str().unwrap().to_string();
    let r = http
        .post(format!("{}/v1/tournaments", a.base))
        .bearer_auth(&org)
        .json(
            &json!({"name": "Cluster Cup", "format": "swiss", "max_participants": 8,
            "entry_fee": 0, "start_date": "2030-02-01T09:00:00Z", "status": "registration",
            "rules": {"time_limit": 4, "rounds": 1}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["tournament"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for name in ["mntp1", "mntp2"] {
        let (_, t) = register_v1(&http, &b.base, name).await;
        let army = army(&http, &b.base, &t).await;
        let r = http
            .post(format!("{}/v1/tournaments/{id}/register", b.base))
            .bearer_auth(&t)
            .json(&json!({"army_id": army}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    // Round 1 is paired on node a: its clock runs there.
    let r = http
        .post(format!("{}/v1/tournaments/{id}/generate-pairings", a.base))
        .bearer_auth(&org)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    assert_eq!(
        lease_holder(&cluster.prefix, "tclock", &id)
            .await
            .as_deref(),
        Some("a")
    );
    a.kill9();
    // The survivor takes the clock over and announces the end of the round.
    let holder = eventually(Duration::from_secs(10), || async {
        lease_holder(&cluster.prefix, "tclock", &id)
            .await
            .filter(|n| n == "b")
    })
    .await;
    assert_eq!(
        holder.as_deref(),
        Some("b"),
        "the clock moved to the survivor"
    );
    eventually(Duration::from_secs(15), || {
        let (url, id) = (cluster.db_url.clone(), id.clone());
        async move { (time_ups(&url, &id).await >= 1).then_some(()) }
    })
    .await
    .expect("round_time_up announced after the takeover");
    // Two more sweep periods: nobody announces it again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(time_ups(&cluster.db_url, &id).await, 1);
    drop(b);
}
