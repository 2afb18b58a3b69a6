//! The one sequencer (DESIGN.md §3 "sequence: one writer"): a dedicated
//! thread owns the write connection and the tree's right edge, and
//! group-commits.
//!
//! Every request waiting in the channel (up to [`MAX_GROUP`]) joins one
//! transaction. Each request runs inside its own SAVEPOINT, so a refused batch
//! is rolled back alone and answered with its error while the others go on —
//! each batch all or nothing. Its rows are written when it ends, through
//! binary COPY ([`crate::pending`]). Then the root is computed, one
//! checkpoint is signed and stored, the transaction commits once (one WAL
//! flush for the whole group) and every request is answered with receipts
//! against that checkpoint.
//!
//! A [`Job`] is one kind of request; the group runs each in its own
//! savepoint in arrival order, so any other kind of write that must land in
//! the same transaction as the ledger append (an audit-trail record, an
//! idempotency key) is one more variant of it.
//!
//! Only one process may sequence a ledger, or two would sign different trees
//! of the same size — a fork. Before its first write a writer tries to take
//! the session-level advisory lock [`SEQUENCER_LOCK`] on its connection and,
//! once it has it, holds it for as long as the connection lives; the right
//! edge is read after the lock is taken, so it is always the latest commit's.
//! A writer that does not get the lock queues what it is asked to append
//! ([`crate::forward`]) for the sequencer, which polls the queue every
//! [`POLL`], and waits for the outcome — trying the lock again every
//! [`ELECTION`], so that when the sequencer's process dies (its connection
//! closes, the lock is released) one of the waiting writers takes over
//! within a fraction of a second and sequences what is queued, its own
//! batches included. Every node therefore accepts capture and answers
//! queries; exactly one sequences.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use retrace_domain::clock::Clock;
use retrace_domain::project::Projector;
use retrace_domain::record::Record;
use retrace_ledger::checkpoint::{Checkpoint, LogKey, SignedCheckpoint};
use retrace_ledger::hash::Hash;
use retrace_ledger::proof::inclusion_proof;
use retrace_ledger::receipt::Receipt;
use retrace_ledger::tree::{Frontier, NodeId};
use retrace_store::cache::ViewCache;
use retrace_store::nodes::{LOWEST_STORED_LEVEL, Nodes, TreeStorage};
use retrace_store::{Appended, Scope, StoreError};
use tokio::sync::oneshot;

use crate::codec::{self, RecordTime};
use crate::connection::Conn;
use crate::error::{DbError, DbResult};
use crate::forward::Queued;
use crate::pending::Pending;
use crate::schema;
use crate::sequence::{Counters, SequenceError, Sequencer};

/// The most requests one commit takes: enough that a burst of interactive
/// appends shares one WAL flush, few enough that the first of them is not
/// kept waiting for the last.
const MAX_GROUP: usize = 256;

/// The advisory lock the sequencer holds (`pg_advisory_lock`): "rtrcseq" in ASCII.
pub(crate) const SEQUENCER_LOCK: i64 = 0x0072_7472_6373_6571;

/// How often the sequencer looks for batches other nodes queued, and a
/// waiting node for their outcomes.
const POLL: Duration = Duration::from_millis(20);

/// How often a node that has batches waiting tries to take the sequencer lock.
const ELECTION: Duration = Duration::from_millis(250);

/// What the sequencer and the audit share: the log's key, the salt secret,
/// the clock and the projector.
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

/// A request to the sequencer.
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
    /// Entries of another store's ledger, sequenced again at the index and
    /// record time they had there, to move a ledger without changing a leaf.
    Replay {
        first: u64,
        time: String,
        batch: Vec<Record>,
        reply: mpsc::SyncSender<Result<SignedCheckpoint, StoreError>>,
    },
}

/// The tree as PostgreSQL stores it: the leaves are `leaf.hash`, the nodes
/// from [`LOWEST_STORED_LEVEL`] up are `tree_node`'s.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PgTree<'a> {
    pub conn: &'a Conn,
}

impl TreeStorage for PgTree<'_> {
    type Error = DbError;

    fn stored_node(&self, id: NodeId) -> DbResult<Option<Hash>> {
        let bytes: Option<Vec<u8>> = self
            .conn
            .query_opt(
                "SELECT hash FROM tree_node WHERE level = $1 AND idx = $2",
                &[&i16::from(id.level), &codec::sql_index(id.index)],
            )?
            .map(|r| r.try_get(0))
            .transpose()?;
        Ok(bytes.map(|b| codec::hash("tree node", &b)).transpose()?)
    }

    fn leaves(&self, from: u64, to: u64) -> DbResult<Vec<Hash>> {
        self.conn
            .query(
                "SELECT hash FROM leaf WHERE idx >= $1 AND idx < $2 ORDER BY idx",
                &[&codec::sql_index(from), &codec::sql_index(to)],
            )?
            .iter()
            .map(|r| Ok(codec::hash("leaf", r.try_get(0)?)?))
            .collect()
    }
}

/// The tree of `conn`, with the nodes of the commit in progress if any.
pub(crate) fn nodes<'a>(
    tree: &'a PgTree<'a>,
    fresh: Option<&'a HashMap<NodeId, Hash>>,
) -> Nodes<'a, PgTree<'a>> {
    Nodes {
        storage: tree,
        fresh,
    }
}

/// The number of entries in the ledger.
pub(crate) fn ledger_size(conn: &Conn) -> DbResult<u64> {
    let next: i64 = conn
        .query_one("SELECT COALESCE(MAX(idx) + 1, 0) FROM leaf", &[])?
        .try_get(0)?;
    Ok(codec::index("ledger size", next)?)
}

/// The latest stored checkpoint, if any.
pub(crate) fn latest_checkpoint(conn: &Conn) -> DbResult<Option<SignedCheckpoint>> {
    let note: Option<Vec<u8>> = conn
        .query_opt(
            "SELECT note FROM checkpoint ORDER BY size DESC LIMIT 1",
            &[],
        )?
        .map(|r| r.try_get(0))
        .transpose()?;
    note.map(|n| SignedCheckpoint::parse(&n).map_err(|e| DbError::corrupt("checkpoint", e)))
        .transpose()
}

/// Stores the signed checkpoint of the empty tree if the log has none, so
/// that a new log answers with a checkpoint before its first append. Ed25519
/// signatures are deterministic, so every node that does this stores the
/// same note, and the first one wins.
pub(crate) fn sign_empty_log(conn: &Conn, key: &LogKey) -> DbResult<()> {
    let cp = sign(key, &Frontier::new())?;
    conn.execute(
        "INSERT INTO checkpoint (size, note) VALUES (0, $1) ON CONFLICT (size) DO NOTHING",
        &[&cp.as_bytes()],
    )?;
    Ok(())
}

/// The tree and checkpoint the sequencer goes on from, read once it holds the lock.
struct Edge {
    frontier: Frontier,
    latest: SignedCheckpoint,
    counters: Counters,
    /// The ledger's size when the planner's statistics were last refreshed.
    analyzed_at: u64,
}

/// The sequencer thread's state.
pub(crate) struct Writer {
    conn: Conn,
    cache: ViewCache,
    pending: Pending,
    edge: Option<Edge>,
    /// Whether the connection works as `retrace_sequencer`.
    as_sequencer: bool,
    /// Batches queued for the sequencer, by queue id, with their callers.
    waiting: Vec<(i64, Job)>,
    /// When this writer last tried to take the sequencer lock.
    tried: Option<Instant>,
    shared: Arc<Shared>,
    commits: Arc<AtomicU64>,
}

/// One request's outcome inside a group: the appended entries, or its error.
type Outcome = Result<Vec<(u64, Vec<u8>)>, StoreError>;

impl Writer {
    pub(crate) fn new(conn: Conn, shared: Arc<Shared>, commits: Arc<AtomicU64>) -> Writer {
        Writer {
            conn,
            cache: ViewCache::new(),
            pending: Pending::default(),
            edge: None,
            as_sequencer: false,
            waiting: Vec::new(),
            tried: None,
            shared,
            commits,
        }
    }

    /// Serves requests until every sender is gone.
    pub(crate) fn run(mut self, jobs: &mpsc::Receiver<Job>) {
        loop {
            let first = if self.edge.is_none() && self.waiting.is_empty() {
                match jobs.recv() {
                    Ok(job) => Some(job),
                    Err(_) => return,
                }
            } else {
                match jobs.recv_timeout(POLL) {
                    Ok(job) => Some(job),
                    Err(mpsc::RecvTimeoutError::Timeout) => None,
                    Err(mpsc::RecvTimeoutError::Disconnected) => return,
                }
            };
            let mut group: Vec<Job> = first.into_iter().collect();
            while group.len() < MAX_GROUP {
                match jobs.try_recv() {
                    Ok(job) => group.push(job),
                    Err(_) => break,
                }
            }
            self.step(group);
        }
    }

    /// Sequences `group` with whatever other nodes queued if this writer
    /// holds (or now takes) the sequencer lock; queues it otherwise. Then
    /// answers the callers whose queued batches have an outcome.
    fn step(&mut self, group: Vec<Job>) {
        let due = self.tried.is_none_or(|t| t.elapsed() >= ELECTION);
        if self.edge.is_none() && (due || !group.is_empty()) {
            self.tried = Some(Instant::now());
            if let Err(e) = self.elect() {
                tracing::error!(error = %e, "cannot take part in sequencing");
            }
        }
        if self.edge.is_some() {
            let queued = match crate::forward::queued(&self.conn, MAX_GROUP) {
                Ok(q) => q,
                Err(e) => {
                    tracing::error!(error = %e, "reading the capture queue failed");
                    Vec::new()
                }
            };
            if !group.is_empty() || !queued.is_empty() {
                self.commit_group(group, queued);
            }
        } else {
            for job in group {
                self.forward(job);
            }
        }
        self.collect_outcomes();
    }

    /// Queues a job for the sequencer, or answers it with the error that
    /// it could not be queued.
    fn forward(&mut self, job: Job) {
        let queued = match &job {
            Job::Append { scope, batch, .. } => crate::forward::enqueue(&self.conn, scope, batch),
            Job::Load { batch, .. } => crate::forward::enqueue(&self.conn, &Scope::Operator, batch),
            Job::Replay { .. } => {
                fail(
                    job,
                    StoreError::Internal(
                        "another process sequences this ledger; a ledger is copied into a store only its sequencer writes"
                            .to_owned(),
                    ),
                );
                return;
            }
        };
        match queued {
            Ok(id) => self.waiting.push((id, job)),
            Err(e) => {
                tracing::error!(error = %e, "queueing a batch for the sequencer failed");
                fail(job, StoreError::internal(&e));
            }
        }
    }

    /// Answers the callers whose queued batches the sequencer has finished.
    fn collect_outcomes(&mut self) {
        if self.waiting.is_empty() {
            return;
        }
        let ids: Vec<i64> = self.waiting.iter().map(|(id, _)| *id).collect();
        let arrived = match crate::forward::results(&self.conn, &ids) {
            Ok(arrived) => arrived,
            Err(e) => {
                tracing::error!(error = %e, "reading capture outcomes failed");
                return;
            }
        };
        for (id, outcome) in arrived {
            let Some(at) = self.waiting.iter().position(|(w, _)| *w == id) else {
                continue;
            };
            let (_, job) = self.waiting.swap_remove(at);
            match job {
                Job::Append { reply, .. } => {
                    let _ = reply.send(outcome);
                }
                Job::Load { reply, .. } | Job::Replay { reply, .. } => {
                    let _ = reply.send(outcome.map(|a| a.checkpoint));
                }
            }
        }
    }

    /// Tries once to take the sequencer lock and, with it, reads the right
    /// edge of the tree; does nothing if this writer already sequences.
    fn elect(&mut self) -> Result<(), String> {
        if self.edge.is_some() {
            return Ok(());
        }
        let locked: bool = self
            .conn
            .query_one("SELECT pg_try_advisory_lock($1)", &[&SEQUENCER_LOCK])
            .and_then(|r| Ok(r.try_get(0)?))
            .map_err(|e| e.to_string())?;
        if !locked {
            return Ok(());
        }
        // Append-only by privilege too: from here on this connection may
        // not UPDATE, DELETE or TRUNCATE the ledger (see migration 1).
        self.as_sequencer = match self.conn.batch("SET ROLE retrace_sequencer") {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "sequencing as the connecting role: the triggers alone guard the ledger");
                false
            }
        };
        let edge = self.read_edge().map_err(|e| e.to_string())?;
        let c = edge.latest.checkpoint();
        if c.size() != edge.frontier.size() || c.root() != edge.frontier.root() {
            tracing::error!(
                checkpoint_size = c.size(),
                ledger_size = edge.frontier.size(),
                "the latest checkpoint does not match the stored tree; run the audit"
            );
        }
        self.edge = Some(edge);
        Ok(())
    }

    /// Restores the tree's right edge from the stored nodes (one read of at
    /// most 64) and the latest checkpoint.
    fn read_edge(&self) -> DbResult<Edge> {
        let size = ledger_size(&self.conn)?;
        let frontier = Frontier::from_nodes(size, &nodes(&PgTree { conn: &self.conn }, None))?;
        sign_empty_log(&self.conn, &self.shared.key)?;
        let latest = latest_checkpoint(&self.conn)?
            .ok_or_else(|| DbError::corrupt("checkpoint", "none after signing one"))?;
        Ok(Edge {
            frontier,
            latest,
            counters: Counters::load(&self.conn)?,
            analyzed_at: size,
        })
    }

    fn commit_group(&mut self, group: Vec<Job>, queued: Vec<Queued>) {
        let mut fresh = HashMap::new();
        let outcomes = match self.run_group(&group, &queued, &mut fresh) {
            Ok(outcomes) => outcomes,
            Err(e) => {
                if let Err(rollback) = self.conn.batch("ROLLBACK") {
                    tracing::debug!(%rollback, "nothing to roll back");
                }
                self.cache.clear();
                self.pending.discard();
                // The lock may be gone with a broken connection, and the
                // edge with the rollback: read both again before the next write.
                self.edge = None;
                tracing::error!(error = %e, "group commit failed");
                for job in group {
                    fail(job, StoreError::internal(&e));
                }
                return;
            }
        };
        let Some(edge) = &mut self.edge else { return };
        let tree = PgTree { conn: &self.conn };
        for (job, outcome) in group.into_iter().zip(outcomes) {
            answer(job, outcome, &edge.latest, &tree, &fresh);
        }
        let size = edge.frontier.size();
        if schema::analyze_due(edge.analyzed_at, size) {
            // ANALYZE needs the tables' owner: the connecting role.
            let analyzed = if self.as_sequencer {
                self.conn
                    .batch("RESET ROLE")
                    .and_then(|()| schema::analyze(&self.conn))
                    .and_then(|()| self.conn.batch("SET ROLE retrace_sequencer"))
            } else {
                schema::analyze(&self.conn)
            };
            match analyzed {
                Ok(()) => edge.analyzed_at = size,
                Err(e) => tracing::warn!(error = %e, "refreshing the planner's statistics failed"),
            }
        }
    }

    /// Runs every request of the group in one transaction and commits it.
    fn run_group(
        &mut self,
        group: &[Job],
        queued: &[Queued],
        fresh: &mut HashMap<NodeId, Hash>,
    ) -> DbResult<Vec<Outcome>> {
        let edge = self.edge.as_mut().expect("elected before the group runs");
        let start = edge.frontier.size();
        // One record time for the whole group: the moment it was sequenced.
        let now = RecordTime::new(self.shared.clock.now())?;
        self.conn.batch("BEGIN")?;
        let mut outcomes = Vec::with_capacity(group.len());
        for job in group {
            let request = Request {
                conn: &self.conn,
                cache: &self.cache,
                pending: &self.pending,
                shared: &self.shared,
            };
            let outcome = match job {
                Job::Append { scope, batch, .. } => {
                    request.run(edge, scope, batch, &now, Some(&mut *fresh))?
                }
                Job::Load { batch, .. } => {
                    request.run(edge, &Scope::Operator, batch, &now, None)?
                }
                Job::Replay {
                    first, time, batch, ..
                } => match replayed_time(*first, time, edge, &now) {
                    Ok(time) => request.run(edge, &Scope::Operator, batch, &time, None)?,
                    Err(e) => Err(e),
                },
            };
            outcomes.push(outcome);
        }
        let mut queued_outcomes = Vec::with_capacity(queued.len());
        for q in queued {
            let request = Request {
                conn: &self.conn,
                cache: &self.cache,
                pending: &self.pending,
                shared: &self.shared,
            };
            queued_outcomes.push(request.run(edge, &q.scope, &q.batch, &now, Some(&mut *fresh))?);
        }
        if edge.frontier.size() == start && queued.is_empty() {
            self.conn.batch("ROLLBACK")?;
            self.cache.clear();
            edge.counters.forget(edge.counters.next_lot());
            return Ok(outcomes);
        }
        let checkpoint = if edge.frontier.size() == start {
            edge.latest.clone()
        } else {
            let checkpoint = sign(&self.shared.key, &edge.frontier)?;
            self.conn.execute(
                "INSERT INTO checkpoint (size, note) VALUES ($1, $2)",
                &[
                    &codec::sql_index(edge.frontier.size()),
                    &checkpoint.as_bytes(),
                ],
            )?;
            checkpoint
        };
        // The queued batches' outcomes go in with the entries: exactly once.
        let tree = PgTree { conn: &self.conn };
        for (q, outcome) in queued.iter().zip(queued_outcomes) {
            let answer =
                outcome.and_then(|appended| receipts(appended, checkpoint.clone(), &tree, fresh));
            crate::forward::finish(&self.conn, q.id, &answer)?;
        }
        self.conn.batch("COMMIT")?;
        self.commits.fetch_add(1, Ordering::Relaxed);
        edge.latest = checkpoint;
        Ok(outcomes)
    }
}

/// One request of a group, run inside its own savepoint.
struct Request<'a> {
    conn: &'a Conn,
    cache: &'a ViewCache,
    pending: &'a Pending,
    shared: &'a Shared,
}

impl Request<'_> {
    /// A refusal rolls the request back and becomes its outcome; a database
    /// failure fails the group.
    fn run(
        &self,
        edge: &mut Edge,
        scope: &Scope,
        batch: &[Record],
        now: &RecordTime,
        fresh: Option<&mut HashMap<NodeId, Hash>>,
    ) -> DbResult<Outcome> {
        self.conn.batch("SAVEPOINT request")?;
        crate::view::prefetch(
            &crate::view::TableView {
                conn: self.conn,
                cache: self.cache,
                pending: self.pending,
            },
            batch,
        )?;
        let before = edge.frontier.clone();
        let next_lot = edge.counters.next_lot();
        let keep = fresh.is_some();
        let mut nodes = Vec::new();
        let mut appended = Vec::new();
        let sequencer = Sequencer {
            conn: self.conn,
            cache: self.cache,
            pending: self.pending,
            counters: &edge.counters,
            secret: &self.shared.secret,
            projector: &self.shared.projector,
        };
        let mut refused = None;
        for (i, record) in batch.iter().enumerate() {
            if let Err(e) = permitted(scope, i, record) {
                refused = Some(e);
                break;
            }
            let index = edge.frontier.size();
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
            for (id, hash) in edge.frontier.push(sequenced.leaf) {
                // The leaf is the leaf table's; low levels are recomputed (see Nodes).
                if id.level >= LOWEST_STORED_LEVEL {
                    self.pending.node(id.level, id.index, hash.0);
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
            self.conn.batch("ROLLBACK TO request; RELEASE request")?;
            self.cache.clear();
            self.pending.discard();
            edge.frontier = before;
            edge.counters.forget(next_lot);
            return Ok(Err(error));
        }
        self.pending.flush(self.conn)?;
        self.conn.batch("RELEASE request")?;
        if let Some(fresh) = fresh {
            fresh.extend(nodes);
        }
        Ok(Ok(appended))
    }
}

/// The record time a replayed batch keeps: it must continue the log at its
/// size and lie no later than now.
fn replayed_time(
    first: u64,
    time: &str,
    edge: &Edge,
    now: &RecordTime,
) -> Result<RecordTime, StoreError> {
    let size = edge.frontier.size();
    if first != size {
        return Err(StoreError::BadRequest(format!(
            "a replayed batch starting at entry {first} does not continue a log of {size} entries"
        )));
    }
    let time = RecordTime::parse(time)
        .map_err(|e| StoreError::BadRequest(format!("a replayed batch's record time: {e}")))?;
    if time.at > now.at {
        return Err(StoreError::BadRequest(format!(
            "a replayed batch's record time {} lies in the future",
            time.text
        )));
    }
    Ok(time)
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

/// Answers a request of a group that failed as a whole.
fn fail(job: Job, error: StoreError) {
    match job {
        Job::Load { reply, .. } | Job::Replay { reply, .. } => {
            let _ = reply.send(Err(error));
        }
        Job::Append { reply, .. } => {
            let _ = reply.send(Err(error));
        }
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
    tree: &PgTree<'_>,
    fresh: &HashMap<NodeId, Hash>,
) {
    match job {
        Job::Load { reply, .. } | Job::Replay { reply, .. } => {
            let _ = reply.send(outcome.map(|_| checkpoint.clone()));
        }
        Job::Append { reply, .. } => {
            let answer =
                outcome.and_then(|appended| receipts(appended, checkpoint.clone(), tree, fresh));
            let _ = reply.send(answer);
        }
    }
}

/// Receipts against the commit's checkpoint; the nodes the commit wrote are
/// still in memory, so a proof reads at most a few older nodes.
fn receipts(
    appended: Vec<(u64, Vec<u8>)>,
    checkpoint: SignedCheckpoint,
    tree: &PgTree<'_>,
    fresh: &HashMap<NodeId, Hash>,
) -> Result<Appended, StoreError> {
    let size = checkpoint.checkpoint().size();
    let nodes = nodes(tree, Some(fresh));
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
