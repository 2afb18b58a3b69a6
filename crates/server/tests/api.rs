//! The API end to end: the real server on port 0, over a fresh SQLite store in a temporary file
//! for every test, spoken to over HTTP.

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use retrace_domain::clock::ManualClock;
use retrace_domain::project::Projector;
use retrace_domain::uscc::Uscc;
use retrace_ledger::checkpoint::{LogKey, LogVerifier, SignedCheckpoint};
use retrace_ledger::hash::Hash;
use retrace_ledger::proof::{verify_consistency, verify_inclusion};
use retrace_ledger::receipt::Receipt;
use retrace_server::{AppState, MAX_BODY, serve};
use retrace_store::Scope;
use retrace_store::conformance::{UNLICENSED_EXPORT, fixture, lots, parties};
use retrace_store_sqlite::{SqliteConfig, SqliteStore};
use serde_json::{Value, json};
use tokio::sync::oneshot;

const ORIGIN: &str = "retrace.test/log";

/// A running server; dropping it stops the server and removes the store.
struct App {
    base: String,
    address: std::net::SocketAddr,
    client: Client<HttpConnector, Full<Bytes>>,
    verifier: LogVerifier,
    _stop: oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    fn text(&self) -> String {
        String::from_utf8(self.body.to_vec()).unwrap()
    }

    fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The problem document, after checking that this is one with `status`.
    fn problem(&self, status: StatusCode) -> Value {
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

impl App {
    async fn start() -> App {
        let dir = tempfile::tempdir().unwrap();
        let key = LogKey::from_seed(ORIGIN, &[7; 32]).unwrap();
        let verifier_key = key.verifier_key();
        let verifier = key.verifier();
        let clock = Arc::new(ManualClock::new(
            time::macros::datetime!(2025-07-01 00:00 +08:00),
        ));
        let store = SqliteStore::open(
            &dir.path().join("retrace.db"),
            SqliteConfig {
                log_key: key,
                salt_secret: [42; 32],
                clock,
                projector: Projector::default(),
            },
        )
        .unwrap();
        let state = AppState {
            store: Arc::new(store),
            scope: Scope::Operator,
            verifier_key,
            origin: ORIGIN.to_owned(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(serve(listener, state, async {
            let _ = stopped.await;
        }));
        App {
            base: format!("http://{address}/api/v1"),
            address,
            client: Client::builder(TokioExecutor::new()).build_http(),
            verifier,
            _stop: stop,
            _dir: dir,
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Answer {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
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

    async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, None, Vec::new()).await
    }

    async fn post_json(&self, batch: &Value) -> Answer {
        self.send(
            Method::POST,
            "/events",
            Some("application/json"),
            batch.to_string().into_bytes(),
        )
        .await
    }

    async fn post_csv(&self, text: &str) -> Answer {
        self.send(
            Method::POST,
            "/events",
            Some("text/csv; charset=utf-8"),
            text.as_bytes().to_vec(),
        )
        .await
    }

    /// The latest checkpoint, verified with the key the server hands out.
    async fn checkpoint(&self) -> retrace_ledger::checkpoint::Checkpoint {
        let answer = self.get("/checkpoint").await;
        assert_eq!(answer.status, StatusCode::OK);
        assert!(answer.content_type().starts_with("text/plain"));
        SignedCheckpoint::parse_and_verify(&answer.body, &self.verifier).unwrap()
    }

    async fn size(&self) -> u64 {
        self.checkpoint().await.size()
    }

    /// Records `batch` and checks that every receipt verifies.
    async fn record(&self, batch: &Value) -> Value {
        let answer = self.post_json(batch).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text());
        let recorded = answer.json();
        self.check_receipts(&recorded);
        recorded
    }

    fn check_receipts(&self, recorded: &Value) {
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

// The enterprises of the example CSV file of `retrace-capture` (`examples/flows.csv`).

fn mine_co() -> Uscc {
    Uscc::synthesize("150206", 1)
}

fn plant_co() -> Uscc {
    Uscc::synthesize("150271", 2)
}

fn smelter_co() -> Uscc {
    Uscc::synthesize("150271", 3)
}

fn trader_co() -> Uscc {
    Uscc::synthesize("360702", 4)
}

fn lot(owner: &Uscc, number: &str) -> String {
    format!("uscc/{owner}/10/{number}")
}

fn act(act: &str, fields: Value) -> Value {
    let mut record =
        json!({"effective": "2025-01-02T09:00:00+08:00", "official": "operator", "act": act});
    record
        .as_object_mut()
        .unwrap()
        .extend(fields.as_object().unwrap().clone());
    record
}

/// The register the example CSV file needs: four enterprises, a mine, two plants, designations.
fn register() -> Value {
    let enterprise = |uscc: &Uscc, name: &str, kinds: &[&str], group: Option<&str>, seat: &str| {
        let mut fields =
            json!({"uscc": uscc.as_str(), "name_zh": name, "kinds": kinds, "seat": seat});
        if let Some(group) = group {
            fields["group"] = json!(group);
        }
        act("register_enterprise", fields)
    };
    let plant = |id: &str, operator: &Uscc, processes: &[&str]| {
        act(
            "register_facility",
            json!({
                "id": id, "operator": operator.as_str(), "name_zh": "示例工厂", "region": "150271",
                "type": "plant", "processes": processes, "capacity_per_year": "20000 t"
            }),
        )
    };
    let designate = |uscc: &Uscc, category: &str| {
        act(
            "designate",
            json!({
                "enterprise": uscc.as_str(), "category": category, "valid_from": "2025-01-01",
                "valid_to": "2025-12-31", "document": "工信部联原〔2025〕示例号"
            }),
        )
    };
    json!([
        enterprise(
            &mine_co(),
            "白云鄂博示例矿业有限公司",
            &["mining"],
            Some("northern_rare_earth"),
            "150206"
        ),
        enterprise(
            &plant_co(),
            "包头示例稀土分离有限公司",
            &["separation"],
            Some("northern_rare_earth"),
            "150271"
        ),
        enterprise(
            &smelter_co(),
            "包头示例稀土金属有限公司",
            &["metal_smelting", "exporter"],
            None,
            "150271"
        ),
        enterprise(
            &trader_co(),
            "赣州示例稀土贸易有限公司",
            &["trader", "importer"],
            None,
            "360702"
        ),
        act(
            "register_facility",
            json!({
                "id": "BYO-MINE-1", "operator": mine_co().as_str(), "name_zh": "白云鄂博示例矿",
                "region": "150206", "type": "mine", "licence": "C1500002025031110000001",
                "licence_valid_to": "2030-12-31", "ore_type": "rock", "area_ha": 1200,
                "capacity_per_year": "500000 t"
            }),
        ),
        plant("BT-SEP-1", &plant_co(), &["separation"]),
        plant("BT-MET-1", &smelter_co(), &["metal_smelting"]),
        designate(&mine_co(), "mining_rock"),
        designate(&plant_co(), "separation"),
    ])
}

fn extract(number: &str, wet_mass: &str) -> Value {
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

fn ship(lot: &str, mass: &str, shipment: &str) -> Value {
    let p = parties();
    json!({
        "event_time": "2025-06-03T10:00:00+08:00", "enterprise": p.miner.as_str(),
        "kind": "ship", "lot": lot, "mass": mass, "to": p.separator.as_str(), "shipment": shipment
    })
}

/// A server whose store holds the conformance fixture, recorded through the API as one JSON
/// batch.
async fn fixture_app() -> (App, Value) {
    let app = App::start().await;
    let batch = serde_json::to_value(fixture()).unwrap();
    let recorded = app.record(&batch).await;
    (app, recorded)
}

#[tokio::test]
async fn a_batch_is_recorded_with_receipts_that_verify() {
    let (app, recorded) = fixture_app().await;
    let receipts = recorded["receipts"].as_array().unwrap();
    let indices: Vec<u64> = receipts
        .iter()
        .map(|r| r["index"].as_u64().unwrap())
        .collect();
    let count = fixture().len() as u64;
    assert_eq!(indices, (0..count).collect::<Vec<_>>());
    assert_eq!(app.size().await, count);

    let entry = app.get(&format!("/events/{UNLICENSED_EXPORT}")).await;
    assert_eq!(entry.status, StatusCode::OK);
    let entry = entry.json();
    assert_eq!(entry["kind"], "flow.export");
    assert_eq!(entry["leaf"], receipts[UNLICENSED_EXPORT as usize]["leaf"]);
    assert_eq!(entry["record"]["destination_country"], "JP");

    let receipt = app
        .get(&format!("/events/{UNLICENSED_EXPORT}/receipt"))
        .await;
    assert!(receipt.content_type().starts_with("text/plain"));
    let verified = Receipt::parse(&receipt.body)
        .unwrap()
        .verify(&app.verifier)
        .unwrap();
    assert_eq!(verified.index(), UNLICENSED_EXPORT);

    let key = app.get("/log-key").await;
    assert_eq!(LogVerifier::from_vkey(&key.text()).unwrap(), app.verifier);

    let health = app.get("/healthz").await.json();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["size"], count);
}

#[tokio::test]
async fn events_are_listed_and_filtered() {
    let (app, _) = fixture_app().await;
    let miner = parties().miner;
    let page = app
        .get(&format!("/events?enterprise={miner}&limit=2"))
        .await
        .json();
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{page}");
    assert!(items.iter().all(|e| e["enterprise"] == miner.as_str()));
    let next = page["next"].as_str().expect("a second page");
    let rest = app
        .get(&format!("/events?enterprise={miner}&after={next}"))
        .await
        .json();
    let rest = rest["items"].as_array().unwrap();
    assert!(!rest.is_empty());
    assert!(rest[0]["index"].as_u64() > items[1]["index"].as_u64());

    let exports = app.get("/events?kind=export&enterprise=&lot=").await.json();
    let indices: Vec<u64> = exports["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indices, [UNLICENSED_EXPORT]);
    let by_lot = app
        .get(&format!("/events?lot={}&kind=flow.ship", lots().ore))
        .await
        .json();
    assert!(!by_lot["items"].as_array().unwrap().is_empty(), "{by_lot}");
}

#[tokio::test]
async fn lots_trace_stock_and_flags_are_read() {
    let (app, _) = fixture_app().await;
    let (p, l) = (parties(), lots());
    let view = app.get(&format!("/lots/{}", l.nd_oxide)).await;
    assert_eq!(view.status, StatusCode::OK, "{}", view.text());
    let view = view.json();
    assert_eq!(view["state"]["lot"], l.nd_oxide.as_str());
    assert_eq!(view["state"]["producer"], p.separator.as_str());

    let backward = app
        .get(&format!("/trace?lot={}&direction=backward", l.magnet))
        .await
        .json();
    let edges = backward["edges"].as_array().unwrap();
    assert!(
        edges.iter().any(|e| e["from"]["node"] == "mine"),
        "{backward}"
    );
    assert_eq!(
        backward["attributed"], true,
        "separation pools its feed: {backward}"
    );
    let forward = app
        .get(&format!("/trace?lot={}&direction=forward&limit=500", l.ore))
        .await
        .json();
    let edges = forward["edges"].as_array().unwrap();
    assert!(
        edges
            .iter()
            .any(|e| e["to"]["enterprise"] == p.separator.as_str()),
        "{forward}"
    );
    assert!(
        edges.iter().any(|e| e["to"]["lot"] == l.magnet.as_str()),
        "{forward}"
    );

    let stock = app
        .get(&format!("/stock?holder={}", p.warehouse))
        .await
        .json();
    let held: Vec<&str> = stock["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["lot"].as_str().unwrap())
        .collect();
    assert!(held.contains(&l.la_ce_oxide.as_str()), "{stock}");

    let flags = app
        .get("/flags?rule=export_without_licence&month=2025-05")
        .await;
    assert_eq!(flags.status, StatusCode::OK, "{}", flags.text());
    let flags = flags.json();
    let items = flags["items"].as_array().unwrap();
    assert!(
        items.iter().all(|f| f["rule"] == "export_without_licence"),
        "{flags}"
    );
    assert!(
        items.iter().any(|f| f["entries"]
            .as_array()
            .unwrap()
            .contains(&json!(UNLICENSED_EXPORT))),
        "{flags}"
    );
    let miner_flags = app
        .get(&format!("/flags?enterprise={}", p.miner))
        .await
        .json();
    assert!(
        miner_flags["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "negative_stock"),
        "{miner_flags}"
    );
}

#[tokio::test]
async fn checkpoints_and_proofs_verify() {
    let (app, recorded) = fixture_app().await;
    let first = app.checkpoint().await;
    app.record(&json!([extract("ORE-2506-01", "80 t")])).await;
    let second = app.checkpoint().await;
    assert_eq!(second.size(), first.size() + 1);

    let listed = app.get("/checkpoints?after_size=0").await.json();
    let sizes: Vec<u64> = listed["checkpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["size"].as_u64().unwrap())
        .collect();
    assert!(
        sizes.contains(&first.size()) && sizes.contains(&second.size()),
        "{listed}"
    );
    for c in listed["checkpoints"].as_array().unwrap() {
        let verified = SignedCheckpoint::parse_and_verify(
            c["note"].as_str().unwrap().as_bytes(),
            &app.verifier,
        )
        .unwrap();
        assert_eq!(verified.root().to_string(), c["root"].as_str().unwrap());
    }

    let receipt = &recorded["receipts"][UNLICENSED_EXPORT as usize];
    let leaf: Hash = receipt["leaf"].as_str().unwrap().parse().unwrap();
    let index = receipt["index"].as_u64().unwrap();
    let proof = app
        .get(&format!(
            "/proofs/inclusion?index={index}&size={}",
            second.size()
        ))
        .await
        .json();
    verify_inclusion(
        &leaf,
        index,
        second.size(),
        &hashes(&proof["proof"]),
        &second.root(),
    )
    .unwrap();
    let latest = app
        .get(&format!("/proofs/inclusion?index={index}"))
        .await
        .json();
    assert_eq!(latest["size"], second.size());

    let proof = app
        .get(&format!(
            "/proofs/consistency?old={}&new={}",
            first.size(),
            second.size()
        ))
        .await
        .json();
    verify_consistency(
        first.size(),
        second.size(),
        &first.root(),
        &second.root(),
        &hashes(&proof["proof"]),
    )
    .unwrap();

    let beyond = app
        .get(&format!("/proofs/inclusion?index={index}&size=999"))
        .await;
    beyond.problem(StatusCode::BAD_REQUEST);
}

fn hashes(proof: &Value) -> Vec<Hash> {
    proof
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap().parse().unwrap())
        .collect()
}

/// Posts a bad batch and checks the problem and that nothing was stored.
async fn refused(app: &App, answer: Answer, status: StatusCode, size: u64) -> Value {
    let problem = answer.problem(status);
    assert_eq!(app.size().await, size, "something was stored: {problem}");
    problem
}

#[tokio::test]
async fn malformed_json_is_a_bad_request_naming_line_and_column() {
    let (app, _) = fixture_app().await;
    let size = app.size().await;
    let answer = app
        .send(
            Method::POST,
            "/events",
            Some("application/json"),
            b"[\n  {\"kind\": \"ship\",}\n]".to_vec(),
        )
        .await;
    let problem = refused(&app, answer, StatusCode::BAD_REQUEST, size).await;
    assert_eq!(
        (problem["line"].as_u64(), problem["column"].as_u64()),
        (Some(2), Some(19))
    );
    assert!(
        problem["detail"].as_str().unwrap().contains("line 2"),
        "{problem}"
    );
}

#[tokio::test]
async fn a_wrong_type_names_record_and_field() {
    let (app, _) = fixture_app().await;
    let size = app.size().await;
    let mut bad = ship(lots().ore.as_str(), "1 t", "WB-9");
    bad["mass"] = json!(1000);
    let answer = app
        .post_json(&json!([extract("ORE-2506-05", "1 t"), bad]))
        .await;
    let problem = refused(&app, answer, StatusCode::UNPROCESSABLE_ENTITY, size).await;
    assert_eq!(
        (problem["record"].as_u64(), problem["field"].as_str()),
        (Some(1), Some("mass"))
    );
    assert_eq!(problem["reason"], "malformed");
}

#[tokio::test]
async fn refusals_name_record_field_and_reason_and_store_nothing() {
    let (app, _) = fixture_app().await;
    let size = app.size().await;
    let good = extract("ORE-2506-06", "10 t");

    let unknown = ship(&lot(&parties().miner, "NEVER-RECORDED"), "1 t", "WB-10");
    let problem = refused(
        &app,
        app.post_json(&json!([good, unknown])).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        size,
    )
    .await;
    assert_eq!(
        (problem["record"].as_u64(), problem["field"].as_str()),
        (Some(1), Some("lot"))
    );
    assert_eq!(problem["reason"], "unknown");

    let mut future = extract("ORE-2506-07", "1 t");
    future["event_time"] = json!("2099-01-01T00:00:00+08:00");
    let problem = refused(
        &app,
        app.post_json(&json!([good, future])).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        size,
    )
    .await;
    assert_eq!(
        (problem["record"].as_u64(), problem["field"].as_str()),
        (Some(1), Some("event_time"))
    );
    assert_eq!(problem["reason"], "future");

    let zero = ship(lots().ore.as_str(), "0 kg", "WB-11");
    let problem = refused(
        &app,
        app.post_json(&json!([good, zero])).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        size,
    )
    .await;
    assert_eq!(
        (problem["record"].as_u64(), problem["field"].as_str()),
        (Some(1), Some("mass"))
    );
    assert_eq!(problem["reason"], "out_of_range");

    let mut bad_code = ship(lots().ore.as_str(), "1 t", "WB-12");
    let good_code = parties().separator.as_str().to_owned();
    let wrong = if good_code.ends_with('0') { '1' } else { '0' };
    bad_code["to"] = json!(format!("{}{wrong}", &good_code[..17]));
    let problem = refused(
        &app,
        app.post_json(&json!([good, bad_code])).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        size,
    )
    .await;
    assert_eq!(
        (problem["record"].as_u64(), problem["field"].as_str()),
        (Some(1), Some("to"))
    );
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("check character"),
        "{problem}"
    );

    let answer = app
        .get(&format!("/lots/{}", lot(&parties().miner, "ORE-2506-06")))
        .await;
    answer.problem(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_oversized_body_is_refused_before_it_is_read() {
    let (app, _) = fixture_app().await;
    let size = app.size().await;
    // Announce a body past the limit and send none: the answer must come without it.
    let address = app.address;
    let response = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        let head = format!(
            "POST /api/v1/events HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            MAX_BODY + 1
        );
        stream.write_all(head.as_bytes()).unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).unwrap();
        response
    })
    .await
    .unwrap();
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(response.contains("application/problem+json"), "{response}");
    assert!(response.contains("\"status\":413"), "{response}");
    assert_eq!(app.size().await, size);

    // A body that only turns out too large while it streams is refused as well.
    let big = vec![b' '; MAX_BODY + 1];
    let answer = app
        .send(Method::POST, "/events", Some("application/json"), big)
        .await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer.content_type(), "application/problem+json");
}

#[tokio::test]
async fn csv_is_recorded_and_a_bad_row_is_named() {
    let app = App::start().await;
    app.record(&register()).await;
    let size = app.size().await;
    let example = include_str!("../../capture/examples/flows.csv");

    let lines: Vec<&str> = example.lines().collect();
    let mut spoiled: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    spoiled[3] = spoiled[3].replace(",60 t,", ",60 tons,");
    let answer = app.post_csv(&spoiled.join("\n")).await;
    let problem = refused(&app, answer, StatusCode::UNPROCESSABLE_ENTITY, size).await;
    assert_eq!(
        (problem["row"].as_u64(), problem["field"].as_str()),
        (Some(3), Some("mass")),
        "{problem}"
    );

    // A row the store refuses is named by its row and column too: the second output of a
    // transformation (three rows into its group) makes a lot the first output already made.
    let mut twice: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    assert!(twice[8].starts_with("transform_output,"));
    twice[8] = twice[8].replace("/10/LC2503-01,", "/10/PN2503-01,");
    let answer = app.post_csv(&twice.join("\n")).await;
    let problem = refused(&app, answer, StatusCode::UNPROCESSABLE_ENTITY, size).await;
    let place = (
        problem["record"].as_u64(),
        problem["row"].as_u64(),
        problem["field"].as_str(),
    );
    assert_eq!(place, (Some(5), Some(8), Some("lot")), "{problem}");
    assert_eq!(problem["reason"], "out_of_range");
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("row 8, column lot: record 5, field outputs[1].lot"),
        "{problem}"
    );

    let answer = app.post_csv(example).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text());
    let recorded = answer.json();
    app.check_receipts(&recorded);
    // Sixteen rows; the two transformations take four and two of them.
    assert_eq!(recorded["receipts"].as_array().unwrap().len(), 12);
    let transforms = app.get("/events?kind=flow.transform").await.json();
    assert_eq!(
        transforms["items"].as_array().unwrap().len(),
        2,
        "{transforms}"
    );
}

#[tokio::test]
async fn other_bad_requests_are_problems_too() {
    let (app, _) = fixture_app().await;
    let size = app.size().await;

    let answer = app
        .send(
            Method::POST,
            "/events",
            Some("text/plain"),
            b"hello".to_vec(),
        )
        .await;
    refused(&app, answer, StatusCode::UNSUPPORTED_MEDIA_TYPE, size).await;
    let answer = app
        .send(Method::POST, "/events", None, b"[]".to_vec())
        .await;
    refused(&app, answer, StatusCode::UNSUPPORTED_MEDIA_TYPE, size).await;
    let problem = refused(
        &app,
        app.post_json(&json!([])).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        size,
    )
    .await;
    assert!(
        problem["detail"].as_str().unwrap().contains("no records"),
        "{problem}"
    );

    let problem = app
        .get("/events?enterprise=91150206000000019X")
        .await
        .problem(StatusCode::BAD_REQUEST);
    assert_eq!(problem["parameter"], "enterprise");
    let problem = app
        .get("/events?kind=shipping")
        .await
        .problem(StatusCode::BAD_REQUEST);
    assert_eq!(problem["parameter"], "kind");
    let problem = app
        .get("/events?colour=red")
        .await
        .problem(StatusCode::BAD_REQUEST);
    assert!(
        problem["detail"].as_str().unwrap().contains("colour"),
        "{problem}"
    );
    let problem = app
        .get("/flags?month=2025-13")
        .await
        .problem(StatusCode::BAD_REQUEST);
    assert_eq!(problem["parameter"], "month");
    let problem = app
        .get("/flags?rule=speeding")
        .await
        .problem(StatusCode::BAD_REQUEST);
    assert_eq!(problem["parameter"], "rule");
    let problem = app
        .get("/trace?direction=sideways&lot=x")
        .await
        .problem(StatusCode::BAD_REQUEST);
    assert_eq!(problem["parameter"], "lot");
    let problem = app
        .get("/lots/uscc/x/10/A")
        .await
        .problem(StatusCode::BAD_REQUEST);
    assert_eq!(problem["parameter"], "lot");
    app.get("/events/abc")
        .await
        .problem(StatusCode::BAD_REQUEST);
    app.get("/events/999").await.problem(StatusCode::NOT_FOUND);
    app.get("/nowhere").await.problem(StatusCode::NOT_FOUND);
    let answer = app.send(Method::DELETE, "/events", None, Vec::new()).await;
    answer.problem(StatusCode::METHOD_NOT_ALLOWED);
    assert!(answer.headers.contains_key(header::ALLOW));
}
