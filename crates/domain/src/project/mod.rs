//! Validate and project: what a record means for lots, stock, lineage,
//! transfers and flags (DESIGN.md §3, the "validate" and "project" steps).
//!
//! The projector is pure. It reads the current state through [`StateView`],
//! which every store implements over its own tables, and returns the
//! [`Effects`] the store applies in the same transaction as the ledger append.
//! Both stores therefore share one meaning of every record, and a rebuild
//! from the ledger replays exactly what the live system did.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime, UtcOffset};

use crate::act::{Act, ActRecord};
use crate::distribution::{ElementDistribution, ElementMasses};
use crate::element::Element;
use crate::enterprise::{Designation, Enterprise, EnterpriseKind, QuotaCategory};
use crate::export_control::ExportControls;
use crate::facility::{Facility, FacilityId, FacilityKind, Process};
use crate::flow::{AdjustReason, Flow, FlowEvent, NewLot};
use crate::lot::{FeedOrigin, LotId};
use crate::measurement::Measurement;
use crate::product::{Catalogue, OreType, ProductKind};
use crate::quantity::{Mass, PPM, Share};
use crate::record::Record;
use crate::rules::{Rule, RuleTable, Rules};
use crate::uscc::Uscc;

/// Asia/Shanghai, the time zone of every deadline and month (DESIGN.md §2 "Calendar").
pub const SHANGHAI: UtcOffset = match UtcOffset::from_hms(8, 0, 0) {
    Ok(o) => o,
    Err(_) => UtcOffset::UTC,
};

/// The largest mass one record may move: far above any real lot, low enough
/// that sums of a year cannot overflow.
const MAX_RECORD_MASS: Mass = Mass::from_tonnes(1_000_000);

/// Event times before this are out of range.
const EARLIEST_YEAR: i32 = 2000;

/// The calendar day of a moment in Asia/Shanghai.
pub fn shanghai_date(t: OffsetDateTime) -> Date {
    t.to_offset(SHANGHAI).date()
}

/// The month of a moment in Asia/Shanghai, as `YYYY-MM`.
pub fn shanghai_month(t: OffsetDateTime) -> String {
    let d = shanghai_date(t);
    format!("{:04}-{:02}", d.year(), u8::from(d.month()))
}

/// Milliseconds since the Unix epoch, the order key of event time.
pub fn millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// A lot as the projections hold it: what it was made as, and its content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LotState {
    pub lot: LotId,
    pub product: crate::product::ProductCode,
    pub measurement: Measurement,
    pub distribution: Option<ElementDistribution>,
    pub feed_origin: FeedOrigin,
    /// The enterprise whose flow created the lot.
    pub producer: Uscc,
    pub facility: Option<FacilityId>,
    /// The ledger index of the flow that created it.
    pub created_by: u64,
    pub created_at_ms: i64,
    /// REO of the whole lot as measured.
    pub reo: Mass,
    /// REO per element of the whole lot, where the distribution is known:
    /// grams of oxide in the order of `Element::ALL` (Sc, Y, La … Lu).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<u64>>))]
    pub elements: Option<ElementMasses>,
}

impl LotState {
    /// REO in `mass` of this lot (pro rata of wet mass).
    pub fn reo_of(&self, mass: Mass) -> Mass {
        self.reo
            .scale(mass.grams(), self.measurement.wet_mass.grams())
    }

    /// REO per element in `mass` of this lot.
    pub fn elements_of(&self, mass: Mass) -> Option<ElementMasses> {
        let whole = self.measurement.wet_mass.grams();
        self.elements.map(|e| {
            let mut out = [0u64; 16];
            for (o, v) in out.iter_mut().zip(e) {
                *o = Mass::from_grams(v).scale(mass.grams(), whole).grams();
            }
            out
        })
    }

    /// Whether the lot carries the ionic-clay element signature.
    pub fn ionic(&self, table: &RuleTable) -> bool {
        table.ionic_signature(self.share_ppm(Element::Y), self.share_ppm(Element::Dy))
    }

    /// The share of `element` in the lot's rare earth content, in ppm.
    pub fn share_ppm(&self, element: Element) -> u32 {
        self.distribution
            .as_ref()
            .map_or(0, |d| d.share(element).ppm())
    }
}

/// A change of stock of one lot at one holder for one owner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Movement {
    pub entry: u64,
    pub lot: LotId,
    pub holder: Uscc,
    pub owner: Uscc,
    /// Signed wet mass in grams.
    pub mass: i64,
    /// Signed REO in grams.
    pub reo: i64,
    pub event_ms: i64,
}

/// A recorded lineage edge: `from` went into `to` in a transformation that
/// keeps batches apart (metal smelting, magnet making, ore dressing).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineageEdge {
    pub entry: u64,
    pub from: LotId,
    pub to: LotId,
    pub mass: Mass,
    pub reo: Mass,
}

/// Whether a lot entered or left a transformation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolRole {
    Input,
    Output,
}

/// A lot's part in a transformation at a facility in a month. Trace through a
/// plant that pools its feed attributes over these (DESIGN.md §2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolMember {
    pub entry: u64,
    pub facility: FacilityId,
    pub month: String,
    pub process: Process,
    pub lot: LotId,
    pub role: PoolRole,
    pub mass: Mass,
    pub reo: Mass,
    pub elements: Option<ElementMasses>,
}

/// Identifies one process at one facility in one month.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ProcessMonthKey {
    pub facility: FacilityId,
    pub process: Process,
    pub month: String,
}

/// Running totals of one process at one facility in one month: the basis of
/// recovery and per-element balance checks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessMonth {
    pub in_reo: i64,
    pub out_reo: i64,
    /// REO of inputs (outputs) whose element distribution is known.
    pub in_known: i64,
    pub out_known: i64,
    pub in_elements: [i64; 16],
    pub out_elements: [i64; 16],
    /// REO of inputs with an ionic-clay origin, which has its own separation band.
    pub in_ionic: i64,
    pub transforms: i64,
}

impl ProcessMonth {
    /// Adds `other` (or subtracts it, for a correction) to these totals.
    pub fn add(&mut self, other: &ProcessMonth, sign: i64) {
        self.in_reo += sign * other.in_reo;
        self.out_reo += sign * other.out_reo;
        self.in_known += sign * other.in_known;
        self.out_known += sign * other.out_known;
        self.in_ionic += sign * other.in_ionic;
        self.transforms += sign * other.transforms;
        for i in 0..16 {
            self.in_elements[i] += sign * other.in_elements[i];
            self.out_elements[i] += sign * other.out_elements[i];
        }
    }
}

/// Both sides of one shipment, matched by the sender's shipment number.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipment {
    pub sender: Uscc,
    pub number: String,
    pub ship: Option<ShipSide>,
    pub receive: Option<ReceiveSide>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipSide {
    pub entry: u64,
    pub lot: LotId,
    pub receiver: Uscc,
    pub mass: Mass,
    pub event_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiveSide {
    pub entry: u64,
    pub lot: LotId,
    pub receiver: Uscc,
    pub mass: Mass,
    pub grade: Option<Share>,
    pub event_ms: i64,
}

/// A breach of a rule: which rule, whose, and the ledger entries behind it.
/// Flags are keyed so that a later record can raise, update or clear them —
/// they are a projection of the ledger like any other.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Flag {
    pub key: String,
    pub rule: Rule,
    pub enterprise: Uscc,
    pub facility: Option<FacilityId>,
    pub lot: Option<LotId>,
    pub month: String,
    /// The ledger entries behind it, oldest first (at most [`MAX_FLAG_ENTRIES`]).
    pub entries: Vec<u64>,
    /// How many records broke the rule under this key (a mine extracting
    /// without designation all month is one flag with many occurrences).
    pub occurrences: u64,
    pub detail: String,
}

/// How many entries a flag lists; the rest are found by its key's subject.
pub const MAX_FLAG_ENTRIES: usize = 32;

/// A flag raised (or updated) or cleared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FlagChange {
    Raise(Box<Flag>),
    Clear(String),
}

/// A change to the register.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegistryChange {
    Enterprise(Enterprise),
    Facility(Facility),
    Designation(Designation),
    /// A designation's validity cut short: the last day it still holds.
    Revocation {
        enterprise: Uscc,
        category: QuotaCategory,
        last_day: Date,
    },
}

/// Everything a record changes in the projections.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Effects {
    pub registry: Vec<RegistryChange>,
    pub lots: Vec<LotState>,
    /// Assay revisions: the lot's measurement and content replaced.
    pub lot_revisions: Vec<LotState>,
    pub movements: Vec<Movement>,
    pub edges: Vec<LineageEdge>,
    pub members: Vec<PoolMember>,
    /// Deltas to add to process-month totals.
    pub process_months: Vec<(ProcessMonthKey, ProcessMonth)>,
    /// Shipments to store, replacing what was there.
    pub shipments: Vec<Shipment>,
    /// The entry this record corrects.
    pub corrects: Option<u64>,
    pub flags: Vec<FlagChange>,
}

/// What the projector reads. Each store implements it over its tables; reads
/// see every effect applied earlier in the same batch.
pub trait StateView {
    type Error: std::error::Error + Send + Sync + 'static;

    fn enterprise(&self, uscc: &Uscc) -> Result<Option<Enterprise>, Self::Error>;
    fn facility(&self, id: &FacilityId) -> Result<Option<Facility>, Self::Error>;
    fn designations(&self, uscc: &Uscc) -> Result<Vec<Designation>, Self::Error>;
    fn lot(&self, id: &LotId) -> Result<Option<LotState>, Self::Error>;
    /// Every movement of a lot at a holder.
    fn position(&self, lot: &LotId, holder: &Uscc) -> Result<Vec<Movement>, Self::Error>;
    fn shipment(&self, sender: &Uscc, number: &str) -> Result<Option<Shipment>, Self::Error>;
    fn process_month(&self, key: &ProcessMonthKey) -> Result<ProcessMonth, Self::Error>;
    /// The flag raised under `key`, if any.
    fn flag(&self, key: &str) -> Result<Option<Flag>, Self::Error>;

    /// Whether a flag is raised under `key`.
    fn flag_exists(&self, key: &str) -> Result<bool, Self::Error> {
        self.flag(key).map(|f| f.is_some())
    }
    /// A flow recorded earlier, with the entry that corrected it if any.
    fn flow(&self, entry: u64) -> Result<Option<(FlowEvent, Option<u64>)>, Self::Error>;
    fn entry_movements(&self, entry: u64) -> Result<Vec<Movement>, Self::Error>;
    fn entry_members(&self, entry: u64) -> Result<Vec<PoolMember>, Self::Error>;
}

/// Why a record is refused: it is malformed, refers to nothing, lies in the
/// future or is out of range. The field is a path into the record.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{field}: {message}")]
pub struct Refusal {
    pub field: String,
    pub reason: RefusalReason,
    pub message: String,
}

/// The four reasons to refuse (DESIGN.md §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RefusalReason {
    Malformed,
    Unknown,
    Future,
    OutOfRange,
}

/// A refusal or a failure of the store underneath.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError<E: std::error::Error + 'static> {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("reading state: {0}")]
    State(#[source] E),
}

fn refusal(reason: RefusalReason, field: impl Into<String>, message: impl Into<String>) -> Refusal {
    Refusal {
        field: field.into(),
        reason,
        message: message.into(),
    }
}

fn refuse<T>(
    reason: RefusalReason,
    field: impl Into<String>,
    message: impl Into<String>,
) -> Result<T, Refusal> {
    Err(refusal(reason, field, message))
}

/// The projector: rules, catalogue and export controls, all as dated data.
#[derive(Debug, Clone, Default)]
pub struct Projector {
    rules: Rules,
}

type Outcome<E> = Result<Effects, ProjectError<E>>;

impl Projector {
    pub fn new(rules: Rules) -> Projector {
        Projector { rules }
    }

    /// Validates `record` as entry `index`, recorded at `now`, and returns its effects.
    ///
    /// # Errors
    /// [`ProjectError::Refused`] names the field when the record is malformed,
    /// refers to nothing, lies in the future or is out of range;
    /// [`ProjectError::State`] when the store cannot be read.
    pub fn project<V: StateView>(
        &self,
        index: u64,
        now: OffsetDateTime,
        record: &Record,
        view: &V,
    ) -> Outcome<V::Error> {
        let time = record.time();
        let table = self.rules.in_force(shanghai_date(time));
        if time.year() < EARLIEST_YEAR {
            refuse(
                RefusalReason::OutOfRange,
                time_field(record),
                format!("{time} is before {EARLIEST_YEAR}"),
            )?;
        }
        if (time - now).whole_seconds() > table.future_skew_seconds {
            refuse(
                RefusalReason::Future,
                time_field(record),
                format!("{time} lies in the future (now {now})"),
            )?;
        }
        let mut cx = Context {
            index,
            table,
            view,
            effects: Effects::default(),
        };
        match record {
            Record::Act(act) => cx.act(act)?,
            Record::Flow(flow) => cx.flow(flow)?,
        }
        Ok(cx.effects)
    }
}

fn time_field(record: &Record) -> &'static str {
    match record {
        Record::Flow(_) => "event_time",
        Record::Act(_) => "effective",
    }
}

struct Context<'a, V: StateView> {
    index: u64,
    table: &'a RuleTable,
    view: &'a V,
    effects: Effects,
}

impl<V: StateView> Context<'_, V> {
    fn state<T>(&self, r: Result<T, V::Error>) -> Result<T, ProjectError<V::Error>> {
        r.map_err(ProjectError::State)
    }

    fn known_enterprise(
        &self,
        uscc: &Uscc,
        field: &str,
    ) -> Result<Enterprise, ProjectError<V::Error>> {
        match self.state(self.view.enterprise(uscc))? {
            Some(e) => Ok(e),
            None => Err(refusal(
                RefusalReason::Unknown,
                field,
                format!("enterprise {uscc} is not on the register"),
            )
            .into()),
        }
    }

    fn known_lot(&self, lot: &LotId, field: &str) -> Result<LotState, ProjectError<V::Error>> {
        match self.state(self.view.lot(lot))? {
            Some(l) => Ok(l),
            None => Err(refusal(
                RefusalReason::Unknown,
                field,
                format!("lot {lot} has not been recorded"),
            )
            .into()),
        }
    }

    fn act(&mut self, record: &ActRecord) -> Result<(), ProjectError<V::Error>> {
        match &record.act {
            Act::RegisterEnterprise(e) => {
                if e.kinds.is_empty() {
                    refuse(
                        RefusalReason::Malformed,
                        "kinds",
                        "an enterprise does at least one thing",
                    )?;
                }
                if e.group.is_none()
                    && e.kinds
                        .iter()
                        .any(|k| matches!(k, EnterpriseKind::Mining | EnterpriseKind::Separation))
                {
                    refuse(
                        RefusalReason::OutOfRange,
                        "group",
                        "every mine and separation plant belongs to one of the two groups",
                    )?;
                }
                self.effects
                    .registry
                    .push(RegistryChange::Enterprise(e.clone()));
            }
            Act::RegisterFacility(f) => {
                self.known_enterprise(&f.operator, "operator")?;
                if let Some(existing) = self.state(self.view.facility(&f.id))?
                    && existing.operator != f.operator
                {
                    refuse(
                        RefusalReason::OutOfRange,
                        "id",
                        format!("facility {} is operated by {}", f.id, existing.operator),
                    )?;
                }
                self.effects
                    .registry
                    .push(RegistryChange::Facility(f.clone()));
            }
            Act::Designate(d) => {
                self.known_enterprise(&d.enterprise, "enterprise")?;
                if d.valid_to < d.valid_from {
                    refuse(
                        RefusalReason::Malformed,
                        "valid_to",
                        "the validity ends before it starts",
                    )?;
                }
                self.effects
                    .registry
                    .push(RegistryChange::Designation(d.clone()));
            }
            Act::RevokeDesignation(r) => {
                self.known_enterprise(&r.enterprise, "enterprise")?;
                let held = self.state(self.view.designations(&r.enterprise))?;
                if !held.iter().any(|d| d.category == r.category) {
                    refuse(
                        RefusalReason::Unknown,
                        "category",
                        format!("{} holds no {} designation", r.enterprise, r.category),
                    )?;
                }
                let last_day = r.from.previous_day().unwrap_or(r.from);
                self.effects.registry.push(RegistryChange::Revocation {
                    enterprise: r.enterprise.clone(),
                    category: r.category,
                    last_day,
                });
            }
        }
        Ok(())
    }

    fn flow(&mut self, event: &FlowEvent) -> Result<(), ProjectError<V::Error>> {
        self.known_enterprise(&event.enterprise, "enterprise")?;
        let facility = match &event.facility {
            Some(id) => match self.state(self.view.facility(id))? {
                Some(f) if f.operator == event.enterprise => Some(f),
                Some(_) => refuse(
                    RefusalReason::Unknown,
                    "facility",
                    format!("facility {id} is not operated by {}", event.enterprise),
                )?,
                None => refuse(
                    RefusalReason::Unknown,
                    "facility",
                    format!("facility {id} is not on the register"),
                )?,
            },
            None => None,
        };
        let f = FlowCx {
            event,
            facility: facility.as_ref(),
            day: shanghai_date(event.event_time),
            ms: millis(event.event_time),
        };
        match &event.flow {
            Flow::Opening(o) => {
                let lot = self.new_lot(
                    &f,
                    &o.output,
                    "output",
                    o.output.feed_origin.unwrap_or(FeedOrigin::Declared),
                )?;
                self.check_scrap_fingerprint(&f, &lot);
                self.add_stock(
                    &f,
                    &lot,
                    &event.enterprise,
                    &event.enterprise,
                    lot.measurement.wet_mass,
                );
            }
            Flow::Extract(x) => {
                let Some(mine) = f
                    .facility
                    .filter(|m| matches!(m.kind, FacilityKind::Mine { .. }))
                else {
                    return Err(refusal(
                        RefusalReason::Malformed,
                        "facility",
                        "extraction is recorded at a mine",
                    )
                    .into());
                };
                let lot = self.new_lot(&f, &x.output, "output", FeedOrigin::DomesticOre)?;
                let product = catalogue_product(&lot.product, f.day, "output.product")?;
                if product.kind != ProductKind::OreProduct {
                    refuse(
                        RefusalReason::OutOfRange,
                        "output.product",
                        format!("{} is not an ore product", lot.product.as_str()),
                    )?;
                }
                self.check_extraction(&f, mine)?;
                self.add_stock(
                    &f,
                    &lot,
                    &event.enterprise,
                    &event.enterprise,
                    lot.measurement.wet_mass,
                );
            }
            Flow::Import(i) => {
                check_country(&i.origin_country, "origin_country")?;
                let origin =
                    match catalogue_product(&i.output.product, f.day, "output.product")?.ore_type {
                        Some(OreType::Monazite) => FeedOrigin::Monazite,
                        _ => FeedOrigin::ImportedOre,
                    };
                let lot = self.new_lot(&f, &i.output, "output", origin)?;
                self.check_scrap_fingerprint(&f, &lot);
                self.add_stock(
                    &f,
                    &lot,
                    &event.enterprise,
                    &event.enterprise,
                    lot.measurement.wet_mass,
                );
            }
            Flow::Transform(t) => self.transform(&f, t)?,
            Flow::Ship(s) => {
                check_mass(s.mass, "mass")?;
                let lot = self.known_lot(&s.lot, "lot")?;
                if s.to == event.enterprise {
                    refuse(
                        RefusalReason::Malformed,
                        "to",
                        "a shipment goes to another enterprise",
                    )?;
                }
                self.known_enterprise(&s.to, "to")?;
                check_text(&s.shipment, "shipment")?;
                self.add_stock(&f, &lot, &event.enterprise, &event.enterprise, Mass::ZERO);
                self.remove_stock(&f, &lot, &event.enterprise, &event.enterprise, s.mass);
                let mut shipment = self.shipment(&event.enterprise, &s.shipment)?;
                if shipment.ship.is_some() {
                    refuse(
                        RefusalReason::OutOfRange,
                        "shipment",
                        format!("shipment {} was already recorded", s.shipment),
                    )?;
                }
                shipment.ship = Some(ShipSide {
                    entry: self.index,
                    lot: s.lot.clone(),
                    receiver: s.to.clone(),
                    mass: s.mass,
                    event_ms: f.ms,
                });
                self.match_shipment(shipment, &lot)?;
            }
            Flow::Receive(r) => {
                check_mass(r.mass, "mass")?;
                let lot = self.known_lot(&r.lot, "lot")?;
                if r.from == event.enterprise {
                    refuse(
                        RefusalReason::Malformed,
                        "from",
                        "a receipt comes from another enterprise",
                    )?;
                }
                self.known_enterprise(&r.from, "from")?;
                check_text(&r.shipment, "shipment")?;
                let mut shipment = self.shipment(&r.from, &r.shipment)?;
                if shipment.receive.is_some() {
                    refuse(
                        RefusalReason::OutOfRange,
                        "shipment",
                        format!("shipment {} was already received", r.shipment),
                    )?;
                }
                shipment.receive = Some(ReceiveSide {
                    entry: self.index,
                    lot: r.lot.clone(),
                    receiver: event.enterprise.clone(),
                    mass: r.mass,
                    grade: r.grade,
                    event_ms: f.ms,
                });
                self.add_stock(&f, &lot, &event.enterprise, &event.enterprise, r.mass);
                self.match_shipment(shipment, &lot)?;
            }
            Flow::Transfer(t) => {
                check_mass(t.mass, "mass")?;
                let lot = self.known_lot(&t.lot, "lot")?;
                self.known_enterprise(&t.to, "to")?;
                if t.to == event.enterprise {
                    refuse(
                        RefusalReason::Malformed,
                        "to",
                        "title passes to another enterprise",
                    )?;
                }
                let holder = match &t.holder {
                    Some(h) => {
                        self.known_enterprise(h, "holder")?;
                        h.clone()
                    }
                    None => event.enterprise.clone(),
                };
                self.remove_stock(&f, &lot, &holder, &event.enterprise, t.mass);
                self.add_stock(&f, &lot, &holder, &t.to, t.mass);
            }
            Flow::Export(x) => {
                check_mass(x.mass, "mass")?;
                check_country(&x.destination_country, "destination_country")?;
                let lot = self.known_lot(&x.lot, "lot")?;
                self.remove_stock(&f, &lot, &event.enterprise, &event.enterprise, x.mass);
                if x.licence.as_deref().is_none_or(str::is_empty) {
                    self.check_export_control(&f, &lot)?;
                }
            }
            Flow::Adjust(a) => {
                let lot = self.known_lot(&a.lot, "lot")?;
                if a.change.magnitude() > MAX_RECORD_MASS {
                    refuse(
                        RefusalReason::OutOfRange,
                        "change",
                        "more than any lot can hold",
                    )?;
                }
                match (a.reason, a.grade) {
                    (AdjustReason::AssayRevision, Some(grade)) => {
                        self.revise_assay(&lot, grade, "grade")?
                    }
                    (AdjustReason::AssayRevision, None) => refuse(
                        RefusalReason::Malformed,
                        "grade",
                        "an assay revision gives the revised grade",
                    )?,
                    (_, Some(_)) => refuse(
                        RefusalReason::Malformed,
                        "grade",
                        "only an assay revision changes the grade",
                    )?,
                    (_, None) => {}
                }
                let grams = a.change.grams();
                if grams > 0 {
                    self.add_stock(
                        &f,
                        &lot,
                        &event.enterprise,
                        &event.enterprise,
                        a.change.magnitude(),
                    );
                } else if grams < 0 {
                    self.remove_stock(
                        &f,
                        &lot,
                        &event.enterprise,
                        &event.enterprise,
                        a.change.magnitude(),
                    );
                }
            }
            Flow::Correction(c) => self.correction(&f, c.corrects, &c.reason)?,
        }
        self.check_positions(&f)?;
        Ok(())
    }

    /// Checks a new lot and turns it into lot state.
    fn new_lot(
        &mut self,
        f: &FlowCx<'_>,
        new: &NewLot,
        field: &str,
        origin: FeedOrigin,
    ) -> Result<LotState, ProjectError<V::Error>> {
        let product = catalogue_product(&new.product, f.day, &format!("{field}.product"))?;
        check_mass(
            new.measurement.wet_mass,
            &format!("{field}.measurement.wet_mass"),
        )?;
        if product.distribution_required && new.distribution.is_none() {
            refuse(
                RefusalReason::Malformed,
                format!("{field}.distribution"),
                format!("{} needs its element distribution", product.name_en),
            )?;
        }
        if self.state(self.view.lot(&new.lot))?.is_some()
            || self.effects.lots.iter().any(|l| l.lot == new.lot)
        {
            refuse(
                RefusalReason::OutOfRange,
                format!("{field}.lot"),
                format!("lot {} already exists", new.lot),
            )?;
        }
        let content = match new.measurement.reo(product, new.distribution.as_ref()) {
            Ok(c) => c,
            Err(e) => refuse(
                RefusalReason::Malformed,
                format!("{field}.distribution"),
                e.to_string(),
            )?,
        };
        let lot = LotState {
            lot: new.lot.clone(),
            product: new.product.clone(),
            measurement: new.measurement.clone(),
            distribution: new.distribution.clone(),
            feed_origin: origin,
            producer: f.event.enterprise.clone(),
            facility: f.event.facility.clone(),
            created_by: self.index,
            created_at_ms: f.ms,
            reo: content.total,
            elements: content.by_element,
        };
        self.effects.lots.push(lot.clone());
        Ok(lot)
    }

    fn add_stock(
        &mut self,
        f: &FlowCx<'_>,
        lot: &LotState,
        holder: &Uscc,
        owner: &Uscc,
        mass: Mass,
    ) {
        if mass.is_zero() {
            return;
        }
        self.effects.movements.push(Movement {
            entry: self.index,
            lot: lot.lot.clone(),
            holder: holder.clone(),
            owner: owner.clone(),
            mass: signed(mass),
            reo: signed(lot.reo_of(mass)),
            event_ms: f.ms,
        });
    }

    fn remove_stock(
        &mut self,
        f: &FlowCx<'_>,
        lot: &LotState,
        holder: &Uscc,
        owner: &Uscc,
        mass: Mass,
    ) {
        self.effects.movements.push(Movement {
            entry: self.index,
            lot: lot.lot.clone(),
            holder: holder.clone(),
            owner: owner.clone(),
            mass: -signed(mass),
            reo: -signed(lot.reo_of(mass)),
            event_ms: f.ms,
        });
    }

    fn raise(
        &mut self,
        rule: Rule,
        key: String,
        f: &FlowCx<'_>,
        lot: Option<&LotId>,
        entries: Vec<u64>,
        detail: String,
    ) {
        self.effects.flags.push(FlagChange::Raise(Box::new(Flag {
            key,
            rule,
            enterprise: f.event.enterprise.clone(),
            facility: f.event.facility.clone(),
            lot: lot.cloned(),
            month: shanghai_month(f.event.event_time),
            entries,
            occurrences: 1,
            detail,
        })));
    }

    /// The key of a rule broken record by record at one facility: one flag per
    /// enterprise, facility and month, so that a mine extracting without a
    /// designation all month is one case with every entry behind it.
    fn monthly_key(rule: Rule, event: &FlowEvent) -> String {
        format!(
            "{}:{}:{}:{}",
            rule.as_str(),
            event.enterprise,
            event.facility.as_ref().map_or("-", FacilityId::as_str),
            shanghai_month(event.event_time)
        )
    }

    /// Raises (or adds this record to) the monthly flag of `rule` at the record's facility.
    fn raise_monthly(
        &mut self,
        rule: Rule,
        f: &FlowCx<'_>,
        detail: String,
    ) -> Result<(), ProjectError<V::Error>> {
        let key = Self::monthly_key(rule, f.event);
        let existing = self.pending_flag(&key)?;
        let (mut entries, occurrences) =
            existing.map_or((Vec::new(), 0), |e| (e.entries, e.occurrences));
        if entries.len() < MAX_FLAG_ENTRIES {
            entries.push(self.index);
        }
        let occurrences = occurrences + 1;
        let detail = if occurrences > 1 {
            format!("{detail} ({occurrences} records this month)")
        } else {
            detail
        };
        self.raise(rule, key, f, None, entries, detail);
        if let Some(FlagChange::Raise(flag)) = self.effects.flags.last_mut() {
            flag.occurrences = occurrences;
        }
        Ok(())
    }

    /// The entries of the flag under `key` with this record added: a facility's
    /// month stays one flag while transformations keep it out of band, and it
    /// lists them (the first [`MAX_FLAG_ENTRIES`]).
    fn entries_with_this(&self, key: &str) -> Result<Vec<u64>, ProjectError<V::Error>> {
        let mut entries = self.pending_flag(key)?.map_or_else(Vec::new, |f| f.entries);
        if entries.len() < MAX_FLAG_ENTRIES && !entries.contains(&self.index) {
            entries.push(self.index);
        }
        Ok(entries)
    }

    /// The flag under `key` as this record's effects so far leave it.
    fn pending_flag(&self, key: &str) -> Result<Option<Flag>, ProjectError<V::Error>> {
        for change in self.effects.flags.iter().rev() {
            match change {
                FlagChange::Raise(f) if f.key == key => return Ok(Some((**f).clone())),
                FlagChange::Clear(k) if k == key => return Ok(None),
                _ => {}
            }
        }
        self.state(self.view.flag(key))
    }

    /// Takes a corrected record out of the monthly flags it was counted in. A
    /// record counted beyond the listed entries is recognised by its kind: an
    /// extraction counts in the mining rules, a transformation in the others.
    fn withdraw_monthly(
        &mut self,
        original: &FlowEvent,
        corrected: u64,
    ) -> Result<(), ProjectError<V::Error>> {
        let rules: &[Rule] = match original.flow {
            Flow::Extract(_) => &[Rule::UndesignatedExtraction, Rule::MineLicenceExpired],
            Flow::Transform(_) => &[Rule::UndesignatedSeparation, Rule::TollProcessing],
            _ => &[],
        };
        for rule in rules {
            let key = Self::monthly_key(*rule, original);
            let Some(mut flag) = self.pending_flag(&key)? else {
                continue;
            };
            let listed = flag.entries.len();
            flag.entries.retain(|e| *e != corrected);
            let counted = flag.entries.len() < listed || flag.occurrences > listed as u64;
            if !counted {
                continue;
            }
            flag.occurrences = flag.occurrences.saturating_sub(1);
            if flag.occurrences == 0 {
                self.effects.flags.push(FlagChange::Clear(key));
            } else {
                flag.detail = format!("{} (entry {corrected} corrected)", flag.detail);
                self.effects.flags.push(FlagChange::Raise(Box::new(flag)));
            }
        }
        Ok(())
    }

    /// Mining designation for the mine's ore type (Art. 6, 7) and a valid licence.
    fn check_extraction(
        &mut self,
        f: &FlowCx<'_>,
        mine: &Facility,
    ) -> Result<(), ProjectError<V::Error>> {
        let FacilityKind::Mine {
            ore_type,
            licence,
            licence_valid_to,
            ..
        } = &mine.kind
        else {
            return Ok(());
        };
        let category = match ore_type {
            OreType::Rock => Some(QuotaCategory::MiningRock),
            OreType::Ionic => Some(QuotaCategory::MiningIonic),
            OreType::Monazite => None,
        };
        let held = self.state(self.view.designations(&f.event.enterprise))?;
        let designated = category.is_some_and(|c| held.iter().any(|d| d.covers(c, f.day)));
        if !designated {
            let what = category.map_or(
                "single-mineral monazite mining, which is banned".to_owned(),
                |c| format!("no valid {c} designation on {}", f.day),
            );
            self.raise_monthly(
                Rule::UndesignatedExtraction,
                f,
                format!("extraction at {} with {what}", mine.id),
            )?;
        }
        if *licence_valid_to < f.day {
            self.raise_monthly(
                Rule::MineLicenceExpired,
                f,
                format!(
                    "mining licence {licence} of {} expired on {licence_valid_to}",
                    mine.id
                ),
            )?;
        }
        Ok(())
    }

    /// A scrap lot with an ionic-clay signature is ore laundered as scrap.
    fn check_scrap_fingerprint(&mut self, f: &FlowCx<'_>, lot: &LotState) {
        let is_scrap = Catalogue::embedded()
            .get(&lot.product, f.day)
            .is_some_and(|p| p.kind == ProductKind::Scrap);
        let y = lot.share_ppm(Element::Y);
        if is_scrap && lot.ionic(self.table) {
            self.raise(
                Rule::FingerprintMismatch,
                format!("fingerprint_mismatch:{}", lot.lot),
                f,
                Some(&lot.lot),
                vec![self.index],
                format!(
                    "scrap lot {} carries {} Y, an ionic-clay signature",
                    lot.lot,
                    share_text(y)
                ),
            );
        }
    }

    fn check_export_control(&mut self, f: &FlowCx<'_>, lot: &LotState) -> Result<(), Refusal> {
        let product = catalogue_product(&lot.product, f.day, "lot")?;
        let share = |e: Element| match &lot.distribution {
            Some(d) => d.share(e).ppm(),
            None if product.main_element == Some(e) => PPM,
            None => 0,
        };
        let hits = ExportControls::embedded().controlled_content(
            f.day,
            share,
            self.table.control_threshold_ppm,
        );
        if !hits.is_empty() {
            let list: Vec<String> = hits
                .iter()
                .map(|h| format!("{} ({})", h.element, h.announcement))
                .collect();
            self.raise(
                Rule::ExportWithoutLicence,
                format!("export_without_licence:{}", self.index),
                f,
                Some(&lot.lot),
                vec![self.index],
                format!(
                    "export of {} with controlled content {} and no licence",
                    lot.lot,
                    list.join(", ")
                ),
            );
        }
        Ok(())
    }

    fn transform(
        &mut self,
        f: &FlowCx<'_>,
        t: &crate::flow::Transform,
    ) -> Result<(), ProjectError<V::Error>> {
        let Some(plant) = f
            .facility
            .filter(|p| matches!(p.kind, FacilityKind::Plant { .. }))
        else {
            return Err(refusal(
                RefusalReason::Malformed,
                "facility",
                "a transformation is recorded at a plant",
            )
            .into());
        };
        if t.inputs.is_empty() {
            refuse(
                RefusalReason::Malformed,
                "inputs",
                "a transformation consumes at least one lot",
            )?;
        }
        if t.outputs.is_empty() {
            refuse(
                RefusalReason::Malformed,
                "outputs",
                "a transformation makes at least one lot",
            )?;
        }
        let owner = match &t.toll_owner {
            Some(o) => {
                self.known_enterprise(o, "toll_owner")?;
                o.clone()
            }
            None => f.event.enterprise.clone(),
        };
        let key = ProcessMonthKey {
            facility: plant.id.clone(),
            process: t.process,
            month: shanghai_month(f.event.event_time),
        };
        let mut delta = ProcessMonth {
            transforms: 1,
            ..ProcessMonth::default()
        };
        let mut inputs = Vec::with_capacity(t.inputs.len());
        let mut origin_reo: BTreeMap<FeedOrigin, u64> = BTreeMap::new();
        for (i, input) in t.inputs.iter().enumerate() {
            let field = format!("inputs[{i}]");
            check_mass(input.mass, &format!("{field}.mass"))?;
            let lot = self.known_lot(&input.lot, &format!("{field}.lot"))?;
            let reo = lot.reo_of(input.mass);
            let elements = lot.elements_of(input.mass);
            delta.in_reo += signed(reo);
            if let Some(e) = elements {
                delta.in_known += signed(reo);
                add_elements(&mut delta.in_elements, &e, 1);
            }
            if lot.ionic(self.table) {
                delta.in_ionic += signed(reo);
            }
            *origin_reo.entry(input.feed_origin).or_default() += reo.grams();
            if input.feed_origin != lot.feed_origin && lot.feed_origin != FeedOrigin::Declared {
                self.raise(
                    Rule::OriginMismatch,
                    format!("origin_mismatch:{}:{}", self.index, lot.lot),
                    f,
                    Some(&lot.lot),
                    vec![lot.created_by, self.index],
                    format!(
                        "input {} declared as {:?} but recorded as {:?}",
                        lot.lot, input.feed_origin, lot.feed_origin
                    ),
                );
            }
            if input.feed_origin == FeedOrigin::RecycledScrap && lot.ionic(self.table) {
                self.raise(
                    Rule::FingerprintMismatch,
                    format!("fingerprint_mismatch:{}:{}", self.index, lot.lot),
                    f,
                    Some(&lot.lot),
                    vec![lot.created_by, self.index],
                    format!(
                        "input {} declared as recycled scrap carries {} Y, an ionic-clay signature",
                        lot.lot,
                        share_text(lot.share_ppm(Element::Y))
                    ),
                );
            }
            self.remove_stock(f, &lot, &f.event.enterprise, &owner, input.mass);
            self.effects.members.push(PoolMember {
                entry: self.index,
                facility: plant.id.clone(),
                month: key.month.clone(),
                process: t.process,
                lot: lot.lot.clone(),
                role: PoolRole::Input,
                mass: input.mass,
                reo,
                elements,
            });
            inputs.push((lot, input.mass, reo));
        }
        let origin = if t.process == Process::Recycling {
            FeedOrigin::RecycledScrap
        } else {
            origin_reo
                .iter()
                .max_by_key(|(o, reo)| (**reo, std::cmp::Reverse(**o)))
                .map_or(FeedOrigin::Declared, |(o, _)| *o)
        };
        let mut outputs = Vec::with_capacity(t.outputs.len());
        for (i, out) in t.outputs.iter().enumerate() {
            let lot = self.new_lot(f, out, &format!("outputs[{i}]"), origin)?;
            delta.out_reo += signed(lot.reo);
            if let Some(e) = lot.elements {
                delta.out_known += signed(lot.reo);
                add_elements(&mut delta.out_elements, &e, 1);
            }
            self.add_stock(
                f,
                &lot,
                &f.event.enterprise,
                &owner,
                lot.measurement.wet_mass,
            );
            self.effects.members.push(PoolMember {
                entry: self.index,
                facility: plant.id.clone(),
                month: key.month.clone(),
                process: t.process,
                lot: lot.lot.clone(),
                role: PoolRole::Output,
                mass: lot.measurement.wet_mass,
                reo: lot.reo,
                elements: lot.elements,
            });
            outputs.push(lot);
        }
        if !t.process.pools_feed() {
            self.record_edges(&inputs, &outputs);
        }
        if matches!(t.process, Process::Cracking | Process::Separation) {
            let held = self.state(self.view.designations(&f.event.enterprise))?;
            if !held
                .iter()
                .any(|d| d.covers(QuotaCategory::Separation, f.day))
            {
                self.raise_monthly(
                    Rule::UndesignatedSeparation,
                    f,
                    format!(
                        "smelting separation at {} with no valid separation designation on {}",
                        plant.id, f.day
                    ),
                )?;
            }
        }
        if let Some(toll) = &t.toll_owner {
            let held = self.state(self.view.designations(&f.event.enterprise))?;
            if !held.is_empty() {
                self.raise_monthly(
                    Rule::TollProcessing,
                    f,
                    format!(
                        "quota holder {} processed material owned by {toll}",
                        f.event.enterprise
                    ),
                )?;
            }
        }
        self.process_month(f, key, delta)
    }

    /// Pro-rata lineage for plants that keep batches apart: each output draws on
    /// each input in proportion to the input's REO.
    fn record_edges(&mut self, inputs: &[(LotState, Mass, Mass)], outputs: &[LotState]) {
        let in_total: u64 = inputs.iter().map(|(_, _, reo)| reo.grams()).sum();
        let out_total: u64 = outputs.iter().map(|o| o.reo.grams()).sum();
        for (lot, mass, reo) in inputs {
            for out in outputs {
                self.effects.edges.push(LineageEdge {
                    entry: self.index,
                    from: lot.lot.clone(),
                    to: out.lot.clone(),
                    mass: mass.scale(out.reo.grams(), out_total),
                    reo: out.reo.scale(reo.grams(), in_total),
                });
            }
        }
    }

    /// Adds a delta to the process-month totals and re-checks recovery and,
    /// for pooled plants, the per-element balance.
    fn process_month(
        &mut self,
        f: &FlowCx<'_>,
        key: ProcessMonthKey,
        delta: ProcessMonth,
    ) -> Result<(), ProjectError<V::Error>> {
        let mut totals = self.state(self.view.process_month(&key))?;
        for (k, d) in &self.effects.process_months {
            if *k == key {
                totals.add(d, 1);
            }
        }
        totals.add(&delta, 1);
        self.effects.process_months.push((key.clone(), delta));
        let subject = format!(
            "{}:{}:{}",
            key.facility,
            serde_token(&key.process),
            key.month
        );
        let recovery_key = format!("recovery_out_of_band:{subject}");
        let band = self
            .table
            .recovery_band(key.process, totals.in_ionic * 2 > totals.in_reo);
        let recovery = ratio_ppm(totals.out_reo, totals.in_reo);
        if totals.transforms > 0
            && (recovery < i64::from(band.min_ppm) || recovery > i64::from(band.max_ppm))
        {
            let entries = self.entries_with_this(&recovery_key)?;
            self.raise(
                Rule::RecoveryOutOfBand,
                recovery_key,
                f,
                None,
                entries,
                format!(
                    "{} recovery at {} in {} is {} (band {}–{})",
                    serde_token(&key.process),
                    key.facility,
                    key.month,
                    share_text(u32::try_from(recovery.max(0)).unwrap_or(u32::MAX)),
                    share_text(band.min_ppm),
                    share_text(band.max_ppm)
                ),
            );
        } else if self.state(self.view.flag_exists(&recovery_key))? {
            self.effects.flags.push(FlagChange::Clear(recovery_key));
        }
        if key.process.pools_feed() {
            let balance_key = format!("element_imbalance:{subject}");
            let complete = totals.transforms > 0
                && totals.in_known == totals.in_reo
                && totals.out_known == totals.out_reo;
            let excess: Vec<String> = Element::ALL
                .into_iter()
                .filter(|e| {
                    let i = totals.in_elements[*e as usize];
                    let o = totals.out_elements[*e as usize];
                    let allowed = i
                        + i * i64::from(self.table.element_tolerance_ppm) / i64::from(PPM)
                        + signed(Mass::from_grams(self.table.element_tolerance_grams));
                    complete && o > allowed
                })
                .map(|e| {
                    let i = totals.in_elements[e as usize];
                    let o = totals.out_elements[e as usize];
                    format!(
                        "{e}: {} in, {} out",
                        Mass::from_grams(u64::try_from(i.max(0)).unwrap_or(0)).tonnes(),
                        Mass::from_grams(u64::try_from(o.max(0)).unwrap_or(0)).tonnes()
                    )
                })
                .collect();
            if !excess.is_empty() {
                let entries = self.entries_with_this(&balance_key)?;
                self.raise(
                    Rule::ElementImbalance,
                    balance_key,
                    f,
                    None,
                    entries,
                    format!(
                        "more leaves {} in {} than entered (t REO): {}",
                        key.facility,
                        key.month,
                        excess.join("; ")
                    ),
                );
            } else if self.state(self.view.flag_exists(&balance_key))? {
                self.effects.flags.push(FlagChange::Clear(balance_key));
            }
        }
        Ok(())
    }

    fn shipment(&self, sender: &Uscc, number: &str) -> Result<Shipment, ProjectError<V::Error>> {
        Ok(self
            .state(self.view.shipment(sender, number))?
            .unwrap_or_else(|| Shipment {
                sender: sender.clone(),
                number: number.to_owned(),
                ship: None,
                receive: None,
            }))
    }

    /// Compares the two sides of a shipment and raises or clears its flags.
    fn match_shipment(
        &mut self,
        shipment: Shipment,
        lot: &LotState,
    ) -> Result<(), ProjectError<V::Error>> {
        let subject = format!("{}:{}", shipment.sender, shipment.number);
        let missing_key = format!("receive_without_ship:{subject}");
        let mismatch_key = format!("transfer_mismatch:{subject}");
        match (&shipment.ship, &shipment.receive) {
            (None, Some(r)) => {
                self.effects.flags.push(FlagChange::Raise(Box::new(Flag {
                    key: missing_key,
                    rule: Rule::ReceiveWithoutShip,
                    enterprise: r.receiver.clone(),
                    facility: None,
                    lot: Some(r.lot.clone()),
                    month: month_of_ms(r.event_ms),
                    entries: vec![r.entry],
                    occurrences: 1,
                    detail: format!(
                        "{} received shipment {} of {} from {}, which recorded no such shipment",
                        r.receiver, shipment.number, r.lot, shipment.sender
                    ),
                })));
            }
            (Some(s), Some(r)) => {
                if self.state(self.view.flag_exists(&missing_key))? {
                    self.effects.flags.push(FlagChange::Clear(missing_key));
                }
                let mut problems = Vec::new();
                let diff = s.mass.grams().abs_diff(r.mass.grams());
                if u128::from(diff) * u128::from(PPM)
                    > u128::from(s.mass.grams()) * u128::from(self.table.mass_tolerance_ppm)
                {
                    problems.push(format!("shipped {} but received {}", s.mass, r.mass));
                }
                if let Some(g) = r.grade
                    && g.ppm().abs_diff(lot.measurement.grade.ppm())
                        > self.table.grade_tolerance_ppm
                {
                    problems.push(format!(
                        "grade {} at the sender but {} at the receiver",
                        lot.measurement.grade, g
                    ));
                }
                if s.lot != r.lot {
                    problems.push(format!("lot {} shipped but {} received", s.lot, r.lot));
                }
                if s.receiver != r.receiver {
                    problems.push(format!(
                        "shipped to {} but received by {}",
                        s.receiver, r.receiver
                    ));
                }
                if problems.is_empty() {
                    if self.state(self.view.flag_exists(&mismatch_key))? {
                        self.effects.flags.push(FlagChange::Clear(mismatch_key));
                    }
                } else {
                    self.effects.flags.push(FlagChange::Raise(Box::new(Flag {
                        key: mismatch_key,
                        rule: Rule::TransferMismatch,
                        enterprise: r.receiver.clone(),
                        facility: None,
                        lot: Some(r.lot.clone()),
                        month: month_of_ms(r.event_ms),
                        entries: vec![s.entry, r.entry],
                        occurrences: 1,
                        detail: format!(
                            "shipment {} from {}: {}",
                            shipment.number,
                            shipment.sender,
                            problems.join("; ")
                        ),
                    })));
                }
            }
            (Some(_), None) => {
                if self.state(self.view.flag_exists(&missing_key))? {
                    self.effects.flags.push(FlagChange::Clear(missing_key));
                }
                if self.state(self.view.flag_exists(&mismatch_key))? {
                    self.effects.flags.push(FlagChange::Clear(mismatch_key));
                }
            }
            (None, None) => {}
        }
        self.effects.shipments.push(shipment);
        Ok(())
    }

    fn revise_assay(
        &mut self,
        lot: &LotState,
        grade: Share,
        field: &str,
    ) -> Result<(), ProjectError<V::Error>> {
        let mut revised = lot.clone();
        revised.measurement.grade = grade;
        let made = shanghai_date(ms_time(lot.created_at_ms));
        let product = catalogue_product(&lot.product, made, field)?;
        let content = match revised
            .measurement
            .reo(product, revised.distribution.as_ref())
        {
            Ok(c) => c,
            Err(e) => refuse(RefusalReason::Malformed, field, e.to_string())?,
        };
        revised.reo = content.total;
        revised.elements = content.by_element;
        self.effects.lot_revisions.push(revised);
        Ok(())
    }

    /// Reverses an earlier flow of the same enterprise: its stock movements,
    /// its process-month totals and its side of a shipment.
    fn correction(
        &mut self,
        f: &FlowCx<'_>,
        corrects: u64,
        reason: &str,
    ) -> Result<(), ProjectError<V::Error>> {
        check_text(reason, "reason")?;
        let Some((original, corrected_by)) = self.state(self.view.flow(corrects))? else {
            return Err(refusal(
                RefusalReason::Unknown,
                "corrects",
                format!("entry {corrects} is not a flow"),
            )
            .into());
        };
        if original.enterprise != f.event.enterprise {
            refuse(
                RefusalReason::Unknown,
                "corrects",
                format!("entry {corrects} is not a flow of {}", f.event.enterprise),
            )?;
        }
        if let Some(by) = corrected_by {
            refuse(
                RefusalReason::OutOfRange,
                "corrects",
                format!("entry {corrects} was already corrected by entry {by}"),
            )?;
        }
        if matches!(original.flow, Flow::Correction(_)) {
            refuse(
                RefusalReason::OutOfRange,
                "corrects",
                "a correction is not itself corrected; record the flow again",
            )?;
        }
        for m in self.state(self.view.entry_movements(corrects))? {
            self.effects.movements.push(Movement {
                entry: self.index,
                mass: -m.mass,
                reo: -m.reo,
                event_ms: m.event_ms,
                ..m
            });
        }
        let members = self.state(self.view.entry_members(corrects))?;
        if let Some(first) = members.first() {
            let key = ProcessMonthKey {
                facility: first.facility.clone(),
                process: first.process,
                month: first.month.clone(),
            };
            let mut delta = ProcessMonth {
                transforms: -1,
                ..ProcessMonth::default()
            };
            for m in &members {
                let (reo, known, elements) = match m.role {
                    PoolRole::Input => (
                        &mut delta.in_reo,
                        &mut delta.in_known,
                        &mut delta.in_elements,
                    ),
                    PoolRole::Output => (
                        &mut delta.out_reo,
                        &mut delta.out_known,
                        &mut delta.out_elements,
                    ),
                };
                *reo -= signed(m.reo);
                if let Some(e) = &m.elements {
                    *known -= signed(m.reo);
                    add_elements(elements, e, -1);
                }
            }
            for m in members.iter().filter(|m| m.role == PoolRole::Input) {
                if let Some(lot) = self.state(self.view.lot(&m.lot))?
                    && lot.ionic(self.table)
                {
                    delta.in_ionic -= signed(m.reo);
                }
            }
            self.process_month(f, key, delta)?;
        }
        let number = match &original.flow {
            Flow::Ship(s) => Some((
                original.enterprise.clone(),
                s.shipment.clone(),
                s.lot.clone(),
            )),
            Flow::Receive(r) => Some((r.from.clone(), r.shipment.clone(), r.lot.clone())),
            _ => None,
        };
        if let Some((sender, number, lot)) = number {
            let mut shipment = self.shipment(&sender, &number)?;
            if matches!(original.flow, Flow::Ship(_)) {
                shipment.ship = None;
            } else {
                shipment.receive = None;
            }
            let lot = self.known_lot(&lot, "corrects")?;
            let mismatch_key = format!("transfer_mismatch:{sender}:{number}");
            if self.state(self.view.flag_exists(&mismatch_key))? {
                self.effects.flags.push(FlagChange::Clear(mismatch_key));
            }
            self.match_shipment(shipment, &lot)?;
        }
        let export_key = format!("{}:{corrects}", Rule::ExportWithoutLicence.as_str());
        if self.state(self.view.flag_exists(&export_key))? {
            self.effects.flags.push(FlagChange::Clear(export_key));
        }
        self.withdraw_monthly(&original, corrects)?;
        self.effects.corrects = Some(corrects);
        Ok(())
    }

    /// Re-checks, in event-time order, every position this record moved.
    fn check_positions(&mut self, f: &FlowCx<'_>) -> Result<(), ProjectError<V::Error>> {
        let touched: BTreeSet<(LotId, Uscc)> = self
            .effects
            .movements
            .iter()
            .map(|m| (m.lot.clone(), m.holder.clone()))
            .collect();
        for (lot, holder) in touched {
            let key = format!("negative_stock:{lot}:{holder}");
            let went_down = self
                .effects
                .movements
                .iter()
                .any(|m| m.lot == lot && m.holder == holder && m.mass < 0);
            let flagged = self.state(self.view.flag_exists(&key))?;
            if !went_down && !flagged {
                continue;
            }
            let mut history = self.state(self.view.position(&lot, &holder))?;
            history.extend(
                self.effects
                    .movements
                    .iter()
                    .filter(|m| m.lot == lot && m.holder == holder)
                    .cloned(),
            );
            history.sort_by_key(|m| (m.event_ms, m.entry));
            let mut balance = 0i64;
            let mut first_negative = None;
            let mut lowest = 0i64;
            for m in &history {
                balance += m.mass;
                if balance < lowest {
                    lowest = balance;
                    if first_negative.is_none() && balance < 0 {
                        first_negative = Some(m.entry);
                    }
                }
            }
            match first_negative {
                Some(at) => {
                    let mut entries: Vec<u64> = history
                        .iter()
                        .map(|m| m.entry)
                        .collect::<BTreeSet<_>>()
                        .into_iter()
                        .collect();
                    if entries.len() > MAX_FLAG_ENTRIES {
                        let keep = entries
                            .iter()
                            .position(|e| *e == at)
                            .unwrap_or(0)
                            .min(entries.len() - MAX_FLAG_ENTRIES);
                        entries = entries[keep..keep + MAX_FLAG_ENTRIES].to_vec();
                    }
                    let detail = format!(
                        "stock of {lot} at {holder} falls to -{} in event-time order (entry {at})",
                        Mass::from_grams(lowest.unsigned_abs())
                    );
                    self.effects.flags.push(FlagChange::Raise(Box::new(Flag {
                        key,
                        rule: Rule::NegativeStock,
                        enterprise: holder.clone(),
                        facility: f.event.facility.clone(),
                        lot: Some(lot.clone()),
                        month: shanghai_month(f.event.event_time),
                        entries,
                        occurrences: 1,
                        detail,
                    })));
                }
                None if flagged => self.effects.flags.push(FlagChange::Clear(key)),
                None => {}
            }
        }
        Ok(())
    }
}

struct FlowCx<'a> {
    event: &'a FlowEvent,
    facility: Option<&'a Facility>,
    day: Date,
    ms: i64,
}

fn signed(m: Mass) -> i64 {
    i64::try_from(m.grams()).unwrap_or(i64::MAX)
}

fn add_elements(into: &mut [i64; 16], from: &ElementMasses, sign: i64) {
    for (i, v) in from.iter().enumerate() {
        into[i] += sign * i64::try_from(*v).unwrap_or(i64::MAX);
    }
}

/// `num / den` in ppm; a positive numerator over zero is infinitely high.
fn ratio_ppm(num: i64, den: i64) -> i64 {
    if den <= 0 {
        return if num > 0 { i64::MAX } else { i64::from(PPM) };
    }
    i64::try_from(i128::from(num) * i128::from(PPM) / i128::from(den)).unwrap_or(i64::MAX)
}

fn share_text(ppm: u32) -> String {
    Share::from_ppm(ppm.min(PPM)).map_or_else(
        || format!(">{}", Share::WHOLE),
        |s| {
            if ppm > PPM {
                format!("{}.{:04}%", ppm / 10_000, ppm % 10_000)
            } else {
                s.to_string()
            }
        },
    )
}

fn serde_token<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The moment `ms` milliseconds after the Unix epoch.
pub fn ms_time(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn month_of_ms(ms: i64) -> String {
    shanghai_month(ms_time(ms))
}

/// The catalogue entry of a product in force on `day`; a product the
/// catalogue does not hold that day refers to nothing and is refused.
fn catalogue_product(
    code: &crate::product::ProductCode,
    day: Date,
    field: &str,
) -> Result<&'static crate::product::Product, Refusal> {
    Catalogue::embedded().get(code, day).ok_or_else(|| {
        refusal(
            RefusalReason::Unknown,
            field,
            format!("product {} is not in the catalogue on {day}", code.as_str()),
        )
    })
}

fn check_mass(mass: Mass, field: &str) -> Result<(), Refusal> {
    if mass.is_zero() {
        return refuse(
            RefusalReason::OutOfRange,
            field,
            "the mass must be more than zero",
        );
    }
    if mass > MAX_RECORD_MASS {
        return refuse(
            RefusalReason::OutOfRange,
            field,
            format!("{mass} is more than one record may move"),
        );
    }
    Ok(())
}

fn check_text(text: &str, field: &str) -> Result<(), Refusal> {
    if text.trim().is_empty() || text.len() > 200 || text.chars().any(char::is_control) {
        return refuse(
            RefusalReason::Malformed,
            field,
            "give 1 to 200 printable characters",
        );
    }
    Ok(())
}

fn check_country(code: &str, field: &str) -> Result<(), Refusal> {
    if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
        return refuse(
            RefusalReason::Malformed,
            field,
            format!("`{code}` is not an ISO 3166-1 alpha-2 country code"),
        );
    }
    if code == "CN" {
        return refuse(
            RefusalReason::OutOfRange,
            field,
            "the country is abroad, not CN",
        );
    }
    Ok(())
}
