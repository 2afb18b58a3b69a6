//! Which store a command runs on (DESIGN.md §3: embedded SQLite by default,
//! PostgreSQL in production): chosen by `--database` or
//! `RETRACE_DATABASE_URL`, the same verbs and the same server over either.
//! The log key and the salt secret stay in the data directory whichever
//! store holds the ledger.

use std::path::PathBuf;

use retrace_domain::lot::LotId;
use retrace_domain::record::Record;
use retrace_ledger::checkpoint::SignedCheckpoint;
use retrace_ledger::hash::Hash;
use retrace_ledger::receipt::Receipt;
use retrace_store::trace::{Direction, TraceAnswer};
use retrace_store::{
    Appended, AuditReport, EntryFilter, EntryView, FlagFilter, FlagView, LotView, Page,
    PageRequest, Position, Scope, StockFilter, Store, StoreError,
};
use retrace_store_postgres::PgStore;
use retrace_store_sqlite::SqliteStore;

/// Where the ledger is.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// An embedded SQLite file.
    Embedded(PathBuf),
    /// A PostgreSQL database, by URL.
    Postgres(String),
}

impl Database {
    /// Parses `sqlite:PATH`, `postgres://…` or `postgresql://…`.
    ///
    /// # Errors
    /// When the text is neither.
    pub fn parse(text: &str) -> anyhow::Result<Database> {
        if let Some(path) = text.strip_prefix("sqlite:") {
            return Ok(Database::Embedded(PathBuf::from(path)));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            retrace_store_postgres::parse_url(text)?;
            return Ok(Database::Postgres(text.to_owned()));
        }
        anyhow::bail!("a database is `sqlite:PATH` or a `postgres://` URL")
    }
}

impl std::fmt::Debug for Database {
    /// Never shows a password a URL may carry.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")
    }
}

impl std::fmt::Display for Database {
    /// `sqlite:PATH`, or the PostgreSQL URL without its user information.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Embedded(path) => write!(f, "sqlite:{}", path.display()),
            Database::Postgres(url) => {
                let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
                let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
                write!(f, "{scheme}://{rest}")
            }
        }
    }
}

/// The store a command runs on.
#[derive(Debug)]
pub enum Backend {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl Backend {
    /// Records `batch` under the operator's scope as one transaction, without
    /// receipts (the bulk path); see `SqliteStore::load`, `PgStore::load`.
    ///
    /// # Errors
    /// [`StoreError::Refused`] naming the record and field if any record is refused.
    pub fn load(&self, batch: Vec<Record>) -> Result<SignedCheckpoint, StoreError> {
        match self {
            Backend::Sqlite(s) => s.load(batch),
            Backend::Postgres(p) => p.load(batch),
        }
    }

    /// Every table's row count and digest (`retrace_store::digest`).
    ///
    /// # Errors
    /// When the database fails.
    pub async fn table_digests(&self) -> Result<Vec<(String, u64, Hash)>, StoreError> {
        match self {
            Backend::Sqlite(s) => s.table_digests(),
            Backend::Postgres(p) => p.table_digests().await,
        }
    }
}

impl Store for Backend {
    async fn append(&self, scope: &Scope, batch: Vec<Record>) -> Result<Appended, StoreError> {
        match self {
            Backend::Sqlite(s) => s.append(scope, batch).await,
            Backend::Postgres(p) => p.append(scope, batch).await,
        }
    }

    async fn checkpoint(&self) -> Result<SignedCheckpoint, StoreError> {
        match self {
            Backend::Sqlite(s) => s.checkpoint().await,
            Backend::Postgres(p) => p.checkpoint().await,
        }
    }

    async fn checkpoints(
        &self,
        after_size: u64,
        limit: usize,
    ) -> Result<Vec<SignedCheckpoint>, StoreError> {
        match self {
            Backend::Sqlite(s) => s.checkpoints(after_size, limit).await,
            Backend::Postgres(p) => p.checkpoints(after_size, limit).await,
        }
    }

    async fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, StoreError> {
        match self {
            Backend::Sqlite(s) => s.inclusion_proof(index, size).await,
            Backend::Postgres(p) => p.inclusion_proof(index, size).await,
        }
    }

    async fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, StoreError> {
        match self {
            Backend::Sqlite(s) => s.consistency_proof(old, new).await,
            Backend::Postgres(p) => p.consistency_proof(old, new).await,
        }
    }

    async fn entry(&self, scope: &Scope, index: u64) -> Result<EntryView, StoreError> {
        match self {
            Backend::Sqlite(s) => s.entry(scope, index).await,
            Backend::Postgres(p) => p.entry(scope, index).await,
        }
    }

    async fn receipt(&self, scope: &Scope, index: u64) -> Result<Receipt, StoreError> {
        match self {
            Backend::Sqlite(s) => s.receipt(scope, index).await,
            Backend::Postgres(p) => p.receipt(scope, index).await,
        }
    }

    async fn entries(
        &self,
        scope: &Scope,
        filter: &EntryFilter,
        page: &PageRequest,
    ) -> Result<Page<EntryView>, StoreError> {
        match self {
            Backend::Sqlite(s) => s.entries(scope, filter, page).await,
            Backend::Postgres(p) => p.entries(scope, filter, page).await,
        }
    }

    async fn lot(&self, scope: &Scope, lot: &LotId) -> Result<LotView, StoreError> {
        match self {
            Backend::Sqlite(s) => s.lot(scope, lot).await,
            Backend::Postgres(p) => p.lot(scope, lot).await,
        }
    }

    async fn stock(
        &self,
        scope: &Scope,
        filter: &StockFilter,
        page: &PageRequest,
    ) -> Result<Page<Position>, StoreError> {
        match self {
            Backend::Sqlite(s) => s.stock(scope, filter, page).await,
            Backend::Postgres(p) => p.stock(scope, filter, page).await,
        }
    }

    async fn flags(
        &self,
        scope: &Scope,
        filter: &FlagFilter,
        page: &PageRequest,
    ) -> Result<Page<FlagView>, StoreError> {
        match self {
            Backend::Sqlite(s) => s.flags(scope, filter, page).await,
            Backend::Postgres(p) => p.flags(scope, filter, page).await,
        }
    }

    async fn trace(
        &self,
        scope: &Scope,
        lot: &LotId,
        direction: Direction,
        page: &PageRequest,
    ) -> Result<TraceAnswer, StoreError> {
        match self {
            Backend::Sqlite(s) => s.trace(scope, lot, direction, page).await,
            Backend::Postgres(p) => p.trace(scope, lot, direction, page).await,
        }
    }

    async fn audit(&self, extra: Option<Vec<u8>>) -> Result<AuditReport, StoreError> {
        match self {
            Backend::Sqlite(s) => s.audit(extra).await,
            Backend::Postgres(p) => p.audit(extra).await,
        }
    }
}
