//! Timestamps in the pre-hash string (CBV 2.0 §8.9, time rule): every `xsd:dateTimeStamp` is
//! expressed in UTC with the capital letter `Z`, at millisecond precision, zero-filled
//! (`2023-01-18T11:04:03.000Z`); a value with more than three decimal places has its third
//! rounded up when the fourth is 5–9 (`…03.1415Z` → `…03.142Z`), carrying into the seconds.
//!
//! The fields this applies to are those the EPCIS 2.0 JSON-LD context types as
//! `xsd:dateTimeStamp` and that enter the hash: `eventTime`, and `time`, `startTime`, `endTime`
//! of sensor data. User extension values are literals and are not reinterpreted.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// The canonical form of an `xsd:dateTimeStamp`: `YYYY-MM-DDThh:mm:ss.sssZ` in UTC.
///
/// Accepts `YYYY-MM-DDThh:mm:ss`, an optional fraction of any length, and a zone `Z` or
/// `±hh:mm` (which `xsd:dateTimeStamp` requires). Returns `None` for anything else — a
/// missing zone, a calendar date that does not exist, a year outside 0000–9999 after
/// conversion to UTC.
///
/// ```
/// use retrace_epcis::canonical_timestamp;
/// assert_eq!(canonical_timestamp("2020-03-04T11:00:30+01:00").as_deref(), Some("2020-03-04T10:00:30.000Z"));
/// assert_eq!(canonical_timestamp("2023-02-02T11:04:03.1415Z").as_deref(), Some("2023-02-02T11:04:03.142Z"));
/// assert_eq!(canonical_timestamp("2022-02-15T01:33:31.116000-06:00").as_deref(), Some("2022-02-15T07:33:31.116Z"));
/// assert_eq!(canonical_timestamp("2020-03-04T11:00:30"), None);
/// ```
pub fn canonical_timestamp(text: &str) -> Option<String> {
    let parsed = Parsed::from_str(text)?;
    // xsd:dateTimeStamp zones run from -14:00 to +14:00.
    if parsed.offset_hours.abs() > 14
        || parsed.offset_minutes.abs() > 59
        || (parsed.offset_hours.abs() == 14 && parsed.offset_minutes != 0)
    {
        return None;
    }
    let date =
        Date::from_calendar_date(parsed.year, Month::try_from(parsed.month).ok()?, parsed.day)
            .ok()?;
    let time = Time::from_hms(parsed.hour, parsed.minute, parsed.second).ok()?;
    let offset = UtcOffset::from_hms(parsed.offset_hours, parsed.offset_minutes, 0).ok()?;
    let seconds = PrimitiveDateTime::new(date, time)
        .assume_offset(offset)
        .unix_timestamp();
    let (millis, carry) = round_millis(parsed.fraction);
    let utc = OffsetDateTime::from_unix_timestamp(seconds.checked_add(carry)?).ok()?;
    if !(0..=9999).contains(&utc.year()) {
        return None;
    }
    Some(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        utc.year(),
        u8::from(utc.month()),
        utc.day(),
        utc.hour(),
        utc.minute(),
        utc.second(),
    ))
}

/// Milliseconds from the fraction's digits, rounded on the fourth digit, and the carry into
/// the seconds (1 when `.9995` rounds to a whole second).
fn round_millis(fraction: &[u8]) -> (u16, i64) {
    let digit = |i: usize| fraction.get(i).map_or(0, |d| u16::from(d - b'0'));
    let mut millis = digit(0) * 100 + digit(1) * 10 + digit(2);
    if digit(3) >= 5 {
        millis += 1;
    }
    if millis == 1000 { (0, 1) } else { (millis, 0) }
}

/// The fields of `YYYY-MM-DDThh:mm:ss[.f+](Z|±hh:mm)`, digits checked, ranges not yet.
struct Parsed<'a> {
    year: i32,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    fraction: &'a [u8],
    offset_hours: i8,
    offset_minutes: i8,
}

impl<'a> Parsed<'a> {
    fn from_str(text: &'a str) -> Option<Self> {
        let bytes = text.as_bytes();
        let number = |range: std::ops::Range<usize>| -> Option<u16> {
            let digits = bytes.get(range)?;
            digits.iter().try_fold(0u16, |acc, &b| {
                b.is_ascii_digit().then(|| acc * 10 + u16::from(b - b'0'))
            })
        };
        let separator = |at: usize, expected: u8| bytes.get(at) == Some(&expected);
        if !(separator(4, b'-')
            && separator(7, b'-')
            && separator(10, b'T')
            && separator(13, b':')
            && separator(16, b':'))
        {
            return None;
        }
        let mut rest = 19;
        let fraction = if separator(19, b'.') {
            let digits = bytes[20..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            if digits == 0 {
                return None;
            }
            rest = 20 + digits;
            &bytes[20..rest]
        } else {
            &[]
        };
        let (offset_hours, offset_minutes) = match &bytes[rest.min(bytes.len())..] {
            b"Z" => (0, 0),
            [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
                let hours = i8::try_from(number(rest + 1..rest + 3)?).ok()?;
                let minutes = i8::try_from(number(rest + 4..rest + 6)?).ok()?;
                if *sign == b'-' {
                    (-hours, -minutes)
                } else {
                    (hours, minutes)
                }
            }
            _ => return None,
        };
        Some(Parsed {
            year: i32::from(number(0..4)?),
            month: u8::try_from(number(5..7)?).ok()?,
            day: u8::try_from(number(8..10)?).ok()?,
            hour: u8::try_from(number(11..13)?).ok()?,
            minute: u8::try_from(number(14..16)?).ok()?,
            second: u8::try_from(number(17..19)?).ok()?,
            fraction,
            offset_hours,
            offset_minutes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::canonical_timestamp;

    fn canonical(text: &str) -> Option<String> {
        canonical_timestamp(text)
    }

    #[test]
    fn converts_to_utc_with_milliseconds() {
        assert_eq!(
            canonical("2019-10-21T14:45:00Z").unwrap(),
            "2019-10-21T14:45:00.000Z"
        );
        assert_eq!(
            canonical("2023-03-27T11:30:00.0Z").unwrap(),
            "2023-03-27T11:30:00.000Z"
        );
        assert_eq!(
            canonical("2019-10-21T00:05:00-06:00").unwrap(),
            "2019-10-21T06:05:00.000Z"
        );
        assert_eq!(
            canonical("2020-01-01T05:00:00+14:00").unwrap(),
            "2019-12-31T15:00:00.000Z"
        );
        assert_eq!(
            canonical("2024-02-29T23:30:00-00:30").unwrap(),
            "2024-03-01T00:00:00.000Z"
        );
    }

    #[test]
    fn rounds_on_the_fourth_decimal_place() {
        assert_eq!(
            canonical("2023-02-02T11:04:03.1415Z").unwrap(),
            "2023-02-02T11:04:03.142Z"
        );
        assert_eq!(
            canonical("2023-02-02T11:04:03.1414Z").unwrap(),
            "2023-02-02T11:04:03.141Z"
        );
        assert_eq!(
            canonical("2023-02-12T11:04:03.1007Z").unwrap(),
            "2023-02-12T11:04:03.101Z"
        );
        // The standard's rule looks at the fourth digit only: .1425 rounds up.
        assert_eq!(
            canonical("2023-02-02T11:04:03.1425Z").unwrap(),
            "2023-02-02T11:04:03.143Z"
        );
        assert_eq!(
            canonical("2023-02-02T11:04:03.14249999Z").unwrap(),
            "2023-02-02T11:04:03.142Z"
        );
        assert_eq!(
            canonical("2023-02-02T11:04:03.5Z").unwrap(),
            "2023-02-02T11:04:03.500Z"
        );
    }

    #[test]
    fn rounding_carries_into_the_next_year() {
        assert_eq!(
            canonical("2023-12-31T23:59:59.9995Z").unwrap(),
            "2024-01-01T00:00:00.000Z"
        );
        assert_eq!(
            canonical("2024-01-01T07:59:59.99951+08:00").unwrap(),
            "2024-01-01T00:00:00.000Z"
        );
    }

    #[test]
    fn refuses_what_is_not_a_date_time_stamp() {
        for bad in [
            "2020-03-04T11:00:30",
            "2020-03-04 11:00:30Z",
            "2020-03-04T11:00:30.Z",
            "2020-03-04T11:00:30+0100",
            "2020-02-30T11:00:30Z",
            "2020-03-04T24:00:00Z",
            "2020-03-04T11:00:60Z",
            "2020-03-04T11:00:30+25:00",
            "2020-03-04T11:00:30Zjunk",
            "2020-3-4T11:00:30Z",
            "",
            "0000-01-01T00:00:00+01:00",
        ] {
            assert_eq!(canonical(bad), None, "{bad}");
        }
    }
}
