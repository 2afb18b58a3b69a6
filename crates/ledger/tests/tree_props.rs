//! Property tests: the tree and proof functions agree with a naive transcription of the RFC 9162
//! §2.1 definitions, proofs verify, and altered proofs do not.

use std::cell::{Cell, RefCell};

use proptest::prelude::*;
use retrace_ledger::{
    EMPTY_ROOT, Frontier, Hash, MemoryTree, MissingNode, NodeId, NodeReader, ProofError,
    VerifyError, consistency_proof, inclusion_proof, leaf_hash, node_hash, root_at, root_of,
    subtree_root, verify_consistency, verify_inclusion,
};

/// Largest power of two strictly below `n` (RFC 9162 §2.1.1 "k").
fn k_of(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// MTH(D[n]) of RFC 9162 §2.1.1, recursively, over leaf hashes.
fn ref_mth(d: &[Hash]) -> Hash {
    match d.len() {
        0 => EMPTY_ROOT,
        1 => d[0],
        n => {
            let k = k_of(n);
            node_hash(&ref_mth(&d[..k]), &ref_mth(&d[k..]))
        }
    }
}

/// PATH(m, D[n]) of RFC 9162 §2.1.3.1.
fn ref_path(m: usize, d: &[Hash]) -> Vec<Hash> {
    if d.len() <= 1 {
        return Vec::new();
    }
    let k = k_of(d.len());
    if m < k {
        let mut p = ref_path(m, &d[..k]);
        p.push(ref_mth(&d[k..]));
        p
    } else {
        let mut p = ref_path(m - k, &d[k..]);
        p.push(ref_mth(&d[..k]));
        p
    }
}

/// SUBPROOF(m, D[n], b) of RFC 9162 §2.1.4.1.
fn ref_subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
    let n = d.len();
    if m == n {
        return if b { Vec::new() } else { vec![ref_mth(d)] };
    }
    let k = k_of(n);
    if m <= k {
        let mut p = ref_subproof(m, &d[..k], b);
        p.push(ref_mth(&d[k..]));
        p
    } else {
        let mut p = ref_subproof(m - k, &d[k..], false);
        p.push(ref_mth(&d[..k]));
        p
    }
}

fn leaves(n: usize, seed: u64) -> Vec<Hash> {
    (0..n as u64)
        .map(|i| leaf_hash(&[seed.to_be_bytes(), i.to_be_bytes()].concat()))
        .collect()
}

fn flip(h: &Hash, bit: usize) -> Hash {
    let mut out = *h;
    out.0[bit / 8 % 32] ^= 1 << (bit % 8);
    out
}

/// A reader that counts how it is used.
struct Counting<'a> {
    tree: &'a MemoryTree,
    single_reads: Cell<usize>,
    batches: RefCell<Vec<usize>>,
}

impl<'a> Counting<'a> {
    fn new(tree: &'a MemoryTree) -> Self {
        Self {
            tree,
            single_reads: Cell::new(0),
            batches: RefCell::new(Vec::new()),
        }
    }
}

impl NodeReader for Counting<'_> {
    type Error = MissingNode;

    fn node(&self, id: NodeId) -> Result<Hash, MissingNode> {
        self.single_reads.set(self.single_reads.get() + 1);
        self.tree.node(id)
    }

    fn nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, MissingNode> {
        self.batches.borrow_mut().push(ids.len());
        ids.iter().map(|&id| self.tree.node(id)).collect()
    }
}

/// A reader whose batch read breaks the contract by dropping the last hash.
struct ShortBatches(MemoryTree);

impl NodeReader for ShortBatches {
    type Error = MissingNode;

    fn node(&self, id: NodeId) -> Result<Hash, MissingNode> {
        self.0.node(id)
    }

    fn nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, MissingNode> {
        let mut out = self.0.nodes(ids)?;
        out.pop();
        Ok(out)
    }
}

/// Enough ids for any proof of a tree of `size` leaves: two per level.
fn read_bound(size: u64) -> usize {
    2 * (64 - size.leading_zeros() as usize) + 2
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn roots_agree_with_reference(size in 0usize..300, prefix in 0usize..300, seed: u64) {
        let d = leaves(size, seed);
        let want = ref_mth(&d);
        prop_assert_eq!(root_of(&d), want);

        let mut frontier = Frontier::new();
        for leaf in &d {
            frontier.push(*leaf);
        }
        prop_assert_eq!(frontier.size(), size as u64);
        prop_assert_eq!(frontier.root(), want);

        let tree = MemoryTree::from_leaves(&d);
        prop_assert_eq!(tree.root(), want);
        prop_assert_eq!(root_at(size as u64, &tree).unwrap(), want);

        let prefix = prefix.min(size);
        let counting = Counting::new(&tree);
        prop_assert_eq!(root_at(prefix as u64, &counting).unwrap(), ref_mth(&d[..prefix]));
        prop_assert!(counting.batches.borrow().len() <= 1);
        prop_assert!(counting.batches.borrow().iter().all(|&n| n == (prefix as u64).count_ones() as usize));
        prop_assert_eq!(counting.single_reads.get(), 0);

        let restored = Frontier::from_nodes(prefix as u64, &tree).unwrap();
        prop_assert_eq!(restored.root(), ref_mth(&d[..prefix]));
        let mut resumed = restored;
        let mut from_scratch = Frontier::new();
        for leaf in &d[..prefix] {
            from_scratch.push(*leaf);
        }
        prop_assert_eq!(&resumed, &from_scratch);
        for leaf in &d[prefix..] {
            prop_assert_eq!(resumed.push(*leaf), from_scratch.push(*leaf));
        }
        prop_assert_eq!(resumed.root(), want);
    }

    #[test]
    fn any_range_agrees_with_reference(size in 1usize..300, a: usize, b: usize, seed: u64) {
        let d = leaves(size, seed);
        let tree = MemoryTree::from_leaves(&d);
        let (lo, hi) = { let (x, y) = (a % (size + 1), b % (size + 1)); (x.min(y), x.max(y)) };
        prop_assert_eq!(subtree_root(lo as u64..hi as u64, &tree).unwrap(), ref_mth(&d[lo..hi]));
    }

    #[test]
    fn inclusion_proofs(size in 1usize..300, index: usize, seed: u64, bit in 0usize..256) {
        let index = index % size;
        let d = leaves(size, seed);
        let tree = MemoryTree::from_leaves(&d);
        let root = ref_mth(&d);
        let (i, n) = (index as u64, size as u64);

        let counting = Counting::new(&tree);
        let proof = inclusion_proof(i, n, &counting).unwrap();
        prop_assert_eq!(&proof, &ref_path(index, &d));
        prop_assert!(counting.batches.borrow().len() <= 1);
        prop_assert!(counting.batches.borrow().iter().all(|&ids| ids <= read_bound(n)));
        prop_assert_eq!(counting.single_reads.get(), 0);

        prop_assert_eq!(verify_inclusion(&d[index], i, n, &proof, &root), Ok(()));
        // Another leaf, root or index fails.
        prop_assert!(verify_inclusion(&flip(&d[index], bit), i, n, &proof, &root).is_err());
        prop_assert_eq!(
            verify_inclusion(&d[index], i, n, &proof, &flip(&root, bit)),
            Err(VerifyError::RootMismatch)
        );
        for other in (0..n).filter(|&j| j != i) {
            prop_assert!(verify_inclusion(&d[index], other, n, &proof, &root).is_err());
        }
        prop_assert!(verify_inclusion(&d[index], n, n, &proof, &root).is_err());
        prop_assert!(verify_inclusion(&d[index], u64::MAX, n, &proof, &root).is_err());
        // Any altered, missing or extra proof hash fails.
        for j in 0..proof.len() {
            let mut bad = proof.clone();
            bad[j] = flip(&bad[j], bit);
            prop_assert!(verify_inclusion(&d[index], i, n, &bad, &root).is_err());
            let mut short = proof.clone();
            short.remove(j);
            prop_assert!(verify_inclusion(&d[index], i, n, &short, &root).is_err());
        }
        let mut long = proof.clone();
        long.push(root);
        prop_assert!(verify_inclusion(&d[index], i, n, &long, &root).is_err());
    }

    #[test]
    fn consistency_proofs(new in 0usize..300, old: usize, other: usize, seed: u64, bit in 0usize..256) {
        let old = old % (new + 1);
        let d = leaves(new, seed);
        let tree = MemoryTree::from_leaves(&d);
        let (m, n) = (old as u64, new as u64);
        let (old_root, new_root) = (ref_mth(&d[..old]), ref_mth(&d));

        let counting = Counting::new(&tree);
        let proof = consistency_proof(m, n, &counting).unwrap();
        let want = if old == 0 { Vec::new() } else { ref_subproof(old, &d, true) };
        prop_assert_eq!(&proof, &want);
        prop_assert!(counting.batches.borrow().len() <= 1);
        prop_assert!(counting.batches.borrow().iter().all(|&ids| ids <= read_bound(n)));
        prop_assert_eq!(counting.single_reads.get(), 0);

        prop_assert_eq!(verify_consistency(m, n, &old_root, &new_root, &proof), Ok(()));
        prop_assert!(verify_consistency(m, n, &flip(&old_root, bit), &new_root, &proof).is_err());
        if old > 0 {
            prop_assert!(verify_consistency(m, n, &old_root, &flip(&new_root, bit), &proof).is_err());
        }
        for j in 0..proof.len() {
            let mut bad = proof.clone();
            bad[j] = flip(&bad[j], bit);
            prop_assert!(verify_consistency(m, n, &old_root, &new_root, &bad).is_err());
            let mut short = proof.clone();
            short.remove(j);
            prop_assert!(verify_consistency(m, n, &old_root, &new_root, &short).is_err());
        }
        let mut long = proof.clone();
        long.push(new_root);
        prop_assert!(verify_consistency(m, n, &old_root, &new_root, &long).is_err());
        // The same proof and roots do not prove another old size.
        let other = (other % (new + 1)) as u64;
        if other != m {
            prop_assert!(verify_consistency(other, n, &old_root, &new_root, &proof).is_err());
        }
        prop_assert!(verify_consistency(n + 1, n, &old_root, &new_root, &proof).is_err());
    }
}

#[test]
fn out_of_range_arguments_are_errors() {
    let tree = MemoryTree::from_leaves(&leaves(5, 7));
    assert!(matches!(
        inclusion_proof(5, 5, &tree),
        Err(ProofError::IndexOutOfRange { index: 5, size: 5 })
    ));
    assert!(matches!(
        inclusion_proof(0, 0, &tree),
        Err(ProofError::IndexOutOfRange { .. })
    ));
    assert!(matches!(
        inclusion_proof(0, 6, &tree),
        Err(ProofError::Reader(_))
    ));
    assert!(matches!(
        inclusion_proof(0, u64::MAX, &tree),
        Err(ProofError::Reader(_))
    ));
    assert!(matches!(
        consistency_proof(6, 5, &tree),
        Err(ProofError::SizeOrder { old: 6, new: 5 })
    ));
    assert!(matches!(
        consistency_proof(3, 9, &tree),
        Err(ProofError::Reader(_))
    ));
    assert!(matches!(
        consistency_proof(u64::MAX - 1, u64::MAX, &tree),
        Err(ProofError::Reader(_))
    ));
    assert!(root_at(6, &tree).is_err());
    assert!(root_at(u64::MAX, &tree).is_err());
    assert!(Frontier::from_nodes(6, &tree).is_err());
    let reversed = std::ops::Range { start: 4, end: 2 };
    assert_eq!(subtree_root(reversed, &tree).unwrap(), EMPTY_ROOT);
    assert_eq!(subtree_root(3..3, &tree).unwrap(), EMPTY_ROOT);

    let root = tree.root();
    assert_eq!(
        verify_inclusion(&root, 0, 0, &[], &root),
        Err(VerifyError::IndexOutOfRange { index: 0, size: 0 })
    );
    assert!(verify_inclusion(&root, u64::MAX - 1, u64::MAX, &[root; 70], &root).is_err());
    assert_eq!(
        verify_consistency(2, 1, &root, &root, &[]),
        Err(VerifyError::SizeOrder { old: 2, new: 1 })
    );
    assert!(verify_consistency(u64::MAX - 1, u64::MAX, &root, &root, &[root; 70]).is_err());
    assert!(verify_consistency(3, 5, &root, &root, &[]).is_err());
}

#[test]
fn trivial_consistency_cases() {
    let d = leaves(9, 1);
    let root = ref_mth(&d);
    assert_eq!(verify_consistency(0, 9, &EMPTY_ROOT, &root, &[]), Ok(()));
    assert_eq!(
        verify_consistency(0, 9, &root, &root, &[]),
        Err(VerifyError::OldRootMismatch)
    );
    assert_eq!(
        verify_consistency(0, 9, &EMPTY_ROOT, &root, &[root]),
        Err(VerifyError::ProofLength)
    );
    assert_eq!(verify_consistency(9, 9, &root, &root, &[]), Ok(()));
    assert_eq!(
        verify_consistency(9, 9, &root, &EMPTY_ROOT, &[]),
        Err(VerifyError::RootMismatch)
    );
    assert_eq!(
        verify_consistency(0, 0, &EMPTY_ROOT, &EMPTY_ROOT, &[]),
        Ok(())
    );
}

#[test]
fn short_batches_fall_back_to_single_reads() {
    let d = leaves(77, 3);
    let tree = MemoryTree::from_leaves(&d);
    let short = ShortBatches(tree.clone());
    assert_eq!(root_at(77, &short).unwrap(), ref_mth(&d));
    assert_eq!(
        inclusion_proof(13, 77, &short).unwrap(),
        inclusion_proof(13, 77, &tree).unwrap()
    );
    assert_eq!(
        consistency_proof(29, 77, &short).unwrap(),
        consistency_proof(29, 77, &tree).unwrap()
    );
}

#[test]
fn memory_tree_holds_every_complete_subtree() {
    let d = leaves(13, 9);
    let tree = MemoryTree::from_leaves(&d);
    assert_eq!(tree.size(), 13);
    assert_eq!(tree.leaves(), d.as_slice());
    assert_eq!(MemoryTree::new().leaves(), &[] as &[Hash]);
    for level in 0..5u8 {
        let width = 1usize << level;
        for index in 0..16u64 {
            let lo = index as usize * width;
            let got = tree.node(NodeId::new(level, index));
            if lo + width <= d.len() {
                assert_eq!(got.unwrap(), ref_mth(&d[lo..lo + width]));
            } else {
                assert_eq!(got, Err(MissingNode(NodeId::new(level, index))));
            }
        }
    }
}
