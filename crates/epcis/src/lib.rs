//! GS1 EPCIS 2.0 and CBV 2.0 for retrace: the **CBV 2.0 Event Hash ID** of events in the
//! EPCIS 2.0 JSON-LD binding, the **mapping** between retrace's flows and EPCIS events with
//! the `rareearth` extension, and the pure half of the EPCIS 2.0 capture, query and
//! subscription interfaces.
//!
//! In the data flow of DESIGN §3 (capture → validate → sequence → project → receipt) this crate
//! serves the capture step and the read side: an `EPCISDocument` is validated, split into
//! events, each hashed and mapped to a flow or kept as a general traceability event; flows
//! are written back as EPCIS events, documents and query results. It is pure code: no I/O,
//! no async, no threads. `MAPPING.md` beside this crate shows every flow kind both ways.
//!
//! | module | implements | what it gives |
//! |---|---|---|
//! | [`mapping`] | DESIGN §2 flow table, EPCIS 2.0 §7.4 events | [`to_epcis`], [`from_epcis`], [`Mapped`], [`Entries`] |
//! | [`extension`] | EPCIS 2.0 §9.1 extensions | the `rareearth` namespace and why its IRI |
//! | [`identifier`] | CBV 2.0 §8 identifiers, GS1 Digital Link | lot classes, parties, facilities, countries, documents as URIs |
//! | [`quantity`] | EPCIS 2.0 §7.3.3.3 quantities, UNECE Rec 20 | exact masses (KGM, TNE, GRM) and percentages in JSON numbers |
//! | [`schema`] | EPCIS 2.0 JSON schema (draft-07) | [`schema::validate`], errors by pointer and event index |
//! | [`jsonld`] | JSON-LD 1.1 sets of the EPCIS context | sets of one read as arrays |
//! | [`capture`] | EPCIS 2.0 §8.2.2 capture, REST capture jobs | [`capture::capture`]: per-event hash ID and outcome |
//! | [`document`] | EPCIS 2.0 §9.2, §12 documents | `EPCISDocument` and `EPCISQueryDocument` builders |
//! | [`query`] | EPCIS 2.0 §8.2.7.1 SimpleEventQuery, REST parameters | [`query::Query::parse`], [`query::matches`](fn@query::matches), [`query::order`] |
//! | [`epc_format`] | REST binding `GS1-EPC-Format`, TDS 2.0 | identifiers as Digital Link or EPC URN |
//! | [`signature`] | REST binding `GS1-Signature` | HMAC-SHA256 of subscription deliveries |
//! | [`prehash`](mod@prehash) | CBV 2.0 §8.9, canonical property order | [`prehash()`], [`event_hash_id`] |
//! | [`context`] | EPCIS 2.0 §7 JSON-LD `@context`, CBV 2.0 §8.9 user extensions | [`Context`]: prefixes for `{namespace}name` field names, ignored fields |
//! | [`uri`] | CBV 2.0 §8.9 with the GS1 EPC Tag Data Standard and GS1 Digital Link | [`canonical_gs1_uri`]: EPC URIs and Digital Link URIs to the canonical `https://id.gs1.org/…` form |
//! | [`vocab`] | CBV 2.0 §7 (vocabularies) and the EPCIS 2.0 JSON-LD contexts | bare CBV names and CBV 1.x URNs to `https://ref.gs1.org/cbv/…` and `https://gs1.org/voc/…` |
//! | [`timestamp`] | CBV 2.0 §8.9, time rule | [`canonical_timestamp`]: UTC, milliseconds, `Z` |
//! | [`value`] | CBV 2.0 §8.9, value rules | [`canonical_value`], [`canonical_number`] |
//!
//! # The Event Hash ID
//!
//! ```text
//! ni:///sha-256;<64 lowercase hex digits of SHA-256(pre-hash string as UTF-8)>?ver=CBV2.0
//! ```
//!
//! The pre-hash string is `eventType=<type>` followed by the event's fields in a fixed order,
//! each list sorted, then everything else (business transactions, sources, destinations, ILMD
//! and user extensions) sorted as whole strings; [the `prehash` module](mod@prehash) documents each rule. The test
//! vectors of the reference implementation (`tests/vectors/`, MIT licence beside them) are the
//! arbiter where the standard's text and the reference implementation differ.
//!
//! ```
//! use retrace_epcis::{document_hash_ids, Context, event_hash_id, prehash};
//!
//! let doc = serde_json::json!({
//!     "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
//!     "type": "EPCISDocument",
//!     "schemaVersion": "2.0",
//!     "creationDate": "2024-05-01T08:00:00Z",
//!     "epcisBody": {"eventList": [{
//!         "type": "ObjectEvent",
//!         "eventTime": "2024-05-01T10:00:00+08:00",
//!         "eventTimeZoneOffset": "+08:00",
//!         "epcList": ["urn:epc:id:sgtin:4012345.011111.9876"],
//!         "action": "OBSERVE",
//!         "bizStep": "shipping",
//!     }]},
//! });
//! let context = Context::from_document(&doc)?;
//! let event = &doc["epcisBody"]["eventList"][0];
//! assert_eq!(
//!     prehash(event, &context)?,
//!     "eventType=ObjectEventeventTime=2024-05-01T02:00:00.000ZeventTimeZoneOffset=+08:00\
//!      epcListepc=https://id.gs1.org/01/04012345111118/21/9876\
//!      action=OBSERVEbizStep=https://ref.gs1.org/cbv/BizStep-shipping",
//! );
//! let id = event_hash_id(event, &context)?;
//! assert!(id.starts_with("ni:///sha-256;") && id.ends_with("?ver=CBV2.0"));
//! assert_eq!(document_hash_ids(&doc)?, vec![id]);
//! # Ok::<(), retrace_epcis::HashError>(())
//! ```

pub mod capture;
pub mod context;
pub mod document;
pub mod epc_format;
pub mod extension;
pub mod identifier;
pub mod jsonld;
pub mod mapping;
pub mod prehash;
pub mod quantity;
pub mod query;
pub mod schema;
pub mod signature;
pub mod timestamp;
pub mod uri;
pub mod value;
pub mod vocab;

mod path;

pub use context::Context;
pub use mapping::{Entries, Mapped, MappingError, ToEpcisError, from_epcis, to_epcis};
pub use prehash::{event_hash_id, prehash};
pub use timestamp::canonical_timestamp;
pub use uri::canonical_gs1_uri;
pub use value::{canonical_number, canonical_value};

use serde_json::Value;

/// Why an event, a document or its `@context` could not be hashed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// The event is not a JSON object.
    #[error("an EPCIS event must be a JSON object")]
    EventNotObject,
    /// The event has no string `type` (ObjectEvent, AggregationEvent, …).
    #[error("the event has no string `type` naming its event type")]
    MissingEventType,
    /// A timestamp field is not an `xsd:dateTimeStamp` (a date-time with a time zone).
    #[error("{field}: {value:?} is not a date-time with a time zone (xsd:dateTimeStamp)")]
    InvalidTime {
        /// Where the value sits in the event, e.g. `sensorElementList[0].sensorMetadata.time`.
        field: String,
        /// The value as given.
        value: String,
    },
    /// A standard field has a JSON type the EPCIS 2.0 JSON schema does not allow there.
    #[error("{field}: {reason}")]
    InvalidField {
        /// Where the value sits in the event.
        field: String,
        /// What was expected.
        reason: &'static str,
    },
    /// The `@context` is neither a string, an object nor an array of those.
    #[error("@context: {0}")]
    InvalidContext(&'static str),
    /// The document has no event list where an `EPCISDocument` or `EPCISQueryDocument` has one.
    #[error("not an EPCIS document: {0}")]
    NotADocument(&'static str),
    /// One event of a document could not be hashed.
    #[error("event {index} of the document: {source}")]
    Event {
        /// Position of the event in the event list, from 0.
        index: usize,
        /// What was wrong with it.
        #[source]
        source: Box<HashError>,
    },
}

/// The events of an EPCIS document, in document order: `epcisBody.eventList` of an
/// `EPCISDocument`, or `epcisBody.queryResults.resultsBody.eventList` of an
/// `EPCISQueryDocument` (EPCIS 2.0 §9.2 and §12).
///
/// # Errors
///
/// [`HashError::NotADocument`] when neither list is there, or it is not an array.
pub fn event_list(doc: &Value) -> Result<&[Value], HashError> {
    let body = doc
        .get("epcisBody")
        .ok_or(HashError::NotADocument("no epcisBody"))?;
    let list = match body.get("eventList") {
        Some(list) => list,
        None => body
            .get("queryResults")
            .and_then(|results| results.get("resultsBody"))
            .and_then(|results| results.get("eventList"))
            .ok_or(HashError::NotADocument(
                "no epcisBody.eventList nor epcisBody.queryResults.resultsBody.eventList",
            ))?,
    };
    list.as_array()
        .map(Vec::as_slice)
        .ok_or(HashError::NotADocument("the event list is not an array"))
}

/// The CBV 2.0 Event Hash ID of every event of an EPCIS document, in document order, each
/// computed with the document's `@context` ([`Context::from_document`]).
///
/// # Errors
///
/// [`HashError::NotADocument`] or [`HashError::InvalidContext`] for the document, or
/// [`HashError::Event`] naming the first event that cannot be hashed.
pub fn document_hash_ids(doc: &Value) -> Result<Vec<String>, HashError> {
    let context = Context::from_document(doc)?;
    event_list(doc)?
        .iter()
        .enumerate()
        .map(|(index, event)| {
            event_hash_id(event, &context).map_err(|source| HashError::Event {
                index,
                source: Box::new(source),
            })
        })
        .collect()
}
