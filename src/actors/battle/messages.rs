//! Messages a battle actor answers: joins (with catch-up), ready, emotes, live summary.

use actix::prelude::*;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use socketioxide::extract::SocketRef;
use uuid::Uuid;

use super::BattleActor;

/// A socket joins the battle room (player or spectator). It first gets one
/// `battle:tick_batch` with every tick after `since_tick` (all of them when absent), then
/// live ticks: the join and the batch happen between two ticks, so nothing is missed or
/// repeated. A socket that joins again while still in the room gets only the ticks after
/// `since_tick` it was never sent (none, without `since_tick`): joins cannot amplify.
#[derive(Message)]
#[rtype(result = "()")]
pub struct JoinRoom {
    /// The socket.
    pub socket: SocketRef,
    /// Last tick the client already has.
    pub since_tick: Option<u32>,
}

impl Handler<JoinRoom> for BattleActor {
    type Result = ();

    #[tracing::instrument(skip_all, fields(battle = %self.id))]
    fn handle(&mut self, msg: JoinRoom, _: &mut Context<Self>) {
        let sid = msg.socket.id;
        let asked = (msg.since_tick.unwrap_or(0) as usize).min(self.ticks.len());
        let in_room = msg.socket.rooms().iter().any(|r| *r == self.room);
        let range = match self.sent_from.get(&sid) {
            Some(&from) if in_room => asked.min(from)..from,
            _ => asked..self.ticks.len(),
        };
        self.sent_from.insert(sid, range.start);
        msg.socket.join(self.room.clone());
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
        let _ = msg.socket.emit("battle:tick_batch", &batch);
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

/// Summary for `GET /battles/live`.
#[derive(Message)]
#[rtype(result = "Value")]
pub struct LiveSummary;

impl Handler<LiveSummary> for BattleActor {
    type Result = MessageResult<LiveSummary>;

    fn handle(&mut self, _: LiveSummary, _: &mut Context<Self>) -> Self::Result {
        MessageResult(json!({
            "id": self.id, "mode": self.record.mode, "biome": self.record.inputs.biome,
            "player1": self.record.p1.snapshot, "player2": self.record.p2.snapshot,
            "status": self.phase.as_str(),
            "tick": self.engine.tick(), "gmo_wagered": self.record.wager,
        }))
    }
}
