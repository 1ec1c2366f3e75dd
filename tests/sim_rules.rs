//! Rule-tree validation: messages, bounds, warnings, canonical hash, built-ins.

use serde_json::{json, Value};
use warroom::sim::ai::{builtin, default_tree, Difficulty};
use warroom::sim::catalog::robot;
use warroom::sim::rules::{validate, RuleTree, MAX_DEPTH, MAX_NODES, MAX_RULES};

fn spec_tree() -> Value {
    json!({
      "version": 2,
      "rules": [
        { "priority": 1,
          "condition": { "type": "AND", "children": [
            { "type": "COMPARE", "left": "self.hp_pct", "op": "<", "right": 30 },
            { "type": "COMPARE", "left": "self.energy", "op": ">=", "right": 5 } ] },
          "action": { "type": "SKILL", "skillId": "heal_burst", "target": "SELF" } },
        { "priority": 2,
          "condition": { "type": "COMPARE", "left": "self.energy", "op": ">=", "right": 3 },
          "action": { "type": "SKILL", "skillId": "overcharge_strike", "target": "ENEMY" } },
        { "priority": 99, "condition": { "type": "ALWAYS" },
          "action": { "type": "ATTACK", "target": "ENEMY" } }
      ]
    })
}

#[test]
fn spec_example_is_valid_and_round_trips() {
    let v = validate(&spec_tree(), robot("volt-striker-mk1"));
    assert!(v.errors.is_empty(), "{:?}", v.errors);
    assert!(v.warnings.is_empty(), "{:?}", v.warnings);
    let tree = v.tree.unwrap();
    assert_eq!(tree.to_json(), spec_tree());
    let parsed: RuleTree = serde_json::from_value(spec_tree()).unwrap();
    assert_eq!(parsed, tree);
}

#[test]
fn reports_every_error_with_rule_numbers() {
    let mut t = spec_tree();
    t["rules"][1]["action"]["skillId"] = json!("nuke");
    t["rules"][0]["condition"]["children"][0]["left"] = json!("self.mana");
    t["rules"][2]["condition"]["type"] = json!("SOMETIMES");
    let v = validate(&t, None);
    assert!(v.tree.is_none());
    assert!(
        v.errors
            .contains(&"Rule 2: unknown skill 'nuke'".to_string()),
        "{:?}",
        v.errors
    );
    assert!(v
        .errors
        .iter()
        .any(|e| e.starts_with("Rule 1: unknown variable 'self.mana'")));
    assert!(v
        .errors
        .iter()
        .any(|e| e.starts_with("Rule 3:") && e.contains("SOMETIMES")));
    assert_eq!(v.errors.len(), 3, "{:?}", v.errors);
}

#[test]
fn structural_errors() {
    let cases = [
        (json!([]), "must be a JSON object"),
        (json!({"rules": []}), "missing 'version'"),
        (json!({"version": 1, "rules": []}), "unsupported version 1"),
        (json!({"version": 2}), "'rules' must be an array"),
        (
            json!({"version": 2, "rules": [{"condition": {"type": "ALWAYS"}}]}),
            "missing 'action'",
        ),
        (
            json!({"version": 2, "rules": [{"condition": {"type": "AND", "children": []}, "action": {"type": "DEFEND"}}]}),
            "non-empty 'children'",
        ),
        (
            json!({"version": 2, "rules": [{"condition": {"type": "COMPARE", "left": "self.hp", "op": "=~", "right": 1}, "action": {"type": "DEFEND"}}]}),
            "unknown operator '=~'",
        ),
        (
            json!({"version": 2, "rules": [{"condition": {"type": "COMPARE", "left": "self.hp", "op": "<", "right": 1.5}, "action": {"type": "DEFEND"}}]}),
            "must be an integer",
        ),
        (
            json!({"version": 2, "rules": [{"condition": {"type": "COMPARE", "left": "self.hp", "op": "<", "right": 10_000_000}, "action": {"type": "DEFEND"}}]}),
            "within",
        ),
        (
            json!({"version": 2, "rules": [{"condition": {"type": "COMPARE", "left": "biome", "op": "<", "right": "CITY"}, "action": {"type": "DEFEND"}}]}),
            "only == and !=",
        ),
        (
            json!({"version": 2, "rules": [{"condition": {"type": "COMPARE", "left": "biome", "op": "==", "right": "MOON"}, "action": {"type": "DEFEND"}}]}),
            "unknown biome 'MOON'",
        ),
        (
            json!({"version": 2, "rules": [{"condition": {"type": "ALWAYS"}, "action": {"type": "SKILL", "skillId": "heal_burst", "target": "ENEMY"}}]}),
            "targets SELF, not ENEMY",
        ),
        (
            json!({"version": 2, "rules": [{"condition": {"type": "ALWAYS"}, "action": {"type": "ATTACK", "target": "SELF"}}]}),
            "ATTACK target must be ENEMY",
        ),
        (
            json!({"version": 2, "rules": [{"condition": {"type": "ALWAYS"}, "action": {"type": "DANCE"}}]}),
            "unknown action type 'DANCE'",
        ),
    ];
    for (json, want) in cases {
        let v = validate(&json, None);
        assert!(v.tree.is_none(), "{json}");
        assert!(
            v.errors.iter().any(|e| e.contains(want)),
            "{json}: {:?} lacks {want}",
            v.errors
        );
    }
}

#[test]
fn bounds_on_rules_depth_and_nodes() {
    let rule =
        json!({"priority": 1, "condition": {"type": "ALWAYS"}, "action": {"type": "ATTACK"}});
    let many = json!({"version": 2, "rules": vec![rule; MAX_RULES + 1]});
    let v = validate(&many, None);
    assert!(
        v.errors.iter().any(|e| e.contains("too many rules")),
        "{:?}",
        v.errors
    );

    let mut deep = json!({"type": "ALWAYS"});
    for _ in 0..MAX_DEPTH {
        deep = json!({"type": "NOT", "child": deep});
    }
    let v = validate(
        &json!({"version": 2, "rules": [{"condition": deep, "action": {"type": "ATTACK"}}]}),
        None,
    );
    assert!(
        v.errors.iter().any(|e| e.contains("nested deeper")),
        "{:?}",
        v.errors
    );

    let wide = json!({"type": "OR", "children": vec![json!({"type": "ALWAYS"}); MAX_NODES + 5]});
    let v = validate(
        &json!({"version": 2, "rules": [{"condition": wide, "action": {"type": "ATTACK"}}]}),
        None,
    );
    assert!(
        v.errors
            .iter()
            .any(|e| e.contains("too many condition nodes")),
        "{:?}",
        v.errors
    );
    assert!(v.errors.len() <= 2);
}

#[test]
fn warnings_for_players() {
    let t = json!({"version": 2, "rules": [
        {"priority": 1, "condition": {"type": "COMPARE", "left": "self.hp_pct", "op": ">", "right": 100}, "action": {"type": "DEFEND"}},
        {"priority": 2, "condition": {"type": "ALWAYS"}, "action": {"type": "SKILL", "skillId": "inferno"}},
        {"priority": 3, "condition": {"type": "AND", "children": [
            {"type": "COMPARE", "left": "self.hp_pct", "op": "<", "right": 30},
            {"type": "COMPARE", "left": "self.hp_pct", "op": ">", "right": 50}]}, "action": {"type": "ATTACK"}},
        {"priority": 4, "condition": {"type": "ALWAYS"}, "action": {"type": "ATTACK"}},
        {"priority": 5, "condition": {"type": "COMPARE", "left": "enemy.hp", "op": "<", "right": 10}, "action": {"type": "SKILL", "skillId": "rail_slam"}}
    ]});
    let v = validate(&t, robot("volt-striker-mk1"));
    assert!(v.errors.is_empty(), "{:?}", v.errors);
    let w = v.warnings.join("\n");
    assert!(w.contains("Rule 1: condition can never hold"), "{w}");
    assert!(
        w.contains("Rule 2: volt-striker-mk1 has no skill 'inferno'"),
        "{w}"
    );
    assert!(w.contains("Rule 3: condition can never hold"), "{w}");
    assert!(
        w.contains("Rule 5: never reached, rule 4 always applies first"),
        "{w}"
    );
    // A SKILL under ALWAYS can fall through (no energy), so it hides nothing.
    assert!(!w.contains("rule 2 always applies"), "{w}");
}

#[test]
fn canonical_hash_ignores_formatting_and_order_but_not_meaning() {
    let tree = RuleTree::from_json(&spec_tree()).unwrap();
    let mut reordered = spec_tree();
    reordered["rules"].as_array_mut().unwrap().reverse();
    let reordered = RuleTree::from_json(&reordered).unwrap();
    assert_eq!(tree.canonical_hash(), reordered.canonical_hash());
    assert_eq!(tree.canonical_hash().len(), 64);
    let mut changed = spec_tree();
    changed["rules"][0]["condition"]["children"][0]["right"] = json!(31);
    let changed = RuleTree::from_json(&changed).unwrap();
    assert_ne!(tree.canonical_hash(), changed.canonical_hash());
}

#[test]
fn builtins_are_valid_and_distinct() {
    let mut hashes = std::collections::BTreeSet::new();
    for d in Difficulty::ALL {
        let t = builtin(*d);
        let v = validate(&t.to_json(), None);
        assert!(v.errors.is_empty(), "{d}: {:?}", v.errors);
        hashes.insert(t.canonical_hash());
        assert_eq!(d.as_str().parse::<Difficulty>().unwrap(), *d);
    }
    assert_eq!(hashes.len(), 3);
    assert_eq!(default_tree(), builtin(Difficulty::Medium));
    assert!("INSANE".parse::<Difficulty>().is_err());
}
