//! Built-in opponents for `simulate`, and the tree a user without one plays with.
//!
//! The trees name skills of several robots; a rule whose skill the robot lacks is skipped at
//! run time, so one tree serves every robot.

use super::catalog::{self, StatusKind};
use super::rules::{Action, CmpOp, Condition, FighterVar, Operand, Rule, RuleTree, Var};

str_enum! {
    /// Strength of a built-in opponent.
    pub enum Difficulty: "difficulty" {
        /// Attacks every tick.
        Easy => "EASY",
        /// The default tree: heals when low, spends energy on heavy strikes.
        Medium => "MEDIUM",
        /// Uses statuses, shields, buffs and finishers with some care.
        Hard => "HARD",
    }
}

/// The built-in tree for a difficulty.
pub fn builtin(difficulty: Difficulty) -> RuleTree {
    match difficulty {
        Difficulty::Easy => easy(),
        Difficulty::Medium => default_tree(),
        Difficulty::Hard => hard(),
    }
}

/// The tree for a user with no active algorithm (also MEDIUM):
/// heal below 30% hp, otherwise spend energy on `overcharge_strike`, otherwise ATTACK.
pub fn default_tree() -> RuleTree {
    let low = me(FighterVar::HpPct, CmpOp::Lt, 30);
    let mut rules = Vec::new();
    for id in ["heal_burst", "self_assembly"] {
        push_skill(&mut rules, 10, low.clone(), id);
    }
    push_skill(
        &mut rules,
        20,
        me(FighterVar::Energy, CmpOp::Ge, 4),
        "overcharge_strike",
    );
    rules.push(Rule {
        priority: 99,
        condition: Condition::Always,
        action: Action::Attack,
    });
    RuleTree { rules }
}

fn easy() -> RuleTree {
    RuleTree {
        rules: vec![
            Rule {
                priority: 1,
                condition: enemy(FighterVar::Energy, CmpOp::Ge, 9),
                action: Action::Defend,
            },
            Rule {
                priority: 99,
                condition: Condition::Always,
                action: Action::Attack,
            },
        ],
    }
}

fn hard() -> RuleTree {
    let mut rules = Vec::new();
    let low = Condition::And(vec![
        me(FighterVar::HpPct, CmpOp::Lt, 35),
        enemy(FighterVar::HpPct, CmpOp::Gt, 10),
    ]);
    for id in ["heal_burst", "self_assembly", "regrowth", "repair_protocol"] {
        push_skill(&mut rules, 1, low.clone(), id);
    }
    let finisher = Condition::And(vec![
        enemy(FighterVar::HpPct, CmpOp::Le, 20),
        me(FighterVar::Energy, CmpOp::Ge, 4),
    ]);
    for id in ["thunder_lance", "inferno", "rail_slam", "overcharge_strike"] {
        push_skill(&mut rules, 2, finisher.clone(), id);
    }
    let threatened = Condition::And(vec![
        enemy(FighterVar::Energy, CmpOp::Ge, 7),
        me(FighterVar::Shield, CmpOp::Eq, 0),
    ]);
    for id in ["glacier_shell", "iron_wall", "barrier"] {
        push_skill(&mut rules, 3, threatened.clone(), id);
    }
    let debuffs = [
        ("frost_lance", StatusKind::Slow),
        ("flame_burst", StatusKind::Burn),
        ("spore_cloud", StatusKind::Poison),
        ("nanite_swarm", StatusKind::Corrode),
    ];
    for (id, status) in debuffs {
        push_skill(
            &mut rules,
            4,
            enemy(FighterVar::Status(status), CmpOp::Eq, 0),
            id,
        );
    }
    push_skill(
        &mut rules,
        5,
        Condition::And(vec![
            me(FighterVar::Status(StatusKind::Overcharge), CmpOp::Eq, 0),
            me(FighterVar::Energy, CmpOp::Ge, 7),
        ]),
        "focus_core",
    );
    for id in ["thunder_lance", "inferno", "rail_slam", "chain_lightning"] {
        push_skill(&mut rules, 6, me(FighterVar::Energy, CmpOp::Ge, 8), id);
    }
    push_skill(
        &mut rules,
        7,
        me(FighterVar::Energy, CmpOp::Ge, 6),
        "overcharge_strike",
    );
    rules.push(Rule {
        priority: 99,
        condition: Condition::Always,
        action: Action::Attack,
    });
    RuleTree { rules }
}

fn me(v: FighterVar, op: CmpOp, n: i64) -> Condition {
    Condition::Compare {
        left: Var::Me(v),
        op,
        right: Operand::Num(n),
    }
}

fn enemy(v: FighterVar, op: CmpOp, n: i64) -> Condition {
    Condition::Compare {
        left: Var::Enemy(v),
        op,
        right: Operand::Num(n),
    }
}

fn push_skill(rules: &mut Vec<Rule>, priority: i64, condition: Condition, id: &str) {
    // Ids here are literals checked by the tests; a missing one just drops the rule.
    if let Some(skill) = catalog::skill(id) {
        rules.push(Rule {
            priority,
            condition,
            action: Action::Skill(skill),
        });
    }
}
