//! The tamper-evident ledger of retrace: the Merkle tree, its proofs, signed checkpoints,
//! receipts and the canonical entry encoding.
//!
//! In the data flow of DESIGN §3 (capture → validate → **sequence** → project → **receipt**) this
//! crate is the math of the two bold steps. It is pure code: no I/O, no async, no threads.
//! Storage reaches it through one trait, [`tree::NodeReader`], and the binary, the store and the
//! audit command build on the functions below.
//!
//! | module | implements | what it gives |
//! |---|---|---|
//! | [`hash`] | RFC 9162 §2.1.1 | [`Hash`](struct@Hash), [`leaf_hash`], [`node_hash`], [`EMPTY_ROOT`], the [`Suite`] name (`sha256-ed25519`; `sm3-sm2` reserved) |
//! | [`tree`] | RFC 9162 §2.1.1 Merkle Tree Hash | [`NodeId`] of complete subtrees, [`NodeReader`], the append [`Frontier`], [`root_of`], [`root_at`], [`subtree_root`], the in-memory [`MemoryTree`] |
//! | [`proof`] | RFC 9162 §2.1.3 inclusion, §2.1.4 consistency | generation from stored nodes in one batched read, verification by the RFC algorithms |
//! | [`checkpoint`] | C2SP tlog-checkpoint in a C2SP signed-note, Ed25519 | [`LogKey`], [`LogVerifier`] (`verify_strict`), [`Checkpoint`], [`SignedCheckpoint`] |
//! | [`receipt`] | C2SP tlog-proof | [`Receipt`]: entry bytes + index + inclusion proof + signed checkpoint, verifiable offline |
//! | [`entry`] | DESIGN §3 leaf format | [`Entry`] v1 canonical text with salted-hash [`Commitment`]s, [`Opening`]s, [`derive_salt`] |
//! | [`cosignature`] | C2SP tlog-cosignature (Ed25519 `cosignature/v1`) | [`CosignerKey`], [`CosignerVerifier`] |
//! | [`witness`] | C2SP tlog-witness `add-checkpoint` | the request, its checks and their HTTP statuses, as pure code |
//!
//! # Formats
//!
//! **Leaf.** The leaf of entry `e` is `SHA-256(0x00 || e.encode())`, inner nodes
//! `SHA-256(0x01 || left || right)`, the tree that of RFC 9162 (identical to RFC 6962).
//!
//! **Entry v1** — UTF-8, lines joined by `\n`, no trailing newline, one spelling per entry:
//!
//! ```text
//! retrace/entry/v1
//! suite sha256-ed25519
//! kind extract
//! public {"event":"…","mine":"…"}
//! commit mass 4c1f…(64 lowercase hex)
//! commit owner 9a0b…
//! ```
//!
//! A commit line holds `SHA-256("retrace/commit/v1" 0x00 field 0x00 salt value)` with a 16-byte
//! salt from [`derive_salt`]; commit lines are sorted by field name.
//!
//! **Checkpoint** — a C2SP signed-note whose text is a tlog-checkpoint without extensions, signed
//! by exactly one Ed25519 key whose name is the origin:
//!
//! ```text
//! retrace.example/log
//! 5
//! <base64 root>
//!
//! — retrace.example/log <base64(key id || signature)>
//! ```
//!
//! Keys use the signed-note text forms: `PRIVATE+KEY+<name>+<id>+<base64>` for the signer,
//! `<name>+<id>+<base64>` for the verifier.
//!
//! **Receipt** — a C2SP tlog-proof (`.tlog-proof`) whose `extra` line carries the entry bytes:
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64 entry bytes>
//! index 2
//! <base64 proof hash>
//! …
//!
//! <signed checkpoint>
//! ```
//!
//! Every parser here accepts exactly what the matching encoder writes, so that any changed byte
//! of an entry, checkpoint or receipt is refused or fails verification.
//!
//! # Example: from entry to receipt
//!
//! ```
//! use retrace_ledger::{
//!     Checkpoint, Entry, Frontier, LogKey, MemoryTree, Opening, Receipt, derive_salt,
//!     inclusion_proof,
//! };
//!
//! let key = LogKey::from_seed("retrace.example/log", &[1; 32])?;
//! let salt_secret = [2; 32];
//!
//! // Sequence: the entry's leaf goes into the tree; the store persists the completed nodes.
//! let index = 0;
//! let mass = Opening {
//!     field: "mass_g".into(),
//!     salt: derive_salt(&salt_secret, index, "mass_g"),
//!     value: b"1250000".to_vec(),
//! };
//! let entry = Entry::build("extract", br#"{"mine":"150206"}"#.to_vec(), &[mass.clone()])?;
//! let mut frontier = Frontier::new();
//! let completed = frontier.push(entry.leaf_hash()); // (NodeId, Hash) pairs to persist
//! assert_eq!(completed.len(), 1);
//! let store = MemoryTree::from_leaves(&[entry.leaf_hash()]); // stands in for the store
//!
//! // Receipt: a signed checkpoint and the inclusion proof, verifiable offline.
//! let checkpoint = Checkpoint::new(key.origin(), frontier.size(), frontier.root())?.sign(&key);
//! let receipt = Receipt {
//!     entry: entry.encode(),
//!     index,
//!     proof: inclusion_proof(index, frontier.size(), &store)?,
//!     checkpoint,
//! };
//! let bytes = receipt.to_bytes();
//!
//! // Anyone with the public key checks it, and the holder of an opening checks a field.
//! let verified = Receipt::parse(&bytes)?.verify(&key.verifier())?;
//! Entry::decode(verified.entry())?.verify_openings(&[mass])?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod checkpoint;
pub mod cosignature;
pub mod entry;
pub mod hash;
pub mod proof;
pub mod receipt;
pub mod tree;
pub mod witness;

pub use checkpoint::{Checkpoint, CheckpointError, LogKey, LogVerifier, SignedCheckpoint};
pub use cosignature::{CosignatureError, CosignerKey, CosignerVerifier};
pub use entry::{Commitment, Entry, EntryError, Opening, derive_salt};
pub use hash::{EMPTY_ROOT, Hash, HashParseError, Suite, SuiteError, leaf_hash, node_hash};
pub use proof::{
    ProofError, VerifyError, consistency_proof, inclusion_proof, verify_consistency,
    verify_inclusion,
};
pub use receipt::{Receipt, ReceiptError, VerifiedReceipt};
pub use tree::{
    Frontier, MemoryTree, MissingNode, NodeId, NodeReader, root_at, root_of, subtree_root,
};
