//! Write batches: the typed writes the Persister commits (`WriteOp`) and the one function that
//! commits a batch of many callers' units in one transaction ([`write_units`]).
//! Store modules build `WriteOp`s; `actors::persister` groups them and calls [`write_units`].
//!
//! A caller's writes are one unit, all-or-nothing. Guards (a balance [`WriteOp::Adjust`], a
//! status transition) that do not hold refuse their unit alone; the rest of the batch commits:
//! many battles share one COMMIT (one fsync).
//!
//! On Postgres every statement is a round trip, so the batch is written set-based where it can
//! be (`merge`): the keyed writes ([`WriteOp::Row`] of a [`Shape`], [`WriteOp::Adjust`]) of a
//! run of units go as one statement per shape, balance moves summed per account. Only when a
//! guard refuses is the attempt rolled back and redone in savepointed parts, halved until each
//! refused unit is alone in its own SAVEPOINT, so that exactly it is rolled back and reported.

mod merge;
mod shape;
#[cfg(test)]
mod tests;

pub use shape::Shape;

use super::ledger::{Account, Currency};
use super::Db;

/// A value bound into a persisted statement.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    /// BIGINT.
    I64(i64),
    /// DOUBLE PRECISION / REAL (ratings).
    F64(f64),
    /// TEXT.
    Text(String),
    /// NULL (in a TEXT column).
    Null,
    /// NULL in a BIGINT column: Postgres types a bound NULL, and a TEXT one does not fit.
    NullI64,
}

impl From<i64> for SqlValue {
    fn from(v: i64) -> Self {
        SqlValue::I64(v)
    }
}
impl From<String> for SqlValue {
    fn from(v: String) -> Self {
        SqlValue::Text(v)
    }
}
impl From<&str> for SqlValue {
    fn from(v: &str) -> Self {
        SqlValue::Text(v.to_string())
    }
}
impl<T: Into<SqlValue>> From<Option<T>> for SqlValue {
    fn from(v: Option<T>) -> Self {
        v.map_or(SqlValue::Null, Into::into)
    }
}

/// One write. Consecutive inserts into the same table and columns become one multi-row INSERT;
/// `Row`s and `Adjust`s of many units become one statement per shape (see `merge`).
#[derive(Debug, Clone)]
pub enum WriteOp {
    /// Insert one row.
    Insert {
        /// Table name (a constant, never input).
        table: &'static str,
        /// Column names (constants).
        columns: &'static [&'static str],
        /// One value per column.
        values: Vec<SqlValue>,
    },
    /// Any other statement, with `$N` placeholders.
    Exec {
        /// SQL text (a constant, never input).
        sql: &'static str,
        /// Bound arguments.
        args: Vec<SqlValue>,
    },
    /// A statement that must change exactly one row (a conditional balance update, a status
    /// transition). When it changes none, its unit is rolled back and refused with `refusal`.
    Guard {
        /// SQL text (a constant, never input).
        sql: &'static str,
        /// Bound arguments.
        args: Vec<SqlValue>,
        /// What the caller is told (see [`WriteError::Refused`]).
        refusal: String,
    },
    /// One row of a keyed write: many units' rows of one shape go as one statement.
    Row {
        /// The statement (a `static`: shapes are told apart by address).
        shape: &'static Shape,
        /// One value per `shape.columns`.
        values: Vec<SqlValue>,
    },
    /// Adds `delta` to an account's balance. Refuses the unit, naming the account
    /// ([`Account::name`]), when it would take an account that may not go negative below zero.
    Adjust {
        /// Whose balance.
        account: Account,
        /// Which balance.
        currency: Currency,
        /// Signed amount in minor units.
        delta: i64,
    },
}

/// Why a batch was not written.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub(crate) enum WriteError {
    /// The database refused the batch.
    #[error("persist failed: {0}")]
    Failed(String),
    /// A write had a shape error (wrong value count).
    #[error("bad write: {0}")]
    Bad(String),
    /// A guard of this unit did not hold; nothing of the unit was written.
    #[error("refused: {0}")]
    Refused(String),
}

fn failed(e: sqlx::Error) -> WriteError {
    WriteError::Failed(e.to_string())
}

/// Commits `units` in one transaction and returns each unit's outcome: `Refused` for a unit
/// whose guard did not hold (rolled back to its savepoint), `Ok` for the rest. `Err` when the
/// transaction as a whole failed (nothing was written).
///
/// Guards almost always hold, so the batch is first written optimistically: no savepoints, and
/// runs of mergeable units set-based. Only when a guard refuses is that attempt rolled back and
/// the batch written again by [`redo`], which isolates the refused units. Both apply the units
/// in batch order, so the outcome is that of writing them one after the other.
pub(crate) async fn write_units(
    db: &Db,
    units: &[&[WriteOp]],
) -> Result<Vec<Result<(), WriteError>>, WriteError> {
    let mut tx = db.pool.begin().await.map_err(failed)?;
    match optimistic(&mut tx, units).await {
        Ok(()) => {
            tx.commit().await.map_err(failed)?;
            return Ok(units.iter().map(|_| Ok(())).collect());
        }
        // Rolled back now, not when the connection is next used: its row locks would stall
        // the redo below on another connection.
        Err(WriteError::Refused(_)) => tx.rollback().await.map_err(failed)?,
        Err(e) => return Err(e),
    }
    let mut tx = db.pool.begin().await.map_err(failed)?;
    let out = redo(&mut tx, units).await?;
    tx.commit().await.map_err(failed)?;
    Ok(out)
}

/// The batch again after a refusal, finding the refused units by halving: a part whose
/// optimistic pass holds is kept (inside a savepoint), one that refuses is rolled back to it and
/// split, and a single guarded unit is written op by op inside its own savepoint, which names
/// the refusal. Parts go in batch order, so each sees the parts before it: the outcome is that
/// of writing the units one after the other, each refused one rolled back alone. One refusal in
/// n units costs ≈ 2·log₂ n set-based attempts, not n units op by op.
async fn redo(
    tx: &mut Tx,
    units: &[&[WriteOp]],
) -> Result<Vec<Result<(), WriteError>>, WriteError> {
    let plain = |sql: &'static str| sqlx::query(sql);
    let mut out = vec![Ok(()); units.len()];
    // Popped from the end: the first half first. The whole batch already refused once.
    let half = units.len() / 2;
    let mut todo = vec![(half, units.len()), (0, half)];
    while let Some((lo, hi)) = todo.pop() {
        let part = &units[lo..hi];
        if part.is_empty() {
            continue;
        }
        if !part.iter().any(|u| is_guarded(u)) {
            let ops: Vec<&WriteOp> = part.iter().flat_map(|u| u.iter()).collect();
            write_ops(tx, &ops).await?;
            continue;
        }
        if part.len() == 1 {
            out[lo] = guarded_unit(tx, part[0]).await?;
            continue;
        }
        plain("SAVEPOINT part")
            .execute(&mut **tx)
            .await
            .map_err(failed)?;
        match optimistic(tx, part).await {
            Ok(()) => {}
            Err(WriteError::Refused(_)) => {
                plain("ROLLBACK TO SAVEPOINT part")
                    .execute(&mut **tx)
                    .await
                    .map_err(failed)?;
                let mid = lo + part.len() / 2;
                todo.push((mid, hi));
                todo.push((lo, mid));
            }
            Err(e) => return Err(e),
        }
        plain("RELEASE SAVEPOINT part")
            .execute(&mut **tx)
            .await
            .map_err(failed)?;
    }
    Ok(out)
}

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// The whole batch without savepoints: runs of mergeable units set-based, the other units'
/// ops in order between them. `Refused` when any guard does not hold (the caller rolls back).
async fn optimistic(tx: &mut Tx, units: &[&[WriteOp]]) -> Result<(), WriteError> {
    let mut i = 0;
    while i < units.len() {
        let m = merge::mergeable(units[i]);
        let mut j = i + 1;
        while j < units.len() && merge::mergeable(units[j]) == m {
            j += 1;
        }
        if !(m && merge::write_merged(tx, &units[i..j]).await?) {
            let ops: Vec<&WriteOp> = units[i..j].iter().flat_map(|u| u.iter()).collect();
            write_ops(tx, &ops).await?;
        }
        i = j;
    }
    Ok(())
}

fn is_guarded(unit: &[WriteOp]) -> bool {
    unit.iter().any(|op| match op {
        WriteOp::Guard { .. } | WriteOp::Adjust { .. } => true,
        WriteOp::Row { shape, .. } => shape.refusal.is_some(),
        WriteOp::Insert { .. } | WriteOp::Exec { .. } => false,
    })
}

/// One guarded unit inside its savepoint: released when every guard holds, rolled back to it
/// (and refused) at the first that does not.
async fn guarded_unit(tx: &mut Tx, unit: &[WriteOp]) -> Result<Result<(), WriteError>, WriteError> {
    let plain = |sql: &'static str| sqlx::query(sql);
    plain("SAVEPOINT unit")
        .execute(&mut **tx)
        .await
        .map_err(failed)?;
    for op in unit {
        match write_ops(tx, &[op]).await {
            Ok(()) => {}
            Err(WriteError::Refused(r)) => {
                plain("ROLLBACK TO SAVEPOINT unit")
                    .execute(&mut **tx)
                    .await
                    .map_err(failed)?;
                plain("RELEASE SAVEPOINT unit")
                    .execute(&mut **tx)
                    .await
                    .map_err(failed)?;
                return Ok(Err(WriteError::Refused(r)));
            }
            Err(e) => return Err(e),
        }
    }
    plain("RELEASE SAVEPOINT unit")
        .execute(&mut **tx)
        .await
        .map_err(failed)?;
    Ok(Ok(()))
}

/// The statements of `ops`, in order, inside `tx`, coalescing runs of same-shape inserts. A
/// guard that does not hold fails the call with [`WriteError::Refused`].
async fn write_ops(tx: &mut Tx, ops: &[&WriteOp]) -> Result<(), WriteError> {
    let mut i = 0;
    while i < ops.len() {
        match ops[i] {
            WriteOp::Guard { sql, args, refusal } => {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(*sql));
                for a in args {
                    q = bind(q, a);
                }
                if q.execute(&mut **tx).await.map_err(failed)?.rows_affected() != 1 {
                    return Err(WriteError::Refused(refusal.clone()));
                }
                i += 1;
            }
            WriteOp::Exec { sql, args } => {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(*sql));
                for a in args {
                    q = bind(q, a);
                }
                q.execute(&mut **tx).await.map_err(failed)?;
                i += 1;
            }
            WriteOp::Row { shape, values } => {
                let n = shape::execute(tx, shape, &[values.as_slice()]).await?;
                if let (Some(r), false) = (shape.refusal, n == 1) {
                    return Err(WriteError::Refused(r.to_string()));
                }
                i += 1;
            }
            WriteOp::Adjust {
                account,
                currency,
                delta,
            } => {
                let (shape, row) = merge::adjust_row(account, *currency, *delta, *delta);
                if shape::execute(tx, shape, &[row.as_slice()]).await? != 1 {
                    return Err(WriteError::Refused(account.name()));
                }
                i += 1;
            }
            WriteOp::Insert { table, columns, .. } => {
                let mut run = i;
                while run < ops.len()
                    && matches!(ops[run], WriteOp::Insert { table: t, columns: c, .. } if t == table && c == columns)
                {
                    run += 1;
                }
                // Few distinct statement sizes, so prepared statements are reused from the cache.
                let chunk = CHUNKS.iter().copied().find(|c| *c <= run - i).unwrap_or(1);
                let j = i + chunk;
                let sql = insert_sql(table, columns, j - i);
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for op in &ops[i..j] {
                    if let WriteOp::Insert { values, .. } = op {
                        if values.len() != columns.len() {
                            return Err(WriteError::Bad(format!(
                                "{table}: {} values",
                                values.len()
                            )));
                        }
                        for v in values {
                            q = bind(q, v);
                        }
                    }
                }
                q.execute(&mut **tx).await.map_err(failed)?;
                i = j;
            }
        }
    }
    Ok(())
}
/// Rows per INSERT statement, largest first. The cap keeps bound parameters under SQLite's and
/// Postgres' limits; the fixed sizes keep the statement cache warm.
const CHUNKS: [usize; 5] = [256, 64, 16, 4, 1];

fn insert_sql(table: &str, columns: &[&str], rows: usize) -> String {
    let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
    let mut n = 1;
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..columns.len() {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&n.to_string());
            n += 1;
        }
        sql.push(')');
    }
    sql
}

fn bind<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    v: &'q SqlValue,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    match v {
        SqlValue::I64(i) => q.bind(*i),
        SqlValue::F64(f) => q.bind(*f),
        SqlValue::Text(s) => q.bind(s.as_str()),
        SqlValue::Null => q.bind(Option::<String>::None),
        SqlValue::NullI64 => q.bind(Option::<i64>::None),
    }
}
