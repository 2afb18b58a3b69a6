//! A captured `EPCISDocument` split into per-event results, as a capture job reports them
//! (EPCIS 2.0 §8.2.2 capture interface and the REST binding's capture jobs: every rejected
//! event with its reason).
//!
//! The document is read as JSON-LD writes it ([`jsonld::with_sets_as_arrays`]), validated
//! against the EPCIS 2.0 JSON schema, and each event is hashed (CBV 2.0 §8.9) and mapped
//! ([`from_epcis`]). What the repository then does — roll back on the first rejection
//! (`GS1-Capture-Error-Behaviour: rollback`, the default) or record the rest (`proceed`) —
//! is the caller's choice; this reports everything either needs.

use retrace_domain::record::Record;
use serde_json::Value;

use crate::mapping::{Entries, Mapped, from_epcis};
use crate::schema::{self, SchemaError};
use crate::{Context, HashError, event_hash_id, event_list, jsonld};

/// One event of a captured document.
#[derive(Debug, Clone, PartialEq)]
pub struct CapturedEvent {
    /// Its position in the document's event list, from 0.
    pub index: usize,
    /// Its CBV 2.0 Event Hash ID, unless it cannot be hashed.
    pub hash_id: Option<String>,
    /// The event as the repository keeps it: sets of one as arrays, and the term definitions
    /// of the document's `@context` carried in its own `@context`, so that it reads the same
    /// in any document it is later sent in.
    pub event: Value,
    /// What it is to retrace.
    pub outcome: Outcome,
}

/// What a captured event is to retrace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It carries the `rareearth` extension: a flow, with all its rules and quota effects.
    Flow(Box<Record>),
    /// A general traceability event: kept and queryable, no rare earth effect.
    General,
    /// Refused, with every reason found.
    Rejected(Vec<Rejection>),
}

/// Why an event is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pointer}: {reason}")]
pub struct Rejection {
    /// JSON pointer of the offending value within the event (empty for the event itself).
    pub pointer: String,
    /// What is wrong and what to write instead.
    pub reason: String,
}

/// Why a document as a whole cannot be captured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaptureError {
    /// Not an `EPCISDocument`: the capture interface takes those only.
    #[error("capture takes an EPCISDocument; this document's type is {0:?}")]
    NotACaptureDocument(String),
    /// The document breaks the schema outside its events (header, context, body).
    #[error("the document breaks the EPCIS 2.0 schema: {}", list(.0))]
    Document(Vec<SchemaError>),
    /// The document's `@context` cannot be read.
    #[error("{0}")]
    Context(#[from] HashError),
}

fn list(errors: &[SchemaError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Every event of a captured `EPCISDocument`, in document order, each with its hash ID and
/// outcome. `entries` resolves the events that error declarations declare wrong (see
/// [`from_epcis`]).
///
/// # Errors
///
/// A [`CaptureError`] when the document itself cannot be taken; problems of single events
/// are [`Outcome::Rejected`].
pub fn capture(
    document: &Value,
    entries: &dyn Entries,
) -> Result<Vec<CapturedEvent>, CaptureError> {
    let kind = document.get("type").and_then(Value::as_str).unwrap_or("");
    if kind != "EPCISDocument" {
        return Err(CaptureError::NotACaptureDocument(kind.to_owned()));
    }
    let document = jsonld::with_sets_as_arrays(document);
    let mut by_event: Vec<Vec<Rejection>> = Vec::new();
    let mut whole = Vec::new();
    if let Err(errors) = schema::validate_as_arrays(&document) {
        for error in errors {
            match error.event {
                Some(index) => {
                    if by_event.len() <= index {
                        by_event.resize_with(index + 1, Vec::new);
                    }
                    let prefix = format!("/epcisBody/eventList/{index}");
                    by_event[index].push(Rejection {
                        pointer: error
                            .pointer
                            .strip_prefix(&prefix)
                            .unwrap_or(&error.pointer)
                            .to_owned(),
                        reason: error.message,
                    });
                }
                None => whole.push(error),
            }
        }
    }
    if !whole.is_empty() {
        return Err(CaptureError::Document(whole));
    }
    let context = Context::from_document(&document)?;
    let definitions = inline_definitions(&document);
    let events = event_list(&document)?;
    Ok(events
        .iter()
        .enumerate()
        .map(|(index, event)| {
            let hash = event_hash_id(event, &context);
            let schema_rejections = by_event
                .get_mut(index)
                .map(std::mem::take)
                .unwrap_or_default();
            let outcome = if !schema_rejections.is_empty() {
                Outcome::Rejected(schema_rejections)
            } else {
                match (&hash, from_epcis(event, &context, entries)) {
                    (Err(error), _) => Outcome::Rejected(vec![Rejection {
                        pointer: String::new(),
                        reason: error.to_string(),
                    }]),
                    (Ok(_), Ok(Mapped::Record(record))) => Outcome::Flow(record),
                    (Ok(_), Ok(Mapped::General)) => Outcome::General,
                    (Ok(_), Err(error)) => Outcome::Rejected(vec![Rejection {
                        pointer: error.pointer,
                        reason: error.reason,
                    }]),
                }
            };
            CapturedEvent {
                index,
                hash_id: hash.ok(),
                event: self_contained(event, &definitions),
                outcome,
            }
        })
        .collect())
}

/// The term definitions (objects) of the document's `@context`, in order.
fn inline_definitions(document: &Value) -> Vec<Value> {
    match document.get("@context") {
        Some(Value::Array(contexts)) => {
            contexts.iter().filter(|c| c.is_object()).cloned().collect()
        }
        Some(object @ Value::Object(_)) => vec![object.clone()],
        _ => Vec::new(),
    }
}

/// The event with the document's term definitions before its own `@context`.
fn self_contained(event: &Value, definitions: &[Value]) -> Value {
    let mut event = event.clone();
    if definitions.is_empty() {
        return event;
    }
    if let Value::Object(fields) = &mut event {
        let mut context = definitions.to_vec();
        match fields.remove("@context") {
            Some(Value::Array(own)) => context.extend(own),
            Some(own) => context.push(own),
            None => {}
        }
        fields.insert("@context".to_owned(), Value::Array(context));
    }
    event
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::extension::{NAMESPACE, PREFIX};

    fn document(events: Value) -> Value {
        json!({
            "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
                         {"example": "https://ns.example.com/epcis/", PREFIX: NAMESPACE}],
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": "2025-03-04T10:00:00+08:00",
            "epcisBody": {"eventList": events},
        })
    }

    fn general() -> Value {
        json!({
            "type": "ObjectEvent",
            "eventTime": "2025-03-04T10:00:00+08:00",
            "eventTimeZoneOffset": "+08:00",
            "epcList": ["urn:epc:id:sgtin:4012345.011111.9876"],
            "action": "OBSERVE",
            "example:note": "kept",
        })
    }

    #[test]
    fn every_event_gets_its_outcome() {
        let mut bad_schema = general();
        bad_schema["action"] = json!("MOVE");
        let mut bad_flow = general();
        bad_flow["rareearth:flow"] = json!("ship");
        let doc = document(json!([general(), bad_schema, bad_flow]));
        let captured = capture(&doc, &BTreeMap::new()).unwrap();
        assert_eq!(captured.len(), 3);
        assert_eq!(captured[0].outcome, Outcome::General);
        assert_eq!(
            captured[0].hash_id.as_deref(),
            Some(crate::document_hash_ids(&doc).unwrap()[0].as_str())
        );
        let Outcome::Rejected(reasons) = &captured[1].outcome else {
            panic!("{:?}", captured[1].outcome)
        };
        assert_eq!(reasons[0].pointer, "/action");
        let Outcome::Rejected(reasons) = &captured[2].outcome else {
            panic!("{:?}", captured[2].outcome)
        };
        assert_eq!(reasons[0].pointer, "/quantityList");
        assert_eq!(captured[2].index, 2);
    }

    #[test]
    fn kept_events_carry_the_document_prefixes() {
        let doc = document(json!([general()]));
        let captured = capture(&doc, &BTreeMap::new()).unwrap();
        let kept = &captured[0].event;
        assert_eq!(
            kept["@context"][0]["example"],
            "https://ns.example.com/epcis/"
        );
        assert_eq!(
            event_hash_id(kept, &Context::epcis()).unwrap(),
            captured[0].hash_id.clone().unwrap(),
            "the kept event hashes the same on its own"
        );
    }

    #[test]
    fn documents_that_cannot_be_taken() {
        let mut doc = document(json!([general()]));
        doc["type"] = json!("EPCISQueryDocument");
        assert!(matches!(
            capture(&doc, &BTreeMap::new()),
            Err(CaptureError::NotACaptureDocument(_))
        ));
        let mut doc = document(json!([general()]));
        doc.as_object_mut().unwrap().remove("creationDate");
        assert!(matches!(
            capture(&doc, &BTreeMap::new()),
            Err(CaptureError::Document(_))
        ));
    }
}
