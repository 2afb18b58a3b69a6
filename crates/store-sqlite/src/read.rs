//! The read side: a small pool of read-only connections, and the queries
//! behind the `Store` reads. Every query takes its conditions from
//! [`crate::visibility`]; what lies outside the scope is answered exactly like
//! what does not exist.

use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use retrace_domain::lot::LotId;
use retrace_ledger::checkpoint::SignedCheckpoint;
use retrace_ledger::hash::Hash;
use retrace_ledger::proof::{consistency_proof, inclusion_proof};
use retrace_ledger::receipt::Receipt;
use retrace_store::public::PublicLot;
use retrace_store::trace::{Direction, TraceAnswer};
use retrace_store::{
    EntryFilter, EntryView, FlagFilter, FlagView, LotView, MAX_PAGE, Page, PageRequest, Position,
    Scope, StockFilter, StoreError,
};
use rusqlite::types::Value;
use rusqlite::{Connection, Row, params_from_iter};

use crate::codec;
use crate::error::{DbError, DbResult};
use crate::log::{self, LEDGER, latest_checkpoint};
use crate::schema;
use crate::trace::TableTrace;
use crate::visibility::{self, Condition};

/// Read connections: at most this many reads run at once
/// ([`crate::SqliteStore`] holds a semaphore of as many permits), so the pool
/// never opens more and every connection is kept. Opening one parses the
/// schema — far more work than a typical read — so a pool that opened
/// connections under load and closed them after spent its time there; and
/// more readers than this on a 2-core machine only wait for each other.
pub(crate) const POOL_SIZE: usize = 4;

/// A pool of read-only connections on the store's file.
#[derive(Debug)]
pub(crate) struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl ReadPool {
    pub(crate) fn new(path: PathBuf) -> ReadPool {
        ReadPool {
            path,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `read` on a pooled connection inside one read transaction, so that
    /// everything it reads comes from one committed state.
    pub(crate) fn with<T>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let pooled = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => schema::open_reader(&self.path)?,
        };
        conn.execute_batch("BEGIN").map_err(DbError::from)?;
        let result = read(&conn);
        if conn.execute_batch("COMMIT").is_ok() {
            let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
            if idle.len() < POOL_SIZE {
                idle.push(conn);
            }
        }
        result
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

/// The current size of the log: that of its latest checkpoint.
fn log_size(conn: &Connection) -> DbResult<u64> {
    Ok(latest_checkpoint(conn, LEDGER)?.map_or(0, |cp| cp.checkpoint().size()))
}

pub(crate) fn checkpoint(conn: &Connection) -> Result<SignedCheckpoint, StoreError> {
    latest_checkpoint(conn, LEDGER)?.ok_or_else(|| StoreError::NotFound("checkpoint".to_owned()))
}

pub(crate) fn checkpoints(
    conn: &Connection,
    after_size: u64,
    limit: usize,
) -> Result<Vec<SignedCheckpoint>, StoreError> {
    let params = vec![
        Value::Integer(codec::sql_index(after_size)),
        Value::Integer(i64::try_from(limit.clamp(1, MAX_PAGE)).unwrap_or(1)),
    ];
    let notes = query_all(
        conn,
        "SELECT note FROM checkpoint WHERE size > ? ORDER BY size LIMIT ?",
        params,
        |r| Ok(r.get::<_, Vec<u8>>(0)?),
    )?;
    let parsed = notes
        .iter()
        .map(|n| SignedCheckpoint::parse(n).map_err(|e| DbError::corrupt("checkpoint", e)));
    Ok(parsed.collect::<DbResult<_>>()?)
}

pub(crate) fn inclusion(conn: &Connection, index: u64, size: u64) -> Result<Vec<Hash>, StoreError> {
    let have = log_size(conn)?;
    if size > have || index >= size {
        return Err(StoreError::BadRequest(format!(
            "no entry {index} in a tree of {size}: the log has {have} entries"
        )));
    }
    inclusion_proof(index, size, &log::nodes(conn, LEDGER, None)).map_err(StoreError::internal)
}

pub(crate) fn consistency(conn: &Connection, old: u64, new: u64) -> Result<Vec<Hash>, StoreError> {
    let have = log_size(conn)?;
    if old > new || new > have {
        return Err(StoreError::BadRequest(format!(
            "no consistency proof from {old} to {new}: the log has {have} entries"
        )));
    }
    consistency_proof(old, new, &log::nodes(conn, LEDGER, None)).map_err(StoreError::internal)
}

const ENTRY_SELECT: &str = "SELECT l.idx, l.record_time, l.kind, l.enterprise, l.leaf, l.record, s.corrected_by \
     FROM ledger l LEFT JOIN entry_status s ON s.idx = l.idx";

fn entry_view(row: &Row<'_>) -> DbResult<EntryView> {
    let leaf: Vec<u8> = row.get(4)?;
    let record: Vec<u8> = row.get(5)?;
    let corrected_by: Option<i64> = row.get(6)?;
    Ok(EntryView {
        index: codec::index("idx", row.get(0)?)?,
        record_time: row.get(1)?,
        kind: row.get(2)?,
        enterprise: codec::uscc(&row.get::<_, String>(3)?)?,
        leaf: codec::hash("leaf", &leaf)?,
        record: serde_json::from_slice(&record)
            .map_err(|e| DbError::corrupt("stored record", e))?,
        corrected_by: corrected_by
            .map(|c| codec::index("corrected_by", c))
            .transpose()?,
    })
}

fn query_all<T>(
    conn: &Connection,
    sql: &str,
    params: Vec<Value>,
    read: impl Fn(&Row<'_>) -> DbResult<T>,
) -> DbResult<Vec<T>> {
    let mut st = conn.prepare_cached(sql)?;
    let mut rows = st.query(params_from_iter(params))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(read(row)?);
    }
    Ok(out)
}

/// Cuts a result fetched with one row more than the limit into a page.
fn page<T>(mut items: Vec<T>, limit: usize, cursor: impl Fn(&T) -> String) -> Page<T> {
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(cursor)
    } else {
        None
    };
    Page { items, next }
}

pub(crate) fn entry(conn: &Connection, scope: &Scope, index: u64) -> Result<EntryView, StoreError> {
    let visible = visibility::enterprise(scope, "l.enterprise");
    let mut params = vec![Value::Integer(codec::sql_index(index))];
    params.extend(visible.params);
    let sql = format!("{ENTRY_SELECT} WHERE l.idx = ? AND {}", visible.sql);
    query_all(conn, &sql, params, entry_view)?
        .pop()
        .ok_or_else(|| StoreError::NotFound(format!("entry {index}")))
}

pub(crate) fn receipt(conn: &Connection, scope: &Scope, index: u64) -> Result<Receipt, StoreError> {
    let visible = visibility::enterprise(scope, "enterprise");
    let mut params = vec![Value::Integer(codec::sql_index(index))];
    params.extend(visible.params);
    let sql = format!("SELECT entry FROM ledger WHERE idx = ? AND {}", visible.sql);
    let entry = query_all(conn, &sql, params, |r| Ok(r.get::<_, Vec<u8>>(0)?))?
        .pop()
        .ok_or_else(|| StoreError::NotFound(format!("entry {index}")))?;
    let checkpoint = checkpoint(conn)?;
    let size = checkpoint.checkpoint().size();
    let proof = inclusion_proof(index, size, &log::nodes(conn, LEDGER, None))
        .map_err(StoreError::internal)?;
    Ok(Receipt {
        entry,
        index,
        proof,
        checkpoint,
    })
}

fn parse_cursor<T: std::str::FromStr>(after: Option<&str>) -> Result<Option<T>, StoreError> {
    after
        .map(|c| {
            c.parse::<T>().map_err(|_| {
                StoreError::BadRequest(format!("`{c}` is not a cursor of this listing"))
            })
        })
        .transpose()
}

pub(crate) fn entries(
    conn: &Connection,
    scope: &Scope,
    filter: &EntryFilter,
    request: &PageRequest,
) -> Result<Page<EntryView>, StoreError> {
    let limit = request.clamped_limit();
    let visible = visibility::enterprise(scope, "l.enterprise");
    let mut sql = format!("{ENTRY_SELECT} WHERE {}", visible.sql);
    let mut params = visible.params;
    if let Some(e) = &filter.enterprise {
        sql.push_str(" AND l.enterprise = ?");
        params.push(text(e.as_str()));
    }
    if let Some(kind) = &filter.kind {
        sql.push_str(" AND l.kind = ?");
        params.push(text(kind));
    }
    if let Some(lot) = &filter.lot {
        sql.push_str(
            " AND l.idx IN (SELECT idx FROM entry_lot WHERE lot = (SELECT id FROM lot WHERE code = ?))",
        );
        params.push(text(lot.as_str()));
    }
    if let Some(after) = parse_cursor::<u64>(request.after.as_deref())? {
        sql.push_str(" AND l.idx > ?");
        params.push(Value::Integer(codec::sql_index(after)));
    }
    sql.push_str(" ORDER BY l.idx LIMIT ?");
    params.push(Value::Integer(i64::try_from(limit + 1).unwrap_or(i64::MAX)));
    let items = query_all(conn, &sql, params, entry_view)?;
    Ok(page(items, limit, |e| e.index.to_string()))
}

/// A position `p` with its lot's code, in the order [`position_row`] reads them.
const POSITION_SELECT: &str = "SELECT lt.code, p.holder, p.owner, p.mass, p.reo, p.lot FROM position p JOIN lot lt ON lt.id = p.lot";

fn position_row(row: &Row<'_>) -> DbResult<Position> {
    Ok(Position {
        lot: codec::lot_id(&row.get::<_, String>(0)?)?,
        holder: codec::uscc(&row.get::<_, String>(1)?)?,
        owner: codec::uscc(&row.get::<_, String>(2)?)?,
        mass: row.get(3)?,
        reo: row.get(4)?,
    })
}

pub(crate) fn lot(conn: &Connection, scope: &Scope, lot: &LotId) -> Result<LotView, StoreError> {
    let not_found = || StoreError::NotFound(format!("lot {lot}"));
    let state = crate::view::lot_state(conn, lot.as_str())?.ok_or_else(not_found)?;
    if !visibility::lot_visible(conn, scope, lot.as_str())? {
        return Err(not_found());
    }
    let visible = visibility::position(scope, "p");
    let mut params = vec![text(lot.as_str())];
    params.extend(visible.params);
    let sql = format!(
        "{POSITION_SELECT} WHERE p.lot = (SELECT id FROM lot WHERE code = ?) AND {} ORDER BY p.holder, p.owner",
        visible.sql
    );
    let positions = query_all(conn, &sql, params, position_row)?;
    Ok(LotView { state, positions })
}

/// Stock cursors carry the position's key (the lot by its `lot.id`), unit-separated.
const CURSOR_SEPARATOR: char = '\u{1f}';

pub(crate) fn stock(
    conn: &Connection,
    scope: &Scope,
    filter: &StockFilter,
    request: &PageRequest,
) -> Result<Page<Position>, StoreError> {
    let limit = request.clamped_limit();
    let Condition {
        sql: visible,
        mut params,
    } = visibility::position(scope, "p");
    let mut sql = format!("{POSITION_SELECT} WHERE {visible}");
    if let Some(holder) = &filter.holder {
        sql.push_str(" AND p.holder = ?");
        params.push(text(holder.as_str()));
    }
    if let Some(lot) = &filter.lot {
        sql.push_str(" AND p.lot = (SELECT id FROM lot WHERE code = ?)");
        params.push(text(lot.as_str()));
    }
    if !filter.include_empty {
        sql.push_str(" AND p.mass <> 0");
    }
    if let Some(after) = request.after.as_deref() {
        let parts: Vec<&str> = after.split(CURSOR_SEPARATOR).collect();
        let bad = || StoreError::BadRequest(format!("`{after}` is not a cursor of this listing"));
        let [lot, holder, owner] = parts.as_slice() else {
            return Err(bad());
        };
        let lot: i64 = lot.parse().map_err(|_| bad())?;
        sql.push_str(" AND (p.lot, p.holder, p.owner) > (?, ?, ?)");
        params.extend([Value::Integer(lot), text(holder), text(owner)]);
    }
    sql.push_str(" ORDER BY p.lot, p.holder, p.owner LIMIT ?");
    params.push(Value::Integer(i64::try_from(limit + 1).unwrap_or(i64::MAX)));
    let items = query_all(conn, &sql, params, |r| {
        Ok((position_row(r)?, r.get::<_, i64>(5)?))
    })?;
    let page = page(items, limit, |(p, key)| {
        format!(
            "{key}{CURSOR_SEPARATOR}{}{CURSOR_SEPARATOR}{}",
            p.holder, p.owner
        )
    });
    Ok(Page {
        items: page.items.into_iter().map(|(p, _)| p).collect(),
        next: page.next,
    })
}

pub(crate) fn flags(
    conn: &Connection,
    scope: &Scope,
    filter: &FlagFilter,
    request: &PageRequest,
) -> Result<Page<FlagView>, StoreError> {
    let limit = request.clamped_limit();
    let visible = visibility::enterprise(scope, "enterprise");
    let mut sql = format!(
        "SELECT {} FROM flag WHERE {}",
        codec::FLAG_COLUMNS,
        visible.sql
    );
    let mut params = visible.params;
    if let Some(rule) = &filter.rule {
        sql.push_str(" AND rule = ?");
        params.push(text(rule.as_str()));
    }
    if let Some(e) = &filter.enterprise {
        sql.push_str(" AND enterprise = ?");
        params.push(text(e.as_str()));
    }
    if let Some(month) = &filter.month {
        sql.push_str(" AND month = ?");
        params.push(text(month));
    }
    if let Some(after) = request.after.as_deref() {
        sql.push_str(" AND key > ?");
        params.push(text(after));
    }
    sql.push_str(" ORDER BY key LIMIT ?");
    params.push(Value::Integer(i64::try_from(limit + 1).unwrap_or(i64::MAX)));
    let items = query_all(conn, &sql, params, codec::flag)?;
    Ok(page(items, limit, |f| f.key.clone()))
}

pub(crate) fn trace(
    conn: &Connection,
    scope: &Scope,
    lot: &LotId,
    direction: Direction,
    request: &PageRequest,
) -> Result<TraceAnswer, StoreError> {
    let exists = crate::view::lot_state(conn, lot.as_str())?.is_some();
    if !exists || !visibility::lot_visible(conn, scope, lot.as_str())? {
        return Err(StoreError::NotFound(format!("lot {lot}")));
    }
    Ok(retrace_store::trace::trace(
        &TableTrace { conn, scope },
        lot,
        direction,
        request,
    )?)
}

/// What the public may know of `lot`, with a proof of every step against
/// the latest checkpoint (issue 3 §6).
pub(crate) fn public_lot(
    conn: &Connection,
    lot: &LotId,
    log_key: &str,
) -> Result<PublicLot, StoreError> {
    let source = TableTrace {
        conn,
        scope: &Scope::Installation,
    };
    let entry = |index: u64| -> DbResult<Vec<u8>> {
        Ok(conn
            .prepare_cached("SELECT entry FROM ledger WHERE idx = ?1")?
            .query_row([codec::sql_index(index)], |r| r.get(0))?)
    };
    retrace_store::public::answer(
        &source,
        lot,
        &checkpoint(conn)?,
        log_key,
        entry,
        &log::nodes(conn, LEDGER, None),
    )
}
