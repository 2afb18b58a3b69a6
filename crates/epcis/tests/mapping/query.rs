//! The standard query parameters select the rare earth events the mapping writes.

use retrace_domain::uscc::Uscc;
use retrace_epcis::identifier::{self, Document};
use retrace_epcis::query::{Query, matches};
use retrace_epcis::{Context, to_epcis};
use serde_json::Value;

use crate::examples;

fn selected(pairs: &[(&str, &str)]) -> Vec<String> {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    let query = Query::parse(&pairs, &Context::epcis()).unwrap();
    let ledger = examples::ledger();
    examples::records()
        .into_iter()
        .filter(|(_, record)| {
            let event: Value = to_epcis(record, &ledger).unwrap();
            matches(&query, &event, &|_, _| false)
        })
        .map(|(kind, _)| kind.as_str().to_owned())
        .collect()
}

#[test]
fn rare_earth_fields_are_queryable() {
    assert_eq!(
        selected(&[("EQ_ILMD_rareearth:product", "ORE-BAOTOU-MIX50")]),
        ["extract"]
    );
    assert_eq!(
        selected(&[("EQ_INNER_ILMD_rareearth:product", "OXI-PRND")]),
        ["transform"]
    );
    assert_eq!(
        selected(&[("EQ_ILMD_rareearth:feedOrigin", "monazite|declared")]),
        ["opening", "import"]
    );
    let mine = Uscc::parse(examples::MINE).unwrap();
    let shipment = identifier::document(&mine, Document::Shipment, "WB-2503-0007");
    assert_eq!(
        selected(&[("EQ_bizTransaction_bol", &shipment)]),
        ["ship", "receive", "correction"],
        "the shipment, its receipt, and the declaration that repeats the shipment"
    );
    assert_eq!(
        selected(&[
            ("EQ_bizTransaction_bol", &shipment),
            ("EXISTS_errorDeclaration", "true")
        ]),
        ["correction"]
    );
    assert_eq!(
        selected(&[(
            "EQ_destination_owning_party",
            &identifier::party(&Uscc::parse(examples::PLANT).unwrap())
        )]),
        ["import", "ship", "receive", "correction"]
    );
    let lot = format!(
        "https://w3id.org/retrace/id/uscc/{}/10/C2503-01",
        examples::MINE
    );
    assert_eq!(selected(&[("MATCH_inputEPCClass", &lot)]), ["transform"]);
    assert_eq!(
        selected(&[("MATCH_anyEPCClass", &lot)]),
        [
            "extract",
            "transform",
            "ship",
            "receive",
            "adjust",
            "correction"
        ]
    );
    assert_eq!(
        selected(&[
            ("EQ_bizStep", "shipping"),
            (
                "EQ_destination_location",
                "https://w3id.org/retrace/id/country/JP"
            )
        ]),
        ["export"]
    );
    assert_eq!(selected(&[("eventType", "TransactionEvent")]), ["transfer"]);
    assert_eq!(
        selected(&[
            (
                "EQ_readPoint",
                "https://w3id.org/retrace/id/facility/BYO-MINE-1"
            ),
            ("GE_eventTime", "2025-03-04T00:00:00+08:00")
        ]),
        ["ship", "correction"]
    );
}
