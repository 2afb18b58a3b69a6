//! The audit (DESIGN.md §3 "a rebuild-and-compare command proves it"; §5 "a
//! row changed behind the system's back is found by the audit command").
//!
//! 0. The triggers that refuse UPDATE and DELETE on the ledger are in place.
//! 1. Every entry is re-read: its bytes must decode and re-encode identically
//!    (one spelling per entry), rehash to the stored leaf (RFC 9162 §2.1.1),
//!    and its `record` opening must open its commitment; the stored kind,
//!    enterprise and record time and the public part must be what the record
//!    says.
//! 2. The stored leaves (`ledger.leaf`) stream through a [`Frontier`], which
//!    recomputes every complete subtree and the root at every checkpoint
//!    size; each stored `tree_node` (level 4 and up) is compared on the way.
//! 3. Every stored checkpoint — and one held outside the store — must carry
//!    the log key's signature (C2SP signed-note, Ed25519 `verify_strict`) and
//!    the recomputed root at its size.
//! 4. Every record is replayed through the same projector into a scratch
//!    database, with `now` = its stored record time, and every table is
//!    compared with the live one row by row, by primary key.
//! 5. The audit trail gets steps 1–3 of its own: every trail entry decodes,
//!    rehashes to its leaf and agrees with the columns beside it, its tree
//!    is recomputed and every trail checkpoint must carry the trail key's
//!    signature and the recomputed root.

use std::cmp::Ordering;

use retrace_ledger::checkpoint::{LogVerifier, SignedCheckpoint};
use retrace_ledger::entry::{Entry, Opening};
use retrace_ledger::hash::{EMPTY_ROOT, Hash, leaf_hash};
use retrace_ledger::tree::Frontier;
use retrace_store::{AuditProblem, AuditReport, StoreError};
use rusqlite::types::Value;
use rusqlite::{Connection, Rows};

use crate::cache::ViewCache;
use crate::codec::{self, RecordTime};
use crate::error::{DbError, DbResult};
use crate::log::{LEDGER, LOWEST_STORED_LEVEL, Log, TRAIL};
use crate::schema;
use crate::sequence::{
    Positions, RECORD_FIELD, SequenceError, Sequencer, public_json, record_json,
};
use crate::trail;
use crate::writer::Shared;

/// Positions the replay sums in memory before writing them to the scratch
/// database: bounds the audit's memory however long the ledger.
const MAX_PENDING_POSITIONS: usize = 100_000;

/// More differences than this in one table are summed up in one last problem:
/// a store that diverges from its ledger that much needs no longer list.
const MAX_PROBLEMS_PER_TABLE: usize = 1_000;

/// The triggers that keep the ledger append-only (migration 1). A missing one
/// means someone made room to change the ledger.
const GUARDS: &[&str] = &[
    "ledger_no_update",
    "ledger_no_delete",
    "tree_node_no_update",
    "tree_node_no_delete",
    "checkpoint_no_update",
    "checkpoint_no_delete",
    "trail_no_update",
    "trail_no_delete",
    "trail_enterprise_no_update",
    "trail_enterprise_no_delete",
    "trail_node_no_update",
    "trail_node_no_delete",
    "trail_checkpoint_no_update",
    "trail_checkpoint_no_delete",
];

/// The tables rebuilt from the ledger and compared, with their primary keys.
const COMPARED: &[(&str, &[&str])] = &[
    ("ledger", &["idx"]),
    ("enterprise", &["uscc"]),
    ("facility", &["id"]),
    ("designation", &["enterprise", "category", "valid_from"]),
    ("enterprise_place", &["uscc", "region"]),
    ("lot", &["id"]),
    ("entry_lot", &["lot", "idx"]),
    ("movement", &["entry", "n"]),
    ("position", &["lot", "holder", "owner"]),
    ("lineage_edge", &["entry", "n"]),
    ("pool_member", &["entry", "n"]),
    ("process_month", &["facility", "process", "month"]),
    ("shipment", &["sender", "number"]),
    ("flag", &["key"]),
    ("entry_status", &["idx"]),
];

fn problem(
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

/// Streams the stored leaves through a [`Frontier`] and compares every stored
/// complete subtree with the one recomputed (RFC 9162 §2.1.1).
///
/// Each level is read by its own cursor in index order, and a push completes
/// nodes in index order on each level, so the comparison is a merge: one
/// ordered scan of `tree_node`, constant memory, SHA-256 bound.
pub(crate) fn verify_tree(conn: &Connection, log: Log, sizes: &[u64]) -> DbResult<TreeReport> {
    let last: Option<i64> =
        conn.query_row(&format!("SELECT MAX(idx) FROM {}", log.leaves), [], |r| {
            r.get(0)
        })?;
    let stored = last.map_or(0, |l| codec::index("leaf index", l).map_or(0, |l| l + 1));
    let top = if stored == 0 {
        0
    } else {
        63 - stored.leading_zeros()
    };
    // Level 0 is the log table's leaf column; the levels above are its node table's.
    let leaves_sql = format!(
        "SELECT idx, leaf FROM {} WHERE ?1 = 0 ORDER BY idx",
        log.leaves
    );
    let nodes_sql = format!(
        "SELECT idx, hash FROM {} WHERE level = ?1 ORDER BY idx",
        log.nodes
    );
    let mut statements = (0..=top)
        .map(|level| conn.prepare(if level == 0 { &leaves_sql } else { &nodes_sql }))
        .collect::<Result<Vec<_>, _>>()?;
    let mut cursors = statements
        .iter_mut()
        .zip(0u32..)
        .map(|(st, level)| st.query([level]))
        .collect::<Result<Vec<Rows<'_>>, _>>()?;
    let mut pending: Vec<Option<(u64, Hash)>> = vec![None; cursors.len()];
    let mut problems = Vec::new();
    let mut frontier = Frontier::new();
    let mut roots = Vec::new();
    let mut wanted = sizes.iter().copied().peekable();
    while wanted.next_if_eq(&0).is_some() {
        roots.push((0, EMPTY_ROOT));
    }
    let (leaves, upper) = cursors.split_first_mut().expect("level 0 is always read");
    while let Some(row) = leaves.next()? {
        let idx = codec::index("leaf index", row.get(0)?)?;
        let leaf = codec::hash(
            "leaf",
            row.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?,
        )?;
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
            let cursor = &mut upper[level - 1];
            let key = format!("level={}, idx={}", id.level, id.index);
            loop {
                let next = match pending[level].take() {
                    Some(row) => Some(row),
                    None => match cursor.next()? {
                        Some(r) => Some((
                            codec::index("node index", r.get(0)?)?,
                            codec::hash(
                                "node",
                                r.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?,
                            )?,
                        )),
                        None => None,
                    },
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
                        problems.push(problem(
                            log.nodes,
                            format!("level={}, idx={at}", id.level),
                            None,
                            "extra: no such complete subtree",
                        ));
                        continue;
                    }
                    Some(row) => {
                        problems.push(problem(
                            log.nodes,
                            key.clone(),
                            None,
                            "missing: the tree has this complete subtree",
                        ));
                        pending[level] = Some(row);
                    }
                }
                break;
            }
        }
        while wanted.next_if_eq(&frontier.size()).is_some() {
            roots.push((frontier.size(), frontier.root()));
        }
    }
    for (level, cursor) in upper.iter_mut().enumerate() {
        let level = level + 1;
        if let Some((at, _)) = pending[level].take() {
            problems.push(problem(
                log.nodes,
                format!("level={level}, idx={at}"),
                None,
                "extra: no such complete subtree",
            ));
        }
        while let Some(r) = cursor.next()? {
            let at: i64 = r.get(0)?;
            problems.push(problem(
                log.nodes,
                format!("level={level}, idx={at}"),
                None,
                "extra: no such complete subtree",
            ));
        }
    }
    drop(cursors);
    let mut beyond = conn.prepare(&format!(
        "SELECT level, idx FROM {} WHERE level > ?1 ORDER BY level, idx",
        log.nodes
    ))?;
    let mut rows = beyond.query([top])?;
    while let Some(r) = rows.next()? {
        let (level, at): (i64, i64) = (r.get(0)?, r.get(1)?);
        problems.push(problem(
            log.nodes,
            format!("level={level}, idx={at}"),
            None,
            "extra: no such complete subtree",
        ));
    }
    Ok(TreeReport {
        size: frontier.size(),
        root: frontier.root(),
        roots,
        problems,
    })
}

/// Runs the whole audit on `live`, which the caller holds in one read
/// transaction so that everything read comes from one committed state.
pub(crate) fn audit(
    live: &Connection,
    shared: &Shared,
    extra: Option<&[u8]>,
) -> Result<AuditReport, StoreError> {
    let mut report = AuditReport::default();
    for guard in GUARDS {
        let present = live
            .prepare_cached("SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = ?1")
            .and_then(|mut st| st.exists([guard]))
            .map_err(DbError::from)?;
        if !present {
            report.problems.push(problem(
                "sqlite_master",
                *guard,
                None,
                "missing: the ledger no longer refuses UPDATE and DELETE",
            ));
        }
    }
    let scratch = schema::open_scratch()?;
    scratch.execute_batch("BEGIN").map_err(DbError::from)?;
    report.entries = check_entries(live, &scratch, shared, &mut report.problems)?;

    let (tree, checked) = check_log(
        live,
        LEDGER,
        &shared.key.verifier(),
        report.entries,
        extra,
        &mut report.problems,
    )?;
    report.root = Some(tree.root);
    report.checkpoints_checked = checked;
    report.trail_entries = check_trail(live, &mut report.problems)?;
    let (trail, checked) = check_log(
        live,
        TRAIL,
        &shared.trail_key.verifier(),
        report.trail_entries,
        None,
        &mut report.problems,
    )?;
    report.trail_root = Some(trail.root);
    report.trail_checkpoints_checked = checked;

    for (table, key) in COMPARED {
        report.rows_compared += compare_table(live, &scratch, table, key, &mut report.problems)?;
    }
    Ok(report)
}

/// Steps 2 and 3 for one log of `entries` entries: recomputes its tree and
/// checks every stored checkpoint, and `extra` if given, against it.
/// Answers with the tree and the number of checkpoints checked.
fn check_log(
    live: &Connection,
    log: Log,
    verifier: &LogVerifier,
    entries: u64,
    extra: Option<&[u8]>,
    problems: &mut Vec<AuditProblem>,
) -> Result<(TreeReport, u64), StoreError> {
    let mut checked = 0;
    let mut sizes: Vec<u64> = {
        let mut st = live
            .prepare(&format!(
                "SELECT size FROM {} ORDER BY size",
                log.checkpoints
            ))
            .map_err(DbError::from)?;
        let sizes = st
            .query_map([], |r| r.get::<_, i64>(0))
            .map_err(DbError::from)?;
        sizes
            .map(|s| {
                s.map_err(DbError::from)
                    .and_then(|s| codec::index("checkpoint size", s))
            })
            .collect::<DbResult<_>>()?
    };
    let extra = extra.map(SignedCheckpoint::parse);
    if let Some(Ok(cp)) = &extra {
        sizes.push(cp.checkpoint().size());
        sizes.sort_unstable();
    }
    let tree = verify_tree(live, log, &sizes)?;
    if tree.size != entries {
        problems.push(problem(
            log.leaves,
            "*",
            None,
            format!("{} leaves stored for {entries} entries", tree.size),
        ));
    }
    problems.extend(tree.problems.iter().cloned());

    let mut st = live
        .prepare(&format!(
            "SELECT size, note FROM {} ORDER BY size",
            log.checkpoints
        ))
        .map_err(DbError::from)?;
    let mut rows = st.query([]).map_err(DbError::from)?;
    let mut latest = None;
    while let Some(r) = rows.next().map_err(DbError::from)? {
        let size: i64 = r.get(0).map_err(DbError::from)?;
        let note: Vec<u8> = r.get(1).map_err(DbError::from)?;
        let key = format!("size={size}");
        checked += 1;
        latest = Some(size);
        match SignedCheckpoint::parse(&note) {
            Ok(cp) => {
                if i64::try_from(cp.checkpoint().size()).ok() != Some(size) {
                    problems.push(problem(
                        log.checkpoints,
                        key.clone(),
                        Some("size"),
                        format!("the note is for size {}", cp.checkpoint().size()),
                    ));
                }
                check_checkpoint(log, &cp, verifier, &tree, &key, problems);
            }
            Err(e) => problems.push(problem(
                log.checkpoints,
                key,
                Some("note"),
                format!("not a signed checkpoint: {e}"),
            )),
        }
    }
    if latest.and_then(|l| u64::try_from(l).ok()) != Some(entries) {
        problems.push(problem(
            log.checkpoints,
            "latest",
            None,
            format!("the log holds {entries} entries but the latest checkpoint is for {latest:?}"),
        ));
    }
    match extra {
        None => {}
        Some(Err(e)) => problems.push(problem(
            log.checkpoints,
            "extra",
            Some("note"),
            format!("not a signed checkpoint: {e}"),
        )),
        Some(Ok(cp)) => {
            checked += 1;
            check_checkpoint(log, &cp, verifier, &tree, "extra", problems);
        }
    }
    Ok((tree, checked))
}

/// Step 5's re-read of the trail: every entry decodes, re-encodes
/// identically, rehashes to its leaf and agrees with the columns and the
/// enterprise rows filed beside it. Returns the number of entries.
fn check_trail(live: &Connection, problems: &mut Vec<AuditProblem>) -> DbResult<u64> {
    let mut st = live.prepare(
        "SELECT idx, time, account, action, actor_region, region, entry, leaf FROM trail ORDER BY idx",
    )?;
    let mut by = live.prepare_cached(
        "SELECT enterprise FROM trail_enterprise WHERE idx = ?1 ORDER BY enterprise",
    )?;
    let mut rows = st.query([])?;
    let mut count = 0u64;
    while let Some(row) = rows.next()? {
        let idx = codec::index("trail index", row.get(0)?)?;
        let key = idx.to_string();
        if idx != count {
            problems.push(problem(
                "trail",
                count.to_string(),
                None,
                format!("missing: the next stored entry is {idx}"),
            ));
        }
        count = idx + 1;
        let bytes: Vec<u8> = row.get(6)?;
        let leaf: Vec<u8> = row.get(7)?;
        if leaf_hash(&bytes).0[..] != leaf[..] {
            problems.push(problem(
                "trail",
                key.clone(),
                Some("leaf"),
                "does not hash the entry",
            ));
        }
        let entry = match trail::decode(idx, &bytes) {
            Ok(e) => e,
            Err(e) => {
                problems.push(problem("trail", key, Some("entry"), e.to_string()));
                continue;
            }
        };
        let (reencoded, _) = trail::encode(&entry.event, &RecordTime::parse(&entry.time)?)?;
        if reencoded != bytes {
            problems.push(problem(
                "trail",
                key.clone(),
                Some("entry"),
                "not in its one canonical spelling",
            ));
        }
        let expected = trail::columns(&entry);
        let stored = (
            row.get::<_, String>(1)?,
            row.get::<_, Option<String>>(2)?,
            row.get::<_, String>(3)?,
            row.get::<_, Option<String>>(4)?,
            row.get::<_, Option<String>>(5)?,
        );
        for (column, same) in [
            ("time", stored.0 == expected.time),
            ("account", stored.1 == expected.account),
            ("action", stored.2 == expected.action),
            ("actor_region", stored.3 == expected.actor_region),
            ("region", stored.4 == expected.region),
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
        let filed: Vec<String> = by
            .query_map([codec::sql_index(idx)], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        if filed != expected.enterprises {
            problems.push(problem(
                "trail_enterprise",
                key,
                Some("enterprise"),
                format!(
                    "filed under {filed:?}, but the entry concerns {:?}",
                    expected.enterprises
                ),
            ));
        }
    }
    Ok(count)
}

/// Checks a checkpoint's signature and its root against the recomputed tree.
fn check_checkpoint(
    log: Log,
    cp: &SignedCheckpoint,
    verifier: &LogVerifier,
    tree: &TreeReport,
    key: &str,
    problems: &mut Vec<AuditProblem>,
) {
    let table = log.checkpoints;
    if let Err(e) = cp.verify(verifier) {
        problems.push(problem(table, key, Some("note"), format!("signature: {e}")));
    }
    let c = cp.checkpoint();
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

/// Re-reads every entry (step 1) and replays its record into `scratch`
/// (step 4's rebuild). Returns the number of entries.
fn check_entries(
    live: &Connection,
    scratch: &Connection,
    shared: &Shared,
    problems: &mut Vec<AuditProblem>,
) -> DbResult<u64> {
    let mut st = live.prepare(
        "SELECT idx, record_time, kind, enterprise, entry, leaf, salt, record FROM ledger ORDER BY idx",
    )?;
    let mut rows = st.query([])?;
    // Without the writer's cache: the rebuild reads only the tables.
    let cache = ViewCache::off();
    let positions = Positions::default();
    let sequencer = Sequencer {
        conn: scratch,
        cache: &cache,
        positions: &positions,
        secret: &shared.secret,
        projector: &shared.projector,
    };
    let mut count = 0u64;
    while let Some(row) = rows.next()? {
        let idx = codec::index("ledger index", row.get(0)?)?;
        let key = idx.to_string();
        if idx != count {
            problems.push(problem(
                "ledger",
                count.to_string(),
                None,
                format!("missing: the next stored entry is {idx}"),
            ));
        }
        count = idx + 1;
        let record_time: String = row.get(1)?;
        let kind: String = row.get(2)?;
        let enterprise: String = row.get(3)?;
        let bytes: Vec<u8> = row.get(4)?;
        let stored_leaf: Vec<u8> = row.get(5)?;
        let salt: Vec<u8> = row.get(6)?;
        let value: Vec<u8> = row.get(7)?;

        let leaf = leaf_hash(&bytes);
        if stored_leaf != leaf.0 {
            problems.push(problem(
                "ledger",
                key.clone(),
                Some("leaf"),
                "is not the leaf hash of the entry bytes",
            ));
        }
        let entry = match Entry::decode(&bytes) {
            Ok(entry) => {
                if entry.encode() != bytes {
                    problems.push(problem(
                        "ledger",
                        key.clone(),
                        Some("entry"),
                        "does not re-encode to the same bytes",
                    ));
                }
                if entry.kind() != kind {
                    problems.push(problem(
                        "ledger",
                        key.clone(),
                        Some("kind"),
                        format!("`{kind}` but the entry says `{}`", entry.kind()),
                    ));
                }
                Some(entry)
            }
            Err(e) => {
                problems.push(problem(
                    "ledger",
                    key.clone(),
                    Some("entry"),
                    format!("does not decode: {e}"),
                ));
                None
            }
        };
        if let Some(entry) = &entry {
            let opening = <[u8; 16]>::try_from(salt.as_slice()).map(|salt| Opening {
                field: RECORD_FIELD.to_owned(),
                salt,
                value: value.clone(),
            });
            match opening {
                Ok(o) if entry.verify_openings(std::slice::from_ref(&o)).is_ok() => {}
                Ok(_) => problems.push(problem(
                    "ledger",
                    key.clone(),
                    Some("record"),
                    "does not open the entry's commitment",
                )),
                Err(_) => problems.push(problem(
                    "ledger",
                    key.clone(),
                    Some("salt"),
                    "is not 16 bytes",
                )),
            }
        }
        let record = match serde_json::from_slice(&value) {
            Ok(record) => record,
            Err(e) => {
                problems.push(problem(
                    "ledger",
                    key.clone(),
                    Some("record"),
                    format!("is not a record: {e}"),
                ));
                continue;
            }
        };
        if record_json(&record)? != value {
            problems.push(problem(
                "ledger",
                key.clone(),
                Some("record"),
                "is not the record's canonical JSON",
            ));
        }
        if record.kind_token() != kind {
            problems.push(problem(
                "ledger",
                key.clone(),
                Some("kind"),
                format!("`{kind}` but the record is `{}`", record.kind_token()),
            ));
        }
        if record.enterprise().as_str() != enterprise {
            problems.push(problem(
                "ledger",
                key.clone(),
                Some("enterprise"),
                format!("{enterprise} but the record is {}'s", record.enterprise()),
            ));
        }
        let time = match RecordTime::parse(&record_time) {
            Ok(t) if t.text == record_time => t,
            _ => {
                problems.push(problem(
                    "ledger",
                    key.clone(),
                    Some("record_time"),
                    format!("`{record_time}` is not a record time"),
                ));
                continue;
            }
        };
        if let Some(entry) = &entry
            && public_json(&record, &record_time)? != entry.public()
        {
            problems.push(problem(
                "ledger",
                key.clone(),
                Some("entry"),
                "the public part is not the record's at its record time",
            ));
        }
        match sequencer.record(idx, &time, &record) {
            Ok(_) if positions.len() > MAX_PENDING_POSITIONS => positions.flush(scratch)?,
            Ok(_) => {}
            Err(SequenceError::Refused(refusal)) => {
                problems.push(problem(
                    "ledger",
                    key,
                    None,
                    format!("replaying the record is refused: {refusal}"),
                ));
            }
            Err(SequenceError::Failed(e)) => return Err(e),
        }
    }
    positions.flush(scratch)?;
    Ok(count)
}

/// SQLite's order of values: NULL, numbers, text (binary collation), blobs.
fn sql_cmp(a: &Value, b: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Null => 0,
            Value::Integer(_) | Value::Real(_) => 1,
            Value::Text(_) => 2,
            Value::Blob(_) => 3,
        }
    }
    match (a, b) {
        (Value::Integer(x), Value::Integer(y)) => x.cmp(y),
        (Value::Text(x), Value::Text(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Value::Blob(x), Value::Blob(y)) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

fn show(v: &Value) -> String {
    const MAX: usize = 80;
    let text = match v {
        Value::Null => "NULL".to_owned(),
        Value::Integer(i) => i.to_string(),
        Value::Real(r) => r.to_string(),
        Value::Text(t) => format!("`{t}`"),
        Value::Blob(b) => format!(
            "x'{}'",
            b.iter().map(|x| format!("{x:02x}")).collect::<String>()
        ),
    };
    if text.chars().count() > MAX {
        format!("{}…", text.chars().take(MAX).collect::<String>())
    } else {
        text
    }
}

fn key_text(columns: &[String], row: &[Value], keys: usize) -> String {
    columns
        .iter()
        .zip(row)
        .take(keys)
        .map(|(c, v)| match v {
            Value::Text(t) => format!("{c}={t}"),
            other => format!("{c}={}", show(other)),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn next_row(rows: &mut Rows<'_>, width: usize) -> DbResult<Option<Vec<Value>>> {
    let Some(row) = rows.next()? else {
        return Ok(None);
    };
    (0..width)
        .map(|i| Ok(Value::from(row.get_ref(i)?)))
        .collect::<DbResult<Vec<_>>>()
        .map(Some)
}

/// Compares one table of the live store with its rebuild, row by row in
/// primary-key order. Returns the number of rows compared.
fn compare_table(
    live: &Connection,
    rebuilt: &Connection,
    table: &str,
    key: &[&str],
    problems: &mut Vec<AuditProblem>,
) -> DbResult<u64> {
    let mut columns: Vec<String> = key.iter().map(|k| (*k).to_owned()).collect();
    let mut info = live.prepare(&format!(
        "SELECT name FROM pragma_table_info('{table}') ORDER BY cid"
    ))?;
    for name in info.query_map([], |r| r.get::<_, String>(0))? {
        let name = name?;
        if !key.contains(&name.as_str()) {
            columns.push(name);
        }
    }
    let sql = format!(
        "SELECT {} FROM {table} ORDER BY {}",
        columns.join(", "),
        key.join(", ")
    );
    let mut a = live.prepare(&sql)?;
    let mut b = rebuilt.prepare(&sql)?;
    let (mut live_rows, mut rebuilt_rows) = (a.query([])?, b.query([])?);
    let width = columns.len();
    let (mut x, mut y) = (
        next_row(&mut live_rows, width)?,
        next_row(&mut rebuilt_rows, width)?,
    );
    let mut compared = 0u64;
    let mut found = 0usize;
    let mut report = |p: AuditProblem| {
        found += 1;
        if found <= MAX_PROBLEMS_PER_TABLE {
            problems.push(p);
        }
    };
    loop {
        let order = match (&x, &y) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(l), Some(r)) => l[..key.len()]
                .iter()
                .zip(&r[..key.len()])
                .map(|(p, q)| sql_cmp(p, q))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal),
        };
        compared += 1;
        match order {
            Ordering::Less => {
                let row = x.take().expect("ordered before the other side, so present");
                report(problem(
                    table,
                    key_text(&columns, &row, key.len()),
                    None,
                    "extra: the ledger does not give this row",
                ));
                x = next_row(&mut live_rows, width)?;
            }
            Ordering::Greater => {
                let row = y.take().expect("ordered before the other side, so present");
                report(problem(
                    table,
                    key_text(&columns, &row, key.len()),
                    None,
                    "missing: the ledger gives this row",
                ));
                y = next_row(&mut rebuilt_rows, width)?;
            }
            Ordering::Equal => {
                let (l, r) = (
                    x.take().expect("both present"),
                    y.take().expect("both present"),
                );
                for ((column, stored), rebuilt) in columns.iter().zip(&l).zip(&r).skip(key.len()) {
                    if stored != rebuilt {
                        report(problem(
                            table,
                            key_text(&columns, &l, key.len()),
                            Some(column),
                            format!(
                                "stored {} but the ledger gives {}",
                                show(stored),
                                show(rebuilt)
                            ),
                        ));
                    }
                }
                x = next_row(&mut live_rows, width)?;
                y = next_row(&mut rebuilt_rows, width)?;
            }
        }
    }
    if found > MAX_PROBLEMS_PER_TABLE {
        problems.push(problem(
            table,
            "*",
            None,
            format!(
                "{} more differences not listed",
                found - MAX_PROBLEMS_PER_TABLE
            ),
        ));
    }
    Ok(compared)
}
