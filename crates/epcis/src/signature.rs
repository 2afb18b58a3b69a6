//! The `GS1-Signature` header of subscription deliveries (EPCIS 2.0 REST binding,
//! `POST /queries/{queryName}/subscriptions`: the subscriber gives a `signatureToken`, and
//! the repository signs every request it sends to the subscriber's `dest` with it).
//!
//! The binding leaves the signature type to the implementation and names HMAC with SHA-256
//! as the direct choice. retrace signs as other EPCIS 2.0 repositories do, so that one
//! subscriber can check them alike: HMAC-SHA256 (RFC 2104, FIPS 180-4) keyed with the
//! `signatureToken` as UTF-8, over the exact bytes of the request body, the 32-byte tag in
//! standard base64 with padding (RFC 4648 §4).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The name of the header.
pub const HEADER: &str = "GS1-Signature";

fn mac(signature_token: &str, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(signature_token.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(body);
    mac
}

/// The `GS1-Signature` value of a delivery whose body is `body`.
///
/// ```
/// use retrace_epcis::signature::gs1_signature;
/// // RFC 4231 §4.3, test case 2.
/// assert_eq!(gs1_signature("Jefe", b"what do ya want for nothing?"),
///            "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=");
/// ```
pub fn gs1_signature(signature_token: &str, body: &[u8]) -> String {
    STANDARD.encode(mac(signature_token, body).finalize().into_bytes())
}

/// Whether `header` is the `GS1-Signature` of `body` under `signature_token`, compared in
/// constant time (a subscriber's check, and the repository's own tests).
pub fn verify_gs1_signature(signature_token: &str, body: &[u8], header: &str) -> bool {
    STANDARD
        .decode(header.trim())
        .is_ok_and(|tag| mac(signature_token, body).verify_slice(&tag).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        // RFC 4231 §4.2, test case 1: key 0x0b × 20, "Hi There".
        let key = std::str::from_utf8(&[0x0b; 20]).unwrap();
        let tag = STANDARD.decode(gs1_signature(key, b"Hi There")).unwrap();
        assert_eq!(
            hex::encode(tag),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        // The example token of the REST binding over a small delivery.
        let body = br#"{"type":"EPCISQueryDocument"}"#;
        let token = "13df38d8275b13f05704629e5f1cf3d45d6132d5";
        let header = gs1_signature(token, body);
        assert_eq!(header.len(), 44);
        assert!(verify_gs1_signature(token, body, &header));
    }

    #[test]
    fn a_changed_body_token_or_header_fails() {
        let header = gs1_signature("secret", b"body");
        assert!(!verify_gs1_signature("secret", b"body!", &header));
        assert!(!verify_gs1_signature("Secret", b"body", &header));
        assert!(!verify_gs1_signature("secret", b"body", "not base64"));
        assert!(!verify_gs1_signature("secret", b"body", &header[..40]));
    }
}
