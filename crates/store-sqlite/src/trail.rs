//! The audit trail's tables (`retrace_store::trail`): appending an entry to
//! the trail log, and the auditors' searches.

use retrace_domain::region::RegionCode;
use retrace_ledger::hash::Hash;
use retrace_store::trail::{columns, decode, encode};
use retrace_store::{Page, PageRequest, Scope, StoreError, TrailEntry, TrailEvent, TrailFilter};
use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};

use crate::codec::{self, RecordTime};
use crate::error::{DbError, DbResult};

/// Inserts trail entry `index` for `event`, and answers with its leaf.
pub(crate) fn insert(
    conn: &Connection,
    index: u64,
    time: &RecordTime,
    event: &TrailEvent,
) -> DbResult<Hash> {
    let (bytes, leaf) = encode(event, time)?;
    let c = columns(&TrailEntry {
        index,
        time: time.text.clone(),
        event: event.clone(),
    });
    conn.prepare_cached(
        "INSERT INTO trail (idx, time, account, action, actor_region, region, entry, leaf) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(rusqlite::params![
        codec::sql_index(index),
        c.time,
        c.account,
        c.action,
        c.actor_region,
        c.region,
        bytes,
        &leaf.0[..],
    ])?;
    let mut by =
        conn.prepare_cached("INSERT INTO trail_enterprise (enterprise, idx) VALUES (?1, ?2)")?;
    for e in c.enterprises {
        by.execute(rusqlite::params![e, codec::sql_index(index)])?;
    }
    Ok(leaf)
}

/// The SQL condition that trail row `t` lies in `region`: it concerns an
/// enterprise the region supervises (seat or facility, DESIGN.md §2), was
/// done by an official of the region or below, or read the region's data.
fn in_region(region: &RegionCode) -> (String, Vec<Value>) {
    let n = region.as_str().len();
    let code = Value::Text(region.as_str().to_owned());
    (
        format!(
            "(substr(t.actor_region, 1, {n}) = ? OR substr(t.region, 1, {n}) = ? \
             OR EXISTS (SELECT 1 FROM trail_enterprise te JOIN enterprise_place ep ON ep.uscc = te.enterprise \
                        WHERE te.idx = t.idx AND substr(ep.region, 1, {n}) = ?))"
        ),
        vec![code.clone(), code.clone(), code],
    )
}

/// The SQL condition that trail row `t` lies in `scope`. Only auditors'
/// regional scopes read the trail (issue 3 §4): an enterprise's or a group's
/// sees none of it.
fn scope_condition(scope: &Scope) -> (String, Vec<Value>) {
    match scope {
        Scope::Installation => ("1".to_owned(), Vec::new()),
        Scope::Region(r) if *r == RegionCode::nation() => ("1".to_owned(), Vec::new()),
        Scope::Region(r) => in_region(r),
        Scope::Enterprise(_) | Scope::Group(_) => ("0".to_owned(), Vec::new()),
    }
}

/// Whether trail entry `index` exists and lies in `scope`.
pub(crate) fn in_scope(conn: &Connection, scope: &Scope, index: u64) -> DbResult<bool> {
    let (cond, mut params) = scope_condition(scope);
    params.insert(0, Value::Integer(codec::sql_index(index)));
    let sql = format!("SELECT EXISTS (SELECT 1 FROM trail t WHERE t.idx = ? AND {cond})");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params_from_iter(params), |r| r.get(0))?)
}

/// Trail entries in `scope`, oldest first.
pub(crate) fn search(
    conn: &Connection,
    scope: &Scope,
    filter: &TrailFilter,
    request: &PageRequest,
) -> Result<Page<TrailEntry>, StoreError> {
    let limit = request.clamped_limit();
    let (cond, mut params) = scope_condition(scope);
    let mut sql = format!("SELECT t.idx, t.entry FROM trail t WHERE {cond}");
    if let Some(account) = &filter.account {
        sql.push_str(" AND t.account = ?");
        params.push(Value::Text(account.as_str().to_owned()));
    }
    if let Some(e) = &filter.enterprise {
        sql.push_str(
            " AND EXISTS (SELECT 1 FROM trail_enterprise te WHERE te.idx = t.idx AND te.enterprise = ?)",
        );
        params.push(Value::Text(e.as_str().to_owned()));
    }
    if let Some(r) = &filter.region
        && *r != RegionCode::nation()
    {
        let (cond, p) = in_region(r);
        sql.push_str(" AND ");
        sql.push_str(&cond);
        params.extend(p);
    }
    if let Some(action) = &filter.action {
        sql.push_str(" AND t.action = ?");
        params.push(Value::Text(action.clone()));
    }
    if let Some(from) = filter.from {
        sql.push_str(" AND t.time >= ?");
        params.push(Value::Text(RecordTime::new(from)?.text));
    }
    if let Some(until) = filter.until {
        sql.push_str(" AND t.time < ?");
        params.push(Value::Text(RecordTime::new(until)?.text));
    }
    if let Some(after) = request.after.as_deref() {
        let after: u64 = after.parse().map_err(|_| {
            StoreError::BadRequest(format!("`{after}` is not a cursor of this listing"))
        })?;
        sql.push_str(" AND t.idx > ?");
        params.push(Value::Integer(codec::sql_index(after)));
    }
    sql.push_str(" ORDER BY t.idx LIMIT ?");
    params.push(Value::Integer(i64::try_from(limit + 1).unwrap_or(i64::MAX)));
    let mut st = conn.prepare_cached(&sql).map_err(DbError::from)?;
    let mut rows = st.query(params_from_iter(params)).map_err(DbError::from)?;
    let mut items = Vec::new();
    while let Some(r) = rows.next().map_err(DbError::from)? {
        let index = codec::index("trail index", r.get(0).map_err(DbError::from)?)?;
        let bytes: Vec<u8> = r.get(1).map_err(DbError::from)?;
        items.push(decode(index, &bytes)?);
    }
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|e| e.index.to_string())
    } else {
        None
    };
    Ok(Page { items, next })
}
