//! Chain adapters: how deposits are verified, withdrawals sent and pilots minted.
//!
//! [`ChainAdapter`] is what the economy needs from a chain. The default is the embedded
//! [`devchain::DevChain`], kept in the server's own database, so the whole economy runs with
//! nothing installed. Amounts are nano-ELDR; addresses are lowercase `0x…` strings.

pub mod devchain;
pub mod eip191;
pub mod evm;
pub mod evm_tx;

use futures_util::future::BoxFuture;

/// A future returned by an adapter.
pub(crate) type ChainFuture<'a, T> = BoxFuture<'a, Result<T, ChainError>>;

/// Adapter failure.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ChainError {
    /// The chain refused the operation for good (e.g. the treasury lacks funds).
    #[error("rejected by the chain: {0}")]
    Rejected(String),
    /// Try again later (node down, database busy).
    #[error("chain unavailable: {0}")]
    Unavailable(String),
}

/// One ERC-20 `Transfer` found in a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenTransfer {
    /// Token contract.
    pub token: String,
    /// Sender.
    pub from: String,
    /// Recipient.
    pub to: String,
    /// nano-ELDR.
    pub amount: i64,
}

/// What the chain says about a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxState {
    /// Unknown hash.
    NotFound,
    /// Included but not yet confirmed deeply enough.
    Pending,
    /// Confirmed; the token transfers it emitted.
    Confirmed(Vec<TokenTransfer>),
    /// Reverted or dropped.
    Failed(String),
}

/// The operations the economy needs from a chain.
pub trait ChainAdapter: Send + Sync {
    /// Short name for logs (`devchain`, `evm`).
    fn name(&self) -> &'static str;
    /// The ELDR token contract.
    fn token(&self) -> &str;
    /// The treasury that receives deposits and pays withdrawals.
    fn treasury(&self) -> &str;
    /// The pilot (ERC-721) contract.
    fn pilot_contract(&self) -> &str;
    /// State of a transaction and, once confirmed, its token transfers.
    fn tx_state<'a>(&'a self, tx_hash: &'a str) -> ChainFuture<'a, TxState>;
    /// Sends `amount` tokens from the treasury. `reference` makes it idempotent: the same
    /// reference returns the first transaction's hash instead of paying twice.
    fn send_tokens<'a>(
        &'a self,
        reference: &'a str,
        to: &'a str,
        amount: i64,
    ) -> ChainFuture<'a, String>;
    /// Mints pilot `token_id` to `to`; idempotent on `reference` like [`Self::send_tokens`].
    fn mint_pilot<'a>(
        &'a self,
        reference: &'a str,
        to: &'a str,
        token_id: &'a str,
    ) -> ChainFuture<'a, String>;
    /// Token balance of an address, nano-ELDR.
    fn token_balance<'a>(&'a self, address: &'a str) -> ChainFuture<'a, i64>;
}
