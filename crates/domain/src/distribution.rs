//! The element distribution of a lot: the share of each element in its rare
//! earth content (DESIGN.md §2). Separation outputs always carry one; it is
//! also the fingerprint that tells ionic-clay feed (high Y, rich in Dy and Tb)
//! from bastnäsite or magnet scrap.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use crate::element::Element;
use crate::quantity::{Mass, PPM, Share};

/// How far from 100 % the shares of a certificate may add up before the
/// distribution is refused as malformed: labs round each line, so a sum of
/// 99.8 %–100.2 % is what real certificates show.
pub const SUM_TOLERANCE_PPM: u32 = 2_000;

/// Per-element masses, indexed by `Element as usize`.
pub type ElementMasses = [u64; 16];

/// A distribution whose shares do not add up to a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DistributionError {
    #[error("the element shares add up to {0}, not 100 % (±0.2 %)")]
    Sum(Share),
    #[error("the element shares add up to more than 100 %")]
    Overflow,
    #[error("the distribution names no element")]
    Empty,
}

/// Shares of each element in the lot's rare earth content, adding up to a
/// whole within [`SUM_TOLERANCE_PPM`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ElementDistribution(BTreeMap<Element, Share>);

impl ElementDistribution {
    /// Checks that the shares add up to a whole.
    ///
    /// # Errors
    /// [`DistributionError`] when they do not, or when none is given.
    pub fn new(shares: BTreeMap<Element, Share>) -> Result<Self, DistributionError> {
        let shares: BTreeMap<_, _> = shares.into_iter().filter(|(_, s)| s.ppm() > 0).collect();
        if shares.is_empty() {
            return Err(DistributionError::Empty);
        }
        let sum: u32 = shares.values().map(|s| s.ppm()).sum();
        if sum.abs_diff(PPM) > SUM_TOLERANCE_PPM {
            return Err(
                Share::from_ppm(sum).map_or(DistributionError::Overflow, DistributionError::Sum)
            );
        }
        Ok(ElementDistribution(shares))
    }

    /// A distribution of a single element.
    pub fn pure(element: Element) -> Self {
        ElementDistribution(BTreeMap::from([(element, Share::WHOLE)]))
    }

    /// Builds the distribution that per-element masses describe; `None` when all are zero.
    pub fn from_masses(masses: &ElementMasses) -> Option<Self> {
        let total: u64 = masses.iter().sum();
        if total == 0 {
            return None;
        }
        let ppm = apportion(PPM.into(), masses);
        let shares = Element::ALL
            .into_iter()
            .zip(ppm)
            .filter(|(_, p)| *p > 0)
            .map(|(e, p)| {
                (
                    e,
                    Share::from_ppm(u32::try_from(p).unwrap_or(PPM)).unwrap_or(Share::WHOLE),
                )
            })
            .collect();
        Some(ElementDistribution(shares))
    }

    /// The share of one element, zero when absent.
    pub fn share(&self, element: Element) -> Share {
        self.0.get(&element).copied().unwrap_or(Share::ZERO)
    }

    pub fn iter(&self) -> impl Iterator<Item = (Element, Share)> + '_ {
        self.0.iter().map(|(e, s)| (*e, *s))
    }

    /// Splits `total` over the elements in proportion to their shares, by the
    /// largest-remainder method so that the parts add up to `total` exactly.
    pub fn split(&self, total: Mass) -> ElementMasses {
        let mut weights = [0u64; 16];
        for (e, s) in self.iter() {
            weights[e as usize] = u64::from(s.ppm());
        }
        apportion(total.grams(), &weights)
    }
}

impl<'de> Deserialize<'de> for ElementDistribution {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let shares = BTreeMap::<Element, Share>::deserialize(d)?;
        ElementDistribution::new(shares).map_err(serde::de::Error::custom)
    }
}

/// Divides `total` in proportion to `weights` so that the parts add up to
/// `total` exactly (largest remainder, ties to the lower index). All-zero
/// weights give all-zero parts.
pub fn apportion(total: u64, weights: &ElementMasses) -> ElementMasses {
    let sum: u128 = weights.iter().map(|w| u128::from(*w)).sum();
    let mut parts = [0u64; 16];
    if sum == 0 {
        return parts;
    }
    let mut remainders = [(0u128, 0usize); 16];
    let mut given = 0u64;
    for (i, w) in weights.iter().enumerate() {
        let exact = u128::from(total) * u128::from(*w);
        parts[i] = u64::try_from(exact / sum).unwrap_or(u64::MAX);
        remainders[i] = (exact % sum, i);
        given += parts[i];
    }
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders
        .iter()
        .take(usize::try_from(total - given).unwrap_or(0))
    {
        parts[*i] += 1;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn share(p: &str) -> Share {
        p.parse().unwrap()
    }

    #[test]
    fn shares_must_add_up() {
        let ok = BTreeMap::from([(Element::Nd, share("75%")), (Element::Pr, share("24.9%"))]);
        assert!(ElementDistribution::new(ok).is_ok());
        let short = BTreeMap::from([(Element::Nd, share("75%")), (Element::Pr, share("20%"))]);
        assert_eq!(
            ElementDistribution::new(short).unwrap_err(),
            DistributionError::Sum(share("95%"))
        );
        assert_eq!(
            ElementDistribution::new(BTreeMap::new()).unwrap_err(),
            DistributionError::Empty
        );
    }

    #[test]
    fn split_is_exact() {
        let d = ElementDistribution::new(BTreeMap::from([
            (Element::La, share("33.3333%")),
            (Element::Ce, share("33.3333%")),
            (Element::Nd, share("33.3334%")),
        ]))
        .unwrap();
        let parts = d.split(Mass::from_grams(100));
        assert_eq!(parts.iter().sum::<u64>(), 100);
        assert_eq!(parts[Element::Nd as usize], 34);
    }

    proptest! {
        #[test]
        fn apportion_adds_up(total in 0u64..1_000_000_000_000, weights in proptest::array::uniform16(0u64..1_000_000)) {
            let parts = apportion(total, &weights);
            if weights.iter().any(|w| *w > 0) {
                prop_assert_eq!(parts.iter().sum::<u64>(), total);
            }
            for (p, w) in parts.iter().zip(weights) {
                if w == 0 { prop_assert_eq!(*p, 0); }
            }
        }
    }
}
