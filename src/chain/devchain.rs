//! The embedded dev chain: an ERC-20 token and an ERC-721 pilot contract whose state lives in
//! the server's database (`devchain_*` tables), so deposits, withdrawals and mints work with
//! nothing installed and survive restarts.
//!
//! It is deterministic: the n-th transaction's hash is keccak-256 of its sequence number and
//! contents, and a transaction is confirmed once `confirm` has passed since it was included.
//! There are no signatures: `warroom devchain fund|transfer` move tokens for local play.

use std::time::Duration;

use sqlx::Row;

use super::{eip191, ChainAdapter, ChainError, ChainFuture, TokenTransfer, TxState};
use crate::store::{now_ms, Db, StoreError};

/// The dev token contract (ELDR).
pub(crate) const DEV_TOKEN: &str = "0x000000000000000000000000000000000000e1d5";
/// The dev treasury.
pub(crate) const DEV_TREASURY: &str = "0x0000000000000000000000000000000000007ea5";
/// The dev pilot (ERC-721) contract.
pub(crate) const DEV_PILOTS: &str = "0x000000000000000000000000000000000000b107";
/// Mints come from the zero address, as ERC-20 `Transfer` logs show them.
pub const ZERO: &str = "0x0000000000000000000000000000000000000000";
/// The treasury's genesis supply (nano-ELDR), so withdrawals work before any deposit.
pub(crate) const GENESIS_SUPPLY: i64 = 1_000_000 * crate::domain::economy::NANO_PER_ELDR;

/// Addresses and timing of a dev chain.
#[derive(Debug, Clone)]
pub struct DevChainConfig {
    /// Token contract.
    pub token: String,
    /// Treasury address.
    pub treasury: String,
    /// Pilot contract.
    pub pilots: String,
    /// Time from inclusion to confirmation.
    pub confirm: Duration,
}

impl Default for DevChainConfig {
    fn default() -> Self {
        Self {
            token: DEV_TOKEN.into(),
            treasury: DEV_TREASURY.into(),
            pilots: DEV_PILOTS.into(),
            confirm: Duration::from_millis(2000),
        }
    }
}

/// The dev chain over a database.
#[derive(Debug, Clone)]
pub struct DevChain {
    db: Db,
    cfg: DevChainConfig,
}

fn unavailable(e: impl std::fmt::Display) -> ChainError {
    ChainError::Unavailable(e.to_string())
}

/// Normalises an address argument (`0x…`, any case) to lowercase.
pub(crate) fn normalize(addr: &str) -> Result<String, ChainError> {
    eip191::parse_address(addr)
        .map(|a| eip191::address_hex(&a))
        .map_err(|e| ChainError::Rejected(e.to_string()))
}

struct NewTx<'a> {
    kind: &'static str,
    contract: &'a str,
    from: &'a str,
    to: &'a str,
    amount: i64,
    token_id: Option<&'a str>,
    reference: Option<&'a str>,
}

impl DevChain {
    /// A dev chain on `db`.
    pub fn new(db: Db, cfg: DevChainConfig) -> Self {
        Self { db, cfg }
    }

    /// Gives the treasury its genesis supply once.
    pub(crate) async fn ensure_genesis(&self) -> Result<(), ChainError> {
        let treasury = self.cfg.treasury.clone();
        self.submit(NewTx {
            kind: "TRANSFER",
            contract: &self.cfg.token.clone(),
            from: ZERO,
            to: &treasury,
            amount: GENESIS_SUPPLY,
            token_id: None,
            reference: Some("genesis"),
        })
        .await
        .map(|_| ())
    }

    /// Mints `amount` tokens to `to` (a faucet). Returns the tx hash.
    pub async fn fund(&self, to: &str, amount: i64) -> Result<String, ChainError> {
        let to = normalize(to)?;
        let token = self.cfg.token.clone();
        self.submit(NewTx {
            kind: "TRANSFER",
            contract: &token,
            from: ZERO,
            to: &to,
            amount,
            token_id: None,
            reference: None,
        })
        .await
    }

    /// Moves `amount` tokens from `from` to `to` (no signature: it is a dev chain).
    pub async fn transfer(&self, from: &str, to: &str, amount: i64) -> Result<String, ChainError> {
        let (from, to) = (normalize(from)?, normalize(to)?);
        let token = self.cfg.token.clone();
        self.submit(NewTx {
            kind: "TRANSFER",
            contract: &token,
            from: &from,
            to: &to,
            amount,
            token_id: None,
            reference: None,
        })
        .await
    }

    /// Balance of `address`, nano-ELDR.
    pub async fn balance(&self, address: &str) -> Result<i64, ChainError> {
        let address = normalize(address)?;
        let row = sqlx::query(
            "SELECT balance FROM devchain_balances WHERE address = $1 AND contract = $2",
        )
        .bind(&address)
        .bind(&self.cfg.token)
        .fetch_optional(&self.db.pool)
        .await
        .map_err(unavailable)?;
        Ok(match row {
            Some(r) => r.try_get("balance").map_err(unavailable)?,
            None => 0,
        })
    }

    async fn by_reference(&self, reference: &str) -> Result<Option<String>, ChainError> {
        let row = sqlx::query("SELECT hash FROM devchain_txs WHERE reference = $1")
            .bind(reference)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(unavailable)?;
        row.map(|r| r.try_get("hash").map_err(unavailable))
            .transpose()
    }

    /// Includes a transaction: balance moves, then the numbered, hashed tx row, in one SQL
    /// transaction. Writes come first so SQLite takes its write lock at once; a lost race on
    /// the sequence number (Postgres) is retried.
    async fn submit(&self, t: NewTx<'_>) -> Result<String, ChainError> {
        if t.amount <= 0 {
            return Err(ChainError::Rejected("amount must be positive".into()));
        }
        if let Some(r) = t.reference {
            if let Some(h) = self.by_reference(r).await? {
                return Ok(h);
            }
        }
        let mut last = None;
        for _ in 0..8 {
            match self.try_submit(&t).await {
                Ok(h) => return Ok(h),
                Err(StoreOrChain::Chain(e)) => return Err(e),
                Err(StoreOrChain::Conflict(m)) => {
                    if let Some(r) = t.reference {
                        if let Some(h) = self.by_reference(r).await? {
                            return Ok(h);
                        }
                    }
                    last = Some(m);
                }
            }
        }
        Err(ChainError::Unavailable(last.unwrap_or_default()))
    }

    async fn try_submit(&self, t: &NewTx<'_>) -> Result<String, StoreOrChain> {
        let mut tx = self.db.begin().await.map_err(StoreOrChain::from_store)?;
        if t.kind == "MINT721" {
            sqlx::query(
                "INSERT INTO devchain_nfts (contract, token_id, owner) VALUES ($1, $2, $3)",
            )
            .bind(t.contract)
            .bind(t.token_id)
            .bind(t.to)
            .execute(&mut *tx)
            .await
            .map_err(StoreOrChain::from_sqlx)?;
        } else {
            if t.from != ZERO {
                let done = sqlx::query(
                    "UPDATE devchain_balances SET balance = balance - $1 \
                     WHERE address = $2 AND contract = $3 AND balance >= $1",
                )
                .bind(t.amount)
                .bind(t.from)
                .bind(t.contract)
                .execute(&mut *tx)
                .await
                .map_err(StoreOrChain::from_sqlx)?
                .rows_affected();
                if done != 1 {
                    return Err(StoreOrChain::Chain(ChainError::Rejected(format!(
                        "insufficient token balance in {}",
                        t.from
                    ))));
                }
            }
            sqlx::query(
                "INSERT INTO devchain_balances (address, contract, balance) VALUES ($1, $2, $3) \
                 ON CONFLICT (address, contract) DO UPDATE \
                 SET balance = devchain_balances.balance + excluded.balance",
            )
            .bind(t.to)
            .bind(t.contract)
            .bind(t.amount)
            .execute(&mut *tx)
            .await
            .map_err(StoreOrChain::from_sqlx)?;
        }
        let seq: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM devchain_txs")
            .fetch_one(&mut *tx)
            .await
            .map_err(StoreOrChain::from_sqlx)?
            .try_get("n")
            .map_err(StoreOrChain::from_sqlx)?;
        let preimage = format!(
            "warroom-devchain|{seq}|{}|{}|{}|{}|{}|{}",
            t.kind,
            t.contract,
            t.from,
            t.to,
            t.amount,
            t.token_id.unwrap_or("")
        );
        let hash = format!("0x{}", hex::encode(eip191::keccak256(preimage.as_bytes())));
        sqlx::query(
            "INSERT INTO devchain_txs (hash, seq, kind, contract, from_addr, to_addr, amount, \
             token_id, reference, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'SUCCESS', $10)",
        )
        .bind(&hash)
        .bind(seq)
        .bind(t.kind)
        .bind(t.contract)
        .bind(t.from)
        .bind(t.to)
        .bind(t.amount)
        .bind(t.token_id)
        .bind(t.reference)
        .bind(now_ms())
        .execute(&mut *tx)
        .await
        .map_err(StoreOrChain::from_sqlx)?;
        tx.commit().await.map_err(StoreOrChain::from_sqlx)?;
        Ok(hash)
    }
}

enum StoreOrChain {
    Chain(ChainError),
    Conflict(String),
}

impl StoreOrChain {
    fn from_store(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => StoreOrChain::Conflict(m),
            other => StoreOrChain::Chain(unavailable(other)),
        }
    }
    fn from_sqlx(e: sqlx::Error) -> Self {
        let msg = e.to_string();
        match StoreError::from_sqlx(e) {
            StoreError::Conflict(m) => StoreOrChain::Conflict(m),
            // SQLite may refuse a racing writer as busy; retrying is right for both.
            _ if msg.contains("locked") || msg.contains("busy") => StoreOrChain::Conflict(msg),
            other => StoreOrChain::Chain(unavailable(other)),
        }
    }
}

impl ChainAdapter for DevChain {
    fn name(&self) -> &'static str {
        "devchain"
    }
    fn token(&self) -> &str {
        &self.cfg.token
    }
    fn treasury(&self) -> &str {
        &self.cfg.treasury
    }
    fn pilot_contract(&self) -> &str {
        &self.cfg.pilots
    }

    fn tx_state<'a>(&'a self, tx_hash: &'a str) -> ChainFuture<'a, TxState> {
        Box::pin(async move {
            let row = sqlx::query(
                "SELECT kind, contract, from_addr, to_addr, amount, status, created_at \
                 FROM devchain_txs WHERE hash = $1",
            )
            .bind(tx_hash.to_ascii_lowercase())
            .fetch_optional(&self.db.pool)
            .await
            .map_err(unavailable)?;
            let Some(r) = row else {
                return Ok(TxState::NotFound);
            };
            let get = |c: &str| r.try_get::<String, _>(c).map_err(unavailable);
            let created: i64 = r.try_get("created_at").map_err(unavailable)?;
            if now_ms() < created + self.cfg.confirm.as_millis() as i64 {
                return Ok(TxState::Pending);
            }
            if get("status")? != "SUCCESS" {
                return Ok(TxState::Failed("reverted".into()));
            }
            let transfers = if get("kind")? == "TRANSFER" {
                vec![TokenTransfer {
                    token: get("contract")?,
                    from: get("from_addr")?,
                    to: get("to_addr")?,
                    amount: r.try_get("amount").map_err(unavailable)?,
                }]
            } else {
                Vec::new()
            };
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
            let to = normalize(to)?;
            self.submit(NewTx {
                kind: "TRANSFER",
                contract: &self.cfg.token,
                from: &self.cfg.treasury,
                to: &to,
                amount,
                token_id: None,
                reference: Some(reference),
            })
            .await
        })
    }

    fn mint_pilot<'a>(
        &'a self,
        reference: &'a str,
        to: &'a str,
        token_id: &'a str,
    ) -> ChainFuture<'a, String> {
        Box::pin(async move {
            let to = normalize(to)?;
            self.submit(NewTx {
                kind: "MINT721",
                contract: &self.cfg.pilots,
                from: ZERO,
                to: &to,
                amount: 1,
                token_id: Some(token_id),
                reference: Some(reference),
            })
            .await
        })
    }

    fn token_balance<'a>(&'a self, address: &'a str) -> ChainFuture<'a, i64> {
        Box::pin(self.balance(address))
    }
}
