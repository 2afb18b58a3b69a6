//! The two Merkle logs the store keeps — the ledger and the audit trail —
//! in SQLite's tables (`retrace_store::nodes`): the leaves in a `leaf` column
//! of the log's own table, complete subtrees from level
//! [`LOWEST_STORED_LEVEL`] up in its node table, and every signed checkpoint
//! in its checkpoint table.

use std::collections::HashMap;

use retrace_ledger::checkpoint::SignedCheckpoint;
use retrace_ledger::hash::Hash;
use retrace_ledger::tree::NodeId;
pub(crate) use retrace_store::nodes::{LEDGER, LOWEST_STORED_LEVEL, Log, TRAIL};
use retrace_store::nodes::{Nodes, TreeStorage};
use rusqlite::{Connection, OptionalExtension, params};

use crate::codec;
use crate::error::{DbError, DbResult};

/// One log's tree as SQLite stores it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tables<'a> {
    pub conn: &'a Connection,
    pub log: Log,
}

impl TreeStorage for Tables<'_> {
    type Error = DbError;

    fn stored_node(&self, id: NodeId) -> DbResult<Option<Hash>> {
        let sql = format!(
            "SELECT hash FROM {} WHERE level = ?1 AND idx = ?2",
            self.log.nodes
        );
        let bytes: Option<Vec<u8>> = self
            .conn
            .prepare_cached(&sql)?
            .query_row(params![id.level, codec::sql_index(id.index)], |r| r.get(0))
            .optional()?;
        Ok(bytes.map(|b| codec::hash("tree node", &b)).transpose()?)
    }

    fn leaves(&self, from: u64, to: u64) -> DbResult<Vec<Hash>> {
        let sql = format!(
            "SELECT leaf FROM {} WHERE idx >= ?1 AND idx < ?2 ORDER BY idx",
            self.log.leaves
        );
        let mut st = self.conn.prepare_cached(&sql)?;
        let mut rows = st.query([codec::sql_index(from), codec::sql_index(to)])?;
        let mut leaves = Vec::with_capacity(1 << LOWEST_STORED_LEVEL);
        while let Some(row) = rows.next()? {
            leaves.push(codec::hash(
                "leaf",
                row.get_ref(0)?.as_blob().map_err(rusqlite::Error::from)?,
            )?);
        }
        Ok(leaves)
    }
}

/// The tree of `log` through `conn`, preferring the nodes of the commit in
/// progress (`fresh`), which are still in memory.
pub(crate) fn nodes<'a>(
    conn: &'a Connection,
    log: Log,
    fresh: Option<&'a HashMap<NodeId, Hash>>,
) -> Nodes<'a, Tables<'a>> {
    Nodes {
        storage: Tables { conn, log },
        fresh,
    }
}

/// The number of entries in `log`.
pub(crate) fn size(conn: &Connection, log: Log) -> DbResult<u64> {
    let sql = format!("SELECT COALESCE(MAX(idx) + 1, 0) FROM {}", log.leaves);
    let next: i64 = conn.prepare_cached(&sql)?.query_row([], |r| r.get(0))?;
    Ok(codec::index("log size", next)?)
}

/// The latest stored checkpoint of `log`, if any.
pub(crate) fn latest_checkpoint(conn: &Connection, log: Log) -> DbResult<Option<SignedCheckpoint>> {
    let sql = format!(
        "SELECT note FROM {} ORDER BY size DESC LIMIT 1",
        log.checkpoints
    );
    let note: Option<Vec<u8>> = conn
        .prepare_cached(&sql)?
        .query_row([], |r| r.get(0))
        .optional()?;
    note.map(|n| SignedCheckpoint::parse(&n).map_err(|e| DbError::corrupt("checkpoint", e)))
        .transpose()
}

/// The stored checkpoint of `log` at exactly `size`, if one was handed out.
pub(crate) fn checkpoint_at(
    conn: &Connection,
    log: Log,
    size: u64,
) -> DbResult<Option<SignedCheckpoint>> {
    let sql = format!("SELECT note FROM {} WHERE size = ?1", log.checkpoints);
    let note: Option<Vec<u8>> = conn
        .prepare_cached(&sql)?
        .query_row([codec::sql_index(size)], |r| r.get(0))
        .optional()?;
    note.map(|n| SignedCheckpoint::parse(&n).map_err(|e| DbError::corrupt("checkpoint", e)))
        .transpose()
}
