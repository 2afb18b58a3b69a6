//! `retrace bench --api`: the API under load (issue 3, "Speed"), with the
//! server and the load generator on the same machine.
//!
//! The server is `retrace serve`, run as a child process on a fresh data
//! directory, so that it has its own runtime, its own threads and its own
//! memory, as in a deployment. The load generator is this process:
//!
//! 1. **single events**: `clients` concurrent clients, one enterprise and one
//!    API token each, each recording one opening-stock event per request
//!    and waiting for its receipt before the next — events per second and
//!    the latency to the receipt (p50, p99, max);
//! 2. **batches**: a few clients recording batches of `batch` events each —
//!    events per second; every batch is durable before it is answered
//!    (SQLite `synchronous = FULL` commit before the reply).
//!
//! The physical limit measured in the same run beside them is the store
//! alone: the same single-event and batch appends straight into a
//! `SqliteStore` of the same machine, without HTTP, JSON or authentication.
#![allow(
    clippy::float_arithmetic,
    reason = "rates, latencies and ratios of a report; no mass is a float"
)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rand_core::OsRng;
use retrace_access::{
    Account, AccountName, ApiToken, Language, Role, TokenGrant, hash_password, login,
};
use retrace_domain::act::{Act, ActRecord};
use retrace_domain::clock::{Clock, SystemClock};
use retrace_domain::enterprise::{Enterprise, EnterpriseKind};
use retrace_domain::record::Record;
use retrace_domain::uscc::Uscc;
use retrace_store::{Actor, Authority, Identity, Store, TrailEvent, Via, WriteContext};
use serde_json::{Value, json};

use crate::datadir::{DEFAULT_ORIGIN, DataDir};

/// The shape of the run.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Concurrent single-event clients (issue 3: 200).
    pub clients: usize,
    /// Single events each client records.
    pub per_client: usize,
    /// Events per batch (issue 3: 1,000).
    pub batch: usize,
    /// Concurrent batch clients.
    pub batch_clients: usize,
    /// Batches each batch client records.
    pub batches_per_client: usize,
}

const PASSWORD: &str = "Bench-Password-2025";

/// The enterprise of client `i`.
fn enterprise(i: usize) -> Uscc {
    Uscc::synthesize("150271", u32::try_from(i).unwrap_or(u32::MAX))
}

fn register(count: usize, now: time::OffsetDateTime) -> Vec<Record> {
    (0..count)
        .map(|i| {
            Record::Act(ActRecord {
                effective: now,
                official: "retrace bench".to_owned(),
                act: Act::RegisterEnterprise(Enterprise {
                    uscc: enterprise(i),
                    name_zh: format!("基准测试贸易{i}（合成）"),
                    name_en: None,
                    kinds: [EnterpriseKind::Trader].into_iter().collect(),
                    group: None,
                    seat: "150271".parse().expect("a real county"),
                }),
            })
        })
        .collect()
}

/// One opening-stock event of `enterprise`, lot `number`, as an ERP sends it.
fn opening(enterprise: &Uscc, number: &str) -> Value {
    json!({
        "kind": "opening", "event_time": "2025-06-01T08:00:00+08:00",
        "enterprise": enterprise.as_str(),
        "output": {
            "lot": format!("uscc/{enterprise}/10/{number}"), "product": "OXI-PRND",
            "measurement": {"wet_mass": "1 t", "grade": "99.2%", "purity": "99.5%"},
            "distribution": {"Nd": "75%", "Pr": "25%"}, "feed_origin": "declared"
        },
        "documents": ["STOCK-2025-06"]
    })
}

/// Makes the enterprises, accounts and tokens of the run in `dir`, and
/// answers with one token per client.
async fn prepare(dir: &DataDir, clients: usize) -> anyhow::Result<Vec<String>> {
    dir.init(DEFAULT_ORIGIN)?;
    let store = dir.open(&dir.database_or_default(None)).await?;
    let now = SystemClock.now();
    store.load(register(clients, now), "retrace bench --api: the register")?;
    client_tokens(&store, clients, enterprise).await
}

/// Makes an administrator and `clients` enterprise operators, the operator
/// of client `i` for `enterprise(i)`, each with an API token; answers the
/// tokens.
///
/// # Errors
/// When the store refuses an account or a token.
pub(crate) async fn client_tokens(
    store: &impl Identity,
    clients: usize,
    enterprise: impl Fn(usize) -> Uscc,
) -> anyhow::Result<Vec<String>> {
    let now = SystemClock.now();
    let hash = hash_password(PASSWORD, &mut OsRng).context("hashing")?;
    let installed = |name: &str, role: Role| TrailEvent {
        actor: Actor::installation(),
        action: "account.create".to_owned(),
        target: format!("retrace bench --api: {name} as {role}"),
        enterprises: role.enterprise().into_iter().cloned().collect(),
        region: None,
        status: 201,
        detail: String::new(),
    };
    let admin = Account {
        name: AccountName::parse("bench.admin").context("name")?,
        role: Role::Administrator,
        password: hash.clone(),
        disabled: false,
        display_name: String::new(),
        language: Language::En,
    };
    store
        .install_account(admin.clone(), installed("bench.admin", Role::Administrator))
        .await?;
    let by = login(Some(&admin), PASSWORD)
        .context("the bench administrator")?
        .manage_accounts()
        .context("an administrator manages accounts")?;
    let mut tokens = Vec::with_capacity(clients);
    for i in 0..clients {
        let name = AccountName::parse(&format!("bench.client-{i}")).context("name")?;
        let role = Role::EnterpriseOperator {
            enterprise: enterprise(i),
        };
        store
            .install_account(
                Account {
                    name: name.clone(),
                    role: role.clone(),
                    password: hash.clone(),
                    disabled: false,
                    display_name: String::new(),
                    language: Language::En,
                },
                installed(name.as_str(), role.clone()),
            )
            .await?;
        let grant = TokenGrant {
            account: name,
            role,
            label: "bench".to_owned(),
            expires_at: now + time::Duration::days(1),
        };
        let (token, stored) = ApiToken::generate(&mut OsRng, &by, grant, now)
            .map_err(|e| anyhow::anyhow!("a bench token: {e}"))?;
        let trail = TrailEvent {
            actor: Actor::installation(),
            action: "token.issue".to_owned(),
            target: "retrace bench --api".to_owned(),
            enterprises: Vec::new(),
            region: None,
            status: 201,
            detail: String::new(),
        };
        store.issue_token(&by, stored, trail).await?;
        tokens.push(token.expose_secret().to_owned());
    }
    Ok(tokens)
}

/// The server child process; killed when dropped.
struct Server {
    child: std::process::Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    async fn start(dir: &DataDir) -> anyhow::Result<Server> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = std::process::Command::new(std::env::current_exe()?)
            .arg("--data")
            .arg(dir.root())
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .spawn()
            .context("starting retrace serve")?;
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}/api/v1"),
        };
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if client
                .get(format!("{}/healthz", server.base))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Ok(server);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("retrace serve did not answer within 10 s")
    }

    /// The server's resident-set high-water mark in MiB.
    fn peak_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u32>().ok())
            .map_or(0.0, |kb| f64::from(kb) / 1024.0)
    }
}

/// What one phase measured.
struct Phase {
    events: usize,
    elapsed: Duration,
    /// Per-request latencies in milliseconds, sorted.
    latencies: Vec<f64>,
    failures: usize,
}

impl Phase {
    fn rate(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn at(&self, p: usize) -> f64 {
        let n = self.latencies.len();
        if n == 0 {
            return 0.0;
        }
        self.latencies[((n * p).div_ceil(100).max(1) - 1).min(n - 1)]
    }
}

/// Posts `bodies` one after another as one client, timing each.
async fn client_loop(
    client: reqwest::Client,
    url: String,
    token: String,
    bodies: Vec<Vec<u8>>,
) -> (Vec<f64>, usize) {
    let mut latencies = Vec::with_capacity(bodies.len());
    let mut failures = 0;
    for body in bodies {
        let start = Instant::now();
        let answer = client
            .post(&url)
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await;
        let ok = match answer {
            Ok(r) if r.status() == reqwest::StatusCode::CREATED => r.bytes().await.is_ok(),
            _ => false,
        };
        latencies.push(start.elapsed().as_secs_f64() * 1e3);
        if !ok {
            failures += 1;
        }
    }
    (latencies, failures)
}

/// Runs `work` (one request body list per client) against the server.
async fn run_clients(
    server: &Server,
    tokens: &[String],
    work: Vec<Vec<Vec<u8>>>,
    events: usize,
) -> Phase {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(tokens.len())
        .build()
        .expect("an HTTP client");
    let url = format!("{}/events", server.base);
    let start = Instant::now();
    let handles: Vec<_> = work
        .into_iter()
        .zip(tokens)
        .map(|(bodies, token)| {
            tokio::spawn(client_loop(
                client.clone(),
                url.clone(),
                token.clone(),
                bodies,
            ))
        })
        .collect();
    let mut latencies = Vec::new();
    let mut failures = 0;
    for h in handles {
        let (l, f) = h.await.unwrap_or_default();
        latencies.extend(l);
        failures += f;
    }
    let elapsed = start.elapsed();
    latencies.sort_by(f64::total_cmp);
    Phase {
        events,
        elapsed,
        latencies,
        failures,
    }
}

fn single_work(plan: &Plan, round: &str) -> Vec<Vec<Vec<u8>>> {
    (0..plan.clients)
        .map(|c| {
            let e = enterprise(c);
            (0..plan.per_client)
                .map(|k| {
                    json!([opening(&e, &format!("{round}-{k}"))])
                        .to_string()
                        .into_bytes()
                })
                .collect()
        })
        .collect()
}

fn batch_work(plan: &Plan, round: &str) -> Vec<Vec<Vec<u8>>> {
    (0..plan.batch_clients)
        .map(|c| {
            let e = enterprise(c);
            (0..plan.batches_per_client)
                .map(|b| {
                    let batch: Vec<Value> = (0..plan.batch)
                        .map(|k| opening(&e, &format!("{round}-{b}-{k}")))
                        .collect();
                    Value::Array(batch).to_string().into_bytes()
                })
                .collect()
        })
        .collect()
}

/// The store alone: the same appends straight into the store, concurrently.
async fn store_alone(
    dir: &DataDir,
    work: Vec<Vec<Vec<u8>>>,
    events: usize,
) -> anyhow::Result<Phase> {
    let store = Arc::new(dir.open(&dir.database_or_default(None)).await?);
    let start = Instant::now();
    let mut handles = Vec::new();
    for (c, bodies) in work.into_iter().enumerate() {
        let store = Arc::clone(&store);
        handles.push(tokio::spawn(async move {
            let authority = Authority::Enterprise(enterprise(c));
            let context = WriteContext {
                actor: Actor {
                    account: None,
                    role: None,
                    via: Via::Installation,
                    address: None,
                },
                request: "retrace bench --api: the store alone".to_owned(),
                idempotency: None,
            };
            let mut latencies = Vec::new();
            let mut failures = 0;
            for body in bodies {
                let records = retrace_capture::parse_json(&body).unwrap_or_default();
                let t = Instant::now();
                if store.append(&authority, records, &context).await.is_err() {
                    failures += 1;
                }
                latencies.push(t.elapsed().as_secs_f64() * 1e3);
            }
            (latencies, failures)
        }));
    }
    let mut latencies = Vec::new();
    let mut failures = 0;
    for h in handles {
        let (l, f) = h.await?;
        latencies.extend(l);
        failures += f;
    }
    let elapsed = start.elapsed();
    latencies.sort_by(f64::total_cmp);
    Ok(Phase {
        events,
        elapsed,
        latencies,
        failures,
    })
}

/// Runs the API benchmark in `scratch` and prints its report.
///
/// # Errors
/// When the server cannot be started or a phase fails to run.
pub async fn run(plan: Plan, scratch: &Path) -> anyhow::Result<()> {
    let dir = DataDir::new(scratch.join("bench-api"));
    if dir.root().exists() {
        std::fs::remove_dir_all(dir.root())?;
    }
    let clients = plan.clients.max(plan.batch_clients);
    let tokens = prepare(&dir, clients).await?;
    let server = Server::start(&dir).await?;
    let single_events = plan.clients * plan.per_client;
    let single = run_clients(&server, &tokens, single_work(&plan, "S"), single_events).await;
    let batch_events = plan.batch_clients * plan.batch * plan.batches_per_client;
    let batches = run_clients(&server, &tokens, batch_work(&plan, "B"), batch_events).await;
    let peak = server.peak_mib();
    drop(server);
    let alone_single = store_alone(&dir, single_work(&plan, "AS"), single_events).await?;
    let alone_batches = store_alone(&dir, batch_work(&plan, "AB"), batch_events).await?;
    println!(
        "## API under load ({} cores)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!();
    println!(
        "server: `retrace serve` (SQLite, one process), load generator: this process, both on this machine; server peak RSS {peak:.0} MiB"
    );
    println!();
    println!(
        "| phase | events | failed | events/s | p50 ms | p99 ms | max ms | the store alone, events/s | ratio |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (name, api, alone) in [
        (
            format!(
                "{} clients × {} single events",
                plan.clients, plan.per_client
            ),
            &single,
            &alone_single,
        ),
        (
            format!(
                "{} clients × {} batches of {}",
                plan.batch_clients, plan.batches_per_client, plan.batch
            ),
            &batches,
            &alone_batches,
        ),
    ] {
        println!(
            "| {name} | {} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {:.0} | {:.2} |",
            api.events,
            api.failures,
            api.rate(),
            api.at(50),
            api.at(99),
            api.latencies.last().copied().unwrap_or(0.0),
            alone.rate(),
            api.rate() / alone.rate().max(1e-9),
        );
    }
    if single.failures + batches.failures + alone_single.failures + alone_batches.failures > 0 {
        bail!("some requests failed; the figures above do not hold");
    }
    std::fs::remove_dir_all(dir.root()).ok();
    Ok(())
}
