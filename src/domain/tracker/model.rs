//! Tracker data: battle, players, scores, actions.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{ChessClock, Clock};

/// Battle status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Created, not started.
    Setup,
    /// Clock running (or paused).
    InProgress,
    /// Finished with a result.
    Completed,
    /// Abandoned.
    Cancelled,
}

impl Status {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Setup => "setup",
            Status::InProgress => "in_progress",
            Status::Completed => "completed",
            Status::Cancelled => "cancelled",
        }
    }
    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(Value::String(s.to_string())).ok()
    }
}

/// A turn phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Command.
    Command,
    /// Movement.
    Movement,
    /// Psychic (pre-10th).
    Psychic,
    /// Shooting.
    Shooting,
    /// Charge.
    Charge,
    /// Fight.
    Fight,
    /// Morale (pre-10th).
    Morale,
}

impl Phase {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Command => "command",
            Phase::Movement => "movement",
            Phase::Psychic => "psychic",
            Phase::Shooting => "shooting",
            Phase::Charge => "charge",
            Phase::Fight => "fight",
            Phase::Morale => "morale",
        }
    }
}

/// The spec's full phase list.
pub(crate) const ALL_PHASES: [Phase; 7] = [
    Phase::Command,
    Phase::Movement,
    Phase::Psychic,
    Phase::Shooting,
    Phase::Charge,
    Phase::Fight,
    Phase::Morale,
];
/// 10th edition: no psychic and no morale phase.
pub(crate) const TENTH_PHASES: [Phase; 5] = [
    Phase::Command,
    Phase::Movement,
    Phase::Shooting,
    Phase::Charge,
    Phase::Fight,
];

/// A player's scores. `victory_points` is always primary + secondary + linchpin + challenge.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scores {
    /// Total.
    pub victory_points: i64,
    /// Primary objectives.
    pub primary: i64,
    /// Secondary objectives.
    pub secondary: i64,
    /// Linchpin.
    pub(crate) linchpin: i64,
    /// Challenge.
    pub(crate) challenge: i64,
}

/// A partial score update.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoresPatch {
    /// New total; when given, `primary` absorbs the difference (documented rule).
    pub victory_points: Option<i64>,
    /// Primary.
    pub primary: Option<i64>,
    /// Secondary.
    pub secondary: Option<i64>,
    /// Linchpin.
    pub(crate) linchpin: Option<i64>,
    /// Challenge.
    pub(crate) challenge: Option<i64>,
}

impl Scores {
    /// Applies a patch. Components are set first; a given `victory_points` then fixes the total,
    /// with `primary` = total − the other components. Everything stays within 0..=1000.
    pub fn apply(&mut self, p: &ScoresPatch) -> Result<(), String> {
        let mut next = *self;
        let ok = |v: i64| (0..=1000).contains(&v);
        for v in [
            p.victory_points,
            p.primary,
            p.secondary,
            p.linchpin,
            p.challenge,
        ]
        .into_iter()
        .flatten()
        {
            if !ok(v) {
                return Err("scores must be between 0 and 1000".into());
            }
        }
        next.primary = p.primary.unwrap_or(next.primary);
        next.secondary = p.secondary.unwrap_or(next.secondary);
        next.linchpin = p.linchpin.unwrap_or(next.linchpin);
        next.challenge = p.challenge.unwrap_or(next.challenge);
        if let Some(total) = p.victory_points {
            let others = next.secondary + next.linchpin + next.challenge;
            if p.primary.is_some() && next.primary + others != total {
                return Err(
                    "victory_points must equal primary + secondary + linchpin + challenge".into(),
                );
            }
            if total < others {
                return Err("victory_points is less than secondary + linchpin + challenge".into());
            }
            next.primary = total - others;
        }
        next.victory_points = next.primary + next.secondary + next.linchpin + next.challenge;
        *self = next;
        Ok(())
    }
}

/// One side of a battle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlayerState {
    /// User.
    pub user_id: Uuid,
    /// Army.
    pub army_id: Uuid,
    /// `left` or `right`.
    pub position: String,
    /// Scores.
    pub scores: Scores,
    /// Command points (never negative).
    pub command_points: i64,
    /// Stratagem names, in order of use.
    pub stratagems_used: Vec<String>,
}

/// Whose turn, which phase.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Turn {
    /// Index into `players`.
    pub player: usize,
    /// Index into `phases`.
    pub phase: usize,
    /// Turns completed this round (0 or 1).
    pub(crate) played_in_round: u8,
}

/// A tracked battle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackerBattle {
    /// Id.
    pub id: Uuid,
    /// Tournament, if any.
    pub tournament_id: Option<Uuid>,
    /// Status.
    pub status: Status,
    /// `matched_play`, `crusade` or `narrative`.
    pub battle_type: String,
    /// Mission JSON as given.
    pub mission: Value,
    /// Round (0 before start).
    pub(crate) current_round: u32,
    /// Round bound.
    pub max_rounds: u32,
    /// Seconds per turn.
    pub turn_time_limit: u32,
    /// Phases used by this battle.
    pub(crate) phases: Vec<Phase>,
    /// Current turn.
    pub turn: Turn,
    /// Turn clock.
    pub clock: Clock,
    /// End the turn automatically on timeout (default no).
    pub(crate) auto_end_turn_on_timeout: bool,
    /// The two players.
    pub players: [PlayerState; 2],
    /// Winner once completed (None = draw).
    pub winner_id: Option<Uuid>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
    /// Unix ms.
    pub completed_at: Option<i64>,
    /// Chess-clock mode (extension): per-player time banks instead of a per-turn limit.
    #[serde(default)]
    pub(crate) chess_clock: Option<ChessClock>,
    /// Last time a server held this battle live (checkpointed), for restart recovery.
    #[serde(default)]
    pub(crate) alive_at: i64,
    /// Who agreed to the result (see `consent`).
    #[serde(default)]
    pub consent: super::Consent,
}

/// A PATCH action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Update one player's scores.
    UpdateScores {
        /// Player.
        player_id: Uuid,
        /// Partial scores.
        scores: ScoresPatch,
    },
    /// setup → in_progress.
    Start,
    /// Next phase of the turn.
    NextPhase,
    /// Jump to a phase.
    SetPhase {
        /// Phase.
        phase: Phase,
    },
    /// Hand the turn over.
    EndTurn,
    /// Spend CP on a stratagem.
    UseStratagem {
        /// Player (default: the one whose turn it is).
        #[serde(default)]
        player_id: Option<Uuid>,
        /// Stratagem name.
        name: String,
        /// Cost.
        cp_cost: i64,
    },
    /// Add or remove CP.
    AdjustCommandPoints {
        /// Player.
        player_id: Uuid,
        /// Change.
        delta: i64,
    },
    /// Stop the clock.
    Pause,
    /// Restart the clock.
    Resume,
    /// Abandon.
    Cancel,
}

/// `POST /complete` body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Complete {
    /// Winner; computed from VP when absent.
    #[serde(default)]
    pub winner_id: Option<Uuid>,
    /// Final score patches by user id.
    #[serde(default)]
    pub final_scores: BTreeMap<Uuid, ScoresPatch>,
}

/// Validated creation input.
#[derive(Debug, Clone)]
pub struct NewBattle {
    /// Tournament.
    pub tournament_id: Option<Uuid>,
    /// Type.
    pub battle_type: String,
    /// Mission.
    pub mission: Value,
    /// Players: (user, army, position).
    pub players: [(Uuid, Uuid, String); 2],
    /// Rounds (1..=10, default 5).
    pub max_rounds: u32,
    /// Seconds per turn (60..=14400, default 1800).
    pub turn_time_limit: u32,
    /// 10th-edition phase subset.
    pub(crate) tenth_edition: bool,
    /// End the turn on timeout.
    pub(crate) auto_end_turn_on_timeout: bool,
}

impl TrackerBattle {
    /// A battle in `setup`.
    pub fn new(id: Uuid, b: NewBattle, now_ms: i64) -> Self {
        let player = |(u, a, pos): (Uuid, Uuid, String)| PlayerState {
            user_id: u,
            army_id: a,
            position: pos,
            scores: Scores::default(),
            command_points: 0,
            stratagems_used: Vec::new(),
        };
        let [p1, p2] = b.players;
        Self {
            id,
            tournament_id: b.tournament_id,
            status: Status::Setup,
            battle_type: b.battle_type,
            mission: b.mission,
            current_round: 0,
            max_rounds: b.max_rounds,
            turn_time_limit: b.turn_time_limit,
            phases: if b.tenth_edition {
                TENTH_PHASES.to_vec()
            } else {
                ALL_PHASES.to_vec()
            },
            turn: Turn::default(),
            clock: Clock::default(),
            auto_end_turn_on_timeout: b.auto_end_turn_on_timeout,
            players: [player(p1), player(p2)],
            winner_id: None,
            created_at: now_ms,
            updated_at: now_ms,
            completed_at: None,
            chess_clock: None,
            alive_at: now_ms,
            consent: Default::default(),
        }
    }

    /// The spec's Battle Model, with a live `time_remaining`.
    pub(crate) fn to_api(&self, now_ms: i64, rfc3339: impl Fn(i64) -> String) -> Value {
        let current_turn = if self.status == Status::InProgress {
            json!({
                "player_id": self.current_player_id(),
                "phase": self.current_phase().map(Phase::as_str),
                "start_time": rfc3339(self.clock.turn_started_at),
                "time_remaining": self.time_remaining_s(now_ms),
                "paused": self.clock.is_paused(),
            })
        } else {
            Value::Null
        };
        let mut v = json!({
            "id": self.id,
            "tournament_id": self.tournament_id,
            "status": self.status.as_str(),
            "battle_type": self.battle_type,
            "mission": self.mission,
            "current_round": self.current_round,
            "max_rounds": self.max_rounds,
            "turn_time_limit": self.turn_time_limit,
            "phases": self.phases.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
            "auto_end_turn_on_timeout": self.auto_end_turn_on_timeout,
            "current_turn": current_turn,
            "players": self.players,
            "winner_id": self.winner_id,
            "clock": self.clock_json(now_ms),
            "paused": self.status == Status::InProgress && self.clock.is_paused(),
            "created_at": rfc3339(self.created_at),
            "updated_at": rfc3339(self.updated_at),
            "completed_at": self.completed_at.map(&rfc3339),
        });
        if let (Some(obj), Value::Object(c)) = (v.as_object_mut(), self.consent_json(&rfc3339)) {
            obj.extend(c);
        }
        v
    }
}
