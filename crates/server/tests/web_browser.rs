//! The web application in a real browser (issue 8 "Tests"): the real server
//! on port 0 over a temporary store holding the synthetic industry with its
//! planted anomalies, driven by `tests/browser/journeys.mjs` in Debian's
//! headless Chromium through playwright-core.
//!
//! The journeys: a clerk records a shipment (and a double submit records it
//! once) and the receiving clerk confirms it; a CSV with one bad row is
//! refused with that row named and nothing stored; a province official drills
//! province → prefecture → county → a flagged enterprise and opens its flag,
//! and the county official finds it too; the public page of a demo lot shows
//! its chain, proven; an auditor verifies a receipt and a consistency proof.
//! Every page visited passes axe-core (WCAG 2 A and AA) and is rendered in
//! both languages with no missing message.
//!
//! It needs `chromium` and `npm ci` in `tests/browser` (`scripts/test`
//! installs both). Where they are missing the test says so and passes —
//! except under `CI=true`, where it fails. `UPDATE_SCREENS=1` writes the
//! README's screenshots to `crates/server/screens/`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rand_core::OsRng;
use retrace_access::{Account, AccountName, CsrfKey, Language, Role, hash_password};
use retrace_domain::clock::ManualClock;
use retrace_domain::enterprise::EnterpriseKind;
use retrace_domain::project::Projector;
use retrace_domain::region::RegionCode;
use retrace_domain::rules::Rule;
use retrace_domain::scope::Scope;
use retrace_ledger::checkpoint::LogKey;
use retrace_server::{AppState, serve};
use retrace_store::{
    Actor, EnterpriseFilter, FlagFilter, Identity, PageRequest, StockFilter, Store, TrailEvent,
};
use retrace_store_sqlite::{SqliteConfig, SqliteStore};
use retrace_synth::{Industry, SynthConfig};
use serde_json::json;

const PASSWORD: &str = "Correct-Horse-Battery-9";

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// Why the browser journeys cannot run here, if they cannot.
fn missing() -> Option<String> {
    if !Path::new("/usr/bin/chromium").exists() {
        return Some("Debian's chromium is not installed (/usr/bin/chromium)".to_owned());
    }
    if !browser_dir().join("node_modules/playwright-core").exists() {
        return Some("`npm ci` has not been run in crates/server/tests/browser".to_owned());
    }
    let node = std::process::Command::new("node").arg("--version").output();
    if node.is_err() {
        return Some("node is not installed".to_owned());
    }
    None
}

async fn install(store: &SqliteStore, name: &str, role: Role, display: &str) {
    let account = Account {
        name: AccountName::parse(name).unwrap(),
        role,
        password: hash_password(PASSWORD, &mut OsRng).unwrap(),
        disabled: false,
        display_name: display.to_owned(),
        language: Language::Zh,
    };
    let trail = TrailEvent {
        actor: Actor::installation(),
        action: "account.create".into(),
        target: format!("browser test account {name}"),
        enterprises: Vec::new(),
        region: None,
        status: 201,
        detail: String::new(),
    };
    store.install_account(account, trail).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journeys_in_a_real_browser() {
    if let Some(why) = missing() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "the browser journeys must run in CI, but {why}"
        );
        eprintln!(
            "SKIPPED: the browser journeys did not run: {why} (scripts/test installs what they need)"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let key = LogKey::from_seed("retrace.test/log", &[7; 32]).unwrap();
    let trail_key = LogKey::from_seed("retrace.test/log/trail", &[8; 32]).unwrap();
    let verifier_key = key.verifier_key();
    let trail_verifier_key = trail_key.verifier_key();
    let clock = Arc::new(ManualClock::new(
        time::macros::datetime!(2026-01-12 09:30 +08:00),
    ));
    let store = Arc::new(
        SqliteStore::open(
            &dir.path().join("retrace.db"),
            SqliteConfig {
                log_key: key,
                trail_key,
                salt_secret: [42; 32],
                clock: clock.clone(),
                projector: Projector::default(),
            },
        )
        .unwrap(),
    );
    let loading = Arc::clone(&store);
    tokio::task::spawn_blocking(move || {
        let industry = Industry::new(SynthConfig {
            target_events: 12_000,
            anomalies: true,
            ..SynthConfig::default()
        });
        loading
            .load(industry.register(), "browser test: the register")
            .unwrap();
        for month in industry.months() {
            loading
                .load(month, "browser test: the synthetic flows")
                .unwrap();
        }
    })
    .await
    .unwrap();

    // Who acts: the demo's Baotou separation plant and a metal smelter it
    // ships to, officials over a flagged enterprise, an auditor, the ministry.
    let all = Scope::Installation;
    let enterprises = store
        .enterprises(
            &all,
            &EnterpriseFilter::default(),
            &PageRequest::first(1000),
        )
        .await
        .unwrap()
        .items;
    let separator = enterprises
        .iter()
        .find(|e| {
            e.enterprise.kinds.contains(&EnterpriseKind::Separation)
                && e.enterprise.seat.as_str().starts_with("1502")
        })
        .unwrap();
    let smelter = enterprises
        .iter()
        .find(|e| e.enterprise.kinds.contains(&EnterpriseKind::MetalSmelting))
        .unwrap();
    let sender = separator.enterprise.uscc.clone();
    let receiver = smelter.enterprise.uscc.clone();
    let flags = store
        .flags(&all, &FlagFilter::default(), &PageRequest::first(1000))
        .await
        .unwrap()
        .items;
    let flagged = flags
        .iter()
        .filter(|f| f.rule != Rule::ReceiveWithoutShip)
        .find_map(|f| {
            enterprises.iter().find(|e| {
                e.enterprise.uscc == f.enterprise && e.enterprise.seat.as_str().len() == 6
            })
        })
        .expect("the planted anomalies raise a flag on an enterprise seated in a county");
    let county: RegionCode = flagged.enterprise.seat;
    let code = county.as_str();
    let (province, prefecture) = (&code[..2], &code[..4]);
    let stock = store
        .stock(
            &all,
            &StockFilter {
                holder: Some(sender.clone()),
                ..StockFilter::default()
            },
            &PageRequest::first(1000),
        )
        .await
        .unwrap()
        .items;
    let to_ship = stock
        .iter()
        .filter(|p| p.owner == sender)
        .max_by_key(|p| p.mass)
        .expect("the separation plant holds stock");
    let made_here = format!("uscc/{sender}/10/");
    let demo_lot = stock
        .iter()
        .filter(|p| p.lot.as_str().starts_with(&made_here))
        .max_by_key(|p| p.reo)
        .expect("the separation plant holds a lot it made");
    let receipt = store.receipt(&all, 1).await.unwrap();
    let receipt_file = dir.path().join("receipt.txt");
    std::fs::write(&receipt_file, receipt.to_bytes()).unwrap();
    let checkpoints = store.checkpoints(0, 1000).await.unwrap();
    let sizes: Vec<u64> = checkpoints.iter().map(|c| c.checkpoint().size()).collect();

    let regulator = |text: String| Role::parse(&text).unwrap();
    install(&store, "admin", Role::Administrator, "系统管理员").await;
    install(
        &store,
        "sender.clerk",
        Role::EnterpriseOperator {
            enterprise: sender.clone(),
        },
        "包头分离厂填报员",
    )
    .await;
    install(
        &store,
        "receiver.clerk",
        Role::EnterpriseOperator {
            enterprise: receiver.clone(),
        },
        "金属冶炼厂填报员",
    )
    .await;
    install(
        &store,
        "province.official",
        regulator(format!("regulator:province:{province}:industry_it")),
        "省工业和信息化厅",
    )
    .await;
    install(
        &store,
        "county.official",
        regulator(format!("regulator:county:{code}:natural_resources")),
        "县自然资源局",
    )
    .await;
    install(
        &store,
        "miit.ministry",
        regulator("regulator:ministry:00:industry_it".to_owned()),
        "工业和信息化部",
    )
    .await;
    install(
        &store,
        "national.auditor",
        Role::Auditor {
            region: RegionCode::nation(),
        },
        "国家审计员",
    )
    .await;

    let state = AppState::new(
        Arc::clone(&store),
        clock.clone(),
        verifier_key,
        trail_verifier_key,
        "retrace.test/log".to_owned(),
        CsrfKey::from_bytes([9; 32]),
        false,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, state, async {
        let _ = stopped.await;
    }));

    let config = json!({
        "base": format!("http://{address}"),
        "password": PASSWORD,
        "sender": sender.as_str(),
        "receiver": receiver.as_str(),
        "ship_lot": to_ship.lot.as_str(),
        "demo_lot": demo_lot.lot.as_str(),
        "province": province,
        "prefecture": prefecture,
        "county": code,
        "flagged": flagged.enterprise.uscc.as_str(),
        "receipt_file": receipt_file.to_str().unwrap(),
        "old_size": sizes[sizes.len() / 2],
        "new_size": sizes[sizes.len() - 1],
        "screens": std::env::var("UPDATE_SCREENS").as_deref() == Ok("1"),
        "screens_dir": Path::new(env!("CARGO_MANIFEST_DIR")).join("screens").to_str().unwrap(),
        "profile": dir.path().join("chromium-profile").to_str().unwrap(),
    });
    let config_file = dir.path().join("journeys.json");
    std::fs::write(&config_file, config.to_string()).unwrap();
    let run = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg("journeys.mjs")
            .arg(&config_file)
            .current_dir(browser_dir())
            .status()
    })
    .await
    .unwrap()
    .unwrap();
    let _ = stop.send(());
    let _ = server.await;
    assert!(run.success(), "the browser journeys failed: {run}");
}
