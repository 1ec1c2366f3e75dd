//! Economy use cases over the ledger and a chain adapter: deposits, withdrawals, pilot mints,
//! and the background worker that drives them to CONFIRMED or FAILED.
//!
//! Every GMO movement goes through [`crate::store::ledger::post`] in the same SQL transaction
//! as the row change it belongs to (see `src/store/economy/`). Chain calls happen outside
//! those transactions and are idempotent (keyed by the row id), so a retry never pays twice.

pub mod config;
pub mod worker;

use std::sync::Arc;

use serde_json::json;
use uuid::Uuid;

use crate::chain::evm::{EvmChain, EvmConfig};
use crate::chain::{devchain::DevChain, ChainAdapter, ChainError, TxState};
use crate::domain::economy::format_eldr;
use crate::store::economy::{EconError, EconTx};
use crate::store::Db;
use config::EconomyConfig;

/// How the economy tells a user something: `(user, event, data)` to the user's private room.
/// The composition root injects it (over `actors::rooms::Rooms`), like the leaderboard's
/// `Emitter`.
pub(crate) type UserEvents = Arc<dyn Fn(Uuid, &'static str, serde_json::Value) + Send + Sync>;

/// The `balance:updated {gmo_balance, eldr_balance}` payload (ELDR as a decimal string).
pub(crate) fn balance_event(gmo: i64, eldr_nano: i64) -> serde_json::Value {
    json!({
        "gmo_balance": gmo,
        "eldr_balance": format_eldr(eldr_nano),
    })
}

/// The economy service shared by handlers and the worker.
pub struct Economy {
    /// Settings.
    pub config: EconomyConfig,
    /// The chain.
    pub chain: Arc<dyn ChainAdapter>,
    db: Db,
    events: UserEvents,
    kick: tokio::sync::Notify,
}

/// Outcome of looking at one pending row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Nothing to do yet.
    Wait,
    /// Moved forward (sent, confirmed or failed).
    Moved,
}

impl Economy {
    /// Builds the service: the EVM adapter when `CHAIN_RPC_URL` is set (it then needs
    /// `CHAIN_PRIVATE_KEY`, `CHAIN_TOKEN_ADDRESS` and `CHAIN_PILOT_ADDRESS`), otherwise the
    /// embedded dev chain, whose treasury gets its genesis supply.
    pub async fn new(
        db: Db,
        config: EconomyConfig,
        rpc_url: Option<&str>,
        events: UserEvents,
    ) -> Result<Arc<Self>, ChainError> {
        let chain: Arc<dyn ChainAdapter> = match rpc_url {
            Some(url) => Arc::new(Self::evm(&db, &config, url).await?),
            None => {
                let dev = DevChain::new(db.clone(), config.devchain.clone());
                dev.ensure_genesis().await?;
                Arc::new(dev)
            }
        };
        tracing::info!(
            chain = chain.name(),
            token = chain.token(),
            treasury = chain.treasury(),
            "chain adapter ready"
        );
        Ok(Arc::new(Self {
            config,
            chain,
            db,
            events,
            kick: tokio::sync::Notify::new(),
        }))
    }

    async fn evm(db: &Db, config: &EconomyConfig, url: &str) -> Result<EvmChain, ChainError> {
        let key_hex = config.evm_key.as_deref().ok_or_else(|| {
            ChainError::Rejected("CHAIN_RPC_URL needs CHAIN_PRIVATE_KEY (the treasury key)".into())
        })?;
        let bytes = hex::decode(key_hex.trim().trim_start_matches("0x"))
            .map_err(|_| ChainError::Rejected("CHAIN_PRIVATE_KEY is not hex".into()))?;
        let key = k256::ecdsa::SigningKey::from_slice(&bytes)
            .map_err(|_| ChainError::Rejected("CHAIN_PRIVATE_KEY is not a secp256k1 key".into()))?;
        EvmChain::connect(
            db.clone(),
            EvmConfig {
                url: url.to_string(),
                token: config.devchain.token.clone(),
                pilots: config.devchain.pilots.clone(),
                key,
                confirmations: config.confirmations,
            },
        )
        .await
    }

    /// Wakes the worker (new work was queued).
    pub(crate) fn kick(&self) {
        self.kick.notify_one();
    }

    /// Looks at one pending row and moves it if the chain allows.
    pub async fn advance(&self, row: &EconTx) -> Result<Step, EconError> {
        match (row.kind.as_str(), row.status.as_str()) {
            ("DEPOSIT", "PENDING") => self.advance_deposit(row).await,
            ("WITHDRAW", "PENDING") | ("MINT", "PENDING") => self.send(row).await,
            (_, "SENT") => self.watch_sent(row).await,
            _ => Ok(Step::Wait),
        }
    }

    async fn advance_deposit(&self, row: &EconTx) -> Result<Step, EconError> {
        let hash = row.tx_hash.clone().unwrap_or_default();
        let state = match self.chain.tx_state(&hash).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "chain lookup failed; will retry");
                return Ok(Step::Wait);
            }
        };
        match state {
            TxState::Pending => Ok(Step::Wait),
            TxState::NotFound => {
                let age = crate::store::now_ms() - row.created_at;
                if age > self.config.deposit_timeout.as_millis() as i64 {
                    self.fail(row, "transaction not found on chain").await
                } else {
                    Ok(Step::Wait)
                }
            }
            TxState::Failed(r) => self.fail(row, &format!("transaction failed: {r}")).await,
            TxState::Confirmed(transfers) => {
                match verify_deposit(row, &transfers, self.chain.token(), self.chain.treasury()) {
                    Err(reason) => self.fail(row, &reason).await,
                    Ok(()) => {
                        if self.db.econ_confirm(row).await? {
                            self.confirmed(row).await;
                        }
                        Ok(Step::Moved)
                    }
                }
            }
        }
    }

    async fn send(&self, row: &EconTx) -> Result<Step, EconError> {
        let wallet = row.wallet_address.clone().unwrap_or_default();
        let reference = row.id.to_string();
        let sent = if row.kind == "MINT" {
            let token_id = row
                .reference
                .as_deref()
                .and_then(|p| Uuid::parse_str(p).ok())
                .map(|p| p.as_u128().to_string())
                .unwrap_or_default();
            self.chain.mint_pilot(&reference, &wallet, &token_id).await
        } else {
            self.chain
                .send_tokens(&reference, &wallet, row.eldr_amount)
                .await
        };
        match sent {
            Ok(hash) => {
                self.db.econ_mark_sent(row.id, &hash).await?;
                Ok(Step::Moved)
            }
            Err(ChainError::Rejected(r)) => self.fail(row, &r).await,
            Err(ChainError::Unavailable(e)) => {
                tracing::warn!(error = %e, "chain send failed; will retry");
                Ok(Step::Wait)
            }
        }
    }

    async fn watch_sent(&self, row: &EconTx) -> Result<Step, EconError> {
        let hash = row.tx_hash.clone().unwrap_or_default();
        match self.chain.tx_state(&hash).await {
            Ok(TxState::Confirmed(_)) => {
                if self.db.econ_confirm(row).await? {
                    self.confirmed(row).await;
                }
                Ok(Step::Moved)
            }
            Ok(TxState::Failed(r)) => self.fail(row, &format!("transaction failed: {r}")).await,
            Ok(_) => Ok(Step::Wait),
            Err(e) => {
                tracing::warn!(error = %e, "chain lookup failed; will retry");
                Ok(Step::Wait)
            }
        }
    }

    async fn fail(&self, row: &EconTx, reason: &str) -> Result<Step, EconError> {
        if self.db.econ_fail(row, reason).await? {
            tracing::info!(log_id = %row.id, kind = %row.kind, reason, "economy transaction failed");
            self.emit(
                row.user_id,
                "notification",
                json!({
                    "type": "TRANSACTION_FAILED",
                    "title": format!("{} failed", row.kind.to_lowercase()),
                    "body": reason,
                    "action_url": "/economy/transactions",
                    "log_id": row.id.to_string(),
                }),
            );
            if row.kind != "DEPOSIT" {
                self.balance_updated(row.user_id).await;
            }
        }
        Ok(Step::Moved)
    }

    async fn confirmed(&self, row: &EconTx) {
        let fresh = self.db.econ_tx(row.id).await.ok().flatten();
        let row = fresh.as_ref().unwrap_or(row);
        self.emit(
            row.user_id,
            "transaction:confirmed",
            json!({
                "log_id": row.id.to_string(),
                "tx_hash": row.tx_hash,
                "type": row.kind,
                "eldr_amount": format_eldr(row.eldr_amount),
                "gmo_delta": row.gmo_delta(),
            }),
        );
        if row.kind == "DEPOSIT" {
            self.balance_updated(row.user_id).await;
        }
    }

    /// Emits `balance:updated` with the user's current balances.
    pub(crate) async fn balance_updated(&self, user: Uuid) {
        if let Ok((gmo, eldr)) = self.db.balances(user).await {
            (self.events)(user, "balance:updated", balance_event(gmo, eldr));
        }
    }

    fn emit(&self, user: Uuid, event: &'static str, data: serde_json::Value) {
        (self.events)(user, event, data);
    }
}

/// Checks a confirmed chain transaction against a deposit claim: an ELDR transfer, to the
/// treasury, from the user's linked wallet, of exactly the claimed amount.
pub(crate) fn verify_deposit(
    row: &EconTx,
    transfers: &[crate::chain::TokenTransfer],
    token: &str,
    treasury: &str,
) -> Result<(), String> {
    let wallet = row.wallet_address.as_deref().unwrap_or_default();
    let ours: Vec<_> = transfers
        .iter()
        .filter(|t| t.token.eq_ignore_ascii_case(token))
        .collect();
    if ours.is_empty() {
        return Err("transaction has no ELDR transfer".into());
    }
    let mut reason = String::new();
    for t in ours {
        if !t.to.eq_ignore_ascii_case(treasury) {
            reason = "transfer is not to the treasury".into();
        } else if !t.from.eq_ignore_ascii_case(wallet) {
            reason = "transfer is not from the linked wallet".into();
        } else if t.amount != row.eldr_amount {
            reason = format!(
                "amount mismatch: chain has {} ELDR, claimed {}",
                format_eldr(t.amount),
                format_eldr(row.eldr_amount)
            );
        } else {
            return Ok(());
        }
    }
    Err(reason)
}
