//! Standings with a configurable tie-break order; the seed is the final,
//! deterministic tie-break.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{History, Outcome, Player, PlayerId, PointsConfig};

/// A tie-break criterion; all are "higher is better".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TieBreak {
    /// Match points from win/draw/loss/bye.
    MatchPoints,
    /// Total VP scored.
    TotalVp,
    /// VP scored minus VP conceded.
    VpDiff,
    /// Sum of the opponents' match points (byes excluded).
    StrengthOfSchedule,
}

/// Points values and tie-break order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StandingsConfig {
    /// Match points.
    pub points: PointsConfig,
    /// Order of tie-breaks; seed decides what is still tied.
    pub(crate) tiebreaks: Vec<TieBreak>,
}

impl Default for StandingsConfig {
    fn default() -> Self {
        StandingsConfig {
            points: PointsConfig::default(),
            tiebreaks: vec![
                TieBreak::MatchPoints,
                TieBreak::TotalVp,
                TieBreak::VpDiff,
                TieBreak::StrengthOfSchedule,
            ],
        }
    }
}

/// One line of the standings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standing {
    /// 1-based rank.
    pub rank: u32,
    /// Player.
    pub player: PlayerId,
    /// Seed of the player.
    pub seed: u32,
    /// Match points.
    pub match_points: u32,
    /// Wins (byes included).
    pub wins: u32,
    /// Draws.
    pub draws: u32,
    /// Losses.
    pub losses: u32,
    /// Byes received.
    pub byes: u32,
    /// VP scored.
    pub vp_for: u32,
    /// VP conceded.
    pub(crate) vp_against: u32,
    /// `vp_for - vp_against`.
    pub(crate) vp_diff: i64,
    /// Strength of schedule.
    pub(crate) sos: u64,
}

impl Standing {
    fn key(&self, t: TieBreak) -> i64 {
        match t {
            TieBreak::MatchPoints => i64::from(self.match_points),
            TieBreak::TotalVp => i64::from(self.vp_for),
            TieBreak::VpDiff => self.vp_diff,
            TieBreak::StrengthOfSchedule => i64::try_from(self.sos).unwrap_or(i64::MAX),
        }
    }
}

/// Standings of `players` (games against players not listed still count) in
/// tie-break order.
pub fn standings(players: &[Player], history: &History, config: &StandingsConfig) -> Vec<Standing> {
    let p = config.points;
    let mut rows: BTreeMap<PlayerId, Standing> = players
        .iter()
        .map(|pl| {
            let s = Standing {
                rank: 0,
                player: pl.id,
                seed: pl.seed,
                match_points: 0,
                wins: 0,
                draws: 0,
                losses: 0,
                byes: 0,
                vp_for: 0,
                vp_against: 0,
                vp_diff: 0,
                sos: 0,
            };
            (pl.id, s)
        })
        .collect();
    let mut all_points: BTreeMap<PlayerId, u32> = BTreeMap::new();
    let mut credit = |id: PlayerId, pts: u32| {
        let e = all_points.entry(id).or_insert(0);
        *e = e.saturating_add(pts);
    };
    for g in &history.games {
        let (pa, pb) = match g.outcome {
            Outcome::AWins => (p.win, p.loss),
            Outcome::BWins => (p.loss, p.win),
            Outcome::Draw => (p.draw, p.draw),
        };
        credit(g.a, pa);
        credit(g.b, pb);
        for (me, vf, va, pts, res) in [
            (g.a, g.vp_a, g.vp_b, pa, g.outcome),
            (g.b, g.vp_b, g.vp_a, pb, flip(g.outcome)),
        ] {
            if let Some(r) = rows.get_mut(&me) {
                r.match_points = r.match_points.saturating_add(pts);
                r.vp_for = r.vp_for.saturating_add(vf);
                r.vp_against = r.vp_against.saturating_add(va);
                match res {
                    Outcome::AWins => r.wins += 1,
                    Outcome::BWins => r.losses += 1,
                    Outcome::Draw => r.draws += 1,
                }
            }
        }
    }
    for b in &history.byes {
        credit(b.player, p.bye_points);
        if let Some(r) = rows.get_mut(&b.player) {
            r.match_points = r.match_points.saturating_add(p.bye_points);
            r.vp_for = r.vp_for.saturating_add(p.bye_vp);
            r.wins += 1;
            r.byes += 1;
        }
    }
    for g in &history.games {
        for (me, opp) in [(g.a, g.b), (g.b, g.a)] {
            let opp_pts = u64::from(all_points.get(&opp).copied().unwrap_or(0));
            if let Some(r) = rows.get_mut(&me) {
                r.sos += opp_pts;
            }
        }
    }
    let mut out: Vec<Standing> = rows.into_values().collect();
    for r in &mut out {
        r.vp_diff = i64::from(r.vp_for) - i64::from(r.vp_against);
    }
    out.sort_by(|x, y| {
        for &t in &config.tiebreaks {
            let c = y.key(t).cmp(&x.key(t));
            if c.is_ne() {
                return c;
            }
        }
        x.seed.cmp(&y.seed).then(x.player.cmp(&y.player))
    });
    for (i, r) in out.iter_mut().enumerate() {
        r.rank = u32::try_from(i + 1).unwrap_or(u32::MAX);
    }
    out
}

fn flip(o: Outcome) -> Outcome {
    match o {
        Outcome::AWins => Outcome::BWins,
        Outcome::BWins => Outcome::AWins,
        Outcome::Draw => Outcome::Draw,
    }
}
