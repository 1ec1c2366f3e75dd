//! Typed inputs and errors of the live game: modes, queue requests and the error enum.

use serde_json::Value;
use uuid::Uuid;

pub use crate::domain::mode::Mode;
use crate::store::StoreError;

/// Errors of the live game, mapped to the spec's codes by each surface.
#[derive(Debug, thiserror::Error)]
pub enum GameError {
    /// 400 VALIDATION_ERROR.
    #[error("{0}")]
    Validation(String),
    /// 400 ALGORITHM_INVALID.
    #[error("rule tree failed validation: {0}")]
    AlgorithmInvalid(String),
    /// 400 INSUFFICIENT_GMO.
    #[error("not enough GMO for the wager")]
    InsufficientGmo,
    /// 404.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 403.
    #[error("{0}")]
    Forbidden(&'static str),
    /// 409 ALREADY_IN_QUEUE.
    #[error("already in the matchmaking queue")]
    AlreadyInQueue,
    /// 409 BATTLE_IN_PROGRESS.
    #[error("already in an active battle")]
    BattleInProgress,
    /// 503: an actor's mailbox is full or it is gone.
    #[error("service busy, try again")]
    Busy,
    /// Storage.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl GameError {
    /// The spec's error code.
    pub fn code(&self) -> &'static str {
        match self {
            GameError::Validation(_) => "VALIDATION_ERROR",
            GameError::AlgorithmInvalid(_) => "ALGORITHM_INVALID",
            GameError::InsufficientGmo => "INSUFFICIENT_GMO",
            GameError::NotFound(_) => "NOT_FOUND",
            GameError::Forbidden(_) => "FORBIDDEN",
            GameError::AlreadyInQueue => "ALREADY_IN_QUEUE",
            GameError::BattleInProgress => "BATTLE_IN_PROGRESS",
            GameError::Busy => "SERVICE_UNAVAILABLE",
            GameError::Store(_) => "INTERNAL_ERROR",
        }
    }
}

/// A queue request (`POST /battles/queue` body or `queue:join` payload), already typed.
#[derive(Debug, Clone)]
pub struct QueueRequest {
    /// Mode.
    pub mode: Mode,
    /// `user_robot_id` or catalogue robot id.
    pub robot_id: Uuid,
    /// Algorithm; None → the active one, else the built-in default.
    pub algorithm_id: Option<Uuid>,
    /// Pilot (optional).
    pub pilot_id: Option<Uuid>,
    /// Stake.
    pub gmo_wager: i64,
}

impl QueueRequest {
    /// Parses the spec's JSON shape.
    pub fn parse(v: &Value) -> Result<QueueRequest, GameError> {
        let bad = |m: &str| GameError::Validation(m.to_string());
        let obj = v.as_object().ok_or_else(|| bad("expected an object"))?;
        let mode = obj
            .get("mode")
            .and_then(Value::as_str)
            .and_then(Mode::parse_exact)
            .ok_or_else(|| bad("mode must be RANKED or CASUAL"))?;
        let uuid = |k: &str| -> Result<Option<Uuid>, GameError> {
            match obj.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Uuid::parse_str(s)
                    .map(Some)
                    .map_err(|_| GameError::Validation(format!("{k} must be a uuid"))),
                Some(_) => Err(GameError::Validation(format!("{k} must be a uuid string"))),
            }
        };
        let robot_id = uuid("robot_id")?.ok_or_else(|| bad("robot_id is required"))?;
        let gmo_wager = match obj.get("gmo_wager") {
            None | Some(Value::Null) => 0,
            Some(w) => w
                .as_i64()
                .filter(|w| (0..=1_000_000_000).contains(w))
                .ok_or_else(|| bad("gmo_wager must be a whole number ≥ 0"))?,
        };
        Ok(QueueRequest {
            mode,
            robot_id,
            algorithm_id: uuid("algorithm_id")?,
            pilot_id: uuid("pilot_id")?,
            gmo_wager,
        })
    }
}
