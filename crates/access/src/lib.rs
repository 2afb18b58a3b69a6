//! The rules of identity and access in retrace (issue 3 §1–3): who an
//! account is, what it may do and over whose data, and how it proves who it
//! is. Art. 11 of the measures obliges enterprises to protect their network
//! and data and regulators to see only what they supervise; Art. 15 holds
//! officials accountable, so every act is tied to a named account.
//!
//! Pure rules — no storage, no HTTP, no threads, no clock of its own: every
//! function that depends on time takes `now`, and every one that needs
//! randomness takes a generator. The server and the stores build on it:
//!
//! - [`role`]: the seven roles and their reach ([`Role::scope`]);
//! - [`capability`]: the handles a [`Principal`] gets after a permission
//!   check, which handlers and storage calls take as arguments;
//! - [`account`]: account names, stored accounts and password [`login`];
//! - [`password`]: argon2id hashing (RFC 9106, OWASP parameters);
//! - [`policy`]: the rules a new password must meet, explained in Chinese
//!   and English;
//! - [`token`]: API tokens for ERP integration, stored as SHA-256 digests
//!   ([`secret`]);
//! - [`session`]: cookie sessions with idle and absolute expiry, rotated at
//!   every login, and [`csrf`] tokens bound to them;
//! - [`throttle`]: login throttling and lockout by account name and source
//!   address.

pub mod account;
pub mod capability;
pub mod csrf;
#[cfg(feature = "openapi")]
mod openapi;
pub mod password;
pub mod policy;
pub mod role;
pub mod secret;
pub mod session;
pub mod throttle;
pub mod token;

pub use account::{Account, AccountName, Language, LoginError, Principal, login};
pub use capability::{
    AccountAuthority, AdministerAccounts, AdministerRegister, Capability, Denied, DeniedReason,
    Designate, GrantRoles, ManageEnterpriseUsers, ReadAuditTrail, ReadScoped, RecordFlows,
    RecordInspection, SealMonth, SubAllocate,
};
pub use csrf::{CsrfError, CsrfKey, CsrfToken};
pub use password::{PasswordHash, hash_password, verify_password};
pub use policy::{PasswordPolicy, PolicyError};
pub use role::{Department, Regulator, RegulatorLevel, Role, RoleError};
pub use secret::SecretDigest;
pub use session::{
    NewSession, SameSite, SessionCookie, SessionError, SessionId, SessionPolicy, StoredSession,
};
pub use throttle::{Throttle, ThrottleKey, ThrottlePolicy, ThrottleState, Verdict};
pub use token::{ApiToken, GrantError, StoredToken, TokenError, TokenGrant, TokenId};
