//! Multi-row writes: a bulk write binds many rows to one `INSERT … VALUES (…), (…), …`
//! statement, so SQLite runs, checks and halts one statement per [`CHUNK`] rows instead of one
//! per row (a third of an initial sync's apply went to per-statement work).
//!
//! The rows of one statement are inserted in order, each checked against the constraints as it
//! goes in, exactly as one statement a row would be; a refused row fails the statement, and the
//! store rolls the whole transaction back either way.

use dirsync_store::Error;
use rusqlite::{Connection, Statement};

use crate::codec::Db;

/// Rows a statement (at most 6 columns: 384 variables, far under SQLite's 32,766).
pub(crate) const CHUNK: usize = 64;

/// One table's upsert: `INSERT INTO {head} VALUES (?, …), … {tail}`.
pub(crate) struct Upsert {
    /// `table (column, …)`.
    pub(crate) head: &'static str,
    /// Columns a row.
    pub(crate) columns: usize,
    /// What follows the rows (`ON CONFLICT … DO UPDATE …`).
    pub(crate) tail: &'static str,
}

impl Upsert {
    /// The statement for `rows` rows.
    fn sql(&self, rows: usize) -> String {
        let row = format!("({})", vec!["?"; self.columns].join(", "));
        let mut sql = format!("INSERT INTO {} VALUES ", self.head);
        for i in 0..rows {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&row);
        }
        sql.push(' ');
        sql.push_str(self.tail);
        sql
    }

    /// Writes `rows` in order; `bind(statement, first, row)` binds the row's columns at the
    /// 1-based indexes `first..first + columns`.
    pub(crate) fn run<R>(
        &self,
        conn: &Connection,
        rows: &[R],
        mut bind: impl FnMut(&mut Statement<'_>, usize, &R) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut chunks = rows.chunks_exact(CHUNK);
        if rows.len() >= CHUNK {
            let mut statement = conn.prepare_cached(&self.sql(CHUNK)).db()?;
            for chunk in &mut chunks {
                for (i, row) in chunk.iter().enumerate() {
                    bind(&mut statement, i * self.columns + 1, row)?;
                }
                statement.raw_execute().db()?;
            }
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut statement = conn.prepare_cached(&self.sql(1)).db()?;
            for row in rest {
                bind(&mut statement, 1, row)?;
                statement.raw_execute().db()?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_lists_its_rows_between_head_and_tail() {
        let upsert = Upsert {
            head: "t (a, b)",
            columns: 2,
            tail: "ON CONFLICT (a) DO NOTHING",
        };
        assert_eq!(
            upsert.sql(3),
            "INSERT INTO t (a, b) VALUES (?, ?), (?, ?), (?, ?) ON CONFLICT (a) DO NOTHING"
        );
    }

    #[test]
    fn every_row_is_written_in_order_across_chunks_and_the_rest() -> Result<(), Error> {
        let conn = Connection::open_in_memory().db()?;
        conn.execute_batch("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT NOT NULL, n INTEGER)")
            .db()?;
        let upsert = Upsert {
            head: "t (a, b, n)",
            columns: 3,
            tail: "ON CONFLICT (a) DO UPDATE SET b = excluded.b, n = excluded.n",
        };
        // 2 full chunks and a rest of 5; key 7 comes again last, so its second value wins.
        let mut rows: Vec<(i64, String)> = (0..2 * CHUNK as i64 + 4)
            .map(|a| (a, format!("v{a}")))
            .collect();
        rows.push((7, "again".to_owned()));
        let mut seq = 0_i64;
        upsert.run(&conn, &rows, |s, at, (a, b)| {
            seq += 1;
            s.raw_bind_parameter(at, a).db()?;
            s.raw_bind_parameter(at + 1, b).db()?;
            s.raw_bind_parameter(at + 2, seq).db()
        })?;
        let count: i64 = conn
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .db()?;
        assert_eq!(count, 2 * CHUNK as i64 + 4);
        let (b, n): (String, i64) = conn
            .query_row("SELECT b, n FROM t WHERE a = 7", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .db()?;
        assert_eq!((b.as_str(), n), ("again", rows.len() as i64));
        let last: String = conn
            .query_row(
                "SELECT b FROM t WHERE a = ?1",
                [2 * CHUNK as i64 + 3],
                |r| r.get(0),
            )
            .db()?;
        assert_eq!(last, format!("v{}", 2 * CHUNK + 3));
        Ok(())
    }
}
