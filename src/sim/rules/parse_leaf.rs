//! Parsing the leaves of a rule: COMPARE conditions and actions.

use serde_json::{Map, Value};

use super::parse::{quote, type_name, Ctx, Parser};
use super::vars::parse_biome;
use super::{Action, CmpOp, Condition, Operand, Var};
use crate::sim::catalog::{self, Target};

impl Parser {
    pub(super) fn compare(
        &mut self,
        ctx: &Ctx,
        obj: &Map<String, Value>,
        path: &str,
    ) -> Option<Condition> {
        let left = match obj.get("left").and_then(Value::as_str) {
            None => {
                self.err(
                    ctx,
                    format!("{path}: COMPARE needs a variable name in 'left'"),
                );
                None
            }
            Some(s) => {
                let var = Var::parse(s);
                if var.is_none() {
                    self.err(ctx, format!("unknown variable '{}' in {path}", quote(s)));
                }
                var
            }
        };
        let op = match obj.get("op").and_then(Value::as_str) {
            None => {
                self.err(
                    ctx,
                    format!("{path}: COMPARE needs an 'op' (< <= > >= == !=)"),
                );
                None
            }
            Some(s) => {
                let op = s.parse::<CmpOp>().ok();
                if op.is_none() {
                    self.err(ctx, format!("unknown operator '{}' in {path}", quote(s)));
                }
                op
            }
        };
        let right = match obj.get("right") {
            None => {
                self.err(ctx, format!("{path}: COMPARE needs a 'right' value"));
                None
            }
            Some(Value::String(s)) if left == Some(Var::Biome) => {
                let b = parse_biome(s).map(Operand::Biome);
                if b.is_none() {
                    self.err(ctx, format!("unknown biome '{}' in {path}", quote(s)));
                }
                b
            }
            Some(Value::String(s)) => match Var::parse(s) {
                Some(Var::Biome) | None => {
                    self.err(ctx, format!("unknown variable '{}' in {path}", quote(s)));
                    None
                }
                Some(v) => Some(Operand::Var(v)),
            },
            Some(v) => self
                .number(ctx, v, &format!("{path}.right"))
                .map(Operand::Num),
        };
        let (left, op, right) = (left?, op?, right?);
        if left == Var::Biome {
            if !matches!(right, Operand::Biome(_)) {
                self.err(
                    ctx,
                    format!("{path}: 'biome' compares with a biome name such as \"CITY\""),
                );
                return None;
            }
            if !matches!(op, CmpOp::Eq | CmpOp::Ne) {
                self.err(ctx, format!("{path}: 'biome' supports only == and !="));
                return None;
            }
        }
        Some(Condition::Compare { left, op, right })
    }

    pub(super) fn action(&mut self, ctx: &Ctx, v: &Value) -> Option<Action> {
        let Some(obj) = v.as_object() else {
            self.err(
                ctx,
                format!("action must be an object, got {}", type_name(v)),
            );
            return None;
        };
        let target = match obj.get("target") {
            None => None,
            Some(t) => match t.as_str().and_then(|s| s.parse::<Target>().ok()) {
                Some(t) => Some(t),
                None => {
                    self.err(
                        ctx,
                        format!("unknown target {} (SELF or ENEMY)", quote(&t.to_string())),
                    );
                    return None;
                }
            },
        };
        match obj.get("type").and_then(Value::as_str) {
            Some("ATTACK") => {
                if target == Some(Target::SelfTarget) {
                    self.err(ctx, "ATTACK target must be ENEMY".into());
                    return None;
                }
                Some(Action::Attack)
            }
            Some("DEFEND") => {
                if target == Some(Target::Enemy) {
                    self.err(ctx, "DEFEND target must be SELF".into());
                    return None;
                }
                Some(Action::Defend)
            }
            Some("SKILL") => {
                let id = obj.get("skillId").or_else(|| obj.get("skill_id"));
                let Some(id) = id.and_then(Value::as_str) else {
                    self.err(ctx, "SKILL needs a 'skillId'".into());
                    return None;
                };
                let Some(skill) = catalog::skill(id) else {
                    self.err(ctx, format!("unknown skill '{}'", quote(id)));
                    return None;
                };
                if let Some(t) = target.filter(|t| *t != skill.target) {
                    self.err(
                        ctx,
                        format!("skill '{}' targets {}, not {t}", skill.id, skill.target),
                    );
                    return None;
                }
                Some(Action::Skill(skill))
            }
            Some(other) => {
                self.err(
                    ctx,
                    format!(
                        "unknown action type '{}' (ATTACK, DEFEND or SKILL)",
                        quote(other)
                    ),
                );
                None
            }
            None => {
                self.err(ctx, "action needs a string 'type'".into());
                None
            }
        }
    }
}
