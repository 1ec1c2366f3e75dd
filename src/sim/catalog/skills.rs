//! Skill data. Power is in tenths: a basic ATTACK has power 60.

use super::{SkillDef, StatusApply, StatusKind, Target};

const fn st(status: StatusKind, ticks: u8, chance_pct: u8) -> Option<StatusApply> {
    Some(StatusApply {
        status,
        ticks,
        chance_pct,
    })
}

#[allow(clippy::too_many_arguments)]
const fn sk(
    id: &'static str,
    display_name: &'static str,
    description: &'static str,
    target: Target,
    energy_cost: u8,
    power: u16,
    heal_pct: u8,
    shield_pct: u8,
    status: Option<StatusApply>,
) -> SkillDef {
    SkillDef {
        id,
        display_name,
        description,
        target,
        energy_cost,
        power,
        heal_pct,
        shield_pct,
        status,
    }
}

use StatusKind::*;
use Target::{Enemy, SelfTarget};

/// Every skill, generic ones first, then two per element.
#[rustfmt::skip]
pub static SKILLS: [SkillDef; 17] = [
    sk("heal_burst", "Heal Burst", "Repairs 10% of max hp.", SelfTarget, 5, 0, 10, 0, None),
    sk("overcharge_strike", "Overcharge Strike", "A heavy blow (power 80).", Enemy, 4, 80, 0, 0, None),
    sk("barrier", "Barrier", "Shield worth 15% of max hp for 3 ticks.", SelfTarget, 4, 0, 0, 15, st(Shield, 3, 100)),
    sk("focus_core", "Focus Core", "OVERCHARGE (+30% attack) for 3 ticks.", SelfTarget, 3, 0, 0, 0, st(Overcharge, 3, 100)),
    sk("repair_protocol", "Repair Protocol", "REGEN (2% hp per tick) for 4 ticks.", SelfTarget, 4, 0, 0, 0, st(Regen, 4, 100)),
    sk("chain_lightning", "Chain Lightning", "Power 80; 25% chance to STUN for 2 ticks.", Enemy, 5, 80, 0, 0, st(Stun, 2, 25)),
    sk("thunder_lance", "Thunder Lance", "A devastating bolt (power 150).", Enemy, 7, 150, 0, 0, None),
    sk("frost_lance", "Frost Lance", "Power 70 and SLOW for 3 ticks.", Enemy, 4, 70, 0, 0, st(Slow, 3, 100)),
    sk("glacier_shell", "Glacier Shell", "Shield worth 25% of max hp for 3 ticks.", SelfTarget, 5, 0, 0, 25, st(Shield, 3, 100)),
    sk("iron_wall", "Iron Wall", "FORTIFY (+30% defense) for 3 ticks and a 10% shield.", SelfTarget, 4, 0, 0, 10, st(Fortify, 3, 100)),
    sk("rail_slam", "Rail Slam", "A crushing charge (power 130).", Enemy, 6, 130, 0, 0, None),
    sk("flame_burst", "Flame Burst", "Power 50 and BURN for 3 ticks.", Enemy, 4, 50, 0, 0, st(Burn, 3, 100)),
    sk("inferno", "Inferno", "Power 110; 80% chance to BURN for 3 ticks.", Enemy, 7, 110, 0, 0, st(Burn, 3, 80)),
    sk("spore_cloud", "Spore Cloud", "Power 40 and POISON for 5 ticks.", Enemy, 4, 40, 0, 0, st(Poison, 5, 100)),
    sk("regrowth", "Regrowth", "REGEN (2% hp per tick) for 5 ticks.", SelfTarget, 4, 0, 0, 0, st(Regen, 5, 100)),
    sk("nanite_swarm", "Nanite Swarm", "Power 70 and CORRODE (-30% defense) for 3 ticks.", Enemy, 4, 70, 0, 0, st(Corrode, 3, 100)),
    sk("self_assembly", "Self-Assembly", "Repairs 5% of max hp, then REGEN for 3 ticks.", SelfTarget, 5, 0, 5, 0, st(Regen, 3, 100)),
];
