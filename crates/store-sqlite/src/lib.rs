//! The embedded store of retrace (DESIGN.md §3: "embedded SQLite (the
//! default, zero setup)"): SQLite in WAL mode, one writer thread that
//! group-commits, the projections updated in the same transaction as the
//! ledger append, and a small pool of read-only connections.
//!
//! The data flow follows DESIGN.md §3, module by module:
//!
//! | step | module |
//! |---|---|
//! | validate (the caller's scope; the projector's refusals) | `writer`, `view` |
//! | sequence (ledger index, leaf hash, group commit) | `writer`, `sequence` |
//! | project (same transaction) | `sequence`, with `retrace_store::cache` |
//! | receipt (signed checkpoint + inclusion proof) | `writer` |
//! | read side, scoped | `read`, `register`, `visibility`, `trace` |
//! | accounts, sessions, tokens, throttle state | `identity` |
//! | the audit trail, a second Merkle log | `trail`, `log` |
//! | rebuild and compare | `audit` |
//! | connections, pragmas, migrations | `schema` |
//! | the physical limit the benchmark compares with | `raw` |
//!
//! The schema is in `src/migrations/`.

mod audit;
mod codec;
mod error;
mod identity;
mod log;
mod raw;
mod read;
mod register;
mod schema;
mod sequence;
mod store;
mod trace;
mod trail;
mod view;
mod visibility;
mod writer;

pub use raw::raw_insert_limit;
pub use retrace_store::audit::TreeReport;
pub use store::{LedgerRow, SqliteConfig, SqliteStore, migrate};
