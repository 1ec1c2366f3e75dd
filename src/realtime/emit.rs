//! Emitting from actors without reordering: a room emit on the local adapter completes on its
//! first poll, so it is polled inline (events leave in the order the actor produced them).
//! With a remote adapter that needs IO, the rest is spawned on the current tokio runtime.

use std::task::Context;

use futures_util::{task::noop_waker_ref, FutureExt};
use socketioxide::SocketIo;

/// Emits `event` with `data` to every socket in `room`, except sockets in `except` rooms.
pub(crate) fn to_room(
    io: &SocketIo,
    room: String,
    except: Vec<String>,
    event: &'static str,
    data: impl serde::Serialize + Send + 'static,
) {
    let io = io.clone();
    let mut fut = Box::pin(async move {
        let mut op = io.to(room);
        if !except.is_empty() {
            op = op.except(except);
        }
        let _ = op.emit(event, &data).await;
    });
    let mut cx = Context::from_waker(noop_waker_ref());
    if fut.poll_unpin(&mut cx).is_pending() {
        tokio::spawn(fut);
    }
}

/// Puts every socket in room `from` into room `to` as well (polled inline like [`to_room`]).
pub(crate) fn join_room(io: &SocketIo, from: String, to: String) {
    let io = io.clone();
    let mut fut = Box::pin(async move {
        let _ = io.to(from).join(to).await;
    });
    let mut cx = Context::from_waker(noop_waker_ref());
    if fut.poll_unpin(&mut cx).is_pending() {
        tokio::spawn(fut);
    }
}

/// Takes every socket in room `from` out of room `to`.
pub(crate) fn leave_room(io: &SocketIo, from: String, to: String) {
    let io = io.clone();
    let mut fut = Box::pin(async move {
        let _ = io.to(from).leave(to).await;
    });
    let mut cx = Context::from_waker(noop_waker_ref());
    if fut.poll_unpin(&mut cx).is_pending() {
        tokio::spawn(fut);
    }
}
