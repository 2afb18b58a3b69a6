//! Issue 5 §4: a streaming replica made on this machine with `pg_basebackup`
//! from a primary cluster of the test's own (both in a temporary directory,
//! listening on sockets there only), the store reading dashboards, reports
//! and traces from it — and the replica never answers with a checkpoint the
//! primary has not signed, and gives the primary's answers once caught up.
//!
//! Skipped with a message where the PostgreSQL server binaries are not
//! installed.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use retrace_store::conformance::{fixture, lots};
use retrace_store::trace::Direction;
use retrace_store::{EntryFilter, FlagFilter, MAX_PAGE, PageRequest, Scope, Store};
use retrace_store_postgres::PgStore;

/// The newest installed server's binaries (Debian's layout).
fn binaries() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists() && bin.join("pg_basebackup").exists())
        .collect();
    versions.sort();
    versions.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Runs a server binary, as the `postgres` user when the test runs as root
/// (the server refuses to run as root).
fn run(bin: &Path, tool: &str, args: &[&str]) {
    let program = bin.join(tool);
    let status = if is_root() {
        Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(&program)
            .args(args)
            .status()
    } else {
        Command::new(&program).args(args).status()
    };
    let status = status.unwrap_or_else(|e| panic!("{tool}: {e}"));
    assert!(status.success(), "{tool} {args:?} failed");
}

/// A cluster in a directory of its own, stopped when dropped.
struct Cluster {
    bin: PathBuf,
    data: PathBuf,
}

impl Cluster {
    fn start(bin: &Path, data: &Path, sockets: &Path, port: u16) -> Cluster {
        let options = format!("-p {port} -k {} -c listen_addresses=''", sockets.display());
        run(
            bin,
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-o",
                &options,
                "-l",
                data.join("log").to_str().unwrap(),
                "-w",
                "start",
            ],
        );
        Cluster {
            bin: bin.to_owned(),
            data: data.to_owned(),
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        run(
            &self.bin,
            "pg_ctl",
            &["-D", self.data.to_str().unwrap(), "-m", "immediate", "stop"],
        );
    }
}

/// Every checkpoint note stored in the database at `url`, oldest first.
fn notes(url: &str) -> Vec<Vec<u8>> {
    let url = url.to_owned();
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        client
            .query("SELECT note FROM checkpoint ORDER BY size", &[])
            .unwrap()
            .iter()
            .map(|r| r.get::<_, Vec<u8>>(0))
            .collect()
    })
    .join()
    .unwrap()
}

fn url(sockets: &Path, port: u16) -> String {
    format!(
        "host={} port={port} user=postgres dbname=postgres",
        sockets.display()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_never_answers_beyond_what_the_primary_signed() {
    let Some(bin) = binaries() else {
        eprintln!("SKIPPED replica: no PostgreSQL server binaries under /usr/lib/postgresql");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    if is_root() {
        let status = Command::new("chown")
            .args(["postgres:postgres", dir.path().to_str().unwrap()])
            .status()
            .unwrap();
        assert!(status.success());
    }
    let (primary_dir, replica_dir, sockets) = (
        dir.path().join("primary"),
        dir.path().join("replica"),
        dir.path().to_owned(),
    );
    // Ports only name the sockets in the test's directory; no TCP is opened.
    let port = 20_000 + u16::try_from(std::process::id() % 20_000).unwrap();
    run(
        &bin,
        "initdb",
        &[
            "-D",
            primary_dir.to_str().unwrap(),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
        ],
    );
    let _primary = Cluster::start(&bin, &primary_dir, &sockets, port);
    run(
        &bin,
        "pg_basebackup",
        &[
            "-D",
            replica_dir.to_str().unwrap(),
            "-h",
            sockets.to_str().unwrap(),
            "-p",
            &port.to_string(),
            "-U",
            "postgres",
            "-R",
            "--no-sync",
        ],
    );
    let _replica = Cluster::start(&bin, &replica_dir, &sockets, port + 1);

    let (primary_url, replica_url) = (url(&sockets, port), url(&sockets, port + 1));
    let store = PgStore::open(&primary_url, common::config(common::clock()))
        .unwrap()
        .with_read_replica(&replica_url)
        .unwrap();
    let verifier = common::key().verifier();
    let mut records = fixture();
    let last = records.split_off(30);
    store.load(records, "test").unwrap();
    store.load(last, "test").unwrap();
    let primary_only = PgStore::open(&primary_url, common::config(common::clock())).unwrap();

    // The replica catches up; what it lists meanwhile is what the primary signed.
    let signed = primary_only.checkpoints(0, MAX_PAGE).await.unwrap();
    let latest = signed.last().unwrap().clone();
    let replica_view = PgStore::open(&replica_url, common::config(common::clock()));
    assert!(
        replica_view.is_err(),
        "a store cannot be opened for writing on a replica"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let page = store
            .entries(
                &Scope::Installation,
                &EntryFilter::default(),
                &PageRequest::first(MAX_PAGE),
            )
            .await
            .unwrap();
        let seen = page.items.len() as u64;
        assert!(
            seen <= latest.checkpoint().size(),
            "the replica is never ahead"
        );
        if seen == latest.checkpoint().size() {
            break;
        }
        assert!(Instant::now() < deadline, "the replica caught up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (on_primary, on_replica) = (notes(&primary_url), notes(&replica_url));
    assert_eq!(
        on_primary.len(),
        signed.len() + 1,
        "the empty tree's and every load's"
    );
    assert!(!on_replica.is_empty());
    for note in &on_replica {
        let cp = retrace_ledger::checkpoint::SignedCheckpoint::parse(note).unwrap();
        cp.verify(&verifier).unwrap();
        assert!(
            on_primary.contains(note),
            "every checkpoint on the replica is one the primary signed"
        );
    }
    let l = lots();
    for (lot, direction) in [
        (&l.magnet, Direction::Backward),
        (&l.ore, Direction::Forward),
    ] {
        let page = PageRequest::first(MAX_PAGE);
        assert_eq!(
            format!(
                "{:?}",
                store
                    .trace(&Scope::Installation, lot, direction, &page)
                    .await
            ),
            format!(
                "{:?}",
                primary_only
                    .trace(&Scope::Installation, lot, direction, &page)
                    .await
            ),
            "the replica traces as the primary does"
        );
    }
    assert_eq!(
        format!(
            "{:?}",
            store
                .flags(
                    &Scope::Installation,
                    &FlagFilter::default(),
                    &PageRequest::first(MAX_PAGE)
                )
                .await
        ),
        format!(
            "{:?}",
            primary_only
                .flags(
                    &Scope::Installation,
                    &FlagFilter::default(),
                    &PageRequest::first(MAX_PAGE)
                )
                .await
        )
    );
}
