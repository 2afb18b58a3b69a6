//! Bad input (issue 3, "Tests"): every kind of wrong request is answered with
//! a 4xx problem that names what is wrong — the field, the parameter, the
//! rule — and stores nothing: the ledger, the accounts, the tokens and the
//! register are compared before and after each.

mod common;

use axum::http::{Method, StatusCode};
use common::{Answer, App, Credentials, PASSWORD, extract, lot, ship};
use retrace_domain::uscc::Uscc;
use retrace_server::{IDEMPOTENCY_KEY, MAX_BODY, MAX_SMALL_BODY};
use retrace_store::conformance::{fixture, lots, parties};
use serde_json::{Value, json};

/// What the store holds, as the administrator and the national auditor read
/// it: the ledger's size and every account, token, enterprise, facility and
/// designation.
#[derive(Debug, PartialEq)]
struct Stored {
    ledger: u64,
    accounts: Value,
    tokens: Value,
    enterprises: Value,
    facilities: Value,
    designations: Value,
}

async fn stored(app: &App) -> Stored {
    let page = |who: &'static str, path: &'static str| async move {
        let answer = app.get_as(who, &format!("{path}?limit=1000")).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.text());
        answer.json()["items"].clone()
    };
    Stored {
        ledger: app.size().await,
        accounts: page("admin", "/accounts").await,
        tokens: page("admin", "/tokens").await,
        enterprises: page("admin", "/enterprises").await,
        facilities: page("admin", "/facilities").await,
        designations: page("admin", "/designations").await,
    }
}

/// Checks that `answer` is a problem of `status` whose detail is a sentence,
/// and that nothing was stored since `before`.
async fn refused(app: &App, before: &Stored, answer: &Answer, status: StatusCode) -> Value {
    let problem = answer.problem(status);
    assert!(
        problem["detail"].as_str().unwrap().len() > 10,
        "a detail that says what is wrong: {problem}"
    );
    let after = stored(app).await;
    assert!(after == *before, "something was stored: {problem}");
    problem
}

/// The text a problem tells a person: its detail and the field or parameter it names.
fn told(problem: &Value) -> String {
    format!(
        "{} {} {}",
        problem["detail"].as_str().unwrap_or_default(),
        problem["field"].as_str().unwrap_or_default(),
        problem["parameter"].as_str().unwrap_or_default()
    )
}

async fn send(app: &App, who: &str, method: Method, path: &str, body: &[u8]) -> Answer {
    app.send_as(
        &app.token(who),
        method,
        path,
        Some("application/json"),
        body.to_vec(),
    )
    .await
}

/// Every endpoint that takes a JSON body, with who may call it and a body it takes.
fn json_endpoints() -> Vec<(&'static str, Method, &'static str, Value)> {
    let p = parties();
    vec![
        (
            "miner.clerk",
            Method::POST,
            "/events",
            json!([extract("ORE-2506-01", "1 t")]),
        ),
        (
            "admin",
            Method::POST,
            "/accounts",
            json!({"name": "new.clerk", "role": format!("enterprise_operator:{}", p.miner),
                   "password": PASSWORD}),
        ),
        (
            "admin",
            Method::POST,
            "/tokens",
            json!({"account": "miner.clerk", "label": "erp"}),
        ),
        (
            "admin",
            Method::POST,
            "/enterprises",
            json!({"uscc": Uscc::synthesize("150206", 50).as_str(), "name_zh": "新企业（合成）",
                   "kinds": ["trader"], "seat": "150206"}),
        ),
        (
            "admin",
            Method::POST,
            "/facilities",
            json!({"id": "WH-NEW", "operator": p.miner.as_str(), "name_zh": "新仓库（合成）",
                   "region": "150206", "type": "warehouse"}),
        ),
        (
            "miit.ministry",
            Method::POST,
            "/designations",
            json!({"enterprise": p.smelter.as_str(), "category": "separation",
                   "valid_from": "2025-07-01", "valid_to": "2025-12-31", "document": "工信部 1"}),
        ),
        (
            "miit.ministry",
            Method::POST,
            "/designations/revocations",
            json!({"enterprise": p.miner.as_str(), "category": "mining_rock",
                   "from": "2025-12-01", "document": "工信部 2"}),
        ),
        (
            "admin",
            Method::PATCH,
            "/accounts/miner.clerk",
            json!({"display_name": "矿山填报员"}),
        ),
        (
            "miner.clerk",
            Method::PATCH,
            "/me",
            json!({"display_name": "我"}),
        ),
        (
            "miner.clerk",
            Method::POST,
            "/me/password",
            json!({"current": PASSWORD, "new": "Another-Horse-Battery-10"}),
        ),
        (
            "",
            Method::POST,
            "/session",
            json!({"account": "miner.clerk", "password": PASSWORD}),
        ),
    ]
}

async fn send_as_endpoint(
    app: &App,
    who: &str,
    method: Method,
    path: &str,
    body: Vec<u8>,
) -> Answer {
    let credentials = if who.is_empty() {
        Credentials::None
    } else {
        app.token(who)
    };
    app.send_as(&credentials, method, path, Some("application/json"), body)
        .await
}

#[tokio::test]
async fn malformed_json_is_a_bad_request_everywhere() {
    let app = App::with_fixture().await;
    let before = stored(&app).await;
    for (who, method, path, _) in json_endpoints() {
        for body in [
            "{",
            "[1,",
            "{\"a\":}",
            "nul",
            "{\"name\": \"x\"} trailing",
            "\u{1}",
        ] {
            let answer =
                send_as_endpoint(&app, who, method.clone(), path, body.as_bytes().to_vec()).await;
            let problem = refused(&app, &before, &answer, StatusCode::BAD_REQUEST).await;
            assert_eq!(
                problem["type"], "urn:retrace:problem:malformed-json",
                "{method} {path} {body:?}: {problem}"
            );
        }
        // Well-formed JSON of the wrong shape is refused too, as not what the endpoint takes.
        for body in ["", "null", "42", "\"text\"", "true"] {
            let answer =
                send_as_endpoint(&app, who, method.clone(), path, body.as_bytes().to_vec()).await;
            let status = answer.status;
            assert!(
                status == StatusCode::BAD_REQUEST || status == StatusCode::UNPROCESSABLE_ENTITY,
                "{method} {path} {body:?}: {}",
                answer.text()
            );
            refused(&app, &before, &answer, status).await;
        }
    }
    // A syntax error in a batch is placed by line and column.
    let answer = send(
        &app,
        "miner.clerk",
        Method::POST,
        "/events",
        b"[\n {\"kind\": }\n]",
    )
    .await;
    let problem = refused(&app, &before, &answer, StatusCode::BAD_REQUEST).await;
    assert_eq!(
        (problem["line"].as_u64(), problem["column"].as_u64()),
        (Some(2), Some(11))
    );
}

#[tokio::test]
async fn wrong_types_name_the_field() {
    let app = App::with_fixture().await;
    let before = stored(&app).await;
    let miner = parties().miner;
    let cases: Vec<(&str, Method, &str, Value, &str)> = vec![
        (
            "admin",
            Method::POST,
            "/accounts",
            json!({"name": "x.clerk", "role": 5, "password": PASSWORD}),
            "role",
        ),
        (
            "admin",
            Method::POST,
            "/accounts",
            json!({"name": ["x"], "role": "administrator", "password": PASSWORD}),
            "name",
        ),
        (
            "admin",
            Method::POST,
            "/tokens",
            json!({"account": "miner.clerk", "label": "x", "expires_in_days": "ninety"}),
            "expires_in_days",
        ),
        (
            "admin",
            Method::POST,
            "/enterprises",
            json!({"uscc": Uscc::synthesize("150206", 51).as_str(), "name_zh": "x",
                   "kinds": "trader", "seat": "150206"}),
            "kinds",
        ),
        (
            "admin",
            Method::POST,
            "/facilities",
            json!({"id": "WH-X", "operator": miner.as_str(), "name_zh": "x", "region": 150206,
                   "type": "warehouse"}),
            "region",
        ),
        (
            "miit.ministry",
            Method::POST,
            "/designations",
            json!({"enterprise": miner.as_str(), "category": "separation",
                   "valid_from": 20250701, "valid_to": "2025-12-31", "document": "x"}),
            "valid_from",
        ),
        (
            "admin",
            Method::PATCH,
            "/accounts/miner.clerk",
            json!({"disabled": "yes"}),
            "disabled",
        ),
        (
            "miner.clerk",
            Method::PATCH,
            "/me",
            json!({"language": 7}),
            "language",
        ),
        (
            "miner.clerk",
            Method::POST,
            "/me/password",
            json!({"current": PASSWORD, "new": 123456789012_u64}),
            "new",
        ),
    ];
    for (who, method, path, body, field) in cases {
        let answer = send(&app, who, method.clone(), path, body.to_string().as_bytes()).await;
        let problem = refused(&app, &before, &answer, StatusCode::BAD_REQUEST).await;
        assert_eq!(problem["field"], field, "{method} {path}: {problem}");
        assert!(told(&problem).contains(field), "{problem}");
    }

    // In a batch a wrong type is a refused record, named by record and field.
    let mut bad_time = extract("ORE-2506-02", "1 t");
    bad_time["event_time"] = json!(20250602);
    let mut bad_grade = extract("ORE-2506-03", "1 t");
    bad_grade["output"]["measurement"]["grade"] = json!(0.5);
    let mut bad_lot = ship(lots().ore.as_str(), "1 t", "WB-1");
    bad_lot["lot"] = json!({"lot": "x"});
    for (record, field) in [
        (bad_time, "event_time"),
        (bad_grade, "output.measurement.grade"),
        (bad_lot, "lot"),
    ] {
        let batch = json!([extract("ORE-2506-09", "1 t"), record]);
        let answer = app.post_as("miner.clerk", "/events", &batch).await;
        let problem = refused(&app, &before, &answer, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(
            (problem["record"].as_u64(), problem["field"].as_str()),
            (Some(1), Some(field)),
            "{problem}"
        );
    }
}

#[tokio::test]
async fn oversized_bodies_are_refused_at_each_endpoints_limit() {
    let app = App::with_fixture().await;
    let before = stored(&app).await;
    for (who, method, path, body) in json_endpoints() {
        let limit = if path == "/events" {
            MAX_BODY
        } else {
            MAX_SMALL_BODY
        };
        // A valid body padded to one byte past the limit.
        let mut big = body.to_string().into_bytes();
        big.resize(limit + 1, b' ');
        let answer = send_as_endpoint(&app, who, method.clone(), path, big).await;
        let problem = refused(&app, &before, &answer, StatusCode::PAYLOAD_TOO_LARGE).await;
        let detail = problem["detail"].as_str().unwrap();
        let named = if path == "/events" {
            "16 MiB"
        } else {
            "64 KiB"
        };
        assert!(detail.contains(named), "{method} {path}: {problem}");
    }
    // Past the small limit but within the batch limit, a batch is read.
    let mut batch = json!([extract("ORE-2506-04", "1 t")])
        .to_string()
        .into_bytes();
    batch.resize(MAX_SMALL_BODY * 4, b' ');
    let answer = send(&app, "miner.clerk", Method::POST, "/events", &batch).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text());
    // And a small endpoint reads a body just within its limit.
    let mut patch = json!({"display_name": "满载"}).to_string().into_bytes();
    patch.resize(MAX_SMALL_BODY, b' ');
    let answer = send(&app, "miner.clerk", Method::PATCH, "/me", &patch).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
}

#[tokio::test]
async fn unknown_fields_are_refused_where_they_matter() {
    let app = App::with_fixture().await;
    let before = stored(&app).await;
    for (who, method, path, body) in json_endpoints() {
        // The names a client might try to slip a privilege or a value in by.
        for name in ["role_override", "admin", "scope", "quota"] {
            let mut body = body.clone();
            match &mut body {
                Value::Array(records) => records[0][name] = json!(true),
                object => object[name] = json!(true),
            }
            let answer = send_as_endpoint(
                &app,
                who,
                method.clone(),
                path,
                body.to_string().into_bytes(),
            )
            .await;
            let status = answer.status;
            assert!(
                status == StatusCode::BAD_REQUEST || status == StatusCode::UNPROCESSABLE_ENTITY,
                "{method} {path} with `{name}`: {}",
                answer.text()
            );
            let problem = refused(&app, &before, &answer, status).await;
            assert!(
                told(&problem).contains(name),
                "{method} {path}: the problem names `{name}`: {problem}"
            );
        }
    }
    // What an account may not change of itself is not a field of `/me`.
    for field in ["role", "disabled", "name", "password"] {
        let answer = app
            .send_as(
                &app.token("miner.clerk"),
                Method::PATCH,
                "/me",
                Some("application/json"),
                json!({field: "administrator"}).to_string().into_bytes(),
            )
            .await;
        let problem = refused(&app, &before, &answer, StatusCode::BAD_REQUEST).await;
        assert!(told(&problem).contains(field), "{problem}");
    }
    // A misspelt field of a flow is refused, not dropped.
    let mut typo = extract("ORE-2506-05", "1 t");
    typo["output"]["measurement"]["moisure"] = json!("8%");
    let answer = app.post_as("miner.clerk", "/events", &json!([typo])).await;
    let problem = refused(&app, &before, &answer, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(told(&problem).contains("moisure"), "{problem}");
    let answer = app
        .post_as(
            "miner.clerk",
            "/events",
            &json!({"records": [extract("ORE-2506-06", "1 t")], "dry_run": true}),
        )
        .await;
    let problem = refused(&app, &before, &answer, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(told(&problem).contains("dry_run"), "{problem}");
}

/// A USCC whose check character (the 18th) is wrong.
fn bad_check(good: &Uscc) -> String {
    let text = good.as_str();
    let wrong = if text.ends_with('0') { '1' } else { '0' };
    format!("{}{wrong}", &text[..17])
}

#[tokio::test]
async fn a_bad_uscc_check_character_is_named_wherever_a_code_goes() {
    let app = App::with_fixture().await;
    let before = stored(&app).await;
    let p = parties();
    let bad = bad_check(&p.miner);
    let check = |problem: &Value| {
        assert!(told(problem).contains("check character"), "{problem}");
    };
    // In bodies: the register, designations, roles, a batch.
    let bodies: Vec<(&str, &str, Value, &str, StatusCode)> = vec![
        (
            "admin",
            "/enterprises",
            json!({"uscc": bad, "name_zh": "x", "kinds": ["trader"], "seat": "150206"}),
            "uscc",
            StatusCode::BAD_REQUEST,
        ),
        (
            "admin",
            "/facilities",
            json!({"id": "WH-Y", "operator": bad, "name_zh": "x", "region": "150206",
                   "type": "warehouse"}),
            "operator",
            StatusCode::BAD_REQUEST,
        ),
        (
            "miit.ministry",
            "/designations",
            json!({"enterprise": bad, "category": "separation", "valid_from": "2025-07-01",
                   "valid_to": "2025-12-31", "document": "x"}),
            "enterprise",
            StatusCode::BAD_REQUEST,
        ),
        (
            "admin",
            "/accounts",
            json!({"name": "bad.clerk", "role": format!("enterprise_operator:{bad}"),
                   "password": PASSWORD}),
            "role",
            StatusCode::BAD_REQUEST,
        ),
        (
            "miner.clerk",
            "/events",
            json!([ship(lots().ore.as_str(), "1 t", "WB-2"), {
                "kind": "ship", "event_time": "2025-06-03T10:00:00+08:00",
                "enterprise": p.miner.as_str(), "lot": lots().ore.as_str(), "mass": "1 t",
                "to": bad, "shipment": "WB-3"}]),
            "to",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    for (who, path, body, field, status) in bodies {
        let answer = app.post_as(who, path, &body).await;
        let problem = refused(&app, &before, &answer, status).await;
        assert_eq!(problem["field"], field, "{path}: {problem}");
        check(&problem);
    }
    // In query and path parameters, named by the parameter.
    for (who, path, parameter) in [
        (
            "miner.clerk",
            format!("/events?enterprise={bad}"),
            "enterprise",
        ),
        ("miner.clerk", format!("/stock?holder={bad}"), "holder"),
        (
            "miner.clerk",
            format!("/flags?enterprise={bad}"),
            "enterprise",
        ),
        (
            "miner.clerk",
            format!("/facilities?operator={bad}"),
            "operator",
        ),
        (
            "miner.clerk",
            format!("/designations?enterprise={bad}"),
            "enterprise",
        ),
        (
            "national.auditor",
            format!("/trail?enterprise={bad}"),
            "enterprise",
        ),
        ("miner.clerk", format!("/enterprises/{bad}"), "uscc"),
        ("miner.clerk", format!("/lots/uscc/{bad}/10/ORE-1"), "lot"),
    ] {
        let answer = app.get_as(who, &path).await;
        let problem = refused(&app, &before, &answer, StatusCode::BAD_REQUEST).await;
        assert_eq!(problem["parameter"], parameter, "{path}: {problem}");
        check(&problem);
    }
}

#[tokio::test]
async fn a_region_code_that_does_not_exist_is_named() {
    let app = App::with_fixture().await;
    let before = stored(&app).await;
    let p = parties();
    let nowhere = "159999";
    let not_in_table = |problem: &Value| {
        assert!(told(problem).contains("division table"), "{problem}");
        assert!(told(problem).contains(nowhere), "{problem}");
    };
    let bodies: Vec<(&str, &str, Value, &str, StatusCode)> = vec![
        (
            "admin",
            "/enterprises",
            json!({"uscc": Uscc::synthesize("150206", 60).as_str(), "name_zh": "x",
                   "kinds": ["trader"], "seat": nowhere}),
            "seat",
            StatusCode::BAD_REQUEST,
        ),
        (
            "admin",
            "/facilities",
            json!({"id": "WH-Z", "operator": p.miner.as_str(), "name_zh": "x",
                   "region": nowhere, "type": "warehouse"}),
            "region",
            StatusCode::BAD_REQUEST,
        ),
        (
            "admin",
            "/accounts",
            json!({"name": "nowhere.county", "role": format!("regulator:county:{nowhere}:industry_it"),
                   "password": PASSWORD}),
            "role",
            StatusCode::BAD_REQUEST,
        ),
        (
            "admin",
            "/events",
            json!([{"effective": "2025-06-01T00:00:00+08:00", "act": "register_enterprise",
                    "uscc": Uscc::synthesize("150206", 61).as_str(), "name_zh": "x",
                    "kinds": ["trader"], "seat": nowhere}]),
            "seat",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    for (who, path, body, field, status) in bodies {
        let answer = app.post_as(who, path, &body).await;
        let problem = refused(&app, &before, &answer, status).await;
        assert_eq!(problem["field"], field, "{path}: {problem}");
        not_in_table(&problem);
    }
    for (who, path) in [
        ("miner.clerk", "/enterprises?region=159999"),
        ("miner.clerk", "/facilities?region=159999"),
        ("national.auditor", "/trail?region=159999"),
    ] {
        let answer = app.get_as(who, path).await;
        let problem = refused(&app, &before, &answer, StatusCode::BAD_REQUEST).await;
        assert_eq!(problem["parameter"], "region", "{path}: {problem}");
        not_in_table(&problem);
    }
}

/// Texts that would do harm if anything interpreted them: SQL, markup, a NUL,
/// a right-to-left override, and one very long.
fn injections() -> Vec<String> {
    vec![
        "'; DROP TABLE ledger; --".to_owned(),
        "Robert'); DELETE FROM account WHERE ('1'='1".to_owned(),
        "<script>alert(1)</script>".to_owned(),
        "a\u{0}b".to_owned(),
        "\u{202E}evil\u{202C}.exe".to_owned(),
        "${jndi:ldap://x/a} {{7*7}} %s%n ../../etc/passwd".to_owned(),
        "长".repeat(5_000),
    ]
}

/// Every text field of a record, with a record holding `text` there.
fn records_with(text: &str, n: usize) -> Vec<(&'static str, Value)> {
    let p = parties();
    let l = lots();
    let miner = p.miner.as_str();
    let at = "2025-06-05T10:00:00+08:00";
    vec![
        (
            "shipment",
            json!({"kind": "ship", "event_time": at, "enterprise": miner, "lot": l.ore.as_str(),
                   "mass": "1 kg", "to": p.separator.as_str(), "shipment": text,
                   "contract": text, "invoice": text}),
        ),
        (
            "reference",
            json!({"kind": "adjust", "event_time": at, "enterprise": miner, "lot": l.ore.as_str(),
                   "change": "-1 kg", "reason": "loss", "note": text, "reference": text}),
        ),
        (
            "documents",
            json!({"kind": "opening", "event_time": at, "enterprise": miner,
                   "output": {"lot": lot(&p.miner, &format!("INJ-{n}")), "product": "OXI-CE",
                              "measurement": {"wet_mass": "1 kg", "grade": "99%"},
                              "distribution": {"Ce": "100%"}},
                   "documents": [text]}),
        ),
    ]
}

#[tokio::test]
async fn injection_strings_are_stored_verbatim_or_refused() {
    let app = App::with_fixture().await;
    let count = fixture().len() as u64;
    let mut recorded = 0u64;
    for (n, text) in injections().iter().enumerate() {
        // Flows: each text field stored as sent, or the record refused naming it.
        for (field, record) in records_with(text, n) {
            let answer = app
                .post_as("miner.clerk", "/events", &json!([record]))
                .await;
            if answer.status == StatusCode::CREATED {
                let index = answer.json()["receipts"][0]["index"].as_u64().unwrap();
                recorded += 1;
                let entry = app
                    .get_as("miner.clerk", &format!("/events/{index}"))
                    .await
                    .json();
                for (key, value) in record.as_object().unwrap() {
                    if value == text || value == &json!([text]) {
                        assert_eq!(&entry["record"][key], value, "{key} of {text:?}");
                    }
                }
            } else {
                let problem = answer.problem(answer.status);
                assert!(
                    answer.status.is_client_error(),
                    "{field} {text:?}: {problem}"
                );
            }
        }
        // The register: names of an enterprise and a facility, a designation's document.
        let uscc = Uscc::synthesize("150206", 70 + u32::try_from(n).unwrap());
        let enterprise = json!({"uscc": uscc.as_str(), "name_zh": text, "name_en": text,
                                "kinds": ["trader"], "seat": "150206"});
        let answer = app.post_as("admin", "/enterprises", &enterprise).await;
        if answer.status == StatusCode::CREATED {
            recorded += 1;
            let read = app
                .get_as("national.auditor", &format!("/enterprises/{uscc}"))
                .await
                .json();
            assert_eq!(read["name_zh"], json!(text));
            assert_eq!(read["name_en"], json!(text));
        } else {
            assert!(answer.status.is_client_error(), "{}", answer.text());
        }
        let designation = json!({"enterprise": parties().smelter.as_str(),
                                 "category": "separation", "valid_from": "2025-07-01",
                                 "valid_to": "2025-12-31", "document": text});
        let answer = app
            .post_as("miit.ministry", "/designations", &designation)
            .await;
        if answer.status == StatusCode::CREATED {
            recorded += 1;
            let read = app
                .get_as(
                    "national.auditor",
                    &format!("/designations?enterprise={}", parties().smelter),
                )
                .await
                .json();
            let documents: Vec<&Value> = read["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| &d["document"])
                .collect();
            assert!(documents.contains(&&json!(text)), "{read}");
        } else {
            assert!(answer.status.is_client_error(), "{}", answer.text());
        }
        // Accounts and tokens: a display name and a label.
        let answer = app
            .send_as(
                &app.token("admin"),
                Method::PATCH,
                "/accounts/miner.clerk",
                Some("application/json"),
                json!({"display_name": text}).to_string().into_bytes(),
            )
            .await;
        if answer.status == StatusCode::OK {
            assert_eq!(answer.json()["display_name"], json!(text.trim()));
        } else {
            let problem = answer.problem(StatusCode::UNPROCESSABLE_ENTITY);
            assert_eq!(problem["field"], "display_name", "{problem}");
        }
        let answer = app
            .post_as(
                "admin",
                "/tokens",
                &json!({"account": "miner.clerk", "label": text}),
            )
            .await;
        if answer.status == StatusCode::CREATED {
            assert_eq!(answer.json()["label"], json!(text));
        } else {
            let problem = answer.problem(StatusCode::UNPROCESSABLE_ENTITY);
            assert_eq!(problem["field"], "label", "{problem}");
            assert_eq!(
                problem["detail"],
                "field `label`: give the token a label of 1 to 100 characters, without control \
                 characters"
            );
        }
        // And as query and path parameters, where they are refused or find
        // nothing (the long one would pass the longest URI a client sends).
        if text.len() > 1_000 {
            continue;
        }
        let encoded: String = form_urlencoded(text);
        for path in [
            format!("/events?kind={encoded}"),
            format!("/trace?lot={encoded}"),
            format!("/facilities/{encoded}"),
            format!("/accounts/{encoded}"),
        ] {
            let who = if path.starts_with("/accounts") {
                "admin"
            } else {
                "miner.clerk"
            };
            let answer = app.get_as(who, &path).await;
            assert!(
                answer.status == StatusCode::BAD_REQUEST || answer.status == StatusCode::NOT_FOUND,
                "{path}: {}",
                answer.text()
            );
            answer.problem(answer.status);
        }
        let answer = app
            .get_as(
                "national.auditor",
                &format!("/trail?action={encoded}&account={encoded}"),
            )
            .await;
        answer.problem(StatusCode::BAD_REQUEST);
    }
    assert!(recorded > 0, "some of the texts are stored");
    // Nothing was executed: every table still answers, the ledger holds what
    // was recorded and audits clean, and a new record goes in.
    assert_eq!(app.size().await, count + recorded);
    let report = retrace_store::Store::audit(&*app.store, None)
        .await
        .unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    for (who, path) in [
        ("miner.clerk", "/events?limit=1"),
        ("admin", "/accounts?limit=1"),
        ("admin", "/tokens?limit=1"),
        ("national.auditor", "/trail?limit=1"),
        ("national.auditor", "/stock?limit=1"),
    ] {
        let answer = app.get_as(who, path).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.text());
    }
    app.record("miner.clerk", &json!([extract("ORE-2506-99", "1 t")]))
        .await;
}

/// Percent-encodes every byte outside the unreserved set (RFC 3986 §2.3).
fn form_urlencoded(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn a_replayed_idempotency_key_records_once() {
    let app = &App::with_fixture().await;
    let post = |who: &'static str, key: &'static str, body: Value| async move {
        app.send_with(
            &app.token(who),
            Method::POST,
            "/events",
            Some("application/json"),
            &[(IDEMPOTENCY_KEY, key)],
            body.to_string().into_bytes(),
        )
        .await
    };
    let batch = json!([extract("ORE-2506-10", "5 t"), extract("ORE-2506-11", "6 t")]);
    let first = post("miner.clerk", "key-1", batch.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text());
    assert!(!first.headers.contains_key("idempotent-replayed"));
    let size = app.size().await;
    let before = stored(app).await;

    // The same body again: the first answer, and nothing recorded twice.
    let again = post("miner.clerk", "key-1", batch.clone()).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text());
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.json()["receipts"], first.json()["receipts"]);
    app.check_receipts(&again.json());
    assert_eq!(app.size().await, size);

    // Another body under the same key is refused, naming the key.
    let other = json!([extract("ORE-2506-12", "7 t")]);
    let answer = post("miner.clerk", "key-1", other.clone()).await;
    let problem = refused(app, &before, &answer, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(
        problem["type"],
        "urn:retrace:problem:idempotency-key-reused"
    );
    assert_eq!(problem["field"], "Idempotency-Key");
    assert!(told(&problem).contains("key-1"), "{problem}");
    // So is the same body written differently: the key covers the bytes sent.
    let respaced = app
        .send_with(
            &app.token("miner.clerk"),
            Method::POST,
            "/events",
            Some("application/json"),
            &[(IDEMPOTENCY_KEY, "key-1")],
            serde_json::to_vec_pretty(&batch).unwrap(),
        )
        .await;
    refused(app, &before, &respaced, StatusCode::UNPROCESSABLE_ENTITY).await;

    // Keys are per caller: the miner's manager may use the same key for its own batch.
    let own = post("miner.boss", "key-1", other).await;
    assert_eq!(own.status, StatusCode::CREATED, "{}", own.text());
    let before = stored(app).await;

    // A refused batch does not use its key up.
    let bad = json!([extract("ORE-2506-13", "0 t")]);
    let answer = post("miner.clerk", "key-2", bad).await;
    refused(app, &before, &answer, StatusCode::UNPROCESSABLE_ENTITY).await;
    let good = post(
        "miner.clerk",
        "key-2",
        json!([extract("ORE-2506-13", "1 t")]),
    )
    .await;
    assert_eq!(good.status, StatusCode::CREATED, "{}", good.text());
    let before = stored(app).await;

    // A key that is not one is refused, naming the header.
    let long = "k".repeat(256);
    for key in ["", " ", "ключ", long.as_str()] {
        let answer = app
            .send_with(
                &app.token("miner.clerk"),
                Method::POST,
                "/events",
                Some("application/json"),
                &[(IDEMPOTENCY_KEY, key)],
                json!([extract("ORE-2506-14", "1 t")])
                    .to_string()
                    .into_bytes(),
            )
            .await;
        let status = answer.status;
        assert!(status.is_client_error(), "{key:?}: {}", answer.text());
        if status == StatusCode::UNPROCESSABLE_ENTITY {
            let problem = refused(app, &before, &answer, status).await;
            assert_eq!(problem["field"], "Idempotency-Key", "{problem}");
        } else {
            // A header value the HTTP layer itself refuses.
            assert_eq!(app.size().await, before.ledger);
        }
    }
}

#[tokio::test]
async fn bad_query_parameters_are_named() {
    let app = App::with_fixture().await;
    let before = stored(&app).await;
    let cases = [
        ("miner.clerk", "/events?limit=0", "limit"),
        ("miner.clerk", "/events?limit=ten", "limit"),
        ("miner.clerk", "/events?limit=-1", "limit"),
        (
            "miner.clerk",
            "/events?limit=99999999999999999999999",
            "limit",
        ),
        ("miner.clerk", "/events?kind=flow.sideways", "kind"),
        ("miner.clerk", "/events?lot=not-a-lot", "lot"),
        ("miner.clerk", "/stock?include_empty=maybe", "include_empty"),
        ("miner.clerk", "/flags?month=2025-13", "month"),
        ("miner.clerk", "/flags?month=25-01", "month"),
        ("miner.clerk", "/flags?rule=speeding", "rule"),
        ("miner.clerk", "/trace", "lot"),
        ("miner.clerk", "/trace?lot=uscc/x/10/A", "lot"),
        ("miner.clerk", "/enterprises?kind=bakery", "kind"),
        ("miner.clerk", "/enterprises?group=southern", "group"),
        ("miner.clerk", "/designations?category=fishing", "category"),
        (
            "miner.clerk",
            "/designations?valid_on=2025-02-30",
            "valid_on",
        ),
        ("national.auditor", "/trail?from=yesterday", "from"),
        ("national.auditor", "/trail?until=2025-07-01", "until"),
        ("national.auditor", "/trail?action=Read", "action"),
        ("national.auditor", "/trail?account=no%20spaces", "account"),
        ("", "/proofs/inclusion", "index"),
        ("", "/proofs/inclusion?index=-3", "index"),
        ("", "/proofs/consistency?old=x", "old"),
        ("", "/checkpoints?after_size=big", "after_size"),
    ];
    for (who, path, parameter) in cases {
        let answer = if who.is_empty() {
            app.get(path).await
        } else {
            app.get_as(who, path).await
        };
        let problem = refused(&app, &before, &answer, StatusCode::BAD_REQUEST).await;
        assert_eq!(problem["parameter"], parameter, "{path}: {problem}");
        assert!(told(&problem).contains(parameter), "{problem}");
    }
    // A parameter no endpoint takes is named, and so is a cursor from nowhere.
    for (who, path, named) in [
        ("miner.clerk", "/events?colour=red", "colour"),
        ("miner.clerk", "/stock?owner=x", "owner"),
        ("admin", "/accounts?role=administrator", "role"),
        ("", "/checkpoint?x=1", ""),
        ("miner.clerk", "/stock?after=garbage", "garbage"),
        ("national.auditor", "/trail?after=garbage", "garbage"),
    ] {
        let answer = if who.is_empty() {
            app.get(path).await
        } else {
            app.get_as(who, path).await
        };
        if answer.status == StatusCode::OK {
            // An endpoint without parameters ignores them.
            assert!(named.is_empty(), "{path} answered {}", answer.text());
            continue;
        }
        let problem = refused(&app, &before, &answer, StatusCode::BAD_REQUEST).await;
        assert!(told(&problem).contains(named), "{path}: {problem}");
    }
}

#[tokio::test]
async fn bad_path_parameters_are_named() {
    let app = App::with_fixture().await;
    let before = stored(&app).await;
    for (who, method, path, parameter) in [
        ("miner.clerk", Method::GET, "/events/abc", "index"),
        ("miner.clerk", Method::GET, "/events/-1", "index"),
        (
            "miner.clerk",
            Method::GET,
            "/events/18446744073709551616",
            "index",
        ),
        ("miner.clerk", Method::GET, "/events/1.5/receipt", "index"),
        ("miner.clerk", Method::GET, "/lots/not-a-lot", "lot"),
        ("miner.clerk", Method::GET, "/lots/01/123/10/A", "lot"),
        ("miner.clerk", Method::GET, "/enterprises/91150206", "uscc"),
        ("miner.clerk", Method::GET, "/facilities/lower-case", "id"),
        ("", Method::GET, "/public/lots/uscc/x/10/A", "lot"),
    ] {
        let credentials = if who.is_empty() {
            Credentials::None
        } else {
            app.token(who)
        };
        let answer = app
            .send_as(&credentials, method, path, None, Vec::new())
            .await;
        let problem = refused(&app, &before, &answer, StatusCode::BAD_REQUEST).await;
        assert_eq!(problem["parameter"], parameter, "{path}: {problem}");
    }
    // A name or id that cannot exist is simply not found.
    for (method, path) in [
        (Method::GET, "/accounts/no%20spaces"),
        (Method::PATCH, "/accounts/%00"),
        (Method::DELETE, "/tokens/not-a-token-id"),
    ] {
        let answer = app
            .send_as(
                &app.token("admin"),
                method,
                path,
                Some("application/json"),
                b"{}".to_vec(),
            )
            .await;
        refused(&app, &before, &answer, StatusCode::NOT_FOUND).await;
    }
}

#[tokio::test]
async fn a_password_against_the_policy_is_refused_in_both_languages() {
    let app = App::with_fixture().await;
    let before = stored(&app).await;
    let miner = parties().miner;
    let weak = [
        "short-1A",
        "aaaaaaaaaaaaaaaa",
        "new.clerk-Password-1",
        "password123456",
        &"x1".repeat(70),
    ];
    for password in weak {
        let answer = app
            .post_as(
                "admin",
                "/accounts",
                &json!({"name": "new.clerk", "role": format!("enterprise_operator:{miner}"),
                        "password": password}),
            )
            .await;
        let problem = refused(&app, &before, &answer, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(problem["field"], "password", "{password}: {problem}");
        assert!(
            problem["detail_zh"].as_str().is_some_and(|z| !z.is_empty()),
            "{problem}"
        );
    }
    let answer = app
        .send_as(
            &app.token("admin"),
            Method::PATCH,
            "/accounts/miner.clerk",
            Some("application/json"),
            json!({"password": "miner.clerk-secret-1"})
                .to_string()
                .into_bytes(),
        )
        .await;
    let problem = refused(&app, &before, &answer, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problem["field"], "password", "{problem}");
    assert!(problem["detail_zh"].is_string(), "{problem}");
    // A new password of one's own too, named by the body's field `new`.
    let answer = app
        .send_as(
            &app.token("miner.clerk"),
            Method::POST,
            "/me/password",
            Some("application/json"),
            json!({"current": PASSWORD, "new": "short"})
                .to_string()
                .into_bytes(),
        )
        .await;
    let problem = refused(&app, &before, &answer, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problem["field"], "new", "{problem}");
    assert!(problem["detail_zh"].is_string(), "{problem}");
    // The old password still works.
    app.login("miner.clerk", PASSWORD).await;
}
