//! [`PgStore`]: the PostgreSQL store behind the `Store` trait.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;

use postgres::Config;
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
use retrace_store::audit::TreeReport;
use retrace_store::digest;
use retrace_store::public::PublicLot;
use retrace_store::trace::{Direction, TraceAnswer};
use retrace_store::{
    AccountChange, AccountView, Appended, AuditReport, Authority, DesignationFilter,
    EnterpriseFilter, EnterpriseView, EntryFilter, EntryView, FacilityFilter, FlagFilter, FlagView,
    Identity, LotView, Page, PageRequest, Position, Scope, StockFilter, Store, StoreError,
    TokenView, TrailEntry, TrailEvent, TrailFilter, WriteContext,
};
use time::OffsetDateTime;
use tokio::sync::oneshot;

use crate::audit;
use crate::codec;
use crate::connection::Conn;
use crate::identity::{self, Change, Done};
use crate::log::{self, LEDGER, TRAIL};
use crate::read::{self, ReadPool};
use crate::writer::{Job, Shared, Writer};
use crate::{register, schema, trail};

/// What the store needs besides its database. The binary owns the key files
/// and hands their contents over; they never enter the database.
pub struct PgConfig {
    /// Signs every checkpoint (C2SP signed-note, Ed25519); its name is the log's origin.
    pub log_key: LogKey,
    /// Signs every checkpoint of the audit trail; its name is `<origin>/trail`.
    pub trail_key: LogKey,
    /// Derives the salt of every commitment (`retrace_ledger::entry::derive_salt`).
    pub salt_secret: [u8; 32],
    /// The record time of every entry.
    pub clock: Arc<dyn Clock>,
    pub projector: Projector,
}

impl std::fmt::Debug for PgConfig {
    /// Shows the key's name and id, never a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgConfig")
            .field("log_key", &self.log_key)
            .field("trail_key", &self.trail_key)
            .field("clock", &self.clock)
            .field("projector", &self.projector)
            .finish_non_exhaustive()
    }
}

/// A ledger row in its canonical form: index, entry bytes, leaf hash.
pub type LedgerRow = (u64, Vec<u8>, Hash);

/// Schema versions before and after [`migrate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migrated {
    pub from: i64,
    pub to: i64,
}

/// Parses a `postgres://` URL (or a key=value connection string).
///
/// # Errors
/// [`StoreError::BadRequest`] naming what does not parse; the URL itself,
/// which may hold a password, is not repeated.
pub fn parse_url(url: &str) -> Result<Config, StoreError> {
    let mut config: Config = url
        .parse()
        .map_err(|e| StoreError::BadRequest(format!("not a PostgreSQL URL: {e}")))?;
    if config.get_application_name().is_none() {
        config.application_name("retrace");
    }
    Ok(config)
}

/// Runs `work` on a thread of its own: the synchronous client may not run on
/// a thread that drives async tasks, and the callers of these functions may be.
pub(crate) fn off_runtime<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    std::thread::Builder::new()
        .name("retrace-pg-open".to_owned())
        .spawn(work)
        .map_err(StoreError::internal)?
        .join()
        .map_err(|_| StoreError::Internal("the connecting thread panicked".to_owned()))?
}

/// Applies the pending migrations to the database at `url` (`retrace
/// migrate`); [`PgStore::open`] does the same before it serves.
///
/// # Errors
/// [`StoreError::Internal`] when the database cannot be reached or migrated.
pub fn migrate(url: &str) -> Result<Migrated, StoreError> {
    let config = parse_url(url)?;
    off_runtime(move || {
        let conn = Conn::connect(&config)?;
        let (from, to) = schema::migrate(&conn)?;
        Ok(Migrated { from, to })
    })
}

/// The PostgreSQL store: one sequencer thread that group-commits, a small
/// pool of read connections.
#[derive(Debug)]
pub struct PgStore {
    jobs: Option<mpsc::Sender<Job>>,
    writer: Option<JoinHandle<()>>,
    reads: Arc<ReadPool>,
    /// A streaming replica that dashboards, reports and traces read from,
    /// if one was given ([`PgStore::with_read_replica`]).
    replica: Option<Arc<ReadPool>>,
    /// Shared with nothing; in an `Arc` to keep the store small to move.
    config: Arc<Config>,
    shared: Arc<Shared>,
    commits: Arc<AtomicU64>,
}

fn writer_gone() -> StoreError {
    StoreError::Internal("the sequencer thread has stopped".to_owned())
}

impl PgStore {
    /// Connects to the database at `url`, migrates it if needed, stores the
    /// empty tree's checkpoint for a new log, and starts the sequencer
    /// thread. The sequencer takes the ledger's lock before its first write,
    /// not here, so that a process that only reads (the CLI's `trace`,
    /// `flags`, `audit`) opens a ledger another process is writing.
    ///
    /// # Errors
    /// [`StoreError::BadRequest`] for a URL that does not parse;
    /// [`StoreError::Internal`] when the database cannot be reached or migrated.
    pub fn open(url: &str, config: PgConfig) -> Result<PgStore, StoreError> {
        let pg = parse_url(url)?;
        let shared = Arc::new(Shared {
            key: config.log_key,
            trail_key: config.trail_key,
            secret: config.salt_secret,
            clock: config.clock,
            projector: config.projector,
        });
        let commits = Arc::new(AtomicU64::new(0));
        let (jobs, queue) = mpsc::channel();
        let (opened, open_result) = mpsc::sync_channel(1);
        let (thread_config, thread_shared, thread_commits) =
            (pg.clone(), Arc::clone(&shared), Arc::clone(&commits));
        let handle = std::thread::Builder::new()
            .name("retrace-sequencer".to_owned())
            .spawn(move || {
                let conn = match Conn::connect(&thread_config).and_then(|conn| {
                    schema::migrate(&conn)?;
                    log::sign_empty_log(&conn, LEDGER, &thread_shared.key)?;
                    log::sign_empty_log(&conn, TRAIL, &thread_shared.trail_key)?;
                    Ok(conn)
                }) {
                    Ok(conn) => {
                        let _ = opened.send(Ok(()));
                        conn
                    }
                    Err(e) => {
                        let _ = opened.send(Err(StoreError::from(e)));
                        return;
                    }
                };
                Writer::new(conn, thread_shared, thread_commits).run(&queue);
            })
            .map_err(StoreError::internal)?;
        open_result.recv().map_err(|_| writer_gone())??;
        Ok(PgStore {
            jobs: Some(jobs),
            writer: Some(handle),
            reads: Arc::new(ReadPool::new(pg.clone())),
            replica: None,
            config: Arc::new(pg),
            shared,
            commits,
        })
    }

    /// Sends the reads of dashboards, reports and traces — entries, lots,
    /// stock, flags, trace — to the streaming replica at `url` (issue 5 §4),
    /// so that they take no capacity from the primary. Checkpoints, proofs
    /// and receipts are read from the primary, so a receipt is always against
    /// the latest checkpoint; a replica holds only what the primary
    /// committed, so nothing it answers is beyond a checkpoint the primary
    /// signed — it may only lag behind.
    ///
    /// # Errors
    /// [`StoreError::BadRequest`] for a URL that does not parse.
    pub fn with_read_replica(mut self, url: &str) -> Result<PgStore, StoreError> {
        self.replica = Some(Arc::new(ReadPool::new(parse_url(url)?)));
        Ok(self)
    }

    /// How many transactions the sequencer has committed since the store was
    /// opened: fewer than the appends when group commit shares them.
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    fn send(&self, job: Job) -> Result<(), StoreError> {
        self.jobs
            .as_ref()
            .ok_or_else(writer_gone)?
            .send(job)
            .map_err(|_| writer_gone())
    }

    /// Records `batch` as the installation in one transaction — all or
    /// nothing — without receipts: the bulk path of the demo and the
    /// benchmark, on the audit trail as `request`. Its rows go in through
    /// binary COPY. Answers with the checkpoint that includes it.
    ///
    /// Blocks the calling thread until the batch is committed (it only waits
    /// on a channel, so it may be called from async code as SQLite's is).
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

    /// Sequences `batch` again as entries `first…` recorded at `record_time`
    /// (as `retrace_store::codec::RecordTime` spells it), in one transaction
    /// with one checkpoint: how `retrace copy` moves another store's ledger
    /// commit by commit, so that every leaf, root and checkpoint comes out
    /// the same. Every record is validated and projected as on any append.
    ///
    /// # Errors
    /// [`StoreError::BadRequest`] when `first` is not the log's size or the
    /// time lies in the future; [`StoreError::Refused`] as for a load.
    pub fn replay(
        &self,
        first: u64,
        record_time: &str,
        batch: Vec<Record>,
    ) -> Result<SignedCheckpoint, StoreError> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.send(Job::Replay {
            first,
            time: record_time.to_owned(),
            batch,
            reply,
        })?;
        answer.recv().map_err(|_| writer_gone())?
    }

    async fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Conn) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let pool = Arc::clone(&self.reads);
        tokio::task::spawn_blocking(move || pool.with(read))
            .await
            .map_err(StoreError::internal)?
    }

    /// A read of dashboards, reports and traces: on the replica if there is one.
    async fn read_report<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Conn) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let pool = Arc::clone(self.replica.as_ref().unwrap_or(&self.reads));
        tokio::task::spawn_blocking(move || pool.with(read))
            .await
            .map_err(StoreError::internal)?
    }

    /// The ledger rows with index in `from..to`, in index order, in their
    /// canonical form `(index, entry bytes, leaf)`: the rows
    /// [`crate::raw_copy_limit`] writes to measure the physical limit.
    ///
    /// # Errors
    /// [`StoreError::Internal`] when PostgreSQL fails.
    pub async fn ledger_rows_range(
        &self,
        from: u64,
        to: u64,
    ) -> Result<Vec<LedgerRow>, StoreError> {
        self.read(move |conn| {
            let rows = conn.query(
                "SELECT l.idx, l.entry, f.hash FROM ledger l JOIN leaf f ON f.idx = l.idx AND f.month = l.month \
                 WHERE l.idx >= $1 AND l.idx < $2 ORDER BY l.idx",
                &[&codec::sql_index(from), &codec::sql_index(to)],
            )?;
            rows.iter()
                .map(|r| {
                    let leaf: Vec<u8> = r.try_get(2).map_err(crate::error::DbError::from)?;
                    Ok((
                        codec::index("idx", r.try_get(0).map_err(crate::error::DbError::from)?)?,
                        r.try_get(1).map_err(crate::error::DbError::from)?,
                        codec::hash("leaf", &leaf)?,
                    ))
                })
                .collect()
        })
        .await
    }

    /// The number of entries in the ledger.
    ///
    /// # Errors
    /// [`StoreError::Internal`] when PostgreSQL fails.
    pub async fn ledger_size(&self) -> Result<u64, StoreError> {
        self.read(|conn| Ok(log::size(conn, LEDGER)?)).await
    }

    /// Recomputes the root from the stored leaves and compares every stored
    /// tree node (the tree step of [`Store::audit`], alone).
    ///
    /// # Errors
    /// [`StoreError::Internal`] when PostgreSQL fails.
    pub async fn verify_tree(&self) -> Result<TreeReport, StoreError> {
        self.read(|conn| Ok(audit::verify_tree(conn, &[])?)).await
    }

    /// The size of the database on disk, in bytes (`pg_database_size`).
    ///
    /// # Errors
    /// [`StoreError::Internal`] when PostgreSQL fails.
    pub async fn database_bytes(&self) -> Result<i64, StoreError> {
        self.read(|conn| {
            Ok(conn
                .query_one("SELECT pg_database_size(current_database())", &[])?
                .try_get(0)
                .map_err(crate::error::DbError::from)?)
        })
        .await
    }

    /// A digest of every projection table and of the ledger, table by table
    /// in key order, with each value spelled as text: equal digests on two
    /// stores mean equal rows (how `retrace copy` proves a move).
    ///
    /// # Errors
    /// [`StoreError::Internal`] when PostgreSQL fails.
    pub async fn table_digests(&self) -> Result<Vec<(String, u64, Hash)>, StoreError> {
        self.read(|conn| Ok(audit::table_digests(conn)?)).await
    }

    /// Writes `rows` — spelled as `retrace_store::digest::TABLES` spells
    /// them, in its column order — into `table`, one of its state tables
    /// (`digest::STATE_TABLES`: identity and the audit trail), in one
    /// transaction; a row whose key is there already is left as it is (the
    /// empty trail's checkpoint, which every store signs alike). How `retrace
    /// copy` moves them; the digests compared after prove the move.
    ///
    /// # Errors
    /// [`StoreError::BadRequest`] for a table that is not a state table;
    /// [`StoreError::Internal`] when PostgreSQL fails.
    pub async fn copy_rows(
        &self,
        table: &str,
        rows: Vec<Vec<Option<String>>>,
    ) -> Result<u64, StoreError> {
        let &(name, key, rest) = digest::TABLES
            .iter()
            .find(|(t, _, _)| *t == table && digest::STATE_TABLES.contains(t))
            .ok_or_else(|| StoreError::BadRequest(format!("{table} is not a state table")))?;
        let config = Arc::clone(&self.config);
        tokio::task::spawn_blocking(move || {
            let conn = Conn::connect(&config)?;
            let columns: Vec<&str> = key.iter().chain(rest.iter()).copied().collect();
            let mut values = Vec::with_capacity(columns.len());
            for (i, c) in columns.iter().enumerate() {
                let n = i + 1;
                values.push(if digest::is_bytes(name, c) {
                    format!("decode(${n}::text, 'hex')")
                } else {
                    // Text, cast to the column's own type.
                    let ty: String = conn
                        .query_one(
                            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute \
                             WHERE attrelid = $1::text::regclass AND attname = $2",
                            &[&name, c],
                        )?
                        .try_get(0)
                        .map_err(crate::error::DbError::from)?;
                    format!("${n}::text::{ty}")
                });
            }
            let sql = format!(
                "INSERT INTO {name} ({}) SELECT {} ON CONFLICT ({}) DO NOTHING",
                columns.join(", "),
                values.join(", "),
                key.join(", ")
            );
            conn.batch("BEGIN")?;
            let mut written = 0;
            for row in &rows {
                let params: Vec<crate::connection::Param<'_>> = row
                    .iter()
                    .map(|v| v as crate::connection::Param<'_>)
                    .collect();
                written += conn.execute(&sql, &params)?;
            }
            conn.batch("COMMIT")?;
            Ok(written)
        })
        .await
        .map_err(StoreError::internal)?
    }
}

impl Drop for PgStore {
    /// Closes the queue and waits for the sequencer to finish what it was
    /// given and close its connection (releasing the sequencer lock).
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(writer) = self.writer.take()
            && writer.join().is_err()
        {
            tracing::error!("the sequencer thread panicked");
        }
    }
}

impl Store for PgStore {
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
        self.read_report(move |conn| read::entries(conn, &scope, &filter, &page))
            .await
    }

    async fn lot(&self, scope: &Scope, lot: &LotId) -> Result<LotView, StoreError> {
        let (scope, lot) = (scope.clone(), lot.clone());
        self.read_report(move |conn| read::lot(conn, &scope, &lot))
            .await
    }

    async fn stock(
        &self,
        scope: &Scope,
        filter: &StockFilter,
        page: &PageRequest,
    ) -> Result<Page<Position>, StoreError> {
        let (scope, filter, page) = (scope.clone(), filter.clone(), page.clone());
        self.read_report(move |conn| read::stock(conn, &scope, &filter, &page))
            .await
    }

    async fn flags(
        &self,
        scope: &Scope,
        filter: &FlagFilter,
        page: &PageRequest,
    ) -> Result<Page<FlagView>, StoreError> {
        let (scope, filter, page) = (scope.clone(), filter.clone(), page.clone());
        self.read_report(move |conn| read::flags(conn, &scope, &filter, &page))
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
        self.read_report(move |conn| read::trace(conn, &scope, &lot, direction, &page))
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
        let (config, shared) = (Arc::clone(&self.config), Arc::clone(&self.shared));
        tokio::task::spawn_blocking(move || {
            // A connection of its own: the audit holds one snapshot, and
            // writes its rebuild into a scratch schema, for as long as it runs.
            let conn = Conn::connect(&config)?;
            audit::audit(&conn, &shared, extra.as_deref())
        })
        .await
        .map_err(StoreError::internal)?
    }
}

impl PgStore {
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
}

impl Identity for PgStore {
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
            let entry = trail::entry(conn, index)?;
            let proof = inclusion_proof(index, size, &log::nodes(conn, TRAIL, None))
                .map_err(StoreError::internal)?;
            Ok((entry, proof))
        })
        .await
    }
}
