//! The rules of DESIGN.md §2, record by record: what is refused, what is
//! recorded and flagged, and what clears a flag again.

use retrace_domain::memory::MemoryState;
use retrace_domain::project::{Projector, RefusalReason};
use retrace_domain::record::Record;
use retrace_domain::rules::Rule;
use retrace_domain::uscc::Uscc;
use serde_json::{Value, json};
use time::macros::datetime;

const NOW: time::OffsetDateTime = datetime!(2026-01-15 12:00 +08:00);

struct World {
    /// Separations run so far per month, so that each gets lots of its own.
    runs: std::collections::HashMap<String, u32>,
    state: MemoryState,
    projector: Projector,
    miner: Uscc,
    separator: Uscc,
    smelter: Uscc,
    exporter: Uscc,
    recycler: Uscc,
}

fn record(value: Value) -> Record {
    serde_json::from_value(value).expect("test record parses")
}

impl World {
    fn new() -> World {
        let miner = Uscc::synthesize("150206", 1);
        let separator = Uscc::synthesize("150271", 2);
        let smelter = Uscc::synthesize("150200", 3);
        let exporter = Uscc::synthesize("150200", 4);
        let recycler = Uscc::synthesize("360700", 5);
        let mut w = World {
            runs: std::collections::HashMap::new(),
            state: MemoryState::new(),
            projector: Projector::default(),
            miner,
            separator,
            smelter,
            exporter,
            recycler,
        };
        let act = |act: Value| {
            let mut v =
                json!({"effective": "2025-01-01T00:00:00+08:00", "official": "ministry-test"});
            v.as_object_mut()
                .unwrap()
                .extend(act.as_object().unwrap().clone());
            v
        };
        let enterprises = [
            (&w.miner, "mining", Some("northern_rare_earth"), "150206"),
            (
                &w.separator,
                "separation",
                Some("northern_rare_earth"),
                "150271",
            ),
            (&w.smelter, "metal_smelting", None, "1502"),
            (&w.exporter, "exporter", None, "1502"),
            (&w.recycler, "recycling", None, "3607"),
        ];
        let mut setup = Vec::new();
        for (uscc, kind, group, seat) in enterprises {
            let mut e = json!({"act": "register_enterprise", "uscc": uscc, "name_zh": "测试（合成）", "kinds": [kind], "seat": seat});
            if let Some(g) = group {
                e["group"] = json!(g);
            }
            setup.push(act(e));
        }
        setup.push(act(json!({"act": "register_facility", "id": "MINE-1", "operator": w.miner, "name_zh": "矿", "region": "150206",
            "type": "mine", "licence": "C1500002025", "licence_valid_to": "2030-12-31", "ore_type": "rock", "area_ha": 4800, "capacity_per_year": "100000 t"})));
        setup.push(act(json!({"act": "register_facility", "id": "PLANT-S", "operator": w.separator, "name_zh": "分离厂", "region": "150271",
            "type": "plant", "processes": ["cracking", "separation"], "capacity_per_year": "50000 t"})));
        setup.push(act(json!({"act": "register_facility", "id": "PLANT-T", "operator": w.smelter, "name_zh": "金属厂", "region": "150202",
            "type": "plant", "processes": ["metal_smelting"], "capacity_per_year": "5000 t"})));
        setup.push(act(json!({"act": "register_facility", "id": "PLANT-R", "operator": w.recycler, "name_zh": "回收厂", "region": "360702",
            "type": "plant", "processes": ["recycling"], "capacity_per_year": "5000 t"})));
        setup.push(act(json!({"act": "designate", "enterprise": w.miner, "category": "mining_rock", "valid_from": "2025-01-01", "valid_to": "2025-06-30", "document": "工信部〔2025〕1号"})));
        setup.push(act(json!({"act": "designate", "enterprise": w.separator, "category": "separation", "valid_from": "2025-01-01", "valid_to": "2025-12-31", "document": "工信部〔2025〕1号"})));
        for r in setup {
            w.ok(r);
        }
        w
    }

    fn ok(&mut self, v: Value) -> u64 {
        let r = record(v);
        self.state
            .record(&self.projector, NOW, &r)
            .unwrap_or_else(|e| panic!("refused: {e}"))
    }

    fn refused(&mut self, v: Value) -> (RefusalReason, String) {
        let r = record(v);
        match self.state.record(&self.projector, NOW, &r) {
            Err(retrace_domain::project::ProjectError::Refused(r)) => (r.reason, r.field),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    fn lot(&self, owner: &Uscc, n: &str) -> String {
        format!("uscc/{owner}/10/{n}")
    }

    fn flags(&self, rule: Rule) -> Vec<String> {
        self.state
            .flags()
            .values()
            .filter(|f| f.rule == rule)
            .map(|f| f.key.clone())
            .collect()
    }

    fn extract(&mut self, n: &str, when: &str, tonnes: u32) -> String {
        let lot = self.lot(&self.miner.clone(), n);
        self.ok(json!({"kind": "extract", "event_time": when, "enterprise": self.miner, "facility": "MINE-1",
            "output": {"lot": lot, "product": "ORE-BAOTOU-MIX50",
                "measurement": {"wet_mass": format!("{tonnes} t"), "grade": "50%"},
                "distribution": {"Ce": "50%", "La": "25%", "Nd": "17%", "Pr": "5%", "Sm": "1.5%", "Gd": "1%", "Y": "0.5%"}}}));
        lot
    }

    fn ship(
        &mut self,
        from: &Uscc,
        to: &Uscc,
        lot: &str,
        mass: &str,
        number: &str,
        when: &str,
    ) -> u64 {
        self.ok(json!({"kind": "ship", "event_time": when, "enterprise": from, "lot": lot, "mass": mass, "to": to, "shipment": number}))
    }

    fn receive(
        &mut self,
        at: &Uscc,
        from: &Uscc,
        lot: &str,
        mass: &str,
        number: &str,
        when: &str,
    ) -> u64 {
        self.ok(json!({"kind": "receive", "event_time": when, "enterprise": at, "lot": lot, "mass": mass, "from": from, "shipment": number}))
    }
}

#[test]
fn a_clean_chain_raises_nothing() {
    let mut w = World::new();
    separate(&mut w, "03", "24.6 t", None);
    assert!(w.state.flags().is_empty(), "{:#?}", w.state.flags());
    let sep = w.separator.clone();
    let nd = w.lot(&sep, "ND-03");
    assert_eq!(w.state.stock(&nd.parse().unwrap(), &sep), 8_400_000);
    let ore = w.lot(&w.miner.clone(), "03-A");
    assert_eq!(w.state.stock(&ore.parse().unwrap(), &sep), 0);
    assert_eq!(w.state.stock(&ore.parse().unwrap(), &w.miner.clone()), 0);
}

#[test]
fn refusals_name_the_field_and_reason() {
    let mut w = World::new();
    let miner = w.miner.clone();
    let ore = w.extract("ORE-1", "2025-03-01T09:00:00+08:00", 10);
    let unknown = w.lot(&miner, "NOPE");
    let sep = w.separator.clone();
    assert_eq!(w.refused(json!({"kind": "ship", "event_time": "2025-03-02T09:00:00+08:00", "enterprise": miner, "lot": unknown, "mass": "1 t", "to": sep, "shipment": "X"})), (RefusalReason::Unknown, "lot".into()));
    assert_eq!(w.refused(json!({"kind": "ship", "event_time": "2026-02-02T09:00:00+08:00", "enterprise": miner, "lot": ore, "mass": "1 t", "to": sep, "shipment": "X"})), (RefusalReason::Future, "event_time".into()));
    assert_eq!(w.refused(json!({"kind": "ship", "event_time": "2025-03-02T09:00:00+08:00", "enterprise": miner, "lot": ore, "mass": "0 t", "to": sep, "shipment": "X"})), (RefusalReason::OutOfRange, "mass".into()));
    let stranger = Uscc::synthesize("110101", 99);
    assert_eq!(w.refused(json!({"kind": "ship", "event_time": "2025-03-02T09:00:00+08:00", "enterprise": miner, "lot": ore, "mass": "1 t", "to": stranger, "shipment": "X"})), (RefusalReason::Unknown, "to".into()));
    assert_eq!(
        w.refused(json!({"kind": "extract", "event_time": "2025-03-01T10:00:00+08:00", "enterprise": miner, "facility": "MINE-1",
            "output": {"lot": ore, "product": "ORE-BAOTOU-MIX50", "measurement": {"wet_mass": "1 t", "grade": "50%"}}})),
        (RefusalReason::OutOfRange, "output.lot".into())
    );
    assert_eq!(
        w.refused(json!({"kind": "extract", "event_time": "2025-03-01T10:00:00+08:00", "enterprise": miner, "facility": "PLANT-S",
            "output": {"lot": w.lot(&miner, "ORE-2"), "product": "ORE-BAOTOU-MIX50", "measurement": {"wet_mass": "1 t", "grade": "50%"}}})),
        (RefusalReason::Unknown, "facility".into())
    );
}

#[test]
fn stock_going_negative_in_event_time_order_is_flagged_even_when_back_dated() {
    let mut w = World::new();
    let (miner, sep) = (w.miner.clone(), w.separator.clone());
    let ore = w.extract("ORE-1", "2025-03-05T09:00:00+08:00", 10);
    w.ship(
        &miner,
        &sep,
        &ore,
        "4 t",
        "WB-1",
        "2025-03-06T09:00:00+08:00",
    );
    assert!(w.flags(Rule::NegativeStock).is_empty());
    w.ship(
        &miner,
        &sep,
        &ore,
        "3 t",
        "WB-0",
        "2025-03-04T09:00:00+08:00",
    );
    assert_eq!(
        w.flags(Rule::NegativeStock),
        vec![format!("negative_stock:{ore}:{miner}")]
    );
}

#[test]
fn a_receive_without_its_ship_is_flagged_until_the_ship_arrives() {
    let mut w = World::new();
    let (miner, sep) = (w.miner.clone(), w.separator.clone());
    let ore = w.extract("ORE-1", "2025-03-01T09:00:00+08:00", 10);
    w.receive(
        &sep,
        &miner,
        &ore,
        "10 t",
        "WB-9",
        "2025-03-03T09:00:00+08:00",
    );
    assert_eq!(w.flags(Rule::ReceiveWithoutShip).len(), 1);
    w.ship(
        &miner,
        &sep,
        &ore,
        "10 t",
        "WB-9",
        "2025-03-02T09:00:00+08:00",
    );
    assert!(w.flags(Rule::ReceiveWithoutShip).is_empty());
    assert!(w.flags(Rule::TransferMismatch).is_empty());
}

#[test]
fn a_short_receipt_beyond_tolerance_is_flagged() {
    let mut w = World::new();
    let (miner, sep) = (w.miner.clone(), w.separator.clone());
    let ore = w.extract("ORE-1", "2025-03-01T09:00:00+08:00", 100);
    w.ship(
        &miner,
        &sep,
        &ore,
        "50 t",
        "WB-1",
        "2025-03-02T09:00:00+08:00",
    );
    w.receive(
        &sep,
        &miner,
        &ore,
        "49.8 t",
        "WB-1",
        "2025-03-03T09:00:00+08:00",
    );
    assert!(
        w.flags(Rule::TransferMismatch).is_empty(),
        "0.4 % is within tolerance"
    );
    w.ship(
        &miner,
        &sep,
        &ore,
        "50 t",
        "WB-2",
        "2025-03-02T10:00:00+08:00",
    );
    w.receive(
        &sep,
        &miner,
        &ore,
        "49.4 t",
        "WB-2",
        "2025-03-03T10:00:00+08:00",
    );
    assert_eq!(w.flags(Rule::TransferMismatch).len(), 1);
}

#[test]
fn extraction_after_the_designation_expired_is_one_flag_per_mine_and_month() {
    let mut w = World::new();
    w.extract("ORE-1", "2025-06-30T09:00:00+08:00", 10);
    assert!(w.flags(Rule::UndesignatedExtraction).is_empty());
    w.extract("ORE-2", "2025-07-01T09:00:00+08:00", 10);
    w.extract("ORE-3", "2025-07-02T09:00:00+08:00", 10);
    w.extract("ORE-4", "2025-08-01T09:00:00+08:00", 10);
    let keys = w.flags(Rule::UndesignatedExtraction);
    assert_eq!(keys.len(), 2, "July and August: {keys:?}");
    let july = w
        .state
        .flags()
        .values()
        .find(|f| f.month == "2025-07")
        .cloned()
        .expect("July flag");
    assert_eq!(july.occurrences, 2);
    assert_eq!(july.entries.len(), 2);
    let miner = w.miner.clone();
    for entry in july.entries {
        w.ok(json!({"kind": "correction", "event_time": "2025-07-05T09:00:00+08:00", "enterprise": miner, "corrects": entry, "reason": "recorded at the wrong mine"}));
    }
    assert_eq!(
        w.flags(Rule::UndesignatedExtraction).len(),
        1,
        "July withdrawn when both records are corrected"
    );
}

/// Ore of 50 t REO (Ce 25, La 12.5, Nd 8.5, Pr 2.5, Sm 0.75, Gd 0.5, Y 0.25)
/// separated in one month; `extra` outputs are added to a clean 96.9 % split.
fn separate(w: &mut World, month_of_year: &str, scale_ce: &str, extra: Option<(&str, &str)>) {
    let (miner, sep) = (w.miner.clone(), w.separator.clone());
    let run = w.runs.entry(month_of_year.to_owned()).or_insert(0);
    *run += 1;
    // The first run of a month names its lots after the month alone.
    let month = if *run == 1 {
        month_of_year.to_owned()
    } else {
        format!("{month_of_year}.{run}")
    };
    let day = |d: &str| format!("2025-{month_of_year}-{d}");
    let ore = w.extract(&format!("{month}-A"), &day("01T09:00:00+08:00"), 100);
    w.ship(
        &miner,
        &sep,
        &ore,
        "100 t",
        &format!("WB-{month}"),
        &day("02T09:00:00+08:00"),
    );
    w.receive(
        &sep,
        &miner,
        &ore,
        "100 t",
        &format!("WB-{month}"),
        &day("03T09:00:00+08:00"),
    );
    let out = |w: &World, n: &str, product: &str, mass: &str, element: &str| {
        json!({"lot": w.lot(&sep, &format!("{n}-{month}")), "product": product,
            "measurement": {"wet_mass": mass, "grade": "100%"}, "distribution": {element: "100%"}})
    };
    let mut outputs = vec![
        out(w, "ND", "OXI-ND", "8.4 t", "Nd"),
        out(w, "PR", "OXI-PR", "2.45 t", "Pr"),
        out(w, "CE", "OXI-CE", scale_ce, "Ce"),
        out(w, "LA", "OXI-LA", "12.3 t", "La"),
        out(w, "SM", "OXI-SM", "0.7 t", "Sm"),
    ];
    if let Some((mass, element)) = extra {
        outputs.push(out(w, "X", "OXI-DY", mass, element));
    }
    w.ok(json!({"kind": "transform", "event_time": day("05T09:00:00+08:00"), "enterprise": sep, "facility": "PLANT-S",
        "process": "separation", "inputs": [{"lot": ore, "mass": "100 t", "feed_origin": "domestic_ore"}], "outputs": outputs}));
}

#[test]
fn recovery_outside_its_band_is_flagged_per_facility_and_month() {
    let mut w = World::new();
    separate(&mut w, "03", "24.6 t", None);
    assert!(
        w.flags(Rule::RecoveryOutOfBand).is_empty(),
        "{:#?}",
        w.state.flags()
    );
    assert!(w.flags(Rule::ElementImbalance).is_empty());
    separate(&mut w, "04", "27.6 t", None);
    let keys = w.flags(Rule::RecoveryOutOfBand);
    assert_eq!(
        keys,
        vec![format!("recovery_out_of_band:PLANT-S:separation:2025-04")],
        "103 % in April"
    );
    separate(&mut w, "06", "20 t", None);
    assert_eq!(
        w.flags(Rule::RecoveryOutOfBand).len(),
        2,
        "87.7 % in June is below the band"
    );
    separate(&mut w, "06", "20 t", None);
    let june = w
        .state
        .flags()
        .values()
        .find(|f| f.rule == Rule::RecoveryOutOfBand && f.month == "2025-06")
        .expect("June is flagged");
    assert_eq!(
        june.entries.len(),
        2,
        "both of June's separations stand behind the flag"
    );
}

#[test]
fn an_element_coming_out_of_nowhere_is_flagged() {
    let mut w = World::new();
    separate(&mut w, "05", "24.6 t", Some(("0.5 t", "Dy")));
    assert!(w.flags(Rule::RecoveryOutOfBand).is_empty());
    assert_eq!(
        w.flags(Rule::ElementImbalance).len(),
        1,
        "Dy leaves a plant that took none in"
    );
}

#[test]
fn exporting_controlled_content_needs_a_licence() {
    let mut w = World::new();
    let (sep, exporter) = (w.separator.clone(), w.exporter.clone());
    let dy = w.lot(&sep, "DY-OPEN");
    w.ok(json!({"kind": "opening", "event_time": "2025-01-02T09:00:00+08:00", "enterprise": sep,
        "output": {"lot": dy, "product": "OXI-DY", "measurement": {"wet_mass": "2 t", "grade": "99.5%"}, "distribution": {"Dy": "100%"}, "feed_origin": "declared"}}));
    w.ship(
        &sep,
        &exporter,
        &dy,
        "2 t",
        "WB-DY",
        "2025-05-02T09:00:00+08:00",
    );
    w.receive(
        &exporter,
        &sep,
        &dy,
        "2 t",
        "WB-DY",
        "2025-05-03T09:00:00+08:00",
    );
    let base = json!({"kind": "export", "event_time": "2025-05-10T09:00:00+08:00", "enterprise": exporter, "lot": dy, "mass": "1 t",
        "destination_country": "JP", "commodity_code": "2846901100"});
    let mut licensed = base.clone();
    licensed["licence"] = json!("LIC-2025-001");
    w.ok(licensed);
    assert!(w.flags(Rule::ExportWithoutLicence).is_empty());
    let unlicensed = w.ok(base);
    assert_eq!(
        w.flags(Rule::ExportWithoutLicence),
        vec![format!("export_without_licence:{unlicensed}")]
    );
    w.ok(json!({"kind": "correction", "event_time": "2025-05-11T09:00:00+08:00", "enterprise": exporter, "corrects": unlicensed, "reason": "licence number omitted; re-recorded"}));
    assert!(w.flags(Rule::ExportWithoutLicence).is_empty());
    assert_eq!(w.state.stock(&dy.parse().unwrap(), &exporter), 1_000_000);
}

#[test]
fn ionic_signature_declared_as_scrap_is_flagged() {
    let mut w = World::new();
    let rec = w.recycler.clone();
    let scrap = w.lot(&rec, "SCRAP-1");
    w.ok(json!({"kind": "opening", "event_time": "2025-01-02T09:00:00+08:00", "enterprise": rec,
        "output": {"lot": scrap, "product": "SCR-NDFEB-SWARF", "measurement": {"wet_mass": "5 t", "grade": "40%"},
            "distribution": {"Y": "40%", "Dy": "6%", "Tb": "1%", "Nd": "20%", "La": "20%", "Ce": "13%"}, "feed_origin": "recycled_scrap"}}));
    assert_eq!(w.flags(Rule::FingerprintMismatch).len(), 1);
    w.ok(json!({"kind": "transform", "event_time": "2025-02-05T09:00:00+08:00", "enterprise": rec, "facility": "PLANT-R",
        "process": "recycling", "inputs": [{"lot": scrap, "mass": "5 t", "feed_origin": "recycled_scrap"}],
        "outputs": [{"lot": w.lot(&rec, "REC-1"), "product": "MIX-HREE", "measurement": {"wet_mass": "1.8 t", "grade": "100%"},
            "distribution": {"Y": "40%", "Dy": "6%", "Tb": "1%", "Nd": "20%", "La": "20%", "Ce": "13%"}}]}));
    assert_eq!(w.flags(Rule::FingerprintMismatch).len(), 2);
}

#[test]
fn metal_output_converts_to_reo_with_oxide_factors() {
    let mut w = World::new();
    let (sep, smelter) = (w.separator.clone(), w.smelter.clone());
    let nd = w.lot(&sep, "ND-OPEN");
    w.ok(json!({"kind": "opening", "event_time": "2025-01-02T09:00:00+08:00", "enterprise": sep,
        "output": {"lot": nd, "product": "OXI-ND", "measurement": {"wet_mass": "10 t", "grade": "100%"}, "distribution": {"Nd": "100%"}}}));
    w.ship(
        &sep,
        &smelter,
        &nd,
        "10 t",
        "WB-ND",
        "2025-02-02T09:00:00+08:00",
    );
    w.receive(
        &smelter,
        &sep,
        &nd,
        "10 t",
        "WB-ND",
        "2025-02-03T09:00:00+08:00",
    );
    // 10 t Nd2O3 holds 8.574 t Nd; 96 % of it as metal is 8.231 t, back to 9.6 t REO.
    w.ok(json!({"kind": "transform", "event_time": "2025-02-05T09:00:00+08:00", "enterprise": smelter, "facility": "PLANT-T",
        "process": "metal_smelting", "inputs": [{"lot": nd, "mass": "10 t", "feed_origin": "declared"}],
        "outputs": [{"lot": w.lot(&smelter, "NDM-1"), "product": "MET-ND", "measurement": {"wet_mass": "8.231 t", "grade": "100%"}, "distribution": {"Nd": "100%"}}]}));
    assert!(
        w.flags(Rule::RecoveryOutOfBand).is_empty(),
        "{:#?}",
        w.state.flags()
    );
    assert!(w.flags(Rule::OriginMismatch).is_empty());
}
