//! Connections and migrations.
//!
//! Migrations are embedded SQL scripts numbered by SQLite's `user_version`:
//! script `n` (1-based) takes the database from version `n - 1` to `n`. All
//! pending scripts run in one transaction, so a database is always at exactly
//! one version. An applied script is never edited; a change is a new script.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::error::{DbError, DbResult};

/// The migrations, in order. Never edit an applied one: add the next.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_ledger_and_projections.sql"),
    include_str!("migrations/0002_identity_and_trail.sql"),
];

/// How long a connection waits for another's lock before giving up. Readers
/// never wait in WAL mode; this covers the writer meeting a checkpoint or a
/// second process (the audit CLI, the sqlite3 shell).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Page cache of each connection, in KiB (negative `cache_size` is KiB).
/// Large enough that the right edges of the hot B-trees and the register stay
/// in memory while loading tens of millions of entries.
const WRITER_CACHE_KIB: i64 = 256 * 1024;
const READER_CACHE_KIB: i64 = 64 * 1024;

/// WAL pages after which a commit checkpoints the WAL into the database
/// (SQLite's default is 1000). A bulk load dirties the same interior and
/// right-edge pages in every commit; checkpointing every 40 MiB rather than
/// every 4 MiB writes each of them back once instead of ten times.
const WAL_AUTOCHECKPOINT_PAGES: i64 = 10_000;

/// Statements each connection keeps prepared: every statement of the write
/// path fits, so the bulk path never re-parses SQL.
const STATEMENT_CACHE: usize = 128;

/// Opens (creating if needed) the database for writing, brings it to the
/// current schema and sets the pragmas of the write path.
///
/// `synchronous = FULL`: with WAL, `NORMAL` already survives a killed process —
/// a commit is in the WAL file, hence in the OS page cache, before `COMMIT`
/// returns, and `kill -9` cannot take it back (DESIGN.md §5, "kill -9 at any
/// moment loses no acknowledged event"). What `NORMAL` risks is the last
/// commits on an OS crash or power loss, because the WAL is synced only at
/// checkpoints. For this ledger that is not harmless: every commit hands out a
/// *signed* checkpoint, and a lost commit followed by new appends would sign a
/// second tree of the same size — a fork that anyone holding the first receipt
/// can prove (C2SP tlog-witness exists to catch exactly that). `FULL` syncs the
/// WAL at each commit; group commit pays that once for every request waiting,
/// and bulk loads once per call.
///
/// # Errors
/// When the file cannot be opened or migrated, or is newer than this build.
pub(crate) fn open_writer(path: &Path) -> DbResult<Connection> {
    let mut conn = open_unmigrated_writer(path)?;
    migrate(&mut conn)?;
    Ok(conn)
}

/// A connection with the write path's pragmas on a database left as it is
/// (the raw-insert benchmark's table lives outside the schema).
///
/// # Errors
/// When the file cannot be opened.
pub(crate) fn open_unmigrated_writer(path: &Path) -> DbResult<Connection> {
    let conn = Connection::open(path)?;
    configure(&conn, WRITER_CACHE_KIB)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)?;
    Ok(conn)
}

/// Opens a read-only connection for the read pool. WAL lets it read the last
/// committed state while the writer appends.
///
/// # Errors
/// When the file cannot be opened.
pub(crate) fn open_reader(path: &Path) -> DbResult<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags)?;
    configure(&conn, READER_CACHE_KIB)?;
    Ok(conn)
}

/// Opens a private scratch database — SQLite deletes it when the connection
/// closes — at the current schema: where the audit rebuilds the projections.
///
/// # Errors
/// When SQLite cannot create it.
pub(crate) fn open_scratch() -> DbResult<Connection> {
    let mut conn = Connection::open("")?;
    configure(&conn, WRITER_CACHE_KIB)?;
    conn.pragma_update(None, "synchronous", "OFF")?;
    conn.pragma_update(None, "journal_mode", "MEMORY")?;
    migrate(&mut conn)?;
    Ok(conn)
}

/// The pragmas every connection shares.
pub(crate) fn configure(conn: &Connection, cache_kib: i64) -> DbResult<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.pragma_update(None, "cache_size", -cache_kib)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(())
}

/// Applies the pending migrations in one transaction.
fn migrate(conn: &mut Connection) -> DbResult<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let known = i64::try_from(MIGRATIONS.len()).expect("a handful of migrations");
    if version > known {
        return Err(DbError::corrupt(
            "schema",
            format!("the database is at schema {version}, newer than this build's {known}"),
        ));
    }
    let applied = usize::try_from(version)
        .map_err(|_| DbError::corrupt("schema", format!("user_version {version}")))?;
    for script in &MIGRATIONS[applied..] {
        tx.execute_batch(script)?;
    }
    tx.pragma_update(None, "user_version", known)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrating_twice_is_a_no_op() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        drop(open_writer(&path).unwrap());
        let conn = open_writer(&path).unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
    }
}
