//! The tick engine. Formulas are mirrored in `docs/GAME_RULES.md`.

use rand_pcg::rand_core::Rng;
use rand_pcg::Pcg32;
use sha2::{Digest, Sha256};

use super::log::{ActionTaken, BiomeEvent, Outcome, RawSide, RawTick, WinReason, Winner, NO_SKILL};
use super::side::{clamp_u32, end_of_tick, pct_of, points, Decision, Side};
use super::{BattleInputs, Biome, TickEvent};
use crate::sim::catalog::{StatusKind, Target, SKILLS};
use crate::sim::rules::View;
use crate::sim::{SimError, ENGINE_VERSION};

/// Stream of the generator (PCG's default increment), fixed so `lcg_seed` alone decides.
const PCG_STREAM: u64 = 0x0a02_bdbf_7bb3_c0a7;
/// Power of a basic ATTACK, in tenths.
pub const ATTACK_POWER: i64 = 50;
/// Chance of a critical hit, in percent.
pub const CRIT_PCT: u32 = 8;
/// Damage of a critical hit, in percent of a normal one.
pub const CRIT_DAMAGE_PCT: i64 = 150;
/// Damage varies uniformly within this percent range.
pub const VARIANCE_PCT: (i64, i64) = (80, 120);
/// Damage taken while defending, in percent.
pub const DEFEND_DAMAGE_PCT: i64 = 50;
/// Chance of a biome event each tick, in percent.
pub const BIOME_EVENT_PCT: u32 = 10;
/// How much SLOW, CORRODE, OVERCHARGE and FORTIFY change their stat, in percent.
pub const STATUS_STAT_PCT: i64 = 30;
/// After this tick, every hit deals more damage ("overtime"), so heal loops cannot stall.
pub const OVERTIME_START: u32 = 40;
/// Extra damage per tick past [`OVERTIME_START`], in percent (tick 50: +100%).
pub const OVERTIME_PCT_PER_TICK: i64 = 10;
/// Cap on the overtime bonus, in percent; it also keeps the damage product far inside `i64`.
pub const OVERTIME_MAX_PCT: i64 = 1000;
/// A target dodges 1% of strikes for every this many points it is faster than the attacker.
pub const DODGE_SPEED_PER_PCT: i64 = 3;
/// Highest dodge chance, in percent.
pub const MAX_DODGE_PCT: i64 = 20;
/// Ticks a shield lasts.
pub const SHIELD_TICKS: u8 = 3;

pub(super) const S_BURN: usize = StatusKind::Burn.index();
pub(super) const S_POISON: usize = StatusKind::Poison.index();
pub(super) const S_STUN: usize = StatusKind::Stun.index();
pub(super) const S_SLOW: usize = StatusKind::Slow.index();
pub(super) const S_CORRODE: usize = StatusKind::Corrode.index();
pub(super) const S_OVERCHARGE: usize = StatusKind::Overcharge.index();
pub(super) const S_FORTIFY: usize = StatusKind::Fortify.index();
pub(super) const S_REGEN: usize = StatusKind::Regen.index();
pub(super) const S_SHIELD: usize = StatusKind::Shield.index();

/// A battle in progress. Drive it with [`Battle::step`] (keeping events) or
/// [`Battle::fast_forward`] (not keeping them); both advance the log hash.
#[derive(Debug, Clone)]
pub struct Battle {
    sides: [Side; 2],
    rng: Pcg32,
    tick: u32,
    max_ticks: u32,
    biome: Biome,
    outcome: Option<Outcome>,
    hasher: Sha256,
    hashing: bool,
}

impl Battle {
    /// Sets up a battle after checking the caps of the inputs.
    pub fn new(inputs: BattleInputs) -> Result<Battle, SimError> {
        inputs.check()?;
        let mut hasher = Sha256::new();
        hasher.update(b"warroom-sim");
        hasher.update(ENGINE_VERSION.to_le_bytes());
        Ok(Battle {
            sides: [
                Side::new(&inputs.p1, inputs.biome),
                Side::new(&inputs.p2, inputs.biome),
            ],
            rng: Pcg32::new(inputs.seed, PCG_STREAM),
            tick: 0,
            max_ticks: inputs.max_ticks,
            biome: inputs.biome,
            outcome: None,
            hasher,
            hashing: true,
        })
    }

    /// Plays one tick and returns it; `None` once the battle is over.
    pub fn step(&mut self) -> Option<TickEvent> {
        if self.outcome.is_some() {
            return None;
        }
        Some(self.advance().to_event())
    }

    /// Plays up to `n` ticks without building events (the hash still advances, so a battle
    /// resumed this way ends with the same [`Battle::log_hash`]). Returns ticks played.
    pub fn fast_forward(&mut self, n: u32) -> u32 {
        let mut done = 0;
        while done < n && self.outcome.is_none() {
            self.advance();
            done += 1;
        }
        done
    }

    /// Fast-forwards until `tick` ticks have been played (or the battle ends).
    pub fn fast_forward_to(&mut self, tick: u32) -> u32 {
        self.fast_forward(tick.saturating_sub(self.tick))
    }

    /// Turns the log hash off (or back on); off is for callers that only want the outcome.
    pub(crate) fn set_hashing(&mut self, on: bool) {
        self.hashing = on;
    }

    /// Ticks played so far.
    pub fn tick(&self) -> u32 {
        self.tick
    }

    /// The tick cap.
    pub fn max_ticks(&self) -> u32 {
        self.max_ticks
    }

    /// The arena.
    pub fn biome(&self) -> Biome {
        self.biome
    }

    /// The result, once over.
    pub fn outcome(&self) -> Option<Outcome> {
        self.outcome
    }

    /// Whether the battle has ended.
    pub fn is_over(&self) -> bool {
        self.outcome.is_some()
    }

    /// Current generator state (`lcg_state`).
    pub fn lcg_state(&self) -> u64 {
        self.rng.state()
    }

    /// Max hp of player 1 (`0`) or player 2 (`1`), for health bars.
    pub fn max_hp(&self, side: usize) -> u32 {
        self.sides
            .get(side)
            .map_or(0, |s| clamp_u32(points(s.max_hp)))
    }

    /// Current hp of player 1 (`0`) or player 2 (`1`).
    pub fn hp(&self, side: usize) -> u32 {
        self.sides.get(side).map_or(0, |s| clamp_u32(points(s.hp)))
    }

    /// Hex SHA-256 of the ticks played so far (the battle's `log_hash` once over).
    pub fn log_hash(&self) -> String {
        hex::encode(self.hasher.clone().finalize())
    }

    /// The outcome, or the standing as if the cap were reached now.
    pub(super) fn final_outcome(&self) -> Outcome {
        self.outcome
            .unwrap_or_else(|| self.standing(WinReason::TickCap))
    }

    fn standing(&self, reason: WinReason) -> Outcome {
        let [a, b] = &self.sides;
        let (pa, pb) = (a.hp * b.max_hp, b.hp * a.max_hp);
        let winner = match pa.cmp(&pb) {
            std::cmp::Ordering::Greater => Winner::P1,
            std::cmp::Ordering::Less => Winner::P2,
            std::cmp::Ordering::Equal => Winner::Draw,
        };
        Outcome {
            winner,
            total_ticks: self.tick,
            reason,
        }
    }

    fn any_down(&self) -> bool {
        self.sides[0].hp <= 0 || self.sides[1].hp <= 0
    }

    fn advance(&mut self) -> RawTick {
        self.tick += 1;
        let tick = self.tick;
        let (v0, v1) = (self.sides[0].view(), self.sides[1].view());
        let biome = self.biome.index();
        let decisions = [
            self.sides[0].decide(&View {
                me: v0,
                enemy: v1,
                tick: i64::from(tick),
                biome,
            }),
            self.sides[1].decide(&View {
                me: v1,
                enemy: v0,
                tick: i64::from(tick),
                biome,
            }),
        ];
        let mut raw = RawTick {
            tick,
            ..RawTick::default()
        };
        for (side, d) in self.sides.iter_mut().zip(decisions) {
            side.defending = d == Decision::Defend;
        }
        let roll = self.rng.next_u32();
        if roll % 100 < BIOME_EVENT_PCT {
            let event = BiomeEvent::ALL[biome % BiomeEvent::ALL.len()];
            raw.event = event.index() as u8 + 1;
            self.biome_event(event);
        }
        let (s0, s1) = (self.sides[0].speed_eff(), self.sides[1].speed_eff());
        let first = match s0.cmp(&s1) {
            std::cmp::Ordering::Greater => 0,
            std::cmp::Ordering::Less => 1,
            std::cmp::Ordering::Equal => (self.rng.next_u32() & 1) as usize,
        };
        for i in [first, 1 - first] {
            let out = &mut raw.sides[i];
            out.skill = NO_SKILL;
            out.action = ActionTaken::None as u8;
            if self.any_down() {
                continue;
            }
            if self.sides[i].has(S_STUN) {
                out.action = ActionTaken::Stunned as u8;
                continue;
            }
            self.act(i, decisions[i], &mut raw.sides[i]);
        }
        if !self.any_down() {
            for s in &mut self.sides {
                end_of_tick(s);
            }
        }
        for (side, out) in self.sides.iter_mut().zip(raw.sides.iter_mut()) {
            side.defending = false;
            side.raw(out);
        }
        raw.lcg_state = self.rng.state();
        if self.hashing {
            self.hasher.update(raw.encode());
        }
        self.outcome = self.check_end();
        raw
    }

    fn check_end(&self) -> Option<Outcome> {
        let down = (self.sides[0].hp <= 0, self.sides[1].hp <= 0);
        let (winner, reason) = match down {
            (true, true) => (Winner::Draw, WinReason::DoubleKo),
            (true, false) => (Winner::P2, WinReason::Ko),
            (false, true) => (Winner::P1, WinReason::Ko),
            (false, false) if self.tick >= self.max_ticks => {
                return Some(self.standing(WinReason::TickCap))
            }
            (false, false) => return None,
        };
        Some(Outcome {
            winner,
            total_ticks: self.tick,
            reason,
        })
    }

    fn biome_event(&mut self, event: BiomeEvent) {
        for s in &mut self.sides {
            match event {
                BiomeEvent::PowerSurge => s.energy = (s.energy + 2).min(s.max_energy),
                BiomeEvent::Overgrowth => s.heal(pct_of(s.max_hp, 4)),
                BiomeEvent::Sandstorm => s.hp = (s.hp - pct_of(s.max_hp, 3)).max(0),
                BiomeEvent::Blizzard => s.energy = (s.energy - 2).max(0),
                BiomeEvent::Eruption => s.status[S_BURN] = s.status[S_BURN].max(2),
                BiomeEvent::AcidRain => s.status[S_CORRODE] = s.status[S_CORRODE].max(2),
            }
        }
    }

    fn act(&mut self, i: usize, decision: Decision, out: &mut RawSide) {
        let skill = match decision {
            Decision::Defend => {
                out.action = ActionTaken::Defend as u8;
                return;
            }
            Decision::Attack => None,
            Decision::Skill(k) => SKILLS
                .get(usize::from(k))
                .filter(|s| self.sides[i].energy >= i64::from(s.energy_cost))
                .map(|s| (k, s)),
        };
        let Some((k, skill)) = skill else {
            // Chosen ATTACK, or a skill no longer affordable after a biome event.
            out.action = ActionTaken::Attack as u8;
            self.hit(i, ATTACK_POWER, out);
            return;
        };
        out.action = ActionTaken::Skill as u8;
        out.skill = k;
        self.sides[i].energy -= i64::from(skill.energy_cost);
        // A dodged skill misses entirely: no damage and no status on the enemy.
        let landed = skill.power == 0 || self.hit(i, i64::from(skill.power), out);
        let me = &mut self.sides[i];
        if skill.heal_pct > 0 {
            me.heal(pct_of(me.max_hp, i64::from(skill.heal_pct)));
        }
        if skill.shield_pct > 0 {
            me.shield = me
                .shield
                .max(pct_of(me.max_hp, i64::from(skill.shield_pct)));
            me.status[S_SHIELD] = me.status[S_SHIELD].max(SHIELD_TICKS);
        }
        if let Some(st) = skill.status {
            let lands =
                st.chance_pct >= 100 || self.rng.next_u32() % 100 < u32::from(st.chance_pct);
            let target = if skill.target == Target::Enemy {
                1 - i
            } else {
                i
            };
            let t = &mut self.sides[target];
            let missed = target != i && !landed;
            if lands && !missed && t.hp > 0 && st.status != StatusKind::Shield {
                let slot = &mut t.status[st.status.index()];
                *slot = (*slot).max(st.ticks);
            }
        }
    }

    /// Side `i` strikes with `power`: the target may dodge, else it takes the damage.
    /// Returns whether the strike landed.
    fn hit(&mut self, i: usize, power: i64, out: &mut RawSide) -> bool {
        let faster_by = (self.sides[1 - i].speed_eff() - self.sides[i].speed_eff()) / 100;
        let dodge = (faster_by / DODGE_SPEED_PER_PCT).clamp(0, MAX_DODGE_PCT) as u32;
        if dodge > 0 && self.rng.next_u32() % 100 < dodge {
            out.miss = true;
            return false;
        }
        let (dmg, crit) = self.damage(i, power);
        self.sides[1 - i].take(dmg);
        out.damage = clamp_u32((dmg + 50) / 100);
        out.crit = crit;
        true
    }

    /// Damage of a hit by side `i` with `power` (tenths) on the other side, in hundredths of hp.
    fn damage(&mut self, i: usize, power: i64) -> (i64, bool) {
        let (a, d) = (&self.sides[i], &self.sides[1 - i]);
        let atk = a.attack_eff();
        let def = d.defense_eff();
        let elem = i64::from(a.robot.element.multiplier_vs(d.robot.element));
        let guard = if d.defending { DEFEND_DAMAGE_PCT } else { 100 };
        let r = self.rng.next_u32();
        let span = (VARIANCE_PCT.1 - VARIANCE_PCT.0 + 1) as u32;
        let variance = VARIANCE_PCT.0 + i64::from(r % span);
        let crit = (r >> 16) % 100 < CRIT_PCT;
        let crit_pct = if crit { CRIT_DAMAGE_PCT } else { 100 };
        let overtime = 100
            + (OVERTIME_PCT_PER_TICK * i64::from(self.tick.saturating_sub(OVERTIME_START)))
                .min(OVERTIME_MAX_PCT);
        let num = power * atk * elem * variance * crit_pct * guard * overtime;
        // Power is in tenths and five factors are percents; the result is in hundredths of hp.
        let den = (atk + def) * 10 * 100_000_000;
        ((num / den).max(1), crit)
    }
}
