//! A seeded, deterministic synthetic national rare earth industry for one
//! year, with planted anomalies and their ground truth.
//!
//! DESIGN.md §2 "Scale": synthetic data keeps tonnage at quota size and
//! reaches volume through finer granularity. So the industry mines about
//! 270,000 t REO and separates about 254,000 t REO (the 2024 public quota)
//! whatever [`SynthConfig::target_events`] asks for: more events means smaller
//! lots, up to ten million events a year, generated one working day at a time
//! so that a year never sits in memory.
//!
//! The industry: 129 enterprises and 99 facilities. The two groups own every
//! mine and separation plant — 20 mines (rock-type at Bayan Obo, Mianning and
//! Weishan; ionic-type in Ganzhou, Longyan, Meizhou and Yongzhou) and 16
//! plants (Baotou, Leshan, Mianning, Weishan, and the ionic south, one of
//! them for monazite and recycled oxide). Independents: 20 metal smelters,
//! 8 recyclers, 5 importers (ionic ore from Myanmar and Laos, monazite), 34
//! magnet makers, 15 traders, a warehouse operator and 10 exporters. The
//! flows balance: no stock goes negative in event-time order, every shipment
//! is received, every recovery and every per-element balance of a pooled
//! plant lies inside its band, and controlled exports carry a licence —
//! except for the six cases planted when [`SynthConfig::anomalies`] is set,
//! which [`Industry::ground_truth`] lists.
//!
//! Everything is invented and says so — enterprise names carry "（合成）" /
//! "(synthetic)", USCCs come from [`Uscc::synthesize`] over real division
//! codes — and the same seed and configuration always give byte-identical
//! records.
//!
//! ```
//! use retrace_synth::{Industry, SynthConfig};
//!
//! let industry = Industry::new(SynthConfig { target_events: 6_000, ..SynthConfig::default() });
//! let register = industry.register();
//! let january = industry.months().next().unwrap();
//! assert!(!register.is_empty() && !january.is_empty());
//! ```
//!
//! [`Uscc::synthesize`]: retrace_domain::uscc::Uscc::synthesize

mod anomaly;
mod calendar;
mod chem;
mod register;
mod sim;

use std::collections::VecDeque;
use std::sync::OnceLock;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use retrace_domain::act::{Act, ActRecord};
use retrace_domain::enterprise::Designation;
use retrace_domain::record::Record;
use serde::{Deserialize, Serialize};
use time::{Date, Month};

pub use anomaly::{GroundTruth, PlantedCase};

use anomaly::AnomalyPlan;
use calendar::Calendar;
use chem::Products;
use register::Register;
use sim::Sim;

/// Independent random streams drawn from the one seed: the register's
/// particulars, the anomaly plan, the flows and the clock. Keeping them apart
/// means that planting anomalies does not reshuffle the clean flows.
const STREAM_REGISTER: u64 = 1;
const STREAM_PLAN: u64 = 2;
const STREAM_FLOWS: u64 = 3;
const STREAM_CLOCK: u64 = 4;

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SynthConfig {
    /// Seeds every random choice (ChaCha8): the same seed and configuration
    /// give byte-identical output.
    pub seed: u64,
    /// The calendar year of the flows. The product catalogue and the export
    /// controls are read as of that year.
    pub year: i32,
    /// About how many flows the year should hold (default 60,000, about
    /// today's shipment-level volume; up to 10,000,000, the stress ceiling).
    pub target_events: u64,
    /// Plant the six anomalies of [`GroundTruth`] (five in a year before Tb
    /// exports were controlled). Every case is planted from about 10,000
    /// events a year up; sparser years have too few batches to be sure of it.
    pub anomalies: bool,
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            seed: 2025,
            year: 2025,
            target_events: sim::DEFAULT_EVENTS,
            anomalies: false,
        }
    }
}

/// The synthetic industry: its register, its year of flows and, when asked
/// for, the anomalies planted in it.
#[derive(Debug)]
pub struct Industry {
    config: SynthConfig,
    calendar: Calendar,
    products: Products,
    register: Register,
    plan: Option<AnomalyPlan>,
    truth: OnceLock<GroundTruth>,
}

impl Industry {
    /// Lays out the industry for `config`: who is on the register, each
    /// mine's and plant's share of the year, and where anomalies go.
    ///
    /// # Panics
    /// If the embedded product catalogue lacks a product the industry makes in
    /// `config.year` (it holds them from 2020 on), or the year lies outside
    /// what the `time` crate represents.
    pub fn new(config: SynthConfig) -> Industry {
        let calendar = Calendar::new(config.year);
        let products = Products::for_year(calendar.date(0), calendar.date(calendar.len() - 1));
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        rng.set_stream(STREAM_REGISTER);
        let register = register::build(config.year, &mut rng);
        let plan = config.anomalies.then(|| {
            let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
            rng.set_stream(STREAM_PLAN);
            AnomalyPlan::choose(&register, &calendar, config.target_events, &mut rng)
        });
        Industry {
            config,
            calendar,
            products,
            register,
            plan,
            truth: OnceLock::new(),
        }
    }

    /// What the industry was generated for, so that a caller can say how
    /// its data came about.
    pub fn config(&self) -> &SynthConfig {
        &self.config
    }

    /// The register as officials' acts, in order: every enterprise, every
    /// facility (mines with their licences, areas, capacities and ore types;
    /// plants with their processes, capacities and permits), then the
    /// designations of every group miner and separator, valid for the year —
    /// except the one the plan lets lapse mid-year.
    pub fn register(&self) -> Vec<Record> {
        let year = self.config.year;
        let first =
            Date::from_calendar_date(year, Month::January, 1).unwrap_or(self.calendar.date(0));
        let last = Date::from_calendar_date(year, Month::December, 31)
            .unwrap_or(self.calendar.date(self.calendar.len() - 1));
        let actors = &self.register.actors;
        let mut acts: Vec<Act> = actors
            .iter()
            .map(|a| Act::RegisterEnterprise(a.enterprise.clone()))
            .collect();
        acts.extend(
            actors
                .iter()
                .filter_map(|a| a.facility.clone().map(Act::RegisterFacility)),
        );
        let mut document = 0u32;
        for (i, a) in actors.iter().enumerate() {
            let Some(category) = a.designation_category() else {
                continue;
            };
            document += 1;
            let valid_to = match &self.plan {
                Some(plan) if plan.undesignated.0 == i => plan.undesignated.1,
                _ => last,
            };
            acts.push(Act::Designate(Designation {
                enterprise: a.uscc().clone(),
                category,
                valid_from: first,
                valid_to,
                document: format!("工信部原材料〔{year}〕定点{document:03}号（合成）"),
            }));
        }
        acts.into_iter()
            .enumerate()
            .map(|(i, act)| {
                Record::Act(ActRecord {
                    effective: self.calendar.act_time(i),
                    official: register::OFFICIAL.to_owned(),
                    act,
                })
            })
            .collect()
    }

    /// The year's flows, one month at a time, each in event-time order; the
    /// opening stocks come first, on the first working day of January.
    ///
    /// A month is generated when it is asked for. At ten million events a
    /// year a month holds close to a million records; [`Industry::records`]
    /// streams them a day at a time instead.
    pub fn months(&self) -> impl Iterator<Item = Vec<Record>> + '_ {
        let mut sim = Sim::new(self);
        std::iter::from_fn(move || {
            let month = sim.next_month()?;
            let mut records = Vec::new();
            while sim.next_month() == Some(month) {
                records.extend(sim.next_day().unwrap_or_default());
            }
            Some(records)
        })
    }

    /// The year's flows one by one in event-time order, generated a working
    /// day at a time: the same records as [`Industry::months`], flattened.
    pub fn records(&self) -> impl Iterator<Item = Record> + '_ {
        let mut sim = Sim::new(self);
        let mut day: VecDeque<Record> = VecDeque::new();
        std::iter::from_fn(move || {
            while day.is_empty() {
                day = sim.next_day()?.into();
            }
            day.pop_front()
        })
    }

    /// The planted cases, none when anomalies are off. The first call runs
    /// the year far enough to see every case planted (the lot of a short
    /// receipt, say, is only known once it happens); later calls are free.
    pub fn ground_truth(&self) -> GroundTruth {
        self.truth
            .get_or_init(|| GroundTruth {
                seed: self.config.seed,
                year: self.config.year,
                cases: Sim::new(self).plant_all(),
            })
            .clone()
    }
}
