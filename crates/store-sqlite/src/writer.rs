//! The one writer (DESIGN.md §3 "sequence: one writer"): a dedicated thread
//! owns the write connection and the right edges of both trees — the ledger
//! and the audit trail — and group-commits.
//!
//! Every request waiting in the channel (up to [`MAX_GROUP`]) joins one
//! `BEGIN IMMEDIATE` transaction. Each request runs inside its own SAVEPOINT,
//! so a refused batch is rolled back alone and answered with its error while
//! the others go on — each batch all or nothing. Every request leaves its
//! audit trail entry, outside its savepoint, so that a refusal is on the
//! trail too. Then the roots are computed, one checkpoint per log that grew
//! is signed and stored, the transaction commits once (one WAL sync for the
//! whole group) and every request is answered — appends with receipts
//! against the group's ledger checkpoint.

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
use retrace_ledger::tree::{Frontier, NodeId};
use retrace_store::{Appended, Authority, StoreError, TrailEvent, WriteContext};
use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::oneshot;

use retrace_store::cache::ViewCache;
use retrace_store::trail::{append_event, error_status};
use retrace_store::write::{GroupKeys, Recorded, StoredKey, receipts, trail_outcome};

use crate::codec::{self, RecordTime};
use crate::error::{DbError, DbResult};
use crate::identity::{self, Change, Done};
use crate::log::{self, LEDGER, LOWEST_STORED_LEVEL, Log, TRAIL};
use crate::schema;
use crate::sequence::{Positions, SequenceError, Sequencer};
use crate::trail;

/// The most requests one commit takes: enough that a burst of interactive
/// appends shares one WAL sync, few enough that the first of them is not kept
/// waiting for the last.
const MAX_GROUP: usize = 256;

/// What the writer and the audit share: the keys of both logs, the salt
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

/// A request to the writer.
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

/// One log's right edge and latest checkpoint, as the writer keeps them.
struct Tree {
    log: Log,
    key: LogKey,
    frontier: Frontier,
    latest: SignedCheckpoint,
}

impl Tree {
    /// Restores the right edge of `log` from its stored nodes (one read of at
    /// most 64) and signs the empty tree's checkpoint for a new log.
    fn open(conn: &Connection, log: Log, key: LogKey) -> DbResult<Tree> {
        let size = log::size(conn, log)?;
        let frontier = Frontier::from_nodes(size, &log::nodes(conn, log, None))?;
        let latest = match log::latest_checkpoint(conn, log)? {
            Some(cp) => {
                let c = cp.checkpoint();
                if c.size() != size || c.root() != frontier.root() {
                    tracing::error!(
                        log = log.leaves,
                        checkpoint_size = c.size(),
                        size,
                        "the latest checkpoint does not match the stored tree; run the audit"
                    );
                }
                cp
            }
            None => {
                let cp = sign(&key, &frontier)?;
                insert_checkpoint(conn, log, &cp)?;
                cp
            }
        };
        Ok(Tree {
            log,
            key,
            frontier,
            latest,
        })
    }

    /// Adds a leaf, storing the nodes it completes from the lowest stored
    /// level up; answers with every node completed, for receipts.
    fn push(&mut self, conn: &Connection, leaf: Hash) -> DbResult<Vec<(NodeId, Hash)>> {
        let sql = format!(
            "INSERT INTO {} (level, idx, hash) VALUES (?1, ?2, ?3)",
            self.log.nodes
        );
        let mut insert = conn.prepare_cached(&sql)?;
        let completed = self.frontier.push(leaf);
        for (id, hash) in &completed {
            // The leaf is the log row's; low levels are recomputed (see Nodes).
            if id.level >= LOWEST_STORED_LEVEL {
                insert.execute(params![id.level, codec::sql_index(id.index), &hash.0[..]])?;
            }
        }
        Ok(completed)
    }

    /// Signs and stores a checkpoint of the current tree.
    fn sign(&mut self, conn: &Connection) -> DbResult<SignedCheckpoint> {
        let cp = sign(&self.key, &self.frontier)?;
        insert_checkpoint(conn, self.log, &cp)?;
        Ok(cp)
    }
}

fn insert_checkpoint(conn: &Connection, log: Log, cp: &SignedCheckpoint) -> DbResult<()> {
    let sql = format!(
        "INSERT INTO {} (size, note) VALUES (?1, ?2)",
        log.checkpoints
    );
    conn.prepare_cached(&sql)?.execute(params![
        codec::sql_index(cp.checkpoint().size()),
        cp.as_bytes()
    ])?;
    Ok(())
}

/// The writer thread's state.
pub(crate) struct Writer {
    conn: Connection,
    cache: ViewCache,
    positions: Positions,
    ledger: Tree,
    trail: Tree,
    shared: Arc<Shared>,
    commits: Arc<AtomicU64>,
}

/// One request's outcome inside a group.
enum Outcome {
    Append(Result<Recorded, StoreError>),
    Identity(Result<Done, StoreError>),
    Trail(Result<u64, StoreError>),
}

/// What one group commit produced besides the outcomes.
struct Group {
    outcomes: Vec<Outcome>,
    fresh: HashMap<NodeId, Hash>,
}

impl Writer {
    /// Opens the write connection and restores both trees.
    ///
    /// # Errors
    /// When the database cannot be opened or migrated, or a tree is broken.
    pub(crate) fn open(
        path: &Path,
        shared: Arc<Shared>,
        commits: Arc<AtomicU64>,
    ) -> DbResult<Writer> {
        let conn = schema::open_writer(path)?;
        let ledger = Tree::open(&conn, LEDGER, shared.key.clone())?;
        let trail = Tree::open(&conn, TRAIL, shared.trail_key.clone())?;
        Ok(Writer {
            conn,
            cache: ViewCache::new(),
            positions: Positions::default(),
            ledger,
            trail,
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
        let before = (self.ledger.frontier.clone(), self.trail.frontier.clone());
        match self.run_group(&group) {
            Ok(Group { outcomes, fresh }) => {
                for (job, outcome) in group.into_iter().zip(outcomes) {
                    answer(job, outcome, &self.ledger.latest, &self.conn, &fresh);
                }
            }
            Err(e) => {
                if let Err(rollback) = self.conn.execute_batch("ROLLBACK") {
                    tracing::debug!(%rollback, "nothing to roll back");
                }
                self.cache.clear();
                self.positions.discard();
                (self.ledger.frontier, self.trail.frontier) = before;
                tracing::error!(error = %e, "group commit failed");
                for job in group {
                    fail(job, StoreError::internal(&e));
                }
            }
        }
    }

    /// Runs every request of the group in one transaction and commits it.
    fn run_group(&mut self, group: &[Job]) -> DbResult<Group> {
        let start = (self.ledger.frontier.size(), self.trail.frontier.size());
        // One record time for the whole group: the moment it was sequenced.
        let now = RecordTime::new(self.shared.clock.now())?;
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        let mut outcomes = Vec::with_capacity(group.len());
        let mut fresh = HashMap::new();
        let mut keys = GroupKeys::default();
        let mut changed = false;
        for job in group {
            let outcome = match job {
                Job::Append {
                    authority,
                    batch,
                    context,
                    ..
                } => {
                    let recorded = self.run_append(
                        authority,
                        batch,
                        context,
                        &now,
                        Some(&mut fresh),
                        &mut keys,
                    )?;
                    self.trail_append(&now, context, batch, &recorded)?;
                    Outcome::Append(recorded)
                }
                Job::Load { batch, context, .. } => {
                    let recorded = self.run_append(
                        &Authority::Installation,
                        batch,
                        context,
                        &now,
                        None,
                        &mut keys,
                    )?;
                    self.trail_append(&now, context, batch, &recorded)?;
                    Outcome::Append(recorded)
                }
                Job::Identity { change, trail, .. } => {
                    let done = self.run_identity(change, &now)?;
                    changed |= done.is_ok();
                    if let Some(event) = trail {
                        let mut event = event.clone();
                        if let Err(e) = &done {
                            event.status = error_status(e);
                            event.detail = e.to_string();
                        }
                        self.push_trail(&now, &event)?;
                    }
                    Outcome::Identity(done)
                }
                Job::Trail { event, .. } => Outcome::Trail(Ok(self.push_trail(&now, event)?)),
            };
            outcomes.push(outcome);
        }
        let ledger_grew = self.ledger.frontier.size() != start.0;
        let trail_grew = self.trail.frontier.size() != start.1;
        if !ledger_grew && !trail_grew && !changed {
            self.conn.execute_batch("ROLLBACK")?;
            self.cache.clear();
            return Ok(Group { outcomes, fresh });
        }
        let size = self.ledger.frontier.size();
        let mut insert = self.conn.prepare_cached(
            "INSERT INTO idempotency (space, key, body, first, count, size, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for (space, key, body, first, count) in keys.iter() {
            insert.execute(params![
                space,
                key,
                &body[..],
                codec::sql_index(first),
                codec::sql_index(count),
                codec::sql_index(size),
                now.text
            ])?;
        }
        drop(insert);
        let ledger_checkpoint = ledger_grew
            .then(|| self.ledger.sign(&self.conn))
            .transpose()?;
        let trail_checkpoint = trail_grew
            .then(|| self.trail.sign(&self.conn))
            .transpose()?;
        self.conn.execute_batch("COMMIT")?;
        self.commits.fetch_add(1, Ordering::Relaxed);
        if let Some(cp) = ledger_checkpoint {
            self.ledger.latest = cp;
        }
        if let Some(cp) = trail_checkpoint {
            self.trail.latest = cp;
        }
        Ok(Group { outcomes, fresh })
    }

    /// Runs one append: its idempotency key first, then the batch inside
    /// its own savepoint. A refusal rolls the batch back and becomes its
    /// outcome; a database failure fails the group.
    fn run_append(
        &mut self,
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
        let recorded = self.run_batch(authority, batch, context, now, fresh)?;
        if let Ok(r) = &recorded {
            keys.recorded(context, r, self.ledger.frontier.size());
        }
        Ok(recorded)
    }

    fn run_batch(
        &mut self,
        authority: &Authority,
        batch: &[Record],
        context: &WriteContext,
        now: &RecordTime,
        fresh: Option<&mut HashMap<NodeId, Hash>>,
    ) -> DbResult<Result<Recorded, StoreError>> {
        self.conn.execute_batch("SAVEPOINT request")?;
        let before = self.ledger.frontier.clone();
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
        let official = context.actor.official();
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
            let index = self.ledger.frontier.size();
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
            let completed = self.ledger.push(&self.conn, sequenced.leaf)?;
            if keep {
                nodes.extend(completed);
                appended.push((index, sequenced.entry));
            }
        }
        if let Some(error) = refused {
            self.conn
                .execute_batch("ROLLBACK TO request; RELEASE request")?;
            self.cache.clear();
            self.positions.discard();
            self.ledger.frontier = before;
            return Ok(Err(error));
        }
        self.positions.flush(&self.conn)?;
        self.conn.execute_batch("RELEASE request")?;
        if let Some(fresh) = fresh {
            fresh.extend(nodes);
        }
        Ok(Ok(Recorded::Fresh(appended)))
    }

    /// Runs one identity change inside its own savepoint.
    fn run_identity(
        &mut self,
        change: &Change,
        now: &RecordTime,
    ) -> DbResult<Result<Done, StoreError>> {
        self.conn.execute_batch("SAVEPOINT identity")?;
        let done = identity::apply(&self.conn, now, change);
        if done.is_err() {
            self.conn
                .execute_batch("ROLLBACK TO identity; RELEASE identity")?;
        } else {
            self.conn.execute_batch("RELEASE identity")?;
        }
        Ok(done)
    }

    /// Appends `event` to the trail and answers with its index.
    fn push_trail(&mut self, now: &RecordTime, event: &TrailEvent) -> DbResult<u64> {
        let index = self.trail.frontier.size();
        let leaf = trail::insert(&self.conn, index, now, event)?;
        self.trail.push(&self.conn, leaf)?;
        Ok(index)
    }

    /// The trail entry of an append, refused or not.
    fn trail_append(
        &mut self,
        now: &RecordTime,
        context: &WriteContext,
        batch: &[Record],
        recorded: &Result<Recorded, StoreError>,
    ) -> DbResult<()> {
        self.push_trail(now, &append_event(context, batch, trail_outcome(recorded)))?;
        Ok(())
    }
}

/// The idempotency row of `(space, key)`.
fn stored_key(conn: &Connection, space: &str, key: &str) -> DbResult<Option<StoredKey>> {
    let row: Option<(Vec<u8>, i64, i64, i64)> = conn
        .prepare_cached(
            "SELECT body, first, count, size FROM idempotency WHERE space = ?1 AND key = ?2",
        )?
        .query_row(params![space, key], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    row.map(|(body, first, count, size)| {
        Ok(StoredKey {
            body: body
                .try_into()
                .map_err(|_| DbError::corrupt("idempotency body", "not 32 bytes"))?,
            first: codec::index("first", first)?,
            count: codec::index("count", count)?,
            size: codec::index("size", size)?,
        })
    })
    .transpose()
}

/// Signs the checkpoint of the tree's current size and root (C2SP tlog-checkpoint).
fn sign(key: &LogKey, frontier: &Frontier) -> DbResult<SignedCheckpoint> {
    let checkpoint = Checkpoint::new(key.origin(), frontier.size(), frontier.root())
        .map_err(|e| DbError::corrupt("log origin", e))?;
    Ok(checkpoint.sign(key))
}

/// Answers a request whose group failed to commit. A caller that stopped
/// waiting has nothing to be told, so a failed send is ignored.
fn fail(job: Job, error: StoreError) {
    match job {
        Job::Load { reply, .. } => {
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
/// group's checkpoint for an append, the checkpoint itself for a load. What
/// committed stays committed whether or not the caller still listens.
fn answer(
    job: Job,
    outcome: Outcome,
    checkpoint: &SignedCheckpoint,
    conn: &Connection,
    fresh: &HashMap<NodeId, Hash>,
) {
    match (job, outcome) {
        (Job::Load { reply, .. }, Outcome::Append(recorded)) => {
            let _ = reply.send(recorded.map(|_| checkpoint.clone()));
        }
        (Job::Append { reply, .. }, Outcome::Append(recorded)) => {
            let answer = recorded.and_then(|r| match r {
                Recorded::Fresh(appended) => receipts(
                    appended,
                    checkpoint.clone(),
                    &log::nodes(conn, LEDGER, Some(fresh)),
                    false,
                ),
                Recorded::Replay { first, count, size } => replay(
                    conn,
                    first,
                    count,
                    size.unwrap_or(checkpoint.checkpoint().size()),
                ),
            });
            let _ = reply.send(answer);
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

/// The receipts a retried request gets: those of the first request, against
/// the checkpoint it was answered with.
fn replay(conn: &Connection, first: u64, count: u64, size: u64) -> Result<Appended, StoreError> {
    let checkpoint = log::checkpoint_at(conn, LEDGER, size)?
        .ok_or_else(|| StoreError::Internal(format!("no checkpoint of size {size}")))?;
    let mut st = conn
        .prepare_cached("SELECT entry FROM ledger WHERE idx = ?1")
        .map_err(DbError::from)?;
    let entries = (first..first + count)
        .map(|index| {
            Ok((
                index,
                st.query_row([codec::sql_index(index)], |r| r.get(0))?,
            ))
        })
        .collect::<DbResult<Vec<_>>>()?;
    receipts(entries, checkpoint, &log::nodes(conn, LEDGER, None), true)
}
