//! Hashes of the ledger and the suite that names them.
//!
//! The Merkle tree of [RFC 9162 §2.1] hashes a leaf as `SHA-256(0x00 || d)` and an inner node as
//! `SHA-256(0x01 || left || right)`; the different first bytes keep a leaf from ever being
//! mistaken for a node (second-preimage resistance, RFC 9162 §2.1.1).
//!
//! DESIGN §3 asks the ledger to *name* its hash and signature suite so that the Chinese
//! national-cryptography suite (SM3 hashes, SM2 signatures, GM/T 0004 and GM/T 0003) can sit
//! beside SHA-256/Ed25519 without a format change. [`Suite`] is that name; it appears in every
//! entry (see [`crate::entry`]).
//!
//! [RFC 9162 §2.1]: https://www.rfc-editor.org/rfc/rfc9162.html#section-2.1

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};
use thiserror::Error;

/// A 32-byte SHA-256 output: a leaf hash, an inner node hash or a tree root.
///
/// `Display`, `FromStr` and `Debug` use lowercase hex, the form that log lines, database columns
/// and the entry format share. Checkpoints and receipts use base64, as their C2SP specifications
/// require; that encoding lives in those modules.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// The 32 bytes of the hash.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({self})")
    }
}

/// The text given to [`Hash::from_str`] is not 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("a hash is 64 lowercase hex digits")]
pub struct HashParseError;

impl FromStr for Hash {
    type Err = HashParseError;

    /// Parses exactly 64 lowercase hex digits.
    ///
    /// Uppercase digits are refused so that every hash has one spelling: the entry format
    /// compares and signs text, and two spellings of one hash would make two entries.
    ///
    /// # Errors
    ///
    /// [`HashParseError`] for any other length or character.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 64 || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(HashParseError);
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| HashParseError)?;
        Ok(Self(out))
    }
}

/// The Merkle Tree Hash of the empty tree, `SHA-256()` of the empty string
/// ([RFC 9162 §2.1.1](https://www.rfc-editor.org/rfc/rfc9162.html#section-2.1.1)).
pub const EMPTY_ROOT: Hash = Hash([
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
]);

/// The hash of a leaf, `SHA-256(0x00 || data)`
/// ([RFC 9162 §2.1.1](https://www.rfc-editor.org/rfc/rfc9162.html#section-2.1.1)).
#[must_use]
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(data);
    Hash(h.finalize().into())
}

/// The hash of an inner node, `SHA-256(0x01 || left || right)`
/// ([RFC 9162 §2.1.1](https://www.rfc-editor.org/rfc/rfc9162.html#section-2.1.1)).
#[must_use]
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left.0);
    h.update(right.0);
    Hash(h.finalize().into())
}

/// The hash and signature suite a ledger entry is written under (DESIGN §3, §4).
///
/// Only SHA-256 with Ed25519 is implemented. The GM/T suite — SM3 hashes (GM/T 0004) and SM2
/// signatures (GM/T 0003), named `sm3-sm2` — is the next variant to come here; until it is
/// implemented its name parses to [`SuiteError::UnsupportedSuite`], so that an entry written
/// under it is refused with a message that says why rather than "unknown".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Suite {
    /// SHA-256 hashes (FIPS 180-4, RFC 9162 tree) and Ed25519 signatures (RFC 8032).
    Sha256Ed25519,
}

impl Suite {
    /// The suite's name as written in entries: `sha256-ed25519`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Sha256Ed25519 => "sha256-ed25519",
        }
    }
}

impl fmt::Display for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name of the GM/T national-cryptography suite, recognised but not implemented.
const GMT_SUITE: &str = "sm3-sm2";

/// A suite name that this build cannot use.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SuiteError {
    /// The suite is known to the format but not implemented by this build.
    #[error("suite {name:?} is not implemented by this build (only sha256-ed25519 is)")]
    UnsupportedSuite {
        /// The suite name as written.
        name: String,
    },
    /// The name is not a suite at all.
    #[error("unknown suite {name:?}")]
    UnknownSuite {
        /// The name as written.
        name: String,
    },
}

impl FromStr for Suite {
    type Err = SuiteError;

    /// Parses a suite name exactly as [`Suite::as_str`] writes it.
    ///
    /// # Errors
    ///
    /// [`SuiteError::UnsupportedSuite`] for `sm3-sm2`, [`SuiteError::UnknownSuite`] for anything
    /// else that is not `sha256-ed25519`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sha256-ed25519" => Ok(Self::Sha256Ed25519),
            GMT_SUITE => Err(SuiteError::UnsupportedSuite { name: s.to_owned() }),
            _ => Err(SuiteError::UnknownSuite { name: s.to_owned() }),
        }
    }
}
