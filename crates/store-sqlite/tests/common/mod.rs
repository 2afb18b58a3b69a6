//! Opening a store on a temporary file, with a fixed key, secret and clock,
//! and the records the tests append.

#![allow(
    dead_code,
    reason = "each test binary uses its own part of these helpers"
)]

use std::path::Path;
use std::sync::Arc;

use retrace_domain::clock::ManualClock;
use retrace_domain::project::Projector;
use retrace_ledger::checkpoint::{LogKey, LogVerifier};
use retrace_store_sqlite::{SqliteConfig, SqliteStore};

pub const ORIGIN: &str = "retrace.test/log";

pub fn key() -> LogKey {
    LogKey::from_seed(ORIGIN, &[7; 32]).unwrap()
}

pub fn trail_key() -> LogKey {
    LogKey::from_seed("retrace.test/log/trail", &[8; 32]).unwrap()
}

pub fn config(clock: Arc<ManualClock>) -> SqliteConfig {
    SqliteConfig {
        log_key: key(),
        trail_key: trail_key(),
        salt_secret: [42; 32],
        clock,
        projector: Projector::default(),
    }
}

/// A clock after every flow of the conformance fixture.
pub fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        time::macros::datetime!(2025-07-01 00:00 +08:00),
    ))
}

pub fn open(path: &Path) -> (SqliteStore, LogVerifier) {
    let store = SqliteStore::open(path, config(clock())).unwrap();
    (store, key().verifier())
}

#[allow(
    unused_imports,
    reason = "each test binary uses its own part of these builders"
)]
pub use retrace_store::conformance::records::*;
