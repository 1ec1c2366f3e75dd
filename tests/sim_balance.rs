//! Balance report: starters with the default tree, every ordered pair of different starters,
//! in every biome, over many seeds (10,080 battles). Each element's win rate against the field
//! must stay at or below 60%. See the table with
//! `cargo test --test sim_balance -- --nocapture`.

use warroom::sim::ai::default_tree;
use warroom::sim::battle::{outcome_only, BattleInputs, Fighter, WinReason, Winner};
use warroom::sim::catalog::{starters, Biome, Element};

const SEEDS_PER_PAIRING: u64 = 56;
const MAX_WIN_RATE_PCT: f64 = 60.0;

#[derive(Default, Clone, Copy)]
struct Record {
    wins: u32,
    losses: u32,
    draws: u32,
}

#[test]
fn starter_elements_are_balanced() {
    let starters: Vec<_> = starters().collect();
    let mut by_element = [Record::default(); 6];
    let mut matrix = [[0u32; 6]; 6]; // wins of row element over column element
    let (mut battles, mut ticks, mut capped) = (0u64, 0u64, 0u64);
    let mut seed = 0x5eed_u64;
    for a in &starters {
        for b in &starters {
            if a.slug == b.slug {
                continue;
            }
            for biome in Biome::ALL {
                for _ in 0..SEEDS_PER_PAIRING {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let inputs = BattleInputs {
                        seed,
                        biome: *biome,
                        max_ticks: 100,
                        p1: Fighter::new(a, default_tree()),
                        p2: Fighter::new(b, default_tree()),
                    };
                    let o = outcome_only(inputs).expect("valid inputs");
                    battles += 1;
                    ticks += u64::from(o.total_ticks);
                    capped += u64::from(o.reason == WinReason::TickCap);
                    let (ia, ib) = (a.element.index(), b.element.index());
                    match o.winner {
                        Winner::P1 => {
                            by_element[ia].wins += 1;
                            by_element[ib].losses += 1;
                            matrix[ia][ib] += 1;
                        }
                        Winner::P2 => {
                            by_element[ib].wins += 1;
                            by_element[ia].losses += 1;
                            matrix[ib][ia] += 1;
                        }
                        Winner::Draw => {
                            by_element[ia].draws += 1;
                            by_element[ib].draws += 1;
                        }
                    }
                }
            }
        }
    }
    assert!(battles >= 10_000, "only {battles} battles");
    println!(
        "{battles} battles, mean {:.1} ticks, {capped} reached the tick cap",
        ticks as f64 / battles as f64
    );
    println!("| element | starter | wins | losses | draws | win rate |");
    println!("|---|---|---:|---:|---:|---:|");
    let mut worst = 0.0f64;
    for e in Element::ALL {
        let r = by_element[e.index()];
        let games = r.wins + r.losses + r.draws;
        let rate = 100.0 * f64::from(r.wins) / f64::from(games.max(1));
        worst = worst.max(rate);
        let slug = starters
            .iter()
            .find(|s| s.element == *e)
            .map_or("-", |s| s.slug);
        println!(
            "| {e} | {slug} | {} | {} | {} | {rate:.1}% |",
            r.wins, r.losses, r.draws
        );
    }
    println!("\nwin % of row element over column element:");
    print!("{:>6}", "");
    for e in Element::ALL {
        print!("{:>7}", e.as_str());
    }
    println!();
    let per_pair = 2.0 * Biome::ALL.len() as f64 * SEEDS_PER_PAIRING as f64;
    for a in Element::ALL {
        print!("{:>6}", a.as_str());
        for b in Element::ALL {
            if a == b {
                print!("{:>7}", "-");
            } else {
                print!(
                    "{:>6.1}%",
                    100.0 * f64::from(matrix[a.index()][b.index()]) / per_pair
                );
            }
        }
        println!();
    }
    assert!(
        worst <= MAX_WIN_RATE_PCT,
        "an element wins {worst:.1}% (> {MAX_WIN_RATE_PCT}%)"
    );
}
