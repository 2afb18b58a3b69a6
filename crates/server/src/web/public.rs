//! The page a package's QR code opens (Art. 10: nobody may buy, process or
//! sell illegally produced material): the product, its producer and its
//! designation, the chain it was made from, and the proof that the record
//! is intact — every inclusion proof checked here against the signed
//! checkpoint, and the data to check it oneself. It is built from the
//! store's `public_lot` answer alone, whose types hold nothing confidential.

use askama::Template;
use axum::extract::{OriginalUri, Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use retrace_access::Language;
use retrace_domain::lot::LotId;
use retrace_ledger::checkpoint::{LogVerifier, SignedCheckpoint};
use retrace_ledger::hash::{Hash, leaf_hash};
use retrace_ledger::proof::verify_inclusion;
use retrace_store::public::{PublicLot, PublicParty, PublicStep};
use retrace_store::trace::EdgeBasis;
use retrace_store::{Identity, Store};

use super::chrome::Chrome;
use super::i18n::Tr;
use super::lot::product_name;
use super::view::{lot_path, render};
use super::{PageError, St};
use crate::AppState;

/// A step of the chain, as the public page shows it.
struct StepView {
    lot: String,
    href: String,
    product: String,
    how: &'static str,
    day: String,
    producer: String,
    designated: Vec<String>,
    facility: String,
    attributed: bool,
    entry: u64,
    proven: bool,
}

#[derive(Template)]
#[template(path = "public.html")]
struct PublicPage {
    p: Chrome,
    own: StepView,
    chain: Vec<StepView>,
    truncated: bool,
    attributed: bool,
    proofs: usize,
    proven: usize,
    signed: bool,
    size: u64,
    root: String,
    checkpoint: String,
    log_key: String,
    api: String,
}

fn party_name(t: Tr, party: &PublicParty) -> String {
    match (t.language(), &party.name_en) {
        (Language::En, Some(en)) => en.clone(),
        _ if !party.name_zh.is_empty() => party.name_zh.clone(),
        _ => party.uscc.to_string(),
    }
}

fn step_view(t: Tr, step: &PublicStep, proven: &[u64]) -> StepView {
    StepView {
        href: format!("/{}", lot_path(step.lot.as_str())),
        lot: step.lot.to_string(),
        product: product_name(t, &step.product, step.day),
        how: t.of("made", step.kind.as_str()),
        day: step.day.to_string(),
        producer: party_name(t, &step.producer),
        designated: step
            .producer
            .designated
            .iter()
            .map(|d| {
                format!(
                    "{} ({} – {}, {})",
                    t.of("category", &d.category.to_string()),
                    d.valid_from,
                    d.valid_to,
                    d.document
                )
            })
            .collect(),
        facility: step
            .facility
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        attributed: step.basis == EdgeBasis::Attributed,
        entry: step.entry,
        proven: proven.contains(&step.entry),
    }
}

/// The entries whose inclusion proofs lead to the signed checkpoint, and
/// whether its signature holds.
fn verify(public: &PublicLot, log_key: &str) -> (bool, u64, String, Vec<u64>) {
    let Ok(verifier) = LogVerifier::from_vkey(log_key.trim()) else {
        return (false, 0, String::new(), Vec::new());
    };
    let Ok(checkpoint) =
        SignedCheckpoint::parse_and_verify(public.checkpoint.as_bytes(), &verifier)
    else {
        return (false, 0, String::new(), Vec::new());
    };
    let root = checkpoint.root();
    let proven = public
        .proofs
        .iter()
        .filter(|p| {
            let leaf = leaf_hash(p.entry.as_bytes());
            let path: Option<Vec<Hash>> = p.proof.iter().map(|h| h.parse().ok()).collect();
            leaf.to_string() == p.leaf
                && path.is_some_and(|path| {
                    verify_inclusion(&leaf, p.index, checkpoint.size(), &path, &root).is_ok()
                })
        })
        .map(|p| p.index)
        .collect();
    (true, checkpoint.size(), root.to_string(), proven)
}

async fn show<S: Store + Identity>(
    state: &AppState<S>,
    headers: &HeaderMap,
    uri: &OriginalUri,
    lot: &str,
) -> Result<Response, PageError> {
    let id = LotId::parse(lot).map_err(|_| PageError::NotFound)?;
    let public = state.store.public_lot(&id).await?;
    let p = Chrome::anonymous(headers, &uri.0, "title.public");
    let t = p.t;
    let (signed, size, root, proven) = verify(&public, &state.verifier_key);
    let page = PublicPage {
        own: step_view(t, &public.lot, &proven),
        chain: public
            .chain
            .iter()
            .map(|s| step_view(t, s, &proven))
            .collect(),
        truncated: public.truncated,
        attributed: public.attributed,
        proofs: public.proofs.len(),
        proven: proven.len(),
        signed,
        size,
        root,
        checkpoint: public.checkpoint.clone(),
        log_key: public.log_key.clone(),
        api: format!("/api/v1/public/lots/{}", lot_path(id.as_str())),
        p,
    };
    render(&page)
}

/// `GET /01/{gtin}/10/{lot}`: the Digital Link of a lot with a GTIN.
pub(crate) async fn by_gtin<S: Store + Identity>(
    State(state): St<S>,
    headers: HeaderMap,
    uri: OriginalUri,
    Path((gtin, number)): Path<(String, String)>,
) -> Result<Response, PageError> {
    show(&state, &headers, &uri, &format!("01/{gtin}/10/{number}")).await
}

/// `GET /uscc/{uscc}/10/{lot}`: the system-issued equivalent for an
/// enterprise without GS1 keys.
pub(crate) async fn by_uscc<S: Store + Identity>(
    State(state): St<S>,
    headers: HeaderMap,
    uri: OriginalUri,
    Path((uscc, number)): Path<(String, String)>,
) -> Result<Response, PageError> {
    show(&state, &headers, &uri, &format!("uscc/{uscc}/10/{number}")).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_way_a_lot_is_made_has_a_label() {
        let t = super::Tr::new(retrace_access::Language::En);
        for kind in retrace_domain::flow::FlowKind::ALL {
            assert_ne!(t.of("made", kind.as_str()), super::super::i18n::MISSING);
        }
    }
}
