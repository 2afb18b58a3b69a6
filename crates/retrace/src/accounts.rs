//! Accounts the installation makes itself: the first administrator (`retrace
//! init`) and one demo account per role (`retrace demo`). Every other account
//! is made by an administrator or an enterprise manager through the API.

use anyhow::Context;
use rand_core::{OsRng, RngCore};
use retrace_access::{
    Account, AccountName, Department, Language, PasswordPolicy, Regulator, RegulatorLevel, Role,
    hash_password,
};
use retrace_domain::act::Act;
use retrace_domain::enterprise::{EnterpriseKind, Group};
use retrace_domain::record::Record;
use retrace_domain::region::RegionCode;
use retrace_domain::uscc::Uscc;
use retrace_store::{Actor, Identity, StoreError, TrailEvent};

/// The environment variable `retrace init` takes the first administrator's
/// password from; without it a password is generated and printed once.
pub const ADMIN_PASSWORD_ENV: &str = "RETRACE_ADMIN_PASSWORD";

/// The password of every demo account: demo data only, printed with them.
pub const DEMO_PASSWORD: &str = "Retrace-Demo-2025";

/// A login the installation made.
#[derive(Debug, Clone)]
pub struct Login {
    pub name: AccountName,
    pub role: Role,
    pub what: &'static str,
}

/// A password of 4 groups of 5 characters from letters and digits, without
/// the ones that are easily mistaken (0/O, 1/l/I): about 110 bits.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    loop {
        let mut bytes = [0u8; 20];
        OsRng.fill_bytes(&mut bytes);
        let chars: Vec<char> = bytes
            .iter()
            .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
            .collect();
        let text = chars
            .chunks(5)
            .map(|c| c.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join("-");
        let mixed = text.bytes().any(|b| b.is_ascii_digit())
            && text.bytes().any(|b| b.is_ascii_uppercase())
            && text.bytes().any(|b| b.is_ascii_lowercase());
        if mixed {
            return text;
        }
    }
}

fn trail(what: &str, name: &AccountName, role: &Role) -> TrailEvent {
    TrailEvent {
        actor: Actor::installation(),
        action: "account.create".to_owned(),
        target: format!("{what}: account {name} as {role}"),
        enterprises: role.enterprise().into_iter().cloned().collect(),
        region: role.region(),
        status: 201,
        detail: String::new(),
    }
}

/// Creates an account as the installation; `Ok(false)` when the name exists.
async fn install(
    store: &impl Identity,
    what: &str,
    name: &AccountName,
    role: Role,
    password: &str,
    display_name: &str,
) -> anyhow::Result<bool> {
    PasswordPolicy::default()
        .check(password, name)
        .map_err(|e| anyhow::anyhow!("the password for {name}: {}", e.message_en()))?;
    let owned = password.to_owned();
    let hash = tokio::task::spawn_blocking(move || hash_password(&owned, &mut OsRng))
        .await
        .context("hashing a password")?
        .context("hashing a password")?;
    let account = Account {
        name: name.clone(),
        role: role.clone(),
        password: hash,
        disabled: false,
        display_name: display_name.to_owned(),
        language: Language::Zh,
    };
    match store
        .install_account(account, trail(what, name, &role))
        .await
    {
        Ok(_) => Ok(true),
        Err(StoreError::Conflict(_)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Creates the first administrator, `name`, with the password of
/// [`ADMIN_PASSWORD_ENV`] or a generated one, which is returned to be shown
/// once. `Ok(None)` when the account exists already.
///
/// # Errors
/// When the password breaks the policy or the store fails.
pub async fn first_administrator(
    store: &impl Identity,
    name: &str,
) -> anyhow::Result<Option<(AccountName, Option<String>)>> {
    let name = AccountName::parse(name).map_err(|e| anyhow::anyhow!("--admin: {e}"))?;
    let (password, generated) = match std::env::var(ADMIN_PASSWORD_ENV) {
        Ok(p) => (p, false),
        Err(_) => (generate_password(), true),
    };
    let made = install(
        store,
        "retrace init",
        &name,
        Role::Administrator,
        &password,
        "系统管理员",
    )
    .await?;
    Ok(made.then(|| (name, generated.then_some(password))))
}

/// The enterprises of the register a demo account stands for.
struct Picks {
    separator: Uscc,
}

fn pick(register: &[Record]) -> anyhow::Result<Picks> {
    let separator = register
        .iter()
        .find_map(|r| match r {
            Record::Act(a) => match &a.act {
                Act::RegisterEnterprise(e)
                    if e.kinds.contains(&EnterpriseKind::Separation)
                        && e.seat.as_str().starts_with("1502") =>
                {
                    Some(e.uscc.clone())
                }
                _ => None,
            },
            Record::Flow(_) => None,
        })
        .context("the demo register has no separation plant in Baotou")?;
    Ok(Picks { separator })
}

fn region(code: &str) -> anyhow::Result<RegionCode> {
    code.parse()
        .map_err(|e| anyhow::anyhow!("demo region {code}: {e}"))
}

fn regulator(level: RegulatorLevel, code: &str, department: Department) -> anyhow::Result<Role> {
    Ok(Role::Regulator(
        Regulator::new(level, region(code)?, department)
            .map_err(|e| anyhow::anyhow!("demo regulator: {e}"))?,
    ))
}

/// Creates one demo account per role — and a second regulator elsewhere, to
/// show that one region does not see another's — all with
/// [`DEMO_PASSWORD`]. Accounts that exist already are left as they are.
///
/// # Errors
/// When the register has no enterprise to stand for, or the store fails.
pub async fn demo_accounts(
    store: &impl Identity,
    register: &[Record],
) -> anyhow::Result<Vec<Login>> {
    let picks = pick(register)?;
    let plan: Vec<(&str, Role, &'static str, &str)> = vec![
        (
            "admin",
            Role::Administrator,
            "administrator: accounts and the register",
            "系统管理员",
        ),
        (
            "baotou.clerk",
            Role::EnterpriseOperator {
                enterprise: picks.separator.clone(),
            },
            "enterprise operator of a Baotou separation plant",
            "包头分离厂填报员",
        ),
        (
            "baotou.manager",
            Role::EnterpriseManager {
                enterprise: picks.separator,
            },
            "enterprise manager of the same plant: seals months, manages its accounts and tokens",
            "包头分离厂管理员",
        ),
        (
            "northern.group",
            Role::GroupManager {
                group: Group::NorthernRareEarth,
            },
            "group manager, China Northern Rare Earth",
            "北方稀土集团管理员",
        ),
        (
            "bayanobo.county",
            regulator(
                RegulatorLevel::County,
                "150206",
                Department::NaturalResources,
            )?,
            "county regulator, Bayan Obo mining district (natural resources)",
            "白云鄂博矿区自然资源局",
        ),
        (
            "baotou.city",
            regulator(RegulatorLevel::Prefecture, "1502", Department::IndustryIt)?,
            "prefecture regulator, Baotou (industry and IT)",
            "包头市工业和信息化局",
        ),
        (
            "ganzhou.city",
            regulator(RegulatorLevel::Prefecture, "3607", Department::IndustryIt)?,
            "prefecture regulator, Ganzhou (industry and IT): sees nothing of Baotou's own flows",
            "赣州市工业和信息化局",
        ),
        (
            "neimenggu.province",
            regulator(RegulatorLevel::Province, "15", Department::IndustryIt)?,
            "province regulator, Inner Mongolia (industry and IT)",
            "内蒙古自治区工业和信息化厅",
        ),
        (
            "miit.ministry",
            regulator(RegulatorLevel::Ministry, "00", Department::IndustryIt)?,
            "ministry regulator (MIIT): the whole country, designates production enterprises",
            "工业和信息化部",
        ),
        (
            "baotou.inspector",
            Role::Inspector {
                region: region("1502")?,
            },
            "inspector, Baotou",
            "包头市稀土执法检查员",
        ),
        (
            "national.auditor",
            Role::Auditor {
                region: RegionCode::nation(),
            },
            "national auditor: reads everything and the audit trail, changes nothing",
            "国家审计员",
        ),
    ];
    let mut logins = Vec::new();
    for (name, role, what, display) in plan {
        let name = AccountName::parse(name).map_err(|e| anyhow::anyhow!("demo account: {e}"))?;
        install(
            store,
            "retrace demo",
            &name,
            role.clone(),
            DEMO_PASSWORD,
            display,
        )
        .await?;
        logins.push(Login { name, role, what });
    }
    Ok(logins)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_meet_the_policy() {
        let name = AccountName::parse("admin").unwrap();
        for _ in 0..50 {
            let p = generate_password();
            assert_eq!(p.len(), 23, "{p}");
            PasswordPolicy::default().check(&p, &name).unwrap();
        }
    }

    #[test]
    fn the_demo_password_meets_the_policy_for_every_demo_account() {
        for name in [
            "admin",
            "baotou.clerk",
            "baotou.manager",
            "northern.group",
            "bayanobo.county",
            "baotou.city",
            "ganzhou.city",
            "neimenggu.province",
            "miit.ministry",
            "baotou.inspector",
            "national.auditor",
        ] {
            PasswordPolicy::default()
                .check(DEMO_PASSWORD, &AccountName::parse(name).unwrap())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}
