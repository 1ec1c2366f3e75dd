//! Double-entry ledger: every GMO and ELDR movement is an immutable transfer row, written in
//! the same SQL transaction as the balance changes it causes.
//!
//! Callers open a transaction, call [`post`] with one or more transfers plus their own effect
//! (a robot row, a battle settlement, ...), then commit. A debit that would take a
//! non-negative account below zero fails with [`LedgerError::Insufficient`] thanks to a
//! conditional `UPDATE ... WHERE balance >= amount` (and a CHECK as the last line of defence),
//! so concurrent spenders cannot overdraw.

use sqlx::{Any, Row, Transaction};
use uuid::Uuid;

use super::{now_ms, Db, StoreError};

/// A ledger currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Currency {
    /// In-game currency, whole units.
    Gmo,
    /// Chain token, stored in nano-ELDR (1e-9).
    Eldr,
}

impl Currency {
    /// Stored code.
    pub fn code(self) -> &'static str {
        match self {
            Currency::Gmo => "GMO",
            Currency::Eldr => "ELDR",
        }
    }

    fn user_column(self) -> &'static str {
        match self {
            Currency::Gmo => "gmo_balance",
            Currency::Eldr => "eldr_balance",
        }
    }
}

/// System-owned accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemAccount {
    /// Source of newly created money (signup grants, deposits credited from the chain).
    Issuance,
    /// Wagers held while a battle runs.
    Escrow,
    /// Fees the house keeps (wager fee, withdrawal fee, mint fee).
    Fees,
    /// Spent on robots and upgrades.
    Shop,
    /// Money on its way to or from the chain (withdrawals in flight, deposits).
    Bridge,
}

impl SystemAccount {
    fn id(self) -> &'static str {
        match self {
            SystemAccount::Issuance => "system:issuance",
            SystemAccount::Escrow => "system:escrow",
            SystemAccount::Fees => "system:fees",
            SystemAccount::Shop => "system:shop",
            SystemAccount::Bridge => "system:bridge",
        }
    }
}

/// One side of a transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Account {
    /// A user's wallet in the game.
    User(Uuid),
    /// A house account.
    System(SystemAccount),
}

impl Account {
    /// Stored account name (`user:{uuid}` or `system:...`).
    pub fn name(&self) -> String {
        match self {
            Account::User(id) => format!("user:{id}"),
            Account::System(s) => s.id().to_string(),
        }
    }
}

/// Why a transfer happened; stored as its `kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferKind {
    /// 1000 GMO for a new account.
    SignupGrant,
    /// Robot purchase.
    Purchase,
    /// Robot upgrade.
    Upgrade,
    /// Wager taken into escrow at match time.
    WagerEscrow,
    /// Winnings paid from escrow.
    Payout,
    /// House fee.
    Fee,
    /// Wager returned (draw or voided battle).
    Refund,
    /// Chain deposit credited.
    Deposit,
    /// Withdrawal held or sent.
    Withdrawal,
    /// Pilot mint cost.
    Mint,
}

impl TransferKind {
    /// Stored code.
    pub fn code(self) -> &'static str {
        match self {
            TransferKind::SignupGrant => "SIGNUP_GRANT",
            TransferKind::Purchase => "PURCHASE",
            TransferKind::Upgrade => "UPGRADE",
            TransferKind::WagerEscrow => "WAGER_ESCROW",
            TransferKind::Payout => "PAYOUT",
            TransferKind::Fee => "FEE",
            TransferKind::Refund => "REFUND",
            TransferKind::Deposit => "DEPOSIT",
            TransferKind::Withdrawal => "WITHDRAWAL",
            TransferKind::Mint => "MINT",
        }
    }
}

/// One movement of money from `from` to `to`.
#[derive(Debug, Clone)]
pub struct Transfer {
    /// Why.
    pub kind: TransferKind,
    /// Which currency.
    pub currency: Currency,
    /// Positive amount in minor units.
    pub amount: i64,
    /// Debited account.
    pub from: Account,
    /// Credited account.
    pub to: Account,
    /// What it belongs to (robot, battle, deposit log id, ...).
    pub reference: Option<String>,
}

/// Ledger failure.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The debited account lacks the funds; nothing was written.
    #[error("insufficient balance in {0}")]
    Insufficient(String),
    /// An amount was zero or negative.
    #[error("amount must be positive")]
    BadAmount,
    /// Storage failure.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<LedgerError> for StoreError {
    /// For writes where a refused transfer means a broken invariant (signup grant, payouts
    /// from escrow): reported as a conflict, never as a missing row.
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::Store(s) => s,
            other => StoreError::Conflict(other.to_string()),
        }
    }
}

impl From<sqlx::Error> for LedgerError {
    fn from(e: sqlx::Error) -> Self {
        LedgerError::Store(StoreError::from_sqlx(e))
    }
}

/// Posts `transfers` inside `tx`, in order. Returns the new transfer ids.
///
/// On `Insufficient` the caller must roll back (drop the transaction): earlier transfers of
/// the same call may already have been applied inside it.
#[tracing::instrument(skip_all, fields(n = transfers.len()))]
pub async fn post(
    tx: &mut Transaction<'static, Any>,
    transfers: &[Transfer],
) -> Result<Vec<Uuid>, LedgerError> {
    let now = now_ms();
    let mut ids = Vec::with_capacity(transfers.len());
    for t in transfers {
        if t.amount <= 0 {
            return Err(LedgerError::BadAmount);
        }
        adjust(tx, t.from, t.currency, -t.amount).await?;
        adjust(tx, t.to, t.currency, t.amount).await?;
        let id = Uuid::new_v4();
        sqlx::query(
            "INSERT INTO ledger_transfers (id, kind, currency, amount, debit_account, \
             credit_account, reference, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id.to_string())
        .bind(t.kind.code())
        .bind(t.currency.code())
        .bind(t.amount)
        .bind(t.from.name())
        .bind(t.to.name())
        .bind(t.reference.clone())
        .bind(now)
        .execute(&mut **tx)
        .await?;
        ids.push(id);
    }
    Ok(ids)
}

/// The writes of [`post`] as Persister ops, for a unit that group-commits with others: the two
/// balance moves (an overdraft refuses the unit with the account's name) and the transfer row.
/// Both are keyed, so the Persister writes a batch's transfers as one statement each for the
/// rows and for the balances (summed per account), not three per transfer.
pub(crate) fn transfer_ops(t: &Transfer, now: i64) -> Vec<super::batch::WriteOp> {
    use super::batch::{Shape, SqlValue, WriteOp};
    static TRANSFER_ROW: Shape = Shape {
        table: "ledger_transfers",
        columns: &[
            ("id", "TEXT"),
            ("kind", "TEXT"),
            ("currency", "TEXT"),
            ("amount", "BIGINT"),
            ("debit_account", "TEXT"),
            ("credit_account", "TEXT"),
            ("reference", "TEXT"),
            ("created_at", "BIGINT"),
        ],
        key: 1,
        sql: "INSERT INTO ledger_transfers (id, kind, currency, amount, debit_account, \
              credit_account, reference, created_at) SELECT id, kind, currency, amount, \
              debit_account, credit_account, reference, created_at FROM v WHERE id IS NOT NULL",
        refusal: None,
    };
    let adjust = |account: Account, delta: i64| WriteOp::Adjust {
        account,
        currency: t.currency,
        delta,
    };
    vec![
        adjust(t.from, -t.amount),
        adjust(t.to, t.amount),
        WriteOp::Row {
            shape: &TRANSFER_ROW,
            values: vec![
                SqlValue::Text(Uuid::new_v4().to_string()),
                t.kind.code().into(),
                t.currency.code().into(),
                SqlValue::I64(t.amount),
                SqlValue::Text(t.from.name()),
                SqlValue::Text(t.to.name()),
                t.reference.clone().into(),
                SqlValue::I64(now),
            ],
        },
    ]
}

/// Adds `delta` to an account, refusing to take a guarded account below zero.
async fn adjust(
    tx: &mut Transaction<'static, Any>,
    account: Account,
    currency: Currency,
    delta: i64,
) -> Result<(), LedgerError> {
    let done = match account {
        Account::User(id) => {
            let col = currency.user_column();
            let sql =
                format!("UPDATE users SET {col} = {col} + $1 WHERE id = $2 AND {col} + $1 >= 0");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(delta)
                .bind(id.to_string())
                .execute(&mut **tx)
                .await?
                .rows_affected()
        }
        Account::System(s) => sqlx::query(
            "UPDATE system_accounts SET balance = balance + $1 \
             WHERE id = $2 AND currency = $3 AND (may_go_negative = 1 OR balance + $1 >= 0)",
        )
        .bind(delta)
        .bind(s.id())
        .bind(currency.code())
        .execute(&mut **tx)
        .await?
        .rows_affected(),
    };
    if done == 1 {
        Ok(())
    } else {
        Err(LedgerError::Insufficient(account.name()))
    }
}

/// One account whose transfers do not add up to its stored balance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mismatch {
    /// Account name.
    pub account: String,
    /// Currency code.
    pub currency: String,
    /// Stored balance.
    pub balance: i64,
    /// Credits minus debits.
    pub(crate) from_transfers: i64,
}

/// Result of [`Db::ledger_check`].
#[derive(Debug, Clone, Default)]
pub struct LedgerReport {
    /// Number of transfers.
    pub transfers: i64,
    /// Sum of all balances per currency (must be zero: issuance is negative).
    pub(crate) totals: Vec<(String, i64)>,
    /// Accounts that disagree.
    pub(crate) mismatches: Vec<Mismatch>,
}

impl LedgerReport {
    /// True when every account agrees and every currency nets to zero.
    pub fn is_ok(&self) -> bool {
        self.mismatches.is_empty() && self.totals.iter().all(|(_, t)| *t == 0)
    }
}

impl Db {
    /// Checks the ledger invariant: each account's transfers sum to its balance, and the
    /// balances of each currency sum to zero (debits equal credits).
    #[tracing::instrument(skip(self))]
    pub async fn ledger_check(&self) -> Result<LedgerReport, StoreError> {
        let mut balances: std::collections::BTreeMap<(String, String), i64> = Default::default();
        for cur in [Currency::Gmo, Currency::Eldr] {
            let sql = format!("SELECT id, {} AS b FROM users", cur.user_column());
            for r in sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(&self.pool)
                .await?
            {
                let id: String = r.try_get("id")?;
                balances.insert((format!("user:{id}"), cur.code().into()), r.try_get("b")?);
            }
        }
        for r in sqlx::query("SELECT id, currency, balance FROM system_accounts")
            .fetch_all(&self.pool)
            .await?
        {
            balances.insert(
                (r.try_get("id")?, r.try_get("currency")?),
                r.try_get("balance")?,
            );
        }
        let mut flows: std::collections::BTreeMap<(String, String), i64> = Default::default();
        let mut transfers = 0;
        for r in sqlx::query(
            "SELECT debit_account AS a, currency, -CAST(SUM(amount) AS BIGINT) AS s, COUNT(*) AS n \
             FROM ledger_transfers GROUP BY debit_account, currency \
             UNION ALL SELECT credit_account AS a, currency, CAST(SUM(amount) AS BIGINT) AS s, 0 AS n \
             FROM ledger_transfers GROUP BY credit_account, currency",
        )
        .fetch_all(&self.pool)
        .await?
        {
            let key = (
                r.try_get::<String, _>("a")?,
                r.try_get::<String, _>("currency")?,
            );
            *flows.entry(key).or_default() += r.try_get::<i64, _>("s")?;
            transfers += r.try_get::<i64, _>("n")?;
        }
        let mut report = LedgerReport {
            transfers,
            ..Default::default()
        };
        let mut totals: std::collections::BTreeMap<String, i64> = Default::default();
        let keys: std::collections::BTreeSet<_> =
            balances.keys().chain(flows.keys()).cloned().collect();
        for key in keys {
            let balance = balances.get(&key).copied().unwrap_or(0);
            let from_transfers = flows.get(&key).copied().unwrap_or(0);
            *totals.entry(key.1.clone()).or_default() += balance;
            if balance != from_transfers {
                report.mismatches.push(Mismatch {
                    account: key.0,
                    currency: key.1,
                    balance,
                    from_transfers,
                });
            }
        }
        report.totals = totals.into_iter().collect();
        Ok(report)
    }

    /// Opens a write transaction (money moves are one transaction each).
    pub async fn begin(&self) -> Result<Transaction<'static, Any>, StoreError> {
        self.pool.begin().await.map_err(StoreError::from_sqlx)
    }
}

impl Db {
    /// A user's ELDR balance in nano-ELDR.
    pub async fn eldr_balance(&self, user: Uuid) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT eldr_balance FROM users WHERE id = $1")
            .bind(user.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => r.try_get("eldr_balance")?,
            None => 0,
        })
    }
}
