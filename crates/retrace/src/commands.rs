//! The CLI verbs, each a thin layer over the store, the server and the ledger.

use std::fs;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use retrace_domain::clock::{Clock, SystemClock};
use retrace_domain::lot::LotId;
use retrace_domain::quantity::Mass;
use retrace_domain::rules::Rule;
use retrace_domain::uscc::Uscc;
use retrace_ledger::checkpoint::LogVerifier;
use retrace_ledger::receipt::Receipt;
use retrace_server::{AppState, Tls};
use retrace_store::trace::{Direction, TraceNode};
use retrace_store::{Authority, FlagFilter, PageRequest, Scope, Store, StoreError, WriteContext};

use crate::accounts::{self, Login};
use crate::backend::{Backend, Database};
use crate::datadir::DataDir;
use crate::{Cli, Command, DirectionArg, TlsArgs, bench, copy, demo};

/// Everything worked and every check passed.
pub const EXIT_OK: u8 = 0;
/// A check failed: the audit found a difference, a receipt did not verify, input was refused.
pub const EXIT_CHECK_FAILED: u8 = 1;
/// The command could not run: no data directory, an unreadable file, a broken store.
pub const EXIT_FAILURE: u8 = 4;

/// Runs one command and answers with the process exit code.
///
/// # Errors
/// When the command cannot run at all (reported with [`EXIT_FAILURE`]).
pub async fn run(cli: Cli) -> anyhow::Result<u8> {
    let dir = DataDir::new(cli.data).with_read_replica(cli.read_database);
    let db = dir.database_or_default(cli.database.as_ref());
    match cli.command {
        Command::Init { origin, admin } => {
            let key = dir.init(&origin)?;
            let store = dir.open(&db).await?;
            let made = accounts::first_administrator(&store, &admin).await?;
            println!("initialised {}", dir.root().display());
            println!(
                "log verifier key (share it with whoever verifies receipts):\n{}",
                key.verifier_key()
            );
            if let Some((name, generated)) = made {
                match generated {
                    Some(password) => println!(
                        "administrator `{name}` created with the password {password}\n(shown once: keep it, then change it at /api/v1/me/password)"
                    ),
                    None => println!(
                        "administrator `{name}` created with the password from {}",
                        accounts::ADMIN_PASSWORD_ENV
                    ),
                }
            }
            Ok(EXIT_OK)
        }
        Command::Demo {
            seed,
            scale,
            anomalies,
            no_serve,
            listen,
        } => {
            let (store, logins) = demo::load(&dir, &db, seed, scale, anomalies).await?;
            if no_serve {
                print_logins(&logins);
                return Ok(EXIT_OK);
            }
            serve(&dir, store, listen, None, &logins).await
        }
        Command::Serve { listen, tls } => {
            let store = dir.open(&db).await?;
            serve(&dir, store, listen, Some(tls), &[]).await
        }
        Command::Record { file, receipts } => record(&dir, &db, &file, receipts.as_deref()).await,
        Command::Trace {
            lot,
            direction,
            json,
        } => trace(&dir, &db, lot, direction, json).await,
        Command::Flags {
            rule,
            enterprise,
            json,
        } => flags(&dir, &db, rule, enterprise, json).await,
        Command::Audit { checkpoint, json } => audit(&dir, &db, checkpoint.as_deref(), json).await,
        Command::Receipt { index } => {
            let store = dir.open(&db).await?;
            let receipt = store.receipt(&Scope::Installation, index).await?;
            print!("{}", String::from_utf8_lossy(&receipt.to_bytes()));
            Ok(EXIT_OK)
        }
        Command::Checkpoint => {
            let store = dir.open(&db).await?;
            print!(
                "{}",
                String::from_utf8_lossy(store.checkpoint().await?.as_bytes())
            );
            Ok(EXIT_OK)
        }
        Command::Verify { receipt, key } => verify(&receipt, &key),
        Command::Witness {
            command: crate::WitnessCommand::Init { dir, name },
        } => crate::witness::init(&dir, &name),
        Command::Witness {
            command: crate::WitnessCommand::Serve { dir, listen, logs },
        } => crate::witness::serve(&dir, listen, &logs).await,
        Command::Cosign {
            witness,
            witness_key,
        } => crate::witness::cosign(&dir, &db, &witness, &witness_key).await,
        Command::Bench {
            scratch,
            api: true,
            clients,
            per_client,
            batch,
            batch_clients,
            batches,
            ..
        } => {
            let plan = crate::bench_api::Plan {
                clients,
                per_client,
                batch,
                batch_clients,
                batches_per_client: batches,
            };
            let dir = scratch.unwrap_or_else(std::env::temp_dir);
            crate::bench_api::run(plan, &dir).await?;
            Ok(EXIT_OK)
        }
        Command::Migrate => migrate(&db),
        Command::Copy { from, to } => copy::run(&dir, &from, &to).await,
        Command::Bench {
            sizes,
            scratch,
            only_postgres,
            ..
        } => {
            let server = match cli.database {
                Some(Database::Postgres(url)) => Some(url),
                Some(Database::Embedded(_)) => {
                    anyhow::bail!(
                        "the benchmark makes its own SQLite stores; --database names a PostgreSQL server to measure beside them"
                    )
                }
                None => None,
            };
            bench::run(&sizes, scratch.as_deref(), server.as_deref(), only_postgres).await
        }
    }
}

/// Prints the demo logins.
fn print_logins(logins: &[Login]) {
    if logins.is_empty() {
        return;
    }
    println!(
        "demo logins (password {} for each; POST /api/v1/session with {{\"account\", \"password\"}}):",
        accounts::DEMO_PASSWORD
    );
    for l in logins {
        println!(
            "  {:<20} {:<58} {}",
            l.name.as_str(),
            l.role.to_string(),
            l.what
        );
    }
}

async fn serve(
    dir: &DataDir,
    store: Backend,
    listen: SocketAddr,
    tls: Option<TlsArgs>,
    logins: &[Login],
) -> anyhow::Result<u8> {
    let tls = match tls.and_then(|t| t.tls_cert.zip(t.tls_key)) {
        Some((cert, key)) => Some(
            Tls::from_pem_files(&cert, &key)
                .await
                .with_context(|| format!("reading {} and {}", cert.display(), key.display()))?,
        ),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    let address = listener.local_addr()?;
    let origin = store.checkpoint().await?.checkpoint().origin().to_owned();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let state = AppState::new(
        Arc::new(store),
        clock,
        dir.verifier_key()?,
        dir.trail_verifier_key()?,
        origin,
        dir.csrf_key()?,
        tls.is_some(),
    );
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!(
        "retrace is serving {scheme}://{address}/ (API under /api/v1, OpenAPI at /api/v1/openapi.json)"
    );
    print_logins(logins);
    println!("press Ctrl-C to stop");
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match tls {
        Some(tls) => retrace_server::serve_tls(listener, tls, state, shutdown).await?,
        None => retrace_server::serve(listener, state, shutdown).await?,
    }
    Ok(EXIT_OK)
}

async fn record(
    dir: &DataDir,
    db: &Database,
    file: &Path,
    receipts: Option<&Path>,
) -> anyhow::Result<u8> {
    let bytes = fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let is_csv = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let progress = indicatif::ProgressBar::new_spinner();
    progress.set_message(format!("reading {}", file.display()));
    let parsed = if is_csv {
        retrace_capture::parse_csv(bytes.as_slice())
    } else {
        retrace_capture::parse_json(&bytes)
    };
    let records = match parsed {
        Ok(r) => r,
        Err(e) => {
            progress.finish_and_clear();
            eprintln!("{}: refused, nothing recorded: {e}", file.display());
            return Ok(EXIT_CHECK_FAILED);
        }
    };
    let count = records.len();
    progress.set_message(format!("recording {count} records as one batch"));
    let store = dir.open(db).await?;
    let context = WriteContext::installation(format!("retrace record {}", file.display()));
    let appended = match store
        .append(&Authority::Installation, records, &context)
        .await
    {
        Ok(a) => a,
        Err(StoreError::Refused { record, refusal }) => {
            progress.finish_and_clear();
            eprintln!(
                "{}: record {record} refused ({:?}), field `{}`: {}; nothing recorded",
                file.display(),
                refusal.reason,
                refusal.field,
                refusal.message
            );
            return Ok(EXIT_CHECK_FAILED);
        }
        Err(e) => return Err(e.into()),
    };
    progress.finish_and_clear();
    if let Some(out) = receipts {
        fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
        for r in &appended.receipts {
            let path = out.join(format!("{}.receipt", r.index));
            fs::write(&path, r.to_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
        }
    }
    let first = appended.receipts.first().map(|r| r.index);
    println!(
        "recorded {count} records{}",
        first
            .map(|f| format!(" as entries {f}…{}", f + count as u64 - 1))
            .unwrap_or_default()
    );
    print!(
        "{}",
        String::from_utf8_lossy(appended.checkpoint.as_bytes())
    );
    Ok(EXIT_OK)
}

async fn trace(
    dir: &DataDir,
    db: &Database,
    lot: LotId,
    direction: DirectionArg,
    json: bool,
) -> anyhow::Result<u8> {
    let direction = match direction {
        DirectionArg::Backward => Direction::Backward,
        DirectionArg::Forward => Direction::Forward,
    };
    let store = dir.open(db).await?;
    let whole = PageRequest::first(retrace_store::trace::MAX_TRACE_EDGES);
    let answer = store
        .trace(&Scope::Installation, &lot, direction, &whole)
        .await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
        return Ok(EXIT_OK);
    }
    println!(
        "{} trace of {} — {} edges{}",
        match direction {
            Direction::Backward => "backward",
            Direction::Forward => "forward",
        },
        lot,
        answer.edges.len(),
        if answer.attributed {
            " (edges marked ≈ are attributed by mass balance over a plant's monthly pool, not recorded batch by batch)"
        } else {
            ""
        }
    );
    for e in &answer.edges {
        let mark = match e.basis {
            retrace_store::trace::EdgeBasis::Recorded => " ",
            retrace_store::trace::EdgeBasis::Attributed => "≈",
        };
        let amount = |grams: Option<u64>| {
            grams.map_or_else(
                || "—".to_owned(),
                |g| Mass::from_grams(g).tonnes().to_string(),
            )
        };
        println!(
            "{mark} #{:<8} {:<10} {} -> {}   {} t, {} t REO",
            e.entry,
            e.kind.as_str(),
            node_text(&e.from),
            node_text(&e.to),
            amount(e.mass),
            amount(e.reo)
        );
    }
    if answer.truncated {
        println!(
            "(the trace stopped at {} edges)",
            retrace_store::trace::MAX_TRACE_EDGES
        );
    }
    Ok(EXIT_OK)
}

fn node_text(node: &TraceNode) -> String {
    match node {
        TraceNode::Lot { lot } => format!("lot {lot}"),
        TraceNode::Mine {
            facility,
            enterprise,
        } => format!("mine {facility} ({enterprise})"),
        TraceNode::Import {
            country,
            enterprise,
        } => format!("import from {country} ({enterprise})"),
        TraceNode::Opening { enterprise } => format!("opening stock of {enterprise}"),
        TraceNode::Holder { enterprise } => format!("{enterprise}"),
        TraceNode::Abroad { country } => format!("export to {country}"),
        TraceNode::Undisclosed => "(undisclosed)".to_owned(),
    }
}

async fn flags(
    dir: &DataDir,
    db: &Database,
    rule: Option<Rule>,
    enterprise: Option<Uscc>,
    json: bool,
) -> anyhow::Result<u8> {
    let store = dir.open(db).await?;
    let filter = FlagFilter {
        rule,
        enterprise,
        month: None,
    };
    let mut page = PageRequest::first(retrace_store::MAX_PAGE);
    let mut all = Vec::new();
    loop {
        let got = store.flags(&Scope::Installation, &filter, &page).await?;
        all.extend(got.items);
        match got.next {
            Some(next) => page.after = Some(next),
            None => break,
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(EXIT_OK);
    }
    for f in &all {
        let entries: Vec<String> = f.entries.iter().map(|e| format!("#{e}")).collect();
        println!(
            "{:<24} {}  {}  {} [{}]",
            f.rule.as_str(),
            f.enterprise,
            f.month,
            f.detail,
            entries.join(" ")
        );
    }
    println!("{} flags", all.len());
    Ok(EXIT_OK)
}

async fn audit(
    dir: &DataDir,
    db: &Database,
    checkpoint: Option<&Path>,
    json: bool,
) -> anyhow::Result<u8> {
    let extra = match checkpoint {
        Some(path) => Some(fs::read(path).with_context(|| format!("reading {}", path.display()))?),
        None => None,
    };
    let store = dir.open(db).await?;
    let report = store.audit(extra).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for p in &report.problems {
            println!(
                "DIFFERS {} [{}]{}: {}",
                p.table,
                p.key,
                p.column
                    .as_deref()
                    .map(|c| format!(" column {c}"))
                    .unwrap_or_default(),
                p.detail
            );
        }
        println!(
            "{} entries, root {}, {} checkpoints checked, {} projection rows compared; \
             audit trail: {} entries, root {}, {} checkpoints checked: {}",
            report.entries,
            report
                .root
                .map(|r| r.to_string())
                .unwrap_or_else(|| "(empty)".into()),
            report.checkpoints_checked,
            report.rows_compared,
            report.trail_entries,
            report
                .trail_root
                .map(|r| r.to_string())
                .unwrap_or_else(|| "(empty)".into()),
            report.trail_checkpoints_checked,
            if report.problems.is_empty() {
                "audit passed".to_owned()
            } else {
                format!("{} problems", report.problems.len())
            }
        );
    }
    Ok(if report.problems.is_empty() {
        EXIT_OK
    } else {
        EXIT_CHECK_FAILED
    })
}

/// `retrace migrate`: brings the database to this build's schema.
fn migrate(db: &Database) -> anyhow::Result<u8> {
    match db {
        Database::Postgres(url) => {
            let m =
                retrace_store_postgres::migrate(url).with_context(|| format!("migrating {db}"))?;
            if m.from == m.to {
                println!("{db} is at schema {}, this build's; nothing to do", m.to);
            } else {
                println!("{db} migrated from schema {} to {}", m.from, m.to);
            }
        }
        Database::Embedded(path) => {
            // The embedded store migrates when it is opened; opening it needs no keys.
            retrace_store_sqlite::migrate(path).with_context(|| format!("migrating {db}"))?;
            println!("{db} is at this build's schema");
        }
    }
    Ok(EXIT_OK)
}

fn verify(receipt: &Path, key: &str) -> anyhow::Result<u8> {
    let key_text = if Path::new(key).is_file() {
        fs::read_to_string(key).with_context(|| format!("reading {key}"))?
    } else {
        key.to_owned()
    };
    let verifier = LogVerifier::from_vkey(key_text.trim())
        .context("the verifier key is not a signed-note key")?;
    let bytes = fs::read(receipt).with_context(|| format!("reading {}", receipt.display()))?;
    let outcome = Receipt::parse(&bytes)
        .map_err(anyhow::Error::from)
        .and_then(|r| r.verify(&verifier).map_err(anyhow::Error::from));
    match outcome {
        Ok(verified) => {
            println!(
                "receipt verified: entry {} is in the log {} of size {}",
                verified.index(),
                verifier.name(),
                verified.checkpoint().size()
            );
            Ok(EXIT_OK)
        }
        Err(e) => {
            println!("receipt does NOT verify: {e:#}");
            Ok(EXIT_CHECK_FAILED)
        }
    }
}
