//! The rows the projector and the readers get back, decoded the same way from
//! either database through [`StoredRow`]; each store lists the columns in the
//! order given here.

use retrace_domain::project::{
    Flag, LotState, Movement, PoolMember, ProcessMonth, ReceiveSide, ShipSide, Shipment,
};
use retrace_domain::quantity::Share;
use retrace_domain::uscc::Uscc;

use super::{Corrupt, facility_id, from_json, from_token, index, lot_id, mass, uscc};

/// A row of a result, as each database's driver gives it.
pub trait StoredRow {
    type Error: From<Corrupt>;

    fn int(&self, column: usize) -> Result<i64, Self::Error>;
    fn opt_int(&self, column: usize) -> Result<Option<i64>, Self::Error>;
    fn text(&self, column: usize) -> Result<String, Self::Error>;
    fn opt_text(&self, column: usize) -> Result<Option<String>, Self::Error>;
}

/// The columns of `lot`, in the order [`lot_state`] reads them, then its id.
pub const LOT_COLUMNS: &str = "code, product, measurement, distribution, feed_origin, producer, facility, created_by, created_at_ms, reo, elements, id";

pub fn lot_state<R: StoredRow>(row: &R) -> Result<LotState, R::Error> {
    let product = row.text(1)?;
    let distribution = row.opt_text(3)?;
    let facility = row.opt_text(6)?;
    let elements = row.opt_text(10)?;
    Ok(LotState {
        lot: lot_id(&row.text(0)?)?,
        product: retrace_domain::product::ProductCode::parse(&product)
            .map_err(|e| Corrupt::new("product", e))?,
        measurement: from_json("measurement", &row.text(2)?)?,
        distribution: distribution
            .as_deref()
            .map(|d| from_json("distribution", d))
            .transpose()?,
        feed_origin: from_token("feed_origin", &row.text(4)?)?,
        producer: uscc(&row.text(5)?)?,
        facility: facility.as_deref().map(facility_id).transpose()?,
        created_by: index("created_by", row.int(7)?)?,
        created_at_ms: row.int(8)?,
        reo: mass("reo", row.int(9)?)?,
        elements: elements
            .as_deref()
            .map(|e| from_json("elements", e))
            .transpose()?,
    })
}

/// The columns of `movement m` joined with the `lot l` it moves, in the order
/// [`movement`] reads them.
pub const MOVEMENT_COLUMNS: &str = "m.entry, l.code, m.holder, m.owner, m.mass, m.reo, m.event_ms";

pub fn movement<R: StoredRow>(row: &R) -> Result<Movement, R::Error> {
    Ok(Movement {
        entry: index("movement entry", row.int(0)?)?,
        lot: lot_id(&row.text(1)?)?,
        holder: uscc(&row.text(2)?)?,
        owner: uscc(&row.text(3)?)?,
        mass: row.int(4)?,
        reo: row.int(5)?,
        event_ms: row.int(6)?,
    })
}

/// The columns of `pool_member p` joined with its `lot l`, in the order
/// [`pool_member`] reads them.
pub const MEMBER_COLUMNS: &str =
    "p.entry, p.facility, p.month, p.process, l.code, p.role, p.mass, p.reo, p.elements";

pub fn pool_member<R: StoredRow>(row: &R) -> Result<PoolMember, R::Error> {
    let elements = row.opt_text(8)?;
    Ok(PoolMember {
        entry: index("pool member entry", row.int(0)?)?,
        facility: facility_id(&row.text(1)?)?,
        month: row.text(2)?,
        process: from_token("process", &row.text(3)?)?,
        lot: lot_id(&row.text(4)?)?,
        role: from_token("role", &row.text(5)?)?,
        mass: mass("pool member mass", row.int(6)?)?,
        reo: mass("pool member reo", row.int(7)?)?,
        elements: elements
            .as_deref()
            .map(|e| from_json("elements", e))
            .transpose()?,
    })
}

/// The columns of `flag`, in the order [`flag`] reads them.
pub const FLAG_COLUMNS: &str =
    "key, rule, enterprise, facility, lot, month, entries, detail, occurrences";

pub fn flag<R: StoredRow>(row: &R) -> Result<Flag, R::Error> {
    let facility = row.opt_text(3)?;
    let lot = row.opt_text(4)?;
    Ok(Flag {
        key: row.text(0)?,
        rule: from_token("rule", &row.text(1)?)?,
        enterprise: uscc(&row.text(2)?)?,
        facility: facility.as_deref().map(facility_id).transpose()?,
        lot: lot.as_deref().map(lot_id).transpose()?,
        month: row.text(5)?,
        entries: from_json("flag entries", &row.text(6)?)?,
        detail: row.text(7)?,
        occurrences: index("occurrences", row.int(8)?)?,
    })
}

/// The columns of `shipment s` with the codes of its lots (`lot sl`, `lot
/// rl`), in the order [`shipment`] reads them.
pub const SHIPMENT_COLUMNS: &str = "s.ship_entry, sl.code, s.ship_receiver, s.ship_mass, s.ship_ms, \
     s.receive_entry, rl.code, s.receive_receiver, s.receive_mass, s.receive_grade, s.receive_ms";

pub fn shipment<R: StoredRow>(sender: &Uscc, number: &str, row: &R) -> Result<Shipment, R::Error> {
    let ship = match row.opt_int(0)? {
        None => None,
        Some(entry) => Some(ShipSide {
            entry: index("ship entry", entry)?,
            lot: lot_id(&row.text(1)?)?,
            receiver: uscc(&row.text(2)?)?,
            mass: mass("ship mass", row.int(3)?)?,
            event_ms: row.int(4)?,
        }),
    };
    let receive = match row.opt_int(5)? {
        None => None,
        Some(entry) => Some(ReceiveSide {
            entry: index("receive entry", entry)?,
            lot: lot_id(&row.text(6)?)?,
            receiver: uscc(&row.text(7)?)?,
            mass: mass("receive mass", row.int(8)?)?,
            grade: row
                .opt_int(9)?
                .map(|ppm| {
                    u32::try_from(ppm)
                        .ok()
                        .and_then(Share::from_ppm)
                        .ok_or_else(|| Corrupt::new("receive grade", format!("{ppm} ppm")))
                })
                .transpose()?,
            event_ms: row.int(10)?,
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
pub const PROCESS_MONTH_COLUMNS: &str =
    "in_reo, out_reo, in_known, out_known, in_elements, out_elements, in_ionic, transforms";

pub fn process_month<R: StoredRow>(row: &R) -> Result<ProcessMonth, R::Error> {
    Ok(ProcessMonth {
        in_reo: row.int(0)?,
        out_reo: row.int(1)?,
        in_known: row.int(2)?,
        out_known: row.int(3)?,
        in_elements: from_json("in_elements", &row.text(4)?)?,
        out_elements: from_json("out_elements", &row.text(5)?)?,
        in_ionic: row.int(6)?,
        transforms: row.int(7)?,
    })
}
