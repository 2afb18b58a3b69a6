//! The ledger entry of a record, the same on every store: its kind, its
//! public part and the salted commitment to the record (DESIGN.md §3), so
//! that the same inputs give the same leaves and the same Merkle roots on
//! SQLite and PostgreSQL.

use retrace_domain::flow::Flow;
use retrace_domain::lot::LotId;
use retrace_domain::record::Record;
use retrace_ledger::entry::{Entry, Opening, derive_salt};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;

use crate::codec::{Corrupt, Decoded};

/// The one confidential field of an entry: the whole record, committed to by
/// salted hash (DESIGN.md §3). Quantities, counterparties and documents live
/// only here.
pub const RECORD_FIELD: &str = "record";

/// The public part of an entry: who, when, what kind and which lots — never
/// quantities, counterparties or documents, which the entry only commits to
/// (DESIGN.md §3). Fields in name order, so the JSON has one spelling.
#[derive(Serialize)]
struct PublicPart<'a> {
    enterprise: &'a str,
    event_time: &'a str,
    kind: &'a str,
    lots: Vec<&'a str>,
    record_time: &'a str,
}

/// The lots a record names, in the order it names them, each once.
pub fn record_lots(record: &Record) -> Vec<&LotId> {
    let mut lots: Vec<&LotId> = Vec::new();
    let Record::Flow(event) = record else {
        return lots;
    };
    match &event.flow {
        Flow::Opening(o) => lots.push(&o.output.lot),
        Flow::Extract(x) => lots.push(&x.output.lot),
        Flow::Import(i) => lots.push(&i.output.lot),
        Flow::Transform(t) => {
            lots.extend(t.inputs.iter().map(|i| &i.lot));
            lots.extend(t.outputs.iter().map(|o| &o.lot));
        }
        Flow::Ship(s) => lots.push(&s.lot),
        Flow::Receive(r) => lots.push(&r.lot),
        Flow::Transfer(t) => lots.push(&t.lot),
        Flow::Export(x) => lots.push(&x.lot),
        Flow::Adjust(a) => lots.push(&a.lot),
        Flow::Correction(_) => {}
    }
    let mut seen = Vec::with_capacity(lots.len());
    lots.retain(|l| {
        let fresh = !seen.contains(l);
        seen.push(*l);
        fresh
    });
    lots
}

/// The public JSON of `record` recorded at `record_time`.
///
/// # Errors
/// When the event time cannot be written as RFC 3339 (beyond year 9999).
pub fn public_json(record: &Record, record_time: &str) -> Decoded<Vec<u8>> {
    let event_time = record
        .time()
        .format(&Rfc3339)
        .map_err(|e| Corrupt::new("event time", e))?;
    let kind = record.kind_token();
    let part = PublicPart {
        enterprise: record.enterprise().as_str(),
        event_time: &event_time,
        kind: &kind,
        lots: record_lots(record).into_iter().map(LotId::as_str).collect(),
        record_time,
    };
    serde_json::to_vec(&part).map_err(|e| Corrupt::new("public part", e))
}

/// The canonical JSON of a record: the value its `record` opening holds.
///
/// # Errors
/// When the record does not serialize (a bug).
pub fn record_json(record: &Record) -> Decoded<Vec<u8>> {
    serde_json::to_vec(record).map_err(|e| Corrupt::new("record", e))
}

/// Parses a record stored as its canonical JSON.
///
/// # Errors
/// When `value` is not the JSON of a record.
pub fn parse_record(value: &[u8]) -> Decoded<Record> {
    serde_json::from_slice(value).map_err(|e| Corrupt::new("stored record", e))
}

/// Builds the ledger entry of `record` at `index`: kind, public part and the
/// salted commitment to the record (salt derived from the operator's secret,
/// `retrace_ledger::entry::derive_salt`).
///
/// # Errors
/// When the record cannot be encoded (a bug).
pub fn build_entry(
    secret: &[u8; 32],
    index: u64,
    record: &Record,
    record_time: &str,
) -> Decoded<(Entry, Opening)> {
    let opening = Opening {
        field: RECORD_FIELD.to_owned(),
        salt: derive_salt(secret, index, RECORD_FIELD),
        value: record_json(record)?,
    };
    let entry = Entry::build(
        &record.kind_token(),
        public_json(record, record_time)?,
        std::slice::from_ref(&opening),
    )
    .map_err(|e| Corrupt::new("entry", e))?;
    Ok((entry, opening))
}
