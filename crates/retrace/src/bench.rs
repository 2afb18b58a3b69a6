//! `retrace bench`: the benchmark harness (DESIGN.md §5).
//!
//! Every figure is measured at the size it is reported for, in the same run
//! as the physical limit it is compared with: bulk recording against a raw
//! insert of the same canonical ledger rows with the same SQLite settings;
//! Merkle tree building and root recomputation against raw SHA-256 over the
//! same bytes. Only the work compared is timed: the phases that walk the
//! whole ledger read it from the store in chunks, untimed, so that a run of
//! ten million entries fits in memory. Peak memory is the resident
//! high-water mark of each phase, reset between phases through
//! `/proc/self/clear_refs`.
#![allow(
    clippy::float_arithmetic,
    reason = "rates and ratios of a report; no mass is a float"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use retrace_domain::clock::SystemClock;
use retrace_domain::flow::Flow;
use retrace_domain::lot::LotId;
use retrace_domain::record::Record;
use retrace_ledger::hash::leaf_hash;
use retrace_ledger::tree::Frontier;
use retrace_store::trace::{Direction, MAX_TRACE_EDGES};
use retrace_store::{PageRequest, Scope, Store};
use retrace_store_sqlite::LedgerRow;
use retrace_synth::{Industry, SynthConfig};
use sha2::{Digest, Sha256};

use crate::backend::{Backend, Database};
use crate::datadir::{DEFAULT_ORIGIN, DataDir};

/// Records per load transaction, as `retrace demo` loads them.
pub(crate) const LOAD_CHUNK: usize = 20_000;
/// Ledger rows read from the store at a time by the phases that walk the
/// whole ledger: about 40 MiB, so that a run of ten million entries never
/// holds the ledger (about 4 GiB) in memory.
const ROW_CHUNK: usize = 100_000;
/// The raw insert is repeated until it has run at least this many times and
/// for at least [`RAW_MIN_TIME`], and the median is reported: one run at
/// 100,000 rows takes a fifth of a second, too short to trust on a noisy
/// machine.
pub(crate) const RAW_MIN_RUNS: usize = 3;
pub(crate) const RAW_MIN_TIME: Duration = Duration::from_secs(2);
/// How many lots each trace direction is timed on.
const TRACE_SAMPLES: usize = 400;
/// The page size of a timed trace: answers up to this many edges come whole.
pub(crate) const TRACE_PAGE: usize = 1_000;
/// How many of them are also walked whole (a whole forward trace from ore can
/// reach every product of a year).
pub(crate) const WHOLE_SAMPLES: usize = 50;

mod postgres;

/// The synthetic industry every run measures: seed 7, the 2025 quota tonnage.
fn industry(size: u64) -> Industry {
    Industry::new(SynthConfig {
        seed: 7,
        year: 2025,
        target_events: size,
        anomalies: false,
    })
}

/// Runs the harness at every size and prints a Markdown report.
///
/// # Errors
/// When a scratch store cannot be made or a phase fails.
pub async fn run(
    sizes: &[u64],
    scratch: Option<&Path>,
    postgres: Option<&str>,
    only_postgres: bool,
) -> anyhow::Result<u8> {
    anyhow::ensure!(
        postgres.is_some() || !only_postgres,
        "--only-postgres needs --database postgres://…"
    );
    let temp;
    let base: PathBuf = match scratch {
        Some(p) => p.to_path_buf(),
        None => {
            temp = tempdir()?;
            temp.clone()
        }
    };
    println!("# retrace bench — {}", machine());
    for &size in sizes {
        let dir = base.join(format!("bench-{size}"));
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("clearing {}", dir.display()))?;
        }
        if !only_postgres {
            let report = measure(&dir, size).await?;
            report.print();
            std::fs::remove_dir_all(&dir).ok();
        }
        if let Some(server) = postgres {
            let report = postgres::measure(&dir, size, server).await?;
            report.print();
            std::fs::remove_dir_all(&dir).ok();
        }
    }
    if scratch.is_none() {
        std::fs::remove_dir_all(&base).ok();
    }
    Ok(crate::commands::EXIT_OK)
}

fn tempdir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("retrace-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

struct Report {
    events: u64,
    entries: u64,
    load: Duration,
    load_peak_mib: f64,
    raw: Duration,
    raw_peak_mib: f64,
    tree: Duration,
    tree_sha: Duration,
    tree_peak_mib: f64,
    audit_root: Duration,
    audit_sha: Duration,
    audit_peak_mib: f64,
    traces: BTreeMap<&'static str, TraceFigures>,
    trace_peak_mib: f64,
    db_bytes: u64,
}

pub(crate) struct TraceFigures {
    samples: usize,
    /// First page (up to [`TRACE_PAGE`] edges): what a client waits for.
    page: Percentiles,
    /// Answers that fit in one page: how many, their times and their sizes.
    small_count: usize,
    small: Option<(Percentiles, Percentiles)>,
    /// The whole answer walked at once, with its sizes.
    whole: (Percentiles, Percentiles),
}

/// p50, p99 and max of durations (as milliseconds) or of edge counts.
#[derive(Clone, Copy)]
struct Percentiles {
    p50: f64,
    p99: f64,
    max: f64,
}

impl Percentiles {
    fn of(mut values: Vec<f64>) -> Option<Percentiles> {
        values.sort_by(f64::total_cmp);
        let at =
            |p: usize| values[((values.len() * p).div_ceil(100).max(1) - 1).min(values.len() - 1)];
        (!values.is_empty()).then(|| Percentiles {
            p50: at(50),
            p99: at(99),
            max: values[values.len() - 1],
        })
    }
}

async fn measure(dir: &Path, size: u64) -> anyhow::Result<Report> {
    let data = DataDir::new(dir);
    data.init(DEFAULT_ORIGIN)?;
    let Backend::Sqlite(store) = data
        .open_with_clock(&Database::Embedded(data.database()), Arc::new(SystemClock))
        .await?
    else {
        anyhow::bail!("the embedded store did not open as SQLite");
    };
    let industry = industry(size);

    reset_peak();
    let mut load = Duration::ZERO;
    let mut events = 0u64;
    let mut magnets = Vec::new();
    let mut ores = Vec::new();
    let mut timed_load = |chunk: Vec<Record>| -> anyhow::Result<()> {
        let start = Instant::now();
        store
            .load(chunk, "retrace bench")
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

    let entries = store.ledger_size()?;
    let chunks = || {
        (0..entries)
            .step_by(ROW_CHUNK)
            .map(|from| store.ledger_rows_range(from, (from + ROW_CHUNK as u64).min(entries)))
    };
    reset_peak();
    let raw = raw_limit(&dir.join("raw.db"), chunks)?;
    let raw_peak_mib = peak_mib();

    reset_peak();
    let (mut tree, mut tree_sha) = (Duration::ZERO, Duration::ZERO);
    let mut frontier = Frontier::new();
    let mut sink = 0u8;
    for chunk in chunks() {
        let chunk = chunk?;
        let start = Instant::now();
        for (_, entry, _) in &chunk {
            frontier.push(leaf_hash(entry));
        }
        tree += start.elapsed();
        let start = Instant::now();
        for (_, entry, _) in &chunk {
            sink ^= Sha256::digest(entry)[0];
        }
        tree_sha += start.elapsed();
    }
    let root = frontier.root();
    let tree_peak_mib = peak_mib();
    std::hint::black_box(sink);

    reset_peak();
    let start = Instant::now();
    let verified = store.verify_tree()?;
    let audit_root = start.elapsed();
    anyhow::ensure!(
        verified.root == root && verified.problems.is_empty(),
        "the recomputed root differs from the tree built in memory"
    );
    let mut audit_sha = Duration::ZERO;
    let mut pair = [0u8; 65];
    let mut acc = [0u8; 32];
    for chunk in chunks() {
        let chunk = chunk?;
        let start = Instant::now();
        for (_, _, leaf) in &chunk {
            pair[0] = 1;
            pair[1..33].copy_from_slice(&acc);
            pair[33..].copy_from_slice(&leaf.0);
            acc = Sha256::digest(pair).into();
        }
        audit_sha += start.elapsed();
    }
    std::hint::black_box(acc);
    let audit_peak_mib = peak_mib();

    reset_peak();
    let mut traces = BTreeMap::new();
    traces.insert(
        "backward from magnets",
        time_traces(&store, &pick(&magnets), Direction::Backward).await?,
    );
    traces.insert(
        "forward from ore",
        time_traces(&store, &pick(&ores), Direction::Forward).await?,
    );
    let trace_peak_mib = peak_mib();
    let db_bytes = std::fs::metadata(data.database())
        .map(|m| m.len())
        .unwrap_or(0);
    Ok(Report {
        events,
        entries,
        load,
        load_peak_mib,
        raw,
        raw_peak_mib,
        tree,
        tree_sha,
        tree_peak_mib,
        audit_root,
        audit_sha,
        audit_peak_mib,
        traces,
        trace_peak_mib,
        db_bytes,
    })
}

/// The physical limit of bulk recording: the median of repeated raw inserts
/// of the store's ledger rows into a fresh file (see [`RAW_MIN_RUNS`]).
fn raw_limit<I>(path: &Path, chunks: impl Fn() -> I) -> anyhow::Result<Duration>
where
    I: Iterator<Item = Result<Vec<LedgerRow>, retrace_store::StoreError>>,
{
    let mut runs = Vec::new();
    while runs.len() < RAW_MIN_RUNS || runs.iter().sum::<Duration>() < RAW_MIN_TIME {
        runs.push(retrace_store_sqlite::raw_insert_limit(path, chunks())?);
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        std::fs::remove_file(file).ok();
    }
    runs.sort_unstable();
    Ok(runs[runs.len() / 2])
}

/// Keeps the lots a trace starts from: magnets (backward to the mines) and extracted ore (forward to exports).
pub(crate) fn sample_lots(record: &Record, magnets: &mut Vec<LotId>, ores: &mut Vec<LotId>) {
    let Record::Flow(event) = record else { return };
    match &event.flow {
        Flow::Extract(x) => ores.push(x.output.lot.clone()),
        Flow::Transform(t) if t.process == retrace_domain::facility::Process::MagnetMaking => {
            magnets.extend(t.outputs.iter().map(|o| o.lot.clone()));
        }
        _ => {}
    }
}

/// An even spread of at most [`TRACE_SAMPLES`] lots.
pub(crate) fn pick(lots: &[LotId]) -> Vec<LotId> {
    let step = lots.len().div_ceil(TRACE_SAMPLES).max(1);
    lots.iter().step_by(step).cloned().collect()
}

pub(crate) async fn time_traces<S: Store>(
    store: &S,
    lots: &[LotId],
    direction: Direction,
) -> anyhow::Result<TraceFigures> {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (mut page, mut small, mut small_edges, mut whole, mut whole_edges) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let whole_every = lots.len().div_ceil(WHOLE_SAMPLES).max(1);
    for (n, lot) in lots.iter().enumerate() {
        let start = Instant::now();
        let first = store
            .trace(
                &Scope::Installation,
                lot,
                direction,
                &PageRequest::first(TRACE_PAGE),
            )
            .await?;
        let elapsed = ms(start.elapsed());
        page.push(elapsed);
        if let Some(n) = first.total_edges {
            small.push(elapsed);
            small_edges.push(n as f64);
        }
        if n % whole_every != 0 {
            continue;
        }
        let start = Instant::now();
        let all = store
            .trace(
                &Scope::Installation,
                lot,
                direction,
                &PageRequest::first(MAX_TRACE_EDGES),
            )
            .await?;
        whole.push(ms(start.elapsed()));
        whole_edges.push(all.edges.len() as f64);
    }
    let samples = page.len();
    let small_count = small.len();
    let none = || anyhow::anyhow!("no lot to trace");
    Ok(TraceFigures {
        samples,
        small_count,
        page: Percentiles::of(page).ok_or_else(none)?,
        small: Percentiles::of(small).zip(Percentiles::of(small_edges)),
        whole: Percentiles::of(whole)
            .zip(Percentiles::of(whole_edges))
            .ok_or_else(none)?,
    })
}

/// Resets the resident-set high-water mark (Linux ≥ 4.0); elsewhere the mark only grows.
pub(crate) fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").ok();
}

/// The resident-set high-water mark in MiB, from `/proc/self/status`.
pub(crate) fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u32>().ok())
        .map_or(0.0, |kb| f64::from(kb) / 1024.0)
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    format!("{model}, {cores} cores")
}

pub(crate) fn per_second(count: u64, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(1e-9)
}

impl Report {
    fn print(&self) {
        let load_rate = per_second(self.entries, self.load);
        let raw_rate = per_second(self.entries, self.raw);
        let tree_rate = per_second(self.entries, self.tree);
        let sha_rate = per_second(self.entries, self.tree_sha);
        let audit_rate = per_second(self.entries, self.audit_root);
        let audit_sha_rate = per_second(self.entries, self.audit_sha);
        println!();
        println!(
            "## {} flow events ({} ledger entries, database {:.0} MiB)",
            self.events,
            self.entries,
            self.db_bytes as f64 / 1_048_576.0
        );
        println!();
        println!("| measure | retrace | physical limit, same run | ratio | peak RSS |");
        println!("|---|---|---|---|---|");
        println!(
            "| bulk recording into SQLite | {:.0} events/s ({:.1} s) | raw insert of the same rows, median of ≥ {RAW_MIN_RUNS} runs: {:.0} rows/s ({:.1} s) | {:.3} | {:.0} MiB (raw: {:.0} MiB) |",
            load_rate,
            self.load.as_secs_f64(),
            raw_rate,
            self.raw.as_secs_f64(),
            load_rate / raw_rate,
            self.load_peak_mib,
            self.raw_peak_mib
        );
        println!(
            "| Merkle tree building (leaf hashes + nodes) | {:.0} leaves/s | SHA-256 of the same entry bytes: {:.0}/s | {:.3} | {:.0} MiB |",
            tree_rate,
            sha_rate,
            tree_rate / sha_rate,
            self.tree_peak_mib
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

/// The trace table of a report.
pub(crate) fn print_traces(traces: &BTreeMap<&'static str, TraceFigures>, peak_mib: f64) {
    println!();
    println!(
        "| trace | lots | first page of ≤ {TRACE_PAGE} edges: p50 / p99 / max | answers ≤ {TRACE_PAGE} edges: how many, p50 / p99, edges p50 / max | whole answer ({WHOLE_SAMPLES} of the lots): p50 / p99 / max, edges p50 / p99 / max | peak RSS |"
    );
    println!("|---|---|---|---|---|---|");
    for (name, t) in traces {
        let small = t.small.map_or_else(
            || "none".to_owned(),
            |(time, edges)| {
                format!(
                    "{:.2} / {:.2} ms, {:.0} / {:.0}",
                    time.p50, time.p99, edges.p50, edges.max
                )
            },
        );
        println!(
            "| {name} | {} | {:.2} / {:.2} / {:.2} ms | {}: {} | {:.1} / {:.1} / {:.1} ms, {:.0} / {:.0} / {:.0} | {:.0} MiB |",
            t.samples,
            t.page.p50,
            t.page.p99,
            t.page.max,
            t.small_count,
            small,
            t.whole.0.p50,
            t.whole.0.p99,
            t.whole.0.max,
            t.whole.1.p50,
            t.whole.1.p99,
            t.whole.1.max,
            peak_mib
        );
    }
}
