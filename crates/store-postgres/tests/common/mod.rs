//! A fresh PostgreSQL database per test, dropped afterwards, and a store
//! opened on it with a fixed key, secret and clock.
//!
//! The server is `RETRACE_TEST_POSTGRES` (a `postgres://` URL to a database
//! the tests may create databases from), by default the local cluster's
//! socket as `postgres`. When it cannot be reached a test prints SKIPPED and
//! passes — except under `CI=true`, where a skip fails the run.

#![allow(
    dead_code,
    reason = "each test binary uses its own part of these helpers"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use retrace_domain::clock::ManualClock;
use retrace_domain::project::Projector;
use retrace_ledger::checkpoint::{LogKey, LogVerifier};
use retrace_store_postgres::{PgConfig, PgStore};

pub const ORIGIN: &str = "retrace.test/log";

const SERVER_VAR: &str = "RETRACE_TEST_POSTGRES";
const DEFAULT_SERVER: &str = "postgres://postgres@%2Fvar%2Frun%2Fpostgresql/postgres";

pub fn key() -> LogKey {
    LogKey::from_seed(ORIGIN, &[7; 32]).unwrap()
}

pub fn trail_key() -> LogKey {
    LogKey::from_seed(&format!("{ORIGIN}/trail"), &[8; 32]).unwrap()
}

/// A clock after every flow of the conformance fixture.
pub fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        time::macros::datetime!(2025-07-01 00:00 +08:00),
    ))
}

pub fn config(clock: Arc<ManualClock>) -> PgConfig {
    PgConfig {
        log_key: key(),
        trail_key: trail_key(),
        salt_secret: [42; 32],
        clock,
        projector: Projector::default(),
    }
}

/// Runs `f` on a thread of its own with a connection to the server: the
/// synchronous client may not run on a test's async worker.
fn admin<T: Send + 'static>(
    url: String,
    f: impl FnOnce(&mut postgres::Client) -> Result<T, postgres::Error> + Send + 'static,
) -> Result<T, postgres::Error> {
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls)?;
        f(&mut client)
    })
    .join()
    .expect("the admin thread does not panic")
}

/// A database made for one test and dropped with it.
#[derive(Debug)]
pub struct TestDb {
    server: String,
    name: String,
    pub url: String,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    /// A fresh database, or `None` (after printing why) when no server is
    /// reachable outside CI.
    ///
    /// # Panics
    /// Under `CI=true` when no server is reachable.
    pub fn create(test: &str) -> Option<TestDb> {
        let server = std::env::var(SERVER_VAR).unwrap_or_else(|_| DEFAULT_SERVER.to_owned());
        let name = format!(
            "retrace_test_{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            time::OffsetDateTime::now_utc().unix_timestamp_nanos() % 1_000_000_000
        );
        let create = format!("CREATE DATABASE {name}");
        match admin(server.clone(), move |c| c.batch_execute(&create)) {
            Ok(()) => {}
            Err(e) => {
                let message = format!(
                    "SKIPPED {test}: PostgreSQL is not reachable at {SERVER_VAR} or the local socket ({e})"
                );
                if std::env::var("CI").is_ok_and(|v| v == "true") {
                    panic!("{message}; under CI=true a skipped PostgreSQL test is a failure");
                }
                eprintln!("{message}");
                return None;
            }
        }
        let mut config: postgres::Config = server.parse().expect("the server URL parses");
        config.dbname(&name);
        let url = format!(
            "host={} user={} dbname={name}",
            host_of(&config),
            config.get_user().unwrap_or("postgres")
        );
        Some(TestDb { server, name, url })
    }

    /// Runs SQL as the database's owner, as someone with a shell would.
    pub fn sql(&self, sql: &str) -> Result<(), postgres::Error> {
        let sql = sql.to_owned();
        admin(self.url.clone(), move |c| c.batch_execute(&sql))
    }

    /// One value of a query.
    pub fn value_i64(&self, sql: &str) -> i64 {
        let sql = sql.to_owned();
        admin(self.url.clone(), move |c| {
            c.query_one(&sql, &[])?.try_get(0)
        })
        .unwrap()
    }

    pub fn open(&self) -> (PgStore, LogVerifier) {
        self.open_with(clock())
    }

    pub fn open_with(&self, clock: Arc<ManualClock>) -> (PgStore, LogVerifier) {
        let store = PgStore::open(&self.url, config(clock)).unwrap();
        (store, key().verifier())
    }
}

fn host_of(config: &postgres::Config) -> String {
    match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => format!(
            "{h} port={}",
            config.get_ports().first().copied().unwrap_or(5432)
        ),
        Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "/var/run/postgresql".to_owned(),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = admin(self.server.clone(), move |c| c.batch_execute(&drop)) {
            eprintln!("could not drop {}: {e}", self.name);
        }
    }
}
