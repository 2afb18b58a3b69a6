//! The binary on PostgreSQL: an embedded installation moved with `retrace
//! copy`, then every verb against the database giving what it gave on
//! SQLite, and `audit` naming a row changed behind the system's back.
//! Skipped with a message when no PostgreSQL server is reachable; under
//! `CI=true` a skip fails.

use std::path::Path;
use std::process::{Command, Output};

const SERVER_VAR: &str = "RETRACE_TEST_POSTGRES";
const DEFAULT_SERVER: &str = "postgres://postgres@%2Fvar%2Frun%2Fpostgresql/postgres";

fn retrace(data: &Path, database: Option<&str>, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_retrace"));
    command
        .arg("--data")
        .arg(data)
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("RETRACE_DATABASE_URL");
    if let Some(url) = database {
        command.env("RETRACE_DATABASE_URL", url);
    }
    command.output().expect("the retrace binary runs")
}

fn ok(data: &Path, database: Option<&str>, args: &[&str]) -> String {
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
struct Db {
    server: String,
    name: String,
    url: String,
}

impl Db {
    fn create() -> Option<Db> {
        let server = std::env::var(SERVER_VAR).unwrap_or_else(|_| DEFAULT_SERVER.to_owned());
        let name = format!("retrace_cli_{}", std::process::id());
        match retrace_store_postgres::create_database(&server, &name) {
            Ok(url) => Some(Db { server, name, url }),
            Err(e) => {
                let message = format!("SKIPPED postgres_cli: PostgreSQL is not reachable ({e})");
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
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Err(e) = retrace_store_postgres::drop_database(&self.server, &self.name) {
            eprintln!("could not drop {}: {e}", self.name);
        }
    }
}

#[test]
fn an_embedded_installation_moves_into_postgres() {
    let Some(db) = Db::create() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    ok(
        &data,
        None,
        &["demo", "--anomalies", "--no-serve", "--scale", "3000"],
    );
    let sqlite = format!("sqlite:{}", data.join("retrace.db").display());
    let moved = ok(&data, None, &["copy", "--from", &sqlite, "--to", &db.url]);
    assert!(moved.contains("the move is proved"), "{moved}");
    assert!(!moved.contains("DIFFERS"), "{moved}");

    let pg = Some(db.url.as_str());
    for args in [
        &["flags", "--json"][..],
        &["checkpoint"],
        &["receipt", "100"],
    ] {
        assert_eq!(
            ok(&data, None, args),
            ok(&data, pg, args),
            "retrace {args:?} answers the same on both stores"
        );
    }
    let audit = ok(&data, pg, &["audit"]);
    assert!(audit.contains("audit passed"), "{audit}");

    let again = retrace(&data, None, &["copy", "--from", &sqlite, "--to", &db.url]);
    assert!(
        !again.status.success(),
        "a second copy into a ledger is refused"
    );

    // What someone with psql could do: a projection has no guard, the audit is its guard.
    let mut client = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    client
        .batch_execute(
            "UPDATE position SET mass = mass + 1 WHERE lot = (SELECT min(lot) FROM position)",
        )
        .unwrap();
    drop(client);
    let out = retrace(&data, pg, &["audit"]);
    assert_eq!(out.status.code(), Some(1), "a changed row fails the audit");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("DIFFERS position"), "{text}");
}
