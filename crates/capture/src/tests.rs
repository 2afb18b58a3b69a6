use std::collections::BTreeSet;

use proptest::prelude::*;
use retrace_domain::act::{Act, ActRecord, Revocation};
use retrace_domain::distribution::ElementDistribution;
use retrace_domain::element::Element;
use retrace_domain::enterprise::{Designation, Enterprise, EnterpriseKind, Group, QuotaCategory};
use retrace_domain::facility::{Facility, FacilityId, FacilityKind, Process};
use retrace_domain::flow::{
    Adjust, AdjustReason, Correction, Export, Extract, Flow, FlowEvent, FlowKind, Import, NewLot,
    Opening, Receive, Ship, Transfer, Transform, TransformInput,
};
use retrace_domain::lot::{FeedOrigin, LotId};
use retrace_domain::measurement::{AssayCertificate, GradeBasis, Measurement};
use retrace_domain::product::{OreType, ProductCode};
use retrace_domain::quantity::{Mass, MassChange, Share};
use retrace_domain::record::Record;
use retrace_domain::region::Regions;
use retrace_domain::uscc::Uscc;
use serde_json::{Value, json};
use time::macros::{date, datetime};

use crate::json::FLOW_HEAD;
use crate::{CaptureError, MAX_RECORDS, parse_csv, parse_csv_rows, parse_json};

fn mine_co() -> Uscc {
    Uscc::synthesize("150206", 1)
}

fn plant_co() -> Uscc {
    Uscc::synthesize("150271", 2)
}

fn lot(owner: &Uscc, number: &str) -> LotId {
    LotId::under_uscc(owner, number).unwrap()
}

fn share(text: &str) -> Share {
    text.parse().unwrap()
}

fn new_lot(number: &str, product: &str) -> NewLot {
    NewLot {
        lot: lot(&plant_co(), number),
        product: ProductCode::parse(product).unwrap(),
        measurement: Measurement {
            wet_mass: Mass::from_kg(5_300),
            moisture: share("0.5%"),
            loss_on_ignition: Some(share("1.2%")),
            grade: share("99.5%"),
            basis: GradeBasis::Dry,
            purity: Some(share("99.6%")),
            certificate: Some(AssayCertificate {
                number: "QC-2503-17".into(),
                laboratory: "Baotou plant laboratory".into(),
                accredited: false,
            }),
        },
        distribution: Some(
            ElementDistribution::new(
                [(Element::Nd, share("75%")), (Element::Pr, share("25%"))].into(),
            )
            .unwrap(),
        ),
        feed_origin: Some(FeedOrigin::Declared),
    }
}

fn flow(flow: Flow) -> Record {
    Record::Flow(FlowEvent {
        event_time: datetime!(2025-03-20 18:00 +08:00),
        enterprise: plant_co(),
        facility: Some(FacilityId::parse("BT-SEP-1").unwrap()),
        reference: Some("SC-2503-020".into()),
        flow,
    })
}

/// One record of every flow kind, every optional field filled.
fn every_flow() -> Vec<Record> {
    let ore = lot(&mine_co(), "C2503-01");
    let oxide = lot(&plant_co(), "PN2503-01");
    let flows = vec![
        Flow::Opening(Opening {
            output: new_lot("OP-1", "OXI-PRND"),
            documents: vec!["STOCK-2024-12".into(), "QC-2024-0889".into()],
        }),
        Flow::Extract(Extract {
            output: new_lot("EX-1", "ORE-BAOTOU-MIX50"),
        }),
        Flow::Import(Import {
            output: new_lot("IM-1", "ORE-IONIC-CARB"),
            customs_declaration: "530120250000112233".into(),
            origin_country: "MM".into(),
            supplier: Some("an invented supplier".into()),
        }),
        Flow::Transform(Transform {
            process: Process::Separation,
            inputs: vec![TransformInput {
                lot: ore.clone(),
                mass: Mass::from_kg(59_800),
                feed_origin: FeedOrigin::DomesticOre,
            }],
            outputs: vec![
                new_lot("PN2503-01", "OXI-PRND"),
                new_lot("LC-1", "MIX-LACE-CARB"),
            ],
            toll_owner: Some(mine_co()),
        }),
        Flow::Ship(Ship {
            lot: oxide.clone(),
            mass: Mass::from_tonnes(3),
            to: mine_co(),
            shipment: "WB-2503-0112".into(),
            contract: Some("HT-2025-077".into()),
            invoice: Some("FP-00012345".into()),
        }),
        Flow::Receive(Receive {
            lot: ore.clone(),
            from: mine_co(),
            shipment: "WB-2503-0007".into(),
            mass: Mass::from_kg(59_800),
            grade: Some(share("49.9%")),
        }),
        Flow::Transfer(Transfer {
            lot: oxide.clone(),
            mass: Mass::from_tonnes(1),
            to: mine_co(),
            holder: Some(Uscc::synthesize("150271", 3)),
            document: "WR-2025-0045".into(),
        }),
        Flow::Export(Export {
            lot: oxide.clone(),
            mass: Mass::from_grams(500_001),
            destination_country: "JP".into(),
            commodity_code: "2846901900".into(),
            customs_declaration: Some("020220250000445566".into()),
            licence: Some("LIC-2025-1".into()),
            controlled_remark: Some("not controlled".into()),
        }),
        Flow::Adjust(Adjust {
            lot: oxide,
            change: MassChange::from_grams(-200_000),
            reason: AdjustReason::AssayRevision,
            grade: Some(share("99.1%")),
            note: Some("re-assayed".into()),
        }),
        Flow::Correction(Correction {
            corrects: 42,
            reason: "wrong lot".into(),
        }),
    ];
    flows.into_iter().map(flow).collect()
}

fn every_act() -> Vec<Record> {
    let acts = vec![
        Act::RegisterEnterprise(Enterprise {
            uscc: plant_co(),
            name_zh: "包头示例稀土分离有限公司".into(),
            name_en: Some("Baotou Example Separation Co. (invented)".into()),
            kinds: BTreeSet::from([EnterpriseKind::Separation]),
            group: Some(Group::NorthernRareEarth),
            seat: Regions::embedded().parse("150271").unwrap(),
        }),
        Act::RegisterFacility(Facility {
            id: FacilityId::parse("BYO-MINE-1").unwrap(),
            operator: mine_co(),
            name_zh: "白云鄂博示例矿".into(),
            region: Regions::embedded().parse("150206").unwrap(),
            kind: FacilityKind::Mine {
                licence: "C1500002025031110000001".into(),
                licence_valid_to: date!(2030 - 12 - 31),
                ore_type: OreType::Rock,
                area_ha: 1_200,
                capacity_per_year: Mass::from_tonnes(500_000),
            },
            permits: vec![],
        }),
        Act::Designate(Designation {
            enterprise: mine_co(),
            category: QuotaCategory::MiningRock,
            valid_from: date!(2025 - 01 - 01),
            valid_to: date!(2025 - 12 - 31),
            document: "工信部 2025-1".into(),
        }),
        Act::RevokeDesignation(Revocation {
            enterprise: mine_co(),
            category: QuotaCategory::MiningRock,
            from: date!(2025 - 07 - 01),
            document: "工信部 2025-9".into(),
        }),
    ];
    acts.into_iter()
        .map(|act| {
            Record::Act(ActRecord {
                effective: datetime!(2025-01-02 09:00 +08:00),
                official: "operator".into(),
                act,
            })
        })
        .collect()
}

fn error_of(input: Value) -> CaptureError {
    parse_json(input.to_string().as_bytes()).unwrap_err()
}

fn located(e: &CaptureError) -> (Option<usize>, Option<&str>) {
    (e.record, e.field.as_deref())
}

/// A valid extract record as JSON, to be spoiled by each error test.
fn extract_json() -> Value {
    let owner = mine_co();
    json!({
        "event_time": "2025-03-03T08:00:00+08:00",
        "enterprise": owner.as_str(),
        "facility": "BYO-MINE-1",
        "kind": "extract",
        "output": {
            "lot": lot(&owner, "C2503-01").as_str(),
            "product": "ORE-BAOTOU-MIX50",
            "measurement": {"wet_mass": "120 t", "moisture": "8%", "grade": "50.2%"}
        }
    })
}

/// A batch of five good extracts with record 3 replaced.
fn batch_with(record3: Value) -> Value {
    let mut batch = vec![extract_json(); 5];
    batch[3] = record3;
    Value::Array(batch)
}

#[test]
fn every_flow_and_act_round_trips() {
    let records: Vec<Record> = every_flow().into_iter().chain(every_act()).collect();
    let kinds: BTreeSet<String> = records.iter().map(Record::kind_token).collect();
    assert_eq!(kinds.len(), FlowKind::ALL.len() + 4, "{kinds:?}");
    let text = serde_json::to_vec(&records).unwrap();
    assert_eq!(parse_json(&text).unwrap(), records);
    // The domain's own deserializer agrees, so capture adds paths and nothing else.
    let by_serde: Vec<Record> = serde_json::from_slice(&text).unwrap();
    assert_eq!(by_serde, records);
    for record in &records {
        let one = serde_json::to_vec(record).unwrap();
        assert_eq!(parse_json(&one).unwrap(), vec![record.clone()]);
    }
    let wrapped = serde_json::to_vec(&json!({ "records": records })).unwrap();
    assert_eq!(parse_json(&wrapped).unwrap(), records);
}

#[test]
fn flow_head_keys_are_the_envelope_columns() {
    let fields: Vec<String> = match serde_json::to_value(&every_flow()[0]).unwrap() {
        Value::Object(map) => map.keys().cloned().collect(),
        _ => unreachable!("a flow serializes to an object"),
    };
    for key in FLOW_HEAD {
        assert!(fields.iter().any(|f| f == key), "{key} is not a flow field");
    }
}

#[test]
fn a_bad_grade_names_record_and_field() {
    let mut bad = extract_json();
    bad["output"]["measurement"]["grade"] = json!("45.5");
    let e = error_of(batch_with(bad));
    assert_eq!(located(&e), (Some(3), Some("output.measurement.grade")));
    assert_eq!(
        e.to_string(),
        "record 3, field output.measurement.grade: `45.5` is not a share: write a percentage \
         such as `45.5%`"
    );
    assert!(!e.is_syntax());
}

#[test]
fn a_wrong_type_names_record_and_field() {
    let mut bad = extract_json();
    bad["output"]["measurement"]["wet_mass"] = json!(120);
    let e = error_of(batch_with(bad));
    assert_eq!(located(&e), (Some(3), Some("output.measurement.wet_mass")));
    assert!(e.message.contains("invalid type"), "{e}");
}

#[test]
fn an_unknown_field_names_record_and_field() {
    let mut bad = extract_json();
    bad["output"]["measurement"]["weight"] = json!("3 t");
    let e = error_of(batch_with(bad));
    assert_eq!(located(&e), (Some(3), Some("output.measurement.weight")));
    let mut bad = extract_json();
    bad["colour"] = json!("red");
    assert_eq!(
        located(&error_of(batch_with(bad))),
        (Some(3), Some("colour"))
    );
}

#[test]
fn a_missing_field_is_named() {
    let mut bad = extract_json();
    bad["output"]["measurement"]
        .as_object_mut()
        .unwrap()
        .remove("grade");
    let e = error_of(batch_with(bad));
    assert_eq!(located(&e), (Some(3), Some("output.measurement.grade")));
    let mut bad = extract_json();
    bad.as_object_mut().unwrap().remove("kind");
    assert_eq!(located(&error_of(batch_with(bad))), (Some(3), Some("kind")));
    let mut bad = extract_json();
    bad["kind"] = json!("extraction");
    let e = error_of(batch_with(bad));
    assert_eq!(located(&e), (Some(3), Some("kind")));
    assert!(e.message.contains("`extract`"), "{e}");
}

#[test]
fn a_bad_uscc_check_character_is_named() {
    let mut bad = extract_json();
    let good = mine_co().as_str().to_owned();
    let last = if good.ends_with('0') { "1" } else { "0" };
    bad["enterprise"] = json!(format!("{}{last}", &good[..17]));
    let e = error_of(batch_with(bad));
    assert_eq!(located(&e), (Some(3), Some("enterprise")));
    assert!(e.message.contains("check character (character 18)"), "{e}");
}

#[test]
fn a_bad_region_is_named() {
    let mut act = serde_json::to_value(&every_act()[0]).unwrap();
    act["seat"] = json!("159999");
    let e = error_of(json!([act]));
    assert_eq!(located(&e), (Some(0), Some("seat")));
    let mut facility = serde_json::to_value(&every_act()[1]).unwrap();
    facility["region"] = json!("15x");
    assert_eq!(
        located(&error_of(json!([facility]))),
        (Some(0), Some("region"))
    );
}

#[test]
fn errors_inside_a_facility_type_are_found_by_value() {
    let mut facility = serde_json::to_value(&every_act()[1]).unwrap();
    facility["ore_type"] = json!("granite");
    let e = error_of(json!([facility]));
    assert_eq!(located(&e), (Some(0), Some("ore_type")));
}

#[test]
fn an_unknown_act_is_named() {
    let mut act = serde_json::to_value(&every_act()[2]).unwrap();
    act["act"] = json!("bless");
    let e = error_of(json!([act]));
    assert_eq!(located(&e), (Some(0), Some("act")));
    assert!(e.message.contains("designate"), "{e}");
}

#[test]
fn a_bad_lot_id_is_named() {
    let mut bad = extract_json();
    bad["output"]["lot"] = json!("uscc/not-a-code/10/A");
    let e = error_of(batch_with(bad));
    assert_eq!(located(&e), (Some(3), Some("output.lot")));
    let transform = serde_json::to_value(&every_flow()[3]).unwrap();
    let mut bad = transform.clone();
    bad["inputs"][0]["lot"] = json!("01/06901234567891/10/A");
    let e = error_of(json!([transform, bad]));
    assert_eq!(located(&e), (Some(1), Some("inputs[0].lot")));
    assert!(e.message.contains("check digit"), "{e}");
}

#[test]
fn a_bad_mass_is_named() {
    let ship = serde_json::to_value(&every_flow()[4]).unwrap();
    for mass in ["3", "-3 t", "3 lb", "1.0001 kg"] {
        let mut bad = ship.clone();
        bad["mass"] = json!(mass);
        let e = error_of(json!([ship, bad]));
        assert_eq!(located(&e), (Some(1), Some("mass")), "{mass}");
    }
}

#[test]
fn a_bad_distribution_names_its_field() {
    let mut bad = extract_json();
    bad["output"]["distribution"] = json!({"Nd": "75%", "Pm": "25%"});
    let e = error_of(batch_with(bad));
    assert_eq!(located(&e), (Some(3), Some("output.distribution")));
    let mut bad = extract_json();
    bad["output"]["distribution"] = json!({"Nd": "75%", "Pr": "20%"});
    let e = error_of(batch_with(bad));
    assert_eq!(located(&e), (Some(3), Some("output.distribution")));
    assert!(e.message.contains("add up"), "{e}");
}

#[test]
fn syntax_errors_name_line_and_column() {
    let e = parse_json(b"[\n  {\"kind\": \"extract\",}\n]").unwrap_err();
    assert_eq!((e.line, e.column), (Some(2), Some(22)));
    assert!(e.is_syntax());
    assert!(
        e.to_string()
            .starts_with("line 2, column 22: not valid JSON"),
        "{e}"
    );
    assert!(parse_json(b"").unwrap_err().is_syntax());
}

#[test]
fn batch_shapes_are_checked() {
    assert!(
        parse_json(b"[]")
            .unwrap_err()
            .message
            .contains("no records")
    );
    assert!(
        parse_json(b"42")
            .unwrap_err()
            .message
            .contains("not a number")
    );
    let e = parse_json(br#"{"records": [], "extra": 1}"#).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("extra"));
    let e = parse_json(br#"[1]"#).unwrap_err();
    assert_eq!(located(&e), (Some(0), None));
    let mut text = b"\xEF\xBB\xBF".to_vec();
    text.extend(extract_json().to_string().bytes());
    assert_eq!(parse_json(&text).unwrap().len(), 1);
}

#[test]
fn batches_are_limited() {
    let text = format!("[{}]", vec!["{}"; MAX_RECORDS + 1].join(","));
    let e = parse_json(text.as_bytes()).unwrap_err();
    assert_eq!(located(&e), (None, None));
    assert!(e.message.contains("at most 100000"), "{e}");
}

const CSV_HEADER: &str = "kind,event_time,enterprise,facility,lot,product,wet_mass,grade,distribution,feed_origin,mass,to,shipment,process,group";

fn csv_with(rows: &[String]) -> String {
    let mut text = CSV_HEADER.to_owned();
    for row in rows {
        text.push('\n');
        text.push_str(row);
    }
    text
}

fn extract_row(number: &str, mass: &str) -> String {
    let owner = mine_co();
    format!(
        "extract,2025-03-03T08:00:00+08:00,{owner},BYO-MINE-1,{},ORE-BAOTOU-MIX50,{mass},50%,,,,,,,",
        lot(&owner, number)
    )
}

#[test]
fn csv_rows_become_the_records_json_gives() {
    let owner = mine_co();
    let text = csv_with(&[
        extract_row("C-1", "120 t"),
        format!(
            "ship,2025-03-04T10:00:00+08:00,{owner},,{},,,,,,60 t,{},WB-1,,",
            lot(&owner, "C-1"),
            plant_co()
        ),
    ]);
    let records = parse_csv(text.as_bytes()).unwrap();
    let expected = parse_json(
        json!([
            {
                "event_time": "2025-03-03T08:00:00+08:00", "enterprise": owner.as_str(),
                "facility": "BYO-MINE-1", "kind": "extract",
                "output": {
                    "lot": lot(&owner, "C-1").as_str(), "product": "ORE-BAOTOU-MIX50",
                    "measurement": {"wet_mass": "120 t", "grade": "50%"}
                }
            },
            {
                "event_time": "2025-03-04T10:00:00+08:00", "enterprise": owner.as_str(),
                "kind": "ship", "lot": lot(&owner, "C-1").as_str(), "mass": "60 t",
                "to": plant_co().as_str(), "shipment": "WB-1"
            }
        ])
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    assert_eq!(records, expected);
}

#[test]
fn a_bad_csv_row_names_row_and_column() {
    let text = csv_with(&[
        extract_row("C-1", "120 t"),
        extract_row("C-2", "12O t"),
        extract_row("C-3", "1 t"),
    ]);
    let e = parse_csv(text.as_bytes()).unwrap_err();
    assert_eq!((e.row, e.field.as_deref()), (Some(2), Some("wet_mass")));
    assert!(
        e.to_string()
            .starts_with("row 2, column wet_mass: `12O t` is not a mass"),
        "{e}"
    );
    assert!(!e.is_syntax());

    let missing = csv_with(&[extract_row("C-1", "")]);
    let e = parse_csv(missing.as_bytes()).unwrap_err();
    assert_eq!((e.row, e.field.as_deref()), (Some(1), Some("wet_mass")));
    assert!(e.message.contains("required for a extract row"), "{e}");

    let owner = mine_co();
    let stray = csv_with(&[format!(
        "extract,2025-03-03T08:00:00+08:00,{owner},BYO-MINE-1,{},ORE-BAOTOU-MIX50,1 t,50%,,,,,WB-1,,",
        lot(&owner, "C-1")
    )]);
    let e = parse_csv(stray.as_bytes()).unwrap_err();
    assert_eq!((e.row, e.field.as_deref()), (Some(1), Some("shipment")));
    assert!(e.message.contains("does not apply"), "{e}");
}

#[test]
fn csv_header_and_syntax_errors() {
    let e = parse_csv("kind,weight\nextract,1 t".as_bytes()).unwrap_err();
    assert_eq!((e.row, e.field.as_deref()), (None, Some("weight")));
    let e = parse_csv("event_time\n2025-03-03T08:00:00+08:00".as_bytes()).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("kind"));
    let e = parse_csv("kind,lot\nextract,a,b".as_bytes()).unwrap_err();
    assert_eq!((e.row, e.line), (Some(1), Some(2)));
    assert!(e.is_syntax());
    let e = parse_csv(b"kind,lot\nextract,\xff".as_slice()).unwrap_err();
    assert!(e.message.contains("UTF-8"), "{e}");
    assert!(
        parse_csv("".as_bytes())
            .unwrap_err()
            .message
            .contains("empty")
    );
    assert!(
        parse_csv("kind\n".as_bytes())
            .unwrap_err()
            .message
            .contains("no records")
    );
    let e = parse_csv("kind\ntransform".as_bytes()).unwrap_err();
    assert!(e.message.contains("transform_input"), "{e}");
}

#[test]
fn csv_skips_blank_rows_and_a_byte_order_mark() {
    let text = format!(
        "\u{feff}{}\n,,,,,,,,,,,,,,",
        csv_with(&[extract_row("C-1", "1 t")])
    );
    assert_eq!(parse_csv(text.as_bytes()).unwrap().len(), 1);
}

fn transform_row(kind: &str, cells: &str, group: &str, time: &str) -> String {
    format!(
        "{kind},2025-03-20T{time}+08:00,{},BT-SEP-1,{cells},separation,{group}",
        plant_co()
    )
}

#[test]
fn a_transform_group_becomes_one_record() {
    let ore = lot(&mine_co(), "C-1");
    let out = |n: &str| lot(&plant_co(), n);
    let text = csv_with(&[
        extract_row("C-0", "1 t"),
        transform_row(
            "transform_input",
            &format!("{ore},,,,,domestic_ore,59.8 t,,"),
            "S1",
            "18:00:00",
        ),
        extract_row("C-9", "2 t"),
        transform_row(
            "transform_output",
            &format!("{},OXI-PRND,5.3 t,99.5%,Nd:75%;Pr:25%,,,,", out("PN-1")),
            "S1",
            "18:00:00",
        ),
        transform_row(
            "transform_output",
            &format!("{},MIX-LACE-CARB,46 t,45%,La:34%;Ce:66%,,,,", out("LC-1")),
            "S1",
            "18:00:00",
        ),
    ]);
    let rows = parse_csv_rows(text.as_bytes()).unwrap();
    assert_eq!(rows.iter().map(|r| r.row).collect::<Vec<_>>(), [1, 2, 3]);
    let Record::Flow(FlowEvent {
        flow: Flow::Transform(t),
        event_time,
        ..
    }) = &rows[1].record
    else {
        panic!("expected a transform, got {:?}", rows[1].record);
    };
    assert_eq!(*event_time, datetime!(2025-03-20 18:00 +08:00));
    assert_eq!(t.process, Process::Separation);
    assert_eq!(t.inputs.len(), 1);
    assert_eq!(t.inputs[0].lot, ore);
    assert_eq!(t.outputs.len(), 2);
    assert_eq!(t.outputs[1].lot, out("LC-1"));
}

#[test]
fn store_fields_are_located_by_row_and_column() {
    let ore = lot(&mine_co(), "C-1");
    let output = |n: &str| {
        transform_row(
            "transform_output",
            &format!("{},OXI-PRND,1 t,99%,Nd:100%,,,,", lot(&plant_co(), n)),
            "S1",
            "18:00:00",
        )
    };
    let text = csv_with(&[
        extract_row("C-0", "1 t"),
        output("PN-1"),
        transform_row(
            "transform_input",
            &format!("{ore},,,,,domestic_ore,1 t,,"),
            "S1",
            "18:00:00",
        ),
        output("PN-2"),
    ]);
    let rows = parse_csv_rows(text.as_bytes()).unwrap();
    let extract = &rows[0];
    assert_eq!(
        extract.locate("output.measurement.wet_mass"),
        (1, Some("wet_mass"))
    );
    assert_eq!(extract.locate("output.product"), (1, Some("product")));
    assert_eq!(extract.locate("event_time"), (1, Some("event_time")));
    let transform = &rows[1];
    assert_eq!(transform.row, 2);
    assert_eq!(transform.locate("inputs[0].lot"), (3, Some("lot")));
    assert_eq!(transform.locate("inputs[0].mass"), (3, Some("mass")));
    assert_eq!(
        transform.locate("outputs[1].measurement.wet_mass"),
        (4, Some("wet_mass"))
    );
    assert_eq!(
        transform.locate("outputs[0].distribution"),
        (2, Some("distribution"))
    );
    assert_eq!(transform.locate("outputs[0]"), (2, Some("lot")));
    assert_eq!(transform.locate("process"), (2, Some("process")));
    assert_eq!(transform.locate("inputs"), (2, Some("group")));
    assert_eq!(transform.locate("enterprise"), (2, Some("enterprise")));
}

#[test]
fn a_transform_group_must_agree_and_be_whole() {
    let ore = lot(&mine_co(), "C-1");
    let input = |group: &str, time: &str| {
        transform_row(
            "transform_input",
            &format!("{ore},,,,,domestic_ore,1 t,,"),
            group,
            time,
        )
    };
    let output = |group: &str, time: &str| {
        transform_row(
            "transform_output",
            &format!("{},OXI-PRND,1 t,99%,Nd:100%,,,,", lot(&plant_co(), "PN-1")),
            group,
            time,
        )
    };
    let e = parse_csv(csv_with(&[input("S1", "18:00:00"), output("S1", "19:00:00")]).as_bytes())
        .unwrap_err();
    assert_eq!((e.row, e.field.as_deref()), (Some(2), Some("event_time")));
    let e = parse_csv(csv_with(&[input("S1", "18:00:00")]).as_bytes()).unwrap_err();
    assert_eq!((e.row, e.field.as_deref()), (Some(1), Some("group")));
    assert!(e.message.contains("no transform_output"), "{e}");
    let e = parse_csv(csv_with(&[input("", "18:00:00")]).as_bytes()).unwrap_err();
    assert_eq!((e.row, e.field.as_deref()), (Some(1), Some("group")));
    let bad = output("S1", "18:00:00").replace(",1 t,", ",1 tonne,");
    let e = parse_csv(csv_with(&[input("S1", "18:00:00"), bad]).as_bytes()).unwrap_err();
    assert_eq!((e.row, e.field.as_deref()), (Some(2), Some("wet_mass")));
    let bad = input("S1", "18:00:00").replace(",1 t,", ",1 tonne,");
    let e = parse_csv(csv_with(&[bad]).as_bytes()).unwrap_err();
    assert_eq!((e.row, e.field.as_deref()), (Some(1), Some("mass")));
}

#[test]
fn csv_special_cells() {
    let owner = plant_co();
    let header = "kind,event_time,enterprise,lot,product,wet_mass,grade,distribution,feed_origin,document,corrects,reason";
    let opening = format!(
        "opening,2025-03-01T00:00:00+08:00,{owner},{},OXI-PRND,2 t,99%,Nd:75%; Pr:25%,declared,A-1; B-2,,",
        lot(&owner, "OP-1")
    );
    let correction = format!("correction,2025-03-02T00:00:00+08:00,{owner},,,,,,,,42,wrong lot");
    let records = parse_csv(format!("{header}\n{opening}\n{correction}").as_bytes()).unwrap();
    let Record::Flow(FlowEvent {
        flow: Flow::Opening(o),
        ..
    }) = &records[0]
    else {
        panic!("expected an opening");
    };
    assert_eq!(o.documents, ["A-1", "B-2"]);
    assert_eq!(
        o.output.distribution.as_ref().unwrap().share(Element::Pr),
        share("25%")
    );
    assert!(matches!(
        &records[1],
        Record::Flow(FlowEvent {
            flow: Flow::Correction(Correction { corrects: 42, .. }),
            ..
        })
    ));
    let bad = correction.replace(",42,", ",forty-two,");
    let e = parse_csv(format!("{header}\n{bad}").as_bytes()).unwrap_err();
    assert_eq!((e.row, e.field.as_deref()), (Some(1), Some("corrects")));
    let bad = opening.replace("Nd:75%; Pr:25%", "Nd 75%");
    let e = parse_csv(format!("{header}\n{bad}").as_bytes()).unwrap_err();
    assert_eq!((e.row, e.field.as_deref()), (Some(1), Some("distribution")));
}

#[test]
fn the_example_file_parses() {
    let text = include_str!("../examples/flows.csv");
    let records = parse_csv(text.as_bytes()).unwrap();
    let kinds: BTreeSet<String> = records.iter().map(Record::kind_token).collect();
    for kind in [
        "opening",
        "extract",
        "import",
        "transform",
        "ship",
        "receive",
        "transfer",
        "export",
        "adjust",
    ] {
        assert!(
            kinds.contains(&format!("flow.{kind}")),
            "{kind} missing from the example"
        );
    }
}

/// The JSON example in the README is a batch this crate accepts.
#[test]
fn the_readme_example_parses() {
    let readme = include_str!("../../../README.md");
    let block = readme
        .split("```json\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the README has a JSON example");
    let records = parse_json(block.as_bytes()).expect("the README example parses");
    assert_eq!(records.len(), 2);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_json(&bytes);
        let _ = parse_csv(bytes.as_slice());
    }

    #[test]
    fn arbitrary_csv_cells_never_panic(cells in proptest::collection::vec("[a-z0-9:;%./ -]{0,12}", 15)) {
        let text = format!("{CSV_HEADER}\n{}", cells.join(","));
        let _ = parse_csv(text.as_bytes());
        let mut kinds = cells.clone();
        kinds[0] = "transform_output".into();
        let _ = parse_csv(format!("{CSV_HEADER}\n{}", kinds.join(",")).as_bytes());
    }

    #[test]
    fn arbitrary_json_values_never_panic(text in "[\\[\\]{}\":,a-z0-9 ]{0,64}") {
        let _ = parse_json(text.as_bytes());
    }
}
