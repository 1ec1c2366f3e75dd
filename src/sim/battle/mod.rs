//! Battles: inputs, the tick engine and its log.
//!
//! ```text
//! BattleInputs (JSON) ──Battle::new──► Battle ──step()──► TickEvent … ──► Outcome
//!                                          └─fast_forward(n): same ticks, no events kept
//! ```
//!
//! The log hash is a running SHA-256 over a compact binary encoding of each tick, kept by the
//! [`Battle`] itself, so an actor stepping live, a resumed battle and [`run_to_end`] all reach
//! the same [`Battle::log_hash`].

mod engine;
mod log;
mod side;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::catalog::{self, RobotDef};
use super::rules::RuleTree;
use super::SimError;
pub use engine::{
    Battle, ATTACK_POWER, BIOME_EVENT_PCT, CRIT_DAMAGE_PCT, CRIT_PCT, DEFEND_DAMAGE_PCT,
    DODGE_SPEED_PER_PCT, MAX_DODGE_PCT, OVERTIME_MAX_PCT, OVERTIME_PCT_PER_TICK, OVERTIME_START,
    SHIELD_TICKS, STATUS_STAT_PCT, VARIANCE_PCT,
};
pub use log::{
    ActionTaken, BiomeEvent, FighterTick, LiveTick, Outcome, StatusView, TickEvent, WinReason,
    Winner,
};
pub use side::{BURN_PCT, POISON_PCT, REGEN_PCT};

pub use super::catalog::Biome;

/// Tick cap used when the inputs do not give one.
pub const DEFAULT_MAX_TICKS: u32 = 100;
/// Largest tick cap accepted.
pub(crate) const MAX_TICKS_LIMIT: u32 = 1000;
/// Highest upgrade level of each stat.
pub const MAX_UPGRADE_LEVEL: u8 = 5;
/// Attack, defense and hp gain this many percent of the base stat per upgrade level.
pub(crate) const UPGRADE_PCT_PER_LEVEL: u32 = 5;
/// Speed gains this many points per upgrade level.
pub(crate) const UPGRADE_SPEED_PER_LEVEL: u32 = 2;
/// Highest value of each pilot bonus.
pub(crate) const MAX_PILOT_BONUS: u8 = 10;

/// Everything a battle depends on (besides [`super::ENGINE_VERSION`]). Stored as JSON at
/// battle start; `warroom simulate FILE.json` reads the same shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BattleInputs {
    /// The `lcg_seed`.
    pub seed: u64,
    /// The arena.
    pub biome: Biome,
    /// Tick cap; defaults to [`DEFAULT_MAX_TICKS`].
    #[serde(default = "default_max_ticks")]
    pub max_ticks: u32,
    /// Player 1.
    pub p1: Fighter,
    /// Player 2.
    pub p2: Fighter,
}

fn default_max_ticks() -> u32 {
    DEFAULT_MAX_TICKS
}

/// One side: a catalog robot, its upgrades, an optional pilot and its rule tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fighter {
    /// The robot, written as its slug in JSON.
    #[serde(serialize_with = "robot_slug", deserialize_with = "robot_by_slug")]
    pub robot: &'static RobotDef,
    /// Upgrade levels; each defaults to 0.
    #[serde(default)]
    pub upgrades: Upgrades,
    /// Pilot bonuses, if a pilot is assigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pilot: Option<PilotStats>,
    /// The rule tree in spec JSON; defaults to [`super::ai::default_tree`].
    #[serde(default = "super::ai::default_tree")]
    pub tree: RuleTree,
}

impl Fighter {
    /// A fighter with no upgrades or pilot.
    pub fn new(robot: &'static RobotDef, tree: RuleTree) -> Fighter {
        Fighter {
            robot,
            upgrades: Upgrades::default(),
            pilot: None,
            tree,
        }
    }
}

fn robot_slug<S: Serializer>(r: &&'static RobotDef, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(r.slug)
}

fn robot_by_slug<'de, D: Deserializer<'de>>(d: D) -> Result<&'static RobotDef, D::Error> {
    let slug = String::deserialize(d)?;
    catalog::robot(&slug).ok_or_else(|| {
        serde::de::Error::custom(SimError::UnknownRobot(slug.chars().take(64).collect()))
    })
}

/// Upgrade levels bought in the shop, each 0..=[`MAX_UPGRADE_LEVEL`]. Per level: attack,
/// defense and hp +[`UPGRADE_PCT_PER_LEVEL`]% of base; speed +[`UPGRADE_SPEED_PER_LEVEL`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Upgrades {
    /// Attack level.
    pub attack: u8,
    /// Defense level.
    pub defense: u8,
    /// Hp level.
    pub hp: u8,
    /// Speed level.
    pub speed: u8,
}

str_enum! {
    /// An upgradable stat (as in `upgrade_attack` of the spec).
    pub enum UpgradeStat: "upgrade stat" {
        /// Attack.
        Attack => "attack",
        /// Defense.
        Defense => "defense",
        /// Hp.
        Hp => "hp",
        /// Speed.
        Speed => "speed",
    }
}

impl Upgrades {
    /// Level of one stat.
    pub fn level(&self, stat: UpgradeStat) -> u8 {
        match stat {
            UpgradeStat::Attack => self.attack,
            UpgradeStat::Defense => self.defense,
            UpgradeStat::Hp => self.hp,
            UpgradeStat::Speed => self.speed,
        }
    }

    fn check(&self, side: &'static str) -> Result<(), SimError> {
        for stat in UpgradeStat::ALL {
            let level = self.level(*stat);
            if level > MAX_UPGRADE_LEVEL {
                return Err(SimError::UpgradeTooHigh {
                    side,
                    stat: stat.as_str(),
                    level,
                    max: MAX_UPGRADE_LEVEL,
                });
            }
        }
        Ok(())
    }
}

/// GMO price of raising `stat` of `robot` to `next_level`: 20% of the robot's price per level
/// (so level 1 costs 20%, level 5 costs 100%). Speed costs the same as the others. Levels
/// outside `1..=MAX_UPGRADE_LEVEL` cost `i64::MAX`, which no balance can pay.
pub fn upgrade_cost(robot: &RobotDef, stat: UpgradeStat, next_level: u8) -> i64 {
    let _ = stat; // one table for every stat, kept in the signature so the shop can differ later
    if next_level == 0 || next_level > MAX_UPGRADE_LEVEL {
        return i64::MAX;
    }
    robot.gmo_cost.saturating_mul(20 * i64::from(next_level)) / 100
}

/// Pilot bonuses: percent of base attack, defense and hp, and flat speed, each
/// 0..=[`MAX_PILOT_BONUS`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PilotStats {
    /// Attack +%.
    pub attack_pct: u8,
    /// Defense +%.
    pub defense_pct: u8,
    /// Hp +%.
    pub hp_pct: u8,
    /// Speed +points.
    pub speed: u8,
}

impl PilotStats {
    fn check(&self, side: &'static str) -> Result<(), SimError> {
        let all = [
            ("attack_pct", self.attack_pct),
            ("defense_pct", self.defense_pct),
            ("hp_pct", self.hp_pct),
            ("speed", self.speed),
        ];
        for (stat, value) in all {
            if value > MAX_PILOT_BONUS {
                return Err(SimError::PilotTooHigh {
                    side,
                    stat,
                    value,
                    max: MAX_PILOT_BONUS,
                });
            }
        }
        Ok(())
    }
}

impl BattleInputs {
    /// Checks caps on ticks, upgrades and pilots.
    pub fn check(&self) -> Result<(), SimError> {
        if self.max_ticks == 0 || self.max_ticks > MAX_TICKS_LIMIT {
            return Err(SimError::BadTickCap(self.max_ticks));
        }
        for (side, f) in [("p1", &self.p1), ("p2", &self.p2)] {
            f.upgrades.check(side)?;
            if let Some(p) = &f.pilot {
                p.check(side)?;
            }
        }
        Ok(())
    }
}

/// The whole log of a finished battle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BattleLog {
    /// Every tick, from tick 1.
    pub ticks: Vec<TickEvent>,
    /// Who won and when.
    pub outcome: Outcome,
    /// Hex SHA-256 of the tick log (see [`Battle::log_hash`]).
    pub log_hash: String,
}

/// Plays a battle to the end, keeping every tick.
pub fn run_to_end(inputs: BattleInputs) -> Result<BattleLog, SimError> {
    let mut battle = Battle::new(inputs)?;
    let mut ticks = Vec::with_capacity(battle.max_ticks() as usize);
    while let Some(t) = battle.step() {
        ticks.push(t);
    }
    Ok(BattleLog {
        ticks,
        outcome: battle.final_outcome(),
        log_hash: battle.log_hash(),
    })
}

/// Plays a battle to the end keeping neither log nor hash: the cheapest way to a result
/// (balance reports, previews that only need the winner).
pub fn outcome_only(inputs: BattleInputs) -> Result<Outcome, SimError> {
    let mut battle = Battle::new(inputs)?;
    battle.set_hashing(false);
    battle.fast_forward(u32::MAX);
    Ok(battle.final_outcome())
}
