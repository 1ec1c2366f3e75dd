//! EVM JSON-RPC adapter (`CHAIN_RPC_URL`): verifies ERC-20 `Transfer` logs in receipts after
//! `CHAIN_CONFIRMATIONS` blocks, sends withdrawals and pilot mints from the treasury key
//! (`CHAIN_PRIVATE_KEY`) as EIP-155 legacy transactions.
//!
//! Sends are idempotent through the `evm_outbox` table: the signed transaction is stored under
//! the economy row id before it is broadcast, so a retry rebroadcasts the same bytes (same
//! nonce, same hash) instead of paying twice. The token has 18 decimals; the economy counts
//! nano-ELDR, so amounts are scaled by 1e9.

use k256::ecdsa::SigningKey;
use serde_json::{json, Value};
use sqlx::Row;

use super::eip191::{self, Address};
use super::evm_tx::{call, word_address, word_u128, LegacyTx};
use super::{ChainAdapter, ChainError, ChainFuture, TokenTransfer, TxState};
use crate::store::{now_ms, Db, StoreError};

/// Wei per nano-ELDR (18 − 9 decimals).
const WEI_PER_NANO: u128 = 1_000_000_000;

/// Settings of the EVM adapter.
#[derive(Clone)]
pub(crate) struct EvmConfig {
    /// JSON-RPC endpoint.
    pub url: String,
    /// ERC-20 token contract.
    pub token: String,
    /// ERC-721 pilot contract (must let the treasury `mint(address,uint256)`).
    pub pilots: String,
    /// Treasury key: receives deposits, pays withdrawals and gas.
    pub key: SigningKey,
    /// Blocks a transaction needs (including its own) to count as confirmed.
    pub confirmations: u64,
}

/// The adapter.
pub(crate) struct EvmChain {
    db: Db,
    cfg: EvmConfig,
    treasury: String,
    chain_id: u64,
    http: reqwest::Client,
    send_lock: tokio::sync::Mutex<()>,
}

fn unavailable(e: impl std::fmt::Display) -> ChainError {
    ChainError::Unavailable(e.to_string())
}

fn hex_u128(v: &Value) -> Option<u128> {
    let s = v.as_str()?.strip_prefix("0x")?;
    let s = s.trim_start_matches('0');
    if s.len() > 32 {
        return None;
    }
    if s.is_empty() {
        return Some(0);
    }
    u128::from_str_radix(s, 16).ok()
}

/// Wei (as a hex quantity or 32-byte word) to nano-ELDR; `None` if not a whole nano amount
/// or too large, which then fails the amount check.
fn wei_to_nano(v: &Value) -> Option<i64> {
    let wei = hex_u128(v)?;
    if wei % WEI_PER_NANO != 0 {
        return None;
    }
    i64::try_from(wei / WEI_PER_NANO).ok()
}

fn topic_address(t: &Value) -> String {
    let s = t.as_str().unwrap_or_default();
    format!("0x{}", &s[s.len().saturating_sub(40)..]).to_ascii_lowercase()
}

impl EvmChain {
    /// Connects (reads `eth_chainId`).
    pub async fn connect(db: Db, cfg: EvmConfig) -> Result<Self, ChainError> {
        let treasury = eip191::address_hex(&eip191::address_of(cfg.key.verifying_key()));
        let mut me = Self {
            db,
            cfg,
            treasury,
            chain_id: 0,
            http: reqwest::Client::new(),
            send_lock: tokio::sync::Mutex::new(()),
        };
        let id = me.rpc("eth_chainId", json!([])).await?;
        me.chain_id = hex_u128(&id).ok_or_else(|| unavailable("bad eth_chainId"))? as u64;
        Ok(me)
    }

    /// One JSON-RPC call. Transport failures are `Unavailable`; node errors `Rejected`.
    pub async fn rpc(&self, method: &str, params: Value) -> Result<Value, ChainError> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let resp: Value = self
            .http
            .post(&self.cfg.url)
            .json(&body)
            .send()
            .await
            .map_err(unavailable)?
            .json()
            .await
            .map_err(unavailable)?;
        if let Some(e) = resp.get("error") {
            let msg = e
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("error")
                .to_string();
            return Err(ChainError::Rejected(format!("{method}: {msg}")));
        }
        Ok(resp.get("result").cloned().unwrap_or(Value::Null))
    }

    async fn outbox(&self, reference: &str) -> Result<Option<(String, String)>, ChainError> {
        let row = sqlx::query("SELECT tx_hash, raw_tx FROM evm_outbox WHERE reference = $1")
            .bind(reference)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(unavailable)?;
        row.map(|r| {
            Ok((
                r.try_get("tx_hash").map_err(unavailable)?,
                r.try_get("raw_tx").map_err(unavailable)?,
            ))
        })
        .transpose()
    }

    async fn broadcast(&self, raw: &str) -> Result<(), ChainError> {
        match self.rpc("eth_sendRawTransaction", json!([raw])).await {
            Ok(_) => Ok(()),
            // A rebroadcast of a transaction the node already has (or mined) is fine.
            Err(ChainError::Rejected(m))
                if m.contains("known") || m.contains("nonce too low") || m.contains("already") =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Signs and sends a call from the treasury, once per `reference`.
    async fn submit(&self, reference: &str, to: &str, data: Vec<u8>) -> Result<String, ChainError> {
        let _guard = self.send_lock.lock().await;
        if let Some((hash, raw)) = self.outbox(reference).await? {
            // Signed before, maybe broadcast and mined: never report a rejection here (the
            // row would be refunded while the payment stands). Known to the node → done;
            // otherwise rebroadcast, and on any error retry later.
            let known = self.rpc("eth_getTransactionByHash", json!([hash])).await?;
            if known.is_null() {
                self.broadcast(&raw)
                    .await
                    .map_err(|e| ChainError::Unavailable(e.to_string()))?;
            }
            return Ok(hash);
        }
        let to_addr: Address =
            eip191::parse_address(to).map_err(|e| ChainError::Rejected(e.to_string()))?;
        let data_hex = format!("0x{}", hex::encode(&data));
        let nonce = self
            .rpc("eth_getTransactionCount", json!([self.treasury, "pending"]))
            .await?;
        let gas_price = self.rpc("eth_gasPrice", json!([])).await?;
        // Estimating also dry-runs the call: a transfer the token would revert is refused here.
        let gas = self
            .rpc(
                "eth_estimateGas",
                json!([{"from": self.treasury, "to": to, "data": data_hex}]),
            )
            .await?;
        let tx = LegacyTx {
            nonce: hex_u128(&nonce).ok_or_else(|| unavailable("bad nonce"))?,
            gas_price: hex_u128(&gas_price).ok_or_else(|| unavailable("bad gas price"))?,
            gas: hex_u128(&gas).ok_or_else(|| unavailable("bad gas"))? * 12 / 10 + 1000,
            to: Some(to_addr),
            value: 0,
            data,
            chain_id: self.chain_id,
        };
        let (raw, hash) = tx.sign(&self.cfg.key);
        let (raw, hash) = (
            format!("0x{}", hex::encode(raw)),
            format!("0x{}", hex::encode(hash)),
        );
        sqlx::query(
            "INSERT INTO evm_outbox (reference, tx_hash, raw_tx, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(reference)
        .bind(&hash)
        .bind(&raw)
        .bind(now_ms())
        .execute(&self.db.pool)
        .await
        .map_err(|e| unavailable(StoreError::from_sqlx(e)))?;
        if let Err(e) = self.broadcast(&raw).await {
            if let ChainError::Rejected(_) = e {
                // Never reached the chain: forget it so the row can fail and be refunded.
                let _ = sqlx::query("DELETE FROM evm_outbox WHERE reference = $1")
                    .bind(reference)
                    .execute(&self.db.pool)
                    .await;
            }
            return Err(e);
        }
        Ok(hash)
    }
}

impl ChainAdapter for EvmChain {
    fn name(&self) -> &'static str {
        "evm"
    }
    fn token(&self) -> &str {
        &self.cfg.token
    }
    fn treasury(&self) -> &str {
        &self.treasury
    }
    fn pilot_contract(&self) -> &str {
        &self.cfg.pilots
    }

    fn tx_state<'a>(&'a self, tx_hash: &'a str) -> ChainFuture<'a, TxState> {
        Box::pin(async move {
            let receipt = self
                .rpc("eth_getTransactionReceipt", json!([tx_hash]))
                .await?;
            if receipt.is_null() {
                let tx = self
                    .rpc("eth_getTransactionByHash", json!([tx_hash]))
                    .await?;
                return Ok(if tx.is_null() {
                    TxState::NotFound
                } else {
                    TxState::Pending
                });
            }
            let block = hex_u128(&receipt["blockNumber"]).unwrap_or(u128::MAX);
            let head = hex_u128(&self.rpc("eth_blockNumber", json!([])).await?).unwrap_or(0);
            if head.saturating_add(1) < block.saturating_add(u128::from(self.cfg.confirmations)) {
                return Ok(TxState::Pending);
            }
            if hex_u128(&receipt["status"]) != Some(1) {
                return Ok(TxState::Failed("reverted".into()));
            }
            let transfer_topic = format!(
                "0x{}",
                hex::encode(eip191::keccak256(b"Transfer(address,address,uint256)"))
            );
            let transfers = receipt["logs"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .filter_map(|log| {
                    let topics = log["topics"].as_array()?;
                    // ERC-20 Transfer has 3 topics (value in data); ERC-721 has 4.
                    if topics.len() != 3 || topics[0].as_str()? != transfer_topic {
                        return None;
                    }
                    Some(TokenTransfer {
                        token: log["address"].as_str()?.to_ascii_lowercase(),
                        from: topic_address(&topics[1]),
                        to: topic_address(&topics[2]),
                        amount: wei_to_nano(&log["data"]).unwrap_or(-1),
                    })
                })
                .collect();
            Ok(TxState::Confirmed(transfers))
        })
    }

    fn send_tokens<'a>(
        &'a self,
        reference: &'a str,
        to: &'a str,
        amount: i64,
    ) -> ChainFuture<'a, String> {
        Box::pin(async move {
            let to_addr =
                eip191::parse_address(to).map_err(|e| ChainError::Rejected(e.to_string()))?;
            let wei = u128::try_from(amount).unwrap_or(0) * WEI_PER_NANO;
            let data = call(
                "transfer(address,uint256)",
                &[word_address(&to_addr), word_u128(wei)],
            );
            let token = self.cfg.token.clone();
            self.submit(reference, &token, data).await
        })
    }

    fn mint_pilot<'a>(
        &'a self,
        reference: &'a str,
        to: &'a str,
        token_id: &'a str,
    ) -> ChainFuture<'a, String> {
        Box::pin(async move {
            let to_addr =
                eip191::parse_address(to).map_err(|e| ChainError::Rejected(e.to_string()))?;
            let id: u128 = token_id
                .parse()
                .map_err(|_| ChainError::Rejected("bad token id".into()))?;
            let data = call(
                "mint(address,uint256)",
                &[word_address(&to_addr), word_u128(id)],
            );
            let pilots = self.cfg.pilots.clone();
            self.submit(reference, &pilots, data).await
        })
    }

    fn token_balance<'a>(&'a self, address: &'a str) -> ChainFuture<'a, i64> {
        Box::pin(async move {
            let a =
                eip191::parse_address(address).map_err(|e| ChainError::Rejected(e.to_string()))?;
            let data = format!(
                "0x{}",
                hex::encode(call("balanceOf(address)", &[word_address(&a)]))
            );
            let r = self
                .rpc(
                    "eth_call",
                    json!([{"to": self.cfg.token, "data": data}, "latest"]),
                )
                .await?;
            // Balances need not be whole nano-ELDR: round down for display.
            let wei = hex_u128(&r).ok_or_else(|| unavailable("bad balanceOf"))?;
            Ok(i64::try_from(wei / WEI_PER_NANO).unwrap_or(i64::MAX))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_and_amounts() {
        assert_eq!(hex_u128(&json!("0x0")), Some(0));
        assert_eq!(hex_u128(&json!("0x539")), Some(1337));
        let word = format!("0x{:064x}", 2_500_000_000_000_000_000u128);
        assert_eq!(wei_to_nano(&json!(word)), Some(2_500_000_000));
        // Dust below a nano-ELDR cannot match a claimed amount.
        assert_eq!(wei_to_nano(&json!("0x1")), None);
        assert_eq!(hex_u128(&json!(format!("0x1{}", "0".repeat(40)))), None);
        let t = json!("0x00000000000000000000000012ed9bbd5624e7505efc29e24a2b280ce2facf2e");
        assert_eq!(
            topic_address(&t),
            "0x12ed9bbd5624e7505efc29e24a2b280ce2facf2e"
        );
    }
}
