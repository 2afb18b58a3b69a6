//! Public verification (issue 3 §6): the page behind the QR code on a
//! package, without a login. What it answers is defined by
//! `retrace_store::public`, whose types have no field for anything
//! confidential.

use axum::Json;
use axum::extract::{Path, State};
use retrace_domain::lot::LotId;
use retrace_store::Store;
use retrace_store::public::PublicLot;

use crate::problem::ApiError;
use crate::{AppState, params};

/// `GET /public/lots/{lot}`: the product, its producer and designation, the
/// chain it came from, and a proof of every step.
#[utoipa::path(
    operation_id = "public_lot",
    get, path = "/api/v1/public/lots/{lot}", tag = "public", summary = "What anyone may know of a lot: product, producer and designation, its chain and the proof of every step",
    params(("lot" = String, Path, description = "The lot id with its slashes")),
    responses((status = 200, description = "The public page of the lot", body = retrace_store::public::PublicLot), crate::openapi::PublicErrors)
)]
pub(crate) async fn lot<S: Store>(
    State(state): State<AppState<S>>,
    Path(lot): Path<String>,
) -> Result<Json<PublicLot>, ApiError> {
    let lot: LotId = params::required("lot", Some(&lot))?;
    Ok(Json(state.store.public_lot(&lot).await?))
}
