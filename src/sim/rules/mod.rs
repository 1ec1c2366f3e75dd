//! Rule trees ("algorithms"), version 2 as in the spec: a typed AST, its validation, its
//! canonical hash and its evaluation.
//!
//! A tree is a list of rules. Each tick the engine tries them in ascending `priority` (equal
//! priorities in list order) and takes the first whose condition holds and whose action can be
//! carried out (a SKILL the robot lacks or cannot afford is skipped). With no rule taken the
//! robot makes a basic ATTACK.

mod analysis;
mod parse;
mod parse_leaf;
mod vars;

use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use super::catalog::{Biome, SkillDef, Target};
pub use parse::validate;
pub use vars::{FighterVar, FighterView, Var};

/// The only rule-tree version this engine speaks.
pub(crate) const TREE_VERSION: i64 = 2;
/// Most rules in one tree.
pub const MAX_RULES: usize = 32;
/// Deepest nesting of conditions (a lone COMPARE has depth 1).
pub const MAX_DEPTH: usize = 8;
/// Most condition nodes in one tree, over all rules.
pub const MAX_NODES: usize = 256;
/// Largest magnitude of any number (thresholds and priorities).
pub(crate) const MAX_ABS_NUMBER: i64 = 1_000_000;
/// Most errors reported for one tree; the rest are summarised in one line.
pub(crate) const MAX_ERRORS: usize = 50;

/// The outcome of [`validate`]: the tree when there are no errors, every error found, and
/// warnings a player would want even for a valid tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Validation {
    /// The parsed tree; `Some` exactly when `errors` is empty.
    pub tree: Option<RuleTree>,
    /// Messages like `Rule 2: unknown skill 'nuke'`.
    pub errors: Vec<String>,
    /// Messages like `Rule 3: never reached, rule 1 always applies first`.
    pub warnings: Vec<String>,
}

impl Validation {
    /// No errors.
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }
}

/// A parsed, valid rule tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleTree {
    /// The rules, in the order given.
    pub rules: Vec<Rule>,
}

/// One rule: when `condition` holds, do `action`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// Lower is tried first.
    pub priority: i64,
    /// When the rule applies.
    pub condition: Condition,
    /// What the robot does.
    pub action: Action,
}

/// A condition over the pre-tick view of the battle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// Every child holds.
    And(Vec<Condition>),
    /// Some child holds.
    Or(Vec<Condition>),
    /// The child does not hold.
    Not(Box<Condition>),
    /// `left op right`.
    Compare {
        /// A variable.
        left: Var,
        /// The comparison.
        op: CmpOp,
        /// A number, another variable or (for `biome`) a biome name.
        right: Operand,
    },
    /// Always holds.
    Always,
}

/// Right-hand side of a COMPARE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operand {
    /// An integer literal.
    Num(i64),
    /// Another numeric variable.
    Var(Var),
    /// A biome name (only against `biome`).
    Biome(Biome),
}

str_enum! {
    /// Comparison operators.
    pub enum CmpOp: "operator" {
        /// Less than.
        Lt => "<",
        /// Less or equal.
        Le => "<=",
        /// Greater than.
        Gt => ">",
        /// Greater or equal.
        Ge => ">=",
        /// Equal.
        Eq => "==",
        /// Not equal.
        Ne => "!=",
    }
}

impl CmpOp {
    /// Applies the operator.
    #[inline]
    pub fn holds(self, a: i64, b: i64) -> bool {
        match self {
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
        }
    }
}

/// What a rule makes the robot do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Basic attack on the enemy (power 60, free).
    Attack,
    /// Halve damage taken this tick.
    Defend,
    /// Use a skill; its target is the skill's own.
    Skill(&'static SkillDef),
}

impl Action {
    /// Whether trying this rule can pass on to the next one (a SKILL the robot cannot use).
    pub(crate) fn can_fall_through(&self) -> bool {
        matches!(self, Action::Skill(_))
    }
}

impl RuleTree {
    /// Parses and validates spec JSON; `Err` carries every error.
    pub fn from_json(json: &serde_json::Value) -> Result<RuleTree, Vec<String>> {
        let v = validate(json, None);
        match v.tree {
            Some(tree) => Ok(tree),
            None => Err(v.errors),
        }
    }

    /// The spec JSON of this tree.
    pub fn to_json(&self) -> serde_json::Value {
        // Serializing our own types into a Value cannot fail (no non-string keys, no floats).
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// Rule indices in evaluation order: ascending priority, ties in list order.
    pub(crate) fn evaluation_order(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.rules.len()).collect();
        order.sort_by_key(|&i| self.rules[i].priority);
        order
    }

    /// Hex SHA-256 of the canonical JSON: compact, fixed key order, rules in evaluation order.
    /// Two trees that play identically up to formatting, key order, omitted defaults and rule
    /// order among different priorities get the same hash.
    pub fn canonical_hash(&self) -> String {
        let canonical = RuleTree {
            rules: self
                .evaluation_order()
                .into_iter()
                .map(|i| self.rules[i].clone())
                .collect(),
        };
        let text = serde_json::to_string(&canonical).unwrap_or_default();
        hex::encode(Sha256::digest(text.as_bytes()))
    }
}

impl Serialize for RuleTree {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("version", &TREE_VERSION)?;
        m.serialize_entry("rules", &self.rules)?;
        m.end()
    }
}

impl<'de> Deserialize<'de> for RuleTree {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        RuleTree::from_json(&value).map_err(|errs| serde::de::Error::custom(errs.join("; ")))
    }
}

impl Serialize for Condition {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match self {
            Condition::And(children) => {
                m.serialize_entry("type", "AND")?;
                m.serialize_entry("children", children)?;
            }
            Condition::Or(children) => {
                m.serialize_entry("type", "OR")?;
                m.serialize_entry("children", children)?;
            }
            Condition::Not(child) => {
                m.serialize_entry("type", "NOT")?;
                m.serialize_entry("child", child)?;
            }
            Condition::Compare { left, op, right } => {
                m.serialize_entry("type", "COMPARE")?;
                m.serialize_entry("left", &left.name())?;
                m.serialize_entry("op", op)?;
                match right {
                    Operand::Num(n) => m.serialize_entry("right", n)?,
                    Operand::Var(v) => m.serialize_entry("right", &v.name())?,
                    Operand::Biome(b) => m.serialize_entry("right", b)?,
                }
            }
            Condition::Always => m.serialize_entry("type", "ALWAYS")?,
        }
        m.end()
    }
}

impl Serialize for Action {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match self {
            Action::Attack => {
                m.serialize_entry("type", "ATTACK")?;
                m.serialize_entry("target", &Target::Enemy)?;
            }
            Action::Defend => {
                m.serialize_entry("type", "DEFEND")?;
            }
            Action::Skill(skill) => {
                m.serialize_entry("type", "SKILL")?;
                m.serialize_entry("skillId", skill.id)?;
                m.serialize_entry("target", &skill.target)?;
            }
        }
        m.end()
    }
}

/// Everything a condition can read: both fighters as seen before the tick, the tick number
/// (1-based, the tick being decided) and the biome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct View {
    /// The deciding robot.
    pub me: FighterView,
    /// Its opponent.
    pub enemy: FighterView,
    /// The tick being decided.
    pub tick: i64,
    /// Index of the biome in [`Biome::ALL`].
    pub biome: usize,
}

impl Condition {
    /// Evaluates against a view.
    pub fn holds(&self, view: &View) -> bool {
        match self {
            Condition::Always => true,
            Condition::And(c) => c.iter().all(|c| c.holds(view)),
            Condition::Or(c) => c.iter().any(|c| c.holds(view)),
            Condition::Not(c) => !c.holds(view),
            Condition::Compare { left, op, right } => {
                let a = left.read(view);
                let b = match right {
                    Operand::Num(n) => *n,
                    Operand::Var(v) => v.read(view),
                    Operand::Biome(b) => b.index() as i64,
                };
                op.holds(a, b)
            }
        }
    }
}
