//! The one writer (DESIGN.md §3 "sequence: one writer"): a dedicated thread
//! owns the write connection and the tree's right edge, and group-commits.
//!
//! Every request waiting in the channel (up to [`MAX_GROUP`]) joins one
//! `BEGIN IMMEDIATE` transaction. Each request runs inside its own SAVEPOINT,
//! so a refused batch is rolled back alone and answered with its error while
//! the others go on — each batch all or nothing. Then the root is computed,
//! one checkpoint is signed and stored, the transaction commits once (one WAL
//! sync for the whole group) and every request is answered with receipts
//! against that checkpoint.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use retrace_domain::clock::Clock;
use retrace_domain::project::Projector;
use retrace_domain::record::Record;
use retrace_ledger::checkpoint::{Checkpoint, LogKey, SignedCheckpoint};
use retrace_ledger::hash::Hash;
use retrace_ledger::proof::inclusion_proof;
use retrace_ledger::receipt::Receipt;
use retrace_ledger::tree::{Frontier, NodeId};
use retrace_store::nodes::{LOWEST_STORED_LEVEL, Nodes, TreeStorage};
use retrace_store::{Appended, Scope, StoreError};
use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::oneshot;

use crate::codec::{self, RecordTime};
use crate::error::{DbError, DbResult};
use crate::schema;
use crate::sequence::{Positions, SequenceError, Sequencer};
use retrace_store::cache::ViewCache;

/// The most requests one commit takes: enough that a burst of interactive
/// appends shares one WAL sync, few enough that the first of them is not kept
/// waiting for the last.
const MAX_GROUP: usize = 256;

/// What the writer and the audit share: the log's key, the salt secret, the
/// clock and the projector.
pub(crate) struct Shared {
    pub key: LogKey,
    pub secret: [u8; 32],
    pub clock: Arc<dyn Clock>,
    pub projector: Projector,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("key", &self.key)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

/// A request to the writer.
#[derive(Debug)]
pub(crate) enum Job {
    /// An interactive append: answered with a receipt per record.
    Append {
        scope: Scope,
        batch: Vec<Record>,
        reply: oneshot::Sender<Result<Appended, StoreError>>,
    },
    /// A bulk load under the operator's scope: answered with the checkpoint only.
    Load {
        batch: Vec<Record>,
        reply: mpsc::SyncSender<Result<SignedCheckpoint, StoreError>>,
    },
}

/// The tree as SQLite stores it: the leaves are `ledger.leaf`, the nodes
/// from [`LOWEST_STORED_LEVEL`] up are `tree_node`'s.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SqliteTree<'a> {
    pub conn: &'a Connection,
}

impl TreeStorage for SqliteTree<'_> {
    type Error = DbError;

    fn stored_node(&self, id: NodeId) -> DbResult<Option<Hash>> {
        let bytes: Option<Vec<u8>> = self
            .conn
            .prepare_cached("SELECT hash FROM tree_node WHERE level = ?1 AND idx = ?2")?
            .query_row(params![id.level, codec::sql_index(id.index)], |r| r.get(0))
            .optional()?;
        Ok(bytes.map(|b| codec::hash("tree node", &b)).transpose()?)
    }

    fn leaves(&self, from: u64, to: u64) -> DbResult<Vec<Hash>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT leaf FROM ledger WHERE idx >= ?1 AND idx < ?2 ORDER BY idx")?;
        let mut rows = st.query([codec::sql_index(from), codec::sql_index(to)])?;
        let mut leaves = Vec::with_capacity(1 << LOWEST_STORED_LEVEL);
        while let Some(row) = rows.next()? {
            leaves.push(codec::hash(
                "leaf",
                row.get_ref(0)?.as_blob().map_err(rusqlite::Error::from)?,
            )?);
        }
        Ok(leaves)
    }
}

/// The tree of `conn`, with the nodes of the commit in progress if any.
pub(crate) fn nodes<'a>(
    tree: &'a SqliteTree<'a>,
    fresh: Option<&'a HashMap<NodeId, Hash>>,
) -> Nodes<'a, SqliteTree<'a>> {
    Nodes {
        storage: tree,
        fresh,
    }
}

/// The number of entries in the ledger.
pub(crate) fn ledger_size(conn: &Connection) -> DbResult<u64> {
    let next: i64 = conn
        .prepare_cached("SELECT COALESCE(MAX(idx) + 1, 0) FROM ledger")?
        .query_row([], |r| r.get(0))?;
    Ok(codec::index("ledger size", next)?)
}

/// The latest stored checkpoint, if any.
pub(crate) fn latest_checkpoint(conn: &Connection) -> DbResult<Option<SignedCheckpoint>> {
    let note: Option<Vec<u8>> = conn
        .prepare_cached("SELECT note FROM checkpoint ORDER BY size DESC LIMIT 1")?
        .query_row([], |r| r.get(0))
        .optional()?;
    note.map(|n| SignedCheckpoint::parse(&n).map_err(|e| DbError::corrupt("checkpoint", e)))
        .transpose()
}

/// The writer thread's state.
pub(crate) struct Writer {
    conn: Connection,
    cache: ViewCache,
    positions: Positions,
    frontier: Frontier,
    latest: SignedCheckpoint,
    shared: Arc<Shared>,
    commits: Arc<AtomicU64>,
}

/// One request's outcome inside a group: the appended entries, or its error.
type Outcome = Result<Vec<(u64, Vec<u8>)>, StoreError>;

impl Writer {
    /// Opens the write connection, restores the tree's right edge from the
    /// stored nodes (one read of at most 64) and signs the empty tree's
    /// checkpoint for a new log.
    ///
    /// # Errors
    /// When the database cannot be opened or migrated, or its tree is broken.
    pub(crate) fn open(
        path: &Path,
        shared: Arc<Shared>,
        commits: Arc<AtomicU64>,
    ) -> DbResult<Writer> {
        let conn = schema::open_writer(path)?;
        let size = ledger_size(&conn)?;
        let frontier = Frontier::from_nodes(size, &nodes(&SqliteTree { conn: &conn }, None))?;
        let latest = match latest_checkpoint(&conn)? {
            Some(cp) => {
                let c = cp.checkpoint();
                if c.size() != size || c.root() != frontier.root() {
                    tracing::error!(
                        checkpoint_size = c.size(),
                        ledger_size = size,
                        "the latest checkpoint does not match the stored tree; run the audit"
                    );
                }
                cp
            }
            None => {
                let cp = sign(&shared.key, &frontier)?;
                conn.prepare_cached("INSERT INTO checkpoint (size, note) VALUES (?1, ?2)")?
                    .execute(params![codec::sql_index(size), cp.as_bytes()])?;
                cp
            }
        };
        Ok(Writer {
            conn,
            cache: ViewCache::new(),
            positions: Positions::default(),
            frontier,
            latest,
            shared,
            commits,
        })
    }

    /// Serves requests until every sender is gone.
    pub(crate) fn run(mut self, jobs: &mpsc::Receiver<Job>) {
        while let Ok(first) = jobs.recv() {
            let mut group = vec![first];
            while group.len() < MAX_GROUP {
                match jobs.try_recv() {
                    Ok(job) => group.push(job),
                    Err(_) => break,
                }
            }
            self.commit_group(group);
        }
    }

    fn commit_group(&mut self, group: Vec<Job>) {
        let before = self.frontier.clone();
        let mut fresh = HashMap::new();
        let outcomes = match self.run_group(&group, &mut fresh) {
            Ok(outcomes) => outcomes,
            Err(e) => {
                if let Err(rollback) = self.conn.execute_batch("ROLLBACK") {
                    tracing::debug!(%rollback, "nothing to roll back");
                }
                self.cache.clear();
                self.positions.discard();
                self.frontier = before;
                tracing::error!(error = %e, "group commit failed");
                for job in group {
                    answer(
                        job,
                        Err(StoreError::internal(&e)),
                        &self.latest,
                        &self.conn,
                        &fresh,
                    );
                }
                return;
            }
        };
        for (job, outcome) in group.into_iter().zip(outcomes) {
            answer(job, outcome, &self.latest, &self.conn, &fresh);
        }
    }

    /// Runs every request of the group in one transaction and commits it.
    fn run_group(
        &mut self,
        group: &[Job],
        fresh: &mut HashMap<NodeId, Hash>,
    ) -> DbResult<Vec<Outcome>> {
        let start = self.frontier.size();
        // One record time for the whole group: the moment it was sequenced.
        let now = RecordTime::new(self.shared.clock.now())?;
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        let mut outcomes = Vec::with_capacity(group.len());
        for job in group {
            let (scope, batch, receipts) = match job {
                Job::Append { scope, batch, .. } => (scope, batch, true),
                Job::Load { batch, .. } => (&Scope::Operator, batch, false),
            };
            outcomes.push(self.run_request(scope, batch, &now, receipts.then_some(&mut *fresh))?);
        }
        if self.frontier.size() == start {
            self.conn.execute_batch("ROLLBACK")?;
            self.cache.clear();
            return Ok(outcomes);
        }
        let checkpoint = sign(&self.shared.key, &self.frontier)?;
        self.conn
            .prepare_cached("INSERT INTO checkpoint (size, note) VALUES (?1, ?2)")?
            .execute(params![
                codec::sql_index(self.frontier.size()),
                checkpoint.as_bytes()
            ])?;
        self.conn.execute_batch("COMMIT")?;
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.latest = checkpoint;
        Ok(outcomes)
    }

    /// Runs one request inside its own savepoint. A refusal rolls the request
    /// back and becomes its outcome; a database failure fails the group.
    fn run_request(
        &mut self,
        scope: &Scope,
        batch: &[Record],
        now: &RecordTime,
        fresh: Option<&mut HashMap<NodeId, Hash>>,
    ) -> DbResult<Outcome> {
        self.conn.execute_batch("SAVEPOINT request")?;
        let before = self.frontier.clone();
        let keep = fresh.is_some();
        let mut nodes = Vec::new();
        let mut appended = Vec::new();
        let sequencer = Sequencer {
            conn: &self.conn,
            cache: &self.cache,
            positions: &self.positions,
            secret: &self.shared.secret,
            projector: &self.shared.projector,
        };
        let mut refused = None;
        for (i, record) in batch.iter().enumerate() {
            if let Err(e) = permitted(scope, i, record) {
                refused = Some(e);
                break;
            }
            let index = self.frontier.size();
            let sequenced = match sequencer.record(index, now, record) {
                Ok(s) => s,
                Err(SequenceError::Refused(refusal)) => {
                    refused = Some(StoreError::Refused { record: i, refusal });
                    break;
                }
                Err(SequenceError::Failed(e)) => {
                    refused = Some(StoreError::internal(&e));
                    tracing::error!(error = %e, record = i, "sequencing failed");
                    break;
                }
            };
            let mut insert = self
                .conn
                .prepare_cached("INSERT INTO tree_node (level, idx, hash) VALUES (?1, ?2, ?3)")?;
            for (id, hash) in self.frontier.push(sequenced.leaf) {
                // The leaf is the ledger row's; low levels are recomputed (see Nodes).
                if id.level >= LOWEST_STORED_LEVEL {
                    insert.execute(params![id.level, codec::sql_index(id.index), &hash.0[..]])?;
                }
                if keep {
                    nodes.push((id, hash));
                }
            }
            if keep {
                appended.push((index, sequenced.entry));
            }
        }
        if let Some(error) = refused {
            self.conn
                .execute_batch("ROLLBACK TO request; RELEASE request")?;
            self.cache.clear();
            self.positions.discard();
            self.frontier = before;
            return Ok(Err(error));
        }
        self.positions.flush(&self.conn)?;
        self.conn.execute_batch("RELEASE request")?;
        if let Some(fresh) = fresh {
            fresh.extend(nodes);
        }
        Ok(Ok(appended))
    }
}

/// Signs the checkpoint of the tree's current size and root (C2SP tlog-checkpoint).
fn sign(key: &LogKey, frontier: &Frontier) -> DbResult<SignedCheckpoint> {
    let checkpoint = Checkpoint::new(key.origin(), frontier.size(), frontier.root())
        .map_err(|e| DbError::corrupt("log origin", e))?;
    Ok(checkpoint.sign(key))
}

/// Whether `scope` may write `record` (DESIGN.md §3: the scope is checked in
/// the storage layer, not by each handler).
fn permitted(scope: &Scope, i: usize, record: &Record) -> Result<(), StoreError> {
    match record {
        Record::Flow(f) if !scope.may_record_for(&f.enterprise) => Err(StoreError::Forbidden {
            record: i,
            why: format!(
                "only {} itself or the operator records its flows",
                f.enterprise
            ),
        }),
        Record::Act(_) if !scope.may_act() => Err(StoreError::Forbidden {
            record: i,
            why: "only the operator performs acts on the register".to_owned(),
        }),
        _ => Ok(()),
    }
}

/// Answers one request after its group committed: receipts against the
/// group's checkpoint for an append, the checkpoint itself for a load. A
/// caller that stopped waiting has nothing to be told, so a failed send is
/// ignored — what committed stays committed.
fn answer(
    job: Job,
    outcome: Outcome,
    checkpoint: &SignedCheckpoint,
    conn: &Connection,
    fresh: &HashMap<NodeId, Hash>,
) {
    match job {
        Job::Load { reply, .. } => {
            let _ = reply.send(outcome.map(|_| checkpoint.clone()));
        }
        Job::Append { reply, .. } => {
            let answer =
                outcome.and_then(|appended| receipts(appended, checkpoint.clone(), conn, fresh));
            let _ = reply.send(answer);
        }
    }
}

/// Receipts against the commit's checkpoint; the nodes the commit wrote are
/// still in memory, so a proof reads at most a few older nodes.
fn receipts(
    appended: Vec<(u64, Vec<u8>)>,
    checkpoint: SignedCheckpoint,
    conn: &Connection,
    fresh: &HashMap<NodeId, Hash>,
) -> Result<Appended, StoreError> {
    let size = checkpoint.checkpoint().size();
    let tree = SqliteTree { conn };
    let nodes = nodes(&tree, Some(fresh));
    let receipts = appended
        .into_iter()
        .map(|(index, entry)| {
            let proof = inclusion_proof(index, size, &nodes).map_err(StoreError::internal)?;
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
    })
}
