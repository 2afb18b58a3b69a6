//! Errors as RFC 7807 problem details (`application/problem+json`), the one shape every failed
//! request is answered with.
//!
//! A refused record names the record of the batch (from 0), the field (a path into the record,
//! or a CSV column), the CSV row where the batch came as CSV, and the reason of DESIGN.md §2:
//! `malformed`, `unknown`, `future` or `out_of_range`. Internal failures are logged and never
//! described to the client.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use retrace_access::Denied;
use retrace_capture::CaptureError;
use retrace_domain::project::RefusalReason;
use retrace_store::StoreError;
use serde::Serialize;

/// The media type of RFC 7807 §3.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The largest error body of another layer that is carried over as a problem's detail.
const MAX_BARE_DETAIL: usize = 4 * 1024;

/// An RFC 7807 problem, with retrace's extension members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem: `urn:retrace:problem:<slug>`, or `about:blank` where
    /// the status says it all (RFC 7807 §4.2).
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The record of the batch at fault, from 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<usize>,
    /// The CSV data row at fault, from 1 below the header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<usize>,
    /// A path into the record (`output.measurement.grade`) or a CSV column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<RefusalReason>,
    /// Where a syntax error lies in the body, from 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// The query or path parameter at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
    /// The detail in Chinese, where the message is one a person reads (a
    /// login, a password), for pages that show it as it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail_zh: Option<String>,
}

impl Problem {
    fn new(status: StatusCode, slug: &str, title: &str, detail: impl Into<String>) -> Problem {
        Problem {
            kind: format!("urn:retrace:problem:{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            record: None,
            row: None,
            field: None,
            reason: None,
            line: None,
            column: None,
            parameter: None,
            detail_zh: None,
        }
    }

    /// A problem that only restates an HTTP status.
    fn plain(status: StatusCode, detail: impl Into<String>) -> Problem {
        Problem {
            kind: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            ..Problem::new(status, "", "", detail)
        }
    }

    fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = serde_json::to_vec(&self).unwrap_or_default();
        (status, [(header::CONTENT_TYPE, PROBLEM_JSON)], body).into_response()
    }
}

/// Why a request failed, before it becomes a [`Problem`].
#[derive(Debug)]
pub enum ApiError {
    /// The store refused or failed; `csv` is where in a CSV batch the record and field it names
    /// came from.
    Store {
        error: StoreError,
        csv: Option<CsvPlace>,
    },
    /// The body could not be read as records.
    Capture { error: CaptureError, csv: bool },
    /// A query or path parameter is not what the endpoint takes.
    Parameter { name: &'static str, message: String },
    /// The body is neither JSON nor CSV.
    MediaType(String),
    /// No credentials, or credentials that no longer hold (401).
    Unauthenticated { detail: String, detail_zh: String },
    /// The caller's role does not include what the endpoint does (403). A
    /// named object outside the caller's scope is answered 404 instead, by
    /// the store.
    Denied(Denied),
    /// A cookie-authenticated request without the session's CSRF token (403).
    Csrf,
    /// Too many failed logins: try again at `until` (429, `Retry-After`).
    Throttled {
        until: time::OffsetDateTime,
        detail: String,
        detail_zh: String,
    },
    /// A JSON body that is not what the endpoint takes (400), naming the field.
    Body {
        field: Option<String>,
        message: String,
    },
    /// A field of an otherwise well-formed body is refused (422).
    Field {
        field: &'static str,
        message: String,
        message_zh: Option<String>,
    },
    /// The audit trail could not record the request, so its answer is
    /// withheld (503): nothing is read or written unrecorded.
    TrailUnavailable,
}

/// The data row and column of a CSV batch that a refused record and field came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvPlace {
    pub row: usize,
    pub column: Option<&'static str>,
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        ApiError::Store { error, csv: None }
    }
}

impl ApiError {
    pub fn parameter(name: &'static str, message: impl std::fmt::Display) -> ApiError {
        ApiError::Parameter {
            name,
            message: message.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Store { error, csv } => in_csv(store_problem(error), csv),
            ApiError::Capture { error, csv } => capture_problem(error, csv),
            ApiError::Parameter { name, message } => Problem {
                parameter: Some(name.to_owned()),
                ..Problem::new(
                    StatusCode::BAD_REQUEST,
                    "bad-parameter",
                    "Bad parameter",
                    format!("{name}: {message}"),
                )
            },
            ApiError::Unauthenticated { detail, detail_zh } => {
                let mut response = Problem {
                    detail_zh: Some(detail_zh),
                    ..Problem::new(
                        StatusCode::UNAUTHORIZED,
                        "unauthenticated",
                        "Not logged in",
                        detail,
                    )
                }
                .into_response();
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Bearer realm=\"retrace\""),
                );
                return response;
            }
            ApiError::Denied(denied) => Problem {
                detail_zh: Some(format!("当前账号的角色不能执行此操作（{denied}）")),
                ..Problem::new(
                    StatusCode::FORBIDDEN,
                    "not-in-role",
                    "Not in this account's role",
                    denied.to_string(),
                )
            },
            ApiError::Csrf => Problem {
                detail_zh: Some("表单已过期或不是从本站提交的，请刷新页面后重新提交。".to_owned()),
                ..Problem::new(
                    StatusCode::FORBIDDEN,
                    "csrf",
                    "Missing or wrong CSRF token",
                    "a request made with the session cookie carries the session's CSRF token in \
                     the X-CSRF-Token header or the csrf form field; reload the page and submit \
                     it again",
                )
            },
            ApiError::Throttled {
                until,
                detail,
                detail_zh,
            } => {
                let wait = (until - time::OffsetDateTime::now_utc())
                    .whole_seconds()
                    .max(1);
                let mut response = Problem {
                    detail_zh: Some(detail_zh),
                    ..Problem::new(
                        StatusCode::TOO_MANY_REQUESTS,
                        "login-throttled",
                        "Too many failed logins",
                        detail,
                    )
                }
                .into_response();
                if let Ok(value) = header::HeaderValue::from_str(&wait.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
                return response;
            }
            ApiError::Body { field, message } => Problem {
                field,
                ..Problem::new(
                    StatusCode::BAD_REQUEST,
                    "malformed-json",
                    "Malformed JSON",
                    message,
                )
            },
            ApiError::Field {
                field,
                message,
                message_zh,
            } => Problem {
                field: Some(field.to_owned()),
                detail_zh: message_zh,
                ..Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "refused-field",
                    "Field refused",
                    format!("field `{field}`: {message}"),
                )
            },
            ApiError::TrailUnavailable => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "trail-unavailable",
                "The audit trail is unavailable",
                "the request could not be recorded on the audit trail, so it is not answered; \
                 try again",
            ),
            ApiError::MediaType(found) => Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                if found.is_empty() {
                    "a batch is sent with Content-Type application/json or text/csv; this \
                     request has none"
                        .to_owned()
                } else {
                    format!("a batch is sent as application/json or text/csv, not {found}")
                },
            ),
        }
        .into_response()
    }
}

/// Every [`StoreError`] and its status, in one place.
///
/// A read outside the caller's scope comes from the store as `NotFound` and is answered 404,
/// exactly like what does not exist, so that it reveals nothing (issue 3 §2). `Forbidden` is a
/// write the caller's authority does not cover — recording for another enterprise, an act of
/// another official — and names the record and field.
fn store_problem(error: StoreError) -> Problem {
    match error {
        StoreError::Refused { record, refusal } => Problem {
            record: Some(record),
            field: Some(refusal.field.clone()),
            reason: Some(refusal.reason),
            ..Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "refused",
                "Record refused",
                format!(
                    "record {record}, field {}: {}; nothing of the batch was recorded",
                    refusal.field, refusal.message
                ),
            )
        },
        StoreError::Forbidden { record, field, why } => Problem {
            record: Some(record),
            field: Some(field.to_owned()),
            ..Problem::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "Not permitted",
                format!("record {record}, field {field}: {why}; nothing was recorded"),
            )
        },
        StoreError::Conflict(why) => {
            Problem::new(StatusCode::CONFLICT, "conflict", "Conflict", why)
        }
        error @ StoreError::IdempotencyMismatch { .. } => Problem {
            field: Some("Idempotency-Key".to_owned()),
            ..Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-key-reused",
                "Idempotency key reused",
                error.to_string(),
            )
        },
        StoreError::NotFound(what) => Problem::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            format!("{what} not found"),
        ),
        StoreError::BadRequest(why) => {
            Problem::new(StatusCode::BAD_REQUEST, "bad-request", "Bad request", why)
        }
        StoreError::Internal(message) => {
            tracing::error!(%message, "storage failure");
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
                "the store failed; the failure is logged",
            )
        }
    }
}

/// A store's problem about a record of a CSV batch, told by row and column as the clerk sees
/// the file.
fn in_csv(problem: Problem, csv: Option<CsvPlace>) -> Problem {
    let Some(place) = csv else {
        return problem;
    };
    let column = place
        .column
        .map(|c| format!(", column {c}"))
        .unwrap_or_default();
    Problem {
        row: Some(place.row),
        field: place.column.map(str::to_owned).or(problem.field),
        detail: format!("row {}{column}: {}", place.row, problem.detail),
        ..problem
    }
}

/// A capture error: a syntax error is a bad request (400); well-formed text whose records are
/// wrong is refused like the store refuses (422, reason `malformed`).
fn capture_problem(error: CaptureError, csv: bool) -> Problem {
    let detail = error.to_string();
    let problem = if error.is_syntax() {
        let (slug, title) = if csv {
            ("malformed-csv", "Malformed CSV")
        } else {
            ("malformed-json", "Malformed JSON")
        };
        Problem::new(StatusCode::BAD_REQUEST, slug, title, detail)
    } else {
        Problem {
            reason: Some(RefusalReason::Malformed),
            ..Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "refused",
                "Record refused",
                detail,
            )
        }
    };
    Problem {
        record: error.record,
        row: error.row,
        field: error.field,
        line: error.line,
        column: error.column,
        ..problem
    }
}

/// Turns an error response that is not yet a problem — from axum's extractors and routing (a
/// bad path or query, 405) or from a layer (413 from the body limit) — into one, carrying its
/// short text over as the detail.
pub async fn problem_for_bare_errors(response: Response) -> Response {
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    // A page of the web application explains its own errors.
    let is_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if !(status.is_client_error() || status.is_server_error()) || is_problem || is_page {
        return response;
    }
    let (parts, body) = response.into_parts();
    let detail = match status {
        StatusCode::PAYLOAD_TOO_LARGE => format!(
            "the body is larger than this endpoint takes: {} MiB for a batch of records, {} KiB \
             for anything else",
            crate::MAX_BODY / (1024 * 1024),
            crate::MAX_SMALL_BODY / 1024
        ),
        StatusCode::METHOD_NOT_ALLOWED => {
            "this endpoint does not answer this method; the Allow header lists those it does"
                .to_owned()
        }
        // A server error's text may say more than a client should learn.
        _ if status.is_server_error() => status.canonical_reason().unwrap_or("error").to_owned(),
        _ => axum::body::to_bytes(body, MAX_BARE_DETAIL)
            .await
            .ok()
            .and_then(|b| String::from_utf8(b.to_vec()).ok())
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned()),
    };
    let mut problem = Problem::plain(status, detail).into_response();
    if let Some(allow) = parts.headers.get(header::ALLOW) {
        problem.headers_mut().insert(header::ALLOW, allow.clone());
    }
    problem
}

/// The answer to a path no endpoint serves.
pub async fn no_such_endpoint() -> Problem {
    Problem::plain(StatusCode::NOT_FOUND, "no endpoint serves this path")
}

#[cfg(test)]
mod tests {
    use retrace_domain::project::Refusal;

    use super::*;

    #[test]
    fn internal_failures_are_not_described() {
        let problem = store_problem(StoreError::Internal(
            "disk I/O error at /var/lib/retrace/retrace.db".into(),
        ));
        assert_eq!(problem.status, 500);
        assert!(!problem.detail.contains("/var/lib"), "{}", problem.detail);
    }

    #[test]
    fn every_store_error_has_its_status() {
        let refused = StoreError::Refused {
            record: 2,
            refusal: Refusal {
                field: "inputs[0].lot".into(),
                reason: RefusalReason::Unknown,
                message: "lot x has not been recorded".into(),
            },
        };
        let forbidden = StoreError::Forbidden {
            record: 0,
            field: "enterprise",
            why: "another enterprise".into(),
        };
        for (error, status) in [
            (refused, 422),
            (forbidden, 403),
            (StoreError::NotFound("entry 9".into()), 404),
            (
                StoreError::BadRequest("size 99 was never reached".into()),
                400,
            ),
            (StoreError::Conflict("name taken".into()), 409),
            (StoreError::IdempotencyMismatch { key: "k".into() }, 422),
        ] {
            assert_eq!(store_problem(error).status, status);
        }
    }

    #[test]
    fn csv_places_name_row_and_column() {
        let problem = in_csv(
            store_problem(StoreError::Refused {
                record: 2,
                refusal: Refusal {
                    field: "inputs[0].lot".into(),
                    reason: RefusalReason::Unknown,
                    message: "lot x has not been recorded".into(),
                },
            }),
            Some(CsvPlace {
                row: 7,
                column: Some("lot"),
            }),
        );
        assert_eq!(
            (problem.record, problem.row, problem.field.as_deref()),
            (Some(2), Some(7), Some("lot"))
        );
        assert!(
            problem
                .detail
                .starts_with("row 7, column lot: record 2, field inputs[0].lot")
        );
    }
}
