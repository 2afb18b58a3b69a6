//! The caller's own account: who it is, its password (through the API's own
//! password change, with the policy's messages in both languages), and the
//! language every page is written in.

use askama::Template;
use axum::Form;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use retrace_access::Language;
use retrace_store::{AccountChange, Identity, Store, TrailEvent};
use serde::Deserialize;

use super::chrome::{Chrome, LANGUAGE_COOKIE, role_label};
use super::view::{local_path, render};
use super::{PageError, St, redirect, signed_in, signed_in_form};
use crate::auth::{Caller, Trailed};
use crate::problem::ApiError;

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    p: Chrome,
    name: String,
    role: String,
    role_text: String,
    language: &'static str,
    message: Option<String>,
    changed: bool,
}

async fn account_page<S: Store + Identity>(
    state: &crate::AppState<S>,
    caller: &Caller,
    uri: &OriginalUri,
    message: Option<String>,
    changed: bool,
) -> Result<AccountPage, PageError> {
    let p = Chrome::new(state, caller, &uri.0, "title.account").await?;
    let role = caller.principal().role();
    Ok(AccountPage {
        name: caller.principal().account().to_string(),
        role: role_label(p.t, role),
        role_text: role.to_string(),
        language: p.t.s("lang.this"),
        p,
        message,
        changed,
    })
}

/// `GET /account`.
pub(crate) async fn page<S: Store + Identity>(
    State(state): St<S>,
    caller: Result<Caller, ApiError>,
    uri: OriginalUri,
) -> Result<Response, PageError> {
    let caller = signed_in(caller, &uri)?;
    render(&account_page(&state, &caller, &uri, None, false).await?)
}

#[derive(Deserialize)]
pub(crate) struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
}

impl std::fmt::Debug for PasswordForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordForm")
    }
}

/// `POST /account/password`: the API's password change, its refusal shown
/// in the page's language.
pub(crate) async fn password<S: Store + Identity>(
    State(state): St<S>,
    caller: Result<Caller, ApiError>,
    uri: OriginalUri,
    Form(form): Form<PasswordForm>,
) -> Result<Response, PageError> {
    let caller = signed_in_form(caller)?;
    let t = Chrome::new(&state, &caller, &uri.0, "title.account")
        .await?
        .t;
    if form.new != form.confirm {
        let page = account_page(
            &state,
            &caller,
            &uri,
            Some(t.s("account.mismatch").to_owned()),
            false,
        )
        .await?;
        let mut response = render(&page)?;
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(response);
    }
    let body = serde_json::json!({"current": form.current, "new": form.new});
    let answer = crate::accounts::change_password(
        State(state.clone()),
        caller.clone(),
        Bytes::from(body.to_string()),
    )
    .await;
    match answer {
        Ok(_) => {
            let page = account_page(&state, &caller, &uri, None, true).await?;
            let mut response = render(&page)?;
            response.extensions_mut().insert(Trailed);
            Ok(response)
        }
        Err(ApiError::Field {
            message,
            message_zh,
            ..
        }) => {
            let shown = match t.language() {
                Language::Zh => message_zh.unwrap_or(message),
                Language::En => message,
            };
            let page = account_page(&state, &caller, &uri, Some(shown), false).await?;
            let mut response = render(&page)?;
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct LanguageForm {
    #[serde(default)]
    language: String,
    #[serde(default)]
    back: String,
}

/// `POST /language`: the switch on every page. For an account it is stored
/// with the account (as `PATCH /me` stores it), and in a cookie for the
/// pages before the next login.
pub(crate) async fn language<S: Store + Identity>(
    State(state): St<S>,
    caller: Result<Caller, ApiError>,
    Form(form): Form<LanguageForm>,
) -> Result<Response, PageError> {
    let language = Language::parse(&form.language).unwrap_or_default();
    let back = local_path(&form.back).unwrap_or("/");
    let mut response = redirect(back);
    if let Ok(caller) = caller {
        let trail = TrailEvent {
            actor: caller.actor(),
            action: "me.change".to_owned(),
            target: format!("POST /language {}", language.tag()),
            enterprises: Vec::new(),
            region: None,
            status: StatusCode::SEE_OTHER.as_u16(),
            detail: "the language of the pages".to_owned(),
        };
        let change = AccountChange {
            language: Some(language),
            ..AccountChange::default()
        };
        state
            .store
            .change_own_account(caller.principal(), change, None, trail)
            .await?;
        response.extensions_mut().insert(Trailed);
    }
    let secure = if state.cookie.secure { "; Secure" } else { "" };
    let cookie = format!(
        "{LANGUAGE_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax{secure}",
        language.tag()
    );
    response.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(PageError::internal)?,
    );
    Ok(response)
}
