//! Witness cosignatures (C2SP tlog-cosignature, Ed25519 `cosignature/v1`):
//! a witness's timestamped statement that a checkpoint is the largest
//! consistent tree head it has seen for the log. A log that shows two
//! histories to two parties cannot get both cosigned by a witness that saw
//! either, which is how the ministry or an auditor running `retrace witness`
//! keeps the operator of a retrace installation honest (issue 9 §4).
//!
//! A cosignature is a signed-note signature line
//!
//! ```text
//! — <witness name> base64(key id || u64 timestamp || Ed25519 signature)
//! ```
//!
//! over the message `cosignature/v1\ntime <timestamp>\n` followed by the
//! checkpoint's note text. Its key id is `SHA-256(name || 0x0A || 0x04 ||
//! public key)[:4]`; keys use the signed-note text forms with the type byte
//! 0x04: `PRIVATE+KEY+<name>+<id>+<base64>` and `<name>+<id>+<base64>`.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};
use thiserror::Error;

/// The signed-note signature type byte of Ed25519 cosignature/v1
/// (C2SP tlog-cosignature, "Format").
const ALG_COSIGNATURE_V1: u8 = 0x04;

/// Why a cosigner key or a cosignature was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CosignatureError {
    /// The name is empty, or holds a space, a `+` or a control character.
    #[error("invalid witness name {0:?}")]
    InvalidName(String),
    /// The key text is not a cosigner key of this form.
    #[error("malformed witness key")]
    MalformedKey,
    /// The signature line is not a cosignature of this witness.
    #[error("not a cosignature of {0}")]
    NotOurs(String),
    /// The cosignature does not verify.
    #[error("invalid cosignature")]
    BadSignature,
}

fn check_name(name: &str) -> Result<(), CosignatureError> {
    if signed_note::is_key_name_valid(name) && !name.chars().any(char::is_control) {
        Ok(())
    } else {
        Err(CosignatureError::InvalidName(name.to_owned()))
    }
}

fn key_id(name: &str, key: &VerifyingKey) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ALG_COSIGNATURE_V1]);
    h.update(key.as_bytes());
    let digest = h.finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// The message a cosignature signs: the header and timestamp lines, then
/// the checkpoint's note text (which ends in a newline).
#[must_use]
pub fn cosigned_message(note_text: &[u8], timestamp: u64) -> Vec<u8> {
    let mut message = format!("cosignature/v1\ntime {timestamp}\n").into_bytes();
    message.extend_from_slice(note_text);
    message
}

/// A witness's signing key and name. `Debug` never shows the secret.
#[derive(Clone)]
pub struct CosignerKey {
    name: String,
    id: u32,
    signing: SigningKey,
}

impl fmt::Debug for CosignerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CosignerKey")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.id))
            .finish_non_exhaustive()
    }
}

impl CosignerKey {
    fn with(name: &str, signing: SigningKey) -> Result<CosignerKey, CosignatureError> {
        check_name(name)?;
        Ok(CosignerKey {
            name: name.to_owned(),
            id: key_id(name, &signing.verifying_key()),
            signing,
        })
    }

    /// A fresh key for the witness `name` (e.g. `witness.miit.example/w1`).
    ///
    /// # Errors
    /// [`CosignatureError::InvalidName`].
    pub fn generate<R: CryptoRngCore + ?Sized>(
        name: &str,
        rng: &mut R,
    ) -> Result<CosignerKey, CosignatureError> {
        CosignerKey::with(name, SigningKey::generate(rng))
    }

    /// The key whose Ed25519 seed is `seed`, for tests.
    ///
    /// # Errors
    /// [`CosignatureError::InvalidName`].
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<CosignerKey, CosignatureError> {
        CosignerKey::with(name, SigningKey::from_bytes(seed))
    }

    /// The `PRIVATE+KEY+<name>+<id>+<base64(0x04 || seed)>` form it is stored in.
    #[must_use]
    pub fn to_secret_string(&self) -> String {
        let mut key = [0u8; 33];
        key[0] = ALG_COSIGNATURE_V1;
        key[1..].copy_from_slice(self.signing.as_bytes());
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.id,
            BASE64.encode(key)
        )
    }

    /// Reads [`CosignerKey::to_secret_string`]'s form.
    ///
    /// # Errors
    /// [`CosignatureError::MalformedKey`] or [`CosignatureError::InvalidName`].
    pub fn from_secret_string(text: &str) -> Result<CosignerKey, CosignatureError> {
        let mut parts = text.splitn(5, '+');
        let (Some("PRIVATE"), Some("KEY"), Some(name), Some(id), Some(data)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(CosignatureError::MalformedKey);
        };
        let data = BASE64
            .decode(data)
            .map_err(|_| CosignatureError::MalformedKey)?;
        let Some((&ALG_COSIGNATURE_V1, seed)) = data.split_first() else {
            return Err(CosignatureError::MalformedKey);
        };
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| CosignatureError::MalformedKey)?;
        let key = CosignerKey::from_seed(name, &seed)?;
        if format!("{:08x}", key.id) != id {
            return Err(CosignatureError::MalformedKey);
        }
        Ok(key)
    }

    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The verifier of this key's cosignatures.
    #[must_use]
    pub fn verifier(&self) -> CosignerVerifier {
        CosignerVerifier {
            name: self.name.clone(),
            id: self.id,
            key: self.signing.verifying_key(),
        }
    }

    /// The cosignature line (ending in a newline) of a checkpoint whose note
    /// text is `note_text`, made at `timestamp` (POSIX seconds).
    #[must_use]
    pub fn cosign(&self, note_text: &[u8], timestamp: u64) -> String {
        let signature = self
            .signing
            .sign(&cosigned_message(note_text, timestamp))
            .to_bytes();
        let mut data = Vec::with_capacity(76);
        data.extend_from_slice(&self.id.to_be_bytes());
        data.extend_from_slice(&timestamp.to_be_bytes());
        data.extend_from_slice(&signature);
        format!("\u{2014} {} {}\n", self.name, BASE64.encode(data))
    }
}

/// A witness's public key: checks its cosignatures with `verify_strict`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CosignerVerifier {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl CosignerVerifier {
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Checks a cosignature line (with or without its final newline) on a
    /// checkpoint whose note text is `note_text`, and answers with its
    /// timestamp.
    ///
    /// # Errors
    /// [`CosignatureError::NotOurs`] for a line of another key,
    /// [`CosignatureError::BadSignature`] for one that does not verify.
    pub fn verify(&self, note_text: &[u8], line: &str) -> Result<u64, CosignatureError> {
        let not_ours = || CosignatureError::NotOurs(self.name.clone());
        let rest = line
            .trim_end_matches('\n')
            .strip_prefix("\u{2014} ")
            .ok_or_else(not_ours)?;
        let (name, data) = rest.split_once(' ').ok_or_else(not_ours)?;
        if name != self.name {
            return Err(not_ours());
        }
        let data = BASE64.decode(data).map_err(|_| not_ours())?;
        if data.len() != 4 + 8 + 64 || data[..4] != self.id.to_be_bytes() {
            return Err(not_ours());
        }
        let timestamp = u64::from_be_bytes(data[4..12].try_into().map_err(|_| not_ours())?);
        let signature =
            Signature::from_slice(&data[12..]).map_err(|_| CosignatureError::BadSignature)?;
        self.key
            .verify_strict(&cosigned_message(note_text, timestamp), &signature)
            .map_err(|_| CosignatureError::BadSignature)?;
        Ok(timestamp)
    }
}

impl fmt::Display for CosignerVerifier {
    /// The `<name>+<id>+<base64(0x04 || public key)>` vkey form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut key = [0u8; 33];
        key[0] = ALG_COSIGNATURE_V1;
        key[1..].copy_from_slice(self.key.as_bytes());
        write!(f, "{}+{:08x}+{}", self.name, self.id, BASE64.encode(key))
    }
}

impl FromStr for CosignerVerifier {
    type Err = CosignatureError;

    fn from_str(text: &str) -> Result<CosignerVerifier, CosignatureError> {
        let mut parts = text.trim().splitn(3, '+');
        let (Some(name), Some(id), Some(data)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(CosignatureError::MalformedKey);
        };
        check_name(name)?;
        let data = BASE64
            .decode(data)
            .map_err(|_| CosignatureError::MalformedKey)?;
        let Some((&ALG_COSIGNATURE_V1, key)) = data.split_first() else {
            return Err(CosignatureError::MalformedKey);
        };
        let key: [u8; 32] = key.try_into().map_err(|_| CosignatureError::MalformedKey)?;
        let key = VerifyingKey::from_bytes(&key).map_err(|_| CosignatureError::MalformedKey)?;
        if key.is_weak() || format!("{:08x}", key_id(name, &key)) != id {
            return Err(CosignatureError::MalformedKey);
        }
        Ok(CosignerVerifier {
            name: name.to_owned(),
            id: key_id(name, &key),
            key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &[u8] =
        b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

    #[test]
    fn the_signed_message_is_the_specifications() {
        assert_eq!(
            cosigned_message(TEXT, 1_679_315_147),
            b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
        );
    }

    #[test]
    fn a_cosignature_verifies_with_its_key_only() {
        let key = CosignerKey::from_seed("witness.example/w1", &[3; 32]).unwrap();
        let line = key.cosign(TEXT, 1_700_000_000);
        assert!(line.starts_with("\u{2014} witness.example/w1 "));
        let verifier = key.verifier();
        assert_eq!(verifier.verify(TEXT, &line), Ok(1_700_000_000));
        let mut other = TEXT.to_vec();
        other[30] = b'9';
        assert_eq!(
            verifier.verify(&other, &line),
            Err(CosignatureError::BadSignature)
        );
        let stranger = CosignerKey::from_seed("witness.example/w1", &[4; 32])
            .unwrap()
            .verifier();
        assert!(matches!(
            stranger.verify(TEXT, &line),
            Err(CosignatureError::NotOurs(_))
        ));
    }

    #[test]
    fn keys_round_trip_their_text_forms() {
        let key = CosignerKey::from_seed("witness.example/w1", &[5; 32]).unwrap();
        let again = CosignerKey::from_secret_string(&key.to_secret_string()).unwrap();
        assert_eq!(again.verifier(), key.verifier());
        let vkey = key.verifier().to_string();
        assert_eq!(vkey.parse::<CosignerVerifier>().unwrap(), key.verifier());
        assert!(vkey.contains("+"));
        assert!(
            "witness.example/w1+00000000+AQ=="
                .parse::<CosignerVerifier>()
                .is_err()
        );
        assert!(CosignerKey::from_seed("bad name", &[1; 32]).is_err());
        // A log key (type 0x01) is not a cosigner key.
        let log = crate::LogKey::from_seed("witness.example/w1", &[5; 32]).unwrap();
        assert!(
            log.verifier_key().parse::<CosignerVerifier>().is_err(),
            "the type byte is checked"
        );
    }
}
