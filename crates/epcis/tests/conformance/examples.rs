//! GS1's EPCIS 2.0 example documents: every one yields one hash ID per event, without error,
//! and documents that carry the same events carry the same hash IDs.

use crate::common::{examples, read_json, read_lines, test_file};
use retrace_epcis::{document_hash_ids, event_list};

fn hash_ids(name: &str) -> Vec<String> {
    document_hash_ids(&read_json(&test_file("examples", name))).unwrap()
}

#[test]
fn every_example_has_one_hash_id_per_event() {
    let examples = examples();
    assert_eq!(examples.len(), 20);
    for (name, doc) in &examples {
        let ids = document_hash_ids(doc).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(ids.len(), event_list(doc).unwrap().len(), "{name}");
        for id in &ids {
            let hex = id
                .strip_prefix("ni:///sha-256;")
                .and_then(|rest| rest.strip_suffix("?ver=CBV2.0"))
                .unwrap_or_else(|| panic!("{name}: {id}"));
            assert!(hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
        }
    }
}

/// Example 9.6.1 is the reference vector `epcisQueryDocument` as an `EPCISDocument`; the
/// comment and the pseudo-SBDH header variants add nothing to the events.
#[test]
fn example_9_6_1_variants_share_the_vector_hash_ids() {
    let expected = read_lines(&test_file("vectors", "epcisQueryDocument.hashes")).unwrap();
    for name in [
        "Example_9.6.1-ObjectEvent.jsonld",
        "Example_9.6.1-with-comment.jsonld",
        "Example_9.6.1-ObjectEvent-with-pseudo-SBDH-headers.jsonld",
    ] {
        assert_eq!(hash_ids(name), expected, "{name}");
    }
}

/// The Digital Link variant of example 9.6.4 writes the same identifiers as GS1 Digital Link
/// URIs where the original writes EPC class and pattern URIs.
#[test]
fn urns_and_digital_links_of_the_same_event_share_a_hash_id() {
    assert_eq!(
        hash_ids("Example_9.6.4-TransformationEvent.jsonld"),
        hash_ids("WithDigitalLinkID__Example_9.6.4-TransformationEventWithDigitalLink.jsonld"),
    );
    // 9.6.2's Digital Link variant names another GTIN (7061414112345 vs 4012345012345): the
    // hash tells them apart.
    assert_ne!(
        hash_ids("Example_9.6.2-ObjectEvent.jsonld"),
        hash_ids("WithDigitalLinkID__Example_9.6.2-ObjectEventWithDigitalLink.jsonld"),
    );
}

/// The GS1 example that breaks the schema it ships with: its ObjectEvent has `action`
/// `OBSERVE` and an `ilmd`, which the schema's ObjectEvent forbids (ILMD only with `ADD`, as
/// EPCIS 2.0 §7.4.2 says). `every_example_validates_and_maps_to_general_events` pins it.
const SCHEMA_INVALID_EXAMPLE: &str =
    "WithFullCombinationOfFields__object_event_all_possible_fields.jsonld";

/// Every GS1 example but one is a valid EPCIS 2.0 document, and every event in them is a
/// general traceability event: none carries the `rareearth` extension.
#[test]
fn every_example_validates_and_maps_to_general_events() {
    let ledger = std::collections::BTreeMap::new();
    for (name, doc) in examples() {
        let validated = retrace_epcis::schema::validate(&doc);
        if name == SCHEMA_INVALID_EXAMPLE {
            let errors = validated.unwrap_err();
            assert_eq!(errors.len(), 1, "{errors:#?}");
            assert_eq!(errors[0].pointer, "/epcisBody/eventList/0");
            assert_eq!(errors[0].event, Some(0));
            assert!(doc["epcisBody"]["eventList"][0]["ilmd"].is_object());
            assert_eq!(doc["epcisBody"]["eventList"][0]["action"], "OBSERVE");
            let mut fixed = doc.clone();
            fixed["epcisBody"]["eventList"][0]["action"] = "ADD".into();
            assert_eq!(
                retrace_epcis::schema::validate(&fixed),
                Ok(()),
                "{name} with ADD"
            );
        } else {
            assert_eq!(validated, Ok(()), "{name}");
        }
        let context = retrace_epcis::Context::from_document(&doc).unwrap();
        for (index, event) in event_list(&doc).unwrap().iter().enumerate() {
            assert_eq!(
                retrace_epcis::from_epcis(event, &context, &ledger),
                Ok(retrace_epcis::Mapped::General),
                "{name} event {index}"
            );
        }
    }
}

/// Broken copies of the examples fail, each at the value that was broken.
#[test]
fn broken_examples_do_not_validate() {
    let doc = read_json(&test_file("examples", "Example_9.6.1-ObjectEvent.jsonld"));
    type Breakage = fn(&mut serde_json::Value);
    let breakages: [(&str, Breakage); 6] = [
        ("/epcisBody/eventList/0/action", |d| {
            d["epcisBody"]["eventList"][0]["action"] = "MOVE".into()
        }),
        ("/epcisBody/eventList/1/eventTime", |d| {
            d["epcisBody"]["eventList"][1]["eventTime"] = "yesterday".into()
        }),
        ("/epcisBody/eventList/0/eventTimeZoneOffset", |d| {
            d["epcisBody"]["eventList"][0]["eventTimeZoneOffset"] = "+8".into()
        }),
        ("/epcisBody/eventList/1/epcList/0", |d| {
            d["epcisBody"]["eventList"][1]["epcList"][0] = "not a uri".into()
        }),
        ("", |d| {
            d.as_object_mut().unwrap().remove("schemaVersion");
        }),
        ("/epcisBody/eventList/0", |d| {
            d["epcisBody"]["eventList"][0]
                .as_object_mut()
                .unwrap()
                .remove("eventTime");
        }),
    ];
    for (pointer, breakage) in breakages {
        let mut broken = doc.clone();
        breakage(&mut broken);
        let errors = retrace_epcis::schema::validate(&broken).unwrap_err();
        assert!(
            errors.iter().any(|e| e.pointer == pointer),
            "{pointer}: {errors:#?}"
        );
    }
}

/// Every GS1 example that the schema accepts is captured whole: one general event per
/// event, each with the hash ID the document has, and the kept event hashes the same on its
/// own.
#[test]
fn every_valid_example_is_captured_with_stable_hash_ids() {
    let ledger = std::collections::BTreeMap::new();
    for (name, doc) in examples() {
        if name == SCHEMA_INVALID_EXAMPLE {
            continue;
        }
        let captured = retrace_epcis::capture::capture(&doc, &ledger)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let ids = document_hash_ids(&doc).unwrap();
        assert_eq!(captured.len(), ids.len(), "{name}");
        for (event, id) in captured.iter().zip(&ids) {
            assert_eq!(
                event.outcome,
                retrace_epcis::capture::Outcome::General,
                "{name}"
            );
            assert_eq!(event.hash_id.as_ref(), Some(id), "{name}");
            assert_eq!(
                &retrace_epcis::event_hash_id(&event.event, &retrace_epcis::Context::epcis())
                    .unwrap(),
                id,
                "{name} event {}: kept on its own",
                event.index
            );
        }
    }
}
