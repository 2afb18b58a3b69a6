//! A lot (Art. 10: every lot traceable to where it came from): what it is,
//! who holds it, its trace drawn as a graph, its ledger entries with their
//! receipts, and the printable label with the QR code and the marking the
//! packaging standard for rare earth products asks for (supplier, producing
//! mine or plant, raw-material source, quality certificate).

use askama::Template;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use retrace_access::Language;
use retrace_domain::lot::LotId;
use retrace_domain::product::Catalogue;
use retrace_store::trace::{Direction, TraceNode};
use retrace_store::{EntryFilter, Identity, LotView, PageRequest, Store};

use super::chrome::Chrome;
use super::enterprise::{EntryRow, entry_row};
use super::i18n::Tr;
use super::trace_graph;
use super::view::{lot_path, render_for, tonnes};
use super::{PageError, St, signed_in};
use crate::AppState;
use crate::auth::{Caller, Subjects};
use crate::problem::ApiError;

/// The most edges of a trace one lot page reads.
const TRACE_EDGES: usize = 400;

/// The product's name in the page's language.
pub(crate) fn product_name(
    t: Tr,
    code: &retrace_domain::product::ProductCode,
    day: time::Date,
) -> String {
    Catalogue::embedded().get(code, day).map_or_else(
        || code.as_str().to_owned(),
        |p| match t.language() {
            Language::Zh => p.name_zh.clone(),
            Language::En => p.name_en.clone(),
        },
    )
}

fn parse_lot(text: &str) -> Result<LotId, PageError> {
    LotId::parse(text).map_err(|_| PageError::NotFound)
}

fn subjects(view: &LotView) -> Subjects {
    Subjects::of(
        std::iter::once(&view.state.producer)
            .chain(view.positions.iter().flat_map(|p| [&p.holder, &p.owner])),
    )
}

/// A step of the forward trace, as a row.
struct ForwardRow {
    kind: &'static str,
    to: String,
    mass: String,
    disclosed: bool,
}

fn node_text(t: Tr, node: &TraceNode) -> String {
    match node {
        TraceNode::Lot { lot } => lot.to_string(),
        TraceNode::Mine { facility, .. } => format!("{} {facility}", t.s("graph.mine")),
        TraceNode::Import { country, .. } => format!("{} {country}", t.s("graph.import")),
        TraceNode::Opening { enterprise } => format!("{} {enterprise}", t.s("graph.opening")),
        TraceNode::Holder { enterprise } => format!("{} {enterprise}", t.s("graph.holder")),
        TraceNode::Abroad { country } => format!("{} {country}", t.s("graph.abroad")),
        TraceNode::Undisclosed => t.s("graph.undisclosed").to_owned(),
    }
}

#[derive(Template)]
#[template(path = "lot.html")]
struct LotPage {
    p: Chrome,
    lot: String,
    path: String,
    product: String,
    code: String,
    origin: &'static str,
    producer: String,
    facility: String,
    wet_mass: String,
    reo: String,
    grade: String,
    positions: Vec<(String, String, String, String)>,
    graph: String,
    left_out: usize,
    attributed: bool,
    forward: Vec<ForwardRow>,
    entries: Vec<EntryRow>,
}

/// `GET /lots/{lot}`.
pub(crate) async fn page<S: Store + Identity>(
    State(state): St<S>,
    caller: Result<Caller, ApiError>,
    uri: OriginalUri,
    Path(lot): Path<String>,
) -> Result<Response, PageError> {
    let caller = signed_in(caller, &uri)?;
    let read = caller.read()?;
    let scope = read.scope();
    let id = parse_lot(&lot)?;
    let view = state.store.lot(scope, &id).await?;
    let p = Chrome::new(&state, &caller, &uri.0, "title.lot").await?;
    let t = p.t;
    let day = super::view::SHANGHAI;
    let made = time::OffsetDateTime::from_unix_timestamp_nanos(
        i128::from(view.state.created_at_ms) * 1_000_000,
    )
    .map_err(PageError::internal)?
    .to_offset(day)
    .date();
    let page = PageRequest::first(TRACE_EDGES);
    let backward = state
        .store
        .trace(scope, &id, Direction::Backward, &page)
        .await?;
    let forward = state
        .store
        .trace(scope, &id, Direction::Forward, &page)
        .await?;
    let graph = trace_graph::backward(t, &TraceNode::Lot { lot: id.clone() }, &backward.edges);
    let entries = state
        .store
        .entries(
            scope,
            &EntryFilter {
                lot: Some(id.clone()),
                ..EntryFilter::default()
            },
            &PageRequest::first(100),
        )
        .await?;
    let m = &view.state.measurement;
    let out = LotPage {
        lot: id.to_string(),
        path: lot_path(id.as_str()),
        product: product_name(t, &view.state.product, made),
        code: view.state.product.as_str().to_owned(),
        origin: t.of("origin", &token(view.state.feed_origin)),
        producer: view.state.producer.to_string(),
        facility: view
            .state
            .facility
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        wet_mass: m.wet_mass.tonnes(),
        reo: view.state.reo.tonnes(),
        grade: m.grade.to_string(),
        positions: view
            .positions
            .iter()
            .map(|p| {
                (
                    p.holder.to_string(),
                    p.owner.to_string(),
                    tonnes(p.mass),
                    tonnes(p.reo),
                )
            })
            .collect(),
        graph: graph.svg,
        left_out: graph.left_out,
        attributed: backward.attributed,
        forward: forward
            .edges
            .iter()
            .take(60)
            .map(|e| ForwardRow {
                kind: t.of("kind", e.kind.as_str()),
                to: node_text(t, &e.to),
                mass: e.mass.map_or_else(String::new, |g| {
                    tonnes(i64::try_from(g).unwrap_or(i64::MAX))
                }),
                disclosed: e.disclosed,
            })
            .collect(),
        entries: entries.items.iter().map(|e| entry_row(t, e)).collect(),
        p,
    };
    render_for(&out, subjects(&view))
}

/// The serde token of a domain enum (`domestic_ore`).
pub(crate) fn token<T: serde::Serialize>(value: T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[derive(Template)]
#[template(path = "label.html")]
struct LabelPage {
    p: Chrome,
    lot: String,
    link: String,
    qr: String,
    product: String,
    code: String,
    wet_mass: String,
    grade: String,
    supplier: String,
    facility: String,
    source: String,
    certificate: String,
    made: String,
}

/// The URL the QR code on a label opens: the lot's GS1 Digital Link under
/// the host this page was asked for ([`LotId::digital_link`]), over plain
/// HTTP when the server serves no TLS.
fn link_of<S>(state: &AppState<S>, headers: &HeaderMap, lot: &LotId) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
        })
        .unwrap_or("localhost");
    let link = lot.digital_link(host);
    if state.cookie.secure {
        link
    } else {
        link.replacen("https://", "http://", 1)
    }
}

/// `GET /labels/{lot}`: the printable label.
pub(crate) async fn label<S: Store + Identity>(
    State(state): St<S>,
    caller: Result<Caller, ApiError>,
    uri: OriginalUri,
    headers: HeaderMap,
    Path(lot): Path<String>,
) -> Result<Response, PageError> {
    let caller = signed_in(caller, &uri)?;
    let read = caller.read()?;
    let scope = read.scope();
    let id = parse_lot(&lot)?;
    let view = state.store.lot(scope, &id).await?;
    let public = state.store.public_lot(&id).await?;
    let p = Chrome::new(&state, &caller, &uri.0, "title.label").await?;
    let t = p.t;
    let link = link_of(&state, &headers, &id);
    let made = public.lot.day;
    let producer = &public.lot.producer;
    let supplier = match (t.language(), &producer.name_en) {
        (Language::En, Some(en)) => en.clone(),
        _ => producer.name_zh.clone(),
    };
    let facility = match &view.state.facility {
        Some(f) => match state.store.facility(scope, f).await {
            Ok(found) => format!("{} ({f})", found.name_zh),
            Err(_) => f.to_string(),
        },
        None => t.s("label.not_recorded").to_owned(),
    };
    // The raw material: the lot's own feed origin, and the mines and
    // imports its chain starts from.
    let mut sources: Vec<String> = vec![t.of("origin", &token(view.state.feed_origin)).to_owned()];
    for step in &public.chain {
        let source = match step.kind {
            retrace_domain::flow::FlowKind::Extract => step
                .facility
                .as_ref()
                .map(|f| format!("{} {f}", t.s("graph.mine"))),
            retrace_domain::flow::FlowKind::Import => Some(t.s("graph.import").to_owned()),
            _ => None,
        };
        if let Some(s) = source
            && !sources.contains(&s)
        {
            sources.push(s);
        }
    }
    let m = &view.state.measurement;
    let page = LabelPage {
        qr: super::qr::svg(&link, t.s("label.qr")).unwrap_or_default(),
        lot: id.to_string(),
        link,
        product: product_name(t, &view.state.product, made),
        code: view.state.product.as_str().to_owned(),
        wet_mass: m.wet_mass.tonnes(),
        grade: m.grade.to_string(),
        supplier: format!("{supplier} ({})", producer.uscc),
        facility,
        source: sources.join("；"),
        certificate: m.certificate.as_ref().map_or_else(
            || t.s("label.not_recorded").to_owned(),
            |c| format!("{} · {}", c.number, c.laboratory),
        ),
        made: made.to_string(),
        p,
    };
    render_for(&page, subjects(&view))
}

#[derive(Template)]
#[template(path = "entry.html")]
struct EntryPage {
    p: Chrome,
    index: u64,
    kind: &'static str,
    enterprise: String,
    time: String,
    recorded: String,
    leaf: String,
    corrected_by: Option<u64>,
    record: String,
}

/// `GET /entries/{index}`: one ledger entry with its record, as the caller
/// may see it.
pub(crate) async fn entry<S: Store + Identity>(
    State(state): St<S>,
    caller: Result<Caller, ApiError>,
    uri: OriginalUri,
    Path(index): Path<String>,
) -> Result<Response, PageError> {
    let caller = signed_in(caller, &uri)?;
    let read = caller.read()?;
    let index: u64 = index.parse().map_err(|_| PageError::NotFound)?;
    let e = state.store.entry(read.scope(), index).await?;
    let p = Chrome::new(&state, &caller, &uri.0, "title.entry").await?;
    let row = entry_row(p.t, &e);
    let page = EntryPage {
        index,
        kind: row.kind,
        enterprise: e.enterprise.to_string(),
        time: row.time,
        recorded: row.recorded,
        leaf: e.leaf.to_string(),
        corrected_by: e.corrected_by,
        record: serde_json::to_string_pretty(&e.record).map_err(PageError::internal)?,
        p,
    };
    render_for(&page, Subjects::of([&e.enterprise]))
}

/// `GET /entries/{index}/receipt`: the entry's receipt (C2SP tlog-proof) as
/// a file, to keep and to verify offline with the log key.
pub(crate) async fn receipt<S: Store + Identity>(
    State(state): St<S>,
    caller: Result<Caller, ApiError>,
    uri: OriginalUri,
    Path(index): Path<String>,
) -> Result<Response, PageError> {
    let caller = signed_in(caller, &uri)?;
    let read = caller.read()?;
    let index: u64 = index.parse().map_err(|_| PageError::NotFound)?;
    let entry = state.store.entry(read.scope(), index).await?;
    let receipt = state.store.receipt(read.scope(), index).await?;
    let disposition = format!("attachment; filename=\"retrace-receipt-{index}.txt\"");
    let response = (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition).map_err(PageError::internal)?,
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        receipt.to_bytes(),
    )
        .into_response();
    Ok(crate::with_subjects(
        response,
        Subjects::of([&entry.enterprise]),
    ))
}
