//! Accounts, the authenticated principal, and password login (issue 3 §1, §3;
//! Art. 11 network and data security; Art. 15: every act is tied to a named
//! account).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::password::{PasswordHash, unknown_account_hash, verify_password};
use crate::role::Role;

/// Shortest and longest account name, in characters.
const NAME_CHARS: std::ops::RangeInclusive<usize> = 3..=64;

/// A login name: 3–64 characters from `a–z`, `0–9`, `.`, `_`, `-`, starting
/// with a letter or digit. Names are case-insensitive: [`AccountName::parse`]
/// lowercases, so `Zhang.Wei` and `zhang.wei` are one account. A person's
/// name in Chinese belongs in a display name, not here.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountName(String);

/// Why a text is not an account name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountNameError {
    #[error("an account name has 3 to 64 characters; this one has {0}")]
    Length(usize),
    #[error(
        "character {position} (`{found}`) cannot appear in an account name: use letters a–z, \
         digits, `.`, `_` and `-`"
    )]
    Character { position: usize, found: char },
    #[error("an account name begins with a letter or digit")]
    Start,
}

impl AccountName {
    /// Parses and lowercases a login name.
    ///
    /// # Errors
    /// The [`AccountNameError`] of the first rule broken.
    pub fn parse(text: &str) -> Result<AccountName, AccountNameError> {
        let count = text.chars().count();
        if !NAME_CHARS.contains(&count) {
            return Err(AccountNameError::Length(count));
        }
        let lower = text.to_ascii_lowercase();
        if let Some((i, found)) = lower.chars().enumerate().find(|(_, c)| {
            !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
        }) {
            return Err(AccountNameError::Character {
                position: i + 1,
                found,
            });
        }
        if !lower.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(AccountNameError::Start);
        }
        Ok(AccountName(lower))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for AccountName {
    type Err = AccountNameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AccountName::parse(s)
    }
}

impl Serialize for AccountName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for AccountName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        AccountName::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// An account as stored: the name, the role, the argon2id hash of the
/// password, whether an administrator or manager has disabled it, and how
/// the person wants to be addressed and in which language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub name: AccountName,
    pub role: Role,
    pub password: PasswordHash,
    pub disabled: bool,
    /// The person's name as shown on pages (张伟), which the login name
    /// cannot carry; empty when not given.
    pub display_name: String,
    pub language: Language,
}

/// The language an account reads pages and messages in: Simplified Chinese
/// by default, for the plant clerks and officials retrace serves first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Language {
    #[default]
    #[serde(rename = "zh")]
    Zh,
    #[serde(rename = "en")]
    En,
}

impl Language {
    /// The BCP 47 tag: `zh` or `en`.
    pub fn tag(self) -> &'static str {
        match self {
            Language::Zh => "zh",
            Language::En => "en",
        }
    }

    /// Reads a tag, accepting regional forms (`zh-CN`, `en-GB`).
    pub fn parse(tag: &str) -> Option<Language> {
        let primary = tag.split(['-', '_']).next()?.trim().to_ascii_lowercase();
        match primary.as_str() {
            "zh" => Some(Language::Zh),
            "en" => Some(Language::En),
            _ => None,
        }
    }
}

/// The longest display name, in characters.
pub const DISPLAY_NAME_CHARS: usize = 100;

/// Checks a display name: at most [`DISPLAY_NAME_CHARS`] characters and no
/// control characters; surrounding spaces are trimmed.
///
/// # Errors
/// A message saying what to change, in English (the API names the field).
pub fn display_name(text: &str) -> Result<String, String> {
    let trimmed = text.trim();
    if trimmed.chars().count() > DISPLAY_NAME_CHARS {
        return Err(format!(
            "a display name has at most {DISPLAY_NAME_CHARS} characters"
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err("a display name cannot hold control characters".to_owned());
    }
    Ok(trimmed.to_owned())
}

/// Who is making a request, once a password, a session or an API token has
/// proved it: the account and the role it acts in. Only [`login`],
/// [`crate::StoredSession::check`] and [`crate::ApiToken::verify`] make
/// one; the capability handles come from its methods
/// ([`crate::capability`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    account: AccountName,
    role: Role,
}

impl Principal {
    pub(crate) fn new(account: AccountName, role: Role) -> Principal {
        Principal { account, role }
    }

    /// The account, as the audit trail names it (Art. 15).
    pub fn account(&self) -> &AccountName {
        &self.account
    }

    pub fn role(&self) -> &Role {
        &self.role
    }
}

/// Why a login failed. A wrong password and an unknown account are the same
/// answer, so that the login form does not tell who has an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    #[error("the account name or the password is wrong")]
    BadCredentials,
    /// Said only after the right password was given.
    #[error("this account has been disabled; ask your enterprise manager or the administrator")]
    Disabled,
}

impl LoginError {
    /// The message for a user who reads Chinese.
    pub fn message_zh(&self) -> &'static str {
        match self {
            LoginError::BadCredentials => "账号或密码错误",
            LoginError::Disabled => "该账号已被停用，请联系本企业管理员或系统管理员",
        }
    }

    /// The message for a user who reads English.
    pub fn message_en(&self) -> String {
        self.to_string()
    }
}

/// Password login: the account found under the name typed (or `None`) and
/// the password typed.
///
/// For an unknown account the password is checked against a hash of the same
/// cost that nothing matches, so the answer and its timing are those of a
/// wrong password. Slow by design (one argon2id verification): run it on a
/// blocking thread. Ask the throttle ([`crate::throttle`]) before, and tell
/// it the outcome after. After a success, re-hash if
/// [`PasswordHash::needs_rehash`], and start a new session
/// ([`crate::session::start`]).
///
/// # Errors
/// [`LoginError::BadCredentials`] for an unknown account or a wrong
/// password; [`LoginError::Disabled`] for a disabled account given its right
/// password.
pub fn login(account: Option<&Account>, password: &str) -> Result<Principal, LoginError> {
    let Some(account) = account else {
        // The result is always a mismatch; the work is what matters.
        let _ = verify_password(password, &unknown_account_hash());
        return Err(LoginError::BadCredentials);
    };
    verify_password(password, &account.password).map_err(|_| LoginError::BadCredentials)?;
    if account.disabled {
        return Err(LoginError::Disabled);
    }
    Ok(Principal::new(account.name.clone(), account.role.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password::hash_password;
    use rand_core::OsRng;

    #[test]
    fn names_are_lowercased_and_checked() {
        assert_eq!(
            AccountName::parse("Zhang.Wei").unwrap().as_str(),
            "zhang.wei"
        );
        assert_eq!(AccountName::parse("ab"), Err(AccountNameError::Length(2)));
        assert_eq!(
            AccountName::parse(&"a".repeat(65)),
            Err(AccountNameError::Length(65))
        );
        assert_eq!(
            AccountName::parse("张伟abc"),
            Err(AccountNameError::Character {
                position: 1,
                found: '张'
            })
        );
        assert_eq!(
            AccountName::parse("li wei"),
            Err(AccountNameError::Character {
                position: 3,
                found: ' '
            })
        );
        assert_eq!(AccountName::parse("-admin"), Err(AccountNameError::Start));
        let json: AccountName = serde_json::from_str("\"ERP-Baotou_1\"").unwrap();
        assert_eq!(serde_json::to_string(&json).unwrap(), "\"erp-baotou_1\"");
        assert!(serde_json::from_str::<AccountName>("\"x\"").is_err());
    }

    #[test]
    fn languages_and_display_names() {
        assert_eq!(Language::parse("zh-CN"), Some(Language::Zh));
        assert_eq!(Language::parse("EN_gb"), Some(Language::En));
        assert_eq!(Language::parse("fr"), None);
        assert_eq!(Language::default().tag(), "zh");
        assert_eq!(display_name("  张伟 ").unwrap(), "张伟");
        assert!(display_name(&"张".repeat(101)).is_err());
        assert!(display_name("a\u{7}b").is_err());
    }

    #[test]
    fn login_answers_the_same_for_unknown_accounts_and_wrong_passwords() {
        let account = Account {
            name: AccountName::parse("wang.fang").unwrap(),
            role: Role::parse("auditor:00").unwrap(),
            password: hash_password("Audit trail 2025!", &mut OsRng).unwrap(),
            disabled: false,
            display_name: "王芳".to_owned(),
            language: Language::Zh,
        };
        let p = login(Some(&account), "Audit trail 2025!").unwrap();
        assert_eq!(p.account().as_str(), "wang.fang");
        assert_eq!(p.role(), &account.role);
        assert_eq!(
            login(Some(&account), "audit trail 2025!"),
            Err(LoginError::BadCredentials)
        );
        assert_eq!(
            login(None, "Audit trail 2025!"),
            Err(LoginError::BadCredentials)
        );

        let disabled = Account {
            disabled: true,
            ..account
        };
        assert_eq!(
            login(Some(&disabled), "wrong"),
            Err(LoginError::BadCredentials),
            "a disabled account is not revealed to a wrong password"
        );
        let e = login(Some(&disabled), "Audit trail 2025!").unwrap_err();
        assert_eq!(e, LoginError::Disabled);
        assert!(e.message_zh().contains("停用"));
        assert!(e.message_en().contains("disabled"));
    }
}
