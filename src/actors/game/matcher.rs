//! Multi-node matchmaking: one matcher per mode for the whole cluster, the holder of the lease
//! `matcher/{MODE}`. Other nodes forward `join`, `leave` and `status` to it, so queue position,
//! `rating_range` and `estimated_wait_s` are the same whichever node answers. The holder keeps
//! every waiting ticket in the Redis hash `{prefix}:tickets:{MODE}` too; when it dies the next
//! holder adopts them, so a queued player is never silently dropped.
//!
//! On a single node every mode's matcher is this node's and nothing here talks to Redis.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::{Game, GameError, Mode};
use crate::actors::matchmaker::{Adopt, Drain, Join, JoinAck, Leave, Status, Ticket};
use crate::cluster::Cluster;
use crate::metrics::METRICS;

const KIND: &str = "matcher";
const FORWARD_TIMEOUT: Duration = Duration::from_secs(5);

/// One change to the ticket store, applied in order by one writer.
enum Mirror {
    Put(Mode, Uuid, String),
    Del(Mode, Uuid),
}

/// This node's side of the cluster-wide queues.
pub(crate) struct Matchers {
    holds: [AtomicBool; 2],
    mirror: Option<mpsc::UnboundedSender<Mirror>>,
}

fn slot(mode: Mode) -> usize {
    match mode {
        Mode::Ranked => 0,
        Mode::Casual => 1,
    }
}

fn tickets_key(c: &Cluster, mode: Mode) -> String {
    c.key(&format!("tickets:{}", mode.as_str()))
}

impl Matchers {
    /// Single node: holds both matchers, mirrors nothing.
    pub(crate) fn new(cluster: Option<&Arc<Cluster>>) -> Matchers {
        let Some(c) = cluster else {
            return Matchers {
                holds: [AtomicBool::new(true), AtomicBool::new(true)],
                mirror: None,
            };
        };
        let (tx, mut rx) = mpsc::unbounded_channel::<Mirror>();
        let c = c.clone();
        tokio::spawn(async move {
            while let Some(op) = rx.recv().await {
                let mut conn = c.conn();
                let r: Result<(), redis::RedisError> = match op {
                    Mirror::Put(mode, user, json) => {
                        redis::cmd("HSET")
                            .arg(tickets_key(&c, mode))
                            .arg(user.to_string())
                            .arg(json)
                            .query_async(&mut conn)
                            .await
                    }
                    Mirror::Del(mode, user) => {
                        redis::cmd("HDEL")
                            .arg(tickets_key(&c, mode))
                            .arg(user.to_string())
                            .query_async(&mut conn)
                            .await
                    }
                };
                if let Err(e) = r {
                    tracing::warn!(error = %e, "ticket store write failed");
                }
            }
        });
        Matchers {
            holds: [AtomicBool::new(false), AtomicBool::new(false)],
            mirror: Some(tx),
        }
    }
}

fn game_error(code: &str, message: String) -> GameError {
    match code {
        "VALIDATION_ERROR" => GameError::Validation(message),
        "ALGORITHM_INVALID" => GameError::AlgorithmInvalid(message),
        "INSUFFICIENT_GMO" => GameError::InsufficientGmo,
        "ALREADY_IN_QUEUE" => GameError::AlreadyInQueue,
        "BATTLE_IN_PROGRESS" => GameError::BattleInProgress,
        _ => GameError::Busy,
    }
}

fn wire_error(e: &GameError) -> String {
    json!({"code": e.code(), "message": e.to_string()}).to_string()
}

/// Where a user stands in matchmaking, whichever node asks.
pub(crate) enum QueueView {
    /// In a live battle.
    Matched(Uuid),
    /// Waiting.
    Waiting {
        /// Mode.
        mode: Mode,
        /// 1-based position.
        position: usize,
        /// Current rating window.
        rating_range: u32,
        /// Seconds waited.
        waited_s: u64,
    },
    /// Neither.
    Idle,
}

impl Game {
    /// True when this node runs `mode`'s matcher (always on a single node).
    pub(crate) fn holds_matcher(&self, mode: Mode) -> bool {
        self.matchers.holds[slot(mode)].load(Ordering::Acquire)
    }

    /// Multi-node: keeps a waiting ticket in the cluster's ticket store.
    pub(crate) fn mirror_ticket(&self, t: &Ticket) {
        if let Some(tx) = &self.matchers.mirror {
            let _ = tx.send(Mirror::Put(t.mode, t.user, t.to_wire().to_string()));
        }
    }

    /// Multi-node: the ticket left the queue (matched or left).
    pub(crate) fn unmirror_ticket(&self, mode: Mode, user: Uuid) {
        if let Some(tx) = &self.matchers.mirror {
            let _ = tx.send(Mirror::Del(mode, user));
        }
    }

    async fn matcher_node(&self, mode: Mode) -> Result<String, GameError> {
        let c = self.owner.cluster().ok_or(GameError::Busy)?;
        c.leases
            .owner(KIND, mode.as_str())
            .await
            .ok()
            .flatten()
            .ok_or(GameError::Busy)
    }

    async fn forward_queue(&self, mode: Mode, body: Value) -> Result<Value, GameError> {
        let node = self.matcher_node(mode).await?;
        let c = self.owner.cluster().ok_or(GameError::Busy)?;
        c.rpc
            .call(&node, "queue", body, FORWARD_TIMEOUT)
            .await
            .map_err(|e| match e {
                crate::cluster::ClusterError::Remote(m) => {
                    let v: Value = serde_json::from_str(&m).unwrap_or(Value::Null);
                    game_error(
                        v["code"].as_str().unwrap_or_default(),
                        v["message"].as_str().unwrap_or_default().to_string(),
                    )
                }
                _ => GameError::Busy,
            })
    }

    /// Hands a ticket to its mode's matcher, on this node or the one that runs it.
    pub(crate) async fn join_matcher(&self, t: Ticket) -> Result<JoinAck, GameError> {
        let mode = t.mode;
        if self.holds_matcher(mode) {
            let mm = self.matchmaker(mode).ok_or(GameError::Busy)?;
            return mm.send(Join(t)).await.map_err(|_| GameError::Busy)?;
        }
        let v = self
            .forward_queue(mode, json!({"op": "join", "ticket": t.to_wire()}))
            .await?;
        Ok(JoinAck {
            queue_id: serde_json::from_value(v["queue_id"].clone()).map_err(|_| GameError::Busy)?,
            estimated_wait_s: v["estimated_wait_s"].as_u64().unwrap_or(1),
        })
    }

    /// Takes `user` out of `mode`'s queue wherever it runs; true if they were queued.
    pub(crate) async fn leave_matcher(&self, mode: Mode, user: Uuid) -> bool {
        if self.holds_matcher(mode) {
            return match self.matchmaker(mode) {
                Some(mm) => mm.send(Leave(user)).await.unwrap_or(false),
                None => false,
            };
        }
        self.forward_queue(mode, json!({"op": "leave", "user": user}))
            .await
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
    }

    /// Where `user` stands, the same on every node.
    pub(crate) async fn queue_view(&self, user: Uuid) -> Result<QueueView, GameError> {
        if let Some(b) = self.battle_of(user) {
            return Ok(QueueView::Matched(b));
        }
        if self.owner.cluster().is_some() {
            if let Some(b) = self.db.live_robot_battle_of(user).await? {
                return Ok(QueueView::Matched(b));
            }
        }
        for mode in [Mode::Ranked, Mode::Casual] {
            let status = if self.holds_matcher(mode) {
                let Some(mm) = self.matchmaker(mode) else {
                    continue;
                };
                mm.send(Status(user))
                    .await
                    .map_err(|_| GameError::Busy)?
                    .map(|s| (s.position, s.rating_range, s.waited_s))
            } else if self.owner.cluster().is_some() {
                let v = self
                    .forward_queue(mode, json!({"op": "status", "user": user}))
                    .await?;
                v.get("position").and_then(Value::as_u64).map(|p| {
                    (
                        p as usize,
                        v["rating_range"].as_u64().unwrap_or(0) as u32,
                        v["waited_s"].as_u64().unwrap_or(0),
                    )
                })
            } else {
                None
            };
            if let Some((position, rating_range, waited_s)) = status {
                return Ok(QueueView::Waiting {
                    mode,
                    position,
                    rating_range,
                    waited_s,
                });
            }
        }
        Ok(QueueView::Idle)
    }

    /// Serves a queue request forwarded by another node (this node runs the matcher).
    pub fn serve_queue(self: &Arc<Self>, body: Value) -> BoxFuture<'static, Result<Value, String>> {
        let game = self.clone();
        Box::pin(async move {
            match body["op"].as_str() {
                Some("join") => {
                    let t = Ticket::from_wire(&body["ticket"]).ok_or("bad ticket")?;
                    if !game.holds_matcher(t.mode) {
                        return Err(wire_error(&GameError::Busy));
                    }
                    let ack = game.join_matcher(t).await.map_err(|e| wire_error(&e))?;
                    Ok(json!({"queue_id": ack.queue_id, "estimated_wait_s": ack.estimated_wait_s}))
                }
                Some("leave") | Some("status") => {
                    let user: Uuid =
                        serde_json::from_value(body["user"].clone()).map_err(|e| e.to_string())?;
                    let mut out = Value::Bool(false);
                    for mode in [Mode::Ranked, Mode::Casual] {
                        if !game.holds_matcher(mode) {
                            continue;
                        }
                        let Some(mm) = game.matchmaker(mode) else {
                            continue;
                        };
                        if body["op"] == "leave" {
                            if mm.send(Leave(user)).await.unwrap_or(false) {
                                out = Value::Bool(true);
                            }
                        } else if let Ok(Some(s)) = mm.send(Status(user)).await {
                            out = json!({"position": s.position, "rating_range": s.rating_range, "waited_s": s.waited_s});
                        }
                    }
                    Ok(out)
                }
                _ => Err("unknown queue op".into()),
            }
        })
    }

    /// Multi-node: every `period`, tries to become the matcher of each mode nobody runs;
    /// on success adopts the tickets waiting in Redis. A matcher whose lease is lost drains.
    pub(crate) fn spawn_matcher_leases(self: &Arc<Self>, period: Duration) {
        let Some(c) = self.owner.cluster().cloned() else {
            return;
        };
        let game = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut t = tokio::time::interval(period);
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                c.next_sweep(&mut t).await;
                let Some(game) = game.upgrade() else { return };
                for mode in [Mode::Ranked, Mode::Casual] {
                    if game.holds_matcher(mode) {
                        continue;
                    }
                    let Ok(Some(guard)) = c.leases.try_acquire(KIND, mode.as_str()).await else {
                        continue;
                    };
                    game.become_matcher(&c, mode, guard).await;
                }
            }
        });
    }

    async fn become_matcher(
        self: &Arc<Self>,
        c: &Arc<Cluster>,
        mode: Mode,
        guard: crate::cluster::LeaseGuard,
    ) {
        let mut conn = c.conn();
        let stored: Result<Vec<(String, String)>, _> = redis::cmd("HGETALL")
            .arg(tickets_key(c, mode))
            .query_async(&mut conn)
            .await;
        let mut tickets = Vec::new();
        for (_, json) in stored.unwrap_or_default() {
            let Some(t) = serde_json::from_str(&json)
                .ok()
                .and_then(|v| Ticket::from_wire(&v))
            else {
                continue;
            };
            // Matched just before the old matcher died: the battle is the truth.
            match self.db.live_robot_battle_of(t.user).await {
                Ok(None) => tickets.push(t),
                _ => self.unmirror_ticket(mode, t.user),
            }
        }
        let n = tickets.len();
        if let Some(mm) = self.matchmaker(mode) {
            let _ = mm.send(Adopt(tickets)).await;
        }
        self.matchers.holds[slot(mode)].store(true, Ordering::Release);
        METRICS.lease_takeovers.with_label_values(&[KIND]).inc();
        tracing::info!(
            mode = mode.as_str(),
            adopted = n,
            "this node runs the matcher"
        );
        let game = Arc::downgrade(self);
        tokio::spawn(async move {
            guard.lost().await;
            drop(guard);
            if let Some(game) = game.upgrade() {
                game.matchers.holds[slot(mode)].store(false, Ordering::Release);
                if let Some(mm) = game.matchmaker(mode) {
                    let _ = mm.send(Drain).await;
                }
                tracing::warn!(
                    mode = mode.as_str(),
                    "matcher lease lost: queue drained here"
                );
            }
        });
    }
}
