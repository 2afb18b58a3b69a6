//! A record is what one ledger entry holds: a flow an enterprise recorded or
//! an act an official did.

use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;

use crate::act::ActRecord;
use crate::flow::FlowEvent;
use crate::uscc::Uscc;

/// A flow or an act. In JSON a flow has a `kind` and an act an `act`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum Record {
    Flow(FlowEvent),
    Act(ActRecord),
}

impl Record {
    /// The token the ledger entry names its kind by: `flow.ship`, `act.designate`, …
    pub fn kind_token(&self) -> String {
        match self {
            Record::Flow(f) => format!("flow.{}", f.flow.kind().as_str()),
            Record::Act(a) => format!("act.{}", a.act.as_str()),
        }
    }

    /// When it happened (event time) or took effect.
    pub fn time(&self) -> OffsetDateTime {
        match self {
            Record::Flow(f) => f.event_time,
            Record::Act(a) => a.effective,
        }
    }

    /// The enterprise whose record it is.
    pub fn enterprise(&self) -> &Uscc {
        match self {
            Record::Flow(f) => &f.enterprise,
            Record::Act(a) => a.act.enterprise(),
        }
    }
}

impl<'de> Deserialize<'de> for Record {
    /// Dispatches on the `act` key so that errors inside a flow name the flow's
    /// own field rather than "did not match any variant".
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Record, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        let is_act = value.get("act").is_some();
        if is_act {
            ActRecord::deserialize(value)
                .map(Record::Act)
                .map_err(serde::de::Error::custom)
        } else {
            FlowEvent::deserialize(value)
                .map(Record::Flow)
                .map_err(serde::de::Error::custom)
        }
    }
}
