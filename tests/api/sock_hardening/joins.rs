//! Point 9: amplification. A `battle:join` sends one catch-up, never a tick a socket was
//! already sent, and joins are rate-limited per socket (refused with an `error` event, the
//! socket stays up).

use std::time::Duration;

use serde_json::{json, Value};

use crate::battles::{match_and_ready, next, numbers, player};
use crate::helpers::spawn_app_with;
use crate::realtime::ping_until_pong;

fn batch_ticks(batch: &Value) -> Vec<u64> {
    numbers(batch["ticks"].as_array().unwrap())
}

#[tokio::test]
async fn hardening_battle_join_sends_one_catch_up_per_join() {
    let app = spawn_app_with(|c| {
        // Slow enough that the battle outlasts the joins on a busy box.
        c.tick = Duration::from_millis(100);
        c.countdown = Duration::from_secs(60);
    })
    .await;
    let (_, _, a_robot, a, mut a_rx) = player(&app, "ampA").await;
    let (_, _, b_robot, b, mut b_rx) = player(&app, "ampB").await;
    let (_, _, _, spec, mut s_rx) = player(&app, "ampWatch").await;
    let battle = match_and_ready(
        (&a, &mut a_rx, &a_robot),
        (&b, &mut b_rx, &b_robot),
        json!({"mode": "CASUAL"}),
    )
    .await;
    let mut seen = Vec::new();
    while seen.len() < 4 {
        seen.push(next(&mut a_rx, "battle:tick").await);
    }

    // First join with since_tick = 2: ticks 3.. only.
    spec.emit(
        "spectate:join",
        json!({"battle_id": battle, "since_tick": 2}),
    )
    .await
    .unwrap();
    let first = batch_ticks(&next(&mut s_rx, "battle:tick_batch").await);
    assert_eq!(first.first(), Some(&3), "since_tick respected: {first:?}");
    // Joining again without since_tick sends only what this socket was never sent: 1 and 2.
    spec.emit("battle:join", json!({"battle_id": battle}))
        .await
        .unwrap();
    let mut got = first.clone();
    let mut batches = vec![first];
    let end = loop {
        let (name, v) = tokio::time::timeout(Duration::from_secs(30), s_rx.recv())
            .await
            .expect("events")
            .unwrap();
        match name.as_str() {
            "battle:tick_batch" => {
                let t = batch_ticks(&v);
                got.extend(&t);
                batches.push(t);
                if batches.len() == 2 {
                    // A third join, with since_tick 0: nothing is left to send.
                    spec.emit("battle:join", json!({"battle_id": battle, "since_tick": 0}))
                        .await
                        .unwrap();
                }
            }
            "battle:tick" => {
                let n = v["tick"].as_u64().unwrap();
                got.push(n);
            }
            "battle:ended" => break v,
            _ => {}
        }
    };
    assert_eq!(batches.len(), 3, "one batch per join");
    assert_eq!(batches[1], vec![1, 2], "the repeat join resends nothing");
    assert!(batches[2].is_empty(), "{:?}", batches[2]);
    got.sort_unstable();
    let n = end["total_ticks"].as_u64().unwrap();
    assert_eq!(got, (1..=n).collect::<Vec<_>>(), "every tick exactly once");
    let _ = b;
}

#[tokio::test]
async fn hardening_battle_join_is_rate_limited_per_socket() {
    let app = spawn_app_with(|_| {}).await;
    let (_, _, _, s, mut rx) = player(&app, "joiner").await;
    let id = uuid::Uuid::new_v4();
    for _ in 0..6 {
        s.emit("battle:join", json!({"battle_id": id}))
            .await
            .unwrap();
    }
    let mut codes = Vec::new();
    while codes.len() < 6 {
        codes.push(next(&mut rx, "error").await["code"].clone());
    }
    let limited = codes.iter().filter(|c| *c == "RATE_LIMITED").count();
    assert!(limited >= 2, "joins are rate-limited per socket: {codes:?}");
    // The socket stays up.
    ping_until_pong(&s, &mut rx).await;
}
