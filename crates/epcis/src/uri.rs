//! URIs carrying a GS1 key, in canonical GS1 Digital Link form (CBV 2.0 §8.9; GS1 EPC Tag Data
//! Standard 2.0 §6–§7 for the EPC URIs; GS1 Digital Link URI Syntax 1.x for the rest).
//!
//! The pre-hash string carries every identifier as a *constrained canonical* GS1 Digital Link
//! URI: host `id.gs1.org`, numeric application identifiers, GTINs padded to 14 digits, the
//! finest identification level only (a serial drops the lot), no CPV, no query string. EPC URIs
//! (`urn:epc:id:…`), EPC class URIs (`urn:epc:class:lgtin:…`) and EPC pattern URIs
//! (`urn:epc:idpat:…`) are converted, computing the check digit the URN leaves out;
//! Digital Link URIs on any host are rewritten. URIs that carry no GS1 key, or that are not
//! well formed, are left for the caller to keep as they are.
//!
//! The Digital Link rewriting follows the reference implementation step by step, including
//! its choices where the standard is silent (which key wins when a path holds several, the
//! character set accepted in the result), because an Event Hash ID is only useful if other
//! implementations compute the same one.

/// The canonical GS1 Digital Link URI of an EPC URI, EPC class URI, EPC pattern URI or GS1
/// Digital Link URI, or `None` when `uri` is none of those (or not well formed), in which
/// case the pre-hash string keeps it unchanged.
///
/// ```
/// use retrace_epcis::canonical_gs1_uri as canonical;
/// assert_eq!(canonical("urn:epc:id:sgtin:4012345.011111.9876").as_deref(), Some("https://id.gs1.org/01/04012345111118/21/9876"));
/// assert_eq!(canonical("urn:epc:id:sscc:4012345.0000000333").as_deref(), Some("https://id.gs1.org/00/040123450000003338"));
/// assert_eq!(canonical("urn:epc:id:sgln:4012345.00011.987").as_deref(), Some("https://id.gs1.org/414/4012345000115/254/987"));
/// assert_eq!(canonical("urn:epc:class:lgtin:4012345.012345.998877").as_deref(), Some("https://id.gs1.org/01/04012345123456/10/998877"));
/// assert_eq!(canonical("https://example.com/gtin/09780345418913/21/765tz?abc=211121").as_deref(), Some("https://id.gs1.org/01/09780345418913/21/765tz"));
/// assert_eq!(canonical("http://transaction.acme.com/po/12345678"), None);
/// ```
pub fn canonical_gs1_uri(uri: &str) -> Option<String> {
    let path = if let Some(body) = uri.strip_prefix("urn:epc:id:") {
        epc_id(body)?
    } else if let Some(body) = uri.strip_prefix("urn:epc:class:lgtin:") {
        let (gtin, lot) = gtin_and_serial(body, 20)?;
        format!("01/{gtin}/10/{}", percent_encode(lot))
    } else if let Some(body) = uri.strip_prefix("urn:epc:idpat:") {
        epc_pattern(body)?
    } else if uri.starts_with("https:") || uri.starts_with("http:") {
        return digital_link(uri);
    } else {
        return None;
    };
    Some(format!("{CANONICAL}{path}"))
}

const CANONICAL: &str = "https://id.gs1.org/";

/// `urn:epc:id:<scheme>:<body>` (TDS §6.3) to the Digital Link path after the host.
fn epc_id(body: &str) -> Option<String> {
    let (scheme, body) = body.split_once(':')?;
    Some(match scheme {
        "sgtin" => {
            let (gtin, serial) = gtin_and_serial(body, 20)?;
            format!("01/{gtin}/21/{}", percent_encode(serial))
        }
        "sscc" => {
            let (prefix, reference, None) = split_key(body, 17)? else {
                return None;
            };
            format!(
                "00/{}",
                with_check_digit(&[&reference[..1], prefix, &reference[1..]])
            )
        }
        "sgln" => {
            let (prefix, location, Some(extension)) = split_key(body, 12)? else {
                return None;
            };
            let gln = with_check_digit(&[prefix, location]);
            match extension {
                "0" => format!("414/{gln}"),
                _ if is_epc_text(extension, 1, 20) => {
                    format!("414/{gln}/254/{}", percent_encode(extension))
                }
                _ => return None,
            }
        }
        "grai" => {
            let (prefix, asset_type, Some(serial)) = split_key(body, 12)? else {
                return None;
            };
            is_epc_text(serial, 1, 16).then_some(())?;
            let grai = with_check_digit(&["0", prefix, asset_type]);
            format!("8003/{grai}{}", percent_encode(serial))
        }
        "giai" => {
            let (prefix, asset) = company_prefix(body)?;
            is_epc_text(asset, 1, 30 - prefix.len()).then_some(())?;
            format!("8004/{prefix}{}", percent_encode(asset))
        }
        "gsrn" | "gsrnp" => {
            let (prefix, service, None) = split_key(body, 17)? else {
                return None;
            };
            let ai = if scheme == "gsrn" { "8018" } else { "8017" };
            format!("{ai}/{}", with_check_digit(&[prefix, service]))
        }
        "gdti" => {
            let (prefix, document_type, Some(serial)) = split_key(body, 12)? else {
                return None;
            };
            is_epc_text(serial, 0, 17).then_some(())?;
            let gdti = with_check_digit(&[prefix, document_type]);
            format!("253/{gdti}{}", percent_encode(serial))
        }
        "cpi" => {
            let (prefix, rest) = company_prefix(body)?;
            let (reference, serial) = rest.rsplit_once('.')?;
            is_cpi_reference(reference, 30 - prefix.len()).then_some(())?;
            is_digits(serial, 1, 12).then_some(())?;
            format!(
                "8010/{}/8011/{serial}",
                percent_encode(&format!("{prefix}{reference}"))
            )
        }
        "sgcn" => {
            let (prefix, coupon, Some(serial)) = split_key(body, 12)? else {
                return None;
            };
            is_digits(serial, 1, 12).then_some(())?;
            format!("255/{}{serial}", with_check_digit(&[prefix, coupon]))
        }
        "ginc" => {
            let (prefix, consignment) = company_prefix(body)?;
            is_epc_text(consignment, 1, 30 - prefix.len()).then_some(())?;
            format!("401/{prefix}{}", percent_encode(consignment))
        }
        "gsin" => {
            let (prefix, shipper, None) = split_key(body, 16)? else {
                return None;
            };
            format!("402/{}", with_check_digit(&[prefix, shipper]))
        }
        "itip" => {
            let (prefix, item, Some(rest)) = split_key(body, 13)? else {
                return None;
            };
            let (piece, rest) = rest.split_once('.')?;
            let (total, serial) = rest.split_once('.')?;
            (is_digits(piece, 2, 2) && is_digits(total, 2, 2) && is_epc_text(serial, 1, 20))
                .then_some(())?;
            let gtin = gtin(prefix, item);
            format!("8006/{gtin}{piece}{total}/21/{}", percent_encode(serial))
        }
        "upui" => {
            let (gtin, serial) = gtin_and_serial(body, 28)?;
            format!("01/{gtin}/235/{}", percent_encode(serial))
        }
        "pgln" => {
            let (prefix, party, None) = split_key(body, 12)? else {
                return None;
            };
            format!("417/{}", with_check_digit(&[prefix, party]))
        }
        _ => return None,
    })
}

/// `urn:epc:idpat:<scheme>:<body>.*` (TDS §8) — the class-level patterns a quantity may name.
fn epc_pattern(body: &str) -> Option<String> {
    let (scheme, body) = body.split_once(':')?;
    let body = body.strip_suffix(".*")?;
    Some(match scheme {
        "sgtin" | "upui" => {
            let (prefix, item, None) = split_key(body, 13)? else {
                return None;
            };
            format!("01/{}", gtin(prefix, item))
        }
        "grai" => {
            let (prefix, asset_type, None) = split_key(body, 12)? else {
                return None;
            };
            format!("8003/{}", with_check_digit(&["0", prefix, asset_type]))
        }
        "gdti" | "sgcn" => {
            let (prefix, reference, None) = split_key(body, 12)? else {
                return None;
            };
            let ai = if scheme == "gdti" { "253" } else { "255" };
            format!("{ai}/{}", with_check_digit(&[prefix, reference]))
        }
        "cpi" => {
            let (prefix, reference) = company_prefix(body)?;
            is_cpi_reference(reference, 30 - prefix.len()).then_some(())?;
            format!("8010/{}", percent_encode(&format!("{prefix}{reference}")))
        }
        "itip" => {
            let (prefix, item, Some(rest)) = split_key(body, 13)? else {
                return None;
            };
            let (piece, total) = rest.split_once('.')?;
            (is_digits(piece, 2, 2) && is_digits(total, 2, 2)).then_some(())?;
            format!("8006/{}{piece}{total}", gtin(prefix, item))
        }
        _ => return None,
    })
}

/// `prefix.itemref.serial` of an SGTIN, UPUI or LGTIN: the GTIN-14 and the serial (or lot).
fn gtin_and_serial(body: &str, max_serial: usize) -> Option<(String, &str)> {
    let (prefix, item, Some(serial)) = split_key(body, 13)? else {
        return None;
    };
    is_epc_text(serial, 1, max_serial).then(|| (gtin(prefix, item), serial))
}

/// GTIN-14 from a company prefix and an item reference whose first digit is the indicator.
fn gtin(prefix: &str, item: &str) -> String {
    with_check_digit(&[&item[..1], prefix, &item[1..]])
}

/// The GS1 company prefix (6–12 digits) before the first dot, and what follows the dot.
fn company_prefix(body: &str) -> Option<(&str, &str)> {
    let (prefix, rest) = body.split_once('.')?;
    is_digits(prefix, 6, 12).then_some((prefix, rest))
}

/// `prefix.reference[.rest]` where prefix and reference are digits and together `total` long.
fn split_key(body: &str, total: usize) -> Option<(&str, &str, Option<&str>)> {
    let (prefix, rest) = company_prefix(body)?;
    let (reference, rest) = match rest.split_once('.') {
        Some((reference, rest)) => (reference, Some(rest)),
        None => (rest, None),
    };
    let length = total - prefix.len();
    is_digits(reference, length, length).then_some((prefix, reference, rest))
}

fn is_digits(text: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit())
}

/// The GS1 mod-10 check digit appended to the concatenated digits of `parts`.
fn with_check_digit(parts: &[&str]) -> String {
    let digits: String = parts.concat();
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    format!("{digits}{}", (10 - sum % 10) % 10)
}

/// Serial text of an EPC URI (TDS §5, the 82 GS1 AI characters with URI escapes), each escape
/// counting as one character, between `min` and `max` characters long.
fn is_epc_text(text: &str, min: usize, max: usize) -> bool {
    count_units(
        text,
        |c| c.is_ascii_alphanumeric() || "!'()*+,.:;=_-".contains(c),
        |high, low| match high {
            b'2' => matches!(low, b'1' | b'2' | b'5'..=b'9' | b'A'..=b'F' | b'a'..=b'f'),
            b'3' => low.is_ascii_hexdigit(),
            b'4' | b'6' => matches!(low, b'1'..=b'9' | b'A'..=b'F' | b'a'..=b'f'),
            b'5' => matches!(low, b'0'..=b'9' | b'A' | b'a' | b'F' | b'f'),
            b'7' => matches!(low, b'0'..=b'9' | b'A' | b'a'),
            _ => false,
        },
    )
    .is_some_and(|units| (min..=max).contains(&units))
}

/// Component/part reference of a CPI (TDS §6.3.13): digits, capitals, `-`, and the escapes of
/// `#`, `-`, `/`.
fn is_cpi_reference(text: &str, max: usize) -> bool {
    count_units(
        text,
        |c| c.is_ascii_digit() || c.is_ascii_uppercase() || c == '-',
        |high, low| match high {
            b'2' => matches!(low, b'3' | b'D' | b'd' | b'F' | b'f'),
            b'3' => low.is_ascii_digit(),
            b'4' => matches!(low, b'1'..=b'9' | b'A'..=b'F' | b'a'..=b'f'),
            b'5' => matches!(low, b'0'..=b'9' | b'A' | b'a'),
            _ => false,
        },
    )
    .is_some_and(|units| (1..=max).contains(&units))
}

/// Characters of `text`, a `%XX` escape counting as one, if each is allowed.
fn count_units(
    text: &str,
    plain: impl Fn(char) -> bool,
    escape: impl Fn(u8, u8) -> bool,
) -> Option<usize> {
    let bytes = text.as_bytes();
    let (mut at, mut units) = (0, 0);
    while at < bytes.len() {
        if bytes[at] == b'%' {
            let (&high, &low) = (bytes.get(at + 1)?, bytes.get(at + 2)?);
            escape(high, low).then_some(())?;
            at += 3;
        } else {
            plain(char::from(bytes[at])).then_some(())?;
            at += 1;
        }
        units += 1;
    }
    Some(units)
}

/// Characters a Digital Link path must percent-encode that EPC URIs leave plain
/// (GS1 Digital Link Table 7-1).
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '!' => out.push_str("%21"),
            '(' => out.push_str("%28"),
            ')' => out.push_str("%29"),
            '*' => out.push_str("%2A"),
            '+' => out.push_str("%2B"),
            ',' => out.push_str("%2C"),
            ':' => out.push_str("%3A"),
            _ => out.push(c),
        }
    }
    out
}

/// Primary keys and key qualifiers a Digital Link path may name, numeric or by short name.
const PATH_KEYS: [&str; 28] = [
    "01", "gtin", "8006", "itip", "8010", "cpid", "414", "gln", "417", "party", "8017", "gsrnp",
    "8018", "gsrn", "255", "gcn", "00", "sscc", "253", "gdti", "401", "ginc", "402", "gsin",
    "8003", "grai", "8004", "giai",
];

/// Short names and the application identifiers that replace them.
const SHORT_NAMES: [(&str, &str); 17] = [
    ("/gtin/", "/01/"),
    ("/itip/", "/8006/"),
    ("/cpid/", "/8010/"),
    ("/gln/", "/414/"),
    ("/party/", "/417/"),
    ("/gsrnp/", "/8017/"),
    ("/gsrn/", "/8018/"),
    ("/gcn/", "/255/"),
    ("/sscc/", "/00/"),
    ("/gdti/", "/253/"),
    ("/ginc/", "/401/"),
    ("/gsin/", "/402/"),
    ("/grai/", "/8003/"),
    ("/giai/", "/8004/"),
    ("/cpv/", "/22/"),
    ("/lot/", "/10/"),
    ("/ser/", "/21/"),
];

/// Primary keys in the order that decides which one starts the path when a URI on another
/// host names several.
const PRIMARY_KEYS: [&str; 14] = [
    "00", "01", "253", "255", "401", "402", "414", "417", "8003", "8004", "8006", "8010", "8017",
    "8018",
];

/// A GS1 Digital Link URI on any host to its constrained canonical form.
fn digital_link(uri: &str) -> Option<String> {
    let after_scheme = uri.split_once(':')?.1;
    if !names_a_key(after_scheme, &PATH_KEYS) {
        return None;
    }
    let without_query = uri.split_once('?').map_or(uri, |(path, _)| path);
    let mut link = SHORT_NAMES
        .iter()
        .fold(without_query.to_owned(), |link, (short, ai)| {
            link.replace(short, ai)
        });

    // On another host (or not starting with a primary key), the path from the first primary
    // key found, in PRIMARY_KEYS order, moves to id.gs1.org.
    let canonical_host = link
        .strip_prefix(CANONICAL)
        .is_some_and(|path| key_then_value(path, &PRIMARY_KEYS));
    if !canonical_host
        && let Some(at) = PRIMARY_KEYS
            .iter()
            .find_map(|key| link.find(&format!("/{key}/")))
    {
        link = format!("https://id.gs1.org{}", &link[at..]);
    }

    // GTINs of 8, 12 or 13 digits are padded to 14.
    if let Some(gtin) = link.strip_prefix("https://id.gs1.org/01/") {
        let digits = gtin.bytes().take_while(u8::is_ascii_digit).count();
        let padding = match digits {
            13 => "0",
            12 => "00",
            8..=11 => "000000",
            _ => "",
        };
        if !padding.is_empty() {
            link = link.replace("/01/", &format!("/01/{padding}"));
        }
    }

    link = without_cpv(link);
    link = without_lot_when_serialised(link);
    is_constrained_canonical(&link).then_some(link)
}

/// Whether `text` (before any `?` or `#`) has a segment `/key/` followed by four digits and
/// at least one more character of the same segment.
fn names_a_key(text: &str, keys: &[&str]) -> bool {
    let searchable = &text[..text.find(['?', '#']).unwrap_or(text.len())];
    searchable
        .match_indices('/')
        .any(|(at, _)| key_then_value(&text[at + 1..], keys))
}

/// Whether `path` starts with `key/` and four digits and one more character not `/`.
fn key_then_value(path: &str, keys: &[&str]) -> bool {
    keys.iter().any(|key| {
        path.strip_prefix(key)
            .and_then(|rest| rest.strip_prefix('/'))
            .is_some_and(|value| {
                let bytes = value.as_bytes();
                bytes.len() > 4 && bytes[..4].iter().all(u8::is_ascii_digit) && bytes[4] != b'/'
            })
    })
}

/// Characters allowed in a value of the constrained canonical form.
fn is_link_text(text: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&text.len())
        && text.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(b, b'"' | b'\'' | b'-' | b'.' | b';'..=b'?' | b'_')
        })
}

/// `(01/<14 digits>|8006/<18 digits>)` at the start of a canonical path, and what follows.
fn gtin_key(path: &str) -> Option<(&str, &str)> {
    let (key, digits) = if path.starts_with("01/") {
        (3, 14)
    } else if path.starts_with("8006/") {
        (5, 18)
    } else {
        return None;
    };
    let end = key + digits;
    let value = path.get(key..end)?;
    is_digits(value, digits, digits).then(|| (&path[..end], &path[end..]))
}

/// Drops a consumer product variant (`/22/…`) from a GTIN or ITIP path.
fn without_cpv(link: String) -> String {
    let Some(path) = link.strip_prefix(CANONICAL) else {
        return link;
    };
    let Some((key, rest)) = gtin_key(path) else {
        return link;
    };
    let Some(cpv) = rest.strip_prefix("/22/") else {
        return link;
    };
    if !(cpv.len() <= 20 && cpv.split('/').all(|part| is_link_text(part, 0, 20))) {
        return link;
    }
    let after = cpv.find('/').map_or("", |slash| &cpv[slash..]);
    format!("{CANONICAL}{key}{after}")
}

/// Keeps only the serial when a GTIN or ITIP path has both a lot and a serial.
fn without_lot_when_serialised(link: String) -> String {
    let Some(path) = link.strip_prefix(CANONICAL) else {
        return link;
    };
    let Some((key, rest)) = gtin_key(path) else {
        return link;
    };
    let Some((lot, serial)) = rest
        .strip_prefix("/10/")
        .and_then(|rest| rest.split_once("/21/"))
    else {
        return link;
    };
    if is_link_text(lot, 0, 20) && is_link_text(serial, 0, 20) {
        format!("{CANONICAL}{key}/21/{serial}")
    } else {
        link
    }
}

/// The syntax of the constrained canonical GS1 Digital Link URIs the pre-hash string accepts.
fn is_constrained_canonical(link: &str) -> bool {
    let Some((key, value)) = link
        .strip_prefix(CANONICAL)
        .and_then(|path| path.split_once('/'))
    else {
        return false;
    };
    let qualified = |rest: &str, qualifiers: &[(&str, usize)]| {
        rest.is_empty()
            || qualifiers.iter().any(|(qualifier, max)| {
                rest.strip_prefix(qualifier)
                    .is_some_and(|text| is_link_text(text, 0, *max))
            })
    };
    match key {
        "00" => is_digits(value, 18, 18),
        "01" => digits_then(value, 14)
            .is_some_and(|rest| qualified(rest, &[("/21/", 20), ("/10/", 20), ("/235/", 28)])),
        "253" => digits_then(value, 13).is_some_and(|rest| is_link_text(rest, 0, 17)),
        "255" => digits_then(value, 13).is_some_and(|rest| is_digits(rest, 0, 12)),
        "401" | "8004" => is_link_text(value, 0, 30),
        "402" => is_digits(value, 17, 17),
        "414" => digits_then(value, 13).is_some_and(|rest| qualified(rest, &[("/254/", 20)])),
        "417" => is_digits(value, 13, 13),
        "8003" => digits_then(value, 14).is_some_and(|rest| is_link_text(rest, 0, 16)),
        "8006" => digits_then(value, 18)
            .is_some_and(|rest| qualified(rest, &[("/21/", 20), ("/10/", 20)])),
        "8010" => is_cpid(value),
        "8017" | "8018" => is_digits(value, 18, 18),
        _ => false,
    }
}

/// What follows `digits` leading digits of `value`, if it has them.
fn digits_then(value: &str, digits: usize) -> Option<&str> {
    let head = value.get(..digits)?;
    is_digits(head, digits, digits).then(|| &value[digits..])
}

/// `<CPID>[/8011/<serial>]`: a CPID of up to 30 of `#`, `-`, `/`, digits and capitals, and a
/// serial of up to 12 digits.
fn is_cpid(value: &str) -> bool {
    let cpid = |text: &str| {
        text.len() <= 30
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase() || b"#-/".contains(&b))
    };
    cpid(value)
        || value
            .match_indices("/8011/")
            .any(|(at, marker)| cpid(&value[..at]) && is_digits(&value[at + marker.len()..], 0, 12))
}

#[cfg(test)]
mod tests {
    use super::canonical_gs1_uri;

    fn canonical(uri: &str) -> Option<String> {
        canonical_gs1_uri(uri)
    }

    #[test]
    fn every_epc_scheme_of_the_vectors() {
        for (urn, link) in [
            (
                "urn:epc:id:sgtin:4012345.011111.98%22",
                "01/04012345111118/21/98%22",
            ),
            (
                "urn:epc:id:sgtin:415056789012.0.987654",
                "01/04150567890128/21/987654",
            ),
            (
                "urn:epc:id:sgtin:0614141.812345.6789%2F%26%25%22!%3F()",
                "01/80614141123458/21/6789%2F%26%25%22%21%3F%28%29",
            ),
            (
                "urn:epc:id:sscc:4012345.3111111111",
                "00/340123451111111111",
            ),
            (
                "urn:epc:id:sgln:4012345.00005.122",
                "414/4012345000054/254/122",
            ),
            ("urn:epc:id:sgln:4012345.00005.0", "414/4012345000054"),
            (
                "urn:epc:id:grai:4012345.00022.334455",
                "8003/04012345000221334455",
            ),
            ("urn:epc:id:giai:4012345.ABC345", "8004/4012345ABC345"),
            (
                "urn:epc:id:gsrn:4012345.0000006765",
                "8018/401234500000067657",
            ),
            (
                "urn:epc:id:gsrnp:4012345.0000000007",
                "8017/401234500000000074",
            ),
            (
                "urn:epc:id:gdti:4012345.00009.PO-4711",
                "253/4012345000092PO-4711",
            ),
            ("urn:epc:id:gdti:987659999999..9", "253/98765999999929"),
            (
                "urn:epc:id:cpi:0614141.11111111111111-A%23%2F.1234",
                "8010/061414111111111111111-A%23%2F/8011/1234",
            ),
            (
                "urn:epc:id:ginc:0614141.xyz47%2F11",
                "401/0614141xyz47%2F11",
            ),
            ("urn:epc:id:gsin:4012345.222333444", "402/40123452223334442"),
            (
                "urn:epc:id:itip:4012345.011111.01.02.987",
                "8006/040123451111180102/21/987",
            ),
            (
                "urn:epc:id:upui:1234567.098765.51qIgY)%3C%26Jp3*j7'SDB",
                "01/01234567987651/235/51qIgY%29%3C%26Jp3%2Aj7'SDB",
            ),
            ("urn:epc:id:pgln:4000001.00000", "417/4000001000005"),
            ("urn:epc:id:pgln:999999999999.", "417/9999999999994"),
            ("urn:epc:id:sgcn:4012345.99999.44", "255/401234599999044"),
            (
                "urn:epc:class:lgtin:4012345.012345.Lot987",
                "01/04012345123456/10/Lot987",
            ),
            ("urn:epc:idpat:sgtin:4054739.099914.*", "01/04054739999148"),
            ("urn:epc:idpat:grai:4012345.66666.*", "8003/04012345666663"),
            ("urn:epc:idpat:gdti:4012345.55555.*", "253/4012345555554"),
            ("urn:epc:idpat:sgcn:4012345.99999.*", "255/4012345999990"),
            ("urn:epc:idpat:cpi:4012345.ABC.*", "8010/4012345ABC"),
            (
                "urn:epc:idpat:itip:4012345.012345.01.02.*",
                "8006/040123451234560102",
            ),
            ("urn:epc:idpat:upui:4012345.012345.*", "01/04012345123456"),
        ] {
            assert_eq!(
                canonical(urn),
                Some(format!("https://id.gs1.org/{link}")),
                "{urn}"
            );
        }
    }

    #[test]
    fn malformed_epc_uris_are_not_converted() {
        for urn in [
            "urn:epc:id:sgtin:4012345.01111.9876", // item reference one digit short
            "urn:epc:id:sgtin:40123.0111111.9876", // company prefix too short
            "urn:epc:id:sgtin:4012345.011111.",    // no serial
            "urn:epc:id:sgtin:4012345.011111.a%2G", // bad escape
            "urn:epc:id:sgtin:4012345.011111.123456789012345678901", // serial of 21
            "urn:epc:id:sscc:4012345.011111111",   // serial reference short
            "urn:epc:id:sgln:4012345.00005",       // no extension
            "urn:epc:id:pgln:4012345.00000.0",     // PGLN takes no extension
            "urn:epc:id:unknown:4012345.00000",
            "urn:epc:idpat:sgtin:4012345.011111.9876", // a pattern ends with *
            "urn:epc:idpat:sscc:4012345.*",
            "urn:epc:id:sgtin",
        ] {
            assert_eq!(canonical(urn), None, "{urn}");
        }
    }

    #[test]
    fn digital_links_become_constrained_canonical() {
        for (link, expected) in [
            (
                "https://id.gs1.org/gtin/09780345418913",
                Some("01/09780345418913"),
            ),
            (
                "https://id.gs1.de/01/04012345999990/21/XYZ-1234",
                Some("01/04012345999990/21/XYZ-1234"),
            ),
            (
                "https://id.example.com/8003/040123450007718765",
                Some("8003/040123450007718765"),
            ),
            (
                "https://id.example.com/253/4012345000054987",
                Some("253/4012345000054987"),
            ),
            (
                "http://id.gs1.org/414/4012345000115",
                Some("414/4012345000115"),
            ),
            (
                "https://example.com/01/4012345111118/21/1",
                Some("01/04012345111118/21/1"),
            ),
            (
                "https://example.com/01/012345678905",
                Some("01/00012345678905"),
            ),
            ("https://example.com/01/12345670", Some("01/00000012345670")),
            (
                "https://example.com/01/04012345111118/22/abc",
                Some("01/04012345111118"),
            ),
            (
                "https://example.com/01/04012345111118/22/abc/21/xyz",
                Some("01/04012345111118/21/xyz"),
            ),
            (
                "https://example.com/01/04012345111118/10/LOT/21/xyz",
                Some("01/04012345111118/21/xyz"),
            ),
            (
                "https://example.com/sscc/040123450000003338?linkType=all",
                Some("00/040123450000003338"),
            ),
            (
                "https://example.com/8010/4012345ABC/8011/123",
                Some("8010/4012345ABC/8011/123"),
            ),
            ("https://id.gs1.org/01/04012345111118/21/98%22", None),
            ("https://id.gs1.org/01/04012345111118/21/x#frag", None),
            ("https://example.com/01/123", None),
            (
                "https://accreditation-council.example.org/certificate/ABC12345",
                None,
            ),
            ("http://www.opengis.net/def/crs/EPSG/0/27700", None),
            ("https://example.com/search?q=/01/04012345111118", None),
        ] {
            assert_eq!(
                canonical(link),
                expected.map(|path| format!("https://id.gs1.org/{path}")),
                "{link}"
            );
        }
    }

    #[test]
    fn other_values_are_left_alone() {
        for value in [
            "geo:47.506694,11.104301",
            "urn:epcglobal:cbv:bt:4012345000009:ASN1099",
            "OBSERVE",
            "",
            "urn:uuid:374d95fc-9457-4a51-bd6a-0bba133845a8",
        ] {
            assert_eq!(canonical(value), None, "{value}");
        }
    }
}
