//! The log itself: checkpoints, proofs and the key that verifies them. None of it carries
//! confidential data (DESIGN.md §3), so none of it needs a scope.

use axum::Json;
use axum::extract::{Query, State};
use axum::response::Response;
use retrace_ledger::hash::Hash;
use retrace_store::Store;
use serde::{Deserialize, Serialize};

use crate::problem::ApiError;
use crate::{AppState, params, text};

/// The most checkpoints one answer lists when the caller does not say.
const DEFAULT_CHECKPOINTS: usize = 100;

/// `GET /checkpoint`: the latest signed note.
#[utoipa::path(
    operation_id = "ledger_checkpoint",
    get, path = "/api/v1/checkpoint", tag = "ledger", summary = "The latest signed checkpoint (C2SP tlog-checkpoint)",
    responses((status = 200, description = "The signed note", body = String, content_type = "text/plain"))
)]
pub(crate) async fn checkpoint<S: Store>(
    State(state): State<AppState<S>>,
) -> Result<Response, ApiError> {
    let checkpoint = state.store.checkpoint().await?;
    Ok(text(checkpoint.to_bytes()))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct CheckpointsQuery {
    after_size: Option<String>,
    limit: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Checkpoints {
    checkpoints: Vec<CheckpointView>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct CheckpointView {
    size: u64,
    /// The root hash, lowercase hex.
    root: String,
    /// The signed note, verbatim.
    note: String,
}

/// `GET /checkpoints`: every checkpoint handed out, oldest first, so that anyone can check
/// that each is consistent with the next.
#[utoipa::path(
    operation_id = "ledger_checkpoints",
    get, path = "/api/v1/checkpoints", tag = "ledger", summary = "Every checkpoint handed out, oldest first",
    params(CheckpointsQuery),
    responses((status = 200, description = "Checkpoints", body = Checkpoints), crate::openapi::PublicErrors)
)]
pub(crate) async fn checkpoints<S: Store>(
    State(state): State<AppState<S>>,
    Query(q): Query<CheckpointsQuery>,
) -> Result<Json<Checkpoints>, ApiError> {
    let after_size = params::optional("after_size", q.after_size.as_deref())?.unwrap_or(0);
    let limit = params::optional("limit", q.limit.as_deref())?.unwrap_or(DEFAULT_CHECKPOINTS);
    let listed = state.store.checkpoints(after_size, limit).await?;
    let checkpoints = listed
        .iter()
        .map(|c| CheckpointView {
            size: c.checkpoint().size(),
            root: c.checkpoint().root().to_string(),
            note: String::from_utf8_lossy(c.as_bytes()).into_owned(),
        })
        .collect();
    Ok(Json(Checkpoints { checkpoints }))
}

/// The size of the latest checkpoint, for proofs whose tree size is left out.
async fn latest_size<S: Store>(state: &AppState<S>) -> Result<u64, ApiError> {
    Ok(state.store.checkpoint().await?.checkpoint().size())
}

fn hex(proof: &[Hash]) -> Vec<String> {
    proof.iter().map(Hash::to_string).collect()
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct InclusionQuery {
    index: Option<String>,
    size: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct InclusionProof {
    index: u64,
    size: u64,
    /// RFC 9162 §2.1.3 audit path, leaf side first, lowercase hex.
    proof: Vec<String>,
}

/// `GET /proofs/inclusion`: the audit path of entry `index` in the tree of `size` leaves.
#[utoipa::path(
    operation_id = "ledger_inclusion",
    get, path = "/api/v1/proofs/inclusion", tag = "ledger", summary = "RFC 9162 §2.1.3 inclusion proof",
    params(InclusionQuery),
    responses((status = 200, description = "The audit path", body = InclusionProof), crate::openapi::PublicErrors)
)]
pub(crate) async fn inclusion<S: Store>(
    State(state): State<AppState<S>>,
    Query(q): Query<InclusionQuery>,
) -> Result<Json<InclusionProof>, ApiError> {
    let index = params::required("index", q.index.as_deref())?;
    let size = match params::optional("size", q.size.as_deref())? {
        Some(size) => size,
        None => latest_size(&state).await?,
    };
    let proof = state.store.inclusion_proof(index, size).await?;
    Ok(Json(InclusionProof {
        index,
        size,
        proof: hex(&proof),
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConsistencyQuery {
    old: Option<String>,
    new: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ConsistencyProof {
    old: u64,
    new: u64,
    /// RFC 9162 §2.1.4 consistency proof, lowercase hex.
    proof: Vec<String>,
}

/// `GET /proofs/consistency`: that the tree of `old` leaves is a prefix of the tree of `new`.
#[utoipa::path(
    operation_id = "ledger_consistency",
    get, path = "/api/v1/proofs/consistency", tag = "ledger", summary = "RFC 9162 §2.1.4 consistency proof",
    params(ConsistencyQuery),
    responses((status = 200, description = "The consistency proof", body = ConsistencyProof), crate::openapi::PublicErrors)
)]
pub(crate) async fn consistency<S: Store>(
    State(state): State<AppState<S>>,
    Query(q): Query<ConsistencyQuery>,
) -> Result<Json<ConsistencyProof>, ApiError> {
    let old = params::required("old", q.old.as_deref())?;
    let new = match params::optional("new", q.new.as_deref())? {
        Some(new) => new,
        None => latest_size(&state).await?,
    };
    let proof = state.store.consistency_proof(old, new).await?;
    Ok(Json(ConsistencyProof {
        old,
        new,
        proof: hex(&proof),
    }))
}

/// `GET /log-key`: the verifier key (signed-note text form) every checkpoint and receipt is
/// checked with.
#[utoipa::path(
    operation_id = "ledger_log_key",
    get, path = "/api/v1/log-key", tag = "ledger", summary = "The ledger's verifier key (signed-note text form)",
    responses((status = 200, description = "The key", body = String, content_type = "text/plain"))
)]
pub(crate) async fn log_key<S: Store>(State(state): State<AppState<S>>) -> Response {
    text(state.verifier_key.clone())
}

/// `GET /trail-key`: the verifier key of the audit trail's checkpoints.
#[utoipa::path(
    operation_id = "ledger_trail_key",
    get, path = "/api/v1/trail-key", tag = "trail", summary = "The audit trail's verifier key (signed-note text form)",
    responses((status = 200, description = "The key", body = String, content_type = "text/plain"))
)]
pub(crate) async fn trail_key<S: Store>(State(state): State<AppState<S>>) -> Response {
    text(state.trail_verifier_key.clone())
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Health {
    status: &'static str,
    origin: String,
    /// Entries in the ledger, as the latest checkpoint says: proof that the store answers.
    size: u64,
}

/// `GET /healthz`: the server runs and its store answers.
#[utoipa::path(
    operation_id = "ledger_health",
    get, path = "/api/v1/healthz", tag = "ledger", summary = "The server runs and its store answers",
    responses((status = 200, description = "Healthy", body = Health))
)]
pub(crate) async fn health<S: Store>(
    State(state): State<AppState<S>>,
) -> Result<Json<Health>, ApiError> {
    let size = latest_size(&state).await?;
    Ok(Json(Health {
        status: "ok",
        origin: state.origin.clone(),
        size,
    }))
}
