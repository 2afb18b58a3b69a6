//! The OpenAPI document of the API (issue 3 §5), generated from the handlers'
//! annotations and the types they take and answer with, served at
//! `/api/v1/openapi.json` and committed as `crates/server/openapi.json`,
//! which a test keeps equal to what the code generates.

use axum::Json;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::problem::Problem;
use crate::{accounts, events, ledger, public, reads, register, session, trail};

/// The problems an authenticated read may answer with.
#[derive(Debug, utoipa::IntoResponses)]
#[allow(
    dead_code,
    reason = "describes answers for the OpenAPI document; handlers answer with ApiError"
)]
pub(crate) enum ReadErrors {
    #[response(
        status = 400,
        description = "A bad parameter, named",
        content_type = "application/problem+json"
    )]
    BadRequest(Problem),
    #[response(
        status = 401,
        description = "Not logged in, or the credentials no longer hold",
        content_type = "application/problem+json"
    )]
    Unauthenticated(Problem),
    #[response(
        status = 403,
        description = "Not in this account's role; or, with the session cookie, no CSRF token for a change",
        content_type = "application/problem+json"
    )]
    NotInRole(Problem),
    #[response(
        status = 404,
        description = "Not found — or outside the caller's scope, answered alike",
        content_type = "application/problem+json"
    )]
    NotFound(Problem),
    #[response(
        status = 503,
        description = "The audit trail could not record the request, so it is not answered",
        content_type = "application/problem+json"
    )]
    TrailUnavailable(Problem),
}

/// The problems an authenticated write may answer with.
#[derive(Debug, utoipa::IntoResponses)]
#[allow(
    dead_code,
    reason = "describes answers for the OpenAPI document; handlers answer with ApiError"
)]
pub(crate) enum WriteErrors {
    #[response(
        status = 400,
        description = "Malformed JSON or CSV, naming line and column or the field",
        content_type = "application/problem+json"
    )]
    BadRequest(Problem),
    #[response(
        status = 401,
        description = "Not logged in, or the credentials no longer hold",
        content_type = "application/problem+json"
    )]
    Unauthenticated(Problem),
    #[response(
        status = 403,
        description = "Not in this account's role, not this account's to write (naming record and field), or no CSRF token",
        content_type = "application/problem+json"
    )]
    Forbidden(Problem),
    #[response(
        status = 404,
        description = "What the change names does not exist in the caller's reach",
        content_type = "application/problem+json"
    )]
    NotFound(Problem),
    #[response(
        status = 409,
        description = "The name is taken",
        content_type = "application/problem+json"
    )]
    Conflict(Problem),
    #[response(
        status = 413,
        description = "The body is larger than this endpoint takes",
        content_type = "application/problem+json"
    )]
    TooLarge(Problem),
    #[response(
        status = 415,
        description = "A batch that is neither JSON nor CSV",
        content_type = "application/problem+json"
    )]
    MediaType(Problem),
    #[response(
        status = 422,
        description = "A record or field refused, naming it and why; nothing was stored",
        content_type = "application/problem+json"
    )]
    Refused(Problem),
    #[response(
        status = 503,
        description = "The audit trail could not record the request, so it is not answered",
        content_type = "application/problem+json"
    )]
    TrailUnavailable(Problem),
}

/// The problems of the endpoints anyone may call.
#[derive(Debug, utoipa::IntoResponses)]
#[allow(
    dead_code,
    reason = "describes answers for the OpenAPI document; handlers answer with ApiError"
)]
pub(crate) enum PublicErrors {
    #[response(
        status = 400,
        description = "A bad parameter, named",
        content_type = "application/problem+json"
    )]
    BadRequest(Problem),
    #[response(
        status = 404,
        description = "Not found",
        content_type = "application/problem+json"
    )]
    NotFound(Problem),
}

/// The problems of a login.
#[derive(Debug, utoipa::IntoResponses)]
#[allow(
    dead_code,
    reason = "describes answers for the OpenAPI document; handlers answer with ApiError"
)]
pub(crate) enum LoginErrors {
    #[response(
        status = 400,
        description = "A body that is not a login",
        content_type = "application/problem+json"
    )]
    BadRequest(Problem),
    #[response(
        status = 401,
        description = "The account name or the password is wrong (one answer for both), or the account is disabled",
        content_type = "application/problem+json"
    )]
    Unauthenticated(Problem),
    #[response(
        status = 429,
        description = "Too many failed logins for this account or address; Retry-After says when to try again",
        content_type = "application/problem+json"
    )]
    Throttled(Problem),
}

/// How callers authenticate: an API token as a bearer token, or the session
/// cookie `POST /session` sets.
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("rt_<8-character id>_<43-character secret>")
                    .description(Some(
                        "An API token, issued by an administrator or enterprise manager at POST /api/v1/tokens and shown once.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "retrace_session",
                "The session cookie (`__Host-retrace_session` under TLS) that POST /api/v1/session sets. A request with it that changes something carries the session's CSRF token in `X-CSRF-Token` (or the `csrf` form field).",
            ))),
        );
    }
}

/// The document.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "retrace",
        description = "The rare earth product flow ledger and total-quota system (稀土产品流向追溯与总量控制系统). Every error is an RFC 7807 problem (`application/problem+json`) naming the record, field or parameter at fault; what lies outside the caller's scope is answered exactly like what does not exist (404).",
        license(name = "Apache-2.0")
    ),
    modifiers(&Security),
    components(schemas(Problem)),
    paths(
        session::start,
        session::current,
        session::end,
        accounts::me,
        accounts::change_me,
        accounts::change_password,
        accounts::list,
        accounts::create,
        accounts::one,
        accounts::change,
        accounts::tokens,
        accounts::issue,
        accounts::revoke,
        events::record,
        events::list,
        events::one,
        events::receipt,
        reads::lot,
        reads::trace,
        reads::stock,
        reads::flags,
        register::enterprises,
        register::register_enterprise,
        register::enterprise,
        register::groups,
        register::facilities,
        register::register_facility,
        register::facility,
        register::designations,
        register::designate,
        register::revoke,
        trail::search,
        trail::checkpoint,
        trail::inclusion,
        public::lot,
        ledger::checkpoint,
        ledger::checkpoints,
        ledger::inclusion,
        ledger::consistency,
        ledger::log_key,
        ledger::trail_key,
        ledger::health,
    ),
    tags(
        (name = "session", description = "Logging in and out"),
        (name = "accounts", description = "Accounts and API tokens"),
        (name = "events", description = "Recording flows and acts, and reading entries"),
        (name = "lots", description = "Lots, trace, stock and flags"),
        (name = "register", description = "Enterprises, groups, facilities and designations"),
        (name = "trail", description = "The audit trail, for auditors"),
        (name = "public", description = "Public verification, without a login"),
        (name = "ledger", description = "Checkpoints, proofs and keys"),
    )
)]
pub struct ApiDoc;

/// The document as pretty JSON with a final newline, as it is committed.
///
/// # Panics
/// Never: the document is plain data.
#[must_use]
pub fn document() -> String {
    let mut text = ApiDoc::openapi()
        .to_pretty_json()
        .expect("the OpenAPI document serialises");
    text.push('\n');
    text
}

/// `GET /openapi.json`.
pub(crate) async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
