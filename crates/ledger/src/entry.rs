//! The canonical, versioned encoding of a ledger entry — the bytes whose leaf hash goes into the
//! Merkle tree.
//!
//! DESIGN §3 asks two things of a leaf: it names its hash and signature suite, so a second suite
//! (GM/T SM3/SM2) can be added without a format change; and it commits to its confidential fields
//! (quantities, counterparties, documents) by salted hash, with the values stored beside it, so
//! that an inclusion proof can be shown to the public without revealing them. Format v1 is UTF-8
//! text, lines separated by `\n`, no trailing newline, no trailing spaces:
//!
//! ```text
//! retrace/entry/v1
//! suite sha256-ed25519
//! kind <kind: [a-z][a-z0-9_.-]*>
//! public <one line of JSON>
//! commit <field: [a-z][a-z0-9_]*> <64 lowercase hex>
//! …
//! ```
//!
//! Commit lines are sorted by field name, strictly (no duplicates). The commitment to a field is
//! `SHA-256("retrace/commit/v1" || 0x00 || field || 0x00 || salt || value)` with a 16-byte salt,
//! so that a short value (a mass, a USCC) cannot be found by trying all candidates. Salts come
//! from [`derive_salt`], so the operator can reproduce them from one secret instead of storing a
//! random salt per field.
//!
//! Decoding is strict: [`Entry::decode`] accepts exactly the bytes [`Entry::encode`] writes, so
//! an entry has one spelling and one leaf hash.

use std::fmt;

use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::hash::{Hash, Suite, SuiteError, leaf_hash};

/// First line of a version 1 entry.
const MAGIC: &str = "retrace/entry/v1";

/// Domain separation prefix of a field commitment.
const COMMIT_DOMAIN: &[u8] = b"retrace/commit/v1\0";

/// Domain separation prefix of a derived salt.
const SALT_DOMAIN: &[u8] = b"retrace/salt/v1\0";

/// Longest kind and field names accepted, in bytes.
const MAX_NAME_LEN: usize = 64;

/// Why an entry was refused, or an opening does not match.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EntryError {
    /// The bytes are not UTF-8.
    #[error("entry is not UTF-8")]
    NotUtf8,
    /// A line is missing, misplaced or not of the expected form; `line` is 1-based.
    #[error("entry line {line}: {reason}")]
    Malformed {
        /// The 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The suite line names a suite this build cannot use.
    #[error(transparent)]
    Suite(#[from] SuiteError),
    /// The kind is not a token `[a-z][a-z0-9_.-]*` of at most 64 bytes.
    #[error("invalid entry kind {0:?}")]
    InvalidKind(String),
    /// The public part is empty, spans several lines, contains a control character or has
    /// leading or trailing spaces.
    #[error(
        "the public part must be one non-empty line without control characters or surrounding spaces"
    )]
    InvalidPublic,
    /// A field name is not a token `[a-z][a-z0-9_]*` of at most 64 bytes.
    #[error("invalid field name {0:?}")]
    InvalidField(String),
    /// Two commitments or openings name the same field.
    #[error("field {0:?} appears twice")]
    DuplicateField(String),
    /// The commit lines are not in ascending order of field name.
    #[error("commit lines are not sorted: {0:?} comes after a later name")]
    UnsortedFields(String),
    /// An opening names a field the entry has no commitment for.
    #[error("the entry has no commitment for field {0:?}")]
    UnknownField(String),
    /// An opening does not match the entry's commitment for its field.
    #[error("the opening of field {0:?} does not match its commitment")]
    OpeningMismatch(String),
}

/// `[a-z]` then `extra`-or-`[a-z0-9]` characters, at most [`MAX_NAME_LEN`] bytes.
fn is_token(s: &str, extra: &[u8]) -> bool {
    let bytes = s.as_bytes();
    matches!(bytes.first(), Some(b'a'..=b'z'))
        && bytes.len() <= MAX_NAME_LEN
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || extra.contains(b))
}

fn check_kind(kind: &str) -> Result<(), EntryError> {
    if is_token(kind, b"_.-") {
        Ok(())
    } else {
        Err(EntryError::InvalidKind(kind.to_owned()))
    }
}

fn check_field(field: &str) -> Result<(), EntryError> {
    if is_token(field, b"_") {
        Ok(())
    } else {
        Err(EntryError::InvalidField(field.to_owned()))
    }
}

/// One line of printable UTF-8 without surrounding spaces.
fn check_public(public: &[u8]) -> Result<(), EntryError> {
    let text = std::str::from_utf8(public).map_err(|_| EntryError::InvalidPublic)?;
    let ok = !text.is_empty()
        && !text.chars().any(char::is_control)
        && !text.starts_with(' ')
        && !text.ends_with(' ');
    if ok {
        Ok(())
    } else {
        Err(EntryError::InvalidPublic)
    }
}

/// A salted-hash commitment to one confidential field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commitment {
    /// The field name, a token `[a-z][a-z0-9_]*`.
    pub field: String,
    /// `SHA-256("retrace/commit/v1" || 0x00 || field || 0x00 || salt || value)`.
    pub hash: Hash,
}

/// The value and salt of a confidential field, which open its [`Commitment`].
///
/// Openings are confidential: `Debug` shows the field name and the value's length only.
#[derive(Clone, PartialEq, Eq)]
pub struct Opening {
    /// The field name, a token `[a-z][a-z0-9_]*`.
    pub field: String,
    /// The 16-byte salt, usually from [`derive_salt`].
    pub salt: [u8; 16],
    /// The field's value, in whatever canonical byte form the domain gives it.
    pub value: Vec<u8>,
}

impl fmt::Debug for Opening {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opening")
            .field("field", &self.field)
            .field("value_len", &self.value.len())
            .finish_non_exhaustive()
    }
}

impl Opening {
    /// The commitment this opening opens.
    #[must_use]
    pub fn commit(&self) -> Commitment {
        let mut h = Sha256::new();
        h.update(COMMIT_DOMAIN);
        h.update(self.field.as_bytes());
        h.update([0]);
        h.update(self.salt);
        h.update(&self.value);
        Commitment {
            field: self.field.clone(),
            hash: Hash(h.finalize().into()),
        }
    }
}

/// The salt of field `field` of the entry at ledger index `index`:
/// `SHA-256("retrace/salt/v1" || 0x00 || secret || index as 8 bytes big-endian || field)`,
/// truncated to 16 bytes.
///
/// Whoever lacks `secret` cannot predict a salt, so commitments hide short values; the log
/// operator, who keeps `secret`, can reproduce every salt to open a field for a regulator without
/// storing one random salt per field. The secret is fixed-length, the index fixed-width and the
/// field last, so distinct inputs never collide.
#[must_use]
pub fn derive_salt(secret: &[u8; 32], index: u64, field: &str) -> [u8; 16] {
    let mut h = Sha256::new();
    h.update(SALT_DOMAIN);
    h.update(secret);
    h.update(index.to_be_bytes());
    h.update(field.as_bytes());
    let digest: [u8; 32] = h.finalize().into();
    let mut salt = [0u8; 16];
    salt.copy_from_slice(&digest[..16]);
    salt
}

/// A ledger entry in its canonical form: suite, kind, public part and commitments.
///
/// Built by [`Entry::build`] or [`Entry::decode`], which both enforce the format's rules, so
/// [`Entry::encode`] always writes bytes that [`Entry::decode`] accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    suite: Suite,
    kind: String,
    public: Vec<u8>,
    commitments: Vec<Commitment>,
}

impl Entry {
    /// Builds the entry of `kind` with the public part `public_json` (one line of JSON, written
    /// canonically by the caller) committing to `openings`, under the SHA-256/Ed25519 suite.
    /// Commitments are sorted by field name.
    ///
    /// # Errors
    ///
    /// [`EntryError::InvalidKind`], [`EntryError::InvalidPublic`], [`EntryError::InvalidField`]
    /// or [`EntryError::DuplicateField`] if an argument breaks the format's rules.
    pub fn build(
        kind: &str,
        public_json: Vec<u8>,
        openings: &[Opening],
    ) -> Result<Self, EntryError> {
        check_kind(kind)?;
        check_public(&public_json)?;
        let mut commitments = openings
            .iter()
            .map(|o| check_field(&o.field).map(|()| o.commit()))
            .collect::<Result<Vec<_>, _>>()?;
        commitments.sort_by(|a, b| a.field.cmp(&b.field));
        if let Some(pair) = commitments.windows(2).find(|w| w[0].field == w[1].field) {
            return Err(EntryError::DuplicateField(pair[0].field.clone()));
        }
        Ok(Self {
            suite: Suite::Sha256Ed25519,
            kind: kind.to_owned(),
            public: public_json,
            commitments,
        })
    }

    /// The hash and signature suite the entry is written under.
    #[must_use]
    pub const fn suite(&self) -> Suite {
        self.suite
    }

    /// The entry kind, e.g. `extract` or `allocation_issued`.
    #[must_use]
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The public part: one line of JSON.
    #[must_use]
    pub fn public(&self) -> &[u8] {
        &self.public
    }

    /// The commitments, sorted by field name.
    #[must_use]
    pub fn commitments(&self) -> &[Commitment] {
        &self.commitments
    }

    /// The canonical bytes of the entry (format v1).
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.public.len() + 90 * self.commitments.len());
        out.extend_from_slice(MAGIC.as_bytes());
        out.extend_from_slice(b"\nsuite ");
        out.extend_from_slice(self.suite.as_str().as_bytes());
        out.extend_from_slice(b"\nkind ");
        out.extend_from_slice(self.kind.as_bytes());
        out.extend_from_slice(b"\npublic ");
        out.extend_from_slice(&self.public);
        for c in &self.commitments {
            out.extend_from_slice(format!("\ncommit {} {}", c.field, c.hash).as_bytes());
        }
        out
    }

    /// The leaf hash of the entry's canonical bytes, its leaf in the Merkle tree.
    #[must_use]
    pub fn leaf_hash(&self) -> Hash {
        leaf_hash(&self.encode())
    }

    /// Decodes canonical bytes; `decode(b)?.encode() == b` for every accepted `b`.
    ///
    /// # Errors
    ///
    /// [`EntryError::NotUtf8`], [`EntryError::Malformed`] (naming the line) for a wrong layout,
    /// a trailing newline or a bad hash, [`EntryError::Suite`] for an unknown or unsupported
    /// suite, and the errors of [`Entry::build`] for bad names, unsorted or duplicate fields.
    pub fn decode(bytes: &[u8]) -> Result<Self, EntryError> {
        let text = std::str::from_utf8(bytes).map_err(|_| EntryError::NotUtf8)?;
        let mut lines = text.split('\n');
        if lines.next() != Some(MAGIC) {
            return Err(EntryError::Malformed {
                line: 1,
                reason: "expected retrace/entry/v1",
            });
        }
        let mut field_line = |line: usize, prefix: &str, what: &'static str| {
            lines
                .next()
                .and_then(|l| l.strip_prefix(prefix))
                .ok_or(EntryError::Malformed { line, reason: what })
        };
        let suite: Suite = field_line(2, "suite ", "expected a suite line")?.parse()?;
        let kind = field_line(3, "kind ", "expected a kind line")?;
        check_kind(kind)?;
        let public = field_line(4, "public ", "expected a public line")?;
        check_public(public.as_bytes())?;

        let mut commitments: Vec<Commitment> = Vec::new();
        for (number, line) in (5..).zip(lines) {
            let malformed = |reason| EntryError::Malformed {
                line: number,
                reason,
            };
            let rest = line
                .strip_prefix("commit ")
                .ok_or_else(|| malformed("expected a commit line (or no trailing newline)"))?;
            let (field, hash) = rest
                .split_once(' ')
                .ok_or_else(|| malformed("expected `commit <field> <hash>`"))?;
            check_field(field)?;
            let hash: Hash = hash
                .parse()
                .map_err(|_| malformed("a commitment is 64 lowercase hex digits"))?;
            if let Some(prev) = commitments.last() {
                if prev.field == field {
                    return Err(EntryError::DuplicateField(field.to_owned()));
                }
                if prev.field.as_str() > field {
                    return Err(EntryError::UnsortedFields(field.to_owned()));
                }
            }
            commitments.push(Commitment {
                field: field.to_owned(),
                hash,
            });
        }
        Ok(Self {
            suite,
            kind: kind.to_owned(),
            public: public.as_bytes().to_vec(),
            commitments,
        })
    }

    /// Checks that each opening matches the entry's commitment for its field. Openings may cover
    /// any subset of the fields: disclosing one field to a buyer does not require the others.
    ///
    /// # Errors
    ///
    /// [`EntryError::UnknownField`] or [`EntryError::OpeningMismatch`] naming the first field
    /// that fails.
    pub fn verify_openings(&self, openings: &[Opening]) -> Result<(), EntryError> {
        for opening in openings {
            let committed = self
                .commitments
                .binary_search_by(|c| c.field.as_str().cmp(&opening.field))
                .map(|i| &self.commitments[i])
                .map_err(|_| EntryError::UnknownField(opening.field.clone()))?;
            if opening.commit().hash != committed.hash {
                return Err(EntryError::OpeningMismatch(opening.field.clone()));
            }
        }
        Ok(())
    }
}
