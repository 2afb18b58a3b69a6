//! What the projector read, remembered between records by a store's one
//! writer (and by the audit's replay), so that the state a record needs is
//! read from the database once rather than for every record that needs it.
//! Both stores use it, so both answer the projector from the same memory.
//!
//! It is a write-through cache of a store's table view: every write of the
//! store's sequencing step to a cached table updates it in the same step, and
//! any rollback empties it — a rolled-back savepoint takes back writes the
//! cache has seen. It holds nothing the tables do not, so dropping it at any moment
//! is always correct; it is emptied whenever it grows past [`MAX_ITEMS`].
//!
//! The audit replays without it ([`ViewCache::off`]), so that a cache that
//! ever answered differently from the tables would show as a difference
//! between the live projections and their rebuild.

use std::cell::RefCell;

use retrace_domain::enterprise::{Designation, Enterprise};
use retrace_domain::facility::{Facility, FacilityId};
use retrace_domain::lot::LotId;
use retrace_domain::project::{Flag, LotState, Movement, ProcessMonth, ProcessMonthKey, Shipment};
use retrace_domain::uscc::Uscc;

/// Items remembered before the cache starts over: a few hundred megabytes at
/// most, and far more than the working set of a month of flows. Only new
/// keys count: overwriting what is remembered (every write of a hot lot,
/// shipment or flag) does not bring the next clearing nearer.
const MAX_ITEMS: usize = 400_000;

/// The cache's maps hash with foldhash rather than SipHash: every record
/// looks up and updates a dozen entries keyed by lot codes and USCCs, and
/// SipHash was a noticeable part of the writer's time. Its per-process random
/// seed keeps crafted lot codes from choosing collisions.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
type HashSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

#[derive(Debug, Default)]
struct Maps {
    enterprises: HashMap<Uscc, Enterprise>,
    facilities: HashMap<FacilityId, Facility>,
    designations: HashMap<Uscc, Vec<Designation>>,
    /// `None`: the lot is known not to exist.
    lots: HashMap<LotId, Option<LotState>>,
    /// The `lot.id` of a lot's code.
    lot_keys: HashMap<LotId, i64>,
    /// Every movement of a lot at a holder, in ledger order. For a lot in
    /// `complete` every holder is here, so a missing holder has no movement.
    histories: HashMap<LotId, HashMap<Uscc, Vec<Movement>>>,
    /// Lots created while the cache remembered: all their history is in `histories`.
    complete: HashSet<LotId>,
    shipments: HashMap<Uscc, HashMap<String, Option<Shipment>>>,
    /// `None`: no flag is raised under the key.
    flags: HashMap<String, Option<Flag>>,
    /// `Some(true)`: every raised flag is in `flags`, so a key missing there
    /// has none; `Some(false)`: too many flags to hold them all; `None`: not
    /// tried since the cache started over.
    all_flags: Option<bool>,
    process_months: HashMap<ProcessMonthKey, ProcessMonth>,
    items: usize,
}

/// The projector's reads, remembered; see the module documentation.
#[derive(Debug)]
pub struct ViewCache {
    maps: RefCell<Maps>,
    on: bool,
}

impl Default for ViewCache {
    fn default() -> ViewCache {
        ViewCache::new()
    }
}

impl ViewCache {
    /// A cache that remembers.
    pub fn new() -> ViewCache {
        ViewCache {
            maps: RefCell::default(),
            on: true,
        }
    }

    /// A cache that remembers nothing: every read goes to the tables.
    pub fn off() -> ViewCache {
        ViewCache {
            maps: RefCell::default(),
            on: false,
        }
    }

    /// Forgets everything: after a rollback, or when the cache is full.
    pub fn clear(&self) {
        *self.maps.borrow_mut() = Maps::default();
    }

    /// Runs `f`, which tells whether it added a key, and starts over when
    /// the cache holds more than [`MAX_ITEMS`] keys.
    fn counted(&self, f: impl FnOnce(&mut Maps) -> bool) {
        if !self.on {
            return;
        }
        let mut maps = self.maps.borrow_mut();
        if f(&mut maps) {
            maps.items += 1;
        }
        if maps.items > MAX_ITEMS {
            *maps = Maps::default();
        }
    }

    pub fn enterprise(&self, uscc: &Uscc) -> Option<Enterprise> {
        self.maps.borrow().enterprises.get(uscc).cloned()
    }

    pub fn put_enterprise(&self, e: &Enterprise) {
        self.counted(|m| m.enterprises.insert(e.uscc.clone(), e.clone()).is_none());
    }

    pub fn facility(&self, id: &FacilityId) -> Option<Facility> {
        self.maps.borrow().facilities.get(id).cloned()
    }

    pub fn put_facility(&self, f: &Facility) {
        self.counted(|m| m.facilities.insert(f.id.clone(), f.clone()).is_none());
    }

    pub fn designations(&self, uscc: &Uscc) -> Option<Vec<Designation>> {
        self.maps.borrow().designations.get(uscc).cloned()
    }

    pub fn put_designations(&self, uscc: &Uscc, held: &[Designation]) {
        self.counted(|m| m.designations.insert(uscc.clone(), held.to_vec()).is_none());
    }

    /// The register changed: forget what was read of it.
    pub fn register_changed(&self) {
        let mut maps = self.maps.borrow_mut();
        maps.enterprises.clear();
        maps.facilities.clear();
        maps.designations.clear();
    }

    pub fn lot(&self, id: &LotId) -> Option<Option<LotState>> {
        self.maps.borrow().lots.get(id).cloned()
    }

    /// Remembers a lot as read, or as just written.
    pub fn put_lot(&self, id: &LotId, state: Option<&LotState>) {
        self.counted(|m| m.lots.insert(id.clone(), state.cloned()).is_none());
    }

    pub fn lot_key(&self, id: &LotId) -> Option<i64> {
        self.maps.borrow().lot_keys.get(id).copied()
    }

    pub fn put_lot_key(&self, id: &LotId, key: i64) {
        self.counted(|m| m.lot_keys.insert(id.clone(), key).is_none());
    }

    /// A lot was created: it has no movement yet, so its whole history will
    /// be what [`ViewCache::moved`] is told.
    pub fn created(&self, id: &LotId) {
        self.counted(|m| m.complete.insert(id.clone()));
    }

    pub fn history(&self, lot: &LotId, holder: &Uscc) -> Option<Vec<Movement>> {
        self.maps
            .borrow()
            .histories
            .get(lot)
            .and_then(|h| h.get(holder))
            .cloned()
    }

    pub fn put_history(&self, lot: &LotId, holder: &Uscc, movements: &[Movement]) {
        self.counted(|m| {
            m.histories
                .entry(lot.clone())
                .or_default()
                .insert(holder.clone(), movements.to_vec())
                .is_none()
        });
    }

    /// A movement was written: a remembered history grows by it.
    pub fn moved(&self, movement: &Movement) {
        let mut maps = self.maps.borrow_mut();
        let complete = maps.complete.contains(&movement.lot);
        let Some(holders) = maps.histories.get_mut(&movement.lot) else {
            if complete {
                let mut holders = HashMap::default();
                holders.insert(movement.holder.clone(), vec![movement.clone()]);
                maps.histories.insert(movement.lot.clone(), holders);
            }
            return;
        };
        match holders.get_mut(&movement.holder) {
            Some(history) => history.push(movement.clone()),
            None if complete => {
                holders.insert(movement.holder.clone(), vec![movement.clone()]);
            }
            None => {}
        }
    }

    pub fn shipment(&self, sender: &Uscc, number: &str) -> Option<Option<Shipment>> {
        self.maps
            .borrow()
            .shipments
            .get(sender)
            .and_then(|s| s.get(number))
            .cloned()
    }

    pub fn put_shipment(&self, sender: &Uscc, number: &str, shipment: Option<&Shipment>) {
        self.counted(|m| {
            m.shipments
                .entry(sender.clone())
                .or_default()
                .insert(number.to_owned(), shipment.cloned())
                .is_none()
        });
    }

    pub fn flag(&self, key: &str) -> Option<Option<Flag>> {
        let maps = self.maps.borrow();
        match maps.flags.get(key) {
            Some(hit) => Some(hit.clone()),
            None if maps.all_flags == Some(true) => Some(None),
            None => None,
        }
    }

    /// Whether the caller should try to read every flag into the cache
    /// ([`ViewCache::put_all_flags`]): most keys the projector asks about
    /// have no flag, and remembering each of those absences would cost more
    /// than the flags themselves.
    pub fn wants_all_flags(&self) -> bool {
        self.on && self.maps.borrow().all_flags.is_none()
    }

    /// Remembers every raised flag, or — given `None`, when there are too
    /// many — that they are not all held, until the cache starts over.
    ///
    /// The flags go in under one borrow, not through [`ViewCache::counted`],
    /// which could start over halfway and leave the set marked whole with
    /// flags missing; the next counted insert starts over if they made the
    /// cache too big, forgetting the mark with them.
    pub fn put_all_flags(&self, flags: Option<Vec<Flag>>) {
        if !self.on {
            return;
        }
        let mut maps = self.maps.borrow_mut();
        let Some(flags) = flags else {
            maps.all_flags = Some(false);
            return;
        };
        for flag in flags {
            if maps.flags.insert(flag.key.clone(), Some(flag)).is_none() {
                maps.items += 1;
            }
        }
        maps.all_flags = Some(true);
    }

    pub fn put_flag(&self, key: &str, flag: Option<&Flag>) {
        self.counted(|m| {
            if flag.is_none() && m.all_flags == Some(true) {
                m.flags.remove(key);
                return false;
            }
            m.flags.insert(key.to_owned(), flag.cloned()).is_none()
        });
    }

    pub fn process_month(&self, key: &ProcessMonthKey) -> Option<ProcessMonth> {
        self.maps.borrow().process_months.get(key).cloned()
    }

    pub fn put_process_month(&self, key: &ProcessMonthKey, totals: &ProcessMonth) {
        self.counted(|m| {
            m.process_months
                .insert(key.clone(), totals.clone())
                .is_none()
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::conformance::parties;
    use retrace_domain::rules::Rule;

    use super::*;

    fn flag(key: &str) -> Flag {
        Flag {
            key: key.to_owned(),
            rule: Rule::NegativeStock,
            enterprise: parties().miner,
            facility: None,
            lot: None,
            month: "2025-05".to_owned(),
            entries: vec![1],
            occurrences: 1,
            detail: String::new(),
        }
    }

    #[test]
    fn a_cache_holding_every_flag_answers_the_rest_as_none_until_it_starts_over() {
        let cache = ViewCache::new();
        assert!(cache.wants_all_flags());
        cache.put_all_flags(Some(vec![flag("a")]));
        assert!(!cache.wants_all_flags());
        assert_eq!(cache.flag("a"), Some(Some(flag("a"))));
        assert_eq!(cache.flag("b"), Some(None));
        cache.put_flag("a", None);
        assert_eq!(cache.flag("a"), Some(None));
        cache.clear();
        assert!(cache.wants_all_flags());
        assert_eq!(
            cache.flag("b"),
            None,
            "after starting over, absence is unknown"
        );
    }

    #[test]
    fn too_many_flags_are_remembered_key_by_key() {
        let cache = ViewCache::new();
        cache.put_all_flags(None);
        assert!(!cache.wants_all_flags());
        assert_eq!(cache.flag("b"), None);
        cache.put_flag("b", None);
        assert_eq!(cache.flag("b"), Some(None));
    }

    #[test]
    fn a_cache_that_is_off_never_holds_every_flag() {
        let cache = ViewCache::off();
        assert!(!cache.wants_all_flags());
        cache.put_all_flags(Some(vec![flag("a")]));
        assert_eq!(cache.flag("b"), None);
    }
}
