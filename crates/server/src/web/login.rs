//! Logging in and out in a browser, through the API's own login
//! ([`crate::session::start`]: throttling, argon2id, a new session id at
//! every login, the trail) and logout ([`crate::session::end`]).
//!
//! The login form is protected against login CSRF — another site logging the
//! browser in to an account of its choosing — by a pre-session: `GET /login`
//! sets a random, `HttpOnly`, `SameSite=Strict` cookie and puts in the form
//! the CSRF token bound to it by the installation's CSRF key; `POST /login`
//! accepts only a form whose token matches the browser's cookie.

use std::net::SocketAddr;

use askama::Template;
use axum::Form;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, OriginalUri, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand_core::{OsRng, RngCore};
use retrace_access::SessionId;
use retrace_store::{Identity, Store};
use serde::Deserialize;

use super::chrome::Chrome;
use super::view::{local_path, page_headers};
use super::{PageError, St};
use crate::AppState;
use crate::auth::{Caller, session_cookie};
use crate::problem::ApiError;

/// How long a login form stays usable.
const PRE_SESSION_SECONDS: u32 = 3600;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    p: Chrome,
    token: String,
    back: String,
    account: String,
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Back {
    #[serde(default)]
    back: String,
}

fn cookie_name<S>(state: &AppState<S>) -> &'static str {
    if state.cookie.secure {
        "__Host-retrace_login"
    } else {
        "retrace_login"
    }
}

/// The browser's pre-session, or a new one with the `Set-Cookie` that gives it.
fn pre_session<S>(
    state: &AppState<S>,
    headers: &HeaderMap,
) -> Result<(SessionId, Option<String>), PageError> {
    let name = cookie_name(state);
    if let Some(id) = session_cookie(headers, name).and_then(|v| SessionId::parse(v).ok()) {
        return Ok((id, None));
    }
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let value = URL_SAFE_NO_PAD.encode(bytes);
    let secure = if state.cookie.secure { "; Secure" } else { "" };
    let cookie = format!(
        "{name}={value}; Path=/; Max-Age={PRE_SESSION_SECONDS}; HttpOnly; SameSite=Strict{secure}"
    );
    let id = SessionId::parse(&value).map_err(PageError::internal)?;
    Ok((id, Some(cookie)))
}

fn form_page<S>(
    state: &AppState<S>,
    headers: &HeaderMap,
    uri: &OriginalUri,
    back: String,
    account: String,
    message: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (id, set) = pre_session(state, headers)?;
    let page = LoginPage {
        p: Chrome::anonymous(headers, &uri.0, "title.login"),
        token: state.csrf.token(&id).expose_secret().to_owned(),
        back,
        account,
        message,
    };
    let mut response = super::view::render(&page)?;
    *response.status_mut() = status;
    if let Some(cookie) = set {
        let value = HeaderValue::from_str(&cookie).map_err(PageError::internal)?;
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// `GET /login`.
pub(crate) async fn page<S: Store + Identity>(
    State(state): St<S>,
    headers: HeaderMap,
    uri: OriginalUri,
    Query(q): Query<Back>,
) -> Result<Response, PageError> {
    form_page(
        &state,
        &headers,
        &uri,
        q.back,
        String::new(),
        None,
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    back: String,
    #[serde(default)]
    account: String,
    #[serde(default)]
    password: String,
}

impl std::fmt::Debug for LoginForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginForm")
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

/// `POST /login`: checks the form's pre-session token, then logs in through
/// the API's login and goes on to the page the browser came for.
pub(crate) async fn submit<S: Store + Identity>(
    State(state): St<S>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: OriginalUri,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    let t = super::i18n::Tr::new(super::chrome::browser_language(&headers));
    let bound = session_cookie(&headers, cookie_name(&state))
        .and_then(|v| SessionId::parse(v).ok())
        .is_some_and(|id| state.csrf.verify(&id, &form.csrf).is_ok());
    if !bound {
        return form_page(
            &state,
            &headers,
            &uri,
            form.back,
            form.account,
            Some(t.s("login.expired").to_owned()),
            StatusCode::FORBIDDEN,
        );
    }
    let body = serde_json::json!({"account": form.account, "password": form.password});
    let answer = crate::session::start(
        State(state.clone()),
        peer,
        headers.clone(),
        Bytes::from(body.to_string()),
    )
    .await;
    let refused = |message: String, status| {
        form_page(
            &state,
            &headers,
            &uri,
            form.back.clone(),
            form.account.clone(),
            Some(message),
            status,
        )
    };
    let response = match answer {
        Ok(r) => r,
        Err(ApiError::Unauthenticated { detail, detail_zh }) => {
            let message = match t.language() {
                retrace_access::Language::Zh => detail_zh,
                retrace_access::Language::En => detail,
            };
            return refused(message, StatusCode::UNAUTHORIZED);
        }
        Err(ApiError::Throttled {
            detail, detail_zh, ..
        }) => {
            let message = match t.language() {
                retrace_access::Language::Zh => detail_zh,
                retrace_access::Language::En => detail,
            };
            return refused(message, StatusCode::TOO_MANY_REQUESTS);
        }
        Err(ApiError::Body { .. }) => {
            return refused(t.s("login.missing").to_owned(), StatusCode::BAD_REQUEST);
        }
        Err(other) => return Err(other.into()),
    };
    let target = local_path(&form.back).unwrap_or("/").to_owned();
    let mut out = (StatusCode::SEE_OTHER, page_headers()).into_response();
    out.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(&target).map_err(PageError::internal)?,
    );
    for cookie in response.headers().get_all(header::SET_COOKIE) {
        out.headers_mut().append(header::SET_COOKIE, cookie.clone());
    }
    let clear = format!(
        "{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{}",
        cookie_name(&state),
        if state.cookie.secure { "; Secure" } else { "" }
    );
    out.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_str(&clear).map_err(PageError::internal)?,
    );
    Ok(out)
}

/// `POST /logout`: ends the session through the API's logout and returns to
/// the login page.
pub(crate) async fn logout<S: Store + Identity>(
    State(state): St<S>,
    caller: Result<Caller, ApiError>,
) -> Result<Response, PageError> {
    let Ok(caller) = caller else {
        return Ok(super::redirect("/login"));
    };
    let mut response = crate::session::end(State(state), caller).await?;
    *response.status_mut() = StatusCode::SEE_OTHER;
    response
        .headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static("/login"));
    Ok(response)
}
