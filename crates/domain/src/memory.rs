//! An in-memory projection state: the projector's [`StateView`] over plain
//! maps. Stores keep their state in tables; this one serves the rule tests
//! and lets the synthetic industry check that its clean data raises no flag
//! without a database.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;

use time::OffsetDateTime;

use crate::enterprise::{Designation, Enterprise};
use crate::facility::{Facility, FacilityId};
use crate::flow::FlowEvent;
use crate::lot::LotId;
use crate::project::{
    Effects, Flag, FlagChange, LotState, Movement, PoolMember, ProcessMonth, ProcessMonthKey,
    ProjectError, Projector, RegistryChange, Shipment, StateView,
};
use crate::record::Record;
use crate::uscc::Uscc;

/// Every projection, in memory.
#[derive(Debug, Default)]
pub struct MemoryState {
    enterprises: HashMap<Uscc, Enterprise>,
    facilities: HashMap<FacilityId, Facility>,
    designations: HashMap<Uscc, Vec<Designation>>,
    lots: HashMap<LotId, LotState>,
    positions: HashMap<(LotId, Uscc), Vec<Movement>>,
    shipments: HashMap<(Uscc, String), Shipment>,
    process_months: HashMap<ProcessMonthKey, ProcessMonth>,
    flags: BTreeMap<String, Flag>,
    flows: HashMap<u64, (FlowEvent, Option<u64>)>,
    entry_movements: HashMap<u64, Vec<Movement>>,
    entry_members: HashMap<u64, Vec<PoolMember>>,
    next_index: u64,
}

impl MemoryState {
    pub fn new() -> MemoryState {
        MemoryState::default()
    }

    /// Projects `record` as the next entry and applies its effects.
    ///
    /// # Errors
    /// The projector's refusal; the state is unchanged then.
    pub fn record(
        &mut self,
        projector: &Projector,
        now: OffsetDateTime,
        record: &Record,
    ) -> Result<u64, ProjectError<Infallible>> {
        let index = self.next_index;
        let effects = projector.project(index, now, record, &*self)?;
        self.apply(index, record, effects);
        self.next_index += 1;
        Ok(index)
    }

    /// Flags currently raised, by key.
    pub fn flags(&self) -> &BTreeMap<String, Flag> {
        &self.flags
    }

    /// Net wet mass of a lot at a holder, in grams.
    pub fn stock(&self, lot: &LotId, holder: &Uscc) -> i64 {
        self.positions
            .get(&(lot.clone(), holder.clone()))
            .map_or(0, |m| m.iter().map(|m| m.mass).sum())
    }

    fn apply(&mut self, index: u64, record: &Record, effects: Effects) {
        for change in effects.registry {
            match change {
                RegistryChange::Enterprise(e) => {
                    self.enterprises.insert(e.uscc.clone(), e);
                }
                RegistryChange::Facility(f) => {
                    self.facilities.insert(f.id.clone(), f);
                }
                RegistryChange::Designation(d) => self
                    .designations
                    .entry(d.enterprise.clone())
                    .or_default()
                    .push(d),
                RegistryChange::Revocation {
                    enterprise,
                    category,
                    last_day,
                } => {
                    for d in self
                        .designations
                        .entry(enterprise)
                        .or_default()
                        .iter_mut()
                        .filter(|d| d.category == category)
                    {
                        d.valid_to = d.valid_to.min(last_day);
                    }
                }
            }
        }
        for lot in effects.lots.into_iter().chain(effects.lot_revisions) {
            self.lots.insert(lot.lot.clone(), lot);
        }
        for m in &effects.movements {
            self.positions
                .entry((m.lot.clone(), m.holder.clone()))
                .or_default()
                .push(m.clone());
        }
        self.entry_movements.insert(index, effects.movements);
        self.entry_members.insert(index, effects.members);
        for (key, delta) in effects.process_months {
            self.process_months.entry(key).or_default().add(&delta, 1);
        }
        for s in effects.shipments {
            self.shipments
                .insert((s.sender.clone(), s.number.clone()), s);
        }
        for change in effects.flags {
            match change {
                FlagChange::Raise(flag) => {
                    self.flags.insert(flag.key.clone(), *flag);
                }
                FlagChange::Clear(key) => {
                    self.flags.remove(&key);
                }
            }
        }
        if let Some(entry) = effects.corrects.and_then(|c| self.flows.get_mut(&c)) {
            entry.1 = Some(index);
        }
        if let Record::Flow(flow) = record {
            self.flows.insert(index, (flow.clone(), None));
        }
    }
}

impl StateView for MemoryState {
    type Error = Infallible;

    fn enterprise(&self, uscc: &Uscc) -> Result<Option<Enterprise>, Infallible> {
        Ok(self.enterprises.get(uscc).cloned())
    }

    fn facility(&self, id: &FacilityId) -> Result<Option<Facility>, Infallible> {
        Ok(self.facilities.get(id).cloned())
    }

    fn designations(&self, uscc: &Uscc) -> Result<Vec<Designation>, Infallible> {
        Ok(self.designations.get(uscc).cloned().unwrap_or_default())
    }

    fn lot(&self, id: &LotId) -> Result<Option<LotState>, Infallible> {
        Ok(self.lots.get(id).cloned())
    }

    fn position(&self, lot: &LotId, holder: &Uscc) -> Result<Vec<Movement>, Infallible> {
        Ok(self
            .positions
            .get(&(lot.clone(), holder.clone()))
            .cloned()
            .unwrap_or_default())
    }

    fn shipment(&self, sender: &Uscc, number: &str) -> Result<Option<Shipment>, Infallible> {
        Ok(self
            .shipments
            .get(&(sender.clone(), number.to_owned()))
            .cloned())
    }

    fn process_month(&self, key: &ProcessMonthKey) -> Result<ProcessMonth, Infallible> {
        Ok(self.process_months.get(key).cloned().unwrap_or_default())
    }

    fn flag(&self, key: &str) -> Result<Option<Flag>, Infallible> {
        Ok(self.flags.get(key).cloned())
    }

    fn flow(&self, entry: u64) -> Result<Option<(FlowEvent, Option<u64>)>, Infallible> {
        Ok(self.flows.get(&entry).cloned())
    }

    fn entry_movements(&self, entry: u64) -> Result<Vec<Movement>, Infallible> {
        Ok(self
            .entry_movements
            .get(&entry)
            .cloned()
            .unwrap_or_default())
    }

    fn entry_members(&self, entry: u64) -> Result<Vec<PoolMember>, Infallible> {
        Ok(self.entry_members.get(&entry).cloned().unwrap_or_default())
    }
}
