//! Uploading a month of flows as a CSV or XLSX file (Art. 10): the file is
//! read by the capture crate's CSV parser — an XLSX sheet is first written
//! out as the same rows — and appended as one batch, all or nothing. A file
//! with errors is refused whole and answered with every bad row it has,
//! each with its column and what is wrong, so that the clerk fixes the file
//! once.
//!
//! The upload itself is sent by a small script (`assets/app.js`) that shows
//! its progress and carries the CSRF token as `X-CSRF-Token`; without
//! JavaScript the same rows can be pasted into a form.

use std::io::Cursor;

use askama::Template;
use axum::Form;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use calamine::{Data, Reader, Xlsx};
use retrace_capture::{CsvRecord, parse_csv_rows};
use retrace_domain::record::Record;
use retrace_store::{Idempotency, Identity, Store, StoreError, WriteContext};
use serde::Deserialize;

use super::chrome::Chrome;
use super::form::{label, reason_token};
use super::i18n::Tr;
use super::view::{render, render_for};
use super::{PageError, St, signed_in, signed_in_form};
use crate::AppState;
use crate::auth::{Caller, Subjects, Trailed};
use crate::problem::ApiError;

/// The most bad rows one report lists.
const MAX_REPORTED: usize = 200;

#[derive(Template)]
#[template(path = "upload.html")]
struct UploadPage {
    p: Chrome,
    report: Option<Report>,
    pasted: String,
    idem: String,
}

/// One bad row of a file.
pub(crate) struct BadRow {
    pub row: String,
    pub column: &'static str,
    pub reason: &'static str,
    pub hint: &'static str,
    pub detail: String,
}

/// What became of a file.
pub(crate) struct Report {
    pub recorded: usize,
    pub first: u64,
    pub last: u64,
    pub replayed: bool,
    pub bad: Vec<BadRow>,
    pub more: bool,
}

#[derive(Template)]
#[template(path = "upload_report.html")]
struct ReportFragment {
    p: Chrome,
    r: Report,
}

/// `GET /upload`.
pub(crate) async fn page<S: Store + Identity>(
    State(state): St<S>,
    caller: Result<Caller, ApiError>,
    uri: OriginalUri,
) -> Result<Response, PageError> {
    let caller = signed_in(caller, &uri)?;
    caller.authority()?;
    let p = Chrome::new(&state, &caller, &uri.0, "title.upload").await?;
    render(&UploadPage {
        p,
        report: None,
        pasted: String::new(),
        idem: super::record::idempotency_key(),
    })
}

/// A spreadsheet date (days since 1899-12-30, the fraction the time of
/// day) as an RFC 3339 time in Asia/Shanghai.
#[allow(
    clippy::float_arithmetic,
    reason = "a spreadsheet keeps a date as a floating-point count of days"
)]
fn excel_time(serial: f64) -> Option<String> {
    let seconds = (serial * 86_400.0).round();
    if !(0.0..1e12).contains(&seconds) {
        return None;
    }
    // Whole seconds in 0..10^12 fit an i64 exactly.
    let seconds = seconds as i64;
    let epoch = time::macros::datetime!(1899-12-30 00:00 +08:00);
    let at = epoch.checked_add(time::Duration::seconds(seconds))?;
    Some(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+08:00",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    ))
}

/// A cell as the CSV parser reads text.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => {
            let text = f.to_string();
            text.strip_suffix(".0").map_or(text.clone(), str::to_owned)
        }
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => excel_time(d.as_f64()).unwrap_or_else(|| d.to_string()),
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// The first sheet of an XLSX file, written as CSV with its rows where the
/// sheet has them (so that row numbers stay those of the sheet).
fn xlsx_to_csv(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut book = Xlsx::new(Cursor::new(bytes)).map_err(|e| e.to_string())?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(|| "the workbook has no sheet".to_owned())?
        .map_err(|e| e.to_string())?;
    let mut out = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    let (top, _) = range.start().unwrap_or((0, 0));
    let width = range.width();
    for _ in 0..top {
        out.write_record(vec![String::new(); width])
            .map_err(|e| e.to_string())?;
    }
    for row in range.rows() {
        let cells: Vec<String> = row.iter().map(cell_text).collect();
        out.write_record(&cells).map_err(|e| e.to_string())?;
    }
    out.into_inner().map_err(|e| e.to_string())
}

fn bad_row(
    t: Tr,
    row: Option<usize>,
    column: Option<&str>,
    reason: Option<&'static str>,
    detail: String,
) -> BadRow {
    let column = column.unwrap_or("record");
    BadRow {
        row: row.map_or_else(
            || t.s("upload.whole_file").to_owned(),
            |r| t.f("upload.row", r),
        ),
        column: label(t, column),
        reason: reason.map_or("", |r| t.of("refusal", r)),
        hint: t.of("hint", column),
        detail,
    }
}

/// Every row of a CSV file that does not read, each checked alone (a
/// transformation's rows together, by their `group`).
fn every_bad_row(t: Tr, csv_bytes: &[u8]) -> Vec<BadRow> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(csv_bytes);
    let Ok(header) = reader.headers().cloned() else {
        return Vec::new();
    };
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}').eq_ignore_ascii_case(name))
    };
    let (kind_at, group_at) = (column("kind"), column("group"));
    // Rows to check together: a row alone, or a transformation's group.
    let mut units: Vec<(String, Vec<(usize, csv::StringRecord)>)> = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let Ok(record) = record else { continue };
        let row = i + 1;
        let kind = kind_at
            .and_then(|k| record.get(k))
            .unwrap_or_default()
            .trim();
        let group = group_at
            .and_then(|g| record.get(g))
            .unwrap_or_default()
            .trim();
        if kind.starts_with("transform_") && !group.is_empty() {
            let key = format!("group:{group}");
            if let Some(unit) = units.iter_mut().find(|(k, _)| *k == key) {
                unit.1.push((row, record));
                continue;
            }
            units.push((key, vec![(row, record)]));
        } else {
            units.push((format!("row:{row}"), vec![(row, record)]));
        }
    }
    let mut bad = Vec::new();
    for (_, rows) in units {
        let mut out = csv::WriterBuilder::new()
            .flexible(true)
            .from_writer(Vec::new());
        let written = out.write_record(&header).is_ok()
            && rows.iter().all(|(_, r)| out.write_record(r).is_ok());
        let Some(bytes) = written.then(|| out.into_inner().ok()).flatten() else {
            continue;
        };
        if let Err(e) = parse_csv_rows(bytes.as_slice()) {
            let row = e
                .row
                .and_then(|r| r.checked_sub(1))
                .and_then(|r| rows.get(r))
                .map(|(row, _)| *row);
            bad.push(bad_row(t, row, e.field.as_deref(), None, e.message));
        }
    }
    bad
}

/// Reads and records a file's rows as one batch.
async fn record_rows<S: Store + Identity>(
    state: &AppState<S>,
    caller: &Caller,
    t: Tr,
    csv_bytes: Vec<u8>,
    key: Option<&str>,
    what: &str,
) -> Result<(Report, bool), PageError> {
    let empty = |bad: Vec<BadRow>| {
        let more = bad.len() > MAX_REPORTED;
        Report {
            recorded: 0,
            first: 0,
            last: 0,
            replayed: false,
            bad: bad.into_iter().take(MAX_REPORTED).collect(),
            more,
        }
    };
    let bytes = csv_bytes.clone();
    let parsed = tokio::task::spawn_blocking(move || parse_csv_rows(bytes.as_slice()))
        .await
        .map_err(PageError::internal)?;
    let rows: Vec<CsvRecord> = match parsed {
        Ok(rows) => rows,
        Err(e) => {
            let mut bad = every_bad_row(t, &csv_bytes);
            if bad.is_empty() {
                bad.push(bad_row(t, e.row, e.field.as_deref(), None, e.message));
            }
            return Ok((empty(bad), false));
        }
    };
    let records: Vec<Record> = rows.iter().map(|r| r.record.clone()).collect();
    let context = WriteContext {
        actor: caller.actor(),
        request: format!("{what} ({} records)", records.len()),
        idempotency: key.and_then(|k| Idempotency::new(k, &csv_bytes).ok()),
    };
    let authority = caller.authority()?;
    match state.store.append(&authority, records, &context).await {
        Ok(appended) => Ok((
            Report {
                recorded: appended.receipts.len(),
                first: appended.receipts.first().map_or(0, |r| r.index),
                last: appended.receipts.last().map_or(0, |r| r.index),
                replayed: appended.replayed,
                bad: Vec::new(),
                more: false,
            },
            true,
        )),
        Err(e) => {
            let (record, path, reason, detail) = match &e {
                StoreError::Refused { record, refusal } => (
                    *record,
                    refusal.field.clone(),
                    Some(reason_token(refusal.reason)),
                    refusal.message.clone(),
                ),
                StoreError::Forbidden { record, field, why } => {
                    (*record, (*field).to_owned(), None, why.clone())
                }
                StoreError::IdempotencyMismatch { .. } => (0, String::new(), None, e.to_string()),
                _ => return Err(e.into()),
            };
            let (row, column) = rows.get(record).map_or((None, None), |r| {
                let (row, column) = r.locate(&path);
                (Some(row), column)
            });
            Ok((empty(vec![bad_row(t, row, column, reason, detail)]), true))
        }
    }
}

fn is_xlsx(headers: &HeaderMap, body: &[u8]) -> bool {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    media.contains("spreadsheetml") || body.starts_with(b"PK\x03\x04")
}

/// `POST /upload`: the file's bytes, as the upload script sends them; the
/// answer is the report, an htmx-style fragment.
pub(crate) async fn submit<S: Store + Identity>(
    State(state): St<S>,
    caller: Result<Caller, ApiError>,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let caller = signed_in_form(caller)?;
    let p = Chrome::new(&state, &caller, &uri.0, "title.upload").await?;
    let t = p.t;
    let csv_bytes = if is_xlsx(&headers, &body) {
        let body = body.clone();
        match tokio::task::spawn_blocking(move || xlsx_to_csv(&body))
            .await
            .map_err(PageError::internal)?
        {
            Ok(csv) => csv,
            Err(detail) => {
                let r = Report {
                    recorded: 0,
                    first: 0,
                    last: 0,
                    replayed: false,
                    bad: vec![BadRow {
                        row: t.s("upload.whole_file").to_owned(),
                        column: label(t, "record"),
                        reason: t.s("upload.not_xlsx"),
                        hint: "",
                        detail,
                    }],
                    more: false,
                };
                let mut response = render(&ReportFragment { p, r })?;
                *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
                return Ok(response);
            }
        }
    } else {
        body.to_vec()
    };
    let key = headers
        .get(crate::IDEMPOTENCY_KEY)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (r, trailed) = record_rows(
        &state,
        &caller,
        t,
        csv_bytes,
        key.as_deref(),
        "POST /upload (web upload)",
    )
    .await?;
    let refused = !r.bad.is_empty();
    let own: Vec<_> = caller
        .principal()
        .role()
        .enterprise()
        .into_iter()
        .cloned()
        .collect();
    let mut response = render_for(&ReportFragment { p, r }, Subjects::of(own.iter()))?;
    if refused {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    if trailed {
        response.extensions_mut().insert(Trailed);
    }
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub(crate) struct PasteForm {
    #[serde(default)]
    csv: String,
    #[serde(default)]
    idem: String,
}

/// `POST /upload/paste`: the rows of a CSV file pasted into the form, for a
/// browser without JavaScript.
pub(crate) async fn paste<S: Store + Identity>(
    State(state): St<S>,
    caller: Result<Caller, ApiError>,
    uri: OriginalUri,
    Form(form): Form<PasteForm>,
) -> Result<Response, PageError> {
    let caller = signed_in_form(caller)?;
    let p = Chrome::new(&state, &caller, &uri.0, "title.upload").await?;
    let key = Some(form.idem.as_str()).filter(|k| !k.is_empty());
    let (r, trailed) = record_rows(
        &state,
        &caller,
        p.t,
        form.csv.clone().into_bytes(),
        key,
        "POST /upload/paste (web form)",
    )
    .await?;
    let refused = !r.bad.is_empty();
    let mut response = render(&UploadPage {
        p,
        report: Some(r),
        pasted: if refused { form.csv } else { String::new() },
        idem: super::record::idempotency_key(),
    })?;
    if refused {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    if trailed {
        response.extensions_mut().insert(Trailed);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use retrace_access::Language;

    use super::*;

    #[test]
    fn spreadsheet_cells_read_as_the_csv_parser_reads_text() {
        assert_eq!(cell_text(&Data::Float(42.0)), "42");
        assert_eq!(cell_text(&Data::Float(12.5)), "12.5");
        assert_eq!(cell_text(&Data::String("60 t".into())), "60 t");
        assert_eq!(cell_text(&Data::Empty), "");
        // 2025-03-04 10:00 is day 45720 and five twelfths.
        assert_eq!(
            excel_time(45_720.416_666_666_67).as_deref(),
            Some("2025-03-04T10:00:00+08:00")
        );
        assert_eq!(excel_time(-1.0), None);
    }

    #[test]
    fn every_bad_row_is_named_and_only_those() {
        let t = Tr::new(Language::En);
        let csv = "kind,event_time,enterprise,lot,mass,to,shipment\n\
                   ship,2025-03-04T10:00:00+08:00,91150206000000019W,uscc/91150206000000019W/10/A,1 t,91150271000000027U,W1\n\
                   ship,2025-03-04T10:00:00+08:00,91150206000000019W,uscc/91150206000000019W/10/A,one t,91150271000000027U,W2\n\
                   ship,2025-03-04T10:00:00+08:00,91150206000000019W,bad lot,1 t,91150271000000027U,W3\n";
        let bad = every_bad_row(t, csv.as_bytes());
        let rows: Vec<&str> = bad.iter().map(|b| b.row.as_str()).collect();
        assert_eq!(rows, ["Row 2", "Row 3"]);
        assert_eq!(bad[0].column, "Mass");
        assert_eq!(bad[1].column, "Lot");
    }
}
