//! The register (issue 3 §5): enterprises, groups, facilities with their
//! permits, designations. Everyone reads what its scope reaches; the
//! administrator enters enterprises and facilities, the ministry designates
//! and revokes (Art. 6, 7). Every change is an act in the ledger naming the
//! official who did it (Art. 15).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use retrace_domain::act::{Act, ActRecord, Revocation};
use retrace_domain::enterprise::{Designation, Enterprise, EnterpriseKind, Group, QuotaCategory};
use retrace_domain::facility::{Facility, FacilityId};
use retrace_domain::record::Record;
use retrace_domain::region::RegionCode;
use retrace_domain::uscc::Uscc;
use retrace_ledger::hash::leaf_hash;
use retrace_store::{
    Authority, DesignationFilter, EnterpriseFilter, FacilityFilter, Identity, Store, StoreError,
    WriteContext,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::Date;

use crate::auth::{Caller, Subjects, Trailed};
use crate::body::json;
use crate::problem::ApiError;
use crate::{AppState, params, with_subjects};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct EnterpriseQuery {
    group: Option<String>,
    kind: Option<String>,
    region: Option<String>,
    after: Option<String>,
    limit: Option<String>,
}

fn token<T: DeserializeOwned>(
    name: &'static str,
    value: Option<&str>,
    expected: &str,
) -> Result<Option<T>, ApiError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(text) => serde_json::from_value(serde_json::Value::String(text.to_owned()))
            .map(Some)
            .map_err(|_| ApiError::parameter(name, format!("`{text}` is not one of {expected}"))),
    }
}

/// `GET /enterprises`: the enterprises in scope, with facilities and designations.
#[utoipa::path(
    operation_id = "register_enterprises",
    get, path = "/api/v1/enterprises", tag = "register", summary = "Enterprises in scope, with facilities and designations",
    params(EnterpriseQuery),
    responses((status = 200, description = "A page of enterprises", body = retrace_store::Page<retrace_store::EnterpriseView>), crate::openapi::ReadErrors),
    security(("token" = []), ("session" = []))
)]
pub(crate) async fn enterprises<S: Store>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Query(q): Query<EnterpriseQuery>,
) -> Result<Response, ApiError> {
    let scope = caller.register_scope()?;
    let filter = EnterpriseFilter {
        group: token::<Group>(
            "group",
            q.group.as_deref(),
            "northern_rare_earth, china_rare_earth",
        )?,
        kind: token::<EnterpriseKind>(
            "kind",
            q.kind.as_deref(),
            "mining, separation, metal_smelting, recycling, importer, magnet_maker, trader, exporter",
        )?,
        region: params::optional::<RegionCode>("region", q.region.as_deref())?,
    };
    let page = params::page(q.after, q.limit.as_deref())?;
    let found = state.store.enterprises(&scope, &filter, &page).await?;
    let subjects = Subjects::of(found.items.iter().map(|e| &e.enterprise.uscc));
    Ok(with_subjects(Json(found), subjects))
}

/// `GET /enterprises/{uscc}`.
#[utoipa::path(
    operation_id = "register_enterprise",
    get, path = "/api/v1/enterprises/{uscc}", tag = "register", summary = "One enterprise in scope",
    params(("uscc" = String, Path, description = "The enterprise's USCC")),
    responses((status = 200, description = "The enterprise", body = retrace_store::EnterpriseView), crate::openapi::ReadErrors),
    security(("token" = []), ("session" = []))
)]
pub(crate) async fn enterprise<S: Store>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(uscc): Path<String>,
) -> Result<Response, ApiError> {
    let scope = caller.register_scope()?;
    let uscc: Uscc = params::required("uscc", Some(&uscc))?;
    let view = state.store.enterprise(&scope, &uscc).await?;
    Ok(with_subjects(Json(view), Subjects::of([&uscc])))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct GroupView {
    group: Group,
    name_zh: &'static str,
    name_en: &'static str,
}

/// `GET /groups`: the two groups all quota goes to since 2024 (Art. 6).
/// Their members are `GET /enterprises?group=…`.
#[utoipa::path(
    operation_id = "register_groups",
    get, path = "/api/v1/groups", tag = "register", summary = "The two groups all quota goes to (Art. 6)",
    responses((status = 200, description = "The groups", body = Vec<GroupView>), crate::openapi::ReadErrors),
    security(("token" = []), ("session" = []))
)]
pub(crate) async fn groups(_caller: Caller) -> Json<Vec<GroupView>> {
    Json(
        [Group::NorthernRareEarth, Group::ChinaRareEarth]
            .into_iter()
            .map(|group| GroupView {
                group,
                name_zh: group.name_zh(),
                name_en: group.name_en(),
            })
            .collect(),
    )
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct FacilityQuery {
    operator: Option<String>,
    region: Option<String>,
    after: Option<String>,
    limit: Option<String>,
}

/// `GET /facilities`: mines, plants and warehouses of enterprises in scope,
/// with their licences and permits.
#[utoipa::path(
    operation_id = "register_facilities",
    get, path = "/api/v1/facilities", tag = "register", summary = "Facilities of enterprises in scope, with licences and permits",
    params(FacilityQuery),
    responses((status = 200, description = "A page of facilities", body = retrace_store::Page<retrace_domain::facility::Facility>), crate::openapi::ReadErrors),
    security(("token" = []), ("session" = []))
)]
pub(crate) async fn facilities<S: Store>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Query(q): Query<FacilityQuery>,
) -> Result<Response, ApiError> {
    let scope = caller.register_scope()?;
    let filter = FacilityFilter {
        operator: params::optional::<Uscc>("operator", q.operator.as_deref())?,
        region: params::optional::<RegionCode>("region", q.region.as_deref())?,
    };
    let page = params::page(q.after, q.limit.as_deref())?;
    let found = state.store.facilities(&scope, &filter, &page).await?;
    let subjects = Subjects::of(found.items.iter().map(|f| &f.operator));
    Ok(with_subjects(Json(found), subjects))
}

/// `GET /facilities/{id}`.
#[utoipa::path(
    operation_id = "register_facility",
    get, path = "/api/v1/facilities/{id}", tag = "register", summary = "One facility of an enterprise in scope",
    params(("id" = String, Path, description = "The facility id")),
    responses((status = 200, description = "The facility", body = retrace_domain::facility::Facility), crate::openapi::ReadErrors),
    security(("token" = []), ("session" = []))
)]
pub(crate) async fn facility<S: Store>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let scope = caller.register_scope()?;
    let id: FacilityId = params::required("id", Some(&id))?;
    let found = state.store.facility(&scope, &id).await?;
    let subjects = Subjects::of([&found.operator]);
    Ok(with_subjects(Json(found), subjects))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct DesignationQuery {
    enterprise: Option<String>,
    category: Option<String>,
    valid_on: Option<String>,
    after: Option<String>,
    limit: Option<String>,
}

/// `GET /designations`: designations of enterprises in scope (Art. 6, 7).
#[utoipa::path(
    operation_id = "register_designations",
    get, path = "/api/v1/designations", tag = "register", summary = "Designations of enterprises in scope (Art. 6, 7)",
    params(DesignationQuery),
    responses((status = 200, description = "A page of designations", body = retrace_store::Page<retrace_domain::enterprise::Designation>), crate::openapi::ReadErrors),
    security(("token" = []), ("session" = []))
)]
pub(crate) async fn designations<S: Store>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Query(q): Query<DesignationQuery>,
) -> Result<Response, ApiError> {
    let scope = caller.register_scope()?;
    let valid_on = match q
        .valid_on
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        None => None,
        Some(text) => Some(
            Date::parse(
                text,
                time::macros::format_description!("[year]-[month]-[day]"),
            )
            .map_err(|_| {
                ApiError::parameter(
                    "valid_on",
                    format!("`{text}` is not a date: write YYYY-MM-DD"),
                )
            })?,
        ),
    };
    let filter = DesignationFilter {
        enterprise: params::optional::<Uscc>("enterprise", q.enterprise.as_deref())?,
        category: token::<QuotaCategory>(
            "category",
            q.category.as_deref(),
            "mining_rock, mining_ionic, separation",
        )?,
        valid_on,
    };
    let page = params::page(q.after, q.limit.as_deref())?;
    let found = state.store.designations(&scope, &filter, &page).await?;
    let subjects = Subjects::of(found.items.iter().map(|d| &d.enterprise));
    Ok(with_subjects(Json(found), subjects))
}

/// The answer to a register act: the ledger entry it became.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ActRecorded {
    index: u64,
    leaf: String,
    /// The receipt (C2SP tlog-proof).
    receipt: String,
}

/// The authority to keep the register (the administrator).
fn register_authority(caller: &Caller) -> Result<Authority, ApiError> {
    caller
        .principal()
        .administer_register()
        .map(|h| h.authority())
        .map_err(ApiError::Denied)
}

/// The authority to designate and revoke (the ministry, Art. 6, 7).
fn designation_authority(caller: &Caller) -> Result<Authority, ApiError> {
    caller
        .principal()
        .designate()
        .map(|h| h.authority())
        .map_err(ApiError::Denied)
}

/// Records one act of the caller, effective now, under `authority`: the
/// capability of the endpoint, checked before the body is read, so that a
/// role without it is answered 403 `not-in-role` whatever it sends.
async fn act<S: Store + Identity>(
    state: &AppState<S>,
    caller: &Caller,
    authority: Authority,
    what: &str,
    act: Act,
) -> Result<Response, ApiError> {
    let record = Record::Act(ActRecord {
        effective: state.clock.now(),
        official: caller.principal().account().to_string(),
        act,
    });
    let context = WriteContext {
        actor: caller.actor(),
        request: what.to_owned(),
        idempotency: None,
    };
    let appended = match state.store.append(&authority, vec![record], &context).await {
        Ok(a) => a,
        Err(e) => {
            let mut response = ApiError::from(e).into_response();
            response.extensions_mut().insert(Trailed);
            return Ok(response);
        }
    };
    let receipt =
        appended.receipts.into_iter().next().ok_or_else(|| {
            StoreError::Internal("an act answered without its receipt".to_owned())
        })?;
    let mut response = (
        StatusCode::CREATED,
        Json(ActRecorded {
            index: receipt.index,
            leaf: leaf_hash(&receipt.entry).to_string(),
            receipt: String::from_utf8_lossy(&receipt.to_bytes()).into_owned(),
        }),
    )
        .into_response();
    response.extensions_mut().insert(Trailed);
    Ok(response)
}

/// `POST /enterprises`: enters an enterprise on the register, or changes its
/// entry (the administrator).
#[utoipa::path(
    operation_id = "register_register_enterprise",
    post, path = "/api/v1/enterprises", tag = "register", summary = "Enter an enterprise on the register (administrator)",
    request_body = retrace_domain::enterprise::Enterprise,
    responses((status = 201, description = "Recorded as an act", body = ActRecorded), crate::openapi::WriteErrors),
    security(("token" = []), ("session" = []))
)]
pub(crate) async fn register_enterprise<S: Store + Identity>(
    State(state): State<AppState<S>>,
    caller: Caller,
    body: Bytes,
) -> Result<Response, ApiError> {
    let authority = register_authority(&caller)?;
    let enterprise: Enterprise = json(&body)?;
    let what = format!("POST /api/v1/enterprises {}", enterprise.uscc);
    act(
        &state,
        &caller,
        authority,
        &what,
        Act::RegisterEnterprise(enterprise),
    )
    .await
}

/// `POST /facilities`: enters a facility with its licence and permits, or
/// changes its entry (the administrator).
#[utoipa::path(
    operation_id = "register_register_facility",
    post, path = "/api/v1/facilities", tag = "register", summary = "Enter a facility with its licence and permits (administrator)",
    request_body = retrace_domain::facility::Facility,
    responses((status = 201, description = "Recorded as an act", body = ActRecorded), crate::openapi::WriteErrors),
    security(("token" = []), ("session" = []))
)]
pub(crate) async fn register_facility<S: Store + Identity>(
    State(state): State<AppState<S>>,
    caller: Caller,
    body: Bytes,
) -> Result<Response, ApiError> {
    let authority = register_authority(&caller)?;
    let facility: Facility = json(&body)?;
    let what = format!("POST /api/v1/facilities {}", facility.id);
    act(
        &state,
        &caller,
        authority,
        &what,
        Act::RegisterFacility(facility),
    )
    .await
}

/// `POST /designations`: designates a production enterprise for a category
/// (the ministry, Art. 6, 7).
#[utoipa::path(
    operation_id = "register_designate",
    post, path = "/api/v1/designations", tag = "register", summary = "Designate a production enterprise (the ministry, Art. 6, 7)",
    request_body = retrace_domain::enterprise::Designation,
    responses((status = 201, description = "Recorded as an act", body = ActRecorded), crate::openapi::WriteErrors),
    security(("token" = []), ("session" = []))
)]
pub(crate) async fn designate<S: Store + Identity>(
    State(state): State<AppState<S>>,
    caller: Caller,
    body: Bytes,
) -> Result<Response, ApiError> {
    let authority = designation_authority(&caller)?;
    let designation: Designation = json(&body)?;
    let what = format!(
        "POST /api/v1/designations {} {}",
        designation.enterprise, designation.category
    );
    act(
        &state,
        &caller,
        authority,
        &what,
        Act::Designate(designation),
    )
    .await
}

/// `POST /designations/revocations`: withdraws a designation from a day on.
#[utoipa::path(
    operation_id = "register_revoke",
    post, path = "/api/v1/designations/revocations", tag = "register", summary = "Withdraw a designation from a day on (the ministry)",
    request_body = retrace_domain::act::Revocation,
    responses((status = 201, description = "Recorded as an act", body = ActRecorded), crate::openapi::WriteErrors),
    security(("token" = []), ("session" = []))
)]
pub(crate) async fn revoke<S: Store + Identity>(
    State(state): State<AppState<S>>,
    caller: Caller,
    body: Bytes,
) -> Result<Response, ApiError> {
    let authority = designation_authority(&caller)?;
    let revocation: Revocation = json(&body)?;
    let what = format!(
        "POST /api/v1/designations/revocations {} {}",
        revocation.enterprise, revocation.category
    );
    act(
        &state,
        &caller,
        authority,
        &what,
        Act::RevokeDesignation(revocation),
    )
    .await
}
