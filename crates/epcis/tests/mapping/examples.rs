//! One hand-written record of every flow kind, as an enterprise would record it (synthetic
//! enterprises and codes, DESIGN.md §2): the worked examples of `MAPPING.md` and the fixed
//! cases of the round trip.

use std::collections::BTreeMap;

use retrace_domain::flow::FlowKind;
use retrace_domain::record::Record;
use retrace_epcis::to_epcis;
use serde_json::{Value, json};

pub const MINE: &str = "91150206000000019W";
pub const PLANT: &str = "91150271000000027U";

/// The ledger index of the shipment the correction example declares wrong.
pub const CORRECTED: u64 = 41;

/// The native JSON of each example, in flow-kind order.
pub fn native() -> Vec<(FlowKind, Value)> {
    vec![
        (
            FlowKind::Opening,
            json!({"kind": "opening", "event_time": "2025-01-01T00:00:00+08:00",
                "enterprise": PLANT, "facility": "BT-SEP-1",
                "output": {"lot": format!("uscc/{PLANT}/10/OPEN-CARB-1"), "product": "MIX-RECO3-ROCK",
                    "measurement": {"wet_mass": "85.4 t", "moisture": "12%", "grade": "45.2%"},
                    "feed_origin": "declared"},
                "documents": ["2024 annual stock-take report", "audit letter BT-2024-117"]}),
        ),
        (
            FlowKind::Extract,
            json!({"kind": "extract", "event_time": "2025-03-03T08:00:00+08:00",
                "enterprise": MINE, "facility": "BYO-MINE-1", "reference": "PR-2503-001",
                "output": {"lot": format!("uscc/{MINE}/10/C2503-01"), "product": "ORE-BAOTOU-MIX50",
                    "measurement": {"wet_mass": "120 t", "moisture": "8%", "grade": "50.2%",
                        "certificate": {"number": "QC-2503-0101", "laboratory": "mine laboratory"}},
                    "distribution": {"Ce": "50%", "La": "25%", "Nd": "17%", "Pr": "5%", "Sm": "1.5%", "Gd": "1%", "Y": "0.5%"}}}),
        ),
        (
            FlowKind::Import,
            json!({"kind": "import", "event_time": "2025-03-05T14:30:00+08:00",
                "enterprise": PLANT, "facility": "BT-SEP-1",
                "output": {"lot": "01/06901234567892/10/MZ-2503-7", "product": "ORE-MONAZITE",
                    "measurement": {"wet_mass": "40.25 t", "moisture": "2.5%", "grade": "58.5%", "loss_on_ignition": "1.2%",
                        "certificate": {"number": "CNAS-L1234-2503-77", "laboratory": "Baotou national rare earth inspection centre", "accredited": true}},
                    "feed_origin": "monazite"},
                "customs_declaration": "020120250000123456", "origin_country": "MG",
                "supplier": "synthetic monazite supplier"}),
        ),
        (
            FlowKind::Transform,
            json!({"kind": "transform", "event_time": "2025-03-31T20:00:00+08:00",
                "enterprise": PLANT, "facility": "BT-SEP-1", "process": "separation",
                "inputs": [{"lot": format!("uscc/{MINE}/10/C2503-01"), "mass": "60 t", "feed_origin": "domestic_ore"},
                           {"lot": "01/06901234567892/10/MZ-2503-7", "mass": "20 t", "feed_origin": "monazite"}],
                "outputs": [
                    {"lot": format!("uscc/{PLANT}/10/PRND-2503"), "product": "OXI-PRND",
                     "measurement": {"wet_mass": "8.125 t", "grade": "99.2%", "purity": "99.5%"},
                     "distribution": {"Nd": "75%", "Pr": "25%"}},
                    {"lot": format!("uscc/{PLANT}/10/LACE-2503"), "product": "MIX-LACE-OXIDE",
                     "measurement": {"wet_mass": "31.4 t", "grade": "98.6%"},
                     "distribution": {"Ce": "66.5%", "La": "33.5%"}}]}),
        ),
        (
            FlowKind::Ship,
            json!({"kind": "ship", "event_time": "2025-03-04T10:00:00+08:00",
                "enterprise": MINE, "facility": "BYO-MINE-1",
                "lot": format!("uscc/{MINE}/10/C2503-01"), "mass": "60 t", "to": PLANT,
                "shipment": "WB-2503-0007", "contract": "NRE-2025-017", "invoice": "FP 0448 2219"}),
        ),
        (
            FlowKind::Receive,
            json!({"kind": "receive", "event_time": "2025-03-04T16:20:00+08:00",
                "enterprise": PLANT, "facility": "BT-SEP-1",
                "lot": format!("uscc/{MINE}/10/C2503-01"), "from": MINE, "shipment": "WB-2503-0007",
                "mass": "59.82 t", "grade": "50.1%"}),
        ),
        (
            FlowKind::Transfer,
            json!({"kind": "transfer", "event_time": "2025-04-02T09:00:00+08:00",
                "enterprise": PLANT, "lot": format!("uscc/{PLANT}/10/PRND-2503"), "mass": "5 t",
                "to": "91320583000000035K", "holder": "91150271000000043H",
                "document": "WR-2025-0402-01"}),
        ),
        (
            FlowKind::Export,
            json!({"kind": "export", "event_time": "2025-04-10T11:00:00+08:00",
                "enterprise": PLANT, "facility": "BT-SEP-1",
                "lot": format!("uscc/{PLANT}/10/LACE-2503"), "mass": "20 t",
                "destination_country": "JP", "commodity_code": "2846.90",
                "customs_declaration": "020120250000765432"}),
        ),
        (
            FlowKind::Adjust,
            json!({"kind": "adjust", "event_time": "2025-03-31T23:00:00+08:00",
                "enterprise": PLANT, "facility": "BT-SEP-1",
                "lot": format!("uscc/{MINE}/10/C2503-01"), "change": "-0.35 t",
                "reason": "circuit_hold_up", "note": "solvent extraction hold-up at month end"}),
        ),
        (
            FlowKind::Correction,
            json!({"kind": "correction", "event_time": "2025-03-06T09:15:00+08:00",
                "enterprise": MINE, "reference": "CORR-2503-01", "corrects": CORRECTED,
                "reason": "shipment recorded against the wrong lot"}),
        ),
    ]
}

/// The examples as records.
pub fn records() -> Vec<(FlowKind, Record)> {
    native()
        .into_iter()
        .map(|(kind, json)| {
            let record = serde_json::from_value(json)
                .unwrap_or_else(|e| panic!("the {kind:?} example is not a record: {e}"));
            (kind, record)
        })
        .collect()
}

/// The ledger the correction example is read against: the shipment example at [`CORRECTED`].
pub fn ledger() -> BTreeMap<u64, Value> {
    let ship = records()
        .into_iter()
        .find(|(kind, _)| *kind == FlowKind::Ship)
        .unwrap()
        .1;
    let event = to_epcis(&ship, &BTreeMap::new()).unwrap();
    BTreeMap::from([(CORRECTED, event)])
}
