//! What a store answers when it cannot do what was asked.

use retrace_domain::project::Refusal;

/// A storage failure. Refusals name the record of the batch and its field;
/// internal failures carry a message for the log, never for the client.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A record of the batch was refused; nothing of the batch was stored.
    #[error("record {record}: {refusal}")]
    Refused { record: usize, refusal: Refusal },
    /// The caller's authority does not allow the write of record `record`
    /// (of the batch; 0 for a single change), decided by `field`.
    #[error("record {record}, field `{field}`: {why}")]
    Forbidden {
        record: usize,
        field: &'static str,
        why: String,
    },
    /// Nothing of that name exists within the caller's scope.
    #[error("{0} not found")]
    NotFound(String),
    /// A request outside what the store can answer (a proof for a size it never had, …).
    #[error("{0}")]
    BadRequest(String),
    /// The name or id is taken (an account, a token id).
    #[error("{0}")]
    Conflict(String),
    /// An idempotency key came back with another request body: nothing was
    /// recorded, and the first request's outcome stands.
    #[error(
        "idempotency key `{key}` was used before with another request body; send the same body \
         to get the first answer again, or a new key for a new request"
    )]
    IdempotencyMismatch { key: String },
    /// The store is not usable: a broken file, an I/O error, a bug.
    #[error("storage failure: {0}")]
    Internal(String),
}

impl StoreError {
    pub fn internal(e: impl std::fmt::Display) -> StoreError {
        StoreError::Internal(e.to_string())
    }
}

impl From<crate::codec::Corrupt> for StoreError {
    fn from(e: crate::codec::Corrupt) -> StoreError {
        StoreError::internal(e)
    }
}
