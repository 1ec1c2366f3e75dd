//! Messages a battle actor answers: joins (with catch-up) and leaves, ready, emotes, live
//! summary. Transports send them through `Game::battle_call` (`call.rs`).

use actix::prelude::*;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use socketioxide::socket::Sid;
use uuid::Uuid;

use super::BattleActor;

/// A socket joins the battle room (player or spectator). It first gets one
/// `battle:tick_batch` with every tick after `since_tick` (all of them when absent), then
/// live ticks: the join and the batch happen between two ticks, so nothing is missed or
/// repeated. A socket that joins again while still in the room gets only the ticks after
/// `since_tick` it was never sent (none, without `since_tick`): joins cannot amplify.
///
/// The socket may live on another node: the actor reaches it through its room `sid:{sid}`,
/// joining it to the battle room first and sending the batch second; `Rooms` keeps that
/// order (with the Redis adapter both go over the same channel).
#[derive(Message)]
#[rtype(result = "()")]
pub struct JoinRoom {
    /// The socket.
    pub sid: Sid,
    /// Last tick the client already has.
    pub since_tick: Option<u32>,
}

impl Handler<JoinRoom> for BattleActor {
    type Result = ();

    #[tracing::instrument(skip_all, fields(battle = %self.id))]
    fn handle(&mut self, msg: JoinRoom, _: &mut Context<Self>) {
        let sid = msg.sid;
        let asked = (msg.since_tick.unwrap_or(0) as usize).min(self.ticks.len());
        // An entry means the socket is still in the room: `LeaveRoom` removes it.
        let range = match self.sent_from.get(&sid) {
            Some(&from) => asked.min(from)..from,
            None => asked..self.ticks.len(),
        };
        tracing::debug!(%sid, from = range.start, to = range.end, "socket joins the battle room");
        self.sent_from.insert(sid, range.start);
        let target = format!("sid:{sid}");
        self.game.sio.join_room(target.clone(), self.room.clone());
        // Joining during the countdown: how long until the first tick (watch pages count it).
        let countdown_ms = match (self.ticks.is_empty(), self.countdown_ends) {
            (true, Some(ends)) => {
                let left = ends.saturating_duration_since(std::time::Instant::now());
                Some(left.as_millis() as u64)
            }
            _ => None,
        };
        let batch = TickBatch {
            battle_id: self.id,
            ticks: &self.ticks[range],
            phase: self.phase.as_str(),
            countdown_ms,
        };
        match serde_json::value::to_raw_value(&batch) {
            Ok(raw) => self.game.sio.to_room_raw(target, "battle:tick_batch", raw),
            Err(e) => tracing::error!(error = %e, "tick batch not serialised"),
        }
    }
}

/// A socket leaves the battle room; a later join catches it up afresh.
#[derive(Message)]
#[rtype(result = "()")]
pub struct LeaveRoom {
    /// The socket.
    pub sid: Sid,
}

impl Handler<LeaveRoom> for BattleActor {
    type Result = ();

    #[tracing::instrument(skip_all, fields(battle = %self.id))]
    fn handle(&mut self, msg: LeaveRoom, _: &mut Context<Self>) {
        self.sent_from.remove(&msg.sid);
        self.game
            .sio
            .leave_room(format!("sid:{}", msg.sid), self.room.clone());
    }
}

/// `battle:tick_batch`: the stored ticks' bytes as they are, one `battle_id` for them all.
#[derive(Serialize)]
struct TickBatch<'a> {
    battle_id: Uuid,
    ticks: &'a [Box<RawValue>],
    phase: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    countdown_ms: Option<u64>,
}

/// `battle:ready` from a player.
#[derive(Message)]
#[rtype(result = "Result<(), &'static str>")]
pub struct Ready(pub Uuid);

impl Handler<Ready> for BattleActor {
    type Result = Result<(), &'static str>;

    #[tracing::instrument(skip_all, fields(battle = %self.id))]
    fn handle(&mut self, msg: Ready, ctx: &mut Context<Self>) -> Self::Result {
        let (p1, p2) = self.players();
        let side = if msg.0 == p1 {
            0
        } else if msg.0 == p2 {
            1
        } else {
            return Err("only the battle's players can be ready");
        };
        self.ready[side] = true;
        if self.ready == [true, true] {
            self.begin(ctx);
        }
        Ok(())
    }
}

/// `battle:emote` from a player.
#[derive(Message)]
#[rtype(result = "Result<(), &'static str>")]
pub struct Emote {
    /// Sender.
    pub user: Uuid,
    /// Emote id (validated by the caller).
    pub emote_id: String,
}

impl Handler<Emote> for BattleActor {
    type Result = Result<(), &'static str>;

    #[tracing::instrument(skip_all, fields(battle = %self.id))]
    fn handle(&mut self, msg: Emote, _: &mut Context<Self>) -> Self::Result {
        let (p1, p2) = self.players();
        if msg.user != p1 && msg.user != p2 {
            return Err("only the battle's players can emote");
        }
        self.game.sio.to_room(
            self.room.clone(),
            Vec::new(),
            "battle:emote_received",
            json!({ "battle_id": self.id, "from_player": msg.user, "emote_id": msg.emote_id }),
        );
        Ok(())
    }
}

/// Summary for `GET /battles/live`, as JSON text: written once from the actor's own fields
/// (`json!` would copy both player snapshots into a new tree for every request).
#[derive(Message)]
#[rtype(result = "Option<Box<RawValue>>")]
pub struct LiveSummary;

/// The summary's fields, in the order `json!` gave them (alphabetical).
#[derive(Serialize)]
struct LiveRow<'a> {
    biome: &'a crate::sim::catalog::Biome,
    gmo_wagered: i64,
    id: Uuid,
    mode: &'a str,
    player1: &'a Value,
    player2: &'a Value,
    status: &'static str,
    tick: u32,
}

impl Handler<LiveSummary> for BattleActor {
    type Result = MessageResult<LiveSummary>;

    fn handle(&mut self, _: LiveSummary, _: &mut Context<Self>) -> Self::Result {
        MessageResult(
            serde_json::value::to_raw_value(&LiveRow {
                biome: &self.record.inputs.biome,
                gmo_wagered: self.record.wager,
                id: self.id,
                mode: &self.record.mode,
                player1: &self.record.p1.snapshot,
                player2: &self.record.p2.snapshot,
                status: self.phase.as_str(),
                tick: self.engine.tick(),
            })
            .ok(),
        )
    }
}
