//! Exact quantities: mass in integer grams, shares in parts per million.
//!
//! DESIGN.md §2: "Mass is exact: integer grams or a decimal, never a float.
//! Quotas and reports are in tonnes of REO with 3 decimals." Grams in a `u64`
//! hold a billion tonnes; shares in ppm keep four decimals of a percent, finer
//! than any assay certificate states.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::element::mul_div_round;

/// Grams per kilogram and per tonne.
const KG: u64 = 1_000;
const TONNE: u64 = 1_000_000;

/// One whole, in parts per million.
pub const PPM: u32 = 1_000_000;

/// A quantity text that is not an exact mass or share.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error("`{0}` is not a mass: write a number and a unit, e.g. `12.5 t`, `830 kg` or `500 g`")]
    MassSyntax(String),
    #[error("`{0}` is more precise than a gram")]
    MassPrecision(String),
    #[error("`{0}` is too large a mass")]
    MassRange(String),
    #[error("`{0}` is not a share: write a percentage such as `45.5%`")]
    ShareSyntax(String),
    #[error("`{0}` is more precise than 0.0001 %")]
    SharePrecision(String),
    #[error("`{0}` is not between 0 % and 100 %")]
    ShareRange(String),
}

/// A non-negative mass, exact to the gram. Written `12.5 t`, `830 kg` or
/// `500 g` (UNECE Rec 20 TNE, KGM, GRM); shown in kilograms with three
/// decimals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mass(u64);

impl Mass {
    pub const ZERO: Mass = Mass(0);

    pub const fn from_grams(grams: u64) -> Mass {
        Mass(grams)
    }

    pub const fn from_kg(kg: u64) -> Mass {
        Mass(kg * KG)
    }

    pub const fn from_tonnes(t: u64) -> Mass {
        Mass(t * TONNE)
    }

    pub const fn grams(self) -> u64 {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// `self × share`, rounded half up to the gram.
    pub fn times(self, share: Share) -> Mass {
        Mass(mul_div_round(self.0, u64::from(share.0), u64::from(PPM)))
    }

    /// `self × num / den`, rounded half up; a zero denominator gives zero.
    pub fn scale(self, num: u64, den: u64) -> Mass {
        if den == 0 {
            Mass::ZERO
        } else {
            Mass(mul_div_round(self.0, num, den))
        }
    }

    pub fn checked_add(self, other: Mass) -> Option<Mass> {
        self.0.checked_add(other.0).map(Mass)
    }

    pub fn saturating_sub(self, other: Mass) -> Mass {
        Mass(self.0.saturating_sub(other.0))
    }

    /// Tonnes with three decimals, the unit of quotas and reports.
    pub fn tonnes(self) -> String {
        format_fixed(u128::from(self.0), TONNE, 3)
    }

    /// The share `self / whole`, in ppm, rounded half up (zero when `whole` is zero).
    pub fn share_of(self, whole: Mass) -> u64 {
        if whole.0 == 0 {
            0
        } else {
            mul_div_round(self.0, u64::from(PPM), whole.0)
        }
    }
}

impl std::iter::Sum for Mass {
    fn sum<I: Iterator<Item = Mass>>(iter: I) -> Mass {
        Mass(iter.map(|m| m.0).sum())
    }
}

impl std::ops::Add for Mass {
    type Output = Mass;
    fn add(self, rhs: Mass) -> Mass {
        Mass(self.0 + rhs.0)
    }
}

impl fmt::Display for Mass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} kg", format_fixed(u128::from(self.0), KG, 3))
    }
}

impl FromStr for Mass {
    type Err = QuantityError;

    fn from_str(s: &str) -> Result<Mass, QuantityError> {
        let t = s.trim();
        let (number, unit) = t
            .rsplit_once(|c: char| c.is_ascii_whitespace())
            .map(|(n, u)| (n.trim(), u))
            .or_else(|| {
                let at = t.find(|c: char| c.is_ascii_alphabetic())?;
                Some((t[..at].trim(), &t[at..]))
            })
            .ok_or_else(|| QuantityError::MassSyntax(s.to_owned()))?;
        let scale = match unit {
            "t" | "TNE" => TONNE,
            "kg" | "KGM" => KG,
            "g" | "GRM" => 1,
            _ => return Err(QuantityError::MassSyntax(s.to_owned())),
        };
        let grams = parse_fixed(number, scale).map_err(|e| match e {
            FixedError::Syntax => QuantityError::MassSyntax(s.to_owned()),
            FixedError::Precision => QuantityError::MassPrecision(s.to_owned()),
            FixedError::Range => QuantityError::MassRange(s.to_owned()),
        })?;
        u64::try_from(grams)
            .map(Mass)
            .map_err(|_| QuantityError::MassRange(s.to_owned()))
    }
}

impl Serialize for Mass {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Mass {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Mass, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A signed change of mass, for stock-take variances and losses (DESIGN.md §2 `adjust`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MassChange(i64);

impl MassChange {
    pub const fn from_grams(grams: i64) -> MassChange {
        MassChange(grams)
    }

    pub const fn grams(self) -> i64 {
        self.0
    }

    pub fn magnitude(self) -> Mass {
        Mass(self.0.unsigned_abs())
    }
}

impl fmt::Display for MassChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "+" };
        write!(f, "{sign}{}", self.magnitude())
    }
}

impl FromStr for MassChange {
    type Err = QuantityError;

    fn from_str(s: &str) -> Result<MassChange, QuantityError> {
        let t = s.trim();
        let (negative, rest) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t.strip_prefix('+').unwrap_or(t)),
        };
        let mass: Mass = rest.parse()?;
        let grams = i64::try_from(mass.0).map_err(|_| QuantityError::MassRange(s.to_owned()))?;
        Ok(MassChange(if negative { -grams } else { grams }))
    }
}

impl Serialize for MassChange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MassChange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<MassChange, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A share of a whole between 0 % and 100 %, exact to 0.0001 %: grades,
/// moisture, purity and element shares. Written and shown as a percentage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Share(u32);

impl Share {
    pub const ZERO: Share = Share(0);
    pub const WHOLE: Share = Share(PPM);

    /// A share from parts per million; `None` above one whole.
    pub const fn from_ppm(ppm: u32) -> Option<Share> {
        if ppm <= PPM { Some(Share(ppm)) } else { None }
    }

    pub const fn ppm(self) -> u32 {
        self.0
    }

    /// One whole minus this share.
    pub const fn complement(self) -> Share {
        Share(PPM - self.0)
    }
}

impl fmt::Display for Share {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = format_fixed(u128::from(self.0), 10_000, 4);
        let trimmed = text.trim_end_matches('0').trim_end_matches('.');
        write!(f, "{trimmed}%")
    }
}

impl FromStr for Share {
    type Err = QuantityError;

    fn from_str(s: &str) -> Result<Share, QuantityError> {
        let number = s
            .trim()
            .strip_suffix('%')
            .ok_or_else(|| QuantityError::ShareSyntax(s.to_owned()))?
            .trim();
        let ppm = parse_fixed(number, 10_000).map_err(|e| match e {
            FixedError::Syntax => QuantityError::ShareSyntax(s.to_owned()),
            FixedError::Precision => QuantityError::SharePrecision(s.to_owned()),
            FixedError::Range => QuantityError::ShareRange(s.to_owned()),
        })?;
        u32::try_from(ppm)
            .ok()
            .and_then(Share::from_ppm)
            .ok_or_else(|| QuantityError::ShareRange(s.to_owned()))
    }
}

impl Serialize for Share {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Share {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Share, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

enum FixedError {
    Syntax,
    Precision,
    Range,
}

/// Parses a non-negative decimal `123.456` into units of `1/scale`, refusing
/// digits finer than one unit.
fn parse_fixed(text: &str, scale: u64) -> Result<u128, FixedError> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits_ok = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || !digits_ok(whole)
        || !digits_ok(frac)
        || (text.contains('.') && frac.is_empty())
    {
        return Err(FixedError::Syntax);
    }
    let places = scale.ilog10() as usize;
    let significant = frac.trim_end_matches('0');
    if significant.len() > places {
        return Err(FixedError::Precision);
    }
    if whole.len() > 30 {
        return Err(FixedError::Range);
    }
    let whole: u128 = whole.parse().map_err(|_| FixedError::Range)?;
    let mut frac_units: u128 = 0;
    for (i, b) in significant.bytes().enumerate() {
        frac_units += u128::from(b - b'0') * 10u128.pow((places - 1 - i) as u32);
    }
    whole
        .checked_mul(u128::from(scale))
        .and_then(|w| w.checked_add(frac_units))
        .ok_or(FixedError::Range)
}

/// `value / scale` printed with exactly `places` decimals (scale a power of ten ≥ 10^places).
fn format_fixed(value: u128, scale: u64, places: u32) -> String {
    let scale = u128::from(scale);
    let step = scale / 10u128.pow(places);
    let rounded = (value + step / 2) / step;
    let unit = 10u128.pow(places);
    format!(
        "{}.{:0width$}",
        rounded / unit,
        rounded % unit,
        width = places as usize
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn masses_parse_in_every_unit() {
        assert_eq!("12.5 t".parse::<Mass>().unwrap().grams(), 12_500_000);
        assert_eq!("830kg".parse::<Mass>().unwrap().grams(), 830_000);
        assert_eq!("0.001 kg".parse::<Mass>().unwrap().grams(), 1);
        assert_eq!("500 GRM".parse::<Mass>().unwrap().grams(), 500);
        assert_eq!(Mass::from_grams(1_234_567).to_string(), "1234.567 kg");
        assert_eq!(Mass::from_grams(1_234_567).tonnes(), "1.235");
    }

    #[test]
    fn bad_masses_say_why() {
        for (text, want) in [
            ("12.5", QuantityError::MassSyntax("12.5".into())),
            ("-3 t", QuantityError::MassSyntax("-3 t".into())),
            (
                "1.0001 kg",
                QuantityError::MassPrecision("1.0001 kg".into()),
            ),
            ("1e3 kg", QuantityError::MassSyntax("1e3 kg".into())),
            ("3 lb", QuantityError::MassSyntax("3 lb".into())),
            (
                "99999999999999999 t",
                QuantityError::MassRange("99999999999999999 t".into()),
            ),
        ] {
            assert_eq!(text.parse::<Mass>().unwrap_err(), want, "{text}");
        }
    }

    #[test]
    fn shares_parse_as_percentages() {
        assert_eq!("45.5%".parse::<Share>().unwrap().ppm(), 455_000);
        assert_eq!("99.9999 %".parse::<Share>().unwrap().ppm(), 999_999);
        assert_eq!(Share::from_ppm(455_000).unwrap().to_string(), "45.5%");
        assert_eq!(Share::WHOLE.to_string(), "100%");
        assert!("100.0001%".parse::<Share>().is_err());
        assert!("0.45".parse::<Share>().is_err());
        assert!("1.00001%".parse::<Share>().is_err());
    }

    #[test]
    fn changes_carry_their_sign() {
        let c: MassChange = "-1.5 t".parse().unwrap();
        assert_eq!(c.grams(), -1_500_000);
        assert_eq!(c.to_string(), "-1500.000 kg");
        assert_eq!("+2 kg".parse::<MassChange>().unwrap().grams(), 2000);
    }

    proptest! {
        #[test]
        fn mass_text_round_trips(g in 0u64..10_000_000_000_000) {
            let m = Mass::from_grams(g);
            prop_assert_eq!(m.to_string().parse::<Mass>().unwrap(), m);
        }

        #[test]
        fn share_text_round_trips(p in 0u32..=PPM) {
            let s = Share::from_ppm(p).unwrap();
            prop_assert_eq!(s.to_string().parse::<Share>().unwrap(), s);
        }
    }
}
