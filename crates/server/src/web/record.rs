//! Recording one flow in a form (Art. 10: enterprises record the flow of
//! their products truthfully as it happens): a form per kind, checked as
//! the clerk types by the parser that reads uploads ([`super::form`]), and
//! recorded through the store with the caller's authority. Each form carries
//! its own idempotency key, so a double submit — a second click, a reload
//! of the answer — records once and shows the first receipt again.

use askama::Template;
use axum::Form;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use rand_core::{OsRng, RngCore};
use retrace_domain::flow::FlowKind;
use retrace_domain::product::Catalogue;
use retrace_domain::record::Record;
use retrace_domain::rules::Rule;
use retrace_domain::uscc::Uscc;
use retrace_ledger::hash::leaf_hash;
use retrace_store::{FlagFilter, Idempotency, Identity, PageRequest, Store, WriteContext};

use super::chrome::Chrome;
use super::form::{self, Field, Input, Part, Problem, TRANSFORM_PARTS, Values};
use super::i18n::Tr;
use super::view::{lot_path, render};
use super::{PageError, St, signed_in, signed_in_form};
use crate::AppState;
use crate::auth::{Caller, Subjects, Trailed};
use crate::problem::ApiError;

/// A kind of flow on the menu of forms.
struct KindView {
    href: String,
    name: &'static str,
    about: &'static str,
}

#[derive(Template)]
#[template(path = "record_kinds.html")]
struct KindsPage {
    p: Chrome,
    kinds: Vec<KindView>,
}

/// `GET /record`: the kinds of flow, each with what it is for.
pub(crate) async fn kinds<S: Store + Identity>(
    State(state): St<S>,
    caller: Result<Caller, ApiError>,
    uri: OriginalUri,
) -> Result<Response, PageError> {
    let caller = signed_in(caller, &uri)?;
    own_enterprise(&caller)?;
    let p = Chrome::new(&state, &caller, &uri.0, "title.record").await?;
    let kinds = FlowKind::ALL
        .iter()
        .map(|k| KindView {
            href: format!("/record/{}", k.as_str()),
            name: p.t.of("kind", k.as_str()),
            about: p.t.of("kind_about", k.as_str()),
        })
        .collect();
    render(&KindsPage { p, kinds })
}

/// The enterprise whose flows the caller records.
fn own_enterprise(caller: &Caller) -> Result<Uscc, PageError> {
    caller.authority()?;
    caller
        .principal()
        .role()
        .enterprise()
        .cloned()
        .ok_or(PageError::Denied)
}

fn flow_kind(token: &str) -> Result<FlowKind, PageError> {
    FlowKind::ALL
        .into_iter()
        .find(|k| k.as_str() == token)
        .ok_or(PageError::NotFound)
}

/// One option of a choice.
pub(crate) struct OptionView {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// One field of a form, as shown.
pub(crate) struct FieldView {
    pub name: String,
    pub label: &'static str,
    pub hint: &'static str,
    pub required: bool,
    /// `text`, `time` or `choice`.
    pub input: &'static str,
    pub options: Vec<OptionView>,
    pub value: String,
    pub error: Option<ErrorView>,
}

/// An error at a field, in words.
#[derive(Clone)]
pub(crate) struct ErrorView {
    /// Why the store refused it, in the page's language.
    pub reason: &'static str,
    /// How the field is written, in the page's language.
    pub hint: &'static str,
    /// What the parser or the projector said (English).
    pub detail: String,
}

/// A group of fields: the flow's own, or one input or output of a transformation.
pub(crate) struct Fieldset {
    pub legend: String,
    pub fields: Vec<FieldView>,
}

#[derive(Template)]
#[template(path = "record_form.html")]
struct FormPage {
    p: Chrome,
    kind: &'static str,
    about: &'static str,
    idem: String,
    sets: Vec<Fieldset>,
    general: Option<ErrorView>,
}

fn value_of(values: &Values, name: &str) -> String {
    values
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

fn error_view(t: Tr, column: &str, problem: &Problem) -> ErrorView {
    ErrorView {
        reason: problem.reason.map_or("", |r| t.of("refusal", r)),
        hint: t.of("hint", column),
        detail: problem.detail.clone(),
    }
}

fn field_view(
    t: Tr,
    field: &Field,
    name: String,
    values: &Values,
    problem: Option<&Problem>,
    today: time::Date,
) -> FieldView {
    let value = value_of(values, &name);
    let options = match field.input {
        Input::Choice(prefix, tokens) => tokens
            .iter()
            .map(|token| OptionView {
                value: (*token).to_owned(),
                label: t.of(prefix, token).to_owned(),
                selected: value == *token,
            })
            .collect(),
        Input::Product => Catalogue::embedded()
            .all()
            .filter(|p| p.in_force(today))
            .map(|p| OptionView {
                value: p.code.as_str().to_owned(),
                label: format!(
                    "{} · {}",
                    p.code.as_str(),
                    match t.language() {
                        retrace_access::Language::Zh => &p.name_zh,
                        retrace_access::Language::En => &p.name_en,
                    }
                ),
                selected: value == p.code.as_str(),
            })
            .collect(),
        Input::Text | Input::Time => Vec::new(),
    };
    let error = problem
        .filter(|p| p.field.as_deref() == Some(name.as_str()))
        .map(|p| error_view(t, field.column, p));
    FieldView {
        label: form::label(t, field.column),
        hint: t.of("hint", field.column),
        required: field.required,
        input: match field.input {
            Input::Time => "time",
            Input::Choice(..) | Input::Product => "choice",
            Input::Text => "text",
        },
        options,
        value,
        error,
        name,
    }
}

/// The fieldsets of a form of `kind`, filled with `values`.
fn fieldsets(
    t: Tr,
    kind: FlowKind,
    values: &Values,
    problem: Option<&Problem>,
    today: time::Date,
) -> Vec<Fieldset> {
    let own = form::fields(kind)
        .iter()
        .map(|f| field_view(t, f, f.column.to_owned(), values, problem, today))
        .collect();
    let mut sets = vec![Fieldset {
        legend: t.of("kind", kind.as_str()).to_owned(),
        fields: own,
    }];
    if kind == FlowKind::Transform {
        for k in 1..=TRANSFORM_PARTS {
            let part = Part::Input(k);
            sets.push(Fieldset {
                legend: t.f("record.input", k),
                fields: form::input_fields()
                    .iter()
                    .map(|f| {
                        field_view(
                            t,
                            f,
                            form::part_name(part, f.column),
                            values,
                            problem,
                            today,
                        )
                    })
                    .collect(),
            });
        }
        for k in 1..=TRANSFORM_PARTS {
            let part = Part::Output(k);
            sets.push(Fieldset {
                legend: t.f("record.output", k),
                fields: form::output_fields()
                    .iter()
                    .map(|f| {
                        field_view(
                            t,
                            f,
                            form::part_name(part, f.column),
                            values,
                            problem,
                            today,
                        )
                    })
                    .collect(),
            });
        }
    }
    sets
}

/// A fresh idempotency key for a form: 128 random bits in hex.
pub(crate) fn idempotency_key() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The values a new form starts with: now, and the enterprise's lot prefix.
fn defaults<S>(state: &AppState<S>, kind: FlowKind, own: &Uscc) -> Values {
    let now = state.clock.now().to_offset(super::view::SHANGHAI);
    let mut values = vec![(
        "event_time".to_owned(),
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}",
            now.year(),
            u8::from(now.month()),
            now.day(),
            now.hour(),
            now.minute()
        ),
    )];
    let prefix = format!("uscc/{own}/10/");
    let makes = matches!(
        kind,
        FlowKind::Opening | FlowKind::Extract | FlowKind::Import
    );
    if makes {
        values.push(("lot".to_owned(), prefix.clone()));
    }
    if kind == FlowKind::Transform {
        values.push(("out1_lot".to_owned(), prefix));
    }
    if kind == FlowKind::Opening {
        values.push(("feed_origin".to_owned(), "declared".to_owned()));
    }
    values
}

#[allow(clippy::too_many_arguments, reason = "a form page is all of these")]
async fn form_page<S: Store + Identity>(
    state: &AppState<S>,
    caller: &Caller,
    uri: &OriginalUri,
    kind: FlowKind,
    values: &Values,
    idem: String,
    problem: Option<&Problem>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let p = Chrome::new(state, caller, &uri.0, "title.record").await?;
    let today = state.clock.now().to_offset(super::view::SHANGHAI).date();
    let sets = fieldsets(p.t, kind, values, problem, today);
    let placed = problem.is_some_and(|pr| {
        sets.iter()
            .flat_map(|s| &s.fields)
            .any(|f| pr.field.as_deref() == Some(f.name.as_str()))
    });
    let general = problem
        .filter(|_| !placed)
        .map(|pr| error_view(p.t, pr.field.as_deref().unwrap_or("record"), pr));
    let page = FormPage {
        kind: kind.as_str(),
        about: p.t.of("kind_about", kind.as_str()),
        p,
        idem,
        sets,
        general,
    };
    let mut response = render(&page)?;
    *response.status_mut() = status;
    Ok(response)
}

/// `GET /record/{kind}`: an empty form.
pub(crate) async fn form<S: Store + Identity>(
    State(state): St<S>,
    caller: Result<Caller, ApiError>,
    uri: OriginalUri,
    Path(kind): Path<String>,
) -> Result<Response, PageError> {
    let caller = signed_in(caller, &uri)?;
    let own = own_enterprise(&caller)?;
    let kind = flow_kind(&kind)?;
    let values = defaults(&state, kind, &own);
    form_page(
        &state,
        &caller,
        &uri,
        kind,
        &values,
        idempotency_key(),
        None,
        StatusCode::OK,
    )
    .await
}

#[derive(Template)]
#[template(path = "record_check.html")]
struct CheckFragment {
    t: Tr,
    /// `ok`, `problem` (an error is shown at its field) or `pending` (the
    /// only error is of a field not typed yet).
    state: &'static str,
    fields: Vec<(String, Option<ErrorView>)>,
}

/// `POST /record/{kind}/check`: what the parser says of the form so far, as
/// an htmx fragment — the summary, and each field's error in its place (the
/// error of a field still empty is left for the submit, so that a clerk is
/// not told off for what they have not typed yet).
pub(crate) async fn check<S: Store + Identity>(
    State(state): St<S>,
    caller: Result<Caller, ApiError>,
    uri: OriginalUri,
    headers: HeaderMap,
    Path(kind): Path<String>,
    Form(values): Form<Values>,
) -> Result<Response, PageError> {
    let caller = signed_in_form(caller)?;
    let own = own_enterprise(&caller)?;
    let kind = flow_kind(&kind)?;
    let t = Chrome::new(&state, &caller, &uri.0, "title.record")
        .await?
        .t;
    let written = form::write(kind, &own, &values).map_err(PageError::internal)?;
    let editing = headers
        .get("hx-trigger-name")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let problem = written.parse().err();
    let today = state.clock.now().to_offset(super::view::SHANGHAI).date();
    let mut fields = Vec::new();
    let mut shown = false;
    for set in fieldsets(t, kind, &values, problem.as_ref(), today) {
        for field in set.fields {
            let keep = field.name == editing || !field.value.trim().is_empty();
            let error = field.error.filter(|_| keep);
            shown |= error.is_some();
            fields.push((field.name, error));
        }
    }
    let page = CheckFragment {
        t,
        state: match (&problem, shown) {
            (None, _) => "ok",
            (Some(_), true) => "problem",
            (Some(_), false) => "pending",
        },
        fields,
    };
    render(&page)
}

#[derive(Template)]
#[template(path = "record_done.html")]
struct DonePage {
    p: Chrome,
    kind: &'static str,
    index: u64,
    leaf: String,
    replayed: bool,
    lot: Option<(String, String)>,
    matching: Option<&'static str>,
}

/// The lot a flow names, for the link on the answer.
fn lot_of(record: &Record) -> Option<String> {
    use retrace_domain::flow::Flow;
    let Record::Flow(f) = record else {
        return None;
    };
    let lot = match &f.flow {
        Flow::Opening(o) => &o.output.lot,
        Flow::Extract(e) => &e.output.lot,
        Flow::Import(i) => &i.output.lot,
        Flow::Transform(t) => &t.outputs.first()?.lot,
        Flow::Ship(s) => &s.lot,
        Flow::Receive(r) => &r.lot,
        Flow::Transfer(t) => &t.lot,
        Flow::Export(e) => &e.lot,
        Flow::Adjust(a) => &a.lot,
        Flow::Correction(_) => return None,
    };
    Some(lot.to_string())
}

/// Whether a receipt found its shipment, or a shipment its receipt: the
/// flags of the two rules that watch the pair.
async fn matching<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    record: &Record,
) -> Result<Option<&'static str>, PageError> {
    use retrace_domain::flow::Flow;
    let Record::Flow(f) = record else {
        return Ok(None);
    };
    let (sender, number) = match &f.flow {
        Flow::Receive(r) => (&r.from, &r.shipment),
        Flow::Ship(s) => (&f.enterprise, &s.shipment),
        _ => return Ok(None),
    };
    let read = caller.read()?;
    let scope = read.scope();
    let raised = |rule: Rule| {
        let key = format!("{}:{sender}:{number}", rule.as_str());
        let filter = FlagFilter {
            rule: Some(rule),
            ..FlagFilter::default()
        };
        async move {
            let page = PageRequest::first(retrace_store::MAX_PAGE);
            let found = state.store.flags(scope, &filter, &page).await?;
            Ok::<bool, PageError>(found.items.iter().any(|flag| flag.key == key))
        }
    };
    let receipt = matches!(f.flow, Flow::Receive(_));
    Ok(Some(if raised(Rule::TransferMismatch).await? {
        "record.mismatch"
    } else if receipt && raised(Rule::ReceiveWithoutShip).await? {
        "record.unconfirmed"
    } else if receipt {
        "record.matched"
    } else {
        "record.shipped"
    }))
}

/// `POST /record/{kind}`: records the form's flow, or shows the form again
/// with the error at its field.
pub(crate) async fn submit<S: Store + Identity>(
    State(state): St<S>,
    caller: Result<Caller, ApiError>,
    uri: OriginalUri,
    Path(kind): Path<String>,
    Form(values): Form<Values>,
) -> Result<Response, PageError> {
    let caller = signed_in_form(caller)?;
    let own = own_enterprise(&caller)?;
    let kind = flow_kind(&kind)?;
    let idem = value_of(&values, "idem");
    let written = form::write(kind, &own, &values).map_err(PageError::internal)?;
    let again = |problem: Problem| {
        let (state, caller, uri, values, idem) = (&state, &caller, &uri, &values, idem.clone());
        async move {
            form_page(
                state,
                caller,
                uri,
                kind,
                values,
                idem,
                Some(&problem),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    };
    let rows = match written.parse() {
        Ok(rows) => rows,
        Err(problem) => return again(problem).await,
    };
    let records: Vec<Record> = rows.iter().map(|r| r.record.clone()).collect();
    let idempotency = Idempotency::new(&idem, &written.csv).ok();
    let context = WriteContext {
        actor: caller.actor(),
        request: format!("POST /record/{} (web form)", kind.as_str()),
        idempotency,
    };
    let authority = caller.authority()?;
    let appended = match state
        .store
        .append(&authority, records.clone(), &context)
        .await
    {
        Ok(a) => a,
        Err(e) => {
            let Some(problem) = written.store_problem(&rows, &e) else {
                return Err(e.into());
            };
            // The store put the refusal on the trail with the batch.
            let mut response = again(problem).await?;
            response.extensions_mut().insert(Trailed);
            return Ok(response);
        }
    };
    let receipt = appended
        .receipts
        .first()
        .ok_or_else(|| PageError::internal("an append answered without a receipt"))?;
    let record = records
        .first()
        .ok_or_else(|| PageError::internal("a form wrote no record"))?;
    let p = Chrome::new(&state, &caller, &uri.0, "title.recorded").await?;
    let matching = matching(&state, &caller, record).await?;
    let page = DonePage {
        kind: p.t.of("kind", kind.as_str()),
        index: receipt.index,
        leaf: leaf_hash(&receipt.entry).to_string(),
        replayed: appended.replayed,
        lot: lot_of(record).map(|l| (lot_path(&l), l)),
        matching,
        p,
    };
    let mut response = super::view::render_for(&page, Subjects::of([&own]))?;
    response.extensions_mut().insert(Trailed);
    Ok(response)
}
