//! What every write carries besides its records: who makes it, for the audit
//! trail, and the client's idempotency key, so that a retried request never
//! records twice (issue 3 §4, §5).

use retrace_ledger::checkpoint::SignedCheckpoint;
use retrace_ledger::proof::inclusion_proof;
use retrace_ledger::receipt::Receipt;
use retrace_ledger::tree::NodeReader;
use sha2::{Digest, Sha256};

use crate::error::StoreError;
use crate::model::Appended;
use crate::trail::{Actor, AppendOutcome};

/// The context of one write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteContext {
    pub actor: Actor,
    /// What was asked, as the trail shows it: `POST /api/v1/events`,
    /// `retrace record flows.csv`.
    pub request: String,
    pub idempotency: Option<Idempotency>,
}

impl WriteContext {
    /// A write by the installation itself, with no idempotency key.
    pub fn installation(request: impl Into<String>) -> WriteContext {
        WriteContext {
            actor: Actor::installation(),
            request: request.into(),
            idempotency: None,
        }
    }
}

/// An idempotency key and the digest of the request it came with. The same
/// key from the same caller with the same body answers with what the first
/// request recorded; with another body it is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Idempotency {
    key: String,
    body: [u8; 32],
}

/// Why an idempotency key is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "an idempotency key has 1 to 255 characters from the visible ASCII range (a UUID is a good one)"
)]
pub struct IdempotencyKeyError;

impl Idempotency {
    /// The key a client sent with the body it sent.
    ///
    /// # Errors
    /// [`IdempotencyKeyError`] unless the key is 1–255 visible ASCII
    /// characters.
    pub fn new(key: &str, body: &[u8]) -> Result<Idempotency, IdempotencyKeyError> {
        let ok = (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic());
        if !ok {
            return Err(IdempotencyKeyError);
        }
        Ok(Idempotency {
            key: key.to_owned(),
            body: Sha256::digest(body).into(),
        })
    }

    /// The key with the digest of its body, as a store keeps them (a
    /// request queued for another node's sequencer carries them so).
    ///
    /// # Errors
    /// [`IdempotencyKeyError`] unless the key is 1–255 visible ASCII
    /// characters.
    pub fn with_digest(key: &str, body: [u8; 32]) -> Result<Idempotency, IdempotencyKeyError> {
        let mut checked = Idempotency::new(key, &[])?;
        checked.body = body;
        Ok(checked)
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    /// SHA-256 of the request body.
    pub fn body_digest(&self) -> &[u8; 32] {
        &self.body
    }
}

/// What an append left, in the writer of either store: its entries, or a
/// replay of an earlier request's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// The entries recorded, `(index, entry bytes)` (empty for a bulk load,
    /// which answers without receipts).
    Fresh(Vec<(u64, Vec<u8>)>),
    /// The entries `first..first + count`, answered against the checkpoint
    /// of `size` that the first request got — or, when the first request is
    /// in the same group (`None`), against the group's.
    Replay {
        first: u64,
        count: u64,
        size: Option<u64>,
    },
}

impl Recorded {
    /// What the append's trail entry says of it.
    pub fn outcome(&self) -> AppendOutcome<'static> {
        match self {
            Recorded::Fresh(entries) => AppendOutcome::Recorded(
                entries.first().zip(entries.last()).map(|(f, l)| (f.0, l.0)),
            ),
            Recorded::Replay { first, count, .. } => AppendOutcome::Replayed {
                first: *first,
                count: *count,
            },
        }
    }
}

/// The trail's account of an append's result, refused or not.
pub fn trail_outcome(recorded: &Result<Recorded, StoreError>) -> AppendOutcome<'_> {
    match recorded {
        Ok(r) => r.outcome(),
        Err(e) => AppendOutcome::Failed(e),
    }
}

/// An idempotency key as a store keeps it: body digest, first entry, count
/// and the size of the checkpoint the first request was answered against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub body: [u8; 32],
    pub first: u64,
    pub count: u64,
    pub size: u64,
}

/// The idempotency keys a group commit has recorded so far, to be stored
/// once the group's checkpoint size is known.
#[derive(Debug, Default)]
pub struct GroupKeys {
    keys: Vec<(String, String, [u8; 32], u64, u64)>,
}

impl GroupKeys {
    /// What an append with `context` comes to before it is run: a replay of
    /// an earlier request with its key — in this group, or `stored` before
    /// (looked up only when the group has none) — a refusal of the key with
    /// another body, or `None` to record it.
    ///
    /// # Errors
    /// Whatever `stored` fails with.
    pub fn earlier<E>(
        &self,
        context: &WriteContext,
        stored: impl FnOnce(&str, &str) -> Result<Option<StoredKey>, E>,
    ) -> Result<Option<Result<Recorded, StoreError>>, E> {
        let Some(idem) = &context.idempotency else {
            return Ok(None);
        };
        let space = context.actor.idempotency_space();
        let found = self
            .keys
            .iter()
            .find(|k| k.0 == space && k.1 == idem.key())
            .map(|k| (k.2, k.3, k.4, None));
        let found = match found {
            Some(f) => Some(f),
            None => stored(&space, idem.key())?.map(|k| (k.body, k.first, k.count, Some(k.size))),
        };
        Ok(found.map(|(body, first, count, size)| {
            if body == *idem.body_digest() {
                Ok(Recorded::Replay { first, count, size })
            } else {
                Err(StoreError::IdempotencyMismatch {
                    key: idem.key().to_owned(),
                })
            }
        }))
    }

    /// Keeps the key of an append that recorded `recorded`, which would
    /// have come next at `next` had it been empty.
    pub fn recorded(&mut self, context: &WriteContext, recorded: &Recorded, next: u64) {
        if let (Some(idem), Recorded::Fresh(entries)) = (&context.idempotency, recorded) {
            self.keys.push((
                context.actor.idempotency_space(),
                idem.key().to_owned(),
                *idem.body_digest(),
                entries.first().map_or(next, |e| e.0),
                entries.len() as u64,
            ));
        }
    }

    /// The keys to store, `(space, key, body, first, count)`.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, &[u8; 32], u64, u64)> {
        self.keys
            .iter()
            .map(|(s, k, b, f, c)| (s.as_str(), k.as_str(), b, *f, *c))
    }
}

/// The receipts of `entries` against `checkpoint`, proofs read through
/// `nodes` (RFC 9162 §2.1.3).
///
/// # Errors
/// [`StoreError::Internal`] when a node cannot be read.
pub fn receipts<N: NodeReader>(
    entries: Vec<(u64, Vec<u8>)>,
    checkpoint: SignedCheckpoint,
    nodes: &N,
    replayed: bool,
) -> Result<Appended, StoreError> {
    let size = checkpoint.checkpoint().size();
    let receipts = entries
        .into_iter()
        .map(|(index, entry)| {
            let proof = inclusion_proof(index, size, nodes).map_err(StoreError::internal)?;
            Ok(Receipt {
                entry,
                index,
                proof,
                checkpoint: checkpoint.clone(),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Appended {
        receipts,
        checkpoint,
        replayed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii() {
        assert!(Idempotency::new("6f1c7e0a-2b9d-4c1e-9f3a-0d6b2e8c4a11", b"[]").is_ok());
        assert!(Idempotency::new("", b"[]").is_err());
        assert!(Idempotency::new("has space", b"[]").is_err());
        assert!(Idempotency::new("键", b"[]").is_err());
        assert!(Idempotency::new(&"k".repeat(256), b"[]").is_err());
        let a = Idempotency::new("k", b"one").unwrap();
        let b = Idempotency::new("k", b"two").unwrap();
        assert_ne!(a.body_digest(), b.body_digest());
    }
}
