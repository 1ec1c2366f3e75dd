//! The robot catalog: elements, biomes, tiers, the 36 robots and their skills.
//!
//! This is static data. The server seeds it into the database, and the engine reads it
//! directly, so a stored battle only needs slugs. Changing a number here moves battle logs:
//! bump [`crate::sim::ENGINE_VERSION`].

mod robots;
mod skills;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

pub use robots::ROBOTS;
pub use skills::SKILLS;

str_enum! {
    /// A robot's element. The six elements form a cycle (in declaration order): each element
    /// is strong against the next two and weak against the one before it, so every element
    /// has the same shape of match-ups and none dominates.
    pub enum Element: "element" {
        /// Electric.
        Volt => "VOLT",
        /// Ice.
        Cryo => "CRYO",
        /// Armour.
        Iron => "IRON",
        /// Fire.
        Pyro => "PYRO",
        /// Organic.
        Bio => "BIO",
        /// Nanomachines.
        Nano => "NANO",
    }
}

const ELEMENT_COUNT: usize = 6;

// Indexed by `Element::index()`: the next two in the cycle, and the one before.
const STRONG: [[Element; 2]; ELEMENT_COUNT] = [
    [Element::Cryo, Element::Iron],
    [Element::Iron, Element::Pyro],
    [Element::Pyro, Element::Bio],
    [Element::Bio, Element::Nano],
    [Element::Nano, Element::Volt],
    [Element::Volt, Element::Cryo],
];
const WEAK: [[Element; 1]; ELEMENT_COUNT] = [
    [Element::Nano],
    [Element::Volt],
    [Element::Cryo],
    [Element::Iron],
    [Element::Pyro],
    [Element::Bio],
];

impl Element {
    /// Elements this one deals extra damage to.
    pub const fn strong_vs(self) -> &'static [Element] {
        &STRONG[self.index()]
    }

    /// Elements this one takes extra damage from.
    pub const fn weak_vs(self) -> &'static [Element] {
        &WEAK[self.index()]
    }

    /// Damage multiplier in percent when `self` attacks `defender`: +5 when the defender is
    /// in the attacker's `strong_vs`, and +5 more when the attacker is in the defender's
    /// `weak_vs`. So 100, 105 or 110.
    pub fn multiplier_vs(self, defender: Element) -> u32 {
        let mut pct = 100;
        if self.strong_vs().contains(&defender) {
            pct += ELEMENT_BONUS_PCT;
        }
        if defender.weak_vs().contains(&self) {
            pct += ELEMENT_BONUS_PCT;
        }
        pct
    }
}

/// Extra damage in percent for each of "strong against" and "weak to".
pub(crate) const ELEMENT_BONUS_PCT: u32 = 5;

str_enum! {
    /// The arena. A robot may have an attack bonus in some biomes, and each biome has its own
    /// random event.
    pub enum Biome: "biome" {
        /// Streets and power lines.
        City => "CITY",
        /// Open fields.
        Grassland => "GRASSLAND",
        /// Dunes.
        Desert => "DESERT",
        /// Ice sheet.
        Arctic => "ARCTIC",
        /// Lava fields.
        Volcanic => "VOLCANIC",
        /// Polluted ruins.
        Wasteland => "WASTELAND",
    }
}

str_enum! {
    /// Robot tier: T1 robots are cheap, T3 the strongest and dearest.
    pub enum Tier: "tier" {
        /// Entry level.
        T1 => "T1",
        /// Mid level.
        T2 => "T2",
        /// Top level.
        T3 => "T3",
    }
}

str_enum! {
    /// Who a skill (or a rule's action) is aimed at.
    pub enum Target: "target" {
        /// The robot itself.
        SelfTarget => "SELF",
        /// The opponent.
        Enemy => "ENEMY",
    }
}

str_enum! {
    /// Timed status effects. See `docs/GAME_RULES.md` for what each does.
    pub enum StatusKind: "status" {
        /// Loses 1% of max hp at the end of each tick.
        Burn => "BURN",
        /// Loses 1% of max hp at the end of each tick.
        Poison => "POISON",
        /// Skips its action.
        Stun => "STUN",
        /// Speed -30%.
        Slow => "SLOW",
        /// Defense -30%.
        Corrode => "CORRODE",
        /// Attack +30%.
        Overcharge => "OVERCHARGE",
        /// Defense +30%.
        Fortify => "FORTIFY",
        /// Heals 2% of max hp at the end of each tick.
        Regen => "REGEN",
        /// Absorbs damage before hp, up to its value.
        Shield => "SHIELD",
    }
}

/// A status a skill applies to its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StatusApply {
    /// Which status.
    pub status: StatusKind,
    /// For how many ticks (counting the tick it is applied in).
    pub ticks: u8,
    /// Chance in percent (100 = always).
    pub(crate) chance_pct: u8,
}

/// A skill: costs energy, aimed at SELF or ENEMY, with any mix of damage, heal, shield and a
/// status effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkillDef {
    /// Stable id used in rule trees (`skillId`).
    pub id: &'static str,
    /// Name shown to players.
    pub display_name: &'static str,
    /// One-line description.
    pub description: &'static str,
    /// SELF or ENEMY.
    pub target: Target,
    /// Energy spent on use.
    pub(crate) energy_cost: u8,
    /// Damage power in tenths; a basic ATTACK is 60. Zero: no damage.
    pub(crate) power: u16,
    /// Heals this percent of the user's max hp.
    pub(crate) heal_pct: u8,
    /// Grants a SHIELD worth this percent of the user's max hp.
    pub(crate) shield_pct: u8,
    /// Status applied to the target, if any.
    pub status: Option<StatusApply>,
}

/// One robot of the catalog. Serializes to the spec's robot object (without `id`, which the
/// database assigns) plus `skills`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RobotDef {
    /// Stable slug, e.g. `volt-striker-mk1`.
    pub slug: &'static str,
    /// Name shown to players.
    pub display_name: &'static str,
    /// Element.
    pub element: Element,
    /// Tier.
    pub tier: Tier,
    /// Max hp before upgrades.
    pub base_hp: u32,
    /// Attack before upgrades.
    pub base_attack: u32,
    /// Defense before upgrades.
    pub base_defense: u32,
    /// Speed before upgrades; the faster robot acts first.
    pub base_speed: u32,
    /// Max energy.
    pub base_energy: u32,
    /// Energy gained at the end of each tick.
    pub energy_regen: u32,
    /// Elements this robot deals extra damage to (from its element).
    pub strong_vs: &'static [Element],
    /// Elements this robot takes extra damage from (from its element).
    pub weak_vs: &'static [Element],
    /// Attack bonus in percent per biome.
    #[serde(serialize_with = "biome_map")]
    pub biome_bonus: &'static [(Biome, u32)],
    /// Price in GMO.
    pub gmo_cost: i64,
    /// Owned by every new user for free.
    pub is_starter: bool,
    /// Client sprite atlas path.
    pub sprite_atlas: &'static str,
    /// Skill ids (see [`SKILLS`]).
    pub skills: &'static [&'static str],
}

impl RobotDef {
    /// Attack bonus in percent in `biome` (0 when none).
    pub(crate) fn biome_bonus_in(&self, biome: Biome) -> u32 {
        self.biome_bonus
            .iter()
            .find(|(b, _)| *b == biome)
            .map_or(0, |(_, pct)| *pct)
    }

    /// Whether this robot has the skill `id`.
    pub(crate) fn has_skill(&self, id: &str) -> bool {
        self.skills.contains(&id)
    }
}

fn biome_map<S: Serializer>(pairs: &&'static [(Biome, u32)], s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(pairs.len()))?;
    for (biome, pct) in pairs.iter() {
        map.serialize_entry(biome.as_str(), pct)?;
    }
    map.end()
}

/// The robot with this slug.
pub fn robot(slug: &str) -> Option<&'static RobotDef> {
    ROBOTS.iter().find(|r| r.slug == slug)
}

/// The skill with this id.
pub fn skill(id: &str) -> Option<&'static SkillDef> {
    SKILLS.iter().find(|s| s.id == id)
}

/// Index of a skill in [`SKILLS`]; the engine stores skills by index.
pub(crate) fn skill_index(id: &str) -> Option<usize> {
    SKILLS.iter().position(|s| s.id == id)
}

/// The starter robots, in catalog order.
pub fn starters() -> impl Iterator<Item = &'static RobotDef> {
    ROBOTS.iter().filter(|r| r.is_starter)
}
