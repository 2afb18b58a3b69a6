//! Accounts and API tokens (issue 3 §1, §3, §5): the administrator manages
//! every account, an enterprise manager its own enterprise's; anyone changes
//! their own password, display name and language. Tokens are shown once, at
//! issue, and stored only as a digest.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rand_core::OsRng;
use retrace_access::{
    Account, AccountName, ApiToken, GrantError, Language, PasswordPolicy, Role, TokenGrant,
    TokenId, account::display_name, hash_password, verify_password,
};
use retrace_store::{
    AccountChange, AccountView, Identity, Page, Store, StoreError, TokenView, TrailEvent,
};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::auth::{Caller, Trailed};
use crate::body::json;
use crate::problem::ApiError;
use crate::{AppState, params};

fn event(caller: &Caller, action: &str, target: String, status: StatusCode) -> TrailEvent {
    TrailEvent {
        actor: caller.actor(),
        action: action.to_owned(),
        target,
        enterprises: caller
            .principal()
            .role()
            .enterprise()
            .into_iter()
            .cloned()
            .collect(),
        region: None,
        status: status.as_u16(),
        detail: String::new(),
    }
}

fn trailed(status: StatusCode, body: impl Serialize) -> Response {
    let mut response = (status, Json(body)).into_response();
    response.extensions_mut().insert(Trailed);
    response
}

fn account_name(text: &str) -> Result<AccountName, ApiError> {
    AccountName::parse(text).map_err(|e| ApiError::Field {
        field: "name",
        message: e.to_string(),
        message_zh: None,
    })
}

/// Checks a new password, given in the body's `field`, against the policy
/// and hashes it on a blocking thread.
async fn new_password(
    policy: PasswordPolicy,
    password: String,
    account: &AccountName,
    field: &'static str,
) -> Result<retrace_access::PasswordHash, ApiError> {
    policy
        .check(&password, account)
        .map_err(|e| ApiError::Field {
            field,
            message: e.message_en(),
            message_zh: Some(e.message_zh()),
        })?;
    tokio::task::spawn_blocking(move || hash_password(&password, &mut OsRng))
        .await
        .map_err(StoreError::internal)?
        .map_err(|e| ApiError::from(StoreError::internal(e)))
}

fn checked_display_name(text: Option<String>) -> Result<Option<String>, ApiError> {
    text.map(|t| {
        display_name(&t).map_err(|message| ApiError::Field {
            field: "display_name",
            message,
            message_zh: Some("显示名最多100个字符，且不能包含控制字符".to_owned()),
        })
    })
    .transpose()
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewAccount {
    name: String,
    role: Role,
    password: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    language: Option<Language>,
}

/// `POST /accounts`: creates an account in the caller's reach.
#[utoipa::path(
    operation_id = "accounts_create",
    post, path = "/api/v1/accounts", tag = "accounts", summary = "Create an account (administrator; enterprise manager for its own enterprise)",
    request_body = NewAccount,
    responses((status = 201, description = "Created", body = retrace_store::AccountView), crate::openapi::WriteErrors),
    security(("token" = []), ("session" = []))
)]
pub(crate) async fn create<S: Store + Identity>(
    State(state): State<AppState<S>>,
    caller: Caller,
    body: Bytes,
) -> Result<Response, ApiError> {
    let by = caller.manage_accounts()?;
    let new: NewAccount = json(&body)?;
    let name = account_name(&new.name)?;
    let password = new_password(state.password_policy, new.password, &name, "password").await?;
    let account = Account {
        name: name.clone(),
        role: new.role,
        password,
        disabled: false,
        display_name: checked_display_name(new.display_name)?.unwrap_or_default(),
        language: new.language.unwrap_or_default(),
    };
    let trail = event(
        &caller,
        "account.create",
        format!("POST /api/v1/accounts {name} as {}", account.role),
        StatusCode::CREATED,
    );
    let view = state.store.create_account(&by, account, trail).await?;
    Ok(trailed(StatusCode::CREATED, view))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct PageQuery {
    after: Option<String>,
    limit: Option<String>,
}

/// `GET /accounts`: the accounts in the caller's reach.
#[utoipa::path(
    operation_id = "accounts_list",
    get, path = "/api/v1/accounts", tag = "accounts", summary = "The accounts in reach",
    params(PageQuery),
    responses((status = 200, description = "A page of accounts", body = retrace_store::Page<retrace_store::AccountView>), crate::openapi::ReadErrors),
    security(("token" = []), ("session" = []))
)]
pub(crate) async fn list<S: Store + Identity>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<AccountView>>, ApiError> {
    let by = caller.manage_accounts()?;
    let page = params::page(q.after, q.limit.as_deref())?;
    Ok(Json(state.store.accounts(&by, &page).await?))
}

/// `GET /accounts/{name}`.
#[utoipa::path(
    operation_id = "accounts_one",
    get, path = "/api/v1/accounts/{name}", tag = "accounts", summary = "One account in reach",
    params(("name" = String, Path, description = "The account name")),
    responses((status = 200, description = "The account", body = retrace_store::AccountView), crate::openapi::ReadErrors),
    security(("token" = []), ("session" = []))
)]
pub(crate) async fn one<S: Store + Identity>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<AccountView>, ApiError> {
    let by = caller.manage_accounts()?;
    let name =
        AccountName::parse(&name).map_err(|_| StoreError::NotFound(format!("account {name}")))?;
    Ok(Json(state.store.account_view(&by, &name).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AccountPatch {
    #[serde(default)]
    role: Option<Role>,
    #[serde(default)]
    disabled: Option<bool>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    language: Option<Language>,
}

/// `PATCH /accounts/{name}`: changes the role, state, password, display name
/// or language of an account in reach. A change of role, a disabling or a
/// new password ends its sessions; a change of role or a disabling revokes
/// its tokens.
#[utoipa::path(
    operation_id = "accounts_change",
    patch, path = "/api/v1/accounts/{name}", tag = "accounts", summary = "Change an account's role, state, password, display name or language",
    description = "A change of role, a disabling or a new password ends the account's sessions; a change of role or a disabling revokes its tokens.",
    params(("name" = String, Path, description = "The account name")),
    request_body = AccountPatch,
    responses((status = 200, description = "Changed", body = retrace_store::AccountView), crate::openapi::WriteErrors),
    security(("token" = []), ("session" = []))
)]
pub(crate) async fn change<S: Store + Identity>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let by = caller.manage_accounts()?;
    let name =
        AccountName::parse(&name).map_err(|_| StoreError::NotFound(format!("account {name}")))?;
    let patch: AccountPatch = json(&body)?;
    let password = match patch.password {
        Some(p) => Some(new_password(state.password_policy, p, &name, "password").await?),
        None => None,
    };
    let change = AccountChange {
        role: patch.role,
        disabled: patch.disabled,
        password,
        display_name: checked_display_name(patch.display_name)?,
        language: patch.language,
    };
    let mut what = Vec::new();
    if let Some(r) = &change.role {
        what.push(format!("role {r}"));
    }
    if let Some(d) = change.disabled {
        what.push(if d { "disabled" } else { "enabled" }.to_owned());
    }
    if change.password.is_some() {
        what.push("new password".to_owned());
    }
    let trail = event(
        &caller,
        "account.change",
        format!("PATCH /api/v1/accounts/{name} {}", what.join(", ")),
        StatusCode::OK,
    );
    let view = state
        .store
        .change_account(&by, &name, change, trail)
        .await?;
    Ok(trailed(StatusCode::OK, view))
}

/// The caller as it is: its account and the role it acts in now (a token may
/// act in a narrower role than its account's).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Me {
    name: AccountName,
    /// The role of this request's credentials.
    role: Role,
    display_name: String,
    language: Language,
}

/// `GET /me`: the caller's own account.
#[utoipa::path(
    operation_id = "accounts_me",
    get, path = "/api/v1/me", tag = "accounts", summary = "The caller's own account, in the role it acts in",
    responses((status = 200, description = "The account", body = Me), crate::openapi::ReadErrors),
    security(("token" = []), ("session" = []))
)]
pub(crate) async fn me<S: Store + Identity>(
    State(state): State<AppState<S>>,
    caller: Caller,
) -> Result<Json<Me>, ApiError> {
    let p = caller.principal();
    let a = state
        .store
        .account(p.account())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("account {}", p.account())))?;
    Ok(Json(Me {
        name: a.name,
        role: p.role().clone(),
        display_name: a.display_name,
        language: a.language,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MePatch {
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    language: Option<Language>,
}

/// `PATCH /me`: the caller's display name and language.
#[utoipa::path(
    operation_id = "accounts_change_me",
    patch, path = "/api/v1/me", tag = "accounts", summary = "The caller's display name and language",
    request_body = MePatch,
    responses((status = 200, description = "Changed", body = retrace_store::AccountView), crate::openapi::WriteErrors),
    security(("token" = []), ("session" = []))
)]
pub(crate) async fn change_me<S: Store + Identity>(
    State(state): State<AppState<S>>,
    caller: Caller,
    body: Bytes,
) -> Result<Response, ApiError> {
    let patch: MePatch = json(&body)?;
    let change = AccountChange {
        display_name: checked_display_name(patch.display_name)?,
        language: patch.language,
        ..AccountChange::default()
    };
    let trail = event(
        &caller,
        "me.change",
        "PATCH /api/v1/me".to_owned(),
        StatusCode::OK,
    );
    let view = state
        .store
        .change_own_account(caller.principal(), change, None, trail)
        .await?;
    Ok(trailed(StatusCode::OK, view))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordChange {
    current: String,
    new: String,
}

/// `POST /me/password`: the caller's own password, given the current one.
/// Ends the caller's other sessions.
#[utoipa::path(
    operation_id = "accounts_change_password",
    post, path = "/api/v1/me/password", tag = "accounts", summary = "The caller's own password; ends its other sessions",
    request_body = PasswordChange,
    responses((status = 200, description = "Changed", body = retrace_store::AccountView), crate::openapi::WriteErrors),
    security(("token" = []), ("session" = []))
)]
pub(crate) async fn change_password<S: Store + Identity>(
    State(state): State<AppState<S>>,
    caller: Caller,
    body: Bytes,
) -> Result<Response, ApiError> {
    let PasswordChange { current, new } = json(&body)?;
    let p = caller.principal().clone();
    let stored = state
        .store
        .account(p.account())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("account {}", p.account())))?;
    let matches = tokio::task::spawn_blocking(move || verify_password(&current, &stored.password))
        .await
        .map_err(StoreError::internal)?;
    if matches.is_err() {
        return Err(ApiError::Field {
            field: "current",
            message: "the current password is wrong".to_owned(),
            message_zh: Some("当前密码不正确".to_owned()),
        });
    }
    let hash = new_password(state.password_policy, new, p.account(), "new").await?;
    let change = AccountChange {
        password: Some(hash),
        ..AccountChange::default()
    };
    let trail = event(
        &caller,
        "password.change",
        "POST /api/v1/me/password".to_owned(),
        StatusCode::OK,
    );
    let keep = caller.session().map(|s| s.digest());
    let view = state
        .store
        .change_own_account(&p, change, keep, trail)
        .await?;
    Ok(trailed(StatusCode::OK, view))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewToken {
    /// The account the token acts as; the caller's own by default.
    #[serde(default)]
    account: Option<String>,
    /// The role it acts in; the account's own by default.
    #[serde(default)]
    role: Option<Role>,
    label: String,
    /// Days until it expires: 1 to 366, 90 by default.
    #[serde(default)]
    expires_in_days: Option<i64>,
}

/// A token just issued: the only time its secret is shown.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct IssuedToken {
    /// The token: `Authorization: Bearer <token>`. Shown once; retrace keeps
    /// only its digest.
    token: String,
    #[serde(flatten)]
    view: TokenView,
}

/// `POST /tokens`: issues an API token for an account in reach.
#[utoipa::path(
    operation_id = "accounts_issue",
    post, path = "/api/v1/tokens", tag = "accounts", summary = "Issue an API token for an account in reach; the token is shown once",
    request_body = NewToken,
    responses((status = 201, description = "Issued", body = IssuedToken), crate::openapi::WriteErrors),
    security(("token" = []), ("session" = []))
)]
pub(crate) async fn issue<S: Store + Identity>(
    State(state): State<AppState<S>>,
    caller: Caller,
    body: Bytes,
) -> Result<Response, ApiError> {
    let by = caller.manage_accounts()?;
    let new: NewToken = json(&body)?;
    let account = match &new.account {
        Some(a) => AccountName::parse(a).map_err(|e| ApiError::Field {
            field: "account",
            message: e.to_string(),
            message_zh: None,
        })?,
        None => caller.principal().account().clone(),
    };
    let role = match new.role {
        Some(r) => r,
        None => state.store.account_view(&by, &account).await?.role,
    };
    let days = new.expires_in_days.unwrap_or(90);
    if !(1..=366).contains(&days) {
        return Err(ApiError::Field {
            field: "expires_in_days",
            message: "a token lives 1 to 366 days".to_owned(),
            message_zh: Some("令牌有效期为1至366天".to_owned()),
        });
    }
    let now = state.clock.now();
    let grant = TokenGrant {
        account,
        role,
        label: new.label,
        expires_at: now + Duration::days(days),
    };
    let (token, stored) = ApiToken::generate(&mut OsRng, &by, grant, now).map_err(|e| match e {
        GrantError::Denied(d) => ApiError::Denied(d),
        // The grant's own messages name its fields; the problem names the body's.
        GrantError::Expiry => ApiError::Field {
            field: "expires_in_days",
            message: "a token lives 1 to 366 days".to_owned(),
            message_zh: Some("令牌有效期为1至366天".to_owned()),
        },
        GrantError::Label => ApiError::Field {
            field: "label",
            message: "give the token a label of 1 to 100 characters, without control characters"
                .to_owned(),
            message_zh: Some("请为令牌写一个1至100个字符的标签".to_owned()),
        },
    })?;
    let trail = event(
        &caller,
        "token.issue",
        format!(
            "POST /api/v1/tokens {} for {} as {}",
            stored.id, stored.account, stored.role
        ),
        StatusCode::CREATED,
    );
    let view = state.store.issue_token(&by, stored, trail).await?;
    Ok(trailed(
        StatusCode::CREATED,
        IssuedToken {
            token: token.expose_secret().to_owned(),
            view,
        },
    ))
}

/// `GET /tokens`: the tokens in reach, without their secrets.
#[utoipa::path(
    operation_id = "accounts_tokens",
    get, path = "/api/v1/tokens", tag = "accounts", summary = "The tokens in reach, without their secrets",
    params(PageQuery),
    responses((status = 200, description = "A page of tokens", body = retrace_store::Page<retrace_store::TokenView>), crate::openapi::ReadErrors),
    security(("token" = []), ("session" = []))
)]
pub(crate) async fn tokens<S: Store + Identity>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<TokenView>>, ApiError> {
    let by = caller.manage_accounts()?;
    let page = params::page(q.after, q.limit.as_deref())?;
    Ok(Json(state.store.tokens(&by, &page).await?))
}

/// `DELETE /tokens/{id}`: revokes a token; it stops working with the next
/// request that presents it.
#[utoipa::path(
    operation_id = "accounts_revoke",
    delete, path = "/api/v1/tokens/{id}", tag = "accounts", summary = "Revoke a token; it stops working with the next request",
    params(("id" = String, Path, description = "The token's public id")),
    responses((status = 200, description = "Revoked", body = retrace_store::TokenView), crate::openapi::ReadErrors),
    security(("token" = []), ("session" = []))
)]
pub(crate) async fn revoke<S: Store + Identity>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let by = caller.manage_accounts()?;
    let id = TokenId::parse(&id).map_err(|_| StoreError::NotFound(format!("token {id}")))?;
    let trail = event(
        &caller,
        "token.revoke",
        format!("DELETE /api/v1/tokens/{id}"),
        StatusCode::OK,
    );
    let now: OffsetDateTime = state.clock.now();
    let view = state.store.revoke_token(&by, &id, now, trail).await?;
    Ok(trailed(StatusCode::OK, view))
}
