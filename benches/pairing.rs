//! Swiss pairing speed (issue 6): the bar is 1,024 players in under 200 ms,
//! 128 players in under 50 ms. Run: `cargo bench --bench pairing`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use warroom::domain::pairing::{
    pair_swiss_round, History, Outcome, PlayedGame, Player, PlayerId, SwissConfig,
};

/// A field of `n` players after `rounds` swiss rounds with pseudo-random results.
fn after_rounds(n: usize, rounds: u32) -> (Vec<Player>, History) {
    let players: Vec<Player> = (0..n)
        .map(|i| Player {
            id: PlayerId(i as u32),
            seed: i as u32 + 1,
        })
        .collect();
    let cfg = SwissConfig::default();
    let mut h = History::default();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..rounds {
        let Ok(r) = pair_swiss_round(&players, &h, &cfg) else {
            break;
        };
        for p in &r.pairings {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let outcome = [Outcome::AWins, Outcome::BWins, Outcome::Draw][((x >> 33) % 3) as usize];
            h.games.push(PlayedGame {
                round: r.round,
                table: Some(p.table),
                a: p.a,
                b: p.b,
                vp_a: ((x >> 40) % 100) as u32,
                vp_b: ((x >> 20) % 100) as u32,
                outcome,
            });
        }
    }
    (players, h)
}

fn swiss(c: &mut Criterion) {
    let cfg = SwissConfig::default();
    let mut g = c.benchmark_group("swiss_pairing");
    g.sample_size(10);
    for n in [128usize, 1024] {
        let (players, h) = after_rounds(n, 4);
        g.bench_function(format!("{n}_players_round5"), |b| {
            b.iter(|| pair_swiss_round(black_box(&players), black_box(&h), &cfg))
        });
    }
    g.finish();
}

criterion_group!(benches, swiss);
criterion_main!(benches);
