//! Password hashing with argon2id (RFC 9106), stored as PHC strings (Art. 11
//! network and data security; DESIGN.md §5: "argon2id passwords").
//!
//! [`hash_password`] and [`verify_password`] are deliberately slow — tens of
//! milliseconds of CPU and [`MEMORY_KIB`] of memory each — so an async server
//! must call them on a blocking thread (`tokio::task::spawn_blocking`), never
//! on a runtime worker. This crate spawns nothing.
//!
//! The parameters are those of the OWASP Password Storage Cheat Sheet's first
//! argon2id configuration (m = 19 MiB, t = 2, p = 1), which is also RFC 9106
//! §4's advice to take the memory the deployment can spare and then the
//! passes that fit the time budget: on a 2-core server a handful of
//! concurrent logins then costs a few tens of MiB, and CPU, not memory,
//! bounds them. Verification reads the parameters from the stored PHC
//! string, so they can be raised later; [`PasswordHash::needs_rehash`] tells
//! the server to re-hash at the next successful login.

use std::fmt;

use argon2::password_hash::{self, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand_core::CryptoRngCore;

/// Memory cost in KiB: 19 MiB (OWASP Password Storage Cheat Sheet, argon2id
/// minimum configuration 1).
pub const MEMORY_KIB: u32 = 19 * 1024;
/// Passes over memory (OWASP: t = 2 with 19 MiB).
pub const ITERATIONS: u32 = 2;
/// Lanes. One: the server runs several logins side by side on two cores,
/// and parallel lanes would only let one login take both.
pub const PARALLELISM: u32 = 1;
/// Tag length in bytes: 256 bits (RFC 9106 §3.1 recommends 256-bit tags for
/// password hashing).
pub const OUTPUT_LEN: usize = 32;
/// Salt length in bytes: 128 bits, RFC 9106 §3.1's recommendation for
/// password hashing.
pub const SALT_LEN: usize = 16;

/// An argon2id hash of a password in PHC string format
/// (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`), as stored with the
/// account. Only [`hash_password`] and [`PasswordHash::parse`] make one.
///
/// `Debug` shows the algorithm and parameters, never the salt and hash: a
/// leaked hash is open to offline guessing.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

/// A stored hash that is not a usable argon2id PHC string. The message never
/// repeats the hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordHashError {
    #[error("the stored password hash is not a PHC string with salt and hash")]
    Malformed,
    #[error("the stored password hash uses `{0}`, not argon2id version 19")]
    Algorithm(String),
    #[error("the stored password hash has parameters argon2 refuses")]
    Parameters,
    #[error("the password could not be hashed: {0}")]
    Hashing(String),
}

/// The presented password does not match the stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the password does not match")]
pub struct WrongPassword;

impl PasswordHash {
    /// Reads a stored PHC string, checking that it is argon2id version 19
    /// (0x13) with parameters argon2 accepts, a salt and a hash.
    ///
    /// # Errors
    /// [`PasswordHashError`] saying what is wrong, without the hash itself.
    pub fn parse(phc: &str) -> Result<PasswordHash, PasswordHashError> {
        let parsed =
            password_hash::PasswordHash::new(phc).map_err(|_| PasswordHashError::Malformed)?;
        if parsed.algorithm != Algorithm::Argon2id.ident()
            || parsed.version != Some(Version::V0x13.into())
        {
            return Err(PasswordHashError::Algorithm(format!(
                "{} version {}",
                parsed.algorithm,
                parsed
                    .version
                    .map_or_else(|| "none".to_owned(), |v| v.to_string())
            )));
        }
        if parsed.salt.is_none() || parsed.hash.is_none() {
            return Err(PasswordHashError::Malformed);
        }
        Params::try_from(&parsed).map_err(|_| PasswordHashError::Parameters)?;
        Ok(PasswordHash(phc.to_owned()))
    }

    /// The PHC string, to store.
    pub fn as_phc(&self) -> &str {
        &self.0
    }

    /// Whether the hash was made with weaker parameters than today's, so
    /// that the server should hash the password again (on a blocking thread)
    /// after the next successful login.
    pub fn needs_rehash(&self) -> bool {
        let Ok(parsed) = password_hash::PasswordHash::new(&self.0) else {
            return true;
        };
        let Ok(params) = Params::try_from(&parsed) else {
            return true;
        };
        params.m_cost() < MEMORY_KIB
            || params.t_cost() < ITERATIONS
            || params.output_len().is_some_and(|len| len < OUTPUT_LEN)
            || parsed
                .salt
                .is_some_and(|s| s.as_str().len() < (4 * SALT_LEN).div_ceil(3))
    }

    /// The part of the PHC string that is not secret: algorithm, version and
    /// parameters.
    fn public_part(&self) -> &str {
        self.0
            .match_indices('$')
            .nth(3)
            .map_or("", |(i, _)| &self.0[..i])
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PasswordHash(\"{}$…\")", self.public_part())
    }
}

/// The argon2id instance with today's parameters.
fn argon2() -> Result<Argon2<'static>, PasswordHashError> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, Some(OUTPUT_LEN))
        .map_err(|e| PasswordHashError::Hashing(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes `password` with argon2id, today's parameters and a fresh
/// 128-bit salt from `rng`. Slow by design: run it on a blocking thread.
///
/// The password policy ([`crate::PasswordPolicy`]) is checked before, by the
/// caller, when a password is chosen; this function hashes what it is given.
///
/// # Errors
/// [`PasswordHashError::Hashing`] if argon2 refuses the input, which for a
/// password within the policy's length does not happen.
pub fn hash_password(
    password: &str,
    rng: &mut impl CryptoRngCore,
) -> Result<PasswordHash, PasswordHashError> {
    let mut bytes = [0u8; SALT_LEN];
    rng.fill_bytes(&mut bytes);
    let salt =
        SaltString::encode_b64(&bytes).map_err(|e| PasswordHashError::Hashing(e.to_string()))?;
    let hash = argon2()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| PasswordHashError::Hashing(e.to_string()))?;
    Ok(PasswordHash(hash.to_string()))
}

/// Checks `password` against a stored hash, with the parameters the hash was
/// made with. The final comparison of the tags is in constant time
/// (`password-hash`'s `Output` compares with `subtle`). Slow by design: run
/// it on a blocking thread.
///
/// # Errors
/// [`WrongPassword`] when it does not match.
pub fn verify_password(password: &str, hash: &PasswordHash) -> Result<(), WrongPassword> {
    let parsed = password_hash::PasswordHash::new(&hash.0).map_err(|_| WrongPassword)?;
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .map_err(|_| WrongPassword)
}

/// A hash with today's parameters that no password matches, for an unknown
/// account: checking against it costs what checking a real account costs, so
/// the time of a login does not tell whether the account exists.
pub(crate) fn unknown_account_hash() -> PasswordHash {
    PasswordHash(
        "$argon2id$v=19$m=19456,t=2,p=1$cmV0cmFjZS1ubyBzdWNoIGFjY291bnQ$\
         AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
            .to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    #[test]
    fn hashes_verify_and_are_salted() {
        let a = hash_password("Baotou-2025 spring", &mut OsRng).unwrap();
        let b = hash_password("Baotou-2025 spring", &mut OsRng).unwrap();
        assert_ne!(a, b, "a fresh salt every time");
        assert!(
            a.as_phc().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            a.as_phc()
        );
        assert_eq!(verify_password("Baotou-2025 spring", &a), Ok(()));
        assert_eq!(verify_password("Baotou-2025 spring", &b), Ok(()));
        assert_eq!(
            verify_password("baotou-2025 spring", &a),
            Err(WrongPassword)
        );
        assert_eq!(verify_password("", &a), Err(WrongPassword));
        assert_eq!(PasswordHash::parse(a.as_phc()), Ok(a.clone()));
        assert!(!a.needs_rehash());
    }

    #[test]
    fn debug_shows_parameters_not_salt_or_hash() {
        let h = hash_password("Ganzhou ionic clay 7", &mut OsRng).unwrap();
        let debug = format!("{h:?}");
        assert_eq!(debug, "PasswordHash(\"$argon2id$v=19$m=19456,t=2,p=1$…\")");
        let salt_and_hash = &h.as_phc()[h.public_part().len()..];
        assert!(!debug.contains(salt_and_hash));
    }

    #[test]
    fn weaker_hashes_ask_to_be_redone_and_others_are_refused() {
        // Same password family, older parameters (m = 12 MiB, t = 3).
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(12 * 1024, 3, 1, Some(32)).unwrap(),
        )
        .hash_password(b"Longyan-ore-2024", &SaltString::generate(&mut OsRng))
        .unwrap()
        .to_string();
        let weak = PasswordHash::parse(&weak).unwrap();
        assert!(weak.needs_rehash());
        assert_eq!(verify_password("Longyan-ore-2024", &weak), Ok(()));

        let argon2i = Argon2::new(Algorithm::Argon2i, Version::V0x13, Params::default())
            .hash_password(b"x", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        assert!(matches!(
            PasswordHash::parse(&argon2i),
            Err(PasswordHashError::Algorithm(_))
        ));
        for bad in [
            "",
            "plain",
            "$argon2id$v=19$m=19456,t=2,p=1",
            "$argon2id$v=19$m=1,t=2,p=1$c2FsdHNhbHQ$AAAA",
        ] {
            assert!(PasswordHash::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_unknown_account_hash_costs_what_a_real_one_costs() {
        let dummy = PasswordHash::parse(unknown_account_hash().as_phc()).unwrap();
        assert!(
            !dummy.needs_rehash(),
            "keep it in step with today's parameters"
        );
        assert_eq!(verify_password("", &dummy), Err(WrongPassword));
        assert_eq!(verify_password("password", &dummy), Err(WrongPassword));
    }
}
