//! The Persister: the one writer for hot rows, with group commit.
//!
//! Callers `send(Persist(ops)).await` and get `Ok` only after the COMMIT that holds their rows,
//! so nothing acknowledged is lost. Writes arriving while a commit is in flight wait for it and
//! then go together in the next transaction: batching grows with load, latency stays bounded by
//! `max_wait` when idle.

use std::time::{Duration, Instant};

use actix::prelude::*;
use tokio::sync::oneshot;

use crate::metrics::METRICS;
use crate::store::Db;

/// A value bound into a persisted statement.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    /// BIGINT.
    I64(i64),
    /// TEXT.
    Text(String),
    /// NULL.
    Null,
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
}

/// Why a write was not committed.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum PersistError {
    /// The database refused the batch (after retries).
    #[error("persist failed: {0}")]
    Failed(String),
    /// The persister stopped before committing.
    #[error("persister closed")]
    Closed,
    /// A write had a shape error (wrong value count).
    #[error("bad write: {0}")]
    Bad(String),
}

/// Persist these ops atomically; resolves after COMMIT.
#[derive(Message)]
#[rtype(result = "Result<(), PersistError>")]
pub struct Persist(pub Vec<WriteOp>);

/// Resolves once everything enqueued before it is committed (used at shutdown).
#[derive(Message)]
#[rtype(result = "Result<(), PersistError>")]
pub struct Flush;

struct Pending {
    ops: Vec<WriteOp>,
    reply: oneshot::Sender<Result<(), PersistError>>,
    since: Instant,
}

/// The persister actor.
pub struct Persister {
    db: Db,
    max_wait: Duration,
    max_rows: usize,
    pending: Vec<Pending>,
    pending_rows: usize,
    timer_armed: bool,
    in_flight: bool,
}

/// Mailbox bound: a full mailbox makes `send` wait (back-pressure) and `try_send` fail.
pub const MAILBOX: usize = 16_384;

impl Persister {
    /// A persister over `db`.
    pub fn new(db: Db, max_wait: Duration, max_rows: usize) -> Self {
        Self {
            db,
            max_wait,
            max_rows: max_rows.max(1),
            pending: Vec::new(),
            pending_rows: 0,
            timer_armed: false,
            in_flight: false,
        }
    }

    fn schedule(&mut self, ctx: &mut Context<Self>) {
        if self.in_flight {
            return; // the in-flight commit flushes again when done
        }
        if self.pending_rows >= self.max_rows {
            self.flush(ctx);
        } else if !self.timer_armed {
            self.timer_armed = true;
            ctx.run_later(self.max_wait, |act, ctx| {
                act.timer_armed = false;
                act.flush(ctx);
            });
        }
    }

    fn flush(&mut self, ctx: &mut Context<Self>) {
        if self.in_flight || self.pending.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.pending);
        let rows = std::mem::take(&mut self.pending_rows);
        METRICS.persist_pending.set(0);
        self.in_flight = true;
        let db = self.db.clone();
        let fut = async move {
            let oldest = batch.iter().map(|p| p.since).min();
            let ops: Vec<&WriteOp> = batch.iter().flat_map(|p| p.ops.iter()).collect();
            let mut result = Err(PersistError::Closed);
            for attempt in 0..3u32 {
                result = write_batch(&db, &ops).await;
                if result.is_ok() {
                    break;
                }
                METRICS.persist_failures.with_label_values(&["batch"]).inc();
                tokio::time::sleep(Duration::from_millis(5 << attempt)).await;
            }
            if result.is_ok() {
                METRICS.persist_batch_rows.observe(rows as f64);
                if let Some(t) = oldest {
                    METRICS
                        .persist_commit_seconds
                        .observe(t.elapsed().as_secs_f64());
                }
                for p in batch {
                    let _ = p.reply.send(Ok(()));
                }
            } else {
                // Isolate the bad write: commit each caller alone so one poisoned row fails
                // only its own caller.
                for p in batch {
                    let ops: Vec<&WriteOp> = p.ops.iter().collect();
                    let r = write_batch(&db, &ops).await;
                    if r.is_err() {
                        METRICS
                            .persist_failures
                            .with_label_values(&["caller"])
                            .inc();
                    }
                    let _ = p.reply.send(r);
                }
            }
        };
        ctx.spawn(fut.into_actor(self).map(|_, act, ctx| {
            act.in_flight = false;
            if !act.pending.is_empty() {
                act.flush(ctx);
            }
        }));
    }
}

impl Actor for Persister {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(MAILBOX);
        METRICS.actors.with_label_values(&["persister"]).inc();
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        METRICS.actors.with_label_values(&["persister"]).dec();
    }
}

impl Handler<Persist> for Persister {
    type Result = ResponseFuture<Result<(), PersistError>>;

    #[tracing::instrument(skip_all)]
    fn handle(&mut self, msg: Persist, ctx: &mut Self::Context) -> Self::Result {
        let (reply, rx) = oneshot::channel();
        if msg.0.is_empty() {
            return Box::pin(async { Ok(()) });
        }
        self.pending_rows += msg.0.len();
        METRICS.persist_pending.set(self.pending_rows as i64);
        self.pending.push(Pending {
            ops: msg.0,
            reply,
            since: Instant::now(),
        });
        self.schedule(ctx);
        Box::pin(async move { rx.await.unwrap_or(Err(PersistError::Closed)) })
    }
}

impl Handler<Flush> for Persister {
    type Result = ResponseFuture<Result<(), PersistError>>;

    fn handle(&mut self, _msg: Flush, ctx: &mut Self::Context) -> Self::Result {
        // An empty write rides the next commit, so it resolves after everything before it.
        let (reply, rx) = oneshot::channel();
        self.pending.push(Pending {
            ops: Vec::new(),
            reply,
            since: Instant::now(),
        });
        if self.in_flight {
            // picked up when the in-flight commit finishes
        } else {
            self.flush(ctx);
        }
        Box::pin(async move { rx.await.unwrap_or(Err(PersistError::Closed)) })
    }
}

/// Writes `ops` in one transaction, coalescing runs of same-shape inserts.
async fn write_batch(db: &Db, ops: &[&WriteOp]) -> Result<(), PersistError> {
    let err = |e: sqlx::Error| PersistError::Failed(e.to_string());
    let mut tx = db.pool.begin().await.map_err(err)?;
    let mut i = 0;
    while i < ops.len() {
        match ops[i] {
            WriteOp::Exec { sql, args } => {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(*sql));
                for a in args {
                    q = bind(q, a);
                }
                q.execute(&mut *tx).await.map_err(err)?;
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
                            return Err(PersistError::Bad(format!(
                                "{table}: {} values",
                                values.len()
                            )));
                        }
                        for v in values {
                            q = bind(q, v);
                        }
                    }
                }
                q.execute(&mut *tx).await.map_err(err)?;
                i = j;
            }
        }
    }
    tx.commit().await.map_err(err)
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
        SqlValue::Text(s) => q.bind(s.as_str()),
        SqlValue::Null => q.bind(Option::<String>::None),
    }
}

#[cfg(test)]
mod tests {
    use super::insert_sql;

    #[test]
    fn multi_row_insert_numbers_placeholders() {
        assert_eq!(
            insert_sql("t", &["a", "b"], 2),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)"
        );
    }
}
