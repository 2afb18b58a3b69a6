//! The HTTP API of retrace: the capture step of DESIGN.md §3 for outside callers, and the read
//! side over the store's projections — generic over any store, so the embedded SQLite store
//! and the PostgreSQL store serve the same API.
//!
//! Every endpoint is under `/api/v1`. Every error is an RFC 7807 problem
//! (`application/problem+json`, see [`problem`]): 400 for malformed JSON or CSV (naming line and
//! column, or the field) and bad parameters (naming the parameter), 401 without valid
//! credentials, 403 for what the caller's role does not include (and for a missing CSRF token),
//! 404 for what does not exist *or lies outside the caller's scope* — the two are answered
//! alike, so that existence does not leak —, 409 for a name taken, 413 beyond the body limit,
//! 415 for a body that is neither JSON nor CSV, 422 for a refused record (naming record, field
//! — or CSV row and column — and reason; nothing of the batch is stored), 429 for a login
//! tried too often (with `Retry-After`). Lists are pages `{"items": [...], "next": …}` whose
//! `next` is passed back as `after`; `limit` defaults to 100 and is capped at 1,000.
//!
//! Callers authenticate with an API token (`Authorization: Bearer rt_…`) or the session cookie
//! that `POST /session` sets; a request with the cookie that changes something carries the
//! session's CSRF token (`X-CSRF-Token`). The OpenAPI document at `/api/v1/openapi.json` lists
//! every endpoint with its parameters and answers.
//!
//! | method | path | who | answer |
//! |---|---|---|---|
//! | POST | `/session` | anyone, with a password | 201, sets the session cookie |
//! | GET, DELETE | `/session` | the session | who it is and its CSRF token; logout |
//! | GET, PATCH | `/me`; POST `/me/password` | every account | its own account |
//! | GET, POST | `/accounts`; GET, PATCH `/accounts/{name}` | administrator, enterprise manager | accounts in reach |
//! | GET, POST | `/tokens`; DELETE `/tokens/{id}` | administrator, enterprise manager | API tokens, shown once |
//! | POST | `/events` (`Idempotency-Key`) | enterprise accounts; register and designation acts for their officials | receipts |
//! | GET | `/events`, `/events/{index}`, `/events/{index}/receipt` | every reading role | entries in scope |
//! | GET | `/lots/{lot}`, `/trace`, `/stock`, `/flags` | every reading role | projections in scope |
//! | GET, POST | `/enterprises`, `/facilities`, `/designations`; POST `/designations/revocations` | readers; administrator; ministry | the register in scope |
//! | GET | `/enterprises/{uscc}`, `/facilities/{id}`, `/groups` | every role | the register in scope |
//! | GET | `/trail`, `/trail/checkpoint`, `/trail/proofs/inclusion` | auditors | the audit trail of their region |
//! | GET | `/public/lots/{lot}` | anyone | what the public may know of a lot, with proofs |
//! | GET | `/checkpoint`, `/checkpoints`, `/proofs/inclusion`, `/proofs/consistency`, `/log-key`, `/trail-key` | anyone | the logs |
//! | GET | `/healthz` (also outside `/api/v1`), `/openapi.json` | anyone | |

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use retrace_access::{CsrfKey, PasswordPolicy, SessionCookie, SessionPolicy, Throttle};
use retrace_domain::clock::Clock;
use retrace_store::{Identity, Store};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

mod accounts;
pub mod auth;
mod body;
mod events;
mod ledger;
pub mod openapi;
mod params;
pub mod problem;
mod public;
mod reads;
mod register;
mod session;
mod trail;
mod web;

pub use auth::Caller;
pub use body::MAX_SMALL_BODY;
pub use events::IDEMPOTENCY_KEY;

/// The largest request body: a batch of tens of thousands of shipment records fits, and no
/// client can make the server buffer more. Other endpoints take [`MAX_SMALL_BODY`].
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// What every handler shares.
pub struct AppState<S> {
    pub store: Arc<S>,
    /// The time sessions and tokens are checked at: the store's clock.
    pub clock: Arc<dyn Clock>,
    /// The log's verifier key, handed out at `/log-key` so that receipts can be checked offline.
    pub verifier_key: String,
    /// The audit trail's verifier key, at `/trail-key`.
    pub trail_verifier_key: String,
    /// The log's origin, the name its checkpoints carry.
    pub origin: String,
    /// Makes and checks the CSRF tokens of sessions; one key for every node of an installation.
    pub csrf: CsrfKey,
    pub cookie: SessionCookie,
    pub sessions: SessionPolicy,
    pub throttle: Throttle,
    pub password_policy: PasswordPolicy,
}

impl<S> Clone for AppState<S> {
    fn clone(&self) -> Self {
        AppState {
            store: Arc::clone(&self.store),
            clock: Arc::clone(&self.clock),
            verifier_key: self.verifier_key.clone(),
            trail_verifier_key: self.trail_verifier_key.clone(),
            origin: self.origin.clone(),
            csrf: self.csrf.clone(),
            cookie: self.cookie,
            sessions: self.sessions,
            throttle: self.throttle,
            password_policy: self.password_policy,
        }
    }
}

impl<S> std::fmt::Debug for AppState<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("origin", &self.origin)
            .field("cookie", &self.cookie)
            .finish_non_exhaustive()
    }
}

impl<S> AppState<S> {
    /// The state of a server over `store`, with the default session,
    /// throttle and password policies; `tls` decides the cookie's `Secure`
    /// attribute and name.
    pub fn new(
        store: Arc<S>,
        clock: Arc<dyn Clock>,
        verifier_key: String,
        trail_verifier_key: String,
        origin: String,
        csrf: CsrfKey,
        tls: bool,
    ) -> AppState<S> {
        AppState {
            store,
            clock,
            verifier_key,
            trail_verifier_key,
            origin,
            csrf,
            cookie: SessionCookie::new(tls),
            sessions: SessionPolicy::default(),
            throttle: Throttle::default(),
            password_policy: PasswordPolicy::default(),
        }
    }
}

/// An answer carrying the data of `subjects`, for the audit trail.
fn with_subjects(body: impl IntoResponse, subjects: auth::Subjects) -> Response {
    let mut response = body.into_response();
    response.extensions_mut().insert(subjects);
    response
}

/// The API over `state.store`, with request tracing, body limits, and problem details for
/// every error.
pub fn router<S: Store + Identity>(state: AppState<S>) -> Router {
    let small = DefaultBodyLimit::max(MAX_SMALL_BODY);
    let private = Router::new()
        .route(
            "/events",
            post(events::record::<S>)
                .layer(DefaultBodyLimit::max(MAX_BODY))
                .get(events::list::<S>),
        )
        .route("/events/{index}", get(events::one::<S>))
        .route("/events/{index}/receipt", get(events::receipt::<S>))
        .route("/lots/{*lot}", get(reads::lot::<S>))
        .route("/trace", get(reads::trace::<S>))
        .route("/stock", get(reads::stock::<S>))
        .route("/flags", get(reads::flags::<S>))
        .route(
            "/session",
            get(session::current::<S>).delete(session::end::<S>),
        )
        .route(
            "/me",
            get(accounts::me::<S>).patch(accounts::change_me::<S>),
        )
        .route("/me/password", post(accounts::change_password::<S>))
        .route(
            "/accounts",
            get(accounts::list::<S>).post(accounts::create::<S>),
        )
        .route(
            "/accounts/{name}",
            get(accounts::one::<S>).patch(accounts::change::<S>),
        )
        .route(
            "/tokens",
            get(accounts::tokens::<S>).post(accounts::issue::<S>),
        )
        .route("/tokens/{id}", axum::routing::delete(accounts::revoke::<S>))
        .route(
            "/enterprises",
            get(register::enterprises::<S>).post(register::register_enterprise::<S>),
        )
        .route("/enterprises/{uscc}", get(register::enterprise::<S>))
        .route("/groups", get(register::groups))
        .route(
            "/facilities",
            get(register::facilities::<S>).post(register::register_facility::<S>),
        )
        .route("/facilities/{id}", get(register::facility::<S>))
        .route(
            "/designations",
            get(register::designations::<S>).post(register::designate::<S>),
        )
        .route("/designations/revocations", post(register::revoke::<S>))
        .route("/trail", get(trail::search::<S>))
        .route("/trail/checkpoint", get(trail::checkpoint::<S>))
        .route("/trail/proofs/inclusion", get(trail::inclusion::<S>))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate::<S>,
        ));
    let public = Router::new()
        .route("/session", post(session::start::<S>))
        .route("/public/lots/{*lot}", get(public::lot::<S>))
        .route("/checkpoint", get(ledger::checkpoint::<S>))
        .route("/checkpoints", get(ledger::checkpoints::<S>))
        .route("/proofs/inclusion", get(ledger::inclusion::<S>))
        .route("/proofs/consistency", get(ledger::consistency::<S>))
        .route("/log-key", get(ledger::log_key::<S>))
        .route("/trail-key", get(ledger::trail_key::<S>))
        .route("/healthz", get(ledger::health::<S>))
        .route("/openapi.json", get(openapi::serve));
    Router::new()
        .nest("/api/v1", private.merge(public).layer(small))
        .route("/healthz", get(ledger::health::<S>))
        .merge(web::routes(state.clone()))
        .fallback(web::fallback)
        .with_state(state)
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
pub async fn serve<S: Store + Identity>(
    listener: tokio::net::TcpListener,
    state: AppState<S>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// The certificate and key HTTPS is served with (rustls).
#[derive(Clone, Debug)]
pub struct Tls(axum_server::tls_rustls::RustlsConfig);

impl Tls {
    /// Reads a PEM certificate chain and private key.
    ///
    /// # Errors
    /// When a file cannot be read or does not hold a certificate or key.
    pub async fn from_pem_files(
        cert: &std::path::Path,
        key: &std::path::Path,
    ) -> std::io::Result<Tls> {
        axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
            .await
            .map(Tls)
    }
}

/// Serves the API over HTTPS on `listener` until `shutdown` completes, then
/// finishes the requests in flight (for at most ten seconds).
///
/// # Errors
/// An I/O error of the listener.
pub async fn serve_tls<S: Store + Identity>(
    listener: tokio::net::TcpListener,
    tls: Tls,
    state: AppState<S>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let handle = axum_server::Handle::new();
    let stopping = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopping.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
    });
    let listener = listener.into_std()?;
    axum_server::from_tcp_rustls(listener, tls.0)?
        .handle(handle)
        .serve(router(state).into_make_service_with_connect_info::<SocketAddr>())
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
