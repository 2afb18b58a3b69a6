//! The sixteen traded rare earth elements and their oxide factors.
//!
//! REO (rare earth oxide) is the unit of every quota (Art. 5 of the measures),
//! so metals and alloys are converted with each element's oxide factor — oxide
//! mass over element mass — computed here from standard atomic weights rather
//! than typed in, so that the table a figure came from can be named and
//! reproduced (DESIGN.md §2 "Quantities and measurement"). Promethium is not
//! traded and has no variant.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Identifies the atomic-weight table every oxide factor was computed from, so
/// that a stored REO figure names the table behind it.
pub const ATOMIC_WEIGHT_TABLE: &str = "ciaaw-standard-atomic-weights/design-2025";

/// Atomic weight of oxygen in micro-units (15.999).
const OXYGEN_MICRO: u64 = 15_999_000;

/// One of the sixteen traded rare earth elements, in atomic-number order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Element {
    Sc,
    Y,
    La,
    Ce,
    Pr,
    Nd,
    Sm,
    Eu,
    Gd,
    Tb,
    Dy,
    Ho,
    Er,
    Tm,
    Yb,
    Lu,
}

/// The reporting class of an element (DESIGN.md §2 "Classes").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ElementClass {
    /// La–Eu.
    Light,
    /// Gd–Lu and Y.
    MediumHeavy,
    /// Sc, reported separately and outside TREO.
    Scandium,
}

/// An exact ratio `oxide mass / element mass`, kept as integers so that REO
/// arithmetic never passes through a float.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OxideFactor {
    numerator: u64,
    denominator: u64,
}

impl OxideFactor {
    /// Oxide mass for `element_mass` (any integer unit), rounded half up.
    pub fn oxide_from_element(self, element_mass: u64) -> u64 {
        mul_div_round(element_mass, self.numerator, self.denominator)
    }

    /// Element mass contained in `oxide_mass`, rounded half up.
    pub fn element_from_oxide(self, oxide_mass: u64) -> u64 {
        mul_div_round(oxide_mass, self.denominator, self.numerator)
    }

    /// The factor scaled by 10⁴ and rounded, as printed in handbooks (1.1664 → 11664).
    pub fn per_ten_thousand(self) -> u64 {
        mul_div_round(10_000, self.numerator, self.denominator)
    }
}

/// `value * num / den`, rounded half up, without overflow for any `u64` inputs.
pub(crate) fn mul_div_round(value: u64, num: u64, den: u64) -> u64 {
    let wide = u128::from(value) * u128::from(num);
    let den = u128::from(den);
    u64::try_from((wide + den / 2) / den).unwrap_or(u64::MAX)
}

impl Element {
    /// All sixteen, in atomic-number order.
    pub const ALL: [Element; 16] = [
        Element::Sc,
        Element::Y,
        Element::La,
        Element::Ce,
        Element::Pr,
        Element::Nd,
        Element::Sm,
        Element::Eu,
        Element::Gd,
        Element::Tb,
        Element::Dy,
        Element::Ho,
        Element::Er,
        Element::Tm,
        Element::Yb,
        Element::Lu,
    ];

    /// The chemical symbol.
    pub fn symbol(self) -> &'static str {
        self.facts().symbol
    }

    /// The Chinese name (钕, 镝, …).
    pub fn name_zh(self) -> &'static str {
        self.facts().zh
    }

    /// The English name.
    pub fn name_en(self) -> &'static str {
        self.facts().en
    }

    /// The oxide REO is reported as (Nd2O3, CeO2, Pr6O11, Tb4O7, …).
    pub fn oxide_formula(self) -> &'static str {
        self.facts().oxide
    }

    /// Standard atomic weight in micro-units (DESIGN.md §2).
    pub fn atomic_weight_micro(self) -> u64 {
        self.facts().weight_micro
    }

    /// The reporting class.
    pub fn class(self) -> ElementClass {
        match self {
            Element::Sc => ElementClass::Scandium,
            Element::La | Element::Ce | Element::Pr | Element::Nd | Element::Sm | Element::Eu => {
                ElementClass::Light
            }
            _ => ElementClass::MediumHeavy,
        }
    }

    /// Whether the element's oxide counts in TREO (every one but Sc).
    pub fn in_treo(self) -> bool {
        self != Element::Sc
    }

    /// Oxide mass per element mass, from the atomic weights: for an oxide
    /// `M_m O_n` the factor is `(m·A(M) + n·A(O)) / (m·A(M))`.
    pub fn oxide_factor(self) -> OxideFactor {
        let facts = self.facts();
        let metal = facts.metal_atoms * facts.weight_micro;
        OxideFactor {
            numerator: metal + facts.oxygen_atoms * OXYGEN_MICRO,
            denominator: metal,
        }
    }

    fn facts(self) -> &'static ElementFacts {
        &FACTS[self as usize]
    }
}

struct ElementFacts {
    symbol: &'static str,
    zh: &'static str,
    en: &'static str,
    oxide: &'static str,
    weight_micro: u64,
    metal_atoms: u64,
    oxygen_atoms: u64,
}

const fn facts(
    symbol: &'static str,
    zh: &'static str,
    en: &'static str,
    oxide: &'static str,
    weight_micro: u64,
    metal_atoms: u64,
    oxygen_atoms: u64,
) -> ElementFacts {
    ElementFacts {
        symbol,
        zh,
        en,
        oxide,
        weight_micro,
        metal_atoms,
        oxygen_atoms,
    }
}

/// Indexed by `Element as usize`; weights are those DESIGN.md §2 gives.
const FACTS: [ElementFacts; 16] = [
    facts("Sc", "钪", "scandium", "Sc2O3", 44_955_907, 2, 3),
    facts("Y", "钇", "yttrium", "Y2O3", 88_905_838, 2, 3),
    facts("La", "镧", "lanthanum", "La2O3", 138_905_470, 2, 3),
    facts("Ce", "铈", "cerium", "CeO2", 140_116_000, 1, 2),
    facts("Pr", "镨", "praseodymium", "Pr6O11", 140_907_660, 6, 11),
    facts("Nd", "钕", "neodymium", "Nd2O3", 144_242_000, 2, 3),
    facts("Sm", "钐", "samarium", "Sm2O3", 150_360_000, 2, 3),
    facts("Eu", "铕", "europium", "Eu2O3", 151_964_000, 2, 3),
    facts("Gd", "钆", "gadolinium", "Gd2O3", 157_249_000, 2, 3),
    facts("Tb", "铽", "terbium", "Tb4O7", 158_925_354, 4, 7),
    facts("Dy", "镝", "dysprosium", "Dy2O3", 162_500_000, 2, 3),
    facts("Ho", "钬", "holmium", "Ho2O3", 164_930_329, 2, 3),
    facts("Er", "铒", "erbium", "Er2O3", 167_259_000, 2, 3),
    facts("Tm", "铥", "thulium", "Tm2O3", 168_934_219, 2, 3),
    facts("Yb", "镱", "ytterbium", "Yb2O3", 173_045_000, 2, 3),
    facts("Lu", "镥", "lutetium", "Lu2O3", 174_966_690, 2, 3),
];

impl fmt::Display for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

/// A string that names no traded rare earth element.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a traded rare earth element (expected a symbol such as Nd or an oxide such as Nd2O3)"
)]
pub struct UnknownElement(pub String);

impl FromStr for Element {
    type Err = UnknownElement;

    /// Accepts the symbol (`Nd`, case-insensitive) or the oxide formula (`Nd2O3`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        Element::ALL
            .into_iter()
            .find(|e| {
                e.symbol().eq_ignore_ascii_case(t) || e.oxide_formula().eq_ignore_ascii_case(t)
            })
            .ok_or_else(|| UnknownElement(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The check values DESIGN.md §2 gives, to four decimals.
    #[test]
    fn oxide_factors_match_the_check_values() {
        let expected = [
            (Element::Nd, 11664),
            (Element::Ce, 12284),
            (Element::Pr, 12082),
            (Element::Tb, 11762),
            (Element::Dy, 11477),
            (Element::Y, 12699),
            (Element::La, 11728),
            (Element::Sc, 15338),
        ];
        for (e, want) in expected {
            assert_eq!(e.oxide_factor().per_ten_thousand(), want, "{e}");
        }
    }

    #[test]
    fn every_factor_lies_between_one_and_two() {
        for e in Element::ALL {
            let f = e.oxide_factor().per_ten_thousand();
            assert!((11_000..16_000).contains(&f), "{e}: {f}");
        }
    }

    #[test]
    fn conversion_round_trips_within_a_gram() {
        for e in Element::ALL {
            let f = e.oxide_factor();
            let metal = 1_000_000_007;
            let back = f.element_from_oxide(f.oxide_from_element(metal));
            assert!(back.abs_diff(metal) <= 1, "{e}");
        }
    }

    #[test]
    fn parses_symbols_and_oxides() {
        assert_eq!("nd".parse::<Element>().unwrap(), Element::Nd);
        assert_eq!("Tb4O7".parse::<Element>().unwrap(), Element::Tb);
        assert!("Pm".parse::<Element>().is_err());
        assert_eq!(Element::ALL.iter().filter(|e| e.in_treo()).count(), 15);
    }

    #[test]
    fn classes_follow_the_design() {
        assert_eq!(Element::Eu.class(), ElementClass::Light);
        assert_eq!(Element::Gd.class(), ElementClass::MediumHeavy);
        assert_eq!(Element::Y.class(), ElementClass::MediumHeavy);
        assert_eq!(Element::Sc.class(), ElementClass::Scandium);
    }
}
