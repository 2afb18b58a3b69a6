//! An independent EPCIS 2.0 client and retrace: epcis2.js 2.7.3 (`interop/`, pinned by its
//! lockfile) builds rare earth events; retrace captures them as flows and writes the same
//! flows back as events with the same hash IDs.
//!
//! epcis2.js's own hash IDs agree with retrace's except where an event has both a
//! `sourceList` and a `destinationList`: epcis2.js writes `sourceList` first, the reference
//! implementation of CBV 2.0 §8.9 (whose vectors retrace matches, e.g.
//! `ReferenceEventHashAlgorithm3`) writes `destinationList` first. The test pins that this
//! order is the only difference.
//!
//! Runs when `node` is on the PATH and `npm ci` has been run in `interop/` (nothing is
//! fetched by the build or the test); otherwise it says it is skipped and passes.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use retrace_epcis::capture::{Outcome, capture};
use retrace_epcis::{extension, prehash, to_epcis};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The hash ID of a pre-hash string with its `sourceList` piece moved before its
/// `destinationList` piece, as epcis2.js orders them.
fn in_epcis2_js_order(prehash: &str) -> String {
    let destination = prehash.find("destinationList").unwrap();
    let source = prehash.find("sourceList").unwrap();
    let after = prehash[source..]
        .find("{")
        .map_or(prehash.len(), |at| source + at);
    let reordered = format!(
        "{}{}{}{}",
        &prehash[..destination],
        &prehash[source..after],
        &prehash[destination..source],
        &prehash[after..]
    );
    format!(
        "ni:///sha-256;{}?ver=CBV2.0",
        hex::encode(Sha256::digest(reordered.as_bytes()))
    )
}

#[test]
fn epcis2_js_events_capture_with_identical_hash_ids() {
    let interop = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop");
    if !interop.join("node_modules/epcis2.js").is_dir() {
        eprintln!(
            "skipped: epcis2.js is not installed; run `npm ci` in {}",
            interop.display()
        );
        return;
    }
    let output = match Command::new("node")
        .arg("rare-earth-events.js")
        .current_dir(&interop)
        .output()
    {
        Ok(output) => output,
        Err(e) => {
            eprintln!("skipped: node cannot be run ({e})");
            return;
        }
    };
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let generated: Value = serde_json::from_slice(&output.stdout).unwrap();
    let hashes: Vec<&str> = generated["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    assert_eq!(hashes.len(), 2);
    let ledger = BTreeMap::new();
    let captured = capture(&generated["document"], &ledger).unwrap();
    for (event, hash) in captured.iter().zip(&hashes) {
        let Outcome::Flow(record) = &event.outcome else {
            panic!("event {} is {:?}", event.index, event.outcome)
        };
        let ours = event.hash_id.clone().unwrap();
        let written = to_epcis(record, &ledger).unwrap();
        assert_eq!(
            written["eventID"], ours,
            "event {} written back",
            event.index
        );
        let both_lists =
            event.event.get("sourceList").is_some() && event.event.get("destinationList").is_some();
        if both_lists {
            let prehash = prehash(&event.event, &extension::context()).unwrap();
            assert_ne!(ours, *hash);
            assert_eq!(in_epcis2_js_order(&prehash), *hash, "event {}", event.index);
        } else {
            assert_eq!(ours, *hash, "event {}", event.index);
        }
    }
}
