//! The conformance suite: every storage behaviour, run against each store
//! (DESIGN.md §3: "one conformance suite runs against both").
//!
//! A small hand-made industry — two groups' enterprises in different
//! provinces, a mine, a separation plant, a metal smelter, a magnet maker, an
//! exporter and a warehouse — records acts, then flows of every kind, with
//! breaches planted where a regulator would look for them. The checks hold a
//! store to exact answers about it.
//!
//! The suite is meant for tests: each check panics with a message naming what
//! differs. [`run_all`] needs an empty store whose clock reads after
//! 2025-06-30 (the fixture's flows lie in May 2025, its corrections in June);
//! the checks after [`append_fixture`] expect the state it leaves and run in
//! the order [`run_all`] calls them. Stores that keep identities too run
//! [`identity::run_identity`] after it.

pub mod identity;

use std::collections::{BTreeMap, BTreeSet};

use retrace_domain::act::{Act, ActRecord};
use retrace_domain::distribution::ElementDistribution;
use retrace_domain::element::Element;
use retrace_domain::enterprise::{Designation, Enterprise, EnterpriseKind, Group, QuotaCategory};
use retrace_domain::facility::{Facility, FacilityId, FacilityKind, Process};
use retrace_domain::flow::{
    Adjust, AdjustReason, Correction, Export, Extract, Flow, FlowEvent, Import, NewLot, Opening,
    Receive, Ship, Transfer, Transform, TransformInput,
};
use retrace_domain::lot::{FeedOrigin, LotId};
use retrace_domain::measurement::Measurement;
use retrace_domain::product::{OreType, ProductCode};
use retrace_domain::project::RefusalReason;
use retrace_domain::quantity::{Mass, MassChange, Share};
use retrace_domain::record::Record;
use retrace_domain::region::RegionCode;
use retrace_domain::rules::Rule;
use retrace_domain::uscc::Uscc;
use retrace_ledger::checkpoint::{LogVerifier, SignedCheckpoint};
use retrace_ledger::hash::leaf_hash;
use retrace_ledger::proof::{verify_consistency, verify_inclusion};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::StoreError;
use crate::model::{
    Appended, DesignationFilter, EnterpriseFilter, EntryFilter, FacilityFilter, FlagFilter,
    MAX_PAGE, PageRequest, StockFilter,
};
use crate::scope::{Authority, Scope};
use crate::store::Store;
use crate::trace::{Direction, EdgeBasis, TraceEdge, TraceNode};
use crate::write::WriteContext;

/// The enterprises of the fixture. All codes are synthesized
/// ([`Uscc::synthesize`]) and name no real enterprise.
#[derive(Clone, Debug)]
pub struct Parties {
    /// Rock-type mine at Bayan Obo (Northern Rare Earth group), designated.
    pub miner: Uscc,
    /// Separation plant in the Baotou rare earth high-tech zone (Northern group), designated.
    pub separator: Uscc,
    /// Metal smelter in Ganzhou (China Rare Earth group).
    pub smelter: Uscc,
    /// Independent magnet maker in Longyan.
    pub magnet_maker: Uscc,
    /// Independent importer and exporter in Shanghai.
    pub exporter: Uscc,
    /// Independent trader holding goods in a Baotou warehouse.
    pub warehouse: Uscc,
    /// Ionic-clay miner in Ganzhou (China Rare Earth group), never designated.
    pub ionic_miner: Uscc,
}

/// The fixture's parties.
pub fn parties() -> Parties {
    Parties {
        miner: Uscc::synthesize("150206", 1),
        separator: Uscc::synthesize("150271", 2),
        smelter: Uscc::synthesize("360702", 3),
        magnet_maker: Uscc::synthesize("350802", 4),
        exporter: Uscc::synthesize("310115", 5),
        warehouse: Uscc::synthesize("150203", 6),
        ionic_miner: Uscc::synthesize("360781", 7),
    }
}

/// The fixture's lots.
#[derive(Clone, Debug)]
pub struct Lots {
    /// Bayan Obo concentrate, 100 t at 50 % REO.
    pub ore: LotId,
    /// Separation outputs, attributed to the ore over the plant's May pool.
    pub nd_oxide: LotId,
    pub dy_oxide: LotId,
    pub la_ce_oxide: LotId,
    /// Neodymium metal, recorded lineage from the oxide.
    pub nd_metal: LotId,
    /// Sintered NdFeB magnets, recorded lineage from the metal.
    pub magnet: LotId,
    /// The exporter's declared opening stock.
    pub opening: LotId,
    /// Imported monazite.
    pub monazite: LotId,
    /// Ionic-clay carbonate extracted without a designation.
    pub ionic: LotId,
}

fn lot_of(producer: &Uscc, number: &str) -> LotId {
    LotId::under_uscc(producer, number).expect("fixture lot numbers are well formed")
}

/// The fixture's lots.
pub fn lots() -> Lots {
    let p = parties();
    Lots {
        ore: lot_of(&p.miner, "ORE-2505-01"),
        nd_oxide: lot_of(&p.separator, "ND2O3-2505-01"),
        dy_oxide: lot_of(&p.separator, "DY2O3-2505-01"),
        la_ce_oxide: lot_of(&p.separator, "LACE-2505-01"),
        nd_metal: lot_of(&p.smelter, "ND-2505-01"),
        magnet: lot_of(&p.magnet_maker, "MAG-2505-01"),
        opening: lot_of(&p.exporter, "CEO2-OPEN-01"),
        monazite: lot_of(&p.exporter, "MZ-2505-01"),
        ionic: lot_of(&p.ionic_miner, "IC-2505-01"),
    }
}

fn at(text: &str) -> OffsetDateTime {
    OffsetDateTime::parse(text, &Rfc3339).expect("fixture times are RFC 3339")
}

fn region(code: &str) -> RegionCode {
    code.parse().expect("fixture regions exist")
}

fn share(text: &str) -> Share {
    text.parse().expect("fixture shares are percentages")
}

fn tonnes(text: &str) -> Mass {
    text.parse().expect("fixture masses are well formed")
}

fn facility_id(text: &str) -> FacilityId {
    FacilityId::parse(text).expect("fixture facility ids are well formed")
}

/// The context of the suite's writes: the installation, no idempotency key.
pub fn context() -> WriteContext {
    WriteContext::installation("conformance suite")
}

fn act(act: Act) -> Record {
    Record::Act(ActRecord {
        effective: at("2025-01-01T00:00:00+08:00"),
        official: "conformance-operator".to_owned(),
        act,
    })
}

fn flow(when: &str, enterprise: &Uscc, facility: Option<&str>, flow: Flow) -> Record {
    Record::Flow(FlowEvent {
        event_time: at(when),
        enterprise: enterprise.clone(),
        facility: facility.map(facility_id),
        reference: None,
        flow,
    })
}

fn enterprise(
    uscc: &Uscc,
    name: &str,
    kinds: &[EnterpriseKind],
    group: Option<Group>,
    seat: &str,
) -> Record {
    act(Act::RegisterEnterprise(Enterprise {
        uscc: uscc.clone(),
        name_zh: name.to_owned(),
        name_en: None,
        kinds: kinds.iter().copied().collect(),
        group,
        seat: region(seat),
    }))
}

fn facility(id: &str, operator: &Uscc, region_code: &str, kind: FacilityKind) -> Record {
    act(Act::RegisterFacility(Facility {
        id: facility_id(id),
        operator: operator.clone(),
        name_zh: format!("{id}（合成）"),
        region: region(region_code),
        kind,
        permits: Vec::new(),
    }))
}

fn mine(ore_type: OreType) -> FacilityKind {
    FacilityKind::Mine {
        licence: "C1500002025011110000001".to_owned(),
        licence_valid_to: time::macros::date!(2030 - 12 - 31),
        ore_type,
        area_ha: 1_200,
        capacity_per_year: tonnes("50000 t"),
    }
}

fn plant(processes: &[Process]) -> FacilityKind {
    FacilityKind::Plant {
        processes: processes.to_vec(),
        capacity_per_year: tonnes("20000 t"),
    }
}

fn designate(uscc: &Uscc, category: QuotaCategory) -> Record {
    act(Act::Designate(Designation {
        enterprise: uscc.clone(),
        category,
        valid_from: time::macros::date!(2025 - 01 - 01),
        valid_to: time::macros::date!(2025 - 12 - 31),
        document: "工信部原函〔2025〕1号（合成）".to_owned(),
    }))
}

fn new_lot(
    lot: &LotId,
    product: &str,
    wet: &str,
    grade: &str,
    distribution: &[(Element, &str)],
) -> NewLot {
    let distribution = (!distribution.is_empty()).then(|| {
        ElementDistribution::new(distribution.iter().map(|(e, s)| (*e, share(s))).collect())
            .expect("fixture distributions add up")
    });
    NewLot {
        lot: lot.clone(),
        product: ProductCode::parse(product).expect("fixture products are catalogue codes"),
        measurement: Measurement::dry(tonnes(wet), share(grade)),
        distribution,
        feed_origin: None,
    }
}

fn ship(lot: &LotId, mass: &str, to: &Uscc, number: &str) -> Flow {
    Flow::Ship(Ship {
        lot: lot.clone(),
        mass: tonnes(mass),
        to: to.clone(),
        shipment: number.to_owned(),
        contract: None,
        invoice: None,
    })
}

fn receive(lot: &LotId, mass: &str, from: &Uscc, number: &str) -> Flow {
    Flow::Receive(Receive {
        lot: lot.clone(),
        from: from.clone(),
        shipment: number.to_owned(),
        mass: tonnes(mass),
        grade: None,
    })
}

fn adjust(lot: &LotId, grams: i64, reason: AdjustReason) -> Flow {
    Flow::Adjust(Adjust {
        lot: lot.clone(),
        change: MassChange::from_grams(grams),
        reason,
        grade: None,
        note: None,
    })
}

/// The ledger index, in the fixture, of the exporter's mistaken stock-take
/// that [`fixture`] corrects at the next index.
pub const MISTAKEN_ADJUST: u64 = 35;
/// The index of the unlicensed export of Dy oxide.
pub const UNLICENSED_EXPORT: u64 = 27;
/// The index of the extraction without a designation.
pub const UNDESIGNATED_EXTRACTION: u64 = 37;

/// The fixture: acts, then flows of every kind, with these breaches planted:
///
/// - a back-dated shipment that takes the mine's stock below zero in
///   event-time order (`negative_stock`);
/// - a receipt recorded before its shipment (`receive_without_ship`), cleared
///   by the shipment, which is the last record;
/// - a receipt 1.2 % short of the shipment (`transfer_mismatch`);
/// - an export of Dy oxide without a licence (`export_without_licence`,
///   MOFCOM/GAC 2025 No. 18);
/// - an extraction without a designation (`undesignated_extraction`).
///
/// Indices assume the fixture is the first thing appended to an empty store.
pub fn fixture() -> Vec<Record> {
    let p = parties();
    let l = lots();
    let mut records = vec![
        enterprise(
            &p.miner,
            "白云合成稀土矿业有限公司",
            &[EnterpriseKind::Mining],
            Some(Group::NorthernRareEarth),
            "150206",
        ),
        enterprise(
            &p.separator,
            "包头合成稀土分离有限公司",
            &[EnterpriseKind::Separation],
            Some(Group::NorthernRareEarth),
            "150271",
        ),
        enterprise(
            &p.smelter,
            "赣州合成稀土金属有限公司",
            &[EnterpriseKind::MetalSmelting],
            Some(Group::ChinaRareEarth),
            "360702",
        ),
        enterprise(
            &p.magnet_maker,
            "龙岩合成磁材有限公司",
            &[EnterpriseKind::MagnetMaker],
            None,
            "350802",
        ),
        enterprise(
            &p.exporter,
            "上海合成稀土贸易有限公司",
            &[
                EnterpriseKind::Exporter,
                EnterpriseKind::Importer,
                EnterpriseKind::Trader,
            ],
            None,
            "310115",
        ),
        enterprise(
            &p.warehouse,
            "包头合成仓储贸易有限公司",
            &[EnterpriseKind::Trader],
            None,
            "150203",
        ),
        enterprise(
            &p.ionic_miner,
            "瑞金合成稀土矿业有限公司",
            &[EnterpriseKind::Mining],
            Some(Group::ChinaRareEarth),
            "360781",
        ),
        facility("MINE-A", &p.miner, "150206", mine(OreType::Rock)),
        facility(
            "PLANT-B",
            &p.separator,
            "150271",
            plant(&[Process::Cracking, Process::Separation]),
        ),
        facility(
            "PLANT-C",
            &p.smelter,
            "360702",
            plant(&[Process::MetalSmelting]),
        ),
        facility(
            "PLANT-D",
            &p.magnet_maker,
            "350802",
            plant(&[Process::MagnetMaking]),
        ),
        facility("WH-W", &p.warehouse, "150204", FacilityKind::Warehouse),
        facility("MINE-G", &p.ionic_miner, "360781", mine(OreType::Ionic)),
        designate(&p.miner, QuotaCategory::MiningRock),
        designate(&p.separator, QuotaCategory::Separation),
    ];
    records.extend([
        // 15
        flow(
            "2025-05-02T08:00:00+08:00",
            &p.miner,
            Some("MINE-A"),
            Flow::Extract(Extract {
                output: new_lot(&l.ore, "ORE-BAOTOU-MIX50", "100 t", "50%", &[]),
            }),
        ),
        flow(
            "2025-05-03T08:00:00+08:00",
            &p.miner,
            None,
            ship(&l.ore, "80 t", &p.separator, "S-A-1"),
        ),
        flow(
            "2025-05-04T08:00:00+08:00",
            &p.separator,
            None,
            receive(&l.ore, "80 t", &p.miner, "S-A-1"),
        ),
        flow(
            "2025-05-10T08:00:00+08:00",
            &p.separator,
            Some("PLANT-B"),
            Flow::Transform(Transform {
                process: Process::Separation,
                inputs: vec![TransformInput {
                    lot: l.ore.clone(),
                    mass: tonnes("80 t"),
                    feed_origin: FeedOrigin::DomesticOre,
                }],
                outputs: vec![
                    new_lot(
                        &l.nd_oxide,
                        "OXI-ND",
                        "12 t",
                        "99%",
                        &[(Element::Nd, "100%")],
                    ),
                    new_lot(
                        &l.dy_oxide,
                        "OXI-DY",
                        "500 kg",
                        "99%",
                        &[(Element::Dy, "100%")],
                    ),
                    new_lot(
                        &l.la_ce_oxide,
                        "MIX-LACE-OXIDE",
                        "27 t",
                        "98%",
                        &[(Element::La, "35%"), (Element::Ce, "65%")],
                    ),
                ],
                toll_owner: None,
            }),
        ),
        flow(
            "2025-05-11T08:00:00+08:00",
            &p.separator,
            None,
            ship(&l.nd_oxide, "12 t", &p.smelter, "S-B-1"),
        ),
        // 20
        flow(
            "2025-05-12T08:00:00+08:00",
            &p.smelter,
            None,
            receive(&l.nd_oxide, "12 t", &p.separator, "S-B-1"),
        ),
        flow(
            "2025-05-15T08:00:00+08:00",
            &p.smelter,
            Some("PLANT-C"),
            Flow::Transform(Transform {
                process: Process::MetalSmelting,
                inputs: vec![TransformInput {
                    lot: l.nd_oxide.clone(),
                    mass: tonnes("12 t"),
                    feed_origin: FeedOrigin::DomesticOre,
                }],
                outputs: vec![new_lot(
                    &l.nd_metal,
                    "MET-ND",
                    "10 t",
                    "99.9%",
                    &[(Element::Nd, "100%")],
                )],
                toll_owner: None,
            }),
        ),
        flow(
            "2025-05-16T08:00:00+08:00",
            &p.smelter,
            None,
            ship(&l.nd_metal, "10 t", &p.magnet_maker, "S-C-1"),
        ),
        flow(
            "2025-05-17T08:00:00+08:00",
            &p.magnet_maker,
            None,
            receive(&l.nd_metal, "9.88 t", &p.smelter, "S-C-1"),
        ),
        flow(
            "2025-05-20T08:00:00+08:00",
            &p.magnet_maker,
            Some("PLANT-D"),
            Flow::Transform(Transform {
                process: Process::MagnetMaking,
                inputs: vec![TransformInput {
                    lot: l.nd_metal.clone(),
                    mass: tonnes("9.88 t"),
                    feed_origin: FeedOrigin::DomesticOre,
                }],
                outputs: vec![new_lot(
                    &l.magnet,
                    "MAG-NDFEB-SINT",
                    "30 t",
                    "31%",
                    &[(Element::Nd, "100%")],
                )],
                toll_owner: None,
            }),
        ),
        // 25
        flow(
            "2025-05-12T09:00:00+08:00",
            &p.separator,
            None,
            ship(&l.dy_oxide, "500 kg", &p.exporter, "S-B-2"),
        ),
        flow(
            "2025-05-13T09:00:00+08:00",
            &p.exporter,
            None,
            receive(&l.dy_oxide, "500 kg", &p.separator, "S-B-2"),
        ),
        flow(
            "2025-05-20T09:00:00+08:00",
            &p.exporter,
            None,
            Flow::Export(Export {
                lot: l.dy_oxide.clone(),
                mass: tonnes("500 kg"),
                destination_country: "JP".to_owned(),
                commodity_code: "2846.90".to_owned(),
                customs_declaration: None,
                licence: None,
                controlled_remark: None,
            }),
        ),
        flow(
            "2025-05-13T10:00:00+08:00",
            &p.separator,
            None,
            ship(&l.la_ce_oxide, "10 t", &p.warehouse, "S-B-3"),
        ),
        flow(
            "2025-05-14T10:00:00+08:00",
            &p.warehouse,
            Some("WH-W"),
            receive(&l.la_ce_oxide, "10 t", &p.separator, "S-B-3"),
        ),
        // 30
        flow(
            "2025-05-15T10:00:00+08:00",
            &p.warehouse,
            None,
            Flow::Transfer(Transfer {
                lot: l.la_ce_oxide.clone(),
                mass: tonnes("10 t"),
                to: p.exporter.clone(),
                holder: None,
                document: "仓单 WR-1".to_owned(),
            }),
        ),
        flow(
            "2025-05-18T10:00:00+08:00",
            &p.exporter,
            None,
            Flow::Transfer(Transfer {
                lot: l.la_ce_oxide.clone(),
                mass: tonnes("4 t"),
                to: p.magnet_maker.clone(),
                holder: Some(p.warehouse.clone()),
                document: "仓单 WR-2".to_owned(),
            }),
        ),
        flow(
            "2025-05-25T10:00:00+08:00",
            &p.separator,
            None,
            adjust(&l.la_ce_oxide, -200_000, AdjustReason::Loss),
        ),
        flow(
            "2025-05-01T00:00:00+08:00",
            &p.exporter,
            None,
            Flow::Opening(Opening {
                output: new_lot(&l.opening, "OXI-CE", "5 t", "99%", &[(Element::Ce, "100%")]),
                documents: vec!["期初盘点表 2025-05".to_owned()],
            }),
        ),
        flow(
            "2025-05-05T10:00:00+08:00",
            &p.exporter,
            None,
            Flow::Import(Import {
                output: new_lot(&l.monazite, "ORE-MONAZITE", "20 t", "60%", &[]),
                customs_declaration: "220120250000000001".to_owned(),
                origin_country: "AU".to_owned(),
                supplier: None,
            }),
        ),
        // 35: the mistaken stock-take, corrected at 36.
        flow(
            "2025-05-26T10:00:00+08:00",
            &p.exporter,
            None,
            adjust(&l.opening, 1_000_000, AdjustReason::StockTake),
        ),
        flow(
            "2025-05-27T10:00:00+08:00",
            &p.exporter,
            None,
            Flow::Correction(Correction {
                corrects: MISTAKEN_ADJUST,
                reason: "stock-take entered twice".to_owned(),
            }),
        ),
        flow(
            "2025-05-06T10:00:00+08:00",
            &p.ionic_miner,
            Some("MINE-G"),
            Flow::Extract(Extract {
                output: NewLot {
                    measurement: Measurement {
                        moisture: share("40%"),
                        ..Measurement::dry(tonnes("10 t"), share("45%"))
                    },
                    ..new_lot(&l.ionic, "ORE-IONIC-CARB", "10 t", "45%", &[])
                },
            }),
        ),
        // 38: back-dated before the extraction of the ore.
        flow(
            "2025-05-01T12:00:00+08:00",
            &p.miner,
            None,
            ship(&l.ore, "5 t", &p.separator, "S-A-2"),
        ),
        flow(
            "2025-05-28T10:00:00+08:00",
            &p.separator,
            None,
            receive(&l.ore, "5 t", &p.miner, "S-A-2"),
        ),
        // 40: received before the shipment is recorded; the shipment is the last record.
        flow(
            "2025-05-29T10:00:00+08:00",
            &p.separator,
            None,
            receive(&l.ore, "4 t", &p.miner, "S-A-3"),
        ),
        flow(
            "2025-05-28T12:00:00+08:00",
            &p.miner,
            None,
            ship(&l.ore, "4 t", &p.separator, "S-A-3"),
        ),
    ]);
    records
}

/// Runs every check, in order, on an empty store.
pub async fn run_all<S: Store>(store: &S, verifier: &LogVerifier) {
    let (first, last) = append_fixture(store, verifier).await;
    check_stock(store).await;
    check_flags(store).await;
    check_scope(store).await;
    check_nothing_leaks(store).await;
    check_register(store).await;
    check_proofs(store, verifier, &first, &last).await;
    check_trace(store).await;
    check_trace_disclosure(store).await;
    check_public(store, verifier).await;
    check_refusals(store).await;
    check_all_or_nothing(store).await;
    check_correction(store).await;
}

/// Appends the fixture as two batches — all but the last record, then the
/// last — checks that every receipt verifies with the log's key, and that the
/// receipt recorded before its shipment is flagged until the shipment comes.
pub async fn append_fixture<S: Store>(store: &S, verifier: &LogVerifier) -> (Appended, Appended) {
    let start = store
        .checkpoint()
        .await
        .expect("an empty store has a checkpoint");
    assert_eq!(
        start.checkpoint().size(),
        0,
        "the conformance suite needs an empty store"
    );
    let mut records = fixture();
    let last = records.pop().expect("the fixture is not empty");
    let first = store
        .append(&Authority::Installation, records, &context())
        .await
        .unwrap_or_else(|e| panic!("the fixture is refused: {e}"));
    check_receipts(&first, verifier, 0);
    let p = parties();
    let missing = format!("receive_without_ship:{}:S-A-3", p.miner);
    assert!(
        flag_keys(store, &Scope::Installation)
            .await
            .contains(&missing),
        "a receipt with no shipment is flagged"
    );
    let second = store
        .append(&Authority::Installation, vec![last], &context())
        .await
        .unwrap_or_else(|e| panic!("the last record is refused: {e}"));
    check_receipts(&second, verifier, first.receipts.len() as u64);
    assert!(
        !flag_keys(store, &Scope::Installation)
            .await
            .contains(&missing),
        "the shipment clears the flag of its receipt"
    );
    (first, second)
}

fn check_receipts(appended: &Appended, verifier: &LogVerifier, first_index: u64) {
    let size = appended.checkpoint.checkpoint().size();
    assert_eq!(
        size,
        first_index + appended.receipts.len() as u64,
        "the checkpoint covers the batch"
    );
    for (n, receipt) in (first_index..).zip(&appended.receipts) {
        assert_eq!(receipt.index, n, "receipts come in batch order");
        assert_eq!(
            receipt.checkpoint, appended.checkpoint,
            "every receipt proves inclusion in the commit's checkpoint"
        );
        receipt
            .verify(verifier)
            .unwrap_or_else(|e| panic!("receipt {n} does not verify: {e}"));
        let parsed = retrace_ledger::receipt::Receipt::parse(&receipt.to_bytes())
            .expect("a receipt round-trips");
        assert_eq!(&parsed, receipt);
    }
}

async fn flag_keys<S: Store>(store: &S, scope: &Scope) -> BTreeSet<String> {
    let page = store
        .flags(scope, &FlagFilter::default(), &PageRequest::first(MAX_PAGE))
        .await
        .expect("flags list");
    page.items.into_iter().map(|f| f.key).collect()
}

async fn positions<S: Store>(
    store: &S,
    scope: &Scope,
    filter: &StockFilter,
) -> BTreeMap<(LotId, Uscc, Uscc), (i64, i64)> {
    let mut out = BTreeMap::new();
    let mut request = PageRequest::first(4);
    loop {
        let page = store
            .stock(scope, filter, &request)
            .await
            .expect("stock lists");
        for p in page.items {
            assert!(
                out.insert((p.lot, p.holder, p.owner), (p.mass, p.reo))
                    .is_none(),
                "pages do not overlap"
            );
        }
        match page.next {
            Some(next) => request.after = Some(next),
            None => return out,
        }
    }
}

/// Stock after the fixture, exactly: every non-empty position, with its wet
/// mass and REO in grams, read in pages of four.
pub async fn check_stock<S: Store>(store: &S) {
    let p = parties();
    let l = lots();
    let magnet_reo = store
        .lot(&Scope::Installation, &l.magnet)
        .await
        .expect("the magnet lot exists")
        .state
        .reo
        .grams();
    let mut expected = BTreeMap::new();
    let mut put = |lot: &LotId, holder: &Uscc, owner: &Uscc, mass: i64, reo: i64| {
        expected.insert((lot.clone(), holder.clone(), owner.clone()), (mass, reo));
    };
    put(&l.ore, &p.miner, &p.miner, 11_000_000, 5_500_000);
    put(&l.ore, &p.separator, &p.separator, 9_000_000, 4_500_000);
    put(
        &l.la_ce_oxide,
        &p.separator,
        &p.separator,
        16_800_000,
        16_464_000,
    );
    put(
        &l.la_ce_oxide,
        &p.warehouse,
        &p.exporter,
        6_000_000,
        5_880_000,
    );
    put(
        &l.la_ce_oxide,
        &p.warehouse,
        &p.magnet_maker,
        4_000_000,
        3_920_000,
    );
    put(
        &l.magnet,
        &p.magnet_maker,
        &p.magnet_maker,
        30_000_000,
        i64::try_from(magnet_reo).expect("small"),
    );
    put(&l.opening, &p.exporter, &p.exporter, 5_000_000, 4_950_000);
    put(
        &l.monazite,
        &p.exporter,
        &p.exporter,
        20_000_000,
        12_000_000,
    );
    put(
        &l.ionic,
        &p.ionic_miner,
        &p.ionic_miner,
        10_000_000,
        2_700_000,
    );
    let found = positions(store, &Scope::Installation, &StockFilter::default()).await;
    assert_eq!(found, expected, "stock after the fixture");

    let with_empty = positions(
        store,
        &Scope::Installation,
        &StockFilter {
            include_empty: true,
            ..StockFilter::default()
        },
    )
    .await;
    let empty = (l.dy_oxide.clone(), p.exporter.clone(), p.exporter.clone());
    assert_eq!(
        with_empty.get(&empty),
        Some(&(0, 0)),
        "an exported lot leaves an empty position"
    );

    let lot = store
        .lot(&Scope::Installation, &l.la_ce_oxide)
        .await
        .expect("the La-Ce oxide exists");
    assert_eq!(lot.state.producer, p.separator);
    assert_eq!(
        lot.positions.iter().filter(|p| p.mass != 0).count(),
        3,
        "the La-Ce oxide sits at the plant and, for two owners, at the warehouse"
    );
}

/// Flags after the fixture, exactly: the planted breaches and nothing else.
pub async fn check_flags<S: Store>(store: &S) {
    let p = parties();
    let l = lots();
    let page = store
        .flags(
            &Scope::Installation,
            &FlagFilter::default(),
            &PageRequest::first(MAX_PAGE),
        )
        .await
        .expect("flags list");
    let undesignated = page
        .items
        .iter()
        .find(|f| f.rule == Rule::UndesignatedExtraction)
        .expect("the undesignated extraction is flagged");
    assert_eq!(
        (undesignated.entries.as_slice(), undesignated.occurrences),
        (&[UNDESIGNATED_EXTRACTION][..], 1),
        "the flag names the extraction behind it"
    );
    let found: BTreeSet<(String, Rule, Uscc, Option<LotId>)> = page
        .items
        .into_iter()
        .map(|f| (f.key, f.rule, f.enterprise, f.lot))
        .collect();
    let expected = BTreeSet::from([
        (
            format!("negative_stock:{}:{}", l.ore, p.miner),
            Rule::NegativeStock,
            p.miner.clone(),
            Some(l.ore.clone()),
        ),
        (
            format!("transfer_mismatch:{}:S-C-1", p.smelter),
            Rule::TransferMismatch,
            p.magnet_maker.clone(),
            Some(l.nd_metal.clone()),
        ),
        (
            format!("export_without_licence:{UNLICENSED_EXPORT}"),
            Rule::ExportWithoutLicence,
            p.exporter.clone(),
            Some(l.dy_oxide.clone()),
        ),
        (
            format!("undesignated_extraction:{}:MINE-G:2025-05", p.ionic_miner),
            Rule::UndesignatedExtraction,
            p.ionic_miner.clone(),
            None,
        ),
    ]);
    assert_eq!(found, expected, "flags after the fixture");

    let filtered = store
        .flags(
            &Scope::Installation,
            &FlagFilter {
                rule: Some(Rule::NegativeStock),
                ..FlagFilter::default()
            },
            &PageRequest::first(10),
        )
        .await
        .expect("flags filter");
    assert_eq!(filtered.items.len(), 1, "flags filter by rule");
    let mut request = PageRequest::first(1);
    let mut paged = Vec::new();
    loop {
        let page = store
            .flags(&Scope::Installation, &FlagFilter::default(), &request)
            .await
            .expect("flags page");
        paged.extend(page.items.into_iter().map(|f| f.key));
        match page.next {
            Some(next) => request.after = Some(next),
            None => break,
        }
    }
    assert_eq!(paged.len(), expected.len(), "flag pages join up");
}

fn is_not_found<T: std::fmt::Debug>(answer: Result<T, StoreError>, what: &str) {
    match answer {
        Err(StoreError::NotFound(_)) => {}
        other => panic!("{what}: expected NotFound, got {other:?}"),
    }
}

/// Scope: an enterprise sees only its own entries; a regional scope of
/// another province sees nothing of an enterprise, and what lies outside a
/// scope answers exactly like what does not exist.
pub async fn check_scope<S: Store>(store: &S) {
    let p = parties();
    let l = lots();
    let all = fixture();
    let miner = Scope::Enterprise(p.miner.clone());
    let everything = PageRequest::first(MAX_PAGE);
    let own = store
        .entries(&miner, &EntryFilter::default(), &everything)
        .await
        .expect("entries list");
    assert!(
        own.items.iter().all(|e| e.enterprise == p.miner),
        "an enterprise sees only its own entries"
    );
    assert_eq!(
        own.items.len(),
        all.iter().filter(|r| *r.enterprise() == p.miner).count(),
        "an enterprise sees all its own entries"
    );

    let nation = store
        .entries(
            &Scope::Region(RegionCode::nation()),
            &EntryFilter::default(),
            &everything,
        )
        .await
        .expect("entries list");
    assert_eq!(nation.items.len(), all.len(), "the nation sees every entry");

    let jiangxi = Scope::Region(region("36"));
    let of_miner = EntryFilter {
        enterprise: Some(p.miner.clone()),
        ..EntryFilter::default()
    };
    let seen = store
        .entries(&jiangxi, &of_miner, &everything)
        .await
        .expect("entries list");
    assert!(
        seen.items.is_empty(),
        "another province sees none of the miner's entries"
    );
    let in_jiangxi = store
        .entries(&jiangxi, &EntryFilter::default(), &everything)
        .await
        .expect("entries list");
    assert!(
        in_jiangxi
            .items
            .iter()
            .all(|e| e.enterprise == p.smelter || e.enterprise == p.ionic_miner),
        "a province sees the enterprises seated or operating in it"
    );
    assert!(!in_jiangxi.items.is_empty());
    let stock = positions(
        store,
        &jiangxi,
        &StockFilter {
            holder: Some(p.miner.clone()),
            ..StockFilter::default()
        },
    )
    .await;
    assert!(
        stock.is_empty(),
        "another province sees none of the miner's stock"
    );
    let flags = flag_keys(store, &jiangxi).await;
    assert_eq!(
        flags,
        BTreeSet::from([format!(
            "undesignated_extraction:{}:MINE-G:2025-05",
            parties().ionic_miner
        )]),
        "a province sees its enterprises' flags"
    );
    let extraction = 15;
    is_not_found(
        store.lot(&jiangxi, &l.ore).await,
        "another province asks for the ore",
    );
    is_not_found(
        store.entry(&jiangxi, extraction).await,
        "another province asks for the extraction",
    );
    is_not_found(
        store.receipt(&jiangxi, extraction).await,
        "another province asks for the extraction's receipt",
    );
    is_not_found(
        store
            .trace(&jiangxi, &l.ore, Direction::Forward, &everything)
            .await,
        "another province traces the ore",
    );
    let inner_mongolia = Scope::Region(region("15"));
    store
        .lot(&inner_mongolia, &l.ore)
        .await
        .expect("the ore's own province sees it");
    store
        .entry(&inner_mongolia, extraction)
        .await
        .expect("the ore's own province sees its extraction");

    let magnet_maker = Scope::Enterprise(p.magnet_maker.clone());
    is_not_found(
        store.lot(&magnet_maker, &l.ore).await,
        "the magnet maker asks for the ore",
    );
    is_not_found(
        store.entry(&magnet_maker, extraction).await,
        "the magnet maker asks for the extraction",
    );
    is_not_found(
        store
            .trace(&magnet_maker, &l.ore, Direction::Backward, &everything)
            .await,
        "the magnet maker traces the ore",
    );
    is_not_found(
        store.entry(&magnet_maker, 1_000_000).await,
        "an entry that does not exist",
    );
    let own_lot = store
        .lot(&magnet_maker, &l.la_ce_oxide)
        .await
        .expect("the magnet maker owns part of the La-Ce oxide");
    assert!(
        own_lot
            .positions
            .iter()
            .all(|q| q.holder == p.magnet_maker || q.owner == p.magnet_maker),
        "an enterprise sees its own positions of a lot"
    );
    store
        .trace(&magnet_maker, &l.magnet, Direction::Backward, &everything)
        .await
        .expect("the magnet maker traces its magnets");

    let northern = Scope::Group(Group::NorthernRareEarth);
    let group = store
        .entries(&northern, &EntryFilter::default(), &everything)
        .await
        .expect("entries list");
    assert!(
        group
            .items
            .iter()
            .all(|e| e.enterprise == p.miner || e.enterprise == p.separator),
        "a group sees its members"
    );
    let by_lot = EntryFilter {
        lot: Some(l.ore.clone()),
        ..EntryFilter::default()
    };
    let ore_entries = store
        .entries(&Scope::Installation, &by_lot, &everything)
        .await
        .expect("entries by lot");
    assert!(
        ore_entries.items.iter().any(|e| e.kind == "flow.extract"),
        "entries by lot include the lot's creation"
    );
    let mut request = PageRequest::first(5);
    let mut paged = 0;
    loop {
        let page = store
            .entries(&Scope::Installation, &EntryFilter::default(), &request)
            .await
            .expect("entries page");
        paged += page.items.len();
        match page.next {
            Some(next) => request.after = Some(next),
            None => break,
        }
    }
    assert_eq!(paged, all.len(), "entry pages join up");
}

/// Inclusion and consistency proofs verify against signed checkpoints.
pub async fn check_proofs<S: Store>(
    store: &S,
    verifier: &LogVerifier,
    first: &Appended,
    last: &Appended,
) {
    let latest = store
        .checkpoint()
        .await
        .expect("a checkpoint")
        .verify(verifier)
        .expect("the latest checkpoint verifies");
    let old = first
        .checkpoint
        .verify(verifier)
        .expect("the first checkpoint verifies");
    assert_eq!(&latest, last.checkpoint.checkpoint());
    for index in [0, 1, 15, old.size() - 1, latest.size() - 1] {
        let entry = store
            .entry(&Scope::Installation, index)
            .await
            .expect("the operator sees every entry");
        let proof = store
            .inclusion_proof(index, latest.size())
            .await
            .expect("an inclusion proof");
        verify_inclusion(&entry.leaf, index, latest.size(), &proof, &latest.root())
            .unwrap_or_else(|e| panic!("inclusion of {index}: {e}"));
        let receipt = store
            .receipt(&Scope::Installation, index)
            .await
            .expect("a receipt");
        assert_eq!(leaf_hash(&receipt.entry), entry.leaf);
        receipt
            .verify(verifier)
            .unwrap_or_else(|e| panic!("receipt of {index}: {e}"));
    }
    let proof = store
        .consistency_proof(old.size(), latest.size())
        .await
        .expect("a consistency proof");
    verify_consistency(
        old.size(),
        latest.size(),
        &old.root(),
        &latest.root(),
        &proof,
    )
    .expect("the log only grew");
    assert!(
        matches!(
            store.inclusion_proof(0, latest.size() + 1).await,
            Err(StoreError::BadRequest(_))
        ),
        "no proof for a size the log never had"
    );
    let handed_out = store
        .checkpoints(0, MAX_PAGE)
        .await
        .expect("checkpoints list");
    let sizes: Vec<u64> = handed_out.iter().map(|c| c.checkpoint().size()).collect();
    assert!(
        sizes.windows(2).all(|w| w[0] < w[1]),
        "checkpoints come oldest first"
    );
    assert!(
        sizes.contains(&old.size()) && sizes.contains(&latest.size()),
        "every checkpoint handed out is listed"
    );
}

fn lot_node(lot: &LotId) -> TraceNode {
    TraceNode::Lot { lot: lot.clone() }
}

async fn whole_trace<S: Store>(store: &S, lot: &LotId, direction: Direction) -> Vec<TraceEdge> {
    store
        .trace(
            &Scope::Installation,
            lot,
            direction,
            &PageRequest::first(MAX_PAGE),
        )
        .await
        .expect("a trace")
        .edges
}

/// Trace: backward from a magnet to the mine, with attributed edges through
/// the separation plant's pool and recorded edges through the smelter;
/// forward from the ore to the export; pages that join up.
pub async fn check_trace<S: Store>(store: &S) {
    let p = parties();
    let l = lots();
    let back = whole_trace(store, &l.magnet, Direction::Backward).await;
    let has = |edges: &[TraceEdge], from: &TraceNode, to: &TraceNode, basis: EdgeBasis| {
        edges
            .iter()
            .any(|e| &e.from == from && &e.to == to && e.basis == basis)
    };
    assert!(
        has(
            &back,
            &lot_node(&l.nd_metal),
            &lot_node(&l.magnet),
            EdgeBasis::Recorded
        ),
        "magnet making keeps batches: recorded"
    );
    assert!(
        has(
            &back,
            &lot_node(&l.nd_oxide),
            &lot_node(&l.nd_metal),
            EdgeBasis::Recorded
        ),
        "the smelter keeps batches: recorded"
    );
    assert!(
        has(
            &back,
            &lot_node(&l.ore),
            &lot_node(&l.nd_oxide),
            EdgeBasis::Attributed
        ),
        "separation pools its feed: attributed"
    );
    let mine = TraceNode::Mine {
        facility: facility_id("MINE-A"),
        enterprise: p.miner.clone(),
    };
    assert!(
        has(&back, &mine, &lot_node(&l.ore), EdgeBasis::Recorded),
        "the trace reaches the mine"
    );
    let attributed = back
        .iter()
        .find(|e| e.basis == EdgeBasis::Attributed)
        .expect("an attributed edge");
    let pool = attributed
        .pool
        .as_ref()
        .expect("an attributed edge names its pool");
    assert_eq!(
        (pool.facility.as_str(), pool.month.as_str(), pool.process),
        ("PLANT-B", "2025-05", Process::Separation)
    );

    let forward = whole_trace(store, &l.ore, Direction::Forward).await;
    let abroad = TraceNode::Abroad {
        country: "JP".to_owned(),
    };
    assert!(
        forward
            .iter()
            .any(|e| e.to == abroad && e.kind == retrace_domain::flow::FlowKind::Export),
        "the ore reaches the export"
    );
    assert!(has(
        &forward,
        &lot_node(&l.ore),
        &lot_node(&l.dy_oxide),
        EdgeBasis::Attributed
    ));
    assert!(has(
        &forward,
        &lot_node(&l.nd_metal),
        &lot_node(&l.magnet),
        EdgeBasis::Recorded
    ));

    let whole = store
        .trace(
            &Scope::Installation,
            &l.ore,
            Direction::Forward,
            &PageRequest::first(MAX_PAGE),
        )
        .await
        .expect("a trace");
    assert!(whole.attributed && !whole.truncated);
    assert_eq!(
        whole.total_edges,
        Some(whole.edges.len()),
        "a whole trace knows its size"
    );
    let mut request = PageRequest::first(3);
    let mut joined = Vec::new();
    loop {
        let page = store
            .trace(&Scope::Installation, &l.ore, Direction::Forward, &request)
            .await
            .expect("a trace page");
        assert!(page.edges.len() <= 3);
        joined.extend(page.edges);
        match page.next {
            Some(next) => {
                assert_eq!(
                    page.total_edges, None,
                    "a size is given only with the last page"
                );
                request.after = Some(next);
            }
            None => {
                assert_eq!(page.total_edges, whole.total_edges);
                break;
            }
        }
    }
    assert_eq!(joined, whole.edges, "trace pages join up");
}

async fn size_of<S: Store>(store: &S) -> u64 {
    store
        .checkpoint()
        .await
        .expect("a checkpoint")
        .checkpoint()
        .size()
}

async fn refused<S: Store>(
    store: &S,
    authority: &Authority,
    batch: Vec<Record>,
    record: usize,
    field: &str,
    reason: RefusalReason,
) {
    let before = size_of(store).await;
    match store.append(authority, batch, &context()).await {
        Err(StoreError::Refused { record: r, refusal }) => {
            assert_eq!(
                (r, refusal.field.as_str(), refusal.reason),
                (record, field, reason),
                "refusal names the record and field: {refusal}"
            );
        }
        other => panic!("expected a refusal of record {record} at {field}, got {other:?}"),
    }
    assert_eq!(
        size_of(store).await,
        before,
        "a refused batch stores nothing"
    );
}

/// Refusals name the record and its field and store nothing; a scope may
/// not write what is not its own.
pub async fn check_refusals<S: Store>(store: &S) {
    let p = parties();
    let l = lots();
    let fine = flow(
        "2025-06-01T10:00:00+08:00",
        &p.exporter,
        None,
        adjust(&l.monazite, -1_000, AdjustReason::Loss),
    );
    let unknown = lot_of(&p.miner, "NO-SUCH-LOT");
    let operator = Authority::Installation;
    refused(
        store,
        &operator,
        vec![
            fine.clone(),
            flow(
                "2025-06-01T10:00:00+08:00",
                &p.miner,
                None,
                ship(&unknown, "1 t", &p.separator, "S-X-1"),
            ),
        ],
        1,
        "lot",
        RefusalReason::Unknown,
    )
    .await;
    refused(
        store,
        &operator,
        vec![flow(
            "2100-01-01T00:00:00+08:00",
            &p.miner,
            None,
            ship(&l.ore, "1 t", &p.separator, "S-X-2"),
        )],
        0,
        "event_time",
        RefusalReason::Future,
    )
    .await;
    refused(
        store,
        &operator,
        vec![
            fine.clone(),
            flow(
                "2025-06-01T10:00:00+08:00",
                &p.miner,
                None,
                ship(&l.ore, "0 t", &p.separator, "S-X-3"),
            ),
        ],
        1,
        "mass",
        RefusalReason::OutOfRange,
    )
    .await;
    refused(
        store,
        &operator,
        vec![flow(
            "2025-06-01T10:00:00+08:00",
            &p.miner,
            None,
            ship(&l.ore, "1 t", &p.miner, "S-X-4"),
        )],
        0,
        "to",
        RefusalReason::Malformed,
    )
    .await;

    let before = size_of(store).await;
    let forbidden = [
        (
            Authority::Enterprise(p.magnet_maker.clone()),
            fine.clone(),
            "enterprise",
        ),
        (Authority::Register, fine.clone(), "kind"),
        (Authority::Designation, fine.clone(), "kind"),
        (
            Authority::Enterprise(p.miner.clone()),
            designate(&p.miner, QuotaCategory::MiningIonic),
            "act",
        ),
        (
            Authority::Register,
            designate(&p.miner, QuotaCategory::MiningIonic),
            "act",
        ),
    ];
    for (authority, record, field) in forbidden {
        match store.append(&authority, vec![record], &context()).await {
            Err(StoreError::Forbidden {
                record: 0,
                field: f,
                ..
            }) if f == field => {}
            other => panic!("{authority:?} writing: expected Forbidden at {field}, got {other:?}"),
        }
    }
    assert_eq!(
        size_of(store).await,
        before,
        "forbidden writes store nothing"
    );
}

async fn stock_of<S: Store>(store: &S, lot: &LotId, holder: &Uscc) -> i64 {
    let view = store
        .lot(&Scope::Installation, lot)
        .await
        .expect("the lot exists");
    view.positions
        .iter()
        .filter(|p| &p.holder == holder)
        .map(|p| p.mass)
        .sum()
}

/// A batch is all or nothing: a good record before a refused one leaves no trace.
pub async fn check_all_or_nothing<S: Store>(store: &S) {
    let p = parties();
    let l = lots();
    let stock = stock_of(store, &l.opening, &p.exporter).await;
    let entries = store
        .entries(
            &Scope::Installation,
            &EntryFilter::default(),
            &PageRequest::first(MAX_PAGE),
        )
        .await
        .expect("entries")
        .items
        .len();
    let batch = vec![
        flow(
            "2025-06-01T10:00:00+08:00",
            &p.exporter,
            None,
            adjust(&l.opening, 2_000_000, AdjustReason::StockTake),
        ),
        flow(
            "2025-06-01T11:00:00+08:00",
            &p.exporter,
            None,
            adjust(&l.opening, -500_000, AdjustReason::Loss),
        ),
        flow(
            "2025-06-01T12:00:00+08:00",
            &p.exporter,
            None,
            ship(&l.opening, "0 t", &p.magnet_maker, "S-E-1"),
        ),
    ];
    refused(
        store,
        &Authority::Enterprise(p.exporter.clone()),
        batch,
        2,
        "mass",
        RefusalReason::OutOfRange,
    )
    .await;
    assert_eq!(
        stock_of(store, &l.opening, &p.exporter).await,
        stock,
        "no record of a refused batch moved stock"
    );
    let after = store
        .entries(
            &Scope::Installation,
            &EntryFilter::default(),
            &PageRequest::first(MAX_PAGE),
        )
        .await
        .expect("entries")
        .items
        .len();
    assert_eq!(after, entries, "no record of a refused batch was stored");
}

/// A correction reverses the stock the corrected flow moved, marks it
/// corrected, and cannot be applied twice.
pub async fn check_correction<S: Store>(store: &S) {
    let p = parties();
    let l = lots();
    let exporter = Authority::Enterprise(p.exporter.clone());
    let before = stock_of(store, &l.opening, &p.exporter).await;
    let loss = store
        .append(
            &exporter,
            vec![flow(
                "2025-06-02T10:00:00+08:00",
                &p.exporter,
                None,
                adjust(&l.opening, -1_000_000, AdjustReason::Loss),
            )],
            &context(),
        )
        .await
        .expect("the exporter records its loss");
    let wrong = loss.receipts[0].index;
    assert_eq!(
        stock_of(store, &l.opening, &p.exporter).await,
        before - 1_000_000
    );
    let correction = || {
        flow(
            "2025-06-03T10:00:00+08:00",
            &p.exporter,
            None,
            Flow::Correction(Correction {
                corrects: wrong,
                reason: "loss entered in error".to_owned(),
            }),
        )
    };
    let fixed = store
        .append(&exporter, vec![correction()], &context())
        .await
        .expect("the exporter corrects it");
    assert_eq!(
        stock_of(store, &l.opening, &p.exporter).await,
        before,
        "a correction reverses stock"
    );
    let entry = store
        .entry(&Scope::Enterprise(p.exporter.clone()), wrong)
        .await
        .expect("the exporter sees its entry");
    assert_eq!(
        entry.corrected_by,
        Some(fixed.receipts[0].index),
        "the corrected entry names its correction"
    );
    refused(
        store,
        &exporter,
        vec![correction()],
        0,
        "corrects",
        RefusalReason::OutOfRange,
    )
    .await;
    let earlier = store
        .entry(&Scope::Enterprise(p.exporter.clone()), MISTAKEN_ADJUST)
        .await
        .expect("the fixture's mistake");
    assert_eq!(earlier.corrected_by, Some(MISTAKEN_ADJUST + 1));
}

pub mod records {
    //! Records the tests of both stores append beyond the fixture: openings,
    //! shipments, receipts, adjustments and corrections at given moments.

    use retrace_domain::distribution::ElementDistribution;
    use retrace_domain::element::Element;
    use retrace_domain::flow::{
        Adjust, AdjustReason, Correction, Flow, FlowEvent, NewLot, Opening, Receive, Ship,
    };
    use retrace_domain::lot::LotId;
    use retrace_domain::measurement::Measurement;
    use retrace_domain::product::ProductCode;
    use retrace_domain::quantity::{Mass, MassChange, Share};
    use retrace_domain::record::Record;
    use retrace_domain::uscc::Uscc;
    use time::OffsetDateTime;

    /// The fixture's register: its enterprises, facilities and designations.
    pub fn register() -> Vec<Record> {
        super::fixture()
            .into_iter()
            .take_while(|r| matches!(r, Record::Act(_)))
            .collect()
    }

    /// A moment in May 2025, `minute` minutes after its start (Asia/Shanghai).
    pub fn may(minute: i64) -> OffsetDateTime {
        time::macros::datetime!(2025-05-01 00:00 +08:00) + time::Duration::minutes(minute)
    }

    pub fn flow(when: OffsetDateTime, enterprise: &Uscc, flow: Flow) -> Record {
        Record::Flow(FlowEvent {
            event_time: when,
            enterprise: enterprise.clone(),
            facility: None,
            reference: None,
            flow,
        })
    }

    pub fn lot(owner: &Uscc, number: &str) -> LotId {
        LotId::under_uscc(owner, number).expect("test records are well formed")
    }

    /// Declared opening stock of cerium oxide.
    pub fn opening(when: OffsetDateTime, enterprise: &Uscc, number: &str, grams: u64) -> Record {
        let output = NewLot {
            lot: lot(enterprise, number),
            product: ProductCode::parse("OXI-CE").expect("test records are well formed"),
            measurement: Measurement::dry(
                Mass::from_grams(grams),
                "99%"
                    .parse::<Share>()
                    .expect("test records are well formed"),
            ),
            distribution: Some(ElementDistribution::pure(Element::Ce)),
            feed_origin: None,
        };
        flow(
            when,
            enterprise,
            Flow::Opening(Opening {
                output,
                documents: vec!["stock list".to_owned()],
            }),
        )
    }

    pub fn ship(
        when: OffsetDateTime,
        from: &Uscc,
        lot: &LotId,
        grams: u64,
        to: &Uscc,
        number: &str,
    ) -> Record {
        flow(
            when,
            from,
            Flow::Ship(Ship {
                lot: lot.clone(),
                mass: Mass::from_grams(grams),
                to: to.clone(),
                shipment: number.to_owned(),
                contract: None,
                invoice: None,
            }),
        )
    }

    pub fn receive(
        when: OffsetDateTime,
        by: &Uscc,
        lot: &LotId,
        grams: u64,
        from: &Uscc,
        number: &str,
    ) -> Record {
        flow(
            when,
            by,
            Flow::Receive(Receive {
                lot: lot.clone(),
                from: from.clone(),
                shipment: number.to_owned(),
                mass: Mass::from_grams(grams),
                grade: None,
            }),
        )
    }

    pub fn adjust(when: OffsetDateTime, by: &Uscc, lot: &LotId, grams: i64) -> Record {
        let reason = if grams < 0 {
            AdjustReason::Loss
        } else {
            AdjustReason::StockTake
        };
        flow(
            when,
            by,
            Flow::Adjust(Adjust {
                lot: lot.clone(),
                change: MassChange::from_grams(grams),
                reason,
                grade: None,
                note: None,
            }),
        )
    }

    pub fn correction(when: OffsetDateTime, by: &Uscc, corrects: u64) -> Record {
        flow(
            when,
            by,
            Flow::Correction(Correction {
                corrects,
                reason: "entered in error".to_owned(),
            }),
        )
    }
}
/// Every lot of the fixture.
fn all_lots() -> Vec<LotId> {
    let l = lots();
    vec![
        l.ore,
        l.nd_oxide,
        l.dy_oxide,
        l.la_ce_oxide,
        l.nd_metal,
        l.magnet,
        l.opening,
        l.monazite,
        l.ionic,
    ]
}

/// Every party of the fixture.
fn all_parties() -> Vec<Uscc> {
    let p = parties();
    vec![
        p.miner,
        p.separator,
        p.smelter,
        p.magnet_maker,
        p.exporter,
        p.warehouse,
        p.ionic_miner,
    ]
}

/// Issue 3 §2: every read of every table, through every storage call, under
/// scopes that reach none of the fixture's data — an enterprise not on the
/// register, and a province where no party is — answers nothing: empty
/// pages, and `NotFound` for everything named.
pub async fn check_nothing_leaks<S: Store>(store: &S) {
    let everything = PageRequest::first(MAX_PAGE);
    let size = size_of(store).await;
    let facilities = ["MINE-A", "PLANT-B", "PLANT-C", "PLANT-D", "WH-W", "MINE-G"];
    for scope in [
        Scope::Enterprise(Uscc::synthesize("650102", 99)),
        Scope::Region(region("65")),
        Scope::Region(region("150207")),
    ] {
        let what = format!("{scope:?}");
        let entries = store
            .entries(&scope, &EntryFilter::default(), &everything)
            .await
            .expect("entries");
        assert!(entries.items.is_empty(), "{what} lists entries");
        for index in 0..size {
            is_not_found(
                store.entry(&scope, index).await,
                &format!("{what} entry {index}"),
            );
            is_not_found(
                store.receipt(&scope, index).await,
                &format!("{what} receipt {index}"),
            );
        }
        for lot in all_lots() {
            is_not_found(store.lot(&scope, &lot).await, &format!("{what} lot {lot}"));
            for direction in [Direction::Backward, Direction::Forward] {
                is_not_found(
                    store.trace(&scope, &lot, direction, &everything).await,
                    &format!("{what} traces {lot}"),
                );
            }
        }
        let stock = store
            .stock(
                &scope,
                &StockFilter {
                    include_empty: true,
                    ..StockFilter::default()
                },
                &everything,
            )
            .await
            .expect("stock");
        assert!(stock.items.is_empty(), "{what} lists stock");
        let flags = store
            .flags(&scope, &FlagFilter::default(), &everything)
            .await
            .expect("flags");
        assert!(flags.items.is_empty(), "{what} lists flags");
        let enterprises = store
            .enterprises(&scope, &EnterpriseFilter::default(), &everything)
            .await
            .expect("enterprises");
        assert!(enterprises.items.is_empty(), "{what} lists enterprises");
        for party in all_parties() {
            is_not_found(
                store.enterprise(&scope, &party).await,
                &format!("{what} enterprise {party}"),
            );
        }
        let listed = store
            .facilities(&scope, &FacilityFilter::default(), &everything)
            .await
            .expect("facilities");
        assert!(listed.items.is_empty(), "{what} lists facilities");
        for id in facilities {
            is_not_found(
                store.facility(&scope, &facility_id(id)).await,
                &format!("{what} facility {id}"),
            );
        }
        let designations = store
            .designations(&scope, &DesignationFilter::default(), &everything)
            .await
            .expect("designations");
        assert!(designations.items.is_empty(), "{what} lists designations");
    }
}

/// The register in scope: a region sees the enterprises seated there or with
/// a facility there, with their facilities and designations; an enterprise
/// sees itself.
pub async fn check_register<S: Store>(store: &S) {
    let p = parties();
    let everything = PageRequest::first(MAX_PAGE);
    let usccs = |page: &crate::model::Page<crate::model::EnterpriseView>| -> BTreeSet<Uscc> {
        page.items
            .iter()
            .map(|e| e.enterprise.uscc.clone())
            .collect()
    };
    let nation = store
        .enterprises(
            &Scope::Region(RegionCode::nation()),
            &EnterpriseFilter::default(),
            &everything,
        )
        .await
        .expect("enterprises");
    assert_eq!(usccs(&nation), all_parties().into_iter().collect());
    // The warehouse trader is seated in 150203 and stores in 150204: the
    // county of its warehouse sees it, and the county of neither does not.
    let warehouse_county = store
        .enterprises(
            &Scope::Region(region("150204")),
            &EnterpriseFilter::default(),
            &everything,
        )
        .await
        .expect("enterprises");
    assert_eq!(
        usccs(&warehouse_county),
        BTreeSet::from([p.warehouse.clone()])
    );
    let view = store
        .enterprise(&Scope::Region(region("150204")), &p.warehouse)
        .await
        .expect("the warehouse's county sees it");
    assert_eq!(view.facilities.len(), 1);
    assert_eq!(view.facilities[0].id.as_str(), "WH-W");
    let baotou = store
        .enterprises(
            &Scope::Region(region("1502")),
            &EnterpriseFilter::default(),
            &everything,
        )
        .await
        .expect("enterprises");
    assert_eq!(
        usccs(&baotou),
        BTreeSet::from([p.miner.clone(), p.separator.clone(), p.warehouse.clone()])
    );
    let northern = store
        .enterprises(
            &Scope::Region(RegionCode::nation()),
            &EnterpriseFilter {
                group: Some(Group::NorthernRareEarth),
                ..EnterpriseFilter::default()
            },
            &everything,
        )
        .await
        .expect("enterprises");
    assert_eq!(
        usccs(&northern),
        BTreeSet::from([p.miner.clone(), p.separator.clone()])
    );
    let miners = store
        .enterprises(
            &Scope::Region(RegionCode::nation()),
            &EnterpriseFilter {
                kind: Some(EnterpriseKind::Mining),
                ..EnterpriseFilter::default()
            },
            &PageRequest::first(1),
        )
        .await
        .expect("enterprises");
    assert_eq!(miners.items.len(), 1, "a page of one");
    assert!(miners.next.is_some(), "two miners: a second page");
    let own = store
        .enterprise(&Scope::Enterprise(p.miner.clone()), &p.miner)
        .await
        .expect("an enterprise sees itself");
    assert_eq!(own.designations.len(), 1);
    assert_eq!(own.designations[0].category, QuotaCategory::MiningRock);
    is_not_found(
        store
            .enterprise(&Scope::Enterprise(p.miner.clone()), &p.separator)
            .await,
        "an enterprise asks for another",
    );
    let designated = store
        .designations(
            &Scope::Region(RegionCode::nation()),
            &DesignationFilter {
                category: Some(QuotaCategory::Separation),
                valid_on: Some(time::macros::date!(2025 - 05 - 10)),
                ..DesignationFilter::default()
            },
            &everything,
        )
        .await
        .expect("designations");
    assert_eq!(designated.items.len(), 1);
    assert_eq!(designated.items[0].enterprise, p.separator);
    let in_jiangxi = store
        .facilities(
            &Scope::Region(region("36")),
            &FacilityFilter::default(),
            &everything,
        )
        .await
        .expect("facilities");
    let ids: BTreeSet<&str> = in_jiangxi.items.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, BTreeSet::from(["MINE-G", "PLANT-C"]));
}

/// Issue 3 §2: a trace crosses enterprises, and what others recorded is shown
/// by its public part only — no masses, no place that only their
/// confidential record names.
pub async fn check_trace_disclosure<S: Store>(store: &S) {
    let (p, l) = (parties(), lots());
    let everything = PageRequest::first(crate::trace::MAX_TRACE_EDGES);
    let magnets = store
        .trace(
            &Scope::Enterprise(p.magnet_maker.clone()),
            &l.magnet,
            Direction::Backward,
            &everything,
        )
        .await
        .expect("the magnet maker traces its magnets");
    assert!(!magnets.edges.is_empty());
    for e in &magnets.edges {
        let own = e.enterprise == p.magnet_maker;
        assert_eq!(e.disclosed, own, "{e:?}");
        assert_eq!(e.mass.is_some(), own, "masses of others' entries: {e:?}");
        assert_eq!(e.reo.is_some(), own, "{e:?}");
    }
    assert!(
        magnets.edges.iter().any(
            |e| matches!(&e.from, TraceNode::Mine { enterprise, .. } if *enterprise == p.miner)
        ),
        "the mine is public: the extraction names its own enterprise"
    );
    let ore = store
        .trace(
            &Scope::Enterprise(p.miner.clone()),
            &l.ore,
            Direction::Forward,
            &everything,
        )
        .await
        .expect("the miner traces its ore forward");
    for e in &ore.edges {
        if !e.disclosed {
            assert!(e.mass.is_none() && e.reo.is_none(), "{e:?}");
            for node in [&e.from, &e.to] {
                match node {
                    TraceNode::Lot { .. } | TraceNode::Undisclosed => {}
                    TraceNode::Holder { enterprise }
                    | TraceNode::Mine { enterprise, .. }
                    | TraceNode::Opening { enterprise } => assert_eq!(enterprise, &e.enterprise),
                    other => panic!("a withheld edge names {other:?}"),
                }
            }
        }
    }
    assert!(
        ore.edges.iter().any(|e| !e.disclosed
            && (e.to == TraceNode::Undisclosed || e.from == TraceNode::Undisclosed)),
        "the separator's customers are not the miner's to know: {:?}",
        ore.edges
    );
    let whole = store
        .trace(
            &Scope::Installation,
            &l.ore,
            Direction::Forward,
            &everything,
        )
        .await
        .expect("the installation traces the ore");
    assert!(whole.edges.iter().all(|e| e.disclosed && e.mass.is_some()));
    assert_eq!(
        whole.edges.len(),
        ore.edges.len(),
        "the same walk, told differently"
    );
}

/// Issue 3 §6: what the public may know of a lot — the chain to its mine
/// with the producers' designations and a proof of every step — and
/// nothing confidential.
pub async fn check_public<S: Store>(store: &S, verifier: &LogVerifier) {
    let (p, l) = (parties(), lots());
    let public = store
        .public_lot(&l.magnet)
        .await
        .expect("the magnets' public page");
    assert_eq!(public.lot.lot, l.magnet);
    assert_eq!(public.lot.producer.uscc, p.magnet_maker);
    assert_eq!(public.lot.from, vec![l.nd_metal.clone()]);
    let chain: BTreeMap<&LotId, &crate::public::PublicStep> =
        public.chain.iter().map(|s| (&s.lot, s)).collect();
    let ore = chain.get(&l.ore).expect("the chain reaches the ore");
    assert_eq!(ore.kind, retrace_domain::flow::FlowKind::Extract);
    assert_eq!(ore.producer.uscc, p.miner);
    assert_eq!(ore.facility.as_ref().map(|f| f.as_str()), Some("MINE-A"));
    assert_eq!(ore.producer.designated.len(), 1, "the miner was designated");
    assert_eq!(
        ore.producer.designated[0].category,
        QuotaCategory::MiningRock
    );
    let oxide = chain
        .get(&l.nd_oxide)
        .expect("the chain passes the separation");
    assert_eq!(oxide.basis, EdgeBasis::Attributed);
    assert!(public.attributed);
    assert!(
        chain
            .get(&l.nd_metal)
            .is_some_and(|s| s.producer.designated.is_empty())
    );
    let checkpoint = SignedCheckpoint::parse_and_verify(public.checkpoint.as_bytes(), verifier)
        .expect("the public checkpoint verifies");
    assert_eq!(public.log_key, verifier.to_string());
    let mut named: BTreeSet<u64> = public.chain.iter().map(|s| s.entry).collect();
    named.insert(public.lot.entry);
    let proved: BTreeSet<u64> = public.proofs.iter().map(|p| p.index).collect();
    assert_eq!(named, proved, "a proof for every step");
    for proof in &public.proofs {
        let leaf = leaf_hash(proof.entry.as_bytes());
        assert_eq!(leaf.to_string(), proof.leaf);
        let path: Vec<retrace_ledger::hash::Hash> = proof
            .proof
            .iter()
            .map(|h| h.parse().expect("hex"))
            .collect();
        verify_inclusion(
            &leaf,
            proof.index,
            checkpoint.size(),
            &path,
            &checkpoint.root(),
        )
        .expect("each step is in the log");
        let entry = retrace_ledger::entry::Entry::decode(proof.entry.as_bytes()).expect("an entry");
        let public_part: serde_json::Value =
            serde_json::from_slice(entry.public()).expect("public JSON");
        let keys: BTreeSet<&str> = public_part
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            BTreeSet::from(["enterprise", "event_time", "kind", "lots", "record_time"]),
            "an entry shows only its public part"
        );
    }
    let text = serde_json::to_string(&public).expect("JSON");
    for secret in [
        "\"mass\"",
        "\"reo\"",
        "measurement",
        "shipment",
        "S-A-1",
        "grade",
        "\"to\"",
    ] {
        assert!(
            !text.contains(secret),
            "the public page shows {secret}: {text}"
        );
    }
    is_not_found(
        store.public_lot(&lot_of(&p.miner, "NEVER-MADE")).await,
        "a lot the ledger does not know",
    );
}
