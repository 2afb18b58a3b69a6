//! Capabilities by type: after a permission check the caller receives a
//! narrow handle that is the only way to make the call it permits (issue 3
//! §1–2; Art. 11 network and data security — least privilege by enterprise,
//! group and region; Art. 15 — every handle names the official who holds it).
//!
//! The handles have private fields and come only from the methods of
//! [`Principal`], which check the role's [`Capability`] set and the target.
//! Handlers take handles as arguments, and so should storage calls: code
//! that lacks a [`SealMonth`] for an enterprise cannot seal its month, and
//! there is no tenant check to forget in a handler.
//!
//! | capability | granted to | handle covers |
//! |---|---|---|
//! | [`ReadScoped`] | every role but the administrator | the role's [`Role::scope`] |
//! | [`RecordFlows`] | enterprise operator and manager | its own enterprise |
//! | [`SealMonth`] | enterprise manager | its own enterprise |
//! | [`ManageEnterpriseUsers`] | enterprise manager | its own enterprise's accounts and tokens |
//! | [`SubAllocate`] | group manager | its own group |
//! | [`RecordInspection`] | inspector | its region |
//! | [`ReadAuditTrail`] | auditor | its region |
//! | [`AdministerAccounts`] | administrator | every account |
//! | [`AdministerRegister`] | administrator | the enterprise register, not the flows |
//! | [`Designate`] | ministry regulator (industry and IT) | designations of production enterprises |

use std::fmt;

use retrace_domain::enterprise::Group;
use retrace_domain::region::RegionCode;
use retrace_domain::scope::{Authority, Scope};
use retrace_domain::uscc::Uscc;

use crate::account::Principal;
use crate::role::{Department, RegulatorLevel, Role};

/// Something a role may do. [`Role::capabilities`] is the one table of
/// which role may do what.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Capability {
    ReadScoped,
    RecordFlows,
    SealMonth,
    ManageEnterpriseUsers,
    SubAllocate,
    RecordInspection,
    ReadAuditTrail,
    AdministerAccounts,
    AdministerRegister,
    Designate,
}

impl Capability {
    /// Every capability, in declaration order.
    pub const ALL: [Capability; 10] = [
        Capability::ReadScoped,
        Capability::RecordFlows,
        Capability::SealMonth,
        Capability::ManageEnterpriseUsers,
        Capability::SubAllocate,
        Capability::RecordInspection,
        Capability::ReadAuditTrail,
        Capability::AdministerAccounts,
        Capability::AdministerRegister,
        Capability::Designate,
    ];
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Capability::ReadScoped => "read flows and reports",
            Capability::RecordFlows => "record flows",
            Capability::SealMonth => "seal monthly submissions",
            Capability::ManageEnterpriseUsers => "manage the enterprise's accounts and API tokens",
            Capability::SubAllocate => "sub-allocate quota",
            Capability::RecordInspection => "record inspections",
            Capability::ReadAuditTrail => "read the audit trail",
            Capability::AdministerAccounts => "administer accounts",
            Capability::AdministerRegister => "administer the enterprise register",
            Capability::Designate => "designate production enterprises",
        })
    }
}

impl Role {
    /// What the role may do (issue 3 §1). The administrator administers
    /// accounts and the register and reads no flows; the auditor reads and
    /// changes nothing (Art. 15); no official records flows for an
    /// enterprise.
    pub fn capabilities(&self) -> &'static [Capability] {
        use Capability::*;
        match self {
            Role::EnterpriseOperator { .. } => &[ReadScoped, RecordFlows],
            Role::EnterpriseManager { .. } => {
                &[ReadScoped, RecordFlows, SealMonth, ManageEnterpriseUsers]
            }
            Role::GroupManager { .. } => &[ReadScoped, SubAllocate],
            // Art. 6, 7: the ministry of industry and information technology
            // designates the production enterprises.
            Role::Regulator(r)
                if r.level() == RegulatorLevel::Ministry
                    && r.department() == Department::IndustryIt =>
            {
                &[ReadScoped, Designate]
            }
            Role::Regulator(_) => &[ReadScoped],
            Role::Inspector { .. } => &[ReadScoped, RecordInspection],
            Role::Auditor { .. } => &[ReadScoped, ReadAuditTrail],
            Role::Administrator => &[AdministerAccounts, AdministerRegister],
        }
    }

    /// Whether the role has `capability` at all (for its own target).
    pub fn has(&self, capability: Capability) -> bool {
        self.capabilities().contains(&capability)
    }
}

/// A refused permission check. A handler answers a refused *read* as if the
/// thing did not exist (404), so that existence does not leak (issue 3 §2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("this account may not {capability} here: {reason}")]
pub struct Denied {
    pub capability: Capability,
    pub reason: DeniedReason,
}

/// Why a permission check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DeniedReason {
    #[error("its role does not include it")]
    NotInRole,
    #[error("the target is another enterprise")]
    OtherEnterprise,
    #[error("the target is another group")]
    OtherGroup,
    #[error("the role to be given lies outside the giver's enterprise")]
    RoleOutOfReach,
}

impl Principal {
    fn require(&self, capability: Capability) -> Result<(), Denied> {
        if self.role().has(capability) {
            Ok(())
        } else {
            Err(Denied {
                capability,
                reason: DeniedReason::NotInRole,
            })
        }
    }

    /// Checks `capability` and that `target` is the role's own enterprise.
    fn require_own(&self, capability: Capability, target: &Uscc) -> Result<Uscc, Denied> {
        self.require(capability)?;
        match self.role().enterprise() {
            Some(own) if own == target => Ok(own.clone()),
            _ => Err(Denied {
                capability,
                reason: DeniedReason::OtherEnterprise,
            }),
        }
    }

    /// Checks `capability` and returns the role's region.
    fn require_region(&self, capability: Capability) -> Result<RegionCode, Denied> {
        self.require(capability)?;
        self.role().region().ok_or(Denied {
            capability,
            reason: DeniedReason::NotInRole,
        })
    }

    /// Reads of flows and everything derived from them — lots, stock, quota
    /// usage, flags, reports, the register entries in reach — within the
    /// role's scope (issue 3 §2).
    ///
    /// # Errors
    /// [`Denied`] for the administrator, who reads no flows.
    pub fn read_scoped(&self) -> Result<ReadScoped, Denied> {
        self.require(Capability::ReadScoped)?;
        Ok(ReadScoped {
            principal: self.clone(),
            scope: self.role().scope(),
        })
    }

    /// Recording flows as `enterprise` (Art. 10).
    ///
    /// # Errors
    /// [`Denied`] unless the role is an operator or manager of `enterprise`.
    pub fn record_flows(&self, enterprise: &Uscc) -> Result<RecordFlows, Denied> {
        let enterprise = self.require_own(Capability::RecordFlows, enterprise)?;
        Ok(RecordFlows {
            principal: self.clone(),
            enterprise,
        })
    }

    /// Sealing `enterprise`'s monthly submission (Art. 10: last month's flows
    /// before the 10th).
    ///
    /// # Errors
    /// [`Denied`] unless the role is the manager of `enterprise`.
    pub fn seal_month(&self, enterprise: &Uscc) -> Result<SealMonth, Denied> {
        let enterprise = self.require_own(Capability::SealMonth, enterprise)?;
        Ok(SealMonth {
            principal: self.clone(),
            enterprise,
        })
    }

    /// Managing `enterprise`'s accounts and API tokens.
    ///
    /// # Errors
    /// [`Denied`] unless the role is the manager of `enterprise`.
    pub fn manage_enterprise_users(
        &self,
        enterprise: &Uscc,
    ) -> Result<ManageEnterpriseUsers, Denied> {
        let enterprise = self.require_own(Capability::ManageEnterpriseUsers, enterprise)?;
        Ok(ManageEnterpriseUsers {
            principal: self.clone(),
            enterprise,
        })
    }

    /// Filing `group`'s sub-allocation of quota to its members (Art. 6, 8).
    /// Whether a receiving enterprise belongs to the group is register data:
    /// storage checks it under [`SubAllocate::scope`].
    ///
    /// # Errors
    /// [`Denied`] unless the role is the manager of `group`.
    pub fn sub_allocate(&self, group: Group) -> Result<SubAllocate, Denied> {
        self.require(Capability::SubAllocate)?;
        if self.role().group() != Some(group) {
            return Err(Denied {
                capability: Capability::SubAllocate,
                reason: DeniedReason::OtherGroup,
            });
        }
        Ok(SubAllocate {
            principal: self.clone(),
            group,
        })
    }

    /// Recording inspections in the inspector's region (Art. 13). Whether
    /// the inspected enterprise lies in the region is checked by storage under
    /// [`RecordInspection::scope`].
    ///
    /// # Errors
    /// [`Denied`] unless the role is an inspector.
    pub fn record_inspection(&self) -> Result<RecordInspection, Denied> {
        let region = self.require_region(Capability::RecordInspection)?;
        Ok(RecordInspection {
            principal: self.clone(),
            region,
        })
    }

    /// Reading the audit trail within the auditor's region (Art. 15).
    ///
    /// # Errors
    /// [`Denied`] unless the role is an auditor.
    pub fn read_audit_trail(&self) -> Result<ReadAuditTrail, Denied> {
        let region = self.require_region(Capability::ReadAuditTrail)?;
        Ok(ReadAuditTrail {
            principal: self.clone(),
            region,
        })
    }

    /// Creating, changing and disabling any account, and issuing and revoking
    /// any API token.
    ///
    /// # Errors
    /// [`Denied`] unless the role is the administrator.
    pub fn administer_accounts(&self) -> Result<AdministerAccounts, Denied> {
        self.require(Capability::AdministerAccounts)?;
        Ok(AdministerAccounts {
            principal: self.clone(),
        })
    }

    /// Reading and changing the enterprise register: enterprises, groups,
    /// facilities, permits. Not the flows, and not quota allocations, which
    /// are confidential (DESIGN.md §2).
    ///
    /// # Errors
    /// [`Denied`] unless the role is the administrator.
    pub fn administer_register(&self) -> Result<AdministerRegister, Denied> {
        self.require(Capability::AdministerRegister)?;
        Ok(AdministerRegister {
            principal: self.clone(),
        })
    }

    /// Designating production enterprises and revoking designations (Art.
    /// 6, 7).
    ///
    /// # Errors
    /// [`Denied`] unless the role is a ministry regulator of industry and IT.
    pub fn designate(&self) -> Result<Designate, Denied> {
        self.require(Capability::Designate)?;
        Ok(Designate {
            principal: self.clone(),
        })
    }

    /// Managing accounts and API tokens: every account for the
    /// administrator, its own enterprise's for an enterprise manager.
    ///
    /// # Errors
    /// [`Denied`] for every other role.
    pub fn manage_accounts(&self) -> Result<AccountAuthority, Denied> {
        if let Ok(admin) = self.administer_accounts() {
            return Ok(AccountAuthority::Administrator(admin));
        }
        match self.role().enterprise() {
            Some(own) => self
                .manage_enterprise_users(&own.clone())
                .map(AccountAuthority::Enterprise),
            None => Err(Denied {
                capability: Capability::ManageEnterpriseUsers,
                reason: DeniedReason::NotInRole,
            }),
        }
    }
}

/// A handle that may give roles to accounts and API tokens.
pub trait GrantRoles {
    /// Who is giving the role, for the audit trail.
    fn principal(&self) -> &Principal;

    /// Whether the holder may give `role` to an account or token.
    ///
    /// # Errors
    /// [`Denied`] with [`DeniedReason::RoleOutOfReach`] when it may not.
    fn may_grant(&self, role: &Role) -> Result<(), Denied>;
}

macro_rules! principal_accessor {
    ($($handle:ident),* $(,)?) => {$(
        impl $handle {
            /// The account holding the handle, for the audit trail (Art. 15).
            pub fn principal(&self) -> &Principal {
                &self.principal
            }
        }
    )*};
}

principal_accessor!(
    ReadScoped,
    RecordFlows,
    SealMonth,
    ManageEnterpriseUsers,
    SubAllocate,
    RecordInspection,
    ReadAuditTrail,
    Designate,
);

/// Permission to read within a scope; see [`Principal::read_scoped`].
#[derive(Clone, Debug)]
pub struct ReadScoped {
    principal: Principal,
    scope: Scope,
}

impl ReadScoped {
    /// The scope every read made with this handle is limited to. Never
    /// [`Scope::Installation`]: no account holds the installation's reach.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }
}

/// Permission to record flows as one enterprise; see
/// [`Principal::record_flows`].
#[derive(Clone, Debug)]
pub struct RecordFlows {
    principal: Principal,
    enterprise: Uscc,
}

impl RecordFlows {
    /// The enterprise the flows are recorded as.
    pub fn enterprise(&self) -> &Uscc {
        &self.enterprise
    }

    /// The scope of that enterprise, for the storage call.
    pub fn scope(&self) -> Scope {
        Scope::Enterprise(self.enterprise.clone())
    }

    /// The authority of that enterprise, for the storage call that writes.
    pub fn authority(&self) -> Authority {
        Authority::Enterprise(self.enterprise.clone())
    }
}

/// Permission to seal one enterprise's monthly submission; see
/// [`Principal::seal_month`].
#[derive(Clone, Debug)]
pub struct SealMonth {
    principal: Principal,
    enterprise: Uscc,
}

impl SealMonth {
    pub fn enterprise(&self) -> &Uscc {
        &self.enterprise
    }

    pub fn scope(&self) -> Scope {
        Scope::Enterprise(self.enterprise.clone())
    }
}

/// Permission to manage one enterprise's accounts and API tokens; see
/// [`Principal::manage_enterprise_users`].
#[derive(Clone, Debug)]
pub struct ManageEnterpriseUsers {
    principal: Principal,
    enterprise: Uscc,
}

impl ManageEnterpriseUsers {
    pub fn enterprise(&self) -> &Uscc {
        &self.enterprise
    }

    pub fn scope(&self) -> Scope {
        Scope::Enterprise(self.enterprise.clone())
    }
}

impl GrantRoles for ManageEnterpriseUsers {
    fn principal(&self) -> &Principal {
        &self.principal
    }

    /// A manager gives only its own enterprise's operator and manager roles.
    fn may_grant(&self, role: &Role) -> Result<(), Denied> {
        match role {
            Role::EnterpriseOperator { enterprise } | Role::EnterpriseManager { enterprise }
                if *enterprise == self.enterprise =>
            {
                Ok(())
            }
            _ => Err(Denied {
                capability: Capability::ManageEnterpriseUsers,
                reason: DeniedReason::RoleOutOfReach,
            }),
        }
    }
}

/// Permission to file one group's sub-allocation; see
/// [`Principal::sub_allocate`].
#[derive(Clone, Debug)]
pub struct SubAllocate {
    principal: Principal,
    group: Group,
}

impl SubAllocate {
    pub fn group(&self) -> Group {
        self.group
    }

    pub fn scope(&self) -> Scope {
        Scope::Group(self.group)
    }
}

/// Permission to record inspections in one region; see
/// [`Principal::record_inspection`].
#[derive(Clone, Debug)]
pub struct RecordInspection {
    principal: Principal,
    region: RegionCode,
}

impl RecordInspection {
    pub fn region(&self) -> RegionCode {
        self.region
    }

    pub fn scope(&self) -> Scope {
        Scope::Region(self.region)
    }
}

/// Permission to read the audit trail of one region; see
/// [`Principal::read_audit_trail`].
#[derive(Clone, Debug)]
pub struct ReadAuditTrail {
    principal: Principal,
    region: RegionCode,
}

impl ReadAuditTrail {
    pub fn region(&self) -> RegionCode {
        self.region
    }

    pub fn scope(&self) -> Scope {
        Scope::Region(self.region)
    }
}

/// Permission to administer every account; see
/// [`Principal::administer_accounts`]. It carries no [`Scope`]: it reaches
/// accounts and tokens only, and storage calls on those tables take it
/// instead.
#[derive(Clone, Debug)]
pub struct AdministerAccounts {
    principal: Principal,
}

impl GrantRoles for AdministerAccounts {
    fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The administrator gives any role.
    fn may_grant(&self, _role: &Role) -> Result<(), Denied> {
        Ok(())
    }
}

/// Permission to administer the enterprise register; see
/// [`Principal::administer_register`]. It carries no [`Scope`], so it cannot
/// be turned into a read of the flows.
#[derive(Clone, Debug)]
pub struct AdministerRegister {
    principal: Principal,
}

impl AdministerRegister {
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The authority to write register acts, for the storage call.
    pub fn authority(&self) -> Authority {
        Authority::Register
    }

    /// The register's reach: the whole country. Register reads take it;
    /// flows are never read with it, because no read of flows takes this
    /// handle.
    pub fn scope(&self) -> Scope {
        Scope::Region(RegionCode::nation())
    }
}

/// Permission to designate production enterprises; see
/// [`Principal::designate`].
#[derive(Clone, Debug)]
pub struct Designate {
    principal: Principal,
}

impl Designate {
    /// The authority to write designation acts, for the storage call.
    pub fn authority(&self) -> Authority {
        Authority::Designation
    }
}

/// Who may manage which accounts: the administrator every account, an
/// enterprise manager its own enterprise's. Storage calls on accounts and
/// tokens take it and answer for an account out of its reach as if the
/// account did not exist.
#[derive(Clone, Debug)]
pub enum AccountAuthority {
    Administrator(AdministerAccounts),
    Enterprise(ManageEnterpriseUsers),
}

impl AccountAuthority {
    /// The enterprise whose accounts it reaches; `None` for every account.
    pub fn enterprise(&self) -> Option<&Uscc> {
        match self {
            AccountAuthority::Administrator(_) => None,
            AccountAuthority::Enterprise(m) => Some(m.enterprise()),
        }
    }

    /// Whether an account of `role` lies within its reach: the roles it
    /// may give are the accounts it may see and change.
    pub fn reaches(&self, role: &Role) -> bool {
        self.may_grant(role).is_ok()
    }
}

impl GrantRoles for AccountAuthority {
    fn principal(&self) -> &Principal {
        match self {
            AccountAuthority::Administrator(a) => GrantRoles::principal(a),
            AccountAuthority::Enterprise(m) => GrantRoles::principal(m),
        }
    }

    fn may_grant(&self, role: &Role) -> Result<(), Denied> {
        match self {
            AccountAuthority::Administrator(a) => a.may_grant(role),
            AccountAuthority::Enterprise(m) => m.may_grant(role),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::AccountName;
    use crate::role::tests::{BAOTOU, code};

    const GANZHOU: &str = "91360700MA35G2K15X";

    fn principal(role: &str) -> Principal {
        Principal::new(
            AccountName::parse("someone").unwrap(),
            Role::parse(role).unwrap(),
        )
    }

    /// What the principal gets for each capability, in [`Capability::ALL`]
    /// order, when it asks for the Baotou enterprise and the Northern group:
    /// `Some(scope)` of the handle, or `None` when refused. The two
    /// administrator handles carry no scope and are written as
    /// [`Scope::Installation`] here.
    fn outcomes(p: &Principal) -> [Option<Scope>; 10] {
        let e1 = Uscc::parse(BAOTOU).unwrap();
        [
            p.read_scoped().ok().map(|h| h.scope().clone()),
            p.record_flows(&e1).ok().map(|h| h.scope()),
            p.seal_month(&e1).ok().map(|h| h.scope()),
            p.manage_enterprise_users(&e1).ok().map(|h| h.scope()),
            p.sub_allocate(Group::NorthernRareEarth)
                .ok()
                .map(|h| h.scope()),
            p.record_inspection().ok().map(|h| h.scope()),
            p.read_audit_trail().ok().map(|h| h.scope()),
            p.administer_accounts().ok().map(|_| Scope::Installation),
            p.administer_register().ok().map(|_| Scope::Installation),
            p.designate().ok().map(|_| Scope::Installation),
        ]
    }

    /// Makes the compiler point here when a role is added.
    fn covered(role: &Role) -> &'static str {
        match role {
            Role::EnterpriseOperator { .. } => "enterprise operator",
            Role::EnterpriseManager { .. } => "enterprise manager",
            Role::GroupManager { .. } => "group manager",
            Role::Regulator(_) => "regulator",
            Role::Inspector { .. } => "inspector",
            Role::Auditor { .. } => "auditor",
            Role::Administrator => "administrator",
        }
    }

    #[test]
    fn every_role_times_every_capability() {
        let e1 = || Some(Scope::Enterprise(Uscc::parse(BAOTOU).unwrap()));
        let e2 = || Some(Scope::Enterprise(Uscc::parse(GANZHOU).unwrap()));
        let r = |c: &str| Some(Scope::Region(code(c)));
        let n = || Some(Scope::Group(Group::NorthernRareEarth));
        let c = || Some(Scope::Group(Group::ChinaRareEarth));
        let admin = || Some(Scope::Installation);
        let no = || None;
        #[rustfmt::skip]
        let table: Vec<(String, [Option<Scope>; 10])> = vec![
            //                                               read    record  seal    users   suballoc inspect audit   accounts register designate
            (format!("enterprise_operator:{BAOTOU}"),       [e1(),   e1(),   no(),   no(),   no(),    no(),   no(),   no(),    no(),    no()]),
            (format!("enterprise_manager:{BAOTOU}"),        [e1(),   e1(),   e1(),   e1(),   no(),    no(),   no(),   no(),    no(),    no()]),
            (format!("enterprise_operator:{GANZHOU}"),      [e2(),   no(),   no(),   no(),   no(),    no(),   no(),   no(),    no(),    no()]),
            (format!("enterprise_manager:{GANZHOU}"),       [e2(),   no(),   no(),   no(),   no(),    no(),   no(),   no(),    no(),    no()]),
            ("group_manager:northern_rare_earth".into(),    [n(),    no(),   no(),   no(),   n(),     no(),   no(),   no(),    no(),    no()]),
            ("group_manager:china_rare_earth".into(),       [c(),    no(),   no(),   no(),   no(),    no(),   no(),   no(),    no(),    no()]),
            ("regulator:county:150206:industry_it".into(),  [r("150206"), no(), no(), no(), no(),    no(),   no(),   no(),    no(),    no()]),
            ("regulator:prefecture:1502:natural_resources".into(), [r("1502"), no(), no(), no(), no(), no(), no(),   no(),    no(),    no()]),
            ("regulator:province:15:development_reform".into(), [r("15"), no(), no(),  no(),   no(),    no(),   no(),   no(),    no(),    no()]),
            ("regulator:ministry:00:industry_it".into(),    [r("00"), no(),  no(),   no(),   no(),    no(),   no(),   no(),    no(),    admin()]),
            ("regulator:ministry:00:natural_resources".into(), [r("00"), no(), no(),  no(),   no(),    no(),   no(),   no(),    no(),    no()]),
            ("inspector:1502".into(),                       [r("1502"), no(), no(),  no(),   no(),    r("1502"), no(), no(),   no(),    no()]),
            ("auditor:15".into(),                           [r("15"), no(),  no(),   no(),   no(),    no(),   r("15"), no(),   no(),    no()]),
            ("auditor:00".into(),                           [r("00"), no(),  no(),   no(),   no(),    no(),   r("00"), no(),   no(),    no()]),
            ("administrator".into(),                        [no(),   no(),   no(),   no(),   no(),    no(),   no(),   admin(), admin(), no()]),
        ];
        let mut kinds = std::collections::BTreeSet::new();
        for (role, expected) in &table {
            let p = principal(role);
            kinds.insert(covered(p.role()));
            assert_eq!(&outcomes(&p), expected, "{role}");
            // The capability set agrees with the handles for the role's own target.
            for (capability, outcome) in Capability::ALL.iter().zip(expected) {
                if outcome.is_some() {
                    assert!(p.role().has(*capability), "{role}: {capability}");
                }
            }
        }
        assert_eq!(kinds.len(), 7, "every kind of role has a row");
    }

    #[test]
    fn account_authority_reaches_what_it_may_give() {
        let e1 = Uscc::parse(BAOTOU).unwrap();
        let manager = principal(&format!("enterprise_manager:{BAOTOU}"))
            .manage_accounts()
            .unwrap();
        assert_eq!(manager.enterprise(), Some(&e1));
        assert!(manager.reaches(&Role::parse(&format!("enterprise_operator:{BAOTOU}")).unwrap()));
        assert!(!manager.reaches(&Role::parse(&format!("enterprise_operator:{GANZHOU}")).unwrap()));
        assert!(!manager.reaches(&Role::Administrator));
        let admin = principal("administrator").manage_accounts().unwrap();
        assert_eq!(admin.enterprise(), None);
        assert!(admin.reaches(&Role::Administrator));
        for role in [
            format!("enterprise_operator:{BAOTOU}"),
            "group_manager:northern_rare_earth".to_owned(),
            "regulator:ministry:00:industry_it".to_owned(),
            "auditor:00".to_owned(),
        ] {
            assert!(principal(&role).manage_accounts().is_err(), "{role}");
        }
    }

    #[test]
    fn refusals_say_why() {
        let e1 = Uscc::parse(BAOTOU).unwrap();
        let other = principal(&format!("enterprise_manager:{GANZHOU}"));
        let e = other.seal_month(&e1).unwrap_err();
        assert_eq!(e.reason, DeniedReason::OtherEnterprise);
        assert_eq!(
            e.to_string(),
            "this account may not seal monthly submissions here: the target is another enterprise"
        );
        let operator = principal(&format!("enterprise_operator:{BAOTOU}"));
        assert_eq!(
            operator.seal_month(&e1).unwrap_err().reason,
            DeniedReason::NotInRole
        );
        let china = principal("group_manager:china_rare_earth");
        assert_eq!(
            china
                .sub_allocate(Group::NorthernRareEarth)
                .unwrap_err()
                .reason,
            DeniedReason::OtherGroup
        );
    }

    #[test]
    fn a_manager_gives_only_its_own_enterprise_roles() {
        let e1 = Uscc::parse(BAOTOU).unwrap();
        let manager = principal(&format!("enterprise_manager:{BAOTOU}"));
        let handle = manager.manage_enterprise_users(&e1).unwrap();
        assert_eq!(handle.principal(), &manager);
        assert_eq!(handle.enterprise(), &e1);
        for ok in [
            format!("enterprise_operator:{BAOTOU}"),
            format!("enterprise_manager:{BAOTOU}"),
        ] {
            assert_eq!(handle.may_grant(&Role::parse(&ok).unwrap()), Ok(()), "{ok}");
        }
        for refused in [
            format!("enterprise_operator:{GANZHOU}"),
            "group_manager:northern_rare_earth".to_owned(),
            "auditor:00".to_owned(),
            "administrator".to_owned(),
        ] {
            let e = handle
                .may_grant(&Role::parse(&refused).unwrap())
                .unwrap_err();
            assert_eq!(e.reason, DeniedReason::RoleOutOfReach, "{refused}");
        }
        let admin = principal("administrator").administer_accounts().unwrap();
        assert_eq!(admin.may_grant(&Role::Administrator), Ok(()));
        assert_eq!(GrantRoles::principal(&admin).role(), &Role::Administrator);
    }
}
