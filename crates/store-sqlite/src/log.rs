//! The two Merkle logs the store keeps — the ledger and the audit trail —
//! and how each one's tree is read back from its tables. Both are RFC 9162
//! trees stored the same way: the leaves in a `leaf` column of the log's
//! own table, complete subtrees from level [`LOWEST_STORED_LEVEL`] up in its
//! node table, and every signed checkpoint in its checkpoint table.

use std::collections::HashMap;

use retrace_ledger::checkpoint::SignedCheckpoint;
use retrace_ledger::hash::Hash;
use retrace_ledger::tree::{NodeId, NodeReader, root_of};
use rusqlite::{Connection, OptionalExtension, params};

use crate::codec;
use crate::error::{DbError, DbResult};

/// The lowest level of the tree that the node table stores. The leaves are
/// the log table's `leaf` column, and a node between them and this level (at
/// most eight leaves) is recomputed from its leaves when a proof needs it: a
/// proof needs one node per level, so that is at most fourteen leaves read in
/// three range scans. Storing every level would cost one node insert per
/// entry (n/2 + n/4 + … rows); from level 4 up it costs one per sixteen.
pub(crate) const LOWEST_STORED_LEVEL: u8 = 4;

/// The tables of one log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Log {
    /// The table whose `idx` and `leaf` columns are the leaves.
    pub leaves: &'static str,
    pub nodes: &'static str,
    pub checkpoints: &'static str,
}

/// The ledger: the records of flows and acts.
pub(crate) const LEDGER: Log = Log {
    leaves: "ledger",
    nodes: "tree_node",
    checkpoints: "checkpoint",
};

/// The audit trail (`retrace_store::trail`).
pub(crate) const TRAIL: Log = Log {
    leaves: "trail",
    nodes: "trail_node",
    checkpoints: "trail_checkpoint",
};

/// Reads complete subtrees of a log through a connection, preferring the
/// nodes of the commit in progress, which are still in memory: leaves from
/// the log table, nodes from level [`LOWEST_STORED_LEVEL`] up from its node
/// table, and the levels between recomputed from their leaves (RFC 9162
/// §2.1.1).
pub(crate) struct Nodes<'a> {
    pub conn: &'a Connection,
    pub log: Log,
    pub fresh: Option<&'a HashMap<NodeId, Hash>>,
}

impl<'a> Nodes<'a> {
    /// The committed nodes of `log`.
    pub(crate) fn of(conn: &'a Connection, log: Log) -> Nodes<'a> {
        Nodes {
            conn,
            log,
            fresh: None,
        }
    }
}

impl NodeReader for Nodes<'_> {
    type Error = DbError;

    fn node(&self, id: NodeId) -> DbResult<Hash> {
        if let Some(h) = self.fresh.and_then(|f| f.get(&id)) {
            return Ok(*h);
        }
        let missing = || {
            DbError::corrupt(
                "tree",
                format!(
                    "{} node (level {}, index {}) is missing",
                    self.log.leaves, id.level, id.index
                ),
            )
        };
        if id.level >= LOWEST_STORED_LEVEL {
            let sql = format!(
                "SELECT hash FROM {} WHERE level = ?1 AND idx = ?2",
                self.log.nodes
            );
            let bytes: Option<Vec<u8>> = self
                .conn
                .prepare_cached(&sql)?
                .query_row(params![id.level, codec::sql_index(id.index)], |r| r.get(0))
                .optional()?;
            return codec::hash("tree node", &bytes.ok_or_else(missing)?);
        }
        let width = 1u64 << id.level;
        let first = id.index * width;
        let sql = format!(
            "SELECT leaf FROM {} WHERE idx >= ?1 AND idx < ?2 ORDER BY idx",
            self.log.leaves
        );
        let mut st = self.conn.prepare_cached(&sql)?;
        let mut rows = st.query([codec::sql_index(first), codec::sql_index(first + width)])?;
        let mut leaves = Vec::with_capacity(1 << LOWEST_STORED_LEVEL);
        while let Some(row) = rows.next()? {
            leaves.push(codec::hash(
                "leaf",
                row.get_ref(0)?.as_blob().map_err(rusqlite::Error::from)?,
            )?);
        }
        if leaves.len() as u64 != width {
            return Err(missing());
        }
        Ok(root_of(&leaves))
    }
}

/// The number of entries in `log`.
pub(crate) fn size(conn: &Connection, log: Log) -> DbResult<u64> {
    let sql = format!("SELECT COALESCE(MAX(idx) + 1, 0) FROM {}", log.leaves);
    let next: i64 = conn.prepare_cached(&sql)?.query_row([], |r| r.get(0))?;
    codec::index("log size", next)
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
