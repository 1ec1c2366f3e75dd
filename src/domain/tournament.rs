//! Tournament rules (pure): formats, status transitions, rules validation, and turning stored
//! pairings and battle results into the pairing engine's input to plan the next round.
//!
//! Documented choices:
//! - Status moves `draft → registration → active → completed`; any non-terminal status may move
//!   to `cancelled`. Everything else is refused.
//! - Swiss plays `rules.rounds` rounds (default ⌈log2 n⌉, at least 1). A bye scores as a win
//!   ([`PointsConfig`]: 3 match points and 10 VP).
//! - Elimination needs a winner per match: a draw or a cancelled battle sends the better seed
//!   through (the organizer may complete the battle with an explicit `winner_id` instead).
//! - In swiss, a cancelled battle counts as not played: no points to either player.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::pairing::{
    double_elim, pair_swiss_round, single_elim, standings, BracketResult, ByeRecord, History,
    MatchId, Outcome, PairingError, PlayedGame, Player, PlayerId, Round1Mode, Standing,
    StandingsConfig, SwissConfig, TieBreak,
};

/// Tournament format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Swiss rounds.
    Swiss,
    /// Single elimination.
    SingleElimination,
    /// Double elimination.
    DoubleElimination,
}

impl Format {
    /// Stored and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Swiss => "swiss",
            Format::SingleElimination => "single_elimination",
            Format::DoubleElimination => "double_elimination",
        }
    }
    /// Parses the API name.
    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.into())).ok()
    }
}

/// Tournament status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TournamentStatus {
    /// Being prepared by the organizer.
    Draft,
    /// Players may register and withdraw.
    Registration,
    /// Rounds are being played.
    Active,
    /// Finished.
    Completed,
    /// Abandoned.
    Cancelled,
}

impl TournamentStatus {
    /// Stored and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            TournamentStatus::Draft => "draft",
            TournamentStatus::Registration => "registration",
            TournamentStatus::Active => "active",
            TournamentStatus::Completed => "completed",
            TournamentStatus::Cancelled => "cancelled",
        }
    }
    /// Parses the API name.
    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.into())).ok()
    }
    /// Whether `self → next` is allowed.
    pub fn can_move_to(self, next: TournamentStatus) -> bool {
        use TournamentStatus::*;
        matches!(
            (self, next),
            (Draft, Registration)
                | (Registration, Active)
                | (Active, Completed)
                | (Draft | Registration | Active, Cancelled)
        )
    }
}

fn default_points() -> u32 {
    2000
}
fn default_time() -> u32 {
    10_800
}
fn default_factions() -> Vec<String> {
    vec!["all".into()]
}

/// The spec's `rules` object, plus optional settings the spec leaves open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rules {
    /// Largest army `points_value` accepted at registration.
    #[serde(default = "default_points")]
    pub points_limit: u32,
    /// Round clock in seconds: the Tournament actor announces the end of a round after it.
    #[serde(default = "default_time")]
    pub time_limit: u32,
    /// Faction ids, or `["all"]`.
    #[serde(default = "default_factions")]
    pub allowed_factions: Vec<String>,
    /// Free-form rules shown to players.
    #[serde(default)]
    pub special_rules: Vec<serde_json::Value>,
    /// Swiss: number of rounds (default ⌈log2 n⌉).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rounds: Option<u32>,
    /// Double elimination: play a reset when the losers-bracket champion wins the grand final.
    #[serde(default)]
    pub bracket_reset: bool,
    /// Swiss round 1: `"seed"` (default) or `"random"` (the seed is recorded in the round).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round1: Option<String>,
    /// Tie-break order: `match_points`, `total_vp`, `vp_diff`, `strength_of_schedule`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tiebreakers: Option<Vec<String>>,
    /// Turn limit of each tournament battle, seconds (default 1800).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_time_limit: Option<u32>,
    /// Battle rounds of each tournament battle (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub battle_rounds: Option<u32>,
}

impl Rules {
    /// Checks ranges; returns the field and reason of the first problem.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        let bad = |f: &'static str, m: &str| Err((f, m.to_string()));
        if !(1..=100_000).contains(&self.points_limit) {
            return bad("rules.points_limit", "between 1 and 100000");
        }
        if !(1..=86_400).contains(&self.time_limit) {
            return bad("rules.time_limit", "between 1 and 86400 seconds");
        }
        if self.allowed_factions.is_empty() || self.allowed_factions.len() > 100 {
            return bad("rules.allowed_factions", "1 to 100 entries (or [\"all\"])");
        }
        if self.special_rules.len() > 50 {
            return bad("rules.special_rules", "at most 50 entries");
        }
        if self.rounds.is_some_and(|r| !(1..=20).contains(&r)) {
            return bad("rules.rounds", "between 1 and 20");
        }
        if self
            .round1
            .as_deref()
            .is_some_and(|r| r != "seed" && r != "random")
        {
            return bad("rules.round1", "\"seed\" or \"random\"");
        }
        if self.tiebreak_order().is_none() {
            return bad(
                "rules.tiebreakers",
                "match_points, total_vp, vp_diff, strength_of_schedule",
            );
        }
        if self
            .turn_time_limit
            .is_some_and(|t| !(10..=14_400).contains(&t))
        {
            return bad("rules.turn_time_limit", "between 10 and 14400 seconds");
        }
        if self.battle_rounds.is_some_and(|r| !(1..=10).contains(&r)) {
            return bad("rules.battle_rounds", "between 1 and 10");
        }
        Ok(())
    }

    /// Whether an army of `faction` may enter.
    pub fn allows_faction(&self, faction: &str) -> bool {
        self.allowed_factions
            .iter()
            .any(|f| f == "all" || f == faction)
    }

    /// Configured tie-break order (`None` when a name is unknown).
    pub fn tiebreak_order(&self) -> Option<Vec<TieBreak>> {
        let Some(names) = &self.tiebreakers else {
            return Some(StandingsConfig::default().tiebreaks);
        };
        names
            .iter()
            .map(|n| match n.as_str() {
                "match_points" => Some(TieBreak::MatchPoints),
                "total_vp" => Some(TieBreak::TotalVp),
                "vp_diff" => Some(TieBreak::VpDiff),
                "strength_of_schedule" | "sos" => Some(TieBreak::StrengthOfSchedule),
                _ => None,
            })
            .collect()
    }

    fn standings_config(&self) -> StandingsConfig {
        StandingsConfig {
            tiebreaks: self.tiebreak_order().unwrap_or_default(),
            ..Default::default()
        }
    }
}

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
pub struct PlannedGame {
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
pub enum Plan {
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
pub enum PlanError {
    /// A game of the current round is unfinished.
    #[error("round {0} has unfinished battles")]
    RoundUnfinished(u32),
    /// The engine refused its input.
    #[error(transparent)]
    Pairing(#[from] PairingError),
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

/// Swiss rounds to play for `n` players.
pub fn swiss_rounds(rules: &Rules, n: usize) -> u32 {
    rules
        .rounds
        .unwrap_or_else(|| (usize::BITS - n.saturating_sub(1).leading_zeros()).max(1))
}

/// The current standings in tie-break order (elimination: the champion first).
pub fn current_standings(
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
pub fn plan_next(
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
            if last >= swiss_rounds(rules, entries.len()) {
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
