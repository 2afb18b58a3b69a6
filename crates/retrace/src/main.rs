//! `retrace`: one binary that serves the API and carries the CLI verbs
//! (DESIGN.md §3).
#![allow(
    clippy::print_stdout,
    reason = "a command-line tool answers on standard output"
)]

mod accounts;
mod backend;
mod bench;
mod bench_api;
mod commands;
mod copy;
mod datadir;
mod demo;
mod witness;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use retrace_domain::lot::LotId;
use retrace_domain::rules::Rule;
use retrace_domain::uscc::Uscc;

use crate::datadir::DEFAULT_ORIGIN;

/// The allocator of the whole binary. Recording allocates and frees small
/// values for every record (domain values, cached state, JSON); glibc's
/// allocator took about a sixth of bulk recording, mimalloc a fraction of it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// retrace — the rare earth product flow ledger and total-quota system.
#[derive(Debug, Parser)]
#[command(name = "retrace", version, about, long_about = None)]
struct Cli {
    /// The data directory: store, log key and salt secret.
    #[arg(
        long,
        global = true,
        env = "RETRACE_DATA",
        default_value = "retrace-data"
    )]
    data: PathBuf,
    /// Where the ledger is: `postgres://…` for PostgreSQL, or `sqlite:PATH`;
    /// the embedded store of the data directory when absent. The keys stay
    /// in the data directory either way.
    #[arg(long, global = true, env = "RETRACE_DATABASE_URL", value_parser = parse_database)]
    database: Option<backend::Database>,
    /// A streaming replica of the PostgreSQL database (`postgres://…`) that
    /// dashboards, reports and traces read from; checkpoints, proofs and
    /// receipts are read from `--database`.
    #[arg(long, global = true, env = "RETRACE_READ_DATABASE_URL")]
    read_database: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a data directory — the store, the signing keys (owner-readable only) — and the
    /// first administrator, whose password comes from RETRACE_ADMIN_PASSWORD or is generated and
    /// printed once.
    Init {
        /// The log's name on every checkpoint's origin line.
        #[arg(long, default_value = DEFAULT_ORIGIN)]
        origin: String,
        /// The first administrator's account name.
        #[arg(long, default_value = "admin")]
        admin: String,
    },
    /// Load the synthetic national industry into the data directory, then serve it.
    Demo {
        /// Seed of the synthetic industry; a different seed places everything elsewhere.
        #[arg(long, default_value_t = 2025)]
        seed: u64,
        /// About how many flow events to generate (the tonnage stays at quota scale).
        #[arg(long, default_value_t = 60_000)]
        scale: u64,
        /// Plant subtle anomalies and write their ground truth beside the store.
        #[arg(long)]
        anomalies: bool,
        /// Load only; do not serve.
        #[arg(long)]
        no_serve: bool,
        #[arg(long, env = "RETRACE_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
    },
    /// Serve the HTTP API (loopback by default; HTTPS with --tls-cert and --tls-key).
    Serve {
        #[arg(long, env = "RETRACE_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        #[command(flatten)]
        tls: TlsArgs,
    },
    /// Record the flows in a JSON or CSV file, as one all-or-nothing batch.
    Record {
        /// A `.json` batch or a `.csv` file (a `group` column ties a transform's rows).
        file: PathBuf,
        /// Write one receipt per record into this directory.
        #[arg(long)]
        receipts: Option<PathBuf>,
    },
    /// Trace a lot backward to its sources or forward to its holders and exports.
    Trace {
        /// The lot: `uscc/<USCC>/10/<lot>` or `01/<GTIN>/10/<lot>`.
        lot: LotId,
        #[arg(long, value_enum, default_value_t = DirectionArg::Backward)]
        direction: DirectionArg,
        /// Print the whole answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the flags raised: every broken rule, with the events behind it.
    Flags {
        /// Only this rule (e.g. `recovery_out_of_band`).
        #[arg(long, value_parser = parse_rule)]
        rule: Option<Rule>,
        /// Only this enterprise (USCC).
        #[arg(long)]
        enterprise: Option<Uscc>,
        #[arg(long)]
        json: bool,
    },
    /// Verify the ledger end to end and rebuild every projection to compare.
    Audit {
        /// A signed checkpoint held outside the store, which must be consistent with it.
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Write the receipt of a ledger entry (C2SP tlog-proof with the entry's bytes).
    Receipt { index: u64 },
    /// Print the latest signed checkpoint.
    Checkpoint,
    /// Verify a receipt offline with the log's public key.
    Verify {
        receipt: PathBuf,
        /// The verifier key, or a file holding it (`log.vkey` in the data directory).
        #[arg(long)]
        key: String,
    },
    /// Run a witness (C2SP tlog-witness) that cosigns the checkpoints of the logs it trusts and
    /// refuses any that do not extend what it cosigned before: for the ministry or an auditor.
    Witness {
        #[command(subcommand)]
        command: WitnessCommand,
    },
    /// Offer this installation's latest checkpoint to a witness, and write the cosigned
    /// checkpoint to `cosigned.checkpoint` in the data directory.
    Cosign {
        /// The witness's URL (its submission prefix).
        #[arg(long)]
        witness: String,
        /// The witness's verifier key, or a file holding it.
        #[arg(long)]
        witness_key: String,
    },
    /// Apply the pending schema migrations to the database and stop.
    Migrate,
    /// Move a ledger into an empty store, entry by entry at its original
    /// index and record time, and prove the move by equal checkpoints and
    /// equal rows in every table.
    Copy {
        /// The store the ledger is in: `sqlite:PATH` (or a `postgres://` URL).
        #[arg(long, value_parser = parse_database)]
        from: backend::Database,
        /// The empty store to move it to: a `postgres://` URL (or `sqlite:PATH`).
        #[arg(long, value_parser = parse_database)]
        to: backend::Database,
    },
    /// Run the benchmark harness and print its report. With `--database
    /// postgres://…` it measures PostgreSQL too, in a database of its own
    /// that it creates on that server and drops afterwards.
    Bench {
        /// Measure only PostgreSQL (with `--database`), not SQLite.
        #[arg(long)]
        only_postgres: bool,
        /// Event counts to measure at, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "1000000")]
        sizes: Vec<u64>,
        /// Where to put the scratch stores (defaults to a temporary directory).
        #[arg(long)]
        scratch: Option<PathBuf>,
        /// Load the HTTP API instead: `retrace serve` in a child process, this process as the
        /// load generator (see BENCHMARKS.md).
        #[arg(long)]
        api: bool,
        /// With --api: concurrent single-event clients.
        #[arg(long, default_value_t = 200)]
        clients: usize,
        /// With --api: single events each client records.
        #[arg(long, default_value_t = 50)]
        per_client: usize,
        /// With --api: events per batch.
        #[arg(long, default_value_t = 1000)]
        batch: usize,
        /// With --api: concurrent batch clients.
        #[arg(long, default_value_t = 4)]
        batch_clients: usize,
        /// With --api: batches each batch client records.
        #[arg(long, default_value_t = 25)]
        batches: usize,
    },
}

#[derive(Debug, Subcommand)]
enum WitnessCommand {
    /// Make the witness's key in its directory.
    Init {
        /// The witness's directory: its key, state and evidence.
        #[arg(long)]
        dir: PathBuf,
        /// The witness's name, a schema-less URL (`witness.miit.example/w1`).
        #[arg(long)]
        name: String,
    },
    /// Serve `POST /add-checkpoint`.
    Serve {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: SocketAddr,
        /// The verifier key of a log to witness (or a file holding it); repeat for several.
        #[arg(long = "log", required = true)]
        logs: Vec<String>,
    },
}

/// The certificate and key of HTTPS (rustls): PEM files, the chain first.
#[derive(Debug, Clone, clap::Args)]
struct TlsArgs {
    /// The server's certificate chain (PEM).
    #[arg(long, env = "RETRACE_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The server's private key (PEM).
    #[arg(long, env = "RETRACE_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DirectionArg {
    Backward,
    Forward,
}

fn parse_database(text: &str) -> Result<backend::Database, String> {
    backend::Database::parse(text).map_err(|e| e.to_string())
}

fn parse_rule(token: &str) -> Result<Rule, String> {
    Rule::parse(token).ok_or_else(|| {
        let known: Vec<&str> = Rule::ALL.iter().map(|r| r.as_str()).collect();
        format!("unknown rule; the rules are {}", known.join(", "))
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(commands::EXIT_FAILURE);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(commands::EXIT_FAILURE)
        }
    }
}
