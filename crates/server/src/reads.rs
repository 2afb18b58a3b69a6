//! The read side over the projections: lots, their trace, stock and flags (DESIGN.md §3).

use axum::Json;
use axum::extract::{Path, Query, State};
use retrace_domain::lot::LotId;
use retrace_domain::rules::Rule;
use retrace_domain::uscc::Uscc;
use retrace_store::trace::{Direction, TraceAnswer};
use retrace_store::{FlagFilter, FlagView, LotView, Page, Position, StockFilter, Store};
use serde::Deserialize;

use crate::problem::ApiError;
use crate::{AppState, Caller, params};

/// `GET /lots/{lot}`: the lot id keeps its slashes (`uscc/<USCC>/10/<lot>`,
/// `01/<GTIN>/10/<lot>`), as in the GS1 Digital Link path the package's QR code carries.
pub(crate) async fn lot<S: Store>(
    State(state): State<AppState<S>>,
    Caller(scope): Caller,
    Path(lot): Path<String>,
) -> Result<Json<LotView>, ApiError> {
    let lot: LotId = params::required("lot", Some(&lot))?;
    Ok(Json(state.store.lot(&scope, &lot).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TraceQuery {
    lot: Option<String>,
    direction: Option<String>,
    after: Option<String>,
    limit: Option<String>,
}

/// `GET /trace`: backward to mines, imports and declared stock, or forward to holders,
/// products and exports.
pub(crate) async fn trace<S: Store>(
    State(state): State<AppState<S>>,
    Caller(scope): Caller,
    Query(q): Query<TraceQuery>,
) -> Result<Json<TraceAnswer>, ApiError> {
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
    Ok(Json(
        state.store.trace(&scope, &lot, direction, &page).await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StockQuery {
    holder: Option<String>,
    lot: Option<String>,
    include_empty: Option<String>,
    after: Option<String>,
    limit: Option<String>,
}

/// `GET /stock`: positions of lots at holders.
pub(crate) async fn stock<S: Store>(
    State(state): State<AppState<S>>,
    Caller(scope): Caller,
    Query(q): Query<StockQuery>,
) -> Result<Json<Page<Position>>, ApiError> {
    let filter = StockFilter {
        holder: params::optional::<Uscc>("holder", q.holder.as_deref())?,
        lot: params::optional::<LotId>("lot", q.lot.as_deref())?,
        include_empty: params::optional::<bool>("include_empty", q.include_empty.as_deref())?
            .unwrap_or(false),
    };
    let page = params::page(q.after, q.limit.as_deref())?;
    Ok(Json(state.store.stock(&scope, &filter, &page).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FlagQuery {
    rule: Option<String>,
    enterprise: Option<String>,
    month: Option<String>,
    after: Option<String>,
    limit: Option<String>,
}

/// `GET /flags`: open flags — what was recorded and breaks a rule.
pub(crate) async fn flags<S: Store>(
    State(state): State<AppState<S>>,
    Caller(scope): Caller,
    Query(q): Query<FlagQuery>,
) -> Result<Json<Page<FlagView>>, ApiError> {
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
    Ok(Json(state.store.flags(&scope, &filter, &page).await?))
}
