//! A log that shows two histories is caught (issue 9 §4): the witness
//! cosigns the history it saw grow, refuses a checkpoint of another history
//! signed with the same log key, keeps it as evidence, and remembers what it
//! cosigned across a restart.

use std::sync::Arc;

use retrace_domain::clock::SystemClock;
use retrace_ledger::checkpoint::{Checkpoint, LogKey, SignedCheckpoint};
use retrace_ledger::cosignature::CosignerKey;
use retrace_ledger::hash::leaf_hash;
use retrace_ledger::proof::consistency_proof;
use retrace_ledger::tree::MemoryTree;
use retrace_witness::{SubmitError, Witness, evidence, router, submit};

fn history(leaves: u8, rewrite: Option<u8>) -> MemoryTree {
    let mut tree = MemoryTree::new();
    for i in 0..leaves {
        let byte = if Some(i) == rewrite { 0xee } else { i };
        tree.push(leaf_hash(&[byte]));
    }
    tree
}

fn checkpoint(log: &LogKey, tree: &MemoryTree) -> SignedCheckpoint {
    Checkpoint::new(log.origin(), tree.leaves().len() as u64, tree.root())
        .unwrap()
        .sign(log)
}

async fn serve(witness: Witness) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router(witness)).await });
    format!("http://{address}")
}

async fn offer(
    url: &str,
    witness: &CosignerKey,
    tree: &MemoryTree,
    log: &LogKey,
) -> Result<String, SubmitError> {
    let tree = tree.clone();
    let size = tree.leaves().len() as u64;
    submit(
        url,
        &witness.verifier(),
        &checkpoint(log, &tree),
        0,
        |old| {
            let proof = consistency_proof(old, size, &tree).map_err(|e| e.to_string());
            async move { proof }
        },
    )
    .await
}

#[tokio::test]
async fn a_second_history_is_refused_and_kept_as_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let log = LogKey::from_seed("retrace.test/ledger", &[1; 32]).unwrap();
    let key = CosignerKey::from_seed("witness.test/miit", &[2; 32]).unwrap();
    let open = || {
        Witness::open(
            dir.path(),
            key.clone(),
            vec![log.verifier()],
            Arc::new(SystemClock),
        )
        .unwrap()
    };
    let url = serve(open()).await;

    let cosigned = offer(&url, &key, &history(5, None), &log).await.unwrap();
    assert!(
        cosigned.contains("\u{2014} witness.test/miit "),
        "{cosigned}"
    );
    offer(&url, &key, &history(9, None), &log)
        .await
        .expect("the history grows consistently");

    // The operator shows someone else a history that rewrote entry 3.
    let forked = offer(&url, &key, &history(12, Some(3)), &log).await;
    match forked {
        Err(SubmitError::Refused { status: 422, .. }) => {}
        other => panic!("a forked history must be refused: {other:?}"),
    }
    let same_size = offer(&url, &key, &history(9, Some(3)), &log).await;
    match same_size {
        Err(SubmitError::Refused { status: 409, .. }) => {}
        other => panic!("a second tree of the same size must be refused: {other:?}"),
    }
    let kept = evidence(dir.path()).unwrap();
    assert_eq!(kept.len(), 2, "{kept:?}");
    let text = std::fs::read_to_string(&kept[0]).unwrap();
    assert!(text.contains("retrace.test/ledger"), "{text}");

    // A log the witness does not know, and a key it does not trust.
    let stranger = LogKey::from_seed("retrace.test/ledger", &[3; 32]).unwrap();
    match offer(&url, &key, &history(10, None), &stranger).await {
        Err(SubmitError::Refused { status: 403, .. }) => {}
        other => panic!("{other:?}"),
    }
    let other = LogKey::from_seed("other.test/log", &[1; 32]).unwrap();
    match offer(&url, &key, &history(3, None), &other).await {
        Err(SubmitError::Refused { status: 404, .. }) => {}
        other => panic!("{other:?}"),
    }

    // What the witness cosigned survives a restart.
    let again = open();
    let latest = again.latest("retrace.test/ledger").unwrap();
    assert_eq!(latest.size, 9);
    assert_eq!(latest.root, history(9, None).root());
    let url = serve(again).await;
    offer(&url, &key, &history(11, None), &log)
        .await
        .expect("the honest history goes on after the restart");
    match offer(&url, &key, &history(12, Some(3)), &log).await {
        Err(SubmitError::Refused { .. }) => {}
        other => panic!("{other:?}"),
    }
}
