//! How domain values are spelled in the tables: enum tokens, times, masses,
//! and the rows the projector and the readers get back.
//!
//! Every spelling is deterministic, so that a projection rebuilt from the
//! ledger matches the live one byte for byte (DESIGN.md §3).

use retrace_domain::facility::FacilityId;
use retrace_domain::lot::LotId;
use retrace_domain::project::{
    Flag, LotState, Movement, PoolMember, ProcessMonth, ReceiveSide, ShipSide, Shipment,
};
use retrace_domain::quantity::{Mass, Share};
use retrace_domain::uscc::Uscc;
use retrace_ledger::hash::Hash;
use rusqlite::Row;
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, UtcOffset};

use crate::error::{DbError, DbResult};

/// The record time of an entry: UTC, milliseconds, fixed width, so that the
/// text sorts like the time and parses back to exactly the moment the
/// projector was given.
const RECORD_TIME: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// ISO 8601 calendar dates (designation validity).
const DATE: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");

/// The moment an entry is recorded at, with its stored spelling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RecordTime {
    pub at: OffsetDateTime,
    pub text: String,
}

impl RecordTime {
    /// `now`, cut to the millisecond in UTC, so that what the projector sees
    /// is exactly what the ledger stores and the audit replays.
    pub(crate) fn new(now: OffsetDateTime) -> DbResult<RecordTime> {
        let utc = now.to_offset(UtcOffset::UTC);
        let at = utc
            .replace_nanosecond(utc.nanosecond() / 1_000_000 * 1_000_000)
            .map_err(|e| DbError::corrupt("clock", e))?;
        let text = at
            .format(RECORD_TIME)
            .map_err(|e| DbError::corrupt("clock", e))?;
        Ok(RecordTime { at, text })
    }

    /// Parses a stored record time.
    pub(crate) fn parse(text: &str) -> DbResult<RecordTime> {
        let at = PrimitiveDateTime::parse(text, RECORD_TIME)
            .map_err(|e| DbError::corrupt("record_time", format!("{text}: {e}")))?
            .assume_utc();
        Ok(RecordTime {
            at,
            text: text.to_owned(),
        })
    }
}

pub(crate) fn date_text(date: Date) -> DbResult<String> {
    date.format(DATE).map_err(|e| DbError::corrupt("date", e))
}

pub(crate) fn parse_date(text: &str) -> DbResult<Date> {
    Date::parse(text, DATE).map_err(|e| DbError::corrupt("date", format!("{text}: {e}")))
}

/// The serde token of a unit enum variant (`rock`, `separation`, `input`).
pub(crate) fn token<T: Serialize>(value: &T) -> DbResult<String> {
    match serde_json::to_value(value)? {
        serde_json::Value::String(s) => Ok(s),
        other => Err(DbError::corrupt("token", format!("{other} is not a token"))),
    }
}

/// Parses a token written by [`token`].
pub(crate) fn from_token<T: DeserializeOwned>(what: &'static str, text: &str) -> DbResult<T> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|e| DbError::corrupt(what, format!("{text}: {e}")))
}

pub(crate) fn json<T: Serialize>(value: &T) -> DbResult<String> {
    Ok(serde_json::to_string(value)?)
}

pub(crate) fn from_json<T: DeserializeOwned>(what: &'static str, text: &str) -> DbResult<T> {
    serde_json::from_str(text).map_err(|e| DbError::corrupt(what, e))
}

/// Grams as an SQL integer. Record masses are bounded far below `i64::MAX`
/// by the projector; saturating keeps a bug visible rather than wrapping.
pub(crate) fn grams(mass: Mass) -> i64 {
    i64::try_from(mass.grams()).unwrap_or(i64::MAX)
}

pub(crate) fn mass(what: &'static str, grams: i64) -> DbResult<Mass> {
    u64::try_from(grams)
        .map(Mass::from_grams)
        .map_err(|_| DbError::corrupt(what, format!("negative mass {grams}")))
}

/// A ledger index as an SQL integer (indices stay far below `i64::MAX`).
pub(crate) fn sql_index(index: u64) -> i64 {
    i64::try_from(index).unwrap_or(i64::MAX)
}

pub(crate) fn index(what: &'static str, value: i64) -> DbResult<u64> {
    u64::try_from(value).map_err(|_| DbError::corrupt(what, format!("negative index {value}")))
}

pub(crate) fn uscc(text: &str) -> DbResult<Uscc> {
    Uscc::parse(text).map_err(|e| DbError::corrupt("uscc", e))
}

pub(crate) fn lot_id(text: &str) -> DbResult<LotId> {
    LotId::parse(text).map_err(|e| DbError::corrupt("lot id", e))
}

pub(crate) fn facility_id(text: &str) -> DbResult<FacilityId> {
    FacilityId::parse(text).map_err(|e| DbError::corrupt("facility id", e))
}

pub(crate) fn hash(what: &'static str, bytes: &[u8]) -> DbResult<Hash> {
    <[u8; 32]>::try_from(bytes)
        .map(Hash)
        .map_err(|_| DbError::corrupt(what, format!("{} bytes, not 32", bytes.len())))
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_times_round_trip_to_the_millisecond() {
        let t = time::macros::datetime!(2025-03-09 23:59:58.123456789 +08:00);
        let rt = RecordTime::new(t).unwrap();
        assert_eq!(rt.text, "2025-03-09T15:59:58.123Z");
        assert_eq!(RecordTime::parse(&rt.text).unwrap(), rt);
    }
}
