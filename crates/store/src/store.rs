//! The storage trait both backends implement.

use std::future::Future;

use retrace_domain::lot::LotId;
use retrace_domain::record::Record;
use retrace_ledger::checkpoint::SignedCheckpoint;
use retrace_ledger::hash::Hash;
use retrace_ledger::receipt::Receipt;

use retrace_domain::enterprise::Designation;
use retrace_domain::facility::{Facility, FacilityId};
use retrace_domain::uscc::Uscc;

use crate::error::StoreError;
use crate::model::{
    Appended, AuditReport, DesignationFilter, EnterpriseFilter, EnterpriseView, EntryFilter,
    EntryView, FacilityFilter, FlagFilter, FlagView, LotView, Page, PageRequest, Position,
    StockFilter,
};
use crate::public::PublicLot;
use crate::scope::{Authority, Scope};
use crate::trace::{Direction, TraceAnswer};
use crate::write::WriteContext;

type Answer<T> = Result<T, StoreError>;

/// A retrace store: the ledger and its projections, behind the caller's scope.
///
/// Every read takes the [`Scope`] of the caller; what lies outside it is
/// answered as if it did not exist ([`StoreError::NotFound`] or an empty page).
/// Every write takes the caller's [`Authority`] and its [`WriteContext`].
/// Ledger-wide values — checkpoints and proofs — carry no confidential data
/// (DESIGN.md §3) and need no scope; nor does [`Store::public_lot`], whose
/// answer has no field for anything confidential.
pub trait Store: Send + Sync + 'static {
    /// Validates, sequences and projects `batch` in one transaction — all or
    /// nothing — with its audit trail entry (refused or not), and answers
    /// with a receipt per record. With an idempotency key already used by the
    /// same caller for the same body, it records nothing and answers with the
    /// first request's receipts ([`Appended::replayed`]).
    ///
    /// # Errors
    /// [`StoreError::Refused`] naming the record and field when any record is
    /// refused; [`StoreError::Forbidden`] when the authority may not write
    /// it; [`StoreError::IdempotencyMismatch`] for a key used with another
    /// body.
    fn append(
        &self,
        authority: &Authority,
        batch: Vec<Record>,
        context: &WriteContext,
    ) -> impl Future<Output = Answer<Appended>> + Send;

    /// The latest signed checkpoint.
    fn checkpoint(&self) -> impl Future<Output = Answer<SignedCheckpoint>> + Send;

    /// Every checkpoint handed out, oldest first, from `after_size` on.
    fn checkpoints(
        &self,
        after_size: u64,
        limit: usize,
    ) -> impl Future<Output = Answer<Vec<SignedCheckpoint>>> + Send;

    /// RFC 9162 §2.1.3 inclusion proof of entry `index` in the tree of `size`.
    fn inclusion_proof(
        &self,
        index: u64,
        size: u64,
    ) -> impl Future<Output = Answer<Vec<Hash>>> + Send;

    /// RFC 9162 §2.1.4 consistency proof between two tree sizes.
    fn consistency_proof(
        &self,
        old: u64,
        new: u64,
    ) -> impl Future<Output = Answer<Vec<Hash>>> + Send;

    /// An entry with its record.
    fn entry(&self, scope: &Scope, index: u64) -> impl Future<Output = Answer<EntryView>> + Send;

    /// A receipt for an entry against the latest checkpoint.
    fn receipt(&self, scope: &Scope, index: u64) -> impl Future<Output = Answer<Receipt>> + Send;

    /// Entries in ledger order.
    fn entries(
        &self,
        scope: &Scope,
        filter: &EntryFilter,
        page: &PageRequest,
    ) -> impl Future<Output = Answer<Page<EntryView>>> + Send;

    /// A lot and its positions.
    fn lot(&self, scope: &Scope, lot: &LotId) -> impl Future<Output = Answer<LotView>> + Send;

    /// Stock positions.
    fn stock(
        &self,
        scope: &Scope,
        filter: &StockFilter,
        page: &PageRequest,
    ) -> impl Future<Output = Answer<Page<Position>>> + Send;

    /// Open flags.
    fn flags(
        &self,
        scope: &Scope,
        filter: &FlagFilter,
        page: &PageRequest,
    ) -> impl Future<Output = Answer<Page<FlagView>>> + Send;

    /// Trace a lot backward to its sources or forward to its holders and exports.
    fn trace(
        &self,
        scope: &Scope,
        lot: &LotId,
        direction: Direction,
        page: &PageRequest,
    ) -> impl Future<Output = Answer<TraceAnswer>> + Send;

    /// Enterprises on the register in scope, by USCC.
    fn enterprises(
        &self,
        scope: &Scope,
        filter: &EnterpriseFilter,
        page: &PageRequest,
    ) -> impl Future<Output = Answer<Page<EnterpriseView>>> + Send;

    /// One enterprise in scope, with its facilities and designations.
    fn enterprise(
        &self,
        scope: &Scope,
        uscc: &Uscc,
    ) -> impl Future<Output = Answer<EnterpriseView>> + Send;

    /// Facilities of enterprises in scope, by id.
    fn facilities(
        &self,
        scope: &Scope,
        filter: &FacilityFilter,
        page: &PageRequest,
    ) -> impl Future<Output = Answer<Page<Facility>>> + Send;

    /// One facility of an enterprise in scope.
    fn facility(
        &self,
        scope: &Scope,
        id: &FacilityId,
    ) -> impl Future<Output = Answer<Facility>> + Send;

    /// Designations of enterprises in scope, by enterprise, category and start.
    fn designations(
        &self,
        scope: &Scope,
        filter: &DesignationFilter,
        page: &PageRequest,
    ) -> impl Future<Output = Answer<Page<Designation>>> + Send;

    /// What the public may know of a lot (issue 3 §6): see [`crate::public`].
    fn public_lot(&self, lot: &LotId) -> impl Future<Output = Answer<PublicLot>> + Send;

    /// Re-reads and rehashes every entry, recomputes the root, checks every
    /// stored checkpoint (and `extra`, held outside the store) against it, and
    /// rebuilds every projection to compare row by row.
    fn audit(&self, extra: Option<Vec<u8>>) -> impl Future<Output = Answer<AuditReport>> + Send;
}
