//! One fighter's live state: effective stats, statuses, and its compiled rule tree.

use super::engine::{
    STATUS_STAT_PCT, S_BURN, S_CORRODE, S_FORTIFY, S_OVERCHARGE, S_POISON, S_REGEN, S_SHIELD,
    S_SLOW,
};
use super::log::RawSide;
use super::{Biome, Fighter, UPGRADE_PCT_PER_LEVEL, UPGRADE_SPEED_PER_LEVEL};
use crate::sim::catalog::{self, RobotDef, SKILLS};
use crate::sim::rules::{Action, Condition, FighterView, View};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Decision {
    Attack,
    Defend,
    Skill(u8),
}

#[derive(Debug, Clone)]
pub(super) struct Side {
    pub(super) robot: &'static RobotDef,
    /// Hp, max hp and shield are in hundredths of a point.
    pub(super) max_hp: i64,
    pub(super) hp: i64,
    pub(super) energy: i64,
    pub(super) max_energy: i64,
    pub(super) regen: i64,
    /// Stats in hundredths so upgrade percentages keep their precision.
    pub(super) attack_c: i64,
    pub(super) defense_c: i64,
    pub(super) speed_c: i64,
    pub(super) biome_pct: i64,
    pub(super) shield: i64,
    pub(super) status: [u8; 9],
    pub(super) defending: bool,
    /// Rules in evaluation order, with skills the robot lacks already dropped.
    pub(super) rules: Vec<(Condition, Decision)>,
}

/// BURN: percent of max hp lost at the end of each tick.
pub const BURN_PCT: i64 = 1;
/// POISON: percent of max hp lost at the end of each tick.
pub const POISON_PCT: i64 = 1;
/// REGEN: percent of max hp healed at the end of each tick.
pub const REGEN_PCT: i64 = 2;

pub(super) fn pct_of(x: i64, pct: i64) -> i64 {
    (x * pct / 100).max(1)
}

impl Side {
    pub(super) fn new(f: &Fighter, biome: Biome) -> Side {
        let r = f.robot;
        let up = f.upgrades;
        let pilot = f.pilot.unwrap_or_default();
        let per = i64::from(UPGRADE_PCT_PER_LEVEL);
        let hp_pct = 100 + per * i64::from(up.hp) + i64::from(pilot.hp_pct);
        // Hundredths of a hit point: percentages of max hp stay exact, so one point of base hp
        // never flips a rounding step.
        let max_hp = (i64::from(r.base_hp) * hp_pct).max(100);
        let speed = i64::from(r.base_speed)
            + i64::from(UPGRADE_SPEED_PER_LEVEL) * i64::from(up.speed)
            + i64::from(pilot.speed);
        Side {
            robot: r,
            max_hp,
            hp: max_hp,
            energy: 0,
            max_energy: i64::from(r.base_energy),
            regen: i64::from(r.energy_regen),
            attack_c: i64::from(r.base_attack)
                * (100 + per * i64::from(up.attack) + i64::from(pilot.attack_pct)),
            defense_c: i64::from(r.base_defense)
                * (100 + per * i64::from(up.defense) + i64::from(pilot.defense_pct)),
            speed_c: speed * 100,
            biome_pct: i64::from(r.biome_bonus_in(biome)),
            shield: 0,
            status: [0; 9],
            defending: false,
            rules: compile(f),
        }
    }

    pub(super) fn has(&self, s: usize) -> bool {
        self.status[s] > 0
    }

    pub(super) fn attack_eff(&self) -> i64 {
        let boost = if self.has(S_OVERCHARGE) {
            STATUS_STAT_PCT
        } else {
            0
        };
        self.attack_c * (100 + self.biome_pct + boost) / 100
    }

    pub(super) fn defense_eff(&self) -> i64 {
        let mut pct = 100;
        if self.has(S_FORTIFY) {
            pct += STATUS_STAT_PCT;
        }
        if self.has(S_CORRODE) {
            pct -= STATUS_STAT_PCT;
        }
        (self.defense_c * pct / 100).max(1)
    }

    pub(super) fn speed_eff(&self) -> i64 {
        let slow = if self.has(S_SLOW) { STATUS_STAT_PCT } else { 0 };
        self.speed_c * (100 - slow) / 100
    }

    pub(super) fn view(&self) -> FighterView {
        FighterView {
            hp: points(self.hp),
            max_hp: points(self.max_hp),
            hp_pct: self.hp * 100 / self.max_hp.max(1),
            energy: self.energy,
            max_energy: self.max_energy,
            shield: points(self.shield),
            attack: self.attack_eff() / 100,
            defense: self.defense_eff() / 100,
            speed: self.speed_eff() / 100,
            status: self.status,
        }
    }

    pub(super) fn decide(&self, view: &View) -> Decision {
        for (cond, decision) in &self.rules {
            if !cond.holds(view) {
                continue;
            }
            match *decision {
                Decision::Skill(k) => {
                    let cost = SKILLS
                        .get(usize::from(k))
                        .map_or(i64::MAX, |s| i64::from(s.energy_cost));
                    if self.energy >= cost {
                        return *decision;
                    }
                }
                other => return other,
            }
        }
        Decision::Attack
    }

    pub(super) fn heal(&mut self, amount: i64) {
        self.hp = (self.hp + amount).min(self.max_hp);
    }

    /// Takes a hit: the shield absorbs first.
    pub(super) fn take(&mut self, dmg: i64) {
        let absorbed = dmg.min(self.shield);
        self.shield -= absorbed;
        if self.shield == 0 {
            self.status[S_SHIELD] = 0;
        }
        self.hp = (self.hp - (dmg - absorbed)).max(0);
    }

    pub(super) fn raw(&self, out: &mut RawSide) {
        out.hp = clamp_u32(points(self.hp));
        out.energy = clamp_u32(self.energy);
        out.shield = clamp_u32(points(self.shield));
        out.status = self.status;
    }
}

/// Whole points shown to players from hundredths, rounded up so a robot still standing never
/// shows 0 hp.
pub(super) fn points(centi: i64) -> i64 {
    (centi.max(0) + 99) / 100
}

pub(super) fn clamp_u32(v: i64) -> u32 {
    u32::try_from(v.max(0)).unwrap_or(u32::MAX)
}

/// Rules in evaluation order as (condition, decision); rules after one that always fires are
/// unreachable and dropped.
pub(super) fn compile(f: &Fighter) -> Vec<(Condition, Decision)> {
    let mut out = Vec::new();
    for i in f.tree.evaluation_order() {
        let rule = &f.tree.rules[i];
        let decision = match rule.action {
            Action::Attack => Decision::Attack,
            Action::Defend => Decision::Defend,
            Action::Skill(s) => {
                let Some(k) = catalog::skill_index(s.id).filter(|_| f.robot.has_skill(s.id)) else {
                    continue;
                };
                Decision::Skill(k as u8)
            }
        };
        let always = rule.condition == Condition::Always;
        out.push((rule.condition.clone(), decision));
        if always && !matches!(decision, Decision::Skill(_)) {
            break;
        }
    }
    out
}

/// Burn, poison and regen act, statuses tick down, energy regenerates.
pub(super) fn end_of_tick(s: &mut Side) {
    let mut delta = 0;
    if s.has(S_BURN) {
        delta -= pct_of(s.max_hp, BURN_PCT);
    }
    if s.has(S_POISON) {
        delta -= pct_of(s.max_hp, POISON_PCT);
    }
    if s.has(S_REGEN) {
        delta += pct_of(s.max_hp, REGEN_PCT);
    }
    s.hp = (s.hp + delta).clamp(0, s.max_hp);
    for t in &mut s.status {
        *t = t.saturating_sub(1);
    }
    if s.status[S_SHIELD] == 0 {
        s.shield = 0;
    }
    s.energy = (s.energy + s.regen).min(s.max_energy);
}
