//! What a [`Scope`] sees, as SQL conditions (DESIGN.md §3: "the scope is a
//! type that the storage layer requires"). Every reader builds its query
//! from these, so no read can leave the scope out.
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
use rusqlite::Connection;
use rusqlite::types::Value;

use crate::error::DbResult;

/// An SQL condition with its positional (`?`) parameters, to be spliced into a
/// query in the order it is written.
#[derive(Debug, Clone, Default)]
pub(crate) struct Condition {
    pub sql: String,
    pub params: Vec<Value>,
}

impl Condition {
    fn always() -> Condition {
        Condition {
            sql: "1".to_owned(),
            params: Vec::new(),
        }
    }
}

/// `column` names an enterprise the scope sees.
///
/// For a group or a region the column is written `+column`, which keeps
/// SQLite from answering through the enterprise index: a regulator's or a
/// group's scope covers many enterprises, and walking the listing's own order
/// until a page is full beats gathering every entry of every enterprise and
/// sorting them for one page.
pub(crate) fn enterprise(scope: &Scope, column: &str) -> Condition {
    match scope {
        Scope::Installation => Condition::always(),
        Scope::Enterprise(e) => Condition {
            sql: format!("{column} = ?"),
            params: vec![Value::Text(e.as_str().to_owned())],
        },
        Scope::Group(g) => Condition {
            sql: format!("+{column} IN (SELECT uscc FROM enterprise WHERE grp = ?)"),
            params: vec![Value::Text(
                crate::codec::token(g).expect("a group serializes as a token"),
            )],
        },
        Scope::Region(r) if *r == RegionCode::nation() => Condition::always(),
        Scope::Region(r) => Condition {
            sql: format!(
                "+{column} IN (SELECT uscc FROM enterprise_place WHERE substr(region, 1, {}) = ?)",
                r.as_str().len()
            ),
            params: vec![Value::Text(r.as_str().to_owned())],
        },
    }
}

/// A position row (aliased `alias`) the scope sees: held or owned by one of
/// its enterprises. The owner side is asked only where the owner is not the
/// holder — the holder side already answers the rest — which is the
/// condition of the partial index `position_owner`, so SQLite can use it.
pub(crate) fn position(scope: &Scope, alias: &str) -> Condition {
    let holder = enterprise(scope, &format!("{alias}.holder"));
    let owner = enterprise(scope, &format!("{alias}.owner"));
    let mut params = holder.params;
    params.extend(owner.params);
    Condition {
        sql: format!(
            "({} OR ({} AND {alias}.owner <> {alias}.holder))",
            holder.sql, owner.sql
        ),
        params,
    }
}

/// Whether the scope sees lot `lot` (which must exist).
pub(crate) fn lot_visible(conn: &Connection, scope: &Scope, lot: &str) -> DbResult<bool> {
    let producer = enterprise(scope, "producer");
    // A region's positions are the ones its `stock` lists — held or owned by
    // one of its enterprises — while they are not empty.
    let positions = position(scope, "p");
    let held_sql = match scope {
        Scope::Region(_) => format!("{} AND p.mass > 0", positions.sql),
        _ => positions.sql,
    };
    let sql = format!(
        "SELECT EXISTS (SELECT 1 FROM lot WHERE code = ? AND {}) \
         OR EXISTS (SELECT 1 FROM position p WHERE p.lot = (SELECT id FROM lot WHERE code = ?) AND {held_sql})",
        producer.sql
    );
    let mut params = vec![Value::Text(lot.to_owned())];
    params.extend(producer.params);
    params.push(Value::Text(lot.to_owned()));
    params.extend(positions.params);
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(rusqlite::params_from_iter(params), |r| r.get(0))?)
}
