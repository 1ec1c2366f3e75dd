//! The body of the `rule_tree` fuzz target, shared with `tests/sim_fuzz_corpus.rs` so it is
//! compiled and exercised by the ordinary test suite too.

use warroom::sim::battle::{run_to_end, BattleInputs, Fighter};
use warroom::sim::catalog::{Biome, ROBOTS};
use warroom::sim::rules::{validate, RuleTree};

/// Checks the validator's contract on arbitrary bytes; panics on a violation.
pub fn check(data: &[u8]) {
    let Some((&selector, json)) = data.split_first() else {
        return;
    };
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(json) else {
        return;
    };
    let robot = ROBOTS.get(usize::from(selector) % (ROBOTS.len() + 1));
    let out = validate(&value, robot);
    assert_eq!(out.tree.is_some(), out.errors.is_empty());
    let Some(tree) = out.tree else {
        return;
    };
    // A valid tree round-trips through its JSON and hashes stably.
    let again = RuleTree::from_json(&tree.to_json()).expect("round trip");
    assert_eq!(again, tree);
    assert_eq!(again.canonical_hash(), tree.canonical_hash());
    // And it can play: a short battle never fails or panics.
    let me = robot.unwrap_or(&ROBOTS[0]);
    let inputs = BattleInputs {
        seed: u64::from(selector),
        biome: Biome::ALL[usize::from(selector) % Biome::ALL.len()],
        max_ticks: 30,
        p1: Fighter::new(me, tree.clone()),
        p2: Fighter::new(&ROBOTS[35], tree),
    };
    let log = run_to_end(inputs).expect("valid inputs");
    assert!(log.outcome.total_ticks <= 30);
}
