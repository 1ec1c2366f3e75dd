//! Warnings for valid trees: rules that can never run, conditions that can never hold, and
//! skills the chosen robot lacks or cannot afford.

use super::{Action, CmpOp, Condition, Operand, RuleTree, Var};
use crate::sim::battle::MAX_TICKS_LIMIT;
use crate::sim::catalog::RobotDef;

/// What static analysis can say about a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Truth {
    Always,
    Never,
    Maybe,
}

/// Appends warnings about `tree` (already valid) to `out`.
pub(crate) fn warn(tree: &RuleTree, robot: Option<&RobotDef>, out: &mut Vec<String>) {
    if tree.rules.is_empty() {
        out.push("no rules: the robot will always ATTACK".into());
        return;
    }
    let max_energy = robot.map(|r| i64::from(r.base_energy));
    let truths: Vec<Truth> = tree
        .rules
        .iter()
        .map(|r| truth(&r.condition, max_energy))
        .collect();
    for (i, rule) in tree.rules.iter().enumerate() {
        let n = i + 1;
        if truths[i] == Truth::Never {
            out.push(format!("Rule {n}: condition can never hold"));
        }
        if let (Action::Skill(skill), Some(robot)) = (rule.action, robot) {
            if !robot.has_skill(skill.id) {
                out.push(format!(
                    "Rule {n}: {} has no skill '{}'; the rule is skipped",
                    robot.slug, skill.id
                ));
            } else if u32::from(skill.energy_cost) > robot.base_energy {
                out.push(format!(
                    "Rule {n}: skill '{}' costs {} energy but {} holds at most {}",
                    skill.id, skill.energy_cost, robot.slug, robot.base_energy
                ));
            }
        }
    }
    // Walk in evaluation order; the first rule that always applies and cannot pass the turn on
    // hides everything after it.
    let order = tree.evaluation_order();
    let blocker = order
        .iter()
        .copied()
        .find(|&i| truths[i] == Truth::Always && !tree.rules[i].action.can_fall_through());
    if let Some(b) = blocker {
        let after = order.iter().skip_while(|&&i| i != b).skip(1);
        for &i in after {
            out.push(format!(
                "Rule {}: never reached, rule {} always applies first",
                i + 1,
                b + 1
            ));
        }
    }
    for w in order.windows(2) {
        let (a, b) = (w[0], w[1]);
        if tree.rules[a].priority == tree.rules[b].priority {
            out.push(format!(
                "Rules {} and {} share priority {}; the earlier one is tried first",
                a + 1,
                b + 1,
                tree.rules[a].priority
            ));
        }
    }
}

/// Static truth of a condition given the ranges of its variables.
pub(crate) fn truth(c: &Condition, max_energy: Option<i64>) -> Truth {
    match c {
        Condition::Always => Truth::Always,
        Condition::Not(c) => match truth(c, max_energy) {
            Truth::Always => Truth::Never,
            Truth::Never => Truth::Always,
            Truth::Maybe => Truth::Maybe,
        },
        Condition::Or(cs) => {
            let ts: Vec<Truth> = cs.iter().map(|c| truth(c, max_energy)).collect();
            if ts.contains(&Truth::Always) {
                Truth::Always
            } else if ts.iter().all(|t| *t == Truth::Never) {
                Truth::Never
            } else {
                Truth::Maybe
            }
        }
        Condition::And(cs) => {
            let ts: Vec<Truth> = cs.iter().map(|c| truth(c, max_energy)).collect();
            if ts.contains(&Truth::Never) || !bounds_compatible(cs, max_energy) {
                Truth::Never
            } else if ts.iter().all(|t| *t == Truth::Always) {
                Truth::Always
            } else {
                Truth::Maybe
            }
        }
        Condition::Compare { left, op, right } => compare_truth(*left, *op, *right, max_energy),
    }
}

fn var_range(v: Var, max_energy: Option<i64>) -> Option<(i64, i64)> {
    v.range(max_energy, i64::from(MAX_TICKS_LIMIT))
}

/// The interval of values of `left` for which `left op n` holds (None for `!=`).
fn interval(op: CmpOp, n: i64) -> Option<(i64, i64)> {
    match op {
        CmpOp::Lt => Some((i64::MIN, n.saturating_sub(1))),
        CmpOp::Le => Some((i64::MIN, n)),
        CmpOp::Gt => Some((n.saturating_add(1), i64::MAX)),
        CmpOp::Ge => Some((n, i64::MAX)),
        CmpOp::Eq => Some((n, n)),
        CmpOp::Ne => None,
    }
}

fn compare_truth(left: Var, op: CmpOp, right: Operand, max_energy: Option<i64>) -> Truth {
    match right {
        Operand::Biome(_) => Truth::Maybe,
        Operand::Var(r) if r == left => {
            if matches!(op, CmpOp::Le | CmpOp::Ge | CmpOp::Eq) {
                Truth::Always
            } else {
                Truth::Never
            }
        }
        Operand::Var(_) => Truth::Maybe,
        Operand::Num(n) => {
            let Some((lo, hi)) = var_range(left, max_energy) else {
                return Truth::Maybe;
            };
            match interval(op, n) {
                None if n < lo || n > hi => Truth::Always,
                None => {
                    if lo == hi {
                        Truth::Never
                    } else {
                        Truth::Maybe
                    }
                }
                Some((a, b)) => {
                    if a <= lo && hi <= b {
                        Truth::Always
                    } else if b < lo || a > hi {
                        Truth::Never
                    } else {
                        Truth::Maybe
                    }
                }
            }
        }
    }
}

/// For the numeric COMPAREs directly under one AND, whether some value of each variable
/// satisfies all of its bounds at once (catches `hp_pct < 30 AND hp_pct > 50`).
fn bounds_compatible(cs: &[Condition], max_energy: Option<i64>) -> bool {
    let mut seen: Vec<(Var, i64, i64)> = Vec::new();
    for c in cs {
        let Condition::Compare {
            left,
            op,
            right: Operand::Num(n),
        } = c
        else {
            continue;
        };
        let Some((a, b)) = interval(*op, *n) else {
            continue;
        };
        match seen.iter_mut().find(|(v, _, _)| v == left) {
            Some(entry) => {
                entry.1 = entry.1.max(a);
                entry.2 = entry.2.min(b);
            }
            None => {
                let (lo, hi) = var_range(*left, max_energy).unwrap_or((i64::MIN, i64::MAX));
                seen.push((*left, a.max(lo), b.min(hi)));
            }
        }
    }
    seen.iter().all(|(_, lo, hi)| lo <= hi)
}
