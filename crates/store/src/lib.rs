//! The storage contract of retrace (DESIGN.md §3): one [`Store`] trait that
//! the embedded SQLite store and the PostgreSQL store both implement, the
//! caller's [`Scope`] that every read and write requires, the [`trace`]
//! engine that walks stored lineage the same way over either store, and the
//! [`conformance`] suite that holds both to the same answers.

pub mod conformance;
pub mod error;
pub mod model;
pub mod scope;
pub mod store;
pub mod trace;

pub use error::StoreError;
pub use model::*;
pub use scope::Scope;
pub use store::Store;
