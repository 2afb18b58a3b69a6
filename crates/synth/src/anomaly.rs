//! Where the seed plants the six subtle anomalies, and what the ground truth
//! says about each.
//!
//! Each anomaly is a small departure from an otherwise clean industry — a
//! recovery of 103 %, a receipt 1.2 % short — of the kind DESIGN.md §5 asks
//! detectors to find. The places and months come from their own random
//! stream, so a second seed puts them elsewhere while detectors, which never
//! read the ground truth, must find them from the records alone.

use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use retrace_domain::element::Element;
use retrace_domain::export_control::ExportControls;
use retrace_domain::facility::FacilityId;
use retrace_domain::lot::LotId;
use retrace_domain::rules::Rule;
use retrace_domain::uscc::Uscc;
use serde::{Deserialize, Serialize};
use time::{Date, Month};

use crate::calendar::Calendar;
use crate::register::{PlantFeed, Register, Role};

/// One planted case, as a detector should report it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlantedCase {
    /// The rule the case breaks; it serialises as the rule's token.
    pub rule: Rule,
    /// The enterprise a detector should flag.
    pub enterprise: Uscc,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facility: Option<FacilityId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lot: Option<LotId>,
    /// The month (`YYYY-MM`, Asia/Shanghai) in which the breach happens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub month: Option<String>,
    /// What was planted, starting with the rule token in brackets.
    pub description: String,
}

/// Every case planted in one synthetic year.
///
/// One case shows under two rules by its nature: a plant-month recovering
/// 103 % also puts out more of its elements than came in, so per-element
/// balance flags the [`Rule::RecoveryOutOfBand`] case too. The ionic "scrap"
/// of the [`Rule::FingerprintMismatch`] case is flagged where it is declared
/// (January) as well as where it is fed (the case's month).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroundTruth {
    pub seed: u64,
    pub year: i32,
    pub cases: Vec<PlantedCase>,
}

/// The places and times chosen for the anomalies.
#[derive(Clone, Debug)]
pub(crate) struct AnomalyPlan {
    /// A separation plant whose whole month of separation recovers 103 %:
    /// the first month on or after the one given in which it separates.
    pub recovery: (usize, u8),
    /// An ionic separation plant whose Dy output is twice its Dy input for a
    /// month, chosen the same way.
    pub dy_doubling: (usize, u8),
    /// A receiver whose first receipt on or after a working day is 1.2 % short
    /// (or, should it receive nothing for four weeks, a peer's).
    pub short_receipt: (usize, usize),
    /// A recycler holding an ionic-signature "scrap" lot from its opening
    /// stock, which it feeds as recycled scrap in the given month.
    pub ionic_scrap: (usize, u8),
    /// An exporter whose first Tb-bearing magnet export on or after a working
    /// day leaves without a licence (or, failing one for four weeks, another
    /// magnet exporter's); `None` when Tb is never controlled in the year.
    pub unlicensed_export: Option<(usize, usize)>,
    /// A miner whose designation ends on the day given and who keeps extracting.
    pub undesignated: (usize, Date),
}

impl AnomalyPlan {
    /// How many cases the plan will plant.
    pub(crate) fn cases(&self) -> usize {
        5 + usize::from(self.unlicensed_export.is_some())
    }

    /// Chooses the places and times. The miner whose designation lapses is
    /// one that extracts often enough at `target_events` to be seen doing so
    /// afterwards.
    pub(crate) fn choose(
        register: &Register,
        calendar: &Calendar,
        target_events: u64,
        rng: &mut ChaCha8Rng,
    ) -> AnomalyPlan {
        let of = |f: &dyn Fn(&Role) -> bool| -> Vec<usize> {
            register
                .actors
                .iter()
                .enumerate()
                .filter(|(_, a)| f(&a.role))
                .map(|(i, _)| i)
                .collect()
        };
        let separators =
            of(&|r| matches!(r, Role::Separator(s) if s.feed != PlantFeed::MonaziteAndRecycled));
        let ionic = of(&|r| matches!(r, Role::Separator(s) if s.feed == PlantFeed::Ionic));
        let receivers = of(&|r| matches!(r, Role::Smelter { .. } | Role::MagnetMaker { .. }));
        let recyclers = of(&|r| matches!(r, Role::Recycler));
        let exporters = of(&|r| matches!(r, Role::Exporter { magnets: true }));
        let lot = crate::sim::extraction_lot(target_events);
        let mut miners = of(&|r| matches!(r, Role::Miner(m) if m.annual >= 12 * lot));
        if miners.is_empty() {
            miners = of(&|r| matches!(r, Role::Miner(_)));
        }

        let pick = |list: &[usize], rng: &mut ChaCha8Rng| list.choose(rng).copied().unwrap_or(0);
        let dy_plant = pick(&ionic, rng);
        let others: Vec<usize> = separators
            .iter()
            .copied()
            .filter(|p| *p != dy_plant)
            .collect();
        let recovery = (pick(&others, rng), rng.random_range(2..=9));
        let dy_doubling = (dy_plant, rng.random_range(2..=9));
        let mid_year = calendar.first_of_month(2)..calendar.first_of_month(12);
        let short_receipt = (pick(&receivers, rng), rng.random_range(mid_year));
        let ionic_scrap = (pick(&recyclers, rng), rng.random_range(2..=11));
        let exporter = pick(&exporters, rng);
        let unlicensed_export = terbium_controlled_from(calendar)
            .filter(|from| *from + 40 < calendar.len())
            .map(|from| {
                (
                    exporter,
                    rng.random_range(from..(from + 90).min(calendar.len() - 40)),
                )
            });
        let last_month = rng.random_range(4..=8);
        let year = calendar.date(0).year();
        let month_after = Month::try_from(last_month + 1).unwrap_or(Month::September);
        let valid_to = Date::from_calendar_date(year, month_after, 1)
            .ok()
            .and_then(Date::previous_day)
            .unwrap_or_else(|| calendar.date(0));
        let undesignated = (pick(&miners, rng), valid_to);
        AnomalyPlan {
            recovery,
            dy_doubling,
            short_receipt,
            ionic_scrap,
            unlicensed_export,
            undesignated,
        }
    }
}

/// The first working day on which Tb-bearing exports need a licence.
fn terbium_controlled_from(calendar: &Calendar) -> Option<usize> {
    (0..calendar.len()).find(|d| {
        ExportControls::embedded()
            .controlled_elements(calendar.date(*d))
            .iter()
            .any(|hit| hit.element == Element::Tb)
    })
}
