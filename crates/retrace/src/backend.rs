//! Which store a command runs on (DESIGN.md §3: embedded SQLite by default,
//! PostgreSQL in production): chosen by `--database` or
//! `RETRACE_DATABASE_URL`, the same verbs and the same server over either.
//! The log key and the salt secret stay in the data directory whichever
//! store holds the ledger.

use std::path::PathBuf;

use retrace_access::{
    Account, AccountAuthority, AccountName, Principal, SecretDigest, StoredSession, StoredToken,
    ThrottleKey, ThrottleState, TokenId,
};
use retrace_domain::enterprise::Designation;
use retrace_domain::facility::{Facility, FacilityId};
use retrace_domain::lot::LotId;
use retrace_domain::record::Record;
use retrace_domain::uscc::Uscc;
use retrace_ledger::checkpoint::SignedCheckpoint;
use retrace_ledger::hash::Hash;
use retrace_ledger::receipt::Receipt;
use retrace_store::public::PublicLot;
use retrace_store::trace::{Direction, TraceAnswer};
use retrace_store::{
    AccountChange, AccountView, Appended, AuditReport, Authority, DesignationFilter,
    EnterpriseFilter, EnterpriseView, EntryFilter, EntryView, FacilityFilter, FlagFilter, FlagView,
    Identity, LotView, Page, PageRequest, Position, Scope, StockFilter, Store, StoreError,
    TokenView, TrailEntry, TrailEvent, TrailFilter, WriteContext,
};
use retrace_store_postgres::PgStore;
use retrace_store_sqlite::SqliteStore;
use time::OffsetDateTime;

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

/// Runs `$e` on whichever store `$self` is, as `$s`.
macro_rules! both {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            Backend::Sqlite($s) => $e,
            Backend::Postgres($s) => $e,
        }
    };
}

/// The store a command runs on.
#[derive(Debug)]
pub enum Backend {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl Backend {
    /// Records `batch` as the installation in one transaction, without
    /// receipts (the bulk path), on the trail as `request`; see
    /// `SqliteStore::load`, `PgStore::load`.
    ///
    /// # Errors
    /// [`StoreError::Refused`] naming the record and field if any record is refused.
    pub fn load(&self, batch: Vec<Record>, request: &str) -> Result<SignedCheckpoint, StoreError> {
        both!(self, s => s.load(batch, request))
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
    async fn append(
        &self,
        authority: &Authority,
        batch: Vec<Record>,
        context: &WriteContext,
    ) -> Result<Appended, StoreError> {
        both!(self, s => s.append(authority, batch, context).await)
    }

    async fn checkpoint(&self) -> Result<SignedCheckpoint, StoreError> {
        both!(self, s => s.checkpoint().await)
    }

    async fn checkpoints(
        &self,
        after_size: u64,
        limit: usize,
    ) -> Result<Vec<SignedCheckpoint>, StoreError> {
        both!(self, s => s.checkpoints(after_size, limit).await)
    }

    async fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, StoreError> {
        both!(self, s => s.inclusion_proof(index, size).await)
    }

    async fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, StoreError> {
        both!(self, s => s.consistency_proof(old, new).await)
    }

    async fn entry(&self, scope: &Scope, index: u64) -> Result<EntryView, StoreError> {
        both!(self, s => s.entry(scope, index).await)
    }

    async fn receipt(&self, scope: &Scope, index: u64) -> Result<Receipt, StoreError> {
        both!(self, s => s.receipt(scope, index).await)
    }

    async fn entries(
        &self,
        scope: &Scope,
        filter: &EntryFilter,
        page: &PageRequest,
    ) -> Result<Page<EntryView>, StoreError> {
        both!(self, s => s.entries(scope, filter, page).await)
    }

    async fn lot(&self, scope: &Scope, lot: &LotId) -> Result<LotView, StoreError> {
        both!(self, s => s.lot(scope, lot).await)
    }

    async fn stock(
        &self,
        scope: &Scope,
        filter: &StockFilter,
        page: &PageRequest,
    ) -> Result<Page<Position>, StoreError> {
        both!(self, s => s.stock(scope, filter, page).await)
    }

    async fn flags(
        &self,
        scope: &Scope,
        filter: &FlagFilter,
        page: &PageRequest,
    ) -> Result<Page<FlagView>, StoreError> {
        both!(self, s => s.flags(scope, filter, page).await)
    }

    async fn trace(
        &self,
        scope: &Scope,
        lot: &LotId,
        direction: Direction,
        page: &PageRequest,
    ) -> Result<TraceAnswer, StoreError> {
        both!(self, s => s.trace(scope, lot, direction, page).await)
    }

    async fn enterprises(
        &self,
        scope: &Scope,
        filter: &EnterpriseFilter,
        page: &PageRequest,
    ) -> Result<Page<EnterpriseView>, StoreError> {
        both!(self, s => s.enterprises(scope, filter, page).await)
    }

    async fn enterprise(&self, scope: &Scope, uscc: &Uscc) -> Result<EnterpriseView, StoreError> {
        both!(self, s => s.enterprise(scope, uscc).await)
    }

    async fn facilities(
        &self,
        scope: &Scope,
        filter: &FacilityFilter,
        page: &PageRequest,
    ) -> Result<Page<Facility>, StoreError> {
        both!(self, s => s.facilities(scope, filter, page).await)
    }

    async fn facility(&self, scope: &Scope, id: &FacilityId) -> Result<Facility, StoreError> {
        both!(self, s => s.facility(scope, id).await)
    }

    async fn designations(
        &self,
        scope: &Scope,
        filter: &DesignationFilter,
        page: &PageRequest,
    ) -> Result<Page<Designation>, StoreError> {
        both!(self, s => s.designations(scope, filter, page).await)
    }

    async fn public_lot(&self, lot: &LotId) -> Result<PublicLot, StoreError> {
        both!(self, s => s.public_lot(lot).await)
    }

    async fn audit(&self, extra: Option<Vec<u8>>) -> Result<AuditReport, StoreError> {
        both!(self, s => s.audit(extra).await)
    }
}

impl Identity for Backend {
    async fn account(&self, name: &AccountName) -> Result<Option<Account>, StoreError> {
        both!(self, s => s.account(name).await)
    }

    async fn install_account(
        &self,
        account: Account,
        trail: TrailEvent,
    ) -> Result<AccountView, StoreError> {
        both!(self, s => s.install_account(account, trail).await)
    }

    async fn create_account(
        &self,
        by: &AccountAuthority,
        account: Account,
        trail: TrailEvent,
    ) -> Result<AccountView, StoreError> {
        both!(self, s => s.create_account(by, account, trail).await)
    }

    async fn change_account(
        &self,
        by: &AccountAuthority,
        name: &AccountName,
        change: AccountChange,
        trail: TrailEvent,
    ) -> Result<AccountView, StoreError> {
        both!(self, s => s.change_account(by, name, change, trail).await)
    }

    async fn change_own_account(
        &self,
        principal: &Principal,
        change: AccountChange,
        keep: Option<SecretDigest>,
        trail: TrailEvent,
    ) -> Result<AccountView, StoreError> {
        both!(self, s => s.change_own_account(principal, change, keep, trail).await)
    }

    async fn account_view(
        &self,
        by: &AccountAuthority,
        name: &AccountName,
    ) -> Result<AccountView, StoreError> {
        both!(self, s => s.account_view(by, name).await)
    }

    async fn accounts(
        &self,
        by: &AccountAuthority,
        page: &PageRequest,
    ) -> Result<Page<AccountView>, StoreError> {
        both!(self, s => s.accounts(by, page).await)
    }

    async fn session(&self, digest: &SecretDigest) -> Result<Option<StoredSession>, StoreError> {
        both!(self, s => s.session(digest).await)
    }

    async fn start_session(
        &self,
        session: StoredSession,
        replaces: Option<SecretDigest>,
        trail: TrailEvent,
    ) -> Result<(), StoreError> {
        both!(self, s => s.start_session(session, replaces, trail).await)
    }

    async fn touch_session(
        &self,
        digest: &SecretDigest,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        both!(self, s => s.touch_session(digest, at).await)
    }

    async fn end_session(
        &self,
        digest: &SecretDigest,
        trail: Option<TrailEvent>,
    ) -> Result<(), StoreError> {
        both!(self, s => s.end_session(digest, trail).await)
    }

    async fn token(&self, id: &TokenId) -> Result<Option<StoredToken>, StoreError> {
        both!(self, s => s.token(id).await)
    }

    async fn issue_token(
        &self,
        by: &AccountAuthority,
        token: StoredToken,
        trail: TrailEvent,
    ) -> Result<TokenView, StoreError> {
        both!(self, s => s.issue_token(by, token, trail).await)
    }

    async fn revoke_token(
        &self,
        by: &AccountAuthority,
        id: &TokenId,
        at: OffsetDateTime,
        trail: TrailEvent,
    ) -> Result<TokenView, StoreError> {
        both!(self, s => s.revoke_token(by, id, at, trail).await)
    }

    async fn tokens(
        &self,
        by: &AccountAuthority,
        page: &PageRequest,
    ) -> Result<Page<TokenView>, StoreError> {
        both!(self, s => s.tokens(by, page).await)
    }

    async fn throttle(&self, keys: Vec<ThrottleKey>) -> Result<Vec<ThrottleState>, StoreError> {
        both!(self, s => s.throttle(keys).await)
    }

    async fn put_throttle(
        &self,
        states: Vec<(ThrottleKey, ThrottleState)>,
        trail: TrailEvent,
    ) -> Result<(), StoreError> {
        both!(self, s => s.put_throttle(states, trail).await)
    }

    async fn record_trail(&self, event: TrailEvent) -> Result<u64, StoreError> {
        both!(self, s => s.record_trail(event).await)
    }

    async fn trail(
        &self,
        scope: &Scope,
        filter: &TrailFilter,
        page: &PageRequest,
    ) -> Result<Page<TrailEntry>, StoreError> {
        both!(self, s => s.trail(scope, filter, page).await)
    }

    async fn trail_checkpoint(&self) -> Result<SignedCheckpoint, StoreError> {
        both!(self, s => s.trail_checkpoint().await)
    }

    async fn trail_proof(
        &self,
        scope: &Scope,
        index: u64,
        size: u64,
    ) -> Result<(Vec<u8>, Vec<Hash>), StoreError> {
        both!(self, s => s.trail_proof(scope, index, size).await)
    }
}
