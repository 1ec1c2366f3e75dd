//! The set-based pass: a run of units made only of [`WriteOp::Row`] and [`WriteOp::Adjust`]
//! written as one statement per shape (per layer, see below) and one per balance column,
//! instead of a statement per op. On Postgres, where each statement is a round trip, that is
//! what lets a batch of hundreds of battles cost a handful of round trips.
//!
//! It gives exactly the result of writing the run's ops one after the other, or refuses:
//! - rows of different shapes touch different rows or commute (see [`Shape`]), so grouping
//!   them per shape changes nothing; two shapes on one row make the run fall back to in-order;
//! - rows of one shape with the same key keep their order: the n-th occurrence of a key goes in
//!   the n-th statement ("layer"), so every statement has distinct keys (Postgres forbids an
//!   upsert touching a row twice, and UPDATE … FROM would apply only one of them);
//! - a balance gets its summed delta once, guarded by the lowest running sum over the batch in
//!   order (`balance + low >= 0`): that holds exactly when each op, written in order, would
//!   have found enough (so a later debit is refused even if a still later credit would cover
//!   it: the batch is not a netting, it is the units one after the other);
//! - every guard is checked as "rows changed = rows given"; any shortfall refuses the pass and
//!   the caller redoes the batch in savepointed halves to find out which units it was.

use std::collections::HashMap;

use super::shape::{self, Shape};
use super::{SqlValue, Tx, WriteError, WriteOp};
use crate::store::ledger::{Account, Currency};

/// Whether `unit` can go through the set-based pass.
pub(super) fn mergeable(unit: &[WriteOp]) -> bool {
    unit.iter()
        .all(|op| matches!(op, WriteOp::Row { .. } | WriteOp::Adjust { .. }))
}

/// Writes the run set-based. `Ok(false)` when it cannot (two shapes on one row; nothing was
/// written): the caller writes it op by op.
pub(super) async fn write_merged(tx: &mut Tx, run: &[&[WriteOp]]) -> Result<bool, WriteError> {
    let Some(plan) = plan(run)? else {
        return Ok(false);
    };
    for g in &plan.groups {
        for layer in &g.layers {
            shape::execute_all(tx, g.shape, layer, g.shape.refusal).await?;
        }
    }
    for (shape, rows) in plan.balances() {
        let rows: Vec<&[SqlValue]> = rows.iter().map(Vec::as_slice).collect();
        shape::execute_all(tx, shape, &rows, Some("balance")).await?;
    }
    Ok(true)
}

/// A value as part of a row key.
#[derive(Debug, PartialEq, Eq, Hash)]
enum KeyPart<'a> {
    I(i64),
    F(u64),
    T(&'a str),
    Null,
}

impl<'a> KeyPart<'a> {
    fn of(v: &'a SqlValue) -> Self {
        match v {
            SqlValue::I64(i) => KeyPart::I(*i),
            SqlValue::F64(f) => KeyPart::F(f.to_bits()),
            SqlValue::Text(s) => KeyPart::T(s),
            SqlValue::Null | SqlValue::NullI64 => KeyPart::Null,
        }
    }
}

/// One shape's rows, in layers of distinct keys.
pub(super) struct Group<'a> {
    shape: &'static Shape,
    layers: Vec<Vec<&'a [SqlValue]>>,
}

/// One balance's summed delta and lowest running sum over the run.
#[derive(Debug, PartialEq, Eq)]
struct Sum {
    account: Account,
    currency: Currency,
    total: i64,
    low: i64,
}

/// What the run writes, grouped.
pub(super) struct Plan<'a> {
    groups: Vec<Group<'a>>,
    sums: Vec<Sum>,
}

/// Groups the run's ops; `None` when two shapes write one row.
pub(super) fn plan<'a>(run: &[&'a [WriteOp]]) -> Result<Option<Plan<'a>>, WriteError> {
    let mut groups: Vec<Group<'a>> = Vec::new();
    // (table, key) → (group, times seen): the layer of the next row with that key.
    let mut seen: HashMap<(&str, Vec<KeyPart<'a>>), (usize, usize)> = HashMap::new();
    let mut sums: Vec<Sum> = Vec::new();
    let mut sum_at: HashMap<(String, &str), usize> = HashMap::new();
    for op in run.iter().flat_map(|u| u.iter()) {
        match op {
            WriteOp::Row { shape, values } => {
                if values.len() != shape.columns.len() || shape.key > values.len() {
                    return Err(WriteError::Bad(format!(
                        "{}: {} values",
                        shape.table,
                        values.len()
                    )));
                }
                let g = match groups.iter().position(|g| std::ptr::eq(g.shape, *shape)) {
                    Some(g) => g,
                    None => {
                        groups.push(Group {
                            shape,
                            layers: Vec::new(),
                        });
                        groups.len() - 1
                    }
                };
                let key = values[..shape.key].iter().map(KeyPart::of).collect();
                let (owner, n) = seen.entry((shape.table, key)).or_insert((g, 0));
                if *owner != g {
                    return Ok(None);
                }
                let layers = &mut groups[g].layers;
                if layers.len() == *n {
                    layers.push(Vec::new());
                }
                layers[*n].push(values.as_slice());
                *n += 1;
            }
            WriteOp::Adjust {
                account,
                currency,
                delta,
            } => {
                let at = *sum_at
                    .entry((account.name(), currency.code()))
                    .or_insert_with(|| {
                        sums.push(Sum {
                            account: *account,
                            currency: *currency,
                            total: 0,
                            low: i64::MAX,
                        });
                        sums.len() - 1
                    });
                let s = &mut sums[at];
                s.total = s
                    .total
                    .checked_add(*delta)
                    .ok_or_else(|| WriteError::Bad(format!("{}: overflow", account.name())))?;
                s.low = s.low.min(s.total);
            }
            WriteOp::Insert { .. } | WriteOp::Exec { .. } | WriteOp::Guard { .. } => {
                return Ok(None)
            }
        }
    }
    Ok(Some(Plan { groups, sums }))
}

impl Plan<'_> {
    /// The balance statements: one per balance shape, each account once.
    fn balances(&self) -> Vec<(&'static Shape, Vec<Vec<SqlValue>>)> {
        let mut out: Vec<(&'static Shape, Vec<Vec<SqlValue>>)> = Vec::new();
        for s in &self.sums {
            let (shape, row) = adjust_row(&s.account, s.currency, s.total, s.low);
            match out.iter_mut().find(|(sh, _)| std::ptr::eq(*sh, shape)) {
                Some((_, rows)) => rows.push(row),
                None => out.push((shape, vec![row])),
            }
        }
        out
    }
}

static USER_GMO: Shape = Shape {
    table: "balance",
    columns: &[("id", "TEXT"), ("delta", "BIGINT"), ("low", "BIGINT")],
    key: 1,
    sql: "UPDATE users SET gmo_balance = users.gmo_balance + v.delta FROM v \
          WHERE users.id = v.id AND users.gmo_balance + v.low >= 0",
    refusal: None,
};

static USER_ELDR: Shape = Shape {
    table: "balance",
    columns: &[("id", "TEXT"), ("delta", "BIGINT"), ("low", "BIGINT")],
    key: 1,
    sql: "UPDATE users SET eldr_balance = users.eldr_balance + v.delta FROM v \
          WHERE users.id = v.id AND users.eldr_balance + v.low >= 0",
    refusal: None,
};

static SYSTEM: Shape = Shape {
    table: "balance",
    columns: &[
        ("id", "TEXT"),
        ("currency", "TEXT"),
        ("delta", "BIGINT"),
        ("low", "BIGINT"),
    ],
    key: 2,
    sql: "UPDATE system_accounts SET balance = system_accounts.balance + v.delta FROM v \
          WHERE system_accounts.id = v.id AND system_accounts.currency = v.currency \
          AND (system_accounts.may_go_negative = 1 OR system_accounts.balance + v.low >= 0)",
    refusal: None,
};

/// The balance statement and its row for adding `delta` to an account that must stay at or
/// above zero after adding `low` (a single op: `low = delta`).
pub(super) fn adjust_row(
    account: &Account,
    currency: Currency,
    delta: i64,
    low: i64,
) -> (&'static Shape, Vec<SqlValue>) {
    match account {
        Account::User(id) => (
            match currency {
                Currency::Gmo => &USER_GMO,
                Currency::Eldr => &USER_ELDR,
            },
            vec![
                SqlValue::Text(id.to_string()),
                SqlValue::I64(delta),
                SqlValue::I64(low),
            ],
        ),
        Account::System(_) => (
            &SYSTEM,
            vec![
                SqlValue::Text(account.name()),
                currency.code().into(),
                SqlValue::I64(delta),
                SqlValue::I64(low),
            ],
        ),
    }
}
