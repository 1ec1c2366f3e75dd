//! Deposits, withdrawals and mints as rows of `economy_transactions`, each state change with
//! its ledger transfers in one SQL transaction.
//!
//! State changes are guarded (`UPDATE ... WHERE status = 'PENDING'`), so when several callers
//! (concurrent requests, the confirmation worker) race on the same row exactly one moves money.

mod moves;

use serde_json::{json, Value};
use sqlx::{any::AnyRow, Any, Row, Transaction};
use uuid::Uuid;

use super::ledger::{self, Account, Currency, LedgerError, SystemAccount, Transfer, TransferKind};
use super::{now_ms, rfc3339, StoreError};
use crate::domain::economy::format_eldr;

/// Kind of economy transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EconKind {
    /// ELDR in, GMO credited.
    Deposit,
    /// GMO out, ELDR sent.
    Withdraw,
    /// Pilot mint.
    Mint,
}

impl EconKind {
    /// Stored code.
    pub fn code(self) -> &'static str {
        match self {
            EconKind::Deposit => "DEPOSIT",
            EconKind::Withdraw => "WITHDRAW",
            EconKind::Mint => "MINT",
        }
    }
}

/// One stored economy transaction.
#[derive(Debug, Clone)]
pub struct EconTx {
    /// `log_id`.
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// `DEPOSIT`, `WITHDRAW` or `MINT`.
    pub kind: String,
    /// `PENDING`, `SENT`, `CONFIRMED` or `FAILED`.
    pub status: String,
    /// Chain transaction.
    pub tx_hash: Option<String>,
    /// Wallet involved.
    pub wallet_address: Option<String>,
    /// nano-ELDR moved on chain.
    pub eldr_amount: i64,
    /// nano-ELDR fee.
    pub fee_eldr: i64,
    /// GMO credited (deposit) or taken (withdraw, mint), fee excluded.
    pub gmo_amount: i64,
    /// GMO fee (withdrawal fee, mint gas).
    pub fee_gmo: i64,
    /// Pilot id for mints.
    pub reference: Option<String>,
    /// Why it failed.
    pub reason: Option<String>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

pub(crate) const COLS: &str =
    "id, user_id, type, status, tx_hash, wallet_address, eldr_amount, fee_eldr, \
                    gmo_amount, fee_gmo, reference, reason, created_at, updated_at";

pub(crate) fn from_row(r: &AnyRow) -> Result<EconTx, sqlx::Error> {
    let uuid = |c: &str| -> Result<Uuid, sqlx::Error> {
        Uuid::parse_str(&r.try_get::<String, _>(c)?).map_err(|e| sqlx::Error::Decode(Box::new(e)))
    };
    Ok(EconTx {
        id: uuid("id")?,
        user_id: uuid("user_id")?,
        kind: r.try_get("type")?,
        status: r.try_get("status")?,
        tx_hash: r.try_get("tx_hash")?,
        wallet_address: r.try_get("wallet_address")?,
        eldr_amount: r.try_get("eldr_amount")?,
        fee_eldr: r.try_get("fee_eldr")?,
        gmo_amount: r.try_get("gmo_amount")?,
        fee_gmo: r.try_get("fee_gmo")?,
        reference: r.try_get("reference")?,
        reason: r.try_get("reason")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

impl EconTx {
    /// Signed GMO change for the user once confirmed.
    pub fn gmo_delta(&self) -> i64 {
        match self.kind.as_str() {
            "DEPOSIT" => self.gmo_amount,
            _ => -(self.gmo_amount + self.fee_gmo),
        }
    }

    /// The API shape (`GET /economy/transactions`).
    pub fn to_json(&self) -> Value {
        json!({
            "log_id": self.id.to_string(),
            "type": self.kind,
            "status": self.status,
            "tx_hash": self.tx_hash,
            "wallet_address": self.wallet_address,
            "eldr_amount": format_eldr(self.eldr_amount),
            "fee_eldr": format_eldr(self.fee_eldr),
            "gmo_amount": self.gmo_amount,
            "fee_gmo": self.fee_gmo,
            "gmo_delta": self.gmo_delta(),
            "reference": self.reference,
            "reason": self.reason,
            "created_at": rfc3339(self.created_at),
            "updated_at": rfc3339(self.updated_at),
        })
    }
}

/// Why an economy write was refused.
#[derive(Debug, thiserror::Error)]
pub enum EconError {
    /// Not enough GMO.
    #[error("not enough GMO")]
    InsufficientGmo,
    /// The deposit tx hash is claimed by another user.
    #[error("this transaction was already claimed by another account")]
    HashClaimed,
    /// Storage failure.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<LedgerError> for EconError {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::Insufficient(_) | LedgerError::BadAmount => EconError::InsufficientGmo,
            LedgerError::Store(s) => EconError::Store(s),
        }
    }
}

impl From<sqlx::Error> for EconError {
    fn from(e: sqlx::Error) -> Self {
        EconError::Store(StoreError::from_sqlx(e))
    }
}

/// Fields of a new row.
pub(crate) struct NewEconTx<'a> {
    /// Kind.
    pub kind: EconKind,
    /// Owner.
    pub user: Uuid,
    /// Deposit tx hash (also claimed).
    pub tx_hash: Option<&'a str>,
    /// Wallet.
    pub wallet: Option<&'a str>,
    /// nano-ELDR.
    pub eldr_amount: i64,
    /// nano-ELDR.
    pub fee_eldr: i64,
    /// GMO.
    pub gmo_amount: i64,
    /// GMO.
    pub(crate) fee_gmo: i64,
    /// Pilot id for mints.
    pub reference: Option<&'a str>,
}

/// Inserts a row inside `tx`.
pub(crate) async fn insert_tx(
    tx: &mut Transaction<'static, Any>,
    id: Uuid,
    n: &NewEconTx<'_>,
) -> Result<(), StoreError> {
    let now = now_ms();
    let claim = if n.kind == EconKind::Deposit {
        n.tx_hash
    } else {
        None
    };
    sqlx::query(
        "INSERT INTO economy_transactions (id, user_id, type, status, tx_hash, claim_hash, \
         wallet_address, eldr_amount, fee_eldr, gmo_amount, fee_gmo, reference, created_at, \
         updated_at) VALUES ($1, $2, $3, 'PENDING', $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
    )
    .bind(id.to_string())
    .bind(n.user.to_string())
    .bind(n.kind.code())
    .bind(n.tx_hash)
    .bind(claim)
    .bind(n.wallet)
    .bind(n.eldr_amount)
    .bind(n.fee_eldr)
    .bind(n.gmo_amount)
    .bind(n.fee_gmo)
    .bind(n.reference)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(())
}

pub(crate) fn transfer(
    kind: TransferKind,
    amount: i64,
    from: Account,
    to: Account,
    id: Uuid,
) -> Transfer {
    Transfer {
        kind,
        currency: Currency::Gmo,
        amount,
        from,
        to,
        reference: Some(id.to_string()),
    }
}

/// Where the GMO of a row sits while it is pending: (main part, fee part).
pub(crate) fn holding(kind: &str) -> (Account, Account) {
    match kind {
        "MINT" => (
            Account::System(SystemAccount::Shop),
            Account::System(SystemAccount::Fees),
        ),
        _ => (
            Account::System(SystemAccount::Bridge),
            Account::System(SystemAccount::Fees),
        ),
    }
}

/// Takes a pending row's GMO from the user inside `tx` (withdrawal hold or mint price).
pub(crate) async fn hold_gmo(
    tx: &mut Transaction<'static, Any>,
    id: Uuid,
    kind: EconKind,
    user: Uuid,
    amount: i64,
    fee: i64,
) -> Result<(), EconError> {
    let (main, fee_acc) = holding(kind.code());
    let main_kind = match kind {
        EconKind::Mint => TransferKind::Mint,
        _ => TransferKind::Withdrawal,
    };
    let mut t = vec![transfer(main_kind, amount, Account::User(user), main, id)];
    if fee > 0 {
        t.push(transfer(
            TransferKind::Fee,
            fee,
            Account::User(user),
            fee_acc,
            id,
        ));
    }
    ledger::post(tx, &t).await?;
    Ok(())
}
