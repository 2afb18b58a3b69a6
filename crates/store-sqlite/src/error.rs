//! What goes wrong below the store's answers: SQLite, stored JSON, stored text
//! that no longer parses. None of it is ever shown to a client
//! ([`StoreError::Internal`] carries it to the log).

use retrace_store::StoreError;

/// A failure of the database or of what it holds.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("stored JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A stored value that no longer parses as what it should be: the file was
    /// changed behind the store's back, or a bug wrote it.
    #[error("corrupt {what}: {detail}")]
    Corrupt { what: &'static str, detail: String },
}

impl DbError {
    pub(crate) fn corrupt(what: &'static str, detail: impl std::fmt::Display) -> DbError {
        DbError::Corrupt {
            what,
            detail: detail.to_string(),
        }
    }
}

impl From<retrace_store::codec::Corrupt> for DbError {
    fn from(e: retrace_store::codec::Corrupt) -> DbError {
        DbError::Corrupt {
            what: e.what,
            detail: e.detail,
        }
    }
}

impl From<DbError> for StoreError {
    fn from(e: DbError) -> StoreError {
        StoreError::internal(e)
    }
}

/// The result of a database step.
pub(crate) type DbResult<T> = Result<T, DbError>;
