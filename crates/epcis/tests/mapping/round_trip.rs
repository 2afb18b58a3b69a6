//! native → EPCIS → native is lossless for every flow kind, and the event's hash ID is a
//! property of the event, not of its JSON text.

use std::collections::BTreeMap;

use proptest::prelude::*;
use retrace_domain::distribution::ElementDistribution;
use retrace_domain::facility::{FacilityId, Process};
use retrace_domain::flow::{
    Adjust, AdjustReason, Correction, Export, Extract, Flow, FlowEvent, FlowKind, Import, NewLot,
    Opening, Receive, Ship, Transfer, Transform, TransformInput,
};
use retrace_domain::lot::{FeedOrigin, LotId};
use retrace_domain::measurement::{AssayCertificate, GradeBasis, Measurement};
use retrace_domain::product::ProductCode;
use retrace_domain::quantity::{Mass, MassChange, Share};
use retrace_domain::record::Record;
use retrace_domain::uscc::Uscc;
use retrace_epcis::document::{epcis_document, epcis_query_document};
use retrace_epcis::extension;
use retrace_epcis::{Context, Mapped, event_hash_id, from_epcis, schema, to_epcis};
use serde_json::{Value, json};
use time::{OffsetDateTime, UtcOffset};

use crate::examples::{self, CORRECTED};

/// The event of `record` read back, with the ledger `entries`.
fn back(event: &Value, entries: &BTreeMap<u64, Value>) -> Record {
    match from_epcis(event, &extension::context(), entries) {
        Ok(Mapped::Record(record)) => *record,
        other => panic!("{event:#}\nread back as {other:?}"),
    }
}

/// The record, its event, and the checks every round trip makes: same record, same JSON
/// (offsets included), and a hash ID that is the eventID and survives being re-read in a
/// document with another prefix for the extension.
fn round_trip(record: &Record, entries: &BTreeMap<u64, Value>) -> Value {
    let event = to_epcis(record, entries).unwrap();
    let read = back(&event, entries);
    assert_eq!(&read, record, "{event:#}");
    assert_eq!(
        serde_json::to_value(&read).unwrap(),
        serde_json::to_value(record).unwrap()
    );
    let id = event_hash_id(&event, &extension::context()).unwrap();
    assert_eq!(event["eventID"], id, "the eventID is the Event Hash ID");
    let text = serde_json::to_string_pretty(&event).unwrap();
    let renamed: Value = serde_json::from_str(&text.replace("\"rareearth:", "\"re:")).unwrap();
    let mut other = Context::epcis();
    other.extend(&json!({"re": extension::NAMESPACE})).unwrap();
    assert_eq!(event_hash_id(&renamed, &other).unwrap(), id);
    assert_eq!(back_with(&renamed, &other, entries), *record);
    let document = epcis_document(vec![event.clone()], record.time()).unwrap();
    assert_eq!(schema::validate(&document), Ok(()), "{event:#}");
    event
}

fn back_with(event: &Value, context: &Context, entries: &BTreeMap<u64, Value>) -> Record {
    match from_epcis(event, context, entries) {
        Ok(Mapped::Record(record)) => *record,
        other => panic!("read back as {other:?}"),
    }
}

#[test]
fn every_hand_written_example_round_trips() {
    let ledger = examples::ledger();
    let records = examples::records();
    assert_eq!(
        records.iter().map(|(kind, _)| *kind).collect::<Vec<_>>(),
        FlowKind::ALL
    );
    for (kind, record) in &records {
        let event = round_trip(record, &ledger);
        let (event_type, action, biz_step) = match kind {
            FlowKind::Opening => ("ObjectEvent", Some("ADD"), None),
            FlowKind::Extract => ("ObjectEvent", Some("ADD"), Some("commissioning")),
            FlowKind::Import => ("ObjectEvent", Some("ADD"), Some("receiving")),
            FlowKind::Transform => ("TransformationEvent", None, None),
            FlowKind::Ship | FlowKind::Export => ("ObjectEvent", Some("OBSERVE"), Some("shipping")),
            FlowKind::Receive => ("ObjectEvent", Some("OBSERVE"), Some("receiving")),
            FlowKind::Transfer => ("TransactionEvent", Some("ADD"), None),
            FlowKind::Adjust => ("ObjectEvent", Some("OBSERVE"), Some("inspecting")),
            // The shipment again, declared wrong.
            FlowKind::Correction => ("ObjectEvent", Some("OBSERVE"), Some("shipping")),
        };
        assert_eq!(event["type"], event_type, "{kind:?}");
        assert_eq!(
            event.get("action").and_then(Value::as_str),
            action,
            "{kind:?}"
        );
        assert_eq!(
            event.get("bizStep").and_then(Value::as_str),
            biz_step,
            "{kind:?}"
        );
    }
}

#[test]
fn the_shapes_the_standard_asks_for() {
    let ledger = examples::ledger();
    let events: BTreeMap<FlowKind, Value> = examples::records()
        .into_iter()
        .map(|(kind, record)| (kind, to_epcis(&record, &ledger).unwrap()))
        .collect();
    let ship = &events[&FlowKind::Ship];
    assert_eq!(ship["disposition"], "in_transit");
    assert_eq!(
        ship["quantityList"][0],
        json!({"epcClass": format!("https://w3id.org/retrace/id/uscc/{}/10/C2503-01", examples::MINE),
               "quantity": 60000, "uom": "KGM"})
    );
    assert_eq!(ship["destinationList"][0]["type"], "owning_party");
    // The receipt quotes the same shipment: one business transaction URI on both sides.
    let receive = &events[&FlowKind::Receive];
    assert_eq!(
        ship["bizTransactionList"][0],
        receive["bizTransactionList"][0]
    );
    assert_eq!(receive["quantityList"][0]["quantity"], json!(59820));
    let import = &events[&FlowKind::Import];
    assert_eq!(
        import["quantityList"][0]["epcClass"],
        "https://id.gs1.org/01/06901234567892/10/MZ-2503-7"
    );
    assert_eq!(import["quantityList"][0]["quantity"], json!(40250));
    assert_eq!(import["ilmd"]["rareearth:gradePercent"], json!(58.5));
    assert_eq!(
        import["sourceList"][0],
        json!({"type": "location", "source": "https://w3id.org/retrace/id/country/MG"})
    );
    let transform = &events[&FlowKind::Transform];
    assert_eq!(transform["outputQuantityList"][0]["quantity"], json!(8125));
    assert_eq!(
        transform["ilmd"]["rareearth:outputs"][0]["rareearth:distribution"],
        json!({"rareearth:Nd": 75, "rareearth:Pr": 25})
    );
    let correction = &events[&FlowKind::Correction];
    assert_eq!(correction["eventID"], ship["eventID"]);
    assert_eq!(correction["errorDeclaration"]["reason"], "incorrect_data");
    assert_eq!(
        event_hash_id(correction, &extension::context()).unwrap(),
        ship["eventID"].as_str().unwrap(),
        "the declaration does not change the hash"
    );
    let transfer = &events[&FlowKind::Transfer];
    assert_eq!(transfer["destinationList"][1]["type"], "possessing_party");
    let adjust = &events[&FlowKind::Adjust];
    assert_eq!(adjust["quantityList"][0]["quantity"], json!(350));
    assert_eq!(adjust["rareearth:adjustment"], "decrease");
}

fn uscc() -> impl Strategy<Value = Uscc> {
    (
        prop::sample::select(vec!["150206", "150271", "360700", "350800", "441400"]),
        0u32..50_000,
    )
        .prop_map(|(region, serial)| Uscc::synthesize(region, serial))
}

fn gtin() -> impl Strategy<Value = String> {
    "[0-9]{13}".prop_map(|body| {
        let sum: u32 = body
            .bytes()
            .enumerate()
            .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 3 } else { 1 })
            .sum();
        format!("{body}{}", (10 - sum % 10) % 10)
    })
}

fn lot() -> impl Strategy<Value = LotId> {
    let number = "[A-Za-z0-9._-]{1,20}";
    prop_oneof![
        (uscc(), number).prop_map(|(uscc, number)| LotId::under_uscc(&uscc, &number).unwrap()),
        (gtin(), number)
            .prop_map(|(gtin, number)| LotId::parse(&format!("01/{gtin}/10/{number}")).unwrap()),
    ]
}

fn mass() -> impl Strategy<Value = Mass> {
    prop_oneof![
        (0u64..1_000_000_000_000).prop_map(Mass::from_grams),
        (0u64..100_000).prop_map(Mass::from_tonnes),
    ]
}

fn share() -> impl Strategy<Value = Share> {
    (0u32..=1_000_000).prop_map(|ppm| Share::from_ppm(ppm).unwrap())
}

fn text() -> impl Strategy<Value = String> {
    "\\PC{0,24}"
}

fn feed_origin() -> impl Strategy<Value = FeedOrigin> {
    prop::sample::select(vec![
        FeedOrigin::DomesticOre,
        FeedOrigin::ImportedOre,
        FeedOrigin::Monazite,
        FeedOrigin::ByProduct,
        FeedOrigin::RecycledScrap,
        FeedOrigin::Declared,
    ])
}

fn measurement() -> impl Strategy<Value = Measurement> {
    (
        mass(),
        share(),
        prop::option::of(share()),
        share(),
        prop::bool::ANY,
        prop::option::of(share()),
        prop::option::of((text(), text(), prop::bool::ANY)),
    )
        .prop_map(
            |(wet_mass, moisture, loi, grade, wet, purity, certificate)| Measurement {
                wet_mass,
                moisture,
                loss_on_ignition: loi,
                grade,
                basis: if wet {
                    GradeBasis::Wet
                } else {
                    GradeBasis::Dry
                },
                purity,
                certificate: certificate.map(|(number, laboratory, accredited)| AssayCertificate {
                    number,
                    laboratory,
                    accredited,
                }),
            },
        )
}

fn new_lot() -> impl Strategy<Value = NewLot> {
    (
        lot(),
        "[A-Z0-9-]{2,40}",
        measurement(),
        prop::option::of(proptest::array::uniform16(0u64..1_000)),
        prop::option::of(feed_origin()),
    )
        .prop_map(|(lot, product, measurement, weights, feed_origin)| NewLot {
            lot,
            product: ProductCode::parse(&product).unwrap(),
            measurement,
            distribution: weights.and_then(|w| ElementDistribution::from_masses(&w)),
            feed_origin,
        })
}

fn country() -> impl Strategy<Value = String> {
    "[A-Z]{2}"
}

fn flow() -> impl Strategy<Value = Flow> {
    prop_oneof![
        (new_lot(), prop::collection::vec(text(), 0..3))
            .prop_map(|(output, documents)| Flow::Opening(Opening { output, documents })),
        new_lot().prop_map(|output| Flow::Extract(Extract { output })),
        (new_lot(), text(), country(), prop::option::of(text())).prop_map(
            |(output, customs_declaration, origin_country, supplier)| Flow::Import(Import {
                output,
                customs_declaration,
                origin_country,
                supplier,
            })
        ),
        (
            prop::sample::select(vec![
                Process::OreDressing,
                Process::Cracking,
                Process::Separation,
                Process::MetalSmelting,
                Process::Recycling,
                Process::MagnetMaking,
            ]),
            prop::collection::vec(
                (lot(), mass(), feed_origin()).prop_map(|(lot, mass, feed_origin)| {
                    TransformInput {
                        lot,
                        mass,
                        feed_origin,
                    }
                }),
                0..4
            ),
            prop::collection::vec(new_lot(), 0..4),
            prop::option::of(uscc()),
        )
            .prop_filter(
                "a transformation consumes or makes something",
                |(_, inputs, outputs, _)| { !(inputs.is_empty() && outputs.is_empty()) }
            )
            .prop_map(
                |(process, inputs, outputs, toll_owner)| Flow::Transform(Transform {
                    process,
                    inputs,
                    outputs,
                    toll_owner,
                })
            ),
        (
            lot(),
            mass(),
            uscc(),
            text(),
            prop::option::of(text()),
            prop::option::of(text())
        )
            .prop_map(
                |(lot, mass, to, shipment, contract, invoice)| Flow::Ship(Ship {
                    lot,
                    mass,
                    to,
                    shipment,
                    contract,
                    invoice,
                })
            ),
        (lot(), uscc(), text(), mass(), prop::option::of(share())).prop_map(
            |(lot, from, shipment, mass, grade)| Flow::Receive(Receive {
                lot,
                from,
                shipment,
                mass,
                grade,
            })
        ),
        (lot(), mass(), uscc(), prop::option::of(uscc()), text()).prop_map(
            |(lot, mass, to, holder, document)| Flow::Transfer(Transfer {
                lot,
                mass,
                to,
                holder,
                document,
            })
        ),
        (
            lot(),
            mass(),
            country(),
            "[0-9.]{4,10}",
            prop::option::of(text()),
            prop::option::of(text()),
            prop::option::of(text())
        )
            .prop_map(
                |(lot, mass, destination_country, commodity_code, customs, licence, remark)| {
                    Flow::Export(Export {
                        lot,
                        mass,
                        destination_country,
                        commodity_code,
                        customs_declaration: customs,
                        licence,
                        controlled_remark: remark,
                    })
                }
            ),
        (
            lot(),
            -1_000_000_000_000i64..1_000_000_000_000,
            prop::sample::select(vec![
                AdjustReason::StockTake,
                AdjustReason::CircuitHoldUp,
                AdjustReason::Loss,
                AdjustReason::Destruction,
                AdjustReason::AssayRevision,
            ]),
            prop::option::of(share()),
            prop::option::of(text()),
        )
            .prop_map(|(lot, grams, reason, grade, note)| Flow::Adjust(Adjust {
                lot,
                change: MassChange::from_grams(grams),
                reason,
                grade,
                note,
            })),
    ]
}

fn event_time() -> impl Strategy<Value = OffsetDateTime> {
    (
        946_684_800i64..4_102_444_800,
        0u32..1_000_000_000,
        -12i8..=14,
        prop::sample::select(vec![0i8, 30, 45]),
    )
        .prop_map(|(seconds, nanos, hours, minutes)| {
            let minutes = if hours < 0 { -minutes } else { minutes };
            let offset =
                UtcOffset::from_hms(hours, if hours == 14 { 0 } else { minutes }, 0).unwrap();
            (OffsetDateTime::from_unix_timestamp(seconds).unwrap()
                + time::Duration::nanoseconds(i64::from(nanos)))
            .to_offset(offset)
        })
}

fn flow_event(flow: impl Strategy<Value = Flow>) -> impl Strategy<Value = FlowEvent> {
    (
        event_time(),
        uscc(),
        prop::option::of("[A-Z0-9-]{2,40}"),
        prop::option::of(text()),
        flow,
    )
        .prop_map(
            |(event_time, enterprise, facility, reference, flow)| FlowEvent {
                event_time,
                enterprise,
                facility: facility.map(|id| FacilityId::parse(&id).unwrap()),
                reference,
                flow,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_flows_of_every_kind_round_trip(flow in flow_event(flow())) {
        round_trip(&Record::Flow(flow), &BTreeMap::new());
    }

    #[test]
    fn random_corrections_round_trip(
        original in flow_event(flow()),
        correction in flow_event(text().prop_map(|reason| Flow::Correction(Correction { corrects: CORRECTED, reason }))),
    ) {
        let ledger = BTreeMap::from([(CORRECTED, to_epcis(&Record::Flow(original), &BTreeMap::new()).unwrap())]);
        let event = round_trip(&Record::Flow(correction), &ledger);
        prop_assert_eq!(&event["eventID"], &ledger[&CORRECTED]["eventID"]);
    }
}

#[test]
fn every_example_exports_as_valid_documents() {
    let ledger = examples::ledger();
    let events: Vec<Value> = examples::records()
        .iter()
        .map(|(_, record)| to_epcis(record, &ledger).unwrap())
        .collect();
    let at = OffsetDateTime::from_unix_timestamp(1_743_465_600).unwrap();
    let document = epcis_document(events.clone(), at).unwrap();
    assert_eq!(schema::validate(&document), Ok(()));
    let query = epcis_query_document("SimpleEventQuery", None, events.clone(), at).unwrap();
    assert_eq!(schema::validate(&query), Ok(()));
    assert_eq!(
        retrace_epcis::document_hash_ids(&query).unwrap(),
        events
            .iter()
            .map(|e| e["eventID"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    );
}
