//! Raw JSON WebSocket for table displays: `/v1/ws/battles/{id}?token=JWT`.
//!
//! [`TableHub`] fans each battle's tracker events out to its raw sessions and to the Socket.IO
//! room `table:{id}`. Sessions run as their own tasks, so a slow display never blocks a battle:
//! a lagging session skips ahead and is told how many messages it missed.

use std::sync::{
    atomic::{AtomicU32, Ordering},
    Arc,
};

use actix_codec::Framed;
use actix_http::ws::{self, CloseCode, CloseReason, Frame, Message};
use dashmap::DashMap;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::{
    net::TcpStream,
    sync::{broadcast, watch},
};
use uuid::Uuid;

use crate::metrics::METRICS;
use crate::realtime::sio::SioEntry;

/// Per-battle fan-out plus per-user connection accounting.
pub struct TableHub {
    channels: DashMap<Uuid, broadcast::Sender<Arc<str>>>,
    per_user: DashMap<Uuid, Arc<AtomicU32>>,
    max_per_user: u32,
    shutdown: watch::Sender<bool>,
    sio: Arc<dyn SioEntry>,
}

/// A held connection slot; released on drop.
pub struct Slot {
    counter: Arc<AtomicU32>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.counter.fetch_sub(1, Ordering::AcqRel);
    }
}

impl TableHub {
    /// A hub allowing `max_per_user` concurrent sessions per user.
    pub fn new(max_per_user: u32, sio: Arc<dyn SioEntry>) -> Arc<Self> {
        Arc::new(Self {
            channels: DashMap::new(),
            per_user: DashMap::new(),
            max_per_user,
            shutdown: watch::channel(false).0,
            sio,
        })
    }

    /// Reserves a connection slot for `user`, or `None` at the limit.
    pub fn acquire(&self, user: Uuid) -> Option<Slot> {
        let counter = self.per_user.entry(user).or_default().clone();
        let prev = counter.fetch_add(1, Ordering::AcqRel);
        if prev >= self.max_per_user {
            counter.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(Slot { counter })
    }

    fn subscribe(&self, battle: Uuid) -> broadcast::Receiver<Arc<str>> {
        self.channels
            .entry(battle)
            .or_insert_with(|| broadcast::channel(256).0)
            .subscribe()
    }

    /// Publishes a tracker event to the battle's raw sessions and Socket.IO room.
    /// Awaiting keeps one battle's events in order across both transports.
    pub async fn publish(&self, battle: Uuid, event: &Value) {
        let text: Arc<str> = event.to_string().into();
        if let Some(tx) = self.channels.get(&battle) {
            if tx.send(text).is_err() {
                drop(tx);
                self.channels
                    .remove_if(&battle, |_, tx| tx.receiver_count() == 0);
            }
        }
        let event_name = event
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("tracker_event")
            .to_string();
        let _ = self
            .sio
            .io()
            .to(format!("table:{battle}"))
            .emit(event_name, event)
            .await;
    }

    /// Tells every session the server is going away.
    pub fn shutdown(&self) {
        let _ = self.shutdown.send(true);
    }

    /// Runs one session until the client leaves or the server stops.
    pub async fn run_session(
        self: Arc<Self>,
        battle: Uuid,
        user: Uuid,
        slot: Slot,
        framed: Framed<TcpStream, ws::Codec>,
    ) {
        let _slot = slot;
        METRICS.connections.with_label_values(&["ws_v1"]).inc();
        let mut rx = self.subscribe(battle);
        let mut stop = self.shutdown.subscribe();
        let (mut sink, mut stream) = framed.split();
        let hello = json!({ "type": "connected", "battle_id": battle, "user_id": user,
            "timestamp": crate::store::rfc3339(crate::store::now_ms()) });
        let _ = sink.send(Message::Text(hello.to_string().into())).await;
        loop {
            tokio::select! {
                frame = stream.next() => match frame {
                    Some(Ok(Frame::Ping(b))) => { let _ = sink.send(Message::Pong(b)).await; }
                    Some(Ok(Frame::Text(t))) => {
                        let reply = client_message(&t, battle);
                        let _ = sink.send(Message::Text(reply.to_string().into())).await;
                    }
                    Some(Ok(Frame::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => {}
                },
                msg = rx.recv() => match msg {
                    Ok(text) => {
                        if sink.send(Message::Text(text.to_string().into())).await.is_err() { break; }
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        let _ = sink.send(Message::Text(json!({"type": "lagged", "missed": n}).to_string().into())).await;
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                _ = stop.changed() => {
                    let reason = CloseReason { code: CloseCode::Away, description: Some("server shutting down".into()) };
                    let _ = sink.send(Message::Close(Some(reason))).await;
                    break;
                }
            }
        }
        METRICS.connections.with_label_values(&["ws_v1"]).dec();
    }
}

/// Answers a client frame: `{"type":"ping"}` gets `pong`; anything else an `error` message.
fn client_message(text: &[u8], battle: Uuid) -> Value {
    match serde_json::from_slice::<Value>(text) {
        Ok(v) if v.get("type").and_then(Value::as_str) == Some("ping") => {
            json!({"type": "pong", "battle_id": battle})
        }
        Ok(_) => {
            json!({"type": "error", "code": "VALIDATION_ERROR", "message": "this socket is read-only; send {\"type\":\"ping\"} to keep alive"})
        }
        Err(e) => {
            json!({"type": "error", "code": "VALIDATION_ERROR", "message": format!("invalid JSON: {e}")})
        }
    }
}
