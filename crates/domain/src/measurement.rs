//! What was weighed and assayed, and the REO derived from it.
//!
//! DESIGN.md §2: products are often weighed wet; a measurement carries wet
//! mass, moisture (and loss on ignition where assayed) and the basis of its
//! grade: REO = wet mass × (1 − moisture) × TREO (dry basis). We store what
//! was measured and derive the rest, so a revised assay changes one input and
//! every figure follows.

use serde::{Deserialize, Serialize};

use crate::distribution::{ElementDistribution, ElementMasses};
use crate::element::{ATOMIC_WEIGHT_TABLE, Element};
use crate::product::{ContentBasis, Product};
use crate::quantity::{Mass, Share};

/// Whether a grade is stated on the dried or the as-weighed material.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum GradeBasis {
    #[default]
    Dry,
    Wet,
}

/// The quality certificate behind a grade: the enterprise lab's, or an
/// accredited (CMA/CNAS) third party's where disputed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AssayCertificate {
    pub number: String,
    pub laboratory: String,
    #[serde(default)]
    pub accredited: bool,
}

/// One weighing and assay of a lot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Measurement {
    pub wet_mass: Mass,
    #[serde(default, skip_serializing_if = "is_zero_share")]
    pub moisture: Share,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss_on_ignition: Option<Share>,
    /// TREO for oxide-basis products, total rare earth metal for metals,
    /// alloys, magnets and magnet scrap.
    pub grade: Share,
    #[serde(default)]
    pub basis: GradeBasis,
    /// Relative purity of the main element (e.g. Nd2O3/TREO ≥ 99.5 %), which is
    /// not the TREO content: both are kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purity: Option<Share>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<AssayCertificate>,
}

fn is_zero_share(s: &Share) -> bool {
    *s == Share::ZERO
}

/// Why the REO of a lot cannot be derived.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReoError {
    #[error("a metal-basis product needs an element distribution to convert to REO")]
    DistributionNeeded,
}

/// The rare earth content of a lot, in oxide, per element where known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReoContent {
    pub total: Mass,
    pub by_element: Option<ElementMasses>,
    /// The atomic-weight table the oxide factors came from.
    pub table: &'static str,
}

impl Measurement {
    /// A dry-basis measurement with no moisture, as used for refined products.
    pub fn dry(wet_mass: Mass, grade: Share) -> Measurement {
        Measurement {
            wet_mass,
            moisture: Share::ZERO,
            loss_on_ignition: None,
            grade,
            basis: GradeBasis::Dry,
            purity: None,
            certificate: None,
        }
    }

    /// Wet mass less moisture.
    pub fn dry_mass(&self) -> Mass {
        self.wet_mass.times(self.moisture.complement())
    }

    /// The rare earth content (oxide or metal, as the product states it).
    pub fn content(&self) -> Mass {
        match self.basis {
            GradeBasis::Dry => self.dry_mass().times(self.grade),
            GradeBasis::Wet => self.wet_mass.times(self.grade),
        }
    }

    /// REO of the lot: the oxide content directly, or the metal content
    /// converted element by element with the oxide factors.
    ///
    /// # Errors
    /// [`ReoError::DistributionNeeded`] for a metal-basis product without a distribution.
    pub fn reo(
        &self,
        product: &Product,
        distribution: Option<&ElementDistribution>,
    ) -> Result<ReoContent, ReoError> {
        let content = self.content();
        let by_element = match (product.content, distribution) {
            (ContentBasis::Oxide, d) => d.map(|d| d.split(content)),
            (ContentBasis::Metal, Some(d)) => {
                let metal = d.split(content);
                let mut oxide = [0u64; 16];
                for e in Element::ALL {
                    oxide[e as usize] = e.oxide_factor().oxide_from_element(metal[e as usize]);
                }
                Some(oxide)
            }
            (ContentBasis::Metal, None) => return Err(ReoError::DistributionNeeded),
        };
        let total = match (product.content, by_element) {
            (ContentBasis::Metal, Some(masses)) => Mass::from_grams(masses.iter().sum()),
            _ => content,
        };
        Ok(ReoContent {
            total,
            by_element,
            table: ATOMIC_WEIGHT_TABLE,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::product::Catalogue;

    #[test]
    fn wet_filter_cake_reo_uses_dry_basis() {
        let m = Measurement {
            wet_mass: Mass::from_tonnes(10),
            moisture: "40%".parse().unwrap(),
            loss_on_ignition: None,
            grade: "45%".parse().unwrap(),
            basis: GradeBasis::Dry,
            purity: None,
            certificate: None,
        };
        assert_eq!(m.dry_mass(), Mass::from_tonnes(6));
        assert_eq!(m.content(), Mass::from_kg(2_700));
    }

    #[test]
    fn metal_converts_with_oxide_factors() {
        let metal = Catalogue::embedded()
            .all()
            .find(|p| p.content == ContentBasis::Metal && p.main_element == Some(Element::Nd))
            .unwrap();
        let m = Measurement::dry(Mass::from_tonnes(1), Share::WHOLE);
        let reo = m
            .reo(metal, Some(&ElementDistribution::pure(Element::Nd)))
            .unwrap();
        assert_eq!(reo.total.grams(), 1_166_377);
        assert_eq!(
            m.reo(metal, None).unwrap_err(),
            ReoError::DistributionNeeded
        );
    }
}
