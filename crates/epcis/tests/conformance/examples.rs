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
