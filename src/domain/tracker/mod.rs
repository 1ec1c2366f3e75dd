//! The tabletop battle state machine: status, rounds, turns, phases, scores, command points,
//! stratagems and the turn clock. Pure: every call that needs "now" takes `now_ms` (unix ms);
//! the server formats times as RFC 3339 through the `rfc3339` callbacks of `to_api`/`to_json`.
//!
//! Rules (documented choices):
//! - Status: `setup` → `in_progress` (`start`) → `completed` (`complete`) or `cancelled`
//!   (`cancel`, from setup or in progress). Anything else is `InvalidState` (409).
//! - Scores: `victory_points` is always primary + secondary + linchpin + challenge. A patch sets
//!   the components it names; a `victory_points` sent without `primary` sets the total and
//!   `primary` absorbs the difference (refused if the other components already exceed it); sent
//!   with `primary` it must agree with the sum. Each value is 0..=1000.
//! - Turns: `players[0]` goes first every round. `end_turn` hands over; after both turns the
//!   round advances. After the last turn of `max_rounds` the clock stops and only `complete`
//!   or `cancel` remain. `advance_round` skips to the next round's first turn, never past
//!   `max_rounds`.
//! - Command points: both players gain 1 CP at the start of every command phase (10th edition),
//!   CP stay within 0..=99; a stratagem costing more than the CP held is refused.
//! - Clock: `turn_time_limit` per turn, counting only while not paused; a `timer_update` follows
//!   every phase change; `turn_timeout` once per turn, ending the turn only if `auto_end_turn_on_timeout`. Optional chess-clock mode
//!   ([`ChessClock`]): a time bank per player and time per phase (extension beyond the spec).

mod chess;
mod clock;
mod consent;
mod events;
mod model;
#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;
mod timing;

pub use chess::ChessClock;
pub use clock::Clock;
pub use consent::{Consent, ConsentAction, Dispute};
pub use events::{TimeoutReason, TrackerEvent, TurnView};
pub use model::*;

/// A battle's list of stratagems used stays bounded: a 40K battle sees a few dozen; free
/// (0 CP) stratagems would otherwise let one client grow the stored battle without end.
pub(crate) const MAX_STRATAGEMS_PER_PLAYER: usize = 200;

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

    /// Applies a PATCH action at `now_ms`. All-or-nothing: on `Err` the battle is unchanged.
    /// Who may act (players, organizer, admin) is the server's check, so no actor is taken here.
    pub fn apply(
        &mut self,
        action: Action,
        now_ms: i64,
    ) -> Result<Vec<TrackerEvent>, TrackerError> {
        self.apply_as(action, None, now_ms)
    }

    /// [`Self::apply`] on behalf of `actor`: a `use_stratagem` without `player_id` is charged to
    /// the actor when the actor is one of the players (stratagems such as Fire Overwatch are used
    /// in the opponent's turn), otherwise to the player whose turn it is.
    pub(crate) fn apply_as(
        &mut self,
        action: Action,
        actor: Option<Uuid>,
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
                out.push(TrackerEvent::ScoreUpdate {
                    player_id,
                    scores: self.players[i].scores,
                    timestamp: now_ms,
                });
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
                out.push(TrackerEvent::BattleStarted {
                    current_turn: self.turn_view(now_ms),
                    timestamp: now_ms,
                });
            }
            Action::NextPhase => {
                self.require(self.status == InProgress, "change phase")?;
                if self.turn.phase.saturating_add(1) >= self.phases.len() {
                    return Err(invalid("phase", "already in the last phase; use end_turn"));
                }
                self.book_phase_time(now_ms);
                self.turn.phase += 1;
                out.push(TrackerEvent::PhaseChange {
                    current_turn: self.turn_view(now_ms),
                    timestamp: now_ms,
                });
                // Displays show the clock with the new phase at once, not at the next tick.
                out.push(self.timer_event(now_ms));
            }
            Action::SetPhase { phase } => {
                self.require(self.status == InProgress, "change phase")?;
                let idx = self
                    .phases
                    .iter()
                    .position(|p| *p == phase)
                    .ok_or_else(|| invalid("phase", "phase not used in this battle"))?;
                self.book_phase_time(now_ms);
                self.turn.phase = idx;
                out.push(TrackerEvent::PhaseChange {
                    current_turn: self.turn_view(now_ms),
                    timestamp: now_ms,
                });
                out.push(self.timer_event(now_ms));
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
                    None => actor
                        .and_then(|a| self.players.iter().position(|p| p.user_id == a))
                        .unwrap_or(self.turn.player),
                };
                let name = name.trim().to_string();
                if name.is_empty() || name.len() > 100 {
                    return Err(invalid("name", "1 to 100 characters"));
                }
                if !(0..=10).contains(&cp_cost) {
                    return Err(invalid("cp_cost", "must be 0 to 10"));
                }
                if self.players[i].stratagems_used.len() >= MAX_STRATAGEMS_PER_PLAYER {
                    return Err(invalid(
                        "name",
                        format!(
                            "at most {MAX_STRATAGEMS_PER_PLAYER} stratagems per player in a battle"
                        ),
                    ));
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
                out.push(TrackerEvent::StratagemUsed {
                    player_id: self.players[i].user_id,
                    name,
                    cp_cost,
                    command_points: self.players[i].command_points,
                    timestamp: now_ms,
                });
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
                out.push(TrackerEvent::CommandPointsChanged {
                    player_id,
                    command_points: next,
                    timestamp: now_ms,
                });
            }
            Action::Pause => {
                self.require(
                    self.status == InProgress && !self.clock.is_paused(),
                    "pause",
                )?;
                self.clock.pause(now_ms);
                out.push(TrackerEvent::BattlePaused {
                    current_turn: self.turn_view(now_ms),
                    timestamp: now_ms,
                });
            }
            Action::Resume => {
                self.require(
                    self.status == InProgress
                        && self.clock.is_paused()
                        && !self.final_turn_played(),
                    "resume",
                )?;
                self.clock.resume(now_ms);
                out.push(TrackerEvent::BattleResumed {
                    current_turn: self.turn_view(now_ms),
                    timestamp: now_ms,
                });
            }
            Action::Cancel => {
                self.require(matches!(self.status, Setup | InProgress), "cancel")?;
                if self.status == InProgress {
                    self.book_turn_time(now_ms);
                }
                self.status = Cancelled;
                self.clock.pause(now_ms);
                self.completed_at = Some(now_ms);
                out.push(TrackerEvent::BattleCancelled { timestamp: now_ms });
            }
        }
        self.updated_at = now_ms;
        Ok(out)
    }

    /// Both players gain 1 CP at the start of each command phase (10th edition).
    fn command_phase_cp(&mut self) {
        for p in &mut self.players {
            p.command_points = p.command_points.saturating_add(1).clamp(0, 99);
        }
    }

    fn end_turn(&mut self, now_ms: i64) -> Result<Vec<TrackerEvent>, TrackerError> {
        let mut out = Vec::new();
        if self.final_turn_played() {
            return Err(TrackerError::InvalidState(
                "the final turn was played; complete the battle".into(),
            ));
        }
        self.book_turn_time(now_ms);
        self.turn.played_in_round = self.turn.played_in_round.saturating_add(1);
        if self.turn.played_in_round >= 2 {
            if self.current_round >= self.max_rounds {
                // Last turn of the last round: the clock stops; completion is explicit.
                self.clock.pause(now_ms);
                out.push(TrackerEvent::TurnChange {
                    current_turn: None,
                    final_turn_played: true,
                    timestamp: now_ms,
                });
                return Ok(out);
            }
            self.current_round += 1;
            self.turn.played_in_round = 0;
            out.push(TrackerEvent::RoundAdvance {
                current_round: self.current_round,
                timestamp: now_ms,
            });
        }
        self.turn.player = (self.turn.player + 1) % 2;
        self.turn.phase = 0;
        self.clock = Clock::started_like(&self.clock, now_ms);
        self.command_phase_cp();
        out.push(TrackerEvent::TurnChange {
            current_turn: Some(self.turn_view(now_ms)),
            final_turn_played: false,
            timestamp: now_ms,
        });
        Ok(out)
    }

    /// Both players have played their turn in the last round; only `complete` (or `cancel`)
    /// is left.
    pub(crate) fn final_turn_played(&self) -> bool {
        self.status == Status::InProgress
            && self.current_round >= self.max_rounds
            && self.turn.played_in_round >= 2
    }

    /// `POST /advance-round`: next round, first player's turn, bounded by `max_rounds`.
    pub(crate) fn advance_round(&mut self, now_ms: i64) -> Result<Vec<TrackerEvent>, TrackerError> {
        self.require(self.status == Status::InProgress, "advance the round")?;
        if self.current_round >= self.max_rounds {
            return Err(TrackerError::InvalidState(format!(
                "already at max_rounds ({})",
                self.max_rounds
            )));
        }
        self.book_turn_time(now_ms);
        self.current_round += 1;
        self.turn = Turn {
            player: 0,
            phase: 0,
            played_in_round: 0,
        };
        self.clock = Clock::started_like(&self.clock, now_ms);
        self.command_phase_cp();
        self.updated_at = now_ms;
        Ok(vec![TrackerEvent::RoundAdvance {
            current_round: self.current_round,
            timestamp: now_ms,
        }])
    }

    /// `POST /complete`: final scores, winner (from VP when absent; equal VP is a draw).
    pub fn complete(
        &mut self,
        req: Complete,
        now_ms: i64,
    ) -> Result<Vec<TrackerEvent>, TrackerError> {
        // A result is played for: a battle that never started has none (a creator could
        // otherwise enter a result for a stranger straight from setup).
        self.require(self.status == Status::InProgress, "complete")?;
        // Scores are patched on a copy so a bad entry leaves the battle untouched.
        let mut scores = [self.players[0].scores, self.players[1].scores];
        for (uid, patch) in &req.final_scores {
            let i = self.player_index(*uid)?;
            scores[i]
                .apply(patch)
                .map_err(|m| invalid("final_scores", m))?;
        }
        let winner = match req.winner_id {
            Some(w) => Some(self.players[self.player_index(w)?].user_id),
            None => {
                let (a, b) = (scores[0].victory_points, scores[1].victory_points);
                match a.cmp(&b) {
                    std::cmp::Ordering::Greater => Some(self.players[0].user_id),
                    std::cmp::Ordering::Less => Some(self.players[1].user_id),
                    std::cmp::Ordering::Equal => None,
                }
            }
        };
        if self.status == Status::InProgress && !self.final_turn_played() {
            self.book_turn_time(now_ms);
        }
        self.players[0].scores = scores[0];
        self.players[1].scores = scores[1];
        self.status = Status::Completed;
        self.winner_id = winner;
        self.clock.pause(now_ms);
        self.completed_at = Some(now_ms);
        self.updated_at = now_ms;
        Ok(vec![TrackerEvent::BattleCompleted {
            winner_id: winner,
            final_scores: self.players.iter().map(|p| (p.user_id, p.scores)).collect(),
            timestamp: now_ms,
        }])
    }
}
