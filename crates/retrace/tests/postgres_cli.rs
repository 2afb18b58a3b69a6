//! The binary on PostgreSQL: an embedded installation moved with `retrace
//! copy`, then every verb against the database giving what it gave on
//! SQLite, and `audit` naming a row changed behind the system's back.
//! Skipped with a message when no PostgreSQL server is reachable; under
//! `CI=true` a skip fails.

mod common;

use common::{Db, ok, retrace};

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
