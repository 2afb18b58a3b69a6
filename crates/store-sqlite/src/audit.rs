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

use retrace_ledger::checkpoint::LogVerifier;
use retrace_ledger::hash::Hash;
use retrace_store::audit::{
    self, CheckpointCheck, StoredEntry, StoredTrail, TableDifferences, TreeReport, TreeScan,
    problem,
};
use retrace_store::cache::ViewCache;
use retrace_store::digest::{self, TABLES, TableDigest};
use retrace_store::{AuditProblem, AuditReport, StoreError};
use rusqlite::types::Value;
use rusqlite::{Connection, Rows};

use crate::codec;
use crate::error::{DbError, DbResult};
use crate::log::{LEDGER, LOWEST_STORED_LEVEL, Log, TRAIL};
use crate::schema;
use crate::sequence::{Positions, SequenceError, Sequencer};
use crate::writer::Shared;

/// Positions the replay sums in memory before writing them to the scratch
/// database: bounds the audit's memory however long the ledger.
const MAX_PENDING_POSITIONS: usize = 100_000;

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

/// The stored tree of one connection, read level by level in index order.
struct SqliteScan<'s> {
    log: Log,
    leaves: Rows<'s>,
    /// Cursors of the stored levels, from [`LOWEST_STORED_LEVEL`] up.
    levels: Vec<Rows<'s>>,
    conn: &'s Connection,
}

fn hash_at(row: &rusqlite::Row<'_>, what: &'static str) -> DbResult<(u64, Hash)> {
    Ok((
        codec::index(what, row.get(0)?)?,
        codec::hash(
            what,
            row.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?,
        )?,
    ))
}

impl TreeScan for SqliteScan<'_> {
    type Error = DbError;

    fn next_leaf(&mut self) -> DbResult<Option<(u64, Hash)>> {
        self.leaves.next()?.map(|r| hash_at(r, "leaf")).transpose()
    }

    fn next_node(&mut self, level: u8) -> DbResult<Option<(u64, Hash)>> {
        match self
            .levels
            .get_mut(usize::from(level - LOWEST_STORED_LEVEL))
        {
            Some(cursor) => cursor.next()?.map(|r| hash_at(r, "node")).transpose(),
            None => Ok(None),
        }
    }

    fn nodes_above(&mut self, level: u8) -> DbResult<Vec<(u64, u64)>> {
        let mut beyond = self.conn.prepare(&format!(
            "SELECT level, idx FROM {} WHERE level > ?1 ORDER BY level, idx",
            self.log.nodes
        ))?;
        let mut rows = beyond.query([level])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push((
                codec::index("node level", r.get(0)?)?,
                codec::index("node index", r.get(1)?)?,
            ));
        }
        Ok(out)
    }
}

/// Streams the stored leaves of `log` through the shared tree pass
/// ([`retrace_store::audit::verify_tree`]), comparing every stored node.
pub(crate) fn verify_tree(conn: &Connection, log: Log, sizes: &[u64]) -> DbResult<TreeReport> {
    let stored = crate::log::size(conn, log)?;
    let top = if stored == 0 {
        0
    } else {
        63 - stored.leading_zeros()
    };
    let mut leaves = conn.prepare(&format!(
        "SELECT idx, leaf FROM {} ORDER BY idx",
        log.leaves
    ))?;
    let nodes_sql = format!(
        "SELECT idx, hash FROM {} WHERE level = ?1 ORDER BY idx",
        log.nodes
    );
    let mut statements = (u32::from(LOWEST_STORED_LEVEL)..=top.max(u32::from(LOWEST_STORED_LEVEL)))
        .map(|_| conn.prepare(&nodes_sql))
        .collect::<Result<Vec<_>, _>>()?;
    let levels = statements
        .iter_mut()
        .zip(u32::from(LOWEST_STORED_LEVEL)..)
        .map(|(st, level)| st.query([level]))
        .collect::<Result<Vec<Rows<'_>>, _>>()?;
    let mut scan = SqliteScan {
        log,
        leaves: leaves.query([])?,
        levels,
        conn,
    };
    audit::verify_tree(&mut scan, log, stored, sizes)
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
        shared.key.verifier(),
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
        shared.trail_key.verifier(),
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
    verifier: LogVerifier,
    entries: u64,
    extra: Option<&[u8]>,
    problems: &mut Vec<AuditProblem>,
) -> DbResult<(TreeReport, u64)> {
    let stored: Vec<u64> = {
        let mut st = live.prepare(&format!(
            "SELECT size FROM {} ORDER BY size",
            log.checkpoints
        ))?;
        let sizes = st.query_map([], |r| r.get::<_, i64>(0))?;
        sizes
            .map(|s| Ok(codec::index("checkpoint size", s?)?))
            .collect::<DbResult<_>>()?
    };
    let tree = verify_tree(live, log, &audit::checkpoint_sizes(stored, extra))?;
    let mut checkpoints = CheckpointCheck::new(log, verifier, &tree, entries, problems);
    let mut st = live.prepare(&format!(
        "SELECT size, note FROM {} ORDER BY size",
        log.checkpoints
    ))?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        let note: Vec<u8> = r.get(1)?;
        checkpoints.stored(r.get(0)?, &note, problems);
    }
    let checked = checkpoints.finish(extra, problems);
    drop(rows);
    Ok((tree, checked))
}

/// Step 5's re-read of the trail ([`retrace_store::audit::check_trail_entry`]).
/// Returns the number of entries.
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
        let (time, account, action, actor_region, region): (
            String,
            Option<String>,
            String,
            Option<String>,
            Option<String>,
        ) = (
            row.get(1)?,
            row.get(2)?,
            row.get(3)?,
            row.get(4)?,
            row.get(5)?,
        );
        let (entry, leaf): (Vec<u8>, Vec<u8>) = (row.get(6)?, row.get(7)?);
        let filed: Vec<String> = by
            .query_map([codec::sql_index(idx)], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let stored = StoredTrail {
            idx,
            time: &time,
            account: account.as_deref(),
            action: &action,
            actor_region: actor_region.as_deref(),
            region: region.as_deref(),
            entry: &entry,
            leaf: &leaf,
        };
        count = audit::check_trail_entry(&stored, &filed, count, problems)?;
    }
    Ok(count)
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
        let stored = StoredEntry {
            idx,
            record_time: &record_time,
            kind: &kind,
            enterprise: &enterprise,
            entry: &bytes,
            leaf: &stored_leaf,
            salt: &salt,
            record: &value,
        };
        let Some((record, time)) = audit::check_entry(&stored, problems)? else {
            continue;
        };
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
    let mut differences = TableDifferences::new(table, problems);
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
                differences.report(
                    key_text(&columns, &row, key.len()),
                    None,
                    "extra: the ledger does not give this row".to_owned(),
                );
                x = next_row(&mut live_rows, width)?;
            }
            Ordering::Greater => {
                let row = y.take().expect("ordered before the other side, so present");
                differences.report(
                    key_text(&columns, &row, key.len()),
                    None,
                    "missing: the ledger gives this row".to_owned(),
                );
                y = next_row(&mut rebuilt_rows, width)?;
            }
            Ordering::Equal => {
                let (l, r) = (
                    x.take().expect("both present"),
                    y.take().expect("both present"),
                );
                for ((column, stored), rebuilt) in columns.iter().zip(&l).zip(&r).skip(key.len()) {
                    if stored != rebuilt {
                        differences.report(
                            key_text(&columns, &l, key.len()),
                            Some(column),
                            format!(
                                "stored {} but the ledger gives {}",
                                show(stored),
                                show(rebuilt)
                            ),
                        );
                    }
                }
                x = next_row(&mut live_rows, width)?;
                y = next_row(&mut rebuilt_rows, width)?;
            }
        }
    }
    differences.finish();
    Ok(compared)
}

/// Every row of `table` (one of `retrace_store::digest::TABLES`) in key
/// order, each value spelled as the digest spells it, to `row`.
fn each_text_row(
    conn: &Connection,
    table: &str,
    key: &[&str],
    rest: &[&str],
    mut row: impl FnMut(Vec<Option<String>>),
) -> DbResult<()> {
    let columns: Vec<&str> = key.iter().chain(rest.iter()).copied().collect();
    let mut st = conn.prepare(&format!(
        "SELECT {} FROM {table} ORDER BY {}",
        columns.join(", "),
        key.join(", ")
    ))?;
    let mut rows = st.query([])?;
    while let Some(values) = next_row(&mut rows, columns.len())? {
        row(values
            .iter()
            .map(|v| match v {
                Value::Null => None,
                Value::Integer(i) => Some(i.to_string()),
                Value::Real(r) => Some(r.to_string()),
                Value::Text(t) => Some(t.clone()),
                Value::Blob(b) => Some(digest::hex(b)),
            })
            .collect());
    }
    Ok(())
}

/// The digest of every table of `retrace_store::digest::TABLES`.
pub(crate) fn table_digests(conn: &Connection) -> DbResult<Vec<(String, u64, Hash)>> {
    let mut out = Vec::with_capacity(TABLES.len());
    for (table, key, rest) in TABLES {
        let mut digest = TableDigest::new();
        each_text_row(conn, table, key, rest, |text| {
            digest.row(text.iter().map(|v| v.as_deref()));
        })?;
        let (count, hash) = digest.finish();
        out.push(((*table).to_owned(), count, hash));
    }
    Ok(out)
}

/// The rows of `table`, one of `retrace_store::digest::TABLES`, in key order
/// and in the digest's spelling.
pub(crate) fn table_rows(conn: &Connection, table: &str) -> DbResult<Vec<Vec<Option<String>>>> {
    let (_, key, rest) = TABLES
        .iter()
        .find(|(t, _, _)| *t == table)
        .ok_or_else(|| DbError::corrupt("table", format!("{table} is not a digested table")))?;
    let mut out = Vec::new();
    each_text_row(conn, table, key, rest, |row| out.push(row))?;
    Ok(out)
}
