//! Accounts, API tokens and the register (issue 3 §1, §5): the
//! administrator's pages, and an enterprise manager's for its own
//! enterprise. Every change goes through the API's own handler — the same
//! checks of reach, role, password policy and the same trail — called
//! in-process, and its refusal is shown in words.

use askama::Template;
use axum::Form;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use retrace_access::Language;
use retrace_domain::region::Regions;
use retrace_store::{EnterpriseFilter, FacilityFilter, Identity, PageRequest, Store, StoreError};
use serde::Deserialize;
use serde_json::{Value, json};

use super::chrome::Chrome;
use super::i18n::Tr;
use super::lot::token;
use super::region::enterprise_name;
use super::view::{moment_text, render, render_for};
use super::{PageError, St, signed_in, signed_in_form};
use crate::AppState;
use crate::auth::{Caller, Subjects, Trailed};
use crate::problem::ApiError;

/// What an API handler called in-process answered: its JSON, or its
/// refusal in the page's language; and whether it put itself on the trail.
struct Outcome {
    answer: Result<Value, String>,
    trailed: bool,
}

async fn outcome(t: Tr, answer: Result<Response, ApiError>) -> Result<Outcome, PageError> {
    let refused = |message: String| Outcome {
        answer: Err(message),
        trailed: false,
    };
    match answer {
        Ok(response) => {
            let trailed = response.extensions().get::<Trailed>().is_some();
            let ok = response.status().is_success();
            let body = axum::body::to_bytes(response.into_body(), crate::MAX_SMALL_BODY)
                .await
                .map_err(PageError::internal)?;
            let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let answer = if ok {
                Ok(value)
            } else {
                Err(value["detail"].as_str().unwrap_or_default().to_owned())
            };
            Ok(Outcome { answer, trailed })
        }
        Err(ApiError::Field {
            message,
            message_zh,
            ..
        }) => Ok(refused(match t.language() {
            Language::Zh => message_zh.unwrap_or(message),
            Language::En => message,
        })),
        Err(ApiError::Body { message, .. }) => Ok(refused(message)),
        Err(ApiError::Store {
            error:
                e @ (StoreError::Conflict(_)
                | StoreError::Forbidden { .. }
                | StoreError::Refused { .. }
                | StoreError::NotFound(_)),
            ..
        }) => Ok(refused(e.to_string())),
        Err(other) => Err(other.into()),
    }
}

/// A page after a change: the result shown, the trail told who recorded it.
fn after_change(mut response: Response, outcome: &Outcome) -> Response {
    if outcome.answer.is_err() {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    if outcome.trailed {
        response.extensions_mut().insert(Trailed);
    }
    response
}

struct AccountRow {
    name: String,
    display: String,
    role: String,
    disabled: bool,
    updated: String,
}

#[derive(Template)]
#[template(path = "accounts.html")]
struct AccountsPage {
    p: Chrome,
    rows: Vec<AccountRow>,
    message: Option<String>,
    done: Option<String>,
}

async fn accounts_page<S: Store + Identity>(
    state: &AppState<S>,
    caller: &Caller,
    uri: &OriginalUri,
    message: Option<String>,
    done: Option<String>,
) -> Result<Response, PageError> {
    let by = caller.manage_accounts()?;
    let found = state
        .store
        .accounts(&by, &PageRequest::first(retrace_store::MAX_PAGE))
        .await?;
    let p = Chrome::new(state, caller, &uri.0, "title.accounts").await?;
    let page = AccountsPage {
        rows: found
            .items
            .iter()
            .map(|a| AccountRow {
                name: a.name.to_string(),
                display: a.display_name.clone(),
                role: a.role.to_string(),
                disabled: a.disabled,
                updated: moment_text(&a.updated_at),
            })
            .collect(),
        message,
        done,
        p,
    };
    render(&page)
}

/// `GET /accounts`.
pub(crate) async fn accounts<S: Store + Identity>(
    State(state): St<S>,
    caller: Result<Caller, ApiError>,
    uri: OriginalUri,
) -> Result<Response, PageError> {
    let caller = signed_in(caller, &uri)?;
    accounts_page(&state, &caller, &uri, None, None).await
}

#[derive(Deserialize)]
pub(crate) struct NewAccountForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    language: String,
}

impl std::fmt::Debug for NewAccountForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAccountForm")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// `POST /accounts`: creates an account through `POST /api/v1/accounts`.
pub(crate) async fn create_account<S: Store + Identity>(
    State(state): St<S>,
    caller: Result<Caller, ApiError>,
    uri: OriginalUri,
    Form(form): Form<NewAccountForm>,
) -> Result<Response, PageError> {
    let caller = signed_in_form(caller)?;
    let t = Chrome::new(&state, &caller, &uri.0, "title.accounts")
        .await?
        .t;
    let body = json!({
        "name": form.name.trim(),
        "role": form.role.trim(),
        "password": form.password,
        "display_name": form.display_name.trim(),
        "language": if form.language == "en" { "en" } else { "zh" },
    });
    let answer = crate::accounts::create(
        State(state.clone()),
        caller.clone(),
        Bytes::from(body.to_string()),
    )
    .await;
    let outcome = outcome(t, answer).await?;
    let (message, done) = match &outcome.answer {
        Ok(_) => (None, Some(t.f("accounts.created", form.name.trim()))),
        Err(m) => (Some(m.clone()), None),
    };
    let response = accounts_page(&state, &caller, &uri, message, done).await?;
    Ok(after_change(response, &outcome))
}

#[derive(Debug, Deserialize)]
pub(crate) struct ChangeForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    disabled: String,
}

/// `POST /accounts/{name}`: a new role, or disabled or enabled, through
/// `PATCH /api/v1/accounts/{name}`.
pub(crate) async fn change_account<S: Store + Identity>(
    State(state): St<S>,
    caller: Result<Caller, ApiError>,
    uri: OriginalUri,
    Path(name): Path<String>,
    Form(form): Form<ChangeForm>,
) -> Result<Response, PageError> {
    let caller = signed_in_form(caller)?;
    let t = Chrome::new(&state, &caller, &uri.0, "title.accounts")
        .await?
        .t;
    let mut patch = serde_json::Map::new();
    if !form.role.trim().is_empty() {
        patch.insert("role".into(), Value::String(form.role.trim().to_owned()));
    }
    match form.disabled.as_str() {
        "true" => {
            patch.insert("disabled".into(), Value::Bool(true));
        }
        "false" => {
            patch.insert("disabled".into(), Value::Bool(false));
        }
        _ => {}
    }
    let answer = crate::accounts::change(
        State(state.clone()),
        caller.clone(),
        Path(name.clone()),
        Bytes::from(Value::Object(patch).to_string()),
    )
    .await;
    let outcome = outcome(t, answer).await?;
    let (message, done) = match &outcome.answer {
        Ok(_) => (None, Some(t.f("accounts.changed", &name))),
        Err(m) => (Some(m.clone()), None),
    };
    let response = accounts_page(&state, &caller, &uri, message, done).await?;
    Ok(after_change(response, &outcome))
}

struct TokenRow {
    id: String,
    account: String,
    role: String,
    label: String,
    expires: String,
    revoked: Option<String>,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    p: Chrome,
    rows: Vec<TokenRow>,
    message: Option<String>,
    issued: Option<String>,
}

async fn tokens_page<S: Store + Identity>(
    state: &AppState<S>,
    caller: &Caller,
    uri: &OriginalUri,
    message: Option<String>,
    issued: Option<String>,
) -> Result<Response, PageError> {
    let by = caller.manage_accounts()?;
    let found = state
        .store
        .tokens(&by, &PageRequest::first(retrace_store::MAX_PAGE))
        .await?;
    let p = Chrome::new(state, caller, &uri.0, "title.tokens").await?;
    let page = TokensPage {
        rows: found
            .items
            .iter()
            .map(|t| TokenRow {
                id: t.id.to_string(),
                account: t.account.to_string(),
                role: t.role.to_string(),
                label: t.label.clone(),
                expires: moment_text(&t.expires_at),
                revoked: t.revoked_at.as_deref().map(moment_text),
            })
            .collect(),
        message,
        issued,
        p,
    };
    render(&page)
}

/// `GET /tokens`.
pub(crate) async fn tokens<S: Store + Identity>(
    State(state): St<S>,
    caller: Result<Caller, ApiError>,
    uri: OriginalUri,
) -> Result<Response, PageError> {
    let caller = signed_in(caller, &uri)?;
    tokens_page(&state, &caller, &uri, None, None).await
}

#[derive(Debug, Deserialize)]
pub(crate) struct TokenForm {
    #[serde(default)]
    account: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    days: String,
}

/// `POST /tokens`: issues a token through `POST /api/v1/tokens` and shows
/// it this once.
pub(crate) async fn issue_token<S: Store + Identity>(
    State(state): St<S>,
    caller: Result<Caller, ApiError>,
    uri: OriginalUri,
    Form(form): Form<TokenForm>,
) -> Result<Response, PageError> {
    let caller = signed_in_form(caller)?;
    let t = Chrome::new(&state, &caller, &uri.0, "title.tokens")
        .await?
        .t;
    let mut body = json!({"label": form.label.trim()});
    if !form.account.trim().is_empty() {
        body["account"] = Value::String(form.account.trim().to_owned());
    }
    if let Ok(days) = form.days.trim().parse::<i64>() {
        body["expires_in_days"] = Value::from(days);
    }
    let answer = crate::accounts::issue(
        State(state.clone()),
        caller.clone(),
        Bytes::from(body.to_string()),
    )
    .await;
    let outcome = outcome(t, answer).await?;
    let (message, issued) = match &outcome.answer {
        Ok(v) => (None, v["token"].as_str().map(str::to_owned)),
        Err(m) => (Some(m.clone()), None),
    };
    let response = tokens_page(&state, &caller, &uri, message, issued).await?;
    Ok(after_change(response, &outcome))
}

/// `POST /tokens/{id}/revoke`, through `DELETE /api/v1/tokens/{id}`.
pub(crate) async fn revoke_token<S: Store + Identity>(
    State(state): St<S>,
    caller: Result<Caller, ApiError>,
    uri: OriginalUri,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let caller = signed_in_form(caller)?;
    let t = Chrome::new(&state, &caller, &uri.0, "title.tokens")
        .await?
        .t;
    let answer = crate::accounts::revoke(State(state.clone()), caller.clone(), Path(id)).await;
    let outcome = outcome(t, answer).await?;
    let message = outcome.answer.as_ref().err().cloned();
    let response = tokens_page(&state, &caller, &uri, message, None).await?;
    Ok(after_change(response, &outcome))
}

struct RegisterRow {
    uscc: String,
    name: String,
    kinds: String,
    seat: String,
    facilities: Vec<String>,
}

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage {
    p: Chrome,
    rows: Vec<RegisterRow>,
    facilities: usize,
    kinds: Vec<(String, &'static str)>,
    groups: Vec<(String, &'static str)>,
    message: Option<String>,
    done: Option<u64>,
}

async fn register_page<S: Store + Identity>(
    state: &AppState<S>,
    caller: &Caller,
    uri: &OriginalUri,
    message: Option<String>,
    done: Option<u64>,
) -> Result<Response, PageError> {
    caller
        .principal()
        .administer_register()
        .map_err(|_| PageError::Denied)?;
    let scope = caller.register_scope()?;
    let found = state
        .store
        .enterprises(
            &scope,
            &EnterpriseFilter::default(),
            &PageRequest::first(retrace_store::MAX_PAGE),
        )
        .await?;
    let facilities = state
        .store
        .facilities(
            &scope,
            &FacilityFilter::default(),
            &PageRequest::first(retrace_store::MAX_PAGE),
        )
        .await?;
    let p = Chrome::new(state, caller, &uri.0, "title.register").await?;
    let t = p.t;
    use retrace_domain::enterprise::{EnterpriseKind as K, Group};
    let page = RegisterPage {
        rows: found
            .items
            .iter()
            .map(|e| RegisterRow {
                uscc: e.enterprise.uscc.to_string(),
                name: enterprise_name(t, &e.enterprise),
                kinds: e
                    .enterprise
                    .kinds
                    .iter()
                    .map(|k| t.of("ekind", &token(*k)))
                    .collect::<Vec<_>>()
                    .join("、"),
                seat: Regions::embedded().full_name(&e.enterprise.seat),
                facilities: e.facilities.iter().map(|f| f.id.to_string()).collect(),
            })
            .collect(),
        facilities: facilities.items.len(),
        kinds: [
            K::Mining,
            K::Separation,
            K::MetalSmelting,
            K::Recycling,
            K::Importer,
            K::MagnetMaker,
            K::Trader,
            K::Exporter,
        ]
        .iter()
        .map(|k| (token(*k), t.of("ekind", &token(*k))))
        .collect(),
        groups: [Group::NorthernRareEarth, Group::ChinaRareEarth]
            .iter()
            .map(|g| (token(*g), t.of("group", &token(*g))))
            .collect(),
        message,
        done,
        p,
    };
    render_for(
        &page,
        Subjects::of(found.items.iter().map(|e| &e.enterprise.uscc)),
    )
}

/// `GET /register`: the enterprises and facilities on the register.
pub(crate) async fn register<S: Store + Identity>(
    State(state): St<S>,
    caller: Result<Caller, ApiError>,
    uri: OriginalUri,
) -> Result<Response, PageError> {
    let caller = signed_in(caller, &uri)?;
    register_page(&state, &caller, &uri, None, None).await
}

/// Records a register act through the API's handler and shows the register.
async fn register_act<S: Store + Identity>(
    state: &AppState<S>,
    caller: &Caller,
    uri: &OriginalUri,
    answer: Result<Response, ApiError>,
) -> Result<Response, PageError> {
    let t = Chrome::new(state, caller, &uri.0, "title.register")
        .await?
        .t;
    let outcome = outcome(t, answer).await?;
    let (message, done) = match &outcome.answer {
        Ok(v) => (None, v["index"].as_u64()),
        Err(m) => (Some(m.clone()), None),
    };
    let response = register_page(state, caller, uri, message, done).await?;
    Ok(after_change(response, &outcome))
}

/// `POST /register/enterprise`: a form of `application/x-www-form-urlencoded`
/// pairs, `kinds` repeated.
pub(crate) async fn register_enterprise<S: Store + Identity>(
    State(state): St<S>,
    caller: Result<Caller, ApiError>,
    uri: OriginalUri,
    Form(values): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let caller = signed_in_form(caller)?;
    let get = |name: &str| {
        values
            .iter()
            .find(|(k, _)| k == name)
            .map_or(String::new(), |(_, v)| v.trim().to_owned())
    };
    let kinds: Vec<&str> = values
        .iter()
        .filter(|(k, _)| k == "kinds")
        .map(|(_, v)| v.as_str())
        .collect();
    let mut body = json!({
        "uscc": get("uscc"),
        "name_zh": get("name_zh"),
        "kinds": kinds,
        "seat": get("seat"),
    });
    if !get("name_en").is_empty() {
        body["name_en"] = Value::String(get("name_en"));
    }
    if !get("group").is_empty() {
        body["group"] = Value::String(get("group"));
    }
    let answer = crate::register::register_enterprise(
        State(state.clone()),
        caller.clone(),
        Bytes::from(body.to_string()),
    )
    .await;
    register_act(&state, &caller, &uri, answer).await
}

/// `POST /register/facility`: a mine, plant or warehouse with its licence.
pub(crate) async fn register_facility<S: Store + Identity>(
    State(state): St<S>,
    caller: Result<Caller, ApiError>,
    uri: OriginalUri,
    Form(values): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let caller = signed_in_form(caller)?;
    let get = |name: &str| {
        values
            .iter()
            .find(|(k, _)| k == name)
            .map_or(String::new(), |(_, v)| v.trim().to_owned())
    };
    let mut body = json!({
        "id": get("id"),
        "operator": get("operator"),
        "name_zh": get("name_zh"),
        "region": get("region"),
        "type": get("type"),
    });
    match get("type").as_str() {
        "mine" => {
            body["licence"] = Value::String(get("licence"));
            body["licence_valid_to"] = Value::String(get("licence_valid_to"));
            body["ore_type"] = Value::String(get("ore_type"));
            body["area_ha"] = Value::from(get("area_ha").parse::<u32>().unwrap_or(0));
            body["capacity_per_year"] = Value::String(get("capacity"));
        }
        "plant" => {
            let processes: Vec<&str> = values
                .iter()
                .filter(|(k, _)| k == "processes")
                .map(|(_, v)| v.as_str())
                .collect();
            body["processes"] = json!(processes);
            body["capacity_per_year"] = Value::String(get("capacity"));
        }
        _ => {}
    }
    let answer = crate::register::register_facility(
        State(state.clone()),
        caller.clone(),
        Bytes::from(body.to_string()),
    )
    .await;
    register_act(&state, &caller, &uri, answer).await
}
