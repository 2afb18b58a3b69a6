//! Whose data a caller reaches, and which records it may write: the two
//! values every storage call requires, so that no read can forget whose data
//! it may return and no write whose records it may make (DESIGN.md §3; Art.
//! 11 of the measures: network and data security; Art. 15: officials are
//! accountable for what they do).
//!
//! Both are plain values here, pure domain rules with no notion of accounts.
//! The access layer (`retrace-access`) is what turns an authenticated account
//! into one of them, and the server gets them only from there.

use crate::act::Act;
use crate::enterprise::Group;
use crate::record::Record;
use crate::region::RegionCode;
use crate::uscc::Uscc;
use serde::{Deserialize, Serialize};

/// Whose data a caller may see.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "scope", content = "of", rename_all = "snake_case")]
pub enum Scope {
    /// The installation itself: whoever holds its data directory (the CLI,
    /// the demo loader, the benchmark). No account ever holds it.
    Installation,
    /// One enterprise: its own flows, its own side of transfers, the lots it
    /// holds, owns or made.
    Enterprise(Uscc),
    /// A group: the flows of its member enterprises.
    Group(Group),
    /// A regulator, inspector or auditor of a region: the enterprises whose
    /// seat or any facility lies in the region (DESIGN.md §2), and any lot
    /// while one of them holds or owns some of it (title passes without
    /// custody, DESIGN.md §2). [`RegionCode::nation`] reaches all.
    Region(RegionCode),
}

/// Which records a caller may write. Each variant names exactly the acts its
/// holder performs under the measures; [`Authority::permits`] is the one
/// table of what may be written by whom.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "authority", content = "of", rename_all = "snake_case")]
pub enum Authority {
    /// The installation itself (see [`Scope::Installation`]): every record.
    Installation,
    /// Records the flows of one enterprise (Art. 10).
    Enterprise(Uscc),
    /// Keeps the enterprise register: enterprises and facilities with their
    /// permits (the administrator).
    Register,
    /// Designates production enterprises and revokes designations (Art. 6,
    /// 7: the ministry of industry and information technology).
    Designation,
}

/// Why an authority may not write a record; the message names the field to
/// look at and who may write it instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{why}")]
pub struct NotPermitted {
    /// The field of the record that decides it (`enterprise`, `act`, `official`).
    pub field: &'static str,
    pub why: String,
}

impl Authority {
    /// Whether this authority may write `record`, done by the account named
    /// `official` (`None` for the installation). An act must name as its
    /// official the account that performs it (Art. 15), so that no official
    /// can record an act in another's name.
    ///
    /// # Errors
    /// [`NotPermitted`] naming the field and the reason.
    pub fn permits(&self, record: &Record, official: Option<&str>) -> Result<(), NotPermitted> {
        match record {
            Record::Flow(f) => match self {
                Authority::Installation => Ok(()),
                Authority::Enterprise(own) if *own == f.enterprise => Ok(()),
                Authority::Enterprise(own) => Err(NotPermitted {
                    field: "enterprise",
                    why: format!(
                        "this account records the flows of {own} only, not of {}",
                        f.enterprise
                    ),
                }),
                Authority::Register | Authority::Designation => Err(NotPermitted {
                    field: "kind",
                    why: "flows are recorded by the enterprise's own accounts".to_owned(),
                }),
            },
            Record::Act(a) => {
                let allowed = matches!(
                    (&a.act, self),
                    (_, Authority::Installation)
                        | (
                            Act::RegisterEnterprise(_) | Act::RegisterFacility(_),
                            Authority::Register
                        )
                        | (
                            Act::Designate(_) | Act::RevokeDesignation(_),
                            Authority::Designation
                        )
                );
                if !allowed {
                    return Err(NotPermitted {
                        field: "act",
                        why: format!(
                            "`{}` is an act of {}, which this account does not hold",
                            a.act.as_str(),
                            act_holder(&a.act)
                        ),
                    });
                }
                match official {
                    Some(account) if a.official != account => Err(NotPermitted {
                        field: "official",
                        why: format!(
                            "an act names the account that performs it: write `{account}`, not `{}`",
                            a.official
                        ),
                    }),
                    _ => Ok(()),
                }
            }
        }
    }
}

/// Who performs an act, in words.
fn act_holder(act: &Act) -> &'static str {
    match act {
        Act::RegisterEnterprise(_) | Act::RegisterFacility(_) => "the register's administrator",
        Act::Designate(_) | Act::RevokeDesignation(_) => {
            "the ministry (industry and information technology)"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::act::{ActRecord, Revocation};
    use crate::enterprise::QuotaCategory;
    use crate::flow::{Adjust, AdjustReason, Flow, FlowEvent};
    use crate::quantity::MassChange;
    use time::macros::{date, datetime};

    fn uscc(n: u32) -> Uscc {
        Uscc::synthesize("150206", n)
    }

    fn flow(of: &Uscc) -> Record {
        Record::Flow(FlowEvent {
            event_time: datetime!(2025-03-01 08:00 +08:00),
            enterprise: of.clone(),
            facility: None,
            reference: None,
            flow: Flow::Adjust(Adjust {
                lot: crate::lot::LotId::under_uscc(of, "L1").unwrap(),
                change: MassChange::from_grams(-5),
                reason: AdjustReason::StockTake,
                grade: None,
                note: None,
            }),
        })
    }

    fn revoke(official: &str) -> Record {
        Record::Act(ActRecord {
            effective: datetime!(2025-03-01 08:00 +08:00),
            official: official.to_owned(),
            act: Act::RevokeDesignation(Revocation {
                enterprise: uscc(1),
                category: QuotaCategory::Separation,
                from: date!(2025 - 03 - 01),
                document: "工信部 2025-1".to_owned(),
            }),
        })
    }

    #[test]
    fn each_authority_writes_only_its_own_records() {
        let own = uscc(1);
        let other = uscc(2);
        let enterprise = Authority::Enterprise(own.clone());
        assert_eq!(enterprise.permits(&flow(&own), Some("clerk")), Ok(()));
        let e = enterprise
            .permits(&flow(&other), Some("clerk"))
            .unwrap_err();
        assert_eq!(e.field, "enterprise");
        assert!(e.why.contains(other.as_str()), "{e}");
        assert_eq!(
            enterprise
                .permits(&revoke("clerk"), Some("clerk"))
                .unwrap_err()
                .field,
            "act"
        );
        assert_eq!(
            Authority::Register
                .permits(&flow(&own), None)
                .unwrap_err()
                .field,
            "kind"
        );
        assert_eq!(
            Authority::Register
                .permits(&revoke("admin"), Some("admin"))
                .unwrap_err()
                .field,
            "act"
        );
        assert_eq!(
            Authority::Designation.permits(&revoke("miit.li"), Some("miit.li")),
            Ok(())
        );
        assert_eq!(Authority::Installation.permits(&flow(&other), None), Ok(()));
        assert_eq!(
            Authority::Installation.permits(&revoke("anyone"), None),
            Ok(())
        );
    }

    #[test]
    fn an_act_names_the_account_that_performs_it() {
        let e = Authority::Designation
            .permits(&revoke("miit.wang"), Some("miit.li"))
            .unwrap_err();
        assert_eq!(e.field, "official");
        assert!(e.why.contains("`miit.li`"), "{e}");
    }
}
