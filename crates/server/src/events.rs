//! Recording batches and reading entries back.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use retrace_capture::{CaptureError, CsvRecord, parse_csv_rows, parse_json};
use retrace_domain::flow::FlowKind;
use retrace_domain::lot::LotId;
use retrace_domain::record::Record;
use retrace_domain::uscc::Uscc;
use retrace_ledger::hash::leaf_hash;
use retrace_store::{EntryFilter, Idempotency, Identity, Store, StoreError, WriteContext};
use serde::{Deserialize, Serialize};

use crate::auth::{Caller, Subjects, Trailed};
use crate::problem::{ApiError, CsvPlace};
use crate::{AppState, params, text};

/// The header a client names a request by, so that a retry never records
/// twice (draft-ietf-httpapi-idempotency-key-header).
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The answer to a recorded batch: the checkpoint every receipt leads to, and one receipt per
/// record in batch order.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Recorded {
    /// The signed note (C2SP tlog-checkpoint).
    checkpoint: String,
    receipts: Vec<RecordedEntry>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct RecordedEntry {
    index: u64,
    /// The RFC 9162 leaf hash, lowercase hex.
    leaf: String,
    /// The receipt (C2SP tlog-proof), verifiable offline with the log key.
    receipt: String,
}

/// The two forms a batch may come in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Json,
    Csv,
}

fn format_of(headers: &HeaderMap) -> Result<Format, ApiError> {
    let value = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let media = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if media == "application/json"
        || (media.starts_with("application/") && media.ends_with("+json"))
    {
        Ok(Format::Json)
    } else if media == "text/csv" {
        Ok(Format::Csv)
    } else {
        Err(ApiError::MediaType(value.to_owned()))
    }
}

/// A batch as captured: its records and, for CSV, where each came from.
struct Captured {
    records: Vec<Record>,
    csv: Option<Vec<CsvRecord>>,
}

fn capture(format: Format, body: &[u8]) -> Result<Captured, ApiError> {
    let csv = format == Format::Csv;
    let captured: Result<_, CaptureError> = match format {
        Format::Json => parse_json(body).map(|records| Captured { records, csv: None }),
        Format::Csv => parse_csv_rows(body).map(|rows| Captured {
            records: rows.iter().map(|r| r.record.clone()).collect(),
            csv: Some(rows),
        }),
    };
    captured.map_err(|error| ApiError::Capture { error, csv })
}

/// Where in a CSV batch the record and field of a store error came from.
fn csv_place(error: &StoreError, rows: Option<&[CsvRecord]>) -> Option<CsvPlace> {
    let (record, field) = match error {
        StoreError::Refused { record, refusal } => (*record, Some(refusal.field.as_str())),
        StoreError::Forbidden { record, field, .. } => (*record, Some(*field)),
        _ => return None,
    };
    let source = rows?.get(record)?;
    let (row, column) = match field {
        Some(field) => source.locate(field),
        None => (source.row, None),
    };
    Some(CsvPlace { row, column })
}

/// `POST /events`: capture, then append all or nothing, then answer with
/// receipts. With an `Idempotency-Key` header a retried request answers with
/// the first one's receipts (and `Idempotent-Replayed: true`) and records
/// nothing; the same key with another body is refused.
#[utoipa::path(
    operation_id = "events_record",
    post, path = "/api/v1/events", tag = "events",
    summary = "Record a batch of flows or acts, all or nothing",
    description = "A JSON array of records (`application/json`) or a CSV file (`text/csv`, one row per flow). Enterprise accounts record their own enterprise's flows; the administrator register acts; the ministry designations. An `Idempotency-Key` header makes a retry safe: the same key and body answer with the first receipts (200, `Idempotent-Replayed: true`).",
    params(("Idempotency-Key" = Option<String>, Header, description = "1–255 visible ASCII characters naming this request")),
    request_body(content((Vec<retrace_domain::record::Record> = "application/json"), (String = "text/csv"))),
    responses(
        (status = 201, description = "Recorded: a receipt per record", body = Recorded),
        (status = 200, description = "A retry of a request already recorded: its receipts", body = Recorded), crate::openapi::WriteErrors),
    security(("token" = []), ("session" = []))
)]
pub(crate) async fn record<S: Store + Identity>(
    State(state): State<AppState<S>>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let authority = caller.authority()?;
    let format = format_of(&headers)?;
    let idempotency = match headers.get(IDEMPOTENCY_KEY) {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|key| Idempotency::new(key, &body).ok())
                .ok_or_else(|| ApiError::Field {
                    field: "Idempotency-Key",
                    message: retrace_store::write::IdempotencyKeyError.to_string(),
                    message_zh: None,
                })?,
        ),
    };
    // Parsing megabytes is CPU work; keep it off the threads that serve other requests.
    let Captured { mut records, csv } = tokio::task::spawn_blocking(move || capture(format, &body))
        .await
        .map_err(StoreError::internal)??;
    // An act names its official; one left blank is the caller's (Art. 15).
    let official = caller.principal().account().as_str();
    for record in &mut records {
        if let Record::Act(act) = record
            && act.official.is_empty()
        {
            official.clone_into(&mut act.official);
        }
    }
    let context = WriteContext {
        actor: caller.actor(),
        request: format!("POST /api/v1/events ({} records)", records.len()),
        idempotency,
    };
    let appended = state
        .store
        .append(&authority, records, &context)
        .await
        .map_err(|error| ApiError::Store {
            csv: csv_place(&error, csv.as_deref()),
            error,
        });
    let appended = match appended {
        Ok(a) => a,
        Err(e) => {
            // The store put the refusal on the trail with the batch.
            let mut response = e.into_response();
            response.extensions_mut().insert(Trailed);
            return Ok(response);
        }
    };
    let receipts = appended
        .receipts
        .iter()
        .map(|r| RecordedEntry {
            index: r.index,
            leaf: leaf_hash(&r.entry).to_string(),
            receipt: String::from_utf8_lossy(&r.to_bytes()).into_owned(),
        })
        .collect();
    let recorded = Recorded {
        checkpoint: String::from_utf8_lossy(appended.checkpoint.as_bytes()).into_owned(),
        receipts,
    };
    let status = if appended.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let mut response = (status, Json(recorded)).into_response();
    if appended.replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response.extensions_mut().insert(Trailed);
    Ok(response)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    enterprise: Option<String>,
    lot: Option<String>,
    kind: Option<String>,
    after: Option<String>,
    limit: Option<String>,
}

/// `GET /events`: entries in ledger order.
#[utoipa::path(
    operation_id = "events_list",
    get, path = "/api/v1/events", tag = "events", summary = "Entries in ledger order, within the caller's scope",
    params(ListQuery),
    responses((status = 200, description = "A page of entries", body = retrace_store::Page<retrace_store::EntryView>), crate::openapi::ReadErrors),
    security(("token" = []), ("session" = []))
)]
pub(crate) async fn list<S: Store>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let read = caller.read()?;
    let filter = EntryFilter {
        enterprise: params::optional::<Uscc>("enterprise", q.enterprise.as_deref())?,
        lot: params::optional::<LotId>("lot", q.lot.as_deref())?,
        kind: kind_token(q.kind.as_deref())?,
    };
    let page = params::page(q.after, q.limit.as_deref())?;
    let found = state.store.entries(read.scope(), &filter, &page).await?;
    let subjects = Subjects::of(found.items.iter().map(|e| &e.enterprise));
    Ok(crate::with_subjects(Json(found), subjects))
}

/// The kind token entries are filed under: `flow.ship`, `act.designate`; a bare flow kind
/// (`ship`) is taken as a flow.
fn kind_token(value: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(text) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let is_flow = |k: &str| FlowKind::ALL.iter().any(|f| f.as_str() == k);
    let token = match text.split_once('.') {
        Some(("flow", kind)) if is_flow(kind) => text.to_owned(),
        Some(("act", act))
            if !act.is_empty() && act.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') =>
        {
            text.to_owned()
        }
        None if is_flow(text) => format!("flow.{text}"),
        _ => {
            return Err(ApiError::parameter(
                "kind",
                format!(
                    "`{text}` is not a kind: write flow.<kind> (flow.ship) or act.<act> (act.designate)"
                ),
            ));
        }
    };
    Ok(Some(token))
}

/// `GET /events/{index}`.
#[utoipa::path(
    operation_id = "events_one",
    get, path = "/api/v1/events/{index}", tag = "events", summary = "One entry with its record",
    params(("index" = u64, Path, description = "The ledger index")),
    responses((status = 200, description = "The entry", body = retrace_store::EntryView), crate::openapi::ReadErrors),
    security(("token" = []), ("session" = []))
)]
pub(crate) async fn one<S: Store>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(index): Path<String>,
) -> Result<Response, ApiError> {
    let read = caller.read()?;
    let index = params::required("index", Some(&index))?;
    let entry = state.store.entry(read.scope(), index).await?;
    let subjects = Subjects::of([&entry.enterprise]);
    Ok(crate::with_subjects(Json(entry), subjects))
}

/// `GET /events/{index}/receipt`: a C2SP tlog-proof against the latest checkpoint.
#[utoipa::path(
    operation_id = "events_receipt",
    get, path = "/api/v1/events/{index}/receipt", tag = "events", summary = "The receipt of an entry (C2SP tlog-proof) against the latest checkpoint",
    params(("index" = u64, Path, description = "The ledger index")),
    responses((status = 200, description = "The receipt, verifiable offline with the log key", body = String, content_type = "text/plain"), crate::openapi::ReadErrors),
    security(("token" = []), ("session" = []))
)]
pub(crate) async fn receipt<S: Store>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(index): Path<String>,
) -> Result<Response, ApiError> {
    let read = caller.read()?;
    let index = params::required("index", Some(&index))?;
    let receipt = state.store.receipt(read.scope(), index).await?;
    Ok(text(receipt.to_bytes()))
}
