//! Optional chess-clock mode (a documented extension beyond the spec): each player has a time
//! bank for the whole battle instead of a fresh `turn_time_limit` every turn, and the time spent
//! in each phase is recorded per player.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Phase;

/// Per-player time banks and per-phase time totals.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChessClock {
    /// Milliseconds each bank started with (`bank_s` at creation).
    #[serde(default)]
    pub(crate) initial_ms: i64,
    /// Milliseconds left in each player's bank at the start of their current/next turn,
    /// indexed like `players`. The running turn's time is charged when the turn ends.
    pub(crate) bank_ms: [i64; 2],
    /// Milliseconds each player spent in each phase, indexed like `players`.
    pub(crate) spent_ms: [BTreeMap<Phase, i64>; 2],
}

impl ChessClock {
    /// Both players start with `bank_s` seconds.
    pub fn new(bank_s: u32) -> Self {
        let bank = i64::from(bank_s).saturating_mul(1000);
        Self {
            initial_ms: bank,
            bank_ms: [bank, bank],
            spent_ms: Default::default(),
        }
    }

    /// The bank of `player` (0 for an out-of-range index, which only corrupt data can give).
    pub fn bank(&self, player: usize) -> i64 {
        self.bank_ms.get(player).copied().unwrap_or(0)
    }

    /// Adds `ms` to `player`'s time in `phase`.
    pub(crate) fn record_phase(&mut self, player: usize, phase: Phase, ms: i64) {
        if ms <= 0 {
            return;
        }
        if let Some(map) = self.spent_ms.get_mut(player) {
            let slot = map.entry(phase).or_insert(0);
            *slot = slot.saturating_add(ms);
        }
    }

    /// Charges a finished turn's `used_ms` to `player`'s bank (never below 0).
    pub(crate) fn charge_turn(&mut self, player: usize, used_ms: i64) {
        if let Some(b) = self.bank_ms.get_mut(player) {
            *b = b.saturating_sub(used_ms.max(0)).max(0);
        }
    }
}
