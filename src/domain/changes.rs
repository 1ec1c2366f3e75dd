//! What changed between two JSON documents, for audit rows.
//!
//! An audit row of a PATCH used to hold the whole battle before and after, so rows grew with the
//! battle (61 PATCHes: 518 KB). A row now holds only the changed fields, and a changed list
//! only its new tail (bounded), so its size follows the change, not the history.

use serde_json::{json, Map, Value};

/// Most list items kept per changed list.
pub(crate) const MAX_LIST_ITEMS: usize = 10;
/// Longest string kept per changed value, in bytes.
pub(crate) const MAX_STRING: usize = 256;

/// The fields that differ between `before` and `after`: objects recurse, other values become
/// `{"from", "to"}`, lists that grew at the end become `{"appended", "len"}`, lists of the same
/// length recurse per changed index.
pub fn changes(before: &Value, after: &Value) -> Value {
    match (before, after) {
        (Value::Object(a), Value::Object(b)) => {
            let mut out = Map::new();
            for (k, vb) in b {
                match a.get(k) {
                    Some(va) if va == vb => {}
                    Some(va) => {
                        out.insert(k.clone(), changes(va, vb));
                    }
                    None => {
                        out.insert(k.clone(), json!({ "from": Value::Null, "to": bound(vb) }));
                    }
                }
            }
            for (k, va) in a {
                if !b.contains_key(k) {
                    out.insert(k.clone(), json!({ "from": bound(va), "to": Value::Null }));
                }
            }
            Value::Object(out)
        }
        (Value::Array(a), Value::Array(b)) if b.len() >= a.len() && b[..a.len()] == a[..] => {
            let added = &b[a.len()..];
            let skip = added.len().saturating_sub(MAX_LIST_ITEMS);
            json!({
                "appended": added[skip..].iter().map(bound).collect::<Vec<_>>(),
                "len": b.len(),
            })
        }
        // Same length: per changed position (players are a pair; only one of them changes).
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => Value::Object(
            a.iter()
                .zip(b)
                .enumerate()
                .filter(|(_, (x, y))| x != y)
                .take(MAX_LIST_ITEMS)
                .map(|(i, (x, y))| (i.to_string(), changes(x, y)))
                .collect(),
        ),
        (a, b) => json!({ "from": bound(a), "to": bound(b) }),
    }
}

/// A copy of `v` with lists cut to their last [`MAX_LIST_ITEMS`] and strings to [`MAX_STRING`].
fn bound(v: &Value) -> Value {
    match v {
        Value::Array(items) => {
            let skip = items.len().saturating_sub(MAX_LIST_ITEMS);
            if skip == 0 {
                Value::Array(items.iter().map(bound).collect())
            } else {
                json!({
                    "len": items.len(),
                    "last": items[skip..].iter().map(bound).collect::<Vec<_>>(),
                })
            }
        }
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), bound(v))).collect()),
        Value::String(s) if s.len() > MAX_STRING => {
            let mut end = MAX_STRING;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            Value::String(format!("{}…", &s[..end]))
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changed_fields() {
        let a = json!({"x": 1, "p": {"cp": 3, "name": "a"}, "s": ["a"]});
        let b = json!({"x": 1, "p": {"cp": 2, "name": "a"}, "s": ["a", "b"]});
        assert_eq!(
            changes(&a, &b),
            json!({"p": {"cp": {"from": 3, "to": 2}}, "s": {"appended": ["b"], "len": 2}})
        );
    }

    #[test]
    fn pairs_recurse_per_index() {
        let a = json!([{"cp": 1, "n": "x"}, {"cp": 2}]);
        let b = json!([{"cp": 1, "n": "x"}, {"cp": 3}]);
        assert_eq!(changes(&a, &b), json!({"1": {"cp": {"from": 2, "to": 3}}}));
    }

    #[test]
    fn size_does_not_follow_history() {
        let long: Vec<Value> = (0..1000).map(|i| json!(format!("strat {i}"))).collect();
        let mut longer = long.clone();
        longer.push(json!("one more"));
        let d = changes(&json!({ "s": long }), &json!({ "s": longer }));
        assert!(d.to_string().len() < 100, "{d}");
        let replaced = changes(&json!({"s": long}), &json!({"s": ["x"]}));
        assert!(replaced.to_string().len() < 400, "{replaced}");
    }
}
