//! Exact quantities in EPCIS JSON: masses as `quantityList` elements in UNECE Rec 20 units
//! (EPCIS 2.0 §7.3.3.3, `QuantityElement`), shares (grades, moisture, element shares) as
//! percentages.
//!
//! EPCIS 2.0's JSON schema types `quantity` as a JSON number, and a JSON number is read as an
//! IEEE 754 double unless it is an integer. retrace's masses are integer grams and its shares
//! integer parts per million, never floats: they are written as the shortest decimal that
//! reads back as the same double, and read back through that decimal text. A decimal of at
//! most 15 significant digits survives the double exactly (IEEE 754 `DBL_DIG`), which covers
//! a billion tonnes to the gram; anything longer, or finer than a gram or than 0.0001 %, is
//! refused rather than rounded.

use retrace_domain::quantity::{Mass, Share};
use serde_json::Number;

/// The unit retrace writes masses in: kilograms (UNECE Rec 20 `KGM`), three decimals to the
/// gram.
pub const KILOGRAM: &str = "KGM";

/// The units a mass is read in: `KGM`, `TNE` (tonne) and `GRM` (gram).
pub const MASS_UNITS: [&str; 3] = ["KGM", "TNE", "GRM"];

/// Significant digits a double carries exactly.
const EXACT_DIGITS: usize = 15;

/// A mass in kilograms as a JSON number.
///
/// # Errors
///
/// When the mass in kilograms needs more than 15 significant digits (over a billion tonnes
/// given to the gram), which no double holds exactly.
pub fn kilograms(mass: Mass) -> Result<Number, String> {
    let (kilograms, grams) = (mass.grams() / 1000, mass.grams() % 1000);
    if grams == 0 {
        return Ok(Number::from(kilograms));
    }
    decimal_number(&format!("{kilograms}.{grams:03}"))
        .ok_or_else(|| format!("{mass} needs more than {EXACT_DIGITS} significant digits"))
}

/// A share as a JSON number of percent (`45.5` for 45.5 %).
pub fn percent(share: Share) -> Number {
    let text = share.to_string();
    decimal_number(text.trim_end_matches('%'))
        .unwrap_or_else(|| unreachable!("a share has at most 7 significant digits: {text}"))
}

/// The mass a quantity states in `uom`.
///
/// # Errors
///
/// What is wrong, and what to write instead: another unit, a negative or inexact number,
/// more precision than a gram.
pub fn parse_mass(quantity: &Number, uom: &str) -> Result<Mass, String> {
    if !MASS_UNITS.contains(&uom) {
        return Err(format!(
            "the unit {uom:?} is not a mass: write KGM, TNE or GRM (UNECE Rec 20)"
        ));
    }
    let text = plain_decimal(quantity)?;
    format!("{text} {uom}")
        .parse()
        .map_err(|e| format!("{e}; write a non-negative mass to the gram"))
}

/// The share a number of percent states.
///
/// # Errors
///
/// What is wrong, and what to write instead.
pub fn parse_percent(number: &Number) -> Result<Share, String> {
    let text = plain_decimal(number)?;
    format!("{text}%")
        .parse()
        .map_err(|e| format!("{e}; write a percentage from 0 to 100 with at most 4 decimals"))
}

/// A decimal text as a JSON number (an integer if it has no fraction), if it survives a
/// double exactly.
fn decimal_number(text: &str) -> Option<Number> {
    if !text.contains('.') {
        return text.parse::<u64>().ok().map(Number::from);
    }
    let significant = text
        .bytes()
        .filter(u8::is_ascii_digit)
        .skip_while(|b| *b == b'0')
        .count();
    if significant > EXACT_DIGITS {
        return None;
    }
    Number::from_f64(text.parse().ok()?)
}

/// The decimal a JSON number stands for, without exponent (`1.5e-5` → `0.000015`).
///
/// # Errors
///
/// A double whose shortest form has more than 15 significant digits: the decimal that was
/// written may not be the one read.
fn plain_decimal(number: &Number) -> Result<String, String> {
    if number.is_u64() || number.is_i64() {
        return Ok(number.to_string());
    }
    let text = number.to_string();
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.as_str()),
    };
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (
            mantissa,
            exponent
                .parse::<i32>()
                .map_err(|_| format!("{text} is not a decimal number"))?,
        ),
        None => (unsigned, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{whole}{fraction}");
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len();
    if significant > EXACT_DIGITS {
        return Err(format!(
            "{text} has more than {EXACT_DIGITS} significant digits, more than a JSON number \
             carries exactly: write fewer digits or a larger unit"
        ));
    }
    let point = i64::try_from(whole.len()).unwrap_or(i64::MAX) + i64::from(exponent);
    let plain = match usize::try_from(point) {
        Ok(point) if point >= digits.len() => {
            format!("{digits}{}", "0".repeat(point - digits.len()))
        }
        Ok(point) => format!("{}.{}", &digits[..point], &digits[point..]),
        Err(_) => format!(
            "0.{}{digits}",
            "0".repeat(usize::try_from(-point).unwrap_or(0))
        ),
    };
    let plain = if plain.contains('.') {
        plain.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        plain
    };
    let plain = match plain.trim_start_matches('0') {
        "" => "0".to_owned(),
        rest if rest.starts_with('.') => format!("0{rest}"),
        rest => rest.to_owned(),
    };
    Ok(if negative && plain != "0" {
        format!("-{plain}")
    } else {
        plain
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;

    fn number(text: &str) -> Number {
        match serde_json::from_str::<Value>(text).unwrap() {
            Value::Number(n) => n,
            other => panic!("{other}"),
        }
    }

    #[test]
    fn masses_are_read_exactly_in_every_unit() {
        for (text, uom, grams) in [
            ("120000", "KGM", 120_000_000),
            ("1234.567", "KGM", 1_234_567),
            ("0.001", "KGM", 1),
            ("12.5", "TNE", 12_500_000),
            ("0.000001", "TNE", 1),
            ("500", "GRM", 500),
            ("1.5e3", "KGM", 1_500_000),
            ("2E-3", "KGM", 2),
            ("60000.000", "KGM", 60_000_000),
        ] {
            assert_eq!(
                parse_mass(&number(text), uom).unwrap().grams(),
                grams,
                "{text} {uom}"
            );
        }
    }

    #[test]
    fn inexact_masses_are_refused() {
        for (text, uom, says) in [
            ("0.0005", "KGM", "more precise than a gram"),
            ("-3", "KGM", "not a mass"),
            ("12", "LBR", "not a mass: write KGM"),
            ("1234567890.1234567", "KGM", "15 significant digits"),
            ("0.5", "GRM", "more precise than a gram"),
        ] {
            let error = parse_mass(&number(text), uom).unwrap_err();
            assert!(error.contains(says), "{text} {uom}: {error}");
        }
    }

    #[test]
    fn percentages() {
        assert_eq!(percent("45.5%".parse().unwrap()).to_string(), "45.5");
        assert_eq!(percent(Share::WHOLE).to_string(), "100");
        assert_eq!(percent("0.0001%".parse().unwrap()).to_string(), "0.0001");
        assert_eq!(parse_percent(&number("99.9999")).unwrap().ppm(), 999_999);
        assert!(parse_percent(&number("100.5")).is_err());
        assert!(parse_percent(&number("1.00001")).is_err());
    }

    #[test]
    fn too_long_masses_are_not_written() {
        assert!(kilograms(Mass::from_grams(1_000_000_000_000_001)).is_err());
        assert_eq!(
            kilograms(Mass::from_grams(u64::MAX - u64::MAX % 1000)).unwrap(),
            Number::from(u64::MAX / 1000)
        );
    }

    proptest! {
        #[test]
        fn masses_survive_json_text(grams in 0u64..1_000_000_000_000_000) {
            let mass = Mass::from_grams(grams);
            let written = serde_json::to_string(&kilograms(mass).unwrap()).unwrap();
            prop_assert_eq!(parse_mass(&number(&written), KILOGRAM).unwrap(), mass);
        }

        #[test]
        fn shares_survive_json_text(ppm in 0u32..=1_000_000) {
            let share = Share::from_ppm(ppm).unwrap();
            let written = serde_json::to_string(&percent(share)).unwrap();
            prop_assert_eq!(parse_percent(&number(&written)).unwrap(), share);
        }
    }
}
