//! An event that claims the `rareearth` extension but is malformed is refused with the JSON
//! pointer of the offending value and what to write instead; an event without it is general.

use std::collections::BTreeMap;

use retrace_domain::flow::FlowKind;
use retrace_epcis::{Context, Mapped, MappingError, extension, from_epcis, to_epcis};
use serde_json::{Value, json};

use crate::examples;

fn event_of(kind: FlowKind) -> Value {
    let record = examples::records()
        .into_iter()
        .find(|(k, _)| *k == kind)
        .unwrap()
        .1;
    to_epcis(&record, &examples::ledger()).unwrap()
}

fn refused(event: &Value) -> MappingError {
    match from_epcis(event, &extension::context(), &examples::ledger()) {
        Err(error) => error,
        Ok(mapped) => panic!("{event:#}\nwas read as {mapped:?}"),
    }
}

#[test]
fn malformed_values_are_named_by_pointer() {
    type Breakage = fn(&mut Value);
    let cases: [(FlowKind, Breakage, &str, &str); 12] = [
        (
            FlowKind::Ship,
            |e| e["quantityList"][0]["quantity"] = json!(1.0005),
            "/quantityList/0/quantity",
            "more precise than a gram",
        ),
        (
            FlowKind::Ship,
            |e| e["quantityList"][0]["uom"] = json!("LBR"),
            "/quantityList/0/quantity",
            "write KGM, TNE or GRM",
        ),
        (
            FlowKind::Ship,
            |e| {
                e["quantityList"].as_array_mut().unwrap().clear();
            },
            "/quantityList",
            "exactly one quantity element",
        ),
        (
            FlowKind::Ship,
            |e| e["destinationList"][0]["destination"] = json!("urn:epc:id:pgln:4000001.00000"),
            "/destinationList/0/destination",
            "names no enterprise",
        ),
        (
            FlowKind::Ship,
            |e| {
                e["bizTransactionList"].as_array_mut().unwrap().remove(0);
            },
            "/bizTransactionList",
            "shipment",
        ),
        (
            FlowKind::Ship,
            |e| e["type"] = json!("TransactionEvent"),
            "/type",
            "ObjectEvent",
        ),
        (
            FlowKind::Extract,
            |e| e["ilmd"]["rareearth:gradePercent"] = json!(100.5),
            "/ilmd/rareearth:gradePercent",
            "between 0 % and 100 %",
        ),
        (
            FlowKind::Extract,
            |e| e["ilmd"]["rareearth:distribution"]["rareearth:Nd"] = json!(30),
            "/ilmd/rareearth:distribution",
            "add up",
        ),
        (
            FlowKind::Extract,
            |e| e["ilmd"]["rareearth:distribution"]["rareearth:Xx"] = json!(1),
            "/ilmd/rareearth:distribution/rareearth:Xx",
            "symbol",
        ),
        (
            FlowKind::Extract,
            |e| {
                e.as_object_mut().unwrap().remove("ilmd");
            },
            "/ilmd",
            "ILMD",
        ),
        (
            FlowKind::Transform,
            |e| e["rareearth:inputs"][1]["rareearth:feedOrigin"] = json!("meteorite"),
            "/rareearth:inputs/1/rareearth:feedOrigin",
            "domestic_ore",
        ),
        (
            FlowKind::Transform,
            |e| {
                e["ilmd"]["rareearth:outputs"][0]["rareearth:epcClass"] =
                    json!("https://id.gs1.org/01/06901234567892/10/OTHER")
            },
            "/ilmd/rareearth:outputs/0/rareearth:epcClass",
            "another lot",
        ),
    ];
    for (kind, breakage, pointer, says) in cases {
        let mut event = event_of(kind);
        breakage(&mut event);
        let error = refused(&event);
        assert_eq!(error.pointer, pointer, "{error}");
        assert!(error.reason.contains(says), "{pointer}: {error}");
    }
}

#[test]
fn the_flow_kind_and_the_enterprise_are_required() {
    let mut event = event_of(FlowKind::Receive);
    event.as_object_mut().unwrap().remove("rareearth:flow");
    let error = refused(&event);
    assert_eq!(error.pointer, "/rareearth:flow");
    let mut event = event_of(FlowKind::Receive);
    event["rareearth:flow"] = json!("correction");
    assert!(refused(&event).reason.contains("errorDeclaration"));
    let mut event = event_of(FlowKind::Receive);
    event["rareearth:flow"] = json!("teleport");
    assert!(refused(&event).reason.contains("unknown variant"));
    let mut event = event_of(FlowKind::Receive);
    event
        .as_object_mut()
        .unwrap()
        .remove("rareearth:enterprise");
    assert_eq!(refused(&event).pointer, "/rareearth:enterprise");
}

#[test]
fn an_unbound_prefix_is_refused_not_ignored() {
    let event = event_of(FlowKind::Extract);
    let error = from_epcis(&event, &Context::epcis(), &BTreeMap::new()).unwrap_err();
    assert!(error.reason.contains("not bound"), "{error}");
    assert!(
        error.pointer.starts_with("/rareearth:") || error.pointer.starts_with("/ilmd/rareearth:")
    );
}

#[test]
fn a_declaration_of_an_unknown_event_is_refused() {
    let event = event_of(FlowKind::Correction);
    let error = from_epcis(&event, &extension::context(), &BTreeMap::new()).unwrap_err();
    assert_eq!(error.pointer, "/errorDeclaration");
    assert!(error.reason.contains("does not hold"));
}

#[test]
fn events_without_the_extension_are_general() {
    let mut event = event_of(FlowKind::Ship);
    let fields = event.as_object_mut().unwrap();
    fields.retain(|name, _| !name.starts_with("rareearth:"));
    assert_eq!(
        from_epcis(&event, &extension::context(), &BTreeMap::new()),
        Ok(Mapped::General)
    );
}

#[test]
fn a_transformation_of_nothing_has_no_event() {
    let mut record = examples::records()
        .into_iter()
        .find(|(k, _)| *k == FlowKind::Transform)
        .unwrap()
        .1;
    let retrace_domain::record::Record::Flow(flow) = &mut record else {
        unreachable!()
    };
    let retrace_domain::flow::Flow::Transform(transform) = &mut flow.flow else {
        unreachable!()
    };
    transform.outputs.clear();
    let one_sided = to_epcis(&record, &BTreeMap::new()).unwrap();
    assert!(
        one_sided["transformationID"]
            .as_str()
            .unwrap()
            .starts_with("ni:///sha-256;")
    );
    let retrace_domain::record::Record::Flow(flow) = &mut record else {
        unreachable!()
    };
    let retrace_domain::flow::Flow::Transform(transform) = &mut flow.flow else {
        unreachable!()
    };
    transform.inputs.clear();
    assert!(to_epcis(&record, &BTreeMap::new()).is_err());
}
