//! Events for table displays, shaped as the spec's WebSocket messages.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::{Phase, Scores};

/// The `current_turn` object of `timer_update` (and of the other clock-related events).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TurnView {
    /// Whose turn (`None` only for corrupt stored data).
    pub player_id: Option<Uuid>,
    /// Current phase (`None` only for corrupt stored data).
    pub phase: Option<Phase>,
    /// Seconds left (never negative).
    pub time_remaining: i64,
}

/// Why a `turn_timeout` fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeoutReason {
    /// The turn used up `turn_time_limit`.
    TurnTimeLimit,
    /// Chess-clock mode: the active player's bank is empty.
    BankExhausted,
}

/// One event. Serialized with `"type"` as tag; `timestamp` is unix ms here and
/// [`TrackerEvent::to_json`] turns it into the spec's RFC 3339 string and adds `battle_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TrackerEvent {
    /// A player's scores changed (spec message); `scores` is the full, consistent set.
    ScoreUpdate {
        /// Player.
        player_id: Uuid,
        /// Scores after the update.
        scores: Scores,
        /// Unix ms.
        timestamp: i64,
    },
    /// A new round began (spec message).
    RoundAdvance {
        /// The new round.
        current_round: u32,
        /// Unix ms.
        timestamp: i64,
    },
    /// Periodic clock tick (spec message).
    TimerUpdate {
        /// Turn and time left.
        current_turn: TurnView,
        /// Chess-clock mode only (extension): each player's live bank in seconds, by user id.
        /// Absent otherwise, so a normal battle's message keeps the spec's exact shape.
        #[serde(skip_serializing_if = "Option::is_none")]
        banks: Option<BTreeMap<Uuid, i64>>,
        /// Unix ms.
        timestamp: i64,
    },
    /// The phase changed.
    PhaseChange {
        /// Turn after the change.
        current_turn: TurnView,
        /// Unix ms.
        timestamp: i64,
    },
    /// The turn passed to the other player, or (`final_turn_played`) the last turn ended.
    TurnChange {
        /// The new turn; `None` after the final turn.
        current_turn: Option<TurnView>,
        /// The last turn of the last round was played: only `complete` is left.
        final_turn_played: bool,
        /// Unix ms.
        timestamp: i64,
    },
    /// The turn's time ran out (once per turn).
    TurnTimeout {
        /// The turn that ran out.
        current_turn: TurnView,
        /// Which budget ran out.
        reason: TimeoutReason,
        /// Unix ms.
        timestamp: i64,
    },
    /// setup → in_progress.
    BattleStarted {
        /// The first turn.
        current_turn: TurnView,
        /// Unix ms.
        timestamp: i64,
    },
    /// The clock stopped.
    BattlePaused {
        /// Frozen turn.
        current_turn: TurnView,
        /// Unix ms.
        timestamp: i64,
    },
    /// The clock runs again.
    BattleResumed {
        /// Running turn.
        current_turn: TurnView,
        /// Unix ms.
        timestamp: i64,
    },
    /// The battle is over.
    BattleCompleted {
        /// Winner; `None` is a draw.
        winner_id: Option<Uuid>,
        /// Final scores by user id.
        final_scores: BTreeMap<Uuid, Scores>,
        /// Unix ms.
        timestamp: i64,
    },
    /// A player confirmed the result; `result_confirmed` once no confirmation is missing.
    ResultConfirmed {
        /// Player.
        player_id: Uuid,
        /// Every named player has confirmed.
        result_confirmed: bool,
        /// Unix ms.
        timestamp: i64,
    },
    /// A player disputed a tournament result.
    ResultDisputed {
        /// Player.
        player_id: Uuid,
        /// Why.
        reason: String,
        /// Unix ms.
        timestamp: i64,
    },
    /// The organizer settled a dispute.
    DisputeResolved {
        /// Winner; `None` is a draw.
        winner_id: Option<Uuid>,
        /// Final scores by user id.
        final_scores: BTreeMap<Uuid, Scores>,
        /// Unix ms.
        timestamp: i64,
    },
    /// The battle was abandoned.
    BattleCancelled {
        /// Unix ms.
        timestamp: i64,
    },
    /// A stratagem was used.
    StratagemUsed {
        /// Player who paid.
        player_id: Uuid,
        /// Stratagem name.
        name: String,
        /// CP spent.
        cp_cost: i64,
        /// CP left.
        command_points: i64,
        /// Unix ms.
        timestamp: i64,
    },
    /// CP were adjusted.
    CommandPointsChanged {
        /// Player.
        player_id: Uuid,
        /// CP now.
        command_points: i64,
        /// Unix ms.
        timestamp: i64,
    },
}

impl TrackerEvent {
    /// The wire `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::ScoreUpdate { .. } => "score_update",
            Self::RoundAdvance { .. } => "round_advance",
            Self::TimerUpdate { .. } => "timer_update",
            Self::PhaseChange { .. } => "phase_change",
            Self::TurnChange { .. } => "turn_change",
            Self::TurnTimeout { .. } => "turn_timeout",
            Self::BattleStarted { .. } => "battle_started",
            Self::BattlePaused { .. } => "battle_paused",
            Self::BattleResumed { .. } => "battle_resumed",
            Self::BattleCompleted { .. } => "battle_completed",
            Self::BattleCancelled { .. } => "battle_cancelled",
            Self::ResultConfirmed { .. } => "result_confirmed",
            Self::ResultDisputed { .. } => "result_disputed",
            Self::DisputeResolved { .. } => "dispute_resolved",
            Self::StratagemUsed { .. } => "stratagem_used",
            Self::CommandPointsChanged { .. } => "command_points_changed",
        }
    }

    /// When it happened (unix ms).
    pub fn at_ms(&self) -> i64 {
        match self {
            Self::ScoreUpdate { timestamp, .. }
            | Self::RoundAdvance { timestamp, .. }
            | Self::TimerUpdate { timestamp, .. }
            | Self::PhaseChange { timestamp, .. }
            | Self::TurnChange { timestamp, .. }
            | Self::TurnTimeout { timestamp, .. }
            | Self::BattleStarted { timestamp, .. }
            | Self::BattlePaused { timestamp, .. }
            | Self::BattleResumed { timestamp, .. }
            | Self::BattleCompleted { timestamp, .. }
            | Self::BattleCancelled { timestamp }
            | Self::ResultConfirmed { timestamp, .. }
            | Self::ResultDisputed { timestamp, .. }
            | Self::DisputeResolved { timestamp, .. }
            | Self::StratagemUsed { timestamp, .. }
            | Self::CommandPointsChanged { timestamp, .. } => *timestamp,
        }
    }

    /// The WebSocket JSON, `{type, battle_id, ..., timestamp}` with `timestamp` formatted by
    /// `rfc3339` (the domain has no clock or time formatting of its own).
    pub fn to_json(&self, battle_id: Uuid, rfc3339: impl Fn(i64) -> String) -> Value {
        // Serializing plain data (strings, numbers, uuids, string-keyed maps) cannot fail.
        let mut v = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Some(obj) = v.as_object_mut() {
            obj.insert("battle_id".into(), Value::String(battle_id.to_string()));
            obj.insert("timestamp".into(), Value::String(rfc3339(self.at_ms())));
        }
        v
    }
}
