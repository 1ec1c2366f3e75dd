//! Emitting from actors without reordering, on either adapter.
//!
//! A room op (emit, join, leave) completes on its first poll with both adapters: the local
//! adapter acts on this node's sockets at once, and the Redis adapter's driver only queues
//! its PUBLISH for an ordered writer (`sio_driver`) before doing the same. So [`run_inline`]
//! polls each op once, and events reach this node's sockets and the other nodes in the order the
//! actor produced them, at no extra cost: a join and the catch-up batch and ticks after it
//! stay in order. (An ordering task that awaited each PUBLISH's reply did not hold this:
//! tokio's cooperative budget let later ops overtake earlier ones, losing ticks.) Should an
//! op stay pending anyway, the rest of it is spawned and counted in
//! `warroom_emit_deferred_total`, since it may then land out of order.

use std::future::Future;
use std::task::Context;

use futures_util::{task::noop_waker_ref, FutureExt};
use socketioxide::adapter::Adapter;
use socketioxide::{BroadcastError, SocketIo};

use crate::metrics::METRICS;

/// Runs a room op now, in order with the ops before it (it completes on this first poll; see
/// the module docs); should it not, the rest is spawned and counted.
pub(crate) fn run_inline(op: impl Future<Output = ()> + Send + 'static) {
    let mut fut = Box::pin(op);
    let mut cx = Context::from_waker(noop_waker_ref());
    if fut.poll_unpin(&mut cx).is_pending() {
        METRICS.emit_deferred.inc();
        tokio::spawn(fut);
    }
}

/// Counts a failed cross-node broadcast; a socket that went away meanwhile is no error.
pub(crate) fn count(r: Result<(), BroadcastError>) {
    if let Err(e) = r {
        if matches!(e, BroadcastError::Adapter(_)) {
            METRICS.adapter_errors.inc();
            tracing::warn!(error = %e, "socket.io adapter broadcast failed");
        } else if let BroadcastError::Socket(errs) = &e {
            let full = errs
                .iter()
                .filter(|e| matches!(e, socketioxide::SocketError::InternalChannelFull))
                .count();
            METRICS.socket_buffer_full.inc_by(full as u64);
            tracing::debug!(error = %e, "room emit failed for some sockets");
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
