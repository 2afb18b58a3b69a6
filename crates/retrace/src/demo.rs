//! `retrace demo`: the synthetic national industry, loaded into a data directory.

use std::fs;

use anyhow::Context;
use retrace_ledger::checkpoint::SignedCheckpoint;
use retrace_store::Store;
use retrace_synth::{Industry, SynthConfig};

use crate::accounts::{self, Login};
use crate::backend::{Backend, Database};
use crate::datadir::{DEFAULT_ORIGIN, DataDir};

/// Records per transaction when loading: large enough to amortise the
/// commit, small enough to keep memory flat at 10 M events.
const LOAD_CHUNK: usize = 20_000;

/// Initialises `dir` if needed and loads the synthetic industry into it,
/// unless it already holds a ledger; then makes the demo accounts (one per
/// role) that do not exist yet, and answers with their logins.
///
/// # Errors
/// When the directory cannot be initialised or a record is refused (a bug in
/// the generator: its output is meant to be valid).
pub async fn load(
    dir: &DataDir,
    db: &Database,
    seed: u64,
    scale: u64,
    anomalies: bool,
) -> anyhow::Result<(Backend, Vec<Login>)> {
    if !dir.is_initialised() {
        dir.init(DEFAULT_ORIGIN)?;
    }
    let store = dir.open(db).await?;
    let existing = store.checkpoint().await?;
    let size = checkpoint_size(&existing)?;
    let config = SynthConfig {
        seed,
        year: 2025,
        target_events: scale,
        anomalies,
    };
    let industry = Industry::new(config);
    if size > 0 {
        println!(
            "{} already holds a ledger of {size} entries; serving it as it is (use another --data directory for a fresh demo)",
            dir.root().display()
        );
        let logins = accounts::demo_accounts(&store, &industry.register()).await?;
        return Ok((store, logins));
    }
    println!(
        "loading the synthetic national industry (seed {seed}, about {scale} events, anomalies {})",
        if anomalies { "planted" } else { "none" }
    );
    let bar = indicatif::ProgressBar::new(scale);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} events {per_sec} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut loaded = 0u64;
    let mut last = existing;
    for chunk in industry.register().chunks(LOAD_CHUNK) {
        last = store
            .load(chunk.to_vec(), "retrace demo: the register")
            .context("loading the register")?;
    }
    for month in industry.months() {
        for chunk in month.chunks(LOAD_CHUNK) {
            last = store
                .load(chunk.to_vec(), "retrace demo: the synthetic flows")
                .context("loading the synthetic flows")?;
            loaded += chunk.len() as u64;
            bar.set_position(loaded);
        }
    }
    bar.finish_and_clear();
    let truth = industry.ground_truth();
    if anomalies {
        fs::write(dir.ground_truth_path(), serde_json::to_vec_pretty(&truth)?)
            .with_context(|| format!("writing {}", dir.ground_truth_path().display()))?;
        println!(
            "planted anomalies written to {} (the detectors never read it)",
            dir.ground_truth_path().display()
        );
    }
    println!(
        "loaded {loaded} flow events; ledger size {}",
        checkpoint_size(&last)?
    );
    println!("all enterprises, codes and figures are synthetic (合成数据)");
    let logins = accounts::demo_accounts(&store, &industry.register()).await?;
    Ok((store, logins))
}

fn checkpoint_size(c: &SignedCheckpoint) -> anyhow::Result<u64> {
    Ok(c.checkpoint().size())
}
