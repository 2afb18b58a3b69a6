//! Known-answer tests of the hash, tree and proof functions.
//!
//! The eight leaves and every expected hash below are the RFC 6962 test corpus used by the
//! Certificate Transparency implementations, taken from transparency-dev/merkle:
//! `testonly/constants.go` (`LeafInputs`, `NodeHashes`, `RootHashes`, `CompactTrees`) and
//! `testonly/reference_test.go` (`TestRefInclusionProof`, `TestRefConsistencyProof`), the same
//! vectors google/certificate-transparency-go's `merkletree` tests use.

use retrace_ledger::{
    EMPTY_ROOT, Frontier, Hash, MemoryTree, NodeId, NodeReader, consistency_proof, inclusion_proof,
    leaf_hash, root_at, root_of, verify_consistency, verify_inclusion,
};

const LEAVES: [&[u8]; 8] = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
];

/// `RootHashes()`: the root of the first `n` leaves, for `n` in `0..=8`.
const ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// `NodeHashes()`: every complete subtree of the 8-leaf tree, by level then index.
const NODES: [&[&str]; 4] = [
    &[
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    &[
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    &[
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    &["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
];

/// `CompactTrees()`: the right edge at each size, as (level, index) into [`NODES`].
const COMPACT: [&[(usize, usize)]; 9] = [
    &[],
    &[(0, 0)],
    &[(1, 0)],
    &[(1, 0), (0, 2)],
    &[(2, 0)],
    &[(2, 0), (0, 4)],
    &[(2, 0), (1, 2)],
    &[(2, 0), (1, 2), (0, 6)],
    &[(3, 0)],
];

/// `TestRefInclusionProof`: (index, size, proof).
const INCLUSION: &[(u64, u64, &[&str])] = &[
    (0, 1, &[]),
    (
        0,
        2,
        &["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"],
    ),
    (
        1,
        2,
        &["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"],
    ),
    (
        2,
        3,
        &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    ),
    (
        1,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

/// `TestRefConsistencyProof`: (old size, new size, proof).
const CONSISTENCY: &[(u64, u64, &[&str])] = &[
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

fn h(hex: &str) -> Hash {
    hex.parse().expect("test vector is valid hex")
}

fn hashes(hexes: &[&str]) -> Vec<Hash> {
    hexes.iter().map(|x| h(x)).collect()
}

fn leaf_hashes() -> Vec<Hash> {
    LEAVES.iter().map(|l| leaf_hash(l)).collect()
}

#[test]
fn empty_root_and_empty_leaf() {
    assert_eq!(EMPTY_ROOT, h(ROOTS[0]));
    assert_eq!(root_of(&[]), EMPTY_ROOT);
    assert_eq!(
        leaf_hash(b""),
        h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
    );
}

#[test]
fn roots_at_every_size() {
    let leaves = leaf_hashes();
    let tree = MemoryTree::from_leaves(&leaves);
    let mut frontier = Frontier::new();
    for (n, want) in ROOTS.iter().enumerate() {
        let want = h(want);
        assert_eq!(root_of(&leaves[..n]), want, "root_of, size {n}");
        assert_eq!(frontier.root(), want, "Frontier, size {n}");
        assert_eq!(root_at(n as u64, &tree).unwrap(), want, "root_at, size {n}");
        if let Some(leaf) = leaves.get(n) {
            frontier.push(*leaf);
        }
    }
}

#[test]
fn stored_nodes_match_node_hashes() {
    let leaves = leaf_hashes();
    let tree = MemoryTree::from_leaves(&leaves);
    for (level, row) in NODES.iter().enumerate() {
        for (index, want) in row.iter().enumerate() {
            let id = NodeId::new(level as u8, index as u64);
            assert_eq!(tree.node(id).unwrap(), h(want), "{id:?}");
        }
    }
    assert!(tree.node(NodeId::new(0, 8)).is_err());
    assert!(tree.node(NodeId::new(4, 0)).is_err());
}

#[test]
fn frontier_push_reports_completed_nodes_and_restores() {
    let leaves = leaf_hashes();
    let tree = MemoryTree::from_leaves(&leaves);
    let mut frontier = Frontier::new();
    let mut reported = Vec::new();
    for leaf in &leaves {
        reported.extend(frontier.push(*leaf));
    }
    // Every complete subtree is reported exactly once, with its known hash.
    let expected: usize = NODES.iter().map(|row| row.len()).sum();
    assert_eq!(reported.len(), expected);
    for (id, hash) in &reported {
        assert_eq!(
            *hash,
            h(NODES[usize::from(id.level)][id.index as usize]),
            "{id:?}"
        );
    }
    // The right edge at each size is CompactTrees(), and restores to the same frontier.
    for (size, edge) in COMPACT.iter().enumerate() {
        let restored = Frontier::from_nodes(size as u64, &tree).unwrap();
        let edge_root = edge
            .iter()
            .rev()
            .map(|&(level, index)| h(NODES[level][index]))
            .reduce(|acc, left| retrace_ledger::node_hash(&left, &acc))
            .unwrap_or(EMPTY_ROOT);
        assert_eq!(restored.size(), size as u64);
        assert_eq!(restored.root(), edge_root, "size {size}");
        assert_eq!(restored.root(), h(ROOTS[size]), "size {size}");
    }
}

#[test]
fn inclusion_vectors() {
    let leaves = leaf_hashes();
    let tree = MemoryTree::from_leaves(&leaves);
    for &(index, size, want) in INCLUSION {
        let proof = inclusion_proof(index, size, &tree).unwrap();
        assert_eq!(proof, hashes(want), "PATH({index}, D[{size}])");
        verify_inclusion(
            &leaves[index as usize],
            index,
            size,
            &proof,
            &h(ROOTS[size as usize]),
        )
        .unwrap();
    }
}

#[test]
fn consistency_vectors() {
    let tree = MemoryTree::from_leaves(&leaf_hashes());
    for &(old, new, want) in CONSISTENCY {
        let proof = consistency_proof(old, new, &tree).unwrap();
        assert_eq!(proof, hashes(want), "PROOF({old}, D[{new}])");
        verify_consistency(
            old,
            new,
            &h(ROOTS[old as usize]),
            &h(ROOTS[new as usize]),
            &proof,
        )
        .unwrap();
    }
}

#[test]
fn hash_text_forms() {
    let hash = h(ROOTS[8]);
    assert_eq!(hash.to_string(), ROOTS[8]);
    assert_eq!(format!("{hash:?}"), format!("Hash({})", ROOTS[8]));
    assert!(ROOTS[8].to_uppercase().parse::<Hash>().is_err());
    assert!(ROOTS[8][1..].parse::<Hash>().is_err());
    assert!(format!("{}0", ROOTS[8]).parse::<Hash>().is_err());
    assert!(format!("{}g", &ROOTS[8][1..]).parse::<Hash>().is_err());
}

#[test]
fn suite_names() {
    use retrace_ledger::{Suite, SuiteError};
    assert_eq!(Suite::Sha256Ed25519.as_str(), "sha256-ed25519");
    assert_eq!(
        "sha256-ed25519".parse::<Suite>().unwrap(),
        Suite::Sha256Ed25519
    );
    assert!(matches!(
        "sm3-sm2".parse::<Suite>(),
        Err(SuiteError::UnsupportedSuite { .. })
    ));
    assert!(matches!(
        "SHA256-ED25519".parse::<Suite>(),
        Err(SuiteError::UnknownSuite { .. })
    ));
}
