//! One matchmaker per mode. Tickets are kept by rating; each pass pairs neighbours whose
//! rating gap fits the wider of their two windows. A window starts at
//! [`BASE_RANGE`] and widens by [`RANGE_STEP`] every [`WIDEN_EVERY`] of waiting, up to
//! [`MAX_RANGE`] (documented in README).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use serde_json::json;
use uuid::Uuid;

use super::game::{Game, GameError, Mode};
use crate::metrics::METRICS;
use crate::sim::battle::Fighter;

/// Starting rating window (±).
pub(crate) const BASE_RANGE: u32 = 100;
/// Added per [`WIDEN_EVERY`] waited.
pub(crate) const RANGE_STEP: u32 = 50;
/// Widening period.
pub(crate) const WIDEN_EVERY: Duration = Duration::from_secs(5);
/// Widest window.
pub(crate) const MAX_RANGE: u32 = 1000;
/// How often the queue is scanned.
pub(crate) const PASS_EVERY: Duration = Duration::from_millis(200);
const MAILBOX: usize = 4096;

/// A player waiting for a match.
#[derive(Debug, Clone)]
pub struct Ticket {
    /// Queue entry id.
    pub queue_id: Uuid,
    /// Player.
    pub user: Uuid,
    /// Mode.
    pub mode: Mode,
    /// Rating in this mode and season.
    pub rating: f64,
    /// Stake.
    pub wager: i64,
    /// Robot, upgrades and tree.
    pub fighter: Fighter,
    /// Algorithm played.
    pub(crate) algorithm: Option<Uuid>,
    /// Public snapshot for the opponent and the battle record.
    pub(crate) snapshot: serde_json::Value,
    since: Instant,
    last_sent: Option<(usize, u32)>,
}

impl Ticket {
    /// A ticket that starts waiting now.
    pub fn new(
        user: Uuid,
        mode: Mode,
        rating: f64,
        wager: i64,
        fighter: Fighter,
        algorithm: Option<Uuid>,
        snapshot: serde_json::Value,
    ) -> Ticket {
        Ticket {
            queue_id: Uuid::new_v4(),
            user,
            mode,
            rating,
            wager,
            fighter,
            algorithm,
            snapshot,
            since: Instant::now(),
            last_sent: None,
        }
    }

    /// The ticket as JSON, for the cluster's ticket store and forwarding (waiting time kept
    /// as milliseconds: `Instant`s mean nothing on another node).
    pub(crate) fn to_wire(&self) -> serde_json::Value {
        json!({
            "queue_id": self.queue_id, "user": self.user, "mode": self.mode.as_str(),
            "rating": self.rating, "wager": self.wager, "fighter": self.fighter,
            "algorithm": self.algorithm, "snapshot": self.snapshot,
            "waited_ms": self.since.elapsed().as_millis() as u64,
        })
    }

    /// A ticket read back from [`Ticket::to_wire`].
    pub(crate) fn from_wire(v: &serde_json::Value) -> Option<Ticket> {
        let waited = Duration::from_millis(v["waited_ms"].as_u64().unwrap_or(0));
        Some(Ticket {
            queue_id: serde_json::from_value(v["queue_id"].clone()).ok()?,
            user: serde_json::from_value(v["user"].clone()).ok()?,
            mode: Mode::parse(v["mode"].as_str()?)?,
            rating: v["rating"].as_f64()?,
            wager: v["wager"].as_i64()?,
            fighter: serde_json::from_value(v["fighter"].clone()).ok()?,
            algorithm: serde_json::from_value(v["algorithm"].clone()).ok()?,
            snapshot: v["snapshot"].clone(),
            since: Instant::now()
                .checked_sub(waited)
                .unwrap_or_else(Instant::now),
            last_sent: None,
        })
    }

    /// This ticket's window after waiting `waited`.
    pub(crate) fn range(&self, now: Instant) -> u32 {
        let steps = (now.saturating_duration_since(self.since).as_millis()
            / WIDEN_EVERY.as_millis()) as u32;
        (BASE_RANGE + steps.saturating_mul(RANGE_STEP)).min(MAX_RANGE)
    }
}

/// Accepted ticket.
#[derive(Debug, Clone)]
pub struct JoinAck {
    /// Queue entry id.
    pub queue_id: Uuid,
    /// Estimate from recent matches.
    pub estimated_wait_s: u64,
}

/// Where a user stands.
#[derive(Debug, Clone)]
pub(crate) struct QueueStatus {
    /// 1-based, by waiting time.
    pub position: usize,
    /// Current window.
    pub rating_range: u32,
    /// Seconds waited.
    pub(crate) waited_s: u64,
}

/// Enqueue.
#[derive(Message)]
#[rtype(result = "Result<JoinAck, GameError>")]
pub struct Join(pub Ticket);

/// Put back a ticket whose match fell through (keeps its waiting time).
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Requeue(pub Ticket);

/// Leave; true if the user was queued here.
#[derive(Message)]
#[rtype(result = "bool")]
pub(crate) struct Leave(pub Uuid);

/// Where is this user.
#[derive(Message)]
#[rtype(result = "Option<QueueStatus>")]
pub(crate) struct Status(pub Uuid);

/// The matchmaker of one mode.
pub(crate) struct Matchmaker {
    mode: Mode,
    game: Arc<Game>,
    /// In arrival order (position = index + 1).
    tickets: Vec<Ticket>,
    recent_waits: VecDeque<Duration>,
    /// Queue size last told to the `queue:{mode}` room.
    last_size: Option<usize>,
}

impl Matchmaker {
    /// The pool channel of this mode (spec room strategy: `queue:{mode}`).
    fn room(&self) -> String {
        format!("queue:{}", self.mode.as_str())
    }

    /// A user's sockets enter or leave the pool channel with their ticket.
    fn follow(&self, user: Uuid, inside: bool) {
        let io = &self.game.sio;
        if inside {
            io.join_room(format!("user:{user}"), self.room());
        } else {
            io.leave_room(format!("user:{user}"), self.room());
        }
    }

    /// Starts the actor.
    pub(crate) fn launch(mode: Mode, game: Arc<Game>) -> Addr<Matchmaker> {
        Matchmaker::create(move |ctx| {
            ctx.set_mailbox_capacity(MAILBOX);
            Matchmaker {
                mode,
                game,
                tickets: Vec::new(),
                recent_waits: VecDeque::new(),
                last_size: None,
            }
        })
    }

    fn estimate(&self) -> u64 {
        if self.recent_waits.is_empty() {
            // No history yet: a lone player waits for the next arrival; say so plainly.
            return if self.tickets.is_empty() { 30 } else { 1 };
        }
        let total: Duration = self.recent_waits.iter().sum();
        (total / self.recent_waits.len() as u32).as_secs().max(1)
    }

    fn pass(&mut self, ctx: &mut Context<Self>) {
        let now = Instant::now();
        let mut order: Vec<usize> = (0..self.tickets.len()).collect();
        order.sort_by(|&a, &b| self.tickets[a].rating.total_cmp(&self.tickets[b].rating));
        let mut taken = vec![false; self.tickets.len()];
        let mut pairs = Vec::new();
        for w in 0..order.len().saturating_sub(1) {
            let (i, j) = (order[w], order[w + 1]);
            if taken[i] || taken[j] {
                continue;
            }
            let (a, b) = (&self.tickets[i], &self.tickets[j]);
            let window = a.range(now).max(b.range(now)) as f64;
            if (a.rating - b.rating).abs() <= window {
                taken[i] = true;
                taken[j] = true;
                pairs.push((i, j));
            }
        }
        if !pairs.is_empty() {
            let mut matched = Vec::new();
            let mut rest = Vec::new();
            for (k, t) in self.tickets.drain(..).enumerate() {
                if taken[k] {
                    matched.push((k, t))
                } else {
                    rest.push(t)
                }
            }
            self.tickets = rest;
            for (i, j) in pairs {
                let a = matched
                    .iter()
                    .position(|(k, _)| *k == i)
                    .map(|p| matched[p].1.clone());
                let b = matched
                    .iter()
                    .position(|(k, _)| *k == j)
                    .map(|p| matched[p].1.clone());
                if let (Some(a), Some(b)) = (a, b) {
                    for t in [&a, &b] {
                        self.game.unmirror_ticket(self.mode, t.user);
                        self.recent_waits
                            .push_back(now.saturating_duration_since(t.since));
                        self.follow(t.user, false);
                    }
                    while self.recent_waits.len() > 40 {
                        self.recent_waits.pop_front();
                    }
                    // The older ticket plays as P1.
                    let (p1, p2) = if a.since <= b.since { (a, b) } else { (b, a) };
                    ctx.spawn(self.game.clone().start_match(p1, p2).into_actor(self));
                }
            }
        }
        METRICS
            .queue_size
            .with_label_values(&[self.mode.as_str()])
            .set(self.tickets.len() as i64);
        if self.last_size != Some(self.tickets.len()) {
            self.last_size = Some(self.tickets.len());
            self.game.sio.to_room(
                self.room(),
                Vec::new(),
                "queue:size",
                json!({ "mode": self.mode.as_str(), "waiting": self.tickets.len() }),
            );
        }
        let io = self.game.sio.clone();
        for (pos, t) in self.tickets.iter_mut().enumerate() {
            let now_state = (pos + 1, t.range(now));
            if t.last_sent != Some(now_state) {
                t.last_sent = Some(now_state);
                io.to_user(t.user,
                    "queue:updated",
                    json!({
                        "mode": self.mode.as_str(), "position": now_state.0, "rating_range": now_state.1,
                    }),
                );
            }
        }
    }
}

impl Actor for Matchmaker {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(PASS_EVERY, |mm, ctx| mm.pass(ctx));
    }
}

impl Handler<Join> for Matchmaker {
    type Result = Result<JoinAck, GameError>;

    #[tracing::instrument(skip_all, fields(user = %msg.0.user))]
    fn handle(&mut self, msg: Join, ctx: &mut Context<Self>) -> Self::Result {
        let t = msg.0;
        if self.tickets.iter().any(|x| x.user == t.user) {
            return Err(GameError::AlreadyInQueue);
        }
        // `queued` is the cross-mode guard: one queue per user.
        match self.game.queued.entry(t.user) {
            dashmap::Entry::Occupied(_) => return Err(GameError::AlreadyInQueue),
            dashmap::Entry::Vacant(v) => {
                v.insert(self.mode);
            }
        }
        let ack = JoinAck {
            queue_id: t.queue_id,
            estimated_wait_s: self.estimate(),
        };
        self.follow(t.user, true);
        self.game.mirror_ticket(&t);
        self.tickets.push(t);
        self.pass(ctx);
        Ok(ack)
    }
}

impl Handler<Requeue> for Matchmaker {
    type Result = ();

    fn handle(&mut self, msg: Requeue, _: &mut Context<Self>) {
        self.game.queued.insert(msg.0.user, self.mode);
        let mut t = msg.0;
        t.last_sent = None;
        self.follow(t.user, true);
        self.game.mirror_ticket(&t);
        self.tickets.push(t);
    }
}

impl Handler<Leave> for Matchmaker {
    type Result = bool;

    #[tracing::instrument(skip_all, fields(user = %msg.0))]
    fn handle(&mut self, msg: Leave, _: &mut Context<Self>) -> bool {
        let before = self.tickets.len();
        self.tickets.retain(|t| t.user != msg.0);
        let left = self.tickets.len() != before;
        if left {
            self.game.unmirror_ticket(self.mode, msg.0);
            self.follow(msg.0, false);
            self.game.queued.remove(&msg.0);
            METRICS
                .queue_size
                .with_label_values(&[self.mode.as_str()])
                .set(self.tickets.len() as i64);
        }
        left
    }
}

impl Handler<Status> for Matchmaker {
    type Result = Option<QueueStatus>;

    fn handle(&mut self, msg: Status, _: &mut Context<Self>) -> Option<QueueStatus> {
        let now = Instant::now();
        self.tickets.iter().position(|t| t.user == msg.0).map(|p| {
            let t = &self.tickets[p];
            QueueStatus {
                position: p + 1,
                rating_range: t.range(now),
                waited_s: now.saturating_duration_since(t.since).as_secs(),
            }
        })
    }
}

/// Multi-node: this node became the mode's matcher; these tickets were waiting in Redis.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Adopt(pub Vec<Ticket>);

impl Handler<Adopt> for Matchmaker {
    type Result = ();

    fn handle(&mut self, msg: Adopt, _: &mut Context<Self>) {
        for t in msg.0 {
            if self.tickets.iter().any(|x| x.user == t.user) {
                continue;
            }
            self.game.queued.insert(t.user, self.mode);
            self.follow(t.user, true);
            self.tickets.push(t);
        }
        self.tickets.sort_by_key(|t| t.since);
    }
}

/// Multi-node: this node is no longer the mode's matcher; its tickets stay in Redis for the
/// node that is.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Drain;

impl Handler<Drain> for Matchmaker {
    type Result = ();

    fn handle(&mut self, _: Drain, _: &mut Context<Self>) {
        for t in self.tickets.drain(..) {
            self.game.queued.remove(&t.user);
        }
        self.last_size = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{ai, catalog::ROBOTS};

    fn ticket(rating: f64) -> Ticket {
        let fighter = Fighter::new(&ROBOTS[0], ai::default_tree());
        Ticket::new(
            Uuid::new_v4(),
            Mode::Ranked,
            rating,
            0,
            fighter,
            None,
            serde_json::Value::Null,
        )
    }

    #[test]
    fn window_widens_on_its_documented_schedule() {
        let t = ticket(1500.0);
        let at = |s: u64| t.range(t.since + Duration::from_secs(s));
        assert_eq!(at(0), BASE_RANGE);
        assert_eq!(at(4), BASE_RANGE);
        assert_eq!(at(5), BASE_RANGE + RANGE_STEP);
        assert_eq!(at(12), BASE_RANGE + 2 * RANGE_STEP);
        assert_eq!(at(10_000), MAX_RANGE);
        // Monotone: waiting never narrows a window.
        let mut last = 0;
        for s in 0..200 {
            assert!(at(s) >= last);
            last = at(s);
        }
    }
}
