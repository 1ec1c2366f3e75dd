//! The EVM JSON-RPC adapter against a real local node (ganache from npm, started by `.ci/run`
//! with contracts built by solc from npm): deposit, withdrawal and pilot mint end to end.
//! Skipped unless `WARROOM_TEST_EVM_RPC`, `WARROOM_TEST_EVM_KEY` (a funded key) and
//! `WARROOM_TEST_EVM_ARTIFACTS` (solcjs output with `Eldr_sol_Eldr.bin`,
//! `Eldr_sol_Pilots.bin`) are set.

use std::time::Duration;

use k256::ecdsa::SigningKey;
use serde_json::{json, Value};
use warroom::chain::{
    eip191,
    evm_tx::{call, word_address, word_u128, LegacyTx},
};

use crate::economy::{addr, assert_ledger_ok, db, gmo, link, new_key, wait_status};
use crate::helpers::spawn_app_with;

const ELDR: u128 = 1_000_000_000_000_000_000;

struct Node {
    url: String,
    http: reqwest::Client,
    chain_id: u64,
}

impl Node {
    async fn rpc(&self, method: &str, params: Value) -> Value {
        let r: Value = self
            .http
            .post(&self.url)
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(r.get("error").is_none(), "{method}: {r}");
        r["result"].clone()
    }

    fn num(v: &Value) -> u128 {
        u128::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
    }

    /// Signs and sends, waits for the receipt.
    async fn send(&self, key: &SigningKey, to: Option<&str>, value: u128, data: Vec<u8>) -> Value {
        let from = addr(key);
        let mut call_obj = json!({"from": from, "data": format!("0x{}", hex::encode(&data))});
        if let Some(t) = to {
            call_obj["to"] = json!(t);
        }
        if value > 0 {
            call_obj["value"] = json!(format!("0x{value:x}"));
        }
        let gas = Self::num(&self.rpc("eth_estimateGas", json!([call_obj])).await);
        let tx = LegacyTx {
            nonce: Self::num(
                &self
                    .rpc("eth_getTransactionCount", json!([from, "pending"]))
                    .await,
            ),
            gas_price: Self::num(&self.rpc("eth_gasPrice", json!([])).await),
            gas: gas * 2,
            to: to.map(|t| eip191::parse_address(t).unwrap()),
            value,
            data,
            chain_id: self.chain_id,
        };
        let (raw, _) = tx.sign(key);
        let hash = self
            .rpc(
                "eth_sendRawTransaction",
                json!([format!("0x{}", hex::encode(raw))]),
            )
            .await;
        for _ in 0..100 {
            let r = self.rpc("eth_getTransactionReceipt", json!([hash])).await;
            if !r.is_null() {
                assert_eq!(r["status"], "0x1", "{r}");
                return r;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no receipt for {hash}");
    }
}

fn env(k: &str) -> Option<String> {
    std::env::var(k).ok().filter(|v| !v.is_empty())
}

#[tokio::test]
async fn economy_on_a_real_evm_node() {
    let (Some(url), Some(key_hex), Some(artifacts)) = (
        env("WARROOM_TEST_EVM_RPC"),
        env("WARROOM_TEST_EVM_KEY"),
        env("WARROOM_TEST_EVM_ARTIFACTS"),
    ) else {
        eprintln!("skipped: set WARROOM_TEST_EVM_RPC, _KEY and _ARTIFACTS (see .ci/run)");
        return;
    };
    let treasury =
        SigningKey::from_slice(&hex::decode(key_hex.trim_start_matches("0x")).unwrap()).unwrap();
    let mut node = Node {
        url: url.clone(),
        http: reqwest::Client::new(),
        chain_id: 0,
    };
    node.chain_id = Node::num(&node.rpc("eth_chainId", json!([])).await) as u64;
    let bin = |name: &str| {
        let text = std::fs::read_to_string(format!("{artifacts}/{name}")).unwrap();
        hex::decode(text.trim()).unwrap()
    };
    // Deploy the token (1,000,000 ELDR to the treasury) and the pilot contract.
    let mut init = bin("Eldr_sol_Eldr.bin");
    init.extend_from_slice(&word_u128(1_000_000 * ELDR));
    let token = node.send(&treasury, None, 0, init).await["contractAddress"]
        .as_str()
        .unwrap()
        .to_ascii_lowercase();
    let pilots = node
        .send(&treasury, None, 0, bin("Eldr_sol_Pilots.bin"))
        .await["contractAddress"]
        .as_str()
        .unwrap()
        .to_ascii_lowercase();

    let (tok, pil, k) = (token.clone(), pilots.clone(), key_hex.clone());
    let app = spawn_app_with(move |c| {
        c.rate_limits.enabled = false;
        c.chain_rpc_url = Some(url);
        c.economy.evm_key = Some(k);
        c.economy.devchain.token = tok;
        c.economy.devchain.pilots = pil;
        c.economy.confirmations = 1;
        c.economy.poll = Duration::from_millis(50);
    })
    .await;
    let db = db(&app).await;
    let rates: Value = app
        .http
        .get(app.url("/v2/economy/rates"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rates["chain"], "evm");
    assert_eq!(rates["treasury_address"], addr(&treasury));

    let (_, token_jwt) = app.register_v2("evmuser").await;
    let user = new_key();
    let wallet = link(&app, &token_jwt, &user).await;
    let wallet_addr = eip191::parse_address(&wallet).unwrap();
    // Gas money and 5 ELDR for the user.
    node.send(&treasury, Some(&wallet), ELDR, vec![]).await;
    node.send(
        &treasury,
        Some(&token),
        0,
        call(
            "transfer(address,uint256)",
            &[word_address(&wallet_addr), word_u128(5 * ELDR)],
        ),
    )
    .await;

    // Deposit 2.5 ELDR: the user's own ERC-20 transfer to the treasury.
    let treasury_addr = eip191::address_of(treasury.verifying_key());
    let receipt = node
        .send(
            &user,
            Some(&token),
            0,
            call(
                "transfer(address,uint256)",
                &[word_address(&treasury_addr), word_u128(5 * ELDR / 2)],
            ),
        )
        .await;
    let hash = receipt["transactionHash"].as_str().unwrap();
    let r = app
        .post_auth(
            "/v2/economy/deposit",
            &token_jwt,
            &json!({"tx_hash": hash, "eldr_amount": "2.5"}),
        )
        .await;
    assert_eq!(r.status(), 202);
    let d: Value = r.json().await.unwrap();
    wait_status(&app, &token_jwt, d["log_id"].as_str().unwrap(), "CONFIRMED").await;
    assert_eq!(gmo(&app, &token_jwt).await, 3500);

    // Withdraw 2000 GMO: 1.95 ELDR arrives from the treasury.
    let r = app
        .post_auth(
            "/v2/economy/withdraw",
            &token_jwt,
            &json!({"gmo_amount": 2000}),
        )
        .await;
    assert_eq!(r.status(), 202);
    let w: Value = r.json().await.unwrap();
    wait_status(&app, &token_jwt, w["log_id"].as_str().unwrap(), "CONFIRMED").await;
    let b: Value = app
        .get_auth("/v2/economy/balance", &token_jwt)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(b["eldr_balance_onchain"], "4.45");

    // Mint a pilot: an ERC-721 token owned by the wallet.
    let r = app
        .post_auth(
            "/v2/pilots/mint",
            &token_jwt,
            &json!({"name": "CHAIN-1", "sprite_key": "pilot_chain"}),
        )
        .await;
    assert_eq!(r.status(), 202);
    let m: Value = r.json().await.unwrap();
    wait_status(&app, &token_jwt, m["log_id"].as_str().unwrap(), "CONFIRMED").await;
    let p: Value = app
        .http
        .get(app.url(&format!("/v2/pilots/{}", m["pilot_id"].as_str().unwrap())))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token_id: u128 = p["token_id"].as_str().unwrap().parse().unwrap();
    let owner = node
        .rpc(
            "eth_call",
            json!([{"to": pilots, "data": format!("0x{}", hex::encode(call("ownerOf(uint256)", &[word_u128(token_id)])))}, "latest"]),
        )
        .await;
    assert!(owner.as_str().unwrap().ends_with(&wallet[2..]), "{owner}");
    assert_ledger_ok(&db).await;
}
