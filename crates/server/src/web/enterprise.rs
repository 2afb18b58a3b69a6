//! The enterprise's own pages (Art. 10–11): what it holds, what was flagged,
//! what it recorded last, and the receipts that nobody has matched yet.

use askama::Template;
use axum::extract::{OriginalUri, State};
use axum::response::Response;
use retrace_domain::rules::Rule;
use retrace_domain::uscc::Uscc;
use retrace_store::{
    EntryFilter, EntryView, FlagFilter, Identity, PageRequest, Position, Scope, StockFilter, Store,
};

use super::chrome::Chrome;
use super::i18n::Tr;
use super::view::{lot_path, moment_text, render_for, tonnes};
use super::{PageError, St, signed_in};
use crate::AppState;
use crate::auth::{Caller, Subjects};
use crate::problem::ApiError;

/// How many recent entries the home page lists.
const RECENT: usize = 10;

/// A position as a row.
pub(crate) struct PositionRow {
    pub lot: String,
    pub href: String,
    pub owner: Option<String>,
    pub mass: String,
    pub reo: String,
}

pub(crate) fn position_row(p: &Position, own: &Uscc) -> PositionRow {
    PositionRow {
        href: format!("/lots/{}", lot_path(p.lot.as_str())),
        lot: p.lot.to_string(),
        owner: (p.owner != *own).then(|| p.owner.to_string()),
        mass: tonnes(p.mass),
        reo: tonnes(p.reo),
    }
}

/// A flag as a row.
pub(crate) struct FlagRow {
    pub href: String,
    pub rule: &'static str,
    pub enterprise: String,
    pub month: String,
    pub occurrences: u64,
    pub detail: String,
    pub lot: Option<(String, String)>,
}

pub(crate) fn flag_row(t: Tr, f: &retrace_domain::project::Flag) -> FlagRow {
    FlagRow {
        href: format!("/flag?key={}", super::view::query_escape(&f.key)),
        rule: t.of("rule", f.rule.as_str()),
        enterprise: f.enterprise.to_string(),
        month: f.month.clone(),
        occurrences: f.occurrences,
        detail: f.detail.clone(),
        lot: f
            .lot
            .as_ref()
            .map(|l| (format!("/lots/{}", lot_path(l.as_str())), l.to_string())),
    }
}

/// An entry as a row.
pub(crate) struct EntryRow {
    pub index: u64,
    pub kind: &'static str,
    pub time: String,
    pub recorded: String,
    pub corrected: bool,
}

/// The label of an entry's kind token (`flow.ship`, `act.designate`).
pub(crate) fn kind_label(t: Tr, token: &str) -> &'static str {
    match token.split_once('.') {
        Some(("flow", kind)) => t.of("kind", kind),
        Some(("act", act)) => t.of("act", act),
        _ => t.s("kind.unknown"),
    }
}

pub(crate) fn entry_row(t: Tr, e: &EntryView) -> EntryRow {
    EntryRow {
        index: e.index,
        kind: kind_label(t, &e.kind),
        time: super::view::moment(e.record.time()),
        recorded: moment_text(&e.record_time),
        corrected: e.corrected_by.is_some(),
    }
}

/// The latest `n` entries of `enterprise`, newest first: windows of the
/// ledger's end, widened until they hold `n` or the whole ledger.
pub(crate) async fn recent<S: Store>(
    state: &AppState<S>,
    scope: &Scope,
    enterprise: &Uscc,
    n: usize,
) -> Result<Vec<EntryView>, PageError> {
    let size = state.store.checkpoint().await?.checkpoint().size();
    let filter = EntryFilter {
        enterprise: Some(enterprise.clone()),
        ..EntryFilter::default()
    };
    let mut window = 1024u64;
    loop {
        let start = size.saturating_sub(window);
        let mut found = Vec::new();
        let mut page = PageRequest {
            after: start.checked_sub(1).map(|a| a.to_string()),
            limit: retrace_store::MAX_PAGE,
        };
        loop {
            let got = state.store.entries(scope, &filter, &page).await?;
            found.extend(got.items);
            if found.len() > 4 * retrace_store::MAX_PAGE {
                found.drain(..found.len() - n);
            }
            match got.next {
                Some(next) => page.after = Some(next),
                None => break,
            }
        }
        if found.len() >= n || start == 0 {
            found.reverse();
            found.truncate(n);
            return Ok(found);
        }
        window = window.saturating_mul(4);
    }
}

/// The enterprise of an enterprise account, and its read scope.
fn own(caller: &Caller) -> Result<(Uscc, Scope), PageError> {
    let read = caller.read()?;
    let own = caller
        .principal()
        .role()
        .enterprise()
        .cloned()
        .ok_or(PageError::Denied)?;
    Ok((own, read.scope().clone()))
}

#[derive(Template)]
#[template(path = "enterprise_home.html")]
struct HomePage {
    p: Chrome,
    name: String,
    uscc: String,
    lots: usize,
    reo: String,
    top: Vec<PositionRow>,
    flags: Vec<FlagRow>,
    unconfirmed: Vec<FlagRow>,
    entries: Vec<EntryRow>,
}

/// `GET /enterprise`: the home page of an enterprise account.
pub(crate) async fn home<S: Store + Identity>(
    State(state): St<S>,
    caller: Result<Caller, ApiError>,
    uri: OriginalUri,
) -> Result<Response, PageError> {
    let caller = signed_in(caller, &uri)?;
    let (own, scope) = own(&caller)?;
    let p = Chrome::new(&state, &caller, &uri.0, "title.enterprise").await?;
    let t = p.t;
    let register = state.store.enterprise(&scope, &own).await?;
    let stock = state
        .store
        .stock(
            &scope,
            &StockFilter {
                holder: Some(own.clone()),
                ..StockFilter::default()
            },
            &PageRequest::first(retrace_store::MAX_PAGE),
        )
        .await?;
    let mut positions = stock.items;
    let reo: i64 = positions.iter().map(|p| p.reo).sum();
    positions.sort_by_key(|p| std::cmp::Reverse(p.reo));
    let flags = state
        .store
        .flags(
            &scope,
            &FlagFilter {
                enterprise: Some(own.clone()),
                ..FlagFilter::default()
            },
            &PageRequest::first(100),
        )
        .await?;
    let (unconfirmed, others): (Vec<_>, Vec<_>) = flags
        .items
        .iter()
        .partition(|f| f.rule == Rule::ReceiveWithoutShip);
    let entries = recent(&state, &scope, &own, RECENT).await?;
    let page = HomePage {
        name: super::region::enterprise_name(t, &register.enterprise),
        uscc: own.to_string(),
        lots: positions.len(),
        reo: tonnes(reo),
        top: positions
            .iter()
            .take(8)
            .map(|p| position_row(p, &own))
            .collect(),
        flags: others.into_iter().map(|f| flag_row(t, f)).collect(),
        unconfirmed: unconfirmed.into_iter().map(|f| flag_row(t, f)).collect(),
        entries: entries.iter().map(|e| entry_row(t, e)).collect(),
        p,
    };
    render_for(&page, Subjects::of([&own]))
}

#[derive(Template)]
#[template(path = "stock.html")]
struct StockPage {
    p: Chrome,
    rows: Vec<PositionRow>,
    next: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct AfterQuery {
    #[serde(default)]
    after: Option<String>,
}

/// `GET /stock`: every lot the enterprise holds, with mass and REO.
pub(crate) async fn stock<S: Store + Identity>(
    State(state): St<S>,
    caller: Result<Caller, ApiError>,
    uri: OriginalUri,
    axum::extract::Query(q): axum::extract::Query<AfterQuery>,
) -> Result<Response, PageError> {
    let caller = signed_in(caller, &uri)?;
    let (own, scope) = own(&caller)?;
    let p = Chrome::new(&state, &caller, &uri.0, "title.stock").await?;
    let stock = state
        .store
        .stock(
            &scope,
            &StockFilter {
                holder: Some(own.clone()),
                ..StockFilter::default()
            },
            &PageRequest {
                after: q.after.filter(|a| !a.is_empty()),
                limit: 200,
            },
        )
        .await?;
    let page = StockPage {
        rows: stock.items.iter().map(|p| position_row(p, &own)).collect(),
        next: stock.next.map(|n| super::view::query_escape(&n)),
        p,
    };
    render_for(&page, Subjects::of([&own]))
}
