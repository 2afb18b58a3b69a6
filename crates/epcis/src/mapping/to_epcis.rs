//! A record as an EPCIS 2.0 event (the table in [the `mapping` module](super)).

use retrace_domain::flow::{
    Adjust, AdjustReason, Correction, Export, Extract, Flow, FlowEvent, Import, NewLot, Opening,
    Receive, Ship, Transfer, Transform,
};
use retrace_domain::lot::LotId;
use retrace_domain::measurement::Measurement;
use retrace_domain::quantity::Mass;
use retrace_domain::record::Record;
use serde::Serialize;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Entries, ToEpcisError};
use crate::extension::{self, term};
use crate::identifier::{self, Document};
use crate::quantity::{self, KILOGRAM};

/// The EPCIS 2.0 event of a record, in the JSON-LD binding, with the `rareearth` extension
/// under the prefix `rareearth` (bind it as [`extension::document_context`] does), and its
/// CBV 2.0 Event Hash ID as `eventID` unless it has one (a correction keeps the eventID of
/// the event it declares wrong, EPCIS 2.0 §7.4.1.2). `recordTime` is the repository's to add.
///
/// `entries` is asked only for a correction, for the event it declares wrong.
///
/// # Errors
///
/// [`ToEpcisError::Act`] for an act of the register, [`ToEpcisError::UnknownEntry`] for a
/// correction of an entry `entries` has no event for, [`ToEpcisError::Value`] for a mass or
/// time EPCIS JSON cannot carry exactly.
pub fn to_epcis(record: &Record, entries: &dyn Entries) -> Result<Value, ToEpcisError> {
    let flow = match record {
        Record::Flow(flow) => flow,
        Record::Act(act) => return Err(ToEpcisError::Act(act.act.as_str().to_owned())),
    };
    let mut event = match &flow.flow {
        Flow::Opening(opening) => self::opening(flow, opening)?,
        Flow::Extract(extract) => self::extract(flow, extract)?,
        Flow::Import(import) => self::import(flow, import)?,
        Flow::Transform(transform) => self::transform(flow, transform)?,
        Flow::Ship(ship) => self::ship(flow, ship)?,
        Flow::Receive(receive) => self::receive(flow, receive)?,
        Flow::Transfer(transfer) => self::transfer(flow, transfer)?,
        Flow::Export(export) => self::export(flow, export)?,
        Flow::Adjust(adjust) => self::adjust(flow, adjust)?,
        Flow::Correction(correction) => self::correction(flow, correction, entries)?,
    };
    if !event.contains_key("eventID") {
        let id = crate::event_hash_id(&Value::Object(event.clone()), &extension::context())?;
        event.insert("eventID".to_owned(), Value::String(id));
    }
    Ok(Value::Object(event))
}

type Event = Map<String, Value>;

/// The fields every flow's event has: type, time, the flow kind, the enterprise, the
/// facility as read point (and business location where the goods stay), the reference.
fn common(
    flow: &FlowEvent,
    event_type: &str,
    action: Option<&str>,
    goods_stay: bool,
) -> Result<Event, ToEpcisError> {
    let mut event = Map::new();
    event.insert("type".to_owned(), json!(event_type));
    event.insert(
        "eventTime".to_owned(),
        json!(time(flow.event_time, "eventTime")?),
    );
    event.insert(
        "eventTimeZoneOffset".to_owned(),
        json!(zone_offset(flow.event_time)),
    );
    if let Some(action) = action {
        event.insert("action".to_owned(), json!(action));
    }
    if let Some(facility) = &flow.facility {
        let location = json!({"id": identifier::facility(facility)});
        if goods_stay {
            event.insert("bizLocation".to_owned(), location.clone());
        }
        event.insert("readPoint".to_owned(), location);
    }
    put(&mut event, "flow", json!(flow.flow.kind().as_str()));
    put(
        &mut event,
        "enterprise",
        json!(identifier::party(&flow.enterprise)),
    );
    put_some(&mut event, "reference", flow.reference.as_deref());
    Ok(event)
}

/// An `xsd:dateTimeStamp` with the offset the enterprise gave.
fn time(at: OffsetDateTime, field: &str) -> Result<String, ToEpcisError> {
    at.format(&Rfc3339).map_err(|e| ToEpcisError::Value {
        field: field.to_owned(),
        reason: format!("{e}; EPCIS times are RFC 3339 with a whole-minute offset"),
    })
}

/// `eventTimeZoneOffset`: `+08:00`.
fn zone_offset(at: OffsetDateTime) -> String {
    let (hours, minutes, _) = at.offset().as_hms();
    let sign = if at.offset().is_negative() { '-' } else { '+' };
    format!(
        "{sign}{:02}:{:02}",
        hours.unsigned_abs(),
        minutes.unsigned_abs()
    )
}

fn put(event: &mut Event, local: &str, value: Value) {
    event.insert(term(local), value);
}

fn put_some(event: &mut Event, local: &str, value: Option<&str>) {
    if let Some(value) = value {
        put(event, local, json!(value));
    }
}

/// A domain enum by its serde token (`domestic_ore`, `separation`, `dry`).
fn token(value: &impl Serialize) -> Value {
    serde_json::to_value(value).unwrap_or_else(|e| unreachable!("a domain token serialises: {e}"))
}

fn quantity(lot: &LotId, mass: Mass, field: &str) -> Result<Value, ToEpcisError> {
    let kilograms = quantity::kilograms(mass).map_err(|reason| ToEpcisError::Value {
        field: field.to_owned(),
        reason,
    })?;
    Ok(json!({
        "epcClass": identifier::lot_class(lot),
        "quantity": kilograms,
        "uom": KILOGRAM,
    }))
}

/// The lot master data of a new lot (EPCIS 2.0 §7.3.6, ILMD), its mass aside.
fn lot_data(lot: &NewLot) -> Event {
    let mut data = Map::new();
    put(&mut data, "product", json!(lot.product.as_str()));
    measurement(&lot.measurement, &mut data);
    if let Some(distribution) = &lot.distribution {
        let shares: Event = distribution
            .iter()
            .map(|(element, share)| {
                (
                    term(element.symbol()),
                    Value::Number(quantity::percent(share)),
                )
            })
            .collect();
        put(&mut data, "distribution", Value::Object(shares));
    }
    if let Some(origin) = lot.feed_origin {
        put(&mut data, "feedOrigin", token(&origin));
    }
    data
}

fn measurement(m: &Measurement, data: &mut Event) {
    let percent = |share| Value::Number(quantity::percent(share));
    put(data, "gradePercent", percent(m.grade));
    put(data, "gradeBasis", token(&m.basis));
    if m.moisture.ppm() > 0 {
        put(data, "moisturePercent", percent(m.moisture));
    }
    if let Some(loi) = m.loss_on_ignition {
        put(data, "lossOnIgnitionPercent", percent(loi));
    }
    if let Some(purity) = m.purity {
        put(data, "purityPercent", percent(purity));
    }
    if let Some(certificate) = &m.certificate {
        put(
            data,
            "certificate",
            json!({
                term("certificateNumber"): certificate.number,
                term("laboratory"): certificate.laboratory,
                term("accredited"): certificate.accredited,
            }),
        );
    }
}

/// An ObjectEvent `ADD` that brings one new lot into being, with its ILMD.
fn new_lot_event(
    flow: &FlowEvent,
    lot: &NewLot,
    biz_step: Option<&str>,
) -> Result<Event, ToEpcisError> {
    let mut event = common(flow, "ObjectEvent", Some("ADD"), true)?;
    event.insert(
        "quantityList".to_owned(),
        json!([quantity(
            &lot.lot,
            lot.measurement.wet_mass,
            "measurement.wet_mass"
        )?]),
    );
    if let Some(step) = biz_step {
        event.insert("bizStep".to_owned(), json!(step));
    }
    event.insert("ilmd".to_owned(), Value::Object(lot_data(lot)));
    Ok(event)
}

fn opening(flow: &FlowEvent, opening: &Opening) -> Result<Event, ToEpcisError> {
    let mut event = new_lot_event(flow, &opening.output, None)?;
    if !opening.documents.is_empty() {
        put(&mut event, "documents", json!(opening.documents));
    }
    Ok(event)
}

fn extract(flow: &FlowEvent, extract: &Extract) -> Result<Event, ToEpcisError> {
    new_lot_event(flow, &extract.output, Some("commissioning"))
}

fn import(flow: &FlowEvent, import: &Import) -> Result<Event, ToEpcisError> {
    let mut event = new_lot_event(flow, &import.output, Some("receiving"))?;
    parties(
        &mut event,
        "sourceList",
        "source",
        &[("location", identifier::country(&import.origin_country))],
    );
    parties(
        &mut event,
        "destinationList",
        "destination",
        &[("owning_party", identifier::party(&flow.enterprise))],
    );
    put(
        &mut event,
        "customsDeclaration",
        json!(import.customs_declaration),
    );
    put_some(&mut event, "supplier", import.supplier.as_deref());
    Ok(event)
}

fn transform(flow: &FlowEvent, transform: &Transform) -> Result<Event, ToEpcisError> {
    let mut event = common(flow, "TransformationEvent", None, true)?;
    let inputs = transform
        .inputs
        .iter()
        .enumerate()
        .map(|(i, input)| quantity(&input.lot, input.mass, &format!("inputs[{i}].mass")))
        .collect::<Result<Vec<_>, _>>()?;
    let outputs = transform
        .outputs
        .iter()
        .enumerate()
        .map(|(i, output)| {
            quantity(
                &output.lot,
                output.measurement.wet_mass,
                &format!("outputs[{i}].measurement.wet_mass"),
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    if !inputs.is_empty() {
        event.insert("inputQuantityList".to_owned(), Value::Array(inputs));
        let origins: Vec<Value> = transform
            .inputs
            .iter()
            .map(|input| {
                json!({
                    term("epcClass"): identifier::lot_class(&input.lot),
                    term("feedOrigin"): token(&input.feed_origin),
                })
            })
            .collect();
        put(&mut event, "inputs", Value::Array(origins));
    }
    if !outputs.is_empty() {
        event.insert("outputQuantityList".to_owned(), Value::Array(outputs));
        let data: Vec<Value> = transform
            .outputs
            .iter()
            .map(|output| {
                let mut data = lot_data(output);
                put(
                    &mut data,
                    "epcClass",
                    json!(identifier::lot_class(&output.lot)),
                );
                Value::Object(data)
            })
            .collect();
        event.insert("ilmd".to_owned(), json!({ term("outputs"): data }));
    }
    put(&mut event, "process", token(&transform.process));
    if let Some(owner) = &transform.toll_owner {
        put(&mut event, "tollOwner", json!(identifier::party(owner)));
    }
    match (transform.inputs.is_empty(), transform.outputs.is_empty()) {
        (false, false) => {}
        (true, true) => {
            return Err(ToEpcisError::Value {
                field: "inputs".to_owned(),
                reason: "a TransformationEvent consumes or makes something (EPCIS 2.0 §7.4.6): \
                         give inputs or outputs"
                    .to_owned(),
            });
        }
        // EPCIS 2.0 §7.4.6: a transformation with only one side is one part of a whole, which
        // a transformationID names. This one names itself: the Event Hash ID of the event
        // without it, unique to its content and the same whenever it is written.
        _ => {
            let id = crate::event_hash_id(&Value::Object(event.clone()), &extension::context())?;
            event.insert("transformationID".to_owned(), Value::String(id));
        }
    }
    Ok(event)
}

/// A source or destination list (CBV 2.0 §7.4): `(type, URI)` pairs.
fn parties(event: &mut Event, list: &str, member: &str, entries: &[(&str, String)]) {
    let items = entries
        .iter()
        .map(|(kind, uri)| json!({"type": kind, member: uri}))
        .collect();
    event.insert(list.to_owned(), Value::Array(items));
}

fn business_transaction(kind: &str, uri: String) -> Value {
    json!({"type": kind, "bizTransaction": uri})
}

fn ship(flow: &FlowEvent, ship: &Ship) -> Result<Event, ToEpcisError> {
    let mut event = common(flow, "ObjectEvent", Some("OBSERVE"), false)?;
    event.insert(
        "quantityList".to_owned(),
        json!([quantity(&ship.lot, ship.mass, "mass")?]),
    );
    event.insert("bizStep".to_owned(), json!("shipping"));
    event.insert("disposition".to_owned(), json!("in_transit"));
    let issuer = &flow.enterprise;
    let mut transactions = vec![business_transaction(
        "bol",
        identifier::document(issuer, Document::Shipment, &ship.shipment),
    )];
    if let Some(contract) = &ship.contract {
        transactions.push(business_transaction(
            "po",
            identifier::document(issuer, Document::Contract, contract),
        ));
    }
    if let Some(invoice) = &ship.invoice {
        transactions.push(business_transaction(
            "inv",
            identifier::document(issuer, Document::Invoice, invoice),
        ));
    }
    event.insert("bizTransactionList".to_owned(), Value::Array(transactions));
    parties(
        &mut event,
        "sourceList",
        "source",
        &[("owning_party", identifier::party(&flow.enterprise))],
    );
    parties(
        &mut event,
        "destinationList",
        "destination",
        &[("owning_party", identifier::party(&ship.to))],
    );
    Ok(event)
}

fn receive(flow: &FlowEvent, receive: &Receive) -> Result<Event, ToEpcisError> {
    let mut event = common(flow, "ObjectEvent", Some("OBSERVE"), true)?;
    event.insert(
        "quantityList".to_owned(),
        json!([quantity(&receive.lot, receive.mass, "mass")?]),
    );
    event.insert("bizStep".to_owned(), json!("receiving"));
    event.insert(
        "bizTransactionList".to_owned(),
        json!([business_transaction(
            "bol",
            identifier::document(&receive.from, Document::Shipment, &receive.shipment),
        )]),
    );
    parties(
        &mut event,
        "sourceList",
        "source",
        &[("owning_party", identifier::party(&receive.from))],
    );
    parties(
        &mut event,
        "destinationList",
        "destination",
        &[("owning_party", identifier::party(&flow.enterprise))],
    );
    if let Some(grade) = receive.grade {
        put(
            &mut event,
            "gradePercent",
            Value::Number(quantity::percent(grade)),
        );
    }
    Ok(event)
}

fn transfer(flow: &FlowEvent, transfer: &Transfer) -> Result<Event, ToEpcisError> {
    let mut event = common(flow, "TransactionEvent", Some("ADD"), true)?;
    event.insert(
        "quantityList".to_owned(),
        json!([quantity(&transfer.lot, transfer.mass, "mass")?]),
    );
    event.insert(
        "bizTransactionList".to_owned(),
        json!([{"bizTransaction": identifier::document(&flow.enterprise, Document::Title, &transfer.document)}]),
    );
    parties(
        &mut event,
        "sourceList",
        "source",
        &[("owning_party", identifier::party(&flow.enterprise))],
    );
    let mut destinations = vec![("owning_party", identifier::party(&transfer.to))];
    if let Some(holder) = &transfer.holder {
        destinations.push(("possessing_party", identifier::party(holder)));
    }
    parties(&mut event, "destinationList", "destination", &destinations);
    Ok(event)
}

fn export(flow: &FlowEvent, export: &Export) -> Result<Event, ToEpcisError> {
    let mut event = common(flow, "ObjectEvent", Some("OBSERVE"), false)?;
    event.insert(
        "quantityList".to_owned(),
        json!([quantity(&export.lot, export.mass, "mass")?]),
    );
    event.insert("bizStep".to_owned(), json!("shipping"));
    event.insert("disposition".to_owned(), json!("in_transit"));
    parties(
        &mut event,
        "sourceList",
        "source",
        &[("owning_party", identifier::party(&flow.enterprise))],
    );
    parties(
        &mut event,
        "destinationList",
        "destination",
        &[("location", identifier::country(&export.destination_country))],
    );
    put(&mut event, "commodityCode", json!(export.commodity_code));
    put_some(
        &mut event,
        "customsDeclaration",
        export.customs_declaration.as_deref(),
    );
    put_some(&mut event, "exportLicence", export.licence.as_deref());
    put_some(
        &mut event,
        "controlledRemark",
        export.controlled_remark.as_deref(),
    );
    Ok(event)
}

fn adjust(flow: &FlowEvent, adjust: &Adjust) -> Result<Event, ToEpcisError> {
    let mut event = common(flow, "ObjectEvent", Some("OBSERVE"), true)?;
    event.insert(
        "quantityList".to_owned(),
        json!([quantity(&adjust.lot, adjust.change.magnitude(), "change")?]),
    );
    if adjust.reason == AdjustReason::Destruction {
        event.insert("bizStep".to_owned(), json!("destroying"));
        event.insert("disposition".to_owned(), json!("destroyed"));
    } else {
        event.insert("bizStep".to_owned(), json!("inspecting"));
    }
    put(&mut event, "adjustReason", token(&adjust.reason));
    let direction = if adjust.change.grams() < 0 {
        "decrease"
    } else {
        "increase"
    };
    put(&mut event, "adjustment", json!(direction));
    if let Some(grade) = adjust.grade {
        put(
            &mut event,
            "gradePercent",
            Value::Number(quantity::percent(grade)),
        );
    }
    put_some(&mut event, "note", adjust.note.as_deref());
    Ok(event)
}

/// The corrected event again, declared wrong (EPCIS 2.0 §7.4.1.2): same fields, same
/// eventID, and an `errorDeclaration` with the correction's time, enterprise, facility,
/// reference and reason. CBV 2.0 §7.5's reason is `incorrect_data`; the enterprise's own
/// words are `rareearth:reason`.
fn correction(
    flow: &FlowEvent,
    correction: &Correction,
    entries: &dyn Entries,
) -> Result<Event, ToEpcisError> {
    let Some(Value::Object(mut event)) = entries.event(correction.corrects) else {
        return Err(ToEpcisError::UnknownEntry(correction.corrects));
    };
    event.remove("recordTime");
    let mut declaration = Map::new();
    declaration.insert(
        "declarationTime".to_owned(),
        json!(time(flow.event_time, "event_time")?),
    );
    declaration.insert("reason".to_owned(), json!("incorrect_data"));
    put(&mut declaration, "reason", json!(correction.reason));
    put(
        &mut declaration,
        "enterprise",
        json!(identifier::party(&flow.enterprise)),
    );
    if let Some(facility) = &flow.facility {
        put(
            &mut declaration,
            "facility",
            json!(identifier::facility(facility)),
        );
    }
    put_some(&mut declaration, "reference", flow.reference.as_deref());
    event.insert("errorDeclaration".to_owned(), Value::Object(declaration));
    Ok(event)
}
