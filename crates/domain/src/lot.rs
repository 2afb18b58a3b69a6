//! Lots: the identified quantities of product that flows move, make and consume.
//!
//! A lot is named by a GS1 key where the enterprise has one — GTIN plus batch/lot
//! (GS1 Digital Link `/01/{GTIN}/10/{lot}`, DESIGN.md §4) — or by a
//! system-issued equivalent under the enterprise's USCC (`/uscc/{USCC}/10/{lot}`)
//! for the many rare earth enterprises without GS1 keys.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::uscc::Uscc;

/// The longest batch/lot number GS1 AI (10) allows.
const MAX_LOT_CHARS: usize = 20;

/// Who issued the lot number.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LotIssuer {
    /// A GTIN-14 with a valid GS1 check digit.
    Gtin(String),
    /// An enterprise without GS1 keys, by its USCC.
    Uscc(Uscc),
}

/// A lot identifier, parsed once and trusted after. Its canonical text is the
/// Digital Link path without the host: `01/{gtin14}/10/{lot}` or
/// `uscc/{uscc}/10/{lot}`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LotId {
    issuer: LotIssuer,
    number: String,
    text: String,
}

/// A lot identifier that is not well formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LotIdError {
    #[error(
        "`{0}` is not a lot identifier: write `01/<GTIN-14>/10/<lot>` or `uscc/<USCC>/10/<lot>`"
    )]
    Shape(String),
    #[error("the GTIN `{0}` must be 14 digits")]
    GtinLength(String),
    #[error("the GTIN `{gtin}` has check digit {got}, expected {expected}")]
    GtinCheck { gtin: String, expected: u8, got: u8 },
    #[error("the lot number `{0}` must be 1 to 20 characters of A–Z, a–z, 0–9, `-`, `.` or `_`")]
    Number(String),
    #[error("the lot's USCC is invalid: {0}")]
    Uscc(#[from] crate::uscc::UsccError),
}

impl LotId {
    /// A lot numbered by an enterprise under its USCC.
    ///
    /// # Errors
    /// [`LotIdError::Number`] when the number is empty, too long or uses other characters.
    pub fn under_uscc(uscc: &Uscc, number: &str) -> Result<LotId, LotIdError> {
        check_number(number)?;
        Ok(LotId {
            text: format!("uscc/{}/10/{number}", uscc.as_str()),
            issuer: LotIssuer::Uscc(uscc.clone()),
            number: number.to_owned(),
        })
    }

    /// Parses the canonical text (a leading `/` is accepted).
    ///
    /// # Errors
    /// A [`LotIdError`] naming the part that is wrong.
    pub fn parse(text: &str) -> Result<LotId, LotIdError> {
        let t = text.trim().trim_start_matches('/');
        let parts: Vec<&str> = t.split('/').collect();
        let [scheme, key, "10", number] = parts.as_slice() else {
            return Err(LotIdError::Shape(text.to_owned()));
        };
        check_number(number)?;
        let issuer = match *scheme {
            "01" => LotIssuer::Gtin(check_gtin(key)?),
            "uscc" => LotIssuer::Uscc(Uscc::parse(key)?),
            _ => return Err(LotIdError::Shape(text.to_owned())),
        };
        Ok(LotId {
            text: format!("{scheme}/{key}/10/{number}"),
            issuer,
            number: (*number).to_owned(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn issuer(&self) -> &LotIssuer {
        &self.issuer
    }

    /// The batch/lot number part.
    pub fn number(&self) -> &str {
        &self.number
    }

    /// The GS1 Digital Link URI under a resolver host, as the QR code on the package encodes it.
    pub fn digital_link(&self, resolver: &str) -> String {
        format!("https://{resolver}/{}", self.text)
    }
}

fn check_number(number: &str) -> Result<(), LotIdError> {
    let ok = (1..=MAX_LOT_CHARS).contains(&number.len())
        && number
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
    if ok {
        Ok(())
    } else {
        Err(LotIdError::Number(number.to_owned()))
    }
}

/// Checks a GTIN-14's mod-10 check digit (GS1 General Specifications §7.9).
fn check_gtin(gtin: &str) -> Result<String, LotIdError> {
    if gtin.len() != 14 || !gtin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(LotIdError::GtinLength(gtin.to_owned()));
    }
    let digits: Vec<u8> = gtin.bytes().map(|b| b - b'0').collect();
    let sum: u32 = digits[..13]
        .iter()
        .enumerate()
        .map(|(i, d)| u32::from(*d) * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    let expected = u8::try_from((10 - sum % 10) % 10).unwrap_or(0);
    if digits[13] == expected {
        Ok(gtin.to_owned())
    } else {
        Err(LotIdError::GtinCheck {
            gtin: gtin.to_owned(),
            expected,
            got: digits[13],
        })
    }
}

impl fmt::Display for LotId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for LotId {
    type Err = LotIdError;
    fn from_str(s: &str) -> Result<LotId, LotIdError> {
        LotId::parse(s)
    }
}

impl Serialize for LotId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for LotId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<LotId, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        LotId::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Where the rare earth in a lot came from, as separation quota counting needs
/// it (DESIGN.md §2 "Separation quota counting"; Art. 3 of the measures).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FeedOrigin {
    /// Ore mined in China under the mining quota.
    DomesticOre,
    /// Ore or concentrate imported.
    ImportedOre,
    /// Monazite, imported or a by-product; radioactive.
    Monazite,
    /// A by-product of other minerals.
    ByProduct,
    /// Recycled scrap (comprehensive utilisation); excluded from separation quota.
    RecycledScrap,
    /// Stock declared when the enterprise started recording.
    Declared,
}

impl FeedOrigin {
    pub fn name_zh(self) -> &'static str {
        match self {
            FeedOrigin::DomesticOre => "国内配额矿",
            FeedOrigin::ImportedOre => "进口矿",
            FeedOrigin::Monazite => "独居石",
            FeedOrigin::ByProduct => "伴生副产",
            FeedOrigin::RecycledScrap => "回收废料",
            FeedOrigin::Declared => "期初申报",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gtin_lots_check_their_digit() {
        let lot = LotId::parse("/01/06901234567892/10/NdO-2025-001").unwrap();
        assert_eq!(lot.as_str(), "01/06901234567892/10/NdO-2025-001");
        assert_eq!(lot.number(), "NdO-2025-001");
        assert_eq!(
            LotId::parse("01/06901234567891/10/A").unwrap_err(),
            LotIdError::GtinCheck {
                gtin: "06901234567891".into(),
                expected: 2,
                got: 1
            }
        );
    }

    #[test]
    fn bad_shapes_are_named() {
        assert!(matches!(
            LotId::parse("01/06901234567892/A"),
            Err(LotIdError::Shape(_))
        ));
        assert!(matches!(
            LotId::parse("01/06901234567892/10/has space"),
            Err(LotIdError::Number(_))
        ));
        assert!(matches!(
            LotId::parse("01/06901234567892/10/ABCDEFGHIJKLMNOPQRSTU"),
            Err(LotIdError::Number(_))
        ));
    }

    #[test]
    fn uscc_lots_round_trip() {
        let uscc = Uscc::synthesize("150206", 7);
        let lot = LotId::under_uscc(&uscc, "C-001").unwrap();
        assert_eq!(LotId::parse(lot.as_str()).unwrap(), lot);
        assert!(
            lot.digital_link("id.example")
                .starts_with("https://id.example/uscc/")
        );
    }
}
