//! One matcher per mode for the whole cluster: the queue answers the same on every node, and
//! a queued player survives `kill -9` of the node that ran the matcher.

use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::{eventually, get, lease_holder, register_v2, TestCluster};

async fn queue(http: &reqwest::Client, base: &str, token: &str) -> (u16, Value) {
    let (_, mine) = get(http, base, "/v2/users/me/robots", token).await;
    let robot = mine["data"][0]["user_robot_id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = http
        .post(format!("{base}/v2/battles/queue"))
        .bearer_auth(token)
        .json(&json!({"mode": "CASUAL", "robot_id": robot}))
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_player_survives_kill9_of_the_matcher_node_and_is_matched_after() {
    let Some(mut cluster) = TestCluster::new("queue failover").await else {
        return;
    };
    // Long countdown: the matched battle waits, nothing else moves.
    cluster
        .env
        .push(("WARROOM_COUNTDOWN_MS".into(), "60000".into()));
    let a = cluster.node("a");
    let b = cluster.node("b");
    let http = reqwest::Client::new();
    let matcher = eventually(Duration::from_secs(10), || {
        lease_holder(&cluster.prefix, "matcher", "CASUAL")
    })
    .await
    .expect("some node runs the CASUAL matcher");
    let (holder, other) = if matcher == "a" { (a, b) } else { (b, a) };
    // Queued through the node that does not run the matcher.
    let (_, t1) = register_v2(&http, &other.base, "mnq1").await;
    let (s, v) = queue(&http, &other.base, &t1).await;
    assert_eq!(s, 202, "{v}");
    assert!(v["queue_id"].is_string(), "{v}");
    // Position and window are the same whichever node answers.
    let (_, on_other) = get(&http, &other.base, "/v2/battles/queue/status", &t1).await;
    let (_, on_holder) = get(&http, &holder.base, "/v2/battles/queue/status", &t1).await;
    assert_eq!(on_other["status"], "WAITING", "{on_other}");
    assert_eq!(on_other["position"], 1);
    assert_eq!(on_other["position"], on_holder["position"]);
    assert_eq!(on_other["rating_range"], on_holder["rating_range"]);
    // Queueing twice is refused wherever it is asked.
    let (s, v) = queue(&http, &holder.base, &t1).await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["error"], "ALREADY_IN_QUEUE");

    holder.kill9();
    // The survivor becomes the matcher and adopts the waiting ticket.
    let adopted = eventually(Duration::from_secs(15), || {
        let (http, base, t1) = (http.clone(), other.base.clone(), t1.clone());
        async move {
            let (s, v) = get(&http, &base, "/v2/battles/queue/status", &t1).await;
            (s == 200 && v["status"] == "WAITING").then_some(v)
        }
    })
    .await
    .expect("the ticket is still queued after the matcher node died");
    assert_eq!(adopted["position"], 1);
    assert_eq!(
        lease_holder(&cluster.prefix, "matcher", "CASUAL")
            .await
            .as_deref(),
        Some(other.name.as_str())
    );
    // And it is matched with the next player.
    let (_, t2) = register_v2(&http, &other.base, "mnq2").await;
    let (s, v) = queue(&http, &other.base, &t2).await;
    assert_eq!(s, 202, "{v}");
    let matched = eventually(Duration::from_secs(10), || {
        let (http, base, t1) = (http.clone(), other.base.clone(), t1.clone());
        async move {
            let (_, v) = get(&http, &base, "/v2/battles/queue/status", &t1).await;
            (v["status"] == "MATCHED").then_some(v)
        }
    })
    .await
    .expect("matched after the takeover");
    let (_, second) = get(&http, &other.base, "/v2/battles/queue/status", &t2).await;
    assert_eq!(second["battle_id"], matched["battle_id"]);
}
