//! Deposits, withdrawals and mints as rows of `economy_transactions`, each state change with
//! its ledger transfers in one SQL transaction.
//!
//! State changes are guarded (`UPDATE ... WHERE status = 'PENDING'`), so when several callers
//! (concurrent requests, the confirmation worker) race on the same row exactly one moves money.

use serde_json::{json, Value};
use sqlx::{any::AnyRow, Any, Row, Transaction};
use uuid::Uuid;

use super::ledger::{self, Account, Currency, LedgerError, SystemAccount, Transfer, TransferKind};
use super::{now_ms, rfc3339, Db, StoreError};
use crate::domain::economy::{format_eldr, WithdrawQuote};

/// Kind of economy transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EconKind {
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

const COLS: &str = "id, user_id, type, status, tx_hash, wallet_address, eldr_amount, fee_eldr, \
                    gmo_amount, fee_gmo, reference, reason, created_at, updated_at";

fn from_row(r: &AnyRow) -> Result<EconTx, sqlx::Error> {
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
pub struct NewEconTx<'a> {
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
    pub fee_gmo: i64,
    /// Pilot id for mints.
    pub reference: Option<&'a str>,
}

/// Inserts a row inside `tx`.
pub async fn insert_tx(
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

fn transfer(kind: TransferKind, amount: i64, from: Account, to: Account, id: Uuid) -> Transfer {
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
fn holding(kind: &str) -> (Account, Account) {
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
pub async fn hold_gmo(
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

impl Db {
    /// Records a deposit claim. Returns the row and whether it is new; the same user claiming
    /// the same hash again gets the first row back.
    pub async fn create_deposit(
        &self,
        user: Uuid,
        tx_hash: &str,
        wallet: &str,
        eldr_amount: i64,
        gmo_expected: i64,
    ) -> Result<(EconTx, bool), EconError> {
        let id = Uuid::new_v4();
        let mut tx = self.begin().await?;
        let n = NewEconTx {
            kind: EconKind::Deposit,
            user,
            tx_hash: Some(tx_hash),
            wallet: Some(wallet),
            eldr_amount,
            fee_eldr: 0,
            gmo_amount: gmo_expected,
            fee_gmo: 0,
            reference: None,
        };
        match insert_tx(&mut tx, id, &n).await {
            Ok(()) => {
                tx.commit().await?;
                let row = self.econ_tx(id).await?.ok_or(StoreError::NotFound)?;
                Ok((row, true))
            }
            Err(StoreError::Conflict(_)) => {
                drop(tx);
                let sql = format!("SELECT {COLS} FROM economy_transactions WHERE claim_hash = $1");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(tx_hash)
                    .fetch_optional(&self.pool)
                    .await?;
                match row.as_ref().map(from_row).transpose()? {
                    Some(r) if r.user_id == user => Ok((r, false)),
                    _ => Err(EconError::HashClaimed),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Records a withdrawal and holds its GMO at once.
    pub async fn create_withdrawal(
        &self,
        user: Uuid,
        wallet: &str,
        q: &WithdrawQuote,
    ) -> Result<EconTx, EconError> {
        let id = Uuid::new_v4();
        let mut tx = self.begin().await?;
        // The guarded balance update first: SQLite takes the write lock at once.
        hold_gmo(&mut tx, id, EconKind::Withdraw, user, q.net_gmo, q.fee_gmo).await?;
        let n = NewEconTx {
            kind: EconKind::Withdraw,
            user,
            tx_hash: None,
            wallet: Some(wallet),
            eldr_amount: q.eldr_amount,
            fee_eldr: q.fee_eldr,
            gmo_amount: q.net_gmo,
            fee_gmo: q.fee_gmo,
            reference: None,
        };
        insert_tx(&mut tx, id, &n).await?;
        tx.commit().await?;
        Ok(self.econ_tx(id).await?.ok_or(StoreError::NotFound)?)
    }

    /// One row by id.
    pub async fn econ_tx(&self, id: Uuid) -> Result<Option<EconTx>, StoreError> {
        let sql = format!("SELECT {COLS} FROM economy_transactions WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(from_row).transpose()?)
    }

    /// Rows still waiting on the chain, oldest first.
    pub async fn econ_pending(&self, limit: i64) -> Result<Vec<EconTx>, StoreError> {
        let sql = format!(
            "SELECT {COLS} FROM economy_transactions WHERE status IN ('PENDING', 'SENT') \
             ORDER BY created_at LIMIT $1"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
    }

    /// PENDING → SENT with the chain hash (withdrawals and mints).
    pub async fn econ_mark_sent(&self, id: Uuid, tx_hash: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let n = sqlx::query(
            "UPDATE economy_transactions SET status = 'SENT', tx_hash = $1, updated_at = $2 \
             WHERE id = $3 AND status = 'PENDING'",
        )
        .bind(tx_hash)
        .bind(now_ms())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query("UPDATE pilots SET tx_hash = $1 WHERE id = (SELECT reference FROM economy_transactions WHERE id = $2 AND type = 'MINT')")
            .bind(tx_hash)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(n == 1)
    }

    /// Confirms a row. A deposit credits its GMO in the same transaction; a mint marks its
    /// pilot MINTED. Returns false when someone else already settled it.
    pub async fn econ_confirm(&self, row: &EconTx) -> Result<bool, EconError> {
        let now = now_ms();
        let mut tx = self.begin().await?;
        let n = sqlx::query(
            "UPDATE economy_transactions SET status = 'CONFIRMED', updated_at = $1 \
             WHERE id = $2 AND status IN ('PENDING', 'SENT')",
        )
        .bind(now)
        .bind(row.id.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Ok(false);
        }
        match row.kind.as_str() {
            "DEPOSIT" if row.gmo_amount > 0 => {
                let t = transfer(
                    TransferKind::Deposit,
                    row.gmo_amount,
                    Account::System(SystemAccount::Bridge),
                    Account::User(row.user_id),
                    row.id,
                );
                ledger::post(&mut tx, &[t]).await?;
            }
            "MINT" => {
                sqlx::query("UPDATE pilots SET status = 'MINTED', minted_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(row.reference.as_deref())
                    .execute(&mut *tx)
                    .await?;
            }
            _ => {}
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Fails a row with a reason, refunding held GMO (withdrawals, mints). A failed deposit
    /// releases its hash claim. Returns false when it was already settled.
    pub async fn econ_fail(&self, row: &EconTx, reason: &str) -> Result<bool, EconError> {
        let now = now_ms();
        let mut tx = self.begin().await?;
        let n = sqlx::query(
            "UPDATE economy_transactions SET status = 'FAILED', reason = $1, claim_hash = NULL, \
             updated_at = $2 WHERE id = $3 AND status IN ('PENDING', 'SENT')",
        )
        .bind(reason)
        .bind(now)
        .bind(row.id.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Ok(false);
        }
        if row.kind != "DEPOSIT" {
            let (main, fee_acc) = holding(&row.kind);
            let user = Account::User(row.user_id);
            let mut t = Vec::new();
            if row.gmo_amount > 0 {
                t.push(transfer(
                    TransferKind::Refund,
                    row.gmo_amount,
                    main,
                    user,
                    row.id,
                ));
            }
            if row.fee_gmo > 0 {
                t.push(transfer(
                    TransferKind::Refund,
                    row.fee_gmo,
                    fee_acc,
                    user,
                    row.id,
                ));
            }
            ledger::post(&mut tx, &t).await?;
        }
        if row.kind == "MINT" {
            sqlx::query("UPDATE pilots SET status = 'FAILED' WHERE id = $1")
                .bind(row.reference.as_deref())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// A user's rows, newest first, filtered by type and status. Returns (page, total).
    pub async fn econ_list(
        &self,
        user: Uuid,
        kind: Option<&str>,
        status: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<EconTx>, i64), StoreError> {
        let filter = "user_id = $1 AND ($2 IS NULL OR type = $2) AND ($3 IS NULL OR status = $3)";
        let total: i64 = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) AS n FROM economy_transactions WHERE {filter}"
        )))
        .bind(user.to_string())
        .bind(kind)
        .bind(status)
        .fetch_one(&self.pool)
        .await?
        .try_get("n")?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLS} FROM economy_transactions WHERE {filter} \
             ORDER BY created_at DESC, id DESC LIMIT $4 OFFSET $5"
        )))
        .bind(user.to_string())
        .bind(kind)
        .bind(status)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        Ok((rows.iter().map(from_row).collect::<Result<_, _>>()?, total))
    }

    /// Both balances of a user: (gmo, nano-ELDR).
    pub async fn balances(&self, user: Uuid) -> Result<(i64, i64), StoreError> {
        let r = sqlx::query("SELECT gmo_balance, eldr_balance FROM users WHERE id = $1")
            .bind(user.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok((r.try_get("gmo_balance")?, r.try_get("eldr_balance")?))
    }
}
