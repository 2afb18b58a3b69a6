//! The audit (DESIGN.md §3 "a rebuild-and-compare command proves it"; §5 "a
//! row changed behind the system's back is found by the audit command"), on
//! PostgreSQL. The checks of entries, tree and checkpoints are
//! `retrace_store::audit`'s, shared with SQLite.
//!
//! The whole audit is one REPEATABLE READ transaction on a connection of its
//! own, so everything it reads comes from one snapshot:
//!
//! 0. The triggers that refuse UPDATE, DELETE and TRUNCATE on the ledger are
//!    in place.
//! 1. Every entry is re-read through a cursor and checked.
//! 2. The stored leaves stream through the tree pass, each stored node is
//!    compared on the way.
//! 3. Every stored checkpoint, and one held outside the store, is checked.
//! 5. The audit trail gets steps 1–3 of its own: every trail entry decodes,
//!    rehashes to its leaf and agrees with the columns beside it, its tree
//!    is recomputed and every trail checkpoint must carry the trail key's
//!    signature and the recomputed root.
//! 4. Every record is replayed through the same projector into a scratch
//!    schema made by the same migrations, and every table is compared with
//!    the live one in SQL, row by row by primary key. The transaction is
//!    rolled back at the end, and the scratch schema with it.

use std::collections::VecDeque;

use postgres::Row;
use retrace_domain::record::Record;
use retrace_ledger::checkpoint::LogVerifier;
use retrace_ledger::hash::Hash;
use retrace_store::audit::{
    self, CheckpointCheck, MAX_PROBLEMS_PER_TABLE, StoredEntry, StoredTrail, TreeReport, TreeScan,
    problem,
};
use retrace_store::cache::ViewCache;
use retrace_store::digest::{self, TABLES, TableDigest};
use retrace_store::nodes::LOWEST_STORED_LEVEL;
use retrace_store::{AuditProblem, AuditReport, StoreError};

use crate::codec::{self, RecordTime};
use crate::connection::Conn;
use crate::error::{DbError, DbResult};
use crate::log::{LEDGER, PgLog, TRAIL};
use crate::pending::Pending;
use crate::schema::MIGRATIONS;
use crate::sequence::{Counters, SequenceError, Sequencer};
use crate::writer::Shared;

/// Rows fetched from a cursor at a time.
const FETCH: usize = 5_000;

/// The triggers that keep both logs append-only (migrations 1 and 2), by table.
const GUARDS: &[(&str, &str)] = &[
    ("leaf", "leaf_no_update"),
    ("leaf", "leaf_no_delete"),
    ("leaf", "leaf_no_truncate"),
    ("ledger", "ledger_no_update"),
    ("ledger", "ledger_no_delete"),
    ("tree_node", "tree_node_no_update"),
    ("tree_node", "tree_node_no_delete"),
    ("tree_node", "tree_node_no_truncate"),
    ("checkpoint", "checkpoint_no_update"),
    ("checkpoint", "checkpoint_no_delete"),
    ("checkpoint", "checkpoint_no_truncate"),
    ("trail", "trail_no_update"),
    ("trail", "trail_no_delete"),
    ("trail", "trail_no_truncate"),
    ("trail_enterprise", "trail_enterprise_no_update"),
    ("trail_enterprise", "trail_enterprise_no_delete"),
    ("trail_enterprise", "trail_enterprise_no_truncate"),
    ("trail_node", "trail_node_no_update"),
    ("trail_node", "trail_node_no_delete"),
    ("trail_node", "trail_node_no_truncate"),
    ("trail_checkpoint", "trail_checkpoint_no_update"),
    ("trail_checkpoint", "trail_checkpoint_no_delete"),
    ("trail_checkpoint", "trail_checkpoint_no_truncate"),
];

/// The tables rebuilt from the ledger and compared, with their primary keys.
const COMPARED: &[(&str, &[&str])] = &[
    ("ledger", &["idx"]),
    ("leaf", &["idx"]),
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

/// A server-side cursor read a chunk at a time.
struct Cursor<'c> {
    conn: &'c Conn,
    name: String,
    rows: VecDeque<Row>,
    done: bool,
}

impl<'c> Cursor<'c> {
    fn open(conn: &'c Conn, name: &str, query: &str) -> DbResult<Cursor<'c>> {
        conn.batch(&format!("DECLARE {name} NO SCROLL CURSOR FOR {query}"))?;
        Ok(Cursor {
            conn,
            name: name.to_owned(),
            rows: VecDeque::new(),
            done: false,
        })
    }

    fn next(&mut self) -> DbResult<Option<Row>> {
        if self.rows.is_empty() && !self.done {
            let fetched = self
                .conn
                .query(&format!("FETCH {FETCH} FROM {}", self.name), &[])?;
            self.done = fetched.len() < FETCH;
            self.rows.extend(fetched);
        }
        Ok(self.rows.pop_front())
    }
}

fn hash_at(row: &Row, what: &'static str) -> DbResult<(u64, Hash)> {
    let bytes: Vec<u8> = row.try_get(1)?;
    Ok((
        codec::index(what, row.try_get(0)?)?,
        codec::hash(what, &bytes)?,
    ))
}

/// The stored tree of `schema`, read level by level in index order.
struct PgScan<'c> {
    log: PgLog,
    leaves: Cursor<'c>,
    levels: Vec<Cursor<'c>>,
    conn: &'c Conn,
    schema: String,
}

impl TreeScan for PgScan<'_> {
    type Error = DbError;

    fn next_leaf(&mut self) -> DbResult<Option<(u64, Hash)>> {
        self.leaves.next()?.map(|r| hash_at(&r, "leaf")).transpose()
    }

    fn next_node(&mut self, level: u8) -> DbResult<Option<(u64, Hash)>> {
        match self
            .levels
            .get_mut(usize::from(level - LOWEST_STORED_LEVEL))
        {
            Some(cursor) => cursor.next()?.map(|r| hash_at(&r, "node")).transpose(),
            None => Ok(None),
        }
    }

    fn nodes_above(&mut self, level: u8) -> DbResult<Vec<(u64, u64)>> {
        self.conn
            .query(
                &format!(
                    "SELECT level, idx FROM {}.{} WHERE level > $1 ORDER BY level, idx",
                    self.schema, self.log.log.nodes
                ),
                &[&i16::from(level)],
            )?
            .iter()
            .map(|r| {
                let level: i16 = r.try_get(0)?;
                Ok((
                    codec::index("node level", i64::from(level))?,
                    codec::index("node index", r.try_get(1)?)?,
                ))
            })
            .collect()
    }
}

/// The schema the store's tables are in.
fn live_schema(conn: &Conn) -> DbResult<String> {
    Ok(conn
        .query_one(
            "SELECT n.nspname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = 'leaf'::regclass",
            &[],
        )?
        .try_get(0)?)
}

/// Streams the stored ledger leaves through the shared tree pass
/// ([`retrace_store::audit::verify_tree`]), comparing every stored node.
/// Runs inside the caller's transaction (cursors live in one).
pub(crate) fn verify_tree(conn: &Conn, sizes: &[u64]) -> DbResult<TreeReport> {
    let schema = live_schema(conn)?;
    verify_tree_in(conn, &schema, LEDGER, sizes)
}

fn verify_tree_in(conn: &Conn, schema: &str, log: PgLog, sizes: &[u64]) -> DbResult<TreeReport> {
    let stored: i64 = conn.query_one(&log.size_select(schema), &[])?.try_get(0)?;
    let stored = codec::index("leaf count", stored)?;
    let top = if stored == 0 {
        0
    } else {
        63 - stored.leading_zeros()
    };
    let leaves = Cursor::open(conn, "audit_leaves", &log.leaves_select(schema))?;
    let levels = (u32::from(LOWEST_STORED_LEVEL)..=top.max(u32::from(LOWEST_STORED_LEVEL)))
        .map(|level| {
            Cursor::open(
                conn,
                &format!("audit_level_{level}"),
                &format!(
                    "SELECT idx, hash FROM {schema}.{} WHERE level = {level} ORDER BY idx",
                    log.log.nodes
                ),
            )
        })
        .collect::<DbResult<Vec<_>>>()?;
    let mut scan = PgScan {
        log,
        leaves,
        levels,
        conn,
        schema: schema.to_owned(),
    };
    let report = audit::verify_tree(&mut scan, log.log, stored, sizes)?;
    conn.batch("CLOSE audit_leaves")?;
    for level in u32::from(LOWEST_STORED_LEVEL)..=top.max(u32::from(LOWEST_STORED_LEVEL)) {
        conn.batch(&format!("CLOSE audit_level_{level}"))?;
    }
    Ok(report)
}

/// Steps 2 and 3 for one log of `entries` entries: recomputes its tree and
/// checks every stored checkpoint, and `extra` if given, against it.
/// Answers with the tree and the number of checkpoints checked.
fn check_log(
    conn: &Conn,
    live: &str,
    log: PgLog,
    verifier: LogVerifier,
    entries: u64,
    extra: Option<&[u8]>,
    problems: &mut Vec<AuditProblem>,
) -> DbResult<(TreeReport, u64)> {
    let table = log.log.checkpoints;
    let stored: Vec<u64> = conn
        .query(
            &format!("SELECT size FROM {live}.{table} ORDER BY size"),
            &[],
        )?
        .iter()
        .map(|r| Ok(codec::index("checkpoint size", r.try_get(0)?)?))
        .collect::<DbResult<_>>()?;
    let tree = verify_tree_in(conn, live, log, &audit::checkpoint_sizes(stored, extra))?;
    let mut checkpoints = CheckpointCheck::new(log.log, verifier, &tree, entries, problems);
    let mut notes = Cursor::open(
        conn,
        "audit_checkpoints",
        &format!("SELECT size, note FROM {live}.{table} ORDER BY size"),
    )?;
    while let Some(r) = notes.next()? {
        let note: Vec<u8> = r.try_get(1)?;
        checkpoints.stored(r.try_get(0)?, &note, problems);
    }
    conn.batch("CLOSE audit_checkpoints")?;
    let checked = checkpoints.finish(extra, problems);
    Ok((tree, checked))
}

/// Step 5's re-read of the trail ([`retrace_store::audit::check_trail_entry`]).
/// Returns the number of entries.
fn check_trail(conn: &Conn, live: &str, problems: &mut Vec<AuditProblem>) -> DbResult<u64> {
    let mut rows = Cursor::open(
        conn,
        "audit_trail",
        &format!(
            "SELECT t.idx, t.time, t.account, t.action, t.actor_region, t.region, t.entry, t.leaf, \
             ARRAY(SELECT te.enterprise::text FROM {live}.trail_enterprise te WHERE te.idx = t.idx ORDER BY te.enterprise) \
             FROM {live}.trail t ORDER BY t.idx"
        ),
    )?;
    let mut count = 0u64;
    while let Some(row) = rows.next()? {
        let idx = codec::index("trail index", row.try_get(0)?)?;
        let (time, account, action, actor_region, region): (
            String,
            Option<String>,
            String,
            Option<String>,
            Option<String>,
        ) = (
            row.try_get(1)?,
            row.try_get(2)?,
            row.try_get(3)?,
            row.try_get(4)?,
            row.try_get(5)?,
        );
        let (entry, leaf): (Vec<u8>, Vec<u8>) = (row.try_get(6)?, row.try_get(7)?);
        let filed: Vec<String> = row.try_get(8)?;
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
    conn.batch("CLOSE audit_trail")?;
    Ok(count)
}

/// Runs the whole audit on `conn`, a connection of its own.
pub(crate) fn audit(
    conn: &Conn,
    shared: &Shared,
    extra: Option<&[u8]>,
) -> Result<AuditReport, StoreError> {
    conn.batch("BEGIN ISOLATION LEVEL REPEATABLE READ")?;
    let result = run(conn, shared, extra);
    if let Err(e) = conn.batch("ROLLBACK") {
        tracing::debug!(error = %e, "the audit's transaction was gone");
    }
    result
}

fn run(conn: &Conn, shared: &Shared, extra: Option<&[u8]>) -> Result<AuditReport, StoreError> {
    let mut report = AuditReport::default();
    let live = live_schema(conn)?;
    for (table, guard) in GUARDS {
        let present: bool = conn
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = $1 AND c.relname = $2 AND t.tgname = $3 AND t.tgenabled <> 'D')",
                &[&live, table, guard],
            )?
            .try_get(0)
            .map_err(DbError::from)?;
        if !present {
            report.problems.push(problem(
                "pg_trigger",
                *guard,
                None,
                "missing or disabled: the ledger no longer refuses UPDATE, DELETE and TRUNCATE",
            ));
        }
    }
    let privileged: Vec<String> = conn
        .query(
            "SELECT t.name || ': ' || p.privilege FROM unnest(ARRAY['leaf', 'ledger', 'tree_node', 'checkpoint', 'trail', 'trail_enterprise', 'trail_node', 'trail_checkpoint']) AS t(name)              CROSS JOIN unnest(ARRAY['UPDATE', 'DELETE', 'TRUNCATE']) AS p(privilege)              WHERE EXISTS (SELECT FROM pg_roles WHERE rolname = 'retrace_sequencer')              AND has_table_privilege('retrace_sequencer', quote_ident($1) || '.' || t.name, p.privilege) ORDER BY 1",
            &[&live],
        )?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()
        .map_err(DbError::from)?;
    for grant in privileged {
        report.problems.push(problem(
            "pg_class",
            grant,
            None,
            "granted to retrace_sequencer: the sequencer may change a log",
        ));
    }
    let scratch = format!("retrace_audit_{}", std::process::id());
    conn.batch(&format!(
        "CREATE SCHEMA {scratch}; SET LOCAL search_path TO {scratch}"
    ))?;
    for script in MIGRATIONS {
        conn.batch(script)?;
    }
    report.entries = check_entries(conn, &live, shared, &mut report.problems)?;

    let (tree, checked) = check_log(
        conn,
        &live,
        LEDGER,
        shared.key.verifier(),
        report.entries,
        extra,
        &mut report.problems,
    )?;
    report.root = Some(tree.root);
    report.checkpoints_checked = checked;
    report.trail_entries = check_trail(conn, &live, &mut report.problems)?;
    let (trail, checked) = check_log(
        conn,
        &live,
        TRAIL,
        shared.trail_key.verifier(),
        report.trail_entries,
        None,
        &mut report.problems,
    )?;
    report.trail_root = Some(trail.root);
    report.trail_checkpoints_checked = checked;

    for (table, key) in COMPARED {
        report.rows_compared +=
            compare_table(conn, &live, &scratch, table, key, &mut report.problems)?;
    }
    Ok(report)
}

/// Re-reads every entry (step 1) and replays its record into the scratch
/// schema, the first on the search path (step 4's rebuild). Returns the
/// number of entries.
fn check_entries(
    conn: &Conn,
    live: &str,
    shared: &Shared,
    problems: &mut Vec<AuditProblem>,
) -> DbResult<u64> {
    let mut rows = Cursor::open(
        conn,
        "audit_ledger",
        &format!(
            "SELECT l.idx, l.record_time, l.kind, l.enterprise, l.entry, COALESCE(f.hash, ''::bytea), l.salt, l.record \
             FROM {live}.ledger l LEFT JOIN {live}.leaf f ON f.idx = l.idx ORDER BY l.idx"
        ),
    )?;
    // With the writer's cache: every read the replay makes without it is a
    // round trip to the server, and ten million entries make a hundred
    // million of them. The cache is the same code on both stores, and the
    // embedded store's audit replays without it, so a cache that answered
    // differently from its tables is found there (and by the cross-store
    // tests, which compare both stores' live tables).
    let cache = ViewCache::new();
    let pending = Pending::default();
    let counters = Counters::load(conn)?;
    let sequencer = Sequencer {
        conn,
        cache: &cache,
        pending: &pending,
        counters: &counters,
        secret: &shared.secret,
        projector: &shared.projector,
    };
    let mut count = 0u64;
    let mut analyzed_at = 0u64;
    let mut replay = Vec::with_capacity(FETCH);
    while let Some(row) = rows.next()? {
        let idx = codec::index("ledger index", row.try_get(0)?)?;
        if idx != count {
            problems.push(problem(
                "ledger",
                count.to_string(),
                None,
                format!("missing: the next stored entry is {idx}"),
            ));
        }
        count = idx + 1;
        let record_time: String = row.try_get(1)?;
        let kind: String = row.try_get(2)?;
        let enterprise: String = row.try_get(3)?;
        let bytes: Vec<u8> = row.try_get(4)?;
        let leaf: Vec<u8> = row.try_get(5)?;
        let salt: Vec<u8> = row.try_get(6)?;
        let value: Vec<u8> = row.try_get(7)?;
        let stored = StoredEntry {
            idx,
            record_time: &record_time,
            kind: &kind,
            enterprise: &enterprise,
            entry: &bytes,
            leaf: &leaf,
            salt: &salt,
            record: &value,
        };
        let Some((record, time)) = audit::check_entry(&stored, problems)? else {
            continue;
        };
        replay.push((idx, time, record));
        if replay.len() == FETCH {
            replay_chunk(&sequencer, &mut replay, problems)?;
            // The scratch tables grow from nothing: keep their statistics
            // current, or the replay's lookups become scans.
            if crate::schema::analyze_due(analyzed_at, count) {
                crate::schema::analyze(conn)?;
                analyzed_at = count;
            }
        }
    }
    replay_chunk(&sequencer, &mut replay, problems)?;
    pending.flush(conn)?;
    conn.batch("CLOSE audit_ledger")?;
    Ok(count)
}

/// Replays a chunk of records into the scratch schema: what is pending is
/// written first, so that the chunk's state is read at once
/// ([`crate::view::prefetch`]) from tables that hold everything before it.
fn replay_chunk(
    sequencer: &Sequencer<'_>,
    chunk: &mut Vec<(u64, RecordTime, Record)>,
    problems: &mut Vec<AuditProblem>,
) -> DbResult<()> {
    sequencer.pending.flush(sequencer.conn)?;
    let records: Vec<Record> = chunk.iter().map(|(_, _, r)| r.clone()).collect();
    crate::view::prefetch(
        &crate::view::TableView {
            conn: sequencer.conn,
            cache: sequencer.cache,
            pending: sequencer.pending,
        },
        &records,
    )?;
    for (idx, time, record) in chunk.drain(..) {
        match sequencer.record(idx, &time, &record) {
            Ok(_) => {}
            Err(SequenceError::Refused(refusal)) => {
                problems.push(problem(
                    "ledger",
                    idx.to_string(),
                    None,
                    format!("replaying the record is refused: {refusal}"),
                ));
            }
            Err(SequenceError::Failed(e)) => return Err(e),
        }
    }
    Ok(())
}

/// A column and how its values are shown.
struct Column {
    name: String,
    bytes: bool,
    text: bool,
}

fn columns(conn: &Conn, schema: &str, table: &str, key: &[&str]) -> DbResult<Vec<Column>> {
    let mut all: Vec<Column> = conn
        .query(
            "SELECT column_name::text, data_type::text FROM information_schema.columns \
             WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
            &[&schema, &table],
        )?
        .iter()
        .map(|r| {
            let kind: String = r.try_get(1)?;
            Ok(Column {
                name: r.try_get(0)?,
                bytes: kind == "bytea",
                text: kind == "text",
            })
        })
        .collect::<DbResult<_>>()?;
    // Keys first, in key order, as the reports name them.
    all.sort_by_key(|c| key.iter().position(|k| *k == c.name).unwrap_or(key.len()));
    Ok(all)
}

/// A value as text, bytes in hex.
fn as_text(alias: &str, c: &Column) -> String {
    if c.bytes {
        format!("encode({alias}.{}, 'hex')", c.name)
    } else {
        format!("{alias}.{}::text", c.name)
    }
}

/// A value as the reports show it: text quoted, bytes as `x'…'`, at most 80 characters.
fn show(c: &Column, value: Option<&str>) -> String {
    const MAX: usize = 80;
    let text = match value {
        None => "NULL".to_owned(),
        Some(v) if c.bytes => format!("x'{v}'"),
        Some(v) if c.text => format!("`{v}`"),
        Some(v) => v.to_owned(),
    };
    if text.chars().count() > MAX {
        format!("{}…", text.chars().take(MAX).collect::<String>())
    } else {
        text
    }
}

/// Compares one live table with its rebuild in SQL: a full join on the
/// primary key, keeping the rows that are missing on one side or differ in
/// a column. Returns the number of rows compared.
fn compare_table(
    conn: &Conn,
    live: &str,
    scratch: &str,
    table: &str,
    key: &[&str],
    problems: &mut Vec<AuditProblem>,
) -> DbResult<u64> {
    let cols = columns(conn, live, table, key)?;
    let values: Vec<String> = cols
        .iter()
        .flat_map(|c| [as_text("a", c), as_text("b", c)])
        .collect();
    let on: Vec<String> = key.iter().map(|k| format!("a.{k} = b.{k}")).collect();
    let differs: Vec<String> = cols
        .iter()
        .skip(key.len())
        .map(|c| format!("a.{0} IS DISTINCT FROM b.{0}", c.name))
        .collect();
    let mut condition = format!("a.{0} IS NULL OR b.{0} IS NULL", key[0]);
    for d in &differs {
        condition.push_str(" OR ");
        condition.push_str(d);
    }
    let order: Vec<String> = key
        .iter()
        .map(|k| format!("COALESCE(a.{k}, b.{k})"))
        .collect();
    let from = format!(
        "{live}.{table} a FULL JOIN {scratch}.{table} b ON {}",
        on.join(" AND ")
    );
    let compared: i64 = conn
        .query_one(&format!("SELECT count(*) FROM {from}"), &[])?
        .try_get(0)?;
    let rows = conn.query(
        &format!(
            "SELECT (a.{k} IS NULL), (b.{k} IS NULL), {} FROM {from} WHERE {condition} ORDER BY {} LIMIT {}",
            values.join(", "),
            order.join(", "),
            MAX_PROBLEMS_PER_TABLE + 1,
            k = key[0]
        ),
        &[],
    )?;
    let mut listed = 0usize;
    for row in rows.iter().take(MAX_PROBLEMS_PER_TABLE) {
        let only_rebuilt: bool = row.try_get(0)?;
        let only_live: bool = row.try_get(1)?;
        let value = |i: usize, side: usize| -> DbResult<Option<String>> {
            Ok(row.try_get::<_, Option<String>>(2 + 2 * i + side)?)
        };
        let side = usize::from(only_rebuilt);
        let key_text = (0..key.len())
            .map(|i| {
                Ok(format!(
                    "{}={}",
                    cols[i].name,
                    value(i, side)?.unwrap_or_default()
                ))
            })
            .collect::<DbResult<Vec<_>>>()?
            .join(", ");
        if only_live {
            problems.push(problem(
                table,
                key_text,
                None,
                "extra: the ledger does not give this row",
            ));
        } else if only_rebuilt {
            problems.push(problem(
                table,
                key_text,
                None,
                "missing: the ledger gives this row",
            ));
        } else {
            for (i, c) in cols.iter().enumerate().skip(key.len()) {
                let (stored, rebuilt) = (value(i, 0)?, value(i, 1)?);
                if stored != rebuilt {
                    problems.push(problem(
                        table,
                        key_text.clone(),
                        Some(&c.name),
                        format!(
                            "stored {} but the ledger gives {}",
                            show(c, stored.as_deref()),
                            show(c, rebuilt.as_deref())
                        ),
                    ));
                }
            }
        }
        listed += 1;
    }
    if rows.len() > MAX_PROBLEMS_PER_TABLE {
        let differing: i64 = conn
            .query_one(
                &format!("SELECT count(*) FROM {from} WHERE {condition}"),
                &[],
            )?
            .try_get(0)?;
        problems.push(problem(
            table,
            "*",
            None,
            format!(
                "{} more differing rows not listed",
                usize::try_from(differing).unwrap_or(usize::MAX) - listed
            ),
        ));
    }
    Ok(u64::try_from(compared).unwrap_or(0))
}

/// The digest of every table of [`TABLES`], read in key order from one snapshot.
pub(crate) fn table_digests(conn: &Conn) -> DbResult<Vec<(String, u64, Hash)>> {
    let mut out = Vec::with_capacity(TABLES.len());
    for (table, key, rest) in TABLES {
        let text = |c: &str| -> String {
            match (*table, c) {
                ("ledger", "leaf") => "encode(f.hash, 'hex')".to_owned(),
                _ if digest::is_bytes(table, c) => format!("encode(t.{c}, 'hex')"),
                _ => format!("t.{c}::text"),
            }
        };
        let select: Vec<String> = key.iter().chain(rest.iter()).map(|c| text(c)).collect();
        let from = if *table == "ledger" {
            "ledger t JOIN leaf f ON f.idx = t.idx".to_owned()
        } else {
            format!("{table} t")
        };
        let order: Vec<String> = key.iter().map(|k| format!("t.{k}")).collect();
        let name = format!("digest_{table}");
        let mut cursor = Cursor::open(
            conn,
            &name,
            &format!(
                "SELECT {} FROM {from} ORDER BY {}",
                select.join(", "),
                order.join(", ")
            ),
        )?;
        let mut digest = TableDigest::new();
        while let Some(row) = cursor.next()? {
            let values = (0..select.len())
                .map(|i| row.try_get::<_, Option<String>>(i))
                .collect::<Result<Vec<_>, _>>()?;
            digest.row(values.iter().map(|v| v.as_deref()));
        }
        conn.batch(&format!("CLOSE {name}"))?;
        let (rows, hash) = digest.finish();
        out.push(((*table).to_owned(), rows, hash));
    }
    Ok(out)
}
