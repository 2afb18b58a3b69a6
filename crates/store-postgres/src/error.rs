//! What goes wrong below the store's answers: PostgreSQL, stored values that
//! no longer parse. None of it is ever shown to a client
//! ([`StoreError::Internal`] carries it to the log).

use retrace_store::StoreError;
use retrace_store::codec::Corrupt;

/// A failure of the database or of what it holds.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("postgres: {}", describe(.0))]
    Postgres(#[from] postgres::Error),
    /// A stored value that no longer parses as what it should be: the
    /// database was changed behind the store's back, or a bug wrote it.
    #[error("corrupt {what}: {detail}")]
    Corrupt { what: &'static str, detail: String },
}

/// The server's own message where there is one (`postgres::Error`'s
/// `Display` says only "db error").
fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!(
            "{} {}: {}{}",
            db.severity(),
            db.code().code(),
            db.message(),
            db.detail().map(|d| format!(" ({d})")).unwrap_or_default()
        ),
        None => e.to_string(),
    }
}

impl DbError {
    pub(crate) fn corrupt(what: &'static str, detail: impl std::fmt::Display) -> DbError {
        DbError::Corrupt {
            what,
            detail: detail.to_string(),
        }
    }
}

impl From<Corrupt> for DbError {
    fn from(e: Corrupt) -> DbError {
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
