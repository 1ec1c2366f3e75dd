//! Emitting from actors without reordering, on either adapter.
//!
//! - Local adapter ([`Lane::Inline`]): a room op completes on its first poll, so it is polled
//!   inline and events leave in the order the actor produced them, at no extra cost. Should a
//!   future stay pending anyway, the rest is spawned.
//! - Redis adapter ([`Lane::Ordered`]): an op first PUBLISHes, then applies itself to this
//!   node's sockets once Redis answered. Spawned one task each, two ops could run their local
//!   halves out of order (a join after the batch it should have received). So every op goes
//!   through one per-node task that polls them in submission order: the PUBLISHes enter the
//!   multiplexed connection in order, Redis answers in order, and the answers wake the ops in
//!   order, so the local halves also run in order; ops still overlap (pipelined), and one
//!   slow op does not hold the others.

use std::future::Future;
use std::task::Context;

use futures_util::{
    future::BoxFuture, stream::FuturesUnordered, task::noop_waker_ref, FutureExt, StreamExt,
};
use socketioxide::adapter::Adapter;
use socketioxide::{BroadcastError, SocketIo};
use tokio::sync::{mpsc, oneshot};

use crate::metrics::METRICS;

/// How room ops of one Socket.IO server are run.
pub(crate) enum Lane {
    /// Polled inline (local adapter).
    Inline,
    /// Run by the node's ordering task (Redis adapter).
    Ordered(mpsc::UnboundedSender<BoxFuture<'static, ()>>),
}

impl Lane {
    /// A lane with its ordering task, spawned on the current tokio runtime.
    pub(crate) fn ordered() -> Lane {
        let (tx, mut rx) = mpsc::unbounded_channel::<BoxFuture<'static, ()>>();
        tokio::spawn(async move {
            let mut running = FuturesUnordered::new();
            loop {
                // Ops are pushed, and so first polled, in submission order. (Not `biased`:
                // a steady stream of new ops must not starve the running ones.)
                tokio::select! {
                    op = rx.recv() => match op {
                        Some(op) => running.push(op),
                        None => break,
                    },
                    Some(()) = running.next(), if !running.is_empty() => {}
                }
            }
            while running.next().await.is_some() {}
        });
        Lane::Ordered(tx)
    }

    /// Runs `op` in order with the lane's other ops, not waiting for it.
    pub(crate) fn run(&self, op: impl Future<Output = ()> + Send + 'static) {
        match self {
            Lane::Inline => {
                let mut fut = Box::pin(op);
                let mut cx = Context::from_waker(noop_waker_ref());
                if fut.poll_unpin(&mut cx).is_pending() {
                    tokio::spawn(fut);
                }
            }
            Lane::Ordered(tx) => {
                let _ = tx.send(Box::pin(op));
            }
        }
    }

    /// Runs `op` in order with the lane's other ops; resolves once it is done.
    pub(crate) fn run_now(
        &self,
        op: impl Future<Output = ()> + Send + 'static,
    ) -> BoxFuture<'static, ()> {
        match self {
            Lane::Inline => Box::pin(op),
            Lane::Ordered(tx) => {
                let (done, finished) = oneshot::channel();
                let _ = tx.send(Box::pin(async move {
                    op.await;
                    let _ = done.send(());
                }));
                Box::pin(async move {
                    let _ = finished.await;
                })
            }
        }
    }
}

/// Counts a failed cross-node broadcast; a socket that went away meanwhile is no error.
pub(crate) fn count(r: Result<(), BroadcastError>) {
    if let Err(e) = r {
        if matches!(e, BroadcastError::Adapter(_)) {
            METRICS.adapter_errors.inc();
            tracing::warn!(error = %e, "socket.io adapter broadcast failed");
        } else {
            tracing::debug!(error = %e, "room emit failed");
        }
    }
}

/// Counts a failed adapter op (join, leave, fetch).
pub(crate) fn count_adapter<T, E: std::fmt::Display>(r: Result<T, E>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            METRICS.adapter_errors.inc();
            tracing::warn!(error = %e, "socket.io adapter op failed");
            None
        }
    }
}

/// The root namespace's operators, or `None` once shutdown closed it (`to()` would panic
/// then, in an actor still running; a gone namespace just has nobody to tell).
pub(crate) fn root<A: Adapter>(
    io: &SocketIo<A>,
) -> Option<socketioxide::operators::BroadcastOperators<A>> {
    io.of("/")
}
