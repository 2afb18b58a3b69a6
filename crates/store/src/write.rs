//! What every write carries besides its records: who makes it, for the audit
//! trail, and the client's idempotency key, so that a retried request never
//! records twice (issue 3 §4, §5).

use sha2::{Digest, Sha256};

use crate::trail::Actor;

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
