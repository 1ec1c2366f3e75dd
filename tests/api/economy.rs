//! /v2 economy on the embedded dev chain: rates, deposits (end to end with a withdrawal,
//! concurrent claims, verification failures), history, balances, and the shared helpers of
//! the `economy_*` test modules.

use std::time::Duration;

use futures_util::FutureExt;
use k256::ecdsa::SigningKey;
use rust_socketio::{asynchronous::ClientBuilder, Payload, TransportType};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use warroom::chain::{devchain::DevChain, eip191};
use warroom::store::Db;

use crate::helpers::{spawn_app_with, TestApp};

/// A server with fast chain confirmations and no rate limits.
pub async fn econ_app() -> TestApp {
    spawn_app_with(|c| {
        c.rate_limits.enabled = false;
        c.economy.devchain.confirm = Duration::from_millis(150);
        c.economy.poll = Duration::from_millis(40);
    })
    .await
}

/// A second handle on the test server's database.
pub async fn db(app: &TestApp) -> Db {
    Db::connect(&app.config.database).await.unwrap()
}

/// The dev chain the server uses, over `db`.
pub fn chain(app: &TestApp, db: &Db) -> DevChain {
    DevChain::new(db.clone(), app.config.economy.devchain.clone())
}

/// A wallet key generated in the test.
pub fn new_key() -> SigningKey {
    loop {
        if let Ok(k) = SigningKey::from_slice(&rand::random::<[u8; 32]>()) {
            return k;
        }
    }
}

/// The lowercase address of a key.
pub fn addr(key: &SigningKey) -> String {
    eip191::address_hex(&eip191::address_of(key.verifying_key()))
}

/// Links `key`'s wallet to the user through the nonce flow.
pub async fn link(app: &TestApp, token: &str, key: &SigningKey) -> String {
    let r = app.get_auth("/v2/auth/wallet/nonce", token).await;
    assert_eq!(r.status(), 200);
    let n: Value = r.json().await.unwrap();
    let message = n["message"].as_str().unwrap().to_string();
    let r = app
        .post_auth(
            "/v2/auth/wallet/connect",
            token,
            &json!({"wallet_address": addr(key), "message": message,
                    "signature": eip191::sign(key, message.as_bytes())}),
        )
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    addr(key)
}

pub async fn gmo(app: &TestApp, token: &str) -> i64 {
    let b: Value = app
        .get_auth("/v2/economy/balance", token)
        .await
        .json()
        .await
        .unwrap();
    b["gmo_balance"].as_i64().unwrap()
}

/// Polls the history until `log_id` reaches `status` (or panics after 10 s).
pub async fn wait_status(app: &TestApp, token: &str, log_id: &str, status: &str) -> Value {
    for _ in 0..200 {
        let b: Value = app
            .get_auth("/v2/economy/transactions?limit=100", token)
            .await
            .json()
            .await
            .unwrap();
        if let Some(row) = b["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["log_id"] == log_id)
        {
            if row["status"] == status {
                return row.clone();
            }
            if row["status"] == "FAILED" && status != "FAILED" {
                panic!("{log_id} failed: {row}");
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{log_id} never reached {status}");
}

pub async fn assert_ledger_ok(db: &Db) {
    let r = db.ledger_check().await.unwrap();
    assert!(r.is_ok(), "ledger: {r:?}");
}

/// A Socket.IO client collecting the named events.
pub async fn socket(
    app: &TestApp,
    token: &str,
    events: &[&'static str],
) -> (
    rust_socketio::asynchronous::Client,
    mpsc::UnboundedReceiver<(String, Value)>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut b = ClientBuilder::new(format!("{}/v2/ws/?token={token}", app.base))
        .transport_type(TransportType::Websocket);
    for ev in events.iter().chain(["pong"].iter()) {
        let tx = tx.clone();
        let name = ev.to_string();
        b = b.on(*ev, move |p, _| {
            let tx = tx.clone();
            let name = name.clone();
            async move {
                let v = match p {
                    Payload::Text(mut v) => v.pop().unwrap_or(Value::Null),
                    _ => Value::Null,
                };
                let _ = tx.send((name, v));
            }
            .boxed()
        });
    }
    let client = b.connect().await.expect("socket.io connect");
    let mut rx = rx;
    // The server drops events before its CONNECT ack: wait for a pong first.
    'outer: for _ in 0..50 {
        client.emit("ping", json!({})).await.unwrap();
        while let Ok(Some((name, _))) =
            tokio::time::timeout(Duration::from_millis(200), rx.recv()).await
        {
            if name == "pong" {
                break 'outer;
            }
        }
    }
    (client, rx)
}

/// Waits for a named event.
pub async fn next_event(rx: &mut mpsc::UnboundedReceiver<(String, Value)>, name: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some((n, v))) if n == name => return v,
            Ok(Some(_)) => continue,
            _ => panic!("no {name} event"),
        }
    }
}

#[tokio::test]
async fn rates_are_configurable() {
    let app = spawn_app_with(|c| {
        c.economy.rates.gmo_per_eldr = 500;
        c.economy.rates.withdraw_fee_bps = 100;
    })
    .await;
    let r: Value = app
        .http
        .get(app.url("/v2/economy/rates"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["gmo_per_eldr"], 500);
    assert_eq!(r["withdraw_fee_pct"], 1.0);
    assert_eq!(r["min_eldr_deposit"], "0.01");
    assert_eq!(r["max_eldr_withdraw"], "100.0");
}

#[tokio::test]
async fn deposit_and_withdraw_end_to_end_on_the_dev_chain() {
    let app = econ_app().await;
    let db = db(&app).await;
    let chain = chain(&app, &db);
    let (user, token) = app.register_v2("depositor").await;
    let key = new_key();
    let wallet = link(&app, &token, &key).await;
    let (client, mut rx) =
        socket(&app, &token, &["transaction:confirmed", "balance:updated"]).await;

    // On chain: a faucet, then the user's transfer to the treasury.
    chain.fund(&wallet, 5_000_000_000).await.unwrap();
    let treasury = app.config.economy.devchain.treasury.clone();
    let hash = chain
        .transfer(&wallet, &treasury, 2_500_000_000)
        .await
        .unwrap();
    let r = app
        .post_auth(
            "/v2/economy/deposit",
            &token,
            &json!({"tx_hash": hash, "eldr_amount": "2.5"}),
        )
        .await;
    assert_eq!(r.status(), 202);
    let d: Value = r.json().await.unwrap();
    assert_eq!(d["status"], "PENDING");
    assert_eq!(d["gmo_expected"], 2500);
    let log_id = d["log_id"].as_str().unwrap().to_string();

    let ev = next_event(&mut rx, "transaction:confirmed").await;
    assert_eq!(ev["tx_hash"], hash.as_str());
    assert_eq!(ev["type"], "DEPOSIT");
    assert_eq!(ev["gmo_delta"], 2500);
    assert_eq!(ev["eldr_amount"], "2.5");
    let ev = next_event(&mut rx, "balance:updated").await;
    assert_eq!(ev["gmo_balance"], 3500);
    wait_status(&app, &token, &log_id, "CONFIRMED").await;
    assert_eq!(gmo(&app, &token).await, 3500);

    // Withdraw 2000 GMO: 2.0 ELDR gross, 0.05 fee, 1.95 sent to the wallet.
    let r = app
        .post_auth("/v2/economy/withdraw", &token, &json!({"gmo_amount": 2000}))
        .await;
    assert_eq!(r.status(), 202);
    let w: Value = r.json().await.unwrap();
    assert_eq!(w["eldr_amount"], "1.95");
    assert_eq!(w["fee_eldr"], "0.05");
    assert_eq!(w["status"], "SENT");
    assert!(w["tx_hash"].as_str().unwrap().starts_with("0x"));
    assert_eq!(gmo(&app, &token).await, 1500, "GMO is held at once");
    let wid = w["log_id"].as_str().unwrap().to_string();
    let ev = next_event(&mut rx, "transaction:confirmed").await;
    assert_eq!(ev["type"], "WITHDRAW");
    assert_eq!(ev["gmo_delta"], -2000);
    wait_status(&app, &token, &wid, "CONFIRMED").await;

    // On chain: 5 - 2.5 + 1.95.
    let b: Value = app
        .get_auth("/v2/economy/balance", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(b["eldr_balance_onchain"], "4.45");
    assert_eq!(b["gmo_balance"], 1500);
    assert!(b["synced_at"].as_str().unwrap().ends_with('Z'));

    // History: filters and offset pagination.
    let h: Value = app
        .get_auth("/v2/economy/transactions?limit=1", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (h["total"].as_i64(), h["has_more"].as_bool()),
        (Some(2), Some(true))
    );
    assert_eq!(h["data"][0]["type"], "WITHDRAW");
    let h: Value = app
        .get_auth(
            "/v2/economy/transactions?type=DEPOSIT&status=CONFIRMED",
            &token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(h["total"], 1);
    assert_eq!(h["data"][0]["log_id"], log_id.as_str());
    let r = app
        .get_auth("/v2/economy/transactions?type=BOGUS", &token)
        .await;
    assert_eq!(r.status(), 400);

    assert_ledger_ok(&db).await;
    let _ = user;
    client.disconnect().await.unwrap();
}

#[tokio::test]
async fn same_deposit_ten_times_concurrently_is_credited_once() {
    let app = econ_app().await;
    let db = db(&app).await;
    let chain = chain(&app, &db);
    let (_, token) = app.register_v2("racer").await;
    let wallet = link(&app, &token, &new_key()).await;
    chain.fund(&wallet, 1_000_000_000).await.unwrap();
    let hash = chain
        .transfer(
            &wallet,
            &app.config.economy.devchain.treasury,
            1_000_000_000,
        )
        .await
        .unwrap();
    let body = json!({"tx_hash": hash, "eldr_amount": "1.0"});
    let calls = (0..10).map(|_| app.post_auth("/v2/economy/deposit", &token, &body));
    let mut ids = std::collections::BTreeSet::new();
    for r in futures_util::future::join_all(calls).await {
        assert_eq!(r.status(), 202);
        let b: Value = r.json().await.unwrap();
        ids.insert(b["log_id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 1, "one claim per tx hash");
    let id = ids.into_iter().next().unwrap();
    wait_status(&app, &token, &id, "CONFIRMED").await;
    // Later calls change nothing either.
    let r = app
        .post_auth(
            "/v2/economy/deposit",
            &token,
            &json!({"tx_hash": hash, "eldr_amount": "1.0"}),
        )
        .await;
    assert_eq!(r.status(), 202);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(gmo(&app, &token).await, 2000);
    // Another user cannot claim it.
    let (_, other) = app.register_v2("thief").await;
    link(&app, &other, &new_key()).await;
    let r = app
        .post_auth(
            "/v2/economy/deposit",
            &other,
            &json!({"tx_hash": hash, "eldr_amount": "1.0"}),
        )
        .await;
    assert_eq!(r.status(), 409);
    assert_ledger_ok(&db).await;
}

#[tokio::test]
async fn deposit_verification_failures_are_reported() {
    let app = econ_app().await;
    let db = db(&app).await;
    let chain = chain(&app, &db);
    let treasury = app.config.economy.devchain.treasury.clone();
    let (_, token) = app.register_v2("verifier").await;
    let wallet = link(&app, &token, &new_key()).await;
    chain.fund(&wallet, 10_000_000_000).await.unwrap();
    let stranger = addr(&new_key());
    chain.fund(&stranger, 10_000_000_000).await.unwrap();

    let wrong_amount = chain
        .transfer(&wallet, &treasury, 1_000_000_000)
        .await
        .unwrap();
    let not_treasury = chain
        .transfer(&wallet, &stranger, 1_000_000_000)
        .await
        .unwrap();
    let not_mine = chain
        .transfer(&stranger, &treasury, 1_000_000_000)
        .await
        .unwrap();
    let unknown = format!("0x{}", "ab".repeat(32));
    let cases = [
        (wrong_amount.as_str(), "2.0", "amount mismatch"),
        (not_treasury.as_str(), "1.0", "not to the treasury"),
        (not_mine.as_str(), "1.0", "not from the linked wallet"),
    ];
    for (hash, amount, reason) in cases {
        let r = app
            .post_auth(
                "/v2/economy/deposit",
                &token,
                &json!({"tx_hash": hash, "eldr_amount": amount}),
            )
            .await;
        assert_eq!(r.status(), 202);
        let b: Value = r.json().await.unwrap();
        let row = wait_status(&app, &token, b["log_id"].as_str().unwrap(), "FAILED").await;
        assert!(
            row["reason"].as_str().unwrap().contains(reason),
            "{row} should say {reason}"
        );
    }
    // A failed claim releases the hash: the right amount can still be claimed.
    let r = app
        .post_auth(
            "/v2/economy/deposit",
            &token,
            &json!({"tx_hash": wrong_amount, "eldr_amount": "1.0"}),
        )
        .await;
    let b: Value = r.json().await.unwrap();
    wait_status(&app, &token, b["log_id"].as_str().unwrap(), "CONFIRMED").await;
    assert_eq!(gmo(&app, &token).await, 2000);
    // Validation.
    for body in [
        json!({"tx_hash": "0x12", "eldr_amount": "1.0"}),
        json!({"tx_hash": unknown, "eldr_amount": "0.001"}),
        json!({"tx_hash": unknown, "eldr_amount": "-1"}),
    ] {
        let r = app.post_auth("/v2/economy/deposit", &token, &body).await;
        assert_eq!(r.status(), 400, "{body}");
    }
    // No wallet, no deposit.
    let (_, nowallet) = app.register_v2("nowallet").await;
    let r = app
        .post_auth(
            "/v2/economy/deposit",
            &nowallet,
            &json!({"tx_hash": unknown, "eldr_amount": "1.0"}),
        )
        .await;
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["error"], "WALLET_NOT_LINKED");
    assert_ledger_ok(&db).await;
}
