//! Roles: who an account is in the regime of the measures, and over whose
//! data it reaches (issue 3 §1; Art. 11 network and data security, Art. 15
//! accountability of officials).
//!
//! A role names its enterprise, group or region, so that an account's reach
//! follows from the role alone. A regulator's level and region are checked
//! against each other when the role is built: a county regulator sits over a
//! county (6-digit code), a prefecture regulator over a prefecture (4), a
//! province regulator over a province (2) and the ministry over the whole
//! country ([`RegionCode::nation`]) — the chain along which Art. 9 and 12
//! summarise quota implementation upward.
//!
//! Roles are written as text for the CLI, the database and the API:
//!
//! | role | text |
//! |---|---|
//! | enterprise operator | `enterprise_operator:<USCC>` |
//! | enterprise manager | `enterprise_manager:<USCC>` |
//! | group manager | `group_manager:northern_rare_earth` |
//! | regulator | `regulator:<level>:<region>:<department>` |
//! | inspector | `inspector:<region>` |
//! | auditor | `auditor:<region>` (`auditor:00` is national) |
//! | administrator | `administrator` |
//!
//! Reading a role back from text or JSON goes through the same checks.

use std::fmt;
use std::str::FromStr;

use retrace_domain::enterprise::Group;
use retrace_domain::region::{RegionCode, RegionError, RegionLevel};
use retrace_domain::scope::Scope;
use retrace_domain::uscc::{Uscc, UsccError};
use serde::de::IntoDeserializer;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What an account is. The set of things each role may do is
/// [`Role::capabilities`]; the handles that let it do them come from
/// [`crate::Principal`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// 企业填报员: records the flows of one enterprise (Art. 10).
    EnterpriseOperator { enterprise: Uscc },
    /// 企业管理员: as an operator, and also seals monthly submissions and
    /// manages the enterprise's accounts and API tokens.
    EnterpriseManager { enterprise: Uscc },
    /// 集团管理员: sees the group's member enterprises and files the group's
    /// sub-allocation of quota (Art. 6, 8).
    GroupManager { group: Group },
    /// 监管部门: sees the enterprises it supervises (Art. 4, 9, 12, 13).
    Regulator(Regulator),
    /// 检查人员: records inspections in a region (Art. 13).
    Inspector { region: RegionCode },
    /// 审计人员 (discipline inspection, internal audit): reads everything within
    /// its region, the audit trail included, and changes nothing (Art. 15).
    /// A national auditor's region is [`RegionCode::nation`].
    Auditor { region: RegionCode },
    /// 系统管理员: accounts and the enterprise register, never the flows.
    Administrator,
}

/// A regulator: a level, a region of that level and a department. Built only
/// by [`Regulator::new`], so its level always matches its region.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Regulator {
    level: RegulatorLevel,
    region: RegionCode,
    department: Department,
}

/// The level of government a regulator belongs to (Art. 4, 9, 12).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RegulatorLevel {
    /// 县级
    County,
    /// 地市级
    Prefecture,
    /// 省级
    Province,
    /// The ministries (MIIT, MNR, NDRC — Art. 5), over the whole country.
    Ministry,
}

/// The department a regulator serves in: the measures put quota under
/// industry-and-IT, with natural resources for mining and development-and-
/// reform beside them (Art. 4, 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Department {
    /// 工业和信息化主管部门 (MIIT and its local departments)
    IndustryIt,
    /// 自然资源主管部门 (MNR and its local departments)
    NaturalResources,
    /// 发展改革部门 (NDRC and its local departments)
    DevelopmentReform,
}

/// Why a role cannot be built or read. Each message names the field to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleError {
    #[error(
        "`{0}` is not a role: expected enterprise_operator, enterprise_manager, group_manager, \
         regulator, inspector, auditor or administrator"
    )]
    Unknown(String),
    #[error("`{text}` is not a {role} role: write it `{form}`")]
    Shape {
        role: &'static str,
        form: &'static str,
        text: String,
    },
    #[error("field `enterprise`: {0}")]
    Enterprise(UsccError),
    #[error(
        "field `group`: `{0}` is not a group: expected northern_rare_earth or china_rare_earth"
    )]
    Group(String),
    #[error("field `region`: {0}")]
    Region(RegionError),
    #[error(
        "field `level`: `{0}` is not a regulator level: expected county, prefecture, province or \
         ministry"
    )]
    Level(String),
    #[error(
        "field `department`: `{0}` is not a department: expected industry_it, natural_resources or \
         development_reform"
    )]
    Department(String),
    #[error(
        "field `level`: a {level} regulator sits over {expected}, but region `{region}` is {found}; \
         correct the level or the region"
    )]
    LevelMismatch {
        level: RegulatorLevel,
        region: RegionCode,
        expected: &'static str,
        found: &'static str,
    },
}

impl Regulator {
    /// A regulator of `level` over `region` in `department`.
    ///
    /// # Errors
    /// [`RoleError::LevelMismatch`] when the region is not of the level's
    /// kind: county ↔ 6-digit code, prefecture ↔ 4, province ↔ 2, ministry ↔
    /// the nation.
    pub fn new(
        level: RegulatorLevel,
        region: RegionCode,
        department: Department,
    ) -> Result<Regulator, RoleError> {
        if region.level() != level.region_level() {
            return Err(RoleError::LevelMismatch {
                level,
                region,
                expected: describe_level(level.region_level()),
                found: describe_level(region.level()),
            });
        }
        Ok(Regulator {
            level,
            region,
            department,
        })
    }

    pub fn level(&self) -> RegulatorLevel {
        self.level
    }

    pub fn region(&self) -> RegionCode {
        self.region
    }

    pub fn department(&self) -> Department {
        self.department
    }
}

/// How a region level reads in an error message.
fn describe_level(level: RegionLevel) -> &'static str {
    match level {
        RegionLevel::Nation => "the whole country (region 00)",
        RegionLevel::Province => "a province (2-digit code)",
        RegionLevel::Prefecture => "a prefecture (4-digit code)",
        RegionLevel::County => "a county (6-digit code)",
    }
}

impl RegulatorLevel {
    /// The level of the regions a regulator of this level sits over.
    pub fn region_level(self) -> RegionLevel {
        match self {
            RegulatorLevel::County => RegionLevel::County,
            RegulatorLevel::Prefecture => RegionLevel::Prefecture,
            RegulatorLevel::Province => RegionLevel::Province,
            RegulatorLevel::Ministry => RegionLevel::Nation,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RegulatorLevel::County => "county",
            RegulatorLevel::Prefecture => "prefecture",
            RegulatorLevel::Province => "province",
            RegulatorLevel::Ministry => "ministry",
        }
    }

    fn parse(text: &str) -> Result<RegulatorLevel, RoleError> {
        [
            RegulatorLevel::County,
            RegulatorLevel::Prefecture,
            RegulatorLevel::Province,
            RegulatorLevel::Ministry,
        ]
        .into_iter()
        .find(|l| l.as_str() == text)
        .ok_or_else(|| RoleError::Level(text.to_owned()))
    }
}

impl fmt::Display for RegulatorLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Department {
    pub fn as_str(self) -> &'static str {
        match self {
            Department::IndustryIt => "industry_it",
            Department::NaturalResources => "natural_resources",
            Department::DevelopmentReform => "development_reform",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Department::IndustryIt => "工业和信息化主管部门",
            Department::NaturalResources => "自然资源主管部门",
            Department::DevelopmentReform => "发展改革部门",
        }
    }

    fn parse(text: &str) -> Result<Department, RoleError> {
        [
            Department::IndustryIt,
            Department::NaturalResources,
            Department::DevelopmentReform,
        ]
        .into_iter()
        .find(|d| d.as_str() == text)
        .ok_or_else(|| RoleError::Department(text.to_owned()))
    }
}

impl Role {
    /// Parses the text form (see the module documentation), checking every
    /// field: the USCC (GB 32100-2015), the region against the division
    /// table, and a regulator's level against its region.
    ///
    /// # Errors
    /// The [`RoleError`] naming the first field that is wrong.
    pub fn parse(text: &str) -> Result<Role, RoleError> {
        let fields: Vec<&str> = text.split(':').collect();
        let shape = |role: &'static str, form: &'static str| RoleError::Shape {
            role,
            form,
            text: text.to_owned(),
        };
        match fields.as_slice() {
            ["enterprise_operator", uscc] => Ok(Role::EnterpriseOperator {
                enterprise: enterprise(uscc)?,
            }),
            ["enterprise_manager", uscc] => Ok(Role::EnterpriseManager {
                enterprise: enterprise(uscc)?,
            }),
            ["group_manager", group] => Ok(Role::GroupManager {
                group: Group::deserialize(group.into_deserializer())
                    .map_err(|_: serde::de::value::Error| RoleError::Group((*group).to_owned()))?,
            }),
            ["regulator", level, code, department] => Ok(Role::Regulator(Regulator::new(
                RegulatorLevel::parse(level)?,
                region(code)?,
                Department::parse(department)?,
            )?)),
            ["inspector", code] => Ok(Role::Inspector {
                region: region(code)?,
            }),
            ["auditor", code] => Ok(Role::Auditor {
                region: region(code)?,
            }),
            ["administrator"] => Ok(Role::Administrator),
            ["enterprise_operator", ..] => {
                Err(shape("enterprise_operator", "enterprise_operator:<USCC>"))
            }
            ["enterprise_manager", ..] => {
                Err(shape("enterprise_manager", "enterprise_manager:<USCC>"))
            }
            ["group_manager", ..] => Err(shape("group_manager", "group_manager:<group>")),
            ["regulator", ..] => Err(shape(
                "regulator",
                "regulator:<level>:<region>:<department>",
            )),
            ["inspector", ..] => Err(shape("inspector", "inspector:<region>")),
            ["auditor", ..] => Err(shape("auditor", "auditor:<region>")),
            ["administrator", ..] => Err(shape("administrator", "administrator")),
            _ => Err(RoleError::Unknown(fields[0].to_owned())),
        }
    }

    /// The reach of the role: whose data it concerns — its enterprise, its
    /// group, its region, or, for the administrator, the whole country.
    ///
    /// Reach is not permission. What may be done within it is
    /// [`Role::capabilities`]: the administrator reaches the whole country,
    /// but only over accounts and the register, never the flows, so it holds
    /// no [`crate::ReadScoped`] handle. No role reaches
    /// [`Scope::Installation`]. Storage calls take the handles of
    /// [`crate::capability`], whose scopes come from here, rather than a bare
    /// scope.
    pub fn scope(&self) -> Scope {
        match self {
            Role::EnterpriseOperator { enterprise } | Role::EnterpriseManager { enterprise } => {
                Scope::Enterprise(enterprise.clone())
            }
            Role::GroupManager { group } => Scope::Group(*group),
            Role::Regulator(r) => Scope::Region(r.region),
            Role::Inspector { region } | Role::Auditor { region } => Scope::Region(*region),
            Role::Administrator => Scope::Region(RegionCode::nation()),
        }
    }

    /// The enterprise an enterprise role belongs to.
    pub fn enterprise(&self) -> Option<&Uscc> {
        match self {
            Role::EnterpriseOperator { enterprise } | Role::EnterpriseManager { enterprise } => {
                Some(enterprise)
            }
            _ => None,
        }
    }

    /// The group of a group manager.
    pub fn group(&self) -> Option<Group> {
        match self {
            Role::GroupManager { group } => Some(*group),
            _ => None,
        }
    }

    /// The region of a regulator, inspector or auditor.
    pub fn region(&self) -> Option<RegionCode> {
        match self {
            Role::Regulator(r) => Some(r.region),
            Role::Inspector { region } | Role::Auditor { region } => Some(*region),
            _ => None,
        }
    }
}

fn enterprise(text: &str) -> Result<Uscc, RoleError> {
    Uscc::parse(text).map_err(RoleError::Enterprise)
}

fn region(text: &str) -> Result<RegionCode, RoleError> {
    text.parse().map_err(RoleError::Region)
}

fn group_name(group: Group) -> &'static str {
    match group {
        Group::NorthernRareEarth => "northern_rare_earth",
        Group::ChinaRareEarth => "china_rare_earth",
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Role::EnterpriseOperator { enterprise } => {
                write!(f, "enterprise_operator:{enterprise}")
            }
            Role::EnterpriseManager { enterprise } => write!(f, "enterprise_manager:{enterprise}"),
            Role::GroupManager { group } => write!(f, "group_manager:{}", group_name(*group)),
            Role::Regulator(r) => write!(
                f,
                "regulator:{}:{}:{}",
                r.level,
                r.region,
                r.department.as_str()
            ),
            Role::Inspector { region } => write!(f, "inspector:{region}"),
            Role::Auditor { region } => write!(f, "auditor:{region}"),
            Role::Administrator => f.write_str("administrator"),
        }
    }
}

impl FromStr for Role {
    type Err = RoleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::parse(s)
    }
}

impl Serialize for Role {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Role {
    /// Goes through [`Role::parse`], so a stored or submitted role is checked.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Role::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const BAOTOU: &str = "91150206058605125N";

    pub(crate) fn code(text: &str) -> RegionCode {
        text.parse().unwrap()
    }

    #[test]
    fn every_role_round_trips_through_text_and_json() {
        let texts = [
            format!("enterprise_operator:{BAOTOU}"),
            format!("enterprise_manager:{BAOTOU}"),
            "group_manager:northern_rare_earth".to_owned(),
            "group_manager:china_rare_earth".to_owned(),
            "regulator:county:150206:industry_it".to_owned(),
            "regulator:prefecture:3607:natural_resources".to_owned(),
            "regulator:province:36:development_reform".to_owned(),
            "regulator:ministry:00:industry_it".to_owned(),
            "inspector:1502".to_owned(),
            "auditor:00".to_owned(),
            "auditor:15".to_owned(),
            "administrator".to_owned(),
        ];
        for text in texts {
            let role = Role::parse(&text).unwrap();
            assert_eq!(role.to_string(), text);
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(serde_json::from_str::<Role>(&json).unwrap(), role);
        }
    }

    #[test]
    fn a_regulator_level_must_match_its_region() {
        let cases = [
            ("county", "1502"),
            ("prefecture", "36"),
            ("province", "360702"),
            ("ministry", "36"),
            ("county", "00"),
            ("province", "00"),
        ];
        for (level, region) in cases {
            let e = Role::parse(&format!("regulator:{level}:{region}:industry_it")).unwrap_err();
            assert!(matches!(e, RoleError::LevelMismatch { .. }), "{e}");
            let message = e.to_string();
            assert!(message.starts_with("field `level`"), "{message}");
            assert!(message.contains(region), "{message}");
        }
        let e = Regulator::new(
            RegulatorLevel::Prefecture,
            code("36"),
            Department::IndustryIt,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "field `level`: a prefecture regulator sits over a prefecture (4-digit code), but \
             region `36` is a province (2-digit code); correct the level or the region"
        );
        let ok = Regulator::new(
            RegulatorLevel::County,
            code("360702"),
            Department::NaturalResources,
        )
        .unwrap();
        assert_eq!(ok.region(), code("360702"));
        assert_eq!(ok.level(), RegulatorLevel::County);
        assert_eq!(ok.department().name_zh(), "自然资源主管部门");
    }

    #[test]
    fn bad_fields_are_named() {
        let cases = [
            ("clerk:1", "`clerk` is not a role"),
            (
                "enterprise_operator",
                "write it `enterprise_operator:<USCC>`",
            ),
            (
                "enterprise_manager:91150206058605125M",
                "field `enterprise`",
            ),
            ("group_manager:baotou", "field `group`"),
            (
                "regulator:county:150206",
                "regulator:<level>:<region>:<department>",
            ),
            ("regulator:town:150206:industry_it", "field `level`"),
            ("regulator:county:159999:industry_it", "field `region`"),
            ("regulator:county:150206:finance", "field `department`"),
            ("inspector:15a", "field `region`"),
            ("auditor", "write it `auditor:<region>`"),
            ("administrator:1", "write it `administrator`"),
        ];
        for (text, expected) in cases {
            let e = Role::parse(text).unwrap_err().to_string();
            assert!(e.contains(expected), "{text}: {e}");
        }
        let json = serde_json::from_str::<Role>("\"regulator:ministry:15:industry_it\"");
        assert!(json.unwrap_err().to_string().contains("field `level`"));
    }

    #[test]
    fn scope_is_the_reach_of_the_role() {
        let uscc = Uscc::parse(BAOTOU).unwrap();
        let cases = [
            (
                format!("enterprise_operator:{BAOTOU}"),
                Scope::Enterprise(uscc.clone()),
            ),
            (
                format!("enterprise_manager:{BAOTOU}"),
                Scope::Enterprise(uscc),
            ),
            (
                "group_manager:china_rare_earth".to_owned(),
                Scope::Group(Group::ChinaRareEarth),
            ),
            (
                "regulator:prefecture:3607:industry_it".to_owned(),
                Scope::Region(code("3607")),
            ),
            ("inspector:150206".to_owned(), Scope::Region(code("150206"))),
            ("auditor:00".to_owned(), Scope::Region(RegionCode::nation())),
            (
                "administrator".to_owned(),
                Scope::Region(RegionCode::nation()),
            ),
        ];
        for (text, scope) in cases {
            assert_eq!(Role::parse(&text).unwrap().scope(), scope, "{text}");
        }
    }
}
