//! The OpenAPI document (issue 3 §5): generated from the code, served, and
//! committed as `crates/server/openapi.json`. This test fails when the
//! committed copy and the code disagree; `UPDATE_OPENAPI=1 cargo test -p
//! retrace-server --test openapi` writes the code's version.

mod common;

use std::collections::BTreeSet;

use axum::http::StatusCode;
use serde_json::Value;

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");

#[test]
fn the_committed_document_is_the_one_the_code_generates() {
    let generated = retrace_server::openapi::document();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(COMMITTED, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
    assert!(
        committed == generated,
        "crates/server/openapi.json differs from what the code generates; run \
         `UPDATE_OPENAPI=1 cargo test -p retrace-server --test openapi` and commit the file"
    );
}

#[test]
fn every_endpoint_is_in_the_document() {
    let doc: Value = serde_json::from_str(&retrace_server::openapi::document()).unwrap();
    let found: BTreeSet<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| format!("{} {path}", method.to_uppercase()))
        })
        .collect();
    let expected: BTreeSet<String> = [
        "POST /api/v1/session",
        "GET /api/v1/session",
        "DELETE /api/v1/session",
        "GET /api/v1/me",
        "PATCH /api/v1/me",
        "POST /api/v1/me/password",
        "GET /api/v1/accounts",
        "POST /api/v1/accounts",
        "GET /api/v1/accounts/{name}",
        "PATCH /api/v1/accounts/{name}",
        "GET /api/v1/tokens",
        "POST /api/v1/tokens",
        "DELETE /api/v1/tokens/{id}",
        "POST /api/v1/events",
        "GET /api/v1/events",
        "GET /api/v1/events/{index}",
        "GET /api/v1/events/{index}/receipt",
        "GET /api/v1/lots/{lot}",
        "GET /api/v1/trace",
        "GET /api/v1/stock",
        "GET /api/v1/flags",
        "GET /api/v1/enterprises",
        "POST /api/v1/enterprises",
        "GET /api/v1/enterprises/{uscc}",
        "GET /api/v1/groups",
        "GET /api/v1/facilities",
        "POST /api/v1/facilities",
        "GET /api/v1/facilities/{id}",
        "GET /api/v1/designations",
        "POST /api/v1/designations",
        "POST /api/v1/designations/revocations",
        "GET /api/v1/trail",
        "GET /api/v1/trail/checkpoint",
        "GET /api/v1/trail/proofs/inclusion",
        "GET /api/v1/public/lots/{lot}",
        "GET /api/v1/checkpoint",
        "GET /api/v1/checkpoints",
        "GET /api/v1/proofs/inclusion",
        "GET /api/v1/proofs/consistency",
        "GET /api/v1/log-key",
        "GET /api/v1/trail-key",
        "GET /api/v1/healthz",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(found, expected);
    for schema in [
        "Record",
        "FlowEvent",
        "Uscc",
        "LotId",
        "Mass",
        "Problem",
        "TraceEdge",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "schema {schema} missing"
        );
    }
}

#[tokio::test]
async fn the_server_serves_the_document() {
    let app = common::App::start().await;
    let served = app.get("/openapi.json").await;
    assert_eq!(served.status, StatusCode::OK);
    let generated: Value = serde_json::from_str(&retrace_server::openapi::document()).unwrap();
    assert_eq!(served.json(), generated);
}
