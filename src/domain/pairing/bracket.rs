//! Single and double elimination brackets, replayed from stored results.
//!
//! The bracket shape is fixed by the field size; feeding the results so far gives
//! every match's slots, the matches ready to play, and the champion once done.
//! Byes go to the top seeds (standard 1 v N bracket order, so top seeds meet late).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::swiss::TablePairing;
use super::{PairingError, Player, PlayerId};

/// Which part of the bracket a match belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum BracketKind {
    /// Winners (or the only) bracket.
    Winners,
    /// Losers bracket (double elimination).
    Losers,
    /// Grand final.
    GrandFinal,
    /// Bracket reset after the losers-bracket champion wins the grand final.
    Reset,
}

/// Stable id of a bracket match, to store with its battle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MatchId {
    /// Bracket part.
    pub kind: BracketKind,
    /// Round inside that part, 1-based.
    pub round: u32,
    /// Index inside the round, 0-based.
    pub index: u32,
}

/// Occupant of one side of a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Slot {
    /// A known player.
    Player(PlayerId),
    /// Nobody will come (bye).
    Bye,
    /// Not decided yet.
    Pending,
}

/// A match with its current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BracketMatch {
    /// Id.
    pub id: MatchId,
    /// First side (better seed path).
    pub a: Slot,
    /// Second side.
    pub b: Slot,
    /// Winner once decided (`Bye` when both sides were byes).
    pub winner: Slot,
    /// Loser once decided.
    pub loser: Slot,
}

/// A stored result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BracketResult {
    /// Match it settles.
    pub id: MatchId,
    /// Who won.
    pub winner: PlayerId,
}

/// Replayed state of a bracket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BracketState {
    /// All matches in play order (a reset that is not needed is left out).
    pub matches: Vec<BracketMatch>,
    /// Champion once the event is complete.
    pub(crate) champion: Option<PlayerId>,
}

impl BracketState {
    /// True once a champion is known.
    pub fn is_complete(&self) -> bool {
        self.champion.is_some()
    }

    /// Matches with both players known and no result: the next pairings, with
    /// tables 1..=k in bracket order.
    pub fn ready(&self) -> Vec<(MatchId, TablePairing)> {
        self.matches
            .iter()
            .filter_map(|m| match (m.a, m.b, m.winner) {
                (Slot::Player(a), Slot::Player(b), Slot::Pending) => Some((m.id, a, b)),
                _ => None,
            })
            .enumerate()
            .map(|(i, (id, a, b))| {
                let table = u32::try_from(i + 1).unwrap_or(u32::MAX);
                (id, TablePairing { table, a, b })
            })
            .collect()
    }
}

#[derive(Clone, Copy)]
enum Src {
    Seed(usize),
    Winner(usize),
    Loser(usize),
}

/// Standard bracket order for `size` (a power of two): seed numbers, 1-based,
/// by bracket position (8 -> 1,8,4,5,2,7,3,6).
pub(crate) fn bracket_order(size: usize) -> Vec<usize> {
    let mut order = vec![1usize];
    while order.len() < size {
        let m = order.len() * 2 + 1;
        order = order.iter().flat_map(|&s| [s, m - s]).collect();
    }
    order
}

/// Seed-ordered ids, winners-bracket rounds (match indices) and the shape.
type Seeded = (Vec<PlayerId>, Vec<Vec<usize>>, Shape);
/// Matches and each match's (winner, loser).
type Replayed = (Vec<BracketMatch>, Vec<(Slot, Slot)>);

struct Shape {
    ids: Vec<MatchId>,
    srcs: Vec<(Src, Src)>,
}

impl Shape {
    fn push(&mut self, kind: BracketKind, round: usize, index: usize, a: Src, b: Src) -> usize {
        self.ids.push(MatchId {
            kind,
            round: round as u32,
            index: index as u32,
        });
        self.srcs.push((a, b));
        self.ids.len() - 1
    }
}

fn seeded(players: &[Player]) -> Result<Seeded, PairingError> {
    let n = players.len();
    if n < 2 {
        return Err(PairingError::TooFewPlayers(n));
    }
    if n > 1 << 16 {
        return Err(PairingError::TooManyPlayers {
            max: 1 << 16,
            got: n,
        });
    }
    let mut order = players.to_vec();
    order.sort_by_key(|p| (p.seed, p.id));
    for w in order.windows(2) {
        if w[0].id == w[1].id {
            return Err(PairingError::DuplicatePlayer(w[0].id));
        }
    }
    let ids: Vec<PlayerId> = order.iter().map(|p| p.id).collect();
    let size = n.next_power_of_two();
    let pos = bracket_order(size);
    let mut shape = Shape {
        ids: Vec::new(),
        srcs: Vec::new(),
    };
    let mut wb: Vec<Vec<usize>> = Vec::new();
    let first: Vec<usize> = (0..size / 2)
        .map(|i| {
            shape.push(
                BracketKind::Winners,
                1,
                i,
                Src::Seed(pos[2 * i]),
                Src::Seed(pos[2 * i + 1]),
            )
        })
        .collect();
    wb.push(first);
    while wb.last().is_some_and(|r| r.len() > 1) {
        let prev = wb.last().cloned().unwrap_or_default();
        let round = wb.len() + 1;
        let next = (0..prev.len() / 2)
            .map(|i| {
                shape.push(
                    BracketKind::Winners,
                    round,
                    i,
                    Src::Winner(prev[2 * i]),
                    Src::Winner(prev[2 * i + 1]),
                )
            })
            .collect();
        wb.push(next);
    }
    Ok((ids, wb, shape))
}

/// Single elimination state for `players` (seeded by `seed`) after `results`.
pub fn single_elim(
    players: &[Player],
    results: &[BracketResult],
) -> Result<BracketState, PairingError> {
    let (ids, wb, shape) = seeded(players)?;
    let last = wb.last().and_then(|r| r.first()).copied().unwrap_or(0);
    let (matches, outcome) = replay(&ids, &shape, results)?;
    let champion = match outcome[last].0 {
        Slot::Player(p) => Some(p),
        _ => None,
    };
    Ok(BracketState { matches, champion })
}

/// Double elimination: winners and losers brackets, a grand final, and when
/// `reset` is set a second final if the losers-bracket champion wins the first.
pub fn double_elim(
    players: &[Player],
    results: &[BracketResult],
    reset: bool,
) -> Result<BracketState, PairingError> {
    let (ids, wb, mut shape) = seeded(players)?;
    let k = wb.len();
    let wb_final = wb[k - 1][0];
    let lb_champ_src = if k == 1 {
        Src::Loser(wb_final)
    } else {
        let mut prev: Vec<usize> = (0..wb[0].len() / 2)
            .map(|i| {
                shape.push(
                    BracketKind::Losers,
                    1,
                    i,
                    Src::Loser(wb[0][2 * i]),
                    Src::Loser(wb[0][2 * i + 1]),
                )
            })
            .collect();
        let mut round = 1;
        for (j, drop) in wb.iter().enumerate().skip(1) {
            round += 1;
            // Alternate the drop-in order so early rematches are less likely.
            let flip = j % 2 == 1;
            let len = drop.len();
            prev = (0..prev.len())
                .map(|i| {
                    let d = if flip { drop[len - 1 - i] } else { drop[i] };
                    shape.push(
                        BracketKind::Losers,
                        round,
                        i,
                        Src::Winner(prev[i]),
                        Src::Loser(d),
                    )
                })
                .collect();
            if prev.len() > 1 {
                round += 1;
                prev = (0..prev.len() / 2)
                    .map(|i| {
                        shape.push(
                            BracketKind::Losers,
                            round,
                            i,
                            Src::Winner(prev[2 * i]),
                            Src::Winner(prev[2 * i + 1]),
                        )
                    })
                    .collect();
            }
        }
        Src::Winner(prev[0])
    };
    let gf = shape.push(
        BracketKind::GrandFinal,
        1,
        0,
        Src::Winner(wb_final),
        lb_champ_src,
    );
    let rs = shape.push(BracketKind::Reset, 1, 0, Src::Winner(gf), Src::Loser(gf));
    let (mut matches, outcome) = replay(&ids, &shape, results)?;
    let gf_m = matches[gf];
    let needs_reset =
        reset && matches!((gf_m.winner, gf_m.b), (Slot::Player(w), Slot::Player(b)) if w == b);
    let champion = if needs_reset {
        match outcome[rs].0 {
            Slot::Player(p) => Some(p),
            _ => None,
        }
    } else {
        matches.truncate(rs);
        match gf_m.winner {
            Slot::Player(p) => Some(p),
            _ => None,
        }
    };
    if !needs_reset && results.iter().any(|r| r.id == shape.ids[rs]) {
        return Err(PairingError::BadResult(format!("{:?}", shape.ids[rs])));
    }
    Ok(BracketState { matches, champion })
}

fn replay(
    ids: &[PlayerId],
    shape: &Shape,
    results: &[BracketResult],
) -> Result<Replayed, PairingError> {
    let by_id: BTreeMap<MatchId, PlayerId> = results.iter().map(|r| (r.id, r.winner)).collect();
    if let Some(r) = results.iter().find(|r| !shape.ids.contains(&r.id)) {
        return Err(PairingError::BadResult(format!("{:?}", r.id)));
    }
    let mut outcome: Vec<(Slot, Slot)> = Vec::with_capacity(shape.ids.len());
    let mut matches = Vec::with_capacity(shape.ids.len());
    for (m, &(sa, sb)) in shape.srcs.iter().enumerate() {
        let get = |s: Src, outcome: &[(Slot, Slot)]| match s {
            Src::Seed(p) => ids.get(p - 1).map_or(Slot::Bye, |&id| Slot::Player(id)),
            Src::Winner(i) => outcome.get(i).map_or(Slot::Pending, |o| o.0),
            Src::Loser(i) => outcome.get(i).map_or(Slot::Pending, |o| o.1),
        };
        let a = get(sa, &outcome);
        let b = get(sb, &outcome);
        let id = shape.ids[m];
        let res = by_id.get(&id).copied();
        let o = match (a, b) {
            (Slot::Bye, Slot::Bye) => (Slot::Bye, Slot::Bye),
            (Slot::Player(p), Slot::Bye) | (Slot::Bye, Slot::Player(p)) => {
                (Slot::Player(p), Slot::Bye)
            }
            (Slot::Player(x), Slot::Player(y)) => match res {
                Some(w) if w == x => (a, b),
                Some(w) if w == y => (b, a),
                Some(_) => return Err(PairingError::BadResult(format!("{id:?}"))),
                None => (Slot::Pending, Slot::Pending),
            },
            _ => (Slot::Pending, Slot::Pending),
        };
        // A result is only valid for a match between two known players.
        if res.is_some() && !matches!((a, b), (Slot::Player(_), Slot::Player(_))) {
            return Err(PairingError::BadResult(format!("{id:?}")));
        }
        outcome.push(o);
        matches.push(BracketMatch {
            id,
            a,
            b,
            winner: o.0,
            loser: o.1,
        });
    }
    Ok((matches, outcome))
}
