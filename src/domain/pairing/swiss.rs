//! Swiss pairing by minimum-cost perfect matching over the whole field.
//!
//! Cost levels, each strictly dominating the sum of all lower ones:
//! 1. a second bye for a player, 2. a rematch, 3. the bye going to a higher-ranked
//!    player than the lowest-ranked one without a bye, 4. floats (squared distance
//!    between score groups, capped at 16 groups) and finally rank distance, so
//!    players meet the nearest-ranked player of their own score group (1v2, 3v4).
//!
//! An odd field gets a phantom "bye" vertex, so the bye choice is optimised
//! together with the rest: a bye never forces a rematch that could be avoided.

use std::collections::{BTreeMap, BTreeSet};

use rand_pcg::rand_core::Rng;
use rand_pcg::Pcg32;
use serde::{Deserialize, Serialize};

use super::matching::max_weight_matching_priced;
use super::standings::{standings, StandingsConfig};
use super::{History, PairingError, Player, PlayerId};

/// Largest field the swiss engine accepts (keeps the integer costs in range).
pub(crate) const MAX_PLAYERS: usize = 4096;

/// Rank distance of the candidate edges solved first (see `max_weight_matching_priced`).
const WINDOW: usize = 16;

/// How round 1 is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Round1Mode {
    /// By seed, top half against bottom half (1 v n/2+1).
    BySeed,
    /// Shuffled with `Pcg32` from the recorded seed, then folded like `BySeed`.
    Random(u64),
}

/// Swiss settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwissConfig {
    /// Standings used to rank players (and the value of a bye).
    pub standings: StandingsConfig,
    /// Round 1 ordering.
    pub round1: Round1Mode,
}

impl Default for SwissConfig {
    fn default() -> Self {
        SwissConfig {
            standings: StandingsConfig::default(),
            round1: Round1Mode::BySeed,
        }
    }
}

/// One game of a generated round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TablePairing {
    /// Table number, 1-based and distinct in the round.
    pub table: u32,
    /// Higher-ranked player.
    pub a: PlayerId,
    /// Lower-ranked player.
    pub b: PlayerId,
}

/// A generated swiss round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwissRound {
    /// Round number (1-based).
    pub round: u32,
    /// Games, by table.
    pub pairings: Vec<TablePairing>,
    /// Player with the bye (odd field).
    pub bye: Option<PlayerId>,
    /// Rematches that could not be avoided.
    pub(crate) rematches: u32,
    /// Games on a table one of its players already used (unavoidable ones).
    pub(crate) table_repeats: u32,
    /// Short human explanation of floats and byes.
    pub explanation: String,
}

/// Pairs the next round for the active `players` from the stored `history`.
pub fn pair_swiss_round(
    players: &[Player],
    history: &History,
    config: &SwissConfig,
) -> Result<SwissRound, PairingError> {
    let n = players.len();
    if n < 2 {
        return Err(PairingError::TooFewPlayers(n));
    }
    if n > MAX_PLAYERS {
        return Err(PairingError::TooManyPlayers {
            max: MAX_PLAYERS,
            got: n,
        });
    }
    let mut seen = BTreeSet::new();
    for p in players {
        if !seen.insert(p.id) {
            return Err(PairingError::DuplicatePlayer(p.id));
        }
    }
    let round = history.last_round().saturating_add(1);
    if round == 1 {
        return Ok(first_round(players, config.round1));
    }
    let table = standings(players, history, &config.standings);
    let ids: Vec<PlayerId> = table.iter().map(|s| s.player).collect();
    let points: Vec<u32> = table.iter().map(|s| s.match_points).collect();
    let mut groups: Vec<u32> = points.clone();
    groups.dedup();
    let group_of: Vec<i64> = points
        .iter()
        .map(|p| groups.iter().position(|g| g == p).unwrap_or(0) as i64)
        .collect();
    let mut met: BTreeMap<(PlayerId, PlayerId), i64> = BTreeMap::new();
    for g in &history.games {
        *met.entry(key(g.a, g.b)).or_insert(0) += 1;
    }
    let had_bye: BTreeSet<PlayerId> = history.byes.iter().map(|b| b.player).collect();

    let ni = n as i64;
    let a = ni + 1;
    let k_bye = (ni / 2 + 1) * (256 * a + ni);
    let rematch = k_bye * ni + 1;
    // Meetings per pair are capped at 4 below, so this beats every rematch total.
    let repeat_bye = rematch * (2 * ni + 4);
    let big = repeat_bye * 2;
    let phantom = n % 2 == 1;
    let weight = |i: usize, j: usize| -> Option<i64> {
        if j == n {
            let id = ids[i];
            let cost =
                if had_bye.contains(&id) { repeat_bye } else { 0 } + k_bye * (ni - 1 - i as i64);
            return Some(big - cost);
        }
        let gd = (group_of[j] - group_of[i]).abs().min(16);
        let cost = met.get(&key(ids[i], ids[j])).copied().unwrap_or(0).min(4) * rematch
            + gd * gd * a
            + (j - i) as i64;
        Some(big - cost)
    };
    // The phantom bye vertex is last: the window links it to the lowest-ranked
    // players first, pricing brings in any other edge the optimum needs.
    let mate = max_weight_matching_priced(n + usize::from(phantom), WINDOW, weight);

    let mut pairs = Vec::new();
    let mut bye = None;
    let mut text = Vec::new();
    let mut rematches = 0;
    for i in 0..n {
        match mate[i] {
            Some(j) if j == n => {
                bye = Some(ids[i]);
                let why = if had_bye.contains(&ids[i]) {
                    "every player has had a bye; second bye"
                } else {
                    "lowest-ranked player without a bye that keeps the round rematch-free"
                };
                text.push(format!(
                    "Bye: player {} ({} pts), {why}; scored as a win.",
                    ids[i].0, points[i]
                ));
            }
            Some(j) if j > i => {
                if met.contains_key(&key(ids[i], ids[j])) {
                    rematches += 1;
                    text.push(format!("Unavoidable rematch: {} v {}.", ids[i].0, ids[j].0));
                }
                if points[i] != points[j] {
                    text.push(format!(
                        "Float: player {} ({} pts) plays down against {} ({} pts).",
                        ids[i].0, points[i], ids[j].0, points[j]
                    ));
                }
                pairs.push((ids[i], ids[j]));
            }
            _ => {}
        }
    }
    let (pairings, table_repeats) = assign_tables(&pairs, history);
    if text.is_empty() {
        text.push("All players paired within their score group.".to_string());
    }
    Ok(SwissRound {
        round,
        pairings,
        bye,
        rematches,
        table_repeats,
        explanation: text.join(" "),
    })
}

fn key(a: PlayerId, b: PlayerId) -> (PlayerId, PlayerId) {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

fn first_round(players: &[Player], mode: Round1Mode) -> SwissRound {
    let mut order: Vec<Player> = players.to_vec();
    order.sort_by_key(|p| (p.seed, p.id));
    if let Round1Mode::Random(seed) = mode {
        let mut rng = Pcg32::new(seed, 0x0a02_bdbf_7bb3_c0a7);
        for i in (1..order.len()).rev() {
            let j = (rng.next_u64() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
    }
    let bye = if order.len() % 2 == 1 {
        order.pop().map(|p| p.id)
    } else {
        None
    };
    let half = order.len() / 2;
    let pairs: Vec<(PlayerId, PlayerId)> = (0..half)
        .map(|i| (order[i].id, order[i + half].id))
        .collect();
    let pairings = pairs
        .iter()
        .enumerate()
        .map(|(i, &(a, b))| TablePairing {
            table: i as u32 + 1,
            a,
            b,
        })
        .collect();
    let how = match mode {
        Round1Mode::BySeed => "Round 1 by seed: top half v bottom half.".to_string(),
        Round1Mode::Random(s) => format!("Round 1 random (seed {s}): shuffled, then folded."),
    };
    let explanation = match bye {
        Some(b) => format!(
            "{how} Bye: player {} (last in order); scored as a win.",
            b.0
        ),
        None => how,
    };
    SwissRound {
        round: 1,
        pairings,
        bye,
        rematches: 0,
        table_repeats: 0,
        explanation,
    }
}

/// Assigns tables 1..=k, top pairs first, avoiding tables a player already used:
/// a maximum bipartite matching (Kuhn) on the allowed pair/table edges, leftovers
/// take the remaining tables in order.
fn assign_tables(pairs: &[(PlayerId, PlayerId)], history: &History) -> (Vec<TablePairing>, u32) {
    let k = pairs.len();
    let mut used: BTreeMap<PlayerId, BTreeSet<u32>> = BTreeMap::new();
    for g in &history.games {
        if let Some(t) = g.table {
            used.entry(g.a).or_default().insert(t);
            used.entry(g.b).or_default().insert(t);
        }
    }
    let allowed: Vec<Vec<usize>> = pairs
        .iter()
        .map(|(a, b)| {
            (0..k)
                .filter(|&t| {
                    let t = t as u32 + 1;
                    !used.get(a).is_some_and(|s| s.contains(&t))
                        && !used.get(b).is_some_and(|s| s.contains(&t))
                })
                .collect()
        })
        .collect();
    let mut table_owner = vec![usize::MAX; k];
    for p in 0..k {
        let mut seen = vec![false; k];
        kuhn(p, &allowed, &mut table_owner, &mut seen);
    }
    let mut table_of = vec![usize::MAX; k];
    for (t, &p) in table_owner.iter().enumerate() {
        if p != usize::MAX {
            table_of[p] = t;
        }
    }
    let mut free: Vec<usize> = (0..k).filter(|&t| table_owner[t] == usize::MAX).collect();
    free.reverse();
    let mut repeats = 0;
    for t in table_of.iter_mut() {
        if *t == usize::MAX {
            *t = free.pop().unwrap_or(0);
            repeats += 1;
        }
    }
    let mut out: Vec<TablePairing> = pairs
        .iter()
        .zip(&table_of)
        .map(|(&(a, b), &t)| TablePairing {
            table: t as u32 + 1,
            a,
            b,
        })
        .collect();
    out.sort_by_key(|p| p.table);
    (out, repeats)
}

fn kuhn(p: usize, allowed: &[Vec<usize>], owner: &mut [usize], seen: &mut [bool]) -> bool {
    for &t in &allowed[p] {
        if seen[t] {
            continue;
        }
        seen[t] = true;
        if owner[t] == usize::MAX || kuhn(owner[t], allowed, owner, seen) {
            owner[t] = p;
            return true;
        }
    }
    false
}
