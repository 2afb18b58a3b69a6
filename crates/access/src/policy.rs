//! The password policy (issue 3 §3; Art. 11 network and data security).
//!
//! Length first, as NIST SP 800-63B §3.1.1.2 (rev. 4) advises: at least 12
//! characters, and up to 128 so that passphrases fit. Beyond that only rules
//! that stop the guesses attackers try first: a password of one kind of
//! character only, one containing the account name, and the most common
//! passwords — with digits or symbols stuck on either end, the usual way
//! people satisfy a policy (`qwertyuiop123`, `P@ssw0rd2025!`). No periodic
//! expiry and no composition puzzle beyond "not all one class" (NIST SP
//! 800-63B §3.1.1.2 advises against both).
//!
//! Every error has a message in Chinese and in English that tells the user
//! what to change.

use std::collections::HashSet;
use std::sync::LazyLock;

use crate::account::AccountName;

const COMMON_PASSWORDS: &str = include_str!("../data/common-passwords.txt");

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    COMMON_PASSWORDS
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
});

/// The rules a new password must meet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Fewest characters (Unicode scalar values).
    pub min_chars: usize,
    /// Most characters: long enough for any passphrase, short enough that a
    /// request cannot make the server hash megabytes.
    pub max_chars: usize,
}

impl Default for PasswordPolicy {
    /// 12 to 128 characters.
    fn default() -> Self {
        PasswordPolicy {
            min_chars: 12,
            max_chars: 128,
        }
    }
}

/// A kind of character, for the "not all one class" rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CharClass {
    Lowercase,
    Uppercase,
    Digit,
    /// ASCII punctuation and spaces.
    Symbol,
    /// Anything else: Chinese characters, letters outside ASCII.
    Other,
}

impl CharClass {
    fn of(c: char) -> CharClass {
        if c.is_ascii_lowercase() {
            CharClass::Lowercase
        } else if c.is_ascii_uppercase() {
            CharClass::Uppercase
        } else if c.is_ascii_digit() {
            CharClass::Digit
        } else if c.is_ascii_punctuation() || c == ' ' {
            CharClass::Symbol
        } else {
            CharClass::Other
        }
    }

    fn name_en(self) -> &'static str {
        match self {
            CharClass::Lowercase => "lowercase letters",
            CharClass::Uppercase => "capital letters",
            CharClass::Digit => "digits",
            CharClass::Symbol => "symbols",
            CharClass::Other => "non-Latin characters",
        }
    }

    fn name_zh(self) -> &'static str {
        match self {
            CharClass::Lowercase => "小写字母",
            CharClass::Uppercase => "大写字母",
            CharClass::Digit => "数字",
            CharClass::Symbol => "符号",
            CharClass::Other => "汉字或其他非拉丁字符",
        }
    }
}

/// Why a new password is refused. `Display` is the English message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error(
        "The password has {found} characters; use at least {min}. A short sentence you can \
         remember works well."
    )]
    TooShort { min: usize, found: usize },
    #[error("The password has {found} characters; use at most {max}.")]
    TooLong { max: usize, found: usize },
    #[error(
        "The password uses only {}; mix in another kind of character: lowercase or capital \
         letters, digits or symbols.",
        .0.name_en()
    )]
    OneClass(CharClass),
    #[error("The password contains your account name; choose one that does not.")]
    ContainsAccountName,
    #[error(
        "This is one of the most common passwords (perhaps with digits or symbols added), which \
         attackers try first; choose another."
    )]
    Common,
}

impl PolicyError {
    /// The message for a user who reads Chinese.
    pub fn message_zh(&self) -> String {
        match self {
            PolicyError::TooShort { min, found } => {
                format!("密码只有{found}个字符，至少需要{min}个。可以用一句容易记住的短句作密码。")
            }
            PolicyError::TooLong { max, found } => {
                format!("密码有{found}个字符，最多只能有{max}个。")
            }
            PolicyError::OneClass(class) => format!(
                "密码只包含{}，请再加入另一类字符：小写字母、大写字母、数字或符号。",
                class.name_zh()
            ),
            PolicyError::ContainsAccountName => "密码中不能包含账号名，请换一个。".to_owned(),
            PolicyError::Common => {
                "这是最常用的密码之一（或只在前后加了数字、符号），攻击者会最先尝试，请换一个。"
                    .to_owned()
            }
        }
    }

    /// The message for a user who reads English.
    pub fn message_en(&self) -> String {
        self.to_string()
    }
}

impl PasswordPolicy {
    /// Checks a new password for `account`. Rules in order: length, not all
    /// one class, not containing the account name, not a common password.
    ///
    /// # Errors
    /// The [`PolicyError`] of the first rule broken.
    pub fn check(&self, password: &str, account: &AccountName) -> Result<(), PolicyError> {
        let found = password.chars().count();
        if found < self.min_chars {
            return Err(PolicyError::TooShort {
                min: self.min_chars,
                found,
            });
        }
        if found > self.max_chars {
            return Err(PolicyError::TooLong {
                max: self.max_chars,
                found,
            });
        }
        let mut classes = password.chars().map(CharClass::of);
        if let Some(first) = classes.next()
            && classes.all(|c| c == first)
        {
            return Err(PolicyError::OneClass(first));
        }
        let lower = password.to_lowercase();
        if name_parts(account).any(|part| lower.contains(part.as_str())) {
            return Err(PolicyError::ContainsAccountName);
        }
        if is_common(&lower) {
            return Err(PolicyError::Common);
        }
        Ok(())
    }
}

/// The forms of an account name a password must not contain: the name, the
/// name without separators, and each part of four characters or more
/// (`zhang.wei` → `zhang.wei`, `zhangwei`, `zhang`).
fn name_parts(account: &AccountName) -> impl Iterator<Item = String> + '_ {
    let name = account.as_str();
    let joined: String = name.chars().filter(char::is_ascii_alphanumeric).collect();
    let parts = name
        .split(['.', '_', '-'])
        .filter(|p| p.len() >= 4)
        .map(str::to_owned);
    [name.to_owned(), joined].into_iter().chain(parts)
}

/// Whether a lowercased password is a common one, bare or with digits or
/// symbols added before or after it.
fn is_common(lower: &str) -> bool {
    let decoration = |c: char| c.is_ascii_digit() || c.is_ascii_punctuation() || c == ' ';
    let symbol = |c: char| c.is_ascii_punctuation() || c == ' ';
    [
        lower,
        lower.trim_end_matches(symbol),
        lower.trim_end_matches(decoration),
        lower.trim_start_matches(decoration),
        lower.trim_matches(decoration),
    ]
    .into_iter()
    .any(|candidate| !candidate.is_empty() && COMMON.contains(candidate))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(password: &str) -> Result<(), PolicyError> {
        PasswordPolicy::default().check(password, &AccountName::parse("zhang.wei").unwrap())
    }

    #[test]
    fn the_list_is_lowercase_unique_and_has_the_classics() {
        let entries: Vec<&str> = COMMON_PASSWORDS
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        assert!(entries.len() >= 100, "{}", entries.len());
        assert_eq!(COMMON.len(), entries.len(), "no duplicates");
        for e in &entries {
            assert_eq!(*e, e.trim());
            assert_eq!(*e, e.to_lowercase());
        }
        for classic in [
            "123456",
            "password",
            "qwertyuiop",
            "woaini1314",
            "5201314",
            "1qaz2wsx",
        ] {
            assert!(COMMON.contains(classic), "{classic}");
        }
    }

    #[test]
    fn good_passwords_pass() {
        for good in [
            "Baotou rare earth 2025",
            "ganzhou-ionic-clay-7",
            "稀土流向追溯 2025 ok",
            "correct horse battery staple",
            "Nd2O3 purity 99.5%",
        ] {
            assert_eq!(check(good), Ok(()), "{good}");
        }
    }

    #[test]
    fn each_rule_refuses_with_a_message_in_both_languages() {
        let cases = [
            ("Short1!", PolicyError::TooShort { min: 12, found: 7 }),
            ("woaini1314", PolicyError::TooShort { min: 12, found: 10 }),
            (
                &"Long password 1 ".repeat(9),
                PolicyError::TooLong {
                    max: 128,
                    found: 144,
                },
            ),
            (
                "onlylowercaseletters",
                PolicyError::OneClass(CharClass::Lowercase),
            ),
            ("123456789012", PolicyError::OneClass(CharClass::Digit)),
            (
                "稀土流向追溯信息系统密码",
                PolicyError::OneClass(CharClass::Other),
            ),
            ("my name is Zhang.Wei!", PolicyError::ContainsAccountName),
            ("ZhangWei-2025-x", PolicyError::ContainsAccountName),
            ("i am zhang from baotou", PolicyError::ContainsAccountName),
            ("qwertyuiop123", PolicyError::Common),
            ("P@ssw0rd2025!", PolicyError::Common),
            ("woaini1314!!", PolicyError::Common),
            ("1314WOAINI1314", PolicyError::Common),
            ("123456789!!!", PolicyError::Common),
            ("1qaz2wsx3edc", PolicyError::Common),
        ];
        for (password, expected) in cases {
            let e = check(password).unwrap_err();
            assert_eq!(e, expected, "{password}");
            assert!(!e.message_en().is_empty());
            assert!(!e.message_zh().is_empty());
            assert_ne!(e.message_en(), e.message_zh());
        }
        assert_eq!(
            PolicyError::TooShort { min: 12, found: 7 }.message_zh(),
            "密码只有7个字符，至少需要12个。可以用一句容易记住的短句作密码。"
        );
        assert!(
            PolicyError::OneClass(CharClass::Digit)
                .message_en()
                .contains("uses only digits")
        );
        assert!(
            PolicyError::OneClass(CharClass::Digit)
                .message_zh()
                .contains("只包含数字")
        );
    }
}
