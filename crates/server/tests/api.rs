//! The API end to end: the real server on port 0, over a fresh SQLite store in a temporary file
//! for every test, spoken to over HTTP by the accounts of `common::accounts`.

mod common;

use axum::http::{Method, StatusCode, header};
use common::{Answer, App, extract, lot, ship};
use retrace_domain::uscc::Uscc;
use retrace_ledger::checkpoint::{LogVerifier, SignedCheckpoint};
use retrace_ledger::hash::Hash;
use retrace_ledger::proof::{verify_consistency, verify_inclusion};
use retrace_ledger::receipt::Receipt;
use retrace_server::MAX_BODY;
use retrace_store::conformance::{UNLICENSED_EXPORT, fixture, lots, parties};
use serde_json::{Value, json};

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

/// An act whose official the server fills in: the account that records it.
fn act(act: &str, fields: Value) -> Value {
    let mut record = json!({"effective": "2025-01-02T09:00:00+08:00", "act": act});
    record
        .as_object_mut()
        .unwrap()
        .extend(fields.as_object().unwrap().clone());
    record
}

/// The register the example CSV file needs: four enterprises, a mine and two plants (the
/// administrator's acts), and two designations (the ministry's).
fn register() -> (Value, Value) {
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
    let acts = json!([
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
    ]);
    let designations = json!([
        designate(&mine_co(), "mining_rock"),
        designate(&plant_co(), "separation"),
    ]);
    (acts, designations)
}

#[tokio::test]
async fn a_batch_is_recorded_with_receipts_that_verify() {
    let app = App::with_fixture().await;
    let count = fixture().len() as u64;
    assert_eq!(app.size().await, count);
    let batch = json!([
        extract("ORE-2506-01", "80 t"),
        ship(&lot(&parties().miner, "ORE-2506-01"), "20 t", "WB-2506-1")
    ]);
    let recorded = app.record("miner.clerk", &batch).await;
    let receipts = recorded["receipts"].as_array().unwrap();
    let indices: Vec<u64> = receipts
        .iter()
        .map(|r| r["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indices, [count, count + 1]);
    assert_eq!(app.size().await, count + 2);

    let entry = app
        .get_as("miner.clerk", &format!("/events/{}", count + 1))
        .await;
    assert_eq!(entry.status, StatusCode::OK, "{}", entry.text());
    let entry = entry.json();
    assert_eq!(entry["kind"], "flow.ship");
    assert_eq!(entry["leaf"], receipts[1]["leaf"]);
    assert_eq!(entry["record"]["shipment"], "WB-2506-1");

    let export = app
        .get_as("exporter.clerk", &format!("/events/{UNLICENSED_EXPORT}"))
        .await
        .json();
    assert_eq!(export["kind"], "flow.export");
    assert_eq!(export["record"]["destination_country"], "JP");

    let receipt = app
        .get_as(
            "exporter.clerk",
            &format!("/events/{UNLICENSED_EXPORT}/receipt"),
        )
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
    assert_eq!(health["size"], count + 2);
}

#[tokio::test]
async fn events_are_listed_and_filtered() {
    let app = App::with_fixture().await;
    let miner = parties().miner;
    let page = app
        .get_as(
            "miner.clerk",
            &format!("/events?enterprise={miner}&limit=2"),
        )
        .await
        .json();
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{page}");
    assert!(items.iter().all(|e| e["enterprise"] == miner.as_str()));
    let next = page["next"].as_str().expect("a second page");
    let rest = app
        .get_as(
            "miner.clerk",
            &format!("/events?enterprise={miner}&after={next}"),
        )
        .await
        .json();
    let rest = rest["items"].as_array().unwrap();
    assert!(!rest.is_empty());
    assert!(rest[0]["index"].as_u64() > items[1]["index"].as_u64());

    let exports = app
        .get_as("national.auditor", "/events?kind=export&enterprise=&lot=")
        .await
        .json();
    let indices: Vec<u64> = exports["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indices, [UNLICENSED_EXPORT]);
    let by_lot = app
        .get_as(
            "miner.clerk",
            &format!("/events?lot={}&kind=flow.ship", lots().ore),
        )
        .await
        .json();
    assert!(!by_lot["items"].as_array().unwrap().is_empty(), "{by_lot}");
}

#[tokio::test]
async fn lots_trace_stock_and_flags_are_read() {
    let app = App::with_fixture().await;
    let (p, l) = (parties(), lots());
    let reader = "national.auditor";
    let view = app.get_as(reader, &format!("/lots/{}", l.nd_oxide)).await;
    assert_eq!(view.status, StatusCode::OK, "{}", view.text());
    let view = view.json();
    assert_eq!(view["state"]["lot"], l.nd_oxide.as_str());
    assert_eq!(view["state"]["producer"], p.separator.as_str());

    let backward = app
        .get_as(
            reader,
            &format!("/trace?lot={}&direction=backward", l.magnet),
        )
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
        .get_as(
            reader,
            &format!("/trace?lot={}&direction=forward&limit=500", l.ore),
        )
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
        .get_as(reader, &format!("/stock?holder={}", p.warehouse))
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
        .get_as(reader, "/flags?rule=export_without_licence&month=2025-05")
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
        .get_as(reader, &format!("/flags?enterprise={}", p.miner))
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
    let app = App::with_fixture().await;
    let first = app.checkpoint().await;
    let recorded = app
        .record("miner.clerk", &json!([extract("ORE-2506-01", "80 t")]))
        .await;
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

    let receipt = &recorded["receipts"][0];
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

/// Posts a JSON batch as the miner's clerk.
async fn post_json(app: &App, batch: &Value) -> Answer {
    app.post_as("miner.clerk", "/events", batch).await
}

/// Posts a bad batch and checks the problem and that nothing was stored.
async fn refused(app: &App, answer: Answer, status: StatusCode, size: u64) -> Value {
    let problem = answer.problem(status);
    assert_eq!(app.size().await, size, "something was stored: {problem}");
    problem
}

#[tokio::test]
async fn malformed_json_is_a_bad_request_naming_line_and_column() {
    let app = App::with_fixture().await;
    let size = app.size().await;
    let answer = app
        .send_as(
            &app.token("miner.clerk"),
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
    let app = App::with_fixture().await;
    let size = app.size().await;
    let mut bad = ship(lots().ore.as_str(), "1 t", "WB-9");
    bad["mass"] = json!(1000);
    let answer = post_json(&app, &json!([extract("ORE-2506-05", "1 t"), bad])).await;
    let problem = refused(&app, answer, StatusCode::UNPROCESSABLE_ENTITY, size).await;
    assert_eq!(
        (problem["record"].as_u64(), problem["field"].as_str()),
        (Some(1), Some("mass"))
    );
    assert_eq!(problem["reason"], "malformed");
}

#[tokio::test]
async fn refusals_name_record_field_and_reason_and_store_nothing() {
    let app = App::with_fixture().await;
    let size = app.size().await;
    let good = extract("ORE-2506-06", "10 t");

    let unknown = ship(&lot(&parties().miner, "NEVER-RECORDED"), "1 t", "WB-10");
    let problem = refused(
        &app,
        post_json(&app, &json!([good, unknown])).await,
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
        post_json(&app, &json!([good, future])).await,
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
        post_json(&app, &json!([good, zero])).await,
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
        post_json(&app, &json!([good, bad_code])).await,
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
        .get_as(
            "miner.clerk",
            &format!("/lots/{}", lot(&parties().miner, "ORE-2506-06")),
        )
        .await;
    answer.problem(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_oversized_body_is_refused_before_it_is_read() {
    let app = App::with_fixture().await;
    let size = app.size().await;
    // Announce a body past the limit and send none: the answer must come without it.
    let address = app.address;
    let common::Credentials::Bearer(token) = app.token("miner.clerk") else {
        unreachable!("test tokens are bearer tokens")
    };
    let response = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        let head = format!(
            "POST /api/v1/events HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
             Authorization: Bearer {token}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
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
        .send_as(
            &app.token("miner.clerk"),
            Method::POST,
            "/events",
            Some("application/json"),
            big,
        )
        .await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer.content_type(), "application/problem+json");
}

/// The example CSV file's header and the rows of one enterprise.
fn rows_of(example: &str, enterprise: &Uscc) -> Vec<String> {
    let mut lines = example.lines();
    let header = lines.next().unwrap().to_owned();
    std::iter::once(header)
        .chain(
            lines
                .filter(|l| l.split(',').nth(2) == Some(enterprise.as_str()))
                .map(str::to_owned),
        )
        .collect()
}

/// Creates an enterprise operator account through the administrator and
/// answers with its token.
async fn clerk_of(app: &App, name: &str, enterprise: &Uscc) -> common::Credentials {
    let created = app
        .post_as(
            "admin",
            "/accounts",
            &json!({"name": name, "role": format!("enterprise_operator:{enterprise}"),
                    "password": common::PASSWORD}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let issued = app
        .post_as(
            "admin",
            "/tokens",
            &json!({"account": name, "label": "csv test"}),
        )
        .await;
    assert_eq!(issued.status, StatusCode::CREATED, "{}", issued.text());
    common::Credentials::Bearer(issued.json()["token"].as_str().unwrap().to_owned())
}

async fn post_csv(app: &App, who: &common::Credentials, rows: &[String]) -> Answer {
    app.send_as(
        who,
        Method::POST,
        "/events",
        Some("text/csv; charset=utf-8"),
        rows.join("\n").into_bytes(),
    )
    .await
}

#[tokio::test]
async fn csv_is_recorded_and_a_bad_row_is_named() {
    let app = App::start().await;
    let (acts, designations) = register();
    let registered = app.post_as("admin", "/events", &acts).await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{}",
        registered.text()
    );
    let designated = app.post_as("miit.ministry", "/events", &designations).await;
    assert_eq!(
        designated.status,
        StatusCode::CREATED,
        "{}",
        designated.text()
    );
    let example = include_str!("../../capture/examples/flows.csv");
    let mine = clerk_of(&app, "mine.clerk", &mine_co()).await;
    let plant = clerk_of(&app, "plant.clerk", &plant_co()).await;
    let answer = post_csv(&app, &mine, &rows_of(example, &mine_co())).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text());
    let size = app.size().await;

    let rows = rows_of(example, &plant_co());
    let mut spoiled = rows.clone();
    assert!(spoiled[7].starts_with("ship,"), "{}", spoiled[7]);
    spoiled[7] = spoiled[7].replace(",3 t,", ",3 tons,");
    let answer = post_csv(&app, &plant, &spoiled).await;
    let problem = refused(&app, answer, StatusCode::UNPROCESSABLE_ENTITY, size).await;
    assert_eq!(
        (problem["row"].as_u64(), problem["field"].as_str()),
        (Some(7), Some("mass")),
        "{problem}"
    );

    // A row the store refuses is named by its row and column too: the second output of the
    // transformation makes a lot the first output already made.
    let mut twice = rows.clone();
    assert!(twice[5].starts_with("transform_output,"));
    twice[5] = twice[5].replace("/10/LC2503-01,", "/10/PN2503-01,");
    let answer = post_csv(&app, &plant, &twice).await;
    let problem = refused(&app, answer, StatusCode::UNPROCESSABLE_ENTITY, size).await;
    let place = (
        problem["record"].as_u64(),
        problem["row"].as_u64(),
        problem["field"].as_str(),
    );
    assert_eq!(place, (Some(2), Some(5), Some("lot")), "{problem}");
    assert_eq!(problem["reason"], "out_of_range");
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("row 5, column lot: record 2, field outputs[1].lot"),
        "{problem}"
    );

    // The mine's rows in the plant's file: refused as another enterprise's, by row.
    let mut foreign = rows.clone();
    foreign.push(rows_of(example, &mine_co())[1].clone());
    let answer = post_csv(&app, &plant, &foreign).await;
    let problem = refused(&app, answer, StatusCode::FORBIDDEN, size).await;
    assert_eq!(
        (problem["row"].as_u64(), problem["field"].as_str()),
        (Some(10), Some("enterprise")),
        "{problem}"
    );

    let answer = post_csv(&app, &plant, &rows).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text());
    let recorded = answer.json();
    app.check_receipts(&recorded);
    // Nine rows; the transformation takes four of them.
    assert_eq!(recorded["receipts"].as_array().unwrap().len(), 6);
    let transforms = app
        .send_as(
            &plant,
            Method::GET,
            "/events?kind=flow.transform",
            None,
            Vec::new(),
        )
        .await
        .json();
    assert_eq!(
        transforms["items"].as_array().unwrap().len(),
        1,
        "{transforms}"
    );
}

#[tokio::test]
async fn other_bad_requests_are_problems_too() {
    let app = App::with_fixture().await;
    let size = app.size().await;
    let clerk = app.token("miner.clerk");

    let answer = app
        .send_as(
            &clerk,
            Method::POST,
            "/events",
            Some("text/plain"),
            b"hello".to_vec(),
        )
        .await;
    refused(&app, answer, StatusCode::UNSUPPORTED_MEDIA_TYPE, size).await;
    let answer = app
        .send_as(&clerk, Method::POST, "/events", None, b"[]".to_vec())
        .await;
    refused(&app, answer, StatusCode::UNSUPPORTED_MEDIA_TYPE, size).await;
    let problem = refused(
        &app,
        post_json(&app, &json!([])).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        size,
    )
    .await;
    assert!(
        problem["detail"].as_str().unwrap().contains("no records"),
        "{problem}"
    );

    let reader = "miner.clerk";
    let problem = app
        .get_as(reader, "/events?enterprise=91150206000000019X")
        .await
        .problem(StatusCode::BAD_REQUEST);
    assert_eq!(problem["parameter"], "enterprise");
    let problem = app
        .get_as(reader, "/events?kind=shipping")
        .await
        .problem(StatusCode::BAD_REQUEST);
    assert_eq!(problem["parameter"], "kind");
    let problem = app
        .get_as(reader, "/events?colour=red")
        .await
        .problem(StatusCode::BAD_REQUEST);
    assert!(
        problem["detail"].as_str().unwrap().contains("colour"),
        "{problem}"
    );
    let problem = app
        .get_as(reader, "/flags?month=2025-13")
        .await
        .problem(StatusCode::BAD_REQUEST);
    assert_eq!(problem["parameter"], "month");
    let problem = app
        .get_as(reader, "/flags?rule=speeding")
        .await
        .problem(StatusCode::BAD_REQUEST);
    assert_eq!(problem["parameter"], "rule");
    let problem = app
        .get_as(reader, "/trace?direction=sideways&lot=x")
        .await
        .problem(StatusCode::BAD_REQUEST);
    assert_eq!(problem["parameter"], "lot");
    let problem = app
        .get_as(reader, "/lots/uscc/x/10/A")
        .await
        .problem(StatusCode::BAD_REQUEST);
    assert_eq!(problem["parameter"], "lot");
    app.get_as(reader, "/events/abc")
        .await
        .problem(StatusCode::BAD_REQUEST);
    app.get_as(reader, "/events/999")
        .await
        .problem(StatusCode::NOT_FOUND);
    app.get("/nowhere").await.problem(StatusCode::NOT_FOUND);
    let answer = app
        .send_as(&clerk, Method::DELETE, "/events", None, Vec::new())
        .await;
    answer.problem(StatusCode::METHOD_NOT_ALLOWED);
    assert!(answer.headers.contains_key(header::ALLOW));
}
