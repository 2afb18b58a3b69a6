//! Capture: the first step of the data flow of DESIGN.md §3 (capture → validate → sequence →
//! project → receipt). Outside input — a JSON batch from the API, a CSV file exported from a
//! spreadsheet — becomes a list of [`Record`](retrace_domain::record::Record)s, or one [`CaptureError`] that names the record
//! (or CSV row) and the field (or column) at fault, so that a clerk can fix it. A batch is all or
//! nothing (DESIGN.md §3): on any error nothing of it is returned, so nothing partial is stored.
//!
//! Capture checks shape only — types, syntax, identifiers with check characters, known enum
//! tokens. Whether a lot exists or an enterprise is registered is the projector's question
//! (`retrace_domain::project`), answered inside the store's transaction.
//!
//! | input | function | format |
//! |---|---|---|
//! | JSON | [`parse_json`] | an array of records, `{"records": [...]}`, or one record object — each record in the serde form of `retrace_domain::record::Record` |
//! | CSV | [`parse_csv`], [`parse_csv_rows`] | one row per flow; see [`csv_table`] |

pub mod csv_table;
mod error;
mod json;

pub use csv_table::{CsvRecord, parse_csv, parse_csv_rows};
pub use error::CaptureError;
pub use json::parse_json;

/// The most records one batch may hold: a month of one enterprise's shipment-level flows fits
/// many times over (DESIGN.md §2 "Scale"), and a batch is one transaction of the store.
pub const MAX_RECORDS: usize = 100_000;

#[cfg(test)]
mod tests;
