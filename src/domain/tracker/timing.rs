//! The turn clock as seen by the battle: time left, time banks (chess-clock mode), timeouts
//! and restart recovery.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use uuid::Uuid;

use super::{ChessClock, Phase, Status, TimeoutReason, TrackerBattle, TrackerEvent, TurnView};

/// Whole seconds, rounded up (`ms` is never negative here).
fn ceil_s(ms: i64) -> i64 {
    ms.saturating_add(999) / 1000
}

impl TrackerBattle {
    pub(super) fn turn_view(&self, now_ms: i64) -> TurnView {
        TurnView {
            player_id: self.current_player_id(),
            phase: self.current_phase(),
            time_remaining: self.time_remaining_s(now_ms),
        }
    }

    /// A `timer_update` event for now.
    pub(crate) fn timer_event(&self, now_ms: i64) -> TrackerEvent {
        TrackerEvent::TimerUpdate {
            current_turn: self.turn_view(now_ms),
            banks: self.banks_s(now_ms),
            timestamp: now_ms,
        }
    }

    /// The user whose turn it is (`None` only for corrupt stored data).
    pub(crate) fn current_player_id(&self) -> Option<Uuid> {
        self.players.get(self.turn.player).map(|p| p.user_id)
    }

    /// The current phase (`None` only for corrupt stored data).
    pub(crate) fn current_phase(&self) -> Option<Phase> {
        self.phases.get(self.turn.phase).copied()
    }

    /// The budget the turn clock counts down from: `turn_time_limit`, or in chess-clock mode
    /// the current player's remaining bank.
    pub(super) fn limit_ms(&self) -> i64 {
        match &self.chess_clock {
            Some(c) => c.bank(self.turn.player),
            None => i64::from(self.turn_time_limit).saturating_mul(1000),
        }
    }

    /// Seconds left in the current turn (never negative; in chess-clock mode, the bank).
    /// Rounded up, as countdowns are: a tick that lands a few ms late still shows the second
    /// it belongs to, and 0 means the time is really out.
    pub(crate) fn time_remaining_s(&self, now_ms: i64) -> i64 {
        if self.chess_clock.is_some() {
            return ceil_s(self.live_bank_ms(self.turn.player, now_ms));
        }
        ceil_s(self.clock.remaining_ms(self.limit_ms(), now_ms))
    }

    /// Chess-clock mode: `player`'s bank right now. Only the turn being played draws on it;
    /// a finished turn (including the final one) was already charged, so it is not counted twice.
    fn live_bank_ms(&self, player: usize, now_ms: i64) -> i64 {
        let bank = self.chess_clock.as_ref().map_or(0, |c| c.bank(player));
        let playing = self.status == Status::InProgress
            && player == self.turn.player
            && !self.final_turn_played();
        if playing {
            self.clock.remaining_ms(bank, now_ms)
        } else {
            bank
        }
    }

    /// Chess-clock mode: each player's live bank in seconds, by user id.
    pub(crate) fn banks_s(&self, now_ms: i64) -> Option<BTreeMap<Uuid, i64>> {
        self.chess_clock.as_ref()?;
        Some(
            self.players
                .iter()
                .enumerate()
                .map(|(i, p)| (p.user_id, ceil_s(self.live_bank_ms(i, now_ms))))
                .collect(),
        )
    }

    /// The battle JSON's `clock` object: `{"mode":"turn"}`, or in chess-clock mode the starting
    /// bank, each player's live bank and the time booked to each phase (booked at every phase
    /// change and turn end).
    pub(crate) fn clock_json(&self, now_ms: i64) -> Value {
        let Some(c) = &self.chess_clock else {
            return json!({"mode": "turn"});
        };
        let players: Vec<Value> = self
            .players
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let phases: BTreeMap<&str, i64> = c
                    .spent_ms
                    .get(i)
                    .into_iter()
                    .flatten()
                    .map(|(ph, ms)| (ph.as_str(), *ms))
                    .collect();
                json!({
                    "player_id": p.user_id,
                    "bank_remaining": ceil_s(self.live_bank_ms(i, now_ms)),
                    "phase_time_ms": phases,
                })
            })
            .collect();
        json!({"mode": "chess", "bank_s": c.initial_ms / 1000, "players": players})
    }

    /// Enables chess-clock mode with `bank_s` seconds per player (only before `start`).
    pub(crate) fn with_chess_clock(mut self, bank_s: u32) -> Self {
        if self.status == Status::Setup {
            self.chess_clock = Some(ChessClock::new(bank_s));
        }
        self
    }

    /// Chess-clock mode: books the time since the last phase boundary to the current phase.
    pub(super) fn book_phase_time(&mut self, now_ms: i64) {
        let spent = self.clock.take_phase_time(now_ms);
        let (player, phase) = (self.turn.player, self.current_phase());
        if let (Some(c), Some(phase)) = (self.chess_clock.as_mut(), phase) {
            c.record_phase(player, phase, spent);
        }
    }

    /// Chess-clock mode: books the phase and charges the finished turn to the player's bank.
    pub(super) fn book_turn_time(&mut self, now_ms: i64) {
        self.book_phase_time(now_ms);
        let used = self.clock.used(now_ms);
        let player = self.turn.player;
        if let Some(c) = self.chess_clock.as_mut() {
            c.charge_turn(player, used);
        }
    }

    /// Once per turn, when its time runs out: a `turn_timeout` (and, if the battle says so, the
    /// turn ends by itself).
    pub(crate) fn check_timeout(&mut self, now_ms: i64) -> Vec<TrackerEvent> {
        if self.status != Status::InProgress || self.clock.timeout_emitted || self.clock.is_paused()
        {
            return Vec::new();
        }
        if self.clock.remaining_ms(self.limit_ms(), now_ms) > 0 {
            return Vec::new();
        }
        self.clock.timeout_emitted = true;
        let reason = if self.chess_clock.is_some() {
            TimeoutReason::BankExhausted
        } else {
            TimeoutReason::TurnTimeLimit
        };
        let mut out = vec![TrackerEvent::TurnTimeout {
            current_turn: self.turn_view(now_ms),
            reason,
            timestamp: now_ms,
        }];
        if self.auto_end_turn_on_timeout {
            out.extend(self.end_turn(now_ms).unwrap_or_default());
        }
        out
    }

    /// After a restart: the downtime does not count against the turn.
    pub(crate) fn resume_after_restart(&mut self, down_since_ms: i64, now_ms: i64) {
        if self.status == Status::InProgress && !self.clock.is_paused() {
            self.clock.pause(down_since_ms.min(now_ms));
            self.clock.resume(now_ms);
        }
    }
}
