//! Public verification (issue 3 §6; Art. 10: nobody may buy, process or sell
//! illegally produced material): what the QR code on a package opens, with no
//! login. Given a lot's code: the product, its producer and whether the
//! producer was designated, the chain of lots it was made from — each with
//! how and by whom it was made — and an inclusion proof of every step over
//! the ledger's public commitments.
//!
//! Nothing confidential: no quantities, no counterparties, no allocations,
//! no documents. The types of this module have no field that could hold
//! one, so a store cannot leak one through them; everything they show is
//! either in the public part of a ledger entry (its kind, enterprise, lots and
//! times) or on the public register (enterprise names and designations, Art.
//! 6–7).

use std::collections::BTreeMap;

use retrace_domain::enterprise::{Designation, QuotaCategory};
use retrace_domain::facility::FacilityId;
use retrace_domain::flow::FlowKind;
use retrace_domain::lot::LotId;
use retrace_domain::product::ProductCode;
use retrace_domain::uscc::Uscc;
use retrace_ledger::checkpoint::SignedCheckpoint;
use retrace_ledger::hash::leaf_hash;
use retrace_ledger::proof::inclusion_proof;
use retrace_ledger::tree::NodeReader;
use serde::Serialize;
use time::{Date, OffsetDateTime, UtcOffset};

use crate::codec::{Corrupt, Decoded, date_text, token};
use crate::error::StoreError;
use crate::model::PageRequest;
use crate::trace::{Direction, EdgeBasis, TraceNode, TraceSource, trace};

/// The most lots a public answer lists; a longer chain says it is cut.
pub const MAX_PUBLIC_LOTS: usize = 200;

/// A lot as the public sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicLot {
    /// How the lot itself was made.
    pub lot: PublicStep,
    /// The lots it was made from, nearest first (breadth-first, backward).
    pub chain: Vec<PublicStep>,
    /// Whether the chain goes on beyond [`MAX_PUBLIC_LOTS`].
    pub truncated: bool,
    /// Whether any step is attributed over a plant's pool (mass balance,
    /// DESIGN.md §2) rather than recorded batch by batch.
    pub attributed: bool,
    /// The signed checkpoint (C2SP tlog-checkpoint) the proofs lead to.
    pub checkpoint: String,
    /// The log's verifier key, to check the checkpoint's signature.
    pub log_key: String,
    /// One proof per ledger entry the steps name.
    pub proofs: Vec<PublicProof>,
}

/// How one lot came to be.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicStep {
    pub lot: LotId,
    pub product: ProductCode,
    /// `opening`, `extract`, `import` or `transform`.
    pub kind: FlowKind,
    /// The day it was made (its event time, Asia/Shanghai).
    pub day: Date,
    pub producer: PublicParty,
    /// The mine or plant, as on the register.
    pub facility: Option<FacilityId>,
    /// The lots it was made from.
    pub from: Vec<LotId>,
    pub basis: EdgeBasis,
    /// The ledger entry that made it.
    pub entry: u64,
}

/// An enterprise as the public register shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicParty {
    pub uscc: Uscc,
    pub name_zh: String,
    pub name_en: Option<String>,
    /// Its designations as a production enterprise in force on the step's
    /// day (Art. 6, 7); empty when it held none.
    pub designated: Vec<PublicDesignation>,
}

/// A designation in force.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicDesignation {
    pub category: QuotaCategory,
    pub valid_from: Date,
    pub valid_to: Date,
    pub document: String,
}

impl From<&Designation> for PublicDesignation {
    fn from(d: &Designation) -> PublicDesignation {
        PublicDesignation {
            category: d.category,
            valid_from: d.valid_from,
            valid_to: d.valid_to,
            document: d.document.clone(),
        }
    }
}

/// The inclusion proof of one entry: its bytes (public part and salted
/// commitments only) and the RFC 9162 §2.1.3 audit path to the checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicProof {
    pub index: u64,
    /// The entry's canonical bytes (`retrace/entry/v1`), as text.
    pub entry: String,
    /// Its leaf hash, lowercase hex.
    pub leaf: String,
    /// The audit path, lowercase hex, leaf to root.
    pub proof: Vec<String>,
}

/// What a store knows about a lot besides the trace: its product, where and
/// when it was made, and who made it as the register shows them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LotFacts {
    pub product: ProductCode,
    pub producer: Uscc,
    pub facility: Option<FacilityId>,
    pub kind: FlowKind,
    pub day: Date,
    pub entry: u64,
}

/// The reads a public answer needs beyond the trace's.
pub trait PublicSource: TraceSource {
    /// The facts of a lot, or `None` for a lot the ledger does not know.
    fn lot_facts(&self, lot: &LotId) -> Result<Option<LotFacts>, Self::Error>;
    /// An enterprise on the register with its designations in force on `day`.
    fn party(&self, uscc: &Uscc, day: Date) -> Result<Option<PublicParty>, Self::Error>;
}

/// A public chain before the store adds its proofs: the lot's own step, the
/// steps of the lots it came from, whether the chain was cut and whether any
/// step is attributed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chain {
    pub lot: PublicStep,
    pub chain: Vec<PublicStep>,
    pub truncated: bool,
    pub attributed: bool,
}

/// The public chain of `lot`, without the proofs and checkpoint the store
/// adds: `None` when the ledger does not know the lot.
///
/// The source must see every entry (the installation's scope): what is shown
/// is limited by the types, not by a scope.
///
/// # Errors
/// Whatever the source fails with.
pub fn chain<S: PublicSource>(source: &S, lot: &LotId) -> Result<Option<Chain>, S::Error> {
    let Some(own) = step(source, lot, Vec::new(), EdgeBasis::Recorded)? else {
        return Ok(None);
    };
    let answer = trace(
        source,
        lot,
        Direction::Backward,
        &PageRequest::first(crate::trace::MAX_TRACE_EDGES),
    )?;
    // The lots each lot was made from, in the order the walk met them.
    let mut order: Vec<LotId> = Vec::new();
    let mut from: BTreeMap<LotId, (Vec<LotId>, EdgeBasis)> = BTreeMap::new();
    for edge in &answer.edges {
        let TraceNode::Lot { lot: to } = &edge.to else {
            continue;
        };
        let entry = from.entry(to.clone()).or_insert_with(|| {
            order.push(to.clone());
            (Vec::new(), EdgeBasis::Recorded)
        });
        if let TraceNode::Lot { lot: source_lot } = &edge.from
            && !entry.0.contains(source_lot)
        {
            entry.0.push(source_lot.clone());
        }
        if edge.basis == EdgeBasis::Attributed {
            entry.1 = EdgeBasis::Attributed;
        }
    }
    for edge in &answer.edges {
        if let TraceNode::Lot { lot: l } = &edge.from
            && !from.contains_key(l)
        {
            from.insert(l.clone(), (Vec::new(), EdgeBasis::Recorded));
            order.push(l.clone());
        }
    }
    let attributed = answer.attributed;
    let mut truncated = answer.truncated;
    let mut chain = Vec::new();
    let mut own = own;
    for l in order {
        let (sources, basis) = from.remove(&l).unwrap_or((Vec::new(), EdgeBasis::Recorded));
        if &l == lot {
            own.from = sources;
            own.basis = basis;
            continue;
        }
        if chain.len() == MAX_PUBLIC_LOTS {
            truncated = true;
            break;
        }
        if let Some(s) = step(source, &l, sources, basis)? {
            chain.push(s);
        }
    }
    Ok(Some(Chain {
        lot: own,
        chain,
        truncated,
        attributed,
    }))
}

fn step<S: PublicSource>(
    source: &S,
    lot: &LotId,
    from: Vec<LotId>,
    basis: EdgeBasis,
) -> Result<Option<PublicStep>, S::Error> {
    let Some(facts) = source.lot_facts(lot)? else {
        return Ok(None);
    };
    let producer = source
        .party(&facts.producer, facts.day)?
        .unwrap_or_else(|| PublicParty {
            uscc: facts.producer.clone(),
            name_zh: String::new(),
            name_en: None,
            designated: Vec::new(),
        });
    Ok(Some(PublicStep {
        lot: lot.clone(),
        product: facts.product,
        kind: facts.kind,
        day: facts.day,
        producer,
        facility: facts.facility,
        from,
        basis,
        entry: facts.entry,
    }))
}

/// The public answer for `lot` over `source`, with an inclusion proof of
/// every step against `checkpoint` (issue 3 §6): `entry` reads an entry's
/// canonical bytes, `nodes` the ledger's tree.
///
/// # Errors
/// [`StoreError::NotFound`] for a lot the ledger does not know; what the
/// source, `entry` or `nodes` fail with, as internal errors.
pub fn answer<S, E, N>(
    source: &S,
    lot: &LotId,
    checkpoint: &SignedCheckpoint,
    log_key: &str,
    mut entry: impl FnMut(u64) -> Result<Vec<u8>, E>,
    nodes: &N,
) -> Result<PublicLot, StoreError>
where
    S: PublicSource,
    StoreError: From<S::Error> + From<E>,
    N: NodeReader,
{
    let Chain {
        lot: own,
        chain,
        truncated,
        attributed,
    } = self::chain(source, lot)?.ok_or_else(|| StoreError::NotFound(format!("lot {lot}")))?;
    let size = checkpoint.checkpoint().size();
    let mut indices: Vec<u64> = std::iter::once(&own)
        .chain(chain.iter())
        .map(|s| s.entry)
        .collect();
    indices.sort_unstable();
    indices.dedup();
    let mut proofs = Vec::with_capacity(indices.len());
    for index in indices {
        let bytes = entry(index)?;
        let proof = inclusion_proof(index, size, nodes).map_err(StoreError::internal)?;
        proofs.push(PublicProof {
            index,
            leaf: leaf_hash(&bytes).to_string(),
            entry: String::from_utf8_lossy(&bytes).into_owned(),
            proof: proof.iter().map(ToString::to_string).collect(),
        });
    }
    Ok(PublicLot {
        lot: own,
        chain,
        truncated,
        attributed,
        checkpoint: String::from_utf8_lossy(checkpoint.as_bytes()).into_owned(),
        log_key: log_key.to_owned(),
        proofs,
    })
}

/// Asia/Shanghai, in which a day of the measures is counted (DESIGN.md §2).
const SHANGHAI: UtcOffset = match UtcOffset::from_hms(8, 0, 0) {
    Ok(o) => o,
    Err(_) => UtcOffset::UTC,
};

/// The day of the measures a moment (Unix milliseconds) falls on.
///
/// # Errors
/// For a moment beyond what a date can hold.
pub fn shanghai_day(ms: i64) -> Decoded<Date> {
    let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|e| Corrupt::new("event time", e))?;
    Ok(at.to_offset(SHANGHAI).date())
}

/// Designation cursors: enterprise, category and start, unit-separated.
const SEPARATOR: char = '\u{1f}';

/// The cursor after designation `d` in a listing by enterprise, category
/// and start.
pub fn designation_cursor(d: &Designation) -> String {
    format!(
        "{}{SEPARATOR}{}{SEPARATOR}{}",
        d.enterprise,
        token(&d.category).unwrap_or_default(),
        date_text(d.valid_from).unwrap_or_default()
    )
}

/// The enterprise, category and start a designation cursor names.
///
/// # Errors
/// [`StoreError::BadRequest`] for text that is not such a cursor.
pub fn designation_cursor_parts(after: &str) -> Result<[String; 3], StoreError> {
    let parts: Vec<&str> = after.split(SEPARATOR).collect();
    let [e, c, from] = parts.as_slice() else {
        return Err(StoreError::BadRequest(format!(
            "`{after}` is not a cursor of this listing"
        )));
    };
    Ok([e, c, from].map(|t| (*t).to_owned()))
}
