//! Golden replays: each fixture under `tests/fixtures/sim/` holds battle inputs and the log
//! hash and outcome they must produce. A change that moves any of them must bump
//! `ENGINE_VERSION`; then regenerate with `WARROOM_BLESS_SIM=1 cargo test --test sim_golden`.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use warroom::sim::battle::{run_to_end, Battle, BattleInputs};
use warroom::sim::ENGINE_VERSION;

fn fixture_dir() -> PathBuf {
    // `file!()` is relative to the package root (the test's working directory) in the main
    // crate and absolute in a scratch crate; both resolve.
    Path::new(file!())
        .parent()
        .map(|p| p.join("fixtures/sim"))
        .unwrap_or_default()
}

fn fixtures() -> Vec<(PathBuf, Value)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(fixture_dir()).expect("fixture dir") {
        let path = entry.expect("dir entry").path();
        if path.extension().and_then(|e| e.to_str()) == Some("json") {
            let text = std::fs::read_to_string(&path).expect("read fixture");
            out.push((path, serde_json::from_str(&text).expect("fixture json")));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(out.len() >= 8, "expected the checked-in fixtures");
    out
}

#[test]
fn golden_replays() {
    let bless = std::env::var_os("WARROOM_BLESS_SIM").is_some();
    let mut failures = Vec::new();
    for (path, fixture) in fixtures() {
        let inputs: BattleInputs =
            serde_json::from_value(fixture["inputs"].clone()).expect("fixture inputs");
        let log = run_to_end(inputs.clone()).expect("battle runs");
        let got = json!({
            "name": fixture["name"],
            "engine_version": ENGINE_VERSION,
            "inputs": fixture["inputs"],
            "outcome": log.outcome,
            "log_hash": log.log_hash,
        });
        if bless {
            let text = serde_json::to_string_pretty(&got).expect("json") + "\n";
            std::fs::write(&path, text).expect("write fixture");
            continue;
        }
        if fixture["engine_version"] != json!(ENGINE_VERSION) {
            failures.push(format!(
                "{}: recorded for engine {} but ENGINE_VERSION is {ENGINE_VERSION}; regenerate",
                path.display(),
                fixture["engine_version"]
            ));
            continue;
        }
        if got["log_hash"] != fixture["log_hash"] || got["outcome"] != fixture["outcome"] {
            failures.push(format!(
                "{}: log moved (hash {} -> {}, outcome {} -> {}); if intended, bump ENGINE_VERSION",
                path.display(),
                fixture["log_hash"],
                got["log_hash"],
                fixture["outcome"],
                got["outcome"]
            ));
        }
        // A live actor stepping tick by tick reaches the same hash as run_to_end.
        let mut live = Battle::new(inputs).expect("battle");
        while live.step().is_some() {}
        assert_eq!(live.log_hash(), log.log_hash, "{}", path.display());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn spec_example_tick_shape() {
    let fixture = fixtures()
        .into_iter()
        .find(|(p, _)| p.ends_with("spec_example.json"))
        .expect("spec_example fixture");
    let inputs: BattleInputs = serde_json::from_value(fixture.1["inputs"].clone()).unwrap();
    let log = run_to_end(inputs).unwrap();
    let first = serde_json::to_value(&log.ticks[0]).unwrap();
    assert_eq!(first["tick"], 1);
    for side in ["p1", "p2"] {
        for key in ["hp", "energy", "action", "damage_dealt", "status_effects"] {
            assert!(
                first[side].get(key).is_some(),
                "{side}.{key} missing in {first}"
            );
        }
    }
    assert!(first.get("biome_event").is_some());
    assert!(first["lcg_state"].is_string(), "lcg_state must be a string");
    // Energy starts at 0 and regenerates 3 per tick, like the spec's replay example.
    assert_eq!(first["p1"]["energy"], 3);
}
