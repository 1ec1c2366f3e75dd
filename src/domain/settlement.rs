//! Pure battle settlement: wager payout, Glicko-2 ratings and xp. No IO.

use skillratings::glicko2::{glicko2, Glicko2Config, Glicko2Rating};
use skillratings::Outcomes;

/// House fee on the pot, in percent (DESIGN.md: 200 wagered each → 380 to the winner).
pub(crate) const WAGER_FEE_PCT: i64 = 5;
/// XP for a win, a draw and a loss.
pub(crate) const XP_WIN: i64 = 100;
/// XP for a draw.
pub(crate) const XP_DRAW: i64 = 60;
/// XP for a loss.
pub(crate) const XP_LOSS: i64 = 40;
/// XP needed per level: level = 1 + xp / XP_PER_LEVEL.
pub(crate) const XP_PER_LEVEL: i64 = 300;

pub use crate::sim::battle::Winner;

/// Money of one settled battle. Each player staked `wager` into escrow at match time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Payout {
    /// Paid back from escrow to player 1.
    pub(crate) to_p1: i64,
    /// Paid back from escrow to player 2.
    pub(crate) to_p2: i64,
    /// Kept by the house.
    pub fee: i64,
}

impl Payout {
    /// Net change of player 1's balance over the whole battle.
    pub(crate) fn p1_delta(&self, wager: i64) -> i64 {
        self.to_p1 - wager
    }

    /// Net change of player 2's balance over the whole battle.
    pub(crate) fn p2_delta(&self, wager: i64) -> i64 {
        self.to_p2 - wager
    }
}

/// Splits the pot: the winner takes both wagers less the fee; a draw refunds both.
/// Escrow always empties exactly: `to_p1 + to_p2 + fee == 2 * wager`.
pub(crate) fn payout(wager: i64, result: Winner) -> Payout {
    let pot = 2 * wager;
    let fee = pot * WAGER_FEE_PCT / 100;
    match result {
        Winner::Draw => Payout {
            to_p1: wager,
            to_p2: wager,
            fee: 0,
        },
        Winner::P1 => Payout {
            to_p1: pot - fee,
            to_p2: 0,
            fee,
        },
        Winner::P2 => Payout {
            to_p1: 0,
            to_p2: pot - fee,
            fee,
        },
    }
}

/// A stored Glicko-2 state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rating {
    /// Rating (1500 start).
    pub rating: f64,
    /// Deviation (350 start).
    pub deviation: f64,
    /// Volatility (0.06 start).
    pub volatility: f64,
}

impl Default for Rating {
    fn default() -> Self {
        let r = Glicko2Rating::new();
        Rating {
            rating: r.rating,
            deviation: r.deviation,
            volatility: r.volatility,
        }
    }
}

/// New ratings of both players after one game (Glicko-2, one-game rating period).
pub fn rate(p1: Rating, p2: Rating, result: Winner) -> (Rating, Rating) {
    let conv = |r: Rating| Glicko2Rating {
        rating: r.rating,
        deviation: r.deviation,
        volatility: r.volatility,
    };
    let back = |r: Glicko2Rating| Rating {
        rating: r.rating,
        deviation: r.deviation,
        volatility: r.volatility,
    };
    let outcome = match result {
        Winner::P1 => Outcomes::WIN,
        Winner::P2 => Outcomes::LOSS,
        Winner::Draw => Outcomes::DRAW,
    };
    let (a, b) = glicko2(&conv(p1), &conv(p2), &outcome, &Glicko2Config::new());
    (back(a), back(b))
}

/// Level for an xp total.
// The rule itself; settlement applies it in SQL (`store::robot_battles::settlement`) so the
// update needs no read of the current xp.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn level_for(xp: i64) -> i64 {
    1 + xp.max(0) / XP_PER_LEVEL
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payout_matches_design_examples() {
        // DESIGN.md: 200 wagered each → 380 to the winner.
        assert_eq!(payout(200, Winner::P1).to_p1, 380);
        // Issue 4: a 100 wager nets the winner +90 and the loser −100.
        let p = payout(100, Winner::P2);
        assert_eq!((p.p1_delta(100), p.p2_delta(100)), (-100, 90));
        assert_eq!(
            payout(100, Winner::Draw),
            Payout {
                to_p1: 100,
                to_p2: 100,
                fee: 0
            }
        );
        for w in [0, 1, 7, 99, 1000] {
            for r in [Winner::P1, Winner::P2, Winner::Draw] {
                let p = payout(w, r);
                assert_eq!(p.to_p1 + p.to_p2 + p.fee, 2 * w);
            }
        }
    }

    #[test]
    fn ratings_move_the_right_way() {
        let (a, b) = rate(Rating::default(), Rating::default(), Winner::P1);
        assert!(a.rating > 1500.0 && b.rating < 1500.0);
        let (a, b) = rate(Rating::default(), Rating::default(), Winner::Draw);
        assert!((a.rating - 1500.0).abs() < 1e-9 && (b.rating - 1500.0).abs() < 1e-9);
        assert_eq!(level_for(0), 1);
        assert_eq!(level_for(650), 3);
    }
}
