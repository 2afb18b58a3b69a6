//! Logging in and out (issue 3 §3): a password login, throttled by account
//! name and source address, that starts a new cookie session — never the one
//! the browser came with — and a logout that ends it.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rand_core::OsRng;
use retrace_access::{
    AccountName, LoginError, SessionId, ThrottleKey, Verdict, hash_password, login,
};
use retrace_store::{AccountChange, Actor, Identity, Store, StoreError, TrailEvent, Via};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

use crate::AppState;
use crate::auth::{Caller, Trailed, session_cookie};
use crate::body::json;
use crate::problem::ApiError;

/// A login.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Login {
    account: String,
    password: String,
}

/// Who is logged in, and the token a page sends back with what it changes.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct SessionView {
    account: AccountName,
    role: retrace_access::Role,
    display_name: String,
    language: retrace_access::Language,
    /// The CSRF token of this session: send it as `X-CSRF-Token` (or the
    /// `csrf` form field) with every request that changes something.
    csrf_token: String,
}

fn trail(actor: Actor, action: &str, status: StatusCode, detail: &str) -> TrailEvent {
    TrailEvent {
        actor,
        action: action.to_owned(),
        target: "POST /api/v1/session".to_owned(),
        enterprises: Vec::new(),
        region: None,
        status: status.as_u16(),
        detail: detail.to_owned(),
    }
}

fn throttled(verdict: Verdict) -> Option<ApiError> {
    let until = verdict.until()?;
    Some(ApiError::Throttled {
        until,
        detail: verdict.message_en().unwrap_or_default(),
        detail_zh: verdict.message_zh().unwrap_or_default(),
    })
}

/// `POST /session`: logs in with an account name and password, and sets the
/// session cookie.
#[utoipa::path(
    operation_id = "session_start",
    post, path = "/api/v1/session", tag = "session", summary = "Log in with an account name and password; sets the session cookie",
    request_body = Login,
    responses((status = 201, description = "Logged in; the answer carries the session's CSRF token", body = SessionView), crate::openapi::LoginErrors)
)]
pub(crate) async fn start<S: Store + Identity>(
    State(state): State<AppState<S>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Login { account, password } = json(&body)?;
    let now = state.clock.now();
    let address = peer.ip();
    let keys = vec![ThrottleKey::account(&account), ThrottleKey::source(address)];
    let states = state.store.throttle(keys.clone()).await?;
    let (mut by_account, mut by_source) = (states[0], states[1]);
    let anonymous = Actor {
        via: Via::Password,
        ..Actor::anonymous(Some(address))
    };
    if let Some(refusal) = throttled(state.throttle.check(&by_account, &by_source, now)) {
        state
            .store
            .record_trail(trail(
                anonymous,
                "login.throttled",
                StatusCode::TOO_MANY_REQUESTS,
                &format!("refused without checking the password: account `{account}` or this address failed too often"),
            ))
            .await?;
        return Err(refusal);
    }
    let name = AccountName::parse(&account).ok();
    let stored = match &name {
        Some(n) => state.store.account(n).await?,
        None => None,
    };
    let checked = {
        let stored = stored.clone();
        tokio::task::spawn_blocking(move || {
            login(stored.as_ref(), &password).map(|p| (p, password))
        })
        .await
        .map_err(StoreError::internal)?
    };
    let (principal, password) = match checked {
        Ok(found) => found,
        Err(e) => {
            if e == LoginError::BadCredentials {
                state.throttle.failed(&mut by_account, &mut by_source, now);
            }
            state
                .store
                .put_throttle(
                    vec![(keys[0].clone(), by_account), (keys[1].clone(), by_source)],
                    trail(
                        anonymous,
                        "login.failed",
                        StatusCode::UNAUTHORIZED,
                        &format!("account `{account}`: {e}"),
                    ),
                )
                .await?;
            return Err(ApiError::Unauthenticated {
                detail: e.message_en(),
                detail_zh: e.message_zh().to_owned(),
            });
        }
    };
    let had_failures = by_account != retrace_access::ThrottleState::default();
    state.throttle.succeeded(&mut by_account);
    let actor = Actor::principal(&principal, Via::Password, Some(address));
    if stored.as_ref().is_some_and(|a| a.password.needs_rehash()) {
        let hash = tokio::task::spawn_blocking(move || hash_password(&password, &mut OsRng))
            .await
            .map_err(StoreError::internal)?
            .map_err(StoreError::internal)?;
        let change = AccountChange {
            password: Some(hash),
            ..AccountChange::default()
        };
        state
            .store
            .change_own_account(
                &principal,
                change,
                None,
                trail(
                    actor.clone(),
                    "password.rehash",
                    StatusCode::OK,
                    "stronger hash parameters",
                ),
            )
            .await?;
    }
    let previous =
        session_cookie(&headers, state.cookie.name).and_then(|v| SessionId::parse(v).ok());
    let new = retrace_access::session::start(&mut OsRng, &principal, now, previous.as_ref());
    if had_failures {
        state
            .store
            .put_throttle(
                vec![(keys[0].clone(), by_account)],
                trail(
                    actor.clone(),
                    "login.reset",
                    StatusCode::OK,
                    "the account's failed logins are forgotten after a success",
                ),
            )
            .await?;
    }
    state
        .store
        .start_session(
            new.stored,
            new.replaces,
            trail(actor, "login", StatusCode::CREATED, "a new session"),
        )
        .await?;
    let account = stored.ok_or_else(|| StoreError::Internal("the account vanished".to_owned()))?;
    let view = SessionView {
        csrf_token: state.csrf.token(&new.id).expose_secret().to_owned(),
        account: account.name,
        role: account.role,
        display_name: account.display_name,
        language: account.language,
    };
    let mut response = (StatusCode::CREATED, Json(view)).into_response();
    let cookie = HeaderValue::from_str(&state.cookie.set(&new.id)).map_err(StoreError::internal)?;
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.extensions_mut().insert(Trailed);
    Ok(response)
}

/// `GET /session`: who the session is, with its CSRF token.
#[utoipa::path(
    operation_id = "session_current",
    get, path = "/api/v1/session", tag = "session", summary = "Who the session is, with its CSRF token",
    responses((status = 200, description = "The session", body = SessionView), crate::openapi::ReadErrors),
    security(("session" = []), ("token" = []))
)]
pub(crate) async fn current<S: Store + Identity>(
    State(state): State<AppState<S>>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let p = caller.principal();
    let account = state
        .store
        .account(p.account())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("account {}", p.account())))?;
    let csrf_token = caller
        .session()
        .map(|s| state.csrf.token(s).expose_secret().to_owned())
        .unwrap_or_default();
    let view = SessionView {
        account: account.name,
        role: p.role().clone(),
        display_name: account.display_name,
        language: account.language,
        csrf_token,
    };
    let mut response = Json(view).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `DELETE /session`: logs out, ending the session and clearing the cookie.
#[utoipa::path(
    operation_id = "session_end",
    delete, path = "/api/v1/session", tag = "session", summary = "Log out",
    responses((status = 204, description = "Logged out; the cookie is cleared"), crate::openapi::ReadErrors),
    security(("session" = []), ("token" = []))
)]
pub(crate) async fn end<S: Store + Identity>(
    State(state): State<AppState<S>>,
    caller: Caller,
) -> Result<Response, ApiError> {
    if let Some(session) = caller.session() {
        let event = TrailEvent {
            actor: caller.actor(),
            action: "logout".to_owned(),
            target: "DELETE /api/v1/session".to_owned(),
            enterprises: Vec::new(),
            region: None,
            status: 204,
            detail: "session ended".to_owned(),
        };
        state
            .store
            .end_session(&session.digest(), Some(event))
            .await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    let cookie = HeaderValue::from_str(&state.cookie.clear()).map_err(StoreError::internal)?;
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    if caller.session().is_some() {
        response.extensions_mut().insert(Trailed);
    }
    Ok(response)
}
