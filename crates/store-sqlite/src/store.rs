//! [`SqliteStore`]: the embedded store behind the `Store` trait.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;

use retrace_access::{
    Account, AccountAuthority, AccountName, Principal, SecretDigest, StoredSession, StoredToken,
    ThrottleKey, ThrottleState, TokenId,
};
use retrace_domain::clock::Clock;
use retrace_domain::enterprise::Designation;
use retrace_domain::facility::{Facility, FacilityId};
use retrace_domain::lot::LotId;
use retrace_domain::project::Projector;
use retrace_domain::record::Record;
use retrace_domain::uscc::Uscc;
use retrace_ledger::checkpoint::{LogKey, SignedCheckpoint};
use retrace_ledger::hash::Hash;
use retrace_ledger::proof::inclusion_proof;
use retrace_ledger::receipt::Receipt;
use retrace_store::public::PublicLot;
use retrace_store::trace::{Direction, TraceAnswer};
use retrace_store::{
    AccountChange, AccountView, Appended, AuditReport, Authority, DesignationFilter,
    EnterpriseFilter, EnterpriseView, EntryFilter, EntryView, FacilityFilter, FlagFilter, FlagView,
    Identity, LotView, Page, PageRequest, Position, Scope, StockFilter, Store, StoreError,
    TokenView, TrailEntry, TrailEvent, TrailFilter, WriteContext,
};
use rusqlite::Connection;
use time::OffsetDateTime;
use tokio::sync::oneshot;

use crate::audit;
use crate::codec;
use crate::error::DbError;
use crate::identity::{self, Change, Done};
use crate::log::{self, TRAIL};
use crate::read::{self, ReadPool};
use crate::schema;
use crate::writer::{Job, Shared, Writer};
use crate::{register, trail};
use retrace_store::audit::TreeReport;

/// What the store needs besides its file. The binary owns the key files and
/// hands their contents over.
pub struct SqliteConfig {
    /// Signs every checkpoint (C2SP signed-note, Ed25519); its name is the log's origin.
    pub log_key: LogKey,
    /// Signs every checkpoint of the audit trail; its name is `<origin>/trail`.
    pub trail_key: LogKey,
    /// Derives the salt of every commitment (`retrace_ledger::entry::derive_salt`,
    /// DESIGN.md §3): the operator can reproduce any salt to open a field, and
    /// the audit rebuilds every entry byte for byte.
    pub salt_secret: [u8; 32],
    /// The record time of every entry.
    pub clock: Arc<dyn Clock>,
    pub projector: Projector,
}

impl std::fmt::Debug for SqliteConfig {
    /// Shows the key's name and id, never a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteConfig")
            .field("log_key", &self.log_key)
            .field("trail_key", &self.trail_key)
            .field("clock", &self.clock)
            .field("projector", &self.projector)
            .finish_non_exhaustive()
    }
}

/// A ledger row in its canonical form: index, entry bytes, leaf hash.
pub type LedgerRow = (u64, Vec<u8>, Hash);

/// Creates the database at `path` if needed and brings it to this build's
/// schema (`retrace migrate`); [`SqliteStore::open`] does the same.
///
/// # Errors
/// [`StoreError::Internal`] when the file cannot be opened or migrated.
pub fn migrate(path: &Path) -> Result<(), StoreError> {
    drop(schema::open_writer(path)?);
    Ok(())
}

/// The embedded store: one SQLite file in WAL mode, one writer thread that
/// group-commits, a small pool of read-only connections.
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    jobs: Option<mpsc::Sender<Job>>,
    writer: Option<JoinHandle<()>>,
    reads: Arc<ReadPool>,
    /// One permit per pooled connection: reads beyond it wait here, on the
    /// runtime, rather than as blocking threads contending for the pool.
    readers: Arc<tokio::sync::Semaphore>,
    shared: Arc<Shared>,
    commits: Arc<AtomicU64>,
}

fn writer_gone() -> StoreError {
    StoreError::Internal("the writer thread has stopped".to_owned())
}

impl SqliteStore {
    /// Opens the store at `path`, creating and migrating it if needed, and
    /// starts its writer. The tree's right edge is restored from the stored
    /// nodes, so a store reopened after a crash goes on where its last commit
    /// ended.
    ///
    /// # Errors
    /// [`StoreError::Internal`] when the file cannot be opened or migrated.
    pub fn open(path: &Path, config: SqliteConfig) -> Result<SqliteStore, StoreError> {
        let shared = Arc::new(Shared {
            key: config.log_key,
            trail_key: config.trail_key,
            secret: config.salt_secret,
            clock: config.clock,
            projector: config.projector,
        });
        let commits = Arc::new(AtomicU64::new(0));
        let writer = Writer::open(path, Arc::clone(&shared), Arc::clone(&commits))?;
        let (jobs, queue) = mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("retrace-writer".to_owned())
            .spawn(move || writer.run(&queue))
            .map_err(StoreError::internal)?;
        Ok(SqliteStore {
            path: path.to_owned(),
            jobs: Some(jobs),
            writer: Some(handle),
            reads: Arc::new(ReadPool::new(path.to_owned())),
            readers: Arc::new(tokio::sync::Semaphore::new(read::POOL_SIZE)),
            shared,
            commits,
        })
    }

    /// How many transactions the writer has committed since the store was
    /// opened: fewer than the appends when group commit shares them.
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn send(&self, job: Job) -> Result<(), StoreError> {
        self.jobs
            .as_ref()
            .ok_or_else(writer_gone)?
            .send(job)
            .map_err(|_| writer_gone())
    }

    /// Records `batch` as the installation in one transaction — all or
    /// nothing — without receipts: the bulk path of the demo, `retrace
    /// record` and the benchmark. Answers with the checkpoint that includes
    /// it. `request` names the command on the audit trail.
    ///
    /// Blocks the calling thread until the batch is committed; from async code
    /// call it inside `spawn_blocking`.
    ///
    /// # Errors
    /// [`StoreError::Refused`] naming the record and field if any record is refused.
    pub fn load(&self, batch: Vec<Record>, request: &str) -> Result<SignedCheckpoint, StoreError> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.send(Job::Load {
            batch,
            context: WriteContext::installation(request),
            reply,
        })?;
        answer.recv().map_err(|_| writer_gone())?
    }

    async fn identity(
        &self,
        change: Change,
        trail: Option<TrailEvent>,
    ) -> Result<Done, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.send(Job::Identity {
            change: Box::new(change),
            trail,
            reply,
        })?;
        answer.await.map_err(|_| writer_gone())?
    }

    /// The ledger rows with index in `from..to`, in index order, in their
    /// canonical form `(index, entry bytes, leaf)`: the rows
    /// [`crate::raw_insert_limit`] inserts to measure the physical limit.
    /// Ranged so that a caller walks a ledger of any size a bounded chunk at
    /// a time (ten million entries are about 4 GiB).
    ///
    /// # Errors
    /// [`StoreError::Internal`] when SQLite fails.
    pub fn ledger_rows_range(&self, from: u64, to: u64) -> Result<Vec<LedgerRow>, StoreError> {
        self.reads.with(|conn| {
            let mut st = conn
                .prepare_cached(
                    "SELECT idx, entry, leaf FROM ledger WHERE idx >= ?1 AND idx < ?2 ORDER BY idx",
                )
                .map_err(DbError::from)?;
            let mut rows = st
                .query([codec::sql_index(from), codec::sql_index(to)])
                .map_err(DbError::from)?;
            let mut out = Vec::new();
            while let Some(r) = rows.next().map_err(DbError::from)? {
                let leaf = r.get_ref(2).map_err(DbError::from)?;
                out.push((
                    codec::index("idx", r.get(0).map_err(DbError::from)?)?,
                    r.get(1).map_err(DbError::from)?,
                    codec::hash(
                        "leaf",
                        leaf.as_blob()
                            .map_err(|e| DbError::from(rusqlite::Error::from(e)))?,
                    )?,
                ));
            }
            Ok(out)
        })
    }

    /// The records of the entries with index in `from..to`, in index order,
    /// with their record times: what `retrace copy` sequences again in
    /// another store, commit by commit.
    ///
    /// # Errors
    /// [`StoreError::Internal`] when SQLite fails or a record does not parse.
    pub fn ledger_records(
        &self,
        from: u64,
        to: u64,
    ) -> Result<Vec<(u64, String, Record)>, StoreError> {
        self.reads.with(|conn| {
            let mut st = conn
                .prepare_cached(
                    "SELECT idx, record_time, record FROM ledger WHERE idx >= ?1 AND idx < ?2 ORDER BY idx",
                )
                .map_err(DbError::from)?;
            let mut rows = st
                .query([codec::sql_index(from), codec::sql_index(to)])
                .map_err(DbError::from)?;
            let mut out = Vec::new();
            while let Some(r) = rows.next().map_err(DbError::from)? {
                let record: Vec<u8> = r.get(2).map_err(DbError::from)?;
                out.push((
                    codec::index("idx", r.get(0).map_err(DbError::from)?)?,
                    r.get(1).map_err(DbError::from)?,
                    retrace_store::entry::parse_record(&record)?,
                ));
            }
            Ok(out)
        })
    }

    /// The number of entries in the ledger.
    ///
    /// # Errors
    /// [`StoreError::Internal`] when SQLite fails.
    pub fn ledger_size(&self) -> Result<u64, StoreError> {
        self.reads
            .with(|conn| Ok(log::size(conn, crate::log::LEDGER)?))
    }

    /// Recomputes the root from the stored leaves and compares every stored
    /// tree node (the tree step of [`Store::audit`], alone).
    ///
    /// # Errors
    /// [`StoreError::Internal`] when SQLite fails.
    pub fn verify_tree(&self) -> Result<TreeReport, StoreError> {
        self.reads
            .with(|conn| Ok(audit::verify_tree(conn, crate::log::LEDGER, &[])?))
    }

    /// A digest of every projection table and of the ledger, table by table
    /// in key order, with each value spelled as text
    /// (`retrace_store::digest`): equal digests on two stores mean equal
    /// rows (how `retrace copy` proves a move).
    ///
    /// # Errors
    /// [`StoreError::Internal`] when SQLite fails.
    pub fn table_digests(&self) -> Result<Vec<(String, u64, Hash)>, StoreError> {
        self.reads.with(|conn| Ok(audit::table_digests(conn)?))
    }

    /// The rows of `table`, one of `retrace_store::digest::TABLES`, in key
    /// order and spelled as its digest spells them: how `retrace copy`
    /// moves the identity tables and the audit trail.
    ///
    /// # Errors
    /// [`StoreError::Internal`] when SQLite fails or `table` is not one of them.
    pub fn table_rows(&self, table: &str) -> Result<Vec<Vec<Option<String>>>, StoreError> {
        self.reads.with(|conn| Ok(audit::table_rows(conn, table)?))
    }

    async fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let permit = Arc::clone(&self.readers)
            .acquire_owned()
            .await
            .map_err(StoreError::internal)?;
        let pool = Arc::clone(&self.reads);
        tokio::task::spawn_blocking(move || {
            let answer = pool.with(read);
            drop(permit);
            answer
        })
        .await
        .map_err(StoreError::internal)?
    }
}

impl Drop for SqliteStore {
    /// Closes the queue and waits for the writer to finish what it was given
    /// and close its connection, so that the file can be reopened at once.
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(writer) = self.writer.take()
            && writer.join().is_err()
        {
            tracing::error!("the writer thread panicked");
        }
    }
}

impl Store for SqliteStore {
    async fn append(
        &self,
        authority: &Authority,
        batch: Vec<Record>,
        context: &WriteContext,
    ) -> Result<Appended, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.send(Job::Append {
            authority: authority.clone(),
            batch,
            context: context.clone(),
            reply,
        })?;
        answer.await.map_err(|_| writer_gone())?
    }

    async fn checkpoint(&self) -> Result<SignedCheckpoint, StoreError> {
        self.read(read::checkpoint).await
    }

    async fn checkpoints(
        &self,
        after_size: u64,
        limit: usize,
    ) -> Result<Vec<SignedCheckpoint>, StoreError> {
        self.read(move |conn| read::checkpoints(conn, after_size, limit))
            .await
    }

    async fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, StoreError> {
        self.read(move |conn| read::inclusion(conn, index, size))
            .await
    }

    async fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, StoreError> {
        self.read(move |conn| read::consistency(conn, old, new))
            .await
    }

    async fn entry(&self, scope: &Scope, index: u64) -> Result<EntryView, StoreError> {
        let scope = scope.clone();
        self.read(move |conn| read::entry(conn, &scope, index))
            .await
    }

    async fn receipt(&self, scope: &Scope, index: u64) -> Result<Receipt, StoreError> {
        let scope = scope.clone();
        self.read(move |conn| read::receipt(conn, &scope, index))
            .await
    }

    async fn entries(
        &self,
        scope: &Scope,
        filter: &EntryFilter,
        page: &PageRequest,
    ) -> Result<Page<EntryView>, StoreError> {
        let (scope, filter, page) = (scope.clone(), filter.clone(), page.clone());
        self.read(move |conn| read::entries(conn, &scope, &filter, &page))
            .await
    }

    async fn lot(&self, scope: &Scope, lot: &LotId) -> Result<LotView, StoreError> {
        let (scope, lot) = (scope.clone(), lot.clone());
        self.read(move |conn| read::lot(conn, &scope, &lot)).await
    }

    async fn stock(
        &self,
        scope: &Scope,
        filter: &StockFilter,
        page: &PageRequest,
    ) -> Result<Page<Position>, StoreError> {
        let (scope, filter, page) = (scope.clone(), filter.clone(), page.clone());
        self.read(move |conn| read::stock(conn, &scope, &filter, &page))
            .await
    }

    async fn flags(
        &self,
        scope: &Scope,
        filter: &FlagFilter,
        page: &PageRequest,
    ) -> Result<Page<FlagView>, StoreError> {
        let (scope, filter, page) = (scope.clone(), filter.clone(), page.clone());
        self.read(move |conn| read::flags(conn, &scope, &filter, &page))
            .await
    }

    async fn trace(
        &self,
        scope: &Scope,
        lot: &LotId,
        direction: Direction,
        page: &PageRequest,
    ) -> Result<TraceAnswer, StoreError> {
        let (scope, lot, page) = (scope.clone(), lot.clone(), page.clone());
        self.read(move |conn| read::trace(conn, &scope, &lot, direction, &page))
            .await
    }

    async fn enterprises(
        &self,
        scope: &Scope,
        filter: &EnterpriseFilter,
        page: &PageRequest,
    ) -> Result<Page<EnterpriseView>, StoreError> {
        let (scope, filter, page) = (scope.clone(), filter.clone(), page.clone());
        self.read(move |conn| register::enterprises(conn, &scope, &filter, &page))
            .await
    }

    async fn enterprise(&self, scope: &Scope, uscc: &Uscc) -> Result<EnterpriseView, StoreError> {
        let (scope, uscc) = (scope.clone(), uscc.clone());
        self.read(move |conn| register::enterprise(conn, &scope, &uscc))
            .await
    }

    async fn facilities(
        &self,
        scope: &Scope,
        filter: &FacilityFilter,
        page: &PageRequest,
    ) -> Result<Page<Facility>, StoreError> {
        let (scope, filter, page) = (scope.clone(), filter.clone(), page.clone());
        self.read(move |conn| register::facilities(conn, &scope, &filter, &page))
            .await
    }

    async fn facility(&self, scope: &Scope, id: &FacilityId) -> Result<Facility, StoreError> {
        let (scope, id) = (scope.clone(), id.clone());
        self.read(move |conn| register::facility(conn, &scope, &id))
            .await
    }

    async fn designations(
        &self,
        scope: &Scope,
        filter: &DesignationFilter,
        page: &PageRequest,
    ) -> Result<Page<Designation>, StoreError> {
        let (scope, filter, page) = (scope.clone(), filter.clone(), page.clone());
        self.read(move |conn| register::designations(conn, &scope, &filter, &page))
            .await
    }

    async fn public_lot(&self, lot: &LotId) -> Result<PublicLot, StoreError> {
        let lot = lot.clone();
        let key = self.shared.key.verifier_key();
        self.read(move |conn| read::public_lot(conn, &lot, &key))
            .await
    }

    async fn audit(&self, extra: Option<Vec<u8>>) -> Result<AuditReport, StoreError> {
        let (path, shared) = (self.path.clone(), Arc::clone(&self.shared));
        tokio::task::spawn_blocking(move || {
            // A connection of its own: the audit holds one read transaction for
            // as long as it runs, and should not keep a pooled one from readers.
            let conn = schema::open_reader(&path)?;
            conn.execute_batch("BEGIN").map_err(DbError::from)?;
            audit::audit(&conn, &shared, extra.as_deref())
        })
        .await
        .map_err(StoreError::internal)?
    }
}

impl Identity for SqliteStore {
    async fn install_account(
        &self,
        account: Account,
        trail: TrailEvent,
    ) -> Result<AccountView, StoreError> {
        self.identity(Change::Install(account), Some(trail))
            .await?
            .account()
    }

    async fn account(&self, name: &AccountName) -> Result<Option<Account>, StoreError> {
        let name = name.clone();
        self.read(move |conn| Ok(identity::account(conn, &name)?))
            .await
    }

    async fn create_account(
        &self,
        by: &AccountAuthority,
        account: Account,
        trail: TrailEvent,
    ) -> Result<AccountView, StoreError> {
        let change = Change::Create {
            by: by.clone(),
            account,
        };
        self.identity(change, Some(trail)).await?.account()
    }

    async fn change_account(
        &self,
        by: &AccountAuthority,
        name: &AccountName,
        change: AccountChange,
        trail: TrailEvent,
    ) -> Result<AccountView, StoreError> {
        let change = Change::Update {
            by: by.clone(),
            name: name.clone(),
            change,
        };
        self.identity(change, Some(trail)).await?.account()
    }

    async fn change_own_account(
        &self,
        principal: &Principal,
        change: AccountChange,
        keep: Option<SecretDigest>,
        trail: TrailEvent,
    ) -> Result<AccountView, StoreError> {
        let change = Change::UpdateOwn {
            principal: principal.clone(),
            change,
            keep,
        };
        self.identity(change, Some(trail)).await?.account()
    }

    async fn account_view(
        &self,
        by: &AccountAuthority,
        name: &AccountName,
    ) -> Result<AccountView, StoreError> {
        let (by, name) = (by.clone(), name.clone());
        self.read(move |conn| identity::account_view(conn, &by, &name))
            .await
    }

    async fn accounts(
        &self,
        by: &AccountAuthority,
        page: &PageRequest,
    ) -> Result<Page<AccountView>, StoreError> {
        let (by, page) = (by.clone(), page.clone());
        self.read(move |conn| identity::accounts(conn, &by, &page))
            .await
    }

    async fn session(&self, digest: &SecretDigest) -> Result<Option<StoredSession>, StoreError> {
        let digest = *digest;
        self.read(move |conn| Ok(identity::session(conn, &digest)?))
            .await
    }

    async fn start_session(
        &self,
        session: StoredSession,
        replaces: Option<SecretDigest>,
        trail: TrailEvent,
    ) -> Result<(), StoreError> {
        self.identity(Change::StartSession { session, replaces }, Some(trail))
            .await
            .map(drop)
    }

    async fn touch_session(
        &self,
        digest: &SecretDigest,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let change = Change::TouchSession {
            digest: *digest,
            at,
        };
        self.identity(change, None).await.map(drop)
    }

    async fn end_session(
        &self,
        digest: &SecretDigest,
        trail: Option<TrailEvent>,
    ) -> Result<(), StoreError> {
        self.identity(Change::EndSession { digest: *digest }, trail)
            .await
            .map(drop)
    }

    async fn token(&self, id: &TokenId) -> Result<Option<StoredToken>, StoreError> {
        let id = id.clone();
        self.read(move |conn| Ok(identity::token(conn, &id)?)).await
    }

    async fn issue_token(
        &self,
        by: &AccountAuthority,
        token: StoredToken,
        trail: TrailEvent,
    ) -> Result<TokenView, StoreError> {
        let change = Change::IssueToken {
            by: by.clone(),
            token,
        };
        self.identity(change, Some(trail)).await?.token()
    }

    async fn revoke_token(
        &self,
        by: &AccountAuthority,
        id: &TokenId,
        at: OffsetDateTime,
        trail: TrailEvent,
    ) -> Result<TokenView, StoreError> {
        let change = Change::RevokeToken {
            by: by.clone(),
            id: id.clone(),
            at,
        };
        self.identity(change, Some(trail)).await?.token()
    }

    async fn tokens(
        &self,
        by: &AccountAuthority,
        page: &PageRequest,
    ) -> Result<Page<TokenView>, StoreError> {
        let (by, page) = (by.clone(), page.clone());
        self.read(move |conn| identity::tokens(conn, &by, &page))
            .await
    }

    async fn throttle(&self, keys: Vec<ThrottleKey>) -> Result<Vec<ThrottleState>, StoreError> {
        self.read(move |conn| Ok(identity::throttle(conn, &keys)?))
            .await
    }

    async fn put_throttle(
        &self,
        states: Vec<(ThrottleKey, ThrottleState)>,
        trail: TrailEvent,
    ) -> Result<(), StoreError> {
        self.identity(Change::PutThrottle(states), Some(trail))
            .await
            .map(drop)
    }

    async fn record_trail(&self, event: TrailEvent) -> Result<u64, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.send(Job::Trail {
            event: Box::new(event),
            reply,
        })?;
        answer.await.map_err(|_| writer_gone())?
    }

    async fn trail(
        &self,
        scope: &Scope,
        filter: &TrailFilter,
        page: &PageRequest,
    ) -> Result<Page<TrailEntry>, StoreError> {
        let (scope, filter, page) = (scope.clone(), filter.clone(), page.clone());
        self.read(move |conn| trail::search(conn, &scope, &filter, &page))
            .await
    }

    async fn trail_checkpoint(&self) -> Result<SignedCheckpoint, StoreError> {
        self.read(|conn| {
            log::latest_checkpoint(conn, TRAIL)?
                .ok_or_else(|| StoreError::NotFound("trail checkpoint".to_owned()))
        })
        .await
    }

    async fn trail_proof(
        &self,
        scope: &Scope,
        index: u64,
        size: u64,
    ) -> Result<(Vec<u8>, Vec<Hash>), StoreError> {
        let scope = scope.clone();
        self.read(move |conn| {
            if !trail::in_scope(conn, &scope, index)? {
                return Err(StoreError::NotFound(format!("trail entry {index}")));
            }
            let have = log::size(conn, TRAIL)?;
            if index >= size || size > have {
                return Err(StoreError::BadRequest(format!(
                    "no trail entry {index} in a tree of {size}: the trail has {have} entries"
                )));
            }
            let entry: Vec<u8> = conn
                .prepare_cached("SELECT entry FROM trail WHERE idx = ?1")
                .map_err(DbError::from)?
                .query_row([codec::sql_index(index)], |r| r.get(0))
                .map_err(DbError::from)?;
            let proof = inclusion_proof(index, size, &log::nodes(conn, TRAIL, None))
                .map_err(StoreError::internal)?;
            Ok((entry, proof))
        })
        .await
    }
}
