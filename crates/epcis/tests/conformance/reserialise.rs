//! The hash ID is a property of the event, not of its JSON text: re-serialising a document
//! with its object members in another order, its unordered lists shuffled and other
//! whitespace leaves every hash ID as it was.

use proptest::prelude::*;
use proptest::test_runner::TestRng;
use serde_json::Value;

use crate::common::{VECTORS, examples, read_json, test_file};
use retrace_epcis::document_hash_ids;

/// Every document the crate ships: the 22 vectors and the 20 GS1 examples.
fn documents() -> Vec<(String, Value)> {
    let mut documents: Vec<(String, Value)> = VECTORS
        .iter()
        .map(|name| {
            let doc = read_json(&test_file("vectors", &format!("{name}.jsonld")));
            ((*name).to_owned(), doc)
        })
        .collect();
    documents.extend(examples());
    documents
}

/// How `write` treats arrays.
#[derive(Clone, Copy, PartialEq)]
enum Arrays {
    Shuffle,
    /// This array keeps its order, the arrays inside it are shuffled (the event list: its order
    /// is the order of the hash IDs).
    KeepThisOne,
    /// `@context`: a later definition wins, so order is meaning throughout.
    Keep,
}

/// JSON text of `value` with members in a random order, arrays shuffled where order carries no
/// meaning, and random whitespace between tokens.
fn write(value: &Value, rng: &mut TestRng, arrays: Arrays, out: &mut String) {
    let space = |rng: &mut TestRng, out: &mut String| {
        for _ in 0..rng.random_range(0..3) {
            out.push([' ', '\n', '\t', '\r'][rng.random_range(0..4)]);
        }
    };
    space(rng, out);
    match value {
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            shuffle(&mut members, rng);
            out.push('{');
            for (i, (name, value)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                space(rng, out);
                out.push_str(&serde_json::to_string(name).unwrap());
                space(rng, out);
                out.push(':');
                let arrays = match (arrays, name.as_str()) {
                    (Arrays::Keep, _) | (_, "@context") => Arrays::Keep,
                    (_, "eventList") => Arrays::KeepThisOne,
                    _ => Arrays::Shuffle,
                };
                write(value, rng, arrays, out);
            }
            space(rng, out);
            out.push('}');
        }
        Value::Array(items) => {
            let mut items: Vec<&Value> = items.iter().collect();
            if arrays == Arrays::Shuffle {
                shuffle(&mut items, rng);
            }
            let inside = if arrays == Arrays::Keep {
                Arrays::Keep
            } else {
                Arrays::Shuffle
            };
            out.push('[');
            for (i, item) in items.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, rng, inside, out);
            }
            space(rng, out);
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
    space(rng, out);
}

fn shuffle<T>(items: &mut [T], rng: &mut TestRng) {
    for i in (1..items.len()).rev() {
        items.swap(i, rng.random_range(0..=i));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn hash_ids_survive_reserialisation(seed in any::<[u8; 32]>()) {
        let mut rng = TestRng::from_seed(proptest::test_runner::RngAlgorithm::ChaCha, &seed);
        for (name, doc) in documents() {
            let mut text = String::new();
            write(&doc, &mut rng, Arrays::Shuffle, &mut text);
            let reread: Value = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(document_hash_ids(&reread).unwrap(), document_hash_ids(&doc).unwrap(), "{}", name);
        }
    }
}
