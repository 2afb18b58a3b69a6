//! Signed checkpoints: a [C2SP tlog-checkpoint] body inside a [C2SP signed-note], signed with
//! Ed25519.
//!
//! A checkpoint commits the log to its size and root. The note looks like this:
//!
//! ```text
//! retrace.example/log
//! 5
//! fKo0Xb2JKmZFTWxlEuo8PqPw0+whvj/C4jdXBf049nI=
//!
//! — retrace.example/log eIpAC085wCDpGUir03rdkvCgP4HiW4e0ATsYhEAz76WrIdT4E+inQ0dQ8atVJ8gfYALRqimddwI9c/8NBKlQcDzBHAs=
//! ```
//!
//! The signature line carries the 4-byte key id followed by the 64-byte Ed25519 signature of the
//! three text lines. Anyone holding the log's verifier key checks it offline:
//!
//! ```
//! use retrace_ledger::{LogVerifier, SignedCheckpoint};
//!
//! let vkey = "retrace.example/log+788a400b+AepKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs";
//! let note = "retrace.example/log\n5\nfKo0Xb2JKmZFTWxlEuo8PqPw0+whvj/C4jdXBf049nI=\n\n\
//!     \u{2014} retrace.example/log eIpAC085wCDpGUir03rdkvCgP4HiW4e0ATsYhEAz76WrIdT4E+inQ0dQ8atVJ8gfYALRqimddwI9c/8NBKlQcDzBHAs=\n";
//! let verifier: LogVerifier = vkey.parse()?;
//! let checkpoint = SignedCheckpoint::parse_and_verify(note.as_bytes(), &verifier)?;
//! assert_eq!(checkpoint.size(), 5);
//! assert_eq!(checkpoint.origin(), "retrace.example/log");
//! # Ok::<(), retrace_ledger::CheckpointError>(())
//! ```
//!
//! The origin line is the log's name, schema-less (`retrace.example/log`), and equals the
//! signing key's name, as tlog-checkpoint recommends. Parsing uses the `signed_note` and
//! `tlog_tiles` crates of cloudflare/azul, and signing writes byte for byte what their signer
//! writes (a test checks it). Verification does not use their `StandardVerifier`, which calls
//! ed25519-dalek's `verify`, but [`LogVerifier`], which calls `verify_strict` and so also refuses
//! small-order keys and small-order `R` values, which `verify` lets through.
//!
//! What the ledger accepts is deliberately narrower than the formats allow, so that a checkpoint
//! has exactly one byte representation: no extension lines, and exactly one signature, the log's.
//! Witness cosignatures (C2SP tlog-cosignature) will be admitted together with the witness policy
//! that gives them meaning.
//!
//! [C2SP tlog-checkpoint]: https://c2sp.org/tlog-checkpoint
//! [C2SP signed-note]: https://c2sp.org/signed-note

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use rand_core::CryptoRngCore;
use signed_note::{Note, VerificationError, Verifier, Verifiers};
use thiserror::Error;

use crate::hash::Hash;

/// The signed-note signature type byte of Ed25519 (C2SP signed-note, "Signatures").
const ALG_ED25519: u8 = 0x01;

/// Longest origin accepted, in bytes. Nothing in the specifications sets one; this keeps a
/// hostile note small.
const MAX_ORIGIN_LEN: usize = 255;

/// Why a key, checkpoint or note was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CheckpointError {
    /// The origin (= key name) is empty, too long, or contains a space, a `+` or a control
    /// character.
    #[error(
        "invalid log origin {0:?}: it must be 1 to 255 bytes with no spaces, '+' or control characters"
    )]
    InvalidOrigin(String),
    /// The `PRIVATE+KEY+…` signer key text is malformed or its key id does not match.
    #[error("malformed signer key")]
    MalformedSecretKey,
    /// The `name+id+key` verifier key text is malformed or its key id does not match.
    #[error("malformed verifier key")]
    MalformedVerifierKey,
    /// The verifier key is a small-order point, for which signatures can be forged.
    #[error("weak (small-order) verifier key")]
    WeakKey,
    /// The bytes are not a well-formed signed note carrying exactly one signature.
    #[error("malformed signed note")]
    MalformedNote,
    /// The note text is not a checkpoint this ledger writes.
    #[error("malformed checkpoint body")]
    MalformedBody,
    /// The note is signed by another key than the verifier's.
    #[error("the checkpoint is signed by {name}+{id:08x}, not by the expected log key")]
    UnknownKey {
        /// The key name on the signature line.
        name: String,
        /// The key id in the signature.
        id: u32,
    },
    /// The checkpoint's origin is not the name of the verifier key.
    #[error("checkpoint origin {origin:?} is not the log's name {expected:?}")]
    OriginMismatch {
        /// The origin line of the checkpoint.
        origin: String,
        /// The name of the verifier key.
        expected: String,
    },
    /// The signature does not verify (strictly) under the log's key.
    #[error("invalid checkpoint signature")]
    BadSignature,
}

/// Checks an origin / key name: non-empty, bounded, no white space, no `+`, no control character
/// (C2SP signed-note "Format" for key names; tlog-checkpoint for the origin line).
fn check_origin(origin: &str) -> Result<(), CheckpointError> {
    let ok = !origin.is_empty()
        && origin.len() <= MAX_ORIGIN_LEN
        && signed_note::is_key_name_valid(origin)
        && !origin.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(CheckpointError::InvalidOrigin(origin.to_owned()))
    }
}

/// The signed-note key id: `SHA-256(name || 0x0A || 0x01 || public key)[:4]`
/// (C2SP signed-note, "Signatures").
fn key_id(name: &str, key: &VerifyingKey) -> u32 {
    signed_note::key_id(name, &encoded_public_key(key))
}

/// The signature type byte followed by the 32-byte public key.
fn encoded_public_key(key: &VerifyingKey) -> [u8; 33] {
    let mut out = [0u8; 33];
    out[0] = ALG_ED25519;
    out[1..].copy_from_slice(key.as_bytes());
    out
}

/// Splits `s` into exactly `N` parts on `+`; the last part keeps any further `+` (base64 uses it).
fn split_plus<const N: usize>(s: &str) -> Option<[&str; N]> {
    let mut parts = s.splitn(N, '+');
    let mut out = [""; N];
    for slot in &mut out {
        *slot = parts.next()?;
    }
    Some(out)
}

/// Parses an 8-digit lowercase hex key id.
fn parse_key_id(s: &str) -> Option<u32> {
    if s.len() != 8 || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    u32::from_str_radix(s, 16).ok()
}

/// The log's Ed25519 signing key and its name (the origin of its checkpoints).
///
/// `Debug` shows the name and key id, never the secret.
#[derive(Clone)]
pub struct LogKey {
    origin: String,
    id: u32,
    signing: SigningKey,
}

impl fmt::Debug for LogKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogKey")
            .field("origin", &self.origin)
            .field("key_id", &format_args!("{:08x}", self.id))
            .finish_non_exhaustive()
    }
}

impl LogKey {
    fn with_signing_key(origin: &str, signing: SigningKey) -> Result<Self, CheckpointError> {
        check_origin(origin)?;
        Ok(Self {
            origin: origin.to_owned(),
            id: key_id(origin, &signing.verifying_key()),
            signing,
        })
    }

    /// A fresh key for the log named `origin` (e.g. `retrace.example/log`).
    ///
    /// # Errors
    ///
    /// [`CheckpointError::InvalidOrigin`] if `origin` cannot be a key name.
    pub fn generate<R: CryptoRngCore + ?Sized>(
        origin: &str,
        rng: &mut R,
    ) -> Result<Self, CheckpointError> {
        Self::with_signing_key(origin, SigningKey::generate(rng))
    }

    /// The key whose Ed25519 secret (RFC 8032 seed) is `seed`, for reproducible demo and test
    /// logs.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::InvalidOrigin`] if `origin` cannot be a key name.
    pub fn from_seed(origin: &str, seed: &[u8; 32]) -> Result<Self, CheckpointError> {
        Self::with_signing_key(origin, SigningKey::from_bytes(seed))
    }

    /// The signer key in the `PRIVATE+KEY+<name>+<id>+<base64(0x01 || seed)>` text form of the
    /// Go `note` package and `signed_note`, which is how the key is stored. Keep it secret.
    #[must_use]
    pub fn to_secret_string(&self) -> String {
        let mut key = [0u8; 33];
        key[0] = ALG_ED25519;
        key[1..].copy_from_slice(self.signing.as_bytes());
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.origin,
            self.id,
            BASE64.encode(key)
        )
    }

    /// Parses the text written by [`LogKey::to_secret_string`].
    ///
    /// # Errors
    ///
    /// [`CheckpointError::MalformedSecretKey`] if the text is not in that form or its key id
    /// does not match the key; [`CheckpointError::InvalidOrigin`] for a bad name.
    pub fn from_secret_string(s: &str) -> Result<Self, CheckpointError> {
        let [private, key, name, id, data] =
            split_plus::<5>(s).ok_or(CheckpointError::MalformedSecretKey)?;
        if private != "PRIVATE" || key != "KEY" {
            return Err(CheckpointError::MalformedSecretKey);
        }
        let id = parse_key_id(id).ok_or(CheckpointError::MalformedSecretKey)?;
        let data = BASE64
            .decode(data)
            .map_err(|_| CheckpointError::MalformedSecretKey)?;
        let Some((&ALG_ED25519, seed)) = data.split_first() else {
            return Err(CheckpointError::MalformedSecretKey);
        };
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| CheckpointError::MalformedSecretKey)?;
        let parsed = Self::with_signing_key(name, SigningKey::from_bytes(&seed))?;
        if parsed.id != id {
            return Err(CheckpointError::MalformedSecretKey);
        }
        Ok(parsed)
    }

    /// Signs `text` (which ends in a newline) into a C2SP signed-note with
    /// this key alone: the text, a blank line, and `— <name> base64(key id ||
    /// signature)`.
    #[must_use]
    pub fn sign_note(&self, text: &str) -> String {
        let signature = self.signing.sign(text.as_bytes()).to_bytes();
        let mut sig_data = Vec::with_capacity(68);
        sig_data.extend_from_slice(&self.id.to_be_bytes());
        sig_data.extend_from_slice(&signature);
        format!(
            "{text}\n\u{2014} {} {}\n",
            self.origin,
            BASE64.encode(&sig_data)
        )
    }

    /// The log's name, the origin line of its checkpoints.
    #[must_use]
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The public verifier key in the `<name>+<id>+<base64(0x01 || public key)>` text form of
    /// C2SP signed-note, as published for auditors and clients.
    #[must_use]
    pub fn verifier_key(&self) -> String {
        self.verifier().to_string()
    }

    /// The verifier of this key's signatures.
    #[must_use]
    pub fn verifier(&self) -> LogVerifier {
        LogVerifier {
            name: self.origin.clone(),
            id: self.id,
            key: self.signing.verifying_key(),
        }
    }
}

/// A log's public key: verifies its checkpoints with Ed25519 `verify_strict`.
///
/// `Display` and `FromStr` use the `<name>+<id>+<base64(0x01 || public key)>` vkey text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogVerifier {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl LogVerifier {
    /// Parses a verifier key in the signed-note `<name>+<id>+<base64>` form.
    ///
    /// Only the canonical spelling is accepted (lowercase id, canonical base64), and small-order
    /// public keys are refused.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::MalformedVerifierKey`] if the text is malformed, not an Ed25519 key or
    /// its id does not match; [`CheckpointError::InvalidOrigin`] for a bad name;
    /// [`CheckpointError::WeakKey`] for a small-order key.
    pub fn from_vkey(vkey: &str) -> Result<Self, CheckpointError> {
        let [name, id, data] =
            split_plus::<3>(vkey).ok_or(CheckpointError::MalformedVerifierKey)?;
        check_origin(name)?;
        let id = parse_key_id(id).ok_or(CheckpointError::MalformedVerifierKey)?;
        let data = BASE64
            .decode(data)
            .map_err(|_| CheckpointError::MalformedVerifierKey)?;
        let Some((&ALG_ED25519, key)) = data.split_first() else {
            return Err(CheckpointError::MalformedVerifierKey);
        };
        let key: [u8; 32] = key
            .try_into()
            .map_err(|_| CheckpointError::MalformedVerifierKey)?;
        let key =
            VerifyingKey::from_bytes(&key).map_err(|_| CheckpointError::MalformedVerifierKey)?;
        if key.is_weak() {
            return Err(CheckpointError::WeakKey);
        }
        if key_id(name, &key) != id {
            return Err(CheckpointError::MalformedVerifierKey);
        }
        Ok(Self {
            name: name.to_owned(),
            id,
            key,
        })
    }

    /// The key name, which is the log's origin.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The signed-note key id.
    #[must_use]
    pub const fn key_id(&self) -> u32 {
        self.id
    }
}

impl fmt::Display for LogVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}+{:08x}+{}",
            self.name,
            self.id,
            BASE64.encode(encoded_public_key(&self.key))
        )
    }
}

impl FromStr for LogVerifier {
    type Err = CheckpointError;

    /// Same as [`LogVerifier::from_vkey`].
    ///
    /// # Errors
    ///
    /// As [`LogVerifier::from_vkey`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_vkey(s)
    }
}

impl Verifier for LogVerifier {
    fn name(&self) -> &str {
        &self.name
    }

    fn key_id(&self) -> u32 {
        self.id
    }

    /// Ed25519 `verify_strict`: refuses non-canonical `S`, small-order `R` and small-order keys.
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        let Ok(sig) = Signature::from_slice(sig) else {
            return false;
        };
        self.key.verify_strict(msg, &sig).is_ok()
    }
}

impl Verifiers for LogVerifier {
    fn verifier(&self, name: &str, id: u32) -> Result<&dyn Verifier, VerificationError> {
        if name == self.name && id == self.id {
            Ok(self)
        } else {
            Err(VerificationError::UnknownKey {
                name: name.to_owned(),
                id,
            })
        }
    }
}

/// A tree head: the log's origin, its size and its root
/// ([C2SP tlog-checkpoint](https://c2sp.org/tlog-checkpoint)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root: Hash,
}

impl Checkpoint {
    /// The checkpoint of the log `origin` at `size` leaves with root `root`.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::InvalidOrigin`] if `origin` cannot be an origin line and key name.
    pub fn new(origin: &str, size: u64, root: Hash) -> Result<Self, CheckpointError> {
        check_origin(origin)?;
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
        })
    }

    /// The log's name.
    #[must_use]
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The number of leaves.
    #[must_use]
    pub const fn size(&self) -> u64 {
        self.size
    }

    /// The Merkle Tree Hash of the first `size` leaves.
    #[must_use]
    pub const fn root(&self) -> Hash {
        self.root
    }

    /// The note text: origin, decimal size and base64 root, each ending in a newline
    /// (tlog-checkpoint "Note text"), with no extension lines.
    fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            BASE64.encode(self.root.0)
        )
    }

    /// Signs the checkpoint with the log's key into a signed note ([`LogKey::sign_note`]).
    ///
    /// The note is laid out by hand rather than through `signed_note::Note`, whose constructors
    /// are fallible: every part is already valid (the origin and key name were checked when they
    /// were made), so signing cannot fail.
    ///
    /// Ed25519 is deterministic, so the same checkpoint and key always give the same bytes. The
    /// key name is `key.origin()`; a checkpoint whose origin differs from it is still signed, but
    /// [`SignedCheckpoint::verify`] refuses it.
    #[must_use]
    pub fn sign(&self, key: &LogKey) -> SignedCheckpoint {
        SignedCheckpoint {
            bytes: key.sign_note(&self.body()).into_bytes(),
            checkpoint: self.clone(),
            key_name: key.origin.clone(),
            key_id: key.id,
        }
    }
}

/// A checkpoint as a signed note: the exact bytes, and what they claim.
///
/// A value obtained from [`Checkpoint::sign`] is trusted; one obtained from
/// [`SignedCheckpoint::parse`] is only well-formed until [`SignedCheckpoint::verify`] succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    bytes: Vec<u8>,
    checkpoint: Checkpoint,
    key_name: String,
    key_id: u32,
}

impl SignedCheckpoint {
    /// Parses a signed checkpoint without verifying its signature.
    ///
    /// The note must be exactly what [`Checkpoint::sign`] writes: a C2SP signed-note whose text
    /// is a tlog-checkpoint without extension lines, followed by exactly one signature line
    /// with a 64-byte signature. Anything else is refused, so that a checkpoint has one spelling.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::MalformedNote`] or [`CheckpointError::MalformedBody`].
    pub fn parse(bytes: &[u8]) -> Result<Self, CheckpointError> {
        let note = Note::from_bytes(bytes).map_err(|_| CheckpointError::MalformedNote)?;
        let text = note.text();
        // `text` ends in a newline; the blank line follows it, then the signature block.
        let sigs = bytes
            .get(text.len() + 1..)
            .ok_or(CheckpointError::MalformedNote)?;
        let line = sigs
            .strip_suffix(b"\n")
            .filter(|line| !line.contains(&b'\n'))
            .ok_or(CheckpointError::MalformedNote)?;
        let sig =
            signed_note::Signature::from_bytes(line).map_err(|_| CheckpointError::MalformedNote)?;
        if sig.signature().len() != ed25519_dalek::SIGNATURE_LENGTH {
            return Err(CheckpointError::MalformedNote);
        }

        let body =
            tlog_tiles::Checkpoint::from_bytes(text).map_err(|_| CheckpointError::MalformedBody)?;
        if !body.extension().is_empty() {
            return Err(CheckpointError::MalformedBody);
        }
        let checkpoint = Checkpoint::new(body.origin(), body.size(), Hash(body.hash().0))
            .map_err(|_| CheckpointError::MalformedBody)?;
        if checkpoint.body().as_bytes() != text {
            return Err(CheckpointError::MalformedBody);
        }

        Ok(Self {
            bytes: bytes.to_vec(),
            checkpoint,
            key_name: sig.name().to_owned(),
            key_id: sig.id(),
        })
    }

    /// Verifies the signature with `verifier` and returns the checkpoint.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::UnknownKey`] if another key signed it,
    /// [`CheckpointError::OriginMismatch`] if the origin is not the key's name,
    /// [`CheckpointError::BadSignature`] if the signature does not verify with `verify_strict`.
    pub fn verify(&self, verifier: &LogVerifier) -> Result<Checkpoint, CheckpointError> {
        if self.key_name != verifier.name || self.key_id != verifier.id {
            return Err(CheckpointError::UnknownKey {
                name: self.key_name.clone(),
                id: self.key_id,
            });
        }
        if self.checkpoint.origin != verifier.name {
            return Err(CheckpointError::OriginMismatch {
                origin: self.checkpoint.origin.clone(),
                expected: verifier.name.clone(),
            });
        }
        let note = Note::from_bytes(&self.bytes).map_err(|_| CheckpointError::MalformedNote)?;
        match note.verify(verifier) {
            Ok((verified, unverified)) if verified.len() == 1 && unverified.is_empty() => {
                Ok(self.checkpoint.clone())
            }
            _ => Err(CheckpointError::BadSignature),
        }
    }

    /// Parses and verifies a signed checkpoint: [`SignedCheckpoint::parse`] then
    /// [`SignedCheckpoint::verify`].
    ///
    /// # Errors
    ///
    /// Those of both steps.
    pub fn parse_and_verify(
        bytes: &[u8],
        verifier: &LogVerifier,
    ) -> Result<Checkpoint, CheckpointError> {
        Self::parse(bytes)?.verify(verifier)
    }

    /// The exact bytes of the note.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        self.bytes.clone()
    }

    /// The exact bytes of the note, borrowed.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The checkpoint the note claims; verified only if this value came from
    /// [`Checkpoint::sign`] or after [`SignedCheckpoint::verify`] succeeded.
    #[must_use]
    pub const fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }
}
