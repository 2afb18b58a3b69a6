//! The web application (issue 8): server-rendered pages for every role, in
//! Simplified Chinese first and English, over the same store, the same
//! authentication and the same audit trail as the API.
//!
//! - **Templates** are askama, compiled into the binary and escaped by
//!   default; the few scripts (htmx, the upload progress) and the style sheet
//!   are embedded too ([`assets`]), so the server needs nothing at run time
//!   and every page works without JavaScript except where a browser cannot
//!   do without it (the upload progress bar; the pasted-CSV form beside it
//!   needs none).
//! - **Access** is the API's: the private routes sit behind
//!   [`crate::auth::authenticate`], take a [`Caller`] and get their scope and
//!   authority from its capability methods only. What lies outside the
//!   caller's scope is a 404 page, as in the API. Every form that changes
//!   something carries the session's CSRF token in its `csrf` field (htmx
//!   requests send it as `X-CSRF-Token`), which the layer checks; the login
//!   form, which has no session yet, carries a token bound to a pre-session
//!   cookie ([`login`]).
//! - **The trail** records every page as it records an API read: the layer
//!   writes the entry, and each page names the enterprises whose data it
//!   showed ([`crate::with_subjects`]).
//! - **Language** ([`i18n`]) comes from the account (`PATCH /me` stores it;
//!   the switch on every page calls the store directly) or, before login,
//!   from a cookie; every string of a page comes from one catalogue with both
//!   languages, which a test checks.
//!
//! Navigation ([`chrome`]) is built from the caller's capabilities, so the
//! pages that come with the quota and monthly submission issues (gauges,
//! month status, sealing, allocations, inspections, the alert queue) slot in
//! as further entries of the same menus.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::{OriginalUri, Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use retrace_access::Role;
use retrace_store::{Identity, Store};

use crate::auth::Caller;
use crate::problem::ApiError;
use crate::{AppState, MAX_BODY, auth};

mod account;
mod admin;
mod assets;
mod chrome;
mod designations;
mod enterprise;
mod error;
mod form;
mod i18n;
mod ledger;
mod login;
mod lot;
mod messages;
mod public;
mod qr;
mod record;
mod region;
mod trace_graph;
mod trail;
mod upload;
mod view;

pub(crate) use error::PageError;

/// The pages, to be merged into the API's router before its state is set.
pub(crate) fn routes<S: Store + Identity>(state: AppState<S>) -> Router<AppState<S>> {
    let private = Router::new()
        .route("/", get(home))
        .route("/logout", post(login::logout::<S>))
        .route("/language", post(account::language::<S>))
        .route("/account", get(account::page::<S>))
        .route("/account/password", post(account::password::<S>))
        .route("/enterprise", get(enterprise::home::<S>))
        .route("/stock", get(enterprise::stock::<S>))
        .route("/record", get(record::kinds::<S>))
        .route(
            "/record/{kind}",
            get(record::form::<S>).post(record::submit::<S>),
        )
        .route("/record/{kind}/check", post(record::check::<S>))
        .route(
            "/upload",
            get(upload::page::<S>)
                .post(upload::submit::<S>)
                .layer(DefaultBodyLimit::max(MAX_BODY)),
        )
        .route("/upload/paste", post(upload::paste::<S>))
        .route("/lots/{*lot}", get(lot::page::<S>))
        .route("/labels/{*lot}", get(lot::label::<S>))
        .route("/entries/{index}", get(lot::entry::<S>))
        .route("/entries/{index}/receipt", get(lot::receipt::<S>))
        .route("/region", get(region::dashboard::<S>))
        .route("/region/{code}", get(region::dashboard_of::<S>))
        .route("/enterprises/{uscc}", get(region::enterprise::<S>))
        .route("/flags", get(region::flags::<S>))
        .route("/flag", get(region::flag::<S>))
        .route(
            "/designations",
            get(designations::page::<S>).post(designations::designate::<S>),
        )
        .route("/designations/revoke", post(designations::revoke::<S>))
        .route("/ledger", get(ledger::page::<S>))
        .route("/ledger/receipt", post(ledger::verify_receipt::<S>))
        .route("/trail", get(trail::search::<S>))
        .route(
            "/accounts",
            get(admin::accounts::<S>).post(admin::create_account::<S>),
        )
        .route("/accounts/{name}", post(admin::change_account::<S>))
        .route(
            "/tokens",
            get(admin::tokens::<S>).post(admin::issue_token::<S>),
        )
        .route("/tokens/{id}/revoke", post(admin::revoke_token::<S>))
        .route("/register", get(admin::register::<S>))
        .route(
            "/register/enterprise",
            post(admin::register_enterprise::<S>),
        )
        .route("/register/facility", post(admin::register_facility::<S>))
        .route_layer(axum::middleware::from_fn_with_state(
            state,
            auth::authenticate::<S>,
        ));
    let public = Router::new()
        .route("/login", get(login::page::<S>).post(login::submit::<S>))
        .route("/assets/{name}", get(assets::serve))
        .route("/01/{gtin}/10/{number}", get(public::by_gtin::<S>))
        .route("/uscc/{uscc}/10/{number}", get(public::by_uscc::<S>));
    private.merge(public)
}

/// `GET /`: the caller's home page, by role; the login page without a session.
async fn home(caller: Result<Caller, ApiError>) -> Response {
    let Ok(caller) = caller else {
        return Redirect::to("/login").into_response();
    };
    Redirect::to(home_of(caller.principal().role())).into_response()
}

/// Where a role starts.
fn home_of(role: &Role) -> &'static str {
    match role {
        Role::EnterpriseOperator { .. } | Role::EnterpriseManager { .. } => "/enterprise",
        Role::Auditor { .. } => "/ledger",
        Role::Administrator => "/accounts",
        Role::GroupManager { .. } | Role::Regulator(_) | Role::Inspector { .. } => "/region",
    }
}

/// The caller of a page, or the login page that comes back to it.
///
/// # Errors
/// [`PageError::Login`] without a session that holds.
pub(crate) fn signed_in(
    caller: Result<Caller, ApiError>,
    uri: &OriginalUri,
) -> Result<Caller, PageError> {
    caller.map_err(|_| PageError::Login {
        back: uri
            .0
            .path_and_query()
            .map_or_else(|| uri.0.path().to_owned(), |p| p.as_str().to_owned()),
    })
}

/// The caller of a form, or the login page (a form is not come back to).
///
/// # Errors
/// [`PageError::Login`] without a session that holds.
pub(crate) fn signed_in_form(caller: Result<Caller, ApiError>) -> Result<Caller, PageError> {
    caller.map_err(|_| PageError::Login {
        back: String::new(),
    })
}

/// A `303 See Other` to `to`: where a form goes after it changed something.
pub(crate) fn redirect(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// Paths that are not pages: the API's, answered with its problem documents.
fn is_api(path: &str) -> bool {
    path == "/healthz" || path.starts_with("/api/")
}

/// The answer to a path nothing serves: a problem document under the API, a
/// page elsewhere.
pub(crate) async fn fallback(request: Request) -> Response {
    if is_api(request.uri().path()) {
        crate::problem::no_such_endpoint().await.into_response()
    } else {
        PageError::NotFound.into_response()
    }
}

/// What a page handler shares: the server's state.
type St<S> = State<AppState<S>>;
