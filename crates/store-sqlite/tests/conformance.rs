//! The shared conformance suite against the embedded store.

mod common;

use retrace_store::conformance;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let (store, verifier) = common::open(&dir.path().join("conformance.db"));
    conformance::run_all(&store, &verifier).await;
    conformance::identity::run_identity(&store, &common::trail_key().verifier()).await;
    let report = retrace_store::Store::audit(&store, None).await.unwrap();
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
}
