//! Values in the pre-hash string (CBV 2.0 §8.9, value rules): whitespace at either end is
//! dropped, CBV 1.x URNs become CBV 2.0 web vocabulary URIs, numbers lose leading `+`, leading
//! and trailing zeros and exponents, and URIs carrying a GS1 key become canonical GS1 Digital
//! Link URIs.
//!
//! Like the reference implementation, these rules apply to every value, user extensions
//! included: a string that reads as a number is a number (`"23.0"` → `23`).

use crate::{uri, vocab};

/// The canonical form of one value as it enters the pre-hash string.
///
/// In order: trim whitespace; a CBV 1.x URN (`urn:epcglobal:cbv:bizstep:shipping`) becomes
/// its CBV 2.0 URI ([`vocab::web_vocabulary`]); a decimal number becomes
/// [`canonical_number`]; an EPC URI, EPC class or pattern URI or GS1 Digital Link URI
/// becomes [`canonical_gs1_uri`](crate::canonical_gs1_uri); anything else stays as it is.
///
/// ```
/// use retrace_epcis::canonical_value;
/// assert_eq!(canonical_value(" urn:epcglobal:cbv:disp:in_transit "), "https://ref.gs1.org/cbv/Disp-in_transit");
/// assert_eq!(canonical_value("452.0"), "452");
/// assert_eq!(canonical_value("urn:epc:id:sgln:4012345.00005.0"), "https://id.gs1.org/414/4012345000054");
/// assert_eq!(canonical_value("geo:47.506694,11.104301"), "geo:47.506694,11.104301");
/// ```
pub fn canonical_value(text: &str) -> String {
    let text = text.trim();
    if let Some(web) = vocab::web_vocabulary(text) {
        return web;
    }
    if let Some(number) = canonical_number(text) {
        return number;
    }
    if let Some(canonical) = uri::canonical_gs1_uri(text) {
        return canonical;
    }
    text.to_owned()
}

/// The canonical form of a decimal number written as text: `[+-]digits[.digits][e[+-]digits]`
/// read as an IEEE 754 double and written back without a sign for positives, without
/// trailing zeros, and without exponent unless the number is below 10⁻⁴ (`1e-05`) — the
/// shortest form that reads back as the same double, as Python's `repr` writes it, which the
/// reference implementation's vectors use. Integers are written in full (`1e3` → `1000`).
///
/// Returns `None` for anything that is not such a number (`inf`, `0x1F`, `1_000`, `12 kg`) or
/// does not fit a double.
///
/// ```
/// use retrace_epcis::canonical_number;
/// assert_eq!(canonical_number("+0600.50").as_deref(), Some("600.5"));
/// assert_eq!(canonical_number("-0.0").as_deref(), Some("0"));
/// assert_eq!(canonical_number("0.00001").as_deref(), Some("1e-05"));
/// assert_eq!(canonical_number("2019-10-21"), None);
/// ```
pub fn canonical_number(text: &str) -> Option<String> {
    if !is_decimal(text) {
        return None;
    }
    format_double(text.parse().ok()?)
}

/// A JSON number as the pre-hash string writes it (see [`canonical_number`]).
pub(crate) fn json_number(number: &serde_json::Number) -> String {
    number
        .as_f64()
        .and_then(format_double)
        .unwrap_or_else(|| number.to_string())
}

/// `[+-]?(d+(.d*)?|.d+)([eE][+-]?d+)?`
fn is_decimal(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut at = usize::from(matches!(bytes.first(), Some(b'+' | b'-')));
    let digits = |at: &mut usize| {
        let start = *at;
        while bytes.get(*at).is_some_and(u8::is_ascii_digit) {
            *at += 1;
        }
        *at - start
    };
    let mut mantissa = digits(&mut at);
    if bytes.get(at) == Some(&b'.') {
        at += 1;
        mantissa += digits(&mut at);
    }
    if mantissa == 0 {
        return false;
    }
    if matches!(bytes.get(at), Some(b'e' | b'E')) {
        at += 1;
        if matches!(bytes.get(at), Some(b'+' | b'-')) {
            at += 1;
        }
        if digits(&mut at) == 0 {
            return false;
        }
    }
    at == bytes.len()
}

/// Python's `repr` of a double, with integral values written as integers.
fn format_double(x: f64) -> Option<String> {
    if !x.is_finite() {
        return None;
    }
    if x == x.trunc() {
        let integer = format!("{x:.0}");
        return Some(if integer == "-0" {
            "0".to_owned()
        } else {
            integer
        });
    }
    // Shortest round-trip digits and the decimal exponent of the first one.
    let scientific = format!("{x:e}");
    let (sign, scientific) = match scientific.strip_prefix('-') {
        Some(positive) => ("-", positive),
        None => ("", scientific.as_str()),
    };
    let (mantissa, exponent) = scientific.split_once('e')?;
    let exponent: i32 = exponent.parse().ok()?;
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let body = if (-4..16).contains(&exponent) {
        match usize::try_from(exponent) {
            Ok(exponent) => {
                let point = exponent + 1;
                let integer = format!("{:0<point$}", digits.get(..point).unwrap_or(&digits));
                let fraction = digits.get(point..).unwrap_or_default();
                format!("{integer}.{fraction}")
            }
            Err(_) => {
                let zeros = usize::try_from(-exponent - 1).ok()?;
                format!("0.{}{digits}", "0".repeat(zeros))
            }
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let mantissa = if rest.is_empty() {
            first.to_owned()
        } else {
            format!("{first}.{rest}")
        };
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{exponent_sign}{:02}", exponent.unsigned_abs())
    };
    Some(format!("{sign}{body}"))
}

#[cfg(test)]
mod tests {
    use super::{canonical_number, canonical_value, is_decimal};

    #[test]
    fn numbers_lose_signs_zeros_and_exponents() {
        for (text, expected) in [
            ("0", "0"),
            ("26", "26"),
            ("26.0", "26"),
            ("+26", "26"),
            ("0026.100", "26.1"),
            ("-12.5", "-12.5"),
            ("1e3", "1000"),
            ("1.5E2", "150"),
            (".5", "0.5"),
            ("5.", "5"),
            ("0.1", "0.1"),
            ("0.0001", "0.0001"),
            ("0.00001", "1e-05"),
            ("-0.000015", "-1.5e-05"),
            ("123456789.125", "123456789.125"),
            ("12345678901234567890", "12345678901234567168"),
            ("1e16", "10000000000000000"),
            ("42.698334", "42.698334"),
            ("0.30000000000000004", "0.30000000000000004"),
        ] {
            assert_eq!(canonical_number(text).as_deref(), Some(expected), "{text}");
        }
    }

    #[test]
    fn non_numbers_are_not_numbers() {
        for text in [
            "", "+", ".", "e5", "1e", "1e+", "inf", "NaN", "0x1F", "1_000", "12 kg", "1.2.3",
            "1e400",
        ] {
            assert_eq!(canonical_number(text), None, "{text}");
        }
        assert!(is_decimal("-.5e-3"));
    }

    #[test]
    fn values_are_trimmed_and_canonicalised() {
        assert_eq!(canonical_value("  OBSERVE \n"), "OBSERVE");
        assert_eq!(
            canonical_value("urn:epcglobal:cbv:btt:po"),
            "https://ref.gs1.org/cbv/BTT-po"
        );
        assert_eq!(
            canonical_value("urn:epcglobal:cbv:bt:0614141073467:1152"),
            "urn:epcglobal:cbv:bt:0614141073467:1152"
        );
        assert_eq!(canonical_value("2019-10-21"), "2019-10-21");
    }
}
