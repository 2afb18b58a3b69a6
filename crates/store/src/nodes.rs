//! The two Merkle logs every store keeps — the ledger and the audit trail —
//! which nodes of their RFC 9162 trees it stores, and how the rest are
//! recomputed, the same on every store.
//!
//! The leaves are the ledger's leaf column; complete subtrees from level
//! [`LOWEST_STORED_LEVEL`] up are stored; a node between them (at most eight
//! leaves) is recomputed from its leaves when a proof needs it: a proof needs
//! one node per level, so that is at most fourteen leaves read in three range
//! reads. Storing every level would cost one node row per entry (n/2 + n/4 +
//! …); from level 4 up it costs one per sixteen.

use std::collections::HashMap;

use retrace_ledger::hash::Hash;
use retrace_ledger::tree::{NodeId, NodeReader, root_of};

use crate::codec::Corrupt;

/// The lowest level of the tree a store keeps.
pub const LOWEST_STORED_LEVEL: u8 = 4;

/// The tables of one log, by the names the audit reports problems under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Log {
    /// The table whose `idx` and `leaf` columns are the leaves.
    pub leaves: &'static str,
    pub nodes: &'static str,
    pub checkpoints: &'static str,
}

/// The ledger: the records of flows and acts.
pub const LEDGER: Log = Log {
    leaves: "ledger",
    nodes: "tree_node",
    checkpoints: "checkpoint",
};

/// The audit trail (`crate::trail`).
pub const TRAIL: Log = Log {
    leaves: "trail",
    nodes: "trail_node",
    checkpoints: "trail_checkpoint",
};

/// What a store reads the tree from.
pub trait TreeStorage {
    type Error: std::error::Error + From<Corrupt> + Send + Sync + 'static;

    /// The stored node `id` (level [`LOWEST_STORED_LEVEL`] or above), if stored.
    fn stored_node(&self, id: NodeId) -> Result<Option<Hash>, Self::Error>;

    /// The leaves with index in `from..to`, in index order (fewer where the
    /// ledger is shorter).
    fn leaves(&self, from: u64, to: u64) -> Result<Vec<Hash>, Self::Error>;
}

/// Reads complete subtrees from a store, preferring the nodes of the commit
/// in progress, which are still in memory (RFC 9162 §2.1.1).
#[derive(Debug)]
pub struct Nodes<'a, T> {
    pub storage: T,
    pub fresh: Option<&'a HashMap<NodeId, Hash>>,
}

impl<T: TreeStorage> NodeReader for Nodes<'_, T> {
    type Error = T::Error;

    fn node(&self, id: NodeId) -> Result<Hash, T::Error> {
        if let Some(h) = self.fresh.and_then(|f| f.get(&id)) {
            return Ok(*h);
        }
        let missing = || {
            Corrupt::new(
                "tree",
                format!("node (level {}, index {}) is missing", id.level, id.index),
            )
        };
        if id.level >= LOWEST_STORED_LEVEL {
            return self
                .storage
                .stored_node(id)?
                .ok_or_else(|| missing().into());
        }
        let width = 1u64 << id.level;
        let first = id.index * width;
        let leaves = self.storage.leaves(first, first + width)?;
        if leaves.len() as u64 != width {
            return Err(missing().into());
        }
        Ok(root_of(&leaves))
    }
}
