//! The real server on port 0 over a fresh SQLite store in a temporary file,
//! with an account for every role the tests act in, spoken to over HTTP.

#![allow(
    dead_code,
    reason = "each test binary uses its own part of these helpers"
)]

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rand_core::OsRng;
use retrace_access::{Account, AccountName, CsrfKey, Language, PasswordHash, Role, hash_password};
use retrace_domain::clock::ManualClock;
use retrace_domain::project::Projector;
use retrace_domain::uscc::Uscc;
use retrace_ledger::checkpoint::{LogKey, LogVerifier, SignedCheckpoint};
use retrace_ledger::receipt::Receipt;
use retrace_server::{AppState, serve};
use retrace_store::conformance::{fixture, parties};
use retrace_store::{Actor, Identity, TrailEvent};
use retrace_store_sqlite::{SqliteConfig, SqliteStore};
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub const ORIGIN: &str = "retrace.test/log";
pub const PASSWORD: &str = "Correct-Horse-Battery-9";

/// One hash of [`PASSWORD`] for every test account: argon2id is slow on purpose.
fn password_hash() -> PasswordHash {
    static HASH: OnceLock<PasswordHash> = OnceLock::new();
    HASH.get_or_init(|| hash_password(PASSWORD, &mut OsRng).unwrap())
        .clone()
}

/// The accounts every app has: a name per role, over the conformance fixture's parties.
pub fn accounts() -> Vec<(&'static str, Role)> {
    let p = parties();
    let role = |text: String| Role::parse(&text).unwrap();
    vec![
        ("admin", Role::Administrator),
        (
            "miner.clerk",
            role(format!("enterprise_operator:{}", p.miner)),
        ),
        (
            "miner.boss",
            role(format!("enterprise_manager:{}", p.miner)),
        ),
        (
            "separator.clerk",
            role(format!("enterprise_operator:{}", p.separator)),
        ),
        (
            "smelter.clerk",
            role(format!("enterprise_operator:{}", p.smelter)),
        ),
        (
            "smelter.boss",
            role(format!("enterprise_manager:{}", p.smelter)),
        ),
        (
            "magnets.clerk",
            role(format!("enterprise_operator:{}", p.magnet_maker)),
        ),
        (
            "exporter.clerk",
            role(format!("enterprise_operator:{}", p.exporter)),
        ),
        (
            "warehouse.clerk",
            role(format!("enterprise_operator:{}", p.warehouse)),
        ),
        (
            "ionic.clerk",
            role(format!("enterprise_operator:{}", p.ionic_miner)),
        ),
        (
            "northern.group",
            role("group_manager:northern_rare_earth".into()),
        ),
        ("china.group", role("group_manager:china_rare_earth".into())),
        (
            "bayanobo.county",
            role("regulator:county:150206:natural_resources".into()),
        ),
        (
            "baotou.city",
            role("regulator:prefecture:1502:industry_it".into()),
        ),
        (
            "neimenggu.province",
            role("regulator:province:15:industry_it".into()),
        ),
        (
            "ganzhou.city",
            role("regulator:prefecture:3607:industry_it".into()),
        ),
        (
            "shanghai.province",
            role("regulator:province:31:industry_it".into()),
        ),
        (
            "miit.ministry",
            role("regulator:ministry:00:industry_it".into()),
        ),
        (
            "mnr.ministry",
            role("regulator:ministry:00:natural_resources".into()),
        ),
        ("baotou.inspector", role("inspector:1502".into())),
        ("neimenggu.auditor", role("auditor:15".into())),
        ("ganzhou.auditor", role("auditor:3607".into())),
        ("national.auditor", role("auditor:00".into())),
    ]
}

/// A running server; dropping it stops the server and removes the store.
pub struct App {
    pub base: String,
    pub address: std::net::SocketAddr,
    pub client: Client<HttpConnector, Full<Bytes>>,
    pub verifier: LogVerifier,
    pub trail_verifier: LogVerifier,
    pub store: Arc<SqliteStore>,
    pub clock: Arc<ManualClock>,
    tokens: BTreeMap<&'static str, String>,
    _stop: oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

/// An answer, read whole.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.to_vec()).unwrap()
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The problem document, after checking that this is one with `status`.
    pub fn problem(&self, status: StatusCode) -> Value {
        assert_eq!(
            self.status,
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(self.content_type(), "application/problem+json");
        let problem = self.json();
        for member in ["type", "title", "detail"] {
            assert!(problem[member].is_string(), "{member} missing: {problem}");
        }
        assert_eq!(problem["status"], status.as_u16());
        problem
    }
}

/// How a request authenticates.
#[derive(Clone, Debug, Default)]
pub enum Credentials {
    #[default]
    None,
    Bearer(String),
    /// The session cookie and, for requests that change something, its CSRF token.
    Session {
        cookie: String,
        csrf: Option<String>,
    },
}

/// A browser-like session: its cookie and CSRF token.
#[derive(Clone, Debug)]
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

impl Session {
    pub fn credentials(&self) -> Credentials {
        Credentials::Session {
            cookie: self.cookie.clone(),
            csrf: Some(self.csrf.clone()),
        }
    }
}

impl App {
    /// A server over an empty store whose clock reads 2025-07-01, with every
    /// account of [`accounts`] and an API token for each.
    pub async fn start() -> App {
        App::start_with(Vec::new()).await
    }

    /// A server whose store holds the conformance fixture, loaded by the installation.
    pub async fn with_fixture() -> App {
        App::start_with(fixture()).await
    }

    async fn start_with(records: Vec<retrace_domain::record::Record>) -> App {
        let dir = tempfile::tempdir().unwrap();
        let key = LogKey::from_seed(ORIGIN, &[7; 32]).unwrap();
        let trail_key = LogKey::from_seed("retrace.test/log/trail", &[8; 32]).unwrap();
        let verifier_key = key.verifier_key();
        let trail_verifier_key = trail_key.verifier_key();
        let verifier = key.verifier();
        let trail_verifier = trail_key.verifier();
        let clock = Arc::new(ManualClock::new(
            time::macros::datetime!(2025-07-01 00:00 +08:00),
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
        if !records.is_empty() {
            let loading = Arc::clone(&store);
            tokio::task::spawn_blocking(move || loading.load(records, "test fixture").unwrap())
                .await
                .unwrap();
        }
        for (name, role) in accounts() {
            let account = Account {
                name: AccountName::parse(name).unwrap(),
                role,
                password: password_hash(),
                disabled: false,
                display_name: name.to_owned(),
                language: Language::Zh,
            };
            let trail = TrailEvent {
                actor: Actor::installation(),
                action: "account.create".into(),
                target: format!("test account {name}"),
                enterprises: Vec::new(),
                region: None,
                status: 201,
                detail: String::new(),
            };
            store.install_account(account, trail).await.unwrap();
        }
        let state = AppState::new(
            Arc::clone(&store),
            clock.clone(),
            verifier_key,
            trail_verifier_key,
            ORIGIN.to_owned(),
            CsrfKey::from_bytes([9; 32]),
            false,
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(serve(listener, state, async {
            let _ = stopped.await;
        }));
        let mut app = App {
            base: format!("http://{address}/api/v1"),
            address,
            client: Client::builder(TokioExecutor::new()).build_http(),
            verifier,
            trail_verifier,
            store,
            clock,
            tokens: BTreeMap::new(),
            _stop: stop,
            _dir: dir,
        };
        let admin = app.login("admin", PASSWORD).await;
        for (name, _) in accounts() {
            let issued = app
                .send_as(
                    &admin.credentials(),
                    Method::POST,
                    "/tokens",
                    Some("application/json"),
                    json!({"account": name, "label": "test token"})
                        .to_string()
                        .into_bytes(),
                )
                .await;
            assert_eq!(issued.status, StatusCode::CREATED, "{}", issued.text());
            let token = issued.json()["token"].as_str().unwrap().to_owned();
            app.tokens.insert(name, token);
        }
        app
    }

    /// The API token of a test account.
    pub fn token(&self, name: &str) -> Credentials {
        Credentials::Bearer(
            self.tokens
                .get(name)
                .unwrap_or_else(|| panic!("no test account {name}"))
                .clone(),
        )
    }

    /// Logs in with a password and answers with the session.
    pub async fn login(&self, name: &str, password: &str) -> Session {
        let answer = self.try_login(name, password).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text());
        let cookie = answer
            .headers
            .get(header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .unwrap()
            .to_owned();
        Session {
            cookie,
            csrf: answer.json()["csrf_token"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn try_login(&self, name: &str, password: &str) -> Answer {
        self.send_as(
            &Credentials::None,
            Method::POST,
            "/session",
            Some("application/json"),
            json!({"account": name, "password": password})
                .to_string()
                .into_bytes(),
        )
        .await
    }

    pub async fn send_as(
        &self,
        who: &Credentials,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Answer {
        self.send_with(who, method, path, content_type, &[], body)
            .await
    }

    pub async fn send_with(
        &self,
        who: &Credentials,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        extra: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Answer {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        match who {
            Credentials::None => {}
            Credentials::Bearer(token) => {
                request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
            }
            Credentials::Session { cookie, csrf } => {
                request = request.header(header::COOKIE, cookie);
                if let Some(csrf) = csrf {
                    request = request.header("x-csrf-token", csrf);
                }
            }
        }
        for (name, value) in extra {
            request = request.header(*name, *value);
        }
        let response = self
            .client
            .request(request.body(Full::new(Bytes::from(body))).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            headers,
            body,
        }
    }

    /// A GET as the test account `name`.
    pub async fn get_as(&self, name: &str, path: &str) -> Answer {
        self.send_as(&self.token(name), Method::GET, path, None, Vec::new())
            .await
    }

    /// A GET without credentials.
    pub async fn get(&self, path: &str) -> Answer {
        self.send_as(&Credentials::None, Method::GET, path, None, Vec::new())
            .await
    }

    /// A JSON POST as the test account `name`.
    pub async fn post_as(&self, name: &str, path: &str, body: &Value) -> Answer {
        self.send_as(
            &self.token(name),
            Method::POST,
            path,
            Some("application/json"),
            body.to_string().into_bytes(),
        )
        .await
    }

    /// The latest checkpoint, verified with the key the server hands out.
    pub async fn checkpoint(&self) -> retrace_ledger::checkpoint::Checkpoint {
        let answer = self.get("/checkpoint").await;
        assert_eq!(answer.status, StatusCode::OK);
        assert!(answer.content_type().starts_with("text/plain"));
        SignedCheckpoint::parse_and_verify(&answer.body, &self.verifier).unwrap()
    }

    pub async fn size(&self) -> u64 {
        self.checkpoint().await.size()
    }

    /// Records `batch` as `name` and checks that every receipt verifies.
    pub async fn record(&self, name: &str, batch: &Value) -> Value {
        let answer = self.post_as(name, "/events", batch).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text());
        let recorded = answer.json();
        self.check_receipts(&recorded);
        recorded
    }

    pub fn check_receipts(&self, recorded: &Value) {
        SignedCheckpoint::parse_and_verify(
            recorded["checkpoint"].as_str().unwrap().as_bytes(),
            &self.verifier,
        )
        .unwrap();
        for r in recorded["receipts"].as_array().unwrap() {
            let receipt = Receipt::parse(r["receipt"].as_str().unwrap().as_bytes()).unwrap();
            let verified = receipt.verify(&self.verifier).unwrap();
            assert_eq!(verified.index(), r["index"].as_u64().unwrap());
            assert_eq!(
                verified.leaf_hash().to_string(),
                r["leaf"].as_str().unwrap()
            );
        }
    }
}

/// A lot id under an enterprise's USCC.
pub fn lot(owner: &Uscc, number: &str) -> String {
    format!("uscc/{owner}/10/{number}")
}

/// An extraction of Bayan Obo ore by the fixture's miner, in June 2025.
pub fn extract(number: &str, wet_mass: &str) -> Value {
    let miner = parties().miner;
    json!({
        "event_time": "2025-06-02T08:00:00+08:00", "enterprise": miner.as_str(),
        "facility": "MINE-A", "kind": "extract",
        "output": {
            "lot": lot(&miner, number), "product": "ORE-BAOTOU-MIX50",
            "measurement": {"wet_mass": wet_mass, "moisture": "8%", "grade": "50.2%"}
        }
    })
}

/// A shipment by the fixture's miner to its separator.
pub fn ship(lot: &str, mass: &str, shipment: &str) -> Value {
    let p = parties();
    json!({
        "event_time": "2025-06-03T10:00:00+08:00", "enterprise": p.miner.as_str(),
        "kind": "ship", "lot": lot, "mass": mass, "to": p.separator.as_str(), "shipment": shipment
    })
}
