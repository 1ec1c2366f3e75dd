//! Wallet linking by EIP-191 signature: generated keys, the nonce form bound to the account,
//! the bare form refused, wrong signer,
//! malformed signatures, replay, expiry, one wallet per user and one user per wallet.

use serde_json::{json, Value};
use warroom::chain::eip191;

use crate::economy::{addr, econ_app, new_key};
use crate::helpers::TestApp;

fn now_s() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn connect(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    let r = app.post_auth("/v2/auth/wallet/connect", token, &body).await;
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[test]
fn known_vector_recovers_the_web3_docs_address() {
    // web3.eth.accounts.sign('Some data', 0x4c08…2318) from the web3.js documentation.
    let sig = "0xb91467e570a6466aa9e9876cbcd013baba02900b8979d43fe208a4a4f339f5fd\
               6007e74cd82e037b800186422fc2da167c747ef045e5d18a5f5d4300f8e1a0291c";
    assert_eq!(
        hex::encode(eip191::personal_hash(b"Some data")),
        "1da44b586eb0729ff70a73c326926f6ed5a25f5b056e7f47fbc6e58d86871655"
    );
    let a = eip191::recover(b"Some data", sig).unwrap();
    assert_eq!(
        eip191::checksum(&a),
        "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"
    );
    let key = k256::ecdsa::SigningKey::from_slice(
        &hex::decode("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318").unwrap(),
    )
    .unwrap();
    assert_eq!(eip191::address_of(key.verifying_key()), a);
    // Signing is deterministic (RFC 6979), so our signer reproduces the vector.
    assert_eq!(eip191::sign(&key, b"Some data"), sig);
}

/// A fresh nonce message for the signed-in user.
async fn nonce_message(app: &TestApp, token: &str) -> String {
    let n: Value = app
        .get_auth("/v2/auth/wallet/nonce", token)
        .await
        .json()
        .await
        .unwrap();
    n["message"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn nonce_message_links_once_and_the_bare_spec_form_is_refused() {
    let app = econ_app().await;
    let (_, token) = app.register_v2("linker").await;
    let key = new_key();
    let checksummed = eip191::checksum(&eip191::address_of(key.verifying_key()));
    // The bare form names no account: refused, with a message that says what to sign.
    let bare = format!("ROBOWAR_CONNECT_{}", now_s());
    let (s, b) = connect(
        &app,
        &token,
        json!({"wallet_address": checksummed, "message": bare,
               "signature": eip191::sign(&key, bare.as_bytes())}),
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (400, Some("INVALID_MESSAGE")));
    assert!(
        b["message"]
            .as_str()
            .unwrap()
            .contains("/v2/auth/wallet/nonce"),
        "{b}"
    );

    let message = nonce_message(&app, &token).await;
    let sig = eip191::sign(&key, message.as_bytes());
    let (s, b) = connect(
        &app,
        &token,
        json!({"wallet_address": checksummed, "signature": sig, "message": message}),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b, json!({"wallet_address": checksummed, "linked": true}));
    // The profile and balance show it.
    let bal: Value = app
        .get_auth("/v2/economy/balance", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(bal["wallet_address"], addr(&key));
    // Replaying the same signed message is refused.
    let (s, b) = connect(
        &app,
        &token,
        json!({"wallet_address": checksummed, "signature": sig, "message": message}),
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (400, Some("MESSAGE_REPLAYED")));
}

#[tokio::test]
async fn a_victims_signed_message_cannot_link_the_victims_wallet_to_another_account() {
    let app = econ_app().await;
    let (_, victim) = app.register_v2("victimw").await;
    let (_, thief) = app.register_v2("thiefw").await;
    let key = new_key();
    // The victim signs the message issued to them; the thief gets hold of it first.
    let message = nonce_message(&app, &victim).await;
    let sig = eip191::sign(&key, message.as_bytes());
    let body = json!({"wallet_address": addr(&key), "message": message, "signature": sig});
    let (s, b) = connect(&app, &thief, body.clone()).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("INVALID_MESSAGE")),
        "{b}"
    );
    let bal: Value = app
        .get_auth("/v2/economy/balance", &thief)
        .await
        .json()
        .await
        .unwrap();
    assert!(bal["wallet_address"].is_null(), "{bal}");
    // The victim can still use it.
    let (s, b) = connect(&app, &victim, body).await;
    assert_eq!(s, 200, "{b}");
}

#[tokio::test]
async fn nonce_form_wrong_signer_malformed_and_expired() {
    let app = econ_app().await;
    let (_, token) = app.register_v2("careful").await;
    let key = new_key();
    let other = new_key();
    let n: Value = app
        .get_auth("/v2/auth/wallet/nonce", &token)
        .await
        .json()
        .await
        .unwrap();
    let message = n["message"].as_str().unwrap().to_string();
    assert!(message.starts_with("ROBOWAR_CONNECT_"));
    assert!(message.ends_with(n["nonce"].as_str().unwrap()));

    // Signed by another key.
    let (s, b) = connect(
        &app,
        &token,
        json!({"wallet_address": addr(&key), "message": message,
               "signature": eip191::sign(&other, message.as_bytes())}),
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (400, Some("INVALID_SIGNATURE")));
    // Malformed: 64 and 66 bytes, not hex, bad v, bad address.
    let good = eip191::sign(&key, message.as_bytes());
    let bytes = hex::decode(&good[2..]).unwrap();
    let mut long = bytes.clone();
    long.push(0);
    let mut bad_v = bytes.clone();
    bad_v[64] = 5;
    for sig in [
        format!("0x{}", hex::encode(&bytes[..64])),
        format!("0x{}", hex::encode(&long)),
        "0xzz".to_string(),
        format!("0x{}", hex::encode(&bad_v)),
    ] {
        let (s, b) = connect(
            &app,
            &token,
            json!({"wallet_address": addr(&key), "message": message, "signature": sig}),
        )
        .await;
        assert_eq!(s, 400, "{sig}: {b}");
    }
    let (s, _) = connect(
        &app,
        &token,
        json!({"wallet_address": "0x1234", "message": message, "signature": good}),
    )
    .await;
    assert_eq!(s, 400);
    // A timestamp older than 5 minutes.
    let old = format!(
        "ROBOWAR_CONNECT_{}_{}",
        now_s() - 301,
        n["nonce"].as_str().unwrap()
    );
    let (s, b) = connect(
        &app,
        &token,
        json!({"wallet_address": addr(&key), "message": old,
               "signature": eip191::sign(&key, old.as_bytes())}),
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (400, Some("INVALID_MESSAGE")));
    assert!(b["message"].as_str().unwrap().contains("5 minutes"), "{b}");
    // A nonce nobody issued.
    let forged = format!("ROBOWAR_CONNECT_{}_{}", now_s(), "0".repeat(32));
    let (s, b) = connect(
        &app,
        &token,
        json!({"wallet_address": addr(&key), "message": forged,
               "signature": eip191::sign(&key, forged.as_bytes())}),
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (400, Some("INVALID_MESSAGE")));
    // The real one still works after all that.
    let (s, b) = connect(
        &app,
        &token,
        json!({"wallet_address": addr(&key), "message": message, "signature": good}),
    )
    .await;
    assert_eq!(s, 200, "{b}");
}

#[tokio::test]
async fn one_wallet_per_user_and_one_user_per_wallet() {
    let app = econ_app().await;
    let (_, alice) = app.register_v2("alicew").await;
    let (_, bob) = app.register_v2("bobw").await;
    let key = new_key();
    let sign_now = |k: &k256::ecdsa::SigningKey, m: String| {
        let sig = eip191::sign(k, m.as_bytes());
        (m, sig)
    };
    let (m, s) = sign_now(&key, nonce_message(&app, &alice).await);
    let (st, _) = connect(
        &app,
        &alice,
        json!({"wallet_address": addr(&key), "message": m, "signature": s}),
    )
    .await;
    assert_eq!(st, 200);
    // Bob cannot take Alice's wallet.
    let (m, s) = sign_now(&key, nonce_message(&app, &bob).await);
    let (st, b) = connect(
        &app,
        &bob,
        json!({"wallet_address": addr(&key), "message": m, "signature": s}),
    )
    .await;
    assert_eq!((st, b["error"].as_str()), (409, Some("WALLET_IN_USE")));
    // Alice cannot add a second wallet.
    let key2 = new_key();
    let (m, s) = sign_now(&key2, nonce_message(&app, &alice).await);
    let (st, b) = connect(
        &app,
        &alice,
        json!({"wallet_address": addr(&key2), "message": m, "signature": s}),
    )
    .await;
    assert_eq!(
        (st, b["error"].as_str()),
        (409, Some("WALLET_ALREADY_LINKED"))
    );
    // Signing in is required.
    let r = app
        .post(
            "/v2/auth/wallet/connect",
            &json!({"wallet_address": addr(&key2), "message": m, "signature": s}),
        )
        .await;
    assert_eq!(r.status(), 401);
}
