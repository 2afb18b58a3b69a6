//! Cookie sessions for the web UI (issue 3 §3; Art. 11 network and data
//! security), following the OWASP Session Management Cheat Sheet.
//!
//! - A session id is 256 bits from a cryptographic generator, sent in a
//!   cookie and stored only as its SHA-256 digest ([`SecretDigest`]).
//! - It ends after [`SessionPolicy::idle`] without a request and, however
//!   busy, [`SessionPolicy::absolute`] after it began; both are decided by a
//!   pure function of `now`.
//! - Every login, and every change of privilege, starts a new session with a
//!   new id and retires the one presented ([`start`]): an id planted in a
//!   browser before login is worth nothing after it (session fixation).
//! - The cookie is `HttpOnly`, `SameSite=Strict`, `Path=/`, and under TLS
//!   `Secure` with the `__Host-` name prefix (RFC 6265bis §4.1.3.2), which
//!   the browser enforces: no `Domain`, so no sibling host can set or read it.
//!   It has no `Max-Age`, so it ends when the browser closes.

use std::fmt;

use rand_core::CryptoRngCore;
use time::{Duration, OffsetDateTime};

use crate::account::{AccountName, Principal};
use crate::role::Role;
use crate::secret::{self, SecretDigest};

/// Bytes in a session id: 256 bits (OWASP asks for at least 64 bits of
/// entropy).
const ID_BYTES: usize = 32;

/// A session id as the browser holds it. `Debug` never shows it. No
/// `PartialEq`: ids are compared only through their digests, in constant
/// time.
#[derive(Clone)]
pub struct SessionId([u8; ID_BYTES]);

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(…)")
    }
}

impl SessionId {
    fn generate(rng: &mut impl CryptoRngCore) -> SessionId {
        let mut bytes = [0u8; ID_BYTES];
        rng.fill_bytes(&mut bytes);
        SessionId(bytes)
    }

    /// Reads the value of the session cookie.
    ///
    /// # Errors
    /// [`SessionError::Malformed`] unless it is 43 base64url characters
    /// encoding 32 bytes.
    pub fn parse(cookie_value: &str) -> Result<SessionId, SessionError> {
        secret::decode(cookie_value)
            .map(SessionId)
            .ok_or(SessionError::Malformed)
    }

    /// The value to put in the cookie.
    pub fn expose_secret(&self) -> String {
        secret::encode(&self.0)
    }

    /// The digest the store keeps and looks the session up by.
    pub fn digest(&self) -> SecretDigest {
        SecretDigest::of(&self.0)
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// How long sessions last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session unused this long ends.
    pub idle: Duration,
    /// A session this old ends, however busy.
    pub absolute: Duration,
    /// The store records a request's time only when the last record is this
    /// old, so that reads do not each cost a write; the idle limit may then
    /// be reached up to this much early.
    pub touch_after: Duration,
}

impl Default for SessionPolicy {
    /// 30 minutes idle and 8 hours absolute: OWASP's ranges for an
    /// application used by office staff through the working day (idle 15–30
    /// minutes, absolute 4–8 hours); records refreshed once a minute.
    fn default() -> Self {
        SessionPolicy {
            idle: Duration::minutes(30),
            absolute: Duration::hours(8),
            touch_after: Duration::minutes(1),
        }
    }
}

/// A session as the store keeps it, under its digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSession {
    pub digest: SecretDigest,
    pub account: AccountName,
    /// The role the session acts in. A change of the account's role or a
    /// disabled account must end its sessions (the store deletes them).
    pub role: Role,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
}

/// A session just started: the id for the cookie, the form to store, and the
/// digest of the session it replaces, which the store must delete.
#[derive(Debug)]
pub struct NewSession {
    pub id: SessionId,
    pub stored: StoredSession,
    pub replaces: Option<SecretDigest>,
}

/// Why a presented session does not authenticate: the user logs in again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("the session cookie is malformed; please log in")]
    Malformed,
    /// Also the answer for a digest the store does not know.
    #[error("the session is not valid; please log in")]
    Invalid,
    #[error("the session ended at {0} after a period without use; please log in again")]
    Idle(OffsetDateTime),
    #[error("the session reached its maximum length at {0}; please log in again")]
    Absolute(OffsetDateTime),
}

/// Starts a session for `principal` — at login, or when its privileges
/// change. Always a new id; `previous`, the id the browser presented if any,
/// is named in [`NewSession::replaces`] for the store to delete in the same
/// transaction that stores the new one.
pub fn start(
    rng: &mut impl CryptoRngCore,
    principal: &Principal,
    now: OffsetDateTime,
    previous: Option<&SessionId>,
) -> NewSession {
    let id = SessionId::generate(rng);
    let stored = StoredSession {
        digest: id.digest(),
        account: principal.account().clone(),
        role: principal.role().clone(),
        created_at: now,
        last_seen_at: now,
    };
    NewSession {
        id,
        stored,
        replaces: previous.map(SessionId::digest),
    }
}

impl StoredSession {
    /// Checks the presented id against this stored session at `now`.
    ///
    /// # Errors
    /// [`SessionError::Invalid`] if the digests differ (compared in constant
    /// time); [`SessionError::Absolute`] from `created_at + absolute` on;
    /// [`SessionError::Idle`] from `last_seen_at + idle` on.
    pub fn check(
        &self,
        presented: &SessionId,
        policy: &SessionPolicy,
        now: OffsetDateTime,
    ) -> Result<Principal, SessionError> {
        if !presented.digest().ct_eq(&self.digest) {
            return Err(SessionError::Invalid);
        }
        let absolute = self.created_at + policy.absolute;
        if now >= absolute {
            return Err(SessionError::Absolute(absolute));
        }
        let idle = self.last_seen_at + policy.idle;
        if now >= idle {
            return Err(SessionError::Idle(idle));
        }
        Ok(Principal::new(self.account.clone(), self.role.clone()))
    }

    /// When the session ends if it is not used again.
    pub fn expires_at(&self, policy: &SessionPolicy) -> OffsetDateTime {
        (self.last_seen_at + policy.idle).min(self.created_at + policy.absolute)
    }

    /// The new `last_seen_at` to store after a successful check at `now`,
    /// or `None` when the stored one is recent enough.
    pub fn touch(&self, policy: &SessionPolicy, now: OffsetDateTime) -> Option<OffsetDateTime> {
        (now - self.last_seen_at >= policy.touch_after).then_some(now)
    }
}

/// The `SameSite` attribute of a cookie (RFC 6265bis §5.4.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SameSite {
    Strict,
    Lax,
    None,
}

impl SameSite {
    fn as_str(self) -> &'static str {
        match self {
            SameSite::Strict => "Strict",
            SameSite::Lax => "Lax",
            SameSite::None => "None",
        }
    }
}

/// The session cookie's name and attributes, as data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionCookie {
    pub name: &'static str,
    pub http_only: bool,
    pub same_site: SameSite,
    pub secure: bool,
    pub path: &'static str,
}

impl SessionCookie {
    /// The session cookie of a server that serves TLS (`tls`) or plain HTTP.
    /// `SameSite=Strict` keeps the browser from sending it on any request
    /// another site starts — the first defence against CSRF, with the token
    /// of [`crate::csrf`] as the second.
    pub fn new(tls: bool) -> SessionCookie {
        SessionCookie {
            name: if tls {
                "__Host-retrace_session"
            } else {
                "retrace_session"
            },
            http_only: true,
            same_site: SameSite::Strict,
            secure: tls,
            path: "/",
        }
    }

    /// The `Set-Cookie` header value that gives the browser `id`.
    pub fn set(&self, id: &SessionId) -> String {
        self.render(&id.expose_secret(), "")
    }

    /// The `Set-Cookie` header value that removes the cookie, at logout.
    pub fn clear(&self) -> String {
        self.render("", "; Max-Age=0")
    }

    fn render(&self, value: &str, extra: &str) -> String {
        let mut header = format!(
            "{}={value}; Path={}; SameSite={}",
            self.name,
            self.path,
            self.same_site.as_str()
        );
        if self.http_only {
            header.push_str("; HttpOnly");
        }
        if self.secure {
            header.push_str("; Secure");
        }
        header.push_str(extra);
        header
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;
    use time::macros::datetime;

    const LOGIN: OffsetDateTime = datetime!(2025-03-09 08:30 +08:00);

    fn principal() -> Principal {
        Principal::new(
            AccountName::parse("zhao.lei").unwrap(),
            Role::parse("regulator:prefecture:3607:industry_it").unwrap(),
        )
    }

    #[test]
    fn a_session_authenticates_its_principal_until_it_ends() {
        let policy = SessionPolicy::default();
        let new = start(&mut OsRng, &principal(), LOGIN, None);
        assert_eq!(new.replaces, None);
        let cookie = new.id.expose_secret();
        assert_eq!(cookie.len(), 43);
        let presented = SessionId::parse(&cookie).unwrap();
        assert_eq!(presented.digest(), new.stored.digest);
        assert_eq!(
            new.stored.check(&presented, &policy, LOGIN).unwrap(),
            principal()
        );

        // Idle: valid to the second before, ended at the limit.
        let idle_end = LOGIN + Duration::minutes(30);
        assert!(
            new.stored
                .check(&presented, &policy, idle_end - Duration::seconds(1))
                .is_ok()
        );
        assert_eq!(
            new.stored.check(&presented, &policy, idle_end),
            Err(SessionError::Idle(idle_end))
        );
        assert_eq!(new.stored.expires_at(&policy), idle_end);
    }

    #[test]
    fn use_keeps_it_alive_up_to_the_absolute_limit() {
        let policy = SessionPolicy::default();
        let new = start(&mut OsRng, &principal(), LOGIN, None);
        let id = new.id;
        let mut stored = new.stored;
        assert_eq!(stored.touch(&policy, LOGIN + Duration::seconds(59)), None);
        // A request every 20 minutes through the day.
        let mut now = LOGIN;
        let end = LOGIN + Duration::hours(8);
        while now + Duration::minutes(20) < end {
            now += Duration::minutes(20);
            assert!(stored.check(&id, &policy, now).is_ok(), "{now}");
            if let Some(seen) = stored.touch(&policy, now) {
                stored.last_seen_at = seen;
            }
        }
        assert_eq!(stored.expires_at(&policy), end);
        assert!(
            stored
                .check(&id, &policy, end - Duration::seconds(1))
                .is_ok()
        );
        assert_eq!(
            stored.check(&id, &policy, end),
            Err(SessionError::Absolute(end))
        );
    }

    #[test]
    fn login_always_rotates_the_id() {
        let before = start(&mut OsRng, &principal(), LOGIN, None);
        let after = start(
            &mut OsRng,
            &principal(),
            LOGIN + Duration::minutes(5),
            Some(&before.id),
        );
        assert_ne!(after.id.expose_secret(), before.id.expose_secret());
        assert_eq!(after.replaces, Some(before.stored.digest));
        assert_eq!(
            after
                .stored
                .check(&before.id, &SessionPolicy::default(), LOGIN),
            Err(SessionError::Invalid)
        );
    }

    #[test]
    fn malformed_cookies_are_refused_and_ids_hidden() {
        let new = start(&mut OsRng, &principal(), LOGIN, None);
        let value = new.id.expose_secret();
        for bad in [
            String::new(),
            value[..42].to_owned(),
            format!("{value}A"),
            format!("{}=", &value[..42]),
            format!("+{}", &value[1..]),
            "é".repeat(22),
        ] {
            assert!(
                matches!(SessionId::parse(&bad), Err(SessionError::Malformed)),
                "{bad}"
            );
        }
        let debug = format!("{new:?}");
        assert!(!debug.contains(&value), "{debug}");
        assert!(!debug.contains(&new.stored.digest.to_hex()), "{debug}");
    }

    #[test]
    fn cookie_attributes() {
        let new = start(&mut OsRng, &principal(), LOGIN, None);
        let value = new.id.expose_secret();
        let tls = SessionCookie::new(true);
        assert_eq!(
            tls.set(&new.id),
            format!("__Host-retrace_session={value}; Path=/; SameSite=Strict; HttpOnly; Secure")
        );
        assert_eq!(
            tls.clear(),
            "__Host-retrace_session=; Path=/; SameSite=Strict; HttpOnly; Secure; Max-Age=0"
        );
        let plain = SessionCookie::new(false);
        assert_eq!(
            plain.set(&new.id),
            format!("retrace_session={value}; Path=/; SameSite=Strict; HttpOnly")
        );
        let lax = SessionCookie {
            same_site: SameSite::Lax,
            ..plain
        };
        assert!(lax.clear().contains("SameSite=Lax"));
        let none = SessionCookie {
            same_site: SameSite::None,
            ..tls
        };
        assert!(none.clear().contains("SameSite=None"));
    }
}
