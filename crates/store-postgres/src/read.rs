//! The read side: a small pool of connections, and the queries behind the
//! `Store` reads. Every query takes its conditions from
//! [`crate::visibility`]; what lies outside the scope is answered exactly like
//! what does not exist. Each read runs in one REPEATABLE READ, READ ONLY
//! transaction, so that everything it reads comes from one committed state.

use std::sync::{Mutex, PoisonError};

use postgres::{Config, Row};
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

use crate::codec;
use crate::connection::Conn;
use crate::error::{DbError, DbResult};
use crate::log::{self, LEDGER, latest_checkpoint};
use crate::query::Sql;
use crate::trace::TableTrace;
use crate::visibility;

/// Idle read connections kept open; more are opened under load and closed after.
const POOL_SIZE: usize = 4;

/// A pool of read connections.
pub(crate) struct ReadPool {
    config: Config,
    idle: Mutex<Vec<Conn>>,
}

impl std::fmt::Debug for ReadPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadPool").finish_non_exhaustive()
    }
}

impl ReadPool {
    pub(crate) fn new(config: Config) -> ReadPool {
        ReadPool {
            config,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `read` on a pooled connection inside one read-only snapshot.
    /// Call it off the async runtime's workers (`spawn_blocking`).
    pub(crate) fn with<T>(
        &self,
        read: impl FnOnce(&Conn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let pooled = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => {
                let conn = Conn::connect(&self.config)?;
                // Readers may only read (migration 1); where the role does
                // not exist they read as the connecting role, in read-only
                // transactions.
                if let Err(e) = conn.batch("SET ROLE retrace_reader") {
                    tracing::debug!(error = %e, "reading as the connecting role");
                }
                conn
            }
        };
        conn.batch("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")?;
        let result = read(&conn);
        if conn.batch("COMMIT").is_ok() {
            let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
            if idle.len() < POOL_SIZE {
                idle.push(conn);
            }
        }
        result
    }
}

impl Drop for ReadPool {
    /// Closes the idle connections on a thread of their own: closing one
    /// blocks on its runtime, and the pool may be dropped on an async worker.
    fn drop(&mut self) {
        let idle = std::mem::take(self.idle.get_mut().unwrap_or_else(PoisonError::into_inner));
        if idle.is_empty() {
            return;
        }
        if std::thread::spawn(move || drop(idle)).join().is_err() {
            tracing::error!("closing the read connections panicked");
        }
    }
}

/// The current size of the log: that of its latest checkpoint.
fn log_size(conn: &Conn) -> DbResult<u64> {
    Ok(latest_checkpoint(conn, LEDGER)?.map_or(0, |cp| cp.checkpoint().size()))
}

pub(crate) fn checkpoint(conn: &Conn) -> Result<SignedCheckpoint, StoreError> {
    latest_checkpoint(conn, LEDGER)?.ok_or_else(|| StoreError::NotFound("checkpoint".to_owned()))
}

pub(crate) fn checkpoints(
    conn: &Conn,
    after_size: u64,
    limit: usize,
) -> Result<Vec<SignedCheckpoint>, StoreError> {
    let limit = i64::try_from(limit.clamp(1, MAX_PAGE)).unwrap_or(1);
    let rows = conn.query(
        "SELECT note FROM checkpoint WHERE size > $1 ORDER BY size LIMIT $2",
        &[&codec::sql_index(after_size), &limit],
    )?;
    let parsed = rows.iter().map(|r| {
        let note: Vec<u8> = r.try_get(0)?;
        SignedCheckpoint::parse(&note).map_err(|e| DbError::corrupt("checkpoint", e))
    });
    Ok(parsed.collect::<DbResult<_>>()?)
}

pub(crate) fn inclusion(conn: &Conn, index: u64, size: u64) -> Result<Vec<Hash>, StoreError> {
    let have = log_size(conn)?;
    if size > have || index >= size {
        return Err(StoreError::BadRequest(format!(
            "no entry {index} in a tree of {size}: the log has {have} entries"
        )));
    }
    inclusion_proof(index, size, &log::nodes(conn, LEDGER, None)).map_err(StoreError::internal)
}

pub(crate) fn consistency(conn: &Conn, old: u64, new: u64) -> Result<Vec<Hash>, StoreError> {
    let have = log_size(conn)?;
    if old > new || new > have {
        return Err(StoreError::BadRequest(format!(
            "no consistency proof from {old} to {new}: the log has {have} entries"
        )));
    }
    consistency_proof(old, new, &log::nodes(conn, LEDGER, None)).map_err(StoreError::internal)
}

const ENTRY_SELECT: &str = "SELECT l.idx, l.record_time, l.kind, l.enterprise, f.hash, l.record, s.corrected_by \
     FROM ledger l JOIN leaf f ON f.idx = l.idx LEFT JOIN entry_status s ON s.idx = l.idx";

fn entry_view(row: &Row) -> DbResult<EntryView> {
    let leaf: Vec<u8> = row.try_get(4)?;
    let record: Vec<u8> = row.try_get(5)?;
    let corrected_by: Option<i64> = row.try_get(6)?;
    Ok(EntryView {
        index: codec::index("idx", row.try_get(0)?)?,
        record_time: row.try_get(1)?,
        kind: row.try_get(2)?,
        enterprise: codec::uscc(row.try_get(3)?)?,
        leaf: codec::hash("leaf", &leaf)?,
        record: retrace_store::entry::parse_record(&record)?,
        corrected_by: corrected_by
            .map(|c| codec::index("corrected_by", c))
            .transpose()?,
    })
}

fn query_all<T>(conn: &Conn, q: &Sql, read: impl Fn(&Row) -> DbResult<T>) -> DbResult<Vec<T>> {
    conn.query(q.text(), &q.params())?
        .iter()
        .map(read)
        .collect()
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

fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit + 1).unwrap_or(i64::MAX)
}

pub(crate) fn entry(conn: &Conn, scope: &Scope, index: u64) -> Result<EntryView, StoreError> {
    let idx = codec::sql_index(index);
    let mut q = Sql::new(ENTRY_SELECT);
    q.push(" WHERE l.idx = ")
        .bind(idx)
        .push(" AND l.month = (SELECT month FROM leaf WHERE idx = ")
        .bind(idx)
        .push(") AND ");
    visibility::enterprise(&mut q, scope, "l.enterprise")?;
    query_all(conn, &q, entry_view)?
        .pop()
        .ok_or_else(|| StoreError::NotFound(format!("entry {index}")))
}

pub(crate) fn receipt(conn: &Conn, scope: &Scope, index: u64) -> Result<Receipt, StoreError> {
    let idx = codec::sql_index(index);
    let mut q = Sql::new("SELECT entry FROM ledger WHERE idx = ");
    q.bind(idx)
        .push(" AND month = (SELECT month FROM leaf WHERE idx = ")
        .bind(idx)
        .push(") AND ");
    visibility::enterprise(&mut q, scope, "enterprise")?;
    let entry = query_all(conn, &q, |r| Ok(r.try_get::<_, Vec<u8>>(0)?))?
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
    conn: &Conn,
    scope: &Scope,
    filter: &EntryFilter,
    request: &PageRequest,
) -> Result<Page<EntryView>, StoreError> {
    let limit = request.clamped_limit();
    let mut q = Sql::new(ENTRY_SELECT);
    q.push(" WHERE ");
    visibility::enterprise(&mut q, scope, "l.enterprise")?;
    if let Some(e) = &filter.enterprise {
        q.push(" AND l.enterprise = ").bind(e.as_str().to_owned());
    }
    if let Some(kind) = &filter.kind {
        q.push(" AND l.kind = ").bind(kind.clone());
    }
    if let Some(lot) = &filter.lot {
        q.push(" AND l.idx IN (SELECT idx FROM entry_lot WHERE lot = (SELECT id FROM lot WHERE code = ")
            .bind(lot.as_str().to_owned())
            .push("))");
    }
    if let Some(after) = parse_cursor::<u64>(request.after.as_deref())? {
        q.push(" AND l.idx > ").bind(codec::sql_index(after));
    }
    q.push(" ORDER BY l.idx LIMIT ").bind(sql_limit(limit));
    let items = query_all(conn, &q, entry_view)?;
    Ok(page(items, limit, |e| e.index.to_string()))
}

/// A position `p` with its lot's code, in the order [`position_row`] reads them.
const POSITION_SELECT: &str = "SELECT lt.code, p.holder, p.owner, p.mass, p.reo, p.lot FROM position p JOIN lot lt ON lt.id = p.lot";

fn position_row(row: &Row) -> DbResult<Position> {
    Ok(Position {
        lot: codec::lot_id(row.try_get(0)?)?,
        holder: codec::uscc(row.try_get(1)?)?,
        owner: codec::uscc(row.try_get(2)?)?,
        mass: row.try_get(3)?,
        reo: row.try_get(4)?,
    })
}

pub(crate) fn lot(conn: &Conn, scope: &Scope, lot: &LotId) -> Result<LotView, StoreError> {
    let not_found = || StoreError::NotFound(format!("lot {lot}"));
    let state = crate::view::lot_state(conn, lot.as_str())?.ok_or_else(not_found)?;
    if !visibility::lot_visible(conn, scope, lot.as_str())? {
        return Err(not_found());
    }
    let mut q = Sql::new(POSITION_SELECT);
    q.push(" WHERE p.lot = (SELECT id FROM lot WHERE code = ")
        .bind(lot.as_str().to_owned())
        .push(") AND ");
    visibility::position(&mut q, scope, "p")?;
    q.push(" ORDER BY p.holder, p.owner");
    let positions = query_all(conn, &q, position_row)?;
    Ok(LotView { state, positions })
}

/// Stock cursors carry the position's key (the lot by its `lot.id`), unit-separated.
const CURSOR_SEPARATOR: char = '\u{1f}';

pub(crate) fn stock(
    conn: &Conn,
    scope: &Scope,
    filter: &StockFilter,
    request: &PageRequest,
) -> Result<Page<Position>, StoreError> {
    let limit = request.clamped_limit();
    let mut q = Sql::new(POSITION_SELECT);
    q.push(" WHERE ");
    visibility::position(&mut q, scope, "p")?;
    if let Some(holder) = &filter.holder {
        q.push(" AND p.holder = ").bind(holder.as_str().to_owned());
    }
    if let Some(lot) = &filter.lot {
        q.push(" AND p.lot = (SELECT id FROM lot WHERE code = ")
            .bind(lot.as_str().to_owned())
            .push(")");
    }
    if !filter.include_empty {
        q.push(" AND p.mass <> 0");
    }
    if let Some(after) = request.after.as_deref() {
        let parts: Vec<&str> = after.split(CURSOR_SEPARATOR).collect();
        let bad = || StoreError::BadRequest(format!("`{after}` is not a cursor of this listing"));
        let [lot, holder, owner] = parts.as_slice() else {
            return Err(bad());
        };
        let lot: i64 = lot.parse().map_err(|_| bad())?;
        q.push(" AND (p.lot, p.holder, p.owner) > (")
            .bind(lot)
            .push(", ")
            .bind((*holder).to_owned())
            .push(", ")
            .bind((*owner).to_owned())
            .push(")");
    }
    q.push(" ORDER BY p.lot, p.holder, p.owner LIMIT ")
        .bind(sql_limit(limit));
    let items = query_all(conn, &q, |r| {
        Ok((position_row(r)?, r.try_get::<_, i64>(5)?))
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
    conn: &Conn,
    scope: &Scope,
    filter: &FlagFilter,
    request: &PageRequest,
) -> Result<Page<FlagView>, StoreError> {
    let limit = request.clamped_limit();
    let mut q = Sql::new(&format!("SELECT {} FROM flag WHERE ", codec::FLAG_COLUMNS));
    visibility::enterprise(&mut q, scope, "enterprise")?;
    if let Some(rule) = &filter.rule {
        q.push(" AND rule = ").bind(rule.as_str().to_owned());
    }
    if let Some(e) = &filter.enterprise {
        q.push(" AND enterprise = ").bind(e.as_str().to_owned());
    }
    if let Some(month) = &filter.month {
        q.push(" AND month = ").bind(month.clone());
    }
    if let Some(after) = request.after.as_deref() {
        q.push(" AND key > ").bind(after.to_owned());
    }
    q.push(" ORDER BY key LIMIT ").bind(sql_limit(limit));
    let items = query_all(conn, &q, codec::flag)?;
    Ok(page(items, limit, |f| f.key.clone()))
}

pub(crate) fn trace(
    conn: &Conn,
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
pub(crate) fn public_lot(conn: &Conn, lot: &LotId, log_key: &str) -> Result<PublicLot, StoreError> {
    let source = TableTrace {
        conn,
        scope: &Scope::Installation,
    };
    let entry = |index: u64| -> DbResult<Vec<u8>> {
        Ok(conn
            .query_one(
                "SELECT entry FROM ledger WHERE idx = $1",
                &[&codec::sql_index(index)],
            )?
            .try_get(0)?)
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
