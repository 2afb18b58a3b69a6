//! The day-by-day simulation that turns the register and its plan into flows.
//!
//! Each working day runs in a fixed order — receipts, extraction, imports,
//! cracking, separation, recycling, metal smelting, magnet making, dispatch,
//! stock-takes — and its flows are stamped with strictly increasing times in
//! that order. Generation order is therefore event-time order, and a flow can
//! only use stock an earlier flow put there: no stock goes negative, and a
//! receipt always follows its shipment by at least one working day.
//!
//! The simulation holds only what is still moving: a lot leaves its memory
//! once it is consumed, exported or sold to a buyer who records nothing
//! further (the ledger keeps it as that holder's stock). A year of ten million
//! events therefore streams through one day at a time.

mod make;
mod trade;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use retrace_domain::distribution::ElementMasses;
use retrace_domain::facility::Process;
use retrace_domain::flow::{Flow, FlowEvent, NewLot, TransformInput};
use retrace_domain::lot::{FeedOrigin, LotId};
use retrace_domain::product::Product;
use retrace_domain::quantity::Mass;
use retrace_domain::record::Record;
use retrace_domain::rules::{Rule, Rules};
use time::OffsetDateTime;

use crate::Industry;
use crate::anomaly::PlantedCase;
use crate::chem::{self, LotInfo};

/// The default number of events a year: about today's shipment-level volume
/// (DESIGN.md §2 "Scale").
pub(crate) const DEFAULT_EVENTS: u64 = 60_000;
/// The number of events a year the base lot sizes of [`make`] give, as measured.
const BASE_EVENTS: u64 = 62_000;

/// A lot size of about `kg` kilograms of REO at the default density, for
/// `target_events` a year: more events means smaller lots, never more tonnes.
pub(crate) fn scaled_size(kg: u64, target_events: u64) -> u64 {
    let grams = u128::from(kg) * 1_000 * u128::from(BASE_EVENTS) / u128::from(target_events.max(1));
    u64::try_from(grams).unwrap_or(u64::MAX).max(1_000)
}

/// The mean extraction lot, grams REO, for `target_events` a year.
pub(crate) fn extraction_lot(target_events: u64) -> u64 {
    scaled_size(make::EXTRACT_LOT_KG, target_events)
}

/// Where a holding waits at its holder, and so what will become of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    /// Concentrate waiting to be cracked.
    Concentrate,
    /// Mixed compounds and ionic ore waiting to be separated.
    SepFeed,
    PrNdOxide,
    DyOxide,
    TbOxide,
    PrNdMetal,
    DyMetal,
    TbMetal,
    Scrap,
    /// Product waiting to be shipped or exported.
    Sale,
}

const SLOTS: usize = 10;

/// Part of a lot at one holder.
#[derive(Clone, Debug)]
struct Holding {
    lot: Arc<LotInfo>,
    /// Wet grams held.
    mass: u64,
    /// The first working day it may be used on.
    ready: usize,
    /// For goods in a warehouse: the trader they are held for.
    custody: Option<usize>,
}

/// Per-enterprise numbering of lots and documents.
#[derive(Debug, Default)]
struct Numbers {
    opening: u32,
    extract: u32,
    import: u32,
    output: u32,
    shipment: u32,
    document: u32,
}

/// What kind of flow made a lot, which picks its number series.
#[derive(Clone, Copy, Debug)]
enum LotKind {
    Opening,
    Extract,
    Import,
    Output,
}

/// One enterprise's stock and counters.
#[derive(Debug, Default)]
struct State {
    slots: [VecDeque<Holding>; SLOTS],
    numbers: Numbers,
    /// REO extracted, imported, or fed to the enterprise's main process so far.
    done: u64,
    /// REO cracked so far (plants that crack).
    cracked: u64,
}

/// A shipment on its way.
#[derive(Debug)]
struct Transit {
    from: usize,
    to: usize,
    lot: Arc<LotInfo>,
    shipped: u64,
    shipment: String,
    custody: Option<usize>,
}

/// Inputs gathered for one transformation.
#[derive(Debug, Default)]
struct Draw {
    inputs: Vec<TransformInput>,
    reo: u64,
    elements: ElementMasses,
    by_origin: BTreeMap<FeedOrigin, u64>,
}

impl Draw {
    fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    /// The feed origin the outputs inherit, as the projector derives it:
    /// recycled scrap for recycling, otherwise the origin that brought the
    /// most REO (ties to the first in order).
    fn origin(&self, process: Process) -> FeedOrigin {
        if process == Process::Recycling {
            return FeedOrigin::RecycledScrap;
        }
        self.by_origin
            .iter()
            .max_by_key(|(o, reo)| (**reo, std::cmp::Reverse(**o)))
            .map_or(FeedOrigin::Declared, |(o, _)| *o)
    }
}

/// The simulation of one synthetic year.
#[derive(Debug)]
pub(crate) struct Sim<'a> {
    ind: &'a Industry,
    rules: Rules,
    rng: ChaCha8Rng,
    /// Event times come from their own stream, so that a planted extra event
    /// does not shift the flows that follow it.
    clock: ChaCha8Rng,
    day: usize,
    states: Vec<State>,
    transit: BTreeMap<usize, Vec<Transit>>,
    /// Today's flows, in generation order; stamped with their times at the end of the day.
    out: Vec<Record>,
    buyers: Buyers,
    planted: Vec<PlantedCase>,
    ionic_scrap: Option<Holding>,
    licences: u32,
    declarations: u32,
}

/// Who buys what: enterprise indices by trade.
#[derive(Debug, Default)]
struct Buyers {
    smelters: Vec<usize>,
    heavy_smelters: Vec<usize>,
    magnet_makers: Vec<usize>,
    hree_magnet_makers: Vec<usize>,
    recyclers: Vec<usize>,
    traders: Vec<usize>,
    warehouses: Vec<usize>,
    exporters: Vec<usize>,
    magnet_exporters: Vec<usize>,
    recycled_feed_plants: Vec<usize>,
}

impl<'a> Sim<'a> {
    pub(crate) fn new(ind: &'a Industry) -> Sim<'a> {
        use crate::register::{PlantFeed, Role};
        let mut rng = ChaCha8Rng::seed_from_u64(ind.config.seed);
        rng.set_stream(crate::STREAM_FLOWS);
        let mut clock = ChaCha8Rng::seed_from_u64(ind.config.seed);
        clock.set_stream(crate::STREAM_CLOCK);
        let mut buyers = Buyers::default();
        for (i, a) in ind.register.actors.iter().enumerate() {
            match &a.role {
                Role::Smelter { heavy } => {
                    buyers.smelters.push(i);
                    if *heavy {
                        buyers.heavy_smelters.push(i);
                    }
                }
                Role::MagnetMaker { hree } => {
                    buyers.magnet_makers.push(i);
                    if *hree {
                        buyers.hree_magnet_makers.push(i);
                    }
                }
                Role::Recycler => buyers.recyclers.push(i),
                Role::Trader => buyers.traders.push(i),
                Role::Warehouse => buyers.warehouses.push(i),
                Role::Exporter { magnets } => {
                    buyers.exporters.push(i);
                    if *magnets {
                        buyers.magnet_exporters.push(i);
                    }
                }
                Role::Separator(s) if s.feed == PlantFeed::MonaziteAndRecycled => {
                    buyers.recycled_feed_plants.push(i)
                }
                _ => {}
            }
        }
        Sim {
            ind,
            rules: Rules::standard(),
            rng,
            clock,
            day: 0,
            states: ind
                .register
                .actors
                .iter()
                .map(|_| State::default())
                .collect(),
            transit: BTreeMap::new(),
            out: Vec::new(),
            buyers,
            planted: Vec::new(),
            ionic_scrap: None,
            licences: 0,
            declarations: 0,
        }
    }

    /// The month (1–12) of the next day to run, or `None` at the end of the year.
    pub(crate) fn next_month(&self) -> Option<u8> {
        (self.day < self.ind.calendar.len()).then(|| self.ind.calendar.month(self.day))
    }

    /// Runs one working day and returns its flows in event-time order.
    pub(crate) fn next_day(&mut self) -> Option<Vec<Record>> {
        if self.day >= self.ind.calendar.len() {
            return None;
        }
        if self.day == 0 {
            self.openings();
        }
        self.receive();
        self.extract();
        self.import();
        self.crack();
        self.separate();
        self.recycle();
        self.smelt();
        self.make_magnets();
        self.dispatch();
        self.adjust();
        let stamps = self
            .ind
            .calendar
            .stamps(self.day, self.out.len(), &mut self.clock);
        for (record, t) in self.out.iter_mut().zip(stamps) {
            if let Record::Flow(e) = record {
                e.event_time = t;
            }
        }
        self.day += 1;
        // The next day is about as busy as this one: reserving its room at
        // once spares the allocator a string of ever larger copies.
        let capacity = self.out.len() + self.out.len() / 8;
        Some(std::mem::replace(
            &mut self.out,
            Vec::with_capacity(capacity),
        ))
    }

    /// Runs the year until every planned case has been planted, and returns them.
    pub(crate) fn plant_all(mut self) -> Vec<PlantedCase> {
        let wanted = self
            .ind
            .plan
            .as_ref()
            .map_or(0, crate::anomaly::AnomalyPlan::cases);
        while self.planted.len() < wanted && self.next_day().is_some() {}
        let mut cases = self.planted;
        cases.sort_by_key(|c| c.rule);
        cases
    }

    fn days(&self) -> usize {
        self.ind.calendar.len()
    }

    fn month(&self) -> u8 {
        self.ind.calendar.month(self.day)
    }

    fn month_text(&self) -> String {
        format!("{:04}-{:02}", self.ind.config.year, self.month())
    }

    /// Two-digit year for document numbers.
    fn yy(&self) -> i32 {
        self.ind.config.year.rem_euclid(100)
    }

    /// A lot size of about `kg` kilograms of REO at the default density,
    /// shrunk in proportion as more events are asked for.
    fn size(&self, kg: u64) -> u64 {
        scaled_size(kg, self.ind.config.target_events)
    }

    /// [`Self::size`] varied by ±40 %.
    fn around(&mut self, kg: u64) -> u64 {
        let base = self.size(kg);
        Mass::from_grams(base)
            .scale(self.rng.random_range(60..=140), 100)
            .grams()
            .max(1)
    }

    /// How much of `annual` is still due by the end of today.
    fn due(&self, annual: u64, done: u64) -> u64 {
        let days = u128::from(u64::try_from(self.days()).unwrap_or(u64::MAX));
        let today = u128::from(u64::try_from(self.day + 1).unwrap_or(u64::MAX));
        let target = u64::try_from(u128::from(annual) * today / days).unwrap_or(u64::MAX);
        target.saturating_sub(done)
    }

    fn ppm(&mut self, range: (u32, u32)) -> u32 {
        self.rng.random_range(range.0..=range.1)
    }

    fn document(&mut self, actor: usize, prefix: &str) -> String {
        let yy = self.yy();
        let n = &mut self.states[actor].numbers.document;
        *n += 1;
        format!("{prefix}{yy:02}-{:07}", *n)
    }

    fn lot_id(&mut self, actor: usize, kind: LotKind) -> LotId {
        let numbers = &mut self.states[actor].numbers;
        let (prefix, n) = match kind {
            LotKind::Opening => ("O", &mut numbers.opening),
            LotKind::Extract => ("X", &mut numbers.extract),
            LotKind::Import => ("I", &mut numbers.import),
            LotKind::Output => ("T", &mut numbers.output),
        };
        *n += 1;
        let number = format!(
            "{prefix}{:02}-{:07}",
            self.ind.config.year.rem_euclid(100),
            *n
        );
        LotId::under_uscc(self.ind.register.actors[actor].uscc(), &number)
            .unwrap_or_else(|e| panic!("synthetic lot numbers are well formed: {e}"))
    }

    /// Makes a lot holding `reo` per element as `product`. Opening stock
    /// declares its origin; every other flow leaves it to be derived.
    #[allow(clippy::too_many_arguments)]
    fn create(
        &mut self,
        actor: usize,
        kind: LotKind,
        product: &'static Product,
        reo: &ElementMasses,
        grade: u32,
        moisture: u32,
        origin: FeedOrigin,
    ) -> Option<(NewLot, Arc<LotInfo>)> {
        let made = chem::make(product, reo, grade, moisture)?;
        let id = self.lot_id(actor, kind);
        let info = Arc::new(LotInfo {
            id: id.clone(),
            product,
            grade: made.measurement.grade,
            wet: made.measurement.wet_mass.grams(),
            reo: made.reo,
            elements: made.elements,
            distribution: made.distribution.clone(),
            origin,
        });
        let new = NewLot {
            lot: id,
            product: product.code.clone(),
            measurement: made.measurement,
            distribution: Some(made.distribution),
            feed_origin: matches!(kind, LotKind::Opening).then_some(origin),
        };
        Some((new, info))
    }

    /// Records a flow of `actor`, at its facility when it has one and `here` is set.
    fn emit(&mut self, actor: usize, here: bool, reference: Option<String>, flow: Flow) {
        let a = &self.ind.register.actors[actor];
        self.out.push(Record::Flow(FlowEvent {
            event_time: OffsetDateTime::UNIX_EPOCH,
            enterprise: a.uscc().clone(),
            facility: if here { a.facility_id().cloned() } else { None },
            reference,
            flow,
        }));
    }

    fn hold(&mut self, actor: usize, slot: Slot, lot: Arc<LotInfo>, mass: u64, ready: usize) {
        self.states[actor].slots[slot as usize].push_back(Holding {
            lot,
            mass,
            ready,
            custody: None,
        });
    }

    /// Whether `slot` holds a batch of `want` grams of REO ready to use, or
    /// feed that has waited long enough to be used in a smaller batch. Plants
    /// that work in batches keep the number of events proportional to
    /// tonnage, whatever the size of the lots that feed them.
    fn batch_ready(&self, actor: usize, slot: Slot, want: u64) -> bool {
        /// Working days feed waits for a full batch.
        const MAX_WAIT: usize = 10;
        let queue = &self.states[actor].slots[slot as usize];
        let Some(front) = queue.front().filter(|h| h.ready <= self.day) else {
            return false;
        };
        if front.ready + MAX_WAIT <= self.day {
            return true;
        }
        let mut ready = 0u64;
        for h in queue.iter().take_while(|h| h.ready <= self.day) {
            ready += h.lot.reo_of(h.mass);
            if ready >= want {
                return true;
            }
        }
        false
    }

    /// Takes feed from the front of `slot` until `want` grams of REO are
    /// gathered, splitting the last holding when it holds more. With
    /// `one_origin`, stops where the feed origin changes, so that quota
    /// counting by origin sees unmixed batches.
    fn draw(&mut self, actor: usize, slot: Slot, want: u64, one_origin: bool, into: &mut Draw) {
        /// A remainder smaller than this (wet grams at the default density)
        /// is taken with the rest rather than left behind.
        const CRUMB_KG: u64 = 50;
        let crumb = self.size(CRUMB_KG);
        let day = self.day;
        let queue = &mut self.states[actor].slots[slot as usize];
        let mut taken = 0u64;
        let mut origin = None;
        while taken < want {
            let Some(front) = queue.front_mut() else {
                break;
            };
            if front.ready > day || (one_origin && origin.is_some_and(|o| o != front.lot.origin)) {
                break;
            }
            origin = Some(front.lot.origin);
            let available = front.lot.reo_of(front.mass);
            let need = want - taken;
            let mass = if available <= need {
                front.mass
            } else {
                let part = Mass::from_grams(need)
                    .scale(front.lot.wet, front.lot.reo)
                    .grams()
                    .clamp(1, front.mass);
                if front.mass - part < crumb {
                    front.mass
                } else {
                    part
                }
            };
            let reo = front.lot.reo_of(mass);
            chem::add(&mut into.elements, &front.lot.elements_of(mass));
            into.reo += reo;
            *into.by_origin.entry(front.lot.origin).or_default() += reo;
            into.inputs.push(TransformInput {
                lot: front.lot.id.clone(),
                mass: Mass::from_grams(mass),
                feed_origin: front.lot.origin,
            });
            taken += reo;
            front.mass -= mass;
            if front.mass == 0 {
                queue.pop_front();
            }
        }
    }

    /// Records a planted case once.
    fn plant(&mut self, case: PlantedCase) {
        if !self.planted.iter().any(|c| c.rule == case.rule) {
            self.planted.push(case);
        }
    }

    fn planted(&self, rule: Rule) -> bool {
        self.planted.iter().any(|c| c.rule == rule)
    }

    /// Whether a month-long case of `rule` planned from month `from` is
    /// planted today: in the first month on or after `from` in which its
    /// plant works, and then for the whole of that month. A plant that works
    /// in large batches may have nothing to separate in the planned month.
    fn planting_month(&self, rule: Rule, from: u8) -> bool {
        match self.planted.iter().find(|c| c.rule == rule) {
            Some(case) => case.month.as_deref() == Some(self.month_text().as_str()),
            None => self.month() >= from,
        }
    }

    /// Whether `candidate` is the one a once-only case planned for `chosen`
    /// from working day `from` falls on: `chosen` on or after that day, or —
    /// should `chosen` have nothing to offer for four weeks — any `peers`.
    fn falls_on(
        &self,
        rule: Rule,
        candidate: usize,
        chosen: usize,
        from: usize,
        peers: &[usize],
    ) -> bool {
        /// Working days the plan waits for its chosen enterprise.
        const PATIENCE: usize = 20;
        !self.planted(rule)
            && self.day >= from
            && (candidate == chosen || (self.day >= from + PATIENCE && peers.contains(&candidate)))
    }
}
