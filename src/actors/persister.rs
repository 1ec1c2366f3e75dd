//! The Persister: the one writer for hot rows, with group commit.
//!
//! Callers `send(Persist(ops)).await` and get `Ok` only after the COMMIT that holds their rows,
//! so nothing acknowledged is lost. Writes arriving while a commit is in flight wait for it and
//! then go together in the next transaction: batching grows with load, latency stays bounded by
//! `max_wait` when idle.
//!
//! Each `Persist` is one atomic unit. Money moves (battle creation with its escrow, settlement)
//! carry guards: a unit whose guard fails is rolled back alone and refused, the others in the
//! batch commit (see `store::batch`).

use std::time::{Duration, Instant};

use actix::prelude::*;
use tokio::sync::oneshot;

use crate::metrics::METRICS;
use crate::store::batch::{write_units, WriteError};
pub use crate::store::batch::{SqlValue, WriteOp};
use crate::store::Db;

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
    /// A guard of the unit did not hold (e.g. a balance too low); nothing of it was written.
    #[error("refused: {0}")]
    Refused(String),
}

impl From<WriteError> for PersistError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Failed(m) => PersistError::Failed(m),
            WriteError::Bad(m) => PersistError::Bad(m),
            WriteError::Refused(m) => PersistError::Refused(m),
        }
    }
}

/// Persist these ops atomically; resolves after COMMIT.
#[derive(Message)]
#[rtype(result = "Result<(), PersistError>")]
pub struct Persist(pub Vec<WriteOp>);

/// Resolves once everything enqueued before it is committed (used at shutdown).
#[derive(Message)]
#[rtype(result = "Result<(), PersistError>")]
pub(crate) struct Flush;

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
pub(crate) const MAILBOX: usize = 16_384;

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
            let units: Vec<&[WriteOp]> = batch.iter().map(|p| p.ops.as_slice()).collect();
            let mut result = Err(WriteError::Failed("not tried".into()));
            for attempt in 0..3u32 {
                result = write_units(&db, &units).await;
                if result.is_ok() {
                    break;
                }
                METRICS.persist_failures.with_label_values(&["batch"]).inc();
                tokio::time::sleep(Duration::from_millis(5 << attempt)).await;
            }
            if let Ok(outcomes) = result {
                METRICS.persist_batch_rows.observe(rows as f64);
                if let Some(t) = oldest {
                    METRICS
                        .persist_commit_seconds
                        .observe(t.elapsed().as_secs_f64());
                }
                for (p, r) in batch.into_iter().zip(outcomes) {
                    let _ = p.reply.send(r.map_err(PersistError::from));
                }
            } else {
                // Isolate the bad write: commit each caller alone so one poisoned row fails
                // only its own caller.
                for p in batch {
                    let r = match write_units(&db, &[p.ops.as_slice()]).await {
                        Ok(mut one) => one.pop().unwrap_or(Ok(())),
                        Err(e) => Err(e),
                    }
                    .map_err(PersistError::from);
                    if matches!(r, Err(PersistError::Failed(_) | PersistError::Bad(_))) {
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
