//! Spending under pressure: 50 concurrent withdrawals and purchases, withdrawal bounds,
//! on-chain failure with refund, and `Idempotency-Key` replays.

use serde_json::{json, Value};
use uuid::Uuid;
use warroom::store::ledger::{self, Account, Currency, SystemAccount, Transfer, TransferKind};

use crate::economy::{assert_ledger_ok, chain, db, econ_app, gmo, link, new_key, wait_status};

#[tokio::test]
async fn fifty_concurrent_withdrawals_against_a_balance_for_ten() {
    let app = econ_app().await;
    let db = db(&app).await;
    let (_, token) = app.register_v2("spender").await;
    link(&app, &token, &new_key()).await;
    // 1000 GMO covers ten withdrawals of 100.
    let body = json!({"gmo_amount": 100});
    let calls = (0..50).map(|_| app.post_auth("/v2/economy/withdraw", &token, &body));
    let mut ok = 0;
    for r in futures_util::future::join_all(calls).await {
        match r.status().as_u16() {
            202 => ok += 1,
            400 => {
                let b: Value = r.json().await.unwrap();
                assert_eq!(b["error"], "INSUFFICIENT_GMO");
            }
            s => panic!("unexpected {s}"),
        }
    }
    assert_eq!(ok, 10);
    assert_eq!(gmo(&app, &token).await, 0);
    assert_ledger_ok(&db).await;
}

#[tokio::test]
async fn fifty_concurrent_purchases_against_a_balance_for_ten() {
    let app = econ_app().await;
    let db = db(&app).await;
    let (user, token) = app.register_v2("shopper").await;
    let uid = Uuid::parse_str(user["id"].as_str().unwrap()).unwrap();
    // 50 concurrent purchases against 8000 GMO: prices differ (800 to 5000), so which ones
    // win depends on timing, but no robot is bought twice, nothing is overdrawn and the
    // balance ends at exactly the start less what the winners cost. (The exact "10 of 50"
    // check is the withdrawal test above, where every call costs the same.)
    let robots: Vec<Value> = app
        .get_auth("/v2/robots", &token)
        .await
        .json::<Value>()
        .await
        .unwrap()["data"]
        .as_array()
        .unwrap()
        .clone();
    let buyable: Vec<&Value> = robots.iter().filter(|r| r["is_starter"] == false).collect();
    assert!(buyable.len() >= 10);
    let mut tx = db.begin().await.unwrap();
    ledger::post(
        &mut tx,
        &[Transfer {
            kind: TransferKind::SignupGrant,
            currency: Currency::Gmo,
            amount: 7000,
            from: Account::System(SystemAccount::Issuance),
            to: Account::User(uid),
            reference: Some("test".into()),
        }],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let start = gmo(&app, &token).await;
    assert_eq!(start, 8000);
    // 50 purchase calls: every buyable robot, the cheap ones several times.
    let mut targets: Vec<(String, i64)> = buyable
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["gmo_cost"].as_i64().unwrap(),
            )
        })
        .collect();
    while targets.len() < 50 {
        let cheap = targets[targets.len() % 6].clone();
        targets.push(cheap);
    }
    let empty = json!({});
    let paths: Vec<String> = targets
        .iter()
        .map(|(id, _)| format!("/v2/users/me/robots/{id}/purchase"))
        .collect();
    let calls = paths.iter().map(|p| app.post_auth(p, &token, &empty));
    let results = futures_util::future::join_all(calls).await;
    let mut spent = 0;
    let mut bought = std::collections::BTreeSet::new();
    for (r, (id, cost)) in results.into_iter().zip(&targets) {
        match r.status().as_u16() {
            200 | 201 => {
                assert!(bought.insert(id.clone()), "bought {id} twice");
                spent += cost;
            }
            400 => {
                let b: Value = r.json().await.unwrap();
                assert!(
                    ["INSUFFICIENT_GMO", "ALREADY_OWNED"].contains(&b["error"].as_str().unwrap()),
                    "{b}"
                );
            }
            s => panic!("unexpected {s}"),
        }
    }
    assert!(spent <= start);
    assert_eq!(gmo(&app, &token).await, start - spent);
    assert_ledger_ok(&db).await;
}

#[tokio::test]
async fn withdrawal_bounds_failure_refund_and_idempotency() {
    let app = econ_app().await;
    let db = db(&app).await;
    let chain = chain(&app, &db);
    let (_, token) = app.register_v2("bounded").await;
    // Bounds (0.01 to 100 ELDR) and the wallet requirement.
    let r = app
        .post_auth("/v2/economy/withdraw", &token, &json!({"gmo_amount": 100}))
        .await;
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "WALLET_NOT_LINKED"
    );
    let wallet = link(&app, &token, &new_key()).await;
    for amount in [0, 5, 100_001] {
        let r = app
            .post_auth(
                "/v2/economy/withdraw",
                &token,
                &json!({"gmo_amount": amount}),
            )
            .await;
        assert_eq!(r.status(), 400, "{amount}");
    }

    // Idempotency-Key: the same key replays the first response and moves money once.
    let send = |key: &'static str, amount: i64| {
        app.http
            .post(app.url("/v2/economy/withdraw"))
            .bearer_auth(&token)
            .header("Idempotency-Key", key)
            .json(&json!({"gmo_amount": amount}))
            .send()
    };
    let a: Value = send("k-1", 100).await.unwrap().json().await.unwrap();
    let r = send("k-1", 100).await.unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(r.headers()["idempotent-replayed"], "true");
    let b: Value = r.json().await.unwrap();
    assert_eq!(a, b);
    assert_eq!(gmo(&app, &token).await, 900);
    let r = app
        .http
        .post(app.url("/v2/economy/deposit"))
        .bearer_auth(&token)
        .header("Idempotency-Key", "k-1")
        .json(&json!({"tx_hash": format!("0x{}", "cd".repeat(32)), "eldr_amount": "1.0"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409, "a key belongs to one request");

    // Drain the treasury: the next withdrawal fails on chain and is refunded in full.
    let treasury = app.config.economy.devchain.treasury.clone();
    let all = chain.balance(&treasury).await.unwrap();
    chain.transfer(&treasury, &wallet, all).await.unwrap();
    let r = app
        .post_auth("/v2/economy/withdraw", &token, &json!({"gmo_amount": 500}))
        .await;
    assert_eq!(r.status(), 202);
    let w: Value = r.json().await.unwrap();
    let row = wait_status(&app, &token, w["log_id"].as_str().unwrap(), "FAILED").await;
    assert!(
        row["reason"].as_str().unwrap().contains("insufficient"),
        "{row}"
    );
    assert_eq!(gmo(&app, &token).await, 900, "refunded with its fee");
    assert_ledger_ok(&db).await;
}

#[tokio::test]
async fn idempotency_key_covers_every_v2_post() {
    let app = econ_app().await;
    let db = db(&app).await;
    let (_, token) = app.register_v2("repeater").await;
    let robots: Value = app
        .get_auth("/v2/robots", &token)
        .await
        .json()
        .await
        .unwrap();
    let cheap = robots["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["is_starter"] == false && r["gmo_cost"] == 800)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let buy = |key: &'static str| {
        app.http
            .post(app.url(&format!("/v2/users/me/robots/{cheap}/purchase")))
            .bearer_auth(&token)
            .header("Idempotency-Key", key)
            .json(&json!({}))
            .send()
    };
    let first = buy("buy-1").await.unwrap();
    let status = first.status();
    assert!(status.is_success(), "{status}");
    let a: Value = first.json().await.unwrap();
    let again = buy("buy-1").await.unwrap();
    assert_eq!(again.status(), status);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap(), a);
    assert_eq!(gmo(&app, &token).await, 200, "charged once");
    // A failure is not stored: the key is released (here: ALREADY_OWNED both times).
    let r = buy("buy-2").await.unwrap();
    assert_eq!(r.status(), 400);
    let r = buy("buy-2").await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("idempotent-replayed").is_none());
    assert_ledger_ok(&db).await;
}
