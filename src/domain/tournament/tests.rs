//! Plans over whole tournaments with every result recorded as the server stores it.

use super::*;

fn entries(n: usize) -> Vec<Entry> {
    (0..n)
        .map(|i| Entry {
            user: Uuid::from_u128(1000 + i as u128),
            seed: i as u32 + 1,
        })
        .collect()
}

fn rules() -> Rules {
    serde_json::from_value(serde_json::json!({})).unwrap()
}

/// Plays every planned round (player 1 wins, except a draw at table 2) until the plan finishes.
fn run(format: Format, rules: &Rules, n: usize) -> (Vec<PastPairing>, Option<Uuid>) {
    let e = entries(n);
    let mut past: Vec<PastPairing> = Vec::new();
    for _ in 0..64 {
        match plan_next(format, rules, &e, &past, 7).unwrap() {
            Plan::Finished { winner } => return (past, winner),
            Plan::Round {
                round, games, bye, ..
            } => {
                let mut tables = std::collections::BTreeSet::new();
                for g in &games {
                    assert!(tables.insert(g.table), "distinct tables");
                    past.push(PastPairing {
                        round,
                        table: Some(g.table),
                        p1: g.p1,
                        p2: Some(g.p2),
                        bracket: g.bracket,
                        result: GameResult::Pending,
                    });
                }
                assert_eq!(
                    plan_next(format, rules, &e, &past, 7),
                    Err(PlanError::RoundUnfinished(round))
                );
                for p in past.iter_mut().filter(|p| p.round == round) {
                    p.result = GameResult::Completed {
                        winner: (p.table != Some(2)).then_some(p.p1),
                        vp1: 50,
                        vp2: 40,
                    };
                }
                if let Some(b) = bye {
                    past.push(PastPairing {
                        round,
                        table: None,
                        p1: b,
                        p2: None,
                        bracket: None,
                        result: GameResult::Pending,
                    });
                }
            }
        }
    }
    panic!("never finished");
}

#[test]
fn status_transitions() {
    use TournamentStatus::*;
    assert!(Draft.can_move_to(Registration));
    assert!(Registration.can_move_to(Active));
    assert!(Active.can_move_to(Completed));
    assert!(Active.can_move_to(Cancelled));
    assert!(!Draft.can_move_to(Active));
    assert!(!Completed.can_move_to(Cancelled));
    assert!(!Cancelled.can_move_to(Draft));
    assert!(!Registration.can_move_to(Draft));
}

#[test]
fn swiss_runs_the_organizers_rounds_with_byes() {
    let with_rounds = |n: usize| {
        let mut r = rules();
        r.rounds = Some(swiss_rounds(&r, n));
        r
    };
    let (past, winner) = run(Format::Swiss, &with_rounds(8), 8);
    assert_eq!(past.iter().map(|p| p.round).max(), Some(3));
    assert!(winner.is_some());
    let (past, _) = run(Format::Swiss, &with_rounds(7), 7);
    let byes: Vec<_> = past.iter().filter(|p| p.p2.is_none()).collect();
    assert_eq!(byes.len(), 3);
    let mut who: Vec<_> = byes.iter().map(|p| p.p1).collect();
    who.dedup();
    assert_eq!(who.len(), 3, "at most one bye per player");
}

#[test]
fn swiss_without_rounds_pairs_until_no_rematch_free_pairing_is_left() {
    // Four players: three rematch-free rounds exist (a round robin); the fourth is refused.
    let e = entries(4);
    let mut past: Vec<PastPairing> = Vec::new();
    for round in 1..=3 {
        let Plan::Round { games, .. } = plan_next(Format::Swiss, &rules(), &e, &past, 1).unwrap()
        else {
            panic!("swiss without rules.rounds never finishes by itself");
        };
        for g in games {
            past.push(PastPairing {
                round,
                table: Some(g.table),
                p1: g.p1,
                p2: Some(g.p2),
                bracket: None,
                result: GameResult::Completed {
                    winner: Some(g.p1),
                    vp1: 50,
                    vp2: 40,
                },
            });
        }
    }
    let e4 = plan_next(Format::Swiss, &rules(), &e, &past, 1).unwrap_err();
    assert!(matches!(e4, PlanError::NoRematchFree(4)));
    assert!(e4.to_string().contains("no rematch-free pairing"), "{e4}");
}

#[test]
fn elimination_brackets_finish_with_a_champion() {
    for n in [2, 3, 6, 8, 13] {
        let (past, w) = run(Format::SingleElimination, &rules(), n);
        assert!(w.is_some(), "single {n}");
        assert_eq!(past.len(), n - 1, "n-1 games in single elimination");
    }
    let mut r = rules();
    for reset in [false, true] {
        r.bracket_reset = reset;
        let (past, w) = run(Format::DoubleElimination, &r, 8);
        assert!(w.is_some());
        assert!(past.len() >= 14, "2n-2 games at least");
    }
}

#[test]
fn random_round_one_is_replayable_from_its_recorded_seed() {
    let mut r = rules();
    r.round1 = Some("random".into());
    let e = entries(16);
    let plan = |seed| plan_next(Format::Swiss, &r, &e, &[], seed).unwrap();
    assert_eq!(plan(42), plan(42));
    let Plan::Round { explanation, .. } = plan(42) else {
        panic!("a round")
    };
    assert!(explanation.contains("seed 42"), "{explanation}");
    assert!((0..8).any(|s| plan(s) != plan(42)), "the seed matters");
}

#[test]
fn rules_validate_and_factions() {
    let mut r = rules();
    assert!(r.validate().is_ok());
    assert!(r.allows_faction("fac_orks"));
    r.allowed_factions = vec!["fac_custodes".into()];
    assert!(!r.allows_faction("fac_orks"));
    r.tiebreakers = Some(vec!["nope".into()]);
    assert_eq!(r.validate().unwrap_err().0, "rules.tiebreakers");
    assert_eq!(swiss_rounds(&rules(), 7), 3);
    assert_eq!(swiss_rounds(&rules(), 2), 1);
    assert_eq!(swiss_rounds(&rules(), 9), 4);
}

mod props {
    use std::collections::BTreeSet;

    use proptest::prelude::*;
    use rand_pcg::rand_core::Rng;
    use rand_pcg::Pcg32;

    use super::*;

    /// Plays a whole tournament with random results (wins, draws, cancellations) from `seed`,
    /// checking each round; returns the number of rounds and the winner.
    fn random_tournament(
        format: Format,
        rules: &Rules,
        n: usize,
        seed: u64,
    ) -> (u32, Option<Uuid>) {
        let e = entries(n);
        let mut rng = Pcg32::new(seed, 3);
        let mut past: Vec<PastPairing> = Vec::new();
        for _ in 0..(4 * n + 8) {
            match plan_next(format, rules, &e, &past, seed).unwrap() {
                Plan::Finished { winner } => {
                    return (past.iter().map(|p| p.round).max().unwrap_or(0), winner)
                }
                Plan::Round {
                    round, games, bye, ..
                } => {
                    let mut seen = BTreeSet::new();
                    let mut tables = BTreeSet::new();
                    for g in &games {
                        assert!(seen.insert(g.p1) && seen.insert(g.p2), "once per round");
                        assert!(tables.insert(g.table), "distinct tables");
                        let result = match rng.next_u32() % 10 {
                            0 => GameResult::Cancelled,
                            1 | 2 => GameResult::Completed {
                                winner: None,
                                vp1: 30,
                                vp2: 30,
                            },
                            x => GameResult::Completed {
                                winner: Some(if x % 2 == 0 { g.p1 } else { g.p2 }),
                                vp1: rng.next_u32() % 100,
                                vp2: rng.next_u32() % 100,
                            },
                        };
                        past.push(PastPairing {
                            round,
                            table: Some(g.table),
                            p1: g.p1,
                            p2: Some(g.p2),
                            bracket: g.bracket,
                            result,
                        });
                    }
                    if let Some(b) = bye {
                        assert!(seen.insert(b), "bye player also paired");
                        let before = past.iter().any(|p| p.p2.is_none() && p.p1 == b);
                        assert!(!before || round as usize > n, "second bye while avoidable");
                        past.push(PastPairing {
                            round,
                            table: None,
                            p1: b,
                            p2: None,
                            bracket: None,
                            result: GameResult::Pending,
                        });
                    }
                    if format == Format::Swiss {
                        assert_eq!(seen.len(), n, "everyone plays or has the bye");
                    }
                }
            }
        }
        panic!("tournament never finished");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn swiss_tournaments_are_well_formed(n in 2usize..=24, seed in any::<u64>(), random in any::<bool>()) {
            let mut r = rules();
            r.round1 = random.then(|| "random".to_string());
            r.rounds = Some(swiss_rounds(&r, n));
            let (rounds, winner) = random_tournament(Format::Swiss, &r, n, seed);
            prop_assert_eq!(rounds, swiss_rounds(&r, n));
            prop_assert!(winner.is_some());
        }

        #[test]
        fn elimination_tournaments_crown_one_champion(n in 2usize..=64, seed in any::<u64>(), reset in any::<bool>()) {
            let (_, w) = random_tournament(Format::SingleElimination, &rules(), n, seed);
            prop_assert!(w.is_some());
            let mut r = rules();
            r.bracket_reset = reset;
            let (_, w) = random_tournament(Format::DoubleElimination, &r, n, seed);
            prop_assert!(w.is_some());
        }
    }
}
