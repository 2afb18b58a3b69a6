//! EPCIS documents retrace writes: an `EPCISDocument` for export (an enterprise-month, a
//! trace) and an `EPCISQueryDocument` for query results and subscription deliveries (EPCIS
//! 2.0 §9.2 and §12, JSON-LD binding §10).

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::extension::document_context;

/// The version of EPCIS the documents follow.
pub const SCHEMA_VERSION: &str = "2.0";

/// An `EPCISDocument` holding `events` in order, with the EPCIS 2.0 context and the
/// `rareearth` prefix. Events that use other prefixes carry them in their own `@context`.
///
/// # Errors
///
/// When `creation_date` has a year outside 0000–9999 or an offset with seconds.
pub fn epcis_document(
    events: Vec<Value>,
    creation_date: OffsetDateTime,
) -> Result<Value, time::error::Format> {
    Ok(json!({
        "@context": document_context(),
        "type": "EPCISDocument",
        "schemaVersion": SCHEMA_VERSION,
        "creationDate": creation_date.format(&Rfc3339)?,
        "epcisBody": {"eventList": events},
    }))
}

/// An `EPCISQueryDocument` answering the query named `query_name` (for an ad hoc `GET
/// /events`, EPCIS 2.0 §12.4 names it by the resource), with the subscription it is a
/// delivery for, if any.
///
/// # Errors
///
/// As [`epcis_document`].
pub fn epcis_query_document(
    query_name: &str,
    subscription_id: Option<&str>,
    events: Vec<Value>,
    creation_date: OffsetDateTime,
) -> Result<Value, time::error::Format> {
    let mut results = json!({
        "queryName": query_name,
        "resultsBody": {"eventList": events},
    });
    if let Some(id) = subscription_id {
        results["subscriptionID"] = json!(id);
    }
    Ok(json!({
        "@context": document_context(),
        "type": "EPCISQueryDocument",
        "schemaVersion": SCHEMA_VERSION,
        "creationDate": creation_date.format(&Rfc3339)?,
        "epcisBody": {"queryResults": results},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::validate;
    use time::macros::datetime;

    #[test]
    fn empty_documents_are_valid() {
        let at = datetime!(2025-04-01 00:00 +08:00);
        let doc = epcis_document(Vec::new(), at).unwrap();
        assert_eq!(validate(&doc), Ok(()));
        assert_eq!(doc["creationDate"], "2025-04-01T00:00:00+08:00");
        let query =
            epcis_query_document("SimpleEventQuery", Some("sub-1"), Vec::new(), at).unwrap();
        assert_eq!(validate(&query), Ok(()));
        assert_eq!(
            query["epcisBody"]["queryResults"]["subscriptionID"],
            "sub-1"
        );
    }
}
