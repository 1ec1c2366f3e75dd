//! Raw JSON WebSocket for table displays: `/v1/ws/battles/{id}?token=JWT`.
//!
//! [`TableHub`] fans each battle's tracker events out to its raw sessions and to the Socket.IO
//! room `table:{id}`. Sessions run as their own tasks, so a slow display never blocks a battle:
//! a lagging session skips ahead and is told how many messages it missed.
//!
//! Heartbeat: every session pings its peer each [`Heartbeat::interval`]. A peer that sends
//! nothing at all (no pong, no frame) within [`Heartbeat::timeout`] of a ping is dropped, and so
//! is one that stops reading: every write is bounded by the same timeout, so a full socket
//! buffer cannot hold the session (and its connection slot) forever.
//!
//! A session also ends when its token expires (closed 1008 `token expired`) and when its user
//! is banned ([`TableHub::kick`], closed 1008 `account banned`).

use std::{
    sync::{
        atomic::{AtomicU32, Ordering},
        Arc,
    },
    time::Duration,
};

use actix_codec::Framed;
use actix_http::ws::{self, CloseCode, CloseReason, Frame, Message};
use dashmap::DashMap;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::{
    net::TcpStream,
    sync::{broadcast, watch},
    time::{timeout, Instant},
};
use uuid::Uuid;

use crate::actors::rooms::TableFeed;
use crate::cluster::{slots::SharedSlot, Cluster};
use crate::metrics::METRICS;
use crate::realtime::sio::SioEntry;
use crate::realtime::table_fanout::{Channels, Fanout};

/// Server-side keep-alive of raw WebSocket sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heartbeat {
    /// How often the server pings.
    pub interval: Duration,
    /// How long a ping may go unanswered (and a write may block) before the peer is dropped.
    pub timeout: Duration,
}

impl Default for Heartbeat {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(15),
            timeout: Duration::from_secs(10),
        }
    }
}

/// Per-battle fan-out plus per-user connection accounting (across nodes in multi-node mode,
/// see `table_fanout`).
pub struct TableHub {
    channels: Channels,
    per_user: DashMap<Uuid, Arc<UserConns>>,
    max_per_user: u32,
    heartbeat: Heartbeat,
    shutdown: watch::Sender<bool>,
    sio: Arc<dyn SioEntry>,
    cluster: Option<Fanout>,
}

/// One user's live sessions: how many, and a signal that ends them all.
#[derive(Debug)]
struct UserConns {
    count: AtomicU32,
    kicks: watch::Sender<u64>,
}

impl Default for UserConns {
    fn default() -> Self {
        Self {
            count: AtomicU32::new(0),
            kicks: watch::channel(0).0,
        }
    }
}

/// A held connection slot (and its cluster-wide one); released on drop.
pub struct Slot {
    conns: Arc<UserConns>,
    _cluster: Option<SharedSlot>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.conns.count.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The instant a token expiring at `exp_s` (unix seconds) runs out, on tokio's clock.
pub(crate) fn deadline_of(exp_s: i64) -> Instant {
    let left_ms = exp_s
        .saturating_mul(1000)
        .saturating_sub(crate::store::now_ms())
        .max(0);
    Instant::now() + Duration::from_millis(left_ms as u64)
}

impl TableFeed for TableHub {
    fn publish<'a>(
        &'a self,
        battle: Uuid,
        event: &'a Value,
    ) -> futures_util::future::BoxFuture<'a, ()> {
        Box::pin(TableHub::publish(self, battle, event))
    }
}

impl TableHub {
    /// A hub allowing `max_per_user` concurrent sessions per user, keeping them alive with
    /// `heartbeat`. On a node of `cluster` (when set), events and the per-user limit span the
    /// nodes. Call on a tokio runtime.
    pub fn with_cluster(
        max_per_user: u32,
        heartbeat: Heartbeat,
        sio: Arc<dyn SioEntry>,
        cluster: Option<Arc<Cluster>>,
    ) -> Arc<Self> {
        let channels: Channels = Arc::default();
        let cluster = cluster.map(|c| Fanout::start(c, channels.clone(), max_per_user));
        Arc::new(Self {
            channels,
            per_user: DashMap::new(),
            max_per_user,
            heartbeat,
            shutdown: watch::channel(false).0,
            sio,
            cluster,
        })
    }

    /// Reserves a connection slot for `user`, or `None` at the limit (counted over every
    /// node in multi-node mode).
    pub async fn acquire(&self, user: Uuid) -> Option<Slot> {
        let conns = self.per_user.entry(user).or_default().clone();
        let prev = conns.count.fetch_add(1, Ordering::AcqRel);
        // Held from here: dropping it on a refusal gives the local count back.
        let mut slot = Slot {
            conns,
            _cluster: None,
        };
        if prev >= self.max_per_user {
            return None;
        }
        if let Some(fanout) = &self.cluster {
            slot._cluster = fanout.acquire(user).await.ok()?;
        }
        Some(slot)
    }

    /// Ends every live session of `user` at once (a ban).
    pub fn kick(&self, user: Uuid) {
        if let Some(conns) = self.per_user.get(&user) {
            conns.kicks.send_modify(|n| *n += 1);
        }
    }

    /// A receiver of the battle's events as sent to raw sessions (JSON text, in order).
    pub fn subscribe(&self, battle: Uuid) -> broadcast::Receiver<Arc<str>> {
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
            if tx.send(text.clone()).is_err() {
                drop(tx);
                self.channels
                    .remove_if(&battle, |_, tx| tx.receiver_count() == 0);
            }
        }
        if let Some(fanout) = &self.cluster {
            fanout.publish(battle, &text).await;
        }
        // The room `table:{id}` spans the nodes through the adapter: emitted here only.
        let event_name = event
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("tracker_event")
            .to_string();
        self.sio
            .emit_now(format!("table:{battle}"), event_name, event.clone())
            .await;
    }

    /// Tells every session the server is going away.
    pub fn shutdown(&self) {
        let _ = self.shutdown.send(true);
    }

    /// Runs one session until the client leaves, misses its heartbeat, its token `expires`,
    /// its user is kicked, or the server stops.
    pub async fn run_session(
        self: Arc<Self>,
        battle: Uuid,
        user: Uuid,
        slot: Slot,
        expires: Instant,
        framed: Framed<TcpStream, ws::Codec>,
    ) {
        let mut kicked = slot.conns.kicks.subscribe();
        kicked.mark_unchanged();
        let _slot = slot;
        let expiry = tokio::time::sleep_until(expires);
        tokio::pin!(expiry);
        METRICS.connections.with_label_values(&["ws_v1"]).inc();
        let mut rx = self.subscribe(battle);
        // Multi-node: this node hears the battle's events from the others while watched.
        let _watching = match &self.cluster {
            Some(fanout) => Some(fanout.watch(battle).await),
            None => None,
        };
        let mut stop = self.shutdown.subscribe();
        let hb = self.heartbeat;
        let (mut sink, mut stream) = framed.split();
        // Every write is bounded: a peer that stopped reading is as dead as one that stopped
        // answering pings.
        macro_rules! send {
            ($msg:expr) => {
                match timeout(hb.timeout, sink.send($msg)).await {
                    Ok(Ok(())) => true,
                    _ => false,
                }
            };
        }
        let text = |v: Value| Message::Text(v.to_string().into());
        let hello = json!({ "type": "connected", "battle_id": battle, "user_id": user,
            "timestamp": crate::store::rfc3339(crate::store::now_ms()) });
        let mut alive = send!(text(hello));
        let period = hb.interval.max(Duration::from_millis(1)); // a zero period would panic
        let mut ping = tokio::time::interval_at(Instant::now() + period, period);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Set when a ping goes out unanswered; any frame from the peer clears it.
        let mut pong_due: Option<Instant> = None;
        let mut close: Option<CloseReason> = None;
        while alive {
            let due = pong_due;
            tokio::select! {
                frame = stream.next() => {
                    pong_due = None;
                    match frame {
                        Some(Ok(Frame::Ping(b))) => alive = send!(Message::Pong(b)),
                        Some(Ok(Frame::Text(t))) => alive = send!(text(client_message(&t, battle))),
                        Some(Ok(Frame::Close(_))) | None | Some(Err(_)) => break,
                        Some(Ok(_)) => {}
                    }
                }
                msg = rx.recv() => match msg {
                    Ok(t) => alive = send!(Message::Text(t.to_string().into())),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        alive = send!(text(json!({"type": "lagged", "missed": n})));
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                _ = ping.tick() => {
                    pong_due.get_or_insert_with(|| Instant::now() + hb.timeout);
                    alive = send!(Message::Ping(bytes::Bytes::new()));
                }
                _ = tokio::time::sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => {
                    tracing::debug!(%battle, %user, "dropping a websocket peer that missed its heartbeat");
                    close = Some(CloseReason { code: CloseCode::Policy, description: Some("heartbeat timeout: no pong".into()) });
                    break;
                }
                _ = &mut expiry => {
                    close = Some(CloseReason { code: CloseCode::Policy, description: Some("token expired".into()) });
                    break;
                }
                _ = kicked.changed() => {
                    close = Some(CloseReason { code: CloseCode::Policy, description: Some("account banned".into()) });
                    break;
                }
                _ = stop.changed() => {
                    close = Some(CloseReason { code: CloseCode::Away, description: Some("server shutting down".into()) });
                    break;
                }
            }
        }
        if let Some(reason) = close {
            // Best effort and bounded: a dead peer may never take it.
            let _ = timeout(
                hb.timeout.min(Duration::from_secs(1)),
                sink.send(Message::Close(Some(reason))),
            )
            .await;
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
