//! What a [`Scope`] sees, as SQL conditions (DESIGN.md §3: "the scope is a
//! type that the storage layer requires"); the same rules as the embedded
//! store's, so that both answer the same for every scope. Every reader
//! builds its query from these, so no read can leave the scope out.
//!
//! - `Installation`: everything.
//! - `Enterprise(e)`: entries whose enterprise is `e`; its positions (held or
//!   owned); its flags; lots it produced or holds, owns or held.
//! - `Group(g)`: the same for every member enterprise (`enterprise.grp`).
//! - `Region(r)`: the same for every enterprise with its seat or a facility
//!   in `r` (`enterprise_place`, prefix match on the division code: province
//!   2 digits, prefecture 4, county 6; the nation sees all), except that a lot
//!   is seen only while one of them holds or owns some of it (or if one of
//!   them produced it).

use retrace_domain::region::RegionCode;
use retrace_store::Scope;

use crate::codec;
use crate::connection::Conn;
use crate::error::DbResult;
use crate::query::Sql;

/// Appends: `column` names an enterprise the scope sees.
pub(crate) fn enterprise(q: &mut Sql, scope: &Scope, column: &str) -> DbResult<()> {
    match scope {
        Scope::Installation => {
            q.push("TRUE");
        }
        Scope::Enterprise(e) => {
            q.push(&format!("{column} = ")).bind(e.as_str().to_owned());
        }
        Scope::Group(g) => {
            q.push(&format!(
                "{column} IN (SELECT uscc FROM enterprise WHERE grp = "
            ))
            .bind(codec::token(g)?)
            .push(")");
        }
        Scope::Region(r) if *r == RegionCode::nation() => {
            q.push("TRUE");
        }
        Scope::Region(r) => {
            q.push(&format!(
                "{column} IN (SELECT uscc FROM enterprise_place WHERE region LIKE "
            ))
            .bind(format!("{}%", r.as_str()))
            .push(")");
        }
    }
    Ok(())
}

/// Appends: a position row (aliased `alias`) the scope sees, held or owned
/// by one of its enterprises; the owner side only where the owner is not the
/// holder, the condition of the partial index `position_owner`.
pub(crate) fn position(q: &mut Sql, scope: &Scope, alias: &str) -> DbResult<()> {
    q.push("(");
    enterprise(q, scope, &format!("{alias}.holder"))?;
    q.push(" OR (");
    enterprise(q, scope, &format!("{alias}.owner"))?;
    q.push(&format!(" AND {alias}.owner <> {alias}.holder))"));
    Ok(())
}

/// Whether the scope sees lot `lot` (which must exist).
pub(crate) fn lot_visible(conn: &Conn, scope: &Scope, lot: &str) -> DbResult<bool> {
    let mut q = Sql::new("SELECT EXISTS (SELECT 1 FROM lot WHERE code = ");
    q.bind(lot.to_owned()).push(" AND ");
    enterprise(&mut q, scope, "producer")?;
    q.push(") OR EXISTS (SELECT 1 FROM position p WHERE p.lot = (SELECT id FROM lot WHERE code = ")
        .bind(lot.to_owned())
        .push(") AND ");
    // A region's positions are the ones its `stock` lists — held or owned by
    // one of its enterprises — while they are not empty.
    position(&mut q, scope, "p")?;
    if matches!(scope, Scope::Region(_)) {
        q.push(" AND p.mass > 0");
    }
    q.push(")");
    Ok(conn.query_one(q.text(), &q.params())?.try_get(0)?)
}
