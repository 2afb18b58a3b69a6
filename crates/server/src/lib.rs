//! The HTTP API of retrace: the capture step of DESIGN.md §3 for outside callers, and the read
//! side over the store's projections — generic over any [`Store`], so the embedded SQLite store
//! and the PostgreSQL store serve the same API.
//!
//! Every endpoint is under `/api/v1`. Every error is an RFC 7807 problem
//! (`application/problem+json`, see [`problem`]): 400 for malformed JSON or CSV (naming line and
//! column) and bad parameters (naming the parameter), 422 for a refused record (naming record,
//! field — or CSV row and column — and reason; nothing of the batch is stored), 404, 413 beyond
//! [`MAX_BODY`], 415 for a body that is neither JSON nor CSV. Lists are pages
//! `{"items": [...], "next": …}` whose `next` is passed back as `after`; `limit` defaults to 100
//! and is capped at 1,000.
//!
//! | method | path | query | answer |
//! |---|---|---|---|
//! | POST | `/events` | — | body: a JSON batch (`application/json`) or a CSV file (`text/csv`, see `retrace_capture::csv_table`); 201 `{"checkpoint": "<signed note>", "receipts": [{"index", "leaf", "receipt": "<tlog-proof>"}]}` |
//! | GET | `/events` | `enterprise`, `lot`, `kind` (`flow.ship`, `ship`, `act.designate`), `after`, `limit` | page of entries |
//! | GET | `/events/{index}` | — | the entry with its record |
//! | GET | `/events/{index}/receipt` | — | `text/plain` C2SP tlog-proof against the latest checkpoint |
//! | GET | `/lots/{lot}` | — | the lot and its positions; the id keeps its slashes: `/lots/uscc/<USCC>/10/<lot>` |
//! | GET | `/trace` | `lot`, `direction` (`backward` default, `forward`), `after`, `limit` | edges of the trace |
//! | GET | `/stock` | `holder`, `lot`, `include_empty`, `after`, `limit` | page of positions |
//! | GET | `/flags` | `rule`, `enterprise`, `month` (`YYYY-MM`), `after`, `limit` | page of open flags |
//! | GET | `/checkpoint` | — | `text/plain` signed note (C2SP tlog-checkpoint) |
//! | GET | `/checkpoints` | `after_size`, `limit` | `{"checkpoints": [{"size", "root", "note"}]}` |
//! | GET | `/proofs/inclusion` | `index`, `size` (latest if absent) | `{"index", "size", "proof": [hex]}` (RFC 9162 §2.1.3) |
//! | GET | `/proofs/consistency` | `old`, `new` (latest if absent) | `{"old", "new", "proof": [hex]}` (RFC 9162 §2.1.4) |
//! | GET | `/log-key` | — | `text/plain` verifier key (`<origin>+<id>+<base64>`) |
//! | GET | `/healthz` (also outside `/api/v1`) | — | `{"status": "ok", "origin", "size"}` |

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use retrace_store::{Scope, Store};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

mod events;
mod ledger;
mod params;
pub mod problem;
mod reads;

/// The largest request body: a batch of tens of thousands of shipment records fits, and no
/// client can make the server buffer more.
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// What every handler shares.
pub struct AppState<S> {
    pub store: Arc<S>,
    /// The scope every request runs under until accounts exist; see [`Caller`].
    pub scope: Scope,
    /// The log's verifier key, handed out at `/log-key` so that receipts can be checked offline.
    pub verifier_key: String,
    /// The log's origin, the name its checkpoints carry.
    pub origin: String,
}

impl<S> Clone for AppState<S> {
    fn clone(&self) -> Self {
        AppState {
            store: Arc::clone(&self.store),
            scope: self.scope.clone(),
            verifier_key: self.verifier_key.clone(),
            origin: self.origin.clone(),
        }
    }
}

impl<S> std::fmt::Debug for AppState<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("scope", &self.scope)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// The scope of the caller, which every storage call requires (DESIGN.md §3).
///
/// Handlers take their scope from this one extractor and from nowhere else. Until accounts exist
/// it is the explicit operator scope held in [`AppState`]; the accounts issue replaces this
/// extractor with one that authenticates the request, and no handler changes.
#[derive(Debug, Clone)]
pub struct Caller(pub Scope);

impl<S: Store> FromRequestParts<AppState<S>> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        _parts: &mut Parts,
        state: &AppState<S>,
    ) -> Result<Self, Self::Rejection> {
        Ok(Caller(state.scope.clone()))
    }
}

/// The API over `state.store`, with request tracing, the body limit, and problem details for
/// every error.
pub fn router<S: Store>(state: AppState<S>) -> Router {
    let api = Router::new()
        .route("/events", post(events::record::<S>).get(events::list::<S>))
        .route("/events/{index}", get(events::one::<S>))
        .route("/events/{index}/receipt", get(events::receipt::<S>))
        .route("/lots/{*lot}", get(reads::lot::<S>))
        .route("/trace", get(reads::trace::<S>))
        .route("/stock", get(reads::stock::<S>))
        .route("/flags", get(reads::flags::<S>))
        .route("/checkpoint", get(ledger::checkpoint::<S>))
        .route("/checkpoints", get(ledger::checkpoints::<S>))
        .route("/proofs/inclusion", get(ledger::inclusion::<S>))
        .route("/proofs/consistency", get(ledger::consistency::<S>))
        .route("/log-key", get(ledger::log_key::<S>))
        .route("/healthz", get(ledger::health::<S>));
    Router::new()
        .nest("/api/v1", api)
        .route("/healthz", get(ledger::health::<S>))
        .fallback(problem::no_such_endpoint)
        .with_state(state)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(RequestBodyLimitLayer::new(MAX_BODY))
        .layer(axum::middleware::map_response(
            problem::problem_for_bare_errors,
        ))
        .layer(TraceLayer::new_for_http())
}

/// Serves the API on `listener` until `shutdown` completes, then finishes the requests in
/// flight.
///
/// # Errors
/// An I/O error of the listener.
pub async fn serve<S: Store>(
    listener: tokio::net::TcpListener,
    state: AppState<S>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// A text answer (a signed note, a receipt, a key), the form their specifications define.
fn text(body: impl Into<Body>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        body.into(),
    )
        .into_response()
}
