//! Total control indicators and their use (Art. 3–9, 14 of the measures),
//! as pure rules: what counts against which quota, when an allocation is
//! nearly or over used, how a group's sub-allocation is late, how
//! implementation adds up from enterprise to nation, and how a penalty cuts
//! next year's allocation.
//!
//! - **Indicators** (Art. 5): per year, a national total per category —
//!   rock-type mining, ionic-type mining, smelting separation — with the
//!   State Council's approval.
//! - **Allocations** (Art. 6): issued by the ministry in batches, since 2024
//!   to the two groups, which sub-allocate to their member enterprises and
//!   file the split within 10 working days ([`sub_allocation_due`]).
//! - **Usage** (Art. 3): mining counts the REO of extracted ore products by
//!   ore type ([`mining_usage`]); separation counts, by default, the REO of
//!   ore products entering the first smelting stage, once, recycled feed
//!   excluded, imported ore and monazite included when processed
//!   ([`CountingRule`], configuration because the statistical definition is
//!   not public).
//! - **Alerts** at 80 %, 95 % and beyond 100 % of an allocation
//!   ([`AlertLevel::of`]); an overrun is a violation candidate.
//! - **Next year** (Art. 14): a penalised enterprise's allocation is reduced
//!   by the decision's rule ([`draft`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::Date;

use crate::calendar::WorkingDays;
use crate::enterprise::{Group, QuotaCategory};
use crate::facility::Process;
use crate::lot::FeedOrigin;
use crate::product::{OreType, ProductKind};
use crate::quantity::Mass;
use crate::region::{RegionCode, Regions};
use crate::uscc::Uscc;

/// Working days a group has to file its sub-allocation (Art. 6).
pub const SUB_ALLOCATION_WORKING_DAYS: u32 = 10;

/// Who an allocation is issued to.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Allottee {
    Group(Group),
    Enterprise(Uscc),
}

/// The mining quota category of an ore type; monazite counts against none
/// (it is never mined on its own in China).
#[must_use]
pub fn mining_category(ore: OreType) -> Option<QuotaCategory> {
    match ore {
        OreType::Rock => Some(QuotaCategory::MiningRock),
        OreType::Ionic => Some(QuotaCategory::MiningIonic),
        OreType::Monazite => None,
    }
}

/// What an extraction uses: the REO of its ore product against the
/// category of the mine's ore type (Art. 3, 5).
#[must_use]
pub fn mining_usage(ore: OreType, reo: Mass) -> Option<(QuotaCategory, Mass)> {
    mining_category(ore).map(|c| (c, reo))
}

/// What separation usage counts (DESIGN.md §2 "Separation quota counting").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountingRule {
    /// The processes that are a first smelting stage: ore products enter
    /// them and leave as compounds (cracking for rock concentrate; the
    /// separation line itself for ionic mixed carbonate or oxide).
    pub first_stages: Vec<Process>,
    /// Whether recycled scrap is left out (comprehensive utilisation is not
    /// under the separation quota).
    pub exclude_recycled: bool,
    /// Whether declared opening stock is counted when it is processed.
    pub count_declared: bool,
}

impl Default for CountingRule {
    /// Ore products entering cracking or separation count once; compounds
    /// passed between plants do not (they are no longer ore products);
    /// recycled scrap does not; imported ore, monazite, by-products and
    /// declared stock do.
    fn default() -> Self {
        CountingRule {
            first_stages: vec![Process::Cracking, Process::Separation],
            exclude_recycled: true,
            count_declared: true,
        }
    }
}

/// One input of a transformation, as the counting rule sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CountedInput {
    pub kind: ProductKind,
    pub origin: FeedOrigin,
    /// REO of the quantity consumed.
    pub reo: Mass,
}

impl CountingRule {
    /// The separation usage of one transformation, split by feed origin
    /// (Art. 3: reports split usage by origin); empty when nothing counts.
    #[must_use]
    pub fn separation_usage(
        &self,
        process: Process,
        inputs: &[CountedInput],
    ) -> BTreeMap<FeedOrigin, Mass> {
        let mut used = BTreeMap::new();
        if !self.first_stages.contains(&process) {
            return used;
        }
        for input in inputs {
            let counted = input.kind == ProductKind::OreProduct
                && !(self.exclude_recycled && input.origin == FeedOrigin::RecycledScrap)
                && (self.count_declared || input.origin != FeedOrigin::Declared);
            if counted {
                let sum = used.get(&input.origin).copied().unwrap_or(Mass::ZERO) + input.reo;
                used.insert(input.origin, sum);
            }
        }
        used
    }
}

/// How far an allocation is used (Art. 8, 9: watched as it is recorded).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertLevel {
    /// 80 % or more.
    Eighty,
    /// 95 % or more.
    NinetyFive,
    /// More than 100 %: a violation candidate (over-quota production, Art. 13).
    Over,
}

impl AlertLevel {
    /// The level `used` of `allocated` has reached, if any. Usage with no
    /// allocation at all is over.
    #[must_use]
    pub fn of(used: Mass, allocated: Mass) -> Option<AlertLevel> {
        if used.is_zero() {
            return None;
        }
        if used > allocated {
            return Some(AlertLevel::Over);
        }
        let ppm = used.share_of(allocated);
        if ppm >= 950_000 {
            Some(AlertLevel::NinetyFive)
        } else if ppm >= 800_000 {
            Some(AlertLevel::Eighty)
        } else {
            None
        }
    }

    #[must_use]
    pub fn name_zh(self) -> &'static str {
        match self {
            AlertLevel::Eighty => "已用指标80%",
            AlertLevel::NinetyFive => "已用指标95%",
            AlertLevel::Over => "超指标",
        }
    }
}

/// The last day a group may file its sub-allocation of an allocation issued
/// on `issued` (Art. 6: within 10 working days).
#[must_use]
pub fn sub_allocation_due(issued: Date, days: &WorkingDays) -> Date {
    days.add(issued, SUB_ALLOCATION_WORKING_DAYS)
}

/// One line of an implementation report (Art. 9): an enterprise's
/// allocation and usage in a category.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReportLine {
    pub enterprise: Uscc,
    /// Where the enterprise is seated: the county it reports to.
    pub seat: RegionCode,
    pub category: QuotaCategory,
    pub allocated: Mass,
    pub used_in_month: Mass,
    pub used_to_date: Mass,
    /// Usage to date split by feed origin.
    pub by_origin: BTreeMap<FeedOrigin, Mass>,
}

/// A summary of report lines over a region (Art. 9, 12: county → prefecture
/// → province → nation).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub enterprises: usize,
    pub allocated: Mass,
    pub used_in_month: Mass,
    pub used_to_date: Mass,
    pub by_origin: BTreeMap<FeedOrigin, Mass>,
}

impl Summary {
    fn add(&mut self, line: &ReportLine) {
        self.enterprises += 1;
        self.allocated = self.allocated + line.allocated;
        self.used_in_month = self.used_in_month + line.used_in_month;
        self.used_to_date = self.used_to_date + line.used_to_date;
        for (origin, m) in &line.by_origin {
            let sum = self.by_origin.get(origin).copied().unwrap_or(Mass::ZERO) + *m;
            self.by_origin.insert(*origin, sum);
        }
    }

    /// Share used to date, in ppm of the allocation.
    #[must_use]
    pub fn share_used_ppm(&self) -> u64 {
        self.used_to_date.share_of(self.allocated)
    }
}

/// Sums report lines by category into every region that contains an
/// enterprise's seat — its county, prefecture, province and the nation — so
/// that each level's figures add up exactly to its enterprises'.
#[must_use]
pub fn summarise(lines: &[ReportLine]) -> BTreeMap<(RegionCode, QuotaCategory), Summary> {
    let mut out: BTreeMap<(RegionCode, QuotaCategory), Summary> = BTreeMap::new();
    let regions = Regions::embedded();
    for line in lines {
        let mut at = Some(line.seat);
        while let Some(region) = at {
            out.entry((region, line.category)).or_default().add(line);
            at = regions.parent(&region);
        }
    }
    out
}

/// How a penalty decision reduces the next year's allocation (Art. 14).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "by", content = "value")]
pub enum Reduction {
    /// A share of this year's allocation, in ppm (100,000 = 10 %).
    Share(u32),
    /// A fixed quantity of REO.
    Quantity(Mass),
}

/// A penalty decided this year, as the draft applies it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Penalty {
    pub enterprise: Uscc,
    /// The category it applies to; `None` for every category the
    /// enterprise holds.
    pub category: Option<QuotaCategory>,
    pub reduction: Reduction,
    /// The decision's document number.
    pub decision: String,
}

/// One line of next year's draft: this year's allocation, the draft, and
/// why they differ.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DraftLine {
    pub enterprise: Uscc,
    pub category: QuotaCategory,
    pub this_year: Mass,
    pub next_year: Mass,
    /// The decisions behind the change; empty when unchanged.
    pub reasons: Vec<String>,
}

/// Next year's draft allocation (Art. 14): this year's, less every
/// penalised enterprise's reductions, applied one after another in the order
/// given and never below zero; everyone else unchanged.
#[must_use]
pub fn draft(this_year: &[(Uscc, QuotaCategory, Mass)], penalties: &[Penalty]) -> Vec<DraftLine> {
    this_year
        .iter()
        .map(|(enterprise, category, amount)| {
            let mut next = *amount;
            let mut reasons = Vec::new();
            for p in penalties.iter().filter(|p| {
                p.enterprise == *enterprise && p.category.is_none_or(|c| c == *category)
            }) {
                let cut = match p.reduction {
                    Reduction::Share(ppm) => amount.scale(u64::from(ppm), 1_000_000),
                    Reduction::Quantity(m) => m,
                };
                next = next.saturating_sub(cut);
                reasons.push(p.decision.clone());
            }
            DraftLine {
                enterprise: enterprise.clone(),
                category: *category,
                this_year: *amount,
                next_year: next,
                reasons,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn t(tonnes: u64) -> Mass {
        Mass::from_tonnes(tonnes)
    }

    #[test]
    fn ore_types_count_against_their_mining_quota() {
        assert_eq!(
            mining_usage(OreType::Rock, t(5)),
            Some((QuotaCategory::MiningRock, t(5)))
        );
        assert_eq!(
            mining_usage(OreType::Ionic, t(2)),
            Some((QuotaCategory::MiningIonic, t(2)))
        );
        assert_eq!(mining_usage(OreType::Monazite, t(2)), None);
    }

    #[test]
    fn separation_counts_ore_products_once_at_the_first_stage() {
        let rule = CountingRule::default();
        let input = |kind, origin, tonnes| CountedInput {
            kind,
            origin,
            reo: t(tonnes),
        };
        let used = rule.separation_usage(
            Process::Cracking,
            &[
                input(ProductKind::OreProduct, FeedOrigin::DomesticOre, 40),
                input(ProductKind::OreProduct, FeedOrigin::ImportedOre, 10),
                input(ProductKind::OreProduct, FeedOrigin::Monazite, 5),
                input(ProductKind::Scrap, FeedOrigin::RecycledScrap, 7),
                input(ProductKind::OreProduct, FeedOrigin::RecycledScrap, 3),
            ],
        );
        assert_eq!(
            used,
            BTreeMap::from([
                (FeedOrigin::DomesticOre, t(40)),
                (FeedOrigin::ImportedOre, t(10)),
                (FeedOrigin::Monazite, t(5)),
            ])
        );
        // The mixed chloride the cracking made is separated later, at the
        // same or another plant: not counted twice.
        let again = rule.separation_usage(
            Process::Separation,
            &[input(
                ProductKind::MixedCompound,
                FeedOrigin::DomesticOre,
                38,
            )],
        );
        assert!(again.is_empty());
        assert!(
            rule.separation_usage(
                Process::MetalSmelting,
                &[input(ProductKind::OreProduct, FeedOrigin::DomesticOre, 1)]
            )
            .is_empty()
        );
        let strict = CountingRule {
            count_declared: false,
            ..CountingRule::default()
        };
        assert!(
            strict
                .separation_usage(
                    Process::Separation,
                    &[input(ProductKind::OreProduct, FeedOrigin::Declared, 1)]
                )
                .is_empty()
        );
    }

    #[test]
    fn alerts_at_eighty_ninety_five_and_over() {
        let allocated = t(1_000);
        assert_eq!(AlertLevel::of(t(799), allocated), None);
        assert_eq!(AlertLevel::of(t(800), allocated), Some(AlertLevel::Eighty));
        assert_eq!(
            AlertLevel::of(t(950), allocated),
            Some(AlertLevel::NinetyFive)
        );
        assert_eq!(
            AlertLevel::of(t(1_000), allocated),
            Some(AlertLevel::NinetyFive)
        );
        assert_eq!(
            AlertLevel::of(Mass::from_grams(1_000_000_001), allocated),
            Some(AlertLevel::Over)
        );
        assert_eq!(AlertLevel::of(t(1), Mass::ZERO), Some(AlertLevel::Over));
        assert_eq!(AlertLevel::of(Mass::ZERO, Mass::ZERO), None);
    }

    #[test]
    fn a_sub_allocation_is_due_ten_working_days_after_the_allocation() {
        let due = sub_allocation_due(date!(2025 - 09 - 29), WorkingDays::standard());
        assert_eq!(due, date!(2025 - 10 - 20));
    }

    #[test]
    fn summaries_add_up_exactly_from_county_to_nation() {
        let line = |n: u32, county: &str, used: u64| ReportLine {
            enterprise: Uscc::synthesize(county, n),
            seat: county.parse().unwrap(),
            category: QuotaCategory::Separation,
            allocated: t(100),
            used_in_month: t(used / 4),
            used_to_date: t(used),
            by_origin: BTreeMap::from([(FeedOrigin::DomesticOre, t(used))]),
        };
        let lines = vec![
            line(1, "150206", 80),
            line(2, "150271", 50),
            line(3, "360702", 10),
        ];
        let s = summarise(&lines);
        let at = |code: &str| {
            &s[&(
                code.parse::<RegionCode>().unwrap(),
                QuotaCategory::Separation,
            )]
        };
        assert_eq!(at("150206").used_to_date, t(80));
        assert_eq!(at("1502").used_to_date, t(130));
        assert_eq!(at("15").enterprises, 2);
        assert_eq!(at("00").used_to_date, t(140));
        assert_eq!(at("00").allocated, t(300));
        assert_eq!(at("00").by_origin[&FeedOrigin::DomesticOre], t(140));
        assert_eq!(at("1502").share_used_ppm(), 650_000);
        // Each level is the sum of the level below.
        assert_eq!(
            at("00").used_to_date,
            Mass::from_grams(at("15").used_to_date.grams() + at("36").used_to_date.grams())
        );
    }

    #[test]
    fn a_penalty_cuts_only_the_penalised_enterprise_next_year() {
        let a = Uscc::synthesize("150271", 1);
        let b = Uscc::synthesize("150271", 2);
        let this_year = vec![
            (a.clone(), QuotaCategory::Separation, t(1_000)),
            (a.clone(), QuotaCategory::MiningRock, t(500)),
            (b.clone(), QuotaCategory::Separation, t(800)),
        ];
        let penalties = vec![
            Penalty {
                enterprise: a.clone(),
                category: Some(QuotaCategory::Separation),
                reduction: Reduction::Share(100_000),
                decision: "内工信罚〔2025〕1号".into(),
            },
            Penalty {
                enterprise: a.clone(),
                category: None,
                reduction: Reduction::Quantity(t(20)),
                decision: "内工信罚〔2025〕2号".into(),
            },
        ];
        let lines = draft(&this_year, &penalties);
        assert_eq!(lines[0].next_year, t(880), "10 % then 20 t");
        assert_eq!(lines[0].reasons.len(), 2);
        assert_eq!(lines[1].next_year, t(480));
        assert_eq!(lines[2].next_year, t(800));
        assert!(lines[2].reasons.is_empty());
        let wiped = draft(
            &this_year[2..],
            &[Penalty {
                enterprise: b,
                category: None,
                reduction: Reduction::Quantity(t(5_000)),
                decision: "x".into(),
            }],
        );
        assert_eq!(wiped[0].next_year, Mass::ZERO, "never below zero");
    }
}
