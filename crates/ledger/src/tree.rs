//! The Merkle Tree Hash of [RFC 9162 §2.1], computed over leaf hashes.
//!
//! The store persists the hashes of *complete* subtrees only — the subtrees of `2^level` leaves
//! that start at a multiple of `2^level`, named by [`NodeId`]. Once written such a node never
//! changes, because appending leaves only adds nodes to the right. Everything here reaches those
//! nodes through the narrow [`NodeReader`] trait, so the Merkle math knows nothing of storage:
//!
//! * [`Frontier`] is the right edge of the tree, kept in memory by the one writer. Appending a
//!   leaf is `O(log n)` and returns the nodes the append completed, for the store to persist.
//! * [`subtree_root`] and [`root_at`] compute the Merkle Tree Hash of any range or any past size
//!   from the fewest stored nodes, which is how checkpoints of past sizes are recomputed.
//! * [`root_of`] hashes a slice of leaf hashes without any stored node, for the audit command
//!   that recomputes the root from the leaves themselves.
//!
//! [RFC 9162 §2.1]: https://www.rfc-editor.org/rfc/rfc9162.html#section-2.1

use std::ops::Range;

use thiserror::Error;

use crate::hash::{EMPTY_ROOT, Hash, node_hash};

/// The address of a complete subtree: node `(level, index)` covers the leaves
/// `[index · 2^level, (index + 1) · 2^level)`. Level 0 holds the leaf hashes themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId {
    /// Height above the leaves; the subtree has `2^level` leaves.
    pub level: u8,
    /// Position of the subtree among the subtrees of its level, counted from the left.
    pub index: u64,
}

impl NodeId {
    /// The node at `level` and `index`.
    #[must_use]
    pub const fn new(level: u8, index: u64) -> Self {
        Self { level, index }
    }

    /// The leaf hash at `index`, i.e. the node at level 0.
    #[must_use]
    pub const fn leaf(index: u64) -> Self {
        Self { level: 0, index }
    }
}

/// Read access to the stored hashes of complete subtrees.
///
/// This is the only way the tree and proof code reaches storage (compare `HashReader` in
/// cloudflare/azul). A reader for a tree of `n` leaves must answer for every complete subtree of
/// that tree; it may answer for more.
pub trait NodeReader {
    /// Why a node could not be read (missing, I/O, …).
    type Error: std::error::Error + Send + Sync + 'static;

    /// Returns the hash of one complete subtree.
    ///
    /// # Errors
    ///
    /// Whatever the store reports, in particular when the node does not exist.
    fn node(&self, id: NodeId) -> Result<Hash, Self::Error>;

    /// Returns the hashes of `ids`, one per id and in the same order.
    ///
    /// Every caller in this crate asks for all the nodes it needs in one call, with distinct
    /// ids, so that a database-backed reader can answer with one query (and must put the rows
    /// back in the order of `ids`). The default reads them one by one. A batch of the wrong
    /// length is caught: the caller falls back to [`NodeReader::node`], one read per id.
    ///
    /// # Errors
    ///
    /// Whatever the store reports for any of the nodes.
    fn nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, Self::Error> {
        ids.iter().map(|&id| self.node(id)).collect()
    }
}

/// Reads `ids` in one batch, falling back to single reads if the batch has the wrong length.
pub(crate) fn read_nodes<R: NodeReader + ?Sized>(
    reader: &R,
    ids: &[NodeId],
) -> Result<Vec<Hash>, R::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let hashes = reader.nodes(ids)?;
    if hashes.len() == ids.len() {
        return Ok(hashes);
    }
    ids.iter().map(|&id| reader.node(id)).collect()
}

/// The largest power of two strictly smaller than `n`, the split point `k` of RFC 9162 §2.1.1.
///
/// Callers guarantee `n >= 2`.
pub(crate) const fn split_point(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// Appends, left to right, the complete subtrees from which `MTH(D[lo:hi])` is built.
///
/// This follows the recursion of RFC 9162 §2.1.1 and stops at the first aligned complete
/// subtree. When `lo` is a multiple of the smallest power of two `>= hi - lo` — always the case
/// for tree prefixes and for every range an RFC 9162 proof asks for — that is one node per set
/// bit of `hi - lo`, so `O(log n)`. Callers guarantee `lo < hi`.
pub(crate) fn collect_range(lo: u64, hi: u64, out: &mut Vec<NodeId>) {
    let n = hi - lo;
    if n.is_power_of_two() && lo & (n - 1) == 0 {
        // trailing_zeros of a non-zero u64 is at most 63, so it fits in a u8.
        let level = n.trailing_zeros() as u8;
        out.push(NodeId::new(level, lo >> level));
        return;
    }
    let k = split_point(n);
    collect_range(lo, lo + k, out);
    collect_range(lo + k, hi, out);
}

/// Folds the hashes of the nodes [`collect_range`] listed for `[lo, hi)` into `MTH(D[lo:hi])`.
///
/// `hashes[*next..]` must start with exactly those hashes; `*next` is advanced past them. Both
/// functions follow the same recursion, so the count always matches.
pub(crate) fn combine_range(lo: u64, hi: u64, hashes: &[Hash], next: &mut usize) -> Hash {
    let n = hi - lo;
    if n.is_power_of_two() && lo & (n - 1) == 0 {
        let h = hashes[*next];
        *next += 1;
        return h;
    }
    let k = split_point(n);
    let left = combine_range(lo, lo + k, hashes, next);
    let right = combine_range(lo + k, hi, hashes, next);
    node_hash(&left, &right)
}

/// The Merkle Tree Hash of the leaves `[range.start, range.end)`, i.e. `MTH(D[lo:hi])` of
/// [RFC 9162 §2.1.1](https://www.rfc-editor.org/rfc/rfc9162.html#section-2.1.1), read from the
/// complete subtrees that cover it, in one [`NodeReader::nodes`] call.
///
/// The range need not be a complete subtree. When its start is aligned (as for every prefix of
/// the tree and every range a proof needs) this reads one node per set bit of its length; an
/// unaligned start costs more reads, down to single leaves in the worst case. An empty range
/// (including `start > end`, as for any Rust range) has the hash of the empty tree.
///
/// # Errors
///
/// The reader's error, e.g. when a node of the range is not stored.
pub fn subtree_root<R: NodeReader + ?Sized>(
    range: Range<u64>,
    reader: &R,
) -> Result<Hash, R::Error> {
    if range.is_empty() {
        return Ok(EMPTY_ROOT);
    }
    let mut ids = Vec::new();
    collect_range(range.start, range.end, &mut ids);
    let hashes = read_nodes(reader, &ids)?;
    Ok(combine_range(range.start, range.end, &hashes, &mut 0))
}

/// The root of the tree made of the first `size` leaves, from at most 64 stored nodes (one per
/// set bit of `size`). This is how the checkpoint of a past size is recomputed.
///
/// # Errors
///
/// The reader's error, e.g. when `size` exceeds the stored tree.
pub fn root_at<R: NodeReader + ?Sized>(size: u64, reader: &R) -> Result<Hash, R::Error> {
    subtree_root(0..size, reader)
}

/// The Merkle Tree Hash of the given leaf hashes
/// ([RFC 9162 §2.1.1](https://www.rfc-editor.org/rfc/rfc9162.html#section-2.1.1)).
///
/// Streaming and allocation-free: it keeps one hash per set bit of the running count on a fixed
/// stack of 64 and merges as complete subtrees form, so it computes exactly the `n - 1` node
/// hashes the tree has, with no recursion and no per-level buffer. Its speed is that of SHA-256.
#[must_use]
pub fn root_of(leaves: &[Hash]) -> Hash {
    let mut stack = [EMPTY_ROOT; 64];
    let mut len = 0usize;
    for (count, leaf) in (0u64..).zip(leaves) {
        let mut cur = *leaf;
        // Before this leaf the stack holds one subtree per set bit of `count`; each trailing one
        // bit is a subtree of the size of `cur` waiting for its right sibling.
        for _ in 0..count.trailing_ones() {
            len -= 1;
            cur = node_hash(&stack[len], &cur);
        }
        stack[len] = cur;
        len += 1;
    }
    fold_right(&stack[..len])
}

/// Folds the subtrees of a right edge (largest first) into the root, right to left.
fn fold_right(edge: &[Hash]) -> Hash {
    let Some((last, rest)) = edge.split_last() else {
        return EMPTY_ROOT;
    };
    rest.iter()
        .rev()
        .fold(*last, |acc, left| node_hash(left, &acc))
}

/// The ids of the complete subtrees on the right edge of a tree of `size` leaves, largest first.
fn frontier_ids(size: u64) -> Vec<NodeId> {
    (0..64u8)
        .rev()
        .filter(|&level| size >> level & 1 == 1)
        .map(|level| NodeId::new(level, (size >> level) - 1))
        .collect()
}

/// The right edge of the tree: the hashes of the maximal complete subtrees, one per set bit of
/// the size, largest (leftmost) first — at most 64 hashes.
///
/// This is all the one writer needs to append leaves and compute the current root; it is the
/// "compact range" of transparency-dev/merkle and the right-edge state of RFC 9162 §2.1.1's
/// recursion.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    edge: Vec<Hash>,
}

impl Frontier {
    /// The frontier of the empty tree.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            size: 0,
            edge: Vec::new(),
        }
    }

    /// The number of leaves appended so far.
    #[must_use]
    pub const fn size(&self) -> u64 {
        self.size
    }

    /// Appends one leaf hash and returns every complete subtree this append completed, the leaf
    /// itself (level 0) first, then upwards. The store persists exactly these nodes; with them it
    /// holds every complete subtree of the tree.
    ///
    /// `O(log n)`: a leaf completes one subtree per trailing one bit of the old size.
    ///
    /// # Panics
    ///
    /// If the tree already holds `u64::MAX` leaves.
    pub fn push(&mut self, leaf: Hash) -> Vec<(NodeId, Hash)> {
        let merges = self.size.trailing_ones();
        let mut completed = Vec::with_capacity(merges as usize + 1);
        let mut id = NodeId::leaf(self.size);
        let mut cur = leaf;
        completed.push((id, cur));
        for _ in 0..merges {
            // The edge holds one hash per set bit of `size`, so there are at least `merges`.
            let Some(left) = self.edge.pop() else { break };
            cur = node_hash(&left, &cur);
            id = NodeId::new(id.level + 1, id.index >> 1);
            completed.push((id, cur));
        }
        self.edge.push(cur);
        self.size = self
            .size
            .checked_add(1)
            .expect("a Merkle tree holds at most u64::MAX leaves");
        completed
    }

    /// The root of the tree of the current size; [`EMPTY_ROOT`] when it is empty.
    #[must_use]
    pub fn root(&self) -> Hash {
        fold_right(&self.edge)
    }

    /// Restores the frontier of a tree of `size` leaves from its stored complete subtrees (one
    /// read of at most 64 nodes), as the writer does when it starts.
    ///
    /// # Errors
    ///
    /// The reader's error, e.g. when the store holds fewer than `size` leaves.
    pub fn from_nodes<R: NodeReader + ?Sized>(size: u64, reader: &R) -> Result<Self, R::Error> {
        let edge = read_nodes(reader, &frontier_ids(size))?;
        Ok(Self { size, edge })
    }
}

/// An in-memory tree holding every complete subtree, level by level: a [`NodeReader`] for tests,
/// benchmarks and other crates' tests.
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
    frontier: Frontier,
}

/// The node asked of a [`MemoryTree`] is not a complete subtree of it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("node (level {}, index {}) is not in the tree", .0.level, .0.index)]
pub struct MissingNode(pub NodeId);

impl MemoryTree {
    /// The empty tree.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The tree of the given leaf hashes.
    #[must_use]
    pub fn from_leaves(leaves: &[Hash]) -> Self {
        let mut tree = Self::new();
        for leaf in leaves {
            tree.push(*leaf);
        }
        tree
    }

    /// Appends a leaf hash, storing the nodes it completes as a store would.
    ///
    /// # Panics
    ///
    /// If the tree already holds `u64::MAX` leaves.
    pub fn push(&mut self, leaf: Hash) {
        for (id, hash) in self.frontier.push(leaf) {
            let level = usize::from(id.level);
            if self.levels.len() <= level {
                self.levels.resize_with(level + 1, Vec::new);
            }
            self.levels[level].push(hash);
        }
    }

    /// The number of leaves.
    #[must_use]
    pub const fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The root of the whole tree.
    #[must_use]
    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    /// The leaf hashes, in order.
    #[must_use]
    pub fn leaves(&self) -> &[Hash] {
        self.levels.first().map_or(&[], Vec::as_slice)
    }
}

impl NodeReader for MemoryTree {
    type Error = MissingNode;

    fn node(&self, id: NodeId) -> Result<Hash, MissingNode> {
        usize::try_from(id.index)
            .ok()
            .and_then(|i| self.levels.get(usize::from(id.level))?.get(i))
            .copied()
            .ok_or(MissingNode(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_point_is_largest_power_of_two_below() {
        for (n, k) in [
            (2, 1),
            (3, 2),
            (4, 2),
            (5, 4),
            (7, 4),
            (8, 4),
            (9, 8),
            (28937, 16384),
        ] {
            assert_eq!(split_point(n), k, "n = {n}");
        }
        assert_eq!(split_point(u64::MAX), 1 << 63);
    }

    #[test]
    fn frontier_ids_follow_set_bits() {
        assert!(frontier_ids(0).is_empty());
        assert_eq!(
            frontier_ids(7),
            vec![NodeId::new(2, 0), NodeId::new(1, 2), NodeId::new(0, 6)]
        );
        assert_eq!(frontier_ids(8), vec![NodeId::new(3, 0)]);
    }

    #[test]
    fn aligned_ranges_read_one_node_per_set_bit() {
        let mut ids = Vec::new();
        collect_range(0, 13, &mut ids);
        assert_eq!(
            ids,
            vec![NodeId::new(3, 0), NodeId::new(2, 2), NodeId::new(0, 12)]
        );
        ids.clear();
        collect_range(16, 23, &mut ids);
        assert_eq!(
            ids,
            vec![NodeId::new(2, 4), NodeId::new(1, 10), NodeId::new(0, 22)]
        );
    }
}
