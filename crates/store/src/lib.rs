//! The storage contract of retrace (DESIGN.md §3): one [`Store`] trait that
//! the embedded SQLite store and the PostgreSQL store both implement, the
//! caller's [`Scope`] that every read and write requires, the [`trace`]
//! engine that walks stored lineage the same way over either store, and the
//! [`conformance`] suite that holds both to the same answers.
//!
//! What is not specific to one database lives here too, so that both stores
//! run the same code where the logic is the same: the spelling of values in
//! the tables ([`codec`]), the ledger entry of a record ([`entry`]), which
//! tree nodes are stored ([`nodes`]), the projector's read cache
//! ([`cache`]) and the database-independent steps of the audit ([`audit`]).

pub mod audit;
pub mod cache;
pub mod codec;
pub mod conformance;
pub mod digest;
pub mod entry;
pub mod error;
pub mod model;
pub mod nodes;
pub mod scope;
pub mod store;
pub mod trace;

pub use error::StoreError;
pub use model::*;
pub use scope::Scope;
pub use store::Store;
