//! Keyed writes many rows at a time: a [`Shape`] is one statement reading its rows from a
//! `WITH v (…) AS (VALUES …)` list, so one row and a thousand cost one round trip each.

use super::{bind, failed, SqlValue, Tx, WriteError};

/// A keyed write whose rows, from many units, go to the database as one statement.
///
/// `sql` follows `WITH v (columns…) AS (VALUES …)` and writes one table row per `v` row, e.g.
/// `UPDATE t SET n = t.n + v.d FROM v WHERE t.id = v.id` or
/// `INSERT INTO t (…) SELECT … FROM v WHERE v.id IS NOT NULL`. Statements are padded with
/// all-NULL rows to a power of two (few distinct texts, so prepared statements stay cached): a
/// row whose first column is NULL must write nothing (a join on the key skips it; an INSERT
/// needs the `IS NOT NULL` filter). Name `v`'s columns apart from the table's, or qualify
/// them, so that no reference is ambiguous.
///
/// The batcher may reorder rows of different shapes, so a shape must commute with every other
/// shape except on the rows it shares a `table` and key with: there it keeps the batch order
/// (same shape) or does not merge (two shapes). Balances are written by `Adjust` only.
#[derive(Debug)]
pub struct Shape {
    /// What the shape writes, as the ordering domain for its key (normally the table name).
    pub table: &'static str,
    /// `v`'s columns: name and SQL type (`TEXT`, `BIGINT`, `DOUBLE PRECISION`). Every value is
    /// cast to its type: Postgres types a VALUES column from all its rows.
    pub columns: &'static [(&'static str, &'static str)],
    /// How many leading columns name the written row.
    pub key: usize,
    /// The statement after the `WITH` list.
    pub sql: &'static str,
    /// When set, each row must change exactly one table row; otherwise its unit is refused
    /// with this.
    pub refusal: Option<&'static str>,
}

/// Bound parameters per statement: under SQLite's 32,766 and Postgres' 65,535.
const MAX_PARAMS: usize = 30_000;
/// Rows per statement, at most.
const MAX_ROWS: usize = 1024;

impl Shape {
    /// Rows one statement may carry: a power of two.
    pub(super) fn capacity(&self) -> usize {
        let n = (MAX_PARAMS / self.columns.len().max(1)).clamp(1, MAX_ROWS);
        1 << n.ilog2()
    }

    /// The statement for `rows` rows, padded to `padded` rows.
    fn sql_for(&self, rows: usize, padded: usize) -> String {
        let names: Vec<&str> = self.columns.iter().map(|c| c.0).collect();
        let mut sql = format!("WITH v ({}) AS (VALUES ", names.join(", "));
        let mut n = 1;
        for r in 0..padded {
            if r > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for (c, (_, ty)) in self.columns.iter().enumerate() {
                if c > 0 {
                    sql.push_str(", ");
                }
                if r < rows {
                    sql.push_str(&format!("CAST(${n} AS {ty})"));
                    n += 1;
                } else {
                    sql.push_str("NULL");
                }
            }
            sql.push(')');
        }
        sql.push_str(") ");
        sql.push_str(self.sql);
        sql
    }
}

/// Writes `rows` (at most [`Shape::capacity`]) in one statement; returns the rows it changed.
pub(super) async fn execute(
    tx: &mut Tx,
    shape: &Shape,
    rows: &[&[SqlValue]],
) -> Result<u64, WriteError> {
    debug_assert!(!rows.is_empty() && rows.len() <= shape.capacity());
    let sql = shape.sql_for(rows.len(), rows.len().next_power_of_two());
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for row in rows {
        if row.len() != shape.columns.len() {
            return Err(WriteError::Bad(format!(
                "{}: {} values for {} columns",
                shape.table,
                row.len(),
                shape.columns.len()
            )));
        }
        for v in *row {
            q = bind(q, v);
        }
    }
    Ok(q.execute(&mut **tx).await.map_err(failed)?.rows_affected())
}

/// Writes `rows` in as few statements as fit; with `guard`, each statement must change as many
/// table rows as it was given (`rows` has no key twice), else `Refused(guard)`.
pub(super) async fn execute_all(
    tx: &mut Tx,
    shape: &Shape,
    rows: &[&[SqlValue]],
    guard: Option<&str>,
) -> Result<(), WriteError> {
    for chunk in rows.chunks(shape.capacity()) {
        let n = execute(tx, shape, chunk).await?;
        if let (Some(r), false) = (guard, n == chunk.len() as u64) {
            return Err(WriteError::Refused(r.to_string()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Shape;

    static S: Shape = Shape {
        table: "t",
        columns: &[("id", "TEXT"), ("d", "BIGINT")],
        key: 1,
        sql: "UPDATE t SET n = t.n + v.d FROM v WHERE t.id = v.id",
        refusal: None,
    };

    #[test]
    fn rows_are_cast_and_padded_with_nulls() {
        assert_eq!(
            S.sql_for(1, 2),
            "WITH v (id, d) AS (VALUES (CAST($1 AS TEXT), CAST($2 AS BIGINT)), (NULL, NULL)) \
             UPDATE t SET n = t.n + v.d FROM v WHERE t.id = v.id"
        );
        assert_eq!(S.capacity(), 1024);
    }
}
