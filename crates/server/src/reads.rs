//! The read side over the projections: lots, their trace, stock and flags (DESIGN.md §3).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use retrace_domain::lot::LotId;
use retrace_domain::rules::Rule;
use retrace_domain::uscc::Uscc;
use retrace_store::trace::{Direction, TraceNode};
use retrace_store::{FlagFilter, StockFilter, Store};
use serde::Deserialize;

use crate::auth::{Caller, Subjects};
use crate::problem::ApiError;
use crate::{AppState, params, with_subjects};

/// `GET /lots/{lot}`: the lot id keeps its slashes (`uscc/<USCC>/10/<lot>`,
/// `01/<GTIN>/10/<lot>`), as in the GS1 Digital Link path the package's QR code carries.
#[utoipa::path(
    operation_id = "reads_lot",
    get, path = "/api/v1/lots/{lot}", tag = "lots", summary = "A lot and its positions, as the caller may see them",
    params(("lot" = String, Path, description = "The lot id with its slashes: `uscc/<USCC>/10/<lot>` or `01/<GTIN>/10/<lot>`")),
    responses((status = 200, description = "The lot", body = retrace_store::LotView), crate::openapi::ReadErrors),
    security(("token" = []), ("session" = []))
)]
pub(crate) async fn lot<S: Store>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(lot): Path<String>,
) -> Result<Response, ApiError> {
    let read = caller.read()?;
    let lot: LotId = params::required("lot", Some(&lot))?;
    let view = state.store.lot(read.scope(), &lot).await?;
    let subjects = Subjects::of(
        std::iter::once(&view.state.producer)
            .chain(view.positions.iter().flat_map(|p| [&p.holder, &p.owner])),
    );
    Ok(with_subjects(Json(view), subjects))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct TraceQuery {
    lot: Option<String>,
    direction: Option<String>,
    after: Option<String>,
    limit: Option<String>,
}

/// `GET /trace`: backward to mines, imports and declared stock, or forward to holders,
/// products and exports.
#[utoipa::path(
    operation_id = "reads_trace",
    get, path = "/api/v1/trace", tag = "lots", summary = "Trace a lot backward to its sources or forward to its holders, products and exports",
    description = "Edges of entries outside the caller's scope are shown by their public part only: `disclosed: false`, no masses, places only their record names `undisclosed`.",
    params(TraceQuery),
    responses((status = 200, description = "A page of the trace", body = retrace_store::trace::TraceAnswer), crate::openapi::ReadErrors),
    security(("token" = []), ("session" = []))
)]
pub(crate) async fn trace<S: Store>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Query(q): Query<TraceQuery>,
) -> Result<Response, ApiError> {
    let read = caller.read()?;
    let lot: LotId = params::required("lot", q.lot.as_deref())?;
    let direction = match q.direction.as_deref().map(str::trim) {
        None | Some("" | "backward") => Direction::Backward,
        Some("forward") => Direction::Forward,
        Some(other) => {
            return Err(ApiError::parameter(
                "direction",
                format!("`{other}` is not a direction: write backward or forward"),
            ));
        }
    };
    let page = params::page(q.after, q.limit.as_deref())?;
    let answer = state
        .store
        .trace(read.scope(), &lot, direction, &page)
        .await?;
    let subjects = Subjects::of(answer.edges.iter().filter(|e| e.disclosed).flat_map(|e| {
        std::iter::once(&e.enterprise).chain([&e.from, &e.to].into_iter().filter_map(|n| match n {
            TraceNode::Mine { enterprise, .. }
            | TraceNode::Import { enterprise, .. }
            | TraceNode::Opening { enterprise }
            | TraceNode::Holder { enterprise } => Some(enterprise),
            TraceNode::Lot { .. } | TraceNode::Abroad { .. } | TraceNode::Undisclosed => None,
        }))
    }));
    Ok(with_subjects(Json(answer), subjects))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct StockQuery {
    holder: Option<String>,
    lot: Option<String>,
    include_empty: Option<String>,
    after: Option<String>,
    limit: Option<String>,
}

/// `GET /stock`: positions of lots at holders.
#[utoipa::path(
    operation_id = "reads_stock",
    get, path = "/api/v1/stock", tag = "lots", summary = "Stock positions in scope",
    params(StockQuery),
    responses((status = 200, description = "A page of positions", body = retrace_store::Page<retrace_store::Position>), crate::openapi::ReadErrors),
    security(("token" = []), ("session" = []))
)]
pub(crate) async fn stock<S: Store>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Query(q): Query<StockQuery>,
) -> Result<Response, ApiError> {
    let read = caller.read()?;
    let filter = StockFilter {
        holder: params::optional::<Uscc>("holder", q.holder.as_deref())?,
        lot: params::optional::<LotId>("lot", q.lot.as_deref())?,
        include_empty: params::optional::<bool>("include_empty", q.include_empty.as_deref())?
            .unwrap_or(false),
    };
    let page = params::page(q.after, q.limit.as_deref())?;
    let found = state.store.stock(read.scope(), &filter, &page).await?;
    let subjects = Subjects::of(found.items.iter().flat_map(|p| [&p.holder, &p.owner]));
    Ok(with_subjects(Json(found), subjects))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct FlagQuery {
    rule: Option<String>,
    enterprise: Option<String>,
    month: Option<String>,
    after: Option<String>,
    limit: Option<String>,
}

/// `GET /flags`: open flags — what was recorded and breaks a rule.
#[utoipa::path(
    operation_id = "reads_flags",
    get, path = "/api/v1/flags", tag = "lots", summary = "Open flags in scope: what was recorded and breaks a rule",
    params(FlagQuery),
    responses((status = 200, description = "A page of flags", body = retrace_store::Page<retrace_domain::project::Flag>), crate::openapi::ReadErrors),
    security(("token" = []), ("session" = []))
)]
pub(crate) async fn flags<S: Store>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Query(q): Query<FlagQuery>,
) -> Result<Response, ApiError> {
    let read = caller.read()?;
    let rule = match q.rule.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        Some(token) => Some(Rule::parse(token).ok_or_else(|| {
            let known: Vec<&str> = Rule::ALL.iter().map(|r| r.as_str()).collect();
            ApiError::parameter(
                "rule",
                format!(
                    "`{token}` is not a rule; the rules are {}",
                    known.join(", ")
                ),
            )
        })?),
        None => None,
    };
    let filter = FlagFilter {
        rule,
        enterprise: params::optional::<Uscc>("enterprise", q.enterprise.as_deref())?,
        month: params::month(q.month.as_deref())?,
    };
    let page = params::page(q.after, q.limit.as_deref())?;
    let found = state.store.flags(read.scope(), &filter, &page).await?;
    let subjects = Subjects::of(found.items.iter().map(|f| &f.enterprise));
    Ok(with_subjects(Json(found), subjects))
}
