//! Reads of the register — enterprises, facilities with their permits,
//! designations — within the caller's scope, and the public facts of lots
//! that public verification shows (`retrace_store::public`); the embedded
//! store's queries, condition for condition.

use postgres::Row;
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
use time::Date;

use crate::codec;
use crate::connection::Conn;
use crate::error::{DbError, DbResult};
use crate::query::Sql;
use crate::trace::TableTrace;
use crate::visibility;

fn rows<T>(conn: &Conn, q: &Sql, read: impl Fn(&Row) -> DbResult<T>) -> DbResult<Vec<T>> {
    conn.query(q.text(), &q.params())?
        .iter()
        .map(read)
        .collect()
}

fn fetch(limit: usize) -> i64 {
    i64::try_from(limit + 1).unwrap_or(i64::MAX)
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

/// Appends: `column` lies in `region` (a prefix of the division code).
fn in_region(q: &mut Sql, column: &str, region: &RegionCode) {
    if *region == RegionCode::nation() {
        q.push("TRUE");
        return;
    }
    q.push(&format!(
        "substr({column}, 1, {}) = ",
        region.as_str().len()
    ))
    .bind(region.as_str().to_owned());
}

fn body<T: serde::de::DeserializeOwned>(what: &'static str, r: &Row, i: usize) -> DbResult<T> {
    Ok(codec::from_json(what, &r.try_get::<_, String>(i)?)?)
}

fn facilities_of(conn: &Conn, uscc: &Uscc) -> DbResult<Vec<Facility>> {
    let mut q = Sql::new("SELECT body FROM facility WHERE operator = ");
    q.bind(uscc.as_str().to_owned()).push(" ORDER BY id");
    rows(conn, &q, |r| body("facility", r, 0))
}

fn designation_row(r: &Row) -> DbResult<Designation> {
    Ok(Designation {
        enterprise: codec::uscc(&r.try_get::<_, String>(0)?)?,
        category: codec::from_token("category", &r.try_get::<_, String>(1)?)?,
        valid_from: codec::parse_date(&r.try_get::<_, String>(2)?)?,
        valid_to: codec::parse_date(&r.try_get::<_, String>(3)?)?,
        document: r.try_get(4)?,
    })
}

const DESIGNATION_SELECT: &str =
    "SELECT enterprise, category, valid_from, valid_to, document FROM designation";

fn designations_of(conn: &Conn, uscc: &Uscc) -> DbResult<Vec<Designation>> {
    let mut q = Sql::new(&format!("{DESIGNATION_SELECT} WHERE enterprise = "));
    q.bind(uscc.as_str().to_owned())
        .push(" ORDER BY category, valid_from");
    rows(conn, &q, designation_row)
}

fn view_of(conn: &Conn, enterprise: Enterprise) -> DbResult<EnterpriseView> {
    Ok(EnterpriseView {
        facilities: facilities_of(conn, &enterprise.uscc)?,
        designations: designations_of(conn, &enterprise.uscc)?,
        enterprise,
    })
}

pub(crate) fn enterprises(
    conn: &Conn,
    scope: &Scope,
    filter: &EnterpriseFilter,
    request: &PageRequest,
) -> Result<Page<EnterpriseView>, StoreError> {
    let limit = request.clamped_limit();
    let mut q = Sql::new("SELECT body FROM enterprise WHERE ");
    visibility::enterprise(&mut q, scope, "uscc")?;
    if let Some(group) = &filter.group {
        q.push(" AND grp = ").bind(codec::token(group)?);
    }
    if let Some(region) = &filter.region {
        q.push(
            " AND EXISTS (SELECT 1 FROM enterprise_place ep WHERE ep.uscc = enterprise.uscc AND ",
        );
        in_region(&mut q, "ep.region", region);
        q.push(")");
    }
    if let Some(after) = &request.after {
        q.push(" AND uscc > ").bind(after.clone());
    }
    // The kind is inside the body: filtered below, so the page is read whole.
    let kind = filter.kind;
    q.push(" ORDER BY uscc");
    if kind.is_none() {
        q.push(" LIMIT ").bind(fetch(limit));
    }
    let found: Vec<Enterprise> = rows(conn, &q, |r| body("enterprise", r, 0))?;
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
    conn: &Conn,
    scope: &Scope,
    uscc: &Uscc,
) -> Result<EnterpriseView, StoreError> {
    let mut q = Sql::new("SELECT body FROM enterprise WHERE uscc = ");
    q.bind(uscc.as_str().to_owned()).push(" AND ");
    visibility::enterprise(&mut q, scope, "uscc")?;
    let found = rows(conn, &q, |r| body::<Enterprise>("enterprise", r, 0))?
        .pop()
        .ok_or_else(|| StoreError::NotFound(format!("enterprise {uscc}")))?;
    Ok(view_of(conn, found)?)
}

pub(crate) fn facilities(
    conn: &Conn,
    scope: &Scope,
    filter: &FacilityFilter,
    request: &PageRequest,
) -> Result<Page<Facility>, StoreError> {
    let limit = request.clamped_limit();
    let mut q = Sql::new("SELECT body FROM facility WHERE ");
    visibility::enterprise(&mut q, scope, "operator")?;
    if let Some(operator) = &filter.operator {
        q.push(" AND operator = ")
            .bind(operator.as_str().to_owned());
    }
    if let Some(region) = &filter.region {
        q.push(" AND ");
        in_region(&mut q, "region", region);
    }
    if let Some(after) = &request.after {
        q.push(" AND id > ").bind(after.clone());
    }
    q.push(" ORDER BY id LIMIT ").bind(fetch(limit));
    let items = rows(conn, &q, |r| body::<Facility>("facility", r, 0))?;
    Ok(cut(items, limit, |f| f.id.to_string()))
}

pub(crate) fn facility(
    conn: &Conn,
    scope: &Scope,
    id: &FacilityId,
) -> Result<Facility, StoreError> {
    let mut q = Sql::new("SELECT body FROM facility WHERE id = ");
    q.bind(id.as_str().to_owned()).push(" AND ");
    visibility::enterprise(&mut q, scope, "operator")?;
    rows(conn, &q, |r| body::<Facility>("facility", r, 0))?
        .pop()
        .ok_or_else(|| StoreError::NotFound(format!("facility {id}")))
}

pub(crate) fn designations(
    conn: &Conn,
    scope: &Scope,
    filter: &DesignationFilter,
    request: &PageRequest,
) -> Result<Page<Designation>, StoreError> {
    let limit = request.clamped_limit();
    let mut q = Sql::new(&format!("{DESIGNATION_SELECT} WHERE "));
    visibility::enterprise(&mut q, scope, "enterprise")?;
    if let Some(e) = &filter.enterprise {
        q.push(" AND enterprise = ").bind(e.as_str().to_owned());
    }
    if let Some(c) = &filter.category {
        q.push(" AND category = ").bind(codec::token(c)?);
    }
    if let Some(day) = filter.valid_on {
        let day = codec::date_text(day)?;
        q.push(" AND valid_from <= ")
            .bind(day.clone())
            .push(" AND valid_to >= ")
            .bind(day);
    }
    if let Some(after) = request.after.as_deref() {
        let [e, c, from] = public::designation_cursor_parts(after)?;
        q.push(" AND (enterprise, category, valid_from) > (")
            .bind(e)
            .push(", ")
            .bind(c)
            .push(", ")
            .bind(from)
            .push(")");
    }
    q.push(" ORDER BY enterprise, category, valid_from LIMIT ")
        .bind(fetch(limit));
    let items = rows(conn, &q, designation_row)?;
    Ok(cut(items, limit, public::designation_cursor))
}

impl PublicSource for TableTrace<'_> {
    fn lot_facts(&self, lot: &LotId) -> DbResult<Option<LotFacts>> {
        let Some(state) = crate::view::lot_state(self.conn, lot.as_str())? else {
            return Ok(None);
        };
        let kind: Option<String> = self
            .conn
            .query_opt(
                "SELECT kind FROM ledger WHERE idx = $1",
                &[&codec::sql_index(state.created_by)],
            )?
            .map(|r| r.try_get(0))
            .transpose()?;
        let kind = kind.ok_or_else(|| DbError::corrupt("lot", "its creating entry is missing"))?;
        Ok(Some(LotFacts {
            kind: retrace_store::trace::flow_kind(&kind)?,
            day: public::shanghai_day(state.created_at_ms)?,
            product: state.product,
            producer: state.producer,
            facility: state.facility,
            entry: state.created_by,
        }))
    }

    fn party(&self, uscc: &Uscc, day: Date) -> DbResult<Option<PublicParty>> {
        let body: Option<String> = self
            .conn
            .query_opt(
                "SELECT body FROM enterprise WHERE uscc = $1",
                &[&uscc.as_str()],
            )?
            .map(|r| r.try_get(0))
            .transpose()?;
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
