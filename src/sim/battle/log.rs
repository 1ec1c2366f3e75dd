//! The tick log: what each tick looks like on the wire, and its compact hash encoding.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::sim::catalog::{StatusKind, SKILLS};

str_enum! {
    /// What a robot did in a tick.
    pub enum ActionTaken: "action" {
        /// Basic attack.
        Attack => "ATTACK",
        /// Guarded: half damage this tick.
        Defend => "DEFEND",
        /// Used the skill in `skill_id`.
        Skill => "SKILL",
        /// Lost its turn to STUN.
        Stunned => "STUNNED",
        /// Did not act (knocked out before its turn).
        None => "NONE",
    }
}

str_enum! {
    /// A random biome event; it hits both robots alike at the start of the tick.
    pub enum BiomeEvent: "biome event" {
        /// CITY: both robots gain 2 energy.
        PowerSurge => "POWER_SURGE",
        /// GRASSLAND: both heal 4% of max hp.
        Overgrowth => "OVERGROWTH",
        /// DESERT: both lose 3% of max hp.
        Sandstorm => "SANDSTORM",
        /// ARCTIC: both lose 2 energy.
        Blizzard => "BLIZZARD",
        /// VOLCANIC: both BURN for 2 ticks.
        Eruption => "ERUPTION",
        /// WASTELAND: both CORRODE for 2 ticks.
        AcidRain => "ACID_RAIN",
    }
}

str_enum! {
    /// The result of a battle.
    pub enum Winner: "winner" {
        /// Player 1 won.
        P1 => "P1",
        /// Player 2 won.
        P2 => "P2",
        /// Nobody won.
        Draw => "DRAW",
    }
}

str_enum! {
    /// Why the battle ended.
    pub enum WinReason: "reason" {
        /// One robot reached 0 hp.
        Ko => "KO",
        /// Both reached 0 hp in the same tick (a draw).
        DoubleKo => "DOUBLE_KO",
        /// The tick cap: higher hp% wins, equal hp% draws.
        TickCap => "TICK_CAP",
    }
}

/// How a battle ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// P1, P2 or DRAW.
    pub winner: Winner,
    /// Ticks played.
    pub total_ticks: u32,
    /// KO, DOUBLE_KO or TICK_CAP.
    pub reason: WinReason,
}

/// One active status in a tick event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusView {
    /// Which status.
    pub status: StatusKind,
    /// Ticks left (it still acts at the end of each of them).
    pub ticks: u8,
    /// Shield points left (SHIELD only).
    pub value: u32,
}

impl Serialize for StatusView {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let shield = self.status == StatusKind::Shield;
        let mut m = s.serialize_map(Some(2 + usize::from(shield)))?;
        m.serialize_entry("status", &self.status)?;
        m.serialize_entry("ticks", &self.ticks)?;
        if shield {
            m.serialize_entry("value", &self.value)?;
        }
        m.end()
    }
}

/// One robot's state at the end of a tick and what it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FighterTick {
    /// Hp after the tick.
    pub hp: u32,
    /// Energy after the tick.
    pub energy: u32,
    /// What it did.
    pub action: ActionTaken,
    /// The skill used, when `action` is SKILL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) skill_id: Option<&'static str>,
    /// Damage its action dealt (including what a shield absorbed).
    pub damage_dealt: u32,
    /// Whether that damage was a critical hit.
    #[serde(skip_serializing_if = "is_false")]
    pub(crate) crit: bool,
    /// Whether the enemy dodged its strike (then `damage_dealt` is 0).
    #[serde(skip_serializing_if = "is_false")]
    pub(crate) miss: bool,
    /// Statuses active after the tick.
    pub status_effects: Vec<StatusView>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One tick, shaped like the spec's replay tick plus `lcg_state`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TickEvent {
    /// Tick number, from 1.
    pub tick: u32,
    /// Player 1.
    pub p1: FighterTick,
    /// Player 2.
    pub p2: FighterTick,
    /// The biome event of this tick, or null.
    pub biome_event: Option<BiomeEvent>,
    /// Generator state after the tick, as a decimal string (JSON numbers lose u64 precision
    /// in JavaScript).
    #[serde(serialize_with = "u64_string")]
    pub lcg_state: u64,
}

fn u64_string<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// A tick as `battle:tick` sends it live: the spec's fields (`tick`, `p1_state`, `p2_state`,
/// `biome_event`, `lcg_state`) plus the server's emission time `ts`. Each fighter appears once,
/// under its live name; replays keep [`TickEvent`]'s `p1`/`p2` shape. It borrows the event, so
/// the live form is serialised straight from the engine's output, with no tree in between.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct LiveTick<'a> {
    /// Tick number, from 1.
    pub tick: u32,
    /// Player 1 after the tick.
    pub p1_state: &'a FighterTick,
    /// Player 2 after the tick.
    pub p2_state: &'a FighterTick,
    /// The biome event of this tick, or null.
    pub biome_event: Option<BiomeEvent>,
    /// Generator state after the tick (decimal string, as in [`TickEvent`]).
    #[serde(serialize_with = "u64_string")]
    pub lcg_state: u64,
    /// Server wall clock at emission, unix ms (an input: the engine has no clock).
    pub ts: i64,
}

impl TickEvent {
    /// The live form of this tick, stamped `ts`.
    pub fn live(&self, ts: i64) -> LiveTick<'_> {
        LiveTick {
            tick: self.tick,
            p1_state: &self.p1,
            p2_state: &self.p2,
            biome_event: self.biome_event,
            lcg_state: self.lcg_state,
            ts,
        }
    }
}

/// One side of a tick, as plain numbers: the source of both the event and the hash bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RawSide {
    pub hp: u32,
    pub energy: u32,
    pub shield: u32,
    pub action: u8,
    /// Index into SKILLS, or `NO_SKILL`.
    pub skill: u8,
    pub damage: u32,
    pub crit: bool,
    pub miss: bool,
    pub status: [u8; 9],
}

pub(crate) const NO_SKILL: u8 = u8::MAX;

/// One tick as plain numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RawTick {
    pub tick: u32,
    /// `BiomeEvent` index + 1, or 0.
    pub event: u8,
    pub lcg_state: u64,
    pub sides: [RawSide; 2],
}

/// Bytes per tick in the hash encoding.
pub(crate) const ENCODED_LEN: usize = 4 + 1 + 8 + 2 * 28;

impl RawTick {
    /// Fixed-size little-endian encoding fed to the log hash. Changing it changes every hash:
    /// bump `ENGINE_VERSION`.
    pub fn encode(&self) -> [u8; ENCODED_LEN] {
        let mut b = [0u8; ENCODED_LEN];
        b[0..4].copy_from_slice(&self.tick.to_le_bytes());
        b[4] = self.event;
        b[5..13].copy_from_slice(&self.lcg_state.to_le_bytes());
        let mut at = 13;
        for s in &self.sides {
            b[at..at + 4].copy_from_slice(&s.hp.to_le_bytes());
            b[at + 4..at + 8].copy_from_slice(&s.energy.to_le_bytes());
            b[at + 8..at + 12].copy_from_slice(&s.shield.to_le_bytes());
            b[at + 12] = s.action;
            b[at + 13] = s.skill;
            b[at + 14..at + 18].copy_from_slice(&s.damage.to_le_bytes());
            b[at + 18] = u8::from(s.crit) | (u8::from(s.miss) << 1);
            b[at + 19..at + 28].copy_from_slice(&s.status);
            at += 28;
        }
        b
    }

    /// The wire form.
    pub(crate) fn to_event(self) -> TickEvent {
        TickEvent {
            tick: self.tick,
            p1: side_event(&self.sides[0]),
            p2: side_event(&self.sides[1]),
            biome_event: usize::from(self.event)
                .checked_sub(1)
                .and_then(|i| BiomeEvent::ALL.get(i).copied()),
            lcg_state: self.lcg_state,
        }
    }
}

fn side_event(s: &RawSide) -> FighterTick {
    let action = ActionTaken::ALL
        .get(usize::from(s.action))
        .copied()
        .unwrap_or(ActionTaken::None);
    let mut status_effects = Vec::new();
    for (i, &ticks) in s.status.iter().enumerate() {
        if ticks > 0 {
            if let Some(&status) = StatusKind::ALL.get(i) {
                let value = if status == StatusKind::Shield {
                    s.shield
                } else {
                    0
                };
                status_effects.push(StatusView {
                    status,
                    ticks,
                    value,
                });
            }
        }
    }
    FighterTick {
        hp: s.hp,
        energy: s.energy,
        action,
        skill_id: SKILLS.get(usize::from(s.skill)).map(|k| k.id),
        damage_dealt: s.damage,
        crit: s.crit,
        miss: s.miss,
        status_effects,
    }
}
