//! The PostgreSQL part of the harness: the same synthetic industry recorded
//! into `PgStore` in a database the harness makes on the server it is given
//! and drops afterwards, beside the physical limit measured in the same run —
//! binary COPY of the same ledger rows into a table with only its primary
//! key — and the same trace and audit measures as for SQLite.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use retrace_domain::clock::SystemClock;
use retrace_domain::record::Record;
use retrace_domain::uscc::Uscc;
use retrace_server::AppState;
use retrace_store::Store;
use retrace_store::conformance::records;
use retrace_store::trace::Direction;
use sha2::{Digest, Sha256};

use super::{
    LOAD_CHUNK, RAW_MIN_RUNS, RAW_MIN_TIME, TraceFigures, industry, peak_mib, per_second, pick,
    print_traces, reset_peak, sample_lots, time_traces,
};
use crate::backend::{Backend, Database};
use crate::datadir::{DEFAULT_ORIGIN, DataDir};

/// Ledger rows read at a time by the audit's SHA-256 limit.
const ROW_CHUNK: u64 = 100_000;

pub(crate) struct Report {
    events: u64,
    entries: u64,
    commits: u64,
    load: Duration,
    load_peak_mib: f64,
    raw: Duration,
    raw_runs: usize,
    audit_root: Duration,
    audit_sha: Duration,
    audit_peak_mib: f64,
    traces: BTreeMap<&'static str, TraceFigures>,
    trace_peak_mib: f64,
    db_bytes: i64,
    capture: Capture,
}

/// Batch capture over HTTP through three nodes on the same database.
struct Capture {
    events: u64,
    elapsed: Duration,
}

/// Nodes, clients and batches of the capture measure.
const NODES: usize = 3;
const CLIENTS: usize = 6;
const BATCHES_PER_CLIENT: usize = 20;
const RECORDS_PER_BATCH: usize = 100;

/// Measures recording `size` events into a fresh database on `server`.
pub(crate) async fn measure(dir: &Path, size: u64, server: &str) -> anyhow::Result<Report> {
    let name = format!("retrace_bench_{}_{size}", std::process::id());
    let url = retrace_store_postgres::create_database(server, &name)
        .with_context(|| format!("creating the benchmark's database {name}"))?;
    let report = run(dir, size, &url).await;
    if let Err(e) = retrace_store_postgres::drop_database(server, &name) {
        eprintln!("could not drop the benchmark's database {name}: {e}");
    }
    report
}

async fn run(dir: &Path, size: u64, url: &str) -> anyhow::Result<Report> {
    let data = DataDir::new(dir);
    data.init(DEFAULT_ORIGIN)?;
    let database = Database::Postgres(url.to_owned());
    let backend = data
        .open_with_clock(&database, Arc::new(SystemClock))
        .await?;
    let Backend::Postgres(store) = &backend else {
        anyhow::bail!("the benchmark's database did not open as PostgreSQL");
    };
    let industry = industry(size);

    reset_peak();
    let mut load = Duration::ZERO;
    let mut events = 0u64;
    let (mut magnets, mut ores) = (Vec::new(), Vec::new());
    let mut timed_load = |chunk: Vec<Record>| -> anyhow::Result<()> {
        let start = Instant::now();
        store
            .load(chunk, "retrace bench: bulk recording")
            .context("bulk recording")?;
        load += start.elapsed();
        Ok(())
    };
    for chunk in industry.register().chunks(LOAD_CHUNK) {
        timed_load(chunk.to_vec())?;
    }
    for month in industry.months() {
        for record in &month {
            sample_lots(record, &mut magnets, &mut ores);
        }
        events += month.len() as u64;
        for chunk in month.chunks(LOAD_CHUNK) {
            timed_load(chunk.to_vec())?;
        }
    }
    let load_peak_mib = peak_mib();
    let entries = store.ledger_size().await?;

    let mut runs = Vec::new();
    while runs.len() < RAW_MIN_RUNS || runs.iter().sum::<Duration>() < RAW_MIN_TIME {
        runs.push(retrace_store_postgres::raw_copy_limit(url)?);
    }
    runs.sort_unstable();
    let raw = runs[runs.len() / 2];

    reset_peak();
    let start = Instant::now();
    let tree = store.verify_tree().await?;
    let audit_root = start.elapsed();
    anyhow::ensure!(
        tree.problems.is_empty() && tree.size == entries,
        "the stored tree does not verify"
    );
    let mut audit_sha = Duration::ZERO;
    let (mut pair, mut acc) = ([0u8; 65], [0u8; 32]);
    let mut from = 0;
    while from < entries {
        let chunk = store
            .ledger_rows_range(from, (from + ROW_CHUNK).min(entries))
            .await?;
        let start = Instant::now();
        for (_, _, leaf) in &chunk {
            pair[0] = 1;
            pair[1..33].copy_from_slice(&acc);
            pair[33..].copy_from_slice(&leaf.0);
            acc = Sha256::digest(pair).into();
        }
        audit_sha += start.elapsed();
        from += ROW_CHUNK;
    }
    std::hint::black_box(acc);
    let audit_peak_mib = peak_mib();

    reset_peak();
    let mut traces = BTreeMap::new();
    traces.insert(
        "backward from magnets",
        time_traces(&backend, &pick(&magnets), Direction::Backward).await?,
    );
    traces.insert(
        "forward from ore",
        time_traces(&backend, &pick(&ores), Direction::Forward).await?,
    );
    let trace_peak_mib = peak_mib();
    let enterprise = industry
        .register()
        .iter()
        .find_map(|r| match r {
            Record::Act(a) => match &a.act {
                retrace_domain::act::Act::RegisterEnterprise(e) => Some(e.uscc.clone()),
                _ => None,
            },
            Record::Flow(_) => None,
        })
        .context("the synthetic register has an enterprise")?;
    let db_bytes = store.database_bytes().await?;
    let commits = store.commits();
    // The capture nodes elect their own sequencer: this store lets go of the lock.
    drop(backend);
    let capture = capture(&data, &database, &enterprise).await?;
    Ok(Report {
        events,
        entries,
        commits,
        load,
        load_peak_mib,
        raw,
        raw_runs: runs.len(),
        audit_root,
        audit_sha,
        audit_peak_mib,
        traces,
        trace_peak_mib,
        db_bytes,
        capture,
    })
}

/// Starts [`NODES`] servers, each with a store of its own on `database`, and
/// has [`CLIENTS`] clients post batches of openings to them round robin over
/// HTTP; one node sequences, the others queue for it. Times the whole
/// stream, from the first request to the last acknowledgement.
async fn capture(
    data: &DataDir,
    database: &Database,
    enterprise: &Uscc,
) -> anyhow::Result<Capture> {
    let verifier_key = data.verifier_key()?;
    let mut addresses = Vec::new();
    let mut stops = Vec::new();
    let mut servers = Vec::new();
    let mut tokens = Vec::new();
    for _ in 0..NODES {
        let store = data
            .open_with_clock(database, Arc::new(SystemClock))
            .await?;
        let origin = store.checkpoint().await?.checkpoint().origin().to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        addresses.push(listener.local_addr()?.to_string());
        if tokens.is_empty() {
            tokens =
                crate::bench_api::client_tokens(&store, CLIENTS, |_| enterprise.clone()).await?;
        }
        let state = AppState::new(
            Arc::new(store),
            Arc::new(SystemClock),
            verifier_key.clone(),
            data.trail_verifier_key()?,
            origin,
            data.csrf_key()?,
            false,
        );
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        stops.push(stop);
        servers.push(tokio::spawn(retrace_server::serve(
            listener,
            state,
            async {
                let _ = stopped.await;
            },
        )));
    }
    let start = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (addresses, enterprise) = (addresses.clone(), enterprise.clone());
            let token = tokens[c].clone();
            tokio::task::spawn_blocking(move || -> anyhow::Result<u64> {
                let mut acknowledged = 0;
                for b in 0..BATCHES_PER_CLIENT {
                    let batch: Vec<Record> = (0..RECORDS_PER_BATCH)
                        .map(|i| {
                            records::opening(
                                records::may(i64::try_from(b).unwrap_or(0)),
                                &enterprise,
                                &format!("CAPTURE-{c}-{b}-{i}"),
                                1_000_000,
                            )
                        })
                        .collect();
                    let body = serde_json::to_string(&batch)?;
                    let status = post(&addresses[(c + b) % NODES], &token, &body)?;
                    anyhow::ensure!(status == 201, "a capture batch was answered {status}");
                    acknowledged += RECORDS_PER_BATCH as u64;
                }
                Ok(acknowledged)
            })
        })
        .collect();
    let mut events = 0;
    for client in clients {
        events += client.await??;
    }
    let elapsed = start.elapsed();
    for stop in stops {
        let _ = stop.send(());
    }
    for server in servers {
        server.await??;
    }
    Ok(Capture { events, elapsed })
}

/// Posts a JSON batch over one HTTP/1.1 connection; answers the status.
fn post(address: &str, token: &str, body: &str) -> anyhow::Result<u16> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address)?;
    write!(
        stream,
        "POST /api/v1/events HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("an HTTP status line")
}

impl Report {
    pub(crate) fn print(&self) {
        let load_rate = per_second(self.entries, self.load);
        let raw_rate = per_second(self.entries, self.raw);
        let audit_rate = per_second(self.entries, self.audit_root);
        let audit_sha_rate = per_second(self.entries, self.audit_sha);
        println!();
        println!(
            "## PostgreSQL: {} flow events ({} ledger entries in {} commits, database {:.0} MiB)",
            self.events,
            self.entries,
            self.commits,
            self.db_bytes as f64 / 1_048_576.0
        );
        println!();
        println!("| measure | retrace | physical limit, same run | ratio | peak RSS |");
        println!("|---|---|---|---|---|");
        println!(
            "| bulk recording into PostgreSQL | {:.0} events/s ({:.1} s) | binary COPY of the same rows into a table with only its key, median of {} runs: {:.0} rows/s ({:.1} s) | {:.3} | {:.0} MiB |",
            load_rate,
            self.load.as_secs_f64(),
            self.raw_runs,
            raw_rate,
            self.raw.as_secs_f64(),
            load_rate / raw_rate,
            self.load_peak_mib,
        );
        println!(
            "| `retrace audit` root recomputation from stored leaves | {:.0} entries/s | SHA-256 chain over the same leaves in memory: {:.0}/s | {:.3} | {:.0} MiB |",
            audit_rate,
            audit_sha_rate,
            audit_rate / audit_sha_rate,
            self.audit_peak_mib
        );
        let capture_rate = per_second(self.capture.events, self.capture.elapsed);
        println!(
            "| batch capture over HTTP through {NODES} nodes ({CLIENTS} clients, batches of {RECORDS_PER_BATCH}; one node sequences, two queue for it) | {:.0} events/s ({} events in {:.1} s) | — | — | — |",
            capture_rate,
            self.capture.events,
            self.capture.elapsed.as_secs_f64()
        );
        print_traces(&self.traces, self.trace_peak_mib);
    }
}
