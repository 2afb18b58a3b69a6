//! The caller's scope and authority, which every storage call requires
//! (DESIGN.md §3). They are domain values (`retrace_domain::scope`), so that
//! the access layer can hand them out without depending on storage; they are
//! re-exported here because every store takes them.

pub use retrace_domain::scope::{Authority, NotPermitted, Scope};
