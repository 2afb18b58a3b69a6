//! What stores answer: views of entries, lots, stock and flags, and pages of them.

use retrace_domain::enterprise::{Designation, Enterprise, EnterpriseKind, Group, QuotaCategory};
use retrace_domain::facility::Facility;
use retrace_domain::lot::LotId;
use retrace_domain::project::{Flag, LotState};
use retrace_domain::record::Record;
use retrace_domain::region::RegionCode;
use retrace_domain::rules::Rule;
use retrace_domain::uscc::Uscc;
use retrace_ledger::checkpoint::SignedCheckpoint;
use retrace_ledger::hash::Hash;
use retrace_ledger::receipt::Receipt;
use serde::Serialize;
use time::Date;

/// The most items one page holds.
pub const MAX_PAGE: usize = 1_000;

/// Which page of a listing: items after the cursor, at most `limit`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageRequest {
    /// An opaque cursor from a previous page's `next`.
    pub after: Option<String>,
    pub limit: usize,
}

impl PageRequest {
    pub fn first(limit: usize) -> PageRequest {
        PageRequest { after: None, limit }
    }

    /// The limit, between 1 and [`MAX_PAGE`].
    pub fn clamped_limit(&self) -> usize {
        self.limit.clamp(1, MAX_PAGE)
    }
}

/// One page of a listing, with the cursor of the next if there is one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// A ledger entry with the record it holds, as its owner may see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EntryView {
    pub index: u64,
    /// When the system recorded it (RFC 3339, UTC).
    pub record_time: String,
    pub kind: String,
    pub enterprise: Uscc,
    /// The RFC 9162 leaf hash, lowercase hex.
    #[serde(serialize_with = "hash_hex")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub leaf: Hash,
    pub record: Record,
    /// The entry that declared this one wrong, if any.
    pub corrected_by: Option<u64>,
}

/// What one batch appended.
#[derive(Clone, Debug)]
pub struct Appended {
    /// One receipt per record, in batch order.
    pub receipts: Vec<Receipt>,
    /// The checkpoint every receipt proves inclusion in.
    pub checkpoint: SignedCheckpoint,
    /// Whether this answers a retried request: the batch was recorded by the
    /// first request with the same idempotency key, and nothing new was.
    pub replayed: bool,
}

/// Stock of one lot at one holder for one owner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Position {
    pub lot: LotId,
    pub holder: Uscc,
    pub owner: Uscc,
    /// Wet mass in grams.
    pub mass: i64,
    /// REO in grams.
    pub reo: i64,
}

/// A lot with where it is now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LotView {
    pub state: LotState,
    pub positions: Vec<Position>,
}

/// Which entries to list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EntryFilter {
    pub enterprise: Option<Uscc>,
    pub lot: Option<LotId>,
    /// A kind token: `flow.ship`, `act.designate`, …
    pub kind: Option<String>,
}

/// Which flags to list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlagFilter {
    pub rule: Option<Rule>,
    pub enterprise: Option<Uscc>,
    /// `YYYY-MM`.
    pub month: Option<String>,
}

/// Which stock to list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StockFilter {
    pub holder: Option<Uscc>,
    pub lot: Option<LotId>,
    /// Include positions that have gone to zero.
    pub include_empty: bool,
}

/// A listed flag.
pub type FlagView = Flag;

/// The result of an audit: empty when everything holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AuditReport {
    pub entries: u64,
    #[serde(serialize_with = "optional_hash_hex")]
    pub root: Option<Hash>,
    pub checkpoints_checked: u64,
    pub rows_compared: u64,
    /// Entries of the audit trail re-read and rehashed.
    pub trail_entries: u64,
    #[serde(serialize_with = "optional_hash_hex")]
    pub trail_root: Option<Hash>,
    pub trail_checkpoints_checked: u64,
    pub problems: Vec<AuditProblem>,
}

/// One thing the audit found wrong, named down to the table, key and column.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditProblem {
    pub table: String,
    pub key: String,
    pub column: Option<String>,
    pub detail: String,
}

/// Hashes travel as lowercase hex, the form checkpoints and proofs print.
fn hash_hex<S: serde::Serializer>(hash: &Hash, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(hash)
}

fn optional_hash_hex<S: serde::Serializer>(hash: &Option<Hash>, s: S) -> Result<S::Ok, S::Error> {
    match hash {
        Some(h) => s.collect_str(h),
        None => s.serialize_none(),
    }
}

/// Which enterprises of the register to list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnterpriseFilter {
    pub group: Option<Group>,
    pub kind: Option<EnterpriseKind>,
    /// Enterprises whose seat or any facility lies in this region.
    pub region: Option<RegionCode>,
}

/// An enterprise with its facilities (and their permits) and designations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnterpriseView {
    #[serde(flatten)]
    pub enterprise: Enterprise,
    pub facilities: Vec<Facility>,
    pub designations: Vec<Designation>,
}

/// Which facilities to list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FacilityFilter {
    pub operator: Option<Uscc>,
    /// Facilities in this region.
    pub region: Option<RegionCode>,
}

/// Which designations to list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DesignationFilter {
    pub enterprise: Option<Uscc>,
    pub category: Option<QuotaCategory>,
    /// Only those in force on this day.
    pub valid_on: Option<Date>,
}
