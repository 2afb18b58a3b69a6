//! The mapping between retrace's flows and EPCIS 2.0 events: one hand-written case per flow
//! kind, random flows of every kind (proptest), hash IDs stable under re-serialisation, and
//! `MAPPING.md` generated from the same examples. One test binary, so the shared examples
//! are compiled once.

mod errors;
mod examples;
mod mapping_md;
mod query;
mod round_trip;
