//! The sequencer on PostgreSQL: group commit, the append-only ledger refused
//! by the database itself, one sequencer at a time, reopening where the last
//! commit ended, and the audit naming what was changed behind its back.

mod common;

use std::sync::Arc;

use retrace_ledger::proof::verify_consistency;
use retrace_store::conformance::{UNLICENSED_EXPORT, fixture, lots, parties, records};
use retrace_store::{AuditProblem, Authority, Scope, Store, WriteContext};

fn register() -> Vec<retrace_domain::record::Record> {
    fixture()
        .into_iter()
        .take_while(|r| matches!(r, retrace_domain::record::Record::Act(_)))
        .collect()
}

fn names(problems: &[AuditProblem], table: &str, key: &str, column: Option<&str>) -> bool {
    problems
        .iter()
        .any(|p| p.table == table && p.key == key && p.column.as_deref() == column)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_share_commits() {
    let Some(db) = common::TestDb::create("concurrent_appends_share_commits") else {
        return;
    };
    let (store, verifier) = db.open();
    store.load(register(), "test").unwrap();
    let store = Arc::new(store);
    let before = store.commits();
    let exporter = parties().exporter;
    const N: u64 = 64;
    let tasks: Vec<_> = (0..N)
        .map(|n| {
            let (store, exporter) = (Arc::clone(&store), exporter.clone());
            tokio::spawn(async move {
                let record = records::opening(
                    records::may(n as i64),
                    &exporter,
                    &format!("G-{n}"),
                    1_000_000 + n,
                );
                store
                    .append(
                        &Authority::Enterprise(exporter.clone()),
                        vec![record],
                        &WriteContext::installation("test"),
                    )
                    .await
            })
        })
        .collect();
    let mut indices = Vec::new();
    for task in tasks {
        let appended = task.await.unwrap().unwrap();
        appended.receipts[0].verify(&verifier).unwrap();
        indices.push(appended.receipts[0].index);
    }
    indices.sort_unstable();
    indices.dedup();
    assert_eq!(indices.len() as u64, N, "every append got its own index");
    let commits = store.commits() - before;
    assert!(commits < N, "{N} concurrent appends took {commits} commits");
    let report = store.audit(None).await.unwrap();
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_refuses_to_change_the_ledger() {
    let Some(db) = common::TestDb::create("the_database_refuses_to_change_the_ledger") else {
        return;
    };
    let (store, _) = db.open();
    store.load(fixture(), "test").unwrap();
    for sql in [
        "UPDATE ledger SET kind = 'flow.ship' WHERE idx = 0",
        "DELETE FROM ledger WHERE idx = 0",
        "UPDATE leaf SET hash = '\\x00' WHERE idx = 0",
        "DELETE FROM leaf",
        "TRUNCATE leaf CASCADE",
        "UPDATE tree_node SET hash = '\\x00' WHERE level = 4",
        "DELETE FROM tree_node",
        "TRUNCATE tree_node",
        "UPDATE checkpoint SET note = '\\x00'",
        "DELETE FROM checkpoint",
        "TRUNCATE checkpoint",
        "UPDATE trail SET action = 'read' WHERE idx = 0",
        "DELETE FROM trail",
        "TRUNCATE trail CASCADE",
        "DELETE FROM trail_enterprise",
        "TRUNCATE trail_node",
        "UPDATE trail_checkpoint SET note = '\\x00'",
        "DELETE FROM trail_checkpoint",
    ] {
        let err = db.sql(sql).expect_err(sql);
        assert!(format!("{err:?}").contains("append-only"), "{sql}: {err:?}");
    }
    let (l, p) = (lots(), parties());
    drop(store);
    let (store, _) = db.open();
    assert!(store.lot(&Scope::Installation, &l.ore).await.is_ok());
    assert!(store.entry(&Scope::Enterprise(p.miner), 15).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_names_what_was_changed() {
    let Some(db) = common::TestDb::create("the_audit_names_what_was_changed") else {
        return;
    };
    let (store, _) = db.open();
    store
        .append(
            &Authority::Installation,
            fixture(),
            &WriteContext::installation("test"),
        )
        .await
        .unwrap();
    let clean = store.audit(None).await.unwrap();
    assert!(clean.problems.is_empty(), "{:#?}", clean.problems);
    assert_eq!(clean.entries, fixture().len() as u64);

    let (p, l) = (parties(), lots());
    db.sql(&format!(
        "UPDATE position SET mass = mass + 1000 WHERE lot = (SELECT id FROM lot WHERE code = '{}') AND holder = '{}'",
        l.ore, p.miner
    ))
    .unwrap();
    let ore = db.value_i64(&format!("SELECT id FROM lot WHERE code = '{}'", l.ore));
    let report = store.audit(None).await.unwrap();
    let key = format!("lot={ore}, holder={}, owner={}", p.miner, p.miner);
    assert!(
        names(&report.problems, "position", &key, Some("mass")),
        "{:#?}",
        report.problems
    );
    assert_eq!(report.problems.len(), 1, "{:#?}", report.problems);

    let flag = format!("export_without_licence:{UNLICENSED_EXPORT}");
    db.sql(&format!("DELETE FROM flag WHERE key = '{flag}'"))
        .unwrap();
    let report = store.audit(None).await.unwrap();
    assert!(
        names(&report.problems, "flag", &format!("key={flag}"), None),
        "{:#?}",
        report.problems
    );

    // What someone with psql would have to do to change a ledger byte: lift
    // the guard, change the byte of entry 20, put the guard back.
    db.sql(
        "ALTER TABLE ledger DISABLE TRIGGER ledger_no_update;
         UPDATE ledger SET entry = overlay(entry placing '\\x00' from 9 for 1) WHERE idx = 20;
         ALTER TABLE ledger ENABLE TRIGGER ledger_no_update;",
    )
    .unwrap();
    let report = store.audit(None).await.unwrap();
    assert!(
        names(&report.problems, "ledger", "20", Some("leaf")),
        "{:#?}",
        report.problems
    );
    assert!(
        names(&report.problems, "ledger", "idx=20", Some("entry")),
        "{:#?}",
        report.problems
    );

    db.sql("ALTER TABLE checkpoint DISABLE TRIGGER checkpoint_no_delete")
        .unwrap();
    let report = store.audit(None).await.unwrap();
    assert!(
        names(&report.problems, "pg_trigger", "checkpoint_no_delete", None),
        "{:#?}",
        report.problems
    );

    // The audit trail the same way: the append's trail entry, its account
    // column changed behind the guard's back, then a byte of its entry.
    assert!(report.trail_entries > 0);
    db.sql(
        "ALTER TABLE trail DISABLE TRIGGER trail_no_update;
         UPDATE trail SET action = 'read' WHERE idx = 0;
         ALTER TABLE trail ENABLE TRIGGER trail_no_update;",
    )
    .unwrap();
    let report = store.audit(None).await.unwrap();
    assert!(
        names(&report.problems, "trail", "0", Some("action")),
        "{:#?}",
        report.problems
    );
    db.sql(
        "ALTER TABLE trail DISABLE TRIGGER trail_no_update;
         UPDATE trail SET entry = overlay(entry placing '\\x00' from 9 for 1) WHERE idx = 0;
         ALTER TABLE trail ENABLE TRIGGER trail_no_update;",
    )
    .unwrap();
    let report = store.audit(None).await.unwrap();
    assert!(
        names(&report.problems, "trail", "0", Some("leaf")),
        "{:#?}",
        report.problems
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reopened_store_goes_on_from_its_last_commit() {
    let Some(db) = common::TestDb::create("a_reopened_store_goes_on_from_its_last_commit") else {
        return;
    };
    let exporter = parties().exporter;
    let old = {
        let (store, _) = db.open();
        store.load(register(), "test").unwrap();
        let batch = (0..7)
            .map(|n| records::opening(records::may(n), &exporter, &format!("R-{n}"), 5_000))
            .collect();
        store
            .append(
                &Authority::Installation,
                batch,
                &WriteContext::installation("test"),
            )
            .await
            .unwrap()
            .checkpoint
    };
    let (store, verifier) = db.open();
    assert_eq!(store.checkpoint().await.unwrap(), old);
    let more = (7..40)
        .map(|n| records::opening(records::may(n), &exporter, &format!("R-{n}"), 5_000))
        .collect();
    let appended = store
        .append(
            &Authority::Installation,
            more,
            &WriteContext::installation("test"),
        )
        .await
        .unwrap();
    for receipt in &appended.receipts {
        receipt.verify(&verifier).unwrap();
    }
    let (old, new) = (
        old.verify(&verifier).unwrap(),
        appended.checkpoint.verify(&verifier).unwrap(),
    );
    assert_eq!(appended.receipts[0].index, old.size());
    let proof = store
        .consistency_proof(old.size(), new.size())
        .await
        .unwrap();
    verify_consistency(old.size(), new.size(), &old.root(), &new.root(), &proof).unwrap();
    let report = store.audit(None).await.unwrap();
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
}

/// Two stores on one database, as two nodes: the first to write holds the
/// sequencer lock, so the second cannot sign a second tree of the same size
/// — it queues what it is asked to append and the first sequences it; once
/// the first is gone, the second takes the lock and goes on from the last
/// commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_sequencer_at_a_time() {
    let Some(db) = common::TestDb::create("one_sequencer_at_a_time") else {
        return;
    };
    let (first, _) = db.open();
    let (second, verifier) = db.open();
    first.load(register(), "test").unwrap();
    let exporter = parties().exporter;
    let record = |n: i64| records::opening(records::may(n), &exporter, &format!("L-{n}"), 5_000);
    let forwarded = second
        .append(
            &Authority::Enterprise(exporter.clone()),
            vec![record(1)],
            &WriteContext::installation("test"),
        )
        .await
        .unwrap();
    assert_eq!(forwarded.receipts[0].index, register().len() as u64);
    forwarded.receipts[0].verify(&verifier).unwrap();
    assert_eq!(second.commits(), 0, "the second node sequenced nothing");
    assert_eq!(
        first.commits(),
        2,
        "the first sequenced its load and the queued batch"
    );
    let refused = second
        .append(
            &Authority::Enterprise(parties().miner),
            vec![record(2)],
            &WriteContext::installation("test"),
        )
        .await;
    assert!(
        matches!(
            refused,
            Err(retrace_store::StoreError::Forbidden { record: 0, .. })
        ),
        "a queued batch is refused as it would be at the sequencer: {refused:?}"
    );
    drop(first);
    let appended = second
        .append(
            &Authority::Installation,
            vec![record(3)],
            &WriteContext::installation("test"),
        )
        .await
        .unwrap();
    assert_eq!(appended.receipts[0].index, register().len() as u64 + 1);
    appended.receipts[0].verify(&verifier).unwrap();
    assert_eq!(second.commits(), 1, "the second took over");
    let report = second.audit(None).await.unwrap();
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
}

const KILL_DB: &str = "RETRACE_KILL_TEST_URL";

/// The child of [`kill_9_loses_no_acknowledged_append`]: appends until
/// killed, printing each acknowledged size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by kill_9_loses_no_acknowledged_append in a child process"]
#[allow(
    clippy::print_stdout,
    reason = "the parent test reads the acknowledged sizes from stdout"
)]
async fn append_until_killed() {
    let Ok(url) = std::env::var(KILL_DB) else {
        return;
    };
    let store =
        retrace_store_postgres::PgStore::open(&url, common::config(common::clock())).unwrap();
    store.load(register(), "test").unwrap();
    let exporter = parties().exporter;
    for n in 0.. {
        let record = records::opening(
            records::may(n % 40_000),
            &exporter,
            &format!("K-{n}"),
            1_000,
        );
        let appended = store
            .append(
                &Authority::Installation,
                vec![record],
                &WriteContext::installation("test"),
            )
            .await
            .unwrap();
        println!("acked {}", appended.checkpoint.checkpoint().size());
    }
}

/// DESIGN.md §5: kill -9 at any moment loses no acknowledged event and leaves
/// the ledger verifiable; the next sequencer takes the lock the dead one held.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_no_acknowledged_append() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let Some(db) = common::TestDb::create("kill_9_loses_no_acknowledged_append") else {
        return;
    };
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "append_until_killed",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(KILL_DB, &db.url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut acknowledged = 0u64;
    let mut seen = 0;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        if let Some(size) = line.unwrap().strip_prefix("acked ") {
            acknowledged = size.parse().unwrap();
            seen += 1;
            if seen == 50 {
                child.kill().unwrap();
                break;
            }
        }
    }
    child.wait().unwrap();
    assert_eq!(seen, 50, "the child appended");
    let (store, verifier) = db.open();
    let latest = store.checkpoint().await.unwrap().verify(&verifier).unwrap();
    assert!(
        latest.size() >= acknowledged,
        "acknowledged {acknowledged}, kept {}",
        latest.size()
    );
    let exporter = parties().exporter;
    let more = store
        .append(
            &Authority::Installation,
            vec![records::opening(records::may(1), &exporter, "AFTER", 1_000)],
            &WriteContext::installation("test"),
        )
        .await
        .unwrap();
    assert_eq!(more.receipts[0].index, latest.size(), "recording goes on");
    let report = store.audit(None).await.unwrap();
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
}

/// The sequencer's role may append to the ledger and write projections, but
/// not change the ledger; the audit names a grant that would let it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sequencer_role_may_not_change_the_ledger() {
    let Some(db) = common::TestDb::create("the_sequencer_role_may_not_change_the_ledger") else {
        return;
    };
    let (store, _) = db.open();
    store.load(fixture(), "test").unwrap();
    for sql in [
        "UPDATE ledger SET kind = 'flow.ship' WHERE idx = 0",
        "DELETE FROM leaf WHERE idx = 0",
        "TRUNCATE checkpoint",
        "UPDATE trail SET action = 'read' WHERE idx = 0",
        "TRUNCATE trail_checkpoint",
    ] {
        let err = db
            .sql(&format!("SET ROLE retrace_sequencer; {sql}"))
            .expect_err(sql);
        assert!(
            format!("{err:?}").contains("permission denied"),
            "{sql}: {err:?}"
        );
    }
    db.sql("SET ROLE retrace_sequencer; UPDATE position SET mass = mass")
        .expect("the sequencer writes projections");
    db.sql("GRANT UPDATE ON ledger TO retrace_sequencer")
        .unwrap();
    let report = store.audit(None).await.unwrap();
    assert!(
        names(&report.problems, "pg_class", "ledger: UPDATE", None),
        "{:#?}",
        report.problems
    );
}
