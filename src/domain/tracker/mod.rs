//! The tabletop battle state machine: status, rounds, turns, phases, scores, command points,
//! stratagems and the turn clock. Pure: every call that needs "now" takes `now_ms`.

mod clock;
mod model;
#[cfg(test)]
mod tests;

pub use clock::Clock;
pub use model::*;

use serde_json::{json, Value};
use uuid::Uuid;

/// Why an action was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrackerError {
    /// Not allowed in the battle's current status (409 `INVALID_BATTLE_STATE`).
    #[error("{0}")]
    InvalidState(String),
    /// Bad input (422 `VALIDATION_ERROR`).
    #[error("{field}: {message}")]
    Validation {
        /// Field.
        field: &'static str,
        /// Why.
        message: String,
    },
}

fn invalid(field: &'static str, message: impl Into<String>) -> TrackerError {
    TrackerError::Validation {
        field,
        message: message.into(),
    }
}

/// An event for table displays, shaped as the spec's WebSocket messages.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackerEvent {
    /// `score_update`, `round_advance`, `timer_update`, `phase_change`, `turn_change`,
    /// `turn_timeout`, `battle_started`, `battle_paused`, `battle_resumed`, `battle_completed`,
    /// `battle_cancelled`, `stratagem_used`, `command_points_changed`.
    pub kind: &'static str,
    /// Extra fields.
    pub fields: Value,
    /// When (unix ms).
    pub at_ms: i64,
}

impl TrackerEvent {
    /// The WebSocket JSON, `{type, battle_id, ..., timestamp}`.
    pub fn to_json(&self, battle_id: Uuid, rfc3339: impl Fn(i64) -> String) -> Value {
        let mut v =
            json!({ "type": self.kind, "battle_id": battle_id, "timestamp": rfc3339(self.at_ms) });
        if let (Some(obj), Some(extra)) = (v.as_object_mut(), self.fields.as_object()) {
            for (k, x) in extra {
                obj.insert(k.clone(), x.clone());
            }
        }
        v
    }
}

impl TrackerBattle {
    fn require(&self, ok: bool, what: &str) -> Result<(), TrackerError> {
        if ok {
            Ok(())
        } else {
            Err(TrackerError::InvalidState(format!(
                "cannot {what} while battle is {}",
                self.status.as_str()
            )))
        }
    }

    fn player_index(&self, id: Uuid) -> Result<usize, TrackerError> {
        self.players
            .iter()
            .position(|p| p.user_id == id)
            .ok_or_else(|| invalid("player_id", "not a player of this battle"))
    }

    fn ev(&self, kind: &'static str, fields: Value, now_ms: i64) -> TrackerEvent {
        TrackerEvent {
            kind,
            fields,
            at_ms: now_ms,
        }
    }

    fn timer_fields(&self, now_ms: i64) -> Value {
        json!({ "current_turn": {
            "player_id": self.players[self.turn.player].user_id,
            "phase": self.phases[self.turn.phase].as_str(),
            "time_remaining": self.time_remaining_s(now_ms),
        }})
    }

    /// A `timer_update` event for now.
    pub fn timer_event(&self, now_ms: i64) -> TrackerEvent {
        self.ev("timer_update", self.timer_fields(now_ms), now_ms)
    }

    /// Seconds left in the current turn (never negative).
    pub fn time_remaining_s(&self, now_ms: i64) -> i64 {
        self.clock
            .remaining_ms(self.turn_time_limit as i64 * 1000, now_ms)
            / 1000
    }

    /// Applies a PATCH action by `actor` at `now_ms`.
    pub fn apply(
        &mut self,
        action: Action,
        now_ms: i64,
    ) -> Result<Vec<TrackerEvent>, TrackerError> {
        use Status::*;
        let mut out = Vec::new();
        match action {
            Action::UpdateScores { player_id, scores } => {
                self.require(matches!(self.status, Setup | InProgress), "update scores")?;
                let i = self.player_index(player_id)?;
                self.players[i]
                    .scores
                    .apply(&scores)
                    .map_err(|m| invalid("scores", m))?;
                out.push(self.ev(
                    "score_update",
                    json!({"player_id": player_id, "scores": self.players[i].scores}),
                    now_ms,
                ));
            }
            Action::Start => {
                self.require(self.status == Setup, "start")?;
                self.status = InProgress;
                self.current_round = 1;
                self.turn = Turn {
                    player: 0,
                    phase: 0,
                    played_in_round: 0,
                };
                self.clock = Clock::started(now_ms);
                self.command_phase_cp();
                out.push(self.ev("battle_started", self.timer_fields(now_ms), now_ms));
            }
            Action::NextPhase => {
                self.require(self.status == InProgress, "change phase")?;
                if self.turn.phase + 1 >= self.phases.len() {
                    return Err(invalid("phase", "already in the last phase; use end_turn"));
                }
                self.turn.phase += 1;
                out.push(self.ev("phase_change", self.timer_fields(now_ms), now_ms));
            }
            Action::SetPhase { phase } => {
                self.require(self.status == InProgress, "change phase")?;
                let idx = self
                    .phases
                    .iter()
                    .position(|p| *p == phase)
                    .ok_or_else(|| invalid("phase", "phase not used in this battle"))?;
                self.turn.phase = idx;
                out.push(self.ev("phase_change", self.timer_fields(now_ms), now_ms));
            }
            Action::EndTurn => {
                self.require(self.status == InProgress, "end turn")?;
                out.extend(self.end_turn(now_ms)?);
            }
            Action::UseStratagem {
                player_id,
                name,
                cp_cost,
            } => {
                self.require(self.status == InProgress, "use a stratagem")?;
                let i = match player_id {
                    Some(p) => self.player_index(p)?,
                    None => self.turn.player,
                };
                let name = name.trim().to_string();
                if name.is_empty() || name.len() > 100 {
                    return Err(invalid("name", "1 to 100 characters"));
                }
                if !(0..=10).contains(&cp_cost) {
                    return Err(invalid("cp_cost", "must be 0 to 10"));
                }
                if self.players[i].command_points < cp_cost {
                    return Err(invalid(
                        "cp_cost",
                        format!(
                            "not enough command points ({} available)",
                            self.players[i].command_points
                        ),
                    ));
                }
                self.players[i].command_points -= cp_cost;
                self.players[i].stratagems_used.push(name.clone());
                out.push(self.ev(
                    "stratagem_used",
                    json!({"player_id": self.players[i].user_id, "name": name, "cp_cost": cp_cost,
                    "command_points": self.players[i].command_points}),
                    now_ms,
                ));
            }
            Action::AdjustCommandPoints { player_id, delta } => {
                self.require(
                    matches!(self.status, Setup | InProgress),
                    "adjust command points",
                )?;
                let i = self.player_index(player_id)?;
                let next = self.players[i]
                    .command_points
                    .checked_add(delta)
                    .filter(|v| (0..=99).contains(v))
                    .ok_or_else(|| invalid("delta", "command points must stay between 0 and 99"))?;
                self.players[i].command_points = next;
                out.push(self.ev(
                    "command_points_changed",
                    json!({"player_id": player_id, "command_points": next}),
                    now_ms,
                ));
            }
            Action::Pause => {
                self.require(
                    self.status == InProgress && !self.clock.is_paused(),
                    "pause",
                )?;
                self.clock.pause(now_ms);
                out.push(self.ev("battle_paused", self.timer_fields(now_ms), now_ms));
            }
            Action::Resume => {
                self.require(
                    self.status == InProgress && self.clock.is_paused(),
                    "resume",
                )?;
                self.clock.resume(now_ms);
                out.push(self.ev("battle_resumed", self.timer_fields(now_ms), now_ms));
            }
            Action::Cancel => {
                self.require(matches!(self.status, Setup | InProgress), "cancel")?;
                self.status = Cancelled;
                self.clock.pause(now_ms);
                self.completed_at = Some(now_ms);
                out.push(self.ev("battle_cancelled", json!({}), now_ms));
            }
        }
        self.updated_at = now_ms;
        Ok(out)
    }

    /// Both players gain 1 CP at the start of each command phase (10th edition).
    fn command_phase_cp(&mut self) {
        for p in &mut self.players {
            p.command_points = (p.command_points + 1).min(99);
        }
    }

    fn end_turn(&mut self, now_ms: i64) -> Result<Vec<TrackerEvent>, TrackerError> {
        let mut out = Vec::new();
        self.turn.played_in_round += 1;
        if self.turn.played_in_round >= 2 {
            if self.current_round >= self.max_rounds {
                // Last turn of the last round: the clock stops; completion is explicit.
                self.clock.pause(now_ms);
                out.push(self.ev("turn_change", json!({"final_turn_played": true}), now_ms));
                return Ok(out);
            }
            self.current_round += 1;
            self.turn.played_in_round = 0;
            out.push(self.ev(
                "round_advance",
                json!({"current_round": self.current_round}),
                now_ms,
            ));
        }
        self.turn.player = 1 - self.turn.player;
        self.turn.phase = 0;
        self.clock = Clock::started_like(&self.clock, now_ms);
        self.command_phase_cp();
        out.push(self.ev("turn_change", self.timer_fields(now_ms), now_ms));
        Ok(out)
    }

    /// `POST /advance-round`: next round, first player's turn, bounded by `max_rounds`.
    pub fn advance_round(&mut self, now_ms: i64) -> Result<Vec<TrackerEvent>, TrackerError> {
        self.require(self.status == Status::InProgress, "advance the round")?;
        if self.current_round >= self.max_rounds {
            return Err(TrackerError::InvalidState(format!(
                "already at max_rounds ({})",
                self.max_rounds
            )));
        }
        self.current_round += 1;
        self.turn = Turn {
            player: 0,
            phase: 0,
            played_in_round: 0,
        };
        self.clock = Clock::started_like(&self.clock, now_ms);
        self.command_phase_cp();
        self.updated_at = now_ms;
        Ok(vec![self.ev(
            "round_advance",
            json!({"current_round": self.current_round}),
            now_ms,
        )])
    }

    /// `POST /complete`: final scores, winner (from VP when absent; equal VP is a draw).
    pub fn complete(
        &mut self,
        req: Complete,
        now_ms: i64,
    ) -> Result<Vec<TrackerEvent>, TrackerError> {
        self.require(
            matches!(self.status, Status::Setup | Status::InProgress),
            "complete",
        )?;
        for (uid, patch) in &req.final_scores {
            let i = self.player_index(*uid)?;
            self.players[i]
                .scores
                .apply(patch)
                .map_err(|m| invalid("final_scores", m))?;
        }
        let winner = match req.winner_id {
            Some(w) => Some(self.players[self.player_index(w)?].user_id),
            None => {
                let (a, b) = (
                    self.players[0].scores.victory_points,
                    self.players[1].scores.victory_points,
                );
                match a.cmp(&b) {
                    std::cmp::Ordering::Greater => Some(self.players[0].user_id),
                    std::cmp::Ordering::Less => Some(self.players[1].user_id),
                    std::cmp::Ordering::Equal => None,
                }
            }
        };
        self.status = Status::Completed;
        self.winner_id = winner;
        self.clock.pause(now_ms);
        self.completed_at = Some(now_ms);
        self.updated_at = now_ms;
        Ok(vec![self.ev("battle_completed", json!({"winner_id": winner,
            "final_scores": {self.players[0].user_id.to_string(): self.players[0].scores, self.players[1].user_id.to_string(): self.players[1].scores}}), now_ms)])
    }

    /// Once per turn, when its time runs out: a `turn_timeout` (and, if the battle says so, the
    /// turn ends by itself).
    pub fn check_timeout(&mut self, now_ms: i64) -> Vec<TrackerEvent> {
        if self.status != Status::InProgress || self.clock.timeout_emitted || self.clock.is_paused()
        {
            return Vec::new();
        }
        if self
            .clock
            .remaining_ms(self.turn_time_limit as i64 * 1000, now_ms)
            > 0
        {
            return Vec::new();
        }
        self.clock.timeout_emitted = true;
        let mut out = vec![self.ev("turn_timeout", self.timer_fields(now_ms), now_ms)];
        if self.auto_end_turn_on_timeout {
            out.extend(self.end_turn(now_ms).unwrap_or_default());
        }
        out
    }

    /// After a restart: the downtime does not count against the turn.
    pub fn resume_after_restart(&mut self, down_since_ms: i64, now_ms: i64) {
        if self.status == Status::InProgress && !self.clock.is_paused() {
            self.clock.pause(down_since_ms.min(now_ms));
            self.clock.resume(now_ms);
        }
    }
}
