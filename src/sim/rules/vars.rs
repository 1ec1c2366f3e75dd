//! The variables a COMPARE can read, their names and the range each can take.

use crate::sim::catalog::{Biome, StatusKind};

/// A per-fighter quantity, read as `self.<name>` or `enemy.<name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FighterVar {
    /// Current hp.
    Hp,
    /// Current hp in percent of max, rounded down (0..=100).
    HpPct,
    /// Max hp.
    MaxHp,
    /// Current energy.
    Energy,
    /// Max energy.
    MaxEnergy,
    /// Points left on the SHIELD (0 without one).
    Shield,
    /// Effective attack (with upgrades, pilot, biome and statuses).
    Attack,
    /// Effective defense.
    Defense,
    /// Effective speed.
    Speed,
    /// Number of active statuses.
    Statuses,
    /// Ticks left of one status (0 when absent), e.g. `self.status.BURN`.
    Status(StatusKind),
}

/// A variable a condition can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Var {
    /// The tick being decided, from 1.
    Tick,
    /// The arena; compares only with `==`/`!=` against a biome name.
    Biome,
    /// The deciding robot.
    Me(FighterVar),
    /// Its opponent.
    Enemy(FighterVar),
}

const PLAIN: [(FighterVar, &str); 10] = [
    (FighterVar::Hp, "hp"),
    (FighterVar::HpPct, "hp_pct"),
    (FighterVar::MaxHp, "max_hp"),
    (FighterVar::Energy, "energy"),
    (FighterVar::MaxEnergy, "max_energy"),
    (FighterVar::Shield, "shield"),
    (FighterVar::Attack, "attack"),
    (FighterVar::Defense, "defense"),
    (FighterVar::Speed, "speed"),
    (FighterVar::Statuses, "statuses"),
];

/// Highest duration any status can have.
pub(crate) const STATUS_TICKS_MAX: i64 = 5;

impl FighterVar {
    fn suffix(self) -> String {
        match self {
            FighterVar::Status(k) => format!("status.{}", k.as_str()),
            other => PLAIN
                .iter()
                .find(|(v, _)| *v == other)
                .map_or_else(String::new, |(_, n)| (*n).to_string()),
        }
    }

    fn parse(s: &str) -> Option<FighterVar> {
        if let Some(kind) = s.strip_prefix("status.") {
            return kind.parse().ok().map(FighterVar::Status);
        }
        PLAIN.iter().find(|(_, n)| *n == s).map(|(v, _)| *v)
    }
}

impl Var {
    /// The name used in rule trees, e.g. `self.hp_pct`.
    pub fn name(self) -> String {
        match self {
            Var::Tick => "tick".into(),
            Var::Biome => "biome".into(),
            Var::Me(v) => format!("self.{}", v.suffix()),
            Var::Enemy(v) => format!("enemy.{}", v.suffix()),
        }
    }

    /// Parses a variable name.
    pub fn parse(s: &str) -> Option<Var> {
        match s {
            "tick" => Some(Var::Tick),
            "biome" => Some(Var::Biome),
            _ => {
                if let Some(rest) = s.strip_prefix("self.") {
                    FighterVar::parse(rest).map(Var::Me)
                } else if let Some(rest) = s.strip_prefix("enemy.") {
                    FighterVar::parse(rest).map(Var::Enemy)
                } else {
                    None
                }
            }
        }
    }

    /// Every numeric variable name, for error hints and docs.
    pub fn all_names() -> Vec<String> {
        let mut out = vec!["tick".to_string(), "biome".to_string()];
        for side in ["self", "enemy"] {
            for (_, n) in PLAIN {
                out.push(format!("{side}.{n}"));
            }
            for k in StatusKind::ALL {
                out.push(format!("{side}.status.{}", k.as_str()));
            }
        }
        out
    }

    /// Inclusive range of values the variable can take; `max_energy` narrows energy when
    /// the robot is known. `None` for `biome`.
    pub(crate) fn range(self, max_energy: Option<i64>, max_ticks: i64) -> Option<(i64, i64)> {
        let fv = match self {
            Var::Tick => return Some((1, max_ticks)),
            Var::Biome => return None,
            Var::Me(v) => (v, true),
            Var::Enemy(v) => (v, false),
        };
        let energy_max = if fv.1 { max_energy } else { None }.unwrap_or(i64::MAX);
        Some(match fv.0 {
            FighterVar::HpPct => (0, 100),
            FighterVar::MaxHp => (1, i64::MAX),
            FighterVar::Energy => (0, energy_max),
            FighterVar::MaxEnergy => (0, energy_max),
            FighterVar::Statuses => (0, StatusKind::ALL.len() as i64),
            FighterVar::Status(_) => (0, STATUS_TICKS_MAX),
            FighterVar::Hp
            | FighterVar::Shield
            | FighterVar::Attack
            | FighterVar::Defense
            | FighterVar::Speed => (0, i64::MAX),
        })
    }

    /// Reads the variable from a view.
    #[inline]
    pub fn read(self, view: &super::View) -> i64 {
        match self {
            Var::Tick => view.tick,
            Var::Biome => view.biome as i64,
            Var::Me(v) => view.me.read(v),
            Var::Enemy(v) => view.enemy.read(v),
        }
    }
}

/// One fighter as conditions see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FighterView {
    /// Current hp.
    pub hp: i64,
    /// Max hp.
    pub max_hp: i64,
    /// Hp in percent of max, rounded down (computed from exact hundredths).
    pub hp_pct: i64,
    /// Current energy.
    pub energy: i64,
    /// Max energy.
    pub max_energy: i64,
    /// Shield points.
    pub shield: i64,
    /// Effective attack.
    pub attack: i64,
    /// Effective defense.
    pub defense: i64,
    /// Effective speed.
    pub speed: i64,
    /// Ticks left per status, indexed by [`StatusKind::index`].
    pub status: [u8; 9],
}

impl FighterView {
    #[inline]
    fn read(&self, v: FighterVar) -> i64 {
        match v {
            FighterVar::Hp => self.hp,
            FighterVar::HpPct => self.hp_pct,
            FighterVar::MaxHp => self.max_hp,
            FighterVar::Energy => self.energy,
            FighterVar::MaxEnergy => self.max_energy,
            FighterVar::Shield => self.shield,
            FighterVar::Attack => self.attack,
            FighterVar::Defense => self.defense,
            FighterVar::Speed => self.speed,
            FighterVar::Statuses => self.status.iter().filter(|&&t| t > 0).count() as i64,
            FighterVar::Status(k) => i64::from(self.status[k.index()]),
        }
    }
}

/// Parses a biome name for the right side of `biome == ...`.
pub(crate) fn parse_biome(s: &str) -> Option<Biome> {
    s.parse().ok()
}
