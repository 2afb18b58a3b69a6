//! Keeps the synthetic industry's books the way a regulator would — every
//! record replayed in event-time order, stock per lot and holder, shipments
//! matched to receipts, recovery and per-element balance per facility,
//! process and month — and checks that the only breaches are the planted ones.

use std::collections::BTreeMap;

use retrace_domain::distribution::ElementMasses;
use retrace_domain::element::Element;
use retrace_domain::enterprise::{Designation, QuotaCategory};
use retrace_domain::export_control::ExportControls;
use retrace_domain::facility::{Facility, FacilityId, Process};
use retrace_domain::flow::{Flow, FlowEvent, NewLot};
use retrace_domain::lot::{FeedOrigin, LotId};
use retrace_domain::product::{Catalogue, OreType, ProductKind};
use retrace_domain::project::{SHANGHAI, shanghai_date};
use retrace_domain::quantity::{Mass, PPM};
use retrace_domain::record::Record;
use retrace_domain::rules::{Rule, Rules};
use retrace_domain::uscc::Uscc;
use retrace_synth::{GroundTruth, Industry, PlantedCase, SynthConfig};
use time::{Date, OffsetDateTime, Time, Weekday};

const TONNE: u64 = 1_000_000;
/// Y share at or above which a signature is ionic-clay (the rule table's 8 %).
const IONIC_Y_PPM: u32 = 80_000;

#[derive(Debug)]
struct Lot {
    kind: ProductKind,
    grade: retrace_domain::quantity::Share,
    wet: u64,
    reo: u64,
    elements: ElementMasses,
    y_ppm: u32,
    origin: FeedOrigin,
    distribution: Option<retrace_domain::distribution::ElementDistribution>,
    main: Option<Element>,
}

impl Lot {
    fn reo_of(&self, mass: u64) -> u64 {
        Mass::from_grams(self.reo).scale(mass, self.wet).grams()
    }

    fn elements_of(&self, mass: u64) -> ElementMasses {
        self.elements
            .map(|e| Mass::from_grams(e).scale(mass, self.wet).grams())
    }

    fn share(&self, e: Element) -> u32 {
        match &self.distribution {
            Some(d) => d.share(e).ppm(),
            None if self.main == Some(e) => PPM,
            None => 0,
        }
    }
}

#[derive(Debug, Default)]
struct ProcessMonth {
    in_reo: u64,
    out_reo: u64,
    in_ionic: u64,
    in_elements: ElementMasses,
    out_elements: ElementMasses,
}

#[derive(Debug)]
struct Shipped {
    lot: LotId,
    to: Uscc,
    mass: u64,
    at: OffsetDateTime,
}

/// What the books found, breach by breach.
#[derive(Debug, Default)]
struct Books {
    lots: BTreeMap<LotId, Lot>,
    stock: BTreeMap<(LotId, Uscc), i128>,
    shipments: BTreeMap<(Uscc, String), Shipped>,
    pools: BTreeMap<(FacilityId, Process, String), ProcessMonth>,
    facilities: BTreeMap<FacilityId, Facility>,
    designations: Vec<Designation>,
    last: Option<OffsetDateTime>,
    flows: u64,
    mined: u64,
    separated: u64,
    negative: Vec<String>,
    short: Vec<(Uscc, LotId, String)>,
    late_receipts: usize,
    unlicensed: Vec<(Uscc, LotId, String)>,
    undesignated: Vec<(Uscc, String)>,
    ionic_scrap_declared: Vec<(Uscc, LotId)>,
    ionic_scrap_fed: Vec<(Uscc, LotId, String)>,
    origin_mismatches: usize,
    bad_times: usize,
    /// Flows the clean industry must exercise.
    warehouse_transfers: usize,
    hold_ups: usize,
    licensed_exports: usize,
}

fn month_of(t: OffsetDateTime) -> String {
    let d = shanghai_date(t);
    format!("{:04}-{:02}", d.year(), u8::from(d.month()))
}

impl Books {
    fn act(&mut self, record: &Record) {
        let Record::Act(a) = record else {
            panic!("the register holds acts only")
        };
        match &a.act {
            retrace_domain::act::Act::RegisterFacility(f) => {
                self.facilities.insert(f.id.clone(), f.clone());
            }
            retrace_domain::act::Act::Designate(d) => self.designations.push(d.clone()),
            _ => {}
        }
    }

    fn new_lot(&mut self, new: &NewLot, day: Date, origin: FeedOrigin) -> u64 {
        let product = Catalogue::embedded()
            .get(&new.product, day)
            .expect("catalogue product");
        let content = new
            .measurement
            .reo(product, new.distribution.as_ref())
            .expect("REO derivable");
        let lot = Lot {
            kind: product.kind,
            grade: new.measurement.grade,
            wet: new.measurement.wet_mass.grams(),
            reo: content.total.grams(),
            elements: content
                .by_element
                .expect("every synthetic lot carries its distribution"),
            y_ppm: new
                .distribution
                .as_ref()
                .map_or(0, |d| d.share(Element::Y).ppm()),
            origin,
            distribution: new.distribution.clone(),
            main: product.main_element,
        };
        let reo = lot.reo;
        assert!(
            self.lots.insert(new.lot.clone(), lot).is_none(),
            "lot {} made twice",
            new.lot
        );
        reo
    }

    fn move_stock(&mut self, lot: &LotId, holder: &Uscc, grams: i128, what: &str) {
        let s = self.stock.entry((lot.clone(), holder.clone())).or_default();
        *s += grams;
        if *s < 0 {
            self.negative
                .push(format!("{what}: {lot} at {holder} is {s} g"));
        }
    }

    fn flow(&mut self, event: &FlowEvent) {
        let t = event.event_time;
        if self.last.is_some_and(|l| l > t) || t.offset() != SHANGHAI {
            self.bad_times += 1;
        }
        let local = t.to_offset(SHANGHAI);
        let hours = Time::from_hms(8, 30, 0).unwrap()..Time::from_hms(17, 30, 0).unwrap();
        if !hours.contains(&local.time())
            || matches!(local.weekday(), Weekday::Saturday | Weekday::Sunday)
        {
            self.bad_times += 1;
        }
        self.last = Some(t);
        self.flows += 1;
        let day = shanghai_date(t);
        let month = month_of(t);
        let me = &event.enterprise;
        match &event.flow {
            Flow::Opening(o) => {
                let origin = o.output.feed_origin.unwrap_or(FeedOrigin::Declared);
                self.new_lot(&o.output, day, origin);
                let lot = &self.lots[&o.output.lot];
                if lot.kind == ProductKind::Scrap && lot.y_ppm >= IONIC_Y_PPM {
                    self.ionic_scrap_declared
                        .push((me.clone(), o.output.lot.clone()));
                }
                self.move_stock(
                    &o.output.lot,
                    me,
                    i128::from(o.output.measurement.wet_mass.grams()),
                    "opening",
                );
            }
            Flow::Extract(x) => {
                self.mined += self.new_lot(&x.output, day, FeedOrigin::DomesticOre);
                let mine = &self.facilities[event.facility.as_ref().expect("extraction at a mine")];
                let category = match mine.ore_type() {
                    Some(OreType::Ionic) => QuotaCategory::MiningIonic,
                    _ => QuotaCategory::MiningRock,
                };
                if !self
                    .designations
                    .iter()
                    .any(|d| &d.enterprise == me && d.covers(category, day))
                {
                    self.undesignated.push((me.clone(), month.clone()));
                }
                self.move_stock(
                    &x.output.lot,
                    me,
                    i128::from(x.output.measurement.wet_mass.grams()),
                    "extract",
                );
            }
            Flow::Import(i) => {
                let product = Catalogue::embedded().get(&i.output.product, day).unwrap();
                let origin = if product.ore_type == Some(OreType::Monazite) {
                    FeedOrigin::Monazite
                } else {
                    FeedOrigin::ImportedOre
                };
                self.new_lot(&i.output, day, origin);
                self.move_stock(
                    &i.output.lot,
                    me,
                    i128::from(i.output.measurement.wet_mass.grams()),
                    "import",
                );
            }
            Flow::Transform(tr) => {
                let facility = event.facility.clone().expect("transformation at a plant");
                let mut pm = ProcessMonth::default();
                let mut by_origin: BTreeMap<FeedOrigin, u64> = BTreeMap::new();
                for input in &tr.inputs {
                    let lot = &self.lots[&input.lot];
                    let mass = input.mass.grams();
                    let reo = lot.reo_of(mass);
                    pm.in_reo += reo;
                    for (a, b) in pm.in_elements.iter_mut().zip(lot.elements_of(mass)) {
                        *a += b;
                    }
                    if lot.y_ppm >= IONIC_Y_PPM {
                        pm.in_ionic += reo;
                    }
                    if input.feed_origin != lot.origin && lot.origin != FeedOrigin::Declared {
                        self.origin_mismatches += 1;
                    }
                    if input.feed_origin == FeedOrigin::RecycledScrap && lot.y_ppm >= IONIC_Y_PPM {
                        self.ionic_scrap_fed
                            .push((me.clone(), input.lot.clone(), month.clone()));
                    }
                    *by_origin.entry(input.feed_origin).or_default() += reo;
                    self.move_stock(&input.lot, me, -i128::from(mass), "transform input");
                }
                let origin = if tr.process == Process::Recycling {
                    FeedOrigin::RecycledScrap
                } else {
                    by_origin
                        .iter()
                        .max_by_key(|(o, r)| (**r, std::cmp::Reverse(**o)))
                        .map(|(o, _)| *o)
                        .unwrap()
                };
                for out in &tr.outputs {
                    self.new_lot(out, day, origin);
                    let lot = &self.lots[&out.lot];
                    pm.out_reo += lot.reo;
                    for (a, b) in pm.out_elements.iter_mut().zip(lot.elements) {
                        *a += b;
                    }
                    if tr.process == Process::Separation {
                        self.separated += lot.reo;
                    }
                    self.move_stock(
                        &out.lot,
                        me,
                        i128::from(out.measurement.wet_mass.grams()),
                        "transform output",
                    );
                }
                let total = self.pools.entry((facility, tr.process, month)).or_default();
                total.in_reo += pm.in_reo;
                total.out_reo += pm.out_reo;
                total.in_ionic += pm.in_ionic;
                for i in 0..16 {
                    total.in_elements[i] += pm.in_elements[i];
                    total.out_elements[i] += pm.out_elements[i];
                }
            }
            Flow::Ship(s) => {
                assert!(self.lots.contains_key(&s.lot));
                self.move_stock(&s.lot, me, -i128::from(s.mass.grams()), "ship");
                let shipped = Shipped {
                    lot: s.lot.clone(),
                    to: s.to.clone(),
                    mass: s.mass.grams(),
                    at: t,
                };
                assert!(
                    self.shipments
                        .insert((me.clone(), s.shipment.clone()), shipped)
                        .is_none(),
                    "shipment recorded twice"
                );
            }
            Flow::Receive(r) => {
                let shipped = self
                    .shipments
                    .remove(&(r.from.clone(), r.shipment.clone()))
                    .expect("a receipt quotes a recorded shipment");
                assert_eq!(shipped.lot, r.lot);
                assert_eq!(&shipped.to, me);
                if shipped.at >= t {
                    self.late_receipts += 1;
                }
                if let Some(g) = r.grade {
                    assert_eq!(
                        g, self.lots[&r.lot].grade,
                        "the receiver's assay matches the lot's grade"
                    );
                }
                let diff = shipped.mass.abs_diff(r.mass.grams());
                if u128::from(diff) * 1_000 > u128::from(shipped.mass) * 2 {
                    self.short.push((me.clone(), r.lot.clone(), month));
                }
                self.move_stock(&r.lot, me, i128::from(r.mass.grams()), "receive");
            }
            Flow::Transfer(tr) => {
                self.warehouse_transfers += usize::from(tr.holder.is_some());
                let holder = tr.holder.clone().unwrap_or_else(|| me.clone());
                self.move_stock(&tr.lot, &holder, -i128::from(tr.mass.grams()), "transfer");
                self.move_stock(&tr.lot, &holder, i128::from(tr.mass.grams()), "transfer");
            }
            Flow::Export(x) => {
                self.move_stock(&x.lot, me, -i128::from(x.mass.grams()), "export");
                let lot = &self.lots[&x.lot];
                let threshold = Rules::standard().in_force(day).control_threshold_ppm;
                let controlled =
                    ExportControls::embedded().controlled_content(day, |e| lot.share(e), threshold);
                self.licensed_exports += usize::from(x.licence.is_some());
                if !controlled.is_empty() && x.licence.is_none() {
                    self.unlicensed.push((me.clone(), x.lot.clone(), month));
                }
            }
            Flow::Adjust(a) => {
                self.hold_ups +=
                    usize::from(a.reason == retrace_domain::flow::AdjustReason::CircuitHoldUp);
                self.move_stock(&a.lot, me, i128::from(a.change.grams()), "adjust");
            }
            Flow::Correction(_) => panic!("the synthetic industry records no corrections"),
        }
    }

    /// Facility-process-months whose recovery is outside the band.
    fn out_of_band(&self) -> Vec<(FacilityId, Process, String)> {
        let rules = Rules::standard();
        self.pools
            .iter()
            .filter(|((_, process, month), pm)| {
                let day = Date::parse(
                    &format!("{month}-01"),
                    &time::format_description::well_known::Iso8601::DATE,
                )
                .unwrap();
                let band = rules
                    .in_force(day)
                    .recovery_band(*process, pm.in_ionic * 2 > pm.in_reo);
                let recovery =
                    u128::from(pm.out_reo) * u128::from(PPM) / u128::from(pm.in_reo.max(1));
                recovery < u128::from(band.min_ppm) || recovery > u128::from(PPM)
            })
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Pool facility-process-months with more of some element out than in,
    /// and those elements.
    fn element_excess(&self) -> Vec<((FacilityId, Process, String), Vec<Element>)> {
        self.pools
            .iter()
            .filter(|((_, p, _), _)| p.pools_feed())
            .filter_map(|(k, pm)| {
                let over: Vec<Element> = Element::ALL
                    .into_iter()
                    .filter(|e| pm.out_elements[*e as usize] > pm.in_elements[*e as usize])
                    .collect();
                (!over.is_empty()).then(|| (k.clone(), over))
            })
            .collect()
    }
}

/// Keeps the books of a whole year.
fn keep_books(industry: &Industry) -> Books {
    let mut books = Books::default();
    for r in industry.register() {
        books.act(&r);
    }
    let mut months = 0;
    for month in industry.months() {
        months += 1;
        for r in &month {
            let Record::Flow(f) = r else {
                panic!("months hold flows only")
            };
            assert_eq!(
                u8::from(shanghai_date(f.event_time).month()),
                months,
                "a flow in the wrong month"
            );
            books.flow(f);
        }
    }
    assert_eq!(months, 12);
    books
}

fn case(truth: &GroundTruth, rule: Rule) -> &PlantedCase {
    truth
        .cases
        .iter()
        .find(|c| c.rule == rule)
        .unwrap_or_else(|| panic!("no {} case", rule.as_str()))
}

fn assert_tonnage(books: &Books, target: u64) {
    let mined = books.mined / TONNE;
    let separated = books.separated / TONNE;
    assert!((256_500..=283_500).contains(&mined), "mined {mined} t REO");
    assert!(
        (241_300..=266_700).contains(&separated),
        "separated {separated} t REO"
    );
    assert!(
        books.flows * 10 > target * 7 && books.flows * 10 < target * 13,
        "{} flows for a target of {target}",
        books.flows
    );
}

fn assert_clean_basics(books: &Books) {
    assert!(
        books.negative.is_empty(),
        "{:?}",
        &books.negative[..books.negative.len().min(5)]
    );
    assert!(
        books.shipments.is_empty(),
        "{} shipments never received",
        books.shipments.len()
    );
    assert_eq!(books.late_receipts, 0);
    assert_eq!(books.origin_mismatches, 0);
    assert_eq!(books.bad_times, 0);
    assert!(
        books.warehouse_transfers > 0,
        "no title passed in a warehouse"
    );
    assert!(books.hold_ups > 0, "no solvent-extraction hold-up");
    assert!(books.licensed_exports > 0, "no licensed export");
}

#[test]
fn default_industry_balances_except_where_planted() {
    let industry = Industry::new(SynthConfig {
        seed: 7,
        anomalies: true,
        ..SynthConfig::default()
    });
    let books = keep_books(&industry);
    let truth = industry.ground_truth();
    assert_clean_basics(&books);
    assert_tonnage(&books, 60_000);
    assert_eq!(truth.cases.len(), 6);

    let short = case(&truth, Rule::TransferMismatch);
    assert_eq!(
        books.short,
        vec![(
            short.enterprise.clone(),
            short.lot.clone().unwrap(),
            short.month.clone().unwrap()
        )]
    );

    let export = case(&truth, Rule::ExportWithoutLicence);
    assert_eq!(
        books.unlicensed,
        vec![(
            export.enterprise.clone(),
            export.lot.clone().unwrap(),
            export.month.clone().unwrap()
        )]
    );

    let undesignated = case(&truth, Rule::UndesignatedExtraction);
    assert!(
        books
            .undesignated
            .iter()
            .all(|(e, _)| *e == undesignated.enterprise)
    );
    assert_eq!(
        books.undesignated.first().map(|(_, m)| m),
        undesignated.month.as_ref()
    );

    let recovery = case(&truth, Rule::RecoveryOutOfBand);
    let recovery_key = (
        recovery.facility.clone().unwrap(),
        Process::Separation,
        recovery.month.clone().unwrap(),
    );
    assert_eq!(books.out_of_band(), vec![recovery_key.clone()]);
    let pm = &books.pools[&recovery_key];
    assert_eq!(
        u128::from(pm.out_reo) * 100 / u128::from(pm.in_reo),
        102,
        "about 103 %, rounded down"
    );

    let imbalance = case(&truth, Rule::ElementImbalance);
    let imbalance_key = (
        imbalance.facility.clone().unwrap(),
        Process::Separation,
        imbalance.month.clone().unwrap(),
    );
    let excess: BTreeMap<_, _> = books.element_excess().into_iter().collect();
    assert_eq!(excess.len(), 2, "{excess:?}");
    assert_eq!(excess[&imbalance_key], vec![Element::Dy]);
    assert!(excess.contains_key(&recovery_key));
    let pm = &books.pools[&imbalance_key];
    let dy = Element::Dy as usize;
    assert!(pm.out_elements[dy] > pm.in_elements[dy] * 19 / 10);

    let scrap = case(&truth, Rule::FingerprintMismatch);
    assert_eq!(
        books.ionic_scrap_declared,
        vec![(scrap.enterprise.clone(), scrap.lot.clone().unwrap())]
    );
    assert_eq!(
        books.ionic_scrap_fed,
        vec![(
            scrap.enterprise.clone(),
            scrap.lot.clone().unwrap(),
            scrap.month.clone().unwrap()
        )]
    );

    for c in &truth.cases {
        assert!(
            c.description.starts_with(&format!("[{}]", c.rule.as_str())),
            "{}",
            c.description
        );
    }
}

#[test]
fn a_clean_industry_has_nothing_to_flag() {
    let industry = Industry::new(SynthConfig {
        seed: 8,
        anomalies: false,
        ..SynthConfig::default()
    });
    let books = keep_books(&industry);
    assert_clean_basics(&books);
    assert!(books.short.is_empty() && books.unlicensed.is_empty() && books.undesignated.is_empty());
    assert!(books.ionic_scrap_declared.is_empty() && books.ionic_scrap_fed.is_empty());
    assert!(books.out_of_band().is_empty(), "{:?}", books.out_of_band());
    assert!(
        books.element_excess().is_empty(),
        "{:?}",
        books.element_excess()
    );
    assert!(industry.ground_truth().cases.is_empty());
    assert_tonnage(&books, 60_000);
}

#[test]
fn more_events_means_smaller_lots_not_more_tonnes() {
    let industry = Industry::new(SynthConfig {
        seed: 9,
        target_events: 600_000,
        ..SynthConfig::default()
    });
    let mut mined = 0u64;
    let mut separated = 0u64;
    let mut flows = 0u64;
    let reo = |new: &NewLot, t: OffsetDateTime| {
        let product = Catalogue::embedded()
            .get(&new.product, shanghai_date(t))
            .unwrap();
        new.measurement
            .reo(product, new.distribution.as_ref())
            .unwrap()
            .total
            .grams()
    };
    for r in industry.records() {
        let Record::Flow(f) = r else { unreachable!() };
        flows += 1;
        match &f.flow {
            Flow::Extract(x) => mined += reo(&x.output, f.event_time),
            Flow::Transform(t) if t.process == Process::Separation => {
                separated += t.outputs.iter().map(|o| reo(o, f.event_time)).sum::<u64>()
            }
            _ => {}
        }
    }
    let books = Books {
        mined,
        separated,
        flows,
        ..Books::default()
    };
    assert_tonnage(&books, 600_000);
}

/// The JSON of everything an industry gives, record by record; with
/// `round_trip`, every record is also read back and compared.
fn bytes(industry: &Industry, round_trip: bool) -> Vec<String> {
    let register = industry.register();
    let months: Vec<Record> = industry.months().flatten().collect();
    let mut out = Vec::with_capacity(register.len() + months.len() + 1);
    for r in register.iter().chain(&months) {
        let text = serde_json::to_string(r).unwrap();
        if round_trip {
            let back: Record =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
            assert_eq!(&back, r);
        }
        out.push(text);
    }
    out.push(serde_json::to_string(&industry.ground_truth()).unwrap());
    out
}

#[test]
fn the_same_seed_gives_the_same_bytes_and_another_seed_other_places() {
    let config = SynthConfig {
        seed: 21,
        target_events: 20_000,
        anomalies: true,
        ..SynthConfig::default()
    };
    let first = Industry::new(config.clone());
    assert_eq!(
        bytes(&first, true),
        bytes(&Industry::new(config.clone()), false)
    );

    let other = Industry::new(SynthConfig { seed: 22, ..config });
    let places = |t: &GroundTruth| -> BTreeMap<Rule, (Uscc, Option<String>)> {
        t.cases
            .iter()
            .map(|c| (c.rule, (c.enterprise.clone(), c.month.clone())))
            .collect()
    };
    let (a, b) = (places(&first.ground_truth()), places(&other.ground_truth()));
    assert_eq!(a.len(), 6);
    assert_eq!(b.len(), 6);
    let moved = a
        .iter()
        .filter(|(rule, place)| b.get(rule) != Some(place))
        .count();
    assert!(moved >= 5, "only {moved} of 6 cases moved: {a:?} vs {b:?}");
    let json = serde_json::to_string(&first.ground_truth()).unwrap();
    assert_eq!(
        serde_json::from_str::<GroundTruth>(&json).unwrap(),
        first.ground_truth()
    );
}
