//! Property tests for the robot engine: determinism, state bounds, termination,
//! fast-forward equivalence, round trips, and a validator that never panics.

use proptest::prelude::*;
use serde_json::{json, Value};
use warroom::sim::ai::{builtin, Difficulty};
use warroom::sim::battle::{
    run_to_end, Battle, BattleInputs, Fighter, PilotStats, Upgrades, WinReason,
};
use warroom::sim::catalog::{Biome, StatusKind, ROBOTS, SKILLS};
use warroom::sim::rules::{validate, RuleTree, Var};

fn var_name() -> impl Strategy<Value = String> {
    let names: Vec<String> = Var::all_names()
        .into_iter()
        .filter(|n| n != "biome")
        .collect();
    proptest::sample::select(names)
}

fn op() -> impl Strategy<Value = &'static str> {
    proptest::sample::select(vec!["<", "<=", ">", ">=", "==", "!="])
}

fn condition() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(json!({"type": "ALWAYS"})),
        (var_name(), op(), -10i64..120)
            .prop_map(|(l, o, r)| json!({"type": "COMPARE", "left": l, "op": o, "right": r})),
        (var_name(), op(), var_name())
            .prop_map(|(l, o, r)| json!({"type": "COMPARE", "left": l, "op": o, "right": r})),
        (proptest::sample::select(Biome::ALL.to_vec()), any::<bool>()).prop_map(|(b, eq)| {
            json!({"type": "COMPARE", "left": "biome", "op": if eq { "==" } else { "!=" }, "right": b})
        }),
    ];
    leaf.prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 1..3)
                .prop_map(|c| json!({"type": "AND", "children": c})),
            proptest::collection::vec(inner.clone(), 1..3)
                .prop_map(|c| json!({"type": "OR", "children": c})),
            inner.prop_map(|c| json!({"type": "NOT", "child": c})),
        ]
    })
}

fn action() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!({"type": "ATTACK", "target": "ENEMY"})),
        Just(json!({"type": "DEFEND"})),
        (0..SKILLS.len()).prop_map(|i| json!({"type": "SKILL", "skillId": SKILLS[i].id})),
    ]
}

fn tree_json() -> impl Strategy<Value = Value> {
    proptest::collection::vec((-5i64..100, condition(), action()), 0..6).prop_map(|rules| {
        let rules: Vec<Value> = rules
            .into_iter()
            .map(|(p, c, a)| json!({"priority": p, "condition": c, "action": a}))
            .collect();
        json!({"version": 2, "rules": rules})
    })
}

fn tree() -> impl Strategy<Value = RuleTree> {
    prop_oneof![
        proptest::sample::select(Difficulty::ALL.to_vec()).prop_map(builtin),
        tree_json().prop_map(|j| RuleTree::from_json(&j).expect("generated trees are valid")),
    ]
}

fn fighter() -> impl Strategy<Value = Fighter> {
    (
        0..ROBOTS.len(),
        tree(),
        [0u8..=5, 0u8..=5, 0u8..=5, 0u8..=5],
        proptest::option::of([0u8..=10, 0u8..=10, 0u8..=10, 0u8..=10]),
    )
        .prop_map(|(r, tree, u, p)| Fighter {
            robot: &ROBOTS[r],
            upgrades: Upgrades {
                attack: u[0],
                defense: u[1],
                hp: u[2],
                speed: u[3],
            },
            pilot: p.map(|p| PilotStats {
                attack_pct: p[0],
                defense_pct: p[1],
                hp_pct: p[2],
                speed: p[3],
            }),
            tree,
        })
}

fn inputs() -> impl Strategy<Value = BattleInputs> {
    (
        any::<u64>(),
        0..Biome::ALL.len(),
        1u32..=150,
        fighter(),
        fighter(),
    )
        .prop_map(|(seed, b, max_ticks, p1, p2)| BattleInputs {
            seed,
            biome: Biome::ALL[b],
            max_ticks,
            p1,
            p2,
        })
}

/// Arbitrary JSON, including the shapes the validator looks for.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        proptest::sample::select(vec![
            "AND",
            "OR",
            "NOT",
            "COMPARE",
            "ALWAYS",
            "SKILL",
            "ATTACK",
            "DEFEND",
            "SELF",
            "ENEMY",
            "self.hp",
            "biome",
            "CITY",
            "heal_burst",
            "<",
            "==",
            "",
        ])
        .prop_map(|s| json!(s)),
        ".{0,12}".prop_map(Value::String),
    ];
    let keys = proptest::sample::select(vec![
        "type",
        "children",
        "child",
        "left",
        "op",
        "right",
        "skillId",
        "target",
        "priority",
        "condition",
        "action",
        "version",
        "rules",
        "x",
    ]);
    leaf.prop_recursive(6, 64, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(keys.clone(), inner, 0..6).prop_map(|m| {
                Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn same_inputs_same_log(inputs in inputs()) {
        let a = run_to_end(inputs.clone()).unwrap();
        let b = run_to_end(inputs).unwrap();
        prop_assert_eq!(a, b);
    }

    #[test]
    fn state_stays_in_bounds_and_battle_ends_by_cap(inputs in inputs()) {
        let battle = Battle::new(inputs.clone()).unwrap();
        let max_hp = [battle.max_hp(0), battle.max_hp(1)];
        let max_energy = [inputs.p1.robot.base_energy, inputs.p2.robot.base_energy];
        let log = run_to_end(inputs.clone()).unwrap();
        prop_assert!(log.outcome.total_ticks <= inputs.max_ticks);
        prop_assert_eq!(log.ticks.len() as u32, log.outcome.total_ticks);
        if log.outcome.reason == WinReason::TickCap {
            prop_assert_eq!(log.outcome.total_ticks, inputs.max_ticks);
        }
        for (i, t) in log.ticks.iter().enumerate() {
            prop_assert_eq!(t.tick, i as u32 + 1);
            for (s, f) in [&t.p1, &t.p2].into_iter().enumerate() {
                prop_assert!(f.hp <= max_hp[s], "hp {} > max {}", f.hp, max_hp[s]);
                prop_assert!(f.energy <= max_energy[s]);
                prop_assert!(f.status_effects.iter().all(|e| e.ticks <= 5));
                let shield = f.status_effects.iter().find(|e| e.status == StatusKind::Shield);
                prop_assert!(shield.is_none_or(|e| e.value > 0 && e.value <= max_hp[s]));
            }
        }
        // Only the last tick may show a knocked-out robot.
        for t in log.ticks.iter().rev().skip(1) {
            prop_assert!(t.p1.hp > 0 && t.p2.hp > 0);
        }
    }

    #[test]
    fn fast_forward_then_step_equals_stepping(inputs in inputs(), n in 0u32..160) {
        let log = run_to_end(inputs.clone()).unwrap();
        let mut b = Battle::new(inputs).unwrap();
        let done = b.fast_forward(n);
        prop_assert_eq!(done, n.min(log.outcome.total_ticks));
        let mut rest = Vec::new();
        while let Some(t) = b.step() {
            rest.push(t);
        }
        prop_assert_eq!(&rest[..], &log.ticks[done as usize..]);
        prop_assert_eq!(b.log_hash(), log.log_hash);
        prop_assert_eq!(b.outcome(), Some(log.outcome));
    }

    #[test]
    fn trees_and_inputs_round_trip(inputs in inputs()) {
        for tree in [&inputs.p1.tree, &inputs.p2.tree] {
            let back = RuleTree::from_json(&tree.to_json()).unwrap();
            prop_assert_eq!(&back, tree);
            prop_assert_eq!(back.canonical_hash(), tree.canonical_hash());
        }
        let text = serde_json::to_string(&inputs).unwrap();
        let back: BattleInputs = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(back, inputs);
    }

    #[test]
    fn validator_never_panics(v in any_json()) {
        let out = validate(&v, Some(&ROBOTS[0]));
        prop_assert_eq!(out.tree.is_some(), out.errors.is_empty());
        prop_assert!(out.errors.len() <= 51);
    }

    #[test]
    fn validator_never_panics_inside_rules(c in any_json(), a in any_json(), p in any_json()) {
        let v = json!({"version": 2, "rules": [{"priority": p, "condition": c, "action": a}]});
        let out = validate(&v, None);
        prop_assert_eq!(out.tree.is_some(), out.errors.is_empty());
    }

    #[test]
    fn generated_trees_validate(t in tree_json()) {
        let out = validate(&t, Some(&ROBOTS[3]));
        prop_assert!(out.errors.is_empty(), "{:?}", out.errors);
    }
}
