//! Official acts on the register: enterprises and facilities entered,
//! designations granted and revoked. They are recorded in the ledger like
//! flows, with the official who did them, so that officials are accountable
//! too (Art. 15 of the measures).

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::enterprise::{Designation, Enterprise, QuotaCategory};
use crate::facility::Facility;
use crate::uscc::Uscc;

/// One act, with when it took effect and who did it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActRecord {
    #[serde(with = "time::serde::rfc3339")]
    pub effective: OffsetDateTime,
    /// The account that did it (Art. 15). Left blank by a client, the server
    /// fills in the account that records it; it may not name another.
    #[serde(default)]
    pub official: String,
    #[serde(flatten)]
    pub act: Act,
}

/// The acts of the register.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "act", rename_all = "snake_case")]
pub enum Act {
    RegisterEnterprise(Enterprise),
    RegisterFacility(Facility),
    Designate(Designation),
    RevokeDesignation(Revocation),
}

impl Act {
    pub fn as_str(&self) -> &'static str {
        match self {
            Act::RegisterEnterprise(_) => "register_enterprise",
            Act::RegisterFacility(_) => "register_facility",
            Act::Designate(_) => "designate",
            Act::RevokeDesignation(_) => "revoke_designation",
        }
    }

    /// The enterprise the act concerns.
    pub fn enterprise(&self) -> &Uscc {
        match self {
            Act::RegisterEnterprise(e) => &e.uscc,
            Act::RegisterFacility(f) => &f.operator,
            Act::Designate(d) => &d.enterprise,
            Act::RevokeDesignation(r) => &r.enterprise,
        }
    }
}

/// A designation withdrawn from a day on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Revocation {
    pub enterprise: Uscc,
    pub category: QuotaCategory,
    /// The first day the designation no longer holds.
    pub from: Date,
    pub document: String,
}
