//! Receipts: offline-verifiable proofs that an entry is in the ledger, in the
//! [C2SP tlog-proof] format.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64 of the entry bytes>
//! index <leaf index>
//! <base64 inclusion proof hash, leaf side first>
//! …
//!
//! <signed checkpoint, verbatim>
//! ```
//!
//! tlog-proof leaves the `extra` line to the application and warns that it is not
//! authenticated. A retrace receipt puts the entry's canonical bytes (see [`crate::entry`])
//! there, and [`Receipt::verify`] authenticates them: it hashes them into the leaf hash and
//! checks the inclusion proof against the signed root, so the receipt needs nothing but the
//! log's public key to verify — the enterprise that submitted the entry, an auditor or a court
//! can check it years later without asking the system. The entry carries only salted hashes of
//! its confidential fields, so a receipt can be shown without revealing them.
//!
//! Receipts have one spelling: [`Receipt::parse`] accepts exactly what [`Receipt::to_bytes`]
//! writes, so any changed byte fails either parsing or verification.
//!
//! [C2SP tlog-proof]: https://c2sp.org/tlog-proof

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use thiserror::Error;

use crate::checkpoint::{Checkpoint, CheckpointError, LogVerifier, SignedCheckpoint};
use crate::hash::{Hash, leaf_hash};
use crate::proof::{VerifyError, verify_inclusion};

/// The first line of a tlog-proof.
const HEADER: &str = "c2sp.org/tlog-proof@v1";

/// No inclusion proof in a tree of at most `2^64` leaves is longer.
const MAX_PROOF_LEN: usize = 64;

/// Why a receipt was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReceiptError {
    /// The bytes are not a receipt in the form [`Receipt::to_bytes`] writes; the message says
    /// which part is wrong.
    #[error("malformed receipt: {0}")]
    Malformed(&'static str),
    /// The embedded signed checkpoint is malformed or does not verify.
    #[error("receipt checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// The inclusion proof does not bind the entry to the signed root.
    #[error("receipt inclusion proof: {0}")]
    Inclusion(#[from] VerifyError),
}

/// A receipt for one ledger entry: the entry bytes, its leaf index, the inclusion proof and the
/// signed checkpoint the proof leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The entry's canonical bytes, whose leaf hash is the leaf at `index`.
    pub entry: Vec<u8>,
    /// The leaf index of the entry.
    pub index: u64,
    /// The inclusion proof of RFC 9162 §2.1.3, leaf side first.
    pub proof: Vec<Hash>,
    /// The checkpoint the proof leads to.
    pub checkpoint: SignedCheckpoint,
}

/// What a verified receipt proves: this entry is leaf `index` of the log whose checkpoint is
/// `checkpoint`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedReceipt {
    entry: Vec<u8>,
    index: u64,
    leaf: Hash,
    checkpoint: Checkpoint,
}

impl VerifiedReceipt {
    /// The entry's canonical bytes; decode them with [`crate::entry::Entry::decode`].
    #[must_use]
    pub fn entry(&self) -> &[u8] {
        &self.entry
    }

    /// The entry's leaf index.
    #[must_use]
    pub const fn index(&self) -> u64 {
        self.index
    }

    /// The entry's leaf hash.
    #[must_use]
    pub const fn leaf_hash(&self) -> Hash {
        self.leaf
    }

    /// The verified checkpoint that includes the entry.
    #[must_use]
    pub const fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }
}

/// Splits off the next line (without its newline).
fn next_line<'a>(rest: &mut &'a [u8]) -> Result<&'a [u8], ReceiptError> {
    let end = rest
        .iter()
        .position(|&b| b == b'\n')
        .ok_or(ReceiptError::Malformed("truncated"))?;
    let line = &rest[..end];
    *rest = &rest[end + 1..];
    Ok(line)
}

/// Decodes canonical standard base64 (RFC 4648 §4, padded, zero trailing bits).
fn decode_base64(text: &[u8], what: &'static str) -> Result<Vec<u8>, ReceiptError> {
    BASE64
        .decode(text)
        .map_err(|_| ReceiptError::Malformed(what))
}

/// Parses a decimal with no sign and no leading zero (tlog-proof "index").
fn parse_index(text: &[u8]) -> Result<u64, ReceiptError> {
    let err = ReceiptError::Malformed("index is not a canonical decimal");
    let canonical = !text.is_empty()
        && text.iter().all(u8::is_ascii_digit)
        && (text == b"0" || text[0] != b'0');
    if !canonical {
        return Err(err);
    }
    std::str::from_utf8(text)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(err)
}

impl Receipt {
    /// Encodes the receipt in the tlog-proof format, with the entry on the `extra` line.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!(
            "{HEADER}\nextra {}\nindex {}\n",
            BASE64.encode(&self.entry),
            self.index
        );
        for hash in &self.proof {
            out.push_str(&BASE64.encode(hash.0));
            out.push('\n');
        }
        out.push('\n');
        let mut out = out.into_bytes();
        out.extend_from_slice(self.checkpoint.as_bytes());
        out
    }

    /// Parses a receipt without verifying it.
    ///
    /// The `extra` line, optional in tlog-proof, is required here: it carries the entry.
    ///
    /// # Errors
    ///
    /// [`ReceiptError::Malformed`] if the bytes are not exactly what [`Receipt::to_bytes`] would
    /// write, [`ReceiptError::Checkpoint`] if the embedded note is malformed.
    pub fn parse(bytes: &[u8]) -> Result<Self, ReceiptError> {
        let mut rest = bytes;
        if next_line(&mut rest)? != HEADER.as_bytes() {
            return Err(ReceiptError::Malformed(
                "first line is not c2sp.org/tlog-proof@v1",
            ));
        }
        let extra = next_line(&mut rest)?
            .strip_prefix(b"extra ")
            .ok_or(ReceiptError::Malformed("missing extra line with the entry"))?;
        let entry = decode_base64(extra, "extra is not canonical base64")?;
        let index = next_line(&mut rest)?
            .strip_prefix(b"index ")
            .ok_or(ReceiptError::Malformed("missing index line"))?;
        let index = parse_index(index)?;
        let mut proof = Vec::new();
        loop {
            let line = next_line(&mut rest)?;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LEN {
                return Err(ReceiptError::Malformed("inclusion proof too long"));
            }
            let hash = decode_base64(line, "proof line is not canonical base64")?;
            let hash: [u8; 32] = hash
                .try_into()
                .map_err(|_| ReceiptError::Malformed("proof line is not a 32-byte hash"))?;
            proof.push(Hash(hash));
        }
        let checkpoint = SignedCheckpoint::parse(rest)?;
        Ok(Self {
            entry,
            index,
            proof,
            checkpoint,
        })
    }

    /// Verifies the receipt offline, following tlog-proof "Verifying a tlog proof": checks the
    /// checkpoint's signature with the log's key (`verify_strict`), computes the leaf hash of the
    /// entry bytes (RFC 9162 §2.1.1) and checks the inclusion proof against the checkpoint's
    /// root (RFC 9162 §2.1.3.2).
    ///
    /// # Errors
    ///
    /// [`ReceiptError::Checkpoint`] if the signature does not verify, [`ReceiptError::Inclusion`]
    /// if the proof does not bind the entry to the root.
    pub fn verify(&self, verifier: &LogVerifier) -> Result<VerifiedReceipt, ReceiptError> {
        let checkpoint = self.checkpoint.verify(verifier)?;
        let leaf = leaf_hash(&self.entry);
        verify_inclusion(
            &leaf,
            self.index,
            checkpoint.size(),
            &self.proof,
            &checkpoint.root(),
        )?;
        Ok(VerifiedReceipt {
            entry: self.entry.clone(),
            index: self.index,
            leaf,
            checkpoint,
        })
    }
}
