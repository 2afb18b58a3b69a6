//! The caller's scope: the value every storage call requires, so that no read
//! can forget whose data it may return (DESIGN.md §3; Art. 11 of the measures).

use retrace_domain::enterprise::Group;
use retrace_domain::region::RegionCode;
use retrace_domain::uscc::Uscc;
use serde::{Deserialize, Serialize};

/// Whose data a caller may see and write.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "scope", content = "of", rename_all = "snake_case")]
pub enum Scope {
    /// The operator of the installation: everything. Until accounts exist the
    /// server runs under this scope, explicitly.
    Operator,
    /// One enterprise: its own flows, its own side of transfers, the lots it holds or made.
    Enterprise(Uscc),
    /// A group: the flows of its member enterprises.
    Group(Group),
    /// A regulator or auditor of a region: the enterprises whose seat or any
    /// facility lies in the region, and any lot while one of them holds it.
    Region(RegionCode),
}

impl Scope {
    /// Whether the scope may record flows as `enterprise`.
    pub fn may_record_for(&self, enterprise: &Uscc) -> bool {
        match self {
            Scope::Operator => true,
            Scope::Enterprise(own) => own == enterprise,
            Scope::Group(_) | Scope::Region(_) => false,
        }
    }

    /// Whether the scope may perform official acts on the register.
    pub fn may_act(&self) -> bool {
        matches!(self, Scope::Operator)
    }
}
