//! The one sequencer (DESIGN.md §3 "sequence: one writer"): a dedicated
//! thread owns the write connection and the right edges of both trees — the
//! ledger and the audit trail — and group-commits, in the embedded store's
//! shape (`retrace-store-sqlite`'s writer).
//!
//! Every request waiting in the channel (up to [`MAX_GROUP`]) joins one
//! transaction. Each request runs inside its own SAVEPOINT, so a refused batch
//! is rolled back alone and answered with its error while the others go on —
//! each batch all or nothing. Its rows are written when it ends, through
//! binary COPY ([`crate::pending`]). Every request leaves its audit trail
//! entry, outside its savepoint, so that a refusal is on the trail too; an
//! idempotency key is stored with the size of the group's checkpoint, and a
//! retry is answered with the first request's receipts. Then the roots are
//! computed, one checkpoint per log that grew is signed and stored, the
//! transaction commits once (one WAL flush for the whole group) and every
//! request is answered.
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

//!
//! A change to accounts, sessions, tokens or throttle state needs no
//! sequencer: on a node that does not sequence it is made there, in a
//! transaction that queues its trail event, so that the change and its
//! trail entry still commit together; the sequencer gives the event its
//! index in the trail.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use retrace_domain::clock::Clock;
use retrace_domain::project::Projector;
use retrace_domain::record::Record;
use retrace_ledger::checkpoint::{LogKey, SignedCheckpoint};
use retrace_ledger::hash::Hash;
use retrace_ledger::tree::{Frontier, NodeId};
use retrace_store::cache::ViewCache;
use retrace_store::trail::{append_event, error_status};
use retrace_store::write::{GroupKeys, Recorded, StoredKey, receipts, trail_outcome};
use retrace_store::{Appended, Authority, StoreError, TrailEvent, WriteContext};
use tokio::sync::oneshot;

use crate::codec::{self, RecordTime};
use crate::connection::Conn;
use crate::error::{DbError, DbResult};
use crate::forward::{self, Outcome as QueuedOutcome, Queued, Request as QueuedRequest};
use crate::identity::{self, Change, Done};
use crate::log::{self, LEDGER, LOWEST_STORED_LEVEL, TRAIL};
use crate::pending::Pending;
use crate::schema;
use crate::sequence::{Counters, SequenceError, Sequencer};
use crate::trail;

/// The most requests one commit takes: enough that a burst of interactive
/// appends shares one WAL flush, few enough that the first of them is not
/// kept waiting for the last.
const MAX_GROUP: usize = 256;

/// The advisory lock the sequencer holds (`pg_advisory_lock`): "rtrcseq" in ASCII.
pub(crate) const SEQUENCER_LOCK: i64 = 0x0072_7472_6373_6571;

/// How often the sequencer looks for requests other nodes queued, and a
/// waiting node for their outcomes.
const POLL: Duration = Duration::from_millis(20);

/// How often a node that has requests waiting tries to take the sequencer lock.
const ELECTION: Duration = Duration::from_millis(250);

/// What the sequencer and the audit share: the keys of both logs, the salt
/// secret, the clock and the projector.
pub(crate) struct Shared {
    pub key: LogKey,
    pub trail_key: LogKey,
    pub secret: [u8; 32],
    pub clock: Arc<dyn Clock>,
    pub projector: Projector,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("key", &self.key)
            .field("trail_key", &self.trail_key)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

/// A request to the sequencer.
#[derive(Debug)]
pub(crate) enum Job {
    /// An interactive append: answered with a receipt per record.
    Append {
        authority: Authority,
        batch: Vec<Record>,
        context: WriteContext,
        reply: oneshot::Sender<Result<Appended, StoreError>>,
    },
    /// A bulk load by the installation: answered with the checkpoint only.
    Load {
        batch: Vec<Record>,
        context: WriteContext,
        reply: mpsc::SyncSender<Result<SignedCheckpoint, StoreError>>,
    },
    /// Entries of another store's ledger, sequenced again at the index and
    /// record time they had there, to move a ledger without changing a leaf;
    /// its trail entry is the other store's, copied with its trail.
    Replay {
        first: u64,
        time: String,
        batch: Vec<Record>,
        reply: mpsc::SyncSender<Result<SignedCheckpoint, StoreError>>,
    },
    /// A change to accounts, sessions, tokens or throttle state, with its
    /// trail entry (none for a session merely used).
    Identity {
        change: Box<Change>,
        trail: Option<TrailEvent>,
        reply: oneshot::Sender<Result<Done, StoreError>>,
    },
    /// A trail entry alone: a read, a login attempt.
    Trail {
        event: Box<TrailEvent>,
        reply: oneshot::Sender<Result<u64, StoreError>>,
    },
}

/// The trees and checkpoints the sequencer goes on from, read once it holds
/// the lock.
struct Edge {
    frontier: Frontier,
    latest: SignedCheckpoint,
    trail: Frontier,
    trail_latest: SignedCheckpoint,
    counters: Counters,
    /// The ledger's size when the planner's statistics were last refreshed.
    analyzed_at: u64,
}

/// One request's outcome inside a group.
enum Outcome {
    Append(Result<Recorded, StoreError>),
    Identity(Result<Done, StoreError>),
    Trail(Result<u64, StoreError>),
}

/// What a request another node queued came to, before its answer is made.
enum QueuedDone {
    Append(Result<Recorded, StoreError>),
    Trail(u64),
}

/// The sequencer thread's state.
pub(crate) struct Writer {
    conn: Conn,
    cache: ViewCache,
    pending: Pending,
    edge: Option<Edge>,
    /// Whether the connection works as `retrace_sequencer`.
    as_sequencer: bool,
    /// Requests queued for the sequencer, by queue id, with their callers.
    waiting: Vec<(i64, Job)>,
    /// When this writer last tried to take the sequencer lock.
    tried: Option<Instant>,
    shared: Arc<Shared>,
    commits: Arc<AtomicU64>,
}

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
    /// answers the callers whose queued requests have an outcome.
    fn step(&mut self, group: Vec<Job>) {
        let due = self.tried.is_none_or(|t| t.elapsed() >= ELECTION);
        if self.edge.is_none() && (due || !group.is_empty()) {
            self.tried = Some(Instant::now());
            if let Err(e) = self.elect() {
                tracing::error!(error = %e, "cannot take part in sequencing");
            }
        }
        if self.edge.is_some() {
            let queued = match forward::queued(&self.conn, MAX_GROUP) {
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

    /// On a node that does not sequence: queues a job for the sequencer, or
    /// makes an identity change here with its trail event queued in the same
    /// transaction.
    fn forward(&mut self, job: Job) {
        let job = match job {
            Job::Identity {
                change,
                trail,
                reply,
            } => {
                let _ = reply.send(self.identity_here(&change, trail.as_ref()));
                return;
            }
            job => job,
        };
        let request = match &job {
            Job::Append {
                authority,
                batch,
                context,
                ..
            } => QueuedRequest::Append {
                authority: authority.clone(),
                batch: batch.clone(),
                context: context.clone(),
            },
            Job::Load { batch, context, .. } => QueuedRequest::Append {
                authority: Authority::Installation,
                batch: batch.clone(),
                context: context.clone(),
            },
            Job::Trail { event, .. } => QueuedRequest::Trail {
                event: (**event).clone(),
                answer: true,
            },
            Job::Identity { .. } | Job::Replay { .. } => {
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
        match forward::enqueue(&self.conn, &request) {
            Ok(id) => self.waiting.push((id, job)),
            Err(e) => {
                tracing::error!(error = %e, "queueing a request for the sequencer failed");
                fail(job, StoreError::internal(&e));
            }
        }
    }

    /// Makes an identity change on this node, queueing its trail event (with
    /// the refusal, if it is refused) in the same transaction.
    fn identity_here(
        &self,
        change: &Change,
        trail: Option<&TrailEvent>,
    ) -> Result<Done, StoreError> {
        let run = || -> DbResult<Result<Done, StoreError>> {
            let now = RecordTime::new(self.shared.clock.now())?;
            self.conn.batch("BEGIN")?;
            let done = run_identity(&self.conn, change, &now)?;
            if let Some(event) = trail {
                let event = with_outcome(event, &done);
                forward::enqueue(
                    &self.conn,
                    &QueuedRequest::Trail {
                        event,
                        answer: false,
                    },
                )?;
            }
            self.conn.batch("COMMIT")?;
            Ok(done)
        };
        run().unwrap_or_else(|e| {
            if let Err(rollback) = self.conn.batch("ROLLBACK") {
                tracing::debug!(%rollback, "nothing to roll back");
            }
            tracing::error!(error = %e, "an identity change failed");
            Err(StoreError::internal(&e))
        })
    }

    /// Answers the callers whose queued requests the sequencer has finished.
    fn collect_outcomes(&mut self) {
        if self.waiting.is_empty() {
            return;
        }
        let ids: Vec<i64> = self.waiting.iter().map(|(id, _)| *id).collect();
        let arrived = match forward::results(&self.conn, &ids) {
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
            match (job, outcome) {
                (Job::Append { reply, .. }, QueuedOutcome::Appended(a)) => {
                    let _ = reply.send(a);
                }
                (Job::Load { reply, .. }, QueuedOutcome::Appended(a)) => {
                    let _ = reply.send(a.map(|a| a.checkpoint));
                }
                (Job::Trail { reply, .. }, QueuedOutcome::Trail(index)) => {
                    let _ = reply.send(index);
                }
                (Job::Trail { reply, .. }, QueuedOutcome::Appended(Err(e))) => {
                    let _ = reply.send(Err(e));
                }
                (job, _) => fail(
                    job,
                    StoreError::Internal("a queued request got another kind's outcome".to_owned()),
                ),
            }
        }
    }

    /// Tries once to take the sequencer lock and, with it, reads the right
    /// edges of both trees; does nothing if this writer already sequences.
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
        // not UPDATE, DELETE or TRUNCATE either log (see migrations 1 and 2).
        self.as_sequencer = match self.conn.batch("SET ROLE retrace_sequencer") {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "sequencing as the connecting role: the triggers alone guard the logs");
                false
            }
        };
        let edge = self.read_edge().map_err(|e| e.to_string())?;
        for (name, frontier, latest) in [
            ("ledger", &edge.frontier, &edge.latest),
            ("trail", &edge.trail, &edge.trail_latest),
        ] {
            let c = latest.checkpoint();
            if c.size() != frontier.size() || c.root() != frontier.root() {
                tracing::error!(
                    log = name,
                    checkpoint_size = c.size(),
                    size = frontier.size(),
                    "the latest checkpoint does not match the stored tree; run the audit"
                );
            }
        }
        self.edge = Some(edge);
        Ok(())
    }

    /// Restores both trees' right edges from the stored nodes (one read of
    /// at most 64 each) and their latest checkpoints.
    fn read_edge(&self) -> DbResult<Edge> {
        let open = |log, key| -> DbResult<(Frontier, SignedCheckpoint)> {
            let size = log::size(&self.conn, log)?;
            let frontier = Frontier::from_nodes(size, &log::nodes(&self.conn, log, None))?;
            log::sign_empty_log(&self.conn, log, key)?;
            let latest = log::latest_checkpoint(&self.conn, log)?
                .ok_or_else(|| DbError::corrupt("checkpoint", "none after signing one"))?;
            Ok((frontier, latest))
        };
        let (frontier, latest) = open(LEDGER, &self.shared.key)?;
        let (trail, trail_latest) = open(TRAIL, &self.shared.trail_key)?;
        Ok(Edge {
            analyzed_at: frontier.size(),
            frontier,
            latest,
            trail,
            trail_latest,
            counters: Counters::load(&self.conn)?,
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
                // edges with the rollback: read both again before the next write.
                self.edge = None;
                tracing::error!(error = %e, "group commit failed");
                for job in group {
                    fail(job, StoreError::internal(&e));
                }
                return;
            }
        };
        let Some(edge) = &mut self.edge else { return };
        for (job, outcome) in group.into_iter().zip(outcomes) {
            answer(job, outcome, &edge.latest, &self.conn, &fresh);
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

    /// Runs every request of the group and every queued one in one
    /// transaction and commits it.
    fn run_group(
        &mut self,
        group: &[Job],
        queued: &[Queued],
        fresh: &mut HashMap<NodeId, Hash>,
    ) -> DbResult<Vec<Outcome>> {
        let mut edge = self.edge.take().expect("elected before the group runs");
        let result = self.run_group_on(&mut edge, group, queued, fresh);
        self.edge = Some(edge);
        result
    }

    fn run_group_on(
        &mut self,
        edge: &mut Edge,
        group: &[Job],
        queued: &[Queued],
        fresh: &mut HashMap<NodeId, Hash>,
    ) -> DbResult<Vec<Outcome>> {
        let start = (edge.frontier.size(), edge.trail.size());
        // One record time for the whole group: the moment it was sequenced.
        let now = RecordTime::new(self.shared.clock.now())?;
        self.conn.batch("BEGIN")?;
        let mut keys = GroupKeys::default();
        let mut changed = false;
        let mut outcomes = Vec::with_capacity(group.len());
        for job in group {
            let outcome = match job {
                Job::Append {
                    authority,
                    batch,
                    context,
                    ..
                } => {
                    let recorded = self.run_append(
                        edge,
                        authority,
                        batch,
                        context,
                        &now,
                        Some(&mut *fresh),
                        &mut keys,
                    )?;
                    self.trail_append(edge, &now, context, batch, &recorded)?;
                    Outcome::Append(recorded)
                }
                Job::Load { batch, context, .. } => {
                    let recorded = self.run_append(
                        edge,
                        &Authority::Installation,
                        batch,
                        context,
                        &now,
                        None,
                        &mut keys,
                    )?;
                    self.trail_append(edge, &now, context, batch, &recorded)?;
                    Outcome::Append(recorded)
                }
                Job::Replay {
                    first, time, batch, ..
                } => Outcome::Append(match replayed_time(*first, time, edge, &now) {
                    Ok(time) => {
                        self.run_batch(edge, &Authority::Installation, batch, None, &time, None)?
                    }
                    Err(e) => Err(e),
                }),
                Job::Identity { change, trail, .. } => {
                    let done = run_identity(&self.conn, change, &now)?;
                    changed |= done.is_ok();
                    if let Some(event) = trail {
                        self.push_trail(edge, &now, &with_outcome(event, &done))?;
                    }
                    Outcome::Identity(done)
                }
                Job::Trail { event, .. } => Outcome::Trail(Ok(self.push_trail(edge, &now, event)?)),
            };
            outcomes.push(outcome);
        }
        // Requests other nodes queued: each leaves its outcome for its node.
        let mut queued_outcomes = Vec::with_capacity(queued.len());
        for q in queued {
            let outcome = match &q.request {
                QueuedRequest::Append {
                    authority,
                    batch,
                    context,
                } => {
                    let recorded = self.run_append(
                        edge,
                        authority,
                        batch,
                        context,
                        &now,
                        Some(&mut *fresh),
                        &mut keys,
                    )?;
                    self.trail_append(edge, &now, context, batch, &recorded)?;
                    Some(QueuedDone::Append(recorded))
                }
                QueuedRequest::Trail { event, answer } => {
                    let index = self.push_trail(edge, &now, event)?;
                    answer.then_some(QueuedDone::Trail(index))
                }
            };
            queued_outcomes.push(outcome);
        }
        let ledger_grew = edge.frontier.size() != start.0;
        let trail_grew = edge.trail.size() != start.1;
        if !ledger_grew && !trail_grew && !changed && queued.is_empty() {
            self.conn.batch("ROLLBACK")?;
            self.cache.clear();
            edge.counters.forget(edge.counters.next_lot());
            return Ok(outcomes);
        }
        let size = edge.frontier.size();
        for (space, key, body, first, count) in keys.iter() {
            self.conn.execute(
                "INSERT INTO idempotency (space, key, body, first, count, size, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &space,
                    &key,
                    &&body[..],
                    &codec::sql_index(first),
                    &codec::sql_index(count),
                    &codec::sql_index(size),
                    &now.text,
                ],
            )?;
        }
        let checkpoint = if ledger_grew {
            let cp = log::sign(&self.shared.key, &edge.frontier)?;
            log::insert_checkpoint(&self.conn, LEDGER, &cp)?;
            cp
        } else {
            edge.latest.clone()
        };
        let trail_checkpoint = if trail_grew {
            let cp = log::sign(&self.shared.trail_key, &edge.trail)?;
            log::insert_checkpoint(&self.conn, TRAIL, &cp)?;
            cp
        } else {
            edge.trail_latest.clone()
        };
        // The queued requests' outcomes go in with the entries: exactly once.
        for (q, outcome) in queued.iter().zip(queued_outcomes) {
            let outcome = outcome.map(|o| match o {
                QueuedDone::Append(recorded) => QueuedOutcome::Appended(
                    recorded.and_then(|r| appended(r, &checkpoint, &self.conn, fresh)),
                ),
                QueuedDone::Trail(index) => QueuedOutcome::Trail(Ok(index)),
            });
            forward::finish(&self.conn, q.id, outcome.as_ref())?;
        }
        self.conn.batch("COMMIT")?;
        self.commits.fetch_add(1, Ordering::Relaxed);
        edge.latest = checkpoint;
        edge.trail_latest = trail_checkpoint;
        Ok(outcomes)
    }

    /// Runs one append: its idempotency key first, then the batch inside its
    /// own savepoint. A refusal rolls the batch back and becomes its
    /// outcome; a database failure fails the group.
    #[allow(
        clippy::too_many_arguments,
        reason = "the group's state, passed apart so that the borrows stay disjoint"
    )]
    fn run_append(
        &self,
        edge: &mut Edge,
        authority: &Authority,
        batch: &[Record],
        context: &WriteContext,
        now: &RecordTime,
        fresh: Option<&mut HashMap<NodeId, Hash>>,
        keys: &mut GroupKeys,
    ) -> DbResult<Result<Recorded, StoreError>> {
        if let Some(earlier) =
            keys.earlier(context, |space, key| stored_key(&self.conn, space, key))?
        {
            return Ok(earlier);
        }
        let official = context.actor.official();
        let recorded = self.run_batch(edge, authority, batch, official, now, fresh)?;
        if let Ok(r) = &recorded {
            keys.recorded(context, r, edge.frontier.size());
        }
        Ok(recorded)
    }

    /// Runs one batch inside its own savepoint: every record must be
    /// permitted to `authority` acting as `official` (`Authority::permits`),
    /// then is sequenced and projected.
    fn run_batch(
        &self,
        edge: &mut Edge,
        authority: &Authority,
        batch: &[Record],
        official: Option<&str>,
        now: &RecordTime,
        fresh: Option<&mut HashMap<NodeId, Hash>>,
    ) -> DbResult<Result<Recorded, StoreError>> {
        self.conn.batch("SAVEPOINT request")?;
        crate::view::prefetch(
            &crate::view::TableView {
                conn: &self.conn,
                cache: &self.cache,
                pending: &self.pending,
            },
            batch,
        )?;
        let before = edge.frontier.clone();
        let next_lot = edge.counters.next_lot();
        let keep = fresh.is_some();
        let mut nodes = Vec::new();
        let mut appended = Vec::new();
        let sequencer = Sequencer {
            conn: &self.conn,
            cache: &self.cache,
            pending: &self.pending,
            counters: &edge.counters,
            secret: &self.shared.secret,
            projector: &self.shared.projector,
        };
        let mut refused = None;
        for (i, record) in batch.iter().enumerate() {
            if let Err(e) = authority.permits(record, official) {
                refused = Some(StoreError::Forbidden {
                    record: i,
                    field: e.field,
                    why: e.why,
                });
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
        self.pending.flush(&self.conn)?;
        self.conn.batch("RELEASE request")?;
        if let Some(fresh) = fresh {
            fresh.extend(nodes);
        }
        Ok(Ok(Recorded::Fresh(appended)))
    }

    /// Appends `event` to the trail and answers with its index.
    fn push_trail(&self, edge: &mut Edge, now: &RecordTime, event: &TrailEvent) -> DbResult<u64> {
        let index = edge.trail.size();
        let leaf = trail::insert(&self.conn, index, now, event)?;
        for (id, hash) in edge.trail.push(leaf) {
            // The leaf is the trail row's; low levels are recomputed (see Nodes).
            if id.level >= LOWEST_STORED_LEVEL {
                self.conn.execute(
                    "INSERT INTO trail_node (level, idx, hash) VALUES ($1, $2, $3)",
                    &[
                        &i16::from(id.level),
                        &codec::sql_index(id.index),
                        &&hash.0[..],
                    ],
                )?;
            }
        }
        Ok(index)
    }

    /// The trail entry of an append, refused or not.
    fn trail_append(
        &self,
        edge: &mut Edge,
        now: &RecordTime,
        context: &WriteContext,
        batch: &[Record],
        recorded: &Result<Recorded, StoreError>,
    ) -> DbResult<()> {
        let event = append_event(context, batch, trail_outcome(recorded));
        self.push_trail(edge, now, &event)?;
        Ok(())
    }
}

/// Runs one identity change inside its own savepoint: a refusal rolls it
/// back and is its outcome.
fn run_identity(
    conn: &Conn,
    change: &Change,
    now: &RecordTime,
) -> DbResult<Result<Done, StoreError>> {
    conn.batch("SAVEPOINT identity")?;
    let done = identity::apply(conn, now, change);
    conn.batch(if done.is_err() {
        "ROLLBACK TO identity; RELEASE identity"
    } else {
        "RELEASE identity"
    })?;
    Ok(done)
}

/// A change's trail event with the refusal it met, if it was refused.
fn with_outcome(event: &TrailEvent, done: &Result<Done, StoreError>) -> TrailEvent {
    let mut event = event.clone();
    if let Err(e) = done {
        event.status = error_status(e);
        event.detail = e.to_string();
    }
    event
}

/// The idempotency row of `(space, key)`.
fn stored_key(conn: &Conn, space: &str, key: &str) -> DbResult<Option<StoredKey>> {
    let Some(r) = conn.query_opt(
        "SELECT body, first, count, size FROM idempotency WHERE space = $1 AND key = $2",
        &[&space, &key],
    )?
    else {
        return Ok(None);
    };
    let body: Vec<u8> = r.try_get(0)?;
    Ok(Some(StoredKey {
        body: body
            .try_into()
            .map_err(|_| DbError::corrupt("idempotency body", "not 32 bytes"))?,
        first: codec::index("first", r.try_get(1)?)?,
        count: codec::index("count", r.try_get(2)?)?,
        size: codec::index("size", r.try_get(3)?)?,
    }))
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

/// Answers a request of a group that failed as a whole.
fn fail(job: Job, error: StoreError) {
    match job {
        Job::Load { reply, .. } | Job::Replay { reply, .. } => {
            let _ = reply.send(Err(error));
        }
        Job::Append { reply, .. } => {
            let _ = reply.send(Err(error));
        }
        Job::Identity { reply, .. } => {
            let _ = reply.send(Err(error));
        }
        Job::Trail { reply, .. } => {
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
    conn: &Conn,
    fresh: &HashMap<NodeId, Hash>,
) {
    match (job, outcome) {
        (Job::Load { reply, .. } | Job::Replay { reply, .. }, Outcome::Append(recorded)) => {
            let _ = reply.send(recorded.map(|_| checkpoint.clone()));
        }
        (Job::Append { reply, .. }, Outcome::Append(recorded)) => {
            let _ = reply.send(recorded.and_then(|r| appended(r, checkpoint, conn, fresh)));
        }
        (Job::Identity { reply, .. }, Outcome::Identity(done)) => {
            let _ = reply.send(done);
        }
        (Job::Trail { reply, .. }, Outcome::Trail(index)) => {
            let _ = reply.send(index);
        }
        (job, _) => fail(
            job,
            StoreError::Internal("a request got another kind's outcome".to_owned()),
        ),
    }
}

/// What an append answers: receipts against the group's checkpoint for
/// fresh entries, the first request's receipts for a retry.
fn appended(
    recorded: Recorded,
    checkpoint: &SignedCheckpoint,
    conn: &Conn,
    fresh: &HashMap<NodeId, Hash>,
) -> Result<Appended, StoreError> {
    match recorded {
        Recorded::Fresh(entries) => receipts(
            entries,
            checkpoint.clone(),
            &log::nodes(conn, LEDGER, Some(fresh)),
            false,
        ),
        Recorded::Replay { first, count, size } => {
            let size = size.unwrap_or(checkpoint.checkpoint().size());
            let at = log::checkpoint_at(conn, LEDGER, size)?
                .ok_or_else(|| StoreError::Internal(format!("no checkpoint of size {size}")))?;
            let entries = (first..first + count)
                .map(|index| {
                    let row = conn
                        .query_opt(
                            "SELECT entry FROM ledger WHERE idx = $1",
                            &[&codec::sql_index(index)],
                        )?
                        .ok_or_else(|| {
                            DbError::corrupt("ledger", format!("entry {index} is missing"))
                        })?;
                    Ok((index, row.try_get(0)?))
                })
                .collect::<DbResult<Vec<_>>>()?;
            receipts(entries, at, &log::nodes(conn, LEDGER, Some(fresh)), true)
        }
    }
}
