//! The audit trail's tables (`retrace_store::trail`): appending an entry to
//! the trail log, and the auditors' searches, with the embedded store's
//! regional visibility condition by condition.

use retrace_domain::region::RegionCode;
use retrace_ledger::hash::Hash;
use retrace_store::trail::{columns, decode, encode};
use retrace_store::{Page, PageRequest, Scope, StoreError, TrailEntry, TrailEvent, TrailFilter};

use crate::codec::{self, RecordTime};
use crate::connection::Conn;
use crate::error::{DbError, DbResult};
use crate::query::Sql;

/// Inserts trail entry `index` for `event`, and answers with its leaf.
pub(crate) fn insert(
    conn: &Conn,
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
    let idx = codec::sql_index(index);
    conn.execute(
        "INSERT INTO trail (idx, time, account, action, actor_region, region, entry, leaf) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &idx,
            &c.time,
            &c.account,
            &c.action,
            &c.actor_region,
            &c.region,
            &bytes,
            &&leaf.0[..],
        ],
    )?;
    for e in &c.enterprises {
        conn.execute(
            "INSERT INTO trail_enterprise (enterprise, idx) VALUES ($1, $2)",
            &[e, &idx],
        )?;
    }
    Ok(leaf)
}

/// Appends: trail row `t` lies in `region` — it concerns an enterprise the
/// region supervises (seat or facility, DESIGN.md §2), was done by an
/// official of the region or below, or read the region's data (the embedded
/// store's `trail::in_region`).
fn in_region(q: &mut Sql, region: &RegionCode) {
    let n = region.as_str().len();
    let code = region.as_str().to_owned();
    q.push(&format!("(substr(t.actor_region, 1, {n}) = "))
        .bind(code.clone())
        .push(&format!(" OR substr(t.region, 1, {n}) = "))
        .bind(code.clone())
        .push(
            " OR EXISTS (SELECT 1 FROM trail_enterprise te JOIN enterprise_place ep ON ep.uscc = te.enterprise \
             WHERE te.idx = t.idx AND ",
        )
        .push(&format!("substr(ep.region, 1, {n}) = "))
        .bind(code)
        .push("))");
}

/// Appends: trail row `t` lies in `scope`. Only auditors' regional scopes
/// read the trail (issue 3 §4): an enterprise's or a group's sees none of it.
fn in_scope_condition(q: &mut Sql, scope: &Scope) {
    match scope {
        Scope::Installation => {
            q.push("TRUE");
        }
        Scope::Region(r) if *r == RegionCode::nation() => {
            q.push("TRUE");
        }
        Scope::Region(r) => in_region(q, r),
        Scope::Enterprise(_) | Scope::Group(_) => {
            q.push("FALSE");
        }
    }
}

/// Whether trail entry `index` exists and lies in `scope`.
pub(crate) fn in_scope(conn: &Conn, scope: &Scope, index: u64) -> DbResult<bool> {
    let mut q = Sql::new("SELECT EXISTS (SELECT 1 FROM trail t WHERE t.idx = ");
    q.bind(codec::sql_index(index)).push(" AND ");
    in_scope_condition(&mut q, scope);
    q.push(")");
    Ok(conn.query_one(q.text(), &q.params())?.try_get(0)?)
}

/// The bytes of trail entry `index`.
pub(crate) fn entry(conn: &Conn, index: u64) -> DbResult<Vec<u8>> {
    conn.query_opt(
        "SELECT entry FROM trail WHERE idx = $1",
        &[&codec::sql_index(index)],
    )?
    .ok_or_else(|| DbError::corrupt("trail", format!("entry {index} is missing")))?
    .try_get(0)
    .map_err(DbError::from)
}

/// Trail entries in `scope`, oldest first.
pub(crate) fn search(
    conn: &Conn,
    scope: &Scope,
    filter: &TrailFilter,
    request: &PageRequest,
) -> Result<Page<TrailEntry>, StoreError> {
    let limit = request.clamped_limit();
    let mut q = Sql::new("SELECT t.idx, t.entry FROM trail t WHERE ");
    in_scope_condition(&mut q, scope);
    if let Some(account) = &filter.account {
        q.push(" AND t.account = ")
            .bind(account.as_str().to_owned());
    }
    if let Some(e) = &filter.enterprise {
        q.push(
            " AND EXISTS (SELECT 1 FROM trail_enterprise te WHERE te.idx = t.idx AND te.enterprise = ",
        )
        .bind(e.as_str().to_owned())
        .push(")");
    }
    if let Some(r) = &filter.region
        && *r != RegionCode::nation()
    {
        q.push(" AND ");
        in_region(&mut q, r);
    }
    if let Some(action) = &filter.action {
        q.push(" AND t.action = ").bind(action.clone());
    }
    if let Some(from) = filter.from {
        q.push(" AND t.time >= ").bind(RecordTime::new(from)?.text);
    }
    if let Some(until) = filter.until {
        q.push(" AND t.time < ").bind(RecordTime::new(until)?.text);
    }
    if let Some(after) = request.after.as_deref() {
        let after: u64 = after.parse().map_err(|_| {
            StoreError::BadRequest(format!("`{after}` is not a cursor of this listing"))
        })?;
        q.push(" AND t.idx > ").bind(codec::sql_index(after));
    }
    q.push(" ORDER BY t.idx LIMIT ")
        .bind(i64::try_from(limit + 1).unwrap_or(i64::MAX));
    let rows = conn.query(q.text(), &q.params())?;
    let mut items = Vec::with_capacity(rows.len());
    for r in &rows {
        let index = codec::index("trail index", r.try_get(0).map_err(DbError::from)?)?;
        let bytes: Vec<u8> = r.try_get(1).map_err(DbError::from)?;
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
