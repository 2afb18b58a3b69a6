//! The entry points of retrace's fuzz targets (issue 9 §3): one per parser of
//! outside input, each taking arbitrary bytes. Each must never panic, and
//! each checks a property of its parser where one exists — mostly that what
//! is accepted has one spelling (encode ∘ parse is the identity) or survives
//! a round trip — so that a fuzzer finds wrong answers, not only crashes.
//!
//! The fuzz targets in `fuzz/` (outside the workspace: cargo-fuzz needs a
//! nightly-only sanitizer, run with `RUSTC_BOOTSTRAP=1`) call these
//! functions; `tests/corpus.rs` replays every committed input of
//! `fuzz/corpus/<target>/` and `fuzz/regressions/<target>/` through them as an
//! ordinary test, which is what CI runs.

use std::collections::BTreeMap;

use retrace_ledger::checkpoint::SignedCheckpoint;
use retrace_ledger::entry::Entry;
use retrace_ledger::receipt::Receipt;
use retrace_ledger::witness::AddCheckpoint;

/// A fuzz target's entry point.
pub type Target = fn(&[u8]);

/// Every target, by the name of its corpus directory.
pub const TARGETS: &[(&str, Target)] = &[
    ("event_json", event_json),
    ("event_csv", event_csv),
    ("epcis_document", epcis_document),
    ("epcis_query", epcis_query),
    ("receipt", receipt),
    ("checkpoint", checkpoint),
    ("entry", entry),
    ("witness_request", witness_request),
    ("identifiers", identifiers),
];

/// A batch of records in JSON (`POST /api/v1/events`, `retrace record`):
/// what parses serialises back to JSON that parses to the same records.
pub fn event_json(data: &[u8]) {
    if let Ok(records) = retrace_capture::parse_json(data) {
        let again = serde_json::to_vec(&records).expect("records serialise");
        let reparsed = retrace_capture::parse_json(&again).expect("serialised records parse");
        assert_eq!(reparsed, records, "a JSON batch survives a round trip");
    }
}

/// A batch of records as a CSV file: never panics, and a CSV batch that
/// parses becomes records that survive the JSON round trip too.
pub fn event_csv(data: &[u8]) {
    if let Ok(records) = retrace_capture::parse_csv(data) {
        let json = serde_json::to_vec(&records).expect("records serialise");
        let reparsed = retrace_capture::parse_json(&json).expect("serialised records parse");
        assert_eq!(
            reparsed, records,
            "a CSV batch survives the JSON round trip"
        );
    }
}

/// An EPCIS 2.0 document (`POST /epcis/capture`): schema validation, the
/// event hash IDs and the capture split never panic, and a document the
/// split accepts hashes every event it names.
pub fn epcis_document(data: &[u8]) {
    let Ok(document) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let valid = retrace_epcis::schema::validate(&document).is_ok();
    let hashes = retrace_epcis::document_hash_ids(&document);
    let entries: BTreeMap<u64, serde_json::Value> = BTreeMap::new();
    let captured = retrace_epcis::capture::capture(&document, &entries);
    if valid && let (Ok(ids), Ok(events)) = (&hashes, &captured) {
        assert_eq!(ids.len(), events.len(), "one hash ID per captured event");
    }
}

/// EPCIS query parameters (`GET /epcis/events?…`), as `key=value` lines.
pub fn epcis_query(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parameters: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let context = retrace_epcis::Context::default();
    if let Ok(query) = retrace_epcis::query::Query::parse(&parameters, &context) {
        let event = serde_json::json!({"type": "ObjectEvent", "eventTime": "2025-01-01T00:00:00Z",
            "eventTimeZoneOffset": "+08:00", "action": "OBSERVE"});
        let _ = retrace_epcis::query::matches(&query, &event, &|_, _| false);
    }
}

/// A receipt (C2SP tlog-proof, `retrace verify`): one spelling.
pub fn receipt(data: &[u8]) {
    if let Ok(r) = Receipt::parse(data) {
        assert_eq!(r.to_bytes(), data, "a receipt has one spelling");
    }
}

/// A signed checkpoint (`retrace audit --checkpoint`): one spelling.
pub fn checkpoint(data: &[u8]) {
    if let Ok(c) = SignedCheckpoint::parse(data) {
        assert_eq!(c.as_bytes(), data, "a checkpoint has one spelling");
    }
}

/// A ledger entry's bytes (inside receipts and public proofs): one spelling.
pub fn entry(data: &[u8]) {
    if let Ok(e) = Entry::decode(data) {
        assert_eq!(e.encode(), data, "an entry has one spelling");
    }
}

/// A witness's `add-checkpoint` request body: what parses writes back to a
/// body that parses the same.
pub fn witness_request(data: &[u8]) {
    if let Ok(request) = AddCheckpoint::parse(data) {
        assert_eq!(
            AddCheckpoint::parse(&request.to_bytes()).as_ref(),
            Ok(&request),
            "a witness request survives a round trip"
        );
    }
}

/// The identifiers of query and path parameters: USCCs, regions, lots,
/// facilities, roles, account names, masses and shares — each that parses
/// displays as text that parses to the same value.
pub fn identifiers(data: &[u8]) {
    use retrace_domain::facility::FacilityId;
    use retrace_domain::lot::LotId;
    use retrace_domain::quantity::{Mass, Share};
    use retrace_domain::region::RegionCode;
    use retrace_domain::uscc::Uscc;
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(u) = Uscc::parse(text) {
        assert_eq!(Uscc::parse(u.as_str()), Ok(u));
    }
    if let Ok(r) = text.parse::<RegionCode>() {
        assert_eq!(r.as_str().parse::<RegionCode>().ok(), Some(r));
    }
    if let Ok(l) = LotId::parse(text) {
        assert_eq!(LotId::parse(l.as_str()).ok(), Some(l));
    }
    if let Ok(f) = FacilityId::parse(text) {
        assert_eq!(FacilityId::parse(f.as_str()).ok(), Some(f));
    }
    if let Ok(role) = retrace_access::Role::parse(text) {
        assert_eq!(
            retrace_access::Role::parse(&role.to_string()).ok(),
            Some(role)
        );
    }
    if let Ok(name) = retrace_access::AccountName::parse(text) {
        assert_eq!(
            retrace_access::AccountName::parse(name.as_str()).ok(),
            Some(name)
        );
    }
    if let Ok(m) = text.parse::<Mass>() {
        assert_eq!(m.to_string().parse::<Mass>().ok(), Some(m));
    }
    if let Ok(s) = text.parse::<Share>() {
        assert_eq!(s.to_string().parse::<Share>().ok(), Some(s));
    }
}
