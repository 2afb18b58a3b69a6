//! The audit finds what was changed behind the store's back, down to the
//! table, key and column.

mod common;

use std::path::Path;

use retrace_ledger::checkpoint::{Checkpoint, LogKey};
use retrace_store::conformance::context;
use retrace_store::conformance::{UNLICENSED_EXPORT, fixture, lots, parties};
use retrace_store::{AuditProblem, Authority, Store};
use retrace_store_sqlite::SqliteStore;
use rusqlite::Connection;

async fn fixture_store(path: &Path) -> SqliteStore {
    let (store, _) = common::open(path);
    store
        .append(&Authority::Installation, fixture(), &context())
        .await
        .unwrap();
    let report = store.audit(None).await.unwrap();
    assert!(
        report.problems.is_empty(),
        "a clean store audits clean: {:#?}",
        report.problems
    );
    assert_eq!(report.entries, fixture().len() as u64);
    assert_eq!(
        report.root,
        Some(store.checkpoint().await.unwrap().checkpoint().root())
    );
    assert!(report.rows_compared > report.entries);
    store
}

fn names(problems: &[AuditProblem], table: &str, key: &str, column: Option<&str>) -> bool {
    problems
        .iter()
        .any(|p| p.table == table && p.key == key && p.column.as_deref() == column)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_ledger_byte_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let store = fixture_store(&path).await;
    let raw = Connection::open(&path).unwrap();
    // What someone with the sqlite3 shell would have to do: lift the guard,
    // change a byte of entry 20 (a digit of its record time), put the guard back.
    raw.execute_batch(
        "DROP TRIGGER ledger_no_update;
         UPDATE ledger SET entry = CAST(replace(CAST(entry AS TEXT), '.000Z', '.001Z') AS BLOB) WHERE idx = 20;
         CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
         BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: ledger rows are never updated'); END;",
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lifted_guard_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("guard.db");
    let store = fixture_store(&path).await;
    Connection::open(&path)
        .unwrap()
        .execute_batch("DROP TRIGGER checkpoint_no_delete")
        .unwrap();
    let report = store.audit(None).await.unwrap();
    assert!(
        names(
            &report.problems,
            "sqlite_master",
            "checkpoint_no_delete",
            None
        ),
        "{:#?}",
        report.problems
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_projection_cell_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("position.db");
    let store = fixture_store(&path).await;
    let (p, l) = (parties(), lots());
    let raw = Connection::open(&path).unwrap();
    let changed = raw
        .execute(
            "UPDATE position SET mass = mass + 1000 WHERE lot = (SELECT id FROM lot WHERE code = ?1) AND holder = ?2",
            [l.ore.as_str(), p.miner.as_str()],
        )
        .unwrap();
    assert_eq!(changed, 1);
    let report = store.audit(None).await.unwrap();
    let ore: i64 = raw
        .query_row(
            "SELECT id FROM lot WHERE code = ?1",
            [l.ore.as_str()],
            |r| r.get(0),
        )
        .unwrap();
    let key = format!("lot={ore}, holder={}, owner={}", p.miner, p.miner);
    assert!(
        names(&report.problems, "position", &key, Some("mass")),
        "{:#?}",
        report.problems
    );
    assert_eq!(report.problems.len(), 1, "{:#?}", report.problems);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_flag_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flag.db");
    let store = fixture_store(&path).await;
    let key = format!("export_without_licence:{UNLICENSED_EXPORT}");
    assert_eq!(
        Connection::open(&path)
            .unwrap()
            .execute("DELETE FROM flag WHERE key = ?1", [&key])
            .unwrap(),
        1
    );
    let report = store.audit(None).await.unwrap();
    assert!(
        names(&report.problems, "flag", &format!("key={key}"), None),
        "{:#?}",
        report.problems
    );
    assert_eq!(report.problems.len(), 1, "{:#?}", report.problems);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extra_checkpoints_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("extra.db");
    let store = fixture_store(&path).await;
    let latest = store.checkpoint().await.unwrap();
    let report = store.audit(Some(latest.to_bytes())).await.unwrap();
    assert!(
        report.problems.is_empty(),
        "the store's own checkpoint holds: {:#?}",
        report.problems
    );
    assert_eq!(
        report.checkpoints_checked,
        store.checkpoints(0, 1_000).await.unwrap().len() as u64 + 2
    );

    let c = latest.checkpoint();
    let stranger = LogKey::from_seed(common::ORIGIN, &[9; 32]).unwrap();
    let forged = Checkpoint::new(c.origin(), c.size(), c.root())
        .unwrap()
        .sign(&stranger);
    let report = store.audit(Some(forged.to_bytes())).await.unwrap();
    assert!(
        names(&report.problems, "checkpoint", "extra", Some("note")),
        "{:#?}",
        report.problems
    );

    let ahead = Checkpoint::new(c.origin(), c.size() + 5, c.root())
        .unwrap()
        .sign(&common::key());
    let report = store.audit(Some(ahead.to_bytes())).await.unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.key == "extra" && p.detail.contains("beyond")),
        "{:#?}",
        report.problems
    );

    let report = store
        .audit(Some(b"not a checkpoint".to_vec()))
        .await
        .unwrap();
    assert!(
        names(&report.problems, "checkpoint", "extra", Some("note")),
        "{:#?}",
        report.problems
    );
}

#[test]
fn the_tree_pass_recomputes_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = common::open(&dir.path().join("tree.db"));
    let checkpoint = store.load(fixture(), "test").unwrap();
    let tree = store.verify_tree().unwrap();
    assert!(tree.problems.is_empty(), "{:#?}", tree.problems);
    assert_eq!(
        (tree.size, tree.root),
        (
            checkpoint.checkpoint().size(),
            checkpoint.checkpoint().root()
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_tree_node_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.db");
    let store = fixture_store(&path).await;
    Connection::open(&path)
        .unwrap()
        .execute_batch(
            "DROP TRIGGER tree_node_no_update;
             UPDATE tree_node SET hash = zeroblob(32) WHERE level = 4 AND idx = 1;",
        )
        .unwrap();
    let report = store.audit(None).await.unwrap();
    assert!(
        names(
            &report.problems,
            "tree_node",
            "level=4, idx=1",
            Some("hash")
        ),
        "{:#?}",
        report.problems
    );
    assert!(
        names(
            &report.problems,
            "sqlite_master",
            "tree_node_no_update",
            None
        ),
        "{:#?}",
        report.problems
    );
    let tree = store.verify_tree().unwrap();
    assert_eq!(
        tree.problems.len(),
        1,
        "the recomputed root does not depend on stored inner nodes"
    );
}
