//! The physical limit the benchmark compares bulk recording with (DESIGN.md
//! §5: performance is reported as a ratio against the raw bulk load of the
//! same rows, measured in the same run).

use std::path::Path;
use std::time::{Duration, Instant};

use retrace_store::StoreError;
use rusqlite::params;

use crate::codec;
use crate::error::DbError;
use crate::schema;
use crate::store::LedgerRow;

/// Inserts `chunks` of canonical ledger rows `(index, entry bytes, leaf)` —
/// as [`crate::SqliteStore::ledger_rows_range`] gives them — into a table
/// that has only its primary key, in one transaction, through a connection
/// with the store's pragmas and page size, and returns how long the inserts
/// and the commit took: no projection, no hashing, no signing. Producing a
/// chunk is not timed, so the rows can stream from the store being measured
/// without holding a whole ledger in memory.
///
/// The database at `path` is deleted and created anew on each call (use a
/// file of its own), so that every run starts from an empty file, as a
/// store's first load does.
///
/// # Errors
/// [`StoreError::Internal`] when SQLite fails or the file cannot be
/// replaced; the first error of `chunks`.
pub fn raw_insert_limit(
    path: &Path,
    chunks: impl IntoIterator<Item = Result<Vec<LedgerRow>, StoreError>>,
) -> Result<Duration, StoreError> {
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::internal(e)),
        }
    }
    let mut conn = schema::open_unmigrated_writer(path)?;
    conn.execute_batch(
        "CREATE TABLE raw_ledger (idx INTEGER PRIMARY KEY, entry BLOB NOT NULL, leaf BLOB NOT NULL)",
    )
    .map_err(DbError::from)?;
    let mut elapsed = Duration::ZERO;
    let start = Instant::now();
    let tx = conn.transaction().map_err(DbError::from)?;
    elapsed += start.elapsed();
    {
        let mut insert = tx
            .prepare("INSERT INTO raw_ledger (idx, entry, leaf) VALUES (?1, ?2, ?3)")
            .map_err(DbError::from)?;
        for chunk in chunks {
            let chunk = chunk?;
            let start = Instant::now();
            for (index, entry, leaf) in &chunk {
                insert
                    .execute(params![codec::sql_index(*index), entry, &leaf.0[..]])
                    .map_err(DbError::from)?;
            }
            elapsed += start.elapsed();
        }
    }
    let start = Instant::now();
    tx.commit().map_err(DbError::from)?;
    Ok(elapsed + start.elapsed())
}
