//! The physical limit the benchmark compares bulk recording with (DESIGN.md
//! §5: performance is reported as a ratio against the raw bulk load of the
//! same rows, measured in the same run): binary COPY of the store's own
//! ledger rows into a table with only its primary key.

use std::time::{Duration, Instant};

use postgres::types::Type;
use retrace_store::StoreError;

use crate::connection::Conn;
use crate::store::{off_runtime, parse_url};

/// Rows read from the ledger at a time (untimed): about 40 MiB.
const CHUNK: i64 = 100_000;

/// Copies every ledger row `(index, entry bytes, leaf)` of the store at
/// `url`, as `PgStore::ledger_rows_range` gives them, into a fresh table
/// `retrace_raw_ledger` that has only its primary key — binary COPY, one
/// transaction, the server's own settings, no projection, no hashing, no
/// signing — and returns how long the copying and the commit took. Reading
/// the rows from the ledger, a chunk at a time on a second connection, is not
/// timed. The table is dropped afterwards.
///
/// # Errors
/// [`StoreError::Internal`] when PostgreSQL fails.
pub fn raw_copy_limit(url: &str) -> Result<Duration, StoreError> {
    let config = parse_url(url)?;
    off_runtime(move || {
        let (source, target) = (Conn::connect(&config)?, Conn::connect(&config)?);
        target.batch(
            "DROP TABLE IF EXISTS retrace_raw_ledger; \
             CREATE TABLE retrace_raw_ledger (idx bigint PRIMARY KEY, entry bytea NOT NULL, leaf bytea NOT NULL)",
        )?;
        let size: i64 = source
            .query_one("SELECT COALESCE(MAX(idx) + 1, 0) FROM leaf", &[])?
            .try_get(0)
            .map_err(crate::error::DbError::from)?;
        let mut elapsed = Duration::ZERO;
        let start = Instant::now();
        target.batch("BEGIN")?;
        elapsed += start.elapsed();
        let mut from = 0i64;
        while from < size {
            let rows = source.query(
                "SELECT l.idx, l.entry, f.hash FROM ledger l JOIN leaf f ON f.idx = l.idx AND f.month = l.month \
                 WHERE l.idx >= $1 AND l.idx < $2 ORDER BY l.idx",
                &[&from, &(from + CHUNK)],
            )?;
            let rows = rows
                .iter()
                .map(|r| {
                    Ok((
                        r.try_get::<_, i64>(0)?,
                        r.try_get::<_, Vec<u8>>(1)?,
                        r.try_get::<_, Vec<u8>>(2)?,
                    ))
                })
                .collect::<Result<Vec<_>, postgres::Error>>()
                .map_err(crate::error::DbError::from)?;
            let start = Instant::now();
            target.copy_in(
                "retrace_raw_ledger",
                "idx, entry, leaf",
                &[Type::INT8, Type::BYTEA, Type::BYTEA],
                &rows,
                |(idx, entry, leaf), write| write(&[idx, entry, leaf]),
            )?;
            elapsed += start.elapsed();
            from += CHUNK;
        }
        let start = Instant::now();
        target.batch("COMMIT")?;
        elapsed += start.elapsed();
        target.batch("DROP TABLE retrace_raw_ledger")?;
        Ok(elapsed)
    })
}
