//! The `GS1-EPC-Format` header (EPCIS 2.0 REST binding): whether identifiers in query results
//! are GS1 Digital Link URIs or EPC URNs (GS1 EPC Tag Data Standard 2.0 §6–§8).
//!
//! A GS1 Digital Link URI does not say where the GS1 company prefix ends inside a GTIN or
//! GLN, and an EPC URN must: converting to a URN takes the company prefix length from the
//! caller, who holds GS1's prefix length table. Keys with no URN form here (system-issued
//! identifiers, keys other than GTIN, SSCC, GLN and party GLN) stay as they are.

use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};
use serde_json::Value;

use crate::canonical_gs1_uri;

/// The values of `GS1-EPC-Format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EpcFormat {
    /// `No_Preference`: as stored.
    NoPreference,
    /// `Always_GS1_Digital_Link`, the default.
    #[default]
    AlwaysDigitalLink,
    /// `Always_EPC_URN`, where a URN form exists.
    AlwaysUrn,
    /// `Never_Translates`: as captured.
    NeverTranslates,
}

impl EpcFormat {
    /// The format a request asks for; no header is `Always_GS1_Digital_Link`.
    ///
    /// # Errors
    ///
    /// A value the binding does not define, with the ones it does.
    pub fn from_header(value: Option<&str>) -> Result<EpcFormat, String> {
        match value.map(str::trim) {
            None => Ok(EpcFormat::default()),
            Some("No_Preference") => Ok(EpcFormat::NoPreference),
            Some("Always_GS1_Digital_Link") => Ok(EpcFormat::AlwaysDigitalLink),
            Some("Always_EPC_URN") => Ok(EpcFormat::AlwaysUrn),
            Some("Never_Translates") => Ok(EpcFormat::NeverTranslates),
            Some(other) => Err(format!(
                "GS1-EPC-Format {other:?}: write No_Preference, Always_GS1_Digital_Link, \
                 Always_EPC_URN or Never_Translates"
            )),
        }
    }
}

/// The event with its identifiers — EPC lists, `parentID`, the `epcClass` of quantity lists,
/// read point, business location, sources and destinations — in `format`.
/// `company_prefix_length` gets the digits of a key from its company prefix on (a GTIN
/// without its indicator digit, an SSCC without its extension digit, a GLN) and answers how
/// many of them are the prefix (6 to 12), or `None` if it does not know.
pub fn present(
    event: &Value,
    format: EpcFormat,
    company_prefix_length: &dyn Fn(&str) -> Option<usize>,
) -> Value {
    let convert = |id: &str| -> Option<String> {
        match format {
            EpcFormat::NoPreference | EpcFormat::NeverTranslates => None,
            EpcFormat::AlwaysDigitalLink => id
                .starts_with("urn:epc:")
                .then(|| canonical_gs1_uri(id))
                .flatten(),
            EpcFormat::AlwaysUrn => to_urn(id, company_prefix_length),
        }
    };
    let mut event = event.clone();
    let rewrite = |value: &mut Value| {
        if let Some(new) = value.as_str().and_then(convert) {
            *value = Value::String(new);
        }
    };
    for list in ["epcList", "childEPCs", "inputEPCList", "outputEPCList"] {
        if let Some(Value::Array(ids)) = event.get_mut(list) {
            ids.iter_mut().for_each(rewrite);
        }
    }
    for (list, member) in [
        ("quantityList", "epcClass"),
        ("childQuantityList", "epcClass"),
        ("inputQuantityList", "epcClass"),
        ("outputQuantityList", "epcClass"),
        ("sourceList", "source"),
        ("destinationList", "destination"),
    ] {
        if let Some(Value::Array(items)) = event.get_mut(list) {
            for item in items {
                if let Some(value) = item.get_mut(member) {
                    rewrite(value);
                }
            }
        }
    }
    for path in ["/parentID", "/readPoint/id", "/bizLocation/id"] {
        if let Some(value) = event.pointer_mut(path) {
            rewrite(value);
        }
    }
    event
}

/// Characters an EPC URN escapes (TDS 2.0 §5: `"`, `%`, `&`, `/`, `<`, `>`, `?`, and what
/// is not URI text at all).
const URN_ESCAPED: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?');

/// The EPC URN of a GS1 Digital Link URI, if it has one this module writes.
fn to_urn(id: &str, company_prefix_length: &dyn Fn(&str) -> Option<usize>) -> Option<String> {
    if id.starts_with("urn:") {
        return None;
    }
    // A canonical link with escapes in its serial is already what the URN is written from.
    let canonical = canonical_gs1_uri(id).unwrap_or_else(|| id.to_owned());
    let path = canonical.strip_prefix("https://id.gs1.org/")?;
    let parts: Vec<&str> = path.split('/').collect();
    let prefix = |digits: &str| company_prefix_length(digits).filter(|n| (6..=12).contains(n));
    let text = |value: &str| {
        let decoded = percent_decode_str(value).decode_utf8().ok()?;
        Some(utf8_percent_encode(&decoded, URN_ESCAPED).to_string())
    };
    let digits =
        |key: &str, length: usize| key.len() == length && key.bytes().all(|b| b.is_ascii_digit());
    match parts.as_slice() {
        ["01", gtin, rest @ ..] if digits(gtin, 14) => {
            let n = prefix(&gtin[1..])?;
            let (indicator, body) = gtin.split_at(1);
            let (company, item) = body[..12].split_at(n);
            let class = format!("{company}.{indicator}{item}");
            match rest {
                [] => Some(format!("urn:epc:idpat:sgtin:{class}.*")),
                ["21", serial] => Some(format!("urn:epc:id:sgtin:{class}.{}", text(serial)?)),
                ["10", lot] => Some(format!("urn:epc:class:lgtin:{class}.{}", text(lot)?)),
                _ => None,
            }
        }
        ["00", sscc] if digits(sscc, 18) => {
            let n = prefix(&sscc[1..])?;
            let (extension, body) = sscc.split_at(1);
            let (company, serial) = body[..16].split_at(n);
            Some(format!("urn:epc:id:sscc:{company}.{extension}{serial}"))
        }
        ["414", gln, rest @ ..] if digits(gln, 13) => {
            let n = prefix(gln)?;
            let (company, location) = gln[..12].split_at(n);
            let extension = match rest {
                [] => "0".to_owned(),
                ["254", extension] => text(extension)?,
                _ => return None,
            };
            Some(format!("urn:epc:id:sgln:{company}.{location}.{extension}"))
        }
        ["417", gln] if digits(gln, 13) => {
            let n = prefix(gln)?;
            let (company, party) = gln[..12].split_at(n);
            Some(format!("urn:epc:id:pgln:{company}.{party}"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn seven(_: &str) -> Option<usize> {
        Some(7)
    }

    #[test]
    fn urns_survive_the_trip_through_digital_link() {
        for urn in [
            "urn:epc:id:sgtin:4012345.011111.9876",
            "urn:epc:id:sgtin:4012345.011111.98%22",
            "urn:epc:id:sgtin:4012345.011111.a%2Fb",
            "urn:epc:class:lgtin:4012345.012345.998877",
            "urn:epc:idpat:sgtin:4012345.012345.*",
            "urn:epc:id:sscc:4012345.0000000333",
            "urn:epc:id:sgln:4012345.00005.0",
            "urn:epc:id:sgln:4012345.00005.122",
            "urn:epc:id:pgln:4012345.00000",
        ] {
            let link = canonical_gs1_uri(urn).unwrap();
            assert_eq!(to_urn(&link, &seven).as_deref(), Some(urn), "{link}");
        }
    }

    #[test]
    fn what_has_no_urn_stays() {
        for id in [
            "https://w3id.org/retrace/id/uscc/91150206000000019W/10/C2503-01",
            "https://id.gs1.org/8004/4012345ABC345",
            "urn:epc:id:sgtin:4012345.011111.9876",
            "https://id.gs1.org/01/123/21/x",
            "https://id.gs1.org/414/40/254/1",
        ] {
            assert_eq!(to_urn(id, &seven), None, "{id}");
        }
        assert_eq!(
            to_urn("https://id.gs1.org/417/4012345000009", &|_| None),
            None
        );
        assert_eq!(
            to_urn("https://id.gs1.org/417/4012345000009", &|_| Some(13)),
            None
        );
    }

    #[test]
    fn events_are_presented_in_the_format_asked() {
        let event = json!({
            "epcList": ["urn:epc:id:sgtin:4012345.011111.9876"],
            "parentID": "https://id.gs1.org/00/040123450000003338",
            "quantityList": [{"epcClass": "https://id.gs1.org/01/04012345123456/10/998877", "quantity": 1}],
            "readPoint": {"id": "urn:epc:id:sgln:4012345.00005.0"},
            "sourceList": [{"type": "owning_party", "source": "https://id.gs1.org/417/4012345000009"}],
            "bizTransactionList": [{"bizTransaction": "urn:epc:id:gdti:4012345.00009.PO-4711"}],
        });
        let links = present(&event, EpcFormat::from_header(None).unwrap(), &seven);
        assert_eq!(
            links["epcList"][0],
            "https://id.gs1.org/01/04012345111118/21/9876"
        );
        assert_eq!(
            links["readPoint"]["id"],
            "https://id.gs1.org/414/4012345000054"
        );
        assert_eq!(links["parentID"], event["parentID"]);
        assert_eq!(links["bizTransactionList"], event["bizTransactionList"]);
        let urns = present(&event, EpcFormat::AlwaysUrn, &seven);
        assert_eq!(urns["parentID"], "urn:epc:id:sscc:4012345.0000000333");
        assert_eq!(
            urns["quantityList"][0]["epcClass"],
            "urn:epc:class:lgtin:4012345.012345.998877"
        );
        assert_eq!(
            urns["sourceList"][0]["source"],
            "urn:epc:id:pgln:4012345.00000"
        );
        assert_eq!(urns["epcList"], event["epcList"]);
        for kept in [EpcFormat::NoPreference, EpcFormat::NeverTranslates] {
            assert_eq!(present(&event, kept, &seven), event);
        }
        assert!(EpcFormat::from_header(Some("Always_URN")).is_err());
        assert_eq!(
            EpcFormat::from_header(Some("Always_EPC_URN")),
            Ok(EpcFormat::AlwaysUrn)
        );
    }
}
