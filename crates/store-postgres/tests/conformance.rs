//! The shared conformance suite against the PostgreSQL store, on a fresh
//! database.

mod common;

use retrace_store::{Store, conformance};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_conforms() {
    let Some(db) = common::TestDb::create("postgres_store_conforms") else {
        return;
    };
    let (store, verifier) = db.open();
    conformance::run_all(&store, &verifier).await;
    conformance::identity::run_identity(&store, &common::trail_key().verifier()).await;
    let report = store.audit(None).await.unwrap();
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
    assert!(report.rows_compared > report.entries);
    assert!(
        report.trail_entries > 0,
        "the suite's writes and reads are on the trail"
    );
    assert!(report.trail_checkpoints_checked > 0);
}
