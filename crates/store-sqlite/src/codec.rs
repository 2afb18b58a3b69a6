//! The rows the projector and the readers get back from SQLite. How each
//! value is spelled is `retrace_store::codec`'s, shared with PostgreSQL.

use retrace_domain::project::{
    Flag, LotState, Movement, PoolMember, ProcessMonth, ReceiveSide, ShipSide, Shipment,
};
use retrace_domain::quantity::Share;
use retrace_domain::uscc::Uscc;
pub(crate) use retrace_store::codec::*;
use rusqlite::Row;

use crate::error::{DbError, DbResult};

/// The columns of `lot`, in the order [`lot_state`] reads them, then its id.
pub(crate) const LOT_COLUMNS: &str = "code, product, measurement, distribution, feed_origin, producer, facility, created_by, created_at_ms, reo, elements, id";

pub(crate) fn lot_state(row: &Row<'_>) -> DbResult<LotState> {
    let product: String = row.get(1)?;
    let distribution: Option<String> = row.get(3)?;
    let facility: Option<String> = row.get(6)?;
    let elements: Option<String> = row.get(10)?;
    Ok(LotState {
        lot: lot_id(&row.get::<_, String>(0)?)?,
        product: retrace_domain::product::ProductCode::parse(&product)
            .map_err(|e| DbError::corrupt("product", e))?,
        measurement: from_json("measurement", &row.get::<_, String>(2)?)?,
        distribution: distribution
            .as_deref()
            .map(|d| from_json("distribution", d))
            .transpose()?,
        feed_origin: from_token("feed_origin", &row.get::<_, String>(4)?)?,
        producer: uscc(&row.get::<_, String>(5)?)?,
        facility: facility.as_deref().map(facility_id).transpose()?,
        created_by: index("created_by", row.get(7)?)?,
        created_at_ms: row.get(8)?,
        reo: mass("reo", row.get(9)?)?,
        elements: elements
            .as_deref()
            .map(|e| from_json("elements", e))
            .transpose()?,
    })
}

/// The columns of `movement m` joined with the `lot l` it moves, in the order
/// [`movement`] reads them.
pub(crate) const MOVEMENT_COLUMNS: &str =
    "m.entry, l.code, m.holder, m.owner, m.mass, m.reo, m.event_ms";

pub(crate) fn movement(row: &Row<'_>) -> DbResult<Movement> {
    Ok(Movement {
        entry: index("movement entry", row.get(0)?)?,
        lot: lot_id(&row.get::<_, String>(1)?)?,
        holder: uscc(&row.get::<_, String>(2)?)?,
        owner: uscc(&row.get::<_, String>(3)?)?,
        mass: row.get(4)?,
        reo: row.get(5)?,
        event_ms: row.get(6)?,
    })
}

/// The columns of `pool_member p` joined with its `lot l`, in the order
/// [`pool_member`] reads them.
pub(crate) const MEMBER_COLUMNS: &str =
    "p.entry, p.facility, p.month, p.process, l.code, p.role, p.mass, p.reo, p.elements";

pub(crate) fn pool_member(row: &Row<'_>) -> DbResult<PoolMember> {
    let elements: Option<String> = row.get(8)?;
    Ok(PoolMember {
        entry: index("pool member entry", row.get(0)?)?,
        facility: facility_id(&row.get::<_, String>(1)?)?,
        month: row.get(2)?,
        process: from_token("process", &row.get::<_, String>(3)?)?,
        lot: lot_id(&row.get::<_, String>(4)?)?,
        role: from_token("role", &row.get::<_, String>(5)?)?,
        mass: mass("pool member mass", row.get(6)?)?,
        reo: mass("pool member reo", row.get(7)?)?,
        elements: elements
            .as_deref()
            .map(|e| from_json("elements", e))
            .transpose()?,
    })
}

/// The columns of `flag`, in the order [`flag`] reads them.
pub(crate) const FLAG_COLUMNS: &str =
    "key, rule, enterprise, facility, lot, month, entries, detail, occurrences";

pub(crate) fn flag(row: &Row<'_>) -> DbResult<Flag> {
    let facility: Option<String> = row.get(3)?;
    let lot: Option<String> = row.get(4)?;
    Ok(Flag {
        key: row.get(0)?,
        rule: from_token("rule", &row.get::<_, String>(1)?)?,
        enterprise: uscc(&row.get::<_, String>(2)?)?,
        facility: facility.as_deref().map(facility_id).transpose()?,
        lot: lot.as_deref().map(lot_id).transpose()?,
        month: row.get(5)?,
        entries: from_json("flag entries", &row.get::<_, String>(6)?)?,
        detail: row.get(7)?,
        occurrences: index("occurrences", row.get(8)?)?,
    })
}

/// The columns of `shipment s` with the codes of its lots (`lot sl`, `lot
/// rl`), in the order [`shipment`] reads them.
pub(crate) const SHIPMENT_COLUMNS: &str = "s.ship_entry, sl.code, s.ship_receiver, s.ship_mass, s.ship_ms, \
     s.receive_entry, rl.code, s.receive_receiver, s.receive_mass, s.receive_grade, s.receive_ms";

pub(crate) fn shipment(sender: &Uscc, number: &str, row: &Row<'_>) -> DbResult<Shipment> {
    let ship = match row.get::<_, Option<i64>>(0)? {
        None => None,
        Some(entry) => Some(ShipSide {
            entry: index("ship entry", entry)?,
            lot: lot_id(&row.get::<_, String>(1)?)?,
            receiver: uscc(&row.get::<_, String>(2)?)?,
            mass: mass("ship mass", row.get(3)?)?,
            event_ms: row.get(4)?,
        }),
    };
    let receive = match row.get::<_, Option<i64>>(5)? {
        None => None,
        Some(entry) => Some(ReceiveSide {
            entry: index("receive entry", entry)?,
            lot: lot_id(&row.get::<_, String>(6)?)?,
            receiver: uscc(&row.get::<_, String>(7)?)?,
            mass: mass("receive mass", row.get(8)?)?,
            grade: row
                .get::<_, Option<i64>>(9)?
                .map(|ppm| {
                    u32::try_from(ppm)
                        .ok()
                        .and_then(Share::from_ppm)
                        .ok_or_else(|| DbError::corrupt("receive grade", format!("{ppm} ppm")))
                })
                .transpose()?,
            event_ms: row.get(10)?,
        }),
    };
    Ok(Shipment {
        sender: sender.clone(),
        number: number.to_owned(),
        ship,
        receive,
    })
}

/// The value columns of `process_month`, in the order [`process_month`] reads them.
pub(crate) const PROCESS_MONTH_COLUMNS: &str =
    "in_reo, out_reo, in_known, out_known, in_elements, out_elements, in_ionic, transforms";

pub(crate) fn process_month(row: &Row<'_>) -> DbResult<ProcessMonth> {
    Ok(ProcessMonth {
        in_reo: row.get(0)?,
        out_reo: row.get(1)?,
        in_known: row.get(2)?,
        out_known: row.get(3)?,
        in_elements: from_json("in_elements", &row.get::<_, String>(4)?)?,
        out_elements: from_json("out_elements", &row.get::<_, String>(5)?)?,
        in_ionic: row.get(6)?,
        transforms: row.get(7)?,
    })
}
