//! The audit trail (issue 3 §4; Art. 11 network and data security, Art. 15
//! accountability of officials): every write and every read of another
//! party's data, with who did it, in which role, what, when, from which
//! address and the outcome.
//!
//! The trail is tamper-evident in the same way as the ledger: a second RFC
//! 9162 Merkle log, with its own signed C2SP checkpoints (origin
//! `<log origin>/trail`), whose leaves are the trail entries in the versioned
//! entry encoding of `retrace_ledger::entry` (kind `trail.<action>`, the
//! event as the public part). A write's trail entry is committed in the same
//! transaction as the write — a refused write leaves its trail entry and
//! nothing else — so a write is never in the ledger without the account that
//! made it in the trail.

use std::net::IpAddr;

use retrace_access::{AccountName, Principal, Role, TokenId};
use retrace_domain::region::RegionCode;
use retrace_domain::uscc::Uscc;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// How a caller proved who it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// The command line on the data directory.
    Installation,
    /// A login with a password (the attempt itself).
    Password,
    /// A browser session cookie.
    Session,
    /// An API token, named by its public id.
    Token(String),
    /// No credentials: public verification, a failed login.
    Anonymous,
}

/// Who did something, as the trail names them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Actor {
    /// The account; `None` for the installation or an anonymous caller.
    pub account: Option<AccountName>,
    /// The role the account acted in.
    pub role: Option<Role>,
    pub via: Via,
    /// The network address of the client; `None` on the command line.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub address: Option<IpAddr>,
}

impl Actor {
    /// The installation itself: the command line on the data directory.
    pub fn installation() -> Actor {
        Actor {
            account: None,
            role: None,
            via: Via::Installation,
            address: None,
        }
    }

    /// An authenticated account.
    pub fn principal(principal: &Principal, via: Via, address: Option<IpAddr>) -> Actor {
        Actor {
            account: Some(principal.account().clone()),
            role: Some(principal.role().clone()),
            via,
            address,
        }
    }

    /// A caller without credentials.
    pub fn anonymous(address: Option<IpAddr>) -> Actor {
        Actor {
            account: None,
            role: None,
            via: Via::Anonymous,
            address,
        }
    }

    /// The token the actor came with, if any.
    pub fn token(&self) -> Option<TokenId> {
        match &self.via {
            Via::Token(id) => TokenId::parse(id).ok(),
            _ => None,
        }
    }

    /// The name an act records as its official (Art. 15); `None` for the
    /// installation, which may name any.
    pub fn official(&self) -> Option<&str> {
        match self.via {
            Via::Installation => None,
            _ => Some(self.account.as_ref().map_or("", AccountName::as_str)),
        }
    }

    /// The key idempotency keys are kept under: one space per account, and
    /// one for the installation.
    pub fn idempotency_space(&self) -> String {
        match &self.account {
            Some(a) => format!("account:{a}"),
            None => "installation".to_owned(),
        }
    }
}

/// One thing done, before the trail gives it its index and time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrailEvent {
    pub actor: Actor,
    /// What kind of thing: `read`, `record`, `login`, `logout`,
    /// `account.create`, `token.revoke`, … — a token of `[a-z][a-z0-9_.]*`.
    pub action: String,
    /// What it was done to: the request (`GET /api/v1/events?enterprise=…`)
    /// or the object (`account li.na`).
    pub target: String,
    /// The enterprises whose data it concerned, where known: those a read
    /// answered with, those a write recorded for.
    pub enterprises: Vec<Uscc>,
    /// The region whose data a regional read covered.
    pub region: Option<RegionCode>,
    /// The HTTP status of the answer (or the equivalent: 201 recorded,
    /// 422 refused, 0 for a command that failed to run).
    pub status: u16,
    /// A short account of the outcome, never a secret.
    pub detail: String,
}

/// A trail entry as an auditor reads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrailEntry {
    /// Its index in the trail log.
    pub index: u64,
    /// When the system recorded it (RFC 3339, UTC).
    pub time: String,
    #[serde(flatten)]
    pub event: TrailEvent,
}

/// Which trail entries an auditor lists (issue 3 §4: by person, enterprise,
/// region and time).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrailFilter {
    pub account: Option<AccountName>,
    /// Entries concerning this enterprise, or done by its accounts.
    pub enterprise: Option<Uscc>,
    /// Entries concerning an enterprise supervised in this region, or done by
    /// an official of it.
    pub region: Option<RegionCode>,
    pub action: Option<String>,
    /// Recorded at or after.
    pub from: Option<OffsetDateTime>,
    /// Recorded before.
    pub until: Option<OffsetDateTime>,
}

/// Whether `action` is a well-formed action token.
pub fn is_action(action: &str) -> bool {
    let mut bytes = action.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z'))
        && action.len() <= 48
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_tokens() {
        assert!(is_action("read"));
        assert!(is_action("account.create"));
        assert!(!is_action("Read"));
        assert!(!is_action(".read"));
        assert!(!is_action("read now"));
        assert!(!is_action(""));
    }

    #[test]
    fn actors_name_their_official_and_idempotency_space() {
        let cli = Actor::installation();
        assert_eq!(cli.official(), None);
        assert_eq!(cli.idempotency_space(), "installation");
        let anonymous = Actor::anonymous(None);
        assert_eq!(anonymous.official(), Some(""));
        let with = Actor {
            account: Some(AccountName::parse("li.na").unwrap()),
            role: Some(Role::Administrator),
            via: Via::Token("abcdEFGH".to_owned()),
            address: None,
        };
        assert_eq!(with.official(), Some("li.na"));
        assert_eq!(with.idempotency_space(), "account:li.na");
        assert_eq!(with.token().unwrap().as_str(), "abcdEFGH");
    }
}
