//! Engine mechanics as documented in docs/GAME_RULES.md.

use serde_json::json;
use warroom::sim::ai::default_tree;
use warroom::sim::battle::{
    run_to_end, ActionTaken, Battle, BattleInputs, Fighter, Upgrades, WinReason, Winner,
    DEFAULT_MAX_TICKS,
};
use warroom::sim::catalog::{robot, Biome, RobotDef, StatusKind};
use warroom::sim::rules::RuleTree;
use warroom::sim::SimError;

fn tree(action: serde_json::Value) -> RuleTree {
    RuleTree::from_json(&json!({"version": 2, "rules": [
        {"priority": 1, "condition": {"type": "ALWAYS"}, "action": action}
    ]}))
    .expect("valid tree")
}

fn bot(slug: &str) -> &'static RobotDef {
    robot(slug).expect("catalog robot")
}

fn inputs(seed: u64, p1: Fighter, p2: Fighter) -> BattleInputs {
    BattleInputs {
        seed,
        biome: Biome::Grassland,
        max_ticks: DEFAULT_MAX_TICKS,
        p1,
        p2,
    }
}

#[test]
fn minimal_json_inputs_get_defaults() {
    let i: BattleInputs = serde_json::from_value(json!({
        "seed": 1, "biome": "CITY",
        "p1": {"robot": "volt-striker-mk1"}, "p2": {"robot": "iron-bulwark-mk1"}
    }))
    .unwrap();
    assert_eq!(i.max_ticks, DEFAULT_MAX_TICKS);
    assert_eq!(i.p1.upgrades, Upgrades::default());
    assert_eq!(i.p1.tree, default_tree());
    let err = serde_json::from_value::<BattleInputs>(json!({
        "seed": 1, "biome": "CITY", "p1": {"robot": "nope"}, "p2": {"robot": "iron-bulwark-mk1"}
    }))
    .unwrap_err();
    assert!(err.to_string().contains("unknown robot 'nope'"), "{err}");
}

#[test]
fn caps_on_inputs_are_errors() {
    let mut i = inputs(
        1,
        Fighter::new(bot("volt-striker-mk1"), default_tree()),
        Fighter::new(bot("volt-striker-mk1"), default_tree()),
    );
    i.p2.upgrades.speed = 6;
    assert!(matches!(
        Battle::new(i.clone()),
        Err(SimError::UpgradeTooHigh { side: "p2", .. })
    ));
    i.p2.upgrades.speed = 5;
    i.max_ticks = 0;
    assert!(matches!(Battle::new(i), Err(SimError::BadTickCap(0))));
}

#[test]
fn upgrades_raise_max_hp() {
    let mut f = Fighter::new(bot("volt-striker-mk1"), default_tree());
    f.upgrades.hp = 5;
    let b = Battle::new(inputs(1, f.clone(), f)).unwrap();
    assert_eq!(b.max_hp(0), 100); // 80 × 125%
}

#[test]
fn all_defend_runs_to_the_cap_and_draws() {
    let d = Fighter::new(bot("volt-striker-mk1"), tree(json!({"type": "DEFEND"})));
    let mut i = inputs(9, d.clone(), d);
    i.max_ticks = 25;
    let log = run_to_end(i).unwrap();
    assert_eq!(log.outcome.winner, Winner::Draw);
    assert_eq!(log.outcome.reason, WinReason::TickCap);
    assert_eq!(log.outcome.total_ticks, 25);
    assert!(log.ticks.iter().all(|t| t.p1.action == ActionTaken::Defend));
}

#[test]
fn defending_halves_damage() {
    let attack = Fighter::new(bot("volt-striker-mk1"), tree(json!({"type": "ATTACK"})));
    let defend = Fighter::new(bot("iron-bulwark-mk1"), tree(json!({"type": "DEFEND"})));
    let open = Fighter::new(bot("iron-bulwark-mk1"), tree(json!({"type": "ATTACK"})));
    let mean = |p2: &Fighter| {
        let (mut sum, mut n) = (0u64, 0u64);
        for seed in 0..200 {
            let log = run_to_end(inputs(seed, attack.clone(), p2.clone())).unwrap();
            for t in log.ticks.iter().take(30) {
                sum += u64::from(t.p1.damage_dealt);
                n += 1;
            }
        }
        sum as f64 / n as f64
    };
    let (guarded, unguarded) = (mean(&defend), mean(&open));
    assert!(guarded < unguarded * 0.6, "{guarded} vs {unguarded}");
}

#[test]
fn stun_costs_the_next_action() {
    let zap = Fighter::new(
        bot("volt-striker-mk1"),
        tree(json!({"type": "SKILL", "skillId": "chain_lightning"})),
    );
    let other = Fighter::new(bot("cryo-sentinel-mk1"), tree(json!({"type": "ATTACK"})));
    let mut stuns = 0;
    for seed in 0..100 {
        let log = run_to_end(inputs(seed, zap.clone(), other.clone())).unwrap();
        for w in log.ticks.windows(2) {
            let stunned = w[0]
                .p2
                .status_effects
                .iter()
                .any(|s| s.status == StatusKind::Stun);
            if stunned && w[1].p2.hp > 0 && w[1].p1.hp > 0 {
                stuns += 1;
                assert_eq!(
                    w[1].p2.action,
                    ActionTaken::Stunned,
                    "seed {seed} tick {}",
                    w[1].tick
                );
            }
        }
    }
    assert!(
        stuns > 10,
        "chain_lightning should stun sometimes ({stuns})"
    );
}

#[test]
fn shields_absorb_and_show_their_value() {
    let shell = Fighter::new(
        bot("cryo-glacier-guard"),
        tree(json!({"type": "SKILL", "skillId": "glacier_shell"})),
    );
    let hit = Fighter::new(bot("volt-striker-mk1"), tree(json!({"type": "ATTACK"})));
    let log = run_to_end(inputs(3, hit, shell)).unwrap();
    let shielded = log
        .ticks
        .iter()
        .find(|t| {
            t.p2.status_effects
                .iter()
                .any(|s| s.status == StatusKind::Shield)
        })
        .expect("the shield goes up");
    let s = shielded
        .p2
        .status_effects
        .iter()
        .find(|s| s.status == StatusKind::Shield)
        .unwrap();
    assert!(s.value > 0);
    let v = serde_json::to_value(shielded).unwrap();
    assert!(v["p2"]["status_effects"][0].get("value").is_some(), "{v}");
}

#[test]
fn event_lcg_state_is_the_battle_state() {
    let f = Fighter::new(bot("nano-weaver-mk1"), default_tree());
    let mut b = Battle::new(inputs(77, f.clone(), f)).unwrap();
    while let Some(t) = b.step() {
        assert_eq!(t.lcg_state, b.lcg_state());
        assert_eq!(t.tick, b.tick());
    }
    assert!(b.is_over());
    assert!(b.step().is_none());
    assert_eq!(b.fast_forward(10), 0);
}
