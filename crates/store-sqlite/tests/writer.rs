//! The writer: group commit, the append-only ledger, and reopening after a
//! clean stop or a `kill -9`.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

use retrace_ledger::proof::verify_consistency;
use retrace_store::conformance::context;
use retrace_store::conformance::parties;
use retrace_store::{Authority, Store};
use retrace_store_sqlite::SqliteStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_share_commits() {
    let dir = tempfile::tempdir().unwrap();
    let (store, verifier) = common::open(&dir.path().join("group.db"));
    store.load(common::register(), "test").unwrap();
    let store = Arc::new(store);
    let before = store.commits();
    let exporter = parties().exporter;
    const N: u64 = 64;
    let tasks: Vec<_> = (0..N)
        .map(|n| {
            let (store, exporter) = (Arc::clone(&store), exporter.clone());
            tokio::spawn(async move {
                let record = common::opening(
                    common::may(n as i64),
                    &exporter,
                    &format!("G-{n}"),
                    1_000_000 + n,
                );
                store
                    .append(
                        &Authority::Enterprise(exporter.clone()),
                        vec![record],
                        &context(),
                    )
                    .await
            })
        })
        .collect();
    let mut indices = Vec::new();
    for task in tasks {
        let appended = task.await.unwrap().unwrap();
        let receipt = &appended.receipts[0];
        receipt.verify(&verifier).unwrap();
        indices.push(receipt.index);
    }
    indices.sort_unstable();
    indices.dedup();
    assert_eq!(indices.len() as u64, N, "every append got its own index");
    let commits = store.commits() - before;
    assert!(commits < N, "{N} concurrent appends took {commits} commits");
    assert_eq!(
        store.checkpoint().await.unwrap().checkpoint().size(),
        common::register().len() as u64 + N
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_request_leaves_its_group_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = common::open(&dir.path().join("refused.db"));
    store.load(common::register(), "test").unwrap();
    let store = Arc::new(store);
    let exporter = parties().exporter;
    let tasks: Vec<_> = (0..16u64)
        .map(|n| {
            let (store, exporter) = (Arc::clone(&store), exporter.clone());
            tokio::spawn(async move {
                // Every odd request names its lot twice: refused, alone.
                let (a, b) = if n % 2 == 1 {
                    (format!("TWICE-{n}"), format!("TWICE-{n}"))
                } else {
                    (format!("A-{n}"), format!("B-{n}"))
                };
                let batch = vec![
                    common::opening(common::may(0), &exporter, &a, 1_000),
                    common::opening(common::may(1), &exporter, &b, 1_000),
                ];
                store
                    .append(&Authority::Installation, batch, &context())
                    .await
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        if task.await.unwrap().is_ok() {
            ok += 1;
        }
    }
    assert_eq!(ok, 8);
    assert_eq!(
        store.checkpoint().await.unwrap().checkpoint().size(),
        common::register().len() as u64 + 16
    );
}

#[test]
fn the_ledger_refuses_update_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("guard.db");
    let (store, _) = common::open(&path);
    store.load(common::register(), "test").unwrap();
    // Sixteen more entries, so that the tree has a stored node (level 4).
    let exporter = parties().exporter;
    let openings = (0..16)
        .map(|n| common::opening(common::may(n), &exporter, &format!("G{n}"), 1_000))
        .collect();
    store.load(openings, "test").unwrap();
    let raw = rusqlite::Connection::open(&path).unwrap();
    for sql in [
        "UPDATE ledger SET kind = 'flow.ship' WHERE idx = 0",
        "DELETE FROM ledger WHERE idx = 0",
        "UPDATE ledger SET record = x'00' WHERE idx = 0",
        "UPDATE tree_node SET hash = x'00' WHERE level = 4",
        "DELETE FROM tree_node",
        "UPDATE checkpoint SET note = x'00'",
        "DELETE FROM checkpoint",
    ] {
        let err = raw.execute(sql, []).expect_err(sql);
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reopened_store_goes_on_from_its_last_commit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reopen.db");
    let exporter = parties().exporter;
    let old = {
        let (store, _) = common::open(&path);
        store.load(common::register(), "test").unwrap();
        let batch = (0..7)
            .map(|n| common::opening(common::may(n), &exporter, &format!("R-{n}"), 5_000))
            .collect();
        store
            .append(&Authority::Installation, batch, &context())
            .await
            .unwrap()
            .checkpoint
    };
    let (store, verifier) = common::open(&path);
    assert_eq!(
        store.checkpoint().await.unwrap(),
        old,
        "the latest checkpoint survives"
    );
    let more = (7..20)
        .map(|n| common::opening(common::may(n), &exporter, &format!("R-{n}"), 5_000))
        .collect();
    let appended = store
        .append(&Authority::Installation, more, &context())
        .await
        .unwrap();
    for receipt in &appended.receipts {
        receipt.verify(&verifier).unwrap();
    }
    let (old, new) = (
        old.verify(&verifier).unwrap(),
        appended.checkpoint.verify(&verifier).unwrap(),
    );
    assert_eq!(
        appended.receipts[0].index,
        old.size(),
        "indices go on where they stopped"
    );
    let proof = store
        .consistency_proof(old.size(), new.size())
        .await
        .unwrap();
    verify_consistency(old.size(), new.size(), &old.root(), &new.root(), &proof).unwrap();
    let report = store.audit(None).await.unwrap();
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
}

const KILL_DB: &str = "RETRACE_KILL_TEST_DB";

/// The child of [`kill_9_loses_no_acknowledged_append`]: appends until killed,
/// printing each acknowledged size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by kill_9_loses_no_acknowledged_append in a child process"]
#[allow(
    clippy::print_stdout,
    reason = "the parent test reads the acknowledged sizes from stdout"
)]
async fn append_until_killed() {
    let Ok(path) = std::env::var(KILL_DB) else {
        return;
    };
    let (store, _) = common::open(std::path::Path::new(&path));
    store.load(common::register(), "test").unwrap();
    let exporter = parties().exporter;
    for n in 0.. {
        let record = common::opening(common::may(n % 40_000), &exporter, &format!("K-{n}"), 1_000);
        let appended = store
            .append(&Authority::Installation, vec![record], &context())
            .await
            .unwrap();
        println!("acked {}", appended.checkpoint.checkpoint().size());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_no_acknowledged_append() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("killed.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "append_until_killed",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(KILL_DB, &path)
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
    let (store, verifier): (SqliteStore, _) = common::open(&path);
    let latest = store.checkpoint().await.unwrap().verify(&verifier).unwrap();
    assert!(
        latest.size() >= acknowledged,
        "acknowledged {acknowledged}, kept {}",
        latest.size()
    );
    let report = store.audit(None).await.unwrap();
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
}
