//! JSON-LD sets in EPCIS documents (EPCIS 2.0 §10.2, JSON-LD 1.1 §4.3.2 and §9.
//! compaction).
//!
//! The EPCIS 2.0 context declares the lists of an event — `epcList`, `quantityList`,
//! `sourceList`, `bizTransactionList`, … — as `"@container": "@set"`, and a JSON-LD
//! processor reads a set of one written without brackets (`"sourceList": {…}`) the same as
//! the one-element array. The EPCIS JSON schema accepts only the array, so a document is
//! brought to that form before it is validated and read: GS1's own examples write sets of
//! one both ways. The terms are read from the GS1 context file itself (`context/`), so a new
//! release is a file replaced.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use serde_json::Value;

static SETS: LazyLock<BTreeSet<String>> = LazyLock::new(|| {
    let context: Value = serde_json::from_str(include_str!("../context/epcis-context-root.jsonld"))
        .unwrap_or_else(|e| panic!("the embedded EPCIS context is not JSON: {e}"));
    let mut sets = BTreeSet::new();
    collect_sets(&context["@context"], &mut sets);
    for term in SCHEMA_OBJECTS {
        sets.remove(term);
    }
    sets
});

/// Sets of the context that the JSON schema types as an object, not an array: left alone.
const SCHEMA_OBJECTS: [&str; 1] = ["persistentDisposition"];

/// Terms declared `@set` in a context object and in the contexts scoped to its terms.
fn collect_sets(context: &Value, sets: &mut BTreeSet<String>) {
    let Some(definitions) = context.as_object() else {
        if let Some(contexts) = context.as_array() {
            contexts.iter().for_each(|c| collect_sets(c, sets));
        }
        return;
    };
    for (term, definition) in definitions {
        if definition.get("@container").and_then(Value::as_str) == Some("@set") {
            sets.insert(term.clone());
        }
        if let Some(scoped) = definition.get("@context") {
            collect_sets(scoped, sets);
        }
    }
}

/// The document with every set of one written as an array, in its events (at any depth)
/// and nowhere else: the `@context` and header are left as they are.
pub fn with_sets_as_arrays(document: &Value) -> Value {
    let mut document = document.clone();
    for list in [
        "/epcisBody/eventList",
        "/epcisBody/queryResults/resultsBody/eventList",
    ] {
        if let Some(Value::Array(events)) = document.pointer_mut(list) {
            events.iter_mut().for_each(sets_as_arrays);
        }
    }
    document
}

/// One event (or any value inside it) with its sets of one written as arrays.
pub fn sets_as_arrays(value: &mut Value) {
    match value {
        Value::Object(members) => {
            for (name, member) in members.iter_mut() {
                if name == "@context" {
                    continue;
                }
                if SETS.contains(name) && !member.is_array() && !member.is_null() {
                    *member = Value::Array(vec![member.take()]);
                }
                sets_as_arrays(member);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(sets_as_arrays),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_context_declares_the_event_lists_as_sets() {
        for term in [
            "epcList",
            "quantityList",
            "sourceList",
            "destinationList",
            "bizTransactionList",
            "childEPCs",
            "inputEPCList",
            "outputQuantityList",
            "sensorElementList",
            "set",
        ] {
            assert!(SETS.contains(term), "{term}");
        }
        assert!(!SETS.contains("eventTime"));
        assert!(!SETS.contains("readPoint"));
        assert!(!SETS.contains("persistentDisposition"));
    }

    #[test]
    fn sets_of_one_become_arrays_in_events_only() {
        let doc = json!({
            "@context": [{"epcList": {"@container": "@set"}}],
            "epcisBody": {"eventList": [{
                "sourceList": {"type": "location", "source": "urn:epc:id:sgln:952005385.481.0"},
                "epcList": ["urn:epc:id:sgtin:4012345.011111.9876"],
                "readPoint": {"id": "urn:epc:id:sgln:4012345.00005.0"},
            }]},
        });
        let normal = with_sets_as_arrays(&doc);
        let event = &normal["epcisBody"]["eventList"][0];
        assert!(event["sourceList"].is_array());
        assert_eq!(event["sourceList"][0]["type"], "location");
        assert_eq!(
            event["epcList"],
            doc["epcisBody"]["eventList"][0]["epcList"]
        );
        assert!(event["readPoint"].is_object());
        assert_eq!(normal["@context"], doc["@context"]);
    }
}
