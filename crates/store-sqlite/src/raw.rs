//! The physical limit the benchmark compares bulk recording with (DESIGN.md
//! §5: performance is reported as a ratio against the raw bulk load of the
//! same rows, measured in the same run).

use std::path::Path;
use std::time::{Duration, Instant};

use retrace_ledger::hash::Hash;
use retrace_store::StoreError;
use rusqlite::params;

use crate::codec;
use crate::error::DbError;
use crate::schema;

/// Inserts `rows` — canonical ledger rows `(index, entry bytes, leaf)`, as
/// [`crate::SqliteStore::ledger_rows`] gives them — into a fresh table that
/// has only its primary key, in one transaction, with the store's pragmas,
/// and returns how long that took: no projection, no hashing, no signing.
///
/// The table `raw_ledger` lives in the database at `path` (created if
/// needed; use a file of its own) and is replaced on each call.
///
/// # Errors
/// [`StoreError::Internal`] when SQLite fails.
pub fn raw_insert_limit(
    path: &Path,
    rows: &[(u64, Vec<u8>, Hash)],
) -> Result<Duration, StoreError> {
    let mut conn = schema::open_unmigrated_writer(path)?;
    conn.execute_batch("DROP TABLE IF EXISTS raw_ledger; CREATE TABLE raw_ledger (idx INTEGER PRIMARY KEY, entry BLOB NOT NULL, leaf BLOB NOT NULL)")
        .map_err(DbError::from)?;
    let start = Instant::now();
    let tx = conn.transaction().map_err(DbError::from)?;
    {
        let mut insert = tx
            .prepare("INSERT INTO raw_ledger (idx, entry, leaf) VALUES (?1, ?2, ?3)")
            .map_err(DbError::from)?;
        for (index, entry, leaf) in rows {
            insert
                .execute(params![codec::sql_index(*index), entry, &leaf.0[..]])
                .map_err(DbError::from)?;
        }
    }
    tx.commit().map_err(DbError::from)?;
    Ok(start.elapsed())
}
