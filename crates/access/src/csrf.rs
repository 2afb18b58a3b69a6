//! CSRF tokens for form posts (issue 3 §3; Art. 11 network and data
//! security): the HMAC-based token pattern of the OWASP Cross-Site Request
//! Forgery Prevention Cheat Sheet. A token is HMAC-SHA-256 (RFC 2104, FIPS
//! 198-1) of the session id under a server key, so it is bound to one
//! session — it is worth nothing in another, and dies when the session is
//! rotated — and the server keeps no state for it. Verification compares in
//! constant time.
//!
//! It is the second defence: the session cookie's `SameSite=Strict`
//! ([`crate::session::SessionCookie`]) is the first.

use std::fmt;

use hmac::{Hmac, Mac};
use rand_core::CryptoRngCore;
use sha2::Sha256;

use crate::secret;
use crate::session::SessionId;

/// Separates CSRF MACs from any other use of the key.
const LABEL: &[u8] = b"retrace csrf v1\0";

/// The server's CSRF key: 256 bits, shared by every API node of an
/// installation. Changing it invalidates the forms open in browsers.
/// `Debug` never shows it.
#[derive(Clone)]
pub struct CsrfKey([u8; 32]);

impl fmt::Debug for CsrfKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CsrfKey(…)")
    }
}

/// A CSRF token, to put in a hidden form field or a request header.
/// `Debug` never shows it. No `PartialEq`: tokens are checked only by
/// [`CsrfKey::verify`], in constant time.
#[derive(Clone)]
pub struct CsrfToken(String);

impl fmt::Debug for CsrfToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CsrfToken(…)")
    }
}

impl CsrfToken {
    /// The token text, for the page.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

/// A form post whose CSRF token is missing, malformed, or made for another
/// session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the form has expired or did not come from this site; reload the page and submit it again")]
pub struct CsrfError;

impl CsrfKey {
    /// A new random key.
    pub fn generate(rng: &mut impl CryptoRngCore) -> CsrfKey {
        let mut key = [0u8; 32];
        rng.fill_bytes(&mut key);
        CsrfKey(key)
    }

    /// A key loaded from the server's configuration or database.
    pub fn from_bytes(key: [u8; 32]) -> CsrfKey {
        CsrfKey(key)
    }

    /// The key, to persist so that every node and every restart shares it.
    pub fn expose_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    fn mac(&self, session: &SessionId) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .expect("HMAC accepts keys of any length (RFC 2104 §2)");
        mac.update(LABEL);
        mac.update(session.as_bytes());
        mac
    }

    /// The token for forms served to `session`.
    pub fn token(&self, session: &SessionId) -> CsrfToken {
        CsrfToken(secret::encode(&self.mac(session).finalize().into_bytes()))
    }

    /// Checks a token posted with `session`'s cookie, in constant time.
    ///
    /// # Errors
    /// [`CsrfError`] unless it is the token of this session under this key.
    pub fn verify(&self, session: &SessionId, presented: &str) -> Result<(), CsrfError> {
        let tag: [u8; 32] = secret::decode(presented).ok_or(CsrfError)?;
        self.mac(session).verify_slice(&tag).map_err(|_| CsrfError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn session(bytes: [u8; 32]) -> SessionId {
        SessionId::parse(&secret::encode(&bytes)).unwrap()
    }

    #[test]
    fn a_token_verifies_for_its_session_and_key_only() {
        let key = CsrfKey::from_bytes([7; 32]);
        let a = session([1; 32]);
        let token = key.token(&a);
        assert_eq!(token.expose_secret().len(), 43);
        assert_eq!(key.verify(&a, token.expose_secret()), Ok(()));
        assert_eq!(
            key.token(&a).expose_secret(),
            token.expose_secret(),
            "stateless: the same token every time"
        );
        assert_eq!(
            key.verify(&session([2; 32]), token.expose_secret()),
            Err(CsrfError)
        );
        let other_key = CsrfKey::from_bytes([8; 32]);
        assert_eq!(other_key.verify(&a, token.expose_secret()), Err(CsrfError));
        for bad in [
            "",
            "x",
            &token.expose_secret()[..42],
            &format!("{}=", token.expose_secret()),
        ] {
            assert_eq!(key.verify(&a, bad), Err(CsrfError), "{bad}");
        }
        let reloaded = CsrfKey::from_bytes(*key.expose_bytes());
        assert_eq!(reloaded.token(&a).expose_secret(), token.expose_secret());
    }

    #[test]
    fn debug_hides_keys_and_tokens() {
        let key = CsrfKey::generate(&mut rand_core::OsRng);
        let token = key.token(&session([3; 32]));
        assert_eq!(format!("{key:?}"), "CsrfKey(…)");
        assert_eq!(format!("{token:?}"), "CsrfToken(…)");
    }

    proptest! {
        /// A token never verifies for another session.
        #[test]
        fn never_for_another_session(key: [u8; 32], a: [u8; 32], b: [u8; 32]) {
            prop_assume!(a != b);
            let key = CsrfKey::from_bytes(key);
            let token = key.token(&session(a));
            prop_assert_eq!(key.verify(&session(b), token.expose_secret()), Err(CsrfError));
            prop_assert_eq!(key.verify(&session(a), token.expose_secret()), Ok(()));
        }

        /// A token with any one bit of its MAC changed never verifies.
        #[test]
        fn never_after_a_bit_flip(key: [u8; 32], a: [u8; 32], position in 0usize..32, bit in 0u8..8) {
            let key = CsrfKey::from_bytes(key);
            let mut tag: [u8; 32] = secret::decode(key.token(&session(a)).expose_secret()).unwrap();
            tag[position] ^= 1 << bit;
            prop_assert_eq!(key.verify(&session(a), &secret::encode(&tag)), Err(CsrfError));
        }
    }
}
