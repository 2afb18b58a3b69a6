//! The parts of the audit (DESIGN.md §3 "a rebuild-and-compare command
//! proves it"; §5 "a row changed behind the system's back is found by the
//! audit command") that are the same on every store: the checks of one
//! stored entry, the tree pass over stored leaves and nodes, and the checks
//! of stored checkpoints. Each store reads its own tables, replays the
//! records into a scratch copy of its schema and compares the tables.

use retrace_domain::record::Record;
use retrace_ledger::checkpoint::{LogVerifier, SignedCheckpoint};
use retrace_ledger::entry::{Entry, Opening};
use retrace_ledger::hash::{EMPTY_ROOT, Hash, leaf_hash};
use retrace_ledger::tree::Frontier;

use crate::codec::{Corrupt, RecordTime};
use crate::entry::{RECORD_FIELD, public_json, record_json};
use crate::model::AuditProblem;
use crate::nodes::{LOWEST_STORED_LEVEL, Log};
use crate::trail::{self, TrailEntry};

/// More differences than this in one table are summed up in one last problem:
/// a store that diverges from its ledger that much needs no longer list.
pub const MAX_PROBLEMS_PER_TABLE: usize = 1_000;

/// A problem named down to the table, key and column.
pub fn problem(
    table: &str,
    key: impl Into<String>,
    column: Option<&str>,
    detail: impl Into<String>,
) -> AuditProblem {
    AuditProblem {
        table: table.to_owned(),
        key: key.into(),
        column: column.map(str::to_owned),
        detail: detail.into(),
    }
}

/// One stored ledger row, as a store reads it back.
#[derive(Debug, Clone, Copy)]
pub struct StoredEntry<'a> {
    pub idx: u64,
    pub record_time: &'a str,
    pub kind: &'a str,
    pub enterprise: &'a str,
    pub entry: &'a [u8],
    pub leaf: &'a [u8],
    pub salt: &'a [u8],
    pub record: &'a [u8],
}

/// Checks one stored entry (the audit's step 1): its bytes must decode and
/// re-encode identically (one spelling per entry), rehash to the stored leaf
/// (RFC 9162 §2.1.1), and its `record` opening must open its commitment; the
/// stored kind, enterprise and record time and the public part must be what
/// the record says. Answers the record and its record time to replay, or
/// `None` when the row is too broken to replay.
///
/// # Errors
/// When the record cannot be re-encoded (a bug).
pub fn check_entry(
    row: &StoredEntry<'_>,
    problems: &mut Vec<AuditProblem>,
) -> Result<Option<(Record, RecordTime)>, Corrupt> {
    let key = row.idx.to_string();
    let mut report = |column: Option<&str>, detail: String| {
        problems.push(problem("ledger", key.clone(), column, detail));
    };
    if row.leaf != leaf_hash(row.entry).0 {
        report(
            Some("leaf"),
            "is not the leaf hash of the entry bytes".to_owned(),
        );
    }
    let entry = match Entry::decode(row.entry) {
        Ok(entry) => {
            if entry.encode() != row.entry {
                report(
                    Some("entry"),
                    "does not re-encode to the same bytes".to_owned(),
                );
            }
            if entry.kind() != row.kind {
                report(
                    Some("kind"),
                    format!("`{}` but the entry says `{}`", row.kind, entry.kind()),
                );
            }
            Some(entry)
        }
        Err(e) => {
            report(Some("entry"), format!("does not decode: {e}"));
            None
        }
    };
    if let Some(entry) = &entry {
        let opening = <[u8; 16]>::try_from(row.salt).map(|salt| Opening {
            field: RECORD_FIELD.to_owned(),
            salt,
            value: row.record.to_vec(),
        });
        match opening {
            Ok(o) if entry.verify_openings(std::slice::from_ref(&o)).is_ok() => {}
            Ok(_) => report(
                Some("record"),
                "does not open the entry's commitment".to_owned(),
            ),
            Err(_) => report(Some("salt"), "is not 16 bytes".to_owned()),
        }
    }
    let record: Record = match serde_json::from_slice(row.record) {
        Ok(record) => record,
        Err(e) => {
            report(Some("record"), format!("is not a record: {e}"));
            return Ok(None);
        }
    };
    if record_json(&record)? != row.record {
        report(
            Some("record"),
            "is not the record's canonical JSON".to_owned(),
        );
    }
    if record.kind_token() != row.kind {
        report(
            Some("kind"),
            format!("`{}` but the record is `{}`", row.kind, record.kind_token()),
        );
    }
    if record.enterprise().as_str() != row.enterprise {
        report(
            Some("enterprise"),
            format!(
                "{} but the record is {}'s",
                row.enterprise,
                record.enterprise()
            ),
        );
    }
    let time = match RecordTime::parse(row.record_time) {
        Ok(t) if t.text == row.record_time => t,
        _ => {
            report(
                Some("record_time"),
                format!("`{}` is not a record time", row.record_time),
            );
            return Ok(None);
        }
    };
    if let Some(entry) = &entry
        && public_json(&record, row.record_time)? != entry.public()
    {
        report(
            Some("entry"),
            "the public part is not the record's at its record time".to_owned(),
        );
    }
    Ok(Some((record, time)))
}

/// What the tree pass found: the tree's size, its root, the roots at the
/// sizes asked for (in order of size), and every stored node that is
/// missing, extra or wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeReport {
    /// Leaves stored (level-0 nodes).
    pub size: u64,
    /// The recomputed root of all of them.
    pub root: Hash,
    /// The recomputed root at each size asked for that the tree reaches.
    pub roots: Vec<(u64, Hash)>,
    pub problems: Vec<AuditProblem>,
}

/// The stored tree, read in order: the leaves, and each stored level.
pub trait TreeScan {
    type Error: From<Corrupt>;

    /// The next stored leaf, in index order.
    fn next_leaf(&mut self) -> Result<Option<(u64, Hash)>, Self::Error>;
    /// The next stored node of `level` (at least [`LOWEST_STORED_LEVEL`]), in index order.
    fn next_node(&mut self, level: u8) -> Result<Option<(u64, Hash)>, Self::Error>;
    /// Every stored node above `level`, as (level, index).
    fn nodes_above(&mut self, level: u8) -> Result<Vec<(u64, u64)>, Self::Error>;
}

fn extra(log: Log, level: impl std::fmt::Display, at: u64) -> AuditProblem {
    problem(
        log.nodes,
        format!("level={level}, idx={at}"),
        None,
        "extra: no such complete subtree",
    )
}

/// Streams the stored leaves of `log` (`stored` of them, by the log's
/// count) through a [`Frontier`] and compares every stored complete subtree with the
/// one recomputed (RFC 9162 §2.1.1).
///
/// A push completes nodes in index order on each level, so the comparison is
/// a merge with each level's stored nodes in index order: one ordered scan
/// per level, constant memory, SHA-256 bound.
///
/// # Errors
/// Whatever the scan fails with.
pub fn verify_tree<S: TreeScan>(
    scan: &mut S,
    log: Log,
    stored: u64,
    sizes: &[u64],
) -> Result<TreeReport, S::Error> {
    let top = if stored == 0 {
        0
    } else {
        u8::try_from(63 - stored.leading_zeros()).unwrap_or(u8::MAX)
    };
    let levels = usize::from(top) + 1;
    let mut pending: Vec<Option<(u64, Hash)>> = vec![None; levels];
    let mut problems = Vec::new();
    let mut frontier = Frontier::new();
    let mut roots = Vec::new();
    let mut wanted = sizes.iter().copied().peekable();
    while wanted.next_if_eq(&0).is_some() {
        roots.push((0, EMPTY_ROOT));
    }
    while let Some((idx, leaf)) = scan.next_leaf()? {
        if idx != frontier.size() {
            problems.push(problem(
                log.leaves,
                frontier.size().to_string(),
                None,
                format!("leaf missing: the next stored leaf is {idx}"),
            ));
        }
        // The leaf is the one just read; the levels below the lowest stored
        // one are recomputed whenever they are needed, so not compared.
        let completed = frontier.push(leaf).into_iter().skip(1);
        for (id, hash) in completed.filter(|(id, _)| id.level >= LOWEST_STORED_LEVEL) {
            let level = usize::from(id.level);
            let key = format!("level={}, idx={}", id.level, id.index);
            loop {
                let next = match pending.get_mut(level).and_then(Option::take) {
                    Some(row) => Some(row),
                    None => scan.next_node(id.level)?,
                };
                match next {
                    None => problems.push(problem(
                        log.nodes,
                        key.clone(),
                        None,
                        "missing: the tree has this complete subtree",
                    )),
                    Some((at, stored)) if at == id.index => {
                        if stored != hash {
                            problems.push(problem(
                                log.nodes,
                                key.clone(),
                                Some("hash"),
                                format!("stored {stored}, recomputed {hash}"),
                            ));
                        }
                    }
                    Some((at, _)) if at < id.index => {
                        problems.push(extra(log, id.level, at));
                        continue;
                    }
                    Some(row) => {
                        problems.push(problem(
                            log.nodes,
                            key.clone(),
                            None,
                            "missing: the tree has this complete subtree",
                        ));
                        if let Some(slot) = pending.get_mut(level) {
                            *slot = Some(row);
                        }
                    }
                }
                break;
            }
        }
        while wanted.next_if_eq(&frontier.size()).is_some() {
            roots.push((frontier.size(), frontier.root()));
        }
    }
    for level in LOWEST_STORED_LEVEL..=top {
        if let Some((at, _)) = pending[usize::from(level)].take() {
            problems.push(extra(log, level, at));
        }
        while let Some((at, _)) = scan.next_node(level)? {
            problems.push(extra(log, level, at));
        }
    }
    for (level, at) in scan.nodes_above(top.max(LOWEST_STORED_LEVEL - 1))? {
        problems.push(extra(log, level, at));
    }
    Ok(TreeReport {
        size: frontier.size(),
        root: frontier.root(),
        roots,
        problems,
    })
}

/// The tree sizes the tree pass must give roots at: every stored
/// checkpoint's (`stored`, in order) and the one held outside the store.
pub fn checkpoint_sizes(mut stored: Vec<u64>, extra: Option<&[u8]>) -> Vec<u64> {
    if let Some(Ok(cp)) = extra.map(SignedCheckpoint::parse) {
        stored.push(cp.checkpoint().size());
        stored.sort_unstable();
    }
    stored
}

/// The audit's steps 2 and 3 for one log after its tree pass: the tree
/// must hold the log's `entries` leaves; the stored checkpoints, fed one at a
/// time in order of size, must each carry the log key's signature (C2SP
/// signed-note, Ed25519 `verify_strict`) and the recomputed root at its
/// size; the latest must be the log's size; one held outside the store is
/// checked the same way.
#[derive(Debug)]
pub struct CheckpointCheck<'a> {
    log: Log,
    verifier: LogVerifier,
    tree: &'a TreeReport,
    entries: u64,
    latest: Option<i64>,
    checked: u64,
}

impl<'a> CheckpointCheck<'a> {
    /// Starts the checks of `log`, whose tree pass gave `tree`; takes the
    /// tree pass's problems and the count of its leaves into `problems`.
    pub fn new(
        log: Log,
        verifier: LogVerifier,
        tree: &'a TreeReport,
        entries: u64,
        problems: &mut Vec<AuditProblem>,
    ) -> CheckpointCheck<'a> {
        if tree.size != entries {
            problems.push(problem(
                log.leaves,
                "*",
                None,
                format!("{} leaves stored for {entries} entries", tree.size),
            ));
        }
        problems.extend(tree.problems.iter().cloned());
        CheckpointCheck {
            log,
            verifier,
            tree,
            entries,
            latest: None,
            checked: 0,
        }
    }

    /// Checks the stored checkpoint of `size`.
    pub fn stored(&mut self, size: i64, note: &[u8], problems: &mut Vec<AuditProblem>) {
        let key = format!("size={size}");
        self.checked += 1;
        self.latest = Some(size);
        match SignedCheckpoint::parse(note) {
            Ok(cp) => {
                if i64::try_from(cp.checkpoint().size()).ok() != Some(size) {
                    problems.push(problem(
                        self.log.checkpoints,
                        key.clone(),
                        Some("size"),
                        format!("the note is for size {}", cp.checkpoint().size()),
                    ));
                }
                self.check(&cp, &key, problems);
            }
            Err(e) => problems.push(problem(
                self.log.checkpoints,
                key,
                Some("note"),
                format!("not a signed checkpoint: {e}"),
            )),
        }
    }

    /// Checks that the latest stored checkpoint is the log's size, and the
    /// checkpoint held outside the store; answers how many were checked.
    pub fn finish(self, extra: Option<&[u8]>, problems: &mut Vec<AuditProblem>) -> u64 {
        let mut checked = self.checked;
        let table = self.log.checkpoints;
        if self.latest.and_then(|l| u64::try_from(l).ok()) != Some(self.entries) {
            problems.push(problem(
                table,
                "latest",
                None,
                format!(
                    "the log holds {} entries but the latest checkpoint is for {:?}",
                    self.entries, self.latest
                ),
            ));
        }
        match extra.map(SignedCheckpoint::parse) {
            None => {}
            Some(Err(e)) => problems.push(problem(
                table,
                "extra",
                Some("note"),
                format!("not a signed checkpoint: {e}"),
            )),
            Some(Ok(cp)) => {
                checked += 1;
                self.check(&cp, "extra", problems);
            }
        }
        checked
    }

    /// Checks a checkpoint's signature and its root against the recomputed tree.
    fn check(&self, cp: &SignedCheckpoint, key: &str, problems: &mut Vec<AuditProblem>) {
        let table = self.log.checkpoints;
        if let Err(e) = cp.verify(&self.verifier) {
            problems.push(problem(table, key, Some("note"), format!("signature: {e}")));
        }
        let c = cp.checkpoint();
        let tree = self.tree;
        if c.size() > tree.size {
            problems.push(problem(
                table,
                key,
                Some("note"),
                format!(
                    "size {} is beyond the log's {} entries",
                    c.size(),
                    tree.size
                ),
            ));
            return;
        }
        let at = tree
            .roots
            .binary_search_by_key(&c.size(), |(size, _)| *size);
        match at.ok().map(|i| tree.roots[i].1) {
            Some(root) if root == c.root() => {}
            Some(root) => problems.push(problem(
                table,
                key,
                Some("note"),
                format!(
                    "root {} but the first {} entries hash to {root}",
                    c.root(),
                    c.size()
                ),
            )),
            None => problems.push(problem(
                table,
                key,
                Some("note"),
                format!("no root recomputed at size {}", c.size()),
            )),
        }
    }
}

/// One stored row of the trail log, as a store reads it back.
#[derive(Debug, Clone, Copy)]
pub struct StoredTrail<'a> {
    pub idx: u64,
    pub time: &'a str,
    pub account: Option<&'a str>,
    pub action: &'a str,
    pub actor_region: Option<&'a str>,
    pub region: Option<&'a str>,
    pub entry: &'a [u8],
    pub leaf: &'a [u8],
}

/// The audit's re-read of one trail entry (its step 5): the entry decodes,
/// re-encodes identically, rehashes to its leaf and agrees with the search
/// columns and the enterprises (`filed`, in order) stored beside it.
/// `expected` is the index the entry should have; answers the next one.
///
/// # Errors
/// When the entry cannot be re-encoded (a bug).
pub fn check_trail_entry(
    row: &StoredTrail<'_>,
    filed: &[String],
    expected: u64,
    problems: &mut Vec<AuditProblem>,
) -> Result<u64, Corrupt> {
    let key = row.idx.to_string();
    if row.idx != expected {
        problems.push(problem(
            "trail",
            expected.to_string(),
            None,
            format!("missing: the next stored entry is {}", row.idx),
        ));
    }
    if leaf_hash(row.entry).0[..] != row.leaf[..] {
        problems.push(problem(
            "trail",
            key.clone(),
            Some("leaf"),
            "does not hash the entry",
        ));
    }
    let entry: TrailEntry = match trail::decode(row.idx, row.entry) {
        Ok(e) => e,
        Err(e) => {
            problems.push(problem("trail", key, Some("entry"), e.to_string()));
            return Ok(row.idx + 1);
        }
    };
    let (reencoded, _) = trail::encode(&entry.event, &RecordTime::parse(&entry.time)?)?;
    if reencoded != row.entry {
        problems.push(problem(
            "trail",
            key.clone(),
            Some("entry"),
            "not in its one canonical spelling",
        ));
    }
    let columns = trail::columns(&entry);
    for (column, same) in [
        ("time", row.time == columns.time),
        ("account", row.account == columns.account.as_deref()),
        ("action", row.action == columns.action),
        (
            "actor_region",
            row.actor_region == columns.actor_region.as_deref(),
        ),
        ("region", row.region == columns.region.as_deref()),
    ] {
        if !same {
            problems.push(problem(
                "trail",
                key.clone(),
                Some(column),
                "differs from what the entry says",
            ));
        }
    }
    if filed != columns.enterprises {
        problems.push(problem(
            "trail_enterprise",
            key,
            Some("enterprise"),
            format!(
                "filed under {filed:?}, but the entry concerns {:?}",
                columns.enterprises
            ),
        ));
    }
    Ok(row.idx + 1)
}

/// Counts the differences of one table and keeps the first
/// [`MAX_PROBLEMS_PER_TABLE`] of them, summing up the rest.
#[derive(Debug)]
pub struct TableDifferences<'a> {
    table: &'a str,
    problems: &'a mut Vec<AuditProblem>,
    found: usize,
}

impl<'a> TableDifferences<'a> {
    pub fn new(table: &'a str, problems: &'a mut Vec<AuditProblem>) -> TableDifferences<'a> {
        TableDifferences {
            table,
            problems,
            found: 0,
        }
    }

    pub fn report(&mut self, key: String, column: Option<&str>, detail: String) {
        self.found += 1;
        if self.found <= MAX_PROBLEMS_PER_TABLE {
            self.problems.push(problem(self.table, key, column, detail));
        }
    }

    /// Sums up the differences beyond those listed.
    pub fn finish(self) {
        if self.found > MAX_PROBLEMS_PER_TABLE {
            self.problems.push(problem(
                self.table,
                "*",
                None,
                format!(
                    "{} more differences not listed",
                    self.found - MAX_PROBLEMS_PER_TABLE
                ),
            ));
        }
    }
}
