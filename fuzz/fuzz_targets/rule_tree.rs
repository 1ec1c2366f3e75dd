//! Fuzz target: rule-tree parsing and validation (and a short battle with any valid tree).
//! Run: `cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run rule_tree corpus/rule_tree seeds/rule_tree`
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "rule_tree_check.rs"]
mod rule_tree_check;

fuzz_target!(|data: &[u8]| rule_tree_check::check(data));
