//! The binary end to end, as the issue's "done when" describes it: the demo
//! industry with planted anomalies, `flags` finding every planted case and
//! nothing on the clean part (for two seeds), `audit` passing and then naming
//! a row changed behind the system's back, and a receipt that verifies until
//! one byte of it changes.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

/// Small enough for a debug build, large enough for every planted case.
const SCALE: &str = "6000";

fn retrace(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_retrace"))
        .arg("--data")
        .arg(data)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the retrace binary runs")
}

fn ok(data: &Path, args: &[&str]) -> String {
    let out = retrace(data, args);
    assert!(
        out.status.success(),
        "retrace {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn demo(data: &Path, seed: &str) {
    ok(
        data,
        &[
            "demo",
            "--anomalies",
            "--no-serve",
            "--seed",
            seed,
            "--scale",
            SCALE,
        ],
    );
}

/// Every planted case is flagged with its rule at its enterprise, and every
/// flag belongs to an enterprise where something was planted.
fn assert_flags_match_ground_truth(data: &Path) {
    let truth: Value = serde_json::from_slice(
        &std::fs::read(data.join("ground-truth.json")).expect("ground truth written"),
    )
    .expect("json");
    let cases = truth["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 6, "six planted cases");
    let flags: Vec<Value> =
        serde_json::from_str(&ok(data, &["flags", "--json"])).expect("flags json");
    let raised: BTreeSet<(String, String)> = flags
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap_or_default().to_owned(),
                f["enterprise"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    for case in cases {
        let key = (
            case["rule"].as_str().unwrap_or_default().to_owned(),
            case["enterprise"].as_str().unwrap_or_default().to_owned(),
        );
        assert!(raised.contains(&key), "planted case not flagged: {case}");
    }
    let planted: BTreeSet<&str> = cases
        .iter()
        .filter_map(|c| c["enterprise"].as_str())
        .collect();
    for f in &flags {
        assert!(
            planted.contains(f["enterprise"].as_str().unwrap_or_default()),
            "flag on the clean part: {f}"
        );
    }
}

#[test]
fn demo_flags_audit_tamper_and_receipts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    demo(&data, "2025");
    assert_flags_match_ground_truth(&data);
    assert!(ok(&data, &["audit"]).contains("audit passed"));

    let receipt_path = dir.path().join("r.txt");
    std::fs::write(&receipt_path, ok(&data, &["receipt", "1234"])).expect("write receipt");
    let key = data.join("log.vkey");
    let key = key.to_str().expect("utf-8 path");
    assert!(
        ok(
            &data,
            &["verify", receipt_path.to_str().expect("path"), "--key", key]
        )
        .contains("receipt verified")
    );
    let mut bytes = std::fs::read(&receipt_path).expect("read receipt");
    let middle = bytes.len() / 3;
    bytes[middle] ^= 0x01;
    std::fs::write(&receipt_path, &bytes).expect("write receipt");
    let out = retrace(
        &data,
        &["verify", receipt_path.to_str().expect("path"), "--key", key],
    );
    assert_eq!(out.status.code(), Some(1), "a changed byte must not verify");

    let checkpoint = dir.path().join("checkpoint.txt");
    std::fs::write(&checkpoint, ok(&data, &["checkpoint"])).expect("write checkpoint");
    assert!(
        ok(
            &data,
            &["audit", "--checkpoint", checkpoint.to_str().expect("path")]
        )
        .contains("audit passed")
    );

    let db = rusqlite::Connection::open(data.join("retrace.db"))
        .expect("open the store behind its back");
    db.execute(
        "UPDATE position SET mass = mass + 1000 WHERE (lot, holder, owner) = (SELECT lot, holder, owner FROM position ORDER BY lot LIMIT 1)",
        [],
    )
    .expect("tamper with a projection");
    drop(db);
    let out = retrace(&data, &["audit"]);
    assert_eq!(out.status.code(), Some(1));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("DIFFERS position") && report.contains("column mass"),
        "{report}"
    );
}

#[test]
fn a_changed_ledger_byte_is_named_by_the_audit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    demo(&data, "2025");
    let db = rusqlite::Connection::open(data.join("retrace.db")).expect("open");
    db.execute_batch("DROP TRIGGER IF EXISTS ledger_no_update")
        .ok();
    let triggers: Vec<String> = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'ledger'")
        .and_then(|mut s| {
            s.query_map([], |r| r.get(0))
                .and_then(|rows| rows.collect())
        })
        .expect("list triggers");
    for t in &triggers {
        db.execute_batch(&format!("DROP TRIGGER \"{t}\""))
            .expect("an insider drops the trigger");
    }
    db.execute("UPDATE ledger SET entry = CAST(replace(CAST(entry AS TEXT), 'flow.', 'flow,') AS BLOB) WHERE idx = 500", []).expect("tamper with the ledger");
    drop(db);
    let out = retrace(&data, &["audit"]);
    assert_eq!(out.status.code(), Some(1));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("DIFFERS ledger [500]"), "{report}");
}

#[test]
fn a_second_seed_places_the_cases_elsewhere_and_they_are_found_as_well() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = dir.path().join("first");
    let second = dir.path().join("second");
    demo(&first, "2025");
    demo(&second, "99");
    assert_flags_match_ground_truth(&second);
    let truth = |d: &Path| -> Value {
        serde_json::from_slice(&std::fs::read(d.join("ground-truth.json")).expect("truth"))
            .expect("json")
    };
    assert_ne!(truth(&first)["cases"], truth(&second)["cases"]);
}

#[test]
fn the_benchmark_harness_runs_at_smoke_size() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = ok(
        &dir.path().join("unused"),
        &[
            "bench",
            "--sizes",
            "3000",
            "--scratch",
            dir.path().to_str().expect("path"),
        ],
    );
    assert!(
        out.contains("bulk recording into SQLite") && out.contains("backward from magnets"),
        "{out}"
    );
}

#[test]
fn misuse_gets_a_clear_error_and_exit_code() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("none");
    let out = retrace(&data, &["flags"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("retrace init"));
    let out = retrace(&data, &["trace"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a missing argument is a usage error"
    );
    ok(&data, &["init"]);
    let out = retrace(&data, &["init"]);
    assert_eq!(out.status.code(), Some(4), "init never replaces keys");
    let out = retrace(&data, &["trace", "not-a-lot"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a malformed lot is a usage error"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a lot identifier"));
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        br#"[{"kind": "ship", "event_time": "2025-01-01T00:00:00+08:00"}]"#,
    )
    .expect("write");
    let out = retrace(&data, &["record", bad.to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(1), "refused input");
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing recorded"));
}

/// `retrace witness` cosigns an installation's checkpoint that `retrace
/// cosign` offers it, and the cosigned checkpoint carries both signatures.
#[test]
fn a_witness_cosigns_the_installations_checkpoint() {
    let data = tempfile::tempdir().unwrap();
    let witness_dir = tempfile::tempdir().unwrap();
    ok(data.path(), &["init", "--origin", "retrace.test/cli"]);
    let made = ok(
        data.path(),
        &[
            "witness",
            "init",
            "--dir",
            witness_dir.path().to_str().unwrap(),
            "--name",
            "witness.test/w1",
        ],
    );
    assert!(made.contains("witness.test/w1+"), "{made}");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let log_key = data.path().join("log.vkey");
    let mut server = Command::new(env!("CARGO_BIN_EXE_retrace"))
        .args([
            "witness",
            "serve",
            "--dir",
            witness_dir.path().to_str().unwrap(),
            "--listen",
            &listen,
            "--log",
            log_key.to_str().unwrap(),
        ])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut up = false;
    for _ in 0..100 {
        if std::net::TcpStream::connect(&listen).is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(up, "the witness did not start");
    let witness_key = witness_dir.path().join("witness.vkey");
    let cosigned = ok(
        data.path(),
        &[
            "cosign",
            "--witness",
            &format!("http://{listen}"),
            "--witness-key",
            witness_key.to_str().unwrap(),
        ],
    );
    server.kill().ok();
    server.wait().ok();
    let signatures: Vec<&str> = cosigned
        .lines()
        .filter(|l| l.starts_with('\u{2014}'))
        .collect();
    assert_eq!(signatures.len(), 2, "{cosigned}");
    assert!(signatures[0].starts_with("\u{2014} retrace.test/cli "));
    assert!(signatures[1].starts_with("\u{2014} witness.test/w1 "));
    assert_eq!(
        std::fs::read_to_string(data.path().join("cosigned.checkpoint")).unwrap(),
        cosigned
    );
}
