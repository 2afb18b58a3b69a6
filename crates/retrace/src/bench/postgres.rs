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
}

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
        store.load(chunk).context("bulk recording")?;
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
    let db_bytes = store.database_bytes().await?;
    Ok(Report {
        events,
        entries,
        commits: store.commits(),
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
    })
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
        print_traces(&self.traces, self.trace_peak_mib);
    }
}
