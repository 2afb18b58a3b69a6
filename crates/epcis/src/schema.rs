//! Validation of EPCIS 2.0 documents against the standard's JSON schema (EPCIS 2.0 §10.4,
//! `EPCIS-JSON-Schema.json`, draft-07; GS1's file in `schema/`, GS1 licence beside it).
//!
//! The schema is compiled once, embedded at build time, with format assertions on:
//! `date-time` as the JSON schema defines it (RFC 3339, with its zone), and `uri` as JSON-LD
//! reads an `@id`-typed value ([`is_iri_or_term`]). Nothing is fetched: the schema refers only
//! to itself. Documents are validated with their sets of one written as arrays
//! ([`jsonld::with_sets_as_arrays`]), so error pointers name that form.

use std::sync::LazyLock;

use jsonschema::Validator;
use serde_json::Value;

use crate::jsonld;

static VALIDATOR: LazyLock<Validator> = LazyLock::new(|| {
    let schema: Value = serde_json::from_str(include_str!("../schema/EPCIS-JSON-Schema.json"))
        .unwrap_or_else(|e| panic!("the embedded EPCIS JSON schema is not JSON: {e}"));
    jsonschema::draft7::options()
        .should_validate_formats(true)
        .with_format("uri", is_iri_or_term)
        .build(&schema)
        .unwrap_or_else(|e| panic!("the embedded EPCIS JSON schema does not compile: {e}"))
});

/// One place where a document breaks the schema.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{pointer}: {message}", event.map(|i| format!("event {i}: ")).unwrap_or_default())]
pub struct SchemaError {
    /// The index of the event it lies in, in the document's event list, if it lies in one.
    pub event: Option<usize>,
    /// JSON pointer (RFC 6901) of the offending value in the document.
    pub pointer: String,
    /// What the schema says of it.
    pub message: String,
}

/// Checks an `EPCISDocument` or `EPCISQueryDocument` (or a single event) against the EPCIS
/// 2.0 JSON schema.
///
/// # Errors
///
/// Every place the schema is broken, in document order, each naming its JSON pointer and,
/// inside the event list, the event's index.
///
/// # Panics
///
/// Only if the embedded schema were not the GS1 file this crate ships; its tests compile it.
pub fn validate(document: &Value) -> Result<(), Vec<SchemaError>> {
    validate_as_arrays(&jsonld::with_sets_as_arrays(document))
}

/// [`validate`] for a document whose sets are already arrays (capture has made that copy).
pub(crate) fn validate_as_arrays(document: &Value) -> Result<(), Vec<SchemaError>> {
    let errors: Vec<SchemaError> = VALIDATOR
        .iter_errors(document)
        .map(|error| {
            let pointer = error.instance_path().to_string();
            SchemaError {
                event: event_index(&pointer),
                message: error.to_string(),
                pointer,
            }
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// The schema's `format: uri`, as JSON-LD reads an `@id`-typed value or a member name
/// (JSON-LD 1.1 §4.1, IRIs; §4.1.5, compact IRIs; §4.1.3, terms): an absolute IRI
/// (`https://…`, `urn:…`), a compact IRI or blank node identifier (`cbv:Comp-latitude`,
/// `_:document1`), or a term the context maps to one (`id`, `type`). GS1's own examples use
/// all three where the schema says `uri` — the blank node `_:document1` as a document `id`,
/// the keyword aliases `id` and `type` among member names — and validate because GS1's
/// tooling leaves `format` to the JSON-LD processor. What is refused is text that is none
/// of them: empty, or with whitespace, controls or the characters RFC 3987 §2.2 keeps out of
/// IRIs (`<>"{}|\^\``).
pub fn is_iri_or_term(text: &str) -> bool {
    let allowed = |c: char| !c.is_whitespace() && !c.is_control() && !"<>\"{}|\\^`".contains(c);
    let scheme_or_prefix = |name: &str| {
        name.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-._".contains(c))
    };
    let term = |name: &str| {
        name.chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_' || c == '@')
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || "-._@".contains(c))
    };
    !text.is_empty()
        && text.chars().all(allowed)
        && match text.split_once(':') {
            Some((prefix, _)) => scheme_or_prefix(prefix),
            None => term(text),
        }
}

/// The event index in `/epcisBody/eventList/<i>/…` or
/// `/epcisBody/queryResults/resultsBody/eventList/<i>/…`.
fn event_index(pointer: &str) -> Option<usize> {
    let rest = pointer
        .strip_prefix("/epcisBody/eventList/")
        .or_else(|| pointer.strip_prefix("/epcisBody/queryResults/resultsBody/eventList/"))?;
    rest.split('/').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn document(events: Value) -> Value {
        json!({
            "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": "2025-03-04T10:00:00+08:00",
            "epcisBody": {"eventList": events},
        })
    }

    fn event() -> Value {
        json!({
            "type": "ObjectEvent",
            "eventTime": "2025-03-04T10:00:00+08:00",
            "eventTimeZoneOffset": "+08:00",
            "epcList": ["urn:epc:id:sgtin:4012345.011111.9876"],
            "action": "OBSERVE",
            "bizStep": "shipping",
        })
    }

    #[test]
    fn a_valid_document_passes() {
        assert_eq!(validate(&document(json!([event()]))), Ok(()));
    }

    #[test]
    fn errors_name_the_event_and_the_pointer() {
        let mut bad_time = event();
        bad_time["eventTime"] = json!("2025-03-04 10:00");
        let mut bad_action = event();
        bad_action["action"] = json!("MOVE");
        let mut bad_quantity = event();
        bad_quantity["quantityList"] = json!([{"epcClass": "urn:epc:class:lgtin:4012345.012345.1", "quantity": "12", "uom": "KGM"}]);
        let errors = validate(&document(json!([
            event(),
            bad_time,
            bad_action,
            bad_quantity
        ])))
        .unwrap_err();
        let places: Vec<(Option<usize>, &str)> = errors
            .iter()
            .map(|e| (e.event, e.pointer.as_str()))
            .collect();
        assert!(
            places.contains(&(Some(1), "/epcisBody/eventList/1/eventTime")),
            "{errors:#?}"
        );
        assert!(
            places.contains(&(Some(2), "/epcisBody/eventList/2/action")),
            "{errors:#?}"
        );
        assert!(
            places.contains(&(Some(3), "/epcisBody/eventList/3/quantityList/0/quantity")),
            "{errors:#?}"
        );
        assert!(errors.iter().all(|e| e.event != Some(0)));
        assert!(
            errors[0]
                .to_string()
                .starts_with("event 1: /epcisBody/eventList/1/eventTime: ")
        );
    }

    #[test]
    fn document_level_errors_name_no_event() {
        let mut doc = document(json!([event()]));
        doc.as_object_mut().unwrap().remove("creationDate");
        let errors = validate(&doc).unwrap_err();
        assert!(errors.iter().all(|e| e.event.is_none()), "{errors:#?}");
    }

    #[test]
    fn uris_as_json_ld_reads_them() {
        for good in [
            "https://id.gs1.org/01/04012345111118/21/9876",
            "urn:epc:id:sgtin:4012345.011111.9876",
            "ni:///sha-256;abc?ver=CBV2.0",
            "_:document1",
            "rareearth:gradePercent",
            "id",
            "persistentDisposition",
            "geo:47.506694,11.104301",
        ] {
            assert!(is_iri_or_term(good), "{good}");
        }
        for bad in [
            "",
            "not a uri",
            "https://example.com/a b",
            "<x>",
            "1abc",
            ":x",
            "a\nb",
        ] {
            assert!(!is_iri_or_term(bad), "{bad}");
        }
    }

    #[test]
    fn query_results_are_indexed_too() {
        assert_eq!(
            event_index("/epcisBody/queryResults/resultsBody/eventList/12/epcList/0"),
            Some(12)
        );
        assert_eq!(event_index("/epcisBody"), None);
    }
}
