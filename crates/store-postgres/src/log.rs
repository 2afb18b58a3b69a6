//! The two Merkle logs the store keeps — the ledger and the audit trail —
//! in PostgreSQL's tables (`retrace_store::nodes`). The ledger's leaves are
//! the narrow `leaf` table's (the ledger itself is partitioned), the
//! trail's are the `leaf` column of `trail`; complete subtrees from level
//! [`LOWEST_STORED_LEVEL`] up are in each log's node table, and every signed
//! checkpoint in its checkpoint table.

use std::collections::HashMap;

use retrace_ledger::checkpoint::{Checkpoint, LogKey, SignedCheckpoint};
use retrace_ledger::hash::Hash;
use retrace_ledger::tree::{Frontier, NodeId};
pub(crate) use retrace_store::nodes::LOWEST_STORED_LEVEL;
use retrace_store::nodes::{self, Log, Nodes, TreeStorage};

use crate::codec;
use crate::connection::Conn;
use crate::error::{DbError, DbResult};

/// One log's tables: the names the audit reports under, and where its
/// leaves are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PgLog {
    pub log: Log,
    leaf_table: &'static str,
    leaf_column: &'static str,
}

/// The ledger: leaves in `leaf.hash`.
pub(crate) const LEDGER: PgLog = PgLog {
    log: nodes::LEDGER,
    leaf_table: "leaf",
    leaf_column: "hash",
};

/// The audit trail: leaves in `trail.leaf`.
pub(crate) const TRAIL: PgLog = PgLog {
    log: nodes::TRAIL,
    leaf_table: "trail",
    leaf_column: "leaf",
};

impl PgLog {
    /// The number of leaves in `schema`'s tables of this log.
    pub(crate) fn size_select(&self, schema: &str) -> String {
        format!(
            "SELECT COALESCE(MAX(idx) + 1, 0) FROM {schema}.{}",
            self.leaf_table
        )
    }

    /// `SELECT idx, <leaf> FROM <leaves>`, for scans in index order.
    pub(crate) fn leaves_select(&self, schema: &str) -> String {
        format!(
            "SELECT idx, {} FROM {schema}.{} ORDER BY idx",
            self.leaf_column, self.leaf_table
        )
    }
}

/// One log's tree as PostgreSQL stores it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tables<'a> {
    pub conn: &'a Conn,
    pub log: PgLog,
}

impl TreeStorage for Tables<'_> {
    type Error = DbError;

    fn stored_node(&self, id: NodeId) -> DbResult<Option<Hash>> {
        let sql = format!(
            "SELECT hash FROM {} WHERE level = $1 AND idx = $2",
            self.log.log.nodes
        );
        let bytes: Option<Vec<u8>> = self
            .conn
            .query_opt(&sql, &[&i16::from(id.level), &codec::sql_index(id.index)])?
            .map(|r| r.try_get(0))
            .transpose()?;
        Ok(bytes.map(|b| codec::hash("tree node", &b)).transpose()?)
    }

    fn leaves(&self, from: u64, to: u64) -> DbResult<Vec<Hash>> {
        let sql = format!(
            "SELECT {} FROM {} WHERE idx >= $1 AND idx < $2 ORDER BY idx",
            self.log.leaf_column, self.log.leaf_table
        );
        self.conn
            .query(&sql, &[&codec::sql_index(from), &codec::sql_index(to)])?
            .iter()
            .map(|r| Ok(codec::hash("leaf", r.try_get(0)?)?))
            .collect()
    }
}

/// The tree of `log` through `conn`, preferring the nodes of the commit in
/// progress (`fresh`), which are still in memory.
pub(crate) fn nodes<'a>(
    conn: &'a Conn,
    log: PgLog,
    fresh: Option<&'a HashMap<NodeId, Hash>>,
) -> Nodes<'a, Tables<'a>> {
    Nodes {
        storage: Tables { conn, log },
        fresh,
    }
}

/// The number of entries in `log`.
pub(crate) fn size(conn: &Conn, log: PgLog) -> DbResult<u64> {
    let sql = format!("SELECT COALESCE(MAX(idx) + 1, 0) FROM {}", log.leaf_table);
    let next: i64 = conn.query_one(&sql, &[])?.try_get(0)?;
    Ok(codec::index("log size", next)?)
}

fn parse(note: Option<Vec<u8>>) -> DbResult<Option<SignedCheckpoint>> {
    note.map(|n| SignedCheckpoint::parse(&n).map_err(|e| DbError::corrupt("checkpoint", e)))
        .transpose()
}

/// The latest stored checkpoint of `log`, if any.
pub(crate) fn latest_checkpoint(conn: &Conn, log: PgLog) -> DbResult<Option<SignedCheckpoint>> {
    let sql = format!(
        "SELECT note FROM {} ORDER BY size DESC LIMIT 1",
        log.log.checkpoints
    );
    parse(
        conn.query_opt(&sql, &[])?
            .map(|r| r.try_get(0))
            .transpose()?,
    )
}

/// The stored checkpoint of `log` at exactly `size`, if one was handed out.
pub(crate) fn checkpoint_at(
    conn: &Conn,
    log: PgLog,
    size: u64,
) -> DbResult<Option<SignedCheckpoint>> {
    let sql = format!("SELECT note FROM {} WHERE size = $1", log.log.checkpoints);
    parse(
        conn.query_opt(&sql, &[&codec::sql_index(size)])?
            .map(|r| r.try_get(0))
            .transpose()?,
    )
}

/// Signs the checkpoint of the tree's current size and root (C2SP tlog-checkpoint).
pub(crate) fn sign(key: &LogKey, frontier: &Frontier) -> DbResult<SignedCheckpoint> {
    let checkpoint = Checkpoint::new(key.origin(), frontier.size(), frontier.root())
        .map_err(|e| DbError::corrupt("log origin", e))?;
    Ok(checkpoint.sign(key))
}

/// Stores a signed checkpoint of `log`.
pub(crate) fn insert_checkpoint(conn: &Conn, log: PgLog, cp: &SignedCheckpoint) -> DbResult<()> {
    let sql = format!(
        "INSERT INTO {} (size, note) VALUES ($1, $2)",
        log.log.checkpoints
    );
    conn.execute(
        &sql,
        &[&codec::sql_index(cp.checkpoint().size()), &cp.as_bytes()],
    )?;
    Ok(())
}

/// Stores the signed checkpoint of the empty tree if `log` has none, so
/// that a new log answers with a checkpoint before its first entry. Ed25519
/// signatures are deterministic, so every node that does this stores the
/// same note, and the first one wins.
pub(crate) fn sign_empty_log(conn: &Conn, log: PgLog, key: &LogKey) -> DbResult<()> {
    let cp = sign(key, &Frontier::new())?;
    let sql = format!(
        "INSERT INTO {} (size, note) VALUES (0, $1) ON CONFLICT (size) DO NOTHING",
        log.log.checkpoints
    );
    conn.execute(&sql, &[&cp.as_bytes()])?;
    Ok(())
}
