//! Who is calling (issue 3 §2–4): the one place a request's credentials are
//! checked, its CSRF token verified, and what it did recorded on the audit
//! trail.
//!
//! Every endpoint that reads or writes anyone's data sits behind
//! [`authenticate`]. It resolves the request's credentials — an API token in
//! `Authorization: Bearer`, or the session cookie — into a [`Caller`], which
//! handlers take as an argument and from which alone they get the scope or
//! authority a storage call requires ([`Caller::read`], [`Caller::authority`],
//! …): a handler without a caller cannot call the store, and one with a
//! caller can reach only what the caller's role reaches. After the handler
//! the layer records the request on the audit trail, unless the store
//! already did in the transaction of the write, and withholds the answer
//! (503) if the trail cannot take it.

use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, OriginalUri, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use retrace_access::{
    AccountAuthority, ApiToken, Principal, ReadAuditTrail, ReadScoped, SessionId, TokenError,
};
use retrace_domain::uscc::Uscc;
use retrace_store::{Actor, Authority, Identity, Scope, Store, TrailEvent, Via};

use crate::AppState;
use crate::problem::ApiError;

/// The largest form body read to find its CSRF field.
const MAX_FORM: usize = 1024 * 1024;

/// The authenticated caller of a request.
#[derive(Clone, Debug)]
pub struct Caller {
    principal: Principal,
    via: Via,
    address: Option<IpAddr>,
    /// The session the request came with, when it came with one.
    session: Option<SessionId>,
}

impl Caller {
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    pub fn session(&self) -> Option<&SessionId> {
        self.session.as_ref()
    }

    /// The caller as the audit trail names it.
    pub fn actor(&self) -> Actor {
        Actor::principal(&self.principal, self.via.clone(), self.address)
    }

    /// The scope of the caller's reads of flows and everything derived from
    /// them.
    ///
    /// # Errors
    /// [`ApiError::Denied`] for a role that reads no flows (the administrator).
    pub fn read(&self) -> Result<ReadScoped, ApiError> {
        self.principal.read_scoped().map_err(ApiError::Denied)
    }

    /// The scope of the caller's reads of the register: its read scope, or
    /// for the administrator, who keeps the register, the whole country.
    ///
    /// # Errors
    /// [`ApiError::Denied`] for no role: every role reads the register it reaches.
    pub fn register_scope(&self) -> Result<Scope, ApiError> {
        match self.principal.read_scoped() {
            Ok(read) => Ok(read.scope().clone()),
            Err(denied) => self
                .principal
                .administer_register()
                .map(|h| h.scope())
                .map_err(|_| ApiError::Denied(denied)),
        }
    }

    /// What the caller may write: its own enterprise's flows, register acts
    /// for the administrator, designations for the ministry.
    ///
    /// # Errors
    /// [`ApiError::Denied`] for a role that writes no records.
    pub fn authority(&self) -> Result<Authority, ApiError> {
        let p = &self.principal;
        if let Some(own) = p.role().enterprise() {
            return p
                .record_flows(own)
                .map(|h| h.authority())
                .map_err(ApiError::Denied);
        }
        if let Ok(h) = p.administer_register() {
            return Ok(h.authority());
        }
        p.designate()
            .map(|h| h.authority())
            .map_err(ApiError::Denied)
    }

    /// The accounts and tokens the caller manages.
    ///
    /// # Errors
    /// [`ApiError::Denied`] unless the caller is the administrator or an
    /// enterprise manager.
    pub fn manage_accounts(&self) -> Result<AccountAuthority, ApiError> {
        self.principal.manage_accounts().map_err(ApiError::Denied)
    }

    /// The audit trail the caller may read.
    ///
    /// # Errors
    /// [`ApiError::Denied`] unless the caller is an auditor.
    pub fn read_trail(&self) -> Result<ReadAuditTrail, ApiError> {
        self.principal.read_audit_trail().map_err(ApiError::Denied)
    }
}

/// What [`authenticate`] found, for the [`Caller`] extractor.
#[derive(Clone, Debug)]
enum Authentication {
    Caller(Caller),
    None,
    Failed { detail: String, detail_zh: String },
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Authentication>() {
            Some(Authentication::Caller(c)) => Ok(c.clone()),
            Some(Authentication::Failed { detail, detail_zh }) => Err(ApiError::Unauthenticated {
                detail: detail.clone(),
                detail_zh: detail_zh.clone(),
            }),
            Some(Authentication::None) | None => Err(ApiError::Unauthenticated {
                detail: "log in, or present an API token as `Authorization: Bearer rt_…`"
                    .to_owned(),
                detail_zh: "请先登录，或以 `Authorization: Bearer rt_…` 提供 API 令牌".to_owned(),
            }),
        }
    }
}

/// Marks a response whose request the store has put on the audit trail
/// already, in the same transaction as what it wrote.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Trailed;

/// The enterprises whose data an answer carried, for the audit trail.
#[derive(Clone, Debug, Default)]
pub(crate) struct Subjects(pub Vec<Uscc>);

impl Subjects {
    /// The enterprises in `items`, each once, in order of first appearance.
    pub(crate) fn of<'a>(items: impl IntoIterator<Item = &'a Uscc>) -> Subjects {
        let mut seen: Vec<Uscc> = Vec::new();
        for u in items {
            if !seen.contains(u) {
                seen.push(u.clone());
            }
        }
        Subjects(seen)
    }
}

/// The client's address, as the listener saw it.
fn address(request: &Request) -> Option<IpAddr> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

/// The bearer token of the request, if it has one.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The session cookie's value, if the request has one.
pub(crate) fn session_cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn failed(detail: impl Into<String>, detail_zh: impl Into<String>) -> Authentication {
    Authentication::Failed {
        detail: detail.into(),
        detail_zh: detail_zh.into(),
    }
}

/// Resolves the request's credentials. An internal failure of the store is
/// an error; bad credentials are an [`Authentication::Failed`].
async fn resolve<S: Store + Identity>(
    state: &AppState<S>,
    headers: &HeaderMap,
    address: Option<IpAddr>,
) -> Result<Authentication, ApiError> {
    let now = state.clock.now();
    if let Some(presented) = bearer(headers) {
        let token = match ApiToken::parse(presented) {
            Ok(t) => t,
            Err(e) => return Ok(failed(e.to_string(), "API 令牌格式不正确")),
        };
        let Some(stored) = state.store.token(token.id()).await? else {
            return Ok(failed(TokenError::Invalid.to_string(), "API 令牌无效"));
        };
        return Ok(match token.verify(&stored, now) {
            Ok(principal) => Authentication::Caller(Caller {
                principal,
                via: Via::Token(token.id().to_string()),
                address,
                session: None,
            }),
            Err(e @ TokenError::Revoked(_)) => failed(e.to_string(), "API 令牌已被吊销"),
            Err(e @ TokenError::Expired(_)) => failed(e.to_string(), "API 令牌已过期"),
            Err(e) => failed(e.to_string(), "API 令牌无效"),
        });
    }
    let Some(value) = session_cookie(headers, state.cookie.name) else {
        return Ok(Authentication::None);
    };
    let Ok(id) = SessionId::parse(value) else {
        return Ok(failed(
            "the session cookie is malformed; please log in",
            "会话无效，请重新登录",
        ));
    };
    let digest = id.digest();
    let Some(stored) = state.store.session(&digest).await? else {
        return Ok(failed(
            "the session is not valid; please log in",
            "会话无效，请重新登录",
        ));
    };
    match stored.check(&id, &state.sessions, now) {
        Ok(principal) => {
            if let Some(at) = stored.touch(&state.sessions, now) {
                state.store.touch_session(&digest, at).await?;
            }
            Ok(Authentication::Caller(Caller {
                principal,
                via: Via::Session,
                address,
                session: Some(id),
            }))
        }
        Err(e) => {
            state.store.end_session(&digest, None).await?;
            Ok(failed(e.to_string(), "会话已过期，请重新登录"))
        }
    }
}

/// Whether a request changes something, and so must prove it came from a
/// page of this site when it came with the session cookie.
fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Checks the CSRF token of a cookie-authenticated request that changes
/// something: from the `X-CSRF-Token` header, or the `csrf` field of a
/// form body (which is read and put back).
async fn check_csrf<S>(
    state: &AppState<S>,
    session: &SessionId,
    request: Request,
) -> Result<Request, ApiError> {
    if let Some(token) = request
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
    {
        state
            .csrf
            .verify(session, token)
            .map_err(|_| ApiError::Csrf)?;
        return Ok(request);
    }
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(ApiError::Csrf);
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_FORM)
        .await
        .map_err(|_| ApiError::Csrf)?;
    let token = form_urlencoded_field(&bytes, "csrf").ok_or(ApiError::Csrf)?;
    state
        .csrf
        .verify(session, &token)
        .map_err(|_| ApiError::Csrf)?;
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// The value of `name` in an `application/x-www-form-urlencoded` body.
fn form_urlencoded_field(body: &[u8], name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// The request as the trail names it: method, path and query. The API
/// carries no secret in a URL, so the whole of it is kept.
fn target(request: &Request) -> String {
    // Inside the nested API router the URI has lost its `/api/v1` prefix.
    let uri = request
        .extensions()
        .get::<OriginalUri>()
        .map_or(request.uri(), |o| &o.0);
    let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    format!("{} {path}", request.method())
}

/// The layer in front of every endpoint that reads or writes anyone's data.
pub(crate) async fn authenticate<S: Store + Identity>(
    State(state): State<AppState<S>>,
    mut request: Request,
    next: Next,
) -> Response {
    let address = address(&request);
    let found = match resolve(&state, request.headers(), address).await {
        Ok(found) => found,
        Err(e) => return e.into_response(),
    };
    if let Authentication::Failed { detail, .. } = &found {
        // Credentials that do not hold are not on the trail (an attacker
        // could fill it); they are logged, without the credentials.
        tracing::info!(?address, reason = %detail, "credentials refused");
    }
    let caller = match &found {
        Authentication::Caller(c) => Some(c.clone()),
        _ => None,
    };
    if let Some(session) = caller.as_ref().and_then(Caller::session)
        && is_unsafe(request.method())
    {
        request = match check_csrf(&state, session, request).await {
            Ok(r) => r,
            Err(e) => return e.into_response(),
        };
    }
    let read = matches!(*request.method(), Method::GET | Method::HEAD);
    let target = target(&request);
    request.extensions_mut().insert(found);
    let response = next.run(request).await;
    let Some(caller) = caller else {
        return response;
    };
    if response.extensions().get::<Trailed>().is_some() {
        return response;
    }
    let enterprises = response
        .extensions()
        .get::<Subjects>()
        .map(|s| s.0.clone())
        .unwrap_or_default();
    let status = response.status();
    let detail = if status.is_success() {
        format!(
            "answered with the data of {} enterprises",
            enterprises.len()
        )
    } else {
        status.canonical_reason().unwrap_or("error").to_owned()
    };
    let event = TrailEvent {
        actor: caller.actor(),
        action: if read { "read" } else { "request" }.to_owned(),
        target,
        enterprises,
        region: caller.principal().role().region(),
        status: status.as_u16(),
        detail,
    };
    match state.store.record_trail(event).await {
        Ok(_) => response,
        Err(e) => {
            tracing::error!(error = %e, "the audit trail refused an entry; the answer is withheld");
            ApiError::TrailUnavailable.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_and_cookies_are_found() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, "Bearer rt_abc".parse().unwrap());
        assert_eq!(bearer(&headers), Some("rt_abc"));
        headers.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer(&headers), None);
        headers.insert(
            header::COOKIE,
            "theme=dark; retrace_session=abc123; x=y".parse().unwrap(),
        );
        assert_eq!(session_cookie(&headers, "retrace_session"), Some("abc123"));
        assert_eq!(session_cookie(&headers, "__Host-retrace_session"), None);
    }

    #[test]
    fn form_fields_are_read() {
        assert_eq!(
            form_urlencoded_field(b"a=1&csrf=x%2By&b=2", "csrf").as_deref(),
            Some("x+y")
        );
        assert_eq!(form_urlencoded_field(b"a=1", "csrf"), None);
    }
}
