//! Receipts in the C2SP tlog-proof format: round trip, offline verification, and refusal of any
//! single changed byte.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use retrace_ledger::{
    Checkpoint, Entry, LogKey, LogVerifier, MemoryTree, Opening, Receipt, ReceiptError,
    derive_salt, inclusion_proof, leaf_hash,
};

const ORIGIN: &str = "retrace.example/log";

fn key() -> LogKey {
    LogKey::from_seed(ORIGIN, &[3; 32]).unwrap()
}

fn entry(i: u64) -> Entry {
    let openings = [
        Opening {
            field: "mass_g".into(),
            salt: derive_salt(&[9; 32], i, "mass_g"),
            value: format!("{}", 1000 + i).into_bytes(),
        },
        Opening {
            field: "owner".into(),
            salt: derive_salt(&[9; 32], i, "owner"),
            value: b"91150200MA0N0YQ52X".to_vec(),
        },
    ];
    Entry::build(
        "extract",
        format!(r#"{{"event":{i},"mine":"150206"}}"#).into_bytes(),
        &openings,
    )
    .unwrap()
}

/// The receipt of entry `index` in a log of `size` entries.
fn receipt(index: u64, size: u64) -> Receipt {
    let leaves: Vec<_> = (0..size).map(|i| entry(i).leaf_hash()).collect();
    let tree = MemoryTree::from_leaves(&leaves);
    let checkpoint = Checkpoint::new(ORIGIN, size, tree.root())
        .unwrap()
        .sign(&key());
    Receipt {
        entry: entry(index).encode(),
        index,
        proof: inclusion_proof(index, size, &tree).unwrap(),
        checkpoint,
    }
}

/// Whether `bytes` is refused by parsing or by verification.
fn refused(bytes: &[u8], verifier: &LogVerifier) -> bool {
    Receipt::parse(bytes)
        .and_then(|r| r.verify(verifier))
        .is_err()
}

const SAMPLES: [(u64, u64); 3] = [(2, 5), (0, 1), (7, 8)];

#[test]
fn round_trip_and_verify() {
    for (index, size) in SAMPLES {
        let receipt = receipt(index, size);
        let bytes = receipt.to_bytes();
        let parsed = Receipt::parse(&bytes).unwrap();
        assert_eq!(parsed, receipt);
        assert_eq!(parsed.to_bytes(), bytes);

        let verified = parsed.verify(&key().verifier()).unwrap();
        assert_eq!(verified.index(), index);
        assert_eq!(verified.entry(), entry(index).encode().as_slice());
        assert_eq!(verified.leaf_hash(), leaf_hash(verified.entry()));
        assert_eq!(verified.checkpoint().size(), size);
        assert_eq!(Entry::decode(verified.entry()).unwrap(), entry(index));
    }
}

#[test]
fn follows_the_tlog_proof_layout() {
    let receipt = receipt(2, 5);
    let text = String::from_utf8(receipt.to_bytes()).unwrap();
    let mut lines = text.split('\n');
    assert_eq!(lines.next(), Some("c2sp.org/tlog-proof@v1"));
    assert_eq!(
        lines.next(),
        Some(format!("extra {}", BASE64.encode(entry(2).encode())).as_str())
    );
    assert_eq!(lines.next(), Some("index 2"));
    for hash in &receipt.proof {
        assert_eq!(lines.next(), Some(BASE64.encode(hash.0).as_str()));
    }
    assert_eq!(lines.next(), Some(""));
    let rest: Vec<&str> = lines.collect();
    assert_eq!(
        rest.join("\n").as_bytes(),
        receipt.checkpoint.as_bytes(),
        "the checkpoint follows verbatim"
    );
}

#[test]
fn another_log_key_fails() {
    let receipt = receipt(2, 5);
    let other = LogKey::from_seed(ORIGIN, &[4; 32]).unwrap();
    assert!(matches!(
        receipt.verify(&other.verifier()),
        Err(ReceiptError::Checkpoint(_))
    ));
}

#[test]
fn every_changed_byte_fails() {
    let verifier = key().verifier();
    for (index, size) in SAMPLES {
        let bytes = receipt(index, size).to_bytes();
        let mut trials = 0;
        for at in 0..bytes.len() {
            for value in 0..=255u8 {
                if value == bytes[at] {
                    continue;
                }
                let mut changed = bytes.clone();
                changed[at] = value;
                assert!(
                    refused(&changed, &verifier),
                    "byte {at} changed from {:#04x} to {value:#04x} was accepted",
                    bytes[at]
                );
                trials += 1;
            }
        }
        assert_eq!(trials, bytes.len() * 255);
    }
}

#[test]
fn every_changed_base64_character_fails() {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
    let verifier = key().verifier();
    for (index, size) in SAMPLES {
        let bytes = receipt(index, size).to_bytes();
        for (at, &original) in bytes.iter().enumerate() {
            if !ALPHABET.contains(&original) {
                continue;
            }
            for &value in ALPHABET.iter().filter(|&&c| c != original) {
                let mut changed = bytes.clone();
                changed[at] = value;
                assert!(
                    refused(&changed, &verifier),
                    "char {at} {original} -> {value}"
                );
            }
        }
    }
}

/// A receipt whose entry has one commitment digit changed (and is otherwise intact) fails: the
/// leaf hash changes, so the inclusion proof no longer leads to the signed root.
#[test]
fn every_changed_hex_digit_of_the_entry_fails() {
    let receipt = receipt(2, 5);
    let verifier = key().verifier();
    let text = String::from_utf8(receipt.entry.clone()).unwrap();
    // Byte ranges of the 64-digit hashes at the end of the commit lines.
    let mut hash_ranges = Vec::new();
    let mut offset = 0;
    for line in text.split('\n') {
        if line.starts_with("commit ") {
            hash_ranges.push(offset + line.len() - 64..offset + line.len());
        }
        offset += line.len() + 1;
    }
    assert_eq!(hash_ranges.len(), 2);
    for at in hash_ranges.into_iter().flatten() {
        for &digit in b"0123456789abcdef"
            .iter()
            .filter(|&&d| d != receipt.entry[at])
        {
            let mut changed = receipt.clone();
            changed.entry[at] = digit;
            assert!(Entry::decode(&changed.entry).is_ok());
            let parsed = Receipt::parse(&changed.to_bytes()).unwrap();
            assert!(matches!(
                parsed.verify(&verifier),
                Err(ReceiptError::Inclusion(_))
            ));
        }
    }
}

#[test]
fn malformed_receipts_are_refused() {
    let good = String::from_utf8(receipt(2, 5).to_bytes()).unwrap();
    let extra_line = good.lines().nth(1).unwrap().to_owned();
    let first_hash = good.lines().nth(3).unwrap().to_owned();
    let cases = [
        (
            good.replacen(&format!("{extra_line}\n"), "", 1),
            "no extra line",
        ),
        (good.replacen("index 2", "index 02", 1), "leading zero"),
        (good.replacen("index 2", "index +2", 1), "sign"),
        (good.replacen("index 2", "index  2", 1), "double space"),
        (
            good.replacen("index 2", "index 18446744073709551616", 1),
            "overflow",
        ),
        (
            good.replacen(&first_hash, first_hash.trim_end_matches('='), 1),
            "unpadded hash",
        ),
        (
            good.replacen(&first_hash, &BASE64.encode([0u8; 31]), 1),
            "short hash",
        ),
        (
            good.replacen("\n\nretrace", "\nretrace", 1),
            "no blank line",
        ),
        (
            good.replacen("c2sp.org/tlog-proof@v1", "c2sp.org/tlog-proof@v2", 1),
            "header",
        ),
        (format!("{good}\n"), "trailing newline"),
        (good.replacen('\n', "\r\n", 1), "CRLF"),
        (String::new(), "empty"),
    ];
    for (bytes, why) in cases {
        assert!(Receipt::parse(bytes.as_bytes()).is_err(), "{why}");
    }

    let mut long = receipt(2, 5);
    long.proof = vec![leaf_hash(b""); 65];
    assert_eq!(
        Receipt::parse(&long.to_bytes()),
        Err(ReceiptError::Malformed("inclusion proof too long"))
    );
}
