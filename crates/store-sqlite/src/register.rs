//! Reads of the register — enterprises, facilities with their permits,
//! designations — within the caller's scope, and the public facts of lots
//! that public verification shows (`retrace_store::public`).

use retrace_domain::enterprise::{Designation, Enterprise};
use retrace_domain::facility::{Facility, FacilityId};
use retrace_domain::lot::LotId;
use retrace_domain::region::RegionCode;
use retrace_domain::uscc::Uscc;
use retrace_store::public::{self, LotFacts, PublicDesignation, PublicParty, PublicSource};
use retrace_store::{
    DesignationFilter, EnterpriseFilter, EnterpriseView, FacilityFilter, Page, PageRequest, Scope,
    StoreError,
};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params_from_iter};
use time::Date;

use crate::codec;
use crate::error::{DbError, DbResult};
use crate::trace::TableTrace;
use crate::visibility;

fn rows<T>(
    conn: &Connection,
    sql: &str,
    params: Vec<Value>,
    read: impl Fn(&rusqlite::Row<'_>) -> DbResult<T>,
) -> DbResult<Vec<T>> {
    let mut st = conn.prepare_cached(sql)?;
    let mut rows = st.query(params_from_iter(params))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(read(r)?);
    }
    Ok(out)
}

fn limit_value(limit: usize) -> Value {
    Value::Integer(i64::try_from(limit + 1).unwrap_or(i64::MAX))
}

fn cut<T>(mut items: Vec<T>, limit: usize, cursor: impl Fn(&T) -> String) -> Page<T> {
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(cursor)
    } else {
        None
    };
    Page { items, next }
}

/// `column` lies in `region` (a prefix of the division code).
fn in_region(column: &str, region: &RegionCode) -> (String, Vec<Value>) {
    if *region == RegionCode::nation() {
        return ("1".to_owned(), Vec::new());
    }
    (
        format!("substr({column}, 1, {}) = ?", region.as_str().len()),
        vec![Value::Text(region.as_str().to_owned())],
    )
}

fn facilities_of(conn: &Connection, uscc: &Uscc) -> DbResult<Vec<Facility>> {
    rows(
        conn,
        "SELECT body FROM facility WHERE operator = ?1 ORDER BY id",
        vec![Value::Text(uscc.as_str().to_owned())],
        |r| Ok(codec::from_json("facility", &r.get::<_, String>(0)?)?),
    )
}

fn designation_row(r: &rusqlite::Row<'_>) -> DbResult<Designation> {
    Ok(Designation {
        enterprise: codec::uscc(&r.get::<_, String>(0)?)?,
        category: codec::from_token("category", &r.get::<_, String>(1)?)?,
        valid_from: codec::parse_date(&r.get::<_, String>(2)?)?,
        valid_to: codec::parse_date(&r.get::<_, String>(3)?)?,
        document: r.get(4)?,
    })
}

const DESIGNATION_SELECT: &str =
    "SELECT enterprise, category, valid_from, valid_to, document FROM designation";

fn designations_of(conn: &Connection, uscc: &Uscc) -> DbResult<Vec<Designation>> {
    rows(
        conn,
        &format!("{DESIGNATION_SELECT} WHERE enterprise = ?1 ORDER BY category, valid_from"),
        vec![Value::Text(uscc.as_str().to_owned())],
        designation_row,
    )
}

fn view_of(conn: &Connection, enterprise: Enterprise) -> DbResult<EnterpriseView> {
    Ok(EnterpriseView {
        facilities: facilities_of(conn, &enterprise.uscc)?,
        designations: designations_of(conn, &enterprise.uscc)?,
        enterprise,
    })
}

pub(crate) fn enterprises(
    conn: &Connection,
    scope: &Scope,
    filter: &EnterpriseFilter,
    request: &PageRequest,
) -> Result<Page<EnterpriseView>, StoreError> {
    let limit = request.clamped_limit();
    let visible = visibility::enterprise(scope, "uscc");
    let mut sql = format!("SELECT body FROM enterprise WHERE {}", visible.sql);
    let mut params = visible.params;
    if let Some(group) = &filter.group {
        sql.push_str(" AND grp = ?");
        params.push(Value::Text(codec::token(group)?));
    }
    if let Some(region) = &filter.region {
        let (cond, p) = in_region("ep.region", region);
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM enterprise_place ep WHERE ep.uscc = enterprise.uscc AND {cond})"
        ));
        params.extend(p);
    }
    if let Some(after) = &request.after {
        sql.push_str(" AND uscc > ?");
        params.push(Value::Text(after.clone()));
    }
    // The kind is inside the body: filtered below, so the page is read whole.
    let kind = filter.kind;
    sql.push_str(" ORDER BY uscc");
    if kind.is_none() {
        sql.push_str(" LIMIT ?");
        params.push(limit_value(limit));
    }
    let found: Vec<Enterprise> = rows(conn, &sql, params, |r| {
        Ok(codec::from_json("enterprise", &r.get::<_, String>(0)?)?)
    })?;
    let mut items = Vec::new();
    for e in found {
        if kind.is_some_and(|k| !e.kinds.contains(&k)) {
            continue;
        }
        items.push(view_of(conn, e)?);
        if items.len() > limit {
            break;
        }
    }
    Ok(cut(items, limit, |v| v.enterprise.uscc.to_string()))
}

pub(crate) fn enterprise(
    conn: &Connection,
    scope: &Scope,
    uscc: &Uscc,
) -> Result<EnterpriseView, StoreError> {
    let visible = visibility::enterprise(scope, "uscc");
    let mut params = vec![Value::Text(uscc.as_str().to_owned())];
    params.extend(visible.params);
    let sql = format!(
        "SELECT body FROM enterprise WHERE uscc = ? AND {}",
        visible.sql
    );
    let found = rows(conn, &sql, params, |r| {
        Ok(codec::from_json::<Enterprise>(
            "enterprise",
            &r.get::<_, String>(0)?,
        )?)
    })?
    .pop()
    .ok_or_else(|| StoreError::NotFound(format!("enterprise {uscc}")))?;
    Ok(view_of(conn, found)?)
}

pub(crate) fn facilities(
    conn: &Connection,
    scope: &Scope,
    filter: &FacilityFilter,
    request: &PageRequest,
) -> Result<Page<Facility>, StoreError> {
    let limit = request.clamped_limit();
    let visible = visibility::enterprise(scope, "operator");
    let mut sql = format!("SELECT id, body FROM facility WHERE {}", visible.sql);
    let mut params = visible.params;
    if let Some(operator) = &filter.operator {
        sql.push_str(" AND operator = ?");
        params.push(Value::Text(operator.as_str().to_owned()));
    }
    if let Some(region) = &filter.region {
        let (cond, p) = in_region("region", region);
        sql.push_str(" AND ");
        sql.push_str(&cond);
        params.extend(p);
    }
    if let Some(after) = &request.after {
        sql.push_str(" AND id > ?");
        params.push(Value::Text(after.clone()));
    }
    sql.push_str(" ORDER BY id LIMIT ?");
    params.push(limit_value(limit));
    let items = rows(conn, &sql, params, |r| {
        Ok(codec::from_json::<Facility>(
            "facility",
            &r.get::<_, String>(1)?,
        )?)
    })?;
    Ok(cut(items, limit, |f| f.id.to_string()))
}

pub(crate) fn facility(
    conn: &Connection,
    scope: &Scope,
    id: &FacilityId,
) -> Result<Facility, StoreError> {
    let visible = visibility::enterprise(scope, "operator");
    let mut params = vec![Value::Text(id.as_str().to_owned())];
    params.extend(visible.params);
    let sql = format!("SELECT body FROM facility WHERE id = ? AND {}", visible.sql);
    rows(conn, &sql, params, |r| {
        Ok(codec::from_json::<Facility>(
            "facility",
            &r.get::<_, String>(0)?,
        )?)
    })?
    .pop()
    .ok_or_else(|| StoreError::NotFound(format!("facility {id}")))
}

pub(crate) fn designations(
    conn: &Connection,
    scope: &Scope,
    filter: &DesignationFilter,
    request: &PageRequest,
) -> Result<Page<Designation>, StoreError> {
    let limit = request.clamped_limit();
    let visible = visibility::enterprise(scope, "enterprise");
    let mut sql = format!("{DESIGNATION_SELECT} WHERE {}", visible.sql);
    let mut params = visible.params;
    if let Some(e) = &filter.enterprise {
        sql.push_str(" AND enterprise = ?");
        params.push(Value::Text(e.as_str().to_owned()));
    }
    if let Some(c) = &filter.category {
        sql.push_str(" AND category = ?");
        params.push(Value::Text(codec::token(c)?));
    }
    if let Some(day) = filter.valid_on {
        let day = codec::date_text(day)?;
        sql.push_str(" AND valid_from <= ? AND valid_to >= ?");
        params.push(Value::Text(day.clone()));
        params.push(Value::Text(day));
    }
    if let Some(after) = request.after.as_deref() {
        let parts = public::designation_cursor_parts(after)?;
        sql.push_str(" AND (enterprise, category, valid_from) > (?, ?, ?)");
        params.extend(parts.map(Value::Text));
    }
    sql.push_str(" ORDER BY enterprise, category, valid_from LIMIT ?");
    params.push(limit_value(limit));
    let items = rows(conn, &sql, params, designation_row)?;
    Ok(cut(items, limit, public::designation_cursor))
}

impl PublicSource for TableTrace<'_> {
    fn lot_facts(&self, lot: &LotId) -> DbResult<Option<LotFacts>> {
        let Some(state) = crate::view::lot_state(self.conn, lot.as_str())? else {
            return Ok(None);
        };
        let kind: Option<String> = self
            .conn
            .prepare_cached("SELECT kind FROM ledger WHERE idx = ?1")?
            .query_row([codec::sql_index(state.created_by)], |r| r.get(0))
            .optional()?;
        let kind = kind.ok_or_else(|| DbError::corrupt("lot", "its creating entry is missing"))?;
        let kind = retrace_store::trace::flow_kind(&kind)?;
        Ok(Some(LotFacts {
            product: state.product,
            producer: state.producer,
            facility: state.facility,
            kind,
            day: public::shanghai_day(state.created_at_ms)?,
            entry: state.created_by,
        }))
    }

    fn party(&self, uscc: &Uscc, day: Date) -> DbResult<Option<PublicParty>> {
        let body: Option<String> = self
            .conn
            .prepare_cached("SELECT body FROM enterprise WHERE uscc = ?1")?
            .query_row([uscc.as_str()], |r| r.get(0))
            .optional()?;
        let Some(body) = body else {
            return Ok(None);
        };
        let e: Enterprise = codec::from_json("enterprise", &body)?;
        let designated = designations_of(self.conn, uscc)?
            .iter()
            .filter(|d| d.valid_from <= day && day <= d.valid_to)
            .map(PublicDesignation::from)
            .collect();
        Ok(Some(PublicParty {
            uscc: e.uscc,
            name_zh: e.name_zh,
            name_en: e.name_en,
            designated,
        }))
    }
}
