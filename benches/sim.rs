//! Robot engine throughput: ticks/s with the full log, fast-forward, and one whole battle.
//! Run: `cargo bench --bench sim`. Bars (issue 3): >= 2M ticks/s/core with the full log,
//! more without it, a typical battle under 50 µs.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use warroom::sim::ai::{builtin, default_tree, Difficulty};
use warroom::sim::battle::{outcome_only, run_to_end, Battle, BattleInputs, Fighter};
use warroom::sim::catalog::{robot, starters, Biome};

/// Every ordered pair of starters with the default tree, across biomes: 36 battles.
fn field() -> Vec<BattleInputs> {
    let st: Vec<_> = starters().collect();
    let mut out = Vec::new();
    for (i, a) in st.iter().enumerate() {
        for (j, b) in st.iter().enumerate() {
            out.push(BattleInputs {
                seed: (i * 6 + j) as u64 * 0x9E37_79B9,
                biome: Biome::ALL[(i + j) % Biome::ALL.len()],
                max_ticks: 100,
                p1: Fighter::new(a, default_tree()),
                p2: Fighter::new(b, default_tree()),
            });
        }
    }
    out
}

fn typical() -> BattleInputs {
    BattleInputs {
        seed: 1_234_567_890,
        biome: Biome::City,
        max_ticks: 100,
        p1: Fighter::new(
            robot("volt-striker-mk1").expect("robot"),
            builtin(Difficulty::Hard),
        ),
        p2: Fighter::new(robot("iron-bulwark-mk1").expect("robot"), default_tree()),
    }
}

fn bench(c: &mut Criterion) {
    let field = field();
    let total_ticks: u64 = field
        .iter()
        .map(|i| u64::from(outcome_only(i.clone()).expect("valid").total_ticks))
        .sum();
    eprintln!("field: {} battles, {total_ticks} ticks", field.len());

    let mut g = c.benchmark_group("sim");
    g.throughput(Throughput::Elements(total_ticks));
    g.bench_function("ticks_full_log", |b| {
        b.iter(|| {
            for i in &field {
                black_box(run_to_end(i.clone()).expect("valid"));
            }
        })
    });
    g.bench_function("ticks_fast_forward_hashed", |b| {
        b.iter(|| {
            for i in &field {
                let mut battle = Battle::new(i.clone()).expect("valid");
                battle.fast_forward(u32::MAX);
                black_box(battle.log_hash());
            }
        })
    });
    g.bench_function("ticks_outcome_only", |b| {
        b.iter(|| {
            for i in &field {
                black_box(outcome_only(i.clone()).expect("valid"));
            }
        })
    });
    g.finish();

    let t = typical();
    let ticks = outcome_only(t.clone()).expect("valid").total_ticks;
    eprintln!("typical battle: {ticks} ticks");
    c.bench_function("sim/typical_battle_full_log", |b| {
        b.iter(|| black_box(run_to_end(black_box(t.clone())).expect("valid")))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
