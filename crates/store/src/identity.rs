//! The identity half of the storage contract (issue 3 §1, §3, §4): accounts,
//! browser sessions, API tokens, login throttle state and the audit trail,
//! behind the [`Identity`] trait both stores implement.
//!
//! The rules — who may give which role, when a session or a token stops
//! working, how throttling counts — are pure code in `retrace-access`; the
//! store keeps the state and applies the handles it is given:
//!
//! - reads and changes of accounts and tokens take an [`AccountAuthority`],
//!   and an account or token outside its reach is answered exactly like one
//!   that does not exist ([`StoreError::NotFound`]);
//! - every change is written with its [`TrailEvent`] in one transaction;
//! - the lookups that authenticate a request (an account by name, a session
//!   by digest, a token by id) take no scope: they are how the caller's
//!   scope is found.

use std::future::Future;

use retrace_access::{
    Account, AccountAuthority, AccountName, Language, PasswordHash, Principal, Role, SecretDigest,
    StoredSession, StoredToken, ThrottleKey, ThrottleState, TokenId,
};
use retrace_ledger::checkpoint::SignedCheckpoint;
use retrace_ledger::hash::Hash;
use serde::Serialize;
use time::OffsetDateTime;

use crate::error::StoreError;
use crate::model::{Page, PageRequest};
use crate::scope::Scope;
use crate::trail::{TrailEntry, TrailEvent, TrailFilter};

type Answer<T> = Result<T, StoreError>;

/// An account as the API shows it: never its password hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountView {
    pub name: AccountName,
    pub role: Role,
    pub display_name: String,
    pub language: Language,
    pub disabled: bool,
    /// When it was created and last changed (RFC 3339, UTC).
    pub created_at: String,
    pub updated_at: String,
}

/// A change to an account; the fields left `None` stay as they are.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountChange {
    pub role: Option<Role>,
    pub disabled: Option<bool>,
    pub password: Option<PasswordHash>,
    pub display_name: Option<String>,
    pub language: Option<Language>,
}

impl AccountChange {
    /// Whether the change takes privileges away or changes how the account
    /// proves itself, so that its sessions must end (OWASP: a session does
    /// not survive a change of privilege or of password).
    pub fn ends_sessions(&self) -> bool {
        self.role.is_some() || self.disabled == Some(true) || self.password.is_some()
    }
}

/// An API token as the API lists it: never its digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenView {
    pub id: TokenId,
    pub account: AccountName,
    pub role: Role,
    pub label: String,
    pub issued_by: AccountName,
    pub created_at: String,
    pub expires_at: String,
    pub revoked_at: Option<String>,
}

/// The identity store: accounts, sessions, tokens, throttle state and the
/// audit trail. See the module documentation for how scope applies.
pub trait Identity: Send + Sync + 'static {
    /// The account of `name`, to check a password against. Authentication
    /// only: it answers disabled accounts too.
    fn account(&self, name: &AccountName) -> impl Future<Output = Answer<Option<Account>>> + Send;

    /// Creates an account as the installation (`retrace init`, `retrace
    /// demo`), with its trail entry.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the name is taken.
    fn install_account(
        &self,
        account: Account,
        trail: TrailEvent,
    ) -> impl Future<Output = Answer<AccountView>> + Send;

    /// Creates an account, with its trail entry.
    ///
    /// # Errors
    /// [`StoreError::Forbidden`] when `by` may not give the account's role;
    /// [`StoreError::Conflict`] when the name is taken.
    fn create_account(
        &self,
        by: &AccountAuthority,
        account: Account,
        trail: TrailEvent,
    ) -> impl Future<Output = Answer<AccountView>> + Send;

    /// Changes an account in `by`'s reach; a change that
    /// [`AccountChange::ends_sessions`] ends its sessions in the same
    /// transaction.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is no such account in reach;
    /// [`StoreError::Forbidden`] when `by` may not give the new role.
    fn change_account(
        &self,
        by: &AccountAuthority,
        name: &AccountName,
        change: AccountChange,
        trail: TrailEvent,
    ) -> impl Future<Output = Answer<AccountView>> + Send;

    /// An account's own change of its password, display name or language
    /// (its role and state are not its own to change). A password change
    /// ends its other sessions; `keep` is the session making the change.
    fn change_own_account(
        &self,
        principal: &Principal,
        change: AccountChange,
        keep: Option<SecretDigest>,
        trail: TrailEvent,
    ) -> impl Future<Output = Answer<AccountView>> + Send;

    /// One account in reach.
    fn account_view(
        &self,
        by: &AccountAuthority,
        name: &AccountName,
    ) -> impl Future<Output = Answer<AccountView>> + Send;

    /// The accounts in reach, by name.
    fn accounts(
        &self,
        by: &AccountAuthority,
        page: &PageRequest,
    ) -> impl Future<Output = Answer<Page<AccountView>>> + Send;

    /// The session stored under `digest`, if its account is enabled.
    fn session(
        &self,
        digest: &SecretDigest,
    ) -> impl Future<Output = Answer<Option<StoredSession>>> + Send;

    /// Stores a new session, deleting the one it `replaces` in the same
    /// transaction (session fixation: a login never keeps an old id).
    fn start_session(
        &self,
        session: StoredSession,
        replaces: Option<SecretDigest>,
        trail: TrailEvent,
    ) -> impl Future<Output = Answer<()>> + Send;

    /// Records that a session was used at `at` (no trail entry: the request
    /// itself has one).
    fn touch_session(
        &self,
        digest: &SecretDigest,
        at: OffsetDateTime,
    ) -> impl Future<Output = Answer<()>> + Send;

    /// Ends a session (logout, or found expired).
    fn end_session(
        &self,
        digest: &SecretDigest,
        trail: Option<TrailEvent>,
    ) -> impl Future<Output = Answer<()>> + Send;

    /// The token of `id`, if its account is enabled.
    fn token(&self, id: &TokenId) -> impl Future<Output = Answer<Option<StoredToken>>> + Send;

    /// Stores a token just issued (its role already checked against `by`
    /// by `retrace_access::ApiToken::generate`, and checked again here).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the token's account is not in reach;
    /// [`StoreError::Conflict`] when the id is taken (generate again).
    fn issue_token(
        &self,
        by: &AccountAuthority,
        token: StoredToken,
        trail: TrailEvent,
    ) -> impl Future<Output = Answer<TokenView>> + Send;

    /// Revokes a token in reach at `at`; it stops working with the next
    /// request.
    fn revoke_token(
        &self,
        by: &AccountAuthority,
        id: &TokenId,
        at: OffsetDateTime,
        trail: TrailEvent,
    ) -> impl Future<Output = Answer<TokenView>> + Send;

    /// The tokens in reach, newest first.
    fn tokens(
        &self,
        by: &AccountAuthority,
        page: &PageRequest,
    ) -> impl Future<Output = Answer<Page<TokenView>>> + Send;

    /// The throttle state of each key (the default for a key never seen).
    fn throttle(
        &self,
        keys: Vec<ThrottleKey>,
    ) -> impl Future<Output = Answer<Vec<ThrottleState>>> + Send;

    /// Stores throttle states, with the login attempt's trail entry.
    fn put_throttle(
        &self,
        states: Vec<(ThrottleKey, ThrottleState)>,
        trail: TrailEvent,
    ) -> impl Future<Output = Answer<()>> + Send;

    /// Appends an event to the trail, durably, and answers with its index.
    fn record_trail(&self, event: TrailEvent) -> impl Future<Output = Answer<u64>> + Send;

    /// Trail entries in `scope` (an auditor's region), oldest first. An
    /// entry is in a region's scope when it concerns an enterprise the region
    /// supervises, was done by an account of such an enterprise, or by an
    /// official whose region lies within it.
    fn trail(
        &self,
        scope: &Scope,
        filter: &TrailFilter,
        page: &PageRequest,
    ) -> impl Future<Output = Answer<Page<TrailEntry>>> + Send;

    /// The trail log's latest signed checkpoint (origin `<origin>/trail`).
    fn trail_checkpoint(&self) -> impl Future<Output = Answer<SignedCheckpoint>> + Send;

    /// RFC 9162 §2.1.3 inclusion proof of trail entry `index` in the trail
    /// tree of `size`, with the entry's bytes — for an entry in `scope` only
    /// (the bytes say who read what): outside it, as if there were none.
    fn trail_proof(
        &self,
        scope: &Scope,
        index: u64,
        size: u64,
    ) -> impl Future<Output = Answer<(Vec<u8>, Vec<Hash>)>> + Send;
}

/// A change to the identity tables as a store's writer runs it: one per
/// changing method of [`Identity`], each with the handle that authorises it.
#[derive(Debug)]
pub enum Change {
    /// The installation creates an account (`retrace init`, `retrace demo`).
    Install(Account),
    Create {
        by: AccountAuthority,
        account: Account,
    },
    Update {
        by: AccountAuthority,
        name: AccountName,
        change: AccountChange,
    },
    UpdateOwn {
        principal: Principal,
        change: AccountChange,
        keep: Option<SecretDigest>,
    },
    StartSession {
        session: StoredSession,
        replaces: Option<SecretDigest>,
    },
    TouchSession {
        digest: SecretDigest,
        at: OffsetDateTime,
    },
    EndSession {
        digest: SecretDigest,
    },
    IssueToken {
        by: AccountAuthority,
        token: StoredToken,
    },
    RevokeToken {
        by: AccountAuthority,
        id: TokenId,
        at: OffsetDateTime,
    },
    PutThrottle(Vec<(ThrottleKey, ThrottleState)>),
}

/// What a [`Change`] answers with.
#[derive(Debug)]
pub enum Done {
    Account(AccountView),
    Token(TokenView),
    Nothing,
}

impl Done {
    /// The account a change of one answered with.
    ///
    /// # Errors
    /// [`StoreError::Internal`] when it answered with something else (a bug).
    pub fn account(self) -> Answer<AccountView> {
        match self {
            Done::Account(view) => Ok(view),
            _ => Err(StoreError::Internal(
                "an account change answered without the account".to_owned(),
            )),
        }
    }

    /// The token a change of one answered with.
    ///
    /// # Errors
    /// [`StoreError::Internal`] when it answered with something else (a bug).
    pub fn token(self) -> Answer<TokenView> {
        match self {
            Done::Token(view) => Ok(view),
            _ => Err(StoreError::Internal(
                "a token change answered without the token".to_owned(),
            )),
        }
    }
}

/// The rules every store applies to identity changes, the same on each, so
/// that both answer the same: what a change does to an account row, which
/// token role fits an account, and the errors a change is refused with.
pub mod rules {
    use retrace_access::{
        Account, AccountAuthority, AccountName, GrantRoles, Language, Role, SecretDigest,
        StoredToken,
    };
    use time::OffsetDateTime;

    use super::{AccountChange, AccountView, TokenView};
    use crate::codec::{Corrupt, Decoded, RecordTime};
    use crate::error::StoreError;

    /// A stored time: RFC 3339 in UTC with milliseconds, as record times.
    ///
    /// # Errors
    /// For a time beyond what can be written (year 9999).
    pub fn time_text(at: OffsetDateTime) -> Decoded<String> {
        Ok(RecordTime::new(at)?.text)
    }

    /// A stored time read back.
    ///
    /// # Errors
    /// For text that is not a stored time.
    pub fn parse_time(text: &str) -> Decoded<OffsetDateTime> {
        Ok(RecordTime::parse(text)?.at)
    }

    /// A stored role read back.
    ///
    /// # Errors
    /// For text that is not a role.
    pub fn role(text: &str) -> Decoded<Role> {
        Role::parse(text).map_err(|e| Corrupt::new("role", e))
    }

    /// A stored account name read back.
    ///
    /// # Errors
    /// For text that is not an account name.
    pub fn account_name(text: &str) -> Decoded<AccountName> {
        AccountName::parse(text).map_err(|e| Corrupt::new("account name", e))
    }

    /// A stored SHA-256 digest (of a session id or a token) read back.
    ///
    /// # Errors
    /// For text that is not a digest in hex.
    pub fn digest(text: &str) -> Decoded<SecretDigest> {
        SecretDigest::from_hex(text).map_err(|e| Corrupt::new("digest", e))
    }

    /// A stored language tag read back.
    ///
    /// # Errors
    /// For text that is not a language retrace speaks.
    pub fn language(text: &str) -> Decoded<Language> {
        Language::parse(text).ok_or_else(|| Corrupt::new("language", text))
    }

    /// Applies the fields `change` sets to `account`.
    pub fn apply(account: &mut Account, change: &AccountChange) {
        if let Some(role) = &change.role {
            account.role = role.clone();
        }
        if let Some(disabled) = change.disabled {
            account.disabled = disabled;
        }
        if let Some(password) = &change.password {
            account.password = password.clone();
        }
        if let Some(name) = &change.display_name {
            account.display_name = name.clone();
        }
        if let Some(language) = change.language {
            account.language = language;
        }
    }

    /// Whether `change` revokes the account's tokens: a token acts in its
    /// account's role, so a change of role or a disabled account revokes
    /// every one (a password change does not: an ERP connection is not a
    /// login).
    pub fn revokes_tokens(change: &AccountChange) -> bool {
        change.role.is_some() || change.disabled == Some(true)
    }

    /// Whether `change` takes the administrator role away from `current`,
    /// which must then not be the last enabled administrator.
    pub fn demotes_administrator(current: &Account, change: &AccountChange) -> bool {
        current.role == Role::Administrator
            && (change
                .role
                .as_ref()
                .is_some_and(|r| *r != Role::Administrator)
                || change.disabled == Some(true))
    }

    /// The refusal of a change that would leave no enabled administrator.
    pub fn last_administrator() -> StoreError {
        StoreError::Conflict(
            "this is the last enabled administrator: create another before changing it".to_owned(),
        )
    }

    /// `by` may give `role`, or the refusal naming the field.
    ///
    /// # Errors
    /// [`StoreError::Forbidden`] on the field `role`.
    pub fn may_grant(by: &AccountAuthority, role: &Role) -> Result<(), StoreError> {
        by.may_grant(role).map_err(|e| StoreError::Forbidden {
            record: 0,
            field: "role",
            why: e.to_string(),
        })
    }

    /// A token of `token.role` may act for an account of `account_role`: in
    /// the account's own role, or an enterprise manager's account as its
    /// enterprise's operator (a narrower role for an ERP connection).
    ///
    /// # Errors
    /// [`StoreError::Forbidden`] on the field `role`.
    pub fn token_fits(token: &StoredToken, account_role: &Role) -> Result<(), StoreError> {
        let fits = token.role == *account_role
            || matches!(
                (&token.role, account_role),
                (Role::EnterpriseOperator { enterprise: a }, Role::EnterpriseManager { enterprise: b }) if a == b
            );
        if fits {
            return Ok(());
        }
        Err(StoreError::Forbidden {
            record: 0,
            field: "role",
            why: format!(
                "a token acts in its account's role ({account_role}) or, for an enterprise manager, as \
                 its enterprise's operator"
            ),
        })
    }

    /// The refusal of an account name already taken.
    pub fn name_taken(name: &AccountName) -> StoreError {
        StoreError::Conflict(format!(
            "an account named `{name}` exists already; choose another name"
        ))
    }

    /// What a store answers for an account that does not exist or is out
    /// of reach.
    pub fn no_account(name: &AccountName) -> StoreError {
        StoreError::NotFound(format!("account {name}"))
    }

    /// An account as the API shows it.
    pub fn view(account: &Account, created_at: String, updated_at: String) -> AccountView {
        AccountView {
            name: account.name.clone(),
            role: account.role.clone(),
            display_name: account.display_name.clone(),
            language: account.language,
            disabled: account.disabled,
            created_at,
            updated_at,
        }
    }

    /// A token as the API lists it.
    ///
    /// # Errors
    /// When a time cannot be written (beyond year 9999).
    pub fn token_view(t: &StoredToken) -> Decoded<TokenView> {
        let text = |at| RecordTime::new(at).map(|t| t.text);
        Ok(TokenView {
            id: t.id.clone(),
            account: t.account.clone(),
            role: t.role.clone(),
            label: t.label.clone(),
            issued_by: t.issued_by.clone(),
            created_at: text(t.created_at)?,
            expires_at: text(t.expires_at)?,
            revoked_at: t.revoked_at.map(text).transpose()?,
        })
    }
}
