//! Cross-check against an independent implementation, the `ct-merkle` crate (RFC 6962 trees).
//!
//! ct-merkle hashes a leaf `T: AsRef<[u8]>` as `SHA-256(0x00 || bytes)` and a node as
//! `SHA-256(0x01 || left || right)` (`tree_util.rs`: `LeafHasher`, `parent_hash`) — the same
//! encoding as ours — so both are fed the same leaf bytes and must agree byte for byte on roots,
//! inclusion proofs and consistency proofs, and each must accept the other's proofs.

use ct_merkle::mem_backed_tree::MemoryBackedTree;
use ct_merkle::{ConsistencyProof, InclusionProof, RootHash};
use retrace_ledger::{
    Hash, MemoryTree, consistency_proof, inclusion_proof, leaf_hash, root_at, root_of,
    verify_consistency, verify_inclusion,
};
use sha2_11::Sha256;

const SIZES: [usize; 12] = [1, 2, 3, 4, 5, 7, 8, 9, 31, 64, 100, 257];

fn entry(i: usize) -> Vec<u8> {
    format!("retrace test entry {i}").into_bytes()
}

fn concat(hashes: &[Hash]) -> Vec<u8> {
    hashes.iter().flat_map(|h| h.0).collect()
}

fn split(bytes: &[u8]) -> Vec<Hash> {
    bytes
        .chunks(32)
        .map(|c| Hash(c.try_into().expect("32-byte chunks")))
        .collect()
}

fn their_tree(n: usize) -> MemoryBackedTree<Sha256, Vec<u8>> {
    let mut t = MemoryBackedTree::new();
    for i in 0..n {
        t.push(entry(i));
    }
    t
}

fn our_tree(n: usize) -> MemoryTree {
    let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&entry(i))).collect();
    MemoryTree::from_leaves(&leaves)
}

#[test]
fn roots_agree() {
    for n in SIZES {
        let theirs = their_tree(n).root();
        let ours = our_tree(n);
        assert_eq!(
            ours.root().0.as_slice(),
            theirs.as_bytes().as_slice(),
            "size {n}"
        );
        assert_eq!(root_of(ours.leaves()), ours.root());
        assert_eq!(root_at(n as u64, &ours).unwrap(), ours.root());
    }
}

#[test]
fn inclusion_proofs_agree() {
    for n in SIZES {
        let theirs = their_tree(n);
        let ours = our_tree(n);
        let their_root = theirs.root();
        for i in 0..n {
            let their_proof = theirs.prove_inclusion(i);
            let our_proof = inclusion_proof(i as u64, n as u64, &ours).unwrap();
            assert_eq!(
                concat(&our_proof),
                their_proof.as_bytes(),
                "size {n}, index {i}"
            );

            let ours_for_them = InclusionProof::<Sha256>::from_bytes(concat(&our_proof));
            their_root
                .verify_inclusion(&entry(i), i as u64, &ours_for_them)
                .unwrap();
            verify_inclusion(
                &leaf_hash(&entry(i)),
                i as u64,
                n as u64,
                &split(their_proof.as_bytes()),
                &ours.root(),
            )
            .unwrap();
        }
    }
}

#[test]
fn consistency_proofs_agree() {
    for n in SIZES {
        let theirs = their_tree(n);
        let ours = our_tree(n);
        let their_new = theirs.root();
        // ct-merkle proves consistency from a non-empty old tree only.
        for old in 1..=n {
            let their_proof = theirs.prove_consistency(n - old);
            let our_proof = consistency_proof(old as u64, n as u64, &ours).unwrap();
            assert_eq!(concat(&our_proof), their_proof.as_bytes(), "{old} -> {n}");

            let old_root = root_at(old as u64, &ours).unwrap();
            let their_old = RootHash::<Sha256>::new(old_root.0.into(), old as u64);
            let ours_for_them =
                ConsistencyProof::<Sha256>::try_from_bytes(concat(&our_proof)).unwrap();
            their_new
                .verify_consistency(&their_old, &ours_for_them)
                .unwrap();
            verify_consistency(
                old as u64,
                n as u64,
                &old_root,
                &ours.root(),
                &split(their_proof.as_bytes()),
            )
            .unwrap();
        }
    }
}
