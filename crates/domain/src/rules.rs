//! The rules a record is checked against, and their thresholds as dated data.
//!
//! DESIGN.md §3: rule tables are dated data and checks are evaluated as of the
//! event's date, so that any past report can be reproduced. A broken rule is
//! never a refusal: the record is kept and a flag names the rule (DESIGN.md §2
//! "Record what happened; flag what is wrong").

use serde::{Deserialize, Serialize};
use time::Date;
use time::macros::date;

use crate::facility::Process;

/// A rule whose breach is flagged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Stock of a lot at a holder below zero at some moment in event-time order.
    NegativeStock,
    /// A receipt quoting a shipment the sender never recorded.
    ReceiveWithoutShip,
    /// Received mass, grade, lot or receiver apart from what was shipped.
    TransferMismatch,
    /// Export of controlled content without a licence (MOFCOM/GAC 2025 No. 18 …).
    ExportWithoutLicence,
    /// Extraction without a valid mining designation for the ore type (Art. 6, 7).
    UndesignatedExtraction,
    /// Smelting separation without a valid separation designation (Art. 6, 7).
    UndesignatedSeparation,
    /// Extraction at a mine whose mining licence has expired.
    MineLicenceExpired,
    /// Monthly recovery of a process at a facility outside its band.
    RecoveryOutOfBand,
    /// More of an element leaving a pooled plant in a month than entered it.
    ElementImbalance,
    /// An element signature that does not fit the declared feed origin.
    FingerprintMismatch,
    /// A transformation input declared with a feed origin other than the lot's.
    OriginMismatch,
    /// A quota holder processing someone else's material.
    TollProcessing,
}

impl Rule {
    pub const ALL: [Rule; 12] = [
        Rule::NegativeStock,
        Rule::ReceiveWithoutShip,
        Rule::TransferMismatch,
        Rule::ExportWithoutLicence,
        Rule::UndesignatedExtraction,
        Rule::UndesignatedSeparation,
        Rule::MineLicenceExpired,
        Rule::RecoveryOutOfBand,
        Rule::ElementImbalance,
        Rule::FingerprintMismatch,
        Rule::OriginMismatch,
        Rule::TollProcessing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Rule::NegativeStock => "negative_stock",
            Rule::ReceiveWithoutShip => "receive_without_ship",
            Rule::TransferMismatch => "transfer_mismatch",
            Rule::ExportWithoutLicence => "export_without_licence",
            Rule::UndesignatedExtraction => "undesignated_extraction",
            Rule::UndesignatedSeparation => "undesignated_separation",
            Rule::MineLicenceExpired => "mine_licence_expired",
            Rule::RecoveryOutOfBand => "recovery_out_of_band",
            Rule::ElementImbalance => "element_imbalance",
            Rule::FingerprintMismatch => "fingerprint_mismatch",
            Rule::OriginMismatch => "origin_mismatch",
            Rule::TollProcessing => "toll_processing",
        }
    }

    pub fn parse(token: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.as_str() == token)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Rule::NegativeStock => "库存为负",
            Rule::ReceiveWithoutShip => "收货无对应发货",
            Rule::TransferMismatch => "收发不符",
            Rule::ExportWithoutLicence => "管制物项无许可出口",
            Rule::UndesignatedExtraction => "无定点资质开采",
            Rule::UndesignatedSeparation => "无定点资质冶炼分离",
            Rule::MineLicenceExpired => "采矿许可证过期",
            Rule::RecoveryOutOfBand => "回收率超出合理区间",
            Rule::ElementImbalance => "元素不平衡",
            Rule::FingerprintMismatch => "元素配分与申报来源不符",
            Rule::OriginMismatch => "原料来源申报不一致",
            Rule::TollProcessing => "配额企业来料加工",
        }
    }
}

/// A recovery band: the industry minimum and a maximum of 100 % plus
/// measurement tolerance; above it, material came from nowhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecoveryBand {
    pub min_ppm: u32,
    pub max_ppm: u32,
}

/// One version of the thresholds, in force from a date.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleTable {
    pub effective_from: Date,
    /// Relative mass tolerance between shipped and received (0.2–0.5 %).
    pub mass_tolerance_ppm: u32,
    /// Absolute grade tolerance between the two sides, in ppm of a whole (1 percentage point).
    pub grade_tolerance_ppm: u32,
    /// Per-element tolerance of a pooled plant's monthly balance, relative and absolute.
    pub element_tolerance_ppm: u32,
    pub element_tolerance_grams: u64,
    /// Y and Dy shares of rare earth content at or above which a signature is
    /// ionic-clay: high Y alone is also the mark of spent phosphor, high Dy
    /// alone of magnet scrap; together they are the mark of southern ionic ore.
    pub ionic_yttrium_ppm: u32,
    pub ionic_dysprosium_ppm: u32,
    /// Share of a controlled element at or above which an export needs a licence.
    pub control_threshold_ppm: u32,
    /// Months over which recovery is measured (1 = the calendar month).
    pub recovery_window_months: u8,
    /// How far ahead of the server's clock an event time may lie (clock skew).
    pub future_skew_seconds: i64,
}

/// Ceiling of measurement tolerance above 100 % recovery.
const RECOVERY_CEILING_PPM: u32 = 1_005_000;

impl RuleTable {
    /// Whether shares of Y and Dy (ppm of rare earth content) carry the ionic-clay signature.
    pub fn ionic_signature(&self, yttrium_ppm: u32, dysprosium_ppm: u32) -> bool {
        yttrium_ppm >= self.ionic_yttrium_ppm && dysprosium_ppm >= self.ionic_dysprosium_ppm
    }

    /// The recovery band of a process; separation of ionic feed has its own
    /// minimum. Minimums from the 2016 rare earth industry standard conditions
    /// (DESIGN.md §2, *verify*); metal smelting, recycling and magnet making are
    /// retrace's own defaults, correctable as data.
    pub fn recovery_band(&self, process: Process, ionic_feed: bool) -> RecoveryBand {
        let min_ppm = match process {
            Process::OreDressing => 750_000,
            Process::Cracking => 920_000,
            Process::Separation if ionic_feed => 940_000,
            Process::Separation => 960_000,
            Process::MetalSmelting => 920_000,
            Process::Recycling => 800_000,
            Process::MagnetMaking => 850_000,
        };
        RecoveryBand {
            min_ppm,
            max_ppm: RECOVERY_CEILING_PPM,
        }
    }
}

/// Every version of the rule table, oldest first.
#[derive(Clone, Debug)]
pub struct Rules {
    versions: Vec<RuleTable>,
}

impl Rules {
    /// The tables retrace ships with.
    pub fn standard() -> Rules {
        Rules {
            versions: vec![RuleTable {
                effective_from: date!(2000 - 01 - 01),
                mass_tolerance_ppm: 5_000,
                grade_tolerance_ppm: 10_000,
                element_tolerance_ppm: 20_000,
                element_tolerance_grams: 10_000,
                ionic_yttrium_ppm: 80_000,
                ionic_dysprosium_ppm: 10_000,
                control_threshold_ppm: 1_000,
                recovery_window_months: 1,
                future_skew_seconds: 300,
            }],
        }
    }

    /// The version in force on `day`.
    pub fn in_force(&self, day: Date) -> &RuleTable {
        self.versions
            .iter()
            .rev()
            .find(|t| t.effective_from <= day)
            .unwrap_or(&self.versions[0])
    }
}

impl Default for Rules {
    fn default() -> Self {
        Rules::standard()
    }
}
