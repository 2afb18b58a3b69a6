//! The chemistry of the synthetic industry: element signatures of ores and
//! scrap, the products made from them, and lots built from element masses.
//!
//! Everything is integer grams of REO per element and parts per million, and
//! every lot's content is derived with the same domain functions the
//! projector uses (`Measurement::reo`, `LotState::reo_of`), so that what the
//! generator balanced is what the checks see.

use std::collections::BTreeMap;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use retrace_domain::distribution::{ElementDistribution, ElementMasses, apportion};
use retrace_domain::element::Element;
use retrace_domain::lot::{FeedOrigin, LotId};
use retrace_domain::measurement::{GradeBasis, Measurement};
use retrace_domain::product::{Catalogue, ContentBasis, Product, ProductCode};
use retrace_domain::quantity::{Mass, PPM, Share};
use time::Date;

use Element::{Ce, Dy, Er, Eu, Gd, Ho, La, Lu, Nd, Pr, Sm, Tb, Tm, Y, Yb};

/// Shares of each element in the rare earth content, in ppm, adding up to a whole.
pub(crate) type Signature = &'static [(Element, u32)];

/// Bayan Obo bastnäsite–monazite: Ce about half, La a quarter, little Y.
pub(crate) const BAYAN_OBO: Signature = &[
    (La, 255_000),
    (Ce, 500_000),
    (Pr, 51_000),
    (Nd, 165_000),
    (Sm, 15_000),
    (Eu, 2_000),
    (Gd, 7_000),
    (Tb, 1_000),
    (Dy, 1_000),
    (Y, 3_000),
];

/// Mianning bastnäsite: La-richer, Nd-poorer than Bayan Obo.
pub(crate) const MIANNING: Signature = &[
    (La, 330_000),
    (Ce, 480_000),
    (Pr, 45_000),
    (Nd, 120_000),
    (Sm, 12_000),
    (Eu, 2_000),
    (Gd, 4_000),
    (Tb, 1_000),
    (Dy, 2_000),
    (Y, 4_000),
];

/// Weishan bastnäsite: the lightest of the three.
pub(crate) const WEISHAN: Signature = &[
    (La, 380_000),
    (Ce, 470_000),
    (Pr, 35_000),
    (Nd, 95_000),
    (Sm, 8_000),
    (Eu, 2_000),
    (Gd, 4_000),
    (Tb, 1_000),
    (Dy, 1_000),
    (Y, 4_000),
];

/// High-yttrium ionic clay (Longnan type): Y 60 %, Dy 7 %, Tb 1 %.
pub(crate) const IONIC_HIGH_Y: Signature = &[
    (Y, 600_000),
    (La, 40_000),
    (Ce, 15_000),
    (Pr, 15_000),
    (Nd, 55_000),
    (Sm, 25_000),
    (Eu, 2_000),
    (Gd, 55_000),
    (Tb, 10_000),
    (Dy, 70_000),
    (Ho, 16_000),
    (Er, 47_000),
    (Tm, 7_000),
    (Yb, 37_000),
    (Lu, 6_000),
];

/// Medium-yttrium, europium-rich ionic clay (Xunwu type): Y 25 %, La 27 %.
pub(crate) const IONIC_MEDIUM_Y: Signature = &[
    (Y, 250_000),
    (La, 270_000),
    (Ce, 20_000),
    (Pr, 60_000),
    (Nd, 203_000),
    (Sm, 45_000),
    (Eu, 6_000),
    (Gd, 45_000),
    (Tb, 6_000),
    (Dy, 35_000),
    (Ho, 7_000),
    (Er, 25_000),
    (Tm, 3_000),
    (Yb, 22_000),
    (Lu, 3_000),
];

/// Medium-heavy ionic clay (Fujian, Guangdong, Hunan): Y 40 %, Dy 5.5 %.
pub(crate) const IONIC_MID_HEAVY: Signature = &[
    (Y, 400_000),
    (La, 180_000),
    (Ce, 15_000),
    (Pr, 41_000),
    (Nd, 130_000),
    (Sm, 35_000),
    (Eu, 5_000),
    (Gd, 50_000),
    (Tb, 8_000),
    (Dy, 55_000),
    (Ho, 12_000),
    (Er, 35_000),
    (Tm, 5_000),
    (Yb, 25_000),
    (Lu, 4_000),
];

/// Ionic ore from Myanmar (Kachin): Dy-rich.
pub(crate) const MYANMAR_IONIC: Signature = &[
    (Y, 350_000),
    (La, 150_000),
    (Ce, 20_000),
    (Pr, 40_000),
    (Nd, 140_000),
    (Sm, 40_000),
    (Eu, 5_000),
    (Gd, 60_000),
    (Tb, 10_000),
    (Dy, 70_000),
    (Ho, 15_000),
    (Er, 45_000),
    (Tm, 7_000),
    (Yb, 43_000),
    (Lu, 5_000),
];

/// Ionic ore from Laos.
pub(crate) const LAOS_IONIC: Signature = &[
    (Y, 280_000),
    (La, 240_000),
    (Ce, 30_000),
    (Pr, 50_000),
    (Nd, 170_000),
    (Sm, 40_000),
    (Eu, 6_000),
    (Gd, 50_000),
    (Tb, 8_000),
    (Dy, 50_000),
    (Ho, 10_000),
    (Er, 33_000),
    (Tm, 5_000),
    (Yb, 25_000),
    (Lu, 3_000),
];

/// Imported monazite concentrate: light, with more Y and Dy than bastnäsite.
pub(crate) const MONAZITE: Signature = &[
    (La, 230_000),
    (Ce, 460_000),
    (Pr, 50_000),
    (Nd, 180_000),
    (Sm, 30_000),
    (Eu, 2_000),
    (Gd, 20_000),
    (Tb, 3_000),
    (Dy, 10_000),
    (Y, 15_000),
];

/// NdFeB swarf and sludge, as shares of its rare earth metal: Nd/Pr with the
/// Dy and Tb of high-coercivity grades, and no yttrium.
pub(crate) const NDFEB_SCRAP: Signature = &[
    (Nd, 700_000),
    (Pr, 230_000),
    (Dy, 45_000),
    (Tb, 8_000),
    (Gd, 12_000),
    (Ho, 5_000),
];

/// End-of-life magnets: less Dy than production swarf.
pub(crate) const EOL_MAGNET: Signature = &[
    (Nd, 720_000),
    (Pr, 240_000),
    (Dy, 30_000),
    (Tb, 5_000),
    (Ho, 5_000),
];

/// Each element's share varied by up to ±`spread_ppm` (relative) and the whole
/// renormalised to exactly one million ppm: every mine and every lot has its
/// own fingerprint within its type.
pub(crate) fn vary(signature: Signature, spread_ppm: u32, rng: &mut ChaCha8Rng) -> ElementMasses {
    vary_masses(&weights(signature), spread_ppm, rng)
}

/// A signature as per-element weights (ppm).
pub(crate) fn weights(signature: Signature) -> ElementMasses {
    let mut w = [0u64; 16];
    for (e, ppm) in signature {
        w[*e as usize] = u64::from(*ppm);
    }
    w
}

/// [`vary`] for a signature already held as per-element weights.
pub(crate) fn vary_masses(
    weights: &ElementMasses,
    spread_ppm: u32,
    rng: &mut ChaCha8Rng,
) -> ElementMasses {
    let mut varied = [0u64; 16];
    for (v, w) in varied.iter_mut().zip(weights) {
        if *w > 0 {
            *v = w * u64::from(PPM - spread_ppm + rng.random_range(0..=2 * spread_ppm));
        }
    }
    apportion(u64::from(PPM), &varied)
}

/// Splits `reo` grams over the elements in proportion to `weights`.
pub(crate) fn split(reo: u64, weights: &ElementMasses) -> ElementMasses {
    apportion(reo, weights)
}

/// `value × ppm / 10⁶`, rounded down so that an output never rounds above its input.
pub(crate) fn ppm_of(value: u64, ppm: u64) -> u64 {
    u64::try_from(u128::from(value) * u128::from(ppm) / u128::from(PPM)).unwrap_or(u64::MAX)
}

pub(crate) fn sum(masses: &ElementMasses) -> u64 {
    masses.iter().sum()
}

pub(crate) fn add(into: &mut ElementMasses, from: &ElementMasses) {
    for (a, b) in into.iter_mut().zip(from) {
        *a += b;
    }
}

/// The products the industry makes, resolved once from the embedded catalogue
/// for the synthetic year.
#[derive(Debug)]
pub(crate) struct Products {
    by_code: BTreeMap<&'static str, &'static Product>,
}

/// Every code the synthetic industry uses.
const CODES: &[&str] = &[
    "ORE-BAOTOU-MIX50",
    "ORE-MIANNING-BAST",
    "ORE-WEISHAN-BAST",
    "ORE-IONIC-CARB",
    "ORE-IONIC-OXIDE",
    "ORE-MONAZITE",
    "MIX-RECL3",
    "MIX-SEG",
    "MIX-HREE",
    "OXI-Y",
    "OXI-LA",
    "OXI-CE",
    "OXI-PR",
    "OXI-ND",
    "OXI-PRND",
    "OXI-SM",
    "OXI-EU",
    "OXI-GD",
    "OXI-TB",
    "OXI-DY",
    "OXI-HO",
    "OXI-ER",
    "OXI-TM",
    "OXI-YB",
    "OXI-LU",
    "MET-PR",
    "MET-ND",
    "MET-PRND",
    "MET-TB",
    "ALY-DYFE",
    "MAG-NDFEB-SINT",
    "MAG-NDFEB-HREE",
    "SCR-NDFEB-SWARF",
    "SCR-MAG-EOL",
];

impl Products {
    /// # Panics
    /// If the embedded catalogue lacks one of the products for the whole of
    /// `first..=last` — the synthetic year must lie where the catalogue has them.
    pub(crate) fn for_year(first: Date, last: Date) -> Products {
        let catalogue = Catalogue::embedded();
        let by_code = CODES
            .iter()
            .map(|code| {
                let parsed = ProductCode::parse(code).unwrap_or_else(|e| panic!("{e}"));
                let product = catalogue
                    .get(&parsed, first)
                    .filter(|p| p.in_force(last))
                    .unwrap_or_else(|| {
                        panic!("the product catalogue has no {code} for all of {first}..{last}")
                    });
                (*code, product)
            })
            .collect();
        Products { by_code }
    }

    /// # Panics
    /// If `code` is not one of the codes resolved — a bug in this crate.
    pub(crate) fn get(&self, code: &str) -> &'static Product {
        self.by_code
            .get(code)
            .copied()
            .unwrap_or_else(|| panic!("product {code} was not resolved"))
    }
}

/// A lot as the generator tracks it: its measured content, which never
/// changes, and where its rare earth came from.
#[derive(Debug)]
pub(crate) struct LotInfo {
    pub id: LotId,
    pub product: &'static Product,
    pub grade: Share,
    /// Wet mass as first measured.
    pub wet: u64,
    /// REO of the whole lot, and per element.
    pub reo: u64,
    pub elements: ElementMasses,
    pub distribution: ElementDistribution,
    pub origin: FeedOrigin,
}

impl LotInfo {
    /// REO in `mass` grams of the lot, pro rata of wet mass, as the projector reckons it.
    pub(crate) fn reo_of(&self, mass: u64) -> u64 {
        Mass::from_grams(self.reo).scale(mass, self.wet).grams()
    }

    /// REO per element in `mass` grams of the lot.
    pub(crate) fn elements_of(&self, mass: u64) -> ElementMasses {
        let mut out = [0u64; 16];
        for (o, v) in out.iter_mut().zip(self.elements) {
            *o = Mass::from_grams(v).scale(mass, self.wet).grams();
        }
        out
    }

    pub(crate) fn share_ppm(&self, element: Element) -> u32 {
        self.distribution.share(element).ppm()
    }
}

/// The measurement, distribution and content of a lot made from given REO per element.
#[derive(Debug)]
pub(crate) struct Made {
    pub measurement: Measurement,
    pub distribution: ElementDistribution,
    pub reo: u64,
    pub elements: ElementMasses,
}

/// Builds the lot that holds `reo` grams of oxide per element as `product` at
/// `grade` (TREO, or total rare earth metal for metal-basis products, dry
/// basis) and `moisture`. Metal-basis products hold the elements as metal,
/// converted with the oxide factors. `None` when there is nothing to hold.
pub(crate) fn make(
    product: &Product,
    reo: &ElementMasses,
    grade_ppm: u32,
    moisture_ppm: u32,
) -> Option<Made> {
    let content: ElementMasses = match product.content {
        ContentBasis::Oxide => *reo,
        ContentBasis::Metal => {
            let mut metal = [0u64; 16];
            for e in Element::ALL {
                metal[e as usize] = e.oxide_factor().element_from_oxide(reo[e as usize]);
            }
            metal
        }
    };
    let total = sum(&content);
    if total == 0 {
        return None;
    }
    let distribution = ElementDistribution::from_masses(&content)?;
    let grade = Share::from_ppm(grade_ppm)?;
    let moisture = Share::from_ppm(moisture_ppm)?;
    let dry = Mass::from_grams(total).scale(u64::from(PPM), u64::from(grade_ppm));
    let wet = dry.scale(u64::from(PPM), u64::from(PPM - moisture_ppm));
    let measurement = Measurement {
        wet_mass: wet,
        moisture,
        loss_on_ignition: None,
        grade,
        basis: GradeBasis::Dry,
        purity: None,
        certificate: None,
    };
    let content = measurement.reo(product, Some(&distribution)).ok()?;
    Some(Made {
        reo: content.total.grams(),
        elements: content.by_element.unwrap_or_default(),
        measurement,
        distribution,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn signatures_add_up_to_a_whole() {
        for s in [
            BAYAN_OBO,
            MIANNING,
            WEISHAN,
            IONIC_HIGH_Y,
            IONIC_MEDIUM_Y,
            IONIC_MID_HEAVY,
            MYANMAR_IONIC,
            LAOS_IONIC,
            MONAZITE,
            NDFEB_SCRAP,
            EOL_MAGNET,
        ] {
            assert_eq!(s.iter().map(|(_, p)| p).sum::<u32>(), PPM);
        }
        let bastnaesite_y = BAYAN_OBO.iter().find(|(e, _)| *e == Y).map(|(_, p)| *p);
        assert!(bastnaesite_y < Some(5_000));
    }

    #[test]
    fn varied_signatures_stay_whole() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let v = vary(IONIC_HIGH_Y, 50_000, &mut rng);
        assert_eq!(sum(&v), u64::from(PPM));
        assert!(v[Y as usize] > 550_000);
    }

    #[test]
    fn wet_filter_cake_holds_what_it_was_made_from() {
        let products = Products::for_year(
            time::macros::date!(2025 - 01 - 01),
            time::macros::date!(2025 - 12 - 31),
        );
        let reo = split(
            45_000_000,
            &vary(IONIC_MID_HEAVY, 0, &mut ChaCha8Rng::seed_from_u64(0)),
        );
        let made = make(products.get("ORE-IONIC-CARB"), &reo, 450_000, 400_000).unwrap();
        assert_eq!(made.measurement.wet_mass.grams(), 166_666_667);
        assert!(made.reo.abs_diff(45_000_000) <= 2);
        let metal = make(products.get("MET-PRND"), &reo, 995_000, 0).unwrap();
        assert!(metal.reo.abs_diff(45_000_000) < 100);
    }
}
