//! Unit and property tests of the pairing engine.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use rand_pcg::rand_core::Rng;
use rand_pcg::Pcg32;

use super::matching::{self, max_weight_matching};
use super::*;

fn field(n: usize) -> Vec<Player> {
    (0..n)
        .map(|i| Player {
            id: PlayerId(100 + i as u32),
            seed: i as u32 + 1,
        })
        .collect()
}

/// Plays `rounds` swiss rounds with random results; checks per-round invariants.
fn run_swiss(n: usize, rounds: u32, seed: u64) -> History {
    let players = field(n);
    let cfg = SwissConfig::default();
    let mut rng = Pcg32::new(seed, 7);
    let mut h = History::default();
    for _ in 0..rounds {
        let r = pair_swiss_round(&players, &h, &cfg).expect("pairs");
        let mut seen = BTreeSet::new();
        let mut tables = BTreeSet::new();
        for p in &r.pairings {
            assert!(seen.insert(p.a) && seen.insert(p.b), "player twice");
            assert!(tables.insert(p.table), "table twice");
        }
        if let Some(b) = r.bye {
            assert!(seen.insert(b));
        }
        assert_eq!(seen.len(), n, "everyone once per round");
        assert_eq!(r.bye.is_some(), n % 2 == 1);
        let (min_rematch, min_rebye) = brute_force_min(&players, &h);
        if n <= 10 {
            let rebye = u32::from(r.bye.is_some_and(|b| h.byes.iter().any(|x| x.player == b)));
            assert_eq!(
                (rebye, r.rematches),
                (min_rebye, min_rematch),
                "seed {seed}"
            );
        }
        for p in &r.pairings {
            let x = rng.next_u32() % 3;
            let outcome = [Outcome::AWins, Outcome::BWins, Outcome::Draw][x as usize];
            h.games.push(PlayedGame {
                round: r.round,
                table: Some(p.table),
                a: p.a,
                b: p.b,
                vp_a: rng.next_u32() % 100,
                vp_b: rng.next_u32() % 100,
                outcome,
            });
        }
        if let Some(b) = r.bye {
            h.byes.push(ByeRecord {
                round: r.round,
                player: b,
            });
        }
    }
    h
}

/// Minimum (rematches, repeat byes) over every pairing of the field, lexicographic
/// with repeat byes first; only for small fields.
fn brute_force_min(players: &[Player], h: &History) -> (u32, u32) {
    if players.len() > 10 {
        return (0, 0);
    }
    let met: BTreeSet<(PlayerId, PlayerId)> = h
        .games
        .iter()
        .flat_map(|g| [(g.a, g.b), (g.b, g.a)])
        .collect();
    let had: BTreeSet<PlayerId> = h.byes.iter().map(|b| b.player).collect();
    let ids: Vec<Option<PlayerId>> = players
        .iter()
        .map(|p| Some(p.id))
        .chain((players.len() % 2 == 1).then_some(None))
        .collect();
    fn rec(
        left: &mut Vec<Option<PlayerId>>,
        met: &BTreeSet<(PlayerId, PlayerId)>,
        had: &BTreeSet<PlayerId>,
    ) -> (u32, u32) {
        let Some(first) = left.pop() else {
            return (0, 0);
        };
        let mut best = (u32::MAX, u32::MAX);
        for i in 0..left.len() {
            let other = left.remove(i);
            let (rb, rm) = match (first, other) {
                (Some(a), Some(b)) => (0, u32::from(met.contains(&(a, b)))),
                (Some(a), None) | (None, Some(a)) => (u32::from(had.contains(&a)), 0),
                (None, None) => (0, 0),
            };
            let (sb, sm) = rec(left, met, had);
            best = best.min((rb + sb, rm + sm));
            left.insert(i, other);
        }
        left.push(first);
        best
    }
    let mut v = ids;
    let (rebye, rematch) = rec(&mut v, &met, &had);
    (rematch, rebye)
}

fn brute_max_weight(n: usize, w: &BTreeMap<(usize, usize), i64>, used: u32) -> i64 {
    let Some(i) = (0..n).find(|i| used & (1 << i) == 0) else {
        return 0;
    };
    let mut best = brute_max_weight(n, w, used | (1 << i));
    for j in i + 1..n {
        if used & (1 << j) == 0 {
            if let Some(&wt) = w.get(&(i, j)) {
                best = best.max(wt + brute_max_weight(n, w, used | (1 << i) | (1 << j)));
            }
        }
    }
    best
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn matching_is_optimal(n in 1usize..=10, seed in any::<u64>(), density in 1u32..=4) {
        let mut rng = Pcg32::new(seed, 3);
        let mut w = BTreeMap::new();
        let mut edges = Vec::new();
        for i in 0..n {
            for j in i + 1..n {
                if rng.next_u32() % 4 < density {
                    let wt = i64::from(rng.next_u32() % 50);
                    w.insert((i, j), wt);
                    edges.push((i, j, wt));
                }
            }
        }
        let mate = max_weight_matching(n, &edges);
        let mut total = 0;
        for (i, m) in mate.iter().enumerate() {
            if let Some(j) = *m {
                prop_assert_eq!(mate[j], Some(i));
                if i < j {
                    total += w[&(i, j)];
                }
            }
        }
        prop_assert_eq!(total, brute_max_weight(n, &w, 0), "seed {}", seed);
        let priced = matching::max_weight_matching_priced(n, 1, |i, j| w.get(&(i, j)).copied());
        let ptotal: i64 = priced
            .iter()
            .enumerate()
            .filter_map(|(i, m)| m.filter(|&j| i < j).map(|j| w[&(i, j)]))
            .sum();
        prop_assert_eq!(ptotal, total, "priced, seed {}", seed);
    }

    #[test]
    fn priced_matches_dense_on_larger_graphs(n in 11usize..=60, seed in any::<u64>(), window in 1usize..=4) {
        let mut rng = Pcg32::new(seed, 5);
        let mut w = BTreeMap::new();
        let mut edges = Vec::new();
        for i in 0..n {
            for j in i + 1..n {
                // Mostly heavy weights with a few light ones, like swiss costs.
                let wt = 1_000 - i64::from(rng.next_u32() % 1_000);
                w.insert((i, j), wt);
                edges.push((i, j, wt));
            }
        }
        let total = |mate: &[Option<usize>]| -> i64 {
            mate.iter()
                .enumerate()
                .filter_map(|(i, m)| m.filter(|&j| i < j).map(|j| w[&(i, j)]))
                .sum()
        };
        let dense = max_weight_matching(n, &edges);
        let priced = matching::max_weight_matching_priced(n, window, |i, j| w.get(&(i, j)).copied());
        prop_assert_eq!(total(&priced), total(&dense), "seed {}", seed);
    }

    #[test]
    fn swiss_small_fields_match_brute_force(n in 2usize..=10, rounds in 1u32..=6, seed in any::<u64>()) {
        let h = run_swiss(n, rounds.min(n as u32 + 1), seed);
        let mut byes = BTreeMap::new();
        for b in &h.byes {
            *byes.entry(b.player).or_insert(0) += 1;
        }
        if (rounds as usize) < n {
            prop_assert!(byes.values().all(|&c| c <= 1));
        }
    }

    #[test]
    fn swiss_larger_fields(n in 11usize..=40, rounds in 1u32..=5, seed in any::<u64>()) {
        let h = run_swiss(n, rounds, seed);
        let mut pairs = BTreeSet::new();
        for g in &h.games {
            // With 11+ players and 5 rounds a rematch is always avoidable.
            prop_assert!(pairs.insert((g.a.min(g.b), g.a.max(g.b))), "rematch, seed {}", seed);
        }
    }

    #[test]
    fn brackets_correct(n in 2usize..=64, seed in any::<u64>(), reset in any::<bool>()) {
        check_single(n, seed);
        check_double(n, seed, reset);
    }
}

fn play(
    players: &[Player],
    seed: u64,
    double: bool,
    reset: bool,
) -> (BracketState, Vec<BracketResult>) {
    let mut rng = Pcg32::new(seed, 11);
    let mut results = Vec::new();
    for _ in 0..1000 {
        let st = if double {
            double_elim(players, &results, reset).expect("state")
        } else {
            single_elim(players, &results).expect("state")
        };
        let ready = st.ready();
        if st.is_complete() {
            assert!(ready.is_empty());
            return (st, results);
        }
        assert!(!ready.is_empty(), "stuck");
        for (id, p) in ready {
            let winner = if rng.next_u32().is_multiple_of(3) {
                p.b
            } else {
                p.a
            };
            results.push(BracketResult { id, winner });
        }
    }
    panic!("did not finish");
}

fn check_single(n: usize, seed: u64) {
    let players = field(n);
    let (st, results) = play(&players, seed, false, false);
    let rounds = st.matches.iter().map(|m| m.id.round).max().unwrap_or(0);
    assert_eq!(rounds, n.next_power_of_two().trailing_zeros());
    assert_eq!(results.len(), n - 1, "every player but one loses once");
    let placed: BTreeSet<PlayerId> = st
        .matches
        .iter()
        .filter(|m| m.id.round == 1)
        .flat_map(|m| [m.a, m.b])
        .filter_map(|s| match s {
            Slot::Player(p) => Some(p),
            _ => None,
        })
        .collect();
    assert_eq!(placed.len(), n);
    // Top two seeds are in opposite halves; byes only to top seeds.
    let first: Vec<&BracketMatch> = st.matches.iter().filter(|m| m.id.round == 1).collect();
    let half = first.len() / 2;
    if half > 0 {
        let side = |id: PlayerId| {
            first
                .iter()
                .position(|m| m.a == Slot::Player(id) || m.b == Slot::Player(id))
        };
        assert!(side(players[0].id) < Some(half) && side(players[1].id) >= Some(half));
    }
    let byes = n.next_power_of_two() - n;
    for m in &first {
        if m.b == Slot::Bye {
            let Slot::Player(p) = m.a else {
                panic!("double bye")
            };
            assert!(((p.0 - 100) as usize) < byes);
        }
    }
    assert!(st.champion.is_some());
}

fn check_double(n: usize, seed: u64, reset: bool) {
    let players = field(n);
    let (st, results) = play(&players, seed, true, reset);
    let mut losses: BTreeMap<PlayerId, u32> = BTreeMap::new();
    let mut last_game: BTreeMap<PlayerId, usize> = BTreeMap::new();
    let mut out_at: BTreeMap<PlayerId, usize> = BTreeMap::new();
    for (i, r) in results.iter().enumerate() {
        let m = st.matches.iter().find(|m| m.id == r.id).expect("match");
        let Slot::Player(l) = m.loser else {
            panic!("no loser")
        };
        for p in [m.a, m.b] {
            if let Slot::Player(p) = p {
                assert!(!out_at.contains_key(&p), "player plays after two losses");
                last_game.insert(p, i);
            }
        }
        let c = losses.entry(l).or_insert(0);
        *c += 1;
        if *c == 2 {
            out_at.insert(l, i);
        }
    }
    let champ = st.champion.expect("champion");
    assert!(losses.get(&champ).copied().unwrap_or(0) <= 1);
    // Without a reset the winners-bracket champion is out after losing the grand final once.
    let gf_loser_one_loss = !reset
        && st.matches.iter().any(|m| {
            m.id.kind == BracketKind::GrandFinal
                && matches!(m.loser, Slot::Player(l) if losses.get(&l) == Some(&1))
        });
    assert_eq!(
        out_at.len() + usize::from(gf_loser_one_loss),
        n - 1,
        "everyone but the champion is out"
    );
    let finals: Vec<&BracketMatch> = st
        .matches
        .iter()
        .filter(|m| m.id.kind >= BracketKind::GrandFinal)
        .collect();
    let last = finals.last().expect("gf");
    assert_eq!(last.winner, Slot::Player(champ), "GF winner is champion");
}

#[test]
fn swiss_8_players_3_rounds() {
    let h = run_swiss(8, 3, 42);
    assert_eq!(h.games.len(), 12);
    assert!(h.byes.is_empty());
    let s = standings(&field(8), &h, &StandingsConfig::default());
    assert_eq!(s.len(), 8);
    assert!(s.windows(2).all(|w| w[0].match_points >= w[1].match_points));
}

#[test]
fn swiss_round1_by_seed_folds() {
    let r = pair_swiss_round(&field(8), &History::default(), &SwissConfig::default()).expect("r1");
    assert_eq!(r.pairings[0].a, PlayerId(100));
    assert_eq!(r.pairings[0].b, PlayerId(104));
}

#[test]
fn swiss_7_players_byes() {
    let h = run_swiss(7, 6, 9);
    assert_eq!(h.byes.len(), 6);
    let distinct: BTreeSet<PlayerId> = h.byes.iter().map(|b| b.player).collect();
    assert_eq!(distinct.len(), 6, "no player gets a second bye");
    // Round 1 bye goes to the lowest seed.
    assert_eq!(h.byes[0].player, PlayerId(106));
}

#[test]
fn se_8_and_6() {
    check_single(8, 1);
    check_single(6, 2);
    let st = single_elim(&field(6), &[]).expect("se6");
    assert_eq!(st.ready().len(), 2, "seeds 1 and 2 have byes");
}

#[test]
fn de_8() {
    check_double(8, 5, true);
    check_double(8, 6, false);
}

#[test]
fn bracket_order_standard() {
    assert_eq!(bracket::bracket_order(8), vec![1, 8, 4, 5, 2, 7, 3, 6]);
}

#[test]
fn swiss_128_four_rounds() {
    let h = run_swiss(128, 4, 77);
    assert_eq!(h.games.len(), 4 * 64);
}

#[test]
fn bracket_rejects_bad_results() {
    let players = field(4);
    let bogus = MatchId {
        kind: BracketKind::Winners,
        round: 2,
        index: 0,
    };
    let r = single_elim(
        &players,
        &[BracketResult {
            id: bogus,
            winner: PlayerId(100),
        }],
    );
    assert!(
        matches!(r, Err(PairingError::BadResult(_))),
        "final not ready yet"
    );
    let first = MatchId {
        kind: BracketKind::Winners,
        round: 1,
        index: 0,
    };
    let r = single_elim(
        &players,
        &[BracketResult {
            id: first,
            winner: PlayerId(102),
        }],
    );
    assert!(
        matches!(r, Err(PairingError::BadResult(_))),
        "winner not in that match"
    );
    assert!(single_elim(&field(1), &[]).is_err());
}

#[test]
fn standings_tiebreak_order() {
    let players = field(3);
    let (a, b, c) = (PlayerId(100), PlayerId(101), PlayerId(102));
    let g = |a, b, vp_a, vp_b, outcome| PlayedGame {
        round: 1,
        table: None,
        a,
        b,
        vp_a,
        vp_b,
        outcome,
    };
    let h = History {
        games: vec![
            g(a, b, 50, 60, Outcome::Draw),
            g(c, a, 90, 10, Outcome::AWins),
        ],
        byes: vec![ByeRecord {
            round: 1,
            player: c,
        }],
    };
    let s = standings(&players, &h, &StandingsConfig::default());
    // c: win + bye = 6 pts; a and b: 1 pt each, b has more VP.
    let order: Vec<PlayerId> = s.iter().map(|r| r.player).collect();
    assert_eq!(order, vec![c, b, a]);
    assert_eq!(s[0].match_points, 6);
    assert_eq!(s[0].vp_for, 100, "bye credits 10 VP");
    let cfg = StandingsConfig {
        tiebreaks: vec![TieBreak::MatchPoints, TieBreak::StrengthOfSchedule],
        ..StandingsConfig::default()
    };
    let s = standings(&players, &h, &cfg);
    // a's opponents b (1) + c (6) = 7 beats b's opponent a (1).
    assert_eq!(s[1].player, a);
    assert_eq!(s[1].sos, 7);
}

#[test]
fn swiss_avoids_rematch_and_tables() {
    let players = field(4);
    let cfg = SwissConfig::default();
    let mut h = History::default();
    for round in 1..=3 {
        let r = pair_swiss_round(&players, &h, &cfg).expect("round");
        assert_eq!(r.rematches, 0, "4 players, 3 rounds: round robin possible");
        for p in &r.pairings {
            h.games.push(PlayedGame {
                round,
                table: Some(p.table),
                a: p.a,
                b: p.b,
                vp_a: 1,
                vp_b: 0,
                outcome: Outcome::AWins,
            });
        }
    }
    assert!(!pair_swiss_round(&players, &h, &cfg)
        .expect("r4")
        .explanation
        .is_empty());
}
