//! Tournament rules (pure): formats, status transitions, rules validation, and turning stored
//! pairings and battle results into the pairing engine's input to plan the next round.
//!
//! Documented choices:
//! - Status moves `draft → registration → active → completed`; any non-terminal status may move
//!   to `cancelled`. Everything else is refused.
//! - Swiss plays `rules.rounds` rounds when the organizer sets it; without it the organizer
//!   pairs rounds until completing the event. A round is refused only when no rematch-free
//!   pairing exists. A bye scores as a win
//!   (`PointsConfig`: 3 match points and 10 VP).
//! - Elimination needs a winner per match: a draw or a cancelled battle sends the better seed
//!   through (the organizer may complete the battle with an explicit `winner_id` instead).
//! - In swiss, a cancelled battle counts as not played: no points to either player.

use std::collections::BTreeMap;

use uuid::Uuid;

use super::pairing::{
    double_elim, pair_swiss_round, single_elim, standings, BracketResult, ByeRecord, History,
    MatchId, Outcome, PairingError, PlayedGame, Player, PlayerId, Round1Mode, Standing,
    SwissConfig,
};

mod patch;
mod rules;

pub use patch::{cents, date, rules, PatchError, Patched, Tournament, TournamentPatch};
pub use rules::{Format, Rules, TournamentStatus};

/// A registered player; seeds follow registration order (1 = first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// User.
    pub user: Uuid,
    /// Seed.
    pub seed: u32,
}

/// How a pairing's battle ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GameResult {
    /// Still to play.
    Pending,
    /// Completed: winner (`None` = draw) and each side's VP.
    Completed {
        /// Winner.
        winner: Option<Uuid>,
        /// VP of player 1.
        vp1: u32,
        /// VP of player 2.
        vp2: u32,
    },
    /// Cancelled.
    Cancelled,
}

/// A stored pairing with its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PastPairing {
    /// Round.
    pub round: u32,
    /// Table (`None` for a bye).
    pub table: Option<u32>,
    /// Player 1.
    pub p1: Uuid,
    /// Player 2 (`None` for a bye).
    pub p2: Option<Uuid>,
    /// Bracket match (elimination formats).
    pub bracket: Option<MatchId>,
    /// Result.
    pub result: GameResult,
}

/// One game of a planned round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PlannedGame {
    /// Table, distinct within the round.
    pub table: u32,
    /// Player 1.
    pub p1: Uuid,
    /// Player 2.
    pub p2: Uuid,
    /// Bracket match (elimination formats).
    pub bracket: Option<MatchId>,
}

/// What comes next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Plan {
    /// A new round to create.
    Round {
        /// Round number.
        round: u32,
        /// Games.
        games: Vec<PlannedGame>,
        /// Swiss bye.
        bye: Option<Uuid>,
        /// Floats, byes and seeds, in words.
        explanation: String,
    },
    /// No more rounds: the winner, if one could be decided.
    Finished {
        /// Winner.
        winner: Option<Uuid>,
    },
}

/// Why a round cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PlanError {
    /// A game of the current round is unfinished.
    #[error("round {0} has unfinished battles")]
    RoundUnfinished(u32),
    /// The engine refused its input.
    #[error(transparent)]
    Pairing(#[from] PairingError),
    /// Every pairing of the next swiss round would repeat a game already played.
    #[error(
        "no rematch-free pairing exists for round {0}: every possible pairing repeats a game \
         already played; complete the tournament instead"
    )]
    NoRematchFree(u32),
}

struct Ids {
    by_user: BTreeMap<Uuid, PlayerId>,
    users: Vec<Uuid>,
    players: Vec<Player>,
}

fn ids(entries: &[Entry]) -> Ids {
    let mut e = entries.to_vec();
    e.sort_by_key(|x| (x.seed, x.user));
    let users: Vec<Uuid> = e.iter().map(|x| x.user).collect();
    let by_user = users
        .iter()
        .enumerate()
        .map(|(i, &u)| (u, PlayerId(i as u32)))
        .collect();
    let players = e
        .iter()
        .enumerate()
        .map(|(i, x)| Player {
            id: PlayerId(i as u32),
            seed: x.seed,
        })
        .collect();
    Ids {
        by_user,
        users,
        players,
    }
}

fn history(ids: &Ids, past: &[PastPairing]) -> History {
    let mut h = History::default();
    for p in past {
        let Some(&a) = ids.by_user.get(&p.p1) else {
            continue;
        };
        match (p.p2.and_then(|u| ids.by_user.get(&u).copied()), p.result) {
            (None, _) => h.byes.push(ByeRecord {
                round: p.round,
                player: a,
            }),
            (Some(b), GameResult::Completed { winner, vp1, vp2 }) => {
                let outcome = match winner {
                    Some(w) if w == p.p1 => Outcome::AWins,
                    Some(_) => Outcome::BWins,
                    None => Outcome::Draw,
                };
                h.games.push(PlayedGame {
                    round: p.round,
                    table: p.table,
                    a,
                    b,
                    vp_a: vp1,
                    vp_b: vp2,
                    outcome,
                });
            }
            _ => {}
        }
    }
    h
}

/// The usual number of swiss rounds for `n` players (⌈log2 n⌉, at least 1): what an organizer
/// would set as `rules.rounds`; the server plays `rules.rounds` itself, not this.
pub fn swiss_rounds(rules: &Rules, n: usize) -> u32 {
    rules
        .rounds
        .unwrap_or_else(|| (usize::BITS - n.saturating_sub(1).leading_zeros()).max(1))
}

/// The current standings in tie-break order (elimination: the champion first).
pub(crate) fn current_standings(
    format: Format,
    rules: &Rules,
    entries: &[Entry],
    past: &[PastPairing],
) -> Vec<(Uuid, Standing)> {
    let ids = ids(entries);
    let h = history(&ids, past);
    let mut rows: Vec<(Uuid, Standing)> = standings(&ids.players, &h, &rules.standings_config())
        .into_iter()
        .map(|s| (ids.users[s.player.0 as usize], s))
        .collect();
    if format != Format::Swiss {
        if let Ok(Plan::Finished { winner: Some(w) }) = plan_next(format, rules, entries, past, 0) {
            if let Some(i) = rows.iter().position(|(u, _)| *u == w) {
                let champ = rows.remove(i);
                rows.insert(0, champ);
            }
        }
        for (i, (_, s)) in rows.iter_mut().enumerate() {
            s.rank = i as u32 + 1;
        }
    }
    rows
}

/// Plans the next round from the stored pairings, or says the tournament is over.
/// `random_seed` is used only for a random swiss round 1.
pub(crate) fn plan_next(
    format: Format,
    rules: &Rules,
    entries: &[Entry],
    past: &[PastPairing],
    random_seed: u64,
) -> Result<Plan, PlanError> {
    let last = past.iter().map(|p| p.round).max().unwrap_or(0);
    if past
        .iter()
        .any(|p| p.p2.is_some() && p.result == GameResult::Pending)
    {
        return Err(PlanError::RoundUnfinished(last));
    }
    let ids = ids(entries);
    let round = last + 1;
    match format {
        Format::Swiss => {
            let h = history(&ids, past);
            // The organizer sets the number of rounds; without it they pair rounds until they
            // complete the event themselves.
            if rules.rounds.is_some_and(|n| last >= n) {
                let table = standings(&ids.players, &h, &rules.standings_config());
                let winner = table.first().map(|s| ids.users[s.player.0 as usize]);
                return Ok(Plan::Finished { winner });
            }
            let cfg = SwissConfig {
                standings: rules.standings_config(),
                round1: match rules.round1.as_deref() {
                    Some("random") => Round1Mode::Random(random_seed),
                    _ => Round1Mode::BySeed,
                },
            };
            let r = pair_swiss_round(&ids.players, &h, &cfg)?;
            if r.rematches > 0 {
                return Err(PlanError::NoRematchFree(round));
            }
            let user = |p: PlayerId| ids.users[p.0 as usize];
            Ok(Plan::Round {
                round,
                games: r
                    .pairings
                    .iter()
                    .map(|t| PlannedGame {
                        table: t.table,
                        p1: user(t.a),
                        p2: user(t.b),
                        bracket: None,
                    })
                    .collect(),
                bye: r.bye.map(user),
                explanation: r.explanation,
            })
        }
        Format::SingleElimination | Format::DoubleElimination => {
            let seed_of = |u: Uuid| entries.iter().find(|e| e.user == u).map(|e| e.seed);
            let results: Vec<BracketResult> = past
                .iter()
                .filter_map(|p| {
                    let (id, p2) = (p.bracket?, p.p2?);
                    let winner = match p.result {
                        GameResult::Completed {
                            winner: Some(w), ..
                        } => w,
                        // Draws and cancelled matches: the better seed goes through.
                        _ if seed_of(p.p1) <= seed_of(p2) => p.p1,
                        _ => p2,
                    };
                    Some(BracketResult {
                        id,
                        winner: *ids.by_user.get(&winner)?,
                    })
                })
                .collect();
            let state = if format == Format::SingleElimination {
                single_elim(&ids.players, &results)?
            } else {
                double_elim(&ids.players, &results, rules.bracket_reset)?
            };
            if let Some(c) = state.champion {
                return Ok(Plan::Finished {
                    winner: Some(ids.users[c.0 as usize]),
                });
            }
            let ready = state.ready();
            let byes = state
                .matches
                .iter()
                .filter(|m| m.id.round == 1 && m.id.kind == super::pairing::BracketKind::Winners)
                .filter(|m| m.loser == super::pairing::Slot::Bye)
                .count();
            let explanation = if round == 1 && byes > 0 {
                format!("Bracket seeded 1 v N; {byes} top seed(s) receive a first-round bye.")
            } else {
                format!("{} match(es) ready in the bracket.", ready.len())
            };
            Ok(Plan::Round {
                round,
                games: ready
                    .into_iter()
                    .map(|(id, t)| PlannedGame {
                        table: t.table,
                        p1: ids.users[t.a.0 as usize],
                        p2: ids.users[t.b.0 as usize],
                        bracket: Some(id),
                    })
                    .collect(),
                bye: None,
                explanation,
            })
        }
    }
}

#[cfg(test)]
mod tests;
