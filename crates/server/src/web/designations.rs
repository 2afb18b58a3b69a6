//! Designating production enterprises and revoking designations (Art. 6, 7:
//! the ministry of industry and information technology designates the rare
//! earth production enterprises), recorded as acts in the ledger with the
//! official who did them (Art. 15).

use askama::Template;
use axum::Form;
use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use axum::response::Response;
use retrace_domain::act::{Act, ActRecord, Revocation};
use retrace_domain::enterprise::{Designation, QuotaCategory};
use retrace_domain::record::Record;
use retrace_store::{DesignationFilter, Identity, PageRequest, Store, WriteContext};
use serde::Deserialize;
use time::Date;

use super::chrome::Chrome;
use super::view::render_for;
use super::{PageError, St, signed_in, signed_in_form};
use crate::AppState;
use crate::auth::{Caller, Subjects, Trailed};
use crate::problem::ApiError;

const CATEGORIES: [QuotaCategory; 3] = [
    QuotaCategory::MiningRock,
    QuotaCategory::MiningIonic,
    QuotaCategory::Separation,
];

struct Row {
    enterprise: String,
    category: &'static str,
    from: String,
    to: String,
    document: String,
}

#[derive(Template)]
#[template(path = "designations.html")]
struct DesignationsPage {
    p: Chrome,
    categories: Vec<(String, &'static str)>,
    rows: Vec<Row>,
    message: Option<String>,
    done: Option<u64>,
}

async fn page_of<S: Store + Identity>(
    state: &AppState<S>,
    caller: &Caller,
    uri: &OriginalUri,
    message: Option<String>,
    done: Option<u64>,
) -> Result<Response, PageError> {
    caller
        .principal()
        .designate()
        .map_err(|_| PageError::Denied)?;
    let scope = caller.register_scope()?;
    let found = state
        .store
        .designations(
            &scope,
            &DesignationFilter::default(),
            &PageRequest::first(retrace_store::MAX_PAGE),
        )
        .await?;
    let p = Chrome::new(state, caller, &uri.0, "title.designations").await?;
    let t = p.t;
    let status = if message.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = DesignationsPage {
        categories: CATEGORIES
            .iter()
            .map(|c| (c.to_string(), t.of("category", &c.to_string())))
            .collect(),
        rows: found
            .items
            .iter()
            .map(|d| Row {
                enterprise: d.enterprise.to_string(),
                category: t.of("category", &d.category.to_string()),
                from: d.valid_from.to_string(),
                to: d.valid_to.to_string(),
                document: d.document.clone(),
            })
            .collect(),
        message,
        done,
        p,
    };
    let mut response = render_for(
        &page,
        Subjects::of(found.items.iter().map(|d| &d.enterprise)),
    )?;
    *response.status_mut() = status;
    Ok(response)
}

/// `GET /designations`.
pub(crate) async fn page<S: Store + Identity>(
    State(state): St<S>,
    caller: Result<Caller, ApiError>,
    uri: OriginalUri,
) -> Result<Response, PageError> {
    let caller = signed_in(caller, &uri)?;
    page_of(&state, &caller, &uri, None, None).await
}

#[derive(Debug, Deserialize)]
pub(crate) struct ActForm {
    #[serde(default)]
    enterprise: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    valid_from: String,
    #[serde(default)]
    valid_to: String,
    #[serde(default)]
    document: String,
}

fn day(text: &str) -> Option<Date> {
    Date::parse(
        text.trim(),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()
}

fn category(text: &str) -> Option<QuotaCategory> {
    CATEGORIES.into_iter().find(|c| c.to_string() == text)
}

/// Records one act of the ministry, effective now.
async fn record<S: Store + Identity>(
    state: &AppState<S>,
    caller: &Caller,
    uri: &OriginalUri,
    act: Result<Act, &'static str>,
) -> Result<Response, PageError> {
    let t = Chrome::new(state, caller, &uri.0, "title.designations")
        .await?
        .t;
    let act = match act {
        Ok(a) => a,
        Err(key) => return page_of(state, caller, uri, Some(t.s(key).to_owned()), None).await,
    };
    let authority = caller.authority()?;
    let record = Record::Act(ActRecord {
        effective: state.clock.now(),
        official: caller.principal().account().to_string(),
        act,
    });
    let context = WriteContext {
        actor: caller.actor(),
        request: format!("POST {} (web form)", uri.0.path()),
        idempotency: None,
    };
    let mut response = match state.store.append(&authority, vec![record], &context).await {
        Ok(appended) => {
            let index = appended.receipts.first().map(|r| r.index);
            page_of(state, caller, uri, None, index).await?
        }
        Err(
            e @ (retrace_store::StoreError::Refused { .. }
            | retrace_store::StoreError::Forbidden { .. }),
        ) => page_of(state, caller, uri, Some(e.to_string()), None).await?,
        Err(e) => return Err(e.into()),
    };
    response.extensions_mut().insert(Trailed);
    Ok(response)
}

/// `POST /designations`: designates an enterprise for a category.
pub(crate) async fn designate<S: Store + Identity>(
    State(state): St<S>,
    caller: Result<Caller, ApiError>,
    uri: OriginalUri,
    Form(form): Form<ActForm>,
) -> Result<Response, PageError> {
    let caller = signed_in_form(caller)?;
    let act = (|| {
        Ok(Act::Designate(Designation {
            enterprise: form
                .enterprise
                .trim()
                .parse()
                .map_err(|_| "designation.bad_uscc")?,
            category: category(&form.category).ok_or("designation.bad_category")?,
            valid_from: day(&form.valid_from).ok_or("designation.bad_date")?,
            valid_to: day(&form.valid_to).ok_or("designation.bad_date")?,
            document: Some(form.document.trim().to_owned())
                .filter(|d| !d.is_empty())
                .ok_or("designation.bad_document")?,
        }))
    })();
    record(&state, &caller, &uri, act).await
}

/// `POST /designations/revoke`: withdraws a designation from a day on.
pub(crate) async fn revoke<S: Store + Identity>(
    State(state): St<S>,
    caller: Result<Caller, ApiError>,
    uri: OriginalUri,
    Form(form): Form<ActForm>,
) -> Result<Response, PageError> {
    let caller = signed_in_form(caller)?;
    let act = (|| {
        Ok(Act::RevokeDesignation(Revocation {
            enterprise: form
                .enterprise
                .trim()
                .parse()
                .map_err(|_| "designation.bad_uscc")?,
            category: category(&form.category).ok_or("designation.bad_category")?,
            from: day(&form.valid_from).ok_or("designation.bad_date")?,
            document: Some(form.document.trim().to_owned())
                .filter(|d| !d.is_empty())
                .ok_or("designation.bad_document")?,
        }))
    })();
    record(&state, &caller, &uri, act).await
}
