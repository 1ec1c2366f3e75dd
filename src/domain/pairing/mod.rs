//! Pure tournament pairing engine (Issue 6): swiss, single and double elimination,
//! standings. No IO, no clock; randomness comes in as a recorded `u64` seed.
//!
//! The server keeps players as opaque [`PlayerId`]s and replays stored history
//! (games, byes, bracket results) into these functions on every call.

mod blossom;
pub mod bracket;
pub mod matching;
pub mod standings;
pub mod swiss;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

pub use bracket::{
    double_elim, single_elim, BracketKind, BracketMatch, BracketResult, BracketState, MatchId, Slot,
};
pub use standings::{standings, Standing, StandingsConfig, TieBreak};
pub use swiss::{pair_swiss_round, Round1Mode, SwissConfig, SwissRound, TablePairing};

/// Opaque player handle; the server maps it to its own ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PlayerId(pub u32);

/// A registered player; `seed` 1 is the strongest and is the final tie-break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Player {
    /// Server-side handle.
    pub id: PlayerId,
    /// Seed (lower is stronger), unique per event.
    pub seed: u32,
}

/// Who won a played game.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// `a` won.
    AWins,
    /// `b` won.
    BWins,
    /// Draw.
    Draw,
}

/// A finished game as stored by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayedGame {
    /// Round number, starting at 1.
    pub round: u32,
    /// Table it was played on, if any.
    pub table: Option<u32>,
    /// First player.
    pub a: PlayerId,
    /// Second player.
    pub b: PlayerId,
    /// Victory points scored by `a`.
    pub vp_a: u32,
    /// Victory points scored by `b`.
    pub vp_b: u32,
    /// Result.
    pub outcome: Outcome,
}

/// A bye given in a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ByeRecord {
    /// Round number.
    pub round: u32,
    /// Player who sat out.
    pub player: PlayerId,
}

/// Everything that happened so far in a swiss event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    /// Finished games.
    pub games: Vec<PlayedGame>,
    /// Byes given.
    pub byes: Vec<ByeRecord>,
}

impl History {
    /// The last round that has a game or a bye (0 when empty).
    pub(crate) fn last_round(&self) -> u32 {
        let g = self.games.iter().map(|g| g.round).max().unwrap_or(0);
        let b = self.byes.iter().map(|b| b.round).max().unwrap_or(0);
        g.max(b)
    }
}

/// Match points and the documented value of a bye.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointsConfig {
    /// Points for a win (default 3).
    pub win: u32,
    /// Points for a draw (default 1).
    pub draw: u32,
    /// Points for a loss (default 0).
    pub(crate) loss: u32,
    /// A bye counts as a win worth this many match points (default 3).
    pub(crate) bye_points: u32,
    /// VP credited for a bye (default 10 for, 0 against).
    pub(crate) bye_vp: u32,
}

impl Default for PointsConfig {
    fn default() -> Self {
        PointsConfig {
            win: 3,
            draw: 1,
            loss: 0,
            bye_points: 3,
            bye_vp: 10,
        }
    }
}

/// Every way pairing can refuse its input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PairingError {
    /// Fewer than two players.
    #[error("need at least 2 players, got {0}")]
    TooFewPlayers(usize),
    /// More players than the engine supports.
    #[error("at most {max} players supported, got {got}")]
    TooManyPlayers {
        /// Limit.
        max: usize,
        /// Given.
        got: usize,
    },
    /// The same player id twice.
    #[error("duplicate player {0:?}")]
    DuplicatePlayer(PlayerId),
    /// A result names a match that does not exist or is not ready.
    #[error("result for unknown or unplayable match {0}")]
    BadResult(String),
}
