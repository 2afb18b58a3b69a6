//! Flows that make lots: opening stock, extraction, imports, and the five
//! transformations from concentrate to magnet and from scrap back to oxide.
//!
//! Every transformation scales its inputs' REO element by element by a
//! recovery drawn inside its band with margin (DESIGN.md §2 "Rules worth a
//! clear flag"), so the recovery and the per-element balance of each
//! facility, process and month hold by construction — except where the plan
//! plants an anomaly.

use std::sync::Arc;

use rand::Rng;
use retrace_domain::distribution::ElementMasses;
use retrace_domain::element::Element;
use retrace_domain::facility::Process;
use retrace_domain::flow::{Extract, Flow, Import, NewLot, Opening, Transform};
use retrace_domain::lot::FeedOrigin;
use retrace_domain::measurement::AssayCertificate;
use retrace_domain::product::{OreType, Product, ProductKind};
use retrace_domain::quantity::PPM;
use retrace_domain::rules::Rule;

use super::{Draw, LotKind, Sim, Slot};
use crate::anomaly::PlantedCase;
use crate::chem::{self, LotInfo, Signature, weights};
use crate::register::{PlantFeed, RECYCLED_FEED_T, RECYCLING_T, Role, SepStyle, TONNE};

/// Base lot and batch sizes, kg REO at the default density.
pub(super) const EXTRACT_LOT_KG: u64 = 90_000;
const IMPORT_LOT_KG: u64 = 60_000;
const CRACK_BATCH_KG: u64 = 250_000;
const ROCK_SEPARATION_KG: u64 = 300_000;
const PURE_SEPARATION_KG: u64 = 100_000;
const SMELT_BATCH_KG: u64 = 30_000;
const HEAVY_SMELT_BATCH_KG: u64 = 3_000;
const MAGNET_BATCH_KG: u64 = 20_000;
const RECYCLE_BATCH_KG: u64 = 20_000;

/// Recoveries of the clean industry (ppm), inside the bands with margin:
/// cracking minimum 92 %, separation 96 % (bastnäsite) and 94 % (ionic),
/// metal smelting 92 %, recycling 80 %, magnet making 85 %; maximum 100 %.
const CRACKING: (u32, u32) = (935_000, 960_000);
const SEPARATION_ROCK: (u32, u32) = (970_000, 985_000);
const SEPARATION_IONIC: (u32, u32) = (955_000, 970_000);
const SMELTING: (u32, u32) = (950_000, 970_000);
const RECYCLING: (u32, u32) = (850_000, 920_000);
/// Magnet making keeps 89–92 % in the magnet and 4–5 % in swarf.
const MAGNET: (u32, u32) = (890_000, 920_000);
const SWARF: (u32, u32) = (40_000, 50_000);
/// The planted out-of-band recovery.
const PLANTED_RECOVERY: u32 = 1_030_000;

/// Grades (ppm of TREO, or of rare earth metal).
const CHLORIDE_GRADE: (u32, u32) = (450_000, 460_000);
const OXIDE_GRADE: (u32, u32) = (990_000, 996_000);
const CONCENTRATE_GRADE: (u32, u32) = (880_000, 920_000);
const RECYCLED_OXIDE_GRADE: (u32, u32) = (930_000, 960_000);
const PRND_METAL_GRADE: (u32, u32) = (990_000, 996_000);
const TB_METAL_GRADE: (u32, u32) = (995_000, 999_000);
const DYFE_GRADE: (u32, u32) = (780_000, 820_000);
const MAGNET_GRADE: (u32, u32) = (290_000, 320_000);
const SWARF_GRADE: (u32, u32) = (250_000, 300_000);
const DRY: (u32, u32) = (0, 0);

/// PrNd oxide and metal as Baotou makes it: Pr about a quarter.
const PRND: Signature = &[(Element::Pr, 240_000), (Element::Nd, 760_000)];
const DY: Signature = &[(Element::Dy, 1_000_000)];
const TB: Signature = &[(Element::Tb, 1_000_000)];
const LA: Signature = &[(Element::La, 1_000_000)];
const CE: Signature = &[(Element::Ce, 1_000_000)];

/// One line of an independent's opening stock: where it is held, product,
/// signature, kg REO, lot size (kg REO at the default density), grade, origin.
type StockLine = (
    Slot,
    &'static str,
    Signature,
    u64,
    u64,
    (u32, u32),
    FeedOrigin,
);

const DOMESTIC: FeedOrigin = FeedOrigin::DomesticOre;
const SMELTER_STOCK: &[StockLine] = &[
    (
        Slot::PrNdOxide,
        "OXI-PRND",
        PRND,
        40_000,
        SMELT_BATCH_KG,
        OXIDE_GRADE,
        DOMESTIC,
    ),
    (
        Slot::Sale,
        "MET-PRND",
        PRND,
        15_000,
        SMELT_BATCH_KG,
        PRND_METAL_GRADE,
        DOMESTIC,
    ),
];
const HEAVY_SMELTER_STOCK: &[StockLine] = &[
    (
        Slot::DyOxide,
        "OXI-DY",
        DY,
        4_000,
        HEAVY_SMELT_BATCH_KG,
        OXIDE_GRADE,
        DOMESTIC,
    ),
    (
        Slot::TbOxide,
        "OXI-TB",
        TB,
        600,
        HEAVY_SMELT_BATCH_KG,
        OXIDE_GRADE,
        DOMESTIC,
    ),
];
/// Magnet makers also hold swarf from last year, declared as recycled scrap.
const MAGNET_MAKER_STOCK: &[StockLine] = &[
    (
        Slot::PrNdMetal,
        "MET-PRND",
        PRND,
        30_000,
        SMELT_BATCH_KG,
        PRND_METAL_GRADE,
        DOMESTIC,
    ),
    (
        Slot::Sale,
        "SCR-NDFEB-SWARF",
        chem::NDFEB_SCRAP,
        12_000,
        RECYCLE_BATCH_KG,
        SWARF_GRADE,
        FeedOrigin::RecycledScrap,
    ),
];
const HREE_MAGNET_MAKER_STOCK: &[StockLine] = &[
    (
        Slot::DyMetal,
        "ALY-DYFE",
        DY,
        2_500,
        HEAVY_SMELT_BATCH_KG,
        DYFE_GRADE,
        DOMESTIC,
    ),
    (
        Slot::TbMetal,
        "MET-TB",
        TB,
        400,
        HEAVY_SMELT_BATCH_KG,
        TB_METAL_GRADE,
        DOMESTIC,
    ),
];
const TRADER_STOCK: &[StockLine] = &[
    (
        Slot::Sale,
        "OXI-PRND",
        PRND,
        15_000,
        SMELT_BATCH_KG,
        OXIDE_GRADE,
        DOMESTIC,
    ),
    (
        Slot::Sale,
        "MET-PRND",
        PRND,
        8_000,
        SMELT_BATCH_KG,
        PRND_METAL_GRADE,
        DOMESTIC,
    ),
    (
        Slot::Sale,
        "OXI-LA",
        LA,
        20_000,
        SMELT_BATCH_KG,
        OXIDE_GRADE,
        DOMESTIC,
    ),
];
/// The warehouse operator trades on its own account too.
const WAREHOUSE_STOCK: &[StockLine] = &[(
    Slot::Sale,
    "MET-PRND",
    PRND,
    6_000,
    SMELT_BATCH_KG,
    PRND_METAL_GRADE,
    DOMESTIC,
)];
const EXPORTER_STOCK: &[StockLine] = &[
    (
        Slot::Sale,
        "OXI-CE",
        CE,
        10_000,
        SMELT_BATCH_KG,
        OXIDE_GRADE,
        DOMESTIC,
    ),
    (
        Slot::Sale,
        "OXI-LA",
        LA,
        6_000,
        SMELT_BATCH_KG,
        OXIDE_GRADE,
        DOMESTIC,
    ),
];

use Element::{Ce, Dy, Er, Eu, Gd, Ho, La, Lu, Nd, Pr, Sm, Tb, Tm, Y, Yb};

/// How each separation style splits the elements into products.
const GROUPED: &[(&str, &[Element])] = &[
    ("OXI-LA", &[La]),
    ("OXI-CE", &[Ce]),
    ("OXI-PRND", &[Pr, Nd]),
    ("MIX-SEG", &[Sm, Eu, Gd]),
    ("MIX-HREE", &[Y, Tb, Dy, Ho, Er, Tm, Yb, Lu]),
];
const GROUPED_SPLIT: &[(&str, &[Element])] = &[
    ("OXI-LA", &[La]),
    ("OXI-CE", &[Ce]),
    ("OXI-PR", &[Pr]),
    ("OXI-ND", &[Nd]),
    ("MIX-SEG", &[Sm, Eu, Gd]),
    ("MIX-HREE", &[Y, Tb, Dy, Ho, Er, Tm, Yb, Lu]),
];
const PURE: &[(&str, &[Element])] = &[
    ("OXI-Y", &[Y]),
    ("OXI-LA", &[La]),
    ("OXI-CE", &[Ce]),
    ("OXI-PRND", &[Pr, Nd]),
    ("OXI-SM", &[Sm]),
    ("OXI-EU", &[Eu]),
    ("OXI-GD", &[Gd]),
    ("OXI-TB", &[Tb]),
    ("OXI-DY", &[Dy]),
    ("OXI-HO", &[Ho]),
    ("OXI-ER", &[Er]),
    ("OXI-TM", &[Tm]),
    ("OXI-YB", &[Yb]),
    ("OXI-LU", &[Lu]),
];

fn groups(style: SepStyle) -> &'static [(&'static str, &'static [Element])] {
    match style {
        SepStyle::Grouped { split_prnd: false } => GROUPED,
        SepStyle::Grouped { split_prnd: true } => GROUPED_SPLIT,
        SepStyle::Pure => PURE,
    }
}

/// Each element scaled by `ppm`, rounded down.
fn scaled(masses: &ElementMasses, ppm: u32) -> ElementMasses {
    masses.map(|m| chem::ppm_of(m, u64::from(ppm)))
}

/// The usual grade and moisture of an ore product as weighed.
fn ore_measure(code: &str) -> ((u32, u32), (u32, u32)) {
    match code {
        "ORE-BAOTOU-MIX50" => ((490_000, 510_000), (60_000, 90_000)),
        "ORE-MIANNING-BAST" => ((580_000, 620_000), (50_000, 80_000)),
        "ORE-WEISHAN-BAST" => ((550_000, 600_000), (50_000, 80_000)),
        "ORE-MONAZITE" => ((550_000, 620_000), (10_000, 30_000)),
        "ORE-IONIC-OXIDE" => ((920_000, 945_000), (2_000, 8_000)),
        _ => ((430_000, 470_000), (350_000, 450_000)),
    }
}

fn grade_of(product: &Product) -> (u32, u32) {
    match product.kind {
        ProductKind::SeparatedOxide => OXIDE_GRADE,
        _ => CONCENTRATE_GRADE,
    }
}

impl Sim<'_> {
    /// Lots of `product` adding up to `total` grams of REO of the given
    /// signature, declared as opening stock and held in `slot`.
    #[allow(clippy::too_many_arguments)]
    fn open(
        &mut self,
        actor: usize,
        slot: Slot,
        product: &'static Product,
        weights: &ElementMasses,
        total: u64,
        lot_kg: u64,
        measure: ((u32, u32), (u32, u32)),
        origin: FeedOrigin,
    ) {
        let mut left = total;
        while left > 0 {
            let size = self.around(lot_kg).min(left);
            left -= size;
            let (grade, moisture) = (self.ppm(measure.0), self.ppm(measure.1));
            if let Some((new, info)) = self.create(
                actor,
                LotKind::Opening,
                product,
                &chem::split(size, weights),
                grade,
                moisture,
                origin,
            ) {
                self.declare(actor, new);
                let wet = info.wet;
                self.hold(actor, slot, info, wet, 0);
            }
        }
    }

    fn declare(&mut self, actor: usize, output: NewLot) {
        let documents = vec![format!("期初库存盘点表 {}-12-31", self.ind.config.year - 1)];
        self.emit(
            actor,
            true,
            None,
            Flow::Opening(Opening { output, documents }),
        );
    }

    /// Opening stock of everyone, declared on the first working day: a few
    /// days' to a few weeks' worth of what each enterprise handles.
    pub(super) fn openings(&mut self) {
        let ind = self.ind;
        let days = u64::try_from(self.days()).unwrap_or(1);
        for actor in 0..ind.register.actors.len() {
            match &ind.register.actors[actor].role {
                Role::Miner(m) => {
                    let ore = ind.products.get(m.product);
                    let stock = m.annual / days * 8;
                    self.open(
                        actor,
                        Slot::Sale,
                        ore,
                        &m.signature,
                        stock,
                        EXTRACT_LOT_KG,
                        (m.grade, m.moisture),
                        FeedOrigin::DomesticOre,
                    );
                }
                Role::Separator(_) => self.open_separator(actor, days),
                Role::Importer(i) => {
                    let origin = if i.product == "ORE-MONAZITE" {
                        FeedOrigin::Monazite
                    } else {
                        FeedOrigin::ImportedOre
                    };
                    let ore = ind.products.get(i.product);
                    self.open(
                        actor,
                        Slot::Sale,
                        ore,
                        &i.signature,
                        i.annual / days * 10,
                        IMPORT_LOT_KG,
                        (i.grade, i.moisture),
                        origin,
                    );
                }
                Role::Smelter { heavy } => {
                    self.open_lines(actor, SMELTER_STOCK);
                    if *heavy {
                        self.open_lines(actor, HEAVY_SMELTER_STOCK);
                    }
                }
                Role::MagnetMaker { hree } => {
                    self.open_lines(actor, MAGNET_MAKER_STOCK);
                    if *hree {
                        self.open_lines(actor, HREE_MAGNET_MAKER_STOCK);
                    }
                }
                Role::Recycler => self.open_recycler(actor),
                Role::Trader => self.open_lines(actor, TRADER_STOCK),
                Role::Warehouse => self.open_lines(actor, WAREHOUSE_STOCK),
                Role::Exporter { .. } => self.open_lines(actor, EXPORTER_STOCK),
            }
        }
    }

    fn open_lines(&mut self, actor: usize, lines: &[StockLine]) {
        for (slot, code, signature, kg, lot_kg, grade, origin) in lines {
            let product = self.ind.products.get(code);
            self.open(
                actor,
                *slot,
                product,
                &weights(signature),
                kg * 1_000,
                *lot_kg,
                (*grade, DRY),
                *origin,
            );
        }
    }

    /// A plant's ore, its mixed feed and two days of its products.
    fn open_separator(&mut self, actor: usize, days: u64) {
        let ind = self.ind;
        let Role::Separator(s) = &ind.register.actors[actor].role else {
            return;
        };
        let ore = ind.products.get(s.ore);
        let crack_daily = s.crack_annual / days;
        let sep_daily = s.sep_annual / days;
        let origin = if s.feed == PlantFeed::MonaziteAndRecycled {
            FeedOrigin::Monazite
        } else {
            FeedOrigin::DomesticOre
        };
        if s.feed == PlantFeed::Ionic {
            self.open(
                actor,
                Slot::SepFeed,
                ore,
                &s.signature,
                sep_daily * 20,
                PURE_SEPARATION_KG,
                ore_measure(s.ore),
                origin,
            );
        } else {
            self.open(
                actor,
                Slot::Concentrate,
                ore,
                &s.signature,
                crack_daily * 20,
                CRACK_BATCH_KG,
                ore_measure(s.ore),
                origin,
            );
            let chloride = ind.products.get("MIX-RECL3");
            let chloride_daily = chem::ppm_of(crack_daily, 940_000);
            self.open(
                actor,
                Slot::SepFeed,
                chloride,
                &s.signature,
                chloride_daily * 5,
                ROCK_SEPARATION_KG,
                (CHLORIDE_GRADE, DRY),
                origin,
            );
        }
        if s.feed == PlantFeed::MonaziteAndRecycled {
            let recycled = RECYCLED_FEED_T * TONNE / days * 10;
            let oxide = ind.products.get("OXI-PRND");
            self.open(
                actor,
                Slot::SepFeed,
                oxide,
                &weights(chem::NDFEB_SCRAP),
                recycled,
                PURE_SEPARATION_KG,
                (RECYCLED_OXIDE_GRADE, DRY),
                FeedOrigin::RecycledScrap,
            );
        }
        let mut left = sep_daily * 2;
        while left > 0 {
            let size = self.around(ROCK_SEPARATION_KG).min(left);
            left -= size;
            let elements = chem::split(size, &s.signature);
            for (new, info) in
                self.separation_products(actor, s.style, &elements, LotKind::Opening, origin)
            {
                self.declare(actor, new);
                let wet = info.wet;
                self.hold(actor, Slot::Sale, info, wet, 0);
            }
        }
    }

    /// A recycler's scrap stockpile — most of the year's feed — and, where the
    /// plan puts it, one "scrap" lot with an ionic-clay signature among it.
    fn open_recycler(&mut self, actor: usize) {
        let products = &self.ind.products;
        let recyclers = u64::try_from(self.buyers.recyclers.len().max(1)).unwrap_or(1);
        let stockpile = RECYCLING_T * TONNE * 3 / 5 / recyclers;
        let swarf = products.get("SCR-NDFEB-SWARF");
        let planted_at = match &self.ind.plan {
            Some(plan) if plan.ionic_scrap.0 == actor => Some(self.rng.random_range(0..stockpile)),
            _ => None,
        };
        let mut opened = 0u64;
        let mut planted_at = planted_at;
        while opened < stockpile {
            if planted_at.is_some_and(|at| at <= opened) {
                planted_at = None;
                self.open_ionic_scrap(actor, swarf);
            }
            let size = self.around(RECYCLE_BATCH_KG).min(stockpile - opened);
            opened += size;
            let (product, signature) = if self.rng.random_range(0..10) < 7 {
                (swarf, chem::NDFEB_SCRAP)
            } else {
                (products.get("SCR-MAG-EOL"), chem::EOL_MAGNET)
            };
            let grade = self.ppm(SWARF_GRADE);
            if let Some((new, info)) = self.create(
                actor,
                LotKind::Opening,
                product,
                &chem::split(size, &weights(signature)),
                grade,
                0,
                FeedOrigin::RecycledScrap,
            ) {
                self.declare(actor, new);
                let wet = info.wet;
                self.hold(actor, Slot::Scrap, info, wet, 0);
            }
        }
        if planted_at.is_some() {
            self.open_ionic_scrap(actor, swarf);
        }
        self.open(
            actor,
            Slot::Sale,
            products.get("OXI-PRND"),
            &weights(chem::NDFEB_SCRAP),
            8 * TONNE,
            RECYCLE_BATCH_KG,
            (RECYCLED_OXIDE_GRADE, DRY),
            FeedOrigin::RecycledScrap,
        );
    }

    /// The planted lot: ionic-clay material declared as NdFeB swarf.
    fn open_ionic_scrap(&mut self, actor: usize, swarf: &'static Product) {
        let size = self.around(RECYCLE_BATCH_KG);
        let signature = chem::vary(chem::IONIC_MID_HEAVY, 50_000, &mut self.rng);
        let grade = self.ppm(SWARF_GRADE);
        if let Some((new, info)) = self.create(
            actor,
            LotKind::Opening,
            swarf,
            &chem::split(size, &signature),
            grade,
            0,
            FeedOrigin::RecycledScrap,
        ) {
            self.declare(actor, new);
            let wet = info.wet;
            self.ionic_scrap = Some(super::Holding {
                lot: info,
                mass: wet,
                ready: 0,
                custody: None,
            });
        }
    }

    /// Mines extract at an even pace; ionic mines weigh and assay precipitate
    /// at the mine (in-situ leaching weighs no ore).
    pub(super) fn extract(&mut self) {
        for actor in 0..self.ind.register.actors.len() {
            let Role::Miner(m) = &self.ind.register.actors[actor].role else {
                continue;
            };
            let mut due = self.due(m.annual, self.states[actor].done);
            while due > 0 {
                let size = self.around(EXTRACT_LOT_KG);
                let signature = chem::vary_masses(&m.signature, 10_000, &mut self.rng);
                let (grade, moisture) = (self.ppm(m.grade), self.ppm(m.moisture));
                let Some((mut new, info)) = self.create(
                    actor,
                    LotKind::Extract,
                    self.ind.products.get(m.product),
                    &chem::split(size, &signature),
                    grade,
                    moisture,
                    FeedOrigin::DomesticOre,
                ) else {
                    break;
                };
                new.measurement.certificate = Some(AssayCertificate {
                    number: self.document(actor, "QC"),
                    laboratory: "矿山化验室（合成）".to_owned(),
                    accredited: false,
                });
                self.emit(actor, true, None, Flow::Extract(Extract { output: new }));
                self.states[actor].done += info.reo;
                due = due.saturating_sub(info.reo);
                self.check_designation(actor);
                let wet = info.wet;
                self.hold(actor, Slot::Sale, info, wet, self.day + 1);
            }
        }
    }

    /// Plants the ground truth of extraction past the end of a designation.
    fn check_designation(&mut self, actor: usize) {
        let Some(plan) = &self.ind.plan else { return };
        let (miner, last_day) = plan.undesignated;
        if miner != actor
            || self.ind.calendar.date(self.day) <= last_day
            || self.planted(Rule::UndesignatedExtraction)
        {
            return;
        }
        let a = &self.ind.register.actors[actor];
        let case = PlantedCase {
            rule: Rule::UndesignatedExtraction,
            enterprise: a.uscc().clone(),
            facility: a.facility_id().cloned(),
            lot: None,
            month: Some(self.month_text()),
            description: format!(
                "[undesignated_extraction] the mining designation of {} ended on {last_day}; it keeps extracting at {} from {} on",
                a.enterprise.name_zh,
                a.facility_id().map_or("its mine", |f| f.as_str()),
                self.ind.calendar.date(self.day)
            ),
        };
        self.plant(case);
    }

    /// Importers bring in ore at an even pace, with customs declarations.
    pub(super) fn import(&mut self) {
        for actor in 0..self.ind.register.actors.len() {
            let Role::Importer(i) = &self.ind.register.actors[actor].role else {
                continue;
            };
            let product = self.ind.products.get(i.product);
            let origin = if product.ore_type == Some(OreType::Monazite) {
                FeedOrigin::Monazite
            } else {
                FeedOrigin::ImportedOre
            };
            let mut due = self.due(i.annual, self.states[actor].done);
            while due > 0 {
                let size = self.around(IMPORT_LOT_KG);
                let signature = chem::vary_masses(&i.signature, 10_000, &mut self.rng);
                let (grade, moisture) = (self.ppm(i.grade), self.ppm(i.moisture));
                let Some((mut new, info)) = self.create(
                    actor,
                    LotKind::Import,
                    product,
                    &chem::split(size, &signature),
                    grade,
                    moisture,
                    origin,
                ) else {
                    break;
                };
                new.measurement.certificate = Some(AssayCertificate {
                    number: self.document(actor, "CIQ"),
                    laboratory: "国家稀土产品质量检验检测中心（合成）".to_owned(),
                    accredited: true,
                });
                let declaration = self.declaration();
                let supplier = format!(
                    "{} mining supplier {} (synthetic)",
                    i.country,
                    self.rng.random_range(1..=6)
                );
                self.emit(
                    actor,
                    false,
                    None,
                    Flow::Import(Import {
                        output: new,
                        customs_declaration: declaration,
                        origin_country: i.country.to_owned(),
                        supplier: Some(supplier),
                    }),
                );
                self.states[actor].done += info.reo;
                due = due.saturating_sub(info.reo);
                let wet = info.wet;
                self.hold(actor, Slot::Sale, info, wet, self.day + 1);
            }
        }
    }

    /// An 18-digit customs declaration number: customs code, year, serial.
    pub(super) fn declaration(&mut self) -> String {
        self.declarations += 1;
        let customs = [5305, 8600, 7201, 2201, 5100][self.rng.random_range(0..5)];
        format!(
            "{customs}{:04}0{:09}",
            self.ind.config.year, self.declarations
        )
    }

    /// Records a transformation and returns its outputs.
    fn transform(
        &mut self,
        actor: usize,
        process: Process,
        draw: Draw,
        outputs: Vec<(NewLot, Arc<LotInfo>)>,
    ) -> Vec<Arc<LotInfo>> {
        let (new, infos): (Vec<NewLot>, Vec<Arc<LotInfo>>) = outputs.into_iter().unzip();
        let reference = Some(self.document(actor, "BR"));
        self.emit(
            actor,
            true,
            reference,
            Flow::Transform(Transform {
                process,
                inputs: draw.inputs,
                outputs: new,
                toll_owner: None,
            }),
        );
        infos
    }

    /// Rock plants crack concentrate to mixed chloride; the monazite plant
    /// cracks monazite.
    pub(super) fn crack(&mut self) {
        for actor in 0..self.ind.register.actors.len() {
            let Role::Separator(s) = &self.ind.register.actors[actor].role else {
                continue;
            };
            if s.crack_annual == 0 {
                continue;
            }
            let mut due = self.due(s.crack_annual, self.states[actor].cracked);
            while due > 0 {
                let want = self.around(CRACK_BATCH_KG);
                let mut draw = Draw::default();
                self.draw(actor, Slot::Concentrate, want, true, &mut draw);
                if draw.is_empty() {
                    break;
                }
                let recovery = self.ppm(CRACKING);
                let origin = draw.origin(Process::Cracking);
                let grade = self.ppm(CHLORIDE_GRADE);
                let out = scaled(&draw.elements, recovery);
                self.states[actor].cracked += draw.reo;
                due = due.saturating_sub(draw.reo);
                let Some(output) = self.create(
                    actor,
                    LotKind::Output,
                    self.ind.products.get("MIX-RECL3"),
                    &out,
                    grade,
                    0,
                    origin,
                ) else {
                    continue;
                };
                for info in self.transform(actor, Process::Cracking, draw, vec![output]) {
                    let wet = info.wet;
                    self.hold(actor, Slot::SepFeed, info, wet, self.day + 1);
                }
            }
        }
    }

    /// The products of one separation: each group of elements to its product.
    fn separation_products(
        &mut self,
        actor: usize,
        style: SepStyle,
        out: &ElementMasses,
        kind: LotKind,
        origin: FeedOrigin,
    ) -> Vec<(NewLot, Arc<LotInfo>)> {
        let mut made = Vec::new();
        for (code, elements) in groups(style) {
            let mut masses = [0u64; 16];
            for e in *elements {
                masses[*e as usize] = out[*e as usize];
            }
            if chem::sum(&masses) == 0 {
                continue;
            }
            let product = self.ind.products.get(code);
            let grade = self.ppm(grade_of(product));
            if let Some(lot) = self.create(actor, kind, product, &masses, grade, 0, origin) {
                made.push(lot);
            }
        }
        made
    }

    /// Separation of mixed feed into oxides, at its plan's pace.
    pub(super) fn separate(&mut self) {
        for actor in 0..self.ind.register.actors.len() {
            let Role::Separator(s) = &self.ind.register.actors[actor].role else {
                continue;
            };
            let (batch, band) = match (s.style, s.feed) {
                (SepStyle::Grouped { .. }, _) => (ROCK_SEPARATION_KG, SEPARATION_ROCK),
                (SepStyle::Pure, PlantFeed::Ionic) => (PURE_SEPARATION_KG, SEPARATION_IONIC),
                (SepStyle::Pure, _) => (PURE_SEPARATION_KG, SEPARATION_ROCK),
            };
            let mut due = self.due(s.sep_annual, self.states[actor].done);
            while due > 0 {
                let want = self.around(batch);
                let mut draw = Draw::default();
                self.draw(actor, Slot::SepFeed, want, true, &mut draw);
                if draw.is_empty() {
                    break;
                }
                let recovery = self.ppm(band);
                let out = self.separation_recovery(actor, &draw, recovery);
                let origin = draw.origin(Process::Separation);
                self.states[actor].done += draw.reo;
                due = due.saturating_sub(draw.reo);
                let outputs =
                    self.separation_products(actor, s.style, &out, LotKind::Output, origin);
                if outputs.is_empty() {
                    continue;
                }
                for info in self.transform(actor, Process::Separation, draw, outputs) {
                    let wet = info.wet;
                    self.hold(actor, Slot::Sale, info, wet, self.day + 1);
                }
            }
        }
    }

    /// The REO per element a separation puts out: the feed at `recovery`,
    /// unless the plan has this plant and month recover 103 % or double its Dy.
    fn separation_recovery(&mut self, actor: usize, draw: &Draw, recovery: u32) -> ElementMasses {
        let Some(plan) = &self.ind.plan else {
            return scaled(&draw.elements, recovery);
        };
        let a = &self.ind.register.actors[actor];
        if plan.recovery.0 == actor && self.planting_month(Rule::RecoveryOutOfBand, plan.recovery.1)
        {
            let case = PlantedCase {
                rule: Rule::RecoveryOutOfBand,
                enterprise: a.uscc().clone(),
                facility: a.facility_id().cloned(),
                lot: None,
                month: Some(self.month_text()),
                description: format!(
                    "[recovery_out_of_band] every separation at {} in {} recovers 103 % of its feed (material from nowhere); being above 100 %, its per-element balance exceeds as well",
                    a.facility_id().map_or("", |f| f.as_str()),
                    self.month_text()
                ),
            };
            self.plant(case);
            return scaled(&draw.elements, PLANTED_RECOVERY);
        }
        if plan.dy_doubling.0 == actor
            && self.planting_month(Rule::ElementImbalance, plan.dy_doubling.1)
        {
            let case = PlantedCase {
                rule: Rule::ElementImbalance,
                enterprise: a.uscc().clone(),
                facility: a.facility_id().cloned(),
                lot: None,
                month: Some(self.month_text()),
                description: format!(
                    "[element_imbalance] separation at {} in {} puts out twice the Dy it takes in, the other elements less, so that total recovery stays in band",
                    a.facility_id().map_or("", |f| f.as_str()),
                    self.month_text()
                ),
            };
            self.plant(case);
            return doubled_dy(&draw.elements, recovery);
        }
        scaled(&draw.elements, recovery)
    }

    /// Recyclers turn magnet scrap into mixed oxide at their plan's pace.
    pub(super) fn recycle(&mut self) {
        let recyclers = u64::try_from(self.buyers.recyclers.len().max(1)).unwrap_or(1);
        let annual = RECYCLING_T * TONNE / recyclers;
        for actor in self.buyers.recyclers.clone() {
            self.feed_ionic_scrap(actor);
            let mut due = self.due(annual, self.states[actor].done);
            while due > 0 {
                let want = self.around(RECYCLE_BATCH_KG);
                let mut draw = Draw::default();
                self.draw(actor, Slot::Scrap, want, false, &mut draw);
                if draw.is_empty() {
                    break;
                }
                self.states[actor].done += draw.reo;
                due = due.saturating_sub(draw.reo);
                for info in self.recycling(actor, draw) {
                    let wet = info.wet;
                    self.hold(actor, Slot::Sale, info, wet, self.day + 1);
                }
            }
        }
    }

    fn recycling(&mut self, actor: usize, draw: Draw) -> Vec<Arc<LotInfo>> {
        let recovery = self.ppm(RECYCLING);
        let grade = self.ppm(RECYCLED_OXIDE_GRADE);
        let out = scaled(&draw.elements, recovery);
        match self.create(
            actor,
            LotKind::Output,
            self.ind.products.get("OXI-PRND"),
            &out,
            grade,
            0,
            FeedOrigin::RecycledScrap,
        ) {
            Some(output) => self.transform(actor, Process::Recycling, draw, vec![output]),
            None => Vec::new(),
        }
    }

    /// Feeds the planted ionic "scrap" in its month. Its oxide stays at the
    /// recycler, so that no later flow carries the signature further.
    fn feed_ionic_scrap(&mut self, actor: usize) {
        let Some(plan) = &self.ind.plan else { return };
        let (recycler, month) = plan.ionic_scrap;
        if recycler != actor || self.month() < month {
            return;
        }
        let Some(holding) = self.ionic_scrap.take() else {
            return;
        };
        let lot = holding.lot.id.clone();
        let mut draw = Draw::default();
        let reo = holding.lot.reo_of(holding.mass);
        chem::add(&mut draw.elements, &holding.lot.elements_of(holding.mass));
        draw.reo = reo;
        draw.by_origin.insert(holding.lot.origin, reo);
        draw.inputs.push(retrace_domain::flow::TransformInput {
            lot: lot.clone(),
            mass: retrace_domain::quantity::Mass::from_grams(holding.mass),
            feed_origin: holding.lot.origin,
        });
        let y = holding.lot.share_ppm(Element::Y);
        self.recycling(actor, draw);
        let a = &self.ind.register.actors[actor];
        let case = PlantedCase {
            rule: Rule::FingerprintMismatch,
            enterprise: a.uscc().clone(),
            facility: a.facility_id().cloned(),
            lot: Some(lot.clone()),
            month: Some(self.month_text()),
            description: format!(
                "[fingerprint_mismatch] {} declared {lot} as NdFeB swarf in its opening stock and feeds it as recycled scrap in {}, but it carries {}.{:01} % Y, an ionic-clay signature",
                a.enterprise.name_zh,
                self.month_text(),
                y / 10_000,
                y % 10_000 / 1_000
            ),
        };
        self.plant(case);
    }

    /// Metal smelters reduce their oxide in batches as it comes in.
    pub(super) fn smelt(&mut self) {
        for actor in self.buyers.smelters.clone() {
            for (slot, batch) in [
                (Slot::PrNdOxide, SMELT_BATCH_KG),
                (Slot::DyOxide, HEAVY_SMELT_BATCH_KG),
                (Slot::TbOxide, HEAVY_SMELT_BATCH_KG),
            ] {
                loop {
                    let want = self.around(batch);
                    if !self.batch_ready(actor, slot, want) {
                        break;
                    }
                    let mut draw = Draw::default();
                    self.draw(actor, slot, want, false, &mut draw);
                    let recovery = self.ppm(SMELTING);
                    let out = scaled(&draw.elements, recovery);
                    let (code, grade) = match slot {
                        Slot::DyOxide => ("ALY-DYFE", DYFE_GRADE),
                        Slot::TbOxide => ("MET-TB", TB_METAL_GRADE),
                        _ if out[Pr as usize] > 0 && out[Nd as usize] > 0 => {
                            ("MET-PRND", PRND_METAL_GRADE)
                        }
                        _ if out[Nd as usize] > 0 => ("MET-ND", PRND_METAL_GRADE),
                        _ => ("MET-PR", PRND_METAL_GRADE),
                    };
                    let grade = self.ppm(grade);
                    let origin = draw.origin(Process::MetalSmelting);
                    let Some(output) = self.create(
                        actor,
                        LotKind::Output,
                        self.ind.products.get(code),
                        &out,
                        grade,
                        0,
                        origin,
                    ) else {
                        continue;
                    };
                    for info in self.transform(actor, Process::MetalSmelting, draw, vec![output]) {
                        let wet = info.wet;
                        self.hold(actor, Slot::Sale, info, wet, self.day + 1);
                    }
                }
            }
        }
    }

    /// Magnet makers alloy PrNd metal, batch by batch as it comes in, with Dy-Fe and Tb for high-coercivity
    /// grades, into sintered NdFeB (about 30 % rare earth metal); the swarf
    /// goes to recyclers. Most magnets go to domestic users who record
    /// nothing further; about a third go to exporters.
    pub(super) fn make_magnets(&mut self) {
        for actor in self.buyers.magnet_makers.clone() {
            let hree = matches!(
                self.ind.register.actors[actor].role,
                Role::MagnetMaker { hree: true }
            );
            loop {
                let want = self.around(MAGNET_BATCH_KG);
                if !self.batch_ready(actor, Slot::PrNdMetal, want) {
                    break;
                }
                let mut draw = Draw::default();
                self.draw(actor, Slot::PrNdMetal, want, false, &mut draw);
                if hree {
                    let dy = chem::ppm_of(draw.reo, u64::from(self.ppm((40_000, 90_000))));
                    let tb = chem::ppm_of(draw.reo, u64::from(self.ppm((5_000, 15_000))));
                    self.draw(actor, Slot::DyMetal, dy, false, &mut draw);
                    self.draw(actor, Slot::TbMetal, tb, false, &mut draw);
                }
                let magnet = scaled(&draw.elements, self.ppm(MAGNET));
                let swarf = scaled(&draw.elements, self.ppm(SWARF));
                let heavy = magnet[Dy as usize] + magnet[Tb as usize] > 0;
                let code = if heavy {
                    "MAG-NDFEB-HREE"
                } else {
                    "MAG-NDFEB-SINT"
                };
                let origin = draw.origin(Process::MagnetMaking);
                let (magnet_grade, swarf_grade) = (self.ppm(MAGNET_GRADE), self.ppm(SWARF_GRADE));
                let made: Vec<_> = [
                    self.create(
                        actor,
                        LotKind::Output,
                        self.ind.products.get(code),
                        &magnet,
                        magnet_grade,
                        0,
                        origin,
                    ),
                    self.create(
                        actor,
                        LotKind::Output,
                        self.ind.products.get("SCR-NDFEB-SWARF"),
                        &swarf,
                        swarf_grade,
                        0,
                        origin,
                    ),
                ]
                .into_iter()
                .flatten()
                .collect();
                if made.is_empty() {
                    continue;
                }
                let exported = self.rng.random_range(0..100) < 35;
                for info in self.transform(actor, Process::MagnetMaking, draw, made) {
                    let keep = info.product.kind == ProductKind::Scrap || exported;
                    if keep {
                        let wet = info.wet;
                        self.hold(actor, Slot::Sale, info, wet, self.day + 1);
                    }
                }
            }
        }
    }
}

/// The planted Dy anomaly: Dy out is twice Dy in, and the other elements are
/// scaled down so that the total still recovers `recovery`.
fn doubled_dy(input: &ElementMasses, recovery: u32) -> ElementMasses {
    let total = u128::from(chem::sum(input));
    let dy = u128::from(input[Dy as usize]);
    let target = total * u128::from(recovery) / u128::from(PPM);
    let rest_in = total - dy;
    let rest_out = target.saturating_sub(2 * dy);
    let mut out = [0u64; 16];
    for (i, m) in input.iter().enumerate() {
        out[i] = if i == Dy as usize {
            m * 2
        } else {
            (u128::from(*m) * rest_out)
                .checked_div(rest_in)
                .and_then(|v| u64::try_from(v).ok())
                .unwrap_or(0)
        };
    }
    out
}
