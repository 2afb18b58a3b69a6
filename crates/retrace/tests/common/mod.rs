//! A PostgreSQL database of a test's own, and the binary run against it.
//! Skipped with a message when no server is reachable; under `CI=true` a
//! skip fails.

#![allow(
    dead_code,
    reason = "each test binary uses its own part of these helpers"
)]

use std::path::Path;
use std::process::{Command, Output};

const SERVER_VAR: &str = "RETRACE_TEST_POSTGRES";
const DEFAULT_SERVER: &str = "postgres://postgres@%2Fvar%2Frun%2Fpostgresql/postgres";

/// The binary with `--data DIR`, on `database` if given (else the data
/// directory's embedded store).
pub fn command(data: &Path, database: Option<&str>) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_retrace"));
    command
        .arg("--data")
        .arg(data)
        .env("RUST_LOG", "warn")
        .env_remove("RETRACE_DATABASE_URL");
    if let Some(url) = database {
        command.env("RETRACE_DATABASE_URL", url);
    }
    command
}

pub fn retrace(data: &Path, database: Option<&str>, args: &[&str]) -> Output {
    command(data, database)
        .args(args)
        .output()
        .expect("the retrace binary runs")
}

pub fn ok(data: &Path, database: Option<&str>, args: &[&str]) -> String {
    let out = retrace(data, database, args);
    assert!(
        out.status.success(),
        "retrace {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// A database of the test's own on the server, dropped when it ends.
pub struct Db {
    server: String,
    name: String,
    pub url: String,
}

impl Db {
    pub fn create(test: &str) -> Option<Db> {
        let server = std::env::var(SERVER_VAR).unwrap_or_else(|_| DEFAULT_SERVER.to_owned());
        let name = format!("retrace_{test}_{}", std::process::id());
        match retrace_store_postgres::create_database(&server, &name) {
            Ok(url) => Some(Db { server, name, url }),
            Err(e) => {
                let message = format!("SKIPPED {test}: PostgreSQL is not reachable ({e})");
                let in_ci = std::env::var("CI").is_ok_and(|v| v == "true");
                assert!(
                    !in_ci,
                    "{message}; under CI=true a skipped PostgreSQL test is a failure"
                );
                eprintln!("{message}");
                None
            }
        }
    }

    /// The database's URL with an application name, which names a node in
    /// `pg_stat_activity`.
    pub fn url_as(&self, application: &str) -> String {
        format!("{}?application_name={application}", self.url)
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Err(e) = retrace_store_postgres::drop_database(&self.server, &self.name) {
            eprintln!("could not drop {}: {e}", self.name);
        }
    }
}
