//! Signed checkpoints: round trips, interoperability with the `signed_note` and `tlog_tiles`
//! crates, and refusal of wrong keys, changed bodies, malleable signatures and non-canonical
//! notes.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use curve25519_dalek::Scalar;
use ed25519_dalek::SigningKey;
use retrace_ledger::{
    Checkpoint, CheckpointError, LogKey, LogVerifier, SignedCheckpoint, leaf_hash,
};
use sha2::{Digest, Sha512};
use signed_note::{Note, StandardSigner, StandardVerifier, VerifierList};

const ORIGIN: &str = "retrace.example/log";
const SEED: [u8; 32] = [7; 32];

fn key() -> LogKey {
    LogKey::from_seed(ORIGIN, &SEED).unwrap()
}

fn checkpoint() -> Checkpoint {
    Checkpoint::new(ORIGIN, 12, leaf_hash(b"root")).unwrap()
}

/// Replaces the signature bytes of a one-signature note, keeping the text and key id.
fn with_signature(note: &[u8], signature: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(note).unwrap();
    let (body, line) = text.split_once("\n\n").unwrap();
    let (prefix, b64) = line.trim_end().rsplit_once(' ').unwrap();
    let data = BASE64.decode(b64).unwrap();
    let mut new_data = data[..4].to_vec();
    new_data.extend_from_slice(signature);
    format!("{body}\n\n{prefix} {}\n", BASE64.encode(new_data)).into_bytes()
}

fn signature_of(note: &[u8]) -> [u8; 64] {
    let text = std::str::from_utf8(note).unwrap();
    let b64 = text.trim_end().rsplit_once(' ').unwrap().1;
    BASE64.decode(b64).unwrap()[4..].try_into().unwrap()
}

#[test]
fn sign_parse_round_trip() {
    let key = key();
    let cp = checkpoint();
    let signed = cp.sign(&key);
    assert_eq!(signed.checkpoint(), &cp);
    // Ed25519 is deterministic.
    assert_eq!(signed.to_bytes(), cp.sign(&key).to_bytes());

    let text = String::from_utf8(signed.to_bytes()).unwrap();
    let root_b64 = BASE64.encode(cp.root().0);
    assert!(text.starts_with(&format!("{ORIGIN}\n12\n{root_b64}\n\n\u{2014} {ORIGIN} ")));
    assert!(text.ends_with('\n'));

    let verifier = key.verifier();
    assert_eq!(
        SignedCheckpoint::parse_and_verify(&signed.to_bytes(), &verifier).unwrap(),
        cp
    );
    let parsed = SignedCheckpoint::parse(signed.as_bytes()).unwrap();
    assert_eq!(parsed, signed);
    assert_eq!(parsed.verify(&verifier).unwrap(), cp);
}

#[test]
fn interoperates_with_signed_note_and_tlog_tiles() {
    let key = key();
    let signed = checkpoint().sign(&key);

    // signed_note's own signer, given our secret key text, writes the same bytes.
    let signer = StandardSigner::new(&key.to_secret_string()).unwrap();
    let body = tlog_tiles::Checkpoint::new(ORIGIN, 12, tlog_tiles::Hash(checkpoint().root().0), "")
        .unwrap()
        .to_bytes();
    let mut note = Note::new(&body, &[]).unwrap();
    note.add_sigs(&[&signer]).unwrap();
    assert_eq!(note.to_bytes(), signed.to_bytes());

    // signed_note's verifier, given our verifier key text, accepts our note.
    let theirs = StandardVerifier::new(&key.verifier_key()).unwrap();
    Note::from_bytes(signed.as_bytes())
        .unwrap()
        .verify(&VerifierList::new(vec![Box::new(theirs)]))
        .unwrap();
}

#[test]
fn key_text_forms() {
    let key = key();
    let secret = key.to_secret_string();
    assert!(secret.starts_with(&format!("PRIVATE+KEY+{ORIGIN}+")));
    let again = LogKey::from_secret_string(&secret).unwrap();
    assert_eq!(again.verifier_key(), key.verifier_key());
    assert_eq!(again.origin(), ORIGIN);

    let vkey = key.verifier_key();
    let verifier = LogVerifier::from_vkey(&vkey).unwrap();
    assert_eq!(verifier, key.verifier());
    assert_eq!(verifier.to_string(), vkey);
    assert_eq!(vkey.parse::<LogVerifier>().unwrap(), verifier);
    assert_eq!(verifier.name(), ORIGIN);
    assert_eq!(
        format!("{:08x}", verifier.key_id()),
        vkey.split('+').nth(1).unwrap()
    );

    // The key pair of the Go note package's documentation (also signed_note's test vector).
    let peter = LogKey::from_secret_string(
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
    )
    .unwrap();
    assert_eq!(
        peter.verifier_key(),
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    );

    let mut rng = rand_core::OsRng;
    let fresh = LogKey::generate(ORIGIN, &mut rng).unwrap();
    assert_ne!(fresh.verifier_key(), key.verifier_key());
}

#[test]
fn debug_hides_the_secret() {
    let key = key();
    let debug = format!("{key:?}");
    let secret = key.to_secret_string();
    let secret_b64 = secret.rsplit('+').next().unwrap();
    assert!(debug.contains(ORIGIN));
    assert!(!debug.contains(secret_b64));
    assert!(!debug.contains(&hex::encode(SEED)));
    assert!(!debug.contains("7, 7, 7"));
}

#[test]
fn malformed_keys_are_refused() {
    let key = key();
    let secret = key.to_secret_string();
    let vkey = key.verifier_key();
    let id = vkey.split('+').nth(1).unwrap().to_owned();

    for bad in [
        secret.replacen("PRIVATE", "PUBLIC", 1),
        secret.replacen(&id, &id.to_uppercase(), 1),
        secret.replacen(&id, "00000000", 1),
        format!("{secret}A"),
        secret.replacen("+A", "+B", 1),
        String::new(),
    ] {
        assert!(LogKey::from_secret_string(&bad).is_err(), "{bad}");
    }
    // Another name with the same key changes the key id.
    assert!(LogKey::from_secret_string(&secret.replacen(ORIGIN, "other.example/log", 1)).is_err());

    for bad in [
        vkey.replacen(&id, &id.to_uppercase(), 1),
        vkey.replacen(&id, "00000000", 1),
        vkey.replacen(ORIGIN, "other.example/log", 1),
        format!("{vkey}="),
        format!("{vkey} "),
        vkey.replacen("+A", "+B", 1),
        format!("x{vkey}"),
        String::new(),
    ] {
        assert!(LogVerifier::from_vkey(&bad).is_err(), "{bad}");
    }
}

#[test]
fn invalid_origins_are_refused() {
    let long = "a".repeat(256);
    for origin in [
        "",
        "has space",
        "a+b",
        "tab\there",
        "ctl\u{1}",
        "nl\n",
        long.as_str(),
    ] {
        assert!(
            matches!(
                Checkpoint::new(origin, 1, leaf_hash(b"")),
                Err(CheckpointError::InvalidOrigin(_))
            ),
            "{origin:?}"
        );
        assert!(LogKey::from_seed(origin, &SEED).is_err(), "{origin:?}");
    }
    assert!(Checkpoint::new(&"a".repeat(255), 1, leaf_hash(b"")).is_ok());
}

#[test]
fn another_key_fails() {
    let signed = checkpoint().sign(&key());
    // Same name, other key: the key id differs.
    let other = LogKey::from_seed(ORIGIN, &[8; 32]).unwrap();
    assert!(matches!(
        signed.verify(&other.verifier()),
        Err(CheckpointError::UnknownKey { .. })
    ));
    // Other name.
    let elsewhere = LogKey::from_seed("other.example/log", &SEED).unwrap();
    assert!(matches!(
        signed.verify(&elsewhere.verifier()),
        Err(CheckpointError::UnknownKey { .. })
    ));
    // A note signed by another key under our key's name and id.
    let forged = with_signature(
        signed.as_bytes(),
        &signature_of(checkpoint().sign(&other).as_bytes()),
    );
    assert_eq!(
        SignedCheckpoint::parse_and_verify(&forged, &key().verifier()),
        Err(CheckpointError::BadSignature)
    );
}

#[test]
fn origin_must_be_the_key_name() {
    let key = key();
    let foreign = Checkpoint::new("other.example/log", 3, leaf_hash(b"x")).unwrap();
    let signed = foreign.sign(&key);
    assert!(matches!(
        signed.verify(&key.verifier()),
        Err(CheckpointError::OriginMismatch { .. })
    ));
}

#[test]
fn changed_body_fails() {
    let key = key();
    let signed = checkpoint().sign(&key);
    let text = String::from_utf8(signed.to_bytes()).unwrap();
    let other_root = BASE64.encode(leaf_hash(b"other").0);
    let root = BASE64.encode(checkpoint().root().0);
    for changed in [
        text.replacen("\n12\n", "\n13\n", 1),
        text.replacen(&root, &other_root, 1),
    ] {
        assert_eq!(
            SignedCheckpoint::parse_and_verify(changed.as_bytes(), &key.verifier()),
            Err(CheckpointError::BadSignature),
            "{changed}"
        );
    }
    // Changing the origin makes it another log's checkpoint.
    let renamed = text.replacen(ORIGIN, "retrace.example/log2", 1);
    assert!(SignedCheckpoint::parse_and_verify(renamed.as_bytes(), &key.verifier()).is_err());
}

#[test]
fn non_canonical_notes_are_refused() {
    let signed = checkpoint().sign(&key());
    let text = String::from_utf8(signed.to_bytes()).unwrap();
    let (body, sig_line) = text.split_once("\n\n").unwrap();
    let root = BASE64.encode(checkpoint().root().0);
    let cases = [
        // A second signature line, even a copy.
        format!("{text}{sig_line}\n"),
        // An extension line in the checkpoint body.
        format!("{body}\nextension\n\n{sig_line}\n"),
        // A leading zero in the size.
        text.replacen("\n12\n", "\n012\n", 1),
        // Missing final newline.
        text.trim_end().to_owned(),
        // Trailing bytes.
        format!("{text}\n"),
        // Unpadded base64 root.
        text.replacen(&root, root.trim_end_matches('='), 1),
        // No signature.
        format!("{body}\n"),
    ];
    for case in cases {
        assert!(
            SignedCheckpoint::parse(case.as_bytes()).is_err(),
            "{case:?}"
        );
    }
}

/// `S + ℓ` verifies the same equation as `S` but is not the canonical encoding; both `verify`
/// and `verify_strict` of ed25519-dalek 2 refuse it, and so must we.
#[test]
fn unreduced_s_is_refused() {
    const ELL: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let signed = checkpoint().sign(&key());
    let mut sig = signature_of(signed.as_bytes());
    let mut carry = 0u16;
    for (byte, ell) in sig[32..].iter_mut().zip(ELL) {
        let sum = u16::from(*byte) + u16::from(ell) + carry;
        *byte = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0, "S + ℓ fits in 256 bits");
    let malleated = with_signature(signed.as_bytes(), &sig);
    assert_ne!(malleated, signed.to_bytes());
    assert_eq!(
        SignedCheckpoint::parse_and_verify(&malleated, &key().verifier()),
        Err(CheckpointError::BadSignature)
    );
}

/// A signature with the small-order point `R = identity` and `S = k·a` passes ed25519-dalek's
/// `verify` — which `signed_note::StandardVerifier` uses — but not `verify_strict`.
#[test]
fn small_order_r_passes_verify_but_not_verify_strict() {
    let key = key();
    let signed = checkpoint().sign(&key);
    let signing = SigningKey::from_bytes(&SEED);
    let body =
        signed
            .as_bytes()
            .split(|&b| b == b'\n')
            .take(3)
            .fold(Vec::new(), |mut acc, line| {
                acc.extend_from_slice(line);
                acc.push(b'\n');
                acc
            });
    let mut r = [0u8; 32];
    r[0] = 1; // the compressed identity point
    let k = Scalar::from_hash(
        Sha512::new()
            .chain_update(r)
            .chain_update(signing.verifying_key().as_bytes())
            .chain_update(&body),
    );
    let s = k * signing.to_scalar();
    let mut forged_sig = [0u8; 64];
    forged_sig[..32].copy_from_slice(&r);
    forged_sig[32..].copy_from_slice(s.as_bytes());
    let forged = with_signature(signed.as_bytes(), &forged_sig);

    let standard = StandardVerifier::new(&key.verifier_key()).unwrap();
    assert!(
        Note::from_bytes(&forged)
            .unwrap()
            .verify(&VerifierList::new(vec![Box::new(standard)]))
            .is_ok(),
        "the non-strict verifier accepts it"
    );
    assert_eq!(
        SignedCheckpoint::parse_and_verify(&forged, &key.verifier()),
        Err(CheckpointError::BadSignature)
    );
}

/// The identity point is a small-order public key: with `R = identity` and `S = 0` every
/// message "verifies" under `verify`. Such a verifier key is refused outright.
#[test]
fn small_order_key_is_refused() {
    let mut public = [0u8; 33];
    public[0] = 1; // signature type Ed25519
    public[1] = 1; // the compressed identity point
    let id = signed_note::key_id(ORIGIN, &public);
    let vkey = format!("{ORIGIN}+{id:08x}+{}", BASE64.encode(public));
    assert_eq!(LogVerifier::from_vkey(&vkey), Err(CheckpointError::WeakKey));

    let standard = StandardVerifier::new(&vkey).unwrap();
    let mut sig = [0u8; 64];
    sig[0] = 1;
    let body = format!("{ORIGIN}\n1\n{}\n", BASE64.encode(leaf_hash(b"any").0));
    let mut data = id.to_be_bytes().to_vec();
    data.extend_from_slice(&sig);
    let note = format!("{body}\n\u{2014} {ORIGIN} {}\n", BASE64.encode(data));
    assert!(
        Note::from_bytes(note.as_bytes())
            .unwrap()
            .verify(&VerifierList::new(vec![Box::new(standard)]))
            .is_ok(),
        "the non-strict verifier accepts a forgery for a small-order key"
    );
}
