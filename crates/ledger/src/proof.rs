//! Inclusion and consistency proofs of [RFC 9162 §2.1.3] and [§2.1.4].
//!
//! Proofs are *generated* from the stored complete subtrees: every hash a proof needs is the
//! Merkle Tree Hash of a range whose start is aligned, hence a fold of at most one stored node
//! per set bit of its length. A proof therefore costs `O(log n)` node reads, requested in a
//! single [`NodeReader::nodes`] call.
//!
//! Proofs are *verified* with the RFC's own verification algorithms (§2.1.3.2, §2.1.4.2), which
//! need only the proof, the sizes and the roots — never the tree.
//!
//! [RFC 9162 §2.1.3]: https://www.rfc-editor.org/rfc/rfc9162.html#section-2.1.3
//! [§2.1.4]: https://www.rfc-editor.org/rfc/rfc9162.html#section-2.1.4

use thiserror::Error;

use crate::hash::{EMPTY_ROOT, Hash, node_hash};
use crate::tree::{NodeId, NodeReader, collect_range, combine_range, read_nodes, split_point};

/// A proof could not be generated.
#[derive(Debug, Error)]
pub enum ProofError<E> {
    /// The leaf index is not inside the tree.
    #[error("leaf index {index} is outside a tree of {size} leaves")]
    IndexOutOfRange {
        /// The index asked for.
        index: u64,
        /// The tree size asked for.
        size: u64,
    },
    /// The "old" tree is larger than the "new" one.
    #[error("old tree size {old} is larger than new tree size {new}")]
    SizeOrder {
        /// The old size asked for.
        old: u64,
        /// The new size asked for.
        new: u64,
    },
    /// The store could not supply a node.
    #[error("reading tree nodes")]
    Reader(#[source] E),
}

/// A proof does not prove what it claims.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VerifyError {
    /// The leaf index is not inside the tree.
    #[error("leaf index {index} is outside a tree of {size} leaves")]
    IndexOutOfRange {
        /// The claimed index.
        index: u64,
        /// The claimed tree size.
        size: u64,
    },
    /// The "old" tree is larger than the "new" one.
    #[error("old tree size {old} is larger than new tree size {new}")]
    SizeOrder {
        /// The claimed old size.
        old: u64,
        /// The claimed new size.
        new: u64,
    },
    /// The proof has the wrong number of hashes for the claimed sizes.
    #[error("the proof has the wrong number of hashes for these tree sizes")]
    ProofLength,
    /// The proof leads to a different root.
    #[error("the proof does not lead to the expected root")]
    RootMismatch,
    /// A consistency proof does not lead to the old root.
    #[error("the proof does not lead to the old root")]
    OldRootMismatch,
    /// A consistency proof does not lead to the new root.
    #[error("the proof does not lead to the new root")]
    NewRootMismatch,
}

/// Reads the proof ranges (listed leaf-side first) in one batch and folds each into its hash.
fn read_ranges<R: NodeReader + ?Sized>(
    ranges: &[(u64, u64)],
    reader: &R,
) -> Result<Vec<Hash>, ProofError<R::Error>> {
    let mut ids: Vec<NodeId> = Vec::new();
    for &(lo, hi) in ranges {
        collect_range(lo, hi, &mut ids);
    }
    let hashes = read_nodes(reader, &ids).map_err(ProofError::Reader)?;
    let mut next = 0;
    Ok(ranges
        .iter()
        .map(|&(lo, hi)| combine_range(lo, hi, &hashes, &mut next))
        .collect())
}

/// The inclusion proof `PATH(index, D[size])` of
/// [RFC 9162 §2.1.3.1](https://www.rfc-editor.org/rfc/rfc9162.html#section-2.1.3.1): the hashes
/// of the siblings on the way from the leaf to the root, leaf side first.
///
/// # Errors
///
/// [`ProofError::IndexOutOfRange`] unless `index < size`; [`ProofError::Reader`] if a node is
/// missing from the store.
pub fn inclusion_proof<R: NodeReader + ?Sized>(
    index: u64,
    size: u64,
    reader: &R,
) -> Result<Vec<Hash>, ProofError<R::Error>> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    // Walk the recursion of §2.1.3.1 from the root down, noting the sibling range at each step.
    let (mut lo, mut hi) = (0, size);
    let mut siblings = Vec::new();
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index < lo + k {
            siblings.push((lo + k, hi));
            hi = lo + k;
        } else {
            siblings.push((lo, lo + k));
            lo += k;
        }
    }
    siblings.reverse();
    read_ranges(&siblings, reader)
}

/// The consistency proof `PROOF(old, D[new])` of
/// [RFC 9162 §2.1.4.1](https://www.rfc-editor.org/rfc/rfc9162.html#section-2.1.4.1), proving
/// that the tree of `old` leaves is a prefix of the tree of `new` leaves.
///
/// The RFC defines proofs for `0 < old < new`. The two trivial cases have nothing to prove and
/// get an empty proof: `old == new` (a tree is consistent with itself) and `old == 0` (every tree
/// extends the empty tree); [`verify_consistency`] checks them by comparing roots.
///
/// # Errors
///
/// [`ProofError::SizeOrder`] if `old > new`; [`ProofError::Reader`] if a node is missing.
pub fn consistency_proof<R: NodeReader + ?Sized>(
    old: u64,
    new: u64,
    reader: &R,
) -> Result<Vec<Hash>, ProofError<R::Error>> {
    if old > new {
        return Err(ProofError::SizeOrder { old, new });
    }
    if old == 0 || old == new {
        return Ok(Vec::new());
    }
    // SUBPROOF(m, D[lo:hi], b) of §2.1.4.1, unrolled from the top; `old - lo` is the RFC's m.
    let (mut lo, mut hi) = (0, new);
    let mut whole_old_root_known = true;
    let mut parts = Vec::new();
    loop {
        let m = old - lo;
        let n = hi - lo;
        if m == n {
            if !whole_old_root_known {
                parts.push((lo, hi));
            }
            break;
        }
        let k = split_point(n);
        if m <= k {
            parts.push((lo + k, hi));
            hi = lo + k;
        } else {
            parts.push((lo, lo + k));
            lo += k;
            whole_old_root_known = false;
        }
    }
    parts.reverse();
    read_ranges(&parts, reader)
}

/// Verifies an inclusion proof with the algorithm of
/// [RFC 9162 §2.1.3.2](https://www.rfc-editor.org/rfc/rfc9162.html#section-2.1.3.2): `leaf` is
/// the leaf hash at `index` in the tree of `size` leaves whose root is `root`.
///
/// # Errors
///
/// [`VerifyError::IndexOutOfRange`] unless `index < size`, [`VerifyError::ProofLength`] if the
/// proof is too long or too short for this index and size, [`VerifyError::RootMismatch`] if it
/// leads elsewhere.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), VerifyError> {
    if index >= size {
        return Err(VerifyError::IndexOutOfRange { index, size });
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return Err(VerifyError::ProofLength);
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(VerifyError::ProofLength);
    }
    if r != *root {
        return Err(VerifyError::RootMismatch);
    }
    Ok(())
}

/// Verifies a consistency proof with the algorithm of
/// [RFC 9162 §2.1.4.2](https://www.rfc-editor.org/rfc/rfc9162.html#section-2.1.4.2): the tree of
/// `old` leaves with root `old_root` is a prefix of the tree of `new` leaves with root
/// `new_root`.
///
/// The trivial cases [`consistency_proof`] answers with an empty proof are checked directly: for
/// `old == new` the roots must be equal, for `old == 0` the old root must be that of the empty
/// tree.
///
/// # Errors
///
/// [`VerifyError::SizeOrder`] if `old > new`, [`VerifyError::ProofLength`] if the proof has the
/// wrong number of hashes, [`VerifyError::RootMismatch`], [`VerifyError::OldRootMismatch`] or
/// [`VerifyError::NewRootMismatch`] if it does not lead to the given roots.
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), VerifyError> {
    if old > new {
        return Err(VerifyError::SizeOrder { old, new });
    }
    if old == 0 || old == new {
        if !proof.is_empty() {
            return Err(VerifyError::ProofLength);
        }
        if old == 0 && *old_root != EMPTY_ROOT {
            return Err(VerifyError::OldRootMismatch);
        }
        if old == new && old_root != new_root {
            return Err(VerifyError::RootMismatch);
        }
        return Ok(());
    }
    // Step 1: a non-trivial proof is never empty.
    let Some((first, rest)) = proof.split_first() else {
        return Err(VerifyError::ProofLength);
    };
    // Step 2: when `old` is a power of two the old root is itself the first path element.
    let (start, path) = if old.is_power_of_two() {
        (*old_root, proof)
    } else {
        (*first, rest)
    };
    // Steps 3 and 4.
    let (mut fnode, mut snode) = (old - 1, new - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    // Step 5.
    let (mut fr, mut sr) = (start, start);
    // Step 6.
    for c in path {
        if snode == 0 {
            return Err(VerifyError::ProofLength);
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    // Step 7.
    if snode != 0 {
        return Err(VerifyError::ProofLength);
    }
    if fr != *old_root {
        return Err(VerifyError::OldRootMismatch);
    }
    if sr != *new_root {
        return Err(VerifyError::NewRootMismatch);
    }
    Ok(())
}
