//! The PostgreSQL store of retrace (DESIGN.md §3: "PostgreSQL (production;
//! stateless API nodes, one sequencer elected through the database, read
//! replicas for dashboards)"), with exactly the behaviour of the embedded
//! SQLite store: the same Merkle roots and checkpoints of the ledger and of
//! the audit trail, the same projections row for row, the same trace
//! answers, the same identity state and the same errors for the same
//! inputs, held to them by the conformance suite of `retrace_store`. It
//! implements both halves of the contract, `Store` and `Identity`.
//!
//! The data flow follows DESIGN.md §3, module by module:
//!
//! | step | module |
//! |---|---|
//! | validate (the caller's scope; the projector's refusals) | `writer`, `view` |
//! | sequence (ledger index, leaf hash, group commit, the sequencer lock) | `writer`, `sequence` |
//! | capture through any node (queued for the sequencer with its authority and write context, exactly once) | `forward` |
//! | the two Merkle logs' tables: the ledger and the audit trail | `log` |
//! | accounts, sessions, tokens, throttle state | `identity` |
//! | the audit trail's entries and the auditors' searches | `trail` |
//! | project (same transaction, rows written behind through binary COPY) | `sequence`, `pending`, with `retrace_store::cache` |
//! | receipt (signed checkpoint + inclusion proof) | `writer` |
//! | read side, scoped | `read`, `visibility`, `trace`, `register`, `query` |
//! | rebuild and compare | `audit` |
//! | connections, migrations, planner statistics | `connection`, `schema` |
//! | databases made and dropped for benchmarks and tests | `admin` |
//! | the physical limit the benchmark compares with | `raw` |
//!
//! # Driver
//!
//! The synchronous `postgres` client (a thin wrapper of `tokio-postgres`),
//! not `sqlx` nor `tokio-postgres` directly. The projector is synchronous
//! pure code that reads state through a trait (`StateView`) while it
//! decides, record by record; the sequencer is therefore a plain thread that
//! owns one connection and the tree's right edge, exactly as the SQLite
//! writer is, and the two stores share that shape down to the savepoint per
//! request. An async driver would have the sequencer block on every read of
//! the projector anyway. Reads run on tokio's blocking threads with pooled
//! connections, again as SQLite's do, and the trace engine, which is
//! synchronous too, runs unchanged. `sqlx` 0.8 cannot be linked beside the
//! bundled `rusqlite` 0.37 (two `libsqlite3-sys`), and `sqlx` 0.9 would bring
//! a runtime-agnostic async stack this store would only block on.
//!
//! # Partitions
//!
//! `ledger` is partitioned by the month of the record time, one partition a
//! month made by the sequencer when the month's first entry is appended; a
//! narrow unpartitioned `leaf` table (index, month, leaf hash) keeps the
//! index unique across partitions, is the tree's level 0 for proofs and the
//! audit, and names the partition an entry is in. The projection tables are
//! not partitioned: they are read by lot, pool and key across months, and
//! none of their reads would prune.
//!
//! # Both logs refuse UPDATE and DELETE
//!
//! Triggers on `leaf`, `ledger` (all its partitions), `tree_node` and
//! `checkpoint`, and on the audit trail's `trail`, `trail_enterprise`,
//! `trail_node` and `trail_checkpoint`, raise an error for every UPDATE,
//! DELETE and TRUNCATE, for every role; the sequencer works as the role
//! `retrace_sequencer`, which has no UPDATE, DELETE or TRUNCATE privilege on
//! them, and readers as `retrace_reader`. The audit reports a missing or
//! disabled trigger and a grant that would let the sequencer change either
//! log. The schema is in `src/migrations/`.

mod admin;
mod audit;
mod codec;
mod connection;
mod error;
mod forward;
mod identity;
mod log;
mod pending;
mod query;
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

pub use admin::{create_database, database_url, drop_database};
pub use raw::raw_copy_limit;
pub use store::{LedgerRow, Migrated, PgConfig, PgStore, migrate, parse_url};
