//! Write batches: the typed writes the Persister commits (`WriteOp`) and the one function that
//! commits a batch in a transaction, coalescing same-shape inserts into multi-row INSERTs.
//! Store modules build `WriteOp`s; `actors::persister` groups them and calls [`write_units`].
//!
//! A caller's writes are one unit. A unit with a [`WriteOp::Guard`] (a money move: escrow,
//! settlement) runs inside its own SAVEPOINT, so a guard that does not hold rolls back that
//! unit alone and the rest of the batch still commits: many battles share one COMMIT (one
//! fsync) and each stays all-or-nothing.

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

/// One write. Consecutive inserts into the same table and columns become one multi-row INSERT.
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

/// Commits `units` in one transaction and returns each unit's outcome: `Refused` for a unit
/// whose guard did not hold (rolled back to its savepoint), `Ok` for the rest. `Err` when the
/// transaction as a whole failed (nothing was written).
///
/// Guards almost always hold, so the batch is first written without savepoints (two statements
/// less per guarded unit); only when a guard refuses is that attempt rolled back and the batch
/// written again with a savepoint per guarded unit.
pub(crate) async fn write_units(
    db: &Db,
    units: &[&[WriteOp]],
) -> Result<Vec<Result<(), WriteError>>, WriteError> {
    let err = |e: sqlx::Error| WriteError::Failed(e.to_string());
    if units.iter().any(|u| is_guarded(u)) {
        let mut tx = db.pool.begin().await.map_err(err)?;
        let ops: Vec<&WriteOp> = units.iter().flat_map(|u| u.iter()).collect();
        match write_ops(&mut tx, &ops).await {
            Ok(()) => {
                tx.commit().await.map_err(err)?;
                return Ok(units.iter().map(|_| Ok(())).collect());
            }
            // Dropping `tx` rolls the attempt back; redo it unit by unit below.
            Err(WriteError::Refused(_)) => {}
            Err(e) => return Err(e),
        }
    }
    let mut tx = db.pool.begin().await.map_err(err)?;
    let mut out = Vec::with_capacity(units.len());
    let mut i = 0;
    while i < units.len() {
        if is_guarded(units[i]) {
            out.push(guarded_unit(&mut tx, units[i]).await?);
            i += 1;
            continue;
        }
        // A run of plain units: their inserts coalesce across callers.
        let mut j = i;
        while j < units.len() && !is_guarded(units[j]) {
            j += 1;
        }
        let ops: Vec<&WriteOp> = units[i..j].iter().flat_map(|u| u.iter()).collect();
        write_ops(&mut tx, &ops).await?;
        out.extend((i..j).map(|_| Ok(())));
        i = j;
    }
    tx.commit().await.map_err(err)?;
    Ok(out)
}

type Tx = sqlx::Transaction<'static, sqlx::Any>;

fn is_guarded(unit: &[WriteOp]) -> bool {
    unit.iter().any(|op| matches!(op, WriteOp::Guard { .. }))
}

/// One guarded unit inside its savepoint: released when every guard holds, rolled back to it
/// (and refused) at the first that does not.
async fn guarded_unit(tx: &mut Tx, unit: &[WriteOp]) -> Result<Result<(), WriteError>, WriteError> {
    let err = |e: sqlx::Error| WriteError::Failed(e.to_string());
    let plain = |sql: &'static str| sqlx::query(sql);
    plain("SAVEPOINT unit")
        .execute(&mut **tx)
        .await
        .map_err(err)?;
    for op in unit {
        let refused = match op {
            WriteOp::Guard { sql, args, refusal } => {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(*sql));
                for a in args {
                    q = bind(q, a);
                }
                let n = q.execute(&mut **tx).await.map_err(err)?.rows_affected();
                (n != 1).then(|| refusal.clone())
            }
            other => {
                write_ops(tx, &[other]).await?;
                None
            }
        };
        if let Some(r) = refused {
            plain("ROLLBACK TO SAVEPOINT unit")
                .execute(&mut **tx)
                .await
                .map_err(err)?;
            plain("RELEASE SAVEPOINT unit")
                .execute(&mut **tx)
                .await
                .map_err(err)?;
            return Ok(Err(WriteError::Refused(r)));
        }
    }
    plain("RELEASE SAVEPOINT unit")
        .execute(&mut **tx)
        .await
        .map_err(err)?;
    Ok(Ok(()))
}

/// The statements of `ops`, in order, inside `tx`, coalescing runs of same-shape inserts. A
/// guard that does not hold fails the call with [`WriteError::Refused`].
async fn write_ops(tx: &mut Tx, ops: &[&WriteOp]) -> Result<(), WriteError> {
    let err = |e: sqlx::Error| WriteError::Failed(e.to_string());
    let mut i = 0;
    while i < ops.len() {
        match ops[i] {
            WriteOp::Guard { sql, args, refusal } => {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(*sql));
                for a in args {
                    q = bind(q, a);
                }
                if q.execute(&mut **tx).await.map_err(err)?.rows_affected() != 1 {
                    return Err(WriteError::Refused(refusal.clone()));
                }
                i += 1;
            }
            WriteOp::Exec { sql, args } => {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(*sql));
                for a in args {
                    q = bind(q, a);
                }
                q.execute(&mut **tx).await.map_err(err)?;
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
                q.execute(&mut **tx).await.map_err(err)?;
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

#[cfg(test)]
mod tests {
    use super::{insert_sql, write_units, SqlValue, WriteError, WriteOp};
    use crate::store::Db;

    fn audit(target: &str) -> WriteOp {
        WriteOp::Insert {
            table: "audit_log",
            columns: &["id", "at", "actor_id", "action", "target", "ip", "details"],
            values: vec![
                SqlValue::Text(uuid::Uuid::new_v4().to_string()),
                SqlValue::I64(0),
                SqlValue::Null,
                "test.unit".into(),
                target.into(),
                SqlValue::Null,
                "{}".into(),
            ],
        }
    }

    fn guard(holds: bool) -> WriteOp {
        WriteOp::Guard {
            sql: "UPDATE system_accounts SET balance = balance WHERE id = $1 AND currency = 'GMO'",
            args: vec![if holds { "system:escrow" } else { "nobody" }.into()],
            refusal: format!("holds={holds}"),
        }
    }

    #[tokio::test]
    async fn a_refused_unit_rolls_back_alone_and_the_batch_commits() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let db = Db::connect(&crate::store::DatabaseTarget::Sqlite(url))
            .await
            .unwrap();
        db.migrate().await.unwrap();
        let refused = [audit("a"), guard(false)];
        let plain = [audit("b")];
        let kept = [audit("c"), guard(true)];
        let out = write_units(&db, &[&refused, &plain, &kept]).await.unwrap();
        assert_eq!(
            out,
            vec![
                Err(WriteError::Refused("holds=false".into())),
                Ok(()),
                Ok(())
            ]
        );
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT target FROM audit_log WHERE action = 'test.unit' ORDER BY target",
        )
        .fetch_all(&db.pool)
        .await
        .unwrap();
        assert_eq!(rows, vec![("b".to_string(),), ("c".to_string(),)]);
        // All guards holding: one optimistic pass, everything written.
        let (kept, plain) = ([audit("d"), guard(true)], [audit("e")]);
        let out = write_units(&db, &[&kept, &plain]).await.unwrap();
        assert_eq!(out, vec![Ok(()), Ok(())]);
    }

    #[test]
    fn multi_row_insert_numbers_placeholders() {
        assert_eq!(
            insert_sql("t", &["a", "b"], 2),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)"
        );
    }
}
