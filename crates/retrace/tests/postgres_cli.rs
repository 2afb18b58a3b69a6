//! The binary on PostgreSQL: an embedded installation — its ledger, its
//! accounts and its audit trail — moved with `retrace copy`, then every verb
//! against the database giving what it gave on SQLite, and `audit` naming a
//! row changed behind the system's back; and `init`, `demo` and `serve` on
//! PostgreSQL: the first administrator and the demo accounts in the
//! database, a login over HTTP, a record with an API token, on the trail.
//! Skipped with a message when no PostgreSQL server is reachable; under
//! `CI=true` a skip fails.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use common::{Db, command, ok, retrace};
use retrace_store::conformance::{fixture, parties, records};

#[test]
fn an_embedded_installation_moves_into_postgres() {
    let Some(db) = Db::create("postgres_cli") else {
        return;
    };
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
    for table in ["account", "trail", "trail_checkpoint", "idempotency"] {
        assert!(
            moved.contains(&format!("same    {table}: ")),
            "{table} is compared: {moved}"
        );
    }
    assert!(
        !moved.contains("same    account: 0 rows"),
        "the demo accounts moved: {moved}"
    );
    assert!(
        !moved.contains("same    trail: 0 rows"),
        "the trail moved: {moved}"
    );

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

/// A `serve` process on `database`; answers it and the address it listens on.
fn serve(data: &std::path::Path, database: &str) -> (std::process::Child, String) {
    let mut child = command(data, Some(database))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout is piped")).lines();
    let address = loop {
        let line = lines.next().expect("serve says where it serves").unwrap();
        if let Some(rest) = line.strip_prefix("retrace is serving http://") {
            break rest.split('/').next().unwrap().to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (child, address)
}

#[test]
fn a_postgres_installation_logs_in_and_records_with_a_token() {
    let Some(db) = Db::create("postgres_serve") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let said = common::init(&data, Some(&db.url));
    assert!(said.contains("administrator `admin` created"), "{said}");
    let mut client = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    let role: String = client
        .query_one("SELECT role FROM account WHERE name = 'admin'", &[])
        .unwrap()
        .get(0);
    assert_eq!(
        role, "administrator",
        "the first administrator is in PostgreSQL"
    );
    assert!(
        !data.join("retrace.db").exists(),
        "nothing went into an embedded store"
    );

    let register: Vec<_> = fixture()
        .into_iter()
        .take_while(|r| matches!(r, retrace_domain::record::Record::Act(_)))
        .collect();
    let register_file = dir.path().join("register.json");
    std::fs::write(&register_file, serde_json::to_vec(&register).unwrap()).unwrap();
    ok(
        &data,
        Some(&db.url),
        &["record", register_file.to_str().unwrap()],
    );

    let (mut node, address) = serve(&data, &db.url);
    let exporter = parties().exporter;
    let wrong =
        serde_json::json!({"account": "admin", "password": "not-the-password-1"}).to_string();
    let refused = common::http(&address, "POST", "/api/v1/session", &[], &wrong).unwrap();
    assert_eq!(refused.status, 401, "{refused:?}");
    let token = common::operator_token(&address, "pg.clerk", exporter.as_str());
    let body = serde_json::to_string(&vec![records::opening(
        records::may(5),
        &exporter,
        "BY-TOKEN",
        1_000,
    )])
    .unwrap();
    let bearer = format!("Bearer {token}");
    let recorded = common::http(
        &address,
        "POST",
        "/api/v1/events",
        &[("Authorization", bearer.as_str())],
        &body,
    )
    .unwrap();
    assert_eq!(recorded.status, 201, "{recorded:?}");
    let index = recorded.body["receipts"][0]["index"].as_u64().unwrap();
    let anonymous = common::http(&address, "POST", "/api/v1/events", &[], &body).unwrap();
    assert_eq!(anonymous.status, 401, "no credentials, nothing recorded");
    let other = parties().miner;
    let theirs = serde_json::to_string(&vec![records::opening(
        records::may(6),
        &other,
        "NOT-MINE",
        1_000,
    )])
    .unwrap();
    let forbidden = common::http(
        &address,
        "POST",
        "/api/v1/events",
        &[("Authorization", bearer.as_str())],
        &theirs,
    )
    .unwrap();
    assert_eq!(forbidden.status, 403, "{forbidden:?}");
    node.kill().ok();
    node.wait().ok();

    let trailed: Vec<(String, i32)> = client
        .query(
            "SELECT action, (length(entry) > 0)::int FROM trail WHERE account = 'pg.clerk' ORDER BY idx",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let actions: Vec<&str> = trailed.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        ["record", "record"],
        "the record and the refusal, as pg.clerk's"
    );
    let entry: String = client
        .query_one(
            "SELECT enterprise FROM ledger WHERE idx = $1",
            &[&i64::try_from(index).unwrap()],
        )
        .unwrap()
        .get(0);
    assert_eq!(entry, exporter.as_str());
    drop(client);
    let audit = ok(&data, Some(&db.url), &["audit"]);
    assert!(audit.contains("audit passed"), "{audit}");
}

#[test]
fn the_demo_makes_its_accounts_in_postgres() {
    let Some(db) = Db::create("postgres_demo") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = ok(
        &data,
        Some(&db.url),
        &["demo", "--no-serve", "--scale", "2000"],
    );
    assert!(out.contains("national.auditor"), "{out}");
    let mut client = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    let names: Vec<String> = client
        .query("SELECT name FROM account ORDER BY name", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    for name in ["admin", "baotou.clerk", "ganzhou.city", "national.auditor"] {
        assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
    }
    let trail: i64 = client
        .query_one(
            "SELECT count(*) FROM trail WHERE action = 'account.create'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(
        usize::try_from(trail).unwrap(),
        names.len(),
        "each account on the trail"
    );
}
