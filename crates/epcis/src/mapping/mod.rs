//! retrace's flows as EPCIS 2.0 events and back (DESIGN.md §2, the "EPCIS 2.0 mapping"
//! column of the flow table; `MAPPING.md` beside this crate has a worked example per kind).
//!
//! | flow | EPCIS 2.0 event (§7.4) | CBV 2.0 bizStep (§7.1) | parties (CBV §7.4, source/destination) |
//! |---|---|---|---|
//! | `opening` | ObjectEvent `ADD`, ILMD | — | — |
//! | `extract` | ObjectEvent `ADD`, ILMD | `commissioning` | — |
//! | `import` | ObjectEvent `ADD`, ILMD | `receiving` | source `location` the origin country, destination `owning_party` |
//! | `transform` | TransformationEvent, ILMD of the outputs | — | — |
//! | `ship` | ObjectEvent `OBSERVE` | `shipping`, `in_transit` | source and destination `owning_party` |
//! | `receive` | ObjectEvent `OBSERVE` | `receiving` | source and destination `owning_party` |
//! | `transfer` | TransactionEvent `ADD` | — | `owning_party` both sides, `possessing_party` the holder |
//! | `export` | ObjectEvent `OBSERVE` | `shipping`, `in_transit` | source `owning_party`, destination `location` the country |
//! | `adjust` | ObjectEvent `OBSERVE` | `inspecting`, or `destroying` / `destroyed` | — |
//! | `correction` | the corrected event again, with an `errorDeclaration` (§7.4.1.2) | — | — |
//!
//! Every lot is an EPC class in a quantity list ([`crate::identifier::lot_class`]), every mass a
//! quantity in kilograms ([`crate::quantity`]); the enterprise, the flow kind and whatever EPCIS has
//! no field for are `rareearth` extension fields ([`crate::extension`]); the facility is the
//! read point (and the business location where the goods stay). Lot master data — product,
//! grade and its basis, moisture, loss on ignition, purity, certificate, element
//! distribution, feed origin — is ILMD (EPCIS 2.0 §7.3.6): flat for the one lot an
//! `opening`, `extract` or `import` makes, as a list `rareearth:outputs` for the outputs of
//! a `transform`.
//!
//! [`to_epcis`] and [`from_epcis`] are inverse: a record mapped to an event and back is the
//! same record, to the offset of its event time.

mod from_epcis;
mod to_epcis;

use std::collections::BTreeMap;

use retrace_domain::record::Record;
use serde_json::Value;

pub use from_epcis::from_epcis;
pub use to_epcis::to_epcis;

use crate::HashError;

/// What the mapping of corrections needs to know of the ledger: an error declaration repeats
/// the event it declares wrong (EPCIS 2.0 §7.4.1.2), and names it by its eventID.
pub trait Entries {
    /// The EPCIS event of the ledger entry at `index`, as the repository holds it — with its
    /// `eventID`, and with an event-level `@context` for any prefix other than `rareearth`
    /// that it uses — or `None` if there is no such entry or it has no event.
    fn event(&self, index: u64) -> Option<Value>;

    /// The ledger index of the entry whose event has `event_id` as its `eventID` or its CBV
    /// 2.0 Event Hash ID.
    fn index(&self, event_id: &str) -> Option<u64>;
}

/// Events by ledger index, found by their `eventID`: a ledger held in memory, as a
/// document export or a test has it.
impl Entries for BTreeMap<u64, Value> {
    fn event(&self, index: u64) -> Option<Value> {
        self.get(&index).cloned()
    }

    fn index(&self, event_id: &str) -> Option<u64> {
        self.iter()
            .find(|(_, event)| event.get("eventID").and_then(Value::as_str) == Some(event_id))
            .map(|(index, _)| *index)
    }
}

/// What a valid EPCIS event is to retrace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapped {
    /// The event carries the `rareearth` extension: a flow, with all its rules and quota
    /// effects.
    Record(Box<Record>),
    /// A general traceability event: valid EPCIS, kept and queryable, with no rare earth
    /// effect.
    General,
}

/// Why an event that claims the `rareearth` extension cannot be read as a flow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pointer}: {reason}")]
pub struct MappingError {
    /// JSON pointer (RFC 6901) of the offending value in the event, e.g.
    /// `/quantityList/0/quantity` (empty for the event as a whole).
    pub pointer: String,
    /// What is wrong and what to write instead.
    pub reason: String,
}

/// Why a record cannot be written as an EPCIS event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToEpcisError {
    /// Acts of the register (designations, registrations) are master data, not EPCIS events.
    #[error("the act `{0}` is master data of the register, not an EPCIS event: export flows only")]
    Act(String),
    /// A correction whose corrected entry the ledger has no event for.
    #[error("the correction declares ledger entry {0} wrong, which has no EPCIS event")]
    UnknownEntry(u64),
    /// A value EPCIS JSON cannot carry exactly.
    #[error("{field}: {reason}")]
    Value {
        /// Which value.
        field: String,
        /// Why.
        reason: String,
    },
    /// The event written could not be hashed (an event time outside 0000–9999).
    #[error("the event cannot be hashed: {0}")]
    Hash(#[from] HashError),
}

/// A JSON pointer one step below `base` (RFC 6901 §3, `~` and `/` escaped).
pub(crate) fn pointer(base: &str, step: &str) -> String {
    format!("{base}/{}", step.replace('~', "~0").replace('/', "~1"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pointers_escape_their_steps() {
        assert_eq!(pointer("", "ilmd"), "/ilmd");
        assert_eq!(pointer("/ilmd", "a/b~c"), "/ilmd/a~1b~0c");
    }

    #[test]
    fn entries_in_memory_are_found_by_event_id() {
        let entries = BTreeMap::from([
            (3, json!({"eventID": "ni:///sha-256;aa?ver=CBV2.0"})),
            (9, json!({"eventID": "urn:uuid:1"})),
        ]);
        assert_eq!(entries.index("urn:uuid:1"), Some(9));
        assert_eq!(entries.index("urn:uuid:2"), None);
        assert_eq!(
            entries.event(3).unwrap()["eventID"],
            "ni:///sha-256;aa?ver=CBV2.0"
        );
        assert_eq!(entries.event(4), None);
    }
}
