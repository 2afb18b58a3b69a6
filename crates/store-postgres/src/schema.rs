//! Migrations, embedded in the binary.
//!
//! Script `n` (1-based) takes the database from version `n - 1` to `n`; the
//! version is the one row of `retrace_schema`. All pending scripts run in one
//! transaction under a transaction-level advisory lock, so that two nodes
//! starting at once migrate once and a database is always at exactly one
//! version. An applied script is never edited; a change is a new script.

use crate::connection::Conn;
use crate::error::{DbError, DbResult};

/// The migrations, in order. Never edit an applied one: add the next.
pub(crate) const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_ledger_and_projections.sql"),
    include_str!("migrations/0002_identity_and_trail.sql"),
];

/// The advisory lock key migrations take (`pg_advisory_xact_lock`): "retrace" in ASCII.
const MIGRATION_LOCK: i64 = 0x0072_6574_7261_6365;

/// The schema version of `conn`'s database, 0 when it has no retrace schema.
///
/// # Errors
/// When PostgreSQL fails.
pub(crate) fn version(conn: &Conn) -> DbResult<i64> {
    let exists: bool = conn
        .query_one("SELECT to_regclass('retrace_schema') IS NOT NULL", &[])?
        .try_get(0)?;
    if !exists {
        return Ok(0);
    }
    let version: i32 = conn
        .query_one("SELECT version FROM retrace_schema", &[])?
        .try_get(0)?;
    Ok(i64::from(version))
}

/// Applies the pending migrations in one transaction; answers the version
/// the database was at and the one it is at now.
///
/// # Errors
/// When PostgreSQL fails, or the database is at a schema newer than this build's.
pub(crate) fn migrate(conn: &Conn) -> DbResult<(i64, i64)> {
    conn.batch("BEGIN")?;
    let result = (|| {
        conn.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
        let from = version(conn)?;
        let known = i64::try_from(MIGRATIONS.len()).expect("a handful of migrations");
        if from > known {
            return Err(DbError::corrupt(
                "schema",
                format!("the database is at schema {from}, newer than this build's {known}"),
            ));
        }
        if from == 0 {
            conn.batch("CREATE TABLE retrace_schema (version integer NOT NULL); INSERT INTO retrace_schema VALUES (0);")?;
        }
        let applied = usize::try_from(from)
            .map_err(|_| DbError::corrupt("schema", format!("version {from}")))?;
        for script in &MIGRATIONS[applied..] {
            conn.batch(script)?;
        }
        let to = i32::try_from(known).expect("a handful of migrations");
        conn.execute("UPDATE retrace_schema SET version = $1", &[&to])?;
        Ok((from, known))
    })();
    match result {
        Ok(versions) => {
            conn.batch("COMMIT")?;
            Ok(versions)
        }
        Err(e) => {
            if let Err(rollback) = conn.batch("ROLLBACK") {
                tracing::debug!(%rollback, "nothing to roll back");
            }
            Err(e)
        }
    }
}

/// The tables whose statistics the planner needs to find rows by lot,
/// entry, pool and key instead of scanning: every table the projector and
/// the readers query.
const ANALYZED: &str = "leaf, ledger, tree_node, checkpoint, enterprise, facility, designation, \
     enterprise_place, lot, entry_lot, movement, position, lineage_edge, pool_member, \
     process_month, shipment, flag, entry_status";

/// Refreshes the planner's statistics of the store's tables. The store does
/// not leave this to autovacuum, which may be off or far behind a bulk load:
/// without statistics a table that grew from nothing is planned as if it
/// were still empty, and lookups by index become scans.
pub(crate) fn analyze(conn: &Conn) -> DbResult<()> {
    conn.batch(&format!("ANALYZE {ANALYZED}"))
}

/// When the statistics are due again: after the ledger has grown by a fifth
/// since they were taken, and at least by [`ANALYZE_MIN_GROWTH`] entries.
pub(crate) fn analyze_due(analyzed_at: u64, size: u64) -> bool {
    size >= analyzed_at + ANALYZE_MIN_GROWTH.max(analyzed_at / 5)
}

/// The least growth that makes the statistics due again.
const ANALYZE_MIN_GROWTH: u64 = 5_000;
