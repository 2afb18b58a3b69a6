//! What API tokens and sessions share: random secrets written in base64url
//! (RFC 4648 §5, no padding) and stored only as their SHA-256 digest (FIPS
//! 180-4), so that a copy of the database gives no working credential
//! (Art. 11 network and data security).

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The SHA-256 digest of a secret, as stored in place of the secret.
///
/// A fast hash is right here, unlike for passwords: the secrets are 256
/// bits from a cryptographic generator, so there is nothing to guess —
/// finding a secret from its digest is a 2^256 preimage search however fast
/// each try — and a fast hash lets every request be checked in microseconds,
/// where argon2id would cost tens of milliseconds a call and hand an
/// attacker a way to burn the server's CPU.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecretDigest([u8; 32]);

/// A stored digest that is not 64 hexadecimal digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a stored secret digest is 64 hexadecimal digits (SHA-256)")]
pub struct DigestError;

impl SecretDigest {
    /// The digest of `secret`.
    pub fn of(secret: &[u8]) -> SecretDigest {
        SecretDigest(Sha256::digest(secret).into())
    }

    /// Reads a stored digest.
    ///
    /// # Errors
    /// [`DigestError`] if `text` is not 64 hexadecimal digits.
    pub fn from_hex(text: &str) -> Result<SecretDigest, DigestError> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text, &mut bytes).map_err(|_| DigestError)?;
        Ok(SecretDigest(bytes))
    }

    /// The digest as 64 lowercase hexadecimal digits, to store.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Equality in constant time, for comparing against a presented secret.
    pub(crate) fn ct_eq(&self, other: &SecretDigest) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for SecretDigest {
    /// The first four bytes only: enough to tell digests apart in a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretDigest({}…)", hex::encode(&self.0[..4]))
    }
}

/// `bytes` in base64url without padding.
pub(crate) fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes exactly `N` bytes of base64url without padding, refusing
/// non-canonical encodings.
pub(crate) fn decode<const N: usize>(text: &str) -> Option<[u8; N]> {
    URL_SAFE_NO_PAD
        .decode(text)
        .ok()
        .and_then(|bytes| <[u8; N]>::try_from(bytes).ok())
}

/// Whether every character of `text` is in the base64url alphabet.
pub(crate) fn is_base64url(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_round_trip_through_hex_and_hide_in_debug() {
        // FIPS 180-4 example: SHA-256("abc").
        let d = SecretDigest::of(b"abc");
        assert_eq!(
            d.to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(SecretDigest::from_hex(&d.to_hex()), Ok(d));
        assert_eq!(format!("{d:?}"), "SecretDigest(ba7816bf…)");
        assert!(d.ct_eq(&SecretDigest::of(b"abc")));
        assert!(!d.ct_eq(&SecretDigest::of(b"abd")));
        for bad in ["", "ba78", &"g".repeat(64), &"a".repeat(66)] {
            assert_eq!(SecretDigest::from_hex(bad), Err(DigestError), "{bad}");
        }
    }

    #[test]
    fn base64url_is_strict() {
        let bytes = [0xfbu8, 0xff, 0x01];
        let text = encode(&bytes);
        assert_eq!(text, "-_8B");
        assert_eq!(decode::<3>(&text), Some(bytes));
        assert_eq!(decode::<4>(&text), None);
        assert_eq!(decode::<3>("-_8B="), None);
        assert!(is_base64url(&text));
        assert!(!is_base64url("ab+/"));
    }
}
