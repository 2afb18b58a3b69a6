//! The audit trail for auditors (issue 3 §4; Art. 15): search by person,
//! enterprise, region, action and time, within the auditor's region, and
//! the trail log's checkpoint and proofs, so that what was read can be shown
//! not to have been altered.

use axum::Json;
use axum::extract::{Query, State};
use axum::response::Response;
use retrace_access::AccountName;
use retrace_domain::region::RegionCode;
use retrace_domain::uscc::Uscc;
use retrace_store::{Identity, Page, Store, TrailEntry, TrailFilter};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::auth::Caller;
use crate::problem::ApiError;
use crate::{AppState, params, text};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct TrailQuery {
    account: Option<String>,
    enterprise: Option<String>,
    region: Option<String>,
    action: Option<String>,
    from: Option<String>,
    until: Option<String>,
    after: Option<String>,
    limit: Option<String>,
}

fn moment(name: &'static str, value: Option<&str>) -> Result<Option<OffsetDateTime>, ApiError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(text) => OffsetDateTime::parse(text, &Rfc3339).map(Some).map_err(|_| {
            ApiError::parameter(
                name,
                format!("`{text}` is not a time: write RFC 3339 with an offset, 2025-03-01T00:00:00+08:00"),
            )
        }),
    }
}

/// `GET /trail`: trail entries in the auditor's region, oldest first.
#[utoipa::path(
    operation_id = "trail_search",
    get, path = "/api/v1/trail", tag = "trail", summary = "The audit trail of the auditor's region: by person, enterprise, region, action and time",
    params(TrailQuery),
    responses((status = 200, description = "A page of trail entries", body = retrace_store::Page<retrace_store::TrailEntry>), crate::openapi::ReadErrors),
    security(("token" = []), ("session" = []))
)]
pub(crate) async fn search<S: Store + Identity>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Query(q): Query<TrailQuery>,
) -> Result<Json<Page<TrailEntry>>, ApiError> {
    let reader = caller.read_trail()?;
    let action = q.action.as_deref().map(str::trim).filter(|a| !a.is_empty());
    if let Some(a) = action
        && !retrace_store::trail::is_action(a)
    {
        return Err(ApiError::parameter(
            "action",
            format!("`{a}` is not an action: read, record, login, account.create, …"),
        ));
    }
    let filter = TrailFilter {
        account: params::optional::<AccountName>("account", q.account.as_deref())?,
        enterprise: params::optional::<Uscc>("enterprise", q.enterprise.as_deref())?,
        region: params::optional::<RegionCode>("region", q.region.as_deref())?,
        action: action.map(str::to_owned),
        from: moment("from", q.from.as_deref())?,
        until: moment("until", q.until.as_deref())?,
    };
    let page = params::page(q.after, q.limit.as_deref())?;
    Ok(Json(
        state.store.trail(&reader.scope(), &filter, &page).await?,
    ))
}

/// `GET /trail/checkpoint`: the trail log's latest signed note.
#[utoipa::path(
    operation_id = "trail_checkpoint",
    get, path = "/api/v1/trail/checkpoint", tag = "trail", summary = "The audit trail's latest signed checkpoint",
    responses((status = 200, description = "The signed note", body = String, content_type = "text/plain"), crate::openapi::ReadErrors),
    security(("token" = []), ("session" = []))
)]
pub(crate) async fn checkpoint<S: Store + Identity>(
    State(state): State<AppState<S>>,
    caller: Caller,
) -> Result<Response, ApiError> {
    caller.read_trail()?;
    Ok(text(state.store.trail_checkpoint().await?.to_bytes()))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProofQuery {
    index: Option<String>,
    size: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct TrailProof {
    index: u64,
    size: u64,
    /// The entry's canonical bytes, as text.
    entry: String,
    /// RFC 9162 §2.1.3 audit path, lowercase hex.
    proof: Vec<String>,
}

/// `GET /trail/proofs/inclusion`: that a trail entry is in the trail tree.
#[utoipa::path(
    operation_id = "trail_inclusion",
    get, path = "/api/v1/trail/proofs/inclusion", tag = "trail", summary = "That a trail entry is in the trail tree (RFC 9162 §2.1.3)",
    params(ProofQuery),
    responses((status = 200, description = "The entry and its audit path", body = TrailProof), crate::openapi::ReadErrors),
    security(("token" = []), ("session" = []))
)]
pub(crate) async fn inclusion<S: Store + Identity>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Query(q): Query<ProofQuery>,
) -> Result<Json<TrailProof>, ApiError> {
    let reader = caller.read_trail()?;
    let index: u64 = params::required("index", q.index.as_deref())?;
    let size = match params::optional("size", q.size.as_deref())? {
        Some(size) => size,
        None => state.store.trail_checkpoint().await?.checkpoint().size(),
    };
    // The proof carries the entry itself, so an auditor gets it only for an
    // entry of its region; one outside is answered as if it did not exist.
    let (entry, proof) = state
        .store
        .trail_proof(&reader.scope(), index, size)
        .await?;
    Ok(Json(TrailProof {
        index,
        size,
        entry: String::from_utf8_lossy(&entry).into_owned(),
        proof: proof.iter().map(ToString::to_string).collect(),
    }))
}
