//! Parsing spec JSON into the typed AST while collecting every error.
//!
//! The parser never stops at the first problem: it keeps going so a player sees everything at
//! once, but it bounds its own work (rules, depth, nodes, errors) so hostile input is cheap.

use serde_json::{Map, Value};

use super::{
    analysis, Condition, Rule, RuleTree, Validation, MAX_ABS_NUMBER, MAX_DEPTH, MAX_ERRORS,
    MAX_NODES, MAX_RULES, TREE_VERSION,
};
use crate::sim::catalog::RobotDef;

/// Parses and validates a rule tree in the spec's JSON. `robot`, when known, adds warnings
/// about skills it lacks or cannot afford. Never panics, whatever the input.
pub fn validate(json: &Value, robot: Option<&RobotDef>) -> Validation {
    let mut p = Parser::default();
    let rules = p.tree(json);
    let mut errors = p.errors;
    let mut warnings = p.warnings;
    let tree = match rules {
        Some(rules) if errors.is_empty() => {
            let tree = RuleTree { rules };
            analysis::warn(&tree, robot, &mut warnings);
            Some(tree)
        }
        _ => None,
    };
    if errors.len() > MAX_ERRORS {
        let more = errors.len() - MAX_ERRORS;
        errors.truncate(MAX_ERRORS);
        errors.push(format!("... and {more} more errors"));
    }
    if tree.is_none() && errors.is_empty() {
        // Unreachable by construction; keeps `tree.is_some() == errors.is_empty()` airtight.
        errors.push("invalid rule tree".into());
    }
    Validation {
        tree,
        errors,
        warnings,
    }
}

/// Shortens user text quoted back in messages.
pub(super) fn quote(s: &str) -> String {
    let mut out: String = s.chars().take(64).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

pub(super) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[derive(Default)]
pub(super) struct Parser {
    pub(super) errors: Vec<String>,
    pub(super) warnings: Vec<String>,
    nodes: usize,
    nodes_reported: bool,
}

/// Context for messages inside one rule.
pub(super) struct Ctx {
    rule: usize,
    depth_reported: bool,
}

impl Parser {
    pub(super) fn err(&mut self, ctx: &Ctx, msg: String) {
        self.errors.push(format!("Rule {}: {msg}", ctx.rule));
    }

    fn tree(&mut self, json: &Value) -> Option<Vec<Rule>> {
        let Some(obj) = json.as_object() else {
            self.errors.push(format!(
                "rule tree must be a JSON object, got {}",
                type_name(json)
            ));
            return None;
        };
        match obj.get("version") {
            None => self.errors.push("missing 'version' (must be 2)".into()),
            Some(v) if v.as_i64() == Some(TREE_VERSION) => {}
            Some(v) => self.errors.push(format!(
                "unsupported version {} (must be 2)",
                quote(&v.to_string())
            )),
        }
        for key in obj.keys() {
            if key != "version" && key != "rules" {
                self.warnings
                    .push(format!("unknown field '{}' ignored", quote(key)));
            }
        }
        let Some(list) = obj.get("rules").and_then(Value::as_array) else {
            self.errors.push("'rules' must be an array of rules".into());
            return None;
        };
        if list.len() > MAX_RULES {
            self.errors.push(format!(
                "too many rules: {} (at most {MAX_RULES})",
                list.len()
            ));
        }
        let mut rules = Vec::with_capacity(list.len().min(MAX_RULES));
        let mut ok = true;
        for (i, v) in list.iter().take(MAX_RULES).enumerate() {
            match self.rule(i + 1, v) {
                Some(r) => rules.push(r),
                None => ok = false,
            }
        }
        ok.then_some(rules)
    }

    fn rule(&mut self, n: usize, v: &Value) -> Option<Rule> {
        let mut ctx = Ctx {
            rule: n,
            depth_reported: false,
        };
        let Some(obj) = v.as_object() else {
            self.err(&ctx, format!("must be an object, got {}", type_name(v)));
            return None;
        };
        let priority = match obj.get("priority") {
            None => Some(n as i64),
            Some(p) => self.number(&ctx, p, "priority"),
        };
        let condition = match obj.get("condition") {
            None => {
                self.err(&ctx, "missing 'condition'".into());
                None
            }
            Some(c) => self.condition(&mut ctx, c, 1, "condition"),
        };
        let action = match obj.get("action") {
            None => {
                self.err(&ctx, "missing 'action'".into());
                None
            }
            Some(a) => self.action(&ctx, a),
        };
        Some(Rule {
            priority: priority?,
            condition: condition?,
            action: action?,
        })
    }

    pub(super) fn number(&mut self, ctx: &Ctx, v: &Value, what: &str) -> Option<i64> {
        let n = match v {
            Value::Number(n) => n
                .as_i64()
                .or_else(|| {
                    n.as_f64()
                        .filter(|f| f.fract() == 0.0 && f.abs() <= MAX_ABS_NUMBER as f64)
                        .map(|f| f as i64)
                })
                .filter(|n| n.unsigned_abs() <= MAX_ABS_NUMBER as u64),
            _ => {
                self.err(
                    ctx,
                    format!("{what} must be an integer, got {}", type_name(v)),
                );
                return None;
            }
        };
        if n.is_none() {
            self.err(
                ctx,
                format!("{what} must be an integer within ±{MAX_ABS_NUMBER}, got {v}"),
            );
        }
        n
    }

    fn condition(
        &mut self,
        ctx: &mut Ctx,
        v: &Value,
        depth: usize,
        path: &str,
    ) -> Option<Condition> {
        if depth > MAX_DEPTH {
            if !ctx.depth_reported {
                ctx.depth_reported = true;
                self.err(ctx, format!("conditions nested deeper than {MAX_DEPTH}"));
            }
            return None;
        }
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            if !self.nodes_reported {
                self.nodes_reported = true;
                self.err(
                    ctx,
                    format!("too many condition nodes (at most {MAX_NODES} in a tree)"),
                );
            }
            return None;
        }
        let Some(obj) = v.as_object() else {
            self.err(
                ctx,
                format!("{path} must be an object, got {}", type_name(v)),
            );
            return None;
        };
        let Some(kind) = obj.get("type").and_then(Value::as_str) else {
            self.err(ctx, format!("{path} needs a string 'type'"));
            return None;
        };
        match kind {
            "ALWAYS" => Some(Condition::Always),
            "AND" | "OR" => {
                let children = self.children(ctx, obj, kind, depth, path)?;
                Some(if kind == "AND" {
                    Condition::And(children)
                } else {
                    Condition::Or(children)
                })
            }
            "NOT" => {
                let child = match (obj.get("child"), obj.get("children")) {
                    (Some(c), _) => c,
                    (None, Some(Value::Array(list))) if list.len() == 1 => &list[0],
                    _ => {
                        self.err(ctx, format!("{path}: NOT needs one 'child' condition"));
                        return None;
                    }
                };
                let child = self.condition(ctx, child, depth + 1, &format!("{path}.child"))?;
                Some(Condition::Not(Box::new(child)))
            }
            "COMPARE" => self.compare(ctx, obj, path),
            other => {
                self.err(
                    ctx,
                    format!("{path}: unknown condition type '{}'", quote(other)),
                );
                None
            }
        }
    }

    fn children(
        &mut self,
        ctx: &mut Ctx,
        obj: &Map<String, Value>,
        kind: &str,
        depth: usize,
        path: &str,
    ) -> Option<Vec<Condition>> {
        let list = match obj.get("children") {
            Some(Value::Array(list)) if !list.is_empty() => list,
            _ => {
                self.err(
                    ctx,
                    format!("{path}: {kind} needs a non-empty 'children' array"),
                );
                return None;
            }
        };
        let mut out = Vec::with_capacity(list.len().min(MAX_NODES));
        let mut ok = true;
        for (i, c) in list.iter().enumerate() {
            if self.nodes >= MAX_NODES && self.nodes_reported {
                return None;
            }
            match self.condition(ctx, c, depth + 1, &format!("{path}.children[{i}]")) {
                Some(c) => out.push(c),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }
}
