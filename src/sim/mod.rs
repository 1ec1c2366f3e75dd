//! The robot battle engine: a pure, deterministic simulation.
//!
//! Nothing here does IO, reads a clock or uses a global random generator. A battle is a pure
//! function of its [`battle::BattleInputs`] and [`ENGINE_VERSION`]: the same inputs always give the
//! same tick log, bit for bit, which is what makes replays, restarts and golden tests exact.
//!
//! - [`catalog`]: the 36 robots, their skills, elements, biomes and tiers.
//! - [`rules`]: the version-2 rule-tree language (typed AST, validation, canonical hash).
//! - [`ai`]: built-in opponents and the default tree.
//! - [`battle`]: the tick engine, its log and the log hash.
//!
//! Player-facing rules live in `docs/GAME_RULES.md`; keep the two in step.

#[macro_use]
mod strenum;

pub mod ai;
pub mod battle;
pub mod catalog;
pub mod rules;

/// Version of the simulation rules. Any change that can move a tick log (formulas, catalog
/// numbers, generator use, hash encoding) must bump it; golden replays under `tests/` fail
/// until it is bumped and the fixtures regenerated. A battle stored under another version is
/// voided rather than resumed.
pub const ENGINE_VERSION: u32 = 1;

/// Everything that can go wrong when setting up a battle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// No robot in the catalog has this slug.
    #[error("unknown robot '{0}'")]
    UnknownRobot(String),
    /// An upgrade level is above [`battle::MAX_UPGRADE_LEVEL`].
    #[error("{side}: upgrade '{stat}' level {level} exceeds the maximum {max}")]
    UpgradeTooHigh {
        /// `p1` or `p2`.
        side: &'static str,
        /// The stat name.
        stat: &'static str,
        /// The level given.
        level: u8,
        /// The cap.
        max: u8,
    },
    /// A pilot bonus is above [`battle::MAX_PILOT_BONUS`].
    #[error("{side}: pilot bonus '{stat}' {value} exceeds the maximum {max}")]
    PilotTooHigh {
        /// `p1` or `p2`.
        side: &'static str,
        /// The stat name.
        stat: &'static str,
        /// The value given.
        value: u8,
        /// The cap.
        max: u8,
    },
    /// A name (element, biome, tier, difficulty, ...) that is not one of the known values.
    #[error("unknown {kind} '{value}'")]
    UnknownName {
        /// What was being parsed, e.g. `element`.
        kind: &'static str,
        /// The text given.
        value: String,
    },
    /// The tick cap is zero or above [`battle::MAX_TICKS_LIMIT`].
    #[error("max_ticks {0} is outside 1..={max}", max = battle::MAX_TICKS_LIMIT)]
    BadTickCap(u32),
}
