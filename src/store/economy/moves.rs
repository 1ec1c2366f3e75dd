//! The guarded state changes of economy rows, each with its ledger transfers.

use sqlx::Row;
use uuid::Uuid;

use super::{from_row, hold_gmo, holding, insert_tx, transfer, COLS};
use super::{EconError, EconKind, EconTx, NewEconTx};
use crate::domain::economy::WithdrawQuote;
use crate::store::ledger::{self, Account, SystemAccount, TransferKind};
use crate::store::{now_ms, Db, StoreError};

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
        self.create_withdrawal_replying(user, wallet, q, &|_| None)
            .await
    }

    /// [`Self::create_withdrawal`], recording `reply(row)` (status 202 and body) as the
    /// response of the request's `Idempotency-Key` in the same transaction.
    #[tracing::instrument(skip(self, q, reply))]
    pub(crate) async fn create_withdrawal_replying(
        &self,
        user: Uuid,
        wallet: &str,
        q: &WithdrawQuote,
        reply: &(dyn Fn(&EconTx) -> Option<serde_json::Value> + Sync),
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
        let sql = format!("SELECT {COLS} FROM economy_transactions WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.to_string())
            .fetch_one(&mut *tx)
            .await?;
        let row = from_row(&row)?;
        if let Some(body) = reply(&row) {
            crate::store::idempotency::mark_applied(&mut tx, 202, &body).await?;
        }
        tx.commit().await?;
        Ok(row)
    }

    /// One row by id.
    pub(crate) async fn econ_tx(&self, id: Uuid) -> Result<Option<EconTx>, StoreError> {
        let sql = format!("SELECT {COLS} FROM economy_transactions WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(from_row).transpose()?)
    }

    /// Rows still waiting on the chain, oldest first.
    pub(crate) async fn econ_pending(&self, limit: i64) -> Result<Vec<EconTx>, StoreError> {
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
    pub(crate) async fn econ_mark_sent(&self, id: Uuid, tx_hash: &str) -> Result<bool, StoreError> {
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
    pub(crate) async fn econ_list(
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
