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

use std::collections::BTreeSet;
use std::net::IpAddr;

use retrace_access::{AccountName, Principal, Role, TokenId};
use retrace_domain::region::RegionCode;
use retrace_domain::uscc::Uscc;
use retrace_ledger::entry::Entry;
use retrace_ledger::hash::Hash;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::codec::{Corrupt, Decoded, RecordTime};
use crate::error::StoreError;

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

/// The most enterprises one trail entry names; a read that answered with
/// more names the first ones and says how many there were.
pub const MAX_ENTERPRISES: usize = 64;

/// The public part of a trail entry: the event with its time.
#[derive(Serialize, Deserialize)]
struct Stored {
    time: String,
    #[serde(flatten)]
    event: TrailEvent,
}

/// The canonical bytes and leaf of the trail entry for `event` at `time`,
/// the same on every store, so that the same trail gives the same roots.
///
/// # Errors
/// When the action is not an entry kind (a bug).
pub fn encode(event: &TrailEvent, time: &RecordTime) -> Decoded<(Vec<u8>, Hash)> {
    let kind = format!("trail.{}", event.action);
    let stored = Stored {
        time: time.text.clone(),
        event: event.clone(),
    };
    let public = serde_json::to_vec(&stored).map_err(|e| Corrupt::new("trail entry", e))?;
    let entry = Entry::build(&kind, public, &[]).map_err(|e| Corrupt::new("trail entry", e))?;
    Ok((entry.encode(), entry.leaf_hash()))
}

/// Reads a trail entry back from its canonical bytes.
///
/// # Errors
/// When the bytes are not a trail entry.
pub fn decode(index: u64, bytes: &[u8]) -> Decoded<TrailEntry> {
    let entry = Entry::decode(bytes).map_err(|e| Corrupt::new("trail entry", e))?;
    let stored: Stored =
        serde_json::from_slice(entry.public()).map_err(|e| Corrupt::new("trail entry", e))?;
    Ok(TrailEntry {
        index,
        time: stored.time,
        event: stored.event,
    })
}

/// The region whose auditors see what an actor did: an official's region.
fn actor_region(event: &TrailEvent) -> Option<RegionCode> {
    event.actor.role.as_ref().and_then(|r| r.region())
}

/// The enterprises an entry is filed under: those it names and the actor's own.
fn filed_under(event: &TrailEvent) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = event
        .enterprises
        .iter()
        .take(MAX_ENTERPRISES)
        .map(|e| e.as_str().to_owned())
        .collect();
    if let Some(own) = event.actor.role.as_ref().and_then(|r| r.enterprise()) {
        out.insert(own.as_str().to_owned());
    }
    out
}

/// The search columns a trail entry is stored with, as its content says.
#[derive(Debug, PartialEq, Eq)]
pub struct Columns {
    pub time: String,
    pub account: Option<String>,
    pub action: String,
    pub actor_region: Option<String>,
    pub region: Option<String>,
    /// In order, each once.
    pub enterprises: Vec<String>,
}

pub fn columns(entry: &TrailEntry) -> Columns {
    let event = &entry.event;
    Columns {
        time: entry.time.clone(),
        account: event.actor.account.as_ref().map(|a| a.as_str().to_owned()),
        action: event.action.clone(),
        actor_region: actor_region(event).map(|r| r.as_str().to_owned()),
        region: event.region.map(|r| r.as_str().to_owned()),
        enterprises: filed_under(event).into_iter().collect(),
    }
}

/// The HTTP status a store error is answered with, as the trail records it.
pub fn error_status(e: &StoreError) -> u16 {
    match e {
        StoreError::Refused { .. } | StoreError::IdempotencyMismatch { .. } => 422,
        StoreError::Forbidden { .. } => 403,
        StoreError::NotFound(_) => 404,
        StoreError::BadRequest(_) => 400,
        StoreError::Conflict(_) => 409,
        StoreError::Internal(_) => 500,
    }
}

/// What an append came to, as its trail entry tells it.
#[derive(Debug, Clone, Copy)]
pub enum AppendOutcome<'a> {
    /// Recorded as entries `first..=last` (`None` for an empty batch).
    Recorded(Option<(u64, u64)>),
    /// A retry answered with the first request's entries.
    Replayed {
        first: u64,
        count: u64,
    },
    Failed(&'a StoreError),
}

/// The trail entry of an append, refused or not (issue 3 §4), the same on
/// every store.
pub fn append_event(
    context: &crate::write::WriteContext,
    batch: &[retrace_domain::record::Record],
    outcome: AppendOutcome<'_>,
) -> TrailEvent {
    let enterprises: BTreeSet<_> = batch
        .iter()
        .map(|r| r.enterprise().clone())
        .take(MAX_ENTERPRISES)
        .collect();
    let (status, detail) = match outcome {
        AppendOutcome::Recorded(Some((first, last))) => (
            201,
            format!("recorded {} entries, {first}..={last}", last - first + 1),
        ),
        AppendOutcome::Recorded(None) => (201, format!("recorded {} records", batch.len())),
        AppendOutcome::Replayed { first, count } => (
            200,
            format!("a retry: entries {first}.. ({count}) were recorded by the first request"),
        ),
        AppendOutcome::Failed(e) => (error_status(e), e.to_string()),
    };
    let action = match context.actor.via {
        Via::Installation => "load",
        _ => "record",
    };
    TrailEvent {
        actor: context.actor.clone(),
        action: action.to_owned(),
        target: context.request.clone(),
        enterprises: enterprises.into_iter().collect(),
        region: None,
        status,
        detail,
    }
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
