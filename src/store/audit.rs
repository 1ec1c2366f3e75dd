//! Audit rows, written through the Persister (batched, durable before acknowledgement).

use serde_json::Value;
use uuid::Uuid;

use super::batch::{SqlValue, WriteOp};

const COLUMNS: &[&str] = &["id", "at", "actor_id", "action", "target", "ip", "details"];

/// One audit entry as a persister write.
pub fn audit_op(
    actor: Option<Uuid>,
    action: &str,
    target: Option<&str>,
    ip: Option<&str>,
    details: &Value,
) -> WriteOp {
    WriteOp::Insert {
        table: "audit_log",
        columns: COLUMNS,
        values: vec![
            SqlValue::Text(Uuid::new_v4().to_string()),
            SqlValue::I64(super::now_ms()),
            actor.map(|a| a.to_string()).into(),
            action.into(),
            target.into(),
            ip.into(),
            SqlValue::Text(details.to_string()),
        ],
    }
}
