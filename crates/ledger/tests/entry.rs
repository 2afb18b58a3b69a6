//! The canonical entry encoding: round trips, strictness and openings.

use proptest::prelude::*;
use retrace_ledger::{Entry, EntryError, Opening, Suite, SuiteError, derive_salt, leaf_hash};

const SECRET: [u8; 32] = [42; 32];

fn opening(index: u64, field: &str, value: &str) -> Opening {
    Opening {
        field: field.to_owned(),
        salt: derive_salt(&SECRET, index, field),
        value: value.as_bytes().to_vec(),
    }
}

fn sample_openings() -> Vec<Opening> {
    vec![
        opening(7, "owner", "91150200MA0N0YQ52X"),
        opening(7, "mass_g", "1250000"),
        opening(7, "contract", "HT-2025-0042"),
    ]
}

fn sample() -> Entry {
    Entry::build(
        "ship",
        br#"{"event":"ship","lot":"/01/06912345678906/10/L7"}"#.to_vec(),
        &sample_openings(),
    )
    .unwrap()
}

fn text(entry: &Entry) -> String {
    String::from_utf8(entry.encode()).unwrap()
}

#[test]
fn encodes_the_v1_layout() {
    let entry = sample();
    let text = text(&entry);
    let lines: Vec<&str> = text.split('\n').collect();
    assert_eq!(lines[0], "retrace/entry/v1");
    assert_eq!(lines[1], "suite sha256-ed25519");
    assert_eq!(lines[2], "kind ship");
    assert_eq!(
        lines[3],
        r#"public {"event":"ship","lot":"/01/06912345678906/10/L7"}"#
    );
    let fields: Vec<&str> = lines[4..]
        .iter()
        .map(|l| l.split(' ').nth(1).unwrap())
        .collect();
    assert_eq!(fields, ["contract", "mass_g", "owner"]);
    for line in &lines[4..] {
        let hash = line.rsplit(' ').next().unwrap();
        assert_eq!(hash.len(), 64);
        assert!(hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
    }
    assert!(!text.ends_with('\n'));
    assert!(!text.contains(" \n"));
    assert_eq!(entry.suite(), Suite::Sha256Ed25519);
    assert_eq!(entry.kind(), "ship");
    assert_eq!(entry.commitments().len(), 3);
    assert_eq!(entry.leaf_hash(), leaf_hash(&entry.encode()));
}

#[test]
fn round_trip() {
    let entry = sample();
    let bytes = entry.encode();
    let decoded = Entry::decode(&bytes).unwrap();
    assert_eq!(decoded, entry);
    assert_eq!(decoded.encode(), bytes);

    let bare = Entry::build("opening", b"{}".to_vec(), &[]).unwrap();
    assert_eq!(
        bare.encode(),
        b"retrace/entry/v1\nsuite sha256-ed25519\nkind opening\npublic {}"
    );
    assert_eq!(Entry::decode(&bare.encode()).unwrap(), bare);
}

#[test]
fn commitment_is_the_documented_hash() {
    use sha2::{Digest, Sha256};
    let o = opening(1, "mass_g", "1000");
    let mut h = Sha256::new();
    h.update(b"retrace/commit/v1\0mass_g\0");
    h.update(o.salt);
    h.update(b"1000");
    assert_eq!(o.commit().hash.0, <[u8; 32]>::from(h.finalize()));
    assert_eq!(o.commit().field, "mass_g");
}

#[test]
fn derived_salts_differ_by_secret_index_and_field() {
    let base = derive_salt(&SECRET, 1, "mass_g");
    assert_eq!(base, derive_salt(&SECRET, 1, "mass_g"));
    assert_ne!(base, derive_salt(&[43; 32], 1, "mass_g"));
    assert_ne!(base, derive_salt(&SECRET, 2, "mass_g"));
    assert_ne!(base, derive_salt(&SECRET, 1, "mass_kg"));
}

#[test]
fn openings_verify_and_name_the_failing_field() {
    let entry = sample();
    entry.verify_openings(&sample_openings()).unwrap();
    entry.verify_openings(&sample_openings()[1..2]).unwrap();
    entry.verify_openings(&[]).unwrap();

    let mut wrong_value = sample_openings();
    wrong_value[1].value = b"1250001".to_vec();
    assert_eq!(
        entry.verify_openings(&wrong_value),
        Err(EntryError::OpeningMismatch("mass_g".into()))
    );

    let mut wrong_salt = sample_openings();
    wrong_salt[0].salt = derive_salt(&SECRET, 8, "owner");
    assert_eq!(
        entry.verify_openings(&wrong_salt),
        Err(EntryError::OpeningMismatch("owner".into()))
    );

    assert_eq!(
        entry.verify_openings(&[opening(7, "price", "1")]),
        Err(EntryError::UnknownField("price".into()))
    );
}

#[test]
fn opening_debug_hides_the_value() {
    let debug = format!("{:?}", opening(7, "owner", "91150200MA0N0YQ52X"));
    assert!(debug.contains("owner"));
    assert!(!debug.contains("91150200MA0N0YQ52X"));
}

#[test]
fn build_refuses_bad_arguments() {
    let public = b"{}".to_vec();
    for kind in [
        "",
        "Ship",
        "1ship",
        "ship now",
        "ship\n",
        "船",
        &"a".repeat(65),
    ] {
        assert!(
            matches!(
                Entry::build(kind, public.clone(), &[]),
                Err(EntryError::InvalidKind(_))
            ),
            "{kind:?}"
        );
    }
    for kind in [
        "ship",
        "allocation_issued",
        "quota.adjusted",
        "x-1",
        &"a".repeat(64),
    ] {
        assert!(Entry::build(kind, public.clone(), &[]).is_ok(), "{kind:?}");
    }
    for public in [
        &b""[..],
        b"{}\n",
        b"{\n}",
        b" {}",
        b"{} ",
        b"{\"a\":\"\t\"}",
        b"{}\r",
        b"\xff",
    ] {
        assert_eq!(
            Entry::build("ship", public.to_vec(), &[]),
            Err(EntryError::InvalidPublic),
            "{public:?}"
        );
    }
    for field in ["", "Mass", "mass-g", "mass.g", "9mass", "mass g"] {
        assert!(
            matches!(
                Entry::build("ship", public.clone(), &[opening(0, field, "1")]),
                Err(EntryError::InvalidField(_))
            ),
            "{field:?}"
        );
    }
    assert_eq!(
        Entry::build(
            "ship",
            public,
            &[opening(0, "mass_g", "1"), opening(0, "mass_g", "2")]
        ),
        Err(EntryError::DuplicateField("mass_g".into()))
    );
}

#[test]
fn decode_refuses_non_canonical_inputs() {
    let good = text(&sample());
    let lines: Vec<&str> = good.split('\n').collect();
    let swap = |i: usize, j: usize| {
        let mut l = lines.clone();
        l.swap(i, j);
        l.join("\n")
    };
    let duplicate = {
        let mut l = lines.clone();
        l.insert(5, lines[5]);
        l.join("\n")
    };
    let uppercase_hex = {
        let line = lines[4];
        let (head, hash) = line.rsplit_once(' ').unwrap();
        good.replacen(line, &format!("{head} {}", hash.to_uppercase()), 1)
    };
    let cases: Vec<(String, &str)> = vec![
        (swap(4, 5), "unsorted commits"),
        (duplicate, "duplicate field"),
        (format!("{good}\n"), "trailing newline"),
        (format!("{good} "), "trailing space"),
        (uppercase_hex, "uppercase hex"),
        (
            good.replacen("sha256-ed25519", "sha512-ed448", 1),
            "unknown suite",
        ),
        (
            good.replacen("retrace/entry/v1", "retrace/entry/v2", 1),
            "unknown version",
        ),
        (good.replacen("kind ship", "kind  ship", 1), "double space"),
        (good.replacen("kind ship", "kind Ship", 1), "uppercase kind"),
        (swap(2, 3), "lines out of order"),
        (good.replacen("\n", "\r\n", 1), "CRLF"),
        (good.replacen("\ncommit ", "\n\ncommit ", 1), "blank line"),
        (
            good.replacen("commit contract", "commit  contract", 1),
            "double space in commit",
        ),
        (format!("{good}\ncommit zz"), "commit without hash"),
        (good[..good.len() - 1].to_owned(), "short hash"),
        (lines[..3].join("\n"), "no public line"),
        (String::new(), "empty"),
        (format!("\n{good}"), "leading newline"),
    ];
    for (bytes, why) in cases {
        assert!(Entry::decode(bytes.as_bytes()).is_err(), "{why}: {bytes:?}");
    }
    assert_eq!(Entry::decode(b"\xff"), Err(EntryError::NotUtf8));
    assert_eq!(
        Entry::decode(good.replacen("sha256-ed25519", "sm3-sm2", 1).as_bytes()),
        Err(EntryError::Suite(SuiteError::UnsupportedSuite {
            name: "sm3-sm2".into()
        }))
    );
    assert!(matches!(
        Entry::decode(swap(4, 5).as_bytes()),
        Err(EntryError::UnsortedFields(_))
    ));
}

proptest! {
    /// Any accepted input re-encodes to itself, and a build always decodes to itself.
    #[test]
    fn decode_is_exact(
        kind in "[a-z][a-z0-9_.-]{0,20}",
        public in "[ -~]{0,60}",
        fields in proptest::collection::btree_map("[a-z][a-z0-9_]{0,12}", proptest::collection::vec(any::<u8>(), 0..40), 0..6),
        index: u64,
        mutation: (usize, u8),
    ) {
        let public = format!("{{{public}}}");
        let openings: Vec<Opening> = fields
            .iter()
            .map(|(field, value)| Opening {
                field: field.clone(),
                salt: derive_salt(&SECRET, index, field),
                value: value.clone(),
            })
            .collect();
        let entry = Entry::build(&kind, public.into_bytes(), &openings).unwrap();
        let bytes = entry.encode();
        prop_assert_eq!(Entry::decode(&bytes).unwrap(), entry.clone());
        entry.verify_openings(&openings).unwrap();

        let mut mutated = bytes.clone();
        let at = mutation.0 % mutated.len();
        mutated[at] = mutation.1;
        if let Ok(decoded) = Entry::decode(&mutated) {
            prop_assert_eq!(decoded.encode(), mutated);
        }
    }
}
