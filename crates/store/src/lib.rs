//! The storage contract of retrace (DESIGN.md §3): the [`Store`] trait (the
//! ledger and its projections) and the [`Identity`] trait (accounts,
//! sessions, tokens, the audit trail) that the embedded SQLite store and the
//! PostgreSQL store both implement; the caller's [`Scope`] that every read
//! requires and the [`Authority`] and [`WriteContext`] every write requires;
//! the [`trace`] engine and the [`public`] chain that walk stored lineage the
//! same way over either store; and the [`conformance`] suite that holds both
//! to the same answers.

pub mod audit;
pub mod cache;
pub mod codec;
pub mod conformance;
pub mod digest;
pub mod entry;
pub mod error;
pub mod identity;
pub mod model;
pub mod nodes;
pub mod public;
pub mod scope;
pub mod store;
pub mod trace;
pub mod trail;
pub mod write;

pub use error::StoreError;
pub use identity::{AccountChange, AccountView, Identity, TokenView};
pub use model::*;
pub use scope::{Authority, Scope};
pub use store::Store;
pub use trail::{Actor, TrailEntry, TrailEvent, TrailFilter, Via};
pub use write::{Idempotency, WriteContext};
