//! The flows an enterprise records (DESIGN.md §2 "Flows"; Art. 10 of the
//! measures): every event that moves, makes, consumes or transfers ownership
//! of a rare earth product.
//!
//! Event time is what the enterprise says happened; the record time is the
//! system's and lives on the ledger entry, not here.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::distribution::ElementDistribution;
use crate::facility::{FacilityId, Process};
use crate::lot::{FeedOrigin, LotId};
use crate::measurement::Measurement;
use crate::product::ProductCode;
use crate::quantity::{Mass, MassChange, Share};
use crate::uscc::Uscc;

/// One recorded flow: who, when, where, and what.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FlowEvent {
    /// When it happened, with the offset the enterprise gave (Asia/Shanghai is +08:00).
    #[serde(with = "time::serde::rfc3339")]
    pub event_time: OffsetDateTime,
    /// The enterprise that records the flow, and on whose stock it acts.
    pub enterprise: Uscc,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facility: Option<FacilityId>,
    /// The enterprise's own document number for the flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(flatten)]
    pub flow: Flow,
}

/// The kinds of flow of DESIGN.md §2, `opening` and `transfer` included.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Flow {
    Opening(Opening),
    Extract(Extract),
    Import(Import),
    Transform(Transform),
    Ship(Ship),
    Receive(Receive),
    Transfer(Transfer),
    Export(Export),
    Adjust(Adjust),
    Correction(Correction),
}

impl Flow {
    /// The kind as a token (`ship`, `transform`, …).
    pub fn kind(&self) -> FlowKind {
        match self {
            Flow::Opening(_) => FlowKind::Opening,
            Flow::Extract(_) => FlowKind::Extract,
            Flow::Import(_) => FlowKind::Import,
            Flow::Transform(_) => FlowKind::Transform,
            Flow::Ship(_) => FlowKind::Ship,
            Flow::Receive(_) => FlowKind::Receive,
            Flow::Transfer(_) => FlowKind::Transfer,
            Flow::Export(_) => FlowKind::Export,
            Flow::Adjust(_) => FlowKind::Adjust,
            Flow::Correction(_) => FlowKind::Correction,
        }
    }
}

/// The kind of a flow, without its particulars.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FlowKind {
    Opening,
    Extract,
    Import,
    Transform,
    Ship,
    Receive,
    Transfer,
    Export,
    Adjust,
    Correction,
}

impl FlowKind {
    pub const ALL: [FlowKind; 10] = [
        FlowKind::Opening,
        FlowKind::Extract,
        FlowKind::Import,
        FlowKind::Transform,
        FlowKind::Ship,
        FlowKind::Receive,
        FlowKind::Transfer,
        FlowKind::Export,
        FlowKind::Adjust,
        FlowKind::Correction,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FlowKind::Opening => "opening",
            FlowKind::Extract => "extract",
            FlowKind::Import => "import",
            FlowKind::Transform => "transform",
            FlowKind::Ship => "ship",
            FlowKind::Receive => "receive",
            FlowKind::Transfer => "transfer",
            FlowKind::Export => "export",
            FlowKind::Adjust => "adjust",
            FlowKind::Correction => "correction",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            FlowKind::Opening => "期初库存",
            FlowKind::Extract => "开采",
            FlowKind::Import => "进口",
            FlowKind::Transform => "加工转化",
            FlowKind::Ship => "发货",
            FlowKind::Receive => "收货",
            FlowKind::Transfer => "所有权转移",
            FlowKind::Export => "出口",
            FlowKind::Adjust => "库存调整",
            FlowKind::Correction => "更正",
        }
    }
}

/// A lot that comes into being: extracted, imported, produced or declared.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewLot {
    pub lot: LotId,
    pub product: ProductCode,
    pub measurement: Measurement,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distribution: Option<ElementDistribution>,
    /// Where its rare earth came from; derived from the flow where it can be
    /// (extraction, import, transformation) and declared for opening stock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed_origin: Option<FeedOrigin>,
}

/// Stock held when the enterprise starts recording, declared with its documents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Opening {
    pub output: NewLot,
    #[serde(default)]
    pub documents: Vec<String>,
}

/// Ore product produced at a mine (mining quota by ore type, Art. 5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Extract {
    pub output: NewLot,
}

/// Product arriving from abroad.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Import {
    pub output: NewLot,
    pub customs_declaration: String,
    /// ISO 3166-1 alpha-2.
    pub origin_country: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier: Option<String>,
}

/// One input of a transformation, with the feed origin the enterprise declares for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TransformInput {
    pub lot: LotId,
    pub mass: Mass,
    pub feed_origin: FeedOrigin,
}

/// Inputs consumed and outputs made: separation, metal smelting, recycling,
/// magnet making.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Transform {
    pub process: Process,
    pub inputs: Vec<TransformInput>,
    pub outputs: Vec<NewLot>,
    /// The owner of the material when it is processed for someone else (toll
    /// processing, banned for quota holders).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toll_owner: Option<Uscc>,
}

/// A quantity of a lot sent to another enterprise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Ship {
    pub lot: LotId,
    pub mass: Mass,
    pub to: Uscc,
    /// The sender's shipment or waybill number, which the receiver quotes.
    pub shipment: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice: Option<String>,
}

/// The receiving side of a shipment, with the receiver's own weighing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Receive {
    pub lot: LotId,
    pub from: Uscc,
    pub shipment: String,
    pub mass: Mass,
    /// The receiver's assay, where it made one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade: Option<Share>,
}

/// Title passes without movement (warehouse receipts).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    pub lot: LotId,
    pub mass: Mass,
    pub to: Uscc,
    /// Who holds the goods, when it is not the recording enterprise (a warehouse).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<Uscc>,
    pub document: String,
}

/// Product leaving the country.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Export {
    pub lot: LotId,
    pub mass: Mass,
    /// ISO 3166-1 alpha-2.
    pub destination_country: String,
    /// HS commodity code.
    pub commodity_code: String,
    /// The customs declaration may arrive after the goods leave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customs_declaration: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licence: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controlled_remark: Option<String>,
}

/// Why stock was adjusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AdjustReason {
    StockTake,
    /// Solvent-extraction circuit hold-up.
    CircuitHoldUp,
    Loss,
    Destruction,
    AssayRevision,
}

/// A stock-take variance, loss, destruction or assay revision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Adjust {
    pub lot: LotId,
    pub change: MassChange,
    pub reason: AdjustReason,
    /// A revised grade, for an assay revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade: Option<Share>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Declares a recorded flow wrong. Nothing is ever edited: the correction
/// reverses the earlier flow's effect on stock, and corrective flows are
/// recorded after it as ordinary flows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Correction {
    /// The ledger index of the flow declared wrong.
    pub corrects: u64,
    pub reason: String,
}
