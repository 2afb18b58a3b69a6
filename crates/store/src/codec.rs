//! How domain values are spelled in the tables of every store: enum tokens,
//! record times, dates, masses, ledger indices.
//!
//! Every spelling is deterministic, so that a projection rebuilt from the
//! ledger matches the live one byte for byte (DESIGN.md §3), and the same on
//! both stores, so that their projections compare row for row.

pub mod rows;

pub use rows::*;

use retrace_domain::facility::FacilityId;
use retrace_domain::lot::LotId;
use retrace_domain::quantity::Mass;
use retrace_domain::uscc::Uscc;
use retrace_ledger::hash::Hash;
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// A stored value that does not parse as what it should be: the database was
/// changed behind the store's back, or a bug wrote it. Each backend turns it
/// into its own error type, and from there into an internal error that is
/// logged, never shown to a client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("corrupt {what}: {detail}")]
pub struct Corrupt {
    pub what: &'static str,
    pub detail: String,
}

impl Corrupt {
    pub fn new(what: &'static str, detail: impl std::fmt::Display) -> Corrupt {
        Corrupt {
            what,
            detail: detail.to_string(),
        }
    }
}

/// The result of decoding a stored value.
pub type Decoded<T> = Result<T, Corrupt>;

/// The record time of an entry: UTC, milliseconds, fixed width, so that the
/// text sorts like the time and parses back to exactly the moment the
/// projector was given.
const RECORD_TIME: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// ISO 8601 calendar dates (designation validity).
const DATE: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");

/// The moment an entry is recorded at, with its stored spelling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordTime {
    pub at: OffsetDateTime,
    pub text: String,
}

impl RecordTime {
    /// `now`, cut to the millisecond in UTC, so that what the projector sees
    /// is exactly what the ledger stores and the audit replays.
    ///
    /// # Errors
    /// When the clock reads a time that cannot be written (beyond year 9999).
    pub fn new(now: OffsetDateTime) -> Decoded<RecordTime> {
        let utc = now.to_offset(UtcOffset::UTC);
        let at = utc
            .replace_nanosecond(utc.nanosecond() / 1_000_000 * 1_000_000)
            .map_err(|e| Corrupt::new("clock", e))?;
        let text = at
            .format(RECORD_TIME)
            .map_err(|e| Corrupt::new("clock", e))?;
        Ok(RecordTime { at, text })
    }

    /// Parses a stored record time.
    ///
    /// # Errors
    /// When `text` is not a record time.
    pub fn parse(text: &str) -> Decoded<RecordTime> {
        let at = PrimitiveDateTime::parse(text, RECORD_TIME)
            .map_err(|e| Corrupt::new("record_time", format!("{text}: {e}")))?
            .assume_utc();
        Ok(RecordTime {
            at,
            text: text.to_owned(),
        })
    }

    /// The calendar month of the record time in UTC, `YYYY-MM`: the
    /// partition a store may file the entry under.
    pub fn month(&self) -> &str {
        &self.text[..7]
    }
}

/// # Errors
/// Never for a date of the calendar the domain uses.
pub fn date_text(date: Date) -> Decoded<String> {
    date.format(DATE).map_err(|e| Corrupt::new("date", e))
}

/// # Errors
/// When `text` is not an ISO 8601 calendar date.
pub fn parse_date(text: &str) -> Decoded<Date> {
    Date::parse(text, DATE).map_err(|e| Corrupt::new("date", format!("{text}: {e}")))
}

/// The serde token of a unit enum variant (`rock`, `separation`, `input`).
///
/// # Errors
/// When `value` does not serialize as a string.
pub fn token<T: Serialize>(value: &T) -> Decoded<String> {
    match serde_json::to_value(value).map_err(|e| Corrupt::new("token", e))? {
        serde_json::Value::String(s) => Ok(s),
        other => Err(Corrupt::new("token", format!("{other} is not a token"))),
    }
}

/// Parses a token written by [`token`].
///
/// # Errors
/// When `text` is no token of `T`.
pub fn from_token<T: DeserializeOwned>(what: &'static str, text: &str) -> Decoded<T> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|e| Corrupt::new(what, format!("{text}: {e}")))
}

/// # Errors
/// When `value` does not serialize (a bug).
pub fn json<T: Serialize>(value: &T) -> Decoded<String> {
    serde_json::to_string(value).map_err(|e| Corrupt::new("json", e))
}

/// # Errors
/// When `text` is not the JSON of a `T`.
pub fn from_json<T: DeserializeOwned>(what: &'static str, text: &str) -> Decoded<T> {
    serde_json::from_str(text).map_err(|e| Corrupt::new(what, e))
}

/// Grams as an SQL integer. Record masses are bounded far below `i64::MAX`
/// by the projector; saturating keeps a bug visible rather than wrapping.
pub fn grams(mass: Mass) -> i64 {
    i64::try_from(mass.grams()).unwrap_or(i64::MAX)
}

/// # Errors
/// When `grams` is negative.
pub fn mass(what: &'static str, grams: i64) -> Decoded<Mass> {
    u64::try_from(grams)
        .map(Mass::from_grams)
        .map_err(|_| Corrupt::new(what, format!("negative mass {grams}")))
}

/// A ledger index as an SQL integer (indices stay far below `i64::MAX`).
pub fn sql_index(index: u64) -> i64 {
    i64::try_from(index).unwrap_or(i64::MAX)
}

/// # Errors
/// When `value` is negative.
pub fn index(what: &'static str, value: i64) -> Decoded<u64> {
    u64::try_from(value).map_err(|_| Corrupt::new(what, format!("negative index {value}")))
}

/// # Errors
/// When `text` is not a valid USCC.
pub fn uscc(text: &str) -> Decoded<Uscc> {
    Uscc::parse(text).map_err(|e| Corrupt::new("uscc", e))
}

/// # Errors
/// When `text` is not a lot id.
pub fn lot_id(text: &str) -> Decoded<LotId> {
    LotId::parse(text).map_err(|e| Corrupt::new("lot id", e))
}

/// # Errors
/// When `text` is not a facility id.
pub fn facility_id(text: &str) -> Decoded<FacilityId> {
    FacilityId::parse(text).map_err(|e| Corrupt::new("facility id", e))
}

/// # Errors
/// When `bytes` are not 32 long.
pub fn hash(what: &'static str, bytes: &[u8]) -> Decoded<Hash> {
    <[u8; 32]>::try_from(bytes)
        .map(Hash)
        .map_err(|_| Corrupt::new(what, format!("{} bytes, not 32", bytes.len())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_times_round_trip_to_the_millisecond() {
        let t = time::macros::datetime!(2025-03-09 23:59:58.123456789 +08:00);
        let rt = RecordTime::new(t).unwrap();
        assert_eq!(rt.text, "2025-03-09T15:59:58.123Z");
        assert_eq!(rt.month(), "2025-03");
        assert_eq!(RecordTime::parse(&rt.text).unwrap(), rt);
    }
}
