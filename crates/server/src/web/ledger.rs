//! The ledger explorer for auditors (Art. 11, 15: prove that no record was
//! altered or back-dated): the signed checkpoints the log has handed out,
//! the RFC 9162 consistency proof between any two of them verified on the
//! page, and the check of an uploaded receipt (C2SP tlog-proof) against the
//! log key — with the proof that today's log still holds it.

use askama::Template;
use axum::Form;
use axum::extract::{OriginalUri, Query, State};
use axum::response::Response;
use retrace_ledger::checkpoint::{Checkpoint, LogVerifier};
use retrace_ledger::entry::Entry;
use retrace_ledger::proof::verify_consistency;
use retrace_ledger::receipt::Receipt;
use retrace_store::{Identity, Store};
use serde::Deserialize;

use super::chrome::Chrome;
use super::view::render;
use super::{PageError, St, signed_in, signed_in_form};
use crate::AppState;
use crate::auth::Caller;
use crate::problem::ApiError;

/// Checkpoints per page of the list.
const PER_PAGE: usize = 20;

struct CheckpointRow {
    size: u64,
    root: String,
}

/// The outcome of a consistency check between two sizes.
struct Consistency {
    old: u64,
    new: u64,
    /// `None` when it holds; else the message key of what failed.
    failure: Option<&'static str>,
    proof: usize,
}

/// The outcome of a receipt check.
struct ReceiptCheck {
    failure: Option<&'static str>,
    detail: String,
    index: u64,
    leaf: String,
    size: u64,
    kind: String,
    public: String,
    still_held: bool,
}

#[derive(Template)]
#[template(path = "ledger.html")]
struct LedgerPage {
    p: Chrome,
    latest: CheckpointRow,
    note: String,
    rows: Vec<CheckpointRow>,
    after: u64,
    next: Option<u64>,
    consistency: Option<Consistency>,
    receipt: Option<ReceiptCheck>,
    old: String,
    new: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct LedgerQuery {
    #[serde(default)]
    after: Option<u64>,
    #[serde(default)]
    old: Option<String>,
    #[serde(default)]
    new: Option<String>,
}

fn verifier<S>(state: &AppState<S>) -> Result<LogVerifier, PageError> {
    LogVerifier::from_vkey(state.verifier_key.trim()).map_err(PageError::internal)
}

/// The signed checkpoint the log handed out at `size`, verified.
async fn checkpoint_at<S: Store>(
    state: &AppState<S>,
    verifier: &LogVerifier,
    size: u64,
) -> Result<Option<Checkpoint>, PageError> {
    let found = state
        .store
        .checkpoints(size.saturating_sub(1), 1)
        .await?
        .into_iter()
        .next()
        .filter(|c| c.checkpoint().size() == size);
    Ok(found.and_then(|c| c.verify(verifier).ok()))
}

async fn consistency<S: Store>(
    state: &AppState<S>,
    verifier: &LogVerifier,
    old: u64,
    new: u64,
) -> Result<Consistency, PageError> {
    let fail = |failure| Consistency {
        old,
        new,
        failure: Some(failure),
        proof: 0,
    };
    if old > new {
        return Ok(fail("ledger.order"));
    }
    let (Some(a), Some(b)) = (
        checkpoint_at(state, verifier, old).await?,
        checkpoint_at(state, verifier, new).await?,
    ) else {
        return Ok(fail("ledger.no_checkpoint"));
    };
    let proof = state.store.consistency_proof(old, new).await?;
    let holds = verify_consistency(old, new, &a.root(), &b.root(), &proof).is_ok();
    Ok(Consistency {
        old,
        new,
        failure: (!holds).then_some("ledger.inconsistent"),
        proof: proof.len(),
    })
}

async fn page_of<S: Store + Identity>(
    state: &AppState<S>,
    caller: &Caller,
    uri: &OriginalUri,
    q: LedgerQuery,
    receipt: Option<ReceiptCheck>,
) -> Result<Response, PageError> {
    caller.read_trail()?;
    let verifier = verifier(state)?;
    let latest = state.store.checkpoint().await?;
    let after = q.after.unwrap_or(0);
    let listed = state.store.checkpoints(after, PER_PAGE + 1).await?;
    let next = (listed.len() > PER_PAGE)
        .then(|| listed.get(PER_PAGE - 1).map(|c| c.checkpoint().size()))
        .flatten();
    let sizes = |text: &Option<String>| text.as_deref().and_then(|t| t.trim().parse::<u64>().ok());
    let checked = match (sizes(&q.old), sizes(&q.new)) {
        (Some(old), Some(new)) => Some(consistency(state, &verifier, old, new).await?),
        _ => None,
    };
    let p = Chrome::new(state, caller, &uri.0, "title.ledger").await?;
    let page = LedgerPage {
        latest: CheckpointRow {
            size: latest.checkpoint().size(),
            root: latest.checkpoint().root().to_string(),
        },
        note: String::from_utf8_lossy(latest.as_bytes()).into_owned(),
        rows: listed
            .iter()
            .take(PER_PAGE)
            .map(|c| CheckpointRow {
                size: c.checkpoint().size(),
                root: c.checkpoint().root().to_string(),
            })
            .collect(),
        after,
        next,
        consistency: checked,
        receipt,
        old: q.old.unwrap_or_default(),
        new: q.new.unwrap_or_default(),
        p,
    };
    render(&page)
}

/// `GET /ledger`: the checkpoints, and a consistency check when asked.
pub(crate) async fn page<S: Store + Identity>(
    State(state): St<S>,
    caller: Result<Caller, ApiError>,
    uri: OriginalUri,
    Query(q): Query<LedgerQuery>,
) -> Result<Response, PageError> {
    let caller = signed_in(caller, &uri)?;
    page_of(&state, &caller, &uri, q, None).await
}

#[derive(Debug, Deserialize)]
pub(crate) struct ReceiptForm {
    #[serde(default)]
    receipt: String,
}

/// Checks a receipt: its checkpoint's signature and inclusion proof, then
/// that the log as it is now is consistent with the checkpoint it names.
async fn check_receipt<S: Store>(
    state: &AppState<S>,
    text: &str,
) -> Result<ReceiptCheck, PageError> {
    let mut out = ReceiptCheck {
        failure: None,
        detail: String::new(),
        index: 0,
        leaf: String::new(),
        size: 0,
        kind: String::new(),
        public: String::new(),
        still_held: false,
    };
    let normalised = text.replace("\r\n", "\n");
    let receipt = match Receipt::parse(normalised.as_bytes()) {
        Ok(r) => r,
        Err(e) => {
            out.failure = Some("ledger.receipt_malformed");
            out.detail = e.to_string();
            return Ok(out);
        }
    };
    let verified = match receipt.verify(&verifier(state)?) {
        Ok(v) => v,
        Err(e) => {
            out.failure = Some("ledger.receipt_invalid");
            out.detail = e.to_string();
            return Ok(out);
        }
    };
    out.index = verified.index();
    out.leaf = verified.leaf_hash().to_string();
    out.size = verified.checkpoint().size();
    if let Ok(entry) = Entry::decode(verified.entry()) {
        out.kind = entry.kind().to_owned();
        out.public = String::from_utf8_lossy(entry.public()).into_owned();
    }
    let now = state.store.checkpoint().await?;
    let current = now.checkpoint();
    if let Ok(proof) = state
        .store
        .consistency_proof(out.size, current.size())
        .await
    {
        out.still_held = verify_consistency(
            out.size,
            current.size(),
            &verified.checkpoint().root(),
            &current.root(),
            &proof,
        )
        .is_ok();
    }
    Ok(out)
}

/// `POST /ledger/receipt`: verifies a receipt pasted or loaded from a file.
pub(crate) async fn verify_receipt<S: Store + Identity>(
    State(state): St<S>,
    caller: Result<Caller, ApiError>,
    uri: OriginalUri,
    Form(form): Form<ReceiptForm>,
) -> Result<Response, PageError> {
    let caller = signed_in_form(caller)?;
    caller.read_trail()?;
    let checked = check_receipt(&state, &form.receipt).await?;
    let q = LedgerQuery {
        after: None,
        old: None,
        new: None,
    };
    page_of(&state, &caller, &uri, q, Some(checked)).await
}
