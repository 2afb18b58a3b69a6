//! Issue 5 §3: three `retrace serve` processes on one PostgreSQL database,
//! many clients recording through all of them, the sequencer killed with
//! SIGKILL mid-stream — and every acknowledged event is in the ledger
//! exactly once, the tree is consistent with every checkpoint handed out
//! before, and recording goes on through the nodes that are left. The
//! clients record with an API token, as the trail names them whichever node
//! they reach, and an idempotency key retried through another node replays
//! the first request's receipts instead of recording twice.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Db, command, ok};
use retrace_ledger::checkpoint::SignedCheckpoint;
use retrace_ledger::hash::Hash;
use retrace_ledger::proof::verify_consistency;
use retrace_store::conformance::{fixture, parties, records};
use serde_json::Value;

const NODES: usize = 3;
const CLIENTS: usize = 6;
const BATCHES_PER_CLIENT: usize = 25;

/// One request with the clients' token; `None` when the node cannot be
/// reached or does not answer in time.
fn http(address: &str, token: &str, method: &str, path: &str, body: &str) -> Option<(u16, Value)> {
    let bearer = format!("Bearer {token}");
    let answer = common::http(address, method, path, &[("Authorization", &bearer)], body)?;
    Some((answer.status, answer.body))
}

/// A node: the `serve` process and the address it listens on.
struct Node {
    child: Child,
    address: String,
    name: String,
}

fn start(data: &std::path::Path, db: &Db, name: &str) -> Node {
    let mut child = command(data, Some(&db.url_as(name)))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("a node starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout is piped")).lines();
    let address = loop {
        let line = lines
            .next()
            .expect("the node says where it serves")
            .unwrap();
        if let Some(rest) = line.strip_prefix("retrace is serving http://") {
            break rest.split('/').next().unwrap().to_owned();
        }
    };
    // Keep reading its stdout so that the node never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Node {
        child,
        address,
        name: name.to_owned(),
    }
}

/// The node whose connection holds the sequencer lock, by application name.
fn sequencer(db: &Db) -> Option<String> {
    let mut client = postgres::Client::connect(&db.url, postgres::NoTls).ok()?;
    client
        .query_opt(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE l.locktype = 'advisory' AND l.granted AND a.application_name LIKE 'node%'",
            &[],
        )
        .ok()?
        .map(|r| r.get(0))
}

#[derive(Debug, Clone)]
struct Acked {
    lot: String,
    index: u64,
    checkpoint: String,
}

/// The size and root of a signed checkpoint's note.
fn checkpoint_size_root(note: &str) -> (u64, Hash) {
    let cp = SignedCheckpoint::parse(note.as_bytes()).expect("a signed checkpoint");
    (cp.checkpoint().size(), cp.checkpoint().root())
}

#[test]
fn three_nodes_survive_the_sequencer_killed_mid_stream() {
    let Some(db) = Db::create("nodes") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    common::init(&data, Some(&db.url));
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

    let nodes: Vec<Node> = (0..NODES)
        .map(|n| start(&data, &db, &format!("node{n}")))
        .collect();
    let addresses: Vec<String> = nodes.iter().map(|n| n.address.clone()).collect();
    let exporter = parties().exporter;
    let token = common::operator_token(&addresses[1], "nodes.clerk", exporter.as_str());
    let acked = Arc::new(Mutex::new(Vec::<Acked>::new()));
    let sent = Arc::new(Mutex::new(0usize));

    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (addresses, acked, sent, exporter, token) = (
                addresses.clone(),
                Arc::clone(&acked),
                Arc::clone(&sent),
                exporter.clone(),
                token.clone(),
            );
            std::thread::spawn(move || {
                for b in 0..BATCHES_PER_CLIENT {
                    let number = format!("N-{c}-{b}");
                    let record = records::opening(
                        records::may((c * 100 + b) as i64),
                        &exporter,
                        &number,
                        1_000,
                    );
                    let body = serde_json::to_string(&vec![record]).unwrap();
                    *sent.lock().unwrap() += 1;
                    // Round robin over the nodes; a node that is gone is skipped.
                    for attempt in 0..NODES {
                        let address = &addresses[(c + b + attempt) % NODES];
                        let Some((status, answer)) =
                            http(address, &token, "POST", "/api/v1/events", &body)
                        else {
                            continue;
                        };
                        if status == 201 {
                            acked.lock().unwrap().push(Acked {
                                lot: records::lot(&exporter, &number).to_string(),
                                index: answer["receipts"][0]["index"].as_u64().unwrap(),
                                checkpoint: answer["checkpoint"].as_str().unwrap().to_owned(),
                            });
                        }
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            })
        })
        .collect();

    // Mid-stream: wait for a third of the batches to be acknowledged, then
    // kill the node that sequences.
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().unwrap().len() < CLIENTS * BATCHES_PER_CLIENT / 3 {
        assert!(Instant::now() < deadline, "recording started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let victim = sequencer(&db).expect("one node holds the sequencer lock");
    let mut nodes = nodes;
    let at = nodes.iter().position(|n| n.name == victim).unwrap();
    let mut killed = nodes.remove(at);
    let acked_before_kill = acked.lock().unwrap().len();
    killed.child.kill().unwrap();
    killed.child.wait().unwrap();

    for client in clients {
        client.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > acked_before_kill,
        "recording goes on after the sequencer died ({} acknowledged before, {} in all)",
        acked_before_kill,
        acked.len()
    );
    let successor = sequencer(&db).expect("another node took over");
    assert_ne!(successor, victim);
    eprintln!(
        "{} of {} batches acknowledged, {acked_before_kill} before {victim} was killed; {successor} sequences now",
        acked.len(),
        sent.lock().unwrap()
    );

    let node = &nodes[0].address;
    let (_, latest) = http(node, &token, "GET", "/api/v1/checkpoints?limit=1000", "").unwrap();
    let notes = latest["checkpoints"].as_array().unwrap();
    let last = notes.last().unwrap()["note"].as_str().unwrap().to_owned();
    let (size, root) = checkpoint_size_root(&last);
    for a in &acked {
        let (status, entries) = http(
            node,
            &token,
            "GET",
            &format!("/api/v1/events?lot={}&limit=10", a.lot),
            "",
        )
        .unwrap();
        assert_eq!(status, 200);
        let items = entries["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{} is in the ledger exactly once", a.lot);
        assert_eq!(items[0]["index"].as_u64(), Some(a.index));
        let (old, old_root) = checkpoint_size_root(&a.checkpoint);
        assert!(old <= size);
        let (_, proof) = http(
            node,
            &token,
            "GET",
            &format!("/api/v1/proofs/consistency?old={old}&new={size}"),
            "",
        )
        .unwrap();
        let proof: Vec<Hash> = proof["proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap().parse().unwrap())
            .collect();
        verify_consistency(old, size, &old_root, &root, &proof).unwrap_or_else(|e| {
            panic!("checkpoint {old} handed out is not a prefix of {size}: {e}")
        });
    }

    // An idempotency key retried through the other node: the first
    // request's receipts again, nothing recorded twice.
    let retried = records::opening(records::may(9_000), &exporter, "RETRIED", 1_000);
    let body = serde_json::to_string(&vec![retried]).unwrap();
    let bearer = format!("Bearer {token}");
    let headers = [
        ("Authorization", bearer.as_str()),
        ("Idempotency-Key", "6f1c7e0a-2b9d-4c1e-9f3a-0d6b2e8c4a11"),
    ];
    let first = common::http(&nodes[0].address, "POST", "/api/v1/events", &headers, &body).unwrap();
    assert_eq!(first.status, 201, "{first:?}");
    let again = common::http(&nodes[1].address, "POST", "/api/v1/events", &headers, &body).unwrap();
    assert_eq!(
        again.status, 200,
        "a retry through another node replays: {again:?}"
    );
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(first.body["receipts"], again.body["receipts"]);
    assert_eq!(first.body["checkpoint"], again.body["checkpoint"]);
    let lot = records::lot(&exporter, "RETRIED");
    let (_, entries) = http(
        node,
        &token,
        "GET",
        &format!("/api/v1/events?lot={lot}&limit=10"),
        "",
    )
    .unwrap();
    assert_eq!(
        entries["items"].as_array().unwrap().len(),
        1,
        "recorded once"
    );
    // Both attempts are on the trail as the clerk's, whichever node took them.
    let mut client = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    let trailed: i64 = client
        .query_one(
            "SELECT count(*) FROM trail WHERE account = 'nodes.clerk' AND action = 'record'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(
        usize::try_from(trailed).unwrap() >= acked.len() + 2,
        "every recording through any node is on the trail as the clerk's ({trailed} for {} batches)",
        acked.len()
    );
    let replays: i64 = client
        .query_one(
            "SELECT count(*) FROM trail WHERE account = 'nodes.clerk' AND action = 'record' \
             AND position('a retry: entries'::bytea IN entry) > 0",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(replays, 1, "the retry is trailed as a replay");
    drop(client);

    for mut node in nodes {
        node.child.kill().ok();
        node.child.wait().ok();
    }
    let audit = ok(&data, Some(&db.url), &["audit"]);
    assert!(audit.contains("audit passed"), "{audit}");
}
