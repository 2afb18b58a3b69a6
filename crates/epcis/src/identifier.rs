//! Identifiers of lots, enterprises, facilities, countries and business documents as EPCIS
//! 2.0 writes them: URIs (EPCIS 2.0 §7.3.2 and CBV 2.0 §8, identifiers).
//!
//! | what | URI | standard |
//! |---|---|---|
//! | lot `01/<GTIN>/10/<lot>` | `https://id.gs1.org/01/<GTIN>/10/<lot>` | GS1 Digital Link, an EPC class (CBV 2.0 §8.3.1, LGTIN) |
//! | lot `uscc/<USCC>/10/<lot>` | `https://w3id.org/retrace/id/uscc/<USCC>/10/<lot>` | system-issued, the same path under [`ID_BASE`] |
//! | enterprise (party) | `https://w3id.org/retrace/id/uscc/<USCC>` | system-issued, as `/417/<GLN>` names a party |
//! | facility | `https://w3id.org/retrace/id/facility/<id>` | system-issued location (CBV 2.0 §8.4) |
//! | country | `https://w3id.org/retrace/id/country/<ISO 3166-1 alpha-2>` | system-issued location |
//! | document | `https://w3id.org/retrace/id/uscc/<issuer>/<kind>/<number>` | business transaction (CBV 2.0 §8.5) |
//!
//! Enterprises are named by their USCC because the register knows them by it and most have
//! no GLN. A document is named under the enterprise that issued it, so that a shipment and
//! the receipt quoting it carry the same business transaction URI and can be found together
//! (`EQ_bizTransaction_bol`). Document numbers are free text and are percent-encoded
//! (RFC 3986 §2.1), everything but the unreserved characters; decoding gives the text back.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use retrace_domain::facility::FacilityId;
use retrace_domain::lot::{LotId, LotIssuer};
use retrace_domain::uscc::Uscc;

use crate::canonical_gs1_uri;
use crate::extension::ID_BASE;

const GS1: &str = "https://id.gs1.org/";

/// RFC 3986 unreserved characters stay, everything else is escaped.
const DOCUMENT_TEXT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The EPC class URI of a lot.
pub fn lot_class(lot: &LotId) -> String {
    match lot.issuer() {
        LotIssuer::Gtin(_) => format!("{GS1}{lot}"),
        LotIssuer::Uscc(_) => format!("{ID_BASE}{lot}"),
    }
}

/// The lot an EPC class URI names: a GS1 Digital Link `…/01/<GTIN>/10/<lot>` on any host or
/// an LGTIN EPC class URI (`urn:epc:class:lgtin:…`), or a system-issued lot URI.
///
/// # Errors
///
/// What is wrong, and what to write instead.
pub fn parse_lot_class(uri: &str) -> Result<LotId, String> {
    let path = match uri.strip_prefix(ID_BASE) {
        Some(path) => path.to_owned(),
        None => canonical_gs1_uri(uri)
            .and_then(|canonical| canonical.strip_prefix(GS1).map(str::to_owned))
            .ok_or_else(|| {
                format!(
                    "{uri:?} names no lot: write https://id.gs1.org/01/<GTIN>/10/<lot> or \
                     {ID_BASE}uscc/<USCC>/10/<lot>"
                )
            })?,
    };
    LotId::parse(&path).map_err(|e| format!("{uri:?}: {e}"))
}

/// The party URI of an enterprise.
pub fn party(uscc: &Uscc) -> String {
    format!("{ID_BASE}uscc/{uscc}")
}

/// The enterprise a party URI names.
///
/// # Errors
///
/// What is wrong, and what to write instead.
pub fn parse_party(uri: &str) -> Result<Uscc, String> {
    let code = uri
        .strip_prefix(ID_BASE)
        .and_then(|rest| rest.strip_prefix("uscc/"))
        .filter(|code| !code.contains('/'))
        .ok_or_else(|| format!("{uri:?} names no enterprise: write {ID_BASE}uscc/<USCC>"))?;
    Uscc::parse(code).map_err(|e| format!("{uri:?}: {e}"))
}

/// The location URI of a facility.
pub fn facility(id: &FacilityId) -> String {
    format!("{ID_BASE}facility/{id}")
}

/// The facility a location URI names.
///
/// # Errors
///
/// What is wrong, and what to write instead.
pub fn parse_facility(uri: &str) -> Result<FacilityId, String> {
    let id = uri
        .strip_prefix(ID_BASE)
        .and_then(|rest| rest.strip_prefix("facility/"))
        .ok_or_else(|| format!("{uri:?} names no facility: write {ID_BASE}facility/<id>"))?;
    FacilityId::parse(id).map_err(|e| format!("{uri:?}: {e}"))
}

/// The location URI of a country, by its ISO 3166-1 alpha-2 code.
pub fn country(code: &str) -> String {
    format!("{ID_BASE}country/{code}")
}

/// The ISO 3166-1 alpha-2 code a country URI names.
///
/// # Errors
///
/// What is wrong, and what to write instead.
pub fn parse_country(uri: &str) -> Result<String, String> {
    uri.strip_prefix(ID_BASE)
        .and_then(|rest| rest.strip_prefix("country/"))
        .filter(|code| code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()))
        .map(str::to_owned)
        .ok_or_else(|| {
            format!(
                "{uri:?} names no country: write {ID_BASE}country/<ISO 3166-1 alpha-2 code, e.g. JP>"
            )
        })
}

/// Kinds of business document, the path segment of their URIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    /// The sender's shipment or waybill number (CBV `bol`).
    Shipment,
    /// A contract (CBV `po`).
    Contract,
    /// An invoice (CBV `inv`).
    Invoice,
    /// The document by which title passes without movement (a warehouse receipt).
    Title,
}

impl Document {
    /// The path segment: `shipment`, `contract`, `invoice`, `title`.
    pub fn segment(self) -> &'static str {
        match self {
            Document::Shipment => "shipment",
            Document::Contract => "contract",
            Document::Invoice => "invoice",
            Document::Title => "title",
        }
    }
}

/// The business transaction URI of document `number` of `kind` issued by `issuer`.
pub fn document(issuer: &Uscc, kind: Document, number: &str) -> String {
    format!(
        "{ID_BASE}uscc/{issuer}/{}/{}",
        kind.segment(),
        utf8_percent_encode(number, DOCUMENT_TEXT)
    )
}

/// The issuer and number of a document URI of `kind`.
///
/// # Errors
///
/// What is wrong, and what to write instead.
pub fn parse_document(uri: &str, kind: Document) -> Result<(Uscc, String), String> {
    let wrong = || {
        format!(
            "{uri:?} names no {} document: write {ID_BASE}uscc/<issuer USCC>/{}/<number, percent-encoded>",
            kind.segment(),
            kind.segment()
        )
    };
    let rest = uri
        .strip_prefix(ID_BASE)
        .and_then(|rest| rest.strip_prefix("uscc/"))
        .ok_or_else(wrong)?;
    let (code, rest) = rest.split_once('/').ok_or_else(wrong)?;
    let number = rest
        .strip_prefix(kind.segment())
        .and_then(|rest| rest.strip_prefix('/'))
        .ok_or_else(wrong)?;
    let issuer = Uscc::parse(code).map_err(|e| format!("{uri:?}: {e}"))?;
    let number = percent_decode_str(number)
        .decode_utf8()
        .map_err(|_| format!("{uri:?}: the document number is not percent-encoded UTF-8"))?;
    Ok((issuer, number.into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uscc() -> Uscc {
        Uscc::synthesize("150206", 1)
    }

    #[test]
    fn lots_of_both_issuers_round_trip() {
        let gtin = LotId::parse("01/06901234567892/10/NdO-2025-001").unwrap();
        assert_eq!(
            lot_class(&gtin),
            "https://id.gs1.org/01/06901234567892/10/NdO-2025-001"
        );
        assert_eq!(parse_lot_class(&lot_class(&gtin)).unwrap(), gtin);
        let own = LotId::under_uscc(&uscc(), "C-1").unwrap();
        assert_eq!(
            lot_class(&own),
            format!("https://w3id.org/retrace/id/uscc/{}/10/C-1", uscc())
        );
        assert_eq!(parse_lot_class(&lot_class(&own)).unwrap(), own);
    }

    #[test]
    fn gs1_lots_are_read_in_any_form() {
        let lot = LotId::parse("01/04012345123456/10/998877").unwrap();
        for uri in [
            "urn:epc:class:lgtin:4012345.012345.998877",
            "https://example.com/gtin/04012345123456/lot/998877",
        ] {
            assert_eq!(parse_lot_class(uri).unwrap(), lot, "{uri}");
        }
        for bad in [
            "https://id.gs1.org/01/04012345123456",
            "https://id.gs1.org/01/04012345123456/21/1",
            "urn:uuid:1",
            "https://w3id.org/retrace/id/uscc/91150206000000019W/10/has%20space",
        ] {
            assert!(parse_lot_class(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parties_facilities_countries() {
        assert_eq!(parse_party(&party(&uscc())).unwrap(), uscc());
        assert!(parse_party("https://w3id.org/retrace/id/uscc/123").is_err());
        assert!(parse_party("https://id.gs1.org/417/4000001000005").is_err());
        let id = FacilityId::parse("BYO-MINE-1").unwrap();
        assert_eq!(parse_facility(&facility(&id)).unwrap(), id);
        assert!(parse_facility("https://w3id.org/retrace/id/facility/lower").is_err());
        assert_eq!(parse_country(&country("JP")).unwrap(), "JP");
        assert!(parse_country("https://w3id.org/retrace/id/country/JPN").is_err());
    }

    #[test]
    fn document_numbers_are_free_text() {
        for number in ["WB-2503-0007", "合同 2025/7 #3", "100%", "a~b", ""] {
            let uri = document(&uscc(), Document::Shipment, number);
            assert!(!uri.contains([' ', '#', '?']), "{uri}");
            assert_eq!(
                parse_document(&uri, Document::Shipment).unwrap(),
                (uscc(), number.to_owned())
            );
            assert!(parse_document(&uri, Document::Invoice).is_err());
        }
        assert_eq!(
            document(&uscc(), Document::Title, "WR 1/2"),
            format!("{ID_BASE}uscc/{}/title/WR%201%2F2", uscc())
        );
    }
}
