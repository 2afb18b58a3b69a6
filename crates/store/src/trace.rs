//! Trace: backward from a lot to the mines, imports and declared opening stock
//! it came from; forward to every holder, every product made from it and every
//! export — with mass and REO on each edge.
//!
//! The walk is the same over every store: a store supplies the few primitive
//! reads of [`TraceSource`], and this module decides what the answer is.
//! Through plants that pool their feed (cracking, separation, recycling) the
//! walk uses mass-balance attribution per element over the facility-month
//! pool and marks those edges [`EdgeBasis::Attributed`] (DESIGN.md §2).
//!
//! A trace crosses enterprises, and a caller sees only its own side of what
//! others recorded (issue 3 §2). An edge whose entry the caller's scope does
//! not see is still shown — the ledger's public part of every entry names its
//! kind, its enterprise and its lots, and an inclusion proof of it can be
//! given to anyone — but without its masses and without the places only the
//! entry's confidential record names (the receiver of a shipment, a country),
//! which become [`TraceNode::Undisclosed`].

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use retrace_domain::attribution::{Pool, PoolLot};
use retrace_domain::facility::{FacilityId, Process};
use retrace_domain::flow::{Flow, FlowKind};
use retrace_domain::lot::LotId;
use retrace_domain::project::{LineageEdge, LotState};
use retrace_domain::quantity::Mass;
use retrace_domain::record::Record;
use retrace_domain::uscc::Uscc;
use serde::{Deserialize, Serialize};

use crate::codec::{Corrupt, Decoded, from_token};
use crate::model::PageRequest;

/// The most edges one trace collects before it stops and says so.
pub const MAX_TRACE_EDGES: usize = 200_000;

/// Which way to walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Backward,
    Forward,
}

/// A place in the trace graph.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "node", rename_all = "snake_case")]
pub enum TraceNode {
    Lot {
        lot: LotId,
    },
    /// A mine the lot was extracted at.
    Mine {
        facility: FacilityId,
        enterprise: Uscc,
    },
    /// A supplier abroad.
    Import {
        country: String,
        enterprise: Uscc,
    },
    /// Stock declared when the enterprise started recording.
    Opening {
        enterprise: Uscc,
    },
    /// An enterprise holding (part of) a lot.
    Holder {
        enterprise: Uscc,
    },
    /// A destination abroad.
    Abroad {
        country: String,
    },
    /// A place that only the entry's confidential record names, outside
    /// the caller's scope.
    Undisclosed,
}

/// Whether an edge was recorded batch by batch or attributed over a pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EdgeBasis {
    Recorded,
    Attributed,
}

/// One step of a trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TraceEdge {
    pub from: TraceNode,
    pub to: TraceNode,
    /// The ledger entry behind the step.
    pub entry: u64,
    /// The enterprise whose entry it is (public in the entry's leaf).
    pub enterprise: Uscc,
    pub kind: FlowKind,
    pub basis: EdgeBasis,
    /// The lot the step moved, for custody steps between holders.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lot: Option<LotId>,
    /// Wet mass in grams; `None` when the entry is outside the caller's scope.
    pub mass: Option<u64>,
    /// REO in grams; `None` when the entry is outside the caller's scope.
    pub reo: Option<u64>,
    /// Whether the caller's scope sees the entry, so that the edge is shown
    /// in full.
    pub disclosed: bool,
    /// The pool an attributed edge was computed over.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool: Option<PoolKey>,
}

/// A facility-month pool of one process.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PoolKey {
    pub facility: FacilityId,
    pub month: String,
    pub process: Process,
}

/// A trace, one page of its edges at a time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TraceAnswer {
    pub lot: LotId,
    pub direction: Direction,
    /// Edges in breadth-first order from the lot.
    pub edges: Vec<TraceEdge>,
    /// How many edges the whole answer has, when the walk reached its end
    /// within this page; `None` while more pages follow.
    pub total_edges: Option<usize>,
    pub next: Option<String>,
    /// Whether any edge up to the end of this page is attributed rather than recorded.
    pub attributed: bool,
    /// Whether the answer goes on beyond [`MAX_TRACE_EDGES`], where no page reaches.
    pub truncated: bool,
}

/// How a lot came into being.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Creation {
    pub entry: u64,
    pub kind: FlowKind,
    pub enterprise: Uscc,
    pub facility: Option<FacilityId>,
    /// The origin country of an import.
    pub country: Option<String>,
    pub mass: Mass,
    pub reo: Mass,
    /// The pool, when a pooling transformation made the lot.
    pub pool: Option<PoolKey>,
}

/// A custody or title step of a lot, or its export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Custody {
    pub entry: u64,
    pub kind: FlowKind,
    pub from: Uscc,
    /// The receiving enterprise, or `None` for an export.
    pub to: Option<Uscc>,
    pub country: Option<String>,
    pub mass: Mass,
    pub reo: Mass,
}

/// The flow kind of a stored kind token (`flow.ship` → ship).
///
/// # Errors
/// When the token is not a flow's.
pub fn flow_kind(token: &str) -> Decoded<FlowKind> {
    let kind = token
        .strip_prefix("flow.")
        .ok_or_else(|| Corrupt::new("flow kind", token))?;
    from_token("flow kind", kind)
}

/// The custody step a stored record of `lot` is — a shipment, receipt,
/// title transfer or export — with the REO it moved, or `None` for any
/// other record.
pub fn custody_step(entry: u64, event: Record, lot: &LotState) -> Option<Custody> {
    let Record::Flow(event) = event else {
        return None;
    };
    let from = event.enterprise;
    let (kind, to, country, mass) = match event.flow {
        Flow::Ship(s) => (FlowKind::Ship, Some(s.to), None, s.mass),
        Flow::Receive(r) => {
            return Some(Custody {
                entry,
                kind: FlowKind::Receive,
                from: r.from,
                to: Some(from),
                country: None,
                mass: r.mass,
                reo: lot.reo_of(r.mass),
            });
        }
        Flow::Transfer(t) => (FlowKind::Transfer, Some(t.to), None, t.mass),
        Flow::Export(x) => (FlowKind::Export, None, Some(x.destination_country), x.mass),
        _ => return None,
    };
    Some(Custody {
        entry,
        kind,
        from,
        to,
        country,
        mass,
        reo: lot.reo_of(mass),
    })
}

/// The origin country of an import record, the only creation whose source
/// node needs more than the lot's row.
pub fn import_country(record: &Record) -> Option<String> {
    match record {
        Record::Flow(f) => match &f.flow {
            Flow::Import(i) => Some(i.origin_country.clone()),
            _ => None,
        },
        Record::Act(_) => None,
    }
}

/// The primitive reads a store supplies to the trace. Corrected entries are
/// left out by the store.
pub trait TraceSource {
    type Error;

    /// Whether the caller's scope sees the entries of `enterprise`.
    fn sees(&self, enterprise: &Uscc) -> Result<bool, Self::Error>;
    /// The enterprise whose entry `entry` is; an error if there is none.
    fn recorded_by(&self, entry: u64) -> Result<Uscc, Self::Error>;

    fn creation(&self, lot: &LotId) -> Result<Option<Creation>, Self::Error>;
    /// Recorded lineage into a lot (batch-keeping transformations).
    fn edges_into(&self, lot: &LotId) -> Result<Vec<LineageEdge>, Self::Error>;
    /// Recorded lineage out of a lot.
    fn edges_out_of(&self, lot: &LotId) -> Result<Vec<LineageEdge>, Self::Error>;
    /// The pools a lot was fed into.
    fn pools_fed(&self, lot: &LotId) -> Result<Vec<PoolKey>, Self::Error>;
    /// A pool's inputs and outputs, in ledger order.
    fn pool(&self, key: &PoolKey) -> Result<(Vec<PoolLot>, Vec<PoolLot>), Self::Error>;
    /// Shipments, receipts, title transfers and exports of a lot, in ledger order.
    fn custody(&self, lot: &LotId) -> Result<Vec<Custody>, Self::Error>;
}

/// Walks the trace of `lot` and returns the requested page.
///
/// The walk is breadth-first in a fixed order, so a page is a prefix of the
/// whole answer: the walk stops as soon as the page is full and one more edge
/// shows that a next page exists. A page of a large trace costs what the
/// edges up to its end cost, not the whole graph.
///
/// A trace page holds at most [`MAX_TRACE_EDGES`] edges (the page limit is
/// not the listing limit [`crate::MAX_PAGE`]), so a caller that wants a whole
/// trace at once can ask for it.
///
/// # Errors
/// Whatever the source fails with.
pub fn trace<S: TraceSource>(
    source: &S,
    lot: &LotId,
    direction: Direction,
    page: &PageRequest,
) -> Result<TraceAnswer, S::Error> {
    let start = page
        .after
        .as_deref()
        .and_then(|c| c.parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_TRACE_EDGES);
    let limit = page.limit.clamp(1, MAX_TRACE_EDGES);
    let wanted = start.saturating_add(limit).min(MAX_TRACE_EDGES);
    let mut walk = Walk {
        source,
        edges: Vec::new(),
        seen: BTreeSet::new(),
        queue: VecDeque::new(),
        pools: BTreeMap::new(),
        seeing: BTreeMap::new(),
    };
    walk.seen.insert(lot.clone());
    walk.queue.push_back(lot.clone());
    while walk.edges.len() <= wanted {
        let Some(next) = walk.queue.pop_front() else {
            break;
        };
        match direction {
            Direction::Backward => walk.backward(&next)?,
            Direction::Forward => walk.forward(&next)?,
        }
    }
    let complete = walk.queue.is_empty() && walk.edges.len() <= wanted;
    let truncated = !complete && wanted == MAX_TRACE_EDGES;
    let end = wanted.min(walk.edges.len());
    let attributed = walk.edges[..end]
        .iter()
        .any(|e| e.basis == EdgeBasis::Attributed);
    let mut edges: Vec<TraceEdge> = walk.edges.drain(start.min(end)..end).collect();
    for edge in &mut edges {
        if !walk.sees(&edge.enterprise)? {
            withhold(edge);
        }
    }
    Ok(TraceAnswer {
        lot: lot.clone(),
        direction,
        edges,
        total_edges: complete.then_some(end),
        next: (!complete && !truncated).then(|| end.to_string()),
        attributed,
        truncated,
    })
}

type LoadedPool = (Vec<PoolLot>, Vec<PoolLot>);

struct Walk<'a, S> {
    source: &'a S,
    edges: Vec<TraceEdge>,
    seen: BTreeSet<LotId>,
    queue: VecDeque<LotId>,
    pools: BTreeMap<PoolKey, LoadedPool>,
    seeing: BTreeMap<Uscc, bool>,
}

/// Shows an edge as someone outside the entry's scope may see it: its public
/// part only.
fn withhold(edge: &mut TraceEdge) {
    edge.mass = None;
    edge.reo = None;
    edge.disclosed = false;
    let own = edge.enterprise.clone();
    for node in [&mut edge.from, &mut edge.to] {
        let public = match node {
            TraceNode::Lot { .. } => true,
            TraceNode::Mine { enterprise, .. }
            | TraceNode::Opening { enterprise }
            | TraceNode::Holder { enterprise } => *enterprise == own,
            TraceNode::Import { .. } | TraceNode::Abroad { .. } | TraceNode::Undisclosed => false,
        };
        if !public {
            *node = TraceNode::Undisclosed;
        }
    }
}

fn lot_node(lot: &LotId) -> TraceNode {
    TraceNode::Lot { lot: lot.clone() }
}

impl<S: TraceSource> Walk<'_, S> {
    fn sees(&mut self, enterprise: &Uscc) -> Result<bool, S::Error> {
        if let Some(seen) = self.seeing.get(enterprise) {
            return Ok(*seen);
        }
        let seen = self.source.sees(enterprise)?;
        self.seeing.insert(enterprise.clone(), seen);
        Ok(seen)
    }

    fn visit(&mut self, lot: &LotId) {
        if self.seen.insert(lot.clone()) {
            self.queue.push_back(lot.clone());
        }
    }

    fn load_pool(&mut self, key: &PoolKey) -> Result<&LoadedPool, S::Error> {
        if !self.pools.contains_key(key) {
            let loaded = self.source.pool(key)?;
            self.pools.insert(key.clone(), loaded);
        }
        Ok(&self.pools[key])
    }

    fn backward(&mut self, lot: &LotId) -> Result<(), S::Error> {
        let Some(creation) = self.source.creation(lot)? else {
            return Ok(());
        };
        let source_node = match creation.kind {
            FlowKind::Extract => creation.facility.clone().map(|facility| TraceNode::Mine {
                facility,
                enterprise: creation.enterprise.clone(),
            }),
            FlowKind::Import => Some(TraceNode::Import {
                country: creation.country.clone().unwrap_or_default(),
                enterprise: creation.enterprise.clone(),
            }),
            FlowKind::Opening => Some(TraceNode::Opening {
                enterprise: creation.enterprise.clone(),
            }),
            _ => None,
        };
        if let Some(from) = source_node {
            self.edges.push(TraceEdge {
                from,
                to: lot_node(lot),
                entry: creation.entry,
                enterprise: creation.enterprise.clone(),
                kind: creation.kind,
                basis: EdgeBasis::Recorded,
                lot: None,
                mass: Some(creation.mass.grams()),
                reo: Some(creation.reo.grams()),
                disclosed: true,
                pool: None,
            });
            return Ok(());
        }
        if let Some(key) = creation.pool.clone() {
            let pool_key = key.clone();
            let (inputs, outputs) = self.load_pool(&key)?;
            let Some(at) = outputs.iter().position(|o| &o.lot == lot) else {
                return Ok(());
            };
            let pool = Pool::new(inputs, outputs);
            let found: Vec<(LotId, u64, Mass, Mass)> = pool
                .sources_of(at)
                .into_iter()
                .map(|a| {
                    (
                        inputs[a.input].lot.clone(),
                        outputs[at].entry,
                        a.mass,
                        a.reo,
                    )
                })
                .collect();
            for (from, entry, mass, reo) in found {
                self.edges.push(TraceEdge {
                    from: lot_node(&from),
                    to: lot_node(lot),
                    entry,
                    enterprise: creation.enterprise.clone(),
                    kind: FlowKind::Transform,
                    basis: EdgeBasis::Attributed,
                    lot: None,
                    mass: Some(mass.grams()),
                    reo: Some(reo.grams()),
                    disclosed: true,
                    pool: Some(pool_key.clone()),
                });
                self.visit(&from);
            }
            return Ok(());
        }
        for edge in self.source.edges_into(lot)? {
            self.edges.push(recorded(&edge, &creation.enterprise));
            self.visit(&edge.from);
        }
        Ok(())
    }

    fn forward(&mut self, lot: &LotId) -> Result<(), S::Error> {
        for step in self.source.custody(lot)? {
            let to = match (&step.to, &step.country) {
                (Some(e), _) => TraceNode::Holder {
                    enterprise: e.clone(),
                },
                (None, country) => TraceNode::Abroad {
                    country: country.clone().unwrap_or_default(),
                },
            };
            self.edges.push(TraceEdge {
                from: TraceNode::Holder {
                    enterprise: step.from.clone(),
                },
                to,
                entry: step.entry,
                enterprise: self.source.recorded_by(step.entry)?,
                kind: step.kind,
                basis: EdgeBasis::Recorded,
                lot: Some(lot.clone()),
                mass: Some(step.mass.grams()),
                reo: Some(step.reo.grams()),
                disclosed: true,
                pool: None,
            });
        }
        for edge in self.source.edges_out_of(lot)? {
            let made_by = self.source.recorded_by(edge.entry)?;
            self.edges.push(recorded(&edge, &made_by));
            self.visit(&edge.to);
        }
        for key in self.source.pools_fed(lot)? {
            let (inputs, outputs) = self.load_pool(&key)?;
            let pool = Pool::new(inputs, outputs);
            let found: Vec<(LotId, u64, Mass, Mass)> = inputs
                .iter()
                .enumerate()
                .filter(|(_, i)| &i.lot == lot)
                .flat_map(|(at, _)| pool.uses_of(at))
                .map(|a| {
                    (
                        outputs[a.output].lot.clone(),
                        outputs[a.output].entry,
                        a.mass,
                        a.reo,
                    )
                })
                .collect();
            for (to, entry, mass, reo) in found {
                let made_by = self.source.recorded_by(entry)?;
                self.edges.push(TraceEdge {
                    from: lot_node(lot),
                    to: lot_node(&to),
                    entry,
                    enterprise: made_by,
                    kind: FlowKind::Transform,
                    basis: EdgeBasis::Attributed,
                    lot: None,
                    mass: Some(mass.grams()),
                    reo: Some(reo.grams()),
                    disclosed: true,
                    pool: Some(key.clone()),
                });
                self.visit(&to);
            }
        }
        Ok(())
    }
}

/// A recorded lineage edge of a transformation `enterprise` recorded.
fn recorded(edge: &LineageEdge, enterprise: &Uscc) -> TraceEdge {
    TraceEdge {
        from: lot_node(&edge.from),
        to: lot_node(&edge.to),
        entry: edge.entry,
        enterprise: enterprise.clone(),
        kind: FlowKind::Transform,
        basis: EdgeBasis::Recorded,
        lot: None,
        mass: Some(edge.mass.grams()),
        reo: Some(edge.reo.grams()),
        disclosed: true,
        pool: None,
    }
}
