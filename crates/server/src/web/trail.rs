//! The audit trail for auditors (Art. 15: officials are accountable too):
//! who did what, when, from where, with what outcome — searched by account,
//! enterprise, region, action and time within the auditor's region.

use askama::Template;
use axum::extract::{OriginalUri, Query, State};
use axum::response::Response;
use retrace_access::AccountName;
use retrace_domain::region::RegionCode;
use retrace_domain::uscc::Uscc;
use retrace_store::{Identity, PageRequest, Store, TrailFilter, Via};
use serde::Deserialize;
use time::OffsetDateTime;

use super::chrome::Chrome;
use super::view::{query_escape, render};
use super::{PageError, St, signed_in};
use crate::auth::Caller;
use crate::problem::ApiError;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct TrailQuery {
    #[serde(default)]
    account: String,
    #[serde(default)]
    enterprise: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    after: String,
}

struct Row {
    index: u64,
    at: String,
    account: String,
    role: String,
    via: String,
    action: String,
    target: String,
    status: u16,
    detail: String,
}

#[derive(Template)]
#[template(path = "trail.html")]
struct TrailPage {
    p: Chrome,
    q: TrailQuery,
    problem: Option<&'static str>,
    rows: Vec<Row>,
    next: Option<String>,
}

/// A `datetime-local` value in Asia/Shanghai, or an RFC 3339 time.
fn moment_of(text: &str) -> Result<Option<OffsetDateTime>, ()> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let full = match t.len() {
        16 => format!("{t}:00+08:00"),
        19 => format!("{t}+08:00"),
        _ => t.to_owned(),
    };
    OffsetDateTime::parse(&full, &time::format_description::well_known::Rfc3339)
        .map(Some)
        .map_err(|_| ())
}

fn filter(q: &TrailQuery) -> Result<TrailFilter, &'static str> {
    let opt = |t: &str| Some(t.trim().to_owned()).filter(|t| !t.is_empty());
    let action = opt(&q.action);
    if let Some(a) = &action
        && !retrace_store::trail::is_action(a)
    {
        return Err("trail.bad_action");
    }
    Ok(TrailFilter {
        account: opt(&q.account)
            .map(|a| AccountName::parse(&a))
            .transpose()
            .map_err(|_| "trail.bad_account")?,
        enterprise: opt(&q.enterprise)
            .map(|e| e.parse::<Uscc>())
            .transpose()
            .map_err(|_| "trail.bad_enterprise")?,
        region: opt(&q.region)
            .map(|r| r.parse::<RegionCode>())
            .transpose()
            .map_err(|_| "trail.bad_region")?,
        action,
        from: moment_of(&q.from).map_err(|()| "trail.bad_time")?,
        until: moment_of(&q.until).map_err(|()| "trail.bad_time")?,
    })
}

/// `GET /trail`.
pub(crate) async fn search<S: Store + Identity>(
    State(state): St<S>,
    caller: Result<Caller, ApiError>,
    uri: OriginalUri,
    Query(q): Query<TrailQuery>,
) -> Result<Response, PageError> {
    let caller = signed_in(caller, &uri)?;
    let reader = caller.read_trail()?;
    let p = Chrome::new(&state, &caller, &uri.0, "title.trail").await?;
    let (problem, rows, next) = match filter(&q) {
        Err(key) => (Some(key), Vec::new(), None),
        Ok(f) => {
            let page = PageRequest {
                after: Some(q.after.clone()).filter(|a| !a.is_empty()),
                limit: 100,
            };
            let found = state.store.trail(&reader.scope(), &f, &page).await?;
            let rows = found
                .items
                .iter()
                .map(|e| Row {
                    index: e.index,
                    at: super::view::moment_text(&e.time),
                    account: e
                        .event
                        .actor
                        .account
                        .as_ref()
                        .map_or_else(|| p.t.s("trail.nobody").to_owned(), ToString::to_string),
                    role: e
                        .event
                        .actor
                        .role
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    via: match &e.event.actor.via {
                        Via::Installation => p.t.s("via.installation").to_owned(),
                        Via::Password => p.t.s("via.password").to_owned(),
                        Via::Session => p.t.s("via.session").to_owned(),
                        Via::Token(id) => format!("{} {id}", p.t.s("via.token")),
                        Via::Anonymous => p.t.s("via.anonymous").to_owned(),
                    },
                    action: e.event.action.clone(),
                    target: e.event.target.clone(),
                    status: e.event.status,
                    detail: e.event.detail.clone(),
                })
                .collect();
            (None, rows, found.next)
        }
    };
    let next = next.map(|n| {
        format!(
            "/trail?account={}&enterprise={}&region={}&action={}&from={}&until={}&after={}",
            query_escape(&q.account),
            query_escape(&q.enterprise),
            query_escape(&q.region),
            query_escape(&q.action),
            query_escape(&q.from),
            query_escape(&q.until),
            query_escape(&n)
        )
    });
    render(&TrailPage {
        p,
        q,
        problem,
        rows,
        next,
    })
}
